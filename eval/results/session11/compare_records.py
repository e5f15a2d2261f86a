import json, sys
a = {r['id']: r for r in json.load(open(sys.argv[1]))['records']['kutip']}
b = {r['id']: r for r in json.load(open(sys.argv[2]))['records']['kutip']}
ids = sys.argv[3].split(',')
T = float(sys.argv[4])
def st(r):
    ab = r['abstained'] or (r.get('p_none') is not None and r['p_none'] >= T)
    return ab, (r['fact_and_cited'] and not ab)
for name in ('before','after'):
    d = a if name=='before' else b
    ans=[i for i in ids if d[i]['answerable']]; un=[i for i in ids if not d[i]['answerable']]
    print(name, 'answerable', len(ans), 'fact&cited', sum(st(d[i])[1] for i in ans), 'false abst', sum(st(d[i])[0] for i in ans), '| unans', len(un), 'abstained', sum(st(d[i])[0] for i in un))
for i in ids:
    if (a[i]['answer'] or '') != (b[i]['answer'] or ''):
        print(i, a[i]['answerable'], st(a[i]), '->', st(b[i]), '|', a[i]['question'][:45], '|', (a[i]['written'] or '')[:60], '=>', (b[i]['written'] or '')[:60])
