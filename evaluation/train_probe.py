"""``kutip train``: learn when the articles do not answer, from labelled public data.

1. Training shards are built from ``../shared/data/`` (``evaluation.trainset``; id-dev's questions
   and passages left out) and read through kutip's own retrieval and read prompt
   (``evaluation.features``), with the hidden states of several layers; id-dev and the dev split of
   ``eval/questions.yaml`` are read the same way, for choosing and reporting only.
2. The probe: standardised state of one node → L2 logistic regression; the node and the
   regularisation are chosen by grouped cross-validation on the training shards alone. Its
   out-of-fold score is stacked with logit P(none) and the top dense cosine by a second logistic
   regression (fit/predict discipline: nothing is fitted on what it is scored on).
3. The threshold is chosen on id-dev by the rule used for P(none): the lowest threshold whose false
   abstention (answerable questions abstained) stays at most ``--max-false-abstention``.
4. ``rag/probes/<model>.json`` is written with its provenance, and an ablation report
   (``eval/results/latest/answerability.{md,json}``): P(none) alone, the final-norm probe, the best
   mid-layer probe and the stacked one, with and without the English and translated-SQuAD data,
   on id-dev and the dev split, each language apart, with their abstention curves.

Feature extraction takes hours for thousands of questions on 2 cores: it is resumable (a rerun
reads only what is missing), shows a progress bar with an ETA, and ``--minutes`` bounds one run.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from evaluation.evalset import QUESTIONS_FILE
from evaluation.features import (
    cache_dir,
    captured_nodes,
    extract_set,
    features_root,
    load_set,
    model_identity,
    prompt_key,
    shown_key,
)
from evaluation.trainset import ID_DEV, LANGUAGE, build_shards
from rag.decide import Probe, Scaler, logit
from rag.hidden import FINAL_NORM
from rag.settings import Settings

RESULTS = Path(__file__).resolve().parent.parent / "eval" / "results" / "latest"
TUNING_SETS = {"id-dev": (ID_DEV, "all"), "dev": (QUESTIONS_FILE, "dev")}


# ----------------------------------------------------------------------------- data


class Dataset:
    """Feature rows of several question sets: one record per question, states per node."""

    def __init__(self, records: list[dict[str, Any]], states: dict[str, np.ndarray]) -> None:
        self.records = records
        self.states = states

    @classmethod
    def load(cls, out_dir: Path, names: list[str]) -> Dataset:
        records: list[dict[str, Any]] = []
        parts: dict[str, list[np.ndarray]] = {}
        for name in names:
            recs, states = load_set(out_dir, name)
            for r in recs:
                r["set"] = name
            records += recs
            for node, array in states.items():
                parts.setdefault(node, []).append(array)
        return cls(records, {n: np.concatenate(a) for n, a in parts.items()})

    def subset(self, keep: np.ndarray) -> Dataset:
        idx = np.flatnonzero(keep)
        return Dataset([self.records[i] for i in idx], {n: a[idx] for n, a in self.states.items()})

    def __len__(self) -> int:
        return len(self.records)

    @property
    def y(self) -> np.ndarray:
        """1 = unanswerable (the class the probe detects)."""
        return np.array([0 if r["answerable"] else 1 for r in self.records])

    @property
    def side(self) -> np.ndarray:
        """[logit P(none), top dense cosine] per row."""
        return np.array([[logit(r["p_none"]), r["top_dense"]] for r in self.records])

    @property
    def groups(self) -> np.ndarray:
        return np.array([r["set"] for r in self.records])

    def source(self) -> np.ndarray:
        return np.array([r["set"].split("-")[0] for r in self.records])

    def language(self) -> np.ndarray:
        return np.array([r["language"] for r in self.records])


# ----------------------------------------------------------------------------- scoring


def auc(y: np.ndarray, score: np.ndarray) -> float | None:
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(y, score)), 3) if 0 < y.sum() < len(y) else None


def curve(y: np.ndarray, score: np.ndarray, steps: int = 101) -> list[dict[str, float]]:
    """Abstained (unanswerable) against false abstention (answerable) along thresholds on ``score``."""
    qs = np.unique(np.quantile(score, np.linspace(0, 1, steps)))
    out = []
    for t in qs:
        abst = score >= t
        out.append(
            {
                "threshold": float(t),
                "abstained": round(float(abst[y == 1].mean()), 3) if (y == 1).any() else 0.0,
                "false_abstention": round(float(abst[y == 0].mean()), 3) if (y == 0).any() else 0.0,
            }
        )
    return out


def lowest_threshold(y: np.ndarray, score: np.ndarray, max_false: float) -> float:
    """The lowest threshold whose false abstention on answerable rows stays within ``max_false``."""
    answerable = np.sort(score[y == 0])
    if not len(answerable):
        return float(score.min())
    allowed = int(math.floor(max_false * len(answerable)))  # answerable rows that may be abstained on
    if allowed <= 0:
        return float(np.nextafter(answerable[-1], np.inf))
    return float(np.nextafter(answerable[-allowed - 1], np.inf))


def at_threshold(y: np.ndarray, score: np.ndarray, t: float) -> dict[str, float]:
    abst = score >= t
    return {
        "abstained": round(float(abst[y == 1].mean()), 3) if (y == 1).any() else float("nan"),
        "false_abstention": round(float(abst[y == 0].mean()), 3) if (y == 0).any() else float("nan"),
    }


# ----------------------------------------------------------------------------- fitting


class StateProbe:
    """Standardise → logistic regression on one node's state (scikit-learn, fit/predict)."""

    def __init__(self, node: str, c: float) -> None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        self.node, self.c = node, c
        self.scaler = StandardScaler()
        self.model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced")

    def fit(self, data: Dataset) -> StateProbe:
        self.model.fit(self.scaler.fit_transform(data.states[self.node]), data.y)
        return self

    def score(self, data: Dataset) -> np.ndarray:
        return np.asarray(self.model.decision_function(self.scaler.transform(data.states[self.node])))


