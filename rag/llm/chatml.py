"""ChatML, and the logits constraints on writing, shared by every backend that formats its own
prompts: kutip renders the prompt itself so the embedded model and a served one continue the very
same string (an opened assistant turn: ``Evidence:``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseGen,
    MessageRole,
)
from llama_index.core.llms import CustomLLM
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback

from .types import CopySpan


def _neutral(text: str) -> str:
    """Article or question text can never open or close a ChatML turn: ``<|`` becomes ``<\u200b|``."""
    return text.replace("<|", "<\u200b|").replace("|>", "|\u200b>")


def chatml(messages: Sequence[ChatMessage], *, open_turn: bool = True) -> str:
    """Qwen2.5's ChatML template, ending with the open assistant turn (unless ``open_turn=False``:
    a prefix of a longer prompt). A last message from the assistant is left open: the model
    continues it (a prefilled answer, as Ollama does with the same template)."""
    messages = list(messages)
    prefill = (
        messages.pop().content or "" if messages and messages[-1].role == MessageRole.ASSISTANT and open_turn else None
    )
    parts = [f"<|im_start|>{m.role.value}\n{_neutral(m.content or '')}<|im_end|>\n" for m in messages]
    if prefill is not None:
        return "".join(parts) + f"<|im_start|>assistant\n{_neutral(prefill)}"
    return "".join(parts) + ("<|im_start|>assistant\n" if open_turn else "")


CHATML_STOPS = ["<|im_end|>", "<|endoftext|>", "<|im_start|>"]


class ChatMLLLM(CustomLLM):
    """An LLM that generates from a raw prompt (``_generate``); chats are formatted with ``chatml``,
    so a last assistant message is continued."""

    def _generate(self, prompt: str, **kwargs: Any) -> Iterator[str]:
        raise NotImplementedError

    def writing_options(
        self, markers: Sequence[str], span: CopySpan | None, max_tokens: int, each: Sequence[str] = ()
    ) -> dict[str, Any]:
        """What this backend is given to write an answer (``rag.write``): none by default, so
        the markers, any copied span and the ids to cite each are checked afterwards (``rag.check``)."""
        return {}

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return CompletionResponse(text="".join(self._generate(prompt, **kwargs)))

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        text = ""
        for piece in self._generate(prompt, **kwargs):
            text += piece
            yield CompletionResponse(text=text, delta=piece)

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        text = "".join(self._generate(chatml(messages), **kwargs))
        return ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text))

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        def gen() -> ChatResponseGen:
            text = ""
            for piece in self._generate(chatml(messages), **kwargs):
                text += piece
                yield ChatResponse(message=ChatMessage(role=MessageRole.ASSISTANT, content=text), delta=piece)

        return gen()


def bracket_tokens(texts: Sequence[str]) -> dict[str, Any]:
    """Token ids (``texts``: each id's text) by what they hold of a marker: any bracket, an opening
    "[" alone, a closing "]…", each single capital letter, and what ends the answer (a line break,
    a ChatML stop)."""
    return {
        "any": np.array([("[" in t or "]" in t) for t in texts]),
        "open": [i for i, t in enumerate(texts) if t.strip() == "[" and "\n" not in t],
        "close": [i for i, t in enumerate(texts) if t.startswith("]") and "[" not in t and "\n" not in t],
        "letters": {t: i for i, t in enumerate(texts) if len(t) == 1 and t.isupper()},
        "ends": np.array([("\n" in t or t in CHATML_STOPS) for t in texts]),
        "texts": list(texts),
    }


class MarkerConstraint:
    """A logits processor that lets the answer's markers name only ``letters`` ([B], [D]): a
    grammar over those markers, applied as one mask per step (llama.cpp's grammar sampler walks
    the whole 152k-token vocabulary each step, which costs more than the writing). With ``each``
    the answer may not end (end of text, a line break) before it has cited each of those ids:
    figures of one thing that differ are each given, not one of them (``rag.read.differing_figures``)."""

    def __init__(self, tokens: dict[str, Any], eos: int, letters: Sequence[str], each: Sequence[str] = ()) -> None:
        self.tokens = tokens
        self.letters = [tokens["letters"][x] for x in letters if x in tokens["letters"]]
        self.ends = tokens["ends"] | (np.arange(len(tokens["texts"])) == eos)
        self.each = list(each)
        self.start: int | None = None

    def written(self, input_ids: Sequence[int], last: int | None = None) -> str:
        start = self.start or 0
        return "".join(
            self.tokens["texts"][int(t)]
            for t in input_ids[start if last is None else max(start, len(input_ids) - last) :]
        )

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self.start is None:
            self.start = len(input_ids)
        if self.each:
            written = self.written(input_ids)
            if any(f"[{x}]" not in written for x in self.each):
                scores = np.where(self.ends, -np.inf, scores).astype(scores.dtype)
        tail = self.written(input_ids, last=3)
        opened = tail.rfind("[") > tail.rfind("]")
        keep = np.zeros(len(scores), dtype=bool)
        if opened and tail.endswith("["):
            keep[self.letters] = True  # "[" → a chosen letter
        elif opened:
            keep[self.tokens["close"]] = True  # "[B" → "]"
        else:
            keep = ~self.tokens["any"]
            keep[self.tokens["open"]] = True  # outside a marker: no bracket but an opening one
        return np.where(keep, scores, -np.inf).astype(scores.dtype)


class SpanConstraint:
    """A logits processor that makes the answer a span of ``sentence`` copied word for word (it
    starts at a word and ends at a word's end), then `` [letter].`` and the end of the text: what a
    GBNF grammar of the sentence's substrings would allow, applied as one mask per step over the
    few tokens that occur in the sentence (``texts``: each token id's text). With ``must_hold``
    the span starts where what that says (a figure, a time) is still ahead, and may end only once it
    holds it."""

    _ENDS = " ,.;:!?)\"'\u201d\u2019"

    def __init__(
        self,
        texts: Sequence[str],
        eos: int,
        letter: str,
        sentence: str,
        must_hold: Callable[[str], bool] | None = None,
    ) -> None:
        self.texts = texts
        self.must_hold = must_hold
        self.eos = eos
        self.source = " " + " ".join(sentence.split())
        self.by_text: dict[str, list[int]] = {}
        for i, t in enumerate(texts):
            if t and t in self.source and not any(c in t for c in "\n\ufffd[]"):
                self.by_text.setdefault(t, []).append(i)
        self.longest = max((len(t) for t in self.by_text), default=1)
        src = self.source
        self.starts = [i for i, ch in enumerate(src) if ch == " " and i + 1 < len(src) and not src[i + 1].isspace()]
        if must_hold is not None:  # start where what the span must hold is still ahead
            self.starts = [i for i in self.starts if must_hold(src[i:])] or self.starts
        self.opening = [i for i, t in enumerate(texts) if t == " ["] or [texts.index("[")]
        self.letter = letter
        self.letter_id = texts.index(letter)
        self.closing = texts.index("].") if "]." in texts else texts.index("]")
        self.first: int | None = None

    def can_end(self, p: int) -> bool:
        return p == len(self.source) or (self.source[p] in self._ENDS and not self.source[p - 1].isspace())

    def allowed(self, written: str) -> list[int]:
        """The token ids that may follow ``written`` (the answer so far)."""
        if "[" in written:  # the span is closed: its marker, then the end
            after = written[written.index("[") + 1 :]
            return [self.letter_id if not after else self.closing if after == self.letter else self.eos]
        src = self.source
        at = [p + len(written) for p in self.starts if src.startswith(written, p)]
        keep: list[int] = []
        for q in at:
            for n in range(1, min(self.longest, len(src) - q) + 1):
                keep.extend(self.by_text.get(src[q : q + n], []))
        holds = written.strip() and (self.must_hold is None or self.must_hold(written))
        if (holds and any(self.can_end(q) for q in at)) or not keep:
            keep.extend(self.opening)
        return keep

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self.first is None:
            self.first = len(input_ids)
        written = "".join(self.texts[int(t)] for t in input_ids[self.first :])
        keep = np.zeros(len(scores), dtype=bool)
        keep[self.allowed(written)] = True
        return np.where(keep, scores, -np.inf).astype(scores.dtype)
