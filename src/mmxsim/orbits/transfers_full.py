"""Two-impulse QSO transfers re-targeted in the full ephemeris force model (issue 13).

A transfer of :mod:`mmxsim.orbits.transfers` is computed in the circular Hill problem. This
module flies the same transfer (same departure / arrival phases and time of flight) in the full
model of :func:`mmxsim.orbits.handoff.full_model` (Mars J2..J4, Phobos harmonics rotating with
the librating Phobos, Sun, Earth, Deimos; Phobos and Deimos on the integrated ephemeris):

1. The departure and arrival QSOs are **corrected in the full model** by the multiple shooting
   of :mod:`mmxsim.orbits.handoff` (:func:`~mmxsim.orbits.handoff.patch_points` then
   :func:`~mmxsim.orbits.handoff.multiple_shooting`), each over ``n_revs`` revolutions placed so
   that the manoeuvre epoch lies in the middle revolution (the ends of a minimum-norm multiple
   shooting arc are the least constrained).
2. The departure state is the corrected departure orbit at the first impulse's epoch
   ``t_dep`` (Hill phase ``depart_phase``); the target state is the corrected arrival orbit at
   ``t_arr = t_dep + tof`` (Hill phase ``arrive_phase``). Both are obtained by flying the
   full-model flow (:class:`~mmxsim.orbits.handoff.Flow`) from the preceding corrected patch point.
3. The two-point boundary-value problem r(t_dep) = r1, r(t_arr) = r2 is solved by Newton on the
   departure velocity with the position-velocity block of the full-model STM (heyoka
   variational equations), with a backtracking line search, from the corrected departure
   velocity plus the Hill Δv1 (Hill-frame components rotated into Mars-centred ICRF through the
   ephemeris ``PHOBOS_HILL`` frame at ``t_dep``).
4. The converged arc is re-propagated independently with :func:`mmxsim.dynamics.propagate`
   (no variational equations) to measure the miss at ``t_arr`` and the minimum signed distance
   to the Ernst shape model in the librating ``PHOBOS_FIXED`` frame.

Δv2 = target velocity - arrival velocity of the transfer arc. Manoeuvres are impulsive.

Units: km, s, km/s; epochs TDB seconds past J2000; states Mars-centred ICRF.
"""

from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError, MmxsimError
from . import handoff as H
from . import qso as Q
from .transfers import DAY, Transfer


class FullModelTransferError(MmxsimError):
    """A full-model transfer could not be built (refused QSO, failed correction or solve)."""