def out_of_fold(data: Dataset, node: str, c: float, folds: int = 5) -> np.ndarray:
    from sklearn.model_selection import GroupKFold

    scores = np.zeros(len(data))
    folds = min(folds, len(set(data.groups)))
    for train, test in GroupKFold(n_splits=folds).split(np.zeros(len(data)), data.y, data.groups):
        probe = StateProbe(node, c).fit(data.subset(np.isin(np.arange(len(data)), train)))
        scores[test] = probe.score(data.subset(np.isin(np.arange(len(data)), test)))
    return scores


def choose_probe(data: Dataset, nodes: list[str], cs: tuple[float, ...]) -> tuple[str, float, list[dict[str, Any]]]:
    """The (node, C) with the best grouped cross-validated AUC on the training data."""
    table = []
    for node in nodes:
        for c in cs:
            table.append({"node": node, "C": c, "cv_auc": auc(data.y, out_of_fold(data, node, c)) or 0.0})
            print(f"  cv {node:>12} C={c:<7g} AUC {table[-1]['cv_auc']}", flush=True)
    best = max(table, key=lambda row: row["cv_auc"])
    return str(best["node"]), float(best["C"]), table


class Stacked:
    """The state probe's score, alone (``side=False``: P(unanswerable) = sigmoid(score)) or stacked
    with logit P(none) and the top dense cosine by a second logistic regression fitted on the state
    probe's out-of-fold scores (``side=True``)."""

    def __init__(self, node: str, c: float, side: bool = True) -> None:
        from sklearn.linear_model import LogisticRegression

        self.node, self.c, self.side = node, c, side
        self.state = StateProbe(node, c)
        self.stack = LogisticRegression(max_iter=1000, class_weight="balanced")

    def _x(self, state_score: np.ndarray, data: Dataset) -> np.ndarray:
        return np.column_stack([state_score, data.side])

    def fit(self, data: Dataset) -> Stacked:
        if self.side:
            self.stack.fit(self._x(out_of_fold(data, self.node, self.c), data), data.y)
        self.state.fit(data)
        return self

    def score(self, data: Dataset) -> np.ndarray:
        s = self.state.score(data)
        if not self.side:
            return 1.0 / (1.0 + np.exp(-s))
        return np.asarray(self.stack.predict_proba(self._x(s, data))[:, 1])

    def export(
        self, model: str, model_sha256: str, prompt_hash: str, threshold: float, provenance: dict[str, Any]
    ) -> Probe:
        coef = self.stack.coef_[0] if self.side else np.array([1.0, 0.0, 0.0])
        intercept = float(self.stack.intercept_[0]) if self.side else 0.0
        return Probe(
            model=model,
            model_sha256=model_sha256,
            prompt_hash=prompt_hash,
            node=self.node,
            scaler=Scaler(mean=self.state.scaler.mean_.tolist(), scale=self.state.scaler.scale_.tolist()),
            coef=self.state.model.coef_[0].tolist(),
            intercept=float(self.state.model.intercept_[0]),
            stack_coef=[float(x) for x in coef],
            stack_intercept=intercept,
            threshold=threshold,
            provenance=provenance,
        )


