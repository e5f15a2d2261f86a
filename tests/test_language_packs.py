"""Language packs (``rag.languages``): a third language is a folder.

``tests/fixtures/languages/de/`` is a small German pack that exists only here; put on the search
path (``KUTIP_LANGUAGE_PACKS``), its words drive question parsing, numbers, sentence splitting,
article cleaning, language detection and the abstention text, with no code changed. Questions and
articles are made up (not the seeds).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from rag import languages
from rag.check import check
from rag.corpus import parse_article, split_sentences
from rag.language import detect_text_language
from rag.prompts import abstain_text, prompt_text
from rag.qa import QA
from rag.query import counted_thing, parse_query, what_is_asked
from rag.read import Reading
from rag.settings import Settings
from rag.testing import ScriptedLLM
from rag.text import detect_language, numbers, stems, word_numbers

from .conftest import index_folder

PACKS = Path(__file__).parent / "fixtures" / "languages"
GERMAN_ABSTAIN = (PACKS / "de" / "abstain.txt").read_text(encoding="utf-8").strip()
ARTICLE = (
    "Hafen von Kiel wird erweitert\n\n"
    "Die Stadt hat den Ausbau des Hafens beschlossen, wie der Bürgermeister am Montag mitteilte.\n\n"
    "Lesen Sie auch: Neue Fähre nach Oslo\n\n"
    "Die Arbeiten in der Str. Am Kai sollen zwei Jahre dauern und kosten rund 40 Mio Euro.\n"
)


def search(monkeypatch, folder: Path | None) -> None:
    """Put ``folder`` (or nothing) on the packs' search path, as the setting would."""
    if folder is None:
        monkeypatch.delenv(languages.ENV, raising=False)
    else:
        monkeypatch.setenv(languages.ENV, str(folder))
    languages.reload()


@pytest.fixture(autouse=True)
def _packs_follow_the_environment():
    yield
    languages.reload()  # after monkeypatch has restored KUTIP_LANGUAGE_PACKS (fixtures unwind in reverse)


@pytest.fixture()
def builtin(monkeypatch) -> None:
    search(monkeypatch, None)


@pytest.fixture()
def german(monkeypatch) -> languages.LanguagePack:
    search(monkeypatch, PACKS)
    return languages.pack("de")


@pytest.mark.fast
def test_the_packs_folder_can_be_set_in_kutip_toml(monkeypatch, tmp_path):
    config = tmp_path / "kutip.toml"
    config.write_text(f"language_packs = {str(PACKS)!r}\n", encoding="utf-8")
    monkeypatch.delenv(languages.ENV, raising=False)
    monkeypatch.setenv("KUTIP_CONFIG", str(config))
    languages.reload()
    assert "de" in languages.available() and languages.pack("de").abstain == GERMAN_ABSTAIN


@pytest.mark.fast
def test_the_builtin_packs_load_with_their_abstention_texts(builtin):
    assert languages.available() == ["id", "en"]
    for code in languages.available():
        pack = languages.pack(code)
        assert pack.code == code and pack.abstain and pack.stopwords and pack.questions.wh
        # what rag.qa asks for (prompts/abstain_<code>.txt before the packs) is the pack's text
        assert prompt_text(Settings().prompts_dir, f"abstain_{code}.txt") == pack.abstain


@pytest.mark.fast
def test_a_folder_on_the_search_path_adds_a_language(german):
    assert languages.available() == ["id", "de", "en"]  # the default first, then by code
    assert german.name == "German (Deutsch)" and german.stemmer == "german"
    assert german.abstain == GERMAN_ABSTAIN


@pytest.mark.fast
@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("Wie viele Soldaten wurden geschickt?", "figure"),
        ("Wann wurde die Brücke gebaut?", "time"),
        ("In welchem Jahr wurde die Brücke gebaut?", "time"),
        ("Wer leitet die Fabrik?", "person"),
        ("Wo liegt die Fabrik?", "place"),
        ("Ist die Fabrik geschlossen?", "yesno"),
        ("Ist die Fabrik geschlossen, und wer hat sie geschlossen?", "person"),  # a question word after it
        ("Welche Schulen sind geschlossen?", "list"),
        ("Warum wurden die Schulen geschlossen?", "open"),
    ],
)
def test_its_question_words_drive_what_is_asked(german, monkeypatch, question, asks):
    assert what_is_asked(question) == asks
    search(monkeypatch, None)
    assert what_is_asked(question) == "thing"  # without the pack its question words mean nothing


@pytest.mark.fast
def test_a_german_question_is_parsed_as_german(german):
    query = parse_query("Wie viele Soldaten hat Russland geschickt?")
    assert (query.language, query.asks, query.counted) == ("de", "figure", "soldaten")
    assert counted_thing("Wie viele Panzer sind es?") == "panzer"
    assert detect_language("How many soldiers did Russia send?") == "en"  # the others still tell apart
    assert detect_language("Berapa tentara yang dikirim Rusia?") == "id"


