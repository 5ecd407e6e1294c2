"""The ``comms`` analysis: passes of the run's trajectory, their downlink rates, an optimised booking plan
and the recorder.

One file (docs/adding_an_analysis.md): its settings, its run function and ``ANALYSIS``.
"""

from __future__ import annotations

import csv
import io
import math
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ..errors import InputError, MmxsimError
from ..files import csv_text
from ..results import Section, Table
from ..scenario import ISO_ALLOWED, IsoEpoch, Problems, SchemaModel, got
from ..time import iso_tdb, tdb_seconds
from ._common import png_bytes, words
from ._events import MissionEvent
from ._plugin import Analysis


class AgencyRules(SchemaModel):
    """Booking rules of one agency's antennas (ASSUMPTIONS: MMX's allocations are unpublished)."""

    max_hours_per_day: float | None = Field(None, ge=0, le=24, description="antenna hours per UTC day, 0..24")
    max_hours_per_week: float | None = Field(None, ge=0, le=168, description="antenna hours per week, 0..168")
    min_pass_s: float = Field(1800.0, ge=0, description="shortest bookable track, s")
    setup_s: float = Field(1800.0, ge=0, description="set-up time before each track, s")
    teardown_s: float = Field(900.0, ge=0, description="tear-down time after each track, s")


class HorizonMaskSpec(SchemaModel):
    """A station's horizon: elevation (deg) at azimuths (deg), linear between, periodic in 360."""

    azimuth_deg: tuple[float, ...] = Field(min_length=2, description="azimuths, deg, increasing within [0, 360)")
    elevation_deg: tuple[float, ...] = Field(min_length=2, description="mask elevations, deg, each in [0, 90]")


class StationBandSpec(SchemaModel):
    """Per-band overrides of a station (None: the catalogue's or the size-class default)."""

    g_t_db_k: float | None = Field(None, ge=-20, le=80, description="receive G/T, dB/K")
    eirp_dbw: float | None = Field(None, ge=0, le=140, description="uplink EIRP, dBW")
    elevation_mask_deg: float | None = Field(None, ge=0, le=90, description="band's own elevation mask, deg")
    sep_limit_deg: float | None = Field(None, ge=0, le=90, description="Sun-Earth-probe blackout limit, deg")


class StationSpec(SchemaModel):
    """A ground station added by the user, or overrides of a catalogue station (same name).

    For a new station give ``lat_deg``, ``lon_deg`` (geodetic, east positive) and
    ``height_m``; for a catalogue station give only what changes (e.g. ``horizon_mask``)."""

    name: str = Field(min_length=1, max_length=40, description="station name (a catalogue name overrides it)")
    agency: str | None = Field(None, description="agency name, as used by the booking rules")
    lat_deg: float | None = Field(None, ge=-90, le=90, description="geodetic latitude, deg")
    lon_deg: float | None = Field(None, ge=-180, le=360, description="east longitude, deg")
    height_m: float | None = Field(None, ge=-500, le=9000, description="height above the WGS84 ellipsoid, m")
    diameter_m: float | None = Field(None, gt=0, le=150, description="antenna diameter, m")
    bands: dict[Literal["S", "X", "Ka"], StationBandSpec] | None = Field(
        None, description="bands the station receives, with optional overrides")
    elevation_mask_deg: float | None = Field(None, ge=0, le=90, description="constant elevation mask, deg")
    horizon_mask: HorizonMaskSpec | None = Field(None, description="azimuth-dependent horizon mask")

    def make_kwargs(self) -> dict:
        d = self.model_dump(exclude_none=True)
        if "bands" in d:
            d["bands"] = {b: (v or True) for b, v in d["bands"].items()}
        return d


class BlockedSpec(SchemaModel):
    """A window in which another mission holds a station's antenna."""

    station: str = Field(description="station name")
    start: IsoEpoch = Field(description=f"start, UTC: {ISO_ALLOWED}")
    stop: IsoEpoch = Field(description=f"stop, UTC: {ISO_ALLOWED}")
    reason: str = Field("", description="free text (e.g. the other mission)")

    @model_validator(mode="after")
    def _order(self):
        if not tdb_seconds(self.stop, "utc") > tdb_seconds(self.start, "utc"):
            raise Problems([(("stop",), self.stop, got(self.stop, f"a time after start ({self.start})"))])
        return self


