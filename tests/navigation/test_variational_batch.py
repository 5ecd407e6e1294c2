"""Batch variational trajectories (mmxsim.navigation.variational.propagate_batch) against the scalar
Trajectory: the same 6 h reference case as tests/navigation/test_variational.py (QSO state, Mars J2..J4,
Phobos harmonics to degree 4 with GM, Sun, SRP with shadows crossed, RTN empirical acceleration,
tolerance 1e-15, one manoeuvre), five members with perturbed states, parameters and dv in batches of 4
(so the last batch is padded)."""

import numpy as np
import pytest

from mmxsim.dynamics import (DynamicsModel, EmpiricalAcceleration, MarsGravity, PhobosGravity,
                             SolarRadiationPressure, ThirdBody)
from mmxsim.errors import InputError
from mmxsim.navigation.variational import Trajectory, propagate_batch

SPAN = 6 * 3600.0
T_MAN = 2 * 3600.0 + 17.0
PARS = ["phobos:gm", "srp:cr_area_over_mass", "emp:r", "emp:t", "emp:n"]


@pytest.fixture(scope="module")
def members():
    from mmxsim.mission.runner import build_model, initial_state
    from mmxsim.scenario import reference_scenario

    s = reference_scenario()
    _, eph = build_model(s)
    t0 = float(s.t0_tdb)
    model = DynamicsModel(forces=[MarsGravity(4), PhobosGravity("harmonics", 4, gm_parameter=True), ThirdBody("SUN"),
                                  SolarRadiationPressure(), EmpiricalAcceleration()],
                          ephemeris=eph, tolerance=1e-15)
    x0 = initial_state(s, t0, eph)
    rng = np.random.default_rng(3)
    n = 5
    X0 = x0 + rng.normal(0, 1, (n, 6)) * np.array([0.1, 0.1, 0.1, 1e-5, 1e-5, 1e-5])
    base = Trajectory(model, t0, x0, t0 + SPAN, parameters=PARS, barycentric=True, _fly=False).parameter_values
    pars = [dict(zip(PARS, base + rng.normal(0, 1, 5) * np.array([1e-5, 1e-3, 1e-12, 1e-12, 1e-12])))
            for _ in range(n)]
    mans = [[(t0 + T_MAN, np.array([2e-4, -1e-4, 5e-5]) + rng.normal(0, 1e-5, 3))] for _ in range(n)]
    batch = propagate_batch(model, t0, X0, t0 + SPAN, parameters=pars, member_maneuvers=mans, batch_size=4)
    scalar = [Trajectory(model, t0, X0[i], t0 + SPAN, parameters=pars[i], maneuvers=mans[i]) for i in range(n)]
    return model, t0, X0, pars, mans, batch, scalar


def test_each_member_equals_the_scalar_trajectory(members):
    """States 1e-9 relative (of the state's norm, barycentric and Mars-centred), partials 1e-7
    relative (each column's error over that column's largest value) at epochs across the arc,
    before/after the manoeuvre and in two-part epochs; final states and names the same."""
    _, t0, _, _, _, batch, scalar = members
    t = t0 + np.array([0.0, 900.0, 3600.0, T_MAN, T_MAN + 1.0, 4.1 * 3600, SPAN])
    t_lo = np.array([0.0, 3e-4, -2e-4, 0.0, 5e-4, 0.0, 0.0])
    for b, s in zip(batch, scalar):
        assert b.names == s.names and b.n == s.n
        xs, xb = s.state(t, t_lo), b.state(t, t_lo)
        assert np.all(np.abs(xb - xs) <= 1e-9 * np.linalg.norm(xs, axis=1, keepdims=True))
        xs = xs - s.model.ephemeris.state("MARS", "SSB", t)
        xb = xb - s.model.ephemeris.state("MARS", "SSB", t)
        rel = np.abs(xb[:, :3] - xs[:, :3]).max() / np.abs(xs[:, :3]).max()
        assert rel < 1e-9, rel
        Ss, Sb = s.sensitivity(t), b.sensitivity(t)
        scale = np.abs(Ss).max(axis=(0, 1))
        assert np.all(np.abs(Sb - Ss).max(axis=(0, 1)) <= 1e-7 * scale)
        assert np.allclose(b.final_state, s.final_state, rtol=0, atol=1e-9 * np.linalg.norm(s.final_state))
        ps, Pa = s.position_and_sensitivity(t)
        pb, Pb = b.position_and_sensitivity(t)
        assert np.all(np.abs(pb - ps) <= 1e-9 * np.linalg.norm(ps, axis=1, keepdims=True))
        assert np.allclose(b.stm(t), s.stm(t), rtol=0, atol=1e-7 * np.abs(s.stm(t)).max())


def test_members_differ_and_padding_is_not_returned(members):
    """Five members back (not eight), each its own trajectory (the perturbations move them apart)."""
    _, t0, _, _, _, batch, _ = members
    assert len(batch) == 5
    x = np.array([b.state(np.array([t0 + SPAN]))[0] for b in batch])
    assert np.min(np.linalg.norm(x[1:, :3] - x[0, :3], axis=1)) > 1e-3


def test_batch_bad_input(members):
    model, t0, X0, pars, mans, _, _ = members
    with pytest.raises(InputError):
        propagate_batch(model, t0, X0[0], t0 + SPAN)  # not (N, 6)
    with pytest.raises(InputError):
        propagate_batch(model, t0, X0, t0 + SPAN, parameters=pars[:2])
    other = [[(t0 + T_MAN + 60.0 * i, dv) for tm, dv in m] for i, m in enumerate(mans)]
    with pytest.raises(InputError):
        propagate_batch(model, t0, X0, t0 + SPAN, parameters=pars, member_maneuvers=other)
