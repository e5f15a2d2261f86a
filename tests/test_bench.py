"""``kutip bench``'s answer phase with the real 0.5B over the fixture index: each answer's time
broken into stages with their token counts, and the machine's floor beside it. Figures are printed
by the bench, not asserted here; what is asserted is that the parts are there and add up."""

from __future__ import annotations

import pytest

from evaluation.bench import STAGES, bench_answers, render

from .conftest import FERRIES, LOCOMOTIVES

pytestmark = pytest.mark.llm


def test_the_answer_phase_breaks_each_answer_into_stages_beside_the_floor(qa_fixture):
    result = bench_answers(qa_fixture.settings, [LOCOMOTIVES, FERRIES], qa=qa_fixture)
    stages = result["stages_p50"]
    assert set(STAGES) <= set(stages)
    assert stages["prompt_tokens"] > 20  # the question and its candidates, not the cached prefix
    assert stages["read_s"] > 0 and stages["answer_tokens"] >= 1
    machine, floor = result["machine"], result["floor"]
    assert machine["prompt_tokens_per_s"] > machine["generated_tokens_per_s"] > 0  # batches beat single steps
    assert 0 < floor["first_token_p50_s"] <= floor["total_p50_s"]
    table = render({"ingest": {}, "answers": {"m": result}, "peer": {}})
    assert "floor of this machine" in table and "new prompt tokens" in table
    # measuring the throughput keeps what is cached: the last question, asked again after it, finds
    # its whole prompt cached (one token decoded again for its logits)
    qa_fixture.llm().throughput(prompt_tokens=64, generated_tokens=4)
    assert qa_fixture.ask(FERRIES).timings.prompt_tokens == 1
