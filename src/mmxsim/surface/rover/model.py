"""IDEFIX rover deployment: constants, the rover, contact, release, settings and dispersion models
(the parameters; see :mod:`mmxsim.surface.rover`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...bodies import PHOBOS_MEAN_MOTION
from ...errors import InputError
from ...bodies.quaternion import from_euler_zyx, to_matrix


N_PHOBOS = PHOBOS_MEAN_MOTION  # rad/s [JPL-SAT]
G0 = 9.80665  # m/s², standard gravity (definition)
G_PHOBOS_NOMINAL = 0.0057  # m/s², Phobos surface gravity [WP-Phobos] (mmx-facts.md §0)
IDEFIX_MASS_KG = 25.0  # [DLR-IDEFIX], [DLR-2024] (25.1 kg [CLUBIC-2023])
IDEFIX_HEIGHT_M = 0.415  # [CLUBIC-2023] (secondary)
RELEASE_ALTITUDE_M = 40.0  # [PEPS-IDEFIX], [IEEE-LSS]
# The IDEFIX landing site is not published: ASSUMPTION, a low-slope facet of the thomas3k mesh
# (slope 0.6 deg, 'hill' model of mmxsim.surface.maps; planetocentric lat, east lon, deg).
DEFAULT_SITE = (10.0, 106.0)

SETTLED, TIMEOUT, LEFT_PATCH, ESCAPED = 0, 1, 2, 3
STATUS_NAMES = {SETTLED: "settled", TIMEOUT: "timeout", LEFT_PATCH: "left terrain patch", ESCAPED: "escaped"}
GRAVITY_KINDS = {"uniform": 0, "point": 1, "grid": 2}


# ---------------------------------------------------------------------------------------------
# Parameters
def _num(name, v, lo=-math.inf, hi=math.inf, what=None, lo_open=False):
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise InputError(name, v, what or f"a finite number in [{lo}, {hi}]") from None
    if not (math.isfinite(x) and lo <= x <= hi) or (lo_open and x == lo):
        raise InputError(name, v, what or f"a finite number in {'(' if lo_open else '['}{lo}, {hi}]")
    return x


@dataclass(frozen=True)
class RoverModel:
    """Rigid-body geometry and mass of IDEFIX (metres, kg).

    mass_kg 25 [DLR-IDEFIX]; height_m 0.415 (overall, wheels included) [CLUBIC-2023]; length_m,
    width_m, wheel_radius_m, clearance_m (height of the box bottom above the wheel bottoms):
    UNCONFIRMED in the sources (mmx-facts.md §5.6), defaults are ASSUMPTIONS.
    """

    mass_kg: float = IDEFIX_MASS_KG
    height_m: float = IDEFIX_HEIGHT_M
    length_m: float = 0.55  # ASSUMPTION
    width_m: float = 0.45  # ASSUMPTION
    wheel_radius_m: float = 0.09  # ASSUMPTION
    clearance_m: float = 0.10  # ASSUMPTION

    def __post_init__(self):
        _num("RoverModel.mass_kg", self.mass_kg, 0.0, 1e4, "a mass > 0 kg", lo_open=True)
        for k in ("height_m", "length_m", "width_m"):
            _num(f"RoverModel.{k}", getattr(self, k), 0.0, 10.0, "a size in (0, 10] m", lo_open=True)
        _num("RoverModel.wheel_radius_m", self.wheel_radius_m, 0.0, 0.5 * self.height_m,
             f"a radius in (0, {0.5 * self.height_m:g}] m", lo_open=True)
        _num("RoverModel.clearance_m", self.clearance_m, 0.0, 0.8 * self.height_m,
             f"a clearance in [0, {0.8 * self.height_m:g}] m")

    @property
    def inertia(self) -> np.ndarray:
        """Principal moments (kg m²) of a solid box L x W x H (body x forward, y left, z up)."""
        m, L, W, H = self.mass_kg, self.length_m, self.width_m, self.height_m
        return np.array([m * (W * W + H * H), m * (L * L + H * H), m * (L * L + W * W)]) / 12.0

    def contact_points(self):
        """(points (K, 3) m in body axes about the centre of mass, radii (K,) m: 0 for box
        points, the wheel radius for the wheel-sphere centres)."""
        L, W, H, rw, cl = self.length_m, self.width_m, self.height_m, self.wheel_radius_m, self.clearance_m
        zb, zt = -0.5 * H + cl, 0.5 * H
        pts = [(sx * L / 2, sy * W / 2, z) for z in (zb, zt) for sx in (-1, 1) for sy in (-1, 1)]
        zc = 0.5 * (zb + zt)
        pts += [(0, 0, zb), (0, 0, zt), (L / 2, 0, zc), (-L / 2, 0, zc), (0, W / 2, zc), (0, -W / 2, zc)]
        rad = [0.0] * len(pts)
        for sx in (-1, 1):
            for sy in (-1, 1):
                pts.append((sx * (L / 2 - rw), sy * (W / 2 - rw), -0.5 * H + rw))
                rad.append(rw)
        return np.array(pts, float), np.array(rad, float)

    @property
    def bounding_radius(self) -> float:
        p, r = self.contact_points()
        return float(np.max(np.linalg.norm(p, axis=1) + r))


def spring_damper_restitution(zeta: float) -> tuple[float, float]:
    """(e, t_c ω_d) of a linear spring-damper contact with the force clamped at zero (no
    adhesion): exact solution x = A e^{-ζω t} sin(ω_d t) until k x + c x' = 0, which happens at
    ω_d t_s = π - 2 arcsin ζ; e = |x'(t_s)| / v0 (the body then leaves the spring unloaded)."""
    z = float(zeta)
    if not 0.0 <= z < 1.0:
        raise InputError("zeta", zeta, "a damping ratio in [0, 1)")
    s = math.sqrt(1.0 - z * z)
    ph = math.pi - 2.0 * math.asin(z)  # ω_d t_s
    a = z / s  # ζ ω_n / ω_d
    e = math.exp(-a * ph) * abs(math.cos(ph) - a * math.sin(ph))
    return e, ph


