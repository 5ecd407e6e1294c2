"""The ``entry`` analysis: sample-return capsule (JAXA) entry and landing at Woomera (Australia recovers
it).

One file (docs/adding_an_analysis.md): its settings, its run function and ``ANALYSIS``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..results import Section
from ..scenario import SchemaModel
from ._common import figures_png, kv_table, plain
from ._plugin import Analysis


class EntryAnalysis(SchemaModel):
    """Capsule entry at Woomera (Hayabusa2-like capsule and entry state) and its landing footprint."""

    samples: int = Field(100, ge=10, le=5000, description="Monte Carlo entries for the footprint")
    seed: int = Field(0, ge=0, description="random seed")
    atmosphere: Literal["ussa76", "msis"] = Field("ussa76", description="ussa76 | msis (needs pymsis)")


def entry_section(cfg, scenario, ctx=None) -> Section:
    """Sample-return capsule (JAXA) entry and landing at Woomera (Australia recovers it)."""
    from ..earth_return import run_entry_analysis

    d, figs = run_entry_analysis(n_monte_carlo=cfg.samples, seed=cfg.seed, atmosphere=cfg.atmosphere)
    fp = {k: v for k, v in d.items() if k.startswith("footprint")}
    paras = [f"Entry at {d['entry_altitude_km']:.0f} km, {d['entry_speed_inertial_kms']:.2f} km/s, flight-path angle "
             f"{d['entry_fpa_inertial_deg']:.1f} deg (Hayabusa2-like capsule and entry; MMX's are unpublished): "
             f"peak heat flux {d['peak_heat_flux_MWm2']:.1f} MW/m^2 at {d['peak_heating_altitude_km']:.1f} km "
             f"(Sutton-Graves), peak deceleration {d['peak_decel_g']:.1f} g, parachute at "
             f"{d['deploy_altitude_km']:.1f} km, landing {d['landing_time_s'] / 60:.1f} min after entry at "
             f"({d['landing_lat_deg']:.3f}, {d['landing_lon_deg']:.3f}) in the Woomera Prohibited Area.",
             f"Monte Carlo footprint ({cfg.samples} entries, seed {cfg.seed}; entry state, density and drag "
             "dispersions are ASSUMPTIONS): see the table and map. Atmosphere: "
             + ("US Standard Atmosphere 1976." if cfg.atmosphere == "ussa76" else "NRLMSIS 2.0 (pymsis).")]
    return Section(key="entry", title="Capsule entry and landing at Woomera", paragraphs=paras,
                   tables=[kv_table("Nominal entry", {k: v for k, v in d.items() if k not in fp}),
                           kv_table("Footprint", fp)],
                   figures=figures_png(figs), data=plain(d),
                   assumptions=["capsule, entry state and dispersions: Hayabusa2-like assumptions (docs/earth_return.md)"])


def warnings(sec: Section) -> list[str]:
    """A nominal capsule that does not land."""
    return [f"{sec.title}: the nominal capsule does not land."] if sec.data.get("landed") == 0.0 else []


ANALYSIS = Analysis(
    name="entry",
    settings=EntryAnalysis,
    run=entry_section,
    description="capsule entry at Woomera and landing footprint",
    order=160,
    phases=("capsule entry and landing",),
    partners=(
        ("JAXA", "sample return capsule and Earth return; planetary protection (Category V)"),
        ("Australia", "sample return capsule landing and recovery at Woomera"),
    ),
    quick={"samples": 10},
    warnings=warnings,
)
