"""Tune the reading step on dev data only: the dev split of eval/questions.yaml and a benchmark
folder (../shared/bench/id-dev/). Never on the test split.

For each question: retrieve ``--k`` candidates, read them in each ``--orders`` order, and record
the renormalised probabilities, P(none), which candidates hold a gold sentence and their
retrieval ranks. The analysis (also ``--analyse FILE`` on saved records) reports, per order and
rank-prior weight: how often the top-ranked candidate is a gold sentence (when one was
retrieved), against retrieval's own first rank; and for P(none): the AUC between answerable and
unanswerable questions and the abstention recall / false-abstention pairs along the thresholds.

    .venv/bin/python scripts/tune_read.py --bench ../shared/bench/id-dev --limit 60 --out eval/results/read/dev.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from evaluation.evalset import QUESTIONS_FILE, Question, load_questions, resolve_gold, settings_for
from rag.corpus import load_corpus
from rag.qa import QA
from rag.read import ReadingPolicy, calibrate, number_candidates, read
from rag.retrieve import retrieve
from rag.settings import Settings


def collect(settings: Settings, questions: list[Question], set_name: str, k: int, orders: list[str]) -> list[dict]:
    qa = QA(settings)
    qa.ensure_index()
    qa.warm()
    articles = {a.id: a for a in load_corpus(settings.corpus_dir)}
    rows = []

    from rag.llm import choose

    for q in questions:
        if q.history:
            continue
        query = qa.query(q.question, None, settings)
        found = retrieve(qa.index, query, settings, top_k=k)
        hits = found.hits
        for step in qa.steps:
            hits = step(query, hits)
        candidates = number_candidates([h.sentence for h in hits], [h.dense for h in hits])
        gold = set(resolve_gold(q, articles)) if q.answerable else set()
        row = {
            "set": set_name,
            "id": q.id,
            "answerable": q.answerable,
            "language": q.language,
            "asks": query.asks,
            "top_dense": found.top_dense,
            "candidates": [
                {"letter": c.letter, "rank": c.rank, "dense": c.dense, "gold": c.sentence.id in gold}
                for c in candidates
            ],
            "reads": {},
        }
        for order in orders:
            started = time.perf_counter()
            llm = qa.llm(settings)
            reading, _ = read(
                lambda m, o, llm=llm: choose(llm, m, o, settings),
                settings.prompts_dir,
                query,
                candidates,
                ReadingPolicy(read_order=order),
            )
            row["reads"][order] = {"probs": reading.probs, "seconds": round(time.perf_counter() - started, 3)}
        rows.append(row)
        print(
            f"{set_name} {q.id} answerable={q.answerable} "
            + " ".join(f"{o}: none={r['probs'].get('none', 0):.2f}" for o, r in row["reads"].items()),
            flush=True,
        )
    return rows


def read_order(report: dict) -> str:
    """The read order a report's run used: in its ``policy`` (older reports: its ``settings``)."""
    recorded = report.get("policy") or report.get("settings") or {}
    return str(recorded.get("read_order", ReadingPolicy().read_order))


def rows_from_report(path: Path) -> list[dict]:
    """The readings an eval run recorded (``considered``, ``p_none``) as rows for ``analyse``."""
    report = json.loads(path.read_text())
    rows = []
    for r in report["records"]["kutip"]:
        if not r["considered"]:
            continue
        letters = [chr(ord("A") + i) for i in range(len(r["considered"]))]
        probs = {letter: c["p"] for letter, c in zip(letters, r["considered"])} | {"none": r["p_none"]}
        rows.append(
            {
                "set": path.parent.name,
                "id": r["id"],
                "answerable": r["answerable"],
                "language": r["language"],
                "top_dense": 1.0,
                "candidates": [
                    {"letter": letter, "rank": c["rank"], "dense": 0.0, "gold": c["gold"]}
                    for letter, c in zip(letters, r["considered"])
                ],
                "reads": {read_order(report): {"probs": probs, "seconds": 0.0}},
            }
        )
    return rows


