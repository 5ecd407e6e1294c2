"""Ensemble propagation: many initial states of one model in heyoka's SIMD batch mode, across threads.

:func:`propagate_ensemble` flies N members (initial states, optionally each with its own runtime
parameters: SRP ``Cr*A/m``, Phobos' GM where the model has it as a parameter, empirical
accelerations...) from one epoch over a common output grid. Members are packed into batches of
heyoka's SIMD width (``heyoka.taylor_adaptive_batch``, one lane per member); the last batch is padded
with copies of a real member whose output is dropped. Batches are spread over ``workers`` threads,
each with its own copy of the compiled batch integrator (heyoka releases the GIL while it integrates).

What every lane shares: the epoch and the Chebyshev segments of the moons, Sun and Earth. Segment
boundaries are the same for all lanes, so the coefficients loaded there are the same in every lane.
Each segment (cut at manoeuvre epochs) is one call: ``propagate_grid`` when grid epochs fall inside
it, else ``propagate_until`` its end (whose end state is the grid row when the segment ends on one).
What is per lane: the state, the runtime parameters, the shadow switches (step-break events flip the
parameters of the lane that crossed a shadow edge), the events.

Terminal events (Mars impact, leaving a sphere, a Phobos impact surface given as an expression): heyoka
stops the *whole batch* when one lane's terminal event fires; the member of that lane is marked finished
with its event and its state at the event, and the batch goes on from where every other lane stood. A
finished lane is re-seeded as a copy of a running one, so it never integrates garbage.

What batch mode does not do, and the scalar :func:`~mmxsim.dynamics.propagate` does: exact impact
surfaces found along the dense output (``refine`` events, e.g. the Ernst shape) and the near-surface
gravity switch inside the harmonics' switch radius. A member that crosses such a trigger surface (or
starts inside one) is stopped in the batch and flown again from its initial state with the scalar
``propagate``; ``EnsemblePropagation.path[i]`` says which path produced member ``i``
(``"batch"`` or ``"scalar"``). Results are therefore always complete.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
import time as _time
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from .context import Context, ParameterTable
from .jit import HEYOKA_OPTIONS
from .model import DynamicsModel, Propagation
from .near_surface import NearSurfaceEntry, switched_force
from .propagator import propagate, rhs_expressions
from .tracks import AnalyticTrack, ChebyshevTrack, SegmentFits, segment_length

_CACHE: dict[tuple, tuple] = {}
_CACHE_LOCK = threading.Lock()

#: names that belong to the propagator, not the user (Chebyshev segments, shadow switches)
_INTERNAL_PREFIXES = ("cheb:",)


@dataclass
class EnsemblePropagation:
    """What :func:`propagate_ensemble` returns (N members, G grid epochs).

    ``states[i, k]`` is member ``i`` at ``t[k]``; rows after a member stopped are NaN (visibly
    absent), ``reached[i]`` counts its rows. ``final_time[i]`` / ``final_state[i]`` are where it
    stopped (the event's epoch and state after a terminal event). ``events[i]``: (label, body, t,
    terminal) as in :class:`~mmxsim.dynamics.Propagation`. ``path[i]``: ``"batch"`` or ``"scalar"``.
    """

    t: np.ndarray
    states: np.ndarray
    reached: np.ndarray
    final_time: np.ndarray
    final_state: np.ndarray
    termination: list
    events: list
    path: list
    compile_s: float
    propagate_s: float
    batch_size: int
    workers: int
    n_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, int))

    def __len__(self) -> int:
        return len(self.path)

    def member(self, i: int) -> Propagation:
        """Member ``i`` as a :class:`~mmxsim.dynamics.Propagation` (grid rows reached, then the final
        state as a last row when it stopped between grid epochs, as ``propagate`` returns it)."""
        n = int(self.reached[i])
        t, x = list(self.t[:n]), list(self.states[i, :n])
        if self.termination[i] != "span completed" and (not t or self.final_time[i] > t[-1]):
            t.append(self.final_time[i])
            x.append(self.final_state[i])
        return Propagation(np.asarray(t), np.asarray(x).reshape(-1, 6), list(self.events[i]), self.termination[i],
                           self.compile_s, self.propagate_s, int(self.n_steps[i]), float(self.final_time[i]),
                           self.final_state[i].copy())


# -- compiled batch integrator ----------------------------------------------------------------------------
class _BatchStepBreak:
    """Step-break callback in batch mode: flip the parameters of the lane that crossed (see
    ``propagator._StepBreak``), continue."""

    def __init__(self, below=(), above=()):
        self.below = tuple(below)
        self.above = tuple(above)

    def __call__(self, ta, d_sgn, lane):
        if self.below or self.above:
            h = ta.last_h[lane]
            side = int(d_sgn) * (1 if h > 0 else -1 if h < 0 else 0)
            if side:
                pars = ta.pars
                for i, v in (self.above if side > 0 else self.below):
                    pars[i, lane] = v
        return True


def batch_step_break_events(model: DynamicsModel, ctx, params) -> list:
    """The batch twins of :func:`~mmxsim.dynamics.propagator.step_break_events`: the same expressions and
    parameter flips (:class:`_BatchStepBreak`), per lane; used by the ensembles and by the batch
    variational trajectories of :mod:`mmxsim.navigation.variational`."""
    import heyoka as hy

    from .forces import Switch

    out = []
    for f in model.forces:
        for item in f.step_breaks(ctx):
            if isinstance(item, Switch):
                idx = {k: params.names.index(k) for k in (*item.below, *item.above)}
                cb = _BatchStepBreak([(idx[k], float(v)) for k, v in item.below.items()],
                                     [(idx[k], float(v)) for k, v in item.above.items()])
                ex = item.expr
            else:
                cb, ex = _BatchStepBreak(), item
            out.append(hy.t_event_batch(ex, callback=cb, direction=hy.event_direction.any))
    return out


class _BatchStop:
    """Terminal callback: record (lane, time, d_sgn) and stop (heyoka then stops the batch)."""

    def __init__(self):
        self.hits: list = []

    def __call__(self, ta, d_sgn, lane):
        self.hits.append((int(lane), float(ta.time[lane]), int(d_sgn), np.array(ta.state[:, lane], float)))
        return False


class _BatchRecord:
    """Non-terminal callback: record (lane, time, d_sgn)."""

    def __init__(self):
        self.hits: list = []

    def __call__(self, ta, t, d_sgn, lane):
        self.hits.append((int(lane), float(t), int(d_sgn)))


@dataclass
class _Compiled:
    ta: object
    params: object
    tracks: dict
    rotations: dict
    terminal: list  # Event specs of the terminal events that end a member, in heyoka order
    fallback: list  # Event specs whose crossing sends a member to the scalar path (after the terminal ones)
    nonterminal: list
    n_breaks: int
    compile_s: float


def _outer_events(model: DynamicsModel):
    """(terminal, fallback, non-terminal) event specs of the batch integrator."""
    terminal = [e for e in model.events if e.terminal and not getattr(e, "refine", False)]
    fallback = [e for e in model.events if getattr(e, "refine", False)]
    force = switched_force(model)
    if force is not None:
        from ..gravity.validity import switch_radius

        fallback.append(NearSurfaceEntry(switch_radius(force.degree)))
    nonterminal = [e for e in model.events if not e.terminal]
    return terminal, fallback, nonterminal


def _cached(model: DynamicsModel, batch_size: int) -> tuple[tuple, _Compiled, float]:
    """(key, the cached pristine compiled integrator of ``model`` for ``batch_size`` lanes, compile seconds
    spent now: 0 when it was cached)."""
    key = (model.signature(), int(batch_size))
    with _CACHE_LOCK:
        c = _CACHE.get(key)
        if c is None:
            c = _compile(model, batch_size)
            _CACHE[key] = c
            return key, c, c.compile_s
    return key, c, 0.0


def _instance(model: DynamicsModel, c: _Compiled):
    """This model instance's parameter table and tracks for the compiled ``c`` (what
    ``propagator.instance_state`` gives, with two list copies instead of a deep copy)."""
    params = ParameterTable(list(c.params.names), list(c.params.values))
    for f in model.forces:
        for k, v in f.parameters().items():
            params.values[params.names.index(k)] = v
    tracks = model.make_tracks()
    for name, tr in tracks.items():
        if tr.kind == "chebyshev":
            tr.first_par = c.tracks[name].first_par
    return params, tracks


def build_batch(model: DynamicsModel, batch_size: int) -> _Compiled:
    """Compile (or copy from the cache) the batch integrator of ``model`` for ``batch_size`` lanes (a
    copy of its own: :func:`propagate_ensemble` borrows pooled copies instead, see :class:`_Pool`)."""
    _, c, compile_s = _cached(model, batch_size)
    params, tracks = _instance(model, c)
    return _Compiled(copy.deepcopy(c.ta), params, tracks, c.rotations, c.terminal, c.fallback, c.nonterminal,
                     c.n_breaks, compile_s)


class _Pool:
    """Copies of the compiled batch integrators, lent to one thread at a time and given back after the
    call, so that a call does not deep-copy the integrator (~1-4 ms each, measured; a few copies per key
    exist: as many as threads ever flew that model at once).

    A borrowed integrator is reset before it is lent: terminal events' cooldowns cleared; its state,
    epoch and every runtime parameter (model values, per-member values, Chebyshev coefficients, shadow
    switches) are written by :func:`_run_batch` before the first step, and the event callbacks' records
    are cleared before every heyoka call. heyoka keeps no other state between steps that a step reads
    (each step size comes from the Taylor coefficients of the current state), so a reused integrator
    flies the same steps as a fresh copy: bit for bit equal results (tests/dynamics/test_ensemble.py)."""

    def __init__(self):
        self._free: dict = {}
        self._lock = threading.Lock()

    def borrow(self, key: tuple, c: _Compiled):
        with self._lock:
            free = self._free.get(key)
            ta = free.pop() if free else None
        if ta is None:
            ta = copy.deepcopy(c.ta)
        else:
            ta.reset_cooldowns()
        return ta

    def give_back(self, key: tuple, ta) -> None:
        with self._lock:
            self._free.setdefault(key, []).append(ta)


_POOL = _Pool()


def _compile(model: DynamicsModel, batch_size: int) -> _Compiled:
    import heyoka as hy

    t0 = _time.perf_counter()
    sys, ctx, params, tracks, rots = rhs_expressions(model)
    terminal, fallback, nonterminal = _outer_events(model)
    dirs = {"negative": hy.event_direction.negative, "positive": hy.event_direction.positive,
            "any": hy.event_direction.any}
    t_events = [hy.t_event_batch(e.expression(ctx), callback=_BatchStop(), direction=dirs[e.direction])
                for e in terminal]
    # a refined surface's trigger is crossed both ways in the scalar path: any crossing goes scalar here
    t_events += [hy.t_event_batch(e.expression(ctx), callback=_BatchStop(),
                                  direction=hy.event_direction.any if getattr(e, "refine", False)
                                  else dirs[e.direction]) for e in fallback]
    breaks = batch_step_break_events(model, ctx, params)
    t_events += breaks
    n_breaks = len(breaks)
    nt_events = [hy.nt_event_batch(e.expression(ctx), _BatchRecord()) for e in nonterminal]
    pars = np.repeat(np.asarray(params.values, float)[:, None], batch_size, axis=1) if params.values else None
    kw = {"pars": pars} if pars is not None else {}
    ta = hy.taylor_adaptive_batch(sys, np.zeros((6, batch_size)), tol=model.tolerance, t_events=t_events,
                                  nt_events=nt_events, compact_mode=model.compact_mode, **kw, **HEYOKA_OPTIONS)
    return _Compiled(ta, params, tracks, rots, terminal, fallback, nonterminal, n_breaks,
                     _time.perf_counter() - t0)


def parameter_names(model: DynamicsModel) -> list[str]:
    """The runtime parameters a member may override in :func:`propagate_ensemble` (the forces' own)."""
    out = []
    for f in model.forces:
        out += [k for k in f.parameters() if k not in out]
    return out


# -- the driver --------------------------------------------------------------------------------------------
def _check_inputs(model, t0, states0, t_grid, parameters, t_stop, workers, batch_size):
    if not isinstance(model, DynamicsModel):
        raise InputError("model", type(model).__name__, "a DynamicsModel")
    try:
        t0 = float(t0)
    except (TypeError, ValueError):
        raise InputError("t0", t0, "a finite epoch (TDB s past J2000)") from None
    if not np.isfinite(t0):
        raise InputError("t0", t0, "a finite epoch (TDB s past J2000)")
    x = np.asarray(states0, dtype=float)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] != 6 or x.shape[0] < 1:
        raise InputError("states0", f"array of shape {np.shape(states0)}", "shape (N, 6) with N >= 1 (km, km/s)")
    if not np.all(np.isfinite(x)):
        bad = int(np.nonzero(~np.all(np.isfinite(x), axis=1))[0][0])
        raise InputError(f"states0[{bad}]", x[bad].tolist(), "finite numbers")
    g = np.asarray(t_grid, dtype=float).reshape(-1)
    if g.size == 0 or not np.all(np.isfinite(g)):
        raise InputError("t_grid", np.asarray(t_grid).tolist(), "a non-empty list of finite epochs")
    if np.any(np.diff(g) < 0):
        raise InputError("t_grid", "not sorted", "increasing epochs")
    t_stop = float(g[-1]) if t_stop is None else float(t_stop)
    if not np.isfinite(t_stop) or t_stop < t0:
        raise InputError("t_stop", t_stop, f">= t0 ({t0})")
    if g[0] < t0 or g[-1] > t_stop:
        raise InputError("t_grid", f"[{g[0]}, {g[-1]}]", f"epochs within [t0, t_stop] = [{t0}, {t_stop}]")
    n = x.shape[0]
    allowed = parameter_names(model)
    pars = {}
    for k, v in (parameters or {}).items():
        if k not in allowed:
            raise InputError("parameters", k, ", ".join(allowed) or "none (this model has no runtime parameters)")
        a = np.asarray(v, dtype=float).reshape(-1)
        if a.size == 1:
            a = np.full(n, float(a[0]))
        if a.size != n or not np.all(np.isfinite(a)):
            shown = np.asarray(v).tolist() if np.size(v) < 10 else f"{np.size(v)} values"
            raise InputError(f"parameters[{k!r}]", shown,
                             f"one finite value or {n} finite values (one per member)")
        pars[k] = a
    if workers is None:
        workers = 1
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise InputError("workers", workers, "an integer >= 1")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer))
                                   or batch_size < 1):
        raise InputError("batch_size", batch_size, "an integer >= 1 (default: heyoka.recommended_simd_size())")
    return t0, x, g, pars, t_stop, int(workers), batch_size


