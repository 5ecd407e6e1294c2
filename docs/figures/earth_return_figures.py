"""Regenerate the figures and numbers quoted in docs/earth_return.md and docs/planetary_protection.md.

Run from the repository root: ``PYTHONPATH=src python docs/figures/earth_return_figures.py``
(``pymsis`` optional: the MSIS comparison is skipped without it).
"""

import json
import math
import time

import numpy as np

from mmxsim.earth_return import entry as en
from mmxsim.earth_return import run_entry_analysis, targeting as tg
from mmxsim.science import planetary_protection as pp

out = {}
t0 = time.time()
numbers, figs = run_entry_analysis(n_monte_carlo=200, seed=0)
out["hayabusa2_ussa76"] = numbers
out["hayabusa2_ussa76_seconds"] = time.time() - t0
figs["entry_profiles"].savefig("docs/figures/entry_profiles_hayabusa2.png", dpi=110)
figs["footprint"].savefig("docs/figures/entry_footprint_woomera.png", dpi=110)

tr = en.simulate_entry(en.hayabusa_2010_entry())
k = tr.altitude_km > 30
out["hayabusa2010"] = dict(tr.summary, t_101_to_38p6_s=float(np.interp(-38.6, -tr.altitude_km[k], tr.t[k]) - np.interp(-101.0, -tr.altitude_km[k], tr.t[k])))
for g in (-9.0, -9.99):
    t2 = en.simulate_entry(en.hayabusa_2010_entry(g))
    k = t2.altitude_km > 30
    out[f"hayabusa2010_fpa{g}"] = {"t_101_to_38p6_s": float(np.interp(-38.6, -t2.altitude_km[k], t2.t[k])),
                                   "peak_decel_g": t2.summary["peak_decel_g"],
                                   "peak_heat_flux_MWm2": t2.summary["peak_heat_flux_MWm2"],
                                   "peak_heating_altitude_km": t2.summary["peak_heating_altitude_km"]}
e120 = en.EntryState(120.0, -27.0, 132.5, 11.58, -12.0, 150.0, "inertial")
out["hayabusa2_fpa12_at_120km"] = en.simulate_entry(e120).summary
e, tr2 = en.place_entry_for_landing(en.hayabusa2_entry(), *en.WPA_NOMINAL)
out["hayabusa2_minutes_120km_to_landing"] = (tr2.summary["landing_time_s"] - float(np.interp(-120, -tr2.altitude_km[:2000], tr2.t[:2000]))) / 60
try:
    n2, f2 = run_entry_analysis(n_monte_carlo=0, atmosphere="msis",
                                msis_kwargs={"epoch_utc": "2020-12-05T17:28", "f107": 80.0, "f107a": 80.0, "ap": 4.0})
    out["hayabusa2_msis"] = n2
except ImportError:
    out["hayabusa2_msis"] = "pymsis not installed"

DEC, RA = math.radians(-20.0), math.radians(60.0)
vinf = 4.78 * np.array([math.cos(DEC) * math.cos(RA), math.cos(DEC) * math.sin(RA), math.sin(DEC)])
t0 = time.time()
res = tg.target_landing(vinf, 9.8e8, *en.WPA_NOMINAL, fpa_deg=-12.0)
out["targeting"] = {"b_t_km": res.b_t_km, "b_r_km": res.b_r_km, "b_km": res.b_km, "theta_deg": res.theta_deg,
                    "dt_s": res.dt_s, "miss_km": res.miss_km, "fpa_deg": res.fpa_deg, "evaluations": res.evaluations,
                    "entry": {k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in res.entry.__dict__.items()},
                    "seconds": time.time() - t0}

pn, pf = pp.run_planetary_protection()
out["pp_10g_2cm"] = pn
out["pp_30g_10cm"] = pp.contamination_probability(0.03, 0.10).probability
out["pp_depths"] = {f"{z:.2f}": float(pp.contamination_probability(0.01, z).probability) for z in (0.0, 0.01, 0.02, 0.05, 0.1, 0.3)}
pf[0].savefig("docs/figures/pp_probability_vs_depth.png", dpi=110)
pf[1].savefig("docs/figures/pp_sensitivity.png", dpi=110)


def _clean(o):
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (np.floating, np.integer, np.bool_)):
        return o.item()
    return o


with open("docs/figures/earth_return_summary.json", "w") as fh:
    json.dump(_clean(out), fh, indent=1, default=str)
print(json.dumps(_clean(out), indent=1, default=str))