def _zeta_for(e):
    from scipy.optimize import brentq

    if e >= 1.0:
        return 0.0
    return brentq(lambda z: spring_damper_restitution(z)[0] - e, 0.0, 1.0 - 1e-12, xtol=1e-14)


@dataclass(frozen=True)
class ContactModel:
    """Contact law (module docstring). restitution (normal, for the four-wheel flat impact) and
    friction (Coulomb μ) of the regolith are ASSUMPTIONS (the DEM-estimated restitution of [CE19]
    is not recorded). contact_time_s: duration of the nominal four-wheel impact (sets the
    stiffness; ASSUMPTION for soft regolith); dt_s: contact time step (default contact_time_s/20)."""

    restitution: float = 0.4
    friction: float = 0.6
    contact_time_s: float = 0.05
    dt_s: float | None = None

    def __post_init__(self):
        _num("ContactModel.restitution", self.restitution, 0.0, 1.0, "a coefficient of restitution in (0, 1]",
             lo_open=True)
        _num("ContactModel.friction", self.friction, 0.0, 5.0, "a friction coefficient in [0, 5]")
        _num("ContactModel.contact_time_s", self.contact_time_s, 1e-4, 10.0, "a contact duration in [1e-4, 10] s")
        if self.dt_s is not None:
            _num("ContactModel.dt_s", self.dt_s, 0.0, self.contact_time_s / 4, "a step in (0, contact_time_s/4] s",
                 lo_open=True)

    @property
    def dt(self) -> float:
        return self.dt_s if self.dt_s is not None else self.contact_time_s / 20.0

    def coefficients(self, mass_kg: float, restitution: float | None = None):
        """(k N/m, c N s/m) per contact point for a contact mass m/4. The stiffness follows from
        the nominal contact duration at the nominal restitution (clamped spring-damper, exact);
        for another ``restitution`` (Monte Carlo samples) the stiffness is kept and only the
        damping changes (so the contact duration changes slightly with e, as for a real contact of
        fixed stiffness). The damping ratio is calibrated so that the *discrete* integrator
        (semi-implicit Euler at ``dt``, averaged over entry phases) gives the requested
        restitution for the nominal impact (without calibration the explicit step lowers e by
        O(dt): -13 % for e = 0.2 at t_c/20)."""
        e = self.restitution if restitution is None else float(restitution)
        z0 = _zeta_for(self.restitution)
        wd = spring_damper_restitution(z0)[1] / self.contact_time_s
        wn = wd / math.sqrt(1.0 - z0 * z0)
        zt, et = _discrete_table(wn, self.dt)
        if not (et[-1] <= e <= et[0]):
            raise InputError("restitution", e, f"a restitution reachable by the discrete contact: "
                                               f"[{et[-1]:.3f}, {min(et[0], 1.0):.3f}]")
        z = float(np.interp(e, et[::-1], zt[::-1]))
        mc = 0.25 * mass_kg
        return mc * wn * wn, 2.0 * z * mc * wn


