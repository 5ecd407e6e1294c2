"""The ``origin`` analysis: capture vs giant impact, accuracy vs error, and the verdict on a simulated
MEGANE measurement after the planned hours in each QSO.

One file (docs/adding_an_analysis.md): its settings, its run function and ``ANALYSIS``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from ..results import Section, Table
from ..scenario import PhobosShape, Problems, SchemaModel, got
from ._common import png_bytes, words
from ._plugin import Analysis


class QsoTime(SchemaModel):
    """Time spent measuring in one QSO."""

    size_km: float = Field(gt=13, le=1000, description="QSO size, km, (13, 1000]")
    hours: float = Field(gt=0, le=1e5, description="hours of MEGANE data in that QSO")


class OriginAnalysis(SchemaModel):
    """Capture or giant impact? Classification accuracy vs measurement error beside Hirata et
    al. 2024, and the verdict on a simulated MEGANE measurement of a chosen true Phobos."""

    asteroid: Literal["CI", "CM", "CV"] = Field("CM", description="true Phobos' asteroid material: CI | CM | CV")
    mars_fraction: float = Field(0.0, ge=0, le=1, description="true Phobos' Mars mass fraction (0: captured)")
    plan: list[QsoTime] = Field(
        [QsoTime(size_km=100, hours=500), QsoTime(size_km=50, hours=500), QsoTime(size_km=30, hours=500),
         QsoTime(size_km=20, hours=1000)], min_length=1,
        description="MEGANE hours in each QSO (ASSUMED campaign plan): [{size_km, hours}, ...]")
    shape: PhobosShape = Field("thomas3k", description="Phobos shape model for MEGANE")
    include_k: bool = Field(False, description="use K as well as the six key elements")
    errors_pct: tuple[float, ...] = Field((1, 2, 5, 10, 15, 20, 25, 30, 40, 50, 70, 100), min_length=2,
                                          description="errors of the accuracy curve, %")
    trials: int = Field(1000, ge=100, le=200000, description="Monte Carlo truths per curve point")
    interior: bool = Field(True, description="add the interior families (gravity field, libration) and which "
                                             "of them today's and an MMX-like precision separate")
    seed: int = Field(0, ge=0, description="random seed")

    @field_validator("errors_pct")
    @classmethod
    def _errs(cls, v):
        bad = [((i,), x, got(x, "an error in (0, 1000] %")) for i, x in enumerate(v) if not 0 < x <= 1000]
        if bad:
            raise Problems(bad)
        return v


def true_composition(asteroid: str, mars_fraction: float, k_depletion: float = 0.1) -> dict[str, float]:
    """Phobos' bulk composition for a chosen truth: ``f`` bulk silicate Mars ([YM20]) mixed with
    ``1 - f`` of a chondrite class (mass fractions, origin.ELEMENTS); K depleted when f > 0."""
    from ..science.origin import ELEMENTS, end_members

    em = end_members()
    a, m = em[asteroid].composition, em["BSM-YM20"].composition
    out = {e: mars_fraction * m[e] + (1.0 - mars_fraction) * a[e] for e in ELEMENTS}
    if mars_fraction > 0:
        out["K"] *= k_depletion
    return out


def origin_section(cfg, scenario, ctx=None) -> Section:
    """Capture vs giant impact: accuracy vs error, and the verdict on a simulated MEGANE
    measurement after the planned hours in each QSO."""
    from ..bodies.shapes import phobos_shape
    from ..instruments.megane import relative_errors
    from ..science.origin import H24_PUBLISHED, KEY_ELEMENTS, accuracy_curve, classify, figures, uniqueness_curve

    els = KEY_ELEMENTS + (("K",) if cfg.include_k else ())
    truth = true_composition(cfg.asteroid, cfg.mars_fraction)
    shape = phobos_shape(cfg.shape)
    inv = {e: 0.0 for e in els}
    per_qso = {}
    hours = {}
    for item in cfg.plan:
        hours[item.size_km] = hours.get(item.size_km, 0.0) + item.hours
    for q, h in sorted(hours.items(), reverse=True):
        r = relative_errors(shape, q, h, truth, elements=els)
        per_qso[q] = r
        for e in els:
            inv[e] += r[e] ** -2
    sigma = {e: inv[e] ** -0.5 for e in els}
    rng = np.random.default_rng(cfg.seed)
    measured = {e: truth[e] * float(np.exp(sigma[e] * rng.standard_normal())) for e in els}
    verdict = classify(measured, sigma)
    errs = sorted(set(float(x) / 100.0 for x in cfg.errors_pct) | {0.25})
    curve = accuracy_curve(errs, n_trials=cfg.trials, seed=cfg.seed, elements=els)
    plan = accuracy_curve([sigma], n_trials=cfg.trials, seed=cfg.seed, elements=els)
    uniq = uniqueness_curve(errs, elements=els, criterion="box")
    figs = figures(curve, verdict, uniq)
    truth_name = (f"captured {cfg.asteroid}" if cfg.mars_fraction == 0 else
                  f"giant impact: {100 * cfg.mars_fraction:g} % Mars + {cfg.asteroid} impactor")
    i20, i30 = errs.index(0.2) if 0.2 in errs else None, errs.index(0.3) if 0.3 in errs else None
    acc_txt = ", ".join(f"{100 * curve.accuracy[i]:.0f} % at {100 * errs[i]:g} %" for i in (i20, i30)
                        if i is not None)
    paras = [
        f"Truth: {truth_name}. MEGANE time plan (ASSUMED): "
        + ", ".join(f"{h:g} h at {q:g} km" for q, h in sorted(hours.items(), reverse=True))
        + f" gives relative 1-sigma errors "
        + ", ".join(f"{e} {100 * sigma[e]:.3g} %" for e in els) + ".",
        f"Verdict on one simulated measurement (seed {cfg.seed}): **{words(verdict.winner)}** with posterior "
        f"{verdict.confidence:.3f} (" + ", ".join(f"{words(k)} {v:.3f}" for k, v in verdict.posteriors.items())
        + f"). Over {cfg.trials} truths per hypothesis with these errors the classifier is right "
        f"{100 * plan.accuracy[0]:.1f} % of the time.",
        f"With equal errors on {', '.join(els)}: {acc_txt} correct (max posterior). Hirata et al. 2024 "
        "[H24] report that the six key elements decide the origin in about 70 % of cases at 20-30 % "
        "errors (" + ", ".join(f"{100 * v:.0f} % at {100 * k:g} %" for k, v in sorted(H24_PUBLISHED.items()))
        + ", the last a lower bound, 'uniquely identified'); our reconstruction "
        "of their metric gives " + ", ".join(f"{100 * uniq.fraction[errs.index(e)]:.0f} % at {100 * e:g} %"
                                            for e in (0.1, 0.2, 0.3) if e in errs)
        + ". What differs (metric, end-members, the Mars-fraction range): docs/origin.md.",
    ]
    rows = [(f"{100 * e:g}", f"{100 * a:.1f}", f"{100 * u:.1f}",
             f"{100 * H24_PUBLISHED[e]:.0f}" if e in H24_PUBLISHED else "")
            for e, a, u in zip(errs, curve.accuracy, uniq.fraction)]
    i25 = errs.index(0.25)
    interior_tables, interior_data = ([], {}) if not cfg.interior else _interior(_computed_geodesy(scenario, ctx))
    conf = [(words(h), *(f"{x:.3f}" for x in curve.confusion[i25][k])) for k, h in enumerate(curve.hypotheses)]
    head = (f"Origin of Phobos: {words(verdict.winner)} decided with posterior {verdict.confidence:.3f} (truth: "
            f"{truth_name}); right {100 * plan.accuracy[0]:.0f} % of the time with {sum(hours.values()):g} h of MEGANE")
    return Section(
        key="origin", title="Origin of Phobos: capture or giant impact?", headline=head, paragraphs=paras,
        tables=[Table("Accuracy vs relative error (equal on every element)",
                      ("Relative error (%)", "Max-posterior accuracy (%)", "[H24]-style unique (%)",
                       "[H24] published (%)"), rows),
                Table("Confusion at 25 % error (rows: truth, columns: decided)",
                      ("Truth", *(words(h) for h in curve.hypotheses)), conf),
                Table("MEGANE relative errors per QSO (%)", ("QSO size (km)", "Hours", *els),
                      [(f"{q:g}", f"{hours[q]:g}", *(f"{100 * per_qso[q][e]:.3g}" for e in els))
                       for q in per_qso] + [("combined", f"{sum(hours.values()):g}",
                                             *(f"{100 * sigma[e]:.3g}" for e in els))]),
                *interior_tables],
        figures=[("Classification accuracy against the relative error of the abundances, beside the published "
                  "values of [H24].", png_bytes(figs["accuracy"])),
                 ("Posterior probability of each origin hypothesis for the simulated measurement.",
                  png_bytes(figs["posteriors"]))],
        data={"truth": truth, "measured": measured, "sigma": sigma, "winner": verdict.winner,
              "confidence": verdict.confidence, "posteriors": verdict.posteriors,
              "plan_accuracy": float(plan.accuracy[0]), "errors": errs, "accuracy": list(map(float, curve.accuracy)),
              "uniqueness": list(map(float, uniq.fraction)), "confusion_25pct": curve.confusion[i25].tolist(),
              **interior_data},
        assumptions=["origin hypotheses: f * bulk silicate Mars + (1 - f) * CI/CM/CV, f uniform on (0, 1) for the "
                     "impact (range ASSUMED); no scatter within meteorite classes (docs/origin.md)",
                     "MEGANE time plan per QSO is an ASSUMPTION (MMX's allocation is unpublished)"],
    )


# An MMX-like geodesy target for the interior table until the geodesy covariance analysis gives its own
# σ: 0.1 % on C20 and C22 (Yamamoto et al. 2024, nav-facts §2) and 0.01° on the libration (the
# precision Lainey et al. 2021 reached from astrometry, nav-facts §1); GM as today. ASSUMPTION.
MMX_LIKE_TARGET = "0.1 % on C20/C22, 0.01 deg on the libration (assumed target)"


def _computed_geodesy(scenario, ctx):
    """(4x4 covariance of GM, C̄20, C̄22, libration, a label) from the run's ``geodesy`` analysis when the
    scenario enables it (computed once and shared through ``ctx``:
    :func:`mmxsim.analyses.geodesy.geodesy_result`; its Monte Carlo, which this section does not show, is
    left to the geodesy section), else None."""
    cfg = getattr(getattr(scenario, "analyses", None), "geodesy", None)
    if cfg is None:
        return None
    from .geodesy import geodesy_result, interior_covariance

    res = geodesy_result(cfg, scenario, ctx, monte_carlo=False)
    out = interior_covariance(res)
    if out is None:
        return None
    P, comb = out
    return P, (f"the geodesy analysis of this run ({comb}, {', '.join(res.qsos)}, "
               f"{res.days[-1]:g} days, formal 1σ)")


def _interior(computed=None):
    """Interior families of the homogeneous Ernst shape and which of them today's precision, an
    MMX-like target and (``computed``: (covariance, label)) the run's geodesy covariance separate
    (:mod:`mmxsim.science.interior`)."""
    import numpy as np

    from ..science.interior import current_sigma, family_table, separation_table

    today = current_sigma()
    families = family_table()
    h = next(r for r in families if r["family"].startswith("homogeneous"))
    target = (today[0], 1e-3 * abs(h["c20bar"]), 1e-3 * abs(h["c22bar"]), np.radians(0.01))
    fam0 = {"families": families, "separation": separation_table(families, today)}
    fam1 = {"separation": separation_table(families, target)}
    cols = [fam0, fam1]
    if computed is not None:
        fam2 = {"separation": separation_table(families, cov=computed[0])}
        cols.append(fam2)
    for f in cols:
        f["separated"] = sum(p["separated"] for p in f["separation"])
    fam0["pairs"] = len(fam0["separation"])
    rows = [(words(r["family"]), f"{r['c20bar']:.6f}", f"{r['c22bar']:.6f}", f"{np.degrees(r['libration']):.4f}",
             f"{r['C_MR2']:.4f}") for r in fam0["families"]]
    sep = []
    for k, p in enumerate(fam0["separation"]):
        row = [f"{words(p['a'])} / {words(p['b'])}"]
        for f in cols:
            q = f["separation"][k]
            row += [f"{q['distance']:.3g}", "yes" if q["separated"] else "no"]
        sep.append(tuple(row))
    head = ["Pair of families", "Distance, today", "Separated today", "Distance, MMX-like", "Separated, MMX-like"]
    caption = (f"Which interior families the gravity field and libration separate (Mahalanobis > 3): today's "
               f"knowledge vs an MMX-like precision ({MMX_LIKE_TARGET})")
    if computed is not None:
        head += ["Distance, computed", "Separated, computed"]
        caption += f" vs the precision computed by {computed[1]}"
    tables = [Table("Interior families of Phobos (Ernst shape; layer parameters are assumptions, docs/interior.md)",
                    ("Family", "C̄20", "C̄22", "Libration amplitude (deg)", "C/MR² (R = 11 km)"), rows),
              Table(caption, tuple(head), sep)]
    data = {"interior": {"families": [{k: r[k] for k in ("family", "c20bar", "c22bar", "libration", "C_MR2")}
                                      for r in fam0["families"]],
                         "separated_today": fam0["separated"], "separated_mmx_like": fam1["separated"],
                         "pairs": fam0["pairs"], "mmx_like_target": MMX_LIKE_TARGET}}
    if computed is not None:
        data["interior"].update({"separated_computed": fam2["separated"], "computed_by": computed[1],
                                 "computed_sigma": np.sqrt(np.diag(computed[0])).tolist()})
    return tables, data


ANALYSIS = Analysis(
    name="origin",
    settings=OriginAnalysis,
    run=origin_section,
    description="origin inference: accuracy vs error, verdict",
    order=180,
    phases=("QSO campaign",),
    partners=(("NASA", "MEGANE gamma-ray and neutron spectrometer (JHU/APL, LLNL)"),),
    quick={"trials": 200, "shape": "thomas3k"},
)
