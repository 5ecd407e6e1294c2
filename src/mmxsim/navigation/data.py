"""Tracking data: one columnar table of radiometric observations (measured or simulated).

One row per observable, whatever its type, so that the estimators take any mix of data:

``kind``
    ``"range"`` (two- or three-way range, one-way equivalent: c x round-trip light time / 2, km),
    ``"doppler"`` (two- or three-way integrated Doppler expressed as the mean range-rate over the
    count interval, km/s: the one-way-equivalent range at the end minus at the start, over the count
    time), ``"ddor"`` (differential one-way delay, receiver minus ``station2``, s).
``t``, ``t_lo``
    Receive time tag at the (first) receiving station, TDB seconds past J2000, in two parts: the
    epoch is ``t + t_lo`` exactly, ``t`` a float64 and ``|t_lo|`` a correction below 1 ms. A float64
    near 2030 resolves only 1.2e-7 s, which spoils Doppler at the 1e-2 mm/s level (Zannoni & Tortora,
    arXiv:1908.07858; ``../shared/nav-facts.md``): the second part keeps epochs exact. For
    Doppler the tag is the *end* of the count interval (TDM ``INTEGRATION_REF = END``).
``receiver``, ``transmitter``, ``station2``
    Station names. Two-way: transmitter == receiver; three-way: they differ. ``station2`` is the
    second receiver of a ΔDOR observable, empty otherwise.
``value``, ``sigma``
    The observable and its 1-sigma noise, in the units above.
``count_time``
    Doppler count interval, s (0 for other kinds).
``uplink_band``, ``downlink_band``
    ``"X"`` or ``"Ka"`` (used for turnaround ratios, media and TDM metadata).
``pass_id``
    An integer naming the tracking pass (per-pass range biases); -1 when unknown.

Units are km, s inside, as everywhere in mmxsim.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError

KINDS = ("range", "doppler", "ddor")
BANDS = ("X", "Ka", "S")


@dataclass
class TrackingData:
    """Columnar tracking observations (see module doc). Build with :meth:`from_rows` or directly."""

    kind: np.ndarray
    t: np.ndarray
    receiver: np.ndarray
    value: np.ndarray
    sigma: np.ndarray
    t_lo: np.ndarray = None
    transmitter: np.ndarray = None
    station2: np.ndarray = None
    count_time: np.ndarray = None
    uplink_band: np.ndarray = None
    downlink_band: np.ndarray = None
    pass_id: np.ndarray = None
    meta: dict = field(default_factory=dict)  # free-form provenance (source file, simulator, seed)

    def __post_init__(self):
        n = len(np.atleast_1d(self.t))
        self.kind = np.asarray(self.kind, dtype=object).reshape(n)
        self.t = np.asarray(self.t, dtype=float).reshape(n)
        self.receiver = np.asarray(self.receiver, dtype=object).reshape(n)
        self.value = np.asarray(self.value, dtype=float).reshape(n)
        self.sigma = np.asarray(self.sigma, dtype=float).reshape(n)
        zeros = np.zeros(n)
        self.t_lo = zeros.copy() if self.t_lo is None else np.asarray(self.t_lo, dtype=float).reshape(n)
        self.transmitter = (self.receiver.copy() if self.transmitter is None
                            else np.asarray(self.transmitter, dtype=object).reshape(n))
        self.station2 = (np.full(n, "", dtype=object) if self.station2 is None
                         else np.asarray(self.station2, dtype=object).reshape(n))
        self.count_time = zeros.copy() if self.count_time is None else np.asarray(self.count_time, float).reshape(n)
        self.uplink_band = (np.full(n, "X", dtype=object) if self.uplink_band is None
                            else np.asarray(self.uplink_band, dtype=object).reshape(n))
        self.downlink_band = (np.full(n, "X", dtype=object) if self.downlink_band is None
                              else np.asarray(self.downlink_band, dtype=object).reshape(n))
        self.pass_id = (np.full(n, -1, dtype=int) if self.pass_id is None
                        else np.asarray(self.pass_id, dtype=int).reshape(n))
        self.validate()

    # -- checks ------------------------------------------------------------------------------
    def validate(self) -> None:
        """InputError naming the column and the first bad row."""
        def bad(col, i, allowed):
            raise InputError(f"tracking data {col} (row {int(i)})", getattr(self, col)[i], allowed)

        for i in np.flatnonzero(~np.isin(self.kind, KINDS)):
            bad("kind", i, ", ".join(KINDS))
        for col in ("t", "t_lo", "value", "sigma", "count_time"):
            for i in np.flatnonzero(~np.isfinite(getattr(self, col))):
                bad(col, i, "a finite number")
        for i in np.flatnonzero(self.sigma <= 0):
            bad("sigma", i, "> 0 (noise 1-sigma in km, km/s or s)")
        for i in np.flatnonzero(np.abs(self.t_lo) >= 1e-3):
            bad("t_lo", i, "|t_lo| < 1 ms (the small part of a two-part epoch)")
        dop = self.kind == "doppler"
        for i in np.flatnonzero(dop & (self.count_time <= 0)):
            bad("count_time", i, "> 0 s for Doppler")
        for i in np.flatnonzero(~dop & (self.count_time != 0)):
            bad("count_time", i, "0 for range and ddor")
        ddor = self.kind == "ddor"
        for i in np.flatnonzero(ddor & ((self.station2 == "") | (self.station2 == self.receiver))):
            bad("station2", i, "a second receiving station, different from the receiver, for ddor")
        for col in ("uplink_band", "downlink_band"):
            for i in np.flatnonzero(~np.isin(getattr(self, col), BANDS)):
                bad(col, i, ", ".join(BANDS))
        for col in ("receiver", "transmitter"):
            for i in np.flatnonzero(np.asarray([not isinstance(s, str) or not s for s in getattr(self, col)], bool)):
                bad(col, i, "a station name")

    # -- table operations ----------------------------------------------------------------------
    _COLUMNS = ("kind", "t", "receiver", "value", "sigma", "t_lo", "transmitter", "station2", "count_time",
                "uplink_band", "downlink_band", "pass_id")

    def __len__(self) -> int:
        return len(self.t)

    def select(self, index) -> "TrackingData":
        """Rows ``index`` (boolean mask or integer array), in that order."""
        return TrackingData(**{c: getattr(self, c)[index] for c in self._COLUMNS}, meta=dict(self.meta))

    def sorted(self) -> "TrackingData":
        """Rows in time order (stable: ties keep their order)."""
        return self.select(np.lexsort((self.t_lo, self.t)))

    def with_values(self, value) -> "TrackingData":
        """The same rows with new observed values (e.g. simulated)."""
        out = self.select(np.arange(len(self)))
        out.value = np.asarray(value, dtype=float).reshape(len(self))
        out.validate()
        return out

    @staticmethod
    def concatenate(parts) -> "TrackingData":
        parts = [p for p in parts if len(p)]
        if not parts:
            return TrackingData.empty()
        meta = {}
        for p in parts:
            meta.update(p.meta)
        return TrackingData(**{c: np.concatenate([getattr(p, c) for p in parts]) for c in TrackingData._COLUMNS},
                            meta=meta)

    @staticmethod
    def empty() -> "TrackingData":
        return TrackingData(kind=[], t=[], receiver=[], value=[], sigma=[])

    def stations(self) -> list[str]:
        """Every station named in the table, sorted."""
        names = set(self.receiver) | set(self.transmitter) | {s for s in self.station2 if s}
        return sorted(names)

    def epochs(self) -> np.ndarray:
        """Receive epochs as one float (loses the small part: for display and sorting only)."""
        return self.t + self.t_lo

    def __eq__(self, other) -> bool:
        if not isinstance(other, TrackingData) or len(self) != len(other):
            return False
        return all(np.array_equal(getattr(self, c), getattr(other, c)) for c in self._COLUMNS)


__all__ = ["TrackingData", "KINDS", "BANDS"]
