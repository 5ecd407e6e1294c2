"""Station keeping of a 3D QSO in the full model (mmxsim.orbits.stationkeeping).

A natural (multiple-shooting corrected) reference with zero navigation and execution
errors must cost ~0; with errors it must cost > 0, scale with the error level, and be
reproducible for a seed. The 30-day Monte Carlo is marked slow.
"""

import numpy as np
import pytest

from mmxsim.errors import InputError
from mmxsim.orbits import handoff as H
from mmxsim.orbits import qso
from mmxsim.orbits import stationkeeping as SK
from mmxsim.time import to_tdb_seconds

T0 = float(to_tdb_seconds("2027-09-01T00:00:00", "utc"))  # ASSUMPTION: the reference scenario's epoch


@pytest.fixture(scope="module")
def model():
    return H.full_model()


@pytest.fixture(scope="module")
def q3():
    base = qso.periodic_qso(50.0, degree=8)
    return qso.qso_3d(base, 20.0, -5.0, n_revs=4)


@pytest.fixture(scope="module")
def ref(q3, model):
    return SK.reference_trajectory(q3, T0, days=2.0, model=model)


def test_reference_is_continuous(ref):
    assert ref.kind == "corrected" and ref.max_defect_m < 1.0


def test_zero_errors_cost_nothing(ref, model):
    """Zero navigation/execution error on a natural reference: < 1 mm/s over 2 days,
    truth stays within 1 m of the reference."""
    r = SK.simulate(ref, SK.ZERO_ERRORS, 1.25, days=2.0, model=model)
    assert r.total_dv_m_s < 1e-3
    assert r.max_deviation_km < 1e-3 and r.final_deviation_km < 1e-3


def test_errors_cost_and_scale(ref, model):
    """With errors the cost is > 0 and grows with the error level (10 m -> 100 m, 0.1 -> 1 mm/s);
    the same seed reproduces the same run exactly, another seed does not."""
    small = SK.Errors(0.01, 1e-7, 0.02)
    big = SK.Errors(0.1, 1e-6, 0.02)
    a = SK.simulate(ref, small, 1.25, days=2.0, seed=3, model=model)
    b = SK.simulate(ref, small, 1.25, days=2.0, seed=3, model=model)
    c = SK.simulate(ref, small, 1.25, days=2.0, seed=4, model=model)
    d = SK.simulate(ref, big, 1.25, days=2.0, seed=3, model=model)
    assert a.total_dv_m_s > 1e-3
    assert np.array_equal(a.dv_m_s, b.dv_m_s)
    assert not np.array_equal(a.dv_m_s, c.dv_m_s)
    assert d.total_dv_m_s > 3.0 * a.total_dv_m_s


def test_hill_reference_costs_more_than_corrected(q3, ref, model):
    """Tracking the uncorrected Hill-problem samples (not a full-model solution) costs more
    than tracking the corrected trajectory, even without errors."""
    hill = SK.reference_trajectory(q3, T0, days=2.0, kind="hill", model=model)
    assert hill.max_defect_m > 1e3
    r = SK.simulate(hill, SK.ZERO_ERRORS, 1.25, days=2.0, model=model)
    assert r.total_dv_m_s > 1.0


def test_bad_input(ref, q3, model):
    with pytest.raises(InputError):
        SK.Errors(sigma_pos_km=-1.0)
    with pytest.raises(InputError):
        SK.simulate(ref, SK.ZERO_ERRORS, 1.0, days=1.0, model=model)  # whole revolution: singular
    with pytest.raises(InputError):
        SK.simulate(ref, SK.ZERO_ERRORS, 0.3, days=1.0, model=model)  # not on the patch grid
    with pytest.raises(InputError):
        SK.simulate(ref, SK.ZERO_ERRORS, 1.25, days=40.0, model=model)  # beyond the reference
    with pytest.raises(InputError):
        SK.simulate("ref", SK.ZERO_ERRORS, 1.25, days=1.0, model=model)
    with pytest.raises(InputError):
        SK.monte_carlo(ref, SK.ZERO_ERRORS, n_samples=0, model=model)
    with pytest.raises(InputError):
        SK.reference_trajectory(q3, T0, days=1.0, kind="elliptic", model=model)


@pytest.mark.slow
def test_monte_carlo_30_days(q3, model):
    """30 days: zero-error cost < 1 mm/s on the month-long reference; 5 samples at
    10 m / 0.1 mm/s / 2 %: mean cost within 0.2..3 m/s (measured 0.79 m/s over 10 samples;
    the [BAR-SURREY] figure is ~1 m/s per month, compared in docs/qso.md)."""
    ref30 = SK.reference_trajectory(q3, T0, days=30.0, model=model)
    assert ref30.max_defect_m < 1.0
    assert SK.simulate(ref30, SK.ZERO_ERRORS, 1.25, days=30.0, model=model).total_dv_m_s < 1e-3
    mc = SK.monte_carlo(ref30, SK.Errors(0.01, 1e-7, 0.02), 5, 1.25, days=30.0, seed=0, model=model)
    assert 0.2 < mc.mean_m_s < 3.0
    assert mc.std_m_s > 0


