"""Check every ``[n]`` against the sentence it names; re-attribute, drop, or abstain.

A claim (one sentence of the answer) is supported by a shown sentence when
1. every number in the claim appears in the sentence (or its article's date), compared across
   notations (``10.000`` = ``10,000`` = ``10000``; ``6 juta`` = ``6 million``), and in an answer to
   an Indonesian question, what the number counts ("5.000 *pekerja*") is named in the sentence too,
2. every proper name in the claim appears (fuzzily, or through a small English–Indonesian
   geography glossary) in the shown sentences or the question — no names from nowhere, and
3. the two mean the same thing: multilingual e5 cosine ≥ ``support_threshold`` (works across
   Indonesian and English), or at least half of the claim's stemmed content words are in the
   sentence (same-language paraphrase).
Markers naming unsupported sentences move to the best supporting shown sentence, or are dropped;
claims with no support are removed; an answer with no supported claim abstains. Citations can
only name sentences that were shown to the model, which are sentences read from the index.

Supported claims can still miss the question: ``misfit`` rejects a how-many answer without a figure
or without the thing counted ("Berapa kontainer …" answered with "6 juta peluru"), a when answer
without a time, and an answer about another year than the one asked about.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

from .answer import MARKER, Numbered, short_title, strip_markers
from .corpus import split_sentences
from .models import Embedder
from .schema import Citation
from .text import (
    EN_STOPWORDS, ID_STOPWORDS, asks_for, counted_noun, detect_language, numbers, quantities, refers_back, stems, with_antecedent, words,
)

# English names whose Indonesian form differs (general geography, not corpus-specific)
NAME_GLOSSARY = {
    "us": ("as", "amerika"), "usa": ("as", "amerika"), "america": ("amerika",), "american": ("amerika", "as"),
    "united": ("amerika", "serikat"), "states": ("serikat",), "north": ("utara", "korut"), "south": ("selatan", "korsel"),
    "korean": ("korea",), "russian": ("rusia",), "ukrainian": ("ukraina",), "chinese": ("china", "tiongkok"),
    "china": ("tiongkok", "china", "cina"), "japan": ("jepang",), "japanese": ("jepang",), "france": ("prancis", "perancis"),
    "germany": ("jerman",), "britain": ("inggris",), "british": ("inggris",), "uk": ("inggris",), "england": ("inggris",),
    "netherlands": ("belanda",), "turkey": ("turki",), "egypt": ("mesir",), "saudi": ("saudi",), "philippines": ("filipina",),
    "singapore": ("singapura",), "europe": ("eropa",), "european": ("eropa",), "moscow": ("moskow",),
    "pyongyang": ("pyongyang",), "seoul": ("seoul",), "february": ("februari",), "august": ("agustus",),
    "october": ("oktober",), "june": ("juni",), "july": ("juli",), "may": ("mei",), "march": ("maret",),
    "january": ("januari",), "april": ("april",), "september": ("september",), "november": ("november",),
    "december": ("desember",), "air": ("udara",), "force": ("angkatan",), "ministry": ("kementerian",),
    "minister": ("menteri",), "president": ("presiden",), "agency": ("badan",), "intelligence": ("intelijen",),
    "defense": ("pertahanan",), "defence": ("pertahanan",),
}
_NAME = re.compile(r"(?<![\w-])[A-Z][\w]*(?:-[\w]+)*")


def names(text: str) -> set[str]:
    """Capitalised words that are not function words: the proper names a claim asserts."""
    found = set()
    for m in _NAME.finditer(text):
        token = m.group().lower()
        if token not in ID_STOPWORDS and token not in EN_STOPWORDS and len(token) > 1:
            found.add(token)
    return found


def _name_known(name: str, vocabulary: set[str]) -> bool:
    from difflib import SequenceMatcher

    candidates = {name, *NAME_GLOSSARY.get(name, ())}
    for c in candidates:
        if c in vocabulary:
            return True
        if len(c) >= 4 and any(
            abs(len(v) - len(c)) <= 2 and SequenceMatcher(None, c, v).ratio() >= 0.8 for v in vocabulary
        ):
            return True
    return False


class Claim(BaseModel):
    """One sentence of the model's answer and the prompt numbers it cites."""

    text: str
    markers: list[int]


