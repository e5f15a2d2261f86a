"""The chat UI in a real browser: Debian's Chromium, headless, driven by Playwright.

The app runs on a free loopback port over a real index of the made-up fixture corpus
(``tests/fixtures/corpus``) and the fast 0.5B model; only the optional first-token measurement
runs over the seeds, since that is what its figures are about.
Screenshots and the measured first-token times are kept in ``test-artifacts/``.
Set ``KUTIP_UI_MEASURE=qwen2.5-coder-1.5b,qwen2.5-coder-0.5b`` to also measure, in the browser,
the time from Enter to the first streamed token for each model (after one warm-up question).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from ui.render import corpus_rows

from .conftest import FAST_MODEL, FERRIES, LOCOMOTIVES, ROOT, SEEDS
from .test_ui_api import MUSEUM_ARTICLE, MUSEUM_QUESTION, OFF_TOPIC, private_copy, start_ui

pytestmark = [pytest.mark.browser, pytest.mark.llm]

CHROMIUM = os.environ.get("KUTIP_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
FOLLOW_UP = "And when was the oldest of them built?"
FINAL = "#kutip-chat .kutip-answer, #kutip-chat .kutip-abstain, #kutip-chat .kutip-error"

# Installed before the page's own scripts: records when Enter is pressed in the question box, when
# the sentences being read first show in the Sources panel, and when the first token of the new
# answer shows in the chat (a preview with text, or a final bubble).
TIMER_JS = """
window.__kt = {};
document.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && e.target.closest && e.target.closest('#kutip-question')) {
    window.__kt = {enter: performance.now(),
                   finals: document.querySelectorAll('#kutip-chat .kutip-answer, #kutip-chat .kutip-abstain, #kutip-chat .kutip-error').length};
  }
}, true);
new MutationObserver(() => {
  const t = window.__kt;
  if (!t.enter || t.first) return;
  const candidate = document.querySelector('#kutip-sources .kutip-candidate');
  if (!t.candidates && candidate) {
    t.candidates = performance.now();
    t.candidate = {article: candidate.dataset.articleId, index: candidate.dataset.sentenceIndex,
                   text: candidate.textContent};
  }
  const preview = document.querySelector('#kutip-chat .kutip-preview');
  const text = preview ? preview.textContent.replace('…', '').trim() : '';
  const finals = document.querySelectorAll('#kutip-chat .kutip-answer, #kutip-chat .kutip-abstain, #kutip-chat .kutip-error').length;
  if (text || finals > t.finals) t.first = performance.now();
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


@pytest.fixture(scope="module")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (scripts/browser.sh installs it)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def ui(fixture_dir, tmp_path_factory, chromium):
    data_dir, corpus_dir = private_copy(fixture_dir, tmp_path_factory, "ui-browser")
    url, app, qa = start_ui(data_dir, corpus_dir)
    yield url, qa
    app.close()


@pytest.fixture(scope="module")
def ui_seeds(seeded_dir, tmp_path_factory, chromium):
    """The app over the seeds: the first-token target is stated on the seeds' questions."""
    data_dir, corpus_dir = private_copy(seeded_dir, tmp_path_factory, "ui-browser-seeds", SEEDS)
    url, app, qa = start_ui(data_dir, corpus_dir)
    yield url, qa
    app.close()


class Page:
    """One browser session (its own context, so its own Gradio session) on the app."""

    def __init__(self, browser, url: str, viewport: dict[str, int] = DESKTOP) -> None:
        self.context = browser.new_context(viewport=viewport)
        self.context.add_init_script(TIMER_JS)
        self.page = self.context.new_page()
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url)
        self.page.wait_for_selector("#kutip-question textarea")
        self.page.wait_for_function("window.__kutipSelect !== undefined")  # the panels' scripts ran
        self.page.wait_for_timeout(300)

    def ask(self, question: str, timeout_s: float = 120) -> float:
        """Type, press Enter, wait for the final answer; seconds from Enter to the first token."""
        return self.wait_for_answer(self.submit(question), timeout_s)

    def submit(self, question: str) -> int:
        """Type and press Enter; returns how many final bubbles there were before."""
        finals = self.page.locator(FINAL).count()
        box = self.page.locator("#kutip-question textarea")
        box.fill(question)
        box.press("Enter")
        return finals

    def wait_for_answer(self, finals: int, timeout_s: float = 120) -> float:
        """Wait for the answer after ``submit``; seconds from Enter to the first token."""
        self.page.wait_for_function(
            f"document.querySelectorAll({FINAL!r}).length > {finals}", timeout=timeout_s * 1000, polling=100
        )
        self.page.wait_for_function("window.__kt.first !== undefined", timeout=5000)
        timer = self.page.evaluate("window.__kt")
        self.page.wait_for_function("!document.querySelector('#kutip-question textarea').disabled", timeout=10_000)
        return (timer["first"] - timer["enter"]) / 1000

    def shot(self, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def close(self) -> None:
        self.context.close()


def mark_in_view(page) -> bool:
    """The current <mark> is visible inside the article's scroll box and in the window."""
    return page.evaluate(
        """() => {
      const m = document.querySelector('#kutip-article mark.kutip-current');
      const box = document.querySelector('#kutip-article .kutip-article-body');
      if (!m || !box) return false;
      const r = m.getBoundingClientRect(), b = box.getBoundingClientRect();
      return r.bottom > b.top && r.top < b.bottom && r.top >= 0 && r.bottom <= window.innerHeight;
    }"""
    )


def record_timing(name: str, seconds: float) -> None:
    path = ARTIFACTS / "first-token.json"
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[name] = round(seconds, 3)
    path.write_text(json.dumps(data, indent=2, sort_keys=True))


# ----------------------------------------------------------------------------- tests


def test_answer_citation_and_highlight(ui, chromium):
    url, qa = ui
    p = Page(chromium, url)
    try:
        first = p.ask(LOCOMOTIVES)
        record_timing(f"{FAST_MODEL} (browser, first question)", first)
        page = p.page
        answer = page.locator("#kutip-chat .kutip-answer").last
        assert answer.inner_text().strip()  # the 0.5B's accuracy is measured by kutip eval, not here
        markers = answer.locator("a.kutip-cite")
        assert markers.count() >= 1
        sources = page.locator("#kutip-sources button.kutip-source")
        assert sources.count() >= 1
        assert page.locator("#kutip-sources .kutip-title").first.inner_text()
        p.shot("01-answer-desktop")

        # select marker [1]: its source is selected, its sentence highlighted in the article, in view
        markers.first.click()
        page.wait_for_selector("#kutip-sources #kutip-src-0-1.is-selected")
        mark = page.locator("#kutip-article mark.kutip-current")
        mark.wait_for()
        selected_sentence = page.locator("#kutip-sources .is-selected .kutip-sentence").inner_text().strip("“”")
        assert mark.inner_text() == selected_sentence
        article_id, index = mark.get_attribute("data-article-id"), mark.get_attribute("data-sentence-index")
        assert qa.index.get([f"{article_id}:{index}"])[f"{article_id}:{index}"].text == selected_sentence
        assert page.locator("#kutip-article .kutip-article-title").inner_text()
        page.wait_for_function("document.querySelector('#kutip-article mark.kutip-current') !== null")
        page.wait_for_timeout(200)
        assert mark_in_view(page)
        p.shot("02-citation-highlighted")

        # the keyboard works too: focus the last marker, press Enter
        last = markers.count()
        markers.last.focus()
        page.keyboard.press("Enter")
        page.wait_for_selector(f"#kutip-sources #kutip-src-0-{last}.is-selected")
        want = page.locator("#kutip-sources .is-selected .kutip-sentence").inner_text().strip("“”")
        page.wait_for_function(
            "(want) => { const m = document.querySelector('#kutip-article mark.kutip-current'); return m && m.innerText === want; }",
            arg=want,
        )
        # ... and a source in the panel can be selected directly
        sources.first.click()
        page.wait_for_selector("#kutip-sources #kutip-src-0-1.is-selected")
        page.wait_for_function(
            "(want) => { const m = document.querySelector('#kutip-article mark.kutip-current'); return m && m.innerText === want; }",
            arg=selected_sentence,
        )
        assert mark_in_view(page)

        # a follow-up in the same session (rag condenses it with the history first)
        first = p.ask(FOLLOW_UP)
        record_timing(f"{FAST_MODEL} (browser, follow-up in the same session: condensing + answer)", first)
        assert (
            page.locator("#kutip-chat .kutip-answer").count() + page.locator("#kutip-chat .kutip-abstain").count() == 2
        )
        assert re.search(r"first token [\d.]+ s", page.locator("#kutip-timings").inner_text())
        assert not p.errors and not p.dialogs
    finally:
        p.close()


def test_the_sentences_being_read_show_before_the_first_token(ui, chromium):
    """Enter → the Sources panel lists the retrieved sentences under their articles, marked as being
    read, before the model's first token; the final answer then shows its citations instead."""
    url, qa = ui
    p = Page(chromium, url)
    try:
        finals = p.submit(FERRIES)
        p.page.wait_for_selector("#kutip-sources .kutip-candidate")
        p.shot("02b-candidates-being-read")
        p.wait_for_answer(finals)
        t = p.page.evaluate("window.__kt")
        assert t.get("candidates") is not None, "no candidate sentence was shown while the model read"
        assert t["candidates"] < t["first"], t
        record_timing(f"{FAST_MODEL} (browser, Enter to candidates on screen)", (t["candidates"] - t["enter"]) / 1000)
        shown = t["candidate"]  # a real indexed sentence, shown as stored
        key = f"{shown['article']}:{shown['index']}"
        assert shown["text"].strip("“”") == qa.index.get([key])[key].text
        page = p.page
        assert page.locator("#kutip-sources .kutip-candidate").count() == 0  # replaced by the answer's sources
        if page.locator(FINAL).last.get_attribute("class") == "kutip-answer":
            assert page.locator("#kutip-sources button.kutip-source").count() >= 1
        else:
            assert "No sources" in page.locator("#kutip-sources").inner_text()
        assert not p.errors and not p.dialogs
    finally:
        p.close()


def test_abstention_looks_different(ui, chromium):
    url, _ = ui
    p = Page(chromium, url)
    try:
        p.ask(OFF_TOPIC)
        page = p.page
        bubble = page.locator("#kutip-chat .kutip-abstain").last
        assert "Artikel tidak menyebutkan hal ini." in bubble.inner_text()
        assert page.locator("#kutip-chat a.kutip-cite").count() == 0
        assert "No sources" in page.locator("#kutip-sources").inner_text()
        assert page.locator("#kutip-article mark").count() == 0
        style = bubble.evaluate("e => getComputedStyle(e).borderStyle")
        assert style == "dashed"
        p.shot("03-abstention")
    finally:
        p.close()


def test_upload_then_ask_and_html_is_text(ui, chromium, tmp_path):
    url, qa = ui
    good = tmp_path / "museum wayang.txt"
    good.write_text(MUSEUM_ARTICLE, encoding="utf-8")
    empty = tmp_path / "kosong.txt"
    empty.write_bytes(b"")
    latin = tmp_path / "latin1.md"
    latin.write_bytes("Caf\xe9 di Seoul ramai.".encode("latin-1"))
    p = Page(chromium, url)
    try:
        page = p.page
        page.get_by_role("tab", name="Articles").click()
        page.wait_for_selector("#kutip-corpus")
        newest = corpus_rows(qa.index.complete_articles())[0]  # the table's first row, newest article
        assert newest[0] in page.locator("#kutip-corpus").inner_text()
        page.locator("#kutip-upload input[type=file]").set_input_files([str(good), str(empty), str(latin)])
        log = page.locator("#kutip-upload-log")
        page.wait_for_function(
            "() => (document.querySelector('#kutip-upload-log') || {}).innerText?.includes('1 added, 0 already present, 2 rejected')",
            timeout=120_000,
        )
        text = log.inner_text()
        assert "kosong.txt: empty file" in text and "latin1.md: not UTF-8" in text
        page.wait_for_function("document.querySelector('#kutip-corpus').innerText.includes('WARTA LUMAJANG')")
        # the title holds a <script> tag: it is shown as text and never runs
        assert "Museum <script>alert('xss')</script> Wayang" in page.locator("#kutip-corpus").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]  # no sideways scrolling
        p.shot("04-upload")

        page.locator("#kutip-upload input[type=file]").set_input_files([str(good)])  # again: detected
        page.wait_for_function(
            "document.querySelector('#kutip-upload-log').innerText.includes('already in the corpus')", timeout=60_000
        )

        page.get_by_role("tab", name="Chat").click()
        for _ in range(2):  # the 0.5B model samples; like a user, ask again once if it abstains
            p.ask(MUSEUM_QUESTION)
            if page.locator("#kutip-chat .kutip-answer").count():
                break
        assert "4.321" in page.locator("#kutip-chat .kutip-answer").last.inner_text()
        page.locator("#kutip-chat .kutip-answer").last.locator("a.kutip-cite").first.click()
        page.wait_for_selector("#kutip-article mark.kutip-current[data-article-id='museum-wayang']")
        body = page.locator("#kutip-article .kutip-article-body").inner_text()
        assert "<b>Sri Rahayu</b>" in body and '<img src=x onerror="alert(1)">' in body
        assert "<script>alert('xss')</script>" in page.locator("#kutip-article .kutip-article-title").inner_text()
        assert page.locator("#kutip-article script, #kutip-article img, #kutip-article b").count() == 0
        assert page.locator("#kutip-sources script, #kutip-chat img[src=x]").count() == 0
        p.shot("05-uploaded-article-cited")
        assert not p.dialogs, p.dialogs
    finally:
        p.close()


def test_queue_position_is_visible(ui, chromium):
    url, _ = ui
    first, second = Page(chromium, url), Page(chromium, url)
    try:
        first.page.locator("#kutip-question textarea").fill(LOCOMOTIVES)
        first.page.locator("#kutip-question textarea").press("Enter")
        first.page.wait_for_selector("#kutip-chat .kutip-pending, #kutip-chat .kutip-preview")
        second.page.locator("#kutip-question textarea").fill(OFF_TOPIC)
        second.page.locator("#kutip-question textarea").press("Enter")
        second.page.wait_for_function(
            "/queue: \\d+\\/\\d+/.test(document.querySelector('#kutip-chat').innerText)", timeout=20_000, polling=50
        )
        second.shot("06-queue-position")
        second.page.wait_for_selector("#kutip-chat .kutip-abstain", timeout=120_000)
        # the two sessions never see each other's conversation
        assert OFF_TOPIC not in first.page.locator("#kutip-chat").inner_text()
        assert LOCOMOTIVES not in second.page.locator("#kutip-chat").inner_text()
        first.page.wait_for_selector(FINAL, timeout=120_000)
    finally:
        first.close()
        second.close()


def test_phone_width_layout(ui, chromium):
    url, _ = ui
    p = Page(chromium, url, PHONE)
    try:
        page = p.page
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
        p.ask(LOCOMOTIVES)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1
        box = page.locator("#kutip-question textarea").bounding_box()
        assert box and box["width"] > 200
        p.shot("07-phone-answer")
        markers = page.locator("#kutip-chat a.kutip-cite")
        if markers.count():  # the article is below the chat on a phone: selecting scrolls to it
            markers.first.click()
            page.wait_for_selector("#kutip-article mark.kutip-current")
            page.wait_for_timeout(300)
            assert mark_in_view(page)
            p.shot("08-phone-citation")
    finally:
        p.close()


def choose_model(page, model: str) -> None:
    page.get_by_role("tab", name="Settings").click()
    field = page.locator("#kutip-model input")
    field.fill(model)
    field.press("Enter")
    page.get_by_role("tab", name="Chat").click()


@pytest.mark.skipif(not os.environ.get("KUTIP_UI_MEASURE"), reason="set KUTIP_UI_MEASURE=model,model to measure")
def test_measure_first_token(ui_seeds, chromium):
    """Enter → first streamed token per model (chosen in the Settings tab), after a warm-up question.

    Each measured question is asked in a fresh session, so no follow-up condensing step runs.
    """
    url, _ = ui_seeds
    missiles = "How many KN-23 missiles did Russia fire in 2024?"
    questions = ("Berapa jangkauan rudal Hwasong-11?", missiles, "Di kota mana pabrik rudal KN-23 Korea Utara berada?")
    results: dict[str, list[float]] = {}
    server: dict[str, list[float]] = {}
    candidates: dict[str, list[float]] = {}
    for model in os.environ["KUTIP_UI_MEASURE"].split(","):
        warm = Page(chromium, url)
        try:
            choose_model(warm.page, model)
            warm.ask(missiles, timeout_s=300)  # loads the model; not measured
        finally:
            warm.close()
        results[model], server[model], candidates[model] = [], [], []
        for question in questions:
            p = Page(chromium, url)
            try:
                choose_model(p.page, model)
                first = p.ask(question, timeout_s=300)
                timing_line = p.page.locator("#kutip-timings").inner_text()
                assert model in timing_line
                results[model].append(round(first, 3))
                t = p.page.evaluate("window.__kt")
                candidates[model].append(round((t["candidates"] - t["enter"]) / 1000, 3))
                found = re.search(r"first token ([\d.]+) s", timing_line)  # as the server measured it
                server[model].append(float(found.group(1)) if found else float("nan"))
            finally:
                p.close()
        record_timing(f"{model} (browser, warm, mean of {len(questions)})", sum(results[model]) / len(questions))
        record_timing(
            f"{model} (browser, warm, Enter to candidates on screen, mean of {len(questions)})",
            sum(candidates[model]) / len(questions),
        )
    runs = {"browser": results, "server": server, "candidates_on_screen": candidates}
    (ARTIFACTS / "first-token-runs.json").write_text(json.dumps(runs, indent=2))
