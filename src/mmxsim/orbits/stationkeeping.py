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
* **Monte Carlo as ensembles**: the runs share the manoeuvre epochs, so :func:`monte_carlo` flies them
  together (:func:`simulate_ensemble`: every run's targeting flows and truth arcs between two manoeuvres
  as members of one :func:`mmxsim.dynamics.propagate_ensemble` call; the targeting iterates with the
  reference arc's STM, the same 1 cm condition as :func:`simulate`'s Newton). :func:`simulate` stays the
  scalar path, one run at a time.
"""

from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError, MmxsimError
from .handoff import BatchFlow, Flow, check_switch_radius, full_model, multiple_shooting, patch_points
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
                         model=None, eph=None, max_iter: int = 15, handoff_revs: int = 10,
                         flow: Flow | BatchFlow | None = None) -> Reference:
    """Reference patch points for ``days`` (plus two revolutions to target beyond the span).

    ``kind="corrected"``: the QSO is handed off by multiple shooting over ``handoff_revs``
    revolutions (:func:`mmxsim.orbits.handoff.multiple_shooting`); the corrected initial
    state is propagated ballistically over the whole span, sampled at the patch epochs and
    polished by multiple shooting (defects < 1 mm). Multiple shooting of the Hill samples
    over a whole month directly diverged for the 3D QSO (a flow thrown into Phobos at the
    first Newton step), hence this two-stage construction. ``kind="hill"``: the
    uncorrected Hill samples (discontinuous in the full model). ``flow``: the shooting's flows (default a
    :class:`~mmxsim.orbits.handoff.BatchFlow` of ``model``: the segments as SIMD lanes, the same flows to
    the integrator's tolerance as the scalar :class:`~mmxsim.orbits.handoff.Flow`).
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
    flow = flow if flow is not None else BatchFlow(model)
    sh = multiple_shooting(model, t[:k], X[:k], max_iter=max_iter, flow=flow)
    if not sh.converged:
        raise MmxsimError(f"hand-off multiple shooting did not converge (defect {sh.mismatch_pos_m:.3g} m)")
    p = propagate(model, t[0], sh.states[0], t)
    if p.termination != "span completed" or p.t.size != t.size:
        raise MmxsimError(f"the corrected QSO does not survive {days} days ballistically ({p.termination})")
    sh = multiple_shooting(model, t, p.states, max_iter=max_iter, flow=flow)
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


def _schedule(ref: Reference, errors, interval_revs, days) -> tuple:
    """Checked inputs of a run: (patch points per interval, manoeuvre indices, index ending the span)."""
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
    return step, idx, idx[-1] + step  # the span ends at the last target point


def simulate(ref: Reference, errors: Errors = Errors(), interval_revs: float = 1.25, days: float = 30.0,
             seed: int | None = 0, model=None) -> SKRun:
    """One station-keeping run over ``days`` (see the module docstring). ``seed`` seeds NumPy's
    default generator; the run is reproducible for a given seed. This is the scalar path (one
    :class:`~mmxsim.orbits.handoff.Flow` and one :func:`~mmxsim.dynamics.propagate` at a time);
    :func:`monte_carlo` flies many runs as ensembles (:func:`simulate_ensemble`)."""
    from ..dynamics import propagate

    step, idx, i_end = _schedule(ref, errors, interval_revs, days)
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


