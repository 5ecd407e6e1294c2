"""The ``transfer`` analysis: minimum-delta-v two-impulse QSO transfer
(:func:`mmxsim.orbits.transfers.optimal_transfer`) and its navigation-driven dispersion
(:func:`mmxsim.orbits.transfers.transfer_dispersion`: linear covariance, velocity-matching second burn),
with the assumed navigation error and, with ``navigation: computed``, the one of the run's tracking.

One file (docs/adding_an_analysis.md): its settings, its run function and ``ANALYSIS``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from ..results import Section, Table
from ..scenario import SchemaModel
from ._common import png_bytes
from ._plugin import Analysis


class TransferAnalysis(SchemaModel):
    """A minimum-delta-v two-impulse transfer between two planar QSOs (Hill problem, Phobos SH)."""

    from_size_km: float = Field(100.0, gt=13, le=1000, description="departure QSO size, km, (13, 1000]")
    to_size_km: float = Field(50.0, gt=13, le=1000, description="arrival QSO size, km, (13, 1000]")
    degree: int = Field(2, ge=0, le=10, description="Phobos gravity: 0 (point mass) or SH degree 1..10")
    tof_max_days: float = Field(1.0, gt=0, le=5, description="longest time of flight searched, days, (0, 5]")
    search_points: int = Field(4, ge=1, le=16, description="phases per orbit in the grid search, 1..16")
    nav_pos_m: float = Field(10.0, ge=0, description="navigation position error, 1 sigma per axis, m (assumed)")
    nav_vel_mm_s: float = Field(0.1, ge=0, description="navigation velocity error, 1 sigma per axis, mm/s (assumed)")
    navigation: Literal["assumed", "computed"] = Field(
        "assumed", description="navigation error: assumed (nav_pos_m, nav_vel_mm_s) or computed by a covariance "
                               "analysis of the run's tracking (the od analysis' defaults); computed shows both")
    exec_mag_pct: float = Field(1.0, ge=0, le=50, description="burn magnitude error, 1 sigma, % (assumed)")
    exec_point_deg: float = Field(0.5, ge=0, le=28, description="burn pointing error, 1 sigma per axis, deg (assumed)")
    min_distance_km: float = Field(1.0, ge=0, le=100,
                                   description="closest allowed approach to Phobos' shape along the arc, km [0, 100]")
    dispersion_samples: int = Field(0, ge=0, le=5000, description="Monte Carlo check of the linear dispersion "
                                                                  "through the nonlinear arc (0: off), 0..5000")
    seed: int = Field(0, ge=0, description="random seed of the Monte Carlo check")


def transfer_section(cfg, scenario, ctx=None) -> Section:
    """Minimum-delta-v two-impulse QSO transfer (:func:`mmxsim.orbits.transfers.optimal_transfer`)."""
    from ..orbits.qso import periodic_qso, sample_orbit
    from ..orbits.transfers import PUBLISHED, optimal_transfer

    dep = periodic_qso(cfg.from_size_km, cfg.degree)
    arr = periodic_qso(cfg.to_size_km, cfg.degree)
    tr = optimal_transfer(dep, arr, cfg.tof_max_days * 86400.0, n_phase=cfg.search_points, n_tof=3,
                          refine=True, maxiter=30, n_starts=1)
    disp_rows, disp_data, nav_note = _dispersion(cfg, scenario, ctx, tr)
    pub = PUBLISHED["high_to_low"]
    rows = [("this run", f"{cfg.from_size_km:g} -> {cfg.to_size_km:g} km", f"{tr.dv_total_m_s:.3f}",
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
    d0 = disp_data.get("dispersion", {})
    head = (f"QSO transfer {cfg.from_size_km:g} → {cfg.to_size_km:g} km: {tr.dv_total_m_s:.1f} m/s in "
            f"{tr.tof_days * 24:.1f} h (published: < {pub['dv_m_s']:g} m/s for the whole step-down)")
    if "correction_p99_mm_s" in d0:
        head += f"; arrival correction {d0['correction_p99_mm_s'] / 1e3:.2f} m/s (99 %)"
    return Section(
        key="transfer", title="QSO transfer (two impulses)", headline=head,
        paragraphs=["Two-impulse transfer between planar QSOs, solved by Newton iterations on the heyoka "
                    "state-transition matrix and optimised over departure/arrival phases and time of flight "
                    "(grid search, then Nelder-Mead: a local optimum). The published bound covers a whole "
                    "high-to-low step-down; docs/transfers.md compares complete campaigns.",
                    "Dispersion: the departure knowledge error and the execution errors of the first burn (magnitude "
                    f"{cfg.exec_mag_pct:g} %, pointing {cfg.exec_point_deg:g}° per axis) are mapped to the arrival by "
                    "the arc's state-transition matrix (linear covariance); the second burn is recomputed on the "
                    "estimated arrival state to null the velocity error relative to the arrival QSO (its change is "
                    "the correction Δv); the arrival position error is left. The surface margin is the smallest "
                    f"(distance − {cfg.min_distance_km:g} km) / σ along the arc (linearised distance to the shape "
                    "model).", *nav_note],
        tables=[Table("Transfer beside the published value",
                      ("Whose", "Transfer", "Total Δv (m/s)", "Time of flight (days)", "First burn Δv (m/s)",
                       "Second burn Δv (m/s)", "Closest to the surface (km) / source"), rows),
                Table("Transfer dispersion with the assumed and the computed navigation error",
                      ("Navigation error", "Position σ (m)", "Velocity σ (mm/s)", "Arrival position σ x/y/z (m)",
                       "Arrival velocity σ x/y/z (mm/s)", "Velocity σ x/y/z after the correction (mm/s)",
                       "Correction Δv, mean (mm/s)", "Correction Δv, 99 % (mm/s)", "Surface margin (σ)",
                       f"P(closer than {cfg.min_distance_km:g} km)"), disp_rows)],
        figures=[("The optimal transfer (black) between the departure and arrival QSOs around Phobos, in the Hill "
                  "frame (radial and along-track, km).", png_bytes(fig))],
        data={"dv_total_m_s": tr.dv_total_m_s, "tof_days": tr.tof_days, "residual_m": tr.residual_m,
              "from_size_km": cfg.from_size_km, "to_size_km": cfg.to_size_km, "degree": cfg.degree, **disp_data},
        assumptions=["impulsive burns; circular Hill problem with Phobos' harmonics (no eccentricity, Sun, "
                     "Mars J2); QSO sizes are scenario choices (the MMX sizes are unpublished)",
                     "navigation and execution error sigmas are assumptions (MMX values unpublished); the knowledge "
                     "error at arrival has the departure's sigmas and is independent of it; no mid-course correction"],
    )


def _prob(p: float) -> str:
    return "< 1e-12" if p < 1e-12 else f"{p:.2g}"


def _xyz(v) -> str:
    return "/".join(f"{x:.3g}" for x in v)


def _dispersion(cfg, scenario, ctx, tr):
    """Rows, data and note of the dispersion table (assumed navigation; computed too when asked)."""
    from ..orbits.transfers import TransferErrors, transfer_dispersion, transfer_dispersion_mc

    cases = [("assumed", cfg.nav_pos_m, cfg.nav_vel_mm_s)]
    note = []
    if cfg.navigation == "computed":
        if ctx is None:
            from ..errors import InputError

            raise InputError("analyses.transfer.navigation", "computed",
                             "assumed, or computed inside `mmxsim run` (it needs the run's trajectory)")
        from .od import navigation_error

        pos_m, vel_mm_s, how = navigation_error(scenario, ctx)
        cases.append(("computed", pos_m, vel_mm_s))
        note = [f"Computed navigation error (the run's QSO tracked from the ground, not the {cfg.from_size_km:g} km "
                f"departure QSO itself): {how} It is applied per Hill axis at departure and at arrival; the table "
                "shows the dispersion with both."]
    rows, data = [], {}
    for label, pos_m, vel_mm_s in cases:
        err = TransferErrors(pos_m * 1e-3, vel_mm_s * 1e-6, cfg.exec_mag_pct / 100.0, np.radians(cfg.exec_point_deg))
        d = transfer_dispersion(tr, err, surface_threshold_km=cfg.min_distance_km)
        rows.append((label, f"{pos_m:.3g}", f"{vel_mm_s:.3g}", _xyz(d.arrival_pos_sigma_m), _xyz(d.arrival_vel_sigma_mm_s),
                     _xyz(d.post_vel_sigma_mm_s), f"{d.correction_mean_km_s * 1e6:.3g}",
                     f"{d.correction_p99_km_s * 1e6:.3g}", f"{d.margin_sigma:.3g}", _prob(d.surface_probability)))
        data["dispersion" if label == "assumed" else "dispersion_computed_navigation"] = {
            "nav_pos_m": pos_m, "nav_vel_mm_s": vel_mm_s, "exec_mag_pct": cfg.exec_mag_pct,
            "exec_point_deg": cfg.exec_point_deg, "arrival_pos_sigma_m": d.arrival_pos_sigma_m.tolist(),
            "arrival_vel_sigma_mm_s": d.arrival_vel_sigma_mm_s.tolist(),
            "post_correction_vel_sigma_mm_s": d.post_vel_sigma_mm_s.tolist(),
            "correction_mean_mm_s": d.correction_mean_km_s * 1e6, "correction_p99_mm_s": d.correction_p99_km_s * 1e6,
            "surface_margin_sigma": d.margin_sigma, "min_distance_km": cfg.min_distance_km,
            "surface_probability": d.surface_probability}
        if label == "assumed" and cfg.dispersion_samples:
            mc = transfer_dispersion_mc(tr, err, n_samples=cfg.dispersion_samples, seed=cfg.seed,
                                        surface_threshold_km=cfg.min_distance_km)
            rows.append((f"assumed, Monte Carlo ({mc.n} samples, nonlinear)", f"{pos_m:.3g}", f"{vel_mm_s:.3g}",
                         _xyz(mc.arrival_pos_sigma_m), _xyz(mc.arrival_vel_sigma_mm_s), _xyz(mc.post_vel_sigma_mm_s),
                         f"{mc.correction_mean_km_s * 1e6:.3g}", f"{mc.correction_p99_km_s * 1e6:.3g}",
                         f"min {min(mc.min_distance_km):.3g} km", f"{mc.surface_probability:.2g} (of {mc.n})"))
            data["dispersion_monte_carlo"] = {
                "samples": mc.n, "seed": cfg.seed, "arrival_pos_sigma_m": mc.arrival_pos_sigma_m.tolist(),
                "arrival_vel_sigma_mm_s": mc.arrival_vel_sigma_mm_s.tolist(),
                "post_correction_vel_sigma_mm_s": mc.post_vel_sigma_mm_s.tolist(),
                "correction_mean_mm_s": mc.correction_mean_km_s * 1e6,
                "correction_p99_mm_s": mc.correction_p99_km_s * 1e6,
                "min_distance_km": float(min(mc.min_distance_km)), "surface_probability": mc.surface_probability}
    return rows, data, note


ANALYSIS = Analysis(
    name="transfer",
    settings=TransferAnalysis,
    run=transfer_section,
    description="QSO-to-QSO transfer beside the published values",
    order=40,
    phases=("QSO campaign",),
    partners=(("CNES", "proximity-operations flight dynamics (QSO design, transfers)"),),
    quick={"search_points": 1, "tof_max_days": 0.5},
)
