"""Epochs: astropy ``Time`` at the edge, TDB seconds past J2000 inside.

No downloads, ever: astropy's IERS auto-download is switched off before this module
first uses astropy, so astropy uses the leap-second and IERS tables that the
``astropy-iers-data`` package ships.

>>> from mmxsim.time import Epoch, iso_tdb
>>> float(Epoch("2000-01-01T12:00:00", scale="tdb").tdb)
0.0
>>> abs(float(Epoch("2000-01-01T11:58:55.816", scale="utc").tdb)) < 1e-3  # TDB - UTC = 64.184 s in 2000
True
>>> iso_tdb(86400.0)
'2000-01-02T12:00:00.000'
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import Iterable

import numpy as np

from .errors import InputError

J2000_JD = 2451545.0

#: ERFA's "dubious year" warning, filtered out (that message only, from any ERFA function), for the
#: whole process, when this module is imported: it says a UTC date lies beyond the leap-second
#: table, which for a mission planned years ahead is every date, and tells a user nothing they can
#: act on. What it means is stated where it matters: a run's assumptions say that UTC is converted
#: with the shipped table and that no leap second is assumed after its last entry.
DUBIOUS_YEAR = r'ERFA function "\w+" yielded .*dubious year'
warnings.filterwarnings("ignore", message=DUBIOUS_YEAR)
SCALES = ("utc", "tt", "tdb", "tai")
_configured = False


def configure_astropy() -> None:
    """Configure astropy for offline use, once: no IERS download (the bundled tables only), no
    maximum age, degraded accuracy a warning. Called by every function here that uses astropy;
    call it before using astropy's IERS tables directly.

    ERFA's "dubious year" warning is filtered when this module is imported (see
    :data:`DUBIOUS_YEAR`)."""
    global _configured
    if _configured:
        return
    from astropy.utils import iers

    iers.conf.auto_download = False
    iers.conf.auto_max_age = None
    iers.conf.iers_degraded_accuracy = "warn"
    try:  # astropy >= 5: leap seconds from the bundled table only
        from astropy.utils.iers import LeapSeconds  # noqa: F401

        iers.conf.remote_timeout = 0.0
    except Exception:  # pragma: no cover
        pass
    _configured = True


def astropy_time(value, scale: str = "utc"):
    """An astropy Time from an ISO string (or list), with our offline configuration."""
    configure_astropy()
    from astropy.time import Time

    if scale not in SCALES:
        raise InputError("time scale", scale, ", ".join(SCALES))
    try:
        return Time(value, scale=scale)
    except (ValueError, TypeError) as exc:
        raise InputError("epoch", value, f"an ISO 8601 date such as '2027-09-01T00:00:00' ({exc})") from None


class Epoch:
    """One epoch or an array of epochs.

    Parameters
    ----------
    value : str, sequence of str, astropy Time, or float
        ISO 8601 string(s) in ``scale``; an astropy ``Time``; or TDB seconds past
        J2000 when ``scale='tdb_seconds'``.
    scale : {'utc', 'tt', 'tdb', 'tai', 'tdb_seconds'}
    """

    __slots__ = ("tdb",)

    def __init__(self, value, scale: str = "utc"):
        if scale == "tdb_seconds":
            self.tdb = np.asarray(value, dtype=float)
            return
        configure_astropy()
        from astropy.time import Time

        t = value if isinstance(value, Time) else astropy_time(value, scale)
        tdb = t.tdb
        self.tdb = ((tdb.jd1 - J2000_JD) + tdb.jd2) * 86400.0

    @classmethod
    def from_tdb_seconds(cls, seconds) -> "Epoch":
        return cls(seconds, scale="tdb_seconds")

    @property
    def astropy(self):
        """The epoch(s) as an astropy ``Time`` in TDB."""
        configure_astropy()
        from astropy.time import Time

        day = np.floor(self.tdb / 86400.0)
        return Time(J2000_JD + day, (self.tdb - day * 86400.0) / 86400.0, format="jd", scale="tdb")

    def iso(self, scale: str = "tdb", precision: int = 3):
        """ISO 8601 string(s) of the epoch in ``scale``."""
        t = getattr(self.astropy, scale)
        t.precision = precision
        return t.isot

    def __len__(self) -> int:
        return int(np.size(self.tdb))

    def __repr__(self) -> str:
        iso = self.iso()
        return f"Epoch({iso!r} TDB)" if np.ndim(self.tdb) == 0 else f"Epoch([{len(self)} epochs] TDB)"


def to_tdb_seconds(value, scale: str = "utc") -> np.ndarray:
    """TDB seconds past J2000 of ISO string(s) given in ``scale``."""
    return Epoch(value, scale).tdb


@lru_cache(maxsize=256)
def tdb_seconds(iso: str, scale: str = "utc") -> float:
    """TDB seconds past J2000 of one ISO string in ``scale`` (utc, tt, tdb; any case), cached.

    ERFA's "dubious year" warning (UTC beyond the leap-second table) is silenced: scenario
    epochs and plan dates lie years ahead."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(Epoch(iso, scale=scale.lower()).tdb)


