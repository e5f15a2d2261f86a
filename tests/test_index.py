"""The index (manifest in sqlite + Chroma + BM25): idempotent ingest, updates, model mismatch, crash
repair, retrieval, and an index left by the older layout (manifest as a Chroma collection).

Every test runs on the made-up corpus of tests/index_corpus.py; counts and ids come from it."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import chromadb
import pytest
from chromadb.config import Settings as ChromaSettings

from rag.corpus import Article, load_corpus
from rag.errors import DataDirError, IndexMismatchError
from rag.index import CONTEXT_RULE, SentenceIndex, dense, manifest_path
from rag.retrieve import retrieve
from rag.settings import Settings

from .conftest import ROOT, index_folder, make_settings
from .index_corpus import ARTICLES

HARVEST = "Petani Karawang memanen 1,2 juta ton gabah kering sepanjang tahun 2024."


@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> tuple[Settings, Path]:
    """The made-up corpus indexed once for the module (copy the data dir before writing to it)."""
    settings, _, folder = index_folder(tmp_path_factory, ARTICLES)
    return settings, folder


@pytest.fixture(scope="module")
def articles(indexed) -> list[Article]:
    return load_corpus(indexed[1])


@pytest.fixture()
def data_copy(indexed, tmp_path) -> Path:
    """A private, writable copy of the module's indexed data dir."""
    target = tmp_path / "data"
    shutil.copytree(indexed[0].data_dir, target)
    return target


@pytest.fixture()
def corpus_copy(indexed, tmp_path) -> Path:
    """A private copy of the corpus folder, to change files in."""
    target = tmp_path / "corpus"
    shutil.copytree(indexed[1], target)
    return target


def total(articles: list[Article]) -> int:
    return sum(len(a.sentences) for a in articles)


def article_of(articles: list[Article], name: str) -> Article:
    return next(a for a in articles if a.source == name)


def test_ingest_is_idempotent(data_copy, articles):
    """Re-ingesting identical files writes nothing: no sentence, no manifest change, same BM25."""
    settings = make_settings(data_copy)
    index = SentenceIndex(settings)
    assert index.count() == total(articles)
    records, generation = index.records(fresh=True), index.manifest.generation()
    bm25_before = sorted(p.name for p in settings.bm25_dir.iterdir())
    report = index.ingest(articles)
    assert report.added == report.updated == report.repaired == report.removed == []
    assert sorted(report.skipped) == sorted(a.id for a in articles) and report.sentences == 0
    assert index.count() == total(articles)
    assert index.manifest.generation() == generation and index.records(fresh=True) == records
    assert sorted(p.name for p in settings.bm25_dir.iterdir()) == bm25_before


def test_record_ids_and_metadata(data_copy, articles):
    index = SentenceIndex(make_settings(data_copy))
    article = article_of(articles, "panen.txt")
    sentence = next(s for s in article.sentences if s.text == HARVEST)
    got = index.sentences.get(ids=[f"{article.id}:{sentence.index}"], include=["documents", "metadatas"])
    assert got["documents"] == [HARVEST]
    meta = got["metadatas"][0]
    assert meta["article_id"] == article.id and meta["sentence_index"] == sentence.index
    assert meta["published"] == "2025-03-03" and meta["outlet"] == "KABAR SAWAH"
    assert meta["article_sha256"] == article.sha256
    assert index.sentences.metadata["embedding_model"] == index.embedder.name == "multilingual-e5-small-q4"
    assert index.sentences.metadata["embedding_dim"] == index.embedder.dim == 384
    record = index.records()[article.id]
    assert (record.title, record.outlet, str(record.published)) == (article.title, "KABAR SAWAH", "2025-03-03")
    assert record.complete and record.n_sentences == len(article.sentences) and record.context_rule == CONTEXT_RULE
    assert index.article_text(article.id) == article.text
    assert index.spans(article.id) == [(s.index, s.start, s.end) for s in article.sentences]