class DataPhase(SchemaModel):
    """Science data production during one phase (UTC span) of the run."""

    name: str = Field(min_length=1, description="phase name")
    start: IsoEpoch = Field(description=f"start, UTC: {ISO_ALLOWED}")
    stop: IsoEpoch = Field(description=f"stop, UTC: {ISO_ALLOWED}")
    rates_bps: dict[str, float] = Field(description="data production per instrument in this phase, bit/s, >= 0")

    @model_validator(mode="after")
    def _check(self):
        bad = [(("rates_bps", k), r, got(r, "a data rate >= 0 bit/s")) for k, r in self.rates_bps.items()
               if not (math.isfinite(r) and r >= 0)]
        if not tdb_seconds(self.stop, "utc") > tdb_seconds(self.start, "utc"):
            bad.append((("stop",), self.stop, got(self.stop, f"a time after start ({self.start})")))
        if bad:
            raise Problems(bad)
        return self


class TelecomSpec(SchemaModel):
    """The spacecraft's downlink chain in the analysed band. MMX's values are unpublished:
    None keeps the documented ASSUMPTION of :func:`mmxsim.comms.link.mmx_telecom_assumed`."""

    tx_power_w: float | None = Field(None, gt=0, le=1000, description="RF transmit power, W")
    antenna_diameter_m: float | None = Field(None, gt=0, le=10, description="high-gain antenna diameter, m")
    antenna_efficiency: float | None = Field(None, gt=0, le=1, description="aperture efficiency, (0, 1]")
    pointing_loss_db: float | None = Field(None, ge=0, le=20, description="pointing loss, dB")
    circuit_loss_db: float | None = Field(None, ge=0, le=20, description="circuit loss, dB")


