"""The ``deimos`` analysis: Deimos flybys from resonant orbits before Mars departure.

One file (docs/adding_an_analysis.md): its settings, its run function and ``ANALYSIS``.
"""

from __future__ import annotations

from pydantic import Field

from ..results import Section, Table
from ..scenario import ISO_ALLOWED, IsoEpoch, SchemaModel
from ._common import figures_png, plain
from ._plugin import Analysis


class DeimosAnalysis(SchemaModel):
    """Resonant orbits with repeated Deimos flybys before Mars departure."""

    first_flyby: IsoEpoch = Field("2030-03-01T00:00:00", description=f"first flyby, UTC: {ISO_ALLOWED}")
    miss_km: float = Field(100.0, gt=0, le=5000, description="designed flyby distance, km")
    flybys_per_orbit: int = Field(4, ge=1, le=20, description="flybys propagated per resonant orbit")


def deimos_section(cfg, scenario, ctx=None) -> Section:
    """Deimos flybys from resonant orbits before Mars departure."""
    from ..orbits.deimos import deimos_flybys

    r = deimos_flybys(cfg.first_flyby, miss_km=cfg.miss_km, flybys_per_orbit=cfg.flybys_per_orbit,
                      eph=ctx.get("eph") if ctx else None)
    rows = []
    for o in r["orbits"]:
        for k, f in enumerate(o["flybys"]):
            rows.append((o["resonance"], str(k + 1), f"{(f['t_tdb'] - o['flybys'][0]['t_tdb']) / 86400:.2f}",
                         f"{f['distance_km']:.1f}", f"{f['v_rel_km_s']:.3f}"))
    paras = ["Resonant orbits from Phobos' orbit give repeated Deimos flybys [N21] (two resonances, designed miss "
             f"{cfg.miss_km:g} km, propagated with Mars J2-J4, Sun and Deimos, no maintenance manoeuvres): "
             + "; ".join(f"{o['resonance']}: every {o['revisit_days']:.2f} d at {o['design_v_rel_km_s']:.3f} km/s, "
                         f"{o['dv_from_phobos_orbit_m_s']:.0f} m/s from Phobos' orbit" for o in r["orbits"]) + "."]
    n = sum(len(o["flybys"]) for o in r["orbits"])
    closest = min((f["distance_km"] for o in r["orbits"] for f in o["flybys"]), default=float("nan"))
    head = (f"Deimos flybys: {n} in {len(r['orbits'])} resonant orbits, closest {closest:.0f} km, revisits every "
            + " / ".join(f"{o['revisit_days']:.1f}" for o in r["orbits"]) + " days")
    return Section(key="deimos", title="Deimos flybys", headline=head, paragraphs=paras,
                   tables=[Table("Flybys", ("Resonance", "Flyby", "Days after the first", "Distance (km)",
                                            "Relative speed (km/s)"), rows)],
                   figures=figures_png(r.get("figures", {}), captions={
                       "deimos_distance": "Distance to Deimos against days after the first flyby, for each "
                                          "resonant orbit (no maintenance manoeuvres)."}),
                   data=plain(r),
                   assumptions=["the resonances (5:3, 3:2) and the miss distance are assumptions"])


ANALYSIS = Analysis(
    name="deimos",
    settings=DeimosAnalysis,
    run=deimos_section,
    description="Deimos flybys from resonant orbits",
    order=150,
    phases=("Deimos flybys",),
    partners=(
        ("JAXA", "interplanetary legs: launch and return windows, Mars orbit insertion, Deimos flybys"),
    ),
)