def _scalar_model(model: DynamicsModel, member_pars: dict) -> DynamicsModel:
    """``model`` whose forces report a member's parameter values (for the scalar path).

    The scalar propagator (and its near-surface arcs) read runtime parameters from the forces'
    ``parameters()``, so a copy of each force declaring an overridden name answers with the member's
    value; signatures are unchanged (the compiled integrator is reused)."""
    if not member_pars:
        return model
    m = copy.copy(model)
    forces = []
    for f in model.forces:
        own = {k: v for k, v in member_pars.items() if k in f.parameters()}
        if own:
            f = copy.copy(f)
            base = f.parameters

            def parameters(base=base, own=own):
                return {**base(), **own}

            f.parameters = parameters
        forces.append(f)
    m.forces = forces
    return m


class _Segments:
    """The Chebyshev segments of [t0, t_stop] (as ``propagator.SegmentSchedule``, all lanes alike)."""

    def __init__(self, tracks, params, t0, t_stop):
        self.cheb = [tr for tr in tracks.values() if tr.kind == "chebyshev"]
        self.seg = segment_length(tracks.values()) if self.cheb else max(t_stop - t0, 1.0)
        self.i_tmid = params.names.index("cheb:t_mid") if self.cheb else None
        self.i_ih = params.names.index("cheb:inv_half") if self.cheb else None
        self.fits = SegmentFits(self.cheb, self.seg, t_stop) if self.cheb else None
        self._lock = threading.Lock()
        self._memo: dict = {}

    def values(self, s0, s1):
        """[(first parameter index, values)] to load for the segment [s0, s1] (shared by all threads)."""
        if not self.cheb:
            return []
        with self._lock:
            if s0 not in self._memo:
                out = [(self.i_tmid, np.array([0.5 * (s0 + s1)])),
                       (self.i_ih, np.array([2.0 / (s1 - s0) if s1 > s0 else 1.0]))]
                out += [(tr.first_par, np.asarray(coef, float).reshape(-1)) for tr, coef in self.fits.coefficients(s0)]
                self._memo[s0] = out
            return self._memo[s0]


