"""Station-to-spacecraft geometry: Earth orientation, light-time-corrected topocentric azimuth,
elevation, range and range rate; Sun-Earth-probe angle; occultation by Mars.

Conventions: TDB seconds past J2000 in, km and km/s, ICRF axes (the GCRS axes are taken equal to
the BCRS/ICRF ones: the difference is relativistic, < 1e-8 rad). Positions are *astrometric*:
light-time corrected, no aberration (annual aberration <= 20.5" = 0.0057 deg) and no refraction.

Earth orientation (IAU 2006/2000A, CIO based, via erfa)::

    r_ITRS = W(xp, yp, s') . R3(ERA(UT1)) . C(X, Y, s) . r_GCRS

``C`` (``erfa.c2i06a``) and ``W`` (``erfa.pom00``) change slowly and are tabulated on a grid
(default 12 h) and interpolated linearly: the error is measured in ``tests/comms/test_geometry.py``
(< 1e-8 rad vs ``erfa.c2t06a`` at every epoch). ERA is computed exactly (``erfa.era00``) from
UT1 = TDB + (UT1 - TDB), where UT1 - TDB is smooth (no leap-second steps) and is interpolated
from the grid. UT1 - UTC and polar motion come from astropy's bundled IERS table
(``astropy-iers-data``; no download). Beyond its end (predictions reach about one year after the
package release) UT1 - UTC and the pole are held at their last values: |UT1 - UTC| < 0.9 s by
definition, so the error is < 0.004 deg in pointing and < 1 s in rise/set times.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..bodies import C_KM_S, R_MARS_EQ
from ..errors import InputError

# Earth rotation rate, rad/s (IERS Conventions 2010, eq. 5.15: dERA/dUT1 = 2 pi x 1.00273781191135448 / day)
OMEGA_EARTH = 2.0 * math.pi * 1.00273781191135448 / 86400.0
LIGHT_TIME_ITERATIONS = 3  # each iteration reduces the error by ~v/c ~ 1e-4


# ---------------------------------------------------------------------------------------------
# Targets
# ---------------------------------------------------------------------------------------------
class Target:
    """What the stations look at: ``state(t) -> (N, 6)`` barycentric ICRF km, km/s.

    Build one with :func:`mars_target`, :func:`trajectory_target` or :func:`callable_target`.
    """

    name = "target"
    span = (-math.inf, math.inf)

    def state(self, t: np.ndarray) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError

    def check_span(self, t0: float, t1: float, field: str = "span", pad: float = 0.0) -> None:
        """InputError unless [t0 - pad, t1 + pad] lies in the target's span (message: t0, t1)."""
        if not (self.span[0] <= t0 - pad and t1 + pad <= self.span[1]):
            from ..time import iso_tdb

            lo, hi = (iso_tdb(x) if math.isfinite(x) else str(x) for x in self.span)
            raise InputError(field, f"{iso_tdb(t0)} .. {iso_tdb(t1)} TDB",
                             f"a span inside the coverage of {self.name}: {lo} .. {hi} TDB")


class _EphTarget(Target):
    def __init__(self, eph, body: str, offset_km=None):
        self.eph, self.body = eph, body.upper()
        self.offset = None if offset_km is None else np.asarray(offset_km, dtype=float)
        self.name = self.body if offset_km is None else f"{self.body}+offset"
        spans = [eph.coverage(b) for b in (self.body, "EARTH", "SUN")]
        self.span = (max(s[0] for s in spans), min(s[1] for s in spans))

    def state(self, t):
        s = np.atleast_2d(self.eph.state(self.body, "SSB", np.atleast_1d(t)))
        if self.offset is not None:
            s = s.copy()
            s[:, :3] += self.offset
        return s


def mars_target(eph=None, offset_km=None) -> Target:
    """Mars' centre (DE421), optionally plus a constant ICRF offset (km): the spacecraft at Mars
    for long-span planning (an orbit of a few 10^4 km moves the direction by < 2e-4 rad)."""
    if eph is None:
        from ..ephemeris import default_ephemeris

        eph = default_ephemeris()
    if offset_km is not None:
        o = np.asarray(offset_km, dtype=float)
        if o.shape != (3,) or not np.all(np.isfinite(o)):
            raise InputError("offset_km", offset_km, "three finite numbers (km, ICRF)")
    return _EphTarget(eph, "MARS", offset_km)


