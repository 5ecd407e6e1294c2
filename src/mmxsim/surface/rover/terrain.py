"""IDEFIX rover deployment: the terrain around the site (quadratic fit of the shape model plus a
seeded relief tile; see :mod:`mmxsim.surface.rover`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ...errors import InputError
from .model import _num


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
    from ..landing import default_grid, site_on_surface

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
