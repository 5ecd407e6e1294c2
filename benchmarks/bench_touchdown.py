"""Touchdown throughput: the safe-envelope grid with the numba kernel vs the same kernel as plain Python.

Both paths run the identical code (mmxsim.surface.touchdown._sim_impl); the baseline is the
plain-Python path measured in the same run on the first ``--baseline`` grid points (per-run time,
then scaled). Accuracy setting stated: dt_contact 5e-4 s, dt_flight 0.02 s (energy balance
error ~0.2 % of the initial energy, tests/surface/test_touchdown.py).

    python benchmarks/bench_touchdown.py [--baseline 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from mmxsim.surface import touchdown as td


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", type=int, default=3)
    a = ap.parse_args()
    S, V, H = (0.0, 10.0, 20.0, 30.0), (0.1, 0.3, 0.5, 0.7, 0.9), (0.0, 0.1, 0.2, 0.3)
    kw = dict(attitude_error_deg=(0.0, 2.0), hold_down_thrust_N=88.0, hold_down_s=60.0)
    grid = [(s, v, h) for s in S for v in V for h in H]
    if not td.HAVE_NUMBA:
        print("numba not installed: nothing to compare")
        return
    td.simulate_touchdown(t_max_s=1.0)  # compile
    t0 = time.perf_counter()
    sim_t = 0.0
    for s, v, h in grid:
        r = td.simulate_touchdown(v, h, s, **kw)
        sim_t += r.t_end_s
    fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    for s, v, h in grid[:a.baseline]:
        td.simulate_touchdown(v, h, s, **kw)
    fast_same = time.perf_counter() - t0
    saved = td._KERNEL["k"]
    td._KERNEL["k"] = td._sim_impl
    try:
        t0 = time.perf_counter()
        sim_b = 0.0
        for s, v, h in grid[:a.baseline]:
            sim_b += td.simulate_touchdown(v, h, s, **kw).t_end_s
        slow = time.perf_counter() - t0
    finally:
        td._KERNEL["k"] = saved
    per_fast = fast / sim_t
    per_slow = slow / sim_b
    print(f"{'path':<28}{'runs':>6}{'simulated s':>14}{'wall s':>10}{'wall per sim-s':>16}")
    print(f"{'numba kernel':<28}{len(grid):>6}{sim_t:>14.0f}{fast:>10.2f}{per_fast:>16.2e}")
    print(f"{'plain Python (baseline)':<28}{a.baseline:>6}{sim_b:>14.0f}{slow:>10.2f}{per_slow:>16.2e}")
    print(f"{'numba, same runs':<28}{a.baseline:>6}{sim_b:>14.0f}{fast_same:>10.2f}{fast_same / sim_b:>16.2e}")
    print(f"ratio baseline / numba on the same runs: {slow / fast_same:.0f}x; "
          f"envelope ({len(grid)} runs) estimated without numba: {per_slow * sim_t:.0f} s")


if __name__ == "__main__":
    main()
