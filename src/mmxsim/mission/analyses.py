"""Analyses a scenario asks for beyond its trajectory, each turned into a report section.

The scenario's ``analyses`` block names them (``qso_family``, ...). Each producer takes its
validated settings and the scenario and returns a :class:`~mmxsim.results.Section`:
paragraphs, tables and figures for ``report.html``, numbers for ``summary.json`` and files
(CSV, PNG) written beside the other outputs. Producers are registered by the settings
field name, so a domain package adds an analysis with one function and one schema class.
"""

from __future__ import annotations

import io

import numpy as np
import time as _time
from typing import Callable

from ..results import Section, Table

PRODUCERS: dict[str, Callable] = {}


def producer(name: str):
    """Register ``fn(settings, scenario, ctx=None) -> Section`` for the ``analyses.<name>`` block.

    ``ctx`` holds the run's products when there is a run: ``t`` (TDB s), ``states``
    (Mars-centred ICRF, km, km/s) and ``eph`` (the run's ephemeris)."""

    def deco(fn):
        PRODUCERS[name] = fn
        return fn

    return deco


def png_bytes(fig, dpi: int = 100) -> bytes:
    """PNG of a Matplotlib ``Figure`` drawn with the Agg canvas (no GUI backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def run_analyses(scenario, ctx: dict | None = None, progress: Callable[[str], None] | None = None) -> list[Section]:
    """Run every analysis the scenario's ``analyses`` block enables, in declaration order."""
    sections = []
    block = scenario.analyses
    for name in type(block).model_fields:
        settings = getattr(block, name)
        if settings is None:
            continue
        if progress is not None:
            progress(name)
        t0 = _time.perf_counter()
        sec = PRODUCERS[name](settings, scenario, ctx)
        sec.seconds = _time.perf_counter() - t0
        sections.append(sec)
    return sections


# ---------------------------------------------------------------------------
# Proximity operations (CNES flight dynamics; JAXA spacecraft)


@producer("qso_family")
def qso_family_section(cfg, scenario, ctx=None) -> Section:
    """The planar QSO family (:func:`mmxsim.orbits.qso.qso_family`) as a section."""
    import tempfile
    from pathlib import Path

    from ..orbits.qso import qso_family, write_family

    fam = qso_family(cfg.degree, list(cfg.sizes_km), on_failure="stop")
    header = ("size km", "period h", "radial km", "along-track km", "k planar", "k vertical", "stable",
              "min surface distance km", "closure m")
    rows = [(f"{m.size_km:.2f}", f"{m.period_s / 3600:.4f}", f"{m.radial_semi_axis_km:.2f}",
             f"{m.along_track_semi_axis_km:.2f}", f"{m.k_planar:+.4f}", f"{m.k_vertical:+.4f}",
             "yes" if m.stable else "no", f"{m.min_surface_distance_km:.2f}", f"{m.closure_position_m:.1e}")
            for m in fam.members]
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_family(fam, tmp)
        files = {"qso_family.csv": Path(paths["csv"]).read_bytes(), "qso_family.png": Path(paths["plot"]).read_bytes()}
    model = "a point mass" if cfg.degree == 0 else f"its spherical harmonics to degree {cfg.degree}"
    paras = [f"Periodic planar QSOs of Phobos in the circular Hill problem of Mars-Phobos, with Phobos' gravity as "
             f"{model}; found by differential correction and continuation in size; stability from the monodromy "
             "matrix (stable when |k| < 2 for both pairs)."]
    marked = [m for m in fam.members if m.inside_switch_radius]
    if marked:
        paras.append("Not valid to 1e-3: the " + ", ".join(f"{m.size_km:g}" for m in marked)
                     + f" km orbits come inside {marked[0].switch_radius_km:g} km of Phobos' centre (closest "
                     + ", ".join(f"{m.min_center_distance_km:.1f}" for m in marked)
                     + f" km), where the degree-{cfg.degree} harmonics differ from the exact polyhedron by more "
                       "than 1e-3 (divergent inside the 13.94 km Brillouin sphere); their rows are computed with the "
                       "truncated series. Propagations switch to the polyhedron there (docs/qso.md).")
    if len(fam.members) < len(cfg.sizes_km):
        paras.append(f"Continuation stopped: {fam.stopped_reason}.")
    return Section(
        key="qso_family", title="QSO family (proximity operations design)", paragraphs=paras,
        tables=[Table("Planar QSO family", header, rows)],
        figures=[("Planar QSO family in the Phobos Hill frame", files["qso_family.png"])],
        data={"degree": cfg.degree,
              "members": [{"size_km": m.size_km, "period_s": m.period_s, "k_planar": m.k_planar,
                           "k_vertical": m.k_vertical, "stable": bool(m.stable),
                           "min_surface_distance_km": m.min_surface_distance_km} for m in fam.members],
              "stopped_reason": fam.stopped_reason},
        files=files,
        assumptions=["circular Hill problem: Mars point mass, Phobos on a circular orbit, no Sun, no Mars J2 "
                     "(the full model of the run above has them)"],
    )


