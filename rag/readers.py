"""Files and links → raw text plus what the format says about it (title, outlet, date, source).

One map, ``READERS``, from a file suffix to its reader; ``kutip ingest``, the UI upload and the corpus
loader (so the eval too) all read through it, so adding a format is one entry here. A reader gets the
file's bytes and the name to show in messages, and returns a ``RawDocument`` or raises
``ArticleError`` with a message a user can act on ("NAME: why").

- ``.txt`` / ``.md``: UTF-8 text, as written (the cleaner in ``rag.corpus`` does the rest).
- ``.html`` / ``.htm``: trafilatura's main-text extraction (navigation, related links, ads and comments
  dropped) with its metadata: title, site name, and the publication date htmldate finds in meta tags,
  JSON-LD and time elements (not in the running text: a date in the body is an event's).
- ``.pdf``: pypdf's text layer, page by page, and the PDF's own title and creation date. A PDF whose
  pages have no text layer (a scan) is refused: it would be indexed empty.
- a link (``fetch_page``): fetched with httpx (http/https only, timeouts, a size limit, bounded
  redirects) and read as HTML; the URL is the article's source. A fetched page is saved with the
  browsers' ``<!-- saved from url=(N)URL -->`` line, which ``read_html`` reads back, so a saved page
  (by kutip or by a browser) keeps its link as its source.

Measured choices (scripts/bench_readers.py, README "Formats"): pypdf over pdfminer.six and
pdfplumber, trafilatura for HTML.
"""

from __future__ import annotations

import hashlib
import io
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

from .errors import ArticleError, FetchError
from .languages import Packs, alternatives, packs
from .settings import MAX_ARTICLE_BYTES

MIN_TEXT_CHARS = 20  # fewer letters than this in a whole page or PDF: no article text to speak of


@dataclass
class RawDocument:
    """What a reader got out of one file or page: text to clean, and the format's own metadata."""

    text: str
    sha256: str
    format: str
    title: str | None = None
    outlet: str | None = None
    published: date | None = None
    source: str | None = None  # a link, when the document came from (or names) one


Reader = Callable[[bytes, str], RawDocument]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ----------------------------------------------------------------------------- text


