"""The ``landing`` analysis: descent from a QSO and the landing-dispersion Monte Carlo
(:mod:`mmxsim.surface.landing`), all in one model: the departure QSO is corrected in the descent's own
equations and gravity grid.

One file (docs/adding_an_analysis.md): its settings, its run function and ``ANALYSIS``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from ..results import Section, Table
from ..scenario import SchemaModel
from ._common import label, png_bytes
from ._plugin import Analysis


class LandingAnalysis(SchemaModel):
    """Descent from a planar QSO to a site and its landing-dispersion Monte Carlo."""

    qso_size_km: float = Field(30.0, gt=13, le=200, description="departure QSO size, km, (13, 200]")
    site_lat_deg: float = Field(10.0, ge=-90, le=90, description="site planetocentric latitude, deg, [-90, 90]")
    site_lon_deg: float = Field(30.0, ge=-360, le=360, description="site east longitude, deg, [-360, 360]")
    transfer_time_s: float = Field(3600.0, ge=600, le=86400, description="departure-to-braking time, s")
    samples: int = Field(1000, ge=10, le=100000, description="Monte Carlo trajectories, 10..100000")
    seed: int = Field(0, ge=0, description="random seed (same seed, same result)")
    grid_deg: float = Field(2.0, ge=1, le=6, description="fast-gravity grid spacing, deg, [1, 6]; the default "
                                                          "2 is the grid the rover uses (one build)")
    max_vertical_m_s: float = Field(0.5, gt=0, le=5, description="touchdown vertical speed limit, m/s (assumed)")
    max_horizontal_m_s: float = Field(0.1, gt=0, le=5, description="touchdown horizontal speed limit, m/s (assumed)")
    nav_pos_m: float = Field(10.0, ge=0, description="navigation position error, 1 sigma per axis, m (assumed)")
    nav_vel_mm_s: float = Field(1.0, ge=0, description="navigation velocity error, 1 sigma per axis, mm/s (assumed)")
    navigation: Literal["assumed", "computed"] = Field(
        "assumed", description="navigation error: assumed (nav_pos_m, nav_vel_mm_s) or computed by a covariance "
                               "analysis of the run's tracking (the od analysis' defaults); computed shows both")
    exec_mag_pct: float = Field(1.0, ge=0, le=50, description="burn magnitude error, 1 sigma, % (assumed)")
    exec_point_deg: float = Field(0.5, ge=0, le=30, description="burn pointing error, 1 sigma per axis, deg (assumed)")


#: the visible names of the touchdown statistics (data keys unchanged in summary.json)
STATS_LABELS = {
    "landed_fraction": "Fraction landed after braking",
    "within_limits_fraction": "Fraction within the touchdown speed limits",
    "departure_phase": "Departure phase (fraction of the QSO period)",
    "departure_dv_m_s": "Departure burn Δv (m/s)",
    "braking_dv_m_s": "Braking Δv (m/s)",
    "qso_period_s": "Departure QSO period (s)",
    "mean_offset_east_north_m": "Mean touchdown offset east, north (m)",
    "vertical_m_s_p50_p99": "Vertical touchdown speed (m/s), median, 99th percentile",
    "horizontal_m_s_p50_p99": "Horizontal touchdown speed (m/s), median, 99th percentile",
}


def json_num(v) -> str:
    """Compact text of a number or a list of numbers for a report table."""
    if isinstance(v, (list, tuple)):
        return ", ".join(f"{x:.4g}" for x in v)
    return f"{v:.4g}"


def landing_section(cfg, scenario, ctx=None) -> Section:
    """Descent from a QSO and the landing-dispersion Monte Carlo (:mod:`mmxsim.surface.landing`), all in one
    model: the departure QSO is corrected in the descent's own equations and gravity grid."""
    from ..gravity.fast import GridGravity
    from ..surface.landing import (DispersionModel, TouchdownLimits, landing_dispersion, periodic_qso_grid,
                                   plan_descent)
    from ._events import MissionEvent, first_touchdown_tdb

    grid = GridGravity("thomas3k", dlat_deg=cfg.grid_deg, dlon_deg=cfg.grid_deg)
    # one gravity model from the QSO to touchdown: the departure QSO is periodic in the descent's own
    # model (Hill equations in the body frame, this grid, the same RK4), not a harmonic design
    q = periodic_qso_grid(cfg.qso_size_km, grid)
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
        rows.append((f"{k}σ", f"{a:.1f}", f"{b:.1f}", f"{np.degrees(th):.1f}"))
    nav_rows = [("assumed", f"{cfg.nav_pos_m:.3g}", f"{cfg.nav_vel_mm_s:.3g}", *(f"{x:.1f}" for x in disp.ellipse(1)[:2]),
                 f"{disp.fraction_within_limits():.3f}")]
    nav_note, computed = [], None
    if cfg.navigation == "computed":
        if ctx is None:
            from ..errors import InputError

            raise InputError("analyses.landing.navigation", "computed",
                             "assumed, or computed inside `mmxsim run` (it needs the run's trajectory)")
        from .od import navigation_error

        pos_m, vel_mm_s, how = navigation_error(scenario, ctx)
        model_c = DispersionModel(nav_pos_m=pos_m, nav_vel_mm_s=vel_mm_s, exec_mag_pct=cfg.exec_mag_pct,
                                  exec_point_deg=cfg.exec_point_deg)
        disp_c = landing_dispersion(plan, n=cfg.samples, seed=cfg.seed, model=model_c, limits=limits)
        nav_rows.append(("computed", f"{pos_m:.3g}", f"{vel_mm_s:.3g}", *(f"{x:.1f}" for x in disp_c.ellipse(1)[:2]),
                         f"{disp_c.fraction_within_limits():.3f}"))
        computed = {"nav_pos_m": pos_m, "nav_vel_mm_s": vel_mm_s, "ellipse_1sigma_m": list(disp_c.ellipse(1)[:2]),
                    "within_limits_fraction": disp_c.fraction_within_limits()}
        nav_note = [f"Computed navigation error (the run's QSO tracked from the ground, not the {cfg.qso_size_km:g} km "
                    f"departure QSO itself): {how} The ellipse above uses the assumed errors; the table below "
                    "shows both."]
    ok = disp.landed
    stats = {"landed_fraction": float(ok.mean()), "within_limits_fraction": disp.fraction_within_limits(),
             "departure_phase": float(plan.phase), "departure_dv_m_s": 1e3 * float(np.linalg.norm(plan.dv1)),
             "braking_dv_m_s": float(plan.touchdown.dv_brake_m_s[0]), "qso_period_s": float(q.period_s),
             "mean_offset_east_north_m": disp.mean_en.tolist(),
             "vertical_m_s_p50_p99": [float(np.percentile(td.vertical_m_s[ok], p)) for p in (50, 99)] if ok.any()
             else [], "horizontal_m_s_p50_p99": [float(np.percentile(td.horizontal_m_s[ok], p)) for p in (50, 99)]
             if ok.any() else []}
    fig = disp.plot_map()
    png = png_bytes(fig)
    import matplotlib.pyplot as plt

    plt.close(fig)
    nom = plan.touchdown
    t_td = first_touchdown_tdb()
    events = [MissionEvent(t_td - float(plan.transfer_time_s), t_td, "touchdown",
                           "touchdown 1: descent from the QSO (simulated)",
                           f"{cfg.qso_size_km:g} km QSO to ({cfg.site_lat_deg:g} deg, {cfg.site_lon_deg:g} deg E); "
                           f"touchdown {float(nom.vertical_m_s[0]):.3f} m/s vertical; 1-sigma ellipse "
                           f"{disp.ellipse(1)[0]:.0f} x {disp.ellipse(1)[1]:.0f} m", "mmxsim.surface.landing")]
    a3, b3, _th = disp.ellipse(3)
    head = (f"Landing dispersion 3σ: {a3:.0f} m × {b3:.0f} m ellipse; {100 * float(ok.mean()):.0f} % landed, "
            f"{100 * disp.fraction_within_limits():.0f} % within the touchdown speed limits")
    return Section(
        key="landing", title="Descent and landing dispersion", events=events, headline=head,
        paragraphs=[f"Descent from the {cfg.qso_size_km:g} km planar QSO to the site at "
                    f"({cfg.site_lat_deg:g}°, {cfg.site_lon_deg:g}°E): departure burn "
                    f"{1e3 * float(np.linalg.norm(plan.dv1)):.2f} m/s, {plan.transfer_time_s:g} s transfer with one "
                    "correction, braking at 10 m altitude. Nominal touchdown speed "
                    f"{float(nom.vertical_m_s[0]):.3f} m/s vertical, {float(nom.horizontal_m_s[0]):.3f} m/s horizontal.",
                    f"One gravity model from the QSO to touchdown: the departure QSO (period {q.period_s:.0f} s, "
                    f"lowest altitude {q.min_altitude_km:.1f} km, |z| up to {q.out_of_plane_km * 1e3:.0f} m) is "
                    "corrected to periodicity in the descent model itself (Hill equations of Mars-Phobos in Phobos' "
                    "body frame with the polyhedron grid; closes to "
                    f"{q.closure_position_m * 1e3:.1f} mm after one revolution in the descent integrator); departure "
                    f"at phase {plan.phase:g} of its period (least departure + braking delta-v; braking "
                    f"{float(nom.dv_brake_m_s[0]):.2f} m/s).",
                    disp.summary(), *nav_note],
        tables=[Table("Landing ellipse (local east/north about the mean touchdown point)",
                      ("Level", "Semi-major axis (m)", "Semi-minor axis (m)", "Orientation (deg from east)"), rows),
                Table("Landing dispersion with the assumed and the computed navigation error",
                      ("Navigation error", "Position σ (m)", "Velocity σ (mm/s)", "1σ semi-major axis (m)",
                       "1σ semi-minor axis (m)", "Fraction within the touchdown limits"), nav_rows),
                Table("Touchdown statistics", ("Quantity", "Value"),
                      [(STATS_LABELS.get(k, label(k)), json_num(v)) for k, v in stats.items()])],
        figures=[("Landing dispersion on a map of Phobos: the Monte Carlo touchdown points and the 1, 2 and 3σ "
                  "ellipses around the site.", png)],
        data={"site_lat_deg": cfg.site_lat_deg, "site_lon_deg": cfg.site_lon_deg, "samples": cfg.samples,
              "seed": cfg.seed, "ellipse_1sigma_m": list(disp.ellipse(1)[:2]), **stats,
              **({"computed_navigation": computed} if computed else {})},
        files={"landing_dispersion.png": png},
        assumptions=["touchdown limits and all error sigmas are assumptions (MMX values unpublished); impulsive "
                     "burns; QSO, descent and dispersion in one model: circular Hill problem of Mars-Phobos in "
                     "Phobos' body frame (Mars as the Hill tide and frame rotation; no eccentricity, libration, Mars "
                     "J2, Sun, Deimos or SRP) with the fast polyhedron gravity grid on the Thomas 3.5k-facet shape, "
                     "constant density (error bound in docs/descent.md)"],
    )


ANALYSIS = Analysis(
    name="landing",
    settings=LandingAnalysis,
    run=landing_section,
    description="descent, touchdown and landing-dispersion ellipse",
    order=50,
    phases=("landing-site selection", "landing and sampling"),
    partners=(("JAXA", "landing and C-Sampler coring sampler"),),
    quick={"samples": 100},
)
