"""Benchmark: the whole mission, `mmxsim run` (the reference mission) and `mmxsim run --quick` (issue 19).

Each run is a child process, ``python -m mmxsim.cli run [--quick] -q --out TMP [--workers N]``, timed from
its start to its exit (wall), with:

* peak memory: the child's own peak resident set (``os.wait4``'s rusage of that child) and the peak of
  the sum over the child and its descendants (the analyses' worker processes), sampled from /proc every
  0.1 s (a sum of resident sets: pages shared between processes are counted once per process, so this is
  an upper bound), and the peak of the sum of their proportional set sizes (PSS, /proc/PID/smaps_rollup:
  a shared page counted once in all, split among the processes that map it: the memory the run holds;
  processes outside the run that map the same libraries take their share, so on a busy machine it is
  a little lower than on an idle one), sampled every 1 s: reading smaps_rollup walks each process' page
  tables, ~20 ms of CPU per sample of a quick run's three processes, which sampled every 0.1 s took a
  fifth of a core from the run it measured (2-3 s of a quick run's wall time on 2 cores); the sampler's
  own CPU seconds are printed with each run (``sampler``);
* CPU seconds: the run's and those of the children it waited for (``os.wait4``; a forked analysis
  worker that the run does not wait for is not among them), and the process tree's: the sum of each
  process' own last sampled user + system time (/proc/PID/stat, every 0.1 s: each process' last 0.1 s
  may be missed);
* the run's own breakdown from its summary.json: ``timings_s`` (set-up, compilation, propagation,
  analyses, outputs) and each analysis' ``seconds``.

Caches:

* warm: the caches as they are (run the command once before to fill them; heyoka's disk cache, shared
  with every heyoka program, costs each process' first integrator the time to open it, which grows
  with its size: 0.5-0.7 s at 1.5 GB, 0.05 s at the ~50 MB a reference run leaves, so say its size
  with warm timings);
* cold: every on-disk cache empty: ``MMXSIM_CACHE_DIR`` (mmxsim's geometry and gravity grids),
  ``NUMBA_CACHE_DIR`` (numba's compiled kernels: with it set numba neither reads nor writes the
  ``__pycache__`` beside the sources) and ``XDG_CACHE_HOME`` (heyoka's compiled integrators: heyoka keeps
  them in ``$XDG_CACHE_HOME/heyoka``, else ``~/.cache/heyoka``, checked with
  ``heyoka.llvm_state.get_diskcache_path()``) pointed at fresh empty folders. Python's own bytecode is not
  cleared (``pip install`` compiles it): the benchmark byte-compiles ``src/mmxsim`` first (``compileall``,
  into the git-ignored ``__pycache__`` folders), so that the runs, which import from ``src``, read bytecode
  as an installed package does even where ``PYTHONDONTWRITEBYTECODE`` is set (without it each process
  compiled mmxsim's modules from source: ~0.5 s of CPU per process).

Cold costs (``--costs``): the quick run (or the full one with ``--only full``) twice in one process
each, first with fresh caches then with the caches that first run filled, instrumented: every numba
compilation (numba's ``numba:compile`` events, outermost only: a kernel's callees compile inside it),
every heyoka integrator built (``taylor_adaptive``/``taylor_adaptive_batch``: JIT compilation or a
disk-cache hit) and mmxsim's cached grids (gravity grid, horizon bounds, surface-distance BVH: a build
or a load), each with its CPU and wall seconds; the table lists what the cold run paid over the warm one.
A cold run starts mmxsim's background compilation (mmxsim.mission.warmup) as ``mmxsim run`` does: its
CPU is reported apart ("child processes"); ``MMXSIM_NO_WARMUP=1`` measures without it,
``MMXSIM_WARMUP_NICE=0`` gives it a fair share of a busy machine (on an idle one it has a core).

Profile (``--profile``): the warm quick run under cProfile in one process (``-m cProfile``, serial
analyses), the top functions by cumulative and by own time.

Schedule: a concurrent run's summary says where and when each analysis ran (metadata.analysis_schedule):
printed by process, with each process' busy seconds (the busiest one is the critical path), its CPU
seconds while busy and its first start (negative: analyses that need no trajectory, started by a
worker while the parent still propagated).

Cost hints (``--hints``, or ``--hints-from SUMMARY.json`` without running anything): the measured
seconds per analysis written as ``mmxsim.analyses.COST_HINT_S`` (from a one-process full run: ``--only
full --workers 1 --hints``), to paste when an analysis got faster or slower: the hints only order a
concurrent run's tasks (longest first), the results never depend on them.

Run:  python benchmarks/bench_mission.py [--only quick|full|all] [--cache warm|cold|both]
                                          [--workers 1,2] [--repeats 1] [--profile] [--top 25]
                                          [--hints | --hints-from SUMMARY.json]
A full cold run takes minutes; ``--only quick`` is the short one. No timed assertion: a printed table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _pss(pid: int) -> int:
    """Proportional set size of ``pid`` in bytes (/proc/PID/smaps_rollup: each shared page divided
    among the processes that map it; 0 where unreadable)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _tree_rss(pid: int, pss: list | None = None, cpu: dict | None = None) -> int:
    """Resident bytes of ``pid`` and its descendants (from /proc; 0 where unreadable); with ``pss``
    (a list) their proportional set sizes' sum is appended to it; with ``cpu`` (a dict) each process'
    CPU seconds so far (user + system, /proc/PID/stat) are recorded under its pid."""
    try:
        kids, ticks = {}, {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                    kids.setdefault(int(fields[1]), []).append(int(d))
                    ticks[int(d)] = int(fields[11]) + int(fields[12])  # utime + stime
                except (OSError, ValueError, IndexError):
                    pass
        total, todo, prop = 0, [pid], 0
        while todo:
            p = todo.pop()
            todo.extend(kids.get(p, []))
            if cpu is not None and p in ticks:
                cpu[p] = max(cpu.get(p, 0.0), ticks[p] / os.sysconf("SC_CLK_TCK"))
            try:
                with open(f"/proc/{p}/statm") as f:
                    total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            except (OSError, ValueError, IndexError):
                pass
            if pss is not None:
                prop += _pss(p)
        if pss is not None:
            pss.append(prop)
        return total
    except OSError:
        return 0


def byte_compile() -> None:
    """Byte-compile ``src/mmxsim`` as ``pip install`` does (see the module docstring)."""
    import compileall

    compileall.compile_dir(str(ROOT / "src" / "mmxsim"), quiet=1)


def run_once(quick: bool, cold: bool, workers: int | None, keep: Path | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench_mission_") as tmp:
        tmp = Path(tmp)
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT / "src") + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env.pop("MMXSIM_WORKERS", None)
        if cold:
            for var in ("MMXSIM_CACHE_DIR", "NUMBA_CACHE_DIR", "XDG_CACHE_HOME"):
                (tmp / var).mkdir()
                env[var] = str(tmp / var)
        out = keep or (tmp / "out")
        cmd = [sys.executable, "-m", "mmxsim.cli", "run", "-q", "--out", str(out)]
        if quick:
            cmd.append("--quick")
        if workers is not None:
            cmd += ["--workers", str(workers)]
        self0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        peak_tree, peak_pss, tree_cpu = [0], [0], {}
        stop = threading.Event()

        def sample():
            n = 0
            while not stop.is_set():
                pss: list | None = [] if n % 10 == 0 else None  # PSS every 1 s: see the module docstring
                peak_tree[0] = max(peak_tree[0], _tree_rss(proc.pid, pss, tree_cpu))
                if pss:
                    peak_pss[0] = max(peak_pss[0], pss[0])
                n += 1
                stop.wait(0.1)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        stop.set()
        th.join()
        self1 = resource.getrusage(resource.RUSAGE_SELF)  # this process only sampled meanwhile
        sampler_s = (self1.ru_utime - self0.ru_utime) + (self1.ru_stime - self0.ru_stime)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode(errors="replace")
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-3000:]}")
        summary = json.loads((out / "summary.json").read_text())
    return {"quick": quick, "cold": cold, "workers": workers or 1, "wall_s": wall,
            "cpu_s": usage.ru_utime + usage.ru_stime, "sampler_cpu_s": sampler_s,
            "tree_cpu_s": sum(tree_cpu.values()),
            "peak_child_mb": usage.ru_maxrss / 1024, "peak_tree_mb": peak_tree[0] / 2**20,
            "peak_tree_pss_mb": peak_pss[0] / 2**20,
            "timings": summary["timings_s"],
            "analyses": {k: v.get("seconds", float("nan")) for k, v in summary.get("analyses", {}).items()},
            "schedule": summary.get("metadata", {}).get("analysis_schedule", [])}


