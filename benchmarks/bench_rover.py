"""IDEFIX deployment ensemble: N Monte Carlo rover deployments from ~40 m to rest (mmxsim.surface.rover).

Goal (issue 6): 1000 deployments from 40 m to rest in under 60 s on 2 cores, with the accuracy
setting stated. Measured in the same run:

* wall time of ``deploy_monte_carlo(n)`` (numba, parallel over deployments; after a warm-up run
  that compiles / loads the cache), median of ``--repeat``;
* a baseline: the same model and code in plain Python (``MMXSIM_NO_NUMBA=1`` in a subprocess,
  the kernels then run uncompiled) on ``--baseline`` deployments of the same ensemble, time per
  deployment, and the difference of their rest points from the fast run (same equations, so it
  should be at round-off level amplified by the chaotic bounces);
* the ratio baseline / fast per deployment.

    python benchmarks/bench_rover.py [--n 1000] [--repeat 1] [--threads 2] [--baseline 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

CHILD = r"""
import json, sys, time, numpy as np
from mmxsim.surface import rover as rv
from mmxsim.gravity.fast import GridGravity
n, k = int(sys.argv[1]), int(sys.argv[2])
grid = GridGravity("thomas3k")
ter = rv.site_terrain(*rv.DEFAULT_SITE, grid=grid)
env = rv._Env(rv.RoverModel(), rv.ContactModel(), ter, "grid", grid, None, True, rv.N_PHOBOS, rv.Settings())
alt, vel, q, rate, e, mu = rv.DeploymentDistribution().sample(n, 0)
X0 = env.initial_states(alt, vel, q, rate, np.zeros((n, 2)))
t0 = time.perf_counter()
out, _ = env.run(X0[:k], e[:k], mu[:k])
print(json.dumps({"wall": time.perf_counter() - t0, "rest": out[:, 6:9].tolist(), "steps": out[:, 17].tolist(),
                  "status": out[:, 0].tolist()}))
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--baseline", type=int, default=2)
    ap.add_argument("--figures", default="", help="write the figures as PNG with this prefix")
    a = ap.parse_args(argv)
    os.environ.setdefault("NUMBA_NUM_THREADS", str(a.threads))
    import numba

    numba.set_num_threads(min(a.threads, numba.config.NUMBA_NUM_THREADS))
    from mmxsim.gravity.fast import GridGravity
    from mmxsim.surface import rover as rv

    t0 = time.perf_counter()
    grid = GridGravity("thomas3k")
    t_grid = time.perf_counter() - t0
    rv.deploy_monte_carlo(n=4, seed=0, grid=grid, record=0)  # warm-up
    walls = []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        res = rv.deploy_monte_carlo(n=a.n, seed=0, grid=grid, record=1)
        walls.append(time.perf_counter() - t0)
    wall = statistics.median(walls)
    c = rv.ContactModel()
    s = rv.Settings()
    base = None
    if a.baseline:
        env = dict(os.environ, MMXSIM_NO_NUMBA="1")
        src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
        env["PYTHONPATH"] = os.path.abspath(src) + os.pathsep + env.get("PYTHONPATH", "")
        p = subprocess.run([sys.executable, "-c", CHILD, str(a.n), str(a.baseline)], capture_output=True, text=True,
                           env=env)
        if p.returncode == 0:
            base = json.loads(p.stdout.strip().splitlines()[-1])
        else:
            print(p.stderr[-2000:])
    per = wall / a.n
    sm = res.summary()
    print(f"# bench_rover: {platform.processor() or platform.machine()}, {a.threads} threads, grid gravity "
          f"{grid.describe()} (load {t_grid:.1f} s); site lat {rv.DEFAULT_SITE[0]}, lon {rv.DEFAULT_SITE[1]} deg E")
    print(f"# accuracy setting: contact duration {c.contact_time_s} s, contact step {c.dt * 1e3:.2f} ms (t_c/20), "
          f"stiffness {rv.ContactModel().coefficients(25.0)[0]:.0f} N/m per contact point, free-flight RK4 steps "
          f"<= {s.dt_flight_s} s (clearance-limited), gravity refreshed every {s.gravity_refresh_m} m in contact, "
          f"rest = all speeds < {s.v_rest_m_s * 1e3:g} mm/s for {s.t_hold_s:g} s")
    print(f"# {res.summary_text()}")
    print(f"# mean integrator steps per deployment {res.steps.mean():.0f}; simulated time to rest median "
          f"{sm['settle_time_median_s']:.0f} s")
    print()
    print("| case | N | wall s | deployments/s | s per deployment |")
    print("|---|---:|---:|---:|---:|")
    print(f"| fast: numba, parallel | {a.n} | {wall:.2f} | {a.n / wall:.1f} | {per:.2e} |")
    if base:
        bp = base["wall"] / a.baseline
        d = np.abs(np.array(base["rest"]) - res.rest_position_m[: a.baseline]).max()
        print(f"| baseline: same code, plain Python (MMXSIM_NO_NUMBA=1), 1 thread | {a.baseline} | {base['wall']:.2f} "
              f"| {1 / bp:.3f} | {bp:.2e} |")
        print(f"| ratio baseline/fast per deployment | | | | {bp / per:.0f}x |")
        print(f"| rest point difference baseline vs fast (m, first {a.baseline}) | | | | {d:.2e} |")
    print()
    print(f"goal: {a.n} deployments < 60 s on 2 cores: {'met' if wall < 60 and a.n >= 1000 else 'see table'}")
    if a.figures:
        for k, f in res.figures().items():
            f.savefig(f"{a.figures}{k}.png", dpi=110)


if __name__ == "__main__":
    main()
