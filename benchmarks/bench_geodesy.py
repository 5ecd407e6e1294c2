"""Benchmark: covariance analysis of a 30-day low QSO for Phobos geodesy (issue 17).

The problem. The campaign's low QSO (``QSO-LB``, 25 km radial size, :func:`mmxsim.orbits.campaign.mmx_campaign`,
handed to the full model by :func:`mmxsim.orbits.handoff.handoff` at the reference scenario's epoch) flown
30 days in the reference force model (Mars J2..J4, Phobos harmonics to degree 8, Sun, Earth, Deimos, SRP with
Mars and Phobos shadows; :func:`mmxsim.orbits.handoff.full_model` with ``srp=True``; tol 1e-12). Data:

* two-way X-band Doppler every 60 s (count time 60 s, 0.1 mm/s) in the tracks the ground plan books
  (:func:`mmxsim.analyses._navigation.booked_tracks` on the ``od`` analysis' six stations, as the ``od``
  analysis builds them with ``tracks: booked``; ``--tracks visible``: the visible passes capped to one antenna
  at a time, as ``bench_od.py``), troposphere and Shapiro in the model;
* 200 landmark images a day, evenly spaced, with OROCHI's wide-angle pinhole (IFOV 1 mrad, an ASSUMPTION of
  :mod:`mmxsim.navigation.optical`), nadir-pointed, on ``--landmarks`` (default 200) well-spread facet
  centroids of the Ernst shape, a row pair (u, v) per landmark in the image, visible and lit, 0.3 px
  (UNCONFIRMED, the optical model's default);
* LIDAR ranges at 1 Hz along the nadir boresight, the whole arc, with Senshu et al. 2021's accuracy
  (:mod:`mmxsim.navigation.altimetry`).

Estimated: the spacecraft state, Cr A/m, three constant empirical accelerations (RTN), Phobos GM, its
normalised Stokes coefficients of degrees 2..5 (32), its forced libration amplitude, a correction of its
ephemeris (six state parameters at the arc's epoch, ``PhobosGravity(ephemeris_parameters=True)`` and
:mod:`mmxsim.dynamics.phobos_correction`, used by the dynamics and by the camera and LIDAR models), a constant
camera pointing bias (3 angles) and a LIDAR range bias: 54 parameters. A priori: the ``od`` analysis'
defaults (1 km, 100 mm/s, 10 %, 1 nm/s², 6e-7 km³/s² (Jacobson 2010), 0.01 per coefficient (ASSUMED),
0.03° (Burmeister 2018)); Phobos' state 0.3 km and 7 cm/s per axis ("a few hundred metres", Lainey et al.
2021; ASSUMED reading); pointing bias 1 mrad and LIDAR bias 5 m (ASSUMED). Landmark positions are known (not
estimated, not considered). This is a covariance analysis: the partials are taken at the truth; no data are
simulated and nothing iterates.

Timed, in the same run:

* mmxsim: the variational trajectory (:class:`mmxsim.navigation.variational.Trajectory`, heyoka's
  variational equations for the state and the 38 dynamical parameters, one integration), the partials of
  each data kind (the Doppler model :func:`mmxsim.navigation.measurements.compute`, the landmark and LIDAR
  models :func:`~mmxsim.navigation.optical.landmark_observations` and
  :func:`~mmxsim.navigation.altimetry.lidar_observations` with their analytic partials, chained with the
  trajectory's sensitivity), and the information accumulation (whitened HᵀH per kind, in chunks of a few
  hours of rows, plus the a priori, and the inversion). Compile time is excluded (the first, untimed,
  trajectory compiles the integrator; later runs load it from heyoka's cache).
* The straightforward baseline: ``solve_ivp(method="DOP853", rtol 3e-14, atol 3e-17 km)`` with dense output on
  :func:`mmxsim.dynamics.numpy_rhs` (same forces, same Chebyshev third bodies), one re-propagation per state
  component and dynamical parameter, every measurement recomputed from each trajectory by the same models
  (Doppler by ``compute``; landmarks by a pinhole projection of the same (image, landmark) pairs written
  here; LIDAR as the distance along the boresight to the plane of the facet the nominal shot hit, the facet
  the model's partial holds: a difference across a facet edge mixes two slopes (with the ray cast redone
  per perturbation, the libration column differed by 9 % on a 30-min arc)), forward-difference columns (the LIDAR bias
  column exact), HᵀWH accumulated in NumPy. A 30-day baseline would take about 13 hours (a DOP853
  propagation of this QSO costs ~1.4 s per hour of arc at this tolerance), so it runs on two short arcs
  (``--baseline-hours``, default 1 and 2 h, starting 40 min before the first Doppler track so that every
  kind has rows) and its cost is extrapolated linearly in arc length to the mmxsim arc (the two lengths
  measure the slope); mmxsim is timed on those same short arcs too (a measured ratio). ``--baseline-columns
  N`` times only N of the columns and scales the time by columns (each column is one propagation and one
  evaluation of every model).

Agreement of the two covariances, on the short arc, same a priori: the σ of every Phobos parameter
(baseline / mmxsim - 1), and the whitened Jacobian columns (relative difference of each column's norm).

Printed: rows per kind, parameters, wall time of each stage, total, the baseline's times and the ratios,
the goal (mmxsim <= 60 s for the 30-day case on 2 cores) met or not, σ of GM, C20, C22 and the libration per
data combination (Doppler; + landmarks; + LIDAR), and the agreement.

Run:  python benchmarks/bench_geodesy.py [--quick] [--days 30] [--tracks booked|visible]
      [--baseline-hours 1,2] [--baseline-columns N] [--skip-baseline]
``--quick``: a 12-hour arc; the baseline on the 1-h arc with 6 columns (x, vx, GM, C20, C22, libration), its
cost per hour and per row taken from that arc (not representative).
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from mmxsim.orbits.handoff import PHOBOS_PERIOD_S  # the QSO's revolution = Phobos' orbital period, 7.654 h

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

IMAGES_PER_DAY = 200  # the benchmark setting
LIDAR_RATE_HZ = 1.0  # the benchmark setting
POINTING_SIGMA_RAD = 1e-3  # a priori camera pointing bias per axis, ASSUMED (no MMX figure)
LIDAR_BIAS_SIGMA_KM = 5e-3  # a priori LIDAR range bias, ASSUMED (no MMX figure)
BIAS_NAMES = ("bias:camera_x", "bias:camera_y", "bias:camera_z", "bias:lidar")
PHOBOS_STATE = ("phobos:dx", "phobos:dy", "phobos:dz", "phobos:dvx", "phobos:dvy", "phobos:dvz")
# a priori of Phobos' ephemeris correction: "a few hundred metres" (Lainey et al. 2021, abstract) read as
# 0.3 km per axis (ASSUMED), and that times Phobos' mean motion (2.28e-4 rad/s) for the velocity (ASSUMED)
PHOBOS_POSITION_SIGMA_KM = 0.3
PHOBOS_VELOCITY_SIGMA_KM_S = 7e-5
CHUNK_S = 6 * 3600.0  # rows are accumulated in chunks of this much arc
DOPPLER_LEAD_S = 2400.0  # a two-way Doppler row needs its count time and round-trip light time in the arc


# ---------------------------------------------------------------------------------------------
# The problem
# ---------------------------------------------------------------------------------------------
@dataclass
class Case:
    """A covariance problem: truth, models and data epochs (no values: the partials are at the truth)."""

    t0: float
    t1: float
    x0: np.ndarray
    model: object
    eph: object
    doppler: object  # OrbitProblem with the Doppler rows (elevation-checked)
    shape: object
    landmarks: object
    camera: object
    t_img: np.ndarray
    t_lidar: np.ndarray
    names: list
    p_true: np.ndarray
    sigma0: np.ndarray
    notes: list = field(default_factory=list)

    @property
    def dyn(self):
        return [n for n in self.names[6:] if not n.startswith("bias:")]


def phobos_state_available() -> bool:
    """Whether PhobosGravity offers the ephemeris-correction parameters (issue 17, phobos_correction)."""
    import inspect

    from mmxsim.dynamics.forces import PhobosGravity

    return "ephemeris_parameters" in inspect.signature(PhobosGravity).parameters


def geodesy_model(model, t_e: float):
    """``model`` with Phobos' ephemeris correction (phobos:dx .. dvz at ``t_e``, zero: the truth is the
    ephemeris) as runtime parameters too, where the force model offers them."""
    if not phobos_state_available():
        return model
    from mmxsim.dynamics import DynamicsModel
    from mmxsim.dynamics.forces import PhobosGravity

    forces = []
    for f in model.forces:
        if isinstance(f, PhobosGravity):
            f = PhobosGravity(f.model, f.degree, near_surface=f.near_surface, gm_parameter=f.gm_parameter,
                              estimate_degree=f.estimate_degree, libration_parameter=f.libration_parameter,
                              ephemeris_parameters=True, ephemeris_epoch=t_e)
        forces.append(f)
    return DynamicsModel(forces=forces, ephemeris=model.ephemeris, events=[], tolerance=model.tolerance,
                         analytic_bodies=model.analytic_bodies, rotation_pck=model.rotation_pck,
                         compact_mode=model.compact_mode)


def phobos_force(model):
    from mmxsim.dynamics.forces import PhobosGravity

    return next(f for f in model.forces if isinstance(f, PhobosGravity))


class Truth:
    """The reference trajectory: QSO-LB handed off at the scenario's epoch, flown ``days`` (+ margins)."""

    def __init__(self, days: float, qso: str = "QSO-LB"):
        from mmxsim.analyses._navigation import od_model
        from mmxsim.dynamics import propagate
        from mmxsim.mission.runner import build_model
        from mmxsim.orbits.campaign import MMX_CAMPAIGN, mmx_campaign
        from mmxsim.orbits.handoff import full_model, handoff
        from mmxsim.scenario import reference_scenario

        s = reference_scenario()
        _, eph = build_model(s)
        spec = [sp for sp in MMX_CAMPAIGN if sp.name == qso]
        q = mmx_campaign(specs=spec).orbits[0].qso
        self.fm = full_model(eph, srp=True)
        h = handoff(q, float(s.t0_tdb), days=1.0, model=self.fm)
        self.t0, self.x0, self.eph = float(h.t0_tdb), np.asarray(h.x0, float), eph
        self.qso = f"{qso} ({q.radial_semi_axis_km:.1f} x {q.along_track_semi_axis_km:.1f} km, "\
                   f"min. surface distance {q.min_surface_distance_km:.1f} km)"
        # the od model: GM, the degree-2..5 field and the libration amplitude runtime parameters, plus
        # empirical accelerations (zero: the truth has none)
        self.model = geodesy_model(od_model(self.fm, True, True, 5, True), self.t0)
        grid = np.arange(self.t0, self.t0 + days * 86400.0 + 3 * 3600.0 + 1.0, 600.0)
        run = propagate(self.fm, self.t0, self.x0, grid, near_surface=False)
        self.t, self.states = run.t, run.states
        from mmxsim.bodies.shapes import phobos_shape

        self.shape = phobos_shape("ernst")  # one object: its BVH is built once per process

    def state_at(self, t):
        i = int(np.searchsorted(self.t, t))
        if abs(self.t[i] - t) > 1e-6:
            raise ValueError("arc starts on the 600-s grid of the truth")
        return float(self.t[i]), np.asarray(self.states[i], float)


