"""Force models: declarative objects that return an acceleration in a :class:`Context`.

A force model is anything with

* ``name`` and ``describe() -> str`` (one line for reports),
* ``bodies() -> set[str]``: bodies whose positions it needs,
* ``rotations() -> set[str]``: bodies whose orientation it needs,
* ``signature() -> tuple``: hashable; equal signatures compile to the same code,
* ``acceleration(ctx) -> [ax, ay, az]`` in km/s^2, Mars-centred ICRF axes,
* optionally ``parameters() -> dict[name, value]``: runtime parameters (no recompile).

New models (polyhedron gravity, thrust arcs, contact...) subclass :class:`ForceModel`
and register with :func:`register_force`; nothing here needs editing. The acceleration
is written once with the math namespace ``ctx.m`` and so runs in heyoka and in NumPy.

The propagation frame is Mars-centred ICRF: every model that pulls on Mars itself
adds the corresponding indirect term.
"""

from __future__ import annotations

import numbers
from functools import lru_cache

import numpy as np

from ..bodies import (AU_KM, GM_DEIMOS, GM_EARTH, GM_MARS, GM_PHOBOS, GM_SUN, MARS_REF_RADIUS,
                      MARS_ZONALS, PHOBOS_MEAN_RADIUS, R_MARS_EQ, R_SUN, SRP_1AU_N_M2)
from ..errors import InputError
from ..gravity import point_mass, sh_acceleration, sh_acceleration_linear, zonal
from ..mathns import dot, matTvec, matvec, sub

FORCE_REGISTRY: dict[str, type] = {}


def register_force(cls):
    """Class decorator: make a force model available by its ``kind`` name."""
    FORCE_REGISTRY[cls.kind] = cls
    return cls


class ForceModel:
    kind = "abstract"

    def bodies(self) -> set[str]:
        return set()

    def rotations(self) -> set[str]:
        return set()

    def parameters(self) -> dict[str, float]:
        return {}

    def signature(self) -> tuple:
        return (self.kind,)

    def step_breaks(self, ctx) -> list:
        """Expressions whose zeros the integrator must stop at (and continue from).

        For models with features that start or stop at a known surface (e.g. shadow edges):
        an entry may be a :class:`Switch`, which also flips runtime parameters there, so that
        piecewise models compile to a constant or a smooth function on each side. A force
        returning switches also implements ``switch_parameters(ctx)`` (their values at a
        numeric state, used at the start of a propagation).
        """
        return []

    def describe(self) -> str:
        return self.kind

    def acceleration(self, ctx):  # pragma: no cover - interface
        raise NotImplementedError


def third_body(r, rb, gm, m):
    """Direct minus indirect pull of a point mass at ``rb`` on an object at ``r``."""
    d = sub(rb, r)
    d2 = dot(d, d)
    kd = gm / (d2 * m.sqrt(d2))
    b2 = dot(rb, rb)
    kb = gm / (b2 * m.sqrt(b2))
    return [kd * d[i] - kb * rb[i] for i in range(3)]


@register_force
class MarsGravity(ForceModel):
    """Mars: point mass plus zonal harmonics J2..J``degree`` (MRO120F), pole from IAU 2015."""

    kind = "mars"

    def __init__(self, degree: int = 4, gm: float = GM_MARS):
        if degree not in (0, 2, 3, 4):
            raise InputError("force_model.mars.degree", degree, "0 (point mass) or 2..4")
        self.degree = degree
        self.gm = gm

    def rotations(self):
        return {"MARS"} if self.degree else set()

    def signature(self):
        return (self.kind, self.degree, self.gm)

    def describe(self):
        if not self.degree:
            return f"Mars point mass, GM = {self.gm} km^3/s^2 (DE440)"
        return (f"Mars point mass + zonals J2..J{self.degree} (MRO120F, R = {MARS_REF_RADIUS} km), "
                f"pole from IAU 2015 (pck00011)")

    def acceleration(self, ctx):
        a = point_mass(ctx.r, self.gm, ctx.m)
        if self.degree:
            J = {n: MARS_ZONALS[n] for n in range(2, self.degree + 1)}
            z = zonal(ctx.r, ctx.pole("MARS"), self.gm, MARS_REF_RADIUS, J, ctx.m)
            a = [a[i] + z[i] for i in range(3)]
        return a


