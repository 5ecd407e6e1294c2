"""The assembled orbit-determination problem (mmxsim.navigation.od.OrbitProblem).

Test case (``case`` below): at the reference scenario's epoch, a Mars orbit 1.2 times farther out
than the reference QSO state (radius ~11,000 km, about 1900 km outside Phobos' orbit: smooth enough
for finite differences, unlike the QSO itself over a day), flown one day with Mars J2, Phobos as a
point mass (its GM a runtime parameter), cannonball SRP with the Mars and Phobos shadows and an RTN empirical acceleration (heyoka tolerance 1e-14), one impulsive
manoeuvre 10 h after the start; tracked by DSS-14, DSS-63 and DSS-43 (the catalogue's stations with
the Earth orientation of comms, as analyses._navigation.ground_stations builds them), one track per
station over the whole day (pass ids 0, 1, 2), two-way range and Doppler (60 s count) every 30 min
and ΔDOR on the Goldstone-Madrid baseline every hour, keeping the rows whose spacecraft elevation is
above 10 deg at every participating station (a hundred rows or so, counted in the first test).
Troposphere and Shapiro on.
"""

from __future__ import annotations

import numpy as np
import pytest

from mmxsim.errors import InputError
from mmxsim.navigation.od import OrbitProblem, Prior, simulate

STATIONS = ("DSS-14", "DSS-63", "DSS-43")
TROPO = True
TOL = 1e-14
SPAN = 86400.0
T_MAN = 10 * 3600.0
ESTIMATE = ["srp:cr_area_over_mass", "emp:r", "emp:t", "emp:n", "dv0_x", "dv0_y", "dv0_z",
            "bias:DSS-14", "bias:pass1"]
CONSIDER = ["phobos:gm", "bias:DSS-43"]


@pytest.fixture(scope="module")
def case():
    from mmxsim.analyses._navigation import ground_stations
    from mmxsim.dynamics import DynamicsModel, EmpiricalAcceleration, MarsGravity, PhobosGravity, SolarRadiationPressure
    from mmxsim.mission.runner import build_model, initial_state
    from mmxsim.navigation.measurements import MeasurementSettings, elevation_mask
    from mmxsim.navigation.schedule import ScheduleSettings, Track, schedule
    from mmxsim.scenario import reference_scenario

    s = reference_scenario()
    _, eph = build_model(s)
    t0 = float(s.t0_tdb)
    t1 = t0 + SPAN
    x0 = initial_state(s, t0, eph)
    # a Mars orbit 1.2 times farther out than the QSO (bound, about 1900 km outside Phobos' orbit):
    # smooth enough for finite differences to 1e-7 (the QSO itself is too sensitive over a day)
    x0 = np.concatenate([1.2 * x0[:3], x0[3:] / np.sqrt(1.2)])
    model = DynamicsModel(forces=[MarsGravity(2), PhobosGravity("point_mass", gm_parameter=True),
                                  SolarRadiationPressure(), EmpiricalAcceleration()], ephemeris=eph, tolerance=TOL)
    stations, _ = ground_stations(STATIONS, eph, t0, t1)
    tracks = [Track(n, t0 + 3000.0, t1, k) for k, n in enumerate(STATIONS)]
    rows = schedule(tracks, ScheduleSettings(doppler_interval_s=1800.0, range_interval_s=1800.0,
                                             ddor_interval_s=3600.0, baselines=(("DSS-14", "DSS-63"),)))
    settings = MeasurementSettings(troposphere=TROPO, shapiro=True)
    probe = OrbitProblem(model, t0, t1, rows, stations, list(x0), settings=settings, ephemeris=eph,
                         elevation_mask_deg=None)
    _, comp, _ = probe.computed(probe.p0)
    rows = rows.select(elevation_mask(comp, 10.0))
    return dict(model=model, eph=eph, t0=t0, t1=t1, x0=x0, stations=stations, rows=rows, settings=settings)