@pytest.mark.fast
def test_its_number_words_parse(german, monkeypatch):
    assert word_numbers("zwei hundert und vier Soldaten") == {204.0}
    assert word_numbers("drei tausend Menschen") == {3000.0}
    assert numbers("Kosten: 40 Mio Euro, 12 Prozent mehr") == {40e6, 12.0}
    assert numbers("dua puluh lima dan 6 juta") == {25.0, 6e6}  # Indonesian numbers still parse beside it
    search(monkeypatch, None)
    assert word_numbers("zwei hundert und vier Soldaten") == set()
    assert numbers("40 Mio Euro") == {40.0}


@pytest.mark.fast
def test_its_abstention_and_refusal_texts_are_used(german):
    assert abstain_text("de") == GERMAN_ABSTAIN
    assert prompt_text(Settings().prompts_dir, "abstain_de.txt") == GERMAN_ABSTAIN  # what rag.qa reads
    query = parse_query("Wie viele Soldaten hat Russland geschickt?")
    empty = Reading(candidates=[], probs={}, p_none=0.0, ranking=[], chosen=[])
    checked = check("Die Zahl wird in den Sätzen nicht erwähnt.", query, empty)
    assert checked.abstain_reason and "no answer" in checked.abstain_reason and not checked.citations


@pytest.mark.fast
def test_its_articles_are_split_cleaned_and_detected_by_its_words(german, monkeypatch):
    article = parse_article("kiel", ARTICLE, "0" * 64)
    assert article.language == "de"
    assert "Lesen Sie auch" not in article.text  # the pack's furniture phrase
    assert any(s.text.startswith("Die Arbeiten in der Str. Am Kai") for s in article.sentences)
    assert numbers(article.text) >= {40e6}
    search(monkeypatch, None)
    # without the pack: py3langid is not offered German, the phrase stays, "Str." ends a sentence
    article = parse_article("kiel", ARTICLE, "0" * 64)
    assert article.language != "de" and "Lesen Sie auch" in article.text
    assert any(s.text == "Die Arbeiten in der Str." for s in article.sentences)


@pytest.mark.fast
def test_detect_text_language_offers_py3langid_only_the_packs(german, monkeypatch):
    text = "Die Regierung hat am Montag neue Regeln für den Hafen beschlossen, die ab Januar gelten."
    assert detect_text_language(text) == "de"
    search(monkeypatch, None)
    assert detect_text_language(text) in ("id", "en")


@pytest.mark.fast
def test_a_missing_pack_falls_back_to_indonesian_with_a_warning(builtin, caplog):
    """Indonesian, not English: every rule treated a code other than "en" as Indonesian before
    the packs, so the fallback keeps that behaviour (see rag.languages)."""
    with caplog.at_level(logging.WARNING, logger="rag.languages"):
        assert languages.pack("qq") is languages.pack("id")
    assert any("'qq'" in r.getMessage() for r in caplog.records)
    paragraph = "Ia tinggal di Jl. Merdeka No. 5. Dr. Rina datang kemudian."
    assert split_sentences(paragraph, "qq") == split_sentences(paragraph, "id")
    assert stems("Pabrik-pabrik itu ditutup", language="qq") == stems("Pabrik-pabrik itu ditutup", language="id")


@pytest.mark.fast
def test_a_pack_on_the_search_path_overrides_a_builtin_one(monkeypatch, tmp_path):
    shutil.copytree(languages.BUILTIN / "en", tmp_path / "en")
    (tmp_path / "en" / "abstain.txt").write_text("Nothing in the articles answers that.\n", encoding="utf-8")
    search(monkeypatch, tmp_path)
    assert languages.pack("en").abstain == "Nothing in the articles answers that."
    assert languages.available() == ["id", "en"]


@pytest.mark.fast
@pytest.mark.parametrize(
    ("words", "abstain", "error"),
    [
        ("name = 'X'\nstemmer = 'english'\nstopword = ['a']\n", "No.", "stopword"),  # a misspelt field
        ("name = 'X'\nstemmer = 'english'\n", None, "abstain.txt"),
        ("name = 'X'\nstemmer = \n", "No.", "line 2"),  # not TOML
    ],
)
def test_a_broken_pack_is_refused_with_its_folder_and_fault(monkeypatch, tmp_path, words, abstain, error):
    (tmp_path / "zz").mkdir()
    (tmp_path / "zz" / "words.toml").write_text(words, encoding="utf-8")
    if abstain:
        (tmp_path / "zz" / "abstain.txt").write_text(abstain, encoding="utf-8")
    search(monkeypatch, tmp_path)
    with pytest.raises(languages.LanguagePackError, match="zz") as raised:
        languages.available()
    assert error in str(raised.value)


def test_a_german_corpus_is_indexed_and_abstains_in_german(german, tmp_path_factory, monkeypatch):
    """Real Chroma and e5, a scripted reader: the German article is indexed with German rules and
    an unanswerable question gets the German pack's abstention text."""

    settings, index, _ = index_folder(tmp_path_factory, {"kiel.txt": ARTICLE})
    llm = ScriptedLLM().enqueue_choice({"none": 1.0})
    answer = QA(settings, index=index, llm=llm, steps=[]).ask("Wie viele Soldaten hat Russland geschickt?")
    assert answer.abstained and answer.language == "de" and answer.text == GERMAN_ABSTAIN
