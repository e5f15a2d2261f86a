"""``SentenceIndex``: the one object the rest of kutip uses, over three parts of its own:

- the manifest (``rag.index.manifest``, sqlite under the data dir): which articles are indexed, their
  sha256, sentence counts and a ``complete`` flag;
- the dense store (``rag.index.dense``, Chroma): one record per sentence, and a second vector for
  each sentence that refers back to the one before it ("Rudal-rudal ini, dengan jangkauan 380 hingga
  800 km…"): the embedding of the previous sentence and the sentence together, so a question that
  names what "ini" stands for still finds it. Dense similarity is the larger of a sentence's two
  cosines (measured on the dev questions: MRR 0.73 → 0.76, recall@3 0.83 → 0.91; replacing the
  sentence's own vector instead lowered MRR);
- the lexical index (``rag.index.lexical``, bm25s), derived from the dense store's documents whenever
  the manifest's fingerprint changes and persisted under ``data_dir/bm25``.

Writing an article: flag it incomplete in the manifest (committed), replace its sentence records,
verify the count, then flag it complete. Readers only see sentences of complete articles whose
sha256 matches, so a crash mid-article never shows a half-written article, and the next ingest
repairs it. An index written by an older version (manifest as a Chroma collection) has its manifest
moved into sqlite when it is opened; its vectors are kept.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from ..corpus import Article, Sentence, corpus_files, corpus_ids, load_corpus_report
from ..embedding import Embedder, get_embedder
from ..errors import BackendUnavailableError, CorpusError, DataDirError, IndexMismatchError
from ..readers import MAX_ARTICLE_BYTES
from ..settings import Settings
from ..text import refers_back, with_antecedent
from .dense import DenseStore, check_data_dir, chroma_client
from .lexical import LexicalIndex
from .manifest import Manifest
from .records import ArticleRecord, IngestReport, StoredSentence

# Version of the sentence-splitting and refers-back rules: articles written under another are
# rewritten. 2: a sentence ends after the footnote references that follow its stop ("….[1] Lebih").
CONTEXT_RULE = 2
SYNC_RECHECK_S = 2.0  # how often ``sync`` looks at the corpus folder again (each question calls it)


def manifest_path(settings: Settings) -> Path:
    """The manifest's sqlite file: one per collection, beside ``chroma/`` and ``bm25/``."""
    return settings.data_dir / f"{settings.collection}.manifest.sqlite3"


def embedding_text(article: Article, sentence: Sentence) -> str:
    """What the dense vector of a sentence is computed on: the sentence alone (measured with e5 on
    the dev questions: R@1 0.65, MRR 0.75, against 0.62/0.73 with the title and 0.46/0.63 with the
    title and previous sentence, at a third of the latter's embedding time; those modes are gone)."""
    return sentence.text


def context_text(article: Article, sentence: Sentence) -> str:
    """What a back-referring sentence's context vector is computed on: the previous sentence and it."""
    return with_antecedent(article.sentences[sentence.index - 1].text, sentence.text)


def legacy_record(article_id: str, meta: dict[str, Any]) -> ArticleRecord:
    """A manifest entry as older versions stored it (metadata of a Chroma record)."""
    return ArticleRecord(
        id=article_id,
        title=str(meta.get("title", article_id)),
        outlet=meta.get("outlet") or None,
        published=date.fromisoformat(meta["published"]) if meta.get("published") else None,
        sha256=str(meta.get("sha256", "")),
        n_sentences=int(meta.get("n_sentences", 0)),
        complete=bool(meta.get("complete", False)),
        source=str(meta.get("source", "")),
        context_rule=int(meta.get("context_rule", 0)),
        language=str(meta.get("language") or "id"),
        corpus=str(meta.get("corpus") or ""),
    )


