"""Read: the model chooses which retrieved sentences answer the question, or none of them.

The candidates are shown with single-letter ids under their article's title, outlet and date; the
answer turn opens with ``Evidence:`` and the model's next-token distribution, renormalised over the
allowed ids and ``none`` (``rag.llm.choose``: llama.cpp logits, or a server's ``logprobs``),
gives in one decode step the ranking, the chosen set and P(none). The writing continues the same
turn in the same context ("Evidence: B, D\\nAnswer: …"), so the candidates are processed once.

The choice is calibrated before it is trusted: a small model shown several sentences favours some
positions whatever they hold, so the retrieval rank enters as a prior (``read_rank_prior``) and the
candidates can be shown best-last (``read_order``); both chosen on dev data (docs/reading.md).
These and the other values that shape the reading are ``ReadingPolicy``: fixed behaviour, not
settings; the evaluation tools and tests vary them to measure a variant.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from llama_index.core.base.llms.types import ChatMessage, MessageRole
from pydantic import BaseModel, ConfigDict, Field

from .index import StoredSentence
from .languages import pack
from .prompts import fixed_messages, one_line, prompt_text, short_title
from .query import Query
from .text import counted_figures, holds_time, stems

LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I or O: they read as 1 and 0
NONE = "none"
EVIDENCE = "Evidence:"
ANSWER = "Answer:"

ReadOrder = Literal["best-first", "best-last"]


class ReadingPolicy(BaseModel):
    """How kutip reads and what evidence it writes from: fixed behaviour of the product, each value
    chosen on dev data (docs/reading.md), not a ``KUTIP_*`` setting. The evaluation tools and tests
    vary it to measure a variant: ``QA(settings, policy=ReadingPolicy(answer_parts=False))``,
    ``kutip eval --policy answer_parts=false``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    read_order: ReadOrder = "best-first"
    """Where the best-retrieved article's sentences stand in the prompt; best-last is measured with evaluation/tune_read.py --orders (docs/reading.md)."""
    read_rank_prior: float = Field(1.0, ge=0)
    """Weight of the retrieval-rank prior on the choice; tuned on id-dev and the dev split, where the first choice is gold most often at 1 (docs/reading.md, "Choosing")."""
    select_ratio: float = Field(0.5, gt=0, le=1)
    """Chosen: calibrated probability at least this share of the best one's; fixed before the dev runs, not tuned (docs/reading.md, "Choosing")."""
    max_chosen: int = Field(1, ge=1, le=8)
    """Most sentences chosen for a one-fact question; fixed before the dev runs, not tuned (docs/reading.md, "Choosing")."""
    max_chosen_many: int = Field(4, ge=1, le=8)
    """Most sentences chosen for a list, open, two-part or timeline question; fixed before the dev runs, not tuned (docs/reading.md, "Choosing")."""
    answer_parts: bool = True
    """A two-part question is also read part by part (``rag.qa.QA.read_parts``); measured on the dev split, where it gains and no answer got worse (docs/reading.md)."""
    differing_figures: bool = True
    """A how-many question's evidence also takes the other figures of the same thing (``differing_figures``); measured on the dev split (gains) and id-dev (unchanged) (docs/reading.md)."""
    copy_spans: bool = True
    """A one-fact answer from one sentence in the question's language is a span copied from it (llama.cpp); measured on id-dev and the dev split (docs/writing.md, "Copied spans")."""


class Candidate(BaseModel):
    """A retrieved sentence as shown to the model under ``letter``."""

    letter: str
    sentence: StoredSentence
    rank: int  # retrieval rank, 0 = best
    dense: float = 0.0


class Reading(BaseModel):
    """What the model chose: per-id probabilities (renormalised over the ids and ``none``), P(none),
    the calibrated ranking of the ids, and the ids chosen to write from (best first)."""

    candidates: list[Candidate]
    probs: dict[str, float]
    p_none: float
    ranking: list[str]
    chosen: list[str]
    cite_each: list[str] = []  # ids the answer must each cite: figures of one thing that differ
    states: dict[str, Any] = Field(default_factory=dict, repr=False)  # hidden states (rag.hidden), if read

    def candidate(self, letter: str) -> Candidate:
        return next(c for c in self.candidates if c.letter == letter)

    @property
    def chosen_sentences(self) -> list[StoredSentence]:
        return [self.candidate(letter).sentence for letter in self.chosen]


def number_candidates(sentences: Sequence[StoredSentence], dense: Sequence[float] | None = None) -> list[Candidate]:
    """Give the retrieved sentences (best first) their letters: grouped by article (articles in order
    of their best sentence, sentences in text order), so a reader sees each article's sentences together."""
    dense = list(dense or [0.0] * len(sentences))
    rank = {s.id: i for i, s in enumerate(sentences)}
    order: dict[str, int] = {}
    for s in sentences:
        order.setdefault(s.article_id, len(order))
    grouped = sorted(sentences, key=lambda s: (order[s.article_id], s.index))
    return [
        Candidate(letter=LETTERS[i], sentence=s, rank=rank[s.id], dense=dense[rank[s.id]])
        for i, s in enumerate(grouped)
    ]


def format_candidates(candidates: Sequence[Candidate], order: ReadOrder = "best-first") -> str:
    """The candidates under ``## title — outlet, date`` headers, ``[A] sentence`` lines."""
    groups: dict[str, list[Candidate]] = {}
    for c in candidates:
        groups.setdefault(c.sentence.article_id, []).append(c)
    blocks = list(groups.values())
    if order == "best-last":
        blocks.reverse()
    lines: list[str] = []
    for block in blocks:
        s = block[0].sentence
        meta = ", ".join(x for x in (s.outlet, s.published.isoformat() if s.published else None) if x)
        lines.append(f"## {short_title(s.title)}" + (f" — {meta}" if meta else ""))
        lines.extend(f"[{c.letter}] {one_line(c.sentence.text)}" for c in block)
    return "\n".join(lines)


