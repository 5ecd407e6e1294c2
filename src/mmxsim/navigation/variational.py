"""The spacecraft trajectory with its partials, for orbit determination.

Model. The equations of motion of a :class:`~mmxsim.dynamics.DynamicsModel` (Mars-centred ICRF,
independent variable TDB seconds past J2000) are extended with heyoka's first-order variational
equations (``heyoka.var_ode_sys``) with respect to the initial state and to a chosen list of the
model's runtime parameters (e.g. ``"srp:cr_area_over_mass"``, ``"phobos:gm"``, ``"emp:r"``). The
augmented system is integrated once over ``[t0, t1]`` with the Taylor method's continuous output
(one output object per Chebyshev segment of the third-body tracks, and per impulsive manoeuvre),
so that states and partials at any number of epochs cost one polynomial evaluation each (Biscani &
Izzo, heyoka, MNRAS 2021; heyoka.py documentation, "variational equations").

Impulsive manoeuvres ``(t_m, dv)`` (Mars-centred ICRF, km/s) stop the integration at ``t_m`` and add
``dv`` to the velocity; the variational part flows on unchanged (the jump does not depend on the
state), and the partials with respect to ``dv`` are ``Phi(t, t0) Phi(t_m, t0)^-1 [0; I]`` after
``t_m`` (zero before). At ``t_m`` itself the state is the one after the manoeuvre.

Two-part epochs (``t + t_lo``, ``|t_lo| < 1 ms``, see :mod:`mmxsim.navigation.data`): the state is
evaluated at ``t`` and corrected to first order, position by ``v t_lo`` and velocity by ``a t_lo``
(``a`` from a 1 s central difference of the continuous output's velocity); the neglected terms are
``a t_lo^2 / 2 < 3e-10 km`` and ``j t_lo^2 / 2``. In the barycentric state Mars' offset is corrected
the same way: its velocity x t_lo (~24 m per ms) and its acceleration x t_lo (2.6e-9 km/s per ms), the
acceleration the Sun's point-mass pull at Mars (ephemeris Sun; the planets' pulls on Mars and on the Sun
change it by ~1e-4, i.e. < 3e-13 km/s per ms of t_lo, and |t_lo| < 1e-7 s in practice). Partials are taken
at ``t``.

Simplifications (stated for users of the partials):

* No saltation matrix at the step breaks of the SRP shadow edges. The saltation matrix there is
  ``I + (f+ - f-) d(tau)/dx``, and the shadow factor is continuous at the edges (its penumbra polynomial
  is exactly 0 and 1 at x = -1 and +1 with zero slope, :func:`~mmxsim.dynamics.forces.sun_visibility`),
  so the jump ``f+ - f-`` is only the rounding of that polynomial and the identity is kept. Measured:
  partials through two Phobos-shadow and one Mars-shadow crossing agree with finite differences to
  2.6e-7 relative (tests/navigation/test_variational.py). A model with a discontinuous switch would
  need the saltation matrix.
* The model's events (impacts, eclipses) are not flown: the arc is ``[t0, t1]`` whatever happens, and
  the near-surface gravity switch of :func:`~mmxsim.dynamics.propagate` is not applied (heyoka with
  the harmonics only); keep orbit-determination arcs outside Phobos' switch radius.
* The Chebyshev coefficients of the third-body tracks are runtime parameters too but are never
  differentiated; the ephemeris (Mars about the Solar System barycentre, the moons) is not estimated.
* Forward propagation only (``t1 > t0``).

heyoka's step-size control sees the whole augmented state; the integrator therefore carries scaled
partials (initial velocity by 1e-4 km/s, Phobos GM by 1e-4 km^3/s^2, empirical accelerations by
1e-9 km/s^2, the velocity part of Phobos' ephemeris correction by 1e-4 km/s), so that large
partials do not loosen the trajectory's own accuracy.

Compiled variational integrators are cached per process by (model signature, estimated parameters),
like :func:`~mmxsim.dynamics.build` caches the plain ones; a re-propagation (:meth:`Trajectory.with_values`)
pays no compile cost.
"""

from __future__ import annotations

import copy
import time as _time
from dataclasses import dataclass

import numpy as np

from ..dynamics.context import ParameterTable
from ..dynamics.model import DynamicsModel
from ..dynamics.ensemble import batch_step_break_events
from ..dynamics.jit import HEYOKA_OPTIONS
from ..dynamics.phobos_correction import FIXED_MARK
from ..dynamics.propagator import (SegmentSchedule, instance_state, rhs_expressions, step_break_events,
                                   switch_parameters)
