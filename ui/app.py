"""kutip's chat UI (Gradio Blocks): streamed answers, clickable citations, the cited sentence in
its article, corpus upload, settings.

- ``build_app(qa)`` builds the Blocks over one ``QA`` (the only shared object: one index, one
  model per name); each browser session's conversation lives in ``gr.State``.
- ``serve(app, settings, ...)`` launches it with kutip's CSS, auth and bind address.
- ``launch(settings, host, port)`` is what ``kutip ui`` calls.

Answering runs in one queue (``concurrency_id="llm"``, limit 1) because a llama.cpp context is not
thread-safe; a waiting user sees the queue position on the chat. Uploads run in their own queue.
"""

from __future__ import annotations

import ipaddress
import os
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import gradio as gr

from rag.corpus import ARTICLE_SUFFIXES
from rag.errors import KutipError
from rag.llm import model_choices, overrides_for_model, selected_model
from rag.qa import QA
from rag.schema import Answer, Chosen, Retrieved
from rag.settings import PROJECT_ROOT, Settings

from .render import (
    CORPUS_HEADERS,
    EMPTY_ARTICLE,
    EMPTY_SOURCES,
    Session,
    Turn,
    article_html,
    chat_messages,
    corpus_rows,
    esc,
    sources_html,
    timings_text,
)
from .uploads import UploadResult, add_link, process_uploads

HERE = Path(__file__).resolve().parent
CSS = (HERE / "style.css").read_text(encoding="utf-8")
SOURCES_JS = (HERE / "sources.js").read_text(encoding="utf-8")
ARTICLE_JS = (HERE / "article.js").read_text(encoding="utf-8")

SEED_EXAMPLES = [  # shown only when the loaded corpus is the seed folder
    "Berapa kontainer senjata yang dikirim Korea Utara ke Rusia?",
    "Di kota mana pabrik rudal KN-23 Korea Utara berada?",
    "How many KN-23 missiles did Russia fire in 2024?",
    "How many North Korean soldiers were sent to Russia?",
]
PLACEHOLDER = "Ask about the articles — Indonesian or English. Enter sends."
BUSY_PLACEHOLDER = "Answering… (your next question can be sent when this one is done)"
FOCUS_JS = "() => { const t = document.querySelector('#kutip-question textarea'); if (t) t.focus(); }"


# ----------------------------------------------------------------------------- helpers


def corpus_examples(qa: QA, limit: int = 4) -> list[str]:
    """Example questions for the corpus that is loaded: the seed questions on the seed folder, else
    one question about each of the newest articles, by its title, in the article's language."""
    settings = qa.settings
    if settings.corpus_dir == (PROJECT_ROOT / "seeds").resolve():
        return list(SEED_EXAMPLES)
    records = [r for r in qa.index.complete_articles().values() if r.corpus in ("", str(settings.corpus_dir))]
    records.sort(key=lambda r: (r.published is None, -(r.published.toordinal() if r.published else 0), r.title.lower()))
    examples = []
    for r in records[:limit]:
        title = r.title if len(r.title) <= 90 else r.title[:89].rstrip() + "…"
        examples.append(
            f"What does “{title}” report?" if r.language == "en" else f"Apa yang diberitakan dalam “{title}”?"
        )
    return examples


def overrides_for(model: str | None, top_k: Any) -> dict[str, Any]:
    """The ``QA.stream`` overrides for the Settings tab's choices (unknown values: defaults)."""
    overrides: dict[str, Any] = {}
    try:
        overrides["top_k"] = max(1, min(20, int(top_k)))
    except (TypeError, ValueError):
        pass
    overrides.update(overrides_for_model((model or "").strip()))
    return overrides