def quiet_start(truth: Truth, rows, hours: float, t_from: float) -> float:
    """The first epoch on the truth's grid from ``t_from`` on such that ``hours`` of arc hold at least 10
    Doppler rows and no edge of Phobos' shadow: DOP853 crosses that edge (a sharp penumbra: Phobos is
    small and near) in thousands of tiny steps (40 s for the 15 min around it, against < 1 s elsewhere,
    measured), which would make the short arc's timing a measure of that one event. The profile over
    whole revolutions includes these crossings."""
    from scipy.interpolate import CubicSpline

    t = np.arange(truth.t[0], truth.t[-1], 30.0)
    x = CubicSpline(truth.t, truth.states[:, :3])(t)
    ph = np.asarray(truth.eph.state("PHOBOS", "MARS", t), float)[:, :3]
    u = np.asarray(truth.eph.state("SUN", "MARS", t), float)[:, :3]
    u /= np.linalg.norm(u, axis=1)[:, None]
    d = x - ph
    along = np.sum(d * u, axis=1)
    off = np.linalg.norm(d - along[:, None] * u, axis=1)
    shadow = (along < 0) & (off < 1.5 * 13.5)  # 1.5 x Phobos' largest radius (Ernst shape, ~13.5 km)
    edges = t[1:][np.diff(shadow.astype(int)) != 0]
    for s0 in truth.t[truth.t >= t_from]:
        s1 = s0 + hours * 3600.0
        if s1 > truth.t[-1] - 3 * 3600.0:
            break
        n_dop = np.sum((rows.t - rows.count_time - DOPPLER_LEAD_S >= s0) & (rows.t <= s1))
        if n_dop >= 10 and not np.any((edges > s0 - 600.0) & (edges < s1 + 600.0)):
            return float(s0)
    return float(t_from)


