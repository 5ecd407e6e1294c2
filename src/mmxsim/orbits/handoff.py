"""Hand-off of a Hill-problem QSO to the full ephemeris force model, by multiple shooting.

Pipeline
--------
1. :func:`patch_points`: sample a QSO of :mod:`mmxsim.orbits.qso` (planar or 3D) over
   ``n_revs`` revolutions, ``per_rev`` points per revolution, in its own circular-Hill
   model; place each sample in the ephemeris ``PHOBOS_HILL`` frame of
   :mod:`mmxsim.frames` at its epoch and convert it to Mars-centred ICRF (km, km/s, TDB s).
2. :func:`multiple_shooting`: correct the patch-point states (epochs fixed) so that the
   full-model flow from each one reaches the next: constraints
   ``F_i = phi(t_i -> t_i+1, X_i) - X_i+1``, Jacobian blocks ``[Phi_i, -I]``,
   **minimum-norm Newton updates** ``dX = -J^+ F`` (velocities scaled by 1/n so km and km/tau
   weigh alike). STMs come from heyoka's first-order variational equations of the full
   model (compile about 3 s in compact mode, measured; a one-revolution flow with the STM
   takes about 30 ms, so finite differences were not needed).
3. :func:`boundedness`: propagate ballistically (no manoeuvres) from a state for ``days``
   and measure the distance to Phobos, the surface distance (signed, exact distance to the
   Ernst shape model in the librating Phobos body-fixed frame), and the per-revolution radial / along-track semi-extents and their drift.

"Bounded" is defined explicitly in :class:`Boundedness`: never inside the shape model and
the distance to Phobos within ``[(1 - f) d_min, (1 + f) d_max]`` of a nominal range.

Full model (:func:`full_model`): Mars point mass + J2..J4 (MRO120F zonals), Phobos
spherical harmonics (homogeneous Ernst shape, degree 8 by default) rotating with Phobos
(IAU 2015 + forced libration), Sun / Earth (DE421) and Deimos point masses, Phobos and
Deimos from the default ephemeris (integrated in the spacecraft's own force model and fitted to
MAR080, :func:`mmxsim.ephemeris.default_ephemeris`); SRP optional (cannonball; area, mass
and Cr are assumptions). This is the spine's reference model without its events; it is
built from :mod:`mmxsim.dynamics.forces` directly (orbits may not import mission/).
"""

from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError, MmxsimError
from .qso import N, QSO, sample_orbit, surface_distance_body

TWO_PI = 2.0 * math.pi
PHOBOS_PERIOD_S = TWO_PI / N  # 7.654 h (mean motion of [JPL-SAT], bodies.PHOBOS_MEAN_MOTION)


# ---------------------------------------------------------------------------
# Full model
def full_model(eph=None, *, mars_degree: int = 4, phobos_degree: int = 8,
               third_bodies=("SUN", "EARTH", "DEIMOS"), srp: bool = False, cr: float = 1.3,
               area_m2: float = 20.0, mass_kg: float = 2000.0, tolerance: float = 1e-12):
    """The spine's full force model (no events) as a :class:`~mmxsim.dynamics.DynamicsModel`.

    Defaults repeat the reference scenario (``reference_qso.yaml``) except SRP, which is off
    by default here (``srp=True`` adds it; mass 2000 kg, area 20 m², Cr 1.3 are the
    scenario's ASSUMPTIONS, MMX values are unpublished).
    """
    from ..dynamics import DynamicsModel, MarsGravity, PhobosGravity, SolarRadiationPressure, ThirdBody

    if eph is None:
        from ..ephemeris import default_ephemeris

        eph = default_ephemeris()
    if not (isinstance(tolerance, (int, float)) and 0 < tolerance <= 1e-6):
        raise InputError("tolerance", tolerance, "a number in (0, 1e-6]")
    forces = [MarsGravity(mars_degree), PhobosGravity("harmonics", phobos_degree)]
    forces += [ThirdBody(b) for b in third_bodies]
    if srp:
        forces.append(SolarRadiationPressure(("MARS", "PHOBOS"), cr, area_m2, mass_kg))
    return DynamicsModel(forces=forces, ephemeris=eph, events=[], tolerance=float(tolerance))