def _spread(t_now: float, pts: np.ndarray, count: int) -> np.ndarray:
    """``count`` strictly increasing epochs after ``t_now``: ``pts`` (increasing, > t_now) preceded by
    filler epochs between ``t_now`` and ``pts[0]`` (their output is ignored)."""
    extra = count - pts.size
    if extra <= 0:
        return pts
    fill = t_now + (pts[0] - t_now) * np.arange(1, extra + 1) / (extra + 1)
    return np.concatenate([fill, pts])


def _pieces(t0: float, t_stop: float, seg: float, epochs) -> list:
    """(s0, s1, cs, ce): the Chebyshev segments [cs, ce] of [t0, t_stop] (anchored at t0, as the scalar
    propagator's), each cut at the manoeuvre epochs inside it."""
    out = []
    cs = t0
    while cs < t_stop:
        ce = min(cs + seg, t_stop)
        cuts = [cs, *sorted(e for e in set(epochs) if cs < e < ce), ce]
        out += [(a, b, cs, ce) for a, b in zip(cuts[:-1], cuts[1:])]
        cs = ce
    return out


def _run_batch(comp: _Compiled, lanes: list, x0: np.ndarray, lane_pars: np.ndarray, t0: float, g: np.ndarray,
               t_stop: float, segments: _Segments, out: dict, burns: list = ()) -> None:
    """Fly the members ``lanes`` (indices into x0; len <= batch size) in one batch integrator.

    Lanes beyond ``len(lanes)``, lanes whose member has finished and lanes that reached the end of the
    segment while others still fly mirror a lane that has to fly (same state, epoch, parameters, grid):
    their output is ignored, and a parked member is put back before the next segment."""
    ta = comp.ta
    B = ta.batch_size
    n_real = len(lanes)
    owner = list(lanes) + [None] * (B - n_real)
    st = np.empty((6, B))
    st[:, :n_real] = x0[lanes].T
    st[:, n_real:] = x0[lanes[0]][:, None]
    npar = lane_pars.shape[0]
    if npar:
        p = np.empty((npar, B))
        p[:, :n_real] = lane_pars[:, lanes]
        p[:, n_real:] = lane_pars[:, lanes[0]][:, None]
        ta.pars[:] = p
    ta.set_time(np.full(B, t0))
    ta.state[:] = st
    U, inv = np.unique(g, return_inverse=True)  # heyoka wants strictly increasing grids
    NU = U.size
    rows = np.full((B, NU, 6), np.nan)
    ui = np.zeros(B, int)  # next grid epoch (index into U) of each lane
    k0 = int(np.searchsorted(U, t0, side="right"))
    rows[:, :k0] = st.T[:, None, :]
    ui[:] = k0
    running = np.zeros(B, bool)
    running[:n_real] = True
    status: dict = {}
    final: dict = {}
    events = {i: [] for i in lanes}
    steps = np.zeros(B, int)
    term_specs, fb_specs, nt_specs = comp.terminal, comp.fallback, comp.nonterminal
    tev = [ev.callback for ev in list(ta.t_events)[:len(term_specs) + len(fb_specs)]]  # the callbacks
    ntev = [ev.callback for ev in ta.nt_events]
    dv_at = {tm: dv for tm, dv in burns}
    if t0 in dv_at:  # a manoeuvre at t0: the grid row at t0 holds the state before it
        st = np.array(ta.state, float)
        st[3:, :n_real] += dv_at[t0][lanes].T
        st[3:, n_real:] = st[3:, :1]
        ta.state[:] = st
    loaded = None
    all_lanes, no_offset = np.arange(B), np.zeros(B, int)
    for s0, s1, cs, ce in _pieces(t0, t_stop, segments.seg, [tm for tm, _ in burns]):
        if loaded != cs:  # the Chebyshev segment [cs, ce] holding this piece (same coefficients in every lane)
            for first, vals in segments.values(cs, ce):
                ta.pars[first:first + vals.size, :] = vals[:, None]
            loaded = cs
        e_s = int(np.searchsorted(U, s1, side="right"))
        parked = None  # made when a lane has to wait (not in the usual, all-together piece)
        stash: dict = {}
        stalls = 0
        together = bool(running[:n_real].all())  # no member stopped: padding lanes are still copies of lane 0
        while True:
            if together:  # every lane at s0 with the same grid ahead: no parking, no mirroring
                together = False
                pts = U[ui[0]:e_s]
                for ev in tev:
                    ev.hits.clear()
                for ev in ntev:
                    ev.hits.clear()
                if pts.size == 0 or (pts.size == 1 and pts[0] == s1):
                    # no grid epoch inside the piece (at most one at its end): propagate_until, whose end
                    # state is the grid row, saves propagate_grid's dense-output bookkeeping; on a
                    # terminal event its outcome is laid out as propagate_grid's (rows s0, s1; NaN where
                    # a lane did not reach s1) for the general handling below
                    ta.propagate_until(s1)
                    t_now = np.asarray(ta.time)
                    if (t_now == s1).all() and not any(ev.hits for ev in tev):
                        if pts.size:
                            rows[:, ui[0]] = np.asarray(ta.state).T
                            ui[:] = e_s
                        res = True
                    else:
                        xs = np.full((2, 6, B), np.nan)  # row 0 (s0) is never read
                        hit = t_now == s1
                        xs[1][:, hit] = np.asarray(ta.state)[:, hit]
                        res = (None, xs)
                else:
                    if pts[-1] < s1:
                        pts = np.append(pts, s1)
                    grid = np.empty((pts.size + 1, B))
                    grid[0] = s0
                    grid[1:] = pts[:, None]
                    res = ta.propagate_grid(grid)
                    t_now = np.asarray(ta.time)
                    if (t_now == s1).all() and not any(ev.hits for ev in tev):
                        n0 = e_s - ui[0]
                        if n0:
                            rows[:, ui[0]:e_s] = np.asarray(res[1])[1:1 + n0].transpose(2, 0, 1)
                            ui[:] = e_s
                        res = True
                if res is True:
                    # the usual outcome: every lane flew the piece, no terminal event: rows copied, go on
                    pres = ta.propagate_res
                    steps[:n_real] += [p[3] for p in pres[:n_real]]
                    for ev, spec in zip(ntev, nt_specs):
                        for lane, t, sg in ev.hits:
                            if running[lane]:
                                events[owner[lane]].append((spec.label(sg), spec.body, t, False))
                    break
                # an event stopped the batch: what the general handling below needs from this try
                todo = running.copy()  # padding lanes are flown (as copies of lane 0) but never read back
                idx, offset = all_lanes, no_offset
                times = np.full(B, s0)
                src, fast = 0, True
            else:
                res = None
            if parked is None:
                parked = np.zeros(B, bool)
            if res is None:
                times = np.array(ta.time, float)
                active = running & ~parked
                for k in np.nonzero(active & (times >= s1))[0]:  # reached s1 while others fly: park
                    stash[k] = (times[k], np.array(ta.state[:, k], float), np.array(ta.pars[:, k], float))
                    parked[k] = True
                todo = active & (times < s1)
                idx = np.nonzero(todo)[0]
                if idx.size == 0:
                    break
                src = int(idx[0])
                fast = bool(np.all(times[idx] == times[src]) and np.all(ui[idx] == ui[src]))
                if fast:
                    # all lanes at the same epoch with the same grid ahead (the usual case): one grid
                    pts = U[ui[src]:e_s]
                    if pts.size == 0 or pts[-1] < s1:
                        pts = np.append(pts, s1)
                    grid = np.empty((pts.size + 1, B))
                    grid[0] = times[src]
                    grid[1:] = pts[:, None]
                    offset = np.zeros(B, int)
                else:
                    col = {}
                    for k in idx:
                        pk = U[ui[k]:e_s]
                        if pk.size == 0 or pk[-1] < s1:
                            pk = np.append(pk, s1)
                        col[int(k)] = pk
                    count = max(c.size for c in col.values())
                    grid = np.empty((count + 1, B))
                    offset = np.zeros(B, int)
                    for k, pk in col.items():
                        grid[0, k] = times[k]
                        grid[1:, k] = _spread(times[k], pk, count)
                        offset[k] = count - pk.size  # this lane's epochs are the last of its column
                mirror = ~todo
                if mirror.any():
                    st = np.array(ta.state, float)
                    st[:, mirror] = st[:, [src]]
                    ta.state[:] = st
                    times[mirror] = times[src]
                    grid[:, mirror] = grid[:, [src]]
                    if npar:
                        ta.pars[:, mirror] = ta.pars[:, [src]]
                ta.set_time(times)
                for ev in tev:
                    ev.hits.clear()
                for ev in ntev:
                    ev.hits.clear()
                res = ta.propagate_grid(grid)
            xs = np.asarray(res[1])  # (n + 1, 6, B)
            pres = ta.propagate_res
            t_now = np.array(ta.time, float)
            progressed = bool(np.any(t_now[idx] > times[idx]))
            steps[idx] += [pres[k][3] for k in idx]
            n0 = e_s - ui[src]
            c0 = xs[1:1 + n0, :, idx] if fast else None
            if fast and np.isfinite(c0).all():  # every lane reached every epoch: one copy
                rows[idx, ui[src]:e_s] = c0.transpose(2, 0, 1)
                ui[idx] = e_s
            for k in ([] if fast and ui[src] == e_s else idx):
                k = int(k)
                n_grid = e_s - ui[k]  # epochs of U among this lane's (an appended s1 comes after them)
                c = xs[1 + offset[k]:1 + offset[k] + n_grid, :, k]
                ok = np.isfinite(c).all(axis=1)
                n_ok = int(np.argmin(ok)) if not ok.all() else n_grid
                rows[k, ui[k]:ui[k] + n_ok] = c[:n_ok]
                ui[k] += n_ok
            for ev, spec in zip(ntev, nt_specs):
                for lane, t, sg in ev.hits:
                    if todo[lane]:
                        events[owner[lane]].append((spec.label(sg), spec.body, t, False))
            for j, ev in enumerate(tev):
                for lane, t, sg, x in ev.hits:
                    if not todo[lane] or not running[lane]:
                        continue
                    i = owner[lane]
                    running[lane] = False
                    progressed = True
                    if j < len(term_specs):
                        spec = term_specs[j]
                        events[i].append((spec.label(sg), spec.body, t, True))
                        status[i] = f"terminal event: {spec.label(sg)} ({spec.body})"
                        final[i] = (t, x)
                    else:
                        status[i] = "scalar"
            bad = todo & running & ~np.isfinite(np.asarray(ta.state)).all(axis=0)
            for k in np.nonzero(bad)[0]:
                running[k] = False
                status[owner[k]] = "non-finite state (integration failed)"
                final[owner[k]] = (float(t_now[k]), np.array(ta.state[:, k], float))
            if not progressed:  # never loop in place: what batch mode cannot advance goes scalar
                stalls += 1
                if stalls > 2:
                    for k in idx:
                        if running[k]:
                            running[k] = False
                            status[owner[k]] = "scalar"
            else:
                stalls = 0
            if not np.any(running & ~parked & (t_now < s1)):  # the segment is done for every member
                break
        if stash:  # members that reached s1: back into their lanes
            st = np.array(ta.state, float)
            times = np.array(ta.time, float)
            for k, (tk, xk, pk) in stash.items():
                st[:, k], times[k] = xk, tk
                if npar:
                    ta.pars[:, k] = pk
            ta.state[:] = st
            ta.set_time(times)
        if s1 in dv_at and s1 < t_stop:  # impulsive manoeuvre of every member still flying
            st = np.array(ta.state, float)
            for k in np.nonzero(running)[0]:
                st[3:, k] += dv_at[s1][owner[k]]
            if running[0]:  # padding lanes stay copies of lane 0
                st[:, n_real:] = st[:, :1]
            ta.state[:] = st
    tf = np.array(ta.time, float)
    xf = np.array(ta.state, float)
    for k, i in enumerate(owner):
        if i is not None and running[k]:
            final[i] = (float(tf[k]), xf[:, k].copy())
    for k, i in enumerate(owner[:n_real]):
        events[i].sort(key=lambda e: e[2])
        out[i] = (rows[k][inv], int(np.searchsorted(inv, ui[k])) if ui[k] < NU else g.size, final.get(i),
                  status.get(i, "span completed"), events[i], int(steps[k]))


