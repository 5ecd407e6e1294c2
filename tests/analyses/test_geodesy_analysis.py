"""The ``geodesy`` analysis: its quick settings run in tens of seconds and give the section's tables,
figure and JSON data; its settings are validated.

References: the settings' bounds (pydantic), the section contract (docs/adding_an_analysis.md) and
the formal-covariance properties (σ below the a priori after tracking, cumulative σ at most each QSO's).
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from pydantic import ValidationError

from mmxsim.analyses.geodesy import ANALYSIS, GeodesyAnalysis, geodesy_section, quick
from mmxsim.scenario import parse_scenario

SCENARIO = {"name": "geodesy-test", "epoch": "2027-09-01T00:00:00", "duration_days": 1.0,
            "initial_state": {"type": "qso", "radial_semi_axis_km": 50}}


@pytest.fixture(scope="module")
def section():
    cfg = GeodesyAnalysis()
    cfg = cfg.model_copy(update=quick(cfg))
    t = time.perf_counter()
    sec = geodesy_section(cfg, parse_scenario(SCENARIO), None)
    return sec, time.perf_counter() - t


def test_quick_run_has_the_tables_figure_and_data(section):
    """Quick settings (QSO-H and QSO-LB, one day each, degree 2, 24 images of 30 landmarks a day, LIDAR
    every 2 min); the section has the σ table (a priori, per QSO, cumulative), the
    days-to-0.1 % table, the interior table, a PNG figure and JSON-ready data; C̄22's cumulative σ is
    below its a priori and at most each QSO's own (1e-12 slack); landmarks at least halve the libration's
    σ of Doppler alone and LIDAR does not raise it; reference: the section contract and the formal
    covariance (information only adds)."""
    sec, _ = section
    caps = [t.caption for t in sec.tables]
    assert any(c.startswith("Formal 1σ") for c in caps)
    assert any(c.startswith("Days each QSO") for c in caps)
    assert any(c.startswith("Interior consequence") for c in caps)
    sig = next(t for t in sec.tables if t.caption.startswith("Formal 1σ"))
    assert [r[1] for r in sig.rows] == 3 * ["a priori", "QSO-H alone", "QSO-LB alone", "cumulative to QSO-H",
                                            "cumulative to QSO-LB"]  # per combination
    assert len(sec.figures) == 1 and sec.figures[0][1][:4] == b"\x89PNG"
    d = json.loads(json.dumps(sec.data))
    assert d["qsos"] == ["QSO-H", "QSO-LB"]
    assert d["combinations"] == ["doppler", "doppler+landmarks", "doppler+landmarks+lidar"]
    rows = d["setup"]["surface"]["rows"]
    assert rows["landmark"] > 100 and rows["lidar"] > 50
    assert any(t.caption.startswith("Published Phobos geodesy results") for t in sec.tables)
    assert set(d["campaign_days_to_threshold"]) == set(d["combinations"])
    jl = d["parameters"].index("phobos:libration")
    lib = {c: d["final_sigma"][c]["phobos:libration"] for c in d["combinations"]}
    assert lib["doppler+landmarks"] < 0.5 * lib["doppler"] and lib["doppler+landmarks+lidar"] <= lib[
        "doppler+landmarks"] * (1 + 1e-9) and lib["doppler"] <= d["apriori_sigma"][jl] * (1 + 1e-12)
    j = d["parameters"].index("phobos:C22")
    final = d["final_sigma"]["doppler"]["phobos:C22"]
    assert final < 0.5 * d["apriori_sigma"][j]
    for q in d["qsos"]:
        assert final <= d["sigma_per_qso"]["doppler"][q]["final"][j] * (1 + 1e-12)
    assert d["interior"]["doppler"]["sigma_C_MR2"] > 0
    assert d["setup"]["analysis"]["tracks"] >= 2
    assert isinstance(ANALYSIS.warnings(sec), list)


def test_settings_are_validated():
    """Out-of-range or repeated settings are refused by the schema (reference: the Field bounds)."""
    for bad in ({"degree": 9}, {"degree": 1}, {"days_per_qso": 0}, {"arc_days": 0.1}, {"qsos": ()},
                {"qsos": ("QSO-H", "QSO-H")}, {"qsos": ("QSO-X",)}, {"tracking": {"hours_per_day": 0}},
                {"apriori": {"field_sigma": -1}}, {"combinations": ("radar",)}, {"unknown": 1},
                {"surface": {"lidar_hz": 5}}, {"surface": {"camera": "NAVCAM"}}, {"surface": {"landmarks": 0}}):
        with pytest.raises(ValidationError):
            GeodesyAnalysis(**bad)
    assert np.isclose(GeodesyAnalysis().apriori.libration_deg, 0.03)
    assert "QSO-LC" not in GeodesyAnalysis().qsos


@pytest.mark.slow
def test_booked_tracks_give_more_data_than_the_daily_plan():
    """``tracking.tracks: booked`` (the comms planner's bookings for Phobos' position) runs and books
    more tracking hours than the 8-h daily plan over the same day, so C̄22's σ is smaller (reference:
    information only adds; the planner books near-continuous tracking)."""
    s = parse_scenario(SCENARIO)
    base = GeodesyAnalysis(qsos=("QSO-LB",), days_per_qso=1.0, degree=2)
    out = {}
    for kind in ("daily", "booked"):
        cfg = base.model_copy(update={"tracking": base.tracking.model_copy(update={"tracks": kind})})
        d = geodesy_section(cfg, s, None).data
        out[kind] = (d["setup"]["analysis"]["tracking_hours"], d["final_sigma"]["doppler"]["phobos:C22"])
    assert out["booked"][0] > out["daily"][0] and out["booked"][1] < out["daily"][1], out


def test_monte_carlo_of_an_arc_in_the_section():
    """``monte_carlo.runs``: the full estimation of the first hours of a QSO repeated with the truth drawn
    from the a priori and noisy radio, landmark and LIDAR data; the section shows the normalised-error
    table of Phobos' parameters and the Monte Carlo figure, and its data the runs (reference: the
    MonteCarloResult bookkeeping, z = (estimate - truth) / sigma, checked on its own in
    tests/navigation/test_montecarlo.py)."""
    cfg = GeodesyAnalysis(qsos=("QSO-LB",), days_per_qso=0.25, arc_days=0.25, degree=2,
                          combinations=("doppler", "doppler+landmarks+lidar"),
                          surface={"images_per_day": 48, "landmarks": 30, "lidar_hz": 1 / 120.0},
                          monte_carlo={"runs": 3, "hours": 3.0, "degree": 2})
    sec = geodesy_section(cfg, parse_scenario(SCENARIO), None)
    t = next(t for t in sec.tables if t.caption.startswith("Monte Carlo of the full estimation"))
    assert {r[0] for r in t.rows} >= {"Phobos C\u0304" + "20", "Phobos C\u0304" + "22", "Phobos libration"}
    assert all(r[0].startswith("Phobos ") for r in t.rows)
    assert len(sec.figures) == 2 and sec.figures[1][1][:4] == b"\x89PNG"
    mc = json.loads(json.dumps(sec.data))["monte_carlo"]
    assert mc["runs"] == 3 and mc["setup"]["rows"]["landmark"] > 0 and mc["setup"]["rows"]["lidar"] > 0
    z = (np.array(mc["estimate"]) - np.array(mc["truth"])) / np.array(mc["sigma"])
    assert np.all(np.isfinite(z)) and np.max(np.abs(z)) < 6


def test_origin_takes_its_interior_from_the_run_geodesy():
    """With the geodesy analysis enabled, the origin section's interior table gains the separation
    computed with the run's geodesy covariance (GM, C̄20, C̄22, libration of the richest combination), the
    covariance is computed once (the geodesy section reuses it through ``ctx``: the same object), and
    its σ are those of the geodesy section's covariance (reference: the shared result; 0 difference). The
    origin section does not run the geodesy Monte Carlo (it does not show it): the geodesy section's call
    runs it once, into the same result."""
    from mmxsim.analyses.geodesy import geodesy_result, interior_covariance
    from mmxsim.analyses.origin import origin_section

    s = parse_scenario({**SCENARIO, "analyses": {
        "origin": {"trials": 100, "errors_pct": [10, 30]},
        "geodesy": {"qsos": ["QSO-LB"], "days_per_qso": 0.25, "arc_days": 0.25, "degree": 2,
                    "combinations": ["doppler", "doppler+landmarks"],
                    "surface": {"images_per_day": 48, "landmarks": 30, "lidar_hz": 0},
                    "monte_carlo": {"runs": 2, "hours": 1.0, "combination": "doppler+landmarks"}}}})
    ctx = {}
    sec = origin_section(s.analyses.origin, s, ctx)
    res = ctx["geodesy"][1]
    assert res.monte_carlo is None and "monte_carlo_s" not in res.timings
    assert geodesy_result(s.analyses.geodesy, s, ctx) is res
    mc = res.monte_carlo
    assert mc is not None and mc.n_runs == 2 and "monte_carlo_s" in res.timings
    assert geodesy_result(s.analyses.geodesy, s, ctx).monte_carlo is mc  # run once
    t = next(t for t in sec.tables if t.caption.startswith("Which interior families"))
    assert "Distance, computed" in t.header and "the geodesy analysis of this run" in t.caption
    d = sec.data["interior"]
    P, comb = interior_covariance(res)
    assert comb == "doppler+landmarks"
    assert np.allclose(d["computed_sigma"], np.sqrt(np.diag(P)), rtol=0, atol=0)
    assert 0 <= d["separated_computed"] <= d["pairs"]
