"""Files → articles → sentences.

``load_corpus(folder)`` reads every article file under ``folder`` through ``rag.readers.READERS``
(``.txt``, ``.md``, ``.html``, ``.htm``, ``.pdf``), removes the page furniture that is not the article,
finds the title, outlet and publication date (the format's own metadata first, then general rules
on the text), detects each article's language, and splits the clean text into sentences with
character offsets.

Furniture is found by evidence, not by a list of one site's widgets:
- the furniture phrases of the language packs, common to a language's news pages (``[furniture]``
  in ``rag/languages/<code>/words.toml``: "Baca juga", "Artikel ini telah tayang di", "Penulis:",
  "Advertisement"…), and bare links;
- lines that recur across the articles of one outlet (``recurring_lines``);
- short label lines before the headline and after the last paragraph (section names, mastheads,
  "related" widgets): no sentence punctuation, no figure, three words or fewer before, four after.

Ids: a file at the top of the corpus folder whose stem is already a safe id (``[A-Za-z0-9_-]+``)
keeps its stem as id; any other file (spaces, punctuation, non-ASCII, subfolders) gets a slug of
its relative path plus a short hash of it, so ids are unique across subfolders.

Sentences follow the article's language: its pack's abbreviations (Indonesian ``dll.``, ``Jl.``;
English ``Mr.``, ``e.g.``, ``Jan.``) around rules every language shares (``10.000``, ``6,7``,
``(25/11/2024)``, ``U.S.``). Day and month names, dateline places and header words are the packs'
too. A sentence longer than ``MAX_SENTENCE_CHARS`` is cut at a clause boundary, else at a space,
never losing text; list items and short lines that carry a figure are sentences of their own.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel, Field, model_validator

from .errors import ArticleError
from .language import detect_text_language
from .languages import Packs, alternatives, pack, packs
from .readers import MAX_ARTICLE_BYTES, SUFFIXES, RawDocument, read_link, read_path, read_text

ARTICLE_SUFFIXES = SUFFIXES
MAX_SENTENCE_CHARS = 500  # the longest seed sentence is 336; e5 reads 512 tokens (~1,500 characters)
__all__ = [
    "MAX_ARTICLE_BYTES",
    "ARTICLE_SUFFIXES",
    "Article",
    "Sentence",
    "load_article",
    "load_corpus",
    "parse_article",
]


class Sentence(BaseModel):
    """One sentence of an article: ``Article.text[start:end] == text``."""

    article_id: str
    index: int = Field(ge=0)
    text: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)

    @property
    def id(self) -> str:
        return f"{self.article_id}:{self.index}"


class Article(BaseModel):
    """A cleaned news article and its sentences."""

    id: str
    title: str
    outlet: str | None = None
    published: date | None = None
    text: str
    sentences: list[Sentence]
    sha256: str
    source: str = ""  # the file's path inside the corpus folder, or the link it came from
    language: str = "id"  # "id" or "en" (rag.language)
    format: str = "text"  # the reader that read it: text, markdown, html, pdf

    @model_validator(mode="after")
    def _spans_match(self) -> Article:
        for s in self.sentences:
            if self.text[s.start : s.end] != s.text or s.article_id != self.id:
                raise ValueError(f"sentence {s.index} of {self.id} does not match its span")
        return self


class SkippedFile(BaseModel):
    """A file that ``load_corpus`` could not read as an article, and why."""

    path: str
    reason: str


# ----------------------------------------------------------------------------- files and ids

SAFE_ID = re.compile(r"[A-Za-z0-9_-]+")


def read_article_file(path: Path, max_bytes: int = MAX_ARTICLE_BYTES) -> tuple[str, str]:
    """Return (raw text, sha256 of the bytes) of a text file; ``ArticleError`` when it is not one."""
    doc = (
        read_text(path.read_bytes(), path.name)
        if path.suffix.lower() in (".txt", ".md")
        else read_path(path, max_bytes)
    )
    return doc.text, doc.sha256


def slug(text: str, limit: int = 60) -> str:
    """ASCII letters, digits and ``-``: ``Berita Jakarta (1)/Soekarno`` → ``berita-jakarta-1-soekarno``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:limit].strip("-") or "article"


