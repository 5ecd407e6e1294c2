"""Tracking schedules: which observable is taken when, by which stations, inside which tracks.

A schedule turns *tracks* (a station's antenna time: booked tracks of the ground plan, or every pass
above the elevation mask) into the rows of a :class:`~mmxsim.navigation.data.TrackingData` table
whose values are still to be computed (zero) and whose sigmas are the noise of each data type:

* two-way Doppler every ``doppler_interval_s`` inside each track, count time ``count_time_s``, the
  tag at the end of the count (the first tag one count time after the track starts);
* two-way range every ``range_interval_s`` inside each track;
* ΔDOR: one observable per ``ddor_interval_s`` at the middle of each overlap, at least
  ``ddor_min_overlap_s`` long, of tracks of the two stations of a listed baseline (receiver and
  ``station2``); a real session is ~1 h of alternating spacecraft and quasar scans giving one
  delay, which is what one row stands for.

Blackouts (solar conjunctions: Sun–Earth–probe angle below the band's limit) remove every row
inside them. Elevation masks are applied by the caller after the geometry is computed (the rows
whose spacecraft elevation at a participating station is below its mask are dropped), because
the tracks may be the booked ones, which already respect the masks.

Times are TDB seconds past J2000. Tracks are ``(station, start, stop)`` or objects with these
attributes (:class:`mmxsim.comms.types.Pass`, bookings), duck-typed: nothing here imports ``comms``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from ..errors import InputError
from .data import TrackingData


@dataclass(frozen=True)
class Track:
    """A station's tracking interval, TDB s. ``pass_id`` numbers it (per-pass biases)."""

    station: str
    start: float
    stop: float
    pass_id: int = -1


