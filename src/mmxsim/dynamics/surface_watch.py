"""Impacts on a surface that is not an expression (a shape mesh), found along the dense output.

A heyoka event must be a smooth expression of the state; a 50k-facet mesh is not. An event spec
with ``refine = True`` (e.g. :class:`~mmxsim.dynamics.events.PhobosImpact` on a
:class:`~mmxsim.dynamics.events.ShapeSurface`) therefore gives the integrator only a cheap
*trigger*: ``expression(ctx)`` negative inside a smooth surface enclosing the body (an ellipsoid
with margin). The trigger is a non-stopping terminal event (it cuts the step at the crossing and
flips a flag); a step callback (:class:`SurfaceWatch`) does nothing while outside the trigger and,
inside it, scans every step's Taylor polynomial (``ta.update_d_output``) with the exact numeric
signed distance ``signed_distance(body_fixed(ctx))`` (``ctx`` = :meth:`Context.numeric`, so the
body's position and rotation come from the model's own tracks and rotations):

* conservative stepping: from a sample at distance d > 0 the next sample is d / v_max later, with
  v_max a bound on the speed relative to the body-fixed frame over the step: the larger of the
  speeds at both ends of the step (finite differences over 10 ms) plus ``accel_bound`` x h/2
  (the spec's bound on the relative acceleration), so the surface cannot be crossed between
  samples (the distance to a surface is 1-Lipschitz); floor 1 ms between samples (a penetration
  shorter than 1 ms could be missed);
* the first sample found inside starts a bisection down to 1 ms; the impact is the end of that
  interval (the first instant known inside, |altitude| <= speed x 1 ms), where the propagation
  stops (the callback returns False) with the state from the dense output.

Only a crossing from outside to inside counts: a trajectory that starts inside the surface is
watched from the moment it is outside. Away from the body (outside the trigger) the cost is one
Python call per step that returns at once.
"""

from __future__ import annotations

import numpy as np

from .context import Context

T_TOL = 1e-3  # bisection to 1 ms
T_FLOOR = 1e-3  # minimum time between samples, s
FD_DT = 5e-3  # half-width of the finite difference for the relative velocity, s


class Trigger:
    """Callback of the trigger event: count crossings and keep the direction of the last one
    (heyoka's ``d_sgn``, negative entering); never stops the integration."""

    def __init__(self):
        self.count = 0
        self.sign = 0

    def __call__(self, ta, d_sgn):
        h = ta.last_h
        self.count += 1
        self.sign = int(d_sgn) * (1 if h >= 0 else -1)
        return True


class SurfaceWatch:
    """Step callback that finds the first crossing of each refined event's exact surface."""

    def __init__(self, specs, triggers, tracks, rotations, params):
        self.specs = list(specs)
        self.triggers = list(triggers)
        self.tracks, self.rotations, self.params = tracks, rotations, params
        self.inside = [False] * len(self.specs)  # inside the trigger
        self.armed = [True] * len(self.specs)  # was outside the exact surface
        self.seen = [0] * len(self.specs)
        self.hit = None  # (t, state, spec) of the impact

    @classmethod
    def create(cls, comp, ta, t0: float, state0):
        """The watch of a compiled model (None if it has no refined event), armed at (t0, state0)."""
        if not comp.watched:
            return None
        trig = [e.callback for e in list(ta.t_events)[-len(comp.watched):]]
        w = cls(comp.watched, trig, comp.tracks, comp.rotations, comp.params)
        ctx = w._ctx(t0, state0)
        for i, spec in enumerate(w.specs):
            rb = spec.body_fixed(ctx)
            w.inside[i] = float(spec.expression(ctx)) < 0.0
            w.armed[i] = spec.signed_distance(rb) > 0.0
        return w

    def _ctx(self, t, state):
        return Context.numeric(t, state, self.tracks, self.rotations, self.params)

    def _rb(self, spec, t, state):
        return np.asarray(spec.body_fixed(self._ctx(t, state)), float)

    def __call__(self, ta) -> bool:
        go = False
        for i, tr in enumerate(self.triggers):
            if self.inside[i] or tr.count != self.seen[i]:
                go = True
        if not go:  # outside every trigger and no crossing in this step
            return True
        t1 = ta.time
        t0 = t1 - ta.last_h
        for i, spec in enumerate(self.specs):
            tr = self.triggers[i]
            check = self.inside[i] or tr.count != self.seen[i]
            if tr.count != self.seen[i]:
                self.seen[i] = tr.count
                self.inside[i] = tr.sign < 0
            if check and t1 > t0:
                hit = self._scan(ta, i, spec, t0, t1)
                if hit is not None:
                    self.hit = (hit[0], hit[1], spec)
                    return False
        return True

    def _state(self, ta, t):
        if t == ta.time:
            return np.array(ta.state, float)
        return np.array(ta.update_d_output(t), float)

    def _sample(self, ta, spec, t):
        x = self._state(ta, t)
        rb = self._rb(spec, t, x)
        return x, rb, spec.signed_distance(rb)

    def _speed(self, ta, spec, t, lo, hi):
        """|d rb/dt| at t (finite difference inside [lo, hi])."""
        a, b = max(lo, t - FD_DT), min(hi, t + FD_DT)
        if b <= a:
            return 0.0
        ra = self._rb(spec, a, self._state(ta, a))
        rb = self._rb(spec, b, self._state(ta, b))
        return float(np.linalg.norm(rb - ra)) / (b - a)

    def _scan(self, ta, i, spec, t0, t1):
        h = t1 - t0
        vmax = max(self._speed(ta, spec, t0, t0, t1), self._speed(ta, spec, t1, t0, t1)) * 1.01
        vmax += spec.accel_bound * 0.5 * h + 1e-9
        t = t_prev = t0
        x, rb, d = self._sample(ta, spec, t)
        while True:
            if d <= 0.0:
                if self.armed[i]:
                    return self._bisect(ta, spec, t_prev, t) if t > t0 else (t, x)
            else:
                self.armed[i] = True
            if t >= t1:
                return None
            t_prev = t
            t = min(t1, t + max(abs(d) / vmax, T_FLOOR))  # |d| also bounds the time to get out
            x, rb, d = self._sample(ta, spec, t)

    def _bisect(self, ta, spec, lo, hi):
        """(t, state) at the end of a <= 1 ms interval where the distance goes from > 0 to <= 0."""
        while hi - lo > T_TOL:
            mid = 0.5 * (lo + hi)
            if self._sample(ta, spec, mid)[2] > 0.0:
                lo = mid
            else:
                hi = mid
        return hi, self._state(ta, hi)

    def events(self):
        """(label, body, t, terminal) of the impact found, as the propagator lists events."""
        if self.hit is None:
            return []
        t, _, spec = self.hit
        return [(spec.label(-1), spec.body, float(t), True)]

    def stop_at_hit(self, ta):
        """Put the integrator at the impact (time and state); returns the impact time."""
        t, x, _ = self.hit
        ta.time = float(t)
        ta.state[:] = x
        return float(t)
