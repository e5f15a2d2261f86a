"""``kutip eval --compare`` on a fixed subset of the question set with the fast 0.5B model.

The harness runs end to end through the CLI (kutip and the llama-index peer, real index, real
model) and writes its report; the report's figures and its abstention curve agree with its own
records; a benchmark folder in the public-data format (questions.json + corpus/) is indexed in a
data folder of its own and scored the same way. The full sets are run with ``kutip eval`` (README). Those tests are marked
``llm``; the report arithmetic on made-up records is in the fast layer.
"""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from evaluation.evalset import QUESTIONS_FILE
from rag import cli

from .conftest import FAST_MODEL
from .invariants import assert_cites_what_was_read, key_of

# dev-split questions, one or two per category, both languages, two unanswerable, one follow-up
SUBSET = ["q003", "q010", "q026", "q043", "q058", "q065", "q070", "q080"]


@pytest.fixture(scope="module")
def report(fast_settings, tmp_path_factory):
    work = tmp_path_factory.mktemp("eval")
    data = yaml.safe_load(QUESTIONS_FILE.read_text(encoding="utf-8"))
    data["questions"] = [q for q in data["questions"] if q["id"] in SUBSET]
    subset = work / "subset.yaml"
    subset.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    # a private copy of the seeded index: the peer writes its own collection into the same Chroma
    shutil.copytree(fast_settings.data_dir, work / "data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KUTIP_DATA_DIR", str(work / "data"))
        code = cli.main(
            ["--model", FAST_MODEL, "eval", "--questions", str(subset), "--out", str(work / "out"), "--compare"]
        )
    assert code == 0
    return work / "out"


@pytest.mark.llm
def test_report_files_are_written(report):
    for name in ("report.json", "report.md", "by_category.png", "by_language.png", "latency.png"):
        assert (report / name).stat().st_size > 0, name
    text = (report / "report.md").read_text()
    assert "| fact_recall |" in text and "| citation_precision |" in text and "llama-index" in text
    assert "Metric definitions" in text


@pytest.mark.llm
def test_figures_agree_with_records(report):
    data = json.loads((report / "report.json").read_text())
    assert data["questions"] == len(SUBSET) and data["model"] == FAST_MODEL
    for system in ("kutip", "llama-index"):
        records = data["records"][system]
        assert [r["id"] for r in records] == SUBSET
        assert not [r for r in records if r["error"]], records
        overall = data["systems"][system]["overall"]
        unanswerable = [r for r in records if not r["answerable"]]
        assert overall["abstention_recall"] == round(sum(r["abstained"] for r in unanswerable) / len(unanswerable), 3)
        answerable = [r for r in records if r["answerable"]]
        assert overall["fact_recall"] == round(sum(bool(r["fact_hit"]) for r in answerable) / len(answerable), 3)
    # kutip answers and cites some of the subset (the 0.5B answered 7 of these 8, each with a
    # citation, in its last eval run of the dev split); it cites sentences, the peer whole chunks,
    # and the peer's answers cite a chunk only sometimes (0.4 of them on the test split)
    kutip, peer = data["systems"]["kutip"]["overall"], data["systems"]["llama-index"]["overall"]
    assert kutip["cited_chars_per_answer"] and kutip["citing_share"] == 1.0, kutip
    if peer["cited_chars_per_answer"]:
        assert kutip["cited_chars_per_answer"] < peer["cited_chars_per_answer"]


@pytest.mark.llm
def test_every_answer_records_its_reading_and_the_curve_follows_from_it(report):
    data = json.loads((report / "report.json").read_text())
    records = data["records"]["kutip"]
    for r in records:
        assert all(":" in cid for cid in r["cited_ids"])
        if r["abstained"]:
            assert r["cited_ids"] == [] and r["abstain_reason"]
        if r["considered"]:
            assert r["p_none"] is not None
            assert_cites_what_was_read(
                {key_of(cid) for cid in r["cited_ids"]},
                {key_of(c["id"]) for c in r["considered"]},
                {key_of(c["id"]) for c in r["considered"] if c["chosen"]},
            )
    curve = data["systems"]["kutip"]["curve"]
    assert [row["none_threshold"] for row in curve] == sorted(row["none_threshold"] for row in curve)
    unanswerable = [r for r in records if not r["answerable"]]
    for row in curve:  # recomputed from the records
        t = row["none_threshold"]
        expected = sum(r["abstained"] or (r["p_none"] is not None and r["p_none"] >= t) for r in unanswerable) / len(
            unanswerable
        )
        assert row["abstention_recall"] == round(expected, 3)
    assert "Abstention curve" in (report / "report.md").read_text()


@pytest.mark.llm
def test_a_benchmark_folder_is_evaluated_on_its_own_corpus(fast_settings, tmp_path):
    """The public-data format (``../shared/bench/id-dev/``): questions.json + corpus/, indexed in a
    data folder of its own; evidence in ``any`` mode matches a sentence that contains it."""
    bench = tmp_path / "mini-bench"
    (bench / "corpus").mkdir(parents=True)
    (bench / "corpus" / "p1.txt").write_text(
        "Danau Toba terletak di Sumatera Utara. Danau itu terbentuk oleh letusan gunung berapi sekitar 74.000 tahun lalu.",
        encoding="utf-8",
    )
    (bench / "corpus" / "p2.txt").write_text(
        "Candi Borobudur dibangun pada abad ke-9 di Jawa Tengah.", encoding="utf-8"
    )
    questions = [
        {
            "id": "b1",
            "lang": "id",
            "question": "Di provinsi mana Danau Toba terletak?",
            "answerable": True,
            "facts": [["Sumatera Utara"]],
            "evidence": {"mode": "any", "items": [["p1", "Danau Toba terletak di Sumatera Utara."]]},
        },
        {"id": "b2", "lang": "id", "question": "Siapa arsitek Candi Borobudur?", "answerable": False},
    ]
    (bench / "questions.json").write_text(json.dumps({"about": "test", "questions": questions}), encoding="utf-8")
    data_dir = tmp_path / "data"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KUTIP_DATA_DIR", str(data_dir))
        code = cli.main(["--model", FAST_MODEL, "eval", "--questions", str(bench), "--out", str(tmp_path / "out")])
    assert code == 0
    assert (data_dir / "bench" / "mini-bench").is_dir() and not (data_dir / "chroma").exists()  # its own data folder
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    records = {r["id"]: r for r in report["records"]["kutip"]}
    assert records["b1"]["gold_ids"] == ["p1:0"] and records["b1"]["gold_ranks"][0] == 1
    assert not records["b2"]["answerable"] and not any(r["error"] for r in records.values())


