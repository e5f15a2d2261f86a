"""Pure functions from kutip's data to the HTML the UI shows.

Everything that comes from an article, a user or the model goes through ``html.escape`` here and
nowhere else, so an article containing ``<script>`` or markup is shown as text. Chat bubbles are
single-line HTML blocks (no blank lines), so the chatbot's Markdown renderer leaves their content
alone; the chatbot's sanitiser keeps ``class``, ``id``, ``href`` and ``title`` (not ``data-*``),
which is why citation markers carry their target in the ``href`` (``#kutip-cite-<turn>-<n>``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from rag.index import ArticleRecord
from rag.schema import Answer, Citation, Source

# ``[1]``, ``[1, 2]``, ``[1][3]``: the markers ``Answer.text`` uses (1-based into ``citations``)
MARKERS = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")

ABSTAIN_HEADING = {
    "id": "Artikel tidak menyebutkan hal ini.",
    "en": "The articles do not say this.",
}
ABSTAIN_HINT = {
    "id": "Coba rumuskan ulang pertanyaan, atau tambahkan artikel di tab Articles.",
    "en": "Try rephrasing the question, or add articles in the Articles tab.",
}
MONTHS_ID = ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"]


def esc(text: object) -> str:
    """HTML-escaped text (quotes too, so it is safe in attribute values)."""
    return html.escape("" if text is None else str(text), quote=True)


def esc_lines(text: str) -> str:
    """Escaped text whose line breaks become ``<br>`` (a bubble must not contain blank lines)."""
    return re.sub(r"[ \t]*\n\s*", "<br>", esc(text))


def fmt_date(value: date | None) -> str:
    return f"{value.day} {MONTHS_ID[value.month - 1]} {value.year}" if value else ""


def source_meta(outlet: str | None, published: date | None) -> str:
    """``ILLINI NEWS · 25 Nov 2024`` (escaped), or ``""``."""
    return " · ".join(esc(x) for x in (outlet, fmt_date(published)) if x)


def source_html(source: str | None, *, link: bool = True) -> str:
    """Where an article comes from: a link (an anchor opening a new tab, http/https only, unless
    ``link`` is off: inside a button) or its file in the corpus folder."""
    if not source:
        return ""
    if re.match(r"^https?://", source, re.IGNORECASE):
        shown = _short(re.sub(r"^https?://(?:www\.)?", "", source, flags=re.IGNORECASE), 70)
        if not link:
            return f'<span class="kutip-source-link" title="{esc(source)}">{esc(shown)}</span>'
        return f'<a class="kutip-source-link" href="{esc(source)}" target="_blank" rel="noopener noreferrer">{esc(shown)}</a>'
    shown = (
        source.replace("\\", "/").rsplit("/", 1)[-1] if source.startswith("/") else source
    )  # an older index kept absolute paths
    return f'<span class="kutip-source-file">{esc(shown)}</span>'


# ----------------------------------------------------------------------------- per-session state


@dataclass
class Turn:
    """One question and what became of it: a final ``Answer``, an error message, or still running."""

    question: str
    answer: Answer | None = None
    error: str | None = None
    preview: str = ""
    status: str = "Searching the articles…"  # shown until the first token arrives
    reading: list[Source] = field(default_factory=list)  # the sentences being read (stream's Retrieved)
    chosen: list[Source] | None = None  # the sentences being written from (stream's Chosen)


@dataclass
class Session:
    """One browser session's conversation (held in ``gr.State``, so never shared between users)."""

    turns: list[Turn] = field(default_factory=list)

    def history(self) -> list[tuple[str, str]]:
        """(question, final answer text) of the finished turns, for follow-up questions."""
        return [(t.question, t.answer.text) for t in self.turns if t.answer is not None]

    def citation(self, turn: int, n: int) -> Citation | None:
        if 0 <= turn < len(self.turns):
            answer = self.turns[turn].answer
            if answer is not None and 1 <= n <= len(answer.citations):
                return answer.citations[n - 1]
        return None


