"""Hidden states from the read decode, on the real llama.cpp model (``rag.hidden``), and the shipped
probe deciding over the made-up fixture corpus (``rag.decide``)."""

from __future__ import annotations

import numpy as np
import pytest

from rag.hidden import FINAL_NORM, StateReader, layer_name
from rag.qa import QA
from rag.retrieve import retrieve
from rag.settings import Settings

from .conftest import FERRIES, LOCOMOTIVES

pytestmark = pytest.mark.llm

OFF_TOPIC = ["What is the population of Brazil?", "Siapa pemenang Piala Dunia 2022?"]


@pytest.fixture(scope="module")
def qa_default(fixture_settings):
    return QA(fixture_settings.model_copy(update={"llm": Settings.model_fields["llm"].default}))


def read_twice(qa: QA, question: str, nodes: list[str]):
    settings = qa.settings
    query = qa.query(question, None, settings)
    sentences = [(h.sentence, h.dense) for h in retrieve(qa.index, query, settings).hits]
    readings = []
    for states in ((), nodes, ()):
        qa.warm(settings)  # only the fixed prefix cached: each read decodes the same new tokens
        readings.append(qa.read(query, sentences, settings, states=states)[0])
    return readings


@pytest.mark.parametrize("question", [LOCOMOTIVES, OFF_TOPIC[0]])
def test_capturing_states_leaves_the_reading_unchanged(qa_fixture, question):
    llm = qa_fixture.llm(qa_fixture.settings)
    assert isinstance(llm, StateReader)
    nodes = [layer_name(llm.n_layer // 2), layer_name(llm.n_layer - 1), FINAL_NORM]
    plain, captured, again = read_twice(qa_fixture, question, nodes)
    assert captured.probs == plain.probs == again.probs  # the same decode: identical, not close
    assert plain.states == {} and set(captured.states) == set(nodes)
    width = llm._llama.n_embd()
    for node in nodes:
        state = captured.states[node]
        assert state.shape == (width,) and state.dtype == np.float32 and np.isfinite(state).all()
        assert float(np.linalg.norm(state)) > 1.0  # a real activation, not an untouched buffer
    assert not np.allclose(captured.states[nodes[0]], captured.states[nodes[1]])


def test_states_differ_between_questions(qa_fixture):
    llm = qa_fixture.llm(qa_fixture.settings)
    node = layer_name(llm.n_layer // 2)
    _, first, _ = read_twice(qa_fixture, LOCOMOTIVES, [node])
    _, second, _ = read_twice(qa_fixture, OFF_TOPIC[0], [node])
    assert not np.allclose(first.states[node], second.states[node])


def test_an_unknown_node_is_a_clear_error(qa_fixture):
    with pytest.raises(RuntimeError, match="no node named l_out-999"):
        read_twice(qa_fixture, LOCOMOTIVES, ["l_out-999"])


@pytest.mark.parametrize("qa_name", ["qa_default", "qa_fixture"])  # the 1.5B and the 0.5B
def test_each_packaged_model_s_shipped_probe_decides(request, qa_name):
    qa: QA = request.getfixturevalue(qa_name)
    assert qa.probe(qa.settings) is not None, f"the probe of {qa.settings.llm} was refused"
    for question in (LOCOMOTIVES, FERRIES):
        answer = qa.ask(question)
        assert answer.decided_by == "probe" and answer.p_unanswerable is not None
        assert not answer.abstained, (question, answer.abstain_reason)
    for question in OFF_TOPIC:
        answer = qa.ask(question)
        assert answer.abstained and answer.citations == []
        assert answer.decided_by in ("probe", "retrieval")  # retrieval's gate may abstain before the probe
