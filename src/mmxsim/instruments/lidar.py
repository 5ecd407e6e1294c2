"""JAXA's MMX LIDAR (laser altimeter): ranging availability, footprint, accuracy, ground track.

Per epoch the boresight ray (toward the body centre by default, or given vectors) is cast on
the shape model (BVH closest hit, :func:`mmxsim.instruments._raycast.first_hits`); where it hits,
the range is the distance to the hit point, ranging is *available* if the range is within
100 m - 100 km, the footprint diameter is range x beam divergence, and the range accuracy is
interpolated between the published end points.

Numbers ([S21] Senshu et al. 2021, EPS 73, Table 1; [K22] Kuramoto et al. 2022, EPS 74:12,
Table 4; via shared/mmx-facts.md §5.2): range 100 m to 100 km (for albedo 0.05); accuracy ±2 m
at 100 m and ±22 m at 100 km; repetition rate up to 4 Hz; receiver FOV 1 mrad; beam
divergence < 0.5 mrad; footprint 50 m from 100 km [K22] (= 100 km x 0.5 mrad, which is why the
upper bound 0.5 mrad is used as the divergence).

Simplifications (stated): the accuracy between the end points is ASSUMED linear in range (two
published points only); the link budget (albedo, incidence on a slope) is not modelled beyond
the published range limits; ranging is to the first surface hit along the boresight (no
footprint-averaging over slopes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from .geometry import _as_epochs
from .cameras import boresight_directions

__all__ = ["Lidar", "MMX_LIDAR", "LidarTrack", "lidar_track", "plot_lidar_track"]


@dataclass(frozen=True)
class Lidar:
    """A laser altimeter: range window (km), divergence and receiver FOV (rad), rate (Hz),
    accuracy (m) at the two ends of the range window."""

    name: str = "LIDAR"
    range_min_km: float = 0.1  # [S21] Table 1
    range_max_km: float = 100.0  # [S21] Table 1
    divergence_rad: float = 0.5e-3  # [S21] "< 0.5 mrad"; 50 m from 100 km [K22]
    receiver_fov_rad: float = 1.0e-3  # [S21]
    rate_hz: float = 4.0  # [S21] maximum repetition rate
    accuracy_min_m: float = 2.0  # [S21] +-2 m at 100 m
    accuracy_max_m: float = 22.0  # [S21] +-22 m at 100 km

    def __post_init__(self):
        if not (0 < self.range_min_km < self.range_max_km and np.isfinite(self.range_max_km)):
            raise InputError("Lidar.range_min_km/range_max_km", (self.range_min_km, self.range_max_km),
                             "0 < min < max, km")
        for k in ("divergence_rad", "receiver_fov_rad", "rate_hz", "accuracy_min_m", "accuracy_max_m"):
            v = getattr(self, k)
            if not (np.isfinite(v) and v > 0):
                raise InputError(f"Lidar.{k}", v, "a positive number")

    def footprint_m(self, range_km):
        """Laser spot diameter on a surface normal to the beam: range x divergence (m)."""
        return np.asarray(range_km, float) * 1e3 * self.divergence_rad

    def accuracy_m(self, range_km):
        """Range accuracy (m), linear in range between the published end points (ASSUMPTION
        between them); NaN outside the range window."""
        r = np.asarray(range_km, float)
        f = (r - self.range_min_km) / (self.range_max_km - self.range_min_km)
        acc = self.accuracy_min_m + f * (self.accuracy_max_m - self.accuracy_min_m)
        return np.where((r >= self.range_min_km) & (r <= self.range_max_km), acc, np.nan)

    def available(self, range_km):
        r = np.asarray(range_km, float)
        return (r >= self.range_min_km) & (r <= self.range_max_km)


MMX_LIDAR = Lidar()


@dataclass
class LidarTrack:
    """Per epoch: hit (the boresight meets the body), facet (-1 if not), point (body-fixed km,
    NaN if not), range_km (inf if not), available (hit and range within the window),
    footprint_m, accuracy_m (NaN if not available), lat_deg / lon_deg of the hit point."""

    t: np.ndarray
    hit: np.ndarray
    facet: np.ndarray
    point_km: np.ndarray
    range_km: np.ndarray
    available: np.ndarray
    footprint_m: np.ndarray
    accuracy_m: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    lidar: Lidar = field(default=MMX_LIDAR)

    def summary(self) -> dict:
        """Plain numbers: fraction of epochs with ranging, shots at the maximum rate over the
        available epochs (epochs weighted by their spacing), range and footprint ranges."""
        dt = np.gradient(self.t) if len(self.t) > 1 else np.ones(1)
        a = self.available
        return {"instrument": self.lidar.name, "epochs": int(len(self.t)),
                "fraction_available": float(a.mean()) if len(a) else 0.0,
                "shots_at_max_rate": float(self.lidar.rate_hz * dt[a].sum()),
                "range_km_min_max": (float(self.range_km[a].min()), float(self.range_km[a].max())) if a.any()
                else (float("nan"), float("nan")),
                "footprint_m_min_max": (float(self.footprint_m[a].min()), float(self.footprint_m[a].max()))
                if a.any() else (float("nan"), float("nan")),
                "accuracy_m_min_max": (float(np.nanmin(self.accuracy_m)), float(np.nanmax(self.accuracy_m)))
                if a.any() else (float("nan"), float("nan"))}


def lidar_track(shape, t, sc_pos_km, *, boresight=None, lidar: Lidar = MMX_LIDAR) -> LidarTrack:
    """Cast the LIDAR boresight on the shape at each epoch.

    t: (N,) s; sc_pos_km: (N, 3) body-fixed km; boresight: None / "center" (toward the body
    centre) or (3,)/(N, 3) direction vectors, body-fixed."""
    from ._raycast import first_hits

    sc = _as_epochs(sc_pos_km, "sc_pos_km")
    t = np.atleast_1d(np.asarray(t, float))
    if t.shape != (len(sc),) or not np.all(np.isfinite(t)):
        raise InputError("t", f"shape {t.shape}", f"({len(sc)},) finite epochs, s")
    d = boresight_directions(sc, boresight)
    tt, f = first_hits(shape, sc, d)
    hit = f >= 0
    pt = np.where(hit[:, None], sc + np.where(hit, tt, 0.0)[:, None] * d, np.nan)
    rng = np.where(hit, tt, np.inf)  # |d| = 1: t is the range in km
    avail = hit & lidar.available(rng)
    fp = np.where(hit, lidar.footprint_m(np.where(hit, rng, 0.0)), np.nan)
    acc = np.where(avail, lidar.accuracy_m(np.where(hit, rng, 0.0)), np.nan)
    lat = np.degrees(np.arctan2(pt[:, 2], np.hypot(pt[:, 0], pt[:, 1])))
    lon = np.degrees(np.arctan2(pt[:, 1], pt[:, 0]))
    return LidarTrack(t, hit, f, pt, rng, avail, fp, acc, lat, lon, lidar)


def plot_lidar_track(track: LidarTrack, title: str | None = None):
    """Two panels: the ground track (lon/lat of the hit points, colour = range) and range,
    footprint and accuracy vs time.  A matplotlib Figure (no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 6))
    FigureCanvasAgg(fig)  # its tight_layout() and png_bytes share one renderer
    ax = fig.add_subplot(211)
    a = track.available
    if a.any():
        s = ax.scatter(track.lon_deg[a], track.lat_deg[a], c=track.range_km[a], s=4, cmap="plasma", lw=0)
        fig.colorbar(s, ax=ax).set_label("range (km)")
    ax.set_xlim(-180, 180)
    ax.set_ylim(-90, 90)
    ax.set_xlabel("east longitude (deg)")
    ax.set_ylabel("latitude (deg)")
    ax.set_title(title or f"{track.lidar.name}: ranging available {100 * a.mean():.1f} % of epochs")
    ax2 = fig.add_subplot(212)
    th = (track.t - track.t[0]) / 3600.0
    r = np.where(track.hit, track.range_km, np.nan)
    ax2.plot(th, r, label="range (km)")
    ax2.plot(th, track.footprint_m, label="footprint (m)")
    ax2.plot(th, track.accuracy_m, label="accuracy (m)")
    ax2.set_xlabel("time (h)")
    ax2.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig
