"""The language of an article: ``detect_text_language(text) -> "id" | "en" | …``, a code with a pack.

py3langid (langid.py's model, a naive Bayes over byte n-grams) restricted to the languages that
have a pack (``rag.languages``) and that it knows. Measured by scripts/bench_readers.py on the five
seeds, six English news sentences and three short Indonesian lines: 14/14 right at 2.3 ms a text.
lingua (2.1.1, the other maintained detector measured) was also 14/14 but took 55 ms a text and
installs 96 MB of models (py3langid: 4.5 MB), so it is not a dependency. Malay, the language most
often confused with Indonesian, has no pack on purpose: kutip has Indonesian and English rules.
"""

from __future__ import annotations

import threading

from .languages import DEFAULT, Code, available

TextLanguage = Code
SAMPLE_CHARS = 4000  # enough for a sure answer; a 2 MB article is not scored whole

_lock = threading.Lock()
_identifiers: dict[tuple[str, ...], object] = {}


def _model(langs: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """py3langid restricted to ``langs`` (those of them it has a model for), one per set of packs."""
    with _lock:
        if langs not in _identifiers:
            from py3langid.langid import _load_identifier

            identifier = _load_identifier()
            known = set(identifier.nb_classes)
            identifier.set_languages([code for code in langs if code in known])
            _identifiers[langs] = identifier
        return _identifiers[langs]


def detect_text_language(text: str) -> TextLanguage:
    """The code of the pack the text reads as, else Indonesian (kutip's default)."""
    sample = text[:SAMPLE_CHARS]
    if not any(ch.isalpha() for ch in sample):
        return DEFAULT
    langs = tuple(available())
    lang, _ = _model(langs).classify(sample)
    return lang if lang in langs else DEFAULT
