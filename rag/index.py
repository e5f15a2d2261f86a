"""Sentences → Chroma (dense) + BM25 (lexical), idempotent and crash-safe per article.

Two Chroma collections:
- ``{collection}``: one record per sentence, id ``article_id:index``, the sentence as document,
  an embedding (of the sentence alone by default; see ``embedding_text``), and metadata.
- ``{collection}_context``: a second vector for each sentence that refers back to the one before
  it ("Rudal-rudal ini, dengan jangkauan 380 hingga 800 km…"): the embedding of the previous
  sentence and the sentence together, so a question that names what "ini" stands for still finds
  it. Dense similarity is the larger of a sentence's two cosines (measured on the dev questions:
  MRR 0.73 → 0.76, recall@3 0.83 → 0.91; replacing the sentence's own vector instead lowered MRR).
- ``{collection}_articles``: the manifest, one record per article with its clean text, sha256,
  sentence count, the context rule it was written with, and a ``complete`` flag.

Writing an article: flag it incomplete in the manifest, replace its sentence records, verify the
count, then flag it complete. Readers only see sentences of complete articles whose sha256 matches,
so a crash mid-article never shows a half-written article, and the next ingest repairs it.

The BM25 index (bm25s over Snowball-stemmed Indonesian tokens) is derived data: it is rebuilt from
Chroma whenever the manifest's fingerprint changes and persisted under ``data_dir/bm25``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterable
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
from pydantic import BaseModel

from .corpus import Article, Sentence, corpus_files, corpus_ids, load_corpus_report
from .errors import BackendUnavailableError, CorpusError, DataDirError, IndexMismatchError
from .models import Embedder, get_embedder
from .readers import MAX_ARTICLE_BYTES
from .settings import Settings
from .text import refers_back, stems, with_antecedent

EMBED_BATCH = 64
CONTEXT_RULE = 1  # version of the refers-back rule; articles written under another are rewritten
MANIFEST_REFRESH_S = 30.0  # longest a cached manifest is trusted while record counts stay the same
SYNC_RECHECK_S = 2.0  # how often ``sync`` looks at the corpus folder again (each question calls it)


class ArticleRecord(BaseModel):
    """What the index holds about one article (the manifest entry)."""

    id: str
    title: str
    outlet: str | None = None
    published: date | None = None
    sha256: str
    n_sentences: int
    complete: bool
    source: str = ""
    context_rule: int = 0
    language: str = "id"
    corpus: str = ""  # the corpus folder the article was synced from ("" = ingested directly)


class IngestReport(BaseModel):
    """What one ``ingest`` call did."""

    added: list[str] = []
    updated: list[str] = []
    skipped: list[str] = []
    removed: list[str] = []
    repaired: list[str] = []
    sentences: int = 0
    seconds: float = 0.0
    unreadable: list[str] = []  # files of the corpus folder that could not be read, with the reason
    switched_from: list[str] = []  # other corpus folders whose articles this sync removed

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.repaired)

    def summary(self) -> str:
        switched = f" (switched from {', '.join(self.switched_from)})" if self.switched_from else ""
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.skipped)} unchanged, "
            f"{len(self.removed)} removed{switched}, {len(self.repaired)} repaired; {self.sentences} sentences "
            f"written in {self.seconds:.1f} s"
        )


class StoredSentence(BaseModel):
    """A sentence as read back from the index, with its article's metadata."""

    id: str
    article_id: str
    index: int
    text: str
    title: str
    outlet: str | None = None
    published: date | None = None
    language: str = "id"  # the article's language
    source: str | None = None  # the article's file (path in the corpus folder) or link
    via_context: bool = False  # retrieval matched it through its context vector (with the sentence before)


