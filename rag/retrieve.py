"""Question → scored sentences: dense (e5, ``query:`` prefix) and BM25 fused by weighted RRF.

BM25 over stemmed Indonesian is strong for Indonesian questions and nearly blind for English
ones, so its weight in the fusion depends on the question's language (``bm25_weight_id`` /
``bm25_weight_en``; measured on dev data: docs/reading.md). ``evaluation/tune_read.py`` reports
retrieval's own first rank on the dev sets, so it re-measures them under other ``KUTIP_BM25_WEIGHT_*``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Protocol

from pydantic import BaseModel

from .index import SentenceIndex, StoredSentence
from .query import Query, parse_query
from .settings import Settings
from .text import Language


class Hit(BaseModel):
    """A retrieved sentence with its scores."""

    sentence: StoredSentence
    score: float  # fused RRF score
    dense: float  # cosine similarity to the question (0 when not among the dense candidates)
    lexical: float  # BM25 score (0 when not among the lexical candidates)


class Retrieval(BaseModel):
    """What retrieval found for one question."""

    question: str
    language: Language
    hits: list[Hit]
    top_dense: float
    seconds: float


def _fused(
    index: SentenceIndex, question: str, settings: Settings, n: int, language: Language, article_ids: list[str] | None
) -> tuple[list[Hit], float]:
    """Every candidate for ``question`` as a ``Hit``, best first, and the top dense cosine."""
    vector = index.embedder.query(question)
    dense = index.dense(vector, n, article_ids)
    weight = settings.bm25_weight_id if language == "id" else settings.bm25_weight_en
    lexical = index.lexical(question, n, language) if weight > 0 else []
    if article_ids:
        allowed_set = set(article_ids)
        lexical = [(sid, s) for sid, s in lexical if sid.rsplit(":", 1)[0] in allowed_set]

    fused: dict[str, float] = {}
    for rank, (sentence, _) in enumerate(dense):
        fused[sentence.id] = fused.get(sentence.id, 0.0) + 1.0 / (settings.rrf_k + rank + 1)
    for rank, (sid, _) in enumerate(lexical):
        fused[sid] = fused.get(sid, 0.0) + weight / (settings.rrf_k + rank + 1)

    by_id = {s.id: s for s, _ in dense}
    cosine = {s.id: c for s, c in dense}
    bm25 = dict(lexical)
    missing = [sid for sid in fused if sid not in by_id]
    if missing:
        by_id.update(index.get(missing))
        for sid, (similarity, via_context) in index.cosines([sid for sid in missing if sid in by_id], vector).items():
            cosine[sid] = similarity
            by_id[sid] = by_id[sid].model_copy(update={"via_context": via_context})
    ranked = sorted((sid for sid in fused if sid in by_id), key=lambda sid: (-fused[sid], -cosine.get(sid, 0.0)))
    hits = [
        Hit(sentence=by_id[sid], score=fused[sid], dense=cosine.get(sid, 0.0), lexical=bm25.get(sid, 0.0))
        for sid in ranked
    ]
    return hits, max((c for _, c in dense), default=0.0)


def retrieve(
    index: SentenceIndex,
    query: Query | str,
    settings: Settings,
    *,
    top_k: int | None = None,
    article_ids: list[str] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Retrieval:
    """The ``top_k`` (default ``settings.top_k``) best sentences for ``query``, optionally limited
    to articles or a date range."""
    started = time.perf_counter()
    if isinstance(query, str):  # callers outside the answering pipeline (bench, tools) may pass text
        query = parse_query(query)
    k = top_k or settings.top_k
    n = max(settings.candidates, k)
    if date_from or date_to:
        allowed = [
            r.id
            for r in index.complete_articles().values()
            if r.published and (not date_from or r.published >= date_from) and (not date_to or r.published <= date_to)
        ]
        article_ids = [a for a in allowed if not article_ids or a in article_ids]
        if not article_ids:
            return Retrieval(
                question=query.standalone,
                language=query.language,
                hits=[],
                top_dense=0.0,
                seconds=time.perf_counter() - started,
            )
    ranked, top_dense = _fused(index, query.standalone, settings, n, query.language, article_ids)
    return Retrieval(
        question=query.standalone,
        language=query.language,
        hits=ranked[:k],
        top_dense=top_dense,
        seconds=time.perf_counter() - started,
    )


class PostRetrieval(Protocol):
    """A step after retrieval: takes the query and the hits, best first, returns the hits to read.
    ``QA`` applies its list of them in order (``Settings.post_retrieval``); a reranker is one more."""

    def __call__(self, query: Query, hits: list[Hit]) -> list[Hit]: ...


class Antecedents:
    """A hit found through its context vector ("Pabrik ini…") is followed by the sentence it refers
    back to, with the hit's scores, so the reader sees what "ini" stands for; each sentence once."""

    def __init__(self, index: SentenceIndex) -> None:
        self.index = index

    def __call__(self, query: Query, hits: list[Hit]) -> list[Hit]:
        wanted = [
            f"{h.sentence.article_id}:{h.sentence.index - 1}"
            for h in hits
            if h.sentence.via_context and h.sentence.index > 0
        ]
        have = {h.sentence.id for h in hits}
        extra = self.index.get([sid for sid in wanted if sid not in have])
        out: list[Hit] = []
        seen: set[str] = set()
        for h in hits:
            before = extra.get(f"{h.sentence.article_id}:{h.sentence.index - 1}") if h.sentence.via_context else None
            for hit in (h, h.model_copy(update={"sentence": before}) if before is not None else None):
                if hit is not None and hit.sentence.id not in seen:
                    seen.add(hit.sentence.id)
                    out.append(hit)
        return out


class NearBest:
    """Keep the ``at_least`` best hits and then only those whose cosine is within ``margin`` of the
    best one: when retrieval is sure, the model reads fewer sentences, and each sentence it does not
    read saves about 60 prompt tokens (most of the wait for the first token; docs/speed.md)."""

    def __init__(self, at_least: int, margin: float) -> None:
        self.at_least = at_least
        self.margin = margin

    def __call__(self, query: Query, hits: list[Hit]) -> list[Hit]:
        if not hits:
            return hits
        best = max(h.dense for h in hits)
        return [h for i, h in enumerate(hits) if i < self.at_least or h.dense >= best - self.margin]


# name -> how to build the step for an index: the one place a post-retrieval step is registered
POST_RETRIEVAL: dict[str, Callable[[SentenceIndex, Settings], PostRetrieval]] = {
    "near_best": lambda index, settings: NearBest(settings.read_at_least, settings.read_margin),
    "antecedents": lambda index, settings: Antecedents(index),
}


def post_retrieval_steps(index: SentenceIndex, settings: Settings) -> list[PostRetrieval]:
    """The steps ``settings.post_retrieval`` names, built for ``index``."""
    unknown = [name for name in settings.post_retrieval if name not in POST_RETRIEVAL]
    if unknown:
        raise ValueError(f"unknown post-retrieval step(s) {unknown}; known: {sorted(POST_RETRIEVAL)}")
    return [POST_RETRIEVAL[name](index, settings) for name in settings.post_retrieval]
