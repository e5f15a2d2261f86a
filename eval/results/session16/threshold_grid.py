"""Session 16: the P(none) threshold rule (the lowest threshold at which id-dev's false abstention
stays within 0.07) re-applied on a fine grid to the runs of the landed code (session 15, at 0.06).
Below the run's own threshold the outcome at any threshold is exact: a question whose recorded
P(none) reaches it is abstained on before writing, everything else is as recorded
(``evaluation.evaluate.curve`` on a 0.001 grid).

Usage: python eval/results/session16/threshold_grid.py REPORT.json [...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from evaluation.evaluate import Record, curve

for path in sys.argv[1:]:
    report = json.loads(Path(path).read_text())
    records = [Record.model_validate(r) for r in report["records"]["kutip"] if not r.get("error")]
    ran_at = report["settings"]["none_threshold"] or report["none_threshold"]  # unset: the model's own
    grid = tuple(t for t in (round(0.02 + step * 0.001, 3) for step in range(41)) if t <= ran_at)
    unanswerable = sum(not r.answerable for r in records)
    answerable = len(records) - unanswerable
    print(f"{path} (run at P(none) {ran_at})")
    print("  threshold  unanswerable abstained  answerable wrongly abstained  fact and cited")
    for row in curve(records, grid):
        print(
            f"  {row['none_threshold']:.3f}      {row['abstention_recall']:.3f} (of {unanswerable})"
            f"            {row['false_abstention_rate']:.3f} (of {answerable})"
            f"                {row['fact_and_cited']:.3f}"
        )