@dataclass
class FullModelTransfer:
    """A two-impulse transfer flown in the full model (km, km/s, TDB s; Mars-centred ICRF)."""

    hill: Transfer  # the circular-Hill transfer it was started from
    t_dep_tdb: float  # epoch of the first impulse
    t_arr_tdb: float  # epoch of the second impulse
    x_depart: np.ndarray  # state on the corrected departure QSO at t_dep
    x_target: np.ndarray  # state on the corrected arrival QSO at t_arr
    v1_transfer: np.ndarray  # transfer-arc velocity at t_dep
    dv1: np.ndarray  # km/s, ICRF: v1_transfer - x_depart velocity
    dv2: np.ndarray  # km/s, ICRF: target velocity - transfer-arc velocity at t_arr
    dv1_hill: np.ndarray  # the same impulses in ephemeris PHOBOS_HILL axes at their epochs
    dv2_hill: np.ndarray
    miss_m: float  # |r(t_arr) - r2| of the converged arc (variational flow)
    repropagated_miss_m: float  # same, re-propagated with mmxsim.dynamics.propagate
    min_surface_distance_km: float  # along the re-propagated arc, to the Ernst shape (PHOBOS_FIXED)
    min_center_distance_km: float  # along the arc, to Phobos' centre
    iterations: int  # Newton iterations on the departure velocity
    miss_history_m: list  # miss before each Newton iteration
    shooting_depart: H.ShootingResult
    shooting_arrive: H.ShootingResult
    runtime_s: float
    t: np.ndarray = field(repr=False, default=None)  # re-propagated arc epochs
    states: np.ndarray = field(repr=False, default=None)  # re-propagated arc states

    @property
    def tof_s(self) -> float:
        return self.t_arr_tdb - self.t_dep_tdb

    @property
    def tof_days(self) -> float:
        return self.tof_s / DAY

    @property
    def dv1_m_s(self) -> float:
        return float(np.linalg.norm(self.dv1) * 1e3)

    @property
    def dv2_m_s(self) -> float:
        return float(np.linalg.norm(self.dv2) * 1e3)

    @property
    def dv_total_m_s(self) -> float:
        return self.dv1_m_s + self.dv2_m_s

    @property
    def hill_dv1_m_s(self) -> float:
        return float(np.linalg.norm(self.hill.dv1) * 1e3)

    @property
    def hill_dv2_m_s(self) -> float:
        return float(np.linalg.norm(self.hill.dv2) * 1e3)

    @property
    def hill_dv_total_m_s(self) -> float:
        return self.hill.dv_total_m_s

    @property
    def ratio(self) -> float:
        """Full-model total Δv / Hill total Δv."""
        return self.dv_total_m_s / self.hill_dv_total_m_s

    def summary(self) -> str:
        h = self.hill
        return (f"{h.departure_size_km:g} km (phase {h.depart_phase:.3f}) -> {h.arrival_size_km:g} km "
                f"(phase {h.arrive_phase:.3f}), tof {self.tof_days:.3f} d: full model "
                f"{self.dv_total_m_s:.2f} m/s (|dv1| {self.dv1_m_s:.2f}, |dv2| {self.dv2_m_s:.2f}), "
                f"Hill {self.hill_dv_total_m_s:.2f} m/s (|dv1| {self.hill_dv1_m_s:.2f}, |dv2| {self.hill_dv2_m_s:.2f}); "
                f"miss {self.miss_m:.1e} m (re-propagated {self.repropagated_miss_m:.1e} m), "
                f"min alt {self.min_surface_distance_km:.2f} km, {self.iterations} Newton iterations, "
                f"{self.runtime_s:.1f} s")


# ---------------------------------------------------------------------------
def _check_int(name, v, lo, hi):
    if not (isinstance(v, (int, np.integer)) and not isinstance(v, bool) and lo <= v <= hi):
        raise InputError(name, v, f"an integer {lo}..{hi}")
    return int(v)


def _check_pos(name, v, hi):
    if not (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and 0 < v <= hi):
        raise InputError(name, v, f"a number in (0, {hi:g}]")
    return float(v)


def _endpoint_qso(q, size_km, degree, name):
    if q is None:
        try:
            return Q.periodic_qso(float(size_km), degree=int(degree))
        except InputError as e:
            raise FullModelTransferError(f"the {size_km:g} km {name} QSO of degree {degree} could not be "
                                         f"designed in the Hill problem ({e})") from None
    if not isinstance(q, Q.QSO):
        raise InputError(name, type(q).__name__, "a mmxsim.orbits.qso.QSO, or None (designed from the transfer)")
    if not q.periodic:
        raise InputError(name, f"quasi-periodic {q.size_km:g} km 3D QSO", "a periodic (planar) QSO")
    if abs(q.size_km - size_km) > 1e-6 * max(1.0, size_km):
        raise InputError(name, f"{q.size_km:g} km QSO", f"the transfer's {name} QSO ({size_km:g} km)")
    return q


def _check_switch(model, q, name):
    try:
        H.check_switch_radius(model, q)
    except MmxsimError as e:
        raise FullModelTransferError(f"full-model transfer refused ({name} QSO): {e}") from None


def _switch_radius_km(model) -> float:
    """Switch radius of the model's Phobos harmonics (0 if it has none)."""
    from ..gravity.validity import switch_radius

    sh = [f for f in model.forces if getattr(f, "kind", "") == "phobos" and getattr(f, "model", "") == "harmonics"]
    return float(switch_radius(sh[0].degree)) if sh else 0.0


