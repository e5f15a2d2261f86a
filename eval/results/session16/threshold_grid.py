"""Session 16: the P(none) threshold rule (the lowest threshold at which id-dev's false abstention
stays within 0.07) re-applied on a fine grid to the runs of the landed code (session 15, at 0.06).
Below the run's own threshold the outcome at any threshold is exact: a question whose recorded
P(none) reaches it is abstained on before writing, everything else is as recorded.

Usage: python eval/results/session16/threshold_grid.py REPORT.json [...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def at(records: list[dict], t: float) -> tuple[float, float, float, int, int]:
    ans = [r for r in records if r["answerable"]]
    una = [r for r in records if not r["answerable"]]

    def abstains(r: dict) -> bool:
        return r["abstained"] or (r["p_none"] is not None and r["p_none"] >= t)

    return (
        sum(map(abstains, una)) / len(una),
        sum(map(abstains, ans)) / len(ans),
        sum(1 for r in ans if not abstains(r) and r["fact_and_cited"]) / len(ans),
        len(una),
        len(ans),
    )


for path in sys.argv[1:]:
    report = json.loads(Path(path).read_text())
    records = [r for r in report["records"]["kutip"] if not r.get("error")]
    ran_at = report["settings"]["none_threshold"] or report["none_threshold"]  # unset: the model's own
    print(f"{path} (run at P(none) {ran_at})")
    print("  threshold  unanswerable abstained  answerable wrongly abstained  fact and cited")
    for step in range(0, 41):
        t = round(0.02 + step * 0.001, 3)
        if t > ran_at:
            break
        u, f, fc, nu, na = at(records, t)
        print(f"  {t:.3f}      {u:.3f} (of {nu})            {f:.3f} (of {na})                {fc:.3f}")
