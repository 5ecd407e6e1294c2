"""Capsule-entry Monte Carlo throughput: the compiled ensemble against SciPy, same run, same samples.

The footprint of ``mmxsim.earth_return.monte_carlo_footprint`` (Hayabusa2-class capsule and entry,
default dispersions: entry state, density, C_D, parachute, winds) flown two ways:

* ``method="ensemble"``: the compiled fixed-step RK4 ensemble (numba, samples in parallel), timed
  after a warm-up that compiles (the compile time is printed on its own line);
* ``method="scipy"``: one ``simulate_entry`` per sample (DOP853, rtol 1e-7, Python right-hand side),
  the baseline, on the first ``--baseline`` samples of the same seed and scaled to ``--n``.

Printed: wall time, time per entry, the ratio, and the largest difference between the two landing
points of the same sample.

    python benchmarks/bench_entry.py [--n 1000] [--baseline 40] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--baseline", type=int, default=40)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from mmxsim.earth_return import entry as en

    e = en.hayabusa2_entry()
    t = time.perf_counter()
    en.monte_carlo_footprint(e, n=10, seed=99, method="ensemble")
    compile_s = time.perf_counter() - t
    runs = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        fe = en.monte_carlo_footprint(e, n=args.n, seed=0, method="ensemble")
        runs.append(time.perf_counter() - t)
    t_ens = statistics.median(runs)
    nb = max(10, min(args.baseline, args.n))
    t = time.perf_counter()
    fs = en.monte_carlo_footprint(e, n=nb, seed=0, method="scipy")
    t_sci = (time.perf_counter() - t) * args.n / nb
    d = en.local_en_km(fe.lat_deg[:nb], fe.lon_deg[:nb], fs.center_lat_deg, fs.center_lon_deg) \
        - en.local_en_km(fs.lat_deg, fs.lon_deg, fs.center_lat_deg, fs.center_lon_deg)
    print(f"Entry Monte Carlo, {args.n} samples (Hayabusa2-class capsule, default dispersions)")
    print(f"{'method':<44} | {'wall s':>8} | {'ms / entry':>10} | {'speed-up':>8}")
    print("-" * 80)
    print(f"{'ensemble, numba RK4 (median of ' + str(args.repeat) + ')':<44} | {t_ens:>8.2f} | "
          f"{1e3 * t_ens / args.n:>10.2f} | {t_sci / t_ens:>8.1f}")
    print(f"{'SciPy DOP853 per entry (' + str(nb) + ' timed, scaled)':<44} | {t_sci:>8.2f} | "
          f"{1e3 * t_sci / args.n:>10.2f} | {1.0:>8.1f}")
    print(f"first call (numba compile or cache load): {compile_s:.2f} s")
    print(f"largest landing-point difference, same samples: {1e3 * np.abs(d).max():.2f} m; "
          f"99 % ellipse {2 * fe.semi_major_km:.1f} x {2 * fe.semi_minor_km:.1f} km")


if __name__ == "__main__":
    main()