def doppler_rows(truth: Truth, t0: float, t1: float, tracks: str):
    """(stations, tracks, rows) of two-way Doppler every 60 s inside [t0, t1]."""
    from mmxsim.analyses._navigation import DEFAULT_STATIONS, booked_tracks, ground_stations, visible_tracks
    from mmxsim.navigation.schedule import ScheduleSettings, schedule

    stations, catalogue = ground_stations(DEFAULT_STATIONS, truth.eph, t0, t1)
    if tracks == "booked":
        trk, blackouts = booked_tracks(catalogue, truth.t, truth.states, truth.eph, t0, t1, "X")
    else:
        from bench_od import cap_tracks

        trk, blackouts = visible_tracks(catalogue, truth.t, truth.states, truth.eph, t0, t1, "X", 8.0)
        trk = cap_tracks(trk)
    sset = ScheduleSettings(doppler_interval_s=60.0, count_time_s=60.0, doppler_sigma_mm_s=0.1,
                            range_interval_s=0.0, uplink_band="X", downlink_band="X")
    rows = schedule(trk, sset, blackouts)
    return stations, trk, rows


def build_case(truth: Truth, t0: float, t1: float, stations, rows, n_landmarks: int) -> Case:
    """The covariance problem on [t0, t1] (t0 on the truth's grid) with the Doppler rows inside it."""
    from mmxsim.analyses._navigation import ELEVATION_MASK_DEG, apriori_sigmas
    from mmxsim.analyses.od import OdAnalysis
    from mmxsim.navigation.measurements import MeasurementSettings, elevation_mask
    from mmxsim.navigation.od import OrbitProblem, Prior
    from mmxsim.navigation.optical import OROCHI_PINHOLE, select_landmarks
    from mmxsim.navigation.variational import estimable_parameters

    t0, x0 = truth.state_at(t0)
    rows = rows.select((rows.t - rows.count_time - DOPPLER_LEAD_S >= t0) & (rows.t <= t1))
    model = truth.model
    dyn = estimable_parameters(model)
    mvals = {}
    for f in model.forces:
        mvals.update(f.parameters())
    names = ["x", "y", "z", "vx", "vy", "vz", *dyn, *BIAS_NAMES]
    values = dict(zip(names[:6], x0))
    values.update({k: float(mvals[k]) for k in dyn})
    values.update({k: 0.0 for k in BIAS_NAMES})
    cfg = OdAnalysis()
    sig = apriori_sigmas(cfg, [k for k in names if k not in BIAS_NAMES and k not in PHOBOS_STATE], values)
    sig.update({k: PHOBOS_POSITION_SIGMA_KM if k in PHOBOS_STATE[:3] else PHOBOS_VELOCITY_SIGMA_KM_S
                for k in names if k in PHOBOS_STATE})
    sig.update({k: POINTING_SIGMA_RAD for k in BIAS_NAMES[:3]}, **{"bias:lidar": LIDAR_BIAS_SIGMA_KM})
    state = [Prior(values[k], sig[k]) for k in names[:6]]
    settings = MeasurementSettings(troposphere=True, shapiro=True)
    prob = OrbitProblem(model, t0, t1, rows, stations, state, estimate={k: Prior(values[k], sig[k]) for k in dyn},
                        settings=settings, ephemeris=truth.eph, elevation_mask_deg=None)
    notes = []
    if len(rows):  # drop rows whose uplink leg is below the horizon (as the od analysis does)
        _, comp, _ = prob.computed(prob.p0)
        keep = elevation_mask(comp, ELEVATION_MASK_DEG)
        if not keep.all():
            notes.append(f"{int(np.sum(~keep))} Doppler rows dropped (uplink leg below the horizon)")
        prob = OrbitProblem(model, t0, t1, rows.select(keep), stations, state, estimate=prob.estimate,
                            settings=settings, ephemeris=truth.eph, elevation_mask_deg=None)
    shape = truth.shape
    dt_img = 86400.0 / IMAGES_PER_DAY
    t_img = np.arange(t0 + 0.5 * dt_img, t1, dt_img)
    t_lidar = np.arange(t0 + 1.0, t1 - 1e-6, 1.0 / LIDAR_RATE_HZ)
    return Case(t0, t1, x0, model, truth.eph, prob, shape, select_landmarks(shape, n_landmarks), OROCHI_PINHOLE,
                t_img, t_lidar, names, np.array([values[k] for k in names]), np.array([sig[k] for k in names]),
                notes)


def _pose(case: Case, libration: float):
    from mmxsim.navigation.optical import phobos_pose

    return phobos_pose(libration)


def _geometry(case: Case, t, sc_bary, delta=None):
    """Mars-centred spacecraft, Phobos and Sun positions (km) at ``t`` from SSB spacecraft states."""
    mars = np.asarray(case.eph.state("MARS", "SSB", t), float).reshape(-1, 6)
    return (sc_bary[:, :3] - mars[:, :3], *_bodies(case, t, delta))


