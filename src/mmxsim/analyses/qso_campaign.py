"""The ``qso_campaign`` analysis: the preset QSO campaign (:func:`mmxsim.orbits.campaign.mmx_campaign`) and
3D-QSO station keeping.

One file (docs/adding_an_analysis.md): its settings, its run function and ``ANALYSIS``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from ..results import Section, Table
from ..scenario import SchemaModel
from ._plugin import Analysis


class QsoCampaignAnalysis(SchemaModel):
    """The preset MMX QSO campaign (five planar + one 3D QSO; sizes are assumptions) and,
    optionally, the 3D QSO's station-keeping cost in the full model."""

    degree: int = Field(8, ge=2, le=10, description="Phobos gravity SH degree, 2..10")
    station_keeping_samples: int = Field(
        0, ge=0, le=50, description="Monte Carlo runs of 3D-QSO station keeping over the run's span (0: off), 0..50")
    nav_pos_m: float = Field(10.0, ge=0, description="navigation position error, 1 sigma per axis, m (assumed)")
    nav_vel_mm_s: float = Field(0.1, ge=0, description="navigation velocity error, 1 sigma per axis, mm/s (assumed)")
    navigation: Literal["assumed", "computed"] = Field(
        "assumed", description="navigation error: assumed (nav_pos_m, nav_vel_mm_s) or computed by a covariance "
                               "analysis of the run's tracking (the od analysis' defaults); computed shows both")
    exec_pct: float = Field(2.0, ge=0, le=50, description="manoeuvre execution error, 1 sigma, % (assumed)")
    interval_revs: float = Field(1.25, gt=0, le=10, description="revolutions between manoeuvres (not 0.5, 1, 1.5...)")
    seed: int = Field(0, ge=0, description="random seed")


#: the columns of :meth:`mmxsim.orbits.campaign.Campaign.table` in words, in its order
_CAMPAIGN_HEADER = ("Name", "Kind", "Size (km)", "Radial semi-axis (km)", "Along-track semi-axis (km)",
                    "Out-of-plane amplitude Z (km)", "Phase β (deg)", "Period (h)", "Stability index, in plane",
                    "Stability index, out of plane", "Stable", "Closest to the surface (km)", "Source / status")