def is_loopback(host: str) -> bool:
    if host.lower() in {"localhost", "localhost.localdomain"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind_warning(host: str, settings: Settings) -> str | None:
    """The warning to print when the UI would be reachable from other machines without a login."""
    if is_loopback(host) or (settings.ui_username and settings.ui_password):
        return None
    return (
        f"kutip: WARNING: the UI listens on {host}, reachable from other machines, without a password. "
        "Set KUTIP_UI_USERNAME and KUTIP_UI_PASSWORD, or bind to 127.0.0.1."
    )


def upload_log_html(results: list[UploadResult], pending: int = 0) -> str:
    icons = {"added": "✓", "duplicate": "=", "rejected": "✗"}
    items = "".join(
        f'<li class="{r.status}"><strong>{icons[r.status]} {esc(r.name)}</strong>: {esc(r.message)}</li>'
        for r in results
    )
    counts = {s: sum(1 for r in results if r.status == s) for s in icons}
    summary = f"{counts['added']} added, {counts['duplicate']} already present, {counts['rejected']} rejected"
    if pending:
        summary += f"; {pending} still to check"
    return f'<div class="kutip-upload-log"><p>{esc(summary)}</p><ul>{items}</ul></div>'


# ----------------------------------------------------------------------------- the app


def build_app(qa: QA) -> gr.Blocks:
    """The chat UI over ``qa`` (launch it with ``serve``)."""
    settings = qa.settings

    def corpus_summary() -> str:
        records = qa.index.complete_articles()
        sentences = sum(r.n_sentences for r in records.values())
        return f'<p class="kutip-corpus-summary">{len(records)} articles · {sentences} sentences indexed · new files are saved in <code>{esc(settings.corpus_dir)}</code></p>'

    def corpus_table() -> tuple[list[list[object]], str]:
        return corpus_rows(qa.index.complete_articles()), corpus_summary()

    def article_view(session: Session, turn: int, n: int, *, focus: bool) -> str:
        citation = session.citation(turn, n)
        if citation is None:
            return EMPTY_ARTICLE
        answer = session.turns[turn].answer
        assert answer is not None
        record = qa.index.records().get(citation.article_id)
        text = qa.index.article_text(citation.article_id) if record else None
        spans = qa.index.spans(citation.article_id) if record else []
        cited = [c.sentence_index for c in answer.citations if c.article_id == citation.article_id]
        return article_html(record, text, spans, cited, citation.sentence_index, focus=focus, label=f"[{n}]")

    # --- chat events

    def accept(question: str, session: Session) -> tuple[Any, Any, str]:
        """Show the question and a placeholder at once (no queue), then ``respond`` runs in the queue."""
        question = (question or "").strip()
        if not question:
            raise gr.Error("Type a question first.", duration=4, print_exception=False)
        shown = Session(turns=[*(session or Session()).turns, Turn(question=question, status="Waiting for the model…")])
        return chat_messages(shown), gr.Textbox(value="", interactive=False, placeholder=BUSY_PLACEHOLDER), question

    def respond(question: str, model: str, top_k: float, session: Session | None) -> Iterator[tuple[Any, ...]]:
        """Stream one answer into the chat; the final answer replaces the preview, with its sources."""
        session = session if isinstance(session, Session) else Session()
        history = session.history()
        turn = Turn(question=(question or "").strip() or (question or ""))
        session.turns.append(turn)
        index = len(session.turns) - 1
        skip = gr.skip()
        yield chat_messages(session), session, skip, skip, skip
        try:
            if model and not overrides_for(model, None):
                raise KutipError(
                    f"Unknown model '{model}'. Choose one in the Settings tab (Ollama models as ollama:NAME)."
                )
            for item in qa.stream(question, history or None, **overrides_for(model, top_k)):
                if isinstance(item, Answer):
                    turn.answer = item
                elif isinstance(item, Retrieved):
                    turn.reading, turn.status = item.sentences, "Reading the sentences found…"
                    yield chat_messages(session), session, sources_html(session, index), EMPTY_ARTICLE, skip
                elif isinstance(item, Chosen):
                    turn.chosen, turn.status = item.sentences, "Writing…"
                    yield chat_messages(session), session, sources_html(session, index), skip, skip
                else:
                    turn.preview += item
                    yield chat_messages(session), session, skip, skip, skip
        except KutipError as exc:  # QuestionError, BackendUnavailableError, ...: the user can act on these
            turn.error = str(exc)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            turn.error = f"Something went wrong while answering ({type(exc).__name__}: {exc}). The app is still running; please try again."
        answer = turn.answer
        if answer is None:
            if turn.error is None:
                turn.error = "No answer was produced; please try again."
            yield chat_messages(session), session, sources_html(session, index), skip, ""
            return
        if answer.abstained or not answer.citations:
            article = '<div class="kutip-article kutip-empty"><p>No article to show: the indexed articles do not answer this question.</p></div>'
            yield chat_messages(session), session, sources_html(session, index), article, timings_text(answer)
            return
        yield (
            chat_messages(session),
            session,
            sources_html(session, index, 1),
            article_view(session, index, 1, focus=False),
            timings_text(answer),
        )

    def select_source(session: Session, evt: gr.EventData) -> tuple[str, str]:
        data = evt._data if isinstance(getattr(evt, "_data", None), dict) else {}
        try:
            turn, n = int(data.get("turn", -1)), int(data.get("n", 0))
        except (TypeError, ValueError):
            return gr.skip(), gr.skip()
        session = session if isinstance(session, Session) else Session()
        if session.citation(turn, n) is None:
            return gr.skip(), gr.skip()
        return sources_html(session, turn, n), article_view(session, turn, n, focus=bool(data.get("focus")))

    def pick_example(evt: gr.SelectData) -> str:
        value = evt.value
        return str(value.get("text", "") if isinstance(value, dict) else value or "")

    def new_conversation() -> tuple[Any, ...]:
        return Session(), [], EMPTY_SOURCES, EMPTY_ARTICLE, ""

    # --- corpus events

    def add_articles(files: list[str] | None, progress: gr.Progress = gr.Progress()) -> Iterator[tuple[Any, ...]]:  # noqa: B008 - Gradio injects it
        paths = [Path(f) for f in (files or [])]
        if not paths:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        results: list[UploadResult] = []
        total = len(paths)

        def report(i: int, message: str) -> None:
            progress((i, total), desc=message, unit="files")

        progress((0, total), desc="checking files", unit="files")
        yield upload_log_html(results, total), gr.skip(), gr.skip(), gr.skip()
        for result in process_uploads(qa, [(p.name, p) for p in paths], report):
            results.append(result)
            table, summary = corpus_table() if result.status == "added" else (gr.skip(), gr.skip())
            yield upload_log_html(results, total - len(results)), table, summary, gr.skip()
        table, summary = corpus_table()
        yield upload_log_html(results), table, summary, None

    def add_by_link(url: str) -> tuple[Any, ...]:
        url = (url or "").strip()
        if not url:
            raise gr.Error("Paste a link (http:// or https://) first.", duration=4, print_exception=False)
        result = add_link(qa, url)
        table, summary = corpus_table()
        return upload_log_html([result]), table, summary, "" if result.status == "added" else url

    def refresh_models() -> Any:
        return gr.Dropdown(choices=model_choices(settings))

    # --- layout

    with gr.Blocks(title="kutip — tanya berita, cek kutipannya", analytics_enabled=False, fill_width=True) as app:
        session = gr.State(Session())
        question_box = gr.Textbox(visible=False, label="question")
        gr.HTML(
            '<div id="kutip-header"><h1>kutip</h1><p>Ask the Indonesian news articles; every answer cites the '
            "exact sentences it rests on. Select a marker such as [1] to read the sentence in its article.</p></div>",
            js_on_load=None,
        )
        with gr.Tabs():
            with gr.Tab("Chat", id="chat", elem_id="kutip-tab-chat"):
                with gr.Row(equal_height=False, elem_id="kutip-main"):
                    with gr.Column(scale=3, min_width=320):
                        chatbot = gr.Chatbot(
                            elem_id="kutip-chat",
                            label="Conversation",
                            show_label=False,
                            height="clamp(300px, calc(100vh - 360px), 640px)",
                            latex_delimiters=[],
                            feedback_options=None,
                            buttons=["copy"],
                            placeholder="Ask a question about the indexed news articles, or pick an example below.",
                            group_consecutive_messages=False,
                            autoscroll=True,
                            examples=[{"text": q, "display_text": q} for q in corpus_examples(qa)] or None,
                        )
                        msg = gr.Textbox(
                            elem_id="kutip-question",
                            show_label=False,
                            placeholder=PLACEHOLDER,
                            lines=1,
                            max_lines=4,
                            submit_btn="Send",
                            autofocus=True,
                            max_length=settings.max_question_chars,
                        )
                        timings = gr.HTML("", elem_id="kutip-timings", js_on_load=None, label="Timings")
                    with gr.Column(scale=2, min_width=320):
                        sources = gr.HTML(
                            EMPTY_SOURCES, elem_id="kutip-sources", js_on_load=SOURCES_JS, label="Sources"
                        )
                        article = gr.HTML(
                            EMPTY_ARTICLE, elem_id="kutip-article", js_on_load=ARTICLE_JS, label="Article"
                        )
            with gr.Tab("Articles", id="articles", elem_id="kutip-tab-articles") as articles_tab:
                summary = gr.HTML(corpus_summary(), elem_id="kutip-corpus-summary", js_on_load=None, label="Corpus")
                with gr.Row(equal_height=False):
                    upload = gr.File(
                        label=f"Add articles: {', '.join(ARTICLE_SUFFIXES)} (text in UTF-8; PDFs with a text layer), up to {settings.max_upload_bytes:,} bytes each",
                        file_count="multiple",
                        type="filepath",
                        elem_id="kutip-upload",
                        height=120,
                        scale=1,
                        min_width=300,
                    )
                    upload_log = gr.HTML(
                        "", elem_id="kutip-upload-log", js_on_load=None, label="Upload report", scale=1, min_width=300
                    )
                with gr.Row(equal_height=True):
                    link_box = gr.Textbox(
                        label="Add by link",
                        placeholder="https://… a news article's page (fetched once, saved in the corpus folder)",
                        elem_id="kutip-link",
                        scale=4,
                        max_lines=1,
                    )
                    link_button = gr.Button("Add link", elem_id="kutip-link-add", scale=1, size="sm")
                table = gr.Dataframe(
                    value=corpus_rows(qa.index.complete_articles()),
                    headers=CORPUS_HEADERS,
                    datatype=["str", "str", "str", "number", "str"],
                    interactive=False,
                    wrap=True,
                    column_widths=["46%", "16%", "12%", "9%", "17%"],
                    show_search="search",
                    elem_id="kutip-corpus",
                    max_height=420,
                    label="Indexed articles",
                )
            with gr.Tab("Settings", id="settings", elem_id="kutip-tab-settings"):
                with gr.Row():
                    model = gr.Dropdown(
                        choices=model_choices(settings),
                        value=selected_model(settings),
                        label="Model",
                        info="Embedded models run here on the CPU; Ollama models appear when an Ollama server is reachable.",
                        elem_id="kutip-model",
                        allow_custom_value=True,  # Ollama models found after start-up, or typed as ollama:NAME
                        scale=3,
                    )
                    refresh = gr.Button("Look for Ollama models", size="sm", scale=1)
                top_k = gr.Slider(
                    1,
                    20,
                    value=min(settings.top_k, 20),
                    step=1,
                    label="Sentences retrieved",
                    info="How many sentences are shown to the model for each question.",
                    elem_id="kutip-top-k",
                )
                gr.Markdown(
                    "Settings apply to this browser tab only. Answers are generated one at a time; "
                    "when someone else's answer is being written, the chat shows your place in the queue."
                )

        # --- wiring: Enter / Send / an example → show the question → answer in the queue → re-enable
        def chain(first: Any, api: bool) -> None:
            answered = first.success(
                respond,
                [question_box, model, top_k, session],
                [chatbot, session, sources, article, timings],
                api_name="chat" if api else None,
                api_visibility="public" if api else "private",
                concurrency_limit=1,
                concurrency_id="llm",
                show_progress="minimal",
                show_progress_on=[chatbot],
            )
            answered.then(
                lambda: gr.Textbox(interactive=True, placeholder=PLACEHOLDER),
                None,
                msg,
                queue=False,
                api_visibility="private",
            ).then(None, None, None, js=FOCUS_JS, api_visibility="private")

        chain(
            msg.submit(accept, [msg, session], [chatbot, msg, question_box], queue=False, api_visibility="private"),
            api=True,
        )
        chain(
            chatbot.example_select(pick_example, None, msg, queue=False, api_visibility="private").success(
                accept, [msg, session], [chatbot, msg, question_box], queue=False, api_visibility="private"
            ),
            api=False,
        )
        sources.click(
            select_source,
            [session],
            [sources, article],
            api_visibility="private",
            concurrency_limit=4,
            show_progress="hidden",
        )
        chatbot.clear(
            new_conversation, None, [session, chatbot, sources, article, timings], queue=False, api_visibility="private"
        )

        upload.upload(
            add_articles,
            [upload],
            [upload_log, table, summary, upload],
            api_name="add_articles",
            concurrency_limit=1,
            concurrency_id="ingest",
            show_progress="full",
            show_progress_on=[upload_log],
        )
        link_outputs = [upload_log, table, summary, link_box]
        link_box.submit(
            add_by_link, [link_box], link_outputs, api_name="add_link", concurrency_limit=1, concurrency_id="ingest"
        )
        link_button.click(
            add_by_link,
            [link_box],
            link_outputs,
            api_visibility="private",
            concurrency_limit=1,
            concurrency_id="ingest",
        )
        articles_tab.select(corpus_table, None, [table, summary], api_name="articles", queue=False)
        refresh.click(refresh_models, None, model, api_visibility="private")
    return app


# ----------------------------------------------------------------------------- launching


def serve(
    app: gr.Blocks,
    settings: Settings,
    host: str | None = None,
    port: int | None = None,
    *,
    prevent_thread_lock: bool = False,
    quiet: bool = False,
) -> gr.Blocks:
    """Launch ``app`` on ``host:port`` (default: the settings, 127.0.0.1:7860) with kutip's style.

    Once the server answers, prints one line ``Running on http://HOST:PORT`` (unless ``quiet``); then
    blocks until Ctrl-C unless ``prevent_thread_lock``.
    """
    host = host or settings.ui_host
    port = port or settings.ui_port
    auth = (settings.ui_username, settings.ui_password) if settings.ui_username and settings.ui_password else None
    if (settings.ui_username or settings.ui_password) and auth is None:
        print("kutip: set both KUTIP_UI_USERNAME and KUTIP_UI_PASSWORD to require a login", file=sys.stderr)
    warning = bind_warning(host, settings)
    if warning:
        print(warning, file=sys.stderr)
    app.queue(max_size=64, default_concurrency_limit=1)
    # Gradio's own banner is silenced (quiet=True) and replaced by one line with the real address,
    # printed once the server answers: launch() returns only after its startup request succeeded.
    app.launch(
        server_name=host,
        server_port=port,
        auth=auth,
        auth_message="kutip: sign in" if auth else None,
        prevent_thread_lock=True,
        quiet=True,
        show_error=False,
        inbrowser=False,
        share=False,
        ssr_mode=False,
        css=CSS,
        theme=gr.themes.Soft(primary_hue="orange", neutral_hue="slate"),
        max_file_size=max(10 * settings.max_upload_bytes, 20_000_000),
        footer_links=["api", "settings"],
        run_history=False,
    )
    if not quiet:
        print(f"Running on {_address(app)}", flush=True)
    if not prevent_thread_lock:
        app.block_thread()  # what launch() would have done: serve until Ctrl-C
    return app


def _address(app: gr.Blocks) -> str:
    """``http://HOST:PORT`` the server is bound to; for a wildcard bind, also the address to open here."""
    host, port = str(app.server_name), app.server_port
    protocol = getattr(app, "protocol", "http")
    bound = f"{protocol}://{f'[{host}]' if ':' in host else host}:{port}"
    here = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host)
    if here:
        return f"{bound} (all interfaces; on this machine: {protocol}://{here}:{port})"
    return bound


def warm_up(qa: QA) -> threading.Thread:
    """Index the corpus if the index is empty, load the default model and its prompt prefix, in the background."""

    def run() -> None:
        started = time.perf_counter()
        try:
            qa.ensure_index()
            qa.warm()
            print(
                f"kutip: ready ({selected_model(qa.settings)} loaded in {time.perf_counter() - started:.1f} s)",
                file=sys.stderr,
            )
        except Exception as exc:
            print(f"kutip: warm-up failed: {type(exc).__name__}: {exc}", file=sys.stderr)

    thread = threading.Thread(target=run, name="kutip-warm-up", daemon=True)
    thread.start()
    return thread


def launch(settings: Settings | None = None, host: str | None = None, port: int | None = None) -> None:
    """``kutip ui``: build the pipeline once, start the UI and block until Ctrl-C."""
    settings = settings or Settings()
    qa = QA(settings)
    warm_up(qa)
    serve(build_app(qa), settings, host, port)
