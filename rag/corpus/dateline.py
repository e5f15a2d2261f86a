"""The dateline that opens an article ("JAKARTA, KOMPAS.com -", "Jakarta (ANTARA) -") and the outlet it
names: an outlet the format does not state is often only written there, and the dateline is not a title."""

from __future__ import annotations

import re

from ..languages import packs
from .furniture import _is_body, _raw_lines

_DASH = r"\s*(?:[–—]|-{1,2})\s+"
_NAME = r"[A-Z][\w.&'’]*(?:\s+[A-Z][\w.&'’]*){0,3}"
_DATELINE = re.compile(
    rf"^(?:(?P<a>{_NAME}),\s+(?P<b>{_NAME})|(?P<city>{_NAME})\s+\((?P<wire>[^()]{{2,30}})\)|(?P<one>{_NAME}))"
    rf"(?:,\s+\w+\s*\(\d{{1,2}}/\d{{1,2}}/\d{{2,4}}\))?{_DASH}(?=\S)"
)
_WEB_NAME = re.compile(r"\.(?:com|co|id|net|org|news|tv)\b", re.IGNORECASE)


def _is_place(name: str) -> bool:
    """A place that opens datelines ("JAKARTA - "): a pack's ``places``; a city alone is not an outlet."""
    return name.strip().casefold() in packs().words("places")


def _dateline(first: str) -> tuple[re.Match[str] | None, str | None]:
    """The dateline at the start of the first paragraph and the outlet it names (``None`` when it
    names only a place): "KOTA, OUTLET -", "Outlet.com, Kota -", "Kota, OUTLET --", "Kota (WIRE) -"."""
    m = _DATELINE.match(first)
    if not m:
        return None, None
    if m.group("wire"):
        return m, m.group("wire").strip()
    if m.group("one"):
        one = m.group("one").strip()
        return m, None if _is_place(one) else one
    a, b = m.group("a").strip(), m.group("b").strip()
    if _WEB_NAME.search(a) and not _WEB_NAME.search(b):
        return m, a  # Liputan6.com, Jakarta -
    if _is_place(b) and not _is_place(a):
        return m, a  # TEMPO.CO, Jakarta -
    return m, b  # Jakarta, CNN Indonesia --


def find_outlet(first_paragraph: str) -> str | None:
    return _dateline(first_paragraph)[1]


def _first_body_line(raw: str) -> str:
    for line in _raw_lines(raw)[:40]:
        if line and _is_body(line):
            return line
    return ""
