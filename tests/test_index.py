"""The Chroma + BM25 index: idempotent ingest, updates, model mismatch, crash repair, retrieval."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import chromadb
import pytest
from chromadb.config import Settings as ChromaSettings

from rag import index as index_module
from rag.corpus import load_corpus
from rag.errors import DataDirError, IndexMismatchError
from rag.index import SentenceIndex
from rag.retrieve import retrieve

from .conftest import ROOT, SEEDS, make_settings

KN23 = "Moskow telah menembakkan sekitar 60 rudal KN-23 Korea Utara pada tahun 2024."


def test_ingest_is_idempotent(seeded_copy, seed_articles):
    index = SentenceIndex(make_settings(seeded_copy))
    assert index.count() == sum(len(a.sentences) for a in seed_articles) == 66
    report = index.ingest(seed_articles)
    assert report.added == report.updated == report.repaired == []
    assert len(report.skipped) == 5 and report.sentences == 0
    assert index.count() == 66


def test_record_ids_and_metadata(seeded_copy):
    index = SentenceIndex(make_settings(seeded_copy))
    got = index.sentences.get(ids=["000_08ce80ad1bf367da:10"], include=["documents", "metadatas"])
    assert got["documents"] == [KN23]
    meta = got["metadatas"][0]
    assert meta["article_id"] == "000_08ce80ad1bf367da" and meta["sentence_index"] == 10
    assert meta["published"] == "2024-11-25" and meta["outlet"] == "ILLINI NEWS" and len(meta["article_sha256"]) == 64
    assert index.sentences.metadata["embedding_model"] == "multilingual-e5-small-q4"
    assert index.sentences.metadata["embedding_dim"] == 384


def test_changed_article_is_replaced_and_others_skipped(seeded_copy, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    target = corpus / "002_71ed3bbcc62fd0db.txt"
    target.write_text(
        target.read_text(encoding="utf-8") + "\nKalimat tambahan untuk pengujian pembaruan.\n", encoding="utf-8"
    )
    index = SentenceIndex(make_settings(seeded_copy))
    report = index.ingest(load_corpus(corpus))
    assert report.updated == ["002_71ed3bbcc62fd0db"]
    assert len(report.skipped) == 4 and report.added == []
    assert index.count() == 67
    sentences = index.article_sentences("002_71ed3bbcc62fd0db")
    assert [s.index for s in sentences] == list(range(12))
    assert sentences[-1].text == "Kalimat tambahan untuk pengujian pembaruan."


def test_shorter_article_leaves_no_stale_records(seeded_copy, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    (corpus / "000_08ce80ad1bf367da.txt").write_text("Satu kalimat saja. Dan satu lagi.\n", encoding="utf-8")
    index = SentenceIndex(make_settings(seeded_copy))
    index.ingest(load_corpus(corpus))
    assert len(index.sentences.get(where={"article_id": "000_08ce80ad1bf367da"}, include=[])["ids"]) == 2
    assert index.count() == 66 - 21 + 2


def test_prune_removes_deleted_files(seeded_copy, tmp_path):
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    (corpus / "001_dba1eee5a9ccde63.txt").unlink()
    index = SentenceIndex(make_settings(seeded_copy))
    assert index.ingest(load_corpus(corpus)).removed == []  # without --prune nothing is removed
    report = index.ingest(load_corpus(corpus), prune=True)
    assert report.removed == ["001_dba1eee5a9ccde63"]
    assert "001_dba1eee5a9ccde63" not in index.records(fresh=True)
    assert index.count() == 66 - 10


def test_embedding_model_mismatch_is_refused(tmp_path):
    settings = make_settings(tmp_path)
    client = chromadb.PersistentClient(
        path=str(settings.chroma_dir), settings=ChromaSettings(anonymized_telemetry=False)
    )
    client.create_collection(
        settings.collection,
        embedding_function=None,
        metadata={"embedding_model": "all-MiniLM-L6-v2", "embedding_dim": 384},
    )
    with pytest.raises(IndexMismatchError, match="all-MiniLM-L6-v2.*kutip ingest --rebuild"):
        SentenceIndex(settings)


def test_rebuild_via_cli_fixes_mismatch(tmp_path, monkeypatch):
    settings = make_settings(tmp_path)
    client = chromadb.PersistentClient(
        path=str(settings.chroma_dir), settings=ChromaSettings(anonymized_telemetry=False)
    )
    client.create_collection(
        settings.collection, embedding_function=None, metadata={"embedding_model": "other-model", "embedding_dim": 768}
    )
    monkeypatch.setenv("KUTIP_DATA_DIR", str(tmp_path))
    from rag.cli import main

    assert main(["ingest", str(SEEDS)]) == 2  # refused with a message
    assert main(["ingest", str(SEEDS), "--rebuild"]) == 0
    assert SentenceIndex(settings).count() == 66


def test_bad_files_skipped_by_cli(tmp_path, monkeypatch, capsys):
    corpus = tmp_path / "corpus"
    shutil.copytree(SEEDS, corpus)
    (corpus / "kosong.txt").write_bytes(b"")
    (corpus / "latin1.txt").write_bytes("Berita Korea Utara. Caf\xe9 di Seoul.".encode("latin-1"))
    monkeypatch.setenv("KUTIP_DATA_DIR", str(tmp_path / "data"))
    from rag.cli import main

    assert main(["ingest", str(corpus)]) == 1  # something was skipped
    captured = capsys.readouterr()
    assert "kosong.txt: empty file" in captured.err and "latin1.txt: not UTF-8" in captured.err
    assert "5 added" in captured.out
    assert SentenceIndex(make_settings(tmp_path / "data")).count() == 66


def test_exception_mid_article_is_repaired(tmp_path, seed_articles, monkeypatch):
    settings = make_settings(tmp_path)
    index = SentenceIndex(settings)
    monkeypatch.setattr(index_module, "EMBED_BATCH", 4)
    real_add = index.sentences.add
    calls = {"n": 0}

    def failing_add(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 8:  # inside the second article, after some of its sentences were written
            raise RuntimeError("injected failure")
        return real_add(*args, **kwargs)

    monkeypatch.setattr(index.sentences, "add", failing_add)
    with pytest.raises(RuntimeError, match="injected"):
        index.ingest(seed_articles)
    records = index.records(fresh=True)
    assert records["000_08ce80ad1bf367da"].complete
    assert not records["001_dba1eee5a9ccde63"].complete
    half = index.sentences.get(where={"article_id": "001_dba1eee5a9ccde63"}, include=[])["ids"]
    assert 0 < len(half) < 10  # really half-written ...
    assert index.get(half) == {}  # ... and invisible to readers
    monkeypatch.setattr(index.sentences, "add", real_add)
    report = SentenceIndex(settings).ingest(seed_articles)
    assert report.repaired == ["001_dba1eee5a9ccde63"]
    assert sorted(report.added) == ["002_71ed3bbcc62fd0db", "003_c88d8b6703be8690", "004_ceac9d7f48264563"]
    fresh = SentenceIndex(settings)
    assert fresh.count() == 66 and all(r.complete for r in fresh.records(fresh=True).values())


@pytest.mark.parametrize("kill_at", ["between", "inside"])
def test_killed_ingest_is_repaired(tmp_path, kill_at):
    """A process killed (os._exit, no clean-up) between or inside articles; the next run repairs."""
    script = textwrap.dedent(
        f"""
        import os
        from rag import index as m
        from rag.corpus import load_corpus
        from rag.settings import Settings
        s = Settings(data_dir={str(tmp_path)!r}, corpus_dir={str(SEEDS)!r})
        idx = m.SentenceIndex(s)
        m.EMBED_BATCH = 3
        if {kill_at!r} == "inside":
            real = idx.sentences.add
            n = [0]
            def add(*a, **k):
                n[0] += 1
                real(*a, **k)
                if n[0] == 10:
                    os._exit(9)
            idx.sentences.add = add
        def progress(article, status):
            if {kill_at!r} == "between" and article.id.startswith("002"):
                os._exit(9)
        idx.ingest(load_corpus(s.corpus_dir), progress=progress)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 9, proc.stderr
    settings = make_settings(tmp_path)
    report = SentenceIndex(settings).ingest(load_corpus(SEEDS))
    assert len(report.added) + len(report.repaired) + len(report.skipped) == 5
    assert report.skipped  # finished articles are kept, not rewritten
    index = SentenceIndex(settings)
    assert index.count() == 66
    ids = index.sentences.get(include=[])["ids"]
    assert len(ids) == len(set(ids)) == 66
    assert all(r.complete for r in index.records(fresh=True).values())


