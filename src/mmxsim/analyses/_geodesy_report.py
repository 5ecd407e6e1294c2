"""The ``geodesy`` analysis' report section: one function per table or figure (easy to extend with the
published comparison and the Monte Carlo of the estimator)."""

from __future__ import annotations

import numpy as np

from ..results import Section, Table
from ._common import param_label, png_bytes, words

#: the parameters of the published geodesy results (navigation.literature.PARAMETERS) in words
PARAMETER_NAMES = {"GM": "GM", "C20": "C̄20", "C22": "C̄22", "libration": "libration amplitude",
                   "field_d5": "field to degree 5", "field_d6": "field to degree 6", "field_d10": "field to degree 10",
                   "local": "local density anomalies", "interior": "interior structure", "geometry": "orbit geometry"}

HEAD = ("GM", "C20", "C22", "libration")
KEYS = ("phobos:gm", "phobos:C20", "phobos:C22", "phobos:libration")


def _degree_groups(names) -> dict:
    """degree -> indices of the C/S coefficients of that degree."""
    out = {}
    for i, n in enumerate(names):
        k = n.split(":", 1)[1] if ":" in n else n
        if k[:1] in "CS" and k[1:].isdigit() and len(k) >= 3:
            out.setdefault(int(k[1:-1]), []).append(i)
    return out


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def _sigma_cells(res, sigma: np.ndarray) -> list[str]:
    """σ (absolute) and σ/|truth| of GM, C20, C22, RMS per degree 3..5, libration."""
    cells = []
    for k in KEYS[:3]:
        if k in res.parameters:
            s = sigma[res.index(k)]
            cells.append(f"{_fmt(s)} ({100 * s / abs(res.truth[k]):.3g} %)")
        else:
            cells.append("-")
    groups = _degree_groups(res.parameters)
    for n in (3, 4, 5):
        idx = groups.get(n)
        if idx:
            rms = float(np.sqrt(np.mean(sigma[idx] ** 2)))
            tru = float(np.sqrt(np.mean(np.array([res.truth[res.parameters[i]] for i in idx]) ** 2)))
            cells.append(f"{_fmt(rms)} ({100 * rms / tru:.3g} %)" if tru > 0 else _fmt(rms))
        else:
            cells.append("-")
    k = "phobos:libration"
    if k in res.parameters:
        s = sigma[res.index(k)]
        cells.append(f"{np.degrees(s):.3g}° ({100 * s / abs(res.truth[k]):.3g} %)")
    else:
        cells.append("-")
    return cells


SIGMA_HEADER = ("Data combination", "After", "Days", "σ GM, km³/s² (relative)", "σ C̄20 (relative)",
                "σ C̄22 (relative)", "RMS σ, degree 3 (relative to RMS)", "RMS σ, degree 4", "RMS σ, degree 5",
                "σ libration (relative)")


def sigma_table(res) -> Table:
    """σ per QSO alone and cumulative (stepwise), per combination, with the a priori."""
    rows = []
    for c in res.combinations:
        rows.append((c, "a priori", "0", *_sigma_cells(res, res.apriori_sigma)))
        for q in res.qsos:
            per = res.sigma_per_qso[c][q]
            rows.append((c, f"{q} alone", f"{per['days'][-1]:.3g}", *_sigma_cells(res, per["final"])))
        for q in res.qsos:
            i = int(np.flatnonzero(res.qso_of_sample == q)[-1])
            rows.append((c, f"cumulative to {q}", f"{res.days[i]:.3g}", *_sigma_cells(res, res.sigma[c][i])))
    return Table("Formal 1σ of Phobos' GM, normalised gravity coefficients (R = 11 km) and forced libration "
                 "amplitude: each QSO alone (its arcs and the a priori) and cumulative in flight order (stepwise); "
                 "relative to the truth's value (RMS of the degree's coefficients for degrees 3-5)", SIGMA_HEADER, rows)


