"""Porkchop grid: 500 x 500 single-revolution Lambert problems, mmxsim vs baselines, same run.

Problems: Earth (departure 2026-08-01 .. 2027-01-31) to Mars (arrival 2027-03-01 .. 2028-05-01),
DE421 states, every (departure, arrival) pair with 60 <= TOF <= 700 d solved (the rest of the
250,000 pairs are skipped as in ``windows.porkchop``; with ``--all-pairs`` the TOF limits are
lifted to 1..1000 d so that all 250,000 are solved).

Rows:
* mmxsim batch kernel, numba ``parallel=True`` on ``--threads`` threads (default 2), warm (the
  one-off JIT compile is reported separately);
* the same kernel serial (one thread);
* a scalar loop: the same Izzo algorithm as plain Python, one problem at a time, timed on
  ``--scalar-n`` problems and scaled linearly;
* pykep's ``lambert_problem`` (C++, one call per problem from Python), if importable, timed on
  ``--scalar-n`` problems and scaled; its max relative difference to mmxsim is printed.

    python benchmarks/bench_lambert.py [--n 500] [--threads 2] [--scalar-n 3000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import numpy as np


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--scalar-n", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--all-pairs", action="store_true")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    from mmxsim.bodies import GM_SUN
    from mmxsim.ephemeris import default_ephemeris
    from mmxsim.orbits import lambert as L
    from mmxsim.time import to_tdb_seconds

    eph = default_ephemeris()
    n = args.n
    td = np.linspace(float(to_tdb_seconds("2026-08-01")), float(to_tdb_seconds("2027-01-31")), n)
    ta = np.linspace(float(to_tdb_seconds("2027-03-01")), float(to_tdb_seconds("2028-05-01")), n)
    t0 = time.perf_counter()
    xe = eph.state("EARTH", "SUN", td)
    xm = eph.state("MARS", "SUN", ta)
    t_eph = time.perf_counter() - t0
    TOF = ta[None, :] - td[:, None]
    lo, hi = (1.0, 1000.0) if args.all_pairs else (60.0, 700.0)
    ok = (TOF >= lo * 86400) & (TOF <= hi * 86400)
    R1 = np.ascontiguousarray(np.broadcast_to(xe[:, None, :3], (n, n, 3))[ok])
    R2 = np.ascontiguousarray(np.broadcast_to(xm[None, :, :3], (n, n, 3))[ok])
    T = np.ascontiguousarray(TOF[ok])
    m = T.size
    rows = []
    if L.HAVE_NUMBA:
        import numba

        numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
        t0 = time.perf_counter()
        L.solve(GM_SUN, R1[:10], R2[:10], T[:10], parallel=True)
        L.solve(GM_SUN, R1[:10], R2[:10], T[:10], parallel=False)
        rows.append(("numba JIT compile (one-off, both kernels)", time.perf_counter() - t0, None))
        best = min(_timed(lambda: L.solve(GM_SUN, R1, R2, T, parallel=True)) for _ in range(args.repeat))
        rows.append((f"mmxsim batch, numba parallel, {numba.get_num_threads()} threads", best, m))
        ser = min(_timed(lambda: L.solve(GM_SUN, R1, R2, T, parallel=False)) for _ in range(args.repeat))
        rows.append(("mmxsim batch, numba serial", ser, m))
    v1, v2, st = L.solve(GM_SUN, R1, R2, T)
    k = min(args.scalar_n, m)
    idx = np.linspace(0, m - 1, k).astype(int)
    out = np.empty(8)
    t0 = time.perf_counter()
    for i in idx:  # the plain-Python kernel, one problem at a time
        L.PURE["_solve_one"](GM_SUN, *R1[i], *R2[i], T[i], 0, False, True, out)
    scal = (time.perf_counter() - t0) * m / k
    rows.append((f"scalar loop, pure Python (timed on {k}, scaled)", scal, m))
    try:
        import pykep as pk
    except Exception:
        pk = None
    diff = None
    if pk is not None:
        t0 = time.perf_counter()
        ref = [pk.lambert_problem(r0=R1[i], r1=R2[i], tof=float(T[i]), mu=GM_SUN).v0[0] for i in idx]
        rows.append((f"pykep lambert_problem loop (timed on {k}, scaled)", (time.perf_counter() - t0) * m / k, m))
        ref = np.array(ref)
        diff = float(np.max(np.abs(v1[idx] - ref) / np.linalg.norm(ref, axis=1)[:, None]))

    print(f"# bench_lambert: {n} x {n} porkchop grid, {m} Lambert problems solved "
          f"(status ok: {int(np.sum(st == 0))}); {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs visible; DE421 states {t_eph * 1e3:.1f} ms")
    base = next((r[1] for r in rows if r[0].startswith("scalar")), None)
    print(f"| {'method':55s} | {'time (s)':>9s} | {'us/problem':>10s} | {'speed-up vs scalar':>18s} |")
    print(f"|{'-' * 57}|{'-' * 11}|{'-' * 12}|{'-' * 20}|")
    for name, t, cnt in rows:
        per = f"{1e6 * t / cnt:10.3f}" if cnt else f"{'':10s}"
        su = f"{base / t:18.1f}" if (cnt and base) else f"{'':18s}"
        print(f"| {name:55s} | {t:9.3f} | {per} | {su} |")
    if diff is not None:
        print(f"max relative |v1| difference mmxsim vs pykep on the timed subset: {diff:.2e}")
    goal = next((r[1] for r in rows if "parallel" in r[0]), None)
    if goal is not None:
        print(f"goal < 2 s on 2 cores: {'met' if goal < 2.0 else 'NOT met'} ({goal:.3f} s)")


def _timed(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