def read_text(data: bytes, name: str) -> RawDocument:
    """A UTF-8 text or Markdown file; ``ArticleError`` when it is binary or another encoding."""
    if b"\x00" in data:
        raise ArticleError(f"{name}: binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleError(f"{name}: not UTF-8 (byte {exc.start}); save it as UTF-8") from exc
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t")
    if controls > max(8, len(text) // 100):
        raise ArticleError(f"{name}: looks binary ({controls} control characters)")
    return RawDocument(text=text, sha256=_sha(data), format="markdown" if name.lower().endswith(".md") else "text")


# ----------------------------------------------------------------------------- HTML

_SAVED_FROM = re.compile(rb"<!--\s*saved from url=\(\d+\)\s*(\S+?)\s*-->", re.IGNORECASE)


def _iso_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def read_html(data: bytes, name: str) -> RawDocument:
    """A web page: its main text and metadata, by trafilatura (see module docstring)."""
    import trafilatura

    saved = _SAVED_FROM.search(data[:2048])
    source = saved.group(1).decode("utf-8", "replace") if saved else None
    try:
        doc = trafilatura.bare_extraction(
            data,
            url=source,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            include_links=False,
            include_images=False,
            deduplicate=False,  # trafilatura's duplicate filter is process-wide: a page read twice would come back empty
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except Exception as exc:
        raise ArticleError(f"{name}: not a readable web page ({type(exc).__name__})") from exc
    doc_any: Any = doc  # trafilatura returns a Document (output_format="python") or None
    text = (getattr(doc_any, "text", None) or "").strip() if doc_any is not None else ""
    if sum(1 for ch in text if ch.isalpha()) < MIN_TEXT_CHARS:
        raise ArticleError(f"{name}: no article text found in the page (only navigation or scripts?)")
    return RawDocument(
        text=text,
        sha256=_sha(data),
        format="html",
        title=(doc_any.title or "").strip() or None,
        outlet=(doc_any.sitename or "").strip() or None,
        published=_iso_date(doc_any.date),
        source=source
        or (
            doc_any.url
            if getattr(doc_any, "url", None) and str(doc_any.url).startswith(("http://", "https://"))
            else None
        ),
    )


# ----------------------------------------------------------------------------- PDF


@lru_cache(maxsize=4)
def _page_furniture(languages: Packs) -> re.Pattern[str]:
    """A page-number line ("3", "Page 3 of 12", "halaman 3 dari 12"), in the words of every pack."""
    f = [p.furniture for p in languages.all]
    page = alternatives([w for x in f for w in x.page_words])
    of = "".join("|" + w for x in f for w in x.page_of)
    return re.compile(rf"^\s*(?:{page}\s*)?\d{{1,4}}(?:\s*(?:/{of})\s*\d{{1,4}})?\s*$", re.IGNORECASE)


def _pdf_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    m = re.match(r"(?:D:)?(\d{4})(\d{2})(\d{2})", str(value or ""))
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def read_pdf(data: bytes, name: str) -> RawDocument:
    """A PDF's text layer (pypdf), page numbers dropped; a PDF without text is refused."""
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ArticleError(f"{name}: the PDF is password-protected; save an unprotected copy")
        pages = [page.extract_text() or "" for page in reader.pages]
        info: Any = reader.metadata or {}
    except ArticleError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, AttributeError) as exc:
        raise ArticleError(f"{name}: not a readable PDF ({type(exc).__name__}: {exc})") from exc
    except Exception as exc:
        raise ArticleError(f"{name}: not a readable PDF ({type(exc).__name__})") from exc
    letters = sum(1 for page in pages for ch in page if ch.isalpha())
    if letters < MIN_TEXT_CHARS:
        raise ArticleError(
            f"{name}: no text layer in its {len(pages)} page(s) (a scanned or image-only PDF), so there is nothing "
            "to cite; run OCR on it first (for example: ocrmypdf in.pdf out.pdf) and add the result"
        )
    page_furniture = _page_furniture(packs())
    text = "\n\n".join(
        "\n".join(line for line in page.splitlines() if not page_furniture.match(line)) for page in pages
    )
    title = str(info.get("/Title") or "").strip() or None
    return RawDocument(
        text=text,
        sha256=_sha(data),
        format="pdf",
        title=title,
        published=_pdf_date(info.get("/CreationDate")),
    )


# ----------------------------------------------------------------------------- the map

READERS: dict[str, Reader] = {
    ".txt": read_text,
    ".md": read_text,
    ".html": read_html,
    ".htm": read_html,
    ".pdf": read_pdf,
}
SUFFIXES = tuple(READERS)


def supported(path: Path | str) -> bool:
    return Path(path).suffix.lower() in READERS


def read_bytes(data: bytes, name: str, max_bytes: int = MAX_ARTICLE_BYTES) -> RawDocument:
    """Read ``data`` with the reader for ``name``'s suffix; ``ArticleError`` says why it cannot be read."""
    reader = READERS.get(Path(name).suffix.lower())
    if reader is None:
        kinds = ", ".join(sorted(READERS))
        raise ArticleError(f"{name}: not an article type ({Path(name).suffix or 'no extension'}); kutip reads {kinds}")
    if len(data) > max_bytes:
        raise ArticleError(f"{name}: too large ({len(data):,} bytes; limit {max_bytes:,})")
    if not data.strip():
        raise ArticleError(f"{name}: empty file")
    return reader(data, name)


def read_path(path: Path, max_bytes: int = MAX_ARTICLE_BYTES) -> RawDocument:
    """Read one file through ``READERS``."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ArticleError(f"{path.name}: too large ({size:,} bytes; limit {max_bytes:,})")
        data = path.read_bytes()
    except OSError as exc:
        raise ArticleError(f"{path.name}: cannot be read ({exc.strerror or exc})") from exc
    return read_bytes(data, path.name, max_bytes)


# ----------------------------------------------------------------------------- links


@dataclass
class FetchedPage:
    url: str  # as asked
    final_url: str  # after redirects
    data: bytes

    def saved_bytes(self) -> bytes:
        """The page as kutip saves it: the browsers' "saved from" line, then the page."""
        return f"<!-- saved from url=({len(self.url):04d}){self.url} -->\n".encode() + self.data


def is_link(text: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", text.strip()))


def check_link(url: str) -> str:
    """The URL stripped; ``FetchError`` unless it is an http(s) link with a host."""
    url = url.strip()
    parsed = urlparse(url)
    if parsed.scheme.lower() not in ("http", "https"):
        raise FetchError(f"{url}: only http:// and https:// links can be added (not {parsed.scheme or 'no scheme'}://)")
    if not parsed.hostname:
        raise FetchError(f"{url}: the link has no host name")
    return url


def fetch_page(
    url: str,
    *,
    max_bytes: int = MAX_ARTICLE_BYTES,
    timeout_s: float = 15.0,
    max_redirects: int = 5,
    client: object | None = None,
) -> FetchedPage:
    """GET ``url`` (redirects followed by hand, each checked: at most ``max_redirects``, http/https
    only), reading at most ``max_bytes`` of body; ``FetchError`` with the reason otherwise."""
    import httpx

    current = check_link(url)
    timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0))
    deadline = time.monotonic() + 2 * timeout_s  # a server trickling bytes cannot hold the reader longer
    owned = client is None
    http = client or httpx.Client(
        timeout=timeout, follow_redirects=False, headers={"User-Agent": "kutip/0.1 (+article reader)"}
    )
    try:
        for _ in range(max_redirects + 1):
            try:
                with http.stream("GET", current, timeout=timeout) as response:  # type: ignore[attr-defined]
                    if response.is_redirect:
                        target = response.headers.get("location", "")
                        current = check_link(urljoin(current, target))
                        continue
                    if response.status_code >= 400:
                        raise FetchError(
                            f"{url}: the server answered HTTP {response.status_code} {response.reason_phrase}"
                        )
                    declared = response.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise FetchError(f"{url}: the page is too large ({int(declared):,} bytes; limit {max_bytes:,})")
                    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
                    if kind and not (kind.startswith("text/") or "html" in kind or "xml" in kind):
                        raise FetchError(f"{url}: not a web page ({kind}); download the file and add it instead")
                    body = bytearray()
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) > max_bytes:
                            raise FetchError(f"{url}: the page is too large (over {max_bytes:,} bytes)")
                        if time.monotonic() > deadline:
                            raise FetchError(
                                f"{url}: the page took longer than {2 * timeout_s:g} s to arrive (timed out)"
                            )
                    return FetchedPage(url=url.strip(), final_url=current, data=bytes(body))
            except httpx.TimeoutException as exc:
                raise FetchError(f"{url}: no answer within {timeout_s:g} s (timed out)") from exc
            except httpx.HTTPError as exc:
                raise FetchError(f"{url}: cannot be fetched ({type(exc).__name__}: {exc})") from exc
        raise FetchError(f"{url}: more than {max_redirects} redirects")
    finally:
        if owned:
            http.close()  # type: ignore[attr-defined]


def read_link(url: str, **kwargs: object) -> tuple[FetchedPage, RawDocument]:
    """Fetch ``url`` and read it as HTML; the document's source is the URL."""
    page = fetch_page(url, **kwargs)  # type: ignore[arg-type]
    doc = read_html(page.saved_bytes(), url)
    doc.source = page.url
    return page, doc
