"""Sections of the mission legs (touchdown, sampling, windows, budget, Deimos, entry, planetary
protection): each equals its capability's own entry point (validated in its own tests)."""

from __future__ import annotations

import pytest

from mmxsim.scenario import ScenarioError, parse_scenario

BASE = {
    "name": "legs",
    "epoch": "2027-09-01T00:00:00",
    "duration_days": 0.05,
    "initial_state": {"type": "qso", "radial_semi_axis_km": 50},
    "force_model": {"phobos": {"model": "point_mass"}, "srp": {"enabled": False}},
}


def _section(block: dict):
    from mmxsim.analyses import registry

    s = parse_scenario({**BASE, "analyses": block})
    (name,) = block
    return registry()[name].run(getattr(s.analyses, name), s, None)


def test_sampling_and_planetary_protection_equal_their_entry_points():
    from mmxsim.science.planetary_protection import run_planetary_protection
    from mmxsim.surface.samplers import sampling_analysis

    sec = _section({"sampling": {"samples": 2000, "seed": 4}})
    ref = sampling_analysis(n=2000, seed=4)
    assert sec.data["monte_carlo"]["p_total_ge_threshold"] == ref["monte_carlo"]["p_total_ge_threshold"]
    assert len(sec.figures) == 2 and "P(total >= 10 g)" in sec.paragraphs[1]
    sec = _section({"planetary_protection": {"sample_mass_g": 30, "depth_cm": 10}})
    assert sec.data["probability"] == pytest.approx(run_planetary_protection(0.03, 0.10)[0]["probability"], rel=1e-12)


def test_windows_budget_deimos():
    from mmxsim.orbits.windows import launch_windows

    sec = _section({"windows": {"grid": 30}})
    ref = launch_windows(30)
    assert sec.data["outbound"]["optimum"]["c3_km2_s2"] == pytest.approx(ref["outbound"]["optimum"]["c3_km2_s2"])
    # the 2026 window: C3 of the order of 9 km^2/s^2 (docs/interplanetary.md: 9.18 on a 200 x 200 grid)
    assert 8.5 < sec.data["outbound"]["optimum"]["c3_km2_s2"] < 10.5
    sec = _section({"budget": {"grid": 30, "isp_s": 300}})
    rows = sec.tables[0].rows
    assert rows and sec.data["total_dv_m_s"] > 1000
    # rocket equation over the whole budget: m_final = m0 exp(-dv / (Isp g0)) with the same legs
    import math
    prop = sec.data["total_propellant_kg"]
    assert prop == pytest.approx(4000 * (1 - math.exp(-sec.data["total_dv_m_s"] / (300 * 9.80665))), rel=1e-9)
    sec = _section({"deimos": {"flybys_per_orbit": 2}})
    assert len(sec.tables[0].rows) == 4


def test_touchdown_section_and_bad_site():
    sec = _section({"touchdown": {"vertical_m_s": 0.3, "horizontal_m_s": 0.0, "hold_down_thrust_n": 88}})
    assert sec.data["nominal"]["status"] in ("settled", "tipped over", "left the surface", "running")
    assert "hold-down thrust 88 N" in sec.paragraphs[0]
    with pytest.raises(ScenarioError, match="site_lon_deg"):
        parse_scenario({**BASE, "analyses": {"touchdown": {"site_lat_deg": 10}}})


@pytest.mark.parametrize("block, where", [
    ({"windows": {"grid": 5}}, "analyses.windows.grid"),
    ({"entry": {"atmosphere": "jacchia"}}, "analyses.entry.atmosphere"),
    ({"deimos": {"first_flyby": "2030-13-01"}}, "analyses.deimos.first_flyby"),
    ({"planetary_protection": {"sample_mass_g": -1}}, "analyses.planetary_protection.sample_mass_g"),
])
def test_bad_values_name_the_field(block, where):
    with pytest.raises(ScenarioError) as e:
        parse_scenario({**BASE, "analyses": block})
    assert where in str(e.value)


def test_rover_section_equals_the_monte_carlo():
    from mmxsim.surface.rover import deploy_monte_carlo

    sec = _section({"rover": {"samples": 12, "seed": 2}})
    ref = deploy_monte_carlo(12, 2).summary()
    assert sec.data["settle_time_median_s"] == pytest.approx(ref["settle_time_median_s"], rel=1e-12)
    assert sec.data["ellipse_1sigma_m"] == pytest.approx(list(ref["ellipse_1sigma_m"]), rel=1e-12)
    assert len(sec.tables[1].rows) == 3
