"""The read → decide → write → check logic with a scripted LLM: no model, no index, milliseconds.

Sentences are made up here (not the seeds), so these tests test kutip, not a corpus.
"""

from __future__ import annotations

from datetime import date

import pytest

from rag.check import check, decide, split_claims
from rag.index import StoredSentence
from rag.qa import QA
from rag.query import parse_query, what_is_asked
from rag.read import LETTERS, NONE, calibrate, format_candidates, number_candidates, options, read
from rag.settings import Settings
from rag.testing import ScriptedLLM
from rag.text import numbers, word_numbers
from rag.write import write_messages

pytestmark = pytest.mark.fast


def sentence(
    article: str, index: int, text: str, published: date | None = None, outlet: str | None = "Warta"
) -> StoredSentence:
    return StoredSentence(
        id=f"{article}:{index}",
        article_id=article,
        index=index,
        text=text,
        title=f"Judul {article}",
        outlet=outlet,
        published=published,
    )


FLOOD = [
    sentence("banjir", 0, "Banjir merendam 1.200 rumah di tiga kecamatan pada Senin.", date(2023, 2, 6)),
    sentence("banjir", 1, "Wali kota Rina Hapsari menutup 45 sekolah selama dua hari.", date(2023, 2, 6)),
    sentence("banjir2", 4, "Hingga Jumat, jumlah rumah yang terendam naik menjadi 3.400 rumah.", date(2023, 2, 10)),
]


@pytest.fixture()
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data", corpus_dir=tmp_path / "corpus")


# ----------------------------------------------------------------------------- the query


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("Berapa rumah yang terendam banjir?", "figure"),
        ("How many houses were flooded?", "figure"),
        ("Kapan banjir itu terjadi?", "time"),
        ("Tahun berapa jembatan itu dibangun?", "time"),
        ("In what year was the bridge built?", "time"),
        ("Siapa yang menutup sekolah?", "person"),
        ("Who closed the schools?", "person"),
        ("Di mana banjir terjadi?", "place"),
        ("Di kota mana pabrik itu berada?", "place"),
        ("Where did the flood happen?", "place"),
        ("Apakah sekolah ditutup?", "yesno"),
        ("Benarkah sekolah ditutup?", "yesno"),
        ("Did the mayor close the schools?", "yesno"),
        ("Apakah nama sungai terpanjang di Jawa?", "thing"),  # Indonesian "what is the name of …"
        ("Apa saja yang dibahas artikel-artikel ini?", "list"),
        ("Siapa saja pakar yang dikutip?", "list"),
        ("Mengapa sekolah ditutup?", "open"),
        ("Why were the schools closed?", "open"),
        ("Apa nama wali kota itu?", "thing"),
    ],
)
def test_what_a_question_asks(question, asks):
    assert what_is_asked(question) == asks


def test_the_query_is_parsed_once_with_its_parts():
    q = parse_query("Berapa rumah yang terendam pada tahun 2023, dan siapa yang menutup sekolah?")
    assert q.language == "id" and q.asks == "figure" and q.counted == "rumah" and q.years == [2023]
    assert q.parts == ["Berapa rumah yang terendam pada tahun 2023?", "siapa yang menutup sekolah?"] and q.many
    follow = parse_query("And how many by Friday?", standalone="How many houses were flooded by Friday?")
    assert follow.language == "en" and follow.standalone.endswith("Friday?") and follow.counted == "houses"
    assert parse_query("What is the timeline of the floods?").timeline


# ----------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("dua puluh lima", 25),
        ("tiga belas", 13),
        ("seratus dua puluh", 120),
        ("dua ribu lima ratus", 2500),
        ("twenty-five", 25),
        ("one hundred and five", 105),
        ("sepuluh ribu", 10_000),
        ("empat puluh ribu", 40_000),
        ("sebelas", 11),
        ("three million", 3_000_000),
    ],
)
def test_number_words(text, value):
    assert word_numbers(text) == {value}


def test_stems_follow_the_language():
    from rag.text import stems

    assert stems("The missiles were launched", language="en") == ["missil", "launch"]
    assert stems("Rudal-rudal itu diluncurkan") == ["rudal-rudal", "luncur"]


