"""Scenario -> dynamics model -> propagation -> results.

Data flows one way: a validated :class:`~mmxsim.scenario.Scenario` is turned
into a :class:`~mmxsim.dynamics.DynamicsModel` (the factory, Tudat-style), propagated
with heyoka and post-processed into Phobos-relative products: a
:class:`~mmxsim.results.RunResult`. Nothing here writes a file: :mod:`mmxsim.app` (the
command line's and the API's layer) hands the result to the exports and the report.
"""

from __future__ import annotations

import platform
import time as _time

import numpy as np

from ..errors import InputError, MmxsimError
from ..results import Event, RunResult, Trajectory


def _ephemeris_for(s, base_dir=None):
    from ..ephemeris import composite, default_ephemeris, spice_ephemeris

    builtin = default_ephemeris(phobos_tidal=s.ephemeris.phobos_tidal_acceleration, moons=s.ephemeris.moons)
    if s.ephemeris.backend == "spice":
        from ..scenario import resolve_kernel

        try:
            paths = [str(resolve_kernel(k, base_dir)) for k in s.ephemeris.kernels]
        except ValueError as exc:  # e.g. a kernel removed since the scenario was validated
            from ..errors import DataFileError

            raise DataFileError(f"ephemeris.kernels: {exc}") from None
        sp = spice_ephemeris(paths)
        return composite(sp, builtin), sp, paths
    return builtin, None, []


def build_model(s, base_dir=None):
    """The dynamics model, ephemeris and text PCK (if any) a scenario asks for."""
    from ..dynamics import (DynamicsModel, Eclipse, MarsGravity, MarsImpact, MaxDistance, PhobosGravity,
                            PhobosImpact, SolarRadiationPressure, ThirdBody, make_surface)

    eph, _spice, kernels = _ephemeris_for(s, base_dir)
    fm = s.force_model
    forces = [MarsGravity(fm.mars.degree)]
    if fm.phobos.model != "none":
        forces.append(PhobosGravity(fm.phobos.model, fm.phobos.degree or 8, near_surface=fm.phobos.near_surface))
    for b in fm.third_bodies:
        forces.append(ThirdBody(b))
    if fm.srp.enabled:
        sc = s.spacecraft
        forces.append(SolarRadiationPressure(tuple(fm.srp.shadows), sc.cr, sc.srp_area_m2, sc.mass_kg))
    events = [MarsImpact()]
    if s.events.impact != "none":
        events.append(PhobosImpact(make_surface(s.events.impact, s.events.shape_model)))
    if s.events.max_distance_km is not None:
        events.append(MaxDistance(s.events.max_distance_km))
    if s.events.eclipses:
        events += [Eclipse("MARS"), Eclipse("PHOBOS")]
    pck = next((k for k in kernels if k.lower().endswith(".tpc")), None)
    # the moons enter as the theory's expressions only where the ephemeris takes them from it
    # (moons: mean_elements and no SPICE kernel for them): DynamicsModel.make_tracks decides
    model = DynamicsModel(forces=forces, ephemeris=eph, events=events, tolerance=s.propagation.tolerance,
                          rotation_pck=pck)
    return model, eph


def body_orientation(pck):
    """``orient(body, t)`` -> (rotation matrix, its rate) of a body's IAU rotation from the text PCK
    ``pck`` (None: None), as the runner and campaign ensembles give it to the initial-state design."""
    if pck is None:
        return None
    from ..bodies import get_body
    from ..bodies.rotation import iau_rotation

    def orient(body, t):
        return iau_rotation(get_body(body).naif_id, pck).matrix_and_rate(t)

    return orient


