"""Switching Phobos' gravity to a model valid down to the surface, inside the harmonics' switch radius.

Why. The spherical harmonics of :class:`~mmxsim.dynamics.forces.PhobosGravity` are only
accurate to 1e-3 outside a switch radius R_s (:mod:`mmxsim.gravity.validity`: 22 km from
Phobos' centre at degree 8, 20 km at degree 10; the measured maximum error there is 4.3e-4
and 3.3e-4); inside the Brillouin sphere (13.94 km) they diverge (5-6 % at 13.5-14 km).

How. :func:`propagate_switched` (called by :func:`~mmxsim.dynamics.propagate` for a model
whose ``PhobosGravity`` has harmonics and ``near_surface`` other than ``"off"``) flies the arcs
outside R_s with heyoka, exactly as before, plus one terminal event at |r - r_Phobos| = R_s
inward (:class:`NearSurfaceEntry`). At that event the arc is handed to SciPy's DOP853
(rtol 1e-11, atol 1e-12) on the NumPy equations of the *same* force objects, with Phobos'
harmonics replaced by the near-surface field (:class:`NearSurfacePhobos`: the exact
constant-density polyhedron of the same Ernst mesh and GM, or its interpolation grid); all
other forces, including Phobos' indirect term, are unchanged. It hands back to heyoka when
the spacecraft leaves R_s + 0.1 km (hysteresis, so that a grazing orbit does not chatter; the
0.1 km band is flown with the exact field). Inside the arc the output grid points come from
DOP853's dense output and the model's events are looked for by SciPy's event location: the
Phobos impact through the impact surface's ``altitude`` (works for any registered surface),
other events through their own expressions evaluated numerically; terminal events end the
propagation as in heyoka. ``Propagation.arcs`` lists (t_start, t_end, model) for every arc.

The entry event is scaled by 1e-8 (km^2): heyoka includes event functions in its step-size
control, and with scale 1 a 2-day run of the 50 km reference QSO took 209 steps instead of 191
and moved by 2 mm. With Phobos on the integrated ephemeris (a Chebyshev track), 1 day of the
reference QSO: scale 1e-6 moved the states by 8e-8 km, 1e-8 to 1e-12 left them bit-identical to a
run without the event (measured), so orbits that never come inside R_s are unchanged.

With Phobos' ephemeris correction on (``PhobosGravity(ephemeris_parameters=True)``) the inner arc's
field, its exit test and the impact surface use the corrected Phobos; the entry event keeps the
nominal one (an entry up to |correction| early or late, absorbed by the hysteresis for corrections
below 0.1 km and harmless above: the arc is then flown with the exact field a little further out).

Simplifications: the near-surface arc is integrated with DOP853 (rtol 1e-11) instead of the
Taylor integrator (agreement measured in ``tests/dynamics/test_near_surface.py``); third bodies
there come from the same Chebyshev segments as in heyoka, anchored at the propagation's start;
constant density on both sides of the switch.
"""

from __future__ import annotations

import dataclasses
import time as _time

import numpy as np

from ..bodies import GM_PHOBOS
from ..errors import MmxsimError
from ..gravity.validity import SWITCH_TABLE, near_surface_field, switch_radius
from ..mathns import dot, sub
from .context import Context, ParameterTable
from .events import Event
from .forces import ForceModel
from .model import Propagation, body_rotations

ENTRY_EVENT_SCALE = 1e-8  # 1/km^2, see the module docstring
EXIT_HYSTERESIS_KM = 0.1
RTOL, ATOL = 1e-11, 1e-12
_DIRECTION = {"negative": -1, "positive": 1, "any": 0}


def switched_force(model):
    """The model's ``PhobosGravity`` with harmonics whose near-surface switch is on, else None."""
    for f in model.forces:
        if getattr(f, "kind", "") == "phobos" and getattr(f, "model", "") == "harmonics" \
                and getattr(f, "near_surface", "off") != "off":
            return f
    return None


class NearSurfaceEntry(Event):
    """Terminal: entering the sphere of radius ``km`` about Phobos' centre (scaled, see module)."""

    terminal = True
    direction = "negative"
    kind = "near_surface_entry"
    body = "PHOBOS"

    def __init__(self, km: float):
        self.km = float(km)

    def bodies(self):
        return {"PHOBOS"}

    def signature(self):
        return ("near_surface_entry", self.km, ENTRY_EVENT_SCALE)

    def expression(self, ctx):
        d = sub(ctx.r, ctx.body_position("PHOBOS"))
        return (dot(d, d) - self.km**2) * ENTRY_EVENT_SCALE


def phobos_position(force, ctx) -> np.ndarray:
    """Phobos' position in a numeric context as ``force`` (a PhobosGravity) sees it: with its ephemeris
    correction when ``ephemeris_parameters`` is on (:mod:`mmxsim.dynamics.phobos_correction`)."""
    rp = ctx.body_position("PHOBOS")
    if getattr(force, "ephemeris_parameters", False):
        rp = force._corrected(ctx, rp)
    return np.asarray(rp, float)


