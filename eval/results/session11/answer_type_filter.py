"""Offline: what a figure/time answer-type filter on the reading's choice would do (id-dev, dev)."""
import json, sys
from rag.corpus import load_corpus
from rag.text import holds_figure, holds_time
from rag.query import what_is_asked
from pathlib import Path
rep, corpus = sys.argv[1], sys.argv[2]
T = float(sys.argv[3]) if len(sys.argv) > 3 else 0.06
arts = load_corpus(Path(corpus))
text = {f"{a.id}:{s.index}": s.text for a in arts for s in a.sentences}
recs = json.load(open(rep))['records']['kutip']
need = {"figure": holds_figure, "time": holds_time}
stats = {"base": [0,0,0,0], "filter": [0,0,0,0], "filter+mass": [0,0,0,0]}  # gold chosen (ans), false abst, abst unans, n
changed=[]
for x in recs:
    cons = x.get('considered') or []
    if x.get('p_none') is None or not cons: continue
    asks = what_is_asked(x['question'])
    f = need.get(asks)
    for mode in stats:
        pn = x['p_none']; cand = cons
        if mode != 'base' and f:
            ok = [c for c in cons if c['id'] in text and f(text[c['id']])]
            if mode == 'filter+mass':
                pn = pn + sum(c['p'] for c in cons if c not in ok)
            cand = ok
        import math
        sc=lambda c: math.log(max(c['p'],1e-12))-math.log(c['rank']+1)
        best = max(cand, key=sc) if cand else None
        abst = pn >= T or best is None
        s = stats[mode]
        if x['answerable']:
            s[3]+=1
            if abst: s[1]+=1
            elif best['gold']: s[0]+=1
        else:
            s[2] += abst
        if mode=='filter' and f:
            b0 = max(cons, key=sc)
            if best is not b0 or abst != (x['p_none']>=T): changed.append(x['id'])
nans = stats['base'][3]; nun = sum(1 for x in recs if not x['answerable'] and x.get('p_none') is not None)
for m,s in stats.items():
    print(f"{m:12s} gold chosen {s[0]/nans:.3f}  false abst {s[1]/nans:.3f}  abst unans {s[2]/max(nun,1):.3f}  (ans {nans}, unans {nun})")
print(len(changed), ','.join(changed))
