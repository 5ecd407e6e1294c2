"""Hill-problem QSO transfers flown again in the full model (docs/transfers.md §8).

For each case: the circular-Hill transfer (degree-8 Phobos field) is computed with
``two_impulse_transfer`` (fixed phases and tof) or ``optimal_transfer`` (grid + Nelder-Mead,
``tof_max`` 1 day, ``n_phase`` 6, ``n_tof`` 3), then ``full_model_transfer`` flies it in the
default full model (``handoff.full_model()``) with the first impulse at 2027-09-01T00:00 UTC.
Prints one markdown row per case and the runtimes (the first full-model call of the process
includes compiling heyoka's variational equations), then, for the two fixed-phase cases, the
spread over 8 departure epochs spaced by 1/8 of Phobos' period from 2027-09-01.

    python benchmarks/bench_transfers_full.py [--no-optimal]
"""

from __future__ import annotations

import sys
import time

from mmxsim.orbits import handoff as H
from mmxsim.orbits import qso as Q
from mmxsim.orbits import transfers as T
from mmxsim.orbits.transfers_full import full_model_transfer
from mmxsim.time import to_tdb_seconds

DAY = 86400.0
T0 = float(to_tdb_seconds("2027-09-01T00:00:00", "utc"))
HEADER = ("| case | Hill Δv1 / Δv2 / total m/s | full Δv1 / Δv2 / total m/s | full/Hill | tof d "
          "| miss m (flow / re-propagated) | min alt km (Hill / full) | Newton it. | Hill s | full s |\n"
          "|---|---|---|---|---|---|---|---|---|---|")


def row(label, tr, f, hill_s):
    return (f"| {label} | {f.hill_dv1_m_s:.2f} / {f.hill_dv2_m_s:.2f} / {f.hill_dv_total_m_s:.2f} "
            f"| {f.dv1_m_s:.2f} / {f.dv2_m_s:.2f} / {f.dv_total_m_s:.2f} | {f.ratio:.3f} | {f.tof_days:.3f} "
            f"| {f.miss_m:.1e} / {f.repropagated_miss_m:.1e} | {tr.min_surface_distance_km:.2f} / "
            f"{f.min_surface_distance_km:.2f} | {f.iterations} | {hill_s:.1f} | {f.runtime_s:.1f} |")


def main(optimal: bool = True):
    model = H.full_model()
    q = {s: Q.periodic_qso(s, degree=8) for s in (100.0, 50.0, 30.0)}
    cases = [("100 → 50 km, phases 0 → 0.5, tof 0.5 d", lambda: T.two_impulse_transfer(q[100.0], q[50.0], 0.5 * DAY, 0.0, 0.5)),
             ("50 → 30 km, phases 0 → 0, tof 0.25 d", lambda: T.two_impulse_transfer(q[50.0], q[30.0], 0.25 * DAY, 0.0, 0.0))]
    if optimal:
        cases += [("100 → 50 km, optimal_transfer", lambda: T.optimal_transfer(q[100.0], q[50.0], DAY, n_phase=6, n_tof=3)),
                  ("50 → 30 km, optimal_transfer", lambda: T.optimal_transfer(q[50.0], q[30.0], DAY, n_phase=6, n_tof=3))]
    rows = []
    for label, make in cases:
        t = time.perf_counter()
        tr = make()
        hill_s = time.perf_counter() - t
        a, b = tr.departure_size_km, tr.arrival_size_km
        f = full_model_transfer(tr, T0, model=model, departure=q[a], arrival=q[b])
        label = f"{label} ({tr.depart_phase:.3f} → {tr.arrive_phase:.3f}, {tr.tof_days:.3f} d)" if "optimal" in label else label
        rows.append(row(label, tr, f, hill_s))
        print(rows[-1], flush=True)
        print(f"   Hill-axes dv1 full {f.dv1_hill * 1e3} vs Hill {tr.dv1 * 1e3}; dv2 full {f.dv2_hill * 1e3} vs Hill "
              f"{tr.dv2 * 1e3}; shooting it. {f.shooting_depart.iterations}/{f.shooting_arrive.iterations}, "
              f"shift {f.shooting_depart.max_shift_km:.2f}/{f.shooting_arrive.max_shift_km:.2f} km, "
              f"min centre dist {f.min_center_distance_km:.2f} km, miss history {f.miss_history_m}", flush=True)
    print(HEADER)
    print("\n".join(rows))
    # epoch sweep: the two fixed-phase cases, first impulse at 8 epochs over one Phobos revolution
    import numpy as np

    for label, make in cases[:2]:
        tr = make()
        a, b = tr.departure_size_km, tr.arrival_size_km
        r = np.array([(f.ratio, f.repropagated_miss_m, f.min_surface_distance_km, f.iterations, f.runtime_s)
                      for f in (full_model_transfer(tr, T0 + k * H.PHOBOS_PERIOD_S / 8, model=model,
                                                    departure=q[a], arrival=q[b]) for k in range(8))])
        print(f"sweep {label}: full/Hill {r[:, 0].min():.4f} .. {r[:, 0].max():.4f}, max re-propagated miss "
              f"{r[:, 1].max():.1e} m, min alt {r[:, 2].min():.2f} km, Newton it. {int(r[:, 3].min())}..{int(r[:, 3].max())}, "
              f"runtime {r[:, 4].min():.2f}..{r[:, 4].max():.2f} s", flush=True)


if __name__ == "__main__":
    main(optimal="--no-optimal" not in sys.argv)
