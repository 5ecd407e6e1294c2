"""The ``rover`` analysis: IDEFIX (CNES/DLR) deployment Monte Carlo, and the DLR drop facilities beside
Phobos.

One file (docs/adding_an_analysis.md): its settings, its run function and ``ANALYSIS``.
"""

from __future__ import annotations

import math

from pydantic import Field, model_validator

from ..results import Section, Table
from ..scenario import SchemaModel
from ._common import figures_png, fmt_num, plain, png_bytes, site_pair, words
from ._plugin import Analysis


class RoverAnalysis(SchemaModel):
    """IDEFIX (CNES/DLR) deployment Monte Carlo at a site, and the DLR test facilities beside Phobos."""

    samples: int = Field(200, ge=10, le=100000, description="Monte Carlo deployments")
    seed: int = Field(0, ge=0, description="random seed")
    site_lat_deg: float | None = Field(None, ge=-90, le=90, description="release site latitude, deg (None: default)")
    site_lon_deg: float | None = Field(None, ge=-360, le=360, description="release site east longitude, deg")
    plate_deg: float = Field(15.0, ge=0, le=45, description="inclined plate of the test-facility comparison, deg")

    _site = model_validator(mode="after")(site_pair)


CAPTIONS = {
    "dispersion": "Rest points of the deployments on the local terrain (east, north) with 1, 2 and 3σ ellipses.",
    "settling": "Histograms of the settling time after release and of the number of impacts.",
    "site_map": "The release site on the Phobos map with the rest points.",
    "trajectory": "One deployment: height of the rover's centre against time, and its ground track after the "
                  "first impact.",
}


def _summary_rows(s: dict) -> list[tuple[str, str]]:
    """The deployment Monte Carlo in words (the data keys stay in summary.json)."""
    a1, b1, th = s["ellipse_1sigma_m"]
    v5, v95 = s["v_first_impact_p5_p95_m_s"]
    t5, t95 = s["settle_time_p5_p95_s"]
    e, n = s["rest_mean_east_north_m"]
    counts = ", ".join(f"{k} {v}" for k, v in s["status_counts"].items())
    return [("Deployments", f"{s['n']}"), ("Settled", f"{100 * s['settled_fraction']:.1f} %"),
            ("Outcomes (count)", words(counts)),
            ("First impact after release (s), median", f"{s['t_first_impact_median_s']:.1f}"),
            ("First impact speed (m/s), median (5-95 %)", f"{s['v_first_impact_median_m_s']:.3f} ({v5:.3f}-{v95:.3f})"),
            ("Impacts, median / max", f"{s['impacts_median']:.0f} / {s['impacts_max']}"),
            ("Settling time (s), median (5-95 %)", f"{s['settle_time_median_s']:.0f} ({t5:.0f}-{t95:.0f})"),
            ("Highest hop (m), median", f"{s['max_hop_median_m']:.2f}"),
            ("Mean rest point east, north (m)", f"{e:.1f}, {n:.1f}"),
            ("Rest 1σ ellipse (m × m, deg from east)", f"{a1:.1f} × {b1:.1f}, {th:.0f}"),
            ("Rest distance from the release point (m), median", f"{s['rest_distance_median_m']:.1f}"),
            ("Safe (settled ones)", f"{100 * s['safe_fraction']:.0f} %"),
            ("Upright, tilt < 45 deg (settled ones)", f"{100 * s['upright_fraction']:.0f} %"),
            ("Slope of the site's facet (deg)", fmt_num(s["site_facet_slope_deg"]))]


def rover_section(cfg, scenario, ctx=None) -> Section:
    """IDEFIX (CNES/DLR) deployment Monte Carlo, and the DLR drop facilities beside Phobos."""
    from ..surface.rover import deploy_monte_carlo
    from ..surface.testbeds import comparison, comparison_figure

    site = (cfg.site_lat_deg, cfg.site_lon_deg) if cfg.site_lat_deg is not None else None
    res = deploy_monte_carlo(cfg.samples, cfg.seed, site=site)
    summ = res.summary()
    rows, _md = comparison(cfg.plate_deg)
    paras = ["IDEFIX released at ~40 m during a landing rehearsal [PEPS-IDEFIX]: " + res.summary_text() + ".",
             f"Rigid-body rover with penalty spring-damper contacts and Coulomb friction on a local terrain (shape "
             "model + seeded roughness and boulders), Phobos grid gravity, Hill tide and Coriolis in the rotating "
             "frame. Rover box/wheel dimensions, regolith restitution/friction, terrain statistics and the "
             "release dispersions are ASSUMPTIONS (docs/rover.md).",
             f"DLR test facilities on a {cfg.plate_deg:g} deg plate (same rover and contact model): what each "
             "reproduces and misses is in the table; the ZARM drop tower matches the first impact, LAMA's 1 g "
             "drop has a Froude number ~800x smaller and shows no hopping."]
    fac = [(r.facility, f"{r.gravity_m_s2:.3g}", f"{r.impact_speed_m_s:.3f}",
            "no lift-off" if not math.isfinite(r.contact_duration_s) else f"{r.contact_duration_s:.3f}",
            "-" if not math.isfinite(r.contact_duration_s) else f"{r.rebound_speed_m_s:.3f}", str(r.impacts),
            f"{r.froude:.3g}", r.reproduces, r.misses) for r in rows]
    figs = figures_png(res.figures(), captions=CAPTIONS) + [
        ("Test facilities beside Phobos: first impact, rebound and hops of the same rover on an inclined plate.",
         png_bytes(comparison_figure(rows)))]
    a1, b1, _th = summ["ellipse_1sigma_m"]
    head = (f"IDEFIX deployment: {100 * summ['settled_fraction']:.0f} % settled, rest 1σ ellipse {a1:.0f} m × "
            f"{b1:.0f} m, {100 * summ['safe_fraction']:.0f} % safe, settling {summ['settle_time_median_s'] / 60:.0f} "
            "min (median)")
    return Section(
        key="rover", title="IDEFIX rover deployment (CNES/DLR) and DLR test facilities", headline=head,
        paragraphs=paras,
        tables=[Table("Deployment Monte Carlo", ("Quantity", "Value"), _summary_rows(summ)),
                Table("Test facilities vs Phobos", ("Case", "Gravity (m/s²)", "Impact speed (m/s)",
                                                    "First contact (s)", "Rebound speed (m/s)", "Impacts", "Froude number",
                                                    "Reproduces", "Does not reproduce"), fac)],
        figures=figs,
        data=plain({**summ, "facilities": [{"facility": r.facility, "impact_speed_m_s": r.impact_speed_m_s,
                                             "froude": r.froude, "impacts": r.impacts} for r in rows]}),
        assumptions=["rover geometry beyond mass and height, regolith and terrain parameters are assumptions"],
    )


ANALYSIS = Analysis(
    name="rover",
    settings=RoverAnalysis,
    run=rover_section,
    description="IDEFIX deployment dispersion, DLR test facilities",
    order=100,
    phases=("IDEFIX rover release",),
    partners=(
        ("CNES", "IDEFIX rover (with DLR)"),
        ("DLR", "IDEFIX rover (with CNES): locomotion, MECSS, RAX, miniRAD"),
        ("DLR", "test facilities: drop tower, microgravity (ZARM, LAMA)"),
        ("INTA", "contributions to the rover"),
    ),
    quick={"samples": 50},
)
