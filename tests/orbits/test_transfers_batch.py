"""The batch-mode grid search of mmxsim.orbits.transfers (issue 19): heyoka batch propagations of the
Hill problem with its STM, Newton problems solved in lockstep, equal to the scalar path.

Tolerances: the batch integrator has the scalar one's equations and tolerance (machine epsilon) but
takes its own steps (no section event), so states agree to ~1e-12 of their size, not bit for bit;
a converged Newton solution then agrees to well below its own convergence tolerance (1e-9 km at
arrival), i.e. Δv to 1e-9 m/s.
"""

import numpy as np
import pytest

from mmxsim.orbits import qso as Q
from mmxsim.orbits import transfers as T

DAY = 86400.0


@pytest.fixture(scope="module")
def pair():
    fam = {m.size_km: m for m in Q.qso_family(2, sizes_km=[50, 30]).members}
    return fam[50.0], fam[30.0]


def test_batch_stm_equals_scalar(pair):
    """Eleven states (more than one SIMD batch, different times) and one that cannot be flown (Phobos'
    centre, in the same batch: heyoka stops every lane there): batch state and STM equal the scalar
    ones; the failure is a message, as the scalar raises."""
    rng = np.random.default_rng(1)
    q = pair[0]
    X0 = T._to_tau(q.state0)
    X0s = [X0 * (1.0 + 1e-3 * rng.standard_normal(6)) for _ in range(11)] + [np.array([0.0, 0, 0, 0.1, 0, 0])]
    taus = list(rng.uniform(0.5, 8.0, 11)) + [1.0]
    got = T._flow_stm_many(X0s, taus, 2)
    newton = T._flow_stm_many(X0s, taus, 2, velocity_only=True)  # the grid's Newton flights: d state / d v0
    for X, tau, g, gn in zip(X0s[:-1], taus[:-1], got[:-1], newton[:-1]):
        xs, phi = T._flow_stm(X, tau, 2)
        assert np.allclose(g[0], xs, rtol=0, atol=1e-11 * np.abs(xs).max())
        assert np.allclose(g[1], phi, rtol=0, atol=1e-10 * np.abs(phi).max())
        assert gn[1].shape == (6, 3)
        assert np.allclose(gn[0], xs, rtol=0, atol=1e-11 * np.abs(xs).max())
        assert np.allclose(gn[1], phi[:, 3:], rtol=0, atol=1e-10 * np.abs(phi).max())
    assert isinstance(got[-1], str) and isinstance(newton[-1], str)
    states = T._flow_states_many(X0s, taus, 2)  # the line-search trials: the state only, no STM
    for X, tau, g in zip(X0s[:-1], taus[:-1], states[:-1]):
        ref = T._flow_state(X, tau, 2)[0]
        assert g[1] is None and np.allclose(g[0], ref, rtol=0, atol=1e-11 * np.abs(ref).max())
    assert isinstance(states[-1], str)
    with pytest.raises(T.TransferError):
        T._flow_stm(X0s[-1], taus[-1], 2)


def test_batch_grid_equals_scalar_grid(pair, monkeypatch):
    """2 x 2 phases x 2 times of flight, 50 -> 30 km: the lockstep batch grid finds the same transfers
    as the scalar two_impulse_transfer loop, in the same order, Δv to 1e-9 m/s."""
    dep, arr = pair
    calls = []
    flow_many = T._flow_stm_many
    monkeypatch.setattr(T, "_flow_stm_many", lambda *a, **k: calls.append(len(a[0])) or flow_many(*a, **k))
    tofs, ph = np.array([0.3 * DAY, 0.6 * DAY]), np.array([0.0, 0.5])
    got, batched = T._grid_transfers(dep, arr, tofs, ph, ph, 2)
    assert batched
    assert calls and calls[0] == 16  # 8 grid points x 2 guesses, flown in batch mode
    ref = [tr for tof in tofs for a in ph for b in ph if (tr := T._try(dep, arr, tof, a, b, 2)) is not None]
    assert len(ref) >= 4 and len(got) == len(ref)
    for g, r in zip(got, ref):
        assert (g.tof_s, g.depart_phase, g.arrive_phase) == (r.tof_s, r.depart_phase, r.arrive_phase)
        assert abs(g.dv_total_m_s - r.dv_total_m_s) < 1e-9
        assert np.allclose(g.dv1, r.dv1, rtol=0, atol=1e-12)
        assert g.residual_m < 1e-3 * max(1.0, np.linalg.norm(g.r2))
        assert g.iterations == r.iterations


@pytest.mark.parametrize("batch_min", [1, 16])
def test_lockstep_newton_reports_failures_like_scalar(pair, monkeypatch, batch_min):
    """A problem whose guess cannot be flown fails in the lockstep driver (batch mode, and the scalar
    flights it uses for few problems) with the scalar driver's exception, and does not disturb the
    problem solved beside it."""
    monkeypatch.setattr(T, "_BATCH_MIN_PROBLEMS", batch_min)
    dep, arr = pair
    X1, X2 = T._to_tau(T.qso_state(dep, 0.25)), T._to_tau(T.qso_state(arr, 0.75))
    tau = 1.0 * DAY * T.N
    good = (X1[:3], X2[:3], tau, X1[3:])  # converges in 6 Newton steps (the linear guess does not)
    bad = (np.zeros(3), X2[:3], tau, np.array([0.1, 0.0, 0.0]))
    sols = T._solve_bvps([good, bad], 2)
    ref = T._solve_bvp(*good[:3], 2, good[3])
    assert np.allclose(sols[0][0], ref[0], rtol=0, atol=1e-12) and sols[0][3] == ref[3]
    assert isinstance(sols[1], T.TransferError)
    with pytest.raises(T.TransferError):
        T._solve_bvp(*bad[:3], 2, bad[3])


