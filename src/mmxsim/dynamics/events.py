"""Events found by the integrator's root finding: impacts, distance limits, eclipses.

An event spec provides ``signature()``, ``bodies()``, ``rotations()``,
``expression(ctx)`` (zero at the event), ``terminal`` and ``direction``
('negative', 'positive' or 'any'), and ``label(direction_sign)``.

Impact surfaces plug in through :data:`IMPACT_SURFACES`: a class with
``contains_expr(ctx, rb)`` (negative inside) and ``altitude(rb) -> km`` (NumPy, (N,3)).
Later work adds shape models there without editing the propagator.
"""

from __future__ import annotations

import numpy as np

from ..bodies import PHOBOS_RADII, R_MARS_EQ, R_MARS_POL
from ..errors import InputError
from ..mathns import dot, matvec, sub

IMPACT_SURFACES: dict[str, type] = {}


def register_surface(cls):
    IMPACT_SURFACES[cls.name] = cls
    return cls


@register_surface
class EllipsoidSurface:
    """Tri-axial ellipsoid in the body-fixed frame (Phobos: IAU 13.0 x 11.4 x 9.1 km)."""

    name = "ellipsoid"

    def __init__(self, radii=PHOBOS_RADII):
        self.radii = tuple(float(r) for r in radii)

    def signature(self):
        return (self.name, self.radii)

    def contains_expr(self, ctx, rb):
        a, b, c = self.radii
        return (rb[0] / a) ** 2 + (rb[1] / b) ** 2 + (rb[2] / c) ** 2 - 1.0

    def altitude(self, rb):
        """Radial altitude: |r| minus the ellipsoid radius along the same direction (km)."""
        rb = np.atleast_2d(rb)
        n = np.linalg.norm(rb, axis=1)
        u = rb / n[:, None]
        rs = 1.0 / np.sqrt(np.sum((u / np.array(self.radii)) ** 2, axis=1))
        return n - rs


def make_surface(name: str):
    if name not in IMPACT_SURFACES:
        raise InputError("events.impact", name, ", ".join(["none", *IMPACT_SURFACES]))
    return IMPACT_SURFACES[name]()


class Event:
    terminal = False
    direction = "any"
    kind = "event"
    body = ""

    def bodies(self):
        return set()

    def rotations(self):
        return set()

    def label(self, sign: int) -> str:
        return self.kind


class PhobosImpact(Event):
    terminal = True
    direction = "negative"
    kind = "impact"
    body = "PHOBOS"

    def __init__(self, surface):
        self.surface = surface

    def bodies(self):
        return {"PHOBOS"}

    def rotations(self):
        return {"PHOBOS"}

    def signature(self):
        return ("impact", "PHOBOS", self.surface.signature())

    def expression(self, ctx):
        rb = matvec(ctx.rotation("PHOBOS"), sub(ctx.r, ctx.body_position("PHOBOS")))
        return self.surface.contains_expr(ctx, rb)


class MarsImpact(Event):
    """Reaching the Mars reference ellipsoid (IAU radii): always on, terminal."""

    terminal = True
    direction = "negative"
    kind = "impact"
    body = "MARS"

    def rotations(self):
        return {"MARS"}

    def signature(self):
        return ("impact", "MARS")

    def expression(self, ctx):
        z = dot(ctx.r, ctx.pole("MARS"))
        r2 = dot(ctx.r, ctx.r)
        return (r2 - z * z) / R_MARS_EQ**2 + z * z / R_MARS_POL**2 - 1.0


class MaxDistance(Event):
    """Leaving a sphere of radius ``km`` around Phobos (terminal)."""

    terminal = True
    direction = "positive"
    kind = "max_distance"
    body = "PHOBOS"

    def __init__(self, km: float):
        if not km > 0:
            raise InputError("events.max_distance_km", km, "> 0")
        self.km = float(km)

    def bodies(self):
        return {"PHOBOS"}

    def signature(self):
        return ("max_distance", self.km)

    def expression(self, ctx):
        d = sub(ctx.r, ctx.body_position("PHOBOS"))
        return dot(d, d) - self.km**2


class Eclipse(Event):
    """Shadow boundary of ``occulter`` (Sun centre on the occulter's limb)."""

    kind = "eclipse"

    def __init__(self, occulter: str):
        self.body = occulter

    def bodies(self):
        return {"SUN", self.body}

    def signature(self):
        return ("eclipse", self.body)

    def expression(self, ctx):
        from .forces import eclipse_function

        return eclipse_function(ctx, self.body)

    def label(self, sign: int) -> str:
        return "eclipse_entry" if sign < 0 else "eclipse_exit"
