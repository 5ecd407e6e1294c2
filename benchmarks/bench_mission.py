"""Benchmark: the whole mission, `mmxsim run` (the reference mission) and `mmxsim run --quick` (issue 19).

Each run is a child process, ``python -m mmxsim.cli run [--quick] -q --out TMP [--workers N]``, timed from
its start to its exit (wall), with:

* peak memory: the child's own peak resident set (``os.wait4``'s rusage of that child) and the peak of
  the sum over the child and its descendants (the analyses' worker processes), sampled from /proc every
  0.1 s (a sum of resident sets: pages shared between processes are counted once per process, so this is
  an upper bound);
* the run's own breakdown from its summary.json: ``timings_s`` (set-up, compilation, propagation,
  analyses, outputs) and each analysis' ``seconds``.

Caches:

* warm: the caches as they are (run the command once before to fill them);
* cold: every on-disk cache empty: ``MMXSIM_CACHE_DIR`` (mmxsim's geometry and gravity grids),
  ``NUMBA_CACHE_DIR`` (numba's compiled kernels: with it set numba neither reads nor writes the
  ``__pycache__`` beside the sources) and ``XDG_CACHE_HOME`` (heyoka's compiled integrators: heyoka keeps
  them in ``$XDG_CACHE_HOME/heyoka``, else ``~/.cache/heyoka``, checked with
  ``heyoka.llvm_state.get_diskcache_path()``) pointed at fresh empty folders. Python's own bytecode is not
  cleared (``pip install`` compiles it).

Profile (``--profile``): the warm quick run under cProfile in one process (``-m cProfile``, serial
analyses), the top functions by cumulative and by own time.

Run:  python benchmarks/bench_mission.py [--only quick|full|all] [--cache warm|cold|both]
                                          [--workers 1,2] [--repeats 1] [--profile] [--top 25]
A full cold run takes minutes; ``--only quick`` is the short one. No timed assertion: a printed table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and its descendants (from /proc; 0 where unreadable)."""
    try:
        kids = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/stat") as f:
                        ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                    kids.setdefault(ppid, []).append(int(d))
                except (OSError, ValueError, IndexError):
                    pass
        total, todo = 0, [pid]
        while todo:
            p = todo.pop()
            todo.extend(kids.get(p, []))
            try:
                with open(f"/proc/{p}/statm") as f:
                    total += int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            except (OSError, ValueError, IndexError):
                pass
        return total
    except OSError:
        return 0


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
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        peak_tree = [0]
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                peak_tree[0] = max(peak_tree[0], _tree_rss(proc.pid))
                stop.wait(0.1)

        th = threading.Thread(target=sample, daemon=True)
        th.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        stop.set()
        th.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        err = proc.stderr.read().decode(errors="replace")
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-3000:]}")
        summary = json.loads((out / "summary.json").read_text())
    return {"quick": quick, "cold": cold, "workers": workers or 1, "wall_s": wall,
            "peak_child_mb": usage.ru_maxrss / 1024, "peak_tree_mb": peak_tree[0] / 2**20,
            "timings": summary["timings_s"],
            "analyses": {k: v.get("seconds", float("nan")) for k, v in summary.get("analyses", {}).items()}}


def _other(r) -> float:
    """Wall time outside the run's own timings: interpreter start, imports, scenario checks, outputs."""
    t = r["timings"]
    return r["wall_s"] - sum(t.get(k, 0.0) for k in ("setup_s", "compile_s", "propagate_s", "postprocess_s",
                                                     "analyses_s"))


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
    args = ap.parse_args()
    kinds = {"quick": [True], "full": [False], "all": [True, False]}[args.only]
    caches = {"warm": [False], "cold": [True], "both": [False, True]}[args.cache]
    workers = [int(w) for w in args.workers.split(",")]
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {load:.2f} before")
    rows = []
    for quick in kinds:
        for cold in caches:
            for w in workers:
                for _ in range(args.repeats):
                    r = run_once(quick, cold, w)
                    rows.append(r)
                    t = r["timings"]
                    print(f"{'quick' if quick else 'full':5s} {'cold' if cold else 'warm'} workers={w}: "
                          f"{r['wall_s']:.1f} s, peak {r['peak_child_mb']:.0f} MB (process tree "
                          f"{r['peak_tree_mb']:.0f} MB); set-up {t.get('setup_s', 0):.1f} s, compile "
                          f"{t.get('compile_s', 0):.1f} s, propagate {t.get('propagate_s', 0):.1f} s, analyses "
                          f"{t.get('analyses_s', 0):.1f} s, other {_other(r):.1f} s", flush=True)
    print("\n| run | caches | workers | wall s | peak MB (run) | peak MB (process tree) | set-up s | compile s "
          "| propagate s | analyses s | other s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        t = r["timings"]
        print(f"| {'quick' if r['quick'] else 'full'} | {'cold' if r['cold'] else 'warm'} | {r['workers']} "
              f"| {r['wall_s']:.1f} | {r['peak_child_mb']:.0f} | {r['peak_tree_mb']:.0f} | {t.get('setup_s', 0):.1f} "
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
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    if args.profile:
        profile_quick(args.top)


if __name__ == "__main__":
    main()
