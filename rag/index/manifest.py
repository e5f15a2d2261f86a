"""The manifest: which articles the index holds, in sqlite (stdlib ``sqlite3``) under the data dir.

One row per article: its metadata, clean text, sha256, sentence count, the context rule it was
written with, and ``complete`` (0 while its sentences are being written, so readers skip them).
A ``meta`` table holds ``generation``, bumped by every change, so a cached copy of the manifest is
checked with one tiny read instead of re-read; and ``store``, the id of the dense collection the
rows describe: rows written against another collection (the Chroma folder deleted, a rebuild by
another process, another server) describe nothing that exists, and are dropped when it changes.

Every change is one transaction (``BEGIN IMMEDIATE`` … ``COMMIT``): a crash leaves the state before
it, never part of it. The rollback journal (not WAL) keeps the manifest one file at rest, so a data
dir can be copied while no write is running.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from ..errors import DataDirError
from .records import ArticleRecord

COLUMNS: tuple[str, ...] = ("id", "title", "outlet", "published", "sha256", "n_sentences", "complete", "source")
COLUMNS += ("context_rule", "language", "corpus")
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS articles (
        id TEXT PRIMARY KEY, title TEXT NOT NULL, outlet TEXT, published TEXT, sha256 TEXT NOT NULL,
        n_sentences INTEGER NOT NULL, complete INTEGER NOT NULL, source TEXT NOT NULL DEFAULT '',
        context_rule INTEGER NOT NULL DEFAULT 0, language TEXT NOT NULL DEFAULT 'id',
        corpus TEXT NOT NULL DEFAULT '', text TEXT NOT NULL DEFAULT '')""",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "INSERT OR IGNORE INTO meta (key, value) VALUES ('generation', '0')",
)


def _row(record: ArticleRecord, text: str) -> tuple[object, ...]:
    return (
        record.id,
        record.title,
        record.outlet,
        record.published.isoformat() if record.published else None,
        record.sha256,
        record.n_sentences,
        int(record.complete),
        record.source,
        record.context_rule,
        record.language,
        record.corpus,
        text,
    )


class Manifest:
    """The sqlite manifest of one index (one file per collection). Thread-safe: one connection,
    used under a lock; other processes wait for a writer up to ``timeout`` seconds."""

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        self.path = path
        self._lock = threading.RLock()
        try:
            self._db = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
            with self.transaction(bump=False) as db:
                for statement in SCHEMA:
                    db.execute(statement)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def _error(self, exc: sqlite3.Error) -> DataDirError:
        hint = ""
        if not isinstance(exc, sqlite3.OperationalError):  # damaged, not merely busy or read-only
            hint = "; move it away and run 'kutip ingest': the articles are then written again"
        return DataDirError(f"The index manifest {self.path} cannot be used: {exc}{hint}")

    @contextmanager
    def transaction(self, *, bump: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction; ``bump`` marks the manifest changed for every reader's cache."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._error(exc) from exc
            try:
                yield self._db
                if bump:
                    self._db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
                self._db.execute("COMMIT")
            except BaseException:
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # nothing to roll back (the statement that failed ended the transaction)
                raise

    def _read(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise self._error(exc) from exc

    def _write(self, sql: str, params: tuple[object, ...] = ()) -> None:
        try:
            with self.transaction() as db:
                db.execute(sql, params)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    # ------------------------------------------------------------------ reading

    def generation(self) -> int:
        """A number that changes whenever any process changes the manifest."""
        return int(str(self._read("SELECT value FROM meta WHERE key = 'generation'")[0][0]))

    def records(self) -> dict[str, ArticleRecord]:
        """Every article, complete or not, by id."""
        rows = self._read(f"SELECT {', '.join(COLUMNS)} FROM articles ORDER BY id")
        out = {}
        for row in rows:
            values = dict(zip(COLUMNS, row))
            published = values.pop("published")
            values["published"] = date.fromisoformat(str(published)) if published else None
            values["complete"] = bool(values["complete"])
            record = ArticleRecord.model_validate(values)
            out[record.id] = record
        return out

    def text(self, article_id: str) -> str | None:
        """The clean text of an article (sentence offsets refer to it)."""
        rows = self._read("SELECT text FROM articles WHERE id = ?", (article_id,))
        return str(rows[0][0]) if rows else None

    def store(self) -> str | None:
        """The id of the dense collection the rows were written against."""
        rows = self._read("SELECT value FROM meta WHERE key = 'store'")
        return str(rows[0][0]) if rows else None

    # ------------------------------------------------------------------ writing

    def put(self, record: ArticleRecord, text: str) -> None:
        """Insert or replace one article's row (``record.complete`` says whether readers see it)."""
        placeholders = ", ".join("?" * (len(COLUMNS) + 1))
        self._write(
            f"INSERT OR REPLACE INTO articles ({', '.join(COLUMNS)}, text) VALUES ({placeholders})",
            _row(record, text),
        )

    def mark_complete(self, article_id: str, sha256: str) -> None:
        """Its sentences are all written: readers may see them."""
        self._write("UPDATE articles SET complete = 1 WHERE id = ? AND sha256 = ?", (article_id, sha256))

    def update(self, article_id: str, *, corpus: str, source: str, language: str) -> None:
        """Record another owner folder, file or language for an unchanged article."""
        self._write(
            "UPDATE articles SET corpus = ?, source = ?, language = ? WHERE id = ?",
            (corpus, source, language, article_id),
        )

    def delete(self, article_id: str) -> None:
        self._write("DELETE FROM articles WHERE id = ?", (article_id,))

    def replace_all(self, rows: Iterable[tuple[ArticleRecord, str]], store: str) -> None:
        """Make the manifest exactly ``rows`` (record, clean text), written against ``store``."""
        placeholders = ", ".join("?" * (len(COLUMNS) + 1))
        try:
            with self.transaction() as db:
                db.execute("DELETE FROM articles")
                db.executemany(
                    f"INSERT INTO articles ({', '.join(COLUMNS)}, text) VALUES ({placeholders})",
                    [_row(record, text) for record, text in rows],
                )
                db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('store', ?)", (store,))
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def bind(self, store: str) -> bool:
        """Tie the manifest to the dense collection ``store``; rows written against another one are
        dropped (returns whether any were)."""
        if self.store() == store:
            return False
        try:
            with self.transaction() as db:
                if (db.execute("SELECT value FROM meta WHERE key = 'store'").fetchone() or [None])[0] == store:
                    return False  # another process bound it meanwhile
                dropped = db.execute("DELETE FROM articles").rowcount > 0
                db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('store', ?)", (store,))
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        return dropped

    def close(self) -> None:
        with self._lock:
            self._db.close()
