"""The public entry points: ``ask`` and ``stream``, and the ``QA`` object that holds the pieces.

question → Query (parsed once; a follow-up first rewritten with its history) → retrieve →
read (the model chooses the evidence, or none) → decide → more evidence (a two-part question read
part by part; a how-many question's other figures of the same thing) → write (from the chosen
sentences, streamed) → check → Answer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from datetime import date
from typing import Any, Literal

from .check import check, numbering_order
from .condense import condense_question
from .decide import Probe, ProbeRefused, decide, probe_for
from .errors import QuestionError
from .index import SentenceIndex
from .llm import backend_errors, choose, get_llm, model_label
from .llm.base import CountsPromptTokens, PrimesPrefix, StateReader
from .llm.chatml import chatml
from .prompts import fixed_messages, prompt_text
from .query import Query, parse_query, part_queries
from .read import Candidate, Reading, ReadingPolicy, differing_figures, number_candidates, read
from .retrieve import PostRetrieval, post_retrieval_steps, retrieve
from .schema import Answer, Chosen, Considered, Retrieved, Source, StreamEvent, Timings
from .settings import Settings
from .write import NumberedMarkers, copy_span, write, writing_options

History = Sequence[tuple[str, str]]
log = logging.getLogger(__name__)


def considered(reading: Reading) -> list[Considered]:
    """What the model read, for the answer's record."""
    return [
        Considered(
            article_id=c.sentence.article_id,
            sentence_index=c.sentence.index,
            rank=c.rank,
            probability=round(reading.probs.get(c.letter, 0.0), 4),
            chosen=c.letter in reading.chosen,
        )
        for c in reading.candidates
    ]


