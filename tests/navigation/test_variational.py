"""The trajectory with partials (heyoka variational equations) of mmxsim.navigation.variational.

Reference case: the reference scenario's QSO state (30-120 km from Phobos) at its epoch, flown 6 h
with Mars J2..J4, Phobos harmonics to degree 4 with GM as a runtime parameter, the Sun, cannonball
SRP with the Mars and Phobos shadows (Phobos' crossed 2-3 and 15-17 min after the start, Mars' 3.2-4.0 h)
and an RTN empirical acceleration, tolerance 1e-15, one impulsive manoeuvre 2 h 0 min 17 s after the
start.

Finite differences: fourth-order central differences (8 (f(h) - f(-h)) - (f(2h) - f(-2h))) / 12h. With
second-order ones and steps small enough for their truncation error, the propagation's own noise
(1e-9 to 6e-8 km after 1-6 h on this QSO at tolerance 1e-15, measured by differencing two runs
1e-10 km apart) limited the agreement to ~1e-6; larger steps need the fourth-order formula. The SRP
partial is small (8e-3 km per m^2/kg after 1 h), so its step is large: with 0.1 the differences
showed 1.4e-6 (noise: 8e-8 with 2.0).
"""

import numpy as np
import pytest

from mmxsim.dynamics import (DynamicsModel, EmpiricalAcceleration, MarsGravity, PhobosGravity,
                             SolarRadiationPressure, ThirdBody, propagate)
from mmxsim.errors import InputError
from mmxsim.navigation.variational import Trajectory

SPAN = 6 * 3600.0
T_MAN = 2 * 3600.0 + 17.0
PARS = ["phobos:gm", "srp:cr_area_over_mass", "emp:r", "emp:t", "emp:n"]
# finite-difference steps per estimated quantity (position km, velocity km/s, GM km^3/s^2 (1.4 %),
# Cr A/m m^2/kg (the value is 0.013: the SRP acceleration is linear in it, only the orbit's response is
# not), empirical km/s^2, dv km/s)
STEPS = [1e-1] * 3 + [1e-5] * 3 + [1e-5, 1.0, 3e-9, 3e-9, 1e-8] + [1e-5] * 3


def fd4(tr, j, h, t, p=None):
    """Fourth-order central difference of tr.state(t) in the j-th estimated quantity (the module doc)."""
    p = tr.values if p is None else p

    def f(k):
        e = np.zeros(tr.n)
        e[j] = k * h
        return tr.with_vector(p + e).state(t)

    return (8 * (f(1) - f(-1)) - (f(2) - f(-2))) / (12 * h)  # exactly 0 where f does not depend on it


@pytest.fixture(scope="module")
def case():
    from mmxsim.mission.runner import build_model, initial_state
    from mmxsim.scenario import reference_scenario

    s = reference_scenario()
    _, eph = build_model(s)
    t0 = float(s.t0_tdb)
    model = DynamicsModel(forces=[MarsGravity(4), PhobosGravity("harmonics", 4, gm_parameter=True), ThirdBody("SUN"),
                                  SolarRadiationPressure(), EmpiricalAcceleration()],
                          ephemeris=eph, tolerance=1e-15)
    x0 = initial_state(s, t0, eph)
    tr = Trajectory(model, t0, x0, t0 + SPAN, parameters=PARS, maneuvers=[(t0 + T_MAN, [2e-4, -1e-4, 5e-5])],
                    barycentric=False)
    return model, eph, t0, x0, tr


def test_names_and_shapes(case):
    """The estimated quantities in order; array shapes; Phi(t0, t0) = I (exact)."""
    _, _, t0, _, tr = case
    assert tr.names == ["x", "y", "z", "vx", "vy", "vz", *PARS, "dv0_x", "dv0_y", "dv0_z"]
    assert tr.n == 14
    t = t0 + np.array([0.0, 100.0, SPAN])
    assert tr.state(t).shape == (3, 6)
    assert tr.sensitivity(t).shape == (3, 6, 14)
    assert np.array_equal(tr.stm(t0)[0], np.eye(6))


def test_partials_vs_central_differences(case):
    """Every partial (x0, phobos:gm, SRP, emp:r/t/n, the manoeuvre dv) at 1 h (before the manoeuvre),
    3.5 h and 6 h vs fourth-order central differences of full re-propagations with the steps STEPS:
    < 1e-6 relative (error of the position rows over their norm, same for the velocity rows).
    Before the manoeuvre its partials are exactly zero."""
    _, _, t0, _, tr = case
    t = t0 + np.array([3600.0, 3.5 * 3600.0, SPAN])
    S = tr.sensitivity(t)
    p = tr.values
    worst = 0.0
    for j, h in enumerate(STEPS):
        fd = fd4(tr, j, h, t, p)
        for i in range(len(t)):
            if j >= 11 and i == 0:  # before the manoeuvre: no dependence at all
                assert np.all(S[i, :, j] == 0.0) and np.all(fd[i] == 0.0)
                continue
            for rows in (slice(0, 3), slice(3, 6)):
                ref = np.linalg.norm(S[i, rows, j])
                assert ref > 0
                err = np.linalg.norm(fd[i, rows] - S[i, rows, j]) / ref
                worst = max(worst, err)
                assert err < 1e-6, f"{tr.names[j]} at t0+{t[i] - t0:.0f} s: relative error {err:.2e}"
    print(f"worst relative error of the partials: {worst:.2e}")