_TABLES = {}


def _discrete_table(wn, dt, n_phase: int = 16):
    """(ζ grid, e of the discrete contact) for the kernel's semi-implicit Euler step: unit mass,
    k = wn², c = 2 ζ wn, force clamped >= 0, contact while the penetration is > 0; e is averaged
    over ``n_phase`` entry phases (first penetrating step at depth φ v dt, φ uniform in (0, 1]),
    since the first contact falls anywhere within a step."""
    key = (round(wn, 12), round(dt, 15))
    if key not in _TABLES:
        zs = np.linspace(0.0, 0.98, 246)
        ph = (np.arange(n_phase) + 0.5) / n_phase
        Z, P = np.meshgrid(zs, ph, indexing="ij")
        z = -P * dt  # unit impact speed
        v = -np.ones_like(z)
        c = 2.0 * Z * wn
        k = wn * wn
        live = np.ones(z.shape, bool)
        for _ in range(int(50 * math.pi / (wn * dt)) + 100):
            f = np.maximum(-k * z - c * v, 0.0)
            v = np.where(live, v + f * dt, v)
            z = np.where(live, z + v * dt, z)
            live &= z < 0.0
            if not live.any():
                break
        es = v.mean(axis=1)
        ok = np.cumprod(np.concatenate([[True], np.diff(es) < 0])).astype(bool)  # monotone part
        _TABLES[key] = (zs[ok], es[ok])
    return _TABLES[key]


# ---------------------------------------------------------------------------------------------
# Python layer
@dataclass(frozen=True)
class Release:
    """Release conditions (local frame at the site: x east, y north, z up).

    altitude_m: smallest vertical clearance of the rover's contact geometry above the terrain
    (about 40 m [PEPS-IDEFIX]); velocity_m_s: rover velocity relative to the surface after
    separation (the MECSS separation speed is not published: the default, 3 cm/s straight down,
    is an ASSUMPTION); attitude_deg: roll, pitch, yaw (z-y-x Euler angles of the rover body in
    the local frame); rate_deg_s: angular velocity relative to the surface, body axes;
    offset_m: horizontal release point (x, y)."""

    altitude_m: float = RELEASE_ALTITUDE_M
    velocity_m_s: tuple = (0.0, 0.0, -0.03)
    attitude_deg: tuple = (0.0, 0.0, 0.0)
    rate_deg_s: tuple = (0.0, 0.0, 0.0)
    offset_m: tuple = (0.0, 0.0)

    def __post_init__(self):
        _num("Release.altitude_m", self.altitude_m, 0.0, 1e4, "a height in [0, 1e4] m")
        for k, nn, lim in (("velocity_m_s", 3, 100.0), ("attitude_deg", 3, 720.0), ("rate_deg_s", 3, 3600.0),
                           ("offset_m", 2, 1e4)):
            v = getattr(self, k)
            try:
                a = np.asarray(v, float)
            except (TypeError, ValueError):
                raise InputError(f"Release.{k}", v, f"{nn} finite numbers") from None
            if a.shape != (nn,) or not np.all(np.isfinite(a)) or np.any(np.abs(a) > lim):
                raise InputError(f"Release.{k}", v, f"{nn} finite numbers of magnitude <= {lim:g}")


euler_quaternion = from_euler_zyx  # public names kept (the code lives in mmxsim.bodies.quaternion)


quat_matrix = to_matrix