def iso_tdb(seconds: Iterable[float] | float, precision: int = 3):
    """ISO 8601 TDB strings for TDB seconds past J2000 (fast path, no astropy; precision 0, 3 or 6)."""
    sec = np.atleast_1d(np.asarray(seconds, dtype=float))
    precision = min(max(int(precision), 0), 6)
    base = np.datetime64("2000-01-01T12:00:00", "us")  # microseconds: valid for +-290,000 years
    q = 10 ** (6 - precision)
    us = (np.round(sec * 1e6 / q) * q).astype("int64")
    dt = base + us.astype("timedelta64[us]")
    unit = {0: "s", 3: "ms", 6: "us"}.get(precision, "ms")
    out = np.datetime_as_string(dt, unit=unit)
    return out if np.ndim(seconds) else str(out[0])


def iso_utc(seconds, precision: int = 3) -> list[str]:
    """ISO 8601 UTC strings of TDB seconds past J2000 (a list, one astropy call; leap seconds
    from the shipped table, ERFA's "dubious year" warning beyond its end silenced)."""
    import warnings

    ts = np.atleast_1d(np.asarray(list(seconds) if isinstance(seconds, (list, tuple)) else seconds, float))
    if ts.size == 0:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [str(x) for x in np.atleast_1d(Epoch.from_tdb_seconds(ts).iso("utc", precision))]


def as_tdb_seconds(t):
    """``t`` with an astropy ``Time`` turned into TDB seconds past J2000 (a float, or an array
    for an array of epochs); anything else is returned unchanged. astropy is not imported."""
    import sys

    at = sys.modules.get("astropy.time")
    if at is not None and isinstance(t, at.Time):
        tdb = Epoch(t).tdb
        return float(tdb) if np.ndim(tdb) == 0 else tdb
    return t


def utc_day(t) -> np.ndarray | int:
    """Whole UTC days since 2000-01-01T00:00 UTC of TDB seconds past J2000 (int, or an int array):
    the UTC date that daily limits (e.g. antenna-hour budgets) count in.

    TDB -> TT with the two-term series of the Explanatory Supplement (USNO Circular 179, eq. 2.6:
    TDB - TT = 1.657 ms sin g + 0.014 ms sin 2g, to ~30 us), then TT -> TAI -> UTC with ERFA and the
    leap-second table shipped by astropy-iers-data (not a fixed TT - UTC): correct on either side of
    a leap second. An epoch within 0.1 ms before midnight counts as the next day (the series' error with
    margin; outputs carry milliseconds). Beyond the table's last entry no new leap second is assumed (ERFA's "dubious year" note
    for such dates is silenced: plan dates lie years ahead)."""
    import warnings

    import erfa

    tdb = np.atleast_1d(np.asarray(t, float))
    g = np.radians(357.53 + 0.98560028 * (tdb / 86400.0))
    tt = tdb - (0.001657 * np.sin(g) + 0.000014 * np.sin(2.0 * g))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", erfa.ErfaWarning)
        tai1, tai2 = erfa.tttai(np.full(tt.shape, 2451545.0), tt / 86400.0)
        u1, u2 = erfa.taiutc(tai1, tai2)
    # quasi-JD of UTC: a day runs from JD n - 0.5 to n + 0.5 (the leap second's day is 86401 s long)
    day = np.floor((u1 - 2451544.5) + u2 + 1e-4 / 86400.0).astype(np.int64)
    return int(day[0]) if np.ndim(t) == 0 else day
