"""Plain values passed between the pipeline and an LLM backend.

They live here, importing nothing from ``rag``, so that a backend can name them without importing
the pipeline stage (``rag.write``) that makes them: that would close an import circle."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple


class CopySpan(NamedTuple):
    """What a one-fact answer is copied from: the chosen sentence and its letter, and what the
    span must hold before it may end (``None``: anything the sentence says)."""

    letter: str
    sentence: str
    must_hold: Callable[[str], bool] | None = None