def check_switch_radius(model, q: QSO) -> None:
    """Refuse a hand-off whose QSO comes inside the switch radius of the model's Phobos harmonics.

    The multiple-shooting correction flies heyoka's variational equations with the harmonics
    everywhere (no near-surface switch: the polyhedron has no Taylor form), and within the switch
    radius of :mod:`mmxsim.gravity.validity` (22 km at degree 8, 20 km at degree 10) they are off
    by more than 1e-3 (5-6 % near 14 km). The test uses the Hill design's closest approach; the
    full-model orbit can come ~1.5 km closer (eccentricity of Phobos' orbit, measured on the
    15 km QSO: 15.0 km designed, 13.7 km flown).
    """
    from ..gravity.validity import switch_radius

    sh = [f for f in model.forces if getattr(f, "kind", "") == "phobos" and getattr(f, "model", "") == "harmonics"]
    if not sh:
        return
    R = switch_radius(sh[0].degree)
    dmin = q.min_center_distance_km
    if not np.isfinite(dmin):
        dmin = float(np.linalg.norm(sample_orbit(q, 1200)[:, :3], axis=1).min())
    if dmin < R:
        raise MmxsimError(
            f"hand-off refused: the {q.size_km:g} km QSO comes {dmin:.2f} km from Phobos' centre, inside the "
            f"{R:g} km radius where the degree-{sh[0].degree} Phobos harmonics used by the multiple-shooting "
            "correction differ from the exact polyhedron by more than 1e-3; correct a larger QSO, or start from "
            "the uncorrected state (to_mars_icrf / design: linear): propagate() flies the arcs inside that "
            "radius with the polyhedron")


# ---------------------------------------------------------------------------
# Flow with state-transition matrix
_VAR_CACHE: dict = {}
_FIT_MEMO: dict = {}  # (model signature, track name, a, b) -> coefficients: the same segment fitted once
_FIT_MEMO_MAX = 20000  # ~8 MB of coefficients at most


def _fit(sig, tr, a: float, b: float) -> np.ndarray:
    """``tr.fit(a, b)``, remembered: station keeping and shooting fly the same segments again and again
    (every Newton iteration, every Monte Carlo run); a fit is a pure function of the segment."""
    key = (sig, tr.name, a, b)
    c = _FIT_MEMO.get(key)
    if c is None:
        if len(_FIT_MEMO) >= _FIT_MEMO_MAX:
            _FIT_MEMO.clear()
        c = _FIT_MEMO[key] = tr.fit(a, b)
    return c