@dataclass(frozen=True)
class Settings:
    """Integration and outcome settings. dt_flight_s: largest RK4 step between contacts;
    t_max_s: simulated time limit; v_rest_m_s, t_hold_s: rest criterion; t_air_min_s,
    v_impact_min_m_s: what counts as a new impact; record_dt_s: trajectory sampling of recorded
    deployments; escape_m: a rover this far above the terrain is declared escaped; slope_max_deg,
    roughness_max_m: safe-zone limits at rest (ASSUMPTIONS: IDEFIX's uprighting limits are not
    published); gravity_refresh_m: in contact mode the gravity + Hill field is re-evaluated when
    the centre has moved more than this (its relative change over 0.5 m is ~1e-4; 0 = every step;
    free flight always evaluates it at every RK4 stage)."""

    dt_flight_s: float = 1.0
    t_max_s: float = 7200.0
    v_rest_m_s: float = 1e-3
    t_hold_s: float = 5.0
    t_air_min_s: float = 0.5
    v_impact_min_m_s: float = 5e-3
    record_dt_s: float = 0.25
    escape_m: float = 2000.0
    slope_max_deg: float = 30.0
    roughness_max_m: float = 0.15
    gravity_refresh_m: float = 0.5

    def __post_init__(self):
        _num("Settings.dt_flight_s", self.dt_flight_s, 1e-4, 100.0)
        _num("Settings.t_max_s", self.t_max_s, 0.0, 1e6, "a duration in (0, 1e6] s", lo_open=True)
        _num("Settings.v_rest_m_s", self.v_rest_m_s, 0.0, 1.0, "a speed in (0, 1] m/s", lo_open=True)
        _num("Settings.t_hold_s", self.t_hold_s, 0.0, 1e4)
        _num("Settings.t_air_min_s", self.t_air_min_s, 0.0, 1e4)
        _num("Settings.v_impact_min_m_s", self.v_impact_min_m_s, 0.0, 100.0)
        _num("Settings.record_dt_s", self.record_dt_s, 1e-4, 1e4)
        _num("Settings.escape_m", self.escape_m, 1.0, 1e14)
        _num("Settings.slope_max_deg", self.slope_max_deg, 0.0, 90.0)
        _num("Settings.roughness_max_m", self.roughness_max_m, 0.0, 100.0)
        _num("Settings.gravity_refresh_m", self.gravity_refresh_m, 0.0, 100.0)


@dataclass(frozen=True)
class DeploymentDistribution:
    """Monte Carlo distributions (all ASSUMPTIONS: MMX has not published release dispersions).

    altitude: Normal(mean, sigma) m, clipped to >= 5 m (nominal ~40 m [PEPS-IDEFIX]);
    separation velocity: Normal mean (local frame, m/s) and per-axis sigma; attitude: roll and
    pitch Normal(0, sigma) deg, yaw uniform; rate: per-axis Normal(0, sigma) deg/s; restitution
    and friction: Uniform(lo, hi)."""

    altitude_m: tuple = (RELEASE_ALTITUDE_M, 3.0)
    velocity_mean_m_s: tuple = (0.0, 0.0, -0.03)
    velocity_sigma_m_s: float = 0.01
    tilt_sigma_deg: float = 5.0
    rate_sigma_deg_s: float = 0.5
    restitution: tuple = (0.2, 0.6)
    friction: tuple = (0.4, 0.9)

    def __post_init__(self):
        m, s = self.altitude_m
        _num("DeploymentDistribution.altitude_m mean", m, 5.0, 1e4)
        _num("DeploymentDistribution.altitude_m sigma", s, 0.0, 1e3)
        v = np.asarray(self.velocity_mean_m_s, float)
        if v.shape != (3,) or not np.all(np.isfinite(v)) or np.any(np.abs(v) > 10):
            raise InputError("DeploymentDistribution.velocity_mean_m_s", self.velocity_mean_m_s,
                             "3 finite speeds of magnitude <= 10 m/s")
        _num("DeploymentDistribution.velocity_sigma_m_s", self.velocity_sigma_m_s, 0.0, 10.0)
        _num("DeploymentDistribution.tilt_sigma_deg", self.tilt_sigma_deg, 0.0, 180.0)
        _num("DeploymentDistribution.rate_sigma_deg_s", self.rate_sigma_deg_s, 0.0, 360.0)
        for k, lo, hi in (("restitution", 0.0, 1.0), ("friction", 0.0, 5.0)):
            a, b = getattr(self, k)
            _num(f"DeploymentDistribution.{k} low", a, lo, hi, lo_open=(k == "restitution"))
            _num(f"DeploymentDistribution.{k} high", b, a, hi, f"a value in [{a}, {hi}]")

    def sample(self, n: int, seed: int):
        rng = np.random.default_rng(seed)
        alt = np.maximum(rng.normal(self.altitude_m[0], self.altitude_m[1], n), 5.0)
        vel = np.asarray(self.velocity_mean_m_s)[None, :] + rng.normal(0, self.velocity_sigma_m_s, (n, 3))
        roll = rng.normal(0, self.tilt_sigma_deg, n)
        pitch = rng.normal(0, self.tilt_sigma_deg, n)
        yaw = rng.uniform(0, 360, n)
        rate = np.radians(rng.normal(0, self.rate_sigma_deg_s, (n, 3)))
        e = rng.uniform(*self.restitution, n)
        mu = rng.uniform(*self.friction, n)
        return alt, vel, euler_quaternion(roll, pitch, yaw), rate, e, mu
