"""``kutip bench``: ingestion throughput, retrieval latency against corpus size, answer latency,
peak memory — for kutip and for the plain llama-index peer, in one run. Prints a table, writes JSON.

Generated corpora (``generate_corpus``): each article recombines 3–6 sentences drawn from the seed
articles, with every number perturbed (±40%), a new id, a new headline built from a seed headline
and a new stated date, so texts are new (embeddings are really computed) but read like the seeds.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import shutil
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from rag.corpus import load_corpus
from rag.index import SentenceIndex
from rag.settings import Settings

DAYS = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]
BENCH_QUESTIONS = [
    "Berapa rudal KN-23 yang ditembakkan Rusia pada 2024?",
    "How many containers did North Korea ship to Russia?",
    "Berapa tentara yang dikirim Korea Utara ke Rusia?",
    "What is the range of the Hwasong-11 missiles?",
    "Siapa yang mengatakan pabrik itu satu-satunya pembuat rudal KN-23?",
    "Through which port did North Korea send weapons to Russia?",
    "Apa kompensasi Rusia untuk Korea Utara?",
    "When did Kim Jong Un visit the munitions factories?",
]


def _perturb(text: str, rng: random.Random) -> str:
    def swap(m: re.Match[str]) -> str:
        raw = m.group()
        value = int(raw.replace(".", ""))
        new = max(1, int(value * rng.uniform(0.6, 1.4)))
        return f"{new:,}".replace(",", ".") if "." in raw else str(new)

    return re.sub(r"(?<![\w/-])\d{1,3}(?:\.\d{3})+(?![\w/])|(?<![\w/.,-])\d{2,4}(?![\w/.,])", swap, text)


def generate_corpus(n: int, out: Path, seeds: Path, seed: int = 7) -> Path:
    """Write ``n`` generated articles (``gen_00000.txt`` …) into ``out`` (see module docstring)."""
    rng = random.Random(seed)
    articles = load_corpus(seeds)
    pool = [s.text for a in articles for s in a.sentences]
    titles = [a.title for a in articles]
    out.mkdir(parents=True, exist_ok=True)
    start = date(2022, 1, 1)
    for i in range(n):
        day = start + timedelta(days=rng.randrange(0, 1200))
        title = _perturb(rng.choice(titles), rng)
        lines = [
            f"{title} ({i})",
            "",
            f"Jakarta, KABAR {'ABCDEFGHIJKLMNOPQRSTUVWXYZ'[i % 26]} – Laporan ini diterbitkan {DAYS[day.weekday()]} ({day.day}/{day.month}/{day.year}).",
        ]
        lines += [_perturb(rng.choice(pool), rng) for _ in range(rng.randint(3, 6))]
        (out / f"gen_{i:05d}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    """CPU time of this process (user + system, all threads): unlike wall time, not inflated when
    other work shares the cores."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _pct(values: list[float], p: float) -> float:
    return round(float(sorted(values)[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]), 4)


def bench_ingest(settings: Settings, corpus: Path) -> dict[str, Any]:
    from rag.retrieve import retrieve

    articles = load_corpus(corpus)
    index = SentenceIndex(settings, rebuild=True)
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    report = index.ingest(articles)
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    sentences = sum(len(a.sentences) for a in articles)
    latencies = []
    for q in BENCH_QUESTIONS * 3:
        t = time.perf_counter()
        retrieve(index, q, settings)
        latencies.append(time.perf_counter() - t)
    disk = sum(p.stat().st_size for p in settings.data_dir.rglob("*") if p.is_file())
    return {
        "articles": len(articles),
        "sentences": sentences,
        "seconds": round(seconds, 2),
        "articles_per_s": round(len(articles) / seconds, 2),
        "sentences_per_s": round(sentences / seconds, 1),
        "cpu_seconds": round(cpu, 1),
        "articles_per_cpu_s": round(len(articles) / cpu, 2),
        "retrieval_p50_ms": round(_pct(latencies, 50) * 1000, 1),
        "retrieval_p95_ms": round(_pct(latencies, 95) * 1000, 1),
        "index_mb": round(disk / 1e6, 1),
        "written": len(report.added),
    }


STAGES = ("retrieval_s", "read_s", "prompt_tokens", "decide_s", "write_s", "answer_tokens", "check_s")