class Checked(BaseModel):
    """The answer after the citation check."""

    text: str
    citations: list[Citation]
    removed: list[str]
    moved: int = 0
    dropped: int = 0


def split_claims(answer: str) -> list[Claim]:
    """Split an answer into claims, attaching markers that trail a full stop to that claim."""
    text = " ".join(answer.split())
    _m = r"\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\]"
    if re.match(_m, text):
        # "[1] claim one [2] claim two" (markers before their claims) -> "claim one [1]. claim two [2]."
        parts = re.split(f"({_m})", text)
        rewritten = []
        for marker, body in zip(parts[1::2], parts[2::2]):
            body = body.strip().rstrip(".;")
            if body:
                rewritten.append(f"{body} {marker}.")
            elif rewritten:
                rewritten[-1] = rewritten[-1][:-1] + marker + "."
        text = " ".join(rewritten)
    # "claim. [2]" -> "claim [2]." so the marker stays with its claim
    text = re.sub(r"([.!?])\s*((?:\[\d{1,3}(?:\s*[,;]\s*\d{1,3})*\]\s*)+)", lambda m: " " + m.group(2).strip() + m.group(1) + " ", text)
    claims = []
    for start, end in split_sentences(text.strip()):
        piece = text[start:end]
        markers = [int(x) for m in MARKER.finditer(piece) for x in re.split(r"[,;]\s*", m.group(1))]
        body = strip_markers(piece)
        if body:
            claims.append(Claim(text=body, markers=list(dict.fromkeys(markers))))
    return claims


def _allowed_numbers(item: Numbered) -> set[float]:
    allowed = numbers(item.sentence.text)
    if item.sentence.published:
        d = item.sentence.published
        allowed |= {float(d.year), float(d.month), float(d.day)}
    return allowed


def _has_content(claim: str) -> bool:
    return len(stems(claim)) >= 2 or bool(numbers(claim))