def corrected_qso_state(s, t0: float, eph, n_revs: int = 10) -> np.ndarray:
    """The scenario's QSO designed in the Hill problem and corrected in the full model.

    The planar periodic QSO of that size (Phobos harmonics to the scenario's degree, at
    least 2), with the 3D out-of-plane motion imposed when asked, is sampled as patch points
    over ``n_revs`` revolutions and made continuous in the scenario's forces (Mars zonals,
    Phobos harmonics, third bodies, SRP) by multiple shooting (:mod:`mmxsim.orbits.handoff`).
    """
    from ..orbits.handoff import check_switch_radius, full_model, multiple_shooting, patch_points
    from ..orbits.qso import periodic_qso, qso_3d

    st, fm, sc = s.initial_state, s.force_model, s.spacecraft
    if fm.phobos.model != "harmonics":
        raise InputError("initial_state.design", "corrected",
                         "'linear' unless force_model.phobos.model is 'harmonics' (the correction uses them)")
    deg = fm.phobos.degree or 8
    q = periodic_qso(st.radial_semi_axis_km, deg)
    if st.out_of_plane_km > 0:
        q = qso_3d(q, st.out_of_plane_km, st.phase_deg)
    model = full_model(eph, mars_degree=fm.mars.degree,
                       phobos_degree=deg,
                       third_bodies=tuple(fm.third_bodies), srp=fm.srp.enabled, cr=sc.cr,
                       area_m2=sc.srp_area_m2, mass_kg=sc.mass_kg, tolerance=s.propagation.tolerance)
    check_switch_radius(model, q)
    t, X = patch_points(q, t0, n_revs, 4, eph)
    sh = multiple_shooting(model, t, X)
    if not sh.converged:
        raise MmxsimError(f"initial_state: the {st.radial_semi_axis_km:g} km QSO could not be corrected in the "
                          f"full model (position defect {sh.mismatch_pos_m:.3g} m); use design: linear")
    return np.asarray(sh.states[0], float)


def initial_state(s, t0: float, eph, orientation=None) -> np.ndarray:
    """The scenario's initial state as Mars-centred ICRF (km, km/s)."""
    from ..bodies import GM_MARS, PHOBOS_MEAN_MOTION
    from ..frames import rotation_to, to_mars_icrf
    from ..orbits import keplerian_to_cartesian, qso_hill_state

    st = s.initial_state
    kind = st.type
    if kind == "qso" and st.design == "corrected":
        return corrected_qso_state(s, t0, eph)
    if kind == "qso":
        hill = qso_hill_state(st.radial_semi_axis_km, PHOBOS_MEAN_MOTION, st.out_of_plane_km,
                              np.radians(st.phase_deg))
        return to_mars_icrf("PHOBOS_HILL", t0, hill, eph)
    if kind == "hill":
        return to_mars_icrf("PHOBOS_HILL", t0, np.r_[st.position_km, st.velocity_km_s], eph)
    if kind == "cartesian":
        R, dR, _ = rotation_to(st.frame, t0, eph, orientation)
        R, dR = R[0], dR[0]
        r = R.T @ np.asarray(st.position_km, float)
        v = R.T @ (np.asarray(st.velocity_km_s, float) - dR @ r)
        rel = np.r_[r, v]
        if st.center == "MARS":
            return rel
        return rel + np.atleast_2d(eph.state(st.center, "MARS", t0))[0]
    if kind == "keplerian":
        x = keplerian_to_cartesian(GM_MARS, st.a_km, st.e, np.radians(st.i_deg), np.radians(st.raan_deg),
                                   np.radians(st.argp_deg), np.radians(st.true_anomaly_deg))
        if st.frame == "ICRF":
            return x
        R = rotation_to("MARS_EQUATOR", t0)[0][0]
        return np.r_[R.T @ x[:3], R.T @ x[3:]]
    raise InputError("initial_state.type", kind, "hill, qso, cartesian, keplerian")  # pragma: no cover


def altitude_surface(s):
    """The surface altitudes are measured from: the impact surface, or the shape model when
    impacts are off (``events.impact: none``)."""
    from ..dynamics import make_surface

    return make_surface(s.events.impact if s.events.impact != "none" else "shape", s.events.shape_model)


