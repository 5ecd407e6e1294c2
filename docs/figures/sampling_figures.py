"""Figures and numbers for docs/sampling.md: spacecraft touchdown and the C-/P-Sampler Monte Carlo.

Run: PYTHONPATH=src python docs/figures/sampling_figures.py docs/figures
(writes touchdown_*.png, sampling_*.png and sampling_summary.json)
"""
import json, sys, time

import numpy as np

from mmxsim.surface import samplers as S
from mmxsim.surface import touchdown as T

out = sys.argv[1]
res = {}


def clean(d):
    if isinstance(d, dict):
        return {k: clean(v) for k, v in d.items() if k != "figures"}
    if isinstance(d, (list, tuple)):
        return [clean(v) for v in d]
    if isinstance(d, np.ndarray):
        return d.tolist()
    if isinstance(d, (np.floating, np.integer, np.bool_)):
        return d.item()
    return d


t0 = time.time()
# passive gear at the descent model's ASSUMED limits, flat and 10 deg slope, 2 deg attitude error
for name, kw in {"flat_passive": dict(slope_deg=0.0), "slope10_passive": dict(slope_deg=10.0),
                 "flat_holddown": dict(slope_deg=0.0, hold_down_thrust_N=88.0, hold_down_s=60.0),
                 "slope10_holddown": dict(slope_deg=10.0, hold_down_thrust_N=88.0, hold_down_s=60.0)}.items():
    a = T.touchdown_analysis(0.5, 0.1, attitude_error_deg=(0.0, 2.0), envelope=name.endswith("passive")
                             or name == "flat_holddown", **kw)
    res[f"touchdown_{name}"] = clean(a)
    a["figures"]["touchdown"].savefig(f"{out}/touchdown_{name}.png", dpi=90)
    if "envelope" in a["figures"] and name.startswith("flat"):
        a["figures"]["envelope"].savefig(f"{out}/touchdown_envelope_{name.split('_')[1]}.png", dpi=90)
site = T.touchdown_analysis(0.5, 0.1, site=(0.0, 0.0), attitude_error_deg=(0.0, 2.0), envelope=False)
res["touchdown_site_lat0_lon0"] = clean(site)
for name, kw in {"mc_flat_passive": dict(slope_deg=0.0), "mc_slope10_passive": dict(slope_deg=10.0),
                 "mc_flat_holddown": dict(slope_deg=0.0, hold_down_thrust_N=88.0, hold_down_s=60.0),
                 "mc_slope10_holddown": dict(slope_deg=10.0, hold_down_thrust_N=88.0, hold_down_s=60.0)}.items():
    res[f"touchdown_{name}"] = T.touchdown_monte_carlo(n=500, seed=0, **kw).summary()
res["touchdown_wall_s"] = time.time() - t0

t0 = time.time()
a = S.sampling_analysis(n=20000, seed=0)
a["figures"]["mass_histogram"].savefig(f"{out}/sampling_mass_histogram.png", dpi=90)
a["figures"]["mass_vs_depth"].savefig(f"{out}/sampling_mass_vs_depth.png", dpi=90)
res["sampling_nominal"] = clean(a)
b = S.sampling_analysis(n=20000, seed=0, c_sampler=S.CSampler(n_corers=1), p_sampler=S.PSampler(gas_mass_kg=0.0))
res["sampling_one_core_no_psampler"] = clean(b)
res["sampling_wall_s"] = time.time() - t0
res["numba"] = T.HAVE_NUMBA
with open(f"{out}/sampling_summary.json", "w") as f:
    json.dump(res, f, indent=1, default=str)
print(json.dumps({k: (v.get("nominal", v.get("monte_carlo")) if isinstance(v, dict) else v) for k, v in res.items()},
                 indent=1, default=str))
