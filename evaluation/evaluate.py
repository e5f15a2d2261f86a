"""``kutip eval``: run the fixed question set, score answers, write report.json, report.md and plots.

Metrics (each is a mean over the questions it applies to):
- retrieval (answerable): recall@k = share of a question's gold sentences among the top k
  retrieved; MRR = 1 / rank of the first gold sentence (0 if not in the top 10).
- fact recall (answerable): every gold fact has an accepted spelling in the answer text.
- language match (all): the answer (or abstention message) is in the question's language.
- citation recall (answerable, answered): the answer cites all of the question's gold sentences
  (for a benchmark in ``any`` mode: one of them).
- fact and cited (answerable): the answer states the gold fact and cites a gold sentence, in the
  same answer (abstentions count as misses).
- citation precision (answered): share of citations that support their claim, judged
  automatically: a citation counts when it is a gold sentence or contains a gold fact.
- cited characters: characters of cited text per answered question (granularity); citing share:
  share of answered questions with at least one citation; cited characters per citing answer.
- abstention precision: share of abstentions that were on unanswerable questions; abstention
  recall: share of unanswerable questions abstained; false-abstention rate: share of answerable
  questions abstained.
- speed: time to first token and total time per question, p50 and p95.

``--oracle`` measures reading alone: each answerable question is answered from its gold sentences
only (no retrieval), so its fact recall is the ceiling the model reaches with perfect retrieval.

The report also holds the abstention curve: for each P(none) threshold, the share of unanswerable
questions abstained and of answerable ones wrongly abstained, and fact-and-cited, computed from
the recorded P(none) of every answer (run with ``KUTIP_NONE_THRESHOLD=1`` to see the whole curve).

A variant of the reading (``rag.read.ReadingPolicy``, fixed in the product) is measured with
``--policy NAME=VALUE`` (e.g. ``--policy answer_parts=false``); the report records the policy used.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from evaluation.evalset import Question, facts_found, load_questions, resolve_gold, settings_for
from rag.corpus import load_corpus
from rag.llm import model_label
from rag.qa import QA
from rag.query import parse_query
from rag.read import ReadingPolicy
from rag.retrieve import retrieve
from rag.schema import Answer
from rag.settings import Settings
from rag.text import detect_language


class Record(BaseModel):
    """One question's outcome for one system."""

    id: str
    system: str
    category: str
    language: str
    answerable: bool
    question: str
    answer: str
    abstained: bool
    cited_ids: list[str] = []
    cited_texts: list[str] = []
    gold_ids: list[str] = []
    gold_ranks: list[int] = []  # rank (1-based) of each gold sentence in retrieval, 0 = not in top 10
    fact_hit: bool | None = None
    fact_and_cited: bool | None = None
    p_none: float | None = None
    p_unanswerable: float | None = None  # the trained probe's, when it decided (rag.decide)
    decided_by: str | None = None  # "probe" or "p_none"
    written: str | None = None  # the model's text before the check (re-checkable offline)
    copied: bool = False  # the answer was a span copied from its sentence
    considered: list[dict[str, Any]] = []  # what the model read: id, retrieval rank, probability, chosen, gold
    abstain_reason: str | None = None
    language_ok: bool = False
    citation_hit: bool | None = None
    citation_precision: float | None = None
    cited_chars: int = 0
    first_token_s: float | None = None
    total_s: float = 0.0
    error: str | None = None


