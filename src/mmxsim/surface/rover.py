"""Deployment of the CNES/DLR rover IDEFIX on Phobos: 6-DOF rigid body, terrain contact, Monte Carlo.

IDEFIX is the rover of CNES and DLR on MMX (mmx-facts.md §5.6, §9: [PEPS-IDEFIX], [DLR-IDEFIX]).
It is released from the spacecraft at about 40 m ([PEPS-IDEFIX], [IEEE-LSS]), falls for about two
minutes in ~1/2000 g ([MMXN-331]), bounces, comes to rest in an unpredictable attitude and rights
itself. This module models the fall, the bounces and the coming to rest.

Simplified model (stated assumptions; see docs/rover.md)
---------------------------------------------------------
* **Body**: one rigid box (length x width x height) with four wheel spheres under it; mass 25 kg
  [DLR-IDEFIX], overall height 41.5 cm [CLUBIC-2023]; the other dimensions are UNCONFIRMED
  (mmx-facts.md §5.6) and are ASSUMPTION parameters of :class:`RoverModel`. Inertia of a solid
  box of the overall dimensions, centre of mass at the box centre. Wheels are locked during the
  deployment (contact points, no rolling; ASSUMPTION). Collision geometry: 8 box corners, 6 face
  centres, 4 wheel spheres.
* **Dynamics** in Phobos' rotating body-fixed frame (IAU_PHOBOS, synchronous rotation), written in
  a local frame at the site (east, north, up = outward surface normal of the shape model):
  Phobos' gravity from the interpolated polyhedron grid (:class:`mmxsim.gravity.fast.GridGravity`,
  error bound stated there; ``gravity="grid"``), or a point mass (``"point"``) or a uniform vector
  (``"uniform"``, for tests and drop facilities); the linearised circular Hill terms (centrifugal +
  Mars tide, n²(3x, 0, -z) about the frame origin, as :mod:`mmxsim.surface.landing` and the "hill"
  model of :mod:`mmxsim.surface.maps`) and Coriolis -2 Ω x v, Ω = n ẑ, n the Phobos mean motion
  [JPL-SAT]. No eccentricity, libration, solar pressure or gravity-gradient torque. The angular
  velocity integrated is the inertial one (torque-free Euler equations between contacts); the
  attitude is kept relative to the rotating frame.
* **Contact** (own model, not a physics engine; justification in docs/rover.md): penalty
  spring-damper per contact point against a height field. Normal force k d + c d' (clamped >= 0,
  no adhesion); k and c follow from a nominal contact duration and the coefficient of restitution
  *e* for the four-wheel flat impact (each wheel carrying m/4), using the exact solution of the
  clamped linear spring-damper (:func:`spring_damper_restitution`). Tangential force: Coulomb
  friction with a stick spring (elastic anchor, stiffness = k), so that the rover can rest on a
  slope. For other impact configurations the effective mass differs and the restitution deviates
  from *e* (inherent to spring-damper contact; measured in the docs).
* **Terrain** (:class:`Terrain`): a quadratic surface least-squares fitted to the shape model
  around the site (the grid's surface r = R(lat, lon), an interpolant of the mesh) plus a seeded
  periodic relief tile: Gaussian random roughness (rms height, correlation length) and a boulder
  field (hemispherical boulders, cumulative size-frequency N(>D) = A D^-b). All terrain parameters
  are ASSUMPTIONS (no published values at the IDEFIX site; [TOPO21] gives only statistics of
  irregularities larger than 40 cm).
* **Integration**: between contacts, classical RK4 on the 13-dimensional state with steps limited
  by the clearance to the terrain (up to ``dt_flight_s``); near and in contact, semi-implicit Euler
  with a fixed step ``dt`` (default the contact duration / 20).
* **Outcomes**: first-impact time and speed, impacts (ballistic arcs of at least ``t_air_min_s``
  ending in contact faster than ``v_impact_min_m_s``; the first included), settling time (start of
  the first interval of ``t_hold_s`` in contact with all point speeds below ``v_rest_m_s``), rest
  position and attitude, local slope relative to the effective gravity and roughness under the
  rover, safe-zone flag (limits are ASSUMPTIONS).

The kernels are plain Python on scalars, numba-compiled (parallel over deployments) when numba
is installed; without numba the same code runs in Python (correct, ~100x slower).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..bodies import GM_PHOBOS, PHOBOS_MEAN_MOTION
from ..errors import InputError
from ..gravity.fast import grid_accel_point
from .._accel import jit, prange

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

# output columns of the kernel
_O_STATUS, _O_T1, _O_V1, _O_VN1, _O_IMP, _O_TSET, _O_P, _O_Q, _O_TC1, _O_VR1, _O_VRN1, _O_HOP, _O_STEPS, \
    _O_PEN, _O_T = 0, 1, 2, 3, 4, 5, 6, 9, 13, 14, 15, 16, 17, 18, 19
_NOUT = 20



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


@dataclass(frozen=True)
class TerrainModel:
    """Statistical small-scale terrain (all ASSUMPTIONS; [TOPO21] reports only the probability of
    irregularities < 40 cm over 4 x 4 m and 20 x 20 m areas).

    roughness_rms_m, correlation_m: Gaussian random height field (Gaussian correlation).
    boulder_density_per_m2: cumulative number of boulders larger than 1 m per m² (A in
    N(>D) = A D^-b); boulder_exponent b; diameters between boulder_dmin_m and boulder_dmax_m;
    boulders are hemispheres (height D/2). tile_m, spacing_m: the periodic relief tile.
    fit_radius_m: radius of the shape-model patch fitted by the quadratic base surface;
    patch_radius_m: a rover further from the site is stopped (status "left terrain patch").
    """

    roughness_rms_m: float = 0.03
    correlation_m: float = 0.5
    boulder_density_per_m2: float = 0.004
    boulder_exponent: float = 2.5
    boulder_dmin_m: float = 0.3
    boulder_dmax_m: float = 2.0
    tile_m: float = 51.2
    spacing_m: float = 0.1
    fit_radius_m: float = 300.0
    patch_radius_m: float = 300.0

    def __post_init__(self):
        _num("TerrainModel.roughness_rms_m", self.roughness_rms_m, 0.0, 5.0)
        _num("TerrainModel.correlation_m", self.correlation_m, 0.0, 100.0, "a length in (0, 100] m", lo_open=True)
        _num("TerrainModel.boulder_density_per_m2", self.boulder_density_per_m2, 0.0, 10.0)
        _num("TerrainModel.boulder_exponent", self.boulder_exponent, 0.5, 6.0)
        _num("TerrainModel.boulder_dmin_m", self.boulder_dmin_m, 0.0, 50.0, "a diameter in (0, 50] m", lo_open=True)
        _num("TerrainModel.boulder_dmax_m", self.boulder_dmax_m, self.boulder_dmin_m, 50.0,
             f"a diameter in [{self.boulder_dmin_m}, 50] m")
        _num("TerrainModel.spacing_m", self.spacing_m, 0.005, 1.0)
        _num("TerrainModel.tile_m", self.tile_m, 10 * self.spacing_m, 1000.0)
        _num("TerrainModel.fit_radius_m", self.fit_radius_m, 1.0, 5000.0)
        _num("TerrainModel.patch_radius_m", self.patch_radius_m, 1.0, 5000.0)


# ---------------------------------------------------------------------------------------------
# Terrain
@dataclass
class Terrain:
    """Local terrain at a site: z = base(x, y) + relief(x, y) in the local frame (m; x east,
    y north, z up along the shape model's normal at the site, origin on the surface at the site).

    base: quadratic coefficients (c0, c1, c2, c3, c4, c5) of c0 + c1 x + c2 y + c3 x² + c4 xy + c5 y².
    relief: periodic tile (n, n) of spacing ``spacing_m`` (index [ix, iy]), bilinear.
    """

    base: np.ndarray
    relief: np.ndarray
    spacing_m: float
    patch_radius_m: float = 300.0
    site_km: np.ndarray = field(default_factory=lambda: np.zeros(3))
    frame: np.ndarray = field(default_factory=lambda: np.eye(3))  # columns: east, north, up (body-fixed)
    lat_deg: float = float("nan")
    lon_deg: float = float("nan")
    fit_rms_m: float = 0.0
    boulders: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))  # x, y, D (m) in the tile
    model: TerrainModel | None = None

    @classmethod
    def plane(cls, slope_deg: float = 0.0, relief=None, spacing_m: float = 0.1, patch_radius_m: float = 1e3):
        """A plane through the origin rising along +x at ``slope_deg`` (optionally with a relief tile)."""
        s = _num("slope_deg", slope_deg, 0.0, 80.0, "a slope in [0, 80] deg")
        rel = np.zeros((4, 4)) if relief is None else np.ascontiguousarray(relief, float)
        return cls(np.array([0.0, math.tan(math.radians(s)), 0.0, 0.0, 0.0, 0.0]), rel, float(spacing_m),
                   float(patch_radius_m))

    @property
    def relief_max(self) -> float:
        return float(max(self.relief.max(), 0.0))

    def height(self, x, y):
        """Terrain height z(x, y) (m), arrays broadcast."""
        x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
        c = self.base
        z = c[0] + c[1] * x + c[2] * y + c[3] * x * x + c[4] * x * y + c[5] * y * y
        return z + _bilinear_np(self.relief, self.spacing_m, x, y)

    def base_height(self, x, y):
        c = self.base
        x, y = np.asarray(x, float), np.asarray(y, float)
        return c[0] + c[1] * x + c[2] * y + c[3] * x * x + c[4] * x * y + c[5] * y * y

    def local_patch(self, x, y, size_m: float, step_m: float | None = None):
        """(slope_deg of the fitted plane w.r.t. the local z axis, peak-to-valley residual m, plane
        normal) of the terrain over a square of side ``size_m`` centred at (x, y)."""
        step = step_m or min(self.spacing_m, size_m / 10)
        u = np.arange(-size_m / 2, size_m / 2 + 1e-9, step)
        X, Y = np.meshgrid(x + u, y + u, indexing="ij")
        Z = self.height(X, Y)
        A = np.column_stack([np.ones(X.size), (X - x).ravel(), (Y - y).ravel()])
        coef, *_ = np.linalg.lstsq(A, Z.ravel(), rcond=None)
        res = Z.ravel() - A @ coef
        nrm = np.array([-coef[1], -coef[2], 1.0])
        nrm /= np.linalg.norm(nrm)
        return math.degrees(math.acos(nrm[2])), float(np.ptp(res)), nrm


def _bilinear_np(H, hs, x, y):
    n0, n1 = H.shape
    u, v = x / hs, y / hs
    i0, j0 = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
    fx, fy = u - i0, v - j0
    i, j = i0 % n0, j0 % n1
    i1, j1 = (i + 1) % n0, (j + 1) % n1
    return (H[i, j] * (1 - fx) * (1 - fy) + H[i1, j] * fx * (1 - fy) + H[i, j1] * (1 - fx) * fy
            + H[i1, j1] * fx * fy)


def relief_tile(model: TerrainModel = TerrainModel(), seed: int = 0):
    """(relief (n, n) m, boulders (B, 3): x, y, D m) of a periodic tile: Gaussian random roughness
    (FFT-filtered white noise, Gaussian spectrum, exact rms) and hemispherical boulders with a
    truncated power-law cumulative size distribution (seeded, numpy default_rng)."""
    if not isinstance(model, TerrainModel):
        raise InputError("terrain model", type(model).__name__, "a TerrainModel")
    rng = np.random.default_rng(seed)
    n = int(round(model.tile_m / model.spacing_m))
    hs = model.tile_m / n
    k = 2 * np.pi * np.fft.fftfreq(n, d=hs)
    KX, KY = np.meshgrid(k, k, indexing="ij")
    amp = np.exp(-(KX ** 2 + KY ** 2) * model.correlation_m ** 2 / 8.0)  # sqrt of a Gaussian PSD
    w = rng.normal(size=(n, n))
    h = np.real(np.fft.ifft2(np.fft.fft2(w) * amp))
    sd = h.std()
    h = (h - h.mean()) * (model.roughness_rms_m / sd if sd > 0 else 0.0)
    # boulders: N(>D) = A D^-b per m², D in [dmin, dmax]
    A, b, d0, d1 = model.boulder_density_per_m2, model.boulder_exponent, model.boulder_dmin_m, model.boulder_dmax_m
    lam = A * (d0 ** -b - d1 ** -b) * model.tile_m ** 2
    nb = int(rng.poisson(lam)) if lam > 0 else 0
    u = rng.random(nb)
    D = (d0 ** -b - u * (d0 ** -b - d1 ** -b)) ** (-1.0 / b)
    xy = rng.random((nb, 2)) * model.tile_m
    for (bx, by), d in zip(xy, D):
        r = 0.5 * d
        m = int(math.ceil(r / hs)) + 1
        ix = np.arange(int(bx / hs) - m, int(bx / hs) + m + 1)
        iy = np.arange(int(by / hs) - m, int(by / hs) + m + 1)
        dx = ix[:, None] * hs - bx
        dy = iy[None, :] * hs - by
        cap = np.sqrt(np.maximum(r * r - dx * dx - dy * dy, 0.0))
        sub = h[np.ix_(ix % n, iy % n)]
        # boulder surface sits on the local roughness at its centre
        base = h[int(bx / hs) % n, int(by / hs) % n]
        h[np.ix_(ix % n, iy % n)] = np.where(cap > 0, np.maximum(sub, base + cap), sub)
    return np.ascontiguousarray(h), np.column_stack([xy, D]) if nb else np.zeros((0, 3))


def local_frame(point_km, normal):
    """(3, 3) matrix with columns east, north, up (body-fixed) at a surface point with normal ``up``."""
    up = np.asarray(normal, float) / np.linalg.norm(normal)
    e = np.cross([0.0, 0.0, 1.0], up)
    if np.linalg.norm(e) < 1e-9:
        e = np.array([0.0, 1.0, 0.0])
    e /= np.linalg.norm(e)
    nn = np.cross(up, e)
    return np.column_stack([e, nn, up])


def site_terrain(lat_deg: float, lon_deg: float, grid=None, model: TerrainModel = TerrainModel(), seed: int = 0,
                 n_fit: int = 15) -> Terrain:
    """Terrain at a site on Phobos: quadratic fitted (least squares) to the grid's surface
    r = R(lat, lon) (interpolant of the shape model) on an ``n_fit`` x ``n_fit`` square of
    half-width ``model.fit_radius_m`` around the site, plus the seeded relief tile."""
    from .landing import default_grid, site_on_surface

    grid = grid if grid is not None else default_grid()
    if not isinstance(model, TerrainModel):
        raise InputError("terrain model", type(model).__name__, "a TerrainModel")
    site, nrm = site_on_surface(grid, lat_deg, lon_deg)
    Rf = local_frame(site, nrm)
    u = np.linspace(-model.fit_radius_m, model.fit_radius_m, n_fit)
    X, Y = np.meshgrid(u, u, indexing="ij")
    d = site[None, :] + (X.ravel()[:, None] * Rf[:, 0] + Y.ravel()[:, None] * Rf[:, 1]) * 1e-3
    d /= np.linalg.norm(d, axis=1)[:, None]
    lat = np.arcsin(np.clip(d[:, 2], -1, 1))
    lon = np.arctan2(d[:, 1], d[:, 0])
    P = grid.surface_radius(lat, lon)[:, None] * d
    L = (P - site) @ Rf * 1e3  # local metres
    x, y, z = L[:, 0], L[:, 1], L[:, 2]
    A = np.column_stack([np.ones_like(x), x, y, x * x, x * y, y * y])
    coef, *_ = np.linalg.lstsq(A, z, rcond=None)
    rms = float(np.sqrt(np.mean((A @ coef - z) ** 2)))
    rel, bld = relief_tile(model, seed)
    return Terrain(coef, rel, model.tile_m / rel.shape[0], model.patch_radius_m, site.copy(), Rf, float(lat_deg),
                   float(lon_deg), rms, bld, model)


# ---------------------------------------------------------------------------------------------
# Kernels (scalar code)
def _rotm(q, R):
    w, x, y, z = q[0], q[1], q[2], q[3]
    R[0, 0] = 1.0 - 2.0 * (y * y + z * z)
    R[0, 1] = 2.0 * (x * y - w * z)
    R[0, 2] = 2.0 * (x * z + w * y)
    R[1, 0] = 2.0 * (x * y + w * z)
    R[1, 1] = 1.0 - 2.0 * (x * x + z * z)
    R[1, 2] = 2.0 * (y * z - w * x)
    R[2, 0] = 2.0 * (x * z - w * y)
    R[2, 1] = 2.0 * (y * z + w * x)
    R[2, 2] = 1.0 - 2.0 * (x * x + y * y)


_rotm = jit(_rotm)


def _terrain(x, y, cb, H, hs, out):
    """out = (z, dz/dx, dz/dy) of base quadratic + periodic bilinear relief."""
    z = cb[0] + cb[1] * x + cb[2] * y + cb[3] * x * x + cb[4] * x * y + cb[5] * y * y
    gx = cb[1] + 2.0 * cb[3] * x + cb[4] * y
    gy = cb[2] + cb[4] * x + 2.0 * cb[5] * y
    n0 = H.shape[0]
    n1 = H.shape[1]
    u = x / hs
    v = y / hs
    fi = math.floor(u)
    fj = math.floor(v)
    fx = u - fi
    fy = v - fj
    i = int(fi) % n0
    j = int(fj) % n1
    i1 = (i + 1) % n0
    j1 = (j + 1) % n1
    h00 = H[i, j]
    h10 = H[i1, j]
    h01 = H[i, j1]
    h11 = H[i1, j1]
    z += h00 * (1 - fx) * (1 - fy) + h10 * fx * (1 - fy) + h01 * (1 - fx) * fy + h11 * fx * fy
    gx += ((h10 - h00) * (1 - fy) + (h11 - h01) * fy) / hs
    gy += ((h01 - h00) * (1 - fx) + (h11 - h10) * fx) / hs
    out[0] = z
    out[1] = gx
    out[2] = gy


_terrain = jit(_terrain)


def _field(p, prm, site, Rlb, G, Rg, shC, shS, buf, a):
    """Gravity + Hill (centrifugal and tidal) acceleration (m/s², local frame) at local p (m)."""
    gk = int(prm[4])
    n = prm[9]
    rot = prm[10]
    if gk == 0:
        a[0] = prm[5]
        a[1] = prm[6]
        a[2] = prm[7]
        if rot > 0.0:  # uniform gravity with rotation: Hill terms at the body-fixed position
            xb = site[0] * 1e3 + Rlb[0, 0] * p[0] + Rlb[0, 1] * p[1] + Rlb[0, 2] * p[2]
            zb = site[2] * 1e3 + Rlb[2, 0] * p[0] + Rlb[2, 1] * p[1] + Rlb[2, 2] * p[2]
            for k in range(3):
                a[k] += Rlb[0, k] * 3.0 * n * n * xb - Rlb[2, k] * n * n * zb
        return
    xb = site[0] + 1e-3 * (Rlb[0, 0] * p[0] + Rlb[0, 1] * p[1] + Rlb[0, 2] * p[2])
    yb = site[1] + 1e-3 * (Rlb[1, 0] * p[0] + Rlb[1, 1] * p[1] + Rlb[1, 2] * p[2])
    zb = site[2] + 1e-3 * (Rlb[2, 0] * p[0] + Rlb[2, 1] * p[1] + Rlb[2, 2] * p[2])
    if gk == 1:
        r = math.sqrt(xb * xb + yb * yb + zb * zb)
        k3 = prm[8] / (r * r * r)
        buf[1] = -k3 * xb
        buf[2] = -k3 * yb
        buf[3] = -k3 * zb
    else:
        grid_accel_point(xb, yb, zb, G, Rg, prm[8], prm[27], prm[28], prm[29], prm[30], shC, shS, buf)
    if rot > 0.0:
        buf[1] += 3.0 * n * n * xb
        buf[3] -= n * n * zb
    for k in range(3):
        a[k] = 1e3 * (Rlb[0, k] * buf[1] + Rlb[1, k] * buf[2] + Rlb[2, k] * buf[3])


_field = jit(_field)


def _accel(p, v, prm, site, Rlb, Om, G, Rg, shC, shS, buf, a):
    """External acceleration (m/s², local frame) at local position p (m), velocity v (m/s):
    gravity + Hill terms + Coriolis -2 Om x v."""
    _field(p, prm, site, Rlb, G, Rg, shC, shS, buf, a)
    if prm[10] > 0.0:
        a[0] -= 2.0 * (Om[1] * v[2] - Om[2] * v[1])
        a[1] -= 2.0 * (Om[2] * v[0] - Om[0] * v[2])
        a[2] -= 2.0 * (Om[0] * v[1] - Om[1] * v[0])


_accel = jit(_accel)


def _deriv(s, ds, prm, site, Rlb, Om, G, Rg, shC, shS, buf, a, R):
    """Free-flight derivative of s = (p 3, v 3, q 4, w 3): torque-free rotation."""
    _accel(s[0:3], s[3:6], prm, site, Rlb, Om, G, Rg, shC, shS, buf, a)
    for k in range(3):
        ds[k] = s[3 + k]
        ds[3 + k] = a[k]
    _rotm(s[6:10], R)
    # relative angular velocity in body axes: w - R^T Om
    wx = s[10] - (R[0, 0] * Om[0] + R[1, 0] * Om[1] + R[2, 0] * Om[2])
    wy = s[11] - (R[0, 1] * Om[0] + R[1, 1] * Om[1] + R[2, 1] * Om[2])
    wz = s[12] - (R[0, 2] * Om[0] + R[1, 2] * Om[1] + R[2, 2] * Om[2])
    qw, qx, qy, qz = s[6], s[7], s[8], s[9]
    ds[6] = -0.5 * (qx * wx + qy * wy + qz * wz)
    ds[7] = 0.5 * (qw * wx + qy * wz - qz * wy)
    ds[8] = 0.5 * (qw * wy + qz * wx - qx * wz)
    ds[9] = 0.5 * (qw * wz + qx * wy - qy * wx)
    I1, I2, I3 = prm[1], prm[2], prm[3]
    w1, w2, w3 = s[10], s[11], s[12]
    ds[10] = (I2 - I3) * w2 * w3 / I1
    ds[11] = (I3 - I1) * w3 * w1 / I2
    ds[12] = (I1 - I2) * w1 * w2 / I3


_deriv = jit(_deriv)


def _rk4(s, dt, prm, site, Rlb, Om, G, Rg, shC, shS, buf, a, R, k1, k2, k3, k4, tmp):
    _deriv(s, k1, prm, site, Rlb, Om, G, Rg, shC, shS, buf, a, R)
    for i in range(13):
        tmp[i] = s[i] + 0.5 * dt * k1[i]
    _deriv(tmp, k2, prm, site, Rlb, Om, G, Rg, shC, shS, buf, a, R)
    for i in range(13):
        tmp[i] = s[i] + 0.5 * dt * k2[i]
    _deriv(tmp, k3, prm, site, Rlb, Om, G, Rg, shC, shS, buf, a, R)
    for i in range(13):
        tmp[i] = s[i] + dt * k3[i]
    _deriv(tmp, k4, prm, site, Rlb, Om, G, Rg, shC, shS, buf, a, R)
    for i in range(13):
        s[i] += dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i])
    qn = math.sqrt(s[6] * s[6] + s[7] * s[7] + s[8] * s[8] + s[9] * s[9])
    for i in range(6, 10):
        s[i] /= qn


_rk4 = jit(_rk4)


def _contact_step(s, dt, prm, cn, mu, pts, rad, anc, cb, H, Om, ga, rl, R, tb):
    """One semi-implicit Euler step with contact forces; ga: gravity + Hill field (m/s², local),
    rl: an upper bound of the relief under the rover (points higher above the base surface than
    rl + their radius are not tested). Returns (number of penetrating points, max penetration)."""
    m = prm[0]
    k = prm[11]
    kt = prm[12]
    hs = prm[23]
    _rotm(s[6:10], R)
    cor = 1.0 if prm[10] > 0.0 else 0.0
    Fx = m * (ga[0] - cor * 2.0 * (Om[1] * s[5] - Om[2] * s[4]))
    Fy = m * (ga[1] - cor * 2.0 * (Om[2] * s[3] - Om[0] * s[5]))
    Fz = m * (ga[2] - cor * 2.0 * (Om[0] * s[4] - Om[1] * s[3]))
    Tx = 0.0
    Ty = 0.0
    Tz = 0.0
    # relative angular velocity in the local frame: R w - Om
    wlx = R[0, 0] * s[10] + R[0, 1] * s[11] + R[0, 2] * s[12] - Om[0]
    wly = R[1, 0] * s[10] + R[1, 1] * s[11] + R[1, 2] * s[12] - Om[1]
    wlz = R[2, 0] * s[10] + R[2, 1] * s[11] + R[2, 2] * s[12] - Om[2]
    ncon = 0
    pmax = 0.0
    for c in range(pts.shape[0]):
        rx = R[0, 0] * pts[c, 0] + R[0, 1] * pts[c, 1] + R[0, 2] * pts[c, 2]
        ry = R[1, 0] * pts[c, 0] + R[1, 1] * pts[c, 1] + R[1, 2] * pts[c, 2]
        rz = R[2, 0] * pts[c, 0] + R[2, 1] * pts[c, 1] + R[2, 2] * pts[c, 2]
        Px = s[0] + rx
        Py = s[1] + ry
        Pz = s[2] + rz
        zq = cb[0] + cb[1] * Px + cb[2] * Py + cb[3] * Px * Px + cb[4] * Px * Py + cb[5] * Py * Py
        if Pz - zq > rl + 1.5 * rad[c] + 1e-3:  # clearly above any relief here
            anc[c, 0] = 0.0
            anc[c, 1] = 0.0
            anc[c, 2] = 0.0
            continue
        _terrain(Px, Py, cb, H, hs, tb)
        nn = 1.0 / math.sqrt(1.0 + tb[1] * tb[1] + tb[2] * tb[2])
        nx = -tb[1] * nn
        ny = -tb[2] * nn
        nz = nn
        pen = rad[c] - (Pz - tb[0]) * nz
        if pen <= 0.0:
            anc[c, 0] = 0.0
            anc[c, 1] = 0.0
            anc[c, 2] = 0.0
            continue
        ncon += 1
        if pen > pmax:
            pmax = pen
        # contact point (on the sphere for wheels) relative to the centre of mass
        cx = rx - rad[c] * nx
        cy = ry - rad[c] * ny
        cz = rz - rad[c] * nz
        vx = s[3] + wly * cz - wlz * cy
        vy = s[4] + wlz * cx - wlx * cz
        vz = s[5] + wlx * cy - wly * cx
        vn = vx * nx + vy * ny + vz * nz
        fn = k * pen - cn * vn
        if fn < 0.0:
            fn = 0.0
        tx = vx - vn * nx
        ty = vy - vn * ny
        tz = vz - vn * nz
        # stick spring: anchor displacement kept in the tangent plane
        dn = anc[c, 0] * nx + anc[c, 1] * ny + anc[c, 2] * nz
        dx = anc[c, 0] - dn * nx + tx * dt
        dy = anc[c, 1] - dn * ny + ty * dt
        dz = anc[c, 2] - dn * nz + tz * dt
        ftx = -kt * dx - cn * tx
        fty = -kt * dy - cn * ty
        ftz = -kt * dz - cn * tz
        ft = math.sqrt(ftx * ftx + fty * fty + ftz * ftz)
        lim = mu * fn
        if ft > lim:
            f = lim / ft
            ftx *= f
            fty *= f
            ftz *= f
            dx = -(ftx + cn * tx) / kt
            dy = -(fty + cn * ty) / kt
            dz = -(ftz + cn * tz) / kt
        anc[c, 0] = dx
        anc[c, 1] = dy
        anc[c, 2] = dz
        fx = fn * nx + ftx
        fy = fn * ny + fty
        fz = fn * nz + ftz
        Fx += fx
        Fy += fy
        Fz += fz
        Tx += cy * fz - cz * fy
        Ty += cz * fx - cx * fz
        Tz += cx * fy - cy * fx
    # semi-implicit Euler
    s[3] += Fx / m * dt
    s[4] += Fy / m * dt
    s[5] += Fz / m * dt
    s[0] += s[3] * dt
    s[1] += s[4] * dt
    s[2] += s[5] * dt
    # torque in body axes
    tbx = R[0, 0] * Tx + R[1, 0] * Ty + R[2, 0] * Tz
    tby = R[0, 1] * Tx + R[1, 1] * Ty + R[2, 1] * Tz
    tbz = R[0, 2] * Tx + R[1, 2] * Ty + R[2, 2] * Tz
    I1, I2, I3 = prm[1], prm[2], prm[3]
    w1, w2, w3 = s[10], s[11], s[12]
    s[10] += (tbx + (I2 - I3) * w2 * w3) / I1 * dt
    s[11] += (tby + (I3 - I1) * w3 * w1) / I2 * dt
    s[12] += (tbz + (I1 - I2) * w1 * w2) / I3 * dt
    wx = s[10] - (R[0, 0] * Om[0] + R[1, 0] * Om[1] + R[2, 0] * Om[2])
    wy = s[11] - (R[0, 1] * Om[0] + R[1, 1] * Om[1] + R[2, 1] * Om[2])
    wz = s[12] - (R[0, 2] * Om[0] + R[1, 2] * Om[1] + R[2, 2] * Om[2])
    qw, qx, qy, qz = s[6], s[7], s[8], s[9]
    s[6] = qw - 0.5 * dt * (qx * wx + qy * wy + qz * wz)
    s[7] = qx + 0.5 * dt * (qw * wx + qy * wz - qz * wy)
    s[8] = qy + 0.5 * dt * (qw * wy + qz * wx - qx * wz)
    s[9] = qz + 0.5 * dt * (qw * wz + qx * wy - qy * wx)
    qn = math.sqrt(s[6] * s[6] + s[7] * s[7] + s[8] * s[8] + s[9] * s[9])
    for i in range(6, 10):
        s[i] /= qn
    return ncon, pmax


_contact_step = jit(_contact_step)


def _deploy_impl(X0, cns, mus, prm, pts, rad, cb, H, Mb, site, Rlb, Om, G, Rg, shC, shS, out, hist):
    """Propagate deployments i from X0[i] (13-state) to rest. out[i] as the _O_* columns; hist
    (m, steps, 8) records (t, p, q) every prm[24] s for the first m deployments."""
    ntr = X0.shape[0]
    nrec = hist.shape[0]
    nmax = hist.shape[1]
    K = pts.shape[0]
    dtc = prm[13]
    dtf = prm[14]
    tmax = prm[15]
    vrest = prm[16]
    thold = prm[17]
    tair = prm[18]
    vimp = prm[19]
    rpatch = prm[20]
    rbound = prm[21]
    relmax = prm[22]
    recdt = prm[24]
    zesc = prm[25]
    lch = prm[26]
    gest = prm[31]
    hstand = prm[32]
    bsz = prm[33]
    dmove = prm[34]
    grefresh = prm[35]
    nb0 = Mb.shape[0]
    nb1 = Mb.shape[1]
    for i in prange(ntr):
        s = np.empty(13)
        for j in range(13):
            s[j] = X0[i, j]
        anc = np.zeros((K, 3))
        buf = np.empty(4)
        a = np.empty(3)
        R = np.empty((3, 3))
        tb = np.empty(3)
        k1 = np.empty(13)
        k2 = np.empty(13)
        k3 = np.empty(13)
        k4 = np.empty(13)
        tmp = np.empty(13)
        ga = np.empty(3)
        pg = np.empty(3)  # where the field was last evaluated (none yet: forces the first evaluation)
        pg[0] = 1e150
        pg[1] = 0.0
        pg[2] = 0.0
        cn = cns[i]
        mu = mus[i]
        t = 0.0
        status = 1
        t1 = -1.0
        v1 = 0.0
        vn1 = 0.0
        imp = 0
        tset = -1.0
        tc1 = -1.0
        vr1 = 0.0
        vrn1 = 0.0
        hop = 0.0
        steps = 0
        penmax = 0.0
        prev = False
        tend = -1e300
        rest0 = -1.0
        nextrec = 0.0
        krec = 0
        while t < tmax:
            if i < nrec and krec < nmax and t >= nextrec:
                hist[i, krec, 0] = t
                for j in range(3):
                    hist[i, krec, 1 + j] = s[j]
                for j in range(4):
                    hist[i, krec, 4 + j] = s[6 + j]
                krec += 1
                nextrec += recdt
            zb = cb[0] + cb[1] * s[0] + cb[2] * s[1] + cb[3] * s[0] * s[0] + cb[4] * s[0] * s[1] \
                + cb[5] * s[1] * s[1]
            gx = cb[1] + 2.0 * cb[3] * s[0] + cb[4] * s[1]
            gy = cb[2] + cb[4] * s[0] + 2.0 * cb[5] * s[1]
            nz = 1.0 / math.sqrt(1.0 + gx * gx + gy * gy)
            hcom = (s[2] - zb) * nz
            # local relief maximum (block maxima dilated by the rover radius + dmove)
            rl = Mb[int(math.floor(s[0] / bsz)) % nb0, int(math.floor(s[1] / bsz)) % nb1]
            clr = hcom - rbound - (rl if rl < relmax else relmax)
            sp = math.sqrt(s[3] * s[3] + s[4] * s[4] + s[5] * s[5])
            if t1 >= 0.0 and hcom - hstand > hop:
                hop = hcom - hstand
            steps += 1
            if clr > max(0.01, 4.0 * sp * dtc):
                dt = 0.5 * clr / (sp + math.sqrt(gest * clr) + 1e-12)
                if dt > dtf:
                    dt = dtf
                if dt * sp > dmove:
                    dt = dmove / sp
                if dt < dtc:
                    dt = dtc
                if t + dt > tmax:
                    dt = tmax - t
                _rk4(s, dt, prm, site, Rlb, Om, G, Rg, shC, shS, buf, a, R, k1, k2, k3, k4, tmp)
                ncon = 0
            else:
                dt = dtc
                vpre0 = s[3]
                vpre1 = s[4]
                vpre2 = s[5]
                dg = (s[0] - pg[0]) ** 2 + (s[1] - pg[1]) ** 2 + (s[2] - pg[2]) ** 2
                if dg > grefresh * grefresh:
                    _field(s[0:3], prm, site, Rlb, G, Rg, shC, shS, buf, ga)
                    for j in range(3):
                        pg[j] = s[j]
                ncon, pm = _contact_step(s, dt, prm, cn, mu, pts, rad, anc, cb, H, Om, ga,
                                         (rl if rl < relmax else relmax), R, tb)
                if pm > penmax:
                    penmax = pm
                if ncon > 0 and not prev:
                    vapp = -(-gx * nz * vpre0 - gy * nz * vpre1 + nz * vpre2)
                    if t1 < 0.0:
                        t1 = t
                        v1 = math.sqrt(vpre0 * vpre0 + vpre1 * vpre1 + vpre2 * vpre2)
                        vn1 = vapp
                        imp = 1
                    elif t - tend >= tair and vapp >= vimp:
                        imp += 1
            t += dt
            if ncon > 0:
                # rest check: centre speed and rotation (relative to the surface)
                _rotm(s[6:10], R)
                wx = s[10] - (R[0, 0] * Om[0] + R[1, 0] * Om[1] + R[2, 0] * Om[2])
                wy = s[11] - (R[0, 1] * Om[0] + R[1, 1] * Om[1] + R[2, 1] * Om[2])
                wz = s[12] - (R[0, 2] * Om[0] + R[1, 2] * Om[1] + R[2, 2] * Om[2])
                spn = math.sqrt(s[3] * s[3] + s[4] * s[4] + s[5] * s[5])
                wn = math.sqrt(wx * wx + wy * wy + wz * wz)
                if spn < vrest and wn * lch < vrest:
                    if rest0 < 0.0:
                        rest0 = t - dt
                    if t - rest0 >= thold:
                        status = 0
                        tset = rest0
                        break
                else:
                    rest0 = -1.0
            else:
                rest0 = -1.0
                if prev:
                    tend = t - dt
                    if tc1 < 0.0 and t1 >= 0.0:
                        tc1 = tend - t1
                        vr1 = math.sqrt(s[3] * s[3] + s[4] * s[4] + s[5] * s[5])
                        vrn1 = -gx * nz * s[3] - gy * nz * s[4] + nz * s[5]
            prev = ncon > 0
            if s[0] * s[0] + s[1] * s[1] > rpatch * rpatch:
                status = 2
                break
            if clr > zesc:
                status = 3
                break
        if i < nrec and krec < nmax:
            hist[i, krec, 0] = t
            for j in range(3):
                hist[i, krec, 1 + j] = s[j]
            for j in range(4):
                hist[i, krec, 4 + j] = s[6 + j]
        out[i, 0] = status
        out[i, 1] = t1
        out[i, 2] = v1
        out[i, 3] = vn1
        out[i, 4] = imp
        out[i, 5] = tset
        for j in range(3):
            out[i, 6 + j] = s[j]
        for j in range(4):
            out[i, 9 + j] = s[6 + j]
        out[i, 13] = tc1
        out[i, 14] = vr1
        out[i, 15] = vrn1
        out[i, 16] = hop
        out[i, 17] = steps
        out[i, 18] = penmax
        out[i, 19] = t


_deploy_kernel = jit(_deploy_impl, parallel=True)


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


def euler_quaternion(roll_deg, pitch_deg, yaw_deg) -> np.ndarray:
    """Quaternion (w, x, y, z), body -> local, of z-y-x Euler angles (deg); arrays broadcast to (..., 4)."""
    r, p, y = (np.radians(np.asarray(v, float)) / 2 for v in (roll_deg, pitch_deg, yaw_deg))
    cr, sr, cp, sp, cy, sy = np.cos(r), np.sin(r), np.cos(p), np.sin(p), np.cos(y), np.sin(y)
    return np.stack([cr * cp * cy + sr * sp * sy, sr * cp * cy - cr * sp * sy, cr * sp * cy + sr * cp * sy,
                     cr * cp * sy - sr * sp * cy], axis=-1)


def quat_matrix(q) -> np.ndarray:
    R = np.empty((3, 3))
    _rotm(np.asarray(q, float), R)
    return R


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


class _Env:
    """Packed kernel arguments of one (rover, terrain, gravity) setting."""

    def __init__(self, rover, contact, terrain, gravity, grid, g_uniform, rotating, n, settings):
        if not isinstance(rover, RoverModel):
            raise InputError("rover", type(rover).__name__, "a RoverModel")
        if not isinstance(contact, ContactModel):
            raise InputError("contact", type(contact).__name__, "a ContactModel")
        if not isinstance(terrain, Terrain):
            raise InputError("terrain", type(terrain).__name__, "a Terrain (site_terrain(...) or Terrain.plane(...))")
        if not isinstance(settings, Settings):
            raise InputError("settings", type(settings).__name__, "a Settings")
        if gravity not in GRAVITY_KINDS:
            raise InputError("gravity", gravity, ", ".join(GRAVITY_KINDS))
        self.rover, self.contact, self.terrain, self.gravity, self.settings = rover, contact, terrain, gravity, settings
        self.n = _num("n", n, 0.0, 1.0, "a spin rate in [0, 1] rad/s")
        self.rotating = bool(rotating)
        prm = np.zeros(36)
        prm[0] = rover.mass_kg
        prm[1:4] = rover.inertia
        prm[4] = GRAVITY_KINDS[gravity]
        gu = np.zeros(3)
        if gravity == "uniform":
            gu = np.asarray(g_uniform, float)
            if gu.shape != (3,) or not np.all(np.isfinite(gu)) or not np.linalg.norm(gu) > 0:
                raise InputError("g_uniform", g_uniform,
                                 "a finite non-zero acceleration vector (3,) m/s², local frame")
        prm[5:8] = gu
        self.grid = None
        G, Rg, shC, shS = np.zeros((1, 1, 1, 4)), np.zeros((1, 1)), np.zeros((1, 1)), np.zeros((1, 1))
        if gravity == "grid":
            from ..gravity.fast import GridGravity
            from .landing import default_grid

            grid = grid if grid is not None else default_grid()
            if not isinstance(grid, GridGravity):
                raise InputError("grid", type(grid).__name__, "a mmxsim.gravity.fast.GridGravity")
            if not np.any(terrain.site_km != 0):
                raise InputError("terrain", "a plane without a site", "a site_terrain(...) for gravity='grid'")
            self.grid = grid
            G, Rg, gm, dq, dlat, dlon, shR, shC, shS = grid.kernel_args
            prm[8], prm[27], prm[28], prm[29], prm[30] = gm, dq, dlat, dlon, shR
        elif gravity == "point":
            prm[8] = GM_PHOBOS if grid is None else float(grid)
        self.G, self.Rg, self.shC, self.shS = G, Rg, shC, shS
        prm[9] = self.n
        prm[10] = 1.0 if self.rotating else 0.0
        k, _ = contact.coefficients(rover.mass_kg)
        prm[11], prm[12] = k, k
        prm[13] = contact.dt
        prm[14] = settings.dt_flight_s
        prm[15] = settings.t_max_s
        prm[16] = settings.v_rest_m_s
        prm[17] = settings.t_hold_s
        prm[18] = settings.t_air_min_s
        prm[19] = settings.v_impact_min_m_s
        prm[20] = terrain.patch_radius_m
        prm[21] = rover.bounding_radius
        prm[22] = terrain.relief_max
        prm[23] = terrain.spacing_m
        prm[24] = settings.record_dt_s
        prm[25] = settings.escape_m
        prm[26] = 0.5 * max(rover.length_m, rover.width_m, rover.height_m)
        self.pts, self.rad = rover.contact_points()
        self.site = np.asarray(terrain.site_km, float)
        self.Rlb = np.ascontiguousarray(terrain.frame, float)
        self.Om = self.Rlb.T @ np.array([0.0, 0.0, self.n]) if self.rotating else np.zeros(3)
        self.prm = prm
        a = self.accel(np.zeros(3))
        prm[31] = 1.5 * np.linalg.norm(a) + 1e-9
        prm[32] = 0.5 * rover.height_m
        # block maxima of the relief, dilated so that a flight step (horizontal motion <= dmove)
        # never meets relief higher than the block value at its start
        H = terrain.relief
        nbk = next(k for k in (8, 6, 5, 4, 3, 2, 1) if H.shape[0] % k == 0 and H.shape[1] % k == 0)
        Mb = H.reshape(H.shape[0] // nbk, nbk, H.shape[1] // nbk, nbk).max(axis=(1, 3))
        bsz = nbk * terrain.spacing_m
        dmove = 0.5
        rdil = int(math.ceil((prm[21] + dmove) / bsz)) + 1
        D = Mb.copy()
        for di in range(-rdil, rdil + 1):
            for dj in range(-rdil, rdil + 1):
                D = np.maximum(D, np.roll(np.roll(Mb, di, axis=0), dj, axis=1))
        self.Mb = np.ascontiguousarray(np.maximum(D, 0.0))
        prm[33], prm[34] = bsz, dmove
        prm[35] = settings.gravity_refresh_m

    def accel(self, p, v=(0.0, 0.0, 0.0)):
        """External acceleration (m/s², local frame) at a local position (no contact)."""
        a = np.empty(3)
        _accel(np.asarray(p, float), np.asarray(v, float), self.prm, self.site, self.Rlb, self.Om, self.G, self.Rg,
               self.shC, self.shS, np.empty(4), a)
        return a

    def potential(self, p):
        """Time-independent potential Φ (m²/s², a = ∇Φ without Coriolis) at local positions (N, 3):
        Phobos' potential (exact for 'uniform' and 'point'; the grid's interpolated potential for
        'grid', which is not exactly consistent with its interpolated acceleration) plus the Hill
        term n²(3x² - z²)/2."""
        p = np.atleast_2d(np.asarray(p, float))
        rb = self.site[None, :] * 1e3 + p @ self.Rlb.T  # body-fixed, m
        if self.gravity == "uniform":
            u = p @ self.prm[5:8]
        elif self.gravity == "point":
            u = self.prm[8] / np.linalg.norm(rb * 1e-3, axis=1) * 1e6
        else:
            u = self.grid.evaluate(rb * 1e-3)[0] * 1e6
        if self.rotating:
            u = u + 0.5 * self.n ** 2 * (3 * rb[:, 0] ** 2 - rb[:, 2] ** 2)
        return u

    def initial_states(self, altitude, vel, quat, rate_rel, offset):
        """(N, 13) states from release arrays (local frame)."""
        n = len(altitude)
        X = np.zeros((n, 13))
        for i in range(n):
            R = quat_matrix(quat[i])
            rp = self.pts @ R.T
            x0, y0 = offset[i]
            # the lowest clearance (vertical) of any contact point above the terrain = altitude
            xs, ys = x0 + rp[:, 0], y0 + rp[:, 1]
            zt = self.terrain.height(xs, ys)
            c = self.terrain.base
            nz = 1.0 / np.sqrt(1.0 + (c[1] + 2 * c[3] * xs + c[4] * ys) ** 2 + (c[2] + c[4] * xs + 2 * c[5] * ys) ** 2)
            X[i, 0:3] = (x0, y0, altitude[i] + float(np.max(zt + self.rad / nz - rp[:, 2])))
            X[i, 3:6] = vel[i]
            X[i, 6:10] = quat[i]
            X[i, 10:13] = np.asarray(rate_rel[i]) + R.T @ self.Om
        return X

    def run(self, X0, restitution, friction, record=0, nsteps=0):
        n = len(X0)
        cns = np.array([self.contact.coefficients(self.rover.mass_kg, e)[1] for e in restitution]) \
            if np.ptp(restitution) > 0 else np.full(n, self.contact.coefficients(self.rover.mass_kg,
                                                                                  float(restitution[0]))[1])
        out = np.zeros((n, _NOUT))
        hist = np.zeros((record, nsteps, 8))
        _deploy_kernel(np.ascontiguousarray(X0), cns, np.asarray(friction, float), self.prm, self.pts, self.rad,
                       np.ascontiguousarray(self.terrain.base, float), self.terrain.relief, self.Mb, self.site,
                       self.Rlb, self.Om, self.G, self.Rg, self.shC, self.shS, out, hist)
        return out, hist


@dataclass
class DeploymentResult:
    """Outcomes of one or more deployments (arrays over deployments; local frame, m, s)."""

    status: np.ndarray
    t_first_impact_s: np.ndarray
    v_first_impact_m_s: np.ndarray  # centre-of-mass speed relative to the surface at first contact
    vn_first_impact_m_s: np.ndarray  # its component into the base surface
    impacts: np.ndarray
    settle_time_s: np.ndarray  # from release; NaN if not settled
    rest_position_m: np.ndarray  # (N, 3) centre of mass
    rest_quaternion: np.ndarray  # (N, 4) body -> local
    first_contact_s: np.ndarray  # duration of the first contact interval
    rebound_speed_m_s: np.ndarray  # speed when the first contact ends
    rebound_normal_m_s: np.ndarray
    max_hop_m: np.ndarray  # highest centre height above standing height after the first impact
    steps: np.ndarray
    max_penetration_m: np.ndarray
    t_end_s: np.ndarray
    restitution: np.ndarray
    friction: np.ndarray
    rest_slope_deg: np.ndarray  # footprint plane vs local effective gravity
    rest_roughness_m: np.ndarray  # peak-to-valley under the rover footprint
    upright_deg: np.ndarray  # angle between rover +z and the local up
    safe: np.ndarray
    terrain: Terrain
    settings: Settings
    tracks: np.ndarray | None = None  # (m, steps, 8): t, p, q of the first m deployments
    release_altitude_m: np.ndarray | None = None
    site_facet_slope_deg: float = float("nan")
    seed: int | None = None
    _map: object = field(default=None, repr=False)

    @property
    def settled(self) -> np.ndarray:
        return self.status == SETTLED

    def ellipse(self, k: float = 1.0):
        """(semi-major m, semi-minor m, angle from east toward north rad) of the k-sigma ellipse of
        the settled rest points (same convention as :meth:`mmxsim.surface.landing.Dispersion.ellipse`)."""
        P = self.rest_position_m[self.settled, :2]
        if len(P) < 3:
            return float("nan"), float("nan"), float("nan")
        w, V = np.linalg.eigh(np.cov(P.T))
        return k * math.sqrt(max(w[1], 0.0)), k * math.sqrt(max(w[0], 0.0)), math.atan2(V[1, 1], V[0, 1])

    def summary(self) -> dict:
        """Plain numbers: fractions, medians and percentiles of the outcomes."""
        ok = self.settled
        a1, b1, th = self.ellipse(1.0)
        ts = self.settle_time_s[ok]
        c = self.rest_position_m[ok, :2]

        def pct(x, q):
            return float(np.percentile(x, q)) if len(x) else float("nan")

        return {
            "n": int(len(self.status)), "settled_fraction": float(ok.mean()),
            "status_counts": {STATUS_NAMES[k]: int(np.sum(self.status == k)) for k in STATUS_NAMES},
            "t_first_impact_median_s": float(np.median(self.t_first_impact_s)),
            "v_first_impact_median_m_s": float(np.median(self.v_first_impact_m_s)),
            "v_first_impact_p5_p95_m_s": (pct(self.v_first_impact_m_s, 5), pct(self.v_first_impact_m_s, 95)),
            "impacts_median": float(np.median(self.impacts)), "impacts_max": int(np.max(self.impacts)),
            "settle_time_median_s": pct(ts, 50), "settle_time_p5_p95_s": (pct(ts, 5), pct(ts, 95)),
            "max_hop_median_m": float(np.median(self.max_hop_m)),
            "rest_mean_east_north_m": (float(c[:, 0].mean()), float(c[:, 1].mean())) if len(c) else (np.nan,) * 2,
            "ellipse_1sigma_m": (a1, b1, math.degrees(th)),
            "rest_distance_median_m": pct(np.hypot(c[:, 0], c[:, 1]), 50),
            "safe_fraction": float(self.safe[ok].mean()) if ok.any() else float("nan"),
            "upright_fraction": float(np.mean(self.upright_deg[ok] < 45.0)) if ok.any() else float("nan"),
            "site_facet_slope_deg": self.site_facet_slope_deg,
        }

    def summary_text(self) -> str:
        s = self.summary()
        a1, b1, th = s["ellipse_1sigma_m"]
        return (f"{s['n']} deployments, {100 * s['settled_fraction']:.1f}% settled; first impact after "
                f"{s['t_first_impact_median_s']:.0f} s at {s['v_first_impact_median_m_s']:.3f} m/s (median); "
                f"impacts median {s['impacts_median']:.0f} (max {s['impacts_max']}); settling time median "
                f"{s['settle_time_median_s']:.0f} s (5-95%: {s['settle_time_p5_p95_s'][0]:.0f}-"
                f"{s['settle_time_p5_p95_s'][1]:.0f} s); rest 1-sigma ellipse {a1:.1f} x {b1:.1f} m at {th:.0f} deg "
                f"from east; safe {100 * s['safe_fraction']:.0f}%, wheels-up-ish (>45 deg) "
                f"{100 * (1 - s['upright_fraction']):.0f}%")

    # -- figures ---------------------------------------------------------------------------------
    def plot_trajectory(self, k: int = 0):
        """Figure: height above the base surface vs time and ground track of recorded deployment k."""
        from matplotlib.figure import Figure

        if self.tracks is None or k >= len(self.tracks):
            last = 0 if self.tracks is None else len(self.tracks) - 1
            raise InputError("trajectory index", k, f"a recorded deployment 0..{last}")
        tr = self.tracks[k]
        m = np.nonzero(tr[:, 0] > 0)[0]
        tr = tr[: (m[-1] + 1 if len(m) else 1)]
        t, p = tr[:, 0], tr[:, 1:4]
        h = p[:, 2] - self.terrain.base_height(p[:, 0], p[:, 1])
        fig = Figure(figsize=(11, 4.2))
        a1, a2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
        a1.plot(t, h, lw=1)
        t1 = self.t_first_impact_s[k]
        a1.set_yscale("symlog", linthresh=1.0)
        a1.axvline(t1, color="tab:red", lw=0.8, ls="--", label=f"first impact {t1:.0f} s")
        if np.isfinite(self.settle_time_s[k]):
            a1.axvline(self.settle_time_s[k], color="tab:green", lw=0.8, ls="--",
                       label=f"settled {self.settle_time_s[k]:.0f} s")
        a1.set_xlabel("time since release (s)")
        a1.set_ylabel("centre height above base surface (m)")
        a1.set_title(f"IDEFIX deployment {k}: {int(self.impacts[k])} impacts, e={self.restitution[k]:.2f}, "
                     f"mu={self.friction[k]:.2f}", fontsize=9)
        a1.legend(fontsize=8)
        sel = t >= (t1 - 1.0)
        a2.plot(p[sel, 0], p[sel, 1], lw=1)
        a2.plot(p[0, 0], p[0, 1], "k+", label="release")
        a2.plot(p[-1, 0], p[-1, 1], "o", color="tab:green", label="rest")
        a2.set_xlabel("east (m)")
        a2.set_ylabel("north (m)")
        a2.set_aspect("equal", adjustable="datalim")
        a2.set_title("ground track after first impact", fontsize=9)
        a2.legend(fontsize=8)
        fig.tight_layout()
        return fig

    def plot_dispersion(self, sigmas=(1, 2, 3)):
        """Figure: rest points over the local relief with k-sigma ellipses (and the site's facet slope)."""
        from matplotlib.figure import Figure

        ok = self.settled
        P = self.rest_position_m
        ext = max(5.0, float(np.max(np.abs(P[:, :2]))) * 1.1 if len(P) else 5.0)
        u = np.linspace(-ext, ext, 400)
        X, Y = np.meshgrid(u, u, indexing="ij")
        Z = self.terrain.height(X, Y) - self.terrain.base_height(X, Y)
        fig = Figure(figsize=(7.2, 6))
        ax = fig.subplots()
        im = ax.imshow(Z.T, origin="lower", extent=(-ext, ext, -ext, ext), cmap="gray")
        fig.colorbar(im, ax=ax, label="relief above the fitted shape-model surface (m)")
        sf = ok & self.safe
        ax.plot(P[sf, 0], P[sf, 1], ".", ms=3, color="tab:green", label="settled, safe")
        ax.plot(P[ok & ~self.safe, 0], P[ok & ~self.safe, 1], ".", ms=3, color="tab:orange",
                label="settled, unsafe (slope/roughness)")
        if (~ok).any():
            ax.plot(P[~ok, 0], P[~ok, 1], "x", ms=4, color="tab:red", label="not settled")
        ax.plot([0], [0], "+", color="cyan", ms=12, label="release point (nadir)")
        if ok.sum() >= 3:
            mu = P[ok, :2].mean(axis=0)
            t = np.linspace(0, 2 * np.pi, 200)
            for k in sigmas:
                a, b, th = self.ellipse(k)
                ax.plot(mu[0] + a * np.cos(t) * math.cos(th) - b * np.sin(t) * math.sin(th),
                        mu[1] + a * np.cos(t) * math.sin(th) + b * np.sin(t) * math.cos(th), lw=1,
                        color={1: "tab:blue", 2: "magenta", 3: "yellow"}.get(k, "w"), label=f"{k}-sigma ellipse")
        where = "" if not np.isfinite(self.terrain.lat_deg) else \
            f" at lat {self.terrain.lat_deg:.1f}, lon {self.terrain.lon_deg:.1f} deg E"
        fs = "" if not np.isfinite(self.site_facet_slope_deg) else f"; facet slope {self.site_facet_slope_deg:.1f} deg"
        ax.set_title(f"IDEFIX rest points{where}{fs}", fontsize=9)
        ax.set_xlabel("east (m)")
        ax.set_ylabel("north (m)")
        ax.legend(fontsize=7, loc="upper right")
        fig.tight_layout()
        return fig

    def plot_settling(self):
        """Figure: histograms of settling time and number of impacts."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(10, 3.8))
        a1, a2 = fig.subplots(1, 2)
        ts = self.settle_time_s[self.settled]
        a1.hist(ts, bins=40, color="tab:blue")
        a1.set_xlabel("settling time since release (s)")
        a1.set_ylabel("deployments")
        if len(ts):
            a1.axvline(np.median(ts), color="k", ls="--", lw=0.8, label=f"median {np.median(ts):.0f} s")
            a1.legend(fontsize=8)
        imp = self.impacts.astype(int)
        a2.hist(imp, bins=np.arange(imp.min() - 0.5, imp.max() + 1.5), color="tab:orange")
        a2.set_xlabel("impacts (first included)")
        fig.tight_layout()
        return fig

    def plot_site_map(self):
        """Figure: the site on the Phobos slope map (facets of the gravity grid's mesh, 'hill'
        model of :mod:`mmxsim.surface.maps`); the rest points lie within ~0.5 deg of it."""
        from matplotlib.figure import Figure

        from .maps import plot_map

        if self._map is None:
            raise InputError("site map", "no shape-model site", "a Monte Carlo on a site_terrain with gravity='grid'")
        fig = Figure(figsize=(10, 5.2))
        ax = fig.subplots()
        plot_map(self._map, "slope", ax=ax, points=([self.terrain.lat_deg], [self.terrain.lon_deg]),
                 points_label="IDEFIX release site (ASSUMPTION)",
                 title=f"IDEFIX site on the Phobos slope map ({self._map.shape_name}); "
                       f"{100 * float(np.mean(self.settled)):.0f}% settled, safe "
                       f"{100 * float(np.mean(self.safe[self.settled])) if self.settled.any() else float('nan'):.0f}%")
        return fig

    def figures(self) -> dict:
        """{'trajectory', 'dispersion', 'settling'[, 'site_map']}: matplotlib Figures (no pyplot)."""
        out = {"dispersion": self.plot_dispersion(), "settling": self.plot_settling()}
        if self._map is not None:
            out["site_map"] = self.plot_site_map()
        if self.tracks is not None and len(self.tracks):
            out["trajectory"] = self.plot_trajectory(0)
        return out


def _result(env: _Env, out, hist, e, mu, record, alt=None, seed=None, facet_slope=float("nan")):
    st = env.settings
    n = len(out)
    slope = np.full(n, np.nan)
    rough = np.full(n, np.nan)
    upright = np.full(n, np.nan)
    safe = np.zeros(n, bool)
    size = max(env.rover.length_m, env.rover.width_m)
    for i in range(n):
        p = out[i, 6:9]
        R = quat_matrix(out[i, 9:13])
        upright[i] = math.degrees(math.acos(np.clip(R[2, 2], -1, 1)))
        if out[i, 0] != SETTLED:
            continue
        _, rough[i], nrm = env.terrain.local_patch(p[0], p[1], size)
        g = env.accel(p)
        slope[i] = math.degrees(math.acos(np.clip(-(g @ nrm) / np.linalg.norm(g), -1, 1)))
        safe[i] = slope[i] <= st.slope_max_deg and rough[i] <= st.roughness_max_m
    tset = np.where(out[:, 5] >= 0, out[:, 5], np.nan)
    return DeploymentResult(out[:, 0].astype(int), out[:, 1], out[:, 2], out[:, 3], out[:, 4].astype(int), tset,
                            out[:, 6:9].copy(), out[:, 9:13].copy(), out[:, 13], out[:, 14], out[:, 15], out[:, 16],
                            out[:, 17].astype(int), out[:, 18], out[:, 19], np.asarray(e, float),
                            np.asarray(mu, float), slope, rough, upright, safe, env.terrain, st,
                            hist if record else None, alt, facet_slope, seed)


def _nsteps(settings):
    return int(settings.t_max_s / settings.record_dt_s) + 10


def deploy(release: Release = Release(), rover: RoverModel = RoverModel(), contact: ContactModel = ContactModel(),
           terrain: Terrain | None = None, site=None, grid=None, gravity: str = "grid",
           g_uniform=(0.0, 0.0, -G_PHOBOS_NOMINAL), rotating: bool = True, n: float = N_PHOBOS,
           settings: Settings = Settings(), record: bool = True, terrain_model: TerrainModel = TerrainModel(),
           seed: int = 0) -> DeploymentResult:
    """One deployment of IDEFIX from ``release`` to rest (arrays of length 1 in the result).

    ``terrain`` defaults to :func:`site_terrain` at ``site`` (lat, lon deg) with ``terrain_model``
    and ``seed``; ``gravity`` 'grid' (default; GridGravity ``grid`` or the default grid), 'point'
    (GM_PHOBOS point mass) or 'uniform' (``g_uniform``, m/s² in the local frame); ``rotating``
    adds the Hill (centrifugal + tide) and Coriolis terms with spin ``n``."""
    site = DEFAULT_SITE if site is None else site
    if not isinstance(release, Release):
        raise InputError("release", type(release).__name__, "a Release")
    if terrain is None:
        terrain = site_terrain(site[0], site[1], grid=grid, model=terrain_model, seed=seed) \
            if gravity == "grid" else Terrain.plane()
    env = _Env(rover, contact, terrain, gravity, grid, g_uniform, rotating, n, settings)
    q = euler_quaternion(*release.attitude_deg)
    X0 = env.initial_states([release.altitude_m], [release.velocity_m_s], [q],
                            [np.radians(release.rate_deg_s)], [release.offset_m])
    out, hist = env.run(X0, [contact.restitution], [contact.friction], record=1 if record else 0,
                        nsteps=_nsteps(settings) if record else 0)
    return _result(env, out, hist, [contact.restitution], [contact.friction], record, np.array([release.altitude_m]))


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


_FACET = {}


def site_facet_slope(grid, lat_deg, lon_deg) -> float:
    """Slope (deg, 'hill' model of :mod:`mmxsim.surface.maps`) of the shape-model facet nearest the site."""
    from .maps import surface_map

    key = grid.key
    if key not in _FACET:
        _FACET[key] = surface_map(grid.shape, polyhedron=grid.poly, model="hill", about_centroid=False)
    m = _FACET[key]
    la, lo = math.radians(lat_deg), math.radians(lon_deg)
    d = np.array([math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)])
    c = m.centroids / np.linalg.norm(m.centroids, axis=1)[:, None]
    return float(m.slope_deg[int(np.argmax(c @ d))])


def deploy_monte_carlo(n: int = 1000, seed: int = 0, site=None, distribution=DeploymentDistribution(),
                       rover: RoverModel = RoverModel(), contact: ContactModel = ContactModel(),
                       terrain: Terrain | None = None, terrain_model: TerrainModel = TerrainModel(),
                       terrain_seed: int = 0, grid=None, gravity: str = "grid",
                       g_uniform=(0.0, 0.0, -G_PHOBOS_NOMINAL), rotating: bool = True, n_spin: float = N_PHOBOS,
                       settings: Settings = Settings(), record: int = 3) -> DeploymentResult:
    """Monte Carlo of IDEFIX deployments at a site (lat, lon deg): release altitude, separation
    velocity, attitude, rates, restitution and friction drawn from ``distribution`` with
    ``numpy.random.default_rng(seed)`` (same seed, same ensemble); one terrain realisation
    (``terrain_seed``). Ensemble run in parallel (numba threads). Returns a
    :class:`DeploymentResult` with ``summary()`` (plain numbers) and ``figures()`` (trajectory
    of the first recorded deployment, dispersion map, settling-time histogram)."""
    site = DEFAULT_SITE if site is None else site
    if not isinstance(n, (int, np.integer)) or not 1 <= n <= 10_000_000:
        raise InputError("n", n, "an integer number of deployments 1..1e7")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError("seed", seed, "an integer >= 0")
    if not isinstance(distribution, DeploymentDistribution):
        raise InputError("distribution", type(distribution).__name__, "a DeploymentDistribution")
    if not isinstance(record, (int, np.integer)) or not 0 <= record <= n:
        raise InputError("record", record, f"an integer 0..n ({n})")
    if terrain is None:
        terrain = site_terrain(site[0], site[1], grid=grid, model=terrain_model, seed=terrain_seed) \
            if gravity == "grid" else Terrain.plane()
    env = _Env(rover, contact, terrain, gravity, grid, g_uniform, rotating, n_spin, settings)
    alt, vel, q, rate, e, mu = distribution.sample(int(n), int(seed))
    X0 = env.initial_states(alt, vel, q, rate, np.zeros((n, 2)))
    out, hist = env.run(X0, e, mu, record=int(record), nsteps=_nsteps(settings) if record else 0)
    fs = site_facet_slope(env.grid, *site) if env.grid is not None else float("nan")
    res = _result(env, out, hist, e, mu, record, alt, int(seed), fs)
    if env.grid is not None and np.isfinite(terrain.lat_deg):
        res._map = _FACET.get(env.grid.key)
    return res


def jacobi_integral(env_or_result, p, v, w=None):
    """Rotating-frame Jacobi-like integral (m²/s², per unit mass) of states: |v|²/2 - Φ(p), plus the
    rotational kinetic energy w·Iw/(2m) of the inertial angular velocity (body axes) if given.
    Conserved without contact for the 'uniform' and 'point' gravity models (exact potentials)."""
    env = env_or_result
    p, v = np.atleast_2d(p), np.atleast_2d(v)
    J = 0.5 * np.sum(v * v, axis=1) - env.potential(p)
    if w is not None:
        w = np.atleast_2d(w)
        J = J + 0.5 * np.sum(w * w * env.rover.inertia[None, :], axis=1) / env.rover.mass_kg
    return J


def make_env(rover: RoverModel = RoverModel(), contact: ContactModel = ContactModel(), terrain: Terrain | None = None,
             gravity: str = "uniform", grid=None, g_uniform=(0.0, 0.0, -G_PHOBOS_NOMINAL), rotating: bool = False,
             n: float = N_PHOBOS, settings: Settings = Settings()) -> _Env:
    """The packed model (for tests and testbeds): ``env.run(X0, e, mu)``, ``env.accel``, ``env.potential``."""
    return _Env(rover, contact, terrain if terrain is not None else Terrain.plane(), gravity, grid, g_uniform,
                rotating, n, settings)


def run_states(env: _Env, X0, restitution=None, friction=None, record: int = 0) -> DeploymentResult:
    """Propagate given 13-states (p, v, q, w_inertial_body) with env; arrays of e and μ per state."""
    X0 = np.atleast_2d(np.asarray(X0, float))
    if X0.shape[1] != 13 or not np.all(np.isfinite(X0)):
        raise InputError("X0", X0.shape, "finite (N, 13) states")
    nn = len(X0)
    e = np.full(nn, env.contact.restitution) if restitution is None else np.broadcast_to(restitution, (nn,))
    mu = np.full(nn, env.contact.friction) if friction is None else np.broadcast_to(friction, (nn,))
    out, hist = env.run(X0, np.asarray(e, float), np.asarray(mu, float), record=record,
                        nsteps=_nsteps(env.settings) if record else 0)
    return _result(env, out, hist, e, mu, record)


__all__ = ["ContactModel", "DeploymentDistribution", "DeploymentResult", "Release", "RoverModel", "Settings", "Terrain",
           "TerrainModel", "deploy", "deploy_monte_carlo", "euler_quaternion", "jacobi_integral", "local_frame",
           "make_env", "relief_tile", "run_states", "site_facet_slope", "site_terrain", "spring_damper_restitution",
           "SETTLED", "TIMEOUT", "LEFT_PATCH", "ESCAPED", "STATUS_NAMES"]