from ..errors import InputError, MmxsimError

STATE_NAMES = ("x", "y", "z", "vx", "vy", "vz")
T_LO_MAX = 1e-3  # s: the small part of a two-part epoch (navigation.data)
_ACC_STEP = 0.5  # s: half-step of the central difference of the velocity that gives a*t_lo


def _mars_acceleration(eph, t, mars_ssb) -> np.ndarray:
    """(N, 3) Mars' barycentric acceleration (km/s^2) for the sub-millisecond epoch correction: the
    Sun's point-mass pull (GM_SUN, bodies) at Mars' SSB position ``mars_ssb`` (module doc: within
    ~1e-4 of the full value, one ephemeris look-up instead of the two of a central difference)."""
    from ..bodies import GM_SUN

    from .participants import ephemeris_state

    r = mars_ssb - np.asarray(ephemeris_state(eph, "SUN", "SSB", t), dtype=float).reshape(-1, 6)[:, :3]
    return -GM_SUN * r / np.linalg.norm(r, axis=1)[:, None] ** 3


@dataclass
class _VarCompiled:
    ta: object
    params: ParameterTable
    tracks: dict
    rotations: dict
    v0: np.ndarray  # initial variational part (identity for the state, zeros for the parameters)
    compile_s: float


_VCACHE: dict[tuple, _VarCompiled] = {}
_TABLES: dict[tuple, tuple] = {}  # model signature -> (ParameterTable, tracks, rotations, sys, ctx)


def _symbolic(model: DynamicsModel):
    sig = model.signature()
    hit = _TABLES.get(sig)
    if hit is None:
        sys, ctx, params, tracks, rots = rhs_expressions(model)
        hit = (params, tracks, rots, sys, ctx)
        _TABLES[sig] = hit
    return hit


def estimable_parameters(model: DynamicsModel) -> list[str]:
    """Names of the runtime parameters of ``model`` that may be estimated (not the Chebyshev
    coefficients of the body tracks, the shadow switches, nor the epoch and frame of Phobos'
    ephemeris correction, ``phobos:eph_*``)."""
    params = _symbolic(model)[0]
    return [n for n in params.names if not n.startswith("cheb:") and not n.endswith((":lit", ":pen"))
            and FIXED_MARK not in n]


def _variational_system(model: DynamicsModel, parameters: tuple):
    """(its own parameter table, tracks, rotations, heyoka's first-order variational system, context) of
    the model w.r.t. the initial state and ``parameters``, shared by the scalar and batch builders."""
    import heyoka as hy

    table, tracks, rots, sys, ctx = _symbolic(model)
    params = copy.deepcopy(table)
    idx = [params.names.index(p) for p in parameters]
    # each estimated parameter p enters as p~ * s (s a runtime parameter, not differentiated): the
    # integrator's partials are then s dx/dp, of the size of the state's (see _column_scales)
    scale = [params.index(f"scale:{p}", 1.0) for p in parameters]
    smap = {hy.par[i]: hy.par[i] * hy.par[k] for i, k in zip(idx, scale)}
    if smap:
        rhs = hy.subs([r for _, r in sys], smap)
        sys = [(v, r) for (v, _), r in zip(sys, rhs)]
    vsys = hy.var_ode_sys(sys, [*ctx.r, *ctx.v, *(hy.par[i] for i in idx)], order=1)
    return params, tracks, rots, vsys, ctx


def _build(model: DynamicsModel, parameters: tuple) -> _VarCompiled:
    key = (model.signature(), parameters)
    c = _VCACHE.get(key)
    if c is None:
        import heyoka as hy

        t0 = _time.perf_counter()
        params, tracks, rots, vsys, ctx = _variational_system(model, parameters)
        ta = hy.taylor_adaptive(vsys, [0.0] * 6, tol=model.tolerance, pars=list(params.values),
                                t_events=step_break_events(model, ctx, params), compact_mode=model.compact_mode,
                                **HEYOKA_OPTIONS)
        c = _VarCompiled(ta, params, tracks, rots, np.array(ta.state[6:]), _time.perf_counter() - t0)
        _VCACHE[key] = c
        compile_s = c.compile_s
    else:
        compile_s = 0.0
    params, tracks = instance_state(model, c.params, c.tracks)  # this instance's values (e.g. its A/m)
    return _VarCompiled(copy.deepcopy(c.ta), params, tracks, c.rotations, c.v0, compile_s)


