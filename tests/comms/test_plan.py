"""The ground-segment pipeline in one call (mmxsim.comms.plan_downlink), without a scenario."""

from __future__ import annotations

import pytest

from mmxsim.comms import plan_downlink
from mmxsim.comms.datavolume import Phase
from mmxsim.comms.geometry import mars_target
from mmxsim.comms.schedule import BlockedWindow, BookingRules
from mmxsim.time import tdb_seconds


def test_plan_downlink_books_passes_and_feeds_the_recorder():
    t0 = tdb_seconds("2027-09-01T00:00:00", "utc")
    t1 = t0 + 1.5 * 86400.0
    plan = plan_downlink(["DSS-14", "dss43", "MDSS"], mars_target(), t0, t1,
                         rules={"NASA DSN": BookingRules(max_hours_per_day=8.0)},
                         blocked=[BlockedWindow("dss-43", t0, t0 + 3600.0, "another mission")],
                         phases=[Phase("span", t0, t1)], rates_bps={"MIRS": {"span": 8000.0}},
                         recorder_bits=64e9, time_limit_s=5.0)
    assert [s.name for s in plan.stations][:2] == ["DSS-14", "DSS-43"] and plan.stations[2].name.startswith("MDSS")
    assert plan.passes and len(plan.candidates) == len(plan.profiles) <= len(plan.passes)
    assert plan.blocked[0].station == "DSS-43"  # looked up like the stations
    assert plan.optimal.volume_bits >= plan.greedy.volume_bits > 0
    assert plan.recorder.total_produced_bits == pytest.approx(8000.0 * (t1 - t0))
    assert {r["agency"] for r in plan.agencies} <= {"NASA DSN", "JAXA"}



def test_plan_downlink_with_the_track_solver():
    """solver='tracks': the track formulation's search books at least the greedy baseline within the
    rules; with required_bits the segment MILP is used; an unknown solver is an input error."""
    from mmxsim.comms.schedule import check_schedule
    from mmxsim.errors import InputError

    t0 = tdb_seconds("2027-09-01T00:00:00", "utc")
    t1 = t0 + 1.5 * 86400.0
    rules = {"NASA DSN": BookingRules(max_hours_per_day=8.0, min_pass_s=1800.0, setup_s=1800.0, teardown_s=900.0)}
    kw = dict(rules=rules, phases=[Phase("span", t0, t1)], rates_bps={"MIRS": {"span": 8000.0}})
    plan = plan_downlink(["DSS-14", "dss43", "MDSS"], mars_target(), t0, t1, solver="tracks", **kw)
    opt = plan.optimal
    assert opt.method in ("tracks", "greedy") and opt.status in ("optimal", "heuristic", "greedy")
    assert opt.volume_bits >= plan.greedy.volume_bits > 0
    assert check_schedule(opt.segments, opt.selected, {**rules, "*": BookingRules()}, plan.blocked) == []
    need = plan_downlink(["DSS-14", "dss43", "MDSS"], mars_target(), t0, t1, solver="tracks",
                         required_bits=0.5 * opt.volume_bits, **kw)
    assert need.optimal.method == "milp" and need.optimal.volume_bits >= 0.5 * opt.volume_bits * (1 - 1e-9)
    with pytest.raises(InputError):
        plan_downlink(["DSS-14"], mars_target(), t0, t1, solver="simplex", **kw)