# ----------------------------------------------------------------------------- chat bubbles


def _cite_link(turn: int, n: int, citation: Citation | None) -> str:
    if citation is None:  # a marker that names no citation: shown, but not a link
        return f"[{n}]"
    tip = f"{citation.title} — {citation.sentence}"
    if len(tip) > 300:
        tip = tip[:299] + "…"
    return f'<a class="kutip-cite" href="#kutip-cite-{turn}-{n}" title="{esc(tip)}">[{n}]</a>'


def answer_html(turn: int, answer: Answer) -> str:
    """The final answer: escaped text whose ``[n]`` markers link to source n of this turn."""
    if answer.abstained:
        return abstention_html(answer)
    out: list[str] = []
    pos = 0
    text = answer.text.strip()
    for m in MARKERS.finditer(text):
        out.append(esc_lines(text[pos : m.start()]))
        numbers = [int(x) for x in re.split(r"\s*[,;]\s*", m.group(1))]
        out.append(
            "".join(
                _cite_link(turn, n, answer.citations[n - 1] if 1 <= n <= len(answer.citations) else None)
                for n in numbers
            )
        )
        pos = m.end()
    out.append(esc_lines(text[pos:]))
    count = len(answer.citations)
    label = "sumber" if answer.language == "id" else ("source" if count == 1 else "sources")
    foot = f"{count} {label}"
    searched = (answer.standalone_question or "").strip()
    if searched and searched.casefold() != answer.question.strip().casefold():
        foot += f" · {'dicari sebagai' if answer.language == 'id' else 'searched as'} “{esc(_short(searched, 160))}”"
    footer = f'<span class="kutip-answer-foot">{foot}</span>'
    return f'<div class="kutip-answer">{"".join(out)}</div>{withdrawn_html(answer)}{footer}'


def abstention_html(answer: Answer) -> str:
    lang = answer.language if answer.language in ABSTAIN_HEADING else "en"
    label = "alasan" if lang == "id" else "why"
    why = (
        f'<span class="kutip-abstain-why">{label}: {esc(_short(answer.abstain_reason, 300))}</span>'
        if answer.abstain_reason
        else ""
    )
    return (
        f'<div class="kutip-abstain"><strong class="kutip-abstain-head">{esc(ABSTAIN_HEADING[lang])}</strong>'
        f'<span class="kutip-abstain-body">{esc_lines(answer.text.strip())}</span>'
        f'<span class="kutip-abstain-hint">{esc(ABSTAIN_HINT[lang])}</span>{why}</div>{withdrawn_html(answer)}'
    )


def error_html(message: str) -> str:
    return f'<div class="kutip-error"><strong>⚠ </strong>{esc_lines(message.strip())}</div>'


def pending_html(text: str = "Searching the articles…") -> str:
    return f'<span class="kutip-pending">{esc(text)}</span>'


def withdrawn_html(answer: Answer) -> str:
    """Claims the model wrote that the check removed (no chosen sentence states them): shown struck
    through, so a claim seen while streaming does not silently vanish."""
    if not answer.removed_claims:
        return ""
    label = (
        "ditarik: tidak ada kalimat sumber yang menyatakannya"
        if answer.language == "id"
        else "withdrawn: no source sentence states it"
    )
    items = "".join(f"<li><s>{esc(_short(claim, 300))}</s></li>" for claim in answer.removed_claims)
    return f'<div class="kutip-withdrawn"><span class="kutip-withdrawn-head">{esc(label)}</span><ul>{items}</ul></div>'


def preview_html(raw: str) -> str:
    """The answer as it streams; its markers are already the answer's numbers (``rag.write``)."""
    return f'<div class="kutip-preview">{esc_lines(raw.strip()) or "…"}<span class="kutip-caret"></span></div>'


def question_html(question: str) -> str:
    return f'<div class="kutip-question">{esc_lines(question.strip())}</div>'


