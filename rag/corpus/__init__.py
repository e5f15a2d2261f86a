"""Files → articles → sentences.

``load_corpus(folder)`` reads every article file under ``folder`` through ``rag.readers.READERS``
(``.txt``, ``.md``, ``.html``, ``.htm``, ``.pdf``), removes the page furniture that is not the article,
finds the title, outlet and publication date (the format's own metadata first, then general rules on
the text), detects each article's language, and splits the clean text into sentences with character
offsets. One module per concern, so each can be read and changed alone: ``files`` (files, ids,
loading), ``furniture``, ``dateline`` (and outlet), ``dates``, ``sentences`` (cleaning and splitting),
``article`` (the models). The names below are the ones the rest of kutip imports.
"""

from __future__ import annotations

from ..readers import MAX_ARTICLE_BYTES
from .article import Article, Sentence
from .dateline import find_outlet
from .dates import parse_date
from .files import (
    ARTICLE_SUFFIXES,
    article_id_for,
    corpus_files,
    corpus_ids,
    load_article,
    load_corpus,
    load_corpus_report,
    save_link,
)
from .furniture import _drop_image_credit as _drop_image_credit  # tests reach these two
from .sentences import (
    ABBREVIATIONS,
    MAX_SENTENCE_CHARS,
    parse_article,
    split_sentences,
)
from .sentences import _quote_depths as _quote_depths

__all__ = [
    "ABBREVIATIONS",
    "ARTICLE_SUFFIXES",
    "MAX_ARTICLE_BYTES",
    "MAX_SENTENCE_CHARS",
    "Article",
    "Sentence",
    "article_id_for",
    "corpus_files",
    "corpus_ids",
    "find_outlet",
    "load_article",
    "load_corpus",
    "load_corpus_report",
    "parse_article",
    "parse_date",
    "save_link",
    "split_sentences",
]
