"""Porkchop maps on DE421: consistency with an independent Lambert solver (lamberthub, pykep) on the same ephemeris,
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
    found by Nelder-Mead from it (measured: 0.1 %); the published value is checked in the next
    test."""
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


#: NASA/TM-2010-216764 (Burke, Falck & McGuire 2010, "Interplanetary Mission Design Handbook:
#: Earth-to-Mars Mission Opportunities 2026 to 2045"), table of optimal missions, 2026 rows:
#: (type, quantity minimised, departure, arrival, C3 km^2/s^2, arrival v-infinity km/s). Read from a
#: transcription of the handbook's tables (markbastian/allgo, test/data/imdh/earth-mars-2026-2045.edn),
#: confirmed by a second, independent transcription (9.144 for 2026); docs/interplanetary.md.
HANDBOOK_2026 = [
    ("II", "c3", "2026-10-31", "2027-08-19", 9.144, 2.729),
    ("I", "c3", "2026-11-14", "2027-08-09", 11.11, 2.915),
    ("II", "vinf", "2026-11-06", "2027-09-08", 9.646, 2.565),
]


def test_minimum_c3_2026_against_published_handbook(pc2026):
    """The 2026 window's minimum C3 against NASA's Mars mission design handbook (Type II optimum,
    9.144 km^2/s^2, 2026-10-31 -> 2027-08-19): within 2 % (measured +0.42 %, continuous minimum
    9.182 on the same dates) and dates within 2 days. At each tabulated trajectory's dates, C3 within
    2 % and arrival v-infinity within 1 % (measured -0.66..+0.44 % and <= 0.05 %). The handbook used
    JPL DE405 and a 1-day grid; we use DE421."""
    from mmxsim.time import to_tdb_seconds

    eph = default_ephemeris()
    for _typ, _what, dep, arr, c3_pub, vinf_pub in HANDBOOK_2026:
        td, ta = (float(to_tdb_seconds(f"{d}T00:00:00", "tdb")) for d in (dep, arr))
        xe, xm = eph.state("EARTH", "SUN", td), eph.state("MARS", "SUN", ta)
        v1, v2 = L.lambert(GM_SUN, xe[:3], xm[:3], ta - td)
        assert float(np.sum((v1 - xe[3:]) ** 2)) == pytest.approx(c3_pub, rel=0.02), dep
        assert float(np.linalg.norm(v2 - xm[3:])) == pytest.approx(vinf_pub, rel=0.01), dep
    p = pc2026.marks["optimum"]
    d0, a0 = p["departure_tdb_s"], p["arrival_tdb_s"]
    res = minimize(lambda z: _c3(eph, d0 + z[0] * DAY, a0 + z[1] * DAY), [0.0, 0.0], method="Nelder-Mead",
                   options={"xatol": 1e-3, "fatol": 1e-9, "initial_simplex": [[0, 0], [3, 0], [0, 6]]})
    _t, _w, dep, arr, c3_pub, _v = HANDBOOK_2026[0]
    print("2026 minimum C3: ours", res.fun, "handbook", c3_pub, "relative", res.fun / c3_pub - 1)
    assert res.fun == pytest.approx(c3_pub, rel=0.02)
    assert p["c3_km2_s2"] == pytest.approx(c3_pub, rel=0.02)
    for t, ref in ((d0 + res.x[0] * DAY, dep), (a0 + res.x[1] * DAY, arr)):
        assert abs(t - float(to_tdb_seconds(f"{ref}T00:00:00", "tdb"))) < 2 * DAY, ref


def _lambert_lamberthub(r1, r2, tof):
    from lamberthub import izzo2015

    return izzo2015(GM_SUN, np.asarray(r1), np.asarray(r2), tof, M=0, prograde=True, low_path=True,
                    maxiter=200, atol=1e-13, rtol=1e-13)


def _lambert_pykep(r1, r2, tof):
    import pykep as pk

    lp = pk.lambert_problem(r0=r1, r1=r2, tof=tof, mu=GM_SUN)
    return np.array(lp.v0[0]), np.array(lp.v1[0])


@pytest.mark.parametrize("reference", ["lamberthub", "pykep"])
def test_porkchop_against_an_independent_lambert_same_ephemeris(pc2026, reference):
    """Independent computation: the Lambert solver of lamberthub (Apache-2.0, in the test extra) or
    pykep (optional: it cannot be installed beside our heyoka) on the same DE421 states over a
    25 x 25 sub-grid: C3 and arrival v-infinity agree to 1e-8 relative, and the minima agree to
    far better than 2 %."""
    pytest.importorskip(reference)
    solve = _lambert_lamberthub if reference == "lamberthub" else _lambert_pykep
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
            v0, v1 = solve(xe[:3], xm[:3], float(pc2026.t_arr[j] - pc2026.t_dep[i]))
            c3 = float(np.sum((v0 - xe[3:]) ** 2))
            va = float(np.linalg.norm(v1 - xm[3:]))
            worst = max(worst, abs(c3 - pc2026.c3[i, j]) / c3, abs(va - pc2026.vinf_arr[i, j]) / va)
            best_ours = min(best_ours, pc2026.c3[i, j])
            best_ref = min(best_ref, c3)
    print(reference, "porkchop: worst relative difference", worst, "min C3 ours/reference", best_ours, best_ref)
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
