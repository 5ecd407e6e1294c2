"""Onboard recorder (mmxsim.comms.datavolume): exact integration vs hand values and a
fine time-stepping reference, bounds, conservation, zero-loss planning, errors."""

import numpy as np
import pytest

from mmxsim.comms import datavolume as D
from mmxsim.comms import schedule as S
from mmxsim.comms.types import Pass
from mmxsim.errors import InputError


def test_hand_case_fill_overflow_rdr_drain():
    """10 b/s produced on [0, 100); 40 b/s downlink on [50, 70); C = 300, RDR = 100.

    Full at 30 s; overflow 10 b/s: RDR full at 40 s, 100 bits lost on [40, 50);
    drain at 30 b/s from 50 s: empty at 60 s; then the link carries only the 10 b/s
    produced; refills to 300 at exactly 100 s.
    """
    r = D.simulate_recorder([D.RateInterval(0, 100, 10)], [D.DownlinkInterval(50, 70, 40, station="A", agency="NASA")],
                            300, 0, 100, rdr_capacity_bits=100)
    assert list(r.t) == [0, 30, 40, 50, 60, 70, 100]
    assert list(r.stored_bits) == [0, 300, 300, 300, 0, 0, 300]
    assert list(r.rdr_bits) == [0, 0, 100, 100, 100, 100, 100]
    assert r.total_produced_bits == 1000 and r.total_downlinked_bits == 500 and r.total_lost_bits == 100
    assert len(r.overflows) == 1
    e = r.overflows[0]
    assert (e.start, e.stop, e.volume_bits, e.to_rdr_bits, e.lost_bits, e.lost_from) == (30, 50, 200, 100, 100, 40)
    assert not r.zero_loss and r.conservation_residual_bits == 0.0
    assert list(r.downlinked_by_interval) == [500.0]


def reference_stepping(prod, dls, C, R, t0, t1, dt):
    """Independent fixed-step model: produce, then downlink what is there, then overflow."""
    n = int(round((t1 - t0) / dt))
    tm = t0 + (np.arange(n) + 0.5) * dt
    p = sum(np.where((tm >= iv.start) & (tm < iv.stop), iv.rate_bps, 0.0) for iv in prod)
    d = sum(np.where((tm >= iv.start) & (tm < iv.stop), iv.rate_bps, 0.0) for iv in dls) if dls else np.zeros(n)
    S_, Q, down, lost, smax = 0.0, 0.0, 0.0, 0.0, 0.0
    for k in range(n):
        S_ += p[k] * dt
        x = min(d[k] * dt, S_)
        S_ -= x
        down += x
        o = max(S_ - C, 0.0)
        S_ -= o
        q = min(o, R - Q)
        Q += q
        lost += o - q
    return down, lost, Q, S_


