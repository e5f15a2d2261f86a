"""Uploaded files and links → checked articles → saved under ``corpus_dir`` → indexed.

Every file (any format of ``rag.readers.READERS``: .txt, .md, .html, .htm, .pdf) or link gets one
``UploadResult``: ``added``, ``duplicate`` (the same article is already indexed, byte for byte or as
the same cleaned text) or ``rejected`` (wrong type, too large, empty, not UTF-8, binary, a scanned
PDF, a page that cannot be fetched, no sentences) with a reason a user can act on. A link's page is
saved under ``corpus_dir/links/`` with its URL, which citations show as the source.

Saved names are sanitised (letters, digits, ``.``, ``-``, ``_``; no directories), files are
created exclusively (never overwriting), and the final path is checked to lie inside
``corpus_dir``. A different article whose name is taken gets a ``-2``, ``-3``… suffix.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rag.corpus import ARTICLE_SUFFIXES, Article, article_id_for, load_article, save_link
from rag.errors import ArticleError, KutipError
from rag.qa import QA

Status = Literal["added", "duplicate", "rejected"]
MAX_STEM = 80


@dataclass
class UploadResult:
    name: str  # the name the user gave the file
    status: Status
    message: str
    article_id: str | None = None
    title: str | None = None


def display_name(name: str) -> str:
    """The file's own name without any directories (as the user knows it)."""
    return re.split(r"[\\/]", name)[-1] or "file"


def safe_stem(name: str) -> str:
    """A file stem usable as an article id: ASCII letters, digits, ``.``, ``-``, ``_`` only."""
    stem = os.path.splitext(display_name(name))[0]
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    stem = re.sub(r"[^\w.\-]+", "-", stem).strip(".-_")
    stem = re.sub(r"\.{2,}", ".", stem)[:MAX_STEM].strip(".-_")
    return stem or "article"


def _reason(exc: ArticleError, staged: Path) -> str:
    """The ``ArticleError`` message without the staging file's name in front."""
    text = str(exc)
    prefix = f"{staged.name}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def _free_id(stem: str, taken: set[str], folder: Path, suffix: str) -> str:
    candidate, n = stem, 1
    while candidate in taken or any((folder / f"{candidate}{s}").exists() for s in ARTICLE_SUFFIXES):
        n += 1
        candidate = f"{stem}-{n}"
    return candidate


