"""Propagation with heyoka's Taylor integrator: build, cache, propagate, sample.

Tudat-style: a declarative :class:`DynamicsModel` (forces, events, tolerance,
ephemeris) is turned by :func:`build` into a compiled integrator. Compiled
integrators are cached per process by the model's *signature* (forces, events,
tolerance, the kind of each body track): a second propagation of the same model,
at any epoch, with any spacecraft parameters, pays no compile cost (a cached
integrator is deep-copied, ~1 ms). Compile time is reported separately.

The propagation frame is Mars-centred ICRF; the integrator's independent variable
is TDB seconds past J2000.
"""

from __future__ import annotations

import copy
import time as _time
from dataclasses import dataclass, field

import numpy as np

from ..errors import MmxsimError
from .context import Context, ParameterTable
from .jit import HEYOKA_OPTIONS
from .surface_watch import SurfaceWatch, Trigger
from .model import DynamicsModel, Propagation, body_rotations, moon_source  # noqa: F401 (public here too)
from .near_surface import propagate_switched
from .tracks import SegmentFits, segment_length

_CACHE: dict[tuple, tuple] = {}

# Integrators being built ahead of need in a thread of this process (mission.warmup, on a first run):
# key -> threading.Event set when that build has ended. A builder about to compile an integrator whose
# build is under way waits for it and then finds the module in heyoka's in-memory cache, instead of
# compiling the same module a second time alongside.
PREBUILDS: dict = {}


def signature_digest(model: DynamicsModel) -> str:
    """A short digest of ``model.signature()`` (the key of the integrator caches)."""
    import hashlib

    return hashlib.sha256(repr(model.signature()).encode()).hexdigest()[:20]


def await_prebuild(key) -> None:
    """Wait (at most 120 s) for the ahead-of-need build of ``key`` if one is under way (see PREBUILDS)."""
    ev = PREBUILDS.get(key)
    if ev is not None:
        ev.wait(timeout=120.0)


@dataclass
class Compiled:
    ta: object
    params: ParameterTable
    tracks: dict
    rotations: dict
    events: list  # (Event spec, terminal?) in heyoka order: terminal first then non-terminal
    compile_s: float
    watched: list = field(default_factory=list)  # refined event specs: their triggers end ta.t_events


class _StepBreak:
    """Callback of a step-breaking event: switch parameters if asked, record nothing, continue.

    ``below`` / ``above``: (parameter index, value) pairs to set when, after the event, the
    event function is negative / positive in the direction of integration. heyoka's ``d_sgn``
    is the sign of the time derivative and ``ta.last_h`` (the step just truncated at the event)
    carries the direction, so the side reached is ``d_sgn * sign(last_h)``.
    """

    def __init__(self, below=(), above=()):
        self.below = tuple(below)
        self.above = tuple(above)

    def __call__(self, ta, d_sgn):
        if self.below or self.above:
            h = ta.last_h
            side = d_sgn * (1 if h > 0 else -1 if h < 0 else 0)
            if side:
                pars = ta.pars
                for i, v in (self.above if side > 0 else self.below):
                    pars[i] = v
        return True


def _step_break(item, params: ParameterTable):
    """(expression, callback) of an entry of ``step_breaks``: an expression or a ``Switch``."""
    from .forces import Switch

    if isinstance(item, Switch):
        idx = {k: params.names.index(k) for k in (*item.below, *item.above)}
        return item.expr, _StepBreak([(idx[k], float(v)) for k, v in item.below.items()],
                                     [(idx[k], float(v)) for k, v in item.above.items()])
    return item, _StepBreak()


def step_break_events(model, ctx, params: ParameterTable) -> list:
    """heyoka terminal events (continuing) for every force's step breaks (e.g. shadow edges)."""
    import heyoka as hy

    return [hy.t_event(ex, callback=cb, direction=hy.event_direction.any)
            for f in model.forces for ex, cb in (_step_break(b, params) for b in f.step_breaks(ctx))]


