"""Deciding and checking (``rag.check``): abstain on P(none) or on retrieval, claims keep their markers,
figures and names must be in the sentence cited. Scripted readings over made-up sentences."""

from __future__ import annotations

import pytest

from rag.check import RULES, check, split_claims
from rag.query import parse_query
from rag.read import number_candidates

from .scripted import FLOOD

pytestmark = pytest.mark.fast


def test_the_p_none_threshold_is_the_models_own_unless_set(scratch_settings):
    from rag.packaged_models import GGUF_MODELS

    unset = scratch_settings.model_copy(update={"none_threshold": None})
    small = unset.model_copy(update={"llm": "qwen2.5-coder-0.5b"})
    assert unset.p_none_threshold == GGUF_MODELS["qwen2.5-coder-1.5b"].none_threshold
    assert small.p_none_threshold == GGUF_MODELS["qwen2.5-coder-0.5b"].none_threshold != unset.p_none_threshold
    # a served model kutip cannot name gets the default model's; an explicit value always wins
    assert small.model_copy(update={"backend": "ollama"}).p_none_threshold == unset.p_none_threshold
    assert small.model_copy(update={"none_threshold": 0.3}).p_none_threshold == 0.3


def reading_of(chosen: list[str], probs: dict[str, float] | None = None, sentences=FLOOD):
    from rag.read import Reading

    candidates = number_candidates(sentences, [0.9] * len(sentences))
    return Reading(
        candidates=candidates, probs=probs or {c: 0.4 for c in chosen}, p_none=0.05, ranking=chosen, chosen=chosen
    )


def test_claims_keep_their_markers():
    claims = split_claims("Ya, 45 sekolah ditutup [B]. Rumah terendam 1.200 [A][C].")
    assert [(c.text, c.markers) for c in claims] == [
        ("Ya, 45 sekolah ditutup.", ["B"]),
        ("Rumah terendam 1.200.", ["A", "C"]),
    ]


def test_check_renumbers_and_keeps_figures_across_notations():
    query = parse_query("How many houses were flooded on Monday?")
    checked = check("1,200 houses were flooded in three districts [A].", query, reading_of(["A"]))
    assert checked.abstain_reason is None and checked.text == "1,200 houses were flooded in three districts [1]."
    assert checked.citations[0].sentence == FLOOD[0].text and checked.citations[0].score == 0.4


def test_check_removes_a_claim_whose_figure_its_sentence_does_not_state():
    query = parse_query("Berapa rumah yang terendam?")
    checked = check("Banjir merendam 1.500 rumah [A]. Sekolah ditutup dua hari [B].", query, reading_of(["A", "B"]))
    assert checked.text == "Sekolah ditutup dua hari [1]." and checked.removed == ["Banjir merendam 1.500 rumah."]
    alone = check("Banjir merendam 1.500 rumah [A].", query, reading_of(["A"]))
    assert alone.abstain_reason.startswith("no chosen sentence states") and not alone.citations


def test_a_claim_citing_the_wrong_chosen_sentence_moves_to_the_one_with_its_figure():
    query = parse_query("Berapa sekolah yang ditutup?")
    checked = check("Wali kota menutup 45 sekolah [A].", query, reading_of(["A", "B"]))
    assert checked.citations[0].sentence == FLOOD[1].text and checked.text.endswith("[1].")


def test_a_claim_whose_name_comes_from_a_sentence_not_chosen_does_not_rest_on_the_chosen_one():
    query = parse_query("Siapa yang menutup sekolah?")
    borrowed = check(
        "Sekolah ditutup oleh Rina Hapsari [A].", query, reading_of(["A"], sentences=[FLOOD[2], FLOOD[1]])
    )  # the name is in B, which was read, from another article
    assert borrowed.abstain_reason and not borrowed.citations
    moved = check("Sekolah ditutup oleh Rina Hapsari [A].", query, reading_of(["A", "B"]))
    assert moved.citations[0].sentence == FLOOD[1].text
    english = check(
        "Yes, the North Korean mayor closed 45 schools [B].", parse_query("Were schools closed?"), reading_of(["B"])
    )
    assert english.citations  # "North", "Korean" are in no sentence read: no evidence against the claim