def library_versions() -> dict[str, str | None]:
    """Versions of the libraries whose numbers a run's results depend on (None: not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for name in ("heyoka", "numba", "numpy", "scipy", "astropy", "pyerfa", "jplephem", "spiceypy", "pydantic"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def scenario_digest(s) -> str:
    """SHA-256 of the validated scenario (canonical JSON of :func:`~mmxsim.scenario.scenario_to_dict`):
    two runs with the same digest, mmxsim version and library versions give the same numbers."""
    import hashlib
    import json

    from ..scenario import scenario_to_dict

    text = json.dumps(scenario_to_dict(s), sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def analysis_seeds(s) -> dict[str, int]:
    """``{analysis: seed}`` of the enabled analyses that draw random numbers."""
    out = {}
    for name in type(s.analyses).model_fields:
        cfg = getattr(s.analyses, name)
        if cfg is not None and hasattr(cfg, "seed"):
            out[name] = int(cfg.seed)
    return out


def ephemeris_sources(model) -> dict[str, list[str]]:
    """``{body: [source, ...]}`` for every body the model's forces and events place: the backend
    (and SPK file) each position relative to Mars actually comes from (``Ephemeris.sources``), so a
    kernel listed in a scenario but providing nothing used never appears as a source."""
    eph = model.ephemeris
    return {b: (eph.sources(b, "MARS") if hasattr(eph, "sources") else [getattr(eph, "name", "ephemeris")])
            for b in sorted(model.bodies())}


def assumptions(s, model) -> list[str]:
    """Plain-language list of the model's simplifications and unpublished parameters."""
    out = []
    from ..dynamics.propagator import moon_source

    src_moon = moon_source(model, "PHOBOS")
    if src_moon == "integrated":
        out.append("Phobos and Deimos positions: integrated in the spacecraft's force model (Mars GM + J2..J4, Sun; "
                   "Phobos' tidal deceleration) from states fitted to JPL MAR080 (packaged SPK, 2024-2034): their "
                   "motion satisfies the forces the spacecraft feels to < 1e-9 km/s^2; Phobos 2.1 km from JPL Horizons "
                   "at the one epoch checked (the MAR080 theory it follows: 5-10 km, mostly along-track; see "
                   "docs/ephemeris.md).")
    elif src_moon == "mean_elements":
        out.append("Phobos and Deimos positions: built-in analytic theory on JPL MAR080 mean elements (precessing "
                   "ellipses on the Laplace planes"
                   + (", with Phobos' secular tidal acceleration" if s.ephemeris.phobos_tidal_acceleration else "")
                   + "); NOT a solution of the force model: its acceleration differs from it by 1.7e-7 km/s^2 at "
                   "Phobos, a spurious force of 59 % of Phobos' pull at 50 km (see docs/ephemeris.md).")
    src = ephemeris_sources(model)
    out.append("Positions of the perturbing bodies relative to Mars, by source: "
               + "; ".join(f"{b}: {', '.join(v)}" for b, v in src.items())
               + ". Interpolated in the integrator by Chebyshev segments checked to < 1e-4 km against the "
               "ephemeris at fit time.")
    if s.force_model.phobos.model == "harmonics":
        from ..gravity.validity import SWITCH_TABLE

        deg = s.force_model.phobos.degree or 8
        R, err = SWITCH_TABLE[deg]
        ns = s.force_model.phobos.near_surface
        inside = {"polyhedron": "the propagation switches automatically to the exact constant-density polyhedron "
                                "of the same shape (SciPy DOP853 on those arcs)",
                  "grid": "the propagation switches automatically to the interpolation grid of the exact "
                          "polyhedron of the same shape (SciPy DOP853 on those arcs)",
                  "refuse": "the propagation refuses to continue (near_surface: refuse)",
                  "off": "the harmonics are still used (near_surface: off), up to 6e-2 wrong at 14 km"}[ns]
        out.append("Phobos gravity: homogeneous-density body (Ernst shape); the real interior is unknown. "
                   f"The degree-{deg} harmonics are used beyond {R:g} km from Phobos' centre (max error vs the exact "
                   f"polyhedron there {err:.1e}); inside {R:g} km {inside}; the harmonics diverge inside the "
                   "13.94 km Brillouin sphere.")
    if s.force_model.srp.enabled:
        out.append("Solar radiation pressure: cannonball model; Mars and Phobos as spheres, conical shadow, "
                   "straight-limb penumbra. Spacecraft mass, area and Cr are ASSUMPTIONS (MMX values unpublished).")
    surf = altitude_surface(s)
    how = ""
    if s.events.impact != "none":
        how = ("; impacts are found on the mesh itself to 1 ms (an enclosing ellipsoid only triggers the search)"
               if hasattr(surf, "signed_distance") else "; impacts are root-found on it by the integrator")
    out.append(f"Phobos altitude{' and impact' if s.events.impact != 'none' else ''} surface: {surf.describe()}{how}.")
    out.append("Not modelled: Mars tesseral harmonics and atmosphere, relativity, other planets, manoeuvres.")
    if s.time_scale == "UTC":
        out.append("UTC epochs converted with the leap seconds shipped by astropy-iers-data (no downloads); "
                   "no leap second is assumed after the table's last entry.")
    out.append(f"Epoch {s.epoch} ({s.time_scale}) is an assumption: exact MMX dates are unpublished "
               "(arrival at Mars JFY2027).")
    return out