def test_numbers_across_notations():
    assert numbers("10.000 tentara") == numbers("10,000 troops") == numbers("10000") == {10_000}
    assert numbers("6 juta peluru") == numbers("6 million shells") == {6_000_000}
    assert numbers("60 persen") == numbers("60%") == {60}
    assert numbers("Rp 2,1 triliun") == {2.1e12}
    assert not numbers("salah satu pabrik")  # "one of the factories" is not the number 1
    assert not numbers("ribuan orang")  # "thousands" is not a figure


# ----------------------------------------------------------------------------- reading


def test_candidates_get_letters_grouped_by_article_and_the_prompt_offers_none(settings):
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


def test_read_renormalises_over_the_ids_and_none(settings):
    settings = settings.model_copy(update={"read_rank_prior": 0.0})  # the model's choice alone
    llm = ScriptedLLM().enqueue_choice({"A": 2.0, "B": 1.0, "none": 1.0})
    candidates = number_candidates(FLOOD, [0.9, 0.8, 0.7])
    query = parse_query("Apa saja yang terjadi saat banjir?")  # a list: several sentences may be chosen
    reading, messages = read(lambda m, o: llm.choose(m, o), settings.prompts_dir, query, candidates, settings)
    assert reading.probs == {"A": 0.5, "B": 0.25, "C": 0.0, "none": 0.25} and reading.p_none == 0.25
    assert reading.chosen == ["A", "B"]  # B has half of A's probability
    assert messages[-1].content == "Evidence:"
    assert "Question: Apa saja yang terjadi saat banjir?" in messages[-2].content
    one_fact = read(
        lambda m, o: ScriptedLLM().enqueue_choice({"A": 2.0, "B": 1.0}).choose(m, o),
        settings.prompts_dir,
        parse_query("Berapa rumah yang terendam?"),
        candidates,
        settings,
    )[0]
    assert one_fact.chosen == ["A"]  # a one-fact question is written from its best sentence
    assert "[C] Hingga Jumat" in messages[-2].content


def test_decide_abstains_on_p_none_and_on_retrieval(settings):
    candidates = number_candidates(FLOOD, [0.9, 0.8, 0.7])
    query = parse_query("Siapa pemenang lomba?")
    reading, _ = read(
        lambda m, o: ScriptedLLM().enqueue_choice({"A": 0.3, "none": 0.7}).choose(m, o),
        settings.prompts_dir,
        query,
        candidates,
        settings,
    )
    assert "P(none) = 0.70" in decide(query, reading, 0.9, settings.model_copy(update={"none_threshold": 0.5}))
    assert decide(query, reading, 0.9, settings.model_copy(update={"none_threshold": 0.8})) is None
    assert "close enough" in decide(
        query, reading, 0.5, settings.model_copy(update={"none_threshold": 0.8, "abstain_threshold": 0.6})
    )


def test_the_writing_continues_the_reading_turn_with_markers_only_for_chosen_ids():
    from llama_index.core.base.llms.types import ChatMessage, MessageRole

    read_turn = [
        ChatMessage(role=MessageRole.USER, content="q"),
        ChatMessage(role=MessageRole.ASSISTANT, content="Evidence:"),
    ]
    assert write_messages(read_turn, ["B", "D"])[-1].content == "Evidence: B, D\nAnswer:"


# ----------------------------------------------------------------------------- checking


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
    assert alone.abstain_reason.startswith("no sentence read states") and not alone.citations


def test_a_claim_citing_the_wrong_chosen_sentence_moves_to_the_one_with_its_figure():
    query = parse_query("Berapa sekolah yang ditutup?")
    checked = check("Wali kota menutup 45 sekolah [A].", query, reading_of(["A", "B"]))
    assert checked.citations[0].sentence == FLOOD[1].text and checked.text.endswith("[1].")


