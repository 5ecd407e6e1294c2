"""Station keeping of a QSO in the full ephemeris model: target-point control, Monte Carlo.

Simplified model (stated):

* **Reference**: a trajectory given by patch points ``(t_i, X_i)`` (Mars ICRF). Either the
  hand-off-corrected 3D QSO propagated over the whole span (:func:`reference_trajectory`;
  continuous to < 1 mm, i.e. a natural trajectory of the model), or the uncorrected Hill-problem samples (``kind="hill"``, not
  a solution of the full model: tracking it costs Delta-v even without errors).
* **Navigation**: at each manoeuvre epoch the estimate is truth plus Gaussian errors, 1-sigma
  ``sigma_pos_km`` and ``sigma_vel_km_s`` per ICRF axis, independent between manoeuvres
  (no filter, no correlation). Values are ASSUMPTIONS: MMX navigation accuracy is not
  published (mmx-facts.md §2.3 lists the AOCS specifications as UNCONFIRMED).
* **Execution**: impulsive; the applied Delta-v is the commanded one plus Gaussian
  errors of 1-sigma ``exec_frac`` * |Delta-v| per axis (ASSUMPTION).
* **Control law** (target point): every ``interval_revs`` QSO revolutions (at reference
  patch points) one impulse makes the *estimated* state reach the reference **position** at
  the next manoeuvre epoch (Newton with the full-model STM block dr/dv, to 1 cm on the
  estimate). Intervals that are multiples of half a revolution are refused: dr/dv is
  nearly singular there (the linear Hill motion returns radially/vertically). Tried first
  and dropped: targeting 1/4 revolution ahead then coasting to the next cycle (with or
  without a second, velocity-matching impulse) is unstable in closed loop: the arrival
  velocity error (or, after a velocity match, the position offset, through the along-track
  coupling ~12 pi per revolution of Hill's equations) grew 4-8x per cycle.
* Truth is propagated ballistically in the full model between manoeuvres. Delta-v cost
  is the sum of commanded |Delta-v| over the span.
"""

from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError, MmxsimError
from .handoff import Flow, check_switch_radius, full_model, multiple_shooting, patch_points
from .qso import QSO

BAR_SURREY_M_S_PER_MONTH = 1.0  # 3D-QSO maintenance ~1 m/s per month [BAR-SURREY], mmx-facts §4.1


@dataclass
class Reference:
    kind: str  # "corrected" or "hill"
    t: np.ndarray
    states: np.ndarray
    per_rev: int
    max_defect_m: float  # largest position discontinuity at the patch points
    runtime_s: float


def reference_trajectory(q: QSO, t0_tdb: float, days: float = 30.0, per_rev: int = 4, kind: str = "corrected",
                         model=None, eph=None, max_iter: int = 15, handoff_revs: int = 10) -> Reference:
    """Reference patch points for ``days`` (plus two revolutions to target beyond the span).

    ``kind="corrected"``: the QSO is handed off by multiple shooting over ``handoff_revs``
    revolutions (:func:`mmxsim.orbits.handoff.multiple_shooting`); the corrected initial
    state is propagated ballistically over the whole span, sampled at the patch epochs and
    polished by multiple shooting (defects < 1 mm). Multiple shooting of the Hill samples
    over a whole month directly diverged for the 3D QSO (a flow thrown into Phobos at the
    first Newton step), hence this two-stage construction. ``kind="hill"``: the
    uncorrected Hill samples (discontinuous in the full model).
    """
    from ..dynamics import propagate

    if kind not in ("corrected", "hill"):
        raise InputError("kind", kind, "'corrected' or 'hill'")
    if not (isinstance(days, (int, float)) and 0 < days <= 120):
        raise InputError("days", days, "a number of days in (0, 120]")
    model = model if model is not None else full_model(eph)
    check_switch_radius(model, q)  # the flows below use the harmonics everywhere
    T = _time.perf_counter()
    n_revs = int(math.ceil(days * 86400.0 / q.period_s)) + 2
    t, X = patch_points(q, t0_tdb, n_revs, per_rev, eph if eph is not None else model.ephemeris)
    if kind == "hill":
        from .handoff import _defects

        F, _ = _defects(Flow(model), t, X)
        return Reference(kind, t, X, per_rev, float(np.max(np.linalg.norm(F[:, :3], axis=1)) * 1e3),
                         _time.perf_counter() - T)
    k = min(handoff_revs, n_revs) * per_rev + 1
    sh = multiple_shooting(model, t[:k], X[:k], max_iter=max_iter)
    if not sh.converged:
        raise MmxsimError(f"hand-off multiple shooting did not converge (defect {sh.mismatch_pos_m:.3g} m)")
    p = propagate(model, t[0], sh.states[0], t)
    if p.termination != "span completed" or p.t.size != t.size:
        raise MmxsimError(f"the corrected QSO does not survive {days} days ballistically ({p.termination})")
    sh = multiple_shooting(model, t, p.states, max_iter=max_iter)
    if not sh.converged:
        raise MmxsimError(f"reference multiple shooting did not converge (defect {sh.mismatch_pos_m:.3g} m)")
    return Reference(kind, t, sh.states, per_rev, sh.mismatch_pos_m, _time.perf_counter() - T)