class _TrajectoryTarget(Target):
    def __init__(self, t, states, center: str, eph):
        t = np.asarray(t, dtype=float)
        x = np.asarray(states, dtype=float)
        if t.ndim != 1 or len(t) < 2 or np.any(np.diff(t) <= 0):
            raise InputError("trajectory.t", f"array of shape {t.shape}", "at least 2 strictly increasing epochs")
        if x.shape != (len(t), 6) or not np.all(np.isfinite(x)):
            raise InputError("trajectory.states", f"array of shape {x.shape}", f"({len(t)}, 6) finite km, km/s")
        from scipy.interpolate import CubicHermiteSpline

        self.r = CubicHermiteSpline(t, x[:, :3], x[:, 3:], axis=0)
        self.v = self.r.derivative()
        self.eph, self.center = eph, center.upper()
        c = eph.coverage(self.center)
        self.span = (max(t[0], c[0]), min(t[-1], c[1]))
        self.name = f"trajectory about {self.center}"

    def state(self, t):
        t = np.atleast_1d(np.asarray(t, dtype=float))
        c = np.atleast_2d(self.eph.state(self.center, "SSB", t))
        return c + np.hstack([self.r(t), self.v(t)])


def trajectory_target(t, states, center: str = "MARS", eph=None) -> Target:
    """A spacecraft trajectory from a run: epochs ``t`` (TDB s) and ``states`` (N, 6) about
    ``center`` (ICRF axes, km, km/s), interpolated by cubic Hermite splines."""
    if eph is None:
        from ..ephemeris import default_ephemeris

        eph = default_ephemeris()
    return _TrajectoryTarget(t, states, center, eph)


class _CallableTarget(Target):
    def __init__(self, fn, span, name):
        self.fn, self.span, self.name = fn, span, name

    def state(self, t):
        t = np.atleast_1d(np.asarray(t, dtype=float))
        s = np.atleast_2d(np.asarray(self.fn(t), dtype=float))
        if s.shape == (len(t), 3):  # positions only: velocity by a +-1 s central difference
            v = (np.atleast_2d(self.fn(t + 1.0)) - np.atleast_2d(self.fn(t - 1.0))) / 2.0
            s = np.hstack([s, v])
        if s.shape != (len(t), 6):
            raise InputError("target(t)", f"array of shape {s.shape}", f"({len(t)}, 3) or ({len(t)}, 6)")
        return s


def callable_target(fn: Callable, span=(-math.inf, math.inf), name: str = "target") -> Target:
    """A target from ``fn(t) -> (N, 3)`` or ``(N, 6)`` barycentric ICRF km (, km/s)."""
    return _CallableTarget(fn, tuple(span), name)


def as_target(target, eph=None) -> Target:
    if target is None or (isinstance(target, str) and target.upper() == "MARS"):
        return mars_target(eph)
    if isinstance(target, Target):
        return target
    if isinstance(target, str):
        if eph is None:
            from ..ephemeris import default_ephemeris

            eph = default_ephemeris()
        from ..ephemeris import body_name

        return _EphTarget(eph, body_name(target, field="target"), None)
    if callable(target):
        return callable_target(target)
    raise InputError("target", target, "MARS, a body name, a Target, or a callable t -> positions")


# ---------------------------------------------------------------------------------------------
# Earth orientation
# ---------------------------------------------------------------------------------------------
def _eop_at(t_tdb: np.ndarray):
    """TT (jd1, jd2), UT1 - TDB (s), xp, yp (rad) at TDB seconds, from astropy's bundled table;
    kept on disk for the same epochs and library versions (:mod:`._cache`: parsing the table
    costs seconds on its first use in a process)."""
    from . import _cache

    t_tdb = np.asarray(t_tdb, dtype=float)
    key = _cache.digest("eop", 1, ("astropy", "astropy-iers-data", "pyerfa", "numpy"), t_tdb)
    d = _cache.load("eop", key)
    names = ("tt1", "tt2", "d", "xp", "yp")
    if d is not None and all(k in d and d[k].shape == t_tdb.shape and d[k].dtype == np.float64 for k in names):
        return (d["tt1"], d["tt2"]), d["d"], d["xp"], d["yp"]
    out = _eop_compute(t_tdb)
    (tt1, tt2), dd, xp, yp = out
    _cache.save("eop", key, **{k: np.asarray(v, dtype=np.float64).reshape(t_tdb.shape)
                                for k, v in zip(names, (tt1, tt2, dd, xp, yp))})
    return out


