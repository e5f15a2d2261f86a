"""Numbers across notations and in words, and stemming by language (``rag.text``)."""

from __future__ import annotations

import pytest

from rag.text import counted_figures, numbers, word_numbers

pytestmark = pytest.mark.fast


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


def test_counted_figures_pair_each_figure_with_what_it_counts():
    assert counted_figures("Pabrik itu mempekerjakan sekitar 2.500 buruh dan 40 insinyur.") == {
        (2500.0, "buruh"),
        (40.0, "insinyur"),
    }
    assert counted_figures("The port handled 1.2 million containers in 2021.", "en") == {(1200000.0, "contain")}
    # a figure followed by a function word, a mark or nothing counts nothing
    assert counted_figures("Jumlahnya 300 dari total, naik dari 250.") == set()
