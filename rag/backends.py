"""LLM backends, in one registry: each entry knows how to build its LLM for a purpose, its label,
how its errors map to ``BackendUnavailableError``, which models it offers, and how the reading
step gets next-token probabilities from it. Settings, the CLI, the UI's model list and the eval's
labels all read ``BACKENDS``; adding a backend is adding an entry here.

- ``llamacpp``: the packaged GGUF models in-process (``rag.models.LlamaCppLLM``), logits read directly.
- ``ollama``: a model served by Ollama (``llama-index-llms-ollama``); ``logprobs``/``top_logprobs``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.llms.llm import LLM

from .errors import BackendUnavailableError
from .models import _LLM_CACHE, _LLM_CACHE_LOCK, GGUF_MODELS, LlamaCppLLM, ensure_gguf
from .settings import Settings

Purpose = Literal["answer", "condense"]


def renormalised(logprobs: dict[str, float], options: Sequence[str], floor: float) -> dict[str, float]:
    """P(option) from log-probabilities of (some of) the options, renormalised over ``options``;
    an option not listed gets ``floor``."""
    logs = np.array([logprobs.get(o, logprobs.get(o.strip(), floor)) for o in options], dtype=np.float64)
    weights = np.exp(logs - logs.max())
    weights /= weights.sum()
    return {option: float(w) for option, w in zip(options, weights)}


class Backend:
    """One way of running the LLM. Subclasses fill in the four methods."""

    name = ""

    def key(self, settings: Settings, purpose: Purpose) -> tuple[str, ...]:
        """What identifies one built LLM (the process keeps one per key)."""
        raise NotImplementedError

    def build(self, settings: Settings, purpose: Purpose) -> LLM:
        raise NotImplementedError

    def label(self, settings: Settings) -> str:
        """The model's name as answers and reports show it, e.g. ``llamacpp:qwen2.5-coder-1.5b``."""
        raise NotImplementedError

    def models(self, settings: Settings) -> list[str]:
        """The models this backend offers now ([] when it cannot be reached)."""
        raise NotImplementedError

    def current(self, settings: Settings) -> str:
        """The model the settings select on this backend."""
        raise NotImplementedError

    def describe(self, model: str, settings: Settings) -> str:
        """How the UI names one of this backend's models."""
        return f"{model} — {self.name}"

    def overrides(self, model: str) -> dict[str, Any]:
        """The settings that select ``model`` on this backend."""
        raise NotImplementedError

    @contextmanager
    def errors(self, settings: Settings) -> Iterator[None]:
        """Map this backend's failures to ``BackendUnavailableError`` with a message that names the fix."""
        yield

    def choose(self, llm: Any, messages: Sequence[ChatMessage], options: Sequence[str]) -> dict[str, float]:
        """P(next token = option), renormalised over ``options``, after ``messages``."""
        return llm.choose(messages, options)  # type: ignore[no-any-return]


class LlamaCppBackend(Backend):
    name = "llamacpp"

    def key(self, settings: Settings, purpose: Purpose) -> tuple[str, ...]:
        return (
            self.name,
            settings.llm,
            str(settings.threads),
            str(settings.context_window),
            str(settings.ubatch),
            str(settings.flash_attn),
            purpose,
        )

    def build(self, settings: Settings, purpose: Purpose) -> LLM:
        """With llama.cpp, rewriting follow-ups (``purpose="condense"``) gets its own context over
        the same memory-mapped weights, so the answering context keeps its cached prefix."""
        return LlamaCppLLM(
            model_name=settings.llm,
            model_path=str(ensure_gguf(settings.llm, settings.model_cache)),
            n_ctx=settings.context_window if purpose == "answer" else min(2048, settings.context_window),
            n_threads=settings.threads,
            n_ubatch=settings.ubatch,
            flash_attn=settings.flash_attn,
            max_new_tokens=settings.max_new_tokens,
            temperature=settings.temperature,
        )

    def label(self, settings: Settings) -> str:
        return f"{self.name}:{settings.llm}"

    def models(self, settings: Settings) -> list[str]:
        return list(GGUF_MODELS)

    def current(self, settings: Settings) -> str:
        return settings.llm

    def describe(self, model: str, settings: Settings) -> str:
        default = Settings.model_fields["llm"].default
        return f"{GGUF_MODELS[model].title} — embedded{' (default)' if model == default else ' (fast)'}"

    def overrides(self, model: str) -> dict[str, Any]:
        return {"backend": self.name, "llm": model}