def make(case, data=None, estimate=ESTIMATE, consider=CONSIDER, state_sigma=(1.0, 1e-4), values=None, sigmas=None,
         **kw):
    """An OrbitProblem of the case; ``values`` overrides a priori means; a priori sigmas are wide."""
    from mmxsim.bodies import GM_PHOBOS

    vals = {"srp:cr_area_over_mass": 1.3 * 20.0 / 2000.0, "phobos:gm": float(GM_PHOBOS), "emp:r": 0.0,
            "emp:t": 0.0, "emp:n": 0.0, "dv0_x": 2e-4, "dv0_y": -1e-4, "dv0_z": 5e-5}
    sig = {"srp:cr_area_over_mass": 1e-3, "phobos:gm": 6e-7, "emp:r": 1e-12, "emp:t": 1e-12, "emp:n": 1e-12,
           "dv0_x": 1e-5, "dv0_y": 1e-5, "dv0_z": 1e-5}
    vals.update(values or {})
    sig.update(sigmas or {})
    state = [Prior(v, state_sigma[0] if i < 3 else state_sigma[1]) for i, v in enumerate(vals.get("state", case["x0"]))]
    est = {k: Prior(vals.get(k, 0.0), sig.get(k, 5e-3)) for k in estimate}
    con = {k: Prior(vals.get(k, 0.0), sig.get(k, 5e-3)) for k in consider}
    mans = [(case["t0"] + T_MAN, [vals["dv0_x"], vals["dv0_y"], vals["dv0_z"]])]
    return OrbitProblem(case["model"], case["t0"], case["t1"], case["rows"] if data is None else data,
                        case["stations"], state, estimate=est, consider=con, maneuvers=mans,
                        settings=case["settings"], ephemeris=case["eph"], **kw)


def test_case_has_every_data_type(case):
    """The case exercises range and Doppler at each station and ΔDOR (counted; guards the tests below)."""
    d = case["rows"]
    for st in STATIONS:
        assert np.sum((d.kind == "range") & (d.receiver == st)) >= 5, st
        assert np.sum((d.kind == "doppler") & (d.receiver == st)) >= 5, st
    assert np.sum(d.kind == "ddor") >= 1


# finite-difference steps: position km, velocity km/s, Cr A/m m^2/kg, empirical km/s^2, dv km/s,
# biases km (1 km: a range of 3e8 km rounds at 3e-8 km), Phobos GM km^3/s^2. The steps are large
# because the orbit's response to them is close to linear and the differences are noise-limited
# (their error scaled as 1/step at 100 times smaller steps)
STEPS = {"x": 1.0, "y": 1.0, "z": 1.0, "vx": 1e-4, "vy": 1e-4, "vz": 1e-4, "srp:cr_area_over_mass": 0.3,
         "emp:r": 3e-8, "emp:t": 3e-8, "emp:n": 9e-8, "dv0_x": 1e-3, "dv0_y": 1e-3, "dv0_z": 1e-3,
         "bias:DSS-14": 1.0, "bias:pass1": 1.0, "phobos:gm": 3e-3, "bias:DSS-43": 1.0}


def _fd4(f, x, j, h):
    def g(k):
        e = np.array(x, float)
        e[j] += k * h
        return f(e)

    return (8 * (g(1) - g(-1)) - (g(2) - g(-2))) / (12 * h)