def test_changed_article_is_replaced_and_others_skipped(data_copy, corpus_copy, articles):
    target = corpus_copy / "kereta.txt"
    target.write_text(
        target.read_text(encoding="utf-8") + "\nKalimat tambahan untuk pengujian pembaruan.\n", encoding="utf-8"
    )
    changed = article_of(articles, "kereta.txt")
    index = SentenceIndex(make_settings(data_copy))
    report = index.ingest(load_corpus(corpus_copy))
    assert report.updated == [changed.id]
    assert len(report.skipped) == len(articles) - 1 and report.added == []
    assert index.count() == total(articles) + 1
    sentences = index.article_sentences(changed.id)
    assert [s.index for s in sentences] == list(range(len(changed.sentences) + 1))
    assert sentences[-1].text == "Kalimat tambahan untuk pengujian pembaruan."


def test_shorter_article_leaves_no_stale_records(data_copy, corpus_copy, articles):
    shortened = article_of(articles, "pelabuhan.txt")
    (corpus_copy / "pelabuhan.txt").write_text("Satu kalimat saja. Dan satu lagi.\n", encoding="utf-8")
    index = SentenceIndex(make_settings(data_copy))
    index.ingest(load_corpus(corpus_copy))
    assert len(index.sentences.get(where={"article_id": shortened.id}, include=[])["ids"]) == 2
    assert index.count() == total(articles) - len(shortened.sentences) + 2


def test_prune_removes_deleted_files(data_copy, corpus_copy, articles):
    gone = article_of(articles, "banjir.txt")
    (corpus_copy / "banjir.txt").unlink()
    index = SentenceIndex(make_settings(data_copy))
    assert index.ingest(load_corpus(corpus_copy)).removed == []  # without --prune nothing is removed
    report = index.ingest(load_corpus(corpus_copy), prune=True)
    assert report.removed == [gone.id]
    assert gone.id not in index.records(fresh=True)
    assert index.count() == total(articles) - len(gone.sentences)


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


def test_rebuild_via_cli_fixes_mismatch(tmp_path, monkeypatch, indexed, articles):
    settings = make_settings(tmp_path)
    client = chromadb.PersistentClient(
        path=str(settings.chroma_dir), settings=ChromaSettings(anonymized_telemetry=False)
    )
    client.create_collection(
        settings.collection, embedding_function=None, metadata={"embedding_model": "other-model", "embedding_dim": 768}
    )
    monkeypatch.setenv("KUTIP_DATA_DIR", str(tmp_path))
    from rag.cli import main

    assert main(["ingest", str(indexed[1])]) == 2  # refused with a message
    assert main(["ingest", str(indexed[1]), "--rebuild"]) == 0
    assert SentenceIndex(settings).count() == total(articles)


def test_bad_files_skipped_by_cli(tmp_path, monkeypatch, capsys, corpus_copy, articles):
    (corpus_copy / "kosong.txt").write_bytes(b"")
    (corpus_copy / "latin1.txt").write_bytes("Berita Korea Utara. Caf\xe9 di Seoul.".encode("latin-1"))
    monkeypatch.setenv("KUTIP_DATA_DIR", str(tmp_path / "data"))
    from rag.cli import main

    assert main(["ingest", str(corpus_copy)]) == 1  # something was skipped
    captured = capsys.readouterr()
    assert "kosong.txt: empty file" in captured.err and "latin1.txt: not UTF-8" in captured.err
    assert f"{len(articles)} added" in captured.out
    assert SentenceIndex(make_settings(tmp_path / "data")).count() == total(articles)