def corrected_state(q: Q.QSO, phase: float, t_tdb: float, model, flow: H.Flow, n_revs: int = 4,
                    per_rev: int = 4, max_iter: int = 15):
    """State (Mars ICRF) at ``t_tdb`` on ``q`` corrected in the full model, where the Hill orbit
    has ``phase``; the multiple-shooting arc covers ``n_revs`` revolutions with ``t_tdb`` in the
    middle one. Returns ``(state, ShootingResult)``."""
    m = n_revs // 2
    t_start = float(t_tdb) - (float(phase) + m) * q.period_s
    t, X = H.patch_points(q, t_start, n_revs, per_rev, model.ephemeris)
    sh = H.multiple_shooting(model, t, X, max_iter=max_iter, flow=flow)
    if not sh.converged:
        raise FullModelTransferError(
            f"multiple shooting of the {q.size_km:g} km QSO did not converge in {max_iter} iterations "
            f"(position defect {sh.mismatch_pos_m:.3g} m, velocity defect {sh.mismatch_vel_mm_s:.3g} mm/s)")
    i = int(np.searchsorted(t, t_tdb, side="right") - 1)
    i = min(max(i, 0), t.size - 2)
    if t[i] == t_tdb:
        return sh.states[i].copy(), sh
    x, _ = flow(t[i], sh.states[i], float(t_tdb))
    return x, sh


def _rotate_dv(frame_t, x, dv, eph):
    """Velocity change ``dv`` at state ``x`` (ICRF) expressed in PHOBOS_HILL axes (rotation only)."""
    from ..frames import from_mars_icrf

    a = np.reshape(from_mars_icrf("PHOBOS_HILL", frame_t, x, eph), 6)
    b = np.reshape(from_mars_icrf("PHOBOS_HILL", frame_t, np.concatenate([x[:3], x[3:] + dv]), eph), 6)
    return b[3:] - a[3:]


def _newton(flow, t1, r1, t2, r2, v0, tol_km, max_iter):
    v = np.asarray(v0, float).copy()
    xf, phi = flow(t1, np.concatenate([r1, v]), t2)
    g = float(np.linalg.norm(xf[:3] - r2))
    hist = [g * 1e3]
    for it in range(max_iter + 1):
        if g < tol_km:
            return v, xf, g, it, hist
        if it == max_iter:
            break
        dv = np.linalg.lstsq(phi[:3, 3:], -(xf[:3] - r2), rcond=1e-12)[0]
        s, ok = 1.0, False
        while s >= 1.0 / 64:
            vt = v + s * dv
            try:
                xt, pt = flow(t1, np.concatenate([r1, vt]), t2)
                gt = float(np.linalg.norm(xt[:3] - r2))
            except MmxsimError:
                gt = math.inf
            if gt < g:
                ok = True
                break
            s *= 0.5
        if not ok:
            raise FullModelTransferError(
                f"full-model transfer: Newton line search on the departure velocity failed after {it} "
                f"iterations (miss {g * 1e3:.3g} m)")
        v, xf, phi, g = vt, xt, pt, gt
        hist.append(g * 1e3)
    raise FullModelTransferError(f"full-model transfer: Newton on the departure velocity did not converge in "
                                 f"{max_iter} iterations (miss {g * 1e3:.3g} m)")


