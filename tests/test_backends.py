"""The backend registry (``rag.llm``): choices, labels, overrides, errors, and a new backend
as one entry. The LLM is scripted; no model is loaded and no server is reached."""

from __future__ import annotations

import pytest

from rag.qa import QA
from rag.query import parse_query
from rag.testing import ScriptedLLM

from .scripted import FLOOD

pytestmark = pytest.mark.fast


def test_a_new_backend_is_one_registry_entry(scratch_settings, monkeypatch):
    """A backend registered in ``rag.llm.BACKENDS`` is built, labelled, listed, chosen in the
    UI's list and answers through QA, with nothing else changed."""
    from rag import llm as backends

    scripted = ScriptedLLM().enqueue_choice({"A": 0.9, "none": 0.01}).enqueue(" Banjir merendam 1.200 rumah [A].")

    class Scripted(backends.Backend):
        name = "scripted"

        def key(self, settings, purpose):
            return (self.name, purpose)

        def build(self, settings, purpose):
            return scripted

        def label(self, settings):
            return "scripted:test"

        def models(self, settings):
            return ["test"]

        def current(self, settings):
            return "test"

        def overrides(self, model):
            return {"backend": self.name}

    monkeypatch.setitem(backends.BACKENDS, "scripted", Scripted())
    monkeypatch.setattr(backends, "_LLM_CACHE", {})
    assert ("test — scripted", "scripted:test") in backends.model_choices(scratch_settings)
    assert backends.overrides_for_model("scripted:test") == {"backend": "scripted"}
    chosen = scratch_settings.model_copy(update=backends.overrides_for_model("scripted:test"))
    answer = QA(chosen).answer_from(parse_query("Berapa rumah yang terendam?"), [(s, 0.9) for s in FLOOD], 0.9, chosen)
    assert answer.model == "scripted:test" and answer.text == "Banjir merendam 1.200 rumah [1]."


def test_backend_choices_and_errors(scratch_settings):
    from rag import llm as backends
    from rag.errors import BackendUnavailableError

    values = [
        value
        for _, value in backends.model_choices(scratch_settings.model_copy(update={"ollama_url": "http://127.0.0.1:9"}))
    ]
    assert values == ["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"]  # no Ollama answers on port 9
    assert backends.overrides_for_model("ollama:qwen2.5:7b") == {"backend": "ollama", "ollama_model": "qwen2.5:7b"}
    assert backends.overrides_for_model("qwen2.5-coder-0.5b") == {"backend": "llamacpp", "llm": "qwen2.5-coder-0.5b"}
    assert backends.overrides_for_model("nonsense") == {}
    assert backends.selected_model(scratch_settings) == "qwen2.5-coder-1.5b"
    with pytest.raises(BackendUnavailableError, match="Unknown backend 'gpt'"):
        backends.model_label(scratch_settings.model_copy(update={"backend": "gpt"}))
