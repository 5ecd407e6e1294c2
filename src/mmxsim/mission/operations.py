"""Orbit determination in operations mode: observed tracking data from TDM files that another tool
wrote, an a priori state and the force model from a scenario; no truth and no simulation of ours.

What a navigation team does with real passes: :func:`determine_orbit` reads the TDMs, takes the
scenario's initial state at its epoch as the a priori (with the ``od`` block's a priori sigmas and
its estimated and consider parameters, or their defaults), the scenario's force model and the
stations of the station catalogue that the files name, and runs the weighted batch least squares
(:func:`mmxsim.navigation.estimation.batch_least_squares`). ``mmxsim od`` writes the estimate, its
covariance, the residuals (CSV and a figure) and an OEM with covariance blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import InputError


@dataclass
class OperationsResult:
    """The estimate of :func:`determine_orbit` (times TDB s; km, km/s)."""

    scenario_name: str
    files: list
    problem: object  # navigation.od.OrbitProblem (observed data in problem.data)
    batch: object  # navigation.estimation.BatchResult
    t_grid: np.ndarray  # epochs of the estimated trajectory and covariance
    states: np.ndarray  # (K, 6) Mars-centred ICRF
    covariances: np.ndarray  # (K, 6, 6) Mars-centred ICRF
    notes: list = field(default_factory=list)

    def summary(self) -> dict:
        """JSON-ready estimate, sigmas, convergence."""
        b = self.batch
        return {"scenario": self.scenario_name, "tdm_files": [str(f) for f in self.files],
                "epoch_tdb_s": float(self.problem.t0), "names": list(b.names), "estimate": b.estimate.tolist(),
                "sigma": b.sigma.tolist(), "covariance": b.covariance.tolist(),
                "consider_names": list(b.consider_names),
                "consider_covariance": None if b.consider_covariance is None else b.consider_covariance.tolist(),
                "converged": bool(b.converged), "message": b.message,
                "iterations": [{"iteration": r.iteration, "weighted_rms": r.weighted_rms, "rows_used": r.rows_used,
                                "rows_edited": r.rows_edited, "step_sigma": r.step_sigma} for r in b.iterations],
                "observations": len(self.problem.data), "edited_rows": int(np.sum(b.edited)),
                "model": self.problem.model.describe(), "notes": self.notes}

    def residuals_csv(self) -> str:
        d, b = self.problem.data, self.batch
        lines = ["epoch_tdb_s,station,station2,type,observed,postfit_residual,sigma,edited"]
        for i in range(len(d)):
            lines.append(f"{d.t[i] + d.t_lo[i]:.6f},{d.receiver[i]},{d.station2[i]},{d.kind[i]},{d.value[i]:.16e},"
                         f"{b.postfit_residuals[i]:.6e},{d.sigma[i]:.6e},{int(bool(b.edited[i]))}")
        return "\n".join(lines) + "\n"


def determine_orbit(scenario, tdm_paths: Sequence, *, base_dir=None, noise: dict | None = None,
                    max_iterations: int | None = None) -> OperationsResult:
    """Estimate the spacecraft's state at the scenario's epoch from observed TDM files (module doc).

    ``noise``: sigma per data type for files that carry none (km for range, km/s for Doppler, s for
    ΔDOR); default: the ``od`` block's tracking noise (or its defaults).
    """
    from ..analyses.od import (ELEVATION_MASK_DEG, OdAnalysis, apriori_sigmas, ground_stations,
                               measurement_settings, od_model, parameter_names)
    from ..navigation.data import TrackingData
    from ..navigation.estimation import BatchSettings, batch_least_squares
    from ..navigation.od import STATE_NAMES, OrbitProblem, Prior
    from ..navigation.tdm import read_tdm
    from .runner import body_orientation, build_model, initial_state

    if not tdm_paths:
        raise InputError("--tdm", [], "one or more CCSDS TDM files")
    cfg = getattr(scenario.analyses, "od", None) or OdAnalysis()
    tr = cfg.tracking
    noise = dict(noise or {"range": tr.range_sigma_m * 1e-3, "doppler": tr.doppler_sigma_mm_s * 1e-6,
                           "ddor": tr.ddor_sigma_ns * 1e-9})
    parts = []
    for p in tdm_paths:
        if not Path(p).is_file():
            raise InputError("--tdm", str(p), "an existing TDM file")
        parts.append(read_tdm(Path(p), noise=noise))
    data = TrackingData.concatenate(parts).sorted()
    if len(data) == 0:
        raise InputError("--tdm", [str(p) for p in tdm_paths], "files with observations")
    model0, eph = build_model(scenario, base_dir)
    t0 = float(scenario.t0_tdb)
    x0 = initial_state(scenario, t0, eph, body_orientation(model0.rotation_pck))
    t_obs = data.epochs()
    if t_obs.min() - data.count_time.max() - 3600.0 < t0:
        raise InputError("scenario epoch", scenario.epoch,
                         "an a priori epoch at least 1 h before the first observation (light time and count time)")
    t1 = float(t_obs.max()) + 60.0
    kinds = set(cfg.estimate) | set(cfg.consider)
    model = od_model(model0, "phobos_gm" in kinds, "empirical" in kinds,
                     cfg.field_degree if "phobos_field" in kinds else None, "libration" in kinds)
    stations, _ = ground_stations(data.stations(), eph, t0, t1)
    values = {n: float(v) for n, v in zip(STATE_NAMES, x0)}
    mvals = {}
    for f in model.forces:
        mvals.update(f.parameters())
    from ..bodies import GM_PHOBOS

    est = parameter_names(cfg.estimate, model, stations)
    con = parameter_names(cfg.consider, model, stations)
    for k in [*est, *con]:
        values[k] = float(mvals[k]) if k in mvals else (float(GM_PHOBOS) if k == "phobos:gm" else 0.0)
    sig = apriori_sigmas(cfg, list(values), values)
    problem = OrbitProblem(model, t0, t1, data, stations, [Prior(values[k], sig[k]) for k in STATE_NAMES],
                           estimate={k: Prior(values[k], sig[k]) for k in est},
                           consider={k: Prior(values[k], sig[k]) for k in con},
                           settings=measurement_settings(cfg), ephemeris=eph, elevation_mask_deg=ELEVATION_MASK_DEG)
    batch = batch_least_squares(problem, BatchSettings(max_iterations=max_iterations or cfg.max_iterations,
                                                       n_sigma=cfg.n_sigma, step_tolerance=cfg.step_tolerance_sigma,
                                                       rms_tolerance=cfg.rms_tolerance))
    grid = np.linspace(t0, t1, max(2, int((t1 - t0) // 3600.0) + 1))
    traj = problem.trajectory(batch.estimate)
    states = traj.state(grid) - np.atleast_2d(eph.state("MARS", "SSB", grid))
    from ..navigation.covariance import map_covariance

    covs = map_covariance(batch.covariance, problem.stm(grid, batch.estimate))[:, :6, :6]
    notes = [] if batch.converged else [f"NOT converged: {batch.message}"]
    return OperationsResult(scenario.name, [str(p) for p in tdm_paths], problem, batch, grid, states, covs, notes)


def residual_figure(res: OperationsResult) -> bytes:
    """PNG of the post-fit residuals per station and type."""
    from ..analyses.od import residual_figure

    return residual_figure(res.problem.data, res.batch)
