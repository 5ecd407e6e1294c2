"""The ``od`` analysis: orbit determination of the run's spacecraft from DSN, ESTRACK and JAXA tracking.

One file (docs/adding_an_analysis.md): its settings, its run function and ``ANALYSIS``. The run's
trajectory is the truth; tracking data (two-way Doppler, range, ΔDOR) are simulated inside the
stations' passes (or the ground plan's booked tracks) outside solar conjunctions, with the noise of
the settings; a batch least-squares estimator (and a square-root information filter with its
smoother) recovers the spacecraft state and the parameters asked for, from an a priori drawn
around the truth. ``mode: covariance`` gives the formal covariance only (no noise drawn);
``monte_carlo_runs`` repeats the estimation with truths drawn from the a priori and new noise
(:func:`mmxsim.navigation.montecarlo.estimation_monte_carlo`) and compares the spread of the errors
with the formal covariance (NEES and its band, spreads per parameter, 3σ coverage).
docs/navigation.md has the models and their sources.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from ..results import Section
from ..scenario import SchemaModel
from ._navigation import (ELEVATION_MASK_DEG, apriori_sigmas, ground_stations,  # noqa: F401
                          measurement_settings, od_model, parameter_names)
from ._od_report import residual_figure  # noqa: F401  (public here: the od command draws it too)
from ._plugin import Analysis

PARAMS = ("srp", "phobos_gm", "range_bias", "empirical")


class TrackingSpec(SchemaModel):
    """What the stations observe and its noise (1 sigma). Defaults: ../shared/nav-facts.md §3."""

    doppler_interval_s: float = Field(60.0, ge=0, le=3600, description="two-way Doppler every, s (0: none)")
    count_time_s: float = Field(60.0, gt=0, le=3600, description="Doppler count time, s")
    doppler_sigma_mm_s: float = Field(0.1, gt=0, le=1000, description="Doppler noise at the count time, mm/s")
    range_interval_s: float = Field(600.0, ge=0, le=86400, description="two-way range every, s (0: none)")
    range_sigma_m: float = Field(1.0, gt=0, le=10000, description="range noise, m")
    ddor_interval_s: float = Field(0.0, ge=0, le=86400, description="ΔDOR per baseline overlap every, s (0: none)")
    ddor_sigma_ns: float = Field(0.03, gt=0, le=100, description="ΔDOR noise, ns (1 nrad on 8000 km = 0.027 ns)")
    band: Literal["X", "Ka"] = Field("X", description="downlink band (uplink X): X/X or X/Ka turnaround")


class MediaSpec(SchemaModel):
    """Media and relativity in the measurement model (the same in simulation and estimation)."""

    troposphere: bool = Field(True, description="tropospheric delay (zenith delay times a mapping function)")
    shapiro: bool = Field(True, description="Shapiro delay of the Sun")
    tropo_residual_zenith_m: float = Field(0.01, ge=0, le=1, description="calibration residual at zenith, m (noise)")


class AprioriSpec(SchemaModel):
    """A priori 1-sigma of the estimated parameters; the a priori mean is drawn around the truth."""

    position_m: float = Field(1000.0, gt=0, description="position, per axis, m")
    velocity_mm_s: float = Field(100.0, gt=0, description="velocity, per axis, mm/s")
    srp_pct: float = Field(10.0, gt=0, le=100, description="Cr A/m, % of its value")
    phobos_gm_km3_s2: float = Field(6e-7, gt=0, description="Phobos GM, km^3/s^2 (Jacobson 2010: 0.006e-4)")
    range_bias_m: float = Field(5.0, gt=0, description="range bias per station, m")
    empirical_nm_s2: float = Field(1.0, gt=0, description="constant empirical acceleration per RTN axis, nm/s^2")
    field_sigma: float = Field(0.01, gt=0, description="each normalised Stokes coefficient of Phobos (ASSUMED: "
                                                       "~20 % of C20; Yang 2019's is 25 %, nav-facts §1)")
    libration_deg: float = Field(0.03, gt=0, description="forced libration amplitude, deg (Burmeister 2018)")


class OdAnalysis(SchemaModel):
    """Orbit determination from simulated DSN/ESTRACK tracking of the run's trajectory."""

    start_offset_days: float = Field(0.0, ge=0, description="arc start after the run's start, days")
    arc_days: float = Field(2.0, gt=0, le=30, description="length of the OD arc, days (within the run)")
    stations: tuple[str, ...] = Field(("DSS-14", "DSS-43", "DSS-63", "DSA-1 New Norcia", "DSA-2 Cebreros",
                                       "DSA-3 Malargue"), min_length=1, description="tracking stations (catalogue names)")
    tracks: Literal["visible", "booked"] = Field(
        "visible", description="visible: passes above each mask; booked: the ground plan's bookings (MILP)")
    max_track_hours: float = Field(8.0, gt=0, le=24, description="longest track per pass, h (visible tracks)")
    tracking: TrackingSpec = Field(default_factory=TrackingSpec, description="data types and noise")
    media: MediaSpec = Field(default_factory=MediaSpec, description="troposphere and Shapiro switches")
    estimate: tuple[Literal["srp", "phobos_gm", "range_bias", "empirical", "phobos_field", "libration"], ...] = Field(
        ("srp", "phobos_gm", "range_bias"), description="parameters estimated besides the state (phobos_field: "
                                                        "the normalised Stokes coefficients to field_degree)")
    consider: tuple[Literal["srp", "phobos_gm", "range_bias", "empirical", "phobos_field", "libration"], ...] = Field(
        (), description="consider parameters (not estimated; their a priori sigma is mapped)")
    field_degree: int = Field(2, ge=2, le=10, description="degree of Phobos' Stokes coefficients in phobos_field")
    apriori: AprioriSpec = Field(default_factory=AprioriSpec, description="a priori sigmas")
    mode: Literal["estimate", "covariance"] = Field(
        "estimate", description="estimate: noisy data and iterations; covariance: formal covariance only")
    filter: bool = Field(True, description="also run the square-root information filter and its smoother")
    process_noise_km2_s3: float = Field(0.0, ge=0, le=1e-12, description="white acceleration PSD for the filter")
    monte_carlo_runs: int = Field(0, ge=0, le=1000,
                                  description="Monte Carlo estimations (truths drawn from the a priori, new noise)")
    n_sigma: float = Field(4.0, ge=2, le=100, description="outlier editing threshold, sigma")
    max_iterations: int = Field(15, ge=1, le=100, description="batch iterations at most")
    step_tolerance_sigma: float = Field(
        0.01, gt=0, le=1, description="converged when the largest step is below this many sigma (the integrator's "
                                      "numerical noise moves the solution by ~1e-3 sigma between iterations)")
    rms_tolerance: float = Field(1e-4, gt=0, le=0.1, description="or when the weighted RMS changes by less (relative)")
    seed: int = Field(0, ge=0, description="random seed (noise, a priori draws)")


