"""The ``touchdown`` analysis: jAXA spacecraft touchdown on Phobos: one landing and the safe envelope.

One file (docs/adding_an_analysis.md): its settings, its run function and ``ANALYSIS``.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from ..results import Section
from ..scenario import SchemaModel
from ._common import figures_png, kv_table, plain, site_pair
from ._events import MissionEvent, first_touchdown_tdb
from ._plugin import Analysis


class TouchdownAnalysis(SchemaModel):
    """Landing-gear touchdown of the spacecraft: rebound, tip-over margin, safe envelope."""

    vertical_m_s: float = Field(0.5, gt=0, le=3, description="touchdown vertical speed, m/s")
    horizontal_m_s: float = Field(0.1, ge=0, le=3, description="touchdown horizontal speed, m/s")
    slope_deg: float | None = Field(None, ge=0, le=45, description="ground slope, deg (None: flat or the site's)")
    site_lat_deg: float | None = Field(None, ge=-90, le=90, description="site latitude on Phobos, deg")
    site_lon_deg: float | None = Field(None, ge=-360, le=360, description="site east longitude on Phobos, deg")
    hold_down_thrust_n: float = Field(0.0, ge=0, le=1000, description="thrust pressing down after contact, N")
    hold_down_s: float = Field(60.0, ge=0, le=600, description="duration of the hold-down thrust, s")
    monte_carlo: int = Field(0, ge=0, le=5000, description="Monte Carlo touchdowns (0: off)")
    seed: int = Field(0, ge=0, description="random seed")

    _site = model_validator(mode="after")(site_pair)


#: the visible names of the touchdown's numbers (data keys unchanged in summary.json)
LABELS = {
    "status": "Outcome",
    "settle_time_s": "Settling time after contact (s)",
    "t_end_s": "Simulated time (s)",
    "left_surface": "Footpads left the surface",
    "n_liftoffs": "Lift-offs (count)",
    "max_rebound_m": "Highest rebound (m)",
    "max_stroke_m": "Largest leg stroke (m)",
    "max_crush_m": "Largest crush-core stroke (m)",
    "max_slip_m": "Largest footpad slip (m)",
    "bottomed_out": "Leg bottomed out",
    "min_tip_margin_deg": "Smallest tip-over margin (deg)",
    "min_energy_margin_ratio": "Smallest energy margin to tipping (ratio)",
    "static_tip_slope_deg": "Static tip-over slope (deg)",
    "dissipated_J": "Energy dissipated (J)",
    "energy_initial_J": "Energy at contact (J)",
    "energy_balance_error_J": "Energy balance error (J)",
    "p_safe": "Probability of a safe touchdown",
}
CAPTIONS = {
    "touchdown": "Nominal touchdown against time: height of the centre of mass and downhill travel, leg strokes, "
                 "tilt and tip-over margin, "
                 "and the energy balance.",
    "envelope": "Safe envelope: outcome of touchdowns over horizontal and vertical speed, one panel per ground "
                "slope.",
}


def touchdown_section(cfg, scenario, ctx=None) -> Section:
    """JAXA spacecraft touchdown on Phobos: one landing and the safe envelope."""
    from ..surface.touchdown import touchdown_analysis

    site = (cfg.site_lat_deg, cfg.site_lon_deg) if cfg.site_lat_deg is not None else None
    r = touchdown_analysis(cfg.vertical_m_s, cfg.horizontal_m_s, slope_deg=cfg.slope_deg, site=site,
                           monte_carlo_n=cfg.monte_carlo, seed=cfg.seed,
                           hold_down_thrust_N=cfg.hold_down_thrust_n,
                           hold_down_s=cfg.hold_down_s if cfg.hold_down_thrust_n > 0 else 0.0)
    nom, env = r["nominal"], r.get("envelope") or {}
    paras = [f"Touchdown at {cfg.vertical_m_s:g} m/s vertical and {cfg.horizontal_m_s:g} m/s horizontal"
             + (f" at ({cfg.site_lat_deg:g} deg, {cfg.site_lon_deg:g} deg)" if site else
                f" on a {cfg.slope_deg or 0:g} deg slope")
             + (f", hold-down thrust {cfg.hold_down_thrust_n:g} N for {cfg.hold_down_s:g} s" if cfg.hold_down_thrust_n
                else ", passive legs") + f": **{nom['status']}**, rebound {nom['max_rebound_m']:.3g} m, leg stroke "
             f"{100 * nom['max_stroke_m']:.2g} cm, minimum tip-over margin {nom['min_tip_margin_deg']:.1f} deg "
             f"(static tip-over slope {r['static_tip_slope_deg']:.1f} deg).",
             "Landing-gear stiffness, damping, crush strokes, footpad friction and the landing mass are "
             "ASSUMPTIONS (MMX has not published them; docs/sampling.md); in Phobos' milli-g the barrier to "
             "tipping is a few joules, so rebound control decides the outcome."]
    if env:
        paras.append(f"Safe envelope: {100 * env['safe_fraction']:.1f} % of the grid of slopes x speeds is safe.")
    tables = [kv_table("Nominal touchdown", nom, labels=LABELS)]
    if r.get("monte_carlo"):
        tables.append(kv_table("Monte Carlo touchdowns", r["monte_carlo"], labels=LABELS))
    head = (f"Touchdown at {cfg.vertical_m_s:g} m/s: {nom['status']}, rebound {100 * nom['max_rebound_m']:.1f} cm, "
            f"tip-over margin {nom['min_tip_margin_deg']:.1f} deg")
    if env:
        head += f"; {100 * env['safe_fraction']:.0f} % of the slope × speed envelope safe"
    t_td = first_touchdown_tdb()
    events = [MissionEvent(t_td, t_td + float(nom["t_end_s"]), "touchdown", "touchdown 1: contact (simulated)",
                           f"{nom['status']}; rebound {nom['max_rebound_m']:.3g} m, tip-over margin "
                           f"{nom['min_tip_margin_deg']:.1f} deg", "mmxsim.surface.touchdown")]
    return Section(key="touchdown", title="Touchdown of the spacecraft (JAXA)", headline=head, paragraphs=paras,
                   tables=tables, figures=figures_png(r.get("figures", {}), captions=CAPTIONS), data=plain(r),
                   events=events,
                   assumptions=["landing-gear parameters and landing mass are assumptions (docs/sampling.md)"])


def warnings(sec: Section) -> list[str]:
    """A nominal touchdown that does not settle."""
    nom = sec.data.get("nominal") if isinstance(sec.data.get("nominal"), dict) else {}
    return [f"{sec.title}: the nominal touchdown {nom['status']}."] if nom.get("status") not in (None, "settled") \
        else []


ANALYSIS = Analysis(
    name="touchdown",
    settings=TouchdownAnalysis,
    run=touchdown_section,
    description="landing gear: rebound, tip-over, envelope",
    order=110,
    phases=("landing and sampling",),
    partners=(("JAXA", "landing and C-Sampler coring sampler"),),
    quick={"monte_carlo": 0},
    warnings=warnings,
)
