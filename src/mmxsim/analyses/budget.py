"""The ``budget`` analysis: mars orbit insertion with finite burns and the delta-v / propellant budget by
leg.

One file (docs/adding_an_analysis.md): its settings, its run function and ``ANALYSIS``.
"""

from __future__ import annotations

from pydantic import Field

from ..results import Section, Table
from ..scenario import SchemaModel
from ._common import figures_png, fmt_num, kv_table, plain
from ._plugin import Analysis


class BudgetAnalysis(SchemaModel):
    """Mars orbit insertion (finite burn) and the delta-v / propellant budget to a QSO and home."""

    grid: int = Field(80, ge=20, le=500, description="porkchop grid used to pick the transfer, 20..500")
    wet_mass_kg: float = Field(4000.0, gt=500, le=10000, description="mass at Mars arrival, kg (ASSUMPTION)")
    isp_s: float = Field(320.0, gt=100, le=500, description="main-engine specific impulse, s (ASSUMPTION)")
    thrust_n: float = Field(3000.0, gt=10, le=1e5, description="total main-engine thrust, N (ASSUMPTION)")
    qso_size_km: float = Field(100.0, gt=13, le=1000, description="first QSO, km")


#: the visible names of the insertion's numbers (data keys unchanged in summary.json)
LABELS = {
    "burn_s": "Burn duration (s)",
    "dv_finite_m_s": "Δv of the finite burn (m/s)",
    "dv_impulsive_m_s": "Δv if impulsive (m/s)",
    "gravity_loss_m_s": "Gravity loss (m/s)",
    "hyperbola_rp_km": "Arrival hyperbola periapsis radius (km)",
    "mass_after_kg": "Mass after the burn (kg)",
}
CAPTIONS = {
    "moi_burn": "Mars orbit insertion: the finite burn's track on the arrival hyperbola around Mars.",
    "dv_budget": "Δv and propellant of each leg, from Mars arrival to Mars departure.",
}


def _note(text: str) -> str:
    """A leg's note in words (periapsis and apoapsis radii are written r_p, r_a by the capture model)."""
    return text.replace("r_p ", "periapsis radius ").replace("r_a ", "apoapsis radius ")


def budget_section(cfg, scenario, ctx=None) -> Section:
    """Mars orbit insertion with finite burns and the delta-v / propellant budget by leg."""
    from ..orbits.capture import mars_orbit_insertion

    r = mars_orbit_insertion(cfg.grid, ctx.get("eph") if ctx else None, m0_kg=cfg.wet_mass_kg, isp_s=cfg.isp_s,
                             thrust_n=cfg.thrust_n, qso_size_km=cfg.qso_size_km)
    moi = r["moi"]
    rows = []
    for leg in r.get("budget", []):
        if isinstance(leg, dict):
            rows.append(tuple(_note(fmt_num(leg.get(k))) for k in ("leg", "dv_m_s", "propellant_kg", "m_after_kg",
                                                                   "note")))
    paras = [f"Arrival v∞ {r['vinf_arrival_km_s']:.3f} km/s (declination {r['vinf_declination_phobos_plane_deg']:.1f} "
             f"deg from Phobos' orbit plane). Mars orbit insertion: {moi['dv_finite_m_s']:.1f} m/s with a "
             f"{moi['burn_s']:.0f} s burn of {cfg.thrust_n:g} N ({moi['dv_impulsive_m_s']:.1f} m/s impulsive + "
             f"{moi['gravity_loss_m_s']:.1f} m/s gravity loss).",
             f"Total {r['total_dv_m_s']:.0f} m/s and {r['total_propellant_kg']:.0f} kg of propellant from "
             f"{cfg.wet_mass_kg:g} kg at Isp {cfg.isp_s:g} s (mass, Isp, thrust and the capture orbit are "
             "ASSUMPTIONS: MMX's are unpublished)."]
    tables = [Table("Δv budget by leg", ("Leg", "Δv (m/s)", "Propellant (kg)", "Mass after (kg)", "Note"), rows)] \
        if rows else []
    tables.append(kv_table("Mars orbit insertion", moi, labels=LABELS))
    head = (f"Δv budget {r['total_dv_m_s']:.0f} m/s, {r['total_propellant_kg']:.0f} kg of propellant; "
            f"Mars orbit insertion {moi['dv_finite_m_s']:.0f} m/s in a {moi['burn_s'] / 60:.0f} min burn")
    return Section(key="budget", title="Mars orbit insertion and delta-v budget", headline=head, paragraphs=paras,
                   tables=tables, figures=figures_png(r.get("figures", {}), captions=CAPTIONS), data=plain(r),
                   assumptions=["arrival mass, Isp, thrust, capture orbit and resonances are assumptions"])


ANALYSIS = Analysis(
    name="budget",
    settings=BudgetAnalysis,
    run=budget_section,
    description="MOI finite burn, delta-v and propellant budget",
    order=140,
    phases=("Mars orbit insertion", "approach to Phobos", "Mars departure"),
    partners=(
        ("JAXA", "interplanetary legs: launch and return windows, Mars orbit insertion, Deimos flybys"),
    ),
    quick={"grid": 40},
)
