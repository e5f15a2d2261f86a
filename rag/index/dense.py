"""The dense store: Chroma collections of sentence vectors, their documents and metadata.

- ``{collection}``: one record per sentence, id ``article_id:index``, the sentence as document,
  its embedding and metadata (article id and sha256, sentence index, offsets, title, outlet, date,
  language); the collection's own metadata records the embedding model, its dimension and what was
  embedded, and a mismatch is refused.
- ``{collection}_context``: a second vector for each sentence that refers back to the one before it
  (see ``rag.index.facade``).

It knows nothing of which articles are complete: the manifest does, and the facade joins the two.
Embedded (``PersistentClient`` under the data dir) or a Chroma server (``KUTIP_CHROMA_URL``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from ..corpus import Article, Sentence
from ..errors import BackendUnavailableError, DataDirError, IndexMismatchError
from ..settings import Settings

EMBEDDING_TEXT = "sentence"  # recorded with the vectors: what they were computed on (rag.index.embedding_text)

EMBED_BATCH = 64  # sentence records per Chroma ``add`` call
LEGACY_MANIFEST = "_articles"  # suffix of the collection older versions kept the manifest in


def check_data_dir(path: Path) -> None:
    """Create ``path`` if needed; a clear ``DataDirError`` when that fails or it is not writable."""
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
    check_data_dir(settings.data_dir)
    check_data_dir(settings.chroma_dir)
    return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)


class DenseStore:
    """The sentence and context collections of one index."""

    def __init__(self, settings: Settings, client: Any, embedding_model: str, embedding_dim: int) -> None:
        """Nothing is opened yet (so a rebuild can drop a mismatched collection first): call ``open``."""
        self.settings = settings
        self.client = client
        self.embedding_model, self.embedding_dim = embedding_model, embedding_dim

    def open(self) -> None:
        """Get or create the collections; refuse a collection built with another embedding."""
        meta = {
            "hnsw:space": "cosine",
            "embedding_model": self.embedding_model,
            "embedding_dim": self.embedding_dim,
            "embedding_text": EMBEDDING_TEXT,
        }
        try:
            self.sentences = self.client.get_or_create_collection(
                self.settings.collection, embedding_function=None, metadata=meta
            )
            self.context = self.client.get_or_create_collection(
                f"{self.settings.collection}_context", embedding_function=None, metadata={"hnsw:space": "cosine"}
            )
        except Exception as exc:
            raise self.unavailable(exc) from exc
        stored = self.sentences.metadata or {}
        if (
            stored.get("embedding_model") != self.embedding_model
            or int(stored.get("embedding_dim", -1)) != self.embedding_dim
            or stored.get("embedding_text", EMBEDDING_TEXT) != EMBEDDING_TEXT
        ):
            raise IndexMismatchError(
                f"The index at {self.where} was built with the embedding model "
                f"'{stored.get('embedding_model')}' ({stored.get('embedding_dim')} dims, "
                f"text '{stored.get('embedding_text')}'), not '{self.embedding_model}' ({self.embedding_dim} dims, "
                f"text '{EMBEDDING_TEXT}'). Rebuild it: kutip ingest --rebuild"
            )

    @property
    def where(self) -> str:
        return self.settings.chroma_url or str(self.settings.chroma_dir)

    @property
    def id(self) -> str:
        """The sentence collection's id: a new one whenever the collection is created anew."""
        return str(self.sentences.id)

    def unavailable(self, exc: Exception) -> BackendUnavailableError:
        hint = " Is the Chroma server running (chroma run --path DIR --port PORT)?" if self.settings.chroma_url else ""
        return BackendUnavailableError(
            f"The index at {self.where} cannot be used right now: {type(exc).__name__}: {str(exc).rstrip('.')}.{hint}"
        )

    def call(self, method: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Call a Chroma method; any failure (server gone, disk error) becomes ``BackendUnavailableError``."""
        try:
            return method(*args, **kwargs)
        except Exception as exc:
            raise self.unavailable(exc) from exc

    def drop(self) -> None:
        """Delete the collections (and an older version's manifest collection); ``open`` makes new ones."""
        for suffix in ("", "_context", LEGACY_MANIFEST):
            try:
                self.client.delete_collection(f"{self.settings.collection}{suffix}")
            except Exception:
                pass

    # ------------------------------------------------------------------ the layout before sqlite

    def legacy_manifest(self) -> list[tuple[str, str, dict[str, Any]]] | None:
        """The manifest an older version kept as a Chroma collection (``{collection}_articles``, one
        record per article: id, clean text as document, metadata), or ``None`` when there is none."""
        from chromadb.errors import NotFoundError

        try:
            collection = self.client.get_collection(f"{self.settings.collection}{LEGACY_MANIFEST}")
        except NotFoundError:
            return None
        except Exception as exc:
            raise self.unavailable(exc) from exc
        got = self.call(collection.get, include=["documents", "metadatas"])
        return [
            (str(rid), str(doc or ""), dict(meta or {}))
            for rid, doc, meta in zip(got["ids"], got["documents"] or [], got["metadatas"] or [])
        ]

    def drop_legacy_manifest(self) -> None:
        self.call(self.client.delete_collection, f"{self.settings.collection}{LEGACY_MANIFEST}")

    # ------------------------------------------------------------------ writing (errors left to the caller)

    def delete_article(self, article_id: str) -> None:
        self.sentences.delete(where={"article_id": article_id})
        self.context.delete(where={"article_id": article_id})

    def add_article(
        self,
        article: Article,
        vectors: np.ndarray,
        dependent: list[Sentence],
        context_vectors: np.ndarray | None,
    ) -> None:
        """Add an article's sentence records (``vectors`` in sentence order) and the context vectors
        of its ``dependent`` sentences, in batches of ``EMBED_BATCH``."""
        published = article.published.isoformat() if article.published else ""
        if dependent and context_vectors is not None:
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
                        "published": published,
                        "article_sha256": article.sha256,
                        "language": article.language,
                        "start": s.start,
                        "end": s.end,
                    }
                    for s in batch
                ],
            )

    def article_count(self, article_id: str) -> int:
        """How many sentence records the article has (to verify a write)."""
        return len(self.sentences.get(where={"article_id": article_id}, include=[])["ids"])

    # ------------------------------------------------------------------ reading

    def count(self) -> int:
        return int(self.call(self.sentences.count))

    def get(self, ids: list[str]) -> dict[str, Any]:
        """Sentence records by id: Chroma's ``{"ids", "documents", "metadatas"}``."""
        return dict(self.call(self.sentences.get, ids=ids, include=["documents", "metadatas"]))

    def article_rows(self, article_id: str) -> dict[str, Any]:
        return dict(self.call(self.sentences.get, where={"article_id": article_id}, include=["documents", "metadatas"]))

    def spans(self, article_id: str) -> list[tuple[int, int, int]]:
        """(sentence index, start, end) offsets into the article's clean text."""
        got = self.call(self.sentences.get, where={"article_id": article_id}, include=["metadatas"])
        return sorted((int(m["sentence_index"]), int(m["start"]), int(m["end"])) for m in got["metadatas"])

    def rows(self, page: int = 5000) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every sentence record (id, document, metadata), read ``page`` at a time."""
        total = self.count()
        for offset in range(0, total, page):
            got = self.call(self.sentences.get, include=["documents", "metadatas"], limit=page, offset=offset)
            yield from zip(got["ids"], got["documents"], got["metadatas"])

    def nearest(
        self, vector: np.ndarray, n: int, article_ids: list[str] | None = None
    ) -> tuple[dict[str, float], set[str]]:
        """Cosine similarity (1 - Chroma's cosine distance) of up to ``n`` nearest records of each
        collection, the larger of a sentence's two; and the ids whose larger one is the context vector."""
        where = {"article_id": {"$in": article_ids}} if article_ids else None
        sims: dict[str, float] = {}
        via_context: set[str] = set()
        for collection in (self.sentences, self.context):
            total = self.call(collection.count)
            if total == 0:
                continue
            got = self.call(
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
        return sims, via_context

    def cosines(self, ids: list[str], vector: np.ndarray) -> dict[str, tuple[float, bool]]:
        """Cosine similarity of ``vector`` to each sentence (the larger of its two vectors), and
        whether that was the context vector."""
        sims: dict[str, tuple[float, bool]] = {}
        for collection in (self.sentences, self.context):
            got = self.call(collection.get, ids=ids, include=["embeddings"])
            for sid, vec in zip(got["ids"], got["embeddings"]):
                similarity = float(np.asarray(vec, dtype=np.float32) @ vector)
                if similarity > sims.get(sid, (-1.0, False))[0]:
                    sims[sid] = (similarity, collection is self.context)
        return sims