def switch_lines(prop) -> list[str]:
    """A plain-language line when the propagation flew arcs with the near-surface Phobos field."""
    near = [(a, b, m) for a, b, m in getattr(prop, "arcs", []) if m.startswith("near-surface")]
    if not near:
        return []
    hours = sum(b - a for a, b, _ in near) / 3600.0
    return [f"Phobos gravity switched: {len(near)} arc(s), {hours:.2f} h in all, came inside the harmonics' switch "
            f"radius and were flown with the exact polyhedron ({near[0][2]}); the other "
            f"{len(prop.arcs) - len(near)} arc(s) used the harmonics (heyoka)."]


WORKERS_ENV = "MMXSIM_WORKERS"

#: The analyses' worker processes when neither the caller nor $MMXSIM_WORKERS says, for the API
#: (:func:`run_scenario`, :func:`mmxsim.api.run`) and campaigns, whose samples already run in parallel.
DEFAULT_WORKERS = 1

#: The default of ``mmxsim run --workers`` (when $MMXSIM_WORKERS is not set either): ``"auto"``, the
#: CPUs this process may use, at most 2 (one on a one-CPU machine: a serial run); two processes keep
#: the reference mission under 1.5 GB (docs/benchmarks.md, "M: run overhead, worker scheduling and
#: memory", measured on 2 cores).
COMMAND_LINE_WORKERS = "auto"


def usable_cpus() -> int:
    """The CPUs this process may use (its affinity where the system says, else the machine's count)."""
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def analysis_workers(workers=None) -> int:
    """How many processes run the analyses: ``workers`` (an int >= 1, or ``"auto"``: the CPUs this
    process may use, at most 2), else $MMXSIM_WORKERS (the same forms), else :data:`DEFAULT_WORKERS`."""
    import os

    field, value = "workers", workers
    if value is None:
        field, value = f"${WORKERS_ENV}", os.environ.get(WORKERS_ENV)
        if value is None or value.strip() == "":
            return DEFAULT_WORKERS
    if isinstance(value, str):
        v = value.strip().lower()
        if v == "auto":
            return max(1, min(2, usable_cpus()))
        try:
            value = int(v)
        except ValueError:
            raise InputError(field, workers if field == "workers" else value, "auto or a whole number >= 1") from None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(field, value, "auto or a whole number >= 1")
    return int(value)


