"""Would P(none) separate near-miss from answerable questions better if it were (a) averaged over
two candidate orders (best-first, best-last), or (b) set against a content-free P(none) (the same
prompt with every sentence replaced by "N/A": how none-prone the question is whatever the
evidence; contextual calibration, Zhao et al. 2021)? Dev data only; reading only, no writing.

    .venv/bin/python eval/results/session11/pnone_signals.py --bench ../shared/bench/id-dev --every 3 --out F.json
    .venv/bin/python eval/results/session11/pnone_signals.py --split dev --out G.json
    .venv/bin/python eval/results/session11/pnone_signals.py --analyse F.json G.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from evaluation.evalset import QUESTIONS_FILE, load_questions, resolve_gold, settings_for
from evaluation.tune_read import auc
from rag.backends import choose
from rag.corpus import load_corpus
from rag.qa import QA
from rag.read import number_candidates, read
from rag.retrieve import retrieve
from rag.settings import Settings


def collect(settings: Settings, questions: list, name: str) -> list[dict]:
    qa = QA(settings)
    qa.ensure_index()
    qa.warm()
    articles = {a.id: a for a in load_corpus(settings.corpus_dir)}
    llm = qa.llm(settings)
    rows = []
    for q in questions:
        if q.history:
            continue
        query = qa.query(q.question, None, settings)
        found = retrieve(qa.index, query, settings)
        hits = found.hits
        for step in qa.steps:
            hits = step(query, hits)
        if not hits or found.top_dense < settings.abstain_threshold:
            continue  # abstained before reading
        candidates = number_candidates([h.sentence for h in hits], [h.dense for h in hits])
        gold = set(resolve_gold(q, articles)) if q.answerable else set()
        row = {
            "set": name,
            "id": q.id,
            "answerable": q.answerable,
            "gold_shown": any(c.sentence.id in gold for c in candidates),
        }
        blank = [c.model_copy(update={"sentence": c.sentence.model_copy(update={"text": "N/A"})}) for c in candidates]
        for label, shown, order in (
            ("first", candidates, "best-first"),
            ("last", candidates, "best-last"),
            ("cf", blank, "best-first"),
        ):
            started = time.perf_counter()
            reading, _ = read(
                lambda m, o: choose(llm, m, o, settings),
                settings.prompts_dir,
                query,
                shown,
                settings.model_copy(update={"read_order": order}),
            )
            row[label] = round(reading.p_none, 5)
            row[label + "_s"] = round(time.perf_counter() - started, 3)
        rows.append(row)
        print(name, q.id, q.answerable, row["first"], row["last"], row["cf"], flush=True)
    return rows


def logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


SIGNALS = {
    "P(none), best-first (today)": lambda r: r["first"],
    "P(none), best-last": lambda r: r["last"],
    "mean of both orders": lambda r: (r["first"] + r["last"]) / 2,
    "max of both orders": lambda r: max(r["first"], r["last"]),
    "logit P(none) - logit content-free": lambda r: logit(r["first"]) - logit(r["cf"]),
    "content-free P(none) alone": lambda r: r["cf"],
}


def analyse(rows: list[dict]) -> None:
    for name in sorted({r["set"] for r in rows}):
        sub = [r for r in rows if r["set"] == name]
        pos = [r for r in sub if not r["answerable"]]
        neg = [r for r in sub if r["answerable"]]
        print(f"\n## {name}: {len(pos)} unanswerable, {len(neg)} answerable read (pre-read abstentions left out)\n")
        print("| signal | AUC | unanswerable abstained where 7% of answerable are |")
        print("|---|---|---|")
        for label, f in SIGNALS.items():
            scores = sorted((f(r) for r in neg), reverse=True)
            cut = scores[int(0.07 * len(scores))] if scores else 0.0
            caught = sum(f(r) > cut for r in pos) / max(1, len(pos))
            print(f"| {label} | {auc([f(r) for r in pos], scores)} | {caught:.3f} |")
        secs = {k: sorted(r[k + "_s"] for r in sub) for k in ("first", "last", "cf")}
        print("\nread seconds p50: " + ", ".join(f"{k} {v[len(v) // 2]:.2f}" for k, v in secs.items()))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench")
    ap.add_argument("--split", default="dev")
    ap.add_argument("--every", type=int, default=1)
    ap.add_argument("--out")
    ap.add_argument("--analyse", nargs="*")
    args = ap.parse_args()
    if args.analyse:
        analyse([r for f in args.analyse for r in json.loads(Path(f).read_text())])
        return
    path = Path(args.bench) if args.bench else QUESTIONS_FILE
    settings = settings_for(path, Settings())
    questions = load_questions(path, "dev" if args.bench else args.split)[:: args.every]
    rows = collect(settings, questions, path.name if args.bench else f"{args.split} split")
    Path(args.out).write_text(json.dumps(rows, indent=1))
    analyse(rows)


if __name__ == "__main__":
    main()