@register_force
class PhobosGravity(ForceModel):
    """Phobos: point mass or spherical harmonics in its body-fixed (librating) frame.

    The harmonics are only valid outside a switch radius (:mod:`mmxsim.gravity.validity`:
    22 km from the centre at degree 8, 20 km at degree 10; max error there 4e-4 vs the exact
    polyhedron). ``near_surface`` says what :func:`~mmxsim.dynamics.propagate` does inside it:
    ``"polyhedron"`` (default: that arc is flown with the exact constant-density polyhedron of
    the same Ernst mesh, :mod:`mmxsim.dynamics.near_surface`), ``"grid"`` (the interpolation
    grid of that polyhedron), ``"refuse"`` (MmxsimError naming the radius) or ``"off"`` (keep
    the harmonics everywhere, as before; up to 6e-2 wrong at 14 km). It does not change the
    compiled equations (not part of the signature).

    ``gm_parameter=True`` makes Phobos' GM the runtime parameter ``"phobos:gm"`` (default
    GM_PHOBOS, DE440): the direct pull (point mass or the whole harmonic field, which scales
    with GM) and the indirect term both use it, so that orbit determination can estimate it
    (:mod:`mmxsim.navigation.variational`). Off (default), the equations and the signature
    are exactly those of before. The near-surface models of :mod:`mmxsim.dynamics.near_surface`
    keep the fixed GM.

    ``estimate_degree=d`` (2..``degree``) makes the fully normalised Stokes coefficients C̄nm, S̄nm
    of degrees 2..d runtime parameters ``"phobos:C20"``, ``"phobos:C21"``, ``"phobos:S21"``, ...
    (4-pi normalisation, reference radius 11 km, as the shipped CSV; ``"phobos:C105"`` is n = 10,
    m = 5), starting from the shipped field's values (``coefficients`` overrides some, by name without
    the prefix). Those terms are written linearly in each parameter
    (:func:`~mmxsim.gravity.sh_acceleration_linear`: the basis acceleration times the parameter, and
    times GM); degrees 0, 1 and above d stay the compiled constant field. With ``gm_parameter`` too,
    GM multiplies both. The near-surface models keep the shipped field.

    ``libration_parameter=True`` makes the amplitude of the forced libration term of Phobos' prime
    meridian the runtime parameter ``"phobos:libration"`` (rad; the signed coefficient of the IAU 2015
    term, nominal -1.143 deg = -1.9949e-2 rad, :data:`~mmxsim.bodies.rotation.PHOBOS_LIBRATION_DEG`):
    W = W_IAU + (A - A_IAU) sin(theta), in the body-fixed frame of the harmonics
    (:func:`~mmxsim.bodies.rotation.librating_matrix`). It is an option of this force, not of the
    model's rotation, because the harmonics are the only place Phobos' orientation enters the force
    model; measurement models use :func:`~mmxsim.bodies.rotation.phobos_orientation` with the same
    amplitude. Off (default), equations and signatures are those of before.

    ``ephemeris_parameters=True`` makes a correction of Phobos' ephemeris six runtime parameters
    ``"phobos:dx"``, ``"phobos:dy"``, ``"phobos:dz"`` (km) and ``"phobos:dvx"``, ``"phobos:dvy"``,
    ``"phobos:dvz"`` (km/s): a change of Phobos' Mars-centred ICRF state at the correction epoch
    ``ephemeris_epoch`` (TDB s, required then; settable later without recompiling), zero by default
    (``ephemeris_correction`` overrides). The spacecraft then feels Phobos' gravity (direct and
    indirect terms) from the corrected position ``q(t) + A(t - t_e) delta``, the linear
    Clohessy-Wiltshire mapping of :mod:`mmxsim.dynamics.phobos_correction` (its simplifications and
    measured error are stated there; the measurement models use the same mapping through
    :func:`~mmxsim.dynamics.phobos_correction.phobos_state_correction`). The epoch, mean motion and
    Hill axes of the mapping and its drift coefficients (``ephemeris_frame``) are the non-estimable
    runtime parameters ``"phobos:eph_epoch"``, ``"phobos:eph_n"``, ``"phobos:eph_frame0"`` ..
    ``"phobos:eph_frame8"`` and ``"phobos:eph_drift0"`` .. ``"phobos:eph_drift5"``. The
    frame comes from Phobos in the packaged integrated ephemeris unless
    :meth:`set_ephemeris_epoch` is given another. The near-surface field follows the corrected Phobos;
    eclipses, the near-surface entry event and impact events keep the nominal one. Off (default),
    equations and signatures are those of before.
    """

    kind = "phobos"
    NEAR_SURFACE = ("polyhedron", "grid", "refuse", "off")

    def __init__(self, model: str = "harmonics", degree: int = 8, near_surface: str = "polyhedron",
                 gm_parameter: bool = False, gm: float = GM_PHOBOS, estimate_degree: int | None = None,
                 coefficients: dict | None = None, libration_parameter: bool = False,
                 libration: float | None = None, ephemeris_parameters: bool = False,
                 ephemeris_epoch: float | None = None, ephemeris_correction=None):
        if model not in ("point_mass", "harmonics"):
            raise InputError("force_model.phobos.model", model, "none, point_mass, harmonics")
        if model == "harmonics" and not 2 <= degree <= 10:
            raise InputError("force_model.phobos.degree", degree, "2..10")
        if near_surface not in self.NEAR_SURFACE:
            raise InputError("force_model.phobos.near_surface", near_surface, ", ".join(self.NEAR_SURFACE))
        self.model = model
        self.degree = degree if model == "harmonics" else 0
        self.near_surface = near_surface
        self.gm_parameter = bool(gm_parameter)
        if self.gm_parameter and not gm > 0:
            raise InputError("force_model.phobos.gm", gm, "> 0 km^3/s^2")
        self.gm = float(gm)  # initial value of "phobos:gm" (used only with gm_parameter)
        self.estimate_degree = None
        self.coefficients: dict[str, float] = {}
        if estimate_degree is not None:
            if model != "harmonics" or isinstance(estimate_degree, bool) \
                    or not isinstance(estimate_degree, numbers.Integral) or not 2 <= estimate_degree <= self.degree:
                raise InputError("force_model.phobos.estimate_degree", estimate_degree,
                                 f"an integer 2..{self.degree} (the harmonics' degree), or None"
                                 if model == "harmonics" else "None for a point mass (harmonics only)")
            from ..gravity import normalised_coefficients, phobos_field

            self.estimate_degree = int(estimate_degree)
            self.coefficients = normalised_coefficients(phobos_field(self.degree), estimate_degree)
        for k, v in dict(coefficients or {}).items():
            if k not in self.coefficients:
                raise InputError("force_model.phobos.coefficients", k,
                                 ", ".join(self.coefficients) or "none (set estimate_degree first)")
            if not np.isfinite(float(v)):
                raise InputError(f"force_model.phobos.coefficients.{k}", v, "a finite number")
            self.coefficients[k] = float(v)
        self.libration_parameter = bool(libration_parameter)
        if self.libration_parameter and model != "harmonics":
            raise InputError("force_model.phobos.libration_parameter", True,
                             "False for a point mass (the orientation enters only the harmonics)")
        from ..bodies.rotation import DEG, PHOBOS_LIBRATION_DEG

        lib = PHOBOS_LIBRATION_DEG * DEG if libration is None else float(libration)
        if not np.isfinite(lib):
            raise InputError("force_model.phobos.libration", libration, "a finite amplitude in rad")
        self.libration = lib  # initial value of "phobos:libration" (used only with libration_parameter)
        self.ephemeris_parameters = bool(ephemeris_parameters)
        self.ephemeris_frame = None
        self._correction = np.zeros(6)
        if self.ephemeris_parameters:
            if ephemeris_epoch is None:
                raise InputError("force_model.phobos.ephemeris_epoch", None,
                                 "finite TDB seconds past J2000 (required with ephemeris_parameters)")
            self.set_ephemeris_epoch(ephemeris_epoch)
            if ephemeris_correction is not None:
                self.ephemeris_correction = ephemeris_correction
        elif ephemeris_epoch is not None or ephemeris_correction is not None:
            raise InputError("force_model.phobos.ephemeris_parameters", False,
                             "True to give ephemeris_epoch or ephemeris_correction")

    # -- Phobos ephemeris correction (issue 17 item 2) -------------------------------------------
    @property
    def ephemeris_epoch(self) -> float | None:
        """Correction epoch t_e (TDB s past J2000) of the ephemeris parameters (None when off)."""
        return None if self.ephemeris_frame is None else self.ephemeris_frame.epoch

    @ephemeris_epoch.setter
    def ephemeris_epoch(self, value) -> None:
        self.set_ephemeris_epoch(value)

    def set_ephemeris_epoch(self, epoch, ephemeris=None) -> None:
        """Set the correction epoch; the mapping's frame from Phobos' state in ``ephemeris`` (default
        the packaged integrated moons). Changes parameter values only: no recompilation."""
        from .phobos_correction import correction_frame

        if not self.ephemeris_parameters:
            raise InputError("force_model.phobos.ephemeris_parameters", False, "True to set an ephemeris epoch")
        self.ephemeris_frame = correction_frame(epoch, ephemeris)

    @property
    def ephemeris_correction(self) -> np.ndarray:
        """(6,) initial values of phobos:dx .. phobos:dvz (km, km/s)."""
        return self._correction.copy()

    @ephemeris_correction.setter
    def ephemeris_correction(self, value) -> None:
        from .phobos_correction import correction_vector

        self._correction = correction_vector(value, "force_model.phobos.ephemeris_correction")

    def bodies(self):
        return {"PHOBOS"}

    def rotations(self):
        return {"PHOBOS"} if self.model == "harmonics" else set()

    def parameters(self):
        out = {"phobos:gm": self.gm} if self.gm_parameter else {}
        out.update({f"phobos:{k}": v for k, v in self.coefficients.items()})
        if self.libration_parameter:
            out["phobos:libration"] = self.libration
        if self.ephemeris_parameters:
            from .phobos_correction import DELTA_NAMES

            out.update(zip(DELTA_NAMES, (float(v) for v in self._correction)))
            out.update(self.ephemeris_frame.values())
        return out

    def signature(self):
        sig = (self.kind, self.model, self.degree)
        if self.gm_parameter:
            sig += ("gm_parameter",)
        if self.estimate_degree is not None:
            sig += (("estimate_degree", self.estimate_degree),)
        if self.libration_parameter:
            sig += ("libration_parameter",)
        if self.ephemeris_parameters:
            sig += ("ephemeris_parameters",)
        return sig

    def describe(self):
        if self.model == "point_mass":
            return f"Phobos point mass, GM = {GM_PHOBOS} km^3/s^2 (DE440)"
        out = (f"Phobos spherical harmonics to degree and order {self.degree} (homogeneous body, Ernst "
               "shape, R = 11 km), rotating with Phobos (IAU 2015 with forced libration)")
        if self.estimate_degree is not None:
            out += f"; normalised C, S of degrees 2..{self.estimate_degree} are runtime parameters"
        if self.libration_parameter:
            out += f"; libration amplitude a runtime parameter ({self.libration:.6g} rad)"
        if self.ephemeris_parameters:
            out += (f"; Phobos' ephemeris corrected by six state parameters at TDB {self.ephemeris_epoch:.1f} s "
                    "(linear Clohessy-Wiltshire mapping)")
        return out

    def acceleration(self, ctx):
        m = ctx.m
        rp = ctx.body_position("PHOBOS")
        if self.ephemeris_parameters:
            rp = self._corrected(ctx, rp)
        d = sub(ctx.r, rp)
        gm = ctx.param("phobos:gm", self.gm) if self.gm_parameter else GM_PHOBOS
        if self.model == "point_mass":
            direct = point_mass(d, gm, m)
        else:
            from ..gravity import phobos_field

            if self.libration_parameter:
                from ..bodies.rotation import librating_matrix

                R = librating_matrix(ctx.rotation_model("PHOBOS"), ctx.t,
                                     ctx.param("phobos:libration", self.libration), m)
            else:
                R = ctx.rotation("PHOBOS")
            rb = matvec(R, d)
            if self.estimate_degree is not None:  # constant part (degrees 0, 1, > d) + linear part
                ab = sh_acceleration(rb, _fixed_part(self.degree, self.estimate_degree, self.gm_parameter), m)
                if self.gm_parameter:
                    ab = [gm * ab[i] for i in range(3)]
                coef = {k: ctx.param(f"phobos:{k}", v) for k, v in self.coefficients.items()}
                al = sh_acceleration_linear(rb, PHOBOS_SH_REF_RADIUS, gm, coef, m)
                ab = [ab[i] + al[i] for i in range(3)]
            elif self.gm_parameter:  # unit-GM field times the parameter: the whole field scales with GM
                ab = sh_acceleration(rb, phobos_field(self.degree, gm=1.0), m)
                ab = [gm * ab[i] for i in range(3)]
            else:
                ab = sh_acceleration(rb, phobos_field(self.degree), m)
            direct = matTvec(R, ab)
        b2 = dot(rp, rp)
        kb = gm / (b2 * m.sqrt(b2))  # indirect: Mars is pulled by Phobos
        return [direct[i] - kb * rp[i] for i in range(3)]

    def _corrected(self, ctx, rp):
        """Phobos' position plus the correction mapped from t_e (phobos_correction)."""
        from .phobos_correction import (DELTA_NAMES, DRIFT_NAMES, EPOCH_NAME, FRAME_NAMES, RATE_NAME,
                                        correction_position)

        vals = self.parameters()
        p = {k: ctx.param(k, vals[k]) for k in (*DELTA_NAMES, EPOCH_NAME, RATE_NAME, *FRAME_NAMES, *DRIFT_NAMES)}
        R = [[p[FRAME_NAMES[3 * i + j]] for j in range(3)] for i in range(3)]
        dq = correction_position(ctx.t - p[EPOCH_NAME], p[RATE_NAME], R, [p[k] for k in DELTA_NAMES], ctx.m,
                                 drift=[p[k] for k in DRIFT_NAMES])
        return [rp[i] + dq[i] for i in range(3)]


