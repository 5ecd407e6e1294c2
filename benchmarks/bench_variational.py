"""Benchmark: the variational trajectory of orbit determination (mmxsim.navigation.variational).

A 7-day arc from the reference QSO state with the reference force model (Mars J2..J4, Phobos
harmonics to degree ``--degree`` with GM as a runtime parameter, Sun, Earth, Deimos, SRP with Mars
and Phobos shadows, plus an RTN empirical acceleration; the reference tolerance), estimating
11 quantities (state, Phobos GM, Cr A/m, emp:r/t/n). Printed, for each degree:

* compile time of the variational integrator, cold (first in this process) and cached (second);
* propagation time of the arc (one pass with continuous output), and the same arc by plain
  :func:`mmxsim.dynamics.propagate` for comparison (its compile excluded);
* the time to evaluate the sensitivities (and the states) at ``--epochs`` epochs spread over the arc.

Batch rows (``--members N``, default 16; 0: none): N members (perturbed initial states and parameter
values, the same model and arc of ``--batch-days``) flown by
:func:`mmxsim.navigation.variational.propagate_batch` (heyoka batch mode, SIMD width
``heyoka.recommended_simd_size()``) vs a loop of N scalar ``Trajectory`` objects, in the same run, both
with their integrators already compiled; CPU seconds (``time.process_time``) and wall seconds, their
ratio, the largest state and partial differences of the members, and the cost of one sensitivity
evaluation of a member at ``--epochs`` epochs (batch lane vs scalar).

Run:  python benchmarks/bench_variational.py [--degrees 4 8] [--days 7] [--epochs 20000] [--members 16]
      [--batch-days 1]
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
    ap.add_argument("--members", type=int, default=16)
    ap.add_argument("--batch-days", type=float, default=1.0)
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
        if a.members:
            batch_rows(model, t0, x0, pars, a)


def batch_rows(model, t0, x0, pars, a) -> None:
    """N members: propagate_batch vs a loop of scalar Trajectory objects (see the module doc)."""
    import heyoka as hy

    from mmxsim.navigation.variational import Trajectory, propagate_batch

    n = a.members
    t1 = t0 + a.batch_days * 86400.0
    rng = np.random.default_rng(5)
    X0 = x0 + rng.normal(0, 1, (n, 6)) * np.array([0.1, 0.1, 0.1, 1e-5, 1e-5, 1e-5])
    ref = Trajectory(model, t0, x0, t1, parameters=pars, _fly=False).parameter_values
    P = [dict(zip(pars, ref * (1 + 1e-3 * rng.normal(0, 1, len(pars))) + 1e-12 * rng.normal(0, 1, len(pars))))
         for _ in range(n)]
    propagate_batch(model, t0, X0[:1], t1, parameters=P[:1])  # compile both integrators first
    Trajectory(model, t0, X0[0], t1, parameters=P[0])
    c, w = time.process_time(), time.perf_counter()
    B = propagate_batch(model, t0, X0, t1, parameters=P)
    cb, wb = time.process_time() - c, time.perf_counter() - w
    c, w = time.process_time(), time.perf_counter()
    S = [Trajectory(model, t0, X0[i], t1, parameters=P[i]) for i in range(n)]
    cs, ws = time.process_time() - c, time.perf_counter() - w
    t = np.sort(np.random.default_rng(2).uniform(t0, t1, a.epochs))
    dx = max(float(np.max(np.abs(b.state(t[::50]) - s.state(t[::50])) / np.linalg.norm(s.state(t[::50]), axis=1,
                                                                                          keepdims=True)))
             for b, s in zip(B, S))
    dp = 0.0
    for b, s in zip(B, S):
        Ss = s.sensitivity(t[::50])
        dp = max(dp, float(np.max(np.abs(b.sensitivity(t[::50]) - Ss).max(axis=(0, 1)) / np.abs(Ss).max(axis=(0, 1)))))
    c = time.process_time()
    B[0].sensitivity(t)
    eb = time.process_time() - c
    c = time.process_time()
    S[0].sensitivity(t)
    es = time.process_time() - c
    print(f"  batch of {n} members, {a.batch_days:g} day(s), SIMD width {hy.recommended_simd_size()}: "
          f"propagate_batch {cb:.2f} s CPU ({wb:.2f} s wall) vs {n} scalar Trajectory {cs:.2f} s CPU ({ws:.2f} s "
          f"wall): {cs / cb:.2f}x CPU, {ws / wb:.2f}x wall; largest difference: states {dx:.1e} relative, "
          f"partials {dp:.1e} relative (of each column's largest); {a.epochs} sensitivities of one member "
          f"{eb * 1e3:.0f} ms CPU (batch lane) vs {es * 1e3:.0f} ms (scalar)")


if __name__ == "__main__":
    main()