@pytest.mark.llm
def test_oracle_answers_from_the_gold_sentences_only(fast_settings, tmp_path):
    """``kutip eval --oracle``: answerable questions only, each shown its gold sentences alone, so
    every citation the checked answer keeps is a gold sentence; the figures agree with the records."""
    data = yaml.safe_load(QUESTIONS_FILE.read_text(encoding="utf-8"))
    data["questions"] = [q for q in data["questions"] if q["id"] in ("q016", "q065", "q080")]  # q065 is unanswerable
    subset = tmp_path / "subset.yaml"
    subset.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KUTIP_DATA_DIR", str(fast_settings.data_dir))
        code = cli.main(
            ["--model", FAST_MODEL, "eval", "--questions", str(subset), "--out", str(tmp_path / "out"), "--oracle"]
        )
    assert code == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["oracle"] is True and "oracle" in (tmp_path / "out" / "report.md").read_text()
    records = report["records"]["kutip"]
    assert [r["id"] for r in records] == ["q016", "q080"]  # the follow-up is condensed first
    for r in records:
        assert r["gold_ranks"] == [] and {c["id"] for c in r["considered"]} == set(
            r["gold_ids"]
        )  # it read the gold alone
        assert set(r["cited_ids"]) <= set(r["gold_ids"]), r
        assert not r["error"]
    overall = report["systems"]["kutip"]["overall"]
    assert overall["fact_recall"] == round(sum(bool(r["fact_hit"]) for r in records) / 2, 3)


# ----------------------------------------------------------------------------- the fast layer: the eval's decision curve


def rec(i, answerable, p_none, fact):
    from evaluation.evaluate import Record

    return Record(
        id=f"r{i}",
        system="kutip",
        category="c",
        language="id",
        answerable=answerable,
        question="q",
        answer="a [1]",
        abstained=False,
        cited_ids=["x:1"],
        cited_texts=["s"],
        p_none=p_none,
        fact_hit=fact if answerable else None,
        fact_and_cited=fact if answerable else None,
        citation_hit=fact if answerable else None,
        citation_precision=1.0 if answerable else 0.0,
    )


@pytest.mark.fast
def test_a_report_rescored_at_a_lower_threshold_matches_its_curve():
    from evaluation.evaluate import at_threshold, score_systems

    records = [rec(0, True, 0.02, True), rec(1, True, 0.3, True), rec(2, False, 0.4, False), rec(3, False, 0.05, False)]
    report = {
        "none_threshold": 1.0,
        "systems": score_systems({"kutip": records}),
        "records": {"kutip": [r.model_dump() for r in records]},
    }
    row = next(r for r in report["systems"]["kutip"]["curve"] if r["none_threshold"] == 0.25)
    again = at_threshold(report, 0.25)["systems"]["kutip"]["overall"]
    assert (
        (again["abstention_recall"], again["false_abstention_rate"], again["fact_and_cited"])
        == (row["abstention_recall"], row["false_abstention_rate"], row["fact_and_cited"])
        == (0.5, 0.5, 0.5)
    )
    with pytest.raises(ValueError):
        at_threshold(at_threshold(report, 0.25), 0.5)


@pytest.mark.fast
def test_a_rerun_of_some_questions_replaces_only_their_records():
    from evaluation.evaluate import replaced, score_systems

    def report(records, threshold=1.0):
        return {
            "none_threshold": threshold,
            "systems": score_systems({"kutip": records}),
            "records": {"kutip": [r.model_dump() for r in records]},
        }

    base = report([rec(0, True, 0.02, False), rec(1, True, 0.02, True), rec(2, False, 0.05, False)])
    merged = replaced(base, report([rec(0, True, 0.02, True)]))
    assert [r["id"] for r in merged["records"]["kutip"]] == ["r0", "r1", "r2"] and merged["replaced"] == ["r0"]
    assert merged["systems"]["kutip"]["overall"]["fact_and_cited"] == 1.0  # r0 now has its fact
    assert base["systems"]["kutip"]["overall"]["fact_and_cited"] == 0.5  # the base report is left as it was
    with pytest.raises(ValueError):
        replaced(base, report([rec(0, True, 0.02, True)], threshold=0.15))


@pytest.mark.fast
def test_a_reading_variant_is_named_on_the_command_line():
    from evaluation.evaluate import policy_from
    from rag.read import ReadingPolicy

    assert policy_from([]) == ReadingPolicy()
    assert policy_from(["answer_parts=false", "read_rank_prior=0.5"]) == ReadingPolicy(
        answer_parts=False, read_rank_prior=0.5
    )
    for bad in (["answer_part=false"], ["answer_parts"], ["read_rank_prior=-1"]):
        with pytest.raises(SystemExit):
            policy_from(bad)