# ----------------------------------------------------------------------------- the command


def _progress(total: int, desc: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="q", file=sys.stderr, mininterval=5.0, smoothing=0.05)


def extract_all(settings: Settings, out_dir: Path, nodes: list[str], shards: list[Path], minutes: float) -> list[str]:
    """Read the tuning sets, then training shards in order until ``minutes`` pass; the names of the
    training shards whose features exist."""
    deadline = time.monotonic() + minutes * 60
    for name, (path, split) in TUNING_SETS.items():
        n = len(json.loads((path / "questions.json").read_text())["questions"]) if path.is_dir() else 0
        bar = _progress(n or 32, f"features {name}")
        extract_set(path, name, settings, out_dir, nodes, split, bar)
        bar.close()
    todo = [s for s in shards if not (out_dir / f"{s.name}.json").is_file()]
    total = sum(len(json.loads((s / "questions.json").read_text())["questions"]) for s in todo)
    bar = _progress(total, "features, training shards")
    for shard in todo:
        if time.monotonic() > deadline:
            break
        extract_set(shard, shard.name, settings, out_dir, nodes, "all", bar)
    bar.close()
    return [s.name for s in shards if (out_dir / f"{s.name}.json").is_file()]


def report_rows(
    train: Dataset, tuning: dict[str, Dataset], best_node: str, c: float, max_false: float
) -> list[dict[str, Any]]:
    """The ablation: each variant fitted on (part of) the training data, its threshold chosen on
    id-dev, scored on id-dev and the dev split, each language apart."""
    source = train.source()
    everything = np.ones(len(train), bool)
    no_english = np.array([LANGUAGE.get(s) != "en" for s in source])
    no_tsquad = source != "tsquad"
    variants: list[tuple[str, Any, np.ndarray]] = [
        ("P(none) alone", None, everything),
        ("final-norm probe", Stacked(FINAL_NORM, c, side=False), everything),
        (f"mid-layer probe ({best_node})", Stacked(best_node, c, side=False), everything),
        ("mid-layer, no English data", Stacked(best_node, c, side=False), no_english),
        ("mid-layer, no translated SQuAD", Stacked(best_node, c, side=False), no_tsquad),
        ("stacked with P(none) and retrieval", Stacked(best_node, c), everything),
        ("stacked, no English data", Stacked(best_node, c), no_english),
        ("stacked, no translated SQuAD", Stacked(best_node, c), no_tsquad),
    ]
    rows = []
    for label, model, keep in variants:
        if model is not None:
            model.fit(train.subset(keep))

        def score(data: Dataset, model: Any = model) -> np.ndarray:
            return data.side[:, 0] if model is None else model.score(data)

        threshold = lowest_threshold(tuning["id-dev"].y, score(tuning["id-dev"]), max_false)
        trained = 0 if model is None else int(keep.sum())  # P(none) is read, not trained
        row: dict[str, Any] = {"variant": label, "trained_on": trained, "threshold": threshold, "sets": {}}
        for set_name, data in tuning.items():
            s = score(data)
            for lang in ("all", "id", "en"):
                sel = np.ones(len(data), bool) if lang == "all" else data.language() == lang
                if sel.sum() == 0:
                    continue
                y, ss = data.y[sel], s[sel]
                row["sets"][f"{set_name}/{lang}"] = {
                    "n": int(sel.sum()),
                    "unanswerable": int(y.sum()),
                    "auc": auc(y, ss),
                    **at_threshold(y, ss, threshold),
                    "curve": curve(y, ss, 21),
                }
        rows.append(row)
        print(
            f"  {label}: "
            + ", ".join(
                f"{k} AUC {v['auc']} abst {v['abstained']} fa {v['false_abstention']}" for k, v in row["sets"].items()
            ),
            flush=True,
        )
    return rows


def _candidate_features(record: dict[str, Any]) -> tuple[list[str], np.ndarray]:
    """Per candidate of one reading: log P(letter), log(retrieval rank + 1), and its place in the
    prompt (0 first .. 1 last): what today's calibrated choice uses, and the position a small
    reader is biased by."""
    letters = [k for k in record["probs"] if k != "none"]
    last = max(len(letters) - 1, 1)
    rows = [
        [math.log(max(record["probs"][k], 1e-12)), math.log(record["ranks"][k] + 1.0), i / last]
        for i, k in enumerate(letters)
    ]
    return letters, np.asarray(rows, dtype=np.float64)


