"""The verification step (rag.read.verify) with a scripted LLM: after choosing, the model is asked
whether what it chose states the answer; a low P(Yes) abstains before any writing.

Made-up sentences, no model: part of the fast layer."""

from __future__ import annotations

from datetime import date

import pytest

from rag.index import StoredSentence
from rag.qa import QA
from rag.query import parse_query
from rag.read import NO, YES
from rag.settings import Settings
from rag.testing import ScriptedLLM

pytestmark = pytest.mark.fast

SENTENCES = [
    StoredSentence(
        id=f"pasar:{i}",
        article_id="pasar",
        index=i,
        text=text,
        title="Pasar baru",
        outlet="Kabar",
        published=date(2021, 5, 3),
    )
    for i, text in enumerate(
        [
            "Pasar induk yang baru dibuka di pinggir kota pada Senin.",
            "Pasar itu menampung 800 pedagang dari empat pasar lama.",
        ]
    )
]


@pytest.fixture()
def settings(tmp_path) -> Settings:
    return Settings(
        data_dir=tmp_path / "d", corpus_dir=tmp_path / "c", verify_prompts=["verify.txt"], support_threshold=0.5
    )


def answer_with(settings: Settings, llm: ScriptedLLM, question: str):
    qa = QA(settings, llm=llm)
    return qa.answer_from(parse_query(question), [(s, 0.9) for s in SENTENCES], 0.9, settings)


def test_a_choice_the_model_does_not_confirm_abstains_without_writing(settings):
    llm = ScriptedLLM().enqueue_choice({"B": 0.9, "none": 0.02}, {YES: 0.3, NO: 0.7})
    answer = answer_with(settings, llm, "Berapa harga sewa kios di pasar itu?")
    assert answer.abstained and "P(yes) = 0.30" in (answer.abstain_reason or "")
    assert answer.support == {"verify.txt": pytest.approx(0.3)}
    assert [kind for kind, _ in llm.calls] == ["choose", "choose"]  # read, verify; nothing written
    verify_turns = llm.calls[1][1]
    assert verify_turns[-2].content == "Evidence: B"  # the reading's turn, closed with its choice
    assert SENTENCES[1].text in (verify_turns[-1].content or "")  # the chosen sentence is shown again
    assert "harga sewa kios" in (verify_turns[-1].content or "")


def test_a_confirmed_choice_is_written(settings):
    llm = ScriptedLLM().enqueue_choice({"B": 0.9, "none": 0.02}, {YES: 0.8, NO: 0.2})
    llm.enqueue(" Pasar itu menampung 800 pedagang [B].")
    answer = answer_with(settings, llm, "Berapa pedagang yang ditampung pasar itu?")
    assert not answer.abstained and answer.citations[0].sentence == SENTENCES[1].text
    assert answer.support == {"verify.txt": pytest.approx(0.8)}
    assert [kind for kind, _ in llm.calls] == ["choose", "choose", "stream_chat"]
    assert llm.calls[2][1][-1].content == "Evidence: B\nAnswer:"  # writing continues the reading, not the check


def test_without_verification_prompts_nothing_is_asked(settings):
    plain = settings.model_copy(update={"verify_prompts": []})
    llm = ScriptedLLM().enqueue_choice({"B": 0.9, "none": 0.02}).enqueue(" Pasar itu menampung 800 pedagang [B].")
    answer = answer_with(plain, llm, "Berapa pedagang yang ditampung pasar itu?")
    assert not answer.abstained and answer.support == {}
    assert [kind for kind, _ in llm.calls] == ["choose", "stream_chat"]