# Column scales. heyoka controls the step size on the whole augmented state, so partials much larger
# than the state (d r / d emp ~ t^2 ~ 1e10 km per km/s^2 after a day) would loosen the accuracy of the
# trajectory itself (measured: a 7 h QSO arc with an unscaled emp:r partial reached 1e7 in its STM and
# stopped on a non-finite state). The integrator carries s_j d x / d q_j instead, with s = 1e-4 km/s for
# the initial velocity, 1e-9 km/s^2 for the empirical accelerations, 1e-4 km^3/s^2 for Phobos GM
# (unscaled, its partial raised the steps of a 7 h QSO arc from 44 to 62), 1e-4 km/s for the velocity
# correction of Phobos' ephemeris (phobos:dvx..dvz; unscaled, 1 day of a 25 km QSO took 180 steps instead
# of 127, the count without partials) and 1 for the others.
# Fixed per name (a value may be zero); small partials are left as they are.
VELOCITY_SCALE = 1e-4  # km/s
PARAMETER_SCALES = {"emp:r": 1e-9, "emp:t": 1e-9, "emp:n": 1e-9, "phobos:gm": 1e-4,  # km/s^2, km^3/s^2
                    # Phobos ephemeris velocity correction (km/s), as the initial velocity; others 1
                    "phobos:dvx": 1e-4, "phobos:dvy": 1e-4, "phobos:dvz": 1e-4}


def _column_scales(names) -> np.ndarray:
    s = [1.0, 1.0, 1.0, VELOCITY_SCALE, VELOCITY_SCALE, VELOCITY_SCALE]
    return np.asarray(s + [PARAMETER_SCALES.get(n, 1.0) for n in names])


def _vector(value, n: int, field: str) -> np.ndarray:
    try:
        a = np.asarray(value, dtype=float).reshape(n)
    except (TypeError, ValueError):
        raise InputError(field, value, f"{n} finite numbers") from None
    if not np.all(np.isfinite(a)):
        raise InputError(field, value, f"{n} finite numbers")
    return a