class SegmentSchedule:
    """The Chebyshev segments of a propagation from ``t0`` to ``t_stop`` and their parameters.

    ``seg`` is the segment length (the whole span when no body is a Chebyshev track); the
    propagation flies ``[s0, s1]`` with ``s1 = min(s0 + seg, t_stop)`` and calls :meth:`enter`
    at each ``s0`` to load ``t_mid``, ``1/half`` and the coefficients into the integrator.
    """

    def __init__(self, tracks: dict, params: ParameterTable, t0: float, t_stop: float):
        self.cheb = [tr for tr in tracks.values() if tr.kind == "chebyshev"]
        self.seg = segment_length(tracks.values()) if self.cheb else max(t_stop - t0, 1.0)
        self.i_tmid = params.names.index("cheb:t_mid") if self.cheb else None
        self.i_ih = params.names.index("cheb:inv_half") if self.cheb else None
        self.fits = SegmentFits(self.cheb, self.seg, t_stop) if self.cheb else None

    def enter(self, ta, s0: float, s1: float) -> None:
        if self.cheb:
            ta.pars[self.i_tmid] = 0.5 * (s0 + s1)
            ta.pars[self.i_ih] = 2.0 / (s1 - s0) if s1 > s0 else 1.0
            for tr, coef in self.fits.coefficients(s0):
                ta.pars[tr.first_par: tr.first_par + coef.size] = coef.reshape(-1)


def _switch_parameters(model, t, state, tracks, rots, params: ParameterTable) -> list:
    """(index, value) of switched parameters at a numeric state (see ``Switch``)."""
    forces = [f for f in model.forces if hasattr(f, "switch_parameters")]
    if not forces:
        return []
    ctx = Context.numeric(t, state, tracks, rots, params)
    out = []
    for f in forces:
        out += [(params.names.index(k), v) for k, v in f.switch_parameters(ctx).items()]
    return out


def switch_parameters(model, t, state, tracks, rots, params: ParameterTable) -> list:
    """(index, value) of the switched runtime parameters (shadow regions) at a numeric state:
    what a propagation starting there loads before its first step (public for other drivers)."""
    return _switch_parameters(model, t, state, tracks, rots, params)


class _Recorder:
    """Event callback object (deep-copied with the integrator)."""

    def __init__(self, index: int, terminal: bool):
        self.index = index
        self.terminal = terminal
        self.hits: list = []

    def __call__(self, ta, *args):
        if self.terminal:  # (ta, d_sgn) -> bool
            d_sgn = args[0]
            self.hits.append((ta.time, int(d_sgn)))
            return False
        t, d_sgn = args  # (ta, time, d_sgn)
        self.hits.append((t, int(d_sgn)))


def rhs_expressions(model: DynamicsModel):
    """The equations of motion as heyoka expressions, with the parameter table."""
    params = ParameterTable()
    tracks = model.make_tracks()
    if any(t.kind == "chebyshev" for t in tracks.values()):
        params.index("cheb:t_mid")
        params.index("cheb:inv_half")
        for t in tracks.values():
            if t.kind == "chebyshev":
                t.reserve(params)
    rots = body_rotations(model)
    ctx = Context.symbolic(tracks, rots, params)
    for f in model.forces:
        for k, v in f.parameters().items():
            params.index(k, v)
    acc = [0.0, 0.0, 0.0]
    for f in model.forces:
        a = f.acceleration(ctx)
        acc = [acc[i] + a[i] for i in range(3)]
    x, y, z = ctx.r
    vx, vy, vz = ctx.v
    sys = [(x, vx), (y, vy), (z, vz), (vx, acc[0]), (vy, acc[1]), (vz, acc[2])]
    return sys, ctx, params, tracks, rots


def instance_state(model: DynamicsModel, params: ParameterTable, tracks: dict) -> tuple[ParameterTable, dict]:
    """The runtime parameters and tracks of ``model`` for an integrator compiled (and cached) for an
    equal model: a copy of the cached ``params`` with this instance's force values (e.g. its spacecraft
    A/m) and fresh tracks whose Chebyshev parameter slots are the compiled ones. Shared by the scalar,
    ensemble and variational caches."""
    params = copy.deepcopy(params)
    for f in model.forces:
        for k, v in f.parameters().items():
            params.values[params.names.index(k)] = v
    fresh = model.make_tracks()
    for name, tr in fresh.items():
        if tr.kind == "chebyshev":
            tr.first_par = tracks[name].first_par
    return params, fresh


def build(model: DynamicsModel) -> Compiled:
    """Compile (or fetch from the cache) the integrator for ``model``."""
    sig = model.signature()
    if sig in _CACHE:
        c = _CACHE[sig]
        params, tracks = instance_state(model, c.params, c.tracks)
        return Compiled(copy.deepcopy(c.ta), params, tracks, c.rotations, c.events, 0.0, c.watched)
    if PREBUILDS:
        await_prebuild(("propagator", signature_digest(model)))
    comp = _compile(model)
    _CACHE[sig] = comp
    return Compiled(copy.deepcopy(comp.ta), copy.deepcopy(comp.params), comp.tracks, comp.rotations, comp.events,
                    comp.compile_s, comp.watched)