class CommsAnalysis(SchemaModel):
    """Passes, downlink rates, an optimised booking plan and the onboard recorder over the run's span."""

    stations: tuple[str, ...] = Field(("DSS-14", "DSS-43", "DSS-63", "DSS-25", "DSS-35", "DSS-55", "DSA-1", "DSA-3",
                                       "MDSS"), min_length=1, description="station names from the catalogue")
    band: Literal["X", "Ka"] = Field("X", description="downlink band: X | Ka")
    code: str = Field("turbo-1/2", description="CCSDS code of the downlink (see mmxsim.comms.link.CODES)")
    availability_pct: float = Field(99.0, ge=50, le=99.99, description="weather availability, %, 50..99.99")
    margin_db: float = Field(3.0, ge=0, le=20, description="required link margin, dB")
    instrument_rates_bps: dict[str, float] = Field(
        {"TENGOO": 5000.0, "OROCHI": 5000.0, "MIRS": 8000.0, "MEGANE": 500.0, "LIDAR": 200.0},
        description="science data production per instrument, bit/s (ASSUMPTIONS)")
    recorder_gbit: float = Field(64.0, gt=0, description="onboard recorder capacity, Gbit (ASSUMPTION)")
    rdr_gbit: float = Field(0.0, ge=0, description="capsule Retrieval Data Recorder capacity used as last resort, Gbit")
    user_stations: list[StationSpec] = Field(
        [], description="stations to add, or catalogue stations to override (e.g. a horizon mask)")
    blocked: list[BlockedSpec] = Field([], description="windows where other missions hold an antenna")
    phases: list[DataPhase] = Field(
        [], description="data production by phase (UTC spans); empty: instrument_rates_bps over the whole run")
    spacecraft: TelecomSpec = Field(default_factory=TelecomSpec,
                                    description="spacecraft downlink chain (unpublished: defaults are assumptions)")
    required_gbit: float | None = Field(
        None, gt=0, description="book the fewest hours that return this volume instead of the most volume, Gbit")
    # Measured on the reference plans (2026-12-06, shared 2-core machine, CPU s of the process):
    # full (30 days, 3723 segments, 41 103 bookable tracks): the segment MILP's root node ~43 s idle and
    # its answer (62.45 Gbit) below the greedy baseline (64.04 Gbit, returned); the track formulation's
    # LP-guided search (3-day rolling windows) ~5.6 CPU s, 67.93 Gbit, 5.25 % below its LP bound
    # (71.69 Gbit). Quick (3 days, 355 segments): the segment MILP's root ~5 s, 7.551 Gbit, the proven
    # optimum; the LP-guided search ~0.8 s, 7.549 Gbit (an alternative booking 0.03 % lower). The quick
    # look uses the same solver as the full run (a small version of the same analysis, its status and gap
    # reported the same way); the segment MILP stays available as `solver: segments`. Every run solves
    # it (the answer is not kept on disk); either plan is one block (comms.schedule.milp_blocks).
    solver: Literal["tracks", "segments"] = Field("tracks", description=(
        "booking solver: 'tracks' (one binary per bookable track, an LP-guided search that reports its "
        "LP bound and gap; comms.schedule.track_schedule) or 'segments' (the segment MILP, "
        "comms.schedule.optimal_schedule); with required_gbit the segment MILP is used"))
    node_limit: int = Field(1, ge=1, le=100_000, description=(
        "MILP work limit in branch-and-bound nodes, per HiGHS solve (1: the root node, with HiGHS' "
        "heuristics): the same bookings on any machine load (HiGHS is deterministic for a node count); "
        "the plan says how it stopped and its gap"))
    time_limit_s: float = Field(600.0, gt=0, le=3600, description=(
        "wall-clock safety cap on the MILP, s; if it is hit, the bookings may differ with machine load "
        "and the report says so"))
    rules: dict[str, AgencyRules] = Field(
        {"NASA DSN": AgencyRules(max_hours_per_day=8.0), "ESA ESTRACK": AgencyRules(max_hours_per_day=4.0),
         "JAXA": AgencyRules(max_hours_per_day=8.0)},
        description="booking rules per agency name (as in the station catalogue); '*' for the others")

    def catalogue(self) -> dict:
        """The packaged station catalogue merged with ``user_stations``."""
        from ..comms.stations import merge_stations

        return merge_stations([s.make_kwargs() for s in self.user_stations])

    @model_validator(mode="after")
    def _stations(self):
        from ..comms.stations import get_station

        bad = []
        try:
            cat = self.catalogue()
        except MmxsimError as exc:
            i = next((k for k, s in enumerate(self.user_stations)
                      if s.name in str(getattr(exc, "field", ""))), None)
            f = getattr(exc, "field", "user_stations")
            where = ("user_stations",) if i is None else ("user_stations", i)
            raise Problems([(where, getattr(exc, "value", None),
                              got(getattr(exc, "value", None), f"{f}: {getattr(exc, 'allowed', exc)}"))]) from None
        names = set()
        for i, name in enumerate(self.stations):
            try:
                names.add(get_station(name, cat).name)
            except MmxsimError:
                bad.append((("stations", i), name, got(name, "a station of the catalogue or user_stations: "
                                                         + ", ".join(cat))))
        for i, b in enumerate(self.blocked):
            try:
                if get_station(b.station, cat).name not in names:
                    raise MmxsimError
            except MmxsimError:
                bad.append((("blocked", i, "station"), b.station, got(b.station, "one of stations: "
                                                                        + ", ".join(self.stations))))
        if bad:
            raise Problems(bad)
        return self

    @field_validator("instrument_rates_bps")
    @classmethod
    def _rates(cls, v: dict) -> dict:
        bad = [((k,), r, got(r, "a data rate >= 0 bit/s")) for k, r in v.items() if not r >= 0]
        if bad:
            raise Problems(bad)
        return v


