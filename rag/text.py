"""Small language tools shared by the stages: language guess, tokens and stems, numbers.

The words come from the language packs (``rag.languages``). Stemming is Snowball's (PyStemmer, a C
extension: fast enough for 100k+ sentences).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from typing import NamedTuple, TypeVar

from .languages import DEFAULT, Code, LanguagePack, Packs, pack, packs

Language = Code
"""A language code with a pack in ``rag/languages`` ("id", "en")."""

_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)


def stopwords() -> frozenset[str]:
    """Every pack's function words (left out of BM25 stems, whatever the text's language)."""
    return packs().words("stopwords")


@lru_cache(maxsize=4)
def _markers(languages: Packs) -> tuple[tuple[LanguagePack, frozenset[str]], ...]:
    """Each pack with its stopwords that no other pack has: what tells its questions apart."""
    return tuple(
        (p, p.stopwords - frozenset().union(*(o.stopwords for o in languages.all if o is not p))) for p in languages.all
    )


def words(text: str) -> list[str]:
    """Lower-cased word tokens (numbers keep their internal separators: ``10.000`` is one token)."""
    return [m.group().lower() for m in re.finditer(r"\d+(?:[.,]\d+)*|" + _WORD.pattern, text)]


def detect_language(text: str) -> Language:
    """The pack whose function words the text uses most (a pack's prefix+suffix forms count too:
    Indonesian "menyebutkan"); ties go to the earlier pack, Indonesian first."""
    tokens = words(text)
    best, best_hits = DEFAULT, -1
    for language, markers in _markers(packs()):
        prefixes, suffixes = language.detect_prefixes, language.detect_suffixes
        hits = sum(1 for t in tokens if t in markers or t.startswith(prefixes) and t.endswith(suffixes))
        if hits > best_hits:
            best, best_hits = language.code, hits
    return best


def refers_back(text: str, first_words: int = 3) -> bool:
    """The sentence points back to the one before it ("Pabrik ini…", "Mereka…", "This factory…"):
    a demonstrative or personal pronoun among its first words. Such a sentence is also embedded,
    judged and shown together with its previous sentence (see ``rag.index``; the rule and the
    three-word window were chosen on the dev questions)."""
    back = packs().words("back_references")
    return any(token in back for token in words(text)[:first_words])


def with_antecedent(previous: str, sentence: str) -> str:
    """A back-referring sentence read together with the sentence before it: what its context vector
    is computed on, and what the citation check compares a claim with."""
    return f"{previous} {sentence}"


@lru_cache(maxsize=8)
def _stemmer(language: str = DEFAULT):  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer(pack(language).stemmer)


def stems(text: str, *, drop_stopwords: bool = True, language: str = DEFAULT) -> list[str]:
    """Stemmed content tokens (Snowball, by ``language``'s pack), for BM25."""
    drop = stopwords() if drop_stopwords else frozenset()
    tokens = [t for t in words(text) if t not in drop]
    return list(_stemmer(language).stemWords(tokens))


# ----------------------------------------------------------------------------- numbers


V = TypeVar("V")


class _NumberRules(NamedTuple):
    units: dict[str, float]
    multipliers: Mapping[str, tuple[str, float]]
    groups: dict[str, float]
    scale: dict[str, float]  # after digits: groups and their abbreviations ("6 juta", "6 jt")
    number: re.Pattern[str]
    joiners: frozenset[str]
    not_after: dict[str, str]


def _merged(tables: Iterable[Mapping[str, V]]) -> dict[str, V]:
    """Tables of several packs as one; a word two packs define keeps the earlier pack's value."""
    out: dict[str, V] = {}
    for table in tables:
        for word, value in table.items():
            out.setdefault(word, value)
    return out


@lru_cache(maxsize=4)
def _number_rules(languages: Packs) -> _NumberRules:
    """Every pack's number words, merged (an earlier pack wins a word two packs define)."""
    numbers = [p.numbers for p in languages.all]
    units = _merged(n.units for n in numbers)
    multipliers = _merged(n.multipliers for n in numbers)
    groups = _merged(n.groups for n in numbers)
    scale = _merged({**n.groups, **n.abbreviations} for n in numbers)
    not_after = _merged(n.not_after for n in numbers)
    percent = [w for n in numbers for w in n.percent]
    number = re.compile(
        r"(?<![\w.,-])(\d{1,3}(?:[.,\u00a0 ]\d{3})+|\d+(?:[.,]\d+)?)(?:\s*(%"
        + "".join("|" + w for w in percent)
        + r"))?"
        r"(?:\s+(" + "|".join(scale) + r")\b)?",
        re.IGNORECASE,
    )
    return _NumberRules(
        units,
        multipliers,
        groups,
        scale,
        number,
        frozenset(w for n in numbers for w in n.joiners),
        not_after,
    )


_NUMBER_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def word_numbers(text: str) -> set[float]:
    """Numbers written in words, by every pack's number words: "dua puluh lima" 25, "tiga belas" 13,
    "seratus" 100, "dua ribu lima ratus" 2500, "twenty-five" 25, "sixty" 60. "salah satu"
    ("one of") is not a number; a group word alone ("ribuan", "thousands") is not a figure."""
    units, multipliers, groups, _, _, joiners, not_after = _number_rules(packs())
    found: set[float] = set()
    total = current = 0.0
    pending: float | None = None  # the last simple number, waiting for "puluh", "ratus", "ribu" …
    in_number = False
    previous = ""

    def close() -> None:
        nonlocal total, current, pending, in_number
        if in_number:
            found.add(round(total + current + (pending or 0.0), 4))
        total = current = 0.0
        pending, in_number = None, False

    for token in (t.lower() for t in _NUMBER_WORD.findall(text.replace("-", " "))):
        if token in units and not_after.get(token) != previous:
            value = float(units[token])
            if pending is not None and pending >= 20 and pending % 10 == 0 and value < 10:
                pending += value  # "twenty five"
            else:
                if pending is not None:
                    close()  # two numbers side by side
                if value >= 100:  # seratus, seribu, sejuta
                    if value >= 1000:
                        total += value
                    else:
                        current += value
                else:
                    pending = value
                in_number = True
        elif token in multipliers and pending is not None:
            op, factor = multipliers[token]
            current += pending * factor if op == "times" else pending + factor
            pending = None
        elif token in groups and in_number:
            total += (current + (pending or 0.0) or 1.0) * groups[token]
            current, pending = 0.0, None
        elif not (token in joiners and in_number):
            close()
        previous = token
    close()
    return found


def _to_float(digits: str) -> float | None:
    clean = digits.replace("\u00a0", " ")
    if re.fullmatch(r"\d{1,3}(?:[ ]\d{3})+", clean):
        return float(clean.replace(" ", ""))
    if re.fullmatch(r"\d{1,3}(?:\.\d{3})+", clean):  # 10.000, 1.117.320 (thousands, Indonesian)
        return float(clean.replace(".", ""))
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", clean):  # 10,000 (thousands, English)
        return float(clean.replace(",", ""))
    if re.fullmatch(r"\d+,\d+", clean):  # 6,7 (Indonesian decimal)
        return float(clean.replace(",", "."))
    try:
        return float(clean)
    except ValueError:
        return None


def _digit_figures(text: str) -> Iterator[tuple[float, re.Match[str]]]:
    """Each figure written in digits (with its scale word: "6 juta"), as a float and its match."""
    rules = _number_rules(packs())
    for m in rules.number.finditer(text):
        value = _to_float(m.group(1))
        if value is None:
            continue
        scale = m.group(3)
        if scale:
            value *= rules.scale[scale.lower()]
        yield round(value, 4), m


def numbers(text: str) -> set[float]:
    """Every quantity in ``text`` as a float, so notations compare equal.

    ``10.000`` = ``10,000`` = ``10 000`` = ``10000``; ``6 juta`` = ``6 million`` = 6e6; ``6,7`` = 6.7.
    Years and small counts are numbers too (a claim's "2024" must be in its sentence).
    """
    return {value for value, _ in _digit_figures(text)} | word_numbers(text)


_NEXT_WORD = re.compile(r"\s+([^\W\d_]+)", re.UNICODE)


def counted_figures(text: str, language: str = DEFAULT) -> set[tuple[float, str]]:
    """Each figure in digits with the stem of the word right after it, what it counts: "sekitar
    6.700 kontainer" -> (6700, "kontainer"), "15,000 troops" -> (15000, "troop"). A figure followed
    by a function word, a mark or nothing counts nothing and is left out."""
    found: set[tuple[float, str]] = set()
    for value, m in _digit_figures(text):
        after = _NEXT_WORD.match(text, m.end())
        if after and after.group(1).lower() not in stopwords():
            found.add((value, _stemmer(language).stemWord(after.group(1).lower())))
    return found


@lru_cache(maxsize=4)
def _time_words(languages: Packs) -> frozenset[str]:
    """Month names and abbreviations, and day names, of every pack (lower-cased)."""
    names = {m.lower() for p in languages.all for m in p.dates.months}
    names |= {d.lower() for p in languages.all for d in p.dates.days if d.isalpha()}
    return frozenset(names)


def holds_figure(text: str) -> bool:
    """The text states a figure: digits or a number in words."""
    return bool(numbers(text))


def holds_time(text: str) -> bool:
    """The text states a time: a figure (a year, a date) or a month's or day's name."""
    return holds_figure(text) or any(w in _time_words(packs()) for w in words(text))
