"""The track formulation of the booking problem (mmxsim.comms.schedule.track_schedule): its optimum is
the brute-force one (blocked windows, set-up/tear-down gaps, day and week budgets, several tracks in a
pass), and the LP-guided search is never below the greedy baseline nor above its LP bound."""

import re

import numpy as np
import pytest

from mmxsim.comms import schedule as S
from mmxsim.comms.types import Pass
from mmxsim.errors import InputError

from .test_schedule import H, random_case, small_cases


@pytest.mark.parametrize("case", small_cases(), ids=lambda c: f"seed{c[0]}")
def test_exact_track_milp_equals_brute_force(case):
    _, segs, rules, bl = case
    t = S.track_schedule(segs, rules, bl, exact=True, node_limit=None)
    b = S.brute_force_schedule(segs, rules, bl)
    assert S.check_schedule(segs, t.selected, rules, bl) == []
    assert t.volume_bits == pytest.approx(b.volume_bits, rel=1e-9)
    assert t.status in ("optimal", "greedy")


@pytest.mark.parametrize("seed", range(12))
def test_exact_track_milp_equals_brute_force_on_more_random_cases(seed):
    """Random cases of 8-14 segments, two blocked windows (one across a set-up), week budgets."""
    rng = np.random.default_rng(1000 + seed)
    k = seed
    while True:
        cands, rules = random_case(5000 + k, int(rng.integers(3, 6)), 10.0)
        segs = S.segment_passes(cands, 1800.0)
        k += 97
        if 8 <= len(segs) <= 14:
            break
    bl = [S.BlockedWindow(segs[-1].station, segs[-1].start - 600.0, segs[-1].start + 300.0, "x"),
          S.BlockedWindow(segs[1].station, segs[1].stop + 100.0, segs[1].stop + 400.0, "y")]
    t = S.track_schedule(segs, rules, bl, exact=True, node_limit=None)
    b = S.brute_force_schedule(segs, rules, bl)
    m = S.optimal_schedule(segs, rules, bl, node_limit=None)
    assert S.check_schedule(segs, t.selected, rules, bl) == []
    assert t.volume_bits == pytest.approx(b.volume_bits, rel=1e-9)
    assert m.volume_bits == pytest.approx(b.volume_bits, rel=1e-9)


def test_exact_track_milp_splits_a_pass_with_the_gap():
    """The hand case of test_schedule: the slow pass is split around a fast one, 2 h apart."""
    t0 = S.DAY_ORIGIN_S
    slow = Pass("DSS-55", "NASA", t0, t0 + 6 * H, 60.0, t0 + 3 * H)
    fast = Pass("MLG", "ESA", t0 + 2 * H, t0 + 3 * H, 60.0, t0 + 2.5 * H)
    rules = {"NASA": S.BookingRules(setup_s=H, teardown_s=H), "ESA": S.BookingRules()}
    segs = S.segment_passes([(slow, 1000.0), (fast, 5000.0)], H)
    for t in (S.track_schedule(segs, rules, exact=True, node_limit=None), S.track_schedule(segs, rules)):
        assert t.volume_bits == pytest.approx(H * (5000 + 4 * 1000), rel=1e-12)
        a, b = sorted((x for x in t.bookings if x.station == "DSS-55"), key=lambda x: x.start)
        assert b.start - a.stop == pytest.approx(2 * H)
    assert t.status == "heuristic" or t.status == "optimal"


@pytest.mark.parametrize("seed", range(3))
def test_lp_guided_search_between_greedy_and_bound(seed):
    """12 passes over 5 days (~90 segments): the LP-guided answer keeps the rules, is at least the
    greedy baseline, at most the LP bound it reports, and at most the exact optimum."""
    cands, rules = random_case(200 + seed, 12, 5 * 24.0, dur_h=(1.0, 6.0))
    segs = S.segment_passes(cands, 1800.0)
    g = S.greedy_schedule(segs, rules)
    t = S.track_schedule(segs, rules, greedy=g)
    assert S.check_schedule(segs, t.selected, rules) == []
    assert t.volume_bits >= g.volume_bits * (1 - 1e-12)
    if t.status != "greedy":
        bound = float(re.search(r"LP bound ([0-9.e+]+) bits", t.notes[0]).group(1))
        assert t.volume_bits <= bound * (1 + 1e-5)
    ex = S.track_schedule(segs, rules, exact=True, node_limit=None)
    assert ex.status == "optimal"
    assert t.volume_bits <= ex.volume_bits * (1 + 1e-9)
    if t.status == "optimal":
        assert t.volume_bits == pytest.approx(ex.volume_bits, rel=1e-6)
    # deterministic
    t2 = S.track_schedule(segs, rules, greedy=g)
    assert (t2.selected == t.selected).all()


def test_track_schedule_inputs():
    cands, rules = random_case(3, 3, 6.0)
    with pytest.raises(InputError):
        S.track_schedule(cands, rules, rc_window=-1.0)
    with pytest.raises(InputError):
        S.track_schedule(cands, rules, node_limit=0)
    with pytest.raises(InputError):
        S.track_schedule(cands, rules, time_limit_s=0.0)
    # nothing bookable: every pass shorter than the minimum track
    short = [(Pass("MLG", "ESA", S.DAY_ORIGIN_S, S.DAY_ORIGIN_S + 600.0, 45.0, S.DAY_ORIGIN_S + 300.0), 1e4)]
    t = S.track_schedule(short, {"ESA": S.BookingRules(min_pass_s=H)})
    assert t.volume_bits == 0 and not t.selected.any() and t.status == "optimal"
