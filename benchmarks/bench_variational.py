"""Benchmark: the variational trajectory of orbit determination (mmxsim.navigation.variational).

A 7-day arc from the reference QSO state with the reference force model (Mars J2..J4, Phobos
harmonics to degree ``--degree`` with GM as a runtime parameter, Sun, Earth, Deimos, SRP with Mars
and Phobos shadows, plus an RTN empirical acceleration; the reference tolerance), estimating
11 quantities (state, Phobos GM, Cr A/m, emp:r/t/n). Printed, for each degree:

* compile time of the variational integrator, cold (first in this process) and cached (second);
* propagation time of the arc (one pass with continuous output), and the same arc by plain
  :func:`mmxsim.dynamics.propagate` for comparison (its compile excluded);
* the time to evaluate the sensitivities (and the states) at ``--epochs`` epochs spread over the arc.

Run:  python benchmarks/bench_variational.py [--degrees 4 8] [--days 7] [--epochs 20000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--degrees", type=int, nargs="+", default=[4, 8])
    ap.add_argument("--days", type=float, default=7.0)
    ap.add_argument("--epochs", type=int, default=20000)
    a = ap.parse_args()

    from mmxsim.dynamics import EmpiricalAcceleration, PhobosGravity, propagate
    from mmxsim.mission.runner import build_model, initial_state
    from mmxsim.navigation.variational import Trajectory
    from mmxsim.scenario import reference_scenario

    s = reference_scenario()
    base, eph = build_model(s)
    base.events = []
    t0 = float(s.t0_tdb)
    x0 = initial_state(s, t0, eph)
    t1 = t0 + a.days * 86400.0
    pars = ["phobos:gm", "srp:cr_area_over_mass", "emp:r", "emp:t", "emp:n"]
    print(f"forces: {[f.kind for f in base.forces]}, tolerance {base.tolerance}, {a.days} days, "
          f"{6 + len(pars)} estimated quantities")
    for deg in a.degrees:
        model = base.__class__(**{**base.__dict__})
        model.forces = [PhobosGravity("harmonics", deg, gm_parameter=True) if f.kind == "phobos" else f
                        for f in base.forces] + [EmpiricalAcceleration()]
        c = time.perf_counter()
        tr = Trajectory(model, t0, x0, t1, parameters=pars, barycentric=True)
        first = time.perf_counter() - c
        c = time.perf_counter()
        tr2 = tr.with_values()
        second = time.perf_counter() - c
        p = propagate(model, t0, x0, [t0, t1], near_surface=False)  # compile
        p = propagate(model, t0, x0, [t0, t1], near_surface=False)
        t = np.sort(np.random.default_rng(1).uniform(t0, t1, a.epochs))
        c = time.perf_counter()
        S = tr2.sensitivity(t)
        ts = time.perf_counter() - c
        c = time.perf_counter()
        X = tr2.state(t, np.full(t.size, 1e-4))
        tx = time.perf_counter() - c
        print(f"degree {deg}: compile cold {tr.compile_s:.2f} s (construction {first:.2f} s), cached: "
              f"construction {second:.2f} s (compile {tr2.compile_s:.1f}); propagation {tr2.propagate_s:.2f} s "
              f"({tr2.n_steps} steps, {len(tr2._outs)} pieces) vs plain propagate {p.propagate_s:.2f} s "
              f"({p.n_steps} steps); {a.epochs} epochs: sensitivity {ts * 1e3:.0f} ms {S.shape}, "
              f"state with t_lo {tx * 1e3:.0f} ms {X.shape}")


if __name__ == "__main__":
    main()
