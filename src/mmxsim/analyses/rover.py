"""The ``rover`` analysis: IDEFIX (CNES/DLR) deployment Monte Carlo, and the DLR drop facilities beside
Phobos.

One file (docs/adding_an_analysis.md): its settings, its run function and ``ANALYSIS``.
"""

from __future__ import annotations

import math

from pydantic import Field, model_validator

from ..results import Section, Table
from ..scenario import SchemaModel
from ._common import figures_png, kv_table, plain, png_bytes, site_pair
from ._plugin import Analysis


class RoverAnalysis(SchemaModel):
    """IDEFIX (CNES/DLR) deployment Monte Carlo at a site, and the DLR test facilities beside Phobos."""

    samples: int = Field(200, ge=10, le=100000, description="Monte Carlo deployments")
    seed: int = Field(0, ge=0, description="random seed")
    site_lat_deg: float | None = Field(None, ge=-90, le=90, description="release site latitude, deg (None: default)")
    site_lon_deg: float | None = Field(None, ge=-360, le=360, description="release site east longitude, deg")
    plate_deg: float = Field(15.0, ge=0, le=45, description="inclined plate of the test-facility comparison, deg")

    _site = model_validator(mode="after")(site_pair)


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
    figs = figures_png(res.figures()) + [("test facilities vs Phobos", png_bytes(comparison_figure(rows)))]
    return Section(
        key="rover", title="IDEFIX rover deployment (CNES/DLR) and DLR test facilities", paragraphs=paras,
        tables=[kv_table("Deployment Monte Carlo", summ),
                Table("Test facilities vs Phobos", ("case", "g m/s^2", "impact m/s", "first contact s", "rebound m/s",
                                                    "impacts", "Froude", "reproduces", "does not reproduce"), fac)],
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
