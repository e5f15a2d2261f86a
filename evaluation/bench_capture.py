"""What reading the hidden states costs: the read step with and without the probe's capture.

Each question is read twice per round over the same candidates, once plain and once capturing
the shipped probe's node (or ``--nodes``), in alternating order, with the KV cache rewound to the
fixed prefix before each read so both pay for the same new tokens. Prints the median seconds of
each, the overhead, and whether P(none) and every probability were identical.

    .venv/bin/python -m evaluation.bench_capture [--rounds 3] [--nodes l_out-15 result_norm]
"""

from __future__ import annotations

import argparse
import statistics
import time

from evaluation.evalset import QUESTIONS_FILE, load_questions
from rag.hidden import StateReader
from rag.prompts import fixed_messages
from rag.qa import QA
from rag.retrieve import retrieve
from rag.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--questions", type=int, default=8, help="dev-split questions read")
    parser.add_argument("--nodes", nargs="*", default=None, help="graph nodes to capture (default: the probe's)")
    args = parser.parse_args()
    settings = Settings()
    qa = QA(settings)
    qa.ensure_index()
    qa.warm()
    llm = qa.llm(settings)
    assert isinstance(llm, StateReader), "the embedded llama.cpp backend gives hidden states; this one does not"
    probe = qa.probe(settings)
    nodes = args.nodes or ([probe.node] if probe else ["l_out-15"])
    from rag.llm.chatml import chatml

    prefix = chatml(fixed_messages(settings.prompts_dir), open_turn=False)
    plain: list[float] = []
    captured: list[float] = []
    same = total = 0
    questions = [q for q in load_questions(QUESTIONS_FILE, "dev") if not q.history][: args.questions]
    for r in range(args.rounds):
        for q in questions:
            query = qa.query(q.question, None, settings)
            hits = retrieve(qa.index, query, settings).hits
            sentences = [(h.sentence, h.dense) for h in hits]
            results = {}
            for mode in ("plain", "capture") if r % 2 == 0 else ("capture", "plain"):
                llm.prime(prefix)  # the fixed prefix only: both reads process the same new tokens
                started = time.perf_counter()
                reading, _ = qa.read(query, sentences, settings, states=nodes if mode == "capture" else ())
                (captured if mode == "capture" else plain).append(time.perf_counter() - started)
                results[mode] = reading.probs
            total += 1
            same += results["plain"] == results["capture"]
    p, c = statistics.median(plain), statistics.median(captured)
    print(f"nodes captured: {', '.join(nodes)}; {len(plain)} reads each")
    print(f"read step, median: plain {p:.3f} s, with capture {c:.3f} s, overhead {100 * (c - p) / p:+.1f}%")
    print(f"probabilities identical with and without capture: {same} of {total}")


if __name__ == "__main__":
    main()
