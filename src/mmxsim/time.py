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

from typing import Iterable

import numpy as np

from .errors import InputError

J2000_JD = 2451545.0
SCALES = ("utc", "tt", "tdb", "tai")
_configured = False


def configure_astropy() -> None:
    """Configure astropy for offline use, once: no IERS download (the bundled tables only), no
    maximum age, degraded accuracy a warning. Called by every function here that uses astropy;
    call it before using astropy's IERS tables directly."""
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