def _section_stub(cfg) -> Section:
    return Section(key="od", title="Orbit determination",
                   headline="Orbit determination not run: it needs the run's trajectory", paragraphs=[
        "Orbit determination needs the run's trajectory (the truth): it runs inside `mmxsim run`."])


def od_section(cfg: OdAnalysis, scenario, ctx=None) -> Section:
    """Simulate tracking of the run's trajectory and estimate it (see module doc)."""
    if ctx is None:
        return _section_stub(cfg)
    from ._navigation import run_od

    out = run_od(cfg, scenario, ctx)
    return out.section()


def navigation_error(scenario, ctx) -> tuple[float, float, str]:
    """(position σ m, velocity σ mm/s, per axis, and how they were found) from a covariance analysis
    of the run's tracking: the scenario's ``od`` block in ``mode: covariance`` (its defaults if it
    has none), the formal covariance mapped to the arc's end, RMS over the three axes.

    Computed once per process for what determines it (the settings, the scenario, the run's trajectory:
    qso_campaign and transfer both ask for it) and returned as an immutable tuple."""
    base = getattr(scenario.analyses, "od", None) or OdAnalysis()
    cfg = base.model_copy(update={"mode": "covariance", "monte_carlo_runs": 0, "filter": False})
    key = _navigation_key(cfg, scenario, ctx)
    hit = _NAV_ERROR.get(key) if key is not None else None
    if hit is None:
        hit = _navigation_error(cfg, scenario, ctx)
        if key is not None:
            if len(_NAV_ERROR) >= 8:
                _NAV_ERROR.pop(next(iter(_NAV_ERROR)))
            _NAV_ERROR[key] = hit
    return hit