@producer("surface_map")
def surface_map_section(cfg, scenario, ctx=None) -> Section:
    """Slope and effective gravity per facet (:func:`mmxsim.surface.maps.surface_map`)."""
    import io as _io

    import numpy as np
    from matplotlib.figure import Figure

    from ..surface.maps import plot_map, surface_map

    sm = surface_map(cfg.shape, model=cfg.model)
    lim = cfg.slope_limit_deg
    limits = tuple(sorted({10.0, 20.0, 30.0, lim}))
    summ = sm.summary(slope_limits=limits)
    rows = [tuple(c.strip() for c in line.strip("|").split("|")) for line in sm.table(limits).splitlines()[2:]]
    sites = sm.sites_meeting(lim)
    figs = []
    for quantity, extra, caption in (
        ("slope", {"highlight_slope_max": lim}, f"Slope of Phobos' surface; facets steeper than {lim:g} deg in grey"),
        ("g_eff", {}, "Effective gravity (Phobos + rotation + Mars tide), mm/s^2"),
    ):
        fig = Figure(figsize=(9, 4.6))
        ax = fig.add_subplot(111)
        plot_map(sm, quantity, ax=ax, **extra)
        figs.append((caption, png_bytes(fig)))
    buf = _io.StringIO()
    np.savetxt(buf, np.column_stack([np.arange(len(sm.faces)), sm.lat_deg, sm.lon_deg, sm.slope_deg,
                                     sm.g_eff_mm_s2, sm.geopotential_height_m, sm.area_km2]),
               fmt=["%d", "%.5f", "%.5f", "%.4f", "%.5f", "%.3f", "%.6e"], delimiter=",",
               header="facet,lat_deg,lon_deg_east,slope_deg,g_eff_mm_s2,geopotential_height_m,area_km2",
               comments="")
    return Section(
        key="surface_map", title="Phobos surface: slope and effective gravity",
        paragraphs=[f"Shape model '{cfg.shape}' ({len(sm.faces)} facets), constant-density polyhedron gravity, "
                    f"rotation and Mars tide ('{cfg.model}' model). {100 * sites.area_fraction:.1f} % of the "
                    f"surface has a slope of at most {lim:g} deg."],
        tables=[Table("Area-weighted statistics", ("quantity", "value"), rows)],
        figures=figs,
        data={"summary": summ, "slope_limit_deg": lim, "area_fraction_meeting_limit": sites.area_fraction},
        files={"surface_map.csv": buf.getvalue().encode()},
        assumptions=["constant density (Phobos' interior is not known); slope of a facet is the angle between its "
                     "outward normal and -g_eff at its centroid, so it depends on the mesh resolution"],
    )


