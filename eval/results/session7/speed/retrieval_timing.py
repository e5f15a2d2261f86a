import sys, time, statistics
from pathlib import Path
from rag.settings import Settings
from rag.index import SentenceIndex
from rag.query import parse_query
from rag.retrieve import retrieve
from evaluation.evalset import load_questions
s = Settings(data_dir=Path(sys.argv[1]), corpus_dir=Path('/work/shared/bench/id-dev/corpus'))
ix = SentenceIndex(s)
qs = [parse_query(q.question) for q in load_questions(Path('/work/shared/bench/id-dev'))][:120]
retrieve(ix, qs[0], s)
ts = []
for q in qs:
    t = time.perf_counter(); retrieve(ix, q, s); ts.append((time.perf_counter() - t) * 1000)
ts.sort()
print(f"{sys.argv[2]}: retrieval p50 {statistics.median(ts):.1f} ms p95 {ts[int(0.95*len(ts))]:.1f} ms over {len(ts)}")
