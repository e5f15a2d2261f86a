"""kutip's tooling, apart from the product: the question sets and their judges (``evalset``), the
evaluation (``evaluate``, ``kutip eval``), the speed benchmark (``bench``, ``kutip bench``), the plain
llama-index pipeline kutip is compared with (``peer``) and the reading step's tuning (``tune_read``).
Nothing in ``rag`` imports from here."""
