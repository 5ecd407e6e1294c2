"""Propagator validation against analytic solutions and conservation laws."""

import numpy as np
import pytest

from mmxsim.bodies import GM_MARS, GM_PHOBOS, MARS_REF_RADIUS, MARS_ZONALS
from mmxsim.dynamics import DynamicsModel, ForceModel, MarsGravity, PhobosGravity, propagate
from mmxsim.dynamics.propagator import build
from mmxsim.gravity import point_mass
from mmxsim.mathns import NP
from mmxsim.orbits import keplerian_to_cartesian

T0 = 8.7e8  # TDB s past J2000 (2027)


def kepler_state(mu, a, e, i, raan, argp, M):
    E = NP.kepE(e, M)
    nu = 2 * np.arctan2(np.sqrt(1 + e) * np.sin(E / 2), np.sqrt(1 - e) * np.cos(E / 2))
    return keplerian_to_cartesian(mu, a, e, i, raan, argp, nu)


def test_two_body_vs_kepler_100_orbits():
    """Two-body vs the analytic Kepler solution over 100 orbits: < 1e-6 km."""
    mu, a, e = GM_MARS, 9400.0, 0.15
    n = np.sqrt(mu / a**3)
    P = 2 * np.pi / n
    x0 = kepler_state(mu, a, e, 0.4, 1.0, 2.0, 0.3)
    model = DynamicsModel(forces=[MarsGravity(0)], ephemeris=None, tolerance=1e-15)
    times = T0 + np.array([0.0, 37.3 * P, 100.0 * P + 1234.5])
    res = propagate(model, T0, x0, times)
    for t, x in zip(res.t, res.states):
        ref = kepler_state(mu, a, e, 0.4, 1.0, 2.0, 0.3 + n * (t - T0))
        assert np.linalg.norm(x[:3] - ref[:3]) < 1e-6
        assert np.linalg.norm(x[3:] - ref[3:]) < 1e-9


class FixedPoleMars(ForceModel):
    """Mars point mass + J2..J4 about a fixed pole: an exactly conservative test field."""

    kind = "test_fixed_pole_mars"

    def __init__(self, pole):
        self.pole = [float(p) for p in pole]

    def signature(self):
        return (self.kind, tuple(self.pole))

    def acceleration(self, ctx):
        from mmxsim.gravity import zonal

        a = point_mass(ctx.r, GM_MARS, ctx.m)
        z = zonal(ctx.r, self.pole, GM_MARS, MARS_REF_RADIUS, MARS_ZONALS, ctx.m)
        return [a[i] + z[i] for i in range(3)]


def zonal_energy(x, pole):
    r = np.linalg.norm(x[:3])
    s = x[:3] @ pole / r
    P = {2: 0.5 * (3 * s * s - 1), 3: 0.5 * (5 * s**3 - 3 * s), 4: (35 * s**4 - 30 * s * s + 3) / 8}
    U = GM_MARS / r * (1 - sum(J * (MARS_REF_RADIUS / r) ** n * P[n] for n, J in MARS_ZONALS.items()))
    return 0.5 * x[3:] @ x[3:] - U


def test_energy_and_polar_angular_momentum_with_zonals():
    """Two-body + J2..J4 (axisymmetric): energy and h.pole conserved to 1e-12 relative over 20 days."""
    pole = np.array([0.2, -0.3, 0.9])
    pole /= np.linalg.norm(pole)
    x0 = keplerian_to_cartesian(GM_MARS, 6000.0, 0.3, 1.1, 0.5, 0.7, 0.0)
    model = DynamicsModel(forces=[FixedPoleMars(pole)], ephemeris=None, tolerance=1e-15)
    res = propagate(model, T0, x0, T0 + np.linspace(0, 20 * 86400, 400))
    E = np.array([zonal_energy(x, pole) for x in res.states])
    hz = np.array([np.cross(x[:3], x[3:]) @ pole for x in res.states])
    assert np.max(np.abs(E - E[0])) / abs(E[0]) < 1e-12
    assert np.max(np.abs(hz - hz[0])) / abs(hz[0]) < 1e-12
    # and the zonals matter: without them the orbit differs by far more than the tolerance
    res0 = propagate(DynamicsModel(forces=[MarsGravity(0)], ephemeris=None, tolerance=1e-15), T0, x0,
                     T0 + np.array([0, 20 * 86400.0]))
    assert np.linalg.norm(res0.states[-1, :3] - res.states[-1, :3]) > 100.0


