"""The OpenAI-compatible backend: a model behind llama.cpp's ``llama-server``, llama-cpp-python's
server, vLLM or LM Studio, given ChatML prompts on ``/v1/completions`` and read from its
``logprobs``."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, LLMMetadata
from llama_index.core.llms.llm import LLM

from ..errors import BackendUnavailableError
from ..settings import Settings
from .base import Backend, Purpose, renormalised
from .chatml import CHATML_STOPS, ChatMLLLM, chatml


class OpenAICompatibleLLM(ChatMLLLM):
    """A model behind an OpenAI-compatible server (llama.cpp's ``llama-server``, llama-cpp-python's
    server, vLLM, LM Studio), spoken to through ``/v1/completions`` with a prompt kutip formats
    itself (``chatml``).

    Why the completions route and not ``/v1/chat/completions``: the reading and the writing continue
    an assistant turn that kutip opened (``Evidence:``), and servers differ on whether a trailing
    assistant message is continued (llama-server does; llama-cpp-python's server closes it and opens
    a new turn, so the options arrive without their leading space). A raw prompt is continued by all
    of them, and it is the very string the embedded llama.cpp path decodes. The cost: the served
    model must use ChatML (Qwen2.5 and the packaged models do).
    """

    model_name: str
    base_url: str
    api_key: str = ""
    timeout_s: float = 60.0
    context_window: int = 4096
    max_new_tokens: int = 200
    temperature: float = 0.0
    top_logprobs: int = 20  # vLLM's default cap; llama-cpp-python and llama-server allow more

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.max_new_tokens,
            is_chat_model=True,
            model_name=self.model_name,
        )

    def _client(self) -> Any:
        return openai_client(self.base_url, self.api_key, self.timeout_s)

    def next_token_logprobs(self, messages: Sequence[ChatMessage]) -> dict[str, float]:
        """The server's ``top_logprobs`` for the first token after ``messages`` (token text -> log P),
        or {} when the server returns none."""
        body = {
            "model": self.model_name,
            "prompt": chatml(messages),
            "max_tokens": 1,
            "temperature": 0.0,
            "logprobs": self.top_logprobs,
            "stream": False,
        }
        with self._client() as client:
            reply = client.post("/completions", json=body)
            reply.raise_for_status()
        choices = reply.json().get("choices") or [{}]
        return first_top_logprobs(choices[0].get("logprobs"))

    def _generate(self, prompt: str, **kwargs: Any) -> Iterator[str]:
        import httpx

        body = {
            "model": self.model_name,
            "prompt": prompt,
            "max_tokens": int(kwargs.get("max_tokens", self.max_new_tokens)),
            "temperature": float(kwargs.get("temperature", self.temperature)),
            "stop": [*kwargs.get("stop", []), *CHATML_STOPS][:4],  # OpenAI's API takes at most 4
            "stream": True,
        }
        with self._client() as client, client.stream("POST", "/completions", json=body) as reply:
            if reply.is_error:
                reply.read()
                reply.raise_for_status()
            for line in reply.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                try:
                    chunk = json.loads(data)
                except ValueError as exc:
                    raise httpx.DecodingError(f"not a JSON event: {data[:80]!r}") from exc
                if "error" in chunk:
                    raise httpx.HTTPError(f"the server reported: {chunk['error']}")
                text = (chunk.get("choices") or [{}])[0].get("text") or ""
                if text:
                    yield text


def openai_client(base_url: str, api_key: str, timeout_s: float) -> Any:
    """An ``httpx.Client`` on an OpenAI API root, with the bearer key when there is one."""
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s)


def first_top_logprobs(logprobs: Any) -> dict[str, float]:
    """Token text -> log P of the first generated token's alternatives, from either shape servers
    use on ``/v1/completions``: the legacy one (``top_logprobs: [{token: logprob}, ...]``: OpenAI,
    vLLM, llama-cpp-python) or the chat one (``content: [{top_logprobs: [{token, logprob}]}]``)."""
    if not isinstance(logprobs, dict):
        return {}
    legacy = logprobs.get("top_logprobs")
    if isinstance(legacy, list) and legacy and isinstance(legacy[0], dict):
        return {str(k): float(v) for k, v in legacy[0].items() if v is not None}
    content = logprobs.get("content")
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return {
            str(alt["token"]): float(alt["logprob"])
            for alt in content[0].get("top_logprobs") or []
            if isinstance(alt, dict) and "token" in alt and alt.get("logprob") is not None
        }
    return {}


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
