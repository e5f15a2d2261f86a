"""Two checks on saved reports, no model runs (session 13).

1. The retrieval-rank prior's weight: how often the calibrated first choice is a gold sentence,
   among answerable questions with a gold candidate, at each weight.
2. Whether the 0.5B's P(none) adds to the 1.5B's: AUC of a log-linear mix (questions both read).

usage: python eval/results/session13/offline_checks.py  (from the project root; prints offline_checks.txt)
"""

import json
import math

S12, S11 = "eval/results/session12", "eval/results/session11"


def records(path: str) -> dict[str, dict]:
    return {r["id"]: r for r in json.load(open(path))["records"]["kutip"]}


def auc(pos: list[float], neg: list[float]) -> float:
    return sum((a > b) + 0.5 * (a == b) for a in pos for b in neg) / (len(pos) * len(neg))


for name in ("fn-iddev-06", "s15-dev-06"):
    answerable = [r for r in records(f"{S12}/{name}/report.json").values() if r["answerable"]]
    with_gold = [r for r in answerable if any(c["gold"] for c in r["considered"])]
    row = []
    for weight in (0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0):
        first = [
            max(r["considered"], key=lambda c: math.log(max(c["p"], 1e-12)) - weight * math.log(c["rank"] + 1))
            for r in with_gold
        ]
        row.append(f"{weight}:{sum(c['gold'] for c in first)}")
    print(f"rank prior, {name}: {len(with_gold)} with a gold candidate; gold first by weight", " ".join(row))


def mix_auc(b: dict[str, dict], s: dict[str, dict], ids: list[str], w: float) -> float:
    """AUC of (1 - w) log P(none) of the 1.5B + w log P(none) of the 0.5B."""

    def mix(i: str) -> float:
        return (1 - w) * math.log(b[i]["p_none"] + 1e-9) + w * math.log(s[i]["p_none"] + 1e-9)

    unanswerable = [mix(i) for i in ids if not b[i]["answerable"]]
    answerable = [mix(i) for i in ids if b[i]["answerable"]]
    return auc(unanswerable, answerable)


for big, small in (
    (f"{S12}/fn-iddev-tau1/report.json", f"{S12}/s05-iddev-tau1/report.json"),
    (f"{S12}/s15-dev-tau1/report.json", f"{S11}/s05-dev-tau1/report.json"),
):
    b, s = records(big), records(small)
    ids = [i for i in b if i in s and b[i]["p_none"] is not None and s[i]["p_none"] is not None]
    row = " ".join(f"{w}:{mix_auc(b, s, ids, w):.3f}" for w in (0, 0.25, 0.5, 0.75, 1.0))
    print(f"P(none) mix, {big.split('/')[-2]}: {len(ids)} questions; AUC by 0.5B weight", row)
