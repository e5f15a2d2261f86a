"""The errors kutip raises on purpose: each carries a message a user can act on."""

from __future__ import annotations


class KutipError(Exception):
    """Base class of every error kutip raises deliberately."""


class QuestionError(KutipError, ValueError):
    """The question is empty, whitespace only, or longer than the documented limit."""


class ArticleError(KutipError, ValueError):
    """A file could not be read as an article (empty, not UTF-8, binary, too large, bad name)."""


class IndexMismatchError(KutipError):
    """The index was built with a different embedding model; rebuild with ``kutip ingest --rebuild``."""


class BackendUnavailableError(KutipError):
    """The LLM backend (Ollama) or vector store (Chroma server) cannot be reached or used."""


class ModelFileError(KutipError):
    """A packaged model could not be found or assembled, or its checksum does not match."""


class DataDirError(KutipError):
    """The data directory is missing and cannot be created, or is not writable."""


class PromptBudgetError(KutipError, ValueError):
    """The prompt (question plus the sentences shown) does not fit the model's context window."""


class CorpusError(KutipError):
    """The corpus folder is missing or holds no readable article, so the index cannot follow it."""


class FetchError(ArticleError):
    """A link could not be fetched as a web page (bad scheme, timeout, too large, HTTP error)."""
