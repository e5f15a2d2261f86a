"""The citation check on its own: real e5 embeddings, real seed sentences, claims written by hand."""

from __future__ import annotations

import pytest

from rag.answer import number_sentences
from rag.cite import CitationChecker, counted_things
from rag.index import SentenceIndex
from rag.models import get_embedder
from rag.settings import Settings

from .conftest import make_settings

TROOPS = "003_c88d8b6703be8690:7"  # "... sekitar 15.000 tentara ke Rusia dan hampir 5.000 dari mereka telah tewas atau terluka ..."
WORKERS = "003_c88d8b6703be8690:11"  # "... telah mengirim sekitar 15.000 pekerja ke Rusia ..."


@pytest.fixture(scope="module")
def checker() -> CitationChecker:
    settings = Settings()
    return CitationChecker(get_embedder(), settings.support_threshold, support_margin=settings.support_margin)


@pytest.fixture(scope="module")
def index(seeded_dir) -> SentenceIndex:
    return SentenceIndex(make_settings(seeded_dir))


def shown_of(index: SentenceIndex, *ids: str):
    """The sentences as read back from the real index, numbered as the prompt numbers them."""
    found = index.get(list(ids))
    return number_sentences([found[i] for i in ids])


def test_counted_things_names_what_an_indonesian_figure_counts():
    assert counted_things("Korea Utara mengirim sekitar 5.000 pekerja ke Rusia") == {"kerja"}
    assert counted_things("Moskow menembakkan sekitar 60 rudal KN-23 pada 2024") == {"rudal"}
    assert counted_things("Gedung itu berukuran 60 hingga 70% dari gedung asli") == set()


def test_a_figure_cannot_rest_on_a_sentence_that_counts_something_else(checker, index):
    """The tempting answer: the sentence has the number 5.000, but it counts soldiers, not workers."""
    shown = shown_of(index, TROOPS)
    question = "Berapa jumlah pekerja Korea Utara di Rusia yang tewas?"
    checked = checker.check("Sekitar 5.000 pekerja Korea Utara tewas di Rusia [1].", shown, question)
    assert checked.citations == [] and checked.removed, checked
    right = checker.check("Hampir 5.000 tentara Korea Utara tewas atau terluka [1].", shown,
                          "Berapa tentara Korea Utara yang tewas atau terluka?")
    assert [f"{c.article_id}:{c.sentence_index}" for c in right.citations] == [TROOPS], right


def test_a_figure_moves_to_the_sentence_that_counts_the_right_thing(checker, index):
    shown = shown_of(index, TROOPS, WORKERS)
    n_troops = next(i.n for i in shown if i.sentence.id == TROOPS)
    checked = checker.check(f"Korea Utara mengirim sekitar 15.000 pekerja ke Rusia [{n_troops}].", shown,
                            "Berapa pekerja yang dikirim Korea Utara ke Rusia?")
    assert [f"{c.article_id}:{c.sentence_index}" for c in checked.citations] == [WORKERS], checked


def test_english_claims_are_not_matched_word_for_word(checker, index):
    """English nouns cannot be looked up in Indonesian sentences; meaning and numbers decide there."""
    shown = shown_of(index, WORKERS)
    checked = checker.check("North Korea has sent about 15,000 workers to Russia [1].", shown,
                            "How many workers has North Korea sent to Russia?")
    assert [f"{c.article_id}:{c.sentence_index}" for c in checked.citations] == [WORKERS], checked
