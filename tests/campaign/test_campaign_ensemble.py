"""Campaigns on the ensemble path (campaign/ensemble.py) against the per-sample path.

The scenario is the cheap one of test_campaign.py with SRP switched on, so that the spacecraft mass,
a member field, changes each member's runtime parameter (Cr*A/m) and a lane mix-up would show.
"""

from __future__ import annotations

import copy

import pyarrow.parquet as pq
import pytest

from mmxsim.campaign import parse_campaign, run_campaign
from mmxsim.campaign.ensemble import ensemble_reason, group_key, plan_chunks
from mmxsim.campaign.runner import choose_engine, result_columns, run_sample
from mmxsim.errors import InputError

BASE = {
    "name": "campaign-ens-test",
    "epoch": "2027-09-01T00:00:00",
    "duration_days": 0.05,
    "initial_state": {"type": "qso", "radial_semi_axis_km": 50},
    "force_model": {"phobos": {"model": "point_mass"}},
    "propagation": {"output_step_s": 600},
}
OUTPUTS = ["termination", "distance_phobos_km.min", "distance_phobos_km.max", "altitude_phobos_km.min",
           "distance_phobos_km.max.t_tdb_s", "samples", "events", "force_model", "span.duration_s"]


def campaign(seed=3, samples=5, **extra):
    data = {
        "name": "ens",
        "base": BASE,
        "seed": seed,
        "samples": samples,
        "vary": {
            "initial_state.radial_semi_axis_km": {"dist": "uniform", "low": 30, "high": 80},
            "initial_state.out_of_plane_km": {"dist": "uniform", "low": 0, "high": 2},
            # masses far apart: SRP moves the members apart by metres over the run
            "spacecraft.mass_kg": {"dist": "uniform", "low": 100, "high": 3000},
            "propagation.output_step_s": {"grid": [600, 900]},  # two groups (another output grid)
        },
        "outputs": OUTPUTS,
    }
    data.update(extra)
    return parse_campaign(data)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    spec = campaign()
    d = tmp_path_factory.mktemp("ens")
    ens = run_campaign(spec, d / "e", scheduler="synchronous", progress=False, engine="ensemble")
    per = run_campaign(spec, d / "s", scheduler="synchronous", progress=False, engine="scenario")
    return spec, ens, per


def _same(a: list, b: list):
    """Records equal but for wall_s and path; floats within 1 m (1e-3 km) and 1e-9 relative."""
    assert len(a) == len(b)
    for ra, rb in zip(a, b):
        assert set(ra) == set(rb)
        for k in ra:
            if k in ("wall_s", "path"):
                continue
            if isinstance(ra[k], float):
                assert ra[k] == pytest.approx(rb[k], rel=1e-9, abs=1e-3 if "km" in k else 1e-9), (ra["index"], k)
            elif k in ("out.events",):  # JSON text: the same events, epochs to 1 ms
                import json

                ea, eb = json.loads(ra[k]), json.loads(rb[k])
                assert [(e["kind"], e["body"]) for e in ea] == [(e["kind"], e["body"]) for e in eb]
                assert all(abs(x["t_tdb_s"] - y["t_tdb_s"]) < 1e-3 for x, y in zip(ea, eb))
            else:
                assert ra[k] == rb[k], (ra["index"], k)


def test_both_paths_give_the_same_table(both):
    spec, ens, per = both
    assert ens.engine == "ensemble" and per.engine == "scenario"
    assert ens.n_ok == per.n_ok == spec.n_samples == 10
    ra, rb = ens.table.to_pylist(), per.table.to_pylist()
    assert [r["path"] for r in ra] == ["ensemble"] * 10 and [r["path"] for r in rb] == ["scenario"] * 10
    _same(ra, rb)
    assert ens.table.column_names == per.table.column_names == result_columns(spec)
    assert ens.timings["ensemble_chunks"] == 2  # one chunk per output grid
    # the members differ (mass and start): a lane mix-up would not pass the per-sample comparison
    assert len({r["out.distance_phobos_km.max"] for r in ra}) == 10
    assert len({r["out.force_model"] for r in ra}) == 10  # each member's own Cr*A/m in its force model


def test_mass_alone_moves_the_member(tmp_path):
    """Two members with the same start and different masses: their SRP parameter is their own (the
    distances differ by more than the comparison's tolerance, and each equals its per-sample run)."""
    spec = parse_campaign({"name": "m", "base": BASE, "seed": 1,
                           "vary": {"spacecraft.mass_kg": {"grid": [100, 3000]}},
                           "outputs": ["distance_phobos_km.max"]})
    ens = run_campaign(spec, tmp_path / "e", scheduler="synchronous", progress=False).table.to_pylist()
    assert [r["path"] for r in ens] == ["ensemble"] * 2  # auto chose the ensemble path
    a, b = (r["out.distance_phobos_km.max"] for r in ens)
    assert abs(a - b) > 1e-5  # > 1 cm apart
    for r in ens:
        assert r["out.distance_phobos_km.max"] == pytest.approx(run_sample(spec, r["index"])
                                                                ["out.distance_phobos_km.max"], rel=1e-10)


