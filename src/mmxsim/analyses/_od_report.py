"""The ``od`` analysis' report section: residuals per station and type, estimate minus truth with
3σ, σ over the arc in RTN and in Phobos' Hill frame, the convergence table, batch vs filter,
Monte Carlo consistency; the simulated tracking data as a CCSDS TDM file."""

from __future__ import annotations

import numpy as np

from ..results import CovarianceEphemeris, Section, Table, Trajectory
from ..time import iso_tdb
from ._common import param_label, png_bytes

UNITS = {"range": ("m", 1e3), "doppler": ("mm/s", 1e6), "ddor": ("ns", 1e9)}
KIND_NAMES = {"range": "range", "doppler": "Doppler", "ddor": "ΔDOR"}


def _param_unit(name: str) -> tuple[str, float]:
    if name in ("x", "y", "z"):
        return "m", 1e3
    if name in ("vx", "vy", "vz") or name.startswith("dv"):
        return "mm/s", 1e6
    if name.startswith("bias:"):
        return "m", 1e3
    if name.startswith("emp:"):
        return "nm/s^2", 1e12
    if name == "phobos:gm":
        return "km^3/s^2", 1.0
    if name == "phobos:libration":
        return "deg", 180.0 / np.pi
    if name.startswith("phobos:C") or name.startswith("phobos:S"):
        return "(normalised)", 1.0
    return "m^2/kg", 1.0


def _data_table(data, batch) -> tuple[Table, list]:
    rows, js = [], []
    post = batch.postfit_residuals
    used = ~np.asarray(batch.edited, bool) if batch.edited is not None and len(batch.edited) == len(post) else \
        np.ones(len(post), bool)
    for st in sorted(set(data.receiver)):
        for kind in ("doppler", "range", "ddor"):
            m = (data.receiver == st) & (data.kind == kind)
            if not m.any():
                continue
            u, f = UNITS[kind]
            r = post[m & used]
            rms = float(np.sqrt(np.mean(r ** 2))) * f if r.size else float("nan")
            wr = float(np.sqrt(np.mean((r / data.sigma[m & used]) ** 2))) if r.size else float("nan")
            sig = float(np.median(data.sigma[m])) * f
            rows.append((st, KIND_NAMES.get(kind, kind), str(int(m.sum())), str(int((m & ~used).sum())), f"{sig:.4g} {u}",
                         f"{rms:.4g} {u}", f"{wr:.3f}"))
            js.append({"station": st, "type": kind, "count": int(m.sum()), "edited": int((m & ~used).sum()),
                       "sigma": sig, "postfit_rms": rms, "unit": u, "normalised_rms": wr})
    return Table("Tracking data and post-fit residuals per station and type",
                 ("Station", "Data type", "Points", "Edited", "Noise 1σ", "Post-fit RMS", "RMS / σ"), rows), js


def _estimate_table(out) -> tuple[Table, list]:
    b, su = out.batch, out.setup
    sig = b.sigma
    csig = np.sqrt(np.diag(b.consider_covariance)) if b.consider_covariance is not None else sig
    rows, js = [], []
    for i, name in enumerate(b.names):
        u, f = _param_unit(name)
        err = (b.estimate[i] - su.p_true[i])
        rows.append((param_label(name), f"{su.p_true[i] * f:.10g}", f"{b.estimate[i] * f:.10g}", f"{err * f:.4g}",
                     f"{3 * sig[i] * f:.4g}", f"{3 * csig[i] * f:.4g}", f"{abs(err) / sig[i]:.2f}", u))
        js.append({"name": name, "truth": float(su.p_true[i]), "estimate": float(b.estimate[i]), "error": float(err),
                   "sigma": float(sig[i]), "consider_sigma": float(csig[i]), "unit_si_km": True})
    return Table("Estimate minus truth at the arc's epoch, with the formal and the consider 3σ",
                 ("Parameter", "Truth", "Estimate", "Error", "3σ formal", "3σ consider", "|error| / σ", "Unit"), rows), js