PHOBOS_SH_REF_RADIUS = 11.0  # km, reference radius of phobos_gravity_sh_constdensity_ernst_deg10.csv (data/SOURCES.md)


@lru_cache(maxsize=None)
def _fixed_part(degree: int, estimate_degree: int, unit_gm: bool):
    """The shipped field to ``degree`` without degrees 2..``estimate_degree`` (one object per key:
    :func:`~mmxsim.gravity.sh_acceleration` caches its plan per field object)."""
    from ..gravity import phobos_field, without_degrees

    return without_degrees(phobos_field(degree, gm=1.0 if unit_gm else None), estimate_degree)


_GM = {"SUN": GM_SUN, "EARTH": GM_EARTH, "DEIMOS": GM_DEIMOS, "PHOBOS": GM_PHOBOS}


@register_force
class ThirdBody(ForceModel):
    """Point-mass perturbation of SUN, EARTH or DEIMOS (direct and indirect terms)."""

    kind = "third_body"

    def __init__(self, body: str):
        body = str(body).upper()
        if body not in _GM:
            raise InputError("force_model.third_bodies", body, ", ".join(_GM))
        self.body = body

    def bodies(self):
        return {self.body}

    def signature(self):
        return (self.kind, self.body)

    def describe(self):
        return f"{self.body.title()} point-mass third body, GM = {_GM[self.body]} km^3/s^2 (DE440)"

    def acceleration(self, ctx):
        return third_body(ctx.r, ctx.body_position(self.body), _GM[self.body], ctx.m)


