"""The scenario's core models: epoch and span, initial state, spacecraft, force model,
integrator, events, ephemeris and outputs, and the :class:`Scenario` that holds them.

The ``analyses`` block is not defined here. This layer sits below the analyses (each analysis
declares its own settings model in :mod:`mmxsim.analyses`), so the block is an extension point:
:class:`Scenario` types it as the empty :class:`AnalysesBlock`, and the analyses package
registers a *provider* with :func:`set_analyses_provider` that returns the block's model built
from its registry (one optional field per analysis, in declaration order). :func:`scenario_model`
is the scenario model the loaders validate against: a subclass of :class:`Scenario` whose
``analyses`` field has the provider's model (:class:`Scenario` itself while no provider is
registered). ``mmxsim/__init__.py`` names the providing module in :mod:`mmxsim.hooks`, and the
first validation imports it, so every loader sees every analysis while ``import mmxsim`` stays cheap.
"""

from __future__ import annotations

import importlib
import math
import os
import re
from functools import lru_cache
from importlib import resources
from importlib.util import find_spec
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Callable, Literal, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from ..bodies import PHOBOS_RADII, R_MARS_EQ, R_MARS_POL
from .. import hooks
from ..errors import MmxsimError
from ..time import tdb_seconds
from .problems import MISSING, Problems, got, show


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


MAX_SPAN_DAYS = 3650.0
#: at most this many output samples per run: the trajectory arrays, the time series and the OEM take
#: ~0.7 kB per sample together, so ~0.7 GB at the cap (the measured failure: 1e-3 s steps over a day
#: passed 4 GB in 24 s; 1e-6 s asked for 644 GiB)
MAX_OUTPUT_SAMPLES = 1_000_000
#: QSO sizes beyond this are not relative orbits about Phobos in any useful sense (its orbit: 9378 km)
MAX_QSO_KM = 2000.0
DAY_S = 86400.0

THIRD_BODIES = ("SUN", "EARTH", "DEIMOS")


# ---------------------------------------------------------------------------
# Field types


Vec3 = Annotated[
    tuple[float, ...],
    Field(min_length=3, max_length=3, json_schema_extra={"allowed": "exactly 3 finite numbers [x, y, z]"}),
]


def _third_body(name: str) -> str:
    if name == "PHOBOS":
        raise Problems([((), name, got(name, "SUN, EARTH, DEIMOS (Phobos' gravity is set by force_model.phobos)"))])
    if name not in THIRD_BODIES:
        raise Problems([((), name, got(name, ", ".join(THIRD_BODIES)))])
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
ISO_ALLOWED = "an ISO 8601 date such as '2027-09-01T00:00:00' (no time zone; the scale is time_scale)"


def _check_iso(v: str) -> str:
    v = v.strip()
    if not _ISO_RE.match(v):
        raise Problems([((), v, got(v, ISO_ALLOWED))])
    try:
        tdb_seconds(v, "tdb")
    except MmxsimError:
        raise Problems([((), v, got(v, ISO_ALLOWED + "; this one is not a valid date"))]) from None
    return v


IsoEpoch = Annotated[str, BeforeValidator(_iso_string), AfterValidator(_check_iso)]


def _unique(values: tuple, what: str) -> tuple:
    seen = set()
    for i, v in enumerate(values):
        if v in seen:
            raise Problems([((i,), v, got(v, f"each {what} at most once ({show(list(values))} repeats {v!r})"))])
        seen.add(v)
    return values