def _sigma_table(out) -> Table:
    rows = []
    for label, s in (("RTN (about Mars)", out.sigma_rtn), ("Phobos Hill", out.sigma_hill)):
        for tag, k in (("start", 0), ("end", -1), ("max", None)):
            v = s[k] if k is not None else s.max(axis=0)
            rows.append((label, tag, *(f"{x:.4g}" for x in v)))
    return Table("Position (m) and velocity (mm/s) 1σ over the arc",
                 ("Frame", "Epoch", "Position σ, axis 1 (m)", "Position σ, axis 2 (m)", "Position σ, axis 3 (m)",
                  "Velocity σ, axis 1 (mm/s)", "Velocity σ, axis 2 (mm/s)", "Velocity σ, axis 3 (mm/s)"), rows)


def residual_figure(data, batch):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5))
    FigureCanvasAgg(fig)  # its tight_layout() and png_bytes share one renderer
    kinds = [k for k in ("doppler", "range", "ddor") if (data.kind == k).any()]
    t0 = float(data.t.min())
    for i, kind in enumerate(kinds):
        ax = fig.add_subplot(len(kinds), 1, i + 1)
        u, f = UNITS[kind]
        for st in sorted(set(data.receiver[data.kind == kind])):
            m = (data.kind == kind) & (data.receiver == st)
            ax.plot((data.t[m] - t0) / 3600.0, batch.postfit_residuals[m] * f, ".", ms=2, label=st)
        ax.set_ylabel(f"{kind} [{u}]")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, ncol=3, loc="upper right")
    fig.axes[-1].set_xlabel("hours from the first observation")
    fig.suptitle("Post-fit residuals per station and type")
    fig.tight_layout()
    return png_bytes(fig)


def _sigma_figure(out):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5))
    FigureCanvasAgg(fig)  # its tight_layout() and png_bytes share one renderer
    h = (out.sigma_t - out.sigma_t[0]) / 3600.0
    for i, (label, s, names) in enumerate((("RTN", out.sigma_rtn, "RTN"), ("Phobos Hill", out.sigma_hill, "xyz"))):
        ax = fig.add_subplot(2, 2, 2 * i + 1)
        for k in range(3):
            ax.semilogy(h, s[:, k], label=f"{names[k]}")
        ax.set_ylabel(f"{label} position σ [m]")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        ax = fig.add_subplot(2, 2, 2 * i + 2)
        for k in range(3):
            ax.semilogy(h, s[:, 3 + k], label=f"{names[k]}")
        ax.set_ylabel(f"{label} velocity σ [mm/s]")
        ax.grid(alpha=0.3)
    for ax in fig.axes[-2:]:
        ax.set_xlabel("hours from the arc's epoch")
    fig.suptitle("Formal 1σ mapped over the arc")
    fig.tight_layout()
    return png_bytes(fig)


#: the estimator's wall-clock steps (``OperationsResult.timings``), in words
_TIMING_LABELS = {"setup_s": "Tracking simulation and set-up", "batch_s": "Batch least squares",
                  "filter_s": "Square-root information filter", "total_s": "Total"}