def article_id_for(path: Path, root: Path | None = None, *, plain_stem: bool = True) -> str:
    """The id of the article at ``path`` in the corpus folder ``root`` (see module docstring).
    ``plain_stem=False`` forces slug + hash (two top-level files share a stem: ``a.txt``, ``a.html``)."""
    relative = path.name
    if root is not None:
        try:
            relative = path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            relative = path.name
    stem = path.stem.strip()
    if plain_stem and "/" not in relative and SAFE_ID.fullmatch(stem):
        return stem
    digest = hashlib.sha1(unicodedata.normalize("NFC", relative).encode("utf-8")).hexdigest()[:8]
    return f"{slug(relative.rsplit('.', 1)[0])}-{digest}"


def corpus_files(folder: Path) -> list[Path]:
    """Every article file under ``folder`` (any format in ``READERS``), in a stable order."""
    if not folder.is_dir():
        raise ArticleError(f"Corpus folder not found: {folder}")
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix.lower() in ARTICLE_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def corpus_ids(folder: Path, files: list[Path] | None = None) -> dict[Path, str]:
    """The id of every article file under ``folder``."""
    files = corpus_files(folder) if files is None else files
    top_stems = Counter(p.stem for p in files if p.parent.resolve() == folder.resolve())
    return {p: article_id_for(p, folder, plain_stem=top_stems[p.stem] <= 1) for p in files}


def source_for(path: Path, root: Path | None, doc: RawDocument) -> str:
    """What a citation shows as the article's source: its link, else its path in the corpus."""
    if doc.source:
        return doc.source
    if root is not None:
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            pass
    return path.name


def load_article(
    path: Path,
    max_bytes: int = MAX_ARTICLE_BYTES,
    *,
    root: Path | None = None,
    article_id: str | None = None,
    furniture: frozenset[str] = frozenset(),
) -> Article:
    """Read one file into an ``Article``; ``ArticleError`` if it cannot be read (empty, binary, not
    UTF-8, a scanned PDF…). ``root`` is the corpus folder (ids and sources are relative to it)."""
    doc = read_path(path, max_bytes)
    article = parse_document(article_id or article_id_for(path, root), doc, furniture=furniture)
    article.source = source_for(path, root, doc)
    return article


def save_link(url: str, folder: Path, max_bytes: int = MAX_ARTICLE_BYTES) -> tuple[Path, bool]:
    """Fetch ``url`` into ``folder/links/`` (the page with its "saved from" line, so the corpus folder
    keeps the article and its link); returns the file and whether it was there before.
    ``FetchError``/``ArticleError`` when the page cannot be fetched or has no article text."""
    page, _ = read_link(url, max_bytes=max_bytes)  # read once: a page without article text is refused here
    target = (
        folder
        / "links"
        / f"{slug(url.split('://', 1)[-1], 80)}-{hashlib.sha1(url.strip().encode()).hexdigest()[:8]}.html"
    )
    existed = target.exists()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(page.saved_bytes())
    return target, existed


def _group_of(path: Path, doc: RawDocument) -> str:
    """Which articles count as one outlet for ``recurring_lines``: the outlet the format or the
    dateline names, else the site of the link, else the folder."""
    outlet = doc.outlet or find_outlet(_first_body_line(doc.text))
    if outlet:
        return f"outlet:{outlet.lower()}"
    if doc.source:
        return "site:" + re.sub(r"^https?://(?:www\.)?([^/:]+).*$", r"\1", doc.source).lower()
    return f"folder:{path.parent}"


def load_corpus_report(folder: Path, max_bytes: int = MAX_ARTICLE_BYTES) -> tuple[list[Article], list[SkippedFile]]:
    """Load every article under ``folder``; files that cannot be read are returned with a reason."""
    skipped: list[SkippedFile] = []
    docs: list[tuple[Path, RawDocument]] = []
    files = corpus_files(folder)
    ids = corpus_ids(folder, files)
    for path in files:
        try:
            docs.append((path, read_path(path, max_bytes)))
        except ArticleError as exc:
            skipped.append(SkippedFile(path=str(path), reason=str(exc)))
    furniture = recurring_lines([(_group_of(p, d), d.text) for p, d in docs])
    articles: list[Article] = []
    for (path, doc), lines in zip(docs, furniture):
        article = parse_document(ids[path], doc, furniture=lines)
        article.source = source_for(path, folder, doc)
        if not article.sentences:
            skipped.append(SkippedFile(path=str(path), reason=f"{path.name}: no sentences after cleaning"))
            continue
        articles.append(article)
    return articles, skipped