def test_state_equals_propagate(case):
    """state() vs mmxsim.dynamics.propagate of the same model (same x0, GM, SRP values), both at
    tolerance 1e-15: < 1e-9 km over the first 20 min, < 1e-7 km (0.1 mm) up to the manoeuvre at 2 h
    and after it (propagate restarted from the post-manoeuvre state) to 6 h. The two integrators
    take different steps (32 vs 35 on this arc: heyoka's step-size control sees the variational
    components too) and the QSO amplifies their rounding: measured 2.7e-9 km at 1 h, 8.9e-9 at 2 h,
    at most 3e-8 to 6 h, within the propagation noise floor measured
    by re-propagating from a 1e-10 km nudge (1e-9 km at 1 h to 6e-8 at 6 h). Velocities: < 1e-10 km/s,
    and the manoeuvre's jump equals dv to 1e-10 km/s. Without the manoeuvre in the variational
    trajectory the post-2 h states would differ by ~1 km."""
    model, _, t0, x0, tr = case
    early = t0 + np.linspace(0.0, 1200.0, 9)
    p = propagate(model, t0, x0, early, near_surface=False)
    assert np.abs(tr.state(early) - p.states).max() < 1e-9
    grid = t0 + np.linspace(0.0, T_MAN, 9)
    p = propagate(model, t0, x0, grid, near_surface=False)
    x = tr.state(grid)  # the last epoch is the manoeuvre's: the state after it
    assert np.abs(x[:, :3] - p.states[:, :3]).max() < 1e-7
    assert np.abs(x[:-1, 3:] - p.states[:-1, 3:]).max() < 1e-10
    xm = x[-1]
    assert np.allclose(xm[3:] - p.states[-1, 3:], [2e-4, -1e-4, 5e-5], atol=1e-10, rtol=0)
    before = tr.state(t0 + T_MAN - 2.0**-10, 2.0**-10)[0]  # the epoch t_m reached from the piece before it
    assert np.abs(before[3:] - p.states[-1, 3:]).max() < 1e-10
    grid2 = t0 + np.linspace(T_MAN, SPAN, 9)
    p2 = propagate(model, t0 + T_MAN, xm, grid2, near_surface=False)
    assert np.abs(tr.state(grid2)[:, :3] - p2.states[:, :3]).max() < 1e-7


def test_barycentric_adds_mars(case):
    """barycentric=True: Mars-centred state + the ephemeris' Mars-SSB state (the same evaluation: 1e-6 km
    at ~2e8 km), and the same partials (exactly: the ephemeris is not estimated)."""
    model, eph, t0, x0, tr = case
    b = Trajectory(model, t0, x0, t0 + SPAN, parameters=PARS, maneuvers=tr.maneuvers, barycentric=True)
    t = t0 + np.array([10.0, 1800.0, 3600.0, SPAN])
    ref = tr.state(t) + eph.state("MARS", "SSB", t)
    assert np.abs(b.state(t)[:, :3] - ref[:, :3]).max() < 1e-6
    assert np.abs(b.state(t)[:, 3:] - ref[:, 3:]).max() < 1e-12
    assert np.array_equal(b.sensitivity(t), tr.sensitivity(t))


def test_two_part_epochs(case):
    """state(t, t_lo) vs state at t + t_lo evaluated directly (t chosen so that t + t_lo is exact in
    float64: t_lo a multiple of 2^-20 s): position < 1e-9 km (the neglected a t_lo^2/2 is 1e-10 km
    at most), velocity < 1e-13 km/s (1e-4 mm/s); without the correction the velocity would be off
    by ~a t_lo ~ 5e-10 km/s, so the check can fail."""
    model, eph, t0, x0, tr = case
    t = t0 + np.array([1000.0, 5000.0, 20000.0])
    t_lo = np.array([2.0**-10, -(2.0**-11), 3 * 2.0**-12])
    exact = tr.state(t + t_lo)
    got = tr.state(t, t_lo)
    assert np.abs(got[:, :3] - exact[:, :3]).max() < 1e-9
    assert np.abs(got[:, 3:] - exact[:, 3:]).max() < 1e-13
    assert np.abs(tr.state(t)[:, 3:] - exact[:, 3:]).max() > 1e-11  # the correction matters
    b = Trajectory(model, t0, x0, t0 + SPAN, parameters=PARS, barycentric=True)
    # Mars moves 24 m in 1 ms; the ephemeris evaluation itself differs by ~3e-6 km between t and t + t_lo.
    # Mars' acceleration (2.6e-6 km/s^2) x 1 ms = 2.6e-9 km/s is corrected too
    got, exact = b.state(t, t_lo), b.state(t + t_lo)
    assert np.abs(got[:, :3] - exact[:, :3]).max() < 1e-5
    assert np.abs(got[:, 3:] - exact[:, 3:]).max() < 1e-12


