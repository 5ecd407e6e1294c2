"""Impulsive transfers between QSOs of Phobos in the circular Hill problem.

Model (simplified; stated here as the standards require)
-------------------------------------------------------
Same dynamics as :mod:`mmxsim.orbits.qso`: circular Hill problem of Mars-Phobos with
Phobos' gravity as a point mass (``degree=0``) or the spherical-harmonic field of
degree 1..10. Manoeuvres are **impulsive** (instantaneous velocity changes, no finite
burns; navigation and execution errors only in the dispersion functions below). No eccentricity,
Mars J2, Sun or Deimos.
The surface check uses the signed, exact distance to the Ernst shape model
(:func:`mmxsim.orbits.qso.surface_distance_hill`: Phobos' body frame taken as the Hill frame,
no libration), not the IAU ellipsoid.

Method
------
* A point on a QSO is named by its **phase**: the time since the Mars-side section
  crossing (y = 0, x = -size, see :mod:`mmxsim.orbits.qso`) divided by the QSO period.
  Phase 0 is the Mars-side periphobian point (x = -size), phase ~0.5 the anti-Mars one.
  For the quasi-periodic 3D QSOs the phase counts revolutions along the torus
  trajectory from ``state0`` (0 <= phase <= 100, not wrapped).
* :func:`two_impulse_transfer` solves the two-point boundary-value problem
  r(t0) = r1 (departure point), r(t0 + tof) = r2 (arrival point) for the departure
  velocity by Newton's method. The Jacobian is the position-velocity block of the
  state-transition matrix from heyoka's variational equations (``hy.var_ode_sys``, taken with
  respect to the initial velocity only: 24 instead of 42 variables, no event; the scalar
  :func:`_newton_integrator` and its batch twin for the grid). The first guess
  is the solution of the same problem in the linear Hill (Clohessy-Wiltshire) equations
  (no Phobos gravity), then the departure orbit's own velocity; a backtracking line
  search keeps the miss decreasing. Its trial steps are flown first without the variational
  equations (~15x cheaper) and again with them only where the trial may be accepted (within 0.1 %
  of the current miss): the iterates are those of flying every trial with the STM. The lowest-Δv
  converged solution is returned.
* :func:`optimal_transfer` searches a grid of (departure phase, arrival phase, tof) and
  refines the best points with Nelder-Mead (tof kept in [tof_min, tof_max]). The grid's Newton
  problems are solved together: one heyoka batch integrator (SIMD lanes, same equations and
  tolerance, no section event) flies the pending velocity of every unfinished problem per round, and
  another (no variational equations) the pending line-search trials
  (:func:`_solve_bvps`, the same Newton iterations as the scalar :func:`_solve_bvp`; Δv agrees to
  ~1e-13 m/s). The Nelder-Mead path is sensitive to the last bits of its warm starts (its Newton
  problems can switch solution branch), so its starts are re-solved, and it runs, with the scalar
  integrator: the optimum is bit for bit the scalar search's.
* :func:`transfer_campaign` steps a planar QSO down through given sizes; the total
  time includes the coasts on the intermediate QSOs to reach the next departure phase.
* :func:`planar_3d_transfers` does a direct two-impulse transfer planar -> 3D QSO and back.
  The published values [SURREY-3D] used invariant manifolds and an ellipsoidal Phobos;
  ours are direct transfers in the SH field (see docs/transfers.md).
* :func:`transfer_dispersion` (linear covariance) and :func:`transfer_dispersion_mc` (its Monte
  Carlo through the nonlinear dynamics) disperse a two-impulse transfer. Errors
  (:class:`TransferErrors`, all sigmas ASSUMED: MMX navigation accuracies and thruster errors are
  unpublished, nav-facts.md §4): the departure state knowledge (per Hill axis, or a full 6x6
  covariance), the magnitude (fraction) and pointing (rad per perpendicular axis) errors of both
  burns. The departure covariance plus the first burn's execution covariance is mapped by the
  arc's STM. **Second-burn law (our choice): velocity matching** -- the second burn is recomputed
  on the estimated arrival state (knowledge error of the same covariance, independent of the
  departure one) so as to null the estimated velocity error relative to the target QSO; the
  arrival position error is not corrected (the spacecraft enters the target QSO displaced), there
  is no mid-course correction. Reported: 1-sigma arrival position/velocity per Hill axis, the
  correction Δv (the second burn minus its nominal value: mean and 99th percentile of its norm),
  the velocity error after the second burn, and the smallest margin, in sigmas of the linearised
  signed distance to the shape model, above a threshold distance along the arc (with the
  one-point Gaussian probability of coming closer there; the Monte Carlo counts samples whose arc
  comes closer, a union over the arc). Linear covariance holds while the along-track dispersion
  stays small against the QSO (tests: default errors, 500 samples).

Units: km, s, km/s at the interface; dimensionless time tau = n t inside.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field as dc_field, replace

import numpy as np

from ..errors import InputError
from . import qso as Q

N = Q.N
_TWO_PI = 2.0 * math.pi
DAY = 86400.0

#: Published reference values (mmx-facts.md §4.1). Sizes of the QSOs involved are
#: UNCONFIRMED there (§4.2), so our cases use assumed sizes stated in the table.
PUBLISHED = {
    "high_to_low": dict(dv_m_s=40.0, tof_days=5.0, bound=True, source="[BAR-SURREY]",
                        text="high -> low QSO: < 40 m/s total, < 5 days"),
    "planar_to_3d": dict(dv_m_s=8.277, tof_days=4.19, bound=False, source="[SURREY-3D]",
                         text="planar -> 3D QSO (invariant manifolds, ellipsoidal Phobos)"),
    "3d_to_planar": dict(dv_m_s=8.286, tof_days=6.75, bound=False, source="[SURREY-3D]",
                         text="3D -> planar QSO (invariant manifolds, ellipsoidal Phobos)"),
}

MAX_TOF_S = 30.0 * DAY  # longer arcs are not transfers any more (and the Newton problem degrades)
MAX_PHASE_3D = 100.0


class TransferError(RuntimeError):
    """The boundary-value solver did not converge (internal; the API turns it into InputError)."""


# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Transfer:
    """An impulsive transfer arc (Hill frame; km, km/s, s)."""

    degree: int  # Phobos field of the transfer arc (0 = point mass)
    departure_size_km: float
    arrival_size_km: float
    depart_phase: float
    arrive_phase: float
    tof_s: float
    r1: np.ndarray  # departure point (km)
    r2: np.ndarray  # arrival point (km)
    dv1: np.ndarray  # km/s, first impulse (transfer velocity - departure-orbit velocity)
    dv2: np.ndarray  # km/s, second impulse (arrival-orbit velocity - transfer velocity)
    residual_m: float  # position miss at arrival of the converged arc (heyoka, variational run)
    min_surface_distance_km: float  # along the arc, to the Ernst shape model (signed, exact mesh distance)
    iterations: int
    trajectory: np.ndarray = dc_field(repr=False, default=None)  # (k, 7): t_s, x, y, z, vx, vy, vz
    dv_mid: np.ndarray = dc_field(default=None)  # km/s, mid-course impulse (three-impulse transfers only)
    t_mid_s: float = float("nan")  # time of the mid-course impulse after departure
    notes: str = ""

    @property
    def dv_total_m_s(self) -> float:
        mid = 0.0 if self.dv_mid is None else float(np.linalg.norm(self.dv_mid))
        return float((np.linalg.norm(self.dv1) + mid + np.linalg.norm(self.dv2)) * 1e3)

    @property
    def tof_days(self) -> float:
        return self.tof_s / DAY

    @property
    def v1_transfer(self) -> np.ndarray:
        return self.trajectory[0, 4:].copy()

    def summary(self) -> str:
        return (f"{self.departure_size_km:g} km (phase {self.depart_phase:.3f}) -> {self.arrival_size_km:g} km "
                f"(phase {self.arrive_phase:.3f}): {self.dv_total_m_s:.2f} m/s "
                f"(|dv1| {np.linalg.norm(self.dv1) * 1e3:.2f}, "
                + ("" if self.dv_mid is None else
                   f"|dv_mid| {np.linalg.norm(self.dv_mid) * 1e3:.2f} at {self.t_mid_s / DAY:.3f} d, ")
                + f"|dv2| {np.linalg.norm(self.dv2) * 1e3:.2f}), "
                f"tof {self.tof_days:.3f} d, miss {self.residual_m:.1e} m, min alt {self.min_surface_distance_km:.2f} km")


# ---------------------------------------------------------------------------
# Input checks
def _check_qso(q, field):
    if not isinstance(q, Q.QSO):
        raise InputError(field, type(q).__name__, "a mmxsim.orbits.qso.QSO (from periodic_qso, qso_family or qso_3d)")
    s = np.asarray(q.state0, float)
    if s.shape != (6,) or not np.all(np.isfinite(s)) or not (math.isfinite(q.period_s) and q.period_s > 0):
        raise InputError(field, "QSO with non-finite state0/period", "a converged QSO")
    return q


def _check_phase(q, phase, field):
    try:
        p = float(phase)
    except (TypeError, ValueError):
        raise InputError(field, phase, "a number (fraction of the QSO period)") from None
    if not math.isfinite(p):
        raise InputError(field, phase, "a finite number")
    if q.periodic:
        return p % 1.0
    if not 0.0 <= p <= MAX_PHASE_3D:
        raise InputError(field, phase, f"0 .. {MAX_PHASE_3D:g} revolutions along the quasi-periodic 3D QSO")
    return p


def _check_tof(tof_s, field="tof_s"):
    try:
        t = float(tof_s)
    except (TypeError, ValueError):
        raise InputError(field, tof_s, "a time of flight in seconds") from None
    if not math.isfinite(t) or not 0.0 < t <= MAX_TOF_S:
        raise InputError(field, tof_s, f"finite, 0 < tof <= {MAX_TOF_S:g} s (30 days)")
    return t


def _check_degree(degree, departure, arrival):
    if degree is None:
        if departure.degree != arrival.degree:
            raise InputError("degree", None, f"given explicitly when the QSOs have different degrees "
                                             f"({departure.degree}, {arrival.degree})")
        return int(departure.degree)
    Q._field(degree)  # validates 0..10
    return int(degree)


# ---------------------------------------------------------------------------
# Propagation helpers (dimensionless time tau)
def _to_tau(state):
    s = np.asarray(state, float)
    return np.concatenate([s[:3], s[3:] / N])


def _to_dim(X):
    X = np.asarray(X, float)
    return np.concatenate([X[..., :3], X[..., 3:] * N], axis=-1)


def qso_state(q: Q.QSO, phase: float) -> np.ndarray:
    """Hill state (km, km/s) on QSO ``q`` at ``phase`` (see module docstring), in q's own model."""
    _check_qso(q, "q")
    p = _check_phase(q, phase, "phase")
    if p == 0.0:
        return np.asarray(q.state0, float).copy()
    ta = Q.hill_integrator(q.degree, variational=False)
    ta.time = 0.0
    ta.state[:] = _to_tau(q.state0)
    ta.propagate_until(p * q.period_s * N)
    return _to_dim(ta.state.copy())