def source(candidate: Candidate) -> Source:
    """A candidate as the stream's events show it."""
    return Source(**candidate.sentence.reference(), rank=candidate.rank)


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
    """A loaded pipeline: index, embedder, LLM (lazily), settings, reading policy."""

    def __init__(
        self,
        settings: Settings | None = None,
        index: SentenceIndex | None = None,
        llm: Any = None,
        steps: Sequence[PostRetrieval] | None = None,
        policy: ReadingPolicy | None = None,
    ) -> None:
        """``llm``: an LLM to use instead of the one the settings name (``rag.testing.ScriptedLLM``
        in fast tests); it answers, reads and rewrites follow-ups alike. ``steps``: the post-retrieval
        steps (default: those ``settings.post_retrieval`` names; ``[]`` reads the plain ranking).
        ``policy``: how the reading is done (default: the product's ``ReadingPolicy()``; the
        evaluation tools and tests pass a variant to measure it)."""
        self.settings = settings or Settings()
        self.index = index or SentenceIndex(self.settings)
        self._llm = llm
        self.steps = list(steps) if steps is not None else post_retrieval_steps(self.index, self.settings)
        self._steps_from_settings = steps is None
        self.policy = policy or ReadingPolicy()
        self._ingest_lock = threading.Lock()
        self._probes: dict[tuple[str, str, str], Probe | None] = {}

    # ------------------------------------------------------------------ set-up

    def ensure_index(self) -> None:
        self.index.sync(self.settings.corpus_dir)  # the index follows corpus_dir: adds, updates, removals (rag.index)

    def llm(self, settings: Settings | None = None, purpose: Literal["answer", "condense"] = "answer") -> Any:
        """The answering LLM (or the one that rewrites follow-ups), loaded on first use."""
        return self._llm if self._llm is not None else get_llm(settings or self.settings, purpose)

    def warm(self, settings: Settings | None = None) -> None:
        """Load the answering model and, with llama.cpp, process the fixed prompt prefix (rules and
        worked examples) into its KV cache, so that the first question costs no more than later ones."""
        settings = settings or self.settings
        llm = self.llm(settings)
        if isinstance(llm, PrimesPrefix):  # backends with a local KV cache (llama.cpp)
            llm.prime(chatml(fixed_messages(settings.prompts_dir), open_turn=False))

    def probe(self, settings: Settings) -> Probe | None:
        """The trained answerability probe for the answering model, when it has one that fits its
        weights and read prompt and the backend gives hidden states; ``None`` (P(none) decides)
        otherwise. A refused probe is said once per model in the log."""
        llm = self.llm(settings)
        if not isinstance(llm, StateReader):
            return None
        key = (llm.model_sha256, str(settings.prompts_dir), str(settings.probes_dir))
        if key not in self._probes:
            try:
                self._probes[key] = probe_for(
                    llm.model_name, llm.model_sha256, settings.prompts_dir, settings.probes_dir
                )
            except ProbeRefused as exc:
                log.warning("answerability probe not used, P(none) decides: %s", exc)
                self._probes[key] = None
        return self._probes[key]

    # ------------------------------------------------------------------ answering

    def query(self, question: str, history: History | None, settings: Settings) -> Query:
        """The question validated and parsed once (a follow-up rewritten with its history first)."""
        question = validate_question(question, settings.max_question_chars)
        standalone = None
        if history:
            with backend_errors(settings):
                standalone = condense_question(
                    self.llm(settings, "condense"), settings.prompts_dir, question, list(history)
                )
        return parse_query(question, standalone)

    def abstention(self, query: Query, settings: Settings, timings: Timings, reason: str, **extra: Any) -> Answer:
        return Answer(
            abstain_reason=reason,
            question=query.text,
            standalone_question=query.standalone if query.standalone != query.text else None,
            text=prompt_text(settings.prompts_dir, f"abstain_{query.language}.txt"),
            abstained=True,
            language=query.language,
            model=model_label(settings),
            timings=timings,
            **extra,
        )

    def read(
        self, query: Query, sentences: Sequence[tuple[Any, float]], settings: Settings, states: Sequence[str] = ()
    ) -> tuple[Reading, list[Any]]:
        """The reading step over ``sentences`` ((sentence, dense score), best first). With
        ``states`` (graph node names, ``rag.hidden``) and a backend that can give them, the
        reading also carries the model's hidden states at the read position."""
        candidates = number_candidates([s for s, _ in sentences], [d for _, d in sentences])
        captured: dict[str, Any] = {}
        with backend_errors(settings):
            llm = self.llm(settings)

            def chooser(messages: list[Any], options: list[str]) -> dict[str, float]:
                if states and isinstance(llm, StateReader):
                    probs, got = llm.choose_with_states(messages, options, states)
                    captured.update(got)
                    return probs
                return choose(llm, messages, options, settings)

            reading, messages = read(chooser, settings.prompts_dir, query, candidates, self.policy)
        if captured:
            reading = reading.model_copy(update={"states": captured})
        return reading, messages

    def stream(
        self,
        question: str,
        history: History | None = None,
        *,
        article_ids: list[str] | None = None,
        date_from: date | None = None,
        date_to: date | None = None,
        **overrides: Any,
    ) -> Iterator[StreamEvent]:
        """Yield ``Retrieved`` (the sentences about to be read) as soon as retrieval returns,
        ``Chosen`` once the evidence is chosen, the text pieces as the model writes them (markers
        numbered as in the answer), then the checked ``Answer`` last."""
        settings = self.settings.model_copy(update=overrides) if overrides else self.settings
        started = time.perf_counter()
        validate_question(question, settings.max_question_chars)  # bad input fails before any work
        self.ensure_index()
        query = self.query(question, history, settings)
        found = retrieve(self.index, query, settings, article_ids=article_ids, date_from=date_from, date_to=date_to)
        timings = Timings(retrieval_s=round(found.seconds, 4))
        hits = found.hits
        steps = self.steps
        if self._steps_from_settings and overrides:
            steps = post_retrieval_steps(self.index, settings)  # cheap to build; a per-call read_margin is honoured
        for step in steps:
            hits = step(query, hits)
        yield Retrieved(sentences=[source(c) for c in number_candidates([h.sentence for h in hits])])
        yield from self._answer(
            query, [(h.sentence, h.dense) for h in hits], found.top_dense, settings, started, timings
        )

    def answer_from(
        self, query: Query, sentences: Sequence[tuple[Any, float]], top_dense: float, settings: Settings
    ) -> Answer:
        """The answer to ``query`` from these sentences alone ((sentence, dense score), best first):
        what ``stream`` does after retrieval (the eval's oracle uses it with the gold sentences)."""
        final = [
            item
            for item in self._answer(query, sentences, top_dense, settings, time.perf_counter(), Timings())
            if isinstance(item, Answer)
        ]
        return final[-1]

    def _answer(
        self,
        query: Query,
        sentences: Sequence[tuple[Any, float]],
        top_dense: float,
        settings: Settings,
        started: float,
        timings: Timings,
    ) -> Iterator[str | Chosen | Answer]:
        """read → decide → write (streamed) → check → Answer."""

        def done() -> Timings:
            timings.total_s = round(time.perf_counter() - started, 4)
            return timings

        if not sentences:
            yield self.abstention(query, settings, done(), "no sentence is close enough to the question")
            return
        probe = self.probe(settings)
        clock = time.perf_counter()
        reading, messages = self.read(query, sentences, settings, states=[probe.node] if probe else [])
        llm = self.llm(settings)
        timings.prompt_tokens = llm.last_prompt_tokens if isinstance(llm, CountsPromptTokens) else None
        timings.read_s = round(time.perf_counter() - clock, 4)
        clock = time.perf_counter()
        decision = decide(reading, top_dense, settings, probe)
        timings.decide_s = round(time.perf_counter() - clock, 4)
        read_out: dict[str, Any] = {
            "p_none": reading.p_none,
            "considered": considered(reading),
            "p_unanswerable": None if decision.p_unanswerable is None else round(decision.p_unanswerable, 4),
            "decided_by": decision.decided_by,
        }
        if decision.reason is not None:
            yield self.abstention(query, settings, done(), decision.reason, **read_out)
            return
        if query.parts and self.policy.answer_parts:
            reading = self.read_parts(query, reading, sentences, settings)
            read_out["considered"] = considered(reading)
        if self.policy.differing_figures:
            reading = differing_figures(query, reading, self.policy.max_chosen_many)
            read_out["considered"] = considered(reading)
        yield Chosen(sentences=[source(reading.candidate(letter)) for letter in reading.chosen])
        written, copied = yield from self._write(query, reading, messages, settings, timings, started)
        read_out["written"] = written
        read_out["copied"] = copied
        clock = time.perf_counter()
        checked = check(written, query, reading)
        timings.check_s = round(time.perf_counter() - clock, 4)
        if checked.abstain_reason is not None:
            yield self.abstention(
                query, settings, done(), checked.abstain_reason, removed_claims=checked.removed, **read_out
            )
            return
        yield Answer(
            question=query.text,
            standalone_question=query.standalone if query.standalone != query.text else None,
            text=checked.text,
            citations=checked.citations,
            abstained=False,
            language=query.language,
            model=model_label(settings),
            timings=done(),
            removed_claims=checked.removed,
            **read_out,
        )

    def _write(
        self,
        query: Query,
        reading: Reading,
        messages: list[Any],
        settings: Settings,
        timings: Timings,
        started: float,
    ) -> Generator[str, None, tuple[str, bool]]:
        """Stream what the model writes from ``reading``'s chosen sentences, markers numbered as the
        check will number them; returns (the text written, with the model's own markers, and
        whether it was a copied span)."""
        pieces: list[str] = []
        span = copy_span(query, reading) if self.policy.copy_spans else None
        llm = self.llm(settings)
        extra = writing_options(llm, reading.chosen, settings.max_new_tokens, span, reading.cite_each)
        markers = NumberedMarkers(reading.chosen, numbering_order(query, reading))
        clock = time.perf_counter()
        with backend_errors(settings):
            for piece in write(llm, messages, reading.chosen, extra):
                if timings.first_token_s is None:
                    timings.first_token_s = round(time.perf_counter() - started, 4)
                pieces.append(piece)
                shown = markers.feed(piece)
                if shown:
                    yield shown
        rest = markers.flush()
        if rest:
            yield rest
        timings.write_s = round(time.perf_counter() - clock, 4)
        timings.answer_tokens = len(pieces)
        return "".join(pieces), span is not None and extra.get("processor") is not None

    def read_parts(
        self, query: Query, reading: Reading, sentences: Sequence[tuple[Any, float]], settings: Settings
    ) -> Reading:
        """A two-part question's evidence chosen part by part: each part ("Where is the factory?",
        "What is it called?") read over the same candidates (same ids; only the question differs,
        so llama.cpp reuses the candidates from its cache); each part's best sentence, unless the
        part's reading finds none, is added to the whole question's choice when it is not in it
        already. The whole question is then written from them all."""
        chosen = list(reading.chosen)
        for part in part_queries(query):
            part_reading, _ = self.read(part, sentences, settings)
            if part_reading.p_none < settings.p_none_threshold and part_reading.chosen:
                best = part_reading.chosen[0]
                if best not in chosen:
                    chosen.append(best)
        return reading.model_copy(update={"chosen": chosen})

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


def stream(question: str, history: History | None = None, **kwargs: Any) -> Iterator[StreamEvent]:
    """Like ``ask`` but yields as it goes: ``Retrieved``, ``Chosen``, the text pieces, then the
    final ``Answer`` (``QA.stream``)."""
    return default_qa().stream(question, history, **kwargs)
