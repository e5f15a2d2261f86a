"""The public entry points: ``ask`` and ``stream``, and the ``QA`` object that holds the pieces.

question → (condense with history) → retrieve (+ a disagreeing figure) → abstain early? → prompt
→ generate (stream) → citation check and fit to the question (``QA.judge``; when no claim is
supported, a few sampled retries, ``QA.resample``) → Answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any, Literal

from llama_index.core.base.llms.types import ChatMessage

from .answer import (
    NO_ANSWER, Numbered, build_messages, condense_question, fixed_messages, generate, is_refusal,
    number_sentences, prompt_text, strip_markers,
)
from .cite import Checked, CitationChecker, add_disagreements, misfit
from .corpus import load_corpus_report
from .errors import BackendUnavailableError, QuestionError
from .index import SentenceIndex
from .models import LlamaCppLLM, chatml, get_embedder, get_llm, model_label, sampled
from .retrieve import Retrieval, retrieve, with_neighbours
from .schema import Answer, Timings
from .settings import Settings
from .text import Language, detect_language

History = Sequence[tuple[str, str]]
REFUSED = "the model found no answer in the sentences"
UNSUPPORTED = "no sentence states"


@contextmanager
def backend_errors(settings: Settings) -> Iterator[None]:
    """Turn a failing or slow Ollama server into a ``BackendUnavailableError`` that names it."""
    if settings.backend != "ollama":
        yield
        return
    import httpx
    import ollama

    try:
        yield
    except httpx.TimeoutException as exc:
        raise BackendUnavailableError(
            f"Ollama at {settings.ollama_url} did not answer within {settings.ollama_timeout_s:g} s "
            "(KUTIP_OLLAMA_TIMEOUT_S)."
        ) from exc
    except (httpx.HTTPError, ConnectionError) as exc:
        raise BackendUnavailableError(
            f"Lost the connection to Ollama at {settings.ollama_url} ({type(exc).__name__}); is 'ollama serve' running?"
        ) from exc
    except ollama.ResponseError as exc:
        hint = f" Pull it with: ollama pull {settings.ollama_model}" if exc.status_code == 404 else ""
        raise BackendUnavailableError(f"Ollama at {settings.ollama_url} answered: {exc.error}.{hint}") from exc


def validate_question(question: Any, max_chars: int) -> str:
    """The question stripped; ``QuestionError`` if it is not text, empty, or too long."""
    if not isinstance(question, str):
        raise QuestionError("The question must be text.")
    cleaned = "".join(ch for ch in question if ch.isprintable() or ch in "\n\t").strip()
    if not cleaned:
        raise QuestionError("The question is empty; type a question about the articles.")
    if len(cleaned) > max_chars:
        raise QuestionError(f"The question is {len(cleaned):,} characters long; the limit is {max_chars:,}.")
    return cleaned


class QA:
    """A loaded pipeline: index, embedder, LLM (lazily), citation checker, settings."""

    def __init__(self, settings: Settings | None = None, index: SentenceIndex | None = None) -> None:
        self.settings = settings or Settings()
        self.index = index or SentenceIndex(self.settings)
        self.checker = CitationChecker(get_embedder(), self.settings.support_threshold, support_margin=self.settings.support_margin)
        self._ingest_lock = threading.Lock()

    # ------------------------------------------------------------------ set-up

    def ensure_index(self) -> None:
        self.index.sync(self.settings.corpus_dir)  # the index follows corpus_dir: adds, updates, removals (rag.index)

    def llm(self, settings: Settings | None = None, purpose: Literal["answer", "condense"] = "answer") -> Any:
        """The answering LLM (or the one that rewrites follow-ups), loaded on first use."""
        return get_llm(settings or self.settings, purpose)

    def warm(self, settings: Settings | None = None) -> None:
        """Load the answering model and, with llama.cpp, process the fixed prompt prefix (rules and
        worked examples) into its KV cache, so that the first question costs no more than later ones."""
        settings = settings or self.settings
        llm = self.llm(settings)
        if isinstance(llm, LlamaCppLLM):
            llm.prime(chatml(fixed_messages(settings.prompts_dir), open_turn=False))

    # ------------------------------------------------------------------ answering

    def abstention(
        self, question: str, language: Language, settings: Settings, timings: Timings, standalone: str | None, reason: str
    ) -> Answer:
        return Answer(
            abstain_reason=reason,
            question=question,
            standalone_question=standalone,
            text=prompt_text(settings.prompts_dir, f"abstain_{language}.txt"),
            abstained=True,
            language=language,
            model=model_label(settings),
            timings=timings,
        )

    def stream(
        self,
        question: str,
        history: History | None = None,
        *,
        article_ids: list[str] | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
        **overrides: Any,
    ) -> Iterator[str | Answer]:
        """Yield text pieces as the model writes them, then the checked ``Answer`` last."""
        settings = self.settings.model_copy(update=overrides) if overrides else self.settings
        started = time.perf_counter()
        question = validate_question(question, settings.max_question_chars)
        language = detect_language(question)
        self.ensure_index()

        standalone = None
        search_question = question
        if history:
            with backend_errors(settings):
                standalone = condense_question(self.llm(settings, "condense"), settings.prompts_dir, question, list(history))
            search_question = standalone

        found: Retrieval = retrieve(
            self.index, search_question, settings, article_ids=article_ids, date_from=date_from, date_to=date_to,
            language=language,
        )
        timings = Timings(retrieval_s=round(found.seconds, 4))
        if not found.hits or found.top_dense < settings.abstain_threshold:
            timings.total_s = round(time.perf_counter() - started, 4)
            yield self.abstention(question, language, settings, timings, standalone, "no sentence is close enough to the question")
            return

        shown = number_sentences(with_neighbours(self.index, found.hits, settings.window))
        messages = build_messages(settings.prompts_dir, shown, search_question, language)
        pieces: list[str] = []
        with backend_errors(settings):
            for piece in generate(self.llm(settings), messages):
                if timings.first_token_s is None:
                    timings.first_token_s = round(time.perf_counter() - started, 4)
                pieces.append(piece)
                yield piece
        raw = "".join(pieces).strip()

        checked, reason = self.judge(raw, shown, search_question)
        if reason is not None and reason.startswith(UNSUPPORTED):
            checked, reason = self.resample(messages, shown, search_question, settings, (checked, reason))
        if reason is not None:
            timings.total_s = round(time.perf_counter() - started, 4)
            answer = self.abstention(question, language, settings, timings, standalone, reason)
            answer.removed_claims = checked.removed
            yield answer
            return
        notes = {lang: prompt_text(settings.prompts_dir, f"disagree_{lang}.txt") for lang in ("id", "en")}
        checked = add_disagreements(checked, shown, notes, language)
        timings.total_s = round(time.perf_counter() - started, 4)
        yield Answer(
            question=question,
            standalone_question=standalone,
            text=checked.text,
            citations=checked.citations,
            abstained=False,
            language=language,
            model=model_label(settings),
            timings=timings,
            removed_claims=checked.removed,
        )

    def judge(self, raw: str, shown: list[Numbered], question: str) -> tuple[Checked, str | None]:
        """The model's answer after the citation check, and why it cannot be given (``None`` when
        it can, and then it has citations): the model refused (``REFUSED``), no claim is supported,
        or it does not answer what was asked (``rag.cite.misfit``)."""
        if not raw or raw.startswith(NO_ANSWER) or (is_refusal(raw) and not any(c.isdigit() for c in raw.split("[")[0])):
            return Checked(text="", citations=[], removed=[]), REFUSED
        checked = self.checker.check(raw, shown, question)
        if not checked.citations:
            unsupported = "; ".join(f'"{claim}"' for claim in checked.removed[:2])
            return checked, f"{UNSUPPORTED} {unsupported}" if unsupported else "it cites no sentence"
        reason = misfit(question, checked.text, checked.citations)
        if reason:
            # supported sentences that do not answer what was asked ("how many" with no figure)
            return checked.model_copy(update={"citations": [], "removed": [*checked.removed, strip_markers(checked.text)]}), reason
        return checked, None

    def resample(
        self, messages: list[ChatMessage], shown: list[Numbered], question: str, settings: Settings,
        rejected: tuple[Checked, str | None],
    ) -> tuple[Checked, str | None]:
        """Ask the model again, sampled (``settings.resamples`` draws, seeds 1, 2, …), after its
        greedy answer had no supported claim. A draw is kept only when ``settings.resample_agree``
        draws pass ``judge`` citing a common sentence (the first of them is returned); otherwise the
        ``rejected`` verdict stands. A small model that misreads a figure once often reads the
        sentence right on other draws, and agrees with itself; on a question the articles do not
        answer, its draws wander to different sentences."""
        passed: list[Checked] = []
        for seed in range(1, settings.resamples + 1):
            with backend_errors(settings):
                llm, sampling = sampled(self.llm(settings), settings.resample_temperature, seed)
                again = "".join(generate(llm, messages, **sampling)).strip()
            checked, reason = self.judge(again, shown, question)
            if reason is None:
                passed.append(checked)
                cited = [{(c.article_id, c.sentence_index) for c in p.citations} for p in passed]
                agreeing = [p for p, ids in zip(passed, cited) if sum(1 for other in cited if ids & other) >= settings.resample_agree]
                if agreeing:
                    return agreeing[0], None
            if len(passed) + settings.resamples - seed < settings.resample_agree:
                break  # too few draws left to agree
        return rejected

    def ask(self, question: str, history: History | None = None, **kwargs: Any) -> Answer:
        """Answer ``question`` (see ``stream``); returns the final ``Answer``."""
        final: Answer | None = None
        for item in self.stream(question, history, **kwargs):
            if isinstance(item, Answer):
                final = item
        assert final is not None
        return final


_default: QA | None = None
_default_lock = threading.Lock()


def default_qa() -> QA:
    """The process-wide pipeline built from ``Settings()`` on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = QA()
        return _default


def ask(question: str, history: History | None = None, **kwargs: Any) -> Answer:
    """Answer a question about the indexed articles, citing the sentences it rests on."""
    return default_qa().ask(question, history, **kwargs)


def stream(question: str, history: History | None = None, **kwargs: Any) -> Iterator[str | Answer]:
    """Like ``ask`` but yields text pieces as they are generated, then the final ``Answer``."""
    return default_qa().stream(question, history, **kwargs)