def _flow_stm(X0, tau, degree):
    """Propagate state and STM over tau (:func:`_stm_grid` at one time: the cached integrator has a
    terminal y = 0 event, resumed)."""
    xs, phis = _stm_grid(X0, [tau], degree)
    return xs[0].copy(), phis[0].copy()


def _sample_arc(X0, tau, degree, n):
    ta = Q.hill_integrator(degree, variational=False)
    ta.time = 0.0
    ta.state[:] = X0
    grid = np.linspace(0.0, tau, n)
    out = np.asarray(ta.propagate_grid(grid)[-1])
    return grid, out


def _sample_arcs(X0s, tau, degree, n):
    """``[_sample_arc(X0, tau, degree, n)[1] for X0 in X0s]`` (n, 6) each, flown in heyoka batch mode
    (the lanes of :func:`_batch_integrator` without the variational part; same equations and
    tolerance); fewer than two states, or a batch that stopped early, with the scalar integrator."""
    X0s = np.asarray(X0s, float)
    if len(X0s) < 2:
        return [_sample_arc(X0, tau, degree, n)[1] for X0 in X0s]
    B, time_limit = _batch_integrator(degree, variational=False)
    W = B.batch_size
    grid = np.linspace(0.0, tau, n)
    out = []
    for k in range(0, len(X0s), W):
        chunk = X0s[k:k + W]
        lanes = np.concatenate([chunk, np.repeat(chunk[:1], W - len(chunk), axis=0)])
        B.set_time(0.0)
        B.state[:] = lanes.T
        res = np.asarray(B.propagate_grid(np.repeat(grid[:, None], W, axis=1))[-1])  # (n, 6, W)
        for j in range(len(chunk)):
            a = res[:, :, j]
            if B.propagate_res[j][0] == time_limit and np.all(np.isfinite(a)):
                out.append(a.copy())
            else:
                out.append(_sample_arc(chunk[j], tau, degree, n)[1])
    return out


_LINEAR_STM: dict = {}


def _linear_stm(tau):
    """STM of the linear Hill (Clohessy-Wiltshire) equations, no Phobos gravity (kept per tau: a grid
    search asks for each of its few times of flight many times; read-only)."""
    tau = float(tau)
    P = _LINEAR_STM.get(tau)
    if P is None:
        from scipy.linalg import expm

        A = np.zeros((6, 6))
        A[:3, 3:] = np.eye(3)
        A[3, 0], A[5, 2] = 3.0, -1.0
        A[3, 4], A[4, 3] = 2.0, -2.0
        P = expm(A * tau)
        P.flags.writeable = False
        if len(_LINEAR_STM) >= 256:
            _LINEAR_STM.pop(next(iter(_LINEAR_STM)))
        _LINEAR_STM[tau] = P
    return P


def _linear_guess(r1, r2, tau):
    P = _linear_stm(tau)
    return np.linalg.lstsq(P[:3, 3:], r2 - P[:3, :3] @ r1, rcond=1e-10)[0]


#: A line-search trial of :func:`_newton_bvp` is first flown without the variational equations (the
#: cheap non-variational twin of the integrator, ~15x faster); where that flight's arrival miss is at
#: least ``(1 + _TRIAL_REL) * g + _TRIAL_ABS_KM`` (g: the current miss) the trial is rejected on it
#: alone, since the two integrators of the same equations at machine-epsilon tolerance agree to ~1e-12
#: of the state; every other trial (accepted, near-tie, or a failed cheap flight) is flown again with
#: the variational integrator and decided on that flight, so the iterates, their STMs and every
#: decision except a rejection by a margin of 0.1 % are exactly those of flying every trial with the
#: variational integrator.
_TRIAL_REL = 1e-3
_TRIAL_ABS_KM = 1e-9


def _miss(res, r2):
    """Arrival miss (km) of a flight's result (inf for a failed flight's message)."""
    return math.inf if isinstance(res, str) else float(np.linalg.norm(res[0][:3] - r2))


def _newton_bvp(r1, r2, v_guess, tol_km=1e-9, maxit=25):
    """Newton on v1 so that r(tau) = r2, written as a coroutine so that many problems can share
    batched propagations: it yields ``(v1, stm)``, a velocity to fly (from r1 over the problem's tau)
    and whether the flight needs the STM (variational integrator) or only the final state (a
    line-search trial's first flight, see :data:`_TRIAL_REL`), and is sent back ``(Xf, phi)`` (phi
    None without the STM) or an error message (the propagation failed). Its return value is
    (v1, Xf, miss_km, iterations); it raises TransferError when it does not converge. A backtracking
    line search (step halved down to 1/64) keeps the miss decreasing. The drivers
    :func:`_solve_bvp` (one problem, scalar integrator) and :func:`_solve_bvps` (many, batch mode)
    run the same iterations."""
    v = np.array(v_guess, float)
    res = yield v, True
    if isinstance(res, str):
        raise TransferError(res)
    Xf, phi = res
    G = Xf[:3] - r2
    g = np.linalg.norm(G)
    for it in range(1, maxit + 1):
        if g < tol_km * max(1.0, np.linalg.norm(r2)):
            return v, Xf, g, it - 1
        dv = np.linalg.lstsq(phi[:3, -3:], -G, rcond=1e-12)[0]
        s = 1.0
        while True:
            vt = v + s * dv
            res = yield vt, False
            gt = _miss(res, r2)
            if isinstance(res, str) or not gt >= (1.0 + _TRIAL_REL) * g + _TRIAL_ABS_KM:
                res = yield vt, True  # decided on the variational flight, as if it were the only one
                gt = _miss(res, r2)
                if not isinstance(res, str):
                    Xt, pt = res
            if gt < g or s < 1.0 / 64:
                break
            s *= 0.5
        if not math.isfinite(gt) or gt >= g:
            raise TransferError(f"line search failed (miss {g:.3g} km)")
        v, Xf, phi, G, g = vt, Xt, pt, Xt[:3] - r2, gt
    if g < tol_km * max(1.0, np.linalg.norm(r2)):
        return v, Xf, g, maxit
    raise TransferError(f"Newton did not converge in {maxit} iterations (miss {g:.3g} km)")


def _flow_state(X0, tau, degree):
    """The state at tau from (0, X0), flown without the variational equations (the cached
    non-variational Hill integrator, no event), as ``(Xf, None)``, or an error message where the
    propagation failed."""
    ta = Q.hill_integrator(degree, variational=False)
    ta.time = 0.0
    ta.state[:] = X0
    ta.propagate_until(tau)
    if not (abs(ta.time - tau) <= 1e-12 * max(1.0, tau) and np.all(np.isfinite(ta.state))):
        return f"propagation stopped at tau = {ta.time:.4g} of {tau:.4g}"
    return ta.state.copy(), None


_NEWTON_INTEGRATORS: dict = {}


def _newton_integrator(degree):
    """Cached scalar heyoka integrator of the Hill problem with the variational equations with respect
    to the initial velocity only (state, then d state / d v0 as 6x3 row-major: the Newton Jacobian is
    its position rows), no event: the same equations and tolerance as ``qso.hill_integrator(degree,
    variational=True)`` at 24 instead of 42 variables."""
    key = int(degree)
    if key not in _NEWTON_INTEGRATORS:
        import heyoka as hy

        from ..dynamics.jit import HEYOKA_OPTIONS
        from ..mathns import heyoka_ns

        Q._field(degree)
        X = list(hy.make_vars("x", "y", "z", "vx", "vy", "vz"))
        sys = hy.var_ode_sys(list(zip(X, Q.hill_rhs(X, degree, heyoka_ns()))), X[3:], order=1)
        _NEWTON_INTEGRATORS[key] = hy.taylor_adaptive(sys, [1.0, 0, 0, 0, 1.0, 0], compact_mode=True,
                                                       **HEYOKA_OPTIONS)
    return _NEWTON_INTEGRATORS[key]


_V_SEED = np.vstack([np.zeros((3, 3)), np.eye(3)]).ravel()


