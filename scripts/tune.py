"""Tune kutip's thresholds on the *dev* split of eval/questions.yaml (the test split stays held out).

    .venv/bin/python scripts/tune.py [--model qwen2.5-coder-0.5b] [--out eval/tuning.json]

0. The refers-back rule: dense retrieval of gold sentences when sentences with a demonstrative or
   pronoun among their first N words get a second vector (previous sentence + sentence), either
   replacing their own or taking the larger cosine of the two (what rag.index does).
1. BM25 weight in the fusion per question language: recall@5 / MRR of gold sentences; and how many
   fused hits to show the model (top_k): share of questions with any / all gold sentences shown.
2. Abstention threshold: top dense cosine of answerable vs unanswerable dev questions; the value
   that abstains on the most unanswerable questions while wrongly abstaining on ≤ 5% of answerable ones.
3. Support: each model answers the answerable dev questions with the citation check disabled; each
   (claim, cited sentence) pair is labelled by the automatic judge (the claim states a gold fact and
   the sentence is a gold sentence or contains one); the absolute threshold and the margin to the
   best-supported shown sentence with the best F1 on that label are chosen.
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
from rag.cite import CitationChecker, _allowed_numbers, split_claims  # noqa: E402
from rag.corpus import load_corpus  # noqa: E402
from rag.evalset import facts_found, load_questions, resolve_gold  # noqa: E402
from rag.index import SentenceIndex  # noqa: E402
from rag.models import get_embedder, get_llm  # noqa: E402
from rag.retrieve import retrieve, with_neighbours  # noqa: E402
from rag.settings import Settings  # noqa: E402
from rag.text import numbers  # noqa: E402


def tune_context_rule(articles_list, questions, articles) -> dict:
    """Dense-only retrieval of the gold sentences under each variant of the refers-back rule."""
    from rag.text import refers_back, with_antecedent

    embedder = get_embedder()
    sentences = [(a, s) for a in articles_list for s in a.sentences]
    ids = [s.id for _, s in sentences]
    own = embedder.passages([s.text for _, s in sentences])
    joined = embedder.passages([with_antecedent(a.sentences[s.index - 1].text, s.text) if s.index else s.text for a, s in sentences])
    qs = [q for q in questions if q.answerable and not q.history]
    qvecs = embedder.queries([q.question for q in qs])
    results = {}
    for n in (0, 3, 5, 8):
        flagged = np.array([n > 0 and s.index > 0 and refers_back(s.text, n) for _, s in sentences])
        for mode in ("replace", "max") if n else ("none",):
            ranks = []
            for q, qv in zip(qs, qvecs):
                base = own @ qv
                scores = np.where(flagged, joined @ qv if mode == "replace" else np.maximum(base, joined @ qv), base)
                order = [ids[i] for i in np.argsort(-scores)]
                gold = set(resolve_gold(q, articles))
                ranks.append(next((i + 1 for i, sid in enumerate(order) if sid in gold), 10**6))
            r = np.array(ranks)
            results[f"first{n}:{mode}"] = {"flagged": int(flagged.sum()), "recall@1": round(float(np.mean(r <= 1)), 3),
                                           "recall@3": round(float(np.mean(r <= 3)), 3), "recall@5": round(float(np.mean(r <= 5)), 3),
                                           "mrr": round(float(np.mean(1 / r)), 3)}
    return results


def tune_top_k(index, settings, questions, articles) -> dict:
    """Gold sentences among the first k fused hits, k = 2..6 (every shown sentence costs prompt time)."""
    qs = [q for q in questions if q.answerable and not q.history]
    rows = {}
    hits = {q.id: [h.sentence.id for h in retrieve(index, q.question, settings, top_k=6).hits] for q in qs}
    for k in range(2, 7):
        any_gold = [bool(set(resolve_gold(q, articles)) & set(hits[q.id][:k])) for q in qs]
        all_gold = [set(resolve_gold(q, articles)) <= set(hits[q.id][:k]) for q in qs]
        rows[str(k)] = {"any_gold": round(float(np.mean(any_gold)), 3), "all_gold": round(float(np.mean(all_gold)), 3)}
    return rows


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


def tune_support(index, settings, questions, articles, models: list[str]) -> dict:
    """Label (claim, cited sentence) pairs from each model's unchecked answers to the answerable dev
    questions, then pick the absolute threshold and the margin to the best-supported shown sentence
    with the best F1 (numbers must match in either case, as in rag.cite)."""
    embedder = get_embedder()
    checker = CitationChecker(embedder, settings.support_threshold)  # no margin: the raw cosines are tuned
    pairs = []
    for model in models:
        llm = get_llm(settings.model_copy(update={"llm": model}))
        for q in questions:
            if not q.answerable or q.history:
                continue
            gold_ids = set(resolve_gold(q, articles))
            found = retrieve(index, q.question, settings)
            shown = number_sentences(with_neighbours(index, found.hits, settings.window))
            raw = "".join(generate(llm, build_messages(settings.prompts_dir, shown, q.question, q.language)))
            claims = [c for c in split_claims(raw) if "NO_ANSWER" not in c.text and c.markers]
            if not claims:
                continue
            cos, _ = checker.support_matrix([c.text for c in claims], shown, q.question)
            by_n = {item.n: j for j, item in enumerate(shown)}
            for i, claim in enumerate(claims):
                numbers_ok = [numbers(claim.text) <= _allowed_numbers(item) for item in shown]
                best = max((cos[i, j] for j in range(len(shown)) if numbers_ok[j]), default=0.0)
                claim_fact = any(facts_found(claim.text, [alts]) for alts in q.gold_facts)
                for n in claim.markers:
                    if n not in by_n:
                        continue
                    j = by_n[n]
                    sentence = shown[j].sentence
                    sentence_fact = sentence.id in gold_ids or any(facts_found(sentence.text, [alts]) for alts in q.gold_facts)
                    pairs.append({"model": model, "q": q.id, "claim": claim.text, "sentence": sentence.id,
                                  "cos": round(float(cos[i, j]), 4), "best": round(float(best), 4),
                                  "numbers_ok": numbers_ok[j], "label": bool(claim_fact and sentence_fact)})
    grid = []
    for t in np.arange(0.70, 0.96, 0.005):
        for margin in (None, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.10):
            pred = [p["numbers_ok"] and p["cos"] >= t and (margin is None or p["cos"] >= p["best"] - margin) for p in pairs]
            tp = sum(1 for p, y in zip(pred, pairs) if p and y["label"])
            fp = sum(1 for p, y in zip(pred, pairs) if p and not y["label"])
            fn = sum(1 for p, y in zip(pred, pairs) if not p and y["label"])
            grid.append({"threshold": round(float(t), 3), "margin": margin, "f1": round(2 * tp / max(1, 2 * tp + fp + fn), 3),
                         "precision": round(tp / max(1, tp + fp), 3), "recall": round(tp / max(1, tp + fn), 3)})
    # best F1; among ties the highest precision, then the loosest threshold (the middle of a plateau is no better known)
    best = max(grid, key=lambda g: (g["f1"], g["precision"], -g["threshold"]))
    no_margin = max((g for g in grid if g["margin"] is None), key=lambda g: (g["f1"], g["precision"], -g["threshold"]))
    return {"pairs": pairs, "best": best, "best_without_margin": no_margin,
            "positives": sum(p["label"] for p in pairs), "negatives": sum(not p["label"] for p in pairs)}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--models", default="qwen2.5-coder-1.5b,qwen2.5-coder-0.5b", help="whose answers label the support pairs")
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
            result["context_rule"] = tune_context_rule(articles_list, dev, articles)
            for name, row in result["context_rule"].items():
                print(f"refers-back {name}: {row}", flush=True)
            result["bm25"] = tune_bm25(index, settings, dev, articles)
            print("BM25 weight:", result["bm25"]["best"], flush=True)
            result["top_k"] = tune_top_k(index, settings, dev, articles)
            print("gold sentences among the first k hits:", result["top_k"], flush=True)
            result["abstain"] = tune_abstain(index, settings.model_copy(update={
                "bm25_weight_id": result["bm25"]["best"]["id"], "bm25_weight_en": result["bm25"]["best"]["en"]}), dev)
            print("abstain threshold:", result["abstain"]["threshold"], "unanswerable abstained:", result["abstain"]["unanswerable_abstained"])
            print("  answerable top cosines:", result["abstain"]["answerable"])
            print("  unanswerable top cosines:", result["abstain"]["unanswerable"], flush=True)
        settings = settings.model_copy(update={
            "bm25_weight_id": result["bm25"]["best"]["id"], "bm25_weight_en": result["bm25"]["best"]["en"]})
        if not args.skip_support:
            result["support"] = tune_support(index, settings, dev, articles, args.models.split(","))
            print("support:", result["support"]["best"], "without a margin:", result["support"]["best_without_margin"],
                  f"({result['support']['positives']} supporting / {result['support']['negatives']} not)")
        Path(args.out).write_text(json.dumps(result, indent=2, ensure_ascii=False))
        print("written", args.out)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