def threshold_table(res) -> Table:
    """Days of each QSO alone to reach the threshold (0.1 %) on GM, C20 and C22."""
    rows = []
    for c in res.combinations:
        for q in res.qsos:
            d = res.days_to_threshold[c][q]
            cells = []
            for k in ("phobos:C20", "phobos:C22", "phobos:gm"):
                v = d.get(k)
                if v is None:
                    cells.append("-")
                elif v["days"] is None or not np.isfinite(v["days"]):
                    cells.append("never (no information)")
                elif v["extrapolated"] and v["days"] > 365.25:
                    cells.append("> 1 year (extrapolated)")
                else:
                    cells.append(f"{v['days']:.3g}{' (extrapolated)' if v['extrapolated'] else ''}")
            rows.append((c, q, *cells))
        cells = []
        for k in ("phobos:C20", "phobos:C22", "phobos:gm"):
            d = cumulative_days_to_threshold(res, c, k)
            cells.append("-" if d is None else f"{d:.3g}" if np.isfinite(d) else "not within the campaign")
        rows.append((c, "campaign, cumulative (stepwise)", *cells))
    thr = 100 * res.setup.get("threshold", 1e-3)
    return Table(f"Days each QSO must be flown alone to reach {thr:g} % of |value| (formal 1σ): interpolated between "
                 "arc ends, extrapolated beyond the flown days with information growing linearly in time "
                 "(1/σ² = 1/σ0² + k t: σ ∝ 1/√t once the data dominate the a priori); and the day of the "
                 "campaign when the cumulative σ reaches it (a planar QSO alone hardly separates C̄20 from GM: "
                 "the altitudes flown in turn do)",
                 ("Data combination", "QSO", "C̄20 (days)", "C̄22 (days)", "GM (days)"), rows)


def cumulative_days_to_threshold(res, combination: str, name: str) -> float | None:
    """Days into the campaign (stepwise, QSOs in flight order) when the cumulative formal σ of ``name``
    first reaches the threshold: linear interpolation in log σ between arc ends; inf if never; None if
    ``name`` is not estimated."""
    if name not in res.parameters:
        return None
    j = res.index(name)
    thr = res.setup.get("threshold", 1e-3) * abs(res.truth[name])
    sig = np.concatenate([[res.apriori_sigma[j]], res.sigma[combination][:, j]])
    days = np.concatenate([[0.0], res.days])
    hit = np.flatnonzero(sig <= thr)
    if not len(hit):
        return float("inf")
    i = int(hit[0])
    if i == 0:
        return 0.0
    a, b = np.log(sig[i - 1]), np.log(sig[i])
    return float(days[i - 1] + (days[i] - days[i - 1]) * (a - np.log(thr)) / (a - b))


def interior_table(res) -> tuple[Table | None, dict]:
    """Moments of inertia σ and separated interior families from the cumulative covariance of
    (GM, C̄20, C̄22, libration) (:func:`mmxsim.science.interior.interior_assessment`)."""
    if not all(k in res.parameters for k in KEYS):
        return None, {}
    from ..science.interior import interior_assessment

    idx = [res.index(k) for k in KEYS]
    rows, data = [], {}
    for c in res.combinations:
        P = res.covariance[c][np.ix_(idx, idx)]
        P = 0.5 * (P + P.T)
        a = interior_assessment(cov=P)
        m = a["moments"]
        rows.append((c, f"{m.value['C_MR2']:.4f} ± {m.sigma['C_MR2']:.2g}",
                     f"{m.value['BmA_C']:.4f} ± {m.sigma['BmA_C']:.2g}", f"{a['separated']} / {a['pairs']}",
                     "; ".join(f"{words(x)} / {words(y)}" for x, y in a["indistinguishable"]) or "none"))
        data[c] = {"C_MR2": m.value["C_MR2"], "sigma_C_MR2": m.sigma["C_MR2"], "BmA_C": m.value["BmA_C"],
                   "sigma_BmA_C": m.sigma["BmA_C"], "separated": a["separated"], "pairs": a["pairs"],
                   "indistinguishable": [list(p) for p in a["indistinguishable"]]}
    return Table("Interior consequence of the cumulative formal covariance of (GM, C̄20, C̄22, libration): the "
                 "homogeneous family's moments (science.interior) and the interior families separated at "
                 "Mahalanobis > 3 (families: docs/interior.md, assumptions)",
                 ("Data combination", "C/MR² (R = 11 km)", "(B - A)/C", "Families separated", "Not separated"),
                 rows), data


