"""The force-model options added for orbit determination: Phobos' GM as a runtime parameter and
the constant empirical acceleration (mmxsim.dynamics.forces)."""

import numpy as np
import pytest

from mmxsim.bodies import GM_PHOBOS
from mmxsim.dynamics import DynamicsModel, EmpiricalAcceleration, MarsGravity, PhobosGravity, propagate
from mmxsim.dynamics.context import Context, ParameterTable
from mmxsim.errors import InputError

T0 = 8.7e8


class _Track:
    """Phobos at a fixed place relative to Mars (numeric contexts only)."""

    kind = "analytic"

    def position(self, t):
        return np.array([9376.0, 0.0, 0.0])


class _Rot:
    def matrix(self, t):
        c, s = np.cos(0.3), np.sin(0.3)
        return np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])


def _ctx(force, state, values=None):
    params = ParameterTable()
    for k, v in force.parameters().items():
        params.index(k, v)
    for k, v in (values or {}).items():
        params.values[params.names.index(k)] = v
    return Context.numeric(T0, state, {"PHOBOS": _Track()}, {"PHOBOS": _Rot()}, params)


@pytest.mark.parametrize("model", ["point_mass", "harmonics"])
def test_phobos_gm_parameter(model):
    """gm_parameter=True at the default GM gives the fixed-GM acceleration (1e-15 relative: the
    harmonic field is evaluated with unit GM then multiplied); at 2 GM exactly twice it (the direct
    and the indirect terms both scale); the signature differs only when the option is on."""
    x = np.array([9376.0 + 25.0, 8.0, -3.0, 0.0, 0.0, 0.0])
    fixed, par = PhobosGravity(model, 4), PhobosGravity(model, 4, gm_parameter=True)
    a0 = np.array(fixed.acceleration(_ctx(fixed, x)), dtype=float)
    a1 = np.array(par.acceleration(_ctx(par, x)), dtype=float)
    a2 = np.array(par.acceleration(_ctx(par, x, {"phobos:gm": 2 * GM_PHOBOS})), dtype=float)
    assert np.linalg.norm(a1 - a0) < 1e-15 * np.linalg.norm(a0)
    assert np.linalg.norm(a2 - 2 * a0) < 1e-15 * np.linalg.norm(a0)
    assert par.parameters() == {"phobos:gm": GM_PHOBOS} and fixed.parameters() == {}
    assert fixed.signature() == (("phobos", model, 4 if model == "harmonics" else 0))
    assert par.signature() != fixed.signature()
    with pytest.raises(InputError, match="phobos.gm"):
        PhobosGravity(model, 4, gm_parameter=True, gm=-1.0)


def test_empirical_rtn_and_icrf():
    """RTN components on an inclined, eccentric state: the acceleration's projections on R = r/|r|,
    N = r x v/|r x v| and T = N x R equal (r, t, n) to 1e-14 relative (float64 rounding); ICRF
    frame: the components as given; a bad frame is an InputError."""
    x = np.array([3000.0, -8000.0, 2500.0, 1.2, 0.9, -1.7])
    f = EmpiricalAcceleration("rtn", 1e-9, -2e-9, 3e-9)
    a = np.array(f.acceleration(_ctx(f, x)), dtype=float)
    R = x[:3] / np.linalg.norm(x[:3])
    N = np.cross(x[:3], x[3:])
    N /= np.linalg.norm(N)
    T = np.cross(N, R)
    assert np.allclose([a @ R, a @ T, a @ N], [1e-9, -2e-9, 3e-9], rtol=1e-14, atol=0)
    g = EmpiricalAcceleration("icrf")
    assert g.parameters() == {"emp:r": 0.0, "emp:t": 0.0, "emp:n": 0.0}
    assert np.array_equal(np.array(g.acceleration(_ctx(g, x, {"emp:n": 5e-10})), dtype=float), [0, 0, 5e-10])
    with pytest.raises(InputError, match="empirical.frame"):
        EmpiricalAcceleration("lvlh")


def test_empirical_in_the_integrator():
    """A constant ICRF acceleration on a Mars two-body orbit for 1000 s: heyoka vs the analytic
    difference 1/2 a t^2 to first order (the orbit's response to 1e-9 km/s^2 over 1000 s is
    5e-4 km, its curvature correction ~ n^2 t^2 relative ~ 2e-2): < 5 % of 5e-4 km, and the
    runtime parameter changes it without recompiling (same signature)."""
    x0 = np.array([9400.0, 0.0, 0.0, 0.0, 2.134, 0.0])
    grid = [T0, T0 + 1000.0]
    base = propagate(DynamicsModel([MarsGravity(0), EmpiricalAcceleration("icrf")], None, tolerance=1e-15),
                     T0, x0, grid).states[-1]
    pushed = propagate(DynamicsModel([MarsGravity(0), EmpiricalAcceleration("icrf", n=1e-9)], None,
                                     tolerance=1e-15), T0, x0, grid)
    dz = pushed.states[-1, 2] - base[2]
    assert abs(dz - 0.5e-9 * 1000.0**2) < 0.05 * 5e-4
    assert pushed.compile_s == 0.0