class _StartContexts:
    """Numeric contexts of the members at the common epoch ``t0``: the bodies' positions and rotations
    there (ephemeris look-ups, the costly part) are computed once and shared by every member's context,
    which only swaps the state in. They are also remembered across calls (an LRU of
    ``_T0_MEMO_SIZE`` epochs, keyed by the epoch, the ephemeris and rotation objects): a Monte Carlo
    flies many calls from the same epochs, and a look-up is a deterministic function of these, so a
    remembered one is the same numbers. Tracks other than the built-in ones are never remembered."""

    def __init__(self, comp: _Compiled, t0: float):
        self.base = Context.numeric(t0, np.zeros(6), comp.tracks, comp.rotations, comp.params)
        self._key = self._memo_key(comp, t0)
        if self._key is not None:
            with _T0_LOCK:
                hit = _T0_MEMO.get(self._key)
                if hit is not None:
                    _T0_MEMO.move_to_end(self._key)
            if hit is not None:
                self.base._pos_cache.update({k: list(v) for k, v in hit[1].items()})
                self.base._rot_cache.update({k: [list(r) for r in m] for k, m in hit[2].items()})

    @staticmethod
    def _memo_key(comp: _Compiled, t0: float):
        ids = []
        for name, tr in sorted(comp.tracks.items()):
            if type(tr) not in (ChebyshevTrack, AnalyticTrack):
                return None
            ids.append((name, type(tr).__name__, id(tr.eph)))
        return (float(t0), tuple(ids), id(comp.rotations))

    def remember(self, comp: _Compiled) -> None:
        """Keep what the members' contexts looked up (held with the objects whose ids are in the key)."""
        if self._key is None or not (self.base._pos_cache or self.base._rot_cache):
            return
        refs = ([tr.eph for tr in comp.tracks.values()], comp.rotations)
        pos = {k: list(v) for k, v in self.base._pos_cache.items()}
        rot = {k: [list(r) for r in m] for k, m in self.base._rot_cache.items()}
        with _T0_LOCK:
            _T0_MEMO[self._key] = (refs, pos, rot)
            _T0_MEMO.move_to_end(self._key)
            while len(_T0_MEMO) > _T0_MEMO_SIZE:
                _T0_MEMO.popitem(last=False)

    def at(self, x: np.ndarray) -> Context:
        c = copy.copy(self.base)  # shallow: the position and rotation caches (same epoch) are shared
        s = np.asarray(x, dtype=float)
        c.r, c.v = [s[0], s[1], s[2]], [s[3], s[4], s[5]]
        return c


