"""The ``windows`` analysis: launch (Earth->Mars 2026) and return (Mars->Earth 2030) windows.

One file (docs/adding_an_analysis.md): its settings, its run function and ``ANALYSIS``.
"""

from __future__ import annotations

from pydantic import Field

from ..results import Section, Table
from ..scenario import SchemaModel
from ._common import figures_png, plain
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
                f"{x.get('tof_days', float('nan')):.0f} d, C3 {x.get('c3_km2_s2', float('nan')):.2f} km²/s², "
                f"arrival v∞ {x.get('vinf_arrival_km_s', float('nan')):.3f} km/s")

    o, b = r["outbound"], r["return"]
    paras = [f"Earth -> Mars 2026-2027 ({cfg.grid} x {cfg.grid} Lambert solutions on DE421): optimum "
             + line(o["optimum"]) + "; MMX-like (launch October 2026 [CNES-MMX], arrival 2027) " + line(o["mmx_like"])
             + ".", "Mars -> Earth 2030-2031: optimum " + line(b["optimum"]) + "; MMX-like " + line(b["mmx_like"])
             + ". No published minimum C3 for the 2026 window was available offline; the grid minimum is checked "
             "against a continuous optimiser (docs/interplanetary.md)."]
    om, bm = o["mmx_like"], b["mmx_like"]
    head = (f"Launch {om.get('departure_date', '?')} at C3 {om.get('c3_km2_s2', float('nan')):.1f} "
            f"km²/s², Mars arrival {om.get('arrival_date', '?')}; Mars departure {bm.get('departure_date', '?')}, "
            f"Earth return {bm.get('arrival_date', '?')}")
    return Section(key="windows", title="Launch and return windows", headline=head, paragraphs=paras,
                   tables=[_window_table("Earth -> Mars 2026-2027", o), _window_table("Mars -> Earth 2030-2031", b)],
                   figures=figures_png(r.get("figures", {}), captions={
                       "porkchop_earth_mars_2026": "Earth to Mars 2026-2027 porkchop: launch C3 (colour), arrival v∞ "
                                                   "(white contours) and time of flight (dashed) over departure and "
                                                   "arrival dates.",
                       "porkchop_mars_earth_2030": "Mars to Earth 2030-2031 porkchop: departure v∞ (colour), "
                                                   "Earth-arrival v∞ (white contours) and time of flight (dashed) "
                                                   "over departure and arrival dates."}),
                   data=plain({"outbound": o, "return": b}))


#: rows of a window table: (data key, label in words, format)
_ROWS = (("label", "Choice", "{}"), ("departure_date", "Departure date (TDB)", "{}"),
         ("arrival_date", "Arrival date (TDB)", "{}"), ("tof_days", "Time of flight (days)", "{:.1f}"),
         ("c3_km2_s2", "Departure C3 (km²/s²)", "{:.3f}"), ("vinf_departure_km_s", "Departure v∞ (km/s)", "{:.3f}"),
         ("vinf_arrival_km_s", "Arrival v∞ (km/s)", "{:.3f}"),
         ("dla_deg", "Declination of the departure asymptote (deg)", "{:.2f}"),
         ("departure_tdb_s", "Departure (TDB s past J2000)", "{:.6g}"),
         ("arrival_tdb_s", "Arrival (TDB s past J2000)", "{:.6g}"))


def _window_table(caption: str, w: dict) -> Table:
    """The optimum and the MMX-like choice of one window side by side."""
    rows = []
    for key, name, fmt in _ROWS:
        vals = [w[c].get(key) for c in ("optimum", "mmx_like")]
        rows.append((name, *("-" if v is None else fmt.format(v) for v in vals)))
    return Table(caption, ("Quantity", "Optimum of the grid", "MMX-like"), rows)


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