def simulate_ensemble(ref: Reference, errors, interval_revs: float = 1.25, days: float = 30.0, seeds=(0,),
                      model=None, max_chord: int = 8) -> list:
    """Runs of :func:`simulate`, one per seed (``errors``: one :class:`Errors` for all or one per seed), flown
    together as ensembles: the runs share the manoeuvre epochs, so between two manoeuvres every run's
    targeting flows and then the truth arcs are members of one :func:`~mmxsim.dynamics.propagate_ensemble`
    call (heyoka SIMD batch). Each run keeps its own generator (seeded as :func:`simulate`'s: the same draws
    in the same order) and its own targeting; returns a list of :class:`SKRun`, in the order of ``seeds``.

    Targeting: the same condition as :func:`simulate` (the estimate reaches the reference position at the
    next manoeuvre epoch to 1 cm), solved by chord iterations with the dr/dv block of the *reference* arc's
    state-transition matrix (one variational flow per manoeuvre epoch, shared by all runs, all of them as
    lanes of :class:`~mmxsim.orbits.handoff.BatchFlow` batches) instead of
    Newton with each run's own STM: the root is the same, only the path to it differs (the runs stay
    within ~1 km of the reference, where the two matrices agree to ~1e-4, so the chord converges as fast;
    its first iterate is the linear prediction from the estimate's offset to the reference).
    A run not converged after ``max_chord`` iterations finishes with :func:`simulate`'s Newton
    iterations (its own STM). The commanded Delta-v therefore equals :func:`simulate`'s to within the
    1 cm targeting tolerance over dr/dv (~3000 s: a few µm/s; measured at the reference settings, 6 runs x
    81 impulses: within 4.2e-6 m/s), not to the integrator's.
    """
    from ..dynamics import propagate_ensemble

    seeds = list(seeds)
    if not seeds:
        raise InputError("seeds", seeds, "at least one seed")
    errs = list(errors) if isinstance(errors, (list, tuple)) else [errors] * len(seeds)
    if len(errs) != len(seeds):
        raise InputError("errors", f"{len(errs)} entries", f"one Errors or {len(seeds)} (one per seed)")
    for e in errs:
        step, idx, i_end = _schedule(ref, e, interval_revs, days)
    if not (isinstance(max_chord, int) and 1 <= max_chord <= 50):
        raise InputError("max_chord", max_chord, "an integer 1..50")
    model = model if model is not None else full_model()
    # the reference arcs' STMs at every manoeuvre epoch, as lanes of SIMD batches
    _, phi_refs = BatchFlow(model)(ref.t[idx], ref.states[idx], ref.t[np.asarray(idx) + step])
    own_flow = None
    n = len(seeds)
    rngs = [np.random.default_rng(s) for s in seeds]
    x = np.repeat(ref.states[0][None, :], n, axis=0)
    dvs, vecs, ests, befores, devs = [], [], [], [], []

    def flown(t_a, t_b, states):
        p = propagate_ensemble(model, t_a, states, [t_a, t_b])
        bad = [r for r in range(len(states)) if p.termination[r] != "span completed"]
        if bad:
            raise MmxsimError(f"station-keeping propagation stopped: {p.termination[bad[0]]}")
        return p.states[:, -1]

    for m, i in enumerate(idx):
        j = i + step
        devs.append(np.linalg.norm(x[:, :3] - ref.states[i, :3], axis=1))
        est = x.copy()
        for r in range(n):
            est[r, :3] += rngs[r].normal(0.0, 1.0, 3) * errs[r].sigma_pos_km
            est[r, 3:] += rngs[r].normal(0.0, 1.0, 3) * errs[r].sigma_vel_km_s
        lu = np.linalg.inv(phi_refs[m, :3, 3:])
        # first iterate: the linear prediction of the miss with the reference STM (what the first chord
        # step after a flight at dv = 0 gives to first order), so no flight is spent at dv = 0
        dv = -(lu @ (phi_refs[m, :3, :] @ (est - ref.states[i]).T)).T
        active = list(range(n))
        for _ in range(max_chord):
            if not active:
                break
            xs = est[active].copy()
            xs[:, 3:] += dv[active]
            e = flown(ref.t[i], ref.t[j], xs)[:, :3] - ref.states[j, :3]
            conv = np.linalg.norm(e, axis=1) < 1e-5
            for k, r in enumerate(active):
                if not conv[k]:
                    dv[r] -= lu @ e[k]
            active = [r for k, r in enumerate(active) if not conv[k]]
        for r in active:  # the rare run the chord did not settle: Newton with its own STM (as simulate)
            own_flow = own_flow or Flow(model)
            for _ in range(8):
                xf, phi = own_flow(ref.t[i], np.r_[est[r, :3], est[r, 3:] + dv[r]], ref.t[j])
                e = xf[:3] - ref.states[j, :3]
                if np.linalg.norm(e) < 1e-5:
                    break
                dv[r] -= np.linalg.solve(phi[:3, 3:], e)
        befores.append(x.copy())
        for r in range(n):
            x[r, 3:] += dv[r] + rngs[r].normal(0.0, 1.0, 3) * errs[r].exec_frac * np.linalg.norm(dv[r])
        dvs.append(np.linalg.norm(dv, axis=1) * 1e3)
        vecs.append(dv.copy())
        ests.append(est.copy())
        x = flown(ref.t[i], ref.t[j], x).copy()
    tms = np.array([ref.t[i] for i in idx])
    dvs, vecs, ests, befores, devs = (np.array(a) for a in (dvs, vecs, ests, befores, devs))
    out = []
    for r in range(n):
        fdev = float(np.linalg.norm(x[r, :3] - ref.states[i_end, :3]))
        out.append(SKRun(seeds[r], float(dvs[:, r].sum()), dvs[:, r].copy(), tms.copy(), float(devs[:, r].max()), fdev,
                         vecs[:, r].reshape(-1, 3), ests[:, r].reshape(-1, 6), befores[:, r].reshape(-1, 6)))
    return out


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