def _flow_newton(X0, tau, degree):
    """State and d state / d v0 (6x3) at tau from (0, X0) (:func:`_newton_integrator`), or an error
    message where the propagation failed."""
    ta = _newton_integrator(degree)
    ta.time = 0.0
    st = ta.state
    st[:6] = X0
    st[6:] = _V_SEED
    ta.propagate_until(tau)
    st = ta.state
    if not (abs(ta.time - tau) <= 1e-12 * max(1.0, tau) and np.all(np.isfinite(st))):
        return f"propagation stopped at tau = {ta.time:.4g} of {tau:.4g}"
    return st[:6].copy(), st[6:].reshape(6, 3).copy()


def _flight(X0, tau, degree, stm):
    """One flight of :func:`_newton_bvp`'s request: (Xf, phi) with the STM, else (Xf, None); or the
    error message where the propagation failed."""
    if not stm:
        return _flow_state(X0, tau, degree)
    return _flow_newton(X0, tau, degree)


def _solve_bvp(r1, r2, tau, degree, v_guess, tol_km=1e-9, maxit=25):
    """Newton on v1 so that r(tau) = r2 (:func:`_newton_bvp`, scalar propagations).
    Returns (v1, Xf, miss_km, iterations)."""
    gen = _newton_bvp(r1, r2, v_guess, tol_km, maxit)
    try:
        v, stm = next(gen)
        while True:
            v, stm = gen.send(_flight(np.concatenate([r1, v]), tau, degree, stm))
    except StopIteration as stop:
        return stop.value


_BATCH_INTEGRATORS: dict = {}


def _batch_integrator(degree, variational=True, velocity_only=False):
    """Cached heyoka batch integrator (SIMD width ``heyoka.recommended_simd_size()``, one lane per
    problem) of the Hill problem, with its variational equations (state, then the 6x6 STM row-major;
    ``velocity_only``: the variations with respect to the initial velocity only, 6x3, the batch twin
    of :func:`_newton_integrator`) or without, no events: the batch twin of
    ``qso.hill_integrator(degree, variational)``, same equations and tolerance."""
    velocity_only = bool(variational and velocity_only)
    key = (int(degree), bool(variational), velocity_only)
    if key not in _BATCH_INTEGRATORS:
        import heyoka as hy

        from ..dynamics.jit import HEYOKA_OPTIONS
        from ..mathns import heyoka_ns

        Q._field(degree)
        X = list(hy.make_vars("x", "y", "z", "vx", "vy", "vz"))
        sys = list(zip(X, Q.hill_rhs(X, degree, heyoka_ns())))
        if variational:
            sys = hy.var_ode_sys(sys, X[3:] if velocity_only else hy.var_args.vars, order=1)
        W = int(hy.recommended_simd_size())
        n = 24 if velocity_only else 42 if variational else 6
        _BATCH_INTEGRATORS[key] = (hy.taylor_adaptive_batch(sys, np.ones((n, W)), compact_mode=True,
                                                            **HEYOKA_OPTIONS),
                                   hy.taylor_outcome.time_limit)
    return _BATCH_INTEGRATORS[key]


def _flow_stm_many(X0s, taus, degree, velocity_only=False):
    """State and STM at tau_i from (0, X0_i) for many problems: heyoka batch mode (lanes sorted by tau,
    the last batch padded with a copy of one of its members). Returns a list of (Xf, phi) or, where a
    propagation failed (non-finite state, integrator error), an error message. heyoka stops the whole
    batch when one lane fails; the other lanes of that batch are then flown with the scalar integrator.
    ``velocity_only``: phi is d state / d v0 (6x3), the batch twin of :func:`_flow_newton`."""
    B, time_limit = _batch_integrator(degree, True, velocity_only)
    W = B.batch_size
    X0s, taus = np.asarray(X0s, float), np.asarray(taus, float)
    order = np.argsort(taus, kind="stable")
    out = [None] * len(taus)
    seed = (_V_SEED if velocity_only else np.eye(6).ravel())[:, None]
    cols = 3 if velocity_only else 6
    for k in range(0, len(order), W):
        idx = order[k:k + W]
        lanes = np.concatenate([idx, np.full(W - len(idx), idx[0])])
        B.set_time(0.0)
        st = B.state
        st[:6, :] = X0s[lanes].T
        st[6:, :] = seed
        B.propagate_until(taus[lanes])
        st = B.state
        for j, i in enumerate(idx):
            oc = B.propagate_res[j][0]
            Xf = st[:, j]
            if oc == time_limit and np.all(np.isfinite(Xf)):
                out[i] = (Xf[:6].copy(), Xf[6:].reshape(6, cols).copy())
            elif np.all(np.isfinite(Xf)):
                # stopped with the batch when another lane failed (heyoka stops every lane): flown alone
                if velocity_only:
                    out[i] = _flow_newton(X0s[i], taus[i], degree)
                    continue
                try:
                    out[i] = _flow_stm(X0s[i], taus[i], degree)
                except TransferError as e:
                    out[i] = str(e)
            else:
                out[i] = f"propagation stopped at tau = {B.time[j]:.4g} of {taus[i]:.4g} ({oc})"
    return out


def _flow_states_many(X0s, taus, degree):
    """``[_flow_state(X0, tau, degree) for ...]``: the states only (line-search trials of the lockstep
    Newton), flown in heyoka batch mode without the variational equations (lanes sorted by tau; a lane
    stopped with its batch by another lane's failure is flown alone)."""
    B, time_limit = _batch_integrator(degree, variational=False)
    W = B.batch_size
    X0s, taus = np.asarray(X0s, float), np.asarray(taus, float)
    order = np.argsort(taus, kind="stable")
    out = [None] * len(taus)
    for k in range(0, len(order), W):
        idx = order[k:k + W]
        lanes = np.concatenate([idx, np.full(W - len(idx), idx[0])])
        B.set_time(0.0)
        B.state[:] = X0s[lanes].T
        B.propagate_until(taus[lanes])
        st = B.state
        for j, i in enumerate(idx):
            Xf = st[:, j]
            if B.propagate_res[j][0] == time_limit and np.all(np.isfinite(Xf)):
                out[i] = (Xf.copy(), None)
            else:
                out[i] = _flow_state(X0s[i], taus[i], degree)
    return out


#: fewer problems than this are flown with the scalar integrator: compiling the batch one (~0.5 s, once
#: per process) would cost more than it saves (the quick run's grid has 6)
_BATCH_MIN_PROBLEMS = 16
#: in a lockstep round, fewer STM flights (or state-only trials) than this are flown with the scalar
#: integrator (a batch costs ~3.5 scalar flights, ~1.6 for the state only, whatever its filled lanes)
_BATCH_MIN_LANES = 4


def _solve_bvps(problems, degree):
    """Many independent Newton problems (:func:`_newton_bvp`) in lockstep: each round flies the
    pending velocity of every unfinished problem together (:func:`_flow_stm_many`; a lone one, and
    all of them when there are fewer than ``_BATCH_MIN_PROBLEMS``, with the scalar integrator).
    ``problems``: (r1, r2, tau, v_guess). Returns, per problem, the tuple of :func:`_solve_bvp` or
    the exception (TransferError, LinAlgError) it raised."""
    gens = [_newton_bvp(r1, r2, vg) for r1, r2, _, vg in problems]
    batch = len(problems) >= _BATCH_MIN_PROBLEMS
    out = [None] * len(problems)
    pending = {}
    for i, g in enumerate(gens):
        pending[i] = next(g)
    while pending:
        res = {}
        full = [i for i, (_, stm) in pending.items() if stm]
        trial = [i for i, (_, stm) in pending.items() if not stm]
        if batch and len(full) >= _BATCH_MIN_LANES:
            X0s = [np.concatenate([problems[i][0], pending[i][0]]) for i in full]
            res.update(zip(full, _flow_stm_many(X0s, [problems[i][2] for i in full], degree,
                                                velocity_only=True)))
        if batch and len(trial) >= _BATCH_MIN_LANES:
            X0s = [np.concatenate([problems[i][0], pending[i][0]]) for i in trial]
            res.update(zip(trial, _flow_states_many(X0s, [problems[i][2] for i in trial], degree)))
        for i, (v, stm) in pending.items():
            if i not in res:
                res[i] = _flight(np.concatenate([problems[i][0], v]), problems[i][2], degree, stm)
        pending = {}
        for i, r in res.items():
            try:
                pending[i] = gens[i].send(r)
            except StopIteration as stop:
                out[i] = stop.value
            except (TransferError, np.linalg.LinAlgError) as e:
                out[i] = e
    return out


def _best_solution(X1, X2, sols):
    """The lowest-Δv converged solution among ``sols`` (in guess order; exceptions skipped), as
    :func:`_solve_arc` keeps it; raises TransferError when none converged."""
    best, errs = None, []
    for sol in sols:
        if isinstance(sol, Exception):
            errs.append(str(sol))
            continue
        v, Xf, miss, it = sol
        dv = np.linalg.norm(v - X1[3:]) + np.linalg.norm(X2[3:] - Xf[3:])
        if best is None or dv < best[0] - 1e-12:
            best = (dv, v, Xf, miss, it)
    if best is None:
        raise TransferError("; ".join(errs))
    return best[1:]


def _solve_arc(X1, X2, tau, deg, v_guess=None):
    """Arc from X1's position to X2's position in tau: lowest-Δv converged solution over the guesses
    (warm start ``v_guess`` first, then the linear Hill solution, then X1's own velocity), scalar
    propagations (the optimisers' sequential path; :func:`_grid_transfers` solves a whole grid at once)."""
    def guesses():  # lazily: the linear guess (a matrix exponential) only where the warm start failed
        if v_guess is not None:
            yield np.asarray(v_guess, float)
        yield _linear_guess(X1[:3], X2[:3], tau)
        yield X1[3:]

    sols = []
    for vg in guesses():
        try:
            sols.append(_solve_bvp(X1[:3], X2[:3], tau, deg, vg))
        except (TransferError, np.linalg.LinAlgError) as e:
            sols.append(e)
            continue
        if v_guess is not None:
            break  # warm start converged: keep it (the optimisers rely on continuity)
    return _best_solution(X1, X2, sols)


