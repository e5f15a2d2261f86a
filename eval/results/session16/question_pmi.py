"""Session 16: does the chosen sentence *explain the question*? A near-miss question usually swaps
one thing the sentence states ("Kapan Joan Walter Lapian lahir?" over "Bernard Wilhelm Lapian
lahir …"; "dibubarkan" over "didirikan"): given the sentence, the model should find that token
*less* likely than without it. Per question token, PMI = log P(token | sentence, question so far)
- log P(token | question so far); the signals are the sum and the minimum over the question.

Offline, with the default 1.5B through llama.cpp, on a saved run's chosen sentences
(``evaluation.ablate_check.reading_of``). Writes ID -> signals as JSON.

Usage: python eval/results/session16/question_pmi.py REPORT QUESTIONS SPLIT OUT.json
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from llama_cpp import Llama

from evaluation.ablate_check import reading_of
from evaluation.evalset import load_questions, settings_for
from evaluation.evaluate import Record
from rag.models import ensure_gguf
from rag.index import SentenceIndex
from rag.prompts import one_line
from rag.settings import Settings


def token_logprobs(llm: Llama, prefix: str, question: str) -> np.ndarray:
    """log P of each token of ``question`` after ``prefix`` (raw text, no chat template)."""
    head = llm.tokenize(prefix.encode(), add_bos=False, special=False)
    body = llm.tokenize(question.encode(), add_bos=False, special=False)
    llm.reset()
    llm.eval(head + body)
    logits = np.asarray(llm.scores[len(head) - 1 : len(head) + len(body) - 1], dtype=np.float64)
    logz = np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1)) + logits.max(1)
    return logits[np.arange(len(body)), body] - logz


def main() -> None:
    report_path, questions_path, split, out_path = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
    settings = settings_for(questions_path, Settings())
    index = SentenceIndex(settings)
    questions = {q.id: q for q in load_questions(questions_path, split)}
    llm = Llama(
        model_path=str(ensure_gguf("qwen2.5-coder-1.5b", settings.model_cache)),
        n_ctx=1024,
        n_threads=2,
        n_threads_batch=2,
        logits_all=True,
        verbose=False,
    )
    out: dict[str, dict[str, float]] = {}
    started = time.time()
    for raw in json.loads(report_path.read_text())["records"]["kutip"]:
        rec = Record.model_validate(raw)
        q = questions[rec.id]
        reading = reading_of(rec, index, settings) if rec.considered and not q.history else None
        if reading is None or not reading.chosen:
            continue
        sentence = reading.candidate(reading.chosen[0]).sentence
        question = " " + one_line(q.question)
        given = token_logprobs(llm, f"Text: {one_line(sentence.text)}\nQuestion:", question)
        alone = token_logprobs(llm, "Question:", question)
        pmi = given - alone
        out[rec.id] = {
            "pmi_sum": float(pmi.sum()),
            "pmi_mean": float(pmi.mean()),
            "pmi_min": float(pmi.min()),
            "pmi_neg": float(np.minimum(pmi, 0).sum()),
            "lp_given": float(given.sum()),
        }
    out_path.write_text(json.dumps(out, indent=1))
    print(f"{len(out)} questions in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
