"""Origin inference: capture vs giant impact from MEGANE-like elemental abundances.

Simplified model (stated here, detailed with measured numbers in ``docs/origin.md``):

* **Hypotheses as families of compositions** (mass fractions, kg/kg), following the
  mixing model of Hirata et al. 2024 [H24]: Phobos' bulk = ``f * Mars + (1 - f) * asteroid``
  with ``f`` the Mars mass fraction and the asteroid a primitive (carbonaceous) chondrite.

  - ``capture``: ``f = 0``; the asteroid is one of CI, CM, CV (equal weights).
  - ``giant_impact``: ``f ~ Uniform(f_lo, f_hi)`` (default ``(0, 1)``, ASSUMPTION: the
    scenario's ``f`` values of [H24] are UNCONFIRMED in facts-2 §C2; [HY18]'s reported
    disk ratio 20:80 Mars:impactor, f = 0.2, lies inside), the impactor one of CI, CM, CV
    and the Mars material bulk silicate Mars (two estimates that differ only in K and Th:
    [YM20] and [YM20] majors with [WD94] K/Th), equal weights; K (a moderately volatile
    element, not one of the six key elements) is then multiplied by ``k_depletion``
    (default 0.1, "Na and K depleted to <= 10 % of the initial value" [CH25]).

  Compositions are the literature bulk values (facts-2 §C3) with no intra-class scatter.
  Tagish Lake, CM/CV Th, Mars crust and bulk-silicate-Mars H are UNCONFIRMED in the facts
  files: Tagish Lake and Mars crust are not included; CM and CV Th are DERIVED by assuming
  chondritic Th/Ca (ASSUMPTION, Th and Ca are both refractory lithophile); H is not modelled.

* **Measurement model**: each measured abundance ``m_e`` is log-normal about the true value,
  ``ln m_e = ln c_e + eps_e * z`` with ``z ~ N(0, 1)`` independent between elements, i.e. a
  relative 1-sigma error ``eps_e`` is a Gaussian error of ``eps_e`` in ln(abundance)
  (first-order equivalence of relative and logarithmic errors; exact for small ``eps``).

* **Marginal likelihood** of hypothesis H: sum over its members (weights) of the integral of
  the Gaussian likelihood over ``f`` against the uniform prior, evaluated with the trapezoid
  rule on a grid fine enough for the narrowest error (checked against ``scipy.integrate.quad``
  in the tests). Posteriors use stated priors (equal by default) and sum to 1.

* **Classification accuracy**: seeded Monte Carlo. Equal numbers of truths are drawn from
  each hypothesis (member uniform, ``f`` uniform in the family's range), perturbed with
  relative error ``eps`` and classified by maximum posterior. The same draws are reused for
  every ``eps`` (common random numbers), so the curve is smooth in ``eps``.

* ``uniqueness_curve`` reconstructs [H24]'s metric as its abstract describes it ("fraction of
  modelled compositions for which MEGANE determines the origin uniquely"): a noise-free modelled
  composition is uniquely identified when only its own hypothesis is consistent with it at the
  95 % chi-square level for error ``eps``. This is our reading of their method, not their code.

Units: abundances are mass fractions (kg/kg, e.g. 0.107 for 10.7 wt %, 3.0e-8 for 30 ppb).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from mmxsim.errors import InputError

__all__ = [
    "ELEMENTS",
    "KEY_ELEMENTS",
    "H24_PUBLISHED",
    "EndMember",
    "Hypothesis",
    "Verdict",
    "AccuracyCurve",
    "UniquenessCurve",
    "end_members",
    "default_hypotheses",
    "log_evidence",
    "classify",
    "accuracy_curve",
    "uniqueness_curve",
    "figures",
    "origin_summary",
]

#: Elements with a sourced value for every end-member (H is not: bulk-silicate-Mars H is UNCONFIRMED).
ELEMENTS: tuple[str, ...] = ("Fe", "Si", "O", "Ca", "Mg", "Th", "K")
#: MEGANE's six key lithophile elements [H24].
KEY_ELEMENTS: tuple[str, ...] = ("Fe", "Si", "O", "Ca", "Mg", "Th")

#: Published discrimination results of [H24] (abstract, facts-2 §C2): error EP -> fraction of
#: modelled compositions whose origin is uniquely determined. 30 % is a lower bound (">= 65 %").
H24_PUBLISHED: dict[float, float] = {0.10: 0.87, 0.20: 0.74, 0.30: 0.65}

_WT = 1e-2  # wt % -> mass fraction
_PPM = 1e-6
_PPB = 1e-9


@dataclass(frozen=True)
class EndMember:
    """A literature bulk composition (mass fractions) with a source key per element."""

    name: str
    kind: str  # "asteroid" or "mars"
    composition: Mapping[str, float]
    sources: Mapping[str, str]


def end_members() -> dict[str, EndMember]:
    """The end-member compositions used by the default hypotheses (mass fractions).

    Values and keys are from facts-2 §C3: [PO14] Palme & O'Neill 2014 (CI), [MD21] Melwani
    Daswani et al. 2021 compilation (CI/CM/CV, SECONDARY), [YM20] Yoshizaki & McDonough 2020
    (bulk silicate Mars; element wt % DERIVED from the oxides in facts-2), [WD94] Wänke &
    Dreibus 1994 (K, Th of bulk silicate Mars).
    """
    # CI: Palme & O'Neill 2014 (primary tabulation), all seven elements sourced.
    ci = EndMember(
        "CI", "asteroid",
        {"O": 45.9 * _WT, "Si": 10.7 * _WT, "Mg": 9.54 * _WT, "Fe": 18.66 * _WT, "Ca": 0.911 * _WT,
         "K": 546 * _PPM, "Th": 30 * _PPB},
        {e: "PO14" for e in ELEMENTS},
    )
    # Th/Ca of CI in the same compilation as CM/CV: Th [PO14] / Ca [MD21 CI = 0.928 wt %].
    th_per_ca = (30 * _PPB) / (0.928 * _WT)  # DERIVED, ASSUMPTION: chondritic Th/Ca
    cm = EndMember(
        "CM", "asteroid",
        {"O": 44.073 * _WT, "Si": 12.957 * _WT, "Mg": 11.733 * _WT, "Fe": 21.731 * _WT,
         "Ca": 1.316 * _WT, "K": 380 * _PPM, "Th": th_per_ca * 1.316 * _WT},
        {**{e: "MD21" for e in ELEMENTS}, "Th": "DERIVED: CI Th/Ca [PO14]/[MD21] x CM Ca [MD21] (ASSUMPTION)"},
    )
    cv = EndMember(
        "CV", "asteroid",
        {"O": 37.980 * _WT, "Si": 16.116 * _WT, "Mg": 14.679 * _WT, "Fe": 24.123 * _WT,
         "Ca": 1.889 * _WT, "K": 0.037 * _WT, "Th": th_per_ca * 1.889 * _WT},
        {**{e: "MD21" for e in ELEMENTS}, "Th": "DERIVED: CI Th/Ca [PO14]/[MD21] x CV Ca [MD21] (ASSUMPTION)"},
    )
    bsm_majors = {"Si": 21.27 * _WT, "Fe": 11.43 * _WT, "Mg": 18.69 * _WT, "Ca": 2.06 * _WT, "O": 43.0 * _WT}
    bsm_ym = EndMember(
        "BSM-YM20", "mars", {**bsm_majors, "K": 360 * _PPM, "Th": 68 * _PPB},
        {**{e: "YM20 (element wt % DERIVED from oxides, facts-2 §C3)" for e in bsm_majors}, "K": "YM20", "Th": "YM20"},
    )
    bsm_wd = EndMember(
        "BSM-WD94", "mars", {**bsm_majors, "K": 305 * _PPM, "Th": 56 * _PPB},
        {**{e: "YM20 (element wt % DERIVED from oxides, facts-2 §C3)" for e in bsm_majors}, "K": "WD94", "Th": "WD94"},
    )
    return {m.name: m for m in (ci, cm, cv, bsm_ym, bsm_wd)}


@dataclass(frozen=True)
class Hypothesis:
    """A family of compositions ``f * mars + (1 - f) * asteroid``, ``f ~ U(f_range)``.

    ``asteroids`` and ``mars`` are end-member names with equal weights; ``f_range = (0, 0)``
    means pure asteroid (no Mars material, the ``mars`` list is then ignored).
    ``k_depletion`` multiplies K of the mixture (volatile loss).
    """

    name: str
    asteroids: tuple[str, ...]
    mars: tuple[str, ...] = ()
    f_range: tuple[float, float] = (0.0, 0.0)
    k_depletion: float = 1.0

    @property
    def is_point(self) -> bool:
        return self.f_range[1] == self.f_range[0]

    def members(self, table: Mapping[str, EndMember]) -> list[tuple[EndMember, EndMember | None]]:
        if self.is_point and self.f_range[0] == 0.0:
            return [(table[a], None) for a in self.asteroids]
        return [(table[a], table[m]) for a in self.asteroids for m in self.mars]


def default_hypotheses(f_range: tuple[float, float] = (0.0, 1.0), k_depletion: float = 0.1,
                       asteroids: Sequence[str] = ("CI", "CM", "CV")) -> tuple[Hypothesis, ...]:
    """``(capture, giant_impact)`` as described in the module docstring.

    ``f_range`` (Mars mass fraction of the impact case): ASSUMPTION, default (0, 1) since [H24]'s
    values are UNCONFIRMED; ``k_depletion`` default 0.1 from [CH25] (K <= 10 % of initial).
    """
    lo, hi = (float(f_range[0]), float(f_range[1]))
    if not (0.0 <= lo <= hi <= 1.0) or hi == 0.0:
        raise InputError("f_range", f_range, "0 <= f_lo <= f_hi <= 1 with f_hi > 0")
    if not (np.isfinite(k_depletion) and 0.0 < k_depletion <= 1.0):
        raise InputError("k_depletion", k_depletion, "a number in (0, 1]")
    table = end_members()
    for a in asteroids:
        if a not in table or table[a].kind != "asteroid":
            raise InputError("asteroids", a, f"one of {[n for n, m in table.items() if m.kind == 'asteroid']}")
    ast = tuple(asteroids)
    return (
        Hypothesis("capture", ast),
        Hypothesis("giant_impact", ast, ("BSM-YM20", "BSM-WD94"), (lo, hi), k_depletion),
    )


# ---------------------------------------------------------------------------------------------
# Likelihood machinery
# ---------------------------------------------------------------------------------------------

def _check_elements(elements: Sequence[str], field_name: str = "elements") -> tuple[str, ...]:
    els = tuple(elements)
    if not els:
        raise InputError(field_name, els, f"a non-empty subset of {ELEMENTS}")
    for e in els:
        if e not in ELEMENTS:
            raise InputError(field_name, e, f"one of {ELEMENTS} (H and others have no sourced value "
                                            "for every end-member)")
    if len(set(els)) != len(els):
        raise InputError(field_name, els, "each element at most once")
    return els


def _f_grid(h: Hypothesis, sigma_min: float, n_f: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and trapezoid weights (summing to 1) of the uniform prior on ``f``."""
    lo, hi = h.f_range
    if h.is_point:
        return np.array([lo]), np.array([1.0])
    if n_f is None:
        # posterior width in f ~ sigma / |d ln c / d f| with |d ln c/df| <~ 3 (all members, six
        # elements); keep >= 4 nodes per width.
        n_f = int(np.clip(np.ceil(12.0 * (hi - lo) / sigma_min) + 1, 101, 6001))
    f = np.linspace(lo, hi, n_f)
    w = np.full(n_f, 1.0)
    w[0] = w[-1] = 0.5
    return f, w / w.sum()