def od_report(out) -> Section:
    """Lay out an :class:`~mmxsim.analyses._navigation.OdOutcome` as the ``od`` section."""
    from ..navigation.tdm import write_tdm

    cfg, su, b, data = out.cfg, out.setup, out.batch, out.data
    kinds = {k: int((data.kind == k).sum()) for k in ("doppler", "range", "ddor")}
    t_table, t_js = _data_table(data, b)
    e_table, e_js = _estimate_table(out)
    it_rows = [(str(r.iteration), f"{r.weighted_rms:.6g}", str(r.rows_used), str(r.rows_edited),
                f"{r.step_sigma:.3g}") for r in b.iterations]
    tables = [t_table, Table("Batch least-squares convergence", ("Iteration", "Weighted RMS", "Rows used",
                                                                  "Rows edited", "Step (σ)"), it_rows),
              e_table, _sigma_table(out)]
    media = []
    if cfg.media.troposphere:
        media.append(f"troposphere (calibration residual {cfg.media.tropo_residual_zenith_m * 100:g} cm at zenith "
                     "as noise)")
    if cfg.media.shapiro:
        media.append("Shapiro delay of the Sun")
    paras = [
        f"Arc {iso_tdb(su.t0)} to {iso_tdb(su.t1)} TDB ({(su.t1 - su.t0) / 86400:.3g} days); "
        f"{len(su.tracks)} tracks from {', '.join(sorted(su.stations))} ({cfg.tracks}); {kinds['doppler']} two-way "
        f"Doppler ({cfg.tracking.count_time_s:g} s count), {kinds['range']} range and {kinds['ddor']} ΔDOR points; "
        f"{len(su.blackouts)} solar-conjunction blackout(s) in the arc; every observation above the horizon of its "
        "stations (checked)." + "".join(f" Note: {n}." for n in su.notes),
        f"Mode: {cfg.mode} ({'noisy data, a priori drawn around the truth' if cfg.mode == 'estimate' else 'formal covariance only, no noise'}). "
        f"Estimated: state, {', '.join(param_label(n) for n in b.names[6:]) or 'nothing else'}; considered: "
        f"{', '.join(param_label(n) for n in b.consider_names) or 'none'}. Media: {', '.join(media) or 'none'}.",
        f"Batch least squares: {'converged' if b.converged else 'NOT converged'} in {len(b.iterations)} iteration(s), "
        f"post-fit weighted RMS {b.postfit_weighted_rms:.4g}; {int(np.sum(b.edited))} row(s) edited at "
        f"{cfg.n_sigma:g}σ. {b.message}",
        "Force model (truth and estimation): " + "; ".join(su.model.describe()) + ".",
    ]
    data_js = {"t0": su.t0, "t1": su.t1, "counts": kinds, "tracks": len(su.tracks), "stations": sorted(su.stations),
               "converged": bool(b.converged), "message": b.message, "iterations": len(b.iterations),
               "postfit_weighted_rms": float(b.postfit_weighted_rms), "edited_rows": int(np.sum(b.edited)),
               "n_sigma": cfg.n_sigma, "residuals": t_js, "parameters": e_js,
               "sigma_end_rtn": out.sigma_rtn[-1].tolist(), "sigma_end_hill": out.sigma_hill[-1].tolist(),
               "mode": cfg.mode, "notes": list(su.notes)}
    if out.filt is not None:
        tables.append(Table("Batch and square-root information filter at the arc's end",
                            ("Quantity", "Value"), _filter_rows(out)))
        data_js["filter"] = {k: v for k, v in _filter_dict(out).items()}
    if out.monte_carlo is not None:
        tables.extend(_monte_carlo_tables(out.monte_carlo))
        data_js["monte_carlo"] = _monte_carlo_dict(out.monte_carlo)
    figures = [("Post-fit residuals of each station's Doppler, range and ΔDOR against hours from the first "
                "observation.", residual_figure(data, b)),
               ("Formal position and velocity 1σ against time over the arc, in RTN axes about Mars and in the Phobos "
                "Hill frame.", _sigma_figure(out))]
    pos, vel = out.sigma_rtn[-1][:3], out.sigma_rtn[-1][3:]
    head = (f"Orbit determination: {(su.t1 - su.t0) / 86400:.3g}-day arc, {len(data.kind)} tracking points from "
            f"{len(su.stations)} stations, {'converged' if b.converged else 'NOT converged'}; position known to "
            f"{float(np.max(pos)):.3g} m, velocity {float(np.max(vel)):.3g} mm/s (1σ, end of arc)")
    tdm = write_tdm(data, originator="MMXSIM", comment="simulated by the mmxsim od analysis")
    est = CovarianceEphemeris(Trajectory(out.sigma_t, out.est_states, "MARS", "ICRF", "MMX", "MMX"), out.sigma_t,
                              out.cov_state, "ICRF",
                              [f"Batch least-squares estimate ({'converged' if b.converged else 'NOT converged'}) "
                               f"and its formal covariance mapped over the arc; mode {cfg.mode}"])
    return Section(key="od", title="Orbit determination from DSN and ESTRACK tracking", headline=head,
                   paragraphs=paras,
                   tables=tables, figures=figures, data=data_js, files={"od_tracking.tdm": tdm.encode("ascii")},
                   timings={_TIMING_LABELS.get(k, k): float(v) for k, v in out.timings.items()},
                   ephemerides={"od_estimate.oem": est},
                   assumptions=["Tracking noise, a priori sigmas and the track lengths are assumptions (tracking "
                                "noise from published station figures where they exist, e.g. ESA's 35 m stations: "
                                "about 1 m range, below 0.1 mm/s two-way Doppler); the estimation model equals the "
                                "truth's (no model error)."])


