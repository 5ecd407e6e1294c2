"""The reference timeline and the merged event list (CSV, iCalendar)."""

from __future__ import annotations

import csv
import io

import pytest

from mmxsim.errors import InputError
from mmxsim.mission.timeline import (MissionEvent, events_csv, events_ical, merge_events, model_status,
                                     phase_by_name, phase_events, reference_timeline, run_events)


def test_reference_phases_in_order_with_sources():
    tl = reference_timeline()
    assert tl[0].name == "launch" and tl[-1].name == "capsule entry and landing"
    for a, b in zip(tl, tl[1:]):
        assert a.t0_tdb <= b.t0_tdb and a.t0_tdb <= a.t1_tdb
    assert all(p.source.startswith("[") for p in tl)
    # published years hold: launch 2026, MOI 2027, departure 2030, capsule 2031 (mmx-facts 1.1)
    years = {p.name: p.start[:4] for p in tl}
    assert (years["launch"], years["Mars orbit insertion"], years["Mars departure"],
            years["capsule entry and landing"]) == ("2026", "2027", "2030", "2031")
    assert phase_by_name("QSO Campaign").name == "QSO campaign"
    with pytest.raises(InputError, match="launch"):
        phase_by_name("lunch")
    st = model_status(phase_by_name("QSO campaign"))
    assert st["mmxsim.orbits.qso"] and st["mmxsim.instruments.megane"]


def test_merge_orders_and_rejects_bad_events():
    a = MissionEvent(10.0, 20.0, "pass", "b")
    b = MissionEvent(5.0, 5.0, "impact", "a")
    assert merge_events([a], [b]) == [b, a]
    with pytest.raises(InputError):
        merge_events([MissionEvent(5.0, 4.0, "pass", "x")])
    with pytest.raises(InputError):
        merge_events(["not an event"])


def test_csv_and_ical_exports_round_trip():
    ev = merge_events(phase_events(reference_timeline()),
                      [MissionEvent(8.4e8, 8.4e8 + 3600.0, "pass", "DSS-43 pass", "max el 40, comma; semi")])
    rows = list(csv.DictReader(io.StringIO(events_csv(ev))))
    assert len(rows) == len(ev)
    row = next(r for r in rows if r["kind"] == "pass")
    assert float(row["duration_s"]) == pytest.approx(3600.0) and row["detail"] == "max el 40, comma; semi"
    text = events_ical(ev)
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert text.count("BEGIN:VEVENT") == len(ev)
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert events_ical(ev) == text  # deterministic (fixed DTSTAMP, name-based UIDs)
    icalendar = pytest.importorskip("icalendar")
    cal = icalendar.Calendar.from_ical(text)
    vev = [c for c in cal.walk("VEVENT")]
    assert len(vev) == len(ev)
    p = next(c for c in vev if "DSS-43" in str(c["SUMMARY"]))
    assert str(p["DESCRIPTION"]).startswith("max el 40, comma; semi")
    assert (p.decoded("DTEND") - p.decoded("DTSTART")).total_seconds() == 3600.0


def test_run_events_pair_eclipses_and_keep_phases():
    from mmxsim.results import Event, RunResult, Section, Trajectory
    import numpy as np

    t0 = phase_by_name("QSO campaign").t0_tdb + 86400.0
    t = t0 + np.arange(5) * 600.0
    traj = Trajectory(t, np.zeros((5, 6)))
    res = RunResult("x", traj, traj, traj, np.zeros(5), np.zeros(5),
                    events=[Event("eclipse_entry", t0 + 100, "MARS"), Event("eclipse_exit", t0 + 700, "MARS"),
                            Event("eclipse_entry", t0 + 2000, "PHOBOS")],
                    sections=[Section("s", "S", events=[MissionEvent(t0 + 50, t0 + 60, "manoeuvre", "dv")])])
    ev = run_events(res)
    kinds = [(e.kind, e.name) for e in ev]
    assert ("phase", "QSO campaign") in kinds and ("manoeuvre", "dv") in kinds
    ecl = [e for e in ev if e.kind == "eclipse"]
    assert [(e.start, e.stop) for e in ecl] == [(t0 + 100, t0 + 700), (t0 + 2000, t[-1])]


def test_shipped_scenarios_fall_in_the_qso_campaign():
    """The shipped QSO scenarios (epoch 2027-09-01) lie inside the reference QSO campaign phase."""
    from mmxsim.scenario import reference_scenario

    p = phase_by_name("QSO campaign")
    s = reference_scenario()
    assert p.t0_tdb <= s.t0_tdb and s.t1_tdb <= p.t1_tdb


