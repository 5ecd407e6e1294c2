"""Benchmark: ensemble propagation (heyoka batch mode) vs the scalar loop vs SciPy DOP853.

N perturbed 1-day trajectories (100 m, 1 cm/s about the reference QSO state) of

1. the reference scenario's force model and events (Mars 4x4 zonals, Phobos harmonics degree 8 with the
   near-surface switch and the Ernst impact surface, Sun, Earth, Deimos, SRP with shadows, eclipses);
2. a simple model: Mars J2 + Phobos point mass (integrated-moons ephemeris), Mars impact event, in
   heyoka's compact mode (the mmxsim default) and full mode;
3. (``--phobos both``, the default) the same simple model with the mean-element ephemeris
   (``moons="mean_elements"``): Phobos is then an analytic expression of time in the equations (the
   MAR080 precessing ellipse, ``dynamics.tracks.AnalyticTrack``) instead of 3-h Chebyshev segments
   loaded as parameters, the closest to the "Mars J2 + Phobos point mass" of raw heyoka (a different
   Phobos ephemeris: the final states differ from variant 2 by kilometres, not a check of either).

4. (``--calls 300``) the fixed cost per call: many short calls of 6 members (3D QSO station-keeping arcs
   of 1.25 revolutions from 6 manoeuvre epochs, as ``orbits.stationkeeping.simulate_ensemble`` makes them),
   and the same calls over 60 s (almost no integration: what is left is the per-call cost), CPU ms per call.

Rows: ``propagate_ensemble`` with 1 and 2 worker threads, the scalar loop (``propagate`` per member, as
campaigns run today), SciPy DOP853 on the NumPy right-hand side (``numpy_rhs``, rtol 1e-12, timed on a
subset and scaled to N). Ratios are against the scalar loop measured in the same run; the final states of
every method are compared with the scalar path's (max |dr| in m, |dv| in mm/s). Compile time is reported
on its own line (heyoka's disk cache on). No timed assertions.

Run:  python benchmarks/bench_ensemble.py [--n 1000] [--n-simple 20000] [--scipy 3]
      [--phobos both|integrated|mean_elements]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

DAY = 86400.0


def members(x0, n, seed):
    rng = np.random.default_rng(seed)
    return x0 + np.hstack([rng.normal(0, 0.1, (n, 3)), rng.normal(0, 1e-5, (n, 3))])


def diff(a, b):
    d = np.abs(np.asarray(a) - np.asarray(b))
    return float(d[..., :3].max() * 1e3), float(d[..., 3:].max() * 1e6)


def table(title, n, rows, base):
    print(f"\n{title}: {n} trajectories of 1 day")
    print(f"| method | wall for {n} (s) | trajectories/s | vs scalar loop | max dr vs scalar (m) | "
          f"max dv (mm/s) |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, wall, dr, dv in rows:
        print(f"| {name} | {wall:.3g} | {n / wall:,.0f} | {base / wall:.2f}x | "
              f"{'-' if dr is None else f'{dr:.2g}'} | {'-' if dv is None else f'{dv:.2g}'} |")


def run_model(title, model, t0, X, scalar_subset, scipy_n, workers=(1, 2)):
    from scipy.integrate import solve_ivp

    from mmxsim.dynamics import numpy_rhs, propagate
    from mmxsim.dynamics.ensemble import propagate_ensemble

    n = X.shape[0]
    grid = np.array([t0, t0 + DAY])
    c = time.perf_counter()
    e = propagate_ensemble(model, t0, X[:1], grid)
    print(f"{title}: batch compile {e.compile_s:.2f} s (first call {time.perf_counter() - c:.2f} s)", flush=True)
    propagate(model, t0, X[0], grid)  # scalar compile
    m = min(n, scalar_subset)
    c = time.perf_counter()
    ref = np.array([propagate(model, t0, X[i], grid).final_state for i in range(m)])
    base = (time.perf_counter() - c) * n / m
    rows = [(f"scalar loop ({m} timed{', scaled' if m < n else ''})", base, None, None)]
    for w in workers:
        c = time.perf_counter()
        e = propagate_ensemble(model, t0, X, grid, workers=w)
        wall = time.perf_counter() - c
        paths = {p: e.path.count(p) for p in set(e.path)}
        rows.append((f"ensemble, {w} worker{'s' if w > 1 else ''} (batch {e.batch_size}; paths {paths})", wall,
                     *diff(e.final_state[:m], ref)))
        print(f"  ensemble {w} workers: {wall:.2f} s", flush=True)
    if scipy_n:
        f = numpy_rhs(model, cheb_origin=t0)
        c = time.perf_counter()
        xs = [solve_ivp(f, (t0, t0 + DAY), X[i], method="DOP853", rtol=1e-12, atol=1e-15).y[:, -1]
              for i in range(scipy_n)]
        wall = (time.perf_counter() - c) * n / scipy_n
        rows.append((f"scipy DOP853 rtol 1e-12 ({scipy_n} timed, scaled; no events)", wall,
                     *diff(xs, ref[:scipy_n])))
    table(title, n, rows, base)


def fixed_cost(n_calls: int) -> None:
    """CPU ms per propagate_ensemble call of 6 members (item 4 of the module docstring), best of 3."""
    from mmxsim.dynamics.ensemble import propagate_ensemble
    from mmxsim.orbits import handoff, qso
    from mmxsim.orbits import stationkeeping as sk
    from mmxsim.time import to_tdb_seconds

    t0 = float(to_tdb_seconds("2027-09-01T00:00:00", "utc"))
    model = handoff.full_model()
    ref = sk.reference_trajectory(qso.qso_3d(qso.periodic_qso(50.0, degree=8), 20.0, -5.0, n_revs=4), t0,
                                  days=2.0, model=model)
    step, idx, _ = sk._schedule(ref, sk.Errors(), 1.25, 2.0)
    rng = np.random.default_rng(1)
    calls = [(ref.t[i], ref.states[i] + np.r_[rng.normal(0, 0.01, 3), rng.normal(0, 1e-7, 3)] * np.ones((6, 1)),
              ref.t[i + step]) for i in idx]
    propagate_ensemble(model, calls[0][0], calls[0][1], [calls[0][0], calls[0][2]])  # compile
    print(f"\nfixed cost per call: {n_calls} calls of 6 members (3D QSO, {len(calls)} start epochs)")
    for label, span in (("1.25 revolutions", None), ("60 s (almost only the per-call cost)", 60.0)):
        best = []
        for _ in range(3):
            c = time.process_time()
            for k in range(n_calls):
                ta, xs, tb = calls[k % len(calls)]
                propagate_ensemble(model, ta, xs, [ta, tb if span is None else ta + span])
            best.append((time.process_time() - c) / n_calls * 1e3)
        print(f"  {label}: {min(best):.2f} ms CPU per call (best of 3)", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--n-simple", type=int, default=20000)
    ap.add_argument("--scalar-simple", type=int, default=500, help="scalar members timed for the simple model")
    ap.add_argument("--scipy", type=int, default=3, help="SciPy members timed (0: skip)")
    ap.add_argument("--phobos", choices=("both", "integrated", "mean_elements"), default="both",
                    help="Phobos of the simple model: integrated moons (Chebyshev track), mean elements "
                         "(analytic track), or both")
    ap.add_argument("--calls", type=int, default=300, help="short calls timed for the fixed cost (0: skip)")
    ap.add_argument("--only-calls", action="store_true", help="time the fixed cost per call only")
    args = ap.parse_args()

    import heyoka as hy

    from mmxsim.dynamics import DynamicsModel, MarsGravity, MarsImpact, PhobosGravity
    from mmxsim.mission.runner import build_model, initial_state
    from mmxsim.scenario import reference_scenario

    print(f"heyoka {hy.__version__}, SIMD width {hy.recommended_simd_size()}")
    if args.calls:
        fixed_cost(args.calls)
    if args.only_calls:
        return
    s = reference_scenario()
    t0 = float(s.t0_tdb)
    model, eph = build_model(s)
    x0 = initial_state(s, t0, eph)
    run_model("reference force model", model, t0, members(x0, args.n, 1), args.n, args.scipy)
    from mmxsim.ephemeris import default_ephemeris

    variants = []
    if args.phobos in ("both", "integrated"):
        variants.append(("integrated moons, Phobos on Chebyshev segments", eph))
    if args.phobos in ("both", "mean_elements"):
        variants.append(("mean-element Phobos, analytic track", default_ephemeris(moons="mean_elements")))
    for label, e in variants:
        for compact in (True, False):
            simple = DynamicsModel(forces=[MarsGravity(2), PhobosGravity("point_mass")], ephemeris=e,
                                   events=[MarsImpact()], tolerance=model.tolerance, compact_mode=compact)
            run_model(f"Mars J2 + Phobos point mass ({label}; {'compact' if compact else 'full'} mode)", simple,
                      t0, members(x0, args.n_simple, 2), args.scalar_simple, args.scipy)


if __name__ == "__main__":
    main()