OCCULTER_RADII = {"MARS": R_MARS_EQ, "PHOBOS": PHOBOS_MEAN_RADIUS}


# Visible fraction of the Sun's disk cut by a straight limb at x (x = -1: umbra edge, x = +1:
# sunlight edge), f(x) = 1/2 + (x sqrt(1 - x^2) + asin x)/pi, as an odd polynomial about 1/2:
# P(x) = 1/2 + x (c0 + c1 x^2 + ... + c4 x^8), P(+-1) and P'(+-1) exact (1 or 0, and 0), max |P - f|
# = 1.4e-3 (constrained near-minimax fit). A polynomial of x(t) has no singularity near the
# penumbra, so the Taylor integrator crosses it in one step (f itself is singular at x = +-1).
PENUMBRA_POLY = (0.6241271164554263, 0.06203309848534218, -0.6279905046648654, 0.8233732480519985,
                 -0.38154295832790175)


SHADOW_EDGE_SCALE = 1e-5  # see shadow_edges


class Switch:
    """A step break that also switches runtime parameters.

    The integrator stops a step where ``expr`` vanishes; afterwards ``expr`` has the sign
    ``side`` (+1 or -1, in the direction of integration) and the named parameters take the
    values ``above`` (side +1) or ``below`` (side -1). Works forward and backward in time.
    """

    def __init__(self, expr, below: dict, above: dict):
        self.expr = expr
        self.below = dict(below)
        self.above = dict(above)


