"""Training corpora for the answerability probe, built from ``../shared/data/`` the way id-dev is built.

Each *shard* is a folder in the benchmark format of ``../shared/bench/id-dev/`` (``questions.json``
and ``corpus/``): a few dozen questions, answerable and near-miss unanswerable ones, over their
gold passages plus distractors (half lexical near-misses, half random), so that kutip's own
retrieval finds something close to every question and the read step sees what it sees in use.

What never enters a shard: every id-dev question (by original id) and every passage id-dev uses
(by index and by text), and every other question about those passages. The held-out test split
of ``eval/questions.yaml`` is over the seed articles, which no source here contains.

Sources (``SOURCES``): IDK-MRC train (Indonesian; answerable and human-checked unanswerable),
SQuAD 2.0 dev machine-translated to Indonesian, FacQA train (Indonesian news, answerable only), and
the English SQuAD 2.0 / Natural Questions / MuSiQue splits of Lavi, Milo & Geva (2025). Credit and
licences: ``../shared/data/README.md``.
"""

from __future__ import annotations

import ast
import csv
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

DATA_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
ID_DEV = Path(__file__).resolve().parent.parent.parent / "shared" / "bench" / "id-dev"

SOURCES = ("idk", "tsquad", "facqa", "squad", "nq", "musique")
LANGUAGE = {"idk": "id", "tsquad": "id", "facqa": "id", "squad": "en", "nq": "en", "musique": "en"}
# The order shards are built and read in: Indonesian first and most, every source early, so a run
# stopped at any point has a usable mix.
ROTATION = ("idk", "squad", "idk", "tsquad", "idk", "nq", "idk", "facqa", "idk", "musique", "tsquad", "idk")


class Item(BaseModel):
    """One labelled question about one passage."""

    source: str
    orig_id: str
    question: str
    passage: str  # passage key within its source
    answerable: bool
    answers: list[str] = []


class Pool(BaseModel):
    """A source's usable passages (key -> text) and questions, after the id-dev exclusions."""

    source: str
    passages: dict[str, str]
    items: list[Item]


def _norm(text: str) -> str:
    return " ".join(text.split()).lower()


def id_dev_exclusions(bench: Path = ID_DEV) -> tuple[set[str], set[str], set[tuple[str, int]]]:
    """(question ids, normalised passage texts, (source, index) passages) that id-dev uses."""
    sources = json.loads((bench / "sources.json").read_text(encoding="utf-8"))
    question_ids = {q["orig_id"] for q in sources["questions"].values()}
    texts = {_norm(p.read_text(encoding="utf-8")) for p in (bench / "corpus").glob("*.txt")}
    indexed: set[tuple[str, int]] = set()
    for entry in sources["corpus"].values():
        index = entry.get("index")
        for i in index if isinstance(index, list) else [index]:
            if i is not None:
                indexed.add((entry["source"], int(i)))
    return question_ids, texts, indexed


def _squad2(path: Path, source: str, excluded: tuple[set[str], set[str], set[tuple[str, int]]]) -> Pool:
    question_ids, texts, indexed = excluded
    data = json.loads(path.read_text(encoding="utf-8"))
    passages: dict[str, str] = {}
    items: list[Item] = []
    for i, paragraph in enumerate(data):
        context = paragraph["context"]
        if ("IDK-MRC", i) in indexed and source == "idk" or _norm(context) in texts:
            continue
        if any(q["id"] in question_ids for q in paragraph["qas"]):
            continue  # a passage id-dev asks about: none of its questions is used
        key = f"p{i}"
        passages[key] = context
        for q in paragraph["qas"]:
            items.append(
                Item(
                    source=source,
                    orig_id=q["id"],
                    question=" ".join(q["question"].split()),
                    passage=key,
                    answerable=not q.get("is_impossible", False),
                    answers=[a["text"] for a in q.get("answers", []) if a.get("text")],
                )
            )
    return Pool(source=source, passages=passages, items=items)


def detokenize(tokens: list[str]) -> str:
    """FacQA's token lists as text (no space before closing punctuation, none after opening)."""
    text = " ".join(tokens)
    text = re.sub(r" ([,.;:!?)\]%])", r"\1", text)
    text = re.sub(r"([(\[]) ", r"\1", text)
    return re.sub(r'" (.*?) "', r'"\1"', text)


def _facqa(path: Path, excluded: tuple[set[str], set[str], set[tuple[str, int]]]) -> Pool:
    _, texts, indexed = excluded
    passages: dict[str, str] = {}
    items: list[Item] = []
    with path.open(encoding="utf-8") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            if ("FacQA", i) in indexed:
                continue
            tokens = ast.literal_eval(row["passage"])
            labels = ast.literal_eval(row["seq_label"])
            passage = detokenize(tokens)
            if _norm(passage) in texts:
                continue
            answer = detokenize([t for t, lab in zip(tokens, labels) if lab != "O"])
            key = f"r{i}"
            passages[key] = passage
            question = detokenize(ast.literal_eval(row["question"]))
            items.append(
                Item(
                    source="facqa",
                    orig_id=f"row {i}",
                    question=question,
                    passage=key,
                    answerable=True,
                    answers=[answer],
                )
            )
    return Pool(source="facqa", passages=passages, items=items)


_INSTRUCTION = re.compile(r"Passage:\s*(?P<passage>.*?)\s*Question:\s*(?P<question>.*?)\s*Answer:\s*$", re.S)


