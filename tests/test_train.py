"""Training the answerability probe (``evaluation.trainset``, ``evaluation.train_probe``): what enters
the training data, the threshold rule, and that the shipped arrays decide as the fitted model does."""

from __future__ import annotations

import json

import numpy as np
import pytest

from evaluation.train_probe import Dataset, Stacked, StateProbe, auc, evidence_choice, lowest_threshold
from evaluation.trainset import ID_DEV, Item, Pool, detokenize, id_dev_exclusions, load_pool, plan_shards, write_shard
from rag.decide import logit

pytestmark = pytest.mark.fast

NODE = "l_out-3"


def synthetic(n: int, seed: int, sets: int = 6) -> Dataset:
    """Rows whose unanswerable ones lean along one direction of an 8-d state."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    states = rng.normal(size=(n, 8)) + np.outer(y, [1.5, 0, 0, 0, 0, 0, 0, -1.0])
    records = [
        {
            "answerable": not bool(label),
            "p_none": float(np.clip(0.05 + 0.2 * label + rng.normal(0, 0.05), 0.001, 0.999)),
            "top_dense": float(0.85 + rng.normal(0, 0.02)),
            "language": "id",
            "set": f"idk-{i % sets:03d}",
        }
        for i, label in enumerate(y)
    ]
    return Dataset(records, {NODE: states.astype(np.float32)})


def test_the_threshold_rule_keeps_false_abstention_within_the_bound():
    rng = np.random.default_rng(0)
    y = np.array([0] * 100 + [1] * 50)
    score = np.concatenate([rng.normal(0, 1, 100), rng.normal(1.5, 1, 50)])
    for bound in (0.0, 0.05, 0.07, 0.2):
        t = lowest_threshold(y, score, bound)
        false = (score[y == 0] >= t).mean()
        assert false <= bound
        lower = np.nextafter(t, -np.inf)  # any lower threshold breaks the bound (or abstains on no more)
        assert (score[y == 0] >= lower).mean() > bound or (score[y == 1] >= lower).mean() == (score[y == 1] >= t).mean()


def test_the_shipped_arrays_decide_as_the_fitted_model_does():
    train, test = synthetic(300, 1), synthetic(80, 2)
    for side in (True, False):  # stacked with P(none) and retrieval, or the state probe alone
        stacked = Stacked(NODE, 0.1, side=side).fit(train)
        probe = stacked.export("m", "sha", "prompt", 0.5, {})
        expected = stacked.score(test)
        got = [
            probe.p_unanswerable(test.states[NODE][i], r["p_none"], r["top_dense"]) for i, r in enumerate(test.records)
        ]
        assert np.allclose(got, expected, atol=1e-9)
        assert auc(test.y, expected) > 0.85  # the direction was learned


def test_the_state_probe_beats_chance_and_p_none_is_a_feature_of_the_stack():
    train = synthetic(300, 3)
    probe = StateProbe(NODE, 1.0).fit(train)
    assert probe.score(train)[train.y == 1].mean() > probe.score(train)[train.y == 0].mean()
    assert train.side[0, 0] == pytest.approx(logit(train.records[0]["p_none"]))


def readings(n: int, seed: int, gold_first: float) -> Dataset:
    """Readings of six candidates whose gold one is retrieved first with probability
    ``gold_first``; the letter probabilities favour the gold one, with noise."""
    rng = np.random.default_rng(seed)
    records = []
    for _ in range(n):
        letters = list("ABCDEF")
        gold = letters[int(rng.integers(0, 6))]
        others = [k for k in letters if k != gold]
        order = [gold, *rng.permutation(others)] if rng.random() < gold_first else [*rng.permutation(others)]
        if gold not in order:
            order.insert(int(rng.integers(1, 6)), gold)
        weights = rng.random(6) + np.array([1.5 if k == gold else 0.0 for k in letters])
        probs = dict(zip(letters, weights / weights.sum() * 0.9, strict=True))
        records.append(
            {
                "answerable": True,
                "gold": [gold],
                "probs": {**probs, "none": 0.1},
                "ranks": {k: order.index(k) for k in letters},
                "language": "id",
                "set": "idk-000",
            }
        )
    return Dataset(records, {})


def test_a_learned_evidence_choice_is_measured_against_todays_rule():
    result = evidence_choice(readings(400, 5, 0.7), {"id-dev": readings(150, 6, 0.7)})
    cell = result["sets"]["id-dev"]
    assert cell["n"] == 150 and result["trained_on"] == 400
    rules = [k for k in cell if k != "n"]
    assert len(rules) == 3 and all(0.0 <= cell[r] <= 1.0 for r in rules)
    assert result["learned_coef"][0] > 0 and result["learned_coef"][1] < 0  # likelier and better-ranked win
    assert cell[rules[2]] > 0.5  # better than a guess among six


def pool(n: int) -> Pool:
    passages = {f"p{i}": f"Paragraf nomor {i} tentang kota {i} dan sungai {i}." for i in range(n)}
    items = [
        Item(source="idk", orig_id=f"q{i}", question=f"Di mana kota {i}?", passage=f"p{i}", answerable=i % 3 != 0)
        for i in range(n)
    ]
    return Pool(source="idk", passages=passages, items=items)


def test_shards_alternate_labels_never_reuse_a_passage_and_add_distractors(tmp_path):
    shards = list(plan_shards(pool(120), 10, seed=1))
    assert len(shards) >= 3
    assert [i.answerable for i in shards[0].questions][:4] == [True, False, True, False]  # in turn, while both last
    seen: set[str] = set()
    for plan in shards:
        files = set(plan.passages)
        assert not files & seen  # a passage is in one shard only
        seen |= files
        gold = {plan.gold[i.orig_id] for i in plan.questions}
        assert gold < files and len(files - gold) >= 2  # distractors beside the gold passages
    folder = write_shard(shards[0], tmp_path)
    data = json.loads((folder / "questions.json").read_text())
    assert len(data["questions"]) == len(shards[0].questions)
    assert len(list((folder / "corpus").glob("*.txt"))) == len(shards[0].passages)


def test_detokenize_glues_punctuation_back():
    assert detokenize(["Harga", "naik", "(", "10", "%", ")", ",", "kata", "dia", "."]) == "Harga naik (10%), kata dia."


@pytest.mark.skipif(not ID_DEV.is_dir(), reason="needs ../shared/bench/id-dev beside the project")
def test_no_id_dev_question_or_passage_enters_the_training_data():
    question_ids, texts, _ = id_dev_exclusions()
    assert len(question_ids) == 300 and len(texts) == 240
    for source in ("idk", "facqa"):
        usable = load_pool(source)
        assert not {i.orig_id for i in usable.items} & question_ids
        assert not {" ".join(t.split()).lower() for t in usable.passages.values()} & texts
