"""CCSDS Tracking Data Message (TDM 2.0, KVN) written from and read into :class:`TrackingData`.

Model
-----
A TDM (CCSDS 503.0-B-2; keyword list taken from Orekit's all-keywords example, the standard itself
not read: ``../shared/nav-facts.md``) is a header and segments, each a ``META_START``..``META_STOP``
block (participants, path, bands, time system...) and a ``DATA_START``..``DATA_STOP`` block of
``KEYWORD = epoch value`` lines. We write one segment per (data type, receiver, transmitter, second
receiver, bands, count time, sigma, pass) and read any segment layout back.

=====================  ==========================================================================
TrackingData kind      TDM
=====================  ==========================================================================
``range``              ``RANGE`` (``RANGE_UNITS = km``): one-way-equivalent range, c x round-trip
                       light time / 2, km. ``MODE = SEQUENTIAL``, ``PATH = 1,2,1`` (two-way) or
                       ``1,2,3`` (three-way): participant 1 transmits, 2 is the spacecraft.
``doppler``            ``DOPPLER_INTEGRATED`` (km/s): mean range rate over the count interval,
                       **positive when the range increases** (receding spacecraft), the sign of
                       TDM range rates; ``INTEGRATION_INTERVAL`` = count time,
                       ``INTEGRATION_REF = END`` (the tag is the end of the count).
``ddor``               ``DOR`` (s): ``MODE = SINGLE_DIFF``, ``PATH_1 = 1,2``, ``PATH_2 = 1,3``
                       (participant 1 the spacecraft): delay at the receiver (participant 2) minus
                       delay at ``station2`` (participant 3).
=====================  ==========================================================================

Epochs are the receive time tags (``TIMETAG_REF = RECEIVE``). They are written and read with exact
arithmetic (integer seconds and :class:`fractions.Fraction`; many epochs at once as integers in units of
2^-1080 x 1e-30 s, the same strings), never through one float or a one-part
Julian date: UTC <-> TAI with the leap-second table of ERFA (``erfa.dat``, exact integer seconds;
a time inside a leap second, ``23:59:60.x``, is handled), TT = TAI + 32.184 s, GPS = TAI - 19 s
(definitions), and TDB - TT from ERFA's ``dtdb`` (Fairhead & Bretagnon series, geocentre, as
astropy does). Reading an epoch gives the two-part TDB epoch ``t + t_lo`` as the float nearest the exact value
and the rounded remainder (normal form). Epochs are written with 12 decimals of the second (1 ps),
or more (24, 27 or 30) where an epoch needs them for :func:`read_tdm` to give back ``t`` and ``t_lo``
bit for bit, so **a round trip is bit-exact**: ``read_tdm(write_tdm(d)) == tdm_order(d)``
(``tdm_order`` puts rows in the reader's order and epochs in normal form). Epochs on a grid of
the file's time system (every epoch read from a TDM, schedules made with :func:`parse_epochs`)
need no more than 12 decimals. Values are written with 17 significant digits (every float64 reads
back bit for bit).

Sigma is not a TDM field: each segment we write carries ``COMMENT MMXSIM SIGMA = <value> <unit>``
(and ``COMMENT MMXSIM PASS = <id>``; for ΔDOR ``COMMENT MMXSIM UPLINK_BAND``), which
:func:`read_tdm` understands; for files written by other tools the sigmas come from the ``noise``
mapping (kind -> sigma in km, km/s or s).

Simplifications
---------------
* ``RANGE_UNITS = s`` is read as the round-trip light time of a two- or three-way path (km =
  c s / 2); ``RU`` needs ``range_unit_km`` (km per range unit: it depends on the uplink frequency).
* ``RANGE_MODULUS`` is recorded, not applied (ranges are assumed already resolved); we write 0.
* ``CORRECTION_*`` keywords are recorded in ``meta``, not applied.
* ``DOPPLER_INSTANTANEOUS``, frequencies as observables (``RECEIVE_FREQ_n``), angles, VLBI delay,
  clock and media data are refused (not modelled); ``TRANSMIT_FREQ_n`` lines are recorded in
  ``meta['transmit_freq']`` (we write them when ``frequencies`` is given).
* Turnaround ratios (X/X 880/749, X-up Ka-down 3344/749, S/S 240/221) are written as metadata only;
  they are UNCONFIRMED here (``../shared/nav-facts.md``) and the file says so in a comment.

Sources: CCSDS 503.0-B-2 (TDM), keyword list via Orekit's ``TDMExampleAllKeywordsSequential.txt``;
IERS Conventions 2010 ch. 10 (TT - TAI = 32.184 s); ERFA (SOFA) ``dat``, ``dtdb``.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
import warnings
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import DataFileError, InputError
from .data import BANDS, KINDS, TrackingData

__all__ = ["write_tdm", "save_tdm", "read_tdm", "parse_epochs", "format_epochs", "normalize_epochs", "tdm_order",
           "TURNAROUND", "TIME_SYSTEMS", "MAX_BYTES"]

#: Speed of light, km/s (SI definition of the metre, exact).
C_KM_S = 299792.458
#: TT - TAI, s (exact by definition; IERS Conventions 2010, ch. 10).
TT_MINUS_TAI = Fraction("32.184")
#: TAI - GPS time, s (exact by definition of GPS time: GPS = TAI - 19 s).
TAI_MINUS_GPS = Fraction(19)
#: Turnaround ratios (numerator, denominator) by (uplink, downlink) band. UNCONFIRMED: X/X 880/749
#: and X-up Ka-down 3344/749 as the brief gives them (``../shared/nav-facts.md``); S/S 240/221 the
#: usual deep-space value. Metadata only: the observables are range rates, not frequencies.
TURNAROUND = {("X", "X"): (880, 749), ("X", "Ka"): (3344, 749), ("S", "S"): (240, 221)}
TIME_SYSTEMS = ("UTC", "TAI", "TT", "GPS", "TDB")
#: Largest TDM read (bytes): ~10^6 observations; pass ``max_bytes`` for more.
MAX_BYTES = 100_000_000

_DATA_KEYWORD = {"range": "RANGE", "doppler": "DOPPLER_INTEGRATED", "ddor": "DOR"}
_KIND_OF = {v: k for k, v in _DATA_KEYWORD.items()}
_UNIT = {"range": "km", "doppler": "km/s", "ddor": "s"}
_HEADER_KEYS = {"CCSDS_TDM_VERS", "CREATION_DATE", "ORIGINATOR", "MESSAGE_ID"}
_META_KEYS = {
    "TRACK_ID", "DATA_TYPES", "TIME_SYSTEM", "START_TIME", "STOP_TIME", "MODE", "PATH", "PATH_1", "PATH_2",
    "EPHEMERIS_NAME_1", "EPHEMERIS_NAME_2", "EPHEMERIS_NAME_3", "EPHEMERIS_NAME_4", "EPHEMERIS_NAME_5",
    "TRANSMIT_BAND", "RECEIVE_BAND", "TURNAROUND_NUMERATOR", "TURNAROUND_DENOMINATOR", "TIMETAG_REF",
    "INTEGRATION_INTERVAL", "INTEGRATION_REF", "FREQ_OFFSET", "RANGE_MODE", "RANGE_MODULUS", "RANGE_UNITS",
    "ANGLE_TYPE", "REFERENCE_FRAME", "INTERPOLATION", "INTERPOLATION_DEGREE", "DOPPLER_COUNT_BIAS",
    "DOPPLER_COUNT_SCALE", "DOPPLER_COUNT_ROLLOVER", "TRANSMIT_DELAY_1", "TRANSMIT_DELAY_2",
    "TRANSMIT_DELAY_3", "TRANSMIT_DELAY_4", "TRANSMIT_DELAY_5", "RECEIVE_DELAY_1", "RECEIVE_DELAY_2",
    "RECEIVE_DELAY_3", "RECEIVE_DELAY_4", "RECEIVE_DELAY_5", "DATA_QUALITY", "CORRECTION_ANGLE_1",
    "CORRECTION_ANGLE_2", "CORRECTION_DOPPLER", "CORRECTION_MAG", "CORRECTION_RANGE", "CORRECTION_RCS",
    "CORRECTION_RECEIVE", "CORRECTION_TRANSMIT", "CORRECTION_ABERRATION_YEARLY",
    "CORRECTION_ABERRATION_DIURNAL", "CORRECTIONS_APPLIED",
} | {f"PARTICIPANT_{i}" for i in range(1, 6)}
_UNMODELLED_DATA = re.compile(
    r"^(DOPPLER_INSTANTANEOUS|DOPPLER_COUNT|RECEIVE_FREQ(_\d)?|RECEIVE_PHASE_CT_\d|TRANSMIT_PHASE_CT_\d|"
    r"TRANSMIT_FREQ_RATE_\d|VLBI_DELAY|ANGLE_[12]|MAG|RCS|PC_N0|PR_N0|CARRIER_POWER|CLOCK_BIAS|CLOCK_DRIFT|"
    r"STEC|TROPO_DRY|TROPO_WET|PRESSURE|RHUMIDITY|TEMPERATURE)$")
_TRANSMIT_FREQ = re.compile(r"^TRANSMIT_FREQ_(\d)$")
_ISO = re.compile(r"^([+-]?\d{4})-(?:(\d{2})-(\d{2})|(\d{3}))T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z?$")
_J2000_DATE = _dt.date(2000, 1, 1)


# -- epochs: exact arithmetic -------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _leap(days: int) -> int:
    """TAI - UTC (whole s, from ERFA's table) at 0h UTC of the day ``days`` after 2000-01-01."""
    import erfa

    d = _J2000_DATE + _dt.timedelta(days=days)
    if d.year < 1972:
        raise InputError("TDM epoch", d.isoformat(), "UTC dates from 1972 on (before, UTC had rubber seconds)")
    with warnings.catch_warnings():  # "dubious year": beyond the table no new leap second is assumed
        warnings.simplefilter("ignore")
        return int(erfa.dat(d.year, d.month, d.day, 0.0))


def _dtdb(tt_seconds: Fraction) -> float:
    """TDB - TT, s, at TT seconds past J2000 (ERFA dtdb, geocentre, as astropy)."""
    import erfa

    return float(erfa.dtdb(2451545.0, float(tt_seconds) / 86400.0, 0.0, 0.0, 0.0, 0.0))


def _split(exact: Fraction) -> tuple[float, float]:
    hi = float(exact)  # correctly rounded
    return hi, float(exact - Fraction(hi))


def _parse_one(text: str, system: str, shift: Fraction = Fraction(0)) -> Fraction:
    """Exact TDB seconds past J2000 of one epoch string in ``system``, plus ``shift`` seconds of
    that time scale (added before TDB - TT is applied)."""
    m = _ISO.match(text.strip())
    if not m:
        raise ValueError(f"epoch {text!r} is not YYYY-MM-DDThh:mm:ss[.f] or YYYY-DDDThh:mm:ss[.f]")
    year = int(m.group(1))
    if m.group(4):
        date = _dt.date(year, 1, 1) + _dt.timedelta(days=int(m.group(4)) - 1)
    else:
        date = _dt.date(year, int(m.group(2)), int(m.group(3)))
    hh, mm, ss = int(m.group(5)), int(m.group(6)), int(m.group(7))
    if hh > 23 or mm > 59 or ss > 60 or (ss == 60 and system != "UTC"):
        raise ValueError(f"epoch {text!r}: time of day out of range")
    days = (date - _J2000_DATE).days
    sod = Fraction(hh * 3600 + mm * 60 + ss) + (Fraction(m.group(8)) if m.group(8) else 0)
    if system == "UTC":
        if ss == 60 and (hh, mm) != (23, 59) or ss == 60 and _leap(days + 1) == _leap(days):
            raise ValueError(f"epoch {text!r}: second 60 outside a leap second")
        x = days * 86400 - 43200 + sod + _leap(days) + TT_MINUS_TAI
    else:
        x = days * 86400 - 43200 + sod
        x += {"TAI": TT_MINUS_TAI, "GPS": TT_MINUS_TAI + TAI_MINUS_GPS}.get(system, 0)
    x += shift
    if system == "TDB":
        return x
    return x + Fraction(_dtdb(x))


def parse_epochs(strings, time_system: str = "UTC") -> tuple[np.ndarray, np.ndarray]:
    """Two-part TDB epochs ``(t, t_lo)`` (s past J2000) of CCSDS epoch strings in ``time_system``.

    Exact: ``t`` is the float nearest the epoch, ``t_lo`` the rounded remainder. Use it to build
    schedules whose TDM round trip is bit-exact (see module doc)."""
    system = _system(time_system)
    t, lo = [], []
    for s in strings:
        try:
            a, b = _split(_parse_one(str(s), system))
        except ValueError as exc:
            raise InputError("TDM epoch", s, f"a CCSDS epoch ({exc})") from None
        t.append(a)
        lo.append(b)
    return np.asarray(t, float), np.asarray(lo, float)


def _system(time_system: str) -> str:
    system = str(time_system).strip().upper()
    if system not in TIME_SYSTEMS:
        raise InputError("TDM TIME_SYSTEM", time_system, ", ".join(TIME_SYSTEMS))
    return system


def _in_scale(exact_tdb: Fraction, system: str) -> Fraction:
    """Exact seconds past J2000 (12:00 of 2000-01-01 on that scale's clock) in ``system``; for UTC
    the TAI seconds (the UTC day is found when formatting)."""
    x = exact_tdb
    if system != "TDB":
        tt = x - Fraction(_dtdb(x))
        tt = x - Fraction(_dtdb(tt))  # dtdb changes by < 1e-12 s between the two arguments
        x = tt - {"UTC": TT_MINUS_TAI, "TAI": TT_MINUS_TAI, "GPS": TT_MINUS_TAI + TAI_MINUS_GPS, "TT": 0}[system]
    return x


def _format_one(exact_tdb: Fraction, system: str, decimals: int, x: Fraction | None = None) -> str:
    if x is None:
        x = _in_scale(exact_tdb, system)
    return _format_ticks(round(x * 10**decimals), system, decimals)  # exact rounding, half to even


def _format_ticks(ticks: int, system: str, decimals: int) -> str:
    """The epoch string of ``ticks`` units of ``10**-decimals`` s past J2000 on ``system``'s clock
    (TAI seconds for UTC, as :func:`_in_scale` gives)."""
    scale = 10**decimals
    if system == "UTC":  # ticks are TAI: find the UTC day that holds them (a leap second day is 86401 s)
        day0 = (ticks // scale + 43200) // 86400
        for day in (day0 - 1, day0, day0 + 1):
            start = (day * 86400 - 43200 + _leap(day)) * scale
            length = (86400 + _leap(day + 1) - _leap(day)) * scale
            if start <= ticks < start + length:
                break
        else:  # pragma: no cover - the table is monotonic
            raise InputError("TDM epoch", ticks / scale, "a UTC epoch inside ERFA's leap-second table")
        sod_ticks = ticks - start
    else:
        day, sod_ticks = divmod(ticks + 43200 * scale, 86400 * scale)
    whole, frac = divmod(sod_ticks, scale)
    hh, rest = divmod(whole, 3600)
    mm, ss = divmod(rest, 60)
    if hh == 24:  # inside a leap second: 23:59:60.x
        hh, mm, ss = 23, 59, 60
    date = _J2000_DATE + _dt.timedelta(days=int(day))
    text = f"{date.isoformat()}T{hh:02d}:{mm:02d}:{ss:02d}"
    return text + (f".{frac:0{decimals}d}" if decimals else "")


def format_epochs(t, t_lo=None, time_system: str = "UTC", decimals: int | None = None) -> list[str]:
    """CCSDS epoch strings (``YYYY-MM-DDThh:mm:ss.f``) of two-part TDB epochs in ``time_system``.

    ``decimals`` digits of the second (exact rounding); ``None`` (default): 12, or more (24, 27,
    30) for an epoch that needs them so that :func:`parse_epochs` gives back ``t`` and
    ``t_lo`` bit for bit (two-part epochs in normal form, see :func:`normalize_epochs`)."""
    system = _system(time_system)
    if decimals is not None:
        decimals = int(decimals)
        if not 0 <= decimals <= 30:
            raise InputError("epoch_decimals", decimals, "0 to 30, or None (12, more where exactness needs)")
    t = np.atleast_1d(np.asarray(t, float))
    lo = np.zeros_like(t) if t_lo is None else np.atleast_1d(np.asarray(t_lo, float))
    if decimals is None and t.size and np.all(np.isfinite(t)) and np.all(np.isfinite(lo)):
        return _format_exact(t, np.broadcast_to(lo, t.shape), system)
    out = []
    for a, b in zip(t.tolist(), lo.tolist()):
        exact = Fraction(a) + Fraction(b)
        if decimals is not None:
            out.append(_format_one(exact, system, decimals))
            continue
        target = _split(exact)
        x = _in_scale(exact, system)
        for dec in (12, 24, 27, 30):
            text = _format_one(exact, system, dec, x)
            if _split(_parse_one(text, system)) == target:
                break
        out.append(text)  # at 30 decimals the epoch is exact to 1e-30 s even if not bit for bit
    return out


# The same epochs as the loop of format_epochs (decimals None), for many epochs at once: every
# quantity an integer number of 1/_Q s (_Q = 2**1080 * 10**30 holds every float64, the 10**-30 s of
# the longest epoch string and TT - TAI = 32.184 s exactly), ERFA's dtdb called once per array, and
# the round trip checked arithmetically: the string of ``ticks`` (10**-d s on the system's clock,
# see _format_ticks) reads back (_parse_one) as ticks / 10**d + the system's offset to TT, plus
# TDB - TT of that unless the system is TDB. Equal to the loop string for string (tests/navigation/test_tdm.py).
_Q = 2**1080 * 10**30


def _q(v) -> int:
    """``v`` (a float or a Fraction whose denominator divides _Q) in units of 1/_Q, exactly."""
    n, d = v.as_integer_ratio()
    return n * (_Q // d)


def _round_q(n: int, scale: int) -> int:
    """round(n / _Q * scale), half to even (as Fraction.__round__)."""
    q, r = divmod(n * scale, _Q)
    if 2 * r > _Q or (2 * r == _Q and q % 2):
        q += 1
    return q


def _dtdb_q(nums: list, known: dict) -> list:
    """TDB - TT (as :func:`_dtdb`) at TT ``nums`` (units of 1/_Q), in units of 1/_Q; ``known``:
    float argument -> value already computed (a function of the float argument alone), updated."""
    import erfa

    f = [n / _Q for n in nums]  # correctly rounded, as float(Fraction)
    new = sorted({v for v in f if v not in known})
    if new:
        d = erfa.dtdb(2451545.0, np.array(new) / 86400.0, 0.0, 0.0, 0.0, 0.0)
        known.update(zip(new, (_q(v) for v in np.atleast_1d(d).tolist())))
    return [known[v] for v in f]


def _format_exact(t: np.ndarray, lo: np.ndarray, system: str) -> list[str]:
    offset = {"UTC": TT_MINUS_TAI, "TAI": TT_MINUS_TAI, "GPS": TT_MINUS_TAI + TAI_MINUS_GPS, "TT": Fraction(0),
              "TDB": Fraction(0)}[system]
    off = _q(offset)
    known: dict = {}  # dtdb's float argument -> value: the read-back epochs mostly round to the TT ones
    exact = [_q(a) + _q(b) for a, b in zip(t.tolist(), lo.tolist())]
    hi = [n / _Q for n in exact]
    target = [(h, (n - _q(h)) / _Q) for n, h in zip(exact, hi)]
    if system == "TDB":
        x = exact
    else:  # _in_scale
        tt = [n - d for n, d in zip(exact, _dtdb_q(exact, known))]
        x = [n - d - off for n, d in zip(exact, _dtdb_q(tt, known))]
    out: list = [None] * len(exact)
    todo = list(range(len(exact)))
    for dec in (12, 24, 27, 30):
        scale = 10**dec
        ticks = [_round_q(x[i], scale) for i in todo]
        back = [k * (_Q // scale) + off for k in ticks]
        if system != "TDB":
            back = [n + d for n, d in zip(back, _dtdb_q(back, known))]
        left = []
        for i, k, n in zip(todo, ticks, back):
            h = n / _Q
            if dec == 30 or (h, (n - _q(h)) / _Q) == target[i]:
                out[i] = _format_ticks(k, system, dec)
            else:
                left.append(i)
        todo = left
        if not todo:
            break
    return out


def normalize_epochs(t, t_lo) -> tuple[np.ndarray, np.ndarray]:
    """Two-part epochs in normal form: ``t`` the float nearest ``t + t_lo``, ``t_lo`` the exact
    remainder (Fast2Sum, exact since ``|t_lo| < |t|`` or ``t_lo`` = 0): the form :func:`read_tdm`
    returns."""
    t = np.asarray(t, float)
    lo = np.asarray(t_lo, float)
    hi = t + lo
    return hi, (t - hi) + lo


# -- writer ---------------------------------------------------------------------------------------


def _ascii(text: object) -> str:
    s = unicodedata.normalize("NFKD", str(text)).encode("ascii", "replace").decode("ascii")
    return " ".join("".join(ch if 32 <= ord(ch) < 127 else " " for ch in s).split())


def _name(text: object, field: str) -> str:
    s = _ascii(text)
    if not s or "=" in s:
        raise InputError(field, text, "a non-empty ASCII name without '='")
    return s


def _keys(data: TrackingData) -> list[tuple]:
    return [(data.kind[i], data.receiver[i], data.transmitter[i], data.station2[i], data.uplink_band[i],
             data.downlink_band[i], float(data.count_time[i]), float(data.sigma[i]), int(data.pass_id[i]))
            for i in range(len(data))]


def tdm_order(data: TrackingData) -> TrackingData:
    """``data`` in the order :func:`read_tdm` returns a file written from it: by epoch; at equal
    epochs by segment (segments ordered by first epoch, then by their metadata), then as given.
    Epochs are put in normal form (:func:`normalize_epochs`). ``read_tdm(write_tdm(d)) ==
    tdm_order(d)`` bit for bit; it is ``d`` itself when ``d`` is already in that order and form."""
    n = len(data)
    if n == 0:
        return data
    hi, lo = normalize_epochs(data.t, data.t_lo)
    data = data.select(np.arange(n))
    data.t, data.t_lo = hi, lo
    keys = _keys(data)
    first: dict[tuple, tuple] = {}
    for i, k in enumerate(keys):
        e = (data.t[i], data.t_lo[i])
        if k not in first or e < first[k]:
            first[k] = e
    ranked = sorted(first, key=lambda k: (first[k], tuple(map(str, k))))
    rank = {k: r for r, k in enumerate(ranked)}
    seg = np.array([rank[k] for k in keys])
    return data.select(np.lexsort((np.arange(n), seg, data.t_lo, data.t)))


def _fmt(x: float) -> str:
    return "%.16e" % x


def write_tdm(data: TrackingData, *, originator: str = "MMXSIM", time_system: str = "UTC",
              frequencies: dict | None = None, message_id: str | None = None, comment=None,
              spacecraft: str = "MMX", data_quality: str = "RAW", creation_date: str | None = None,
              epoch_decimals: int | None = None) -> str:
    """KVN text of a CCSDS TDM 2.0 holding ``data`` (see module doc for the mapping).

    Parameters
    ----------
    data : TrackingData
    originator, message_id : str
        Header ``ORIGINATOR`` and ``MESSAGE_ID`` (default ``MMXSIM-<first epoch>``).
    time_system : {'UTC', 'TDB', 'TAI', 'TT', 'GPS'}
        ``TIME_SYSTEM`` of every epoch in the file.
    frequencies : dict, optional
        Station -> uplink frequency, Hz: written as a ``TRANSMIT_FREQ_1`` line at the first epoch of
        each range and Doppler segment that station transmits in.
    comment : str or list of str, optional
        Header ``COMMENT`` lines.
    spacecraft : str
        Participant name of the spacecraft.
    data_quality : {'RAW', 'VALIDATED', 'DEGRADED'}
    creation_date : str, optional
        ``CREATION_DATE`` (UTC), now by default.
    epoch_decimals : int, optional
        Decimals of the second in epochs; default: 12 (1 ps), more where an epoch needs them for
        a bit-exact round trip (see module doc).
    """
    if not isinstance(data, TrackingData):
        raise InputError("write_tdm data", type(data).__name__, "a TrackingData")
    if len(data) == 0:
        raise InputError("write_tdm data", "0 rows", "at least one observation")
    system = _system(time_system)
    quality = str(data_quality).upper()
    if quality not in ("RAW", "VALIDATED", "DEGRADED"):
        raise InputError("data_quality", data_quality, "RAW, VALIDATED, DEGRADED")
    sc = _name(spacecraft, "spacecraft")
    frequencies = dict(frequencies or {})
    for st, f in frequencies.items():
        if not (isinstance(f, (int, float)) and np.isfinite(f) and f > 0):
            raise InputError(f"frequencies[{st!r}]", f, "an uplink frequency in Hz, > 0")
    d = tdm_order(data)
    eps = format_epochs(d.t, d.t_lo, system, epoch_decimals)
    if creation_date is None:
        creation_date = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    lines = ["CCSDS_TDM_VERS = 2.0"]
    comments = [comment] if isinstance(comment, str) else list(comment or ())
    for c in comments:
        if _ascii(c):
            lines.append(f"COMMENT {_ascii(c)}")
    lines += [f"CREATION_DATE = {_name(creation_date, 'creation_date')}",
              f"ORIGINATOR = {_name(originator, 'originator')}",
              f"MESSAGE_ID = {_name(message_id or 'MMXSIM-' + eps[0][:19], 'message_id')}", ""]

    keys = _keys(d)
    order: list[tuple] = []
    rows: dict[tuple, list[int]] = {}
    for i, k in enumerate(keys):
        if k not in rows:
            rows[k] = []
            order.append(k)
        rows[k].append(i)
    for k in order:
        kind, rx, tx, st2, up, down, count, sigma, pass_id = k
        idx = rows[k]
        lines += ["META_START",
                  f"COMMENT MMXSIM SIGMA = {_fmt(sigma)} {_UNIT[kind]}",
                  f"COMMENT MMXSIM PASS = {pass_id}"]
        if kind != "ddor" and (up, down) in TURNAROUND:
            lines.append("COMMENT turnaround ratio UNCONFIRMED (mmxsim default, not from a transponder ICD)")
        if kind == "range":
            lines.append("COMMENT RANGE is one-way-equivalent range: c x round-trip light time / 2, km")
        if kind == "doppler":
            lines.append("COMMENT DOPPLER_INTEGRATED is the mean range rate over the count, "
                         "positive for increasing range, km/s")
        if kind == "ddor":
            lines.append(f"COMMENT MMXSIM UPLINK_BAND = {up}")  # not a DOR attribute; kept for the round trip
            lines.append("COMMENT DOR is the delay at PARTICIPANT_2 minus the delay at PARTICIPANT_3, s")
        lines += [f"TRACK_ID = PASS_{pass_id}" if pass_id >= 0 else "TRACK_ID = NONE",
                  f"DATA_TYPES = {_DATA_KEYWORD[kind]}",
                  f"TIME_SYSTEM = {system}",
                  f"START_TIME = {eps[idx[0]]}",
                  f"STOP_TIME = {eps[idx[-1]]}"]
        if kind == "ddor":
            lines += [f"PARTICIPANT_1 = {sc}", f"PARTICIPANT_2 = {_name(rx, 'receiver')}",
                      f"PARTICIPANT_3 = {_name(st2, 'station2')}", "MODE = SINGLE_DIFF",
                      "PATH_1 = 1,2", "PATH_2 = 1,3", f"RECEIVE_BAND = {down}"]
        else:
            lines += [f"PARTICIPANT_1 = {_name(tx, 'transmitter')}", f"PARTICIPANT_2 = {sc}"]
            if rx != tx:
                lines.append(f"PARTICIPANT_3 = {_name(rx, 'receiver')}")
            lines += ["MODE = SEQUENTIAL", "PATH = 1,2,1" if rx == tx else "PATH = 1,2,3",
                      f"TRANSMIT_BAND = {up}", f"RECEIVE_BAND = {down}"]
            if (up, down) in TURNAROUND:
                num, den = TURNAROUND[(up, down)]
                lines += [f"TURNAROUND_NUMERATOR = {num}", f"TURNAROUND_DENOMINATOR = {den}"]
        lines.append("TIMETAG_REF = RECEIVE")
        if kind == "doppler":
            lines += [f"INTEGRATION_INTERVAL = {count!r}", "INTEGRATION_REF = END"]
        if kind == "range":
            lines += ["RANGE_MODE = COHERENT", "RANGE_MODULUS = 0", "RANGE_UNITS = km"]
        # no blank line before DATA_START: ccsds-ndm-py 0.0.9 refuses one there
        lines += [f"DATA_QUALITY = {quality}", "META_STOP", "DATA_START"]
        if kind != "ddor" and tx in frequencies:
            lines.append(f"TRANSMIT_FREQ_1 = {eps[idx[0]]} {_fmt(float(frequencies[tx]))}")
        word = _DATA_KEYWORD[kind]
        lines += [f"{word} = {eps[i]} {_fmt(d.value[i])}" for i in idx]
        lines += ["DATA_STOP", ""]
    return "\n".join(lines)


def save_tdm(path, data: TrackingData, **options) -> Path:
    """Write :func:`write_tdm`'s text to ``path`` atomically; returns the path."""
    from ..files import atomic_write

    path = Path(path)
    return atomic_write(path, write_tdm(data, **options).encode("ascii"))


# -- reader ---------------------------------------------------------------------------------------


def _kv(line: str):
    if "=" not in line:
        return None
    k, v = line.split("=", 1)
    return k.strip(), v.strip()


def read_tdm(text_or_path, *, noise: dict | None = None, spacecraft: str | None = None,
             range_unit_km: float | None = None, max_bytes: int = MAX_BYTES) -> TrackingData:
    """Read a CCSDS TDM (KVN, version 1.0 or 2.0) into :class:`TrackingData`.

    Parameters
    ----------
    text_or_path : str or Path
        The KVN text, or a path to it (a ``Path``, or a string without a line break).
    noise : dict, optional
        Kind (``range``, ``doppler``, ``ddor``) -> 1-sigma (km, km/s, s) for segments without
        mmxsim's ``COMMENT MMXSIM SIGMA`` line.
    spacecraft : str, optional
        The spacecraft's participant name (default: the middle participant of a PATH, the common
        first one of ``PATH_1``/``PATH_2``).
    range_unit_km : float, optional
        km per range unit, needed to read ``RANGE_UNITS = RU``.
    max_bytes : int
        Largest file or text accepted.

    A segment may hold several data types (e.g. RANGE and DOPPLER_INTEGRATED lines under one
    PATH, as other tools write); each needs its own metadata (INTEGRATION_INTERVAL for Doppler...).
    Rows come by epoch, then in file order (for our files, the order of :func:`tdm_order`). Bad
    input raises :class:`InputError` naming the line number and keyword.
    """
    source = "TDM text"
    if isinstance(text_or_path, Path) or (isinstance(text_or_path, str) and "\n" not in text_or_path
                                           and not text_or_path.lstrip().startswith("CCSDS_TDM_VERS")):
        path = Path(text_or_path)
        source = str(path)
        try:
            size = path.stat().st_size
            if size > max_bytes:
                raise InputError(f"{source}: file size", f"{size} bytes", f"at most {max_bytes} bytes")
            text = path.read_text(encoding="ascii", errors="replace")
        except OSError as exc:
            raise DataFileError(f"cannot read TDM file {path}: {exc}") from None
    else:
        text = str(text_or_path)
        if len(text) > max_bytes:
            raise InputError(f"{source}: size", f"{len(text)} characters", f"at most {max_bytes}")
    noise = dict(noise or {})
    for k, s in noise.items():
        if k not in KINDS or not (isinstance(s, (int, float)) and np.isfinite(s) and s > 0):
            raise InputError(f"noise[{k!r}]", s, f"kind one of {', '.join(KINDS)} -> sigma > 0")

    def err(lineno, what, value, allowed):
        raise InputError(f"{source} line {lineno}: {what}", value, allowed)

    header: dict = {}
    segments: list[dict] = []
    state = "header"
    seg = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("COMMENT"):
            if seg is not None and state == "meta":
                m = re.match(r"COMMENT\s+MMXSIM\s+(SIGMA|PASS|UPLINK_BAND)\s*=\s*(\S+)", line)
                if m:
                    seg["mmxsim_" + m.group(1).lower()] = (m.group(2), lineno)
            continue
        if line == "META_START":
            if state not in ("header", "between"):
                err(lineno, "META_START", line, "META_START after the header or after DATA_STOP")
            if "CCSDS_TDM_VERS" not in header:
                err(lineno, "META_START", line, "a header starting with CCSDS_TDM_VERS first")
            seg = {"meta": {}, "line": lineno, "obs": [], "freq": []}
            segments.append(seg)
            state = "meta"
            continue
        if line == "META_STOP":
            if state != "meta":
                err(lineno, "META_STOP", line, "META_STOP closing a META_START block")
            state = "after_meta"
            continue
        if line == "DATA_START":
            if state != "after_meta":
                err(lineno, "DATA_START", line, "DATA_START after META_STOP (a DATA block needs its META)")
            state = "data"
            continue
        if line == "DATA_STOP":
            if state != "data":
                err(lineno, "DATA_STOP", line, "DATA_STOP closing a DATA_START block")
            state = "between"
            continue
        kv = _kv(line)
        if kv is None:
            err(lineno, "line", line, "'KEYWORD = value', COMMENT, META_START/STOP or DATA_START/STOP")
        key, value = kv
        if state == "header":
            if key not in _HEADER_KEYS:
                err(lineno, f"keyword {key}", line, "a header keyword: " + ", ".join(sorted(_HEADER_KEYS)))
            if not header and key != "CCSDS_TDM_VERS":
                err(lineno, f"keyword {key}", line, "CCSDS_TDM_VERS as the first keyword")
            header[key] = value
        elif state == "meta":
            if key not in _META_KEYS:
                err(lineno, f"keyword {key}", line, "a TDM metadata keyword (CCSDS 503.0-B-2)")
            seg["meta"][key] = (value, lineno)
        elif state == "data":
            if key in _KIND_OF:
                parts = value.split()
                if len(parts) != 2:
                    err(lineno, f"keyword {key}", line, f"'{key} = epoch value'")
                seg["obs"].append((key, parts[0], parts[1], lineno))
            elif _TRANSMIT_FREQ.match(key):
                parts = value.split()
                if len(parts) != 2:
                    err(lineno, f"keyword {key}", line, f"'{key} = epoch value'")
                seg["freq"].append((key, parts[0], parts[1], lineno))
            elif _UNMODELLED_DATA.match(key):
                err(lineno, f"keyword {key}", line,
                    "a data type mmxsim models: RANGE, DOPPLER_INTEGRATED, DOR (this one is not modelled)")
            else:
                err(lineno, f"keyword {key}", line, "a TDM data keyword (CCSDS 503.0-B-2)")
        elif state == "after_meta":
            err(lineno, f"keyword {key}", line, "DATA_START after META_STOP")
        else:
            err(lineno, f"keyword {key}", line, "data lines inside DATA_START..DATA_STOP after a META block")
    if "CCSDS_TDM_VERS" not in header:
        raise InputError(f"{source}", "no CCSDS_TDM_VERS line", "a CCSDS TDM (KVN) starting with CCSDS_TDM_VERS")
    if header["CCSDS_TDM_VERS"] not in ("1.0", "2.0"):
        raise InputError(f"{source}: CCSDS_TDM_VERS", header["CCSDS_TDM_VERS"], "1.0 or 2.0")
    if state in ("meta", "after_meta", "data"):
        raise InputError(f"{source}", "the file ends inside a segment", "every META and DATA block closed")

    parts = []
    freq_meta = []
    corrections = []
    for si, seg in enumerate(segments):
        words = list(dict.fromkeys(o[0] for o in seg["obs"]))
        for w in words:  # a segment of several data types (other tools write them) is read type by type
            sub = dict(seg, obs=[o for o in seg["obs"] if o[0] == w], freq=seg["freq"] if w == words[0] else [])
            if len(words) > 1:
                sub.pop("mmxsim_sigma", None)  # ours hold one type; a shared sigma would be ambiguous
            parts.append(_segment(sub, si, noise, spacecraft, range_unit_km, source, err, freq_meta,
                                  corrections if w == words[0] else []))
    if not parts:
        raise InputError(source, "no RANGE, DOPPLER_INTEGRATED or DOR data lines", "at least one observation")
    out = TrackingData.concatenate([p[0] for p in parts])
    line_no = np.concatenate([p[1] for p in parts])
    out = out.select(np.lexsort((line_no, out.t_lo, out.t)))  # by epoch, then file order
    out.meta = {"source": source, "originator": header.get("ORIGINATOR", ""),
                "message_id": header.get("MESSAGE_ID", ""), "creation_date": header.get("CREATION_DATE", "")}
    if freq_meta:
        out.meta["transmit_freq"] = freq_meta
    if corrections:
        out.meta["corrections"] = corrections
    return out


def _segment(seg, si, noise, spacecraft, range_unit_km, source, err, freq_meta, corrections):
    meta = seg["meta"]
    line0 = seg["line"]

    def get(key, default=None):
        return meta[key][0] if key in meta else default

    def line(key):
        return meta[key][1] if key in meta else line0

    system = get("TIME_SYSTEM")
    if system is None:
        err(line0, "TIME_SYSTEM", "missing", "a TIME_SYSTEM in every metadata block")
    if system.upper() not in TIME_SYSTEMS:
        err(line("TIME_SYSTEM"), "keyword TIME_SYSTEM", system, ", ".join(TIME_SYSTEMS))
    system = system.upper()
    word = seg["obs"][0][0]
    kind = _KIND_OF[word]
    names = {int(k.rsplit("_", 1)[1]): v for k, (v, _) in meta.items() if k.startswith("PARTICIPANT_")}
    tag = get("TIMETAG_REF", "RECEIVE").upper()
    if tag != "RECEIVE":
        err(line("TIMETAG_REF"), "keyword TIMETAG_REF", tag, "RECEIVE (transmit time tags are not modelled)")

    def path(key):
        text = get(key)
        if text is None:
            err(line0, key, "missing", f"{key} for {word} data")
        try:
            p = [int(x) for x in text.split(",")]
        except ValueError:
            err(line(key), f"keyword {key}", text, "participant numbers such as 1,2,1")
        for x in p:
            if x not in names:
                err(line(key), f"keyword {key}", text, f"participants defined by PARTICIPANT_n ({sorted(names)})")
        return p

    up = get("TRANSMIT_BAND", "X")
    down = get("RECEIVE_BAND", "X")
    bands = {b.upper(): b for b in BANDS}
    for key, b in (("TRANSMIT_BAND", up), ("RECEIVE_BAND", down)):
        if b.upper() not in bands:
            err(line(key), f"keyword {key}", b, ", ".join(BANDS) + " (bands mmxsim models)")
    up, down = bands[up.upper()], bands[down.upper()]
    if kind == "ddor" and "mmxsim_uplink_band" in seg and seg["mmxsim_uplink_band"][0].upper() in bands:
        up = bands[seg["mmxsim_uplink_band"][0].upper()]
    station2 = ""
    if kind == "ddor":
        p1, p2 = path("PATH_1"), path("PATH_2")
        if len(p1) != 2 or len(p2) != 2 or p1[0] != p2[0]:
            err(line("PATH_1"), "keywords PATH_1/PATH_2", f"{p1} / {p2}",
                "one-way paths from the same spacecraft, e.g. PATH_1 = 1,2 and PATH_2 = 1,3")
        if spacecraft is not None and names[p1[0]] != spacecraft:
            err(line("PATH_1"), "keyword PATH_1", names[p1[0]], f"a path starting at the spacecraft {spacecraft}")
        rx = tx = names[p1[1]]
        station2 = names[p2[1]]
    else:
        p = path("PATH")
        if len(p) != 3:
            err(line("PATH"), "keyword PATH", get("PATH"),
                "a two- or three-way path such as 1,2,1 or 1,2,3 (one-way data is not modelled)")
        if spacecraft is not None and names[p[1]] != spacecraft:
            err(line("PATH"), "keyword PATH", get("PATH"), f"the spacecraft {spacecraft} in the middle")
        tx, rx = names[p[0]], names[p[2]]
    count = 0.0
    shift = Fraction(0)
    if kind == "doppler":
        iv = get("INTEGRATION_INTERVAL")
        try:
            count = float(iv)
        except (TypeError, ValueError):
            err(line("INTEGRATION_INTERVAL"), "keyword INTEGRATION_INTERVAL", iv, "the count time in s, > 0")
        if not count > 0:
            err(line("INTEGRATION_INTERVAL"), "keyword INTEGRATION_INTERVAL", iv, "the count time in s, > 0")
        ref = get("INTEGRATION_REF", "END").upper()
        shifts = {"END": Fraction(0), "MIDDLE": Fraction(count) / 2, "START": Fraction(count)}
        if ref not in shifts:
            err(line("INTEGRATION_REF"), "keyword INTEGRATION_REF", ref, "START, MIDDLE, END")
        shift = shifts[ref]
    scale = 1.0
    if kind == "range":
        units = get("RANGE_UNITS", "km")
        if units == "km":
            scale = 1.0
        elif units == "s":
            scale = C_KM_S / 2.0
        elif units == "RU":
            if range_unit_km is None or not range_unit_km > 0:
                err(line("RANGE_UNITS"), "keyword RANGE_UNITS", units,
                    "km, s, or RU with read_tdm(range_unit_km=<km per range unit>) given")
            scale = float(range_unit_km)
        else:
            err(line("RANGE_UNITS"), "keyword RANGE_UNITS", units, "km, s, RU")
    if "mmxsim_sigma" in seg:
        text, ln = seg["mmxsim_sigma"]
        try:
            sigma = float(text)
        except ValueError:
            err(ln, "COMMENT MMXSIM SIGMA", text, "a number")
    elif kind in noise:
        sigma = float(noise[kind])
    else:
        err(line0, "sigma", f"no MMXSIM SIGMA comment and no noise[{kind!r}]",
            f"read_tdm(noise={{'{kind}': sigma}}) for files written by other tools")
    pass_id = -1
    if "mmxsim_pass" in seg:
        try:
            pass_id = int(seg["mmxsim_pass"][0])
        except ValueError:
            err(seg["mmxsim_pass"][1], "COMMENT MMXSIM PASS", seg["mmxsim_pass"][0], "an integer")
    else:
        m = re.fullmatch(r"PASS_(\d+)", get("TRACK_ID", "") or "")
        pass_id = int(m.group(1)) if m else -1
    for k in meta:
        if k.startswith("CORRECTION_"):
            corrections.append((si, k, meta[k][0]))
    t, lo, val = [], [], []
    for key, ep, v, ln in seg["obs"]:
        try:
            a, b = _split(_parse_one(ep, system, shift))
        except ValueError as exc:
            err(ln, f"keyword {key}", ep, f"a CCSDS epoch in {system} ({exc})")
        try:
            x = float(v)
        except ValueError:
            err(ln, f"keyword {key}", v, "a number")
        if not np.isfinite(x):
            err(ln, f"keyword {key}", v, "a finite number")
        t.append(a)
        lo.append(b)
        val.append(x * scale if scale != 1.0 else x)
    for key, ep, v, ln in seg["freq"]:
        try:
            freq_meta.append((tx, float(_split(_parse_one(ep, system))[0]), float(v)))
        except ValueError as exc:
            err(ln, f"keyword {key}", f"{ep} {v}", f"an epoch and a frequency in Hz ({exc})")
    n = len(t)
    try:
        return (TrackingData(kind=[kind] * n, t=t, t_lo=lo, receiver=[rx] * n, transmitter=[tx] * n,
                             station2=[station2] * n, value=val, sigma=[sigma] * n, count_time=[count] * n,
                             uplink_band=[up] * n, downlink_band=[down] * n, pass_id=[pass_id] * n),
                np.array([o[3] for o in seg["obs"]], dtype=np.int64))
    except InputError as exc:
        raise InputError(f"{source} segment at line {line0}: {exc.field}", exc.value, exc.allowed) from None
