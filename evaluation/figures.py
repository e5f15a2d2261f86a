"""Write the README's "Current figures" table from the latest full ``kutip eval`` reports.

Usage, from the project root::

    python -m evaluation.figures           # rewrite the table between the README's markers
    python -m evaluation.figures --check   # exit 1 if the README's table differs from the reports

It reads ``eval/results/latest/{id-dev,dev,test}/report.json`` (each written by ``kutip eval``,
``evaluation.evaluate.write_report``; another model's under ``eval/results/latest/<model>/``) and puts one row per set, from the ``kutip`` system's
``overall`` metrics, and each model's timings beside the machine's floor from the latest
``kutip bench`` answer phase (``eval/results/latest/speed/bench.json``), between the lines ``<!-- figures:start -->`` and ``<!-- figures:end -->`` of
README.md. To refresh a set, run ``kutip eval`` into its folder, then this script.
Exit codes: 0 written or up to date, 1 out of date (``--check``), 2 a report or a marker is missing.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LATEST = ROOT / "eval" / "results" / "latest"
README = ROOT / "README.md"
START = "<!-- figures:start -->"
END = "<!-- figures:end -->"

# folder under eval/results/latest/ -> the set's name in the table
SETS: dict[str, str] = {
    "id-dev": "id-dev (public dev)",
    "dev": "dev split",
    "test": "test split (held out)",
}

# (column header, key of the report's systems.kutip.overall, number format)
METRICS: list[tuple[str, str, str]] = [
    ("questions", "questions", "d"),
    ("fact", "fact_recall", ".3f"),
    ("gold cited", "citation_recall", ".3f"),
    ("fact & gold cited", "fact_and_cited", ".3f"),
    ("citation precision", "citation_precision", ".3f"),
    ("unanswerable abstained", "abstention_recall", ".3f"),
    ("wrongly abstained", "false_abstention_rate", ".3f"),
    ("first token p50 (s)", "first_token_p50_s", ".2f"),
    ("total p50 (s)", "total_p50_s", ".2f"),
]


class FiguresError(Exception):
    """A report or a README marker is missing or malformed."""


def _cell(value: Any, fmt: str) -> str:
    if value is None:
        return "–"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format(value, fmt)
    return str(value).replace("|", "\\|")


DECIDERS = {"p_none": "P(none)"}  # how a recorded ``decided_by`` value is shown


def decided_by(report: dict[str, Any]) -> str:
    """How the report's run decided to answer or abstain: its ``decided_by`` if it records one (at
    the top or under ``settings``), else the ``decided_by`` of its kutip records ("probe 290, P(none)
    10" when they differ), else P(none), the only decision older reports know."""
    value = report.get("decided_by") or (report.get("settings") or {}).get("decided_by")
    if value:
        return _cell(DECIDERS.get(str(value), value), "")
    records = (report.get("records") or {}).get("kutip") or []
    counts = Counter(str(r["decided_by"]) for r in records if isinstance(r, dict) and r.get("decided_by"))
    if not counts:
        return "P(none)"
    if len(counts) == 1:
        return _cell(DECIDERS.get(next(iter(counts)), next(iter(counts))), "")
    return _cell(", ".join(f"{DECIDERS.get(name, name)} {n}" for name, n in counts.most_common()), "")


def row(name: str, report: dict[str, Any]) -> str:
    """One table row for a set's report."""
    try:
        overall: dict[str, Any] = report["systems"]["kutip"]["overall"]
    except (KeyError, TypeError) as exc:
        raise FiguresError(f"{name}: the report has no systems.kutip.overall section") from exc
    cells = [name, *(_cell(overall.get(key), fmt) for _, key, fmt in METRICS)]
    cells += [_cell(report.get("model"), ""), decided_by(report)]
    return "| " + " | ".join(cells) + " |"


def table(latest: Path = LATEST) -> str:
    """The markdown table for the reports under ``latest``."""
    headers = ["set", *(header for header, _, _ in METRICS), "model", "decided by"]
    lines = ["| " + " | ".join(headers) + " |", "|---" * len(headers) + "|"]
    for folder, name in SETS.items():
        path = latest / folder / "report.json"
        if not path.is_file():
            raise FiguresError(f"no report at {path}: run kutip eval with --out {path.parent}")
        lines.append(row(name, json.loads(path.read_text(encoding="utf-8"))))
    # another model's runs, where there are any: latest/<model>/<set>/report.json
    for model_dir in sorted(p for p in latest.iterdir() if p.is_dir() and p.name not in SETS):
        for folder, name in SETS.items():
            path = model_dir / folder / "report.json"
            if path.is_file():
                lines.append(row(name, json.loads(path.read_text(encoding="utf-8"))))
    return "\n".join(lines + speed_lines(latest))


SPEED = "speed/bench.json"  # kutip bench --answers-only --split test --out eval/results/latest/speed


def speed_lines(latest: Path = LATEST) -> list[str]:
    """Below the table, each model's answer timings from the latest ``kutip bench`` answer phase
    beside the machine's floor (none when no bench report is there)."""
    path = latest / SPEED
    if not path.is_file():
        return []
    bench = json.loads(path.read_text(encoding="utf-8"))
    lines = []
    for model, r in (bench.get("answers") or {}).items():
        floor, machine, stages = r.get("floor") or {}, r.get("machine") or {}, r.get("stages_p50") or {}
        if not floor:
            continue
        lines.append(
            f"- Speed, {model}, {r['questions']} seed questions after a warm-up (`kutip bench`, {bench.get('created', '?')[:10]}): "
            f"first token p50 {_cell(r['first_token_p50_s'], '.2f')} s (p95 {_cell(r['first_token_p95_s'], '.2f')}), "
            f"whole answer p50 {_cell(r['total_p50_s'], '.2f')} s; this machine's floor for the same tokens "
            f"{_cell(floor['first_token_p50_s'], '.2f')} s and {_cell(floor['total_p50_s'], '.2f')} s "
            f"({_cell(stages.get('prompt_tokens'), '.0f')} new prompt tokens at {machine.get('prompt_tokens_per_s')} tok/s, "
            f"{_cell(stages.get('answer_tokens'), '.0f')} answer tokens at {machine.get('generated_tokens_per_s')} tok/s)."
        )
    return ["", *lines] if lines else []


def filled(readme: str, body: str) -> str:
    """``readme`` with everything between the two marker lines replaced by ``body``."""
    lines = readme.split("\n")
    if lines.count(START) != 1 or lines.count(END) != 1:
        raise FiguresError(f"README must hold exactly one line {START} and one line {END}")
    start, end = lines.index(START), lines.index(END)
    if end < start:
        raise FiguresError(f"{END} comes before {START} in README")
    return "\n".join([*lines[: start + 1], *body.split("\n"), *lines[end:]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evaluation.figures", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the README's table is out of date")
    parser.add_argument("--readme", type=Path, default=README, help="the file holding the markers")
    parser.add_argument("--latest", type=Path, default=LATEST, help="the folder of id-dev/, dev/, test/ reports")
    args = parser.parse_args(argv)
    try:
        current = args.readme.read_text(encoding="utf-8")
        wanted = filled(current, table(args.latest))
    except (FiguresError, OSError, json.JSONDecodeError) as exc:
        print(f"figures: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if current != wanted:
            print(
                f"figures: the table in {args.readme} is out of date; run python -m evaluation.figures", file=sys.stderr
            )
            return 1
        return 0
    if current != wanted:
        args.readme.write_text(wanted, encoding="utf-8")
        print(f"figures: table written to {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
