"""Session 14: two-part questions read part by part (``answer_parts``). Prints from saved reports:

1. the dev and test splits with ``answer_parts`` off and on, run one after the other on one
   machine (overall and the multi_sentence category), and the answers that changed;
2. the nine two-part questions of both splits asked alone, in one order: off, the variant not
   kept (each part's choice first, capped at 4), the landed one (each part's choice added);
3. the 0.5B on both splits, off and on;
4. the plain llama-index peer on the test split's multi_sentence questions.

    python eval/results/session14/parts_table.py   (from the project root; saved as parts_table.txt)
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
KEYS = [
    "fact_recall", "fact_and_cited", "citation_recall", "citation_precision", "abstention_recall",
    "false_abstention_rate", "first_token_p50_s", "total_p50_s", "total_p95_s",
]  # fmt: skip


def load(name: str) -> dict:
    return json.loads((HERE / name / "report.json").read_text(encoding="utf-8"))


def records(name: str) -> dict[str, dict]:
    return {x["id"]: x for x in load(name)["records"]["kutip"]}


def splits() -> None:
    for split in ("dev", "test"):
        off, on = load(f"off-{split}-06"), load(f"parts-{split}-06")
        print(f"## {split} split, P(none) 0.06: answer_parts off (off-{split}-06) -> on (parts-{split}-06)")
        for scope in ("overall", "multi_sentence"):
            a = (
                off["systems"]["kutip"]["overall"]
                if scope == "overall"
                else off["systems"]["kutip"]["by_category"][scope]
            )
            b = (
                on["systems"]["kutip"]["overall"]
                if scope == "overall"
                else on["systems"]["kutip"]["by_category"][scope]
            )
            print(f"  {scope} ({b['questions']} questions)")
            for k in KEYS:
                if a.get(k) is not None or b.get(k) is not None:
                    print(f"    {k:24s} {a.get(k)!s:>7} -> {b.get(k)!s:>7}")
        ra, rb = records(f"off-{split}-06"), records(f"parts-{split}-06")
        for qid, y in rb.items():
            x = ra[qid]
            if x["answer"] != y["answer"]:
                print(
                    f"  changed {qid}: fact {bool(x['fact_hit'])}->{bool(y['fact_hit'])}, "
                    f"fact&cited {bool(x['fact_and_cited'])}->{bool(y['fact_and_cited'])}: {y['question']}"
                )


def nine() -> None:
    print("## the nine two-part questions asked alone, one order (F: fact, C: fact and gold sentence cited)")
    for name in ("parts-off-9", "prepend-on-9", "append-on-9"):
        r = records(name)
        marks = " ".join(
            f"{q}:{'F' if x['fact_hit'] else '-'}{'C' if x['fact_and_cited'] else '-'}" for q, x in r.items()
        )
        fact = sum(bool(x["fact_hit"]) for x in r.values())
        cited = sum(bool(x["fact_and_cited"]) for x in r.values())
        print(f"  {name:13s} fact {fact}, fact&cited {cited}  {marks}")
    off, on = records("parts-off-9"), records("append-on-9")
    extra = sorted(
        on[q]["first_token_s"] - off[q]["first_token_s"]
        for q in off
        if on[q]["first_token_s"] and off[q]["first_token_s"]
    )
    extra_total = sorted(on[q]["total_s"] - off[q]["total_s"] for q in off)
    print(
        f"  time the parts' readings add (append-on-9 - parts-off-9), median: first token {extra[len(extra) // 2]:+.2f} s,"
        f" whole answer {extra_total[len(extra_total) // 2]:+.2f} s"
    )


def small() -> None:
    print("## the 0.5B at P(none) 0.15, answer_parts off -> on (s05-<split>-parts-false / -true)")
    for split in ("dev", "test"):
        a = load(f"s05-{split}-parts-false")["systems"]["kutip"]
        b = load(f"s05-{split}-parts-true")["systems"]["kutip"]
        for k in ("fact_recall", "fact_and_cited", "citation_precision", "abstention_recall", "first_token_p50_s"):
            print(f"  {split:4s} {k:24s} {a['overall'][k]!s:>7} -> {b['overall'][k]!s:>7}")
        k = "fact_recall"
        ms = "multi_sentence"
        print(f"  {split:4s} {ms + ' ' + k:24s} {a['by_category'][ms][k]!s:>7} -> {b['by_category'][ms][k]!s:>7}")


def peer() -> None:
    p = load("parts-test-multi-peer")
    print(
        "## test split, multi_sentence questions only: the plain llama-index peer (its run's kutip side was the variant not kept)"
    )
    for system, s in p["systems"].items():
        if system == "kutip":
            continue
        o = s["overall"]
        print(
            f"  {system:12s} questions {o['questions']}, fact_recall {o['fact_recall']}, "
            f"fact_and_cited {o['fact_and_cited']}, citation_precision {o['citation_precision']}, "
            f"total_p50_s {o['total_p50_s']}"
        )


if __name__ == "__main__":
    splits()
    nine()
    small()
    peer()
