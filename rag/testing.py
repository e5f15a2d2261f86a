"""A scripted LLM for fast tests (after simonw/llm's ``MockModel``): no model is loaded.

    llm = ScriptedLLM()
    llm.enqueue_choice({"B": 0.7, "none": 0.1})   # the next reading step's distribution
    llm.enqueue("Pabrik itu di Hamhung [B].")      # the next written answer
    qa = QA(settings, llm=llm)

``enqueue_states`` scripts the hidden states a trained probe reads (``rag.decide``).
Every call records its messages (``llm.calls``) so a test can see what the model was shown.
A reading with no queued distribution raises, as does a writing with no queued text: a test
never passes on an answer it did not script.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.llms import CustomLLM
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from pydantic import PrivateAttr


class ScriptedLLM(CustomLLM):
    """Returns queued answers (streamed in small pieces) and queued next-token distributions."""

    model_name: str = "scripted"
    _texts: deque[str] = PrivateAttr(default_factory=deque)
    _choices: deque[dict[str, float]] = PrivateAttr(default_factory=deque)
    _states: deque[dict[str, Any]] = PrivateAttr(default_factory=deque)
    _calls: list[tuple[str, list[ChatMessage]]] = PrivateAttr(default_factory=list)

    def enqueue(self, *texts: str) -> ScriptedLLM:
        self._texts.extend(texts)
        return self

    def enqueue_choice(self, *distributions: dict[str, float]) -> ScriptedLLM:
        """Distributions keyed by id ("B") or "none"; ids left out get probability 0."""
        self._choices.extend(distributions)
        return self

    @property
    def calls(self) -> list[tuple[str, list[ChatMessage]]]:
        return self._calls

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(context_window=4096, num_output=200, is_chat_model=True, model_name=self.model_name)

    def enqueue_states(self, *states: dict[str, Any]) -> ScriptedLLM:
        """Hidden states (node name -> vector) for the next readings that ask for them."""
        self._states.extend(states)
        return self

    @property
    def model_sha256(self) -> str:
        return "scripted"

    @property
    def n_layer(self) -> int:
        return 4

    def choose_with_states(
        self, messages: Sequence[ChatMessage], options: Sequence[str], names: Sequence[str]
    ) -> tuple[dict[str, float], dict[str, Any]]:
        probs = self.choose(messages, options)
        if not self._states:
            raise AssertionError("ScriptedLLM: hidden states were asked for but none are queued")
        queued = self._states.popleft()
        return probs, {n: np.asarray(queued[n], dtype=np.float32) for n in names}

    def choose(self, messages: Sequence[ChatMessage], options: Sequence[str]) -> dict[str, float]:
        self._calls.append(("choose", list(messages)))
        if not self._choices:
            raise AssertionError("ScriptedLLM: a reading step was asked for but no distribution is queued")
        queued = self._choices.popleft()
        weights = {o: max(0.0, queued.get(o.strip(), 0.0)) for o in options}
        total = sum(weights.values()) or 1.0
        return {o: w / total for o, w in weights.items()}

    def _next_text(self, kind: str, messages: list[ChatMessage]) -> str:
        self._calls.append((kind, messages))
        if not self._texts:
            raise AssertionError(f"ScriptedLLM: {kind} was asked for but no text is queued")
        return self._texts.popleft()

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(
            text=self._next_text("complete", [ChatMessage(role=MessageRole.USER, content=prompt)])
        )

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        text = self.complete(prompt).text

        def gen() -> CompletionResponseGen:
            yield CompletionResponse(text=text, delta=text)

        return gen()

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        text = self._next_text("chat", list(messages))
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text))

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        text = self._next_text("stream_chat", list(messages))

        def gen() -> ChatResponseGen:
            sent = ""
            for i in range(0, len(text), 7):
                piece = text[i : i + 7]
                sent += piece
                yield ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=sent), delta=piece)

        return gen()
