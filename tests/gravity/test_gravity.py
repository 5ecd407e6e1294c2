"""Gravity fields against independent references."""

import numpy as np
import pytest

from mmxsim.bodies import GM_PHOBOS
from mmxsim.gravity import SHField, phobos_field, point_mass, sh_acceleration, sh_potential
from mmxsim.mathns import NP


def test_sh_acceleration_is_gradient_of_potential():
    """Cunningham acceleration vs central differences of the potential: 1e-12 relative."""
    f = phobos_field(10)
    rng = np.random.default_rng(3)
    for _ in range(20):
        r = rng.normal(size=3)
        r *= rng.uniform(15, 60) / np.linalg.norm(r)
        a = np.array(sh_acceleration(list(r), f, NP))
        h = 1e-4
        g = np.array([(sh_potential(list(r + h * e), f, NP) - sh_potential(list(r - h * e), f, NP)) / (2 * h)
                      for e in np.eye(3)])
        assert np.linalg.norm(a - g) / np.linalg.norm(a) < 1e-9


def test_degree_zero_is_point_mass():
    f = phobos_field(10).truncated(0)
    r = [30.0, -4.0, 7.0]
    np.testing.assert_allclose(sh_acceleration(r, f, NP), point_mass(r, GM_PHOBOS, NP), rtol=1e-14)


def test_c20_matches_independent_legendre_formula():
    """A pure C20 field vs the closed-form J2 acceleration (R = 11 km)."""
    C = np.zeros((3, 3))
    S = np.zeros((3, 3))
    C[0, 0] = 1.0
    C[2, 0] = -0.1
    f = SHField(1.0, 11.0, C, S, 2)
    r = np.array([20.0, 5.0, 8.0])
    x, y, z = r
    rn = np.linalg.norm(r)
    J2 = 0.1
    k = 1.5 * J2 * 11.0**2 / rn**5
    ref = -r / rn**3 + np.array([-k * x * (1 - 5 * z * z / rn**2), -k * y * (1 - 5 * z * z / rn**2),
                                 -k * z * (3 - 5 * z * z / rn**2)])
    np.testing.assert_allclose(sh_acceleration(list(r), f, NP), ref, rtol=1e-13)


def test_far_field_tends_to_point_mass():
    f = phobos_field(8)
    r = np.array([3000.0, 100.0, -50.0])
    a = np.array(sh_acceleration(list(r), f, NP))
    pm = np.array(point_mass(list(r), GM_PHOBOS, NP))
    assert np.linalg.norm(a - pm) / np.linalg.norm(pm) < 1e-5


def test_bad_degree():
    from mmxsim.errors import InputError

    with pytest.raises(InputError, match="0..10"):
        phobos_field(10).truncated(11)
