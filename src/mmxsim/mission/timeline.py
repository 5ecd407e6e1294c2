"""The reference MMX mission as dated phases, and one merged event list (CSV and iCalendar).

Phases follow the current plan after the 2023 delay (``../shared/mmx-facts.md`` §1.1, each
date with its source key); the order of the operations at Mars follows the science operation
plan [N21] (§1.3). Only years, fiscal years or months are published: a day inside the
published period is chosen for each phase boundary and marked ``assumed`` with the published
value beside it, so the reference timeline is a *plan skeleton*, not JAXA's schedule.

Each phase names the mmxsim models that simulate it (``models``: dotted module paths) and the
analyses that do (``analyses``: those that declare the phase in
:attr:`mmxsim.analyses.Analysis.phases`); :func:`model_status` says which models are present in this
installation, so the report shows what was simulated and what is still an extension point.

:class:`MissionEvent`, :class:`Operation` and :func:`first_touchdown_tdb` live in
:mod:`mmxsim.analyses` (analyses place their events with them) and are re-exported here.

:func:`merge_events` folds the run's events (eclipses, impacts), station passes, manoeuvres and
phase boundaries into one time-ordered list; :func:`events_csv` and :func:`events_ical` export it
(iCalendar per RFC 5545 through the ``icalendar`` package; times in UTC, rounded to the ms in the CSV).

>>> tl = reference_timeline()
>>> [p.name for p in tl][:3]
['launch', 'cruise to Mars', 'Mars orbit insertion']
>>> tl[0].source
'[CNES-MMX], [JAXA-MMX]'
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, field, replace
from importlib.util import find_spec
from typing import Iterable, Sequence

from ..analyses import MissionEvent, Operation, first_touchdown_tdb, phase_analyses, reference_operations
from ..errors import InputError
from ..files import csv_text
from ..time import iso_utc, tdb_seconds

__all__ = ["Phase", "Operation", "MissionEvent", "reference_timeline", "reference_operations",
           "first_touchdown_tdb", "phase_by_name", "model_status", "merge_events", "phase_events", "run_events",
           "events_csv", "events_ical"]


@dataclass(frozen=True)
class Phase:
    """A mission phase [start, stop] (ISO dates, UTC) with its sources and models."""

    name: str
    start: str
    stop: str
    description: str
    source: str  # source keys of mmx-facts.md / facts-2.md
    published: str  # what the sources say (year, fiscal year, month)
    assumed: bool  # True when the day/month were chosen inside the published period
    models: tuple[str, ...] = ()  # dotted module paths of mmxsim that simulate this phase
    provider: str = "JAXA"
    analyses: tuple[str, ...] = ()  # the analyses that simulate it (from the registry: Analysis.phases)

    @property
    def t0_tdb(self) -> float:
        return tdb_seconds(self.start, "utc")

    @property
    def t1_tdb(self) -> float:
        return tdb_seconds(self.stop, "utc")


def reference_timeline() -> list[Phase]:
    """The reference MMX mission: launch 2026 to capsule landing 2031, in order.

    Dates: launch October 2026 ([CNES-MMX]; JFY2026 [JAXA-MMX]); cruise about a year ("less than
    1 year" [CNES-MMX]); Mars orbit insertion JFY2027 [JAXA-MMX], 2027 [UCHUBIZ]; Phobos
    observations during the first ~1.5 years at Mars, five equatorial QSOs plus a 3D-QSO [N21];
    IDEFIX release "late 2028" during a landing rehearsal [PEPS-IDEFIX]; sampling 2029
    [SPACECOM-2024], >= 2 touchdowns [F21]; Deimos flybys from two resonant orbits before
    departure [N21]; Mars departure 2030 [UCHUBIZ]; return cruise about a year [JAXA-MMX]; capsule
    landing at Woomera JFY2031 [JAXA-MMX], 2031 [CNES-MMX] ([AUS-2022]). Days (and months where
    only a year is published) are ASSUMPTIONS chosen inside the published periods, except the return
    leg's: Mars departure 2030-11-07 and Earth arrival 2031-09-23 (319 days) are the minimum
    departure-v-infinity Lambert transfer of the 2030 window with departure in 2030 and arrival in
    JFY2031 (:func:`mmxsim.orbits.windows.mars_earth_2030`, the ``windows`` analysis at its default
    150-point grid; DE421), so the timeline and that analysis agree
    (tests/mission/test_timeline_windows.py, within 3 days).
    """
    P = Phase
    phases = [
        P("launch", "2026-10-15", "2026-10-15", "H3 launch from Tanegashima", "[CNES-MMX], [JAXA-MMX]",
          "October 2026 (JFY2026)", True, ("mmxsim.orbits.windows", "mmxsim.orbits.lambert"), "JAXA"),
        P("cruise to Mars", "2026-10-15", "2027-08-01", "Earth-Mars transfer, about 1 year",
          "[JAXA-MMX], [CNES-MMX]", "about / less than 1 year", True,
          ("mmxsim.orbits.lambert", "mmxsim.comms.visibility"), "JAXA"),
        P("Mars orbit insertion", "2027-08-01", "2027-08-01", "capture burn with the 500 N-class engines",
          "[JAXA-MMX], [UCHUBIZ]", "JFY2027; 2027", True, ("mmxsim.orbits.capture",), "JAXA"),
        P("approach to Phobos", "2027-08-01", "2027-08-25", "phasing and insertion into a QSO", "[N21]",
          "not published", True, ("mmxsim.orbits.capture", "mmxsim.orbits.handoff"), "JAXA/CNES"),
        P("QSO campaign", "2027-08-25", "2028-10-01", "five equatorial QSOs from high to low, then a 3D-QSO; "
          "global mapping by TENGOO, OROCHI, MIRS, MEGANE, LIDAR", "[N21]", "first ~1.5 years at Mars", True,
          ("mmxsim.orbits.qso", "mmxsim.orbits.campaign", "mmxsim.orbits.transfers", "mmxsim.orbits.stationkeeping",
           "mmxsim.instruments.megane", "mmxsim.instruments.mirs", "mmxsim.instruments.cameras",
           "mmxsim.instruments.lidar", "mmxsim.comms.schedule"),
          "CNES/JAXA/NASA"),
        P("landing-site selection", "2028-10-01", "2028-11-15", "slope and gravity maps, dispersion ellipses",
          "[N21], [F21]", "after the QSOs", True, ("mmxsim.surface.maps", "mmxsim.surface.landing"),
          "CNES/JAXA"),
        P("IDEFIX rover release", "2028-11-15", "2028-11-15", "released at ~40 m during a landing rehearsal",
          "[PEPS-IDEFIX]", "late 2028", True, ("mmxsim.surface.rover", "mmxsim.surface.testbeds"), "CNES/DLR"),
        P("landing and sampling", "2029-03-01", "2029-06-30", ">= 2 touchdowns; C-Sampler and P-Sampler, >= 10 g",
          "[SPACECOM-2024], [F21], [MMXN-331]", "2029", True,
          ("mmxsim.surface.landing", "mmxsim.surface.touchdown", "mmxsim.surface.samplers"),
          "JAXA/NASA"),
        P("Deimos flybys", "2029-09-01", "2030-06-30", "two resonant orbits with many Deimos flybys", "[N21]",
          "before Mars departure", True, ("mmxsim.orbits.deimos",), "JAXA"),
        P("Mars departure", "2030-11-07", "2030-11-07", "escape from Mars towards Earth", "[UCHUBIZ], [FR-WP]",
          "2030", True, ("mmxsim.orbits.windows", "mmxsim.earth_return.targeting"), "JAXA"),
        P("return cruise", "2030-11-07", "2031-09-23", "Mars-Earth transfer, about 1 year", "[JAXA-MMX]",
          "about 1 year", True, ("mmxsim.orbits.lambert", "mmxsim.earth_return.targeting"), "JAXA"),
        P("capsule entry and landing", "2031-09-23", "2031-09-23", "sample-return capsule lands at Woomera",
          "[JAXA-MMX], [CNES-MMX], [AUS-2022]", "JFY2031; 2031", True,
          ("mmxsim.earth_return.entry", "mmxsim.science.planetary_protection"), "JAXA/Australia"),
    ]
    return [replace(p, analyses=phase_analyses(p.name)) for p in phases]


def phase_by_name(name: str, timeline: Sequence[Phase] | None = None) -> Phase:
    """A phase by (case-insensitive) name, or an InputError listing the phases."""
    tl = reference_timeline() if timeline is None else list(timeline)
    for p in tl:
        if p.name.lower() == str(name).strip().lower():
            return p
    raise InputError("phase", name, ", ".join(p.name for p in tl))


def model_status(phase: Phase) -> dict[str, bool]:
    """``{module: available}`` for the phase's models in this installation."""
    out = {}
    for m in phase.models:
        try:
            out[m] = find_spec(m) is not None
        except ModuleNotFoundError:
            out[m] = False
    return out


def phase_events(timeline: Iterable[Phase]) -> list[MissionEvent]:
    return [MissionEvent(p.t0_tdb, p.t1_tdb, "phase", p.name,
                         p.description + (f" (dates assumed within: {p.published})" if p.assumed else ""),
                         p.source) for p in timeline]


def merge_events(*groups: Iterable[MissionEvent]) -> list[MissionEvent]:
    """One time-ordered list (by start, then stop, then kind, then name) from several groups."""
    out: list[MissionEvent] = []
    for g in groups:
        for e in g:
            if not isinstance(e, MissionEvent):
                raise InputError("events", type(e).__name__, "MissionEvent items")
            if not e.stop >= e.start:
                raise InputError(f"event {e.name!r}.stop", e.stop, f">= start ({e.start})")
            out.append(e)
    return sorted(out, key=lambda e: (e.start, e.stop, e.kind, e.name))


def _utc_stamps(events: Sequence[MissionEvent]) -> tuple[list[str], list[str], list[float]]:
    """UTC start and stop stamps rounded to the ms (ISO 8601) and the elapsed SI seconds between the
    two stamps as written (leap seconds counted), rounded to the ms: a phase from 2026-10-15 to
    2027-08-01 lasts 25056000.000 s, not the 25056000.001 s of its TDB epochs (TDB - UTC is not
    constant: up to 1.7 ms yearly terms, USNO Circular 179 eq. 2.6)."""
    a = iso_utc([e.start for e in events])
    b = iso_utc([max(e.stop, e.start) for e in events])
    if not a:
        return a, b, []
    import warnings

    from ..time import astropy_time

    with warnings.catch_warnings():  # ERFA's "dubious year" beyond its leap-second table, as in iso_utc
        warnings.simplefilter("ignore")
        d = (astropy_time(b, "utc") - astropy_time(a, "utc")).sec  # astropy differences UTC through TAI
    return a, b, [round(float(x), 3) + 0.0 for x in d]


def events_csv(events: Sequence[MissionEvent]) -> str:
    """CSV text: start_utc, stop_utc (ISO 8601, rounded to the ms), duration_s (elapsed seconds between
    the two stamps, 3 decimals), kind, name, detail, source."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["start_utc", "stop_utc", "duration_s", "kind", "name", "detail", "source"])
    a, b, d = _utc_stamps(events)
    for e, s0, s1, dur in zip(events, a, b, d):
        w.writerow([s0, s1, f"{dur:.3f}", *(csv_text(x) for x in (e.kind, e.name, e.detail, e.source))])
    return buf.getvalue()


def _ical_datetime(iso: str):
    """A UTC ``datetime`` of an ISO stamp rounded to the ms, rounded to the whole second (iCalendar's
    resolution, RFC 5545 §3.3.5); a leap second (``:60``) is written as the second before it."""
    import datetime as _dt

    day, clock = iso.split("T")
    hh, mm, ss = clock.split(":")
    sec = float(ss) if float(ss) < 60.0 else 59.0
    base = _dt.datetime.fromisoformat(f"{day}T{hh}:{mm}:00").replace(tzinfo=_dt.timezone.utc)
    return base + _dt.timedelta(seconds=int(sec + 0.5))  # half up (round() would round 0.5 to even)


def events_ical(events: Sequence[MissionEvent], calendar_name: str = "MMX mission (mmxsim)") -> str:
    """iCalendar (RFC 5545) text through the ``icalendar`` package: one VEVENT per event, UTC times
    rounded to the second (the format's resolution; events.csv carries the ms), an instant has no
    DTEND, a fixed DTSTAMP and name-based UIDs so that the same events give the same file."""
    import datetime as _dt

    import icalendar

    cal = icalendar.Calendar()
    cal.add("prodid", "-//mmxsim//mission timeline//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", calendar_name)
    stamp = _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)  # fixed DTSTAMP: identical inputs, identical files
    a, b, _ = _utc_stamps(events)
    for e, s0, s1 in zip(events, a, b):
        ve = icalendar.Event()
        uid = uuid.uuid5(uuid.NAMESPACE_URL, f"mmxsim:{e.kind}:{e.name}:{e.start:.3f}:{e.stop:.3f}")
        ve.add("uid", f"{uid}@mmxsim")
        ve.add("dtstamp", stamp)
        t0, t1 = _ical_datetime(s0), _ical_datetime(s1)
        ve.add("dtstart", t0)
        if t1 > t0:  # RFC 5545 §3.6.1: DTEND later than DTSTART; none for an instant (zero duration)
            ve.add("dtend", t1)
        ve.add("summary", f"[{e.kind}] {e.name}")
        ve.add("description", e.detail + (" — " + e.source if e.source else ""))
        ve.add("categories", [e.kind])
        cal.add_component(ve)
    return cal.to_ical().decode("utf-8")


def run_events(result, timeline: Sequence[Phase] | None = None) -> list[MissionEvent]:
    """The merged event list of a run: the reference phases that overlap the run's span or that
    one of the run's analyses simulates (so the whole reference mission lists every phase) with
    their planned operations (touchdowns), the integrator's events (eclipse entry/exit paired
    into intervals, impacts), and the events of each analysis section (station passes and
    booked tracks, conjunctions, manoeuvres, science windows, simulated touchdowns...)."""
    t = result.trajectory.t
    t0, t1 = float(t[0]), float(t[-1])
    keys = {sec.key for sec in getattr(result, "sections", [])}
    phases = [p for p in (reference_timeline() if timeline is None else timeline)
              if (p.t1_tdb >= t0 and p.t0_tdb <= t1) or keys & set(p.analyses)]
    names = {p.name for p in phases}
    ops = [o.event() for o in reference_operations() if o.phase in names]
    ev: list[MissionEvent] = []
    open_: dict[str, float] = {}
    for e in sorted(result.events, key=lambda x: x.t):
        kind = str(e.kind)
        if kind.endswith("_entry"):
            open_[(kind[:-6], e.body)] = e.t
        elif kind.endswith("_exit"):
            start = open_.pop((kind[:-5], e.body), t0)
            ev.append(MissionEvent(start, e.t, kind[:-5], f"{kind[:-5]} by {e.body}".strip(), "", "integrator"))
        else:
            ev.append(MissionEvent(e.t, e.t, kind, f"{kind} {e.body}".strip(),
                                   "terminal" if e.terminal else "", "integrator"))
    for (kind, body), start in open_.items():  # still inside at the end of the run
        ev.append(MissionEvent(start, t1, kind, f"{kind} by {body}".strip(), "until the end of the run",
                               "integrator"))
    for sec in getattr(result, "sections", []):
        ev.extend(getattr(sec, "events", []) or [])
    return merge_events(phase_events(phases), ops, ev)


@dataclass
class Timeline:
    """Phases, their planned operations and extra events, for reports and exports."""

    phases: list[Phase] = field(default_factory=reference_timeline)
    events: list[MissionEvent] = field(default_factory=list)
    operations: list[Operation] = field(default_factory=reference_operations)

    def merged(self) -> list[MissionEvent]:
        names = {p.name for p in self.phases}
        return merge_events(phase_events(self.phases), [o.event() for o in self.operations if o.phase in names],
                            self.events)
