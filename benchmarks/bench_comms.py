"""Benchmark: the ``comms`` analysis of the reference mission, stage by stage (issue 19 item 3).

For the quick look (``--quick``: 3 days) and the full run (30 days) of
``src/mmxsim/scenarios/reference_mission.yaml``, the analysis' own run function
(:func:`mmxsim.analyses.comms.comms_section`) is timed with each stage wrapped by a timer:

* geometry: the pass search (``visibility.find_passes``) and the solar conjunctions;
* profiles: the geometry along each pass (``visibility.pass_profile``, Earth orientation included);
* budgets: the link budget along each pass (``link.pass_rates``, ITU-R attenuation included);
* greedy: the greedy baseline (``schedule.greedy_schedule``);
* MILP build / MILP solve: ``schedule._build_milp`` and ``schedule._solve_milp`` (HiGHS, every block, of
  the segment MILP and of the track formulation's windows);
* tracks: ``schedule.track_schedule`` as a whole (the track formulation's LP-guided search, the full
  run's default solver; its HiGHS solves are also in "MILP solve", and "other" counts them once);
* recorder: ``datavolume.simulate_recorder``;
* figures: the three PNGs (``analyses._common.png_bytes``); "other" is the rest (imports included);

each as wall seconds and CPU seconds of the process (``time.process_time``), plus the MILP's size
(variables, constraints, non-zeros) and how it stopped, and the section's schedule numbers.

Caches: each measurement is a fresh child process (no in-process cache carried over) with
``MMXSIM_CACHE_DIR`` set to a temporary folder: *cold* (empty: the ITU-R grids and the Earth-orientation
look-ups are computed and kept, :mod:`mmxsim.comms._cache`), then *warm* (the same folder again: they
are read back). The booking MILP is solved in both (its answer is never kept). Both give the same section numbers (checked here). The
trajectory is propagated once per variant in this process and handed to the children in a file.

With ``--solvers``, each child also books the plan's segments once with each solver, in the same
process (CPU seconds): the greedy baseline, the track formulation's LP-guided search
(``track_schedule``, default settings) and the segment MILP's root node (``optimal_schedule``,
``node_limit=1``; about a minute on the full plan): volume, status and the solver's note.

Run:  python benchmarks/bench_comms.py [--only quick|full|all] [--cache cold|warm|both] [--solvers]
No timed assertion: a printed table (and ``--json PATH``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "src" / "mmxsim" / "scenarios" / "reference_mission.yaml"
STAGES = ("geometry", "profiles", "budgets", "greedy", "milp_build", "tracks", "milp_solve", "recorder",
          "figures")


def _scenario(variant):
    from mmxsim.mission.variants import quick_variant
    from mmxsim.scenario import load_scenario

    s = load_scenario(str(SCENARIO))
    return quick_variant(s) if variant == "quick" else s


def propagate(variant: str, path: Path) -> None:
    """The run's trajectory (as ``mmxsim run`` makes it) into ``path`` (.npz)."""
    import numpy as np

    from mmxsim.dynamics import propagate as prop
    from mmxsim.mission.runner import body_orientation, build_model, initial_state

    s = _scenario(variant)
    model, eph = build_model(s)
    t0, t1 = float(s.t0_tdb), float(s.t1_tdb)
    x0 = initial_state(s, t0, eph, body_orientation(model.rotation_pck))
    step = float(s.propagation.output_step_s)
    grid = t0 + step * np.arange(int(np.floor((t1 - t0) / step + 1e-9)) + 1)
    if grid[-1] < t1 - 1e-6:
        grid = np.r_[grid, t1]
    r = prop(model, t0, x0, grid, t1)
    np.savez(path, t=r.t, states=r.states)


def solver_rows(segs, rules, blocked) -> list[dict]:
    """The plan's segments booked by each solver, CPU seconds of this process."""
    import mmxsim.comms.schedule as SC

    rows = []
    c = time.process_time()
    g = SC.greedy_schedule(segs, rules, blocked)
    rows.append({"solver": "greedy", "cpu_s": time.process_time() - c, "gbit": g.volume_bits / 1e9,
                 "status": g.status, "note": ""})
    for name, fn in (("tracks (LP-guided)", lambda: SC.track_schedule(segs, rules, blocked, greedy=g)),
                     ("segment MILP, root node", lambda: SC.optimal_schedule(segs, rules, blocked, node_limit=1,
                                                                             greedy=g))):
        c = time.process_time()
        r = fn()
        rows.append({"solver": name, "cpu_s": time.process_time() - c, "gbit": r.volume_bits / 1e9,
                     "status": r.status, "note": "; ".join(r.notes)[:300]})
    return rows