def _other(r) -> float:
    """Wall time outside the run's own timings: interpreter start, imports, scenario checks, outputs."""
    t = r["timings"]
    return r["wall_s"] - sum(t.get(k, 0.0) for k in ("setup_s", "compile_s", "propagate_s", "postprocess_s",
                                                     "analyses_s"))


def _instrumented_child(out_json: str, cli_args: list[str]) -> None:
    """In a child process: run ``mmxsim.cli`` with ``cli_args``, recording the wall seconds of every
    numba compilation, heyoka integrator construction and mmxsim grid build/load into ``out_json``."""
    import functools

    sys.path.insert(0, str(ROOT / "src"))
    from numba.core import event as nev

    rows: list[dict] = []
    lock = threading.Lock()

    class _Numba(nev.Listener):
        def __init__(self):
            self.depth = threading.local()
            self.t0: dict = {}

        def on_start(self, event):
            d = getattr(self.depth, "n", 0)
            self.depth.n = d + 1
            if d == 0:
                self.t0[threading.get_ident()] = (time.perf_counter(), time.thread_time())

        def on_end(self, event):
            self.depth.n -= 1
            if self.depth.n == 0:
                f = event.data["dispatcher"].py_func
                w0, c0 = self.t0.pop(threading.get_ident())
                with lock:
                    rows.append({"kind": "numba", "name": f"{f.__module__}.{f.__qualname__}",
                                 "s": time.perf_counter() - w0, "cpu": time.thread_time() - c0})

    nev.register("numba:compile", _Numba())

    def timed(kind, name, fn):
        @functools.wraps(fn)
        def wrapper(*a, **k):
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **k)
            finally:
                with lock:
                    rows.append({"kind": kind, "name": name, "s": time.perf_counter() - t0,
                                 "cpu": time.process_time() - c0})
        return wrapper

    import heyoka

    for nm in ("taylor_adaptive", "taylor_adaptive_batch"):
        orig = getattr(heyoka, nm)

        def make(orig=orig, nm=nm):
            def wrapper(sys_, *a, **k):
                t0, c0 = time.perf_counter(), time.process_time()
                try:
                    return orig(sys_, *a, **k)
                finally:
                    dt, dc = time.perf_counter() - t0, time.process_time() - c0
                    fr = sys._getframe(1).f_code
                    with lock:
                        rows.append({"kind": "heyoka", "name": f"{nm} from {Path(fr.co_filename).parent.name}/"
                                     f"{Path(fr.co_filename).name}:{fr.co_name}", "s": dt, "cpu": dc})
            return wrapper

        setattr(heyoka, nm, make())
    from mmxsim.bodies import shape_distance
    from mmxsim.gravity import fast
    from mmxsim.instruments import _raycast

    fast.GridGravity.__init__ = timed("grid", "gravity.fast.GridGravity (build or load)", fast.GridGravity.__init__)
    _raycast.horizon_bound = timed("grid", "instruments._raycast.horizon_bound (build or load)",
                                   _raycast.horizon_bound)
    shape_distance._prepared = timed("grid", "bodies.shape_distance._prepared (build or load)",
                                     shape_distance._prepared)
    from mmxsim import cli

    t0 = time.perf_counter()
    try:
        sys.argv = ["mmxsim", *cli_args]
        cli.main()
    except SystemExit as exc:
        if exc.code not in (0, None):
            raise
    finally:
        import resource

        ch = resource.getrusage(resource.RUSAGE_CHILDREN)  # the background compilation, if any
        Path(out_json).write_text(json.dumps({"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time(),
                                              "children_cpu_s": ch.ru_utime + ch.ru_stime, "rows": rows}))


