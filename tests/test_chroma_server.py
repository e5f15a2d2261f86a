"""Chroma server mode: ``KUTIP_CHROMA_URL`` → ``chromadb.HttpClient``
against a real ``chroma run`` on a free loopback port; ingest, re-ingest, update, retrieval and a
cited answer through it; the server stopped and restarted under a running kutip; a wrong URL.
The corpus is the made-up ``tests/fixtures/corpus``: counts and ids are derived from what it ingests.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import chromadb
import pytest
from chromadb.config import Settings as ChromaSettings

from rag.corpus import load_corpus
from rag.errors import BackendUnavailableError
from rag.index import SentenceIndex, chroma_client
from rag.qa import QA
from rag.retrieve import retrieve

from .conftest import FAST_MODEL, FIXTURE_CORPUS, make_settings, sentence_id
from .netaudit import run_audited

FACT = "Sebanyak 42 kapal feri baru akan melayani penyeberangan Selat Mirah pada tahun 2025."
FACT_ID = sentence_id(load_corpus(FIXTURE_CORPUS), FACT)
FACT_ARTICLE = FACT_ID.split(":")[0]
QUESTION = "How many new ferries will serve the Mirah Strait crossing in 2025?"
CHROMA = Path(sys.executable).parent / "chroma"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ChromaServer:
    """``chroma run --path PATH --host 127.0.0.1 --port PORT`` as a child process."""

    def __init__(self, path: Path, port: int, log: Path) -> None:
        self.path, self.port, self.log = path, port, log
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(CHROMA), "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + timeout
        client = None
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"chroma run exited with {self.proc.returncode}:\n{self.log.read_text(errors='replace')[-3000:]}"
                )
            try:
                client = client or chromadb.HttpClient(
                    host="127.0.0.1", port=self.port, settings=ChromaSettings(anonymized_telemetry=False)
                )
                client.heartbeat()
                return
            except Exception:
                client = None
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"chroma run did not answer within {timeout:g} s:\n{self.log.read_text(errors='replace')[-3000:]}"
                    ) from None
                time.sleep(0.25)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM; it takes a few seconds to exit
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not CHROMA.is_file():
        pytest.skip(f"no chroma CLI next to {sys.executable}")
    root = tmp_path_factory.mktemp("chroma_server")
    srv = ChromaServer(root / "db", free_port(), root / "chroma.log")
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """kutip's own data dir in server mode (BM25 files only; no embedded Chroma may appear here)."""
    return tmp_path_factory.mktemp("kutip_data")


@pytest.fixture(scope="module")
def cli_ingest(server, data_dir):
    """``kutip ingest`` twice through the server, configured only by environment variables."""
    from rag.cli import main

    outputs = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KUTIP_CHROMA_URL", server.url)
        mp.setenv("KUTIP_DATA_DIR", str(data_dir))
        for _ in range(2):
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(["ingest", str(FIXTURE_CORPUS)])
            outputs.append((code, out.getvalue(), err.getvalue()))
    return outputs


@pytest.fixture()
def settings(server, data_dir, cli_ingest):
    return make_settings(data_dir, chroma_url=server.url, llm=FAST_MODEL)


def test_ingest_through_server(cli_ingest, server, data_dir, fixture_articles):
    (code1, out1, err1), (code2, out2, _) = cli_ingest
    articles, total = len(fixture_articles), sum(len(a.sentences) for a in fixture_articles)
    assert code1 == 0, err1
    assert f"{articles} added" in out1 and f"{total} sentences in the index" in out1
    assert code2 == 0 and f"0 added, 0 updated, {articles} unchanged" in out2
    assert f"{total} sentences in the index" in out2
    assert not (data_dir / "chroma").exists()  # nothing went to an embedded store
    direct = chromadb.HttpClient(
        host="127.0.0.1", port=server.port, settings=ChromaSettings(anonymized_telemetry=False)
    )
    collection = direct.get_collection("kutip_sentences")
    ids = collection.get(include=[])["ids"]
    assert len(ids) == len(set(ids)) == total
    assert collection.get(ids=[FACT_ID], include=["documents"])["documents"] == [FACT]


def test_client_is_http_with_telemetry_off(settings):
    client = chroma_client(settings)
    assert client.get_settings().chroma_api_impl == "chromadb.api.fastapi.FastAPI"
    assert client.get_settings().chroma_server_http_port == int(settings.chroma_url.rsplit(":", 1)[1])
    assert client.get_settings().anonymized_telemetry is False


def test_modified_article_is_replaced_through_server(settings, tmp_path, fixture_articles):
    corpus = tmp_path / "corpus"
    shutil.copytree(FIXTURE_CORPUS, corpus)
    article = next(a for a in fixture_articles if a.id == FACT_ARTICLE)
    total = sum(len(a.sentences) for a in fixture_articles)
    target = corpus / article.source
    original = target.read_text(encoding="utf-8")
    target.write_text(original + "\nKalimat tambahan untuk pengujian mode server.\n", encoding="utf-8")
    index = SentenceIndex(settings)
    try:
        report = index.ingest(load_corpus(corpus))
        assert report.updated == [article.id] and len(report.skipped) == len(fixture_articles) - 1
        assert not report.added and index.count() == total + 1
        sentences = index.article_sentences(article.id)
        assert [s.index for s in sentences] == list(range(len(article.sentences) + 1))
        assert sentences[-1].text == "Kalimat tambahan untuk pengujian mode server."
    finally:
        target.write_text(original, encoding="utf-8")
        back = index.ingest(load_corpus(corpus))
    assert back.updated == [article.id] and index.count() == total