def test_full_chain_partials_vs_central_differences(case):
    """H (estimated: state, SRP, empirical r/t/n, the manoeuvre's dv, a range bias per station and one
    per pass) and C (consider: Phobos GM, a station bias) of OrbitProblem.linearize vs fourth-order
    central differences (8 (f(h) - f(-h)) - (f(2h) - f(-2h))) / 12h of OrbitProblem.computed (steps
    STEPS), for range, Doppler and ΔDOR rows from real stations.

    Tolerances, per column and data type: ||H - FD|| / ||H|| < 1e-6, and over all rows weighted by
    1/sigma (as the estimators see them) ||W (H - FD)|| / ||W H|| < 1e-6; except the Doppler rows
    of SRP, emp:n and Phobos GM (< 1e-4, and so their weighted figure), whose Doppler signal over
    the step is small: there the differences sit at the Doppler model's own numerical noise (their
    error scales as 1/step and does not change with the integrator's tolerance, 1e-14 or 1e-15).
    Columns that are zero for a data type (biases on Doppler and ΔDOR, dv before the manoeuvre)
    must be exactly zero in both. Measured: largest 7.5e-7 (vy, Doppler); range and ΔDOR <= 3e-7;
    Doppler of SRP / emp:n / GM 4e-6, 2e-6, 1.2e-5.

    Before the fix of the ΔDOR partial (it lacked the troposphere's dependence on the elevation) the
    ΔDOR rows showed 5e-6 in every column."""
    prob = make(case)
    p0, c0 = prob.p0, prob.c0
    lin = prob.linearize(p0)
    d = prob.data
    w = 1.0 / d.sigma
    names = [*prob.names, *prob.consider_names]
    J = np.hstack([lin.H, lin.C])
    worst, weighted = {}, {}
    noisy = {("srp:cr_area_over_mass", "doppler"), ("emp:n", "doppler"), ("phobos:gm", "doppler")}
    for j, nm in enumerate(names):
        if j < prob.n:
            fd = _fd4(lambda p: prob.computed(p)[0], p0, j, STEPS[nm])
        else:
            fd = _fd4(lambda c: prob.computed(p0, c)[0], c0, j - prob.n, STEPS[nm])
        weighted[nm] = float(np.linalg.norm(w * (J[:, j] - fd)) / np.linalg.norm(w * J[:, j]))
        for kind in ("range", "doppler", "ddor"):
            r = d.kind == kind
            a, b = J[r, j], fd[r]
            if nm.startswith("bias:") and kind != "range":
                assert np.all(a == 0) and np.all(b == 0), (nm, kind)
                continue
            na = np.linalg.norm(a)
            assert na > 0, (nm, kind)
            worst[(nm, kind)] = float(np.linalg.norm(a - b) / na)
    print("weighted:", {k: f"{v:.1e}" for k, v in weighted.items()})
    print("per type:", {k: f"{v:.1e}" for k, v in worst.items()})
    bad = {k: v for k, v in weighted.items() if v > (1e-4 if (k, "doppler") in noisy else 1e-6)}
    bad.update({k: v for k, v in worst.items() if v > (1e-4 if k in noisy else 1e-6)})
    assert not bad, bad
    # the manoeuvre's partials vanish before it (with its light time)
    early = d.t < case["t0"] + T_MAN
    assert early.sum() > 10
    assert np.all(J[early][:, [names.index(f"dv0_{a}") for a in "xyz"]] == 0)


# --- estimators on the orbit problem ---------------------------------------------------------------
SMALL = ["srp:cr_area_over_mass", "bias:DSS-14"]


_TRUTH = {}


def _truth_and_data(case, seed, estimate=SMALL, state_sigma=(1.0, 1e-4)):
    """(problem with its a priori mean drawn around the truth, truth p, noisy data); the noise-free
    values are computed once per set of estimated parameters."""
    key = (tuple(estimate), state_sigma)
    if key not in _TRUTH:
        truth = make(case, estimate=estimate, consider=[], state_sigma=state_sigma)
        p_true = truth.p0.copy()
        p_true[-1] = 2e-3  # a 2 m range bias at DSS-14
        _TRUTH[key] = (truth, p_true, simulate(truth, p_true, noise=False))
    truth, p_true, clean = _TRUTH[key]
    rng = np.random.default_rng(seed)
    data = clean.with_values(clean.value + rng.standard_normal(len(clean)) * clean.sigma)
    sig = np.sqrt(np.diag(truth.P0))
    mean = p_true + rng.standard_normal(len(p_true)) * sig
    vals = {"state": mean[:6], **dict(zip(estimate, mean[6:]))}
    return make(case, data=data, estimate=estimate, consider=[], values=vals, state_sigma=state_sigma), p_true, data


