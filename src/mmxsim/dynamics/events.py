"""Events found by the integrator's root finding: impacts, distance limits, eclipses.

An event spec provides ``signature()``, ``bodies()``, ``rotations()``,
``expression(ctx)`` (zero at the event), ``terminal`` and ``direction``
('negative', 'positive' or 'any'), and ``label(direction_sign)``.

Impact surfaces plug in through :data:`IMPACT_SURFACES`: a class with
``contains_expr(ctx, rb)`` (negative inside) and ``altitude(rb) -> km`` (NumPy, (N,3)).
A surface that is not a smooth expression (a triangle mesh) also provides
``signed_distance(rb) -> km`` (numeric, negative inside); its ``contains_expr`` is then only a
cheap *trigger* enclosing the surface, and the impact itself is found on the exact surface along
the integrator's dense output (:mod:`mmxsim.dynamics.surface_watch`): the propagator never sees
the mesh.
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
        a, b, c = self.radii
        self.label = f"IAU ellipsoid {a:g} x {b:g} x {c:g} km, radial altitude"

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


    def describe(self) -> str:
        a, b, c = self.radii
        return (f"the IAU tri-axial ellipsoid ({a:.1f} x {b:.1f} x {c:.1f} km); altitude is radial altitude above it "
                "(the real Phobos pokes through it by up to 1.7 km: altitudes near the surface are optimistic "
                "by up to that much)")




@register_surface
class ShapeSurface:
    """The packaged Phobos triangle mesh (``ernst``: 49,988 facets, Ernst et al. 2023; or
    ``thomas32k`` / ``thomas3k``); altitude = exact signed distance to the mesh
    (:func:`mmxsim.bodies.shape_distance.signed_distance`), negative inside.

    Trigger for the integrator: the IAU ellipsoid scaled to enclose every vertex, plus
    ``margin_km`` on each radius; inside it impacts are found on the mesh itself (see
    :mod:`mmxsim.dynamics.surface_watch`).  Simplification: the surface is the mesh (planar facets,
    ~0.1 km across on Ernst); the mesh's own error against the real Phobos is not modelled.
    """

    name = "shape"

    def __init__(self, model: str = "ernst", margin_km: float = 0.2):
        from ..bodies.shapes import PHOBOS_SHAPES, phobos_shape

        if model not in PHOBOS_SHAPES:
            raise InputError("events.shape_model", model, ", ".join(PHOBOS_SHAPES))
        if not margin_km > 0:
            raise InputError("margin_km", margin_km, "> 0 km")
        self.model = model
        self.shape = phobos_shape(model)  # shared per process: its BVH (shape._cache) is built once
        r = np.array(PHOBOS_RADII, float)
        k = float(np.sqrt(np.max(np.sum((self.shape.vertices / r) ** 2, axis=1))))
        self.trigger_radii = tuple(float(x) for x in np.round(k * r + margin_km, 6))
        self.label = f"{model} shape model ({len(self.shape.faces)} facets), exact distance"

    def signature(self):
        return (self.name, self.model, self.trigger_radii)

    def contains_expr(self, ctx, rb):
        """The trigger: the enclosing ellipsoid (negative inside it)."""
        a, b, c = self.trigger_radii
        return (rb[0] / a) ** 2 + (rb[1] / b) ** 2 + (rb[2] / c) ** 2 - 1.0

    def signed_distance(self, rb) -> float:
        """Exact signed distance (km) from one body-fixed point to the mesh."""
        from ..bodies.shape_distance import signed_distance

        return float(signed_distance(self.shape, np.asarray(rb, float)))

    def altitude(self, rb):
        """Signed minimum distance to the mesh (km), negative inside, for (N, 3) body-fixed points."""
        from ..bodies.shape_distance import signed_distance

        return signed_distance(self.shape, np.atleast_2d(np.asarray(rb, float)))

    def describe(self) -> str:
        n = len(self.shape.faces)
        src = "Ernst et al. 2023" if self.model == "ernst" else "Thomas"
        return (f"the {self.model} shape model of Phobos ({n} facets, {src}); altitude is the exact minimum "
                "distance to the mesh (negative inside); the error is that of the mesh itself (planar facets)")


def make_surface(name: str, shape_model: str | None = None):
    """The impact surface ``name``; ``shape_model`` selects the mesh of a shape surface."""
    if name not in IMPACT_SURFACES:
        raise InputError("events.impact", name, ", ".join(["none", *IMPACT_SURFACES]))
    cls = IMPACT_SURFACES[name]
    if shape_model is not None and cls is ShapeSurface:
        return cls(shape_model)
    return cls()


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

    #: bound on the spacecraft's acceleration relative to Phobos' body-fixed frame within the
    #: trigger surface, km/s^2 (used by surface_watch for a conservative scan): Phobos gravity
    #: <= 1e-5, Mars tide <= 3e-6 at 25 km, centrifugal <= 1e-6, Coriolis 2 w |u| <= 5e-6 for
    #: |u| <= 10 m/s; 5e-5 leaves a factor > 2
    accel_bound = 5e-5

    def __init__(self, surface):
        self.surface = surface
        # an exact surface that is not an expression: found along the dense output
        self.refine = hasattr(surface, "signed_distance")

    def bodies(self):
        return {"PHOBOS"}

    def rotations(self):
        return {"PHOBOS"}

    def signature(self):
        return ("impact", "PHOBOS", self.surface.signature())

    def body_fixed(self, ctx):
        """Spacecraft position in Phobos' body-fixed frame (expressions or floats)."""
        return matvec(ctx.rotation("PHOBOS"), sub(ctx.r, ctx.body_position("PHOBOS")))

    def expression(self, ctx):
        """Negative inside the surface (or inside its trigger for an exact surface)."""
        return self.surface.contains_expr(ctx, self.body_fixed(ctx))

    def signed_distance(self, rb) -> float:
        return self.surface.signed_distance(rb)


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
