"""Porkchop maps on DE421: consistency with pykep's Lambert solver on the same ephemeris,
resolution of the grid minimum, geometry, marked points and bad inputs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from mmxsim.bodies import GM_SUN
from mmxsim.ephemeris import default_ephemeris
from mmxsim.errors import InputError
from mmxsim.orbits import lambert as L
from mmxsim.orbits import windows as W

DAY = 86400.0


@pytest.fixture(scope="module")
def pc2026():
    return W.earth_mars_2026(n_dep=90, n_arr=90)


def _c3(eph, td, ta):
    xe = eph.state("EARTH", "SUN", td)
    xm = eph.state("MARS", "SUN", ta)
    v1, _ = L.lambert(GM_SUN, xe[:3], xm[:3], ta - td)
    return float(np.sum((v1 - xe[3:]) ** 2))


def test_minimum_c3_2026_is_resolved(pc2026):
    """The grid minimum (90 x 90, 2 d x 5 d spacing) is within 2 % of the continuous minimum
    found by Nelder-Mead from it (measured: 0.1 %). A published 2026 value is not available
    in the project's sources (docs/interplanetary.md), so the 2 % check is against this
    refined minimum and against pykep below."""
    eph = default_ephemeris()
    p = pc2026.marks["optimum"]
    d0, a0 = p["departure_tdb_s"], p["arrival_tdb_s"]
    res = minimize(lambda z: _c3(eph, d0 + z[0] * DAY, a0 + z[1] * DAY), [0.0, 0.0], method="Nelder-Mead",
                   options={"xatol": 1e-3, "fatol": 1e-9, "initial_simplex": [[0, 0], [3, 0], [0, 6]]})
    print("grid min", p["c3_km2_s2"], "refined", res.fun, res.x)
    assert abs(p["c3_km2_s2"] - res.fun) / res.fun < 0.02
    assert p["c3_km2_s2"] >= res.fun - 1e-9
    # physical range of Earth-Mars minimum-energy windows (C3 ~ 8-16 km^2/s^2), Oct-Nov 2026
    assert 7.0 < res.fun < 12.0
    assert "2026-10" <= p["departure_date"] <= "2026-11-30"


def test_porkchop_against_pykep_same_ephemeris(pc2026):
    """Independent computation: pykep's Lambert solver (optional) on the same DE421 states over
    a 25 x 25 sub-grid: C3 and arrival v-infinity agree to 1e-8 relative, and the minima agree
    to far better than 2 %."""
    pk = pytest.importorskip("pykep")
    eph = default_ephemeris()
    idx_d = np.arange(0, pc2026.t_dep.size, 4)
    idx_a = np.arange(0, pc2026.t_arr.size, 4)
    worst = 0.0
    best_ours, best_ref = np.inf, np.inf
    for i in idx_d:
        xe = eph.state("EARTH", "SUN", pc2026.t_dep[i])
        for j in idx_a:
            if not np.isfinite(pc2026.c3[i, j]):
                continue
            xm = eph.state("MARS", "SUN", pc2026.t_arr[j])
            lp = pk.lambert_problem(r0=xe[:3], r1=xm[:3], tof=float(pc2026.t_arr[j] - pc2026.t_dep[i]), mu=GM_SUN)
            c3 = float(np.sum((np.array(lp.v0[0]) - xe[3:]) ** 2))
            va = float(np.linalg.norm(np.array(lp.v1[0]) - xm[3:]))
            worst = max(worst, abs(c3 - pc2026.c3[i, j]) / c3, abs(va - pc2026.vinf_arr[i, j]) / va)
            best_ours = min(best_ours, pc2026.c3[i, j])
            best_ref = min(best_ref, c3)
    print("pykep porkchop: worst relative difference", worst, "min C3 ours/pykep", best_ours, best_ref)
    assert worst < 1e-8, worst
    assert abs(best_ours - best_ref) / best_ref < 0.02


def test_grid_point_geometry(pc2026):
    """Each grid entry is a consistent patched-conic point: TOF = arrival - departure, C3 = v_inf^2,
    and the Lambert arc from it, propagated analytically, is not needed here: recomputing one
    point from scratch gives the same numbers."""
    eph = default_ephemeris()
    i, j = 40, 50
    assert pc2026.tof_days[i, j] == pytest.approx((pc2026.t_arr[j] - pc2026.t_dep[i]) / DAY)
    assert pc2026.c3[i, j] == pytest.approx(_c3(eph, pc2026.t_dep[i], pc2026.t_arr[j]), rel=1e-12)
    np.testing.assert_allclose(pc2026.c3, pc2026.vinf_dep ** 2)


def test_marks_and_figure(pc2026):
    mmx = pc2026.marks["mmx_like"]
    assert "2026-10-01" <= mmx["departure_date"] <= "2026-10-31"
    assert mmx["arrival_date"] < "2028-01-01" and mmx["tof_days"] <= 365.0
    assert mmx["c3_km2_s2"] >= pc2026.marks["optimum"]["c3_km2_s2"]
    fig = pc2026.figure()
    from matplotlib.figure import Figure

    assert isinstance(fig, Figure)


def test_return_window_2030():
    pc = W.mars_earth_2030(n_dep=60, n_arr=60)
    mmx = pc.marks["mmx_like"]
    assert mmx["departure_date"].startswith("2030")
    assert "2031-04-01" <= mmx["arrival_date"] <= "2032-03-31"
    assert pc.marks["optimum"]["vinf_departure_km_s"] <= mmx["vinf_departure_km_s"]
    assert 1.5 < mmx["vinf_departure_km_s"] < 4.0


def test_bad_windows():
    with pytest.raises(InputError, match="dep_end"):
        W.porkchop("EARTH", "MARS", "2026-10-01", "2026-09-01", "2027-06-01", "2027-09-01", 5, 5)
    with pytest.raises(InputError, match="window"):  # arrival before any feasible departure
        W.porkchop("EARTH", "MARS", "2026-10-01", "2026-11-01", "2026-10-15", "2026-11-15", 5, 5)
    with pytest.raises(InputError, match="n_dep"):
        W.porkchop("EARTH", "MARS", "2026-10-01", "2026-11-01", "2027-06-01", "2027-09-01", 1, 5)
    with pytest.raises(InputError, match="dep_start"):
        W.porkchop("EARTH", "MARS", "not a date", "2026-11-01", "2027-06-01", "2027-09-01", 5, 5)
    pc = W.porkchop("EARTH", "MARS", "2026-10-01", "2026-11-01", "2027-06-01", "2027-09-01", 5, 5)
    with pytest.raises(InputError, match="window"):  # no point in the mask
        pc.argmin("c3", pc.mask_dates(dep_from="2030-01-01"))