_T0_MEMO: OrderedDict = OrderedDict()
_T0_LOCK = threading.Lock()
_T0_MEMO_SIZE = 256


def _starts_inside(comp: _Compiled, model, t0: float, x: np.ndarray, ctx: Context | None = None) -> bool:
    """Whether a member starts inside a fallback surface (a refined impact's trigger, the near-surface
    switch radius): the batch could not see it enter, so the scalar path flies it."""
    if not comp.fallback:
        return False
    ctx = ctx if ctx is not None else Context.numeric(t0, x, comp.tracks, comp.rotations, comp.params)
    return any(float(e.expression(ctx)) <= 0.0 for e in comp.fallback)


def _start_switches(model, comp: _Compiled, ctx: Context) -> list:
    """(index, value) of the switched parameters (shadows) a member loads before its first step, as
    ``propagator._switch_parameters`` finds them, from a member's context at t0."""
    out = []
    for f in model.forces:
        if hasattr(f, "switch_parameters"):
            out += [(comp.params.names.index(k), v) for k, v in f.switch_parameters(ctx).items()]
    return out


def _check_manoeuvres(manoeuvres, t0: float, t_stop: float, n: int) -> list:
    """[(epoch, (N, 3) dv)] sorted by epoch, manoeuvres at the same epoch added."""
    out: dict = {}
    for j, item in enumerate(manoeuvres or []):
        try:
            tm, dv = item
            tm = float(tm)
            dv = np.asarray(dv, dtype=float)
        except (TypeError, ValueError):
            raise InputError(f"manoeuvres[{j}]", item, "(epoch, dv) with dv in km/s of shape (3,) or (N, 3)") from None
        if not (np.isfinite(tm) and t0 <= tm < t_stop):
            raise InputError(f"manoeuvres[{j}].epoch", tm, f"an epoch in [t0, t_stop) = [{t0}, {t_stop})")
        if dv.shape == (3,):
            dv = np.repeat(dv[None, :], n, axis=0)
        if dv.shape != (n, 3) or not np.all(np.isfinite(dv)):
            raise InputError(f"manoeuvres[{j}].dv", f"array of shape {dv.shape}",
                             f"finite km/s of shape (3,) or ({n}, 3)")
        out[tm] = out.get(tm, 0.0) + dv
    return sorted(out.items())