def load_corpus(path: Path | str) -> list[Article]:
    """Every readable article under ``path`` (unreadable files are left out)."""
    return load_corpus_report(Path(path))[0]


# ----------------------------------------------------------------------------- furniture


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


def _unwrap(lines: list[str]) -> list[str]:
    """Join hard-wrapped lines back into paragraphs (PDF text, e-mails, 72-column files).

    A block of three or more lines between blank lines whose lines (but the last) are 30-110
    characters long and mostly end without sentence punctuation is one wrapped paragraph or more:
    its lines are joined, except before a list item and after a short line that ends a sentence.
    Elsewhere a line is joined to the next only when it breaks mid-sentence (it ends in a lower-case
    letter or a comma and the next begins in lower case)."""
    out: list[str] = []
    block: list[str] = []

    def flush() -> None:
        if not block:
            return
        body = block[:-1]
        wrapped = (
            len(block) >= 3
            and sum(1 for line in body if 30 <= len(line) <= 110) >= 0.6 * len(body)
            and max(len(line) for line in block) <= 130
            and sum(1 for line in body if line[-1] not in '.!?…"”') >= len(body) / 2
            and sum(1 for line in block[1:] if line[:1].islower() or line[:1].isdigit()) >= len(body) / 2
        )
        width = max(len(line) for line in block)
        current = block[0]
        last = len(current)  # length of the last physical line joined into ``current``
        for line in block[1:]:
            ends_sentence = current[-1] in '.!?…"”:'
            if is_furniture_phrase(line) or _is_date_line(line):
                join = False
            elif wrapped:  # a line well short of the width ends its paragraph, as does a sentence end short of it
                join = not _LIST_ITEM.match(line) and last >= 0.6 * width and not (ends_sentence and last < 0.8 * width)
            else:
                join = (current[-1].islower() or current[-1] == ",") and line[:1].islower()
            if join:
                current = current + line if current.endswith("-") and line[:1].islower() else f"{current} {line}"
            else:
                out.append(current)
                current = line
            last = len(line)
        out.append(current)
        block.clear()

    for line in lines:
        if line:
            block.append(line)
        else:
            flush()
            out.append("")
    flush()
    return out


# ----------------------------------------------------------------------------- metadata

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


# ----------------------------------------------------------------------------- cleaning


@dataclass
class _Cleaned:
    title: str | None
    outlet: str | None
    published: date | None = None
    paragraphs: list[str] = field(default_factory=list)
    headings: set[int] = field(default_factory=set)


def _clean(raw: str, furniture: frozenset[str] = frozenset(), title_hint: str | None = None) -> _Cleaned:
    lines = _unwrap(_raw_lines(raw))
    marked = {line.lstrip("#").strip() for line in lines if line.startswith("#")}  # Markdown headings
    lines = [line.lstrip("#").strip() if line.startswith("#") else line for line in lines]
    rules = _furniture()
    kept: list[str] = []
    for line in lines:
        if not line or _line_key(line) in furniture:
            continue
        line = rules.inline.sub("", rules.leading_byline.sub("", line)).strip()
        line = rules.trailing_byline.sub("", line).strip()
        if not line or rules.phrases.match(line):
            continue
        line = _drop_image_credit(line).strip()
        if line:
            kept.append(line)

    # The header: the lines before the first line of running text. Its date lines give the date
    # (and go: they are not sentences); its short labels (section, masthead) go.
    first_body = next((i for i, line in enumerate(kept) if _is_body(line)), len(kept))
    header_lines: list[str] = []
    body: list[str] = []
    for i, line in enumerate(kept):
        if i < first_body:
            if _is_date_line(line):
                header_lines.append(line)
                continue
            if (
                _is_label(line, 3)
                and line not in marked
                and not (not body and _is_heading(line) and len(line.split()) >= 2 and title_hint is None)
            ):
                continue
        body.append(line)
    # The footer: labels after the last line of running text ("Berita Terkait", "Lihat Semua").
    last_body = max((i for i, line in enumerate(body) if _is_body(line)), default=len(body) - 1)
    body = body[: last_body + 1] + [line for line in body[last_body + 1 :] if not _is_label(line, 4)]

    # A headline: the format's title, or the first line when it reads as one (two words or more);
    # its repeats go.
    title: str | None = title_hint
    if not title and body and _is_heading(body[0]) and len(body[0].split()) >= 2:
        title = body[0]
    if title:
        prefix = title.rstrip(" .").lower()
        body = [
            line
            for line in body
            if not (
                line.rstrip(" .").lower() == prefix
                or (len(line) >= 20 and _is_heading(line) and prefix.startswith(line.rstrip(" .").lower()))
            )
        ]
    cleaned = _Cleaned(title=title, outlet=None, paragraphs=body)
    cleaned.headings = {i for i, line in enumerate(body) if _is_heading(line) and not carries_content(line)}
    if body:
        cleaned.outlet = find_outlet(body[0])
    cleaned.published = find_published("\n\n".join(body), header_lines)
    return cleaned


