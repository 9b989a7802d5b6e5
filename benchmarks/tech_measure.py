"""Paired (on seed) jk_cocreation − status_quo, 32 quarters: JP–KR knowledge gap and tech gap.
Run: python benchmarks/tech_measure.py [seeds] [dotted.path=value ...] (overrides apply to jk_cocreation, and to
status_quo too when they are knowledge.* parameters)."""
import sys
import numpy as np
from scipy import stats
from model import ChipModel

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
rows = {k: [] for k in ("gap_jk_end", "gap_jk_last8", "techgap_end", "sharing", "jk_sharing_proj")}
over = dict(a.split("=", 1) for a in sys.argv[2:])
over = {k: (float(v) if v.replace(".", "", 1).isdigit() else v) for k, v in over.items()}
for seed in range(n):
    out = {}
    for sc in ("jk_cocreation", "status_quo"):
        t = ChipModel(sc, rng=seed, **{k: v for k, v in over.items() if sc == "jk_cocreation" or k.startswith("knowledge")}).run(32).metrics()
        out[sc] = (t["knowledge_gap_jk"].iloc[-1], t["knowledge_gap_jk"].iloc[-8:].mean(),
                   (t["technology_JP"] - t["technology_KR"]).abs().iloc[-1], t["knowledge_sharing_rate"].iloc[1:].mean(),
                   t["project_sharing_rate"].iloc[1:].mean())
    for k, a, b in zip(rows, out["jk_cocreation"], out["status_quo"]):
        rows[k].append((a, b))
for k, v in rows.items():
    v = np.array(v, dtype=float)
    d = v[:, 0] - v[:, 1]
    ok = ~np.isnan(d)
    d = d[ok]
    h = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
    print(f"{k:16s} jk {np.nanmean(v[:,0]):.4f}  sq {np.nanmean(v[:,1]):.4f}  diff {d.mean():+.4f} ± {h:.4f} (n={len(d)})")