def _bodies(case: Case, t, delta=None):
    """Mars-centred Phobos and Sun positions (km) at ``t``; Phobos corrected by ``delta`` (phobos:dx ..
    dvz) through the dynamics' own mapping, when given."""
    ph = np.asarray(case.eph.state("PHOBOS", "MARS", t), float).reshape(-1, 6)[:, :3]
    sun = np.asarray(case.eph.state("SUN", "MARS", t), float).reshape(-1, 6)
    if delta is not None:
        from mmxsim.dynamics.phobos_correction import phobos_state_correction

        ph = ph + phobos_state_correction(t, phobos_force(case.model).ephemeris_frame, delta)[0][:, :3]
    return ph, sun[:, :3]


def phobos_state_jacobian(case: Case, t):
    """(N, 3, 6) partials of Phobos' corrected position with respect to phobos:dx .. dvz, or None."""
    if not any(k in case.names for k in PHOBOS_STATE):
        return None
    from mmxsim.dynamics.phobos_correction import phobos_state_correction

    return phobos_state_correction(t, phobos_force(case.model).ephemeris_frame)[1][:, :3, :]


def position_and_sensitivity(traj, t):
    """Mars-centred positions (N, 3) and their partials (N, 3, n) from ONE evaluation of the variational
    trajectory's continuous output (``Trajectory.state`` and ``.sensitivity`` would evaluate it twice, and
    the optical and LIDAR partials need only the position rows). Uses the Trajectory's internals (no
    manoeuvres here); a public ``state_and_sensitivity`` would be the library's version of this."""
    raw = traj._raw(np.asarray(t, float))
    S = raw[:, 6:].reshape(-1, 6, traj._nargs)[:, :3, :] * (1.0 / traj._scales)
    return raw[:, :3], S


def warm_up(case: Case):
    """Compile the variational integrator and the ray casting (numba), build the shape's BVH: once per
    process, outside the timings."""
    from mmxsim.navigation.altimetry import lidar_observations
    from mmxsim.navigation.optical import landmark_observations
    from mmxsim.navigation.variational import Trajectory

    t = case.t_img[:25]  # some images with landmarks in view (the visibility and lighting ray casts)
    traj = Trajectory(case.model, case.t0, case.x0, float(t[-1]) + 1.0, parameters=case.dyn)
    r, _ = position_and_sensitivity(traj, t)
    q, sun = _bodies(case, t)
    pose = _pose(case, case.p_true[case.names.index("phobos:libration")])
    if not len(landmark_observations(case.shape, case.landmarks, case.camera, t, r, q, pose, sun)):
        print("  (warm-up: no landmark in view in the first images; the first timing includes the JIT)")
    lidar_observations(case.shape, t, r, q, pose)


def _chunks(t, span):
    if len(t) == 0:
        return
    edges = np.arange(t[0], t[-1] + span, span)
    idx = np.searchsorted(t, edges)
    for a, b in zip(idx[:-1], idx[1:]):
        if b > a:
            yield slice(a, b)


# ---------------------------------------------------------------------------------------------
# mmxsim: variational equations, analytic measurement partials, chunked information
# ---------------------------------------------------------------------------------------------
class MmxsimCovariance:
    """Per-kind information matrices of a :class:`Case` (see module doc); ``timings`` per stage."""

    def __init__(self, case: Case, keep_rows: bool = False):
        self.case = case
        self.timings = {}
        self.rows = {}
        self.keep_rows = keep_rows  # keep every chunk's rows and H (the baseline recomputes the same rows)

    def _cols(self, traj_names):
        names = self.case.names
        return [traj_names.index(n) for n in names if n in traj_names], [names.index(n) for n in names if n in traj_names]

    def run(self):
        c = self.case
        n = len(c.names)
        lib_col = c.names.index("phobos:libration")
        T = time.perf_counter
        a = T()
        traj = c.doppler.trajectory(c.doppler.p0)
        self.timings["propagation (variational)"] = T() - a
        self.traj = traj
        src, dst = self._cols(traj.names)
        info = {k: np.zeros((n, n)) for k in ("doppler", "landmark", "lidar")}
        part = {"doppler": 0.0, "landmark": 0.0, "lidar": 0.0}
        acc = 0.0
        # Doppler: the measurement model's state partials at the bounce epochs chained with the sensitivity
        a = T()
        from mmxsim.navigation.measurements import compute

        d = c.doppler.data
        if len(d):
            comp = compute(d, traj, c.doppler.stations, c.doppler.settings, c.eph)
            H = np.zeros((len(d), n))
            for j in range(comp.bounce_hi.shape[1]):
                ok = np.isfinite(comp.bounce_hi[:, j])
                if ok.any():
                    S = traj.sensitivity(comp.bounce_hi[ok, j], comp.bounce_lo[ok, j])
                    dh = np.einsum("ki,kin->kn", comp.d_value_d_state[ok, j, :], S)
                    H[np.ix_(np.flatnonzero(ok), dst)] += dh[:, src]
            H /= d.sigma[:, None]
        else:
            H = np.zeros((0, n))
        part["doppler"] += T() - a
        a = T()
        info["doppler"] += H.T @ H
        acc += T() - a
        self.rows["doppler"] = len(d)
        self.H_doppler = H
        # landmarks and LIDAR, chunk by chunk
        from mmxsim.navigation.altimetry import lidar_observations
        from mmxsim.navigation.optical import landmark_observations

        pose = _pose(c, c.p_true[lib_col])
        cam_cols = [c.names.index(k) for k in BIAS_NAMES[:3]]
        lid_col = c.names.index("bias:lidar")
        ph_cols = [c.names.index(k) for k in PHOBOS_STATE if k in c.names]
        self.rows["landmark"] = self.rows["lidar"] = 0
        self.H_landmark, self.H_lidar = [], []
        for kind, t_all in (("landmark", c.t_img), ("lidar", c.t_lidar)):
            for sl in _chunks(t_all, CHUNK_S):
                a = T()
                t = t_all[sl]
                r, S = position_and_sensitivity(traj, t)
                q, sun = _bodies(c, t)
                if kind == "landmark":
                    o = landmark_observations(c.shape, c.landmarks, c.camera, t, r, q, pose, sun)
                    idx = o.image
                else:
                    o = lidar_observations(c.shape, t, r, q, pose)
                    idx = o.shot
                H = np.zeros((len(o), n))
                H[:, dst] = np.einsum("ki,kin->kn", o.d_value_d_state[:, 0, :3], S[idx])[:, src]
                H[:, lib_col] += o.d_value_d_pose[:, 0]
                J = phobos_state_jacobian(c, t)
                if J is not None:  # Phobos' corrected position moves the surface the camera and LIDAR see
                    H[:, ph_cols] += np.einsum("ki,kin->kn", o.d_value_d_phobos[:, :3], J[idx])
                if kind == "landmark":
                    H[:, cam_cols] = o.d_value_d_pointing
                else:
                    H[:, lid_col] = 1.0
                H /= o.sigma[:, None]
                part[kind] += T() - a
                a = T()
                info[kind] += H.T @ H
                acc += T() - a
                self.rows[kind] += len(o)
                if self.keep_rows:
                    getattr(self, f"H_{kind}").append((o, H))
        for k, v in part.items():
            self.timings[f"partials: {k}"] = v
        a = T()
        self.info = info
        self.covariance = {combo: covariance(sum(info[k] for k in kinds), c.sigma0)
                           for combo, kinds in COMBOS.items()}
        self.timings["information + inversion"] = acc + T() - a
        self.timings["total"] = sum(v for k, v in self.timings.items() if k != "total")
        return self


