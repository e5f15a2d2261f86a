"""The lexical index: BM25 (bm25s) over the sentences, each stemmed in its article's language
(Snowball Indonesian or English).

Derived data: built from the dense store's documents for one manifest ``fingerprint`` (the
complete articles and their sha256) and persisted under ``folder/<fingerprint>``, so a restart
loads it instead of re-stemming; a new fingerprint rebuilds it and removes the old folder.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..text import stems


class LexicalIndex:
    """BM25 over (sentence id, text, language) rows, rebuilt when the fingerprint changes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.RLock()
        self._bm25: Any = None
        self._ids: list[str] = []
        self.fingerprint = ""

    def clear(self) -> None:
        """Forget the index in memory and on disk."""
        with self._lock:
            shutil.rmtree(self.folder, ignore_errors=True)
            self._bm25, self._ids, self.fingerprint = None, [], ""

    def ensure(self, fingerprint: str, rows: Callable[[], Iterable[tuple[str, str, str]]]) -> None:
        """Make the index match ``fingerprint``: keep it, load it from disk, or build it from ``rows()``
        (sentence id, text, language), which is only called when building."""
        import bm25s

        with self._lock:
            if self._bm25 is not None and self.fingerprint == fingerprint:
                return
            folder = self.folder / fingerprint
            ids_file = folder / "ids.json"
            if ids_file.is_file():
                try:
                    self._bm25 = bm25s.BM25.load(str(folder))
                    self._ids = json.loads(ids_file.read_text())
                    self.fingerprint = fingerprint
                    return
                except Exception:
                    shutil.rmtree(folder, ignore_errors=True)
            ids: list[str] = []
            corpus: list[list[str]] = []
            for sid, text, language in rows():
                ids.append(sid)
                corpus.append(stems(f"{text}", language=language) or ["_"])
            model = bm25s.BM25()
            if corpus:
                model.index(corpus, show_progress=False)
            self._bm25, self._ids, self.fingerprint = (model if corpus else None), ids, fingerprint
            if corpus:
                self._save(model, ids, folder)

    def _save(self, model: Any, ids: list[str], folder: Path) -> None:
        """Write to a temporary folder, remove older fingerprints, then rename into place."""
        try:
            tmp = folder.with_name(folder.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            model.save(str(tmp))
            (tmp / "ids.json").write_text(json.dumps(ids))
            for old in self.folder.glob("*"):
                if old.name != tmp.name:
                    shutil.rmtree(old, ignore_errors=True)
            os.replace(tmp, folder)
        except OSError:
            pass  # the in-memory index still serves; it is rebuilt next time

    def search(self, query: str, n: int, language: str = "id") -> list[tuple[str, float]]:
        """(sentence id, score) of the ``n`` best hits with a positive score, the query stemmed in ``language``."""
        tokens = stems(query, language=language)
        with self._lock:
            bm25, ids = self._bm25, self._ids
        if bm25 is None or not tokens:
            return []
        vocab = bm25.vocab_dict
        tokens = [t for t in tokens if t in vocab]
        if not tokens:
            return []
        results, scores = bm25.retrieve([tokens], k=min(n, len(ids)), show_progress=False, n_threads=1)
        return [(ids[int(i)], float(s)) for i, s in zip(results[0], scores[0]) if s > 0]
