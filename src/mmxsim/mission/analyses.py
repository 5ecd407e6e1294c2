"""Analyses a scenario asks for beyond its trajectory, each turned into a report section.

The scenario's ``analyses`` block names them (``qso_family``, ...). Each producer takes its
validated settings and the scenario and returns a :class:`~mmxsim.mission.result.Section`:
paragraphs, tables and figures for ``report.html``, numbers for ``summary.json`` and files
(CSV, PNG) written beside the other outputs. Producers are registered by the settings
field name, so a domain package adds an analysis with one function and one schema class.
"""

from __future__ import annotations

import io

import numpy as np
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


@producer("transfer")
def transfer_section(cfg, scenario) -> Section:
    """Minimum-delta-v two-impulse QSO transfer (:func:`mmxsim.orbits.transfers.optimal_transfer`)."""
    from ..orbits.qso import periodic_qso, sample_orbit
    from ..orbits.transfers import PUBLISHED, optimal_transfer

    dep = periodic_qso(cfg.from_size_km, cfg.degree)
    arr = periodic_qso(cfg.to_size_km, cfg.degree)
    tr = optimal_transfer(dep, arr, cfg.tof_max_days * 86400.0, n_phase=cfg.search_points, n_tof=3,
                          refine=True, maxiter=30, n_starts=1)
    pub = PUBLISHED["high_to_low"]
    rows = [("ours", f"{cfg.from_size_km:g} -> {cfg.to_size_km:g} km", f"{tr.dv_total_m_s:.3f}",
             f"{tr.tof_days:.3f}", f"{1e3 * float(np.linalg.norm(tr.dv1)):.3f}",
             f"{1e3 * float(np.linalg.norm(tr.dv2)):.3f}", f"{tr.min_surface_distance_km:.2f}"),
            ("published", pub["text"], f"< {pub['dv_m_s']:g} (whole step-down)", f"< {pub['tof_days']:g}", "", "",
             pub["source"])]
    from matplotlib.figure import Figure
    from matplotlib.patches import Ellipse

    from ..orbits.qso import PHOBOS_RADII

    fig = Figure(figsize=(6.5, 6.5))
    ax = fig.add_subplot(111)
    for q, lab in ((dep, "departure QSO"), (arr, "arrival QSO")):
        xs = sample_orbit(q)
        ax.plot(xs[:, 0], xs[:, 1], lw=0.8, label=lab)
    tx = tr.trajectory
    ax.plot(tx[:, 1], tx[:, 2], "k-", lw=1.2, label=f"transfer, {tr.dv_total_m_s:.2f} m/s")
    ax.add_patch(Ellipse((0, 0), 2 * PHOBOS_RADII[0], 2 * PHOBOS_RADII[1], color="0.5"))
    ax.set_aspect("equal")
    ax.set_xlabel("x, radial out from Mars [km]")
    ax.set_ylabel("y, along track [km]")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return Section(
        key="transfer", title="QSO transfer (two impulses)",
        paragraphs=["Two-impulse transfer between planar QSOs, solved by Newton iterations on the heyoka "
                    "state-transition matrix and optimised over departure/arrival phases and time of flight "
                    "(grid search, then Nelder-Mead: a local optimum). The published bound covers a whole "
                    "high-to-low step-down; docs/transfers.md compares complete campaigns."],
        tables=[Table("Transfer beside the published value", ("", "case", "total dv m/s", "tof days", "dv1 m/s",
                                                            "dv2 m/s", "min surface distance km / source"), rows)],
        figures=[("Transfer in the Phobos Hill frame", png_bytes(fig))],
        data={"dv_total_m_s": tr.dv_total_m_s, "tof_days": tr.tof_days, "residual_m": tr.residual_m,
              "from_size_km": cfg.from_size_km, "to_size_km": cfg.to_size_km, "degree": cfg.degree},
        assumptions=["impulsive burns; circular Hill problem with Phobos' harmonics (no eccentricity, Sun, "
                     "Mars J2); QSO sizes are scenario choices (the MMX sizes are unpublished)"],
    )


