import json, sys, itertools
r = json.load(open(sys.argv[1]))
recs = r["records"]["kutip"]
def auc(pos, neg):
    if not pos or not neg: return float("nan")
    return sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))
names = sorted({k for x in recs for k in (x.get("support") or {})})
print("records", len(recs), "answerable", sum(x["answerable"] for x in recs), "verify names", names)
live = [x for x in recs if x.get("support")]
print("with support:", len(live))
una = [x for x in live if not x["answerable"]]
ans = [x for x in live if x["answerable"]]
ans_gold = [x for x in ans if any(c["chosen"] and c["gold"] for c in x["considered"])]
print("unanswerable", len(una), "answerable", len(ans), "answerable with gold chosen", len(ans_gold))
sig = {"1-p_none": lambda x: 1 - x["p_none"]}
for n in names:
    sig[n] = lambda x, n=n: x["support"][n]
sig["min"] = lambda x: min(x["support"].values())
sig["mean"] = lambda x: sum(x["support"].values()) / len(x["support"])
for n in names:
    sig[n + "*(1-pn)"] = lambda x, n=n: x["support"][n] * (1 - x["p_none"])
for k, f in sig.items():
    print(f"{k:28s} AUC ans-vs-una {auc([f(x) for x in ans],[f(x) for x in una]):.3f}  gold-vs-una {auc([f(x) for x in ans_gold],[f(x) for x in una]):.3f}")
# curves at tau_none 0.15
def out(x, s, t, sigf):
    return x["abstained"] or (x["p_none"] >= 0.15) or (sigf(x) < t if x.get("support") else False)
A = [x for x in recs if x["answerable"]]; U = [x for x in recs if not x["answerable"]]
for k in list(sig)[1:]:
    f = sig[k]
    print(k)
    for t in [0, 0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9]:
        ab = sum(out(x, k, t, f) for x in U) / len(U)
        fa = sum(out(x, k, t, f) for x in A) / len(A)
        fc = sum(bool(x["fact_and_cited"]) and not out(x, k, t, f) for x in A) / len(A)
        print(f"   t={t:.2f} abstain {ab:.3f} false {fa:.3f} fact&cited {fc:.3f}")