# ---------------------------------------------------------------------------
def two_impulse_transfer(departure: Q.QSO, arrival: Q.QSO, tof_s: float, depart_phase: float = 0.0,
                         arrive_phase: float = 0.0, degree: int | None = None, n_samples: int = 400,
                         v_guess_km_s=None, check_surface: bool = True) -> Transfer:
    """Two-impulse transfer from ``departure`` at ``depart_phase`` to ``arrival`` at ``arrive_phase``.

    Solves the two-point boundary-value problem in the circular Hill problem (Phobos
    field ``degree``; default: the QSOs' own degree) by Newton with the heyoka STM, from
    the linear-Hill guess and the departure-orbit velocity (and ``v_guess_km_s`` if given),
    and keeps the converged solution of lowest Δv. Endpoint states come from each QSO's
    own model. Raises InputError for bad input, for endpoints inside Phobos (shape model),
    for an arc that crosses the surface (``check_surface``) and if no guess converges.
    """
    _check_qso(departure, "departure")
    _check_qso(arrival, "arrival")
    tof = _check_tof(tof_s)
    deg = _check_degree(degree, departure, arrival)
    p1 = _check_phase(departure, depart_phase, "depart_phase")
    p2 = _check_phase(arrival, arrive_phase, "arrive_phase")
    if not (isinstance(n_samples, (int, np.integer)) and 2 <= n_samples <= 100000):
        raise InputError("n_samples", n_samples, "an integer 2..100000")
    s1 = _endpoint_state(departure, p1, "depart_phase")
    s2 = _endpoint_state(arrival, p2, "arrive_phase")
    X1, X2 = _to_tau(s1), _to_tau(s2)
    tau = tof * N
    try:
        sol = _solve_arc(X1, X2, tau, deg, None if v_guess_km_s is None else np.asarray(v_guess_km_s, float) / N)
    except TransferError as e:
        raise InputError("tof_s", tof_s, f"a transfer the Newton solver converges for ({e})") from None
    return _make_transfer(departure, arrival, deg, p1, p2, tof, tof_s, s1, s2, sol, n_samples, check_surface)


def _endpoint_state(q, phase, field):
    """qso_state(q, phase), refused (InputError on ``field``) inside Phobos' shape."""
    s = qso_state(q, phase)
    d = float(Q.surface_distance_hill(s[:3])[0])
    if d < 0.0:
        raise InputError(field, phase, f"a point outside Phobos' shape (this one is {-d:.2f} km inside)")
    return s


def _make_transfer(departure, arrival, deg, p1, p2, tof, tof_s, s1, s2, sol, n_samples, check_surface):
    """The Transfer of a converged arc ``sol`` = (v1, Xf, miss, iterations) (dimensionless): the arc
    sampled, its closest approach to the shape (InputError on ``tof_s`` through the surface when
    ``check_surface``)."""
    X1, X2 = _to_tau(s1), _to_tau(s2)
    tau = tof * N
    v, Xf, miss, it = sol
    t, arc = _sample_arc(np.concatenate([X1[:3], v]), tau, deg, max(n_samples, int(60 * tau / _TWO_PI) + 2))
    dmin = float(Q.surface_distance_hill(arc[:, :3]).min())
    if check_surface and dmin < 0.0:
        raise InputError("tof_s", tof_s, f"a transfer arc that stays outside Phobos' shape "
                                         f"(this one goes {-dmin:.2f} km inside)")
    if len(t) != n_samples:
        if n_samples == 2 and len(arc) == len(t):
            # the ends of the arc just flown: heyoka's grid propagation takes the same steps whatever the
            # grid points between the ends, so these are a two-point grid's numbers, bit for bit
            # (tests/orbits: test_two_sample_arc_is_the_ends_of_the_sampled_one)
            t, arc = t[[0, -1]], arc[[0, -1]]
        else:
            t, arc = _sample_arc(np.concatenate([X1[:3], v]), tau, deg, n_samples)
    traj = np.hstack([(t / N)[:, None], _to_dim(arc)])
    return Transfer(
        degree=deg, departure_size_km=float(departure.size_km), arrival_size_km=float(arrival.size_km),
        depart_phase=p1, arrive_phase=p2, tof_s=tof, r1=s1[:3].copy(), r2=s2[:3].copy(),
        dv1=(v - X1[3:]) * N, dv2=(X2[3:] - Xf[3:]) * N, residual_m=float(miss * 1e3),
        min_surface_distance_km=dmin, iterations=int(it), trajectory=traj,
    )


def transfer_jacobian(r1, v1, tof_s, degree: int = 0):
    """d r(tof) / d v1 (s) from the heyoka STM: the Newton Jacobian (exposed for tests)."""
    tau = _check_tof(tof_s) * N
    X0 = np.concatenate([np.asarray(r1, float), np.asarray(v1, float) / N])
    Xf, phi = _flow_stm(X0, tau, degree)
    return Xf[:3].copy(), phi[:3, 3:] / N


# ---------------------------------------------------------------------------
def _try(departure, arrival, tof_s, p1, p2, degree, v_guess=None):
    try:
        return two_impulse_transfer(departure, arrival, tof_s, p1, p2, degree, n_samples=2,
                                    v_guess_km_s=v_guess)
    except InputError:
        return None


def _grid_transfers(departure, arrival, tofs, ph1, ph2, deg):
    """``[_try(departure, arrival, tof, a, b, deg) for tof, a, b in the grid]`` less the failures, in
    grid order, with every Newton problem of the grid solved together (:func:`_solve_bvps`) and each
    QSO point computed once; and whether the batch integrator flew them (else they are bit for bit
    the scalar loop's)."""

    def endpoints(q, phases, field):
        out = {}
        for p in phases:
            try:
                pc = _check_phase(q, p, field)
                out[p] = (pc, _endpoint_state(q, pc, field))
            except InputError:
                out[p] = None
        return out

    E1, E2 = endpoints(departure, ph1, "depart_phase"), endpoints(arrival, ph2, "arrive_phase")
    cases, problems = [], []
    for tof in tofs:
        try:
            tof = _check_tof(tof)
        except InputError:
            continue
        tau = tof * N
        for a in ph1:
            for b in ph2:
                if E1[a] is None or E2[b] is None:
                    continue
                X1, X2 = _to_tau(E1[a][1]), _to_tau(E2[b][1])
                cases.append((tof, a, b, len(problems)))
                problems += [(X1[:3], X2[:3], tau, vg) for vg in (_linear_guess(X1[:3], X2[:3], tau), X1[3:])]
    sols = _solve_bvps(problems, deg)
    batched = len(problems) >= _BATCH_MIN_PROBLEMS
    found = []
    for tof, a, b, k in cases:
        (p1, s1), (p2, s2) = E1[a], E2[b]
        try:
            sol = _best_solution(_to_tau(s1), _to_tau(s2), sols[k:k + 2])
            found.append(_make_transfer(departure, arrival, deg, p1, p2, tof, tof, s1, s2, sol, 2, True))
        except (TransferError, InputError):
            continue
    return found, batched


def optimal_transfer(departure: Q.QSO, arrival: Q.QSO, tof_max_s: float, tof_min_s: float | None = None,
                     n_phase: int = 8, n_tof: int = 4, arrive_phase_span: float = 1.0, depart_phase_span: float = 1.0,
                     refine: bool = True, degree: int | None = None, maxiter: int = 60,
                     n_starts: int = 2) -> Transfer:
    """Minimum-Δv two-impulse transfer with tof in [tof_min_s, tof_max_s].

    Grid search over ``n_phase`` departure phases x ``n_phase`` arrival phases (spread
    over ``arrive_phase_span`` revolutions, useful for 3D QSOs) x ``n_tof`` times of flight,
    then Nelder-Mead refinement (:func:`refine_transfer`) from the ``n_starts`` best
    grid points, with the Newton solver warm-started from the previous solution. A local
    optimum of a sampled, multi-modal problem: not a guaranteed global minimum.
    """
    _check_qso(departure, "departure")
    _check_qso(arrival, "arrival")
    tmax = _check_tof(tof_max_s, "tof_max_s")
    tmin = 0.25 * tmax if tof_min_s is None else _check_tof(tof_min_s, "tof_min_s")
    if tmin > tmax:
        raise InputError("tof_min_s", tof_min_s, f"<= tof_max_s ({tmax:g} s)")
    for f, v in (("n_phase", n_phase), ("n_tof", n_tof)):
        if not (isinstance(v, (int, np.integer)) and 1 <= v <= 64):
            raise InputError(f, v, "an integer 1..64")
    spans = []
    for f, v, q in (("depart_phase_span", depart_phase_span, departure), ("arrive_phase_span", arrive_phase_span,
                                                                          arrival)):
        sp = float(v)
        if not (math.isfinite(sp) and 0.0 < sp <= (1.0 if q.periodic else MAX_PHASE_3D)):
            raise InputError(f, v, "0 < span <= 1 for a periodic QSO (<= 100 for a 3D QSO)")
        spans.append(sp)
    span1, span = spans
    deg = _check_degree(degree, departure, arrival)
    tofs = np.linspace(tmin, tmax, n_tof) if n_tof > 1 else np.array([tmax])
    ph1 = np.arange(n_phase) * span1 / n_phase
    ph2 = np.arange(n_phase) * span / n_phase
    found, batched = _grid_transfers(departure, arrival, tofs, ph1, ph2, deg)
    if not found:
        raise InputError("tof_max_s", tof_max_s, "a time-of-flight range where at least one grid transfer converges")
    found.sort(key=lambda t: t.dv_total_m_s)
    # The grid (batch mode) agrees with the scalar solver to ~1e-13 m/s, but the Nelder-Mead path from a
    # start is sensitive to the last bits of its warm starts (its Newton problems switch between solution
    # branches), so the starts are re-solved with the scalar integrator: the optimiser then meets exactly
    # the arcs the scalar grid gave it.
    for i in range(min(len(found), max(1, n_starts)) if batched else 0):
        tr = _try(departure, arrival, found[i].tof_s, found[i].depart_phase, found[i].arrive_phase, deg)
        if tr is not None:
            found[i] = tr
    best = found[0]
    if refine:
        step = (span1 / n_phase, span / n_phase, max(tmax - tmin, 0.05 * tmax) / max(n_tof, 2))
        for start in found[:n_starts]:
            tr = refine_transfer(departure, arrival, start, tmin, tmax, step=step, maxiter=maxiter, degree=deg)
            if tr.dv_total_m_s < best.dv_total_m_s:
                best = tr
    # final solution with full sampling (and the surface check)
    return two_impulse_transfer(departure, arrival, best.tof_s, best.depart_phase, best.arrive_phase, deg,
                                v_guess_km_s=best.v1_transfer)