_NAV_ERROR: dict = {}  # key of _navigation_key -> (pos, vel, how): this process' navigation_error results


def _navigation_key(cfg, scenario, ctx):
    """What :func:`navigation_error` depends on: the covariance settings, the scenario and the run's
    trajectory and ephemeris (None, no caching, without a trajectory)."""
    import hashlib

    if not isinstance(ctx, dict) or ctx.get("t") is None or ctx.get("states") is None:
        return None
    h = hashlib.sha256()
    for a in (ctx["t"], ctx["states"]):
        a = np.ascontiguousarray(np.asarray(a, float))
        h.update(repr(a.shape).encode())
        h.update(a.tobytes())
    try:
        scen = scenario.model_dump_json()
    except AttributeError:
        return None
    return cfg.model_dump_json(), scen, h.hexdigest(), id(ctx.get("eph"))


def _navigation_error(cfg, scenario, ctx) -> tuple[float, float, str]:
    from ..navigation.covariance import map_covariance
    from ._navigation import estimate_once, setup

    su = setup(cfg, scenario, ctx)
    _, prob, batch = estimate_once(su, cfg, cfg.seed, False)
    P = map_covariance(batch.covariance, prob.stm(np.array([su.t1]), batch.estimate))[0, :6, :6]
    d = np.diag(P)
    pos = float(np.sqrt(d[:3].mean())) * 1e3
    vel = float(np.sqrt(d[3:].mean())) * 1e6
    how = (f"formal covariance of a {(su.t1 - su.t0) / 86400:.3g}-day arc of {len(su.problem.data)} tracking points "
           f"from {len(su.stations)} stations, mapped to the arc's end: {pos:.3g} m and {vel:.3g} mm/s per axis "
           "(RMS of the three ICRF axes).")
    return pos, vel, how


def quick(cfg: OdAnalysis) -> dict:
    """Quick look: a one-day arc, no filter, no Monte Carlo."""
    return {"arc_days": min(float(cfg.arc_days), 1.0), "monte_carlo_runs": 0, "filter": False}


def warnings(section: Section) -> list[str]:
    d = section.data
    out = []
    if d.get("converged") is False:
        out.append(f"Orbit determination did not converge: {d.get('message', '')}")
    if d.get("edited_rows"):
        out.append(f"Orbit determination edited {d['edited_rows']} outlier rows at {d.get('n_sigma')} sigma.")
    return out


ANALYSIS = Analysis(
    name="od",
    settings=OdAnalysis,
    run=od_section,
    description="orbit determination from DSN/ESTRACK tracking (range, Doppler, ΔDOR)",
    order=190,
    phases=("QSO campaign",),
    partners=(("NASA", "Deep Space Network: control and mission-data reception"),
              ("ESA", "ESTRACK ground stations"),
              ("ESA", "Ka-band deep-space transponder"),
              ("CNES", "proximity-operations flight dynamics (QSO design, transfers)")),
    quick=quick,
    warnings=warnings,
)