def test_a_claim_whose_name_comes_from_a_sentence_not_chosen_does_not_rest_on_the_chosen_one():
    query = parse_query("Siapa yang menutup sekolah?")
    borrowed = check(
        "Sekolah ditutup oleh Rina Hapsari [A].", query, reading_of(["A"])
    )  # the name is in B, which was read
    assert borrowed.abstain_reason and not borrowed.citations
    moved = check("Sekolah ditutup oleh Rina Hapsari [A].", query, reading_of(["A", "B"]))
    assert moved.citations[0].sentence == FLOOD[1].text
    english = check(
        "Yes, the North Korean mayor closed 45 schools [B].", parse_query("Were schools closed?"), reading_of(["B"])
    )
    assert english.citations  # "North", "Korean" are in no sentence read: no evidence against the claim


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


def test_figures_from_different_dates_carry_their_date_and_a_timeline_is_in_date_order():
    query = parse_query("Berapa rumah yang terendam?")
    checked = check(
        "Hingga Jumat 3.400 rumah terendam [C]. Pada Senin 1.200 rumah terendam [A].", query, reading_of(["A", "C"])
    )
    assert "(Warta, 2023-02-10) [1]" in checked.text and "(Warta, 2023-02-06) [2]" in checked.text
    timeline = parse_query("What is the timeline of the flood?")
    ordered = check(
        "By Friday 3,400 homes were under water [C]. On Monday 1,200 homes flooded [A].",
        timeline,
        reading_of(["A", "C"]),
    )
    assert ordered.text.index("Monday") < ordered.text.index("Friday")


# ----------------------------------------------------------------------------- the whole answer, scripted


def test_qa_answers_from_the_chosen_sentences_with_a_scripted_llm(settings):
    llm = ScriptedLLM().enqueue_choice({"B": 0.8, "none": 0.05}).enqueue(" Rina Hapsari menutup 45 sekolah [B].")
    qa = QA(settings, llm=llm)
    query = parse_query("Siapa yang menutup sekolah?")
    stream = list(
        qa._answer(query, [(s, 0.9) for s in FLOOD], 0.9, settings, 0.0, __import__("rag.schema").schema.Timings())
    )
    answer = stream[-1]
    assert "".join(p for p in stream[:-1]) == " Rina Hapsari menutup 45 sekolah [B]."  # streamed as written
    assert not answer.abstained and answer.text == "Rina Hapsari menutup 45 sekolah [1]."
    assert answer.citations[0].sentence == FLOOD[1].text and answer.p_none == pytest.approx(0.05 / 0.85)
    kinds = [kind for kind, _ in llm.calls]
    assert kinds == ["choose", "stream_chat"]
    assert llm.calls[1][1][-1].content == "Evidence: B\nAnswer:"


def test_qa_abstains_without_writing_when_none_is_likely(settings):
    llm = ScriptedLLM().enqueue_choice({"A": 0.2, "none": 0.8})
    qa = QA(settings.model_copy(update={"none_threshold": 0.5}), llm=llm)
    answer = qa.answer_from(parse_query("Who won the race?"), [(s, 0.9) for s in FLOOD], 0.9, qa.settings)
    assert answer.abstained and answer.language == "en" and "P(none) = 0.80" in answer.abstain_reason
    assert [kind for kind, _ in llm.calls] == ["choose"]  # nothing was written
    assert answer.text == "The articles do not contain the answer to this question."


# ----------------------------------------------------------------------------- the eval's decision curve


def test_a_report_rescored_at_a_lower_threshold_matches_its_curve():
    from evaluation.evaluate import Record, at_threshold, score_systems

    def rec(i, answerable, p_none, fact):
        return Record(
            id=f"r{i}",
            system="kutip",
            category="c",
            language="id",
            answerable=answerable,
            question="q",
            answer="a [1]",
            abstained=False,
            cited_ids=["x:1"],
            cited_texts=["s"],
            p_none=p_none,
            fact_hit=fact if answerable else None,
            fact_and_cited=fact if answerable else None,
            citation_hit=fact if answerable else None,
            citation_precision=1.0 if answerable else 0.0,
        )

    records = [rec(0, True, 0.02, True), rec(1, True, 0.3, True), rec(2, False, 0.4, False), rec(3, False, 0.05, False)]
    report = {
        "none_threshold": 1.0,
        "systems": score_systems({"kutip": records}),
        "records": {"kutip": [r.model_dump() for r in records]},
    }
    row = next(r for r in report["systems"]["kutip"]["curve"] if r["none_threshold"] == 0.25)
    again = at_threshold(report, 0.25)["systems"]["kutip"]["overall"]
    assert (
        (again["abstention_recall"], again["false_abstention_rate"], again["fact_and_cited"])
        == (row["abstention_recall"], row["false_abstention_rate"], row["fact_and_cited"])
        == (0.5, 0.5, 0.5)
    )
    with pytest.raises(ValueError):
        at_threshold(at_threshold(report, 0.25), 0.5)


