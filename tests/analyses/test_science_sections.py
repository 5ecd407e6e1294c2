"""Science sections of a run: MEGANE along the trajectory and the origin verdict, wired to the
instrument and inference modules (each validated in its own tests)."""

from __future__ import annotations

import numpy as np
import pytest

from mmxsim.scenario import ScenarioError, parse_scenario

BASE = {
    "name": "science",
    "epoch": "2027-09-01T00:00:00",
    "duration_days": 0.25,
    "initial_state": {"type": "qso", "radial_semi_axis_km": 50},
    "force_model": {"phobos": {"model": "point_mass"}, "srp": {"enabled": False}},
}


@pytest.fixture(scope="module")
def run():
    from mmxsim.mission.runner import run_scenario

    s = parse_scenario({**BASE, "duration_days": 1.0, "analyses": {"megane": {"step_s": 1200, "seed": 3},
                                             "mirs": {"step_s": 600},
                                             "observation": {"step_s": 1200, "instruments": ["OROCHI", "LIDAR"]},
                                             "origin": {"trials": 200, "plan": [{"size_km": 50, "hours": 400}, {"size_km": 20, "hours": 800}]}}})
    return s, run_scenario(s)


def test_megane_section_matches_direct_call(run):
    """The section's rates and predicted errors equal megane_along on the run's Phobos-fixed
    geometry; the precision table follows the 1/p^2 law of counting statistics."""
    from mmxsim.bodies.shapes import phobos_shape
    from mmxsim.instruments.megane import megane_along
    from mmxsim.analyses import phobos_fixed_geometry

    s, res = run
    sec = next(x for x in res.sections if x.key == "megane")
    ctx = {"t": res.trajectory.t, "states": res.trajectory.states, "phobos_fixed": res.phobos_fixed.states}
    t, sc, _sun, mars = phobos_fixed_geometry(ctx, 1200.0, "megane")
    dm = np.linalg.norm(mars, axis=1)
    # Mars at Phobos' orbital distance (a = 9376 km, e = 0.0151), near the +x (sub-Mars) axis
    assert np.all(np.linalg.norm(sc, axis=1) > 20.0) and np.all((9230 < dm) & (dm < 9520))
    assert np.all(mars[:, 0] / dm > 0.99)
    direct = megane_along(phobos_shape("thomas3k"), t, sc, "CI", mars_pos_km=mars, rng=np.random.default_rng(3))
    for el, v in direct.relative_sigma.items():
        assert sec.data["relative_sigma"][el] == pytest.approx(v, rel=1e-12)
    ph = sec.data["precision_hours"]["20"]["Fe"]
    assert ph["10"] / ph["20"] == pytest.approx(4.0, rel=1e-9)
    assert ph["20"] / ph["30"] == pytest.approx(2.25, rel=1e-9)
    # closer is faster: 20 km needs fewer hours than 100 km for every element
    assert all(sec.data["precision_hours"]["20"][e]["20"] < sec.data["precision_hours"]["100"][e]["20"]
               for e in ("Fe", "Si", "O", "Mg"))


def test_origin_section_combines_qso_errors_and_decides(run):
    """Errors from several QSOs combine by inverse variance; a captured CM Phobos measured with
    the planned MEGANE time is classified as captured."""
    from mmxsim.bodies.shapes import phobos_shape
    from mmxsim.instruments.megane import relative_errors
    from mmxsim.analyses.origin import true_composition

    s, res = run
    sec = next(x for x in res.sections if x.key == "origin")
    truth = true_composition("CM", 0.0)
    shape = phobos_shape("thomas3k")
    a, b = relative_errors(shape, 50, 400, truth), relative_errors(shape, 20, 800, truth)
    for e, sg in sec.data["sigma"].items():
        assert sg == pytest.approx((a[e] ** -2 + b[e] ** -2) ** -0.5, rel=1e-12)
    assert sec.data["winner"] == "capture"
    assert sum(sec.data["posteriors"].values()) == pytest.approx(1.0, abs=1e-12)
    assert sec.data["accuracy"][0] > sec.data["accuracy"][-1]


def test_true_composition_mixes_and_depletes_k():
    from mmxsim.analyses.origin import true_composition
    from mmxsim.science.origin import end_members

    em = end_members()
    c = true_composition("CI", 0.4)
    assert c["Fe"] == pytest.approx(0.4 * em["BSM-YM20"].composition["Fe"] + 0.6 * em["CI"].composition["Fe"])
    k = 0.4 * em["BSM-YM20"].composition["K"] + 0.6 * em["CI"].composition["K"]
    assert c["K"] == pytest.approx(0.1 * k)