def read_messages(
    prompts_dir: Path, query: Query, candidates: Sequence[Candidate], order: ReadOrder = "best-first"
) -> list[ChatMessage]:
    """The fixed prefix (rules, worked examples), the candidates and the question, and the answer
    turn opened with ``Evidence:`` for the model to continue."""
    user = prompt_text(prompts_dir, "question.txt").format(
        context=format_candidates(candidates, order),
        question=one_line(query.standalone),
        language_name=pack(query.language).name,
    )
    return [
        *fixed_messages(prompts_dir),
        ChatMessage(role=MessageRole.USER, content=user),
        ChatMessage(role=MessageRole.ASSISTANT, content=EVIDENCE),
    ]


def options(candidates: Sequence[Candidate]) -> list[str]:
    """The continuations of ``Evidence:`` the model may choose from."""
    return [f" {c.letter}" for c in candidates] + [f" {NONE}"]


def calibrate(
    probs: dict[str, float], candidates: Sequence[Candidate], rank_prior: float, select_ratio: float, max_chosen: int
) -> tuple[list[str], list[str]]:
    """(ranking, chosen): the ids ordered by log P(id) + ``rank_prior`` * log(1 / (rank + 1)), and
    those whose calibrated probability is at least ``select_ratio`` of the best one (at most
    ``max_chosen``, the best always)."""
    scored = {
        c.letter: math.log(max(probs.get(c.letter, 0.0), 1e-12)) - rank_prior * math.log(c.rank + 1.0)
        for c in candidates
    }
    ranking = sorted(scored, key=lambda k: -scored[k])
    if not ranking:
        return [], []
    best = scored[ranking[0]]
    chosen = [k for k in ranking if scored[k] >= best + math.log(select_ratio)][:max_chosen]
    return ranking, chosen


def read(
    choose: Any,
    prompts_dir: Path,
    query: Query,
    candidates: Sequence[Candidate],
    policy: ReadingPolicy | None = None,
) -> tuple[Reading, list[ChatMessage]]:
    """Ask the model which candidates answer ``query`` (``choose(messages, options) -> probs``),
    shown and calibrated as ``policy`` says (default: the product's ``ReadingPolicy()``). Returns
    the reading and the messages it was read from (the writing continues them)."""
    policy = policy or ReadingPolicy()
    messages = read_messages(prompts_dir, query, candidates, policy.read_order)
    raw = choose(messages, options(candidates))
    probs = {k.strip(): v for k, v in raw.items()}
    max_chosen = policy.max_chosen_many if query.many else policy.max_chosen
    ranking, chosen = calibrate(probs, candidates, policy.read_rank_prior, policy.select_ratio, max_chosen)
    reading = Reading(
        candidates=list(candidates), probs=probs, p_none=probs.get(NONE, 0.0), ranking=ranking, chosen=chosen
    )
    return reading, messages


def differing_figures(query: Query, reading: Reading, max_chosen: int) -> Reading:
    """A how-many question's evidence widened to the candidates that state *another* figure of
    the same thing ("sekitar 6.700 kontainer" beside the chosen "lebih dari 13.000 kontainer"):
    sources that disagree, or one article over time, so the answer gives each figure with its
    sentence (and its date, ``rag.check``) instead of one of them as the answer.

    The thing is the question's counted word ("Berapa kontainer …"); a question in another
    language than the chosen sentence cannot name it in the sentence's words, so there it is the
    word after the chosen sentence's figure. A candidate must also be about what the question
    asks as much as half as the chosen sentence is (its words shared with the question): "5
    kecamatan" of another town is another count, not a disagreement. A question that names a
    time ("pada tahun 2021", "by February") asks for the figure of that time only; a yes/no
    question about a count ("Apakah artikel-artikel sepakat tentang jumlah tentara …?", "Did the
    count of … change between February and …?") is widened whatever time it names: it asks how
    the figures compare. A question of several parts is read part by part instead (``QA.read_parts``)."""
    compares = query.asks == "yesno" or query.asks == "figure" and not holds_time(query.standalone)
    if not compares or not query.counted or query.parts or not reading.chosen:
        return reading
    first = reading.candidate(reading.chosen[0]).sentence
    stated = {f for x in reading.chosen for f in counted_figures(reading.candidate(x).sentence.text, first.language)}
    if first.language == query.language:
        thing = {stems(query.counted, drop_stopwords=False, language=query.language)[0]}
    else:
        thing = {noun for _, noun in stated}
    values = {value for value, noun in stated if noun in thing}
    if not values:
        return reading
    asked = set(stems(query.standalone, language=query.language)) - thing

    def about(sentence: StoredSentence) -> int:
        return len(asked & set(stems(sentence.text, language=sentence.language)))

    def figures_of_thing(letter: str) -> set[float]:
        sentence = reading.candidate(letter).sentence
        return {value for value, noun in counted_figures(sentence.text, sentence.language) if noun in thing}

    needed = about(first) / 2
    chosen = list(reading.chosen)
    for letter in reading.ranking:
        if len(chosen) >= max_chosen:
            break
        if letter in chosen or about(reading.candidate(letter).sentence) < needed:
            continue
        other = figures_of_thing(letter)
        if other - values:
            chosen.append(letter)
            values |= other
    if len(chosen) == len(reading.chosen):
        return reading
    each = [letter for letter in chosen if figures_of_thing(letter)]  # the answer gives every figure
    return reading.model_copy(update={"chosen": chosen, "cite_each": each})
