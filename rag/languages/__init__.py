"""Language packs: everything kutip knows about one language, as data in ``rag/languages/<code>/``.

A pack is a folder named by its ISO 639-1 code holding ``words.toml`` (stopwords, question words,
number words, abbreviations, refusal and furniture phrases, date words, the Snowball stemmer) and
``abstain.txt`` (what kutip says when it abstains). Code asks the pack instead of holding lists:
``pack("id").stopwords``, ``packs().words("stopwords")``.

Adding a language is adding a folder. Extra folders of packs are searched first, from
``KUTIP_LANGUAGE_PACKS`` (the ``language_packs`` setting; folders separated by ``os.pathsep``), so a
pack there also overrides a built-in one of the same code. Packs are read once per process
(``reload()`` reads them again).

Question words, number words and furniture phrases of *every* available pack apply to every text
(a question is parsed and an article cleaned before, or regardless of, its language being known):
that is how kutip always worked with Indonesian and English together. Per-language rules (sentence
abbreviations, the stemmer, the abstention text) come from the text's own pack. A word two packs share
counts for both (a question word, a number word), and a stopword two packs share tells neither
language apart: a new pack's words are best checked against the others' (German "was" is English
"was").

An unknown code falls back to Indonesian (``DEFAULT``), with a warning once: Indonesian is kutip's
default wherever the language is unsure (ties in ``rag.text.detect_language``, an article
``py3langid`` cannot place, sentence splitting and stemming for any code other than ``en``), so the
fallback keeps the behaviour kutip had before packs existed rather than switching to English.
"""

from __future__ import annotations

import logging
import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

log = logging.getLogger(__name__)

BUILTIN = Path(__file__).resolve().parent
DEFAULT = "id"
ENV = "KUTIP_LANGUAGE_PACKS"  # the ``language_packs`` setting: extra folders of packs, searched first
Code = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]
"""A language code: the name of a pack's folder ("id", "en")."""


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NumberWords(_Part):
    """Numbers written in words (``rag.text.word_numbers``) and scale words after digits."""

    units: dict[str, float] = {}  # "dua" 2, "twenty" 20, "seratus" 100
    multipliers: dict[str, tuple[Literal["times", "plus"], float]] = {}  # "puluh" x10, "belas" +10
    groups: dict[str, float] = {}  # "ribu", "million": close a group of the number
    abbreviations: dict[str, float] = {}  # "rb", "bn": scale a figure in digits, not a word number
    percent: tuple[str, ...] = ()  # "persen" after a figure
    joiners: tuple[str, ...] = ()  # "and" inside "one hundred and five"
    not_after: dict[str, str] = {}  # "satu" after "salah" ("salah satu", one of) is no number


class QuestionWords(_Part):
    """What a question asks (``rag.query``): regex alternatives, matched case-insensitively as
    whole words, of each kind."""

    time: tuple[str, ...] = ()
    figure: tuple[str, ...] = ()
    person: tuple[str, ...] = ()
    place: tuple[str, ...] = ()
    list: tuple[str, ...] = ()
    open: tuple[str, ...] = ()
    timeline: tuple[str, ...] = ()
    wh: tuple[str, ...] = ()  # any question word: "Is X …, and who …?" is not a yes/no question
    yesno: str | None = None  # a regex anchored at the start: the question asks yes or no
    counted: str | None = None  # a regex whose first group that matched is what a how-many question counts
    not_counted: tuple[str, ...] = ()  # words group 1 may catch that are not a counted thing
    conjunctions: tuple[str, ...] = ()  # "and" between two questions in one
    prepositions: tuple[str, ...] = ()  # "and to where …"
    part_starts: tuple[str, ...] = ()  # regex alternatives that start a second question


class Furniture(_Part):
    """Page furniture (``rag.corpus``, ``rag.readers``): lines that are not the article."""

    lines: tuple[str, ...] = ()  # regex alternatives for a whole line ("Baca juga: …", "Advertisement")
    credit_labels: tuple[str, ...] = ()  # "Penulis:", "Photo |": a label, then ":" or "|"
    inline: tuple[str, ...] = ()  # regex alternatives that end a line's text ("Baca juga: …")
    bylines: tuple[str, ...] = ()  # regexes of editors' initials at a paragraph's start or end: "(ant)"
    image_words: tuple[str, ...] = ()  # "(foto: …)", "(image from …)"
    image_from: tuple[str, ...] = ()
    page_words: tuple[str, ...] = ()  # PDF page numbers: "halaman 3 dari 12", "page 3 of 12" (regexes)
    page_of: tuple[str, ...] = ()


class DateWords(_Part):
    """Dates written in words and header lines that date an article (``rag.corpus``)."""

    days: tuple[str, ...] = ()  # regex alternatives, as written (case-sensitive)
    months: dict[str, int] = {}  # lower-case name or abbreviation -> month
    meta_words: tuple[str, ...] = ()  # "oleh", "updated": a header line that may carry the date
    time_zones: tuple[str, ...] = ()  # "WIB", "GMT" after a time (case-insensitive)