def test_batch_arcs_equal_scalar_arcs(pair):
    """The dispersion Monte Carlo's arcs (transfer_dispersion_mc) are flown in batch mode: ten
    perturbed states (two SIMD batches where the width is 8) on a 50-point grid equal the scalar
    _sample_arc to 1e-11 of the orbit size; one state alone takes the scalar path."""
    rng = np.random.default_rng(2)
    X0 = T._to_tau(pair[0].state0)
    X0s = np.array([X0 * (1.0 + 1e-3 * rng.standard_normal(6)) for _ in range(10)])
    tau = 0.7 * DAY * T.N
    got = T._sample_arcs(X0s, tau, 2, 50)
    assert len(got) == 10
    for X, a in zip(X0s, got):
        ref = T._sample_arc(X, tau, 2, 50)[1]
        assert a.shape == (50, 6)
        assert np.allclose(a, ref, rtol=0, atol=1e-11 * np.abs(ref).max())
    one = T._sample_arcs(X0s[:1], tau, 2, 50)[0]
    assert np.array_equal(one, T._sample_arc(X0s[0], tau, 2, 50)[1])


def test_cheap_line_search_trials_keep_the_newton_path(pair, monkeypatch):
    """Line-search trials are first flown without the variational equations (issue 19): the Newton
    iterates, their count and the failures are bit for bit those of deciding every trial on the
    variational flight (``_TRIAL_REL`` = inf), with fewer variational flights."""
    dep, arr = pair
    X1, X2 = T._to_tau(T.qso_state(dep, 0.25)), T._to_tau(T.qso_state(arr, 0.75))
    tau = 1.0 * DAY * T.N
    guesses = [X1[3:], T._linear_guess(X1[:3], X2[:3], tau)]  # converges in 6 steps; fails in a line search
    flights = []
    flight = T._flight
    monkeypatch.setattr(T, "_flight", lambda *a: flights.append(a[3]) or flight(*a))

    def solve_all():
        out = []
        for vg in guesses:
            try:
                out.append(T._solve_bvp(X1[:3], X2[:3], tau, 2, vg))
            except T.TransferError as e:
                out.append(str(e))
        return out

    got = solve_all()
    n_var = sum(flights)
    flights.clear()
    monkeypatch.setattr(T, "_TRIAL_REL", np.inf)
    ref = solve_all()
    assert isinstance(ref[0], tuple) and isinstance(ref[1], str) and got[1] == ref[1]
    for a, b in zip(got[0], ref[0]):
        assert np.array_equal(a, b)
    assert n_var < sum(flights)
    # the lockstep driver runs the same iterations
    sols = T._solve_bvps([(X1[:3], X2[:3], tau, vg) for vg in guesses], 2)
    assert np.array_equal(sols[0][0], ref[0][0]) and str(sols[1]) == ref[1]


def test_newton_flight_equals_full_stm(pair):
    """The scalar Newton flights integrate the variations with respect to the initial velocity only
    (24 variables, no section event): state and d r / d v0 equal the full STM integrator's to ~1e-12;
    a flight into Phobos' centre is an error message."""
    rng = np.random.default_rng(3)
    X0 = T._to_tau(pair[0].state0)
    for _ in range(3):
        X = X0 * (1.0 + 1e-3 * rng.standard_normal(6))
        tau = rng.uniform(2.0, 12.0)
        xs, jac = T._flow_newton(X, tau, 2)
        ref, phi = T._flow_stm(X, tau, 2)
        assert jac.shape == (6, 3)
        assert np.allclose(xs, ref, rtol=0, atol=1e-11 * np.abs(ref).max())
        assert np.allclose(jac, phi[:, 3:], rtol=0, atol=1e-10 * np.abs(phi).max())
    assert isinstance(T._flow_newton(np.array([0.0, 0, 0, 0.1, 0, 0]), 1.0, 2), str)


def test_two_sample_arc_is_the_ends_of_the_sampled_one(pair):
    """_make_transfer takes a two-point arc (the optimisers' trials) from the ends of the arc it sampled
    for the surface check: heyoka's grid propagation steps the same way whatever the grid points
    between the ends, so the ends equal a two-point grid's flight bit for bit (several times of flight,
    arcs from a perturbed QSO state)."""
    rng = np.random.default_rng(3)
    X0 = T._to_tau(pair[0].state0)
    for tof_d in (0.2, 0.45, 0.8):
        X = X0 * (1.0 + 1e-3 * rng.standard_normal(6))
        tau = tof_d * DAY * T.N
        m = int(60 * tau / (2 * np.pi)) + 2
        t_many, a_many = T._sample_arc(X, tau, 2, m)
        t_two, a_two = T._sample_arc(X, tau, 2, 2)
        assert len(a_many) == m > 2
        assert np.array_equal(t_many[[0, -1]], t_two) and np.array_equal(a_many[[0, -1]], a_two)