def _derive_title(first_sentence: str, outlet_prefix: int) -> str:
    text = first_sentence[outlet_prefix:].strip()
    if len(text) <= 100:
        return text.rstrip(".")
    cut = text[:100].rsplit(" ", 1)[0]
    return cut.rstrip(",;: ") + "…"


def parse_document(article_id: str, doc: RawDocument, *, furniture: frozenset[str] = frozenset()) -> Article:
    """A read document as an ``Article``: the format's metadata first, then the text's."""
    article = parse_article(
        article_id,
        doc.text,
        doc.sha256,
        furniture=furniture,
        title=doc.title,
        outlet=doc.outlet,
        published=None if doc.format == "pdf" else doc.published,
        source=doc.source or "",
        format=doc.format,
    )
    if article.published is None and doc.published is not None:
        article.published = doc.published  # a PDF's creation date: the day it was printed, so only a fallback
    return article


def parse_article(
    article_id: str,
    raw: str,
    sha256: str,
    *,
    furniture: frozenset[str] = frozenset(),
    title: str | None = None,
    outlet: str | None = None,
    published: date | None = None,
    source: str = "",
    format: str = "text",
    language: str | None = None,
) -> Article:
    """Clean ``raw`` text and split it into sentences (see module docstring); ``title``, ``outlet``
    and ``published`` are what the format stated, and win over what the text states."""
    cleaned = _clean(raw, furniture, title)
    text = "\n\n".join(cleaned.paragraphs)
    language = language or detect_text_language(text)
    sentences: list[Sentence] = []
    offset = 0
    for i, paragraph in enumerate(cleaned.paragraphs):
        if i not in cleaned.headings:
            for start, end in paragraph_sentences(paragraph, language):
                sentences.append(
                    Sentence(
                        article_id=article_id,
                        index=len(sentences),
                        text=paragraph[start:end],
                        start=offset + start,
                        end=offset + end,
                    )
                )
        offset += len(paragraph) + 2
    title = cleaned.title
    if not title:
        first = sentences[0].text if sentences else article_id
        dateline, _ = _dateline(first)
        title = _derive_title(first, dateline.end() if dateline else 0)
    return Article(
        id=article_id,
        title=title,
        outlet=outlet or cleaned.outlet,
        published=published or cleaned.published,
        text=text,
        sentences=sentences,
        sha256=sha256,
        source=source,
        language=language,
        format=format,
    )


# ----------------------------------------------------------------------------- sentence splitting

ABBREVIATIONS = pack("id").abbreviations  # Indonesian's, kept for callers that read the list
_OPEN_QUOTES = "“‘«"
_CLOSE_QUOTES = "”’»"
_CLOSERS = "\"'”’»)]"
_BOUNDARY = re.compile(r"[.!?…]+")
# Footnote references after a sentence's stop ("… di dunia.[1][2] Lebih dari …", Wikipedia and
# papers): they belong to the sentence they close, and the next sentence starts after them.
_FOOTNOTE_REFS = re.compile(r"(?:\[\d{1,3}\])+")
_NON_SPACE = re.compile(r"\S")


def _token_before(paragraph: str, start: int, stop: int) -> str:
    """The run of word characters and dots that ends at ``stop`` (not before ``start``)."""
    i = stop
    while i > start and (paragraph[i - 1].isalnum() or paragraph[i - 1] in "._"):
        i -= 1
    return paragraph[i:stop]


def _quote_depths(paragraph: str) -> list[int] | None:
    """Quotation depth at each character; ``None`` if quotes do not balance (then ignore them)."""
    depths = [0] * (len(paragraph) + 1)
    depth = 0
    straight_open = False
    for i, ch in enumerate(paragraph):
        if ch in "“«":
            depth += 1
        elif ch in "”»" and depth > 0:
            depth -= 1
        elif ch == '"':
            prev = paragraph[i - 1] if i else " "
            if not straight_open and (prev.isspace() or prev in "([{—–-"):
                straight_open = True
                depth += 1
            elif straight_open:
                straight_open = False
                depth -= 1
        depths[i + 1] = depth
    return depths if depth == 0 and not straight_open else None