@producer("landing")
def landing_section(cfg, scenario) -> Section:
    """Descent from a QSO and the landing-dispersion Monte Carlo (:mod:`mmxsim.surface.landing`)."""
    from ..gravity.fast import GridGravity
    from ..orbits.qso import periodic_qso
    from ..surface.landing import DispersionModel, TouchdownLimits, landing_dispersion, plan_descent

    grid = GridGravity("thomas3k", dlat_deg=cfg.grid_deg, dlon_deg=cfg.grid_deg)
    q = periodic_qso(cfg.qso_size_km, 2)
    plan = plan_descent(q, cfg.site_lat_deg, cfg.site_lon_deg, grid, transfer_time_s=cfg.transfer_time_s,
                        phase="auto")
    model = DispersionModel(nav_pos_m=cfg.nav_pos_m, nav_vel_mm_s=cfg.nav_vel_mm_s, exec_mag_pct=cfg.exec_mag_pct,
                            exec_point_deg=cfg.exec_point_deg)
    limits = TouchdownLimits(cfg.max_vertical_m_s, cfg.max_horizontal_m_s)
    disp = landing_dispersion(plan, n=cfg.samples, seed=cfg.seed, model=model, limits=limits)
    td = disp.touchdown
    rows = []
    for k in (1, 2, 3):
        a, b, th = disp.ellipse(k)
        rows.append((f"{k} sigma", f"{a:.1f}", f"{b:.1f}", f"{np.degrees(th):.1f}"))
    ok = disp.landed
    stats = {"landed_fraction": float(ok.mean()), "within_limits_fraction": disp.fraction_within_limits(),
             "mean_offset_east_north_m": disp.mean_en.tolist(),
             "vertical_m_s_p50_p99": [float(np.percentile(td.vertical_m_s[ok], p)) for p in (50, 99)] if ok.any()
             else [], "horizontal_m_s_p50_p99": [float(np.percentile(td.horizontal_m_s[ok], p)) for p in (50, 99)]
             if ok.any() else []}
    fig = disp.plot_map()
    png = png_bytes(fig)
    import matplotlib.pyplot as plt

    plt.close(fig)
    nom = plan.touchdown
    return Section(
        key="landing", title="Descent and landing dispersion",
        paragraphs=[f"Descent from the {cfg.qso_size_km:g} km planar QSO to the site at "
                    f"({cfg.site_lat_deg:g}°, {cfg.site_lon_deg:g}°E): departure burn "
                    f"{1e3 * float(np.linalg.norm(plan.dv1)):.2f} m/s, {plan.transfer_time_s:g} s transfer with one "
                    "correction, braking at 10 m altitude. Nominal touchdown speed "
                    f"{float(nom.vertical_m_s[0]):.3f} m/s vertical, {float(nom.horizontal_m_s[0]):.3f} m/s horizontal.",
                    disp.summary()],
        tables=[Table("Landing ellipse (local east/north about the mean touchdown point)",
                      ("", "semi-major m", "semi-minor m", "orientation deg from east"), rows),
                Table("Touchdown statistics", ("quantity", "value"),
                      [(k, json_num(v)) for k, v in stats.items()])],
        figures=[("Landing dispersion on a map of Phobos (touchdown points and 1/2/3-sigma ellipses)", png)],
        data={"site_lat_deg": cfg.site_lat_deg, "site_lon_deg": cfg.site_lon_deg, "samples": cfg.samples,
              "seed": cfg.seed, "ellipse_1sigma_m": list(disp.ellipse(1)[:2]), **stats},
        files={"landing_dispersion.png": png},
        assumptions=["touchdown limits and all error sigmas are assumptions (MMX values unpublished); impulsive "
                     "burns; Hill problem in Phobos' body frame (no eccentricity, libration, SRP); fast gravity "
                     "grid on the Thomas 3.5k-facet shape, constant density (error bound in docs/descent.md)"],
    )


def json_num(v) -> str:
    """Compact text of a number or a list of numbers for a report table."""
    if isinstance(v, (list, tuple)):
        return ", ".join(f"{x:.4g}" for x in v)
    return f"{v:.4g}"
