"""The ground-segment pipeline in one call (layer 4): passes of a target from the stations, the
downlink rate along each pass, a booking plan (MILP and the greedy baseline) under each
agency's rules, blocked windows and solar conjunctions, and the onboard recorder fed by the
instruments and emptied by the booked tracks. The ``comms`` analysis
(:mod:`mmxsim.analyses.comms`) lays its result out as a report section.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping, Sequence

from ..errors import InputError

__all__ = ["DownlinkPlan", "ground_terminal_for", "plan_downlink"]


def ground_terminal_for(station, band: str, field_name: str = "stations"):
    """The link budget's view (:class:`~mmxsim.comms.link.GroundTerminal`) of a catalogue station;
    an InputError (on ``field_name``) if the station does not receive in ``band``."""
    from .link import GroundTerminal

    bp = station.band(band)
    if bp.g_t_db_k is None:
        raise InputError(field_name, station.name, f"stations that receive in {band} band")
    mask = bp.elevation_mask_deg if bp.elevation_mask_deg is not None else station.mask_deg(0.0, band)
    return GroundTerminal(name=station.name, lat_deg=station.lat_deg, lon_deg=station.lon_deg,
                          height_km=max(station.height_km, -0.4), antenna_diameter_m=station.diameter_m,
                          g_over_t_db={band: bp.g_t_db_k}, elevation_mask_deg=float(mask))


@dataclass
class DownlinkPlan:
    """The result of :func:`plan_downlink`: times in TDB s past J2000, volumes in bits."""

    t0: float
    t1: float
    stations: list  # Station
    passes: list  # Pass, every pass above the mask
    candidates: list  # PassRates of the passes of at least 60 s
    profiles: list  # the pass profiles (t, range, elevation) behind ``candidates``
    blocked: list  # BlockedWindow: the caller's and one per station with passes for each conjunction
    conjunctions: list  # conjunction blackouts (SEP below the band's limit)
    optimal: Any  # Schedule of the MILP, or None without passes
    greedy: Any  # Schedule of the greedy baseline, or None
    recorder: Any  # RecorderResult
    agencies: list = field(default_factory=list)  # per-agency rows of the optimal plan


def plan_downlink(stations: Sequence[str], target, t0: float, t1: float, *, catalogue: Mapping | None = None,
                  band: str = "X", code: str = "turbo-1/2", availability_pct: float = 99.0, margin_db: float = 3.0,
                  spacecraft_overrides: Mapping[str, float] | None = None, rules: Mapping | None = None,
                  blocked: Sequence = (), phases: Sequence = (),
                  rates_bps: Mapping[str, Mapping[str, float]] | None = None,
                  recorder_bits: float = 64e9, rdr_bits: float = 0.0, required_bits: float | None = None,
                  node_limit: int | None = 20, time_limit_s: float = 600.0, solver: str = "segments",
                  field_name: str = "stations") -> DownlinkPlan:
    """Passes, rates, bookings and the recorder over [t0, t1] for ``target`` (a
    :mod:`mmxsim.comms.geometry` target).

    ``stations``: names in ``catalogue`` (default: the packaged one). Rates follow the link
    budget of :func:`mmxsim.comms.link.mmx_telecom_assumed` in ``band``, with
    ``spacecraft_overrides`` (e.g. ``tx_power_w``) replacing its values. ``rules``: agency ->
    :class:`~mmxsim.comms.schedule.BookingRules` (``"*"`` for the others; default rules when
    absent). ``blocked``: :class:`~mmxsim.comms.schedule.BlockedWindow` items (station names are
    looked up like ``stations``); solar conjunctions block every station with passes.
    ``phases`` (:class:`~mmxsim.comms.datavolume.Phase`) and ``rates_bps`` (instrument -> phase
    name -> bit/s) set the data production. With ``required_bits`` the MILP books the fewest hours
    that return that volume, else the most volume. ``node_limit`` bounds the MILP's work (the
    same bookings on any machine load); ``time_limit_s`` is only a safety cap (see
    :func:`~mmxsim.comms.schedule.optimal_schedule`). ``solver``: ``'segments'`` (the segment MILP,
    :func:`~mmxsim.comms.schedule.optimal_schedule`) or ``'tracks'`` (the track formulation's LP-guided
    search, :func:`~mmxsim.comms.schedule.track_schedule`, maximum volume only: with ``required_bits``
    the segment MILP is used).
    """
    from .datavolume import agency_table, downlink_intervals, production_intervals, simulate_recorder
    from .link import mmx_telecom_assumed, pass_rates
    from .schedule import BlockedWindow, BookingRules, greedy_schedule, optimal_schedule, track_schedule
    from .stations import get_station, get_stations
    from .visibility import conjunctions, find_passes, pass_profile

    if solver not in ("segments", "tracks"):
        raise InputError("solver", solver, "'segments' or 'tracks'")
    stns = get_stations(list(stations), catalogue)
    by_name = {s.name: s for s in stns}
    terms = {s.name: ground_terminal_for(s, band, field_name) for s in stns}
    passes = find_passes(stns, t0, t1, target, band=band, target_step=600.0)
    sc = mmx_telecom_assumed()
    if spacecraft_overrides:
        sc = replace(sc, bands={**sc.bands, band: replace(sc.band(band), **spacecraft_overrides)})
    from .geometry import EarthOrientation

    cands, profiles = [], []
    long_passes = [p for p in passes if p.duration_s >= 60.0]
    # every pass's Earth-orientation table in one look-up (the same tables as one per pass)
    eos = EarthOrientation.many([(p.start, p.stop) for p in long_passes])
    for p, eo in zip(long_passes, eos):
        prof = pass_profile(p, target, step=300.0, catalogue=by_name, eo=eo)
        cands.append(pass_rates(p, prof["t"], prof["range_km"], prof["elevation_deg"], sc, band, terms[p.station],
                                code=code, availability_pct=availability_pct, margin_db=margin_db))
        profiles.append(prof)
    rules = dict(rules or {})
    rules.setdefault("*", BookingRules())
    windows = [replace(b, station=get_station(b.station, by_name).name) for b in blocked]
    blackouts = conjunctions(t0, t1, target, bands=(band,))
    with_passes = sorted({c.pass_.station for c in cands})
    windows += [BlockedWindow(st, b.start, b.stop, f"solar conjunction (SEP < {b.limit_deg:g} deg)")
                for b in blackouts for st in with_passes]
    # the greedy baseline once: reported, and the floor of the MILP's answer
    greedy = greedy_schedule(cands, rules, windows) if cands else None
    if not cands:
        opt = None
    elif solver == "tracks" and required_bits is None:
        opt = track_schedule(greedy.segments, rules, windows, node_limit=node_limit, time_limit_s=time_limit_s,
                             greedy=greedy)
    else:
        opt = optimal_schedule(greedy.segments, rules, windows, required_bits=required_bits, node_limit=node_limit,
                               time_limit_s=time_limit_s, greedy=greedy)
    prod = production_intervals(phases, rates_bps or {})
    rec = simulate_recorder(prod, downlink_intervals(opt, cands) if opt else [], recorder_bits, t0, t1,
                            rdr_capacity_bits=rdr_bits)
    return DownlinkPlan(t0, t1, stns, passes, cands, profiles, windows, blackouts, opt, greedy, rec,
                        agency_table(opt, rec) if opt else [])