def split_sentences(paragraph: str, language: str = "id") -> list[tuple[int, int]]:
    """Character spans of the sentences in one paragraph (one line of clean text), by the rules of
    ``language``'s pack (they differ in the abbreviations that do not end a sentence)."""
    rules = pack(language)
    abbreviations, number_abbreviations = rules.abbreviations, rules.number_abbreviations
    depths = _quote_depths(paragraph)
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _BOUNDARY.finditer(paragraph):
        end = m.end()
        while end < len(paragraph) and paragraph[end] in _CLOSERS:
            end += 1
        refs = _FOOTNOTE_REFS.match(paragraph, end)
        if refs:
            end = refs.end()
        # no slicing of the rest of the paragraph here: that made long lines quadratic
        if not paragraph[end : end + 1].isspace():
            continue  # "10.000", "6,7", "A.S.", "Rp.5" and "...)" mid-token never end a sentence
        nxt = _NON_SPACE.search(paragraph, end)
        following = nxt.group() if nxt else ""
        if not following or not (following.isupper() or following.isdigit() or following in '"“‘(«['):
            continue
        if m.group().startswith(".") and len(m.group()) == 1:
            token = _token_before(paragraph, start, m.start()).lower()
            if token in abbreviations or (len(token) == 1 and token.isalpha()) or re.fullmatch(r"(?:\w\.)+\w", token):
                continue
            if token in number_abbreviations and following.isdigit():
                continue
        if depths is not None and depths[end] > 0:
            continue  # inside a quotation: the quotation stays one sentence
        piece = paragraph[start:end].strip()
        if piece:
            lead = len(paragraph[start:end]) - len(paragraph[start:end].lstrip())
            spans.append((start + lead, start + lead + len(piece)))
        start = end
    piece = paragraph[start:].strip()
    if piece:
        lead = len(paragraph[start:]) - len(paragraph[start:].lstrip())
        spans.append((start + lead, start + lead + len(piece)))
    return spans


# ----------------------------------------------------------------------------- long and odd lines

_CLAUSE_BREAKS = (
    ("; ", 1),
    (" — ", 2),
    (" – ", 2),
    (" - ", 2),
    (": ", 1),
    (", ", 1),
    (" (", 0),
)  # (mark, cut after n chars)


def cap_span(paragraph: str, start: int, end: int, limit: int = MAX_SENTENCE_CHARS) -> list[tuple[int, int]]:
    """``paragraph[start:end]`` in pieces of at most ``limit`` characters: cut after the last clause
    break (``;``, a dash, ``:``, ``,``) in the second half of each window, else at the last space,
    else hard at ``limit``. Only whitespace falls between pieces: no text is lost. Linear."""
    pieces: list[tuple[int, int]] = []
    while end - start > limit:
        window = paragraph[start : start + limit + 1]
        cut = -1
        for mark, keep in _CLAUSE_BREAKS:
            at = window.rfind(mark, limit // 2, limit)
            if at > 0:
                cut = at + keep
                break
        if cut <= 0:
            at = window.rfind(" ", limit // 2)
            cut = at if at > 0 else limit
        piece_end = start + cut
        while piece_end > start and paragraph[piece_end - 1].isspace():
            piece_end -= 1
        pieces.append((start, piece_end))
        start = start + cut
        while start < end and paragraph[start].isspace():
            start += 1
    if end > start:
        pieces.append((start, end))
    return pieces


def paragraph_sentences(paragraph: str, language: str = "id", limit: int = MAX_SENTENCE_CHARS) -> list[tuple[int, int]]:
    """The sentences of one clean paragraph: a list item is one sentence (its bullet left out of
    the span), others split by ``split_sentences``; each at most ``limit`` characters."""
    bullet = _LIST_ITEM.match(paragraph)
    if bullet:
        spans = [(bullet.end() + a, bullet.end() + b) for a, b in split_sentences(paragraph[bullet.end() :], language)]
    else:
        spans = split_sentences(paragraph, language)
    return [piece for start, end in spans for piece in cap_span(paragraph, start, end, limit)]