def _member_logc(h: Hypothesis, ast: EndMember, mars: EndMember | None, f: np.ndarray,
                 elements: tuple[str, ...]) -> np.ndarray:
    """ln(composition) on the f nodes, shape (F, E)."""
    a = np.array([ast.composition[e] for e in elements])
    if mars is None:
        c = np.broadcast_to(a, (f.size, a.size)).copy()
    else:
        m = np.array([mars.composition[e] for e in elements])
        c = f[:, None] * m + (1.0 - f[:, None]) * a
    if h.k_depletion != 1.0 and "K" in elements:
        c[:, elements.index("K")] *= h.k_depletion
    return np.log(c)


def _logsumexp(x: np.ndarray, axis: int) -> np.ndarray:
    mx = np.max(x, axis=axis, keepdims=True)
    mx = np.where(np.isfinite(mx), mx, 0.0)
    return np.squeeze(mx, axis=axis) + np.log(np.sum(np.exp(x - mx), axis=axis))


def _log_evidence_matrix(logm: np.ndarray, sigma: np.ndarray, hyps: Sequence[Hypothesis],
                         elements: tuple[str, ...], n_f: int | None = None,
                         chunk: int = 512) -> tuple[np.ndarray, list[np.ndarray]]:
    """ln p(ln m | H) for each trial and hypothesis.

    logm: (T, E) measured ln abundances; sigma: (T, E) or (E,) log-space 1-sigma errors.
    Returns (T, K) log evidences and, per hypothesis, (T, M) log evidences per member.
    """
    logm = np.atleast_2d(logm)
    T, E = logm.shape
    shared = np.ndim(sigma) <= 1  # one error vector for every trial: chi^2 through a matrix product
    sig = np.broadcast_to(np.asarray(sigma, float), (T, E))
    norm = -np.sum(np.log(sig * np.sqrt(2.0 * np.pi)), axis=1)  # (T,)
    table = end_members()
    out = np.empty((T, len(hyps)))
    per_member: list[np.ndarray] = []
    smin = float(np.min(sig))
    for k, h in enumerate(hyps):
        mem = h.members(table)
        f, wf = _f_grid(h, smin, n_f)
        lw = np.log(wf)
        lm = np.empty((T, len(mem)))
        for j, (ast, mars) in enumerate(mem):
            lc = _member_logc(h, ast, mars, f, elements)  # (F, E)
            if shared:
                # sum_e ((x_e - c_e) / s_e)^2 = |u|^2 - 2 u.v + |v|^2 with u = (x - r)/s, v = (c - r)/s,
                # r the member's mean ln composition (so the three terms stay small: no cancellation
                # beyond ~1e-12 of chi^2); the (T, F) cross term is one product.
                # -chi^2/2 + ln w = u.v - |v|^2/2 + ln w - |u|^2/2, the last term outside the sum over f.
                ref = lc.mean(axis=0)
                v = (lc - ref) / sig[0]
                row = lw - 0.5 * np.einsum("fe,fe->f", v, v)
                for s in range(0, T, 8 * chunk):
                    u = (logm[s:s + 8 * chunk] - ref) / sig[0]
                    x = np.einsum("te,fe->tf", u, v)  # not BLAS: E is small and BLAS threads only wait
                    x += row[None, :]
                    mx = np.max(x, axis=1)
                    x -= mx[:, None]
                    np.exp(x, out=x)
                    lm[s:s + 8 * chunk, j] = mx + np.log(np.sum(x, axis=1)) - 0.5 * np.einsum("te,te->t", u, u)
                continue
            for s in range(0, T, chunk):
                d = (logm[s:s + chunk, None, :] - lc[None, :, :]) / sig[s:s + chunk, None, :]
                chi2 = np.einsum("tfe,tfe->tf", d, d)
                lm[s:s + chunk, j] = _logsumexp(-0.5 * chi2 + lw[None, :], axis=1)
        lm += norm[:, None]
        per_member.append(lm)
        out[:, k] = _logsumexp(lm, axis=1) - np.log(len(mem))
    return out, per_member


