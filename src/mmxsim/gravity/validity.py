"""Where Phobos' spherical harmonics may be used, and the field that replaces them inside.

The degree-2..10 fields of :func:`mmxsim.gravity.phobos_field` describe a constant-density
body with the Ernst et al. (2023) shape (49,988 facets, V = 5759.30 km^3, GM = BODY401_GM of
gm_de440.tpc, hence rho = 1843.8 kg/m^3). The exact field of that same body is the polyhedron
:class:`~mmxsim.gravity.polyhedron.Polyhedron` of the same mesh and GM, so the difference
between the two is the error of the series alone (truncation outside the Brillouin sphere,
which has radius 13.94 km = the largest vertex radius; divergence inside it).

Measured (4000 random directions per radius, seed 7; max over directions of
|a_SH - a_poly| / |a_poly|, Mars-free body-fixed accelerations)::

    r km  deg2    deg3    deg4    deg5    deg6    deg7    deg8    deg9    deg10
     14   1.6e-1                          8.7e-2          6.7e-2          5.3e-2   (3000 dirs)
     16   8.1e-2  3.9e-2  3.2e-2  2.4e-2  1.9e-2  1.4e-2  1.1e-2  8.1e-3  5.9e-3
     18   5.3e-2  2.0e-2  1.4e-2  1.0e-2  7.5e-3  4.6e-3  3.1e-3  2.0e-3  1.2e-3
     20   3.7e-2  1.2e-2  7.5e-3  4.9e-3  3.3e-3  1.8e-3  1.1e-3  6.3e-4  3.3e-4
     21   3.1e-2  9.9e-3  5.6e-3  3.5e-3  2.2e-3  1.2e-3  6.7e-4  3.8e-4  1.8e-4
     22   2.7e-2  8.0e-3  4.3e-3  2.5e-3  1.5e-3  7.8e-4  4.3e-4  2.3e-4  1.0e-4
     24   2.0e-2  5.5e-3  2.6e-3  1.4e-3  7.9e-4  3.7e-4  1.8e-4  9.2e-5  3.7e-5
     26   1.5e-2  4.0e-3  1.6e-3  8.2e-4  4.3e-4  1.8e-4  8.4e-5  4.0e-5  1.4e-5
     30   9.7e-3  2.2e-3  7.6e-4  3.2e-4  1.5e-4  5.4e-5  2.2e-5  8.9e-6  2.7e-6
     34   6.5e-3  1.3e-3  4.0e-4  1.4e-4  5.8e-5  1.9e-5  6.6e-6  2.4e-6  6.4e-7
     45   2.7e-3  4.3e-4  9.4e-5  2.4e-5  7.5e-6  1.8e-6  4.8e-7  1.4e-7  2.6e-8
     80   4.6e-4  4.2e-5  5.0e-6  7.2e-7  1.2e-7  1.6e-8  2.3e-9  4.0e-10 4.0e-11

Below ~20 km the error is dominated by the truncation of a series that converges more and
more slowly, and inside 13.94 km the series diverges: at 13.5-14 km the degree-10 field is off
by 5-6 %, and the 15-16 km QSOs come to 13.1 km from the centre.

Switch radius. :data:`SWITCH_RADIUS_KM` gives, per degree, the smallest tabulated radius at
which the measured maximum error is below 5e-4, i.e. a factor >= 2 inside the 1e-3 requirement
(margin for directions not sampled): degree 10: 20 km (3.3e-4), degree 8 (the default): 22 km
(4.3e-4). Outside it the harmonics are used; inside it the propagator
(:mod:`mmxsim.dynamics.near_surface`) uses the exact polyhedron. ``tests/gravity/test_validity.py``
re-checks < 1e-3 at fresh random points beyond the switch radius.

Simplifications: constant density (both sides; the real interior is unknown), so this states
the error of the series representation, not of the physical field.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..errors import InputError

# degree -> (switch radius km, measured max relative acceleration error of the SH there)
SWITCH_TABLE = {2: (80.0, 4.6e-4), 3: (45.0, 4.3e-4), 4: (34.0, 4.0e-4), 5: (30.0, 3.2e-4), 6: (26.0, 4.3e-4),
                7: (24.0, 3.7e-4), 8: (22.0, 4.3e-4), 9: (21.0, 3.8e-4), 10: (20.0, 3.3e-4)}
SWITCH_RADIUS_KM = {d: r for d, (r, _) in SWITCH_TABLE.items()}
BRILLOUIN_RADIUS_KM = 13.94  # largest vertex radius of the Ernst mesh (13.9400 km)
REQUIRED_REL_ERROR = 1e-3
NEAR_SURFACE_MODELS = ("polyhedron", "grid")


def switch_radius(degree: int) -> float:
    """Distance from Phobos' centre (km) inside which the degree-``degree`` harmonics are not used."""
    if not isinstance(degree, (int, np.integer)) or int(degree) not in SWITCH_TABLE:
        raise InputError("Phobos harmonics degree", degree, "2..10")
    return SWITCH_RADIUS_KM[int(degree)]


@lru_cache(maxsize=2)
def near_surface_field(kind: str = "polyhedron"):
    """The Phobos field valid down to the surface, same body as the harmonics (Ernst mesh, GM_PHOBOS).

    ``"polyhedron"``: exact :class:`~mmxsim.gravity.polyhedron.Polyhedron` (about 1-3 ms per
    single point with numba on 2 cores). ``"grid"``: :class:`~mmxsim.gravity.fast.GridGravity`
    of the same mesh (microseconds per point, stated error < 1e-3 beyond 1 km altitude on
    ``thomas3k``; its first build on the Ernst mesh takes minutes and is cached on disk).
    Both return body-fixed accelerations from ``acceleration(points)``.
    """
    from ..bodies.shapes import phobos_shape

    if kind == "polyhedron":
        from .polyhedron import Polyhedron

        return Polyhedron(phobos_shape("ernst"))
    if kind == "grid":
        from .fast import GridGravity

        return GridGravity("ernst")
    raise InputError("near_surface", kind, ", ".join(NEAR_SURFACE_MODELS))


def switched_acceleration(rb, degree: int, near_surface: str = "polyhedron") -> np.ndarray:
    """Body-fixed Phobos acceleration (km/s^2) of the switched model at (N, 3) points ``rb`` (km):
    degree-``degree`` harmonics where |rb| >= :func:`switch_radius`, the near-surface field inside."""
    from . import phobos_field, sh_acceleration
    from ..mathns import NP

    P = np.atleast_2d(np.asarray(rb, dtype=float))
    R = switch_radius(degree)
    out = np.empty_like(P)
    inner = np.linalg.norm(P, axis=1) < R
    if np.any(~inner):
        Q = P[~inner]
        out[~inner] = np.array(sh_acceleration([Q[:, 0], Q[:, 1], Q[:, 2]], phobos_field(int(degree)), NP)).T
    if np.any(inner):
        out[inner] = near_surface_field(near_surface).acceleration(P[inner])
    return out
