"""Per-question outcomes of two reports of the same questions (each already at its threshold):
right / wrong / abstained for answerable questions, abstained / answered for near-misses.
Usage: python compare_outcomes.py BEFORE/report.json AFTER/report.json"""
import collections
import json
import sys


def outcome(r):
    if r["answerable"]:
        return "abstained" if r["abstained"] else ("right" if r["fact_and_cited"] else "wrong")
    return "abstained" if r["abstained"] else "answered"


before, after = ({r["id"]: r for r in json.load(open(p))["records"]["kutip"]} for p in sys.argv[1:3])
moves = collections.Counter()
for qid, a in before.items():
    b = after[qid]
    if outcome(a) != outcome(b):
        kind = "answerable" if a["answerable"] else "near-miss"
        moves[(kind, outcome(a), outcome(b))] += 1
        print(qid, kind, outcome(a), "->", outcome(b), "|", a["question"][:50], "|", (a["written"] or "")[:50], "=>", (b["written"] or "")[:50])
for (kind, was, now), n in sorted(moves.items()):
    print(f"{kind:10s} {was:9s} -> {now:9s} {n}")
print("changed", sum(moves.values()), "of", len(before))
