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
    rows = [tuple(c.strip() for c in line.strip("|").split("|")) for line in sm.table(limits).splitlines()[2:]]
    sites = sm.sites_meeting(lim)
    figs = []
    for quantity, extra, caption in (
        ("slope", {"highlight_slope_max": lim}, f"Slope of Phobos' surface; facets steeper than {lim:g} deg in grey"),
        ("g_eff", {}, "Effective gravity (Phobos + rotation + Mars tide), mm/s^2"),
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
        tables=[Table("Area-weighted statistics", ("quantity", "value"), rows)],
        figures=figs,
        data={"summary": summ, "slope_limit_deg": lim, "area_fraction_meeting_limit": sites.area_fraction},
        files={"surface_map.csv": buf.getvalue().encode()},
        assumptions=["constant density (Phobos' interior is not known); slope of a facet is the angle between its "
                     "outward normal and -g_eff at its centroid, so it depends on the mesh resolution"],
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