class Trajectory:
    """A spacecraft trajectory with its partials, for orbit determination (see the module doc).

    ``model``: the dynamics (Mars-centred ICRF); ``t0``, ``t1``: the arc (TDB s past J2000,
    ``t1 > t0``); ``x0``: the state at ``t0`` (km, km/s, Mars-centred ICRF). ``parameters``: names
    of runtime parameters of the model to estimate, or a dict name -> value overriding the model's
    value. ``maneuvers``: impulsive manoeuvres ``(t_m, dv)`` with ``t0 <= t_m < t1`` and ``dv`` in
    km/s, Mars-centred ICRF; each adds three estimated parameters. ``barycentric``: :meth:`state`
    returns Solar-System-barycentric ICRF states (Mars' state from ``model.ephemeris``) instead of
    Mars-centred ones; the partials are the same in both.

    ``names``: the estimated quantities in order (``x .. vz``, the parameters, ``dv0_x, dv0_y,
    dv0_z``, ...); ``n`` their number; ``values``: their current values.
    """

    def __init__(self, model: DynamicsModel, t0: float, x0, t1: float, *, parameters=(), maneuvers=(),
                 barycentric: bool = True, _fly: bool = True):
        t0, t1 = float(t0), float(t1)
        if not (np.isfinite(t0) and np.isfinite(t1)):
            raise InputError("trajectory.t0/t1", (t0, t1), "finite TDB seconds past J2000")
        if not t1 > t0:
            raise InputError("trajectory.t1", t1, f"> t0 = {t0} (forward propagation only)")
        self.model = model
        self.t0, self.t1 = t0, t1
        self.x0 = _vector(x0, 6, "trajectory.x0")
        if barycentric and model.ephemeris is None:
            raise InputError("trajectory.barycentric", True, "False when the model has no ephemeris")
        self.barycentric = bool(barycentric)
        overrides = dict(parameters) if isinstance(parameters, dict) else {}
        names = list(parameters.keys()) if isinstance(parameters, dict) else [str(p) for p in parameters]
        allowed = estimable_parameters(model)
        seen = set()
        for p in names:
            if p not in allowed:
                raise InputError("trajectory.parameters", p, ", ".join(allowed) or "none (the model has none)")
            if p in seen:
                raise InputError("trajectory.parameters", p, "each parameter listed once")
            seen.add(p)
        self.parameters = tuple(names)
        table = _symbolic(model)[0]
        base = dict(zip(table.names, table.values))
        for f in model.forces:
            base.update(f.parameters())
        self.parameter_values = np.array([float(overrides.get(p, base[p])) for p in names])
        if not np.all(np.isfinite(self.parameter_values)):
            raise InputError("trajectory.parameters", overrides, "finite values")
        mans = []
        for k, item in enumerate(maneuvers):
            try:
                tm, dv = item
                tm = float(tm)
            except (TypeError, ValueError):
                raise InputError(f"trajectory.maneuvers[{k}]", item, "(t_m, dv[3])") from None
            if not (t0 <= tm < t1):
                raise InputError(f"trajectory.maneuvers[{k}].t", tm, f"inside the arc [{t0}, {t1})")
            mans.append((tm, _vector(dv, 3, f"trajectory.maneuvers[{k}].dv")))
        order = sorted(range(len(mans)), key=lambda k: mans[k][0])
        if order != list(range(len(mans))):
            raise InputError("trajectory.maneuvers", [m[0] for m in mans], "in increasing time order")
        self.maneuvers = mans
        self.names = [*STATE_NAMES, *self.parameters,
                      *(f"dv{k}_{c}" for k in range(len(mans)) for c in "xyz")]
        self.n = len(self.names)
        if _fly:
            self._propagate()

    # -- propagation --------------------------------------------------------------------------
    def _propagate(self) -> None:
        model = self.model
        comp = _build(model, self.parameters)
        self.compile_s = comp.compile_s
        tp = _time.perf_counter()
        ta = comp.ta
        np_ = len(self.parameters)
        self._nargs = 6 + np_
        idx = [comp.params.names.index(p) for p in self.parameters]
        self._scales = _column_scales(self.parameters)
        values = np.asarray(comp.params.values, dtype=float)
        values[idx] = self.parameter_values / self._scales[6:]
        values[[comp.params.names.index(f"scale:{p}") for p in self.parameters]] = self._scales[6:]
        ta.time = self.t0
        ta.state[:6] = self.x0
        ta.state[6:] = (comp.v0.reshape(6, self._nargs) * self._scales).reshape(-1)
        ta.pars[:] = values
        for i, v in switch_parameters(model, self.t0, self.x0, comp.tracks, comp.rotations, comp.params):
            ta.pars[i] = v
        sched = SegmentSchedule(comp.tracks, comp.params, self.t0, self.t1)
        lo, outs, self._B = [], [], []
        n_steps = 0
        mi = 0
        s0 = self.t0
        while s0 < self.t1:
            s1 = min(s0 + sched.seg, self.t1)
            sched.enter(ta, s0, s1)
            a = s0
            while a < s1:
                while mi < len(self.maneuvers) and self.maneuvers[mi][0] <= a:
                    phi = np.asarray(ta.state[6:]).reshape(6, self._nargs)[:, :6] / self._scales[:6]
                    self._B.append(np.linalg.solve(phi, np.vstack([np.zeros((3, 3)), np.eye(3)])))
                    ta.state[3:6] = ta.state[3:6] + self.maneuvers[mi][1]
                    mi += 1
                b = s1
                if mi < len(self.maneuvers) and self.maneuvers[mi][0] < s1:
                    b = self.maneuvers[mi][0]
                res = ta.propagate_until(b, c_output=True)
                name = str(res[0]).split(".")[-1]
                if name not in ("time_limit", "success"):
                    raise MmxsimError(f"the variational propagation stopped at t = {ta.time} ({name}) "
                                      f"before the end of the arc {self.t1}")
                n_steps += int(res[3])
                lo.append(a)
                outs.append(res[4])
                a = b
            s0 = s1
        self._lo = np.asarray(lo)
        self._outs = outs
        self._hi = np.append(self._lo[1:], self.t1)
        self.n_steps = n_steps
        self.final_state = np.array(ta.state[:6])
        self.propagate_s = _time.perf_counter() - tp

    # -- evaluation ---------------------------------------------------------------------------
    def _epochs(self, t, t_lo):
        t = np.atleast_1d(np.asarray(t, dtype=float)).reshape(-1)
        if t_lo is None:
            t_lo = np.zeros_like(t)
        else:
            t_lo = np.broadcast_to(np.asarray(t_lo, dtype=float), t.shape).copy()
        if not np.all(np.isfinite(t)):
            raise InputError("epochs", t[~np.isfinite(t)][:3].tolist(), "finite TDB seconds past J2000")
        bad = (t < self.t0) | (t > self.t1)
        if bad.any():
            raise InputError("epochs", t[bad][:3].tolist(), f"inside the propagated span [{self.t0}, {self.t1}]")
        if not np.all(np.abs(t_lo) < T_LO_MAX):
            raise InputError("t_lo", t_lo[~(np.abs(t_lo) < T_LO_MAX)][:3].tolist(), "|t_lo| < 1 ms")
        return t, t_lo

    def _piece(self, t):
        return np.clip(np.searchsorted(self._lo, t, side="right") - 1, 0, len(self._outs) - 1)

    def _raw(self, t, piece=None, state_only: bool = False) -> np.ndarray:
        """Full augmented states (N, 6 + 6 nargs) at epochs ``t`` (grouped per output object);
        ``state_only``: the first 6 columns (a batch member evaluates only those)."""
        k = self._piece(t) if piece is None else piece
        out = np.empty((t.size, 6 if state_only else 6 + 6 * self._nargs))
        lane = state_only and self._outs and isinstance(self._outs[0], _LaneOutput)
        for j in np.unique(k):
            m = k == j
            tj = np.ascontiguousarray(t[m])
            if lane:
                out[m] = self._outs[j](tj, state_only=True)
            else:
                out[m] = np.asarray(self._outs[j](tj)).reshape(m.sum(), -1)[:, : out.shape[1]]
        return out

    def _velocity(self, t, piece) -> np.ndarray:
        return self._raw(t, piece, state_only=True)[:, 3:6]

    def state(self, t, t_lo=None) -> np.ndarray:
        """(N, 6) km, km/s at the epochs ``t + t_lo`` (SSB-centred ICRF if ``barycentric``)."""
        t, t_lo = self._epochs(t, t_lo)
        k = self._piece(t)
        x = self._raw(t, k, state_only=True)
        corr = t_lo != 0.0
        if corr.any():
            tc, kc = t[corr], k[corr]
            ta = np.maximum(tc - _ACC_STEP, self._lo[kc])
            tb = np.minimum(tc + _ACC_STEP, self._hi[kc])
            acc = (self._velocity(tb, kc) - self._velocity(ta, kc)) / (tb - ta)[:, None]
            x[corr, :3] += x[corr, 3:] * t_lo[corr, None]
            x[corr, 3:] += acc * t_lo[corr, None]
        if self.barycentric:
            from .participants import ephemeris_state

            # a copy: corrected in place below (the memo's array is read-only)
            mars = np.array(ephemeris_state(self.model.ephemeris, "MARS", "SSB", t), dtype=float).reshape(-1, 6)
            if corr.any():  # Mars moves ~24 m in 1 ms; its acceleration (2.6e-6 km/s^2) x 1 ms is 2.6e-9 km/s
                acc = _mars_acceleration(self.model.ephemeris, t[corr], mars[corr, :3])
                mars[corr, :3] += mars[corr, 3:] * t_lo[corr, None]
                mars[corr, 3:] += acc * t_lo[corr, None]
            x += mars
        return x

    def sensitivity(self, t, t_lo=None) -> np.ndarray:
        """(N, 6, n): d state(t) / d (x0, parameters, manoeuvre dv), in the order of ``names``."""
        t, _ = self._epochs(t, t_lo)
        raw = self._raw(t)[:, 6:].reshape(-1, 6, self._nargs) / self._scales
        out = np.zeros((t.size, 6, self.n))
        out[:, :, : self._nargs] = raw
        for j, ((tm, _dv), B) in enumerate(zip(self.maneuvers, self._B)):
            m = t >= tm
            c = self._nargs + 3 * j
            out[m, :, c: c + 3] = raw[m, :, :6] @ B
        return out

    def position_and_sensitivity(self, t) -> tuple[np.ndarray, np.ndarray]:
        """((N, 3) position, (N, 3, n) its sensitivity) at epochs ``t`` from ONE dense-output evaluation,
        the position in the integrator's own frame (Mars-centred: no round trip through the barycentre;
        what the landmark and LIDAR rows need, with no light time and no two-part epochs)."""
        t, _ = self._epochs(t, None)
        raw = self._raw(t)
        full = raw[:, 6:].reshape(-1, 6, self._nargs)[:, :3, :] / self._scales
        out = np.zeros((t.size, 3, self.n))
        out[:, :, : self._nargs] = full
        for j, ((tm, _dv), B) in enumerate(zip(self.maneuvers, self._B)):
            m = t >= tm
            c = self._nargs + 3 * j
            out[m, :, c: c + 3] = full[m, :, :6] @ B
        return raw[:, :3].copy(), out

    def stm(self, t) -> np.ndarray:
        """(N, 6, 6): the state transition matrix Phi(t, t0)."""
        t, _ = self._epochs(t, None)
        return self._raw(t)[:, 6:].reshape(-1, 6, self._nargs)[:, :, :6] / self._scales[:6]

    # -- re-propagation -------------------------------------------------------------------------
    @property
    def values(self) -> np.ndarray:
        """(n,) current values of the estimated quantities, in the order of ``names``."""
        return np.concatenate([self.x0, self.parameter_values, *(dv for _, dv in self.maneuvers)])

    def with_values(self, x0=None, parameters=None, maneuvers=None) -> "Trajectory":
        """A new trajectory, re-propagated (no recompilation) with other values.

        ``parameters``: a dict name -> value (unnamed ones keep theirs) or values in the order of
        ``self.parameters``; ``maneuvers``: the ``dv`` of every manoeuvre, in order (epochs kept).
        """
        x0 = self.x0 if x0 is None else x0
        vals = dict(zip(self.parameters, self.parameter_values))
        if parameters is not None:
            if isinstance(parameters, dict):
                for k in parameters:
                    if k not in vals:
                        raise InputError("trajectory.parameters", k, ", ".join(self.parameters) or "none estimated")
                vals.update({k: float(v) for k, v in parameters.items()})
            else:
                vals = dict(zip(self.parameters, _vector(parameters, len(self.parameters), "trajectory.parameters")))
        mans = self.maneuvers
        if maneuvers is not None:
            dvs = list(maneuvers)
            if len(dvs) != len(mans):
                raise InputError("trajectory.maneuvers", len(dvs), f"{len(mans)} dv vectors (one per manoeuvre)")
            mans = [(tm, dv) for (tm, _), dv in zip(mans, dvs)]
        return Trajectory(self.model, self.t0, x0, self.t1, parameters=vals, maneuvers=mans,
                          barycentric=self.barycentric)

    def with_vector(self, p) -> "Trajectory":
        """A new trajectory from a full (n,) vector of values in the order of ``names``."""
        p = _vector(p, self.n, "trajectory.values")
        k = 6 + len(self.parameters)
        return self.with_values(p[:6], p[6:k], p[k:].reshape(-1, 3))


