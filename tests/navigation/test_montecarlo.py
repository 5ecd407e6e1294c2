"""Monte Carlo of the batch estimation (navigation.montecarlo; issue 17 validation).

Case: Doppler of a low QSO about Phobos. The low planar QSO of tests/dynamics/test_phobos_parameters.py
(``periodic_qso(25.0, degree=5)``, its Hill state copied below, 24-37 km from Phobos' centre) placed at
the reference scenario's epoch; model: Mars J2, Phobos' degree-5 harmonics with GM, the normalised
Stokes coefficients to ``degree`` and the forced libration amplitude as runtime parameters, the Sun;
heyoka tolerance 1e-15. Two-way X-band Doppler (60 s count, every 60 s, 0.1 mm/s) of DSS-14, DSS-63 and
DSS-43 above 10 deg. Estimated: the state, GM, the Stokes coefficients of degree 2 (C20, C21, S21,
C22, S22) and the libration amplitude. A priori, from which the truth is drawn: state 10 m and 1 mm/s
per axis (assumed), GM +-6e-7 km^3/s^2 (Jacobson 2010, /work/shared/nav-facts.md), each normalised
Stokes coefficient +-5e-3 (assumed; Yang 2019's C20 is known to about a quarter), libration
+-0.03 deg (Burmeister 2018); means: the model's values (shipped field, libration -1.143 deg).
"""

from __future__ import annotations

import functools
import json
import time

import numpy as np
import pytest

from mmxsim.errors import InputError

QSO_HILL = np.array([-2.50000000e+01, 0.0, -8.25848889e-03, -1.32506515e-05, 1.36512099e-02, 1.99156994e-06])
STATIONS = ("DSS-14", "DSS-63", "DSS-43")
SIGMA_STATE = (1e-2, 1e-6)  # km, km/s (10 m, 1 mm/s; assumed)
SIGMA_GM = 6e-7  # km^3/s^2, Jacobson 2010 (nav-facts.md)
SIGMA_STOKES = 5e-3  # normalised, assumed
SIGMA_LIBRATION = 0.03 * np.pi / 180.0  # rad, Burmeister et al. 2018 (nav-facts.md)
FAST_HOURS, FAST_RUNS = 6.0, 10


