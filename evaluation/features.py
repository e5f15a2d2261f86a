"""Features for the answerability probe, read through kutip itself.

For each question of a benchmark folder (a training shard, id-dev) or of ``eval/questions.yaml``:
kutip's own retrieval, post-retrieval steps and read prompt, and from the one decode that reads
the choice: P(none), the choice's probabilities, the top dense cosine, which candidates hold the
answer, and the hidden state of the last prompt token at several layers (``rag.hidden``).

The cache is keyed by the model's SHA-256, the read prompt's hash and the captured nodes, one file
pair per question set (``<name>.json`` + ``<name>.npz``): a rerun reads only what is missing, and
a change of model or prompt starts a new cache.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.evalset import Question, corpus_of, load_questions, settings_for
from rag.corpus import load_corpus
from rag.decide import read_prompt_hash
from rag.hidden import FINAL_NORM, StateReader, layer_name
from rag.qa import QA
from rag.retrieve import retrieve
from rag.settings import Settings


def captured_nodes(n_layer: int) -> list[str]:
    """What a training run records: every second layer from a quarter of the depth, the last
    layer, and the final-norm state (the probe's layer is chosen among them by cross-validation)."""
    layers = sorted({*range(n_layer // 4, n_layer, 2), n_layer - 1})
    return [*(layer_name(i) for i in layers), FINAL_NORM]


def cache_dir(
    root: Path, model: str, model_sha256: str, prompt_hash: str, nodes: Sequence[str], shown: str = ""
) -> Path:
    """Features are valid for one model, read prompt, set of captured nodes and choice of what is
    shown (``shown_key``): a change to any of them reads the questions anew."""
    key = hashlib.sha256((",".join(nodes) + shown).encode()).hexdigest()[:8]
    return root / f"{model}-{model_sha256[:12]}-{prompt_hash[:12]}-{key}"


def shown_key(settings: Settings) -> str:
    """The retrieval settings that decide which sentences the model reads (the prompt hash covers
    how they are laid out)."""
    fields = {"top_k", "candidates", "rrf_k", "bm25_weight_id", "bm25_weight_en", "post_retrieval"}
    fields |= {"read_at_least", "read_margin"}
    return json.dumps(settings.model_dump(include=fields), sort_keys=True)


def _gold_letters(q: Question, candidates: list[Any], articles: dict[str, Any]) -> list[str]:
    """Letters of the candidates in a gold article that contain a gold answer (or gold sentence)."""
    if not q.answerable:
        return []
    targets = [(g.article_id, " ".join(g.text.split()).lower()) for g in q.gold_sentences]
    letters = []
    for c in candidates:
        text = " ".join(c.sentence.text.split()).lower()
        if any(c.sentence.article_id == a and (t in text or (len(text) >= 25 and text in t)) for a, t in targets):
            letters.append(c.letter)
    return letters


def extract(
    qa: QA, settings: Settings, questions: list[Question], nodes: Sequence[str], progress: Any = None
) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """One record and one state row per question, in order."""
    articles = {a.id: a for a in load_corpus(settings.corpus_dir)}
    records: list[dict[str, Any]] = []
    rows: dict[str, list[np.ndarray]] = {n: [] for n in nodes}
    for q in questions:
        started = time.perf_counter()
        query = qa.query(q.question, None, settings)
        found = retrieve(qa.index, query, settings)
        hits = found.hits
        for step in qa.steps:
            hits = step(query, hits)
        if not hits:
            if progress is not None:
                progress.update(1)
            continue
        reading, _ = qa.read(query, [(h.sentence, h.dense) for h in hits], settings, states=nodes)
        gold = _gold_letters(q, reading.candidates, articles)
        records.append(
            {
                "id": q.id,
                "language": q.language,
                "query_language": query.language,
                "answerable": q.answerable,
                "p_none": reading.p_none,
                "probs": {k: round(v, 6) for k, v in reading.probs.items()},
                "ranks": {c.letter: c.rank for c in reading.candidates},
                "chosen": reading.chosen,
                "top_dense": found.top_dense,
                "gold": gold,
                "seconds": round(time.perf_counter() - started, 3),
            }
        )
        for n in nodes:
            rows[n].append(reading.states[n].astype(np.float16))
        if progress is not None:
            progress.update(1)
    return records, {n: np.stack(v) if v else np.zeros((0, 0), np.float16) for n, v in rows.items()}


def extract_set(
    path: Path,
    name: str,
    settings: Settings,
    out_dir: Path,
    nodes: Sequence[str],
    split: str = "all",
    progress: Any = None,
) -> Path:
    """Features of one question set into ``out_dir/<name>.json|.npz`` (skipped when present)."""
    target = out_dir / f"{name}.json"
    if target.is_file():
        return target
    set_settings = settings_for(path, settings) if corpus_of(path) else settings
    questions = [q for q in load_questions(path, split) if not q.history]
    qa = QA(set_settings)
    qa.ensure_index()
    qa.warm(set_settings)
    records, states = extract(qa, set_settings, questions, nodes, progress)
    out_dir.mkdir(parents=True, exist_ok=True)
    np.savez(out_dir / f"{name}.npz", **{n.replace("-", "_"): a for n, a in states.items()})
    tmp = target.with_suffix(".partial")
    tmp.write_text(json.dumps({"set": name, "source": str(path), "nodes": list(nodes), "records": records}))
    tmp.replace(target)  # the json is written last: its presence means the pair is complete
    return target


def load_set(out_dir: Path, name: str) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    meta = json.loads((out_dir / f"{name}.json").read_text())
    arrays = np.load(out_dir / f"{name}.npz")
    return meta["records"], {n: arrays[n.replace("-", "_")].astype(np.float32) for n in meta["nodes"]}


def model_identity(settings: Settings) -> tuple[str, int]:
    """(weights SHA-256, layer count) of the settings' embedded model: what the cache is keyed by."""
    qa = QA(settings)
    llm = qa.llm(settings)
    if not isinstance(llm, StateReader):
        raise SystemExit(f"the backend '{settings.backend}' gives no hidden states; train with the embedded llama.cpp")
    return llm.model_sha256, llm.n_layer


def features_root(settings: Settings) -> Path:
    return settings.data_dir / "train" / "features"


def prompt_key(settings: Settings) -> str:
    return read_prompt_hash(settings.prompts_dir)