def refine_transfer(departure: Q.QSO, arrival: Q.QSO, start: Transfer, tof_min_s: float, tof_max_s: float,
                    step=(0.1, 0.1, 0.1 * DAY), maxiter: int = 60, degree: int | None = None) -> Transfer:
    """Nelder-Mead on (depart phase, arrive phase, tof) from ``start`` (tof kept in [tof_min_s, tof_max_s]).

    ``start`` may come from another Phobos field degree (e.g. a degree-2 search polished at
    degree 10): its phases, tof and departure velocity seed the search. Returns the best
    transfer met (``start`` re-solved in this model if nothing better converges).
    """
    from scipy.optimize import minimize

    _check_qso(departure, "departure")
    _check_qso(arrival, "arrival")
    if not isinstance(start, Transfer):
        raise InputError("start", type(start).__name__, "a Transfer")
    tmin, tmax = _check_tof(tof_min_s, "tof_min_s"), _check_tof(tof_max_s, "tof_max_s")
    deg = _check_degree(degree, departure, arrival)
    lo1, hi1 = (-math.inf, math.inf) if departure.periodic else (0.0, MAX_PHASE_3D)
    lo2, hi2 = (-math.inf, math.inf) if arrival.periodic else (0.0, MAX_PHASE_3D)
    scale = np.asarray(step, float)
    state = {"v": start.v1_transfer, "best": None}

    def f(u):
        a, b, tof = (start.depart_phase + u[0] * scale[0], start.arrive_phase + u[1] * scale[1],
                     start.tof_s + u[2] * scale[2])
        if not (tmin <= tof <= tmax) or not (lo2 <= b <= hi2) or not (lo1 <= a <= hi1):
            return 1e6
        tr = _try(departure, arrival, tof, a, b, deg, state["v"])
        if tr is None:
            return 1e6
        state["v"] = tr.v1_transfer
        if state["best"] is None or tr.dv_total_m_s < state["best"].dv_total_m_s:
            state["best"] = tr
        return tr.dv_total_m_s

    f(np.zeros(3))
    minimize(f, np.zeros(3), method="Nelder-Mead",
             options=dict(maxiter=maxiter, xatol=1e-3, fatol=1e-3,
                          initial_simplex=np.vstack([np.zeros(3), 0.5 * np.eye(3)])))
    if state["best"] is None:
        raise InputError("start", start.summary(), "a start point where the solver converges in this model")
    return state["best"]


def three_impulse_transfer(base: Transfer, departure: Q.QSO, arrival: Q.QSO, maxiter: int = 150) -> Transfer:
    """Add a mid-course impulse to the two-impulse transfer ``base`` (same endpoints and tof).

    Unknowns: the mid-course point (3 km) and the time split; each of the two arcs is solved
    by :func:`_solve_arc`, warm-started. Nelder-Mead starts from the point of ``base`` at
    half its tof, where the mid impulse is zero, so the result is never worse than ``base``.
    The primer-vector analysis of [SURREY-TR] motivates this variant; we do not use primer
    vectors, only direct optimisation.
    """
    from scipy.optimize import minimize

    if not isinstance(base, Transfer) or base.dv_mid is not None:
        raise InputError("base", type(base).__name__, "a two-impulse Transfer")
    _check_qso(departure, "departure")
    _check_qso(arrival, "arrival")
    deg = base.degree
    X1 = _to_tau(qso_state(departure, base.depart_phase))
    X2 = _to_tau(qso_state(arrival, base.arrive_phase))
    if np.linalg.norm(X1[:3] - base.r1) > 1e-9 or np.linalg.norm(X2[:3] - base.r2) > 1e-9:
        raise InputError("base", base.summary(), "a transfer between these departure and arrival QSOs")
    tau = base.tof_s * N
    v0 = base.v1_transfer / N
    ta = Q.hill_integrator(deg, variational=False)
    ta.time = 0.0
    ta.state[:] = np.concatenate([X1[:3], v0])
    ta.propagate_until(0.5 * tau)
    Xm0 = ta.state.copy()
    size = max(1.0, 0.05 * min(departure.size_km, arrival.size_km))
    memo = {"va": v0, "vb": Xm0[3:], "best": None}

    def solve(u):
        frac = 0.5 + 0.25 * u[3]
        if not 0.05 <= frac <= 0.95:
            raise TransferError("split out of range")
        rm = Xm0[:3] + size * u[:3]
        if Q.surface_distance_hill(rm)[0] <= 0.0:
            raise TransferError("mid point inside Phobos")
        va, Xa, ma, _ = _solve_arc(X1, np.concatenate([rm, Xm0[3:]]), frac * tau, deg, memo["va"])
        vb, Xb, mb, _ = _solve_arc(np.concatenate([rm, Xa[3:]]), X2, (1 - frac) * tau, deg, memo["vb"])
        return frac, rm, va, Xa, vb, Xb, max(ma, mb)

    def f(u):
        try:
            frac, rm, va, Xa, vb, Xb, miss = solve(u)
        except (TransferError, np.linalg.LinAlgError):
            return 1e6
        memo["va"], memo["vb"] = va, vb
        dv = (np.linalg.norm(va - X1[3:]) + np.linalg.norm(vb - Xa[3:]) + np.linalg.norm(X2[3:] - Xb[3:])) * N * 1e3
        if memo["best"] is None or dv < memo["best"][0]:
            memo["best"] = (dv, np.array(u, float))
        return dv

    f(np.zeros(4))
    minimize(f, np.zeros(4), method="Nelder-Mead",
             options=dict(maxiter=maxiter, xatol=1e-4, fatol=1e-4, initial_simplex=np.vstack([np.zeros(4),
                                                                                             0.5 * np.eye(4)])))
    if memo["best"] is None:
        raise InputError("base", base.summary(), "a transfer whose mid-course variant converges")
    u = memo["best"][1]
    memo["va"], memo["vb"] = v0, Xm0[3:]
    frac, rm, va, Xa, vb, Xb, miss = solve(u)
    ta1, arc1 = _sample_arc(np.concatenate([X1[:3], va]), frac * tau, deg, 200)
    ta2, arc2 = _sample_arc(np.concatenate([rm, vb]), (1 - frac) * tau, deg, 200)
    t = np.concatenate([ta1, ta2 + frac * tau])
    arc = np.vstack([arc1, arc2])
    dmin = float(Q.surface_distance_hill(arc[:, :3]).min())
    if dmin < 0.0:
        raise InputError("base", base.summary(), "a transfer whose mid-course variant stays outside Phobos")
    return replace(base, dv1=(va - X1[3:]) * N, dv2=(X2[3:] - Xb[3:]) * N, dv_mid=(vb - Xa[3:]) * N,
                   t_mid_s=frac * tau / N, residual_m=float(miss * 1e3), min_surface_distance_km=dmin,
                   trajectory=np.hstack([(t / N)[:, None], _to_dim(arc)]),
                   notes="three-impulse (mid-course impulse at t_mid_s)")


# ---------------------------------------------------------------------------
@dataclass
class Campaign:
    """A stepped-down sequence of transfers between planar QSOs."""

    sizes_km: tuple
    degree: int
    legs: list
    coasts_s: list  # coast on each intermediate QSO from arrival phase to the next departure phase

    @property
    def dv_total_m_s(self) -> float:
        return float(sum(t.dv_total_m_s for t in self.legs))

    @property
    def transfer_time_s(self) -> float:
        return float(sum(t.tof_s for t in self.legs))

    @property
    def total_time_s(self) -> float:
        return self.transfer_time_s + float(sum(self.coasts_s))

    def table(self) -> str:
        rows = ["| leg | depart phase | arrive phase | tof d | Δv1 m/s | Δv2 m/s | total m/s | min alt km | miss m |",
                "|---|---|---|---|---|---|---|---|---|"]
        for t in self.legs:
            rows.append(f"| {t.departure_size_km:g} -> {t.arrival_size_km:g} km | {t.depart_phase:.3f} | "
                        f"{t.arrive_phase:.3f} | {t.tof_days:.3f} | {np.linalg.norm(t.dv1) * 1e3:.2f} | "
                        f"{np.linalg.norm(t.dv2) * 1e3:.2f} | {t.dv_total_m_s:.2f} | "
                        f"{t.min_surface_distance_km:.2f} | {t.residual_m:.1e} |")
        rows.append(f"| **total** | | | {self.total_time_s / DAY:.3f} (incl. {sum(self.coasts_s) / DAY:.3f} coast) "
                    f"| | | **{self.dv_total_m_s:.2f}** | | |")
        return "\n".join(rows)


