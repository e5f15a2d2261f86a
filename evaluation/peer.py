"""The peer: the pipeline a typical llama-index user builds from the docs, for side-by-side scoring.

``SimpleDirectoryReader`` → ``VectorStoreIndex`` on Chroma with default chunking →
``CitationQueryEngine`` (default settings), using the same LLM and embedding model as kutip.
Its citations are chunks ("Source 1: …"), not sentences.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from pydantic import BaseModel

from rag.embedding import E5Embedding
from rag.index import chroma_client
from rag.llm import get_llm, model_label
from rag.settings import Settings


class PeerCitation(BaseModel):
    text: str
    article_id: str


class PeerAnswer(BaseModel):
    question: str
    text: str
    citations: list[PeerCitation]
    first_token_s: float | None
    total_s: float
    retrieval_s: float
    model: str


class LlamaIndexPeer:
    """A stock llama-index citation pipeline over ``corpus_dir``, indexed once into its own collection."""

    def __init__(self, settings: Settings, corpus_dir: Path | None = None, collection: str = "peer_chunks") -> None:
        from llama_index.core import Settings as LISettings
        from llama_index.core import SimpleDirectoryReader, StorageContext, VectorStoreIndex
        from llama_index.core.query_engine import CitationQueryEngine
        from llama_index.vector_stores.chroma import ChromaVectorStore

        self.settings = settings
        corpus = corpus_dir or settings.corpus_dir
        embed = E5Embedding()
        llm = get_llm(settings)
        LISettings.embed_model = embed
        LISettings.llm = llm
        client = chroma_client(settings)
        started = time.perf_counter()
        try:
            client.delete_collection(collection)
        except Exception:
            pass
        store = ChromaVectorStore(
            chroma_collection=client.get_or_create_collection(collection, embedding_function=None)
        )
        documents = SimpleDirectoryReader(str(corpus), required_exts=[".txt", ".md"], recursive=True).load_data()
        for doc in documents:
            doc.metadata["article_id"] = Path(doc.metadata.get("file_name", "")).stem
        self.index = VectorStoreIndex.from_documents(
            documents, storage_context=StorageContext.from_defaults(vector_store=store), embed_model=embed
        )
        self.ingest_seconds = time.perf_counter() - started
        self.n_documents = len(documents)
        self.engine = CitationQueryEngine.from_args(self.index, llm=llm, streaming=True)
        self.retriever = self.index.as_retriever()

    def ask(self, question: str) -> PeerAnswer:
        started = time.perf_counter()
        response = self.engine.query(question)
        retrieval_s = time.perf_counter() - started
        first = None
        text = ""
        for piece in response.response_gen:
            if first is None:
                first = time.perf_counter() - started
            text += piece
        total = time.perf_counter() - started
        cited = {int(n) for n in re.findall(r"\[(\d+)\]", text)}
        citations = [
            PeerCitation(text=node.node.get_content(), article_id=str(node.node.metadata.get("article_id", "")))
            for i, node in enumerate(response.source_nodes, 1)
            if i in cited
        ]
        return PeerAnswer(
            question=question,
            text=text.strip(),
            citations=citations,
            first_token_s=first,
            total_s=total,
            retrieval_s=retrieval_s,
            model=model_label(self.settings),
        )
