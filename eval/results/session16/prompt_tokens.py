"""Session 16: how many new prompt tokens the read step processes per question (the fixed prefix
is cached), and the answer timings, for three seed questions with the default 1.5B.

Usage: .venv/bin/python eval/results/session16/prompt_tokens.py (output saved as prompt_tokens.txt)
"""
import time
from rag.qa import QA
from rag.settings import Settings
from rag.read import number_candidates, format_candidates, read_messages
from rag.retrieve import retrieve
from rag.models import chatml
from rag.prompts import fixed_messages
qa=QA(Settings())
llm=qa.llm()
L=llm._llama
qs=["Berapa kontainer senjata yang dikirim Korea Utara ke Rusia?","How many KN-23 missiles did Russia fire in 2024?","Siapa pemimpin Korea Utara yang mengunjungi pabrik?"]
qa.warm()
fixed=chatml(fixed_messages(qa.settings.prompts_dir), open_turn=False)
print("fixed prefix tokens", len(L.tokenize(fixed.encode(),add_bos=False,special=True)))
for q in qs:
    query=qa.query(q,None,qa.settings)
    found=retrieve(qa.index, query, qa.settings)
    c=number_candidates([h.sentence for h in found.hits])
    ctx=format_candidates(c)
    bare="\n".join(f"[{x.letter}] {x.sentence.text}" for x in c)
    n=lambda s: len(L.tokenize(s.encode(),add_bos=False,special=True))
    msgs=read_messages(qa.settings.prompts_dir, query, c)
    full=chatml(msgs, open_turn=True) if 'open_turn' in chatml.__code__.co_varnames else None
    print(q, "ctx", n(ctx), "bare", n(bare), "full-new", n(full)-n(fixed) if full else None)
    t=time.time(); a=qa.ask(q); print(" total", round(time.time()-t,2), a.timings, a.abstained)