def _search_polish(dep, arr, tmax, tmin, deg, search, n_phase, n_tof, refine, polish_maxiter, maxiter, **kw):
    """optimal_transfer in the search model (dep_s, arr_s, search_degree) or directly; polish at ``deg``."""
    if search is None:
        return optimal_transfer(dep, arr, tmax, tmin, n_phase=n_phase, n_tof=n_tof, refine=refine, degree=deg,
                                maxiter=maxiter, **kw)
    dep_s, arr_s, sdeg = search
    t0 = optimal_transfer(dep_s, arr_s, tmax, tmin, n_phase=n_phase, n_tof=n_tof, refine=refine, degree=sdeg,
                          maxiter=maxiter, **kw)
    step = (0.02, 0.02, 0.02 * (tmax - tmin))
    tr = refine_transfer(dep, arr, t0, tmin, tmax, step=step, maxiter=polish_maxiter, degree=deg)
    return two_impulse_transfer(dep, arr, tr.tof_s, tr.depart_phase, tr.arrive_phase, deg,
                                v_guess_km_s=tr.v1_transfer)


def transfer_campaign(sizes_km=(100.0, 50.0, 30.0, 20.0), degree: int = 10, leg_tof_max_s: float = 1.0 * DAY,
                      n_phase: int = 6, n_tof: int = 3, refine: bool = True, search_degree: int | None = None,
                      polish_maxiter: int = 30, maxiter: int = 40) -> Campaign:
    """Step down through planar QSOs of ``sizes_km`` (assumed sizes: the MMX ones are unpublished).

    Each leg is :func:`optimal_transfer` with 0.25 ``leg_tof_max_s`` <= tof <= ``leg_tof_max_s``.
    With ``search_degree`` (e.g. 2, ten times cheaper than 10) the grid search and
    refinement run on that field's QSOs and the result is polished by
    :func:`refine_transfer` (``polish_maxiter`` evaluations) in the ``degree`` field.
    The coast on an intermediate QSO from its arrival phase to the next departure phase
    is added to the total time.
    """
    try:
        sizes = [float(s) for s in sizes_km]
    except (TypeError, ValueError):
        raise InputError("sizes_km", sizes_km, "a sequence of sizes in km") from None
    if len(sizes) < 2 or any(not b < a for a, b in zip(sizes, sizes[1:])):
        raise InputError("sizes_km", sizes_km, "at least two sizes in strictly decreasing order")
    tmax = _check_tof(leg_tof_max_s, "leg_tof_max_s")
    orbits = Q.qso_family(degree, sizes_km=sizes).members
    sorb = None
    if search_degree is not None and search_degree != degree:
        sorb = Q.qso_family(search_degree, sizes_km=sizes).members
    legs, coasts = [], []
    for k, (a, b) in enumerate(zip(orbits, orbits[1:])):
        search = None if sorb is None else (sorb[k], sorb[k + 1], int(search_degree))
        tr = _search_polish(a, b, tmax, 0.25 * tmax, degree, search, n_phase, n_tof, refine, polish_maxiter, maxiter)
        if legs:
            coasts.append(((tr.depart_phase - legs[-1].arrive_phase) % 1.0) * a.period_s)
        legs.append(tr)
    return Campaign(tuple(sizes), int(degree), legs, coasts)


def planar_3d_transfers(planar: Q.QSO, z_amplitude_km: float = 20.0, beta_deg: float = 90.0,
                        tof_min_s: float = 0.25 * DAY, tof_max_s: float = 1.5 * DAY, n_phase: int = 6,
                        n_tof: int = 3, refine: bool = True, search_degree: int | None = None,
                        polish_maxiter: int = 30, n_revs_3d: int = 20, maxiter: int = 40):
    """Direct two-impulse transfers planar QSO -> 3D QSO (qso_3d of the same member) and back.

    The target 3D QSO is quasi-periodic; arrival (and departure) phases span ``n_revs_3d``
    of its revolutions. Returns (to_3d, to_planar, q3d). ``search_degree`` as in
    :func:`transfer_campaign`.
    """
    _check_qso(planar, "planar")
    if not planar.periodic:
        raise InputError("planar", "3D QSO", "a planar (periodic) QSO")
    q3 = Q.qso_3d(planar, z_amplitude_km, beta_deg, n_revs=n_revs_3d)
    span = float(n_revs_3d)
    up_s = down_s = None
    if search_degree is not None and search_degree != planar.degree:
        ps = Q.periodic_qso(planar.size_km, search_degree)
        q3s = Q.qso_3d(ps, z_amplitude_km, beta_deg, n_revs=n_revs_3d)
        up_s, down_s = (ps, q3s, int(search_degree)), (q3s, ps, int(search_degree))
    up = _search_polish(planar, q3, tof_max_s, tof_min_s, planar.degree, up_s, n_phase, n_tof, refine,
                        polish_maxiter, maxiter, arrive_phase_span=span)
    down = _search_polish(q3, planar, tof_max_s, tof_min_s, planar.degree, down_s, n_phase, n_tof, refine,
                          polish_maxiter, maxiter, depart_phase_span=span)
    return up, down, q3


# ---------------------------------------------------------------------------
# Navigation-driven dispersion (linear covariance through the STM, and its Monte Carlo check)
_DEG = math.pi / 180.0


@dataclass(frozen=True)
class TransferErrors:
    """1-sigma errors of a transfer (km, km/s, rad). All defaults are ASSUMED: no MMX values are
    published (nav-facts.md §4: "MMX approach/QSO/descent OD accuracies ... UNCONFIRMED, make them
    parameters").

    nav_pos_km, nav_vel_km_s: knowledge error per Hill axis, at departure and (independently) at
        arrival; default 10 m and 0.1 mm/s, the assumed values of the qso_campaign analysis.
    exec_mag_frac: burn magnitude error as a fraction of |Δv| (default 1 %, as the landing analysis).
    exec_point_rad: burn pointing error per axis perpendicular to the burn (default 0.5°, as landing).
    nav_covariance: optional full 6x6 knowledge covariance in the Hill frame (km, km/s); it replaces
        the per-axis sigmas at departure and at arrival.
    """

    nav_pos_km: float = 0.010
    nav_vel_km_s: float = 1e-7
    exec_mag_frac: float = 0.01
    exec_point_rad: float = 0.5 * _DEG
    nav_covariance: np.ndarray | None = dc_field(default=None, repr=False)

    def __post_init__(self):
        for k in ("nav_pos_km", "nav_vel_km_s", "exec_mag_frac", "exec_point_rad"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) \
                    or not math.isfinite(v) or v < 0:
                raise InputError(f"errors.{k}", v, "a finite number >= 0")
            object.__setattr__(self, k, float(v))
        if self.exec_point_rad > 0.5:
            raise InputError("errors.exec_point_rad", self.exec_point_rad, "a pointing sigma <= 0.5 rad (small angles)")
        if self.nav_covariance is not None:
            try:
                P = np.array(self.nav_covariance, float)
            except (TypeError, ValueError):
                raise InputError("errors.nav_covariance", type(self.nav_covariance).__name__,
                                 "a 6x6 covariance matrix (km, km/s)") from None
            ok = P.shape == (6, 6) and bool(np.all(np.isfinite(P))) and np.allclose(P, P.T, rtol=1e-9, atol=0.0)
            if ok:
                ok = float(np.linalg.eigvalsh(0.5 * (P + P.T)).min()) >= -1e-12 * max(float(np.abs(P).max()), 1e-300)
            if not ok:
                raise InputError("errors.nav_covariance", f"array of shape {P.shape}",
                                 "a finite, symmetric, positive semi-definite 6x6 covariance (km, km/s)")
            object.__setattr__(self, "nav_covariance", 0.5 * (P + P.T))

    def knowledge(self) -> np.ndarray:
        """The 6x6 knowledge covariance (Hill frame; km, km/s)."""
        if self.nav_covariance is not None:
            return self.nav_covariance.copy()
        return np.diag(np.array([self.nav_pos_km ** 2] * 3 + [self.nav_vel_km_s ** 2] * 3, float))

    def execution(self, dv) -> np.ndarray:
        """3x3 covariance (km/s)² of the executed minus the commanded impulse ``dv`` (linearised):
        magnitude σ along the burn, pointing σ·|dv| on each perpendicular axis."""
        dv = np.asarray(dv, float)
        m = float(np.linalg.norm(dv))
        if m == 0.0:
            return np.zeros((3, 3))
        u = dv / m
        uu = np.outer(u, u)
        return m * m * (self.exec_mag_frac ** 2 * uu + self.exec_point_rad ** 2 * (np.eye(3) - uu))


def _perpendicular_axes(u):
    a = np.eye(3)[int(np.argmin(np.abs(u)))]
    e1 = np.cross(u, a)
    e1 /= np.linalg.norm(e1)
    return e1, np.cross(u, e1)


def _executed(dv, eps, th1, th2):
    """The impulse actually given for the command ``dv``: magnitude (1 + eps), turned by the small
    rotation vector th1 e1 + th2 e2 (perpendicular to dv; exact rotation)."""
    dv = np.asarray(dv, float)
    m = float(np.linalg.norm(dv))
    if m == 0.0:
        return dv.copy()
    u = dv / m
    e1, e2 = _perpendicular_axes(u)
    w = th1 * e1 + th2 * e2
    a = float(np.linalg.norm(w))
    if a > 0.0:
        u = u * math.cos(a) + np.cross(w / a, u) * math.sin(a)
    return (1.0 + eps) * m * u


