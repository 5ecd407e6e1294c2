"""The ``transfer`` analysis' dispersion table: the assumed navigation error and, with ``navigation:
computed``, the od analysis' one beside it (as qso_campaign and landing do).

Cheap case: 60 -> 40 km QSOs, Phobos as a point mass; in the fast tests the optimiser is replaced by
its own result (phase 0.25 -> 0, 0.5 d: what optimal_transfer finds with the quick-look search) and the
computed error is stubbed (the wiring); the slow test runs both for real.
References: transfer_dispersion called directly (same transfer, same errors; to 1e-12)."""

from __future__ import annotations

import numpy as np
import pytest

from mmxsim.errors import InputError
from mmxsim.scenario import parse_scenario

BASE = {
    "name": "transfer-nav",
    "epoch": "2027-09-01T00:00:00",
    "duration_days": 0.05,
    "initial_state": {"type": "qso", "radial_semi_axis_km": 50},
    "force_model": {"phobos": {"model": "point_mass"}, "srp": {"enabled": False}},
}
CFG = {"from_size_km": 60, "to_size_km": 40, "degree": 0, "tof_max_days": 0.5, "search_points": 1}


@pytest.fixture
def fixed_transfer(monkeypatch):
    """optimal_transfer replaced by the transfer it returns for CFG (solved directly: 0.2 s, not 20 s)."""
    import mmxsim.orbits.transfers as T
    from mmxsim.orbits.qso import periodic_qso

    tr = T.two_impulse_transfer(periodic_qso(60.0, 0), periodic_qso(40.0, 0), 43200.0, 0.25, 0.0)
    monkeypatch.setattr(T, "optimal_transfer", lambda *a, **k: tr)
    return tr


def test_computed_navigation_is_shown_beside_the_assumed(monkeypatch, fixed_transfer):
    """navigation: computed adds a 'computed' row from analyses.od.navigation_error (stubbed here: 1 km,
    10 mm/s), its text in a paragraph and its data; the assumed row equals transfer_dispersion on the
    section's transfer (to 1e-12); a 100x larger knowledge error gives a larger arrival dispersion;
    dispersion_samples adds a nonlinear Monte Carlo row."""
    import mmxsim.analyses.od as od
    from mmxsim.analyses.transfer import transfer_section
    from mmxsim.orbits.transfers import TransferErrors, transfer_dispersion

    monkeypatch.setattr(od, "navigation_error", lambda scenario, ctx: (1000.0, 10.0, "stub (1 km, 10 mm/s)."))
    s = parse_scenario({**BASE, "analyses": {"transfer": {**CFG, "navigation": "computed",
                                                          "dispersion_samples": 20}}})
    sec = transfer_section(s.analyses.transfer, s, ctx=object())
    tab = sec.tables[1]
    assert [r[0] for r in tab.rows][0::2] == ["assumed", "computed"] and "Monte Carlo" in tab.rows[1][0]
    assert any(p.startswith("Computed navigation error") and "stub" in p for p in sec.paragraphs)
    a, c = sec.data["dispersion"], sec.data["dispersion_computed_navigation"]
    assert (a["nav_pos_m"], a["nav_vel_mm_s"]) == (10.0, 0.1) and (c["nav_pos_m"], c["nav_vel_mm_s"]) == (1000.0, 10.0)
    assert max(c["arrival_pos_sigma_m"]) > max(a["arrival_pos_sigma_m"])
    assert sec.data["dispersion_monte_carlo"]["samples"] == 20
    assert sec.data["dv_total_m_s"] == fixed_transfer.dv_total_m_s
    d = transfer_dispersion(fixed_transfer, TransferErrors(0.01, 1e-7, 0.01, np.radians(0.5)))
    assert np.allclose(a["arrival_pos_sigma_m"], d.arrival_pos_sigma_m, rtol=1e-12)
    assert a["correction_mean_mm_s"] == pytest.approx(d.correction_mean_km_s * 1e6, rel=1e-12)


def test_assumed_by_default_and_computed_needs_a_run(fixed_transfer):
    """Default: one 'assumed' row, no computed data. navigation: computed outside `mmxsim run` (no
    ctx): the same InputError as qso_campaign and landing, naming analyses.transfer.navigation."""
    from mmxsim.analyses.transfer import transfer_section

    s = parse_scenario({**BASE, "analyses": {"transfer": CFG}})
    sec = transfer_section(s.analyses.transfer, s)
    assert [r[0] for r in sec.tables[1].rows] == ["assumed"] and "dispersion_computed_navigation" not in sec.data
    s = parse_scenario({**BASE, "analyses": {"transfer": {**CFG, "navigation": "computed"}}})
    with pytest.raises(InputError, match="analyses.transfer.navigation"):
        transfer_section(s.analyses.transfer, s)


@pytest.mark.slow
def test_computed_navigation_in_a_run():
    """In `mmxsim run` with the od analysis in covariance mode, the transfer's computed row uses the
    same computed error as qso_campaign's station keeping (to 1e-9), smaller than the assumed 10 m."""
    from mmxsim.mission.runner import run_scenario

    s = parse_scenario({**BASE, "duration_days": 2.0,
                        "force_model": {"mars": {"degree": 2}, "phobos": {"model": "point_mass"},
                                        "third_bodies": ["SUN"]},
                        "propagation": {"output_step_s": 600}, "events": {"impact": "ellipsoid"},
                        "analyses": {"od": {"arc_days": 0.5, "mode": "covariance", "filter": False},
                                     "qso_campaign": {"degree": 2, "station_keeping_samples": 1,
                                                      "navigation": "computed"},
                                     "transfer": {**CFG, "navigation": "computed"}}})
    res = run_scenario(s)
    qc = next(x for x in res.sections if x.key == "qso_campaign").data["station_keeping_computed_navigation"]
    tr = next(x for x in res.sections if x.key == "transfer")
    comp = tr.data["dispersion_computed_navigation"]
    assert comp["nav_pos_m"] == pytest.approx(qc["nav_pos_m"], rel=1e-9)
    assert 0 < comp["nav_pos_m"] < tr.data["dispersion"]["nav_pos_m"]
    assert [r[0] for r in tr.tables[1].rows] == ["assumed", "computed"]
