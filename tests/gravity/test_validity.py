"""Where Phobos' harmonics are valid, and the switched field (harmonics outside the switch radius,
exact polyhedron inside) against the exact polyhedron of the same body (Ernst mesh, GM_PHOBOS).

Measured when written (see mmxsim/gravity/validity.py): at the switch radius the maximum error of
the harmonics over 4000 directions is 3.3e-4 (degree 10, 20 km) to 4.6e-4 (degree 2, 80 km).
"""

import numpy as np
import pytest

from mmxsim.bodies.shapes import phobos_shape
from mmxsim.errors import InputError
from mmxsim.gravity import phobos_field, sh_acceleration
from mmxsim.gravity.validity import (BRILLOUIN_RADIUS_KM, SWITCH_RADIUS_KM, near_surface_field, switch_radius,
                                     switched_acceleration)
from mmxsim.mathns import NP


def _rel(a, b):
    return np.linalg.norm(a - b, axis=1) / np.linalg.norm(b, axis=1)


def _sh(P, degree):
    return np.array(sh_acceleration([P[:, 0], P[:, 1], P[:, 2]], phobos_field(degree), NP)).T


def test_brillouin_radius_is_the_largest_vertex_radius():
    r = np.linalg.norm(phobos_shape("ernst").vertices, axis=1).max()
    assert abs(r - BRILLOUIN_RADIUS_KM) < 0.005


def test_harmonics_beyond_switch_radius_within_1e3():
    """Every degree 2..10: 700 fresh random points (other seed than the table) between R_s and
    1.5 R_s: max relative error vs the polyhedron < 1e-3 (measured 2.4e-4 at degree 10 to 4.4e-4 at
    degree 2)."""
    poly = near_surface_field("polyhedron")
    rng = np.random.default_rng(2024)
    d = rng.normal(size=(700, 3))
    d /= np.linalg.norm(d, axis=1)[:, None]
    u = rng.uniform(0.0, 1.0, 700) ** 2  # denser near R_s
    worst = {}
    for deg, R in SWITCH_RADIUS_KM.items():
        P = d * (R * (1.0 + 0.5 * u))[:, None]
        worst[deg] = _rel(_sh(P, deg), poly.acceleration(P)).max()
    assert max(worst.values()) < 1e-3, worst
    # and the radius is not needlessly large: 15 % inside it the error exceeds 5e-4 for each degree
    for deg, R in SWITCH_RADIUS_KM.items():
        P = d[:200] * 0.85 * R
        assert _rel(_sh(P, deg), poly.acceleration(P)).max() > 5e-4, deg


def test_gravity_along_15km_qso_switched_vs_polyhedron():
    """400 points along the designed 15 km QSO (degree-8 Hill design, Hill frame -> body axes):
    it lies 15.0-17.7 km from the centre, all inside the degree-8 and -10 switch radii, so the
    switched field is the polyhedron itself there (< 1e-3; the harmonics alone are off by
    1.4e-2 at degree 8 and 8.4e-3 at degree 10, measured). The propagated 15 km QSO, which also
    crosses 22 km, is checked in tests/dynamics/test_near_surface.py."""
    from mmxsim.orbits.qso import HILL_TO_BODY, periodic_qso, sample_orbit

    q = periodic_qso(15.0, 8)
    P = sample_orbit(q, 400)[:, :3] @ HILL_TO_BODY.T
    r = np.linalg.norm(P, axis=1)
    assert r.min() < 15.01 and r.max() < 20.0
    exact = near_surface_field("polyhedron").acceleration(P)
    for deg in (8, 10):
        err = _rel(switched_acceleration(P, deg), exact)
        assert err.max() < 1e-3, (deg, err.max())
    assert _rel(_sh(P, 8), exact).max() > 5e-3


def test_switch_radius_refuses_bad_degree():
    with pytest.raises(InputError):
        switch_radius(11)
    with pytest.raises(InputError):
        near_surface_field("mascons")