def evidence_choice(train: Dataset, tuning: dict[str, Dataset]) -> dict[str, Any]:
    """Does a choice learned from the training data's gold sentences pick a gold sentence first
    more often than today's calibrated first choice (log P(letter) - log(rank + 1), ``rag.read``)?
    A logistic regression over each candidate's features (``_candidate_features``), fitted on the
    answerable training questions whose gold sentence was read; the share of such questions in
    id-dev and the dev split whose first choice is gold, by each rule ({} when the training data
    has no gold sentence read). The place in the prompt assumes the product's best-first order."""
    from sklearn.linear_model import LogisticRegression

    from rag.read import ReadingPolicy

    x, y = [], []
    for r in train.records:
        if r["answerable"] and r["gold"]:
            letters, f = _candidate_features(r)
            x.append(f)
            y.extend(k in r["gold"] for k in letters)
    if not x or len(set(y)) < 2:
        return {}
    learned = LogisticRegression(max_iter=1000).fit(np.vstack(x), np.asarray(y))
    prior = ReadingPolicy().read_rank_prior
    rules = {
        "letter probability alone": lambda f: f[:, 0],
        f"calibrated (today: log P - {prior:g} log(rank + 1))": lambda f: f[:, 0] - prior * f[:, 1],
        "learned (log P, rank, place in prompt)": lambda f: learned.decision_function(f),
    }
    out: dict[str, Any] = {
        "learned_coef": [round(float(c), 3) for c in learned.coef_[0]],
        "trained_on": len(x),
        "sets": {},
    }
    for name, data in tuning.items():
        scored = [r for r in data.records if r["answerable"] and r["gold"]]
        cells = {}
        for label, rule in rules.items():
            hits = 0
            for r in scored:
                letters, f = _candidate_features(r)
                hits += letters[int(np.argmax(rule(f)))] in r["gold"]
            cells[label] = round(hits / max(len(scored), 1), 3)
        out["sets"][name] = {"n": len(scored), **cells}
    return out


def write_report(rows: list[dict[str, Any]], provenance: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "answerability.json").write_text(json.dumps({"provenance": provenance, "rows": rows}, indent=1))
    sets = list(rows[0]["sets"])
    lines = [
        f"# Answerability: ablation ({provenance['model']})",
        "",
        "Each cell: AUC · unanswerable abstained · false abstention, at the variant's threshold chosen on id-dev "
        f"(false abstention ≤ {provenance['max_false_abstention']}). Generated by `{provenance['command']}`.",
        "",
        "| variant | trained on | " + " | ".join(sets) + " |",
        "|---|---|" + "---|" * len(sets),
    ]
    for row in rows:
        cells = [
            f"{c['auc']} · {c['abstained']} · {c['false_abstention']} (n={c['n']})"
            for c in (row["sets"][s] for s in sets)
        ]
        label = f"{row['variant']} **(shipped)**" if row.get("shipped") else row["variant"]
        lines.append(f"| {label} | {row['trained_on']} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"## Node and C, chosen by grouped {len(provenance['cv'])}-cell cross-validation on the training data",
        "",
        "| node | C | CV AUC |",
        "|---|---|---|",
        *(f"| {row['node']} | {row['C']:g} | {row['cv_auc']} |" for row in provenance["cv"]),
        "",
        f"Trained on {provenance['trained_on']}.",
    ]
    choice = provenance.get("evidence_choice")
    if choice:
        rules = [k for k in next(iter(choice["sets"].values())) if k != "n"]
        lines += [
            "",
            "## Evidence choice: first choice is a gold sentence (answerable questions whose gold sentence was read)",
            "",
            f"The learned rule is fitted on {choice['trained_on']} training questions (coefficients "
            f"{choice['learned_coef']}).",
            "",
            "| set | n | " + " | ".join(rules) + " |",
            "|---|---|" + "---|" * len(rules),
            *(
                f"| {name} | {cell['n']} | " + " | ".join(str(cell[r]) for r in rules) + " |"
                for name, cell in choice["sets"].items()
            ),
        ]
    lines += ["", "## Curves (threshold: abstained / false abstention)", ""]
    for row in rows:
        for s in sets:
            points = ", ".join(f"{p['abstained']}/{p['false_abstention']}" for p in row["sets"][s]["curve"])
            lines.append(f"- {row['variant']}, {s}: {points}")
    (out / "answerability.md").write_text("\n".join(lines) + "\n")


