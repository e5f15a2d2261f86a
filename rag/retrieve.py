"""Question → scored sentences: dense (e5, ``query:`` prefix) and BM25 fused by weighted RRF.

BM25 over stemmed Indonesian is strong for Indonesian questions and nearly blind for English
ones, so its weight in the fusion depends on the question's language (``bm25_weight_id`` /
``bm25_weight_en``, measured by ``scripts/tune.py``).
"""

from __future__ import annotations

import time
from datetime import date

from pydantic import BaseModel

from .index import SentenceIndex, StoredSentence
from .settings import Settings
from .text import Language, asks_for, detect_language, quantities, question_parts


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
    lexical = index.lexical(question, n) if weight > 0 else []
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
    hits = [Hit(sentence=by_id[sid], score=fused[sid], dense=cosine.get(sid, 0.0), lexical=bm25.get(sid, 0.0)) for sid in ranked]
    return hits, max((c for _, c in dense), default=0.0)


def retrieve(
    index: SentenceIndex,
    question: str,
    settings: Settings,
    *,
    top_k: int | None = None,
    article_ids: list[str] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    language: Language | None = None,
    figure_depth: int | None = None,
    by_part: bool | None = None,
) -> Retrieval:
    """The ``top_k`` best sentences for ``question``, optionally limited to articles or dates, and
    the sentences the settings add to them (``figure_depth``, ``by_part``; pass 0 / False for the
    plain ranking).

    With ``by_part``, a question that asks two things ("…, and when did …?") also gets the best
    sentence for each part on its own, when that is not among the top ones already.
    With ``figure_depth``, a how-many question also gets the best-ranked sentence among the next
    ``figure_depth`` that gives a different figure for something a top sentence counts ("6.700
    kontainer" below "13.000 kontainer"), so that sources that disagree are both shown."""
    started = time.perf_counter()
    language = language or detect_language(question)
    k = top_k or settings.top_k
    n = max(settings.candidates, k)
    figure_depth = settings.figure_depth if figure_depth is None else figure_depth
    by_part = settings.by_part if by_part is None else by_part

    if date_from or date_to:
        allowed = [
            r.id for r in index.complete_articles().values()
            if r.published and (not date_from or r.published >= date_from) and (not date_to or r.published <= date_to)
        ]
        article_ids = [a for a in allowed if not article_ids or a in article_ids]
        if not article_ids:
            return Retrieval(question=question, language=language, hits=[], top_dense=0.0, seconds=time.perf_counter() - started)

    ranked, top_dense = _fused(index, question, settings, n, language, article_ids)
    hits = ranked[:k]
    for part in question_parts(question) if by_part else []:
        chosen = {h.sentence.id for h in hits}
        best = next((h for h in _fused(index, part, settings, n, language, article_ids)[0][:k] if h.sentence.id not in chosen), None)
        if best is not None:
            hits.append(best)
    if figure_depth and asks_for(question) == "quantity":
        chosen = {h.sentence.id for h in hits}
        later = [h for h in ranked[k : k + figure_depth] if h.sentence.id not in chosen]
        extra = {s.id for s in other_figures([h.sentence for h in hits], [h.sentence for h in later])}
        hits += [h for h in later if h.sentence.id in extra]
    return Retrieval(question=question, language=language, hits=hits, top_dense=top_dense, seconds=time.perf_counter() - started)


def other_figures(top: list[StoredSentence], later: list[StoredSentence], limit: int = 1) -> list[StoredSentence]:
    """Up to ``limit`` sentences from ``later`` (best first) that count the same thing as a sentence
    in ``top`` with a different figure (same unit stem, other value)."""
    figures = {(unit, value) for s in top for unit, value, _ in quantities(s.text)}
    units = {unit for unit, _ in figures}
    found: list[StoredSentence] = []
    for s in later:
        if len(found) >= limit:
            break
        new = [(unit, value) for unit, value, _ in quantities(s.text) if unit in units and (unit, value) not in figures]
        if new:
            found.append(s)
            figures.update(new)
    return found


def with_neighbours(index: SentenceIndex, hits: list[Hit], window: int) -> list[StoredSentence]:
    """The hit sentences plus ``window`` neighbours on each side, and the previous sentence of a hit
    that was found through its context vector (it refers back to that sentence: "Pabrik ini…"), each once."""
    wanted: dict[str, StoredSentence] = {h.sentence.id: h.sentence for h in hits}
    extra = [
        f"{h.sentence.article_id}:{i}"
        for h in hits
        for i in range(h.sentence.index - window, h.sentence.index + window + 1)
        if i >= 0 and i != h.sentence.index
    ]
    extra += [f"{h.sentence.article_id}:{h.sentence.index - 1}" for h in hits if h.sentence.via_context and h.sentence.index > 0]
    wanted.update(index.get([sid for sid in extra if sid not in wanted]))
    return list(wanted.values())