def bench_answers(settings: Settings, questions: list[str], qa: Any = None) -> dict[str, Any]:
    """Answer ``questions`` after a warm-up one; the p50/p95 of the first token and the whole
    answer, the p50 of each stage (``Timings``) and, with llama.cpp, the machine's floor: each
    answer's new prompt tokens ÷ measured prompt tokens/s plus its answer tokens ÷ measured
    generation tokens/s (the first token's floor: the prompt and one generated token). ``qa``: a
    pipeline already built for ``settings``."""
    from rag.llm.llamacpp import LlamaCppLLM
    from rag.qa import QA

    qa = qa or QA(settings)
    qa.ensure_index()
    qa.warm()
    llm = qa.llm(settings)
    # measured where a question's tokens go: right after the cached fixed prefix (later in a longer
    # context, attention makes every token a little slower)
    rates = llm.throughput() if isinstance(llm, LlamaCppLLM) else None
    qa.ask(BENCH_QUESTIONS[0])  # warm-up
    timings = [qa.ask(q).timings for q in questions]
    first = [t.first_token_s for t in timings if t.first_token_s is not None]
    out: dict[str, Any] = {
        "questions": len(timings),
        "first_token_p50_s": _pct(first, 50) if first else None,
        "first_token_p95_s": _pct(first, 95) if first else None,
        "total_p50_s": _pct([t.total_s for t in timings], 50),
        "total_p95_s": _pct([t.total_s for t in timings], 95),
        "stages_p50": {
            stage: _pct(values, 50)
            for stage in STAGES
            if (values := [float(v) for t in timings if (v := t.model_dump()[stage]) is not None])
        },
    }
    if rates is not None:
        prompt_rate, generated_rate = rates
        written = [t for t in timings if t.first_token_s is not None]  # the floor of the answers measured
        read = [(t.prompt_tokens or 0) / prompt_rate for t in written]
        out["machine"] = {
            "prompt_tokens_per_s": round(prompt_rate, 1),
            "generated_tokens_per_s": round(generated_rate, 1),
        }
        out["floor"] = {
            "first_token_p50_s": _pct([r + 1 / generated_rate for r in read], 50),
            "total_p50_s": _pct([r + t.answer_tokens / generated_rate for r, t in zip(read, written)], 50),
        }
    return out


def answer_questions(args: argparse.Namespace) -> list[str]:
    """The questions the answer phase asks: a split of the seeds' evaluation set (``--split``), or
    the bench's own list."""
    if args.split:
        from evaluation.evalset import load_questions

        return [q.question for q in load_questions(split=args.split) if not q.history][: args.questions]
    return BENCH_QUESTIONS[1 : 1 + args.questions]


def bench_peer(settings: Settings, corpus: Path, n_questions: int) -> dict[str, Any]:
    from evaluation.peer import LlamaIndexPeer

    peer = LlamaIndexPeer(settings, corpus_dir=corpus)
    latencies = []
    for q in BENCH_QUESTIONS * 3:
        t = time.perf_counter()
        peer.retriever.retrieve(q)
        latencies.append(time.perf_counter() - t)
    out: dict[str, Any] = {
        "articles": peer.n_documents,
        "ingest_seconds": round(peer.ingest_seconds, 2),
        "articles_per_s": round(peer.n_documents / peer.ingest_seconds, 2),
        "retrieval_p50_ms": round(_pct(latencies, 50) * 1000, 1),
        "retrieval_p95_ms": round(_pct(latencies, 95) * 1000, 1),
    }
    if n_questions:
        peer.ask(BENCH_QUESTIONS[0])
        answers = [peer.ask(q) for q in BENCH_QUESTIONS[1 : 1 + n_questions]]
        firsts = [a.first_token_s for a in answers if a.first_token_s is not None]
        out.update(
            {
                "first_token_p50_s": _pct(firsts, 50) if firsts else None,
                "total_p50_s": _pct([a.total_s for a in answers], 50),
                "total_p95_s": _pct([a.total_s for a in answers], 95),
                "query_to_stream_p50_s": round(_pct([a.retrieval_s for a in answers], 50), 2),
            }
        )
    return out


