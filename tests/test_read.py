"""Reading with a scripted LLM: letters for the candidates, the next-token distribution renormalised
over the ids and ``none``, the retrieval-rank prior (``rag.read``). No model is loaded."""

from __future__ import annotations

import pytest

from rag.query import parse_query
from rag.read import (
    LETTERS,
    NONE,
    ReadingPolicy,
    calibrate,
    differing_figures,
    format_candidates,
    number_candidates,
    options,
    read,
)
from rag.testing import ScriptedLLM

from .scripted import FLOOD, sentence

pytestmark = pytest.mark.fast


def test_candidates_get_letters_grouped_by_article_and_the_prompt_offers_none(scratch_settings):
    ranked = [FLOOD[2], FLOOD[1], FLOOD[0]]  # retrieval order, best first
    candidates = number_candidates(ranked, [0.9, 0.8, 0.7])
    assert [c.letter for c in candidates] == ["A", "B", "C"]
    assert [c.sentence.id for c in candidates] == ["banjir2:4", "banjir:0", "banjir:1"]  # article of the best first
    assert [c.rank for c in candidates] == [0, 2, 1]
    assert options(candidates) == [" A", " B", " C", f" {NONE}"]
    text = format_candidates(candidates)
    assert text.index("[A]") < text.index("## Judul banjir —") < text.index("[B]")
    assert format_candidates(candidates, "best-last").index("[A]") > text.index("[B]")
    assert "I" not in LETTERS and "O" not in LETTERS


def test_the_retrieval_rank_prior_reorders_a_biased_choice():
    candidates = number_candidates(FLOOD, [0.9, 0.8, 0.7])
    probs = {"A": 0.3, "B": 0.2, "C": 0.4, "none": 0.1}  # C holds the most, but is ranked last
    assert calibrate(probs, candidates, 0.0, 0.5, 2)[0][0] == "C"
    ranking, chosen = calibrate(probs, candidates, 2.0, 0.5, 2)
    assert ranking[0] == "A" and chosen == ["A"]  # log .3 > log .4 - 2 log 3; B falls below half of A
    assert calibrate(probs, candidates, 0.0, 0.5, 1)[1] == ["C"]  # at most max_chosen


def test_read_renormalises_over_the_ids_and_none(scratch_settings):
    policy = ReadingPolicy(read_rank_prior=0.0)  # the model's choice alone
    llm = ScriptedLLM().enqueue_choice({"A": 2.0, "B": 1.0, "none": 1.0})
    candidates = number_candidates(FLOOD, [0.9, 0.8, 0.7])
    query = parse_query("Apa saja yang terjadi saat banjir?")  # a list: several sentences may be chosen
    reading, messages = read(lambda m, o: llm.choose(m, o), scratch_settings.prompts_dir, query, candidates, policy)
    assert reading.probs == {"A": 0.5, "B": 0.25, "C": 0.0, "none": 0.25} and reading.p_none == 0.25
    assert reading.chosen == ["A", "B"]  # B has half of A's probability
    assert messages[-1].content == "Evidence:"
    assert "Question: Apa saja yang terjadi saat banjir?" in messages[-2].content
    one_fact = read(
        lambda m, o: ScriptedLLM().enqueue_choice({"A": 2.0, "B": 1.0}).choose(m, o),
        scratch_settings.prompts_dir,
        parse_query("Berapa rumah yang terendam?"),
        candidates,
        policy,
    )[0]
    assert one_fact.chosen == ["A"]  # a one-fact question is written from its best sentence
    assert "[C] Hingga Jumat" in messages[-2].content


def _reading(settings, question: str, chosen: str, sentences=FLOOD):
    """``question`` read over ``sentences`` by a model that chooses ``chosen``."""
    llm = ScriptedLLM().enqueue_choice({chosen: 0.9, "none": 0.01})
    candidates = number_candidates(sentences, [0.9, 0.8, 0.7, 0.6][: len(sentences)])
    query = parse_query(question)
    return read(lambda m, o: llm.choose(m, o), settings.prompts_dir, query, candidates)[0]