@pytest.mark.parametrize(
    "question",
    ["Berapa rudal KN-23 yang ditembakkan Rusia pada 2024?", "How many KN-23 missiles did Russia fire in 2024?"],
)
def test_query_finds_kn23_sentence(seeded_dir, question):
    settings = make_settings(seeded_dir)
    found = retrieve(SentenceIndex(settings), question, settings, top_k=3)
    assert KN23 in [h.sentence.text for h in found.hits]


def test_bm25_persisted_and_reused(seeded_copy):
    settings = make_settings(seeded_copy)
    index = SentenceIndex(settings)
    hits = index.lexical("Moskow menembakkan 60 rudal KN-23", 5)
    assert hits and hits[0][0] == "000_08ce80ad1bf367da:10"
    folders = [p for p in settings.bm25_dir.iterdir() if p.is_dir()]
    assert len(folders) == 1 and (folders[0] / "ids.json").is_file()
    assert folders[0].name == index.fingerprint()


def test_unwritable_data_dir_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DataDirError, match=str(blocker)):
        SentenceIndex(make_settings(blocker / "data"))


FACTORY = """Pabrik Baja Cilegon Tambah Lini Produksi

Cilegon, WARTA BANTEN – Pabrik Baja Cilegon mulai memproduksi pelat kapal pada Selasa (14/01/2025).
Pabrik ini mempekerjakan 4.200 orang dan beroperasi dalam tiga giliran.
Harga pelat kapal di pasar dalam negeri turun tipis pada awal tahun.
"""


