"""Scenario files: one YAML file describes one run, validated with pydantic.

A scenario names the epoch and span, the initial state of MMX, the spacecraft, the
force model, the integrator settings, the events to watch, the ephemeris and the
outputs. Unknown keys are errors everywhere, and every error names the YAML path,
the value found and what is allowed::

    scenario my.yaml is invalid:
      - initial_state.frame: got 'FOO'; allowed: ICRF, MARS_FIXED, PHOBOS_FIXED, PHOBOS_HILL [line 9]

Only ``name``, ``epoch``, ``duration_days`` (or ``stop``) and ``initial_state`` are
required; everything else defaults to the reference run (the "full force model":
Mars J2-J4, Phobos harmonics to degree 8, Sun + Earth + Deimos, solar radiation
pressure with Mars and Phobos shadows, tolerance 1e-12, output every 600 s, impact on
the Phobos ellipsoid, eclipses on). See ``scenarios/reference_qso.yaml``.

>>> s = reference_scenario()
>>> s.name, s.initial_state.type, s.duration_days
('reference-qso', 'qso', 30.0)
"""

from __future__ import annotations

import math
import os
import re
import warnings
from functools import lru_cache
from importlib import resources
from importlib.util import find_spec
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ..bodies import PHOBOS_RADII, R_MARS_EQ, R_MARS_POL
from ..errors import InputError, MmxsimError

__all__ = [
    "IMPACT_MODELS",
    "KERNEL_ALIASES",
    "BUILTIN_COVERAGE",
    "Scenario",
    "ScenarioError",
    "HillState",
    "QsoState",
    "CartesianState",
    "KeplerianState",
    "Spacecraft",
    "ForceModel",
    "MarsGravity",
    "PhobosGravity",
    "SrpModel",
    "Propagation",
    "Events",
    "EphemerisConfig",
    "Outputs",
    "load_scenario",
    "parse_scenario",
    "reference_scenario",
    "builtin_scenario",
    "BUILTIN_SCENARIOS",
    "scenario_to_dict",
    "scenario_to_yaml",
    "check_coverage",
    "resolve_kernel",
    "phobos_mean_motion",
]

#: Impact models accepted by ``events.impact``. Shape-model modules register more
#: names here (``IMPACT_MODELS.add("gaskell")``) before scenarios are loaded.
IMPACT_MODELS: set[str] = {"none", "ellipsoid", "shape"}

#: ``builtin:NAME`` kernel aliases: NAME -> (package, path inside the package).
KERNEL_ALIASES: dict[str, tuple[str, str]] = {
    "de421": ("skyfield_data", "data/de421.bsp"),
    "de421.bsp": ("skyfield_data", "data/de421.bsp"),
    "naif0012.tls": ("mmxsim", "data/naif0012.tls"),
    "pck00011.tpc": ("mmxsim", "data/pck00011.tpc"),
    "gm_de440.tpc": ("mmxsim", "data/gm_de440.tpc"),
}

#: Span of the built-in analytic ephemeris (TDB), used by :func:`check_coverage`
#: only when ``mmxsim.ephemeris`` cannot be imported.
BUILTIN_COVERAGE = ("1950-01-01T00:00:00", "2050-01-01T00:00:00")

MAX_SPAN_DAYS = 3650.0
DAY_S = 86400.0

THIRD_BODIES = ("SUN", "EARTH", "DEIMOS")


# ---------------------------------------------------------------------------
# Errors


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING = _Missing()


