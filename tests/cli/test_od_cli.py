"""``mmxsim od`` in operations mode, end to end (typer's CliRunner, in process).

Case: a scenario (epoch 2027-09-01 UTC, a 12,000 km, e = 0.05, i = 30 deg Mars orbit in ICRF
elements, Mars J2 only, no Phobos, no third bodies, no SRP; od block: state only, a priori 1 km and
100 mm/s per axis). The truth is that a priori plus (600, -400, 300) m and (40, -30, 20) mm/s; its
two-way range (every 30 min) and Doppler (60 s count, every 10 min) from DSS-14, DSS-63 and DSS-43
over 2-13 h after the epoch, above 10 deg, simulated with mmxsim's own model and noise (1 m,
0.1 mm/s: the od block's defaults, which the command applies to TDM files without noise), written
with navigation.tdm.save_tdm (UTC tags). Reference for "right": the truth, within 3 sigma of the
formal covariance per component.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from mmxsim.cli import app

runner = CliRunner()

SCENARIO = {
    "name": "od-operations-test",
    "epoch": "2027-09-01T00:00:00",
    "duration_days": 1,
    "initial_state": {"type": "keplerian", "frame": "ICRF", "a_km": 12000, "e": 0.05, "i_deg": 30,
                      "raan_deg": 20, "argp_deg": 10, "true_anomaly_deg": 40},
    "force_model": {"mars": {"degree": 2}, "phobos": {"model": "none"}, "third_bodies": [],
                    "srp": {"enabled": False}},
    "events": {"impact": "none"},
    "analyses": {"od": {"estimate": [], "apriori": {"position_m": 1000, "velocity_mm_s": 100}}},
}
OFFSET = np.array([0.6, -0.4, 0.3, 4e-5, -3e-5, 2e-5])  # truth - a priori, km and km/s


@pytest.fixture(scope="module")
def tracking(tmp_path_factory):
    """(scenario path, TDM path, truth state, TDM path with an unknown station)."""
    from mmxsim.analyses._navigation import ground_stations, measurement_settings, od_model
    from mmxsim.analyses.od import OdAnalysis
    from mmxsim.mission.runner import body_orientation, build_model, initial_state
    from mmxsim.navigation.measurements import elevation_mask
    from mmxsim.navigation.od import OrbitProblem, simulate
    from mmxsim.navigation.schedule import ScheduleSettings, Track, schedule
    from mmxsim.navigation.tdm import save_tdm
    from mmxsim.scenario import load_scenario

    d = tmp_path_factory.mktemp("od_cli")
    path = d / "scenario.yaml"
    path.write_text(yaml.safe_dump(SCENARIO), encoding="utf-8")
    s = load_scenario(path)
    model0, eph = build_model(s)
    t0 = float(s.t0_tdb)
    x_apriori = initial_state(s, t0, eph, body_orientation(model0.rotation_pck))
    x_true = x_apriori + OFFSET
    model = od_model(model0, False, False)
    names = ("DSS-14", "DSS-63", "DSS-43")
    t1 = t0 + 14 * 3600.0
    stations, _ = ground_stations(names, eph, t0, t1)
    rows = schedule([Track(n, t0 + 7200.0, t0 + 13 * 3600.0, k) for k, n in enumerate(names)],
                    ScheduleSettings(doppler_interval_s=600.0, range_interval_s=1800.0))
    cfg = OdAnalysis()
    prob = OrbitProblem(model, t0, t1, rows, stations, list(x_true), settings=measurement_settings(cfg),
                        ephemeris=eph, elevation_mask_deg=None)
    _, comp, _ = prob.computed(prob.p0)
    rows = rows.select(elevation_mask(comp, 10.0))
    prob = OrbitProblem(model, t0, t1, rows, stations, list(x_true), settings=measurement_settings(cfg),
                        ephemeris=eph)
    data = simulate(prob, prob.p0, seed=11)
    tdm = save_tdm(d / "passes.tdm", data)
    bad = d / "unknown_station.tdm"
    bad.write_text(tdm.read_text(encoding="ascii").replace("DSS-43", "DSS-99"), encoding="ascii")
    return path, tdm, x_true, bad, len(rows)


def test_od_operations_end_to_end(tracking, tmp_path):
    """`mmxsim od scenario.yaml --tdm passes.tdm --out dir`: exit 0, converged; od_estimate.json (every
    observation used, the estimate within 3 sigma of the truth per component, sigmas below half the
    a priori), od_residuals.csv (one line per observation, post-fit RMS / sigma within 0.7..1.3),
    od_residuals.png (a PNG), od_trajectory.oem (CCSDS OEM with covariance blocks)."""
    scen, tdm, x_true, _, m = tracking
    out = tmp_path / "od"
    res = runner.invoke(app, ["od", str(scen), "--tdm", str(tdm), "--out", str(out), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert "converged" in res.stderr and "epoch 2027-09-01T00:00:00.000 UTC (2027-09-01T00:01:09.18" in res.stderr
    est = json.loads((out / "od_estimate.json").read_text())
    printed = json.loads(res.stdout)  # --format json: the estimate on stdout, with the epoch in UTC and TDB
    assert printed["estimate"] == est["estimate"] and printed["sigma"] == est["sigma"]
    assert printed["epoch_utc"] == "2027-09-01T00:00:00.000" and printed["epoch_tdb"].startswith("2027-09-01T00:01:09")
    assert printed["units"] == {"x": "km", "y": "km", "z": "km", "vx": "km/s", "vy": "km/s", "vz": "km/s"}
    assert est["converged"] and est["observations"] == m
    assert est["names"] == ["x", "y", "z", "vx", "vy", "vz"]
    e, s = np.array(est["estimate"]), np.array(est["sigma"])
    z = (e - x_true) / s
    print("estimate - truth in sigma:", np.round(z, 2), "sigma (m, mm/s):", s[:3] * 1e3, s[3:] * 1e6)
    assert np.all(np.abs(z) < 3), z
    assert np.all(s[:3] < 0.5) and np.all(s[3:] < 5e-5)  # half the a priori (1 km, 100 mm/s): the data did work
    lines = (out / "od_residuals.csv").read_text().strip().splitlines()
    assert lines[0].startswith("epoch_tdb_s,station") and len(lines) == m + 1
    cols = np.array([ln.split(",") for ln in lines[1:]])
    ratio = np.sqrt(np.mean((cols[:, 5].astype(float) / cols[:, 6].astype(float)) ** 2))
    assert 0.7 < ratio < 1.3, ratio
    assert (out / "od_residuals.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    oem = (out / "od_trajectory.oem").read_text()
    assert "CCSDS_OEM_VERS" in oem and "COVARIANCE_START" in oem and "COVARIANCE_STOP" in oem


def test_od_csv(tracking, tmp_path):
    """--format csv: a header and one row per estimated parameter (estimate and sigma unrounded, the
    unit and the epoch in UTC and TDB)."""
    import csv
    import io

    scen, tdm, x_true, _, _ = tracking
    res = runner.invoke(app, ["od", str(scen), "--tdm", str(tdm), "--out", str(tmp_path / "od"), "--format", "csv"])
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert [r["parameter"] for r in rows] == ["x", "y", "z", "vx", "vy", "vz"]
    assert {r["epoch_utc"] for r in rows} == {"2027-09-01T00:00:00.000"}
    est = json.loads((tmp_path / "od" / "od_estimate.json").read_text())
    assert [float(r["estimate"]) for r in rows] == est["estimate"]  # unrounded: the same floats
    assert [float(r["sigma"]) for r in rows] == est["sigma"]


def test_od_unknown_station_exits_2(tracking, tmp_path):
    """A TDM naming a station that is not in the catalogue -> exit 2 and a message naming it (no
    traceback), nothing written."""
    scen, _, _, bad, _ = tracking
    out = tmp_path / "od"
    res = runner.invoke(app, ["od", str(scen), "--tdm", str(bad), "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "DSS-99" in res.output and "Traceback" not in res.output
    assert not (out / "od_estimate.json").exists()


def test_od_diverging_estimate_exits_non_zero(tracking, tmp_path):
    """An a priori state 4000 km off the truth (the scenario's orbit with a = 8000 km instead of
    12,000) with a wide a priori: the batch diverges; the command says so and exits 2 (never exit 0
    with a silent result)."""
    scen, tdm, _, _, _ = tracking
    data = yaml.safe_load(scen.read_text())
    data["initial_state"]["a_km"] = 8000
    data["analyses"]["od"]["apriori"] = {"position_m": 1e7, "velocity_mm_s": 1e6}
    far = tmp_path / "far.yaml"
    far.write_text(yaml.safe_dump(data), encoding="utf-8")
    res = runner.invoke(app, ["od", str(far), "--tdm", str(tdm), "--out", str(tmp_path / "od")])
    print(res.output)
    assert res.exit_code != 0
    assert res.exit_code in (1, 2)
    assert ("diverged" in res.output or "non-finite" in res.output or "NOT converged" in res.output)


def test_od_analysis_runs_with_the_elevation_check(tracking, tmp_path):
    """The od analysis (mmxsim run) on the same orbit, half a day, visible tracks of three stations:
    exit 0; the report's od section counts range, Doppler and ΔDOR rows; the TDM of the data is
    written. Guards the analysis' set-up, which drops rows below the horizon before the problem's
    own elevation check (OrbitProblem.elevation_mask_deg) runs at its first computation."""
    scen, _, _, _, _ = tracking
    data = yaml.safe_load(scen.read_text())
    data["analyses"] = {"od": {"arc_days": 0.5, "estimate": ["range_bias"], "stations": ["DSS-14", "DSS-63", "DSS-43"],
                               "tracking": {"doppler_interval_s": 600, "ddor_interval_s": 3600}}}
    path = tmp_path / "analysis.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    out = tmp_path / "run"
    res = runner.invoke(app, ["run", str(path), "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    od = json.loads((out / "summary.json").read_text())["analyses"]["od"]
    assert od["counts"]["range"] > 10 and od["counts"]["doppler"] > 10
    assert (out / "od_tracking.tdm").read_text().startswith("CCSDS_TDM_VERS")