@producer("transfer")
def transfer_section(cfg, scenario, ctx=None) -> Section:
    """Minimum-delta-v two-impulse QSO transfer (:func:`mmxsim.orbits.transfers.optimal_transfer`)."""
    from ..orbits.qso import periodic_qso, sample_orbit
    from ..orbits.transfers import PUBLISHED, optimal_transfer

    dep = periodic_qso(cfg.from_size_km, cfg.degree)
    arr = periodic_qso(cfg.to_size_km, cfg.degree)
    tr = optimal_transfer(dep, arr, cfg.tof_max_days * 86400.0, n_phase=cfg.search_points, n_tof=3,
                          refine=True, maxiter=30, n_starts=1)
    pub = PUBLISHED["high_to_low"]
    rows = [("ours", f"{cfg.from_size_km:g} -> {cfg.to_size_km:g} km", f"{tr.dv_total_m_s:.3f}",
             f"{tr.tof_days:.3f}", f"{1e3 * float(np.linalg.norm(tr.dv1)):.3f}",
             f"{1e3 * float(np.linalg.norm(tr.dv2)):.3f}", f"{tr.min_surface_distance_km:.2f}"),
            ("published", pub["text"], f"< {pub['dv_m_s']:g} (whole step-down)", f"< {pub['tof_days']:g}", "", "",
             pub["source"])]
    from matplotlib.figure import Figure
    from matplotlib.patches import Ellipse

    from ..orbits.qso import PHOBOS_RADII

    fig = Figure(figsize=(6.5, 6.5))
    ax = fig.add_subplot(111)
    for q, lab in ((dep, "departure QSO"), (arr, "arrival QSO")):
        xs = sample_orbit(q)
        ax.plot(xs[:, 0], xs[:, 1], lw=0.8, label=lab)
    tx = tr.trajectory
    ax.plot(tx[:, 1], tx[:, 2], "k-", lw=1.2, label=f"transfer, {tr.dv_total_m_s:.2f} m/s")
    ax.add_patch(Ellipse((0, 0), 2 * PHOBOS_RADII[0], 2 * PHOBOS_RADII[1], color="0.5"))
    ax.set_aspect("equal")
    ax.set_xlabel("x, radial out from Mars [km]")
    ax.set_ylabel("y, along track [km]")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return Section(
        key="transfer", title="QSO transfer (two impulses)",
        paragraphs=["Two-impulse transfer between planar QSOs, solved by Newton iterations on the heyoka "
                    "state-transition matrix and optimised over departure/arrival phases and time of flight "
                    "(grid search, then Nelder-Mead: a local optimum). The published bound covers a whole "
                    "high-to-low step-down; docs/transfers.md compares complete campaigns."],
        tables=[Table("Transfer beside the published value", ("", "case", "total dv m/s", "tof days", "dv1 m/s",
                                                            "dv2 m/s", "min surface distance km / source"), rows)],
        figures=[("Transfer in the Phobos Hill frame", png_bytes(fig))],
        data={"dv_total_m_s": tr.dv_total_m_s, "tof_days": tr.tof_days, "residual_m": tr.residual_m,
              "from_size_km": cfg.from_size_km, "to_size_km": cfg.to_size_km, "degree": cfg.degree},
        assumptions=["impulsive burns; circular Hill problem with Phobos' harmonics (no eccentricity, Sun, "
                     "Mars J2); QSO sizes are scenario choices (the MMX sizes are unpublished)"],
    )