def test_batch_and_sequential_agree_on_the_orbit_problem(case):
    """Batch vs square-root information filter and smoother, no process noise (Tapley, Schutz & Born
    2004 §4.7: the same linear problem; mmxsim.navigation.sequential's module doc). Noisy data, a priori
    drawn around the truth; the batch converged to a step < 1e-2 sigma (dynamics tolerance 1e-14;
    tighter is not reachable: the Gauss-Newton steps stall at 1e-3..4e-3 sigma, the weighted RMS
    wandering by 3e-5 relative between iterations, the Doppler model's numerical noise of ~1e-3 of
    its sigma, i.e. ~1e-4 mm/s); one more batch step about the converged estimate, and the filter
    linearised about the same estimate: the filter's final deviation vs the batch step mapped to the
    final epoch within 1e-3 sigma, final covariances within 1e-6 relative (|dP_ij| / sqrt(P_ii P_jj)); the smoother at t0
    equals the batch (same tolerances)."""
    from mmxsim.navigation.estimation import BatchSettings, EstimationWarning, batch_least_squares
    from mmxsim.navigation.sequential import square_root_information_filter

    prob, p_true, _ = _truth_and_data(case, seed=3)
    b = batch_least_squares(prob, BatchSettings(step_tolerance=1e-2, n_sigma=None, max_iterations=10))
    assert b.converged, b.message
    with pytest.warns(EstimationWarning, match="not converged after 1"):  # one step, on purpose
        one = batch_least_squares(prob, BatchSettings(max_iterations=1, n_sigma=None), initial=b.estimate)
    dx = one.estimate - b.estimate
    f = square_root_information_filter(prob, reference=b.estimate, t_final=case["t1"])
    assert f.epochs[-1] == case["t1"]
    phi = prob.stm(case["t1"], b.estimate)[0]
    x_b = phi @ dx
    P_b = phi @ one.covariance @ phi.T
    P_f = f.final_covariance
    sf = np.sqrt(np.diag(P_f))
    err_x = np.abs(f.final_deviation - x_b) / sf
    err_P = np.abs(P_f - P_b) / np.outer(sf, sf)
    print(f"filter vs batch at t1: {err_x.max():.2e} sigma, covariance {err_P.max():.2e}")
    assert err_x.max() < 1e-3
    assert err_P.max() < 1e-6
    s0 = np.sqrt(np.diag(one.covariance))
    err_s = np.abs(f.smoothed_p0 - one.estimate) / s0
    err_Ps = np.abs(f.smoothed_covariance[0] - one.covariance) / np.outer(s0, s0)
    print(f"smoother vs batch at t0: {err_s.max():.2e} sigma, covariance {err_Ps.max():.2e}")
    assert err_s.max() < 1e-3
    assert err_Ps.max() < 1e-6
    # the estimate is a real one: within 4 sigma of the truth, and far better than the a priori
    assert np.all(np.abs(one.estimate - p_true) < 4 * s0)
    assert np.all(s0 < 0.5 * np.sqrt(np.diag(prob.P0)))


# Monte Carlo a priori: 50 m and 5 mm/s per axis (the batch then converges in two or three iterations)
MC_PRIOR = (0.05, 5e-6)


def _monte_carlo(case, runs):
    from mmxsim.navigation.covariance import nees, nees_band
    from mmxsim.navigation.estimation import BatchSettings, batch_least_squares

    errs, covs, rms = [], [], []
    for k in range(runs):
        prob, p_true, data = _truth_and_data(case, seed=100 + k, state_sigma=MC_PRIOR)
        b = batch_least_squares(prob, BatchSettings(step_tolerance=0.05, n_sigma=None, max_iterations=5))
        assert b.converged, b.message
        errs.append(b.estimate - p_true)
        covs.append(b.covariance)
        rms.append(np.mean((b.postfit_residuals / data.sigma) ** 2))
    v = nees(np.asarray(errs), np.asarray(covs))
    lo, hi = nees_band(len(p_true), runs)
    ratio = float(np.sqrt(np.mean(rms)))
    return float(v.mean()), (lo, hi), ratio, len(data)


def _check_monte_carlo(mean, band, ratio, m, n, runs):
    # post-fit residuals: E[sum r^2 / sigma^2] = m - n (n parameters absorbed, weak a priori)
    expected = np.sqrt((m - n) / m)
    print(f"{runs} runs: mean NEES {mean:.3f} in 95 % band {band[0]:.3f}..{band[1]:.3f}; "
          f"post-fit RMS/sigma {ratio:.4f} (expected {expected:.4f} for m = {m}, n = {n})")
    assert band[0] <= mean <= band[1]
    assert abs(ratio / expected - 1) < 0.05
    assert abs(ratio - 1) < 0.05


def test_monte_carlo_consistency_small(case):
    """Monte Carlo on the orbit problem (the case's Mars orbit, one day, range + Doppler + ΔDOR from
    three stations; estimated: state (a priori 50 m, 5 mm/s), SRP (1e-3 m^2/kg, 8 %), a DSS-14 range
    bias (5 m; truth 2 m); 8 parameters), 20 noisy data sets
    with new noise and new a priori draws: mean NEES of the estimated parameters inside its 95 %
    chi-square band (navigation.covariance.nees_band: chi2(8 x 20) / 20); post-fit residual RMS /
    sigma within 5 % of 1 and of sqrt((m - n) / m) (1 but for the n parameters the fit absorbs).
    Measured: mean NEES 7.06 in 6.34..9.85; RMS / sigma 0.981 (m = 108)."""
    runs = 20
    mean, band, ratio, m = _monte_carlo(case, runs)
    _check_monte_carlo(mean, band, ratio, m, 6 + len(SMALL), runs)


