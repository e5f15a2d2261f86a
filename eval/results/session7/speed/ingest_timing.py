import sys, time, shutil
from pathlib import Path
from rag.settings import Settings
from rag.index import SentenceIndex
d = Path(sys.argv[1]); shutil.rmtree(d, ignore_errors=True)
s = Settings(data_dir=d, corpus_dir=Path('/tmp/ic'))
ix = SentenceIndex(s)
ix.embedder.query("pemanasan")  # load the model outside the timing
t = time.perf_counter(); ix.sync(Path('/tmp/ic'), quiet=True); dt = time.perf_counter() - t
n = ix.count()
t = time.perf_counter(); ix.sync(Path('/tmp/ic'), quiet=True); dt2 = time.perf_counter() - t
print(f"{sys.argv[2]}: {n} sentences in {dt:.1f} s = {n/dt:.0f} sentences/s; unchanged re-sync {dt2*1000:.0f} ms")
