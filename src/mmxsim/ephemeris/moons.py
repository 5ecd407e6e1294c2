r"""Built-in analytic ephemeris of Phobos and Deimos (precessing ellipses on JPL MAR080 mean elements).

Model
-----
Each moon moves on a Keplerian ellipse (``a``, ``e``, ``i`` constant) referred to its local
Laplace plane, with linearly precessing argument of periapsis ``omega`` (apsides advance)
and node ``Omega`` (node regresses), Mars-centred, ICRF axes::

    lambda = Omega + omega + M         advances at the table's n  (mean longitude rate)
    dM/dt  = n - domega/dt - dOmega/dt (the MAR080 ``n`` is the rate of lambda, not of M)
    r_ICRF = Rz(alpha_L + 90 deg) Rx(90 deg - delta_L) Rz(Omega) Rx(i) Rz(omega) r_perifocal

with the Laplace-plane pole (alpha_L, delta_L) fixed in ICRF, ``Omega`` counted from the
Laplace plane's ascending node on the ICRF equator, ``r_perifocal = (a(cos E - e),
a sqrt(1-e^2) sin E, 0)`` and ``E`` from Kepler's equation.  Elements, epoch
(1950 Jan 1.0 TT, used as TDB: the <2 ms TT-TDB difference moves Phobos < 5 m) and rates
come from ``mmxsim/data/mars_moons_mean_elements.csv`` (JPL SSD mean elements, MAR080).
The table gives both ``a`` and ``n``, so the motion is kinematic and needs no GM; for
reference, Kepler's third law with GM_MARS + GM_moon (``MoonElements.gm``) and the table
``a`` gives a Phobos mean motion 0.036 % below the table ``n`` (Mars' J2 and the mean-element
fit), so the table ``n`` is used.

Phobos' secular tidal acceleration (``phobos_tidal``, default True): half-acceleration
``s = 1.258e-3 deg/yr^2`` (MAR099).  The mean elements are a least-squares *linear* fit, so
the term that they miss is ``s * (tau^2 - L^2/3)`` with ``tau`` from J2000 and L = 50 yr
(a 1950-2050 fit span centred on J2000; see :class:`TidalTerm`).  Evidence, measured in
``docs/ephemeris.md``: (1) MAR080's ``n`` equals the pck00011 Phobos prime-meridian rate
at J2000 to 2.4e-6 deg/day; (2) with this term the longitude of the Mars direction in the
IAU (pck00011) Phobos body frame stays at +0.003..+0.037 deg over 1950-2050 with no drift,
against -1.9..+1.1 deg without the term and +7.6 deg at 2027 with a plain ``s t^2`` counted
from 1950; (3) Phobos then lies 4.7-10.7 km from JPL Horizons positions at six epochs
2000-2045 (180-240 km without the term, 700-1600 km with ``s t^2`` from 1950).

Expected accuracy
-----------------
* Missing short-period terms: Mars J2 short-period terms on a 9376 km orbit have
  amplitude ~ 1.5 J2 (R/a)^2 a ~ 3-4 km; solar and Deimos perturbations are smaller.
* Rates known only to the printed digits: P_omega = 1.1316 yr (+-5e-5 yr) leaves ~1 deg
  in omega after 77 years (1950 -> 2027), i.e. up to 2 a e d_omega ~ 5 km for Phobos;
  P_Omega = 2.2617 yr gives ~0.3 deg in the node, ~1 km out of plane; n (10 digits) < 0.3 km.
* Phasing: the tidal coefficient is known to +-0.058e-3 deg/yr^2, i.e. +-0.006 deg (1 km)
  at 2027 and +-0.1 deg (16 km) at the span ends with the fit-consistent form; the pck00011
  check bounds the mean-longitude error to a few 0.01 deg.
* Overall Phobos: ~5-10 km (measured 4.7-10.7 km vs Horizons, 2000-2045), mostly
  along-track, growing towards the ends of the span.  Deimos (no tidal term): 13-121 km
  (up to 0.3 deg along-track) vs Horizons.  Use a NAIF MAR097/MAR099 SPK via
  :func:`mmxsim.ephemeris.spice_ephemeris` for navigation-grade work.

Coverage is declared 1950-01-01 to 2050-01-01 TDB: the element epoch (1950.0) to the end of
the (inferred) 100-year span the precessing ellipse was fitted over; outside it the linear
fit and the tidal parabola separate quadratically (s = 0.126 deg/decade^2 for Phobos) and the
rate uncertainties above grow linearly.

"Written once"
--------------
:func:`_moon_kinematics` is the only place the geometry lives.  It takes a tiny math
namespace (``sin``, ``cos``, ``kepE``) and is evaluated on NumPy arrays
(:func:`moon_state`) or on heyoka expressions (:func:`moon_position_expr`), so the
propagator's Phobos is the same Phobos the ephemeris reports.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from types import SimpleNamespace

import numpy as np

from .._data import data_path
from ..errors import InputError
from ._base import TreeEphemeris, body_name

DEG = np.pi / 180.0
DAY = 86400.0
JULIAN_YEAR = 365.25 * DAY
EPOCH_1950_TDB = (2433282.5 - 2451545.0) * DAY  # 1950 Jan 1.0 TT (= TDB to < 2 ms), s past J2000
COVERAGE = (EPOCH_1950_TDB, (2469807.5 - 2451545.0) * DAY)  # 1950-01-01T00 .. 2050-01-01T00 TDB

# Phobos' half secular acceleration of the mean longitude, MAR099 (Jacobson et al.,
# JPL Dataverse doi:10.48577/jpl.D099KH): (1.258 +- 0.058)e-3 deg/yr^2.
PHOBOS_HALF_ACCEL_DEG_YR2 = 1.258e-3


@dataclass(frozen=True)
class TidalTerm:
    """Secular-acceleration term added to Phobos' mean anomaly (and so mean longitude)::

        d_lambda(t) = s * (tau^2 - L^2 / 3),   tau = t - ref_epoch  (Julian years)

    The MAR080 mean elements are a least-squares *linear* (precessing-ellipse) fit; over a
    fit span ref_epoch +- L the fit absorbs the mean of s tau^2 (= s L^2 / 3) into the epoch
    longitude and nothing into the rate, so the part the elements miss is
    s (tau^2 - L^2/3).  ``TidalTerm(ref_epoch=EPOCH_1950_TDB, fit_half_span_yr=0)`` is the
    plain "s t^2 from the 1950 element epoch" form (measured to be wrong, see docs).
    """

    half_accel_deg_yr2: float = PHOBOS_HALF_ACCEL_DEG_YR2
    ref_epoch: float = 0.0  # TDB s past J2000; J2000 = centre of the (inferred) 1950-2050 fit
    fit_half_span_yr: float = 50.0

    def coefficients(self) -> tuple[float, float, float]:
        """(s in rad/s^2, ref_epoch in s, L^2/3 in s^2)."""
        s = self.half_accel_deg_yr2 * DEG / (JULIAN_YEAR * JULIAN_YEAR)
        L = self.fit_half_span_yr * JULIAN_YEAR
        return s, float(self.ref_epoch), L * L / 3.0


PHOBOS_TIDAL = TidalTerm()  # what ``phobos_tidal=True`` applies
TIDAL_FROM_1950 = TidalTerm(ref_epoch=EPOCH_1950_TDB, fit_half_span_yr=0.0)  # literal s*t^2, rejected
PHOBOS_TIDAL_DEFAULT = True  # measured, see module docstring and docs/ephemeris.md

MOONS = ("PHOBOS", "DEIMOS")


@dataclass(frozen=True)
class MoonElements:
    """Mean elements of one moon, angles in rad, rates in rad/s, epoch in TDB s past J2000."""

    body: str
    naif_id: int
    a: float
    e: float
    omega0: float
    M0: float
    inc: float
    node0: float
    n: float  # mean-longitude rate
    omega_dot: float
    node_dot: float
    pole_ra: float
    pole_dec: float
    epoch: float
    gm: float  # GM_MARS + GM_moon, for reference (Kepler's third law)

    @property
    def M_dot(self) -> float:
        """Rate of the mean anomaly: n - domega/dt - dOmega/dt (rad/s)."""
        return self.n - self.omega_dot - self.node_dot

    def zero_epochs(self) -> tuple[float, float, float]:
        """Epochs (TDB s) at which M, omega and Omega (linear parts) pass through zero.

        Angles are evaluated as ``rate * (t - t_zero)``: one subtraction and one product,
        no product feeding an addition, so NumPy and heyoka (which fuses a*b + c into an
        FMA) round identically even though M reaches ~1e6 rad over the coverage.
        """
        return (self.epoch - self.M0 / self.M_dot,
                self.epoch - self.omega0 / self.omega_dot,
                self.epoch - self.node0 / self.node_dot)

    @property
    def laplace_matrix(self) -> tuple[tuple[float, ...], ...]:
        """Laplace-plane frame -> ICRF: Rz(ra + 90 deg) Rx(90 deg - dec)."""
        th = self.pole_ra + np.pi / 2
        ph = np.pi / 2 - self.pole_dec
        ct, st, cp, sp = (float(f(x)) for f, x in ((np.cos, th), (np.sin, th), (np.cos, ph), (np.sin, ph)))
        return ((ct, -st * cp, st * sp), (st, ct * cp, -ct * sp), (0.0, sp, cp))


@lru_cache(maxsize=None)
def mean_elements(body: str) -> MoonElements:
    """MAR080 mean elements of PHOBOS or DEIMOS from the packaged CSV."""
    from ..bodies import GM_DEIMOS, GM_MARS, GM_PHOBOS

    name = body_name(body, set(MOONS))
    path = data_path("mars_moons_mean_elements.csv")
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.lstrip().startswith("#")))
    row = next(r for r in rows if r["body"].strip().upper() == name)
    f = {k: float(v) for k, v in row.items() if k not in ("body", "solution", "epoch_tt")}
    if row["epoch_tt"].strip() != "1950-01-01T00:00:00":  # pragma: no cover - data guard
        raise InputError("mars_moons_mean_elements.csv epoch_tt", row["epoch_tt"], "1950-01-01T00:00:00")
    gm = GM_MARS + (GM_PHOBOS if name == "PHOBOS" else GM_DEIMOS)
    return MoonElements(
        body=name, naif_id=int(f["naif_id"]), a=f["a_km"], e=f["e"],
        omega0=f["w_deg"] * DEG, M0=f["M_deg"] * DEG, inc=f["i_deg"] * DEG, node0=f["node_deg"] * DEG,
        n=f["n_deg_per_day"] * DEG / DAY, omega_dot=f["dw_dt_deg_per_day"] * DEG / DAY,
        node_dot=f["dnode_dt_deg_per_day"] * DEG / DAY,
        pole_ra=f["laplace_pole_ra_deg"] * DEG, pole_dec=f["laplace_pole_dec_deg"] * DEG,
        epoch=EPOCH_1950_TDB, gm=gm,
    )


def _tidal(body: str, tidal) -> TidalTerm | None:
    """The tidal term to apply (None unless Phobos with the switch on)."""
    if isinstance(tidal, (bool, np.bool_)) or tidal is None:
        return PHOBOS_TIDAL if (tidal and body == "PHOBOS") else None
    if isinstance(tidal, TidalTerm):
        return tidal if body == "PHOBOS" else None
        return tidal
    raise InputError("phobos_tidal", tidal, "True, False or a moons.TidalTerm")


# ------------------------------------------------------------------------------------
# The geometry, written once
def _moon_kinematics(el: MoonElements, t, m, tidal: bool, velocity: bool = False):
    """Mars-centred ICRF position (and velocity) of a moon at TDB seconds ``t``.

    ``m`` provides ``sin``, ``cos`` and ``kepE(e, M)``; ``t`` is a NumPy array or a heyoka
    expression.  Returns ``[x, y, z]`` (km) or ``([x, y, z], [vx, vy, vz])`` (km/s).
    """
    tid = _tidal(el.body, tidal)
    tM, tw, tO = el.zero_epochs()
    if tid is None:
        M = el.M_dot * (t - tM)  # = M0 + M_dot (t - epoch)
    else:
        # M_dot (t - tM) + s (dtau^2 - c0), written so the large product is the last
        # operation (no FMA can fuse it); the tidal part is added as a small time shift.
        s2, t_ref, c0 = tid.coefficients()
        dtau = t - t_ref
        M = el.M_dot * ((t - tM) + (s2 / el.M_dot) * (dtau * dtau - c0))
    w = el.omega_dot * (t - tw)
    O = el.node_dot * (t - tO)
    a, e = el.a, el.e
    b = a * float(np.sqrt(1.0 - e * e))
    E = m.kepE(e, M)
    cE, sE = m.cos(E), m.sin(E)
    xp = a * (cE - e)
    yp = b * sE
    cw, sw = m.cos(w), m.sin(w)
    x1 = cw * xp - sw * yp
    y1 = sw * xp + cw * yp
    ci, si = float(np.cos(el.inc)), float(np.sin(el.inc))
    y2 = ci * y1
    z2 = si * y1
    cO, sO = m.cos(O), m.sin(O)
    x3 = cO * x1 - sO * y2
    y3 = sO * x1 + cO * y2
    L = el.laplace_matrix
    pos = [L[0][0] * x3 + L[0][1] * y3 + L[0][2] * z2,
           L[1][0] * x3 + L[1][1] * y3 + L[1][2] * z2,
           L[2][1] * y3 + L[2][2] * z2]
    if not velocity:
        return pos
    Mdot = el.M_dot if tid is None else el.M_dot + (2.0 * s2) * dtau
    Edot = Mdot / (1.0 - e * cE)
    xpd = -a * sE * Edot
    ypd = b * cE * Edot
    x1d = cw * xpd - sw * ypd - el.omega_dot * y1
    y1d = sw * xpd + cw * ypd + el.omega_dot * x1
    y2d = ci * y1d
    z2d = si * y1d
    x3d = cO * x1d - sO * y2d - el.node_dot * y3
    y3d = sO * x1d + cO * y2d + el.node_dot * x3
    vel = [L[0][0] * x3d + L[0][1] * y3d + L[0][2] * z2d,
           L[1][0] * x3d + L[1][1] * y3d + L[1][2] * z2d,
           L[2][1] * y3d + L[2][2] * z2d]
    return pos, vel


# 2 pi split for Cody-Waite reduction: C1, C2 have 33 significant bits (k * C1 and k * C2
# are exact for |k| < 2^20 revolutions), C3 is the rest of 2 pi.
_TWO_PI_C1 = 6.2831853069365025
_TWO_PI_C2 = 2.4308402025215864e-10
_TWO_PI_C3 = 8.089064995183803e-21


def reduce_angle(M) -> np.ndarray:
    """M mod 2 pi to ~1e-16 rad absolute (Cody-Waite; exact 2 pi, not its double).

    ``np.mod(M, 2*np.pi)`` would be off by k * 2.4e-16 rad after k revolutions (Phobos:
    ~3e-11 rad, 0.3 mm, by 2050), and heyoka's ``kepE`` reduces with an accurate 2 pi, so
    this keeps the NumPy and heyoka paths equal to ~1e-12 km.
    """
    M = np.asarray(M, dtype=float)
    k = np.floor(M / (2.0 * np.pi))
    r = ((M - k * _TWO_PI_C1) - k * _TWO_PI_C2) - k * _TWO_PI_C3
    big = np.abs(k) >= 2.0**20
    return np.where(big, np.mod(M, 2.0 * np.pi), r) if np.any(big) else r


def kepler_E(e: float, M) -> np.ndarray:
    """Eccentric anomaly solving E - e sin E = M (vectorised Newton; meant for e << 1), E ~ in [0, 2 pi)."""
    M = reduce_angle(M)
    E = M + e * np.sin(M) * (1.0 + e * np.cos(M))
    for _ in range(8):
        f = E - e * np.sin(E) - M
        dE = f / (1.0 - e * np.cos(E))
        E = E - dE
        if np.all(np.abs(dE) < 1e-15):
            break
    return E


_NUMPY_MATH = SimpleNamespace(sin=np.sin, cos=np.cos, kepE=kepler_E)


def moon_state(body: str, t, phobos_tidal: bool = PHOBOS_TIDAL_DEFAULT) -> np.ndarray:
    """Mars-centred ICRF state (km, km/s) of PHOBOS or DEIMOS; (6,) or (N, 6). No coverage check."""
    el = mean_elements(body)
    tt = np.asarray(t, dtype=float)
    pos, vel = _moon_kinematics(el, np.atleast_1d(tt), _NUMPY_MATH, phobos_tidal, velocity=True)
    out = np.stack(pos + vel, axis=-1)
    return out[0] if tt.ndim == 0 else out


def moon_position_expr(body: str, t, hy, phobos_tidal: bool = PHOBOS_TIDAL_DEFAULT) -> list:
    """Mars-centred ICRF position (km) of PHOBOS or DEIMOS as three heyoka expressions.

    ``t`` is a heyoka expression of TDB seconds past J2000 (``hy.time`` in a propagator,
    or a variable for ``hy.cfunc``); ``hy`` is the ``heyoka`` module.  Same formulas as
    :func:`moon_state` (the geometry is written once in ``_moon_kinematics``).
    No coverage check can be made on an expression: stay within 1950-2050.
    """
    el = mean_elements(body)
    m = SimpleNamespace(sin=hy.sin, cos=hy.cos, kepE=hy.kepE)
    return _moon_kinematics(el, t, m, phobos_tidal, velocity=False)


class MarsMoonsEphemeris(TreeEphemeris):
    """PHOBOS and DEIMOS relative to MARS from the built-in precessing-ellipse theory."""

    def __init__(self, phobos_tidal: bool = PHOBOS_TIDAL_DEFAULT):
        _tidal("PHOBOS", phobos_tidal)  # validates
        self.phobos_tidal = phobos_tidal
        self.name = f"MAR080-mean-elements(phobos_tidal={phobos_tidal})"
        self.source = "built-in Mars-moons theory (JPL MAR080 mean elements)"

    def _known(self) -> set[str]:
        return {"MARS", *MOONS}

    def _link(self, body: str):
        return ("MARS", self) if body in MOONS else None

    def _segment_coverage(self, body: str) -> tuple[float, float]:
        return COVERAGE

    def _segment(self, body: str, t: np.ndarray) -> np.ndarray:
        return moon_state(body, t, self.phobos_tidal)
