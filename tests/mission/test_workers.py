"""Analyses in worker processes (issue 19 item 3): the same summary as a serial run, sections in
registry order, progress in that order, an analysis' error raised with its type, and the count
read from the argument or $MMXSIM_WORKERS."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmxsim.errors import InputError
from mmxsim.scenario import parse_scenario

BASE = {
    "name": "workers",
    "epoch": "2027-09-01T00:00:00",
    "duration_days": 0.05,
    "initial_state": {"type": "qso", "radial_semi_axis_km": 50},
    "force_model": {"phobos": {"model": "point_mass"}, "srp": {"enabled": False}},
}
# four cheap analyses whose registry order (qso_family, sampling, budget, planetary_protection)
# differs from the order the pool hands them out in when they take different times
CHEAP = {"qso_family": {"degree": 0, "sizes_km": [100, 40]}, "sampling": {"samples": 200},
         "budget": {}, "planetary_protection": {}}


def _without_timings(summary: dict) -> dict:
    s = json.loads(json.dumps(summary, default=str))
    s.pop("timings_s")
    s["metadata"].pop("analysis_schedule", None)  # where and when each analysis ran: run information
    for sec in s.get("analyses", {}).values():
        sec.pop("seconds", None)
        sec.pop("timings_s", None)
    return s


@pytest.fixture(scope="module")
def both():
    from mmxsim.mission.runner import run_scenario

    s = parse_scenario({**BASE, "analyses": CHEAP})
    seen: dict[int, list] = {1: [], 2: []}
    serial = run_scenario(s, analysis_progress=seen[1].append, workers=1)
    pooled = run_scenario(s, analysis_progress=seen[2].append, workers=2)
    return serial, pooled, seen


def test_two_workers_give_the_serial_summary(both):
    from mmxsim.results.summary import build_summary

    serial, pooled, _ = both
    assert [sec.key for sec in pooled.sections] == list(CHEAP)  # registry order, whatever finished first
    a, b = _without_timings(build_summary(serial)), _without_timings(build_summary(pooled))
    assert a == b and len(a["analyses"]) == 4
    for x, y in zip(serial.sections, pooled.sections):  # the same Section objects, figures included
        assert type(x) is type(y) and x.figures == y.figures and x.files == y.files


def test_the_schedule_says_where_each_analysis_ran(both):
    serial, pooled, _ = both
    assert "analysis_schedule" not in serial.metadata
    sched = pooled.metadata["analysis_schedule"]
    assert [r["analysis"] for r in sched] == list(CHEAP)
    assert {r["process"] for r in sched} <= {"main", "worker 1"}
    # a worker may start these (none reads the trajectory) before the propagation ends: start_s < 0 there
    assert all(r["start_s"] <= r["end_s"] and (r["start_s"] >= 0 or r["process"] != "main") for r in sched)
    assert all(r["cpu_s"] >= 0 for r in sched)
    # one process runs one analysis at a time: its intervals do not overlap
    for proc in {r["process"] for r in sched}:
        rows = sorted((r["start_s"], r["end_s"]) for r in sched if r["process"] == proc)
        assert all(a[1] <= b[0] + 1e-3 for a, b in zip(rows, rows[1:]))


def test_the_collector_is_given_back_its_objects(both):
    """run_analyses freezes the objects alive before the analyses (gc.freeze, so the collection after
    each analysis scans only what it created) and unfreezes them at the end, serial or not."""
    import gc

    assert gc.get_freeze_count() == 0


def test_progress_and_memory_are_reported(both):
    serial, pooled, seen = both
    assert seen[1] == seen[2] == [*CHEAP, None]
    assert serial.timings["analysis_workers"] == 1 and pooled.timings["analysis_workers"] == 2
    assert "workers_peak_rss_mb" not in serial.timings
    # each worker imported numpy and mmxsim: tens of MB at least, and less than this process's peak x 2
    assert 50 < pooled.timings["workers_peak_rss_mb"] < 4 * pooled.timings["peak_rss_mb"]


def test_an_analysis_error_in_a_worker_keeps_its_type_and_fields():
    """comms refuses a run shorter than its two-hour margins: as a serial run would, the concurrent run
    raises that InputError (type, field, message), with the worker's traceback as its cause when a
    worker ran it (this process takes tasks from the same queue)."""
    from mmxsim.analyses import RemoteTraceback, run_analyses
    from mmxsim.mission.runner import _analysis_context
    from mmxsim.scenario import scenario_to_dict

    s = parse_scenario({**BASE, "analyses": {"budget": {}, "comms": {}}})
    t = [0.0, 600.0, 1200.0]
    import numpy as np

    states = np.zeros((3, 6))
    setup = (_analysis_context, (scenario_to_dict(s), None, np.asarray(t) + s.t0_tdb, states, None))
    with pytest.raises(InputError) as serial:
        run_analyses(s, _analysis_context(*setup[1])[1], workers=1)
    with pytest.raises(InputError) as pooled:
        run_analyses(s, None, workers=2, worker_setup=setup)
    assert pooled.value.field == serial.value.field == "analyses.comms"
    assert str(pooled.value) == str(serial.value)
    cause = pooled.value.__cause__
    assert cause is None or (isinstance(cause, RemoteTraceback) and "comms" in str(cause))


def test_analyses_that_need_no_trajectory_start_before_it():
    """AnalysisWorkers.begin hands the worker the NO_TRAJECTORY tasks at once, before the run's arrays
    exist (here: before run_analyses is even called); the sections are those of a serial run."""
    import time

    from mmxsim.analyses import NO_TRAJECTORY, AnalysisWorkers, last_schedule, run_analyses
    from mmxsim.mission.runner import _analysis_context
    from mmxsim.scenario import scenario_to_dict

    assert set(CHEAP) <= NO_TRAJECTORY
    s = parse_scenario({**BASE, "analyses": CHEAP})
    scen, ctx = _analysis_context(scenario_to_dict(s), None)
    serial = run_analyses(scen, ctx, workers=1)
    with AnalysisWorkers(1, (_analysis_context, (scenario_to_dict(s), None))) as pool:
        pool.begin(s)
        deadline = time.time() + 120
        while not pool.schedule.done and time.time() < deadline:
            time.sleep(0.05)
        assert pool.schedule.done  # a section came back with no trajectory handed over
        t = s.t0_tdb + np.array([0.0, 600.0])
        pooled = run_analyses(s, {**ctx, "t": t, "states": np.zeros((2, 6))}, workers=2, pool=pool,
                              worker_ctx={"t": t, "states": np.zeros((2, 6)), "phobos_fixed": None})
    assert [x.key for x in pooled] == list(CHEAP)
    assert [(x.headline, x.data) for x in pooled] == [(x.headline, x.data) for x in serial]
    early = [r for r in last_schedule if r["start_s"] < 0]
    assert early and all(r["process"] == "worker 1" for r in early)


_FORKED = """
import json, sys
from mmxsim.analyses import start_method
from mmxsim.mission.runner import run_scenario
from mmxsim.results.summary import build_summary
from mmxsim.scenario import parse_scenario
first = start_method()
s = parse_scenario(json.loads(sys.argv[1]))
pooled = build_summary(run_scenario(s, workers=2))  # started first: nothing imported heyoka or numba yet
later = start_method()
serial = build_summary(run_scenario(s, workers=1))
print(json.dumps({"first": first, "later": later, "pooled": pooled, "serial": serial}, default=str))
"""


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="fork is used on Linux only")
def test_a_fresh_process_forks_its_workers_and_gets_the_serial_summary():
    """`mmxsim run` starts its workers before heyoka or numba is imported: they are forked then (this
    process' imports for free), and forkserver once those libraries are in (their threads and LLVM
    must not be forked). The forked workers give the serial summary."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    src = str(Path(__file__).resolve().parents[2] / "src")
    env = dict(os.environ, PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("MMXSIM_WORKERS", None)
    out = subprocess.run([sys.executable, "-c", _FORKED, json.dumps({**BASE, "analyses": CHEAP})], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["first"] == "fork" and r["later"] == "forkserver"
    assert r["pooled"]["timings_s"]["analysis_workers"] == 2
    assert _without_timings(r["pooled"]) == _without_timings(r["serial"])


def test_an_analysis_started_before_the_trajectory_cannot_read_it():
    """The ctx of an early task refuses the trajectory's keys, so an analysis wrongly listed in
    NO_TRAJECTORY fails instead of running without the trajectory (comms would fall back silently)."""
    from mmxsim.analyses import TRAJECTORY_KEYS, _BeforeTrajectory, get
    from mmxsim.errors import MmxsimError
    from mmxsim.mission.runner import _analysis_context
    from mmxsim.scenario import scenario_to_dict

    ctx = _BeforeTrajectory({"eph": 1, "model": 2})
    assert ctx["eph"] == 1 and ctx.get("model") == 2 and "eph" in ctx and ctx.get("geodesy") is None
    for key in TRAJECTORY_KEYS:
        for read in (lambda: ctx[key], lambda: ctx.get(key), lambda: key in ctx):
            with pytest.raises(MmxsimError, match="NO_TRAJECTORY"):
                read()
    s = parse_scenario({**BASE, "duration_days": 0.2, "analyses": {"comms": {}}})
    scen, full = _analysis_context(scenario_to_dict(s), None)
    with pytest.raises(MmxsimError, match="NO_TRAJECTORY"):
        get("comms").run(s.analyses.comms, s, _BeforeTrajectory(full))


@pytest.mark.slow
def test_every_analysis_listed_as_needing_no_trajectory_runs_without_it():
    """Each NO_TRAJECTORY analysis of the reference mission's quick look runs to its section with a ctx
    that refuses the trajectory (as a worker runs it before the propagation ends): none reads it, so
    none can give another number for being started early."""
    from mmxsim.analyses import NO_TRAJECTORY, _BeforeTrajectory, get
    from mmxsim.app import resolve_scenario
    from mmxsim.mission.runner import _analysis_context
    from mmxsim.scenario import scenario_to_dict

    s, base = resolve_scenario(None, quick=True)
    names = [n for n in type(s.analyses).model_fields if getattr(s.analyses, n) is not None and n in NO_TRAJECTORY]
    assert len(names) >= 10
    _, ctx = _analysis_context(scenario_to_dict(s), None if base is None else str(base))
    guarded = _BeforeTrajectory(ctx)
    for name in names:  # origin before geodesy, as in a run: origin stores the covariance geodesy reads
        sec = get(name).run(getattr(s.analyses, name), s, guarded)
        assert sec.key == name and sec.headline


def test_origin_runs_beside_the_geodesy_it_reads():
    from mmxsim.analyses import _tasks

    assert _tasks(["qso_family", "origin", "od", "geodesy"]) == [["qso_family"], ["origin", "geodesy"], ["od"]]
    assert _tasks(["origin", "od"]) == [["origin"], ["od"]]
    assert _tasks(["geodesy"]) == [["geodesy"]]


def test_analyses_that_share_the_navigation_error_run_together():
    """qso_campaign, transfer and landing each take the covariance analysis of the run's tracking
    (od.navigation_error, cached per process) when their navigation is "computed": in one worker it is
    computed once. The reference mission computes it for qso_campaign and transfer, not landing."""
    from mmxsim.analyses import COST_HINT_S, _tasks, schedule_order
    from mmxsim.scenario.builtins import builtin_scenario

    s = builtin_scenario("reference_mission")
    block = s.analyses
    names = [n for n in type(block).model_fields if getattr(block, n) is not None]
    groups = _tasks(names, block)
    assert sorted(x for g in groups for x in g) == sorted(names)  # every analysis once
    together = next(g for g in groups if "transfer" in g)
    assert "qso_campaign" in together and "landing" not in together
    assert "od" in together  # its variational integrator is the navigation error's (built once)
    assert _tasks(["od", "budget"]) == [["od"], ["budget"]]
    assert next(g for g in groups if "origin" in g) == ["origin", "geodesy"]
    # without the settings every member is taken to use it
    assert _tasks(["qso_campaign", "landing", "budget", "transfer"]) == [["qso_campaign", "landing", "transfer"],
                                                                          ["budget"]]
    order = schedule_order(groups)  # the longest (by COST_HINT_S, summed over a group) first
    cost = [sum(COST_HINT_S.get(n, 1.0) for n in g) for g in order]
    assert cost == sorted(cost, reverse=True) and cost[0] > cost[-1]
    assert order[0] == ["origin", "geodesy"] and sorted(map(tuple, order)) == sorted(map(tuple, groups))


def test_analyses_that_share_the_default_gravity_grid_run_together():
    """The rover and the landing analysis (at its default grid spacing) fly thomas3k's default gravity
    grid: one worker builds it (a first run) and the other analysis reads it, instead of a second
    process waiting idle for the first's build lock. A landing analysis on another grid is free."""
    import inspect

    from mmxsim.analyses import DEFAULT_GRID_DEG, _tasks
    from mmxsim.analyses.landing import LandingAnalysis
    from mmxsim.gravity.fast import GridGravity
    from mmxsim.scenario.builtins import builtin_scenario

    sig = inspect.signature(GridGravity)
    assert sig.parameters["dlat_deg"].default == sig.parameters["dlon_deg"].default == DEFAULT_GRID_DEG
    assert LandingAnalysis().grid_deg == DEFAULT_GRID_DEG
    block = builtin_scenario("reference_mission").analyses
    names = [n for n in type(block).model_fields if getattr(block, n) is not None]
    groups = _tasks(names, block)
    together = next(g for g in groups if "rover" in g)
    assert "landing" in together and sorted(x for g in groups for x in g) == sorted(names)
    coarse = block.model_copy(update={"landing": LandingAnalysis(grid_deg=3.0)})
    assert next(g for g in _tasks(names, coarse) if "rover" in g) == ["rover"]


def test_a_first_run_hands_out_its_analyses_by_first_run_costs(tmp_path, monkeypatch):
    """With numba's cache empty (looks_cold), the first-run hints order the tasks: the grid group
    (landing builds thomas3k's grid, the rover compiles the largest kernel) goes out first, where by
    the warm hints it went third and ended a first run 7 s after the other process."""
    from mmxsim.analyses import _tasks, looks_cold, schedule_order
    from mmxsim.scenario.builtins import builtin_scenario

    block = builtin_scenario("reference_mission").analyses
    names = [n for n in type(block).model_fields if getattr(block, n) is not None]
    groups = _tasks(names, block)
    grid = next(g for g in groups if "rover" in g)
    assert schedule_order(groups, first_run=True)[0] == grid
    warm = schedule_order(groups)
    assert warm.index(grid) > 0 and sorted(map(tuple, warm)) == sorted(map(tuple, groups))
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))  # an empty numba cache
    assert looks_cold()


