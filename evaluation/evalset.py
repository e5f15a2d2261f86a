"""Question sets: the fixed one (``eval/questions.yaml``) and benchmark folders in the public-data
format of ``../shared/bench/id-dev/`` (``questions.json`` + ``corpus/``); loading, gold-sentence
resolution, and the automatic judges shared by the evaluation, the tuning script and the tests."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel

from rag.corpus import Article
from rag.settings import Settings
from rag.text import Language

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
    evidence_mode: Literal["all", "any"] = "all"  # cite every gold sentence, or one of them
    history: list[tuple[str, str]] = []


def is_benchmark(path: Path) -> bool:
    """A benchmark folder (``questions.json`` and ``corpus/``) rather than a YAML question file."""
    return path.is_dir() and (path / "questions.json").is_file()


def load_questions(path: Path = QUESTIONS_FILE, split: str = "all") -> list[Question]:
    """The questions of a YAML set (``split`` dev/test/all) or of a benchmark folder (a dev set:
    every question has split ``dev``)."""
    if is_benchmark(path):
        data = json.loads((path / "questions.json").read_text(encoding="utf-8"))
        questions = [
            Question(
                id=q["id"],
                question=q["question"],
                language=q.get("lang", "id"),
                category="answerable" if q["answerable"] else "unanswerable",
                answerable=q["answerable"],
                split="dev",
                gold_facts=q.get("facts", []),
                evidence_mode=q.get("evidence", {}).get("mode", "any"),
                gold_sentences=[GoldSentence(article_id=a, text=t) for a, t in q.get("evidence", {}).get("items", [])],
            )
            for q in data["questions"]
        ]
    else:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        questions = [Question.model_validate(q) for q in data["questions"]]
    return [q for q in questions if split == "all" or q.split == split]


def corpus_of(path: Path) -> Path | None:
    """The corpus folder a benchmark brings (``None`` for a YAML set, which is asked of the seeds)."""
    return path / "corpus" if is_benchmark(path) else None


def settings_for(path: Path, settings: Settings) -> Settings:
    """``settings`` for asking the question set at ``path``: a benchmark brings its corpus, indexed
    in a data folder of its own (``data_dir/bench/<name>``); a YAML set is asked of the settings' corpus."""
    corpus = corpus_of(path)
    if corpus is None:
        return settings
    return settings.model_copy(
        update={"corpus_dir": corpus.resolve(), "data_dir": settings.data_dir / "bench" / path.resolve().name}
    )


def _norm(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").split())


def resolve_gold(question: Question, articles: dict[str, Article]) -> list[str]:
    """Sentence ids (``article_id:index``) of the gold sentences, matched on whitespace-normalised
    text. In ``any`` mode (benchmarks, whose sentence splitter differs from kutip's) every
    sentence that contains a gold sentence or lies inside it (25+ characters) counts."""
    if question.evidence_mode == "any":
        found = []
        for gold in question.gold_sentences:
            article = articles.get(gold.article_id)
            target = _norm(gold.text)
            found += [
                s.id
                for s in (article.sentences if article else [])
                if target in _norm(s.text) or (len(_norm(s.text)) >= 25 and _norm(s.text) in target)
            ]
        return list(dict.fromkeys(found))
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
