"""Contact scheduling: which passes (or parts of passes) to book (layer 4).

Model
-----
Each candidate pass is cut into fixed segments (default 30 min; the last one of a pass
may be shorter).  A *track* (a booking) is a run of consecutive booked segments of one
pass.  Binary variables per segment ``s``: ``x_s`` (booked), ``y_s`` (a track starts at
``s``), ``z_s`` (a track ends at ``s``).  Constraints:

* ``y``/``z`` are exactly the start/end indicators of the runs of ``x``;
* minimum track length per agency (``min_pass_s``): a track starting at ``s`` books the
  following segments until the length is reached (no start where the pass is too short);
* set-up before and tear-down after each track occupy the antenna: they may not overlap
  a blocked window of that station (other missions' tracks, maintenance) nor another
  track at the same station (``z_a + y_b <= 1`` when the gap is too short);
* booked segments may not overlap a blocked window;
* the spacecraft downlinks to one station at a time (ASSUMPTION: one high-gain antenna,
  no multiple-spacecraft-per-aperture or arraying): at most one booked segment at any
  instant (clique constraints at every segment start);
* per-agency budgets: charged time (booked segments + set-up + tear-down of each track)
  per day and per 7-day week <= the agency's allowance.  A segment counts in the day
  (week) its start falls in; set-up and tear-down count in the day of the track start.
  Days are UTC dates (:func:`mmxsim.time.utc_day`, leap seconds from the shipped table), weeks are
  7-day blocks of those days counted from 2000-01-01.

Objective: maximise the returnable volume (sum of segment capacities), or with
``required_bits`` minimise charged hours subject to volume >= required.

Two formulations of the same rules:

* the *segment MILP* (:func:`optimal_schedule`: the x/y/z variables above), solved with HiGHS
  (``scipy.optimize.milp``) under a node limit (deterministic), block by block: the connected
  components of the variable-constraint graph (:func:`milp_blocks`) are independent MILPs whose
  optima add up to the whole one's, solved in a fixed order, the node limit applying to each block.
  (On the reference mission's plans the spacecraft's one-downlink-at-a-time cliques chain every
  segment to the next, so the plan is one block there: passes of several stations overlap at every
  instant. A ``required_bits`` volume row couples every segment with volume.) Its LP is weak (the
  y/z linking): on the reference 30-day plan (11 169 variables) HiGHS' root node alone takes ~43 s
  and its answer is below the greedy baseline's; on the 3-day quick plan it proves the optimum.
* the *track formulation* (:func:`track_schedule`): one binary per bookable track (a run of
  consecutive segments of a pass that could be booked alone), interval-clique rows for the
  spacecraft and each station's set-up/tear-down occupancy, one row per agency budget period
  (:func:`_track_model`). Its integer points are exactly the selections :func:`check_schedule`
  accepts. The reference 30-day plan has 41 103 tracks, too many for HiGHS to solve whole, so by
  default an LP-guided search: the LP bound and reduced costs, then HiGHS over the tracks of small
  reduced cost (and the greedy's) in a rolling horizon of 3-day windows. Measured on the reference
  plan (CPU s, shared machine): ~5.6 s, 67.93 Gbit, 5.3 % below the LP bound of 71.69 Gbit (greedy
  64.04 Gbit). A heuristic: the plan says ``'heuristic'`` with its gap unless it meets the bound.

The answer is computed by every call, never read back from disk. :func:`greedy_schedule` is the
baseline (contiguous runs ranked by volume per charged hour) and neither solver's answer is ever
returned worse than it. :func:`check_schedule` verifies any selection against the rules
independently of either formulation; :func:`brute_force_schedule` enumerates small cases.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

import numpy as np

from ..errors import InputError
from ..time import utc_day
from .link import PassRates
from .types import Pass

__all__ = [
    "DAY_ORIGIN_S", "BookingRules", "BlockedWindow", "Segment", "Booking", "Schedule",
    "segment_passes", "check_schedule", "optimal_schedule", "greedy_schedule",
    "brute_force_schedule", "tracks_of", "milp_blocks", "track_schedule",
]

#: TDB seconds past J2000 of 2000-01-01T00:00 UTC, a UTC midnight (J2000 is 2000-01-01 12:00 TT, and
#: TT - UTC was 32.184 s + 32 leap s = 64.184 s from 1999-01-01 to 2005-12-31, IERS Bulletin C;
#: TDB - TT there is -0.07 ms). A convenient origin for examples and tests; the days that budgets
#: count are UTC dates from the leap-second table (:func:`mmxsim.time.utc_day`), not this constant.
DAY_ORIGIN_S = -43200.0 + 64.184
DAY_S = 86400.0
WEEK_S = 7 * DAY_S


@dataclass(frozen=True)
class BookingRules:
    """One agency's booking rules (hours are charged antenna time)."""

    max_hours_per_day: float | None = None
    max_hours_per_week: float | None = None
    min_pass_s: float = 0.0
    setup_s: float = 0.0
    teardown_s: float = 0.0

    def __post_init__(self):
        for f in ("max_hours_per_day", "max_hours_per_week"):
            v = getattr(self, f)
            if v is not None and not (math.isfinite(v) and v >= 0):
                raise InputError(f, v, "None or a finite number of hours >= 0")
        if self.max_hours_per_day is not None and self.max_hours_per_day > 24:
            raise InputError("max_hours_per_day", self.max_hours_per_day, "0..24 h")
        if self.max_hours_per_week is not None and self.max_hours_per_week > 168:
            raise InputError("max_hours_per_week", self.max_hours_per_week, "0..168 h")
        for f in ("min_pass_s", "setup_s", "teardown_s"):
            v = getattr(self, f)
            if not (math.isfinite(v) and v >= 0):
                raise InputError(f, v, "a finite number of seconds >= 0")

    @property
    def overhead_s(self) -> float:
        return self.setup_s + self.teardown_s


@dataclass(frozen=True)
class BlockedWindow:
    """The antenna of ``station`` is not ours in [start, stop] (TDB s past J2000)."""

    station: str
    start: float
    stop: float
    reason: str = ""

    def __post_init__(self):
        if not (self.stop > self.start):
            raise InputError("BlockedWindow.stop", self.stop, f"> start ({self.start})")


@dataclass(frozen=True)
class Segment:
    index: int
    pass_index: int
    k: int  # position within its pass
    station: str
    agency: str
    start: float
    stop: float
    volume_bits: float

    @property
    def duration_s(self) -> float:
        return self.stop - self.start