@pytest.mark.parametrize("given, env, expected", [(None, None, 1), (3, None, 3), ("2", None, 2), (None, "2", 2),
                                                 (1, "2", 1), (None, " ", 1)])
def test_worker_count(monkeypatch, given, env, expected):
    from mmxsim.mission.runner import WORKERS_ENV, analysis_workers

    if env is None:
        monkeypatch.delenv(WORKERS_ENV, raising=False)
    else:
        monkeypatch.setenv(WORKERS_ENV, env)
    assert analysis_workers(given) == expected


def test_worker_count_auto_and_refusals(monkeypatch):
    from mmxsim.mission.runner import WORKERS_ENV, analysis_workers

    assert 1 <= analysis_workers("auto") <= 2
    for bad in (0, -1, "two", 1.5, True):
        with pytest.raises(InputError):
            analysis_workers(bad)
    monkeypatch.setenv(WORKERS_ENV, "many")
    with pytest.raises(InputError) as e:
        analysis_workers()
    assert e.value.field == f"${WORKERS_ENV}"


def test_the_command_line_default_is_auto_and_serial_on_one_cpu(monkeypatch, tmp_path):
    """`mmxsim run` without --workers or $MMXSIM_WORKERS runs the analyses in auto processes: the CPUs
    this process may use, at most 2; on a one-CPU machine a serial run (no schedule in its summary).
    The API and campaigns keep one process (DEFAULT_WORKERS)."""
    import os

    from typer.testing import CliRunner

    from mmxsim.cli import app
    from mmxsim.mission import runner

    assert runner.COMMAND_LINE_WORKERS == "auto" and runner.DEFAULT_WORKERS == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    assert runner.analysis_workers(runner.COMMAND_LINE_WORKERS) == 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    monkeypatch.delenv(runner.WORKERS_ENV, raising=False)
    seen = []
    real = runner.analysis_workers
    monkeypatch.setattr(runner, "analysis_workers", lambda w=None: seen.append(w) or real(w))
    path = tmp_path / "s.yaml"
    import yaml

    path.write_text(yaml.safe_dump({**BASE, "analyses": {"budget": {}, "planetary_protection": {}}}))
    r = CliRunner().invoke(app, ["run", str(path), "-q", "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert seen and seen[0] == "auto"
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["timings_s"]["analysis_workers"] == 1 and "analysis_schedule" not in summary["metadata"]
    assert list(summary["analyses"]) == ["budget", "planetary_protection"]


def test_the_command_line_refuses_a_bad_worker_count_before_running(tmp_path):
    from typer.testing import CliRunner

    from mmxsim.cli import app

    r = CliRunner().invoke(app, ["run", "--quick", "-q", "--workers", "none", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "workers" in r.output and "auto or a whole number" in r.output
    assert not (tmp_path / "o").exists()
