"""The public contract: what ``ask`` returns (pydantic, JSON-serialisable)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field

from .text import Language


class SentenceRef(BaseModel):
    """An indexed sentence and what a reader needs to find it in its article."""

    article_id: str
    sentence_index: int
    sentence: str = Field(description="The exact sentence text as stored in the index.")
    title: str
    outlet: str | None = None
    published: date | None = None
    source: str | None = Field(
        None, description="The article's file (path in the corpus folder) or the link it came from."
    )


class Citation(SentenceRef):
    """One cited sentence; ``[n]`` in ``Answer.text`` refers to ``Answer.citations[n-1]``."""

    score: float = Field(
        description="How strongly the model chose this sentence as evidence (renormalised probability, 0..1)."
    )


class Considered(BaseModel):
    """A retrieved sentence the model read, and how strongly it chose it as evidence."""

    article_id: str
    sentence_index: int
    rank: int = Field(description="Retrieval rank, 0 = best.")
    probability: float = Field(description="The model's renormalised probability that this sentence answers.")
    chosen: bool = False


class Timings(BaseModel):
    """Where the seconds of one answer went, stage by stage, with the token counts that explain
    them (``kutip bench`` sets them beside the machine's floor)."""

    retrieval_s: float = 0.0
    read_s: float = Field(0.0, description="Reading: the prompt's new tokens decoded, and the choice read off.")
    prompt_tokens: int | None = Field(
        None,
        description="Prompt tokens decoded for the reading (not the cached prefix); None: the backend does not say.",
    )
    decide_s: float = 0.0
    write_s: float = Field(0.0, description="Writing, from the request to the last token.")
    answer_tokens: int = Field(0, description="Pieces the model wrote (one per token with llama.cpp).")
    check_s: float = 0.0
    first_token_s: float | None = None
    total_s: float = 0.0


class Source(SentenceRef):
    """A retrieved sentence shown to the model."""

    rank: int = Field(description="Retrieval rank, 0 = best.")


class Retrieved(BaseModel):
    """``stream``'s first event, as soon as retrieval returns: the sentences the model is about to
    read, grouped by article in the order it reads them."""

    kind: Literal["retrieved"] = "retrieved"
    sentences: list[Source]


class Chosen(BaseModel):
    """``stream``'s event once the model has chosen its evidence and kutip decided to answer: the
    sentences it writes from (the check may cite fewer)."""

    kind: Literal["chosen"] = "chosen"
    sentences: list[Source]


class Answer(BaseModel):
    """A cited answer, or an abstention (``abstained=True``, no citations)."""

    question: str
    standalone_question: str | None = Field(None, description="The follow-up rewritten with history, if any.")
    text: str
    citations: list[Citation] = []
    abstained: bool = False
    language: Language
    model: str
    timings: Timings = Timings()
    removed_claims: list[str] = Field([], description="Claims dropped because no shown sentence supports them.")
    abstain_reason: str | None = Field(None, description="Why kutip abstained (None when it answered).")
    p_none: float | None = Field(
        None, description="The model's probability that no retrieved sentence answers (None when it was not asked)."
    )
    p_unanswerable: float | None = Field(
        None, description="The trained probe's probability that the sentences read do not answer (None: no probe)."
    )
    decided_by: Literal["probe", "p_none", "retrieval"] | None = Field(
        None,
        description="What decided to answer or abstain: the trained probe, P(none) alone, or retrieval finding "
        "nothing close enough (rag.decide).",
    )
    considered: list[Considered] = Field([], description="Every sentence the model read, in the order shown.")
    written: str | None = Field(None, description="What the model wrote, before the check (None: nothing was written).")
    copied: bool = Field(False, description="The answer was written as a span copied from its sentence (rag.write).")


StreamEvent = str | Retrieved | Chosen | Answer
"""What ``stream`` yields: ``Retrieved`` first, then ``Chosen`` (when kutip answers), the answer's
text pieces (markers already numbered as in the ``Answer``), and the checked ``Answer`` last."""