def _stm_grid(X0, taus, degree):
    """States and STMs (dimensionless) at the increasing times ``taus`` from (0, X0)."""
    ta = Q.hill_integrator(degree, variational=True)
    ta.time = 0.0
    st = ta.state
    st[:6] = X0
    st[6:] = np.eye(6).ravel()
    ta.reset_cooldowns()
    xs, phis = np.empty((len(taus), 6)), np.empty((len(taus), 6, 6))
    for k, tk in enumerate(taus):
        for _ in range(10000):
            if ta.time >= tk:
                break
            oc = ta.propagate_until(tk)[0]
            if int(oc) != -1:  # not the terminal section event
                break
        if not (abs(ta.time - tk) <= 1e-12 * max(1.0, tk) and np.all(np.isfinite(ta.state))):
            raise TransferError(f"propagation stopped at tau = {ta.time:.4g} of {tk:.4g}")
        xs[k], phis[k] = ta.state[:6], ta.state[6:].reshape(6, 6)
    return xs, phis


def _surface_gradient(r, h=1e-3):
    """Gradient of the signed surface distance at points r (k, 3) by central differences (h km)."""
    g = np.empty_like(r)
    for i in range(3):
        d = np.zeros(3)
        d[i] = h
        g[:, i] = (Q.surface_distance_hill(r + d) - Q.surface_distance_hill(r - d)) / (2 * h)
    return g


def _check_dispersion_args(tr, errors, surface_threshold_km, n_grid):
    if not isinstance(tr, Transfer) or tr.trajectory is None:
        raise InputError("transfer", type(tr).__name__, "a Transfer from two_impulse_transfer/optimal_transfer")
    if tr.dv_mid is not None:
        raise InputError("transfer", tr.summary(), "a two-impulse transfer (three-impulse ones are not dispersed)")
    if not isinstance(errors, TransferErrors):
        raise InputError("errors", type(errors).__name__, "a TransferErrors")
    try:
        thr = float(surface_threshold_km)
    except (TypeError, ValueError):
        raise InputError("surface_threshold_km", surface_threshold_km, "a distance in km") from None
    if not (math.isfinite(thr) and 0.0 <= thr < 1000.0):
        raise InputError("surface_threshold_km", surface_threshold_km, "a finite distance 0 <= d < 1000 km")
    if isinstance(n_grid, bool) or not (isinstance(n_grid, (int, np.integer)) and 2 <= n_grid <= 20000):
        raise InputError("n_grid", n_grid, "an integer 2..20000")
    return thr


def _dim(phi):
    """Dimensionless-time STM -> km, km/s, s (velocity scaled by N)."""
    D = np.diag([1.0, 1.0, 1.0, N, N, N])
    return D @ phi @ np.linalg.inv(D)


@dataclass(frozen=True)
class TransferDispersion:
    """Linear-covariance dispersion of a two-impulse transfer (Hill frame; km, km/s, s).

    ``arrival_covariance``: the true state minus the nominal one at arrival, before the second burn.
    ``correction_covariance``: the second burn minus its nominal value (the velocity-matching law).
    ``post_velocity_covariance``: the velocity minus the target QSO's, after the second burn.
    ``margin_sigma``: smallest (d - threshold) / σ_d along the arc (d: distance to Phobos' shape,
    σ_d its linearised sigma); ``surface_probability``: the one-sided Gaussian tail at that point.
    """

    transfer: Transfer = dc_field(repr=False)
    errors: TransferErrors
    surface_threshold_km: float
    stm: np.ndarray = dc_field(repr=False)  # 6x6, departure (after burn 1) -> arrival, km, km/s, s
    departure_covariance: np.ndarray = dc_field(repr=False)
    arrival_covariance: np.ndarray = dc_field(repr=False)
    correction_covariance: np.ndarray = dc_field(repr=False)
    post_velocity_covariance: np.ndarray = dc_field(repr=False)
    correction_mean_km_s: float
    correction_p99_km_s: float
    times_s: np.ndarray = dc_field(repr=False)
    distance_km: np.ndarray = dc_field(repr=False)  # nominal distance to the shape along the arc
    distance_sigma_km: np.ndarray = dc_field(repr=False)
    margin_sigma: float
    surface_probability: float

    @property
    def arrival_pos_sigma_m(self) -> np.ndarray:
        return np.sqrt(np.diag(self.arrival_covariance)[:3]) * 1e3

    @property
    def arrival_vel_sigma_mm_s(self) -> np.ndarray:
        return np.sqrt(np.diag(self.arrival_covariance)[3:]) * 1e6

    @property
    def post_vel_sigma_mm_s(self) -> np.ndarray:
        return np.sqrt(np.diag(self.post_velocity_covariance)) * 1e6

    @property
    def correction_sigma_mm_s(self) -> np.ndarray:
        return np.sqrt(np.diag(self.correction_covariance)) * 1e6

    def summary(self) -> str:
        p, v = self.arrival_pos_sigma_m, self.post_vel_sigma_mm_s
        return (f"arrival 1σ position x/y/z {p[0]:.3g}/{p[1]:.3g}/{p[2]:.3g} m, velocity after the correction "
                f"{v[0]:.3g}/{v[1]:.3g}/{v[2]:.3g} mm/s; correction Δv mean {self.correction_mean_km_s * 1e6:.3g} "
                f"mm/s, 99 % {self.correction_p99_km_s * 1e6:.3g} mm/s; surface margin {self.margin_sigma:.3g} σ "
                f"above {self.surface_threshold_km:g} km")


def _norm_stats(C, seed=12345, n=200000):
    """Mean and 99th percentile of |x| for x ~ N(0, C) (3x3): seeded samples of the eigen-decomposition
    (sampling error of the percentile ~0.3 %, of the mean ~0.2 %)."""
    lam, V = np.linalg.eigh(0.5 * (C + C.T))
    s = np.sqrt(np.clip(lam, 0.0, None))
    if not np.any(s > 0):
        return 0.0, 0.0
    z = np.random.default_rng(seed).standard_normal((n, 3)) * s
    r = np.linalg.norm(z, axis=1)
    return float(r.mean()), float(np.percentile(r, 99.0))


_ARC_GRIDS: dict = {}  # (arc start, tof, degree, n_grid) -> _arc_grid's arrays, this process' last few


def _arc_grid(tr: Transfer, n_grid: int):
    """What :func:`transfer_dispersion` needs of ``tr``'s arc whatever the errors: the ``n_grid`` times
    (dimensionless), the STMs from departure to each (km, km/s, s), the distance to Phobos' shape and its
    gradient at each point. Kept (read-only) for the last four arcs of this process, so that the same
    transfer dispersed under another error model (the transfer analysis' assumed and computed
    navigation errors) is not flown and measured again: the same numbers as computing them anew."""
    X0 = _to_tau(tr.trajectory[0, 1:])
    key = (X0.tobytes(), float(tr.tof_s), int(tr.degree), int(n_grid))
    hit = _ARC_GRIDS.get(key)
    if hit is None:
        taus = np.linspace(0.0, tr.tof_s * N, n_grid)
        try:
            xs, phis = _stm_grid(X0, taus, tr.degree)
        except TransferError as e:  # pragma: no cover - the transfer itself was propagated
            raise InputError("transfer", tr.summary(), f"an arc that propagates ({e})") from None
        r = xs[:, :3]
        hit = (taus, np.array([_dim(p) for p in phis]), Q.surface_distance_hill(r), _surface_gradient(r))
        for a in hit:
            a.flags.writeable = False
        if len(_ARC_GRIDS) >= 4:
            _ARC_GRIDS.pop(next(iter(_ARC_GRIDS)))
        _ARC_GRIDS[key] = hit
    return hit


