"""Validation of mmxsim.earth_return.targeting.

Independent references: vis-viva and angular-momentum conservation (closed forms), a numerical
two-body propagation (scipy DOP853) of the entry state back to the incoming asymptote, and the
entry model itself for the landing point.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from mmxsim.earth_return import entry as en
from mmxsim.earth_return import targeting as tg
from mmxsim.errors import InputError

MU = en.GM_WGS84
DEC, RA = math.radians(-20.0), math.radians(60.0)
VINF = 4.78 * np.array([math.cos(DEC) * math.cos(RA), math.cos(DEC) * math.sin(RA), math.sin(DEC)])
R_EI = en.A_WGS84 + 200.0


def test_hyperbola_state_closed_forms():
    b = tg.b_magnitude_for_fpa(4.78, -12.0, R_EI)
    for th in (0.3, 2.0, 4.5):
        r, v, fpa, tp = tg.hyperbola_state_at_radius(VINF, b * math.cos(th), b * math.sin(th), R_EI)
        assert np.linalg.norm(r) == pytest.approx(R_EI, rel=1e-13)
        assert float(v @ v) == pytest.approx(4.78 ** 2 + 2 * MU / R_EI, rel=1e-13)  # vis-viva
        assert np.linalg.norm(np.cross(r, v)) == pytest.approx(b * 4.78, rel=1e-13)  # h = b v_inf
        assert fpa == pytest.approx(-12.0, abs=1e-10)
        assert math.degrees(math.asin(float(r @ v) / (R_EI * np.linalg.norm(v)))) == pytest.approx(-12.0, abs=1e-10)
        assert tp > 0


def test_backward_propagation_recovers_asymptote_and_bplane():
    """Propagate the entry state backwards (two-body, numerically) to 2e7 km: the velocity tends to
    v_inf and the position's offset from the asymptote line through the Earth tends to B."""
    bt, br = 9000.0, -4000.0
    r, v, _, _ = tg.hyperbola_state_at_radius(VINF, bt, br, R_EI)

    def f(t, y):
        rr = y[:3]
        return np.concatenate([y[3:], -MU * rr / np.linalg.norm(rr) ** 3])

    def far(t, y):
        return np.linalg.norm(y[:3]) - 2e7
    far.terminal = True
    sol = solve_ivp(f, (0, -1e9), np.concatenate([r, v]), method="DOP853", rtol=1e-12, atol=1e-9, events=far)
    y = sol.y[:, -1]
    s, t, rvec = tg.bplane_frame(VINF)
    assert np.linalg.norm(y[3:] - VINF) / 4.78 < 2e-3  # residual bending ~ mu / (r v_inf^2)
    off = y[:3] - float(y[:3] @ s) * s
    assert float(off @ t) == pytest.approx(bt, rel=2e-3)
    assert float(off @ rvec) == pytest.approx(br, rel=2e-3)


def test_target_landing_woomera():
    """Solve B.T, B.R and the arrival time shift to land on the WPA nominal coordinate with -12 deg."""
    res = tg.target_landing(VINF, 9.8e8, *en.WPA_NOMINAL, fpa_deg=-12.0, n_scan=8, rtol=1e-7)
    assert res.miss_km < 0.1
    assert res.fpa_deg == pytest.approx(-12.0, abs=1e-8)
    assert math.hypot(res.b_t_km, res.b_r_km) == pytest.approx(tg.b_magnitude_for_fpa(4.78, -12.0, R_EI), rel=1e-12)
    # the interface state really comes from that aim point and epoch
    e2 = tg.entry_state_from_bplane(VINF, res.b_t_km, res.b_r_km, res.t_ei_tdb)
    assert e2.lat_deg == pytest.approx(res.entry.lat_deg, abs=1e-12)
    s = res.trajectory.summary
    assert s["landing_lat_deg"] == pytest.approx(en.WPA_NOMINAL[0], abs=1e-3)


def test_bad_targeting_inputs():
    with pytest.raises(InputError):
        tg.b_magnitude_for_fpa(4.78, 5.0, R_EI)
    with pytest.raises(InputError, match="periapsis"):
        tg.hyperbola_state_at_radius(VINF, 20000.0, 0.0, R_EI)  # misses the interface
    with pytest.raises(InputError):
        tg.bplane_frame([0.0, 0.0, 0.0])
    with pytest.raises(InputError):
        tg.bplane_frame([0.0, 0.0, 4.0])  # along the pole: T undefined
    # a grazing aim point enters so shallowly that the capsule skips out
    b = tg.b_magnitude_for_fpa(4.78, -2.0, R_EI)
    e = tg.entry_state_from_bplane(VINF, b, 0.0, 9.8e8)
    with pytest.raises(InputError, match="skips out"):
        en.simulate_entry(e)
