"""Navigation-driven dispersion of a two-impulse QSO transfer (mmxsim.orbits.transfers).

Reference: a Monte Carlo of 500 samples through the nonlinear Hill dynamics (heyoka, same model as the
transfer) checks the linear covariance mapped by the STM. The transfer: 100 -> 50 km planar QSOs,
Phobos to degree 2, the optimiser's phases and time of flight of the default ``transfer`` analysis
(10.9 m/s, 0.604 d). Errors: the ASSUMED defaults (10 m, 0.1 mm/s per axis, 1 % magnitude, 0.5 deg
pointing), where the along-track dispersion (~3 km) is still small against the QSO.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mmxsim.errors import InputError
from mmxsim.orbits import transfers as T
from mmxsim.orbits.qso import periodic_qso

N_MC = 500
SE_SIGMA = 1.0 / math.sqrt(2 * (N_MC - 1))  # relative standard error of a sample sigma, Gaussian: 3.2 %


@pytest.fixture(scope="module")
def case():
    dep, arr = periodic_qso(100.0, 2), periodic_qso(50.0, 2)
    tr = T.two_impulse_transfer(dep, arr, 52207.4, 0.3043, 0.2141)
    err = T.TransferErrors()
    lin = T.transfer_dispersion(tr, err)
    mc = T.transfer_dispersion_mc(tr, err, n_samples=N_MC, seed=0)
    return tr, err, lin, mc


def test_linear_covariance_matches_the_monte_carlo(case):
    """1-sigma per Hill axis (arrival position and velocity, velocity after the correction): linear vs
    500-sample Monte Carlo within 4 standard errors of a sample sigma (4 x 3.2 % = 12.7 %; seen: <= 6 %).
    Correction Δv: the linear mean within 4 standard errors of the MC mean; the linear 99th percentile
    between the MC's order statistics for 0.99 -/+ 4 binomial sigmas (distribution-free)."""
    tr, err, lin, mc = case
    for a, b in ((mc.arrival_pos_sigma_m, lin.arrival_pos_sigma_m), (mc.arrival_vel_sigma_mm_s,
                                                                    lin.arrival_vel_sigma_mm_s),
                 (mc.post_vel_sigma_mm_s, lin.post_vel_sigma_mm_s)):
        assert np.all(np.abs(a / b - 1.0) < 4 * SE_SIGMA), (a, b)
    c = mc.correction_norm_km_s
    assert abs(mc.correction_mean_km_s - lin.correction_mean_km_s) < 4 * c.std(ddof=1) / math.sqrt(N_MC)
    h = 4 * math.sqrt(0.99 * 0.01 / N_MC)
    assert np.percentile(c, 100 * (0.99 - h)) <= lin.correction_p99_km_s <= c.max()
    # the dispersion is real: kilometres along track, tens of mm/s of correction
    assert 1000 < lin.arrival_pos_sigma_m[1] < 10000 and 10 < lin.correction_mean_km_s * 1e6 < 200


def test_sample_by_sample_the_stm_maps_the_departure_error(case):
    """Each sample's arrival deviation against the STM times its departure deviation (the same draws):
    positions within 5 % of the largest deviation (seen 3 %), velocities within 15 % (seen 11 % on the
    radial one: the quadratic along-track term); a wrong STM gives O(1)."""
    tr, err, lin, mc = case
    pred = mc.departure_deviation @ lin.stm.T
    rel = np.abs(pred - mc.arrival_deviation).max(axis=0) / np.abs(mc.arrival_deviation).max(axis=0)
    assert np.all(rel[:3] < 0.05) and np.all(rel[3:] < 0.15), rel


def test_surface_probability_matches_the_monte_carlo(case):
    """With the threshold put 1 linear sigma below the arc's most exposed point, the one-point linear
    probability is 15.9 %; the MC fraction of arcs coming closer (a union over the arc, so not lower)
    lies within 4 binomial sigmas (+/- 6.5 %) of it. With the 1 km default the margin is > 10 sigma and
    no sample comes closer."""
    tr, err, lin, mc = case
    assert lin.margin_sigma > 10 and lin.surface_probability < 1e-20 and mc.surface_probability == 0.0
    k = int(np.argmin(lin.distance_km - lin.distance_sigma_km))
    thr = float(lin.distance_km[k] - lin.distance_sigma_km[k])
    lin2 = T.transfer_dispersion(tr, err, surface_threshold_km=thr)
    assert lin2.margin_sigma == pytest.approx(1.0, abs=1e-9)
    assert lin2.surface_probability == pytest.approx(0.1587, abs=1e-4)
    frac = float(np.mean(mc.min_distance_km < thr))
    assert abs(frac - lin2.surface_probability) < 4 * math.sqrt(0.16 * 0.84 / N_MC), frac


def test_zero_errors_give_zero_dispersion(case):
    """No navigation or execution error: every covariance is exactly zero, the correction is zero, the
    margin infinite; the Monte Carlo reproduces the nominal arc exactly (same integrator)."""
    tr = case[0]
    z = T.TransferErrors(0, 0, 0, 0)  # integers too
    d = T.transfer_dispersion(tr, z)
    for P in (d.arrival_covariance, d.correction_covariance, d.post_velocity_covariance):
        assert not np.any(P)
    assert d.correction_mean_km_s == 0.0 and d.correction_p99_km_s == 0.0
    assert d.margin_sigma == math.inf and d.surface_probability == 0.0
    mc = T.transfer_dispersion_mc(tr, z, n_samples=3)
    for a in (mc.arrival_deviation, mc.correction, mc.post_velocity_deviation):
        assert not np.any(a)