def build_problem(hours: float = FAST_HOURS, degree: int = 2):
    """The OrbitProblem of the module doc (data: the schedule; values to be simulated). Module-level,
    so that ``functools.partial(build_problem, ...)`` is a picklable factory for worker processes."""
    from mmxsim.analyses._navigation import ground_stations
    from mmxsim.dynamics import DynamicsModel, MarsGravity, PhobosGravity, ThirdBody
    from mmxsim.frames import to_mars_icrf
    from mmxsim.mission.runner import build_model
    from mmxsim.navigation.measurements import MeasurementSettings, elevation_mask
    from mmxsim.navigation.od import OrbitProblem, Prior
    from mmxsim.navigation.schedule import ScheduleSettings, Track, schedule
    from mmxsim.scenario import reference_scenario

    s = reference_scenario()
    _, eph = build_model(s)
    t0 = float(s.t0_tdb)
    x0 = to_mars_icrf("PHOBOS_HILL", t0, QSO_HILL, eph)
    t1 = t0 + hours * 3600.0
    ph = PhobosGravity("harmonics", 5, gm_parameter=True, estimate_degree=degree, libration_parameter=True)
    model = DynamicsModel(forces=[MarsGravity(2), ph, ThirdBody("SUN")], ephemeris=eph, tolerance=1e-15)
    stations, _ = ground_stations(STATIONS, eph, t0, t1)
    rows = schedule([Track(n, t0 + 1500.0, t1, k) for k, n in enumerate(STATIONS)],
                    ScheduleSettings(doppler_interval_s=60.0, range_interval_s=0.0))
    settings = MeasurementSettings(troposphere=False, shapiro=True)
    probe = OrbitProblem(model, t0, t1, rows, stations, list(x0), settings=settings, ephemeris=eph,
                         elevation_mask_deg=None)
    rows = rows.select(elevation_mask(probe.computed(probe.p0)[1], 10.0))
    values = ph.parameters()
    est = {"phobos:gm": Prior(values["phobos:gm"], SIGMA_GM)}
    est.update({k: Prior(v, SIGMA_STOKES) for k, v in values.items() if k[7:8] in ("C", "S")})
    est["phobos:libration"] = Prior(values["phobos:libration"], SIGMA_LIBRATION)
    state = [Prior(v, SIGMA_STATE[i // 3]) for i, v in enumerate(x0)]
    return OrbitProblem(model, t0, t1, rows, stations, state, estimate=est, settings=settings, ephemeris=eph,
                        elevation_mask_deg=None)


@pytest.fixture(scope="module")
def problem():
    return build_problem()


@pytest.fixture(scope="module")
def fast(problem):
    from mmxsim.navigation.montecarlo import estimation_monte_carlo

    report = []
    res = estimation_monte_carlo(problem, FAST_RUNS, seed=7, report=report)
    return res, report


def test_fast_monte_carlo_is_consistent(fast):
    """10 runs on a 6 h arc (~520 Doppler points). Every run converges; the bookkeeping holds exactly:
    normalised = (estimate - truth) / sqrt(diag(covariance)) (to 1e-12), the arrays have one row per run.
    Consistency (a check that fails when the formal covariance is wrong by a factor 2 in sigma): the
    mean NEES of the 13-parameter vector lies in its 99.9 % chi-square band (10 runs, 130 degrees of
    freedom: 8.7 .. 19.0; a covariance 4 times too small in variance gives ~4 x 13 = 52) and the pooled
    spread of the Phobos parameters' normalised errors lies within 0.6 .. 1.5 (70 degrees of freedom,
    99.9 % band of a unit spread 0.63 .. 1.38, widened for their correlations). Negative control: the same
    runs with every covariance divided by 4 fail both checks."""
    from mmxsim.navigation.covariance import nees_band
    from mmxsim.navigation.montecarlo import MonteCarloResult

    res, report = fast
    assert res.n_runs == FAST_RUNS and res.completed == FAST_RUNS, res.failures
    assert res.truth.shape == res.estimate.shape == res.sigma.shape == (FAST_RUNS, 13)
    assert res.covariance.shape == (FAST_RUNS, 13, 13)
    sig = np.sqrt(np.diagonal(res.covariance, axis1=1, axis2=2))
    np.testing.assert_allclose(res.normalised, (res.estimate - res.truth) / sig, rtol=1e-12, atol=0)
    assert len(report) == FAST_RUNS + 1 and "converged" in report[0]
    lo, hi = nees_band(13, FAST_RUNS, 0.999)
    assert lo <= np.mean(res.nees) <= hi, (np.mean(res.nees), lo, hi)
    s, _ = res.pooled_spread()
    assert 0.6 <= s <= 1.5, s
    assert set(res.phobos_names) == {"phobos:gm", "phobos:C20", "phobos:C21", "phobos:S21", "phobos:C22",
                                     "phobos:S22", "phobos:libration"}
    header, rows = res.table()
    assert len(rows) == 13 and len(header) == len(rows[0])
    d = json.loads(json.dumps(res.to_dict()))
    assert d["completed"] == FAST_RUNS and len(d["truth"]) == FAST_RUNS and d["failures"] == []
    fig = res.figure()
    assert len(fig.axes) == 4  # histogram + C20, C22, libration
    np.testing.assert_array_equal(res.prior_mean, res.to_dict()["prior_mean"])
    crit = res.criteria()
    assert crit["all_converged"] == (FAST_RUNS, True)
    assert set(crit["within_3sigma"][0]) == {"phobos:C20", "phobos:C22", "phobos:libration"}
    assert crit["nees_mean"][1] == bool(res.nees_band[0] <= np.mean(res.nees) <= res.nees_band[1])

    bad = MonteCarloResult(res.names, [type(r)(**{**r.__dict__, "covariance": r.covariance / 4}) for r in res.runs])
    assert np.mean(bad.nees) > hi
    assert bad.pooled_spread()[0] > 1.5


def test_truth_drawn_from_the_a_priori(fast, problem):
    """The truth of run k is p0 + sqrt(P0) z with z from the run's own stream (SeedSequence(seed).spawn(k+1)[k],
    first child): reproduced exactly here. Over 10 runs the truth's deviations in units of the a priori sigma
    are not all tiny or all huge (their RMS within 0.4 .. 1.8, 130 draws of N(0, 1): 0.85 .. 1.15 at 99.9 %
    would be the strict band; wide because it only guards the scale, e.g. a variance used as a sigma)."""
    from mmxsim.navigation.montecarlo import _run_streams, draw_parameters

    res, _ = fast
    for k in (0, 3, 9):
        rng, _ = _run_streams(7, k)
        p, c = draw_parameters(problem, rng)
        np.testing.assert_array_equal(res.truth[k], p)
        assert c.size == 0
    child = np.random.SeedSequence(7).spawn(4)[3].spawn(2)[0]
    z = np.random.default_rng(child).standard_normal(13)
    np.testing.assert_allclose(res.truth[3], problem.p0 + np.sqrt(np.diag(problem.P0)) * z, rtol=1e-15)
    dev = (res.truth - problem.p0) / np.sqrt(np.diag(problem.P0))
    assert 0.4 < np.sqrt(np.mean(dev ** 2)) < 1.8


def test_draw_keeps_parameters_without_a_priori():
    """draw_parameters: a parameter with infinite a priori sigma stays at p0 exactly; the others move by
    their sigma times a standard normal (checked against the generator's own draws, exact); consider
    parameters are drawn from N(c0, Pcc)."""
    from mmxsim.navigation.montecarlo import draw_parameters

    class Stub:
        p0 = np.array([1.0, 2.0, 3.0])
        P0 = np.diag([4.0, np.inf, 0.25])
        c0 = np.array([10.0])
        Pcc = np.array([[9.0]])

    p, c = draw_parameters(Stub(), np.random.default_rng(3))
    z = np.random.default_rng(3).standard_normal(4)
    assert p[1] == 2.0
    np.testing.assert_allclose(p[[0, 2]], [1.0 + 2.0 * z[0], 3.0 + 0.5 * z[2]], rtol=1e-15)
    np.testing.assert_allclose(c, [10.0 + 3.0 * z[3]], rtol=1e-15)


def test_same_seed_same_result_and_checkpoint_resumes(fast, problem, tmp_path):
    """Determinism: the first 3 runs of a new Monte Carlo with the same seed equal the fast one's bit for bit
    (the runs do not depend on how many there are). Checkpoint: 2 runs written, then 3 asked with the same
    file -> the 2 are read back (bit for bit: floats stored with repr), 1 is computed; the result equals the
    uninterrupted one. A checkpoint of another seed is refused (InputError); another seed gives other truths."""
    from mmxsim.navigation.montecarlo import estimation_monte_carlo

    res, _ = fast
    path = str(tmp_path / "mc.jsonl")
    a = estimation_monte_carlo(problem, 2, seed=7, checkpoint=path)
    report = []
    b = estimation_monte_carlo(problem, 3, seed=7, checkpoint=path, report=report)
    assert "2 runs read from the checkpoint" in report[0]
    assert sum(1 for line in report if line.startswith("run ")) == 1
    for r in (a, b):
        k = r.n_runs
        for name in ("truth", "estimate", "covariance", "normalised", "iterations"):
            np.testing.assert_array_equal(getattr(r, name), getattr(res, name)[:k], err_msg=name)
    with pytest.raises(InputError, match="checkpoint"):
        estimation_monte_carlo(problem, 1, seed=8, checkpoint=path)
    c = estimation_monte_carlo(problem, 1, seed=8)
    assert not np.array_equal(c.truth[0], res.truth[0])


def test_failures_are_counted_not_dropped(problem):
    """With one iteration allowed no run converges (the first iterate's RMS is ~100-2000): each run is a failure
    named in ``failures`` and in the report, no run enters the statistics, and the fraction within 3 sigma is 0
    (a failed run counts as a miss). Bad arguments raise InputError."""
    from mmxsim.navigation.estimation import BatchSettings
    from mmxsim.navigation.montecarlo import estimation_monte_carlo

    report = []
    r = estimation_monte_carlo(problem, 2, seed=1, settings=BatchSettings(max_iterations=1), report=report)
    assert r.completed == 0 and len(r.failures) == 2
    assert all("not converged" in f for f in r.failures)
    assert all(f in report for f in r.failures)
    assert np.all(r.within_3sigma == 0.0)
    assert np.all(np.isnan(r.nees))
    assert r.to_dict()["completed"] == 0
    for kw in (dict(n_runs=0), dict(n_runs=2, seed=-1), dict(n_runs=2, workers=0), dict(n_runs=2, settings={}),
               dict(n_runs=2, extra_sigma=np.zeros(3))):
        with pytest.raises(InputError):
            estimation_monte_carlo(problem, **kw)
    with pytest.raises(InputError, match="factory"):
        estimation_monte_carlo(problem, 2, workers=2)  # the problem holds an open ephemeris file


@pytest.mark.slow
def test_workers_give_the_serial_result(fast):
    """Two worker processes (spawned; the problem rebuilt in each from a picklable factory) give runs 0 and 1
    bit for bit equal to the serial ones. Slow: 15 s (21 s on a loaded 2-core machine), the two processes'
    imports and integrator compilation."""
    from mmxsim.navigation.montecarlo import estimation_monte_carlo

    res, _ = fast
    r = estimation_monte_carlo(functools.partial(build_problem, FAST_HOURS, 2), 2, seed=7, workers=2)
    for name in ("truth", "estimate", "covariance"):
        np.testing.assert_array_equal(getattr(r, name), getattr(res, name)[:2], err_msg=name)


SLOW_HOURS, SLOW_RUNS = 24.0, 200


@pytest.mark.slow
def test_monte_carlo_of_the_full_estimation_meets_issue_17():
    """Issue 17 validation, Doppler only: 200 noisy data sets of a 24 h arc (~1600 Doppler points), truths drawn
    from the a priori, the state, GM, the degree-2 field and the libration estimated. Criteria (the issue's,
    MonteCarloResult.criteria): every run converges; the normalised errors' spread pooled over the 7 Phobos
    parameters is 1 within 15 %; each Phobos parameter's spread has 1 inside its interval (95 % family-wise,
    Bonferroni: 99.29 % each, 199 dof); C20, C22 and the libration within 3 sigma in >= 99 % of the runs (a
    consistent estimator: 99.73 % expected; with 200 runs at most 2 misses each, which a consistent estimator
    passes with probability 0.98 per parameter). The mean NEES of the 13-vector is only held to its 99.99 %
    band (11.6 .. 14.5; measured 14.2 with seed 2024 against the 95 % band 12.3 .. 13.7, and 13.8 for 400 runs
    of the 6 h arc): the excess lies in the GM-C20 direction, whose posterior is curved (module doc of
    navigation.montecarlo, criteria()); a formal covariance a factor 1.5 too small in sigma would give ~29."""
    from mmxsim.navigation.covariance import nees_band
    from mmxsim.navigation.montecarlo import estimation_monte_carlo

    t = time.perf_counter()
    problem = build_problem(SLOW_HOURS, 2)
    report = []
    res = estimation_monte_carlo(problem, SLOW_RUNS, seed=2024, report=report)
    elapsed = time.perf_counter() - t
    print("\n".join(report[-3:]))
    header, rows = res.table()
    print(header)
    print("\n".join(str(r) for r in rows))
    print(f"elapsed {elapsed:.1f} s, {np.mean(res.seconds):.2f} s per run")
    assert res.completed == SLOW_RUNS, res.failures
    crit = res.criteria()
    print(crit)
    s, ci = res.pooled_spread()
    assert abs(s - 1.0) <= 0.15, s
    assert crit["spread_in_interval"][1], crit["spread_in_interval"]
    for name in ("phobos:C20", "phobos:C22", "phobos:libration"):
        assert res.within_3sigma[res.index(name)] >= 0.99, (name, res.within_3sigma[res.index(name)])
    assert crit["passed"]
    lo, hi = nees_band(13, SLOW_RUNS, 0.9999)
    assert lo <= np.mean(res.nees) <= hi, (np.mean(res.nees), lo, hi)
