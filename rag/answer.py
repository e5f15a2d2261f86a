"""Retrieved sentences → prompt → LLM (streaming) → raw answer text with ``[n]`` markers.

The prompt is an unchanging prefix (system rules and one worked example, from ``prompts/``)
followed by a small variable part: the shown sentences, numbered, grouped under article title,
outlet and date, and the question. llama.cpp reuses the KV cache of the prefix across questions.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.llms.llm import LLM
from pydantic import BaseModel

from .index import StoredSentence

NO_ANSWER = "NO_ANSWER"
_REFUSALS = re.compile(
    r"NO[_ ]ANSWER|tidak (?:memuat|mengandung|menyebutkan|menjelaskan|ada informasi|terdapat informasi)|"
    r"(?:do(?:es)? not|don't|doesn't) (?:contain|mention|say|state|provide|include)|no information|"
    r"not (?:mentioned|stated|provided|specified)|tidak disebutkan|tidak dijelaskan|cannot be answered|"
    r"tidak dapat dijawab",
    re.IGNORECASE,
)


class Numbered(BaseModel):
    """A sentence as shown to the model under number ``n``."""

    n: int
    sentence: StoredSentence


@lru_cache(maxsize=64)
def _read(prompts_dir: Path, name: str) -> str:
    return (prompts_dir / name).read_text(encoding="utf-8").strip()


def prompt_text(prompts_dir: Path, name: str) -> str:
    """A prompt template from ``prompts/`` (cached)."""
    return _read(prompts_dir, name)


def number_sentences(sentences: Sequence[StoredSentence]) -> list[Numbered]:
    """Number sentences 1..N grouped by article (articles by first appearance, sentences in order)."""
    order: dict[str, int] = {}
    for s in sentences:
        order.setdefault(s.article_id, len(order))
    ranked = sorted(sentences, key=lambda s: (order[s.article_id], s.index))
    return [Numbered(n=i + 1, sentence=s) for i, s in enumerate(ranked)]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def short_title(title: str, limit: int = 50) -> str:
    """An article title on one line, cut at a word boundary with "…" when longer than ``limit``."""
    title = _one_line(title)
    return title if len(title) <= limit else title[: limit - 2].rsplit(" ", 1)[0] + "…"


def format_context(numbered: Sequence[Numbered]) -> str:
    """The numbered sentences under ``## title — outlet, date`` headers."""
    lines: list[str] = []
    current = None
    for item in numbered:
        s = item.sentence
        if s.article_id != current:
            current = s.article_id
            title = short_title(s.title)
            meta = ", ".join(x for x in (s.outlet, s.published.isoformat() if s.published else None) if x)
            lines.append(f"## {title}" + (f" — {meta}" if meta else ""))
        lines.append(f"[{item.n}] {_one_line(s.text)}")
    return "\n".join(lines)


LANGUAGE_NAMES = {"id": "Indonesian (Bahasa Indonesia)", "en": "English"}


def build_messages(prompts_dir: Path, numbered: Sequence[Numbered], question: str, language: str) -> list[ChatMessage]:
    """System rules + worked examples (fixed prefix), then this question's sentences and question."""
    user = prompt_text(prompts_dir, "question.txt").format(
        context=format_context(numbered), question=_one_line(question), language_name=LANGUAGE_NAMES[language]
    )
    return [*fixed_messages(prompts_dir), ChatMessage(role=MessageRole.USER, content=user)]


def fixed_messages(prompts_dir: Path) -> list[ChatMessage]:
    """The unchanging start of every answering prompt: the system rules, then each worked example
    (``prompts/examples/N_user.txt`` and its ``N_assistant.txt``) as a user turn and an answer.
    llama.cpp keeps it in its KV cache, so it is processed once per process, not per question."""
    messages = [ChatMessage(role=MessageRole.SYSTEM, content=prompt_text(prompts_dir, "system.txt"))]
    for name in _example_names(prompts_dir):
        messages.append(ChatMessage(role=MessageRole.USER, content=prompt_text(prompts_dir, f"examples/{name}_user.txt")))
        messages.append(ChatMessage(role=MessageRole.ASSISTANT, content=prompt_text(prompts_dir, f"examples/{name}_assistant.txt")))
    return messages


@lru_cache(maxsize=8)
def _example_names(prompts_dir: Path) -> tuple[str, ...]:
    """``N`` of every ``examples/N_user.txt``, in order (a missing answer file fails when read)."""
    users = sorted((prompts_dir / "examples").glob("*_user.txt"), key=lambda p: (len(p.name), p.name))
    return tuple(p.name.removesuffix("_user.txt") for p in users)


def generate(llm: LLM, messages: list[ChatMessage], **sampling: Any) -> Iterator[str]:
    """Stream the model's answer as text pieces (``sampling``: e.g. ``temperature``, ``seed``)."""
    for chunk in llm.stream_chat(messages, **sampling):
        if chunk.delta:
            yield chunk.delta


def condense_question(llm: LLM, prompts_dir: Path, question: str, history: Sequence[tuple[str, str]]) -> str:
    """Rewrite a follow-up into a standalone question using the last turns of ``history``."""
    turns = "\n".join(f"User: {_one_line(q)}\nAssistant: {_one_line(strip_markers(a))[:300]}" for q, a in history[-3:])
    prompt = prompt_text(prompts_dir, "condense.txt").format(history=turns, question=_one_line(question))
    reply = llm.chat([ChatMessage(role=MessageRole.USER, content=prompt)], max_tokens=60, temperature=0.0)
    text = _one_line(reply.message.content or "").strip().strip('"“”')
    text = re.sub(r"^(?:standalone question|pertanyaan)\s*:\s*", "", text, flags=re.IGNORECASE)
    return text if 3 <= len(text) <= 400 else question


MARKER = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")


def strip_markers(text: str) -> str:
    """The text without ``[n]`` markers and the spaces they leave."""
    text = MARKER.sub("", text)
    return re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", text)).strip()


def is_refusal(text: str) -> bool:
    """The model said the sentences do not answer the question."""
    return bool(_REFUSALS.search(text))