def full_model_transfer(hill_transfer: Transfer, t0_tdb: float, model=None, departure: Q.QSO | None = None,
                        arrival: Q.QSO | None = None, n_revs: int = 4, per_rev: int = 4,
                        tol_m: float = 1e-3, max_iter: int = 20, n_samples: int = 400) -> FullModelTransfer:
    """Fly the circular-Hill ``hill_transfer`` in the full model, first impulse at ``t0_tdb``.

    ``departure`` / ``arrival``: the Hill QSOs of the transfer (default: re-designed with
    :func:`mmxsim.orbits.qso.periodic_qso` at the transfer's sizes and degree). ``model``: a
    :func:`mmxsim.orbits.handoff.full_model` (default one if None). Each QSO is corrected over
    ``n_revs`` revolutions with ``per_rev`` patch points per revolution; Newton stops when the
    miss is below ``tol_m`` metres (at most ``max_iter`` iterations). ``n_samples`` epochs
    sample the re-propagated arc for the surface check.

    Raises InputError for bad input, FullModelTransferError (an MmxsimError) if a QSO or the
    transfer arc comes inside the switch radius of the model's Phobos harmonics (22 km at degree 8:
    the variational equations fly the harmonics everywhere, the re-propagation switches to the
    polyhedron inside it), if a multiple-shooting correction or the Newton solve does not
    converge, or if the re-propagation stops early.
    """
    from ..dynamics import propagate
    from ..frames import from_mars_icrf, to_mars_icrf

    T = _time.perf_counter()
    if not isinstance(hill_transfer, Transfer):
        raise InputError("hill_transfer", type(hill_transfer).__name__, "a mmxsim.orbits.transfers.Transfer")
    if hill_transfer.dv_mid is not None:
        raise InputError("hill_transfer", "three-impulse transfer", "a two-impulse Transfer")
    t_dep = H._check_epoch(t0_tdb)
    n_revs = _check_int("n_revs", n_revs, 1, 50)
    per_rev = _check_int("per_rev", per_rev, 1, 32)
    max_iter = _check_int("max_iter", max_iter, 1, 100)
    n_samples = _check_int("n_samples", n_samples, 2, 100000)
    tol_km = _check_pos("tol_m", tol_m, 1.0) * 1e-3
    ht = hill_transfer
    dep = _endpoint_qso(departure, ht.departure_size_km, ht.degree, "departure")
    arr = _endpoint_qso(arrival, ht.arrival_size_km, ht.degree, "arrival")
    if model is None:
        model = H.full_model()
    eph = model.ephemeris
    _check_switch(model, dep, "departure")
    _check_switch(model, arr, "arrival")
    flow = H.Flow(model)
    t_arr = t_dep + float(ht.tof_s)
    x1, sh1 = corrected_state(dep, ht.depart_phase, t_dep, model, flow, n_revs, per_rev)
    x2, sh2 = corrected_state(arr, ht.arrive_phase, t_arr, model, flow, n_revs, per_rev)
    # first guess: corrected departure velocity + Hill dv1 (Hill-frame components) rotated to ICRF
    h1 = np.reshape(from_mars_icrf("PHOBOS_HILL", t_dep, x1, eph), 6).copy()
    h1[3:] += np.asarray(ht.dv1, float)
    v0 = np.reshape(to_mars_icrf("PHOBOS_HILL", t_dep, h1, eph), 6)[3:]
    v, xf, g, it, hist = _newton(flow, t_dep, x1[:3], t_arr, x2[:3], v0, tol_km, max_iter)
    x_tr = np.concatenate([x1[:3], v])
    dv1 = v - x1[3:]
    dv2 = x2[3:] - xf[3:]
    grid = np.linspace(t_dep, t_arr, n_samples)
    p = propagate(model, t_dep, x_tr, grid)
    if p.termination != "span completed" or p.t.size != grid.size:
        raise FullModelTransferError(f"re-propagation of the full-model transfer arc stopped early "
                                     f"({p.termination}) at t_dep + {(p.t[-1] - t_dep) / 3600:.2f} h")
    rep_miss = float(np.linalg.norm(p.states[-1, :3] - x2[:3]) * 1e3)
    pfix = from_mars_icrf("PHOBOS_FIXED", p.t, p.states, eph)
    surf = float(Q.surface_distance_body(pfix[:, :3]).min())
    dcen = float(np.linalg.norm(pfix[:, :3], axis=1).min())
    R = _switch_radius_km(model)
    if dcen < R:
        raise FullModelTransferError(
            f"full-model transfer refused: the arc comes {dcen:.2f} km from Phobos' centre, inside the {R:g} km "
            "radius where the Phobos harmonics flown by the Newton solve (variational equations) differ from the "
            "exact polyhedron by more than 1e-3; choose a transfer that stays outside it")
    return FullModelTransfer(
        hill=ht, t_dep_tdb=t_dep, t_arr_tdb=t_arr, x_depart=x1, x_target=x2, v1_transfer=v, dv1=dv1, dv2=dv2,
        dv1_hill=_rotate_dv(t_dep, x1, dv1, eph), dv2_hill=_rotate_dv(t_arr, xf, dv2, eph),
        miss_m=float(g * 1e3), repropagated_miss_m=rep_miss, min_surface_distance_km=surf,
        min_center_distance_km=dcen, iterations=int(it), miss_history_m=hist, shooting_depart=sh1,
        shooting_arrive=sh2, runtime_s=_time.perf_counter() - T, t=p.t, states=p.states,
    )


__all__ = ["full_model_transfer", "FullModelTransfer", "FullModelTransferError", "corrected_state"]
