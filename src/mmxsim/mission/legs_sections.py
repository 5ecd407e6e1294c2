"""Report sections of the mission legs that do not follow the run's trajectory: surface
operations (touchdown, samplers), the interplanetary legs (launch and return windows, Mars orbit
insertion and the delta-v budget, Deimos flybys) and the way home (capsule entry at Woomera,
planetary protection). Each producer calls the capability's own entry point and lays its
numbers and figures out as a :class:`~mmxsim.results.Section`.
"""

from __future__ import annotations

import math

from .analyses import png_bytes, producer
from ..results import Section, Table
from .timeline import MissionEvent, first_touchdown_tdb


def _num(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    return str(v)


def kv_table(caption: str, d: dict, skip=("figures", "grids")) -> Table:
    """A two-column table of the scalar leaves of a nested dict (``a.b`` names)."""
    rows = []

    def walk(prefix, x):
        for k, v in x.items():
            if k in skip:
                continue
            name = f"{prefix}{k}"
            if isinstance(v, dict):
                walk(name + ".", v)
            elif isinstance(v, (int, float, str, bool)) or v is None:
                rows.append((name, _num(v)))

    walk("", d)
    return Table(caption, ("quantity", "value"), rows)


def _figs(figs, prefix: str = "") -> list[tuple[str, bytes]]:
    items = figs.items() if isinstance(figs, dict) else enumerate(figs)
    return [(f"{prefix}{str(k).replace('_', ' ')}", png_bytes(f)) for k, f in items]


def _plain(d: dict) -> dict:
    """JSON-ready copy without figures and heavy objects."""
    out = {}
    for k, v in d.items():
        if k in ("figures", "grids"):
            continue
        if isinstance(v, dict):
            out[k] = _plain(v)
        elif isinstance(v, (list, tuple)):
            out[k] = [(_plain(x) if isinstance(x, dict) else x) for x in v
                      if isinstance(x, (dict, int, float, str, bool)) or x is None]
        elif isinstance(v, (int, float, str, bool)) or v is None:
            out[k] = v
    return out


@producer("touchdown")
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
    tables = [kv_table("Nominal touchdown", nom)]
    if r.get("monte_carlo"):
        tables.append(kv_table("Monte Carlo", r["monte_carlo"]))
    t_td = first_touchdown_tdb()
    events = [MissionEvent(t_td, t_td + float(nom["t_end_s"]), "touchdown", "touchdown 1: contact (simulated)",
                           f"{nom['status']}; rebound {nom['max_rebound_m']:.3g} m, tip-over margin "
                           f"{nom['min_tip_margin_deg']:.1f} deg", "mmxsim.surface.touchdown")]
    return Section(key="touchdown", title="Touchdown of the spacecraft (JAXA)", paragraphs=paras, tables=tables,
                   figures=_figs(r.get("figures", {})), data=_plain(r), events=events,
                   assumptions=["landing-gear parameters and landing mass are assumptions (docs/sampling.md)"])


@producer("sampling")
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
                   tables=[kv_table("C-Sampler", c), kv_table("P-Sampler", p), kv_table("Monte Carlo", mc)],
                   figures=_figs(r.get("figures", {})), data=_plain(r), events=events,
                   assumptions=["regolith property distributions and sampler parameters are assumptions"])


@producer("windows")
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
                   figures=_figs(r.get("figures", {})), data=_plain({"outbound": o, "return": b}))