def transfer_dispersion(tr: Transfer, errors: TransferErrors = TransferErrors(), surface_threshold_km: float = 1.0,
                        n_grid: int = 200) -> TransferDispersion:
    """Linear covariance of the transfer ``tr`` under navigation and execution errors.

    Departure: true state = nominal + knowledge error (``errors.knowledge()``); the first burn, planned
    on the nominal state, is executed with magnitude and pointing errors. Their covariance is mapped to
    arrival and to ``n_grid`` points of the arc by the heyoka STM of the transfer arc. The second burn is
    a velocity-matching correction planned on the estimated arrival state (knowledge error independent
    of the departure one, same covariance): it nulls the estimated velocity error relative to the target
    QSO; the arrival position error is left (the arrival QSO is entered displaced). The surface check
    linearises the signed distance to the shape model (gradient by central differences).
    """
    thr = _check_dispersion_args(tr, errors, surface_threshold_km, n_grid)
    taus, phid, d, g = _arc_grid(tr, n_grid)
    K = errors.knowledge()
    P0 = K.copy()
    P0[3:, 3:] += errors.execution(tr.dv1)
    Pt = phid @ P0 @ np.transpose(phid, (0, 2, 1))
    Pf = 0.5 * (Pt[-1] + Pt[-1].T)
    Cc = Pf[3:, 3:] + K[3:, 3:]
    Cpost = K[3:, 3:] + errors.execution(tr.dv2)
    mean, p99 = _norm_stats(Cc)
    sd = np.sqrt(np.clip(np.einsum("ki,kij,kj->k", g, Pt[:, :3, :3], g), 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.where(sd > 0, (d - thr) / np.where(sd > 0, sd, 1.0), np.where(d > thr, math.inf, -math.inf))
    margin = float(k.min())
    prob = 0.5 * math.erfc(margin / math.sqrt(2.0)) if math.isfinite(margin) else (0.0 if margin > 0 else 1.0)
    return TransferDispersion(
        transfer=tr, errors=errors, surface_threshold_km=thr, stm=phid[-1].copy(), departure_covariance=P0,
        arrival_covariance=Pf, correction_covariance=Cc, post_velocity_covariance=Cpost, correction_mean_km_s=mean,
        correction_p99_km_s=p99, times_s=taus / N, distance_km=d.copy(), distance_sigma_km=sd, margin_sigma=margin,
        surface_probability=prob)


@dataclass(frozen=True)
class TransferMonteCarlo:
    """Monte Carlo of the same dispersion through the nonlinear transfer (Hill frame; km, km/s)."""

    departure_deviation: np.ndarray = dc_field(repr=False)  # (n, 6) after burn 1, minus nominal
    arrival_deviation: np.ndarray = dc_field(repr=False)  # (n, 6) before burn 2, minus nominal
    correction: np.ndarray = dc_field(repr=False)  # (n, 3) second burn minus its nominal value
    post_velocity_deviation: np.ndarray = dc_field(repr=False)  # (n, 3) after burn 2, minus the target QSO
    min_distance_km: np.ndarray = dc_field(repr=False)  # (n,) closest approach to the shape on the arc grid
    surface_threshold_km: float = 1.0

    @property
    def n(self) -> int:
        return len(self.min_distance_km)

    @property
    def arrival_pos_sigma_m(self) -> np.ndarray:
        return self.arrival_deviation[:, :3].std(axis=0, ddof=1) * 1e3

    @property
    def arrival_vel_sigma_mm_s(self) -> np.ndarray:
        return self.arrival_deviation[:, 3:].std(axis=0, ddof=1) * 1e6

    @property
    def post_vel_sigma_mm_s(self) -> np.ndarray:
        return self.post_velocity_deviation.std(axis=0, ddof=1) * 1e6

    @property
    def correction_norm_km_s(self) -> np.ndarray:
        return np.linalg.norm(self.correction, axis=1)

    @property
    def correction_mean_km_s(self) -> float:
        return float(self.correction_norm_km_s.mean())

    @property
    def correction_p99_km_s(self) -> float:
        return float(np.percentile(self.correction_norm_km_s, 99.0))

    @property
    def surface_probability(self) -> float:
        return float(np.mean(self.min_distance_km < self.surface_threshold_km))


def transfer_dispersion_mc(tr: Transfer, errors: TransferErrors = TransferErrors(), n_samples: int = 500,
                           seed: int = 0, surface_threshold_km: float = 1.0, n_grid: int = 200) -> TransferMonteCarlo:
    """Monte Carlo of :func:`transfer_dispersion` through the nonlinear Hill dynamics.

    Each sample draws the departure knowledge error, the execution errors of both burns (magnitude and
    an exact small rotation) and the arrival knowledge error from ``numpy.random.default_rng(seed)``;
    the arc is propagated by heyoka on ``n_grid`` points (closest approach on that grid; all samples
    together in batch mode, :func:`_sample_arcs`) and the second burn is the same velocity-matching
    law, its execution error scaled by the commanded burn.
    """
    thr = _check_dispersion_args(tr, errors, surface_threshold_km, n_grid)
    if isinstance(n_samples, bool) or not (isinstance(n_samples, (int, np.integer)) and 2 <= n_samples <= 1000000):
        raise InputError("n_samples", n_samples, "an integer 2..1000000")
    rng = np.random.default_rng(seed)
    K = errors.knowledge()
    Lk = _psd_factor(K)
    s_nom = tr.trajectory[0, 1:].copy()  # departure state after the nominal first burn
    v_orbit = s_nom[3:] - tr.dv1  # departure QSO velocity
    tau = tr.tof_s * N
    grid = np.linspace(0.0, tau, n_grid)
    _, arc = _sample_arc(_to_tau(s_nom), tau, tr.degree, n_grid)
    xf_nom = _to_dim(arc[-1])
    v_target = xf_nom[3:] + tr.dv2
    n = int(n_samples)
    dep, arr, corr, post, dmin = (np.empty((n, 6)), np.empty((n, 6)), np.empty((n, 3)), np.empty((n, 3)),
                                  np.empty(n))
    draws, S0 = [], np.empty((n, 6))
    for i in range(n):  # the draws in the order of the one-sample-at-a-time loop this replaced
        e0 = Lk @ rng.standard_normal(6)
        ex1 = rng.standard_normal(3) * (errors.exec_mag_frac, errors.exec_point_rad, errors.exec_point_rad)
        ef = Lk @ rng.standard_normal(6)
        ex2 = rng.standard_normal(3) * (errors.exec_mag_frac, errors.exec_point_rad, errors.exec_point_rad)
        S0[i] = np.concatenate([s_nom[:3] + e0[:3], v_orbit + e0[3:] + _executed(tr.dv1, *ex1)])
        draws.append((ef, ex2))
    arcs = _sample_arcs(np.array([_to_tau(s0) for s0 in S0]), tau, tr.degree, n_grid)
    for i, ((ef, ex2), s0, a) in enumerate(zip(draws, S0, arcs)):
        xf = _to_dim(a[-1])
        c = -(xf[3:] - xf_nom[3:] + ef[3:])  # the velocity-matching law on the estimated state
        dep[i] = s0 - s_nom
        arr[i] = xf - xf_nom
        corr[i] = c
        post[i] = xf[3:] + _executed(tr.dv2 + c, *ex2) - v_target
    # closest approaches: the signed distance of every sample's arc points in one call
    dmin[:] = Q.surface_distance_hill(np.concatenate([a[:, :3] for a in arcs])).reshape(n, -1).min(axis=1)
    return TransferMonteCarlo(dep, arr, corr, post, dmin, thr)


def _psd_factor(P):
    """A factor L with L L^T = P for a positive semi-definite P (eigen-decomposition)."""
    lam, V = np.linalg.eigh(P)
    return V * np.sqrt(np.clip(lam, 0.0, None))


# ---------------------------------------------------------------------------
def transfer_table(rows) -> str:
    """Markdown table, ours beside published. ``rows``: iterable of (key, label, Transfer or Campaign)."""
    out = ["| case | ours: Δv m/s | ours: tof d | published Δv m/s | published tof d | Δv diff | tof diff | source |",
           "|---|---|---|---|---|---|---|---|"]
    for key, label, res in rows:
        if key not in PUBLISHED:
            raise InputError("rows.key", key, f"one of {sorted(PUBLISHED)}")
        pub = PUBLISHED[key]
        if isinstance(res, Campaign):
            dv, tof = res.dv_total_m_s, res.total_time_s / DAY
        else:
            dv, tof = res.dv_total_m_s, res.tof_days
        if pub["bound"]:
            pd, pt = f"< {pub['dv_m_s']:g}", f"< {pub['tof_days']:g}"
            ddv = "within" if dv < pub["dv_m_s"] else "above"
            dt = "within" if tof < pub["tof_days"] else "above"
        else:
            pd, pt = f"{pub['dv_m_s']:g}", f"{pub['tof_days']:g}"
            ddv = f"{100 * (dv / pub['dv_m_s'] - 1):+.0f} %"
            dt = f"{100 * (tof / pub['tof_days'] - 1):+.0f} %"
        out.append(f"| {label} | {dv:.2f} | {tof:.2f} | {pd} | {pt} | {ddv} | {dt} | {pub['source']} |")
    return "\n".join(out)


__all__ = ["Transfer", "Campaign", "PUBLISHED", "qso_state", "two_impulse_transfer", "transfer_jacobian",
           "optimal_transfer", "refine_transfer", "three_impulse_transfer", "transfer_campaign", "planar_3d_transfers",
           "transfer_table", "TransferErrors", "TransferDispersion", "TransferMonteCarlo", "transfer_dispersion",
           "transfer_dispersion_mc"]


def report(search_degree: int = 2, degree: int = 10, planar_size_km: float = 50.0, z_km: float = 20.0) -> str:
    """Compute the documented cases and return markdown (``python -m mmxsim.orbits.transfers``).

    Assumed sizes (the MMX ones are unpublished, mmx-facts.md §4.2): campaign 100 -> 50 -> 30
    -> 20 km with legs of at most 1 day; planar <-> 3D around the ``planar_size_km`` QSO with
    Z = ``z_km`` (beta = 90 deg), tof 0.25 .. 1.5 days.
    """
    import time

    t0 = time.time()
    camp = transfer_campaign((100.0, 50.0, 30.0, 20.0), degree=degree, search_degree=search_degree)
    t1 = time.time()
    p = Q.periodic_qso(planar_size_km, degree)
    up, down, q3 = planar_3d_transfers(p, z_km, search_degree=search_degree, n_phase=5)
    t2 = time.time()
    lines = [f"Phobos field degree {degree} (search at degree {search_degree}); "
             f"campaign {t1 - t0:.0f} s, planar<->3D {t2 - t1:.0f} s.", "", "Campaign:", "", camp.table(), "",
             "Planar <-> 3D:", "", "up:   " + up.summary(), "down: " + down.summary(), "",
             transfer_table([("high_to_low", "100 -> 50 -> 30 -> 20 km (assumed sizes)", camp),
                             ("planar_to_3d", f"planar {planar_size_km:g} km -> 3D Z = {z_km:g} km", up),
                             ("3d_to_planar", f"3D Z = {z_km:g} km -> planar {planar_size_km:g} km", down)])]
    for tr in (up, down):
        lines.append(f"dv1 = {np.round(tr.dv1 * 1e3, 3)} m/s, dv2 = {np.round(tr.dv2 * 1e3, 3)} m/s")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    print(report())