def test_cache_and_with_values(case):
    """A second trajectory of the same model and parameter list compiles nothing; with_values with
    the same values reproduces the state bit for bit, and changing GM changes it."""
    model, _, t0, x0, tr = case
    again = tr.with_values()
    assert again.compile_s == 0.0
    t = t0 + np.array([0.0, 7000.0, SPAN])
    assert np.array_equal(again.state(t), tr.state(t))
    other = tr.with_values(parameters={"phobos:gm": 7.2e-4})
    assert np.abs(other.state(t)[-1, :3] - tr.state(t)[-1, :3]).max() > 1e-3


def test_bad_input(case):
    """Epoch outside the span, unknown parameter, parameter listed twice, t_lo of 1 ms, a manoeuvre
    outside the arc: InputError naming the field."""
    model, _, t0, x0, tr = case
    with pytest.raises(InputError, match="propagated span"):
        tr.state([t0 - 1.0])
    with pytest.raises(InputError, match="epochs"):
        tr.sensitivity([t0 + SPAN + 1.0])
    with pytest.raises(InputError, match="t_lo"):
        tr.state([t0 + 10.0], [1e-3])
    with pytest.raises(InputError, match="trajectory.parameters.*mars:gm"):
        Trajectory(model, t0, x0, t0 + 60.0, parameters=["mars:gm"], barycentric=False)
    with pytest.raises(InputError, match="listed once"):
        Trajectory(model, t0, x0, t0 + 60.0, parameters=["emp:r", "emp:r"], barycentric=False)
    with pytest.raises(InputError, match="cheb"):  # the Chebyshev coefficients are not estimable
        Trajectory(model, t0, x0, t0 + 60.0, parameters=["cheb:t_mid"], barycentric=False)
    with pytest.raises(InputError, match=r"maneuvers\[0\]"):
        Trajectory(model, t0, x0, t0 + 60.0, maneuvers=[(t0 + 61.0, [0, 0, 0])], barycentric=False)


@pytest.mark.slow
def test_seven_day_reference_arc():
    """The reference force model (Mars J2..J4, Phobos degree 8 with GM estimated, Sun, Earth, Deimos,
    SRP with shadows, tolerance 1e-12) plus RTN empirical accelerations over 7 days: the arc completes
    (before the partials were scaled inside the integrator, an unscaled emp:r partial made it stop on
    a non-finite state after 7 h); the x0 partial at 1, 3 and 7 days vs fourth-order differences with a
    30 m step: < 5e-6 relative (measured 1.9e-6; with 100 m the truncation gives 2e-4 at 7 days, with
    10 m the noise 3.5e-6); the state vs propagate: < 1e-4 km (measured 6.6e-6 km at 7 days)."""
    from mmxsim.mission.runner import build_model, initial_state
    from mmxsim.scenario import reference_scenario

    s = reference_scenario()
    base, eph = build_model(s)
    t0 = float(s.t0_tdb)
    x0 = initial_state(s, t0, eph)
    forces = [PhobosGravity("harmonics", 8, gm_parameter=True) if f.kind == "phobos" else f
              for f in base.forces] + [EmpiricalAcceleration()]
    m = DynamicsModel(forces=forces, ephemeris=eph, tolerance=base.tolerance)
    tr = Trajectory(m, t0, x0, t0 + 7 * 86400.0, parameters=PARS, barycentric=False)
    t = t0 + np.array([1.0, 3.0, 7.0]) * 86400.0
    S = tr.sensitivity(t)
    assert np.all(np.isfinite(S))
    fd = fd4(tr, 0, 0.03, t)
    for i in range(3):
        for rows in (slice(0, 3), slice(3, 6)):
            assert np.linalg.norm(fd[i, rows] - S[i, rows, 0]) / np.linalg.norm(S[i, rows, 0]) < 5e-6
    p = propagate(m, t0, x0, t, near_surface=False)
    assert np.abs(tr.state(t)[:, :3] - p.states[:, :3]).max() < 1e-4