@producer("landing")
def landing_section(cfg, scenario, ctx=None) -> Section:
    """Descent from a QSO and the landing-dispersion Monte Carlo (:mod:`mmxsim.surface.landing`), all in one
    model: the departure QSO is corrected in the descent's own equations and gravity grid."""
    from ..gravity.fast import GridGravity
    from ..surface.landing import (DispersionModel, TouchdownLimits, landing_dispersion, periodic_qso_grid,
                                   plan_descent)
    from .timeline import MissionEvent, first_touchdown_tdb

    grid = GridGravity("thomas3k", dlat_deg=cfg.grid_deg, dlon_deg=cfg.grid_deg)
    # one gravity model from the QSO to touchdown: the departure QSO is periodic in the descent's own
    # model (Hill equations in the body frame, this grid, the same RK4), not a harmonic design
    q = periodic_qso_grid(cfg.qso_size_km, grid)
    plan = plan_descent(q, cfg.site_lat_deg, cfg.site_lon_deg, grid, transfer_time_s=cfg.transfer_time_s,
                        phase="auto")
    model = DispersionModel(nav_pos_m=cfg.nav_pos_m, nav_vel_mm_s=cfg.nav_vel_mm_s, exec_mag_pct=cfg.exec_mag_pct,
                            exec_point_deg=cfg.exec_point_deg)
    limits = TouchdownLimits(cfg.max_vertical_m_s, cfg.max_horizontal_m_s)
    disp = landing_dispersion(plan, n=cfg.samples, seed=cfg.seed, model=model, limits=limits)
    td = disp.touchdown
    rows = []
    for k in (1, 2, 3):
        a, b, th = disp.ellipse(k)
        rows.append((f"{k} sigma", f"{a:.1f}", f"{b:.1f}", f"{np.degrees(th):.1f}"))
    ok = disp.landed
    stats = {"landed_fraction": float(ok.mean()), "within_limits_fraction": disp.fraction_within_limits(),
             "departure_phase": float(plan.phase), "departure_dv_m_s": 1e3 * float(np.linalg.norm(plan.dv1)),
             "braking_dv_m_s": float(plan.touchdown.dv_brake_m_s[0]), "qso_period_s": float(q.period_s),
             "mean_offset_east_north_m": disp.mean_en.tolist(),
             "vertical_m_s_p50_p99": [float(np.percentile(td.vertical_m_s[ok], p)) for p in (50, 99)] if ok.any()
             else [], "horizontal_m_s_p50_p99": [float(np.percentile(td.horizontal_m_s[ok], p)) for p in (50, 99)]
             if ok.any() else []}
    fig = disp.plot_map()
    png = png_bytes(fig)
    import matplotlib.pyplot as plt

    plt.close(fig)
    nom = plan.touchdown
    t_td = first_touchdown_tdb()
    events = [MissionEvent(t_td - float(plan.transfer_time_s), t_td, "touchdown",
                           "touchdown 1: descent from the QSO (simulated)",
                           f"{cfg.qso_size_km:g} km QSO to ({cfg.site_lat_deg:g} deg, {cfg.site_lon_deg:g} deg E); "
                           f"touchdown {float(nom.vertical_m_s[0]):.3f} m/s vertical; 1-sigma ellipse "
                           f"{disp.ellipse(1)[0]:.0f} x {disp.ellipse(1)[1]:.0f} m", "mmxsim.surface.landing")]
    return Section(
        key="landing", title="Descent and landing dispersion", events=events,
        paragraphs=[f"Descent from the {cfg.qso_size_km:g} km planar QSO to the site at "
                    f"({cfg.site_lat_deg:g}°, {cfg.site_lon_deg:g}°E): departure burn "
                    f"{1e3 * float(np.linalg.norm(plan.dv1)):.2f} m/s, {plan.transfer_time_s:g} s transfer with one "
                    "correction, braking at 10 m altitude. Nominal touchdown speed "
                    f"{float(nom.vertical_m_s[0]):.3f} m/s vertical, {float(nom.horizontal_m_s[0]):.3f} m/s horizontal.",
                    f"One gravity model from the QSO to touchdown: the departure QSO (period {q.period_s:.0f} s, "
                    f"lowest altitude {q.min_altitude_km:.1f} km, |z| up to {q.out_of_plane_km * 1e3:.0f} m) is "
                    "corrected to periodicity in the descent model itself (Hill equations of Mars-Phobos in Phobos' "
                    "body frame with the polyhedron grid; closes to "
                    f"{q.closure_position_m * 1e3:.1f} mm after one revolution in the descent integrator); departure "
                    f"at phase {plan.phase:g} of its period (least departure + braking delta-v; braking "
                    f"{float(nom.dv_brake_m_s[0]):.2f} m/s).",
                    disp.summary()],
        tables=[Table("Landing ellipse (local east/north about the mean touchdown point)",
                      ("", "semi-major m", "semi-minor m", "orientation deg from east"), rows),
                Table("Touchdown statistics", ("quantity", "value"),
                      [(k, json_num(v)) for k, v in stats.items()])],
        figures=[("Landing dispersion on a map of Phobos (touchdown points and 1/2/3-sigma ellipses)", png)],
        data={"site_lat_deg": cfg.site_lat_deg, "site_lon_deg": cfg.site_lon_deg, "samples": cfg.samples,
              "seed": cfg.seed, "ellipse_1sigma_m": list(disp.ellipse(1)[:2]), **stats},
        files={"landing_dispersion.png": png},
        assumptions=["touchdown limits and all error sigmas are assumptions (MMX values unpublished); impulsive "
                     "burns; QSO, descent and dispersion in one model: circular Hill problem of Mars-Phobos in "
                     "Phobos' body frame (Mars as the Hill tide and frame rotation; no eccentricity, libration, Mars "
                     "J2, Sun, Deimos or SRP) with the fast polyhedron gravity grid on the Thomas 3.5k-facet shape, "
                     "constant density (error bound in docs/descent.md)"],
    )


