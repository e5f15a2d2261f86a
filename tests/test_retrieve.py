"""Retrieval on a small made-up corpus with the real e5 model and BM25: the query object, a
back-referring sentence shown with the one it refers to, the date filter."""

from __future__ import annotations

import pytest

from rag.qa import QA
from rag.query import parse_query
from rag.retrieve import Antecedents, retrieve
from rag.testing import ScriptedLLM

from .conftest import index_folder

ARTICLES = {
    "pelabuhan.txt": "Pelabuhan baru di Teluk Kendari\n\nKENDARI, WARTA TIMUR - Senin (6/2/2023) Pemerintah provinsi meresmikan pelabuhan peti kemas di Teluk Kendari. "
    "Pelabuhan ini mampu melayani 300.000 peti kemas per tahun. Pembangunannya menelan biaya Rp 1,4 triliun.",
    "panen.txt": "Panen kopi menurun\n\nMANADO, KABAR UTARA - Jumat (10/3/2023) Panen kopi di Minahasa turun 20 persen karena hujan yang panjang. "
    "Petani menjual kopi dengan harga Rp 45.000 per kilogram.",
}


@pytest.fixture(scope="module")
def small_index(tmp_path_factory):
    settings, index, _ = index_folder(tmp_path_factory, ARTICLES)
    return index, settings


def test_retrieval_takes_the_parsed_query(small_index):
    index, settings = small_index
    found = retrieve(index, parse_query("Berapa biaya pembangunan pelabuhan itu?"), settings, top_k=3)
    assert found.language == "id" and len(found.hits) == 3
    assert "Rp 1,4 triliun" in found.hits[0].sentence.text
    english = retrieve(index, "How much did the coffee sell for per kilogram?", settings, top_k=2)  # text is parsed too
    assert english.language == "en" and "45.000" in english.hits[0].sentence.text


def test_a_back_referring_hit_is_shown_after_the_sentence_it_refers_to(small_index):
    index, settings = small_index
    found = retrieve(
        index, "Berapa peti kemas per tahun yang dapat dilayani pelabuhan di Teluk Kendari?", settings, top_k=1
    )
    hit = found.hits[0].sentence
    assert hit.text.startswith("Pelabuhan ini") and hit.via_context
    shown = [h.sentence.text for h in Antecedents(index)(parse_query("q"), found.hits)]
    assert shown[0].startswith("Pelabuhan ini") and "meresmikan pelabuhan" in shown[1]


def test_a_date_range_limits_the_articles(small_index):
    from datetime import date

    index, settings = small_index
    found = retrieve(index, "Berapa harga kopi?", settings, top_k=5, date_from=date(2023, 3, 1))
    assert found.hits and {h.sentence.article_id for h in found.hits} == {"panen"}
    assert retrieve(index, "Berapa harga kopi?", settings, date_to=date(2022, 1, 1)).hits == []


@pytest.mark.fast
def test_post_retrieval_steps_come_from_settings_and_can_be_left_out(scratch_settings):
    from rag.retrieve import POST_RETRIEVAL, Antecedents, NearBest, post_retrieval_steps

    assert [type(s) for s in post_retrieval_steps(None, scratch_settings)] == [Antecedents]  # type: ignore[arg-type]
    with_near_best = scratch_settings.model_copy(update={"post_retrieval": ["near_best", "antecedents"]})
    assert [type(s) for s in post_retrieval_steps(None, with_near_best)] == [NearBest, Antecedents]  # type: ignore[arg-type]
    assert post_retrieval_steps(None, scratch_settings.model_copy(update={"post_retrieval": []})) == []  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown post-retrieval"):
        post_retrieval_steps(None, scratch_settings.model_copy(update={"post_retrieval": ["rerank"]}))  # type: ignore[arg-type]
    assert "antecedents" in POST_RETRIEVAL
    llm = ScriptedLLM().enqueue_choice({"A": 0.9}).enqueue(" Wali kota menutup 45 sekolah [A].")
    seen = []
    qa = QA(scratch_settings, llm=llm, steps=[lambda query, hits: seen.append(query.asks) or hits])
    assert len(qa.steps) == 1 and not seen


@pytest.mark.fast
def test_near_best_reads_the_first_few_and_then_only_sentences_close_to_the_best():
    from rag.retrieve import Hit, NearBest

    from .scripted import sentence

    def hits(*dense: float) -> list[Hit]:
        return [
            Hit(sentence=sentence("a", i, f"Kalimat {i}."), score=1 / (i + 1), dense=d, lexical=0.0)
            for i, d in enumerate(dense)
        ]

    query = parse_query("Berapa?")
    step = NearBest(at_least=2, margin=0.05)
    kept = step(query, hits(0.90, 0.70, 0.88, 0.80, 0.86))
    assert [h.sentence.index for h in kept] == [0, 1, 2, 4]  # 1 by rank, 3 falls 0.10 behind the best
    assert [h.sentence.index for h in step(query, hits(0.5, 0.5, 0.5))] == [0, 1, 2]  # retrieval unsure: all read
    assert [h.sentence.index for h in NearBest(at_least=5, margin=0.0)(query, hits(0.9, 0.1))] == [0, 1]
    assert step(query, []) == []
