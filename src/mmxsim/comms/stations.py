"""Ground-station catalogue: positions, antennas, bands, per-band parameters, horizon masks.

The catalogue ships as ``mmxsim/data/ground_stations.csv`` (sources in ``data/SOURCES.md`` §6):
NASA DSN (DSS-14 ... DSS-65, ITRF93 antenna reference points at 2003.0 with plate motion),
ESA ESTRACK (DSA-1/2/3, geodetic coordinates) and JAXA (Misasa 54 m, Usuda 64 m, Uchinoura 34 m;
positions of nearby GNSS monuments or facility coordinates, tens of metres to ~1 km from the
antenna -- irrelevant for pointing at Mars, see ``docs/comms.md``).

Per station and band, G/T, EIRP and the elevation mask are parameters (:class:`BandParams`)
with documented defaults. **None of the default G/T/EIRP numbers was verified against a
published table in this repository**: they are marked ``assumed=True`` with the reasoning in
``source`` (see :data:`BAND_DEFAULTS`). Users replace them per station with :func:`make_station`
or :func:`merge_stations`.

>>> cat = load_catalogue()
>>> s = get_station("dss-43", cat)
>>> s.name, s.agency, round(s.lat_deg, 3), s.diameter_m
('DSS-43', 'NASA DSN', -35.402, 70.0)
>>> sorted(s.bands)
['S', 'X']
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from ..errors import InputError

# WGS84 ellipsoid [NIMA TR8350.2]: a = 6378.137 km, 1/f = 298.257223563 (also erfa.gc2gd(1, ...)).
WGS84_A_KM = 6378.137
WGS84_F = 1.0 / 298.257223563
JULIAN_YEAR_S = 365.25 * 86400.0  # IAU Julian year, s
KNOWN_BANDS = ("S", "X", "K", "Ka")

# ---------------------------------------------------------------------------------------------
# Defaults.  Every value says where it comes from; ASSUMED values are listed in docs/comms.md.
# ---------------------------------------------------------------------------------------------
#: Default elevation mask, deg.  ASSUMPTION: 10 deg is a common operational floor for deep-space
#: tracking (ground-station keyhole/terrain/atmosphere); DSN antennas can track lower (DSN 810-005
#: module 302 gives the hardware limits, not checked here).  Override per station.
DEFAULT_ELEVATION_MASK_DEG = 10.0


@dataclass(frozen=True)
class BandParams:
    """Radio parameters of one station in one band.

    g_t_db_k : receive figure of merit G/T at zenith, dB/K (None: the station cannot receive).
    eirp_dbw : uplink EIRP, dBW (None: no uplink in this band).
    elevation_mask_deg : lowest usable elevation for this band (None: the station's mask).
    sep_limit_deg : solar-conjunction blackout when the Sun-Earth-probe angle is below this.
    assumed : True when the numbers are not from a published table.
    source : where the numbers come from / why they were chosen.
    """

    g_t_db_k: float | None
    eirp_dbw: float | None
    elevation_mask_deg: float | None = None
    sep_limit_deg: float = 3.0
    assumed: bool = True
    source: str = ""


_A = ("ASSUMPTION: order-of-magnitude value for the antenna class (gain of a {d} m dish at the band "
      "frequency with ~60-70 % efficiency, system noise temperature of a cryogenic deep-space "
      "receiver, 20 kW transmitter); not checked against DSN 810-005 modules 101/104 or agency data")

#: Solar-conjunction SEP limits, deg.  ASSUMPTION (no published MMX value): plasma scintillation
#: degrades X band for SEP below about 2-3 deg and Ka band (4x higher frequency, scintillation
#: ~ f^-1.2..-2) closer in; we use X 3 deg, S 5 deg, K/Ka 2 deg as planning defaults.
SEP_LIMIT_DEG = {"S": 5.0, "X": 3.0, "K": 2.0, "Ka": 2.0}

#: (diameter class, band) -> (G/T dB/K, EIRP dBW).  All ASSUMED (see _A).
_BAND_TABLE = {
    ("70", "S"): (51.0, 103.0),
    ("70", "X"): (61.0, 113.0),
    ("54-64", "S"): (47.0, 100.0),
    ("54-64", "X"): (57.0, 110.0),
    ("54-64", "Ka"): (64.0, None),
    ("54-64", "K"): (64.0, None),
    ("34-35", "S"): (41.0, 97.0),
    ("34-35", "X"): (53.0, 108.0),
    ("34-35", "Ka"): (61.0, None),
    ("34-35", "K"): (61.0, None),
}


def _diameter_class(d: float) -> str:
    return "70" if d >= 66 else ("54-64" if d >= 45 else "34-35")


def default_band_params(diameter_m: float, band: str, uplink: bool = True) -> BandParams:
    """Documented default parameters for a dish of ``diameter_m`` in ``band`` (all assumed)."""
    if band not in KNOWN_BANDS:
        raise InputError("band", band, ", ".join(KNOWN_BANDS))
    key = (_diameter_class(diameter_m), band)
    gt, eirp = _BAND_TABLE.get(key, (None, None))
    if gt is None:  # band unusual for that class: scale from the 34 m value by dish area
        gt34, eirp34 = _BAND_TABLE.get(("34-35", band), (None, None))
        gain = 20 * math.log10(max(diameter_m, 1.0) / 34.0)
        gt = None if gt34 is None else gt34 + gain
        eirp = None if eirp34 is None else eirp34 + gain
    return BandParams(g_t_db_k=gt, eirp_dbw=eirp if uplink else None, sep_limit_deg=SEP_LIMIT_DEG[band],
                      assumed=True, source=_A.format(d=round(diameter_m)))


#: Public view of the default table (for docs and the report).
BAND_DEFAULTS = {k: {"g_t_db_k": v[0], "eirp_dbw": v[1]} for k, v in _BAND_TABLE.items()}


@dataclass(frozen=True)
class HorizonMask:
    """Elevation mask: constant, or piecewise linear in azimuth (deg, periodic in 360 deg).

    >>> m = HorizonMask.table([0, 90, 180, 270], [5, 15, 5, 10])
    >>> float(m.at(45.0)), float(m.at(315.0)), m.max_deg
    (10.0, 7.5, 15.0)
    """

    azimuth_deg: tuple = ()
    elevation_deg: tuple = (DEFAULT_ELEVATION_MASK_DEG,)

    @classmethod
    def constant(cls, elevation_deg: float, field: str = "elevation_mask_deg") -> "HorizonMask":
        _check_mask_value(elevation_deg, field)
        return cls((), (float(elevation_deg),))

    @classmethod
    def table(cls, azimuth_deg: Iterable[float], elevation_deg: Iterable[float],
              field: str = "horizon_mask") -> "HorizonMask":
        az = [float(a) for a in azimuth_deg]
        el = [float(e) for e in elevation_deg]
        if len(az) != len(el) or len(az) < 2:
            raise InputError(field, {"azimuth_deg": az, "elevation_deg": el},
                             "two lists of equal length >= 2 (azimuth, elevation) in deg")
        if not all(0.0 <= a < 360.0 for a in az) or any(b <= a for a, b in zip(az, az[1:])):
            raise InputError(f"{field}.azimuth_deg", az, "strictly increasing azimuths in [0, 360) deg")
        for e in el:
            _check_mask_value(e, f"{field}.elevation_deg")
        return cls(tuple(az), tuple(el))

    @property
    def is_constant(self) -> bool:
        return not self.azimuth_deg

    @property
    def max_deg(self) -> float:
        return max(self.elevation_deg)

    @property
    def max_slope(self) -> float:
        """Largest |d mask / d azimuth| (deg/deg); 0 for a constant mask."""
        if self.is_constant:
            return 0.0
        az = np.r_[self.azimuth_deg, self.azimuth_deg[0] + 360.0]
        el = np.r_[self.elevation_deg, self.elevation_deg[0]]
        return float(np.max(np.abs(np.diff(el) / np.diff(az))))

    def at(self, azimuth_deg):
        """Mask elevation (deg) at the given azimuth(s) (deg, any range)."""
        if self.is_constant:
            return np.full(np.shape(azimuth_deg), self.elevation_deg[0])
        return np.interp(np.mod(azimuth_deg, 360.0), self.azimuth_deg, self.elevation_deg, period=360.0)


def _check_mask_value(v, field: str) -> None:
    try:
        ok = 0.0 <= float(v) <= 90.0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InputError(field, v, "an elevation between 0 and 90 deg")


@dataclass(frozen=True)
class Station:
    """One ground antenna.

    ``itrf_km`` is the Earth-fixed position at ``epoch_tdb`` (TDB s past J2000); ``velocity_km_s``
    the plate motion (ITRF, km/s; zeros where the source gives none). ``lat_deg``, ``lon_deg`` and
    ``height_km`` are WGS84 geodetic coordinates of the same point. ``bands`` maps a band name
    (S, X, K, Ka) to its :class:`BandParams`.
    """

    name: str
    agency: str
    itrf_km: tuple
    lat_deg: float
    lon_deg: float
    height_km: float
    diameter_m: float = 34.0
    site: str = ""
    bands: Mapping[str, BandParams] = field(default_factory=dict, hash=False, compare=False)
    mask: HorizonMask = HorizonMask()
    velocity_km_s: tuple = (0.0, 0.0, 0.0)
    epoch_tdb: float = 0.0
    assumptions: tuple = ()
    source: str = ""

    def position_itrf(self, t) -> np.ndarray:
        """Earth-fixed position (km), (3,) or (N, 3), including plate motion."""
        dt = np.asarray(t, dtype=float) - self.epoch_tdb
        return np.asarray(self.itrf_km) + np.multiply.outer(dt, np.asarray(self.velocity_km_s))

    def mask_deg(self, azimuth_deg, band: str | None = None):
        """Elevation mask (deg) at azimuth(s), for a band (its own mask if it has one)."""
        base = self.mask.at(azimuth_deg)
        if band is not None:
            bp = self.band(band)
            if bp.elevation_mask_deg is not None:
                return np.maximum(base, bp.elevation_mask_deg)
        return base

    def band(self, band: str) -> BandParams:
        for k, v in self.bands.items():
            if k.lower() == str(band).lower():
                return v
        raise InputError(f"{self.name}.band", band, ", ".join(self.bands) or "(station has no bands)")

    @property
    def enu_axes(self) -> np.ndarray:
        """(3, 3) rows: east, north, up unit vectors (ITRF) of the geodetic local horizon."""
        la, lo = math.radians(self.lat_deg), math.radians(self.lon_deg)
        return np.array([[-math.sin(lo), math.cos(lo), 0.0],
                         [-math.sin(la) * math.cos(lo), -math.sin(la) * math.sin(lo), math.cos(la)],
                         [math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)]])


def geodetic_to_itrf(lat_deg: float, lon_deg: float, height_km: float) -> np.ndarray:
    """WGS84 geodetic -> Earth-fixed x, y, z (km) via erfa.gd2gc."""
    import erfa

    return np.asarray(erfa.gd2gc(1, math.radians(lon_deg), math.radians(lat_deg), height_km * 1e3)) / 1e3


def itrf_to_geodetic(xyz_km) -> tuple[float, float, float]:
    """Earth-fixed x, y, z (km) -> WGS84 (lat deg, lon deg, height km) via erfa.gc2gd."""
    import erfa

    lon, lat, h = erfa.gc2gd(1, np.asarray(xyz_km, dtype=float) * 1e3)
    return math.degrees(lat), math.degrees(lon), float(h) / 1e3


def _bands_from_text(text: str) -> dict[str, bool]:
    """Band -> has uplink, parsed from catalogue text such as 'S/X up; X/Ka down (nominal)'."""
    text = re.sub(r"\(.*?(\)|$)", "", text or "")
    out: dict[str, bool] = {}
    for part in text.split(";"):
        up = "up" in part or not ("down" in part)
        for b in re.findall(r"Ka|K|S|X", part.replace("down", "").replace("up", "")):
            out[b] = out.get(b, False) or up
    return out


def make_station(name: str, *, agency: str = "user", lat_deg: float | None = None, lon_deg: float | None = None,
                 height_m: float | None = None, itrf_m=None, velocity_m_per_yr=None, epoch: str | float | None = None,
                 diameter_m: float = 34.0, bands: Mapping | Iterable[str] = ("X",),
                 elevation_mask_deg: float = DEFAULT_ELEVATION_MASK_DEG, horizon_mask=None, site: str = "",
                 source: str = "user", assumptions: Iterable[str] = ()) -> Station:
    """Build a :class:`Station` from plain fields (for users' own stations).

    Give either ``itrf_m`` (x, y, z metres, Earth-fixed) or ``lat_deg``/``lon_deg``/``height_m``
    (WGS84). ``bands`` is a list of band names (defaults from :func:`default_band_params`) or a
    mapping band -> dict of :class:`BandParams` fields / ``BandParams`` (missing fields default).
    ``horizon_mask`` is ``{"azimuth_deg": [...], "elevation_deg": [...]}`` (deg) and replaces the
    constant ``elevation_mask_deg``. ``epoch`` is the position epoch (ISO UTC or TDB seconds).
    """
    f = f"station {name!r}"
    if not isinstance(name, str) or not name.strip():
        raise InputError("station.name", name, "a non-empty string")
    try:
        diameter_m = float(diameter_m)
    except (TypeError, ValueError):
        diameter_m = float("nan")
    if not (diameter_m > 0 and math.isfinite(diameter_m)):
        raise InputError(f"{f}.diameter_m", diameter_m, "a positive dish diameter in metres")
    assumptions = list(assumptions)
    if itrf_m is not None:
        xyz = np.asarray(itrf_m, dtype=float)
        if xyz.shape != (3,) or not np.all(np.isfinite(xyz)) or not 6.3e6 < np.linalg.norm(xyz) < 6.4e6:
            raise InputError(f"{f}.itrf_m", itrf_m,
                             "three Earth-fixed coordinates in metres, 6300-6400 km from the geocentre")
        lat, lon, h = itrf_to_geodetic(xyz / 1e3)
    else:
        if lat_deg is None or lon_deg is None:
            raise InputError(f"{f}.position", None, "itrf_m=[x, y, z] (m) or lat_deg and lon_deg (WGS84)")
        if not -90.0 <= float(lat_deg) <= 90.0:
            raise InputError(f"{f}.lat_deg", lat_deg, "a latitude between -90 and 90 deg")
        if not -360.0 <= float(lon_deg) <= 360.0:
            raise InputError(f"{f}.lon_deg", lon_deg, "a longitude between -360 and 360 deg (east positive)")
        if height_m is None:
            height_m = 0.0
            assumptions.append("ellipsoidal height unknown: 0 m assumed (elevation effect < 1e-6 deg at Mars)")
        if not -500.0 <= float(height_m) <= 9000.0:
            raise InputError(f"{f}.height_m", height_m, "an ellipsoidal height between -500 and 9000 m")
        lat, lon, h = float(lat_deg), (float(lon_deg) + 180.0) % 360.0 - 180.0, float(height_m) / 1e3
        xyz = geodetic_to_itrf(lat, lon, h) * 1e3
    vel = np.zeros(3) if velocity_m_per_yr is None else np.asarray(velocity_m_per_yr, dtype=float)
    if vel.shape != (3,) or not np.all(np.isfinite(vel)) or np.any(np.abs(vel) > 1.0):
        raise InputError(f"{f}.velocity_m_per_yr", velocity_m_per_yr, "three plate-motion rates below 1 m/yr")
    if epoch is None:
        t_ep = 0.0
    elif isinstance(epoch, (int, float)):
        t_ep = float(epoch)
    else:
        from ..time import to_tdb_seconds

        t_ep = float(to_tdb_seconds(str(epoch), "utc"))
    if horizon_mask is not None:
        if isinstance(horizon_mask, HorizonMask):
            mask = horizon_mask
        elif isinstance(horizon_mask, Mapping):
            mask = HorizonMask.table(horizon_mask.get("azimuth_deg", ()), horizon_mask.get("elevation_deg", ()),
                                     field=f"{f}.horizon_mask")
        else:
            raise InputError(f"{f}.horizon_mask", horizon_mask, "{'azimuth_deg': [...], 'elevation_deg': [...]}")
    else:
        mask = HorizonMask.constant(elevation_mask_deg, field=f"{f}.elevation_mask_deg")
    bp: dict[str, BandParams] = {}
    items = bands.items() if isinstance(bands, Mapping) else ((b, None) for b in bands)
    for b, spec in items:
        bname = next((k for k in KNOWN_BANDS if k.lower() == str(b).lower()), None)
        if bname is None:
            raise InputError(f"{f}.bands", b, ", ".join(KNOWN_BANDS))
        downlink_only = isinstance(spec, Mapping) and "eirp_dbw" in spec and spec["eirp_dbw"] is None
        base = default_band_params(diameter_m, bname, uplink=not downlink_only)
        if isinstance(spec, BandParams):
            base = spec
        elif isinstance(spec, Mapping):
            allowed = set(BandParams.__dataclass_fields__)
            bad = set(spec) - allowed
            if bad:
                raise InputError(f"{f}.bands.{bname}", sorted(bad), ", ".join(sorted(allowed)))
            base = replace(base, **spec)
            if spec.get("g_t_db_k") is not None or spec.get("eirp_dbw") is not None:
                base = replace(base, assumed=bool(spec.get("assumed", False)), source=spec.get("source", "user"))
        elif spec is not None and not isinstance(spec, bool):
            raise InputError(f"{f}.bands.{bname}", spec, "a mapping of BandParams fields")
        if base.elevation_mask_deg is not None:
            _check_mask_value(base.elevation_mask_deg, f"{f}.bands.{bname}.elevation_mask_deg")
        if not (base.sep_limit_deg >= 0 and math.isfinite(base.sep_limit_deg)):
            raise InputError(f"{f}.bands.{bname}.sep_limit_deg", base.sep_limit_deg, "a non-negative angle in deg")
        bp[bname] = base
    return Station(name=name.strip(), agency=agency, itrf_km=tuple(np.asarray(xyz) / 1e3), lat_deg=lat, lon_deg=lon,
                   height_km=h, diameter_m=diameter_m, site=site, bands=bp, mask=mask,
                   velocity_km_s=tuple(vel / 1e3 / JULIAN_YEAR_S), epoch_tdb=t_ep,
                   assumptions=tuple(assumptions), source=source)


def _num(s: str):
    s = (s or "").strip()
    return float(s) if s else None


def _row_to_station(row: Mapping[str, str]) -> Station:
    if row.get(None):  # an unquoted comma in 'bands' (DSS-65 in the shipped CSV) shifts the last columns
        row = dict(row)
        row["bands"] = row["bands"] + "," + row["position_source"]
        row["position_source"], row["notes"] = row["notes"], ",".join(row.pop(None))
    xyz = [_num(row[k]) for k in ("x_m", "y_m", "z_m")]
    vel = [_num(row[k]) for k in ("vx_m_per_yr", "vy_m_per_yr", "vz_m_per_yr")]
    assumptions = []
    if None in vel:
        vel = None
        assumptions.append("no plate-motion rates published: position held fixed")
    epoch = row.get("epoch") or None
    if epoch:
        epoch = epoch + "T00:00:00"
    band_up = _bands_from_text(row.get("bands", ""))
    if "unverified" in row.get("bands", "") or "nominal" in row.get("bands", ""):
        assumptions.append(f"bands {row['bands']!r} are nominal, not verified")
    assumptions.append("G/T, EIRP, elevation mask and SEP limits: assumed defaults (docs/comms.md)")
    common = dict(agency=row["agency"], velocity_m_per_yr=vel, epoch=epoch, diameter_m=float(row["diameter_m"]),
                  bands={b: ({"eirp_dbw": None} if not up else None) for b, up in band_up.items()},
                  site=row.get("site", ""), source=row.get("position_source", ""))
    if None not in xyz:
        return make_station(row["station"], itrf_m=xyz, assumptions=assumptions, **common)
    h = _num(row.get("height_m", ""))
    if h is None:
        # ASSUMPTION: no published height (Cebreros, Uchinoura).  The elevation of a target at Mars
        # changes by < 1e-6 deg per km of station height, so a rough value is harmless.
        h = 700.0 if "Cebreros" in row["station"] else 100.0
        assumptions.append(f"ellipsoidal height unknown: {h:.0f} m assumed")
    return make_station(row["station"], lat_deg=float(row["lat_deg"]), lon_deg=float(row["lon_deg_east"]), height_m=h,
                        assumptions=assumptions, **common)


@lru_cache(maxsize=4)
def _load(path: str) -> tuple[Station, ...]:
    from ..errors import DataFileError

    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return tuple(_row_to_station(r) for r in csv.DictReader(fh))
    except OSError as exc:
        raise DataFileError(f"cannot read station catalogue {path}: {exc}") from None


def load_catalogue(path: str | Path | None = None) -> dict[str, Station]:
    """The station catalogue, name -> :class:`Station` (default: the packaged CSV)."""
    if path is None:
        from .._data import data_path

        path = data_path("ground_stations.csv")
    return {s.name: s for s in _load(str(path))}


def _key(name: str) -> str:
    return re.sub(r"[\s_]+", "-", str(name).strip().lower())


def get_station(name: str | Station, catalogue: Mapping[str, Station] | None = None) -> Station:
    """Look a station up by name, case-insensitively; the first word (``DSA-1``, ``MDSS``,
    ``UDSC``, ``USC``) and ``DSS14`` spellings also match."""
    if isinstance(name, Station):
        return name
    cat = load_catalogue() if catalogue is None else catalogue
    k = _key(name)
    for s in cat.values():
        full = _key(s.name)
        if k in (full, full.split("-")[0] if not full.startswith(("dss", "dsa")) else "",
                 "-".join(full.split("-")[:2])) or k.replace("-", "") == full.replace("-", ""):
            return s
    raise InputError("station", name, "one of " + ", ".join(cat))


def get_stations(names: Iterable[str | Station] | str | None = None,
                 catalogue: Mapping[str, Station] | None = None) -> list[Station]:
    """Stations by name (a list, or one comma-separated string); ``None``: the whole catalogue."""
    cat = load_catalogue() if catalogue is None else catalogue
    if names is None:
        return list(cat.values())
    if isinstance(names, str):
        names = [n for n in names.split(",") if n.strip()]
    out = [get_station(n, cat) for n in names]
    if not out:
        raise InputError("stations", names, "at least one station name")
    return out


def _override_band(base: BandParams, spec: Mapping, field: str) -> BandParams:
    allowed = set(BandParams.__dataclass_fields__)
    bad = set(spec) - allowed
    if bad:
        raise InputError(field, sorted(bad), ", ".join(sorted(allowed)))
    out = replace(base, **spec)
    if spec.get("g_t_db_k") is not None or spec.get("eirp_dbw") is not None:
        out = replace(out, assumed=bool(spec.get("assumed", False)), source=spec.get("source", "user"))
    return out


def merge_stations(user_entries: Iterable[Mapping] | None = None,
                   catalogue: Mapping[str, Station] | None = None) -> dict[str, Station]:
    """The catalogue plus users' stations (each a dict of :func:`make_station` keywords, with
    ``name``). An entry whose name is already in the catalogue replaces that station; an entry
    with only ``name`` plus overrides (e.g. ``elevation_mask_deg``, ``horizon_mask``, ``bands``)
    keeps the catalogue position."""
    cat = dict(load_catalogue() if catalogue is None else catalogue)
    for i, e in enumerate(user_entries or ()):
        if not isinstance(e, Mapping) or "name" not in e:
            raise InputError(f"stations[{i}]", e, "a mapping with at least 'name'")
        e = dict(e)
        name = e.pop("name")
        try:
            old = get_station(name, cat)
        except InputError:
            old = None
        if old is not None and "itrf_m" not in e and "lat_deg" not in e:
            e.setdefault("itrf_m", [v * 1e3 for v in old.itrf_km])
            e.setdefault("velocity_m_per_yr", [v * 1e3 * JULIAN_YEAR_S for v in old.velocity_km_s])
            e.setdefault("epoch", old.epoch_tdb)
            e.setdefault("agency", old.agency)
            e.setdefault("diameter_m", old.diameter_m)
            e.setdefault("site", old.site)
            if "bands" in e and isinstance(e["bands"], Mapping):
                # partial band overrides keep the catalogue's values for what is not given
                merged = dict(old.bands)
                for b, spec in e["bands"].items():
                    ob = next((k for k in merged if k.lower() == str(b).lower()), None)
                    if ob is not None and isinstance(spec, Mapping):
                        merged[ob] = _override_band(merged[ob], spec, f"stations[{i}].bands.{ob}")
                    else:
                        merged[b] = spec
                e["bands"] = merged
            e.setdefault("bands", dict(old.bands))
            e.setdefault("source", old.source)
            e.setdefault("assumptions", old.assumptions)
            if "elevation_mask_deg" not in e and "horizon_mask" not in e:
                e["horizon_mask"] = old.mask
            name = old.name
        try:
            new = make_station(name, **e)
        except TypeError as exc:
            raise InputError(f"stations[{i}]", sorted(e), f"keywords of make_station ({exc})") from None
        if old is not None:
            cat.pop(old.name)
        cat[new.name] = new
    return cat