@pytest.mark.parametrize("seed", range(12))
def test_random_bounds_conservation_and_stepping_reference(seed):
    rng = np.random.default_rng(seed)
    T = 2000.0
    prod = [D.RateInterval(float(a), float(a + rng.integers(50, 800)), float(rng.uniform(0, 10)))
            for a in rng.integers(0, 1500, 5)]
    dls = [D.DownlinkInterval(float(a), float(a + rng.integers(20, 300)), float(rng.uniform(0, 40)))
           for a in rng.integers(0, 1900, 4)]
    C, R = float(rng.uniform(200, 3000)), float(rng.choice([0.0, 500.0]))
    r = D.simulate_recorder(prod, dls, C, 0.0, T, rdr_capacity_bits=R)
    assert np.all(r.stored_bits >= 0) and np.all(r.stored_bits <= C)  # vertices of an exact polyline
    assert np.all(r.rdr_bits >= 0) and np.all(r.rdr_bits <= R)
    assert np.all(np.diff(r.t) >= 0)
    for cum in (r.produced_bits, r.downlinked_bits, r.lost_bits, r.rdr_bits):
        assert np.all(np.diff(cum) >= -1e-9)
    prod_total = sum(iv.rate_bps * (min(iv.stop, T) - iv.start) for iv in prod)
    assert r.total_produced_bits == pytest.approx(prod_total, rel=1e-12)
    assert abs(r.conservation_residual_bits) <= 1e-9 * max(prod_total, 1.0)
    assert sum(r.downlinked_by_interval) == pytest.approx(r.total_downlinked_bits, rel=1e-9, abs=1e-6)
    assert sum(e.lost_bits for e in r.overflows) == pytest.approx(r.total_lost_bits, abs=1e-6)
    # fixed-step reference (dt = 1/8 s, all interval ends on the grid, rates constant in a
    # step): with clamping, one step's net change is exact whether or not the recorder empties
    # or fills inside it, so the totals must agree to rounding (measured: 1.3e-9 bits)
    dt = 0.125
    down, lost, Q, S_ = reference_stepping(prod, dls, C, R, 0.0, T, dt)
    tol = 1e-6 * max(prod_total, 1.0)
    assert r.total_downlinked_bits == pytest.approx(down, abs=tol)
    assert r.total_lost_bits == pytest.approx(lost, abs=tol)
    assert float(r.rdr_bits[-1]) == pytest.approx(Q, abs=tol)
    assert float(r.stored_bits[-1]) == pytest.approx(S_, abs=tol)


def test_planner_zero_loss_and_a_budget_cut_that_loses_data():
    """A week at 20 kb/s of science, 16 Gbit recorder: the MILP bookings return everything;
    with far fewer hours the recorder (and the RDR) overflow and the loss is reported."""
    t0 = S.DAY_ORIGIN_S
    H = 3600.0
    cands = []
    for day in range(7):  # three stations a day, 8 h passes, staggered, 128 kb/s link
        for k, (st, ag) in enumerate([("DSS-55", "NASA"), ("MLG", "ESA"), ("MSS", "JAXA")]):
            a = t0 + day * 86400.0 + k * 8 * H
            cands.append((Pass(st, ag, a, a + 8 * H, 50.0, a + 4 * H), 128_000.0))
    rules = {"NASA": S.BookingRules(max_hours_per_day=4.0, setup_s=1800, teardown_s=900),
             "ESA": S.BookingRules(max_hours_per_week=8.0, setup_s=1800, teardown_s=900),
             "JAXA": S.BookingRules(max_hours_per_day=2.0, min_pass_s=H)}
    phases = [D.Phase("cruise-to-QSO", t0, t0 + 3 * 86400.0), D.Phase("QSO-observation", t0 + 3 * 86400.0, t0 + 7 * 86400.0)]
    rates = {"TENGOO": {"QSO-observation": 12_000.0}, "MacrOmega": {"QSO-observation": 6_000.0},
             "housekeeping": {"cruise-to-QSO": 2_000.0, "QSO-observation": 2_000.0}}
    prod = D.production_intervals(phases, rates)
    sched = S.optimal_schedule(cands, rules, segment_s=H)
    res = D.simulate_recorder(prod, D.downlink_intervals(sched, cands), 16e9, t0, t0 + 7 * 86400.0)
    assert res.zero_loss and res.overflows == []
    assert res.total_produced_bits == pytest.approx(3 * 86400 * 2000 + 4 * 86400 * 20000, rel=1e-12)
    cut = {**rules, "NASA": S.BookingRules(max_hours_per_day=1.0, setup_s=1800, teardown_s=900),
           "ESA": S.BookingRules(max_hours_per_week=2.0, setup_s=1800, teardown_s=900),
           "JAXA": S.BookingRules(max_hours_per_day=1.0, min_pass_s=H)}
    sched2 = S.optimal_schedule(cands, cut, segment_s=H)
    res2 = D.simulate_recorder(prod, D.downlink_intervals(sched2, cands), 1e9, t0, t0 + 7 * 86400.0,
                               rdr_capacity_bits=0.5e9)
    # whatever cannot leave through the booked capacity, the recorder or the RDR is lost
    floor = res2.total_produced_bits - sched2.volume_bits - 1e9 - 0.5e9
    assert floor > 0 and res2.total_lost_bits >= floor * (1 - 1e-12)
    assert not res2.zero_loss and res2.overflows
    e = res2.overflows[0]
    assert e.to_rdr_bits > 0 and e.lost_from is not None and e.lost_from >= e.start
    rows = D.agency_table(sched, res)
    assert {r["agency"] for r in rows} == {"NASA", "ESA", "JAXA"}
    assert sum(r["returned_bits"] for r in rows) == pytest.approx(res.total_downlinked_bits, rel=1e-9)
    for r in rows:
        assert r["returned_bits"] <= r["capacity_bits"] * (1 + 1e-12)
        assert r["hours"] == pytest.approx(sched.charged_hours[r["agency"]], rel=1e-12)
    assert "| NASA |" in D.agency_table_markdown(rows)
    fig = D.plot_backlog(res2)
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) >= 3


