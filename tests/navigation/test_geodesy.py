"""Multi-arc covariance analysis of a QSO campaign (mmxsim.navigation.geodesy).

References: the joint normal equations of a synthetic two-arc problem (the Schur reduction must give
their marginal); closed-form power laws for the days-to-threshold; and, on a real two-day QSO arc
pair (Phobos harmonics to degree 2, DSN/ESTRACK Doppler and range), the properties a formal
covariance must have (information only adds: σ never grows, the final σ is the covariance's diagonal).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mmxsim.errors import InputError
from mmxsim.navigation import geodesy as G


def _spd_information(rng, m, n):
    H = rng.standard_normal((m, n)) * rng.uniform(0.1, 10.0, n)
    return H.T @ H


def test_schur_reduction_is_the_marginal_of_the_joint_covariance():
    """Two arcs with 4 locals each and 3 shared globals, random information and a priori: the summed
    Schur reductions plus the global a priori, inverted, equal the global block of the inverse of the
    joint (11 x 11) normal matrix to 1e-10 relative (reference: the joint inversion)."""
    rng = np.random.default_rng(7)
    nl, ng = 4, 3
    lam_l = [rng.uniform(0.5, 2.0, nl) for _ in range(2)]
    lam_g = rng.uniform(0.5, 2.0, ng)
    arcs = [_spd_information(rng, 12, nl + ng) for _ in range(2)]
    n = 2 * nl + ng
    J = np.zeros((n, n))
    J[2 * nl:, 2 * nl:] += np.diag(lam_g)
    for k, N in enumerate(arcs):
        idx = np.r_[k * nl:(k + 1) * nl, 2 * nl:n]
        J[np.ix_(idx, idx)] += N
        J[k * nl:(k + 1) * nl, k * nl:(k + 1) * nl] += np.diag(lam_l[k])
    joint = np.linalg.inv(J)[2 * nl:, 2 * nl:]
    red = np.diag(lam_g) + sum(G.schur_reduce(N, nl, lam) for N, lam in zip(arcs, lam_l))
    ours = np.linalg.inv(red)
    assert np.max(np.abs(ours - joint)) < 1e-10 * np.max(np.abs(joint))
    # with no locals the reduction is the global block; a full prior matrix works like its diagonal
    N = arcs[0]
    assert np.array_equal(G.schur_reduce(N, 0), N)
    assert np.allclose(G.schur_reduce(N, nl, np.diag(lam_l[0])), G.schur_reduce(N, nl, lam_l[0]), rtol=1e-13)


def test_marginal_of_the_reported_globals_equals_the_full_inverse():
    """The σ and covariance of the first k parameters (one Cholesky of I + N with them last, then a
    k x k inverse) equal the leading block of the full inverse of I + N to 1e-10 relative, on a random
    information matrix spanning 1e-2..1e8 (as the campaign's scaled information does), for k = 3 of 12
    and k = n (reference: numpy.linalg.inv)."""
    rng = np.random.default_rng(11)
    n, k = 12, 3
    N = _spd_information(rng, 30, n)
    s = np.logspace(-1, 4, n)
    N = N * np.outer(s, s)
    full = np.linalg.inv(np.eye(n) + N)
    for kk in (k, n):
        P = G._covariance_from_information(N, kk)
        ref = full[:kk, :kk]
        assert np.max(np.abs(P - ref) / np.sqrt(np.outer(np.diag(ref), np.diag(ref)))) < 1e-10
        assert np.allclose(G._sigma_from_information(N, kk), np.sqrt(np.diag(ref)), rtol=1e-10, atol=0)
    assert np.allclose(G._sigma_from_information(N), np.sqrt(np.diag(full)), rtol=1e-10, atol=0)


def test_days_to_threshold_exact_on_power_laws():
    """σ = a/√t sampled daily: the crossing between samples (log-log interpolation) and beyond the last
    sample (the 1/√t law) are exact to 1e-12 relative; with an a priori σ0 the law 1/σ² = 1/σ0² + k t
    is extrapolated exactly too (reference: the closed forms)."""
    a = 3e-3
    days = np.arange(1.0, 11.0)
    sig = a / np.sqrt(days)
    thr = a / math.sqrt(4.37)
    d, ext = G.days_to_threshold(days, sig, thr)
    assert not ext and abs(d - 4.37) < 1e-12 * 4.37
    d, ext = G.days_to_threshold(days, sig, a / math.sqrt(250.0))
    assert ext and abs(d - 250.0) < 1e-12 * 250.0
    d, ext = G.days_to_threshold(days, sig, a / math.sqrt(0.3))  # before the first sample
    assert ext and abs(d - 0.3) < 1e-12
    s0, k = 0.01, 4e7
    sig2 = 1.0 / np.sqrt(1.0 / s0 ** 2 + k * days)
    t_true = 80.0
    d, ext = G.days_to_threshold(days, sig2, 1.0 / math.sqrt(1.0 / s0 ** 2 + k * t_true), s0)
    assert ext and abs(d - t_true) < 1e-9 * t_true
    # an a priori already at the threshold: 0 days
    assert G.days_to_threshold(days, sig2, s0 * 2, s0) == (0.0, False)
    # no information at all: never
    d, ext = G.days_to_threshold(days, np.full(10, s0), 1e-4, s0)
    assert ext and d == math.inf


@pytest.mark.parametrize("args", [
    (np.array([1.0, 1.0]), np.array([1.0, 0.5]), 0.1),  # days not increasing
    (np.array([1.0, 2.0]), np.array([1.0, -0.5]), 0.1),  # negative sigma
    (np.array([1.0, 2.0]), np.array([1.0, 0.5]), 0.0),  # threshold 0
    (np.array([0.0, 2.0]), np.array([1.0, 0.5]), 0.1),  # day 0
])
def test_days_to_threshold_refuses_bad_input(args):
    """Bad curves and thresholds raise InputError (reference: the rules in the docstring)."""
    with pytest.raises(InputError):
        G.days_to_threshold(*args)


def test_bad_campaign_input_is_refused():
    """Empty, malformed or duplicate legs, an out-of-range arc length, an unknown or unavailable
    combination and bad a priori raise InputError before any propagation (reference: the docstrings)."""
    from mmxsim.navigation.data import TrackingData

    leg = G.QsoLeg("A", 8e8, np.ones(6), 1.0)
    empty = TrackingData.empty()
    with pytest.raises(InputError):
        G.campaign_covariance(None, [], empty, {})
    with pytest.raises(InputError):
        G.campaign_covariance(None, [G.QsoLeg("A", 8e8, np.ones(5), 1.0)], empty, {})
    with pytest.raises(InputError):
        G.campaign_covariance(None, [leg, leg], empty, {})
    with pytest.raises(InputError):
        G.campaign_covariance(None, [G.QsoLeg("A", 8e8, np.ones(6), -1.0)], empty, {})
    with pytest.raises(InputError):
        G.campaign_covariance(None, [leg], empty, {}, arc_days=0.0)
    with pytest.raises(InputError, match="SurfacePlan"):
        G.campaign_covariance(None, [leg], empty, {}, combinations=("doppler+landmarks",))
    with pytest.raises(InputError, match="SurfacePlan"):
        G.campaign_covariance(None, [leg], empty, {}, surface="OROCHI")
    with pytest.raises(InputError, match="TrackingData"):
        G.campaign_covariance(None, [leg], None, {})
    with pytest.raises(InputError, match="DynamicsModel"):
        G.campaign_covariance(None, [leg], empty, {})
    with pytest.raises(InputError):
        G.check_combinations(("radar",))
    with pytest.raises(InputError):
        G.check_combinations(("doppler", "doppler"))
    with pytest.raises(InputError):
        G.LocalApriori(position_km=-1.0)
    with pytest.raises(InputError):
        G.GlobalApriori(other={"phobos:dx": 0.0})
    with pytest.raises(InputError):
        G.GlobalApriori().sigma("mars:gm")


@pytest.fixture(scope="module")
def small_campaign():
    """QSO-M for 2 days in two 1-day arcs, Phobos harmonics of degree 2 estimated (GM, C/S to degree 2,
    libration), daily passes of the od analysis' default stations."""
    from types import SimpleNamespace

    from mmxsim.analyses._navigation import ground_stations, od_model
    from mmxsim.analyses.geodesy import _legs, daily_tracks
    from mmxsim.ephemeris import default_ephemeris
    from mmxsim.navigation.measurements import MeasurementSettings
    from mmxsim.navigation.schedule import ScheduleSettings, schedule
    from mmxsim.orbits.handoff import full_model

    eph = default_ephemeris()
    base = full_model(eph, phobos_degree=8, srp=True)
    model = od_model(base, True, True, 2, True)
    t0 = 8.6e8  # 2027-04-03
    legs = _legs(SimpleNamespace(qsos=("QSO-M",), days_per_qso=2.0), t0, base, eph)
    t1 = t0 + 2 * 86400.0
    stations, cat = ground_stations(("DSS-14", "DSS-43", "DSS-63"), eph, t0, t1)
    tracks, blackouts = daily_tracks(cat, eph, t0, t1, "X", 8.0, 60.0)
    rows = schedule(tracks, ScheduleSettings(), blackouts)
    res = G.campaign_covariance(model, legs, rows, stations, arc_days=1.0,
                                settings=MeasurementSettings(troposphere=True, shapiro=True), ephemeris=eph,
                                elevation_mask_deg=0.0)
    return res, (model, legs, rows, stations, eph)


def test_one_arc_equals_the_batch_covariance_of_the_full_problem(small_campaign):
    """One arc: the engine's reduced covariance of the globals equals the global block of the batch
    estimator's formal covariance of the same arc with every parameter (state, SRP, empirical, range
    biases, globals) and the same a priori, to 1e-8 relative per σ (measured 3e-10) and 1e-6 per correlation
    (reference: mmxsim.navigation.estimation.batch_least_squares, square-root information QR, an
    independent code path from the normal equations and Schur complement)."""
    from mmxsim.navigation.estimation import BatchSettings, batch_least_squares
    from mmxsim.navigation.measurements import MeasurementSettings
    from mmxsim.navigation.od import OrbitProblem, Prior, simulate

    _, (model, legs, rows, stations, eph) = small_campaign
    leg = G.QsoLeg(legs[0].name, legs[0].t0, legs[0].x0, 1.0)
    settings = MeasurementSettings(troposphere=True, shapiro=True)
    r1 = G.campaign_covariance(model, [leg], rows, stations, arc_days=1.0, settings=settings, ephemeris=eph)
    a0, a1 = leg.t0, leg.t0 + 86400.0
    d = rows.select((rows.t - rows.count_time - G.LIGHT_TIME_MARGIN_S >= a0) & (rows.t <= a1))
    loc, glo = G.LocalApriori(), G.GlobalApriori()
    mv = G._model_values(model)
    est = {k: Prior(mv[k], loc.sigma(k, mv[k])) for k in ("srp:cr_area_over_mass", "emp:r", "emp:t", "emp:n")}
    est.update({f"bias:{s}": Prior(0.0, loc.range_bias_km) for s in sorted(set(d.receiver[d.kind == "range"]))})
    est.update({k: Prior(mv[k], glo.sigma(k)) for k in r1.parameters})
    state = [Prior(float(v), loc.position_km if i < 3 else loc.velocity_km_s) for i, v in enumerate(leg.x0)]
    prob = OrbitProblem(model, a0, a1, d, stations, state, estimate=est, settings=settings, ephemeris=eph,
                        elevation_mask_deg=None)
    prob = OrbitProblem(model, a0, a1, simulate(prob, prob.p0, noise=False), stations, state, estimate=est,
                        settings=settings, ephemeris=eph, elevation_mask_deg=None)
    b = batch_least_squares(prob, BatchSettings(max_iterations=1, n_sigma=None), initial=prob.p0)
    idx = [prob.names.index(k) for k in r1.parameters]
    Pb = b.covariance[np.ix_(idx, idx)]
    Pe = r1.covariance["doppler"]
    sb, se = np.sqrt(np.diag(Pb)), np.sqrt(np.diag(Pe))
    assert np.max(np.abs(se / sb - 1)) < 1e-8  # measured 3e-10
    assert np.max(np.abs(Pe / np.outer(se, se) - Pb / np.outer(sb, sb))) < 1e-6


def test_small_campaign_sigma_decreases_with_days(small_campaign):
    """Formal σ never grows with days (information only adds; 1e-12 relative slack for rounding), GM and
    C22 fall well below their a priori (factor > 2) in two days of a 50 km QSO, the per-QSO curve of a
    one-QSO campaign is the cumulative one, and the final σ is the covariance's diagonal (1e-10);
    reference: the properties of a sum of positive semi-definite informations."""
    r = small_campaign[0]
    c = "doppler"
    assert r.parameters[0] == "phobos:gm" and "phobos:C22" in r.parameters
    assert r.parameters[-1] == "phobos:libration"
    S = r.sigma[c]
    assert S.shape == (2, len(r.parameters)) and np.allclose(r.days, [1.0, 2.0])
    assert np.all(S[0] <= r.apriori_sigma * (1 + 1e-12)) and np.all(S[1] <= S[0] * (1 + 1e-12))
    for k in ("phobos:gm", "phobos:C22"):
        assert S[-1, r.index(k)] < 0.5 * r.apriori_sigma[r.index(k)], k
    per = r.sigma_per_qso[c]["QSO-M"]
    assert np.allclose(per["sigma"], S, rtol=1e-12) and np.allclose(per["days"], [1.0, 2.0])
    assert np.allclose(np.sqrt(np.diag(r.covariance[c])), S[-1], rtol=1e-10)
    dt = r.days_to_threshold[c]["QSO-M"]
    assert set(dt) == {"phobos:gm", "phobos:C20", "phobos:C22"}
    assert dt["phobos:C20"]["days"] > 0 and dt["phobos:C22"]["days"] > 0
    # GM's a priori (0.085 % of its value) already meets 0.1 %: 0 days, not extrapolated
    assert dt["phobos:gm"]["days"] == 0.0 and not dt["phobos:gm"]["extrapolated"]
    assert r.timings["arcs"] == 2 and all(n > 100 for n in r.setup["rows_per_arc"])
    # provenance: the schedule's noise and cadence (ScheduleSettings defaults: 0.1 mm/s every 60 s, 1 m every 600 s)
    nz = r.setup["noise"]
    assert np.isclose(nz["doppler"]["sigma_median"], 1e-7) and nz["doppler"]["cadence_median_s"] == 60.0
    assert np.isclose(nz["range"]["sigma_median"], 1e-3) and nz["range"]["cadence_median_s"] == 600.0
    import json

    json.dumps(r.to_dict())


def test_landmarks_and_lidar_in_one_arc_equal_the_batch_covariance(small_campaign):
    """One 6 h arc of QSO-M with Doppler, 40 OROCHI images of 60 landmarks (their positions nuisance
    globals, a priori 20 m) and LIDAR every 60 s: the engine's covariance of Phobos' globals equals the
    batch estimator's formal covariance of the same problem built here (state, SRP, empirical, range
    biases, camera and LIDAR pointing biases, globals, landmark positions; same rows, same a priori),
    to 1e-6 relative per σ; and the surface data shrink the libration's σ (which Doppler alone hardly
    improves: a check that can fail). Reference: batch_least_squares (square-root information QR)."""
    from mmxsim.bodies.shapes import phobos_shape
    from mmxsim.navigation import optical as op
    from mmxsim.navigation.estimation import BatchSettings, batch_least_squares
    from mmxsim.navigation.measurements import MeasurementSettings
    from mmxsim.navigation.od import OrbitProblem, Prior, simulate, simulate_altimetry, simulate_optical

    _, (model, legs, rows, stations, eph) = small_campaign
    days = 0.25
    leg = G.QsoLeg(legs[0].name, legs[0].t0, legs[0].x0, days)
    shape = phobos_shape("ernst")
    plan = G.SurfacePlan(shape, op.select_landmarks(shape, 60), images_per_day=160.0, lidar_hz=1 / 60.0)
    settings = MeasurementSettings(troposphere=True, shapiro=True)
    r = G.campaign_covariance(model, [leg], rows, stations, arc_days=days, settings=settings, ephemeris=eph,
                              combinations=("doppler", "doppler+landmarks+lidar"), surface=plan)
    assert r.setup["surface"]["rows"]["landmark"] > 100 and r.setup["surface"]["rows"]["lidar"] > 100
    a0, a1 = leg.t0, leg.t0 + days * 86400.0
    d = rows.select((rows.t - rows.count_time - G.LIGHT_TIME_MARGIN_S >= a0) & (rows.t <= a1))
    loc, glo = G.LocalApriori(), G.GlobalApriori()
    mv = G._model_values(model)
    est = {k: Prior(mv[k], loc.sigma(k, mv[k])) for k in ("srp:cr_area_over_mass", "emp:r", "emp:t", "emp:n")}
    est.update({f"bias:{s}": Prior(0.0, loc.range_bias_km) for s in sorted(set(d.receiver[d.kind == "range"]))})
    state = [Prior(float(v), loc.position_km if i < 3 else loc.velocity_km_s) for i, v in enumerate(leg.x0)]
    probe = OrbitProblem(model, a0, a1, d, stations, state, estimate=dict(est), settings=settings, ephemeris=eph,
                         elevation_mask_deg=None)
    od = simulate_optical(probe, probe.p0, t=plan.image_epochs(a0, a1), landmarks=plan.landmarks,
                          camera=plan.camera, shape=shape, noise=False)
    ad = simulate_altimetry(probe, probe.p0, t=plan.shot_epochs(a0, a1), shape=shape, noise=False)
    est.update({f"point:cam:{k}": Prior(0.0, loc.pointing_rad) for k in (1, 2, 3)})
    est.update({f"lidarpoint:{k}": Prior(0.0, loc.pointing_rad) for k in (1, 2, 3)})
    est.update({k: Prior(mv[k], glo.sigma(k)) for k in r.parameters})
    est.update({nm: Prior(float(plan.landmarks.position_km[int(nm.split(":")[1]), "xyz".index(nm[-1])]),
                          glo.landmark_km) for nm in plan.landmark_names()})
    prob = OrbitProblem(model, a0, a1, simulate(probe, probe.p0, noise=False), stations, state, estimate=est,
                        settings=settings, ephemeris=eph, elevation_mask_deg=None, optical=od, altimetry=ad)
    b = batch_least_squares(prob, BatchSettings(max_iterations=1, n_sigma=None), initial=prob.p0)
    idx = [prob.names.index(k) for k in r.parameters]
    sb = np.sqrt(np.diag(b.covariance[np.ix_(idx, idx)]))
    se = np.sqrt(np.diag(r.covariance["doppler+landmarks+lidar"]))
    assert np.max(np.abs(se / sb - 1)) < 1e-6, np.max(np.abs(se / sb - 1))
    j = r.index("phobos:libration")
    assert r.sigma["doppler+landmarks+lidar"][-1, j] < 0.5 * r.sigma["doppler"][-1, j]
