"""Session 16: the landed code at the new P(none) threshold (0.045), live runs on this session's
machine, beside session 15's live runs at 0.06 (another machine: an AMD EPYC, CPU family 25; this
one an Intel Xeon). Prints a Markdown table from the saved reports.

Usage: python eval/results/session16/live_table.py
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNS = {
    "id-dev 0.06 (s15)": HERE.parent / "session15/neighbours-iddev-06",
    "id-dev 0.045": HERE / "t045-iddev",
    "dev 0.06 (s15)": HERE.parent / "session15/neighbours-dev-06",
    "dev 0.045": HERE / "t045-dev",
    "test 0.06 (s15)": HERE.parent / "session15/neighbours-test-06",
    "test 0.045 (held out)": HERE / "t045-test",
}
ROWS = [
    ("fact recall", "fact_recall"),
    ("fact and its gold sentence cited", "fact_and_cited"),
    ("gold sentence cited", "citation_recall"),
    ("citation precision", "citation_precision"),
    ("unanswerable abstained", "abstention_recall"),
    ("answerable wrongly abstained", "false_abstention_rate"),
    ("first token p50 (s)", "first_token_p50_s"),
    ("whole answer p50 (s)", "total_p50_s"),
    ("whole answer p95 (s)", "total_p95_s"),
]

found = {name: path / "report.json" for name, path in RUNS.items() if (path / "report.json").is_file()}
overall = {name: json.loads(p.read_text())["systems"]["kutip"]["overall"] for name, p in found.items()}
print("| 1.5B | " + " | ".join(overall) + " |")
print("|---|" + "---|" * len(overall))
for label, key in ROWS:
    print(f"| {label} | " + " | ".join(f"{o.get(key)}" for o in overall.values()) + " |")