def _analysis_context(scenario_data, base_dir, t=None, states=None, pfix=None):
    """In an analysis worker process: (the scenario, the ctx of :func:`run_scenario`) rebuilt from the
    scenario's plain data and the propagated arrays (the same model and ephemeris, built again: an
    ephemeris holds open files and cannot be sent between processes). Without the arrays (``t``
    None: a worker started before the propagation) the ctx lacks ``t``, ``states`` and
    ``phobos_fixed``, which each task then brings."""
    from ..scenario import parse_scenario

    s = parse_scenario(scenario_data, "<analysis worker>", base_dir=base_dir, coverage=False)
    model, eph = build_model(s, base_dir)
    ctx = {"eph": eph, "orientation": body_orientation(model.rotation_pck), "model": model}
    if t is not None:
        ctx.update(t=t, states=states, phobos_fixed=pfix)
    return s, ctx


def _peak_rss_bytes() -> int | None:
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return None
    import sys

    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(r if sys.platform == "darwin" else r * 1024)


def run_scenario(s, base_dir=None, progress=None, analysis_progress=None, workers=None) -> RunResult:
    """Propagate a scenario and post-process it into a :class:`RunResult`.

    ``progress(fraction)`` follows the propagation; ``analysis_progress(name)`` is called as each
    analysis starts (``None`` once all are done; with several workers, as each analysis' section is
    collected, in order). ``workers``: processes for the analyses, this one included (:func:`analysis_workers`: an int,
    ``"auto"``, or None for $MMXSIM_WORKERS, else 1); the results are the same whatever the number.
    The result's ``timings`` carry ``analysis_workers``, ``peak_rss_mb`` (this process' peak resident
    memory) and, with workers, ``workers_peak_rss_mb`` (the sum of the other processes' peaks: with
    ``peak_rss_mb``, a bound on what the run held at once). With workers, they start before the
    propagation (:class:`mmxsim.analyses.AnalysisWorkers`: their start-up overlaps it) and the
    metadata's ``analysis_schedule`` says where and when each analysis ran; the workers take the
    analyses that need no trajectory (:data:`mmxsim.analyses.NO_TRAJECTORY`) while this process
    still propagates (their ``start_s`` there is negative: seconds before the trajectory was ready)."""
    from .. import analyses as _analyses
    from ..scenario import scenario_to_dict

    n_workers = analysis_workers(workers)
    pool = None
    if n_workers > 1 and len(_analyses.task_groups(s.analyses)) > 1:
        # the workers start (interpreter, imports, scenario, model) while this process propagates
        pool = _analyses.AnalysisWorkers(n_workers - 1, (_analysis_context, (
            scenario_to_dict(s), None if base_dir is None else str(base_dir))))
    try:
        if pool is not None:  # the analyses that need no trajectory start in the workers meanwhile
            pool.begin(s)
        return _run_scenario(s, base_dir, progress, analysis_progress, n_workers, pool)
    except BaseException:
        if pool is not None:
            pool.close(wait=False)
            pool = None
        raise
    finally:
        if pool is not None:  # its tasks are done: the workers exit while this process goes on
            pool.release()