def timings(res) -> dict:
    """The campaign's wall-clock steps in words -> seconds (:attr:`mmxsim.results.Section.timings`: the
    report's timings page and summary.json's ``timings_s``, never the section's text)."""
    t = res.timings
    out = {"First arc (compiles the variational system, or reads heyoka's on-disk cache)": t["first_arc_s"],
           f"Mean per arc ({t.get('arcs')} arcs)": t["mean_arc_s"], "Covariance, total": t["total_s"]}
    for k, name in (("handoff_s", "Hand-off to the full model"), ("tracking_s", "Tracking schedule"),
                    ("monte_carlo_s", "Monte Carlo of the estimator")):
        if k in t:
            out[name] = t[k]
    return {k: float(v) for k, v in out.items()}


def sigma_figure(res) -> bytes:
    """σ/|value| vs days: cumulative over the campaign (QSO boundaries dashed) and per QSO alone (C̄20)."""
    from matplotlib.figure import Figure

    nc = len(res.combinations)
    fig = Figure(figsize=(11, 3.6 * nc))
    for r, c in enumerate(res.combinations):
        ax = fig.add_subplot(nc, 2, 2 * r + 1)
        for k, lab in zip(KEYS, HEAD):
            if k in res.parameters:
                j = res.index(k)
                ax.semilogy(res.days, res.sigma[c][:, j] / abs(res.truth[k]), marker=".", label=lab)
        groups = _degree_groups(res.parameters)
        if 5 in groups:
            tru = np.sqrt(np.mean(np.array([res.truth[res.parameters[i]] for i in groups[5]]) ** 2))
            ax.semilogy(res.days, np.sqrt(np.mean(res.sigma[c][:, groups[5]] ** 2, axis=1)) / tru, marker=".",
                        label="degree 5 (RMS)")
        for q in res.qsos[:-1]:
            i = int(np.flatnonzero(res.qso_of_sample == q)[-1])
            ax.axvline(res.days[i], ls="--", color="0.6", lw=0.8)
        ax.axhline(1e-3, ls=":", color="k", lw=0.8)
        ax.set_xlabel("days since the campaign's start")
        ax.set_ylabel("formal σ / |value|")
        ax.set_title(f"{c}: cumulative (stepwise)")
        ax.legend(fontsize=7)
        ax2 = fig.add_subplot(nc, 2, 2 * r + 2)
        for iq, q in enumerate(res.qsos):
            per = res.sigma_per_qso[c][q]
            for k, ls in (("phobos:C20", "-"), ("phobos:C22", "--")):
                if k in res.parameters:
                    ax2.loglog(per["days"], per["sigma"][:, res.index(k)] / abs(res.truth[k]), ls, marker=".",
                               color=f"C{iq % 10}", label=f"{q} {k.split(':')[1]}")
        ax2.axhline(1e-3, ls=":", color="k", lw=0.8)
        ax2.set_xlabel("days in QSO")
        ax2.set_ylabel("formal σ / |value|")
        ax2.set_title(f"{c}: each QSO alone (C̄20 solid, C̄22 dashed)")
        ax2.legend(fontsize=6, ncol=2)
    # fixed margins in inches (title 0.4, tick labels and x label 0.55, y label 0.75) instead of
    # tight_layout, whose extra draw of every log axis' ticks and labels cost as much as the PNG itself
    h_in = 3.6 * nc
    top, bottom, gap = 0.4, 0.55, 0.95
    ax_h = (h_in - top - bottom - (nc - 1) * gap) / nc
    fig.subplots_adjust(left=0.75 / 11, right=1 - 0.15 / 11, bottom=bottom / h_in, top=1 - top / h_in,
                        wspace=0.9 / ((11 - 0.9 - 0.9) / 2), hspace=gap / ax_h)
    return png_bytes(fig)


def _named(text: str, names) -> str:
    """``text`` with each parameter name (``phobos:gm``) in words, longest names first."""
    for n in sorted(names, key=len, reverse=True):
        text = text.replace(n, param_label(n))
    return text


