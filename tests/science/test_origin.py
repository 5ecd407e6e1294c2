"""Validation of mmxsim.science.origin (capture vs giant-impact inference).

Independent references: the facts-2 §C3 tables (end-member values, typed here again), direct
closed forms (Gaussian likelihood of a point family), scipy.integrate.quad (marginal likelihood
over the Mars fraction), Bayes' rule (prior odds), binomial statistics (Monte Carlo tolerances).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from mmxsim.errors import InputError
from mmxsim.science import origin as o

SIX = o.KEY_ELEMENTS


def _mix(f, ast="CI", mars="BSM-YM20", elements=SIX, k_dep=1.0):
    t = o.end_members()
    c = {e: f * t[mars].composition[e] + (1 - f) * t[ast].composition[e] for e in elements}
    if "K" in c:
        c["K"] *= k_dep
    return c


# --- end-members ----------------------------------------------------------------------------

def test_end_members_match_facts_tables():
    """Spot values against facts-2 §C3 (exact to the printed digits)."""
    t = o.end_members()
    assert t["CI"].composition["Fe"] == pytest.approx(0.1866, rel=1e-12)  # [PO14]
    assert t["CI"].composition["Th"] == pytest.approx(30e-9, rel=1e-12)  # [PO14]
    assert t["CM"].composition["Si"] == pytest.approx(0.12957, rel=1e-12)  # [MD21]
    assert t["CV"].composition["O"] == pytest.approx(0.37980, rel=1e-12)  # [MD21]
    assert t["BSM-YM20"].composition["Mg"] == pytest.approx(0.1869, rel=1e-12)  # [YM20] derived
    assert t["BSM-WD94"].composition["Th"] == pytest.approx(56e-9, rel=1e-12)  # [WD94]
    # DERIVED Th of CM: chondritic Th/Ca -> 30 ppb * 1.316/0.928
    assert t["CM"].composition["Th"] == pytest.approx(30e-9 * 1.316 / 0.928, rel=1e-12)
    # Bulk-silicate-Mars element wt % recomputed from the YM20 oxides with atomic masses
    # (independent of the facts table): SiO2 45.5 -> Si, MgO 31.0 -> Mg, FeO 14.7 -> Fe, CaO 2.88 -> Ca.
    m = {"Si": 28.0855, "Mg": 24.305, "Fe": 55.845, "Ca": 40.078, "O": 15.999}
    derived = {"Si": 45.5 * m["Si"] / (m["Si"] + 2 * m["O"]), "Mg": 31.0 * m["Mg"] / (m["Mg"] + m["O"]),
               "Fe": 14.7 * m["Fe"] / (m["Fe"] + m["O"]), "Ca": 2.88 * m["Ca"] / (m["Ca"] + m["O"])}
    for e, v in derived.items():
        assert t["BSM-YM20"].composition[e] == pytest.approx(v / 100, rel=2e-3), e
    for mem in t.values():
        assert set(mem.composition) == set(o.ELEMENTS) == set(mem.sources)
        assert 0.5 < sum(mem.composition.values()) < 1.0  # the modelled elements are most, not all, of the mass


# --- likelihood -----------------------------------------------------------------------------

def test_point_family_evidence_is_the_closed_form_gaussian():
    """Capture evidence = mean over CI/CM/CV of the product of Gaussians in ln m (closed form)."""
    meas = {"Fe": 0.20, "Si": 0.12, "O": 0.44, "Ca": 0.011, "Mg": 0.11, "Th": 4e-8}
    sig = {e: 0.2 for e in meas}
    le = o.log_evidence(meas, sig)
    t = o.end_members()
    terms = []
    for a in ("CI", "CM", "CV"):
        lp = 0.0
        for e in meas:
            d = math.log(meas[e]) - math.log(t[a].composition[e])
            lp += -0.5 * (d / sig[e]) ** 2 - math.log(sig[e] * math.sqrt(2 * math.pi))
        terms.append(math.exp(lp))
    assert le["capture"] == pytest.approx(math.log(sum(terms) / 3), abs=1e-10)


@pytest.mark.parametrize("eps", [0.01, 0.25])
def test_impact_evidence_matches_scipy_quad(eps):
    """Trapezoid marginal over f vs adaptive quadrature; tolerance 1e-4 in ln evidence."""
    meas = _mix(0.37, ast="CM")
    sig = {e: eps for e in meas}
    le = o.log_evidence(meas, sig)["giant_impact"]
    t = o.end_members()
    total = 0.0
    for a in ("CI", "CM", "CV"):
        for m in ("BSM-YM20", "BSM-WD94"):
            def integrand(f):
                lp = 0.0
                for e in meas:
                    c = f * t[m].composition[e] + (1 - f) * t[a].composition[e]
                    lp += -0.5 * ((math.log(meas[e]) - math.log(c)) / eps) ** 2 - math.log(eps * math.sqrt(2 * math.pi))
                return math.exp(lp)
            val, _ = integrate.quad(integrand, 0.0, 1.0, points=[0.37], limit=200, epsabs=0, epsrel=1e-10)
            total += val
    assert le == pytest.approx(math.log(total / 6), abs=1e-4)


def test_posteriors_sum_to_one_and_obey_bayes_rule_for_priors():
    meas = _mix(0.1)
    sig = {e: 0.3 for e in meas}
    v = o.classify(meas, sig)
    assert sum(v.posteriors.values()) == pytest.approx(1.0, abs=1e-12)
    assert v.confidence == max(v.posteriors.values())
    v2 = o.classify(meas, sig, priors={"capture": 3.0, "giant_impact": 1.0})
    assert sum(v2.posteriors.values()) == pytest.approx(1.0, abs=1e-12)
    odds1 = v.posteriors["capture"] / v.posteriors["giant_impact"]
    odds2 = v2.posteriors["capture"] / v2.posteriors["giant_impact"]
    assert odds2 / odds1 == pytest.approx(3.0, rel=1e-9)
    for h, d in v.member_posteriors.items():
        assert sum(d.values()) == pytest.approx(1.0, abs=1e-12), h


def test_classify_recovers_truth_and_mixing_fraction():
    """Noise-free CM at 5 % -> capture with CM the most probable class; a 50:50 CI/Mars mix at
    5 % -> giant impact with posterior-mean f within 3 sd of 0.5."""
    v = o.classify(o.end_members()["CM"].composition | {}, {e: 0.05 for e in o.ELEMENTS})
    assert v.winner == "capture" and v.confidence > 0.9
    assert max(v.member_posteriors["capture"], key=v.member_posteriors["capture"].get) == "CM"
    meas = _mix(0.5, k_dep=0.1, elements=o.ELEMENTS)
    w = o.classify(meas, {e: 0.05 for e in meas})
    assert w.winner == "giant_impact" and w.confidence > 0.99
    f, sd = w.f_mars_mean["giant_impact"], w.f_mars_sd["giant_impact"]
    assert 0 < sd < 0.1 and abs(f - 0.5) < 3 * sd
    assert math.isnan(w.f_mars_mean["capture"])


# --- Monte Carlo accuracy -------------------------------------------------------------------

def test_small_errors_recover_each_hypothesis():
    """At 1 % error each hypothesis is recovered with probability >= 0.95 (n = 1000 each;
    measured ~0.998 capture, ~0.98 impact: impact truths with f < ~0.01 are genuinely capture-like)."""
    c = o.accuracy_curve([0.01], n_trials=2000, seed=3)
    assert np.all(c.per_hypothesis[:, 0] >= 0.95), c.per_hypothesis


def test_huge_errors_give_chance():
    """At 1000 % (sigma_ln = 10) the verdict no longer depends on the truth: accuracy within
    3 binomial sigma of 1/K = 0.5; at 25 % it is far above chance (so the test can fail)."""
    n = 4000
    c = o.accuracy_curve([10.0, 0.25], n_trials=n, seed=5)
    tol = 3 * math.sqrt(0.25 / n)
    assert abs(c.accuracy[0] - 0.5) < tol, (c.accuracy[0], tol)
    assert c.accuracy[1] > 0.5 + 10 * tol


def test_accuracy_curve_shapes_confusion_and_monotonic():
    errs = [0.02, 0.1, 0.3, 1.0]
    c = o.accuracy_curve(errs, n_trials=1000, seed=2)
    assert c.confusion.shape == (4, 2, 2)
    np.testing.assert_allclose(c.confusion.sum(axis=2), 1.0, atol=1e-12)
    np.testing.assert_allclose(c.accuracy, np.mean(c.per_hypothesis, axis=0), atol=1e-12)
    # common random numbers: accuracy falls with error (allow 1 binomial sigma of wiggle)
    assert np.all(np.diff(c.accuracy) < c.stderr[1:]), c.accuracy


def test_seeds_reproduce():
    a = o.accuracy_curve([0.2, 0.5], n_trials=400, seed=11)
    b = o.accuracy_curve([0.2, 0.5], n_trials=400, seed=11)
    d = o.accuracy_curve([0.2, 0.5], n_trials=400, seed=12)
    np.testing.assert_array_equal(a.accuracy, b.accuracy)
    np.testing.assert_array_equal(a.confusion, b.confusion)
    assert not np.array_equal(a.confusion, d.confusion)


def test_per_element_errors_and_potassium_depletion():
    """K depleted to 10 % [CH25] is a strong discriminator: adding K at 25 % lifts accuracy;
    without depletion (k_depletion=1) K adds much less."""
    errs = [{e: 0.25 for e in o.ELEMENTS}]
    with_dep = o.accuracy_curve(errs, n_trials=1000, seed=4, elements=o.ELEMENTS)
    no_dep = o.accuracy_curve(errs, n_trials=1000, seed=4, elements=o.ELEMENTS,
                              hypotheses=o.default_hypotheses(k_depletion=1.0))
    six = o.accuracy_curve([0.25], n_trials=1000, seed=4)
    assert with_dep.accuracy[0] > 0.97
    assert with_dep.accuracy[0] > no_dep.accuracy[0] + 0.1
    assert abs(no_dep.accuracy[0] - six.accuracy[0]) < 0.1


def test_uniqueness_metric_limits():
    """H24-style metric: tiny errors -> almost all impact compositions unique (only f < ~0.02
    are not); capture is never unique when the impact family reaches f -> 0; huge errors -> 0."""
    u = o.uniqueness_curve([0.005, 3.0], f_step=0.02)
    assert u.per_hypothesis[1, 0] > 0.95
    assert u.per_hypothesis[0, 0] == 0.0
    assert u.fraction[1] == 0.0
    ub = o.uniqueness_curve([0.005], f_step=0.02, criterion="box",
                            hypotheses=o.default_hypotheses(f_range=(0.2, 1.0)))
    assert ub.fraction[0] == 1.0


# --- inputs ---------------------------------------------------------------------------------

@pytest.mark.parametrize("meas,sig,field", [
    ({"Xx": 0.1}, {"Xx": 0.1}, "measured"),
    ({"H": 0.01}, {"H": 0.1}, "measured"),
    ({"Fe": -0.1}, {"Fe": 0.1}, "measured['Fe']"),
    ({"Fe": 0.0}, {"Fe": 0.1}, "measured['Fe']"),
    ({"Fe": float("nan")}, {"Fe": 0.1}, "measured['Fe']"),
    ({"Fe": 0.2}, {"Fe": 0.0}, "rel_sigma['Fe']"),
    ({"Fe": 0.2}, {"Fe": -1.0}, "rel_sigma['Fe']"),
    ({"Fe": 0.2}, {"Si": 0.1}, "rel_sigma"),
    ({}, {}, "measured"),
])
def test_bad_inputs_raise_input_error(meas, sig, field):
    with pytest.raises(InputError) as ei:
        o.classify(meas, sig)
    assert ei.value.field == field


def test_bad_options_raise_input_error():
    with pytest.raises(InputError):
        o.accuracy_curve([0.1], elements=("Fe", "U"))
    with pytest.raises(InputError):
        o.accuracy_curve([0.0])
    with pytest.raises(InputError):
        o.accuracy_curve([0.1], n_trials=1)
    with pytest.raises(InputError):
        o.default_hypotheses(f_range=(0.5, 0.2))
    with pytest.raises(InputError):
        o.default_hypotheses(k_depletion=0.0)
    with pytest.raises(InputError):
        o.classify({"Fe": 0.2}, {"Fe": 0.1}, priors={"capture": 1.0})
    with pytest.raises(InputError):
        o.uniqueness_curve([0.1], criterion="nope")


# --- figures / summary ----------------------------------------------------------------------

def test_figures_and_summary():
    from matplotlib.figure import Figure

    meas = _mix(0.3)
    s = o.origin_summary(meas, {e: 0.25 for e in meas}, errors=(0.1, 0.3), n_trials=200, seed=0)
    assert set(s["figures"]) == {"accuracy", "posteriors"}
    assert all(isinstance(f, Figure) for f in s["figures"].values())
    assert len(s["accuracy"]) == 3 and s["errors"][1] == pytest.approx(0.25)
    np.testing.assert_allclose(np.sum(s["confusion_25pct"], axis=1), 1.0)
    assert s["verdict"].winner in s["hypotheses"]


# --- vectorised paths (issue 19): the same numbers as the straightforward loops -------------

def _loop_log_evidence(logm, sig, hyps, elements):
    """Reference: for each trial, hypothesis and member, the trapezoid sum of the Gaussian over
    the f nodes, one trial at a time with the element differences written out."""
    table = o.end_members()
    out = np.empty((len(logm), len(hyps)))
    for k, h in enumerate(hyps):
        f, wf = o._f_grid(h, float(np.min(sig)), None)
        mem = h.members(table)
        lcs = [o._member_logc(h, a, m, f, elements) for a, m in mem]
        for t, x in enumerate(logm):
            per = []
            for lc in lcs:
                chi2 = np.sum(((x[None, :] - lc) / sig[None, :]) ** 2, axis=1)
                per.append(np.log(np.sum(wf * np.exp(-0.5 * chi2))) - np.sum(np.log(sig * np.sqrt(2 * np.pi))))
            out[t, k] = np.log(np.mean(np.exp(per)))
    return out


@pytest.mark.parametrize("sig", [np.full(6, 0.05), np.full(6, 0.3), np.array([0.03, 0.05, 0.04, 0.12, 0.06, 0.2])])
def test_vectorised_evidence_equals_loop(sig):
    """The matrix-product chi^2 of the Monte Carlo gives the per-trial loop's log evidences (to
    1e-9) and the same classification on a small fixed case near and far from both families."""
    hyps = o.default_hypotheses()
    rng = np.random.default_rng(7)
    truth, labels = o._draw_truths(hyps, 20, SIX, rng)
    logm = truth + sig[None, :] * rng.standard_normal(truth.shape)
    fast, _ = o._log_evidence_matrix(logm, sig, hyps, SIX)
    ref = _loop_log_evidence(logm, sig, hyps, SIX)
    assert np.max(np.abs(fast - ref)) < 1e-9
    assert np.array_equal(np.argmax(fast, axis=1), np.argmax(ref, axis=1))
    # the general path (one error vector per trial) agrees too
    per_trial, _ = o._log_evidence_matrix(logm, np.broadcast_to(sig, logm.shape).copy(), hyps, SIX)
    assert np.max(np.abs(per_trial - ref)) < 1e-9


@pytest.mark.parametrize("criterion", ["box", "chi2"])
def test_uniqueness_distances_equal_per_error_tests(criterion):
    """Computing each model's distance to each family once gives, at every error, the consistency
    the direct per-error test gives (box: some node within +-eps in every element; chi2: least
    chi^2 below the 95 % quantile)."""
    from scipy.stats import chi2

    hyps = o.default_hypotheses()
    table = o.end_members()
    errs = [0.01, 0.05, 0.2, 0.5]
    u = o.uniqueness_curve(errs, f_step=0.05, criterion=criterion)
    X, lab, fams = [], [], []
    for k, h in enumerate(hyps):
        f = np.array([0.0]) if h.is_point else np.linspace(0, 1, 21)[1:]
        fine = o._f_grid(h, 0.01, None)[0]
        for a, m in h.members(table):
            X.append(o._member_logc(h, a, m, f, SIX))
            lab.append(np.full(f.size, k))
        fams.append(np.concatenate([o._member_logc(h, a, m, fine, SIX) for a, m in h.members(table)]))
    X, lab = np.concatenate(X), np.concatenate(lab)
    thr = chi2.ppf(0.95, 6)
    for i, e in enumerate(errs):
        cons = np.empty((len(X), len(hyps)), bool)
        for k, fam in enumerate(fams):
            for n, x in enumerate(X):
                if criterion == "box":
                    cons[n, k] = np.any(np.all(np.abs(np.expm1(fam - x)) <= e, axis=1))
                else:
                    cons[n, k] = np.min(np.sum(((x - fam) / e) ** 2, axis=1)) <= thr
        uniq = cons[np.arange(len(lab)), lab] & (cons.sum(axis=1) == 1)
        assert u.fraction[i] == pytest.approx(np.mean(uniq), abs=0.0)
        assert 0.0 < u.fraction[0]