def test_origin_verdict_follows_a_giant_impact_truth():
    from mmxsim.analyses.origin import origin_section

    s = parse_scenario({**BASE, "analyses": {"origin": {"asteroid": "CI", "mars_fraction": 0.7, "trials": 100,
                                                        "errors_pct": [10, 30]}}})
    sec = origin_section(s.analyses.origin, s)
    assert sec.data["winner"] == "giant_impact" and sec.data["confidence"] > 0.9


@pytest.mark.parametrize("block, where", [
    ({"origin": {"plan": [{"size_km": 5, "hours": 100}]}}, "analyses.origin.plan[0].size_km"),
    ({"origin": {"mars_fraction": 1.5}}, "analyses.origin.mars_fraction"),
    ({"megane": {"targets_pct": [0]}}, "analyses.megane.targets_pct"),
    ({"megane": {"composition": "XX"}}, "analyses.megane.composition"),
    ({"observation": {"instruments": ["HRSC"]}}, "analyses.observation.instruments[0]"),
    ({"observation": {"gsd_m": [-1]}}, "analyses.observation.gsd_m[0]"),
])
def test_science_blocks_reject_bad_values(block, where):
    with pytest.raises(ScenarioError) as e:
        parse_scenario({**BASE, "analyses": block})
    assert where in str(e.value), str(e.value)


def test_error_line_lookup_terminates_on_union_paths():
    """A pydantic union path segment such as ``literal['A','B']`` once made the line lookup loop."""
    e = ScenarioError("<x>", [("a.b.literal['A','B']", 1, "got 1")], {"a": 3})
    assert e._line_of("a.b.literal['A','B']") == 3
    assert e._line_of("zz.dict[str,float]") is None


def test_mirs_section_matches_direct_call(run):
    """Coverage fractions of the section equal mirs_along on the same geometry, and grow with
    the resolution threshold; the reference SNR meets the published > 100 at 3.2 um in 2 s."""
    from mmxsim.bodies.shapes import phobos_shape
    from mmxsim.instruments.mirs import mirs_along
    from mmxsim.analyses import phobos_fixed_geometry

    s, res = run
    sec = next(x for x in res.sections if x.key == "mirs")
    ctx = {"t": res.trajectory.t, "states": res.trajectory.states, "phobos_fixed": res.phobos_fixed.states}
    t, sc, sun, mars = phobos_fixed_geometry(ctx, 600.0, "mirs")
    direct = mirs_along(phobos_shape("thomas3k"), t, sc, sun, surface="phobos_hydrated", mars_pos_km=mars)
    fr = direct.summary()["coverage_fraction"]
    assert sec.data["coverage_fraction"] == pytest.approx(fr, rel=1e-12)
    v = list(fr.values())
    assert v == sorted(v) and v[-1] > 0
    assert sec.data["reference_snr_reflected_3p2um"] > 100


def test_observation_section_matches_plan_coverage(run):
    """Camera coverage and LIDAR availability equal plan_coverage on the same geometry; from a
    50 km QSO OROCHI (1 mrad) sees Phobos at 30-100 m/pixel, the LIDAR ranges all the time."""
    from mmxsim.bodies.shapes import phobos_shape
    from mmxsim.instruments.planning import plan_coverage
    from mmxsim.analyses import phobos_fixed_geometry

    s, res = run
    sec = next(x for x in res.sections if x.key == "observation")
    ctx = {"t": res.trajectory.t, "states": res.trajectory.states, "phobos_fixed": res.phobos_fixed.states}
    t, sc, sun, mars = phobos_fixed_geometry(ctx, 1200.0, "observation")
    plan = plan_coverage(phobos_shape("thomas3k"), t, sc, sun, mars, instruments=("OROCHI", "LIDAR"),
                         gsd_levels_m=(0.3, 1.0, 3.0, 10.0, 30.0, 100.0))
    d = sec.data["instruments"]
    assert d["OROCHI"]["fraction"] == pytest.approx(plan.summary()["OROCHI"]["fraction"], rel=1e-12)
    fr = d["OROCHI"]["fraction"]
    assert fr[10.0] == 0.0 and fr[100.0] > 0.1 and d["OROCHI"]["fraction_any"] >= fr[100.0]
    assert d["LIDAR"]["fraction_available"] == 1.0


def test_science_windows_are_the_runs_of_observing_epochs():
    from mmxsim.analyses import science_windows

    t = np.arange(8) * 600.0
    ev = science_windows(t, [0, 1, 1, 0, 1, 0, 1, 1], 600.0, "x", "y")
    assert [(e.start, e.stop) for e in ev] == [(600.0, 1200.0), (2400.0, 2400.0), (3600.0, 4200.0)]
    assert science_windows(t, np.zeros(8), 600.0, "x", "y") == []


def test_mirs_windows_enter_the_event_list(run):
    from mmxsim.mission.timeline import run_events

    s, res = run
    sci = [e for e in run_events(res) if e.kind == "science"]
    assert sci and all(e.stop >= e.start for e in sci)