# -- batch mode ----------------------------------------------------------------------------------
# N members of one model (the same arc, parameters and manoeuvre epochs; their own initial states,
# parameter values and manoeuvre dv) flown with their partials in heyoka's SIMD batch mode
# (``taylor_adaptive_batch`` on the same var_ode_sys), one lane per member, the last batch padded with
# copies of its first member. Every lane flies the same pieces (Chebyshev segments, manoeuvre epochs) as
# the scalar path, each with its own adaptive steps; each member is a Trajectory answering the same
# queries, its dense output read from its lane of the batch's continuous output.

_VBCACHE: dict[tuple, _VarCompiled] = {}


def _build_batch(model: DynamicsModel, parameters: tuple, batch_size: int) -> _VarCompiled:
    """The batch integrator of (model, estimated parameters), compiled once per process and batch size
    (the cache pattern of :func:`_build`)."""
    key = (model.signature(), parameters, batch_size)
    c = _VBCACHE.get(key)
    if c is None:
        import heyoka as hy

        t0 = _time.perf_counter()
        params, tracks, rots, vsys, ctx = _variational_system(model, parameters)
        pars = np.repeat(np.asarray(params.values, float)[:, None], batch_size, axis=1)
        ta = hy.taylor_adaptive_batch(vsys, np.zeros((6, batch_size)), tol=model.tolerance, pars=pars,
                                      t_events=batch_step_break_events(model, ctx, params),
                                      compact_mode=model.compact_mode, **HEYOKA_OPTIONS)
        c = _VarCompiled(ta, params, tracks, rots, np.array(ta.state[6:, 0]), _time.perf_counter() - t0)
        _VBCACHE[key] = c
        compile_s = c.compile_s
    else:
        compile_s = 0.0
    params, tracks = instance_state(model, c.params, c.tracks)
    return _VarCompiled(copy.deepcopy(c.ta), params, tracks, c.rotations, c.v0, compile_s)


