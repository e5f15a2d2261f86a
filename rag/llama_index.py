"""kutip inside llama-index: a retriever over kutip's sentences and a query engine with its checked,
cited answers, for a llama-index user's own app (chat engines, tools, agents).

    from rag.llama_index import KutipQueryEngine, KutipRetriever
    engine = KutipQueryEngine.from_settings()
    response = engine.query("How many containers did North Korea ship to Russia?")
    response.response                      # the checked answer, markers [1], [2] …
    response.source_nodes[0].node.text     # the sentence [1] cites, with its article's metadata
    nodes = KutipRetriever.from_settings().retrieve("Berapa kontainer …?")   # sentences, best first
"""

from __future__ import annotations

from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.response.schema import Response
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.schema import NodeRelationship, NodeWithScore, QueryBundle, RelatedNodeInfo, TextNode
from pydantic import Field

from .index import StoredSentence
from .qa import QA
from .retrieve import retrieve
from .schema import Answer, Citation
from .settings import Settings


def _metadata(
    article_id: str, index: int, title: str, outlet: str | None, published: Any, source: str | None
) -> dict[str, Any]:
    return {
        "article_id": article_id,
        "sentence_index": index,
        "title": title,
        "outlet": outlet,
        "published": published.isoformat() if published else None,
        "source": source,
    }


def sentence_node(sentence: StoredSentence | Citation) -> TextNode:
    """A kutip sentence as a llama-index ``TextNode`` (id ``article:index``; prev/next relationships)."""
    article, index = (
        (sentence.article_id, sentence.index)
        if isinstance(sentence, StoredSentence)
        else (sentence.article_id, sentence.sentence_index)
    )
    text = sentence.text if isinstance(sentence, StoredSentence) else sentence.sentence
    node = TextNode(
        id_=f"{article}:{index}",
        text=text,
        metadata=_metadata(
            article, index, sentence.title, sentence.outlet, sentence.published, getattr(sentence, "source", None)
        ),
    )
    if index > 0:
        node.relationships[NodeRelationship.PREVIOUS] = RelatedNodeInfo(node_id=f"{article}:{index - 1}")
    node.relationships[NodeRelationship.NEXT] = RelatedNodeInfo(node_id=f"{article}:{index + 1}")
    return node


class KutipRetriever(BaseRetriever):
    """kutip's hybrid retrieval (e5 + BM25 for Indonesian questions) as a llama-index retriever."""

    def __init__(self, qa: QA, top_k: int | None = None) -> None:
        super().__init__()
        self.qa, self.top_k = qa, top_k

    @classmethod
    def from_settings(cls, settings: Settings | None = None, top_k: int | None = None) -> KutipRetriever:
        return cls(QA(settings), top_k)

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        self.qa.ensure_index()
        found = retrieve(self.qa.index, query_bundle.query_str, self.qa.settings, top_k=self.top_k)
        return [NodeWithScore(node=sentence_node(h.sentence), score=h.dense) for h in found.hits]


class KutipQueryEngine(CustomQueryEngine):
    """kutip's whole pipeline (retrieve, read, write, check) as a llama-index query engine: the
    ``Response`` is the checked answer, its ``source_nodes`` the cited sentences in marker order
    (none when kutip abstains), and its metadata the ``Answer`` itself."""

    qa: Any = Field(description="The rag.qa.QA pipeline that answers.")

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> KutipQueryEngine:
        return cls(qa=QA(settings))

    def custom_query(self, query_str: str) -> Response:
        answer: Answer = self.qa.ask(query_str)
        nodes = [NodeWithScore(node=sentence_node(c), score=c.score) for c in answer.citations]
        return Response(response=answer.text, source_nodes=nodes, metadata={"answer": answer.model_dump(mode="json")})