COMBOS = {"Doppler": ("doppler",), "Doppler + landmarks": ("doppler", "landmark"),
          "Doppler + landmarks + LIDAR": ("doppler", "landmark", "lidar")}


def covariance(info, sigma0):
    """(N + P0^-1)^-1 by a Cholesky factorisation of the scaled matrix (the parameters span 1e-12..1e4)."""
    s = sigma0
    A = info * s[:, None] * s[None, :] + np.eye(len(s))
    L = np.linalg.cholesky(A)
    Li = np.linalg.inv(L)
    return (Li.T @ Li) * s[:, None] * s[None, :]


# ---------------------------------------------------------------------------------------------
# Baseline: SciPy DOP853 + finite differences + NumPy normal equations
# ---------------------------------------------------------------------------------------------
class ScipyCovariance:
    """The same covariance, written the straightforward way (see module doc)."""

    # forward-difference steps: 10 m, 1 mm/s (bench_od's, checked there against the variational
    # partials); the acceleration is linear in Cr A/m, the empirical accelerations and the Stokes
    # coefficients, so those steps are large (50 %, 1e-9 km/s^2, 0.01: metres of effect in an hour);
    # 1e-3 of GM; 5e-4 rad of libration (5 m at Phobos' surface); 1e-4 rad of pointing.
    STEPS = {"x": 1e-2, "y": 1e-2, "z": 1e-2, "vx": 1e-6, "vy": 1e-6, "vz": 1e-6, "phobos:dx": 1e-2,
             "phobos:dy": 1e-2, "phobos:dz": 1e-2, "phobos:dvx": 1e-6, "phobos:dvy": 1e-6, "phobos:dvz": 1e-6,
             "emp:r": 1e-9, "emp:t": 1e-9,
             "emp:n": 1e-9, "phobos:libration": 5e-4, "bias:camera_x": 1e-4, "bias:camera_y": 1e-4,
             "bias:camera_z": 1e-4}
    REL = {"srp:cr_area_over_mass": 0.5, "phobos:gm": 1e-3}
    STOKES_STEP = 1e-2

    def __init__(self, case: Case, mm: MmxsimCovariance, rtol: float = 3e-14, atol: float = 3e-17):
        self.c, self.rtol, self.atol = case, rtol, atol
        self.timings = {"propagations (DOP853)": 0.0, "measurements": 0.0, "information + inversion": 0.0}
        self.n_prop = 0
        self.n_eval = 0
        self.meas_s = {"doppler": 0.0, "landmark": 0.0, "lidar": 0.0}
        # the nominal rows (which images see which landmarks, which shots hit) are mmxsim's: the baseline
        # recomputes the values of the same rows
        self.mm = mm

    def step(self, name, value):
        if name in self.STEPS:
            return self.STEPS[name]
        if name in self.REL:
            return self.REL[name] * abs(value)
        if name.startswith("phobos:C") or name.startswith("phobos:S"):
            return self.STOKES_STEP
        raise KeyError(name)

    def model_with(self, v: dict):
        from mmxsim.dynamics.forces import EmpiricalAcceleration, PhobosGravity, SolarRadiationPressure

        m = copy.copy(self.c.model)
        forces = []
        for f in m.forces:
            f = copy.copy(f)
            if isinstance(f, PhobosGravity):
                f.gm = v["phobos:gm"]
                f.coefficients = {k: v[f"phobos:{k}"] for k in f.coefficients}
                f.libration = v["phobos:libration"]
                if getattr(f, "ephemeris_parameters", False):
                    f.ephemeris_correction = [v[k] for k in PHOBOS_STATE]
            elif isinstance(f, SolarRadiationPressure):
                f.cram = v["srp:cr_area_over_mass"]
            elif isinstance(f, EmpiricalAcceleration):
                f.values = tuple(v[k] for k in f.NAMES)
            forces.append(f)
        m.forces = forces
        return m

    def propagate(self, v):
        from scipy.integrate import solve_ivp

        from mmxsim.dynamics import numpy_rhs

        a = time.perf_counter()
        rhs = numpy_rhs(self.model_with(v), cheb_origin=self.c.t0)
        x0 = np.array([v[k] for k in ("x", "y", "z", "vx", "vy", "vz")])
        sol = solve_ivp(rhs, (self.c.t0, self.c.t1), x0, method="DOP853", rtol=self.rtol, atol=self.atol,
                        dense_output=True)
        self.timings["propagations (DOP853)"] += time.perf_counter() - a
        self.n_prop += 1
        if sol.status != 0:
            raise RuntimeError(f"solve_ivp: {sol.message}")
        return sol

    def values(self, sol, v):
        """Every row's computed value (whitened) for a trajectory and parameter values."""
        from bench_od import ScipyTrajectory

        from mmxsim.navigation.altimetry import lidar_observations
        from mmxsim.navigation.measurements import compute
        from mmxsim.navigation.optical import camera_frame, camera_intrinsics, pointing_rotation

        a = time.perf_counter()
        c = self.c
        traj = ScipyTrajectory(sol.sol, c.eph)
        out = []
        d = c.doppler.data
        if len(d):
            out.append(compute(d, traj, c.doppler.stations, c.doppler.settings, c.eph).value / d.sigma)
        self.meas_s["doppler"] += time.perf_counter() - a
        a1 = time.perf_counter()
        pose = _pose(c, v["phobos:libration"])
        cam = camera_intrinsics(c.camera)
        th = np.array([v[k] for k in BIAS_NAMES[:3]])
        delta = np.array([v[k] for k in PHOBOS_STATE]) if PHOBOS_STATE[0] in v else None
        for o, _ in self.mm.H_landmark:
            t = o.t[::2]
            r, q, _sun = _geometry(c, t, traj.state(t), delta)
            R = pose(t)[0]
            s = np.einsum("nji,nj->ni", R, r - q)  # body-fixed spacecraft
            C = camera_frame(s)[0]
            E = pointing_rotation(np.broadcast_to(th, (len(t), 3)))[0]
            L = c.landmarks.position_km[o.landmark[::2]]
            cc = np.einsum("nab,nb->na", E @ C, L - s)
            uv = np.stack([cam.cx + cam.focal_px * cc[:, 0] / cc[:, 2], cam.cy + cam.focal_px * cc[:, 1] / cc[:, 2]], 1)
            out.append(uv.reshape(-1) / o.sigma)
        self.meas_s["landmark"] += time.perf_counter() - a1
        a1 = time.perf_counter()
        for o, _ in self.mm.H_lidar:
            # the LIDAR model's range with its hit facet held (the facet of the nominal shot; the partial of
            # the model is that facet's, and a finite difference across a facet edge would mix two slopes):
            # the distance along the perturbed boresight to the facet's plane
            t = o.t
            r, q, _ = _geometry(c, t, traj.state(t), delta)
            R = pose(t)[0]
            s = np.einsum("nji,nj->ni", R, r - q)
            E = pointing_rotation(np.zeros((len(t), 3)))[0]
            b = (E @ camera_frame(s)[0])[:, 2, :]
            vv, ff = c.shape.vertices, c.shape.faces[o.facet]
            a0 = vv[ff[:, 0]]
            nrm = np.cross(vv[ff[:, 1]] - a0, vv[ff[:, 2]] - a0)
            rho = np.einsum("mk,mk->m", nrm, a0 - s) / np.einsum("mk,mk->m", nrm, b)
            out.append((rho + v["bias:lidar"]) / o.sigma)
        self.meas_s["lidar"] += time.perf_counter() - a1
        self.n_eval += 1
        self.timings["measurements"] += time.perf_counter() - a
        return np.concatenate(out)

    def run(self, columns=None):
        """The covariance (full or on ``columns``, a list of names; the others fixed)."""
        c = self.c
        cols = list(c.names) if columns is None else list(columns)
        v0 = dict(zip(c.names, c.p_true))
        sol0 = self.propagate(v0)
        h0 = self.values(sol0, v0)
        H = np.zeros((len(h0), len(cols)))
        self.nominal_s = sum(self.timings.values())
        self.column_s = []
        for j, nm in enumerate(cols):
            a = time.perf_counter()
            if nm == "bias:lidar":
                H[-self.mm_lidar_rows():, j] = 1.0 / self.lidar_sigma()
                continue
            v = dict(v0)
            dp = self.step(nm, v0[nm])
            v[nm] += dp
            dynamic = nm not in BIAS_NAMES
            sol = self.propagate(v) if dynamic else sol0
            H[:, j] = (self.values(sol, v) - h0) / dp
            self.column_s.append((nm, time.perf_counter() - a))
        a = time.perf_counter()
        s = np.array([c.sigma0[c.names.index(k)] for k in cols])
        N = H.T @ H
        P = np.linalg.inv(N + np.diag(1.0 / s ** 2))
        self.timings["information + inversion"] += time.perf_counter() - a
        self.timings["total"] = sum(v for k, v in self.timings.items() if k != "total")
        self.H, self.cols, self.covariance = H, cols, P
        return self

    def all_columns_s(self):
        """The total for every column of the case: the nominal, the timed columns, and the untimed
        ones at the mean cost of the timed ones of their sort (re-propagated or not)."""
        done = dict(self.column_s)
        dyn = [w for k, w in self.column_s if k not in BIAS_NAMES]
        meas = [w for k, w in self.column_s if k in BIAS_NAMES and k != "bias:lidar"]
        out = self.timings["total"]
        for k in self.c.names:
            if k in done or k == "bias:lidar":
                continue
            out += (np.mean(dyn) if k not in BIAS_NAMES or not meas else np.mean(meas))
        return out

    def mm_lidar_rows(self):
        return sum(len(o) for o, _ in self.mm.H_lidar)

    def lidar_sigma(self):
        return np.concatenate([o.sigma for o, _ in self.mm.H_lidar])