class _LaneOutput:
    """One lane of a batch continuous output, called like the scalar one: epochs (k,) -> (k, nvars).

    The lane's Taylor polynomials (``tcs``, ``times`` of heyoka's ``continuous_output_batch``) are
    evaluated here by Horner's rule in ``h = t - t_step``, as heyoka's own continuous output does (the
    step holding ``t``; before the first or after the last step, that step's polynomial): evaluating
    the batch object would compute every lane to read one (measured 6.6 times the scalar cost)."""

    __slots__ = ("co", "lane", "_times", "_tcs", "_tcs6")

    def __init__(self, co, lane: int, width: int):
        self.co, self.lane = co, lane
        self._times = self._tcs = self._tcs6 = None

    def _load(self):
        co, j = self.co, self.lane
        self._times = np.ascontiguousarray(np.asarray(co.times)[:, j])
        # (order + 1, steps, nvars): one contiguous (steps, nvars) table per power of h
        self._tcs = np.ascontiguousarray(np.moveaxis(np.asarray(co.tcs)[:, :, :, j], 2, 0))
        self._tcs6 = np.ascontiguousarray(self._tcs[:, :, :6])  # the state's own polynomials
        self.co = None  # the batch object is shared by the other lanes, kept alive by them

    def __call__(self, t, state_only: bool = False):
        """(k, nvars) at epochs ``t``; ``state_only``: the first 6 columns only (the state, what
        :meth:`Trajectory.state` reads; the same numbers as those columns of the full evaluation)."""
        if self._tcs is None:
            self._load()
        t = np.asarray(t, float).reshape(-1)
        tcs, times = (self._tcs6 if state_only else self._tcs), self._times
        k = np.clip(np.searchsorted(times, t, side="right") - 1, 0, tcs.shape[1] - 1)
        h = (t - times[k])[:, None]
        acc = tcs[-1][k]
        for c in tcs[-2::-1]:
            acc *= h
            acc += c[k]
        return acc


