"""Offline probe: does the 1.5B's P(yes) to a follow-up "does a sentence state the answer?" turn
separate right answers from wrong ones? Usage (from the project root, llama.cpp backend):
    .venv/bin/python eval/results/dev-checks/self-check/probe.py eval/results/dev-checks/fit2/report.json out.json"""
import json, sys, math, re
import numpy as np
ROOT = __import__('pathlib').Path(__file__).resolve().parents[4]
sys.path.insert(0, str(ROOT))
from rag.qa import QA
from rag.settings import Settings
from rag.retrieve import retrieve
from rag.answer import build_messages, number_sentences, strip_markers
from rag.retrieve import with_neighbours
from rag.models import chatml
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from rag.evalset import load_questions
from pathlib import Path

report, out = sys.argv[1], sys.argv[2]
CHECK = open(sys.argv[3]).read().strip() if len(sys.argv) > 3 else (
    "Check your answer: does one of the numbered sentences state the answer to the question itself, "
    "not only something related to it? Reply yes or no.")
qs = {q.id: q for q in load_questions(ROOT / 'eval' / 'questions.yaml', 'all')}
settings = Settings()
qa = QA(settings)
llm = qa.llm(settings)
rows = []
recs = json.load(open(report))['records']['kutip']
for r in recs:
    if r['abstained'] or r.get('error'):
        continue
    q = qs[r['id']]
    question = r['question']
    # rebuild what the model saw (same retrieval as in the run)
    found = retrieve(qa.index, question, settings)  # as QA retrieves
    if q.history:
        continue  # follow-ups need the condensed question; skip in this probe
    shown = number_sentences(with_neighbours(qa.index, found.hits, settings.window))
    messages = build_messages(settings.prompts_dir, shown, question, found.language)
    raw = strip_markers(r['answer'])
    msgs = [*messages, ChatMessage(role=MessageRole.ASSISTANT, content=raw), ChatMessage(role=MessageRole.USER, content=CHECK)]
    prompt = chatml(msgs)
    L = llm._llama
    res = L.create_completion(prompt, max_tokens=1, temperature=0.0)
    n = len(L.tokenize(prompt.encode('utf-8'), special=True))
    logits = np.array(np.ctypeslib.as_array(L._ctx.get_logits(), shape=(L._n_vocab,)), dtype=np.float64)
    ids = lambda words: sorted({L.tokenize(w.encode(), add_bos=False, special=False)[0] for w in words})
    Y, N = ids(['yes', 'Yes', ' yes', ' Yes', 'YES']), ids(['no', 'No', ' no', ' No', 'NO'])
    m = logits.max(); p = np.exp(logits - m); p /= p.sum()
    py, pn = p[Y].sum(), p[N].sum()
    score = float(py / (py + pn)) if py + pn else 0.5
    good = bool(r['answerable'] and r['fact_hit'])
    rows.append({'id': r['id'], 'good': good, 'answerable': r['answerable'], 'p_yes': round(score, 4), 'answer': raw[:100]})
    print(r['id'], good, r['answerable'], round(score, 3), raw[:80], flush=True)
json.dump(rows, open(out, 'w'), indent=1)
pos = [x['p_yes'] for x in rows if x['good']]; neg = [x['p_yes'] for x in rows if not x['good']]
auc = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / max(1, len(pos) * len(neg))
print('AUC good vs bad', round(auc, 3), len(pos), len(neg))
un = [x['p_yes'] for x in rows if not x['answerable']]; an = [x['p_yes'] for x in rows if x['answerable']]
print('unanswerable p_yes', sorted(un)); print('answerable p_yes', sorted(an))
