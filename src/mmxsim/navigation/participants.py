"""Light-time participants: ground stations and any object given as a function of time.

Model
-----
A participant has a ``name`` and ``state(t, t_lo=None) -> (N, 6)``: position (km) and velocity
(km/s) in one common inertial frame (for real missions the solar-system-barycentre-centred ICRF,
"SSB") at the exact epochs ``t + t_lo`` (TDB seconds past J2000, two parts, ``|t_lo| < 1 ms``).
The state is evaluated at ``t`` and its position moved by ``v * t_lo``; the neglected term
``a t_lo^2 / 2`` is below 1e-12 km for any acceleration met here (|t_lo| < 1e-7 s in practice:
the low part is the rounding of a float64 epoch).

Participants may also offer ``state_dd(t, t_lo) -> (pos_hi (N,3), pos_lo (N,3), vel (N,3))``,
the position as an unevaluated sum of two float64 (double-double). The measurement model uses it
when present, so that differences of positions 60 s apart keep their resolution (a float64 SSB
position near 2e8 km is rounded to 1.5e-8 km; see ``measurements``).

* :class:`GroundStation`: the Earth's barycentric state from an ephemeris plus the station's GCRS
  state from an Earth-orientation object (duck-typed, e.g. ``mmxsim.comms.geometry.EarthOrientation``).
  Simplification: GCRS axes are taken as BCRS axes and GCRS coordinates are not rescaled to TCB/TDB
  (the relativistic scale difference L_G ~ 7e-10 plus the Earth's potential term, ~1e-8 relative,
  i.e. below 0.1 mm on a 6400 km station vector); the station is moved by its plate motion
  through ``station.position_itrf``; solid-Earth tides and ocean loading are not modelled.
* :class:`FunctionParticipant`: any callable ``fn(t) -> (N, 6)`` (tests, stations sampled from
  another tool, constant offsets for SPICE comparisons); ``fn`` may also return the double-double
  pair ``(state (N,6), pos_lo (N,3))``.

Sources: IERS Conventions (2010) ch. 5 (GCRS/ITRS), ch. 10 (GCRS vs BCRS scale); erfa ``gc2gd``
(WGS84 geodetic coordinates) for the local vertical.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import InputError

__all__ = ["GroundStation", "FunctionParticipant", "two_sum", "fast_two_sum", "add_epoch", "state_dd",
           "ephemeris_state"]


# ---------------------------------------------------------------------------------------------
# Ephemeris states at epochs asked for before
# ---------------------------------------------------------------------------------------------
class _EpochMemo:
    """The last ephemeris states asked for (least recently used out first, at most ``max_rows`` rows
    kept in all), each under its ephemeris object (held weakly: a new object at a reused address never
    matches), its bodies and the exact bytes of its epochs. The measurement model asks again and again
    for the same epochs: every call of :func:`mmxsim.navigation.measurements.compute` (each estimator
    iteration, each Monte Carlo run) evaluates the receiving station's Earth, the Sun and, for the light
    time's first guess, the spacecraft's Mars at the data's own time tags (measured on the quick run's
    origin, geodesy and od: half of the ~250,000 rows of ephemeris states were repeats). The stored
    arrays are read-only copies of what the ephemeris gave; a hit returns that array."""

    def __init__(self, max_rows: int = 200_000):
        from collections import OrderedDict

        self.max_rows = int(max_rows)
        self._d: OrderedDict = OrderedDict()
        self._rows = 0

    def state(self, eph, target: str, center: str, t) -> np.ndarray:
        import weakref

        t = np.asarray(t, dtype=float)
        key = (id(eph), target, center, t.shape, t.tobytes())
        hit = self._d.get(key)
        if hit is not None and hit[0]() is eph:
            self._d.move_to_end(key)
            return hit[1]
        out = np.asarray(eph.state(target, center, t), dtype=float)
        try:
            ref = weakref.ref(eph)
        except TypeError:  # an ephemeris that cannot be referenced weakly is not memoised
            return out
        if hit is not None:  # a stale entry (its ephemeris is gone and the address reused)
            self._rows -= len(np.atleast_2d(self._d.pop(key)[1]))
        rows = len(np.atleast_2d(out))
        if rows > self.max_rows:
            return out
        out = out.copy()  # the memo's own array, whatever the ephemeris does with the one it returned
        out.flags.writeable = False
        self._d[key] = (ref, out)
        self._rows += rows
        while self._rows > self.max_rows:
            _, (_, old) = self._d.popitem(last=False)
            self._rows -= len(np.atleast_2d(old))
        return out

    def clear(self) -> None:
        self._d.clear()
        self._rows = 0


_MEMO = _EpochMemo()


def ephemeris_state(eph, target: str, center: str, t) -> np.ndarray:
    """``eph.state(target, center, t)`` as a read-only array, kept for the next call with the same
    ephemeris object, bodies and epochs (the same numbers: see :class:`_EpochMemo`)."""
    return _MEMO.state(eph, target, center, t)


# ---------------------------------------------------------------------------------------------
# Error-free transformations (Knuth's TwoSum, Dekker's FastTwoSum)
# ---------------------------------------------------------------------------------------------
def two_sum(a, b):
    """``s, e`` with ``s = fl(a + b)`` and ``a + b = s + e`` exactly (Knuth, TAOCP vol. 2, 4.2.2)."""
    s = a + b
    bb = s - a
    e = (a - (s - bb)) + (b - bb)
    return s, e


def fast_two_sum(a, b):
    """As :func:`two_sum` when ``|a| >= |b|`` (Dekker 1971)."""
    s = a + b
    return s, b - (s - a)


def add_epoch(t_hi, t_lo, dt):
    """Two-part epoch ``(t_hi + t_lo) + dt`` as ``(hi, lo)`` with ``|lo| <= ulp(hi)/2``."""
    s, e = two_sum(np.asarray(t_hi, float), np.asarray(dt, float))
    return fast_two_sum(s, e + t_lo)


def _times(t, t_lo):
    t = np.atleast_1d(np.asarray(t, dtype=float))
    lo = np.zeros_like(t) if t_lo is None else np.broadcast_to(np.asarray(t_lo, float), t.shape)
    return t, lo


def state_dd(participant, t, t_lo):
    """``(pos_hi, pos_lo, vel)`` of any participant (``state_dd`` if it has one, else ``state``)."""
    t, lo = _times(t, t_lo)
    if hasattr(participant, "state_dd"):
        return participant.state_dd(t, lo)
    s = np.atleast_2d(np.asarray(participant.state(t, lo), dtype=float))
    if s.shape != (len(t), 6):
        raise InputError(f"participant {getattr(participant, 'name', '?')}.state", s.shape, f"an array ({len(t)}, 6)")
    return s[:, :3], np.zeros((len(t), 3)), s[:, 3:]


class _Base:
    name: str

    def state(self, t, t_lo=None) -> np.ndarray:
        hi, lo, v = self.state_dd(t, t_lo)
        return np.concatenate([hi + lo, v], axis=1)

    def up(self, t) -> np.ndarray:  # pragma: no cover - overridden
        raise InputError(f"participant {self.name}.up", None, "a participant with a local vertical (a ground station)")

    def geodetic(self, t):  # pragma: no cover - overridden
        raise InputError(f"participant {self.name}.geodetic", None, "a participant with a latitude and height")


class GroundStation(_Base):
    """A station on the rotating Earth (see module doc).

    Parameters
    ----------
    name : str
    station : object with ``position_itrf(t) -> (N,3) or (3,)`` km (e.g. ``mmxsim.comms.stations.Station``)
    earth_orientation : object with ``station_gcrs(station, t) -> (pos, vel)`` and ``to_gcrs(t, r_itrs)``
    ephemeris : object with ``state("EARTH", "SSB", t) -> (N, 6)``
    delay_s : float
        Equipment delay of this station on each path it takes part in (transmit chain when it
        transmits, receive chain when it receives), s, >= 0 (range calibration; a parameter).
    """

    def __init__(self, name: str, station, earth_orientation, ephemeris, delay_s: float = 0.0):
        if not np.isfinite(delay_s) or delay_s < 0:
            raise InputError(f"station {name} delay_s", delay_s, "a finite delay >= 0 s")
        self.name, self.station, self.eo, self.eph, self.delay_s = name, station, earth_orientation, ephemeris, delay_s

    def state_dd(self, t, t_lo=None):
        t, lo = _times(t, t_lo)
        earth = np.atleast_2d(ephemeris_state(self.eph, "EARTH", "SSB", t))
        p, v = self.eo.station_gcrs(self.station, t)
        hi, plo = two_sum(earth[:, :3], np.atleast_2d(p))
        vel = earth[:, 3:] + v
        hi, plo = fast_two_sum(hi, plo + vel * lo[:, None])
        return hi, plo, vel

    def has_up(self) -> bool:
        return True

    def _itrs(self, t):
        t = np.atleast_1d(np.asarray(t, float))
        return np.broadcast_to(self.station.position_itrf(t), (len(t), 3))

    def geodetic(self, t):
        """(latitude rad, height km) on WGS84 (erfa.gc2gd), arrays (N,)."""
        import erfa

        _, phi, h = erfa.gc2gd(1, self._itrs(t) * 1e3)
        return np.asarray(phi), np.asarray(h) / 1e3

    def up(self, t) -> np.ndarray:
        """Unit geodetic normal (N, 3) in the common (GCRS = BCRS) axes."""
        import erfa

        t = np.atleast_1d(np.asarray(t, float))
        lam, phi, _ = erfa.gc2gd(1, self._itrs(t) * 1e3)
        u = np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=1)
        return np.atleast_2d(self.eo.to_gcrs(t, u))


class FunctionParticipant(_Base):
    """A participant given by ``fn(t) -> (N, 6)`` (or ``(state, pos_lo)``) in the common frame.

    ``up``: optional callable ``up(t) -> (N, 3)`` unit local vertical (needed for elevations and
    the troposphere); ``lat_rad``, ``height_km``: geodetic latitude and height used by the
    troposphere model; ``delay_s``: equipment delay as for :class:`GroundStation`.
    """

    def __init__(self, name: str, fn: Callable, up: Callable | None = None, lat_rad: float = 0.0,
                 height_km: float = 0.0, delay_s: float = 0.0):
        if not callable(fn):
            raise InputError(f"participant {name} fn", fn, "a callable fn(t) -> (N, 6)")
        if not np.isfinite(delay_s) or delay_s < 0:
            raise InputError(f"participant {name} delay_s", delay_s, "a finite delay >= 0 s")
        self.name, self.fn, self._up, self.lat_rad, self.height_km, self.delay_s = (
            name, fn, up, lat_rad, height_km, delay_s)

    def state_dd(self, t, t_lo=None):
        t, lo = _times(t, t_lo)
        out = self.fn(t)
        if isinstance(out, tuple):
            s, plo = np.atleast_2d(np.asarray(out[0], float)), np.atleast_2d(np.asarray(out[1], float))
        else:
            s = np.atleast_2d(np.asarray(out, float))
            plo = np.zeros((len(t), 3))
        if s.shape != (len(t), 6):
            raise InputError(f"participant {self.name} fn(t)", s.shape, f"an array ({len(t)}, 6)")
        hi, plo = fast_two_sum(s[:, :3], plo + s[:, 3:] * lo[:, None])
        return hi, plo, s[:, 3:]

    def up(self, t):
        if self._up is None:
            raise InputError(f"participant {self.name} up", None,
                             "a local-vertical callable (needed for elevations and the troposphere)")
        t = np.atleast_1d(np.asarray(t, float))
        return np.broadcast_to(np.atleast_2d(self._up(t)), (len(t), 3))

    def has_up(self) -> bool:
        return self._up is not None

    def geodetic(self, t):
        t = np.atleast_1d(np.asarray(t, float))
        return np.full(len(t), self.lat_rad), np.full(len(t), self.height_km)
