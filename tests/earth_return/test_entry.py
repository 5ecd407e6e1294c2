"""Validation of mmxsim.earth_return.entry / .atmosphere.

Independent references: the U.S. Standard Atmosphere 1976 printed table (values typed here),
NRLMSIS 2.0 through pymsis (second library, optional), the Sutton-Graves formula evaluated by
hand, the Allen-Eggers closed-form ballistic entry, the Jacobi integral of the rotating frame,
the published Hayabusa (2010) and Hayabusa2 (2020) capsule entries (facts-2 §B1, §B2).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from mmxsim.earth_return import atmosphere as atm
from mmxsim.earth_return import entry as en
from mmxsim._accel import HAVE_NUMBA
from mmxsim.errors import InputError


# --- atmosphere ------------------------------------------------------------------------------

@pytest.mark.parametrize("h,rho,p,t", [
    (10.0, 0.41351, 26499.9, 223.252),   # USSA76 Table I, geometric altitude
    (20.0, 0.088910, 5529.3, 216.650),
    (50.0, 1.0269e-3, 79.779, 270.650),
    (80.0, 1.8458e-5, 1.0524, 198.639),
])
def test_ussa76_matches_printed_table(h, rho, p, t):
    a = atm.USSA76()
    assert float(a.density(h)) == pytest.approx(rho, rel=1e-3)
    assert float(a.pressure(h)) == pytest.approx(p, rel=1e-3)
    assert float(a.temperature(h)) == pytest.approx(t, abs=0.01)


def test_msis_column_close_to_ussa76():
    """Second library: NRLMSIS 2.0 (pymsis, optional) within 30 % of USSA76 from 0 to 80 km
    (different climatologies: season/latitude differences of this size are normal)."""
    pytest.importorskip("pymsis")
    m = atm.MSIS("2020-12-05T17:28", -29.0, 135.0, f107=80, f107a=80, ap=4)
    h = np.arange(0.0, 81.0, 5.0)
    ratio = m.density(h) / atm.USSA76().density(h)
    assert np.all(np.abs(ratio - 1) < 0.30), ratio


def test_atmosphere_bad_inputs():
    with pytest.raises(InputError):
        atm.USSA76(density_scale=-1)
    with pytest.raises(InputError):
        atm.make_atmosphere("jacchia")
    with pytest.raises(InputError):
        atm.WindProfile((0.0, 10.0), (1.0,), (1.0, 2.0))


# --- heating, gravity, frames -------------------------------------------------------------------

def test_sutton_graves_arithmetic():
    # k sqrt(rho/Rn) V^3 by hand: 1.7415e-4 * sqrt(1e-3 / 0.2) * (1e4)^3
    expected = 1.7415e-4 * math.sqrt(0.005) * 1e12
    assert float(en.sutton_graves(1e-3, 1e4, 0.2)) == pytest.approx(expected, rel=1e-14)
    assert expected == pytest.approx(1.23143e7, rel=1e-5)
    with pytest.raises(InputError):
        en.sutton_graves(1e-3, 1e4, 0.0)


def test_trajectory_heat_flux_is_sutton_graves_of_its_own_state():
    tr = en.simulate_entry(en.hayabusa2_entry(), sample_dt_s=0.5, rtol=1e-8)
    i = int(np.argmax(tr.heat_flux_wm2))
    rho = float(atm.USSA76().density(tr.altitude_km[i]))
    q = float(en.sutton_graves(rho, tr.speed_kms[i] * 1e3, 0.20))
    assert tr.heat_flux_wm2[i] == pytest.approx(q, rel=2e-3)  # 0.25 km density table interpolation


def test_geodetic_roundtrip():
    for lat, lon, h in [(-30.8, 136.4, 200.0), (89.9, 10.0, 5.0), (0.0, -170.0, 0.0)]:
        r = en.ecef_from_geodetic(lat * en.DEG, lon * en.DEG, h)
        la, lo, hh = en.geodetic_from_ecef(r)
        assert la / en.DEG == pytest.approx(lat, abs=1e-9)
        assert lo / en.DEG == pytest.approx(lon, abs=1e-9)
        assert hh == pytest.approx(h, abs=1e-6)


def test_entry_state_roundtrip():
    e = en.hayabusa2_entry()
    y = e.ecef_state()
    s = en.state_summary(y[:3], y[3:], frame="inertial")
    assert s["speed_kms"] == pytest.approx(e.speed_kms, abs=1e-12)
    assert s["fpa_deg"] == pytest.approx(-12.0, abs=1e-10)
    assert s["azimuth_deg"] == pytest.approx(150.0, abs=1e-10)
    assert s["altitude_km"] == pytest.approx(200.0, abs=1e-6)


def test_jacobi_integral_conserved_without_atmosphere():
    """No drag: rotating frame + J2 is conservative; the Jacobi-like integral holds to 1e-10 (rel)."""
    e = en.EntryState(300.0, -20.0, 130.0, 7.9, -0.5, 60.0, "inertial")
    tr = en.simulate_entry(e, no_atmosphere=True, max_time_s=2500.0, rtol=1e-12, sample_dt_s=5.0)
    assert tr.t[-1] > 2000.0
    c = np.array([en.jacobi_integral(y[:3], y[3:]) for y in tr.states])
    assert np.max(np.abs(c - c[0])) / abs(c[0]) < 1e-10
    # and the check can fail: the same quantity without the centrifugal term is not conserved
    w = en.EarthModel(omega=0.0)
    c_bad = np.array([en.jacobi_integral(y[:3], y[3:], w) for y in tr.states])
    assert np.max(np.abs(c_bad - c_bad[0])) / abs(c_bad[0]) > 1e-6


def test_allen_eggers_closed_form():
    """Straight ballistic entry, exponential atmosphere, no gravity, non-rotating sphere:
    peak deceleration V_E^2 sin(g) / (2 H e); peak Sutton-Graves heating at rho* = beta sin(g) / (3H)
    with V* = V_E exp(-1/6)."""
    H = 7.2
    ex = atm.ExponentialAtmosphere(rho0=1.225, scale_height_km=H)
    earth = en.EarthModel(gm=0.0, j2=0.0, omega=0.0, flattening=0.0)
    cap = en.Capsule(cd_mach=((0.0, 100.0), (1.05, 1.05)), deploy_altitude_km=20.0)
    g = 60.0
    ve = 12.0
    tr = en.simulate_entry(en.EntryState(150.0, 0.0, 0.0, ve, -g, 90.0, "relative"), cap, ex, earth=earth,
                           sample_dt_s=0.01, rtol=1e-10, stop_at_deploy=True)
    s = math.sin(g * en.DEG)
    a_max = (ve * 1e3) ** 2 * s / (2 * H * 1e3 * math.e) / en.G0
    assert tr.summary["peak_decel_g"] == pytest.approx(a_max, rel=0.01)
    beta = cap.ballistic_coefficient
    rho_star = beta * s / (3 * H * 1e3)
    h_star = -H * math.log(rho_star / 1.225)
    assert tr.summary["peak_heating_altitude_km"] == pytest.approx(h_star, abs=0.3)
    i = int(np.argmax(tr.heat_flux_wm2))
    assert tr.speed_kms[i] == pytest.approx(ve * math.exp(-1 / 6), rel=0.005)


# --- bad inputs, skip-out --------------------------------------------------------------------------

def test_skip_out_raises():
    with pytest.raises(InputError, match="skips out"):
        en.simulate_entry(en.EntryState(200.0, -27.0, 132.0, 12.0, -2.0, 150.0))


@pytest.mark.parametrize("kw", [dict(fpa_deg=3.0), dict(altitude_km=30.0), dict(speed_kms=-1.0),
                                dict(frame="galactic"), dict(lat_deg=95.0)])
def test_bad_entry_state(kw):
    with pytest.raises(InputError):
        en.EntryState(**kw)


def test_bad_capsule():
    with pytest.raises(InputError):
        en.Capsule(mass_kg=-1.0)
    with pytest.raises(InputError):
        en.Capsule(cd_mach=((0.0, 2.0, 1.0), (1.0, 1.0, 1.0)))
    with pytest.raises(InputError):
        en.Dispersions(fpa_deg=-0.1)


# --- published entries -------------------------------------------------------------------------------

def test_hayabusa_2010_optical_trajectory():
    """[UEDA11]: 101.0 km -> 38.6 km in 44.6 s (13:51:57.4 -> 13:52:42.0 UT); [OHN11]: peak brightness
    at ~56 km; [YAM12]: ~14 MW/m^2. Inputs: 101 km, 12.1 km/s, -9.5 deg (Earth-relative), 16 kg,
    0.40 m, R_n 0.20 m (ASSUMPTION), C_D table (ASSUMPTION), USSA76."""
    tr = en.simulate_entry(en.hayabusa_2010_entry(), sample_dt_s=0.1, rtol=1e-9)
    t38 = float(np.interp(-38.6, -tr.altitude_km[: np.argmin(tr.altitude_km > 30)], tr.t[: np.argmin(tr.altitude_km > 30)]))
    assert t38 == pytest.approx(44.6, rel=0.10)
    assert tr.summary["peak_heating_altitude_km"] == pytest.approx(56.0, abs=4.0)
    assert tr.summary["peak_heat_flux_MWm2"] == pytest.approx(14.0, rel=0.30)


def test_hayabusa2_entry_and_landing():
    """Hayabusa2 SRC (facts-2 §B1). Inputs: 200 km, 11.58 km/s, -12.0 deg [TSUDA24] (taken inertial),
    heading 150 deg, 16 kg, 0.40 m. Checks: peak heat flux vs ~15-16 MW/m^2 design values [Y18],
    [MK2-SLIDE] (an upper bound; model >= 0.6 of 15.5); landing 19-29 min after the 120 km interface
    (predicted landing 02:47-02:57 JST for 02:28 JST at 120 km, [NIKKAN-2020]); parachute at 10 km
    [H2-CH24] subsonic; landing in the WPA (moved onto the WPA nominal point)."""
    e, tr = en.place_entry_for_landing(en.hayabusa2_entry(), *en.WPA_NOMINAL)
    s = tr.summary
    # the published 15-16 MW/m^2 are design values (with margins, any radiative part): an upper bound
    assert 0.6 * 15.5 <= s["peak_heat_flux_MWm2"] <= 16.0
    t120 = float(np.interp(-120.0, -tr.altitude_km[:2000], tr.t[:2000]))
    minutes = (s["landing_time_s"] - t120) / 60.0
    assert 19.0 <= minutes <= 29.0
    # parachute opened at 02:31:33 JST for re-entry "at around 2:28" [MYNAVI-2020]: 154-213 s after 120 km
    assert 154.0 <= s["deploy_time_s"] - t120 <= 213.0
    assert s["deploy_mach"] < 1.0
    miss = en.local_en_km(s["landing_lat_deg"], s["landing_lon_deg"], *en.WPA_NOMINAL)[0]
    assert math.hypot(*miss) < 0.1
    # heading of the ground track below 100 km, ~150 deg [ZANDER-JSR] (input 150 deg at 200 km;
    # the rotating Earth turns the Earth-relative track by a few degrees)
    m = (tr.altitude_km < 100) & (tr.altitude_km > 40)
    en_ = en.local_en_km(tr.lat_deg[m][[0, -1]], tr.lon_deg[m][[0, -1]], tr.lat_deg[m][0], tr.lon_deg[m][0])
    heading = math.degrees(math.atan2(en_[1, 0], en_[1, 1])) % 360
    assert heading == pytest.approx(150.0, abs=6.0)


def test_hayabusa2_peak_deceleration_against_published_prediction():
    """[Y21] (Yamada, Kawahara, Itou & Nakazawa 2021, Trans. JSASS Aerospace Tech. Japan 19(4) 514)
    print the Hayabusa2 capsule's predicted maximum deceleration: 41.26 G (sigma 0.48 G, 5000-run
    Monte Carlo) at 83.1 s (SECONDARY: read via a quotation, docs/earth_return.md). With the
    published entry state [TSUDA24] (11.58 km/s, -12.0 deg at 200 km, taken inertial), 16 kg, 0.40 m,
    USSA76: peak deceleration within 10 % (measured 44.4 G, +7.5 %; the ballistic peak hardly depends
    on the unpublished C_D, see the Allen-Eggers check) and its time after the 200 km interface
    within 3 s (measured 82.8 s; that the published 83.1 s counts from 200 km is an ASSUMPTION)."""
    tr = en.simulate_entry(en.hayabusa2_entry(), sample_dt_s=0.1, rtol=1e-9)
    s = tr.summary
    print("Hayabusa2 peak deceleration", s["peak_decel_g"], "g at", s["peak_decel_time_s"], "s,",
          s["peak_decel_altitude_km"], "km; peak heating at", s["peak_heating_altitude_km"], "km")
    assert s["peak_decel_g"] == pytest.approx(41.26, rel=0.10)
    assert s["peak_decel_time_s"] == pytest.approx(83.1, abs=3.0)


def test_wind_drift_under_parachute():
    """A constant east wind moves the landing east by about wind x (parachute descent time)."""
    e = en.hayabusa2_entry()
    calm = en.simulate_entry(e, sample_dt_s=0.5, rtol=1e-8)
    # 10 m/s east below the 10 km deployment altitude, calm above
    wind = atm.WindProfile((9.99, 10.0), (10.0, 0.0), (0.0, 0.0))
    windy = en.simulate_entry(e, winds=wind, sample_dt_s=0.5, rtol=1e-8)
    d = en.local_en_km(windy.summary["landing_lat_deg"], windy.summary["landing_lon_deg"],
                       calm.summary["landing_lat_deg"], calm.summary["landing_lon_deg"])[0]
    t_chute = calm.summary["landing_time_s"] - calm.summary["deploy_time_s"]
    assert d[0] == pytest.approx(10.0 * t_chute / 1000.0, rel=0.03)
    assert abs(d[1]) < 0.05 * d[0]


# --- footprint ---------------------------------------------------------------------------------

def test_error_ellipse_on_known_gaussian():
    rng = np.random.default_rng(3)
    cov = np.array([[100.0, 60.0], [60.0, 64.0]])
    x = rng.multivariate_normal([0, 0], cov, 40000)
    a, b, o, _, k2 = en.error_ellipse(x[:, 0], x[:, 1], 0.99)
    w, v = np.linalg.eigh(cov)
    assert a == pytest.approx(math.sqrt(w[1] * k2), rel=0.02)
    assert b == pytest.approx(math.sqrt(w[0] * k2), rel=0.02)
    assert o == pytest.approx(math.degrees(math.atan2(v[0, 1], v[1, 1])) % 180, abs=1.0)
    with pytest.raises(InputError):
        en.error_ellipse(x[:, 0], x[:, 1], 1.5)


def test_monte_carlo_footprint_seeded_and_figure():
    from matplotlib.figure import Figure

    e = en.hayabusa2_entry()
    f1 = en.monte_carlo_footprint(e, n=10, seed=5)
    f2 = en.monte_carlo_footprint(e, n=10, seed=5)
    assert np.array_equal(f1.lat_deg, f2.lat_deg)
    assert 1.0 < f1.semi_major_km < 200.0 and f1.semi_minor_km <= f1.semi_major_km
    assert isinstance(f1.figure(), Figure)
    with pytest.raises(InputError):
        en.monte_carlo_footprint(e, n=3)


def test_run_entry_analysis_entry_point():
    from matplotlib.figure import Figure

    from mmxsim.earth_return import run_entry_analysis

    numbers, figs = run_entry_analysis(n_monte_carlo=10, seed=2)
    assert set(figs) == {"entry_profiles", "footprint"}
    assert all(isinstance(f, Figure) for f in figs.values())
    assert all(isinstance(v, float) for v in numbers.values())
    miss = en.local_en_km(numbers["landing_lat_deg"], numbers["landing_lon_deg"], *en.WPA_NOMINAL)[0]
    assert math.hypot(*miss) < 0.1
    assert numbers["footprint_semi_major_km"] >= numbers["footprint_semi_minor_km"] > 0


def test_msis_without_pymsis_says_what_to_do(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pymsis", None)  # makes "import pymsis" fail
    with pytest.raises(ImportError, match="pip install pymsis"):
        atm.MSIS()


# --- compiled ensemble (footprint) ------------------------------------------------------------------

def _dispersed_samples():
    """Five entries covering what the footprint varies, plus a Mach-triggered parachute, a piecewise
    wind profile and a heavier descent mass."""
    e0 = en.hayabusa2_entry()
    c0 = en.Capsule()
    return [
        (e0, c0, atm.USSA76(), atm.WindProfile()),
        (replace(e0, fpa_deg=-11.8, speed_kms=11.59, lat_deg=-27.03), replace(c0, cd_scale=1.04, chute_cds_m2=3.6),
         atm.USSA76(density_scale=1.1), atm.WindProfile.constant(9.0, -12.0)),
        (replace(e0, fpa_deg=-12.3, azimuth_deg=150.1), replace(c0, cd_scale=0.95),
         atm.USSA76(density_scale=0.9), atm.WindProfile((0.0, 5.0, 12.0), (3.0, 15.0, 30.0), (0.0, -5.0, 2.0))),
        (e0, replace(c0, deploy_mach=0.8, deploy_altitude_km=5.0), atm.USSA76(), atm.WindProfile.constant(0.0, 5.0)),
        (e0, replace(c0, descent_mass_kg=12.0, chute_inflation_s=0.0), atm.USSA76(), atm.WindProfile()),
    ]


@pytest.mark.skipif(not HAVE_NUMBA, reason="the compiled ensemble needs numba")
def test_compiled_ensemble_matches_dop853():
    """The footprint's fixed-step RK4 ensemble against simulate_entry (DOP853, rtol 1e-10) on the same
    equations, sample by sample: landing point < 1 m, landing and deployment times < 0.05 s, peak
    deceleration and heat flux < 1e-4 relative (measured: mm, ms, 1e-6 level)."""
    samples = _dispersed_samples()
    out = en.fly_entries(samples)
    for i, (e, c, a, w) in enumerate(samples):
        s = en.simulate_entry(e, c, a, w, rtol=1e-10, sample_dt_s=0.05).summary
        d = en.local_en_km(float(out["landing_lat_deg"][i]), float(out["landing_lon_deg"][i]),
                           s["landing_lat_deg"], s["landing_lon_deg"])[0]
        assert math.hypot(*d) < 1e-3, (i, d)
        assert out["landing_time_s"][i] == pytest.approx(s["landing_time_s"], abs=0.05)
        assert out["deploy_time_s"][i] == pytest.approx(s["deploy_time_s"], abs=0.05)
        assert out["peak_decel_g"][i] == pytest.approx(s["peak_decel_g"], rel=1e-4)
        assert out["peak_heat_flux_MWm2"][i] == pytest.approx(s["peak_heat_flux_MWm2"], rel=1e-4)
    assert out["deploy_altitude_km"][3] > 5.0  # the Mach trigger came first


@pytest.mark.skipif(not HAVE_NUMBA, reason="the compiled ensemble needs numba")
def test_footprint_methods_agree_and_ensemble_errors():
    """Same seed, same samples: the ensemble and the SciPy footprints give the same ellipse (0.1 %)."""
    e = en.hayabusa2_entry()
    f1 = en.monte_carlo_footprint(e, n=20, seed=4, method="ensemble")
    f2 = en.monte_carlo_footprint(e, n=20, seed=4, method="scipy")
    assert f1.semi_major_km == pytest.approx(f2.semi_major_km, rel=1e-3)
    assert f1.semi_minor_km == pytest.approx(f2.semi_minor_km, rel=1e-3)
    d = en.local_en_km(f1.lat_deg, f1.lon_deg, f1.center_lat_deg, f1.center_lon_deg) \
        - en.local_en_km(f2.lat_deg, f2.lon_deg, f1.center_lat_deg, f1.center_lon_deg)
    assert np.abs(d).max() < 0.05  # km, largest difference of a sample's landing point (rtol 1e-7 side)
    with pytest.raises(InputError, match="skips out"):
        en.fly_entries([(replace(e, fpa_deg=-3.0), en.Capsule(), atm.USSA76(), atm.WindProfile())])
    with pytest.raises(InputError, match="method"):
        en.monte_carlo_footprint(e, n=20, method="rk4")


@pytest.mark.parametrize("descent_mass_kg, cds", [(None, 4.0), (10.0, 3.0)])
def test_landing_speed_is_the_parachute_terminal_velocity(descent_mass_kg, cds):
    """Under the open parachute the capsule lands at its terminal speed sqrt(2 m g / (rho C_D S))
    with the descent mass, the parachute's C_D S, sea-level density 1.225 kg/m^3 (US Standard
    Atmosphere 1976) and g = 9.7946 m/s^2 (WGS84 normal gravity at Woomera's ~31 deg S): within 0.3 %
    (measured 3e-4)."""
    import dataclasses

    cap = dataclasses.replace(en.Capsule(), descent_mass_kg=descent_mass_kg, chute_cds_m2=cds)
    tr = en.simulate_entry(en.hayabusa2_entry(), cap, sample_dt_s=0.5, rtol=1e-8)
    m = descent_mass_kg or cap.mass_kg
    assert tr.altitude_km[-1] == pytest.approx(0.0, abs=1e-6)
    v_term = math.sqrt(2.0 * m * 9.7946 / (1.225 * cds))
    assert tr.speed_kms[-1] * 1e3 == pytest.approx(v_term, rel=3e-3)


@pytest.mark.skipif(not HAVE_NUMBA, reason="the compiled ensemble needs numba")
def test_placement_with_compiled_intermediate_flights_equals_dop853():
    """place_entry_for_landing flies its intermediate steps (only their landing point is used) with the
    compiled fixed-step ensemble (issue 19); passing a DOP853 option (``rtol``) keeps every step on
    SciPy. Same iterations, so the moved entry point agrees to 1 m (the compiled landing is ~1 mm
    from DOP853) and the returned trajectory's landing to 1 m, peak deceleration to 1e-5."""
    target = en.WPA_NOMINAL
    e_fast, tr_fast = en.place_entry_for_landing(en.hayabusa2_entry(), *target)
    e_ref, tr_ref = en.place_entry_for_landing(en.hayabusa2_entry(), *target, rtol=1e-9)
    d_entry = en.local_en_km(e_fast.lat_deg, e_fast.lon_deg, e_ref.lat_deg, e_ref.lon_deg)[0]
    assert math.hypot(*d_entry) < 1e-3
    a, b = tr_fast.summary, tr_ref.summary
    d_land = en.local_en_km(a["landing_lat_deg"], a["landing_lon_deg"], b["landing_lat_deg"], b["landing_lon_deg"])[0]
    assert math.hypot(*d_land) < 1e-3
    assert abs(a["peak_decel_g"] - b["peak_decel_g"]) < 1e-5 * b["peak_decel_g"]
    assert en._fast_landing(None, {"rtol": 1e-9}) is None
