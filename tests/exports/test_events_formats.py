"""The merged event list's files: events.csv times to the ms without float noise, events.ics through
the icalendar package (same events, same times), read back by icalendar."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest

from mmxsim.mission.timeline import (MissionEvent, events_csv, events_ical, merge_events, phase_events,
                                     reference_timeline)
from mmxsim.time import tdb_seconds

icalendar = pytest.importorskip("icalendar")


def _events():
    t = tdb_seconds("2027-09-01T02:01:00.4996", "utc")
    return merge_events(phase_events(reference_timeline()), [
        MissionEvent(t, t + 5413.5744, "pass", "DSS-14 pass", "max elevation 25.9 deg; NASA, DSN", "comms"),
        MissionEvent(t + 100.0, t + 100.0, "manoeuvre", "3D-QSO station keeping", "1.08 mm/s", "orbits"),
    ])


def test_csv_times_to_the_ms_and_utc_durations():
    rows = list(csv.DictReader(io.StringIO(events_csv(_events()))))
    for r in rows:
        for k in ("start_utc", "stop_utc"):
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}", r[k]), r[k]
        assert re.fullmatch(r"\d+\.\d{3}", r["duration_s"])
        a, b = (dt.datetime.fromisoformat(r[k]) for k in ("start_utc", "stop_utc"))
        # the duration is the elapsed time between the written stamps (no leap second in 2026-2031)
        assert float(r["duration_s"]) == pytest.approx((b - a).total_seconds(), abs=5e-4)
    cruise = next(r for r in rows if r["name"] == "cruise to Mars")
    assert cruise["duration_s"] == "25056000.000"  # was 25056000.001: TDB seconds between UTC midnights
    approach = next(r for r in rows if r["name"] == "approach to Phobos")
    assert approach["duration_s"] == "2073600.000"
    p = next(r for r in rows if r["kind"] == "pass")
    assert p["start_utc"] == "2027-09-01T02:01:00.500" and p["duration_s"] == "5413.574"


def test_ical_by_icalendar_same_events_and_times():
    ev = _events()
    text = events_ical(ev, "MMX run: test")
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert events_ical(ev, "MMX run: test") == text  # deterministic
    cal = icalendar.Calendar.from_ical(text)
    assert str(cal["X-WR-CALNAME"]) == "MMX run: test" and str(cal["VERSION"]) == "2.0"
    vev = list(cal.walk("VEVENT"))
    assert len(vev) == len(ev) and len({str(v["UID"]) for v in vev}) == len(ev)
    rows = list(csv.DictReader(io.StringIO(events_csv(ev))))
    for v, r in zip(vev, rows):
        start = dt.datetime.fromisoformat(r["start_utc"]).replace(tzinfo=dt.timezone.utc)
        assert abs((v.decoded("DTSTART") - start).total_seconds()) <= 0.5  # rounded to the second
        if float(r["duration_s"]) >= 1.0:
            stop = dt.datetime.fromisoformat(r["stop_utc"]).replace(tzinfo=dt.timezone.utc)
            assert abs((v.decoded("DTEND") - stop).total_seconds()) <= 0.5
        else:
            assert "DTEND" not in v
        assert str(v["SUMMARY"]) == f"[{r['kind']}] {r['name']}"
    p = next(v for v in vev if "DSS-14" in str(v["SUMMARY"]))
    assert str(p["DESCRIPTION"]) == "max elevation 25.9 deg; NASA, DSN — comms"
    assert p.decoded("DTSTART") == dt.datetime(2027, 9, 1, 2, 1, 1, tzinfo=dt.timezone.utc)  # 00.500 rounds up
    assert [str(c) for c in p["CATEGORIES"].cats] == ["pass"]
