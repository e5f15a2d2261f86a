"""Files → articles → sentences.

``load_corpus(folder)`` reads every ``.txt``/``.md`` file, removes the page furniture that is not
the article (links, bylines, section labels, repeated headlines), finds the title, outlet and
publication date the text states, and splits the clean text into sentences with character
offsets, using rules that fit Indonesian news (numbers such as ``10.000`` and ``6,7``, dates such
as ``(25/11/2024)``, abbreviations, quotations).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pydantic import BaseModel, Field, model_validator

from .errors import ArticleError

ARTICLE_SUFFIXES = (".txt", ".md")
MAX_ARTICLE_BYTES = 2_000_000


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
    source: str = ""

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


# ----------------------------------------------------------------------------- reading files


def read_article_file(path: Path, max_bytes: int = MAX_ARTICLE_BYTES) -> tuple[str, str]:
    """Return (raw text, sha256 of the bytes); ``ArticleError`` when it is not a usable text file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ArticleError(f"{path.name}: cannot be read ({exc.strerror or exc})") from exc
    if len(raw) > max_bytes:
        raise ArticleError(f"{path.name}: too large ({len(raw):,} bytes; limit {max_bytes:,})")
    if not raw.strip():
        raise ArticleError(f"{path.name}: empty file")
    if b"\x00" in raw:
        raise ArticleError(f"{path.name}: binary file, not text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleError(f"{path.name}: not UTF-8 (byte {exc.start}); save it as UTF-8") from exc
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t")
    if controls > max(8, len(text) // 100):
        raise ArticleError(f"{path.name}: looks binary ({controls} control characters)")
    return text, hashlib.sha256(raw).hexdigest()


def article_id_for(path: Path) -> str:
    """An article's id is its file stem, limited to characters safe in ids and URLs."""
    stem = path.stem.strip()
    if not stem or not re.fullmatch(r"[\w.\-]+", stem):
        raise ArticleError(f"{path.name}: file name must be letters, digits, '.', '-' or '_'")
    return stem


def load_article(path: Path, max_bytes: int = MAX_ARTICLE_BYTES) -> Article:
    """Read one file into an ``Article``; ``ArticleError`` if it is empty, binary or not UTF-8."""
    raw, sha = read_article_file(path, max_bytes)
    article = parse_article(article_id_for(path), raw, sha)
    article.source = str(path)
    return article


def corpus_files(folder: Path) -> list[Path]:
    """Every article file under ``folder``, in a stable order."""
    if not folder.is_dir():
        raise ArticleError(f"Corpus folder not found: {folder}")
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in ARTICLE_SUFFIXES and not p.name.startswith(".")
    )


def load_corpus_report(folder: Path) -> tuple[list[Article], list[SkippedFile]]:
    """Load every article under ``folder``; files that cannot be read are returned with a reason."""
    articles: list[Article] = []
    skipped: list[SkippedFile] = []
    seen: dict[str, Path] = {}
    for path in corpus_files(folder):
        try:
            article = load_article(path)
        except ArticleError as exc:
            skipped.append(SkippedFile(path=str(path), reason=str(exc)))
            continue
        if not article.sentences:
            skipped.append(SkippedFile(path=str(path), reason=f"{path.name}: no sentences after cleaning"))
            continue
        if article.id in seen:
            skipped.append(SkippedFile(path=str(path), reason=f"{path.name}: same id as {seen[article.id].name}"))
            continue
        seen[article.id] = path
        articles.append(article)
    return articles, skipped


def load_corpus(path: Path | str) -> list[Article]:
    """Every readable ``.txt``/``.md`` article under ``path`` (unreadable files are left out)."""
    return load_corpus_report(Path(path))[0]


# ----------------------------------------------------------------------------- cleaning

_BYLINE = r"\((?:\*|[a-z]{2,5}(?:/[a-z]{2,5})?)\)"
_DROP_LINE = re.compile(
    r"^(?:berita terkait|terkini lainnya|lihat semua|no more pages|diposting pada|baca juga\b.*"
    r"|tonton video\b.*|advertisement|scroll to continue.*|" + _BYLINE + r")$",
    re.IGNORECASE,
)
_SECTION_LABELS = {
    "internasional", "nasional", "dunia", "ekonomi", "bisnis", "politik", "teknologi", "olahraga",
    "news", "berita", "world", "opini", "hukum", "militer", "global", "asia",
}
_LOGO = re.compile(r"^logo\s+(.{2,60})$", re.IGNORECASE)
_IMAGE_CREDIT_START = re.compile(r"\s*\((?:image|foto|photo|gambar)\s*(?:from|:)", re.IGNORECASE)
_LEADING_BYLINE = re.compile(r"^" + _BYLINE + r"\s+")
_TRAILING_BYLINE = re.compile(r"\s+" + _BYLINE + r"$")
_VIDEO_TAIL = re.compile(r"\s*tonton video di bawah ini\b.*$", re.IGNORECASE)
_DATELINE = re.compile(
    r"^(?:(?P<city>[A-Z][A-Za-z]+),\s+)?(?P<outlet>[A-Z][\w.&]*(?:\s+[A-Z][\w.&]*){0,3})\s+[–—-]\s+(?=\S)"
)
_DATE = re.compile(
    r"(?:(?:Senin|Selasa|Rabu|Kamis|Jumat|Jum'at|Sabtu|Minggu|Ahad),?\s*)\((\d{1,2})/(\d{1,2})/(\d{4})\)"
)
_TERMINAL = ".!?…\"”’'»)"


def _is_heading(line: str) -> bool:
    """A short line without final punctuation whose words are mostly capitalised."""
    if not line or line[-1] in _TERMINAL or line[-1] in ",;:":
        return False
    words = line.split()
    if len(words) > 14:
        return False
    capitalised = sum(1 for w in words if w[:1].isupper() or w[:1].isdigit())
    return capitalised >= max(1, (len(words) + 1) // 2)


def _drop_image_credit(line: str) -> str:
    """The line without a trailing ``(foto: …)`` / ``(image from …)`` credit, in linear time
    (a single ``…[^)]*\\)\\s*$`` regex took minutes on a long line of repeated ``(foto:``)."""
    close = line.rfind(")")
    if close < 0 or line[close + 1 :].strip():
        return line
    m = _IMAGE_CREDIT_START.search(line, line.rfind(")", 0, close) + 1)
    return line[: m.start()] if m else line


def _norm_line(line: str) -> str:
    return re.sub(r"\s+", " ", line).strip()


@dataclass
class _Cleaned:
    title: str | None
    outlet: str | None
    paragraphs: list[str] = field(default_factory=list)
    headings: set[int] = field(default_factory=set)


def _clean(raw: str) -> _Cleaned:
    text = unicodedata.normalize("NFC", raw).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    lines = [_norm_line(line) for line in text.split("\n")]
    lines = [line.lstrip("#").strip() if line.startswith("#") else line for line in lines]
    outlet: str | None = None
    kept: list[str] = []
    for line in lines:
        if not line:
            continue
        logo = _LOGO.match(line)
        if logo and not kept:
            outlet = logo.group(1).strip()
            continue
        line = _VIDEO_TAIL.sub("", _LEADING_BYLINE.sub("", line)).strip()
        line = _TRAILING_BYLINE.sub("", line).strip()
        if not line or _DROP_LINE.match(line):
            continue
        if not kept and line.lower() in _SECTION_LABELS:
            continue
        kept.append(_drop_image_credit(line).strip())

    # A headline: the first line when it reads as one, or any line repeated near the top.
    title: str | None = None
    if kept and _is_heading(kept[0]):
        title = kept[0]
    if title:
        prefix = title.rstrip(" .").lower()
        kept = [
            line for i, line in enumerate(kept)
            if not (line.rstrip(" .").lower() == prefix or (len(line) >= 20 and _is_heading(line) and prefix.startswith(line.rstrip(" .").lower())))
        ]
    cleaned = _Cleaned(title=title, outlet=outlet, paragraphs=kept)
    cleaned.headings = {i for i, line in enumerate(kept) if _is_heading(line)}
    if cleaned.paragraphs:
        m = _DATELINE.match(cleaned.paragraphs[0])
        if m and not outlet:
            cleaned.outlet = m.group("outlet").strip()
    return cleaned


def find_published(text: str) -> date | None:
    """The date the text states as ``Senin (25/11/2024)``; ``None`` when it states none."""
    for m in _DATE.finditer(text):
        day, month, year = (int(g) for g in m.groups())
        try:
            return date(year, month, day)
        except ValueError:
            continue
    return None


def _derive_title(first_sentence: str, outlet_prefix: int) -> str:
    text = first_sentence[outlet_prefix:].strip()
    if len(text) <= 100:
        return text.rstrip(".")
    cut = text[:100].rsplit(" ", 1)[0]
    return cut.rstrip(",;: ") + "…"


def parse_article(article_id: str, raw: str, sha256: str) -> Article:
    """Clean ``raw`` text and split it into sentences (see module docstring)."""
    cleaned = _clean(raw)
    text = "\n\n".join(cleaned.paragraphs)
    sentences: list[Sentence] = []
    offset = 0
    for i, paragraph in enumerate(cleaned.paragraphs):
        if i not in cleaned.headings:
            for start, end in split_sentences(paragraph):
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
        dateline = _DATELINE.match(first)
        title = _derive_title(first, dateline.end() if dateline else 0)
    return Article(
        id=article_id,
        title=title,
        outlet=cleaned.outlet,
        published=find_published(text),
        text=text,
        sentences=sentences,
        sha256=sha256,
    )


# ----------------------------------------------------------------------------- sentence splitting

ABBREVIATIONS = {
    "dll", "dsb", "dst", "dkk", "no", "nomor", "jl", "jln", "dr", "drs", "prof", "ir", "h", "hj", "st",
    "sdr", "tn", "ny", "bpk", "yth", "mr", "mrs", "ms", "jr", "sr", "vs", "hlm", "tel", "kol", "letjen",
    "mayjen", "brigjen", "jend", "kapt", "lt", "gen", "sen", "rep", "gov", "inc", "ltd", "co", "corp",
    "a.n", "u.p", "s.h", "s.e", "m.si", "ph.d", "etc", "e.g", "i.e", "approx", "est", "tsb", "ybs", "kab",
    "kec", "kel", "prov", "pt", "cv", "tbk", "bln", "thn", "tgl", "pk", "ca",
}
_OPEN_QUOTES = "“‘«"
_CLOSE_QUOTES = "”’»"
_CLOSERS = "\"'”’»)]"
_BOUNDARY = re.compile(r"[.!?…]+")
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


def split_sentences(paragraph: str) -> list[tuple[int, int]]:
    """Character spans of the sentences in one paragraph (one line of clean text)."""
    depths = _quote_depths(paragraph)
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _BOUNDARY.finditer(paragraph):
        end = m.end()
        while end < len(paragraph) and paragraph[end] in _CLOSERS:
            end += 1
        # no slicing of the rest of the paragraph here: that made long lines quadratic
        if not paragraph[end : end + 1].isspace():
            continue  # "10.000", "6,7", "A.S.", "Rp.5" and "...)" mid-token never end a sentence
        nxt = _NON_SPACE.search(paragraph, end)
        following = nxt.group() if nxt else ""
        if not following or not (following.isupper() or following.isdigit() or following in "\"“‘(«["):
            continue
        if m.group().startswith(".") and len(m.group()) == 1:
            token = _token_before(paragraph, start, m.start()).lower()
            if token in ABBREVIATIONS or (len(token) == 1 and token.isalpha()) or re.fullmatch(r"(?:\w\.)+\w", token):
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
