"""Tabulated states of a body about a centre in any frame (``mmxsim ephemeris``)."""

from __future__ import annotations

import math
import warnings

import numpy as np

from .errors import InputError
from .frames import check_frame, rotation_to
from .time import Epoch, iso_tdb

MAX_ROWS = 5_000_000
SCALES = ("utc", "tt", "tdb", "tai")


def _tdb(text, scale: str, option: str) -> float:
    """TDB seconds past J2000 of an ISO epoch given on the command line as ``option``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ERFA "dubious year" far from today: coverage is checked later
        try:
            return float(Epoch(text, scale).tdb)
        except InputError:
            raise InputError(option, text, f"an ISO 8601 epoch such as '2027-09-01T00:00:00' "
                                           f"(time scale {scale.upper()}, see --scale)") from None


def ephemeris_table(body, center, frame, start, stop, step_s, scale="UTC", kernels=()):
    """(ISO TDB strings, (N, 6) states) of ``body`` relative to ``center`` in ``frame``.

    Rotating frames give velocities relative to the rotating axes.
    """
    from .ephemeris import composite, default_ephemeris, spice_ephemeris

    frame = check_frame(frame, "--frame")
    sc = str(scale).lower()
    if sc not in SCALES:  # Epoch also takes 'tdb_seconds', which is not an ISO scale
        raise InputError("--scale", scale, ", ".join(s.upper() for s in SCALES))
    step_s = float(step_s)
    if not (step_s > 0 and math.isfinite(step_s)):
        raise InputError("--step", step_s, "a positive, finite number of seconds")
    t0 = _tdb(start, sc, "--start")
    t1 = _tdb(stop, sc, "--stop")
    if not t1 > t0:
        raise InputError("--stop", stop, f"an epoch after --start ({start})")
    # start and stop are converted to TDB one by one, so a whole number of steps in UTC or
    # TT comes out up to ~30 us short or long in TDB (periodic TDB - TT terms): allow 1 ms,
    # or the row at --stop would be dropped
    slack = min(1e-3, 0.01 * step_s)
    n = int(np.floor((t1 - t0 + slack) / step_s)) + 1
    if n > MAX_ROWS:
        raise InputError("--step", step_s, f"a step giving at most {MAX_ROWS} rows for this span")
    t = t0 + step_s * np.arange(n)
    eph = default_ephemeris()
    if kernels:
        eph = composite(spice_ephemeris(list(kernels)), eph)
    rel = np.atleast_2d(eph.state(body.upper(), center.upper(), t))
    R, dR, _ = rotation_to(frame, t, eph)
    r = np.einsum("nij,nj->ni", R, rel[:, :3])
    v = np.einsum("nij,nj->ni", R, rel[:, 3:]) + np.einsum("nij,nj->ni", dR, rel[:, :3])
    return list(iso_tdb(t)), np.hstack([r, v])
