"""Prompt texts from ``prompts/`` (the abstention texts from the language packs, ``rag.languages``)
and the small text helpers every prompt uses.

The fixed prefix (system rules and worked examples) never changes between questions, so llama.cpp
keeps it in its KV cache and processes it once per process (``QA.warm`` primes it at start).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from llama_index.core.base.llms.types import ChatMessage, MessageRole

from .languages import pack

MARKER = re.compile(r"\[([A-Z0-9]{1,3}(?:\s*[,;]\s*[A-Z0-9]{1,3})*)\]")


_ABSTAIN = re.compile(r"abstain_([a-z]{2,3})\.txt")


@lru_cache(maxsize=64)
def _read(prompts_dir: Path, name: str) -> str:
    return (prompts_dir / name).read_text(encoding="utf-8").strip()


def abstain_text(language: str) -> str:
    """What kutip answers when it abstains, in ``language`` (its pack's ``abstain.txt``)."""
    return pack(language).abstain


def prompt_text(prompts_dir: Path, name: str) -> str:
    """A prompt template from ``prompts/`` (cached). ``abstain_<code>.txt`` is the language pack's
    abstention text unless ``prompts_dir`` has a file of that name."""
    wording = _ABSTAIN.fullmatch(name)
    if wording and not (prompts_dir / name).is_file():
        return abstain_text(wording.group(1))
    return _read(prompts_dir, name)


def one_line(text: str) -> str:
    return " ".join(text.split())


def short_title(title: str, limit: int = 50) -> str:
    """An article title on one line, cut at a word boundary with "…" when longer than ``limit``."""
    title = one_line(title)
    return title if len(title) <= limit else title[: limit - 2].rsplit(" ", 1)[0] + "…"


@lru_cache(maxsize=8)
def _example_names(prompts_dir: Path) -> tuple[str, ...]:
    """``N`` of every ``examples/N_user.txt``, in order (a missing answer file fails when read)."""
    users = sorted((prompts_dir / "examples").glob("*_user.txt"), key=lambda p: (len(p.name), p.name))
    return tuple(p.name.removesuffix("_user.txt") for p in users)


def fixed_messages(prompts_dir: Path) -> list[ChatMessage]:
    """The unchanging start of every answering prompt: the system rules, then each worked example
    (``prompts/examples/N_user.txt`` and its ``N_assistant.txt``) as a user turn and an answer."""
    messages = [ChatMessage(role=MessageRole.SYSTEM, content=prompt_text(prompts_dir, "system.txt"))]
    for name in _example_names(prompts_dir):
        messages.append(
            ChatMessage(role=MessageRole.USER, content=prompt_text(prompts_dir, f"examples/{name}_user.txt"))
        )
        messages.append(
            ChatMessage(role=MessageRole.ASSISTANT, content=prompt_text(prompts_dir, f"examples/{name}_assistant.txt"))
        )
    return messages


def strip_markers(text: str) -> str:
    """The text without ``[B]`` / ``[1]`` markers and the spaces they leave."""
    text = MARKER.sub("", text)
    return re.sub(r"\s+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", text)).strip()
