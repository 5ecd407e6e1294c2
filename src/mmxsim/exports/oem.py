"""CCSDS Orbit Ephemeris Message (OEM 2.0, KVN) writer and reader.

The writer follows CCSDS 502.0-B-2 (Orbit Data Messages, 2009): a header
(``CCSDS_OEM_VERS = 2.0``, ``CREATION_DATE`` in UTC, ``ORIGINATOR``), one
metadata block and one data block of ``epoch x y z vx vy vz`` lines in km and
km/s with ``TIME_SYSTEM = TDB``.

Numbers are written with 17 significant digits (``%.16e``), which is enough for
every IEEE double to read back *bit for bit*; epochs carry 9 decimals of the
second by default, which reproduces the TDB seconds past J2000 we store (their
resolution is ~0.1 us in the 2020s) exactly as well.

Reference frames
----------------
``REF_FRAME`` values come from the CCSDS list (502.0-B-2 annex A, now the SANA
registry), which names inertial frames (``ICRF``, ``EME2000``, ``MCI``...) and the
Earth-fixed ones, but has no agreed names for the IAU body-fixed frames of other
bodies. We write:

=================  ===============  ==================================================
mmxsim frame       ``REF_FRAME``    meaning
=================  ===============  ==================================================
``ICRF``           ``ICRF``         standard CCSDS value (axes of the ICRF)
``MARS_FIXED``     ``IAU_MARS``     NAIF/SPICE frame name: IAU rotation model of the
                                    PCK shipped with mmxsim (pck00011)
``PHOBOS_FIXED``   ``IAU_PHOBOS``   NAIF/SPICE frame name, same remark
``PHOBOS_HILL``    ``PHOBOS_HILL``  mmxsim-specific (x radial from Mars, y along track)
=================  ===============  ==================================================

The non-standard names are what SPICE users expect; a ``COMMENT`` in the metadata
block of the file defines them, as the standard asks for values agreed in an ICD.
Any other frame name is written unchanged. ``read_oem`` maps the names back.

Covariance
----------
``write_oem(..., covariance=OemCovariance(t, matrices, frame))`` appends a covariance section
(CCSDS 502.0-B-2 §5.2.5): ``COVARIANCE_START``, then per epoch ``EPOCH``, ``COV_REF_FRAME`` (when
given: e.g. ``ICRF``, or ``RTN``/``TNW`` local orbital frames) and the 21 lower-triangular terms
of the 6x6 position-velocity covariance in six rows (km^2, km^2/s, km^2/s^2), ``COVARIANCE_STOP``.
``read_oem(path, covariance=True)`` returns ``(trajectory, OemCovariance or None)``.
The ``ccsds-ndm`` package reads all of these files (it does not check
``REF_FRAME`` against the registry).
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
import unicodedata
from pathlib import Path
from typing import Iterable

import numpy as np

from ..errors import DataFileError, InputError
from ..results import Trajectory

__all__ = ["write_oem", "read_oem", "format_epochs", "parse_epoch", "FRAME_TO_CCSDS", "CCSDS_TO_FRAME",
           "OemCovariance"]

FRAME_TO_CCSDS = {
    "ICRF": "ICRF",
    "MARS_FIXED": "IAU_MARS",
    "PHOBOS_FIXED": "IAU_PHOBOS",
    "PHOBOS_HILL": "PHOBOS_HILL",
}
CCSDS_TO_FRAME = {v: k for k, v in FRAME_TO_CCSDS.items()}

_FRAME_COMMENTS = {
    "IAU_MARS": "REF_FRAME IAU_MARS: Mars body-fixed axes of the IAU rotation model in NAIF pck00011 (NAIF frame name)",
    "IAU_PHOBOS": "REF_FRAME IAU_PHOBOS: Phobos body-fixed axes of the IAU 2015 rotation model in NAIF pck00011 (NAIF frame name)",
    "PHOBOS_HILL": (
        "REF_FRAME PHOBOS_HILL: mmxsim Hill frame of Phobos about Mars: x radial (Mars to Phobos), "
        "z along Phobos' orbital angular momentum, y = z cross x (along track)"
    ),
}

INTERPOLATIONS = ("HERMITE", "LAGRANGE", "LINEAR")
_J2000 = np.datetime64("2000-01-01T12:00:00", "s")
_J2000_DATE = _dt.date(2000, 1, 1)


@dataclass
class OemCovariance:
    """Covariances of an OEM: epochs ``t`` (TDB s past J2000, shape (n,)), ``matrices`` (n, 6, 6)
    in km^2, km^2/s, km^2/s^2, and ``frame`` (``COV_REF_FRAME``; None: the ``REF_FRAME``)."""

    t: np.ndarray
    matrices: np.ndarray
    frame: str | None = None

    def __post_init__(self):
        self.t = np.atleast_1d(np.asarray(self.t, dtype=float))
        m = np.asarray(self.matrices, dtype=float)
        if m.shape == (6, 6):
            m = m[None]
        if m.ndim != 3 or m.shape[1:] != (6, 6) or m.shape[0] != self.t.size:
            raise InputError("oem covariance matrices", f"shape {m.shape}", f"({self.t.size}, 6, 6): one 6x6 per epoch")
        if not (np.all(np.isfinite(m)) and np.all(np.isfinite(self.t))):
            raise InputError("oem covariance", "NaN or infinite values", "finite epochs and matrices")
        scale = np.maximum(np.abs(m).max(axis=(1, 2)), 1e-300)[:, None, None]
        if np.any(np.abs(m - np.swapaxes(m, 1, 2)) > 1e-12 * scale):
            raise InputError("oem covariance matrices", "not symmetric", "symmetric 6x6 covariances")
        self.matrices = m


# -- epochs -----------------------------------------------------------------------


def format_epochs(t, decimals: int = 9) -> np.ndarray:
    """ISO 8601 strings (``YYYY-MM-DDThh:mm:ss.fff...``) of TDB seconds past J2000.

    Exact up to the last written decimal: the whole seconds and the fraction are
    split before any rounding, so no precision is lost to large second counts.
    """
    t = np.atleast_1d(np.asarray(t, dtype=float))
    if not np.all(np.isfinite(t)):
        raise InputError("trajectory.t", "non-finite epoch", "finite TDB seconds past J2000")
    decimals = int(min(max(decimals, 0), 9))
    whole = np.floor(t)
    frac = t - whole  # exact in binary floating point
    scale = 10**decimals
    ticks = np.round(frac * scale).astype(np.int64)
    carry = ticks >= scale
    whole = whole + carry
    ticks = np.where(carry, 0, ticks)
    stamps = np.datetime_as_string(_J2000 + whole.astype(np.int64).astype("timedelta64[s]"), unit="s")
    if decimals == 0:
        return stamps
    fr = np.char.zfill(ticks.astype(str), decimals)
    return np.char.add(np.char.add(stamps, "."), fr)


_ISO = re.compile(
    r"^\s*([+-]?\d{4,})-(?:(\d{2})-(\d{2})|(\d{3}))T(\d{2}):(\d{2}):(\d{2})(\.\d*)?\s*(Z)?\s*$"
)


def parse_epoch(text: str, time_system: str = "TDB") -> float:
    """Seconds past J2000 (in ``time_system``, TDB -> TDB seconds) of a CCSDS epoch.

    Calendar (``YYYY-MM-DDThh:mm:ss.f``) and day-of-year (``YYYY-DDDThh:mm:ss.f``)
    forms are accepted. For TDB the conversion is exact (no astropy); for UTC, TT
    and TAI it goes through :func:`mmxsim.time.to_tdb_seconds`.
    """
    system = time_system.strip().upper()
    if system != "TDB":
        from ..time import to_tdb_seconds

        if system not in ("UTC", "TT", "TAI"):
            raise InputError("OEM TIME_SYSTEM", time_system, "TDB, UTC, TT, TAI")
        iso = text.strip().rstrip("Z")
        m = _ISO.match(iso)
        if m and m.group(4):  # day-of-year form: astropy wants YYYY:DDD:hh:mm:ss
            iso = f"{m.group(1)}:{m.group(4)}:{m.group(5)}:{m.group(6)}:{m.group(7)}{m.group(8) or ''}"
        return float(to_tdb_seconds(iso, system.lower()))
    m = _ISO.match(text)
    if not m:
        raise InputError("OEM epoch", text, "an epoch such as 2027-09-01T00:00:00.000 or 2027-244T00:00:00")
    year = int(m.group(1))
    if m.group(4):
        date = _dt.date(year, 1, 1) + _dt.timedelta(days=int(m.group(4)) - 1)
    else:
        date = _dt.date(year, int(m.group(2)), int(m.group(3)))
    days = (date - _J2000_DATE).days
    whole = days * 86400 - 43200 + int(m.group(5)) * 3600 + int(m.group(6)) * 60 + int(m.group(7))
    frac = float("0" + m.group(8)) if m.group(8) else 0.0
    return float(whole) + frac


# -- writer -----------------------------------------------------------------------


def _ascii_line(text: object) -> str:
    """One line of printable ASCII (KVN is ASCII, one keyword per line)."""
    s = str(text).replace("\u00b5", "u").replace("\u03bc", "u")
    s = unicodedata.normalize("NFKD", s).encode("ascii", "replace").decode("ascii")
    s = " ".join(s.splitlines())
    return "".join(ch if 32 <= ord(ch) < 127 else " " for ch in s).strip()


def _value(text: object, field: str) -> str:
    s = _ascii_line(text)
    if not s:
        raise InputError(field, text, "a non-empty name")
    return s


def _ordered(traj: Trajectory) -> tuple[np.ndarray, np.ndarray]:
    t, states = traj.t, traj.states
    if t.size == 0:
        raise InputError("trajectory", "0 samples", "at least one sample to write an OEM")
    if not np.all(np.isfinite(states)):
        raise InputError("trajectory.states", "NaN or infinite values", "finite states")
    if t.size > 1 and np.all(np.diff(t) <= 0):  # backward propagation: OEM wants increasing epochs
        t, states = t[::-1], states[::-1]
    dt = np.diff(t)
    if np.any(dt < 0):
        raise InputError("trajectory.t", "epochs not in order", "monotonic epochs")
    keep = np.concatenate([[True], dt > 0])  # duplicated epochs (event samples): keep the first
    return t[keep], states[keep]


def write_oem(
    traj: Trajectory,
    path,
    originator: str = "MMXSIM",
    comments: Iterable[str] = ("Generated by mmxsim",),
    interpolation: str | None = "HERMITE",
    interpolation_degree: int = 7,
    *,
    ref_frame: str | None = None,
    creation_date: str | None = None,
    epoch_decimals: int = 9,
    covariance: OemCovariance | None = None,
) -> Path:
    """Write ``traj`` as a CCSDS OEM 2.0 (KVN) file and return its path.

    Parameters
    ----------
    traj : Trajectory
        States in km and km/s; epochs in TDB seconds past J2000. Epochs must be
        monotonic (decreasing ones are reversed; repeated epochs are written once).
    path : str or Path
        Output file.
    originator : str
        ``ORIGINATOR`` of the header.
    comments : iterable of str
        ``COMMENT`` lines of the header (made single-line ASCII).
    interpolation : {'HERMITE', 'LAGRANGE', 'LINEAR'} or None
        Recommended interpolation; ``None`` leaves both interpolation keywords out.
    interpolation_degree : int
        Recommended degree; lowered to what the number of samples allows.
    ref_frame : str, optional
        ``REF_FRAME`` to write instead of the mapping of ``traj.frame`` (see module doc).
    creation_date : str, optional
        ``CREATION_DATE`` (UTC); the current time by default.
    epoch_decimals : int
        Decimals of the seconds of epochs (0 to 9).
    covariance : OemCovariance, optional
        Covariance blocks appended after the ephemeris lines (see module doc).
    """
    path = Path(path)
    t, states = _ordered(traj)
    frame = ref_frame or FRAME_TO_CCSDS.get(str(traj.frame).upper(), str(traj.frame))
    frame = _value(frame, "oem.ref_frame")
    if creation_date is None:
        creation_date = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]

    if isinstance(comments, str):
        comments = [comments]
    lines = ["CCSDS_OEM_VERS = 2.0"]
    for c in comments or ():
        c = _ascii_line(c)
        if c:
            lines.append(f"COMMENT {c}")
    lines += [
        f"CREATION_DATE = {_value(creation_date, 'oem.creation_date')}",
        f"ORIGINATOR = {_value(originator, 'oem.originator')}",
        "",
        "META_START",
    ]
    if frame in _FRAME_COMMENTS:
        lines.append(f"COMMENT {_FRAME_COMMENTS[frame]}")
    ep = format_epochs(t, epoch_decimals)
    lines += [
        f"OBJECT_NAME = {_value(traj.object_name, 'trajectory.object_name')}",
        f"OBJECT_ID = {_value(traj.object_id, 'trajectory.object_id')}",
        f"CENTER_NAME = {_value(traj.center, 'trajectory.center')}",
        f"REF_FRAME = {frame}",
        "TIME_SYSTEM = TDB",
        f"START_TIME = {ep[0]}",
        f"USEABLE_START_TIME = {ep[0]}",
        f"USEABLE_STOP_TIME = {ep[-1]}",
        f"STOP_TIME = {ep[-1]}",
    ]
    if interpolation is not None and t.size > 1:
        interp = str(interpolation).upper()
        if interp not in INTERPOLATIONS:
            raise InputError("oem.interpolation", interpolation, ", ".join(INTERPOLATIONS) + " or None")
        max_deg = {"HERMITE": 2 * t.size - 1, "LAGRANGE": t.size - 1, "LINEAR": 1}[interp]
        degree = int(min(max(int(interpolation_degree), 1), max_deg))
        lines += [f"INTERPOLATION = {interp}", f"INTERPOLATION_DEGREE = {degree}"]
    lines += ["META_STOP", ""]

    row = "%s %.16e %.16e %.16e %.16e %.16e %.16e"
    body = [row % (e, *s) for e, s in zip(ep.tolist(), states.tolist())]
    if covariance is not None:
        if not isinstance(covariance, OemCovariance):
            raise InputError("oem covariance", type(covariance).__name__, "an OemCovariance(t, matrices, frame)")
        body += ["", "COVARIANCE_START"]
        cframe = None
        if covariance.frame is not None:
            name = str(covariance.frame)
            cframe = _value(FRAME_TO_CCSDS.get(name.upper(), name), "oem.cov_ref_frame")
        for e, m in zip(format_epochs(covariance.t, epoch_decimals).tolist(), covariance.matrices):
            body.append(f"EPOCH = {e}")
            if cframe is not None:
                body.append(f"COV_REF_FRAME = {cframe}")
            body += [" ".join("%.16e" % m[i, j] for j in range(i + 1)) for i in range(6)]
        body.append("COVARIANCE_STOP")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines + body) + "\n", encoding="ascii")
    return path


# -- reader -----------------------------------------------------------------------


def _kv(line: str) -> tuple[str, str] | None:
    if "=" not in line:
        return None
    k, v = line.split("=", 1)
    k = k.strip()
    if not re.fullmatch(r"[A-Z_0-9]+", k):
        return None
    v = v.strip()
    m = re.search(r"\s*\[[^\]]*\]\s*$", v)  # optional units in brackets
    if m:
        v = v[: m.start()]
    return k, v


def read_oem(path, *, covariance: bool = False):
    """Read a CCSDS OEM (KVN) file into a :class:`Trajectory`.

    Several segments are concatenated when they share object, centre, frame and
    time system (an epoch repeated at a segment boundary is kept once).
    Accelerations (9-column lines) are ignored; covariance blocks are returned when
    ``covariance`` is true: ``(trajectory, OemCovariance or None)`` (every block in one
    frame, else DataFileError). ``REF_FRAME``
    names are mapped back to mmxsim names (``IAU_MARS`` -> ``MARS_FIXED``...).
    Non-TDB time systems (UTC, TT, TAI) are converted to TDB with astropy.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise DataFileError(f"cannot read OEM file {path}: {exc}") from None

    segments: list[dict] = []
    cov: list[dict] = []
    meta: dict | None = None
    state = "header"
    version_seen = False
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("COMMENT"):
            continue
        if line == "META_START":
            meta = {}
            state = "meta"
            continue
        if line == "META_STOP":
            if meta is None:
                raise DataFileError(f"{path}:{lineno}: META_STOP without META_START")
            segments.append({"meta": meta, "t": [], "x": []})
            state = "data"
            continue
        if line in ("COVARIANCE_START", "DATA_START"):
            state = "covariance" if line == "COVARIANCE_START" else "data"
            continue
        if line in ("COVARIANCE_STOP", "DATA_STOP"):
            if state == "covariance" and cov and len(cov[-1]["v"]) != 21:
                raise DataFileError(f"{path}:{lineno}: covariance block with {len(cov[-1]['v'])} of 21 values")
            state = "data"
            continue
        if state == "covariance":
            kv = _kv(line)
            if kv is not None and kv[0] == "EPOCH":
                if cov and len(cov[-1]["v"]) != 21:
                    raise DataFileError(f"{path}:{lineno}: covariance block with {len(cov[-1]['v'])} of 21 values")
                if not segments:
                    raise DataFileError(f"{path}:{lineno}: covariance before any metadata block")
                system = segments[-1]["meta"].get("TIME_SYSTEM", "TDB")
                try:
                    ep = parse_epoch(kv[1], system)
                except ValueError as exc:
                    raise DataFileError(f"{path}:{lineno}: {exc}") from None
                cov.append({"t": ep, "frame": segments[-1]["meta"].get("REF_FRAME"), "v": [], "line": lineno})
            elif kv is not None and kv[0] == "COV_REF_FRAME":
                if not cov:
                    raise DataFileError(f"{path}:{lineno}: COV_REF_FRAME before EPOCH")
                cov[-1]["frame"] = kv[1]
            elif kv is not None:
                raise DataFileError(f"{path}:{lineno}: unexpected keyword {kv[0]} in a covariance block")
            else:
                if not cov:
                    raise DataFileError(f"{path}:{lineno}: covariance values before EPOCH")
                try:
                    cov[-1]["v"] += [float(v) for v in line.split()]
                except ValueError as exc:
                    raise DataFileError(f"{path}:{lineno}: {exc}") from None
                if len(cov[-1]["v"]) > 21:
                    raise DataFileError(f"{path}:{lineno}: more than 21 covariance values after EPOCH")
            continue
        if state in ("header", "meta"):
            kv = _kv(line)
            if kv is None:
                raise DataFileError(f"{path}:{lineno}: expected 'KEYWORD = value', got {line!r}")
            if state == "header":
                version_seen |= kv[0] == "CCSDS_OEM_VERS"
            else:
                meta[kv[0]] = kv[1]
            continue
        # data line
        if "=" in line:  # keyword in the covariance of old files, or stray header
            continue
        fields = line.split()
        if len(fields) not in (7, 10):
            raise DataFileError(f"{path}:{lineno}: expected 'epoch x y z vx vy vz', got {line!r}")
        seg = segments[-1]
        system = seg["meta"].get("TIME_SYSTEM", "TDB")
        try:
            seg["t"].append(parse_epoch(fields[0], system))
            seg["x"].append([float(v) for v in fields[1:7]])
        except ValueError as exc:
            raise DataFileError(f"{path}:{lineno}: {exc}") from None
    if not version_seen:
        raise DataFileError(f"{path} is not a CCSDS OEM file (no CCSDS_OEM_VERS line)")
    if not segments or not any(s["t"] for s in segments):
        raise DataFileError(f"{path}: no ephemeris data lines")

    keys = ("OBJECT_NAME", "OBJECT_ID", "CENTER_NAME", "REF_FRAME")
    first = segments[0]["meta"]
    for s in segments[1:]:
        if any(s["meta"].get(k) != first.get(k) for k in keys):
            raise DataFileError(
                f"{path}: segments differ in object, centre or frame; split the file to read them one by one"
            )
    t = np.concatenate([np.asarray(s["t"], dtype=float) for s in segments])
    x = np.concatenate([np.asarray(s["x"], dtype=float).reshape(-1, 6) for s in segments])
    if t.size > 1:
        keep = np.concatenate([[True], np.diff(t) != 0])
        t, x = t[keep], x[keep]
    frame = first.get("REF_FRAME", "ICRF")
    traj = Trajectory(
        t=t,
        states=x,
        center=first.get("CENTER_NAME", "MARS"),
        frame=CCSDS_TO_FRAME.get(frame.upper(), frame),
        object_name=first.get("OBJECT_NAME", "MMX"),
        object_id=first.get("OBJECT_ID", first.get("OBJECT_NAME", "MMX")),
    )
    if not covariance:
        return traj
    if not cov:
        return traj, None
    if cov and len(cov[-1]["v"]) != 21:
        raise DataFileError(f"{path}: last covariance block has {len(cov[-1]['v'])} of 21 values")
    frames = {c["frame"] for c in cov}
    if len(frames) > 1:
        raise DataFileError(
            f"{path}: covariance blocks in several frames {sorted(map(str, frames))}; read them one by one")
    il, jl = np.tril_indices(6)
    mats = np.zeros((len(cov), 6, 6))
    for k, c in enumerate(cov):
        mats[k, il, jl] = c["v"]
        mats[k, jl, il] = c["v"]
    cframe = frames.pop()
    cframe = CCSDS_TO_FRAME.get(cframe.upper(), cframe) if cframe else None
    return traj, OemCovariance(np.array([c["t"] for c in cov]), mats, cframe)
