"""What the index hands out: an article's manifest entry, a stored sentence, an ingest report."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel


class ArticleRecord(BaseModel):
    """What the index holds about one article (the manifest entry)."""

    id: str
    title: str
    outlet: str | None = None
    published: date | None = None
    sha256: str
    n_sentences: int
    complete: bool
    source: str = ""
    context_rule: int = 0
    language: str = "id"
    corpus: str = ""  # the corpus folder the article was synced from ("" = ingested directly)


class IngestReport(BaseModel):
    """What one ``ingest`` call did."""

    added: list[str] = []
    updated: list[str] = []
    skipped: list[str] = []
    removed: list[str] = []
    repaired: list[str] = []
    sentences: int = 0
    seconds: float = 0.0
    unreadable: list[str] = []  # files of the corpus folder that could not be read, with the reason
    switched_from: list[str] = []  # other corpus folders whose articles this sync removed

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.repaired)

    def summary(self) -> str:
        switched = f" (switched from {', '.join(self.switched_from)})" if self.switched_from else ""
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.skipped)} unchanged, "
            f"{len(self.removed)} removed{switched}, {len(self.repaired)} repaired; {self.sentences} sentences "
            f"written in {self.seconds:.1f} s"
        )


class StoredSentence(BaseModel):
    """A sentence as read back from the index, with its article's metadata."""

    id: str
    article_id: str
    index: int
    text: str
    title: str
    outlet: str | None = None
    published: date | None = None
    language: str = "id"  # the article's language
    source: str | None = None  # the article's file (path in the corpus folder) or link
    via_context: bool = False  # retrieval matched it through its context vector (with the sentence before)

    def reference(self) -> dict[str, Any]:
        """What a reader needs to find this sentence (the fields a ``Citation`` or ``Source`` shares)."""
        return {
            "article_id": self.article_id,
            "sentence_index": self.index,
            "sentence": self.text,
            "title": self.title,
            "outlet": self.outlet,
            "published": self.published,
            "source": self.source or None,
        }
