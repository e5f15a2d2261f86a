"""Retrieval beyond the plain top k, on the real seeded index: a disagreeing figure, question parts."""

from __future__ import annotations

from rag.index import SentenceIndex
from rag.retrieve import other_figures, retrieve
from rag.text import quantities

from .conftest import make_settings


def test_quantities_name_what_is_counted_and_skip_years():
    assert [(u, v) for u, v, _ in quantities("mengirim sekitar 15.000 tentara ke Rusia pada 2024 Rusia")] == [("tentara", 15000.0)]
    assert quantities("sejak pertengahan 2022 lalu") == []


def test_a_how_many_question_is_also_shown_a_different_figure_for_the_same_thing(seeded_dir):
    """The top sentences give one count of containers; a lower-ranked one gives another: both are shown."""
    settings = make_settings(seeded_dir)
    index = SentenceIndex(settings)
    question = "Berapa kontainer berisi senjata yang dikirim Korut ke Rusia?"
    plain = retrieve(index, question, settings, top_k=1, figure_depth=0)
    wider = retrieve(index, question, settings, top_k=1, figure_depth=8)
    counts = lambda hits: {v for h in hits for u, v, _ in quantities(h.sentence.text) if u == "kontainer"}  # noqa: E731
    assert len(counts(plain.hits)) == 1, [h.sentence.text for h in plain.hits]
    assert wider.hits[0].sentence.id == plain.hits[0].sentence.id
    assert len(wider.hits) == 2 and len(counts(wider.hits)) == 2, [h.sentence.text for h in wider.hits]
    # a question that does not ask how many is not widened
    other = retrieve(index, "Siapa yang mengirim kontainer berisi senjata ke Rusia?", settings, top_k=2, figure_depth=8)
    assert len(other.hits) == 2


def test_other_figures_needs_the_same_unit_and_another_value(seeded_dir):
    index = SentenceIndex(make_settings(seeded_dir))
    sentences = list(index.get([f"003_c88d8b6703be8690:{i}" for i in range(15)]).values())
    troops = [s for s in sentences if any(u == "tentara" for u, _, _ in quantities(s.text))]
    workers = [s for s in sentences if any(u == "kerja" for u, _, _ in quantities(s.text))]
    assert troops and workers
    assert other_figures(troops[:1], workers) == []  # 15.000 workers is not a different count of troops
    assert other_figures(troops[:1], troops[:1]) == []  # the same figure is no disagreement


def test_a_two_part_question_gets_the_best_sentence_for_each_part(seeded_dir):
    settings = make_settings(seeded_dir)
    index = SentenceIndex(settings)
    question = "Berapa rudal KN-23 yang ditembakkan Rusia pada 2024, dan kapan Moskow dan Pyongyang menandatangani perjanjian kerja sama?"
    plain = retrieve(index, question, settings, top_k=3, by_part=False)
    parts = retrieve(index, question, settings, top_k=3, by_part=True)
    assert [h.sentence.id for h in parts.hits[:3]] == [h.sentence.id for h in plain.hits]
    for part in ("Berapa rudal KN-23 yang ditembakkan Rusia pada 2024?", "kapan Moskow dan Pyongyang menandatangani perjanjian kerja sama?"):
        best = retrieve(index, part, settings, top_k=1, figure_depth=0).hits[0].sentence.id
        assert best in {h.sentence.id for h in parts.hits}, part
