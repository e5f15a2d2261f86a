"""LLM backends, in one registry: each entry of ``BACKENDS`` knows how to build its LLM for a
purpose, its label, how its errors map to ``BackendUnavailableError``, which models it offers and
how the reading step gets next-token probabilities from it. Settings, the CLI, the UI's model list
and the eval's labels all read ``BACKENDS``, so a backend is added in one place:

1. A module ``rag/llm/<name>.py`` with a ``Backend`` subclass (``rag.llm.base``): its ``name``,
   the Settings field naming its model (``model_setting``; add the field, in its own settings
   group, to ``rag/settings.py``), ``key``, ``build`` and ``models``, and ``errors``/``choose``
   where the defaults do not fit. What its LLM can do beyond llama-index's ``LLM`` it says by
   having the methods of the Protocols in ``rag.llm.base`` (``ChoosesEvidence``,
   ``PrimesPrefix``, ``ConstrainsWriting``, ``StateReader``): nothing else needs to change.
2. Its instance in ``BACKENDS`` below.
3. A test that builds and asks it (``tests/test_backends.py`` shows one with a scripted LLM).

The entries: ``llamacpp`` (``rag.llm.llamacpp``: the packaged GGUF models in-process, logits read
directly), ``ollama`` (``rag.llm.ollama``: ``logprobs``/``top_logprobs``) and ``openai``
(``rag.llm.openai``: ChatML prompts on ``/v1/completions``, read from its ``logprobs``).
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.llms.llm import LLM

from ..errors import BackendUnavailableError
from ..settings import Settings
from .base import Backend, Purpose
from .gguf import GGUF_MODELS
from .llamacpp import LlamaCppBackend, LlamaCppLLM
from .ollama import OllamaBackend
from .openai import OpenAIBackend

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "Backend",
    "Purpose",
    "backend",
    "backend_errors",
    "choose",
    "get_llm",
    "model_choices",
    "model_label",
    "overrides_for_model",
    "selected_model",
]

BACKENDS: dict[str, Backend] = {b.name: b for b in (LlamaCppBackend(), OllamaBackend(), OpenAIBackend())}
DEFAULT_BACKEND = "llamacpp"  # its models are chosen by their bare name; others' as "backend:model"


# one built LLM per key, shared by the process: a llama.cpp model is loaded once
_LLM_CACHE: dict[tuple[str, ...], LLM] = {}
_LLM_CACHE_LOCK = threading.Lock()


@atexit.register
def _close_llms() -> None:
    """Free llama.cpp models before the interpreter tears down the modules their finalisers use."""
    with _LLM_CACHE_LOCK:
        for llm in _LLM_CACHE.values():
            if isinstance(llm, LlamaCppLLM):
                llm.close()
        _LLM_CACHE.clear()


def backend(settings: Settings) -> Backend:
    """The registry entry ``settings.backend`` names; an unknown name is a ``BackendUnavailableError``."""
    try:
        return BACKENDS[settings.backend]
    except KeyError:
        raise BackendUnavailableError(
            f"Unknown backend '{settings.backend}'; known: {', '.join(BACKENDS)} (KUTIP_BACKEND)."
        ) from None


def model_choices(settings: Settings) -> list[tuple[str, str]]:
    """(label, value) for every model every backend offers now: the UI's model list."""
    return [
        (entry.describe(model, settings), model if name == DEFAULT_BACKEND else f"{name}:{model}")
        for name, entry in BACKENDS.items()
        for model in entry.models(settings)
    ]


def selected_model(settings: Settings) -> str:
    """The value of ``model_choices`` that the settings select."""
    model = backend(settings).current(settings)
    return model if settings.backend == DEFAULT_BACKEND else f"{settings.backend}:{model}"


def overrides_for_model(value: str) -> dict[str, Any]:
    """The settings that select a ``model_choices`` value ({} for one no backend knows)."""
    name, _, model = value.partition(":")
    if model and name in BACKENDS and name != DEFAULT_BACKEND:
        return BACKENDS[name].overrides(model)
    if value in GGUF_MODELS:
        return BACKENDS[DEFAULT_BACKEND].overrides(value)
    return {}


def get_llm(settings: Settings, purpose: Purpose = "answer") -> LLM:
    """The LLM the settings name, built once per process (and purpose) and shared."""
    entry = backend(settings)
    key = entry.key(settings, purpose)
    with _LLM_CACHE_LOCK:
        if key not in _LLM_CACHE:
            _LLM_CACHE[key] = entry.build(settings, purpose)
        return _LLM_CACHE[key]


def choose(llm: Any, messages: Sequence[ChatMessage], options: Sequence[str], settings: Settings) -> dict[str, float]:
    """The reading step's next-token probabilities, the way ``settings.backend`` gives them."""
    return backend(settings).choose(llm, messages, options)


def model_label(settings: Settings) -> str:
    """The model's name as answers and reports show it (``Backend.label``)."""
    return backend(settings).label(settings)


@contextmanager
def backend_errors(settings: Settings) -> Iterator[None]:
    """Turn a failing or slow backend into a ``BackendUnavailableError`` that names it."""
    with backend(settings).errors(settings):
        yield
