"""Passes (rise/set windows above each station's mask) and solar-conjunction blackouts.

How no pass is missed
---------------------
Let f(t) = el(t) - mask(az(t)) for one station. For a direction fixed in inertial space,
d el/dt = Omega cos(phi) sin(A) (phi: station latitude, A: azimuth), so |d el/dt| <= Omega, and
|dA/dt| = Omega |sin(phi) - cos(phi) cos(A) tan(el)| <= Omega (1 + tan el). The target's own
apparent motion adds at most w_t = max |v_rel| / range + v_station / range, which is measured
on the target grid and added (x 1.5) to Omega. Hence, wherever f <= 0 (so el <= max mask):

    |df/dt| <= L = Omega' (1 + s (1 + tan(max mask))),   Omega' = Omega_E + 1.5 w_t,

with s the steepest slope of the horizon mask (deg/deg; 0 for a constant mask). If f(a) < 0
and f(b) < 0 and f has a root in [a, b], then 0 <= f(a) + L (r - a) and 0 <= f(b) + L (b - r')
for the first and last roots r, r', so f(a) + f(b) + L (b - a) >= 0. The scan therefore samples
a grid of step ``step`` (default 1200 s), and every interval whose end values do not *prove*
the absence of a root is bisected, down to ``min_interval`` (default 1 s). A pass is missed only
if it lies entirely inside a 1 s interval with a peak less than L x 0.5 s (~0.002 deg) above the
mask. The same test with signs reversed finds short dips inside a pass (az-dependent masks).
Each bracket is then refined by a safeguarded secant method to ``tol`` (default 0.01 s).

Fast path: the geocentric light-time-corrected target vector is sampled every ``target_step``
(default 3600 s) and interpolated with a cubic spline, and the Earth orientation is tabulated
(see :mod:`.geometry`). The station-to-geocentre light-time difference (<= 21 ms) is neglected in
the fast path: the error is < 1e-8 rad. Both errors are measured in the tests against
:func:`.geometry.observe`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .geometry import (OMEGA_EARTH, EarthOrientation, Target, _angle_deg, _default_eph, _EphTarget, as_target,
                       light_time_vector, mars_occultation, observe)
from .stations import SEP_LIMIT_DEG, Station, get_stations
from .types import Pass

DEFAULT_STEP_S = 1200.0
DEFAULT_TOL_S = 0.01
MIN_INTERVAL_S = 1.0
V_STATION_KM_S = 0.4651  # equatorial rotation speed, km/s (OMEGA_EARTH x 6378.137 km)


@dataclass(frozen=True)
class Blackout:
    """A solar-conjunction period: SEP below ``limit_deg`` for ``band`` (TDB s)."""

    band: str
    start: float
    stop: float
    limit_deg: float
    min_sep_deg: float
    t_min_sep: float
    truncated: bool = False


class _Geo:
    """The geocentric target direction in ITRS over [t0, t1] (fast path)."""

    def __init__(self, target: Target, eph, t0: float, t1: float, target_step: float = 3600.0):
        from scipy.interpolate import CubicSpline

        n = int(math.ceil((t1 - t0) / target_step)) + 5
        g = t0 - 2 * target_step + target_step * np.arange(n)
        e = np.atleast_2d(eph.state("EARTH", "SSB", g))
        rho, _, s = light_time_vector(target, g, e[:, :3])
        self.spline = CubicSpline(g, rho, axis=0)
        rng = np.linalg.norm(rho, axis=1)
        vrel = s[:, 3:] - e[:, 3:]
        self.rate_bound = float(np.max((np.linalg.norm(vrel, axis=1) + V_STATION_KM_S) / rng))
        self.eo = EarthOrientation(g[0], g[-1], step=86400.0)
        self.t0, self.t1 = g[0], g[-1]

    def itrs(self, t):
        return self.eo.to_itrs(t, self.spline(t))


def _prepare(start, stop, target, eph, pad: float = 7200.0):
    eph = _default_eph(eph)
    target = as_target(target, eph)
    t0, t1 = _epoch(start, "start"), _epoch(stop, "stop")
    if not t1 > t0:
        raise InputError("stop", stop, f"an epoch after start ({start})")
    target.check_span(t0, t1, "start/stop", pad=pad)
    return t0, t1, target, eph


def _epoch(value, field: str) -> float:
    if isinstance(value, (int, float, np.floating)) and math.isfinite(value):
        return float(value)
    if isinstance(value, str):
        from ..time import to_tdb_seconds

        try:
            return float(to_tdb_seconds(value, "utc"))
        except InputError as exc:
            raise InputError(field, value, exc.allowed) from None
    raise InputError(field, value, "TDB seconds past J2000 or an ISO 8601 UTC string")


class _StationFn:
    def __init__(self, station: Station, geo: _Geo, band: str | None):
        self.st, self.geo, self.band = station, geo, band
        self.enu = station.enu_axes

    def az_el(self, t, g_itrs=None):
        g = self.geo.itrs(t) if g_itrs is None else g_itrs
        r = g - self.st.position_itrf(t)
        enu = r @ self.enu.T
        el = np.arctan2(enu[:, 2], np.hypot(enu[:, 0], enu[:, 1]))
        az = np.arctan2(enu[:, 0], enu[:, 1])
        return az, el

    def f(self, t, g_itrs=None):
        if self.st.mask.is_constant and (self.band is None or self.st.band(self.band).elevation_mask_deg is None):
            g = self.geo.itrs(t) if g_itrs is None else g_itrs
            r = g - self.st.position_itrf(t)
            el = np.arcsin((r @ self.enu[2]) / np.sqrt(np.einsum("ni,ni->n", r, r)))
            return el - math.radians(self.st.mask.elevation_deg[0])
        az, el = self.az_el(t, g_itrs)
        mask = np.radians(self.st.mask_deg(np.degrees(az), self.band))
        return el - mask

    def lipschitz(self):
        m = self.st.mask
        mask_max = m.max_deg
        if self.band is not None and self.st.band(self.band).elevation_mask_deg is not None:
            mask_max = max(mask_max, self.st.band(self.band).elevation_mask_deg)
        om = OMEGA_EARTH + 1.5 * self.geo.rate_bound
        return om * (1.0 + m.max_slope * (1.0 + math.tan(math.radians(min(mask_max, 89.0)))))


def _scan(fn, grid, fgrid, L, min_interval):
    """Samples (t, f) dense enough that every sign change of f is between two adjacent samples:
    intervals whose end values cannot exclude a sign change (|f(a) + f(b)| < L h) are bisected."""
    ts, fs = [grid], [fgrid]
    a, b, fa, fb = grid[:-1], grid[1:], fgrid[:-1], fgrid[1:]
    while True:
        h = b - a
        u = (np.sign(fa) == np.sign(fb)) & (np.abs(fa + fb) < L * h) & (h > 2 * min_interval)
        if not u.any():
            break
        a, b, fa, fb = a[u], b[u], fa[u], fb[u]
        m = 0.5 * (a + b)
        fm = fn(m)
        ts.append(m)
        fs.append(fm)
        a, b, fa, fb = np.r_[a, m], np.r_[m, b], np.r_[fa, fm], np.r_[fm, fb]
    t, f = np.concatenate(ts), np.concatenate(fs)
    o = np.argsort(t, kind="stable")
    return t[o], f[o]


def _refine(fn, a, b, fa, fb, tol):
    """Roots of fn in brackets [a, b] (sign change), vectorised safeguarded secant, to ``tol``."""
    a, b, fa, fb = (np.array(x, dtype=float) for x in (a, b, fa, fb))
    for _ in range(60):
        w = b - a
        active = w > tol
        if not active.any():
            break
        aa, bb, ffa, ffb = a[active], b[active], fa[active], fb[active]
        x = aa - ffa * (bb - aa) / (ffb - ffa)
        x = np.clip(x, aa + 0.25 * tol, bb - 0.25 * tol)
        # a second point tol/2 away, on the side of the far end, to close the bracket
        d = np.where(x - aa < bb - x, 0.5 * tol, -0.5 * tol)
        y = np.clip(x + d, aa, bb)
        fx, fy = fn(np.concatenate([x, y])).reshape(2, -1)
        for p, fp in ((x, fx), (y, fy)):
            left = np.sign(fp) == np.sign(ffa)
            aa, ffa = np.where(left & (p > aa), p, aa), np.where(left & (p > aa), fp, ffa)
            bb, ffb = np.where(~left & (p < bb), p, bb), np.where(~left & (p < bb), fp, ffb)
        # safeguard: bisect where the secant did not at least halve the bracket
        slow = (bb - aa) > 0.5 * (b[active] - a[active])
        if slow.any():
            m = 0.5 * (aa[slow] + bb[slow])
            fm = fn(m)
            left = np.sign(fm) == np.sign(ffa[slow])
            aa[slow] = np.where(left, m, aa[slow])
            ffa[slow] = np.where(left, fm, ffa[slow])
            bb[slow] = np.where(~left, m, bb[slow])
            ffb[slow] = np.where(~left, fm, ffb[slow])
        a[active], b[active], fa[active], fb[active] = aa, bb, ffa, ffb
    # the end of the bracket where |f| is smaller
    return np.where(np.abs(fa) <= np.abs(fb), a, b)


def _maximise(fn, lo, hi, spacings=(60.0, 4.0, 0.2)):
    """Vectorised maximum of a smooth fn on [lo, hi]: parabola through 3 points around the
    current best, with shrinking spacings (the first is a third of the bracket). Elevation near
    culmination is a parabola to 1e-9 deg over minutes, so 4 rounds give the time to < 0.1 s."""
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    x = 0.5 * (lo + hi)
    for d in (np.maximum((hi - lo) / 3.0, 1e-3), *spacings):
        d = np.broadcast_to(d, x.shape)
        p = np.concatenate([x - d, x, x + d])
        y0, y1, y2 = fn(np.clip(p, np.r_[lo, lo, lo], np.r_[hi, hi, hi])).reshape(3, -1)
        den = y0 - 2 * y1 + y2
        step = np.where(den < 0, 0.5 * d * (y0 - y2) / np.where(den < 0, den, -1.0), np.sign(y2 - y0) * d)
        x = np.clip(x + np.clip(step, -2 * d, 2 * d), lo, hi)
    return x, fn(x)


def find_passes(stations=None, start=None, stop=None, target=None, *, eph=None, band: str | None = None,
                step: float = DEFAULT_STEP_S, tol: float = DEFAULT_TOL_S, min_interval: float = MIN_INTERVAL_S,
                target_step: float = 3600.0, catalogue=None) -> list[Pass]:
    """All passes of ``target`` (default: Mars' centre, DE421) over the stations between
    ``start`` and ``stop`` (ISO UTC strings or TDB seconds), sorted by start time.

    ``band`` applies that band's elevation mask where it has one. Rise/set are the crossings of
    the station's mask, refined to ``tol`` seconds; ``max_elevation_deg`` is the geometric
    elevation maximum within the pass (to ~0.1 s in time). Passes cut by the span's ends are
    flagged ``truncated``. Each pass's ``notes`` hold the azimuths at start/stop and the mask.
    """
    for name, v, lo in (("step", step, 2 * min_interval), ("tol", tol, 1e-6), ("min_interval", min_interval, 1e-3),
                        ("target_step", target_step, 1.0)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= lo):
            raise InputError(name, v, f"a number of seconds >= {lo}")
    if tol > 1.0:
        raise InputError("tol", tol, "at most 1 s")
    if start is None or stop is None:
        raise InputError("start/stop", (start, stop), "two epochs")
    t0, t1, target, eph = _prepare(start, stop, target, eph, pad=2.5 * target_step)
    sts = get_stations(stations, catalogue)
    if band is not None:
        from .stations import KNOWN_BANDS

        if not any(str(band).lower() == b.lower() for b in KNOWN_BANDS):
            raise InputError("band", band, ", ".join(KNOWN_BANDS))
        for s in sts:
            s.band(band)
    geo = _Geo(target, eph, t0, t1, target_step)
    n = max(int(math.ceil((t1 - t0) / step)), 1)
    grid = np.linspace(t0, t1, n + 1)
    g_grid = geo.itrs(grid)
    out: list[Pass] = []
    for st in sts:
        sf = _StationFn(st, geo, band)
        out.extend(_station_passes(sf, grid, sf.f(grid, g_grid), t0, t1, tol, min_interval))
    out.sort(key=lambda p: (p.start, p.station))
    return out


def _station_passes(sf: _StationFn, grid, fgrid, t0, t1, tol, min_interval) -> list[Pass]:
    st = sf.st
    t, f = _scan(sf.f, grid, fgrid, sf.lipschitz(), min_interval)
    pos = f > 0
    ch = np.nonzero(pos[1:] != pos[:-1])[0]
    roots = _refine(sf.f, t[ch], t[ch + 1], f[ch], f[ch + 1], tol) if len(ch) else np.array([])
    rising = ~pos[ch]
    starts, stops, trunc_s, trunc_e = [], [], [], []
    if pos[0]:
        starts.append(t0)
        trunc_s.append(True)
    for r, up in zip(roots, rising):
        if up:
            starts.append(r)
            trunc_s.append(False)
        else:
            stops.append(r)
            trunc_e.append(False)
    if pos[-1]:
        stops.append(t1)
        trunc_e.append(True)
    if not starts:
        return []
    starts, stops = np.array(starts), np.array(stops)

    def el_of(x):
        return np.degrees(sf.az_el(x)[1])

    # maximum: golden section around the best sample inside each pass
    lo, hi = starts.copy(), stops.copy()
    i0s, i1s = np.searchsorted(t, starts, "right"), np.searchsorted(t, stops, "left")
    for i, (i0, i1) in enumerate(zip(i0s, i1s)):
        if i1 > i0:
            j = i0 + int(np.argmax(f[i0:i1]))
            lo[i], hi[i] = max(lo[i], t[max(j - 1, 0)]), min(hi[i], t[min(j + 1, len(t) - 1)])
    tm, em = _maximise(el_of, lo, hi)
    # the maximum may sit at a truncated end
    for ends in (starts, stops):
        ee = el_of(ends)
        better = ee > em
        tm, em = np.where(better, ends, tm), np.where(better, ee, em)
    az_s, _ = sf.az_el(starts)
    az_e, _ = sf.az_el(stops)
    mask = "constant %.3g deg" % st.mask.elevation_deg[0] if st.mask.is_constant else "azimuth table"
    return [Pass(station=st.name, agency=st.agency, start=float(a), stop=float(b), max_elevation_deg=float(e),
                 t_max_elevation=float(x), truncated=bool(ts or te),
                 notes={"azimuth_start_deg": float(np.degrees(za) % 360),
                        "azimuth_stop_deg": float(np.degrees(zb) % 360),
                        "mask": mask, "band": sf.band})
            for a, b, e, x, ts, te, za, zb in zip(starts, stops, em, tm, trunc_s, trunc_e, az_s, az_e)]


def pass_profile(p: Pass, target=None, step: float = 60.0, *, eph=None, catalogue=None,
                 occultation: bool = True, eo: EarthOrientation | None = None) -> dict:
    """Time series over a pass for link budgets and schedulers: ``t`` (TDB s), ``azimuth_deg``,
    ``elevation_deg``, ``range_km``, ``range_rate_km_s``, ``light_time_s`` and, when asked,
    ``mars_occultation_margin_km`` (negative: hidden by Mars) -- all from the full geometry
    (:func:`.geometry.observe`). Samples every ``step`` s plus the pass ends. ``eo``: the
    ``EarthOrientation(p.start, p.stop)`` of the pass when the caller has made it already (e.g.
    with :meth:`.geometry.EarthOrientation.many` for many passes); made here otherwise."""
    from .stations import get_station

    if not (isinstance(step, (int, float)) and step > 0 and math.isfinite(step)):
        raise InputError("step", step, "a positive number of seconds")
    st = get_station(p.station, catalogue)
    eph = _default_eph(eph)
    tgt = as_target(target, eph)
    t = np.unique(np.r_[np.arange(p.start, p.stop, step), p.stop])
    if eo is None:
        eo = EarthOrientation(float(t[0]), float(t[-1]))
    elif not (eo.t0 <= t[0] and t[-1] <= eo.t1):
        raise InputError("eo", "an Earth-orientation table", "one that covers the pass")
    o = observe(st, tgt, t, eph, eo)
    out = {"t": t, "azimuth_deg": o.azimuth_deg, "elevation_deg": o.elevation_deg, "range_km": o.range_km,
           "range_rate_km_s": o.range_rate_km_s, "light_time_s": o.light_time_s}
    if occultation and not (isinstance(tgt, _EphTarget) and tgt.offset is None):
        out["mars_occultation_margin_km"] = mars_occultation(st, tgt, t, eph, eo=eo)
    return out


def conjunctions(start, stop, target=None, *, eph=None, bands=("X", "Ka"), limits: dict | None = None,
                 step: float = 21600.0, tol: float = DEFAULT_TOL_S) -> list[Blackout]:
    """Solar-conjunction blackouts: periods with Sun-Earth-probe angle below the band's limit
    (default :data:`.stations.SEP_LIMIT_DEG`, all assumptions: X 3 deg, Ka 2 deg, S 5 deg).

    SEP changes by less than 3 deg/day (Sun <= 1.02 deg/day geocentric, Mars < 0.8 deg/day, a
    spacecraft at Mars adds < 1e-5 rad/day), the bound used by the same root-proof scan as
    :func:`find_passes`; roots are refined to ``tol`` s."""
    t0, t1, target, eph = _prepare(start, stop, target, eph)
    lim = dict(SEP_LIMIT_DEG)
    for k, v in (limits or {}).items():
        if not (isinstance(v, (int, float)) and 0 <= v < 180):
            raise InputError(f"limits.{k}", v, "an angle between 0 and 180 deg")
        lim[k] = float(v)
    for b in bands:
        if b not in lim:
            raise InputError("bands", b, ", ".join(lim))
    sun = _EphTarget(eph, "SUN")

    def sep(t):
        t = np.atleast_1d(t)
        ep = np.atleast_2d(eph.position("EARTH", "SSB", t))
        a, _, _ = light_time_vector(sun, t, ep)
        b, _, _ = light_time_vector(target, t, ep)
        return _angle_deg(a, b)

    n = max(int(math.ceil((t1 - t0) / step)), 1)
    grid = np.linspace(t0, t1, n + 1)
    sg = sep(grid)
    L = 3.0 / 86400.0
    out = []
    for b in bands:
        fn = (lambda x, b=b: lim[b] - sep(x))
        t, f = _scan(fn, grid, lim[b] - sg, L, MIN_INTERVAL_S)
        pos = f > 0
        ch = np.nonzero(pos[1:] != pos[:-1])[0]
        roots = _refine(fn, t[ch], t[ch + 1], f[ch], f[ch + 1], tol) if len(ch) else np.array([])
        edges = ([t0] if pos[0] else []) + list(roots) + ([t1] if pos[-1] else [])
        for a, c in zip(edges[::2], edges[1::2]):
            k = np.nonzero((t >= a) & (t <= c))[0]
            j = k[np.argmax(f[k])] if len(k) else None
            lo = t[max(j - 1, 0)] if j is not None else a
            hi = t[min(j + 1, len(t) - 1)] if j is not None else c
            tm, fm = _maximise(lambda x: -sep(x), np.array([max(a, lo)]), np.array([min(c, hi)]), (3600.0, 60.0, 1.0))
            out.append(Blackout(b, float(a), float(c), lim[b], float(-fm[0]), float(tm[0]),
                                truncated=bool(a == t0 or c == t1)))
    out.sort(key=lambda x: (x.start, x.band))
    return out


@dataclass(frozen=True)
class Occultation:
    """An interval when Mars hides the spacecraft from ``station`` (TDB s)."""

    station: str
    start: float
    stop: float
    truncated: bool = False


def occultations(stations, start, stop, target, *, eph=None, radius_km: float | None = None, step: float = 60.0,
                 tol: float = DEFAULT_TOL_S, catalogue=None) -> list[Occultation]:
    """Intervals when Mars hides ``target`` (a spacecraft, e.g. :func:`.geometry.trajectory_target`)
    from each station, edges to ``tol`` s, full geometry (:func:`.geometry.mars_occultation`).

    No interval is missed: g = (distance of Mars' centre from the line-of-sight segment) - R
    changes at most as fast as the spacecraft moves relative to Mars plus the sweep of the line of
    sight at Mars, L = 1.5 (max |v_sc - v_Mars| + max |r_sc - r_Mars| x w_t) (measured on the
    ``step`` grid; w_t as in :func:`find_passes`), and the same root-proof scan is used: an
    occultation is missed only if it lasts < 1 s and dips < 0.5 L km below the limb."""
    from ..bodies import R_MARS_EQ

    radius_km = R_MARS_EQ if radius_km is None else radius_km
    if not (isinstance(step, (int, float)) and math.isfinite(step) and step >= 2 * MIN_INTERVAL_S):
        raise InputError("step", step, f"a number of seconds >= {2 * MIN_INTERVAL_S}")
    if not (isinstance(tol, (int, float)) and 1e-6 <= tol <= 1.0):
        raise InputError("tol", tol, "between 1e-6 and 1 s")
    if not (isinstance(radius_km, (int, float)) and 0 < radius_km < 1e5):
        raise InputError("radius_km", radius_km, "a positive radius in km")
    t0, t1, target, eph = _prepare(start, stop, target, eph, pad=3600.0)
    if isinstance(target, _EphTarget) and target.offset is None:
        raise InputError("target", target.name, "a spacecraft (Mars' centre cannot be hidden by Mars)")
    sts = get_stations(stations, catalogue)
    n = max(int(math.ceil((t1 - t0) / step)), 1)
    grid = np.linspace(t0, t1, n + 1)
    s = target.state(grid)
    mars = np.atleast_2d(eph.state("MARS", "SSB", grid))
    e = np.atleast_2d(eph.state("EARTH", "SSB", grid))
    rng = np.linalg.norm(s[:, :3] - e[:, :3], axis=1)
    w_t = np.max((np.linalg.norm(s[:, 3:] - e[:, 3:], axis=1) + V_STATION_KM_S) / rng)
    L = 1.5 * (np.max(np.linalg.norm(s[:, 3:] - mars[:, 3:], axis=1))
               + np.max(np.linalg.norm(s[:, :3] - mars[:, :3], axis=1)) * w_t)
    eo = EarthOrientation(t0 - 3600.0, t1 + 3600.0)
    out = []
    for st in sts:
        def fn(x, st=st):
            return -mars_occultation(st, target, np.atleast_1d(x), eph, radius_km, eo, continuous=True)

        t, f = _scan(fn, grid, fn(grid), L, MIN_INTERVAL_S)
        pos = f > 0
        ch = np.nonzero(pos[1:] != pos[:-1])[0]
        roots = _refine(fn, t[ch], t[ch + 1], f[ch], f[ch + 1], tol) if len(ch) else np.array([])
        edges = ([t0] if pos[0] else []) + list(roots) + ([t1] if pos[-1] else [])
        out += [Occultation(st.name, float(a), float(b), bool(a == t0 or b == t1))
                for a, b in zip(edges[::2], edges[1::2])]
    out.sort(key=lambda o: (o.start, o.station))
    return out


def passes_table(passes, blackouts=()) -> list[dict]:
    """Plain rows (ISO TDB strings) for CSV/JSON output; ``blackout_bands`` lists the bands whose
    conjunction blackout overlaps the pass."""
    from ..time import iso_tdb

    rows = []
    for p in passes:
        bb = sorted({b.band for b in blackouts if b.start < p.stop and b.stop > p.start})
        rows.append({"station": p.station, "agency": p.agency,
                     "start_tdb": iso_tdb(p.start), "stop_tdb": iso_tdb(p.stop),
                     "duration_s": round(p.duration_s, 3), "max_elevation_deg": round(p.max_elevation_deg, 4),
                     "t_max_elevation_tdb": iso_tdb(p.t_max_elevation), "truncated": p.truncated,
                     "azimuth_start_deg": round(p.notes.get("azimuth_start_deg", float("nan")), 3),
                     "azimuth_stop_deg": round(p.notes.get("azimuth_stop_deg", float("nan")), 3),
                     "blackout_bands": ";".join(bb)})
    return rows


__all__ = ["find_passes", "pass_profile", "conjunctions", "occultations", "passes_table", "Blackout", "Occultation",
           "Pass"]
