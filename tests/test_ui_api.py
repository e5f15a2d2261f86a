"""The chat UI through its API (gradio_client), on a real app: real Chroma index over the made-up
fixture corpus (``tests/fixtures/corpus``, not the seeds), real e5 embeddings, real llama.cpp with
the fast 0.5B model.

Covers: the chat endpoint streams and ends with linked citations; two client sessions never see
each other's conversation and follow-ups get their own session's history; article, title and
user text are HTML-escaped; uploads reject bad files with a reason, detect duplicates and are
used by the chat at once; errors become messages, not tracebacks; safe names; bind warning.
"""

from __future__ import annotations

import html
import re
import shutil
import socket
import threading
from pathlib import Path

import pytest

from rag.schema import Answer

from .conftest import FAST_MODEL, FIXTURE_CORPUS, LOCOMOTIVES, make_settings

pytestmark = pytest.mark.llm

OFF_TOPIC = "Siapa pemenang Piala Dunia 2022?"
MUSEUM_ARTICLE = """Museum <script>alert('xss')</script> Wayang Lumajang Ramai Pengunjung

Lumajang, WARTA LUMAJANG – Museum Wayang di Kota Lumajang menerima 4.321 pengunjung pada Minggu (12/01/2025), kata kepala museum <b>Sri Rahayu</b>.
Pengunjung datang dari Surabaya dan Malang untuk melihat koleksi wayang kulit <img src=x onerror="alert(1)">.
Museum itu dibuka kembali setelah renovasi selama enam bulan.
"""
MUSEUM_QUESTION = "How many visitors did the Wayang Museum in Lumajang receive?"
TAGGED_QUESTION = '<img src=x onerror="alert(1)"> Siapa pemenang <b>Piala Dunia</b> 2022?'


