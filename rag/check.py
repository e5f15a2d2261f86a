"""Check the written answer against its evidence.

Only checks that rest on evidence are kept:
- a marker names a sentence that was chosen (and so shown), or the shown neighbour of a chosen
  sentence when only the two together state the claim; a claim without one is given the
  chosen sentence that carries its figures;
- every figure of a claim is in the sentence it cites or in that article's date, compared across
  notations (``10.000`` = ``10,000``; ``6 juta`` = ``6 million``; ``dua puluh`` = 20; ``60%`` =
  ``60 persen``);
- the model did not refuse ("NO_ANSWER").
A claim that fails is removed; an answer with no claim left abstains. (The answer-or-abstain
decision before writing is ``rag.decide``.)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from .corpus import split_sentences
from .index import StoredSentence
from .languages import Packs, packs
from .prompts import MARKER, strip_markers
from .query import Query
from .read import Reading
from .schema import Citation
from .text import numbers, stems

NO_ANSWER = "NO_ANSWER"


@lru_cache(maxsize=4)
def _refusal(languages: Packs) -> re.Pattern[str]:
    """The writer saying the sentences do not answer: the prompt's NO_ANSWER, or a general phrase
    of any language pack (``refusals``; not of a corpus)."""
    phrases = [r"NO[_ ]ANSWER", *(phrase for p in languages.all for phrase in p.refusals)]
    return re.compile("|".join(phrases), re.IGNORECASE)


def _refuses(raw: str, read_texts: Sequence[str]) -> bool:
    """Whether the writer says the sentences do not answer. A refusal phrase copied with its
    neighbouring words from a sentence that was read ("… pabrik yang tidak disebutkan lokasinya")
    is the evidence speaking, not a refusal; "Jumlahnya tidak disebutkan" is the writer's own."""
    text = " ".join(strip_markers(raw).split())
    for m in _refusal(packs()).finditer(text):
        before = text[: m.start()].split()[-1:]
        after = text[m.end() :].split()[:1]
        window = " ".join([*before, m.group(0), *after]).lower().strip(" .,;:!?")
        if not any(window in t for t in read_texts):
            return True
    return False


class Claim(BaseModel):
    """One sentence of the answer and the ids it cites."""

    text: str
    markers: list[str]


class Checked(BaseModel):
    """The answer after the check: renumbered text, its citations, what was removed and why it
    abstains (``None`` when it answers)."""

    text: str
    citations: list[Citation]
    removed: list[str] = []
    abstain_reason: str | None = None


def split_claims(answer: str) -> list[Claim]:
    """The answer's sentences, each with the markers it carries (a marker after a full stop
    belongs to the sentence before it)."""
    text = " ".join(answer.split())
    text = re.sub(r"([.!?])\s*((?:\[[^\]]{1,12}\]\s*)+)", lambda m: " " + m.group(2).strip() + m.group(1) + " ", text)
    claims = []
    for start, end in split_sentences(text.strip()):
        piece = text[start:end]
        markers = [x.strip() for m in MARKER.finditer(piece) for x in re.split(r"[,;]", m.group(1))]
        body = strip_markers(piece)
        if body:
            claims.append(Claim(text=body, markers=list(dict.fromkeys(markers))))
    return claims


_NAME = re.compile(r"(?<=[\s,(“\"'])([A-Z][\w-]{3,})")


def _names(claim: str) -> set[str]:
    """Capitalised words of a claim other than its first (proper names, lower-cased)."""
    return {m.group(1).lower() for m in _NAME.finditer(claim)}


def allowed_figures(sentence: StoredSentence) -> set[float]:
    """The figures a claim citing ``sentence`` may state: the sentence's and its article's date."""
    allowed = numbers(sentence.text)
    if sentence.published:
        d = sentence.published
        allowed |= {float(d.year), float(d.month), float(d.day)}
    return allowed


def _citation(sentence: StoredSentence, score: float) -> Citation:
    return Citation(**sentence.reference(), score=round(score, 4))


RULES = frozenset({"refusal", "figures", "names", "neighbours"})  # each can be ablated (evaluation/ablate_check.py)