def _eop_compute(t_tdb: np.ndarray):
    """:func:`_eop_at` without the disk memo."""
    from ..time import Epoch, configure_astropy

    configure_astropy()
    from astropy.utils import iers

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # erfa "dubious year" and leap-second expiry notes (future dates)
        tdb = Epoch.from_tdb_seconds(t_tdb).astropy
        tt = tdb.tt
        utc = tdb.utc
        table = iers.earth_orientation_table.get()
        dut1 = np.asarray(table.ut1_utc(utc.jd1, utc.jd2, return_status=True)[0].to_value("s"))
        xp, yp, _ = table.pm_xy(utc.jd1, utc.jd2, return_status=True)
    d = ((utc.jd1 - tdb.jd1) + (utc.jd2 - tdb.jd2)) * 86400.0 + dut1
    return (tt.jd1, tt.jd2), d, np.asarray(xp.to_value("rad")), np.asarray(yp.to_value("rad"))


def eop_table_end() -> float:
    """TDB seconds of the last epoch in astropy's bundled IERS table (UT1 - UTC held beyond)."""
    from ..time import Epoch, configure_astropy

    configure_astropy()
    from astropy.time import Time
    from astropy.utils import iers

    mjd = float(iers.earth_orientation_table.get()["MJD"][-1].value)
    return float(Epoch(Time(mjd, format="mjd", scale="utc")).tdb)  # UTC -> TDB with the leap-second table


class EarthOrientation:
    """GCRS -> ITRS rotation on [t0, t1], tabulated every ``step`` seconds (see module doc)."""

    def __init__(self, t0: float, t1: float, step: float = 43200.0, _tables=None):
        g = self._grid(t0, t1, step)
        self.t0, self.step, self.t1 = g[0], step, g[-1]
        self._d, self._c2i, self._pom = _tables if _tables is not None else self._tabulate(g)

    @staticmethod
    def _grid(t0: float, t1: float, step: float) -> np.ndarray:
        n = int(math.ceil((t1 - t0) / step)) + 3
        return (t0 - step) + step * np.arange(n)

    @staticmethod
    def _tabulate(g):
        import erfa

        (tt1, tt2), d, xp, yp = _eop_at(g)
        return d, np.asarray(erfa.c2i06a(tt1, tt2)), np.asarray(erfa.pom00(xp, yp, erfa.sp00(tt1, tt2)))

    @classmethod
    def many(cls, spans, step: float = 43200.0) -> list["EarthOrientation"]:
        """``[EarthOrientation(t0, t1, step) for t0, t1 in spans]``, the same tables element by
        element, with the Earth-orientation data of all the spans looked up in one call (each
        table entry depends only on its own epoch)."""
        grids = [cls._grid(float(a), float(b), step) for a, b in spans]
        if not grids:
            return []
        d, c2i, pom = cls._tabulate(np.concatenate(grids))
        out, k = [], 0
        for (a, b), g in zip(spans, grids):
            sl = slice(k, k + len(g))
            out.append(cls(float(a), float(b), step, _tables=(d[sl], c2i[sl], pom[sl])))
            k += len(g)
        return out

    def _interp(self, t):
        t = np.asarray(t, dtype=float)
        if np.any(t < self.t0) or np.any(t > self.t1):
            raise InputError("epoch", "outside the Earth-orientation table", "an epoch inside the span requested")
        x = (t - self.t0) / self.step
        i = np.minimum(x.astype(int), len(self._d) - 2)
        w = x - i
        return i, w

    def ut1_minus_tdb(self, t):
        i, w = self._interp(t)
        return (1 - w) * self._d[i] + w * self._d[i + 1]

    def era(self, t):
        """Earth rotation angle (rad) at TDB seconds."""
        import erfa

        return erfa.era00(2451545.0, (np.asarray(t, dtype=float) + self.ut1_minus_tdb(t)) / 86400.0)

    def parts(self, t):
        """(C (N,3,3), ERA (N,), W (N,3,3)) at TDB seconds ``t`` (N,)."""
        t = np.atleast_1d(np.asarray(t, dtype=float))
        i, w = self._interp(t)
        ww = w[:, None, None]
        c = (1 - ww) * self._c2i[i] + ww * self._c2i[i + 1]
        p = (1 - ww) * self._pom[i] + ww * self._pom[i + 1]
        era = erfa_era(t + (1 - w) * self._d[i] + w * self._d[i + 1])
        return c, era, p

    def matrix(self, t) -> np.ndarray:
        """(N, 3, 3) GCRS -> ITRS."""
        c, era, p = self.parts(t)
        ce, se = np.cos(era), np.sin(era)
        r3 = np.zeros_like(c)
        r3[:, 0, 0], r3[:, 0, 1], r3[:, 1, 0], r3[:, 1, 1], r3[:, 2, 2] = ce, se, -se, ce, 1.0
        return p @ r3 @ c

    def to_itrs(self, t, r_gcrs) -> np.ndarray:
        c, era, p = self.parts(t)
        x = np.einsum("nij,nj->ni", c, np.atleast_2d(r_gcrs))
        ce, se = np.cos(era), np.sin(era)
        y = np.stack([ce * x[:, 0] + se * x[:, 1], -se * x[:, 0] + ce * x[:, 1], x[:, 2]], axis=1)
        return np.einsum("nij,nj->ni", p, y)

    def to_gcrs(self, t, r_itrs) -> np.ndarray:
        c, era, p = self.parts(t)
        y = np.einsum("nji,nj->ni", p, np.atleast_2d(r_itrs))
        ce, se = np.cos(era), np.sin(era)
        x = np.stack([ce * y[:, 0] - se * y[:, 1], se * y[:, 0] + ce * y[:, 1], y[:, 2]], axis=1)
        return np.einsum("nji,nj->ni", c, x)

    def station_gcrs(self, station, t) -> tuple[np.ndarray, np.ndarray]:
        """Station position (km) and velocity (km/s) in GCRS at TDB seconds ``t`` (N,)."""
        t = np.atleast_1d(np.asarray(t, dtype=float))
        s = np.broadcast_to(station.position_itrf(t), (len(t), 3))
        c, era, p = self.parts(t)
        y = np.einsum("nji,nj->ni", p, s)
        ce, se = np.cos(era), np.sin(era)
        x = np.stack([ce * y[:, 0] - se * y[:, 1], se * y[:, 0] + ce * y[:, 1], y[:, 2]], axis=1)
        vx = OMEGA_EARTH * np.stack([-x[:, 1], x[:, 0], np.zeros(len(t))], axis=1)  # omega x r about the CIP
        return np.einsum("nji,nj->ni", c, x), np.einsum("nji,nj->ni", c, vx)