def test_phase_analyses_are_scenario_blocks():
    from mmxsim.analyses import analyses_model

    known = set(analyses_model().model_fields)
    for p in reference_timeline():
        assert set(p.analyses) <= known, (p.name, p.analyses)
    assert all(p.analyses for p in reference_timeline())


def test_phases_simulated_by_a_section_and_their_touchdowns_join_the_list():
    """A run in the QSO campaign with a landing section lists the landing phase and its planned
    touchdowns (outside the run's span), beside the section's simulated descent."""
    import numpy as np

    from mmxsim.results import RunResult, Section, Trajectory
    from mmxsim.mission.timeline import first_touchdown_tdb, reference_operations

    t0 = phase_by_name("QSO campaign").t0_tdb + 86400.0
    t = t0 + np.arange(3) * 600.0
    traj = Trajectory(t, np.zeros((3, 6)))
    td = first_touchdown_tdb()
    sec = Section("landing", "L", events=[MissionEvent(td - 3600.0, td, "touchdown", "descent (simulated)")])
    names = [(e.kind, e.name) for e in run_events(RunResult("x", traj, traj, traj, np.zeros(3), np.zeros(3),
                                                            sections=[sec]))]
    assert ("phase", "landing and sampling") in names and ("phase", "capsule entry and landing") not in names
    assert ("touchdown", "touchdown 1 (planned)") in names and ("touchdown", "touchdown 2 (planned)") in names
    assert ("touchdown", "descent (simulated)") in names
    plain = [(e.kind, e.name) for e in run_events(RunResult("x", traj, traj, traj, np.zeros(3), np.zeros(3)))]
    assert ("phase", "landing and sampling") not in plain and not any(k == "touchdown" for k, _ in plain)
    ops = reference_operations()
    lp = phase_by_name("landing and sampling")
    assert len([o for o in ops if o.kind == "touchdown"]) == 2  # two touchdowns at different sites [F21]
    assert all(lp.t0_tdb <= o.t_tdb <= lp.t1_tdb for o in ops if o.phase == lp.name)


def test_surface_sections_place_their_events_at_the_first_touchdown():
    from mmxsim.scenario import parse_scenario
    from mmxsim.analyses import run_analyses
    from mmxsim.mission.timeline import first_touchdown_tdb

    s = parse_scenario({"name": "td", "epoch": "2027-09-01T00:00:00", "duration_days": 0.1,
                        "initial_state": {"type": "qso", "radial_semi_axis_km": 50},
                        "analyses": {"touchdown": {"site_lat_deg": 10, "site_lon_deg": 30},
                                     "sampling": {"samples": 200}}})
    secs = {sec.key: sec for sec in run_analyses(s)}
    td = first_touchdown_tdb()
    contact = secs["touchdown"].events
    assert len(contact) == 1 and contact[0].kind == "touchdown" and contact[0].start == td
    assert contact[0].stop > td and "rebound" in contact[0].detail
    samp = secs["sampling"].events
    assert [e.name for e in samp][:2] == ["touchdown 1: settled", "touchdown 1: P-Sampler firing (NASA/Honeybee)"]
    assert all(e.start >= td for e in samp) and any("C-Sampler core" in e.name for e in samp)


def test_exports_refuse_formulas_and_zero_length_ical_events():
    """Issue 15: names that start like a spreadsheet formula are written as text in events.csv, and an
    instantaneous event has no DTEND (RFC 5545: DTEND must be later than DTSTART)."""
    import csv as _csv
    import io as _io

    from mmxsim.mission.timeline import MissionEvent, events_csv, events_ical

    evs = [MissionEvent(100.0, 100.0, "event", "=HYPERLINK(\"http://x\")", "+1 detail", "@src"),
           MissionEvent(200.0, 3800.0, "pass", "-DSS-14", "", "")]
    rows = list(_csv.reader(_io.StringIO(events_csv(evs))))
    assert rows[1][4] == "'=HYPERLINK(\"http://x\")" and rows[1][5] == "'+1 detail" and rows[1][6] == "'@src"
    assert rows[2][4] == "'-DSS-14" and rows[2][2] == "3600.000"
    ics = events_ical(evs).split("\r\n")
    first = ics.index("BEGIN:VEVENT")
    second = ics.index("BEGIN:VEVENT", first + 1)
    assert not any(x.startswith("DTEND") for x in ics[first:second])
    assert any(x.startswith("DTEND") for x in ics[second:])