def test_a_claim_may_rest_on_the_chosen_sentence_and_its_neighbour_together():
    from .scripted import sentence

    missile = [
        sentence("rudal", 3, "Pabrik itu memproduksi rudal seri Gara-7 untuk angkatan darat."),
        sentence("rudal", 4, "Rudal-rudal ini memiliki jangkauan 250 hingga 600 km."),
        sentence("kapal", 4, "Kapal itu membawa 90 rudal ke pelabuhan."),
    ]
    query = parse_query("Berapa jangkauan rudal seri Gara-7?")
    raw = "Rudal seri Gara-7 memiliki jangkauan 250 hingga 600 km [A]."
    checked = check(raw, query, reading_of(["A"], sentences=missile))
    # the chosen sentence names the missile, the next one states the range: both are cited
    assert checked.abstain_reason is None and [c.sentence for c in checked.citations] == [
        missile[0].text,
        missile[1].text,
    ]
    assert checked.text.endswith("600 km [1][2].")
    # a sentence of another article, or two sentences apart, is no neighbour
    for far in ([missile[0], missile[2]], [missile[0], sentence("rudal", 5, missile[1].text)]):
        assert check(raw, query, reading_of(["A"], sentences=far)).abstain_reason
    assert check(raw, query, reading_of(["A"], sentences=missile), rules=RULES - {"neighbours"}).abstain_reason


def test_yes_and_capitalised_first_words_are_not_names_from_nowhere():
    query = parse_query("Did the mayor close the schools?")
    checked = check("Yes, Mayor Rina Hapsari closed 45 schools for two days [B].", query, reading_of(["B"]))
    assert checked.abstain_reason is None and checked.text.startswith("Yes, Mayor Rina Hapsari")


@pytest.mark.parametrize(
    "raw", ["NO_ANSWER", "The winner is not mentioned in the given sentences [A].", "Pemenangnya tidak disebutkan [B]."]
)
def test_a_writer_that_finds_no_answer_abstains(raw):
    checked = check(raw, parse_query("Siapa pemenangnya?"), reading_of(["A", "B"]))
    assert checked.abstain_reason.startswith("the model found no answer in the sentences") and not checked.citations


def test_a_refusal_phrase_copied_from_the_evidence_is_not_a_refusal():
    from datetime import date

    from .scripted import sentence

    unnamed = [
        sentence("gudang", 0, "Gudang yang tidak disebutkan lokasinya itu menyimpan 300 ton beras.", date(2024, 3, 1))
    ]
    query = parse_query("Berapa ton beras yang disimpan gudang itu?")
    copied = check(
        "Gudang yang tidak disebutkan lokasinya itu menyimpan 300 ton beras [A].",
        query,
        reading_of(["A"], sentences=unnamed),
    )
    assert copied.abstain_reason is None and copied.text.endswith("300 ton beras [1].")
    # the writer's own "tidak disebutkan", in no sentence read, is still a refusal
    own = check("Jumlahnya tidak disebutkan [A].", query, reading_of(["A"], sentences=unnamed))
    assert own.abstain_reason.startswith("the model found no answer in the sentences")


def test_figures_from_different_dates_carry_their_date_and_are_in_date_order_as_a_timeline_is():
    query = parse_query("Berapa rumah yang terendam?")
    checked = check(
        "Hingga Jumat 3.400 rumah terendam [C]. Pada Senin 1.200 rumah terendam [A].", query, reading_of(["A", "C"])
    )
    # one figure as it changed: each with its date, oldest first
    assert (
        checked.text
        == "Pada Senin 1.200 rumah terendam (Warta, 2023-02-06) [1]. Hingga Jumat 3.400 rumah terendam (Warta, 2023-02-10) [2]."
    )
    timeline = parse_query("What is the timeline of the flood?")
    ordered = check(
        "By Friday 3,400 homes were under water [C]. On Monday 1,200 homes flooded [A].",
        timeline,
        reading_of(["A", "C"]),
    )
    assert ordered.text.index("Monday") < ordered.text.index("Friday")