def _check_priors(priors: Mapping[str, float] | None, hyps: Sequence[Hypothesis]) -> np.ndarray:
    names = [h.name for h in hyps]
    if priors is None:
        return np.full(len(hyps), 1.0 / len(hyps))
    if set(priors) != set(names):
        raise InputError("priors", dict(priors), f"one probability for each of {names}")
    p = np.array([float(priors[n]) for n in names])
    if not np.all(np.isfinite(p)) or np.any(p < 0) or p.sum() <= 0:
        raise InputError("priors", dict(priors), "non-negative finite numbers, not all zero")
    return p / p.sum()


def _posteriors(logev: np.ndarray, prior: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        lp = logev + np.log(prior)[None, :]
    return np.exp(lp - _logsumexp(lp, axis=1)[:, None])


def log_evidence(measured: Mapping[str, float], rel_sigma: Mapping[str, float],
                 hypotheses: Sequence[Hypothesis] | None = None) -> dict[str, float]:
    """ln p(ln m | H) for each hypothesis (the marginal likelihood; density in ln-abundance)."""
    els, logm, sig = _check_measurement(measured, rel_sigma)
    hyps = tuple(hypotheses) if hypotheses is not None else default_hypotheses()
    le, _ = _log_evidence_matrix(logm[None, :], sig, hyps, els)
    return {h.name: float(le[0, k]) for k, h in enumerate(hyps)}


def _check_measurement(measured: Mapping[str, float], rel_sigma: Mapping[str, float]
                       ) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    if not isinstance(measured, Mapping) or not measured:
        raise InputError("measured", measured, f"a non-empty dict element -> mass fraction, elements from {ELEMENTS}")
    if not isinstance(rel_sigma, Mapping):
        raise InputError("rel_sigma", rel_sigma, "a dict element -> relative 1-sigma error (> 0)")
    els = _check_elements(list(measured), "measured")
    if set(rel_sigma) != set(els):
        raise InputError("rel_sigma", sorted(rel_sigma), f"exactly the measured elements {sorted(els)}")
    vals, sig = [], []
    for e in els:
        v = measured[e]
        try:
            v = float(v)
        except (TypeError, ValueError):
            raise InputError(f"measured[{e!r}]", v, "a positive finite mass fraction (kg/kg) <= 1") from None
        if not (np.isfinite(v) and 0.0 < v <= 1.0):
            raise InputError(f"measured[{e!r}]", v, "a positive finite mass fraction (kg/kg) <= 1")
        s = rel_sigma[e]
        try:
            s = float(s)
        except (TypeError, ValueError):
            raise InputError(f"rel_sigma[{e!r}]", s, "a positive finite relative error") from None
        if not (np.isfinite(s) and s > 0.0):
            raise InputError(f"rel_sigma[{e!r}]", s, "a positive finite relative error (e.g. 0.25 for 25 %)")
        vals.append(v)
        sig.append(s)
    return els, np.log(np.array(vals)), np.array(sig)


@dataclass(frozen=True)
class Verdict:
    """Result of :func:`classify`.

    posteriors: hypothesis -> posterior probability (sums to 1); winner: max-posterior
    hypothesis; confidence: its posterior; log_evidence: hypothesis -> ln p(data | H);
    member_posteriors: hypothesis -> {member label -> probability within that hypothesis}
    (which asteroid class / Mars estimate); f_mars_mean, f_mars_sd: posterior mean and standard
    deviation of the Mars fraction under each hypothesis with f > 0 (NaN for a point family).
    """

    posteriors: dict[str, float]
    winner: str
    confidence: float
    log_evidence: dict[str, float]
    elements: tuple[str, ...]
    member_posteriors: dict[str, dict[str, float]] = field(default_factory=dict)
    f_mars_mean: dict[str, float] = field(default_factory=dict)
    f_mars_sd: dict[str, float] = field(default_factory=dict)


def classify(measured: Mapping[str, float], rel_sigma: Mapping[str, float],
             hypotheses: Sequence[Hypothesis] | None = None,
             priors: Mapping[str, float] | None = None) -> Verdict:
    """Posterior probabilities of the origin hypotheses given measured abundances.

    measured: element -> mass fraction (kg/kg) for elements in :data:`ELEMENTS`;
    rel_sigma: the same elements -> relative 1-sigma error (Gaussian in ln abundance);
    hypotheses: default :func:`default_hypotheses`; priors: name -> prior (equal by default).
    """
    els, logm, sig = _check_measurement(measured, rel_sigma)
    hyps = tuple(hypotheses) if hypotheses is not None else default_hypotheses()
    prior = _check_priors(priors, hyps)
    le, per_member = _log_evidence_matrix(logm[None, :], sig, hyps, els)
    post = _posteriors(le, prior)[0]
    table = end_members()
    mpost: dict[str, dict[str, float]] = {}
    fmean: dict[str, float] = {}
    fsd: dict[str, float] = {}
    for k, h in enumerate(hyps):
        mem = h.members(table)
        lm = per_member[k][0]
        pm = np.exp(lm - _logsumexp(lm, axis=0))
        mpost[h.name] = {(a.name if m is None else f"{a.name}+{m.name}"): float(p) for (a, m), p in zip(mem, pm)}
        if h.is_point:
            fmean[h.name] = fsd[h.name] = float("nan")
            continue
        f, wf = _f_grid(h, float(sig.min()), None)
        lpf = np.full(f.size, -np.inf)
        for ast, mars in mem:
            lc = _member_logc(h, ast, mars, f, els)
            d = (logm[None, :] - lc) / sig[None, :]
            lpf = np.logaddexp(lpf, -0.5 * np.sum(d * d, axis=1))
        lpf = lpf + np.log(wf)
        pf = np.exp(lpf - _logsumexp(lpf, axis=0))
        mu = float(np.sum(pf * f))
        fmean[h.name] = mu
        fsd[h.name] = float(np.sqrt(max(np.sum(pf * (f - mu) ** 2), 0.0)))
    i = int(np.argmax(post))
    return Verdict(
        posteriors={h.name: float(post[k]) for k, h in enumerate(hyps)},
        winner=hyps[i].name,
        confidence=float(post[i]),
        log_evidence={h.name: float(le[0, k]) for k, h in enumerate(hyps)},
        elements=els,
        member_posteriors=mpost,
        f_mars_mean=fmean,
        f_mars_sd=fsd,
    )


# ---------------------------------------------------------------------------------------------
# Monte Carlo accuracy
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AccuracyCurve:
    """accuracy[i]: fraction of trials classified correctly at errors[i] (equal numbers of
    truths per hypothesis, so chance = 1/K); per_hypothesis[k, i]: recall of hypothesis k;
    confusion[i, k, j]: fraction of truths from k classified as j (rows sum to 1);
    stderr[i]: binomial standard error of accuracy[i]."""

    errors: np.ndarray
    accuracy: np.ndarray
    per_hypothesis: np.ndarray
    confusion: np.ndarray
    stderr: np.ndarray
    hypotheses: tuple[str, ...]
    elements: tuple[str, ...]
    n_trials: int
    seed: int


def _draw_truths(hyps: Sequence[Hypothesis], n_per: int, elements: tuple[str, ...],
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(T, E) true ln compositions and (T,) hypothesis labels, n_per per hypothesis."""
    table = end_members()
    logc, labels = [], []
    for k, h in enumerate(hyps):
        mem = h.members(table)
        j = rng.integers(0, len(mem), n_per)
        f = rng.uniform(h.f_range[0], h.f_range[1], n_per)
        for jj in range(len(mem)):
            sel = j == jj
            if not np.any(sel):
                continue
            ast, mars = mem[jj]
            lc = _member_logc(h, ast, mars, f[sel], elements)
            logc.append((k, np.flatnonzero(sel), lc))
        labels.append(np.full(n_per, k))
    T = n_per * len(hyps)
    res = np.empty((T, len(elements)))
    for k, idx, lc in logc:
        res[k * n_per + idx] = lc
    return res, np.concatenate(labels)


def _sigma_for(err, elements: tuple[str, ...], field_name: str) -> np.ndarray:
    if isinstance(err, Mapping):
        if set(err) != set(elements):
            raise InputError(field_name, sorted(err), f"one relative error for each of {sorted(elements)}")
        s = np.array([float(err[e]) for e in elements])
    else:
        s = np.full(len(elements), float(err))
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise InputError(field_name, err, "positive finite relative errors")
    return s


def accuracy_curve(errors: Sequence[float | Mapping[str, float]], n_trials: int = 2000, seed: int = 0,
                   elements: Sequence[str] = KEY_ELEMENTS, hypotheses: Sequence[Hypothesis] | None = None,
                   priors: Mapping[str, float] | None = None) -> AccuracyCurve:
    """Max-posterior classification accuracy vs relative measurement error (seeded Monte Carlo).

    errors: relative 1-sigma errors (same for all elements) or dicts element -> error;
    n_trials: total number of truths, split equally between hypotheses.
    """
    els = _check_elements(elements)
    hyps = tuple(hypotheses) if hypotheses is not None else default_hypotheses()
    prior = _check_priors(priors, hyps)
    if int(n_trials) != n_trials or n_trials < len(hyps):
        raise InputError("n_trials", n_trials, f"an integer >= number of hypotheses ({len(hyps)})")
    errs = list(errors)
    if not errs:
        raise InputError("errors", errors, "a non-empty list of relative errors")
    sigmas = [_sigma_for(e, els, "errors") for e in errs]
    K = len(hyps)
    n_per = int(n_trials) // K
    rng = np.random.default_rng(seed)
    logc, labels = _draw_truths(hyps, n_per, els, rng)
    z = rng.standard_normal(logc.shape)
    acc, per, conf, se = [], [], [], []
    for s in sigmas:
        logm = logc + z * s[None, :]
        le, _ = _log_evidence_matrix(logm, s, hyps, els)
        pred = np.argmax(_posteriors(le, prior), axis=1)
        cm = np.zeros((K, K))
        for k in range(K):
            cm[k] = np.bincount(pred[labels == k], minlength=K) / n_per
        a = float(np.mean(pred == labels))
        acc.append(a)
        per.append(np.diag(cm).copy())
        conf.append(cm)
        se.append(np.sqrt(a * (1 - a) / labels.size))
    xs = np.array([float(np.mean(s)) for s in sigmas])
    return AccuracyCurve(xs, np.array(acc), np.array(per).T, np.array(conf), np.array(se),
                         tuple(h.name for h in hyps), els, labels.size, int(seed))


@dataclass(frozen=True)
class UniquenessCurve:
    """fraction[i]: share of the modelled compositions whose origin is uniquely identified at
    errors[i] ([H24]-style metric, see module docstring); per_hypothesis[k, i]: same within
    hypothesis k; n_models[k]: number of modelled compositions of hypothesis k; criterion:
    "chi2" or "box" (see :func:`uniqueness_curve`)."""

    errors: np.ndarray
    fraction: np.ndarray
    per_hypothesis: np.ndarray
    n_models: tuple[int, ...]
    hypotheses: tuple[str, ...]
    elements: tuple[str, ...]
    level: float
    criterion: str = "chi2"


def uniqueness_curve(errors: Sequence[float], elements: Sequence[str] = KEY_ELEMENTS,
                     hypotheses: Sequence[Hypothesis] | None = None, f_step: float = 0.01,
                     level: float = 0.95, criterion: str = "chi2") -> UniquenessCurve:
    """[H24]-style "uniquely identified" fraction of noise-free modelled compositions.

    Modelled compositions: each member of each family on an ``f`` grid of step ``f_step`` (one
    point for a point family). A composition is consistent with a hypothesis when the minimum
    over that family of chi^2 = sum((ln c - ln c_H)/eps)^2 is below the ``level`` quantile of
    chi^2 with E degrees of freedom; uniquely identified when its own hypothesis is the only
    consistent one. ``criterion="box"`` instead calls a composition consistent when some family
    member lies within +-eps (relative, linear) of it in every element at once (``level`` unused).
    """
    from scipy.special import gammaincinv  # chi^2 quantile as scipy.stats.chi2.ppf computes it, without
    # importing scipy.stats (seconds of its own in a fresh process)

    els = _check_elements(elements)
    hyps = tuple(hypotheses) if hypotheses is not None else default_hypotheses()
    if not (0.0 < f_step <= 0.5):
        raise InputError("f_step", f_step, "a step in (0, 0.5]")
    if not (0.0 < level < 1.0):
        raise InputError("level", level, "a probability in (0, 1)")
    if criterion not in ("chi2", "box"):
        raise InputError("criterion", criterion, "'chi2' or 'box'")
    table = end_members()
    models, labels, fams = [], [], []
    for k, h in enumerate(hyps):
        if h.is_point:
            f = np.array([h.f_range[0]])
        else:
            n = int(round((h.f_range[1] - h.f_range[0]) / f_step))
            f = np.linspace(h.f_range[0], h.f_range[1], n + 1)
            if h.f_range[0] == 0.0:
                f = f[1:]  # f = 0 is pure asteroid, i.e. not an impact composition
        fine = _f_grid(h, 0.01, None)[0]
        fam = []
        for ast, mars in h.members(table):
            models.append(_member_logc(h, ast, mars, f, els))
            labels.append(np.full(f.size, k))
            fam.append(_member_logc(h, ast, mars, fine, els))
        fams.append(np.concatenate(fam, axis=0))
    X = np.concatenate(models, axis=0)
    lab = np.concatenate(labels)
    thr = 2.0 * gammaincinv(len(els) / 2.0, level)
    errs = [float(e) for e in errors]
    for e in errs:
        if not (np.isfinite(e) and e > 0):
            raise InputError("errors", e, "positive finite relative errors")
    dist = _family_distances(X, fams, criterion)
    frac, per = [], []
    for e in errs:
        # chi2: min_f sum(((x - c_f) / e)^2) <= thr, i.e. min_f sum((x - c_f)^2) <= thr e^2;
        # box: some member within +-e in every element, i.e. min_f max_e |c_f / x - 1| <= e.
        consistent = dist <= (thr * e * e if criterion == "chi2" else e)
        uniq = consistent[np.arange(lab.size), lab] & (consistent.sum(axis=1) == 1)
        frac.append(float(np.mean(uniq)))
        per.append([float(np.mean(uniq[lab == k])) for k in range(len(hyps))])
    return UniquenessCurve(np.array(errs), np.array(frac), np.array(per).T,
                           tuple(int(np.sum(lab == k)) for k in range(len(hyps))),
                           tuple(h.name for h in hyps), els, level, criterion)


def _family_distances(X: np.ndarray, fams: Sequence[np.ndarray], criterion: str, chunk: int = 128) -> np.ndarray:
    """(N, K) distance of each modelled ln composition ``X[n]`` to each family ``fams[k]`` (F_k, E),
    independent of the error so it is computed once for a whole curve: ``"chi2"``, the least
    sum of squared ln differences over the family's nodes; ``"box"``, the least over the nodes of
    the largest relative difference ``|exp(c_f - x) - 1|`` over the elements (a composition is
    within +-eps of a node in every element exactly when that largest difference is <= eps)."""
    out = np.empty((X.shape[0], len(fams)))
    for k, fam in enumerate(fams):
        for s in range(0, X.shape[0], chunk):
            xs = X[s:s + chunk, None, :]
            if criterion == "chi2":
                d = xs - fam[None, :, :]
                out[s:s + chunk, k] = np.min(np.einsum("tfe,tfe->tf", d, d), axis=1)
            else:
                # max_e |expm1(d_e)| = max(expm1(max_e d_e), -expm1(min_e d_e)) as expm1 increases:
                # two expm1 per node instead of one per element, the same numbers.
                x = X[s:s + chunk]
                dmax = fam[None, :, 0] - x[:, None, 0]
                dmin = dmax.copy()
                for e in range(1, fam.shape[1]):
                    d = fam[None, :, e] - x[:, None, e]
                    np.maximum(dmax, d, out=dmax)
                    np.minimum(dmin, d, out=dmin)
                r = np.maximum(np.expm1(dmax), -np.expm1(dmin))
                out[s:s + chunk, k] = np.min(r, axis=1)
    return out


# ---------------------------------------------------------------------------------------------
# Figures and the one-call summary
# ---------------------------------------------------------------------------------------------

def figures(curve: AccuracyCurve | None = None, verdict: Verdict | None = None,
            uniqueness: UniquenessCurve | None = None) -> dict[str, "object"]:
    """Matplotlib Figures (Agg, no pyplot): ``accuracy`` (accuracy vs error with [H24]'s
    published values and its ~70 % at 20-30 % band) and ``posteriors`` (bar chart)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import LogLocator

    if curve is None:
        curve = accuracy_curve(np.array([0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7, 1.0]),
                               n_trials=1000, seed=0)
    out: dict[str, object] = {}
    fig = Figure(figsize=(7.5, 4.6))
    ax = fig.add_subplot(1, 1, 1)
    x = 100 * curve.errors
    ax.errorbar(x, 100 * curve.accuracy, yerr=100 * curve.stderr, marker="o", ms=4, capsize=2,
                label=f"max-posterior accuracy, this model ({', '.join(curve.elements)})")
    for k, name in enumerate(curve.hypotheses):
        ax.plot(x, 100 * curve.per_hypothesis[k], ls="--", lw=1, label=f"recall: {name}")
    if uniqueness is not None:
        ax.plot(100 * uniqueness.errors, 100 * uniqueness.fraction, marker="s", ms=3, lw=1,
                label=f"uniquely identified (H24-style metric, {uniqueness.criterion}, this model)")
    ax.fill_between([20, 30], [0, 0], [100, 100], color="orange", alpha=0.15, lw=0,
                    label="MEGANE planned EP 20-30 % [H24]")
    px = [100 * k for k in H24_PUBLISHED]
    py = [100 * v for v in H24_PUBLISHED.values()]
    ax.plot(px, py, "k*", ms=11, label="Hirata et al. 2024 (10 %: 87, 20 %: 74, 30 %: >= 65)")
    ax.axhline(70, color="k", lw=0.8, ls=":")
    ax.axhline(100 / len(curve.hypotheses), color="grey", lw=0.8, ls="-.", label="chance")
    ax.set_xscale("log")
    ax.set_xlabel("relative 1-sigma error per element [%]")
    ax.set_ylabel("correct / unique [%]")
    ax.set_ylim(0, 102)
    ax.set_title(f"Origin discrimination vs measurement error (n = {curve.n_trials}, seed {curve.seed})")
    ax.legend(fontsize=7, loc="lower left")
    ax.xaxis.set_minor_locator(LogLocator(base=10.0, subs=(2.0, 5.0)))
    # fixed margins for these fixed labels: tight_layout's extra measuring pass was a third of the drawing
    fig.subplots_adjust(left=0.085, right=0.985, bottom=0.115, top=0.93)
    out["accuracy"] = fig
    if verdict is not None:
        fig2 = Figure(figsize=(5.0, 3.6))
        ax2 = fig2.add_subplot(1, 1, 1)
        names = list(verdict.posteriors)
        vals = [verdict.posteriors[n] for n in names]
        ax2.bar(names, vals, color=["tab:blue" if n != verdict.winner else "tab:red" for n in names])
        for i, v in enumerate(vals):
            ax2.text(i, v + 0.01, f"{v:.3f}", ha="center", fontsize=9)
        ax2.set_ylim(0, 1.1)
        ax2.set_ylabel("posterior probability")
        ax2.set_title(f"Origin verdict: {verdict.winner} ({verdict.confidence:.0%})")
        fig2.subplots_adjust(left=0.14, right=0.97, bottom=0.09, top=0.91)
        out["posteriors"] = fig2
    return out


def origin_summary(measured: Mapping[str, float] | None = None, rel_sigma: Mapping[str, float] | None = None,
                   errors: Sequence[float] = (0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7, 1.0),
                   n_trials: int = 1000, seed: int = 0, elements: Sequence[str] = KEY_ELEMENTS) -> dict:
    """One call for a report section: the accuracy curve, the [H24]-style uniqueness curve,
    the confusion matrix at 25 %, the [H24]-style "uniquely identified" fraction (box criterion),
    optionally the verdict for one measurement, and figures.

    Returns plain numbers (lists/dicts) plus ``figures`` (dict of matplotlib Figures).
    """
    errs = list(errors)
    if 0.25 not in errs:
        errs.append(0.25)
    errs = sorted(errs)
    curve = accuracy_curve(errs, n_trials=n_trials, seed=seed, elements=elements)
    uniq = uniqueness_curve(errs, elements=elements, criterion="box")
    i25 = errs.index(0.25)
    verdict = classify(measured, rel_sigma) if measured is not None else None
    return {
        "errors": list(curve.errors),
        "accuracy": list(curve.accuracy),
        "accuracy_stderr": list(curve.stderr),
        "per_hypothesis": {h: list(curve.per_hypothesis[k]) for k, h in enumerate(curve.hypotheses)},
        "confusion_25pct": curve.confusion[i25].tolist(),
        "hypotheses": list(curve.hypotheses),
        "uniqueness": list(uniq.fraction),
        "h24_published": dict(H24_PUBLISHED),
        "verdict": verdict,
        "figures": figures(curve, verdict, uniq),
    }
