"""QSO design in the circular Hill problem (mmxsim.orbits.qso).

Models used here: point-mass Phobos (degree 0) and the degree-2 field of
``phobos_field`` (compiled integrators are cached at module level; the whole file runs
in a few seconds).
"""

import math

import numpy as np
import pytest

from mmxsim.bodies import PHOBOS, PHOBOS_MEAN_MOTION
from mmxsim.errors import InputError
from mmxsim.gravity import phobos_field, sh_acceleration
from mmxsim.mathns import NP
from mmxsim.orbits import qso as Q


@pytest.fixture(scope="module")
def family2():
    return Q.qso_family(2, sizes_km=[200, 100, 50, 30, 20, 15])


def test_body_axes_are_hill_axes_rotated_180_about_z():
    """IAU Phobos frame: +x points to Mars (to 2 deg: libration + eccentricity), +z = orbit normal (1e-3)."""
    from mmxsim.ephemeris.moons import moon_state

    rot = PHOBOS.rotation()
    for t in (0.0, 1.0e4, 3.0e8):
        s = np.asarray(moon_state("PHOBOS", t), float).ravel()
        R = rot.matrix(t)
        r, v = s[:3], s[3:]
        h = np.cross(r, v)
        hill = np.array([r / np.linalg.norm(r), np.cross(h, r) / np.linalg.norm(np.cross(h, r)),
                         h / np.linalg.norm(h)])  # rows: Hill x, y, z in ICRF
        B = R @ hill.T  # columns: Hill axes in body axes
        assert np.abs(B - Q.HILL_TO_BODY).max() < math.radians(2.0)


def test_sh_acceleration_rotated_into_hill_axes():
    """a_hill = D a_body(D r) with D = diag(-1,-1,1), scaled by 1/n^2: 1e-14 relative."""
    r = np.array([17.0, -9.0, 4.0])
    a = np.array(Q.phobos_accel_hill(list(r), 4, NP))
    D = Q.HILL_TO_BODY
    ab = np.array(sh_acceleration(list(D @ r), phobos_field(4), NP))
    np.testing.assert_allclose(a, D @ ab / PHOBOS_MEAN_MOTION**2, rtol=1e-14)


def test_stm_matches_finite_differences():
    """Variational equations (heyoka var_ode_sys) vs central differences of the flow: 1e-6 relative."""
    ta = Q.hill_integrator(2, variational=False)
    X0 = np.array([-40.0, 1.0, 1.0, 0.01, 85.0, 0.2])
    tau = 3.0

    def flow(X):
        ta.time = 0.0
        ta.state[:] = X
        ta.propagate_until(tau)
        return ta.state.copy()

    tv = Q.hill_integrator(2, variational=True)
    tv.time = 0.0
    tv.state[:6] = X0
    tv.state[6:] = np.eye(6).ravel()
    tv.reset_cooldowns()
    tv.propagate_until(tau)  # no upward y = 0 crossing before tau
    assert tv.time == pytest.approx(tau)
    phi = tv.state[6:].reshape(6, 6)
    fd = np.empty((6, 6))
    for j in range(6):
        h = 1e-5 * max(1.0, abs(X0[j]))
        e = np.zeros(6)
        e[j] = h
        fd[:, j] = (flow(X0 + e) - flow(X0 - e)) / (2 * h)
    assert np.abs(phi - fd).max() / np.abs(phi).max() < 1e-6


@pytest.mark.parametrize("degree", [0, 2])
@pytest.mark.parametrize("size", [100.0, 25.0])
def test_periodic_qso_closes_and_conserves_jacobi(degree, size):
    """Closure after one period < 1 m (re-propagated, no variational eqs); Jacobi to 1e-10 relative."""
    q = Q.periodic_qso(size, degree)
    assert q.closure_position_m < 1.0
    assert q.closure_velocity_mm_s < 1.0
    assert q.jacobi_rel_variation < 1e-10
    assert q.min_surface_distance_km > 0
    assert abs(q.max_abs_eigenvalue - 1.0) < 1e-6  # stable member: all |lambda| = 1


def test_closure_confirmed_by_scipy():
    """Independent integrator (SciPy DOP853, rtol 1e-13): closure of the 30 km degree-2 QSO < 1 m."""
    from scipy.integrate import solve_ivp

    q = Q.periodic_qso(30.0, 2)
    n = PHOBOS_MEAN_MOTION
    X0 = np.concatenate([q.state0[:3], q.state0[3:] / n])
    sol = solve_ivp(lambda t, X: Q.hill_rhs(list(X), 2, NP), (0.0, q.period_s * n), X0,
                    method="DOP853", rtol=1e-13, atol=1e-12)
    assert np.linalg.norm(sol.y[:3, -1] - X0[:3]) * 1e3 < 1.0
    # and the Jacobi constant function agrees with the table value
    assert Q.jacobi_constant(q.state0, 2) == pytest.approx(q.jacobi_km2_s2, rel=1e-12)


