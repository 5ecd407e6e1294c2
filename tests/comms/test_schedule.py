"""Contact scheduling (mmxsim.comms.schedule): MILP vs greedy vs brute force, rules, errors."""

import itertools

import numpy as np
import pytest

from mmxsim.comms import schedule as S
from mmxsim.comms.types import Pass
from mmxsim.errors import InputError

H = 3600.0
STATIONS = [("DSS-55", "NASA"), ("MLG", "ESA"), ("MSS", "JAXA")]


def random_case(seed, npass, span_h, dur_h=(0.5, 3.0)):
    rng = np.random.default_rng(seed)
    cands = []
    for _ in range(npass):
        st, ag = STATIONS[rng.integers(3)]
        a = S.DAY_ORIGIN_S + rng.uniform(0, span_h * H)
        d = rng.uniform(*dur_h) * H
        cands.append((Pass(st, ag, a, a + d, 45.0, a + d / 2), float(rng.uniform(1e3, 1e5))))
    rules = {
        "NASA": S.BookingRules(max_hours_per_day=float(rng.uniform(1, 5)), min_pass_s=float(rng.uniform(0, 1.5 * H)),
                               setup_s=1800.0, teardown_s=900.0),
        "ESA": S.BookingRules(max_hours_per_day=float(rng.uniform(1, 5)), max_hours_per_week=float(rng.uniform(3, 10)),
                              min_pass_s=float(rng.uniform(0, H)), setup_s=600.0, teardown_s=600.0),
        "JAXA": S.BookingRules(max_hours_per_week=float(rng.uniform(2, 12)), min_pass_s=H),
    }
    return cands, rules


def small_cases():
    """Seeded cases with at most 12 segments (some stations' passes overlap in time)."""
    out, seed = [], 0
    while len(out) < 8:
        cands, rules = random_case(seed, 4, 8.0)
        segs = S.segment_passes(cands, 1800.0)
        seed += 1
        if 6 <= len(segs) <= 12:
            bl = [S.BlockedWindow(segs[0].station, segs[0].start + 900.0, segs[0].start + 2000.0, "other mission")]
            out.append((seed - 1, segs, rules, bl))
    return out


@pytest.mark.parametrize("case", small_cases(), ids=lambda c: f"seed{c[0]}")
def test_milp_equals_brute_force_and_beats_greedy(case):
    _, segs, rules, bl = case
    m = S.optimal_schedule(segs, rules, bl)
    g = S.greedy_schedule(segs, rules, bl)
    b = S.brute_force_schedule(segs, rules, bl)
    assert m.status == "optimal"
    assert S.check_schedule(segs, m.selected, rules, bl) == []
    assert S.check_schedule(segs, g.selected, rules, bl) == []
    assert m.volume_bits == pytest.approx(b.volume_bits, rel=1e-9)
    assert m.volume_bits >= g.volume_bits * (1 - 1e-12)


def test_two_tracks_in_one_pass_keep_the_setup_and_teardown_gap():
    """A faster pass of another station takes hour 2-3 of a 6 h pass. The slow station may split
    its pass into two tracks only with its tear-down + set-up (2 h) between them: the optimum
    books hours 0-2 and 4-6 of it plus the fast pass (not hours 0-2 and 3-6, 1 h apart). A MILP
    once allowed that: the gap rule was applied between passes only."""
    t0 = S.DAY_ORIGIN_S
    slow = Pass("DSS-55", "NASA", t0, t0 + 6 * H, 60.0, t0 + 3 * H)
    fast = Pass("MLG", "ESA", t0 + 2 * H, t0 + 3 * H, 60.0, t0 + 2.5 * H)
    rules = {"NASA": S.BookingRules(setup_s=H, teardown_s=H), "ESA": S.BookingRules()}
    segs = S.segment_passes([(slow, 1000.0), (fast, 5000.0)], H)
    m, bf = S.optimal_schedule(segs, rules), S.brute_force_schedule(segs, rules)
    assert S.check_schedule(segs, m.selected, rules) == []
    assert m.volume_bits == pytest.approx(bf.volume_bits, rel=1e-12)
    assert m.volume_bits == pytest.approx(H * (5000 + 4 * 1000), rel=1e-12)
    a, b = sorted((x for x in m.bookings if x.station == "DSS-55"), key=lambda x: x.start)
    assert b.start - a.stop == pytest.approx(2 * H)


