"""Tune kutip's thresholds on the *dev* split of eval/questions.yaml (the test split stays held out).

    .venv/bin/python scripts/tune.py [--model qwen2.5-coder-0.5b] [--out eval/tuning.json]

1. BM25 weight in the fusion per question language: recall@5 / MRR of gold sentences.
2. Abstention threshold: top dense cosine of answerable vs unanswerable dev questions; the value
   that abstains on the most unanswerable questions while wrongly abstaining on ≤ 5% of answerable ones.
3. Support threshold: the model answers the answerable dev questions with the citation check
   disabled; each (claim, cited sentence) pair is labelled by the automatic judge (the sentence is a
   gold sentence or contains a gold fact); the threshold is the one with the best F1 on that label.
Prints the figures and writes them as JSON; copy the chosen values into rag/settings.py.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.answer import build_messages, generate, number_sentences  # noqa: E402
from rag.cite import split_claims  # noqa: E402
from rag.corpus import load_corpus  # noqa: E402
from rag.evalset import facts_found, load_questions, resolve_gold  # noqa: E402
from rag.index import SentenceIndex  # noqa: E402
from rag.models import get_embedder, get_llm  # noqa: E402
from rag.retrieve import retrieve, with_neighbours  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.text import numbers  # noqa: E402


def tune_bm25(index, settings, questions, articles) -> dict:
    results = {}
    for lang in ("id", "en"):
        qs = [q for q in questions if q.answerable and q.language == lang and not q.history]
        for w in (0.0, 0.25, 0.5, 1.0, 1.5, 2.0):
            s = settings.model_copy(update={f"bm25_weight_{lang}": w})
            ranks = []
            for q in qs:
                gold = set(resolve_gold(q, articles))
                hits = [h.sentence.id for h in retrieve(index, q.question, s, top_k=10).hits]
                ranks.append(next((i + 1 for i, h in enumerate(hits) if h in gold), 0))
            results[f"{lang}:{w}"] = {
                "recall@5": round(float(np.mean([0 < r <= 5 for r in ranks])), 3),
                "mrr": round(float(np.mean([1 / r if r else 0 for r in ranks])), 3),
                "n": len(ranks),
            }
    best = {lang: max((k for k in results if k.startswith(lang)), key=lambda k: (results[k]["mrr"], results[k]["recall@5"])) for lang in ("id", "en")}
    return {"grid": results, "best": {lang: float(k.split(":")[1]) for lang, k in best.items()}}


def tune_abstain(index, settings, questions) -> dict:
    scores = {True: [], False: []}
    for q in questions:
        if q.history:
            continue
        scores[q.answerable].append(retrieve(index, q.question, settings).top_dense)
    candidates = sorted(set(np.round(np.concatenate([scores[True], scores[False]]), 3)))
    best, best_recall = 0.0, -1.0
    for t in candidates:
        false_abstain = np.mean([s < t for s in scores[True]])
        recall = np.mean([s < t for s in scores[False]])
        if false_abstain <= 0.05 and recall > best_recall:
            best, best_recall = float(t), float(recall)
    return {
        "answerable": sorted(round(s, 3) for s in scores[True]),
        "unanswerable": sorted(round(s, 3) for s in scores[False]),
        "threshold": best,
        "unanswerable_abstained": best_recall,
    }


def tune_support(index, settings, questions, articles) -> dict:
    embedder = get_embedder()
    llm = get_llm(settings)
    pairs = []
    for q in questions:
        if not q.answerable or q.history:
            continue
        gold_ids = set(resolve_gold(q, articles))
        found = retrieve(index, q.question, settings)
        shown = number_sentences(with_neighbours(index, found.hits, settings.window))
        raw = "".join(generate(llm, build_messages(settings.prompts_dir, shown, q.question, q.language)))
        by_n = {item.n: item for item in shown}
        for claim in split_claims(raw):
            for n in claim.markers:
                if n not in by_n:
                    continue
                sentence = by_n[n].sentence
                if "NO_ANSWER" in claim.text:
                    continue
                # supported = the claim states a gold fact and the sentence is one that states it
                claim_fact = any(facts_found(claim.text, [alts]) for alts in q.gold_facts)
                sentence_fact = sentence.id in gold_ids or any(facts_found(sentence.text, [alts]) for alts in q.gold_facts)
                label = claim_fact and sentence_fact
                cos = float(embedder.queries([claim.text])[0] @ embedder.passages([sentence.text])[0])
                numbers_ok = numbers(claim.text) <= numbers(sentence.text)
                pairs.append({"q": q.id, "claim": claim.text, "sentence": sentence.id, "cos": round(cos, 4),
                              "numbers_ok": numbers_ok, "label": bool(label)})
    best_t, best_f1 = 0.0, -1.0
    for t in np.arange(0.70, 0.96, 0.005):
        pred = [p["cos"] >= t and p["numbers_ok"] for p in pairs]
        tp = sum(1 for p, y in zip(pred, pairs) if p and y["label"])
        fp = sum(1 for p, y in zip(pred, pairs) if p and not y["label"])
        fn = sum(1 for p, y in zip(pred, pairs) if not p and y["label"])
        f1 = 2 * tp / max(1, 2 * tp + fp + fn)
        if f1 > best_f1:
            best_t, best_f1 = float(round(t, 3)), f1
    return {"pairs": pairs, "threshold": best_t, "f1": round(best_f1, 3),
            "positives": sum(p["label"] for p in pairs), "negatives": sum(not p["label"] for p in pairs)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--out", default=str(ROOT / "eval" / "tuning.json"))
    parser.add_argument("--skip-support", action="store_true")
    parser.add_argument("--support-only", action="store_true")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="kutip-tune-"))
    try:
        settings = Settings(data_dir=data_dir, llm=args.model)
        articles_list = load_corpus(settings.corpus_dir)
        articles = {a.id: a for a in articles_list}
        index = SentenceIndex(settings)
        index.ingest(articles_list)
        dev = load_questions(split="dev")
        result = {"model": args.model, "dev_questions": len(dev)}
        if args.support_only and Path(args.out).is_file():
            result = json.loads(Path(args.out).read_text())
        else:
            result["bm25"] = tune_bm25(index, settings, dev, articles)
            print("BM25 weight:", result["bm25"]["best"], flush=True)
            result["abstain"] = tune_abstain(index, settings.model_copy(update={
                "bm25_weight_id": result["bm25"]["best"]["id"], "bm25_weight_en": result["bm25"]["best"]["en"]}), dev)
            print("abstain threshold:", result["abstain"]["threshold"], "unanswerable abstained:", result["abstain"]["unanswerable_abstained"])
            print("  answerable top cosines:", result["abstain"]["answerable"])
            print("  unanswerable top cosines:", result["abstain"]["unanswerable"], flush=True)
        settings = settings.model_copy(update={
            "bm25_weight_id": result["bm25"]["best"]["id"], "bm25_weight_en": result["bm25"]["best"]["en"]})
        if not args.skip_support:
            result["support"] = tune_support(index, settings, dev, articles)
            result["support_model"] = args.model
            print("support threshold:", result["support"]["threshold"], "F1", result["support"]["f1"],
                  f"({result['support']['positives']} supporting / {result['support']['negatives']} not)")
        Path(args.out).write_text(json.dumps(result, indent=2, ensure_ascii=False))
        print("written", args.out)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