class CircularPhobos:
    """Phobos on a circular equatorial orbit about Mars: the circular restricted problem."""

    kind = "analytic"
    a = 9376.0
    n = np.sqrt((GM_MARS + GM_PHOBOS) / 9376.0**3)

    def signature(self):
        return ("circular_phobos", self.a)

    def expr(self, ctx):
        th = self.n * (ctx.t - T0)
        return [self.a * ctx.m.cos(th), self.a * ctx.m.sin(th), 0.0]

    def position(self, t):
        th = self.n * (np.asarray(t) - T0)
        return np.array([self.a * np.cos(th), self.a * np.sin(th), 0.0 * th])


def jacobi(t, x):
    """Jacobi constant in the barycentric rotating frame (km^2/s^2)."""
    n, a = CircularPhobos.n, CircularPhobos.a
    th = n * (t - T0)
    mu = GM_PHOBOS / (GM_MARS + GM_PHOBOS)
    rp = np.array([a * np.cos(th), a * np.sin(th), 0.0])
    vp = np.array([-a * n * np.sin(th), a * n * np.cos(th), 0.0])
    rb, vb = mu * rp, mu * vp  # barycentre relative to Mars
    r, v = x[:3] - rb, x[3:] - vb
    omega = np.array([0, 0, n])
    v_rot = v - np.cross(omega, r)
    r1 = np.linalg.norm(x[:3])
    r2 = np.linalg.norm(x[:3] - rp)
    U = 0.5 * n**2 * (r[0] ** 2 + r[1] ** 2) + GM_MARS / r1 + GM_PHOBOS / r2
    return 2 * U - v_rot @ v_rot


def test_jacobi_integral_circular_restricted_mars_phobos():
    """Circular restricted Mars-Phobos problem: Jacobi constant conserved to 1e-12 relative over 10 days."""
    a, n = CircularPhobos.a, CircularPhobos.n
    # a QSO-like state 30 km from Phobos, started in the rotating frame
    rp = np.array([a, 0, 0.0])
    rel = np.array([-30.0, 0, 0])
    v_rel = np.array([0, 2 * n * 30.0, 0.0])
    x0 = np.r_[rp + rel, np.array([0, a * n, 0]) + v_rel + np.cross([0, 0, n], rel)]
    model = DynamicsModel(forces=[MarsGravity(0), PhobosGravity("point_mass")], ephemeris=None,
                          tolerance=1e-15, track_overrides={"PHOBOS": CircularPhobos()})
    res = propagate(model, T0, x0, T0 + np.linspace(0, 10 * 86400, 200))
    C = np.array([jacobi(t, x) for t, x in zip(res.t, res.states)])
    assert res.termination == "span completed"
    assert np.max(np.abs(C - C[0])) / abs(C[0]) < 1e-12


def test_compiled_systems_are_cached():
    """A second propagation of the same model pays no compile cost and gives the same result."""
    x0 = kepler_state(GM_MARS, 9400.0, 0.1, 0.2, 0.0, 0.0, 0.0)
    model = DynamicsModel(forces=[MarsGravity(2)], ephemeris=None, tolerance=1e-13)
    a = propagate(model, T0, x0, T0 + np.array([0.0, 86400.0]))
    model2 = DynamicsModel(forces=[MarsGravity(2)], ephemeris=None, tolerance=1e-13)
    b = propagate(model2, T0 + 1000.0, x0, T0 + 1000.0 + np.array([0.0, 86400.0]))
    assert b.compile_s == 0.0
    c = propagate(model2, T0, x0, T0 + np.array([0.0, 86400.0]))
    np.testing.assert_array_equal(a.states, c.states)
    assert build(model2).ta is not build(model2).ta  # independent copies