def json_num(v) -> str:
    """Compact text of a number or a list of numbers for a report table."""
    if isinstance(v, (list, tuple)):
        return ", ".join(f"{x:.4g}" for x in v)
    return f"{v:.4g}"


# ---------------------------------------------------------------------------
# Ground segment (NASA DSN, ESA ESTRACK, JAXA stations)


def ground_terminal_for(station, band: str):
    """The link budget's view (:class:`~mmxsim.comms.link.GroundTerminal`) of a catalogue station."""
    from ..comms.link import GroundTerminal
    from ..errors import InputError

    bp = station.band(band)
    if bp.g_t_db_k is None:
        raise InputError("analyses.comms.stations", station.name, f"stations that receive in {band} band")
    mask = bp.elevation_mask_deg if bp.elevation_mask_deg is not None else station.mask_deg(0.0, band)
    return GroundTerminal(name=station.name, lat_deg=station.lat_deg, lon_deg=station.lon_deg,
                          height_km=max(station.height_km, -0.4), antenna_diameter_m=station.diameter_m,
                          g_over_t_db={band: bp.g_t_db_k}, elevation_mask_deg=float(mask))


@producer("comms")
def comms_section(cfg, scenario, ctx=None) -> Section:
    """Passes of the run's trajectory, their downlink rates, an optimised booking plan and the recorder."""
    from matplotlib.figure import Figure

    from ..comms.datavolume import (Phase, agency_table, downlink_intervals, plot_backlog, production_intervals,
                                    simulate_recorder)
    from ..comms.geometry import mars_target, trajectory_target
    from ..comms.link import mmx_telecom_assumed, pass_rates
    from dataclasses import replace as dc_replace

    from ..comms.schedule import BlockedWindow, BookingRules, greedy_schedule, optimal_schedule
    from ..comms.stations import get_station, get_stations
    from ..scenario import _tdb_seconds
    from .timeline import MissionEvent

    def _utc(iso: str) -> float:
        return _tdb_seconds(iso, "utc")

    def by_name_or(name: str) -> str:
        return get_station(name, {s.name: s for s in stations}).name
    from ..comms.visibility import conjunctions, find_passes, pass_profile

    t0, t1 = float(scenario.t0_tdb), float(scenario.t1_tdb)
    if ctx and ctx.get("t") is not None and len(ctx["t"]) > 1:
        target = trajectory_target(ctx["t"], ctx["states"], "MARS", ctx.get("eph"))
        # the pass search looks up to 2 h (light time, refinement) beyond its span on either side
        t0, t1 = float(ctx["t"][0]) + 7260.0, float(ctx["t"][-1]) - 7260.0
        if t1 <= t0 + 3600.0:
            from ..errors import InputError

            raise InputError("analyses.comms", f"a run of {(ctx['t'][-1] - ctx['t'][0]) / 3600:.1f} h",
                             "a run longer than 5 h (passes are searched 2 h inside each end)")
        what = "the run's trajectory (2 h inside each end)"
    else:
        target = mars_target()
        what = "Mars' centre"
    stations = get_stations(list(cfg.stations), cfg.catalogue())
    by_name = {s.name: s for s in stations}
    terms = {s.name: ground_terminal_for(s, cfg.band) for s in stations}
    passes = find_passes(stations, t0, t1, target, band=cfg.band, target_step=600.0)
    sc = mmx_telecom_assumed()
    overrides = cfg.spacecraft.model_dump(exclude_none=True)
    if overrides:
        sc = dc_replace(sc, bands={**sc.bands, cfg.band: dc_replace(sc.band(cfg.band), **overrides)})
    cands, profiles = [], []
    for p in passes:
        if p.duration_s < 60.0:
            continue
        prof = pass_profile(p, target, step=300.0, catalogue=by_name)
        cands.append(pass_rates(p, prof["t"], prof["range_km"], prof["elevation_deg"], sc, cfg.band,
                                terms[p.station], code=cfg.code, availability_pct=cfg.availability_pct,
                                margin_db=cfg.margin_db))
        profiles.append(prof)
    rules = {name: BookingRules(**r.model_dump()) for name, r in cfg.rules.items()}
    rules.setdefault("*", BookingRules())
    blocked = [BlockedWindow(by_name_or(b.station), _utc(b.start), _utc(b.stop), b.reason) for b in cfg.blocked]
    # solar conjunction (Sun-Earth-probe angle below the band's limit): no station is booked
    blackouts = conjunctions(t0, t1, target, bands=(cfg.band,))
    with_passes = sorted({c.pass_.station for c in cands})
    blocked += [BlockedWindow(st, b.start, b.stop, f"solar conjunction (SEP < {b.limit_deg:g} deg)")
                for b in blackouts for st in with_passes]
    required = cfg.required_gbit * 1e9 if cfg.required_gbit else None
    opt = optimal_schedule(cands, rules, blocked, required_bits=required, time_limit_s=cfg.time_limit_s) \
        if cands else None
    greedy = greedy_schedule(cands, rules, blocked) if cands else None
    if cfg.phases:
        phases = [Phase(p.name, _utc(p.start), _utc(p.stop)) for p in cfg.phases]
        rates: dict = {}
        for p in cfg.phases:
            for k, v in p.rates_bps.items():
                rates.setdefault(k, {})[p.name] = v
    else:
        phases = [Phase("span", t0, t1)]
        rates = {k: {"span": v} for k, v in cfg.instrument_rates_bps.items()}
    prod = production_intervals(phases, rates)
    rec = simulate_recorder(prod, downlink_intervals(opt, cands) if opt else [], cfg.recorder_gbit * 1e9, t0, t1,
                            rdr_capacity_bits=cfg.rdr_gbit * 1e9)
    rows = agency_table(opt, rec) if opt else []
    day = 86400.0

    # Gantt chart: passes per station, booked tracks on top
    fig = Figure(figsize=(10, 0.45 * len(stations) + 1.6))
    ax = fig.add_subplot(111)
    names = [s.name for s in stations]
    for p in passes:
        ax.barh(names.index(p.station), p.duration_s / day, left=(p.start - t0) / day, color="0.8", height=0.6)
    for b in (opt.bookings if opt else []):
        ax.barh(names.index(b.station), (b.stop - b.start) / day, left=(b.start - t0) / day, color="tab:blue",
                height=0.4)
    for w in blocked:
        ax.barh(names.index(w.station), (w.stop - w.start) / day, left=(w.start - t0) / day, color="none",
                edgecolor="tab:red", hatch="///", height=0.7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.set_xlabel("days since start")
    ax.set_title(f"Passes above the mask (grey), booked tracks (blue), blocked (red hatch), {cfg.band} band")
    fig.tight_layout()
    gantt = png_bytes(fig)
    # elevation and supportable rate along the passes
    fig2 = Figure(figsize=(10, 4.6))
    a1, a2 = fig2.add_subplot(211), fig2.add_subplot(212, sharex=None)
    for c, prof in zip(cands, profiles):
        a1.plot((prof["t"] - t0) / day, prof["elevation_deg"], lw=0.7)
        a2.step((c.t - t0) / day, c.rate_bps / 1e3, where="post", lw=0.7)
    a1.set_ylabel("elevation [deg]")
    a2.set_ylabel("rate [kbit/s]")
    a2.set_xlabel("days since start")
    fig2.tight_layout()
    elev = png_bytes(fig2)
    backlog = png_bytes(plot_backlog(rec, title="Onboard recorder (optimised bookings)"))

    table_rows = [(r["agency"], str(r["tracks"]), f"{r['hours']:.1f}", f"{r['capacity_bits'] / 1e9:.3f}",
                   f"{r['returned_bits'] / 1e9:.3f}") for r in rows]
    produced, down = rec.total_produced_bits, rec.total_downlinked_bits
    lost = float(rec.lost_bits[-1])
    paras = [f"{len(passes)} passes of {what} from {len(stations)} stations over {(t1 - t0) / day:.2f} days "
             f"({cfg.band} band, mask and G/T from the station catalogue). Rates from the link budget "
             f"({cfg.code}, {cfg.availability_pct:g} % weather availability, {cfg.margin_db:g} dB margin); bookings "
             "chosen by a MILP (HiGHS) under each agency's rules, one station at a time"
             + (f", to return {cfg.required_gbit:g} Gbit with the fewest antenna hours" if required else
                ", to return the most data")
             + (f"; {len(cfg.blocked)} blocked window(s) held by other missions" if cfg.blocked else "")
             + (f"; solar conjunction {', '.join(f'{(b.start - t0) / day:.1f}-{(b.stop - t0) / day:.1f} d' for b in blackouts)}"
                " blocks every station" if blackouts else "")
             + (f"; user stations/overrides: {', '.join(u.name for u in cfg.user_stations)}"
                if cfg.user_stations else "") + ".",
             f"Optimised bookings: {opt.volume_bits / 1e9 if opt else 0:.3f} Gbit of link capacity "
             f"in {opt.total_charged_hours if opt else 0:.1f} charged antenna hours, solver status {opt.status if opt else 'none'} "
             f"(greedy baseline {greedy.volume_bits / 1e9 if greedy else 0:.3f} Gbit). Produced {produced / 1e9:.3f} "
             f"Gbit, downlinked {down / 1e9:.3f} Gbit, lost {lost / 1e9:.3f} Gbit: "
             + ("zero loss." if rec.zero_loss else f"{len(rec.overflows)} overflow(s), first at "
                f"{(rec.overflows[0].start - t0) / day:.2f} d.")]
    return Section(
        key="comms", title="Ground segment: passes, link, bookings and data volume", paragraphs=paras,
        tables=[Table("Per agency (optimised bookings)", ("agency", "tracks", "hours", "capacity Gbit",
                                                         "returned Gbit"), table_rows)],
        figures=[("Station passes and booked tracks", gantt), ("Elevation and supportable data rate per pass",
                                                               elev), ("Recorder backlog", backlog)],
        data={"passes": len(passes), "band": cfg.band, "optimal_bits": opt.volume_bits if opt else 0.0,
              "greedy_bits": greedy.volume_bits if greedy else 0.0, "schedule_status": opt.status if opt else "none",
              "produced_bits": produced, "downlinked_bits": down, "lost_bits": lost, "zero_loss": rec.zero_loss,
              "agencies": rows},
        files={"passes.csv": _passes_csv(passes, t0)},
        events=[MissionEvent(p.start, p.stop, "pass", f"{p.station} pass",
                             f"{p.agency}; max elevation {p.max_elevation_deg:.1f} deg", "comms.visibility")
                for p in passes]
        + [MissionEvent(b.start, b.stop, "track", f"{b.station} booked track",
                        f"{b.agency}; {b.volume_bits / 1e9:.3f} Gbit", "comms.schedule")
           for b in (opt.bookings if opt else [])]
        + [MissionEvent(w.start, w.stop, "blocked", f"{w.station} held by another mission", w.reason,
                        "scenario") for w in blocked if not w.reason.startswith("solar conjunction")]
        + [MissionEvent(b.start, b.stop, "conjunction", f"solar conjunction ({b.band} band)",
                        f"SEP < {b.limit_deg:g} deg, minimum {b.min_sep_deg:.2f} deg", "comms.visibility")
           for b in blackouts],
        assumptions=["all spacecraft telecom values, instrument rates, recorder capacity and booking rules are "
                     "assumptions (MMX values unpublished); station G/T and masks: see the station catalogue's "
                     "assumptions", *sorted({a for s in stations for a in s.assumptions})][:12],
    )


def _passes_csv(passes, t0: float) -> bytes:
    from ..time import iso_tdb

    lines = ["station,agency,start_tdb,stop_tdb,duration_s,max_elevation_deg"]
    for p in passes:
        lines.append(f"{p.station},{p.agency},{iso_tdb(p.start)},{iso_tdb(p.stop)},{p.duration_s:.1f},"
                     f"{p.max_elevation_deg:.3f}")
    return ("\n".join(lines) + "\n").encode()


@producer("qso_campaign")
def qso_campaign_section(cfg, scenario, ctx=None) -> Section:
    """The preset QSO campaign (:func:`mmxsim.orbits.campaign.mmx_campaign`) and 3D-QSO station keeping."""
    from ..orbits.campaign import mmx_campaign

    camp = mmx_campaign(cfg.degree)
    lines = camp.table().splitlines()
    header = tuple(c.strip() for c in lines[0].strip("|").split("|"))
    rows = [tuple(c.strip() for c in ln.strip("|").split("|")) for ln in lines[2:]]
    tables = [Table("Preset campaign (circular Hill problem)", header, rows)]
    data = {"degree": cfg.degree, "orbits": [{"name": o.spec.name, "size_km": o.spec.size_km,
                                              "z_km": o.spec.z_km, "period_s": o.qso.period_s,
                                              "min_surface_distance_km": o.qso.min_surface_distance_km}
                                             for o in camp.orbits]}
    paras = ["Five planar QSOs stepping down from high to low and one 3D QSO, designed in the circular Hill problem "
             "with Phobos' harmonics. Only the name QSO-H and the count of five altitudes are published [N21], [M21]: "
             "the sizes are assumptions (chosen outside the 29-30.5 km band where the hand-off to the full model "
             "is not bounded, docs/qso.md)."]
    if cfg.station_keeping_samples:
        from ..bodies import PHOBOS_MEAN_MOTION
        from ..orbits.stationkeeping import BAR_SURREY_M_S_PER_MONTH, Errors, monte_carlo, reference_trajectory

        q3 = next(o.qso for o in camp.orbits if o.spec.is_3d)
        days = min(scenario.span_days, 30.0)
        if days < 2.0 * (2 * np.pi / PHOBOS_MEAN_MOTION) / 86400.0 * cfg.interval_revs:
            from ..errors import InputError

            raise InputError("analyses.qso_campaign.station_keeping_samples", cfg.station_keeping_samples,
                             "0, or a run long enough for two manoeuvre intervals")
        ref = reference_trajectory(q3, float(scenario.t0_tdb), days=days)
        err = Errors(cfg.nav_pos_m * 1e-3, cfg.nav_vel_mm_s * 1e-6, cfg.exec_pct / 100.0)
        mc = monte_carlo(ref, err, n_samples=cfg.station_keeping_samples, interval_revs=cfg.interval_revs, days=days,
                         seed=cfg.seed)
        tables.append(Table("3D-QSO station keeping in the full model, ours beside the published value",
                            ("days", "samples", "dv mean m/s", "dv sd m/s", "ours per 30 d m/s", "[BAR-SURREY] m/s/month"),
                            [(f"{days:g}", str(len(mc.runs)), f"{mc.mean_m_s:.3f}", f"{mc.std_m_s:.3f}",
                              f"{mc.per_month_m_s:.3f}", f"~{BAR_SURREY_M_S_PER_MONTH:g}")]))
        data["station_keeping"] = {"days": days, "samples": len(mc.runs), "mean_m_s": mc.mean_m_s,
                                   "sd_m_s": mc.std_m_s, "per_month_m_s": mc.per_month_m_s,
                                   "published_m_s_per_month": BAR_SURREY_M_S_PER_MONTH}
        paras.append("Station keeping: target-point control every "
                     f"{cfg.interval_revs:g} revolutions towards the shooting-corrected reference, with navigation "
                     "and execution errors (no filter, no deadband); see docs/qso.md.")
    events = []
    if cfg.station_keeping_samples:
        from .timeline import MissionEvent

        run0 = mc.runs[0]  # the first Monte Carlo run's manoeuvres, as a plan would book them
        events = [MissionEvent(float(t), float(t), "manoeuvre", "3D-QSO station keeping",
                               f"{dv * 1e3:.2f} mm/s (Monte Carlo run 1)", "orbits.stationkeeping")
                  for t, dv in zip(run0.t_manoeuvres, run0.dv_m_s)]
    return Section(key="qso_campaign", title="QSO campaign preset and 3D-QSO station keeping", paragraphs=paras,
                   tables=tables, data=data, events=events,
                   assumptions=["QSO sizes, error sigmas and the control interval are assumptions"])


# Science instruments and the origin question register their producers here.
from . import science_sections as _science_sections  # noqa: E402,F401
from . import legs_sections as _legs_sections  # noqa: E402,F401
