"""The ``planetary_protection`` analysis: Category V unrestricted Earth return: probability of a viable
Martian microbe in the sample.

One file (docs/adding_an_analysis.md): its settings, its run function and ``ANALYSIS``.
"""

from __future__ import annotations

from pydantic import Field

from ..results import Section
from ..scenario import SchemaModel
from ._common import figures_png, kv_table, plain
from ._plugin import Analysis


class PlanetaryProtectionAnalysis(SchemaModel):
    """Probability that the returned sample holds a viable Martian microbe (Category V)."""

    sample_mass_g: float = Field(10.0, gt=0, le=1000, description="sample mass, g")
    depth_cm: float = Field(2.0, ge=0, le=100, description="sampling depth, cm")


#: the visible names of the numbers (data keys unchanged in summary.json)
LABELS = {
    "probability": "Probability of at least one viable Martian microbe in the sample",
    "cospar_threshold": "COSPAR threshold (Category V unrestricted return)",
    "orders_below_threshold": "Orders of magnitude below the threshold",
    "mean_viable_microbes": "Mean number of viable microbes in the sample",
    "probability_known_events": "Probability from known impact events",
    "probability_background": "Probability from the background ejecta flux",
    "dose_rate_gy_yr": "Radiation dose rate at the sampling depth (Gy/yr)",
    "sample_mass_kg": "Sample mass (kg)",
    "depth_m": "Sampling depth (m)",
}
# run_planetary_protection returns its two figures as a list, in this order
CAPTIONS = {
    0: "Probability of a viable Martian microbe in the sample against sampling depth, beside the COSPAR threshold.",
    1: "Sensitivity: change of log10 of the probability when each input is divided or multiplied by 10 "
       "(depth by 2).",
}


def planetary_protection_section(cfg, scenario, ctx=None) -> Section:
    """Category V unrestricted Earth return: probability of a viable Martian microbe in the sample."""
    from ..science.planetary_protection import run_planetary_protection

    d, figs = run_planetary_protection(cfg.sample_mass_g / 1e3, cfg.depth_cm / 100.0)
    paras = [f"Probability that a {cfg.sample_mass_g:g} g sample from {cfg.depth_cm:g} cm holds at least one viable "
             f"Martian microbe: **{d['probability']:.2g}**, {d['orders_below_threshold']:.1f} orders of magnitude "
             f"below the COSPAR threshold {d['cospar_threshold']:.0e} (Martian ejecta delivery, survival, "
             "radiation sterilisation vs depth after Fujita et al. 2019 and Kurosawa et al. 2019; several of their "
             "inputs are ASSUMPTIONS here, docs/planetary_protection.md)."]
    head = (f"P(viable Martian microbe in a {cfg.sample_mass_g:g} g sample) = {d['probability']:.1g}, "
            f"{d['orders_below_threshold']:.1f} orders below the COSPAR limit {d['cospar_threshold']:.0e}")
    return Section(key="planetary_protection", title="Planetary protection (Category V)", headline=head,
                   paragraphs=paras, tables=[kv_table("Result", d, labels=LABELS)],
                   figures=figures_png(figs, captions=CAPTIONS), data=plain(d),
                   assumptions=["ejecta fluxes, microbe densities and D10 values partly assumed"])


def warnings(sec: Section) -> list[str]:
    """A probability at or above the COSPAR threshold."""
    d = sec.data
    if "probability" in d and "cospar_threshold" in d and d["probability"] >= d["cospar_threshold"]:
        return [f"{sec.title}: probability {d['probability']:.2g} at or above the COSPAR threshold."]
    return []


ANALYSIS = Analysis(
    name="planetary_protection",
    settings=PlanetaryProtectionAnalysis,
    run=planetary_protection_section,
    description="probability of a viable Martian microbe in the sample",
    order=170,
    phases=("capsule entry and landing",),
    partners=(("JAXA", "sample return capsule and Earth return; planetary protection (Category V)"),),
    warnings=warnings,
)