def test_bad_inputs():
    ph = [D.Phase("a", 0.0, 10.0)]
    with pytest.raises(InputError, match="rates"):
        D.production_intervals(ph, {"cam": {"a": -1.0}})
    with pytest.raises(InputError, match="phase name"):
        D.production_intervals(ph, {"cam": {"b": 1.0}})
    with pytest.raises(InputError, match="rate_bps"):
        D.RateInterval(0, 1, -5.0)
    with pytest.raises(InputError, match="stop"):
        D.Phase("x", 5.0, 1.0)
    with pytest.raises(InputError, match="capacity_bits"):
        D.simulate_recorder([], [], 0.0, 0.0, 1.0)
    with pytest.raises(InputError, match="initial_bits"):
        D.simulate_recorder([], [], 10.0, 0.0, 1.0, initial_bits=20.0)
    with pytest.raises(InputError, match="t_stop"):
        D.simulate_recorder([], [], 10.0, 1.0, 1.0)


def test_link_to_schedule_to_recorder_with_rate_series():
    """End to end with PassRates: with a recorder that never empties, the volume downlinked
    equals the booked capacity the scheduler counted (two independent integrations of the
    same step-rate series: PassRates.volume_between vs the recorder's pieces)."""
    from mmxsim.bodies import AU_KM
    from mmxsim.comms import link as L

    H = 3600.0
    sc = L.mmx_telecom_assumed()
    items = []
    for k, st in enumerate(["DSS-55", "MSS"]):
        term = L.ground_terminal(st)
        a = S.DAY_ORIGIN_S + k * 5 * H
        t = np.arange(a, a + 8 * H, 120.0)
        el = 10.0 + 60.0 * np.sin(np.pi * (t - a) / (8 * H))
        p = Pass(st, "NASA" if st == "DSS-55" else "JAXA", a, a + 8 * H, 70.0, a + 4 * H)
        items.append(L.pass_rates(p, t, np.full(t.size, 1.5 * AU_KM), np.maximum(el, 10.0), sc, "X", term))
    rules = {"NASA": S.BookingRules(max_hours_per_day=5.0, setup_s=1800.0), "JAXA": S.BookingRules(min_pass_s=2 * H)}
    sched = S.optimal_schedule(items, rules)
    assert S.check_schedule(sched.segments, sched.selected, rules) == []
    dls = D.downlink_intervals(sched, items)
    assert all(iv.rate_bps > 0 for iv in dls)
    res = D.simulate_recorder([], dls, 1e12, S.DAY_ORIGIN_S, S.DAY_ORIGIN_S + 86400.0, initial_bits=1e12)
    assert res.total_downlinked_bits == pytest.approx(sched.volume_bits, rel=1e-9)
    assert float(res.stored_bits[-1]) == pytest.approx(1e12 - sched.volume_bits, rel=1e-12)