def propagate_batch(model: DynamicsModel, t0: float, x0, t1: float, *, parameters=(), maneuvers=(),
                    member_maneuvers=None, barycentric: bool = True,
                    batch_size: int | None = None) -> list[Trajectory]:
    """N trajectories with their partials in one call (heyoka's batch mode; see the note above
    ``_VBCACHE``): member ``i`` equals ``Trajectory(model, t0, x0[i], t1, parameters=parameters[i],
    maneuvers=member_maneuvers[i], barycentric=barycentric)`` to the integrator's tolerance.

    ``x0``: (N, 6) initial states. ``parameters``: names of the estimated parameters (the model's
    values for every member) or a list of N dicts name -> value with the same names. ``maneuvers``:
    one list of ``(t_m, dv)`` for every member, or ``member_maneuvers``: N such lists with the same
    epochs (each member its own dv).
    ``batch_size``: lanes per batch (default ``heyoka.recommended_simd_size()``)."""
    import heyoka as hy

    x0 = np.asarray(x0, dtype=float)
    if x0.ndim != 2 or x0.shape[1] != 6 or x0.shape[0] < 1:
        raise InputError("propagate_batch.x0", x0.shape, "(N, 6) initial states, N >= 1")
    n_mem = x0.shape[0]
    if isinstance(parameters, (list, tuple)) and parameters and all(isinstance(p, dict) for p in parameters):
        pars = list(parameters)
        if len(pars) != n_mem:
            raise InputError("propagate_batch.parameters", len(pars), f"{n_mem} dicts, one per member")
    else:
        pars = [parameters] * n_mem
    if member_maneuvers is not None:
        per = [list(m) for m in member_maneuvers]
        if len(per) != n_mem:
            raise InputError("propagate_batch.member_maneuvers", len(per), f"{n_mem} lists, one per member")
    else:
        per = [list(maneuvers)] * n_mem
    if batch_size is None:
        batch_size = int(hy.recommended_simd_size())
    if not (isinstance(batch_size, (int, np.integer)) and batch_size >= 1):
        raise InputError("propagate_batch.batch_size", batch_size, "an integer >= 1")
    members = [Trajectory(model, t0, x0[i], t1, parameters=pars[i], maneuvers=per[i], barycentric=barycentric,
                          _fly=False) for i in range(n_mem)]
    ref = members[0]
    for m in members[1:]:
        if m.parameters != ref.parameters:
            raise InputError("propagate_batch.parameters", list(m.parameters),
                             f"the same names for every member ({list(ref.parameters)})")
        if [tm for tm, _ in m.maneuvers] != [tm for tm, _ in ref.maneuvers]:
            raise InputError("propagate_batch.maneuvers", [tm for tm, _ in m.maneuvers],
                             f"the same epochs for every member ({[tm for tm, _ in ref.maneuvers]})")
    for a in range(0, n_mem, batch_size):
        _fly_batch(members[a:a + batch_size], int(batch_size))
    return members


