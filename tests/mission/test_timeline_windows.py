"""The reference timeline's return leg and the ``windows`` analysis agree: the timeline's Mars departure
and capsule landing are the dates of the analysis' MMX-like return transfer (minimum departure
v-infinity, departure in 2030 [UCHUBIZ], arrival in JFY2031 [JAXA-MMX]) within N = 3 days: the
grid spacing of the quick 50-point porkchop (about 11 days in departure and in arrival) shifts the
minimum by a day (2030-11-08 / 2031-09-24 at 50 points, 2030-11-07 / 2031-09-23 at 150)."""

from __future__ import annotations

from datetime import date

from mmxsim.analyses.windows import WindowsAnalysis, windows_section
from mmxsim.mission.timeline import phase_by_name

N_DAYS = 3


def _days(a: str, b: str) -> int:
    return abs((date.fromisoformat(a[:10]) - date.fromisoformat(b[:10])).days)


def test_timeline_return_leg_is_the_windows_analysis_transfer():
    sec = windows_section(WindowsAnalysis(grid=50), None)
    ret = sec.data["return"]["mmx_like"]
    dep, arr = phase_by_name("Mars departure"), phase_by_name("capsule entry and landing")
    cruise = phase_by_name("return cruise")
    assert _days(dep.start, ret["departure_date"]) <= N_DAYS, (dep.start, ret)
    assert _days(arr.start, ret["arrival_date"]) <= N_DAYS, (arr.start, ret)
    assert (cruise.start, cruise.stop) == (dep.start, arr.start)
    # the published periods hold: departure in 2030, capsule in JFY2031 (1 Apr 2031 - 31 Mar 2032)
    assert dep.start.startswith("2030") and "2031-04-01" <= arr.start <= "2032-03-31"
    # about a year of return cruise [JAXA-MMX]
    assert 250 <= _days(cruise.start, cruise.stop) <= 400