@pytest.mark.slow
def test_monte_carlo_consistency_200(case):
    """The same with 200 data sets (issue 16's validation: >= 200): NEES in its 95 % band
    (chi2(8 x 200) / 200), post-fit RMS / sigma within 5 %. Measured (2 min on 2 shared cores): mean
    NEES 8.24 in 7.46..8.56; RMS / sigma 0.972."""
    runs = 200
    mean, band, ratio, m = _monte_carlo(case, runs)
    _check_monte_carlo(mean, band, ratio, m, 6 + len(SMALL), runs)


# --- bad inputs ---------------------------------------------------------------------------------
def test_measurement_outside_any_pass_is_refused(case):
    """A range row while DSS-43 cannot see the spacecraft (below its horizon, found from the
    geometry) -> InputError at the first computation naming od.data, the row, the station and the
    elevation (reference: the problem's definition, every observation inside a pass, 0 deg by
    default); with elevation_mask_deg=None the same row is computed (no check); a bad mask is refused."""
    from mmxsim.navigation.data import TrackingData
    from mmxsim.navigation.measurements import compute

    prob = make(case)
    traj = prob.trajectory(prob.p0)
    t = case["t0"] + np.arange(3600.0, SPAN - 3600.0, 1800.0)
    probe = TrackingData(kind=["range"] * len(t), t=t, receiver=["DSS-43"] * len(t), value=np.zeros(len(t)),
                         sigma=np.full(len(t), 1e-3))
    el = compute(probe, traj, case["stations"], case["settings"], case["eph"]).elevation_deg
    below = np.flatnonzero(np.all(el < -5.0, axis=1))
    assert below.size, "DSS-43 never below the horizon in the case?"
    bad = TrackingData.concatenate([case["rows"], probe.select(below[:1])]).sorted()
    p = make(case, data=bad)
    with pytest.raises(InputError) as exc:
        p.computed(p.p0)
    msg = str(exc.value)
    assert "od.data row" in msg and "DSS-43" in msg and "elevation" in msg and "od.elevation_mask_deg" in msg
    # checked once, at the first computation: the case's own rows pass
    ok = make(case)
    ok.computed(ok.p0)
    assert make(case, data=bad, elevation_mask_deg=None).computed(ok.p0)[0].size == len(bad)
    for mask in (95.0, float("nan"), "low"):
        with pytest.raises(InputError, match="od.elevation_mask_deg"):
            make(case, elevation_mask_deg=mask)


def test_unknown_station_negative_noise_and_double_declaration(case):
    """Unknown station in the data -> InputError naming od.stations and the station; an estimated
    bias of an unknown station -> names od.estimate.bias:...; negative noise -> the data's sigma
    column and row; a parameter both estimated and considered -> od.consider; negative a priori
    sigma -> od.a_priori (reference: the package's input rules, common.md)."""
    from mmxsim.navigation.data import TrackingData

    d = case["rows"]
    rec = d.receiver.copy()
    rec[0] = "DSS-99"
    unknown = TrackingData(kind=d.kind, t=d.t, receiver=rec, value=d.value, sigma=d.sigma,
                           transmitter=np.where(np.arange(len(d)) == 0, "DSS-99", d.transmitter), station2=d.station2,
                           count_time=d.count_time, pass_id=d.pass_id)
    with pytest.raises(InputError, match=r"od\.stations.*DSS-99"):
        make(case, data=unknown)
    with pytest.raises(InputError, match=r"od\.estimate\.bias:DSS-99"):
        make(case, estimate=["bias:DSS-99"], consider=[])
    sig = d.sigma.copy()
    sig[3] = -1e-3
    with pytest.raises(InputError, match=r"sigma \(row 3\)"):
        TrackingData(kind=d.kind, t=d.t, receiver=d.receiver, value=d.value, sigma=sig, station2=d.station2,
                     count_time=d.count_time)
    with pytest.raises(InputError, match=r"od\.consider.*phobos:gm"):
        make(case, estimate=["phobos:gm"], consider=["phobos:gm"])
    with pytest.raises(InputError, match=r"od\.a_priori\.srp"):
        make(case, estimate=["srp:cr_area_over_mass"], consider=[], sigmas={"srp:cr_area_over_mass": -1.0})


