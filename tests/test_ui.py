"""The Gradio UI: API-level (gradio_client) and a real headless Chromium driven by Playwright."""

from __future__ import annotations

import re
import shutil
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from rag.corpus import load_corpus
from rag.index import SentenceIndex
from rag.qa import QA

from .conftest import FAST_MODEL, ROOT, SEEDS, make_settings

pytestmark = pytest.mark.llm
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    from ui.app import build_app, serve

    root = tmp_path_factory.mktemp("ui")
    corpus = root / "corpus"
    shutil.copytree(SEEDS, corpus)
    (corpus / "990_html.txt").write_text(
        "Artikel <script>alert('x')</script> dengan <b>markup</b> Korea Utara menguji 7 rudal baru.\n", encoding="utf-8"
    )
    settings = make_settings(root / "data", corpus_dir=corpus, llm=FAST_MODEL)
    index = SentenceIndex(settings)
    index.ingest(load_corpus(corpus))
    app = build_app(QA(settings, index=index))
    port = _free_port()
    serve(app, settings, "127.0.0.1", port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    app.close()


@pytest.fixture(scope="module")
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


def test_chat_endpoint_answers_with_sources_and_highlight(client):
    chat, sources, article, timings = client.predict("Berapa jangkauan rudal Hwasong-11?", FAST_MODEL, 4, api_name="/chat")
    answer_html = chat[-1]["content"][0]["text"]
    assert "kutip-answer" in answer_html and 'href="#kutip-cite-' in answer_html  # markers link to sources
    assert "kutip-source" in sources
    marked = re.findall(r"<mark [^>]*>(.*?)</mark>", article, re.S)
    assert marked and any("380 hingga 800 km" in m for m in marked), article
    assert "first token" in timings


def test_abstention_looks_different(client):
    chat, sources, article, _ = client.predict("Siapa pemenang Piala Dunia 2022?", FAST_MODEL, 4, api_name="/chat")
    answer_html = chat[-1]["content"][0]["text"]
    assert "tidak memuat" in answer_html and "kutip-abstain" in answer_html
    assert "kutip-source-list" not in sources


def test_article_html_is_escaped(client):
    chat, sources, article, _ = client.predict("Berapa rudal baru yang diuji menurut artikel markup?", FAST_MODEL, 4, api_name="/chat")
    everything = chat[-1]["content"][0]["text"] + sources + article
    assert "<script>" not in everything and "<b>markup</b>" not in everything
    user_html = chat[-2]["content"][0]["text"] if len(chat) > 1 else ""
    assert "<script" not in user_html


def test_sessions_do_not_mix(app_url):
    from gradio_client import Client

    questions = ["Di kota mana Kompleks Mesin Ryongsong berada?", "Melalui pelabuhan apa Korea Utara mengirim senjata ke Rusia?"]

    def ask(q: str):
        return Client(app_url, verbose=False).predict(q, FAST_MODEL, 4, api_name="/chat")[0]

    with ThreadPoolExecutor(2) as pool:
        chats = list(pool.map(ask, questions))
    for q, chat in zip(questions, chats):
        texts = [m["content"][0]["text"] for m in chat if m["role"] == "user"]
        assert len(texts) == 1 and q.split()[0] in texts[0]  # each session holds only its own turn


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed (scripts/browser.sh)")
def test_browser_question_citation_highlight_and_upload(app_url, tmp_path):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(app_url)
        box = page.locator("#kutip-question textarea, #kutip-chat ~ * textarea, textarea").first
        box.fill("Berapa jangkauan rudal Hwasong-11?")
        pressed = time.perf_counter()
        box.press("Enter")
        page.wait_for_selector(".kutip-answer a[href^='#kutip-cite-']", timeout=180_000)
        print(f"browser: Enter → cited answer in {time.perf_counter() - pressed:.1f} s")
        page.locator(".kutip-source").first.click()
        mark = page.locator("#kutip-article mark").first
        mark.wait_for(timeout=30_000)
        source_text = page.locator(".kutip-source").first.inner_text()
        assert mark.inner_text().strip() and mark.inner_text().strip()[:40] in " ".join(source_text.split()), (mark.inner_text(), source_text)
        page.screenshot(path=str(ARTIFACTS / "ui-answer-highlight.png"))

        box.fill("Siapa pemenang Piala Dunia 2022?")
        box.press("Enter")
        page.wait_for_selector(".kutip-abstain", timeout=180_000)
        page.screenshot(path=str(ARTIFACTS / "ui-abstention.png"))

        upload = tmp_path / "995_baru.txt"
        upload.write_text("Berita Baru\n\nKorea Utara meluncurkan satelit mata-mata kedua pada Senin (2/6/2025).\n", encoding="utf-8")
        page.get_by_role("tab", name=re.compile("Articles")).click()
        page.locator("#kutip-upload input[type=file]").set_input_files(str(upload))
        page.wait_for_selector("#kutip-upload-log :text('995_baru')", timeout=120_000)
        page.screenshot(path=str(ARTIFACTS / "ui-upload.png"))
        browser.close()
