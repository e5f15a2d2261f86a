"""The sqlite manifest alone (rag.index.manifest): rows, transactions, a process killed inside a
transaction, other connections seeing changes, binding to a dense collection, a damaged file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import date

import pytest

from rag.errors import DataDirError
from rag.index import ArticleRecord, Manifest

from .conftest import ROOT

pytestmark = pytest.mark.fast


def record(article_id: str, *, complete: bool = True, sha: str = "a" * 64, **kwargs) -> ArticleRecord:
    return ArticleRecord(
        id=article_id,
        title=kwargs.pop("title", f"Judul {article_id}"),
        sha256=sha,
        n_sentences=kwargs.pop("n_sentences", 3),
        complete=complete,
        **kwargs,
    )


def test_rows_round_trip(tmp_path):
    manifest = Manifest(tmp_path / "m.sqlite3")
    full = record(
        "berita",
        outlet="KABAR SAWAH",
        published=date(2025, 3, 3),
        source="sub/berita.txt",
        context_rule=1,
        language="en",
        corpus="/data/corpus",
        complete=False,
    )
    manifest.put(full, "Teks bersih berita.")
    manifest.put(record("lain", outlet=None, published=None), "")
    assert manifest.records() == {"berita": full, "lain": record("lain")}
    assert manifest.text("berita") == "Teks bersih berita." and manifest.text("tidak-ada") is None
    manifest.mark_complete("berita", full.sha256)
    assert manifest.records()["berita"] == full.model_copy(update={"complete": True})
    manifest.update("berita", corpus="/lain", source="b.txt", language="id")
    got = manifest.records()["berita"]
    assert (got.corpus, got.source, got.language) == ("/lain", "b.txt", "id")
    manifest.delete("berita")
    assert list(manifest.records()) == ["lain"]


def test_mark_complete_needs_the_same_version(tmp_path):
    """A completion for an older sha256 (the article was rewritten meanwhile) does not expose the new one."""
    manifest = Manifest(tmp_path / "m.sqlite3")
    manifest.put(record("x", complete=False, sha="b" * 64), "")
    manifest.mark_complete("x", "a" * 64)
    assert not manifest.records()["x"].complete


def test_every_change_is_seen_by_another_connection(tmp_path):
    writer, reader = Manifest(tmp_path / "m.sqlite3"), Manifest(tmp_path / "m.sqlite3")
    seen = [reader.generation()]
    for change in (
        lambda: writer.put(record("x", complete=False), "t"),
        lambda: writer.mark_complete("x", "a" * 64),
        lambda: writer.update("x", corpus="c", source="s", language="id"),
        lambda: writer.delete("x"),
    ):
        change()
        seen.append(reader.generation())
    assert len(set(seen)) == len(seen)  # each change moved the generation
    assert reader.records() == {}


def test_a_failed_transaction_changes_nothing(tmp_path):
    manifest = Manifest(tmp_path / "m.sqlite3")
    manifest.put(record("x"), "t")
    generation = manifest.generation()
    with pytest.raises(ZeroDivisionError), manifest.transaction() as db:
        db.execute("DELETE FROM articles")
        _ = 1 / 0
    assert list(manifest.records()) == ["x"] and manifest.generation() == generation


def test_a_process_killed_inside_a_transaction_changes_nothing(tmp_path):
    """os._exit in the middle of a transaction (after its statements ran, before COMMIT): the next
    open rolls the hot journal back, so every row is as before."""
    path = tmp_path / "m.sqlite3"
    manifest = Manifest(path)
    for name in ("a", "b", "c"):
        manifest.put(record(name), f"teks {name}")
    before, generation = manifest.records(), manifest.generation()
    manifest.close()
    script = textwrap.dedent(
        f"""
        import os
        from rag.index import Manifest
        m = Manifest(__import__("pathlib").Path({str(path)!r}))
        with m.transaction() as db:
            db.execute("DELETE FROM articles WHERE id = 'a'")
            db.execute("UPDATE articles SET complete = 0")
            os._exit(9)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    reopened = Manifest(path)
    assert reopened.records() == before and reopened.generation() == generation


def test_bind_drops_rows_of_another_store(tmp_path):
    manifest = Manifest(tmp_path / "m.sqlite3")
    assert manifest.bind("store-1") is False  # nothing to drop
    manifest.put(record("x"), "t")
    assert manifest.bind("store-1") is False and list(manifest.records()) == ["x"]
    assert manifest.bind("store-2") is True and manifest.records() == {} and manifest.store() == "store-2"


def test_replace_all_is_one_change(tmp_path):
    manifest = Manifest(tmp_path / "m.sqlite3")
    manifest.put(record("old"), "")
    manifest.replace_all([(record("a"), "ta"), (record("b", complete=False), "tb")], "store-9")
    assert sorted(manifest.records()) == ["a", "b"] and manifest.text("b") == "tb" and manifest.store() == "store-9"
    with pytest.raises(DataDirError):  # a duplicate id fails the whole replacement, not half of it
        manifest.replace_all([(record("c"), ""), (record("c"), "")], "store-x")
    assert sorted(manifest.records()) == ["a", "b"] and manifest.store() == "store-9"


def test_a_damaged_file_is_a_clear_error(tmp_path):
    path = tmp_path / "m.sqlite3"
    path.write_bytes(b"this is not a database, it was overwritten " * 100)
    with pytest.raises(DataDirError, match="move it away and run 'kutip ingest'") as info:
        Manifest(path)
    assert str(path) in str(info.value)