def _shadow_geometry(ctx, occulter: str):
    """(g, x) with g = cos b - cos c (negative in shadow) and x = g / (a sin b).

    Written with the same sub-expressions as the gravity models (r - r_occulter, Sun - r),
    which the integrator's common-subexpression elimination then computes once; with
    a = R_sun / |ds| and sin b = R_occ / |rel|, x = g |ds| |rel| / (R_sun R_occ) needs no division.
    """
    m = ctx.m
    ds = sub(ctx.body_position("SUN"), ctx.r)  # spacecraft -> Sun
    rel = ctx.r if occulter == "MARS" else sub(ctx.r, ctx.body_position(occulter))  # occulter -> spacecraft
    ds2, rel2 = dot(ds, ds), dot(rel, rel)
    no = m.sqrt(rel2)
    nn = m.sqrt(ds2) * no
    Ro = OCCULTER_RADII[occulter]
    sin_b = Ro / no
    one_minus = 1.0 - sin_b * sin_b
    cos_b = m.sqrt(_relu(one_minus, m) + 1e-30)  # guards a point inside the occulter sphere
    cos_c = -dot(ds, rel) / nn  # angle between the directions to the Sun and to the occulter
    g = cos_b - cos_c
    return g, g * nn * (1.0 / (R_SUN * Ro))