@dataclass(frozen=True)
class Booking:
    """A track: consecutive booked segments of one pass, with its set-up and tear-down."""

    station: str
    agency: str
    pass_index: int
    start: float
    stop: float
    setup_start: float
    teardown_stop: float
    volume_bits: float
    segments: tuple[int, ...]

    @property
    def charged_s(self) -> float:
        return self.teardown_stop - self.setup_start


@dataclass
class Schedule:
    method: str
    status: str
    selected: np.ndarray
    bookings: list[Booking]
    volume_bits: float
    charged_hours: dict[str, float]
    segments: list[Segment] = field(repr=False)
    notes: list[str] = field(default_factory=list)

    @property
    def total_charged_hours(self) -> float:
        return float(sum(self.charged_hours.values()))


# --- inputs ------------------------------------------------------------------------------
def _item_pass_and_volume(item, i):
    if isinstance(item, PassRates):
        return item.pass_, item.volume_between
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], Pass):
        p, rate = item
        rate = float(rate)
        if not (math.isfinite(rate) and rate >= 0):
            raise InputError(f"candidates[{i}].rate_bps", rate, "a finite rate >= 0 b/s")
        return p, (lambda t0, t1, p=p, r=rate: r * max(0.0, min(t1, p.stop) - max(t0, p.start)))
    raise InputError(f"candidates[{i}]", type(item).__name__, "a PassRates or a (Pass, rate_bps) tuple")


def segment_passes(candidates: Sequence, segment_s: float = 1800.0) -> list[Segment]:
    """Cut candidate passes into segments of ``segment_s`` (the last one may be shorter).

    ``candidates``: :class:`~mmxsim.comms.link.PassRates` (volume integrated from its rate
    series) or ``(Pass, rate_bps)`` tuples (constant rate).
    """
    if not (math.isfinite(segment_s) and segment_s >= 60.0):
        raise InputError("segment_s", segment_s, ">= 60 s")
    segs: list[Segment] = []
    for i, item in enumerate(candidates):
        p, vol = _item_pass_and_volume(item, i)
        if not (p.stop > p.start):
            raise InputError(f"candidates[{i}].stop", p.stop, f"> start ({p.start})")
        n = max(1, int(math.ceil((p.stop - p.start) / segment_s - 1e-9)))
        for k in range(n):
            a = p.start + k * segment_s
            b = min(p.stop, a + segment_s)
            segs.append(Segment(len(segs), i, k, p.station, p.agency, a, b, float(vol(a, b))))
    return segs


def _rules_for(rules: Mapping[str, BookingRules], agency: str) -> BookingRules:
    if agency in rules:
        return rules[agency]
    if "*" in rules:
        return rules["*"]
    raise InputError("rules", agency, f"booking rules for every agency with passes (have {sorted(rules)}; '*' = default)")


def _check_blocked(blocked: Sequence[BlockedWindow], segs: list[Segment]):
    stations = {s.station for s in segs}
    for w in blocked:
        if not isinstance(w, BlockedWindow):
            raise InputError("blocked", w, "BlockedWindow items")
        if w.station not in stations:
            raise InputError("BlockedWindow.station", w.station, f"a station with candidate passes: {sorted(stations)}")


def _hits(blocked_by_station, station, a, b) -> bool:
    """True if the open interval (a, b) meets a blocked window of ``station``."""
    for w in blocked_by_station.get(station, ()):
        if a < w.stop and w.start < b:
            return True
    return False


# --- tracks and the independent checker ----------------------------------------------------
def tracks_of(segs: list[Segment], selected, rules: Mapping[str, BookingRules]) -> list[Booking]:
    """Group selected segments into tracks (runs of consecutive segments of one pass)."""
    sel = np.asarray(selected, dtype=bool)
    out: list[Booking] = []
    run: list[Segment] = []

    def flush():
        if run:
            r = _rules_for(rules, run[0].agency)
            out.append(Booking(run[0].station, run[0].agency, run[0].pass_index, run[0].start,
                               run[-1].stop, run[0].start - r.setup_s, run[-1].stop + r.teardown_s,
                               float(sum(s.volume_bits for s in run)), tuple(s.index for s in run)))
            run.clear()

    for s in segs:
        if sel[s.index]:
            if run and (run[-1].pass_index != s.pass_index or run[-1].k != s.k - 1):
                flush()
            run.append(s)
        else:
            flush()
    flush()
    return out


@functools.lru_cache(maxsize=1 << 16)
def _day(t: float) -> int:
    """UTC day of a segment or track start (:func:`mmxsim.time.utc_day`), memoised: the greedy
    ledger and the checker ask for the same few thousand segment starts ~10^5 times."""
    return utc_day(float(t))


