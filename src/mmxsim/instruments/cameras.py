"""JAXA's TENGOO and OROCHI cameras: footprints on the shape model, ground sampling distance,
and coverage maps along a trajectory.

A camera is a rectangular field of view (full angles ``fov_x`` x ``fov_y``) with square pixels
of angular size ``ifov``.  It points at the body centre by default ("center": the boresight
from the spacecraft to the origin of the body-fixed frame) or along given boresight vectors;
the detector's y axis is the projection of a reference vector (body +z by default) on the
image plane, turned by ``roll_rad`` about the boresight.

Per epoch a facet is *in the footprint* if its centroid is visible from the spacecraft
(facing, not hidden by the body: :func:`mmxsim.instruments.geometry.visibility_illumination`)
and inside the FOV pyramid; it is *observed* if, in addition, it is lit (and within the
optional incidence / emission limits).  Its ground sampling distance is

    GSD = range x IFOV / cos(e)     (m per pixel, e = emission angle),

i.e. the pixel footprint along the direction of steepest foreshortening (across it the GSD is
range x IFOV); the *resolution* quoted by instrument papers is taken as 2 pixels (Nyquist),
see :meth:`Camera.resolution_m`.

Simplifications: the facet centroid stands for the whole facet (a facet half in the FOV counts
as in or out); pixel smear, optics MTF and exposure are not modelled.

Numbers [K22] = Kuramoto et al. 2022 (EPS 74:12) Table 4, [Ka21] = Kameda et al. 2021 (EPS
73), via ``shared/mmx-facts.md`` §5.1:

* TENGOO: FOV 1.1 deg x 0.82 deg, IFOV 5.9 µrad, 3296 x 2472 pixels [K22]; "0.3 m resolution
  from 25 km" [Ka21] -- matched with the 2-pixel definition (2 x 25 km x 5.9 µrad = 0.295 m).
  [K22] also says "about 40 cm/pixel from 20 km", which the same IFOV does not give (0.118 m
  per pixel); that statement is not reproduced (see docs/instruments.md).
* OROCHI: FOV 66 deg x 53 deg; "about 20 m resolution from 20 km" [K22]; bands (centre, width)
  nm per [K22]: 390 (50), 480 (30), 550 (30), 650 (10), 700 (10), 800 (40), 950 (60) and a
  400-900 nm monochrome channel (the preprint [Ka21] lists other values; unresolved).  No
  pixel count is published in the sources we hold: ASSUMPTION, IFOV = 1 mrad, i.e. [K22]'s
  20 m from 20 km read as one pixel (a parameter of :class:`Camera`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from .geometry import _as_epochs, facet_frame, visibility_illumination

__all__ = ["Camera", "TENGOO", "OROCHI", "camera_frames", "in_fov", "gsd_m", "facet_lat_lon",
           "CoverageMap", "camera_coverage", "plot_coverage_map"]


@dataclass(frozen=True)
class Camera:
    """A frame camera: full FOV angles (rad), pixel IFOV (rad), optional pixel counts and bands."""

    name: str
    fov_x_rad: float
    fov_y_rad: float
    ifov_rad: float
    pixels: tuple | None = None
    bands_nm: tuple = ()
    source: str = ""

    def __post_init__(self):
        for k in ("fov_x_rad", "fov_y_rad"):
            v = getattr(self, k)
            if not (np.isfinite(v) and 0.0 < v < math.pi):
                raise InputError(f"Camera.{k}", v, "0 < angle < pi rad")
        if not (np.isfinite(self.ifov_rad) and 0.0 < self.ifov_rad <= min(self.fov_x_rad, self.fov_y_rad)):
            raise InputError("Camera.ifov_rad", self.ifov_rad, "0 < IFOV <= FOV (rad)")

    def gsd_m(self, range_km, cos_e=1.0):
        """Ground sampling distance (m/pixel): range x IFOV / cos(e)."""
        return gsd_m(self, range_km, cos_e)

    def resolution_m(self, range_km, cos_e=1.0, pixels_per_element: float = 2.0):
        """Resolvable element (m): ``pixels_per_element`` x GSD (2: Nyquist sampling)."""
        return pixels_per_element * gsd_m(self, range_km, cos_e)


#: TENGOO, [K22] Table 4 (FOV, IFOV, pixels).
TENGOO = Camera("TENGOO", math.radians(1.1), math.radians(0.82), 5.9e-6, (3296, 2472), (),
                "[K22] Table 4; [Ka21]")
#: OROCHI, FOV and bands (centre, width) nm [K22], the last (650, 500) being the 400-900 nm
#: monochrome channel; IFOV 1 mrad is an ASSUMPTION (20 m from 20 km read as 1 pixel).
OROCHI = Camera("OROCHI", math.radians(66.0), math.radians(53.0), 1.0e-3, None,
                ((390, 50), (480, 30), (550, 30), (650, 10), (700, 10), (800, 40), (950, 60), (650, 500)),
                "[K22] (FOV, bands, 20 m from 20 km); IFOV: ASSUMPTION")


def gsd_m(camera: Camera, range_km, cos_e=1.0):
    """range x IFOV / cos(e), in m per pixel (inf where cos e <= 0)."""
    r = np.asarray(range_km, float)
    c = np.asarray(cos_e, float)
    with np.errstate(divide="ignore"):
        return np.where(c > 0.0, r * 1e3 * camera.ifov_rad / np.where(c > 0.0, c, 1.0), np.inf)


def boresight_directions(sc_pos_km, boresight=None) -> np.ndarray:
    """(N, 3) unit pointing directions: None or "center" (toward the body-frame origin, i.e.
    nadir for a body-centred frame), or given (3,) / (N, 3) vectors."""
    sc = _as_epochs(sc_pos_km, "sc_pos_km")
    if boresight is None or (isinstance(boresight, str) and boresight == "center"):
        z = -sc
    elif isinstance(boresight, str):
        raise InputError("boresight", boresight, "None, 'center' or (3,)/(N, 3) vectors")
    else:
        z = np.broadcast_to(np.asarray(boresight, float), sc.shape).copy()
    nz = np.linalg.norm(z, axis=1)
    if not np.all(np.isfinite(nz)) or np.any(nz == 0):
        raise InputError("boresight", "zero or non-finite vector", "non-zero boresight; spacecraft not at the centre")
    return z / nz[:, None]


def camera_frames(sc_pos_km, boresight=None, roll_rad: float = 0.0, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """(N, 3, 3) rows = detector x, detector y, boresight z (unit, body-fixed).

    boresight: None or "center" (toward the body-frame origin), or (3,) / (N, 3) vectors.
    up: reference for the detector y axis (projected on the image plane; body +x is used
    where the boresight is within 1e-6 of it), then turned by roll_rad about z."""
    sc = _as_epochs(sc_pos_km, "sc_pos_km")
    z = boresight_directions(sc, boresight)
    u = np.broadcast_to(np.asarray(up, float), sc.shape).copy()
    y = u - np.sum(u * z, axis=1)[:, None] * z
    bad = np.linalg.norm(y, axis=1) < 1e-6
    if bad.any():
        alt = np.array([1.0, 0.0, 0.0])
        y[bad] = alt - np.sum(alt * z[bad], axis=1)[:, None] * z[bad]
    y /= np.linalg.norm(y, axis=1)[:, None]
    x = np.cross(y, z)
    if roll_rad:
        c, s = math.cos(roll_rad), math.sin(roll_rad)
        x, y = c * x + s * y, -s * x + c * y
    return np.stack([x, y, z], axis=1)


def in_fov(camera: Camera, sc_pos_km, points_km, frames) -> np.ndarray:
    """(N, P) bool: points inside the FOV pyramid of the camera at each epoch."""
    sc = _as_epochs(sc_pos_km, "sc_pos_km")
    frames = np.asarray(frames, float)
    # camera coordinates of the points: R (p - s) = R p - R s (batched matrix products)
    P = np.asarray(points_km, float)
    c = (P @ frames.reshape(-1, 3).T).reshape(len(P), len(sc), 3).transpose(1, 0, 2)
    c = c - np.einsum("nij,nj->ni", frames, sc)[:, None, :]
    tx, ty = math.tan(0.5 * camera.fov_x_rad), math.tan(0.5 * camera.fov_y_rad)
    z = c[..., 2]
    return (z > 0.0) & (np.abs(c[..., 0]) <= tx * z) & (np.abs(c[..., 1]) <= ty * z)


def facet_lat_lon(shape):
    """Planetocentric latitude and east longitude (deg, -180..180) of the facet centroids."""
    c, _, _ = facet_frame(shape)
    lat = np.degrees(np.arctan2(c[:, 2], np.hypot(c[:, 0], c[:, 1])))
    lon = np.degrees(np.arctan2(c[:, 1], c[:, 0]))
    return lat, lon


@dataclass
class CoverageMap:
    """Per-facet best (smallest) GSD among the observations (lit, visible, in the FOV, within
    the angle limits), inf where never observed; ``n_obs`` epochs observed per facet."""

    instrument: str
    best_gsd_m: np.ndarray
    n_obs: np.ndarray
    area_km2: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    settings: dict = field(default_factory=dict)

    def fraction(self, gsd_max_m: float = np.inf) -> float:
        """Area fraction of the surface observed at GSD <= gsd_max_m."""
        ok = np.isfinite(self.best_gsd_m) & (self.best_gsd_m <= gsd_max_m)
        return float(self.area_km2[ok].sum() / self.area_km2.sum())

    def by_latitude(self, gsd_max_m: float = np.inf, band_deg: float = 30.0):
        """[(lat_lo, lat_hi, area fraction of the band observed at GSD <= gsd_max_m), ...]."""
        if not (0 < band_deg <= 180):
            raise InputError("band_deg", band_deg, "0 < band <= 180 deg")
        edges = np.arange(-90.0, 90.0 + 1e-9, band_deg)
        if edges[-1] < 90.0:
            edges = np.append(edges, 90.0)
        ok = np.isfinite(self.best_gsd_m) & (self.best_gsd_m <= gsd_max_m)
        out = []
        for lo, hi in zip(edges[:-1], edges[1:]):
            inb = (self.lat_deg >= lo) & ((self.lat_deg < hi) | (hi >= 90.0))
            a = self.area_km2[inb].sum()
            out.append((float(lo), float(hi), float(self.area_km2[inb & ok].sum() / a) if a > 0 else float("nan")))
        return out

    def summary(self, gsd_levels_m=(0.3, 1.0, 10.0, 30.0, 100.0), band_deg: float = 30.0) -> dict:
        """Plain numbers for a report: fraction covered at each GSD level, overall and by band."""
        return {"instrument": self.instrument,
                "fraction": {float(g): self.fraction(g) for g in gsd_levels_m},
                "fraction_any": self.fraction(),
                "by_latitude": {float(g): self.by_latitude(g, band_deg) for g in gsd_levels_m},
                "median_best_gsd_m": float(np.median(self.best_gsd_m[np.isfinite(self.best_gsd_m)]))
                if np.isfinite(self.best_gsd_m).any() else float("inf")}


def _angle_limit(v, name):
    if v is None:
        return -np.inf
    if not (np.isfinite(v) and 0 < v <= 90):
        raise InputError(name, v, "None or 0 < limit <= 90 deg")
    return math.cos(math.radians(v))


def camera_coverage(camera: Camera, shape, sc_pos_km, sun_pos_km, *, mars_pos_km=None, boresight=None,
                    roll_rad: float = 0.0, max_incidence_deg: float | None = None,
                    max_emission_deg: float | None = None, occlusion: bool = True, chunk: int = 32,
                    vis_lit=None) -> CoverageMap:
    """Accumulate a camera's best GSD per facet along a trajectory (see the module docstring).

    sc_pos_km, sun_pos_km, mars_pos_km: (N, 3) body-fixed, km (as facet_geometry).
    max_incidence_deg / max_emission_deg: optional limits on the observations kept.
    vis_lit: optional precomputed (visible, illuminated) (N, F) bool arrays (shared between
    instruments by :func:`mmxsim.instruments.planning.plan_coverage`).
    Works in chunks of ``chunk`` epochs: memory ~ chunk x F x 100 bytes."""
    sc = _as_epochs(sc_pos_km, "sc_pos_km")
    sun = _as_epochs(sun_pos_km, "sun_pos_km")
    if len(sun) != len(sc):
        raise InputError("sun_pos_km", f"{len(sun)} epochs", f"{len(sc)} epochs, as sc_pos_km")
    if mars_pos_km is not None:
        mars = _as_epochs(mars_pos_km, "mars_pos_km")
        if len(mars) != len(sc):
            raise InputError("mars_pos_km", f"{len(mars)} epochs", f"{len(sc)} epochs, as sc_pos_km")
    else:
        mars = None
    if not (isinstance(chunk, (int, np.integer)) and chunk >= 1):
        raise InputError("chunk", chunk, "an integer >= 1")
    ci_min = _angle_limit(max_incidence_deg, "max_incidence_deg")
    ce_min = _angle_limit(max_emission_deg, "max_emission_deg")
    frames_all = camera_frames(sc, boresight, roll_rad)
    cen, nrm, area = facet_frame(shape)
    F = len(cen)
    best = np.full(F, np.inf)
    nobs = np.zeros(F, np.int64)
    sdir = sun / np.linalg.norm(sun, axis=1)[:, None]
    for i0 in range(0, len(sc), chunk):
        s_ = slice(i0, min(len(sc), i0 + chunk))
        fov = in_fov(camera, sc[s_], cen, frames_all[s_])
        if not fov.any():
            continue
        if vis_lit is not None:
            vis, lit = vis_lit[0][s_], vis_lit[1][s_]
        else:
            vis, lit = visibility_illumination(shape, sc[s_], sun[s_],
                                               mars_pos_km=None if mars is None else mars[s_], occlusion=occlusion)
        ok = fov & vis & lit
        if not ok.any():
            continue
        ii, ff = np.nonzero(ok)
        d = sc[s_][ii] - cen[ff]
        r = np.linalg.norm(d, axis=1)
        cos_e = np.einsum("ij,ij->i", d, nrm[ff]) / r
        cos_i = np.einsum("ij,ij->i", sdir[s_][ii], nrm[ff])
        keep = (cos_e >= ce_min) & (cos_i >= ci_min)
        ff, g = ff[keep], gsd_m(camera, r[keep], cos_e[keep])
        np.minimum.at(best, ff, g)
        np.add.at(nobs, ff, 1)
    lat, lon = facet_lat_lon(shape)
    return CoverageMap(camera.name, best, nobs, area, lat, lon,
                       {"boresight": "center" if boresight is None else "given", "roll_rad": roll_rad,
                        "max_incidence_deg": max_incidence_deg, "max_emission_deg": max_emission_deg,
                        "occlusion": occlusion, "epochs": len(sc)})


def plot_coverage_map(cov: CoverageMap, title: str | None = None, vmin=None, vmax=None):
    """Facet lon/lat map of log10(best GSD / m) (grey: never observed), as a matplotlib Figure
    (Agg, no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.2))
    FigureCanvasAgg(fig)  # its tight_layout() and png_bytes share one renderer
    ax = fig.add_subplot(111)
    seen = np.isfinite(cov.best_gsd_m)
    ax.scatter(cov.lon_deg[~seen], cov.lat_deg[~seen], s=1.5, c="0.8", lw=0, rasterized=True, label="not observed")
    if seen.any():
        lg = np.log10(cov.best_gsd_m[seen])
        sc = ax.scatter(cov.lon_deg[seen], cov.lat_deg[seen], s=1.5, c=lg, cmap="viridis_r", lw=0, rasterized=True,
                        vmin=vmin, vmax=vmax)
        cb = fig.colorbar(sc, ax=ax)
        cb.set_label("log10 best GSD (m/pixel)")
    ax.set_xlim(-180, 180)
    ax.set_ylim(-90, 90)
    ax.set_xlabel("east longitude (deg)")
    ax.set_ylabel("latitude (deg)")
    ax.set_title(title or f"{cov.instrument}: observed {100 * cov.fraction():.1f} % of the surface (area)")
    fig.tight_layout()
    return fig