def test_large_size_limit_is_linear_hill(family2):
    """200 km: period within 0.5 % of 2 pi/n, along-track/radial within 0.5 % of 2; error shrinks with size."""
    T0 = 2 * math.pi / PHOBOS_MEAN_MOTION
    big, mid = family2.members[0], family2.members[1]
    assert big.size_km == 200.0
    assert abs(big.period_s / T0 - 1) < 5e-3
    assert abs(big.axis_ratio / 2 - 1) < 5e-3
    assert abs(big.period_s / T0 - 1) < abs(mid.period_s / T0 - 1)
    assert abs(big.axis_ratio - 2) < abs(mid.axis_ratio - 2)
    assert big.radial_semi_axis_km == pytest.approx(200.0, rel=1e-3)


def test_family_table(family2):
    """Every member closes (< 1 m) and conserves Jacobi (1e-10); period decreases with size."""
    sizes = [m.size_km for m in family2.members]
    assert sizes == [200.0, 100.0, 50.0, 30.0, 20.0, 15.0]
    assert all(m.closure_position_m < 1.0 and m.jacobi_rel_variation < 1e-10 for m in family2.members)
    periods = [m.period_s for m in family2.members]
    assert all(a > b for a, b in zip(periods, periods[1:]))
    assert "| size km |" in family2.table()


def test_3d_qso_is_bounded_quasi_periodic():
    """Z = 20 km around the 100 km member: |z| max within 5 % of Z over 10 revolutions,
    in-plane (x, x') closes on the section, Jacobi to 1e-10, stays > 50 km from the surface."""
    p = Q.periodic_qso(100.0, 2)
    q = Q.qso_3d(p, z_amplitude_km=20.0, beta_deg=90.0, n_revs=10)
    assert not q.periodic
    assert q.out_of_plane_km == pytest.approx(20.0, rel=0.05)
    assert q.jacobi_rel_variation < 1e-10
    assert q.min_surface_distance_km > 50.0
    assert q.radial_semi_axis_km == pytest.approx(100.0, rel=0.01)


@pytest.mark.parametrize("size", [5.0, 13.0, -20.0, float("nan")])
def test_size_inside_phobos_is_refused(size):
    # 13.0 km: the start point is outside the Ernst mesh (sub-Mars radius ~12.6 km) but the orbit
    # dips below the shape elsewhere, so it is refused by the whole-orbit shape check
    with pytest.raises(InputError, match="inside Phobos|outside Phobos|finite|number"):
        Q.periodic_qso(size, 0)


def test_surface_distance_uses_the_shape_model():
    """Clearances are signed distances to the Ernst mesh, not to the IAU ellipsoid: the Hill point
    (-size, 0, 0) is the body point (+size, 0, 0); far away the distance tends to |r| - ~13 km."""
    from mmxsim.bodies.shape_distance import signed_distance
    from mmxsim.bodies.shapes import phobos_shape

    pts = np.array([[-13.0, 0.0, 0.0], [20.0, 5.0, -3.0], [0.0, 0.0, 5.0]])
    d = Q.surface_distance_hill(pts)
    ref = signed_distance(phobos_shape("ernst"), pts @ Q.HILL_TO_BODY.T)
    assert np.allclose(d, ref, atol=1e-12)
    assert d[2] < 0.0 < d[1]
    assert abs(d[0] - float(Q.ellipsoid_distance(pts[0])[0])) > 0.1  # the shape is not the ellipsoid
    assert 284.0 < Q.surface_distance_hill([300.0, 0.0, 0.0])[0] < 290.0


def test_family_below_convergence_limit_is_refused(monkeypatch):
    """A size the corrector cannot reach raises InputError naming the smallest converged size."""
    real = Q._newton

    def failing_below_40(X, *a, **k):
        if -X[0] < 40.0:
            raise Q._NoReturn("forced failure")
        return real(X, *a, **k)

    monkeypatch.setattr(Q, "_newton", failing_below_40)
    with pytest.raises(InputError, match="smallest size where the QSO corrector converged") as e:
        Q.qso_family(0, sizes_km=[100, 50, 30])
    assert e.value.value == 30.0
    fam = Q.qso_family(0, sizes_km=[100, 50, 30], on_failure="stop")
    assert [m.size_km for m in fam.members] == [100.0, 50.0]
    assert 40.0 <= fam.smallest_converged_km < 40.2