def _scalar_with_manoeuvres(model, t0: float, x0: np.ndarray, g: np.ndarray, t_stop: float, burns: list):
    """:func:`propagate` of one member, in arcs between its manoeuvres (grid rows at a manoeuvre
    epoch hold the state before it), as one :class:`Propagation`."""
    if not burns:
        return propagate(model, t0, x0, g, t_stop=t_stop)
    cuts = [t0, *[tm for tm, _ in burns if tm > t0], t_stop]
    dv = dict(burns)
    x = np.array(x0, float)
    if t0 in dv:
        x[3:] += dv[t0]
    ts, xs, evs, steps, tp = [], [], [], 0, 0.0
    p = None
    for a, b in zip(cuts[:-1], cuts[1:]):
        pts = g[(g >= a) & (g <= b)] if a == t0 else g[(g > a) & (g <= b)]
        if a == t0 and t0 in dv and pts.size and pts[0] == t0:  # the row at t0: before the manoeuvre
            ts += [t0] * int(np.count_nonzero(pts == t0))
            xs += [np.array(x0, float)] * int(np.count_nonzero(pts == t0))
            pts = pts[pts > t0]
        p = propagate(model, a, x, pts if pts.size else np.array([b]), t_stop=b)
        n_grid = int(np.count_nonzero(np.isin(p.t, pts)))
        ts += list(p.t[:n_grid])
        xs += list(p.states[:n_grid])
        evs += list(p.events)
        steps += p.n_steps
        tp += p.propagate_s
        if p.termination != "span completed":
            break
        x = np.array(p.final_state, float)
        if b in dv and b < t_stop:
            x[3:] += dv[b]
    return Propagation(np.asarray(ts), np.asarray(xs).reshape(-1, 6), evs, p.termination, p.compile_s, tp, steps,
                       p.final_time, p.final_state)