def eclipse_function(ctx, occulter: str):
    """g = cos b - cos c: negative in shadow, zero when the Sun's centre is on the limb."""
    return _shadow_geometry(ctx, occulter)[0]


def shadow_edges(ctx, occulter: str):
    """Two expressions that vanish at the penumbra edges x = -1 (umbra) and x = +1 (sunlight).

    They are scaled by ``SHADOW_EDGE_SCALE``: heyoka includes event functions in its step-size
    control, and |x| reaches ~1000 away from the shadow, which shortened the steps (30-day
    reference, tol 3e-12: scale 1 gave 1.5x more steps and spurious repeated triggers). Measured
    on 5 days of the reference QSO: scales 1e-3 to 1e-7 find exactly the 84 edge crossings seen
    on a 2 s grid, at the same number of steps as without SRP + the crossings; 1e-9 misses half.
    """
    _, x = _shadow_geometry(ctx, occulter)
    return [(x + 1.0) * SHADOW_EDGE_SCALE, (x - 1.0) * SHADOW_EDGE_SCALE]


def penumbra_factor(x, m=None):
    """Visible fraction of the Sun inside the penumbra (|x| <= 1): the polynomial ``PENUMBRA_POLY``."""
    x2 = x * x
    acc = PENUMBRA_POLY[-1]
    for c in PENUMBRA_POLY[-2::-1]:
        acc = acc * x2 + c
    return 0.5 + x * acc