class SchemaModel(BaseModel):
    """Base of every scenario model (and of analysis settings): unknown keys are errors, values are
    frozen, no NaN or infinity, defaults validated too."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_for_numbers(cls, data):
        """``true`` / ``false`` where a number goes is a mistake, not 1 / 0 (pydantic's lax mode would
        take ``duration_days: true`` as one day)."""
        if isinstance(data, dict):
            bad = []
            for key, v in data.items():
                f = cls.model_fields.get(key) if isinstance(key, str) else None
                if f is not None and isinstance(v, bool):
                    ann = f.annotation
                    members = get_args(ann) if get_origin(ann) in (Union, UnionType) else (ann,)
                    if bool not in members and any(m in (int, float) for m in members):
                        bad.append(((key,), v, got(v, "a number (true / false are not numbers here)")))
            if bad:
                raise Problems(bad)
        return data


# ---------------------------------------------------------------------------
# Initial states


class HillState(SchemaModel):
    """State relative to Phobos in the PHOBOS_HILL frame.

    Axes: x radial, pointing away from Mars; y along Phobos' orbital velocity; z along
    Phobos' orbit normal. The velocity is relative to the rotating Hill frame.
    """

    type: Literal["hill"] = Field(description="'hill': Phobos-centred state in the rotating Hill frame")
    position_km: Vec3 = Field(description="position relative to Phobos in the Hill frame, km")
    velocity_km_s: Vec3 = Field(description="velocity relative to the rotating Hill frame, km/s")


class QsoState(SchemaModel):
    """Quasi-satellite orbit shortcut, in the PHOBOS_HILL frame.

    The 1:2 retrograde relative ellipse of the Clohessy-Wiltshire (Hill) equations:
    ``x = -A cos(n t)``, ``y = 2 A sin(n t)``, ``z = Z sin(n t + beta)``, i.e. at t0
    ``x0 = -A, y0 = 0, vx0 = 0, vy0 = 2 n A, z0 = Z sin(beta), vz0 = n Z cos(beta)``,
    with ``n`` Phobos' mean motion (:func:`phobos_mean_motion`).
    """

    type: Literal["qso"] = Field(description="'qso': quasi-satellite orbit about Phobos")
    radial_semi_axis_km: float = Field(gt=0, le=MAX_QSO_KM, description=(
        f"A, radial semi-axis of the QSO ellipse, km (> 13 km, outside Phobos; <= {MAX_QSO_KM:g} km: the "
        "Hill-frame ellipse describes motion relative to Phobos only well inside its 9378 km orbit)"))
    out_of_plane_km: float = Field(0.0, ge=0, le=MAX_QSO_KM, description=(
        f"Z, out-of-plane amplitude, km (<= {MAX_QSO_KM:g} km, as A)"))
    phase_deg: float = Field(0.0, description="beta, phase of the out-of-plane oscillation, deg")
    design: Literal["linear", "corrected"] = Field(
        "linear", description="linear: the Hill ellipse below; corrected: the periodic (or 3D) QSO of the Hill "
        "problem with Phobos' harmonics, corrected in the run's force model by multiple shooting over 10 revolutions")

    def hill_state(self, n_rad_s: float | None = None) -> tuple[float, float, float, float, float, float]:
        """Initial (x, y, z, vx, vy, vz) in the Hill frame [km, km/s]."""
        n = phobos_mean_motion() if n_rad_s is None else float(n_rad_s)
        a, z, b = self.radial_semi_axis_km, self.out_of_plane_km, math.radians(self.phase_deg)
        return (-a, 0.0, z * math.sin(b), 0.0, 2.0 * n * a, n * z * math.cos(b))


class CartesianState(SchemaModel):
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


class KeplerianState(SchemaModel):
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


class Spacecraft(SchemaModel):
    mass_kg: float = Field(
        2000.0, ge=1.0, le=1e5,
        description="mass, kg. ASSUMPTION: 2000 kg in the Mars system (MMX is ~4000 kg at launch, "
                    "[MELCO], [SN-2024], much of it propellant and the return module); set your own value")
    srp_area_m2: float = Field(20.0, ge=0, le=1000.0, description=(
        "area facing the Sun for SRP, m^2 (ASSUMPTION: 20 m^2, bus plus solar arrays; at most 1000 m^2, "
        "a large solar sail)"))
    cr: float = Field(1.3, ge=1, le=2, description="SRP reflectivity coefficient, 1 (absorbing) .. 2 (mirror)")


class MarsGravity(SchemaModel):
    degree: int = Field(4, description="zonal degree: 0 (point mass) or 2..4 (J2..J4, MRO120F, Konopliv et al. 2020)",
                        json_schema_extra={"allowed": "0 (point mass) or 2, 3, 4"})

    @field_validator("degree")
    @classmethod
    def _deg(cls, v: int) -> int:
        if v not in (0, 2, 3, 4):
            raise Problems([((), v, got(v, "0 (point mass) or 2, 3, 4 (zonal degree)"))])
        return v


class PhobosGravity(SchemaModel):
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
                raise Problems([(("degree",), self.degree, got(self.degree, "2..10 with model: harmonics"))])
        elif self.degree is not None:
            raise Problems([(("degree",), self.degree,
                              got(self.degree, f"no degree with model: {self.model} (only with model: harmonics)"))])
        return self


class SrpModel(SchemaModel):
    enabled: bool = Field(True, description="solar radiation pressure on/off (cannonball model)")
    shadows: tuple[Literal["MARS", "PHOBOS"], ...] = Field(
        ("MARS", "PHOBOS"), description="bodies whose shadows switch SRP off: MARS, PHOBOS")

    @field_validator("shadows")
    @classmethod
    def _uniq(cls, v: tuple) -> tuple:
        return _unique(v, "body")


class ForceModel(SchemaModel):
    mars: MarsGravity = Field(default_factory=MarsGravity, description="Mars gravity")
    phobos: PhobosGravity = Field(default_factory=PhobosGravity, description="Phobos gravity")
    third_bodies: tuple[ThirdBody, ...] = Field(
        ("SUN", "EARTH", "DEIMOS"), description="point-mass perturbers: SUN, EARTH, DEIMOS (each at most once)")
    srp: SrpModel = Field(default_factory=SrpModel, description="solar radiation pressure")

    @field_validator("third_bodies")
    @classmethod
    def _uniq(cls, v: tuple) -> tuple:
        return _unique(v, "body")


class Propagation(SchemaModel):
    tolerance: float = Field(1e-12, ge=1e-16, le=1e-3, description=(
        "integrator relative/absolute tolerance, [1e-16, 1e-3] (below 1e-16, under double precision's "
        "resolution, no integrator can deliver it)"))
    output_step_s: float = Field(600.0, gt=0, description=(
        f"output sampling step, s (<= the span; at least span / {MAX_OUTPUT_SAMPLES:,} s: at most "
        f"{MAX_OUTPUT_SAMPLES:,} output samples)"))


class Events(SchemaModel):
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
            raise Problems([((), v, got(v, ", ".join(sorted(IMPACT_MODELS))))])
        return v

    @field_validator("shape_model")
    @classmethod
    def _shape_model(cls, v: str) -> str:
        from ..bodies.shapes import PHOBOS_SHAPES

        if v not in PHOBOS_SHAPES:
            raise Problems([((), v, got(v, ", ".join(PHOBOS_SHAPES)))])
        return v


def resolve_kernel(entry: str, base_dir: str | os.PathLike | None = None) -> Path:
    """Path of a kernel entry: ``builtin:NAME`` alias, absolute, or relative to ``base_dir``.

    Raises :class:`ValueError` naming what is allowed when the alias is unknown or the
    file is missing.
    """
    if entry.startswith("builtin:"):
        name = entry[len("builtin:"):]
        if name not in KERNEL_ALIASES:
            raise ValueError("unknown builtin kernel; allowed: "
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


class EphemerisConfig(SchemaModel):
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
            raise Problems([(("phobos_tidal_acceleration",), False,
                              got(False, "true with moons 'integrated' (the integrated Phobos includes the tidal "
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
                problems.append(((i,), entry, f"got {show(entry)}; {exc}"
                                 if "allowed" in str(exc) else got(entry, f"an existing kernel file ({exc})")))
        if problems:
            raise Problems(problems)
        return tuple(out)

    def kernel_paths(self) -> list[Path]:
        """The kernels as absolute paths (``builtin:`` aliases resolved)."""
        return [resolve_kernel(k) for k in self.kernels]


class Outputs(SchemaModel):
    oem: bool = Field(True, description="write a CCSDS OEM of the trajectory")
    timeseries: Literal["csv", "parquet", "none"] = Field("csv", description="time series format: csv | parquet | none")
    report: bool = Field(True, description="write the run report")
    events: bool = Field(True, description="write the merged event list (events.csv, events.ics)")
    spk: bool = Field(False, description="write a SPICE SPK of the trajectory (trajectory.bsp, NAIF ID -239) with "
                                         "Phobos, a frames kernel (mmx_frames.tf: PHOBOS_HILL) and a metakernel (mmx.tm)")
    czml: bool = Field(False, description="write a CZML document for Cesium (trajectory.czml)")
    czml_center: Literal["mars", "phobos"] = Field(
        "mars", description="CZML globe: mars (Mars-fixed positions, a Phobos entity) | phobos (Phobos-fixed "
                            "positions for a Phobos-ellipsoid globe, a Mars entity)")


class AnalysesBlock(SchemaModel):
    """Analyses run after the trajectory; each appears as a report section and in summary.json.

    Empty here: the fields (one per registered analysis) come from the provider registered with
    :func:`set_analyses_provider`."""


# ---------------------------------------------------------------------------
# The scenario


class Scenario(SchemaModel):
    """One run. See the module docstring and ``scenarios/reference_qso.yaml``."""

    name: str = Field(min_length=1, max_length=80, description="scenario name, 1..80 characters")
    description: str = Field("", description="free text")
    epoch: IsoEpoch = Field(description=f"initial epoch: {ISO_ALLOWED}")
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
    analyses: AnalysesBlock = Field(default_factory=AnalysesBlock,
                                    description="optional analyses beyond the trajectory")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not v.strip():
            raise Problems([((), v, got(v, "a non-blank name of 1..80 characters"))])
        return v.strip()

    # -- derived quantities ------------------------------------------------
    @property
    def t0_tdb(self) -> float:
        """Initial epoch, TDB seconds past J2000."""
        return tdb_seconds(self.epoch, self.time_scale)

    @property
    def t1_tdb(self) -> float:
        """Final epoch, TDB seconds past J2000."""
        if self.stop is not None:
            return tdb_seconds(self.stop, self.time_scale)
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
            add((("stop",), self.stop, got(self.stop, f"exactly one of duration_days or stop "
                                                       f"(duration_days: {self.duration_days:g} is also given)")))
        elif self.stop is not None:
            span = self.span_days
            if span <= 0:
                add((("stop",), self.stop, got(self.stop, f"an epoch after epoch {self.epoch!r}")))
            elif span > MAX_SPAN_DAYS:
                add((("stop",), self.stop, got(self.stop, f"at most {MAX_SPAN_DAYS:g} days after epoch "
                                                           f"(this is {span:.1f} days)")))
        if not any(p[0][0] in ("duration_days", "stop") for p in problems):
            span_s = self.span_s
            step = self.propagation.output_step_s
            if step > span_s:
                add((("propagation", "output_step_s"), step, got(step, f"<= the span of the run, {span_s:g} s")))
            elif span_s / step + 1 > MAX_OUTPUT_SAMPLES:
                add((("propagation", "output_step_s"), step,
                     got(step, f">= {span_s / (MAX_OUTPUT_SAMPLES - 1):.4g} s for this {span_s / DAY_S:g}-day "
                               f"span (at most {MAX_OUTPUT_SAMPLES:,} output samples, ~0.7 kB each in memory "
                               f"and files; this step asks for {span_s / step + 1:.3g})")))

        # ephemeris
        eph = self.ephemeris
        if eph.backend == "spice" and not eph.kernels:
            add((("ephemeris", "kernels"), list(eph.kernels),
                 got([], "a non-empty list of kernels with backend: spice "
                          "(e.g. [builtin:de421, builtin:naif0012.tls, builtin:pck00011.tpc])")))
            st = self.initial_state
            if isinstance(st, (HillState, QsoState)) or (isinstance(st, CartesianState) and st.center == "PHOBOS"):
                path = ("initial_state", "center") if isinstance(st, CartesianState) else ("initial_state", "type")
                val = st.center if isinstance(st, CartesianState) else st.type
                add((path, val, got(val, "a Phobos-relative state only when Phobos is in the ephemeris: "
                                          "list kernels with Phobos (backend: spice) or use backend: builtin")))
        if eph.backend == "builtin" and eph.kernels:
            add((("ephemeris", "kernels"), list(eph.kernels),
                 got(list(eph.kernels), "[] with backend: builtin (kernels are read only with backend: spice)")))

        # initial state geometry
        st = self.initial_state
        if isinstance(st, QsoState) and st.radial_semi_axis_km <= PHOBOS_RADII[0]:
            add((("initial_state", "radial_semi_axis_km"), st.radial_semi_axis_km,
                 got(st.radial_semi_axis_km, f"> {PHOBOS_RADII[0]} km (the start point x0 = -A must lie "
                                              f"outside Phobos' long semi-axis)")))
        elif isinstance(st, HillState) or (isinstance(st, CartesianState) and st.center == "PHOBOS"):
            frame = "PHOBOS_HILL" if isinstance(st, HillState) else st.frame
            if _inside_phobos(st.position_km, frame):
                add((("initial_state", "position_km"), list(st.position_km),
                     got(list(st.position_km), f"a point outside Phobos (tri-axial {PHOBOS_RADII} km)")))
        elif isinstance(st, CartesianState):
            r = math.sqrt(sum(x * x for x in st.position_km))
            if r <= R_MARS_POL:
                add((("initial_state", "position_km"), list(st.position_km),
                     got(list(st.position_km), f"a point outside Mars (|r| = {r:.1f} km <= polar radius "
                                                f"{R_MARS_POL} km)")))
        elif isinstance(st, KeplerianState):
            rp = st.a_km * (1 - st.e)
            if rp <= R_MARS_EQ:
                add((("initial_state", "e"), st.e,
                     got(st.e, f"< {1 - R_MARS_EQ / st.a_km:.4f}: periapsis a(1-e) = {rp:.1f} km is inside "
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
                     got(dmax, f"> {lim:g} km (beyond Phobos and the initial distance from Phobos)")))

        # outputs
        if self.outputs.timeseries == "parquet" and find_spec("pyarrow") is None:
            add((("outputs", "timeseries"), "parquet",
                 got("parquet", "csv or none (parquet needs pyarrow: pip install 'mmxsim[parquet]')")))

        if problems:
            raise Problems(problems)
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
# The analyses block: an extension point filled by mmxsim.analyses

#: The packaged Phobos shape models (mmxsim.bodies.shapes.PHOBOS_SHAPES), for analysis settings.
PhobosShape = Literal["thomas3k", "thomas32k", "ernst"]



_provider: Callable[[], type[AnalysesBlock]] | None = None
_models: dict[type, type] = {}


def set_analyses_provider(provider: Callable[[], type[AnalysesBlock]] | None) -> None:
    """Register the function that returns the model of the ``analyses`` block (a subclass of
    :class:`AnalysesBlock`); it is called each time a scenario is validated, so a registry that is
    refreshed (new plugins) is seen by the next validation. ``None`` removes it."""
    global _provider
    _provider = provider


def scenario_model() -> type[Scenario]:
    """The :class:`Scenario` model with the provider's ``analyses`` block (one model per block
    model, cached); :class:`Scenario` itself when no provider is registered. The first call imports
    the module :data:`mmxsim.hooks.ANALYSES_PROVIDER_MODULE` names (``mmxsim.analyses``), which
    registers the provider."""
    if _provider is None and hooks.ANALYSES_PROVIDER_MODULE:  # registers it (see mmxsim.hooks)
        importlib.import_module(hooks.ANALYSES_PROVIDER_MODULE)
    block = _provider() if _provider is not None else AnalysesBlock
    if block is AnalysesBlock:
        return Scenario
    if block not in _models:
        _models[block] = create_model(
            "Scenario", __base__=Scenario, __module__=__name__, __doc__=Scenario.__doc__,
            analyses=(block, Field(default_factory=block, description="optional analyses beyond the trajectory")))
    return _models[block]
