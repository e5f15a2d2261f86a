"""The citation check on its own: real e5 embeddings, real seed sentences, claims written by hand."""

from __future__ import annotations

import pytest

from rag.answer import number_sentences
from rag.cite import CitationChecker, counted_things, misfit
from rag.text import asks_for, counted_noun
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


# ----------------------------------------------------------------------------- answer fits question

def citation_of(index: SentenceIndex, sid: str):
    """A ``Citation`` of a real indexed sentence (as the check builds them)."""
    from rag.schema import Citation

    s = index.get([sid])[sid]
    return Citation(article_id=s.article_id, sentence_index=s.index, sentence=s.text, title=s.title,
                    outlet=s.outlet, published=s.published, score=1.0)


def test_what_a_question_asks_for():
    assert asks_for("Berapa kontainer yang dikirim?") == "quantity"
    assert asks_for("How much did the factory cost?") == "quantity"
    assert asks_for("What is the population of the city?") == "quantity"
    assert asks_for("Pada tanggal berapa ia tiba?") == "date"
    assert asks_for("When did the parliament approve it?") == "date"
    assert asks_for("Siapa yang membantah tuduhan itu?") is None
    assert counted_noun("Berapa kontainer senjata yang dikirim?") == "kontainer"
    assert counted_noun("How many North Korean troops were sent?") is None  # English answers paraphrase
    assert counted_noun("Berapa banyak tentara yang dikirim?") == "tentara"
    assert counted_noun("Berapa kali lipat kapasitasnya naik?") is None
    assert counted_noun("Who went there?") is None


def test_an_answer_that_does_not_answer_the_question_is_a_misfit(index):
    troops = [citation_of(index, TROOPS)]
    workers = [citation_of(index, WORKERS)]
    # supported sentences, but no figure for a how-many question
    assert misfit("Berapa biaya pembangunan gedung itu?", "Gedung perakitan lain sedang dibangun [1].", troops)
    # a figure, but for another thing than the one asked about
    assert misfit("Berapa kontainer yang dikirim Korea Utara?", "Korea Utara mengirim sekitar 15.000 pekerja [1].", workers)
    # the question is about a year no cited sentence or article is about
    assert misfit("Berapa pekerja yang dikirim pada tahun 2019?", "Sekitar 15.000 pekerja dikirim [1].", workers)
    # a when-question answered without any time
    assert misfit("Kapan pekerja itu dikirim?", "Pekerja dikirim ke Rusia [1].", workers)
    # and the fitting answers pass, in both languages
    assert misfit("Berapa pekerja yang dikirim Korea Utara ke Rusia?", "Sekitar 15.000 pekerja [1].", workers) is None
    assert misfit("How many workers did North Korea send?", "About 15,000 workers [1].", workers) is None
    assert misfit("How many troops were killed or wounded?", "Nearly 5,000 troops [1].", troops) is None
    year = workers[0].published.year
    assert misfit(f"Berapa pekerja yang dikirim menurut laporan {year}?", "Sekitar 15.000 pekerja [1].", workers) is None


def test_question_parts():
    from rag.text import question_parts

    assert question_parts("Berapa jangkauan rudal itu, dan ke negara mana Korut mengirimkannya?") == [
        "Berapa jangkauan rudal itu?", "ke negara mana Korut mengirimkannya?"
    ]
    assert question_parts("When was it signed and when did parliament approve it?") == [
        "When was it signed?", "when did parliament approve it?"
    ]
    assert question_parts("Did Russia and North Korea sign a treaty?") == []
    assert question_parts("Apa yang dikirim Rusia dan Korea Utara?") == []


def test_a_supported_answer_that_misses_the_question_abstains(index, seeded_dir):
    """The whole judgement of a raw answer, as ``QA`` makes it after generation (no model needed)."""
    from rag.qa import QA

    qa = QA(make_settings(seeded_dir))
    shown = shown_of(index, TROOPS, WORKERS)
    n_workers = next(i.n for i in shown if i.sentence.id == WORKERS)
    raw = f"Korea Utara mengirim sekitar 15.000 pekerja ke Rusia [{n_workers}]."
    checked, reason = qa.judge(raw, shown, "Berapa pekerja yang dikirim Korea Utara ke Rusia?")
    assert reason is None and [c.article_id + f":{c.sentence_index}" for c in checked.citations] == [WORKERS]
    checked, reason = qa.judge(raw, shown, "Berapa kontainer yang dikirim Korea Utara ke Rusia?")
    assert checked.citations == [] and "kontainer" in reason and checked.removed
    checked, reason = qa.judge("NO_ANSWER", shown, "Berapa kontainer yang dikirim Korea Utara ke Rusia?")
    assert checked.citations == [] and reason == "the model found no answer in the sentences"