def child(variant: str, traj: Path, solvers: bool = False) -> dict:
    """In a fresh process: the comms section with its stages timed."""
    import numpy as np

    import mmxsim.analyses.comms as AC
    import mmxsim.comms.datavolume as DV
    import mmxsim.comms.link as LK
    import mmxsim.comms.schedule as SC
    import mmxsim.comms.visibility as VI
    from mmxsim.mission.runner import build_model

    acc = {k: [0.0, 0.0] for k in STAGES}
    info: dict = {}

    def timed(stage, fn):
        def wrapper(*a, **k):
            w, c = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **k)
            finally:
                acc[stage][0] += time.perf_counter() - w
                acc[stage][1] += time.process_time() - c
        return wrapper

    def build(segs, rules, blocked, _f=SC._build_milp):
        out = _f(segs, rules, blocked)
        info["milp_variables"] = 3 * len(segs)
        info["milp_constraints"] = int(out[5])
        info["milp_nonzeros"] = int(len(out[2]))
        return out

    originals = (SC.greedy_schedule, SC._solve_milp, SC.track_schedule, SC._build_milp)
    VI.find_passes = timed("geometry", VI.find_passes)
    VI.conjunctions = timed("geometry", VI.conjunctions)
    VI.pass_profile = timed("profiles", VI.pass_profile)
    LK.pass_rates = timed("budgets", LK.pass_rates)
    SC.greedy_schedule = timed("greedy", SC.greedy_schedule)
    SC._build_milp = timed("milp_build", build)
    SC._solve_milp = timed("milp_solve", SC._solve_milp)
    SC.track_schedule = timed("tracks", SC.track_schedule)
    seen: dict = {}
    greedy = SC.greedy_schedule

    def greedy_seen(cands, rules, blocked=(), **k):
        out = greedy(cands, rules, blocked, **k)
        seen.setdefault("args", (out.segments, rules, list(blocked)))
        return out

    SC.greedy_schedule = greedy_seen
    DV.simulate_recorder = timed("recorder", DV.simulate_recorder)
    AC.png_bytes = timed("figures", AC.png_bytes)

    s = _scenario(variant)
    model, eph = build_model(s)
    d = np.load(traj)
    ctx = {"t": d["t"], "states": d["states"], "eph": eph}
    w, c = time.perf_counter(), time.process_time()
    sec = AC.comms_section(s.analyses.comms, s, ctx)
    total = (time.perf_counter() - w, time.process_time() - c)
    data = {k: v for k, v in sec.data.items() if k != "agencies"}
    SC.greedy_schedule, SC._solve_milp, SC.track_schedule, SC._build_milp = originals  # solver rows: apart
    rows = solver_rows(*seen["args"]) if solvers and "args" in seen else []
    return {"total_wall_s": total[0], "total_cpu_s": total[1], "solvers": rows,
            "stages": {k: {"wall_s": v[0], "cpu_s": v[1]} for k, v in acc.items()},
            "milp": info, "data": data, "method": sec.paragraphs[0].split(" by ", 1)[-1][:160]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=("quick", "full", "all"), default="all")
    ap.add_argument("--cache", choices=("cold", "warm", "both"), default="both")
    ap.add_argument("--json", help="write the results here too")
    ap.add_argument("--solvers", action="store_true", help="also book each plan with every solver (CPU s)")
    ap.add_argument("--child", nargs=3, metavar=("VARIANT", "TRAJ", "SOLVERS"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print("BENCH-JSON " + json.dumps(child(a.child[0], Path(a.child[1]), a.child[2] == "1"), default=float))
        return 0
    variants = ("quick", "full") if a.only == "all" else (a.only,)
    runs = {"cold": ("cold",), "warm": ("cold", "warm"), "both": ("cold", "warm")}[a.cache]
    out = {}
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    with tempfile.TemporaryDirectory() as tmp:
        for v in variants:
            traj = Path(tmp) / f"traj-{v}.npz"
            propagate(v, traj)
            cache = Path(tmp) / f"cache-{v}"
            for kind in runs:
                p = subprocess.run([sys.executable, __file__, "--child", v, str(traj), "1" if a.solvers else "0"],
                                   capture_output=True,
                                   text=True, env={**env, "MMXSIM_CACHE_DIR": str(cache)}, cwd=ROOT)
                line = [x for x in p.stdout.splitlines() if x.startswith("BENCH-JSON ")]
                if p.returncode or not line:
                    sys.stderr.write(p.stderr[-4000:])
                    return 1
                out[f"{v}/{kind}"] = json.loads(line[0].split(" ", 1)[1])
    for k, r in out.items():
        if a.cache == "warm" and k.endswith("/cold"):
            continue
        st = r["stages"]
        # "tracks" holds its own HiGHS solves, which "milp_solve" counts too
        other_w = r["total_wall_s"] - sum(x["wall_s"] for k, x in st.items() if k != "tracks")
        other_c = r["total_cpu_s"] - sum(x["cpu_s"] for k, x in st.items() if k != "tracks")
        print(f"\n{k}: total {r['total_wall_s']:.2f} s wall, {r['total_cpu_s']:.2f} s CPU")
        print(f"  {'stage':<12}{'wall s':>9}{'CPU s':>9}")
        for name in STAGES:
            print(f"  {name:<12}{st[name]['wall_s']:9.2f}{st[name]['cpu_s']:9.2f}")
        print(f"  {'other':<12}{other_w:9.2f}{other_c:9.2f}")
        m, d = r["milp"], r["data"]
        print(f"  segment MILP: {m.get('milp_variables')} variables, {m.get('milp_constraints')} constraints, "
              f"{m.get('milp_nonzeros')} non-zeros; status {d['schedule_status']}; bookings by {r['method']}")
        print(f"  optimal {d['optimal_bits'] / 1e9:.6f} Gbit, greedy {d['greedy_bits'] / 1e9:.6f} Gbit, "
              f"downlinked {d['downlinked_bits'] / 1e9:.6f} Gbit, {d['passes']} passes")
        for row in r.get("solvers", []):
            print(f"  solver {row['solver']:<24} {row['cpu_s']:8.2f} CPU s {row['gbit']:10.4f} Gbit  {row['status']}"
                  f"  {row['note'][:150]}")
    for v in variants:
        if f"{v}/cold" in out and f"{v}/warm" in out and out[f"{v}/cold"]["data"] != out[f"{v}/warm"]["data"]:
            print(f"\n{v}: cold and warm runs gave different numbers")
            return 1
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