class LanguagePack(_Part):
    """One language's words and texts, as read from its folder."""

    code: Code
    name: str = Field(description="How the prompts name the language: 'Indonesian (Bahasa Indonesia)'.")
    stemmer: str = Field(description="PyStemmer's (Snowball) algorithm for BM25: 'indonesian'.")
    abstain: str = Field(description="What kutip answers when it abstains (abstain.txt).")
    stopwords: frozenset[str] = frozenset()
    detect_prefixes: tuple[str, ...] = ()  # a word with one of these prefixes and …
    detect_suffixes: tuple[str, ...] = ()  # … one of these suffixes counts for the language ("menyebutkan")
    back_references: frozenset[str] = frozenset()  # "ini", "they": the sentence refers to the one before
    abbreviations: frozenset[str] = frozenset()  # a full stop after these does not end a sentence
    number_abbreviations: frozenset[str] = frozenset()  # … nor after these when a number follows ("no. 5")
    places: frozenset[str] = frozenset()  # places that open datelines: a city alone is not an outlet
    refusals: tuple[str, ...] = ()  # regex alternatives: the writer saying the sentences do not answer
    numbers: NumberWords = NumberWords()
    questions: QuestionWords = QuestionWords()
    furniture: Furniture = Furniture()
    dates: DateWords = DateWords()


class LanguagePackError(ValueError):
    """A pack folder that cannot be read (bad TOML, unknown key, no abstain.txt)."""


def search_path() -> tuple[Path, ...]:
    """The folders packs are looked up in, first match wins: the ``language_packs`` setting
    (``KUTIP_LANGUAGE_PACKS`` or ``kutip.toml``), then built-in."""
    from ..settings import Settings  # settings know nothing of packs: no import cycle

    extra = [Path(p).expanduser() for p in Settings().language_packs.split(os.pathsep) if p.strip()]
    return (*extra, BUILTIN)


def _pack_dirs(path: tuple[Path, ...]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in path:
        if not folder.is_dir():
            continue
        for sub in sorted(folder.iterdir()):
            if sub.is_dir() and re.fullmatch(r"[a-z]{2,3}", sub.name) and (sub / "words.toml").is_file():
                found.setdefault(sub.name, sub)
    return found


def load_pack(folder: Path) -> LanguagePack:
    """Read the pack in ``folder`` (named by its code); ``LanguagePackError`` when it is not one."""
    try:
        data = tomllib.loads((folder / "words.toml").read_text(encoding="utf-8"))
        abstain = (folder / "abstain.txt").read_text(encoding="utf-8").strip()
        return LanguagePack.model_validate({**data, "code": folder.name, "abstain": abstain})
    except (OSError, ValueError) as exc:
        raise LanguagePackError(f"language pack {folder}: {exc}") from exc


@dataclass(frozen=True, eq=False)
class Packs:
    """Every available pack, the default first, then by code: the order in which their rules are
    combined (``rag.text.detect_language`` gives ties to the earlier one). Hashed by identity, so
    the rules the stages compile from it are cached until ``reload()``."""

    all: tuple[LanguagePack, ...]
    _unions: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    @property
    def codes(self) -> list[str]:
        return [p.code for p in self.all]

    def get(self, code: str) -> LanguagePack | None:
        return next((p for p in self.all if p.code == code), None)

    def words(self, name: str) -> frozenset[str]:
        """The union of one word-set field over all packs (``packs().words("stopwords")``), cached:
        it is asked for every sentence indexed."""
        found = self._unions.get(name)
        if found is None:
            found = self._unions[name] = frozenset().union(*(getattr(p, name) for p in self.all))
        return found


def _load(path: tuple[Path, ...]) -> Packs:
    dirs = _pack_dirs(path)
    order = sorted(dirs, key=lambda code: (code != DEFAULT, code))
    return Packs(tuple(load_pack(dirs[code]) for code in order))


@lru_cache(maxsize=1)
def packs() -> Packs:
    """The packs on the search path, read once (asked for every line and sentence: a cache lookup);
    ``reload()`` after changing ``KUTIP_LANGUAGE_PACKS``."""
    return _load(search_path())


def reload() -> None:
    """Look the packs up again (the search path changed: tests, a settings reload)."""
    packs.cache_clear()


def available() -> list[str]:
    """The codes of every pack found, the default first."""
    return packs().codes


_warned: set[str] = set()


def pack(code: str) -> LanguagePack:
    """The pack for ``code``; an unknown code gets the default (Indonesian) pack, with one warning
    (see the module docstring for why Indonesian)."""
    found = packs().get(code)
    if found is not None:
        return found
    if code not in _warned:
        _warned.add(code)
        log.warning("no language pack for %r (have %s): using %r", code, ", ".join(available()), DEFAULT)
    default = packs().get(DEFAULT)
    if default is None:
        raise LanguagePackError(f"no language pack for {code!r} and no default pack {DEFAULT!r}")
    return default


def alternatives(patterns: list[str] | tuple[str, ...]) -> str:
    """Regex alternatives as one group; a group that never matches when there are none."""
    return "(?:" + "|".join(patterns) + ")" if patterns else "(?!)"
