"""Session 16: P(none) of each prompt variant, reading only (``evaluation/tune_read.py`` records):
AUC between near-miss and answerable questions, and the threshold rule's operating point (the
lowest threshold at which false abstention stays within 0.07) on id-dev, with the same threshold
applied to the dev split.

Usage: python eval/results/session16/pilot_table.py base.json rule.json example.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from evaluation.tune_read import auc


def p_none(row: dict) -> float:
    return next(iter(row["reads"].values()))["probs"].get("none", 0.0)


def rates(rows: list[dict], t: float) -> tuple[float, float]:
    pos = [p_none(r) >= t for r in rows if not r["answerable"]]
    neg = [p_none(r) >= t for r in rows if r["answerable"]]
    return sum(pos) / max(1, len(pos)), sum(neg) / max(1, len(neg))


def rule(rows: list[dict], limit: float = 0.07) -> float:
    for t in sorted({round(p_none(r), 4) for r in rows}):
        if t > 0 and rates(rows, t)[1] <= limit:
            return t
    return 1.0


print("| variant | set | questions (near-miss) | P(none) AUC | median P(none) answerable / near-miss | rule threshold (id-dev) | near-miss abstained | answerable abstained |")
print("|---|---|---|---|---|---|---|---|")
for path in sys.argv[1:]:
    rows = json.loads(Path(path).read_text())
    sets = {"id-dev": [r for r in rows if r["set"] == "id-dev"], "dev": [r for r in rows if r["set"] != "id-dev"]}
    t = rule(sets["id-dev"])
    for name, subset in sets.items():
        pos = sorted(p_none(r) for r in subset if not r["answerable"])
        neg = sorted(p_none(r) for r in subset if r["answerable"])
        u, f = rates(subset, t)
        print(
            f"| {Path(path).stem} | {name} | {len(subset)} ({len(pos)}) | {auc(pos, neg)} | "
            f"{neg[len(neg) // 2]:.3f} / {pos[len(pos) // 2]:.3f} | {t:.4f} | {u:.3f} | {f:.3f} |"
        )
