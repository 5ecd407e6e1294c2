"""Weighted batch least squares with a priori and consider parameters (generic, problem-driven).

Model
-----
A *problem* (see :class:`EstimationProblem`) owns the physics: given a parameter vector ``p`` (the
estimated vector, defined at the epoch ``t0``) it returns a :class:`Linearization` with the
residuals ``r = observed - computed(p)``, their 1-sigma noise ``sigma``, the partials
``H = d computed / d p`` and, optionally, ``C = d computed / d c`` for consider parameters ``c``.
This module knows nothing about orbits, stations or integrators.

The batch minimises the whitened cost

    J(p) = || W (y - h(p)) ||^2 + || R0 (p - p0) ||^2,      W = diag(1/sigma),  R0^T R0 = P0^-1

by Gauss-Newton. Each iteration stacks the a priori square-root information rows ``R0`` and the
whitened data rows ``W H`` and triangularises them with a Householder QR (the square-root
information form: Bierman 1977, *Factorization Methods for Discrete Sequential Estimation*,
ch. V; Tapley, Schutz & Born 2004, *Statistical Orbit Determination*, §5.4-5.6): the normal
matrix ``H^T W^2 H`` is never formed, so its squared condition number never appears. Columns are
scaled to unit norm before the QR; the rank is judged from the singular values of the n x n
triangular factor, and a rank-deficient problem names the unobservable parameter combination (the
right singular vector of the smallest singular value, in the original units).

* Convergence: the largest step component in units of its formal sigma below
  ``step_tolerance`` (default 1e-3), or the relative change of the weighted RMS below
  ``rms_tolerance`` with the set of edited rows unchanged.
* Outlier editing (n-sigma): from the second iteration on, a row whose residual at the current
  iterate exceeds ``n_sigma x max(1, s)`` times its own sigma is left out of that iteration (and
  may come back later); ``s = 1.4826 median |r / sigma|`` over all rows is a robust scale of the
  whitened residuals (the median absolute deviation, consistent with sigma for Gaussian noise and
  unmoved by up to half the rows being outliers). Scaling keeps far-from-converged iterations
  (large residuals from a poor first guess, not from bad data) from editing good rows, where an
  RMS-based scale would also be inflated by the outliers themselves; once the fit settles the
  threshold is ``n_sigma`` sigma. The default ``n_sigma`` is 4: with Gaussian noise 3 sigma would throw away 0.27 % of good data (27
  rows of 10,000, biasing the RMS and the covariance low), 4 sigma only 0.006 % (0.6 rows), while
  the gross errors editing is for (a bad pass, a cycle slip) are tens of sigma. Edited rows are in
  the result and the iteration table, never dropped silently.
* Divergence: a non-finite residual or partial, or a weighted RMS that grows by more than
  ``divergence_growth`` (relative, default 0.1 %) in each of ``divergence_iterations`` consecutive
  iterations or exceeds ``divergence_ratio`` times the best one so far, raises
  :class:`EstimationError` carrying the iteration table. Smaller growth is the wobble of a fit at its
  noise floor (e.g. LIDAR ranges that switch facets between iterates: measured 0.8980 to 0.8986 over
  ten iterations of a 3-h geodesy arc, steps 0.06 sigma), not divergence: such a fit ends as not
  converged after ``max_iterations``, with its warning.
* Consider parameters (Tapley et al. 2004, §6.3; Bierman 1977, ch. VI): the sensitivity
  ``S = d p_hat / d c = -R^-1 (Q^T W C)`` comes from the same QR; the consider covariance is
  ``P_c = P + S Pcc S^T``.
* The post-fit residuals are the linear prediction ``r - H dp`` at the last iterate (no extra
  evaluation of the model); at convergence (step < 1e-3 sigma) this differs from a re-evaluation
  by second-order terms only.

Simplifications: the a priori covariance may carry infinite variances (no information on that
parameter) only on uncorrelated diagonal entries; the weight matrix is diagonal (uncorrelated
measurement noise).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Optional, Protocol, Sequence, runtime_checkable

import numpy as np

from ..errors import InputError, MmxsimError

__all__ = [
    "Linearization",
    "EstimationProblem",
    "BatchSettings",
    "IterationRecord",
    "BatchResult",
    "EstimationError",
    "SingularProblemError",
    "EstimationWarning",
    "batch_least_squares",
    "check_problem",
    "prior_sqrt_information",
]


class EstimationError(MmxsimError):
    """An estimator failed (diverged, non-finite numbers, singular problem).

    ``table`` holds the iterations done so far (a tuple of :class:`IterationRecord`).
    """

    def __init__(self, message: str, table: Sequence["IterationRecord"] = ()):
        self.table = tuple(table)
        text = message
        if self.table:
            text += "\n" + format_iteration_table(self.table)
        super().__init__(text)


class SingularProblemError(EstimationError):
    """The data and the a priori do not determine every parameter.

    ``combination`` maps parameter names to the coefficients of the unobservable direction
    (largest magnitude 1); ``condition`` is the ratio of the smallest to the largest singular value
    of the column-scaled square-root information matrix.
    """

    def __init__(self, combination: dict, condition: float, table: Sequence["IterationRecord"] = ()):
        self.combination = dict(combination)
        self.condition = float(condition)
        terms = " ".join(f"{c:+.3g}*{name}" for name, c in self.combination.items())
        super().__init__(
            "the estimation problem is singular (rank-deficient): the combination "
            f"{terms} of the parameters {sorted(self.combination)} is not observable from the data "
            f"and the a priori (scaled condition {condition:.2e}); add an a priori on one of them, "
            "add data that separate them, or stop estimating one",
            table,
        )


class EstimationWarning(UserWarning):
    """The batch stopped at ``max_iterations`` without meeting its convergence criteria."""


@dataclass
class Linearization:
    """The problem linearised at one parameter vector.

    Attributes
    ----------
    residual : (m,) observed - computed.
    sigma : (m,) 1-sigma noise of each row (> 0, same units as ``residual``).
    H : (m, n) d computed / d p, p the estimated vector at the epoch t0.
    t : (m,) epochs (TDB seconds past J2000) of the rows.
    C : (m, q) d computed / d c for the consider parameters, or None.
    labels : (m,) strings naming each row's data type and station (reports), or None.
    """

    residual: np.ndarray
    sigma: np.ndarray
    H: np.ndarray
    t: np.ndarray
    C: Optional[np.ndarray] = None
    labels: Optional[np.ndarray] = None

    def __post_init__(self):
        self.residual = np.asarray(self.residual, dtype=float).reshape(-1)
        m = self.residual.size
        self.sigma = np.broadcast_to(np.asarray(self.sigma, dtype=float), (m,)).copy()
        self.t = np.broadcast_to(np.asarray(self.t, dtype=float), (m,)).copy()
        self.H = np.asarray(self.H, dtype=float)
        if self.H.ndim != 2 or self.H.shape[0] != m:
            raise InputError("Linearization.H", self.H.shape, f"an array of shape (m, n) with m = {m} rows")
        if self.C is not None:
            self.C = np.asarray(self.C, dtype=float)
            if self.C.ndim != 2 or self.C.shape[0] != m:
                raise InputError("Linearization.C", self.C.shape, f"an array of shape (m, q) with m = {m} rows")
        if self.labels is not None:
            self.labels = np.asarray(self.labels, dtype=object).reshape(-1)
            if self.labels.size != m:
                raise InputError("Linearization.labels", self.labels.size, f"{m} labels, one per row")
        bad = ~(np.isfinite(self.sigma) & (self.sigma > 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            where = f" ({self.labels[i]})" if self.labels is not None else ""
            raise InputError(
                f"Linearization.sigma[{i}]{where}", float(self.sigma[i]),
                "positive finite 1-sigma noise values",
            )

    @property
    def size(self) -> int:
        return self.residual.size


@runtime_checkable
class EstimationProblem(Protocol):
    """What an estimator needs from a problem.

    Required: ``names`` (n parameter names), ``p0`` (n,) a priori mean, ``P0`` (n, n) a priori
    covariance or None (no a priori; ``inf`` on an uncorrelated diagonal entry means no a priori on
    that parameter), ``consider_names`` (q names, may be empty), ``Pcc`` (q, q) or None,
    ``linearize(p) -> Linearization``.

    For :func:`mmxsim.navigation.sequential.square_root_information_filter` also: ``t0`` (epoch
    of p), ``stm(t) -> (K, n, n)`` = Phi(t, t0) in the full parameter space (identity rows for
    constant parameters), and optionally ``process_noise(t_prev, t_next) -> (n, n)`` and
    ``reference(t) -> (K, n)`` (the reference trajectory the deviations are taken from).
    """

    names: Sequence[str]
    p0: np.ndarray
    P0: Optional[np.ndarray]
    consider_names: Sequence[str]
    Pcc: Optional[np.ndarray]

    def linearize(self, p: np.ndarray) -> Linearization: ...


@dataclass(frozen=True)
class BatchSettings:
    """Settings of :func:`batch_least_squares` (see the module docstring for their meaning)."""

    max_iterations: int = 20
    step_tolerance: float = 1e-3
    rms_tolerance: float = 1e-6
    n_sigma: Optional[float] = 4.0
    divergence_iterations: int = 3
    divergence_growth: float = 1e-3
    divergence_ratio: float = 100.0
    rank_tolerance: float = 1e-11

    def __post_init__(self):
        if not (isinstance(self.max_iterations, (int, np.integer)) and self.max_iterations >= 1):
            raise InputError("BatchSettings.max_iterations", self.max_iterations, "an integer >= 1")
        for name in ("step_tolerance", "rms_tolerance", "divergence_growth", "divergence_ratio", "rank_tolerance"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise InputError(f"BatchSettings.{name}", v, "a positive finite number")
        if self.n_sigma is not None and not (self.n_sigma > 0):
            raise InputError("BatchSettings.n_sigma", self.n_sigma, "a positive number or None (no editing)")
        if not (isinstance(self.divergence_iterations, (int, np.integer)) and self.divergence_iterations >= 1):
            raise InputError("BatchSettings.divergence_iterations", self.divergence_iterations, "an integer >= 1")


@dataclass(frozen=True)
class IterationRecord:
    """One Gauss-Newton iteration: weighted RMS of the residuals at the iterate (rows used only),
    rows used and edited, and the largest step component in units of its formal sigma."""

    iteration: int
    weighted_rms: float
    rows_used: int
    rows_edited: int
    step_sigma: float
    edit_threshold: float = float("inf")


def format_iteration_table(table: Sequence[IterationRecord]) -> str:
    """The iteration table as fixed-width text."""
    lines = [f"{'iter':>4} {'weighted RMS':>14} {'rows used':>10} {'edited':>7} {'max step/sigma':>15} "
             f"{'edit at (sigma)':>16}"]
    for rec in table:
        lines.append(
            f"{rec.iteration:>4d} {rec.weighted_rms:>14.6g} {rec.rows_used:>10d} {rec.rows_edited:>7d} "
            f"{rec.step_sigma:>15.4g} {rec.edit_threshold:>16.4g}"
        )
    return "\n".join(lines)


@dataclass
class BatchResult:
    """The outcome of :func:`batch_least_squares`.

    ``estimate`` (n,), ``covariance`` (n, n) formal, ``consider_covariance`` (n, n) (equal to
    ``covariance`` without consider parameters), ``sensitivity`` (n, q) d p_hat / d c,
    ``sqrt_information`` (n, n) R with R^T R = covariance^-1, ``iterations`` the table,
    ``prefit_residuals`` (residuals at the first iterate), ``postfit_residuals`` (linear
    prediction at the estimate), ``sigma_obs``, ``t``, ``labels`` of the rows, ``edited`` (m,) bool
    (rows left out at the last iteration), ``converged`` and ``message``.
    """

    names: tuple
    consider_names: tuple
    estimate: np.ndarray
    covariance: np.ndarray
    consider_covariance: np.ndarray
    sensitivity: np.ndarray
    sqrt_information: np.ndarray
    iterations: tuple
    prefit_residuals: np.ndarray
    postfit_residuals: np.ndarray
    sigma_obs: np.ndarray
    t: np.ndarray
    labels: Optional[np.ndarray]
    edited: np.ndarray
    converged: bool
    message: str

    @property
    def sigma(self) -> np.ndarray:
        """Formal 1-sigma of each parameter."""
        return np.sqrt(np.diag(self.covariance))

    @property
    def consider_sigma(self) -> np.ndarray:
        return np.sqrt(np.diag(self.consider_covariance))

    @property
    def correlation(self) -> np.ndarray:
        s = self.sigma
        return self.covariance / np.outer(s, s)

    @property
    def edited_rows(self) -> np.ndarray:
        """Indices of the rows edited at the last iteration."""
        return np.flatnonzero(self.edited)

    @property
    def postfit_weighted_rms(self) -> float:
        used = ~self.edited
        return float(np.sqrt(np.mean((self.postfit_residuals[used] / self.sigma_obs[used]) ** 2)))

    def iteration_table(self) -> str:
        return format_iteration_table(self.iterations)


# ------------------------------------------------------------------------------------------------
# problem checks and the a priori


@dataclass(frozen=True)
class _Checked:
    names: tuple
    p0: np.ndarray
    R0: np.ndarray  # (k, n) a priori square-root information rows
    consider_names: tuple
    Pcc: np.ndarray  # (q, q)


def prior_sqrt_information(P0, n: int, field_name: str = "P0") -> np.ndarray:
    """Square-root information rows ``R0`` (k, n) with ``R0^T R0 = P0^-1``.

    ``None`` gives no rows. Infinite diagonal entries (no a priori on that parameter) are allowed
    where the rest of that row and column is zero; they give no row.
    """
    if P0 is None:
        return np.zeros((0, n))
    P0 = np.asarray(P0, dtype=float)
    if P0.shape != (n, n):
        raise InputError(field_name, P0.shape, f"an ({n}, {n}) covariance matrix or None")
    d = np.diag(P0)
    free = np.isinf(d) & (d > 0)
    off = P0.copy()
    np.fill_diagonal(off, 0.0)
    if (free.any() and np.any(off[free] != 0)) or np.any(off[:, free] != 0):
        raise InputError(field_name, "infinite variance with correlations",
                         "infinite variances only on uncorrelated diagonal entries")
    keep = ~free
    Pk = P0[np.ix_(keep, keep)]
    if not np.all(np.isfinite(Pk)):
        raise InputError(field_name, "non-finite entries", "a finite symmetric positive-definite matrix "
                         "(inf allowed on uncorrelated diagonal entries)")
    if not np.allclose(Pk, Pk.T, rtol=1e-10, atol=0.0):
        raise InputError(field_name, "not symmetric", "a symmetric positive-definite matrix")
    try:
        L = np.linalg.cholesky(Pk)
    except np.linalg.LinAlgError:
        raise InputError(field_name, "not positive definite",
                         "a symmetric positive-definite matrix (every variance > 0)") from None
    Rk = np.linalg.solve(L, np.eye(L.shape[0]))  # L^-1: (L^-1)^T L^-1 = P^-1
    R0 = np.zeros((Rk.shape[0], n))
    R0[:, keep] = Rk
    return R0


def check_problem(problem) -> _Checked:
    """Validate a problem's declarations (names, a priori, consider parameters)."""
    for attr in ("names", "p0", "linearize"):
        if not hasattr(problem, attr):
            raise InputError("problem", type(problem).__name__, f"an object with '{attr}' (see EstimationProblem)")
    names = tuple(str(s) for s in problem.names)
    n = len(names)
    if n == 0:
        raise InputError("problem.names", names, "at least one estimated parameter")
    dup = sorted({s for s in names if names.count(s) > 1})
    if dup:
        raise InputError("problem.names", dup, "distinct parameter names")
    cnames = tuple(str(s) for s in (getattr(problem, "consider_names", None) or ()))
    both = sorted(set(names) & set(cnames))
    if both:
        raise InputError("problem.consider_names", both,
                         "parameters that are not also estimated (a parameter is either estimated or considered)")
    dupc = sorted({s for s in cnames if cnames.count(s) > 1})
    if dupc:
        raise InputError("problem.consider_names", dupc, "distinct parameter names")
    p0 = np.asarray(problem.p0, dtype=float).reshape(-1)
    if p0.size != n or not np.all(np.isfinite(p0)):
        raise InputError("problem.p0", p0, f"{n} finite values, one per parameter")
    R0 = prior_sqrt_information(getattr(problem, "P0", None), n, "problem.P0")
    q = len(cnames)
    Pcc = getattr(problem, "Pcc", None)
    if q:
        if Pcc is None:
            raise InputError("problem.Pcc", None, f"a ({q}, {q}) covariance of the consider parameters")
        Pcc = np.asarray(Pcc, dtype=float)
        if Pcc.shape != (q, q) or not np.all(np.isfinite(Pcc)) or not np.allclose(Pcc, Pcc.T):
            raise InputError("problem.Pcc", Pcc.shape, f"a finite symmetric ({q}, {q}) matrix")
        if np.linalg.eigvalsh(Pcc).min() < -1e-12 * max(1.0, np.abs(Pcc).max()):
            raise InputError("problem.Pcc", "negative eigenvalue", "a positive semi-definite covariance")
    else:
        Pcc = np.zeros((0, 0))
    return _Checked(names, p0, R0, cnames, Pcc)


