"""The language of an article: ``detect_text_language(text) -> "id" | "en"``.

py3langid (langid.py's model, a naive Bayes over byte n-grams, 1.9 MB in the wheel) restricted to
Indonesian and English. Measured on the seeds and English news texts (scripts/bench_readers.py,
README "Formats"): every article right, ~1 ms an article once loaded (load 0.2 s); lingua, the
other maintained detector measured, was right too but took longer to load and to run and ships
~100 MB of models. Malay, the language most often confused with Indonesian, is left out on purpose:
kutip only has Indonesian and English rules.
"""

from __future__ import annotations

import threading
from typing import Literal

TextLanguage = Literal["id", "en"]
SAMPLE_CHARS = 4000  # enough for a sure answer; a 2 MB article is not scored whole

_lock = threading.Lock()
_identifier = None


def _model():  # type: ignore[no-untyped-def]
    global _identifier
    with _lock:
        if _identifier is None:
            from py3langid.langid import _load_identifier

            _identifier = _load_identifier(langs=["id", "en"])
        return _identifier


def detect_text_language(text: str) -> TextLanguage:
    """'en' when the text reads as English, else 'id' (Indonesian is kutip's default)."""
    sample = text[:SAMPLE_CHARS]
    if not any(ch.isalpha() for ch in sample):
        return "id"
    lang, _ = _model().classify(sample)
    return "en" if lang == "en" else "id"