def extrapolate(names, ncols_timed: int, acc_s: float, rows_timed: int, rows: dict, prop_s_per_hour: float,
                hours: float, meas_s_per_row: dict) -> dict:
    """The baseline's cost on an arc of ``hours`` with ``rows`` per kind and every column of ``names``: one
    propagation per state component and dynamical parameter plus the nominal, at ``prop_s_per_hour``;
    every model evaluated once per column plus the nominal (not for the exact LIDAR-bias column), at
    ``meas_s_per_row``; the accumulation (``acc_s`` measured for ``rows_timed`` rows and ``ncols_timed``
    columns) scaled by rows and columns squared."""
    n_dyn = sum(1 for k in names if k not in BIAS_NAMES)
    n_eval = len(names)  # the nominal + every column but the exact one
    out = {"propagations (DOP853)": (n_dyn + 1) * prop_s_per_hour * hours}
    for k, w in meas_s_per_row.items():
        out[f"measurements: {k}"] = w * rows[k] * n_eval
    out["information + inversion"] = acc_s * sum(rows.values()) / max(rows_timed, 1) * (len(names) / ncols_timed) ** 2
    out["total"] = sum(out.values())
    return out


def propagation_profile(case: Case, hours: float, rtol: float, atol: float):
    """One DOP853 propagation of the nominal (dense output, as the finite-difference columns) over
    ``hours`` from the case's epoch: (total wall s, wall s at each whole hour, steps)."""
    from scipy.integrate import solve_ivp

    from mmxsim.dynamics import numpy_rhs

    rhs = numpy_rhs(case.model, cheb_origin=case.t0)
    marks = case.t0 + 3600.0 * np.arange(1, int(np.floor(hours)) + 1)
    rec = []

    def f(t, y):
        while len(rec) < len(marks) and t >= marks[len(rec)]:
            rec.append(time.perf_counter() - c)
        return rhs(t, y)

    c = time.perf_counter()
    sol = solve_ivp(f, (case.t0, case.t0 + hours * 3600.0), case.x0, method="DOP853", rtol=rtol, atol=atol,
                    dense_output=True)
    return time.perf_counter() - c, np.array(rec), sol