@dataclass(frozen=True)
class ScheduleSettings:
    """What is observed inside the tracks and its noise (1 sigma).

    Noise defaults are the published figures of ``../shared/nav-facts.md`` §3: ESA 35 m stations
    "random error ~1 m on range, < 0.1 mm/s on two-way range-rate" (ESA, About delta-DOR; the DSN
    figure at 60 s is UNCONFIRMED, taken equal); ΔDOR "approaching 1 nrad" (Curkendall & Border
    2013), i.e. 1 nrad x 8000 km baseline / c = 0.027 ns; we default to 0.1 ns (about 4 nrad),
    a conservative operational value (an assumption, said in the report).
    """

    doppler_interval_s: float = 60.0
    count_time_s: float = 60.0
    doppler_sigma_mm_s: float = 0.1
    range_interval_s: float = 600.0
    range_sigma_m: float = 1.0
    ddor_interval_s: float = 0.0  # 0: no ΔDOR
    ddor_sigma_ns: float = 0.1
    ddor_min_overlap_s: float = 3600.0
    baselines: tuple = ()  # ((station_a, station_b), ...)
    uplink_band: str = "X"
    downlink_band: str = "X"

    def __post_init__(self):
        for name in ("doppler_interval_s", "count_time_s", "range_interval_s", "ddor_interval_s"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v >= 0):
                raise InputError(f"tracking.{name}", v, ">= 0 s (0: that data type is off)")
        for name in ("doppler_sigma_mm_s", "range_sigma_m", "ddor_sigma_ns"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise InputError(f"tracking.{name}", v, "> 0 (noise 1-sigma)")
        if self.doppler_interval_s and not 0 < self.count_time_s <= self.doppler_interval_s:
            raise InputError("tracking.count_time_s", self.count_time_s,
                             f"> 0 and <= the Doppler interval ({self.doppler_interval_s:g} s)")


def as_tracks(items: Iterable) -> list[Track]:
    """Tracks from ``(station, start, stop)`` tuples or objects with those attributes; numbered in order."""
    out = []
    for k, it in enumerate(items):
        if isinstance(it, Track):
            out.append(it if it.pass_id >= 0 else Track(it.station, it.start, it.stop, k))
            continue
        if isinstance(it, (tuple, list)):
            st, a, b = it[:3]
        else:
            st, a, b = getattr(it, "station"), getattr(it, "start"), getattr(it, "stop")
        st = getattr(st, "name", st)
        a, b = float(a), float(b)
        if not (np.isfinite(a) and np.isfinite(b) and b >= a):
            raise InputError(f"tracks[{k}]", (st, a, b), "a station name and start <= stop (TDB s)")
        out.append(Track(str(st), a, b, k))
    return out


def _grid(a: float, b: float, step: float, first: float) -> np.ndarray:
    """Epochs a + first + k*step <= b, exact multiples of ``step`` from the track start."""
    if step <= 0 or b - a < first:
        return np.empty(0)
    n = int(np.floor((b - a - first) / step + 1e-9)) + 1
    return a + first + step * np.arange(n)


def _inside(t: np.ndarray, blackouts: Sequence) -> np.ndarray:
    bad = np.zeros(t.shape, bool)
    for bo in blackouts:
        a, b = (bo.start, bo.stop) if hasattr(bo, "start") else bo
        bad |= (t >= a) & (t <= b)
    return bad


def schedule(tracks: Iterable, settings: ScheduleSettings = ScheduleSettings(), blackouts: Sequence = ()) -> TrackingData:
    """Rows (values 0) of every observable the settings ask for inside ``tracks`` (see module doc)."""
    tr = as_tracks(tracks)
    s = settings
    parts = []
    for k in tr:
        if s.doppler_interval_s:
            t = _grid(k.start, k.stop, s.doppler_interval_s, s.count_time_s)
            t = t[~_inside(t - s.count_time_s, blackouts) & ~_inside(t, blackouts)]
            parts.append(TrackingData(kind=np.full(t.size, "doppler", object), t=t, receiver=np.full(t.size, k.station, object),
                                      value=np.zeros(t.size), sigma=np.full(t.size, s.doppler_sigma_mm_s * 1e-6),
                                      count_time=np.full(t.size, s.count_time_s), pass_id=np.full(t.size, k.pass_id),
                                      uplink_band=np.full(t.size, s.uplink_band, object),
                                      downlink_band=np.full(t.size, s.downlink_band, object)))
        if s.range_interval_s:
            t = _grid(k.start, k.stop, s.range_interval_s, 0.0)
            t = t[~_inside(t, blackouts)]
            parts.append(TrackingData(kind=np.full(t.size, "range", object), t=t, receiver=np.full(t.size, k.station, object),
                                      value=np.zeros(t.size), sigma=np.full(t.size, s.range_sigma_m * 1e-3),
                                      pass_id=np.full(t.size, k.pass_id),
                                      uplink_band=np.full(t.size, s.uplink_band, object),
                                      downlink_band=np.full(t.size, s.downlink_band, object)))
    if s.ddor_interval_s and s.baselines:
        names = {k.station for k in tr}
        for pair in s.baselines:
            a_name, b_name = pair
            if a_name == b_name:
                raise InputError("tracking.baselines", pair, "two different stations")
            if a_name not in names or b_name not in names:
                continue
            ta = [k for k in tr if k.station == a_name]
            tb = [k for k in tr if k.station == b_name]
            rows = []
            for x in ta:
                for y in tb:
                    lo, hi = max(x.start, y.start), min(x.stop, y.stop)
                    if hi - lo >= s.ddor_min_overlap_s:
                        n = max(1, int((hi - lo) // s.ddor_interval_s))
                        rows += list(lo + (hi - lo) * (np.arange(n) + 0.5) / n)
            t = np.asarray(sorted(rows), float)
            t = t[~_inside(t, blackouts)]
            parts.append(TrackingData(kind=np.full(t.size, "ddor", object), t=t, receiver=np.full(t.size, a_name, object),
                                      station2=np.full(t.size, b_name, object), value=np.zeros(t.size),
                                      sigma=np.full(t.size, s.ddor_sigma_ns * 1e-9),
                                      uplink_band=np.full(t.size, s.uplink_band, object),
                                      downlink_band=np.full(t.size, s.downlink_band, object)))
    return TrackingData.concatenate(parts).sorted() if parts else TrackingData.empty()
