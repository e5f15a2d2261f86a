"""Session 15: a how-many question's other figures of the same thing (``differing_figures``).
Prints from saved reports, for id-dev, the dev split and the test split: the figures with the
rule off (the landed code before it: session 12's id-dev run, session 14's splits; quality has
reproduced exactly across machines, README session 12) and on (this session), every answer that
changed, and the disagreement category.

    python eval/results/session15/differ_table.py   (from the project root; saved as differ_table.txt)
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent
KEYS = [
    "fact_recall", "fact_and_cited", "citation_recall", "citation_precision", "abstention_recall",
    "false_abstention_rate", "first_token_p50_s", "total_p50_s", "total_p95_s",
]  # fmt: skip
RUNS = {
    "id-dev": ("session12/fn-iddev-06", "session15/final-iddev-06"),
    "dev": ("session14/parts-dev-06", "session15/final-dev-06"),
    "test (held out)": ("session14/parts-test-06", "session15/final-test-06"),
}


def load(name: str) -> dict:
    return json.loads((RESULTS / name / "report.json").read_text(encoding="utf-8"))


def main() -> None:
    for label, (off_name, on_name) in RUNS.items():
        if not (RESULTS / on_name / "report.json").exists():
            print(f"## {label}: {on_name} not run")
            continue
        off, on = load(off_name), load(on_name)
        print(f"## {label}, P(none) 0.06: off ({off_name}) -> on ({on_name})")
        scopes = ["overall"] + (["disagreement"] if "disagreement" in on["systems"]["kutip"]["by_category"] else [])
        for scope in scopes:
            a, b = (
                r["systems"]["kutip"]["overall"] if scope == "overall" else r["systems"]["kutip"]["by_category"][scope]
                for r in (off, on)
            )
            print(f"  {scope} ({b['questions']} questions)")
            for k in KEYS:
                if a.get(k) is not None or b.get(k) is not None:
                    print(f"    {k:24s} {a.get(k)!s:>7} -> {b.get(k)!s:>7}")
        before = {x["id"]: x for x in off["records"]["kutip"]}
        for y in on["records"]["kutip"]:
            x = before[y["id"]]
            # Session 12 wrote its abstentions as "(abstained: P(none) = …)", later runs as the
            # user sees them; two abstentions are the same answer.
            same_abstention = x["abstained"] and y["abstained"]
            if not same_abstention and (x["answer"] != y["answer"] or x["cited_ids"] != y["cited_ids"]):
                print(
                    f"  changed {y['id']} ({'answerable' if y['answerable'] else 'unanswerable'}): "
                    f"abstained {x['abstained']}->{y['abstained']}, fact {bool(x['fact_hit'])}->{bool(y['fact_hit'])}, "
                    f"fact&cited {bool(x['fact_and_cited'])}->{bool(y['fact_and_cited'])}, "
                    f"cited {len(x['cited_ids'])}->{len(y['cited_ids'])}: {y['question']}"
                )


if __name__ == "__main__":
    main()