def test_full_covariance_and_execution_model(case):
    """A full 6x6 knowledge covariance equal to the per-axis one gives the same result (to 1e-12); a
    correlated one maps as STM P STM^T (a rank-one covariance stays rank one at arrival); the correction
and post-correction covariances follow the velocity-matching law (to 1e-12). The linear
    execution covariance against 20000 exact executions (magnitude, rotation): within 4 % (sampling
    error of a variance 1 %)."""
    tr, err, lin, _ = case
    K = np.diag([err.nav_pos_km ** 2] * 3 + [err.nav_vel_km_s ** 2] * 3)
    full = T.TransferErrors(exec_mag_frac=err.exec_mag_frac, exec_point_rad=err.exec_point_rad, nav_covariance=K)
    d = T.transfer_dispersion(tr, full)
    assert np.allclose(d.arrival_covariance, lin.arrival_covariance, rtol=1e-12, atol=0)
    u = np.array([0.01, 0.0, 0.0, 0.0, 1e-7, 0.0])
    d1 = T.transfer_dispersion(tr, T.TransferErrors(0, 0, 0, 0, nav_covariance=np.outer(u, u)))
    w = d1.stm @ u
    assert np.allclose(d1.arrival_covariance, np.outer(w, w), rtol=1e-9, atol=1e-18)
    # the second burn's law: correction = -(arrival velocity error + arrival knowledge error)
    k = T.TransferErrors(0.0, 1e-6, 0.0, 0.0)
    dk = T.transfer_dispersion(tr, k)
    assert np.allclose(dk.correction_covariance, dk.arrival_covariance[3:, 3:] + 1e-12 * np.eye(3), rtol=1e-12)
    assert np.allclose(dk.post_velocity_covariance, 1e-12 * np.eye(3), rtol=1e-12)
    rng = np.random.default_rng(1)
    dv = tr.dv1
    e = T.TransferErrors(0, 0, 0.02, math.radians(2.0))
    x = np.array([T._executed(dv, *(rng.standard_normal(3) * (0.02, e.exec_point_rad, e.exec_point_rad))) - dv
                  for _ in range(20000)])
    C, Cl = np.cov(x.T), e.execution(dv)
    assert np.allclose(C, Cl, rtol=0, atol=0.04 * np.abs(Cl).max())


def test_bad_input_is_an_input_error(case):
    """Negative or non-finite sigmas, a non-PSD or wrongly shaped covariance, a non-transfer, a negative
    threshold, too few samples: InputError naming the field."""
    tr = case[0]
    with pytest.raises(InputError, match="nav_pos_km"):
        T.TransferErrors(nav_pos_km=-1.0)
    with pytest.raises(InputError, match="exec_mag_frac"):
        T.TransferErrors(exec_mag_frac=float("nan"))
    with pytest.raises(InputError, match="nav_covariance"):
        T.TransferErrors(nav_covariance=np.eye(3))
    with pytest.raises(InputError, match="nav_covariance"):
        T.TransferErrors(nav_covariance=-np.eye(6))
    with pytest.raises(InputError, match="transfer"):
        T.transfer_dispersion("not a transfer")
    with pytest.raises(InputError, match="errors"):
        T.transfer_dispersion(tr, errors={"nav_pos_km": 0.01})
    with pytest.raises(InputError, match="surface_threshold_km"):
        T.transfer_dispersion(tr, surface_threshold_km=-1.0)
    with pytest.raises(InputError, match="n_samples"):
        T.transfer_dispersion_mc(tr, n_samples=1)


def test_second_error_model_reuses_the_arc_with_the_same_numbers(case):
    """The arc's STMs, distances and gradients are kept for the same transfer (the transfer analysis
    disperses it under two navigation errors): a dispersion under another error model equals the one
    computed with nothing kept, and the arrays it returns are its own (writing them changes nothing kept)."""
    tr, _, _, _ = case
    err = T.TransferErrors(nav_pos_km=3e-3, nav_vel_km_s=3e-7, exec_mag_frac=0.02, exec_point_rad=0.01)
    T._ARC_GRIDS.clear()
    fresh = T.transfer_dispersion(tr, err)
    assert len(T._ARC_GRIDS) == 1
    T.transfer_dispersion(tr, T.TransferErrors())
    kept = T.transfer_dispersion(tr, err)
    for name in ("stm", "arrival_covariance", "correction_covariance", "distance_km", "distance_sigma_km",
                 "times_s"):
        assert np.array_equal(getattr(kept, name), getattr(fresh, name)), name
    assert (kept.margin_sigma, kept.surface_probability) == (fresh.margin_sigma, fresh.surface_probability)
    kept.distance_km[:] = -1.0
    kept.stm[:] = 0.0
    again = T.transfer_dispersion(tr, err)
    assert np.array_equal(again.distance_km, fresh.distance_km) and np.array_equal(again.stm, fresh.stm)
