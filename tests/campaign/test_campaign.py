"""Campaigns: spec validation, seeds, failed samples, Parquet results, SIGKILL + resume.

The scenario is the cheap one of tests/mission/test_analyses.py (QSO about a point-mass
Phobos, no SRP); most runs use the in-process ``synchronous`` scheduler, one test a real
Dask LocalCluster (the one that gets killed).
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from mmxsim.campaign import load_campaign, parse_campaign, run_campaign, sample_seed
from mmxsim.campaign.checkpoint import read_parts
from mmxsim.campaign.runner import result_columns, run_sample
from mmxsim.errors import InputError

SRC = Path(__file__).resolve().parents[2] / "src"

BASE = {
    "name": "campaign-test",
    "epoch": "2027-09-01T00:00:00",
    "duration_days": 0.05,
    "initial_state": {"type": "qso", "radial_semi_axis_km": 50},
    "force_model": {"phobos": {"model": "point_mass"}, "srp": {"enabled": False}},
}


def campaign(seed=7, samples=3, base=BASE, **extra):
    data = {
        "name": "mc",
        "base": base,
        "seed": seed,
        "samples": samples,
        "vary": {
            "initial_state.radial_semi_axis_km": {"dist": "uniform", "low": 30, "high": 80},
            "spacecraft.mass_kg": {"grid": [1500, 2500]},
        },
        "outputs": ["termination", "distance_phobos_km.min", "distance_phobos_km.max", "samples"],
    }
    data.update(extra)
    return parse_campaign(data)


def rows(table):
    """Rows without the wall times (the only column allowed to differ between runs)."""
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in table.to_pylist()]


# -- spec -----------------------------------------------------------------------------


def test_grid_product_times_samples_and_order():
    spec = parse_campaign({
        "name": "g", "base": BASE, "seed": 1, "samples": 2,
        "vary": {"spacecraft.mass_kg": {"grid": [1, 2, 3]},
                 "spacecraft.cr": {"linspace": [1.0, 2.0, 3]},
                 "spacecraft.srp_area_m2": {"dist": "normal", "mean": 20, "std": 1}},
    })
    assert spec.n_samples == 3 * 3 * 2
    got = [(spec.inputs(i)[1]["spacecraft.mass_kg"], spec.inputs(i)[1]["spacecraft.cr"]) for i in range(18)]
    # grid point g = i // samples; last axis fastest
    expect = [(m, c) for m in (1, 2, 3) for c in (1.0, 1.5, 2.0) for _ in range(2)]
    assert got == expect


def test_sample_seed_is_the_seedsequence_spawn_child():
    # independent of our code path: numpy's own spawn() gives the same child streams
    children = np.random.SeedSequence(2027).spawn(5)
    for i, child in enumerate(children):
        assert sample_seed(2027, i) == int(child.generate_state(1, np.uint64)[0] >> np.uint64(1))
    assert len({sample_seed(2027, i) for i in range(1000)}) == 1000


def test_each_sample_is_reproducible_alone_and_draws_follow_the_distribution():
    spec = parse_campaign({"name": "d", "base": BASE, "seed": 3, "samples": 4000,
                           "vary": {"spacecraft.mass_kg": {"dist": "normal", "mean": 2000, "std": 100},
                                    "spacecraft.cr": {"dist": "choice", "values": [1.1, 1.9], "p": [0.25, 0.75]}}})
    alone = spec.inputs(1234)
    _ = [spec.inputs(i) for i in range(10)]
    assert spec.inputs(1234) == alone
    # from the recorded seed only: default_rng(seed) redraws the same values in vary order
    rng = np.random.default_rng(alone[0])
    assert rng.normal(2000, 100) == alone[1]["spacecraft.mass_kg"]
    m = np.array([spec.inputs(i)[1]["spacecraft.mass_kg"] for i in range(4000)])
    c = np.array([spec.inputs(i)[1]["spacecraft.cr"] for i in range(4000)])
    # sample mean within 4 standard errors, sample std within 5 %
    assert abs(m.mean() - 2000) < 4 * 100 / math.sqrt(4000)
    assert abs(m.std() / 100 - 1) < 0.05
    p = (c == 1.9).mean()
    assert abs(p - 0.75) < 4 * math.sqrt(0.75 * 0.25 / 4000)


@pytest.mark.parametrize("vary, needle", [
    ({"spacecraft.mas_kg": {"grid": [1]}}, "fields at spacecraft: cr, mass_kg, srp_area_m2"),
    ({"spacecraft.mass_kg": {"dist": "gauss", "mean": 1}}, "normal, uniform, lognormal"),
    ({"spacecraft.mass_kg": {"dist": "normal", "mean": 1}}, "std"),
    ({"spacecraft.mass_kg": {"dist": "normal", "mean": 1, "std": -1}}, ">= 0"),
    ({"spacecraft.mass_kg": {"dist": "uniform", "low": 2, "high": 1}}, "> low"),
    ({"spacecraft.mass_kg": {"grid": []}}, "at least one value"),
    ({"spacecraft.mass_kg": {"grid": [1], "dist": "seed"}}, "exactly one of"),
    ({"initial_state.position_km[5]": {"grid": [1]}}, "no sub-field 5"),
])
def test_bad_vary_entries_name_field_value_and_allowed(vary, needle):
    with pytest.raises(InputError) as ei:
        parse_campaign({"name": "x", "base": BASE, "seed": 1, "vary": vary})
    assert ei.value.field.startswith("vary")
    assert needle in str(ei.value)


def test_other_spec_errors():
    with pytest.raises(InputError, match="campaign.seed"):
        parse_campaign({"name": "x", "base": BASE})
    with pytest.raises(InputError, match="identical"):
        parse_campaign({"name": "x", "base": BASE, "seed": 1, "samples": 5,
                        "vary": {"spacecraft.mass_kg": {"grid": [1, 2]}}})
    with pytest.raises(InputError, match="keys name"):
        parse_campaign({"name": "x", "base": BASE, "seed": 1, "sampels": 5})
    from mmxsim.scenario import ScenarioError

    with pytest.raises(ScenarioError):  # the base scenario is validated up front
        parse_campaign({"name": "x", "base": {**BASE, "duration_days": -1}, "seed": 1})


def test_load_from_yaml_with_relative_base(tmp_path):
    import yaml

    (tmp_path / "scen.yaml").write_text(yaml.safe_dump(BASE))
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({
        "name": "file", "base": "scen.yaml", "seed": 1,
        "vary": {"initial_state.radial_semi_axis_km": {"grid": [40, 60]}}}))
    spec = load_campaign(tmp_path / "c.yaml")
    assert spec.n_samples == 2 and spec.base["duration_days"] == 0.05
    assert spec.scenario_data(spec.inputs(1)[1])["initial_state"]["radial_semi_axis_km"] == 60


def test_missing_parent_blocks_are_created():
    spec = parse_campaign({"name": "x", "base": BASE, "seed": 1,
                           "vary": {"analyses.transfer.search_points": {"grid": [2]}}})
    data = spec.scenario_data(spec.inputs(0)[1])
    assert data["analyses"]["transfer"] == {"search_points": 2}


# -- running --------------------------------------------------------------------------


def test_outputs_are_the_run_numbers(tmp_path):
    from mmxsim.exports.summary import build_summary
    from mmxsim.mission.runner import run_scenario
    from mmxsim.scenario import parse_scenario

    spec = campaign(samples=1)
    rec = run_sample(spec, 1)
    assert rec["status"] == "ok", rec["error"]
    # the same scenario run directly gives bit-identical numbers
    data = spec.scenario_data(spec.inputs(1)[1])
    summ = build_summary(run_scenario(parse_scenario(data)))
    assert rec["out.distance_phobos_km.min"] == summ["distance_phobos_km"]["min"]["value"]
    assert rec["out.samples"] == summ["samples"] == 9
    assert rec["in.spacecraft.mass_kg"] == 2500
    # a QSO of semi-axis A starts at x = -A: the minimum distance is A (linear design, 1.2 h)
    assert rec["out.distance_phobos_km.min"] == pytest.approx(rec["in.initial_state.radial_semi_axis_km"], rel=1e-6)


def test_same_seed_same_outputs_other_seed_differs(tmp_path):
    a = run_campaign(campaign(seed=11), tmp_path / "a", scheduler="synchronous", progress=False)
    b = run_campaign(campaign(seed=11), tmp_path / "b", scheduler="synchronous", progress=False)
    c = run_campaign(campaign(seed=12), tmp_path / "c", scheduler="synchronous", progress=False)
    assert a.n_ok == 6 and a.n_failed == 0
    assert rows(a.table) == rows(b.table)
    ra, rc = rows(a.table), rows(c.table)
    for x, y in zip(ra, rc):
        assert x["in.initial_state.radial_semi_axis_km"] != y["in.initial_state.radial_semi_axis_km"]
        assert x["out.distance_phobos_km.min"] != y["out.distance_phobos_km.min"]
    # the Parquet on disk is the returned table, one row per sample, in index order
    disk = pq.read_table(a.path)
    assert disk.column_names == result_columns(a.spec)
    assert rows(disk) == ra and [r["index"] for r in ra] == list(range(6))


def test_failed_samples_are_recorded_with_the_scenario_error(tmp_path):
    spec = parse_campaign({
        "name": "bad", "base": BASE, "seed": 5, "samples": 12,
        "vary": {"initial_state.radial_semi_axis_km": {"dist": "normal", "mean": 15, "std": 6}},
        "outputs": ["termination", "distance_phobos_km.min"],
    })
    res = run_campaign(spec, tmp_path / "o", scheduler="synchronous", progress=False)
    recs = res.table.to_pylist()
    assert len(recs) == 12
    # independent prediction from the drawn inputs: the scenario rejects A <= 13 km (outside Phobos)
    expect_bad = {r["index"] for r in recs if r["in.initial_state.radial_semi_axis_km"] <= 13.0}
    got_bad = {r["index"] for r in recs if r["status"] == "failed"}
    assert expect_bad and got_bad == expect_bad and res.n_failed == len(expect_bad)
    for r in recs:
        if r["status"] == "failed":
            assert r["error"].startswith("ScenarioError")
            assert "initial_state.radial_semi_axis_km" in r["error"] and "allowed" in r["error"]
            assert r["out.distance_phobos_km.min"] is None
        else:
            assert r["error"] is None and r["out.termination"]


def test_retry_failed_reruns_only_the_failed(tmp_path):
    spec = parse_campaign({"name": "r", "base": BASE, "seed": 1,
                           "vary": {"initial_state.radial_semi_axis_km": {"grid": [10, 40, 12, 60]}},
                           "outputs": ["samples"]})
    first = run_campaign(spec, tmp_path, scheduler="synchronous", progress=False)
    assert first.n_failed == 2
    ok_parts = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "parts").glob("*.json")
                if json.loads(p.read_text())["status"] == "ok"}
    again = run_campaign(spec, tmp_path, scheduler="synchronous", progress=False, retry_failed=True)
    assert again.n_run == 2 and again.n_resumed == 2 and again.n_failed == 2  # same input, same error
    assert all((tmp_path / "parts" / n).stat().st_mtime_ns == m for n, m in ok_parts.items())
    assert rows(again.table) == rows(first.table)


def test_unknown_output_fails_the_sample_naming_what_exists(tmp_path):
    spec = campaign(samples=1, outputs=["distance_phobos_km.mean"])
    rec = run_sample(spec, 0)
    assert rec["status"] == "failed"
    assert "distance_phobos_km.mean" in rec["error"] and "max, min" in rec["error"]


def test_folder_of_another_campaign_is_refused(tmp_path):
    run_campaign(campaign(seed=1, samples=1), tmp_path, scheduler="synchronous", progress=False)
    with pytest.raises(InputError, match="another campaign"):
        run_campaign(campaign(seed=2, samples=1), tmp_path, scheduler="synchronous", progress=False)
    res = run_campaign(campaign(seed=2, samples=1), tmp_path, scheduler="synchronous", progress=False, fresh=True)
    assert res.n_run == 2


def test_plain_progress_lines_when_the_console_is_not_a_terminal(tmp_path):
    """A log file or CI gets one flushed line per 10 % of the samples (rich's bar would print nothing
    until the end), each with the count, the failures and the elapsed time."""
    import io

    from rich.console import Console

    buf = io.StringIO()
    res = run_campaign(campaign(samples=2), tmp_path, scheduler="synchronous", progress=True,
                       console=Console(file=buf))
    lines = buf.getvalue().splitlines()
    assert res.n_ok == 4
    assert lines[0].startswith("mmxsim campaign: ") and "0 of 4 samples" in lines[0]
    assert [ln.split(": ", 2)[2].split(" (")[0] for ln in lines[1:]] == [f"{k} of 4 samples" for k in (1, 2, 3, 4)]
    assert all("failed 0" in ln and "s elapsed" in ln for ln in lines[1:])


def test_figure(tmp_path):
    from matplotlib.figure import Figure

    from mmxsim.campaign import campaign_figure

    res = run_campaign(campaign(samples=2), tmp_path, scheduler="synchronous", progress=False)
    fig = campaign_figure(res.table)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "initial_state.radial_semi_axis_km"
    assert len(ax.lines[0].get_xdata()) == 4


# -- SIGKILL and resume ---------------------------------------------------------------

KILL_BASE = {**BASE, "duration_days": 30, "propagation": {"output_step_s": 3600}}
KILL_SPEC = {
    "name": "killme", "base": KILL_BASE, "seed": 99, "samples": 6,
    "vary": {"initial_state.radial_semi_axis_km": {"dist": "uniform", "low": 45, "high": 60},
             "spacecraft.mass_kg": {"grid": [1500, 2500]}},
    "outputs": ["termination", "distance_phobos_km.min", "distance_phobos_km.max", "altitude_phobos_km.min",
                "samples"],
}


def _start(out: Path, scheduler: str | None) -> subprocess.Popen:
    code = textwrap.dedent(f"""
        import json, sys
        from mmxsim.campaign import parse_campaign, run_campaign
        spec = parse_campaign(json.loads(sys.argv[1]))
        run_campaign(spec, sys.argv[2], scheduler={scheduler!r}, n_workers=2, progress=False, engine="scenario")
    """)
    env = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    # own session: the kill takes the client, the scheduler and the worker processes at once
    return subprocess.Popen([sys.executable, "-c", code, json.dumps(KILL_SPEC), str(out)], env=env,
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _kill_when(proc, cond, timeout=60.0):
    t0 = time.monotonic()
    while not cond():
        if proc.poll() is not None:
            raise AssertionError(f"campaign ended before the kill: {proc.stderr.read().decode()[-2000:]}")
        if time.monotonic() - t0 > timeout:
            break
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref")
    res = run_campaign(parse_campaign(KILL_SPEC), out, scheduler="synchronous", progress=False, engine="scenario")
    assert res.n_ok == 12
    return res


@pytest.mark.parametrize("scheduler, after_parts", [(None, 3), ("synchronous", 0)],
                         ids=["dask-local-cluster-after-3-parts", "in-process-before-any-part"])
def test_sigkill_then_resume_gives_the_uninterrupted_parquet(tmp_path, reference, scheduler, after_parts):
    out = tmp_path / "killed"
    proc = _start(out, scheduler)
    parts = out / "parts"
    if after_parts:
        _kill_when(proc, lambda: parts.is_dir() and len(list(parts.glob("sample-*.json"))) >= after_parts)
    else:
        _kill_when(proc, lambda: (out / "campaign.json").exists())
    survived = read_parts(out)
    assert len(survived) >= after_parts
    assert len(survived) < 12, "the campaign finished before the kill: nothing was interrupted"
    assert not (out / "results.parquet").exists()
    mtimes = {p.name: p.stat().st_mtime_ns for p in parts.glob("sample-*.json")}

    res = run_campaign(parse_campaign(KILL_SPEC), out, scheduler="synchronous", progress=False, engine="scenario")
    print(f"killed ({scheduler or 'LocalCluster'}) with {len(survived)} of 12 parts on disk; resume ran {res.n_run}")
    # finished samples were not run again, and none was lost
    assert res.n_resumed == len(survived) and res.n_run == 12 - len(survived)
    assert all(p.stat().st_mtime_ns == mtimes[p.name] for p in parts.glob("sample-*.json") if p.name in mtimes)
    assert rows(pq.read_table(res.path)) == rows(reference.table)
    # a finished campaign resumed again runs nothing and writes the same table
    again = run_campaign(parse_campaign(KILL_SPEC), out, scheduler="synchronous", progress=False, engine="scenario")
    assert again.n_run == 0 and rows(again.table) == rows(reference.table)


# -- command line ---------------------------------------------------------------------


def test_cli_campaign_runs_resumes_and_reports_errors(tmp_path):
    import yaml
    from typer.testing import CliRunner

    from mmxsim.cli import app

    (tmp_path / "c.yaml").write_text(yaml.safe_dump({
        "name": "cli", "base": BASE, "seed": 3,
        "vary": {"initial_state.radial_semi_axis_km": {"grid": [10, 40]}}, "outputs": ["samples"]}))
    runner = CliRunner()
    r = runner.invoke(app, ["campaign", str(tmp_path / "c.yaml"), "-o", str(tmp_path / "o"),
                            "--scheduler", "synchronous", "-q"])
    assert r.exit_code == 0, r.output
    assert "2 samples, 1 ok, 1 failed" in r.output
    t = pq.read_table(tmp_path / "o" / "results.parquet")
    assert t.column("status").to_pylist() == ["failed", "ok"]
    r = runner.invoke(app, ["campaign", str(tmp_path / "c.yaml"), "-o", str(tmp_path / "o"),
                            "--scheduler", "synchronous", "-q"])
    assert "(2 found finished, 0 run)" in r.output
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({"name": "b", "base": BASE, "seed": 3,
                                                       "vary": {"spacecraft.mass": {"grid": [1]}}}))
    r = runner.invoke(app, ["campaign", str(tmp_path / "bad.yaml"), "-o", str(tmp_path / "b")])
    assert r.exit_code == 2 and "mass_kg" in r.output and "Traceback" not in r.output


def test_example_campaign_file_loads():
    root = Path(__file__).resolve().parents[2]
    spec = load_campaign(root / "scenarios" / "campaigns" / "qso_insertion_mc.yaml")
    assert spec.n_samples == 60
    s, vals = spec.inputs(59)
    assert vals["initial_state.radial_semi_axis_km"] == 100
    from mmxsim.scenario import parse_scenario

    scen = parse_scenario(spec.scenario_data(vals))
    assert scen.duration_days == 5 and scen.initial_state.radial_semi_axis_km == 100  # set: and vary: applied
    with pytest.raises(InputError, match="campaign.set"):
        parse_campaign({"name": "x", "base": BASE, "seed": 1, "set": {"spacecraft.mass_kg": 1},
                        "vary": {"spacecraft.mass_kg": {"grid": [1]}}})
    with pytest.raises(InputError, match="fields at spacecraft"):
        parse_campaign({"name": "x", "base": BASE, "seed": 1, "set": {"spacecraft.mas": 1}})


def test_killed_again_while_resuming(tmp_path, reference):
    """Three SIGKILLs in a row, each during the resume of the previous one, then a last resume."""
    out = tmp_path / "k"
    parts = out / "parts"
    counts = []
    for target in (2, 5, 8):
        proc = _start(out, "synchronous")
        _kill_when(proc, lambda: parts.is_dir() and len(list(parts.glob("sample-*.json"))) >= target)
        counts.append(len(read_parts(out)))
    assert counts == sorted(counts) and counts[-1] < 12
    res = run_campaign(parse_campaign(KILL_SPEC), out, scheduler="synchronous", progress=False, engine="scenario")
    print(f"parts after each kill: {counts}; last resume ran {res.n_run}")
    assert res.n_resumed == counts[-1]
    assert rows(res.table) == rows(reference.table)


def test_existing_cluster_by_address(tmp_path):
    """``scheduler=ADDRESS``: the path `--scheduler tcp://...` takes (an in-process cluster here)."""
    from dask.distributed import LocalCluster

    spec = campaign(seed=21, samples=2)
    ref = run_campaign(spec, tmp_path / "ref", scheduler="synchronous", progress=False)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        res = run_campaign(spec, tmp_path / "remote", scheduler=cluster.scheduler_address, progress=False)
    assert res.workers == 1 and res.n_run == 4
    assert rows(res.table) == rows(ref.table)
    with pytest.raises(InputError, match="running Dask scheduler"):  # nothing listens there
        run_campaign(spec, tmp_path / "none", scheduler="tcp://127.0.0.1:9", progress=False, connect_timeout_s=2)


@pytest.mark.parametrize("target_s, batched", [(1.0, True), (1e-9, False)], ids=["short-samples-batched",
                                                                                  "long-samples-one-per-task"])
def test_tasks_batch_short_samples_only(tmp_path, monkeypatch, target_s, batched):
    """Samples much shorter than TARGET_TASK_S share tasks (fewer scheduler round trips); samples
    longer than it run one per task. The results are those of the synchronous run either way."""
    from dask.distributed import LocalCluster

    from mmxsim.campaign import runner

    monkeypatch.setattr(runner, "TARGET_TASK_S", target_s)
    spec = campaign(seed=5, samples=10)  # 20 samples (10 draws x 2 masses) of a 0.05-day run, milliseconds each
    ref = run_campaign(spec, tmp_path / "ref", scheduler="synchronous", progress=False, engine="scenario")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        res = run_campaign(spec, tmp_path / "b", scheduler=cluster.scheduler_address, progress=False,
                           engine="scenario")
    assert rows(res.table) == rows(ref.table)
    t = res.timings
    print("tasks", t["tasks"], "largest batch", t["max_batch"])
    if batched:
        assert t["max_batch"] > 1 and t["tasks"] < spec.n_samples
    else:
        assert t["max_batch"] == 1 and t["tasks"] == spec.n_samples


def test_resume_digest_includes_the_mmxsim_version(monkeypatch):
    """Issue 15: a folder written by another mmxsim version is another campaign (its samples came from
    other models), even with the same spec."""
    import mmxsim.version

    spec = campaign(seed=2, samples=1)
    d = spec.digest
    monkeypatch.setattr(mmxsim.version, "__version__", mmxsim.version.__version__ + ".post1")
    assert spec.digest != d


def test_every_grid_point_has_its_own_seeds_and_draws():
    """Sample i's seed is numpy's SeedSequence(seed).spawn(n)[i] for every i, at every grid point
    (not only the first): two grid points must not reuse the same draws."""
    spec = campaign(seed=11, samples=3)
    n = spec.n_samples
    assert n == 6
    children = np.random.SeedSequence(11).spawn(n)
    seeds = [spec.inputs(i)[0] for i in range(n)]
    assert seeds == [int(c.generate_state(1, np.uint64)[0] >> np.uint64(1)) for c in children]
    assert len(set(seeds)) == n
    draws = [spec.inputs(i)[1]["initial_state.radial_semi_axis_km"] for i in range(n)]
    assert len(set(draws)) == n  # grid point 1 does not repeat grid point 0's draws


def test_recorded_grid_and_draw_index_match_the_inputs():
    """run_sample records grid_index = i // samples, draw_index = i % samples, and the grid value
    in the record is the one of that grid point (mass grid [1500, 2500], samples=3: i=5 -> (1, 2)).
    i=5 is chosen so that i // 3 != i % 3 (i=4 would not tell them apart)."""
    spec = campaign(samples=3)
    rec = run_sample(spec, 5)
    assert (rec["index"], rec["grid_index"], rec["draw_index"]) == (5, 1, 2)
    assert rec["in.spacecraft.mass_kg"] == [1500, 2500][rec["grid_index"]]
    assert rec["seed"] == sample_seed(7, 5)