def test_post_retrieval_steps_come_from_settings_and_can_be_left_out(settings):
    from rag.retrieve import POST_RETRIEVAL, Antecedents, post_retrieval_steps

    assert [type(s) for s in post_retrieval_steps(None, settings)] == [Antecedents]  # type: ignore[arg-type]
    assert post_retrieval_steps(None, settings.model_copy(update={"post_retrieval": []})) == []  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown post-retrieval"):
        post_retrieval_steps(None, settings.model_copy(update={"post_retrieval": ["rerank"]}))  # type: ignore[arg-type]
    assert "antecedents" in POST_RETRIEVAL
    llm = ScriptedLLM().enqueue_choice({"A": 0.9}).enqueue(" Wali kota menutup 45 sekolah [A].")
    seen = []
    qa = QA(settings, llm=llm, steps=[lambda query, hits: seen.append(query.asks) or hits])
    assert len(qa.steps) == 1 and not seen


# ----------------------------------------------------------------------------- backends


def test_a_new_backend_is_one_registry_entry(settings, monkeypatch):
    """A backend registered in ``rag.backends.BACKENDS`` is built, labelled, listed, chosen in the
    UI's list and answers through QA, with nothing else changed."""
    from rag import backends

    scripted = ScriptedLLM().enqueue_choice({"A": 0.9, "none": 0.05}).enqueue(" Banjir merendam 1.200 rumah [A].")

    class Scripted(backends.Backend):
        name = "scripted"

        def key(self, settings, purpose):
            return (self.name, purpose)

        def build(self, settings, purpose):
            return scripted

        def label(self, settings):
            return "scripted:test"

        def models(self, settings):
            return ["test"]

        def current(self, settings):
            return "test"

        def overrides(self, model):
            return {"backend": self.name}

    monkeypatch.setitem(backends.BACKENDS, "scripted", Scripted())
    monkeypatch.setattr(backends, "_LLM_CACHE", {})
    assert ("test — scripted", "scripted:test") in backends.model_choices(settings)
    assert backends.overrides_for_model("scripted:test") == {"backend": "scripted"}
    chosen = settings.model_copy(update=backends.overrides_for_model("scripted:test"))
    answer = QA(chosen).answer_from(parse_query("Berapa rumah yang terendam?"), [(s, 0.9) for s in FLOOD], 0.9, chosen)
    assert answer.model == "scripted:test" and answer.text == "Banjir merendam 1.200 rumah [1]."


def test_backend_choices_and_errors(settings):
    from rag import backends
    from rag.errors import BackendUnavailableError

    values = [
        value for _, value in backends.model_choices(settings.model_copy(update={"ollama_url": "http://127.0.0.1:9"}))
    ]
    assert values == ["qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"]  # no Ollama answers on port 9
    assert backends.overrides_for_model("ollama:qwen2.5:7b") == {"backend": "ollama", "ollama_model": "qwen2.5:7b"}
    assert backends.overrides_for_model("qwen2.5-coder-0.5b") == {"backend": "llamacpp", "llm": "qwen2.5-coder-0.5b"}
    assert backends.overrides_for_model("nonsense") == {}
    assert backends.selected_model(settings) == "qwen2.5-coder-1.5b"
    with pytest.raises(BackendUnavailableError, match="Unknown backend 'gpt'"):
        backends.model_label(settings.model_copy(update={"backend": "gpt"}))