def _check_linearization(lin, n: int, q: int, m_expected: Optional[int]) -> None:
    if not isinstance(lin, Linearization):
        raise InputError("problem.linearize", type(lin).__name__, "a function returning a Linearization")
    if lin.H.shape[1] != n:
        raise InputError("Linearization.H", lin.H.shape, f"{n} columns, one per estimated parameter")
    if q:
        if lin.C is None or lin.C.shape[1] != q:
            raise InputError("Linearization.C", None if lin.C is None else lin.C.shape,
                             f"{q} columns, one per consider parameter")
    if m_expected is not None and lin.size != m_expected:
        raise InputError("Linearization.residual", lin.size,
                         f"the same {m_expected} rows at every iteration")


def _singular_combination(v_scaled: np.ndarray, scale: np.ndarray, names: tuple) -> dict:
    d = v_scaled / scale
    d = d / d[np.argmax(np.abs(d))]
    keep = np.abs(d) > 0.05
    return {names[i]: float(d[i]) for i in np.flatnonzero(keep)}


def _solve_sri(A: np.ndarray, b: np.ndarray, Cw: Optional[np.ndarray], names: tuple, rank_tol: float,
               table) -> tuple:
    """Triangularise [A | b | Cw]; return (dx, P, R, S) in unscaled units or raise on rank deficiency."""
    n = A.shape[1]
    scale = np.sqrt(np.einsum("ij,ij->j", A, A))
    zero = scale == 0
    if zero.any():
        raise SingularProblemError({names[i]: 1.0 for i in np.flatnonzero(zero)}, 0.0, table)
    blocks = [A / scale, b[:, None]]
    if Cw is not None and Cw.shape[1]:
        blocks.append(Cw)
    T = np.linalg.qr(np.hstack(blocks), mode="r")
    if T.shape[0] < n:
        pad = np.zeros((n - T.shape[0], T.shape[1]))
        T = np.vstack([T, pad])
    Rd = T[:n, :n]
    z = T[:n, n]
    sv = None
    try:  # the singular values only (the vectors, 3-5 times the cost, only to name a singular combination)
        sv = np.linalg.svd(Rd, compute_uv=False)
    except np.linalg.LinAlgError:  # pragma: no cover - non-finite already rejected
        raise EstimationError("the square-root information matrix could not be decomposed", table) from None
    cond = sv[-1] / sv[0] if sv[0] > 0 else 0.0
    if cond < rank_tol:
        vt = np.linalg.svd(Rd)[2]
        raise SingularProblemError(_singular_combination(vt[-1], scale, names), cond, table)
    # numpy's LAPACK throughout: mixing in scipy's (a second OpenBLAS with its own thread pool)
    # right after numpy's threaded QR cost ~1 ms per small solve on a busy machine (measured)
    Rdi = np.linalg.solve(Rd, np.eye(n))  # Rd is triangular: LU without row exchanges = back-substitution
    dx = (Rdi @ z) / scale
    Rinv = Rdi / scale[:, None]
    P = Rinv @ Rinv.T
    R = Rd * scale[None, :]
    if Cw is not None and Cw.shape[1]:
        S = -(Rdi @ T[:n, n + 1:]) / scale[:, None]
    else:
        S = np.zeros((n, 0))
    return dx, P, R, S