def propagate_ensemble(model: DynamicsModel, t0: float, states0, t_grid, *, parameters: dict | None = None,
                       t_stop: float | None = None, workers: int | None = None,
                       batch_size: int | None = None, manoeuvres=None) -> EnsemblePropagation:
    """Propagate N initial states (Mars-centred ICRF, km, km/s) of ``model`` from ``t0`` over ``t_grid``.

    ``states0``: (N, 6) (a single (6,) state is one member). ``parameters``: {name: (N,) values or one
    value} overriding the model's runtime parameters per member; :func:`parameter_names` lists those
    the model accepts (e.g. ``"srp:cr_area_over_mass"`` in m^2/kg). ``t_stop`` (default: last grid
    epoch) ends the integration unless a terminal event ends a member first. ``workers``: threads
    (default 1), each flying whole batches. ``batch_size``: lanes per batch (default
    ``heyoka.recommended_simd_size()``). ``manoeuvres``: [(epoch, dv)], impulsive velocity changes
    (km/s, ICRF) at epochs in [t0, t_stop), ``dv`` of shape (3,) for every member or (N, 3); a grid
    epoch equal to a manoeuvre's holds the state before it.

    Each member equals :func:`~mmxsim.dynamics.propagate` of its state and parameters to the
    integrator's tolerance (same equations, same segments, its own adaptive steps).
    """
    t0, x0, g, pars, t_stop, workers, batch_size = _check_inputs(model, t0, states0, t_grid, parameters, t_stop,
                                                                 workers, batch_size)
    burns = _check_manoeuvres(manoeuvres, t0, t_stop, x0.shape[0])
    import heyoka as hy

    B = int(batch_size or hy.recommended_simd_size())
    key, cached, compile_s = _cached(model, B)
    params, tracks = _instance(model, cached)
    comp = _Compiled(_POOL.borrow(key, cached), params, tracks, cached.rotations, cached.terminal, cached.fallback,
                     cached.nonterminal, cached.n_breaks, compile_s)
    try:
        return _propagate(model, comp, t0, x0, g, pars, t_stop, workers, B, burns, key, cached)
    except BaseException:
        comp.ta = None  # an integrator left mid-call is not lent again
        raise
    finally:
        if comp.ta is not None:
            _POOL.give_back(key, comp.ta)