def _check_mc(n_samples, seed):
    if not (isinstance(n_samples, (int, np.integer)) and not isinstance(n_samples, bool) and 1 <= n_samples <= 1000):
        raise InputError("n_samples", n_samples, "an integer 1..1000")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise InputError("seed", seed, "an integer")


def monte_carlo(ref: Reference, errors: Errors = Errors(), n_samples: int = 10, interval_revs: float = 1.25,
                days: float = 30.0, seed: int = 0, model=None, ensemble: bool = True) -> MonteCarlo:
    """``n_samples`` runs of :func:`simulate` with seeds ``seed, seed + 1, ...``; with ``ensemble`` (default)
    flown together by :func:`simulate_ensemble` (the same runs to the integrator's tolerance), else one by one."""
    return monte_carlo_cases(ref, [errors], n_samples, interval_revs, days, seed, model, ensemble)[0]


def monte_carlo_cases(ref: Reference, errors_list, n_samples: int = 10, interval_revs: float = 1.25,
                      days: float = 30.0, seed: int = 0, model=None, ensemble: bool = True) -> list:
    """One :class:`MonteCarlo` per entry of ``errors_list`` (each as :func:`monte_carlo` with the same seeds),
    all cases' runs flown as one ensemble (:func:`simulate_ensemble`). Each case's ``runtime_s`` is the
    shared wall time."""
    _check_mc(n_samples, seed)
    errors_list = list(errors_list)
    if not errors_list or not all(isinstance(e, Errors) for e in errors_list):
        raise InputError("errors_list", errors_list, "a non-empty list of Errors")
    T = _time.perf_counter()
    seeds = [int(seed) + k for k in range(n_samples)]
    if ensemble:
        runs = simulate_ensemble(ref, [e for e in errors_list for _ in seeds], interval_revs, days,
                                 seeds * len(errors_list), model)
    else:
        runs = [simulate(ref, e, interval_revs, days, s, model) for e in errors_list for s in seeds]
    dt = _time.perf_counter() - T
    return [MonteCarlo(runs[c * n_samples:(c + 1) * n_samples], e, float(interval_revs), float(days), ref.kind, dt)
            for c, e in enumerate(errors_list)]


__all__ = ["BAR_SURREY_M_S_PER_MONTH", "Reference", "reference_trajectory", "Errors", "ZERO_ERRORS", "SKRun",
           "simulate", "simulate_ensemble", "MonteCarlo", "monte_carlo", "monte_carlo_cases", "SK_HEADER"]