def _counts(d) -> str:
    """``{'doppler': 892, 'range': 90}`` as "892 Doppler, 90 range" (a non-dict as it is)."""
    if not isinstance(d, dict):
        return str(d)
    names = {"doppler": "Doppler", "ddor": "ΔDOR", "radio": "radio", "landmark": "landmark", "lidar": "LIDAR"}
    return ", ".join(f"{v} {names.get(k, words(k))}" for k, v in d.items())


def provenance(res) -> list[str]:
    s = res.setup
    a = s.get("analysis", {})
    model = a.get("truth_model", s.get("model", ""))
    model = "; ".join(model) if isinstance(model, list) else str(model)
    return [
        f"Truth and estimation model: {model}. "
        "The estimation model equals the truth (formal covariance, no model error).",
        f"Arcs of {s['arc_days']:g} days; estimated per arc: {', '.join(param_label(p) for p in s['local_parameters'])}"
        f"; over the campaign: {len(res.parameters)} parameters ({param_label(res.parameters[0])} ... "
        f"{param_label(res.parameters[-1])}).",
        f"Tracking: {a.get('tracks', '?')} tracks ({a.get('tracking_hours', 0):.1f} h in all) of "
        f"{', '.join(a.get('stations', []))}, "
        + ("the ground plan's bookings (comms planner)" if a.get("plan") == "booked" else
           "each day's longest pass (ASSUMED allocation)")
        + " found for Phobos' position and started one round-trip light time after the rise; two-way Doppler "
        f"and range inside, none in solar conjunction; rows by kind: {_counts(s.get('rows_by_kind'))}.",
        "Noise and cadence (medians of the schedule): " + "; ".join(
            f"{'Doppler' if k == 'doppler' else k} σ {v['sigma_median'] * (1e6 if k == 'doppler' else 1e3):.3g} "
            f"{'mm/s' if k == 'doppler' else 'm'} every {v['cadence_median_s']:g} s"
            for k, v in s.get("noise", {}).items() if k in ("doppler", "range") and v["cadence_median_s"]) + ".",
        "A priori (1σ): per arc position {:.3g} m, velocity {:.3g} mm/s, Cr A/m {:.3g} %, empirical {:.3g} nm/s², "
        "range bias {:.3g} m (the od analysis' defaults); globals GM {:.3g} km³/s² (Jacobson 2010: 0.006e-4), "
        "each C̄nm, S̄nm {:.3g} (ASSUMED), libration {:.3g}° (Burmeister et al. 2018: 0.03°).".format(
            s["local_apriori"]["position_km"] * 1e3, s["local_apriori"]["velocity_km_s"] * 1e6,
            s["local_apriori"]["srp_fraction"] * 100, s["local_apriori"]["empirical_km_s2"] * 1e12,
            s["local_apriori"]["range_bias_km"] * 1e3, s["global_apriori"].get("phobos:gm", float("nan")),
            s["global_apriori"].get("phobos:C20", float("nan")),
            np.degrees(s["global_apriori"].get("phobos:libration", float("nan")))),
        *_surface_provenance(s),
        "Simplifications: formal covariance with white noise of the stated sigmas (no troposphere residual, no "
        "model error); constant empirical accelerations and pointing biases per arc; the QSOs flown back to back "
        "from their own hand-off states (no transfers); nadir images and shots evenly spaced (no operations "
        "constraints); no Phobos ephemeris error (the gravity model has correction parameters for it; they are "
        "not estimated here).",
    ]


def _surface_provenance(s) -> list[str]:
    sf = s.get("surface")
    if not sf:
        return []
    return [f"Landmarks and LIDAR: {sf['camera']} nadir images, {sf['images_per_day']:g} a day, of {sf['landmarks']} "
            f"well-spread landmarks (facet centroids of the Ernst shape; rows only in the image, visible and lit: "
            f"{sf['rows']['landmark']} pixel coordinates in all), their positions "
            + (f"estimated over the campaign (a priori {1e3 * sf['landmark_sigma_km']:.3g} m per coordinate, "
               "ASSUMED)" if sf["landmarks_estimated"] else "held fixed")
            + f"; LIDAR {sf['lidar_hz']:g} shots/s along the nadir ({sf['rows']['lidar']} ranges in the 0.1-100 km "
            f"window, accuracy of Senshu et al. 2021); per arc a camera and a LIDAR pointing bias "
            f"({1e6 * sf['pointing_sigma_rad']:.3g} µrad a priori, ASSUMED)."]