def test_retrieval_through_server(settings):
    found = retrieve(SentenceIndex(settings), QUESTION, settings, top_k=3)
    assert FACT in [h.sentence.text for h in found.hits]


def test_server_mode_contacts_only_the_server(settings, tmp_path):
    """A fresh process retrieving through the server connects to the server and nowhere else."""
    code = textwrap.dedent(
        f"""
        from rag.index import SentenceIndex
        from rag.retrieve import retrieve
        from rag.settings import Settings
        s = Settings(data_dir={str(settings.data_dir)!r}, chroma_url={settings.chroma_url!r})
        print(repr([h.sentence.text for h in retrieve(SentenceIndex(s), {QUESTION!r}, s, top_k=3).hits]))
        """
    )
    audit = run_audited(code, tmp_path)
    assert audit.proc.returncode == 0, audit.proc.stderr[-3000:]
    assert FACT in audit.proc.stdout
    assert audit.outside == [], audit.outside
    port = settings.chroma_url.rsplit(":", 1)[1]
    assert audit.connects and all(c == f"('127.0.0.1', {port})" for c in audit.connects), audit.connects
    if audit.native_targets is not None:  # strace saw the same connections from below Python
        assert audit.native_targets and set(audit.native_targets) == {"127.0.0.1"}, audit.native_targets


@pytest.mark.llm
def test_cited_answer_through_server(settings, fixture_articles):
    # through the server the model reads the sentence that answers; whatever it cites is a real sentence
    answer = QA(settings).ask("Berapa kapal feri baru yang akan melayani penyeberangan Selat Mirah pada 2025?")
    assert FACT_ID in [f"{c.article_id}:{c.sentence_index}" for c in answer.considered], answer
    assert answer.abstained == (not answer.citations)
    if "42" in answer.text:
        assert FACT_ID in [f"{c.article_id}:{c.sentence_index}" for c in answer.citations], answer
    sentences = {a.id: a.sentences for a in fixture_articles}
    for c in answer.citations:
        assert sentences[c.article_id][c.sentence_index].text == c.sentence


def test_wrong_url_is_a_clear_error(tmp_path, capsys, monkeypatch):
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(BackendUnavailableError) as info:
        SentenceIndex(make_settings(tmp_path, chroma_url=url))
    message = str(info.value)
    assert url in message and "chroma run --path" in message and "KUTIP_CHROMA_URL" in message
    monkeypatch.setenv("KUTIP_CHROMA_URL", url)
    monkeypatch.setenv("KUTIP_DATA_DIR", str(tmp_path))
    from rag.cli import main

    assert main(["ingest", str(FIXTURE_CORPUS)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and url in err[0] and "chroma run" in err[0]


def test_server_stopped_and_restarted_under_a_running_kutip(server, settings, fixture_articles):
    """Stop the server while an index and a QA are open: the question in flight gets a
    BackendUnavailableError naming the URL (not a raw httpx/chromadb exception); start it again on
    the same port and path: the same objects answer again, nothing lost or duplicated. The chat UI
    on the same server shows the outage as a message in the conversation, stays up, and answers
    again once the server is back. (Runs last in this module: it stops the shared server.)"""
    from .test_ui_api import client, start_ui, texts

    index = SentenceIndex(settings)
    qa = QA(settings, index)
    assert FACT in [h.sentence.text for h in retrieve(index, QUESTION, settings, top_k=3).hits]
    url, app, _ = start_ui(settings.data_dir, FIXTURE_CORPUS, chroma_url=server.url)
    chat_session = client(url)

    server.stop()
    try:
        time.sleep(1.1)  # past the manifest cache
        attempts = {
            "retrieve": lambda: retrieve(index, QUESTION, settings, top_k=3),
            "ask": lambda: qa.ask(QUESTION),
            "count": index.count,
            "ingest": lambda: index.ingest(load_corpus(FIXTURE_CORPUS)),
            "article": lambda: index.article_sentences(FACT_ARTICLE),
        }
        for name, attempt in attempts.items():
            with pytest.raises(BackendUnavailableError) as info:
                attempt()
            assert settings.chroma_url in str(info.value) and "chroma run" in str(info.value), (name, str(info.value))
        chat, *_ = chat_session.predict(QUESTION, FAST_MODEL, api_name="/chat")
        reply = texts(chat)[-1][1]
        assert 'class="kutip-error"' in reply and server.url in reply and "Traceback" not in reply, reply
    finally:
        server.start()

    assert FACT in [h.sentence.text for h in retrieve(index, QUESTION, settings, top_k=3).hits]
    unanswerable = qa.ask("What is the population of Brazil?")  # abstains at retrieval: no model call
    assert unanswerable.abstained and unanswerable.timings.first_token_s is None
    try:  # the UI kept running through the outage: the same session is answered again
        chat, *_ = chat_session.predict("What is the population of Brazil?", FAST_MODEL, api_name="/chat")
        assert [r for r, _ in texts(chat)] == ["user", "assistant"] * 2
        assert 'class="kutip-abstain"' in texts(chat)[-1][1]
    finally:
        app.close()
    report = index.ingest(load_corpus(FIXTURE_CORPUS))
    assert len(report.skipped) == len(fixture_articles) and report.sentences == 0
    ids = index.sentences.get(include=[])["ids"]
    assert len(ids) == len(set(ids)) == sum(len(a.sentences) for a in fixture_articles)
