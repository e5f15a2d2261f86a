"""What kutip shows the model for each question, stage by stage, without running the model.

A refactor that must not change answers can be checked cheaply and exactly: with greedy decoding
the model's output is a function of its prompt, so equal prompts (and equal parsed questions and
retrieval) before and after mean equal answers. ``python -m evaluation.trace --questions Q --out F``
writes one JSON line per question; ``diff`` two such files.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

from rag.index import SentenceIndex
from rag.query import parse_query
from rag.read import number_candidates, read_messages
from rag.retrieve import post_retrieval_steps, retrieve
from rag.settings import Settings

from .evalset import load_questions, settings_for


def trace(settings: Settings, questions_path: Path, split: str = "all") -> list[dict]:
    """Per question: the parsed query, the retrieved and post-processed sentence ids with their
    scores, and the reading prompt (text and hash)."""
    settings = settings_for(questions_path, settings)
    index = SentenceIndex(settings)
    index.sync(settings.corpus_dir)
    steps = post_retrieval_steps(index, settings)
    rows = []
    for q in load_questions(questions_path, split):
        if q.history:
            continue  # follow-ups are rewritten by the model first
        query = parse_query(q.question)
        found = retrieve(index, query, settings)
        hits = found.hits
        for step in steps:
            hits = step(query, hits)
        candidates = number_candidates([h.sentence for h in hits], [h.dense for h in hits])
        prompt = "\n".join(
            f"{m.role.value}: {m.content}" for m in read_messages(settings.prompts_dir, query, candidates)
        )
        rows.append(
            {
                "id": q.id,
                "query": query.model_dump(mode="json"),
                "retrieved": [[h.sentence.id, round(h.dense, 5)] for h in found.hits],
                "top_dense": round(found.top_dense, 5),
                "read": [h.sentence.id for h in hits],
                "prompt_sha": hashlib.sha256(prompt.encode()).hexdigest()[:16],
            }
        )
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--questions", default=str(Path(__file__).resolve().parents[1] / "eval" / "questions.yaml"))
    p.add_argument("--split", default="all")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    rows = trace(Settings(), Path(args.questions), args.split)
    Path(args.out).write_text("".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows))
    print(f"{len(rows)} questions traced -> {args.out}")


if __name__ == "__main__":
    main()