def _compile(model: DynamicsModel) -> Compiled:
    """The integrator of ``model``, compiled now (heyoka's own caches apart) and not cached here: what
    :func:`build` caches, and what :mod:`mmxsim.mission.warmup` builds ahead of the run."""
    import heyoka as hy

    t0 = _time.perf_counter()
    sys, ctx, params, tracks, rots = rhs_expressions(model)
    t_events, nt_events, specs = [], [], []
    for ev in model.events:
        if ev.terminal and not getattr(ev, "refine", False):
            direction = {"negative": hy.event_direction.negative, "positive": hy.event_direction.positive,
                         "any": hy.event_direction.any}[ev.direction]
            t_events.append((ev, hy.t_event(ev.expression(ctx), callback=_Recorder(len(t_events), True),
                                            direction=direction)))
    for ev in model.events:
        if not ev.terminal:
            nt_events.append((ev, hy.nt_event(ev.expression(ctx), _Recorder(len(nt_events), False))))
    specs = [(e, True) for e, _ in t_events] + [(e, False) for e, _ in nt_events]
    breaks = step_break_events(model, ctx, params)
    # exact surfaces that are not expressions: a trigger event here, the rest in surface_watch
    watched = [ev for ev in model.events if getattr(ev, "refine", False)]
    triggers = [hy.t_event(ev.expression(ctx), callback=Trigger(), direction=hy.event_direction.any)
                for ev in watched]
    ta = hy.taylor_adaptive(sys, [0.0] * 6, tol=model.tolerance, pars=list(params.values),
                            t_events=[e for _, e in t_events] + breaks + triggers,
                            nt_events=[e for _, e in nt_events], compact_mode=model.compact_mode,
                            **HEYOKA_OPTIONS)
    return Compiled(ta, params, tracks, rots, specs, _time.perf_counter() - t0, watched)


def propagate(model: DynamicsModel, t0: float, state0, t_grid, t_stop: float | None = None,
              progress=None, near_surface: bool = True) -> Propagation:
    """Propagate ``state0`` (Mars-centred ICRF, km, km/s) from ``t0`` over ``t_grid``.

    ``t_grid``: output epochs (TDB s, increasing, within [t0, t_stop]). The
    integration stops at ``t_stop`` (default: last grid epoch) or at a terminal
    event. ``progress(fraction)`` is called at every segment boundary.
    With Phobos harmonics, arcs inside their switch radius are flown with a field valid to
    the surface (:mod:`mmxsim.dynamics.near_surface`; ``near_surface=False``: heyoka only).

    The result holds the grid epochs reached and, after a terminal event between grid
    epochs, the state at the event as the last row (so ``t`` is not uniform then).
    """
    t_grid = np.asarray(t_grid, dtype=float)
    if t_stop is None:
        t_stop = float(t_grid[-1])
    if not np.all(np.isfinite(state0)):
        raise MmxsimError("initial state contains NaN or infinity")
    if near_surface:
        switched = propagate_switched(model, t0, state0, t_grid, t_stop, progress, arc=_propagate_heyoka)
        if switched is not None:
            return switched
    return _propagate_heyoka(model, t0, state0, t_grid, t_stop, progress)


