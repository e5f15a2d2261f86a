"""Writing continues the reading turn (``rag.write``)."""

from __future__ import annotations

import pytest

from rag.write import write_messages

pytestmark = pytest.mark.fast


def test_the_writing_continues_the_reading_turn_with_markers_only_for_chosen_ids():
    from llama_index.core.base.llms.types import ChatMessage, MessageRole

    read_turn = [
        ChatMessage(role=MessageRole.USER, content="q"),
        ChatMessage(role=MessageRole.ASSISTANT, content="Evidence:"),
    ]
    assert write_messages(read_turn, ["B", "D"])[-1].content == "Evidence: B, D\nAnswer:"


# ---------------------------------------------------------------- copying a span (rag.llm.chatml.SpanConstraint)

# A toy vocabulary: whole words with and without a leading space, their pieces, punctuation, the
# marker's tokens, and words that are not in the sentence (a paraphrase the constraint must refuse).
SENTENCE = "Wali kota Rina Hapsari menutup 45 sekolah selama dua hari."
VOCAB = sorted(
    {w for word in SENTENCE.rstrip(".").split() for w in (word, " " + word, word[:2], word[2:])}
    | {" ", ".", ",", " [", "[", "]", "].", "A", "B", "C", " ditutup", " empat", "<eos>", "\n"}
)
EOS = VOCAB.index("<eos>")


def greedy(constraint, preference, limit=40):
    """Decode greedily under ``constraint``: each step takes the allowed token ``preference`` ranks
    highest (a list of texts, best first; anything else scores by length)."""
    return scripted(constraint, [], preference, limit)


def scripted(constraint, script, fallback, limit=20):
    """Decode under ``constraint`` a model that wants to write ``script`` (one token text a step)
    and otherwise ranks ``fallback`` in order (anything else scores by length)."""
    import numpy as np

    ids: list[int] = [0, 0, 0]  # a "prompt" before the answer
    for step in range(limit):
        ranked = [script[step]] if step < len(script) else []
        ranked += [t for t in fallback if t not in ranked]
        scores = np.array([100.0 - ranked.index(t) if t in ranked else len(t) for t in VOCAB], dtype=np.float32)
        token = int(np.argmax(constraint(ids, scores)))
        if token == EOS:
            break
        ids.append(token)
    return "".join(VOCAB[i] for i in ids[3:])


def test_a_copied_span_is_words_of_the_sentence_then_its_marker():
    from rag.llm.chatml import SpanConstraint

    constraint = SpanConstraint(VOCAB, EOS, "B", SENTENCE)
    start = {VOCAB[i] for i in constraint.allowed("")}
    assert " Rina" in start and " menutup" in start  # a span starts at a word
    assert "ina" not in start and " ditutup" not in start and " [" not in start  # not mid-word, not made up, not empty
    assert " [" in {VOCAB[i] for i in constraint.allowed(" 45 sekolah")}  # it may end at a word's end
    assert " [" not in {VOCAB[i] for i in constraint.allowed(" 45 se")}  # but not mid-word
    assert [VOCAB[i] for i in constraint.allowed(" 45 sekolah [")] == ["B"]  # only its own sentence's letter
    assert [VOCAB[i] for i in constraint.allowed(" 45 sekolah [B")] == ["]."]
    assert constraint.allowed(" 45 sekolah [B].") == [EOS]
    # a model that would paraphrase ("ditutup", "empat") still writes what the sentence says
    assert greedy(constraint, [" empat", " ditutup", " 45", " sekolah", " ["]) == " 45 sekolah [B]."
    # a span can run to the sentence's end, and then it must close
    fresh = SpanConstraint(VOCAB, EOS, "B", SENTENCE)
    assert greedy(fresh, [" dua", " hari", "."]) == " dua hari. [B]."


def test_a_figure_or_time_span_may_end_only_once_it_holds_one():
    from rag.llm.chatml import SpanConstraint
    from rag.text import holds_figure, holds_time

    # a model that would stop after the name must go on to the figure (the how-many answer)
    constraint = SpanConstraint(VOCAB, EOS, "B", SENTENCE, holds_figure)
    assert " [" not in {VOCAB[i] for i in constraint.allowed(" Rina Hapsari")}
    assert greedy(constraint, [" Rina", " [", " Hapsari", " menutup", " 45"]) == " Rina Hapsari menutup 45 [B]."
    # it starts where the figure is still ahead
    ahead = {VOCAB[i] for i in SpanConstraint(VOCAB, EOS, "B", SENTENCE, lambda text: "45" in text).allowed("")}
    assert " Rina" in ahead and " 45" in ahead and " sekolah" not in ahead
    # where no figure follows, the span runs to the sentence's end and then closes
    tail = SpanConstraint(VOCAB, EOS, "B", SENTENCE, lambda text: False)
    assert greedy(tail, [" selama", " [", " dua", " hari", "."]).endswith("hari. [B].")
    assert holds_time("pada Juni") and holds_time("tahun 1837") and not holds_time("Samuel Morse")


def test_a_span_is_copied_only_for_one_fact_from_one_sentence_in_the_questions_language():
    from rag.query import parse_query
    from rag.read import Reading, number_candidates
    from rag.write import copy_span

    from .scripted import FLOOD

    candidates = number_candidates(FLOOD, [0.9, 0.8, 0.7])

    def reading(*chosen: str) -> Reading:
        return Reading(candidates=candidates, probs={}, p_none=0.0, ranking=list(chosen), chosen=list(chosen))

    span = copy_span(parse_query("Berapa sekolah yang ditutup wali kota?"), reading("B"))
    assert span is not None and (span.letter, span.sentence) == (
        "B",
        "Wali kota Rina Hapsari menutup 45 sekolah selama dua hari.",
    )
    assert span.must_hold is not None and span.must_hold("45 sekolah") and not span.must_hold("Rina Hapsari")
    who = copy_span(parse_query("Siapa yang menutup sekolah?"), reading("B"))
    assert who is not None and who.must_hold is None  # a name is whatever the model copies
    assert copy_span(parse_query("How many schools did the mayor close?"), reading("B")) is None  # translate instead
    assert copy_span(parse_query("Apakah sekolah ditutup?"), reading("B")) is None  # yes or no, with its reason
    assert copy_span(parse_query("Apa saja yang terjadi saat banjir?"), reading("A", "B")) is None  # a list


# ---------------------------------------------------------------- markers (rag.llm.chatml.MarkerConstraint)


def test_markers_name_only_chosen_ids_and_each_required_id_is_cited_before_the_end():
    from rag.llm.chatml import MarkerConstraint, bracket_tokens

    tokens = bracket_tokens(VOCAB)
    one_claim = [" 45", " sekolah", " [", "A", "].", "<eos>"]
    # a model that would cite an id it was not given writes a chosen one
    assert scripted(MarkerConstraint(tokens, EOS, ["B", "C"]), one_claim, ["B", "<eos>"]) == " 45 sekolah [B]."
    # a model that would stop after its first claim goes on until it has cited each required id
    one_claim = [" 45", " sekolah", " [", "B", "].", "<eos>"]
    each = MarkerConstraint(tokens, EOS, ["B", "C"], each=["B", "C"])
    written = scripted(each, one_claim, ["<eos>", "\n", " [", "C", "B", "]."])
    assert written == " 45 sekolah [B]. [C]."
    # without required ids the same model stops after its one claim
    assert (
        scripted(MarkerConstraint(tokens, EOS, ["B", "C"]), one_claim, ["<eos>", "\n", " [", "C", "B", "]."])
        == " 45 sekolah [B]."
    )
