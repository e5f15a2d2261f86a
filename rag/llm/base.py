"""What every backend is (``Backend``) and what an LLM may be able to do (the capability Protocols).

The pipeline asks an LLM for a capability with ``isinstance`` against these Protocols, so mypy
checks each call and a backend gains a capability by having the method, not by being a subclass.
``StateReader`` is defined in ``rag.hidden`` beside the capture it describes and re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.llms.llm import LLM

from ..hidden import StateReader
from ..settings import Settings
from .types import CopySpan

__all__ = [
    "Backend",
    "ChoosesEvidence",
    "ConstrainsWriting",
    "PrimesPrefix",
    "Purpose",
    "StateReader",
    "renormalised",
]

Purpose = Literal["answer", "condense"]


@runtime_checkable
class ChoosesEvidence(Protocol):
    """Gives the reading step's next-token probabilities itself (llama.cpp, the scripted LLM);
    backends behind a server get them through their ``Backend.choose`` instead."""

    def choose(self, messages: Sequence[ChatMessage], options: Sequence[str]) -> dict[str, float]:
        """P(next token = option), renormalised over ``options``, after ``messages``."""
        ...


@runtime_checkable
class PrimesPrefix(Protocol):
    """Keeps a local KV cache that the fixed start of every prompt can be put in ahead of the
    first question (llama.cpp), so that question costs no more than later ones."""

    def prime(self, prefix: str) -> int:
        """Process ``prefix`` into the cache now; returns its number of tokens."""
        ...


@runtime_checkable
class CountsPromptTokens(Protocol):
    """Says how many prompt tokens its last reading decoded (the part not already cached), which
    is what the reading's seconds are spent on (``Timings.prompt_tokens``)."""

    @property
    def last_prompt_tokens(self) -> int | None:
        """Prompt tokens decoded by the last ``choose`` (None before the first)."""
        ...


@runtime_checkable
class ConstrainsWriting(Protocol):
    """Says what it is given to write an answer (``rag.write``); llama.cpp constrains the markers
    and copied spans as it samples, a server-backed model is checked afterwards (``rag.check``)."""

    def writing_options(
        self, markers: Sequence[str], span: CopySpan | None, max_tokens: int, each: Sequence[str] = ()
    ) -> dict[str, Any]:
        """Keyword arguments for ``stream_chat``: markers only for ``markers``, each of ``each``
        cited before the end, and with ``span`` the answer copied from that sentence."""
        ...


def renormalised(logprobs: dict[str, float], options: Sequence[str], floor: float) -> dict[str, float]:
    """P(option) from log-probabilities of (some of) the options, renormalised over ``options``;
    an option not listed gets ``floor``."""
    logs = np.array([logprobs.get(o, logprobs.get(o.strip(), floor)) for o in options], dtype=np.float64)
    weights = np.exp(logs - logs.max())
    weights /= weights.sum()
    return {option: float(w) for option, w in zip(options, weights)}


class Backend:
    """One way of running the LLM. Subclasses name it, say which setting selects its model, and
    fill in ``key``, ``build`` and ``models`` (and ``errors``/``choose`` where they differ)."""

    name = ""
    model_setting = ""  # the Settings field that names this backend's model

    def key(self, settings: Settings, purpose: Purpose) -> tuple[str, ...]:
        """What identifies one built LLM (the process keeps one per key)."""
        raise NotImplementedError

    def build(self, settings: Settings, purpose: Purpose) -> LLM:
        raise NotImplementedError

    def label(self, settings: Settings) -> str:
        """The model's name as answers and reports show it, e.g. ``llamacpp:qwen2.5-coder-1.5b``."""
        return f"{self.name}:{self.current(settings)}"

    def models(self, settings: Settings) -> list[str]:
        """The models this backend offers now ([] when it cannot be reached)."""
        raise NotImplementedError

    def current(self, settings: Settings) -> str:
        """The model the settings select on this backend."""
        return str(getattr(settings, self.model_setting))

    def describe(self, model: str, settings: Settings) -> str:
        """How the UI names one of this backend's models."""
        return f"{model} — {self.name}"

    def with_current(self, names: list[str], settings: Settings) -> list[str]:
        """A server's model names, with the one the settings select first when the server does not
        list it (so the UI can still show what is selected)."""
        current = self.current(settings)
        return names if settings.backend != self.name or not current or current in names else [current, *names]

    def overrides(self, model: str) -> dict[str, Any]:
        """The settings that select ``model`` on this backend."""
        return {"backend": self.name, self.model_setting: model}

    @contextmanager
    def errors(self, settings: Settings) -> Iterator[None]:
        """Map this backend's failures to ``BackendUnavailableError`` with a message that names the fix."""
        yield

    def choose(self, llm: Any, messages: Sequence[ChatMessage], options: Sequence[str]) -> dict[str, float]:
        """P(next token = option), renormalised over ``options``, after ``messages``: by default
        the LLM's own (``ChoosesEvidence``)."""
        if not isinstance(llm, ChoosesEvidence):
            raise TypeError(
                f"{type(llm).__name__} has no 'choose'; backend {self.name!r} must give the probabilities itself."
            )
        return llm.choose(messages, options)
