"""Ablate the check's rules offline: each answer's record keeps what the model wrote and what it
read, so the check can be re-run on it with a rule left out, without running the model again.

``python -m evaluation.ablate_check REPORT.json --questions Q [--split S]`` prints, per variant
(all rules; each rule left out), the figures kutip would have had. A rule is kept only when
leaving it out costs on the dev sets.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rag.check import RULES, check
from rag.index import SentenceIndex
from rag.query import parse_query
from rag.read import LETTERS, Candidate, Reading, ReadingPolicy, calibrate
from rag.schema import Answer
from rag.settings import Settings

from .evalset import load_questions, settings_for
from .evaluate import MAIN_METRICS, Record, _score_answer, markdown_table, score_systems


def reading_of(record: Record, index: SentenceIndex, policy: ReadingPolicy) -> Reading | None:
    """The reading a record was written from, rebuilt from its ``considered`` and the index
    (ranked with ``policy``'s rank prior)."""
    ids = [c["id"] for c in record.considered]
    stored = index.get(ids)
    if len(stored) != len(ids):
        return None
    candidates = [
        Candidate(letter=LETTERS[i], sentence=stored[c["id"]], rank=c["rank"]) for i, c in enumerate(record.considered)
    ]
    probs = {LETTERS[i]: c["p"] for i, c in enumerate(record.considered)} | {"none": record.p_none or 0.0}
    ranking, _ = calibrate(probs, candidates, policy.read_rank_prior, policy.select_ratio, 8)
    chosen = [x for x in ranking if record.considered[LETTERS.index(x)]["chosen"]]
    return Reading(candidates=candidates, probs=probs, p_none=record.p_none or 0.0, ranking=ranking, chosen=chosen)


def recheck(record: Record, question: Any, reading: Reading, rules: frozenset[str]) -> Record:
    """``record`` as it would have been scored had the check used only ``rules``."""
    query = parse_query(question.question)
    checked = check(record.written or "", query, reading, rules)
    answer = Answer(
        question=question.question,
        text=checked.text if checked.abstain_reason is None else "(abstained)",
        citations=checked.citations,
        abstained=checked.abstain_reason is not None,
        abstain_reason=checked.abstain_reason,
        language=query.language,
        model="recheck",
        p_none=record.p_none,
    )
    out = record.model_copy(deep=True)
    out.citation_hit = out.citation_precision = out.fact_hit = out.fact_and_cited = None
    _score_answer(out, question, answer)
    out.first_token_s, out.total_s = record.first_token_s, record.total_s
    return out


def ablate(
    report: dict[str, Any], questions_path: Path, split: str, settings: Settings, policy: ReadingPolicy | None = None
) -> dict[str, Any]:
    settings = settings_for(questions_path, settings)
    policy = policy or ReadingPolicy()
    index = SentenceIndex(settings)
    questions = {q.id: q for q in load_questions(questions_path, split)}
    records = [Record.model_validate(r) for r in report["records"]["kutip"]]
    variants = {"all rules": RULES} | {f"without {rule}": RULES - {rule} for rule in sorted(RULES)}
    out: dict[str, list[Record]] = {}
    for name, rules in variants.items():
        rows = []
        for rec in records:
            # kept as recorded: answers abstained before writing (P(none) at the threshold) and
            # follow-ups (checked against their rewritten question, which the record does not keep)
            decided = rec.p_none is not None and rec.p_none >= settings.p_none_threshold
            fresh = rec.written is not None and not decided and not questions[rec.id].history
            reading = reading_of(rec, index, policy) if fresh else None
            rows.append(recheck(rec, questions[rec.id], reading, rules) if reading is not None else rec)
        out[name] = rows
    return score_systems(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("report")
    p.add_argument("--questions", required=True)
    p.add_argument("--split", default="all")
    args = p.parse_args()
    report = json.loads(Path(args.report).read_text())
    policy = ReadingPolicy.model_validate(report.get("policy") or {})  # the run's (older reports: the product's)
    systems = ablate(report, Path(args.questions), args.split, Settings(), policy)
    written = sum(r.get("written") is not None for r in report["records"]["kutip"])
    print(f"{written} of {len(report['records']['kutip'])} answers were written and are re-checked\n")
    print(markdown_table({n: s["overall"] for n, s in systems.items()}, ["questions", *MAIN_METRICS[1:]]))


if __name__ == "__main__":
    main()