def _run_scenario(s, base_dir, progress, analysis_progress, n_workers, pool) -> RunResult:
    from ..version import __version__
    from ..dynamics import propagate
    from ..frames import from_mars_icrf
    from ..scenario import scenario_to_dict

    t_build = _time.perf_counter()
    model, eph = build_model(s, base_dir)
    orient = body_orientation(model.rotation_pck)
    t0, t1 = float(s.t0_tdb), float(s.t1_tdb)
    for body in ["MARS", *sorted(model.bodies())]:
        lo, hi = eph.coverage(body)
        if t0 < lo or t1 > hi:
            from ..errors import CoverageError
            from ..time import iso_tdb

            bad = t0 if t0 < lo else t1
            raise CoverageError(body, iso_tdb(bad), (iso_tdb(lo), iso_tdb(hi)), getattr(eph, "name", "ephemeris"))
    x0 = initial_state(s, t0, eph, orient)
    step = float(s.propagation.output_step_s)
    n = int(np.floor((t1 - t0) / step + 1e-9))
    grid = t0 + step * np.arange(n + 1)
    if grid[-1] < t1 - 1e-6:
        grid = np.r_[grid, t1]
    prep_s = _time.perf_counter() - t_build
    prop = propagate(model, t0, x0, grid, t1, progress=progress)
    if prop.t.size == 0:
        raise MmxsimError(f"propagation produced no samples ({prop.termination})")
    t_post = _time.perf_counter()
    traj = Trajectory(prop.t, prop.states, "MARS", "ICRF", "MMX", "MMX")
    hill = from_mars_icrf("PHOBOS_HILL", prop.t, prop.states, eph)
    pfix = from_mars_icrf("PHOBOS_FIXED", prop.t, prop.states, eph, orient)
    surface = altitude_surface(s)
    dist = np.linalg.norm(hill[:, :3], axis=1)
    alt = surface.altitude(pfix[:, :3])
    events = [Event(kind, t, body, term) for kind, body, t, term in prop.events]
    post_s = _time.perf_counter() - t_post
    import heyoka

    from .. import analyses as _analyses

    t_an = _time.perf_counter()
    sections = _analyses.run_analyses(s, {"t": prop.t, "states": prop.states, "eph": eph, "orientation": orient,
                                          "phobos_fixed": pfix, "model": model}, progress=analysis_progress,
                                      workers=n_workers, pool=pool,
                                      worker_ctx={"t": prop.t, "states": prop.states, "phobos_fixed": pfix})
    concurrent = pool is not None
    worker_peaks = list(_analyses.last_worker_peaks) if concurrent else []
    schedule = list(_analyses.last_schedule) if concurrent else []
    if analysis_progress is not None:
        analysis_progress(None)
    analyses_s = _time.perf_counter() - t_an
    from ..results import phobos_epochs

    tp = phobos_epochs(prop.t)
    peak = _peak_rss_bytes()
    phobos = Trajectory(tp, np.atleast_2d(eph.state("PHOBOS", "MARS", tp)), "MARS", "ICRF", "PHOBOS", "401")
    return RunResult(
        scenario_name=s.name,
        trajectory=traj,
        hill=Trajectory(prop.t, hill, "PHOBOS", "PHOBOS_HILL"),
        phobos_fixed=Trajectory(prop.t, pfix, "PHOBOS", "PHOBOS_FIXED"),
        distance_phobos_km=dist,
        altitude_phobos_km=alt,
        events=events,
        assumptions=assumptions(s, model) + switch_lines(prop),
        force_model=model.describe(),
        timings={"setup_s": prep_s, "compile_s": prop.compile_s, "propagate_s": prop.propagate_s,
                 "postprocess_s": post_s, "analyses_s": analyses_s, "integrator_steps": prop.n_steps,
                 "analysis_workers": n_workers,
                 **({} if peak is None else {"peak_rss_mb": round(peak / 2**20, 1)}),
                 **({"workers_peak_rss_mb": round(sum(worker_peaks) / 2**20, 1)} if worker_peaks else {})},
        metadata={"mmxsim": __version__, "heyoka": heyoka.__version__, "python": platform.python_version(),
                  "versions": library_versions(),
                  "tolerance": s.propagation.tolerance, "propagation_frame": "Mars-centred ICRF",
                  "time_system": "TDB", "ephemeris_sources": ephemeris_sources(model),
                  "scenario_sha256": scenario_digest(s), "seeds": analysis_seeds(s),
                  "scenario": scenario_to_dict(s),
                  **({"analysis_schedule": schedule} if schedule else {})},
        termination=prop.termination,
        sections=sections,
        altitude_surface=surface.label,
        phobos=phobos,
    )