def _charged_by_agency(segs, tracks, rules):
    """{agency: {('d'|'w', index): seconds}} with the attribution rules of the module doc."""
    acc: dict[str, dict[tuple, float]] = {}
    for b in tracks:
        r = _rules_for(rules, b.agency)
        d = acc.setdefault(b.agency, {})
        day0 = _day(b.start)
        for key in (("d", day0), ("w", day0 // 7)):
            d[key] = d.get(key, 0.0) + r.overhead_s
        for i in b.segments:
            s = segs[i]
            dd = _day(s.start)
            for key in (("d", dd), ("w", dd // 7)):
                d[key] = d.get(key, 0.0) + s.duration_s
    return acc


def check_schedule(segs: list[Segment], selected, rules: Mapping[str, BookingRules],
                   blocked: Sequence[BlockedWindow] = (), tol_s: float = 1e-6) -> list[str]:
    """All rule violations of a selection (empty list = feasible)."""
    sel = np.asarray(selected, dtype=bool)
    bl: dict[str, list[BlockedWindow]] = {}
    for w in blocked:
        bl.setdefault(w.station, []).append(w)
    bad: list[str] = []
    tracks = tracks_of(segs, sel, rules)
    for b in tracks:
        r = _rules_for(rules, b.agency)
        if b.stop - b.start < r.min_pass_s - tol_s:
            bad.append(f"track {b.station}@{b.start:.0f} shorter than {r.min_pass_s} s")
        if _hits(bl, b.station, b.setup_start + tol_s, b.teardown_stop - tol_s):
            bad.append(f"track {b.station}@{b.start:.0f} (with set-up/tear-down) meets a blocked window")
    by_station: dict[str, list[Booking]] = {}
    for b in tracks:
        by_station.setdefault(b.station, []).append(b)
    for st, bs in by_station.items():
        bs = sorted(bs, key=lambda b: b.setup_start)
        for a, c in zip(bs, bs[1:]):
            if a.teardown_stop > c.setup_start + tol_s:
                bad.append(f"station {st}: tracks @{a.start:.0f} and @{c.start:.0f} overlap with set-up/tear-down")
    on = sorted((segs[i] for i in np.flatnonzero(sel)), key=lambda s: s.start)
    for a, c in zip(on, on[1:]):
        if c.start < a.stop - tol_s:
            bad.append(f"spacecraft: segments {a.station}@{a.start:.0f} and {c.station}@{c.start:.0f} overlap")
    for ag, acc in _charged_by_agency(segs, tracks, rules).items():
        r = _rules_for(rules, ag)
        for (kind, idx), sec in acc.items():
            lim = r.max_hours_per_day if kind == "d" else r.max_hours_per_week
            if lim is not None and sec > lim * 3600.0 + tol_s:
                bad.append(f"{ag}: {sec / 3600:.3f} h charged in {'day' if kind == 'd' else 'week'} {idx} > {lim} h")
    return bad


def _result(method, status, segs, sel, rules, notes=()) -> Schedule:
    sel = np.asarray(sel, dtype=bool)
    tracks = tracks_of(segs, sel, rules)
    hours: dict[str, float] = {}
    for b in tracks:
        hours[b.agency] = hours.get(b.agency, 0.0) + b.charged_s / 3600.0
    vol = float(sum(segs[i].volume_bits for i in np.flatnonzero(sel)))
    return Schedule(method, status, sel, tracks, vol, hours, segs, list(notes))


# --- MILP ----------------------------------------------------------------------------------
def _build_milp(segs, rules, blocked):
    n = len(segs)
    bl: dict[str, list[BlockedWindow]] = {}
    for w in blocked:
        bl.setdefault(w.station, []).append(w)
    X, Y, Z = 0, n, 2 * n
    ub = np.ones(3 * n)
    rows, cols, vals, lo, hi = [], [], [], [], []
    r_i = 0

    def add(entries, lb, ubv):
        nonlocal r_i
        for c, v in entries:
            rows.append(r_i); cols.append(c); vals.append(v)
        lo.append(lb); hi.append(ubv)
        r_i += 1

    by_pass: dict[int, list[Segment]] = {}
    for s in segs:
        by_pass.setdefault(s.pass_index, []).append(s)
    for ps in by_pass.values():
        ps.sort(key=lambda s: s.k)
        r = _rules_for(rules, ps[0].agency)
        for j, s in enumerate(ps):
            i = s.index
            prv = ps[j - 1].index if j > 0 else None
            nxt = ps[j + 1].index if j + 1 < len(ps) else None
            # y = x AND NOT x_prev ; z = x AND NOT x_next
            add([(Y + i, 1.0), (X + i, -1.0)] + ([(X + prv, 1.0)] if prv is not None else []), 0.0, np.inf)
            add([(Y + i, 1.0), (X + i, -1.0)], -np.inf, 0.0)
            if prv is not None:
                add([(Y + i, 1.0), (X + prv, 1.0)], -np.inf, 1.0)
            add([(Z + i, 1.0), (X + i, -1.0)] + ([(X + nxt, 1.0)] if nxt is not None else []), 0.0, np.inf)
            add([(Z + i, 1.0), (X + i, -1.0)], -np.inf, 0.0)
            if nxt is not None:
                add([(Z + i, 1.0), (X + nxt, 1.0)], -np.inf, 1.0)
            # minimum track length
            if r.min_pass_s > 0:
                acc, K = 0.0, None
                for kk in range(j, len(ps)):
                    acc += ps[kk].duration_s
                    if acc >= r.min_pass_s - 1e-6:
                        K = kk - j + 1
                        break
                if K is None:
                    ub[Y + i] = 0.0
                else:
                    for kk in range(j + 1, j + K):
                        add([(X + ps[kk].index, 1.0), (Y + i, -1.0)], 0.0, np.inf)
            # blocked windows
            if _hits(bl, s.station, s.start, s.stop):
                ub[X + i] = 0.0
            if r.setup_s > 0 and _hits(bl, s.station, s.start - r.setup_s, s.start):
                ub[Y + i] = 0.0
            if r.teardown_s > 0 and _hits(bl, s.station, s.stop, s.stop + r.teardown_s):
                ub[Z + i] = 0.0
    # same station: end of one track vs start of the next (in another pass, or later in the same
    # pass when it is split into two tracks) needs tear-down + set-up in between
    by_station: dict[str, list[Segment]] = {}
    for s in segs:
        by_station.setdefault(s.station, []).append(s)
    for st, ss in by_station.items():
        gap = max(_rules_for(rules, s.agency).overhead_s for s in ss)
        ss = sorted(ss, key=lambda s: s.start)
        starts = np.array([s.start for s in ss])
        for a in ss:
            # b with b.start in [a.start, a.stop + gap): too close after a's end
            j_lo = int(np.searchsorted(starts, a.start, side="left"))
            j_hi = int(np.searchsorted(starts, a.stop + gap, side="left"))
            for b in ss[j_lo:j_hi]:
                if b.start < a.stop - 1e-9:
                    continue  # overlapping in time (spacecraft cliques)
                need = _rules_for(rules, a.agency).teardown_s + _rules_for(rules, b.agency).setup_s
                if a.stop + need <= b.start + 1e-9:
                    continue
                add([(Z + a.index, 1.0), (Y + b.index, 1.0)], -np.inf, 1.0)
    # spacecraft: one downlink at a time (cliques at segment starts)
    order = sorted(segs, key=lambda s: (s.start, s.index))
    seen = set()
    live: list[Segment] = []  # sweep: segments covering the current start instant
    for s in order:
        live = [q for q in live if q.stop > s.start + 1e-9]
        live.append(s)
        active = tuple(sorted(q.index for q in live))
        if len(active) > 1 and active not in seen:
            seen.add(active)
            add([(X + q, 1.0) for q in active], -np.inf, 1.0)
    # budgets
    by_agency: dict[str, list[Segment]] = {}
    for s in segs:
        by_agency.setdefault(s.agency, []).append(s)
    for ag, ss in by_agency.items():
        r = _rules_for(rules, ag)
        for lim, div in ((r.max_hours_per_day, 1), (r.max_hours_per_week, 7)):
            if lim is None:
                continue
            groups: dict[int, list[Segment]] = {}
            for s in ss:
                groups.setdefault(_day(s.start) // div, []).append(s)
            for g in groups.values():
                ent = [(X + s.index, s.duration_s / 3600.0) for s in g]
                if r.overhead_s > 0:
                    ent += [(Y + s.index, r.overhead_s / 3600.0) for s in g]
                add(ent, -np.inf, float(lim))
    return (np.array(rows, int), np.array(cols, int), np.array(vals, float),
            np.array(lo, float), np.array(hi, float), r_i, ub)


def _milp_status(res, node_limit, time_limit_s) -> tuple[str, str]:
    """('optimal' | 'node_limit' | 'time_limit' | 'stopped', a note for the reader) of a HiGHS result."""
    gap = getattr(res, "mip_gap", None)
    nodes = getattr(res, "mip_node_count", None)
    gap_txt = f", gap {100 * gap:.2f} %" if gap is not None and math.isfinite(gap) else ""
    if res.status == 0:
        return "optimal", f"HiGHS MILP: optimal ({nodes} nodes{gap_txt})"
    msg = str(res.message)
    if "Time limit" in msg:
        return "time_limit", (f"HiGHS MILP stopped by the wall-clock safety limit ({time_limit_s:g} s) after "
                              f"{nodes} nodes{gap_txt}: best found; a run under another load may book differently")
    if node_limit is not None and ("Solution limit" in msg or (nodes is not None and nodes >= node_limit)):
        return "node_limit", f"HiGHS MILP: best found in {node_limit} branch-and-bound nodes{gap_txt}"
    return "stopped", f"HiGHS MILP stopped: {msg}{gap_txt}"


def _solve_milp(c, integrality, ub, A, lo, hi, options, lb=None):
    """``scipy.optimize.milp`` of the model (bounds lb..ub, lb 0 by default). Solved by every call: the
    answer is never remembered between runs."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    return milp(c, integrality=integrality, bounds=Bounds(np.zeros(len(c)) if lb is None else lb, ub),
                constraints=LinearConstraint(A, lo, hi), options=options)


def milp_blocks(A) -> list[tuple[np.ndarray, np.ndarray]]:
    """The independent blocks of a constraint matrix: ``[(columns, rows), ...]``, the connected
    components of its variable-constraint graph (two variables are in one block when a chain of
    constraints with non-zero coefficients links them), each as sorted index arrays, ordered by
    their first column. A variable in no constraint is a block of its own (no rows). The optimum of
    a separable MILP is the sum of its blocks' optima, so each block may be solved alone."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    A = A.tocoo()
    m, nv = A.shape
    keep = A.data != 0
    r, cl = A.row[keep], A.col[keep]
    # graph on columns and rows (rows numbered after the columns)
    g = coo_matrix((np.ones(len(r)), (cl, nv + r)), shape=(nv + m, nv + m))
    _, lab = connected_components(g, directed=False)
    col_lab, row_lab = lab[:nv], lab[nv:]
    order: dict[int, int] = {}
    for L in col_lab:  # labels in order of their first column: a deterministic block order
        order.setdefault(int(L), len(order))
    cb = np.array([order[int(L)] for L in col_lab], int)
    rb = np.array([order.get(int(L), -1) for L in row_lab], int)  # -1: an empty row (no columns)
    cols_of = np.argsort(cb, kind="stable")
    rows_of = np.argsort(rb, kind="stable")
    csplit = np.searchsorted(cb[cols_of], np.arange(len(order) + 1))
    rsplit = np.searchsorted(rb[rows_of], np.arange(-1, len(order) + 1))
    return [(cols_of[csplit[k]:csplit[k + 1]], rows_of[rsplit[k + 1]:rsplit[k + 2]]) for k in range(len(order))]


def _solve_blocks(c, ub, A, lo, hi, options, node_limit, time_limit_s):
    """Solve the MILP block by block (:func:`milp_blocks`), in the blocks' order, each with the
    full ``options`` (the node limit applies to each block). Returns (x or None, status, note,
    message): status ``'optimal'`` only if every block was solved to ``mip_rel_gap``; otherwise
    the worst block's status (``time_limit`` > ``stopped`` > ``node_limit``). A model that is one
    block is passed to HiGHS unchanged (the same answer as without the decomposition)."""
    blocks = milp_blocks(A)
    nv = len(c)
    if len(blocks) == 1:
        res = _solve_milp(c, np.ones(nv), ub, A, lo, hi, options)
        status, note = _milp_status(res, node_limit, time_limit_s)
        return (None if res.x is None else np.asarray(res.x)), status, note, str(res.message)
    A = A.tocsr()
    x = np.zeros(nv)
    counts = {"optimal": 0, "node_limit": 0, "time_limit": 0, "stopped": 0}
    worst, notes, sizes, nodes = "optimal", [], [], 0
    rank = {"optimal": 0, "node_limit": 1, "stopped": 2, "time_limit": 3}
    t_start = time.perf_counter()
    for cols, rows in blocks:
        sizes.append(len(cols))
        if len(rows) == 0:  # in no constraint: at the bound its cost prefers
            x[cols] = np.where(c[cols] < 0, ub[cols], 0.0)
            counts["optimal"] += 1
            continue
        sub = A[rows][:, cols]
        left = float(options["time_limit"]) - (time.perf_counter() - t_start)
        opts = {**options, "time_limit": max(left, 1e-3)}  # the safety cap is for the whole solve
        res = _solve_milp(c[cols], np.ones(len(cols)), ub[cols], sub, lo[rows], hi[rows], opts)
        if res.x is None:
            return None, "stopped", f"HiGHS MILP, block of {len(cols)} variables: {res.message}", str(res.message)
        x[cols] = res.x
        st, nt = _milp_status(res, node_limit, time_limit_s)
        counts[st] += 1
        nodes += int(getattr(res, "mip_node_count", 0) or 0)
        if rank[st] > rank[worst]:
            worst = st
        if st != "optimal":
            notes.append(nt)
    done = ", ".join(f"{k} {v}" for k, v in counts.items() if v and k != "optimal")
    note = (f"HiGHS MILP in {len(blocks)} independent blocks (largest {max(sizes)} of {nv} variables, "
            f"{nodes} nodes in all): {counts['optimal']} solved to optimality"
            + (f", {done} (" + "; ".join(notes[:3]) + (" ..." if len(notes) > 3 else "") + ")" if done else ""))
    return x, worst, note, "block solve"


def _solver_inputs(candidates, segment_s, rules, blocked, time_limit_s, node_limit) -> list[Segment]:
    """The segments of ``candidates``, with the inputs both MILP solvers share checked (blocked windows
    on stations with passes, rules for every agency, the time cap and the node limit)."""
    segs = _as_segments(candidates, segment_s)
    _check_blocked(blocked, segs)
    for s in segs:
        _rules_for(rules, s.agency)
    if not (math.isfinite(time_limit_s) and time_limit_s > 0):
        raise InputError("time_limit_s", time_limit_s, "> 0 s")
    if node_limit is not None and not (isinstance(node_limit, (int, np.integer)) and node_limit >= 1):
        raise InputError("node_limit", node_limit, "a whole number of nodes >= 1, or None (solve to the gap)")
    return segs


def optimal_schedule(candidates: Sequence | list[Segment], rules: Mapping[str, BookingRules],
                     blocked: Sequence[BlockedWindow] = (), *, segment_s: float = 1800.0,
                     required_bits: float | None = None, node_limit: int | None = 20,
                     time_limit_s: float = 600.0, mip_rel_gap: float = 1e-6,
                     greedy: Schedule | None = None) -> Schedule:
    """Book segments to maximise volume (or meet ``required_bits`` with fewest hours).

    ``candidates``: as for :func:`segment_passes`, or an already made list of
    :class:`Segment`.  Returns a :class:`Schedule`; ``status`` is ``'optimal'``,
    ``'node_limit'`` (HiGHS stopped after ``node_limit`` branch-and-bound nodes: best found,
    the gap is in ``notes``), ``'time_limit'`` (stopped by the wall-clock safety limit
    ``time_limit_s``: the answer may differ from run to run, and ``notes`` says so),
    ``'greedy'`` (the MILP answer was worse than the greedy baseline, which is returned
    instead) or ``'infeasible'`` (``required_bits`` cannot be met; nothing booked).

    The work limit is a node count, not a time, so that the same inputs give the same bookings
    on any machine load (HiGHS is deterministic for a given node limit; measured: the quick
    reference comms plan, 1065 variables, gave the same selection in 12.7 s idle and 36.6 s
    under three CPU hogs). The model is solved block by block (:func:`milp_blocks`, in a fixed
    order) and ``node_limit`` applies to each block; ``status`` is ``'optimal'`` only when every
    block was solved to ``mip_rel_gap``, and ``notes`` gives the blocks and how each stopped.
    ``time_limit_s`` caps the whole solve. ``node_limit=None``: solve to ``mip_rel_gap``. ``greedy``: the
    :func:`greedy_schedule` of the same inputs when the caller has it already (it is computed
    otherwise); it is not modified.
    """
    from scipy.sparse import coo_matrix

    segs = _solver_inputs(candidates, segment_s, rules, blocked, time_limit_s, node_limit)
    n = len(segs)
    if n == 0:
        return _result("milp", "optimal", segs, np.zeros(0, bool), rules)
    rows, cols, vals, lo, hi, m, ub = _build_milp(segs, rules, blocked)
    vol = np.array([s.volume_bits for s in segs])
    vscale = max(float(vol.max()), 1.0)
    c = np.zeros(3 * n)
    if required_bits is None:
        c[:n] = -vol / vscale
    else:
        if not (math.isfinite(required_bits) and required_bits >= 0):
            raise InputError("required_bits", required_bits, "a finite volume >= 0 bits")
        c[:n] = [s.duration_s / 3600.0 for s in segs]
        c[n:2 * n] = [_rules_for(rules, s.agency).overhead_s / 3600.0 for s in segs]
        rows = np.append(rows, np.full(n, m))
        cols = np.append(cols, np.arange(n))
        vals = np.append(vals, vol / vscale)
        lo = np.append(lo, required_bits / vscale)
        hi = np.append(hi, np.inf)
        m += 1
    A = coo_matrix((vals, (rows, cols)), shape=(m, 3 * n)).tocsr()
    options = {"time_limit": float(time_limit_s), "mip_rel_gap": float(mip_rel_gap)}
    if node_limit is not None:
        options["node_limit"] = int(node_limit)
    x, status, note, message = _solve_blocks(c, ub, A, lo, hi, options, node_limit, time_limit_s)
    if x is None:
        if required_bits is not None:
            return _result("milp", "infeasible", segs, np.zeros(n, bool), rules,
                           [f"HiGHS: {message}"])
        g = _greedy_copy(greedy, segs, rules, blocked)
        g.status = "greedy"
        g.notes.append(f"MILP returned no solution ({message}); greedy baseline returned")
        return g
    sel = np.round(x[:n]).astype(bool)
    out = _result("milp", status, segs, sel, rules, [note])
    viol = check_schedule(segs, sel, rules, blocked)
    if viol:  # would be a bug in the formulation: say so loudly
        raise RuntimeError("MILP schedule violates rules: " + "; ".join(viol[:5]))
    if required_bits is None:
        g = _greedy_copy(greedy, segs, rules, blocked)
        if g.volume_bits > out.volume_bits * (1 + 1e-12):
            g.status = "greedy"
            g.notes.append(f"MILP ({status}) found {out.volume_bits:.6g} bits < greedy; greedy returned")
            return g
    return out


def _greedy_copy(greedy, segs, rules, blocked) -> Schedule:
    """The greedy baseline of these segments: a copy of the caller's (same segments) or a new one."""
    if greedy is None:
        return greedy_schedule(segs, rules, blocked)
    if len(greedy.segments) != len(segs) or any(a != b for a, b in zip(greedy.segments, segs)):
        raise InputError("greedy", "a schedule of other segments", "the greedy_schedule of the same candidates")
    return replace(greedy, selected=greedy.selected.copy(), bookings=list(greedy.bookings),
                   charged_hours=dict(greedy.charged_hours), notes=list(greedy.notes))


def _as_segments(candidates, segment_s):
    if len(candidates) and all(isinstance(s, Segment) for s in candidates):
        segs = list(candidates)
        if [s.index for s in segs] != list(range(len(segs))):
            raise InputError("segments", "indices", "Segment.index == position in the list")
        return segs
    return segment_passes(candidates, segment_s)


# --- greedy baseline -----------------------------------------------------------------------
def greedy_schedule(candidates, rules: Mapping[str, BookingRules],
                    blocked: Sequence[BlockedWindow] = (), *, segment_s: float = 1800.0) -> Schedule:
    """Baseline: contiguous runs of segments (one per pass), best volume per charged hour first.

    Every run of at least the agency's minimum length and free of blocked windows is a
    unit; units are taken in order of volume / charged hours (then volume) when they keep
    the selection feasible (:func:`check_schedule`) and their pass has no track yet.
    """
    segs = _as_segments(candidates, segment_s)
    _check_blocked(blocked, segs)
    by_pass: dict[int, list[Segment]] = {}
    for s in segs:
        by_pass.setdefault(s.pass_index, []).append(s)
    units = []
    for pi, ps in by_pass.items():
        ps.sort(key=lambda s: s.k)
        r = _rules_for(rules, ps[0].agency)
        for i in range(len(ps)):
            vol = dur = 0.0
            for j in range(i, len(ps)):
                vol += ps[j].volume_bits
                dur += ps[j].duration_s
                if dur < r.min_pass_s - 1e-6 or vol <= 0:
                    continue
                units.append((vol / ((dur + r.overhead_s) / 3600.0), vol, pi, [s.index for s in ps[i:j + 1]]))
    units.sort(key=lambda u: (-u[0], -u[1], u[2], u[3][0]))
    sel = np.zeros(len(segs), bool)
    used = set()
    book = _Ledger(rules, blocked)
    for _, _, pi, idx in units:
        if pi in used:
            continue
        if book.try_add([segs[i] for i in idx]):
            sel[idx] = True
            used.add(pi)
    bad = check_schedule(segs, sel, rules, blocked)
    if bad:  # the ledger and the independent checker disagree: a bug, never a silent bad plan
        raise RuntimeError("greedy schedule violates rules: " + "; ".join(bad[:5]))
    return _result("greedy", "heuristic", segs, sel, rules)


class _Ledger:
    """Incremental feasibility of adding one track (a run of consecutive segments of a pass
    that has no track yet) to a feasible selection: the rules of :func:`check_schedule`,
    checked only where the new track can break them (its station's set-up/tear-down windows,
    the spacecraft's other downlinks, its agency's day and week budgets, blocked windows)."""

    def __init__(self, rules, blocked, tol_s: float = 1e-6):
        import bisect

        self._bisect = bisect
        self.rules, self.tol = rules, tol_s
        self.blocked: dict[str, list[BlockedWindow]] = {}
        for w in blocked:
            self.blocked.setdefault(w.station, []).append(w)
        self.windows: dict[str, list[tuple[float, float]]] = {}  # station -> sorted charged windows
        self.on: list[tuple[float, float]] = []  # sorted selected downlink intervals
        self.charged: dict[str, dict[tuple, float]] = {}

    def _overlaps(self, intervals, a, b, tol):
        k = self._bisect.bisect_left(intervals, (a, -math.inf))
        for j in (k - 1, k):
            if 0 <= j < len(intervals) and intervals[j][0] < b - tol and a < intervals[j][1] - tol:
                return True
        return False

    def try_add(self, run: list[Segment]) -> bool:
        r, tol = _rules_for(self.rules, run[0].agency), self.tol
        st, a, b = run[0].station, run[0].start, run[-1].stop
        if b - a < r.min_pass_s - tol:
            return False
        ws, we = a - r.setup_s, b + r.teardown_s
        if _hits(self.blocked, st, ws + tol, we - tol):
            return False
        if self._overlaps(self.windows.get(st, []), ws, we, tol):
            return False
        if any(self._overlaps(self.on, s.start, s.stop, tol) for s in run):
            return False
        add: dict[tuple, float] = {}
        d0 = _day(a)
        for key in (("d", d0), ("w", d0 // 7)):
            add[key] = add.get(key, 0.0) + r.overhead_s
        for s in run:
            dd = _day(s.start)
            for key in (("d", dd), ("w", dd // 7)):
                add[key] = add.get(key, 0.0) + s.duration_s
        acc = self.charged.setdefault(run[0].agency, {})
        for (kind, idx), sec in add.items():
            lim = r.max_hours_per_day if kind == "d" else r.max_hours_per_week
            if lim is not None and acc.get((kind, idx), 0.0) + sec > lim * 3600.0 + tol:
                return False
        for key, sec in add.items():
            acc[key] = acc.get(key, 0.0) + sec
        self._bisect.insort(self.windows.setdefault(st, []), (ws, we))
        for s in run:
            self._bisect.insort(self.on, (s.start, s.stop))
        return True


def brute_force_schedule(candidates, rules: Mapping[str, BookingRules],
                         blocked: Sequence[BlockedWindow] = (), *, segment_s: float = 1800.0,
                         max_segments: int = 16) -> Schedule:
    """Exhaustive maximum-volume selection (reference for tests; <= ``max_segments``)."""
    segs = _as_segments(candidates, segment_s)
    _check_blocked(blocked, segs)
    n = len(segs)
    if n > max_segments:
        raise InputError("candidates", f"{n} segments", f"at most {max_segments} for brute force")
    vol = np.array([s.volume_bits for s in segs])
    best, best_sel = -1.0, np.zeros(n, bool)
    for mask in range(1 << n):
        sel = np.array([(mask >> i) & 1 for i in range(n)], bool)
        v = float(vol[sel].sum())
        if v <= best:
            continue
        if not check_schedule(segs, sel, rules, blocked):
            best, best_sel = v, sel
    return _result("brute_force", "optimal", segs, best_sel, rules)


# --- track formulation: one binary per bookable track ---------------------------------------
@dataclass
class _Tracks:
    """Every bookable track of a plan (a run of consecutive segments of one pass at least the
    agency's minimum length, with positive volume, whose set-up/tear-down window meets no blocked
    window): one column of :func:`track_schedule`'s model each."""

    segs: list  # segment indices of each track
    start: np.ndarray
    stop: np.ndarray
    ws: np.ndarray  # set-up start
    we: np.ndarray  # tear-down stop
    station: list
    pass_index: np.ndarray
    first_k: np.ndarray  # first and last position within the pass
    last_k: np.ndarray
    volume: np.ndarray
    charged_s: np.ndarray
    budget: dict  # (agency, 'd'|'w', period, limit_h) -> [(column, hours)]


def _track_columns(segs, rules, blocked, tol: float = 1e-6) -> _Tracks:
    bl: dict[str, list[BlockedWindow]] = {}
    for w in blocked:
        bl.setdefault(w.station, []).append(w)
    by_pass: dict[int, list[Segment]] = {}
    for s in segs:
        by_pass.setdefault(s.pass_index, []).append(s)
    cols: list = []
    budget: dict = {}
    for pi, ps in by_pass.items():
        ps.sort(key=lambda s: s.k)
        r = _rules_for(rules, ps[0].agency)
        st, ag = ps[0].station, ps[0].agency
        days = [_day(s.start) for s in ps]
        for i in range(len(ps)):
            vol, ch = 0.0, {}
            for j in range(i, len(ps)):
                vol += ps[j].volume_bits
                ch[days[j]] = ch.get(days[j], 0.0) + ps[j].duration_s
                # a zero-volume track is never worth booking (dropping a track keeps every rule)
                if ps[j].stop - ps[i].start < r.min_pass_s - tol or vol <= 0:
                    continue
                ws, we = ps[i].start - r.setup_s, ps[j].stop + r.teardown_s
                if _hits(bl, st, ws + tol, we - tol):
                    continue
                c = len(cols)
                charge = dict(ch)
                charge[days[i]] = charge.get(days[i], 0.0) + r.overhead_s
                for lim, div, kind in ((r.max_hours_per_day, 1, "d"), (r.max_hours_per_week, 7, "w")):
                    if lim is None:
                        continue
                    per: dict[int, float] = {}
                    for d, sec in charge.items():
                        per[d // div] = per.get(d // div, 0.0) + sec
                    for p, sec in per.items():
                        budget.setdefault((ag, kind, p, float(lim)), []).append((c, sec / 3600.0))
                cols.append(([s.index for s in ps[i:j + 1]], ps[i].start, ps[j].stop, ws, we, st, pi, i, j, vol,
                             sum(charge.values())))
    f = lambda k, dt=float: np.array([c[k] for c in cols], dt)  # noqa: E731
    return _Tracks([c[0] for c in cols], f(1), f(2), f(3), f(4), [c[5] for c in cols], f(6, int), f(7, int),
                   f(8, int), f(9), f(10), budget)


def _track_model(tr: _Tracks, tol: float = 1e-6):
    """The constraint matrix of the track formulation. Columns: the tracks (binary), then one
    continuous occupancy variable per row of each interval family. The spacecraft family (one
    downlink at a time) and each station's family (set-up to tear-down) are written as running
    counts: ``O_m = O_{m-1} + (tracks starting at point m) - (tracks ended by point m)``, ``0 <= O_m <= 1``,
    at every distinct start point of the family; ``O_m`` is the number of its intervals covering the
    point, so the rows are the interval graph's clique constraints (the same LP) with two non-zeros per
    track instead of one per covered point. Then one row per agency budget period."""
    from scipy.sparse import coo_matrix

    nr = len(tr.volume)
    rows: list = []
    cols: list = []
    vals: list = []
    lo: list = []
    hi: list = []
    nv = nr

    def family(members, a, b_eff):
        # intervals [a, b_eff): a member covers point P iff a <= P < b_eff
        nonlocal nv
        P = np.unique(a)
        k, m0 = len(P), len(lo)
        o = nv + np.arange(k)
        nv += k
        r = m0 + np.arange(k)
        rows.extend([r, r[1:], m0 + np.searchsorted(P, a)])
        cols.extend([o, o[:-1], members])
        vals.extend([np.ones(k), -np.ones(k - 1), -np.ones(len(members))])
        e = np.searchsorted(P, b_eff, side="left")
        inside = e < k
        rows.append(m0 + e[inside])
        cols.append(members[inside])
        vals.append(np.ones(int(inside.sum())))
        lo.extend([0.0] * k)
        hi.extend([0.0] * k)

    idx = np.arange(nr)
    if nr:
        # spacecraft: a track downlinks in [start, stop); the next may start at stop - tol
        family(idx, tr.start, tr.stop - tol)
        st = np.array(tr.station, dtype=object)
        for s in sorted(set(tr.station)):
            m = np.flatnonzero(st == s)
            family(m, tr.ws[m], tr.we[m] - tol)
    n_occ = nv - nr
    for (_, _, _, lim), ent in sorted(tr.budget.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
        r = len(lo)
        rows.append(np.full(len(ent), r))
        cols.append(np.array([c for c, _ in ent], int))
        vals.append(np.array([h for _, h in ent]))
        lo.append(-np.inf)
        hi.append(lim + tol / 3600.0)
    m = len(lo)
    cat = (lambda x, dt: np.concatenate(x).astype(dt) if x else np.zeros(0, dt))  # noqa: E731
    A = coo_matrix((cat(vals, float), (cat(rows, int), cat(cols, int))), shape=(m, nv)).tocsr()
    ub = np.ones(nv)
    integrality = np.r_[np.ones(nr), np.zeros(n_occ)]
    return A, np.array(lo), np.array(hi), ub, integrality


def _track_selection(tr: _Tracks, x, n) -> np.ndarray:
    sel = np.zeros(n, bool)
    for j in np.flatnonzero(np.asarray(x[:len(tr.volume)]) > 0.5):
        sel[tr.segs[j]] = True
    return sel


def track_schedule(candidates: Sequence | list[Segment], rules: Mapping[str, BookingRules],
                   blocked: Sequence[BlockedWindow] = (), *, segment_s: float = 1800.0,
                   exact: bool = False, node_limit: int | None = 1, rc_window: float = 0.01,
                   window_days: int | None = 3, time_limit_s: float = 600.0,
                   mip_rel_gap: float = 1e-6, greedy: Schedule | None = None) -> Schedule:
    """Maximum-volume bookings from the *track formulation*: one binary per bookable track (every
    run of consecutive segments of a pass at least the agency's minimum length, with positive volume,
    whose set-up-to-tear-down window meets no blocked window), the spacecraft's one-downlink-at-a-time
    and each station's set-up/tear-down occupancy as interval-clique rows (written as running counts,
    :func:`_track_model`), and one row per agency day/week budget. Its integer points are exactly the
    selections :func:`check_schedule` accepts (a pass may hold several tracks, as there), so its optimum
    is the segment MILP's (:func:`optimal_schedule`; tested against :func:`brute_force_schedule`).

    ``exact=True``: HiGHS solves the whole model (to ``mip_rel_gap``, or ``node_limit`` nodes). Otherwise
    (the default, for plans of tens of thousands of tracks) an LP-guided search: the LP relaxation
    gives an upper bound and each track's reduced cost; the MILP is solved over the tracks whose
    reduced cost is at most ``rc_window`` (objective in units of the largest track volume) plus the
    greedy baseline's tracks, in a rolling horizon: windows of ``window_days`` UTC days of track
    starts in time order, each solve with the tracks booked before the window fixed and later ones
    left out, booking its first ``window_days - 1`` days (``None``: one solve), each deterministic
    (``node_limit`` nodes). The answer is never worse than the greedy baseline; its ``status`` is
    ``'optimal'`` when it is within ``mip_rel_gap`` of the LP bound, else ``'heuristic'``, and
    ``notes`` give the bound and the gap (``'greedy'``: the greedy baseline was better and is
    returned; with ``exact=True`` the status is HiGHS', as in :func:`optimal_schedule`). Maximum
    volume only (``required_bits``: :func:`optimal_schedule`).
    """
    from scipy.optimize import linprog

    segs = _solver_inputs(candidates, segment_s, rules, blocked, time_limit_s, node_limit)
    if not (math.isfinite(rc_window) and rc_window >= 0):
        raise InputError("rc_window", rc_window, "a reduced-cost window >= 0")
    if window_days is not None and not (isinstance(window_days, (int, np.integer)) and window_days >= 1):
        raise InputError("window_days", window_days, "a whole number of days >= 1, or None")
    n = len(segs)
    tr = _track_columns(segs, rules, blocked)
    nr = len(tr.volume)
    if nr == 0:
        return _result("tracks", "optimal", segs, np.zeros(n, bool), rules, ["no bookable track"])
    A, lo, hi, ub, integ = _track_model(tr)
    nv = A.shape[1]
    vscale = max(float(tr.volume.max()), 1.0)
    c = np.zeros(nv)
    c[:nr] = -tr.volume / vscale
    options = {"time_limit": float(time_limit_s), "mip_rel_gap": float(mip_rel_gap)}
    if node_limit is not None:
        options["node_limit"] = int(node_limit)
    g = _greedy_copy(greedy, segs, rules, blocked)

    def finish(sel, status, notes):
        out = _result("tracks", status, segs, sel, rules, notes)
        viol = check_schedule(segs, sel, rules, blocked)
        if viol:  # would be a bug in the formulation: say so loudly
            raise RuntimeError("track schedule violates rules: " + "; ".join(viol[:5]))
        if g.volume_bits > out.volume_bits * (1 + 1e-12):
            g.status = "greedy"
            g.notes.append(f"track MILP ({status}) found {out.volume_bits:.6g} bits < greedy; greedy returned")
            return g
        return out

    if exact:
        res = _solve_milp(c, integ, ub, A, lo, hi, options)
        if res.x is None:
            return finish(np.zeros(n, bool), "stopped", [f"track MILP returned no solution ({res.message})"])
        status, note = _milp_status(res, node_limit, time_limit_s)
        return finish(_track_selection(tr, res.x, n), status, [f"track formulation ({nr} tracks): " + note])
    eq = lo == hi
    lp = linprog(c, A_ub=A[~eq], b_ub=hi[~eq], A_eq=A[eq], b_eq=lo[eq], bounds=np.c_[np.zeros(nv), ub],
                 method="highs")
    if lp.status != 0:
        return finish(np.zeros(n, bool), "stopped", [f"track LP: {lp.message}"])
    bound = -float(lp.fun) * vscale
    rc = c - A[~eq].T @ lp.ineqlin.marginals - A[eq].T @ lp.eqlin.marginals
    keep = rc[:nr] <= rc_window
    key = {tuple(sg): j for j, sg in enumerate(tr.segs)}
    for b in g.bookings:
        j = key.get(tuple(b.segments))
        if j is not None:
            keep[j] = True
    # rolling horizon over the UTC days of track starts: each solve sees ``window_days`` days, with the
    # tracks booked before them fixed (lower bound 1) and later ones left out, and books the tracks of
    # its first ``window_days - 1`` days (all of them in the last window)
    day0 = np.array([_day(float(t)) for t in tr.start])
    rel = day0 - day0.min()
    span = int(rel.max()) + 1
    W = span if window_days is None else min(int(window_days), span)
    step = max(W - 1, 1)
    fixed = np.zeros(nr, bool)
    solves, states, failed = 0, [], 0
    for w0 in range(0, span, step):
        last = w0 + W >= span
        cand = keep & (rel >= w0) & (rel < w0 + W)
        if not cand.any():
            continue
        tc = np.flatnonzero(cand | fixed)
        cols = np.r_[tc, np.arange(nr, nv)]
        lb = np.r_[fixed[tc].astype(float), np.zeros(nv - nr)]
        res = _solve_milp(c[cols], integ[cols], ub[cols], A[:, cols], lo, hi, options, lb=lb)
        solves += 1
        if res.x is None:
            failed += 1
            continue
        states.append(_milp_status(res, node_limit, time_limit_s)[0])
        x = np.zeros(nv)
        x[cols] = res.x
        fixed |= (x[:nr] > 0.5) & (last | (rel < w0 + step))
        if last:
            break
    sel = _track_selection(tr, fixed.astype(float), n)
    vol = float(sum(segs[i].volume_bits for i in np.flatnonzero(sel)))
    gap = max(0.0, bound - vol) / max(bound, 1e-300)
    status = "optimal" if gap <= mip_rel_gap else "heuristic"
    how = {k: states.count(k) for k in ("optimal", "node_limit", "time_limit", "stopped") if states.count(k)}
    if failed:
        how["without a solution"] = failed
    note = (f"track formulation, LP-guided: {nr} bookable tracks, LP bound {bound:.6g} bits; {int(keep.sum())} "
            f"tracks kept (reduced cost <= {rc_window:g} and the greedy baseline's), solved in {solves} "
            + (f"windows of {W} days ({step} booked per window; " if solves > 1 else "piece (")
            + ", ".join(f"{v} {k}" for k, v in how.items()) + "), "
            + ("optimal" if status == "optimal" else f"within {100 * gap:.2f} % of the bound")
            + ("; stopped by the wall-clock safety limit: a run under another load may book differently"
               if "time_limit" in how else ""))
    return finish(sel, status, [note])