def shadow_region(ctx, occulter: str) -> tuple[int, float]:
    """Numerically: (region, x) with region +1 sunlight (x >= 1), 0 penumbra, -1 umbra (x <= -1)."""
    _, x = _shadow_geometry(ctx, occulter)
    x = float(x)
    return (1 if x >= 1.0 else -1 if x <= -1.0 else 0), x


def sun_visibility(ctx, occulter: str):
    """Conical-shadow factor nu (1 in sunlight, 0 in umbra) and the eclipse function g.

    With ``a`` the Sun's apparent radius, ``b`` the occulter's apparent radius and
    ``c`` the angle between their centres seen from the spacecraft, the penumbra is
    b - a < c < b + a. With x = (cos b - cos c) / (a sin b) ~ (c - b) / a the penumbra is
    |x| < 1 and nu is the visible fraction of the Sun's disk cut by a straight limb,
    f(x) = 1/2 + (x sqrt(1-x^2) + asin x)/pi, evaluated as the polynomial
    :func:`penumbra_factor` (max error 1.4e-3); nu = 1 for x >= 1 and 0 for x <= -1.
    The occulter is a sphere (Mars: equatorial radius; Phobos: mean radius 11.08 km).

    Numerically nu is a plain piecewise function of the state. In the integrator it is
    ``lit + pen * P(x)`` with two runtime parameters per occulter, (lit, pen) = (1, 0) in
    sunlight, (0, 1) in the penumbra and (0, 0) in umbra, switched at the edges by the step
    breaks of :meth:`SolarRadiationPressure.step_breaks`. Outside the penumbra nu is then an
    exact constant, and inside it a polynomial of the smooth x(t): neither limits the step size.
    Returns (nu, g) with g = cos b - cos c, negative in shadow (g = 0 is the event).
    """
    g, x = _shadow_geometry(ctx, occulter)
    if ctx.symbolic:
        lit = ctx.param(f"srp:{occulter}:lit", 1.0)
        pen = ctx.param(f"srp:{occulter}:pen", 0.0)
        return lit + pen * penumbra_factor(x), g
    x = float(x)
    if x >= 1.0:
        return 1.0, g
    if x <= -1.0:
        return 0.0, g
    return penumbra_factor(x), g


_REGION_PARS = {1: (1.0, 0.0), 0: (0.0, 1.0), -1: (0.0, 0.0)}  # region -> (lit, pen)


def _relu(x, m):
    if m.is_symbolic:
        return m.hy.relu(x)
    return x if x > 0 else 0.0