def _edit_threshold(wr: np.ndarray, n_sigma: float) -> float:
    """n_sigma times the robust (median absolute deviation) scale of the whitened residuals, >= n_sigma."""
    return float(n_sigma * max(1.0, 1.482602218505602 * np.median(np.abs(wr))))


def batch_least_squares(problem, settings: Optional[BatchSettings] = None,
                        initial: Optional[np.ndarray] = None) -> BatchResult:
    """Weighted batch least squares (Gauss-Newton, square-root information) with a priori,
    consider parameters and n-sigma editing. See the module docstring.

    Parameters
    ----------
    problem : an :class:`EstimationProblem`.
    settings : :class:`BatchSettings` (defaults if None).
    initial : first iterate (defaults to the a priori mean ``problem.p0``).

    Raises
    ------
    InputError
        bad declarations (a parameter both estimated and considered, bad a priori, sigma <= 0).
    SingularProblemError
        rank-deficient problem; the message names the unobservable combination.
    EstimationError
        divergence or non-finite residuals/partials; carries the iteration table.
    """
    it = batch_iterations(problem, settings, initial)
    p = next(it)
    while True:
        try:
            p = it.send(problem.linearize(p))
        except StopIteration as stop:
            return stop.value


def batch_iterations(problem, settings: Optional[BatchSettings] = None, initial: Optional[np.ndarray] = None):
    """:func:`batch_least_squares` as a generator, for drivers that linearise several problems together
    (the Monte Carlo runs in lockstep, :func:`mmxsim.navigation.montecarlo.estimation_monte_carlo`):
    it yields each iterate ``p`` (a copy), takes ``problem.linearize(p)`` back by ``send``, and returns
    the :class:`BatchResult` (``StopIteration.value``); the same checks, steps and exceptions."""
    settings = settings or BatchSettings()
    if not isinstance(settings, BatchSettings):
        raise InputError("settings", type(settings).__name__, "a BatchSettings or None")
    chk = check_problem(problem)
    n, q = len(chk.names), len(chk.consider_names)
    p = chk.p0.copy() if initial is None else np.asarray(initial, dtype=float).reshape(-1).copy()
    if p.size != n or not np.all(np.isfinite(p)):
        raise InputError("initial", p, f"{n} finite values or None")

    table: list[IterationRecord] = []
    prefit = None
    m = None
    used_prev = None
    rms_hist: list[float] = []
    converged = False
    message = ""
    for it in range(1, settings.max_iterations + 1):
        lin = yield p.copy()
        _check_linearization(lin, n, q, m)
        if m is None:
            m = lin.size
            prefit = lin.residual.copy()
        finite = np.isfinite(lin.residual) & np.all(np.isfinite(lin.H), axis=1)
        if q:
            finite &= np.all(np.isfinite(lin.C), axis=1)
        if not finite.all():
            i = int(np.flatnonzero(~finite)[0])
            where = f" ({lin.labels[i]})" if lin.labels is not None else ""
            what = "the batch diverged" if it > 1 else "the model gave non-finite numbers at the first iterate"
            raise EstimationError(
                f"{what}: non-finite residual or partial at iteration {it}, row {i}{where}, "
                f"t = {lin.t[i]!r}", table)
        w = 1.0 / lin.sigma
        wr = lin.residual * w
        if it == 1 or settings.n_sigma is None:
            used = np.ones(m, dtype=bool)
            thr = float("inf")
        else:
            thr = _edit_threshold(wr, settings.n_sigma)
            used = np.abs(wr) <= thr
        if used.sum() == 0:
            raise EstimationError(f"iteration {it}: every row was edited at {settings.n_sigma} sigma", table)
        rms = float(np.sqrt(np.mean(wr[used] ** 2)))
        rms_hist.append(rms)
        if not np.isfinite(rms):
            raise EstimationError(f"the batch diverged: weighted RMS is {rms} at iteration {it}", table)
        # divergence: growth in consecutive iterations or far above the best so far
        k = settings.divergence_iterations
        g = 1.0 + settings.divergence_growth
        if len(rms_hist) > k and all(rms_hist[-j] > g * rms_hist[-j - 1] for j in range(1, k + 1)):
            table.append(IterationRecord(it, rms, int(used.sum()), int(m - used.sum()), float("nan"), thr))
            raise EstimationError(
                f"the batch diverged: the weighted RMS grew in {k} consecutive iterations "
                f"({rms_hist[-k - 1]:.4g} -> {rms:.4g})", table)
        if rms > settings.divergence_ratio * min(rms_hist):
            table.append(IterationRecord(it, rms, int(used.sum()), int(m - used.sum()), float("nan"), thr))
            raise EstimationError(
                f"the batch diverged: weighted RMS {rms:.4g} is more than {settings.divergence_ratio:g} "
                f"times the best one ({min(rms_hist):.4g})", table)

        A = np.vstack([chk.R0, lin.H[used] * w[used, None]])
        b = np.concatenate([chk.R0 @ (chk.p0 - p), wr[used]])
        Cw = None
        if q:
            Cw = np.vstack([np.zeros((chk.R0.shape[0], q)), lin.C[used] * w[used, None]])
        dx, P, R, S = _solve_sri(A, b, Cw, chk.names, settings.rank_tolerance, table)
        step = float(np.max(np.abs(dx) / np.sqrt(np.diag(P))))
        table.append(IterationRecord(it, rms, int(used.sum()), int(m - used.sum()), step, thr))
        p = p + dx
        same_edits = used_prev is not None and np.array_equal(used, used_prev)
        # the step criterion counts only if the next iteration would edit the same rows (predicted
        # from the linearised post-fit residuals); otherwise iterate on with the new edits
        if settings.n_sigma is None:
            settled = True
        else:
            wpost = wr - (lin.H * w[:, None]) @ dx
            settled = bool(np.array_equal(np.abs(wpost) <= _edit_threshold(wpost, settings.n_sigma), used))
        if step < settings.step_tolerance and settled:
            converged = True
            message = f"converged at iteration {it}: largest step {step:.3g} sigma < {settings.step_tolerance:g}"
        elif it > 1 and same_edits:
            rel = abs(rms - rms_hist[-2]) / max(rms_hist[-2], np.finfo(float).tiny)
            if rel < settings.rms_tolerance:
                converged = True
                message = (f"converged at iteration {it}: relative change of the weighted RMS {rel:.3g} "
                           f"< {settings.rms_tolerance:g}")
        used_prev = used
        if converged:
            break
    else:
        message = (f"not converged after {settings.max_iterations} iterations: last step "
                   f"{table[-1].step_sigma:.3g} sigma, weighted RMS {table[-1].weighted_rms:.4g}")
        warnings.warn(message, EstimationWarning, stacklevel=2)

    postfit = lin.residual - lin.H @ dx
    Pc = P + S @ chk.Pcc @ S.T if q else P.copy()
    return BatchResult(
        names=chk.names, consider_names=chk.consider_names, estimate=p, covariance=P,
        consider_covariance=Pc, sensitivity=S, sqrt_information=R, iterations=tuple(table),
        prefit_residuals=prefit, postfit_residuals=postfit, sigma_obs=lin.sigma.copy(), t=lin.t.copy(),
        labels=lin.labels, edited=~used, converged=converged, message=message,
    )
