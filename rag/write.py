"""Write: the answer, from the chosen sentences only, continuing the reading turn.

The answer turn already says which sentences are the evidence ("Evidence: B, D"); the model
continues with "Answer:" and writes in the question's language. Each backend says how its writing
is constrained (``writing_options``): with llama.cpp a constraint on each step's logits lets its
markers name only the chosen ids ([B], [D]), and a one-fact answer from one sentence in the
question's language is a span copied from that sentence (``copy_span``), so names and figures come
out as the sentence states them. Other backends write freely and are checked afterwards
(``rag.check``), as every answer is. The answer is one line: writing stops at its end.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole

from .llm.base import ConstrainsWriting
from .llm.types import CopySpan
from .prompts import MARKER, one_line
from .query import Query
from .read import ANSWER, EVIDENCE, Reading
from .text import holds_figure, holds_time

# what a span answering each kind of question must state, when its sentence states one
_MUST_HOLD: dict[str, Callable[[str], bool]] = {"figure": holds_figure, "time": holds_time}


def write_messages(read_messages: Sequence[ChatMessage], chosen: Sequence[str]) -> list[ChatMessage]:
    """The reading prompt with its answer turn continued by the decided evidence and ``Answer:``."""
    head = list(read_messages[:-1])
    return [*head, ChatMessage(role=MessageRole.ASSISTANT, content=f"{EVIDENCE} {', '.join(chosen)}\n{ANSWER}")]


def copy_span(query: Query, reading: Reading) -> CopySpan | None:
    """The span to copy when the answer should be copied from its one chosen sentence: the question
    asks one fact (not yes/no, a list, an open question, several parts or a timeline) and the
    sentence is in the question's language (across languages the span must be translated). A
    how-many or when question's span must hold a figure or a time if its sentence has one: "Kota
    Raha adalah sebagai berikut:" does not answer "Berapa luas kota Raha?"."""
    if query.many or query.asks == "yesno" or len(reading.chosen) != 1:
        return None
    chosen = reading.candidate(reading.chosen[0])
    if chosen.sentence.language != query.language:
        return None
    sentence = one_line(chosen.sentence.text)
    must_hold = _MUST_HOLD.get(query.asks)
    return CopySpan(chosen.letter, sentence, must_hold if must_hold and must_hold(sentence) else None)


def writing_options(
    llm: Any, chosen: Sequence[str], max_tokens: int, span: CopySpan | None = None, each: Sequence[str] = ()
) -> dict[str, Any]:
    """What ``llm`` is given to write (its ``writing_options``; none for a backend without them):
    markers only for ``chosen``, each of ``each`` cited before the answer ends, and with ``span``
    the answer copied from that sentence if the backend can constrain its writing."""
    return llm.writing_options(chosen, span, max_tokens, each) if isinstance(llm, ConstrainsWriting) else {}


def write(llm: Any, messages: list[ChatMessage], chosen: Sequence[str], extra: dict[str, Any]) -> Iterator[str]:
    """Stream the answer's text pieces (markers are the chosen ids: ``[B]``)."""
    for chunk in llm.stream_chat(write_messages(messages, chosen), **extra):
        if chunk.delta:
            if "\n" in chunk.delta:  # the answer is one line; what follows is not part of it
                head = chunk.delta.split("\n", 1)[0]
                if head:
                    yield head
                return
            yield chunk.delta


_OPEN_MARKER = re.compile(r"\[[A-Z0-9,;\s]*$")  # a marker still being written, at the end of the text


class NumberedMarkers:
    """The stream's markers as the ``Answer`` will number them. The check numbers the cited ids in
    the order they are first cited ("[B] … [D] … [B]" → "[1] … [2] … [1]"), or, when it orders the
    claims by date, in that order (``order``: ``rag.check.numbering_order``); the stream does the
    same as it goes. A marker still being written is held back until it closes; an id that was
    not chosen names no citation and is dropped. The numbers can still differ where the check
    changes the claims (a claim without a marker given one, a marker whose sentence lacks the
    claim's figures, a claim removed: ``Answer.removed_claims``); the ``Answer`` replaces what
    streamed."""

    def __init__(self, chosen: Sequence[str], order: Sequence[str] = ()) -> None:
        self.chosen = set(chosen)
        self.number: dict[str, int] = {letter: i for i, letter in enumerate(order, 1)}
        self.held = ""

    def _labels(self, match: re.Match[str]) -> str:
        labels = []
        for letter in dict.fromkeys(x.strip() for x in re.split(r"[,;]", match.group(1))):
            if letter in self.chosen:
                labels.append(f"[{self.number.setdefault(letter, len(self.number) + 1)}]")
        return "".join(labels)

    def feed(self, piece: str) -> str:
        """The text of ``piece`` that can be shown now, markers numbered."""
        text = self.held + piece
        still_open = _OPEN_MARKER.search(text)
        if still_open:
            text, self.held = text[: still_open.start()], text[still_open.start() :]
        else:
            self.held = ""
        return MARKER.sub(self._labels, text)

    def flush(self) -> str:
        """What is still held back when the writing ends."""
        text, self.held = self.held, ""
        return MARKER.sub(self._labels, text)