def erfa_era(ut1_seconds_past_j2000):
    import erfa

    return erfa.era00(2451545.0, np.asarray(ut1_seconds_past_j2000) / 86400.0)


# ---------------------------------------------------------------------------------------------
# Observations
# ---------------------------------------------------------------------------------------------
@dataclass
class Topocentric:
    """Light-time-corrected topocentric geometry of the target from one station (arrays (N,))."""

    t: np.ndarray
    azimuth_deg: np.ndarray  # from north through east
    elevation_deg: np.ndarray  # above the WGS84 horizon (geodetic normal); no refraction
    range_km: np.ndarray
    range_rate_km_s: np.ndarray
    light_time_s: np.ndarray


def _earth(eph, t):
    return np.atleast_2d(eph.state("EARTH", "SSB", t))


def light_time_vector(target: Target, t, obs_pos, obs_vel=None):
    """Vector observer -> target (N, 3) at reception ``t`` for a barycentric observer position,
    the emission epochs, and the target state at emission. Iterated ``LIGHT_TIME_ITERATIONS``."""
    t = np.atleast_1d(np.asarray(t, dtype=float))
    tau = np.zeros(len(t))
    for _ in range(LIGHT_TIME_ITERATIONS):
        s = target.state(t - tau)
        rho = s[:, :3] - obs_pos
        tau = np.linalg.norm(rho, axis=1) / C_KM_S
    return rho, t - tau, s


def _default_eph(eph):
    if eph is None:
        from ..ephemeris import default_ephemeris

        eph = default_ephemeris()
    return eph


def _times(t):
    t = np.atleast_1d(np.asarray(t, dtype=float))
    if t.ndim != 1 or not np.all(np.isfinite(t)):
        raise InputError("t", t, "finite TDB seconds past J2000")
    return t


