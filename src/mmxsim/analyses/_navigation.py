"""Orbit determination set up from a run: stations, tracks, tracking data and the problem.

Shared by the ``od`` analysis and the analyses that take their navigation error from it
(``navigation: computed``). This is where the ground segment (:mod:`mmxsim.comms`: the station
catalogue, Earth orientation, passes and conjunctions) meets navigation (:mod:`mmxsim.navigation`),
which takes stations as light-time participants and imports nothing from ``comms``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError

# NASA DSN 70 m antennas (one per complex) and ESA's three 35 m deep-space antennas: the control
# stations of the seed's partner list (the catalogue: src/mmxsim/data/stations.csv, SOURCES.md)
DEFAULT_STATIONS = ("DSS-14", "DSS-43", "DSS-63", "DSA-1 New Norcia", "DSA-2 Cebreros", "DSA-3 Malargue")
# ΔDOR baselines named by the issue: Goldstone–Madrid, Canberra–Madrid (DSN), Cebreros–New Norcia,
# Malargüe–New Norcia (ESTRACK)
DEFAULT_BASELINES = (("DSS-14", "DSS-63"), ("DSS-43", "DSS-63"), ("DSA-2 Cebreros", "DSA-1 New Norcia"),
                     ("DSA-3 Malargue", "DSA-1 New Norcia"))
# every observation of the od analysis and of `mmxsim od` lies above the horizon of its stations
# (OrbitProblem.elevation_mask_deg; the tracks themselves respect each station's mask)
ELEVATION_MASK_DEG = 0.0


@dataclass
class Setup:
    """What :func:`setup` builds: the arc, the truth, the stations and the problem."""

    t0: float
    t1: float
    model: object
    eph: object
    x_true: np.ndarray
    stations: dict  # name -> navigation participant
    catalogue: dict  # name -> comms Station
    tracks: list  # navigation.schedule.Track
    blackouts: list
    problem: object  # navigation.od.OrbitProblem (data: the schedule, values still to simulate)
    p_true: np.ndarray
    c_true: np.ndarray
    extra_sigma: np.ndarray
    notes: list = field(default_factory=list)


def od_model(model, gm: bool, empirical: bool, field_degree: int | None = None, libration: bool = False):
    """The run's dynamics model without events; Phobos' GM, its normalised Stokes coefficients to
    ``field_degree`` and its forced libration amplitude runtime parameters if asked (their values the
    model's: the truth is unchanged), and an empirical acceleration if asked (zero: the truth has none)."""
    from ..dynamics import DynamicsModel
    from ..dynamics.forces import EmpiricalAcceleration, PhobosGravity

    forces = []
    for f in model.forces:
        if (gm or field_degree or libration) and isinstance(f, PhobosGravity):
            if (field_degree or libration) and f.model != "harmonics":
                raise InputError("analyses.od.estimate", "phobos_field/libration",
                                 "a force model with Phobos' harmonics (force_model.phobos.model: harmonics)")
            if field_degree and field_degree > f.degree:
                raise InputError("analyses.od.field_degree", field_degree,
                                 f"at most the force model's Phobos degree ({f.degree})")
            f = PhobosGravity(f.model, f.degree or 8, near_surface=f.near_surface, gm_parameter=gm,
                              estimate_degree=field_degree or None, libration_parameter=libration)
        forces.append(f)
    if (gm or field_degree or libration) and not any(isinstance(f, PhobosGravity) for f in forces):
        raise InputError("analyses.od.estimate", "phobos_gm", "a force model with Phobos' gravity (force_model.phobos)")
    if empirical:
        forces.append(EmpiricalAcceleration())
    return DynamicsModel(forces=forces, ephemeris=model.ephemeris, events=[], tolerance=model.tolerance,
                         analytic_bodies=model.analytic_bodies, rotation_pck=model.rotation_pck,
                         compact_mode=model.compact_mode)


def ground_stations(names, eph, t0: float, t1: float, catalogue=None) -> tuple[dict, dict]:
    """(name -> light-time participant, name -> comms Station) for catalogue station ``names``."""
    from ..comms.geometry import EarthOrientation
    from ..comms.stations import get_stations
    from ..navigation.participants import GroundStation

    sts = get_stations(list(names), catalogue)
    eo = EarthOrientation(t0 - 86400.0, t1 + 86400.0)
    return ({s.name: GroundStation(s.name, s, eo, eph) for s in sts}, {s.name: s for s in sts})


def visible_tracks(catalogue: dict, t, states, eph, t0: float, t1: float, band: str, max_track_hours: float):
    """Passes above each station's mask (clipped to ``max_track_hours`` around the highest point) and
    the solar-conjunction blackouts, for the run's trajectory ``(t, states)`` (Mars-centred ICRF)."""
    from ..comms.geometry import trajectory_target
    from ..comms.visibility import conjunctions, find_passes
    from ..navigation.schedule import Track

    target = trajectory_target(t, states, center="MARS", eph=eph)
    pad = 2.5 * 600.0  # find_passes' margin for a target sampled every 600 s
    a0, a1 = max(t0, float(t[0]) + pad), min(t1, float(t[-1]) - pad)
    passes = find_passes(list(catalogue.values()), a0, a1, target, band=band, catalogue=catalogue,
                         target_step=600.0) if a1 > a0 else []
    half = 0.5 * max_track_hours * 3600.0
    tracks = []
    for k, p in enumerate(passes):
        a, b = p.start, p.stop
        if b - a > 2 * half:
            mid = min(max(p.t_max_elevation, a + half), b - half)
            a, b = mid - half, mid + half
        tracks.append(Track(p.station, a, b, k))
    # the Sun-Earth-probe angle of a spacecraft at Mars is Mars' to < 1e-5 rad (comms.visibility)
    blackouts = conjunctions(t0, t1, None, eph=eph, bands=(band,))
    return tracks, blackouts


def booked_tracks(catalogue: dict, t, states, eph, t0: float, t1: float, band: str):
    """The tracks the ground plan books (:func:`mmxsim.comms.plan_downlink`, default rules) and
    its blackouts."""
    from ..comms import plan_downlink
    from ..comms.geometry import trajectory_target
    from ..navigation.schedule import Track

    target = trajectory_target(t, states, center="MARS", eph=eph)
    # the planner's pass search looks up to 2 h beyond its span (as the comms analysis allows for)
    a0, a1 = max(t0, float(t[0]) + 7260.0), min(t1, float(t[-1]) - 7260.0)
    if a1 <= a0 + 3600.0:
        raise InputError("analyses.od.tracks", "booked", "visible, or an arc that ends more than 3 h (2 h of "
                         "pass search and 1 h of tracking) after it starts and 2 h before the run's end")
    plan = plan_downlink(list(catalogue), target, a0, a1, catalogue=catalogue, band=band, node_limit=1)
    book = plan.optimal.bookings if plan.optimal is not None else []
    tracks = [Track(b.station, b.start, b.stop, k) for k, b in enumerate(book)]
    return tracks, plan.conjunctions


def state_at(t_run, states, t: float) -> tuple[float, np.ndarray]:
    """The run's sample at or just before ``t`` (epoch, state)."""
    i = int(np.searchsorted(t_run, t, side="right") - 1)
    i = min(max(i, 0), len(t_run) - 1)
    return float(t_run[i]), np.asarray(states[i], float)


# ---------------------------------------------------------------------------------------------
# The od analysis' pipeline
# ---------------------------------------------------------------------------------------------
@dataclass
class OdOutcome:
    """Everything the ``od`` analysis computed (its section is laid out by :meth:`section`)."""

    cfg: object
    setup: Setup
    data: object  # TrackingData, observed (simulated)
    problem: object
    batch: object  # BatchResult
    filt: object = None  # sequential result (or None)
    sigma_t: np.ndarray = None  # epochs of the σ-over-time curves
    sigma_rtn: np.ndarray = None  # (K, 6) position m and velocity mm/s, RTN
    sigma_hill: np.ndarray = None  # (K, 6) same, Phobos Hill frame
    cov_state: np.ndarray = None  # (K, 6, 6) state covariance at sigma_t (ICRF, km, km/s)
    est_states: np.ndarray = None  # (K, 6) the estimated trajectory at sigma_t (Mars-centred ICRF)
    monte_carlo: object = None  # navigation.montecarlo.MonteCarloResult (or None)
    timings: dict = field(default_factory=dict)

    def section(self):
        from ._od_report import od_report

        return od_report(self)


def _priors(cfg, names, values, rng, draw: bool):
    """(Prior list of the state, dict of estimated Priors, dict of consider Priors)."""
    from ..navigation.od import Prior

    sig = apriori_sigmas(cfg, names, values)
    out = {}
    for k in names:
        v = values[k]
        mean = v + (rng.standard_normal() * sig[k] if draw else 0.0)
        out[k] = Prior(mean, sig[k])
    return out


def apriori_sigmas(cfg, names, values) -> dict:
    a = cfg.apriori
    out = {}
    for k in names:
        if k in ("x", "y", "z"):
            out[k] = a.position_m * 1e-3
        elif k in ("vx", "vy", "vz"):
            out[k] = a.velocity_mm_s * 1e-6
        elif k == "srp:cr_area_over_mass":
            out[k] = abs(values[k]) * a.srp_pct / 100.0
        elif k == "phobos:gm":
            out[k] = a.phobos_gm_km3_s2
        elif k.startswith("bias:"):
            out[k] = a.range_bias_m * 1e-3
        elif k.startswith("emp:"):
            out[k] = a.empirical_nm_s2 * 1e-12
        elif k == "phobos:libration":
            out[k] = float(np.radians(a.libration_deg))
        elif k.startswith("phobos:C") or k.startswith("phobos:S"):
            out[k] = a.field_sigma
        else:  # pragma: no cover - every name the settings can make is above
            raise KeyError(k)
    return out


def parameter_names(kinds, model, stations) -> list[str]:
    out = []
    for k in kinds:
        if k == "srp":
            if "srp:cr_area_over_mass" not in _model_parameters(model):
                raise InputError("analyses.od.estimate", "srp", "a force model with solar radiation pressure")
            out.append("srp:cr_area_over_mass")
        elif k == "phobos_gm":
            out.append("phobos:gm")
        elif k == "empirical":
            out += ["emp:r", "emp:t", "emp:n"]
        elif k == "range_bias":
            out += [f"bias:{s}" for s in stations]
        elif k == "phobos_field":
            out += [n for n in _model_parameters(model) if n.startswith("phobos:C") or n.startswith("phobos:S")]
        elif k == "libration":
            out.append("phobos:libration")
    return out


def _model_parameters(model) -> dict:
    out = {}
    for f in model.forces:
        out.update(f.parameters())
    return out


def setup(cfg, scenario, ctx) -> Setup:
    """The arc, truth, stations, tracks and the (not yet simulated) problem of an ``od`` block."""
    from ..bodies import GM_PHOBOS
    from ..navigation.od import OrbitProblem, Prior
    from ..navigation.schedule import ScheduleSettings, schedule

    t_run, states, eph = np.asarray(ctx["t"], float), np.asarray(ctx["states"], float), ctx["eph"]
    t_start = float(t_run[0]) + cfg.start_offset_days * 86400.0
    if t_start >= t_run[-1] - 3600.0:
        raise InputError("analyses.od.start_offset_days", cfg.start_offset_days,
                         f"an arc start at least 1 h before the run's end ({(t_run[-1] - t_run[0]) / 86400:.3g} days)")
    t0, x_true = state_at(t_run, states, t_start)
    t1 = min(t0 + cfg.arc_days * 86400.0, float(t_run[-1]))
    kinds = set(cfg.estimate) | set(cfg.consider)
    both = sorted(set(cfg.estimate) & set(cfg.consider))
    if both:
        raise InputError("analyses.od.consider", both, "parameters not also listed in analyses.od.estimate")
    model = od_model(ctx["model"], "phobos_gm" in kinds, "empirical" in kinds,
                     cfg.field_degree if "phobos_field" in kinds else None, "libration" in kinds)
    stations, catalogue = ground_stations(cfg.stations, eph, t0, t1)
    band = cfg.tracking.band
    if cfg.tracks == "booked":
        tracks, blackouts = booked_tracks(catalogue, t_run, states, eph, t0, t1, band)
    else:
        tracks, blackouts = visible_tracks(catalogue, t_run, states, eph, t0, t1, band, cfg.max_track_hours)
    tr = cfg.tracking
    baselines = tuple(b for b in DEFAULT_BASELINES if b[0] in catalogue and b[1] in catalogue)
    sset = ScheduleSettings(doppler_interval_s=tr.doppler_interval_s, count_time_s=tr.count_time_s,
                            doppler_sigma_mm_s=tr.doppler_sigma_mm_s, range_interval_s=tr.range_interval_s,
                            range_sigma_m=tr.range_sigma_m, ddor_interval_s=tr.ddor_interval_s,
                            ddor_sigma_ns=tr.ddor_sigma_ns, baselines=baselines, uplink_band="X",
                            downlink_band=band)
    rows = schedule(tracks, sset, blackouts)
    if len(rows) == 0:
        raise InputError("analyses.od.stations", list(cfg.stations),
                         "stations that see the spacecraft during the arc outside solar conjunctions")
    # keep rows whose count interval and light time lie inside the arc
    keep = (rows.t - rows.count_time - 2000.0 >= t0) & (rows.t <= t1)
    rows = rows.select(keep)
    mvals = _model_parameters(model)
    values = {n: float(v) for n, v in zip(("x", "y", "z", "vx", "vy", "vz"), x_true)}
    est = parameter_names(cfg.estimate, model, stations)
    con = parameter_names(cfg.consider, model, stations)
    rng = np.random.default_rng(cfg.seed)
    truth_bias = {}
    for k in [*est, *con]:
        if k == "srp:cr_area_over_mass":
            values[k] = float(mvals[k])
        elif k == "phobos:gm":
            values[k] = float(GM_PHOBOS)
        elif k.startswith("emp:"):
            values[k] = 0.0
        elif k.startswith("bias:"):  # the truth has a bias (drawn from its a priori) for the filter to find
            truth_bias[k] = values[k] = float(rng.standard_normal() * cfg.apriori.range_bias_m * 1e-3)
        elif k in mvals:  # Phobos' field and libration: the model's (shipped) values are the truth
            values[k] = float(mvals[k])
    settings = measurement_settings(cfg)
    sig = apriori_sigmas(cfg, [*values], values)
    state = [Prior(values[k], sig[k]) for k in ("x", "y", "z", "vx", "vy", "vz")]
    problem = OrbitProblem(model, t0, t1, rows, stations, state, estimate={k: Prior(values[k], sig[k]) for k in est},
                           consider={k: Prior(values[k], sig[k]) for k in con}, settings=settings, ephemeris=eph,
                           acceleration_psd=cfg.process_noise_km2_s3, elevation_mask_deg=None)
    p_true = problem.p0.copy()
    c_true = problem.c0.copy()
    # the tracks are passes above the stations' masks, but a row's other leg (the uplink one round-trip
    # light time earlier, ΔDOR's second station) can be below the horizon: drop those rows here, so that
    # the problem's own check (OrbitProblem.elevation_mask_deg, at its first computation) holds
    from ..navigation.measurements import elevation_mask

    _, comp, traj = problem.computed(p_true, c_true)
    keep = elevation_mask(comp, ELEVATION_MASK_DEG)
    dropped = int(np.sum(~keep))
    problem = problem_with(problem, data=rows.select(keep))  # with the check (ELEVATION_MASK_DEG)
    # the kept rows' computation at the truth is that one's (row by row): the troposphere residual
    # and the simulation below take it instead of computing it again
    problem.keep_computed(p_true, c_true, comp.select(keep), traj)
    rows = problem.data
    if len(rows) == 0:
        raise InputError("analyses.od.stations", list(cfg.stations),
                         "stations that see the spacecraft above the horizon during the arc")
    extra = tropo_residual_sigma(rows, stations, settings, cfg, problem, p_true)
    notes = []
    if not len(tracks):
        notes.append("no tracks")
    if dropped:
        notes.append(f"{dropped} scheduled rows dropped: the spacecraft below the horizon at a participating "
                     "station (the uplink leg or ΔDOR's second station)")
    return Setup(t0, t1, model, eph, x_true, stations, catalogue, tracks, blackouts, problem, p_true, c_true, extra,
                 notes)


def problem_with(problem, data=None, state=None, estimate=None):
    """A copy of ``problem`` with new data and/or new a priori means."""
    from ..navigation.od import OrbitProblem

    return OrbitProblem(problem.model, problem.t0, problem.t1, problem.data if data is None else data,
                        problem.stations, problem.state if state is None else state,
                        estimate=problem.estimate if estimate is None else estimate, consider=problem.consider,
                        maneuvers=problem.maneuvers, settings=problem.settings, ephemeris=problem.ephemeris,
                        barycentric=problem.barycentric, acceleration_psd=problem.acceleration_psd,
                        elevation_mask_deg=ELEVATION_MASK_DEG)


def drawn_prior(problem, p_true, rng):
    """A priori means drawn around the truth with the a priori sigmas (same sigmas)."""
    from ..navigation.od import Prior

    sig = np.sqrt(np.diag(problem.P0))
    mean = p_true + rng.standard_normal(len(p_true)) * sig
    state = [Prior(mean[i], sig[i]) for i in range(6)]
    est = {k: Prior(mean[6 + j], sig[6 + j]) for j, k in enumerate(problem.estimate)}
    return state, est


def estimate_once(su: Setup, cfg, seed: int, noise: bool):
    """(observed data, problem with drawn a priori, batch result) for one noise/a priori draw."""
    from ..navigation.estimation import BatchSettings, batch_least_squares
    from ..navigation.od import simulate

    data = simulate(su.problem, su.p_true, su.c_true, seed=seed, noise=noise,
                    extra_sigma=su.extra_sigma if noise else None)
    rng = np.random.default_rng([seed, 1])
    if noise:
        state, est = drawn_prior(su.problem, su.p_true, rng)
    else:
        state, est = None, None
    prob = problem_with(su.problem, data=data, state=state, estimate=est)
    if not noise:  # noise-free data: the first (only) linearisation point is the truth, computed already
        _, comp, traj = su.problem.computed(su.p_true, su.c_true)
        prob.keep_computed(su.p_true, su.c_true, comp, traj)
    bs = BatchSettings(max_iterations=cfg.max_iterations if noise else 1, n_sigma=cfg.n_sigma if noise else None,
                       step_tolerance=cfg.step_tolerance_sigma, rms_tolerance=cfg.rms_tolerance)
    return data, prob, batch_least_squares(prob, bs, initial=None if noise else su.p_true)


def sigma_curves(problem, p, P, t_grid, eph, truth_states):
    """(K,6,6) state covariance at ``t_grid`` mapped from the epoch, and its σ in RTN and in Phobos' Hill
    frame: (K,6) position m, velocity mm/s each."""
    from ..navigation.covariance import covariance_hill, covariance_rtn, map_covariance, sigma_per_axis

    phi = problem.stm(t_grid, p)
    Pt = map_covariance(P, phi)[:, :6, :6]
    rtn = sigma_per_axis(covariance_rtn(Pt, truth_states))
    ph = np.atleast_2d(eph.state("PHOBOS", "MARS", t_grid))
    hill = sigma_per_axis(covariance_hill(Pt, ph))
    scale = np.array([1e3, 1e3, 1e3, 1e6, 1e6, 1e6])
    return Pt, rtn * scale, hill * scale


def run_od(cfg, scenario, ctx) -> OdOutcome:
    """The ``od`` analysis' computation (see :mod:`mmxsim.analyses.od`)."""
    import time as _time

    tm = {}
    t_a = _time.perf_counter()
    su = setup(cfg, scenario, ctx)
    tm["setup_s"] = _time.perf_counter() - t_a
    noise = cfg.mode == "estimate"
    t_a = _time.perf_counter()
    data, prob, batch = estimate_once(su, cfg, cfg.seed, noise)
    tm["batch_s"] = _time.perf_counter() - t_a
    filt = None
    if cfg.filter:
        t_a = _time.perf_counter()
        filt = run_filter(prob, batch)
        tm["filter_s"] = _time.perf_counter() - t_a
    # σ over the arc, hourly, in RTN (about Mars) and in Phobos' Hill frame
    grid = np.linspace(su.t0, su.t1, max(2, int((su.t1 - su.t0) // 3600.0) + 1))
    truth = su.problem.trajectory(su.p_true, su.c_true)
    from ..navigation.od import STATE_NAMES  # noqa: F401  (names of the state block)

    ts = truth.state(grid) if not truth.barycentric else _mars_centred(truth, grid, su.eph)
    Pt, rtn, hill = sigma_curves(prob, batch.estimate, batch.covariance, grid, su.eph, ts)
    est = _mars_centred(prob.trajectory(batch.estimate), grid, su.eph)
    mc = monte_carlo(su, cfg) if cfg.monte_carlo_runs else None
    tm["total_s"] = sum(tm.values())
    return OdOutcome(cfg, su, data, prob, batch, filt, grid, rtn, hill, Pt, est, mc, tm)


def _mars_centred(traj, t, eph):
    return traj.state(t) - np.atleast_2d(eph.state("MARS", "SSB", t))


def run_filter(problem, batch):
    """The square-root information filter and smoother on the batch's reference (no iterations)."""
    from ..navigation.sequential import square_root_information_filter

    return square_root_information_filter(problem, reference=batch.estimate, t_final=problem.t1)


def monte_carlo(su: Setup, cfg):
    """The Monte Carlo of the estimation (:func:`mmxsim.navigation.montecarlo.estimation_monte_carlo`):
    ``cfg.monte_carlo_runs`` truths drawn from the problem's a priori, noisy data simulated at each
    (with the troposphere calibration residual), each estimated with the analysis' batch settings;
    a :class:`~mmxsim.navigation.montecarlo.MonteCarloResult` (failed runs counted, not hidden)."""
    from ..navigation.estimation import BatchSettings
    from ..navigation.montecarlo import estimation_monte_carlo

    settings = BatchSettings(max_iterations=cfg.max_iterations, n_sigma=cfg.n_sigma,
                             step_tolerance=cfg.step_tolerance_sigma, rms_tolerance=cfg.rms_tolerance)
    return estimation_monte_carlo(su.problem, cfg.monte_carlo_runs, seed=int(cfg.seed), settings=settings,
                                  extra_sigma=su.extra_sigma)


def measurement_settings(cfg):
    """The measurement model's settings from an ``od`` block (media switches)."""
    from ..navigation.measurements import MeasurementSettings

    return MeasurementSettings(troposphere=cfg.media.troposphere, shapiro=cfg.media.shapiro)


def tropo_residual_sigma(rows, stations, settings, cfg, problem, p_true) -> np.ndarray:
    """Per-row noise of the troposphere calibration residual (zenith value times the mapping function
    on each leg), 0 when the troposphere is off or the residual is 0."""
    if not cfg.media.troposphere or cfg.media.tropo_residual_zenith_m <= 0:
        return np.zeros(len(rows))
    from ..navigation.measurements import troposphere_residual_sigma

    _, comp, _ = problem.computed(p_true)
    return troposphere_residual_sigma(rows, comp, cfg.media.tropo_residual_zenith_m)