def ask_until_answered(c, question: str, tries: int = 2):
    """The 0.5B model samples (temperature 0.1); like a user, ask again once if it abstains."""
    for _ in range(tries):
        result = c.predict(question, FAST_MODEL, api_name="/chat")
        if 'class="kutip-answer"' in texts(result[0])[-1][1]:
            break
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_ui(data_dir: Path, corpus_dir: Path, **settings_kwargs):
    """Build and launch the app on a free loopback port; returns (url, app, qa)."""
    from rag.qa import QA
    from ui.app import build_app, serve

    settings = make_settings(data_dir, corpus_dir=corpus_dir, llm=FAST_MODEL, **settings_kwargs)
    qa = QA(settings)
    qa.llm()  # load the model before the first question (warm, as after `kutip ui` start-up)
    app = build_app(qa)
    port = free_port()
    serve(app, settings, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    return f"http://127.0.0.1:{port}/", app, qa


def private_copy(data_dir: Path, tmp_path_factory, name: str, corpus_dir: Path = FIXTURE_CORPUS) -> tuple[Path, Path]:
    """A writable copy of an index and of the articles it holds (uploads write there); by default
    the fixture index and the fixture articles."""
    root = tmp_path_factory.mktemp(name)
    shutil.copytree(data_dir, root / "data")
    shutil.copytree(corpus_dir, root / "corpus")
    return root / "data", root / "corpus"


class Recorder:
    """Wraps ``qa.stream`` to record each (question, history) the UI passes, and the final answer
    to each question; behaviour unchanged."""

    def __init__(self, qa) -> None:
        self.calls: list[tuple[str, list[tuple[str, str]]]] = []
        self.answers: dict[str, object] = {}
        self._stream = qa.stream
        self._lock = threading.Lock()
        qa.stream = self

    def __call__(self, question, history=None, **kwargs):
        with self._lock:
            self.calls.append((question, list(history or [])))
        for item in self._stream(question, history, **kwargs):
            if isinstance(item, Answer):
                with self._lock:
                    self.answers[question] = item
            yield item

    def history_for(self, question: str) -> list[tuple[str, str]]:
        return next(h for q, h in self.calls if q == question)


@pytest.fixture(scope="module")
def ui(fixture_dir, tmp_path_factory):
    data_dir, corpus_dir = private_copy(fixture_dir, tmp_path_factory, "ui-api")
    url, app, qa = start_ui(data_dir, corpus_dir, max_upload_bytes=50_000, ollama_url="http://127.0.0.1:9")
    recorder = Recorder(qa)
    yield url, qa, recorder
    app.close()


def client(url: str):
    from gradio_client import Client

    return Client(url, verbose=False)


def texts(chat: list[dict]) -> list[tuple[str, str]]:
    """(role, content) of each chatbot message as the client returns them."""
    out = []
    for message in chat:
        content = message["content"]
        if isinstance(content, list):
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        out.append((message["role"], content))
    return out


def plain(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def current_mark(article_html: str) -> tuple[str, str, int]:
    m = re.search(
        r'<mark class="kutip-cited kutip-current"[^>]*data-article-id="([^"]+)" data-sentence-index="(\d+)">(.*?)</mark>',
        article_html,
    )
    assert m, article_html[:500]
    return plain(m.group(3)), m.group(1), int(m.group(2))


# ----------------------------------------------------------------------------- chat endpoint


def test_chat_streams_and_links_citations(ui):
    url, qa, _ = ui
    job = client(url).submit(LOCOMOTIVES, FAST_MODEL, api_name="/chat")
    chat, sources, article, timings = job.result(timeout=240)
    updates = job.outputs()
    previews = [u for u in updates if 'class="kutip-preview"' in texts(u[0])[-1][1]]
    assert len(previews) >= 3, "the answer should arrive in several streamed pieces"

    (role_q, question), (role_a, answer) = texts(chat)
    assert (role_q, role_a) == ("user", "assistant")
    assert plain(question) == LOCOMOTIVES
    assert 'class="kutip-answer"' in answer and "kutip-preview" not in answer
    links = re.findall(r'<a class="kutip-cite" href="#kutip-cite-0-(\d+)"', answer)
    assert links and links[0] == "1"

    # the sources panel lists the cited sentences; source 1 is selected and shown in its article
    assert 'id="kutip-src-0-1"' in sources and "is-selected" in sources
    first_sentence = plain(
        re.search(r'id="kutip-src-0-1".*?<span class="kutip-sentence">(.*?)</span>', sources).group(1)
    )
    sentence, article_id, index = current_mark(article)
    assert f"“{sentence}”" == first_sentence
    assert qa.index.get([f"{article_id}:{index}"])[f"{article_id}:{index}"].text == sentence
    assert "first token" in timings and "retrieval" in timings and FAST_MODEL in timings


def test_abstention_has_no_sources(ui):
    url, _, _ = ui
    chat, sources, article, timings = client(url).predict(OFF_TOPIC, api_name="/chat")
    answer = texts(chat)[-1][1]
    assert 'class="kutip-abstain"' in answer and "kutip-cite" not in answer
    assert "Artikel tidak menyebutkan hal ini." in answer
    assert "No sources" in sources and "<mark" not in article
    assert "first token –" in timings  # abstained before generation
    assert 'class="kutip-abstain-why">alasan: no sentence is close enough' in answer  # and says why


def test_sessions_do_not_mix_and_follow_ups_use_own_history(ui):
    url, _, recorder = ui
    a, b = client(url), client(url)
    a_questions = [
        "How many steam locomotives does the railway museum in Serang Baru display?",
        "And when was the oldest of them built?",
    ]
    b_questions = [OFF_TOPIC, "Siapa pelatih tim nasional Argentina?"]
    results: dict[str, list] = {"a": [], "b": []}

    def run(name, c, questions):
        for q in questions:
            results[name].append(c.predict(q, FAST_MODEL, api_name="/chat"))

    threads = [
        threading.Thread(target=run, args=("a", a, a_questions)),
        threading.Thread(target=run, args=("b", b, b_questions)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=400)
    assert len(results["a"]) == len(results["b"]) == 2

    a_chat, b_chat = texts(results["a"][-1][0]), texts(results["b"][-1][0])
    assert [plain(c) for r, c in a_chat if r == "user"] == a_questions
    assert [plain(c) for r, c in b_chat if r == "user"] == b_questions
    # each follow-up was answered with its own session's first turn as history, nothing else
    a_history = recorder.history_for(a_questions[1])
    b_history = recorder.history_for(b_questions[1])
    assert [q for q, _ in a_history] == a_questions[:1]
    assert [q for q, _ in b_history] == b_questions[:1]
    assert recorder.history_for(a_questions[0]) == [] and recorder.history_for(b_questions[0]) == []


def test_errors_are_messages_and_the_app_keeps_running(ui):
    url, _, _ = ui
    c = client(url)
    chat, *_ = c.predict("   ", api_name="/chat")
    assert 'class="kutip-error"' in texts(chat)[-1][1] and "question is empty" in texts(chat)[-1][1]
    chat, *_ = c.predict("Apa kabar Selat Mirah?", "ollama:qwen2.5:0.5b", api_name="/chat")
    message = plain(texts(chat)[-1][1])
    assert "Ollama is not reachable at http://127.0.0.1:9" in message and "Traceback" not in message
    chat, *_ = c.predict(OFF_TOPIC, FAST_MODEL, api_name="/chat")  # still serving, same session
    assert len(texts(chat)) == 6 and 'class="kutip-abstain"' in texts(chat)[-1][1]


# ----------------------------------------------------------------------------- uploads and escaping


def upload(c, paths: list[Path]):
    from gradio_client import handle_file

    return c.predict([handle_file(str(p)) for p in paths], api_name="/add_articles")


def test_upload_rejects_bad_files_and_detects_duplicates(ui, tmp_path):
    url, qa, _ = ui
    files = tmp_path / "in"
    files.mkdir()
    (files / "kosong.txt").write_bytes(b"")
    (files / "latin1.txt").write_bytes("Berita Selat Mirah. Caf\xe9 di Seoul.".encode("latin-1"))
    (files / "laporan.pdf").write_bytes(b"%PDF-1.4 not an article")
    (files / "laporan.docx").write_bytes(b"PK\x03\x04 a word file")
    (files / "besar.txt").write_text("Kalimat yang panjang sekali. " * 3000, encoding="utf-8")
    before = qa.index.complete_articles()
    copied_id = sorted(before)[0]  # any article the UI's corpus holds, copied under a new name
    shutil.copy(qa.settings.corpus_dir / before[copied_id].source, files / "salinan.txt")
    log, table, summary, cleared = upload(client(url), sorted(files.iterdir()))
    text = plain(log)
    assert "0 added, 1 already present, 5 rejected" in text
    assert "kosong.txt: empty file" in text
    assert "latin1.txt: not UTF-8" in text
    assert "laporan.pdf: not a readable PDF" in text
    assert "laporan.docx: wrong file type (.docx); the article types accepted are .txt, .md, .html, .htm, .pdf" in text
    assert re.search(r"besar\.txt: too large \([\d,]+ bytes; the limit is 50,000\)", text)
    assert "salinan.txt: already in the corpus as" in text and copied_id in text
    assert set(qa.index.complete_articles()) == set(before)
    assert sorted(p.name for p in qa.settings.corpus_dir.iterdir()) == sorted(p.name for p in FIXTURE_CORPUS.iterdir())


def test_uploaded_article_is_used_at_once_and_html_is_escaped(ui, tmp_path):
    url, qa, _ = ui
    path = tmp_path / "museum wayang (1).md"
    path.write_text(MUSEUM_ARTICLE, encoding="utf-8")
    c = client(url)
    log, table, summary, _ = upload(c, [path])
    assert "1 added" in plain(log) and "saved as museum-wayang-1.md" in plain(log)
    assert (qa.settings.corpus_dir / "museum-wayang-1.md").read_text(encoding="utf-8") == MUSEUM_ARTICLE
    rows = table["data"]
    assert any(row[-1] == "museum-wayang-1" and row[3] == 3 for row in rows)

    again, *_ = upload(c, [path])  # the same file again: detected, not added twice
    assert "already in the corpus" in plain(again)

    chat, *_ = client(url).predict(TAGGED_QUESTION, FAST_MODEL, api_name="/chat")  # user text is escaped too
    question = texts(chat)[-2][1]
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in question and "&lt;b&gt;Piala Dunia&lt;/b&gt;" in question
    assert "<img" not in question and "<b>" not in question

    chat, sources, article, _ = ask_until_answered(c, MUSEUM_QUESTION)
    answer = texts(chat)[-1][1]
    assert 'class="kutip-answer"' in answer, answer
    assert "4.321" in plain(answer)
    for fragment in (sources, article, answer):
        assert "<script" not in fragment and "<img" not in fragment and "<b>" not in fragment
    assert "Museum &lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt; Wayang" in sources
    assert "&lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt;" in article
    sentence, article_id, _ = current_mark(article)
    assert article_id == "museum-wayang-1" and "4.321 pengunjung" in sentence
    assert "&lt;b&gt;Sri Rahayu&lt;/b&gt;" in article


def test_saved_names_are_safe(ui, tmp_path):
    from ui.uploads import process_uploads, safe_stem

    assert safe_stem("../../etc/passwd.txt") == "passwd"
    assert safe_stem("..\\..\\win.ini.md") == "win.ini"
    assert safe_stem("Berita Ékonomi 2024!.txt") == "Berita-Ekonomi-2024"
    assert safe_stem("???.txt") == "article" and safe_stem("…….md") == "article"
    _, qa, _ = ui
    source = tmp_path / "a.txt"
    source.write_text(
        "Kapal Nelayan Tiba di Pelabuhan\n\nSebuah kapal nelayan tiba di Pelabuhan Benoa pada Senin (03/02/2025). Kapal itu membawa 12 ton ikan tuna.\n",
        encoding="utf-8",
    )
    (result,) = process_uploads(qa, [("../../../escape.txt", source)])
    assert result.status == "added" and result.article_id == "escape"
    assert (qa.settings.corpus_dir / "escape.txt").is_file()
    assert not (qa.settings.corpus_dir.parent / "escape.txt").exists()
    # a different article under a taken name gets a new name; the existing file is untouched
    other = tmp_path / "b.txt"
    other.write_text(
        "Hujan Deras di Bogor\n\nHujan deras turun di Bogor pada Selasa (04/02/2025). Sungai Ciliwung meluap.\n",
        encoding="utf-8",
    )
    (second,) = process_uploads(qa, [("escape.txt", other)])
    assert second.status == "added" and second.article_id == "escape-2"
    assert "Kapal" in (qa.settings.corpus_dir / "escape.txt").read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- settings, launch


def test_bind_warning_and_loopback():
    from ui.app import bind_warning, is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")
    settings = make_settings(Path("/tmp/unused"))
    assert bind_warning("127.0.0.1", settings) is None
    assert "without a password" in bind_warning("0.0.0.0", settings)
    protected = make_settings(Path("/tmp/unused"), ui_username="ana", ui_password="s3cret")
    assert bind_warning("0.0.0.0", protected) is None


def test_login_required_when_password_set(fixture_dir, tmp_path_factory):
    import httpx

    data_dir, corpus_dir = private_copy(fixture_dir, tmp_path_factory, "ui-auth")
    url, app, _ = start_ui(data_dir, corpus_dir, ui_username="ana", ui_password="s3cret")
    try:
        assert httpx.get(f"{url}config", timeout=10).status_code == 401
        with httpx.Client(base_url=url, timeout=10) as session:
            assert session.post("login", data={"username": "ana", "password": "wrong"}).status_code == 400
            assert session.post("login", data={"username": "ana", "password": "s3cret"}).status_code == 200
            assert session.get("config").status_code == 200
    finally:
        app.close()


def test_ollama_models_are_offered_when_a_server_answers(tmp_path):
    from rag.llm.gguf import ensure_gguf
    from rag.settings import Settings
    from ui.app import model_choices, overrides_for

    try:
        from tests.ollama_standin import OllamaStandIn
    except ImportError:  # tests/ not importable as a package
        from ollama_standin import OllamaStandIn

    gguf = str(ensure_gguf(FAST_MODEL, Settings().model_cache))
    with OllamaStandIn({"qwen2.5:0.5b": gguf}) as server:
        values = [v for _, v in model_choices(make_settings(tmp_path, ollama_url=server.url))]
    assert values[:2] == ["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"] and "ollama:qwen2.5:0.5b" in values
    assert [v for _, v in model_choices(make_settings(tmp_path, ollama_url="http://127.0.0.1:9"))] == values[:2]
    assert overrides_for("ollama:qwen2.5:0.5b", 5) == {"top_k": 5, "backend": "ollama", "ollama_model": "qwen2.5:0.5b"}
    assert overrides_for("qwen2.5-coder-0.5b", 99) == {"top_k": 20, "backend": "llamacpp", "llm": "qwen2.5-coder-0.5b"}
