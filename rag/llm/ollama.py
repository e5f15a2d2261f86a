"""The Ollama backend: a model served by Ollama (``llama-index-llms-ollama``); the reading step
reads its ``logprobs``/``top_logprobs``, and the writing is checked afterwards (``rag.check``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.llms.llm import LLM

from ..errors import BackendUnavailableError
from ..settings import Settings
from .base import Backend, ChoosesEvidence, Purpose, renormalised


class OllamaBackend(Backend):
    """A model an Ollama server serves (``KUTIP_OLLAMA_MODEL``); its writing is checked afterwards."""

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
        if isinstance(llm, ChoosesEvidence):  # an LLM that gives them itself (rag.testing.ScriptedLLM)
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