def check(raw: str, query: Query, reading: Reading, rules: frozenset[str] = RULES) -> Checked:
    """The written answer (markers are the reading's ids) checked against the chosen sentences and
    renumbered ``[1]``, ``[2]`` … into its citations; claims whose figures no chosen sentence
    states are removed. Claims of a timeline, or of a figure question citing articles of
    different dates, are ordered by date (oldest first), and the figures carry their dates."""
    if not raw.strip():
        return Checked(text="", citations=[], abstain_reason="the model wrote nothing")
    read_texts = [c.sentence.text.lower() for c in reading.candidates]
    if "refusal" in rules and _refuses(raw, read_texts):
        return Checked(
            text="",
            citations=[],
            abstain_reason=f'the model found no answer in the sentences ("{" ".join(raw.split())[:200]}")',
        )
    shown = {c.letter: c.sentence for c in reading.candidates}
    chosen = {letter: shown[letter] for letter in reading.chosen}
    figures = {letter: allowed_figures(s) for letter, s in shown.items()}
    kept: list[tuple[Claim, list[str]]] = []
    removed: list[str] = []
    asked = query.standalone.lower()
    for claim in split_claims(raw):
        claim_figures = numbers(claim.text) if "figures" in rules else set()
        # a name the claim shares with a sentence that was read ("Hamhung") must be in the sentence it
        # cites: cited elsewhere, the claim does not rest on that sentence (names in no sentence read,
        # such as a translated "North", are no evidence either way)
        borrowed = (
            {n for n in _names(claim.text) if n not in asked and any(n in t for t in read_texts)}
            if "names" in rules
            else set()
        )

        def states(*ms: str, borrowed: set[str] = borrowed, claim_figures: set[float] = claim_figures) -> bool:
            """Whether the sentences ``ms`` together state the claim's figures and borrowed names."""
            text = " ".join(f"{shown[m].text} {shown[m].title}" for m in ms).lower()
            return claim_figures <= set().union(*(figures[m] for m in ms)) and all(n in text for n in borrowed)

        cited = [m for m in claim.markers if m in chosen and states(m)]
        if not cited:
            # no marker, or one whose sentence lacks the figures or names: the best chosen sentence that has them
            cited = [m for m in reading.chosen if states(m)][:1]
        if not cited and "neighbours" in rules:
            # the chosen sentence names the subject, the one after or before it in the same article
            # states the claim ("Rudal-rudal ini, dengan jangkauan 380 hingga 800 km"): cite both
            cited = next(
                (
                    [m, n]
                    for m in claim.markers or reading.chosen
                    if m in chosen
                    for n in _neighbours(m, shown)
                    if states(m, n)
                ),
                [],
            )
        if not cited:
            removed.append(claim.text)
            continue
        if not stems(claim.text) and not numbers(claim.text):
            continue  # "Ya." alone is kept only with what follows it
        kept.append((claim, cited))
    if not kept:
        quoted = "; ".join(f'"{c}"' for c in removed[:2])
        return Checked(
            text="",
            citations=[],
            removed=removed,
            abstain_reason=f"no chosen sentence states {quoted}" if quoted else "the answer says nothing",
        )
    dated = _dates_differ(query, [shown[c[0]] for _, c in kept])
    if query.timeline or dated and not query.parts:  # a timeline, or one figure as it changed: oldest first
        kept.sort(key=lambda kc: _oldest_first(shown[kc[1][0]]))
    citations: list[Citation] = []
    number: dict[str, int] = {}
    pieces: list[str] = []
    for claim, cited in kept:
        labels = []
        for letter in cited:
            if letter not in number:
                citations.append(_citation(shown[letter], reading.probs.get(letter, 0.0)))
                number[letter] = len(citations)
            labels.append(f"[{number[letter]}]")
        body = claim.text
        end = body[-1] if body[-1] in ".!?" else "."
        body = body.rstrip(".!? ")
        sentence = shown[cited[0]]
        if dated and sentence.published and sentence.published.isoformat() not in body:
            body += f" ({sentence.outlet + ', ' if sentence.outlet else ''}{sentence.published.isoformat()})"
        pieces.append(f"{body} {''.join(labels)}{end}")
    return Checked(text=" ".join(pieces), citations=citations, removed=removed)


def _neighbours(letter: str, shown: dict[str, StoredSentence]) -> list[str]:
    """The shown sentences right before and after ``letter``'s in its article."""
    at = shown[letter]
    return [k for k, s in shown.items() if s.article_id == at.article_id and abs(s.index - at.index) == 1]


_FAR = __import__("datetime").date(9999, 1, 1)


def _oldest_first(sentence: StoredSentence) -> tuple[Any, str, int]:
    return (sentence.published or _FAR, sentence.article_id, sentence.index)


def numbering_order(query: Query, reading: Reading) -> list[str]:
    """The chosen ids in the order ``check`` will number them when it orders the claims by date (a
    timeline, or a figure whose chosen sentences are of different dates): oldest first. Otherwise
    [] (they are numbered as first cited), so a stream can number its markers as the answer will."""
    chosen = [reading.candidate(letter).sentence for letter in reading.chosen]
    if not (query.timeline or _dates_differ(query, chosen) and not query.parts):
        return []
    return sorted(reading.chosen, key=lambda letter: _oldest_first(reading.candidate(letter).sentence))


def _dates_differ(query: Query, cited: Sequence[StoredSentence]) -> bool:
    """Claims with figures resting on articles of different dates are given each with its date."""
    if query.asks != "figure" and not query.timeline:
        return False
    dates = {s.published for s in cited if s.published}
    return len(dates) >= 2
