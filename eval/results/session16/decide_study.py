"""Session 16: can a decision that weighs several signals of the reading abstain on more
near-miss questions than P(none) alone, at the same false abstention, on *both* dev sets?

Offline, on saved runs at P(none) 1 (every answer written and checked): each record's reading is
rebuilt from its ``considered`` and the index (``evaluation.ablate_check.reading_of``), re-checked
with today's check, and described by general signals (no word list, no corpus-specific rule):

- ``logit_none``: logit of P(none);
- ``p_top``: the chosen sentence's share of the renormalised choice;
- ``cover_sentence`` / ``cover_article``: share of the question's content stems found in the
  chosen sentence / its article (same language only; 1 when the languages differ);
- ``missing_rare``: question content stems found nowhere in the indexed corpus (an entity or a
  word the corpus never uses: "Palepo" for "Palopo");
- ``type_miss``: a how-many / when question whose chosen sentence states no figure / no time.

Usage: python eval/results/session16/decide_study.py ID_DEV_REPORT DEV_REPORT [PMI_ID_DEV PMI_DEV]
(saved: decide_study.txt, on session 12's fn-iddev-tau1 and s15-dev-tau1 with question_pmi.py's pmi-*.json)
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

from evaluation.ablate_check import reading_of, recheck
from evaluation.evalset import load_questions, settings_for
from evaluation.evaluate import Record
from evaluation.tune_read import auc as pairwise_auc
from rag.check import RULES
from rag.index import SentenceIndex
from rag.query import parse_query
from rag.settings import Settings
from rag.text import holds_figure, holds_time, stems

FEATURES = ["logit_none", "p_top", "cover_sentence", "cover_article", "missing_rare", "type_miss"]
PMI = ["pmi_sum", "pmi_mean", "pmi_min", "pmi_neg", "lp_given"]


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def rows_for(report_path: Path, questions_path: Path, split: str, pmi_path: Path | None = None) -> list[dict]:
    settings = settings_for(questions_path, Settings())
    index = SentenceIndex(settings)
    questions = {q.id: q for q in load_questions(questions_path, split)}
    report = json.loads(report_path.read_text())
    articles: dict[str, set[str]] = {}
    rows = []
    for raw in report["records"]["kutip"]:
        rec = Record.model_validate(raw)
        q = questions[rec.id]
        if q.history:
            continue
        query = parse_query(q.question)
        reading = reading_of(rec, index, settings) if rec.considered else None
        if reading is None or not reading.chosen:
            rows.append({"id": rec.id, "answerable": rec.answerable, "pre": True, "rec": rec})
            continue
        checked = recheck(rec, q, reading, RULES) if rec.written is not None else rec
        top = reading.candidate(reading.chosen[0]).sentence
        if top.article_id not in articles:
            articles[top.article_id] = set(
                stems(" ".join(s.text for s in index.article_sentences(top.article_id)), language=top.language)
            )
        asked = set(stems(query.standalone, language=query.language))
        same = top.language == query.language
        in_sentence = set(stems(top.text, language=top.language))
        rows.append(
            {
                "id": rec.id,
                "answerable": rec.answerable,
                "pre": False,
                "rec": checked,
                "asked": asked,
                "same": same,
                "article": top.article_id,
                "lang": query.language,
                "f": {
                    "logit_none": logit(reading.p_none),
                    "p_top": reading.probs.get(reading.chosen[0], 0.0) / max(1e-9, 1 - reading.p_none),
                    "cover_sentence": len(asked & in_sentence) / len(asked) if same and asked else 1.0,
                    "cover_article": len(asked & articles[top.article_id]) / len(asked) if same and asked else 1.0,
                    "type_miss": float(
                        query.asks == "figure"
                        and not holds_figure(top.text)
                        or query.asks == "time"
                        and not holds_time(top.text)
                    ),
                },
            }
        )
    # rare: stems of the question in no article of the corpus (same language only)
    corpus_stems: set[str] = set()
    for _, text, meta in index.store.rows():
        corpus_stems.update(stems(text, language=meta.get("language", "id")))
    for r in rows:
        if r["pre"]:
            continue
        r["f"]["missing_rare"] = float(len(r["asked"] - corpus_stems)) if r["same"] else 0.0
    pmi = json.loads(pmi_path.read_text()) if pmi_path else {}
    for r in rows:
        if not r["pre"]:
            r["f"].update(pmi.get(r["id"], dict.fromkeys(PMI, 0.0)))
    return rows


def outcome(rows: list[dict], abstain: list[bool]) -> dict[str, float]:
    ans = [(r, a) for r, a in zip(rows, abstain, strict=True) if r["answerable"]]
    una = [(r, a) for r, a in zip(rows, abstain, strict=True) if not r["answerable"]]
    return {
        "unanswerable_abstained": sum(a or r["rec"].abstained for r, a in una) / max(1, len(una)),
        "wrongly_abstained": sum(a or r["rec"].abstained for r, a in ans) / max(1, len(ans)),
        "fact_and_cited": sum(bool(not a and not r["rec"].abstained and r["rec"].fact_and_cited) for r, a in ans)
        / max(1, len(ans)),
    }


def matrix(rows: list[dict], names: list[str]) -> np.ndarray:
    return np.array([[r["f"][n] for n in names] for r in rows if not r["pre"]], dtype=float)


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 3000) -> np.ndarray:
    """Weights (last = bias) of an L2-regularised logistic regression, by gradient descent on
    standardised features (the returned weights apply to raw features)."""
    mu, sd = x.mean(0), x.std(0) + 1e-9
    z = np.hstack([(x - mu) / sd, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-z @ w))
        grad = z.T @ (p - y) / len(y) + l2 * np.r_[w[:-1], 0] / len(y)
        w -= 0.5 * grad
    raw = w[:-1] / sd
    return np.r_[raw, w[-1] - (w[:-1] * mu / sd).sum()]


def score(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    return x @ w[:-1] + w[-1]


def at_false_rate(rows: list[dict], scores: np.ndarray, limit: float = 0.07) -> tuple[float, dict]:
    """The lowest threshold (on the decision score) whose false abstention stays within ``limit``."""
    live = [r for r in rows if not r["pre"]]
    best = (math.inf, outcome(rows, [False] * len(rows)))
    for t in sorted(set(np.round(scores, 6))):
        abstain_live = {id(r): s >= t for r, s in zip(live, scores, strict=True)}
        decision = [abstain_live.get(id(r), False) for r in rows]
        o = outcome(rows, decision)
        if o["wrongly_abstained"] <= limit:
            return t, o
    return best


def apply(rows: list[dict], scores: np.ndarray, t: float) -> dict:
    live = [r for r in rows if not r["pre"]]
    abstain_live = {id(r): s >= t for r, s in zip(live, scores, strict=True)}
    return outcome(rows, [abstain_live.get(id(r), False) for r in rows])


def auc(rows: list[dict], scores: np.ndarray) -> float:
    """``evaluation.tune_read.auc`` of near-miss against answerable questions on ``scores``."""
    live = [r for r in rows if not r["pre"]]
    pos = [s for r, s in zip(live, scores, strict=True) if not r["answerable"]]
    neg = [s for r, s in zip(live, scores, strict=True) if r["answerable"]]
    return pairwise_auc(pos, neg) or 0.0


def main() -> None:
    pmi = [Path(p) for p in sys.argv[3:5]] if len(sys.argv) > 4 else [None, None]
    iddev = rows_for(Path(sys.argv[1]), Path("../shared/bench/id-dev"), "all", pmi[0])
    dev = rows_for(Path(sys.argv[2]), Path("eval/questions.yaml"), "dev", pmi[1])
    features = FEATURES + (PMI if pmi[0] else [])
    print("single features, AUC (unanswerable scored higher = abstain)")
    for name in features:
        sign = -1 if name in ("p_top", "cover_sentence", "cover_article", *PMI) else 1
        print(
            f"  {name:15s} id-dev {auc(iddev, sign * matrix(iddev, [name])[:, 0]):.3f}"
            f"  dev {auc(dev, sign * matrix(dev, [name])[:, 0]):.3f}"
        )
    base_i = matrix(iddev, ["logit_none"])[:, 0]
    base_d = matrix(dev, ["logit_none"])[:, 0]
    t, o = at_false_rate(iddev, base_i)
    print(f"P(none) alone: id-dev threshold {1 / (1 + math.exp(-t)):.3f} -> {o}; dev -> {apply(dev, base_d, t)}")
    live = [r for r in iddev if not r["pre"]]
    y = np.array([0.0 if r["answerable"] else 1.0 for r in live])
    for names in (
        ["logit_none", "cover_sentence"],
        ["logit_none", "cover_article"],
        ["logit_none", "missing_rare"],
        ["logit_none", "type_miss"],
        ["logit_none", "p_top"],
        ["logit_none", "cover_article", "missing_rare"],
        FEATURES,
        *([["logit_none", p] for p in PMI] + [["logit_none", "pmi_sum", "pmi_min"], features] if pmi[0] else []),
    ):
        x = matrix(iddev, names)
        # 5-fold cross-validated scores on id-dev
        folds = np.arange(len(live)) % 5
        cv = np.zeros(len(live))
        for k in range(5):
            w = fit_logistic(x[folds != k], y[folds != k])
            cv[folds == k] = score(x[folds == k], w)
        w = fit_logistic(x, y)
        t, o = at_false_rate(iddev, cv)
        tf, _ = at_false_rate(iddev, score(x, w))
        print(f"{'+'.join(names)}: weights {np.round(w, 3).tolist()}")
        print(f"   id-dev AUC cv {auc(iddev, cv):.3f}; at <=0.07 false (cv scores) {o}")
        print(f"   dev AUC {auc(dev, score(matrix(dev, names), w)):.3f}; at id-dev's threshold {apply(dev, score(matrix(dev, names), w), tf)}")


if __name__ == "__main__":
    main()