def test_singular_problems_name_the_parameters(case):
    """A range bias per station AND per pass on the same rows (DSS-14 has one track, pass 0), both
    without a priori -> SingularProblemError whose combination names bias:DSS-14 and bias:pass0 with
    opposite coefficients; a per-pass bias of a pass without data -> names bias:pass7 alone
    (reference: rank deficiency of the design matrix, Tapley et al. 2004 §4.12)."""
    from mmxsim.navigation.estimation import BatchSettings, SingularProblemError, batch_least_squares

    p = make(case, estimate=["bias:DSS-14", "bias:pass0"], consider=[],
             sigmas={"bias:DSS-14": np.inf, "bias:pass0": np.inf})
    with pytest.raises(SingularProblemError) as exc:
        batch_least_squares(p, BatchSettings(max_iterations=2))
    comb = exc.value.combination
    assert set(comb) == {"bias:DSS-14", "bias:pass0"}
    assert comb["bias:DSS-14"] == pytest.approx(-comb["bias:pass0"], rel=1e-6)
    assert "bias:DSS-14" in str(exc.value) and "not observable" in str(exc.value)
    p = make(case, estimate=["bias:pass7"], consider=[], sigmas={"bias:pass7": np.inf})
    with pytest.raises(SingularProblemError) as exc:
        batch_least_squares(p, BatchSettings(max_iterations=2))
    assert set(exc.value.combination) == {"bias:pass7"}


def test_a_diverging_batch_says_so(case):
    """A priori 3000 km off in position with a wide a priori: the Gauss-Newton iterations blow up;
    the batch raises EstimationError saying it diverged (or that the model gave non-finite numbers),
    with its iteration table, never a silent result (reference: estimation's divergence rules)."""
    from mmxsim.navigation.estimation import BatchSettings, EstimationError, batch_least_squares

    truth = make(case, estimate=[], consider=[])
    data = simulate(truth, truth.p0, seed=1)
    far = np.array(case["x0"], float)
    far[:3] *= 0.35  # ~4000 km from Mars' centre
    p = make(case, data=data, estimate=[], consider=[], values={"state": far}, state_sigma=(1e4, 1.0))
    with pytest.raises(EstimationError, match="diverged|non-finite") as exc:
        batch_least_squares(p, BatchSettings(max_iterations=15, divergence_iterations=2))
    print(str(exc.value))
    assert "iter" in str(exc.value)


def test_kept_computation_is_returned_at_its_point_only(case, monkeypatch):
    """OrbitProblem.computed keeps its last computation: the same point again (or a point handed
    over with keep_computed, e.g. a subset of a larger problem's rows) returns it without computing,
    the elevation check included; another point computes; a computation of other rows is refused."""
    import mmxsim.navigation.measurements as meas

    calls = []
    real = meas.compute
    monkeypatch.setattr(meas, "compute", lambda *a, **k: calls.append(1) or real(*a, **k))
    big = make(case)
    p = big.p0
    v1, comp, traj = big.computed(p)
    v2, comp2, _ = big.computed(p.copy())
    assert len(calls) == 1 and comp2 is comp and np.array_equal(v1, v2)
    keep = np.arange(len(case["rows"])) % 3 != 0
    sub = make(case, data=case["rows"].select(keep))
    sub.keep_computed(p, None, comp.select(keep), traj)
    v3, _, _ = sub.computed(p)
    assert len(calls) == 1 and np.array_equal(v3, v1[keep])  # range biases: the same columns, kept rows
    q = p.copy()
    q[0] += 1e-3
    sub.computed(q)
    assert len(calls) == 2
    with pytest.raises(InputError, match="keep_computed"):
        sub.keep_computed(p, None, comp, traj)
    # a kept computation is checked against the elevation mask like a computed one
    strict = make(case, elevation_mask_deg=89.0)
    strict.keep_computed(p, None, comp, traj)
    with pytest.raises(InputError, match="od.elevation_mask_deg"):
        strict.computed(p)