@pytest.mark.parametrize("kw", [dict(degree=11), dict(degree=-1), dict(on_failure="maybe")])
def test_bad_options_are_refused(kw):
    with pytest.raises(InputError):
        Q.qso_family(sizes_km=[100], **kw)


def test_hand_off_to_mars_icrf_round_trips():
    """to_mars_icrf then frames.from_mars_icrf('PHOBOS_HILL') returns the Hill state (1e-9 km, 1e-12 km/s)."""
    from mmxsim.frames import from_mars_icrf

    q = Q.periodic_qso(50.0, 0)
    t = 8.6e8
    mi = Q.to_mars_icrf(q, t)
    back = from_mars_icrf("PHOBOS_HILL", t, mi)
    np.testing.assert_allclose(back[:3], q.state0[:3], atol=1e-9)
    np.testing.assert_allclose(back[3:], q.state0[3:], atol=1e-12)


def test_degree_10_low_qso():
    """Full degree-10 field (compiles in ~5 s): the 20 km QSO closes < 1 m, Jacobi 1e-10, stays
    within 1 km of the equatorial plane (the odd-in-z terms lift it by ~50 m) and > 5 km above
    the ellipsoid; its vertical rotation number is in (0, 0.5)."""
    q = Q.periodic_qso(20.0, 10)
    assert q.closure_position_m < 1.0
    assert q.jacobi_rel_variation < 1e-10
    assert 1e-3 < q.out_of_plane_km < 1.0
    assert q.min_surface_distance_km > 5.0
    assert q.stable and 0.0 < q.vertical_rotation_number < 0.5


@pytest.mark.parametrize("Z", [0.0, -5.0, 10.0])
def test_3d_impossible_amplitude_is_refused(Z, family2):
    """Z <= 0 is refused; Z = 10 km around the 15 km QSO dives into Phobos (no return to the section)."""
    p = family2.members[-1]
    assert p.size_km == 15.0
    with pytest.raises(InputError, match="z_amplitude_km"):
        Q.qso_3d(p, Z, 90.0, n_revs=2)


def test_orbits_inside_the_switch_radius_are_marked_or_refused(family2):
    """Degree 2: the harmonics are within 1e-3 of the polyhedron only beyond 80 km
    (mmxsim.gravity.validity). The 100 km member stays outside (closest 100 km), the 50 km and
    smaller ones are marked in the table, and inside_switch='refuse' names the radius and size.
    A member that entered the 13.94 km Brillouin sphere would get no numbers at all."""
    import dataclasses

    by = {m.size_km: m for m in family2.members}
    assert by[100.0].min_center_distance_km == pytest.approx(100.0, abs=0.5)
    assert not by[100.0].inside_switch_radius and by[100.0].switch_radius_km == 80.0
    assert all(by[s].inside_switch_radius for s in (50.0, 30.0, 20.0, 15.0))
    assert "inside the 80 km switch radius" in by[50.0].notes
    table = family2.table()
    assert "| SH valid (1e-3) |" in table and "no: min 15.00 km < 80 km" in table
    assert "| yes |" in table and "differ from the exact polyhedron by more than 1e-3" in table
    with pytest.raises(InputError, match="30 km QSO comes 30.00 km .* inside the 80 km switch radius"):
        Q.periodic_qso(30.0, 2, guess_state=by[30.0].state0, inside_switch="refuse")
    row = dataclasses.replace(by[15.0], min_center_distance_km=13.5).row()
    assert "series diverges" in row and "0.0" not in row.split("no:")[0]
    assert not np.isfinite(Q.periodic_qso(100.0, 0).switch_radius_km)  # point mass: no series


def test_family_continuation_members_equal_direct_corrections():
    """The continuation (secant predictor, a step's Newton capped at 12 iterations and halved when it fails)
    gives the same orbits as correcting each size from the scaled previous member with the full 25
    iterations: period and initial state to Newton's tolerance."""
    fam = Q.qso_family(0, [100.0, 60.0, 40.0])
    prev = None
    for m in fam.members:
        guess = None
        if prev is not None:
            guess = prev.state0.copy()
            guess[3:] *= m.size_km / prev.size_km
            guess[0] = -m.size_km
        d = Q.periodic_qso(m.size_km, 0, guess_state=guess)
        assert abs(d.period_s - m.period_s) < 1e-6 * m.period_s
        assert np.abs(d.state0 - m.state0).max() < 1e-7 * m.size_km
        prev = d
    with pytest.raises(InputError):
        Q.periodic_qso(100.0, 0, max_iter=0)