def chat_messages(session: Session) -> list[dict[str, str]]:
    """The chatbot's value (Gradio 6 messages: ``{"role", "content"}``) for the whole session."""
    messages: list[dict[str, str]] = []
    for i, turn in enumerate(session.turns):
        messages.append({"role": "user", "content": question_html(turn.question)})
        if turn.answer is not None:
            content = answer_html(i, turn.answer)
        elif turn.error is not None:
            content = error_html(turn.error)
        elif turn.preview:
            content = preview_html(turn.preview)
        else:
            content = pending_html(turn.status)
        messages.append({"role": "assistant", "content": content})
    return messages


# ----------------------------------------------------------------------------- sources and article


EMPTY_SOURCES = (
    '<div class="kutip-sources kutip-empty"><p class="kutip-panel-title">Sources</p>'
    "<p>Ask a question; the sentences the answer rests on appear here. Select one to read it in its article.</p></div>"
)
EMPTY_ARTICLE = '<div class="kutip-article kutip-empty"><p>Select a source or a marker such as [1] to see the sentence in its article.</p></div>'


def candidates_html(turn: int, t: Turn) -> str:
    """While the model works: the sentences it reads, under their articles, marked as being read;
    once it has chosen, only the ones it writes from."""
    writing = t.chosen is not None
    shown = t.chosen if t.chosen is not None else t.reading
    state = "is-writing" if writing else "is-reading"
    note = (
        f"Writing from {len(shown)} of {len(t.reading)} sentences read…"
        if writing
        else f"Reading {len(shown)} sentences from {_count(len({s.article_id for s in shown}), 'article')}…"
    )
    groups: dict[str, list[Source]] = {}
    for s in shown:
        groups.setdefault(s.article_id, []).append(s)
    blocks = []
    for sentences in groups.values():
        first = sentences[0]
        meta = source_meta(first.outlet, first.published)
        lines = "".join(
            f'<li class="kutip-candidate" data-article-id="{esc(s.article_id)}" data-sentence-index="{s.sentence_index}">'
            f"“{esc(s.sentence)}”</li>"
            for s in sentences
        )
        blocks.append(
            f'<li class="kutip-candidate-article"><span class="kutip-title">{esc(first.title)}</span>'
            + (f'<span class="kutip-meta">{meta}</span>' if meta else "")
            + f'<ul class="kutip-candidate-list">{lines}</ul></li>'
        )
    return (
        f'<div class="kutip-sources kutip-candidates {state}" data-turn="{turn}">'
        f'<p class="kutip-panel-title">Sources <span class="kutip-for">for “{esc(_short(t.question, 90))}”</span></p>'
        f'<p class="kutip-candidates-note">{esc(note)}</p><ol class="kutip-candidate-articles">{"".join(blocks)}</ol></div>'
    )


