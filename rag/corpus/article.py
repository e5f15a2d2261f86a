"""The article and sentence models, on their own so that the modules that build them (``files``,
``sentences``) and the index that stores them share one definition without importing each other."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field, model_validator


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
