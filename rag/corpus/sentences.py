"""Clean text → sentences with character offsets, the units that are indexed and cited.

Cleaning unwraps hard-wrapped lines, drops furniture, header date lines and labels, and finds the title.
Sentences follow the article's language: its pack's abbreviations (Indonesian ``dll.``, ``Jl.``; English
``Mr.``, ``e.g.``, ``Jan.``) around rules every language shares (``10.000``, ``6,7``, ``(25/11/2024)``,
``U.S.``). A sentence longer than ``MAX_SENTENCE_CHARS`` is cut at a clause boundary, else at a space,
never losing text; list items and short lines that carry a figure are sentences of their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from ..language import detect_text_language
from ..languages import pack
from ..readers import RawDocument
from .article import Article, Sentence
from .dateline import _dateline, find_outlet
from .dates import _is_date_line, find_published
from .furniture import (
    _LIST_ITEM,
    _drop_image_credit,
    _furniture,
    _is_body,
    _is_heading,
    _is_label,
    _line_key,
    _raw_lines,
    carries_content,
    is_furniture_phrase,
)

MAX_SENTENCE_CHARS = 500  # the longest seed sentence is 336; e5 reads 512 tokens (~1,500 characters)


# ----------------------------------------------------------------------------- cleaning


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
