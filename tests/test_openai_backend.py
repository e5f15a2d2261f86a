"""kutip's OpenAI-compatible backend (``KUTIP_BACKEND=openai``) against a real server:
llama-cpp-python's ``llama_cpp.server`` (the ``[server]`` extra) serving the packaged 0.5B GGUF on a
free loopback port, over a made-up corpus. The reading must give what the embedded llama.cpp path
gives for the same model and prompt; citations must be sentences that were read and chosen.

The fast tests at the end check the parsing of the two logprobs shapes servers use and the error a
server without logprobs gets (no server, no model).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from llama_index.core.base.llms.types import ChatMessage, MessageRole

from rag.corpus import load_corpus
from rag.errors import BackendUnavailableError
from rag.llm import BACKENDS, model_choices, overrides_for_model
from rag.llm.gguf import ensure_gguf
from rag.llm.openai import OpenAIBackend, OpenAICompatibleLLM, first_top_logprobs, openai_models
from rag.qa import QA
from rag.schema import Answer
from rag.settings import Settings

from .conftest import FAST_MODEL, FAST_NONE_THRESHOLD, index_folder
from .invariants import assert_answer_cites_what_was_read
from .test_retrieve import ARTICLES

ALIAS = "kutip-test-0.5b"
QUESTION = "How much did the coffee sell for per kilogram?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A running ``python -m llama_cpp.server`` and its OpenAI API root."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, log: Any) -> None:
        self.process, self.url, self.log = process, url, log


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    """The real server, started with the llama.cpp parameters kutip's embedded path uses (flash
    attention, micro-batch 128, 4096-token context), so its logits are comparable."""
    pytest.importorskip("sse_starlette", reason="llama-cpp-python's [server] extra is not installed")
    pytest.importorskip("starlette_context", reason="llama-cpp-python's [server] extra is not installed")
    defaults = Settings()
    model = ensure_gguf(FAST_MODEL, defaults.model_cache)
    port = _free_port()
    log_path = tmp_path_factory.mktemp("openai-server") / "server.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(model),
            "--model_alias",
            ALIAS,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            str(defaults.context_window),
            "--n_threads",
            str(defaults.threads),
            "--n_ubatch",
            str(defaults.ubatch),
            "--flash_attn",
            str(defaults.flash_attn),
            "--verbose",
            "False",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"llama_cpp.server did not start in 180 s:\n{log_path.read_text()[-2000:]}")
            time.sleep(0.5)
        yield Server(process, url, log_path)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    settings, index, folder = index_folder(tmp_path_factory, ARTICLES)
    texts = {(a.id, s.index): s.text for a in load_corpus(folder) for s in a.sentences}
    return settings, index, texts


def _openai(settings: Settings, server: Server, **kwargs: Any) -> Settings:
    return settings.model_copy(
        update={
            "backend": "openai",
            "openai_base_url": server.url,
            "openai_model": ALIAS,
            "openai_timeout_s": 900.0,  # a loaded 2-core machine: the first prompt is processed whole
            "none_threshold": FAST_NONE_THRESHOLD,  # it serves the 0.5B
            **kwargs,
        }
    )


@pytest.mark.llm
def test_an_answer_through_the_server_reads_as_llamacpp_does_and_cites_what_it_read(server, corpus):
    """End to end through ``QA`` with ``KUTIP_BACKEND=openai``: the answer streams, its model is the
    served one, its citations are indexed sentences the reading chose, and the reading (from the
    server's logprobs) matches the embedded llama.cpp path's logits on the same model."""
    base, index, texts = corpus
    items = list(QA(_openai(base, server), index=index).stream(QUESTION))
    answer = items[-1]
    assert isinstance(answer, Answer) and answer.model == f"openai:{ALIAS}"
    assert not answer.abstained, answer.abstain_reason
    assert len(items) > 4 and all(
        isinstance(piece, str) for piece in items[2:-1]
    )  # events, streamed pieces, the answer
    assert answer.citations
    assert_answer_cites_what_was_read(answer)
    for citation in answer.citations:
        assert texts[(citation.article_id, citation.sentence_index)] == citation.sentence

    # The server decodes the whole prompt in one batch; the embedded path decodes a cached prefix and
    # then the rest, so the quantised matmuls split differently and the logits differ in the last
    # digits (up to about 0.02 in a probability on a loaded machine). Same choices, close probabilities.
    local = QA(base.model_copy(update={"llm": FAST_MODEL}), index=index).ask(QUESTION)
    assert answer.p_none == pytest.approx(local.p_none, abs=0.05)
    assert [(c.article_id, c.sentence_index, c.chosen) for c in answer.considered] == [
        (c.article_id, c.sentence_index, c.chosen) for c in local.considered
    ]
    for mine, theirs in zip(answer.considered, local.considered):
        assert mine.probability == pytest.approx(theirs.probability, abs=0.05)


@pytest.mark.llm
def test_generation_honours_max_tokens_and_stop(server, corpus):
    """What the condensing step (``chat(max_tokens=60)``) and the writing rely on: the server gets
    the limit and the stop strings."""
    settings = _openai(corpus[0], server)
    llm = OpenAIBackend().build(settings, "condense")
    ask = [ChatMessage(role=MessageRole.USER, content="Count from 1 to 60, separated by commas.")]
    short = llm.chat(ask, max_tokens=3).message.content or ""
    assert short.strip() and len(short) <= 3 * 8
    stopped = llm.chat(ask, max_tokens=40, stop=[","]).message.content or ""
    assert stopped.strip() and "," not in stopped
    assert len(llm.chat(ask, max_tokens=40).message.content or "") > len(stopped)  # it does go past the stop


def test_the_server_lists_its_models_and_the_registry_offers_them(server, corpus):
    settings = _openai(corpus[0], server)
    assert openai_models(settings) == [ALIAS]
    assert ("openai:" + ALIAS) in [value for _, value in model_choices(settings)]
    assert overrides_for_model(f"openai:{ALIAS}") == {"backend": "openai", "openai_model": ALIAS}
    down = settings.model_copy(update={"openai_base_url": f"http://127.0.0.1:{_free_port()}/v1"})
    assert openai_models(down) == []


def test_a_model_the_server_does_not_serve_names_those_it_does(server, corpus):
    base, index, _ = corpus
    for model, expected in (("no-such-model", "does not serve 'no-such-model'"), ("", "Set KUTIP_OPENAI_MODEL")):
        with pytest.raises(BackendUnavailableError, match=expected) as info:
            QA(_openai(base, server, openai_model=model), index=index).ask(QUESTION)
        assert ALIAS in str(info.value)


def test_a_server_that_is_down_is_a_clear_error(corpus):
    base, index, _ = corpus
    url = f"http://127.0.0.1:{_free_port()}/v1"
    settings = base.model_copy(update={"backend": "openai", "openai_base_url": url, "openai_model": ALIAS})
    with pytest.raises(BackendUnavailableError) as info:
        QA(settings, index=index).ask(QUESTION)
    assert url in str(info.value) and "KUTIP_OPENAI_BASE_URL" in str(info.value)


# ----------------------------------------------------------------------------- fast: no server


@pytest.mark.fast
def test_both_logprobs_shapes_are_read():
    legacy = {"tokens": [" B"], "top_logprobs": [{" B": -0.2, " A": -1.9, " none": -3.0}]}
    chat = {"content": [{"token": " B", "logprob": -0.2, "top_logprobs": [{"token": " B", "logprob": -0.2}]}]}
    assert first_top_logprobs(legacy) == {" B": -0.2, " A": -1.9, " none": -3.0}
    assert first_top_logprobs(chat) == {" B": -0.2}
    assert first_top_logprobs(None) == {} and first_top_logprobs({"top_logprobs": []}) == {}


@pytest.mark.fast
def test_the_reading_renormalises_the_listed_options_and_refuses_a_server_without_logprobs(monkeypatch):
    llm = OpenAICompatibleLLM(model_name=ALIAS, base_url="http://127.0.0.1:9/v1")
    backend = BACKENDS["openai"]
    assert isinstance(backend, OpenAIBackend)
    listed = {" A": -0.5, "A": -4.0, " none": -1.5, "The": -2.0}
    monkeypatch.setattr(OpenAICompatibleLLM, "next_token_logprobs", lambda self, messages: listed)
    probs = backend.choose(llm, [], [" A", " B", " none"])
    assert sum(probs.values()) == pytest.approx(1.0)
    assert probs[" A"] > probs[" none"] > probs[" B"] > 0  # " B" unlisted: below the smallest listed
    assert probs[" A"] / probs[" none"] == pytest.approx(2.718281828, rel=1e-6)  # e^(-0.5 - -1.5)

    monkeypatch.setattr(OpenAICompatibleLLM, "next_token_logprobs", lambda self, messages: {})
    with pytest.raises(BackendUnavailableError, match="returned no logprobs"):
        backend.choose(llm, [], [" A", " none"])
