"""Publication dates as the text writes them, with the packs' day and month names: only a date on a
header line or a reporting-date formula in the lead dates the article (a date elsewhere is an event's),
and one is never invented."""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from typing import NamedTuple

from ..languages import Packs, alternatives, packs


class _Dates(NamedTuple):
    months: dict[str, int]
    slash: re.Pattern[str]  # "Senin (25/11/2024)"
    long: re.Pattern[str]  # "Selasa, 12 Maret 2024", "March 12, 2024"
    weekday_long: re.Pattern[str]
    meta_line: re.Pattern[str]  # a header line that may date the article


_MONTH = r"(?P<month>[A-Za-z]{3,9})\.?"
LEAD_CHARS = 600  # a reporting-date formula this early in the text dates the article
_NUMERIC_DATE = re.compile(r"(?<![\d/])(?P<day>\d{1,2})/(?P<mon>\d{1,2})/(?P<year>\d{4})(?![\d/])")


@lru_cache(maxsize=4)
def _compiled_dates(languages: Packs) -> _Dates:
    """Day and month names, header words and time zones of every pack (``[dates]``)."""
    d = [p.dates for p in languages.all]
    days = alternatives([w for x in d for w in x.days])
    months: dict[str, int] = {}
    for x in d:
        for name, number in x.months.items():
            months.setdefault(name, number)
    meta = alternatives([w for x in d for w in x.meta_words])
    zones = alternatives([w for x in d for w in x.time_zones])
    return _Dates(
        months=months,
        slash=re.compile(rf"{days},?\s*\((?P<day>\d{{1,2}})/(?P<mon>\d{{1,2}})/(?P<year>\d{{4}})\)"),
        long=re.compile(
            rf"(?:{days},?\s+)?(?:(?P<day>\d{{1,2}})\s+{_MONTH}\s+(?P<year>\d{{4}})|{_MONTH.replace('month', 'month2')}\s+(?P<day2>\d{{1,2}}),?\s+(?P<year2>\d{{4}}))"
        ),
        weekday_long=re.compile(rf"{days},?\s+\d{{1,2}}\s+[A-Za-z]{{3,9}}\.?\s+\d{{4}}"),
        meta_line=re.compile(rf"^(?:{days}\b|\d|{meta}\b)" + r"|\|| " + zones + r"\b", re.IGNORECASE),
    )


def _dates() -> _Dates:
    return _compiled_dates(packs())


def _is_date_line(line: str) -> bool:
    """A header line that dates the article ("Selasa, 12 Maret 2024 10:15 WIB", "By A. Writer | 12
    March 2024", "Kompas.com - 12/03/2024, 10:15 WIB"): metadata, not a sentence."""
    return (
        len(line.split()) <= 14 and bool(_dates().meta_line.search(line)) and parse_date(line, numeric=True) is not None
    )


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day) if 1900 <= year <= 2100 else None
    except ValueError:
        return None


def parse_date(text: str, *, numeric: bool = False) -> date | None:
    """The first date written in ``text`` as ``Senin (25/11/2024)``, ``Selasa, 12 Maret 2024 10:15
    WIB``, ``12 March 2024`` or ``March 12, 2024`` (and, with ``numeric``, ``12/03/2024``: day first,
    as Indonesian outlets write it); ``None`` when it writes none."""
    rules = _dates()
    found: list[tuple[int, date]] = []
    m = (rules.slash.search(text) or _NUMERIC_DATE.search(text)) if numeric else rules.slash.search(text)
    if m and (d := _valid(int(m.group("year")), int(m.group("mon")), int(m.group("day")))):
        found.append((m.start(), d))
    for m in rules.long.finditer(text):
        month = rules.months.get((m.group("month") or m.group("month2") or "").lower())
        day, year = (m.group("day"), m.group("year")) if m.group("day") else (m.group("day2"), m.group("year2"))
        if month and (d := _valid(int(year), month, int(day))):
            found.append((m.start(), d))
            break
    return min(found)[1] if found else None


def find_published(text: str, header: list[str] | None = None) -> date | None:
    """The publication date: any date written on a header line (before the body: "Selasa, 12 Maret
    2024 10:15 WIB", "12 March 2024"), else a reporting-date formula with its weekday in the lead
    ("Senin (25/11/2024)", "Selasa, 12 Maret 2024"). A date elsewhere is an event's, not the article's."""
    for line in header or []:
        if found := parse_date(line, numeric=True):
            return found
    lead = text[:LEAD_CHARS]
    rules = _dates()
    candidates = [m for m in (rules.slash.search(lead), rules.weekday_long.search(lead)) if m]
    for m in sorted(candidates, key=lambda m: m.start()):
        if found := parse_date(m.group()):
            return found
    return None
