"""The lexical index alone (rag.index.lexical): BM25 over sentences stemmed in their article's
language, persisted per fingerprint, loaded instead of rebuilt, rebuilt when damaged."""

from __future__ import annotations

import pytest

from rag.index import LexicalIndex

pytestmark = pytest.mark.fast

ROWS = [
    ("id1:0", "Petani Karawang memanen gabah kering pada musim ini.", "id"),
    ("id1:1", "Harga gabah di tingkat petani bertahan.", "id"),
    ("id2:0", "Banjir merendam ribuan rumah di pesisir Pekalongan.", "id"),
    ("en1:0", "The solar farm supplies electricity to households.", "en"),
    ("en1:1", "Batteries store the daytime output.", "en"),
]


def never() -> list[tuple[str, str, str]]:
    raise AssertionError("rebuilt although a saved index matches")


def test_search_stems_each_sentence_in_its_language(tmp_path):
    lexical = LexicalIndex(tmp_path / "bm25")
    lexical.ensure("fp1", lambda: ROWS)
    assert lexical.search("panen gabah Karawang", 3)[0][0] == "id1:0"  # memanen → panen (Indonesian stemmer)
    assert lexical.search("solar farms supplying", 3, language="en")[0][0] == "en1:0"  # farms, supplying (English)
    assert lexical.search("kata yang tidak ada", 3) == []  # no query word in the vocabulary
    assert all(score > 0 for _, score in lexical.search("gabah", 5))


def test_saved_index_is_loaded_not_rebuilt(tmp_path):
    LexicalIndex(tmp_path / "bm25").ensure("fp1", lambda: ROWS)
    assert [p.name for p in (tmp_path / "bm25").iterdir()] == ["fp1"]
    again = LexicalIndex(tmp_path / "bm25")
    again.ensure("fp1", never)
    assert again.search("banjir Pekalongan", 1)[0][0] == "id2:0"


def test_a_new_fingerprint_rebuilds_and_removes_the_old(tmp_path):
    lexical = LexicalIndex(tmp_path / "bm25")
    lexical.ensure("fp1", lambda: ROWS)
    lexical.ensure("fp2", lambda: ROWS[:2])
    assert [p.name for p in (tmp_path / "bm25").iterdir()] == ["fp2"]
    assert lexical.search("banjir Pekalongan", 3) == []


def test_a_damaged_saved_index_is_rebuilt(tmp_path):
    LexicalIndex(tmp_path / "bm25").ensure("fp1", lambda: ROWS)
    for path in (tmp_path / "bm25" / "fp1").iterdir():
        if path.name != "ids.json":
            path.write_bytes(b"garbage")
    calls = []
    lexical = LexicalIndex(tmp_path / "bm25")
    lexical.ensure("fp1", lambda: calls.append(1) or ROWS)
    assert calls == [1] and lexical.search("banjir", 1)[0][0] == "id2:0"


def test_no_rows_no_hits(tmp_path):
    lexical = LexicalIndex(tmp_path / "bm25")
    lexical.ensure("empty", list)
    assert lexical.search("gabah", 5) == []
    lexical.clear()
    assert not (tmp_path / "bm25").exists()