def _fly_batch(members: list[Trajectory], width: int) -> None:
    """Propagate up to ``width`` members (same model, arc, parameters and manoeuvre epochs) in one batch
    integrator and give each its lane's dense output (the scalar :meth:`Trajectory._propagate`, per lane)."""
    ref = members[0]
    model = ref.model
    n_real = len(members)
    lanes = [*range(n_real), *([0] * (width - n_real))]  # padding lanes fly copies of the first member
    comp = _build_batch(model, ref.parameters, width)
    tp = _time.perf_counter()
    ta = comp.ta
    nargs = 6 + len(ref.parameters)
    scales = _column_scales(ref.parameters)
    idx = [comp.params.names.index(p) for p in ref.parameters]
    sidx = [comp.params.names.index(f"scale:{p}") for p in ref.parameters]
    base = np.asarray(comp.params.values, dtype=float)
    P = np.repeat(base[:, None], width, axis=1)
    X = np.zeros((6 + 6 * nargs, width))
    v0 = (comp.v0.reshape(6, nargs) * scales).reshape(-1)
    for lane, i in enumerate(lanes):
        m = members[i]
        P[idx, lane] = m.parameter_values / scales[6:]
        P[sidx, lane] = scales[6:]
        for k, v in switch_parameters(model, m.t0, m.x0, comp.tracks, comp.rotations, comp.params):
            P[k, lane] = v
        X[:6, lane] = m.x0
        X[6:, lane] = v0
    ta.set_time(np.full(width, ref.t0))
    ta.state[:] = X
    ta.pars[:] = P
    sched = SegmentSchedule(comp.tracks, comp.params, ref.t0, ref.t1)
    epochs = [tm for tm, _ in ref.maneuvers]
    lo, outs = [], []
    Bs = [[] for _ in range(n_real)]
    n_steps = np.zeros(width, dtype=np.int64)
    mi = 0
    s0 = ref.t0
    while s0 < ref.t1:
        s1 = min(s0 + sched.seg, ref.t1)
        if sched.cheb:
            ta.pars[sched.i_tmid, :] = 0.5 * (s0 + s1)
            ta.pars[sched.i_ih, :] = 2.0 / (s1 - s0) if s1 > s0 else 1.0
            for tr, coef in sched.fits.coefficients(s0):
                ta.pars[tr.first_par: tr.first_par + coef.size, :] = coef.reshape(-1)[:, None]
        a = s0
        while a < s1:
            while mi < len(epochs) and epochs[mi] <= a:
                st = np.array(ta.state, float)
                for lane, i in enumerate(lanes):
                    if lane < n_real:
                        phi = st[6:, lane].reshape(6, nargs)[:, :6] / scales[:6]
                        Bs[lane].append(np.linalg.solve(phi, np.vstack([np.zeros((3, 3)), np.eye(3)])))
                    st[3:6, lane] += members[i].maneuvers[mi][1]
                ta.state[:] = st
                mi += 1
            b = s1
            if mi < len(epochs) and epochs[mi] < s1:
                b = epochs[mi]
            co = ta.propagate_until(np.full(width, b), c_output=True)[0]
            for lane, res in enumerate(ta.propagate_res):
                name = str(res[0]).split(".")[-1].split(":")[0]
                if name not in ("time_limit", "success"):
                    raise MmxsimError(f"the variational propagation (batch lane {lane}) stopped at "
                                      f"t = {ta.time[lane]} ({name}) before the end of the arc {ref.t1}")
                n_steps[lane] += int(res[3])
            lo.append(a)
            outs.append(co)
            a = b
        s0 = s1
    final = np.array(ta.state[:6], float)
    lo_a = np.asarray(lo)
    hi_a = np.append(lo_a[1:], ref.t1)
    dt = (_time.perf_counter() - tp) / n_real
    for lane in range(n_real):
        m = members[lane]
        m.compile_s = comp.compile_s if lane == 0 else 0.0
        m._nargs = nargs
        m._scales = scales
        m._lo, m._hi = lo_a, hi_a
        m._outs = [_LaneOutput(co, lane, width) for co in outs]
        m._B = Bs[lane]
        m.n_steps = int(n_steps[lane])
        m.final_state = final[:, lane].copy()
        m.propagate_s = dt