def test_run_keeps_the_planned_vectors_and_states(ref, model):
    """The Δv vectors, navigation estimates and true pre-burn states of each impulse are kept (for the
    OPMs of the planned manoeuvres): |Δv| equals dv_m_s, the first true state is the reference's, the
    estimates differ from the truth by the navigation errors only."""
    e = SK.Errors(0.01, 1e-7, 0.02)
    r = SK.simulate(ref, e, 1.25, days=2.0, seed=3, model=model)
    k = r.t_manoeuvres.size
    assert r.dv_km_s.shape == (k, 3) and r.estimates.shape == (k, 6) and r.states_before.shape == (k, 6)
    assert np.allclose(np.linalg.norm(r.dv_km_s, axis=1) * 1e3, r.dv_m_s, rtol=1e-15, atol=0)
    assert np.array_equal(r.states_before[0], ref.states[0])
    d = r.estimates - r.states_before
    assert 0 < np.abs(d[:, :3]).max() < 6 * e.sigma_pos_km and 0 < np.abs(d[:, 3:]).max() < 6 * e.sigma_vel_km_s
    # the truth before each later burn is near the reference point the previous burn targeted
    step = round(1.25 * ref.per_rev)
    assert np.linalg.norm(r.states_before[1:, :3] - ref.states[step:step * k:step, :3], axis=1).max() < 1.0


def test_batch_flow_equals_flow(ref, model):
    """BatchFlow (SIMD lanes of the variational equations, each lane its own epochs and segments) gives the
    scalar Flow's state and STM to the integrator's tolerance (0.1 mm measured over 1.25 revolutions)."""
    bf = H.BatchFlow(model, batch_size=4)
    f = H.Flow(model)
    k = np.array([0, 1, 2, 3, 4])  # five flows: two batches, the second padded
    xf, phi = bf(ref.t[k], ref.states[k], ref.t[k + 5])
    for n, i in enumerate(k):
        x1, p1 = f(ref.t[i], ref.states[i], ref.t[i + 5])
        assert np.abs(xf[n, :3] - x1[:3]).max() < 1e-6  # km
        assert np.abs(phi[n] - p1).max() < 1e-6 * np.abs(p1).max()
    with pytest.raises(InputError):
        bf(ref.t[5], ref.states[:1], ref.t[0])  # backwards


def test_ensemble_monte_carlo_equals_scalar_runs(ref, model):
    """simulate_ensemble (runs as ensemble members, targeting by chord iterations with the reference STM)
    equals simulate (one run at a time, Newton with each run's STM) for the same seeds: the same draws
    (estimate - truth identical), each impulse within 1e-5 m/s (the 1 cm targeting tolerance; 1.2e-6
    measured), the truth within 5 cm; the Newton fallback (max_chord=1) agrees as well."""
    small, big = SK.Errors(0.01, 1e-7, 0.02), SK.Errors(0.1, 1e-6, 0.02)
    scalar = [SK.simulate(ref, e, 1.25, days=2.0, seed=s, model=model) for e, s in ((small, 3), (big, 4))]
    for kw in ({}, {"max_chord": 1}):
        ens = SK.simulate_ensemble(ref, [small, big], 1.25, 2.0, (3, 4), model, **kw)
        for a, b in zip(scalar, ens):
            assert b.seed == a.seed and np.array_equal(a.t_manoeuvres, b.t_manoeuvres)
            assert np.abs(a.dv_m_s - b.dv_m_s).max() < 1e-5
            assert abs(a.total_dv_m_s - b.total_dv_m_s) < 1e-5 * a.dv_m_s.size
            assert np.abs(a.states_before[:, :3] - b.states_before[:, :3]).max() < 5e-5
            assert np.allclose(a.estimates - a.states_before, b.estimates - b.states_before, rtol=0, atol=1e-12)
            assert abs(a.max_deviation_km - b.max_deviation_km) < 5e-5
    # monte_carlo flies its runs as an ensemble; per case the same as monte_carlo_cases of several cases
    mc = SK.monte_carlo(ref, small, 2, 1.25, days=2.0, seed=3, model=model)
    both = SK.monte_carlo_cases(ref, [big, small], 2, 1.25, days=2.0, seed=3, model=model)
    assert [r.seed for r in mc.runs] == [3, 4] and both[1].errors == small
    assert np.allclose(mc.totals_m_s, both[1].totals_m_s, rtol=0, atol=1e-9)
    assert abs(mc.runs[0].total_dv_m_s - scalar[0].total_dv_m_s) < 1e-4
    with pytest.raises(InputError):
        SK.simulate_ensemble(ref, [small], 1.25, 2.0, (3, 4), model)
    with pytest.raises(InputError):
        SK.monte_carlo_cases(ref, [], 2, model=model)