def observe(station, target=None, t=None, eph=None, eo: EarthOrientation | None = None) -> Topocentric:
    """Azimuth, elevation, range, range rate and light time of ``target`` from ``station`` at
    reception epochs ``t`` (TDB s): the full path, per-station light time and exact erfa ERA.

    Range rate: rho_dot = u.(v_sc - v_obs) / (1 + u.v_sc / c) (exact derivative of the
    light-time-corrected range with respect to reception time).
    """
    from .stations import get_station

    station = get_station(station)
    eph = _default_eph(eph)
    target = as_target(target, eph)
    t = _times(t)
    target.check_span(float(t.min()), float(t.max()), "t", pad=3600.0)
    if eo is None:
        eo = EarthOrientation(float(t.min()), float(t.max()))
    e = _earth(eph, t)
    sp, sv = eo.station_gcrs(station, t)
    op, ov = e[:, :3] + sp, e[:, 3:] + sv
    rho, _, s = light_time_vector(target, t, op)
    rng = np.linalg.norm(rho, axis=1)
    u = rho / rng[:, None]
    rdot = np.einsum("ni,ni->n", u, s[:, 3:] - ov) / (1.0 + np.einsum("ni,ni->n", u, s[:, 3:]) / C_KM_S)
    # topocentric vector in ITRS: rotate the geocentric-frame vector (rho is already topocentric)
    r_itrs = eo.to_itrs(t, rho)
    enu = r_itrs @ station.enu_axes.T
    el = np.degrees(np.arcsin(np.clip(enu[:, 2] / rng, -1, 1)))
    az = np.degrees(np.arctan2(enu[:, 0], enu[:, 1])) % 360.0
    return Topocentric(t, az, el, rng, rdot, rng / C_KM_S)


def sun_earth_probe_deg(target=None, t=None, eph=None) -> np.ndarray:
    """Sun-Earth-probe angle (deg) at the geocentre: between the light-time-corrected directions
    to the Sun and to the target at reception epochs ``t``."""
    eph = _default_eph(eph)
    target = as_target(target, eph)
    t = _times(t)
    target.check_span(float(t.min()), float(t.max()), "t", pad=3600.0)
    ep = _earth(eph, t)[:, :3]
    sun = _EphTarget(eph, "SUN")
    a, _, _ = light_time_vector(sun, t, ep)
    b, _, _ = light_time_vector(target, t, ep)
    return _angle_deg(a, b)


def _angle_deg(a, b):
    # atan2(|a x b|, a.b): accurate at small angles (conjunction)
    return np.degrees(np.arctan2(np.linalg.norm(np.cross(a, b), axis=1), np.einsum("ni,ni->n", a, b)))


def mars_occultation(station, target=None, t=None, eph=None, radius_km: float = R_MARS_EQ,
                     eo: EarthOrientation | None = None, continuous: bool = False) -> np.ndarray:
    """Occultation margin (km) of the target by Mars seen from ``station``: the distance of the
    station->target line of sight from Mars' centre minus ``radius_km`` when Mars lies between
    them (negative = occulted); +inf when Mars is not in front of the target.

    Apparent geometry: Mars is taken at the target's emission epoch (their light times differ by
    < 0.1 s near Mars). Mars is a sphere of ``radius_km`` (default the equatorial radius
    3396.19 km, pck00011; add an atmosphere margin by passing a larger radius).

    ``continuous=True`` returns instead the distance of Mars' centre from the line-of-sight
    *segment* minus the radius: finite, continuous in time, and negative exactly when the segment
    crosses the sphere (used by :func:`.visibility.occultations` to find the edges).
    """
    from .stations import get_station

    station = get_station(station)
    eph = _default_eph(eph)
    target = as_target(target, eph)
    t = _times(t)
    if not (radius_km > 0 and math.isfinite(radius_km)):
        raise InputError("radius_km", radius_km, "a positive radius in km")
    target.check_span(float(t.min()), float(t.max()), "t", pad=3600.0)
    if eo is None:
        eo = EarthOrientation(float(t.min()), float(t.max()))
    e = _earth(eph, t)
    sp, _ = eo.station_gcrs(station, t)
    op = e[:, :3] + sp
    rho, te, _ = light_time_vector(target, t, op)
    m = np.atleast_2d(eph.position("MARS", "SSB", te)) - op
    rng = np.linalg.norm(rho, axis=1)
    u = rho / rng[:, None]
    along = np.einsum("ni,ni->n", m, u)
    d = np.linalg.norm(m - along[:, None] * u, axis=1)
    if continuous:
        a = np.clip(along, 0.0, rng)
        return np.linalg.norm(m - a[:, None] * u, axis=1) - radius_km
    margin = d - radius_km
    # Mars in front of the target: its near limb along the line of sight is closer than the target
    front = along - np.sqrt(np.clip(radius_km ** 2 - d ** 2, 0.0, None)) < rng
    return np.where(front & (along > 0), margin, np.inf)
