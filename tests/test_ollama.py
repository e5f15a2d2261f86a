"""kutip's Ollama backend end to end, through the official client, against the protocol stand-in.

No Ollama server can be installed here; tests/ollama_standin.py speaks Ollama's HTTP protocol and
serves the real packaged 0.5B model through llama.cpp. See README ("What CI tests").
"""

from __future__ import annotations

import socket
import time

import pytest

from rag.errors import BackendUnavailableError
from rag.models import check_ollama, ensure_gguf, ollama_models
from rag.qa import QA
from rag.schema import Answer

from .conftest import make_settings
from .ollama_standin import OllamaStandIn

pytestmark = pytest.mark.llm
MODEL = "qwen2.5:0.5b"


@pytest.fixture(scope="module")
def standin(fast_settings):
    path = ensure_gguf("qwen2.5-coder-0.5b", fast_settings.model_cache)
    with OllamaStandIn({MODEL: str(path)}) as server:
        yield server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ask_through_ollama(standin, seeded_dir):
    settings = make_settings(seeded_dir, backend="ollama", ollama_url=standin.url, ollama_model=MODEL)
    qa = QA(settings)
    items = list(qa.stream("Berapa rudal KN-23 yang ditembakkan Rusia pada 2024?"))
    answer = items[-1]
    assert isinstance(answer, Answer) and len(items) > 2  # streamed pieces, then the answer
    assert answer.model == f"ollama:{MODEL}"
    assert "60" in answer.text and "000_08ce80ad1bf367da" in {c.article_id for c in answer.citations}
    paths = [path for _, path, _ in standin.requests]
    assert "/api/tags" in paths and "/api/chat" in paths  # the official client really spoke to it


def test_models_listed(standin):
    assert ollama_models(standin.url) == [MODEL]
    assert ollama_models(f"http://127.0.0.1:{_free_port()}") == []


def test_unreachable_ollama_is_a_clear_error(seeded_dir):
    url = f"http://127.0.0.1:{_free_port()}"
    settings = make_settings(seeded_dir, backend="ollama", ollama_url=url, ollama_model=MODEL)
    with pytest.raises(BackendUnavailableError) as info:
        QA(settings).ask("How many KN-23 missiles did Russia fire in 2024?")
    assert url in str(info.value) and "ollama serve" in str(info.value)


def test_model_not_pulled_names_the_pull_command(standin, seeded_dir):
    settings = make_settings(seeded_dir, backend="ollama", ollama_url=standin.url, ollama_model="llama3.2:3b")
    with pytest.raises(BackendUnavailableError, match="ollama pull llama3.2:3b"):
        check_ollama(settings.ollama_url, settings.ollama_model, 5)
    with pytest.raises(BackendUnavailableError, match="ollama pull llama3.2:3b"):
        QA(settings).ask("Berapa rudal KN-23 yang ditembakkan Rusia pada 2024?")


def test_slow_ollama_times_out_clearly(standin, seeded_dir):
    settings = make_settings(seeded_dir, backend="ollama", ollama_url=standin.url, ollama_model=MODEL, ollama_timeout_s=2)
    standin.delay_s = 6
    try:
        started = time.monotonic()
        with pytest.raises(BackendUnavailableError, match="did not answer within 2 s"):
            QA(settings).ask("Berapa rudal KN-23 yang ditembakkan Rusia pada 2024?")
        assert time.monotonic() - started < 5.5
    finally:
        standin.delay_s = 0


def test_sampled_retry_sends_temperature_and_seed_to_ollama(standin, seeded_dir):
    """llama-index's Ollama takes options from the instance: the retry's copy must send them."""
    from llama_index.core.base.llms.types import ChatMessage, MessageRole

    from rag.answer import generate
    from rag.models import get_llm, sampled

    settings = make_settings(seeded_dir, backend="ollama", ollama_url=standin.url, ollama_model=MODEL)
    llm = get_llm(settings, "answer")
    copy, kwargs = sampled(llm, 0.7, 5)
    messages = [ChatMessage(role=MessageRole.USER, content="Say one word.")]
    assert "".join(generate(copy, messages, **kwargs)).strip()
    options = [body.get("options") or {} for _, path, body in standin.requests if path == "/api/chat"][-1]
    assert options["temperature"] == 0.7 and options["seed"] == 5
    assert llm.temperature == settings.temperature and "seed" not in llm.additional_kwargs  # original untouched
