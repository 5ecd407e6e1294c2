"""Polyhedron gravity throughput: mmxsim vs polyhedral-gravity (if installed), same run.

Potential + acceleration at N exterior points (default 10,000; altitudes 1-50 km) for the
3,480-facet (thomas3k) and 49,988-facet (ernst) Phobos meshes. Reports face-evaluations per
second (points x faces / wall time, best of ``--repeat``) and the ratio.

    python benchmarks/bench_polyhedron.py [--points 10000] [--repeat 3] [--threads 2]

polyhedral-gravity is GPL-3 and only used here as a reference if present.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np


def exterior_points(shape, n, seed=0):
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1)[:, None]
    rmax = np.linalg.norm(shape.vertices, axis=1).max()
    return d * (rmax + rng.uniform(1.0, 50.0, (n, 1)))


def best_of(fn, repeat):
    best = np.inf
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="threads for both codes (default: all cores)")
    ap.add_argument("--meshes", default="thomas3k,ernst")
    ap.add_argument("--numpy", action="store_true", help="also time the NumPy fallback (slow)")
    args = ap.parse_args(argv)
    if args.threads:
        os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    from mmxsim.bodies.shapes import phobos_shape
    from mmxsim.gravity.polyhedron import HAVE_NUMBA, Polyhedron

    if HAVE_NUMBA and args.threads:
        import numba

        numba.set_num_threads(args.threads)
    try:
        import polyhedral_gravity as pg
    except ImportError:
        pg = None
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
          f"threads={args.threads or 'all'}, numba={'yes' if HAVE_NUMBA else 'no'}, "
          f"polyhedral-gravity={getattr(pg, '__version__', 'installed') if pg else 'not installed'}")
    print(f"# potential + acceleration at {args.points} exterior points (1-50 km altitude), best of {args.repeat}")
    rows = []
    for name in args.meshes.split(","):
        shape = phobos_shape(name)
        nf = len(shape.faces)
        P = exterior_points(shape, args.points)
        evals = len(P) * nf
        p = Polyhedron(shape)
        p.potential_acceleration(P[:4])  # compile / warm up
        t_m = best_of(lambda: p.potential_acceleration(P), args.repeat)
        row = {"mesh": name, "faces": nf, "mmxsim": evals / t_m, "backend": p.backend}
        if args.numpy and p.backend != "numpy":
            q = Polyhedron(shape, backend="numpy")
            m = max(1, len(P) // 20)
            row["numpy"] = m * nf / best_of(lambda: q.potential_acceleration(P[:m]), 1)
        if pg is not None:
            ref = pg.Polyhedron((shape.vertices, shape.faces), p.g_rho, pg.NormalOrientation.OUTWARDS,
                                pg.PolyhedronIntegrity.DISABLE, pg.MetricUnit.UNITLESS)
            ev = pg.GravityEvaluable(ref)
            ev(P[:4], True)
            t_r = best_of(lambda: ev(P, True), args.repeat)
            row["pg"] = evals / t_r
            res = ev(P[:200], True)
            u, a = p.potential_acceleration(P[:200])
            row["max_rel_diff"] = max(np.max(np.abs(u - [r[0] for r in res]) / u),
                                      np.max(np.linalg.norm(a - np.array([r[1] for r in res]), axis=1)
                                             / np.linalg.norm(a, axis=1)))
        rows.append(row)
    print()
    print("| mesh | faces | mmxsim (face-evals/s) | polyhedral-gravity (face-evals/s) | ratio "
          "| max rel. diff (200 pts) |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        pgs = f"{r['pg']:.3g}" if "pg" in r else "n/a"
        ratio = f"{r['mmxsim'] / r['pg']:.1f}x" if "pg" in r else "n/a"
        diff = f"{r['max_rel_diff']:.1e}" if "max_rel_diff" in r else "n/a"
        print(f"| {r['mesh']} | {r['faces']} | {r['mmxsim']:.3g} ({r['backend']}) | {pgs} | {ratio} | {diff} |")
        if "numpy" in r:
            print(f"|   (NumPy fallback) | | {r['numpy']:.3g} | | | |")


if __name__ == "__main__":
    main()
