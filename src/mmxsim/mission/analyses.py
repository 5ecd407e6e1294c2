"""Analyses a scenario asks for beyond its trajectory, each turned into a report section.

The scenario's ``analyses`` block names them (``qso_family``, ...). Each producer takes its
validated settings and the scenario and returns a :class:`~mmxsim.mission.result.Section`:
paragraphs, tables and figures for ``report.html``, numbers for ``summary.json`` and files
(CSV, PNG) written beside the other outputs. Producers are registered by the settings
field name, so a domain package adds an analysis with one function and one schema class.
"""

from __future__ import annotations

import io
import time as _time
from typing import Callable

from .result import Section, Table

PRODUCERS: dict[str, Callable] = {}


def producer(name: str):
    """Register ``fn(settings, scenario) -> Section`` for the ``analyses.<name>`` block."""

    def deco(fn):
        PRODUCERS[name] = fn
        return fn

    return deco


def png_bytes(fig, dpi: int = 100) -> bytes:
    """PNG of a Matplotlib ``Figure`` drawn with the Agg canvas (no GUI backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def run_analyses(scenario, progress: Callable[[str], None] | None = None) -> list[Section]:
    """Run every analysis the scenario's ``analyses`` block enables, in declaration order."""
    sections = []
    block = scenario.analyses
    for name in type(block).model_fields:
        settings = getattr(block, name)
        if settings is None:
            continue
        if progress is not None:
            progress(name)
        t0 = _time.perf_counter()
        sec = PRODUCERS[name](settings, scenario)
        sec.seconds = _time.perf_counter() - t0
        sections.append(sec)
    return sections


# ---------------------------------------------------------------------------
# Proximity operations (CNES flight dynamics; JAXA spacecraft)


@producer("qso_family")
def qso_family_section(cfg, scenario) -> Section:
    """The planar QSO family (:func:`mmxsim.orbits.qso.qso_family`) as a section."""
    import tempfile
    from pathlib import Path

    from ..orbits.qso import qso_family, write_family

    fam = qso_family(cfg.degree, list(cfg.sizes_km), on_failure="stop")
    header = ("size km", "period h", "radial km", "along-track km", "k planar", "k vertical", "stable",
              "min surface distance km", "closure m")
    rows = [(f"{m.size_km:.2f}", f"{m.period_s / 3600:.4f}", f"{m.radial_semi_axis_km:.2f}",
             f"{m.along_track_semi_axis_km:.2f}", f"{m.k_planar:+.4f}", f"{m.k_vertical:+.4f}",
             "yes" if m.stable else "no", f"{m.min_surface_distance_km:.2f}", f"{m.closure_position_m:.1e}")
            for m in fam.members]
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_family(fam, tmp)
        files = {"qso_family.csv": Path(paths["csv"]).read_bytes(), "qso_family.png": Path(paths["plot"]).read_bytes()}
    model = "a point mass" if cfg.degree == 0 else f"its spherical harmonics to degree {cfg.degree}"
    paras = [f"Periodic planar QSOs of Phobos in the circular Hill problem of Mars-Phobos, with Phobos' gravity as "
             f"{model}; found by differential correction and continuation in size; stability from the monodromy "
             "matrix (stable when |k| < 2 for both pairs)."]
    if len(fam.members) < len(cfg.sizes_km):
        paras.append(f"Continuation stopped: {fam.stopped_reason}.")
    return Section(
        key="qso_family", title="QSO family (proximity operations design)", paragraphs=paras,
        tables=[Table("Planar QSO family", header, rows)],
        figures=[("Planar QSO family in the Phobos Hill frame", files["qso_family.png"])],
        data={"degree": cfg.degree,
              "members": [{"size_km": m.size_km, "period_s": m.period_s, "k_planar": m.k_planar,
                           "k_vertical": m.k_vertical, "stable": bool(m.stable),
                           "min_surface_distance_km": m.min_surface_distance_km} for m in fam.members],
              "stopped_reason": fam.stopped_reason},
        files=files,
        assumptions=["circular Hill problem: Mars point mass, Phobos on a circular orbit, no Sun, no Mars J2 "
                     "(the full model of the run above has them)"],
    )


@producer("surface_map")
def surface_map_section(cfg, scenario) -> Section:
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