@register_force
class SolarRadiationPressure(ForceModel):
    """Cannonball SRP: P(1 au) (1 au / d)^2 Cr A/m along Sun -> spacecraft, with shadows.

    P(1 au) = 1360.8 W/m^2 / c (Kopp & Lean 2011). ``cr_area_over_mass`` (m^2/kg) is a
    runtime parameter. Shadows of the listed occulters (MARS, PHOBOS) multiply.
    """

    kind = "srp"

    def __init__(self, shadows=("MARS", "PHOBOS"), cr: float = 1.3, area_m2: float = 20.0, mass_kg: float = 2000.0):
        for s in shadows:
            if s not in OCCULTER_RADII:
                raise InputError("force_model.srp.shadows", s, ", ".join(OCCULTER_RADII))
        if mass_kg <= 0:
            raise InputError("spacecraft.mass_kg", mass_kg, "> 0")
        self.shadows = tuple(shadows)
        self.cram = cr * area_m2 / mass_kg

    def bodies(self):
        return {"SUN", *self.shadows}

    def parameters(self):
        return {"srp:cr_area_over_mass": self.cram}

    def signature(self):
        return (self.kind, self.shadows)

    def step_breaks(self, ctx):
        out = []
        for occ in self.shadows:
            lo, hi = shadow_edges(ctx, occ)
            names = (f"srp:{occ}:lit", f"srp:{occ}:pen")

            def pars(region):
                return dict(zip(names, _REGION_PARS[region]))

            out += [Switch(lo, below=pars(-1), above=pars(0)), Switch(hi, below=pars(0), above=pars(1))]
        return out

    def switch_parameters(self, ctx) -> dict[str, float]:
        """Values of the shadow switches at a numeric state (start of a propagation)."""
        out = {}
        for occ in self.shadows:
            region, _ = shadow_region(ctx, occ)
            out[f"srp:{occ}:lit"], out[f"srp:{occ}:pen"] = _REGION_PARS[region]
        return out

    def describe(self):
        sh = ", ".join(s.title() for s in self.shadows) or "no"
        return (f"Cannonball solar radiation pressure, Cr*A/m = {self.cram:.3g} m^2/kg, "
                f"{sh} shadow(s) (conical, straight-limb penumbra)")

    def acceleration(self, ctx):
        m = ctx.m
        ds = sub(ctx.body_position("SUN"), ctx.r)  # spacecraft -> Sun (as in third_body: shared)
        d2 = dot(ds, ds)
        k = ctx.param("srp:cr_area_over_mass", self.cram) * (-SRP_1AU_N_M2 * AU_KM * AU_KM / 1000.0) / (d2 * m.sqrt(d2))
        for occ in self.shadows:
            nu, _ = sun_visibility(ctx, occ)
            k = k * nu
        return [k * ds[0], k * ds[1], k * ds[2]]  # along Sun -> spacecraft


EMPIRICAL_FRAMES = ("rtn", "icrf")


@register_force
class EmpiricalAcceleration(ForceModel):
    """A constant empirical acceleration (km/s^2) for orbit determination.

    Components are the runtime parameters ``"emp:r"``, ``"emp:t"``, ``"emp:n"`` (default 0):
    with ``frame="rtn"`` along the radial, transverse and normal unit vectors of the spacecraft
    relative to Mars (R = r/|r|, N = r x v/|r x v|, T = N x R), with ``frame="icrf"`` along the
    ICRF x, y, z axes (the same three names). The acceleration is constant over a propagation
    arc: the estimators model its time variation (stochastic accelerations) as process noise
    between arcs, not here.
    """

    kind = "empirical"
    NAMES = ("emp:r", "emp:t", "emp:n")

    def __init__(self, frame: str = "rtn", r: float = 0.0, t: float = 0.0, n: float = 0.0):
        if frame not in EMPIRICAL_FRAMES:
            raise InputError("force_model.empirical.frame", frame, ", ".join(EMPIRICAL_FRAMES))
        self.frame = frame
        self.values = (float(r), float(t), float(n))

    def parameters(self):
        return dict(zip(self.NAMES, self.values))

    def signature(self):
        return (self.kind, self.frame)

    def describe(self):
        return (f"Constant empirical acceleration per arc ({self.frame.upper()}), "
                f"{', '.join(f'{v:.3g}' for v in self.values)} km/s^2")

    def acceleration(self, ctx):
        m = ctx.m
        a = [ctx.param(k, v) for k, v in zip(self.NAMES, self.values)]
        if self.frame == "icrf":
            return a
        r, v = ctx.r, ctx.v
        h = [r[1] * v[2] - r[2] * v[1], r[2] * v[0] - r[0] * v[2], r[0] * v[1] - r[1] * v[0]]
        ir = 1.0 / m.sqrt(dot(r, r))
        ih = 1.0 / m.sqrt(dot(h, h))
        R = [r[i] * ir for i in range(3)]
        N = [h[i] * ih for i in range(3)]
        T = [N[1] * R[2] - N[2] * R[1], N[2] * R[0] - N[0] * R[2], N[0] * R[1] - N[1] * R[0]]
        return [a[0] * R[i] + a[1] * T[i] + a[2] * N[i] for i in range(3)]
