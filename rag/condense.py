"""A follow-up question rewritten into a standalone one with the conversation so far, so that
retrieval and reading see what "it" and "they" stand for."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.llms.llm import LLM

from .prompts import one_line, prompt_text, strip_markers


def condense_question(llm: LLM, prompts_dir: Path, question: str, history: Sequence[tuple[str, str]]) -> str:
    """Rewrite a follow-up into a standalone question using the last turns of ``history``."""
    turns = "\n".join(f"User: {one_line(q)}\nAssistant: {one_line(strip_markers(a))[:300]}" for q, a in history[-3:])
    prompt = prompt_text(prompts_dir, "condense.txt").format(history=turns, question=one_line(question))
    reply = llm.chat([ChatMessage(role=MessageRole.USER, content=prompt)], max_tokens=60, temperature=0.0)
    text = one_line(reply.message.content or "").strip().strip('"“”')
    text = re.sub(r"^(?:standalone question|pertanyaan)\s*:\s*", "", text, flags=re.IGNORECASE)
    return text if 3 <= len(text) <= 400 else question
