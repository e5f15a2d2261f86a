"""What every answer's citations must satisfy, whichever backend wrote it."""

from __future__ import annotations

from rag.schema import Answer

Key = tuple[str, int]  # (article id, sentence index)


def key_of(cid: str) -> Key:
    """An eval record's ``"article:index"`` id as a key."""
    article_id, index = cid.rsplit(":", 1)
    return article_id, int(index)


def assert_cites_what_was_read(cited: set[Key], shown: set[Key], chosen: set[Key]) -> None:
    """A citation names a sentence the model read; one it did not choose is the shown neighbour
    (same article, next or previous sentence) of a chosen sentence cited with it."""
    assert cited <= shown, (cited, shown)
    cited_chosen = cited & chosen
    for article_id, index in cited - chosen:
        assert {(article_id, index - 1), (article_id, index + 1)} & cited_chosen, (cited, chosen)


def assert_answer_cites_what_was_read(answer: Answer) -> None:
    """``assert_cites_what_was_read`` on an answer's citations and what it considered."""
    assert_cites_what_was_read(
        {(c.article_id, c.sentence_index) for c in answer.citations},
        {(c.article_id, c.sentence_index) for c in answer.considered},
        {(c.article_id, c.sentence_index) for c in answer.considered if c.chosen},
    )