def test_back_referring_sentence_is_found_and_shown_with_its_antecedent(tmp_path):
    """ "Pabrik ini mempekerjakan…" names no factory: its context vector (with the sentence before)
    lets a question that names the factory find it, and the prompt shows the sentence before too."""
    from rag.query import parse_query
    from rag.retrieve import Antecedents
    from rag.text import refers_back

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "cilegon.txt").write_text(FACTORY, encoding="utf-8")
    settings = make_settings(tmp_path / "data", corpus_dir=corpus)
    index = SentenceIndex(settings)
    index.ingest(load_corpus(corpus))
    article = load_corpus(corpus)[0]
    dependent = [s.id for s in article.sentences if s.index > 0 and refers_back(s.text)]
    workers = next(s for s in article.sentences if "4.200" in s.text)
    assert dependent == [workers.id]
    assert index.context.get(include=[])["ids"] == dependent  # one context vector, for that sentence only

    vector = index.embedder.query("Berapa orang yang dipekerjakan Pabrik Baja Cilegon?")
    own = float(index.embedder.passages([workers.text])[0] @ vector)
    dense = dict((s.id, c) for s, c in index.dense(vector, 3))
    assert dense[workers.id] > own  # the context vector is the closer one, and it counts
    found = retrieve(index, "Berapa orang yang dipekerjakan Pabrik Baja Cilegon?", settings, top_k=1)
    assert [h.sentence.id for h in found.hits] == [workers.id]
    shown = [h.sentence.id for h in Antecedents(index)(parse_query("q"), found.hits)]
    assert sorted(shown) == sorted([workers.id, f"{article.id}:{workers.index - 1}"])

    (corpus / "cilegon.txt").write_text(
        FACTORY.replace("Pabrik ini mempekerjakan", "Perusahaan itu mempekerjakan"), encoding="utf-8"
    )
    index.ingest(load_corpus(corpus))  # rewritten: the stale context vector goes with it
    assert index.context.get(include=[])["ids"] == [workers.id]
    index.remove(article.id)
    assert index.context.count() == 0 and index.count() == 0


def test_manifest_cache_is_reused_until_another_writer_changes_the_index(seeded_copy, monkeypatch):
    """The manifest is re-read only when the collections' record counts change (or after
    MANIFEST_REFRESH_S): a second, idle second costs three counts, not a full read."""
    import time

    reader = SentenceIndex(make_settings(seeded_copy))
    first = reader.records()
    time.sleep(1.1)
    assert reader.records() is first  # counts unchanged: the cached manifest is trusted
    writer = SentenceIndex(make_settings(seeded_copy))  # another writer on the same index
    gone = sorted(first)[0]
    writer.remove(gone)
    time.sleep(1.1)
    after = reader.records()
    assert gone not in after and len(after) == len(first) - 1
    assert gone not in {
        h.sentence.article_id for h in retrieve(reader, "rudal KN-23 Korea Utara", reader.settings, top_k=10).hits
    }
    monkeypatch.setattr(index_module, "MANIFEST_REFRESH_S", 0.0)
    time.sleep(1.1)
    assert reader.records() is not after  # past the bound it is read again even with the same counts