def our_relative_sigmas(res, combination: str) -> dict:
    """Our cumulative relative 1σ in % at the campaign's end, keyed as navigation.literature.PARAMETERS."""
    fin = res.sigma[combination][-1]
    out = {}
    for key, name in (("GM", "phobos:gm"), ("C20", "phobos:C20"), ("C22", "phobos:C22"),
                      ("libration", "phobos:libration")):
        if name in res.parameters and res.truth[name]:
            out[key] = float(100 * fin[res.index(name)] / abs(res.truth[name]))
    groups = _degree_groups(res.parameters)
    for n in (5, 6):  # RMS relative sigma of degree n (the "field_d5", "field_d6" of the studies)
        if n in groups:
            idx = groups[n]
            tru = float(np.sqrt(np.mean(np.array([res.truth[res.parameters[i]] for i in idx]) ** 2)))
            out[f"field_d{n}"] = float(100 * np.sqrt(np.mean(fin[idx] ** 2)) / tru)
    return out


def comparison_table(cfg, res) -> Table:
    """Published results (navigation.literature) beside ours, for the richest combination."""
    from ..navigation.literature import COMPARISON_HEADER, Setup, case, comparison_rows

    comb = res.combinations[-1]
    s = res.setup
    sf = s.get("surface") or {}
    kinds = s["kinds"][comb]
    data = ("Doppler", "range") + (("landmarks",) if "landmarks" in kinds else ()) + (
        ("LIDAR",) if "lidar" in kinds else ())
    ours = Setup(method="covariance analysis", orbits=", ".join(res.qsos), three_d="3D-QSO" in res.qsos,
                 duration_days=float(res.days[-1]), data_types=data,
                 doppler_sigma_mm_s=float(cfg.tracking.doppler_sigma_mm_s),
                 doppler_integration_s=float(cfg.tracking.count_time_s),
                 landmarks=sf.get("landmarks") if "landmarks" in kinds else None,
                 pixel_sigma=float(cfg.surface.pixel_sigma) if "landmarks" in kinds else None,
                 lidar="lidar" in kinds, empirical_accel_nm_s2=float(cfg.apriori.empirical_nm_s2),
                 field_degree=int(cfg.degree), reference_radius_km=11.0, normalisation="4π, no Condon-Shortley")
    rows = comparison_rows(our_relative_sigmas(res, comb), ours)
    cells = [(case(r[0]).label, r[1], PARAMETER_NAMES.get(r[2], words(r[2])), r[3], r[4],
              "—" if r[5] is None else f"{r[5]:.3g}", r[6], r[7]) for r in rows]
    return Table(f"Published Phobos geodesy results beside ours ({comb}, cumulative at the campaign's end, "
                 "relative 1σ); setups matched only as far as the papers' abstracts state them",
                 ("Case", "Source", "Parameter", "Published", "Ours", "Ratio ours / published", "Verdict",
                  "Setup differences")[:len(COMPARISON_HEADER)], cells)


