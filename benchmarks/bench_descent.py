"""Descent ensemble throughput: N QSO-to-touchdown trajectories with polyhedron-accurate gravity.

Goal (issue 3): 1000 descent trajectories from a QSO to touchdown in under 10 s on 2 cores,
with the error of the fast gravity path stated. The fast path is mmxsim.surface.landing
(numba RK4, 10 s steps, over mmxsim.gravity.fast.GridGravity: the exact polyhedron tabulated
on a surface-fitted grid). Measured in the same run:

* wall time of the ensemble (median of ``--repeat``, after a warm-up run that compiles);
* the fast gravity's relative acceleration error vs the exact polyhedron of the same mesh at
  every integrator step of the first ``--tracks`` trajectories (max, median, and below 1 km);
* a baseline: SciPy DOP853 (rtol 1e-10) with the exact polyhedron for ``--baseline`` nominal
  descents (same equations and burns), time per trajectory and touchdown difference;
* the ratio baseline / fast per trajectory, and a lower bound for any integrator with the exact
  polyhedron: the baseline's number of evaluations times the *batched* per-point cost
  (a single-point Polyhedron call is much slower than a batch; both are printed).

    python benchmarks/bench_descent.py [--n 1000] [--repeat 3] [--threads 2] [--mesh thomas3k]
        [--grid-deg 2] [--n-radial 24] [--map landing.png]

The grid is built on first use and cached (~30-60 s for thomas3k on 2 cores; minutes for ernst).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--mesh", default="thomas3k")
    ap.add_argument("--grid-deg", type=float, default=2.0, help="angular step of the grid (deg)")
    ap.add_argument("--n-radial", type=int, default=24)
    ap.add_argument("--qso-km", type=float, default=30.0)
    ap.add_argument("--site", type=float, nargs=2, default=(10.0, 30.0), metavar=("LAT", "LON"))
    ap.add_argument("--transfer-s", type=float, default=3600.0)
    ap.add_argument("--tracks", type=int, default=20)
    ap.add_argument("--baseline", type=int, default=2)
    ap.add_argument("--map", default="", help="write the landing map PNG here")
    a = ap.parse_args(argv)
    os.environ.setdefault("NUMBA_NUM_THREADS", str(a.threads))
    import numba

    numba.set_num_threads(min(a.threads, numba.config.NUMBA_NUM_THREADS))
    from scipy.integrate import solve_ivp

    from mmxsim.bodies import PHOBOS_MEAN_MOTION as N
    from mmxsim.gravity.fast import GridGravity
    from mmxsim.orbits.qso import periodic_qso
    from mmxsim.surface.landing import landing_dispersion, plan_descent

    t0 = time.perf_counter()
    grid = GridGravity(a.mesh, dlat_deg=a.grid_deg, dlon_deg=a.grid_deg, n_radial=a.n_radial)
    t_grid = time.perf_counter() - t0
    q = periodic_qso(a.qso_km, degree=0)
    t0 = time.perf_counter()
    plan = plan_descent(q, *a.site, grid=grid, transfer_time_s=a.transfer_s)
    t_plan = time.perf_counter() - t0
    landing_dispersion(plan, n=min(a.n, 16), seed=99)  # warm-up (numba compile/cache load)
    walls = []
    for r in range(a.repeat):
        t0 = time.perf_counter()
        d = landing_dispersion(plan, n=a.n, seed=r)
        walls.append(time.perf_counter() - t0)
    wall = statistics.median(walls)

    # fast-gravity error along trajectories
    dt_ = landing_dispersion(plan, n=a.tracks, seed=0, record=a.tracks)
    P = dt_.tracks[:, :, 1:4].reshape(-1, 3)
    P = P[np.linalg.norm(P, axis=1) > 0]
    h = grid.altitude(P)[0]
    P, h = P[h > 0], h[h > 0]
    ag = grid.evaluate(P)[1]
    ae = grid.poly.acceleration(P)
    err = np.linalg.norm(ag - ae, axis=1) / np.linalg.norm(ae, axis=1)
    low = h < 1.0

    # baseline: DOP853 + exact polyhedron, nominal descent
    def rhs(t, s):
        g = grid.poly.acceleration(s[None, :3])[0]
        return [s[3], s[4], s[5], 2 * N * s[4] + 3 * N * N * s[0] + g[0], -2 * N * s[3] + g[1], -N * N * s[2] + g[2]]

    def alt(target):
        def ev(t, s):
            return grid.altitude(s[None, :3])[0][0] - target
        ev.terminal, ev.direction = True, -1
        return ev

    tb = []
    miss = []
    nfev = 0
    for _ in range(a.baseline):
        t0 = time.perf_counter()
        x = np.concatenate([plan.state0[:3], plan.state0[3:] + plan.dv1])
        s1 = solve_ivp(rhs, (0, plan.t_max), x, method="DOP853", rtol=1e-10, atol=1e-12,
                       events=alt(plan.brake_altitude_km))
        xb = s1.y_events[0][0].copy()
        xb[3:] = plan.v_brake_target
        s2 = solve_ivp(rhs, (s1.t_events[0][0], plan.t_max), xb, method="DOP853", rtol=1e-10, atol=1e-12,
                       events=alt(0.0))
        tb.append(time.perf_counter() - t0)
        nfev = s1.nfev + s2.nfev  # derivative evaluations (events cost altitude calls only)
        miss.append(np.linalg.norm(s2.y_events[0][0][:3] - plan.touchdown.position_km[0]) * 1e3)
    base = statistics.median(tb) if tb else float("nan")
    # lower bound of any exact-polyhedron integrator: the same number of evaluations at the
    # batched (SIMD, all threads) cost per point, which a step-by-step integrator cannot reach
    Pb = P[np.random.default_rng(0).integers(0, len(P), 4096)]
    grid.poly.acceleration(Pb)
    t0 = time.perf_counter()
    grid.poly.acceleration(Pb)
    per_pt = (time.perf_counter() - t0) / len(Pb)
    t0 = time.perf_counter()
    for k in range(20):
        grid.poly.acceleration(Pb[k:k + 1])
    per_call = (time.perf_counter() - t0) / 20
    base_lo = nfev * per_pt

    per = wall / a.n
    print(f"# bench_descent: {platform.processor() or platform.machine()}, {a.threads} threads, mesh {a.mesh} "
          f"({len(grid.shape.faces)} facets), grid {grid.G.shape[1]}x{grid.G.shape[2]}x{grid.G.shape[0]} "
          f"(lat x lon x radial), load/build {t_grid:.1f} s, plan {t_plan:.2f} s")
    print(f"# QSO {a.qso_km:g} km (periodic in the descent model: period {plan.qso.period_s:.1f} s, closure "
          f"{plan.qso.closure_position_m * 1e3:.1f} mm) -> site lat {a.site[0]:g}, lon {a.site[1]:g} deg, "
          f"transfer {a.transfer_s:g} s; seed {a.repeat - 1} (the last timed run): {d.summary()}")
    print()
    print("| case | N | wall s (median) | trajectories/s | s per trajectory |")
    print("|---|---:|---:|---:|---:|")
    print(f"| fast: numba RK4 + grid | {a.n} | {wall:.2f} | {a.n / wall:.0f} | {per:.2e} |")
    if tb:
        print(f"| baseline: DOP853 + exact polyhedron ({nfev} evaluations) | {a.baseline} | {sum(tb):.2f} | "
              f"{1 / base:.2f} | {base:.2e} |")
        print(f"| ratio baseline/fast per trajectory | | | | {base / per:.0f}x |")
        print(f"| lower bound: {nfev} evaluations x batched polyhedron cost ({per_pt * 1e6:.0f} us/point; "
              f"a single-point call costs {per_call * 1e3:.1f} ms) | | | | {base_lo:.2e} |")
        print(f"| ratio lower bound/fast per trajectory | | | | {base_lo / per:.0f}x |")
    print()
    print("| fast-gravity error vs exact polyhedron (relative acceleration) | points | max | median |")
    print("|---|---:|---:|---:|")
    print(f"| along {a.tracks} trajectories, all steps | {len(err)} | {err.max():.2e} | {np.median(err):.2e} |")
    if low.any():
        print(f"| same, altitude < 1 km | {int(low.sum())} | {err[low].max():.2e} | {np.median(err[low]):.2e} |")
    if miss:
        print(f"| nominal touchdown point, fast vs baseline (m) | 1 | {max(miss):.2f} | |")
    print()
    print(f"goal: {a.n} trajectories < 10 s on 2 cores: {'met' if wall < 10 and a.n >= 1000 else 'see table'}")
    if a.map:
        d.plot_map(a.map)
        print(f"map written to {a.map}")


if __name__ == "__main__":
    main()
