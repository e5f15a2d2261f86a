"""The question, parsed once: every later stage (retrieval, reading, writing, checking) receives
this ``Query`` and never re-detects the language or re-parses the question.

What is asked is read from general question words of every language pack (``[questions]`` in
``rag/languages/<code>/words.toml``; not from any corpus): a figure ("berapa", "how many"), a time
("kapan", "tahun berapa", "when"), a person ("siapa", "who"), a place ("di mana", "where"), yes or
no ("apakah …", "-kah", "Did …"), a list ("apa saja", "sebutkan", "which … are"), something open
("mengapa", "bagaimana", "what do the articles say"), or a thing ("apa", "what").
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal, NamedTuple

from pydantic import BaseModel, Field

from .languages import Packs, alternatives, packs
from .text import Language, detect_language, stopwords, words

Asks = Literal["figure", "time", "person", "place", "yesno", "list", "open", "thing"]


class Query(BaseModel):
    """One question as every stage sees it."""

    text: str = Field(description="The question as the user typed it (validated).")
    standalone: str = Field(
        description="What is searched and answered: the question, or a follow-up rewritten with its history."
    )
    language: Language
    asks: Asks
    counted: str | None = Field(
        None, description="What a how-many question, or a yes/no one about a count, counts ('kontainer', 'troops')."
    )
    years: list[int] = Field([], description="Years the question names ('pada tahun 2021').")
    parts: list[str] = Field([], description="The parts of a question that asks two or more things.")
    timeline: bool = Field(False, description="The question asks for a sequence of events in time.")

    @property
    def many(self) -> bool:
        """The answer may rest on several sentences (a list, an open or two-part question, a timeline)."""
        return self.asks in ("list", "open") or bool(self.parts) or self.timeline


class _Patterns(NamedTuple):
    time: re.Pattern[str]
    figure: re.Pattern[str]
    person: re.Pattern[str]
    place: re.Pattern[str]
    list: re.Pattern[str]
    open: re.Pattern[str]
    timeline: re.Pattern[str]
    wh: re.Pattern[str]
    yesno: tuple[re.Pattern[str], ...]  # "Apakah X?", "Did …": yes or no (the first word decides)
    counted: tuple[re.Pattern[str], ...]
    not_counted: frozenset[str]
    part_break: re.Pattern[str]


@lru_cache(maxsize=4)
def _compiled(languages: Packs) -> _Patterns:
    """The question words of every pack as patterns (what a question asks does not depend on the
    language detected: a mixed question still parses)."""

    def words_of(kind: str) -> list[str]:
        return [w for p in languages.all for w in getattr(p.questions, kind)]

    def any_of(kind: str) -> re.Pattern[str]:
        return re.compile(r"\b" + alternatives(words_of(kind)) + r"\b", re.IGNORECASE)

    return _Patterns(
        time=any_of("time"),
        figure=any_of("figure"),
        person=any_of("person"),
        place=any_of("place"),
        list=any_of("list"),
        open=any_of("open"),
        timeline=any_of("timeline"),
        wh=any_of("wh"),
        yesno=tuple(re.compile(p.questions.yesno, re.IGNORECASE) for p in languages.all if p.questions.yesno),
        counted=tuple(re.compile(p.questions.counted, re.IGNORECASE) for p in languages.all if p.questions.counted),
        not_counted=frozenset(words_of("not_counted")),
        part_break=re.compile(
            r",?\s+"
            + alternatives(words_of("conjunctions"))
            + r"\s+(?=(?:"
            + alternatives(words_of("prepositions"))
            + r"\s+)?"
            + alternatives(words_of("part_starts"))
            + r"\b)",
            re.IGNORECASE,
        ),
    )


def _patterns() -> _Patterns:
    return _compiled(packs())


_YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d)(?!\d)")


def question_parts(question: str) -> list[str]:
    """The parts of a question that asks two or more things ("How far …, and where …?"); an
    empty list for a question that asks one thing."""
    parts = [p.strip(" ,;?") for p in _patterns().part_break.split(question)]
    parts = [p + "?" for p in parts if len(words(p)) >= 2]
    return parts if len(parts) >= 2 else []


def what_is_asked(question: str) -> Asks:
    """The kind of answer ``question`` wants (see the module docstring)."""
    rules = _patterns()
    first = question.split("?")[0]
    if rules.list.search(first):
        return "list"
    yes_no = next((m for m in (p.search(first) for p in rules.yesno) if m), None)
    if yes_no and not rules.wh.search(first[yes_no.end() :]):
        return "yesno"
    for kind, pattern in (
        ("time", rules.time),
        ("figure", rules.figure),
        ("person", rules.person),
        ("place", rules.place),
        ("open", rules.open),
    ):
        if pattern.search(first):
            return kind  # type: ignore[return-value]
    return "thing"


def counted_thing(question: str) -> str | None:
    """What a how-many question counts: "Berapa kontainer …" -> "kontainer", "How many North Korean
    troops" -> "troops", "… the count of weapons containers …" -> "containers"."""
    rules = _patterns()
    for pattern in rules.counted:
        m = pattern.search(question)
        thing = next((g.lower() for g in m.groups() if g), None) if m else None
        if thing and thing not in rules.not_counted and thing not in stopwords():
            return thing
    return None


def parse_query(text: str, standalone: str | None = None) -> Query:
    """Parse a validated question once. ``standalone`` is a follow-up rewritten with its history:
    what it asks is read from it, the language from what the user typed."""
    search = standalone or text
    rules = _patterns()
    asks = what_is_asked(search)
    return Query(
        text=text,
        standalone=search,
        language=detect_language(text),
        asks=asks,
        counted=counted_thing(search) if rules.figure.search(search) or asks == "yesno" else None,
        years=[int(y) for y in _YEAR.findall(search)],
        parts=question_parts(search),
        timeline=bool(rules.timeline.search(search)),
    )


def part_queries(query: Query) -> list[Query]:
    """One ``Query`` per part of a two-part question ("Where is the factory?", "What is it called?"),
    each read on its own (``rag.qa.QA.read_parts``), in the whole question's language: a short part
    is too little text to tell its language from."""
    queries = []
    for part in query.parts:
        text = part[:1].upper() + part[1:]
        queries.append(parse_query(text).model_copy(update={"language": query.language, "parts": []}))
    return queries
