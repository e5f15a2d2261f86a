"""The UI's HTML for what streams before the answer is final: the candidate sentences while the
model reads, the ones it writes from once it has chosen, the numbered preview, and claims the check
withdrew. Pure functions (``ui.render``), no app, no model."""

from __future__ import annotations

from datetime import date

import pytest

from rag.schema import Answer, Citation, Source
from ui.render import Session, Turn, answer_html, chat_messages, preview_html, sources_html

pytestmark = pytest.mark.fast


def _source(article: str, index: int, text: str, rank: int) -> Source:
    return Source(
        article_id=article,
        sentence_index=index,
        sentence=text,
        title=f"Title <{article}>",
        outlet="WARTA",
        published=date(2024, 3, 1),
        rank=rank,
    )


READ = [
    _source("a", 2, "Harga beras naik 8%.", 0),
    _source("a", 5, "Pedagang <b>mengeluh</b>.", 2),
    _source("b", 1, "Stok beras aman.", 1),
]


def test_the_sources_panel_shows_the_sentences_being_read_under_their_articles():
    session = Session(turns=[Turn(question="Berapa kenaikan harga beras?", reading=READ)])
    html = sources_html(session, 0)
    assert "is-reading" in html and "Reading 3 sentences from 2 articles" in html
    assert html.count('class="kutip-candidate"') == 3 and html.count('class="kutip-candidate-article"') == 2
    assert "Title &lt;a&gt;" in html and "&lt;b&gt;mengeluh&lt;/b&gt;" in html and "<b>" not in html
    assert html.index("Title &lt;a&gt;") < html.index("Title &lt;b&gt;")  # in the order read


def test_once_chosen_the_panel_narrows_to_the_sentences_written_from():
    session = Session(turns=[Turn(question="q", reading=READ, chosen=[READ[0]])])
    html = sources_html(session, 0)
    assert "is-writing" in html and "Writing from 1 of 3 sentences read" in html
    one = sources_html(Session(turns=[Turn(question="q", reading=READ[:2])]), 0)
    assert "from 1 article…" in one
    assert "Harga beras naik 8%." in html and "Stok beras aman." not in html


def test_the_final_answer_replaces_the_candidates_with_its_citations():
    citation = Citation(article_id="a", sentence_index=2, sentence="Harga beras naik 8%.", title="T", score=0.9)
    answer = Answer(question="q", text="Naik 8% [1].", citations=[citation], language="id", model="m")
    html = sources_html(Session(turns=[Turn(question="q", reading=READ, chosen=[READ[0]], answer=answer)]), 0)
    assert "kutip-candidate" not in html and 'id="kutip-src-0-1"' in html
    errored = sources_html(Session(turns=[Turn(question="q", reading=READ, error="down")]), 0)
    assert "kutip-candidate" not in errored


def test_the_preview_shows_the_numbered_markers_and_escapes():
    assert "Naik 8% [1]." in preview_html("Naik 8% [1].")
    assert "&lt;script&gt;" in preview_html("<script>")
    messages = chat_messages(Session(turns=[Turn(question="q", preview="Naik [1]")]))
    assert "kutip-preview" in messages[-1]["content"]


def test_a_withdrawn_claim_is_shown_struck_through_not_dropped():
    citation = Citation(article_id="a", sentence_index=2, sentence="Harga beras naik 8%.", title="T", score=0.9)
    answer = Answer(
        question="q",
        text="Naik 8% [1].",
        citations=[citation],
        language="en",
        model="m",
        removed_claims=["Prices rose <12%>"],
    )
    html = answer_html(0, answer)
    assert "withdrawn" in html and "<s>Prices rose &lt;12%&gt;</s>" in html
    assert "withdrawn" not in answer_html(0, answer.model_copy(update={"removed_claims": []}))


def test_an_answer_whose_every_claim_was_withdrawn_still_shows_them():
    answer = Answer(
        question="q",
        text="The articles do not say.",
        abstained=True,
        language="en",
        model="m",
        removed_claims=["Prices rose 12%"],
    )
    assert "<s>Prices rose 12%</s>" in answer_html(0, answer)
