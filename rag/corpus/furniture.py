"""Page furniture: the lines of a page that are not the article, found by evidence rather than a
list of one site's widgets, so that a new outlet needs no code:

- the furniture phrases of the language packs (``[furniture]`` in ``rag/languages/<code>/words.toml``:
  "Baca juga", "Artikel ini telah tayang di", "Penulis:", "Advertisement"…), and bare links;
- lines that recur across the articles of one outlet (``recurring_lines``);
- short label lines before the headline and after the last paragraph (section names, mastheads,
  "related" widgets): no sentence punctuation, no figure, three words or fewer before, four after.

The line shapes that tell furniture from text (``_is_body``, ``_is_heading``, ``_is_label``) live here too.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from functools import lru_cache
from typing import NamedTuple

from ..languages import Packs, alternatives, packs


class _Furniture(NamedTuple):
    phrases: re.Pattern[str]  # a whole line that is furniture
    image_credit_start: re.Pattern[str]
    leading_byline: re.Pattern[str]
    trailing_byline: re.Pattern[str]
    inline: re.Pattern[str]  # furniture that ends a line of text


@lru_cache(maxsize=4)
def _compiled_furniture(languages: Packs) -> _Furniture:
    """The furniture phrases of every pack (``[furniture]``: an article is cleaned before its
    language is known), with the language-free ones: bare links and ``©``."""
    f = [p.furniture for p in languages.all]

    def of(name: str) -> list[str]:
        return [w for part in f for w in getattr(part, name)]

    byline = alternatives(of("bylines"))  # editors' initials closing Indonesian articles: (ant), (luc/luc), (*)
    lines = [
        *of("lines"),
        alternatives(of("credit_labels")) + r"\s*[:|].*",
        r"(?:https?://|www\.)\S+",
        byline,
        r"©.*",
    ]
    return _Furniture(
        phrases=re.compile(r"^(?:" + "|".join(lines) + r")$", re.IGNORECASE),
        image_credit_start=re.compile(
            r"\s*\(" + alternatives(of("image_words")) + r"\s*(?:" + "".join(w + "|" for w in of("image_from")) + r":)",
            re.IGNORECASE,
        ),
        leading_byline=re.compile(r"^" + byline + r"\s+"),
        trailing_byline=re.compile(r"\s+" + byline + r"$"),
        inline=re.compile(r"\s*" + alternatives(of("inline")) + r".*$", re.IGNORECASE),
    )


def _furniture() -> _Furniture:
    return _compiled_furniture(packs())


def is_furniture_phrase(line: str) -> bool:
    """A whole line that is page furniture by a phrase of a language pack ("Baca juga: …", "Advertisement")."""
    return bool(_furniture().phrases.match(line))


_TERMINAL = ".!?…\"”’'»)"
_LIST_ITEM = re.compile(r"^(?:[-*•·▪–]|\d{1,2}[.)])\s+(?=\S)")
RECUR_MIN_SHARE = 0.5  # a line in at least half of an outlet's articles (and in two or more) is furniture
RECUR_MAX_SHARE_OF_ARTICLE = 0.5  # ... unless it is half of an article or more: then it is the same story twice


def _norm_line(line: str) -> str:
    return re.sub(r"\s+", " ", line).strip()


def _line_key(line: str) -> str:
    return _norm_line(line).casefold()


def _raw_lines(raw: str) -> list[str]:
    text = unicodedata.normalize("NFC", raw).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    return [_norm_line(line) for line in text.split("\n")]


def recurring_lines(docs: list[tuple[str, str]]) -> list[frozenset[str]]:
    """For each ``(group, raw text)``, the lines (as ``_line_key``) that are furniture by evidence:
    they recur in at least ``RECUR_MIN_SHARE`` of the group's articles, and in two or more."""
    keys = [{_line_key(line) for line in _raw_lines(raw) if line and not is_furniture_phrase(line)} for _, raw in docs]
    members: dict[str, list[int]] = defaultdict(list)
    for i, (group, _) in enumerate(docs):
        members[group].append(i)
    out: list[frozenset[str]] = [frozenset()] * len(docs)
    for indices in members.values():
        if len(indices) < 2:
            continue
        counts = Counter(key for i in indices for key in keys[i])
        needed = max(2, RECUR_MIN_SHARE * len(indices))
        common = {key for key, n in counts.items() if n >= needed}
        for i in indices:
            mine = common & keys[i]
            if mine and len(mine) < RECUR_MAX_SHARE_OF_ARTICLE * len(keys[i]):
                out[i] = frozenset(mine)
    return out


def _drop_image_credit(line: str) -> str:
    """The line without a trailing ``(foto: …)`` / ``(image from …)`` credit, in linear time
    (a single ``…[^)]*\\)\\s*$`` regex took minutes on a long line of repeated ``(foto:``)."""
    close = line.rfind(")")
    if close < 0 or line[close + 1 :].strip():
        return line
    m = _furniture().image_credit_start.search(line, line.rfind(")", 0, close) + 1)
    return line[: m.start()] if m else line


def carries_content(line: str) -> bool:
    """A short line that states something: a figure, a list item, or ``label: value``."""
    return bool(re.search(r"\d", line) or _LIST_ITEM.match(line) or re.search(r"\w:\s+\S", line))


def _is_heading(line: str) -> bool:
    """A short line without final punctuation whose words are mostly capitalised."""
    if not line or line[-1] in _TERMINAL or line[-1] in ",;:":
        return False
    words = line.split()
    if len(words) > 14:
        return False
    capitalised = sum(1 for w in words if w[:1].isupper() or w[:1].isdigit())
    return capitalised >= max(1, (len(words) + 1) // 2)


def _is_label(line: str, max_words: int) -> bool:
    """Page chrome around the article: a few words, no sentence punctuation, no figure."""
    return (
        bool(line)
        and len(line) <= 60
        and len(line.split()) <= max_words
        and line[-1] not in _TERMINAL
        and not carries_content(line)
    )


def _is_body(line: str) -> bool:
    """A line that reads as running text (not a headline, label or date line)."""
    return len(line.split()) >= 12 or (line[-1:] in '.!?…"”’»' and len(line.split()) >= 4)