def _show(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ScenarioError(MmxsimError, ValueError):
    """A scenario could not be read or is invalid.

    Attributes
    ----------
    problems : list of (path, value, message)
        ``path`` is the YAML path (``initial_state.position_km[1]``), ``value`` the
        offending value (``MISSING`` when a required key is absent) and ``message``
        a sentence such as ``"got 'FOO'; allowed: ICRF, MARS_FIXED"``.
    source : str
        The file name (or ``<text>``, ``<dict>``).
    lines : dict
        YAML path -> line number, where known.
    """

    def __init__(self, source: str, problems: list[tuple[str, Any, str]], lines: dict | None = None):
        self.source = source
        self.problems = list(problems)
        self.lines = dict(lines or {})
        super().__init__(self._render())

    def _line_of(self, path: str) -> int | None:
        p = path
        while p:
            if p in self.lines:
                return self.lines[p]
            q = re.sub(r"(\.[^.\[\]]*|\[[^\[\]]*\])$", "", p) if re.search(r"(\.|\[)", p) else ""
            p = q if q != p else ""  # a last segment the pattern cannot strip: give up, never loop
        return None

    def _render(self) -> str:
        out = [f"scenario {self.source} is invalid:"]
        for path, _value, message in self.problems:
            line = self._line_of(path) if not path.startswith(("line ", "<")) and " line " not in message else None
            out.append(f"  - {path}: {message}" + (f" [line {line}]" if line else ""))
        return "\n".join(out)

    @property
    def paths(self) -> list[str]:
        return [p for p, _, _ in self.problems]


class _Problems(ValueError):
    """Raised inside validators: problems with locations relative to the model."""

    def __init__(self, problems: list[tuple[tuple, Any, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{'.'.join(map(str, loc)) or '<scenario>'}: {msg}" for loc, _, msg in problems))


def _got(value: Any, allowed: str) -> str:
    return f"got {_show(value)}; allowed: {allowed}"


# ---------------------------------------------------------------------------
# Field types


Vec3 = Annotated[
    tuple[float, ...],
    Field(min_length=3, max_length=3, json_schema_extra={"allowed": "exactly 3 finite numbers [x, y, z]"}),
]


def _third_body(name: str) -> str:
    if name == "PHOBOS":
        raise _Problems([((), name, _got(name, "SUN, EARTH, DEIMOS (Phobos' gravity is set by force_model.phobos)"))])
    if name not in THIRD_BODIES:
        raise _Problems([((), name, _got(name, ", ".join(THIRD_BODIES)))])
    return name


ThirdBody = Annotated[str, AfterValidator(_third_body)]


def _iso_string(v: Any) -> Any:
    """Accept datetime/date objects (from other YAML loaders) as ISO strings."""
    import datetime as _dt

    if isinstance(v, _dt.datetime):
        return v.replace(tzinfo=None).isoformat()
    if isinstance(v, _dt.date):
        return v.isoformat()
    return v


_ISO_RE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$")
_ISO_ALLOWED = "an ISO 8601 date such as '2027-09-01T00:00:00' (no time zone; the scale is time_scale)"


@lru_cache(maxsize=256)
def _tdb_seconds(iso: str, scale: str) -> float:
    """TDB seconds past J2000 of an ISO string in ``scale`` (utc, tt, tdb)."""
    from ..time import Epoch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ERFA "dubious year" for UTC far from today
        return float(Epoch(iso, scale=scale.lower()).tdb)


def _check_iso(v: str) -> str:
    v = v.strip()
    if not _ISO_RE.match(v):
        raise _Problems([((), v, _got(v, _ISO_ALLOWED))])
    try:
        _tdb_seconds(v, "tdb")
    except MmxsimError:
        raise _Problems([((), v, _got(v, _ISO_ALLOWED + "; this one is not a valid date"))]) from None
    return v


IsoEpoch = Annotated[str, BeforeValidator(_iso_string), AfterValidator(_check_iso)]


def _unique(values: tuple, what: str) -> tuple:
    seen = set()
    for i, v in enumerate(values):
        if v in seen:
            raise _Problems([((i,), v, _got(v, f"each {what} at most once ({_show(list(values))} repeats {v!r})"))])
        seen.add(v)
    return values


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, validate_default=True)


# ---------------------------------------------------------------------------
# Initial states


class HillState(_Model):
    """State relative to Phobos in the PHOBOS_HILL frame.

    Axes: x radial, pointing away from Mars; y along Phobos' orbital velocity; z along
    Phobos' orbit normal. The velocity is relative to the rotating Hill frame.
    """

    type: Literal["hill"] = Field(description="'hill': Phobos-centred state in the rotating Hill frame")
    position_km: Vec3 = Field(description="position relative to Phobos in the Hill frame, km")
    velocity_km_s: Vec3 = Field(description="velocity relative to the rotating Hill frame, km/s")


class QsoState(_Model):
    """Quasi-satellite orbit shortcut, in the PHOBOS_HILL frame.

    The 1:2 retrograde relative ellipse of the Clohessy-Wiltshire (Hill) equations:
    ``x = -A cos(n t)``, ``y = 2 A sin(n t)``, ``z = Z sin(n t + beta)``, i.e. at t0
    ``x0 = -A, y0 = 0, vx0 = 0, vy0 = 2 n A, z0 = Z sin(beta), vz0 = n Z cos(beta)``,
    with ``n`` Phobos' mean motion (:func:`phobos_mean_motion`).
    """

    type: Literal["qso"] = Field(description="'qso': quasi-satellite orbit about Phobos")
    radial_semi_axis_km: float = Field(gt=0, description="A, radial semi-axis of the QSO ellipse, km (> 13 km, outside Phobos)")
    out_of_plane_km: float = Field(0.0, ge=0, description="Z, out-of-plane amplitude, km")
    phase_deg: float = Field(0.0, description="beta, phase of the out-of-plane oscillation, deg")
    design: Literal["linear", "corrected"] = Field(
        "linear", description="linear: the Hill ellipse below; corrected: the periodic (or 3D) QSO of the Hill "
        "problem with Phobos' harmonics, corrected in the run's force model by multiple shooting over 10 revolutions")

    def hill_state(self, n_rad_s: float | None = None) -> tuple[float, float, float, float, float, float]:
        """Initial (x, y, z, vx, vy, vz) in the Hill frame [km, km/s]."""
        n = phobos_mean_motion() if n_rad_s is None else float(n_rad_s)
        a, z, b = self.radial_semi_axis_km, self.out_of_plane_km, math.radians(self.phase_deg)
        return (-a, 0.0, z * math.sin(b), 0.0, 2.0 * n * a, n * z * math.cos(b))


class CartesianState(_Model):
    """Cartesian state about Mars or Phobos in one of the mmxsim frames.

    In the rotating frames (MARS_FIXED, PHOBOS_FIXED, PHOBOS_HILL) the velocity is the
    one seen in that frame.
    """

    type: Literal["cartesian"] = Field(description="'cartesian': position and velocity in a named frame")
    frame: Literal["ICRF", "MARS_FIXED", "PHOBOS_FIXED", "PHOBOS_HILL"] = Field(
        "ICRF", description="axes: ICRF, MARS_FIXED, PHOBOS_FIXED or PHOBOS_HILL")
    center: Literal["MARS", "PHOBOS"] = Field("MARS", description="origin: MARS or PHOBOS")
    position_km: Vec3 = Field(description="position, km")
    velocity_km_s: Vec3 = Field(description="velocity relative to the frame, km/s")


class KeplerianState(_Model):
    """Osculating Keplerian elements about Mars (GM of Mars alone)."""

    type: Literal["keplerian"] = Field(description="'keplerian': osculating elements about Mars")
    frame: Literal["ICRF", "MARS_EQUATOR"] = Field(
        "ICRF", description="reference plane: ICRF or MARS_EQUATOR (Mars mean equator of date, IAU pole)")
    a_km: float = Field(gt=R_MARS_EQ, description=f"semi-major axis, km (> Mars equatorial radius {R_MARS_EQ} km)",
                        json_schema_extra={"allowed": f"> {R_MARS_EQ} km (Mars equatorial radius)"})
    e: float = Field(ge=0, lt=1, description="eccentricity, 0 <= e < 1 (closed orbits only)",
                     json_schema_extra={"allowed": "0 <= e < 1 (closed orbits only)"})
    i_deg: float = Field(ge=0, le=180, description="inclination, deg, 0..180")
    raan_deg: float = Field(0.0, description="right ascension of the ascending node, deg")
    argp_deg: float = Field(0.0, description="argument of periapsis, deg")
    true_anomaly_deg: float = Field(0.0, description="true anomaly, deg")

    def to_cartesian(self, gm: float | None = None):
        """Position [km] and velocity [km/s] in ``frame`` (two 3-tuples)."""
        from ..bodies import GM_MARS

        mu = GM_MARS if gm is None else gm
        a, e = self.a_km, self.e
        i, O, w, nu = map(math.radians, (self.i_deg, self.raan_deg, self.argp_deg, self.true_anomaly_deg))
        p = a * (1 - e * e)
        r = p / (1 + e * math.cos(nu))
        xp, yp = r * math.cos(nu), r * math.sin(nu)
        vxp, vyp = -math.sqrt(mu / p) * math.sin(nu), math.sqrt(mu / p) * (e + math.cos(nu))
        cO, sO, cw, sw, ci, si = math.cos(O), math.sin(O), math.cos(w), math.sin(w), math.cos(i), math.sin(i)
        m = ((cO * cw - sO * sw * ci, -cO * sw - sO * cw * ci),
             (sO * cw + cO * sw * ci, -sO * sw + cO * cw * ci),
             (sw * si, cw * si))
        pos = tuple(row[0] * xp + row[1] * yp for row in m)
        vel = tuple(row[0] * vxp + row[1] * vyp for row in m)
        return pos, vel


InitialState = Annotated[
    Union[HillState, QsoState, CartesianState, KeplerianState], Field(discriminator="type")
]


# ---------------------------------------------------------------------------
# Spacecraft, forces, integration, events, ephemeris, outputs


class Spacecraft(_Model):
    mass_kg: float = Field(
        2000.0, gt=0,
        description="mass, kg. ASSUMPTION: 2000 kg in the Mars system (MMX is ~4000 kg at launch, "
                    "mmx-facts §2.1, much of it propellant and the return module); set your own value")
    srp_area_m2: float = Field(20.0, ge=0, description="area facing the Sun for SRP, m^2 (ASSUMPTION: 20 m^2, "
                                                        "bus plus solar arrays)")
    cr: float = Field(1.3, ge=1, le=2, description="SRP reflectivity coefficient, 1 (absorbing) .. 2 (mirror)")


class MarsGravity(_Model):
    degree: int = Field(4, description="zonal degree: 0 (point mass) or 2..4 (J2..J4, MRO120F, Konopliv et al. 2020)",
                        json_schema_extra={"allowed": "0 (point mass) or 2, 3, 4"})

    @field_validator("degree")
    @classmethod
    def _deg(cls, v: int) -> int:
        if v not in (0, 2, 3, 4):
            raise _Problems([((), v, _got(v, "0 (point mass) or 2, 3, 4 (zonal degree)"))])
        return v


class PhobosGravity(_Model):
    model: Literal["none", "point_mass", "harmonics"] = Field(
        "harmonics", description="none | point_mass | harmonics (constant-density field of the Ernst et al. 2023 shape)")
    degree: int | None = Field(
        None, description="spherical-harmonic degree 2..10, only with model: harmonics (default 8)")
    near_surface: Literal["polyhedron", "grid", "refuse", "off"] = Field(
        "polyhedron", description="inside the harmonics' switch radius (22 km at degree 8, 20 km at degree 10): "
        "polyhedron (exact field of the same shape, default) | grid (its interpolation grid; minutes to build "
        "once) | refuse (error naming the radius) | off (harmonics everywhere; up to 6e-2 wrong at 14 km)")

    @model_validator(mode="before")
    @classmethod
    def _default_degree(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("model", "harmonics") == "harmonics" and data.get("degree") is None:
            data = {**data, "degree": 8}
        return data

    @model_validator(mode="after")
    def _degree_range(self) -> "PhobosGravity":
        if self.model == "harmonics":
            if not 2 <= self.degree <= 10:
                raise _Problems([(("degree",), self.degree, _got(self.degree, "2..10 with model: harmonics"))])
        elif self.degree is not None:
            raise _Problems([(("degree",), self.degree,
                              _got(self.degree, f"no degree with model: {self.model} (only with model: harmonics)"))])
        return self


class SrpModel(_Model):
    enabled: bool = Field(True, description="solar radiation pressure on/off (cannonball model)")
    shadows: tuple[Literal["MARS", "PHOBOS"], ...] = Field(
        ("MARS", "PHOBOS"), description="bodies whose shadows switch SRP off: MARS, PHOBOS")

    @field_validator("shadows")
    @classmethod
    def _uniq(cls, v: tuple) -> tuple:
        return _unique(v, "body")


class ForceModel(_Model):
    mars: MarsGravity = Field(default_factory=MarsGravity, description="Mars gravity")
    phobos: PhobosGravity = Field(default_factory=PhobosGravity, description="Phobos gravity")
    third_bodies: tuple[ThirdBody, ...] = Field(
        ("SUN", "EARTH", "DEIMOS"), description="point-mass perturbers: SUN, EARTH, DEIMOS (each at most once)")
    srp: SrpModel = Field(default_factory=SrpModel, description="solar radiation pressure")

    @field_validator("third_bodies")
    @classmethod
    def _uniq(cls, v: tuple) -> tuple:
        return _unique(v, "body")


class Propagation(_Model):
    tolerance: float = Field(1e-12, gt=0, le=1e-3, description="integrator relative/absolute tolerance, (0, 1e-3]")
    output_step_s: float = Field(600.0, gt=0, description="output sampling step, s (<= the span)")


class Events(_Model):
    impact: str = Field("shape", description="Phobos surface model for impact detection and altitude: "
                                               "shape (the mesh of shape_model, exact distance) | ellipsoid "
                                               "(IAU 13.0 x 11.4 x 9.1 km, radial altitude) | none | any "
                                               "registered in IMPACT_MODELS")
    shape_model: str = Field("ernst", description="Phobos mesh used by impact: shape: ernst (49,988 facets) | "
                                                  "thomas32k | thomas3k")
    max_distance_km: float | None = Field(
        None, gt=0, description="optional: stop when the distance to Phobos exceeds this, km")
    eclipses: bool = Field(True, description="detect eclipse entries and exits")

    @field_validator("impact")
    @classmethod
    def _impact(cls, v: str) -> str:
        if v not in IMPACT_MODELS:
            raise _Problems([((), v, _got(v, ", ".join(sorted(IMPACT_MODELS))))])
        return v

    @field_validator("shape_model")
    @classmethod
    def _shape_model(cls, v: str) -> str:
        from ..bodies.shapes import PHOBOS_SHAPES

        if v not in PHOBOS_SHAPES:
            raise _Problems([((), v, _got(v, ", ".join(PHOBOS_SHAPES)))])
        return v


def resolve_kernel(entry: str, base_dir: str | os.PathLike | None = None) -> Path:
    """Path of a kernel entry: ``builtin:NAME`` alias, absolute, or relative to ``base_dir``.

    Raises :class:`ValueError` naming what is allowed when the alias is unknown or the
    file is missing.
    """
    if entry.startswith("builtin:"):
        name = entry[len("builtin:"):]
        if name not in KERNEL_ALIASES:
            raise ValueError(f"unknown builtin kernel; allowed: "
                             + ", ".join(f"builtin:{k}" for k in KERNEL_ALIASES) + " or a file path")
        pkg, rel = KERNEL_ALIASES[name]
        if find_spec(pkg) is None:
            raise ValueError(f"{entry} needs the Python package {pkg!r}, which is not installed")
        p = Path(str(resources.files(pkg).joinpath(rel)))
    else:
        p = Path(entry).expanduser()
        if not p.is_absolute():
            p = Path(base_dir or os.getcwd()) / p
        p = Path(os.path.abspath(p))
    if not p.is_file():
        raise ValueError(f"no such file: {p}")
    return p


class EphemerisConfig(_Model):
    backend: Literal["builtin", "spice"] = Field(
        "builtin", description="builtin (analytic, offline) | spice (kernels listed in `kernels`)")
    kernels: tuple[str, ...] = Field(
        (), description="SPICE kernels for backend spice: paths (relative to the scenario file's folder) "
                        "or builtin:de421, builtin:naif0012.tls, builtin:pck00011.tpc")
    moons: Literal["integrated", "mean_elements"] = Field(
        "integrated", description="built-in Phobos/Deimos: integrated (a solution of the spacecraft's force model, "
                                  "fitted to JPL MAR080; 2024-2034) | mean_elements (MAR080 precessing ellipses, "
                                  "1950-2050, not a solution of the force model)")
    phobos_tidal_acceleration: bool = Field(True, description="include Phobos' secular tidal acceleration "
                                            "(always on with moons: integrated)")

    @model_validator(mode="after")
    def _tidal_needs_theory(self):
        if self.moons == "integrated" and not self.phobos_tidal_acceleration:
            raise _Problems([(("phobos_tidal_acceleration",), False,
                              _got(False, "true with moons 'integrated' (the integrated Phobos includes the tidal "
                                          "acceleration); set moons: mean_elements to switch it off"))])
        return self

    @field_validator("kernels")
    @classmethod
    def _kernels(cls, v: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        base = (info.context or {}).get("base_dir")
        out, problems = [], []
        for i, entry in enumerate(v):
            if entry.startswith("builtin:"):
                out.append(entry)
            else:
                out.append(os.path.abspath(Path(base or os.getcwd()) / Path(entry).expanduser()))
            try:
                resolve_kernel(entry, base)
            except ValueError as exc:
                problems.append(((i,), entry, f"got {_show(entry)}; {exc}"
                                 if "allowed" in str(exc) else _got(entry, f"an existing kernel file ({exc})")))
        if problems:
            raise _Problems(problems)
        return tuple(out)

    def kernel_paths(self) -> list[Path]:
        """The kernels as absolute paths (``builtin:`` aliases resolved)."""
        return [resolve_kernel(k) for k in self.kernels]


class Outputs(_Model):
    oem: bool = Field(True, description="write a CCSDS OEM of the trajectory")
    timeseries: Literal["csv", "parquet", "none"] = Field("csv", description="time series format: csv | parquet | none")
    report: bool = Field(True, description="write the run report")
    events: bool = Field(True, description="write the merged event list (events.csv, events.ics)")
    spk: bool = Field(False, description="write a SPICE SPK of the trajectory (trajectory.bsp, NAIF ID -239)")
    czml: bool = Field(False, description="write a CZML document for Cesium (trajectory.czml)")


# ---------------------------------------------------------------------------
# Analyses beyond the trajectory (proximity operations...): each is optional


class QsoFamilyAnalysis(_Model):
    """The planar QSO family in the circular Hill problem (CNES proximity-operations design)."""

    degree: int = Field(10, ge=0, le=10, description="Phobos gravity: 0 (point mass) or SH degree 1..10")
    sizes_km: tuple[float, ...] = Field(
        (200.0, 100.0, 50.0, 30.0, 20.0), min_length=1, max_length=40,
        description="QSO sizes (radial semi-axis at the Mars-side section crossing), km, each in (13, 1000]")

    @field_validator("sizes_km")
    @classmethod
    def _sizes(cls, v: tuple) -> tuple:
        bad = [((i,), x, _got(x, "a size in km with 13 < size <= 1000 (outside Phobos)"))
               for i, x in enumerate(v) if not (13.0 < x <= 1000.0)]
        if bad:
            raise _Problems(bad)
        return v


#: The packaged Phobos shape models (mmxsim.bodies.shapes.PHOBOS_SHAPES).
_SHAPES = Literal["thomas3k", "thomas32k", "ernst"]


class SurfaceMapAnalysis(_Model):
    """Per-facet effective gravity and slope of Phobos (landing-site selection)."""

    shape: _SHAPES = Field("thomas3k", description="packaged Phobos shape model: thomas3k | thomas32k | ernst")
    model: Literal["hill", "exact"] = Field(
        "hill", description="rotation and Mars tide: hill (linearised) | exact (Mars point mass)")
    slope_limit_deg: float = Field(20.0, gt=0, lt=90, description="slope limit for landing sites, deg, (0, 90)")


class TransferAnalysis(_Model):
    """A minimum-delta-v two-impulse transfer between two planar QSOs (Hill problem, Phobos SH)."""

    from_size_km: float = Field(100.0, gt=13, le=1000, description="departure QSO size, km, (13, 1000]")
    to_size_km: float = Field(50.0, gt=13, le=1000, description="arrival QSO size, km, (13, 1000]")
    degree: int = Field(2, ge=0, le=10, description="Phobos gravity: 0 (point mass) or SH degree 1..10")
    tof_max_days: float = Field(1.0, gt=0, le=5, description="longest time of flight searched, days, (0, 5]")
    search_points: int = Field(4, ge=1, le=16, description="phases per orbit in the grid search, 1..16")


class LandingAnalysis(_Model):
    """Descent from a planar QSO to a site and its landing-dispersion Monte Carlo."""

    qso_size_km: float = Field(30.0, gt=13, le=200, description="departure QSO size, km, (13, 200]")
    site_lat_deg: float = Field(10.0, ge=-90, le=90, description="site planetocentric latitude, deg, [-90, 90]")
    site_lon_deg: float = Field(30.0, ge=-360, le=360, description="site east longitude, deg, [-360, 360]")
    transfer_time_s: float = Field(3600.0, ge=600, le=86400, description="departure-to-braking time, s")
    samples: int = Field(1000, ge=10, le=100000, description="Monte Carlo trajectories, 10..100000")
    seed: int = Field(0, ge=0, description="random seed (same seed, same result)")
    grid_deg: float = Field(3.0, ge=1, le=6, description="fast-gravity grid spacing, deg, [1, 6]")
    max_vertical_m_s: float = Field(0.5, gt=0, le=5, description="touchdown vertical speed limit, m/s (assumed)")
    max_horizontal_m_s: float = Field(0.1, gt=0, le=5, description="touchdown horizontal speed limit, m/s (assumed)")
    nav_pos_m: float = Field(10.0, ge=0, description="navigation position error, 1 sigma per axis, m (assumed)")
    nav_vel_mm_s: float = Field(1.0, ge=0, description="navigation velocity error, 1 sigma per axis, mm/s (assumed)")
    exec_mag_pct: float = Field(1.0, ge=0, le=50, description="burn magnitude error, 1 sigma, % (assumed)")
    exec_point_deg: float = Field(0.5, ge=0, le=30, description="burn pointing error, 1 sigma per axis, deg (assumed)")


class AgencyRules(_Model):
    """Booking rules of one agency's antennas (ASSUMPTIONS: MMX's allocations are unpublished)."""

    max_hours_per_day: float | None = Field(None, ge=0, le=24, description="antenna hours per UTC day, 0..24")
    max_hours_per_week: float | None = Field(None, ge=0, le=168, description="antenna hours per week, 0..168")
    min_pass_s: float = Field(1800.0, ge=0, description="shortest bookable track, s")
    setup_s: float = Field(1800.0, ge=0, description="set-up time before each track, s")
    teardown_s: float = Field(900.0, ge=0, description="tear-down time after each track, s")


class HorizonMaskSpec(_Model):
    """A station's horizon: elevation (deg) at azimuths (deg), linear between, periodic in 360."""

    azimuth_deg: tuple[float, ...] = Field(min_length=2, description="azimuths, deg, increasing within [0, 360)")
    elevation_deg: tuple[float, ...] = Field(min_length=2, description="mask elevations, deg, each in [0, 90]")


class StationBandSpec(_Model):
    """Per-band overrides of a station (None: the catalogue's or the size-class default)."""

    g_t_db_k: float | None = Field(None, ge=-20, le=80, description="receive G/T, dB/K")
    eirp_dbw: float | None = Field(None, ge=0, le=140, description="uplink EIRP, dBW")
    elevation_mask_deg: float | None = Field(None, ge=0, le=90, description="band's own elevation mask, deg")
    sep_limit_deg: float | None = Field(None, ge=0, le=90, description="Sun-Earth-probe blackout limit, deg")


class StationSpec(_Model):
    """A ground station added by the user, or overrides of a catalogue station (same name).

    For a new station give ``lat_deg``, ``lon_deg`` (geodetic, east positive) and
    ``height_m``; for a catalogue station give only what changes (e.g. ``horizon_mask``)."""

    name: str = Field(min_length=1, max_length=40, description="station name (a catalogue name overrides it)")
    agency: str | None = Field(None, description="agency name, as used by the booking rules")
    lat_deg: float | None = Field(None, ge=-90, le=90, description="geodetic latitude, deg")
    lon_deg: float | None = Field(None, ge=-180, le=360, description="east longitude, deg")
    height_m: float | None = Field(None, ge=-500, le=9000, description="height above the WGS84 ellipsoid, m")
    diameter_m: float | None = Field(None, gt=0, le=150, description="antenna diameter, m")
    bands: dict[Literal["S", "X", "Ka"], StationBandSpec] | None = Field(
        None, description="bands the station receives, with optional overrides")
    elevation_mask_deg: float | None = Field(None, ge=0, le=90, description="constant elevation mask, deg")
    horizon_mask: HorizonMaskSpec | None = Field(None, description="azimuth-dependent horizon mask")

    def make_kwargs(self) -> dict:
        d = self.model_dump(exclude_none=True)
        if "bands" in d:
            d["bands"] = {b: (v or True) for b, v in d["bands"].items()}
        return d


class BlockedSpec(_Model):
    """A window in which another mission holds a station's antenna."""

    station: str = Field(description="station name")
    start: IsoEpoch = Field(description=f"start, UTC: {_ISO_ALLOWED}")
    stop: IsoEpoch = Field(description=f"stop, UTC: {_ISO_ALLOWED}")
    reason: str = Field("", description="free text (e.g. the other mission)")

    @model_validator(mode="after")
    def _order(self):
        if not _tdb_seconds(self.stop, "utc") > _tdb_seconds(self.start, "utc"):
            raise _Problems([(("stop",), self.stop, _got(self.stop, f"a time after start ({self.start})"))])
        return self


class DataPhase(_Model):
    """Science data production during one phase (UTC span) of the run."""

    name: str = Field(min_length=1, description="phase name")
    start: IsoEpoch = Field(description=f"start, UTC: {_ISO_ALLOWED}")
    stop: IsoEpoch = Field(description=f"stop, UTC: {_ISO_ALLOWED}")
    rates_bps: dict[str, float] = Field(description="data production per instrument in this phase, bit/s, >= 0")

    @model_validator(mode="after")
    def _check(self):
        bad = [(("rates_bps", k), r, _got(r, "a data rate >= 0 bit/s")) for k, r in self.rates_bps.items()
               if not (math.isfinite(r) and r >= 0)]
        if not _tdb_seconds(self.stop, "utc") > _tdb_seconds(self.start, "utc"):
            bad.append((("stop",), self.stop, _got(self.stop, f"a time after start ({self.start})")))
        if bad:
            raise _Problems(bad)
        return self


class TelecomSpec(_Model):
    """The spacecraft's downlink chain in the analysed band. MMX's values are unpublished:
    None keeps the documented ASSUMPTION of :func:`mmxsim.comms.link.mmx_telecom_assumed`."""

    tx_power_w: float | None = Field(None, gt=0, le=1000, description="RF transmit power, W")
    antenna_diameter_m: float | None = Field(None, gt=0, le=10, description="high-gain antenna diameter, m")
    antenna_efficiency: float | None = Field(None, gt=0, le=1, description="aperture efficiency, (0, 1]")
    pointing_loss_db: float | None = Field(None, ge=0, le=20, description="pointing loss, dB")
    circuit_loss_db: float | None = Field(None, ge=0, le=20, description="circuit loss, dB")


class CommsAnalysis(_Model):
    """Passes, downlink rates, an optimised booking plan and the onboard recorder over the run's span."""

    stations: tuple[str, ...] = Field(("DSS-14", "DSS-43", "DSS-63", "DSS-25", "DSS-35", "DSS-55", "DSA-1", "DSA-3",
                                       "MDSS"), min_length=1, description="station names from the catalogue")
    band: Literal["X", "Ka"] = Field("X", description="downlink band: X | Ka")
    code: str = Field("turbo-1/2", description="CCSDS code of the downlink (see mmxsim.comms.link.CODES)")
    availability_pct: float = Field(99.0, ge=50, le=99.99, description="weather availability, %, 50..99.99")
    margin_db: float = Field(3.0, ge=0, le=20, description="required link margin, dB")
    instrument_rates_bps: dict[str, float] = Field(
        {"TENGOO": 5000.0, "OROCHI": 5000.0, "MIRS": 8000.0, "MEGANE": 500.0, "LIDAR": 200.0},
        description="science data production per instrument, bit/s (ASSUMPTIONS)")
    recorder_gbit: float = Field(64.0, gt=0, description="onboard recorder capacity, Gbit (ASSUMPTION)")
    rdr_gbit: float = Field(0.0, ge=0, description="capsule Retrieval Data Recorder capacity used as last resort, Gbit")
    user_stations: list[StationSpec] = Field(
        [], description="stations to add, or catalogue stations to override (e.g. a horizon mask)")
    blocked: list[BlockedSpec] = Field([], description="windows where other missions hold an antenna")
    phases: list[DataPhase] = Field(
        [], description="data production by phase (UTC spans); empty: instrument_rates_bps over the whole run")
    spacecraft: TelecomSpec = Field(default_factory=TelecomSpec,
                                    description="spacecraft downlink chain (unpublished: defaults are assumptions)")
    required_gbit: float | None = Field(
        None, gt=0, description="book the fewest hours that return this volume instead of the most volume, Gbit")
    time_limit_s: float = Field(30.0, gt=0, le=3600, description="MILP solver time limit, s")
    rules: dict[str, AgencyRules] = Field(
        {"NASA DSN": AgencyRules(max_hours_per_day=8.0), "ESA ESTRACK": AgencyRules(max_hours_per_day=4.0),
         "JAXA": AgencyRules(max_hours_per_day=8.0)},
        description="booking rules per agency name (as in the station catalogue); '*' for the others")

    def catalogue(self) -> dict:
        """The packaged station catalogue merged with ``user_stations``."""
        from ..comms.stations import merge_stations

        return merge_stations([s.make_kwargs() for s in self.user_stations])

    @model_validator(mode="after")
    def _stations(self):
        from ..comms.stations import get_station

        bad = []
        try:
            cat = self.catalogue()
        except MmxsimError as exc:
            i = next((k for k, s in enumerate(self.user_stations)
                      if s.name in str(getattr(exc, "field", ""))), None)
            f = getattr(exc, "field", "user_stations")
            where = ("user_stations",) if i is None else ("user_stations", i)
            raise _Problems([(where, getattr(exc, "value", None),
                              _got(getattr(exc, "value", None), f"{f}: {getattr(exc, 'allowed', exc)}"))]) from None
        names = set()
        for i, name in enumerate(self.stations):
            try:
                names.add(get_station(name, cat).name)
            except MmxsimError:
                bad.append((("stations", i), name, _got(name, "a station of the catalogue or user_stations: "
                                                         + ", ".join(cat))))
        for i, b in enumerate(self.blocked):
            try:
                if get_station(b.station, cat).name not in names:
                    raise MmxsimError
            except MmxsimError:
                bad.append((("blocked", i, "station"), b.station, _got(b.station, "one of stations: "
                                                                        + ", ".join(self.stations))))
        if bad:
            raise _Problems(bad)
        return self

    @field_validator("instrument_rates_bps")
    @classmethod
    def _rates(cls, v: dict) -> dict:
        bad = [((k,), r, _got(r, "a data rate >= 0 bit/s")) for k, r in v.items() if not r >= 0]
        if bad:
            raise _Problems(bad)
        return v


class QsoCampaignAnalysis(_Model):
    """The preset MMX QSO campaign (five planar + one 3D QSO; sizes are assumptions) and,
    optionally, the 3D QSO's station-keeping cost in the full model."""

    degree: int = Field(8, ge=2, le=10, description="Phobos gravity SH degree, 2..10")
    station_keeping_samples: int = Field(
        0, ge=0, le=50, description="Monte Carlo runs of 3D-QSO station keeping over the run's span (0: off), 0..50")
    nav_pos_m: float = Field(10.0, ge=0, description="navigation position error, 1 sigma per axis, m (assumed)")
    nav_vel_mm_s: float = Field(0.1, ge=0, description="navigation velocity error, 1 sigma per axis, mm/s (assumed)")
    exec_pct: float = Field(2.0, ge=0, le=50, description="manoeuvre execution error, 1 sigma, % (assumed)")
    interval_revs: float = Field(1.25, gt=0, le=10, description="revolutions between manoeuvres (not 0.5, 1, 1.5...)")
    seed: int = Field(0, ge=0, description="random seed")




class MeganeAnalysis(_Model):
    """NASA's MEGANE along the run (count rates, retrieved abundances) and the hours each QSO
    needs to reach the precision targets."""

    shape: _SHAPES = Field("thomas3k", description="Phobos shape model: thomas3k | thomas32k | ernst")
    composition: Literal["CI", "BSM", "MARS_SURFACE"] | dict[str, float] = Field(
        "CI", description="Phobos surface composition: CI | BSM | MARS_SURFACE or {element: weight fraction}")
    step_s: float = Field(600.0, ge=10, le=86400, description="sampling of the run for the counts, s")
    gcr_factor: float = Field(1.0, gt=0, le=5, description="cosmic-ray flux relative to the solar-cycle mean")
    qso_sizes_km: tuple[float, ...] = Field((100.0, 50.0, 30.0, 20.0), min_length=1,
                                            description="QSOs of the precision table, km")
    targets_pct: tuple[float, ...] = Field((10.0, 20.0, 30.0), min_length=1,
                                           description="relative 1-sigma precision targets, %, (0, 100]")
    seed: int = Field(0, ge=0, description="random seed of the simulated counts")

    @field_validator("composition", mode="before")
    @classmethod
    def _composition(cls, v):
        from ..instruments.megane import COMPOSITIONS, composition_matrix

        allowed = " | ".join(COMPOSITIONS) + " or {element: weight fraction}"
        if isinstance(v, str):
            if v not in COMPOSITIONS:
                raise _Problems([((), v, _got(v, allowed))])
        elif isinstance(v, dict):
            try:
                composition_matrix({str(k): float(x) for k, x in v.items()}, 1)
            except (MmxsimError, TypeError, ValueError) as exc:
                raise _Problems([((), v, _got(v, f"{allowed} ({getattr(exc, 'allowed', exc)})"))]) from None
        else:
            raise _Problems([((), v, _got(v, allowed))])
        return v

    @field_validator("qso_sizes_km")
    @classmethod
    def _sizes(cls, v):
        bad = [((i,), x, _got(x, "a QSO size in (13, 1000] km")) for i, x in enumerate(v) if not 13 < x <= 1000]
        if bad:
            raise _Problems(bad)
        return v

    @field_validator("targets_pct")
    @classmethod
    def _targets(cls, v):
        bad = [((i,), x, _got(x, "a precision in (0, 100] %")) for i, x in enumerate(v) if not 0 < x <= 100]
        if bad:
            raise _Problems(bad)
        return v


class MirsAnalysis(_Model):
    """CNES' MIRS along the run: spectra with thermal emission, SNR, band detectability, coverage."""

    shape: _SHAPES = Field("thomas3k", description="Phobos shape model: thomas3k | thomas32k | ernst")
    surface: Literal["phobos", "phobos_hydrated", "mixed"] = Field(
        "phobos_hydrated", description="surface spectrum preset: phobos | phobos_hydrated | mixed")
    step_s: float = Field(600.0, ge=10, le=86400, description="sampling of the run, s")
    integration_s: float = Field(2.0, gt=0, le=600, description="integration time per observation, s")
    resolution_m: tuple[float, ...] = Field((5.0, 20.0, 50.0), min_length=1,
                                            description="resolution thresholds of the coverage fractions, m")
    k_sigma: float = Field(3.0, gt=0, le=10, description="detection threshold, sigma")


class ObservationAnalysis(_Model):
    """Observation planning along the run: TENGOO, OROCHI (JAXA) coverage at given resolutions and
    illumination, by latitude band, and the LIDAR's ranging availability and ground track."""

    shape: _SHAPES = Field("thomas3k", description="Phobos shape model: thomas3k | thomas32k | ernst")
    instruments: tuple[Literal["TENGOO", "OROCHI", "LIDAR"], ...] = Field(
        ("TENGOO", "OROCHI", "LIDAR"), min_length=1, description="instruments: TENGOO, OROCHI, LIDAR")
    step_s: float = Field(300.0, ge=10, le=86400, description="sampling of the run, s")
    gsd_m: tuple[float, ...] = Field((0.3, 1.0, 3.0, 10.0, 30.0, 100.0), min_length=1,
                                     description="ground sampling distances of the coverage fractions, m/pixel")
    max_incidence_deg: float | None = Field(None, ge=0, le=90, description="keep images with incidence below, deg")
    max_emission_deg: float | None = Field(None, ge=0, le=90, description="keep images with emission below, deg")
    band_deg: float = Field(30.0, ge=5, le=90, description="latitude band width, deg")
    occlusion: bool = Field(True, description="self-occlusion and self-shadowing by ray casting")

    @field_validator("gsd_m")
    @classmethod
    def _gsd(cls, v):
        bad = [((i,), x, _got(x, "a GSD > 0 m/pixel")) for i, x in enumerate(v) if not x > 0]
        if bad:
            raise _Problems(bad)
        return v


def _site_pair(m):
    """A site is both latitude and longitude, or neither."""
    if (m.site_lat_deg is None) != (m.site_lon_deg is None):
        raise _Problems([(("site_lon_deg",), m.site_lon_deg,
                          _got(m.site_lon_deg, "both site_lat_deg and site_lon_deg, or neither"))])
    return m


class WindowsAnalysis(_Model):
    """Porkchop maps Earth->Mars 2026-2027 and Mars->Earth 2030-2031 (DE421, our Lambert solver)."""

    grid: int = Field(150, ge=20, le=500, description="departure x arrival grid points per axis, 20..500")


class BudgetAnalysis(_Model):
    """Mars orbit insertion (finite burn) and the delta-v / propellant budget to a QSO and home."""

    grid: int = Field(80, ge=20, le=500, description="porkchop grid used to pick the transfer, 20..500")
    wet_mass_kg: float = Field(4000.0, gt=500, le=10000, description="mass at Mars arrival, kg (ASSUMPTION)")
    isp_s: float = Field(320.0, gt=100, le=500, description="main-engine specific impulse, s (ASSUMPTION)")
    thrust_n: float = Field(3000.0, gt=10, le=1e5, description="total main-engine thrust, N (ASSUMPTION)")
    qso_size_km: float = Field(100.0, gt=13, le=1000, description="first QSO, km")


class DeimosAnalysis(_Model):
    """Resonant orbits with repeated Deimos flybys before Mars departure."""

    first_flyby: IsoEpoch = Field("2030-03-01T00:00:00", description=f"first flyby, UTC: {_ISO_ALLOWED}")
    miss_km: float = Field(100.0, gt=0, le=5000, description="designed flyby distance, km")
    flybys_per_orbit: int = Field(4, ge=1, le=20, description="flybys propagated per resonant orbit")


class EntryAnalysis(_Model):
    """Capsule entry at Woomera (Hayabusa2-like capsule and entry state) and its landing footprint."""

    samples: int = Field(100, ge=10, le=5000, description="Monte Carlo entries for the footprint")
    seed: int = Field(0, ge=0, description="random seed")
    atmosphere: Literal["ussa76", "msis"] = Field("ussa76", description="ussa76 | msis (needs pymsis)")


class PlanetaryProtectionAnalysis(_Model):
    """Probability that the returned sample holds a viable Martian microbe (Category V)."""

    sample_mass_g: float = Field(10.0, gt=0, le=1000, description="sample mass, g")
    depth_cm: float = Field(2.0, ge=0, le=100, description="sampling depth, cm")


class TouchdownAnalysis(_Model):
    """Landing-gear touchdown of the spacecraft: rebound, tip-over margin, safe envelope."""

    vertical_m_s: float = Field(0.5, gt=0, le=3, description="touchdown vertical speed, m/s")
    horizontal_m_s: float = Field(0.1, ge=0, le=3, description="touchdown horizontal speed, m/s")
    slope_deg: float | None = Field(None, ge=0, le=45, description="ground slope, deg (None: flat or the site's)")
    site_lat_deg: float | None = Field(None, ge=-90, le=90, description="site latitude on Phobos, deg")
    site_lon_deg: float | None = Field(None, ge=-360, le=360, description="site east longitude on Phobos, deg")
    hold_down_thrust_n: float = Field(0.0, ge=0, le=1000, description="thrust pressing down after contact, N")
    hold_down_s: float = Field(60.0, ge=0, le=600, description="duration of the hold-down thrust, s")
    monte_carlo: int = Field(0, ge=0, le=5000, description="Monte Carlo touchdowns (0: off)")
    seed: int = Field(0, ge=0, description="random seed")

    _site = model_validator(mode="after")(_site_pair)


class RoverAnalysis(_Model):
    """IDEFIX (CNES/DLR) deployment Monte Carlo at a site, and the DLR test facilities beside Phobos."""

    samples: int = Field(200, ge=10, le=100000, description="Monte Carlo deployments")
    seed: int = Field(0, ge=0, description="random seed")
    site_lat_deg: float | None = Field(None, ge=-90, le=90, description="release site latitude, deg (None: default)")
    site_lon_deg: float | None = Field(None, ge=-360, le=360, description="release site east longitude, deg")
    plate_deg: float = Field(15.0, ge=0, le=45, description="inclined plate of the test-facility comparison, deg")

    _site = model_validator(mode="after")(_site_pair)


class SamplingAnalysis(_Model):
    """C-Sampler (JAXA) and P-Sampler (NASA) yields and the probability of >= 10 g."""

    samples: int = Field(20000, ge=100, le=1000000, description="Monte Carlo draws of regolith properties")
    seed: int = Field(0, ge=0, description="random seed")


class QsoTime(_Model):
    """Time spent measuring in one QSO."""

    size_km: float = Field(gt=13, le=1000, description="QSO size, km, (13, 1000]")
    hours: float = Field(gt=0, le=1e5, description="hours of MEGANE data in that QSO")


class OriginAnalysis(_Model):
    """Capture or giant impact? Classification accuracy vs measurement error beside Hirata et
    al. 2024, and the verdict on a simulated MEGANE measurement of a chosen true Phobos."""

    asteroid: Literal["CI", "CM", "CV"] = Field("CM", description="true Phobos' asteroid material: CI | CM | CV")
    mars_fraction: float = Field(0.0, ge=0, le=1, description="true Phobos' Mars mass fraction (0: captured)")
    plan: list[QsoTime] = Field(
        [QsoTime(size_km=100, hours=500), QsoTime(size_km=50, hours=500), QsoTime(size_km=30, hours=500),
         QsoTime(size_km=20, hours=1000)], min_length=1,
        description="MEGANE hours in each QSO (ASSUMED campaign plan): [{size_km, hours}, ...]")
    shape: _SHAPES = Field("thomas3k", description="Phobos shape model for MEGANE")
    include_k: bool = Field(False, description="use K as well as the six key elements")
    errors_pct: tuple[float, ...] = Field((1, 2, 5, 10, 15, 20, 25, 30, 40, 50, 70, 100), min_length=2,
                                          description="errors of the accuracy curve, %")
    trials: int = Field(1000, ge=100, le=200000, description="Monte Carlo truths per curve point")
    seed: int = Field(0, ge=0, description="random seed")

    @field_validator("errors_pct")
    @classmethod
    def _errs(cls, v):
        bad = [((i,), x, _got(x, "an error in (0, 1000] %")) for i, x in enumerate(v) if not 0 < x <= 1000]
        if bad:
            raise _Problems(bad)
        return v


class Analyses(_Model):
    """Analyses run after the trajectory; each appears as a report section and in summary.json."""

    qso_family: QsoFamilyAnalysis | None = Field(None, description="planar QSO family table and plot")
    qso_campaign: QsoCampaignAnalysis | None = Field(None, description="MMX QSO campaign preset, 3D station keeping")
    surface_map: SurfaceMapAnalysis | None = Field(None, description="Phobos slope and effective-gravity maps")
    transfer: TransferAnalysis | None = Field(None, description="QSO-to-QSO transfer beside the published values")
    landing: LandingAnalysis | None = Field(None, description="descent, touchdown and landing-dispersion ellipse")
    comms: CommsAnalysis | None = Field(None, description="station passes, link rates, bookings, data volume")
    megane: MeganeAnalysis | None = Field(None, description="MEGANE count rates along the run, precision per QSO")
    mirs: MirsAnalysis | None = Field(None, description="MIRS spectra, SNR, band detectability and coverage")
    observation: ObservationAnalysis | None = Field(
        None, description="camera coverage by resolution, illumination and latitude; LIDAR availability")
    rover: RoverAnalysis | None = Field(None, description="IDEFIX deployment dispersion, DLR test facilities")
    touchdown: TouchdownAnalysis | None = Field(None, description="landing gear: rebound, tip-over, envelope")
    sampling: SamplingAnalysis | None = Field(None, description="C-/P-Sampler yields, P(sample >= 10 g)")
    windows: WindowsAnalysis | None = Field(None, description="launch and return porkchop maps")
    budget: BudgetAnalysis | None = Field(None, description="MOI finite burn, delta-v and propellant budget")
    deimos: DeimosAnalysis | None = Field(None, description="Deimos flybys from resonant orbits")
    entry: EntryAnalysis | None = Field(None, description="capsule entry at Woomera and landing footprint")
    planetary_protection: PlanetaryProtectionAnalysis | None = Field(
        None, description="probability of a viable Martian microbe in the sample")
    origin: OriginAnalysis | None = Field(None, description="origin inference: accuracy vs error, verdict")


# ---------------------------------------------------------------------------
# The scenario


class Scenario(_Model):
    """One run. See the module docstring and ``scenarios/reference_qso.yaml``."""

    name: str = Field(min_length=1, max_length=80, description="scenario name, 1..80 characters")
    description: str = Field("", description="free text")
    epoch: IsoEpoch = Field(description=f"initial epoch: {_ISO_ALLOWED}")
    time_scale: Literal["UTC", "TT", "TDB"] = Field("UTC", description="scale of epoch and stop: UTC | TT | TDB")
    duration_days: float | None = Field(
        None, gt=0, le=MAX_SPAN_DAYS,
        description=f"span in days, 0 < d <= {MAX_SPAN_DAYS:g} (give exactly one of duration_days or stop)",
        json_schema_extra={"allowed": f"a span in days, 0 < duration_days <= {MAX_SPAN_DAYS:g}"})
    stop: IsoEpoch | None = Field(None, description="final epoch, ISO 8601 in time_scale (instead of duration_days)")
    initial_state: InitialState = Field(description="initial state; `type` is one of hill, qso, cartesian, keplerian")
    spacecraft: Spacecraft = Field(default_factory=Spacecraft)
    force_model: ForceModel = Field(default_factory=ForceModel)
    propagation: Propagation = Field(default_factory=Propagation)
    events: Events = Field(default_factory=Events)
    ephemeris: EphemerisConfig = Field(default_factory=EphemerisConfig)
    outputs: Outputs = Field(default_factory=Outputs)
    analyses: Analyses = Field(default_factory=Analyses, description="optional analyses beyond the trajectory")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v.strip():
            raise _Problems([((), v, _got(v, "a non-blank name of 1..80 characters"))])
        return v.strip()

    # -- derived quantities ------------------------------------------------
    @property
    def t0_tdb(self) -> float:
        """Initial epoch, TDB seconds past J2000."""
        return _tdb_seconds(self.epoch, self.time_scale)

    @property
    def t1_tdb(self) -> float:
        """Final epoch, TDB seconds past J2000."""
        if self.stop is not None:
            return _tdb_seconds(self.stop, self.time_scale)
        return self.t0_tdb + self.duration_days * DAY_S

    @property
    def span_s(self) -> float:
        return self.t1_tdb - self.t0_tdb

    @property
    def span_days(self) -> float:
        return self.span_s / DAY_S

    @property
    def needs_phobos_ephemeris(self) -> bool:
        """True when the run needs Phobos' position (state, gravity, shadows, events)."""
        st = self.initial_state
        return (
            isinstance(st, (HillState, QsoState))
            or (isinstance(st, CartesianState) and (st.center == "PHOBOS" or st.frame.startswith("PHOBOS")))
            or self.force_model.phobos.model != "none"
            or (self.force_model.srp.enabled and "PHOBOS" in self.force_model.srp.shadows)
            or self.events.impact != "none"
            or self.events.max_distance_km is not None
        )

    def bodies_used(self) -> list[str]:
        """Bodies whose ephemeris the run needs, among MARS, SUN, EARTH, PHOBOS, DEIMOS."""
        fm = self.force_model
        used = ["MARS"]
        if "SUN" in fm.third_bodies or fm.srp.enabled or self.events.eclipses:
            used.append("SUN")
        if "EARTH" in fm.third_bodies:
            used.append("EARTH")
        if self.needs_phobos_ephemeris:
            used.append("PHOBOS")
        if "DEIMOS" in fm.third_bodies:
            used.append("DEIMOS")
        return used

    # -- cross-field checks --------------------------------------------------
    @model_validator(mode="after")
    def _semantics(self) -> "Scenario":
        problems: list[tuple[tuple, Any, str]] = []
        add = problems.append

        # span
        if self.duration_days is None and self.stop is None:
            add((("duration_days",), MISSING,
                 "missing; give exactly one of duration_days (days, > 0) or stop (ISO 8601 epoch)"))
        elif self.duration_days is not None and self.stop is not None:
            add((("stop",), self.stop, _got(self.stop, f"exactly one of duration_days or stop "
                                                       f"(duration_days: {self.duration_days:g} is also given)")))
        elif self.stop is not None:
            span = self.span_days
            if span <= 0:
                add((("stop",), self.stop, _got(self.stop, f"an epoch after epoch {self.epoch!r}")))
            elif span > MAX_SPAN_DAYS:
                add((("stop",), self.stop, _got(self.stop, f"at most {MAX_SPAN_DAYS:g} days after epoch "
                                                           f"(this is {span:.1f} days)")))
        if not any(p[0][0] in ("duration_days", "stop") for p in problems):
            span_s = self.span_s
            if self.propagation.output_step_s > span_s:
                add((("propagation", "output_step_s"), self.propagation.output_step_s,
                     _got(self.propagation.output_step_s, f"<= the span of the run, {span_s:g} s")))

        # ephemeris
        eph = self.ephemeris
        if eph.backend == "spice" and not eph.kernels:
            add((("ephemeris", "kernels"), list(eph.kernels),
                 _got([], "a non-empty list of kernels with backend: spice "
                          "(e.g. [builtin:de421, builtin:naif0012.tls, builtin:pck00011.tpc])")))
            st = self.initial_state
            if isinstance(st, (HillState, QsoState)) or (isinstance(st, CartesianState) and st.center == "PHOBOS"):
                path = ("initial_state", "center") if isinstance(st, CartesianState) else ("initial_state", "type")
                val = st.center if isinstance(st, CartesianState) else st.type
                add((path, val, _got(val, "a Phobos-relative state only when Phobos is in the ephemeris: "
                                          "list kernels with Phobos (backend: spice) or use backend: builtin")))
        if eph.backend == "builtin" and eph.kernels:
            add((("ephemeris", "kernels"), list(eph.kernels),
                 _got(list(eph.kernels), "[] with backend: builtin (kernels are read only with backend: spice)")))

        # initial state geometry
        st = self.initial_state
        if isinstance(st, QsoState) and st.radial_semi_axis_km <= PHOBOS_RADII[0]:
            add((("initial_state", "radial_semi_axis_km"), st.radial_semi_axis_km,
                 _got(st.radial_semi_axis_km, f"> {PHOBOS_RADII[0]} km (the start point x0 = -A must lie "
                                              f"outside Phobos' long semi-axis)")))
        elif isinstance(st, HillState) or (isinstance(st, CartesianState) and st.center == "PHOBOS"):
            frame = "PHOBOS_HILL" if isinstance(st, HillState) else st.frame
            if _inside_phobos(st.position_km, frame):
                add((("initial_state", "position_km"), list(st.position_km),
                     _got(list(st.position_km), f"a point outside Phobos (tri-axial {PHOBOS_RADII} km)")))
        elif isinstance(st, CartesianState):
            r = math.sqrt(sum(x * x for x in st.position_km))
            if r <= R_MARS_POL:
                add((("initial_state", "position_km"), list(st.position_km),
                     _got(list(st.position_km), f"a point outside Mars (|r| = {r:.1f} km <= polar radius "
                                                f"{R_MARS_POL} km)")))
        elif isinstance(st, KeplerianState):
            rp = st.a_km * (1 - st.e)
            if rp <= R_MARS_EQ:
                add((("initial_state", "e"), st.e,
                     _got(st.e, f"< {1 - R_MARS_EQ / st.a_km:.4f}: periapsis a(1-e) = {rp:.1f} km is inside "
                                f"Mars (equatorial radius {R_MARS_EQ} km)")))

        # max distance vs start
        dmax = self.events.max_distance_km
        if dmax is not None:
            r0 = None
            if isinstance(st, QsoState):
                hs = st.hill_state(1.0)
                r0 = math.sqrt(hs[0] ** 2 + hs[1] ** 2 + hs[2] ** 2)
            elif isinstance(st, HillState) or (isinstance(st, CartesianState) and st.center == "PHOBOS"):
                r0 = math.sqrt(sum(x * x for x in st.position_km))
            if dmax <= PHOBOS_RADII[0] or (r0 is not None and dmax <= r0):
                lim = max(PHOBOS_RADII[0], r0 or 0.0)
                add((("events", "max_distance_km"), dmax,
                     _got(dmax, f"> {lim:g} km (beyond Phobos and the initial distance from Phobos)")))

        # outputs
        if self.outputs.timeseries == "parquet" and find_spec("pyarrow") is None:
            add((("outputs", "timeseries"), "parquet",
                 _got("parquet", "csv or none (parquet needs pyarrow: pip install 'mmxsim[parquet]')")))

        if problems:
            raise _Problems(problems)
        return self


def _inside_phobos(pos, frame: str) -> bool:
    a, b, c = PHOBOS_RADII
    x, y, z = pos
    if frame in ("PHOBOS_FIXED", "PHOBOS_HILL"):
        # Hill axes match Phobos' principal axes up to the ~1 deg libration.
        return (x / a) ** 2 + (y / b) ** 2 + (z / c) ** 2 <= 1.0
    return x * x + y * y + z * z <= c * c


# ---------------------------------------------------------------------------
# Phobos mean motion (for the qso shortcut)


@lru_cache(maxsize=1)
def phobos_mean_motion() -> float:
    """Phobos' mean motion, rad/s (JPL SSD mean elements, MAR080; ``mars_moons_mean_elements.csv``)."""
    from .._data import data_path

    import csv

    with open(data_path("mars_moons_mean_elements.csv"), newline="") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        for row in rows:
            if row["body"].strip().lower() == "phobos":
                return math.radians(float(row["n_deg_per_day"])) / DAY_S
    raise MmxsimError("Phobos is missing from mars_moons_mean_elements.csv")  # pragma: no cover


# ---------------------------------------------------------------------------
# Pydantic errors -> problems


def _unwrap(t: Any) -> Any:
    while get_origin(t) is Annotated:
        t = get_args(t)[0]
    return t


def _is_model(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, BaseModel)


def _union_members(t: Any) -> list:
    if get_origin(t) in (Union, UnionType):
        return [_unwrap(a) for a in get_args(t) if a is not type(None)]
    return []


def _tag_of(model: type[BaseModel]) -> str | None:
    f = model.model_fields.get("type")
    if f is None:
        return None
    args = get_args(f.annotation)
    return args[0] if args else None


def _walk(loc: tuple) -> tuple[str, Any, Any, Any]:
    """YAML path of a pydantic ``loc``; also the field info, its type and the parent model."""
    parts: list[str] = []
    typ: Any = Scenario
    field = None
    parent = None
    for item in loc:
        typ = _unwrap(typ)
        members = _union_members(typ)
        if members:
            models = [m for m in members if _is_model(m)]
            hit = [m for m in models if _tag_of(m) == item]
            if hit:
                typ = hit[0]
                continue
            if len(models) == 1:
                typ = models[0]
            elif len(members) == 1:
                typ = members[0]
        if _is_model(typ):
            parent = typ
            if isinstance(item, str) and item in typ.model_fields:
                field = typ.model_fields[item]
                typ = field.annotation
            else:
                field, typ = None, None
            parts.append(str(item))
            continue
        origin = get_origin(typ)
        if isinstance(item, int) and origin in (list, tuple, set):
            parts.append(f"[{item}]")
            args = [a for a in get_args(typ) if a is not Ellipsis]
            typ = args[0] if args else None
            continue
        parts.append(str(item))
        typ = None
    path = ""
    for p in parts:
        path = path + p if p.startswith("[") or not path else f"{path}.{p}"
    return path, field, typ, parent


def _model_at(typ: Any) -> type[BaseModel] | None:
    typ = _unwrap(typ)
    if _is_model(typ):
        return typ
    members = [m for m in _union_members(typ) if _is_model(m)]
    return members[0] if len(members) == 1 else None


def _keys(model: type[BaseModel] | None) -> str:
    return ", ".join(model.model_fields) if model else "?"


_TYPE_WORDS = {
    "float_type": "a number", "float_parsing": "a number", "int_type": "an integer", "int_parsing": "an integer",
    "int_from_float": "an integer", "bool_type": "true or false", "bool_parsing": "true or false",
    "string_type": "a string", "list_type": "a list", "tuple_type": "a list", "finite_number":
    "a finite number (no NaN, no infinity)",
}


def _describe(err: dict) -> tuple[str, Any, str]:
    loc = tuple(err["loc"])
    etype = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input", MISSING)
    path, field, typ, parent = _walk(loc)
    extra = (field.json_schema_extra or {}) if field is not None and isinstance(field.json_schema_extra, dict) else {}
    override = extra.get("allowed")

    if etype == "missing":
        desc = field.description if field is not None and field.description else "a value"
        return path, MISSING, f"missing; required: {desc}"
    if etype == "extra_forbidden":
        return path, value, f"unknown key (value {_show(value)}); allowed keys: {_keys(parent)}"
    if etype in ("model_type", "model_attributes_type", "dict_type"):
        model = _model_at(typ) if loc else Scenario
        return path, value, _got(value, f"a mapping with keys {_keys(model)}")
    if etype == "union_tag_invalid":
        tags = ctx.get("expected_tags", "").replace("'", "")
        tag = ctx.get("tag", value)
        return (f"{path}.type" if path else "type"), tag, _got(tag, tags)
    if etype == "union_tag_not_found":
        model = _unwrap(typ)
        tags = ", ".join(str(_tag_of(m)) for m in _union_members(model) if _is_model(m))
        return (f"{path}.type" if path else "type"), MISSING, f"missing; required: one of {tags}"
    if etype == "literal_error":
        return path, value, _got(value, str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", "))
    if etype in ("too_short", "too_long"):
        allowed = override or (f"{ctx.get('min_length')}..{ctx.get('max_length', '')} items")
        return path, value, _got(value, allowed)
    if etype in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        sym = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}[etype]
        bound = next(iter(ctx.values()), "?")
        allowed = f"{sym} {bound:g}" if isinstance(bound, (int, float)) else f"{sym} {bound}"
        if override:
            allowed = override
        elif field is not None and field.description:
            allowed = f"{allowed} ({field.description})"
        return path, value, _got(value, allowed)
    if etype in ("string_too_short", "string_too_long"):
        return path, value, _got(value, field.description if field is not None and field.description else
                                 f"{ctx.get('min_length', 0)}..{ctx.get('max_length', '')} characters")
    if etype in _TYPE_WORDS:
        allowed = _TYPE_WORDS[etype]
        if field is not None and field.description and etype != "finite_number":
            allowed = f"{allowed}: {field.description}"
        return path, value, _got(value, allowed)
    if etype == "value_error" and isinstance(ctx.get("error"), _Problems):
        raise AssertionError("handled by caller")  # pragma: no cover
    msg = err.get("msg", "invalid")
    return path, value, _got(value, override or msg)


def _problems_from(exc: ValidationError) -> list[tuple[str, Any, str]]:
    out: list[tuple[str, Any, str]] = []
    errors = exc.errors(include_url=False)
    # pydantic reports a bad element of a fixed-length tuple twice (the element, then
    # "too short" for the list): keep the element.
    item_parents = {tuple(e["loc"][:-1]) for e in errors if e["loc"] and isinstance(e["loc"][-1], int)}
    errors = [e for e in errors if not (e["type"] in ("too_short", "too_long") and tuple(e["loc"]) in item_parents)]
    for err in errors:
        ctx = err.get("ctx") or {}
        inner = ctx.get("error")
        if err["type"] == "value_error" and isinstance(inner, _Problems):
            for rel, value, msg in inner.problems:
                path, _, _, _ = _walk(tuple(err["loc"]) + tuple(rel))
                out.append((path, value, msg))
        else:
            out.append(_describe(err))
    # drop duplicates, keep order
    seen, uniq = set(), []
    for p in out:
        key = (p[0], p[2])
        if key not in seen:
            seen.add(key)
            uniq.append(p)
    return uniq


# ---------------------------------------------------------------------------
# YAML reading (with line numbers, duplicate-key detection, timestamps left as text)


def _make_loader():
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    _Loader.yaml_implicit_resolvers = {
        k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return _Loader


def _read_yaml(text: str, source: str) -> tuple[Any, dict[str, int]]:
    import yaml
    from yaml.nodes import MappingNode, ScalarNode, SequenceNode

    lines: dict[str, int] = {}
    problems: list[tuple[str, Any, str]] = []
    text_lines = text.splitlines()

    def where(mark) -> tuple[str, str]:
        ln, col = mark.line + 1, mark.column + 1
        snippet = text_lines[mark.line].strip() if 0 <= mark.line < len(text_lines) else ""
        return f"line {ln}, column {col}", snippet

    loader = _make_loader()(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            loc, snippet = where(mark) if mark else ("<yaml>", "")
            what = " ".join(x for x in (exc.context, exc.problem) if x)
            raise ScenarioError(source, [(loc, snippet, f"YAML syntax error: {what} (near {snippet!r})")]) from None
        except yaml.YAMLError as exc:
            raise ScenarioError(source, [("<yaml>", None, f"YAML error: {exc}")]) from None

        active: set[int] = set()

        def build(n, path: str):
            if n is None:
                return None
            if path:
                lines.setdefault(path, n.start_mark.line + 1)
            if id(n) in active:
                loc, snip = where(n.start_mark)
                problems.append((loc, snip, "recursive YAML alias; allowed: plain values"))
                return None
            if isinstance(n, MappingNode):
                active.add(id(n))
                loader.flatten_mapping(n)
                out: dict = {}
                for kn, vn in n.value:
                    key = loader.construct_object(kn, deep=True) if isinstance(kn, ScalarNode) else None
                    child = f"{path}.{key}" if path else str(key)
                    if not isinstance(key, str):
                        loc, snip = where(kn.start_mark)
                        problems.append((child, key, _got(key, "text keys only")))
                        continue
                    if key in out:
                        again = build(vn, "")
                        problems.append((child, again, f"got {_show(again)} on line {kn.start_mark.line + 1}, a "
                                                       f"duplicate key (first on line {lines.get(child, '?')}); "
                                                       f"allowed: each key once"))
                        continue
                    lines[child] = kn.start_mark.line + 1
                    out[key] = build(vn, child)
                active.discard(id(n))
                return out
            if isinstance(n, SequenceNode):
                active.add(id(n))
                out_l = [build(v, f"{path}[{i}]") for i, v in enumerate(n.value)]
                active.discard(id(n))
                return out_l
            return loader.construct_object(n, deep=True)

        try:
            data = build(node, "")
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            loc, snippet = where(mark) if mark else ("<yaml>", "")
            raise ScenarioError(source, [(loc, snippet, f"YAML error: {exc.problem}")]) from None
    finally:
        loader.dispose()
    if problems:
        raise ScenarioError(source, problems, lines)
    return data, lines


# ---------------------------------------------------------------------------
# Public API


def parse_scenario(data: Any, source: str = "<dict>", *, base_dir: str | os.PathLike | None = None,
                   coverage: bool = True, _lines: dict | None = None) -> Scenario:
    """Validate a mapping (e.g. from YAML) into a :class:`Scenario`.

    Parameters
    ----------
    data : dict
    source : str
        Name used in error messages.
    base_dir : path, optional
        Folder against which relative kernel paths are resolved (default: cwd).
    coverage : bool
        Also check that the ephemeris covers the span (:func:`check_coverage`;
        backend builtin only, SPICE coverage is checked when the run starts).

    Raises
    ------
    ScenarioError
    """
    if not isinstance(data, dict):
        kind = "nothing (empty document)" if data is None else f"a {type(data).__name__}"
        raise ScenarioError(source, [("<top level>", data, f"got {kind} {_show(data) if data is not None else ''}"
                                      .rstrip() + f"; allowed: a mapping with keys {_keys(Scenario)}")])
    try:
        scenario = Scenario.model_validate(data, context={"base_dir": str(base_dir) if base_dir else None})
    except ValidationError as exc:
        raise ScenarioError(source, _problems_from(exc), _lines) from None
    if coverage and scenario.ephemeris.backend == "builtin":
        check_coverage(scenario, source=source, _lines=_lines)
    return scenario


def load_scenario(path_or_text: str | os.PathLike, *, source: str | None = None,
                  base_dir: str | os.PathLike | None = None, coverage: bool = True) -> Scenario:
    """Read and validate a scenario.

    ``path_or_text`` is a path (``str`` or ``Path``) to a YAML file, or YAML text: a
    ``str`` containing a newline or starting with ``{`` is taken as text. Relative
    kernel paths are resolved against the file's folder (text: ``base_dir`` or cwd).

    Raises
    ------
    ScenarioError
        For a missing/unreadable file, bad YAML (with line and column), a top level
        that is not a mapping, and every schema or consistency problem.
    """
    is_text = isinstance(path_or_text, str) and ("\n" in path_or_text or path_or_text.lstrip().startswith("{"))
    if is_text:
        text = path_or_text
        src = source or "<text>"
    else:
        path = Path(path_or_text).expanduser()
        src = source or str(path_or_text)
        if not path.exists():
            raise ScenarioError(src, [("<file>", str(path), f"no such file: {str(path)!r}; allowed: "
                                                            "the path of an existing scenario YAML file")])
        if not path.is_file():
            raise ScenarioError(src, [("<file>", str(path), f"{str(path)!r} is not a file; allowed: "
                                                            "the path of a scenario YAML file")])
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ScenarioError(src, [("<file>", str(path), f"cannot read {str(path)!r}: {exc}")]) from None
        if base_dir is None:
            base_dir = path.resolve().parent
    data, lines = _read_yaml(text, src)
    return parse_scenario(data, src, base_dir=base_dir, coverage=coverage, _lines=lines)


#: Scenarios shipped inside the package (copies of ``scenarios/<name>.yaml``), by name.
BUILTIN_SCENARIOS = {
    "reference_mission": "the whole MMX reference mission: the 30-day QSO run and every capability as a "
                         "section (what `mmxsim run` runs with no file)",
    "reference_qso": "the spine reference: 30 days in the 50 km QSO with the full force model, no analyses",
}


def builtin_scenario(name: str = "reference_mission") -> Scenario:
    """A scenario shipped inside the package, by name (see :data:`BUILTIN_SCENARIOS`)."""
    key = str(name).strip().removesuffix(".yaml")
    if key not in BUILTIN_SCENARIOS:
        raise InputError("scenario", name, "a scenario file, or a built-in scenario: " + ", ".join(BUILTIN_SCENARIOS))
    ref = resources.files("mmxsim").joinpath("scenarios", f"{key}.yaml")
    return load_scenario(ref.read_text(encoding="utf-8"), source=f"{key}.yaml (built-in)", coverage=False)


def reference_scenario() -> Scenario:
    """The spine's reference run (``mmxsim/scenarios/reference_qso.yaml``): 30 days in the 50 km QSO."""
    return builtin_scenario("reference_qso")


def scenario_to_dict(s: Scenario) -> dict:
    """Plain-data form of a scenario (JSON/YAML-safe); ``parse_scenario`` of it gives ``s`` back."""
    return s.model_dump(mode="json", exclude_none=True)


def scenario_to_yaml(s: Scenario) -> str:
    """The scenario as YAML text (for echoing in results)."""
    import yaml

    return yaml.safe_dump(scenario_to_dict(s), sort_keys=False, default_flow_style=None)


def _default_ephemeris_factory():
    """``mmxsim.ephemeris.default_ephemeris`` if that package provides it, else None."""
    if find_spec("mmxsim.ephemeris") is None:
        return None
    try:
        from .. import ephemeris as _eph_mod
    except ImportError:
        return None
    return getattr(_eph_mod, "default_ephemeris", None)


def check_coverage(scenario: Scenario, ephemeris: Any = None, *, source: str | None = None,
                   _lines: dict | None = None) -> None:
    """Raise :class:`ScenarioError` if the ephemeris does not cover the run.

    Asks ``ephemeris.coverage(body) -> (t0, t1)`` (TDB seconds past J2000) for every
    body the run uses (:meth:`Scenario.bodies_used`). ``ephemeris`` defaults to
    ``mmxsim.ephemeris.default_ephemeris(phobos_tidal=...)``; if that package is not
    available the documented span of the built-in theory (:data:`BUILTIN_COVERAGE`) is used.
    """
    from ..time import iso_tdb

    t0, t1 = scenario.t0_tdb, scenario.t1_tdb
    spans: dict[str, tuple[float, float]] = {}
    if ephemeris is None:
        factory = _default_ephemeris_factory()
        if factory is not None:
            ephemeris = factory(phobos_tidal=scenario.ephemeris.phobos_tidal_acceleration,
                                moons=scenario.ephemeris.moons)
    for body in scenario.bodies_used():
        if ephemeris is not None:
            spans[body] = tuple(float(x) for x in ephemeris.coverage(body))
        else:
            spans[body] = (_tdb_seconds(BUILTIN_COVERAGE[0], "TDB"), _tdb_seconds(BUILTIN_COVERAGE[1], "TDB"))
    problems = []
    for body, (c0, c1) in spans.items():
        span_txt = f"{iso_tdb(c0, 0)} to {iso_tdb(c1, 0)} TDB"
        if not c0 <= t0 <= c1:
            problems.append(("epoch", scenario.epoch,
                             _got(scenario.epoch, f"an epoch the ephemeris covers for {body}: {span_txt}")))
        elif t1 > c1:
            path, val = ("stop", scenario.stop) if scenario.stop is not None else ("duration_days", scenario.duration_days)
            problems.append((path, val, _got(val, f"a span ending before the end of the {body} ephemeris "
                                                  f"({span_txt}; this run ends {iso_tdb(t1, 0)} TDB)")))
        if problems:
            break
    if problems:
        raise ScenarioError(source or scenario.name, problems, _lines)
