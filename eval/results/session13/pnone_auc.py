"""P(none) as a separator of unanswerable from answerable questions, per report (session 13).

usage: python pnone_auc.py REPORT.json ...  (reports run at KUTIP_NONE_THRESHOLD=1)
Prints the AUC and, per threshold t, "t:abstained/false" counting only P(none) >= t (a question
that retrieval already gated, with no P(none), counts as 1.0); the reports' own abstention
figures also count the writer's refusals and the check, so they differ slightly.
"""

import json
import sys


def p_none(record: dict) -> float:
    return 1.0 if record["p_none"] is None else record["p_none"]


def auc(pos: list[float], neg: list[float]) -> float:
    return sum((a > b) + 0.5 * (a == b) for a in pos for b in neg) / (len(pos) * len(neg))


def share_at_least(values: list[float], threshold: float) -> float:
    return sum(v >= threshold for v in values) / len(values)


for path in sys.argv[1:]:
    records = json.load(open(path))["records"]["kutip"]
    unanswerable = [p_none(r) for r in records if not r["answerable"]]
    answerable = [p_none(r) for r in records if r["answerable"]]
    curve = " ".join(
        f"{t}:{share_at_least(unanswerable, t):.2f}/{share_at_least(answerable, t):.3f}"
        for t in (0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3)
    )
    print(path.split("/")[-2], "AUC", round(auc(unanswerable, answerable), 3), curve)
