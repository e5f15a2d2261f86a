"""LLM backends, in one registry: each entry knows how to build its LLM for a purpose, its label,
how its errors map to ``BackendUnavailableError``, which models it offers, and how the reading
step gets next-token probabilities from it. Settings, the CLI, the UI's model list and the eval's
labels all read ``BACKENDS``; adding a backend is adding an entry here.

- ``llamacpp``: the packaged GGUF models in-process (``rag.models.LlamaCppLLM``), logits read directly.
- ``ollama``: a model served by Ollama (``llama-index-llms-ollama``); ``logprobs``/``top_logprobs``.
- ``openai``: a model behind an OpenAI-compatible server (``rag.models.OpenAICompatibleLLM``):
  ChatML prompts on ``/v1/completions``, the reading from its ``logprobs``.
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
from .models import (
    _LLM_CACHE,
    _LLM_CACHE_LOCK,
    GGUF_MODELS,
    LlamaCppLLM,
    OpenAICompatibleLLM,
    ensure_gguf,
    openai_client,
)
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
        """P(next token = option), renormalised over ``options``, after ``messages``."""
        return llm.choose(messages, options)  # type: ignore[no-any-return]


class LlamaCppBackend(Backend):
    name = "llamacpp"
    model_setting = "llm"

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

    def models(self, settings: Settings) -> list[str]:
        return list(GGUF_MODELS)

    def describe(self, model: str, settings: Settings) -> str:
        default = Settings.model_fields["llm"].default
        return f"{GGUF_MODELS[model].title} — embedded{' (default)' if model == default else ' (fast)'}"


class OllamaBackend(Backend):
    name = "ollama"
    model_setting = "ollama_model"

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

    def models(self, settings: Settings) -> list[str]:
        return self.with_current(ollama_models(settings.ollama_url), settings)

    def describe(self, model: str, settings: Settings) -> str:
        return f"{model} — Ollama at {settings.ollama_url}"

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


class OpenAIBackend(Backend):
    """An OpenAI-compatible server. The reading asks ``/v1/completions`` for one token with
    ``logprobs`` (its top 20 alternatives) after the ChatML prompt that ends in ``Evidence:``; the
    writing streams the continuation of ``Evidence: B\nAnswer:``. Markers cannot be constrained
    through the API: they are checked afterwards (``rag.check``), as with Ollama."""

    name = "openai"
    model_setting = "openai_model"

    def key(self, settings: Settings, purpose: Purpose) -> tuple[str, ...]:
        return (
            self.name,
            settings.openai_base_url,
            settings.openai_model,
            settings.openai_api_key.get_secret_value(),
            str(settings.openai_timeout_s),
        )

    def build(self, settings: Settings, purpose: Purpose) -> LLM:
        check_openai(settings)
        return OpenAICompatibleLLM(
            model_name=settings.openai_model,
            base_url=settings.openai_base_url,
            api_key=settings.openai_api_key.get_secret_value(),
            timeout_s=settings.openai_timeout_s,
            context_window=settings.context_window,
            max_new_tokens=settings.max_new_tokens,
            temperature=settings.temperature,
        )

    def models(self, settings: Settings) -> list[str]:
        return self.with_current(openai_models(settings), settings)

    def describe(self, model: str, settings: Settings) -> str:
        return f"{model} — OpenAI-compatible server at {settings.openai_base_url}"

    @contextmanager
    def errors(self, settings: Settings) -> Iterator[None]:
        import httpx

        url = settings.openai_base_url
        try:
            yield
        except (httpx.ConnectError, httpx.ConnectTimeout, ConnectionRefusedError) as exc:
            raise BackendUnavailableError(
                f"The OpenAI-compatible server at {url} is not reachable ({type(exc).__name__}). Start it "
                "(e.g. 'llama-server -m MODEL.gguf --port 8080' or 'python -m llama_cpp.server --model MODEL.gguf') "
                "or set KUTIP_OPENAI_BASE_URL; or use the embedded model with KUTIP_BACKEND=llamacpp."
            ) from exc
        except httpx.TimeoutException as exc:
            raise BackendUnavailableError(
                f"The OpenAI-compatible server at {url} did not answer within {settings.openai_timeout_s:g} s "
                "(KUTIP_OPENAI_TIMEOUT_S)."
            ) from exc
        except httpx.HTTPStatusError as exc:
            status = exc.response.status_code
            hint = {
                401: " Set KUTIP_OPENAI_API_KEY to a key the server accepts.",
                403: " Set KUTIP_OPENAI_API_KEY to a key the server accepts.",
                404: " kutip needs its /v1/completions route and the model KUTIP_OPENAI_MODEL names.",
            }.get(status, "")
            raise BackendUnavailableError(
                f"The OpenAI-compatible server at {url} answered HTTP {status}: {exc.response.text[:300]}.{hint}"
            ) from exc
        except (httpx.HTTPError, ConnectionError) as exc:
            raise BackendUnavailableError(
                f"Lost the connection to the OpenAI-compatible server at {url} ({type(exc).__name__}: {exc})."
            ) from exc

    def choose(self, llm: Any, messages: Sequence[ChatMessage], options: Sequence[str]) -> dict[str, float]:
        """From the ``logprobs`` (top 20) of the first completion token; options outside them get a
        probability below the smallest one listed."""
        if not isinstance(llm, OpenAICompatibleLLM):
            return super().choose(llm, messages, options)
        listed = llm.next_token_logprobs(messages)
        if not listed:
            raise BackendUnavailableError(
                f"The OpenAI-compatible server at {llm.base_url} returned no logprobs on /v1/completions; "
                "kutip's reading step needs them (llama.cpp's llama-server, llama-cpp-python's server and vLLM "
                "return them)."
            )
        stripped: dict[str, float] = {}
        for token, logprob in sorted(listed.items(), key=lambda kv: -kv[1]):
            stripped.setdefault(token, logprob)
            stripped.setdefault(token.strip(), logprob)
        return renormalised(stripped, options, min(listed.values()) - 5.0)


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


def _served_models(settings: Settings, timeout_s: float) -> list[str]:
    key = settings.openai_api_key.get_secret_value()
    with openai_client(settings.openai_base_url, key, timeout_s) as client:
        reply = client.get("/models")
        reply.raise_for_status()
    return sorted(str(m["id"]) for m in reply.json().get("data", []) if isinstance(m, dict) and m.get("id"))


def check_openai(settings: Settings) -> None:
    """Raise ``BackendUnavailableError`` with a fix-it message unless the server at
    ``openai_base_url`` answers and serves ``openai_model``."""
    url = settings.openai_base_url
    with OpenAIBackend().errors(settings):
        served = _served_models(settings, min(settings.openai_timeout_s, 10.0))
    if not settings.openai_model:
        raise BackendUnavailableError(
            f"Set KUTIP_OPENAI_MODEL to the model to ask the server at {url} for; it serves: {', '.join(served) or 'none'}."
        )
    if settings.openai_model not in served:
        raise BackendUnavailableError(
            f"The OpenAI-compatible server at {url} does not serve '{settings.openai_model}'; it serves: "
            f"{', '.join(served) or 'none'} (KUTIP_OPENAI_MODEL)."
        )


def openai_models(settings: Settings, timeout_s: float = 2.0) -> list[str]:
    """The model ids an OpenAI-compatible server lists on ``/v1/models``, or [] when it cannot be reached."""
    try:
        return _served_models(settings, timeout_s)
    except Exception:
        return []


BACKENDS: dict[str, Backend] = {b.name: b for b in (LlamaCppBackend(), OllamaBackend(), OpenAIBackend())}
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