def test_greedy_is_strictly_beaten_on_a_hand_case():
    """So that 'MILP >= greedy' is not vacuous: a fast 1 h pass cuts a slower 4 h pass in two.

    Greedy books the fast pass first, then only one side of the slow one (one track per
    pass); the optimum books both sides: 3600 (2000 + 3 * 1500) bits vs 3600 (2000 + 1.5 * 1500).
    """
    t0 = S.DAY_ORIGIN_S
    a = Pass("DSS-55", "NASA", t0 + 1.5 * H, t0 + 2.5 * H, 60.0, t0 + 2 * H)
    b = Pass("MLG", "ESA", t0, t0 + 4 * H, 60.0, t0 + 2 * H)
    rules = {"*": S.BookingRules()}
    segs = S.segment_passes([(a, 2000.0), (b, 1500.0)], 1800.0)
    m, g, bf = (f(segs, rules) for f in (S.optimal_schedule, S.greedy_schedule, S.brute_force_schedule))
    assert m.volume_bits == pytest.approx(H * (2000 + 3 * 1500), rel=1e-12)
    assert bf.volume_bits == pytest.approx(m.volume_bits, rel=1e-12)
    assert g.volume_bits == pytest.approx(H * (2000 + 1.5 * 1500), rel=1e-12)


def _check_large_case(cands, rules, time_limit_s=20.0):
    segs = S.segment_passes(cands, 1800.0)
    m = S.optimal_schedule(segs, rules, time_limit_s=time_limit_s)
    g = S.greedy_schedule(segs, rules)
    assert m.volume_bits >= g.volume_bits * (1 - 1e-12)
    assert S.check_schedule(segs, m.selected, rules) == []
    _independent_rule_checks(segs, m, rules)


@pytest.mark.parametrize("seed", range(3))
def test_random_cases_rules_hold_and_milp_beats_greedy(seed):
    """12 passes over 5 days (~90 segments)."""
    _check_large_case(*random_case(200 + seed, 12, 5 * 24.0, dur_h=(1.0, 6.0)))


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
def test_larger_random_cases_slow(seed):
    """24 passes over 9 days (~200-250 segments; a few s each for HiGHS)."""
    _check_large_case(*random_case(100 + seed, 24, 9 * 24.0, dur_h=(1.0, 8.0)))