def main(args: argparse.Namespace, settings: Settings) -> int:
    """Run the phases in order of cost and write ``bench.json`` / ``bench.md`` after each one, so an
    interrupted run keeps what it measured: seeds and the smaller corpora, answers per model, the
    peer, then the largest corpus."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="kutip-bench-"))
    results: dict[str, Any] = {
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "ingest": {},
        "answers": {},
        "peer": {},
        "peak_rss_mb_after": {},
    }

    def save(phase: str, figures: dict[str, Any]) -> None:
        results["peak_rss_mb_after"][phase] = results["peak_rss_mb"] = round(_peak_rss_mb(), 1)
        (out / "bench.json").write_text(json.dumps(results, indent=2))
        (out / "bench.md").write_text(render(results) + "\n")
        print(f"{phase}: {figures}; peak RSS so far {results['peak_rss_mb']} MB", flush=True)

    def ingest(name: str) -> None:
        s = settings.model_copy(update={"data_dir": work / f"data-{name}", "corpus_dir": corpora[name]})
        results["ingest"][name] = bench_ingest(s, corpora[name])
        save(f"ingest {name}", results["ingest"][name])

    try:
        sizes = sorted(int(s) for s in str(args.sizes).split(",") if s.strip())
        smaller, largest = (sizes[:-1], sizes[-1:]) if len(sizes) > 1 else (sizes, [])
        corpora = {"seeds": settings.corpus_dir}
        for n in [] if args.answers_only else sizes:
            corpora[f"generated-{n}"] = generate_corpus(n, work / f"gen{n}", settings.corpus_dir)
        for name in ["seeds", *(f"generated-{n}" for n in smaller if not args.answers_only)]:
            ingest(name)
        seeds_settings = settings.model_copy(update={"data_dir": work / "data-seeds"})
        if args.questions:
            for model in str(args.models).split(","):
                s = seeds_settings.model_copy(update={"llm": model})
                results["answers"][model] = bench_answers(s, answer_questions(args))
                save(f"answers {model}", results["answers"][model])
        if args.answers_only:
            return 0
        peer_settings = seeds_settings.model_copy(update={"llm": "qwen2.5-coder-1.5b"})
        results["peer"]["seeds"] = bench_peer(peer_settings, settings.corpus_dir, args.questions)
        save("peer seeds", results["peer"]["seeds"])
        # the peer also indexes the largest generated corpus of at most 1,000 articles, for the ratio
        # (one 512-token chunk embedding per article makes larger ones take the better part of an hour)
        for n in [n for n in smaller if n <= 1000][-1:]:
            name = f"generated-{n}"
            s = settings.model_copy(update={"data_dir": work / f"peer-{name}", "llm": "qwen2.5-coder-1.5b"})
            results["peer"][name] = bench_peer(s, corpora[name], 0)
            save(f"peer {name}", results["peer"][name])
        for n in largest:
            ingest(f"generated-{n}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("\n" + render(results))
    return 0


def render(results: dict[str, Any]) -> str:
    """The bench figures as Markdown tables (kutip, then the peer beside it where measured)."""
    lines = [
        "| corpus | system | articles | sentences | ingest s | articles/s | articles per CPU s | sentences/s | retrieval p50 ms | p95 ms | index MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results["ingest"].items():
        lines.append(
            f"| {name} | kutip | {r['articles']} | {r['sentences']} | {r['seconds']} | {r['articles_per_s']} | "
            f"{r.get('articles_per_cpu_s', '–')} | {r['sentences_per_s']} | {r['retrieval_p50_ms']} | {r['retrieval_p95_ms']} | {r['index_mb']} |"
        )
        peer = results["peer"].get(name)
        if peer:
            lines.append(
                f"| {name} | llama-index peer | {peer['articles']} | – | {peer['ingest_seconds']} | {peer['articles_per_s']} "
                f"| – | – | {peer.get('retrieval_p50_ms', '–')} | {peer.get('retrieval_p95_ms', '–')} | – |"
            )
    lines += [
        "",
        "| system / model (seeds, after a warm-up question) | first token p50 s | p95 s | total p50 s | total p95 s |",
        "|---|---|---|---|---|",
    ]
    for model, r in results["answers"].items():
        lines.append(
            f"| kutip {model} ({r['questions']} questions) | {r['first_token_p50_s']} | {r['first_token_p95_s']} | "
            f"{r['total_p50_s']} | {r['total_p95_s']} |"
        )
        if r.get("floor"):
            lines.append(
                f"| floor of this machine, {model} (new prompt tokens ÷ prompt tokens/s + answer tokens ÷ "
                f"generation tokens/s) | {r['floor']['first_token_p50_s']} | – | {r['floor']['total_p50_s']} | – |"
            )
    breakdowns = {m: r for m, r in results["answers"].items() if r.get("stages_p50")}
    if breakdowns:
        lines += [
            "",
            "| model (p50 per answer) | retrieval s | read s | new prompt tokens | decide s | write s | answer tokens "
            "| check s | prompt tok/s | generation tok/s |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for model, r in breakdowns.items():
            st, machine = r["stages_p50"], r.get("machine", {})
            cells = [st.get(k, "–") for k in STAGES]
            cells += [machine.get("prompt_tokens_per_s", "–"), machine.get("generated_tokens_per_s", "–")]
            lines.append(f"| {model} | " + " | ".join(str(c) for c in cells) + " |")
    peer = results["peer"].get("seeds", {})
    if peer.get("total_p50_s") is not None:
        lines.append(
            f"| llama-index peer qwen2.5-coder-1.5b | {peer['first_token_p50_s']} | – | {peer['total_p50_s']} | {peer['total_p95_s']} |"
        )
        kutip = results["answers"].get("qwen2.5-coder-1.5b", {})
        if kutip.get("first_token_p50_s") and peer.get("first_token_p50_s"):
            lines.append(
                f"\nPeer / kutip, 1.5B: time to first token {peer['first_token_p50_s'] / kutip['first_token_p50_s']:.1f}×, "
                f"total {peer['total_p50_s'] / kutip['total_p50_s']:.1f}× (p50)."
            )
    for name, peer_run in results["peer"].items():
        mine = results["ingest"].get(name)
        if mine and peer_run.get("articles_per_s"):
            lines.append(
                f"Ingest of {name}: kutip {mine['articles_per_s']} articles/s, peer {peer_run['articles_per_s']} "
                f"({mine['articles_per_s'] / peer_run['articles_per_s']:.2f}×; kutip embeds every sentence, the peer one chunk per article)."
            )
    phases = ", ".join(f"{k} {v} MB" for k, v in results.get("peak_rss_mb_after", {}).items())
    lines.append(f"\nPeak memory (RSS, one process): {results.get('peak_rss_mb')} MB; after each phase: {phases}")
    return "\n".join(lines)
