"""Observation planning: what the cameras and the LIDAR cover along a trajectory.

:func:`plan_coverage` is the one entry point for a report section: it computes visibility and
illumination (with self-occlusion and Mars eclipses) once per chunk of epochs, shares them
between the instruments, and returns plain numbers (coverage fraction at GSD levels, overall
and by latitude band; LIDAR availability) with per-facet best GSD maps and matplotlib Figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from .cameras import OROCHI, TENGOO, Camera, CoverageMap, camera_coverage, plot_coverage_map
from .geometry import _as_epochs, visibility_illumination
from .lidar import MMX_LIDAR, Lidar, LidarTrack, lidar_track, plot_lidar_track

__all__ = ["CoveragePlan", "plan_coverage"]

#: GSD levels (m/pixel) at which coverage fractions are reported by default.
DEFAULT_GSD_LEVELS_M = (0.3, 1.0, 3.0, 10.0, 30.0)


@dataclass
class CoveragePlan:
    """Results of :func:`plan_coverage`: per-camera :class:`CoverageMap`, the LIDAR track, and
    the settings used."""

    cameras: dict
    lidar: LidarTrack | None
    gsd_levels_m: tuple
    band_deg: float
    settings: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """Plain numbers: {instrument: {...}} (coverage fractions at the GSD levels, overall and
        by latitude band; LIDAR availability)."""
        out = {name: cov.summary(self.gsd_levels_m, self.band_deg) for name, cov in self.cameras.items()}
        if self.lidar is not None:
            out[self.lidar.lidar.name] = self.lidar.summary()
        return out

    def table(self) -> str:
        """Markdown table: instrument, GSD level, covered fraction overall and per latitude band."""
        rows = []
        for name, cov in self.cameras.items():
            for g in self.gsd_levels_m:
                bands = cov.by_latitude(g, self.band_deg)
                if not rows:
                    head = "| instrument | GSD <= | all | " + " | ".join(f"{lo:+.0f}..{hi:+.0f}" for lo, hi, _ in bands)
                    rows += [head + " |", "|---|---:|---:|" + "---:|" * len(bands)]
                rows.append(f"| {name} | {g:g} m | {100 * cov.fraction(g):.1f} % | "
                            + " | ".join(f"{100 * f:.1f}" for _, _, f in bands) + " |")
        return "\n".join(rows)

    def figures(self) -> dict:
        """{name: matplotlib Figure}: a coverage map per camera, the LIDAR track."""
        figs = {f"coverage_{name}": plot_coverage_map(cov) for name, cov in self.cameras.items()}
        if self.lidar is not None:
            figs["lidar_track"] = plot_lidar_track(self.lidar)
        return figs


def plan_coverage(shape, t, sc_pos_km, sun_pos_km, mars_pos_km=None, *,
                  instruments=("TENGOO", "OROCHI", "LIDAR"), boresight=None, roll_rad: float = 0.0,
                  max_incidence_deg: float | None = None, max_emission_deg: float | None = None,
                  gsd_levels_m=DEFAULT_GSD_LEVELS_M, band_deg: float = 30.0, occlusion: bool = True,
                  chunk: int = 32) -> CoveragePlan:
    """Coverage of the shape by the cameras and the LIDAR along a trajectory.

    Parameters
    ----------
    shape : ShapeModel (body-fixed km).
    t : (N,) epochs, s.
    sc_pos_km, sun_pos_km, mars_pos_km : (N, 3) body-fixed km (Sun and Mars relative to the body
        centre; mars_pos_km None: no eclipses).
    instruments : names ("TENGOO", "OROCHI", "LIDAR") or :class:`Camera` / :class:`Lidar` objects.
    boresight, roll_rad : camera and LIDAR pointing (default: toward the body centre).
    max_incidence_deg, max_emission_deg : optional limits on the camera observations kept.
    gsd_levels_m : GSD levels (m/pixel) for the reported fractions; band_deg: latitude bands.
    """
    sc = _as_epochs(sc_pos_km, "sc_pos_km")
    sun = _as_epochs(sun_pos_km, "sun_pos_km")
    t = np.atleast_1d(np.asarray(t, float))
    if t.shape != (len(sc),):
        raise InputError("t", f"shape {t.shape}", f"({len(sc)},) epochs, s")
    if len(sun) != len(sc):
        raise InputError("sun_pos_km", f"{len(sun)} epochs", f"{len(sc)} epochs, as sc_pos_km")
    known = {"TENGOO": TENGOO, "OROCHI": OROCHI, "LIDAR": MMX_LIDAR}
    cams, lid = [], None
    for ins in instruments:
        obj = known.get(ins.upper()) if isinstance(ins, str) else ins
        if isinstance(obj, Camera):
            cams.append(obj)
        elif isinstance(obj, Lidar):
            lid = obj
        else:
            raise InputError("instruments", ins, "'TENGOO', 'OROCHI', 'LIDAR', Camera or Lidar objects")
    levels = tuple(float(g) for g in gsd_levels_m)
    if not levels or any(not (g > 0) for g in levels):
        raise InputError("gsd_levels_m", gsd_levels_m, "positive GSD levels, m/pixel")
    covs = {}
    if cams:
        # one visibility/illumination pass shared by the cameras, in chunks of epochs
        maps = {c.name: None for c in cams}
        for i0 in range(0, len(sc), chunk):
            s_ = slice(i0, min(len(sc), i0 + chunk))
            ml = None if mars_pos_km is None else _as_epochs(mars_pos_km, "mars_pos_km")[s_]
            vl = visibility_illumination(shape, sc[s_], sun[s_], mars_pos_km=ml, occlusion=occlusion)
            bs = boresight if (boresight is None or isinstance(boresight, str) or np.ndim(boresight) == 1) \
                else np.asarray(boresight)[s_]
            for c in cams:
                part = camera_coverage(c, shape, sc[s_], sun[s_], boresight=bs, roll_rad=roll_rad,
                                       max_incidence_deg=max_incidence_deg, max_emission_deg=max_emission_deg,
                                       occlusion=occlusion, chunk=chunk, vis_lit=vl)
                m = maps[c.name]
                if m is None:
                    maps[c.name] = part
                else:
                    np.minimum(m.best_gsd_m, part.best_gsd_m, out=m.best_gsd_m)
                    m.n_obs += part.n_obs
        for name, m in maps.items():
            m.settings["epochs"] = len(sc)
            covs[name] = m
    track = lidar_track(shape, t, sc, boresight=boresight, lidar=lid) if lid is not None else None
    return CoveragePlan(covs, track, levels, band_deg,
                        {"epochs": len(sc), "span_s": float(t[-1] - t[0]) if len(t) else 0.0,
                         "max_incidence_deg": max_incidence_deg, "max_emission_deg": max_emission_deg,
                         "occlusion": occlusion, "shape": getattr(shape, "name", "")})