def _filter_dict(out) -> dict:
    """The filter against the batch at the arc's end: both about the batch estimate, so that without
    process noise they agree (same rows, same a priori, linear in the deviation)."""
    f, b, prob = out.filt, out.batch, out.problem
    phi = prob.stm(np.array([prob.t1]), b.estimate)[0]
    Pb = phi @ b.covariance @ phi.T
    Pf = f.final_covariance
    norm = np.sqrt(np.outer(np.diag(Pb), np.diag(Pb)))
    sf = np.sqrt(np.diag(Pf))
    d = {"process_noise_km2_s3": float(prob.acceleration_psd),
         "final_deviation_over_sigma_max": float(np.max(np.abs(f.final_deviation) / sf)),
         "final_covariance_rel_diff_max": float(np.max(np.abs(Pf - Pb) / norm)),
         "final_position_sigma_m_filter": float(np.sqrt(np.trace(Pf[:3, :3]) / 3) * 1e3),
         "final_position_sigma_m_batch": float(np.sqrt(np.trace(Pb[:3, :3]) / 3) * 1e3)}
    if f.smoothed_p0 is not None:
        d["smoothed_minus_batch_at_epoch_over_sigma_max"] = float(np.max(np.abs(f.smoothed_p0 - b.estimate) / b.sigma))
    return d


def _filter_rows(out) -> list:
    names = {"process_noise_km2_s3": "process noise PSD, km^2/s^3",
             "final_deviation_over_sigma_max": "filter minus batch at the end, max |Δ|/σ",
             "final_covariance_rel_diff_max": "covariances at the end, max relative difference",
             "final_position_sigma_m_filter": "position σ at the end (RMS axis), filter, m",
             "final_position_sigma_m_batch": "position σ at the end (RMS axis), batch mapped, m",
             "smoothed_minus_batch_at_epoch_over_sigma_max": "smoothed minus batch at the epoch, max |Δ|/σ"}
    return [(names.get(k, k), f"{v:.4g}") for k, v in _filter_dict(out).items()]


# the per-run arrays of MonteCarloResult.to_dict() (runs x parameters) stay out of the section's data
_MC_PER_RUN = ("truth", "estimate", "sigma")


def _monte_carlo_dict(mc) -> dict:
    """The Monte Carlo's statistics (:meth:`MonteCarloResult.to_dict`) without the per-run arrays."""
    return {k: v for k, v in mc.to_dict().items() if k not in _MC_PER_RUN}


def _monte_carlo_tables(mc) -> list:
    """The Monte Carlo's summary (runs, NEES with its 95 % band, pooled spread, criteria) and its
    per-parameter table (:meth:`MonteCarloResult.table`)."""
    rows = [("runs (completed)", f"{mc.n_runs} ({mc.completed})")]
    if mc.completed:
        v = mc.nees[mc.ok]
        lo, hi = mc.nees_band
        rows += [(f"mean NEES (dimension {len(mc.names)})", f"{np.mean(v):.3f}"),
                 ("95 % χ² band", f"{lo:.3f} .. {hi:.3f}"),
                 ("inside the band", "yes" if lo <= np.mean(v) <= hi else "NO"),
                 ("mean post-fit weighted RMS", f"{np.mean(mc.postfit_rms[mc.ok]):.3f}")]
    if mc.completed >= 2:
        names = mc.phobos_names or mc.names
        s, (a, b) = mc.pooled_spread()
        label = "Phobos parameters" if mc.phobos_names else "all parameters"
        rows += [(f"pooled spread of (estimate − truth)/σ, {label} ({len(names)})",
                  f"{s:.3f} (95 % CI {a:.3f} .. {b:.3f})")]
    rows += [("failed", "; ".join(mc.failures) or "none")]
    header, per = mc.table()
    per = [(param_label(r[0]), *r[1:]) for r in per]
    header = tuple(h[:1].upper() + h[1:] for h in header)
    return [Table("Monte Carlo: the spread of the estimates vs the formal covariance", ("Quantity", "Value"), rows),
            Table("Monte Carlo per parameter: normalised errors (estimate − truth)/formal σ", header, per)]