class NearSurfacePhobos(ForceModel):
    """Phobos' gravity from the near-surface field (NumPy only): direct pull of the polyhedron
    (or grid) in the librating body frame, plus the same indirect term as ``PhobosGravity``."""

    kind = "phobos_near_surface"

    def __init__(self, base):
        self.base = base
        self.field = near_surface_field(base.near_surface)

    def bodies(self):
        return {"PHOBOS"}

    def rotations(self):
        return {"PHOBOS"}

    def signature(self):
        return (self.kind, self.base.degree, self.base.near_surface)

    def describe(self):
        return f"Phobos near-surface gravity: {self.field.describe()}"

    def acceleration(self, ctx):
        if ctx.symbolic:
            raise MmxsimError("the near-surface Phobos field has no symbolic form (NumPy only)")
        rp = phobos_position(self.base, ctx)
        R = np.asarray(ctx.rotation("PHOBOS"), float)
        d = np.asarray(ctx.r, float) - rp
        ab = self.field.acceleration((R @ d)[None, :])[0]
        kb = GM_PHOBOS / np.dot(rp, rp) ** 1.5
        return list(R.T @ ab - kb * rp)


class _NumericSystem:
    """NumPy equations of motion of ``model`` with Phobos' harmonics replaced by the near-surface field."""

    def __init__(self, model, force, cheb_origin: float):
        from .tracks import CachedChebyshev, segment_length

        tracks = model.make_tracks()
        seg = segment_length(tracks.values())
        self.tracks = {k: CachedChebyshev(v, cheb_origin, seg) if v.kind == "chebyshev" else v
                       for k, v in tracks.items()}
        self.rots = body_rotations(model)
        self.params = ParameterTable()
        for f in model.forces:
            for k, v in f.parameters().items():
                self.params.index(k, v)
        self.force = force
        self.forces = [NearSurfacePhobos(f) if f is force else f for f in model.forces]

    def ctx(self, t, y):
        return Context.numeric(t, y, self.tracks, self.rots, self.params)

    def rhs(self, t, y):
        ctx = self.ctx(t, y)
        acc = np.zeros(3)
        for f in self.forces:
            acc += np.asarray(f.acceleration(ctx), float)
        return np.array([y[3], y[4], y[5], acc[0], acc[1], acc[2]])

    def phobos_rel(self, t, y):
        """Body-fixed position of the spacecraft relative to Phobos (km)."""
        ctx = self.ctx(t, y)
        d = np.asarray(ctx.r, float) - phobos_position(self.force, ctx)
        return np.asarray(ctx.rotation("PHOBOS"), float) @ d


def _event_function(spec, sysn):
    surface = getattr(spec, "surface", None)
    if spec.kind == "impact" and spec.body == "PHOBOS" and hasattr(surface, "altitude"):
        def fn(t, y):
            return float(np.asarray(surface.altitude(sysn.phobos_rel(t, y)[None, :])).reshape(-1)[0])
    else:
        def fn(t, y):
            return float(spec.expression(sysn.ctx(t, y)))
    fn.terminal = bool(spec.terminal)
    fn.direction = _DIRECTION[spec.direction]
    return fn


def _inner_arc(sysn, model, R, t, x, t_stop):
    """DOP853 from (t, x) inside R until leaving R + hysteresis, a terminal event or t_stop."""
    from scipy.integrate import solve_ivp

    def leave(tt, y):
        d = np.asarray(y[:3]) - phobos_position(sysn.force, sysn.ctx(tt, y))
        return float(np.sqrt(d @ d)) - (R + EXIT_HYSTERESIS_KM)

    leave.terminal, leave.direction = True, 1
    specs = list(model.events)
    fns = [_event_function(s, sysn) for s in specs]
    sol = solve_ivp(sysn.rhs, (t, t_stop), np.asarray(x, float), method="DOP853", rtol=RTOL, atol=ATOL,
                    events=[leave, *fns], dense_output=True)
    if sol.status == -1:
        raise MmxsimError(f"near-surface integration failed at t = {sol.t[-1]:.3f} s: {sol.message}")
    events, term = [], None
    t_end = float(sol.t[-1])
    for k, (spec, fn) in enumerate(zip(specs, fns)):
        for te in np.asarray(sol.t_events[k + 1], float):
            sgn = fn.direction
            if not sgn:
                dt = 1e-3
                ya, yb = sol.sol(max(te - dt, t)), sol.sol(min(te + dt, t_end))
                sgn = 1 if fn(min(te + dt, t_end), yb) > fn(max(te - dt, t), ya) else -1
            events.append((spec.label(sgn), spec.body, float(te), bool(spec.terminal)))
            if spec.terminal:
                term = events[-1]
    left = sol.status == 1 and len(sol.t_events[0]) > 0 and term is None
    return sol, events, term, left