@producer("budget")
def budget_section(cfg, scenario, ctx=None) -> Section:
    """Mars orbit insertion with finite burns and the delta-v / propellant budget by leg."""
    from ..orbits.capture import mars_orbit_insertion

    r = mars_orbit_insertion(cfg.grid, ctx.get("eph") if ctx else None, m0_kg=cfg.wet_mass_kg, isp_s=cfg.isp_s,
                             thrust_n=cfg.thrust_n, qso_size_km=cfg.qso_size_km)
    moi = r["moi"]
    rows = []
    for leg in r.get("budget", []):
        if isinstance(leg, dict):
            rows.append(tuple(_num(leg.get(k)) for k in ("leg", "dv_m_s", "propellant_kg", "m_after_kg", "note")))
    paras = [f"Arrival v-inf {r['vinf_arrival_km_s']:.3f} km/s (declination {r['vinf_declination_phobos_plane_deg']:.1f} "
             f"deg from Phobos' orbit plane). Mars orbit insertion: {moi['dv_finite_m_s']:.1f} m/s with a "
             f"{moi['burn_s']:.0f} s burn of {cfg.thrust_n:g} N ({moi['dv_impulsive_m_s']:.1f} m/s impulsive + "
             f"{moi['gravity_loss_m_s']:.1f} m/s gravity loss).",
             f"Total {r['total_dv_m_s']:.0f} m/s and {r['total_propellant_kg']:.0f} kg of propellant from "
             f"{cfg.wet_mass_kg:g} kg at Isp {cfg.isp_s:g} s (mass, Isp, thrust and the capture orbit are "
             "ASSUMPTIONS: MMX's are unpublished)."]
    tables = [Table("Delta-v budget by leg", ("leg", "dv m/s", "propellant kg", "mass after kg", "note"), rows)] \
        if rows else []
    tables.append(kv_table("Mars orbit insertion", moi))
    return Section(key="budget", title="Mars orbit insertion and delta-v budget", paragraphs=paras, tables=tables,
                   figures=_figs(r.get("figures", {})), data=_plain(r),
                   assumptions=["arrival mass, Isp, thrust, capture orbit and resonances are assumptions"])


@producer("deimos")
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
    return Section(key="deimos", title="Deimos flybys", paragraphs=paras,
                   tables=[Table("Flybys", ("resonance", "#", "days", "distance km", "v rel km/s"), rows)],
                   figures=_figs(r.get("figures", {})), data=_plain(r),
                   assumptions=["the resonances (5:3, 3:2) and the miss distance are assumptions"])


@producer("entry")
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
                   figures=_figs(figs), data=_plain(d),
                   assumptions=["capsule, entry state and dispersions: Hayabusa2-like assumptions (docs/earth_return.md)"])


@producer("planetary_protection")
def planetary_protection_section(cfg, scenario, ctx=None) -> Section:
    """Category V unrestricted Earth return: probability of a viable Martian microbe in the sample."""
    from ..science.planetary_protection import run_planetary_protection

    d, figs = run_planetary_protection(cfg.sample_mass_g / 1e3, cfg.depth_cm / 100.0)
    paras = [f"Probability that a {cfg.sample_mass_g:g} g sample from {cfg.depth_cm:g} cm holds at least one viable "
             f"Martian microbe: **{d['probability']:.2g}**, {d['orders_below_threshold']:.1f} orders of magnitude "
             f"below the COSPAR threshold {d['cospar_threshold']:.0e} (Martian ejecta delivery, survival, "
             "radiation sterilisation vs depth after Fujita et al. 2019 and Kurosawa et al. 2019; several of their "
             "inputs are ASSUMPTIONS here, docs/planetary_protection.md)."]
    return Section(key="planetary_protection", title="Planetary protection (Category V)", paragraphs=paras,
                   tables=[kv_table("Result", d)], figures=_figs(figs), data=_plain(d),
                   assumptions=["ejecta fluxes, microbe densities and D10 values partly assumed"])


@producer("rover")
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
    figs = _figs(res.figures()) + [("test facilities vs Phobos", png_bytes(comparison_figure(rows)))]
    return Section(
        key="rover", title="IDEFIX rover deployment (CNES/DLR) and DLR test facilities", paragraphs=paras,
        tables=[kv_table("Deployment Monte Carlo", summ),
                Table("Test facilities vs Phobos", ("case", "g m/s^2", "impact m/s", "first contact s", "rebound m/s",
                                                    "impacts", "Froude", "reproduces", "does not reproduce"), fac)],
        figures=figs,
        data=_plain({**summ, "facilities": [{"facility": r.facility, "impact_speed_m_s": r.impact_speed_m_s,
                                             "froude": r.froude, "impacts": r.impacts} for r in rows]}),
        assumptions=["rover geometry beyond mass and height, regolith and terrain parameters are assumptions"],
    )