def _method(opt) -> str:
    """How the bookings were chosen, as the solver reported it (the report never claims an optimum
    it did not reach)."""
    if opt is None:
        return "nothing (no pass long enough)"
    notes = "; ".join(words(n) for n in opt.notes)
    if opt.method == "greedy" or opt.status == "greedy":
        return "the greedy baseline" + (f" ({notes})" if notes else "")
    if opt.method == "tracks":
        what = "the exact optimum of" if opt.status == "optimal" else "a heuristic answer (with its gap) of"
        return f"{what} a track MILP" + (f" ({notes})" if notes else " (HiGHS)")
    return "a MILP" + (f" ({notes})" if notes else " (HiGHS)")


def comms_section(cfg, scenario, ctx=None) -> Section:
    """Passes of the run's trajectory, their downlink rates, an optimised booking plan and the recorder
    (:func:`mmxsim.comms.plan.plan_downlink`), laid out as a section."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..comms.datavolume import Phase, plot_backlog
    from ..comms.geometry import mars_target, trajectory_target
    from ..comms.plan import plan_downlink
    from ..comms.schedule import BlockedWindow, BookingRules

    t0, t1 = float(scenario.t0_tdb), float(scenario.t1_tdb)
    if ctx and ctx.get("t") is not None and len(ctx["t"]) > 1:
        target = trajectory_target(ctx["t"], ctx["states"], "MARS", ctx.get("eph"))
        # the pass search looks up to 2 h (light time, refinement) beyond its span on either side
        t0, t1 = float(ctx["t"][0]) + 7260.0, float(ctx["t"][-1]) - 7260.0
        if t1 <= t0 + 3600.0:
            raise InputError("analyses.comms", f"a run of {(ctx['t'][-1] - ctx['t'][0]) / 3600:.1f} h",
                             "a run longer than 5 h (passes are searched 2 h inside each end)")
        what = "the run's trajectory (2 h inside each end)"
    else:
        target = mars_target()
        what = "Mars' centre"
    if cfg.phases:
        phases = [Phase(p.name, tdb_seconds(p.start, "utc"), tdb_seconds(p.stop, "utc")) for p in cfg.phases]
        rates: dict = {}
        for p in cfg.phases:
            for k, v in p.rates_bps.items():
                rates.setdefault(k, {})[p.name] = v
    else:
        phases = [Phase("span", t0, t1)]
        rates = {k: {"span": v} for k, v in cfg.instrument_rates_bps.items()}
    required = cfg.required_gbit * 1e9 if cfg.required_gbit else None
    plan = plan_downlink(
        cfg.stations, target, t0, t1, catalogue=cfg.catalogue(), band=cfg.band, code=cfg.code,
        availability_pct=cfg.availability_pct, margin_db=cfg.margin_db,
        spacecraft_overrides=cfg.spacecraft.model_dump(exclude_none=True),
        rules={name: BookingRules(**r.model_dump()) for name, r in cfg.rules.items()},
        blocked=[BlockedWindow(b.station, tdb_seconds(b.start, "utc"), tdb_seconds(b.stop, "utc"), b.reason)
                 for b in cfg.blocked],
        phases=phases, rates_bps=rates, recorder_bits=cfg.recorder_gbit * 1e9, rdr_bits=cfg.rdr_gbit * 1e9,
        required_bits=required, node_limit=cfg.node_limit, time_limit_s=cfg.time_limit_s, solver=cfg.solver,
        field_name="analyses.comms.stations")
    stations, passes, cands, profiles = plan.stations, plan.passes, plan.candidates, plan.profiles
    blocked, blackouts, opt, greedy, rec, rows = (plan.blocked, plan.conjunctions, plan.optimal, plan.greedy,
                                                  plan.recorder, plan.agencies)
    day = 86400.0

    # Gantt chart: passes per station, booked tracks on top
    fig = Figure(figsize=(10, 0.45 * len(stations) + 1.6))
    FigureCanvasAgg(fig)  # its tight_layout() and png_bytes share one renderer
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
    FigureCanvasAgg(fig2)  # its tight_layout() and png_bytes share one renderer
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
             f"chosen under each agency's rules, one station at a time, by {_method(opt)}"
             + (f", to return {cfg.required_gbit:g} Gbit with the fewest antenna hours" if required else
                ", to return the most data")
             + (f"; {len(cfg.blocked)} blocked window(s) held by other missions" if cfg.blocked else "")
             + (f"; solar conjunction {', '.join(f'{(b.start - t0) / day:.1f}-{(b.stop - t0) / day:.1f} d' for b in blackouts)}"
                " blocks every station" if blackouts else "")
             + (f"; user stations/overrides: {', '.join(u.name for u in cfg.user_stations)}"
                if cfg.user_stations else "") + ".",
             f"Optimised bookings: {opt.volume_bits / 1e9 if opt else 0:.3f} Gbit of link capacity "
             f"in {opt.total_charged_hours if opt else 0:.1f} charged antenna hours, solver status {words(opt.status) if opt else 'none'} "
             f"(greedy baseline {greedy.volume_bits / 1e9 if greedy else 0:.3f} Gbit). Produced {produced / 1e9:.3f} "
             f"Gbit, downlinked {down / 1e9:.3f} Gbit, lost {lost / 1e9:.3f} Gbit: "
             + ("zero loss." if rec.zero_loss else f"{len(rec.overflows)} overflow(s), first at "
                f"{(rec.overflows[0].start - t0) / day:.2f} d.")]
    head = (f"Ground segment: {len(passes)} passes, {opt.volume_bits / 1e9 if opt else 0:.2f} Gbit booked in "
            f"{opt.total_charged_hours if opt else 0:.0f} antenna hours; {down / 1e9:.2f} of {produced / 1e9:.2f} Gbit "
            "returned, " + ("no data lost" if rec.zero_loss else f"{lost / 1e9:.2f} Gbit lost"))
    return Section(
        key="comms", title="Ground segment: passes, link, bookings and data volume", headline=head, paragraphs=paras,
        tables=[Table("Per agency (optimised bookings)", ("Agency", "Tracks", "Hours", "Link capacity (Gbit)",
                                                         "Data returned (Gbit)"), table_rows)],
        figures=[("Passes of each station above its mask (grey) and the booked tracks (blue) against days since the "
                  "start.", gantt),
                 ("Elevation and supportable downlink data rate of each pass against days since the start.", elev),
                 ("Onboard recorder: data produced, downlinked and stored against time with the optimised bookings.",
                  backlog)],
        data={"passes": len(passes), "band": cfg.band, "optimal_bits": opt.volume_bits if opt else 0.0,
              "greedy_bits": greedy.volume_bits if greedy else 0.0, "schedule_status": opt.status if opt else "none",
              "produced_bits": produced, "downlinked_bits": down, "lost_bits": lost, "zero_loss": rec.zero_loss,
              "agencies": rows},
        files={"passes.csv": passes_csv(passes)},
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


def warnings(sec: Section) -> list[str]:
    """Science data lost by the recorder."""
    d = sec.data
    return [f"{sec.title}: science data lost ({d.get('lost_bits', 0) / 1e9:.3f} Gbit)."] if d.get("zero_loss") is False \
        else []


def passes_csv(passes) -> bytes:
    """passes.csv: one row per pass (times ISO TDB)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")  # quoting: names may hold commas; csv_text: no formulas
    w.writerow(["station", "agency", "start_tdb", "stop_tdb", "duration_s", "max_elevation_deg"])
    for p in passes:
        w.writerow([csv_text(p.station), csv_text(p.agency), iso_tdb(p.start), iso_tdb(p.stop),
                    f"{p.duration_s:.1f}", f"{p.max_elevation_deg:.3f}"])
    return buf.getvalue().encode()


ANALYSIS = Analysis(
    name="comms",
    settings=CommsAnalysis,
    run=comms_section,
    description="station passes, link rates, bookings, data volume",
    order=60,
    phases=("cruise to Mars", "QSO campaign"),
    partners=(
        ("JAXA", "Usuda, Misasa (GREAT) and Uchinoura stations"),
        ("NASA", "Deep Space Network: control and mission-data reception"),
        ("ESA", "Ka-band deep-space transponder"),
        ("ESA", "ESTRACK ground stations"),
    ),
    quick={"node_limit": 1},
    warnings=warnings,
)