def _norm(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").split())


def _supports(text: str, q: Question, gold_texts: list[str]) -> bool:
    t = _norm(text)
    return any(g and (g in t or t in g) for g in gold_texts) or any(
        facts_found(t, [alternatives]) for alternatives in q.gold_facts
    )


def _score_answer(rec: Record, q: Question, answer: Answer) -> None:
    """Fill ``rec`` with an answer (or abstention) and what the judge makes of it."""
    rec.answer, rec.abstained, citations = answer.text, answer.abstained, answer.citations
    rec.p_none, rec.abstain_reason, rec.written = answer.p_none, answer.abstain_reason, answer.written
    rec.p_unanswerable, rec.decided_by = answer.p_unanswerable, answer.decided_by
    rec.copied = answer.copied
    rec.considered = [
        {
            "id": f"{c.article_id}:{c.sentence_index}",
            "rank": c.rank,
            "p": c.probability,
            "chosen": c.chosen,
            "gold": f"{c.article_id}:{c.sentence_index}" in rec.gold_ids,
        }
        for c in answer.considered
    ]
    rec.first_token_s, rec.total_s = answer.timings.first_token_s, answer.timings.total_s
    rec.cited_ids = [f"{c.article_id}:{c.sentence_index}" for c in citations]
    rec.cited_texts = [c.sentence for c in citations]
    rec.cited_chars = sum(len(c.sentence) for c in citations)
    rec.language_ok = detect_language(rec.answer) == q.language
    if q.answerable:
        rec.fact_hit = (not rec.abstained) and facts_found(rec.answer, q.gold_facts)
        if not rec.abstained:
            cited, gold = set(rec.cited_ids), set(rec.gold_ids)
            rec.citation_hit = bool(gold) and (bool(cited & gold) if q.evidence_mode == "any" else gold <= cited)
        rec.fact_and_cited = bool(rec.fact_hit and rec.citation_hit)
    if not rec.abstained and citations:
        gold_texts = [_norm(t.text) for t in q.gold_sentences]
        rec.citation_precision = (
            float(np.mean([_supports(t, q, gold_texts) for t in rec.cited_texts])) if q.answerable else 0.0
        )


def _record(q: Question, articles: dict | None, system: str = "kutip") -> Record:
    """An empty record for ``q`` (with its gold sentence ids when ``articles`` are given)."""
    gold_ids = resolve_gold(q, articles) if q.answerable and articles is not None else []
    return Record(
        id=q.id,
        system=system,
        category=q.category,
        language=q.language,
        answerable=q.answerable,
        question=q.question,
        answer="",
        abstained=False,
        gold_ids=gold_ids,
    )


def score_kutip(q: Question, qa: QA, articles: dict, settings: Settings) -> Record:
    rec = _record(q, articles)
    try:
        answer = qa.ask(q.question, q.history or None)
    except Exception as exc:
        rec.error = f"{type(exc).__name__}: {exc}"
        return rec
    _score_answer(rec, q, answer)
    if q.answerable:
        found = retrieve(qa.index, parse_query(q.question, answer.standalone_question), settings, top_k=10)
        ranked = [h.sentence.id for h in found.hits]
        rec.gold_ranks = [ranked.index(g) + 1 if g in ranked else 0 for g in rec.gold_ids]
    return rec


def score_oracle(q: Question, qa: QA, articles: dict, settings: Settings) -> Record:
    """Answer an answerable question from its gold sentences alone (the reading ceiling)."""
    rec = _record(q, articles)
    stored = qa.index.get(rec.gold_ids)
    gold = [(stored[i], 1.0) for i in rec.gold_ids if i in stored]
    answer = qa.answer_from(qa.query(q.question, q.history or None, settings), gold, 1.0, settings)
    _score_answer(rec, q, answer)
    return rec


_PEER_REFUSAL = re.compile(
    r"NO[_ ]ANSWER|tidak (?:memuat|mengandung|menyebutkan|menjelaskan|ada informasi|terdapat informasi)|"
    r"(?:do(?:es)? not|don't|doesn't) (?:contain|mention|say|state|provide|include)|no information|"
    r"not (?:mentioned|stated|provided|specified)|tidak disebutkan|tidak dijelaskan|cannot be answered|tidak dapat dijawab",
    re.IGNORECASE,
)


def score_peer(q: Question, peer: Any) -> Record:
    gold_texts = [_norm(t.text) for t in q.gold_sentences]
    rec = _record(q, None, "llama-index")
    question = q.question if not q.history else " ".join([h[0] for h in q.history] + [q.question])
    try:
        answer = peer.ask(question)
    except Exception as exc:
        rec.error = f"{type(exc).__name__}: {exc}"
        return rec
    rec.answer = answer.text
    rec.abstained = (not answer.text) or bool(_PEER_REFUSAL.search(answer.text))
    rec.first_token_s, rec.total_s = answer.first_token_s, answer.total_s
    rec.cited_texts = [c.text for c in answer.citations]
    rec.cited_chars = sum(len(c.text) for c in answer.citations)
    rec.language_ok = detect_language(answer.text) == q.language
    if q.answerable:
        rec.fact_hit = (not rec.abstained) and facts_found(answer.text, q.gold_facts)
        if not rec.abstained:
            cited = " ".join(_norm(c.text) for c in answer.citations)
            rec.citation_hit = bool(gold_texts) and all(g in cited for g in gold_texts)
    if not rec.abstained and answer.citations:
        rec.citation_precision = (
            float(np.mean([any(g in _norm(c.text) for g in gold_texts) for c in answer.citations]))
            if q.answerable
            else 0.0
        )
    return rec


def _mean(values: list[Any]) -> float | None:
    values = [v for v in values if v is not None]
    return round(float(np.mean(values)), 3) if values else None


def _pct(values: list[float | None], p: float) -> float | None:
    values = [v for v in values if v is not None]
    return round(float(np.percentile(values, p)), 2) if values else None


def metrics(records: list[Record]) -> dict[str, Any]:
    """The metric table for one system over ``records`` (see the module docstring)."""
    answerable = [r for r in records if r.answerable]
    unanswerable = [r for r in records if not r.answerable]
    answered = [r for r in records if not r.abstained and not r.error]
    abstained = [r for r in records if r.abstained]
    out: dict[str, Any] = {"questions": len(records), "errors": sum(1 for r in records if r.error)}
    with_ranks = [r for r in answerable if r.gold_ranks]
    if with_ranks:
        for k in (1, 5, 10):
            out[f"recall@{k}"] = _mean([np.mean([0 < x <= k for x in r.gold_ranks]) for r in with_ranks])
        out["mrr"] = _mean([1.0 / min(x for x in r.gold_ranks if x) if any(r.gold_ranks) else 0.0 for r in with_ranks])
    out["fact_recall"] = _mean([r.fact_hit for r in answerable])
    out["fact_and_cited"] = _mean([r.fact_and_cited for r in answerable])
    out["language_match"] = _mean([r.language_ok for r in records])
    out["citation_recall"] = _mean([r.citation_hit for r in answerable if not r.abstained])
    out["citation_precision"] = _mean([r.citation_precision for r in answered])
    out["cited_chars_per_answer"] = round(float(np.mean([r.cited_chars for r in answered])), 1) if answered else None
    citing = [r for r in answered if r.cited_texts]
    out["citing_share"] = round(len(citing) / len(answered), 3) if answered else None
    out["cited_chars_per_citing_answer"] = round(float(np.mean([r.cited_chars for r in citing])), 1) if citing else None
    out["abstention_precision"] = _mean([not r.answerable for r in abstained])
    out["abstention_recall"] = _mean([r.abstained for r in unanswerable])
    out["false_abstention_rate"] = _mean([r.abstained for r in answerable])
    out["first_token_p50_s"] = _pct([r.first_token_s for r in records], 50)
    out["first_token_p95_s"] = _pct([r.first_token_s for r in records], 95)
    out["total_p50_s"] = _pct([r.total_s for r in records], 50)
    out["total_p95_s"] = _pct([r.total_s for r in records], 95)
    return out


def breakdown(records: list[Record], key: str) -> dict[str, dict[str, Any]]:
    groups: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        groups[getattr(r, key)].append(r)
    return {k: metrics(v) for k, v in sorted(groups.items())}


MAIN_METRICS = [
    "recall@5",
    "fact_recall",
    "fact_and_cited",
    "citation_recall",
    "citation_precision",
    "abstention_recall",
    "false_abstention_rate",
    "cited_chars_per_answer",
    "citing_share",
    "cited_chars_per_citing_answer",
    "first_token_p50_s",
    "total_p50_s",
    "total_p95_s",
]


def markdown_table(columns: dict[str, dict[str, Any]], rows: list[str]) -> str:
    names = list(columns)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for row in rows:
        cells = []
        for name in names:
            value = columns[name].get(row)
            cells.append("–" if value is None else f"{value}")
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(report: dict[str, Any], out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    for key in ("category", "language"):
        fig, ax = plt.subplots(figsize=(9, 4))
        systems = list(report["systems"])
        groups = sorted({g for s in systems for g in report["systems"][s][f"by_{key}"]})
        width = 0.8 / (2 * len(systems))
        for si, system in enumerate(systems):
            data = report["systems"][system][f"by_{key}"]
            for mi, metric in enumerate(("fact_recall", "citation_recall")):
                values = [(data.get(g, {}).get(metric) or 0) for g in groups]
                pos = np.arange(len(groups)) + (si * 2 + mi) * width
                ax.bar(pos, values, width, label=f"{system} {metric}")
        ax.set_xticks(np.arange(len(groups)) + 0.4 - width / 2)
        ax.set_xticklabels(groups, rotation=20)
        ax.set_ylim(0, 1.05)
        ax.set_title(f"Fact and citation recall per {key}")
        ax.legend(fontsize=7)
        fig.tight_layout()
        name = f"by_{key}.png"
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        files.append(name)
    fig, ax = plt.subplots(figsize=(7, 4))
    for system, recs in report["records"].items():
        totals = [r["total_s"] for r in recs if r["total_s"]]
        if totals:
            ax.hist(totals, bins=20, alpha=0.6, label=f"{system} total")
        firsts = [r["first_token_s"] for r in recs if r["first_token_s"]]
        if firsts:
            ax.hist(firsts, bins=20, alpha=0.6, label=f"{system} first token")
    ax.set_xlabel("seconds")
    ax.set_title("Latency distribution")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "latency.png", dpi=110)
    plt.close(fig)
    files.append("latency.png")
    return files


# dense where the default is chosen (a few hundredths), coarse above
CURVE_THRESHOLDS = (0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7, 1.01)


def curve(
    records: list[Record],
    thresholds: tuple[float, ...] = CURVE_THRESHOLDS,
) -> list[dict[str, Any]]:
    """Abstention recall, false abstention and fact-and-cited had kutip abstained at each P(none)
    threshold (from the recorded P(none); answers abstained for another reason stay abstained)."""
    rows = []
    for t in thresholds:

        def out(r: Record, t: float = t) -> bool:
            return r.abstained or (r.p_none is not None and r.p_none >= t)

        rows.append(
            {
                "none_threshold": t,
                "abstention_recall": _mean([out(r) for r in records if not r.answerable]),
                "false_abstention_rate": _mean([out(r) for r in records if r.answerable]),
                "fact_and_cited": _mean([bool(r.fact_and_cited) and not out(r) for r in records if r.answerable]),
            }
        )
    return rows


def run(
    settings: Settings,
    questions: list[Question],
    *,
    compare: bool = False,
    oracle: bool = False,
    progress: Any = None,
    policy: ReadingPolicy | None = None,
) -> dict[str, Any]:
    """Evaluate kutip (and the llama-index peer with ``compare``) on ``questions``; with ``oracle``,
    kutip alone on the answerable ones, each shown only its gold sentences. ``policy``: a variant
    of the reading to measure (default: the product's)."""
    if oracle:
        questions, compare = [q for q in questions if q.answerable], False
    articles = {a.id: a for a in load_corpus(settings.corpus_dir)}
    qa = QA(settings, policy=policy)
    qa.ensure_index()
    qa.llm()  # load before timing
    records: dict[str, list[Record]] = {"kutip": []}
    score = score_oracle if oracle else score_kutip
    for q in questions:
        records["kutip"].append(score(q, qa, articles, settings))
        if progress:
            progress("kutip", q)
    if compare:
        from evaluation.peer import LlamaIndexPeer

        peer = LlamaIndexPeer(settings)
        records["llama-index"] = []
        for q in questions:
            records["llama-index"].append(score_peer(q, peer))
            if progress:
                progress("llama-index", q)
    probe = qa.probe(settings)
    return {
        "model": model_label(settings).split(":", 1)[1],
        "backend": settings.backend,
        "oracle": oracle,
        "none_threshold": settings.p_none_threshold,
        "decided_by": "probe" if probe else "P(none)",
        "probe": None
        if probe is None
        else {"node": probe.node, "threshold": probe.threshold, "command": probe.provenance.get("command")},
        "settings": settings.model_dump(mode="json", include={"top_k", "none_threshold", "abstain_threshold"}),
        "policy": qa.policy.model_dump(mode="json"),
        "questions": len(questions),
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "systems": score_systems(records),
        "records": {name: [r.model_dump() for r in recs] for name, recs in records.items()},
    }


def score_systems(records: dict[str, list[Record]]) -> dict[str, Any]:
    """Each system's figures: overall, by category and by language."""
    return {
        name: {
            "overall": metrics(recs),
            "by_category": breakdown(recs, "category"),
            "by_language": breakdown(recs, "language"),
            "curve": curve(recs),
        }
        for name, recs in records.items()
    }


def rescore(report: dict[str, Any]) -> dict[str, Any]:
    """Recompute every figure of a report from its stored records (after a metric is added)."""
    report["systems"] = score_systems(
        {name: [Record.model_validate(r) for r in recs] for name, recs in report["records"].items()}
    )
    return report


def replaced(base: dict[str, Any], rerun: dict[str, Any]) -> dict[str, Any]:
    """``base`` with its records for the questions ``rerun`` asked replaced by ``rerun``'s: a change
    that can only alter some answers is measured by re-asking those (greedy decoding: the others
    would come out the same). ``base`` must have been run at the same P(none) threshold."""
    if base.get("none_threshold") != rerun.get("none_threshold"):
        raise ValueError("the re-run and the report it updates must use the same P(none) threshold")
    out = json.loads(json.dumps(base))
    for name, records in rerun["records"].items():
        new = {r["id"]: r for r in records}
        out["records"][name] = [new.pop(r["id"], r) for r in out["records"].get(name, [])] + list(new.values())
    out["replaced"] = sorted({r["id"] for recs in rerun["records"].values() for r in recs})
    return rescore(out)


def at_threshold(report: dict[str, Any], none_threshold: float) -> dict[str, Any]:
    """A report as if it had been run at ``none_threshold``: the decision to abstain after reading is
    a function of the recorded P(none) alone, so a run at threshold 1 (nothing abstained for P(none))
    gives every lower threshold's answers without running the model again. Only lowering is exact."""
    if none_threshold > report.get("none_threshold", 1.0):
        raise ValueError("a report can only be re-scored at a lower P(none) threshold than it was run at")
    out = json.loads(json.dumps(report))
    for records in out["records"].values():
        for r in records:
            if not r["abstained"] and r.get("p_none") is not None and r["p_none"] >= none_threshold:
                r.update(
                    abstained=True,
                    answer=f"(abstained: P(none) = {r['p_none']:.2f})",
                    cited_ids=[],
                    cited_texts=[],
                    cited_chars=0,
                    citation_hit=None,
                    citation_precision=None,
                    fact_hit=False if r["answerable"] else None,
                    fact_and_cited=False if r["answerable"] else None,
                    language_ok=True,
                    abstain_reason=f"P(none) = {r['p_none']:.2f} (re-scored)",
                )
    out["none_threshold"] = none_threshold
    out["rescored_from"] = report.get("none_threshold")
    return rescore(out)


def write_report(report: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    plots = plot(report, out)
    overall = {name: s["overall"] for name, s in report["systems"].items()}
    lines = [
        f"# kutip evaluation{' (oracle: gold sentences only)' if report.get('oracle') else ''} — {report['backend']}:{report['model']}, "
        f"{report['questions']} questions ({report['created']})",
        "",
        markdown_table(
            overall,
            [
                "questions",
                "errors",
                "recall@1",
                "recall@5",
                "recall@10",
                "mrr",
                *MAIN_METRICS[1:],
                "language_match",
                "abstention_precision",
                "first_token_p95_s",
            ],
        ),
        "",
        "## By category (kutip)",
        "",
        markdown_table(report["systems"]["kutip"]["by_category"], MAIN_METRICS),
        "",
        "## By language (kutip)",
        "",
        markdown_table(report["systems"]["kutip"]["by_language"], MAIN_METRICS),
        "",
        f"## Abstention curve (kutip; this run's none_threshold: {report.get('none_threshold')})",
        "",
        "| P(none) threshold | unanswerable abstained | answerable wrongly abstained | fact and cited |",
        "|---|---|---|---|",
        *[
            f"| {row['none_threshold']} | {row['abstention_recall']} | {row['false_abstention_rate']} | {row['fact_and_cited']} |"
            for row in report["systems"]["kutip"].get("curve", [])
        ],
        "",
        "## Metric definitions",
        "",
        __doc__.split("Metrics (each is a mean over the questions it applies to):")[1].strip(),
        "",
        *[f"![{p}]({p})" for p in plots],
    ]
    (out / "report.md").write_text("\n".join(lines) + "\n")


def policy_from(assignments: list[str]) -> ReadingPolicy:
    """The reading policy with ``NAME=VALUE`` assignments (``answer_parts=false``) over the product's."""
    values: dict[str, str] = {}
    for item in assignments:
        name, sep, value = item.partition("=")
        if not sep or name.strip() not in ReadingPolicy.model_fields:
            raise SystemExit(
                f"kutip eval: --policy takes NAME=VALUE with NAME one of {', '.join(ReadingPolicy.model_fields)}; got {item!r}"
            )
        values[name.strip()] = value.strip()
    try:
        return ReadingPolicy.model_validate(values)
    except ValueError as exc:
        raise SystemExit(f"kutip eval: --policy: {exc}") from None


def main(args: argparse.Namespace, settings: Settings) -> int:
    from rich.progress import Progress

    if args.rescore:
        report = at_threshold(json.loads(Path(args.rescore).read_text()), settings.p_none_threshold)
        write_report(report, Path(args.out))
        print(markdown_table({n: s["overall"] for n, s in report["systems"].items()}, ["questions", *MAIN_METRICS[1:]]))
        return 0
    policy = policy_from(getattr(args, "policy", None) or [])
    path = Path(args.questions)
    questions = load_questions(path, args.split)
    settings = settings_for(path, settings)
    if args.every > 1:  # a sample that keeps the set's mix: every k-th question
        questions = questions[:: args.every]
    if args.limit:
        questions = questions[: args.limit]
    if args.only:
        wanted = {i.strip() for i in args.only.split(",") if i.strip()}
        if unknown := wanted - {q.id for q in questions}:
            raise SystemExit(f"kutip eval: no such question id(s) in {path}: {', '.join(sorted(unknown))}")
        questions = [q for q in questions if q.id in wanted]
    total = len(questions) * (2 if args.compare else 1)
    with Progress(transient=True) as bar:
        task = bar.add_task("evaluating", total=total)
        report = run(
            settings,
            questions,
            compare=args.compare,
            oracle=args.oracle,
            progress=lambda system, q: bar.update(task, advance=1, description=f"{system} {q.id}"),
            policy=policy,
        )
    if args.into:
        report = replaced(json.loads(Path(args.into).read_text()), report)
    out = Path(args.out)
    write_report(report, out)
    overall = {name: s["overall"] for name, s in report["systems"].items()}
    print(markdown_table(overall, ["questions", "recall@5", "mrr", *MAIN_METRICS[1:], "language_match"]))
    print(f"\nreport: {out / 'report.md'}")
    return 0