class SentenceIndex:
    """The manifest, the dense store and the lexical index over the same sentences."""

    def __init__(
        self, settings: Settings, embedder: Embedder | None = None, client: Any = None, *, rebuild: bool = False
    ) -> None:
        self.settings = settings
        self.embedder = embedder or get_embedder()
        self.client = client or chroma_client(settings)
        check_data_dir(settings.data_dir)  # the manifest and BM25 live here, with a Chroma server too
        self.store = DenseStore(settings, self.client, self.embedder.name, self.embedder.dim)
        self.manifest = Manifest(manifest_path(settings))
        self.bm25 = LexicalIndex(settings.bm25_dir)
        self._lock = threading.RLock()
        self._manifest_cache: tuple[int, dict[str, ArticleRecord]] | None = None
        self._synced: tuple[float, object] | None = None  # (when, what the folder and index looked like)
        if rebuild:
            self._drop()
        self._open()

    # ------------------------------------------------------------------ parts

    def _open(self) -> None:
        """Open the collections, then tie the manifest to them (moving an older version's in)."""
        self.store.open()
        legacy = self.store.legacy_manifest()
        if legacy is not None:
            rows = [(legacy_record(rid, meta), text) for rid, text, meta in legacy]
            self.manifest.replace_all(rows, self.store.id)
            self.store.drop_legacy_manifest()
            print(
                f"kutip: moved the manifest of {len(rows)} article(s) from Chroma to {self.manifest.path}",
                file=sys.stderr,
            )
        elif self.manifest.bind(self.store.id):
            print(
                f"kutip: {self.manifest.path} described another Chroma collection than the one at {self.where}; "
                "its articles are written again on the next ingest",
                file=sys.stderr,
            )
        self._manifest_cache = None

    @property
    def sentences(self) -> Any:
        """The Chroma collection of sentence records."""
        return self.store.sentences

    @property
    def context(self) -> Any:
        """The Chroma collection of context vectors."""
        return self.store.context

    @property
    def where(self) -> str:
        return self.store.where

    def _drop(self) -> None:
        """Drop the collections, the manifest's rows and the BM25 files."""
        with self._lock:
            self.store.drop()
            self.manifest.replace_all([], "")
            self.bm25.clear()
            self._manifest_cache = None

    # ------------------------------------------------------------------ manifest

    def records(self, *, fresh: bool = False) -> dict[str, ArticleRecord]:
        """Every article the index knows, complete or not, by id.

        Cached until the manifest's generation changes (one tiny sqlite read per call): any
        process's writes show at once; ``fresh`` reads it again regardless."""
        generation = self.manifest.generation()
        cache = self._manifest_cache
        if not fresh and cache and cache[0] == generation:
            return cache[1]
        records = self.manifest.records()
        self._manifest_cache = (generation, records)
        return records

    def complete_articles(self) -> dict[str, ArticleRecord]:
        return {k: v for k, v in self.records().items() if v.complete}

    def article_text(self, article_id: str) -> str | None:
        """The clean text of an indexed article (sentence offsets refer to it)."""
        return self.manifest.text(article_id)

    def fingerprint(self) -> str:
        items = ["stems-by-language", *sorted((r.id, r.sha256) for r in self.complete_articles().values())]
        return hashlib.sha256(json.dumps(items).encode()).hexdigest()[:16]

    def count(self) -> int:
        return self.store.count()

    # ------------------------------------------------------------------ writing

    def _write_article(self, article: Article, corpus: str = "") -> int:
        record = ArticleRecord(
            id=article.id,
            title=article.title,
            outlet=article.outlet or None,
            published=article.published,
            sha256=article.sha256,
            n_sentences=len(article.sentences),
            complete=False,
            source=article.source,
            context_rule=CONTEXT_RULE,
            language=article.language,
            corpus=corpus,
        )
        self.manifest.put(record, article.text)  # committed before any sentence record changes
        self.store.delete_article(article.id)
        vectors = self.embedder.passages([embedding_text(article, s) for s in article.sentences])
        dependent = [s for s in article.sentences if s.index > 0 and refers_back(s.text)]
        context_vectors = self.embedder.passages([context_text(article, s) for s in dependent]) if dependent else None
        self.store.add_article(article, vectors, dependent, context_vectors)
        written = self.store.article_count(article.id)
        if written != len(article.sentences):
            raise RuntimeError(f"{article.id}: wrote {written} of {len(article.sentences)} sentences")
        self.manifest.mark_complete(article.id, article.sha256)
        return len(article.sentences)

    def remove(self, article_id: str) -> None:
        with self._lock:
            self.store.call(self.store.delete_article, article_id)  # a store that is down: a clear error
            self.manifest.delete(article_id)
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
                self.store.count()  # a Chroma that is gone is said at once, even when nothing is to be written
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
                                article.id, corpus=owner, source=article.source, language=article.language
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
            except (BackendUnavailableError, IndexMismatchError, DataDirError):
                raise
            except RuntimeError:
                raise
            except Exception as exc:
                raise self.store.unavailable(exc) from exc
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
        got = self.store.get(ids)
        return {s.id: s for s in self._rows_to_sentences(got["ids"], got["documents"], got["metadatas"])}

    def article_sentences(self, article_id: str) -> list[StoredSentence]:
        got = self.store.article_rows(article_id)
        return sorted(self._rows_to_sentences(got["ids"], got["documents"], got["metadatas"]), key=lambda s: s.index)

    def spans(self, article_id: str) -> list[tuple[int, int, int]]:
        """(sentence index, start, end) offsets into the article's clean text."""
        return self.store.spans(article_id)

    def dense(
        self, vector: np.ndarray, n: int, article_ids: list[str] | None = None
    ) -> list[tuple[StoredSentence, float]]:
        """The ``n`` nearest sentences by cosine similarity (1 - Chroma's cosine distance), taking for
        each sentence the larger of its own vector's and its context vector's similarity; a sentence
        found through its context vector comes back with ``via_context`` set."""
        sims, via_context = self.store.nearest(vector, n, article_ids)
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
        return self.store.cosines(ids, vector)

    # ------------------------------------------------------------------ BM25

    def _lexical_rows(self) -> Iterator[tuple[str, str, str]]:
        """Sentences of complete articles as (id, text, the article's language), for BM25."""
        complete = self.complete_articles()
        for sid, doc, meta in self.store.rows():
            record = complete.get(str(meta.get("article_id")))
            if record and record.sha256 == meta.get("article_sha256"):
                yield sid, doc, record.language

    def ensure_bm25(self) -> None:
        """Load or rebuild the BM25 index so it matches the current manifest."""
        with self._lock:
            self.bm25.ensure(self.fingerprint(), self._lexical_rows)

    def lexical(self, query: str, n: int, language: str = "id") -> list[tuple[str, float]]:
        """BM25 hits: (sentence id, score), best first; the query stemmed in its ``language``."""
        self.ensure_bm25()
        return self.bm25.search(query, n, language)