def _propagate(model, comp: _Compiled, t0, x0, g, pars, t_stop, workers, B, burns, key, cached):
    """The body of :func:`propagate_ensemble` once the inputs are checked and an integrator is borrowed."""
    n = x0.shape[0]
    names = comp.params.names
    base = np.asarray(comp.params.values, float)
    lane_pars = np.repeat(base[:, None], n, axis=1) if base.size else np.zeros((0, n))
    for k, v in pars.items():
        lane_pars[names.index(k)] = v
    tp0 = _time.perf_counter()
    scalar = []
    batch = []
    if comp.fallback or any(hasattr(f, "switch_parameters") for f in model.forces):
        starts = _StartContexts(comp, t0)
        for i in range(n):
            ctx = starts.at(x0[i])
            (scalar if _starts_inside(comp, model, t0, x0[i], ctx) else batch).append(i)
            for j, v in _start_switches(model, comp, ctx):
                lane_pars[j, i] = v
        starts.remember(comp)
    else:
        batch = list(range(n))
    segments = _Segments(comp.tracks, comp.params, t0, t_stop)
    groups = [batch[k:k + B] for k in range(0, len(batch), B)]
    out: dict = {}
    errors: list = []
    workers_used = max(1, min(workers, len(groups)))

    def work(w: int):
        c = None
        try:
            c = comp if w == 0 else _Compiled(_POOL.borrow(key, cached), comp.params, comp.tracks, comp.rotations,
                                              comp.terminal, comp.fallback, comp.nonterminal, comp.n_breaks, 0.0)
            for gidx in range(w, len(groups), workers_used):
                _run_batch(c, groups[gidx], x0, lane_pars, t0, g, t_stop, segments, out, burns)
            if w:
                _POOL.give_back(key, c.ta)
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    if workers_used == 1:
        work(0)
    else:
        threads = [threading.Thread(target=work, args=(w,)) for w in range(workers_used)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    if errors:
        raise errors[0]
    G = g.size
    states = np.full((n, G, 6), np.nan)
    reached = np.zeros(n, int)
    final_time = np.full(n, np.nan)
    final_state = np.full((n, 6), np.nan)
    termination = [""] * n
    events: list = [[] for _ in range(n)]
    path = ["batch"] * n
    n_steps = np.zeros(n, int)
    for i, (rows, gi, fin, status, evs, steps) in out.items():
        if status == "scalar":
            scalar.append(i)
            continue
        states[i], reached[i] = rows, gi
        final_time[i], final_state[i] = fin
        termination[i], events[i], n_steps[i] = status, evs, steps
    for i in sorted(scalar):
        m = _scalar_model(model, {k: float(v[i]) for k, v in pars.items()})
        p = _scalar_with_manoeuvres(m, t0, x0[i], g, t_stop, [(tm, dv[i]) for tm, dv in burns])
        on_grid = int(np.count_nonzero(np.isin(p.t, g)))
        rows = np.full((G, 6), np.nan)
        # propagate() gives one row per grid epoch reached (duplicates included), then the event state
        k = min(on_grid, G)
        rows[:k] = p.states[:k]
        states[i], reached[i] = rows, k
        final_time[i], final_state[i] = p.final_time, p.final_state
        termination[i], events[i], n_steps[i] = p.termination, list(p.events), p.n_steps
        path[i] = "scalar"
    return EnsemblePropagation(g, states, reached, final_time, final_state, termination, events, path,
                               comp.compile_s, _time.perf_counter() - tp0, B, workers_used, n_steps)