def _inside(folder: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _same_text(qa: QA, article: Article) -> str | None:
    """Id of an indexed article with the same bytes, or the same cleaned text, or ``None``."""
    records = qa.index.complete_articles()
    for rid, record in records.items():
        if record.sha256 == article.sha256:
            return rid
    for rid, record in records.items():
        if (
            record.n_sentences == len(article.sentences)
            and record.title == article.title
            and qa.index.article_text(rid) == article.text
        ):
            return rid
    return None


def check_file(qa: QA, name: str, path: Path, staging: Path) -> tuple[UploadResult | None, Article | None]:
    """Validate one uploaded file; a result when it is rejected or a duplicate, else the article."""
    shown = display_name(name)
    suffix = os.path.splitext(shown)[1].lower()
    if suffix not in ARTICLE_SUFFIXES:
        kind = suffix or "no extension"
        accepted = ", ".join(ARTICLE_SUFFIXES)
        return UploadResult(
            shown, "rejected", f"wrong file type ({kind}); the article types accepted are {accepted}"
        ), None
    limit = qa.settings.max_upload_bytes
    try:
        size = path.stat().st_size
    except OSError as exc:
        return UploadResult(shown, "rejected", f"cannot be read ({exc.strerror or exc})"), None
    if size > limit:
        return UploadResult(shown, "rejected", f"too large ({size:,} bytes; the limit is {limit:,})"), None
    staged = staging / f"{safe_stem(shown)}{suffix}"
    shutil.copyfile(path, staged)
    try:
        article = load_article(staged, limit)
        article.source = str(staged)  # save_and_index copies these bytes into the corpus
    except ArticleError as exc:
        return UploadResult(shown, "rejected", _reason(exc, staged)), None
    if not article.sentences:
        return UploadResult(shown, "rejected", "no sentences left after cleaning"), None
    existing = _same_text(qa, article)
    if existing is not None:
        record = qa.index.complete_articles().get(existing)
        title = record.title if record else existing
        return UploadResult(
            shown, "duplicate", f"already in the corpus as “{title}” ({existing})", existing, title
        ), None
    return None, article


def save_and_index(qa: QA, name: str, article: Article, progress: Callable[[str], None] | None = None) -> UploadResult:
    """Write the article's bytes into ``corpus_dir`` under a free, safe name, then index it."""
    shown = display_name(name)
    folder = qa.settings.corpus_dir
    folder.mkdir(parents=True, exist_ok=True)
    suffix = os.path.splitext(shown)[1].lower()
    taken = set(qa.index.records(fresh=True))
    article_id = _free_id(safe_stem(shown), taken, folder, suffix)
    target = folder / f"{article_id}{suffix}"
    if not _inside(folder, target):
        return UploadResult(shown, "rejected", "unsafe file name")
    data = Path(article.source).read_bytes()  # check_file's staged copy
    try:
        with open(target, "xb") as fh:  # exclusive: never overwrite a file in the corpus
            fh.write(data)
    except OSError as exc:
        return UploadResult(shown, "rejected", f"cannot be saved in the corpus folder ({exc.strerror or exc})")
    try:
        saved = load_article(target, qa.settings.max_upload_bytes, root=folder)
        if progress:
            progress(f"indexing {len(saved.sentences)} sentences")
        qa.index.ingest([saved], corpus=folder.resolve())
    except (KutipError, RuntimeError) as exc:
        target.unlink(missing_ok=True)
        return UploadResult(shown, "rejected", f"could not be indexed: {exc}")
    renamed = f" (saved as {target.name})" if target.stem != safe_stem(shown) or target.name != shown else ""
    return UploadResult(shown, "added", f"added: {len(saved.sentences)} sentences{renamed}", saved.id, saved.title)


def add_link(qa: QA, url: str) -> UploadResult:
    """Fetch ``url`` (``rag.readers.fetch_page``: http/https, timeouts, size limit, bounded redirects),
    save the page under ``corpus_dir/links/`` and index it; the link is the article's source."""
    url = (url or "").strip()
    folder = qa.settings.corpus_dir
    try:
        target, existed = save_link(url, folder, qa.settings.max_upload_bytes)
    except KutipError as exc:
        message = str(exc)
        return UploadResult(url, "rejected", message[len(url) + 2 :] if message.startswith(f"{url}: ") else message)
    try:
        article = load_article(
            target, qa.settings.max_upload_bytes, root=folder, article_id=article_id_for(target, folder)
        )
        if not article.sentences:
            raise ArticleError("no sentences left after cleaning")
        existing = _same_text(qa, article)
        if existing is not None:
            if not existed:
                target.unlink(missing_ok=True)
            record = qa.index.complete_articles().get(existing)
            title = record.title if record else existing
            return UploadResult(url, "duplicate", f"already in the corpus as “{title}” ({existing})", existing, title)
        qa.index.ingest([article], corpus=folder.resolve())
    except (KutipError, RuntimeError) as exc:
        if not existed:
            target.unlink(missing_ok=True)
        return UploadResult(url, "rejected", f"could not be added: {exc}")
    verb = "updated" if existed else "added"
    return UploadResult(
        url,
        "added",
        f"{verb}: {len(article.sentences)} sentences from the page (saved as links/{target.name})",
        article.id,
        article.title,
    )


def process_uploads(
    qa: QA, files: Iterable[tuple[str, Path]], progress: Callable[[int, str], None] | None = None
) -> Iterator[UploadResult]:
    """Check, save and index each ``(original name, uploaded path)``; yields one result per file."""
    with tempfile.TemporaryDirectory(prefix="kutip-upload-") as tmp:
        for i, (name, path) in enumerate(files):
            staging = Path(tmp) / str(i)
            staging.mkdir()
            if progress:
                progress(i, f"checking {display_name(name)}")
            result, article = check_file(qa, name, Path(path), staging)
            if result is None and article is not None:
                result = save_and_index(
                    qa,
                    name,
                    article,
                    (lambda msg, i=i, name=name: progress(i, f"{display_name(name)}: {msg}")) if progress else None,
                )
            assert result is not None
            yield result
