"""Decide: answer or abstain, before anything is written.

The decision is learned, not hand-set. A probe (logistic regression) reads the model's hidden state
at the read position (``rag.hidden``: the residual stream after one mid layer, taken in the decode
that gives P(none)) and is stacked with P(none) and the retrieval score; it was trained on thousands
of labelled public questions read through kutip's own retrieval and read prompt
(``kutip train``; ``evaluation/train_probe.py``), and its threshold was chosen on a dev set. A probe
ships per packaged model (``rag/probes/<model>.json``; ``KUTIP_PROBES_DIR``) with its provenance, and is refused when the
model's weights or the read prompt differ from those it learned from: the decision then falls back
to P(none) alone, and the ``Answer`` says which decided (``decided_by``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from .read import Reading, read_messages
from .settings import Settings

log = logging.getLogger(__name__)

Decider = Literal["probe", "p_none", "retrieval"]


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def read_prompt_hash(prompts_dir: Path) -> str:
    """SHA-256 of a read prompt rendered from a fixed question and candidate: it changes when the
    rules, worked examples, template or the code that lays out the candidates change, which is
    when a probe trained on the old prompt no longer describes what the model sees."""
    from .index import StoredSentence
    from .llm.chatml import chatml
    from .query import parse_query
    from .read import number_candidates

    sentence = StoredSentence(id="a:0", article_id="a", index=0, text="Kalimat contoh.", title="Judul")
    messages = read_messages(prompts_dir, parse_query("Apa contohnya?", None), number_candidates([sentence]))
    return hashlib.sha256(chatml(messages).encode("utf-8")).hexdigest()


class Scaler(BaseModel):
    mean: list[float]
    scale: list[float]


class Probe(BaseModel):
    """A trained answerability probe: plain arrays and the parameters that made them (after
    scikit-learn's fitted estimators), with its provenance."""

    model: str
    model_sha256: str
    prompt_hash: str
    node: str = Field(description="The graph node whose state it reads (rag.hidden), e.g. l_out-16.")
    scaler: Scaler
    coef: list[float] = Field(description="Weights over the standardised state.")
    intercept: float
    stack_coef: list[float] = Field(description="Weights of [state score, logit P(none), top dense cosine].")
    stack_intercept: float
    threshold: float = Field(description="P(unanswerable) at or above which kutip abstains (chosen on a dev set).")
    provenance: dict[str, object] = {}

    def state_score(self, state: np.ndarray) -> float:
        x = (np.asarray(state, dtype=np.float64) - np.asarray(self.scaler.mean)) / np.asarray(self.scaler.scale)
        return float(x @ np.asarray(self.coef) + self.intercept)

    def p_unanswerable(self, state: np.ndarray, p_none: float, top_dense: float) -> float:
        """P(the question is not answered by what was read)."""
        z = np.array([self.state_score(state), logit(p_none), top_dense]) @ np.asarray(self.stack_coef)
        return 1.0 / (1.0 + math.exp(-(float(z) + self.stack_intercept)))


class ProbeRefused(Exception):
    """A probe that does not match the loaded model or prompt."""


@lru_cache(maxsize=8)
def _load(path: Path) -> Probe | None:
    if not path.is_file():
        return None
    return Probe.model_validate(json.loads(path.read_text(encoding="utf-8")))


def probe_for(model: str, model_sha256: str, prompts_dir: Path, probes_dir: Path) -> Probe:
    """The shipped probe of ``model``; ``ProbeRefused`` (with the reason) when there is none or it
    was trained for other weights or another read prompt."""
    probe = _load(probes_dir / f"{model}.json")
    if probe is None:
        raise ProbeRefused(f"no trained probe for {model} in {probes_dir}")
    if probe.model_sha256 != model_sha256:
        raise ProbeRefused(
            f"the probe for {model} was trained on weights {probe.model_sha256[:12]}…, not {model_sha256[:12]}…; "
            "retrain it with 'kutip train'"
        )
    current = read_prompt_hash(prompts_dir)
    if probe.prompt_hash != current:
        raise ProbeRefused(
            f"the probe for {model} was trained on another read prompt ({probe.prompt_hash[:12]}…, now {current[:12]}…); "
            "retrain it with 'kutip train'"
        )
    return probe


class Decision(BaseModel):
    """Why kutip abstains (``reason``; ``None``: it writes), and what decided."""

    reason: str | None
    decided_by: Decider
    p_unanswerable: float | None = None


def decide(reading: Reading, top_dense: float, settings: Settings, probe: Probe | None) -> Decision:
    """Answer or abstain from what was read: the probe when one fits and the reading carries its
    state, P(none) against the model's tuned threshold otherwise. Retrieval that found nothing
    close enough abstains first, whatever the model read."""
    if top_dense < settings.abstain_threshold:
        return Decision(reason="no sentence is close enough to the question", decided_by="retrieval")
    if probe is not None and probe.node in reading.states:
        p = probe.p_unanswerable(reading.states[probe.node], reading.p_none, top_dense)
        threshold = settings.probe_threshold if settings.probe_threshold is not None else probe.threshold
        if p >= threshold:
            return Decision(
                reason=f"the model's reading says the sentences do not answer (P(unanswerable) = {p:.2f})",
                decided_by="probe",
                p_unanswerable=p,
            )
        if not reading.chosen:
            return Decision(reason="no sentence was chosen", decided_by="probe", p_unanswerable=p)
        return Decision(reason=None, decided_by="probe", p_unanswerable=p)
    if reading.p_none >= settings.p_none_threshold:
        return Decision(
            reason=f"the model read the sentences and found none that answers (P(none) = {reading.p_none:.2f})",
            decided_by="p_none",
        )
    if not reading.chosen:
        return Decision(reason="no sentence was chosen", decided_by="p_none")
    return Decision(reason=None, decided_by="p_none")