class CitationChecker:
    """Scores claim/sentence support and rewrites an answer so every marker is earned."""

    def __init__(
        self, embedder: Embedder, support_threshold: float, overlap_threshold: float = 0.5, support_margin: float | None = None
    ) -> None:
        self.embedder = embedder
        self.support_threshold = support_threshold
        self.overlap_threshold = overlap_threshold
        self.support_margin = support_margin

    def support_matrix(
        self, claims: Sequence[str], shown: Sequence[Numbered], question: str = ""
    ) -> tuple[np.ndarray, np.ndarray]:
        """(cosine, supported) matrices of shape (claims, shown sentences)."""
        if not claims or not shown:
            empty = np.zeros((len(claims), len(shown)))
            return empty, empty.astype(bool)
        claim_vecs = self.embedder.queries(list(claims))
        sent_vecs = self.embedder.passages([item.sentence.text for item in shown])
        cos = claim_vecs @ sent_vecs.T
        # a sentence that refers back ("Rudal-rudal ini…") means what it says together with the
        # sentence before it, when that was shown too: its meaning is also judged in that context,
        # but only where it adds to what the sentence before says alone (else the claim is that
        # sentence's, and the marker belongs there); its numbers still have to be its own
        position = {(item.sentence.article_id, item.sentence.index): j for j, item in enumerate(shown)}
        in_context = [
            (j, position[(item.sentence.article_id, item.sentence.index - 1)])
            for j, item in enumerate(shown)
            if refers_back(item.sentence.text) and (item.sentence.article_id, item.sentence.index - 1) in position
        ]
        if in_context:
            joined = self.embedder.passages([with_antecedent(shown[p].sentence.text, shown[j].sentence.text) for j, p in in_context])
            own = cos.copy()
            for (j, previous), vec in zip(in_context, joined):
                together = claim_vecs @ vec
                cos[:, j] = np.where(together > own[:, previous], np.maximum(own[:, j], together), own[:, j])
        ok = np.zeros_like(cos, dtype=bool)
        sent_stems = [set(stems(item.sentence.text)) for item in shown]
        allowed = [_allowed_numbers(item) for item in shown]
        # names must come from the shown sentences or the question, never from nowhere
        context_words = set(words(question)).union(
            *(words(f"{item.sentence.text} {item.sentence.title} {item.sentence.outlet or ''}") for item in shown)
        )
        previous = {j: p for j, p in in_context}
        indonesian_question = bool(question) and detect_language(question) == "id"
        for i, claim in enumerate(claims):
            claim_numbers = numbers(claim)
            claim_stems = set(stems(claim))
            counted = counted_things(claim) if indonesian_question else set()
            if not all(_name_known(n, context_words) for n in names(claim)):
                continue  # a name from nowhere: no shown sentence supports this claim
            # a sentence can state the claim only if it has the claim's numbers and, in Indonesian,
            # names what they count ("5.000 pekerja" cannot rest on a sentence whose 5.000 counts soldiers)
            could_state = [
                claim_numbers <= allowed[j]
                and counted <= sent_stems[j] | (sent_stems[previous[j]] if j in previous else set())
                for j in range(len(shown))
            ]
            for j in range(len(shown)):
                if could_state[j]:
                    overlap = len(claim_stems & sent_stems[j]) / max(1, len(claim_stems))
                    ok[i, j] = cos[i, j] >= self.support_threshold or overlap >= self.overlap_threshold
            if self.support_margin is not None and ok[i].any():
                # e5 similarities sit in a narrow band: a sentence supports the claim only when it is
                # (nearly) as close to it as the closest shown sentence that could state it
                best = max(cos[i, j] for j in range(len(shown)) if could_state[j])
                ok[i] &= cos[i] >= best - self.support_margin
        return cos, ok

    def check(self, answer: str, shown: Sequence[Numbered], question: str = "") -> Checked:
        """Rewrite ``answer`` (markers numbered as in the prompt) into a checked, renumbered answer."""
        claims = split_claims(answer)
        by_n = {item.n: j for j, item in enumerate(shown)}
        cos, ok = self.support_matrix([c.text for c in claims], shown, question)
        citations: list[Citation] = []
        cited_index: dict[int, int] = {}  # shown position -> citation number
        kept: list[str] = []
        removed: list[str] = []
        moved = dropped = 0
        for i, claim in enumerate(claims):
            positions = [by_n[n] for n in claim.markers if n in by_n]
            good = [j for j in positions if ok[i, j]]
            dropped += len(claim.markers) - len(good)
            if not good and ok[i].any():
                good = [int(np.argmax(np.where(ok[i], cos[i], -1.0)))]
                moved += 1
            if not good:
                if _has_content(claim.text):
                    removed.append(claim.text)
                continue
            labels = []
            for j in good:
                if j not in cited_index:
                    item = shown[j].sentence
                    citations.append(
                        Citation(
                            article_id=item.article_id,
                            sentence_index=item.index,
                            sentence=item.text,
                            title=item.title,
                            outlet=item.outlet,
                            published=item.published,
                            score=round(float(cos[i, j]), 4),
                        )
                    )
                    cited_index[j] = len(citations)
                labels.append(f"[{cited_index[j]}]")
            body = claim.text
            end = body[-1] if body[-1] in ".!?" else "."
            body = body.rstrip(".!? ")
            kept.append(f"{body} {''.join(labels)}{end}")
        return Checked(text=" ".join(kept), citations=citations, removed=removed, moved=moved, dropped=dropped)