def _refusal(force, R, t, where):
    return MmxsimError(
        f"Phobos spherical harmonics (degree {force.degree}) are only valid to 1e-3 beyond {R:g} km from "
        f"Phobos' centre (measured max error {SWITCH_TABLE[force.degree][1]:.1e} there, ~6e-2 at 14 km); "
        f"the trajectory {where} that radius at t = {t:.3f} s TDB and near_surface is 'refuse' "
        f"(use 'polyhedron' or 'grid' to fly it with a field valid to the surface)")


def propagate_switched(model, t0, state0, t_grid, t_stop, progress=None, *, arc):
    """:func:`~mmxsim.dynamics.propagate` with the near-surface switch, or None if the model has none.

    ``arc(model, t0, state0, t_grid, t_stop, progress) -> Propagation`` flies the arcs outside the
    switch radius (the propagator passes its heyoka propagation: this module does not import it)."""
    force = switched_force(model)
    if force is None:
        return None

    R = switch_radius(force.degree)
    outer = dataclasses.replace(model, events=[*model.events, NearSurfaceEntry(R)])
    sh_label = f"spherical harmonics degree {force.degree} (heyoka; beyond {R:g} km of Phobos' centre)"
    ns_label = f"near-surface: {force.near_surface} (DOP853; within {R:g} km of Phobos' centre)"
    t_grid = np.asarray(t_grid, dtype=float)
    t0, t = float(t0), float(t0)
    x = np.asarray(state0, dtype=float)
    span = max(t_stop - t0, 1e-9)
    tp0 = _time.perf_counter()
    out_t, out_x, events, arcs = [], [], [], []
    n_steps, compile_s, gi = 0, 0.0, 0
    termination = "span completed"
    sysn = None
    rp0 = model.make_tracks()["PHOBOS"].position(t0)
    inside = float(np.linalg.norm(x[:3] - np.asarray(rp0, float))) < R
    while True:
        if not inside:
            g = t_grid[gi:]
            extra = g.size == 0 or g[-1] < t_stop
            gpass = np.append(g, t_stop) if extra else g
            prog = None if progress is None else \
                (lambda f, a=t: progress(min(1.0, (a + f * (t_stop - a) - t0) / span)))
            p = arc(outer, t, x, gpass, t_stop, prog)
            entered = p.termination.startswith(f"terminal event: {NearSurfaceEntry.kind}")
            # rows at grid epochs; propagate() appends the state of a terminal event as a last row
            # off the grid: kept for a real terminal event (impact...), not for the hand-over
            n_grid = int(np.count_nonzero(np.isin(p.t, gpass)))
            n_out = n_grid - (1 if extra and n_grid == len(gpass) else 0)
            if not entered and len(p.t) > n_grid:
                n_out = len(p.t) if n_out == n_grid else n_out
            out_t.extend(p.t[:n_out])
            out_x.extend(p.states[:n_out])
            gi += n_out
            events += [e for e in p.events if e[0] != NearSurfaceEntry.kind]
            n_steps += p.n_steps
            compile_s += p.compile_s
            arcs.append((t, p.final_time, sh_label))
            t, x = p.final_time, p.final_state
            if not p.termination.startswith(f"terminal event: {NearSurfaceEntry.kind}"):
                termination = p.termination
                break
            if force.near_surface == "refuse":
                raise _refusal(force, R, t, "enters")
            inside = True
            continue
        if force.near_surface == "refuse":
            raise _refusal(force, R, t, "starts inside")
        if t >= t_stop:  # entered exactly at the end of the span
            break
        if sysn is None:
            sysn = _NumericSystem(model, force, t0)
        if t == t0:  # grid epochs at or before the start
            while gi < t_grid.size and t_grid[gi] <= t:
                out_t.append(t_grid[gi])
                out_x.append(x.copy())
                gi += 1
        sol, evs, term, left = _inner_arc(sysn, model, R, t, x, t_stop)
        t_end = float(sol.t[-1])
        j = gi
        while j < t_grid.size and t_grid[j] <= t_end:
            j += 1
        if j > gi:
            out_t.extend(t_grid[gi:j])
            out_x.extend(np.atleast_2d(sol.sol(t_grid[gi:j]).T))
            gi = j
        events += evs
        n_steps += len(sol.t) - 1
        arcs.append((t, t_end, ns_label))
        t, x = t_end, np.asarray(sol.y[:, -1], float).copy()
        if progress is not None:
            progress(min(1.0, (t - t0) / span))
        if term is not None:
            termination = f"terminal event: {term[0]} ({term[1]})"
            if not out_t or out_t[-1] < t:  # the state at the terminal event is the last row
                out_t.append(t)
                out_x.append(x.copy())
            break
        if not left:  # reached t_stop
            break
        inside = False
    events.sort(key=lambda e: e[2])
    return Propagation(np.asarray(out_t, float), np.asarray(out_x, float).reshape(-1, 6), events, termination,
                       compile_s, _time.perf_counter() - tp0, n_steps, float(t), np.asarray(x, float).copy(),
                       arcs=arcs)
