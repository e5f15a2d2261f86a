"""kutip's Ollama backend end to end, through the official client, against the protocol stand-in.

No Ollama server can be installed here; tests/ollama_standin.py speaks Ollama's HTTP protocol and
serves the real packaged 0.5B model through llama.cpp. See README ("What CI tests").
"""

from __future__ import annotations

import socket
import time

import pytest

from rag.backends import check_ollama, ollama_models
from rag.errors import BackendUnavailableError
from rag.models import ensure_gguf
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


def test_ollama_reads_and_decides_as_llamacpp_does(standin, seeded_dir, qa_fast):
    """The same model through Ollama's protocol (logprobs, top_logprobs, prefill) gives the same
    reading as llama.cpp's logits: the same probabilities, P(none) and chosen sentence."""
    settings = make_settings(seeded_dir, backend="ollama", ollama_url=standin.url, ollama_model=MODEL)
    question = "Berapa rudal KN-23 yang ditembakkan Rusia pada 2024?"
    items = list(QA(settings).stream(question))
    answer = items[-1]
    assert isinstance(answer, Answer) and answer.model == f"ollama:{MODEL}"
    local = qa_fast.ask(question)
    assert answer.p_none == pytest.approx(local.p_none, abs=0.02)
    assert [(c.article_id, c.sentence_index, c.chosen) for c in answer.considered] == [
        (c.article_id, c.sentence_index, c.chosen) for c in local.considered
    ]
    for mine, theirs in zip(answer.considered, local.considered):
        assert mine.probability == pytest.approx(theirs.probability, abs=0.02)
    if not answer.abstained:
        assert len(items) > 2  # streamed pieces, then the answer
        assert {(c.article_id, c.sentence_index) for c in answer.citations} <= {
            (c.article_id, c.sentence_index) for c in answer.considered if c.chosen
        }
    chats = [body for _, path, body in standin.requests if path == "/api/chat"]
    assert any(body.get("logprobs") and body.get("top_logprobs") == 20 for body in chats)  # the reading step
    assert any(body["messages"][-1]["role"] == "assistant" for body in chats)  # the writing continues the turn


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
    settings = make_settings(
        seeded_dir, backend="ollama", ollama_url=standin.url, ollama_model=MODEL, ollama_timeout_s=2
    )
    standin.delay_s = 6
    try:
        started = time.monotonic()
        with pytest.raises(BackendUnavailableError, match="did not answer within 2 s"):
            QA(settings).ask("Berapa rudal KN-23 yang ditembakkan Rusia pada 2024?")
        assert time.monotonic() - started < 5.5
    finally:
        standin.delay_s = 0
