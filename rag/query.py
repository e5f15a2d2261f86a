"""The question, parsed once: every later stage (retrieval, reading, writing, checking) receives
this ``Query`` and never re-detects the language or re-parses the question.

What is asked is read from general question words of each language (not from any corpus): a
figure ("berapa", "how many"), a time ("kapan", "tahun berapa", "when"), a person ("siapa",
"who"), a place ("di mana", "where"), yes or no ("apakah …", "-kah", "Did …"), a list ("apa
saja", "sebutkan", "which … are"), something open ("mengapa", "bagaimana", "what do the
articles say"), or a thing ("apa", "what").
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

from .text import Language, detect_language, words

Asks = Literal["figure", "time", "person", "place", "yesno", "list", "open", "thing"]


class Query(BaseModel):
    """One question as every stage sees it."""

    text: str = Field(description="The question as the user typed it (validated).")
    standalone: str = Field(
        description="What is searched and answered: the question, or a follow-up rewritten with its history."
    )
    language: Language
    asks: Asks
    counted: str | None = Field(None, description="What a how-many question counts ('kontainer', 'troops').")
    years: list[int] = Field([], description="Years the question names ('pada tahun 2021').")
    parts: list[str] = Field([], description="The parts of a question that asks two or more things.")
    timeline: bool = Field(False, description="The question asks for a sequence of events in time.")

    @property
    def many(self) -> bool:
        """The answer may rest on several sentences (a list, an open or two-part question, a timeline)."""
        return self.asks in ("list", "open") or bool(self.parts) or self.timeline


_FLAGS = re.IGNORECASE
_TIME = re.compile(
    r"\b(?:kapan(?:kah)?|tanggal berapa|tahun berapa|bulan apa|hari apa|pukul berapa|jam berapa|sejak kapan|"
    r"when|what (?:date|day|month|year|time)|which (?:date|day|month|year)|in what year)\b",
    _FLAGS,
)
_FIGURE = re.compile(
    r"\b(?:berapa(?:kah)?|seberapa|how (?:many|much|long|far|large|big|old|often|tall|high|deep|wide)|"
    r"what (?:is|was|are|were) the (?:\w+ )?(?:number|amount|percentage|share|cost|price|population|range|size|total))\b",
    _FLAGS,
)
_PERSON = re.compile(r"\b(?:siapa(?:kah)?|who(?:m|se)?)\b", _FLAGS)
_PLACE = re.compile(r"\b(?:di ?mana(?:kah)?|ke ?mana|dari ?mana|where|(?:di|ke|dari) (?:\w+ ){1,2}mana)\b", _FLAGS)
_LIST = re.compile(
    r"\b(?:apa saja|siapa saja|mana saja|berapa saja|sebutkan|daftar|what (?:are|were) (?:the|all)|which \w+ (?:are|were|have|did)|"
    r"list|name the)\b",
    _FLAGS,
)
_OPEN = re.compile(
    r"\b(?:mengapa|kenapa|bagaimana|jelaskan|apa (?:yang )?(?:dibahas|dikatakan|disebutkan|diberitakan|isi)|"
    r"why|how (?:did|does|do|is|was|are|were|can|could|will)|explain|describe|what do(?:es)? the articles? say|"
    r"what (?:is|are) (?:the articles?|this article) about)\b",
    _FLAGS,
)
_TIMELINE = re.compile(r"\b(?:kronologi|urutan waktu|linimasa|timeline|chronolog\w*|sequence of events)\b", _FLAGS)
# "Apakah X?" asks yes or no, except "Apakah nama/arti/yang …" (Indonesian "what is …")
_YESNO_ID = re.compile(
    r"^\s*(?:apakah|benarkah|adakah|bisakah|dapatkah|haruskah|sudahkah|pernahkah|mungkinkah|\w{3,}kah)\b(?!\s+(?:nama|arti|yang|itu|maksud|kepanjangan|singkatan|judul|julukan|sebutan|istilah|definisi|pengertian)\b)",
    _FLAGS,
)
_YESNO_EN = re.compile(r"^\s*(?:is|are|was|were|do|does|did|has|have|had|can|could|will|would|should|must)\b", _FLAGS)
_WH = re.compile(
    r"\b(?:apa|siapa|berapa|kapan|mana|mengapa|kenapa|bagaimana|what|who|which|when|where|why|how)\b", _FLAGS
)
_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d)(?!\d)")
_COUNTED_ID = re.compile(r"\b(?:berapa(?:kah)?|jumlah)(?:\s+(?:banyak|jumlah|besar))?\s+([^\W\d_]{3,})", _FLAGS)
_COUNTED_EN = re.compile(r"\bhow many\s+([^\W\d_]{3,})", _FLAGS)
_NOT_COUNTED = frozenset(["kali", "lama", "banyak", "jumlah", "besar", "persen", "yang", "orang", "tahun", "the", "of"])
_PART_BREAK = re.compile(
    r",?\s+(?:and|dan|serta)\s+(?=(?:(?:to|in|from|for|with|by|ke|di|dari|untuk|dengan|oleh)\s+)?"
    r"(?:what|who|whom|which|when|where|why|how|apa|apakah|siapa|berapa|kapan|mengapa|kenapa|bagaimana|"
    r"(?:di|ke|dari)\s*(?:[^\W\d_]+\s+)?mana)\b)",
    _FLAGS,
)


def question_parts(question: str) -> list[str]:
    """The parts of a question that asks two or more things ("How far …, and where …?"); an
    empty list for a question that asks one thing."""
    parts = [p.strip(" ,;?") for p in _PART_BREAK.split(question)]
    parts = [p + "?" for p in parts if len(words(p)) >= 2]
    return parts if len(parts) >= 2 else []


def what_is_asked(question: str) -> Asks:
    """The kind of answer ``question`` wants (see the module docstring)."""
    first = question.split("?")[0]
    if _LIST.search(first):
        return "list"
    yes_no = _YESNO_ID.search(first) or _YESNO_EN.search(first)
    if yes_no and not _WH.search(first[yes_no.end() :]):
        return "yesno"
    for kind, pattern in (
        ("time", _TIME),
        ("figure", _FIGURE),
        ("person", _PERSON),
        ("place", _PLACE),
        ("open", _OPEN),
    ):
        if pattern.search(first):
            return kind  # type: ignore[return-value]
    return "thing"


def counted_thing(question: str) -> str | None:
    """What a how-many question counts: "Berapa kontainer …" -> "kontainer", "How many troops" -> "troops"."""
    for pattern in (_COUNTED_ID, _COUNTED_EN):
        m = pattern.search(question)
        if m and m.group(1).lower() not in _NOT_COUNTED:
            return m.group(1).lower()
    return None


def parse_query(text: str, standalone: str | None = None) -> Query:
    """Parse a validated question once. ``standalone`` is a follow-up rewritten with its history:
    what it asks is read from it, the language from what the user typed."""
    search = standalone or text
    return Query(
        text=text,
        standalone=search,
        language=detect_language(text),
        asks=what_is_asked(search),
        counted=counted_thing(search) if _FIGURE.search(search) else None,
        years=[int(y) for y in _YEAR.findall(search)],
        parts=question_parts(search),
        timeline=bool(_TIMELINE.search(search)),
    )