def _independent_rule_checks(segs, m, rules):
    # independent re-count of the budgets and overlaps from the bookings themselves
    day = lambda t: int(np.floor((t - S.DAY_ORIGIN_S) / 86400.0))  # noqa: E731
    per_day, per_week = {}, {}
    for b in m.bookings:
        r = rules[b.agency]
        for i in b.segments:
            s = segs[i]
            per_day[(b.agency, day(s.start))] = per_day.get((b.agency, day(s.start)), 0.0) + s.duration_s
            per_week[(b.agency, day(s.start) // 7)] = per_week.get((b.agency, day(s.start) // 7), 0.0) + s.duration_s
        per_day[(b.agency, day(b.start))] = per_day.get((b.agency, day(b.start)), 0.0) + r.overhead_s
        per_week[(b.agency, day(b.start) // 7)] = per_week.get((b.agency, day(b.start) // 7), 0.0) + r.overhead_s
        assert b.stop - b.start >= r.min_pass_s - 1e-6
    for (ag, _), sec in per_day.items():
        if rules[ag].max_hours_per_day is not None:
            assert sec <= rules[ag].max_hours_per_day * H + 1e-6
    for (ag, _), sec in per_week.items():
        if rules[ag].max_hours_per_week is not None:
            assert sec <= rules[ag].max_hours_per_week * H + 1e-6
    iv = sorted((segs[i].start, segs[i].stop) for i in np.flatnonzero(m.selected))
    assert all(a[1] <= b[0] + 1e-6 for a, b in zip(iv, iv[1:]))  # one downlink at a time
    for st, _ in STATIONS:
        occ = sorted((b.setup_start, b.teardown_stop) for b in m.bookings if b.station == st)
        assert all(a[1] <= b[0] + 1e-6 for a, b in zip(occ, occ[1:]))


def test_blocked_window_with_setup_hand_case():
    """4 h pass, 1 h segments, window [1.5 h, 2 h] blocked, 30 min set-up: book hours 0 and 3 only."""
    t0 = S.DAY_ORIGIN_S
    p = Pass("DSS-55", "NASA", t0, t0 + 4 * H, 60.0, t0 + 2 * H)
    rules = {"NASA": S.BookingRules(setup_s=1800.0)}
    bl = [S.BlockedWindow("DSS-55", t0 + 1.5 * H, t0 + 2 * H)]
    m = S.optimal_schedule([(p, 1000.0)], rules, bl, segment_s=H)
    assert list(m.selected) == [True, False, False, True]
    assert m.volume_bits == pytest.approx(2 * H * 1000.0)
    assert m.charged_hours["NASA"] == pytest.approx(3.0)  # 2 h of tracks + 2 set-ups


def test_single_downlink_and_daily_budget():
    t0 = S.DAY_ORIGIN_S
    a = Pass("DSS-55", "NASA", t0, t0 + 6 * H, 60.0, t0 + 3 * H)
    b = Pass("MLG", "ESA", t0 + 2 * H, t0 + 8 * H, 60.0, t0 + 5 * H)
    rules = {"NASA": S.BookingRules(), "ESA": S.BookingRules(max_hours_per_day=3.0)}
    m = S.optimal_schedule([(a, 1000.0), (b, 2000.0)], rules, segment_s=H)
    # ESA (faster) gets its 3 h budget, NASA fills the rest without overlapping: 6 h of NASA-free
    # time outside ESA's 3 h within [0, 6 h] -> NASA books 3 h (the spacecraft has 8 h of passes)
    assert m.charged_hours["ESA"] == pytest.approx(3.0)
    assert m.volume_bits == pytest.approx(3 * H * 2000.0 + 5 * H * 1000.0)


def test_min_hours_mode_matches_enumeration():
    t0 = S.DAY_ORIGIN_S
    cands = [(Pass("DSS-55", "NASA", t0, t0 + 3 * H, 60.0, t0), 1000.0),
             (Pass("MLG", "ESA", t0 + 4 * H, t0 + 7 * H, 60.0, t0), 3000.0),
             (Pass("MSS", "JAXA", t0 + 8 * H, t0 + 10 * H, 60.0, t0), 2000.0)]
    rules = {"NASA": S.BookingRules(setup_s=900.0), "ESA": S.BookingRules(setup_s=3600.0, min_pass_s=2 * H),
             "JAXA": S.BookingRules()}
    segs = S.segment_passes(cands, H)
    need = 0.6 * S.optimal_schedule(segs, rules).volume_bits
    m = S.optimal_schedule(segs, rules, required_bits=need)
    best = np.inf
    for bits in itertools.product([False, True], repeat=len(segs)):
        sel = np.array(bits)
        if sum(s.volume_bits for s, on in zip(segs, bits) if on) >= need and not S.check_schedule(segs, sel, rules):
            best = min(best, sum(bk.charged_s for bk in S.tracks_of(segs, sel, rules)) / H)
    assert m.volume_bits >= need
    assert m.total_charged_hours == pytest.approx(best, abs=1e-9)
    assert S.optimal_schedule(segs, rules, required_bits=1e12).status == "infeasible"


def test_bad_inputs():
    t0 = S.DAY_ORIGIN_S
    p = Pass("DSS-55", "NASA", t0, t0 + 2 * H, 60.0, t0)
    with pytest.raises(InputError, match="rules"):
        S.optimal_schedule([(p, 1.0)], {"ESA": S.BookingRules()})
    with pytest.raises(InputError, match="BlockedWindow.station"):
        S.optimal_schedule([(p, 1.0)], {"*": S.BookingRules()}, [S.BlockedWindow("DSS-99", t0, t0 + 1)])
    with pytest.raises(InputError, match="max_hours_per_day"):
        S.BookingRules(max_hours_per_day=-1.0)
    with pytest.raises(InputError, match="setup_s"):
        S.BookingRules(setup_s=-5.0)
    with pytest.raises(InputError, match="stop"):
        S.BlockedWindow("DSS-55", t0 + 10, t0)
    with pytest.raises(InputError, match="segment_s"):
        S.segment_passes([(p, 1.0)], 10.0)
    with pytest.raises(InputError, match="rate_bps"):
        S.segment_passes([(p, -1.0)])
    with pytest.raises(InputError, match="candidates"):
        S.brute_force_schedule([(Pass("A", "NASA", t0, t0 + 20 * H, 1, t0), 1.0)],  # 120 segments
                               {"*": S.BookingRules()}, segment_s=600.0)


def _greedy_by_full_checks(segs, rules, blocked):
    """The greedy rule spelt out with the independent checker at every step (slow reference)."""
    by_pass = {}
    for s in segs:
        by_pass.setdefault(s.pass_index, []).append(s)
    units = []
    for pi, ps in by_pass.items():
        ps.sort(key=lambda s: s.k)
        r = S._rules_for(rules, ps[0].agency)
        for i in range(len(ps)):
            vol = dur = 0.0
            for j in range(i, len(ps)):
                vol += ps[j].volume_bits
                dur += ps[j].duration_s
                if dur < r.min_pass_s - 1e-6 or vol <= 0:
                    continue
                units.append((vol / ((dur + r.overhead_s) / 3600.0), vol, pi, [s.index for s in ps[i:j + 1]]))
    units.sort(key=lambda u: (-u[0], -u[1], u[2], u[3][0]))
    sel, used = np.zeros(len(segs), bool), set()
    for _, _, pi, idx in units:
        if pi in used:
            continue
        sel[idx] = True
        if S.check_schedule(segs, sel, rules, blocked):
            sel[idx] = False
        else:
            used.add(pi)
    return sel


@pytest.mark.parametrize("seed", range(6))
def test_greedy_ledger_equals_full_checks(seed):
    """The greedy's incremental feasibility ledger takes exactly the decisions that re-checking
    the whole selection with check_schedule takes (random 40-pass cases with blocked windows)."""
    cands, rules = random_case(100 + seed, 40, 24 * 5.0)
    segs = S.segment_passes(cands, 1800.0)
    rng = np.random.default_rng(seed)
    bl = [S.BlockedWindow(s.station, s.start + 600.0, s.start + 4000.0, "x")
          for s in rng.choice(segs, size=4, replace=False)]
    g = S.greedy_schedule(segs, rules, bl)
    np.testing.assert_array_equal(g.selected, _greedy_by_full_checks(segs, rules, bl))
    assert g.selected.sum() > 0


def test_node_limited_milp_is_reproducible_and_says_how_it_stopped(tmp_path, monkeypatch):
    """The MILP's work limit is a node count, not a time: the same case twice gives the same
    bookings, and a plan stopped early says so with its gap (issue 15: results must not depend on
    machine load). Each solve with an empty cache folder (nothing of the MILP is kept there)."""
    cands, rules = random_case(201, 12, 5 * 24.0, dur_h=(1.0, 6.0))
    segs = S.segment_passes(cands, 1800.0)
    monkeypatch.setenv("MMXSIM_CACHE_DIR", str(tmp_path / "a"))
    a = S.optimal_schedule(segs, rules, node_limit=1)
    monkeypatch.setenv("MMXSIM_CACHE_DIR", str(tmp_path / "b"))
    b = S.optimal_schedule(segs, rules, node_limit=1)
    assert not list((tmp_path / "b").glob("comms-*"))  # the answer is solved, never kept
    assert np.array_equal(a.selected, b.selected) and a.status == b.status
    assert a.status in ("optimal", "node_limit", "greedy")
    if a.status == "node_limit":
        assert "best found in 1 branch-and-bound nodes" in a.notes[0] and "gap" in a.notes[0]
    full = S.optimal_schedule(segs, rules, node_limit=None)
    assert full.status in ("optimal", "greedy") and full.volume_bits >= a.volume_bits * (1 - 1e-12)
    for bad in (0, -3, 2.5, "ten"):
        with pytest.raises(InputError, match="node_limit"):
            S.optimal_schedule(segs, rules, node_limit=bad)


def test_budget_days_are_utc_dates_from_the_leap_second_table():
    """Issue 15: days were counted with a fixed TT - UTC of 69.184 s. Checked against astropy's own
    UTC calendar dates (independent of mmxsim.time.utc_day's ERFA path): both sides of the
    2016-12-31 leap second, an exact midnight, and dates before 2017 (TT - UTC = 64.184 s in 2000)."""
    import datetime

    from astropy.time import Time

    from mmxsim.time import tdb_seconds, utc_day

    for iso in ("2000-01-01T00:00:00", "1999-12-31T23:59:59.999", "2003-06-30T23:59:58",
                "2016-12-31T23:59:59.5", "2016-12-31T23:59:60.5", "2017-01-01T00:00:00",
                "2027-08-31T23:59:59.999", "2027-09-01T00:00:00", "2031-05-01T12:00:00"):
        t = tdb_seconds(iso, "utc")
        ymd = Time(iso, scale="utc").ymdhms  # the UTC calendar date (astropy, not ERFA called by us)
        y, m, d = int(ymd["year"]), int(ymd["month"]), int(ymd["day"])
        expect = (datetime.date(y, m, d) - datetime.date(2000, 1, 1)).days
        assert utc_day(t) == expect == S._day(t), iso
    assert S.DAY_ORIGIN_S == pytest.approx(tdb_seconds("2000-01-01T00:00:00", "utc"), abs=1e-3)


def test_week_of_a_track_on_the_last_day_of_a_week():
    """Weeks are 7-day blocks of UTC days from 2000-01-01 (day 6 = 2000-01-07 ends week 0): a track
    on day 6 charges its set-up/tear-down and its segments to week 0, a track on day 7 to week 1.
    Weekly allowance 3 h, overhead 1/3 h: 2 h + 1/3 h in week 0 and 2.5 h + 1/3 h in week 1 are both
    feasible; every week's charge is the sum of its days' charges (conservation)."""
    D = 86400.0
    a = S.DAY_ORIGIN_S + 6 * D + 10 * H
    b = S.DAY_ORIGIN_S + 7 * D + 10 * H
    cands = [(Pass("MLG", "ESA", a, a + 2 * H, 45.0, a + H), 1e4),
             (Pass("MLG", "ESA", b, b + 2.5 * H, 45.0, b + H), 1e4)]
    rules = {"ESA": S.BookingRules(max_hours_per_week=3.0, setup_s=600.0, teardown_s=600.0)}
    segs = S.segment_passes(cands, 1800.0)
    sel = np.ones(len(segs), bool)
    assert S.check_schedule(segs, sel, rules) == []
    acc = S._charged_by_agency(segs, S.tracks_of(segs, sel, rules), rules)["ESA"]
    assert acc[("w", 0)] == pytest.approx(2 * H + 1200.0) and acc[("w", 1)] == pytest.approx(2.5 * H + 1200.0)
    for w in (0, 1):
        assert acc[("w", w)] == pytest.approx(sum(v for (k, i), v in acc.items() if k == "d" and i // 7 == w))
    m = S.optimal_schedule(segs, rules)
    assert m.selected.all() if hasattr(m.selected, "all") else all(m.selected)


# --- block decomposition (issue 19 item 3) ---------------------------------------------------
def _shift(p, dt):
    return Pass(p.station, p.agency, p.start + dt, p.stop + dt, p.max_elevation_deg, p.t_max_elevation + dt)


def separable_case(seed, groups=3, npass=2):
    """Passes in ``groups`` groups a week apart (other days, weeks and no overlap: independent
    blocks), at most 16 segments; the rules of the first group's random case for all."""
    rules = None
    for _ in range(50):
        cands = []
        for g in range(groups):
            cg, rg = random_case(seed * 10 + g, npass, 8.0, dur_h=(0.5, 2.0))
            rules = rules or rg
            cands += [(_shift(p, g * 7 * 86400.0), r) for p, r in cg]
        segs = S.segment_passes(cands, 1800.0)
        if len(segs) <= 16:
            return segs, rules
        seed += 1000
    raise AssertionError("no separable case of <= 16 segments")


def _monolithic(segs, rules, bl=()):
    """The whole MILP in one HiGHS call, solved to optimality (the reference for the blocks)."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    rows, cols, vals, lo, hi, m, ub = S._build_milp(segs, rules, bl)
    n = len(segs)
    c = np.zeros(3 * n)
    c[:n] = -np.array([s.volume_bits for s in segs])
    A = coo_matrix((vals, (rows, cols)), shape=(m, 3 * n)).tocsr()
    res = milp(c, integrality=np.ones(3 * n), bounds=Bounds(np.zeros(3 * n), ub),
               constraints=LinearConstraint(A, lo, hi), options={"mip_rel_gap": 1e-9})
    assert res.status == 0
    return -res.fun, A


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_blocks_solved_alone_give_the_monolithic_optimum_and_brute_force(seed):
    segs, rules = separable_case(seed)
    bl = [S.BlockedWindow(segs[0].station, segs[0].start + 900.0, segs[0].start + 2000.0, "other mission")]
    best, A = _monolithic(segs, rules, bl)
    blocks = S.milp_blocks(A)
    assert len(blocks) >= 3  # the groups are independent (and a block never spans two groups)
    seg_groups = [{round((segs[j % len(segs)].start - S.DAY_ORIGIN_S) // (7 * 86400.0)) for j in cols}
                  for cols, _ in blocks]
    assert all(len(g) == 1 for g in seg_groups)
    # every column and every row in exactly one block
    assert sorted(np.concatenate([c for c, _ in blocks]).tolist()) == list(range(A.shape[1]))
    assert sorted(np.concatenate([r for _, r in blocks]).tolist()) == list(range(A.shape[0]))
    m = S.optimal_schedule(segs, rules, bl, node_limit=None)
    b = S.brute_force_schedule(segs, rules, bl)
    assert m.status == "optimal" and S.check_schedule(segs, m.selected, rules, bl) == []
    assert m.volume_bits == pytest.approx(best, rel=1e-9)
    assert m.volume_bits == pytest.approx(b.volume_bits, rel=1e-9)
    assert "independent blocks" in m.notes[0] and "solved to optimality" in m.notes[0]


def test_milp_blocks_of_a_hand_matrix():
    from scipy.sparse import csr_matrix

    # columns 0-2 linked by rows 0 and 2, column 3 alone in row 1, column 4 in no row, row 3 empty
    A = csr_matrix(np.array([[1, 1, 0, 0, 0], [0, 0, 0, 2, 0], [0, 1, 1, 0, 0], [0, 0, 0, 0, 0]], float))
    got = [(c.tolist(), r.tolist()) for c, r in S.milp_blocks(A)]
    assert got == [([0, 1, 2], [0, 2]), ([3], [1]), ([4], [])]


def test_block_solve_is_deterministic_and_counts_node_limited_blocks():
    segs, rules = separable_case(7)
    a = S.optimal_schedule(segs, rules, node_limit=1)
    b = S.optimal_schedule(segs, rules, node_limit=1)
    assert np.array_equal(a.selected, b.selected) and (a.status, a.notes) == (b.status, b.notes)
    assert "independent blocks" in a.notes[0]
    assert a.status in ("optimal", "node_limit", "greedy") and not S.check_schedule(segs, a.selected, rules)