def counted_things(claim: str) -> set[str]:
    """Stems of what an Indonesian claim counts ("5.000 pekerja" -> {"kerja"}); empty for English
    claims, whose nouns cannot be matched word for word against Indonesian sentences (the caller
    also applies it only to answers to Indonesian questions)."""
    if detect_language(claim) != "id":
        return set()
    return {unit for unit, _, _ in quantities(claim)}


def add_disagreements(checked: Checked, shown: Sequence[Numbered], note_templates: dict[str, str], language: str, limit: int = 2) -> Checked:
    """When a cited figure ("10.000 tentara") differs from the same kind of figure in another shown
    sentence ("15.000 tentara"), append that figure with its own citation, source and date."""
    cited_keys = {(c.article_id, c.sentence_index) for c in checked.citations}
    stated = numbers(strip_markers(checked.text))  # only figures the answer gives: not every number in a cited sentence
    cited_figures = {(unit, value) for c in checked.citations for unit, value, _ in quantities(c.sentence) if value in stated}
    cited_units = {unit for unit, _ in cited_figures}
    notes = []
    citations = list(checked.citations)
    for item in shown:
        s = item.sentence
        if (s.article_id, s.index) in cited_keys or len(notes) >= limit:
            continue
        for unit, value, written in quantities(s.text):
            if unit in cited_units and (unit, value) not in cited_figures:
                citations.append(
                    Citation(article_id=s.article_id, sentence_index=s.index, sentence=s.text, title=s.title,
                             outlet=s.outlet, published=s.published, score=1.0)
                )
                source = ", ".join(x for x in (s.outlet or short_title(s.title, 40), s.published.isoformat() if s.published else None) if x)
                notes.append(note_templates[language].format(source=source, figure=written, n=len(citations)))
                cited_figures.add((unit, value))
                break
    if not notes:
        return checked
    return checked.model_copy(update={"text": checked.text + " " + " ".join(notes), "citations": citations})


# ----------------------------------------------------------------------------- answer fits question

_QUANTITY_WORDS = re.compile(
    r"\b(?:puluhan|ratusan|ribuan|jutaan|belasan|setengah|separuh|lipat|dozens?|hundreds|thousands|millions|"
    r"half|double[ds]?|twice|tripled?|several|beberapa)\b",
    re.IGNORECASE,
)
_TIME_WORDS = re.compile(
    r"\b(?:januari|februari|maret|april|mei|juni|juli|agustus|september|oktober|november|desember|january|"
    r"february|march|may|june|july|august|october|december|lalu|kemarin|pekan|minggu|pertengahan|awal|akhir|"
    r"ago|last|yesterday|week|mid|early|late|earlier|previously|sebelumnya|today|hari ini|tahun ini|this year)\b",
    re.IGNORECASE,
)
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")


def misfit(question: str, answer: str, citations: Sequence[Citation]) -> str | None:
    """Why a checked answer does not answer ``question`` (``None`` when it may):
    a how-many question answered without any figure, a when question without any time, or a year
    the question is about ("in 2021") that neither a cited sentence nor a cited article's date has.
    Each supported claim can still be beside the point; these are the cases a rule can see."""
    body = strip_markers(answer)
    kind = asks_for(question)
    if kind == "quantity" and not (numbers(body) or _QUANTITY_WORDS.search(body)):
        return "the question asks how many, the answer gives no figure"
    noun = counted_noun(question) if kind == "quantity" else None
    if noun and not set(stems(noun)) & set(stems(body)):
        return f"the question asks how many {noun}, the answer does not say"
    if kind == "date" and not (re.search(r"\d", body) or _TIME_WORDS.search(body)):
        return "the question asks when, the answer gives no time"
    cited_years = {int(v) for c in citations for v in numbers(c.sentence) if v.is_integer()}
    cited_years |= {c.published.year for c in citations if c.published}
    for year in _YEAR.findall(question):
        if int(year) not in cited_years:
            return f"the question is about {year}, no cited sentence or article is"
    return None