def monte_carlo_part(res) -> tuple[list[str], list[Table], list[tuple], dict]:
    """(paragraphs, tables, figures, data) of the Monte Carlo of one arc's full estimation, if run."""
    mc = res.monte_carlo
    if mc is None:
        return [], [], [], {}
    st = res.setup.get("monte_carlo", {})
    crit = mc.criteria()
    head, rows = mc.table()
    head = tuple(h[:1].upper() + h[1:] for h in head)
    rows = [(param_label(r[0]), *r[1:]) for r in rows if str(r[0]).startswith("phobos:")]
    s, ci = mc.pooled_spread()
    verdict = "met" if crit["passed"] else "NOT met"
    paras = [f"Monte Carlo of the full estimation (estimate against truth): {st.get('runs')} runs of the first "
             f"{st.get('hours', 0):g} h of {st.get('qso')} ({st.get('combination')}; rows {_counts(st.get('rows'))}; "
             f"{st.get('parameters')} estimated parameters, Phobos' field to degree {st.get('degree')}), the true "
             "parameters drawn from the a priori, data simulated with noise, the batch least squares from the a "
             f"priori mean. {_named(mc.summary(seconds=False), mc.names)}. Issue 17's criteria (unit spread within 15 %, C̄20, "
             "C̄22 and the "
             f"libration within 3σ in ≥ 99 % of the runs) are {verdict}: pooled spread {s:.3f} "
             f"(95 % CI {ci[0]:.3f} .. {ci[1]:.3f})" + ("" if st.get("runs", 0) >= 50 else
                                                       " (fewer than 50 runs: indicative only)") + "."]
    tables = [Table("Monte Carlo of the full estimation: normalised errors z = (estimate - truth) / formal σ of "
                    "Phobos' parameters", head, rows)]
    figures = [("Monte Carlo: normalised errors against the unit Gaussian, and estimates against the truth "
                "(1σ bars)", png_bytes(mc.figure()))]
    mcd = mc.to_dict()
    mcd.pop("seconds_per_run", None)  # wall clock: in Section.timings (the campaign's Monte Carlo step)
    return paras, tables, figures, {"monte_carlo": {**mcd, "criteria": crit, "setup": st}}


def geodesy_report(cfg, res) -> Section:
    paras = ["Formal covariance of Phobos' GM, normalised gravity field to degree "
             f"{cfg.degree} and forced libration amplitude from the radio tracking, landmark images and LIDAR "
             f"ranges of the QSO campaign ({', '.join(res.qsos)}, {cfg.days_per_qso:g} days each; combinations "
             f"{', '.join(res.combinations)}), arc by arc with the spacecraft's state, SRP, empirical "
             "accelerations, range and pointing biases of each arc eliminated (Schur complement), per QSO "
             "alone and cumulative in flight order (the stepwise strategy of Yamamoto et al. 2025). "
             "docs/geodesy.md has the models, equations and sources."]
    paras += provenance(res)
    tables = [sigma_table(res), threshold_table(res), comparison_table(cfg, res)]
    it, idata = interior_table(res)
    if it is not None:
        tables.append(it)
    mp, mt, mf, md = monte_carlo_part(res)
    paras += mp
    tables += mt
    figures = [("Formal σ of Phobos' GM, C̄20, C̄22 and libration relative to their values against days: "
                "cumulative over the campaign and each QSO alone (log scale).",
                sigma_figure(res)), *mf]
    data = res.to_dict()
    data.pop("covariance", None)
    data.pop("timings", None)  # wall clock: Section.timings
    data["final_sigma"] = {c: res.final_sigma(c) for c in res.combinations}
    data["covariance"] = {c: np.asarray(res.covariance[c]).tolist() for c in res.combinations}
    data["interior"] = idata
    data.update(md)
    data["days_per_qso"] = float(cfg.days_per_qso)
    data["ours_relative_pct"] = {c: our_relative_sigmas(res, c) for c in res.combinations}
    data["campaign_days_to_threshold"] = {c: {k: cumulative_days_to_threshold(res, c, k)
                                              for k in ("phobos:C20", "phobos:C22", "phobos:gm")}
                                          for c in res.combinations}
    comb = res.combinations[-1]
    rel = data["ours_relative_pct"].get(comb, {})
    head = (f"Phobos geodesy ({comb}, {float(res.days[-1]):g} days): "
            + ", ".join(f"{PARAMETER_NAMES[k]} to {rel[k]:.2g} %" for k in ("GM", "C20", "C22", "libration")
                        if k in rel) + " (formal 1σ, relative)")
    return Section(key="geodesy", title="Phobos geodesy: gravity field and libration from the QSO campaign",
                   headline=head, paragraphs=paras, tables=tables, figures=figures, data=data,
                   timings=timings(res),
                   assumptions=["field a priori 0.01 per coefficient (ASSUMED)",
                                "QSO sizes of the preset campaign (ASSUMED)",
                                "daily pass plan (the day's longest pass)", "formal covariance, no model error",
                                "landmark a priori and pointing biases (ASSUMED); OROCHI's IFOV (ASSUMED)"])