def auc(positives: list[float], negatives: list[float]) -> float | None:
    """P(a random positive scores above a random negative), ties half."""
    if not positives or not negatives:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return round(wins / (len(positives) * len(negatives)), 3)


def analyse(rows: list[dict]) -> None:
    from rag.index import StoredSentence
    from rag.read import Candidate

    orders = sorted({o for r in rows for o in r["reads"]})
    for set_name in sorted({r["set"] for r in rows}) + ["all"]:
        subset = [r for r in rows if set_name in ("all", r["set"])]
        with_gold = [r for r in subset if r["answerable"] and any(c["gold"] for c in r["candidates"])]
        retrieval_top1 = sum(1 for r in with_gold if any(c["gold"] and c["rank"] == 0 for c in r["candidates"])) / max(
            1, len(with_gold)
        )
        print(
            f"\n## {set_name}: {len(subset)} questions, {len(with_gold)} answerable with a gold candidate; "
            f"retrieval's first rank is gold for {retrieval_top1:.3f}"
        )
        for order in orders:
            for prior in (0.0, 0.5, 1.0, 2.0):
                hits = 0
                for r in with_gold:
                    cands = [
                        Candidate(
                            letter=c["letter"],
                            rank=c["rank"],
                            dense=c["dense"],
                            sentence=StoredSentence(id=c["letter"], article_id="a", index=0, text="", title=""),
                        )
                        for c in r["candidates"]
                    ]
                    ranking, _ = calibrate(r["reads"][order]["probs"], cands, prior, 0.5, 1)
                    hits += any(c["gold"] and c["letter"] == ranking[0] for c in r["candidates"])
                print(
                    f"- {order}, rank prior {prior}: top-ranked candidate is gold for {hits / max(1, len(with_gold)):.3f}"
                )
            pos = [r["reads"][order]["probs"].get("none", 0.0) for r in subset if not r["answerable"]]
            neg = [r["reads"][order]["probs"].get("none", 0.0) for r in subset if r["answerable"]]
            print(
                f"- {order}: P(none) AUC unanswerable vs answerable {auc(pos, neg)}; mean read "
                f"{sum(r['reads'][order]['seconds'] for r in subset) / max(1, len(subset)):.2f} s"
            )
            for t in (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5):
                rec = sum(p >= t for p in pos) / max(1, len(pos))
                fa = sum(p >= t for p in neg) / max(1, len(neg))
                print(f"    threshold {t}: unanswerable abstained {rec:.3f}, answerable abstained {fa:.3f}")
            dense_pos = [r["top_dense"] for r in subset if not r["answerable"]]
            dense_neg = [r["top_dense"] for r in subset if r["answerable"]]
            print(f"- top dense cosine AUC answerable vs unanswerable {auc(dense_neg, dense_pos)}")
            _ = math


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", default="", help="benchmark folder (questions.json + corpus/)")
    parser.add_argument("--limit", type=int, default=0, help="first N benchmark questions (0 = all)")
    parser.add_argument("--every", type=int, default=1, help="every Nth benchmark question (after --limit)")
    parser.add_argument("--k", type=int, default=6)
    parser.add_argument("--orders", default="best-first,best-last")
    parser.add_argument("--out", default="eval/results/read/records.json")
    parser.add_argument("--analyse", default="", help="only analyse saved records")
    parser.add_argument(
        "--from-reports", nargs="*", default=[], help="analyse the readings recorded in kutip eval report.json files"
    )
    args = parser.parse_args()
    if args.analyse:
        analyse(json.loads(Path(args.analyse).read_text()))
        return
    if args.from_reports:
        analyse([row for path in args.from_reports for row in rows_from_report(Path(path))])
        return
    settings = Settings()
    orders = args.orders.split(",")
    rows = collect(settings, load_questions(QUESTIONS_FILE, "dev"), "questions.yaml dev", args.k, orders)
    if args.bench:
        bench = Path(args.bench)
        questions = load_questions(bench)[: args.limit or None][:: args.every]
        bench_settings = settings_for(bench, settings)
        rows += collect(bench_settings, questions, bench.resolve().name, args.k, orders)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=1))
    analyse(rows)


if __name__ == "__main__":
    main()
