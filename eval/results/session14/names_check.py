"""Offline check (session 14, not built): question names (capitalised words other than the first,
and figures) missing from the article of the sentence the model chose, as an abstention signal.

    python eval/results/session14/names_check.py eval/results/session12/fn-iddev-tau1/report.json \\
        ../shared/bench/id-dev/corpus eval/results/session12/fn-iddev-06/report.json

Prints how many answerable and unanswerable questions it flags, the flagged questions, and the
abstentions and fact-and-cited answers with the signal added to P(none) 0.06 (saved: names_check.txt).
P(none) alone at other thresholds, for the comparison: the curve in fn-iddev-tau1's report.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

QUESTION_WORDS = {
    "apa", "apakah", "siapa", "siapakah", "kapan", "kapankah", "dimana", "dimanakah", "di", "mana",
    "berapa", "berapakah", "bagaimana", "mengapa", "kenapa", "manakah", "dari", "pada", "yang",
}  # fmt: skip


def names(question: str) -> list[str]:
    tokens = re.findall(r"[\w'’\-]+", question)
    return [
        t
        for i, t in enumerate(tokens)
        if i > 0 and t.lower() not in QUESTION_WORDS and (t[0].isupper() or any(c.isdigit() for c in t))
    ]


def records(path: str) -> list[dict]:
    return json.loads(Path(path).read_text(encoding="utf-8"))["records"]["kutip"]


def main() -> None:
    texts = {p.stem: p.read_text(encoding="utf-8").lower() for p in Path(sys.argv[2]).iterdir() if p.is_file()}
    counts = {True: [0, 0], False: [0, 0]}
    flagged: list[tuple[bool, str, list[str], str]] = []
    for x in records(sys.argv[1]):
        chosen = [c for c in x["considered"] if c.get("chosen")] or sorted(x["considered"], key=lambda c: -c["p"])[:1]
        if not chosen:
            continue
        article = " ".join(texts.get(c["id"].split(":")[0], "") for c in chosen)
        missing = [n for n in names(x["question"]) if n.lower() not in article]
        counts[x["answerable"]][0] += 1
        if missing:
            counts[x["answerable"]][1] += 1
            flagged.append((x["answerable"], x["id"], missing, x["question"]))
    print(f"answerable: flagged {counts[True][1]} of {counts[True][0]}")
    print(f"unanswerable: flagged {counts[False][1]} of {counts[False][0]}")
    for row in flagged:
        print(row)
    if len(sys.argv) > 3:  # the effect at the landed threshold: a report rescored at 0.06
        at = records(sys.argv[3])
        ids = {r[1] for r in flagged}
        for answerable in (True, False):
            xs = [x for x in at if x["answerable"] == answerable]
            before = sum(x["abstained"] for x in xs)
            after = sum(x["abstained"] or x["id"] in ids for x in xs)
            fc0 = sum(bool(x["fact_and_cited"]) for x in xs)
            fc1 = sum(bool(x["fact_and_cited"]) and x["id"] not in ids for x in xs)
            kind = "answerable" if answerable else "unanswerable"
            print(f"{kind} n {len(xs)} abstained {before} -> {after} fact&cited {fc0} -> {fc1}")


if __name__ == "__main__":
    main()
