"""Write: the answer, from the chosen sentences only, continuing the reading turn.

The answer turn already says which sentences are the evidence ("Evidence: B, D"); the model
continues with "Answer:" and writes in the question's language. With llama.cpp a constraint on
each step's logits lets its markers name only the chosen ids ([B], [D]) (``LlamaCppLLM``); with
Ollama the markers are checked afterwards (``rag.check``), as every answer's are. The answer is one
line: writing stops at its end.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole

from .read import ANSWER, EVIDENCE


def write_messages(read_messages: Sequence[ChatMessage], chosen: Sequence[str]) -> list[ChatMessage]:
    """The reading prompt with its answer turn continued by the decided evidence and ``Answer:``."""
    head = list(read_messages[:-1])
    return [*head, ChatMessage(role=MessageRole.ASSISTANT, content=f"{EVIDENCE} {', '.join(chosen)}\n{ANSWER}")]


def write(llm: Any, messages: list[ChatMessage], chosen: Sequence[str], max_tokens: int) -> Iterator[str]:
    """Stream the answer's text pieces (markers are the chosen ids: ``[B]``)."""
    from .models import LlamaCppLLM

    extra: dict[str, Any] = (
        {"max_tokens": max_tokens, "markers": list(chosen), "stop": ["\n"]} if isinstance(llm, LlamaCppLLM) else {}
    )
    for chunk in llm.stream_chat(write_messages(messages, chosen), **extra):
        if chunk.delta:
            if "\n" in chunk.delta:  # the answer is one line; what follows is not part of it
                head = chunk.delta.split("\n", 1)[0]
                if head:
                    yield head
                return
            yield chunk.delta