def test_nan_initial_state_is_refused():
    from mmxsim.errors import MmxsimError

    model = DynamicsModel(forces=[MarsGravity(0)], ephemeris=None)
    with pytest.raises(MmxsimError, match="NaN"):
        propagate(model, T0, [np.nan, 0, 0, 0, 0, 0], [T0, T0 + 1])


def test_third_body_is_the_tidal_acceleration_near_the_centre():
    """Direct minus indirect pull of a distant body (the Sun at 1.5 AU) on a point 20 000 km from
    the centre: the closed-form tidal acceleration GM/D^3 (3 (r.u) u - r) to first order in r/D
    (relative error < 1e-3 here, r/D ~ 1e-4); its size is ~1e-12 km/s^2, not the Sun's full pull
    (~3e-6 km/s^2), which a missing indirect term would give."""
    from mmxsim.bodies import AU_KM, GM_SUN
    from mmxsim.dynamics.forces import third_body

    rb = np.array([1.2, -0.6, 0.3]) / np.linalg.norm([1.2, -0.6, 0.3]) * 1.5 * AU_KM
    u = rb / np.linalg.norm(rb)
    D = np.linalg.norm(rb)
    for r in ([2.0e4, 0.0, 0.0], [0.0, 1.2e4, -1.6e4], [-5e3, 8e3, 1.7e4]):
        r = np.array(r)
        got = np.array(third_body(list(r), list(rb), GM_SUN, NP), float)
        tidal = GM_SUN / D**3 * (3.0 * (r @ u) * u - r)
        assert np.linalg.norm(got - tidal) < 1e-3 * np.linalg.norm(tidal), (got, tidal)


def test_mars_gravity_force_is_minus_the_gradient_of_the_zonal_potential():
    """Issue 15 (thin kill): the zonals were tested only through a separate fixed-pole force class.
    Here the production `MarsGravity(4)`, with its IAU 2015 pole at the epoch, evaluated by the NumPy
    right-hand side, equals minus the gradient of U = GM/r [1 - sum J_n (R/r)^n P_n(sin phi)] taken
    by a five-point difference (numpy's Legendre polynomials, the pole from the rotation matrix's third
    row): 1e-9 relative (the differences' own error ~1e-11)."""
    from numpy.polynomial import legendre

    from mmxsim.bodies import get_body
    from mmxsim.dynamics import numpy_rhs

    f = numpy_rhs(DynamicsModel(forces=[MarsGravity(4)], ephemeris=None))
    pole = np.asarray(get_body("MARS").rotation().matrix(T0))[2]

    def U(r):
        rn = np.linalg.norm(r)
        s = (r @ pole) / rn
        return GM_MARS / rn * (1 - sum(J * (MARS_REF_RADIUS / rn) ** n * legendre.legval(s, [0] * n + [1])
                                       for n, J in MARS_ZONALS.items()))

    rng = np.random.default_rng(11)
    for _ in range(20):
        r = rng.normal(size=3)
        r *= rng.uniform(3500.0, 20000.0) / np.linalg.norm(r)
        h = 0.1  # five-point stencil: truncation (h/r)^4 < 1e-17, rounding ~1e-11 relative
        grad = np.array([(-U(r + 2 * h * e) + 8 * U(r + h * e) - 8 * U(r - h * e) + U(r - 2 * h * e)) / (12 * h)
                         for e in np.eye(3)])
        a = f(T0, np.concatenate([r, [0.0, 0.0, 0.0]]))[3:]
        assert np.linalg.norm(a - grad) < 1e-9 * np.linalg.norm(grad)
        # the zonal part itself is checked, not just the point mass
        pm = -GM_MARS * r / np.linalg.norm(r) ** 3
        assert np.linalg.norm((a - pm) - (grad - pm)) < 1e-6 * np.linalg.norm(grad - pm)