def main(args: argparse.Namespace, settings: Settings) -> int:
    settings = settings.model_copy(update={"backend": "llamacpp"})
    model_sha256, n_layer = model_identity(settings)
    nodes = captured_nodes(n_layer)
    prompt_hash = prompt_key(settings)
    out_dir = cache_dir(features_root(settings), settings.llm, model_sha256, prompt_hash, nodes, shown_key(settings))
    shard_root = settings.data_dir / "train" / "shards"
    if not (shard_root / "done").is_file():
        print(f"==> building training shards from ../shared/data into {shard_root}", flush=True)
        shards = build_shards(shard_root, args.shard_size)
        (shard_root / "done").write_text("\n".join(s.name for s in shards))
    shards = [shard_root / name for name in (shard_root / "done").read_text().split()][: args.shards]
    print(f"==> features in {out_dir} (nodes: {', '.join(nodes)})", flush=True)
    have = extract_all(settings, out_dir, nodes, shards, args.minutes)
    if args.features_only:
        return 0
    if len(have) < 4:
        print(f"only {len(have)} training shards read so far; run again to read more", file=sys.stderr)
        return 1
    train = Dataset.load(out_dir, have)
    tuning = {name: Dataset.load(out_dir, [name]) for name in TUNING_SETS}
    print(
        f"==> training on {len(train)} questions ({int(train.y.sum())} unanswerable) from {len(have)} shards",
        flush=True,
    )
    mid = [n for n in nodes if n != FINAL_NORM]
    node, c, cv_table = choose_probe(train, mid, tuple(args.c))
    rows = report_rows(train, tuning, node, c, args.max_false_abstention)
    # which of the two full-data probes ships is chosen on id-dev like the threshold: the one that
    # abstains on more near-misses at the bound (then the higher AUC)
    candidates = [r for r in rows if r["variant"].startswith(("mid-layer probe", "stacked with"))]
    shipped = max(candidates, key=lambda r: (r["sets"]["id-dev/all"]["abstained"], r["sets"]["id-dev/all"]["auc"]))
    shipped["shipped"] = True
    stacked = Stacked(node, c, side=shipped["variant"].startswith("stacked")).fit(train)
    sources: dict[str, int] = {}
    for s in train.source():
        sources[str(s)] = sources.get(str(s), 0) + 1
    provenance = {
        "model": settings.llm,
        "model_sha256": model_sha256,
        "prompt_hash": prompt_hash,
        "node": node,
        "C": c,
        "variant": shipped["variant"],
        "command": f"kutip --model {settings.llm} train --shards {len(have)}",  # shards are read in a fixed order
        "data": "../shared/data (IDK-MRC train, IDK-MRC translated SQuAD 2.0 dev, FacQA train, English SQuAD 2.0 / NQ / MuSiQue "
        "splits of Lavi, Milo & Geva 2025); id-dev's questions and passages left out",
        "credit": "IDK-MRC (Putri & Oh, EMNLP 2022); TyDi QA (Clark et al., TACL 2020); SQuAD 2.0 (Rajpurkar et al., ACL 2018); "
        "Natural Questions (Kwiatkowski et al., TACL 2019); MuSiQue (Trivedi et al., TACL 2022); FacQA (Purwarianti et al. "
        "2007) via IndoNLU (Wilie et al., AACL 2020); English splits by Lavi, Milo & Geva (2025)",
        "trained_on": {
            "questions": len(train),
            "unanswerable": int(train.y.sum()),
            "shards": len(have),
            "by_source": sources,
        },
        "threshold_chosen_on": "id-dev (../shared/bench/id-dev), lowest threshold with false abstention <= "
        f"{args.max_false_abstention}",
        "max_false_abstention": args.max_false_abstention,
        "cv": cv_table,
        "id_dev": shipped["sets"].get("id-dev/all"),
    }
    provenance["id_dev"] = {k: v for k, v in (provenance["id_dev"] or {}).items() if k != "curve"}
    provenance["evidence_choice"] = evidence_choice(train, tuning)
    print(f"  evidence choice: {provenance['evidence_choice']['sets']}", flush=True)
    probe = stacked.export(settings.llm, model_sha256, prompt_hash, shipped["threshold"], provenance)
    settings.probes_dir.mkdir(parents=True, exist_ok=True)
    target = settings.probes_dir / f"{settings.llm}.json"
    target.write_text(probe.model_dump_json(indent=1) + "\n")
    write_report(rows, provenance, RESULTS / settings.llm)
    print(f"==> wrote {target} and {RESULTS / settings.llm / 'answerability.md'}", flush=True)
    return 0
