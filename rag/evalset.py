"""The fixed question set (``eval/questions.yaml``): models, loading, gold-sentence resolution,
and the automatic judges shared by the evaluation, the tuning script and the tests."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel

from .corpus import Article
from .text import Language

QUESTIONS_FILE = Path(__file__).resolve().parent.parent / "eval" / "questions.yaml"


class GoldSentence(BaseModel):
    article_id: str
    text: str


class Question(BaseModel):
    """One evaluation item (``history`` only for follow-ups)."""

    id: str
    question: str
    language: Language
    category: str
    answerable: bool
    split: Literal["dev", "test"]
    gold_facts: list[list[str]] = []
    gold_sentences: list[GoldSentence] = []
    history: list[tuple[str, str]] = []


def load_questions(path: Path = QUESTIONS_FILE, split: str = "all") -> list[Question]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    questions = [Question.model_validate(q) for q in data["questions"]]
    return [q for q in questions if split == "all" or q.split == split]


def _norm(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").split())


def resolve_gold(question: Question, articles: dict[str, Article]) -> list[str]:
    """Sentence ids (``article_id:index``) of the gold sentences, matched on whitespace-normalised text."""
    ids = []
    for gold in question.gold_sentences:
        article = articles.get(gold.article_id)
        if article is None:
            raise KeyError(f"{question.id}: unknown article {gold.article_id}")
        target = _norm(gold.text)
        match = [s.id for s in article.sentences if _norm(s.text) == target]
        if not match:
            match = [s.id for s in article.sentences if target in _norm(s.text) or _norm(s.text) in target]
        if not match:
            raise KeyError(f"{question.id}: gold sentence not found in {gold.article_id}: {gold.text[:60]}")
        ids.append(match[0])
    return ids


def facts_found(text: str, facts: list[list[str]]) -> bool:
    """Every gold fact has at least one accepted spelling in ``text`` (case-insensitive, word-bounded)."""
    lowered = _norm(text).lower()
    for alternatives in facts:
        if not any(re.search(r"(?<!\w)" + re.escape(_norm(a).lower()) + r"(?!\w)", lowered) for a in alternatives):
            return False
    return True