def test_a_how_many_question_takes_the_other_figures_of_the_thing_it_counts(scratch_settings):
    """1.200 houses on Monday, 3.400 by Friday in another article: both are the evidence; the
    45 schools are another thing, and a sentence repeating a chosen figure adds nothing."""
    query = parse_query("Berapa rumah yang terendam banjir?")
    reading = _reading(scratch_settings, query.text, "A")
    assert reading.chosen == ["A"]
    widened = differing_figures(query, reading, 4)
    assert widened.chosen == ["A", "C"] and widened.cite_each == ["A", "C"]  # the answer must give each
    assert differing_figures(query, reading, 1).chosen == ["A"]  # no room: the cap holds
    same = [*FLOOD, sentence("banjir3", 2, "Sebanyak 1.200 rumah masih terendam hingga Selasa.")]
    reading = _reading(scratch_settings, query.text, "A", same)
    assert [reading.candidate(x).sentence.id for x in differing_figures(query, reading, 4).chosen] == [
        "banjir:0",
        "banjir2:4",
    ]
    # a question that names a time asks for that time's figure
    query = parse_query("Berapa rumah yang terendam banjir pada Senin?")
    assert differing_figures(query, _reading(scratch_settings, query.text, "A"), 4).chosen == ["A"]
    # a yes/no question about the count compares the figures, whatever time it names
    for question in (
        "Apakah jumlah rumah yang terendam bertambah?",
        "Apakah jumlah rumah terendam berubah sejak Senin?",
    ):
        query = parse_query(question)
        assert query.asks == "yesno" and query.counted == "rumah"
        assert differing_figures(query, _reading(scratch_settings, question, "A"), 4).chosen == ["A", "C"]
    # another town's count is not a disagreement: it shares too little of what is asked
    towns = [
        sentence("kota", 0, "Banjir di Bekasi merendam 1.200 rumah warga."),
        sentence("kota", 1, "Di Bogor, angin kencang merusak 300 rumah."),
        sentence("kota", 2, "Data terbaru menyebut banjir di Bekasi merendam 1.450 rumah."),
    ]
    query = parse_query("Berapa rumah yang terendam banjir di Bekasi?")
    assert differing_figures(query, _reading(scratch_settings, query.text, "A", towns), 4).chosen == ["A", "C"]
    # a question that does not count, or counts another thing, is left as it was read
    for question in ("Siapa yang menutup sekolah?", "Berapa sekolah yang ditutup?"):
        query = parse_query(question)
        reading = _reading(scratch_settings, question, "B")
        assert differing_figures(query, reading, 4).chosen == ["B"]
        assert differing_figures(query, reading, 4).cite_each == []


def test_across_languages_the_thing_is_the_word_after_the_chosen_figure(scratch_settings):
    """An English question cannot name "rumah": the chosen sentence's figure says what is counted."""
    query = parse_query("How many houses were flooded?")
    assert query.counted == "houses" and query.language == "en"
    reading = _reading(scratch_settings, query.text, "A")
    assert differing_figures(query, reading, 4).chosen == ["A", "C"]


def test_the_reading_policy_is_fixed_behaviour_not_a_setting(monkeypatch):
    """The values that shape the reading are the product's (``ReadingPolicy``), varied only by the
    evaluation tools and tests: no ``KUTIP_*`` variable reaches them."""
    from rag.settings import Settings

    assert not set(ReadingPolicy.model_fields) & set(Settings.model_fields)
    monkeypatch.setenv("KUTIP_ANSWER_PARTS", "false")
    assert ReadingPolicy().answer_parts and not hasattr(Settings(), "answer_parts")
    with pytest.raises(ValueError):
        ReadingPolicy(answer_part=False)  # a misspelt variant is refused, not ignored