@dataclass(frozen=True)
class Errors:
    """1-sigma errors (ASSUMPTIONS; see the module docstring)."""

    sigma_pos_km: float = 0.1  # 100 m per axis
    sigma_vel_km_s: float = 1e-6  # 1 mm/s per axis
    exec_frac: float = 0.02  # 2 % of |Delta-v| per axis

    def __post_init__(self):
        for name in ("sigma_pos_km", "sigma_vel_km_s", "exec_frac"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise InputError(name, v, "a finite number >= 0")


ZERO_ERRORS = Errors(0.0, 0.0, 0.0)


@dataclass
class SKRun:
    seed: int | None
    total_dv_m_s: float
    dv_m_s: np.ndarray  # per impulse (commanded)
    t_manoeuvres: np.ndarray
    max_deviation_km: float  # truth vs reference position, at manoeuvre epochs (before the burn)
    final_deviation_km: float
    # per impulse, Mars-centred ICRF: the commanded Delta-v vector (km/s; its norm is dv_m_s / 1000), the
    # navigation estimate it was computed from (the planned pre-burn state, km, km/s) and the true state
    # before the burn; empty (0, 3) / (0, 6) arrays when not recorded
    dv_km_s: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    estimates: np.ndarray = field(default_factory=lambda: np.zeros((0, 6)))
    states_before: np.ndarray = field(default_factory=lambda: np.zeros((0, 6)))


def simulate(ref: Reference, errors: Errors = Errors(), interval_revs: float = 1.25, days: float = 30.0,
             seed: int | None = 0, model=None) -> SKRun:
    """One station-keeping run over ``days`` (see the module docstring). ``seed`` seeds NumPy's
    default generator; the run is reproducible for a given seed."""
    from ..dynamics import propagate

    if not isinstance(ref, Reference):
        raise InputError("ref", type(ref).__name__, "a Reference from reference_trajectory()")
    if not isinstance(errors, Errors):
        raise InputError("errors", type(errors).__name__, "an Errors instance")
    ok = isinstance(interval_revs, (int, float)) and not isinstance(interval_revs, bool) and math.isfinite(interval_revs)
    step = round(float(interval_revs) * ref.per_rev) if ok else 0
    if not (1 <= step <= 50 * ref.per_rev and abs(step - float(interval_revs) * ref.per_rev) < 1e-9) \
            or step % (ref.per_rev // 2 or 1) == 0 and ref.per_rev % 2 == 0:
        raise InputError("interval_revs", interval_revs,
                         f"a positive multiple of 1/{ref.per_rev} revolution (the reference's patch spacing), "
                         "<= 50, not a multiple of 1/2 (dr/dv is near-singular there)")
    if not (isinstance(days, (int, float)) and days > 0):
        raise InputError("days", days, "a number of days > 0")
    t_end = ref.t[0] + days * 86400.0
    idx = [i for i in range(0, len(ref.t), step) if ref.t[i] < t_end - 1e-6]
    if idx[-1] + step >= len(ref.t):
        raise InputError("days", days, f"short enough to target {interval_revs} rev ahead within the reference "
                                       f"({(ref.t[-1] - ref.t[0]) / 86400:.2f} days)")
    i_end = idx[-1] + step  # the span ends at the last target point
    model = model if model is not None else full_model()
    flow = Flow(model)
    rng = np.random.default_rng(seed)
    x = ref.states[0].copy()
    dvs, tms, devs, vecs, ests, befores = [], [], [], [], [], []
    for i in idx:
        devs.append(float(np.linalg.norm(x[:3] - ref.states[i, :3])))
        est = x.copy()
        est[:3] += rng.normal(0.0, 1.0, 3) * errors.sigma_pos_km
        est[3:] += rng.normal(0.0, 1.0, 3) * errors.sigma_vel_km_s
        j = i + step
        dv = np.zeros(3)
        for _ in range(8):
            xf, phi = flow(ref.t[i], np.r_[est[:3], est[3:] + dv], ref.t[j])
            e = xf[:3] - ref.states[j, :3]
            if np.linalg.norm(e) < 1e-5:
                break
            dv -= np.linalg.solve(phi[:3, 3:], e)
        befores.append(x.copy())
        x[3:] += dv + rng.normal(0.0, 1.0, 3) * errors.exec_frac * np.linalg.norm(dv)
        dvs.append(float(np.linalg.norm(dv) * 1e3))
        tms.append(ref.t[i])
        vecs.append(dv.copy())
        ests.append(est.copy())
        p = propagate(model, ref.t[i], x, [ref.t[i], ref.t[j]])
        if p.termination != "span completed":
            raise MmxsimError(f"truth propagation stopped: {p.termination}")
        x = p.states[-1].copy()
    fdev = float(np.linalg.norm(x[:3] - ref.states[i_end, :3]))  # at the patch point ending the span
    dvs = np.array(dvs)
    return SKRun(seed, float(dvs.sum()), dvs, np.array(tms), float(max(devs)), fdev, np.array(vecs).reshape(-1, 3),
                 np.array(ests).reshape(-1, 6), np.array(befores).reshape(-1, 6))


@dataclass
class MonteCarlo:
    runs: list
    errors: Errors
    interval_revs: float
    days: float
    reference_kind: str
    runtime_s: float
    totals_m_s: np.ndarray = field(default=None)

    def __post_init__(self):
        self.totals_m_s = np.array([r.total_dv_m_s for r in self.runs])

    @property
    def mean_m_s(self) -> float:
        return float(self.totals_m_s.mean())

    @property
    def std_m_s(self) -> float:
        return float(self.totals_m_s.std(ddof=1)) if len(self.runs) > 1 else 0.0

    @property
    def per_month_m_s(self) -> float:
        """Mean cost scaled to 30 days."""
        return self.mean_m_s * 30.0 / self.days

    def row(self, label: str = "") -> str:
        e = self.errors
        return (f"| {label} | {self.reference_kind} | {e.sigma_pos_km * 1e3:g} m, {e.sigma_vel_km_s * 1e6:g} mm/s, "
                f"{e.exec_frac * 100:g} % | every {self.interval_revs:g} rev "
                f"| {len(self.runs)} | {self.mean_m_s:.3f} ± {self.std_m_s:.3f} "
                f"| {self.totals_m_s.min():.3f}..{self.totals_m_s.max():.3f} | {self.per_month_m_s:.3f} "
                f"| ~{BAR_SURREY_M_S_PER_MONTH:g} |")


SK_HEADER = ("| case | reference | nav / exec 1-sigma | control | samples | total Δv m/s (mean ± sd) | min..max m/s "
             "| ours m/s per 30 d | [BAR-SURREY] m/s per month |\n|---|---|---|---|---|---|---|---|---|")


def monte_carlo(ref: Reference, errors: Errors = Errors(), n_samples: int = 10, interval_revs: float = 1.25, days: float = 30.0, seed: int = 0, model=None) -> MonteCarlo:
    """``n_samples`` runs of :func:`simulate` with seeds ``seed, seed + 1, ...``."""
    if not (isinstance(n_samples, (int, np.integer)) and not isinstance(n_samples, bool) and 1 <= n_samples <= 1000):
        raise InputError("n_samples", n_samples, "an integer 1..1000")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise InputError("seed", seed, "an integer")
    T = _time.perf_counter()
    runs = [simulate(ref, errors, interval_revs, days, int(seed) + k, model) for k in range(n_samples)]
    return MonteCarlo(runs, errors, float(interval_revs), float(days),
                      ref.kind, _time.perf_counter() - T)


__all__ = ["BAR_SURREY_M_S_PER_MONTH", "Reference", "reference_trajectory", "Errors", "ZERO_ERRORS", "SKRun",
           "simulate", "MonteCarlo", "monte_carlo", "SK_HEADER"]