def test_resume_on_the_ensemble_path(both, tmp_path):
    """Parts of a finished ensemble campaign removed (as if killed before its last groups returned):
    the resume runs only those, as ensembles, and gives the same table."""
    import shutil

    spec, ens, _ = both
    out = tmp_path / "r"
    shutil.copytree(ens.out_dir, out)
    (out / "results.parquet").unlink()
    from mmxsim.campaign.checkpoint import part_path

    for i in (1, 4, 7):
        part_path(out, i).unlink()
    res = run_campaign(spec, out, scheduler="synchronous", progress=False)
    assert res.n_run == 3 and res.n_resumed == 7 and res.engine == "ensemble"
    _same(pq.read_table(res.path).to_pylist(), ens.table.to_pylist())


def test_failed_samples_on_the_ensemble_path_match_run_sample(tmp_path):
    spec = parse_campaign({"name": "bad", "base": BASE, "seed": 5, "samples": 8,
                           "vary": {"initial_state.radial_semi_axis_km": {"dist": "normal", "mean": 15, "std": 6}},
                           "outputs": ["termination", "distance_phobos_km.min"]})
    res = run_campaign(spec, tmp_path, scheduler="synchronous", progress=False, engine="ensemble")
    recs = res.table.to_pylist()
    assert res.n_failed >= 1 and res.n_ok >= 1
    for r in recs:
        ref = run_sample(spec, r["index"])
        assert (r["status"], r["error"]) == (ref["status"], ref["error"])
        # a start near the surface may go to the scalar propagator inside the ensemble ("ensemble-scalar")
        assert r["path"] == "scenario" if r["status"] == "failed" else r["path"].startswith("ensemble")


def test_when_the_ensemble_path_applies():
    spec = campaign()
    assert ensemble_reason(spec) is None and choose_engine(spec) == "ensemble"
    assert choose_engine(spec, "scenario") == "scenario"
    timing = campaign(outputs=["termination", "timings_s.propagate_s"])
    assert "timings_s.propagate_s" in ensemble_reason(timing) and choose_engine(timing) == "scenario"
    with pytest.raises(InputError, match="cannot run as ensembles"):
        choose_engine(timing, "ensemble")
    with pytest.raises(InputError, match="auto, ensemble, scenario"):
        choose_engine(spec, "batch")
    base = copy.deepcopy(BASE)
    base["analyses"] = {"qso_family": {}}
    with_an = parse_campaign({"name": "a", "base": base, "seed": 1, "vary": {"spacecraft.mass_kg": {"grid": [1, 2]}}})
    assert "analyses are enabled (qso_family)" == ensemble_reason(with_an)
    varied = parse_campaign({"name": "a", "base": BASE, "seed": 1,
                             "vary": {"analyses.landing.seed": {"grid": [1, 2]}}})
    assert "analyses.landing.seed" in ensemble_reason(varied)


def test_groups_split_on_what_changes_the_model():
    spec = parse_campaign({"name": "g", "base": BASE, "seed": 1, "samples": 3,
                           "vary": {"force_model.mars.degree": {"grid": [2, 4]},
                                    "spacecraft.cr": {"dist": "uniform", "low": 1.0, "high": 1.5},
                                    "initial_state.radial_semi_axis_km": {"dist": "uniform", "low": 30, "high": 80}}})
    keys = [group_key(spec, spec.inputs(i)[1]) for i in range(6)]
    assert keys[0] == keys[1] == keys[2] != keys[3] == keys[4] == keys[5]
    assert plan_chunks(spec, range(6)) == [[0, 1, 2], [3, 4, 5]]


def test_dask_tasks_of_ensembles_equal_the_synchronous_run(both, tmp_path):
    """On a Dask cluster each chunk of a group is one task (run_ensemble_samples); the table equals
    the in-process run's (same chunks, same lanes: bit-identical outputs)."""
    from dask.distributed import LocalCluster

    spec, ens, _ = both
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        res = run_campaign(spec, tmp_path / "d", scheduler=cluster.scheduler_address, progress=False)
    assert res.engine == "ensemble" and res.timings["tasks"] == res.timings["ensemble_chunks"] == 2
    strip = [{k: v for k, v in r.items() if k != "wall_s"} for r in res.table.to_pylist()]
    assert strip == [{k: v for k, v in r.items() if k != "wall_s"} for r in ens.table.to_pylist()]
