"""Files and links → articles: which files make the corpus, their ids, and loading them.

Ids: a file at the top of the corpus folder whose stem is already a safe id (``[A-Za-z0-9_-]+``) keeps
its stem as id; any other file (spaces, punctuation, non-ASCII, subfolders) gets a slug of its relative
path plus a short hash of it, so ids are unique across subfolders and stable across runs.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from pathlib import Path

from pydantic import BaseModel

from ..errors import ArticleError
from ..readers import MAX_ARTICLE_BYTES, SUFFIXES, RawDocument, read_link, read_path, read_text
from .article import Article
from .dateline import _first_body_line, find_outlet
from .furniture import recurring_lines
from .sentences import parse_document

ARTICLE_SUFFIXES = SUFFIXES


class SkippedFile(BaseModel):
    """A file that ``load_corpus`` could not read as an article, and why."""

    path: str
    reason: str


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