def test_exception_mid_article_is_repaired(tmp_path, articles, monkeypatch):
    settings = make_settings(tmp_path)
    index = SentenceIndex(settings)
    monkeypatch.setattr(dense, "EMBED_BATCH", 4)
    first, second, *rest = articles
    assert len(second.sentences) > 4  # written in two batches at least
    fail_at = math.ceil(len(first.sentences) / 4) + 2  # the second batch of the second article
    real_add = index.sentences.add
    calls = {"n": 0}

    def failing_add(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == fail_at:  # inside the second article, after some of its sentences were written
            raise RuntimeError("injected failure")
        return real_add(*args, **kwargs)

    monkeypatch.setattr(index.sentences, "add", failing_add)
    with pytest.raises(RuntimeError, match="injected"):
        index.ingest(articles)
    records = index.records(fresh=True)
    assert records[first.id].complete
    assert not records[second.id].complete
    half = index.sentences.get(where={"article_id": second.id}, include=[])["ids"]
    assert 0 < len(half) < len(second.sentences)  # really half-written ...
    assert index.get(half) == {}  # ... and invisible to readers
    assert index.article_sentences(second.id) == []
    assert second.id not in {sid.split(":")[0] for sid, _ in index.lexical(second.sentences[1].text, 50)}
    monkeypatch.setattr(index.sentences, "add", real_add)
    report = SentenceIndex(settings).ingest(articles)
    assert report.repaired == [second.id]
    assert sorted(report.added) == sorted(a.id for a in rest)
    fresh = SentenceIndex(settings)
    assert fresh.count() == total(articles) and all(r.complete for r in fresh.records(fresh=True).values())


def _inside_kill_call(articles: list[Article], batch: int) -> tuple[int, str]:
    """The number of the ``sentences.add`` call after which to die so that an article beyond the
    first is left with part of its sentences written, and that article's id."""
    calls = 0
    for position, article in enumerate(articles):
        batches = math.ceil(len(article.sentences) / batch)
        if position > 0 and batches > 1:
            return calls + 1, article.id
        calls += batches
    raise AssertionError("no article is written in more than one batch")


@pytest.mark.parametrize("kill_at", ["between", "inside"])
def test_killed_ingest_is_repaired(tmp_path, kill_at, indexed, articles):
    """A process killed (os._exit, no clean-up) between or inside articles; the next run repairs."""
    corpus = indexed[1]
    kill_call, half_written = _inside_kill_call(articles, 3)
    script = textwrap.dedent(
        f"""
        import os
        from rag.index import SentenceIndex, dense
        from rag.corpus import load_corpus
        from rag.settings import Settings
        s = Settings(data_dir={str(tmp_path)!r}, corpus_dir={str(corpus)!r})
        idx = SentenceIndex(s)
        dense.EMBED_BATCH = 3
        if {kill_at!r} == "inside":
            real = idx.sentences.add
            n = [0]
            def add(*a, **k):
                n[0] += 1
                real(*a, **k)
                if n[0] == {kill_call}:
                    os._exit(9)
            idx.sentences.add = add
        def progress(article, status):
            if {kill_at!r} == "between" and article.id == {articles[2].id!r}:
                os._exit(9)
        idx.ingest(load_corpus(s.corpus_dir), progress=progress)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 9, proc.stderr
    settings = make_settings(tmp_path)
    left = SentenceIndex(settings).records(fresh=True)
    if kill_at == "inside":
        assert [r.id for r in left.values() if not r.complete] == [half_written]  # the one being written
    else:
        assert sorted(left) == sorted(a.id for a in articles[:3]) and all(r.complete for r in left.values())
    report = SentenceIndex(settings).ingest(load_corpus(corpus))
    assert len(report.added) + len(report.repaired) + len(report.skipped) == len(articles)
    assert report.skipped  # finished articles are kept, not rewritten
    index = SentenceIndex(settings)
    assert index.count() == total(articles)
    ids = index.sentences.get(include=[])["ids"]
    assert len(ids) == len(set(ids)) == total(articles)
    assert all(r.complete for r in index.records(fresh=True).values())


@pytest.mark.parametrize(
    "question",
    ["Berapa ton gabah yang dipanen petani Karawang pada 2024?", "How many tons of rice did Karawang farmers harvest?"],
)
def test_query_finds_the_answering_sentence(indexed, question):
    settings = indexed[0]
    found = retrieve(SentenceIndex(settings), question, settings, top_k=3)
    assert HARVEST in [h.sentence.text for h in found.hits]


def test_bm25_persisted_and_reused(data_copy, articles):
    settings = make_settings(data_copy)
    index = SentenceIndex(settings)
    article = article_of(articles, "panen.txt")
    sentence = next(s for s in article.sentences if s.text == HARVEST)
    hits = index.lexical("petani Karawang memanen juta ton gabah", 5)
    assert hits and hits[0][0] == sentence.id
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
    dense_hits = dict((s.id, c) for s, c in index.dense(vector, 3))
    assert dense_hits[workers.id] > own  # the context vector is the closer one, and it counts
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


def test_manifest_cache_is_reused_until_another_writer_changes_the_index(data_copy, corpus_copy, articles):
    """The manifest is re-read only when its generation changes: an idle reader costs one tiny
    sqlite read a call; another writer's removal and in-place rewrite show at once."""
    reader = SentenceIndex(make_settings(data_copy))
    first = reader.records()
    assert reader.records() is first  # nothing changed: the cached manifest is trusted
    writer = SentenceIndex(make_settings(data_copy))  # another writer on the same index
    gone = sorted(first)[0]
    writer.remove(gone)
    after = reader.records()
    assert gone not in after and len(after) == len(first) - 1
    assert gone not in {h.sentence.article_id for h in retrieve(reader, HARVEST, reader.settings, top_k=10).hits}
    # a rewrite with the same number of sentences (old version: seen only after MANIFEST_REFRESH_S)
    target = corpus_copy / "solar.txt"
    target.write_text(target.read_text(encoding="utf-8").replace("50 megawatts", "55 megawatts"), encoding="utf-8")
    rewritten = article_of(load_corpus(corpus_copy), "solar.txt")
    assert writer.ingest([rewritten]).updated == [rewritten.id]
    assert reader.records()[rewritten.id].sha256 == rewritten.sha256
    assert any("55 megawatts" in s.text for s in reader.article_sentences(rewritten.id))


# ----------------------------------------------------------------------------- the older layout


def to_old_layout(settings: Settings, incomplete: tuple[str, ...] = ()) -> dict[str, dict]:
    """Turn an index into the layout kutip wrote before the manifest moved to sqlite (rag/index.py
    up to commit 696baf0): the manifest as a Chroma collection ``{collection}_articles``, one record
    per article with a dummy vector, its clean text as document and the metadata that version wrote;
    no sqlite file. ``incomplete`` articles are flagged as a crash mid-write left them. Returns the
    old records' metadata by id."""
    index = SentenceIndex(settings)
    records = index.records(fresh=True)
    texts = {rid: index.article_text(rid) or "" for rid in records}
    metas = {
        rid: {
            "title": r.title,
            "outlet": r.outlet or "",
            "published": r.published.isoformat() if r.published else "",
            "sha256": r.sha256,
            "n_sentences": r.n_sentences,
            "source": r.source,
            "context_rule": r.context_rule,
            "language": r.language,
            "corpus": r.corpus,
            "complete": r.complete and rid not in incomplete,
        }
        for rid, r in records.items()
    }
    old = index.client.get_or_create_collection(
        f"{settings.collection}_articles", embedding_function=None, metadata={"hnsw:space": "cosine"}
    )
    old.upsert(
        ids=list(metas),
        documents=[texts[rid] for rid in metas],
        embeddings=[[0.0, 0.0, 1.0]] * len(metas),
        metadatas=list(metas.values()),
    )
    index.manifest.close()
    manifest_path(settings).unlink()
    return metas


def collection_names(index: SentenceIndex) -> set[str]:
    return {c.name for c in index.client.list_collections()}


def test_old_layout_is_migrated_without_rewriting(data_copy, indexed, articles, capsys):
    """An index from the older layout opens: its manifest moves into sqlite (same records, same
    texts), the Chroma manifest collection is dropped, and the next sync writes nothing."""
    settings = make_settings(data_copy, corpus_dir=indexed[1])
    before = SentenceIndex(settings).records(fresh=True)
    to_old_layout(settings)
    capsys.readouterr()
    index = SentenceIndex(settings)
    assert f"moved the manifest of {len(articles)} article(s)" in capsys.readouterr().err
    assert manifest_path(settings).is_file()
    assert f"{settings.collection}_articles" not in collection_names(index)
    assert index.records(fresh=True) == before
    assert all(index.article_text(a.id) == a.text for a in articles)
    report = index.sync(indexed[1], quiet=True)
    assert report is not None and report.sentences == 0 and not report.changed
    assert HARVEST in [h.sentence.text for h in retrieve(index, HARVEST, settings, top_k=3).hits]
    after = index.records(fresh=True)
    assert SentenceIndex(settings).records(fresh=True) == after  # a second open finds nothing to move
    assert "moved the manifest" not in capsys.readouterr().err


def test_old_layout_with_a_half_written_article_is_repaired(data_copy, indexed, articles):
    """An old-layout index a crash left with an article flagged incomplete: after the move that
    article is still invisible, and the next sync rewrites it (and only it)."""
    settings = make_settings(data_copy, corpus_dir=indexed[1])
    broken = article_of(articles, "kereta.txt")
    to_old_layout(settings, incomplete=(broken.id,))
    index = SentenceIndex(settings)
    assert not index.records(fresh=True)[broken.id].complete
    assert index.article_sentences(broken.id) == []
    report = index.sync(indexed[1], quiet=True)
    assert report is not None and report.repaired == [broken.id] and report.sentences == len(broken.sentences)
    assert not report.added and not report.updated and len(report.skipped) == len(articles) - 1
    assert len(index.article_sentences(broken.id)) == len(broken.sentences)
    assert index.count() == total(articles)


def test_manifest_of_another_collection_is_dropped_and_rewritten(data_copy, indexed, articles, capsys):
    """The Chroma collection was deleted and made anew under the manifest (or the manifest was
    copied beside another store): its rows describe nothing there, so they are dropped and the
    next sync writes every article again, rather than trusting rows with no sentences behind them."""
    settings = make_settings(data_copy, corpus_dir=indexed[1])
    index = SentenceIndex(settings)
    index.client.delete_collection(settings.collection)
    capsys.readouterr()
    reopened = SentenceIndex(settings)
    assert "described another Chroma collection" in capsys.readouterr().err
    assert reopened.records(fresh=True) == {}
    report = reopened.sync(indexed[1], quiet=True)
    assert report is not None and sorted(report.added) == sorted(a.id for a in articles)
    assert reopened.count() == total(articles)
    ids = reopened.sentences.get(include=[])["ids"]
    assert len(ids) == len(set(ids)) == total(articles)


def test_sqlite_manifest_beside_chroma_and_bm25(data_copy):
    settings = make_settings(data_copy)
    SentenceIndex(settings)
    assert manifest_path(settings).parent == settings.data_dir
    assert sorted(p.name for p in settings.data_dir.iterdir()) == sorted(
        ["chroma", "bm25", manifest_path(settings).name]
    )


def test_articles_split_under_an_older_rule_are_rewritten_on_sync(tmp_path, monkeypatch):
    """A corpus indexed by an older kutip (another ``CONTEXT_RULE``: sentences split by older rules)
    is rewritten when the folder is next followed, not served as it was split then."""
    import rag.index.facade as facade

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "kanal.txt").write_text(
        "Kanal Sigura adalah kanal tertua di kota itu.[1] Panjangnya 14 kilometer.[2][3] Kanal itu dibuka pada 1871.",
        encoding="utf-8",
    )
    settings = make_settings(tmp_path / "data", corpus_dir=corpus)
    monkeypatch.setattr(facade, "CONTEXT_RULE", CONTEXT_RULE - 1)
    SentenceIndex(settings).sync(corpus, quiet=True)
    monkeypatch.setattr(facade, "CONTEXT_RULE", CONTEXT_RULE)
    index = SentenceIndex(settings)
    report = index.sync(corpus, quiet=True)
    assert report is not None and report.updated == ["kanal"] and not report.skipped
    texts = [s.text for s in index.article_sentences("kanal")]
    assert texts == [
        "Kanal Sigura adalah kanal tertua di kota itu.[1]",
        "Panjangnya 14 kilometer.[2][3]",
        "Kanal itu dibuka pada 1871.",
    ]
    assert index.records()["kanal"].context_rule == CONTEXT_RULE
    again = SentenceIndex(settings).sync(corpus, quiet=True)  # a new process: now current, nothing to write
    assert again is not None and again.skipped == ["kanal"] and not again.updated
