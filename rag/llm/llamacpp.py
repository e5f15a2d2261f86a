"""The embedded backend: the packaged GGUF models run in-process by llama.cpp
(llama-cpp-python), logits read directly, writing constrained as it is sampled."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from llama_index.core.base.llms.types import ChatMessage, LLMMetadata
from llama_index.core.llms.llm import LLM
from pydantic import PrivateAttr

from ..errors import PromptBudgetError
from ..settings import Settings
from .base import Backend, Purpose
from .chatml import CHATML_STOPS, ChatMLLLM, MarkerConstraint, SpanConstraint, bracket_tokens, chatml
from .gguf import GGUF_MODELS, ensure_gguf
from .types import CopySpan


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
    _last_prompt_tokens: int | None = PrivateAttr(default=None)

    @property
    def model_sha256(self) -> str:
        """The pinned SHA-256 of the packaged weights (what a trained probe is tied to)."""
        spec = GGUF_MODELS.get(self.model_name)
        return spec.sha256 if spec else ""

    @property
    def last_prompt_tokens(self) -> int | None:
        """Prompt tokens the last reading decoded (``CountsPromptTokens``)."""
        return self._last_prompt_tokens

    @property
    def n_layer(self) -> int:
        import llama_cpp

        return int(llama_cpp.llama_model_n_layer(self._llama.model))

    def model_post_init(self, context: Any) -> None:
        from ..hidden import llama_with_capture

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
            self._last_prompt_tokens = len(tokens) - cached
            with self._capture.armed(names) as states:
                llama.eval(tokens[cached:])
            logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),))[ids].astype(np.float64)
        weights = np.exp(logits - logits.max())
        weights /= weights.sum()
        return {option: float(w) for option, w in zip(options, weights)}, states

    def throughput(self, prompt_tokens: int = 480, generated_tokens: int = 32) -> tuple[float, float]:
        """(prompt tokens/s, generated tokens/s) of this model on this machine, measured where a
        question's tokens go: after the cached prefix, prompt tokens decoded in batches and then one
        token per step. The prefix stays cached. What ``kutip bench`` divides by for the floor."""
        filler = self._llama.tokenize(
            b"Korea Utara mengirim rudal dan peluru artileri ke Rusia melalui pelabuhan Najin, "
            b"menurut citra satelit dan pejabat intelijen Korea Selatan. ",
            add_bos=False,
        )
        tokens = (filler * (prompt_tokens // len(filler) + 1))[:prompt_tokens]
        with self._lock:
            llama = self._llama
            base = llama.n_tokens
            if base + prompt_tokens + generated_tokens + 8 > self.n_ctx:
                base = llama.n_tokens = 0  # no room after what is cached: measure from the start (losing it)
            try:
                started = time.perf_counter()
                llama.eval(tokens)
                prompt_rate = prompt_tokens / (time.perf_counter() - started)
                started = time.perf_counter()
                for token in tokens[:generated_tokens]:
                    llama.eval([token])
                generated_rate = generated_tokens / (time.perf_counter() - started)
            finally:
                llama.n_tokens = base
        return prompt_rate, generated_rate

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


class LlamaCppBackend(Backend):
    """The packaged GGUF models in this process (``KUTIP_LLM`` names one); the default backend."""

    name = "llamacpp"
    model_setting = "llm"

    def key(self, settings: Settings, purpose: Purpose) -> tuple[str, ...]:
        return (
            self.name,
            settings.llm,
            str(settings.threads),
            str(settings.context_window),
            str(settings.ubatch),
            str(settings.flash_attn),
            purpose,
        )

    def build(self, settings: Settings, purpose: Purpose) -> LLM:
        """With llama.cpp, rewriting follow-ups (``purpose="condense"``) gets its own context over
        the same memory-mapped weights, so the answering context keeps its cached prefix."""
        return LlamaCppLLM(
            model_name=settings.llm,
            model_path=str(ensure_gguf(settings.llm, settings.model_cache)),
            n_ctx=settings.context_window if purpose == "answer" else min(2048, settings.context_window),
            n_threads=settings.threads,
            n_ubatch=settings.ubatch,
            flash_attn=settings.flash_attn,
            max_new_tokens=settings.max_new_tokens,
            temperature=settings.temperature,
        )

    def models(self, settings: Settings) -> list[str]:
        return list(GGUF_MODELS)

    def describe(self, model: str, settings: Settings) -> str:
        default = Settings.model_fields["llm"].default
        return f"{GGUF_MODELS[model].title} — embedded{' (default)' if model == default else ' (fast)'}"