def embedding_text(article: Article, sentence: Sentence, variant: str = "sentence") -> str:
    """What the dense vector of a sentence is computed on (``Settings.embed_text``).

    Measured on the dev questions (scripts/tune.py): the sentence alone retrieves best with e5
    (R@1 0.65, MRR 0.75) against title + sentence (0.62, 0.73) and title + previous + sentence
    (0.46, 0.63), and costs a third of the embedding time of the latter.
    """
    if variant == "sentence":
        return sentence.text
    if variant == "title":
        return f"{article.title}. {sentence.text}"
    previous = article.sentences[sentence.index - 1].text if sentence.index > 0 else ""
    return f"{article.title}. {previous[-200:]} {sentence.text}".strip()


def context_text(article: Article, sentence: Sentence) -> str:
    """What a back-referring sentence's context vector is computed on: the previous sentence and it."""
    return with_antecedent(article.sentences[sentence.index - 1].text, sentence.text)


def _check_data_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataDirError(f"Cannot create the data directory {path}: {exc.strerror or exc}") from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise DataDirError(f"The data directory {path} is not writable; set KUTIP_DATA_DIR to a writable folder.")


def chroma_client(settings: Settings) -> Any:
    """An embedded ``PersistentClient`` under the data dir, or an ``HttpClient`` for ``chroma_url``."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url if "://" in settings.chroma_url else f"http://{settings.chroma_url}")
        try:
            client = chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=chroma_settings,
            )
            client.heartbeat()
        except Exception as exc:
            raise BackendUnavailableError(
                f"Chroma server not reachable at {settings.chroma_url} ({type(exc).__name__}). Start it with "
                f"'chroma run --path DIR --port {url.port or 8000}' or unset KUTIP_CHROMA_URL."
            ) from exc
        return client
    _check_data_dir(settings.data_dir)
    _check_data_dir(settings.chroma_dir)
    return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)


def _meta_date(value: Any) -> date | None:
    return date.fromisoformat(value) if value else None


class SentenceIndex:
    """The Chroma collections and the BM25 index over the same sentences."""

    def __init__(
        self, settings: Settings, embedder: Embedder | None = None, client: Any = None, *, rebuild: bool = False
    ) -> None:
        self.settings = settings
        self.embedder = embedder or get_embedder()
        self.client = client or chroma_client(settings)
        self._lock = threading.RLock()
        self._bm25: Any = None
        self._bm25_ids: list[str] = []
        self._bm25_fingerprint = ""
        self._manifest_cache: tuple[float, dict[str, ArticleRecord], tuple[int, int, int]] | None = None
        self._synced: tuple[float, object] | None = None  # (when, what the folder and index looked like)
        if rebuild:
            self._drop()
        self._open()

    # ------------------------------------------------------------------ collections

    def _open(self) -> None:
        meta = {
            "hnsw:space": "cosine",
            "embedding_model": self.embedder.name,
            "embedding_dim": self.embedder.dim,
            "embedding_text": self.settings.embed_text,
        }
        try:
            self.sentences = self.client.get_or_create_collection(
                self.settings.collection, embedding_function=None, metadata=meta
            )
            self.context = self.client.get_or_create_collection(
                f"{self.settings.collection}_context", embedding_function=None, metadata={"hnsw:space": "cosine"}
            )
            self.manifest = self.client.get_or_create_collection(
                f"{self.settings.collection}_articles", embedding_function=None, metadata={"hnsw:space": "cosine"}
            )
        except Exception as exc:
            raise self._unavailable(exc) from exc
        stored = self.sentences.metadata or {}
        if (
            stored.get("embedding_model") != self.embedder.name
            or int(stored.get("embedding_dim", -1)) != self.embedder.dim
            or stored.get("embedding_text", "sentence") != self.settings.embed_text
        ):
            raise IndexMismatchError(
                f"The index at {self.where} was built with the embedding model "
                f"'{stored.get('embedding_model')}' ({stored.get('embedding_dim')} dims, "
                f"text '{stored.get('embedding_text')}'), not '{self.embedder.name}' ({self.embedder.dim} dims, "
                f"text '{self.settings.embed_text}'). Rebuild it: kutip ingest --rebuild"
            )

    @property
    def where(self) -> str:
        return self.settings.chroma_url or str(self.settings.chroma_dir)

    def _unavailable(self, exc: Exception) -> BackendUnavailableError:
        hint = " Is the Chroma server running (chroma run --path DIR --port PORT)?" if self.settings.chroma_url else ""
        return BackendUnavailableError(
            f"The index at {self.where} cannot be used right now: {type(exc).__name__}: {str(exc).rstrip('.')}.{hint}"
        )

    def _chroma(self, method: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Call a Chroma method; any failure (server gone, disk error) becomes ``BackendUnavailableError``."""
        try:
            return method(*args, **kwargs)
        except Exception as exc:
            raise self._unavailable(exc) from exc

    def _drop(self) -> None:
        """Drop both collections and the BM25 files."""
        with self._lock:
            names = ("", "_context", "_articles")
            for name in (f"{self.settings.collection}{suffix}" for suffix in names):
                try:
                    self.client.delete_collection(name)
                except Exception:
                    pass
            shutil.rmtree(self.settings.bm25_dir, ignore_errors=True)
            self._bm25 = None
            self._bm25_fingerprint = ""
            self._manifest_cache = None

    def rebuild(self) -> None:
        """Drop everything and start empty."""
        self._drop()
        self._open()

    # ------------------------------------------------------------------ manifest

    def _probe(self) -> tuple[int, int, int]:
        """Record counts of the three collections: three cheap reads (~2 ms each) that change when
        any process adds or removes an article, or rewrites one with another number of sentences."""
        try:
            return (self.manifest.count(), self.sentences.count(), self.context.count())
        except Exception as exc:
            raise self._unavailable(exc) from exc

    def records(self, *, fresh: bool = False) -> dict[str, ArticleRecord]:
        """Every article the index knows, complete or not, by id.

        Reading the whole manifest takes ~0.5 s for 10,000 articles, so it is cached: reused within a
        second, and for up to ``MANIFEST_REFRESH_S`` while the collections' record counts (``_probe``)
        are unchanged. This process's own writes clear the cache; another process's adds and removes
        show at once, an in-place rewrite with the same number of sentences within that bound."""
        now = time.monotonic()
        cache = self._manifest_cache
        if not fresh and cache:
            read_at, cached, probe = cache
            if now - read_at < 1.0 or (now - read_at < MANIFEST_REFRESH_S and self._probe() == probe):
                return cached
        probe = self._probe()
        try:
            got = self.manifest.get(include=["metadatas"])
        except Exception as exc:
            raise self._unavailable(exc) from exc
        records = {}
        for rid, meta in zip(got["ids"], got["metadatas"] or []):
            meta = meta or {}
            records[rid] = ArticleRecord(
                id=rid,
                title=str(meta.get("title", rid)),
                outlet=meta.get("outlet") or None,
                published=_meta_date(meta.get("published")),
                sha256=str(meta.get("sha256", "")),
                n_sentences=int(meta.get("n_sentences", 0)),
                complete=bool(meta.get("complete", False)),
                source=str(meta.get("source", "")),
                context_rule=int(meta.get("context_rule", 0)),
                language=str(meta.get("language") or "id"),
                corpus=str(meta.get("corpus") or ""),
            )
        self._manifest_cache = (now, records, probe)
        return records

    def complete_articles(self) -> dict[str, ArticleRecord]:
        return {k: v for k, v in self.records().items() if v.complete}

    def article_text(self, article_id: str) -> str | None:
        """The clean text of an indexed article (sentence offsets refer to it)."""
        got = self._chroma(self.manifest.get, ids=[article_id], include=["documents"])
        return got["documents"][0] if got["ids"] else None

    def fingerprint(self) -> str:
        items = ["stems-by-language", *sorted((r.id, r.sha256) for r in self.complete_articles().values())]
        return hashlib.sha256(json.dumps(items).encode()).hexdigest()[:16]

    def count(self) -> int:
        return self._chroma(self.sentences.count)

    # ------------------------------------------------------------------ writing

    def _write_article(self, article: Article, corpus: str = "") -> int:
        record_meta = {
            "title": article.title,
            "outlet": article.outlet or "",
            "published": article.published.isoformat() if article.published else "",
            "sha256": article.sha256,
            "n_sentences": len(article.sentences),
            "source": article.source,
            "context_rule": CONTEXT_RULE,
            "language": article.language,
            "corpus": corpus,
        }
        self.manifest.upsert(
            ids=[article.id],
            documents=[article.text],
            embeddings=[[0.0, 0.0, 1.0]],
            metadatas=[{**record_meta, "complete": False}],
        )
        self.sentences.delete(where={"article_id": article.id})
        self.context.delete(where={"article_id": article.id})
        vectors = self.embedder.passages(
            [embedding_text(article, s, self.settings.embed_text) for s in article.sentences]
        )
        dependent = [s for s in article.sentences if s.index > 0 and refers_back(s.text)]
        if dependent:
            context_vectors = self.embedder.passages([context_text(article, s) for s in dependent])
            self.context.add(
                ids=[s.id for s in dependent],
                embeddings=context_vectors.tolist(),
                metadatas=[
                    {"article_id": article.id, "sentence_index": s.index, "article_sha256": article.sha256}
                    for s in dependent
                ],
            )
        for start in range(0, len(article.sentences), EMBED_BATCH):
            batch = article.sentences[start : start + EMBED_BATCH]
            self.sentences.add(
                ids=[s.id for s in batch],
                embeddings=vectors[start : start + len(batch)].tolist(),
                documents=[s.text for s in batch],
                metadatas=[
                    {
                        "article_id": article.id,
                        "sentence_index": s.index,
                        "title": article.title,
                        "outlet": article.outlet or "",
                        "published": record_meta["published"],
                        "article_sha256": article.sha256,
                        "language": article.language,
                        "start": s.start,
                        "end": s.end,
                    }
                    for s in batch
                ],
            )
        written = len(self.sentences.get(where={"article_id": article.id}, include=[])["ids"])
        if written != len(article.sentences):
            raise RuntimeError(f"{article.id}: wrote {written} of {len(article.sentences)} sentences")
        self.manifest.upsert(
            ids=[article.id],
            documents=[article.text],
            embeddings=[[0.0, 0.0, 1.0]],
            metadatas=[{**record_meta, "complete": True}],
        )
        return len(article.sentences)

    def remove(self, article_id: str) -> None:
        with self._lock:
            self.sentences.delete(where={"article_id": article_id})
            self.context.delete(where={"article_id": article_id})
            self.manifest.delete(ids=[article_id])
            self._manifest_cache = None

    def ingest(
        self,
        articles: Iterable[Article],
        *,
        prune: bool = False,
        progress: Callable[[Article, str], None] | None = None,
        corpus: Path | str | None = None,
    ) -> IngestReport:
        """Bring the index in line with ``articles``: add new, replace changed, skip unchanged,
        repair incomplete ones, and with ``prune`` remove articles that are no longer given.
        ``corpus`` records the folder the articles belong to (see ``sync``)."""
        owner = str(corpus) if corpus else ""
        started = time.perf_counter()
        report = IngestReport()
        with self._lock:
            try:
                records = self.records(fresh=True)
                seen: set[str] = set()
                for article in articles:
                    seen.add(article.id)
                    record = records.get(article.id)
                    if (
                        record
                        and record.complete
                        and record.sha256 == article.sha256
                        and record.n_sentences == len(article.sentences)
                        and record.context_rule == CONTEXT_RULE
                    ):
                        report.skipped.append(article.id)
                        if owner and (
                            record.corpus != owner
                            or record.source != article.source
                            or record.language != article.language
                        ):
                            self.manifest.update(
                                ids=[article.id],
                                metadatas=[{"corpus": owner, "source": article.source, "language": article.language}],
                            )
                        if progress:
                            progress(article, "unchanged")
                        continue
                    report.sentences += self._write_article(article, owner)
                    if record is None:
                        report.added.append(article.id)
                    elif not record.complete:
                        report.repaired.append(article.id)
                    else:
                        report.updated.append(article.id)
                    if progress:
                        progress(article, "written")
                for rid, record in records.items():
                    if rid in seen:
                        continue
                    if prune:
                        self.remove(rid)
                        report.removed.append(rid)
                    elif not record.complete:
                        # left half-written by a crash and its file is not in this batch: drop it
                        self.remove(rid)
                        report.repaired.append(rid)
            except (BackendUnavailableError, IndexMismatchError):
                raise
            except RuntimeError:
                raise
            except Exception as exc:
                raise self._unavailable(exc) from exc
            finally:
                self._manifest_cache = None
            self.ensure_bm25()
        report.seconds = time.perf_counter() - started
        return report

    # ------------------------------------------------------------------ following a corpus folder

    @staticmethod
    def _owned(record: ArticleRecord) -> bool:
        """Whether a record came from a corpus folder (so a sync may remove it): it names one, or it
        was written before folders were recorded (its source was then the file's absolute path)."""
        return bool(record.corpus) or Path(record.source).is_absolute()

    def sync(
        self,
        folder: Path | str,
        *,
        max_bytes: int = MAX_ARTICLE_BYTES,
        progress: Callable[[Article, str], None] | None = None,
        quiet: bool = False,
    ) -> IngestReport | None:
        """Bring the index in line with the corpus folder: add new files, rewrite changed ones, remove
        articles whose file is gone and articles of any other corpus folder (the index belongs to one
        folder; pointing ``KUTIP_CORPUS_DIR`` elsewhere switches it). Articles ingested directly
        (``ingest`` without ``corpus``) are left alone. Says what changed on stderr unless ``quiet``;
        returns the report, or ``None`` when the folder and index are as the last sync left them.

        A folder that is missing, or holds no readable article while the index holds another
        folder's, is refused (``CorpusError``) rather than emptying the index: answering from the
        old corpus would be wrong, and so would silently dropping it."""
        folder = Path(folder).expanduser().resolve()
        if not folder.is_dir():
            raise CorpusError(
                f"The corpus folder {folder} does not exist. Create it and put articles in it, or point "
                "KUTIP_CORPUS_DIR at your articles' folder; then run: kutip ingest"
            )
        now = time.monotonic()
        with self._lock:
            if self._synced and now - self._synced[0] < SYNC_RECHECK_S and self._synced[1][0] == str(folder):  # type: ignore[index]
                return None
            files = corpus_files(folder)
            state = (
                str(folder),
                [(str(p), *(lambda st: (st.st_size, st.st_mtime_ns))(p.stat())) for p in files],
                self.fingerprint(),
            )
            if self._synced and self._synced[1] == state:
                self._synced = (now, state)
                return None
            owner = str(folder)
            records = self.records(fresh=True)
            ids = corpus_ids(folder, files)
            wanted = set(ids.values())
            stale = [rid for rid, r in records.items() if rid not in wanted and self._owned(r)]
            current = all(
                (r := records.get(aid)) is not None
                and r.complete
                and r.corpus == owner
                and r.context_rule == CONTEXT_RULE
                and r.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
                for path, aid in ids.items()
            )
            report = IngestReport(skipped=sorted(ids.values()) if current else [])  # all present and unchanged
            if not current or stale:
                articles, unreadable = load_corpus_report(folder, max_bytes) if (files and not current) else ([], [])
                if stale and not articles and not current:
                    others = sorted({records[rid].corpus or "an earlier corpus" for rid in stale})
                    raise CorpusError(
                        f"The corpus folder {folder} holds no readable article ({len(files)} file(s), "
                        f"{len(unreadable)} unreadable); the index holds {len(stale)} article(s) from {', '.join(others)}. "
                        "Add articles to the folder, point KUTIP_CORPUS_DIR back, or empty the index with: kutip ingest --rebuild"
                    )
                for rid in stale:
                    self.remove(rid)
                if not current:
                    report = self.ingest(articles, progress=progress, corpus=folder)
                else:
                    self.ensure_bm25()
                report.removed = [*report.removed, *stale]
                report.switched_from = sorted(
                    {records[rid].corpus or "an earlier corpus" for rid in stale if records[rid].corpus != owner}
                )
                report.unreadable = [u.reason for u in unreadable]
            self._synced = (time.monotonic(), (str(folder), state[1], self.fingerprint()))
        if report.changed and not quiet:
            print(f"kutip: the index follows {folder}: {report.summary()}", file=sys.stderr)
        return report

    # ------------------------------------------------------------------ reading

    def _rows_to_sentences(self, ids: list[str], docs: list[str], metas: list[dict[str, Any]]) -> list[StoredSentence]:
        complete = self.complete_articles()
        out = []
        for sid, doc, meta in zip(ids, docs, metas):
            record = complete.get(str(meta.get("article_id")))
            if record is None or record.sha256 != meta.get("article_sha256"):
                continue  # article being rewritten or half-written: invisible
            out.append(
                StoredSentence(
                    id=sid,
                    article_id=record.id,
                    index=int(meta["sentence_index"]),
                    text=doc,
                    title=record.title,
                    outlet=record.outlet,
                    published=record.published,
                    language=record.language,
                    source=record.source or None,
                )
            )
        return out

    def get(self, ids: list[str]) -> dict[str, StoredSentence]:
        """Sentences by id (only those of complete articles)."""
        ids = list(dict.fromkeys(ids))
        if not ids:
            return {}
        try:
            got = self.sentences.get(ids=ids, include=["documents", "metadatas"])
        except Exception as exc:
            raise self._unavailable(exc) from exc
        return {s.id: s for s in self._rows_to_sentences(got["ids"], got["documents"], got["metadatas"])}

    def article_sentences(self, article_id: str) -> list[StoredSentence]:
        got = self._chroma(self.sentences.get, where={"article_id": article_id}, include=["documents", "metadatas"])
        return sorted(self._rows_to_sentences(got["ids"], got["documents"], got["metadatas"]), key=lambda s: s.index)

    def spans(self, article_id: str) -> list[tuple[int, int, int]]:
        """(sentence index, start, end) offsets into the article's clean text."""
        got = self._chroma(self.sentences.get, where={"article_id": article_id}, include=["metadatas"])
        return sorted((int(m["sentence_index"]), int(m["start"]), int(m["end"])) for m in got["metadatas"])

    def dense(
        self, vector: np.ndarray, n: int, article_ids: list[str] | None = None
    ) -> list[tuple[StoredSentence, float]]:
        """The ``n`` nearest sentences by cosine similarity (1 - Chroma's cosine distance), taking for
        each sentence the larger of its own vector's and its context vector's similarity; a sentence
        found through its context vector comes back with ``via_context`` set."""
        where = {"article_id": {"$in": article_ids}} if article_ids else None
        sims: dict[str, float] = {}
        via_context: set[str] = set()
        for collection in (self.sentences, self.context):
            total = self._chroma(collection.count)
            if total == 0:
                continue
            got = self._chroma(
                collection.query,
                query_embeddings=[vector.tolist()],
                n_results=min(n, total),
                where=where,
                include=["distances"],
            )
            for sid, distance in zip(got["ids"][0], got["distances"][0]):
                similarity = 1.0 - float(distance)
                if similarity > sims.get(sid, -1.0):
                    sims[sid] = similarity
                    if collection is self.context:
                        via_context.add(sid)
        best = sorted(sims, key=lambda sid: -sims[sid])[:n]
        found = self.get(best)
        return [
            (found[sid].model_copy(update={"via_context": sid in via_context}), sims[sid])
            for sid in best
            if sid in found
        ]

    def cosines(self, ids: list[str], vector: np.ndarray) -> dict[str, tuple[float, bool]]:
        """Cosine similarity of ``vector`` to each sentence (the larger of its two vectors), and
        whether that was the context vector."""
        sims: dict[str, tuple[float, bool]] = {}
        for collection in (self.sentences, self.context):
            got = self._chroma(collection.get, ids=ids, include=["embeddings"])
            for sid, vec in zip(got["ids"], got["embeddings"]):
                similarity = float(np.asarray(vec, dtype=np.float32) @ vector)
                if similarity > sims.get(sid, (-1.0, False))[0]:
                    sims[sid] = (similarity, collection is self.context)
        return sims

    # ------------------------------------------------------------------ BM25

    def ensure_bm25(self) -> None:
        """Load or rebuild the BM25 index so it matches the current manifest."""
        import bm25s

        fingerprint = self.fingerprint()
        with self._lock:
            if self._bm25 is not None and self._bm25_fingerprint == fingerprint:
                return
            folder = self.settings.bm25_dir / fingerprint
            ids_file = folder / "ids.json"
            if ids_file.is_file():
                try:
                    self._bm25 = bm25s.BM25.load(str(folder))
                    self._bm25_ids = json.loads(ids_file.read_text())
                    self._bm25_fingerprint = fingerprint
                    return
                except Exception:
                    shutil.rmtree(folder, ignore_errors=True)
            complete = self.complete_articles()
            ids: list[str] = []
            corpus: list[list[str]] = []
            total = self.count()
            for offset in range(0, total, 5000):
                got = self._chroma(self.sentences.get, include=["documents", "metadatas"], limit=5000, offset=offset)
                for sid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                    record = complete.get(str(meta.get("article_id")))
                    if record and record.sha256 == meta.get("article_sha256"):
                        ids.append(sid)
                        # each sentence stemmed in its article's language (Snowball Indonesian or English)
                        corpus.append(stems(f"{doc}", language=record.language) or ["_"])
            model = bm25s.BM25()
            if corpus:
                model.index(corpus, show_progress=False)
            self._bm25, self._bm25_ids, self._bm25_fingerprint = (model if corpus else None), ids, fingerprint
            if corpus:
                try:
                    tmp = folder.with_name(folder.name + ".tmp")
                    shutil.rmtree(tmp, ignore_errors=True)
                    model.save(str(tmp))
                    (tmp / "ids.json").write_text(json.dumps(ids))
                    for old in self.settings.bm25_dir.glob("*"):
                        if old.name != tmp.name:
                            shutil.rmtree(old, ignore_errors=True)
                    os.replace(tmp, folder)
                except OSError:
                    pass  # the in-memory index still serves; it is rebuilt next time

    def lexical(self, query: str, n: int, language: str = "id") -> list[tuple[str, float]]:
        """BM25 hits: (sentence id, score), best first; the query stemmed in its ``language``."""
        self.ensure_bm25()
        tokens = stems(query, language=language)
        if self._bm25 is None or not tokens:
            return []
        vocab = self._bm25.vocab_dict
        tokens = [t for t in tokens if t in vocab]
        if not tokens:
            return []
        k = min(n, len(self._bm25_ids))
        results, scores = self._bm25.retrieve([tokens], k=k, show_progress=False, n_threads=1)
        return [(self._bm25_ids[int(i)], float(s)) for i, s in zip(results[0], scores[0]) if s > 0]