def sources_html(session: Session, turn: int | None, selected: int | None = None) -> str:
    """The citations of one turn, each a button that selects it; ``selected`` is highlighted.
    Before the answer is final, the sentences being read (``candidates_html``)."""
    if turn is None or not 0 <= turn < len(session.turns):
        return EMPTY_SOURCES
    t = session.turns[turn]
    answer = t.answer
    if answer is None and t.error is None and t.reading:
        return candidates_html(turn, t)
    head = (
        f'<p class="kutip-panel-title">Sources <span class="kutip-for">for “{esc(_short(t.question, 90))}”</span></p>'
    )
    if answer is None or answer.abstained or not answer.citations:
        note = "No sources: the articles do not answer this question." if answer is not None else "No sources."
        return f'<div class="kutip-sources kutip-none" data-turn="{turn}">{head}<p>{esc(note)}</p></div>'
    items = []
    for n, c in enumerate(answer.citations, 1):
        current = " is-selected" if n == selected else ""
        meta = source_meta(c.outlet, c.published)
        items.append(
            f'<li><button type="button" class="kutip-source{current}" id="kutip-src-{turn}-{n}" data-turn="{turn}" '
            f'data-n="{n}" aria-pressed="{"true" if current else "false"}">'
            f'<span class="kutip-num">[{n}]</span><span class="kutip-src-text">'
            f'<span class="kutip-title">{esc(c.title)}</span>'
            + (f'<span class="kutip-meta">{meta}</span>' if meta else "")
            + f'<span class="kutip-sentence">“{esc(c.sentence)}”</span>'
            + (f'<span class="kutip-src-where">{source_html(c.source, link=False)}</span>' if c.source else "")
            + "</span></button></li>"
        )
    return (
        f'<div class="kutip-sources" data-turn="{turn}">{head}<ol class="kutip-source-list">{"".join(items)}</ol></div>'
    )


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def article_html(
    record: ArticleRecord | None,
    text: str | None,
    spans: Sequence[tuple[int, int, int]],
    cited: Sequence[int],
    current: int | None,
    *,
    focus: bool = False,
    label: str = "",
) -> str:
    """The whole article, escaped, with the cited sentences in ``<mark>`` and ``current`` emphasised.

    ``data-focus`` asks the panel's script to bring the panel itself into view (a user's click),
    not only to scroll the sentence into view inside the panel.
    """
    if record is None or text is None:
        return '<div class="kutip-article kutip-empty"><p>This article is no longer in the index.</p></div>'
    cited_set = set(cited)
    parts: list[str] = []
    pos = 0
    for index, start, end in sorted(spans, key=lambda s: s[1]):
        if start < pos or end > len(text):
            continue  # defensive: overlapping or stale offsets are shown as plain text
        parts.append(esc(text[pos:start]))
        sentence = esc(text[start:end])
        if index in cited_set:
            cls = "kutip-cited kutip-current" if index == current else "kutip-cited"
            parts.append(
                f'<mark class="{cls}" id="kutip-mark-{index}" data-article-id="{esc(record.id)}" '
                f'data-sentence-index="{index}">{sentence}</mark>'
            )
        else:
            parts.append(f'<span class="kutip-s" data-sentence-index="{index}">{sentence}</span>')
        pos = end
    parts.append(esc(text[pos:]))
    meta = source_meta(record.outlet, record.published)
    where = (
        f'<span class="kutip-where">{esc(label)} · sentence {current + 1} of {record.n_sentences}</span>'
        if current is not None
        else ""
    )
    return (
        f'<div class="kutip-article" data-focus="{1 if focus else 0}" data-article-id="{esc(record.id)}">'
        f'<div class="kutip-article-head"><p class="kutip-article-title">{esc(record.title)}</p>'
        f'<p class="kutip-meta">{meta + " · " if meta else ""}<code>{esc(record.id)}</code></p>'
        + (f'<p class="kutip-meta kutip-article-source">{source_html(record.source)}</p>' if record.source else "")
        + f"{where}</div>"
        f'<div class="kutip-article-body" tabindex="0">{"".join(parts)}</div></div>'
    )


# ----------------------------------------------------------------------------- corpus, timings


CORPUS_HEADERS = ["Title", "Outlet", "Date", "Sentences", "ID"]


def corpus_rows(records: dict[str, ArticleRecord]) -> list[list[object]]:
    """One row per indexed article, newest first (undated last), then by title."""
    ordered = sorted(
        records.values(),
        key=lambda r: (r.published is None, -(r.published.toordinal() if r.published else 0), r.title.lower()),
    )
    return [
        [r.title, r.outlet or "", r.published.isoformat() if r.published else "", r.n_sentences, r.id] for r in ordered
    ]


def timings_text(answer: Answer) -> str:
    t = answer.timings
    first = f"{t.first_token_s:.2f} s" if t.first_token_s is not None else "–"
    return (
        f'<span class="kutip-timings">{esc(answer.model)} · retrieval {t.retrieval_s * 1000:.0f} ms · '
        f"first token {first} · total {t.total_s:.2f} s</span>"
    )
