"""The ``windows`` analysis: launch (Earth->Mars 2026) and return (Mars->Earth 2030) windows.

One file (docs/adding_an_analysis.md): its settings, its run function and ``ANALYSIS``.
"""

from __future__ import annotations

from pydantic import Field

from ..results import Section
from ..scenario import SchemaModel
from ._common import figures_png, kv_table, plain
from ._plugin import Analysis


class WindowsAnalysis(SchemaModel):
    """Porkchop maps Earth->Mars 2026-2027 and Mars->Earth 2030-2031 (DE421, our Lambert solver)."""

    grid: int = Field(150, ge=20, le=500, description="departure x arrival grid points per axis, 20..500")


def windows_section(cfg, scenario, ctx=None) -> Section:
    """Launch (Earth->Mars 2026) and return (Mars->Earth 2030) windows."""
    from ..orbits.windows import launch_windows

    r = launch_windows(cfg.grid, ctx.get("eph") if ctx else None)

    def line(x):
        return (f"depart {x.get('departure_date', '?')}, arrive {x.get('arrival_date', '?')}, "
                f"{x.get('tof_days', float('nan')):.0f} d, C3 {x.get('c3_km2_s2', float('nan')):.2f} km^2/s^2, "
                f"arrival v-inf {x.get('vinf_arrival_km_s', float('nan')):.3f} km/s")

    o, b = r["outbound"], r["return"]
    paras = [f"Earth -> Mars 2026-2027 ({cfg.grid} x {cfg.grid} Lambert solutions on DE421): optimum "
             + line(o["optimum"]) + "; MMX-like (launch October 2026 [CNES-MMX], arrival 2027) " + line(o["mmx_like"])
             + ".", "Mars -> Earth 2030-2031: optimum " + line(b["optimum"]) + "; MMX-like " + line(b["mmx_like"])
             + ". No published minimum C3 for the 2026 window was available offline; the grid minimum is checked "
             "against a continuous optimiser (docs/interplanetary.md)."]
    return Section(key="windows", title="Launch and return windows", paragraphs=paras,
                   tables=[kv_table("Earth -> Mars", o), kv_table("Mars -> Earth", b)],
                   figures=figures_png(r.get("figures", {})), data=plain({"outbound": o, "return": b}))


ANALYSIS = Analysis(
    name="windows",
    settings=WindowsAnalysis,
    run=windows_section,
    description="launch and return porkchop maps",
    order=130,
    phases=("launch", "cruise to Mars", "Mars departure", "return cruise"),
    partners=(
        ("JAXA", "interplanetary legs: launch and return windows, Mars orbit insertion, Deimos flybys"),
    ),
    quick={"grid": 50},
)
