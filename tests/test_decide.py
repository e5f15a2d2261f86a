"""Deciding (``rag.decide``): the trained probe when it fits the model and prompt, P(none) otherwise;
retrieval that finds nothing close abstains first. Scripted readings and hand-made probes."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from rag.decide import Probe, ProbeRefused, Scaler, decide, probe_for, read_prompt_hash
from rag.qa import QA
from rag.query import parse_query
from rag.read import number_candidates, read
from rag.schema import Timings
from rag.testing import ScriptedLLM

from .scripted import FLOOD

pytestmark = pytest.mark.fast

NODE = "l_out-2"


def reading_of(settings, probs, states=None):
    candidates = number_candidates(FLOOD, [0.9, 0.8, 0.7])
    reading, _ = read(
        lambda m, o: ScriptedLLM().enqueue_choice(probs).choose(m, o),
        settings.prompts_dir,
        parse_query("Siapa pemenang lomba?"),
        candidates,
    )
    return reading.model_copy(update={"states": states or {}})


def make_probe(settings, *, sha="scripted", prompt_hash=None, threshold=0.5) -> Probe:
    """A probe over 3-d states whose verdict is the sign of the first component: the state alone
    decides (P(none) and retrieval weigh nothing)."""
    return Probe(
        model="scripted",
        model_sha256=sha,
        prompt_hash=prompt_hash or read_prompt_hash(settings.prompts_dir),
        node=NODE,
        scaler=Scaler(mean=[0.0, 0.0, 0.0], scale=[1.0, 1.0, 1.0]),
        coef=[4.0, 0.0, 0.0],
        intercept=0.0,
        stack_coef=[1.0, 0.0, 0.0],
        stack_intercept=0.0,
        threshold=threshold,
        provenance={"command": "test"},
    )


UNANSWERABLE = {NODE: [1.0, 0.3, -0.2]}  # P(unanswerable) = sigmoid(4) = 0.98
ANSWERABLE = {NODE: [-1.0, 0.3, -0.2]}  # 0.02


def test_p_none_decides_without_a_probe(scratch_settings):
    reading = reading_of(scratch_settings, {"A": 0.3, "none": 0.7})
    high = decide(reading, 0.9, scratch_settings.model_copy(update={"none_threshold": 0.5}), None)
    assert high.decided_by == "p_none" and "P(none) = 0.70" in high.reason
    low = decide(reading, 0.9, scratch_settings.model_copy(update={"none_threshold": 0.8}), None)
    assert low.reason is None and low.decided_by == "p_none"
    far = scratch_settings.model_copy(update={"none_threshold": 0.8, "abstain_threshold": 0.6})
    gated = decide(reading, 0.5, far, None)
    assert "close enough" in gated.reason and gated.decided_by == "retrieval"


def test_the_probe_decides_from_the_state_whatever_p_none_says(scratch_settings):
    probe = make_probe(scratch_settings)
    settings = scratch_settings.model_copy(update={"none_threshold": 0.5})
    confident = reading_of(scratch_settings, {"A": 0.99, "none": 0.01}, UNANSWERABLE)
    out = decide(confident, 0.9, settings, probe)
    assert out.decided_by == "probe" and out.p_unanswerable == pytest.approx(1 / (1 + np.exp(-4)))
    assert "P(unanswerable) = 0.98" in out.reason
    doubtful = reading_of(scratch_settings, {"A": 0.3, "none": 0.7}, ANSWERABLE)
    kept = decide(doubtful, 0.9, settings, probe)
    assert kept.reason is None and kept.p_unanswerable == pytest.approx(1 / (1 + np.exp(4)))
    stricter = settings.model_copy(update={"probe_threshold": 0.01})
    assert decide(doubtful, 0.9, stricter, probe).reason is not None  # the user's threshold wins


def test_a_reading_without_the_probes_state_falls_back_to_p_none(scratch_settings):
    probe = make_probe(scratch_settings)
    reading = reading_of(scratch_settings, {"A": 0.3, "none": 0.7}, {"l_out-9": [1.0, 0.0, 0.0]})
    out = decide(reading, 0.9, scratch_settings.model_copy(update={"none_threshold": 0.5}), probe)
    assert out.decided_by == "p_none" and out.reason is not None


def write_probe(folder, probe: Probe) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{probe.model}.json").write_text(probe.model_dump_json())


def test_a_probe_for_other_weights_or_another_prompt_is_refused(scratch_settings, tmp_path):
    folder = tmp_path / "probes"
    with pytest.raises(ProbeRefused, match="no trained probe"):
        probe_for("scripted", "scripted", scratch_settings.prompts_dir, folder)
    write_probe(folder, make_probe(scratch_settings, sha="0" * 64))
    with pytest.raises(ProbeRefused, match="weights"):
        probe_for("scripted", "scripted", scratch_settings.prompts_dir, folder)
    other = tmp_path / "probes2"
    write_probe(other, make_probe(scratch_settings, prompt_hash="f" * 64))
    with pytest.raises(ProbeRefused, match="read prompt"):
        probe_for("scripted", "scripted", scratch_settings.prompts_dir, other)
    good = tmp_path / "probes3"
    write_probe(good, make_probe(scratch_settings))
    assert probe_for("scripted", "scripted", scratch_settings.prompts_dir, good).node == NODE


def test_the_prompt_hash_follows_the_read_prompt(scratch_settings, tmp_path):
    import shutil

    same, changed = tmp_path / "same", tmp_path / "changed"
    shutil.copytree(scratch_settings.prompts_dir, same)
    shutil.copytree(scratch_settings.prompts_dir, changed)
    (changed / "system.txt").write_text((changed / "system.txt").read_text() + "\nOne more rule.")
    assert read_prompt_hash(same) == read_prompt_hash(scratch_settings.prompts_dir)
    assert read_prompt_hash(changed) != read_prompt_hash(same)


def answer_with(settings, probs, states, text=" Rina Hapsari menutup 45 sekolah [B]."):
    llm = ScriptedLLM().enqueue_choice(probs).enqueue_states(states).enqueue(text)
    qa = QA(settings, llm=llm)
    query = parse_query("Siapa yang menutup sekolah?")
    out = list(qa._answer(query, [(s, 0.9) for s in FLOOD], 0.9, settings, 0.0, Timings()))
    return out[-1], llm


def test_qa_reads_the_probes_state_and_says_what_decided(scratch_settings, tmp_path):
    folder = tmp_path / "probes"
    write_probe(folder, make_probe(scratch_settings))
    settings = scratch_settings.model_copy(update={"probes_dir": folder, "none_threshold": 0.5})
    refused, llm = answer_with(settings, {"B": 0.9, "none": 0.01}, UNANSWERABLE)
    assert refused.abstained and refused.decided_by == "probe" and refused.p_unanswerable > 0.9
    assert [kind for kind, _ in llm.calls] == ["choose"]  # nothing was written
    answered, _ = answer_with(settings, {"B": 0.4, "none": 0.6}, ANSWERABLE)  # P(none) alone would abstain
    assert not answered.abstained and answered.decided_by == "probe" and answered.citations[0].sentence == FLOOD[1].text


def test_qa_without_a_fitting_probe_decides_from_p_none_and_says_so(scratch_settings, tmp_path, caplog):
    folder = tmp_path / "probes"
    write_probe(folder, make_probe(scratch_settings, sha="1" * 64))
    settings = scratch_settings.model_copy(update={"probes_dir": folder, "none_threshold": 0.5})
    llm = ScriptedLLM().enqueue_choice({"B": 0.9, "none": 0.01}).enqueue(" Rina Hapsari menutup 45 sekolah [B].")
    qa = QA(settings, llm=llm)
    with caplog.at_level(logging.WARNING):
        out = list(
            qa._answer(
                parse_query("Siapa yang menutup sekolah?"), [(s, 0.9) for s in FLOOD], 0.9, settings, 0.0, Timings()
            )
        )
    answer = out[-1]
    assert not answer.abstained and answer.decided_by == "p_none" and answer.p_unanswerable is None
    assert "probe not used" in caplog.text and "weights" in caplog.text


def test_the_shipped_probes_are_valid_and_name_their_provenance():
    from rag.settings import Settings

    folder = Settings().probes_dir
    shipped = sorted(folder.glob("*.json"))
    assert shipped, f"no probe shipped in {folder}"
    for path in shipped:
        probe = Probe.model_validate(json.loads(path.read_text()))
        assert len(probe.coef) == len(probe.scaler.mean) == len(probe.scaler.scale)
        assert len(probe.stack_coef) == 3 and 0 < probe.threshold < 1
        for key in ("command", "data", "trained_on", "model_sha256", "prompt_hash", "threshold_chosen_on"):
            assert key in probe.provenance, f"{path.name}: provenance lacks {key}"
        assert probe.provenance["model_sha256"] == probe.model_sha256
