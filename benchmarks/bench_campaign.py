"""Benchmark: the same 200-sample campaign on 1 and on 2 local Dask workers.

The campaign: Monte Carlo over the QSO size (uniform 40..100 km), the out-of-plane
amplitude (uniform 0..2 km) and the spacecraft mass (normal 2000 +- 100 kg), each
sample a QSO run of ``--days`` days in the reference force model (Mars J2-J4, Phobos
harmonics to degree 8, Sun, Earth, Deimos, SRP with shadows, tolerance 1e-12, events on).

Each configuration runs in a fresh campaign folder through :func:`run_campaign` with a
new LocalCluster (one thread per worker process), so the wall time includes cluster
start-up and each worker's first (compile or cache-load) of the heyoka integrator:
what a user waits for. The speed-up is wall(1 worker) / wall(2 workers); the goal is
>= 1.8 on a 2-core machine. The outputs of both runs must be identical (checked).

Baseline measured in the same run: the first ``--baseline`` samples run by plain
``multiprocessing`` pools of 1 and 2 processes (no Dask; each process warmed up by one
sample first). Its ratio is the speed-up this machine offers at that moment (other
load on a shared machine lowers it); ``efficiency`` = Dask speed-up / that ratio.
The load average is printed before and after. Also printed: the Dask and cluster
overhead of the 1-worker run (its wall time minus the sum of its samples' times) and
the speed-up it implies on two idle cores, labelled as a projection.

The ensemble path (issue 19 item 2, :mod:`mmxsim.campaign.ensemble`): the same campaign with
``engine="ensemble"`` (samples grouped by model and flown as heyoka batch-mode ensembles, one Dask
task per chunk of a group) on 1 and 2 workers, in the same run as the per-sample path
(``engine="scenario"``, the 1 vs 2 workers table above). Printed: trajectories per second of each
path and worker count (wall with the cluster start, and once the cluster is up), how many samples
each path flew in batch lanes or with the scalar fallback (members that come inside Phobos'
near-surface switch radius or hit the impact trigger are flown again with the scalar propagator),
and the largest difference of the recorded outputs between the two paths.

Run:  python benchmarks/bench_campaign.py [--samples 200] [--days 20] [--repeats 1] [--no-ensemble]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def campaign(samples: int, days: float) -> dict:
    return {
        "name": "bench-campaign",
        "seed": 2027,
        "samples": samples,
        "base": {
            "name": "bench",
            "epoch": "2027-09-01T00:00:00",
            "duration_days": days,
            "initial_state": {"type": "qso", "radial_semi_axis_km": 50},
            "propagation": {"output_step_s": 1800},
        },
        "vary": {
            "initial_state.radial_semi_axis_km": {"dist": "uniform", "low": 40, "high": 100},
            "initial_state.out_of_plane_km": {"dist": "uniform", "low": 0, "high": 2},
            "spacecraft.mass_kg": {"dist": "normal", "mean": 2000, "std": 100},
        },
        "outputs": ["termination", "distance_phobos_km.min", "distance_phobos_km.max", "altitude_phobos_km.min"],
    }


def _warm(spec):
    from mmxsim.campaign.runner import run_sample

    global _SPEC
    _SPEC = spec
    run_sample(spec, 0)  # compile or load the integrator once per process


def _one(i):
    from mmxsim.campaign.runner import run_sample

    return run_sample(_SPEC, i)["status"]


def baseline(spec, n: int, procs: int) -> float:
    """Wall seconds of samples 0..n-1 on a warmed plain process pool (no Dask)."""
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(procs, initializer=_warm, initargs=(spec,)) as pool:
        pool.map(_one, range(procs), chunksize=1)  # wait for the warm-ups
        t = time.perf_counter()
        pool.map(_one, range(n), chunksize=1)
        return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--days", type=float, default=20.0)
    ap.add_argument("--baseline", type=int, default=60, help="samples in the no-Dask baseline (0: skip)")
    ap.add_argument("--repeats", type=int, default=1,
                    help="runs of each configuration, interleaved 1, 2, 1, 2...; the fastest counts")
    ap.add_argument("--no-ensemble", action="store_true", help="skip the ensemble path's rows")
    args = ap.parse_args()
    load0 = os.getloadavg()

    from mmxsim.campaign import parse_campaign, run_campaign

    spec = parse_campaign(campaign(args.samples, args.days))
    rows = {}
    tables = {}
    ens_rows = {}
    ens_tables = {}
    for _rep in range(max(1, args.repeats)):
        for engine in ("scenario",) + (() if args.no_ensemble else ("ensemble",)):
            for n in (1, 2):
                with tempfile.TemporaryDirectory() as tmp:
                    t = time.perf_counter()
                    res = run_campaign(spec, os.path.join(tmp, f"w{n}"), n_workers=n, progress=False, engine=engine)
                    wall = time.perf_counter() - t
                cpu = sum(v for v in res.table.column("wall_s").to_pylist() if v is not None)
                print(f"  {engine}, {n} worker(s): {wall:.1f} s, {res.timings.get('tasks', '?')} tasks "
                      f"(largest {res.timings.get('max_batch', '?')} samples)", flush=True)
                store, tabs = (rows, tables) if engine == "scenario" else (ens_rows, ens_tables)
                if n not in store or wall < store[n][0]:
                    store[n] = (wall, cpu, res.n_ok, res.n_failed, res.workers, res.timings["samples_s"])
                tabs[n] = [{k: v for k, v in r.items() if k != "wall_s"} for r in res.table.to_pylist()]
    same = tables[1] == tables[2]
    base_t = {}
    for _rep in range(max(1, args.repeats) if args.baseline else 0):
        for n in (1, 2):
            b = baseline(spec, args.baseline, n)
            base_t[n] = min(b, base_t.get(n, b))
    load1 = os.getloadavg()

    print()
    print(f"Campaign: {spec.n_samples} samples, {args.days:g}-day QSO runs in the reference force model, "
          f"machine: {os.cpu_count()} CPUs")
    print(f"{'workers':>8} | {'wall s':>8} | {'cluster up s':>12} | {'sum of sample s':>15} | {'ok':>4} | "
          f"{'failed':>6} | {'speed-up':>8} | {'speed-up, cluster up':>20}")
    print("-" * 104)
    base, base_run = rows[1][0], rows[1][5]
    for n, (wall, cpu, ok, failed, _w, run) in rows.items():
        print(f"{n:>8} | {wall:>8.1f} | {run:>12.1f} | {cpu:>15.1f} | {ok:>4} | {failed:>6} | {base / wall:>8.2f} | "
              f"{base_run / run:>20.2f}")
    sp = base / rows[2][0]
    print(f"speed-up 2 vs 1 worker: {sp:.2f} including the cluster start (goal >= 1.8), "
          f"{base_run / rows[2][5]:.2f} once the cluster is up; identical outputs: {same}")
    if base_t:
        ideal = base_t[1] / base_t[2]
        print(f"baseline, plain process pool, {args.baseline} samples: 1 process {base_t[1]:.1f} s, "
              f"2 processes {base_t[2]:.1f} s, speed-up {ideal:.2f}; Dask efficiency {sp / ideal:.2f}")
    w1, c1 = rows[1][0], rows[1][1]  # noqa: F841
    print(f"Dask + cluster overhead with 1 worker (wall - sum of sample s): {w1 - c1:.1f} s for {spec.n_samples} "
          f"samples; projected speed-up on 2 otherwise idle cores (overhead + work / 2): "
          f"{w1 / ((w1 - c1) + c1 / 2):.2f} (a projection, not a measurement)")
    if ens_rows:
        from collections import Counter

        print()
        print("Ensemble path (engine='ensemble') vs per-sample path (engine='scenario'), same campaign, same run")
        print("| path | workers | wall s | trajectories/s | trajectories/s, cluster up | vs per-sample, same workers |")
        print("| --- | --- | --- | --- | --- | --- |")
        for name, store in (("per-sample", rows), ("ensemble", ens_rows)):
            for n, (wall, _cpu, _ok, _f, _w, run) in store.items():
                print(f"| {name} | {n} | {wall:.1f} | {spec.n_samples / wall:.1f} | {spec.n_samples / run:.1f} | "
                      f"{rows[n][0] / wall:.2f}x |")
        paths = Counter(r["path"] for r in ens_tables[1])
        worst = 0.0
        for a, b in zip(ens_tables[1], tables[1]):
            for k, v in a.items():
                if k.startswith("out.") and isinstance(v, float) and isinstance(b[k], float):
                    worst = max(worst, abs(v - b[k]))
        same_t = all(a["out.termination"] == b["out.termination"] for a, b in zip(ens_tables[1], tables[1]))
        print(f"ensemble paths: {dict(paths)}; largest output difference vs per-sample: {worst * 1e3:.3g} m; "
              f"same terminations: {same_t}; ensemble 1 vs 2 workers identical: {ens_tables[1] == ens_tables[2]}")
    print(f"load average (1 min) before {load0[0]:.2f}, after {load1[0]:.2f}")


if __name__ == "__main__":
    main()
