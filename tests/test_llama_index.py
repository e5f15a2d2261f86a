"""kutip as a llama-index component, through llama-index's own APIs: ``BaseRetriever.retrieve``,
``BaseQueryEngine.query`` and a ``QueryEngineTool`` (real index and e5 on a made-up corpus; the
answering LLM is scripted, so no model is loaded)."""

from __future__ import annotations

import pytest
from llama_index.core.schema import NodeRelationship
from llama_index.core.tools import QueryEngineTool

from rag.corpus import load_corpus
from rag.llama_index import KutipQueryEngine, KutipRetriever
from rag.qa import QA
from rag.testing import ScriptedLLM

from .conftest import index_folder
from .test_retrieve import ARTICLES


@pytest.fixture(scope="module")
def qa_parts(tmp_path_factory):
    settings, index, folder = index_folder(tmp_path_factory, ARTICLES)
    return settings, index, {(a.id, s.index): s.text for a in load_corpus(folder) for s in a.sentences}


def test_the_retriever_returns_sentence_nodes_with_article_metadata(qa_parts):
    settings, index, sentences = qa_parts
    nodes = KutipRetriever(QA(settings, index=index), top_k=3).retrieve("Berapa biaya pembangunan pelabuhan?")
    assert len(nodes) == 3 and "Rp 1,4 triliun" in nodes[0].node.get_content()
    meta = nodes[0].node.metadata
    assert sentences[(meta["article_id"], meta["sentence_index"])] == nodes[0].node.get_content()
    assert {"title", "outlet", "published", "source"} <= set(meta)
    assert nodes[0].node.node_id == f"{meta['article_id']}:{meta['sentence_index']}"
    assert (
        nodes[0].node.relationships[NodeRelationship.NEXT].node_id
        == f"{meta['article_id']}:{meta['sentence_index'] + 1}"
    )
    assert nodes[0].score >= nodes[-1].score - 0.2


def test_the_query_engine_response_carries_the_checked_answer_and_its_cited_sentences(qa_parts):
    settings, index, sentences = qa_parts
    llm = (
        ScriptedLLM()
        .enqueue_choice({"A": 0.9, "none": 0.02})
        .enqueue(" Pelabuhan itu diresmikan pemerintah provinsi [A].")
    )
    engine = KutipQueryEngine(qa=QA(settings, index=index, llm=llm))
    response = engine.query("Siapa yang meresmikan pelabuhan?")
    answer = response.metadata["answer"]
    assert response.response == answer["text"] and response.response.endswith("[1].")
    assert len(response.source_nodes) == len(answer["citations"]) == 1
    node = response.source_nodes[0].node
    assert sentences[(node.metadata["article_id"], node.metadata["sentence_index"])] == node.get_content()

    tool = QueryEngineTool.from_defaults(
        engine, name="kutip", description="Answers from the news articles, citing sentences."
    )
    llm.enqueue_choice({"A": 0.1, "none": 0.9})  # the next question: the model finds no answer
    output = tool.call("Siapa pemenang lomba layang-layang?")
    assert "tidak memuat" in str(output) and output.raw_output.source_nodes == []