def _propagate_heyoka(model: DynamicsModel, t0: float, state0, t_grid: np.ndarray, t_stop: float,
                      progress=None) -> Propagation:
    """One heyoka propagation of ``model`` (no near-surface switch): :func:`propagate`'s work."""
    comp = build(model)
    ta = comp.ta
    ta.time = float(t0)
    ta.state[:] = np.asarray(state0, dtype=float)
    ta.pars[:] = np.asarray(comp.params.values, dtype=float)
    for i, v in _switch_parameters(model, t0, state0, comp.tracks, comp.rotations, comp.params):
        ta.pars[i] = v
    watch = SurfaceWatch.create(comp, ta, t0, state0)  # None unless an exact-surface event is on
    cb = {} if watch is None else {"callback": watch}
    segments = SegmentSchedule(comp.tracks, comp.params, t0, t_stop)
    seg = segments.seg
    out_t, out_x = [], []
    n_steps = 0
    termination = "span completed"
    tp0 = _time.perf_counter()
    s0 = float(t0)
    gi = 0
    # grid points exactly at t0
    while gi < t_grid.size and t_grid[gi] <= s0:
        out_t.append(t_grid[gi])
        out_x.append(ta.state.copy())
        gi += 1
    while s0 < t_stop:
        s1 = min(s0 + seg, t_stop)
        segments.enter(ta, s0, s1)
        # output epochs of this segment come from the Taylor polynomials of the steps that
        # contain them (propagate_grid); much cheaper than building a continuous output object
        j = gi
        while j < t_grid.size and t_grid[j] <= s1:
            j += 1
        if j > gi:
            g = t_grid[gi:j]
            u, inv = np.unique(g, return_inverse=True)  # heyoka wants a strictly increasing grid
            tail = [s1] if u[-1] < s1 else []
            res = ta.propagate_grid(np.concatenate([[ta.time], u, tail]), **cb)
            xs = np.asarray(res[-1])[1:]  # rows for the grid points reached
            ok = inv < len(xs)
            out_t.extend(g[ok])
            out_x.extend(xs[inv[ok]])
            gi += int(np.count_nonzero(ok))
        else:
            res = ta.propagate_until(s1, write_tc=watch is not None, **cb)
        outcome, n = res[0], res[3]
        n_steps += int(n)
        t_reached = ta.time
        if progress is not None:
            progress(min(1.0, (t_reached - t0) / max(t_stop - t0, 1e-9)))
        name = str(outcome).split(".")[-1]
        if name not in ("time_limit", "success"):
            if name == "err_nf_state":
                termination = "non-finite state (integration failed)"
            else:
                termination = "terminal event"
            break
        s0 = s1
    events = []
    terminal_specs = [e for e, term in comp.events if term]
    nt_specs = [e for e, term in comp.events if not term]
    for k, ev in enumerate(ta.t_events[: len(terminal_specs)] if terminal_specs else []):
        for t, sg in ev.callback.hits:
            spec = terminal_specs[k]
            events.append((spec.label(sg), spec.body, float(t), True))
    for k, ev in enumerate(ta.nt_events if nt_specs else []):
        for t, sg in ev.callback.hits:
            spec = nt_specs[k]
            events.append((spec.label(sg), spec.body, float(t), False))
    if watch is not None and watch.hit is not None:  # stopped on an exact surface: back to the impact
        t_hit = watch.stop_at_hit(ta)
        events += watch.events()
        keep = [k for k, t in enumerate(out_t) if t <= t_hit]
        out_t, out_x = [out_t[k] for k in keep], [out_x[k] for k in keep]
    if termination == "terminal event" and (not out_t or ta.time > out_t[-1]):
        out_t.append(ta.time)  # the state at the terminal event ends the output
        out_x.append(ta.state.copy())
    events.sort(key=lambda e: e[2])
    if termination == "terminal event" and events:
        term = [e for e in events if e[3]]
        if term:
            termination = f"terminal event: {term[-1][0]} ({term[-1][1]})"
    tp = _time.perf_counter() - tp0
    return Propagation(np.asarray(out_t), np.asarray(out_x).reshape(-1, 6), events, termination,
                       comp.compile_s, tp, n_steps, float(ta.time), ta.state.copy())


def numpy_rhs(model: DynamicsModel, cheb_origin: float | None = None):
    """The same equations of motion as a NumPy function ``f(t, y)`` (for SciPy).

    By default bodies come straight from the ephemeris. With ``cheb_origin`` (TDB s),
    DE/SPICE bodies use the integrator's Chebyshev segments (anchored there), cached.
    """
    params = ParameterTable()
    tracks = model.make_tracks()
    if cheb_origin is not None:
        from .tracks import CachedChebyshev

        seg = segment_length(tracks.values())
        tracks = {k: CachedChebyshev(v, cheb_origin, seg) if v.kind == "chebyshev" else v for k, v in tracks.items()}
    rots = body_rotations(model)
    for f in model.forces:
        for k, v in f.parameters().items():
            params.index(k, v)

    def f(t, y):
        ctx = Context.numeric(t, y, tracks, rots, params)
        acc = [0.0, 0.0, 0.0]
        for fm in model.forces:
            a = fm.acceleration(ctx)
            acc = [acc[i] + a[i] for i in range(3)]
        return np.array([y[3], y[4], y[5], float(acc[0]), float(acc[1]), float(acc[2])])

    return f
