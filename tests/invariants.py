"""What every answer's citations must satisfy, whichever backend wrote it."""

from __future__ import annotations

Key = tuple[str, int]  # (article id, sentence index)


def assert_cites_what_was_read(cited: set[Key], shown: set[Key], chosen: set[Key]) -> None:
    """A citation names a sentence the model read; one it did not choose is the shown neighbour
    (same article, next or previous sentence) of a chosen sentence cited with it."""
    assert cited <= shown, (cited, shown)
    cited_chosen = cited & chosen
    for article_id, index in cited - chosen:
        assert {(article_id, index - 1), (article_id, index + 1)} & cited_chosen, (cited, chosen)
