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
