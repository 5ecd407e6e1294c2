"""Benchmark: the reference 30-day QSO, mmxsim (heyoka) vs SciPy DOP853 on a NumPy RHS.

Both integrate the same equations (the reference scenario's full force model, Phobos on the
integrated ephemeris) written once in mmxsim; the NumPy RHS uses the same Chebyshev
interpolation of Phobos, Sun and Earth. The heyoka runs carry the scenario's events (impact on
the Ernst shape with its trigger surface, Mars impact, eclipses) and the near-surface gravity
switch's entry event; the SciPy run has none (which only favours SciPy). Each is tuned to the loosest tolerance whose final position error is
<= 1 m against a tight reference (heyoka, tol 1e-15, full mode). The QSO amplifies a
1 um change of the initial state to ~0.12 m in 30 days (measured), so the reference is good
to ~1 cm and 1 m needs tolerances near 1e-14. Wall time is the
median of >= 5 runs; compile time is reported on its own line. Also measured: wall
time and peak memory of `mmxsim run` in a subprocess (cold caches: empty HOME).

Run:  python benchmarks/bench_propagation.py [--repeats 5] [--days 30]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--skip-run", action="store_true", help="skip the `mmxsim run` subprocess measurement")
    args = ap.parse_args()

    import heyoka as hy
    from scipy.integrate import solve_ivp

    from mmxsim.dynamics import numpy_rhs, propagate
    from mmxsim.dynamics import propagator as P
    from mmxsim.mission.runner import build_model, initial_state
    from mmxsim.scenario import reference_scenario

    s = reference_scenario()
    t0 = float(s.t0_tdb)
    span = args.days * 86400.0

    def model(tol, compact, events=True):
        m, eph = build_model(s)
        if not events:
            m.events = []
        m.tolerance = tol
        m.compact_mode = compact
        return m, eph

    m_ref, eph = model(1e-15, False)
    x0 = initial_state(s, t0, eph)
    grid = np.array([t0, t0 + span])
    ref = propagate(m_ref, t0, x0, grid).states[-1, :3]

    def err(xf):
        return float(np.linalg.norm(xf[:3] - ref) * 1e3)  # m

    rows = []

    # --- heyoka: cold compile (disk cache off), then tune and time --------------------
    compile_rows = []
    hy.llvm_state.set_diskcache_enabled(False)
    for compact in (True, False):
        P._CACHE.clear()
        m, _ = model(1e-10, compact)
        c0 = time.perf_counter()
        P.build(m)
        compile_rows.append((compact, time.perf_counter() - c0))
    hy.llvm_state.set_diskcache_enabled(True)

    def tune_heyoka(compact):
        for tol in (1e-10, 3e-11, 1e-11, 3e-12, 1e-12, 3e-13, 1e-13, 3e-14, 1e-14):
            m, _ = model(tol, compact)
            r = propagate(m, t0, x0, grid)
            print(f"  heyoka tuning ({'compact' if compact else 'full'}): tol {tol:.0e}: final error "
                  f"{err(r.states[-1]):.3f} m", flush=True)
            if err(r.states[-1]) <= 1.0:
                return tol, m
        return tol, m

    for compact in (True, False):
        tol, m = tune_heyoka(compact)
        times, e = [], None
        for _ in range(args.repeats):
            r = propagate(m, t0, x0, grid)
            times.append(r.propagate_s)
            e = err(r.states[-1])
        rows.append((f"mmxsim heyoka ({'compact' if compact else 'full'} mode)", f"tol {tol:.0e}",
                     statistics.median(times), e, r.n_steps))

    # --- SciPy DOP853 on the NumPy RHS ------------------------------------------------
    f = numpy_rhs(model(1e-15, False, events=False)[0], cheb_origin=t0)

    def scipy_run(rtol):
        c = time.perf_counter()
        sol = solve_ivp(f, (t0, t0 + span), x0, method="DOP853", rtol=rtol, atol=rtol * 1e-3)
        return time.perf_counter() - c, sol

    chosen = None
    for rtol in (1e-12, 5e-13, 2e-13, 1e-13, 5e-14):
        w, sol = scipy_run(rtol)
        chosen = rtol
        print(f"  scipy tuning: rtol {rtol:.0e}: final error {err(sol.y[:, -1]):.3f} m, {w:.1f} s", flush=True)
        if err(sol.y[:, -1]) <= 1.0:
            break
    times = [w]
    for _ in range(args.repeats - 1):
        w, sol = scipy_run(chosen)
        times.append(w)
    rows.append(("scipy DOP853 + NumPy RHS", f"rtol {chosen:.0e}", statistics.median(times),
                 err(sol.y[:, -1]), sol.nfev))

    base = rows[-1][2]
    print(f"\nReference QSO, {args.days:g} days, full force model, median of {args.repeats} runs "
          f"(target final error ~1 m vs heyoka tol 1e-15)\n")
    print(f"{'integrator':40s} {'setting':>10s} {'wall [s]':>10s} {'final err [m]':>14s} {'steps/nfev':>11s} {'speed-up':>9s}")
    for name, setting, w, e, n in rows:
        print(f"{name:40s} {setting:>10s} {w:10.4f} {e:14.3f} {n:11d} {base / w:8.0f}x")
    for compact, c in compile_rows:
        print(f"compile time, cold (heyoka disk cache off), {'compact' if compact else 'full'} mode: {c:.2f} s")

    if not args.skip_run:
        with tempfile.TemporaryDirectory() as home:
            env = dict(os.environ, HOME=home, XDG_CACHE_HOME=os.path.join(home, ".cache"),
                       MPLCONFIGDIR=os.path.join(home, "mpl"))
            for label in ("cold caches", "warm caches"):
                c = time.perf_counter()
                subprocess.run([sys.executable, "-m", "mmxsim.cli", "run", "-q", "--out", os.path.join(home, "out")],
                               env=env, check=True, capture_output=True)
                wall = time.perf_counter() - c
                peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
                print(f"`mmxsim run` (reference, {label}): wall {wall:.1f} s, peak memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