def _english(folder: Path, source: str) -> Pool:
    passages: dict[str, str] = {}
    items: list[Item] = []
    for answerable in (True, False):
        path = folder / f"{'answerable' if answerable else 'unanswerable'}_train.json"
        for i, entry in enumerate(json.loads(path.read_text(encoding="utf-8"))):
            m = _INSTRUCTION.search(entry["instruction"])
            if not m:
                continue
            key = f"{'a' if answerable else 'u'}{i}"
            passages[key] = m["passage"]
            answer = (entry.get("gt_answer") or "").strip()
            items.append(
                Item(
                    source=source,
                    orig_id=f"{path.name}#{i}",
                    question=" ".join(m["question"].split()),
                    passage=key,
                    answerable=answerable,
                    answers=[answer] if answerable and answer else [],
                )
            )
    return Pool(source=source, passages=passages, items=items)


def load_pool(source: str, data_dir: Path = DATA_DIR, id_dev: Path = ID_DEV) -> Pool:
    """The usable passages and questions of one source."""
    excluded = id_dev_exclusions(id_dev)
    if source == "idk":
        return _squad2(data_dir / "idk-mrc" / "train.json", "idk", excluded)
    if source == "tsquad":
        return _squad2(data_dir / "idk-mrc" / "trans_squad_valid.json", "tsquad", excluded)
    if source == "facqa":
        return _facqa(data_dir / "facqa" / "train_preprocess.csv", excluded)
    if source in ("squad", "nq", "musique"):
        return _english(data_dir / "english" / source, source)
    raise ValueError(f"unknown source {source!r}; known: {', '.join(SOURCES)}")


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if len(w) > 3}


class ShardPlan(BaseModel):
    name: str
    source: str
    questions: list[Item]
    passages: dict[str, str]  # file stem -> text
    gold: dict[str, str]  # question orig_id -> file stem


def plan_shards(pool: Pool, questions_per_shard: int, seed: int) -> Iterator[ShardPlan]:
    """Shards of ``pool``: answerable and unanswerable questions alternating (one question per
    passage), each shard's passages its questions' own plus a third as many distractors, half the
    unused passages sharing most words with its questions, half random."""
    rng = random.Random(f"{seed}-{pool.source}")
    by_label = {True: [i for i in pool.items if i.answerable], False: [i for i in pool.items if not i.answerable]}
    for label in by_label:
        rng.shuffle(by_label[label])
    used_passages: set[str] = set()
    queues = {label: iter(items) for label, items in by_label.items()}
    k = 0
    while True:
        chosen: list[Item] = []
        exhausted = 0
        while len(chosen) < questions_per_shard and exhausted < 2:
            exhausted = 0
            for label in (True, False):
                item = next((i for i in queues[label] if i.passage not in used_passages), None)
                if item is None:
                    exhausted += 1
                    continue
                used_passages.add(item.passage)
                chosen.append(item)
        if len(chosen) < questions_per_shard // 2:
            return
        free = [key for key in pool.passages if key not in used_passages]
        n_distract = max(2, len(chosen) // 3)
        asked = set().union(*(_words(i.question) for i in chosen))
        near = sorted(rng.sample(free, min(len(free), 400)), key=lambda key: -len(asked & _words(pool.passages[key])))
        distractors = near[: n_distract // 2]
        rest = [key for key in free if key not in distractors]
        distractors += rng.sample(rest, min(len(rest), n_distract - len(distractors)))
        used_passages.update(distractors)
        name = f"{pool.source}-{k:03d}"
        stems = {key: f"{pool.source}_{key}" for key in [*(i.passage for i in chosen), *distractors]}
        yield ShardPlan(
            name=name,
            source=pool.source,
            questions=chosen,
            passages={stems[key]: pool.passages[key] for key in stems},
            gold={i.orig_id: stems[i.passage] for i in chosen},
        )
        k += 1


def write_shard(plan: ShardPlan, out: Path) -> Path:
    """The shard as a benchmark folder (``questions.json`` + ``corpus/``), read as id-dev is."""
    folder = out / plan.name
    corpus = folder / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for stem, text in plan.passages.items():
        (corpus / f"{stem}.txt").write_text(text.strip() + "\n", encoding="utf-8")
    questions = [
        {
            "id": f"{plan.name}-{n:02d}",
            "orig_id": item.orig_id,
            "lang": LANGUAGE[plan.source],
            "question": item.question,
            "answerable": item.answerable,
            "facts": [item.answers] if item.answerable and item.answers else [],
            "evidence": {"mode": "any", "items": [[plan.gold[item.orig_id], a] for a in item.answers[:1]]},
        }
        for n, item in enumerate(plan.questions)
    ]
    about = f"kutip training shard from {plan.source} ({len(questions)} questions); see evaluation/trainset.py"
    (folder / "questions.json").write_text(
        json.dumps({"about": about, "questions": questions}, ensure_ascii=False, indent=1)
    )
    return folder


def build_shards(
    out: Path, questions_per_shard: int = 30, seed: int = 34, sources: tuple[str, ...] = SOURCES
) -> list[Path]:
    """Every source's shards written under ``out``, in ``ROTATION`` order (source by source, in
    turn), so a run that reads the first N shards has a mix of all sources."""
    plans = {s: plan_shards(load_pool(s), questions_per_shard, seed) for s in sources}
    order: list[Path] = []
    live = [s for s in ROTATION if s in plans]
    while live:
        for source in list(live):
            plan = next(plans[source], None)
            if plan is None:
                live = [s for s in live if s != source]
                continue
            order.append(write_shard(plan, out))
    return order