def _fit_lanes(sig, tr, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(L, degree+1, 3) coefficients of the segments [a[k], b[k]], remembered as :func:`_fit`'s."""
    keys = [(sig, tr.name, float(x), float(y)) for x, y in zip(a, b)]
    new = sorted({k for k in keys if k not in _FIT_MEMO})
    if new:
        if len(_FIT_MEMO) + len(new) > _FIT_MEMO_MAX:
            _FIT_MEMO.clear()
            new = sorted(set(keys))
        coef = tr.fit_many([k[2] for k in new], [k[3] for k in new])
        for k, c in zip(new, coef):
            _FIT_MEMO[k] = c
    return np.array([_FIT_MEMO[k] for k in keys])


def _segment_bookkeeping(flow) -> None:
    """The Chebyshev tracks of a flow's model, their segment length and the indices of the segment
    parameters (t_mid, 1/half-length) in its parameter table; shared by :class:`Flow` and
    :class:`BatchFlow`."""
    from ..dynamics.tracks import segment_length

    flow.cheb = [tr for tr in flow.tracks.values() if tr.kind == "chebyshev"]
    flow.seg = segment_length(flow.tracks.values()) if flow.cheb else None
    names = flow.params.names
    flow.i_tmid = names.index("cheb:t_mid") if flow.cheb else None
    flow.i_ih = names.index("cheb:inv_half") if flow.cheb else None


def compile_flow(model) -> tuple:
    """(integrator, parameter table, tracks) of :class:`Flow`'s variational equations of ``model``,
    compiled now (heyoka's own caches apart) and not cached here: what :class:`Flow` caches, and what
    :mod:`mmxsim.mission.warmup` builds ahead of the run."""
    import heyoka as hy

    from ..dynamics.jit import HEYOKA_OPTIONS
    from ..dynamics.propagator import rhs_expressions

    sys, _ctx, params, tracks, _rots = rhs_expressions(model)
    vsys = hy.var_ode_sys(sys, hy.var_args.vars, order=1)
    ta = hy.taylor_adaptive(vsys, [0.0] * 6, tol=model.tolerance, pars=list(params.values),
                            compact_mode=model.compact_mode, **HEYOKA_OPTIONS)
    return ta, params, tracks


class Flow:
    """Full-model flow ``(t0, x0, t1) -> (x1, Phi)`` with heyoka variational equations.

    Third bodies on Chebyshev tracks are refitted per segment exactly as in
    :func:`mmxsim.dynamics.propagate` (segments start at ``t0`` of each call).
    """

    def __init__(self, model):
        sig = ("var", model.signature())
        self.compile_s = 0.0
        if sig not in _VAR_CACHE:
            from ..dynamics import propagator

            t = _time.perf_counter()
            if propagator.PREBUILDS:
                propagator.await_prebuild(("flow", propagator.signature_digest(model)))
            _VAR_CACHE[sig] = compile_flow(model)
            self.compile_s = _time.perf_counter() - t
        self.ta, self.params, self.tracks = _VAR_CACHE[sig]
        self.sig = model.signature()
        _segment_bookkeeping(self)
        self.n_flows = 0

    def __call__(self, t0: float, x0, t1: float):
        ta = self.ta
        ta.time = float(t0)
        ta.state[:6] = np.asarray(x0, float)
        ta.state[6:] = np.eye(6).ravel()
        ta.pars[:] = np.asarray(self.params.values, float)
        s0 = float(t0)
        seg = self.seg if self.cheb else abs(t1 - t0)
        sgn = 1.0 if t1 >= t0 else -1.0
        while sgn * (t1 - s0) > 0:
            s1 = s0 + sgn * min(seg, abs(t1 - s0))
            if self.cheb:
                a, b = min(s0, s1), max(s0, s1)
                ta.pars[self.i_tmid] = 0.5 * (a + b)
                ta.pars[self.i_ih] = 2.0 / (b - a)
                for tr in self.cheb:
                    coef = _fit(self.sig, tr, a, b)
                    ta.pars[tr.first_par: tr.first_par + coef.size] = coef.reshape(-1)
            oc = ta.propagate_until(s1)[0]
            if str(oc).split(".")[-1] not in ("time_limit", "success"):
                raise MmxsimError(f"variational propagation failed at t = {ta.time:.3f} s ({oc})")
            s0 = s1
        self.n_flows += 1
        return ta.state[:6].copy(), ta.state[6:].reshape(6, 6).copy()


class BatchFlow:
    """Many flows of :class:`Flow` at once: ``(t0s, X0s, t1s) -> (X1s, Phis)`` in heyoka's SIMD batch mode.

    The same variational equations as :class:`Flow`, compiled once as a ``taylor_adaptive_batch`` of
    ``batch_size`` lanes (default ``heyoka.recommended_simd_size()``); each lane is one flow with its own
    epochs, state and Chebyshev segments (the segments of a flow start at its own ``t0``, as in
    :class:`Flow`, so each lane equals the scalar flow to the integrator's tolerance: same equations,
    same segments, its own adaptive steps). Flows run forward (``t1 >= t0``); a group smaller than the
    batch is padded with copies of its first flow, whose output is dropped.
    """

    def __init__(self, model, batch_size: int | None = None):
        import heyoka as hy

        B = int(batch_size or hy.recommended_simd_size())
        if B < 1:
            raise InputError("batch_size", batch_size, "an integer >= 1")
        sig = ("var-batch", model.signature(), B)
        self.compile_s = 0.0
        if sig not in _VAR_CACHE:
            from ..dynamics.jit import HEYOKA_OPTIONS
            from ..dynamics.propagator import rhs_expressions

            t = _time.perf_counter()
            sys, _ctx, params, tracks, _rots = rhs_expressions(model)
            vsys = hy.var_ode_sys(sys, hy.var_args.vars, order=1)
            pars = np.repeat(np.asarray(params.values, float)[:, None], B, axis=1)
            ta = hy.taylor_adaptive_batch(vsys, np.zeros((6, B)), tol=model.tolerance, pars=pars,
                                          compact_mode=model.compact_mode, **HEYOKA_OPTIONS)
            self.compile_s = _time.perf_counter() - t
            _VAR_CACHE[sig] = (ta, params, tracks)
        self.ta, self.params, self.tracks = _VAR_CACHE[sig]
        self.sig = model.signature()
        self.batch_size = B
        _segment_bookkeeping(self)
        self.n_flows = 0

    def _pieces(self, t0: float, t1: float) -> list:
        out, s0 = [], float(t0)
        seg = self.seg if self.cheb else max(t1 - t0, 0.0)
        while t1 - s0 > 0:
            s1 = s0 + min(seg, t1 - s0)
            out.append((s0, s1))
            s0 = s1
        return out

    def __call__(self, t0s, X0s, t1s):
        """``X0s`` (n, 6) flown from ``t0s`` to ``t1s`` (each a number or (n,) epochs, TDB s):
        ``(X1s (n, 6), Phis (n, 6, 6))``."""
        X0s = np.atleast_2d(np.asarray(X0s, float))
        n = X0s.shape[0]
        t0s = np.broadcast_to(np.asarray(t0s, float), (n,))
        t1s = np.broadcast_to(np.asarray(t1s, float), (n,))
        if X0s.shape != (n, 6) or not (np.all(np.isfinite(X0s)) and np.all(np.isfinite(t0s))
                                       and np.all(np.isfinite(t1s))):
            raise InputError("X0s", f"array of shape {X0s.shape}", "finite states (n, 6) and epochs")
        if np.any(t1s < t0s):
            raise InputError("t1s", "before t0s", "forward flows (t1 >= t0)")
        Xf = np.empty((n, 6))
        Phi = np.empty((n, 6, 6))
        B = self.batch_size
        for g0 in range(0, n, B):
            lanes = list(range(g0, min(g0 + B, n)))
            xf, phi = self._group(t0s[lanes], X0s[lanes], t1s[lanes])
            Xf[lanes], Phi[lanes] = xf, phi
        self.n_flows += n
        return Xf, Phi

    def _group(self, t0s, X0s, t1s):
        ta, B = self.ta, self.batch_size
        m = len(t0s)
        pad = [0] * (B - m)
        t0s, t1s, X0s = np.r_[t0s, t0s[pad]], np.r_[t1s, t1s[pad]], np.r_[X0s, X0s[pad]]
        pieces = [self._pieces(a, b) for a, b in zip(t0s, t1s)]
        k_max = max(len(p) for p in pieces)
        ta.set_time(np.array(t0s, float))
        st = np.empty((42, B))
        st[:6] = X0s.T
        st[6:] = np.eye(6).ravel()[:, None]
        ta.state[:] = st
        pars = np.repeat(np.asarray(self.params.values, float)[:, None], B, axis=1)
        for k in range(k_max):
            # a lane with fewer pieces stays where it is (target = its own end epoch)
            ab = [p[k] if k < len(p) else (t1s[i], t1s[i]) for i, p in enumerate(pieces)]
            a = np.array([x[0] for x in ab])
            b = np.array([x[1] for x in ab])
            if self.cheb:
                live = b > a
                pars[self.i_tmid, live] = 0.5 * (a[live] + b[live])
                pars[self.i_ih, live] = 2.0 / (b[live] - a[live])
                if np.any(live):
                    for tr in self.cheb:
                        coef = _fit_lanes(self.sig, tr, a[live], b[live])  # (L, degree+1, 3)
                        pars[tr.first_par: tr.first_par + coef[0].size, live] = coef.reshape(coef.shape[0], -1).T
                ta.pars[:] = pars
            ta.propagate_until(b)
            for i, res in enumerate(ta.propagate_res[:m]):
                oc = str(res[0]).split(".")[-1].split(":")[0]
                if oc not in ("time_limit", "success"):
                    raise MmxsimError(f"variational propagation failed at t = {ta.time[i]:.3f} s ({oc})")
        out = np.array(ta.state[:, :m], float)
        return out[:6].T.copy(), out[6:].T.reshape(m, 6, 6).copy()


# ---------------------------------------------------------------------------
# Patch points
def _check_int(name, v, lo, hi):
    if not (isinstance(v, (int, np.integer)) and not isinstance(v, bool) and lo <= v <= hi):
        raise InputError(name, v, f"an integer {lo}..{hi}")
    return int(v)


def _check_epoch(t_tdb):
    try:
        t = float(t_tdb)
    except (TypeError, ValueError):
        raise InputError("t0_tdb", t_tdb, "TDB seconds past J2000 (a finite number)") from None
    if not math.isfinite(t) or abs(t) > 100 * 365.25 * 86400:
        raise InputError("t0_tdb", t_tdb, "TDB seconds past J2000 within +-100 years")
    return t


def patch_points(q: QSO, t0_tdb: float, n_revs: int = 10, per_rev: int = 4, eph=None):
    """Hill-problem samples of ``q`` as Mars-centred ICRF patch points.

    Returns ``(t, X)``: epochs (n_revs*per_rev + 1,) TDB s from ``t0_tdb`` spaced by
    ``q.period_s / per_rev`` and the states (.., 6) km, km/s. The Hill states come from
    :func:`mmxsim.orbits.qso.sample_orbit` (the QSO's own circular-Hill model) and are
    placed in the ephemeris ``PHOBOS_HILL`` frame at each epoch.
    """
    if not isinstance(q, QSO):
        raise InputError("q", type(q).__name__, "a mmxsim.orbits.qso.QSO")
    t0 = _check_epoch(t0_tdb)
    n_revs = _check_int("n_revs", n_revs, 1, 200)
    per_rev = _check_int("per_rev", per_rev, 1, 32)
    from ..frames import to_mars_icrf

    n = n_revs * per_rev + 1
    hill = sample_orbit(q, n_points=n, n_revs=n_revs)
    t = t0 + np.linspace(0.0, n_revs * q.period_s, n)
    return t, to_mars_icrf("PHOBOS_HILL", t, hill, eph)


# ---------------------------------------------------------------------------
# Multiple shooting
@dataclass
class ShootingResult:
    t: np.ndarray  # patch-point epochs (TDB s)
    guess: np.ndarray  # initial patch points (Mars ICRF)
    states: np.ndarray  # corrected patch points
    iterations: int
    history_pos_m: list  # max position mismatch at the patch points before each iteration, m
    history_vel_mm_s: list
    converged: bool
    compile_s: float
    runtime_s: float
    n_flows: int
    guess_dv_m_s: float  # sum of velocity jumps of the guess (the Delta-v to fly it as is)
    max_shift_km: float  # max |corrected - guess| position over the patch points

    @property
    def mismatch_pos_m(self) -> float:
        return self.history_pos_m[-1]

    @property
    def mismatch_vel_mm_s(self) -> float:
        return self.history_vel_mm_s[-1]


def _defects(flow, t, X):
    if isinstance(flow, BatchFlow):  # every segment as one lane
        Xf, Phi = flow(t[:-1], X[:-1], t[1:])
        return Xf - X[1:], list(Phi)
    n = len(t) - 1
    F = np.empty((n, 6))
    Phis = []
    for i in range(n):
        xf, phi = flow(t[i], X[i], t[i + 1])
        F[i] = xf - X[i + 1]
        Phis.append(phi)
    return F, Phis


def _min_norm_step(A: np.ndarray, F: np.ndarray) -> np.ndarray:
    """Minimum-norm Newton step ``dZ = -J^T (J J^T)^-1 F`` of the shooting constraints, (n+1, 6).

    ``J`` has block rows ``[.. A_i, -I ..]`` (``A`` (n, 6, 6) at block column i, -I at i+1), so ``J J^T``
    is symmetric positive definite (full row rank by its -I blocks) and block tridiagonal: diagonal
    blocks ``A_i A_i^T + I``, upper blocks ``-A_{i+1}^T``. It is solved as a banded matrix (Cholesky,
    half-bandwidth 11): the same solution as the dense solve to rounding, in O(n) instead of O(n^3)
    (a month-long reference has 377 segments: a 2262-column dense J)."""
    from scipy.linalg import solveh_banded

    n = A.shape[0]
    m = 6 * n
    u = 11
    ab = np.zeros((u + 1, m))
    r, c = np.triu_indices(6)
    diag = np.einsum("nij,nkj->nik", A, A) + np.eye(6)[None]
    for i in range(n):
        ab[u + r - c, 6 * i + c] = diag[i, r, c]
        if i + 1 < n:  # block (i, i+1) = -A_{i+1}^T: every entry lies in the upper band
            rr, cc = np.indices((6, 6)).reshape(2, -1)
            ab[u + (6 * i + rr) - (6 * i + 6 + cc), 6 * i + 6 + cc] = -A[i + 1].T[rr, cc]
    y = solveh_banded(ab, F.ravel(), lower=False).reshape(n, 6)
    dZ = np.zeros((n + 1, 6))
    dZ[:n] -= np.einsum("nji,nj->ni", A, y)  # -A_k^T y_k
    dZ[1:] += y  # -(-I) y_{k-1}
    return dZ


def multiple_shooting(model, t, X0, tol_pos_km: float = 1e-6, tol_vel_km_s: float = 1e-9,
                      max_iter: int = 15, flow: Flow | BatchFlow | None = None) -> ShootingResult:
    """Correct patch points ``X0`` at fixed epochs ``t`` so the full-model trajectory is continuous.

    ``flow``: a :class:`Flow` (default: one for ``model``) or a :class:`BatchFlow`, which flies the
    segments as lanes of SIMD batches (the same flows to the integrator's tolerance; worth its compile
    for long chains of segments).

    Minimum-norm Newton on all 6(n+1) patch-point components (variables scaled:
    km and km/tau with tau = n t); stops when every position defect is below
    ``tol_pos_km`` and every velocity defect below ``tol_vel_km_s``.
    """
    t = np.asarray(t, float)
    X = np.array(X0, float)
    if t.ndim != 1 or t.size < 2 or X.shape != (t.size, 6) or not np.all(np.diff(t) > 0):
        raise InputError("t, X0", (t.shape, X.shape), "increasing epochs (k >= 2,) and states (k, 6)")
    if not np.all(np.isfinite(X)):
        raise InputError("X0", "non-finite", "finite states")
    T = _time.perf_counter()
    flow = flow or Flow(model)
    c_s = flow.compile_s
    S = np.r_[np.ones(3), np.full(3, 1.0 / N)]  # scaled variable = S * physical
    hp, hv = [], []
    converged = False
    guess = X.copy()
    it = 0
    F, Phis = _defects(flow, t, X)
    guess_dv = float(np.sum(np.linalg.norm(F[:, 3:], axis=1)) * 1e3)
    for it in range(max_iter + 1):
        ep = np.max(np.linalg.norm(F[:, :3], axis=1))
        ev = np.max(np.linalg.norm(F[:, 3:], axis=1))
        hp.append(float(ep * 1e3))
        hv.append(float(ev * 1e6))
        if ep < tol_pos_km and ev < tol_vel_km_s:
            converged = True
            break
        if it == max_iter:
            break
        # d(S F_i)/d(S X_i) = S Phi S^-1 ; d(S F_i)/d(S X_i+1) = -I
        A = (S[None, :, None] * np.asarray(Phis)) / S[None, None, :]
        step = _min_norm_step(A, F * S) / S
        for _ in range(6):  # halve a step whose flows fail (e.g. a segment thrown into Phobos)
            try:
                F, Phis = _defects(flow, t, X + step)
                break
            except MmxsimError:
                step = step / 2
        else:
            break
        X = X + step
    shift = float(np.max(np.linalg.norm(X[:, :3] - guess[:, :3], axis=1)))
    return ShootingResult(t, guess, X, it, hp, hv, converged, c_s, _time.perf_counter() - T, flow.n_flows,
                          guess_dv, shift)


def continuity(model, t, X):
    """Independent check: re-propagate each segment with :func:`mmxsim.dynamics.propagate`.

    Returns (position mismatch m, velocity mismatch mm/s) arrays at patch points 1..n.
    """
    from ..dynamics import propagate

    t = np.asarray(t, float)
    dp, dv = [], []
    for i in range(t.size - 1):
        p = propagate(model, t[i], X[i], [t[i], t[i + 1]])
        e = p.states[-1] - X[i + 1]
        dp.append(np.linalg.norm(e[:3]) * 1e3)
        dv.append(np.linalg.norm(e[3:]) * 1e6)
    return np.array(dp), np.array(dv)


# ---------------------------------------------------------------------------
# Boundedness
@dataclass
class Boundedness:
    """Ballistic propagation in the full model, measured in the ephemeris Hill frame.

    ``bounded`` means: the propagation completed the span, the trajectory never enters the
    Ernst shape model (surface distance > 0 at every sample, ``samples_per_rev`` per Phobos
    revolution, libration included through the PHOBOS_FIXED frame), and the distance to
    Phobos stays within ``[(1 - tol_frac) * nominal_km[0], (1 + tol_frac) * nominal_km[1]]``.
    """

    label: str
    days: float
    nominal_km: tuple  # (d_min, d_max) the criterion refers to
    tol_frac: float
    min_distance_km: float
    max_distance_km: float
    min_surface_km: float  # to the Ernst shape model (signed, exact mesh distance), body-fixed
    radial_semi_km: np.ndarray  # per revolution (max x - min x)/2, Hill frame
    along_semi_km: np.ndarray
    radial_drift_km_per_rev: float  # least-squares slope of the above
    along_drift_km_per_rev: float
    termination: str
    runtime_s: float
    bounded: bool
    first_violation_days: float  # first sample outside the criterion (nan if none)
    t: np.ndarray = field(repr=False, default=None)
    hill: np.ndarray = field(repr=False, default=None)

    def row(self) -> str:
        return (f"| {self.label} | {self.days:g} | {self.min_distance_km:.2f} | {self.max_distance_km:.2f} "
                f"| {self.min_surface_km:.2f} | {self.radial_semi_km.min():.1f}..{self.radial_semi_km.max():.1f} "
                f"| {self.along_semi_km.min():.1f}..{self.along_semi_km.max():.1f} "
                f"| {self.radial_drift_km_per_rev:+.3f} | {self.along_drift_km_per_rev:+.3f} "
                f"| {'yes' if self.bounded else f'NO (day {self.first_violation_days:.1f})'} |")


BOUNDEDNESS_HEADER = ("| case | days | min dist km | max dist km | min surf. km | radial semi-extent km "
                      "| along-track semi-extent km | radial drift km/rev | along drift km/rev | bounded |\n"
                      "|---|---|---|---|---|---|---|---|---|---|")


def boundedness(model, t0_tdb: float, x0, days: float = 30.0, nominal_km=None, tol_frac: float = 0.25,
                samples_per_rev: int = 96, label: str = "", eph=None) -> Boundedness:
    """Propagate ``x0`` (Mars ICRF) ballistically for ``days`` and measure boundedness.

    ``nominal_km`` = (d_min, d_max) of the designed orbit (default: the distance range of
    the first revolution of this propagation).
    """
    from ..dynamics import propagate
    from ..frames import from_mars_icrf

    t0 = _check_epoch(t0_tdb)
    if not (isinstance(days, (int, float)) and 0 < days <= 365):
        raise InputError("days", days, "a number of days in (0, 365]")
    if not (isinstance(tol_frac, (int, float)) and 0 < tol_frac < 1):
        raise InputError("tol_frac", tol_frac, "a fraction in (0, 1)")
    samples_per_rev = _check_int("samples_per_rev", samples_per_rev, 8, 10000)
    eph = eph if eph is not None else model.ephemeris
    T = _time.perf_counter()
    n_rev = days * 86400.0 / PHOBOS_PERIOD_S
    n = int(math.ceil(n_rev * samples_per_rev)) + 1
    grid = t0 + np.linspace(0.0, days * 86400.0, n)
    p = propagate(model, t0, np.asarray(x0, float), grid)
    hill = from_mars_icrf("PHOBOS_HILL", p.t, p.states, eph)
    pfix = from_mars_icrf("PHOBOS_FIXED", p.t, p.states, eph)
    d = np.linalg.norm(hill[:, :3], axis=1)
    surf = surface_distance_body(pfix[:, :3])
    k = ((p.t - t0) // PHOBOS_PERIOD_S).astype(int)
    full = int(math.floor(n_rev + 1e-9))
    rad, alo = [], []
    for j in range(max(full, 1)):
        s = hill[k == j]
        if len(s) < 2:
            break
        rad.append((s[:, 0].max() - s[:, 0].min()) / 2)
        alo.append((s[:, 1].max() - s[:, 1].min()) / 2)
    rad, alo = np.array(rad), np.array(alo)
    idx = np.arange(len(rad))
    slope = (lambda y: float(np.polyfit(idx, y, 1)[0]) if len(y) >= 2 else float("nan"))
    if nominal_km is None:
        first = d[k == 0]
        nominal_km = (float(first.min()), float(first.max()))
    lo, hi = (1 - tol_frac) * nominal_km[0], (1 + tol_frac) * nominal_km[1]
    completed = p.termination == "span completed" and p.t.size == grid.size
    ok = bool(completed and surf.min() > 0.0 and d.min() >= lo and d.max() <= hi)
    bad = np.nonzero((surf <= 0.0) | (d < lo) | (d > hi))[0]
    first = float((p.t[bad[0]] - t0) / 86400.0) if bad.size else float("nan")
    return Boundedness(label, float(days), tuple(float(v) for v in nominal_km), float(tol_frac), float(d.min()),
                       float(d.max()), float(surf.min()), rad, alo, slope(rad), slope(alo), p.termination,
                       _time.perf_counter() - T, ok, first, p.t, hill)


# ---------------------------------------------------------------------------
# One call
@dataclass
class Handoff:
    qso: QSO
    t0_tdb: float
    shooting: ShootingResult
    corrected: Boundedness
    uncorrected: Boundedness
    nominal_km: tuple  # distance range of the Hill-problem design

    @property
    def x0(self) -> np.ndarray:
        """Corrected initial state, Mars ICRF."""
        return self.shooting.states[0]

    def table(self) -> str:
        return BOUNDEDNESS_HEADER + "\n" + self.corrected.row() + "\n" + self.uncorrected.row()


def design_distance_range(q: QSO, n_revs: int = 1) -> tuple:
    """(min, max) distance to Phobos (km) of the Hill-problem orbit over ``n_revs``."""
    h = sample_orbit(q, n_points=600 * n_revs + 1, n_revs=n_revs)
    d = np.linalg.norm(h[:, :3], axis=1)
    return float(d.min()), float(d.max())


def handoff(q: QSO, t0_tdb: float, n_revs: int = 10, per_rev: int = 4, days: float = 30.0,
            tol_frac: float = 0.25, model=None, eph=None, max_iter: int = 15) -> Handoff:
    """Hand ``q`` to the full model at ``t0_tdb``: multiple shooting over ``n_revs``, then a
    ballistic ``days`` propagation of the corrected and of the uncorrected
    (:func:`mmxsim.orbits.qso.to_mars_icrf`) initial states, both judged against the
    distance range of the Hill design (``tol_frac``; see :class:`Boundedness`).
    """
    if model is None:
        model = full_model(eph)
    eph = eph if eph is not None else model.ephemeris
    check_switch_radius(model, q)
    t, X = patch_points(q, t0_tdb, n_revs, per_rev, eph)
    sh = multiple_shooting(model, t, X, max_iter=max_iter)
    if not sh.converged:
        raise MmxsimError(f"multiple shooting did not converge in {max_iter} iterations "
                          f"(position defect {sh.mismatch_pos_m:.3g} m)")
    nom = design_distance_range(q, n_revs=1 if q.periodic else min(n_revs, 10))
    kind = "3D" if not q.periodic else "planar"
    tag = f"{q.size_km:g} km {kind}"
    cor = boundedness(model, t[0], sh.states[0], days, nom, tol_frac, label=f"{tag}, corrected", eph=eph)
    unc = boundedness(model, t[0], X[0], days, nom, tol_frac, label=f"{tag}, to_mars_icrf", eph=eph)
    return Handoff(q, float(t[0]), sh, cor, unc, nom)


__all__ = ["full_model", "check_switch_radius", "Flow", "BatchFlow", "patch_points", "multiple_shooting", "ShootingResult", "continuity",
           "boundedness", "Boundedness", "BOUNDEDNESS_HEADER", "handoff", "Handoff", "design_distance_range",
           "PHOBOS_PERIOD_S"]