def qso_campaign_section(cfg, scenario, ctx=None) -> Section:
    """The preset QSO campaign (:func:`mmxsim.orbits.campaign.mmx_campaign`) and 3D-QSO station keeping."""
    from ..orbits.campaign import mmx_campaign

    camp = mmx_campaign(cfg.degree)
    lines = camp.table().splitlines()
    rows = [tuple(c.strip() for c in ln.strip("|").split("|")) for ln in lines[2:]]
    tables = [Table(f"Preset campaign (circular Hill problem, Phobos degree {cfg.degree})", _CAMPAIGN_HEADER, rows)]
    low = min(camp.orbits, key=lambda o: o.qso.min_surface_distance_km)
    head = (f"QSO campaign: {len(camp.orbits)} QSOs from {max(o.spec.size_km for o in camp.orbits):g} km down to "
            f"{min(o.spec.size_km for o in camp.orbits):g} km, lowest pass {low.qso.min_surface_distance_km:.1f} km "
            f"above the surface ({low.spec.name})")
    data = {"degree": cfg.degree, "orbits": [{"name": o.spec.name, "size_km": o.spec.size_km,
                                              "z_km": o.spec.z_km, "period_s": o.qso.period_s,
                                              "min_surface_distance_km": o.qso.min_surface_distance_km}
                                             for o in camp.orbits]}
    paras = ["Five planar QSOs stepping down from high to low and one 3D QSO, designed in the circular Hill problem "
             "with Phobos' harmonics. Only the name QSO-H and the count of five altitudes are published [N21], [M21]: "
             "the sizes are assumptions (chosen outside the 29-30.5 km band where the hand-off to the full model "
             "is not bounded, docs/qso.md)."]
    if cfg.station_keeping_samples:
        from ..bodies import PHOBOS_MEAN_MOTION
        from ..orbits.stationkeeping import BAR_SURREY_M_S_PER_MONTH, Errors, monte_carlo_cases, reference_trajectory

        q3 = next(o.qso for o in camp.orbits if o.spec.is_3d)
        days = min(scenario.span_days, 30.0)
        if days < 2.0 * (2 * np.pi / PHOBOS_MEAN_MOTION) / 86400.0 * cfg.interval_revs:
            from ..errors import InputError

            raise InputError("analyses.qso_campaign.station_keeping_samples", cfg.station_keeping_samples,
                             "0, or a run long enough for two manoeuvre intervals")
        ref = reference_trajectory(q3, float(scenario.t0_tdb), days=days)
        cases = [("assumed", cfg.nav_pos_m, cfg.nav_vel_mm_s)]
        if cfg.navigation == "computed":
            if ctx is None:
                from ..errors import InputError

                raise InputError("analyses.qso_campaign.navigation", "computed",
                                 "assumed, or computed inside `mmxsim run` (it needs the run's trajectory)")
            from .od import navigation_error

            pos_m, vel_mm_s, how = navigation_error(scenario, ctx)
            cases.append(("computed", pos_m, vel_mm_s))
            paras.append(f"Computed navigation error: {how}")
        rows, sk = [], {}
        # every case's runs flown as one ensemble (the same seeds per case, as one monte_carlo call per case)
        mcs = monte_carlo_cases(ref, [Errors(pos_m * 1e-3, vel_mm_s * 1e-6, cfg.exec_pct / 100.0)
                                      for _, pos_m, vel_mm_s in cases],
                                n_samples=cfg.station_keeping_samples, interval_revs=cfg.interval_revs, days=days,
                                seed=cfg.seed)
        for (label, pos_m, vel_mm_s), mc in zip(cases, mcs):
            rows.append((label, f"{pos_m:.3g}", f"{vel_mm_s:.3g}", f"{days:g}", str(len(mc.runs)),
                         f"{mc.mean_m_s:.3f}", f"{mc.std_m_s:.3f}", f"{mc.per_month_m_s:.3f}",
                         f"~{BAR_SURREY_M_S_PER_MONTH:g}"))
            sk[label] = {"nav_pos_m": pos_m, "nav_vel_mm_s": vel_mm_s, "days": days, "samples": len(mc.runs),
                         "mean_m_s": mc.mean_m_s, "sd_m_s": mc.std_m_s, "per_month_m_s": mc.per_month_m_s,
                         "published_m_s_per_month": BAR_SURREY_M_S_PER_MONTH}
            if label == "assumed":
                mc_assumed = mc
        mc = mc_assumed
        tables.append(Table("3D-QSO station keeping in the full model, ours beside the published value",
                            ("Navigation error", "Position σ (m)", "Velocity σ (mm/s)", "Days", "Monte Carlo runs",
                             "Δv mean (m/s)", "Δv standard deviation (m/s)", "Ours per 30 days (m/s)",
                             "Published [BAR-SURREY] (m/s per month)"), rows))
        head = (f"3D-QSO station keeping {mc_assumed.per_month_m_s:.2f} m/s per 30 days (published about "
                f"{BAR_SURREY_M_S_PER_MONTH:g} m/s per month); " + head[len("QSO campaign: "):])
        data["station_keeping"] = dict(sk["assumed"])
        if "computed" in sk:
            data["station_keeping_computed_navigation"] = sk["computed"]
        paras.append("Station keeping: target-point control every "
                     f"{cfg.interval_revs:g} revolutions towards the shooting-corrected reference, with navigation "
                     "and execution errors (no filter, no deadband); see docs/qso.md.")
    events, maneuvers = [], []
    if cfg.station_keeping_samples:
        from ..results import PlannedManeuver
        from ._events import MissionEvent

        run0 = mc.runs[0]  # the first Monte Carlo run's manoeuvres, as a plan would book them
        maneuvers = [PlannedManeuver("3D-QSO station keeping", float(t), est, dv, "MARS", "ICRF",
                                     comment="Monte Carlo run 1; state: the navigation estimate the burn was "
                                             "computed from (orbits.stationkeeping)")
                     for t, est, dv in zip(run0.t_manoeuvres, run0.estimates, run0.dv_km_s)]
        events = [MissionEvent(m.epoch, m.epoch, "manoeuvre", m.name, f"{m.dv_m_s * 1e3:.2f} mm/s (Monte Carlo run 1)",
                               "orbits.stationkeeping") for m in maneuvers]
    return Section(key="qso_campaign", title="QSO campaign preset and 3D-QSO station keeping", headline=head,
                   paragraphs=paras,
                   tables=tables, data=data, events=events, maneuvers=maneuvers,
                   assumptions=["QSO sizes, error sigmas and the control interval are assumptions"])


def quick(cfg: QsoCampaignAnalysis) -> dict:
    """Quick look: no station-keeping Monte Carlo."""
    return {"station_keeping_samples": min(int(cfg.station_keeping_samples), 0)}


ANALYSIS = Analysis(
    name="qso_campaign",
    settings=QsoCampaignAnalysis,
    run=qso_campaign_section,
    description="MMX QSO campaign preset, 3D station keeping",
    order=20,
    phases=("QSO campaign",),
    partners=(("CNES", "proximity-operations flight dynamics (QSO design, transfers)"),),
    quick=quick,
)