def cold_costs(quick: bool, warm_json: Path | None = None, keep: Path | None = None) -> None:
    """The cold run's extra costs, by kernel/integrator/grid (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="bench_mission_costs_") as tmp:
        tmp = Path(tmp)
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
        env.pop("MMXSIM_WORKERS", None)
        for var in ("MMXSIM_CACHE_DIR", "NUMBA_CACHE_DIR", "XDG_CACHE_HOME"):
            (tmp / var).mkdir()
            env[var] = str(tmp / var)
        res = {}
        if warm_json is not None:  # the warm half from an earlier --costs run (--keep), or "none"
            res["warm"] = ({"wall_s": float("nan"), "cpu_s": float("nan"), "rows": []} if str(warm_json) == "none"
                           else json.loads(Path(warm_json).read_text()))
        for label in ("cold", "warm")[:1 if warm_json is not None else 2]:
            out = tmp / f"{label}.json"
            args = ["run", "-q", "--workers", "1", "--out", str(tmp / "out")] + (["--quick"] if quick else [])
            subprocess.run([sys.executable, __file__, "--_instrument", str(out), "--", *args], env=env, check=True,
                           stdout=subprocess.DEVNULL)
            res[label] = json.loads(out.read_text())
            if keep is not None:
                keep.mkdir(parents=True, exist_ok=True)
                (keep / f"{label}.json").write_text(out.read_text())

    def agg(rows):
        d: dict = {}
        for r in rows:
            e = d.setdefault((r["kind"], r["name"]), [0, 0.0, 0.0])
            e[0] += 1
            e[1] += r["s"]
            e[2] += r["cpu"]
        return d

    z = [0, 0.0, 0.0]
    cold, warm = agg(res["cold"]["rows"]), agg(res["warm"]["rows"])
    keys = sorted(set(cold) | set(warm), key=lambda k: -(cold.get(k, z)[2] - warm.get(k, z)[2]))
    c, w = res["cold"], res["warm"]
    print(f"\nCold costs of the {'quick' if quick else 'full'} run, one process: cold {c['wall_s']:.1f} s wall, "
          f"{c['cpu_s']:.1f} s CPU; warm {w['wall_s']:.1f} s wall, {w['cpu_s']:.1f} s CPU; cold - warm "
          f"{c['wall_s'] - w['wall_s']:.1f} s wall, {c['cpu_s'] - w['cpu_s']:.1f} s CPU (the run's process; its "
          f"child processes, e.g. the background compilation: {c.get('children_cpu_s', 0):.1f} s CPU cold, "
          f"{w.get('children_cpu_s', 0):.1f} s warm)\n")
    print("CPU seconds (numba: the compiling thread's; heyoka and grids: the process'), wall in brackets:\n")
    print("| kind | what | calls cold | cold s | calls warm | warm s | cold - warm s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    tot: dict = {}
    for k in keys:
        a1, b1 = cold.get(k, z), warm.get(k, z)
        t = tot.setdefault(k[0], [0.0, 0.0, 0.0, 0.0])
        t[0] += a1[2]
        t[1] += b1[2]
        t[2] += a1[1]
        t[3] += b1[1]
        if a1[2] - b1[2] < 0.05 and a1[2] < 0.2:
            continue
        print(f"| {k[0]} | {k[1]} | {a1[0]} | {a1[2]:.2f} ({a1[1]:.2f}) | {b1[0]} | {b1[2]:.2f} ({b1[1]:.2f}) "
              f"| {a1[2] - b1[2]:.2f} |")
    for kind, t in tot.items():
        print(f"| {kind} | all | | {t[0]:.2f} ({t[2]:.2f}) | | {t[1]:.2f} ({t[3]:.2f}) | {t[0] - t[1]:.2f} |")


def cost_hints(seconds: dict[str, float], floor: float = 1.0) -> str:
    """``COST_HINT_S`` (mmxsim.analyses) written from measured seconds per analysis (a full run in one
    process): the analyses above ``floor`` seconds (the hint of an unlisted one), longest first."""
    rows = sorted(((n, s) for n, s in seconds.items() if s == s and s > floor), key=lambda x: -x[1])
    items = [f'"{n}": {round(s, 1)}' if s < 10 else f'"{n}": {s:.0f}.0' for n, s in rows]
    lines, line = [], "COST_HINT_S: dict[str, float] = {"
    for i, it in enumerate(items):
        piece = it + ("}" if i == len(items) - 1 else ", ")
        if len(line) + len(piece) > 118:
            lines.append(line.rstrip())
            line = " " * 33
        line += piece
    lines.append(line if items else line + "}")
    return "\n".join(lines)


def print_schedule(r: dict) -> None:
    """Where and when each analysis ran in a concurrent run (its summary's metadata.analysis_schedule),
    by process, with each process' busy seconds: the critical path is the busiest process."""
    sched = r.get("schedule") or []
    if not sched:
        return
    print(f"\nSchedule of the {'quick' if r['quick'] else 'full'} {'cold' if r['cold'] else 'warm'} run, "
          f"{r['workers']} workers (seconds since the trajectory was handed to the analyses; negative: a worker "
          "started an analysis that needs no trajectory before it existed; CPU: the process' CPU seconds while "
          "its analyses ran, a measure that a busy machine does not inflate):\n")
    print("| process | analyses in the order they ran (start-end s) | busy s | busy CPU s | first start s | last end s |")
    print("|---|---|---:|---:|---:|---:|")
    for proc in sorted({x["process"] for x in sched}):
        rows = sorted((x for x in sched if x["process"] == proc), key=lambda x: x["start_s"])
        busy = sum(x["end_s"] - x["start_s"] for x in rows)
        cpu = sum(x.get("cpu_s", float("nan")) for x in rows)
        text = ", ".join(f"{x['analysis']} ({x['start_s']:.1f}-{x['end_s']:.1f})" for x in rows)
        print(f"| {proc} | {text} | {busy:.1f} | {cpu:.1f} | {rows[0]['start_s']:.1f} | "
              f"{max(x['end_s'] for x in rows):.1f} |")


def profile_quick(top: int) -> None:
    import pstats

    with tempfile.TemporaryDirectory(prefix="bench_mission_prof_") as tmp:
        prof = Path(tmp) / "quick.prof"
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
        env.pop("MMXSIM_WORKERS", None)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "mmxsim.cli", "run", "--quick", "-q",
                        "--workers", "1", "--out", str(Path(tmp) / "out")], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        print(f"\nProfile of the warm quick run, one process ({time.perf_counter() - t0:.1f} s under cProfile)")
        st = pstats.Stats(str(prof))
        for key in ("cumulative", "tottime"):
            print(f"\n-- top {top} by {key} --")
            st.sort_stats(key).print_stats(top)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=("quick", "full", "all"), default="quick")
    ap.add_argument("--cache", choices=("warm", "cold", "both"), default="warm")
    ap.add_argument("--workers", default="1", help="comma-separated worker counts, e.g. 1,2")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--profile", action="store_true", help="also profile the warm quick run (cProfile)")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--json", type=Path, help="also write the rows as JSON here")
    ap.add_argument("--costs", action="store_true", help="the cold run's costs by kernel, integrator and grid "
                    "(the quick run, or the full one with --only full), instead of the timed runs")
    ap.add_argument("--warm-json", type=Path, help="with --costs: take the warm half from this file (a warm.json "
                    "kept by an earlier --costs --keep; 'none': no warm half) and run only the cold one")
    ap.add_argument("--keep", type=Path, help="with --costs: keep the instrumented runs' cold.json/warm.json here")
    ap.add_argument("--hints", action="store_true", help="also print mmxsim.analyses.COST_HINT_S from the measured "
                    "seconds per analysis (of the first one-process full run measured, else the first run)")
    ap.add_argument("--hints-from", type=Path, help="print COST_HINT_S from this summary.json (its analyses' "
                    "seconds; a one-process full run) and exit")
    ap.add_argument("--_instrument", help=argparse.SUPPRESS)
    if "--_instrument" in sys.argv:
        i = sys.argv.index("--_instrument")
        _instrumented_child(sys.argv[i + 1], sys.argv[i + 3:])
        return
    args = ap.parse_args()
    if args.hints_from is not None:
        summary = json.loads(args.hints_from.read_text())
        print(cost_hints({k: v.get("seconds", float("nan")) for k, v in summary.get("analyses", {}).items()}))
        return
    if args.costs:
        byte_compile()
        cold_costs(args.only != "full", args.warm_json, args.keep)
        return
    kinds = {"quick": [True], "full": [False], "all": [True, False]}[args.only]
    caches = {"warm": [False], "cold": [True], "both": [False, True]}[args.cache]
    workers = [int(w) for w in args.workers.split(",")]
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {load:.2f} before")
    byte_compile()
    rows = []
    for quick in kinds:
        for cold in caches:
            for w in workers:
                for _ in range(args.repeats):
                    r = run_once(quick, cold, w)
                    rows.append(r)
                    t = r["timings"]
                    print(f"{'quick' if quick else 'full':5s} {'cold' if cold else 'warm'} workers={w}: "
                          f"{r['wall_s']:.1f} s (CPU: {r['tree_cpu_s']:.1f} s the process tree, {r['cpu_s']:.1f} s the run and "
                          f"the children it waited for; sampler {r['sampler_cpu_s']:.2f} s), peak {r['peak_child_mb']:.0f} MB "
                          f"(process tree {r['peak_tree_mb']:.0f} MB, PSS {r['peak_tree_pss_mb']:.0f} MB); "
                          f"set-up {t.get('setup_s', 0):.1f} s, compile "
                          f"{t.get('compile_s', 0):.1f} s, propagate {t.get('propagate_s', 0):.1f} s, analyses "
                          f"{t.get('analyses_s', 0):.1f} s, other {_other(r):.1f} s", flush=True)
    print("\n| run | caches | workers | wall s | peak MB (run) | peak MB (process tree) | peak MB (tree PSS) "
          "| set-up s | compile s | propagate s | analyses s | other s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        t = r["timings"]
        print(f"| {'quick' if r['quick'] else 'full'} | {'cold' if r['cold'] else 'warm'} | {r['workers']} "
              f"| {r['wall_s']:.1f} | {r['peak_child_mb']:.0f} | {r['peak_tree_mb']:.0f} "
              f"| {r['peak_tree_pss_mb']:.0f} | {t.get('setup_s', 0):.1f} "
              f"| {t.get('compile_s', 0):.1f} | {t.get('propagate_s', 0):.1f} | {t.get('analyses_s', 0):.1f} "
              f"| {_other(r):.1f} |")
    names = list(dict.fromkeys(k for r in rows for k in r["analyses"]))
    if names:
        heads = [f"{'quick' if r['quick'] else 'full'} {'cold' if r['cold'] else 'warm'} w{r['workers']}"
                 for r in rows]
        print("\nSeconds per analysis (its own wall time, in its process):\n")
        print("| analysis | " + " | ".join(heads) + " |")
        print("|---|" + "---:|" * len(rows))
        for n in sorted(names, key=lambda n: -max(r["analyses"].get(n, 0) for r in rows)):
            print(f"| {n} | " + " | ".join(f"{r['analyses'][n]:.2f}" if n in r["analyses"] else "-" for r in rows)
                  + " |")
        print("| sum | " + " | ".join(f"{sum(r['analyses'].values()):.1f}" for r in rows) + " |")
    for r in rows:
        print_schedule(r)
    if args.hints and rows:
        base = next((r for r in rows if not r["quick"] and r["workers"] == 1), rows[0])
        print(f"\nCost hints from the {'quick' if base['quick'] else 'full'} run with {base['workers']} worker(s) "
              "(paste into src/mmxsim/analyses/__init__.py):\n")
        print(cost_hints(base["analyses"]))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    if args.profile:
        profile_quick(args.top)


if __name__ == "__main__":
    main()
