"""README's "Current figures" come from the reports, never typed in: the table and the speed lines
are rendered from report files, and the committed README matches the committed reports."""

from __future__ import annotations

import json

import pytest

from evaluation import figures

pytestmark = pytest.mark.fast


def _report(fact: float) -> dict:
    overall = {key: 0.5 for _, key, _ in figures.METRICS}
    overall.update(questions=10, fact_and_cited=fact)
    return {"model": "m", "systems": {"kutip": {"overall": overall}}, "records": {"kutip": [{"decided_by": "probe"}]}}


def test_the_table_and_the_speed_lines_are_rendered_from_the_reports(tmp_path):
    for folder, fact in zip(figures.SETS, (0.61, 0.72, 0.83)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "report.json").write_text(json.dumps(_report(fact)))
    body = figures.table(tmp_path)
    assert "0.610" in body and "0.720" in body and "0.830" in body and "Speed" not in body
    (tmp_path / "m05" / "test").mkdir(parents=True)  # another model's run, below the default's
    (tmp_path / "m05" / "test" / "report.json").write_text(json.dumps(_report(0.44) | {"model": "m05"}))
    rows = figures.table(tmp_path).split("\n")
    assert rows[-1].startswith("| test split (held out) | 10 | 0.500 | 0.500 | 0.440 |") and "| m05 |" in rows[-1]
    (tmp_path / "speed").mkdir()
    answers = {
        "questions": 12,
        "first_token_p50_s": 5.9,
        "first_token_p95_s": 7.1,
        "total_p50_s": 7.0,
        "stages_p50": {"prompt_tokens": 402.0, "answer_tokens": 21.0},
        "machine": {"prompt_tokens_per_s": 74.1, "generated_tokens_per_s": 22.3},
        "floor": {"first_token_p50_s": 5.47, "total_p50_s": 6.41},
    }
    (tmp_path / "speed" / "bench.json").write_text(json.dumps({"created": "2026-12-07", "answers": {"m15": answers}}))
    speed = figures.table(tmp_path).split("\n")[-1]
    assert speed.startswith("- Speed, m15, 12 seed questions")
    assert "first token p50 5.90 s" in speed and "floor for the same tokens 5.47 s and 6.41 s" in speed
    assert "402 new prompt tokens at 74.1 tok/s" in speed


def test_a_missing_report_is_an_error_not_a_blank(tmp_path):
    with pytest.raises(figures.FiguresError):
        figures.table(tmp_path)


def test_the_committed_readme_matches_the_committed_reports():
    assert figures.main(["--check"]) == 0
