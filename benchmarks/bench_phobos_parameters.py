"""Cost of Phobos' Stokes coefficients and libration as runtime parameters (issue 17, item 2).

For degree 5 and 8, each case in a fresh process with an empty heyoka on-disk cache (heyoka 7 keeps
compiled code in XDG_CACHE_HOME/heyoka across processes; without this the "compile" times are cache
reads): the plain integrator's compile
time (dynamics.build) and the variational trajectory's compile time and cost per step over one day of
the low QSO of tests/dynamics/test_phobos_parameters.py (Mars J2, Phobos harmonics with GM a runtime
parameter, Sun; tolerance 1e-15), for

* ``const``: the shipped field as compiled constants (partials w.r.t. the state and GM),
* ``param``: ``estimate_degree = degree`` and ``libration_parameter=True`` at their nominal values,
  partials w.r.t. the state and GM only (the same 7 columns: the cost of the parametrised equations),
* ``param+partials``: the same with partials w.r.t. GM, every coefficient and the libration.

The time per step is the best of 7 re-propagations of the day. Run: ``PYTHONPATH=src python benchmarks/bench_phobos_parameters.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

CASE = r'''
import json, time, numpy as np
from mmxsim.frames import to_mars_icrf
from mmxsim.mission.runner import build_model
from mmxsim.scenario import reference_scenario
from mmxsim.dynamics import DynamicsModel, MarsGravity, PhobosGravity, ThirdBody, build
from mmxsim.navigation.variational import Trajectory, estimable_parameters
QSO_HILL = np.array([-25.0, 0.0, -8.25848889e-03, -1.32506515e-05, 1.36512099e-02, 1.99156994e-06])
s = reference_scenario(); _, eph = build_model(s); t0 = float(s.t0_tdb)
x0 = to_mars_icrf("PHOBOS_HILL", t0, QSO_HILL, eph)
degree, variant, plain = DEGREE, VARIANT, PLAIN
kw = {} if variant == "const" else dict(estimate_degree=degree, libration_parameter=True)
m = DynamicsModel(forces=[MarsGravity(2), PhobosGravity("harmonics", degree, gm_parameter=True, **kw),
                          ThirdBody("SUN")], ephemeris=eph, tolerance=1e-15)
if plain:
    print(json.dumps({"compile_s": build(m).compile_s}))
else:
    pars = ["phobos:gm"] if variant != "param+partials" else [n for n in estimable_parameters(m) if n.startswith("phobos:")]
    tr = Trajectory(m, t0, x0, t0 + 86400.0, parameters=pars, barycentric=False)
    runs = [tr.with_values() for _ in range(7)]  # re-propagations (no compile): the best time per step
    print(json.dumps({"compile_s": tr.compile_s, "n_par": len(pars), "steps": runs[0].n_steps,
                      "us_per_step": min(1e6 * r.propagate_s / r.n_steps for r in runs)}))
'''


def run(degree: int, variant: str, plain: bool) -> dict:
    code = CASE.replace("DEGREE", str(degree)).replace("VARIANT", repr(variant)).replace("PLAIN", str(plain))
    with tempfile.TemporaryDirectory() as tmp:  # heyoka keeps compiled code in XDG_CACHE_HOME/heyoka: start empty
        home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        if (home / "mmxsim").exists():
            os.symlink(home / "mmxsim", Path(tmp) / "mmxsim")  # keep mmxsim's own data cache
        env = dict(os.environ, XDG_CACHE_HOME=tmp)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    print("| degree | variant | plain compile s | variational compile s | partials | steps/day | us/step |")
    print("|---|---|---|---|---|---|---|")
    for degree in (5, 8):
        for variant in ("const", "param", "param+partials"):
            p = run(degree, variant, True) if variant != "param+partials" else {"compile_s": float("nan")}
            v = run(degree, variant, False)
            print(f"| {degree} | {variant} | {p['compile_s']:.2f} | {v['compile_s']:.2f} | {6 + v['n_par']} | "
                  f"{v['steps']} | {v['us_per_step']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
