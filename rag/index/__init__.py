"""Sentences → a manifest (sqlite), a dense store (Chroma) and a lexical index (BM25), idempotent
and crash-safe per article. ``SentenceIndex`` (``rag.index.facade``) is what the rest of kutip uses;
its parts are ``manifest.Manifest``, ``dense.DenseStore`` and ``lexical.LexicalIndex``."""

from .dense import EMBED_BATCH, DenseStore, chroma_client
from .facade import CONTEXT_RULE, SentenceIndex, context_text, embedding_text, manifest_path
from .lexical import LexicalIndex
from .manifest import Manifest
from .records import ArticleRecord, IngestReport, StoredSentence

__all__ = [
    "CONTEXT_RULE",
    "EMBED_BATCH",
    "ArticleRecord",
    "DenseStore",
    "IngestReport",
    "LexicalIndex",
    "Manifest",
    "SentenceIndex",
    "StoredSentence",
    "chroma_client",
    "context_text",
    "embedding_text",
    "manifest_path",
]