def mmxsim_jacobian(mm: MmxsimCovariance):
    """mmxsim's whitened rows of the short arc, in the baseline's row order."""
    parts = [mm.H_doppler] + [H for _, H in mm.H_landmark] + [H for _, H in mm.H_lidar]
    return np.vstack(parts)


def subset_covariance(info, sigma0, idx):
    return covariance(info[np.ix_(idx, idx)], sigma0[idx])


# ---------------------------------------------------------------------------------------------
def phobos_names(names):
    return [n for n in names if n.startswith("phobos:")]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="a 12-h arc; the baseline on 1 h, 6 columns")
    ap.add_argument("--days", type=float, default=None)
    ap.add_argument("--qso", default="QSO-LB")
    ap.add_argument("--tracks", choices=("booked", "visible"), default="booked")
    ap.add_argument("--landmarks", type=int, default=200)
    ap.add_argument("--baseline-hours", type=float, default=None, help="the short arc of the finite-difference "
                    "covariance, h (default 1)")
    ap.add_argument("--profile-hours", type=float, default=None, help="the DOP853 cost profile, h (default two "
                    "QSO revolutions, 15.3 h; 0: from the short arc)")
    ap.add_argument("--baseline-columns", type=int, default=None, help="time only this many columns and scale")
    ap.add_argument("--rtol", type=float, default=3e-14)
    ap.add_argument("--skip-baseline", action="store_true")
    a = ap.parse_args()
    days = a.days or (0.5 if a.quick else 30.0)
    hours = a.baseline_hours or 1.0
    if a.profile_hours is None:
        a.profile_hours = 0.0 if a.quick else 2 * PHOBOS_PERIOD_S / 3600.0
    ncols = a.baseline_columns or (6 if a.quick else None)

    T = time.perf_counter
    c0 = T()
    truth = Truth(days, a.qso)
    t0, t1 = truth.t0, truth.t0 + days * 86400.0
    stations, tracks, rows = doppler_rows(truth, t0, t1, a.tracks)
    case = build_case(truth, t0, t1, stations, rows, a.landmarks)
    warm_up(case)
    setup_s = T() - c0
    print(f"{truth.qso}, {days:g} days from TDB {t0:.1f}; {len(tracks)} {a.tracks} tracks; {len(case.names)} "
          f"parameters ({len(case.dyn)} dynamical); setup {setup_s:.1f} s" + "".join(f"; {n}" for n in case.notes),
          flush=True)

    mm = MmxsimCovariance(case).run()
    print(f"  mmxsim: rows " + ", ".join(f"{k} {v}" for k, v in mm.rows.items())
          + f"; variational trajectory {mm.traj.n_steps} steps", flush=True)
    for k, v in mm.timings.items():
        print(f"    {k:32s} {v:8.2f} s")
    sig_prior = dict(zip(case.names, case.sigma0))
    show = ["phobos:gm", "phobos:C20", "phobos:C22", "phobos:C30", "phobos:C40", "phobos:C50", "phobos:libration"]
    print("\n| data | " + " | ".join(f"σ {k[7:]}" for k in show) + " |")
    print("|---|" + "---:|" * len(show))
    print("| a priori | " + " | ".join(f"{sig_prior[k]:.3g}" for k in show) + " |")
    for combo, P in mm.covariance.items():
        s = np.sqrt(np.diag(P))
        print(f"| {combo} | " + " | ".join(f"{s[case.names.index(k)]:.3g}" for k in show) + " |")
    mvals = dict(zip(case.names, case.p_true))
    s = np.sqrt(np.diag(mm.covariance["Doppler + landmarks + LIDAR"]))
    print("relative σ (all data): " + ", ".join(f"{k[7:]} {s[case.names.index(k)] / abs(mvals[k]):.2e}"
                                               for k in ("phobos:gm", "phobos:C20", "phobos:C22", "phobos:libration")))

    table = [(f"{days:g} d", "mmxsim", mm.rows, mm.timings["total"], None)]
    if not a.skip_baseline:
        first = min((tr.start for tr in tracks if tr.start >= t0), default=t0)
        b0 = quiet_start(truth, rows, hours, truth.t[max(0, int(np.searchsorted(truth.t, first - DOPPLER_LEAD_S)) - 1)])
        bc = build_case(truth, b0, b0 + hours * 3600.0, stations, rows, a.landmarks)
        bm = MmxsimCovariance(bc, keep_rows=True).run()
        cols = bc.names if ncols is None else pick_columns(bc.names, ncols)
        sb = ScipyCovariance(bc, bm, a.rtol, a.rtol * 1e-3).run(cols)
        tb = sb.all_columns_s()
        print(f"\n  short arc {hours:g} h from TDB {b0:.1f}: rows " + ", ".join(f"{k} {v}" for k, v in bm.rows.items())
              + f"; mmxsim {bm.timings['total']:.2f} s; baseline {sb.timings['total']:.1f} s for {len(cols)} columns "
              f"({sb.n_prop} DOP853 propagations: " + ", ".join(f"{k} {v:.1f} s" for k, v in sb.timings.items()
                                                                if k != "total")
              + (f"; all {len(bc.names)} columns: {tb:.1f} s" if len(cols) < len(bc.names) else "") + ")", flush=True)
        table.append((f"{hours:g} h", "mmxsim", bm.rows, bm.timings["total"], None))
        table.append((f"{hours:g} h", "baseline" if len(cols) == len(bc.names) else "baseline (columns scaled)",
                      bm.rows, tb, bm.timings["total"]))
        agreement(bc, bm, sb)
        # the propagation cost per hour of arc over whole QSO revolutions (shadow crossings included), and
        # the measurement cost per row from one evaluation of every model on that arc
        if a.profile_hours:
            pc = build_case(truth, b0, b0 + a.profile_hours * 3600.0, stations, rows, a.landmarks)
            pm = MmxsimCovariance(pc, keep_rows=True).run()
            tot, marks, sol = propagation_profile(pc, a.profile_hours, a.rtol, a.rtol * 1e-3)
            sp = ScipyCovariance(pc, pm, a.rtol, a.rtol * 1e-3)
            sp.values(sol, dict(zip(pc.names, pc.p_true)))
            meas = {k: sp.meas_s[k] / pm.rows[k] for k in sp.meas_s if pm.rows[k]}
            half = marks[len(marks) // 2 - 1] if len(marks) >= 2 else float("nan")
            rate = tot / a.profile_hours
            print(f"  DOP853 profile of the nominal over {a.profile_hours:g} h ({a.profile_hours * 3600 / PHOBOS_PERIOD_S:.2f} "
                  f"QSO revolutions): {tot:.1f} s, {sol.t.size} steps, {rate:.2f} s per hour; first half {half:.1f} s, "
                  f"second half {tot - half:.1f} s; slowest hour {np.max(np.diff(np.r_[0.0, marks])):.1f} s; one "
                  "evaluation of the models on its rows (" + ", ".join(f"{k} {v}" for k, v in pm.rows.items())
                  + "): " + ", ".join(f"{k} {v:.2f} s" for k, v in sp.meas_s.items())
                  + f"; mmxsim on the same arc, all 48 columns: {pm.timings['total']:.2f} s", flush=True)
        else:
            rate = sb.timings["propagations (DOP853)"] / sb.n_prop / hours
            meas = {k: sb.meas_s[k] / sb.n_eval / bm.rows[k] for k in sb.meas_s if bm.rows[k]}
            print(f"  DOP853 cost per hour and the measurements' cost per row from the short arc (not over whole "
                  "revolutions, few rows: not representative)")
        ex = extrapolate(bc.names, len(sb.cols), sb.timings["information + inversion"], sum(bm.rows.values()),
                         mm.rows, rate, days * 24.0, meas)
        print(f"  baseline extrapolated to {days:g} days: " + ", ".join(f"{k} {v:.0f} s" for k, v in ex.items())
              + f" = {ex['total'] / 3600:.1f} h", flush=True)
        table.append((f"{days:g} d", "baseline (extrapolated)", mm.rows, ex["total"], mm.timings["total"]))

    print("\n| arc | tool | Doppler rows | landmark rows | LIDAR rows | wall [s] | ratio vs mmxsim |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for arc, tool, r, w, ref in table:
        tool_s = {"mmxsim": "mmxsim (heyoka variational, analytic partials)",
                  "baseline": "SciPy DOP853 + finite differences + NumPy",
                  "baseline (columns scaled)": "SciPy DOP853 + finite differences + NumPy (columns scaled)",
                  "baseline (extrapolated)": "same, extrapolated (see above)"}[tool]
        print(f"| {arc} | {tool_s} | {r['doppler']} | {r['landmark']} | {r['lidar']} | {w:.2f} | "
              + (f"{w / ref:.0f}× |" if ref else "1× |"))
    tot = mm.timings["total"]
    print(f"\nGoal: mmxsim <= 60 s for the {days:g}-day case on 2 cores: {tot:.1f} s, "
          + ("met" if tot <= 60.0 else "NOT met") + (" (the goal is set for 30 days)" if days != 30 else ""))


def pick_columns(names, n):
    """x, vx, the Phobos parameters most tested (GM, C20, C22, libration), the rest of the state, then the rest
    in order."""
    first = ["x", "vx", "phobos:gm", "phobos:C20", "phobos:C22", "phobos:libration", "y", "z", "vy", "vz",
             "srp:cr_area_over_mass", "emp:t"]
    order = first + [k for k in names if k not in first]
    return order[:n]


def agreement(bc, bm, sb):
    """σ ratios and Jacobian columns, baseline vs mmxsim, on the same short arc and columns."""
    idx = [bc.names.index(k) for k in sb.cols]
    Hm = mmxsim_jacobian(bm)[:, idx]
    Hb = sb.H
    col = np.linalg.norm(Hb - Hm, axis=0) / np.maximum(np.linalg.norm(Hm, axis=0), 1e-300)
    info = sum(bm.info.values())
    Pm = subset_covariance(info, bc.sigma0, idx)
    sm, sbs = np.sqrt(np.diag(Pm)), np.sqrt(np.diag(sb.covariance))
    prior = bc.sigma0[idx]
    r = sbs / sm - 1.0
    ph = [j for j, k in enumerate(sb.cols) if k.startswith("phobos:")]
    print(f"  agreement on the {(bc.t1 - bc.t0) / 3600:g}-h arc ({len(sb.cols)} columns): whitened Jacobian "
          f"columns, relative: max {np.max(col):.1e} (" + ", ".join(f"{sb.cols[j]} {col[j]:.1e}" for j in
                                                                  np.argsort(col)[::-1][:4]) + ")")
    print("  σ baseline / σ mmxsim - 1 of the Phobos parameters: " + ", ".join(
        f"{sb.cols[j][7:]} {r[j]:+.1e} (σ/prior {sm[j] / prior[j]:.2g})" for j in ph))
    print(f"  max |σ ratio - 1|: Phobos parameters {np.max(np.abs(r[ph])) if ph else float('nan'):.1e}, "
          f"all {np.max(np.abs(r)):.1e}", flush=True)


if __name__ == "__main__":
    main()
