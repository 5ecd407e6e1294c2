"""The ``sampling`` analysis: C-Sampler (JAXA) and P-Sampler (NASA, Honeybee Robotics) yields and P(total
>= 10 g).

One file (docs/adding_an_analysis.md): its settings, its run function and ``ANALYSIS``.
"""

from __future__ import annotations

from pydantic import Field

from ..results import Section
from ..scenario import SchemaModel
from ._common import figures_png, kv_table, plain
from ._events import MissionEvent, first_touchdown_tdb
from ._plugin import Analysis


class SamplingAnalysis(SchemaModel):
    """C-Sampler (JAXA) and P-Sampler (NASA) yields and the probability of >= 10 g."""

    samples: int = Field(20000, ge=100, le=1000000, description="Monte Carlo draws of regolith properties")
    seed: int = Field(0, ge=0, description="random seed")


#: the visible names of the samplers' numbers (data keys unchanged in summary.json)
C_LABELS = {"depth_m": "Coring depth (m)", "mass_per_core_kg": "Mass per core (kg)", "total_kg": "Total mass (kg)",
            "meets_depth": "Reaches the required depth", "bulk_density_kg_m3": "Regolith bulk density (kg/m³)"}
P_LABELS = {"gas": "Gas used (kg)", "lofted": "Regolith lofted (kg)", "captured": "Captured in the canister (kg)",
            "lost": "Lofted but not captured (kg)", "overflow": "Beyond the canister capacity (kg)",
            "available": "Regolith available to the jets (kg)", "grain_factor": "Grain-size factor",
            "balance_error": "Mass balance error (kg)"}
MC_LABELS = {"n": "Draws", "seed": "Random seed", "threshold_g": "Threshold (g)",
             "p_total_ge_threshold": "P(total ≥ threshold)", "stderr": "Standard error of that probability",
             "p_c_sampler_alone_ge_threshold_from_gt_2cm": "P(C-Sampler alone ≥ threshold, from deeper than 2 cm)",
             "total_g_median": "Total mass (g), median", "total_g_p05": "Total mass (g), 5th percentile",
             "total_g_p95": "Total mass (g), 95th percentile", "c_g_median": "C-Sampler mass (g), median",
             "p_g_median": "P-Sampler mass (g), median", "fraction_depth_gt_2cm": "Fraction coring deeper than 2 cm",
             "n_clipped": "Draws clipped into the valid range"}
CAPTIONS = {
    "mass_histogram": "Histogram of the total sample mass over the Monte Carlo draws, with the threshold.",
    "mass_vs_depth": "C-Sampler mass per core against coring depth for the nominal regolith.",
}


def sampling_section(cfg, scenario, ctx=None) -> Section:
    """C-Sampler (JAXA) and P-Sampler (NASA, Honeybee Robotics) yields and P(total >= 10 g)."""
    from ..surface.samplers import sampling_analysis

    r = sampling_analysis(n=cfg.samples, seed=cfg.seed)
    mc, c, p, tl = r["monte_carlo"], r["c_sampler"], r["p_sampler"], r["timeline"]
    paras = [f"Nominal regolith: the C-Sampler cores {100 * c['depth_m']:.1f} cm and takes "
             f"{1e3 * c['total_kg']:.1f} g; the P-Sampler lofts {1e3 * p['lofted']:.0f} g and captures "
             f"{1e3 * p['captured']:.1f} g; coring ends {tl['coring_end_s'] / 60:.0f} min after touchdown "
             f"(window {tl['window_s'] / 60:.0f} min).",
             f"Monte Carlo over regolith properties ({mc['n']} draws, seed {mc['seed']}): "
             f"P(total >= {mc['threshold_g']:g} g) = **{mc['p_total_ge_threshold']:.4f}** +- {mc['stderr']:.4f}; "
             f"median total {mc['total_g_median']:.1f} g (5-95 %: {mc['total_g_p05']:.1f}-{mc['total_g_p95']:.1f} g).",
             "Regolith distributions, corer geometry, fill efficiency and the P-Sampler's gas budget are "
             "ASSUMPTIONS; the 1:1000-1:6000 gas-to-regolith heritage ratio is sourced (docs/sampling.md)."]
    t_td = first_touchdown_tdb()
    events = [MissionEvent(t_td + e["start_s"], t_td + e["start_s"] + e["duration_s"],
                           "touchdown" if e["name"] == "touchdown" else "sampling",
                           f"touchdown 1: {e['name']}", "sampling timeline (simulated)", "mmxsim.surface.samplers")
              for e in tl["events"] if e["name"] != "touchdown"]
    return Section(key="sampling", title="Sampling: C-Sampler (JAXA) and P-Sampler (NASA)", paragraphs=paras,
                   headline=f"Sample mass: P(total ≥ {mc['threshold_g']:g} g) = {mc['p_total_ge_threshold']:.3f}, "
                            f"median {mc['total_g_median']:.1f} g (C-Sampler {mc['c_g_median']:.1f} g, P-Sampler "
                            f"{mc['p_g_median']:.1f} g)",
                   tables=[kv_table("C-Sampler (nominal regolith)", c, labels=C_LABELS),
                           kv_table("P-Sampler (nominal regolith, one firing; masses in kg)", p, labels=P_LABELS),
                           kv_table("Monte Carlo over regolith properties", mc, labels=MC_LABELS)],
                   figures=figures_png(r.get("figures", {}), captions=CAPTIONS), data=plain(r), events=events,
                   assumptions=["regolith property distributions and sampler parameters are assumptions"])


def warnings(sec: Section) -> list[str]:
    """P(sample >= threshold) below 0.9."""
    mc = sec.data.get("monte_carlo") if isinstance(sec.data.get("monte_carlo"), dict) else {}
    if mc.get("p_total_ge_threshold", 1.0) < 0.9:
        return [f"{sec.title}: P(sample >= {mc.get('threshold_g', 10):g} g) = {mc['p_total_ge_threshold']:.3f}."]
    return []


ANALYSIS = Analysis(
    name="sampling",
    settings=SamplingAnalysis,
    run=sampling_section,
    description="C-/P-Sampler yields, P(sample >= 10 g)",
    order=120,
    phases=("landing and sampling",),
    partners=(
        ("JAXA", "landing and C-Sampler coring sampler"),
        ("NASA", "P-Sampler pneumatic sampler (Honeybee Robotics, through PMPO)"),
    ),
    quick={"samples": 2000},
    warnings=warnings,
)
