"""The question parsed once into a ``rag.query.Query``: what it asks, its parts, years and counted noun."""

from __future__ import annotations

import pytest

from rag.query import parse_query, part_queries, what_is_asked

pytestmark = pytest.mark.fast


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
        ("Siapakah yang menutup sekolah?", "person"),  # -kah on a question word keeps it a wh-question
        ("kapankah sekolah ditutup?", "time"),
        ("Berapakah sekolah yang ditutup?", "figure"),
        ("Dimanakah sekolah itu?", "place"),
        ("Bagaimanakah sekolah itu ditutup?", "open"),
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


def test_what_is_counted_is_the_counted_noun_of_a_how_many_or_yes_no_count_question():
    cases = {
        "How many flooded houses were counted?": "houses",  # the first plural within three words
        "How many Central Java schools closed?": "schools",
        "How many schools does the city have?": "schools",
        "Did the number of flooded houses rise after Friday?": "houses",
        "Apakah jumlah rumah yang terendam bertambah?": "rumah",
        "Berapa sekolah yang ditutup?": "sekolah",
        "How much rice was imported?": None,  # counts nothing
        "Apakah wali kota menutup sekolah?": None,
    }
    assert {q: parse_query(q).counted for q in cases} == cases


def test_each_part_is_a_query_of_its_own_in_the_whole_questions_language():
    q = parse_query("Berapa rumah yang terendam, dan siapa yang menutup sekolah?")
    first, second = part_queries(q)
    assert (first.standalone, first.asks, first.counted) == ("Berapa rumah yang terendam?", "figure", "rumah")
    assert (second.standalone, second.asks) == ("Siapa yang menutup sekolah?", "person")  # capitalised
    assert first.parts == second.parts == [] and {first.language, second.language} == {"id"}
    # a short English part keeps the question's language even where its own words are too few to tell
    assert [p.language for p in part_queries(parse_query("Where is it, and who owns it?"))] == ["en", "en"]
    assert part_queries(parse_query("Siapa yang menutup sekolah?")) == []
