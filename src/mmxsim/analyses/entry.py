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


#: the visible names of the entry's numbers (data keys unchanged in summary.json)
LABELS = {
    "entry_speed_inertial_kms": "Entry speed, inertial (km/s)",
    "entry_fpa_inertial_deg": "Entry flight-path angle, inertial (deg)",
    "peak_heat_flux_MWm2": "Peak stagnation heat flux, Sutton-Graves (MW/m²)",
    "peak_heating_altitude_km": "Altitude of peak heating (km)",
    "peak_heating_time_s": "Time of peak heating after entry (s)",
    "peak_decel_g": "Peak deceleration (g)",
    "peak_decel_altitude_km": "Altitude of peak deceleration (km)",
    "peak_decel_time_s": "Time of peak deceleration after entry (s)",
    "heat_load_MJm2": "Integrated heat load (MJ/m²)",
    "landing_time_s": "Landing, time after entry (s)",
    "landing_lat_deg": "Landing latitude (deg)",
    "landing_lon_deg": "Landing longitude (deg E)",
    "landing_speed_ms": "Landing speed under parachute (m/s)",
    "landed": "Landed (1 yes, 0 no)",
    "deploy_time_s": "Parachute deployment, time after entry (s)",
    "deploy_altitude_km": "Parachute deployment altitude (km)",
    "deploy_mach": "Parachute deployment Mach number",
    "deploy_lat_deg": "Parachute deployment latitude (deg)",
    "deploy_lon_deg": "Parachute deployment longitude (deg E)",
    "ground_range_km": "Ground range from entry to landing (km)",
    "entry_lat_deg": "Entry latitude (deg)",
    "entry_lon_deg": "Entry longitude (deg E)",
    "entry_altitude_km": "Entry interface altitude (km)",
    "ballistic_coefficient_kgm2": "Ballistic coefficient (kg/m²)",
    "mc_peak_decel_g_max": "Peak deceleration over the Monte Carlo (g), max",
    "mc_peak_heat_flux_MWm2_max": "Peak heat flux over the Monte Carlo (MW/m²), max",
    "footprint_center_lat_deg": "Footprint centre latitude (deg)",
    "footprint_center_lon_deg": "Footprint centre longitude (deg E)",
    "footprint_semi_major_km": "Footprint ellipse semi-major axis (km)",
    "footprint_semi_minor_km": "Footprint ellipse semi-minor axis (km)",
    "footprint_orientation_deg": "Footprint ellipse orientation (deg from east)",
    "footprint_probability": "Probability level of the footprint ellipse",
    "footprint_fraction_inside": "Fraction of Monte Carlo landings inside the ellipse",
}
CAPTIONS = {
    "entry_profiles": "Nominal entry: altitude, Earth-relative speed, stagnation heat flux and deceleration "
                      "against time after the entry interface.",
    "footprint": "Monte Carlo landing points around Woomera with the footprint ellipse and the nominal landing.",
}


def entry_section(cfg, scenario, ctx=None) -> Section:
    """Sample-return capsule (JAXA) entry and landing at Woomera (Australia recovers it)."""
    from ..earth_return import run_entry_analysis

    d, figs = run_entry_analysis(n_monte_carlo=cfg.samples, seed=cfg.seed, atmosphere=cfg.atmosphere)
    fp = {k: v for k, v in d.items() if k.startswith("footprint")}
    paras = [f"Entry at {d['entry_altitude_km']:.0f} km, {d['entry_speed_inertial_kms']:.2f} km/s, flight-path angle "
             f"{d['entry_fpa_inertial_deg']:.1f} deg (Hayabusa2-like capsule and entry; MMX's are unpublished): "
             f"peak heat flux {d['peak_heat_flux_MWm2']:.1f} MW/m² at {d['peak_heating_altitude_km']:.1f} km "
             f"(Sutton-Graves), peak deceleration {d['peak_decel_g']:.1f} g, parachute at "
             f"{d['deploy_altitude_km']:.1f} km, landing {d['landing_time_s'] / 60:.1f} min after entry at "
             f"({d['landing_lat_deg']:.3f}, {d['landing_lon_deg']:.3f}) in the Woomera Prohibited Area.",
             f"Monte Carlo footprint ({cfg.samples} entries, seed {cfg.seed}; entry state, density and drag "
             "dispersions are ASSUMPTIONS): see the table and map. Atmosphere: "
             + ("US Standard Atmosphere 1976." if cfg.atmosphere == "ussa76" else "NRLMSIS 2.0 (pymsis).")]
    head = (f"Capsule entry at {d['entry_speed_inertial_kms']:.2f} km/s: peak heat flux "
            f"{d['peak_heat_flux_MWm2']:.1f} MW/m², peak deceleration {d['peak_decel_g']:.1f} g")
    if "footprint_semi_major_km" in d:
        head += (f"; landing footprint {d['footprint_semi_major_km']:.0f} km × {d['footprint_semi_minor_km']:.0f} km "
                 f"({100 * d['footprint_probability']:.0f} %)")
    return Section(key="entry", title="Capsule entry and landing at Woomera", headline=head, paragraphs=paras,
                   tables=[kv_table("Nominal entry", {k: v for k, v in d.items() if k not in fp}, labels=LABELS),
                           kv_table("Landing footprint (Monte Carlo)", fp, labels=LABELS)],
                   figures=figures_png(figs, captions=CAPTIONS), data=plain(d),
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
