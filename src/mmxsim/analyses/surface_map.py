"""The ``surface_map`` analysis: slope and effective gravity per facet
(:func:`mmxsim.surface.maps.surface_map`).

One file (docs/adding_an_analysis.md): its settings, its run function and ``ANALYSIS``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..results import Section, Table
from ..scenario import PhobosShape, SchemaModel
from ._common import png_bytes
from ._plugin import Analysis


class SurfaceMapAnalysis(SchemaModel):
    """Per-facet effective gravity and slope of Phobos (landing-site selection)."""

    shape: PhobosShape = Field("thomas3k", description="packaged Phobos shape model: thomas3k | thomas32k | ernst")
    model: Literal["hill", "exact"] = Field(
        "hill", description="rotation and Mars tide: hill (linearised) | exact (Mars point mass)")
    slope_limit_deg: float = Field(20.0, gt=0, lt=90, description="slope limit for landing sites, deg, (0, 90)")


def surface_map_section(cfg, scenario, ctx=None) -> Section:
    """Slope and effective gravity per facet (:func:`mmxsim.surface.maps.surface_map`)."""
    import io as _io

    import numpy as np
    from matplotlib.figure import Figure

    from ..surface.maps import plot_map, surface_map

    sm = surface_map(cfg.shape, model=cfg.model)
    lim = cfg.slope_limit_deg
    limits = tuple(sorted({10.0, 20.0, 30.0, lim}))
    summ = sm.summary(slope_limits=limits)
    s = summ
    rows = [("Facets", f"{s['facets']}"), ("Area (km²)", f"{s['area_km2']:.1f}"),
            ("Effective gravity (mm/s²), min / mean / max",
             f"{s['g_eff_min']:.3f} / {s['g_eff_mean']:.3f} / {s['g_eff_max']:.3f}"),
            ("Lowest effective gravity at (latitude, longitude E)",
             f"({s['g_eff_min_lat']:.1f}°, {s['g_eff_min_lon']:.1f}°)"),
            ("Phobos' own gravity, magnitude (mm/s²), mean", f"{s['g_body_mean']:.3f}"),
            ("Slope (deg), mean / median / 90th percentile / max",
             f"{s['slope_mean']:.1f} / {s['slope_median']:.1f} / {s['slope_p90']:.1f} / {s['slope_max']:.1f}"),
            ("Geopotential height range (m)", f"{s['height_range_m']:.0f}"),
            ("Facets with slope > 90° (area fraction)", f"{s['facets_slope_gt_90']} ({s['frac_slope_gt_90']:.4f})")]
    rows += [(f"Area fraction with slope ≤ {x:g}°", f"{s[f'frac_slope_le_{x:g}']:.3f}") for x in limits]
    sites = sm.sites_meeting(lim)
    figs = []
    for quantity, extra, caption in (
        ("slope", {"highlight_slope_max": lim}, f"Slope of Phobos' surface; facets steeper than {lim:g} deg in grey"),
        ("g_eff", {}, "Effective gravity on Phobos' surface (Phobos + rotation + Mars tide), mm/s²"),
    ):
        fig = Figure(figsize=(9, 4.6))
        ax = fig.add_subplot(111)
        plot_map(sm, quantity, ax=ax, **extra)
        figs.append((caption, png_bytes(fig)))
    buf = _io.StringIO()
    np.savetxt(buf, np.column_stack([np.arange(len(sm.faces)), sm.lat_deg, sm.lon_deg, sm.slope_deg,
                                     sm.g_eff_mm_s2, sm.geopotential_height_m, sm.area_km2]),
               fmt=["%d", "%.5f", "%.5f", "%.4f", "%.5f", "%.3f", "%.6e"], delimiter=",",
               header="facet,lat_deg,lon_deg_east,slope_deg,g_eff_mm_s2,geopotential_height_m,area_km2",
               comments="")
    return Section(
        key="surface_map", title="Phobos surface: slope and effective gravity",
        paragraphs=[f"Shape model '{cfg.shape}' ({len(sm.faces)} facets), constant-density polyhedron gravity, "
                    f"rotation and Mars tide ('{cfg.model}' model). {100 * sites.area_fraction:.1f} % of the "
                    f"surface has a slope of at most {lim:g} deg."],
        headline=(f"Phobos surface: {100 * sites.area_fraction:.1f} % of the area has slopes ≤ {lim:g} deg; "
                  f"effective gravity {summ['g_eff_min']:.2f}-{summ['g_eff_max']:.2f} mm/s²"),
        tables=[Table(f"Area-weighted statistics (shape {cfg.shape}, {cfg.model} model)", ("Quantity", "Value"), rows)],
        figures=figs,
        data={"summary": summ, "slope_limit_deg": lim, "area_fraction_meeting_limit": sites.area_fraction},
        files={"surface_map.csv": buf.getvalue().encode()},
        assumptions=["constant density (Phobos' interior is not known); slope of a facet is the angle between its "
                     "outward normal and the reversed effective gravity at its centroid, so it depends on the mesh "
                     "resolution"],
    )


ANALYSIS = Analysis(
    name="surface_map",
    settings=SurfaceMapAnalysis,
    run=surface_map_section,
    description="Phobos slope and effective-gravity maps",
    order=30,
    phases=("landing-site selection",),
    partners=(("JAXA", "landing and C-Sampler coring sampler"),),
)