class OllamaBackend(Backend):
    name = "ollama"

    def key(self, settings: Settings, purpose: Purpose) -> tuple[str, ...]:
        return (self.name, settings.ollama_url, settings.ollama_model, str(settings.ollama_timeout_s))

    def build(self, settings: Settings, purpose: Purpose) -> LLM:
        from llama_index.llms.ollama import Ollama

        check_ollama(settings.ollama_url, settings.ollama_model, settings.ollama_timeout_s)
        return Ollama(
            model=settings.ollama_model,
            base_url=settings.ollama_url,
            request_timeout=settings.ollama_timeout_s,
            temperature=settings.temperature,
            context_window=settings.context_window,
            additional_kwargs={"num_predict": settings.max_new_tokens},
        )

    def label(self, settings: Settings) -> str:
        return f"{self.name}:{settings.ollama_model}"

    def models(self, settings: Settings) -> list[str]:
        names = ollama_models(settings.ollama_url)
        return (
            names
            if settings.backend != self.name or settings.ollama_model in names
            else [settings.ollama_model, *names]
        )

    def current(self, settings: Settings) -> str:
        return settings.ollama_model

    def describe(self, model: str, settings: Settings) -> str:
        return f"{model} — Ollama at {settings.ollama_url}"

    def overrides(self, model: str) -> dict[str, Any]:
        return {"backend": self.name, "ollama_model": model}

    @contextmanager
    def errors(self, settings: Settings) -> Iterator[None]:
        import httpx
        import ollama

        try:
            yield
        except httpx.TimeoutException as exc:
            raise BackendUnavailableError(
                f"Ollama at {settings.ollama_url} did not answer within {settings.ollama_timeout_s:g} s (KUTIP_OLLAMA_TIMEOUT_S)."
            ) from exc
        except (httpx.HTTPError, ConnectionError) as exc:
            raise BackendUnavailableError(
                f"Lost the connection to Ollama at {settings.ollama_url} ({type(exc).__name__}); is 'ollama serve' running?"
            ) from exc
        except ollama.ResponseError as exc:
            hint = f" Pull it with: ollama pull {settings.ollama_model}" if exc.status_code == 404 else ""
            raise BackendUnavailableError(f"Ollama at {settings.ollama_url} answered: {exc.error}.{hint}") from exc

    def choose(self, llm: Any, messages: Sequence[ChatMessage], options: Sequence[str]) -> dict[str, float]:
        """From Ollama's ``top_logprobs`` (20) of the first generated token; options outside them get
        a probability below the smallest one listed."""
        if hasattr(llm, "choose"):
            return super().choose(llm, messages, options)
        import ollama

        reply = ollama.Client(host=llm.base_url, timeout=llm.request_timeout).chat(
            model=llm.model,
            messages=[{"role": m.role.value, "content": m.content or ""} for m in messages],
            options={"num_predict": 1, "temperature": 0.0},
            logprobs=True,
            top_logprobs=20,
            stream=False,
        )
        entries = reply.logprobs or []
        if not entries or not entries[0].top_logprobs:
            raise BackendUnavailableError(
                f"Ollama at {llm.base_url} returned no logprobs; kutip's reading step needs Ollama 0.12.11 or newer."
            )
        listed: dict[str, float] = {}
        for alt in entries[0].top_logprobs:
            listed.setdefault(alt.token, alt.logprob)
            listed.setdefault(alt.token.strip(), alt.logprob)
        return renormalised(listed, options, min(listed.values()) - 5.0)


def check_ollama(url: str, model: str, timeout_s: float) -> None:
    """Raise ``BackendUnavailableError`` with a fix-it message unless ``model`` is served at ``url``."""
    import httpx
    import ollama

    client = ollama.Client(host=url, timeout=min(timeout_s, 10.0))
    try:
        listed = client.list()
    except (httpx.HTTPError, ConnectionError, OSError) as exc:
        raise BackendUnavailableError(
            f"Ollama is not reachable at {url} ({type(exc).__name__}). Start it with 'ollama serve' "
            f"or set KUTIP_OLLAMA_URL; or use the embedded model with KUTIP_BACKEND=llamacpp."
        ) from exc
    except ollama.ResponseError as exc:
        raise BackendUnavailableError(f"Ollama at {url} answered with an error: {exc}") from exc
    names = {m.model for m in listed.models if m.model}
    if model not in names and f"{model}:latest" not in names:
        raise BackendUnavailableError(
            f"Ollama at {url} does not have the model '{model}'. Pull it with: ollama pull {model}"
        )


def ollama_models(url: str, timeout_s: float = 2.0) -> list[str]:
    """Names of the models an Ollama server offers, or [] when it cannot be reached."""
    import ollama

    try:
        return sorted(m.model for m in ollama.Client(host=url, timeout=timeout_s).list().models if m.model)
    except Exception:
        return []


BACKENDS: dict[str, Backend] = {b.name: b for b in (LlamaCppBackend(), OllamaBackend())}
_BUILD_LOCK = threading.Lock()


def backend(settings: Settings) -> Backend:
    try:
        return BACKENDS[settings.backend]
    except KeyError:
        raise BackendUnavailableError(
            f"Unknown backend '{settings.backend}'; known: {', '.join(BACKENDS)} (KUTIP_BACKEND)."
        ) from None


DEFAULT_BACKEND = "llamacpp"  # its models are chosen by their bare name; others' as "backend:model"


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
    return backend(settings).label(settings)


@contextmanager
def backend_errors(settings: Settings) -> Iterator[None]:
    """Turn a failing or slow backend into a ``BackendUnavailableError`` that names it."""
    with backend(settings).errors(settings):
        yield
