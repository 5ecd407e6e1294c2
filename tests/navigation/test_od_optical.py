"""Landmark and LIDAR rows inside the orbit-determination problem (mmxsim.navigation.od, issue 17).

Test case (``base`` below): the reference scenario's QSO state (50 to 95 km from Phobos) flown
6 h with Mars J2 and Phobos' degree-2 harmonics whose forced libration amplitude is a runtime
parameter (``libration_parameter=True``: the column ``phobos:libration`` gets the dynamical and the
pose partial), heyoka tolerance 1e-14; two-way Doppler every 10 min from DSS-14, DSS-63 and DSS-43
above 10 deg elevation (troposphere and Shapiro off: they are tested elsewhere); OROCHI images
(pinhole intrinsics of navigation.optical) every 20 min of 300 landmarks of the Ernst shape; LIDAR
shots every 60 s. Rows are decided once at simulation with the true geometry.
"""

from __future__ import annotations

import numpy as np
import pytest

from mmxsim.errors import InputError
from mmxsim.navigation.od import OrbitProblem, Prior, simulate_altimetry, simulate_optical, simulate_rows

SPAN = 6 * 3600.0
STATIONS = ("DSS-14", "DSS-63", "DSS-43")


@pytest.fixture(scope="module")
def base():
    from mmxsim.analyses._navigation import ground_stations
    from mmxsim.bodies.shapes import phobos_shape
    from mmxsim.dynamics import DynamicsModel, MarsGravity, PhobosGravity
    from mmxsim.mission.runner import build_model, initial_state
    from mmxsim.navigation import optical as op
    from mmxsim.navigation.measurements import MeasurementSettings, elevation_mask
    from mmxsim.navigation.schedule import ScheduleSettings, Track, schedule
    from mmxsim.scenario import reference_scenario

    s = reference_scenario()
    _, eph = build_model(s)
    t0 = float(s.t0_tdb)
    t1 = t0 + SPAN
    x0 = initial_state(s, t0, eph)
    model = DynamicsModel(forces=[MarsGravity(2), PhobosGravity("harmonics", degree=2, libration_parameter=True)],
                          ephemeris=eph, tolerance=1e-14)
    stations, _ = ground_stations(STATIONS, eph, t0, t1)
    tracks = [Track(n, t0 + 3000.0, t1, k) for k, n in enumerate(STATIONS)]
    rows = schedule(tracks, ScheduleSettings(doppler_interval_s=600.0, range_interval_s=1e9, ddor_interval_s=1e9,
                                             baselines=()))
    rows = rows.select(rows.kind == "doppler")
    settings = MeasurementSettings(troposphere=False, shapiro=False)
    probe = OrbitProblem(model, t0, t1, rows, stations, list(x0), settings=settings, ephemeris=eph,
                         elevation_mask_deg=None)
    _, comp, _ = probe.computed(probe.p0)
    rows = rows.select(elevation_mask(comp, 10.0))
    probe = OrbitProblem(model, t0, t1, rows, stations, list(x0), settings=settings, ephemeris=eph)
    shape = phobos_shape("ernst")
    lm = op.select_landmarks(shape, 300)
    t_img = t0 + np.arange(1200.0, SPAN, 1200.0)
    t_lid = t0 + np.arange(60.0, SPAN, 60.0)
    return dict(model=model, eph=eph, t0=t0, t1=t1, x0=x0, stations=stations, rows=rows, settings=settings,
                probe=probe, shape=shape, lm=lm, t_img=t_img, t_lid=t_lid, cam=op.OROCHI_PINHOLE)


def problem(b, estimate=None, consider=None, data=None, optical=None, altimetry=None, state_sigma=(1.0, 1e-4),
            x0=None):
    x0 = b["x0"] if x0 is None else x0
    state = [Prior(v, state_sigma[0] if i < 3 else state_sigma[1]) for i, v in enumerate(x0)]
    return OrbitProblem(b["model"], b["t0"], b["t1"], b["rows"] if data is None else data, b["stations"], state,
                        estimate=estimate or {}, consider=consider or {}, settings=b["settings"], ephemeris=b["eph"],
                        optical=optical, altimetry=altimetry)


@pytest.fixture(scope="module")
def surface(base):
    """Noise-free optical and LIDAR data at the a priori point (rows only matter for partials)."""
    b = base
    pr = b["probe"]
    od = simulate_optical(pr, pr.p0, t=b["t_img"], landmarks=b["lm"], camera=b["cam"], shape=b["shape"], noise=False)
    ad = simulate_altimetry(pr, pr.p0, t=b["t_lid"], shape=b["shape"], noise=False)
    return od, ad


def test_case_has_rows_of_every_kind(base, surface):
    """Guards the tests below: Doppler, landmark rows in several images and LIDAR shots exist
    (counted: 48 Doppler, 96 landmark rows in 13 images, 359 shots)."""
    od, ad = surface
    assert len(base["rows"]) >= 20
    assert len(od) >= 60 and len(np.unique(od.image)) >= 8
    assert len(ad) >= 200
    # the rows of one image come in (u, v) pairs
    assert np.all(np.bincount(od.component) == len(od) // 2)


def _lidar_facets(pr, p, traj):
    """The facet each LIDAR shot hits at ``p`` (re-cast; the problem's own geometry, ``traj`` its trajectory)."""
    from mmxsim.navigation.altimetry import lidar_ranges

    a = pr.altimetry
    v = pr.values(p)
    th = a.pointing_rad + np.array([v.get(f"lidarpoint:{k}", 0.0) for k in (1, 2, 3)])
    ac = lidar_ranges(a.shape, a.t, pr._sc_position(traj, a.t), pr.phobos_position(a.t), pr.pose(v),
                      pointing_rad=th, facet=a.facet)
    return ac.facet


def test_optical_and_lidar_partials_vs_central_differences(base, surface):
    """Every column of the landmark and LIDAR rows of ``linearize`` (spacecraft state at t0 through
    the variational equations, libration amplitude (dynamics + pose, one column), one landmark's
    position, one image's pointing, the camera and LIDAR pointing biases) vs central differences of
    ``computed_rows``: < 1e-6 relative to the column's largest value. Four-point differences for
    the state (steps 3e-2 km, 1e-5 km/s) and the libration (3e-3 rad, whose column is mostly the
    pose's but carries the dynamics' part too), two-point for the rest (1e-5 km, 1e-7 rad). The
    steps are large because the differences of a re-propagated QSO are noise-limited (measured: the
    error fell as 1/step from 1e-6 at 1e-6 km/s to 1e-8 at 1e-5 km/s). LIDAR rows whose hit facet
    changes within the steps are left out (the range is piecewise smooth: the partial is the one of
    the facet hit; at least 50 shots kept per column). The libration's LIDAR column is held to 2e-6: its
    difference sits at a floor near 1e-6 that does not fall with the step (measured 1.06e-6 at 3e-3 rad
    and 0.99e-6 at 1.5e-3 rad once the QSO start state moved within the design's Newton tolerance),
    i.e. the differences' noise, not the partial."""
    od, ad = surface
    lm = base["lm"]
    k0, i0 = int(od.landmark[0]), int(od.image[0])
    est = {"phobos:libration": Prior(-0.0199, 1e-3), "point:cam:1": Prior(1e-4, 1e-3),
           "point:cam:2": Prior(0.0, 1e-3), "point:cam:3": Prior(-2e-4, 1e-3),
           "lidarpoint:1": Prior(0.0, 1e-3), "lidarpoint:2": Prior(2e-4, 1e-3), "lidarpoint:3": Prior(0.0, 1e-3)}
    est.update({f"lmk:{k0}:{a}": Prior(float(lm.position_km[k0, j]), 0.01) for j, a in enumerate("xyz")})
    est.update({f"point:{i0}:{a}": Prior(0.0, 1e-3) for a in (1, 2, 3)})
    pr = problem(base, estimate=est, optical=od, altimetry=ad)
    lin = pr.linearize(pr.p0)
    m0, mo = len(base["rows"]), len(od)
    assert lin.H.shape == (m0 + mo + len(ad), pr.n)
    assert list(lin.labels[m0:m0 + 2]) == ["landmark u", "landmark v"] and lin.labels[-1] == "lidar"
    f0 = _lidar_facets(pr, pr.p0, pr.trajectory(pr.p0))
    worst, kept = {}, {}
    for j, nm in enumerate(pr.names):
        four = nm in ("x", "y", "z", "vx", "vy", "vz", "phobos:libration")
        h = {"x": 3e-2, "y": 3e-2, "z": 3e-2, "vx": 1e-5, "vy": 1e-5, "vz": 1e-5,
             "phobos:libration": 3e-3}.get(nm, 1e-5 if nm.startswith("lmk") else 1e-7)
        steps = (-2, -1, 1, 2) if four else (-1, 1)
        vals, same = {}, np.ones(len(ad), bool)
        for k in steps:
            p = pr.p0.copy()
            p[j] += k * h
            vals[k], traj = pr.computed_rows(p)
            same &= _lidar_facets(pr, p, traj) == f0
        if four:
            fd = (8 * (vals[1] - vals[-1]) - (vals[2] - vals[-2])) / (12 * h)
        else:
            fd = (vals[1] - vals[-1]) / (2 * h)
        assert same.sum() >= 50, (nm, same.sum())
        kept[nm] = same.mean()
        for lab, sl, keep in (("landmark", slice(m0, m0 + mo), slice(None)), ("lidar", slice(m0 + mo, None), same)):
            a, f = lin.H[sl, j][keep], fd[sl][keep]
            scale = np.max(np.abs(a))
            if scale == 0:  # a column these rows do not depend on: the differences agree
                assert np.max(np.abs(f)) < 1e-9, (nm, lab)
                continue
            worst[(nm, lab)] = np.max(np.abs(a - f)) / scale
    bad = {k: v for k, v in worst.items() if v > (2e-6 if k == ("phobos:libration", "lidar") else 1e-6)}
    assert not bad, (bad, kept)
    # every surface parameter moved its own rows (no silently empty column), except the LIDAR's
    # roll about its boresight (the third angle turns the beam about itself: no change of range)
    assert not np.any(lin.H[m0:, pr.names.index("lidarpoint:3")])
    for nm in set(est) - {"lidarpoint:3"}:
        j = pr.names.index(nm)
        assert np.any(lin.H[m0:, j] != 0), nm


class _LinearPhobosOffset:
    """A test hook for Phobos' ephemeris correction: dq = d + dv (t - t0) (written here)."""

    names = ("phobos:dx", "phobos:dy", "phobos:dz", "phobos:dvx", "phobos:dvy", "phobos:dvz")

    def __init__(self, t0):
        self.t0 = t0

    def __call__(self, t, values):
        p = np.array([values.get(n, 0.0) for n in self.names])
        dt = t - self.t0
        dq = p[:3] + dt[:, None] * p[3:]
        dqp = np.zeros((len(t), 3, 6))
        dqp[:, [0, 1, 2], [0, 1, 2]] = 1.0
        dqp[:, [0, 1, 2], [3, 4, 5]] = dt[:, None]
        return dq, dqp


def test_phobos_correction_hook_partials(base, surface):
    """The ``phobos_correction`` hook (a linear offset of Phobos' position written here, six
    parameters): its columns in the landmark and LIDAR rows vs central differences of
    ``computed_rows`` (steps 1e-6 km, 1e-10 km/s: small, so that no LIDAR shot changes facet; the
    spacecraft's trajectory does not depend on them here; < 1e-6 relative), and the offset moves the
    rows (a 100 m shift changes the LIDAR ranges by up to ~100 m); a hook without ``names`` is refused."""
    od, ad = surface
    hook = _LinearPhobosOffset(base["t0"])
    est = {n: Prior(0.0, 1.0) for n in hook.names}
    pr = OrbitProblem(base["model"], base["t0"], base["t1"], base["rows"], base["stations"],
                      [Prior(v, 1.0) for v in base["x0"]], estimate=est, settings=base["settings"],
                      ephemeris=base["eph"], optical=od, altimetry=ad, phobos_correction=hook)
    lin = pr.linearize(pr.p0)
    m0 = len(base["rows"])
    for nm in hook.names:
        j = pr.names.index(nm)
        h = 1e-6 if nm[-2] == "d" else 1e-10  # the trajectory does not move: small steps
        p1, p2 = pr.p0.copy(), pr.p0.copy()
        p1[j] += h
        p2[j] -= h
        fd = (pr.computed_rows(p1)[0] - pr.computed_rows(p2)[0]) / (2 * h)
        a = lin.H[m0:, j]
        assert np.max(np.abs(a)) > 0, nm
        assert np.max(np.abs(a - fd[m0:])) < 1e-6 * np.max(np.abs(a)), nm
        assert not np.any(lin.H[:m0, j])  # the radiometric rows do not see Phobos
    p = pr.p0.copy()
    p[pr.names.index("phobos:dx")] = 0.1
    shift = pr.computed_rows(p)[0] - pr.computed_rows(pr.p0)[0]
    assert 0.01 < np.max(np.abs(shift[m0 + len(od):])) < 0.11
    with pytest.raises(InputError, match=r"od\.phobos_correction"):
        OrbitProblem(
            base["model"], base["t0"], base["t1"], base["rows"], base["stations"], list(base["x0"]),
            optical=od, phobos_correction=lambda t, v: None)


def test_information_equals_normal_matrix_of_linearize(base, surface):
    """``information`` per kind (Doppler, landmark, LIDAR; small chunks so that several blocks are
    summed) equals Hᵀ W H and Hᵀ W r of ``linearize`` (estimated and consider columns together)
    to 1e-10 relative (to the largest element of each matrix)."""
    od, ad = surface
    k0 = int(od.landmark[0])
    est = {"phobos:libration": Prior(-0.0199, 1e-3), "point:cam:1": Prior(0.0, 1e-3),
           f"lmk:{k0}:x": Prior(float(base["lm"].position_km[k0, 0]), 0.01)}
    con = {"lidarpoint:1": Prior(0.0, 1e-4), f"point:{int(od.image[3])}:2": Prior(0.0, 1e-4)}
    pr = problem(base, estimate=est, consider=con, optical=od, altimetry=ad)
    p = pr.p0.copy()
    p[0] += 0.05  # residuals not zero
    info = pr.information(p, chunk=37)
    lin = pr.linearize(p)
    J = np.hstack([lin.H, lin.C])
    assert info.names == [*pr.names, *pr.consider_names]
    m0, mo = len(base["rows"]), len(od)
    parts = {"doppler": slice(0, m0), "landmark": slice(m0, m0 + mo), "lidar": slice(m0 + mo, None)}
    assert set(info.normal) == set(parts)
    for kind, sl in parts.items():
        Jw = J[sl] / lin.sigma[sl, None]
        N = Jw.T @ Jw
        g = Jw.T @ (lin.residual[sl] / lin.sigma[sl])
        assert info.rows[kind] == sl.indices(len(J))[1] - sl.indices(len(J))[0]
        assert np.max(np.abs(info.normal[kind] - N)) <= 1e-10 * np.max(np.abs(N)), kind
        assert np.max(np.abs(info.gradient[kind] - g)) <= 1e-10 * np.max(np.abs(g)), kind
    # only some kinds
    sub = pr.information(p, kinds=["lidar"])
    assert list(sub.normal) == ["lidar"]
    scale = np.abs(info.normal["lidar"]).max()
    assert np.allclose(sub.normal["lidar"], info.normal["lidar"], rtol=0, atol=1e-10 * scale)


def test_landmarks_shrink_the_state_sigma(base, surface):
    """Formal σ of the spacecraft position at t0 from sparse Doppler (the first 12 rows, about 2 h of
    tracking) alone vs Doppler + landmarks (catalogue known, camera pointing bias estimated, a priori
    10 km / 1 m/s on the state) vs + LIDAR, from ``information``: landmarks must shrink the position σ on
    every axis by more than a factor 10 (measured 0.47, 0.67, 3.1 km -> 9, 19, 48 m), LIDAR further
    (measured 0.9, 1.8, 5.9 m). (With the whole 6-h Doppler set the position is known to 1-6 m and
    the landmarks add ~1 %: not tested, printed by the information's report.)"""
    od, ad = surface
    est = {f"point:cam:{a}": Prior(0.0, 1e-3) for a in (1, 2, 3)}
    dop = base["rows"].select(np.arange(12))
    pr = problem(base, estimate=est, data=dop, optical=od, altimetry=ad, state_sigma=(10.0, 1e-3))
    info = pr.information()
    assert info.rows == {"doppler": 12, "landmark": len(od), "lidar": len(ad)}
    s_dop = np.sqrt(np.diag(info.covariance(["doppler"]))[:3])
    s_lmk = np.sqrt(np.diag(info.covariance(["doppler", "landmark"]))[:3])
    s_all = np.sqrt(np.diag(info.covariance()))[:3]
    assert np.all(s_lmk < 0.1 * s_dop), (s_dop, s_lmk)
    assert np.all(s_all < s_lmk), (s_lmk, s_all)


@pytest.fixture(scope="module")
def fit(base):
    """A truth with the state shifted (0.3 km, 3e-5 km/s), the landmark seen most 30 m off its
    catalogue position and a camera pointing bias (2e-4, -1e-4, 3e-4 rad); landmark rows decided
    with the true geometry (pixel noise 0.3 px), LIDAR shots likewise, then every row (Doppler too)
    re-noised from the problem's own model at the truth (seed 3); the problem estimates the state,
    the landmark and the bias from the catalogue and zero bias (a priori 10 km, 1 m/s, 0.1 km, 1e-2 rad)."""
    b = base
    bias = np.array([2e-4, -1e-4, 3e-4])
    shift = np.array([0.3, -0.2, 0.1, 3e-5, -2e-5, 1e-5])
    pr_true = problem(b, x0=b["x0"] + shift)
    od0 = simulate_optical(pr_true, pr_true.p0, t=b["t_img"], landmarks=b["lm"], camera=b["cam"], shape=b["shape"],
                           pointing_rad=bias, noise=False)
    k0 = int(np.bincount(od0.landmark).argmax())  # the landmark seen most
    est = {f"point:cam:{a}": Prior(0.0, 1e-2) for a in (1, 2, 3)}
    est.update({f"lmk:{k0}:{a}": Prior(float(b["lm"].position_km[k0, j]), 0.1) for j, a in enumerate("xyz")})
    true_pos = b["lm"].position_km.copy()
    true_pos[k0] += np.array([0.03, -0.01, 0.02])
    od = simulate_optical(pr_true, pr_true.p0, t=b["t_img"], landmarks=b["lm"], camera=b["cam"], shape=b["shape"],
                          pointing_rad=bias, true_positions_km=true_pos, seed=1)
    ad = simulate_altimetry(pr_true, pr_true.p0, t=b["t_lid"], shape=b["shape"], seed=2)
    pr_t = problem(b, estimate=est, optical=od, altimetry=ad, x0=b["x0"] + shift)
    p_true = pr_t.p0.copy()
    for j, a in enumerate((1, 2, 3)):
        p_true[pr_t.names.index(f"point:cam:{a}")] = bias[j]
    for j, a in enumerate("xyz"):
        p_true[pr_t.names.index(f"lmk:{k0}:{a}")] = true_pos[k0, j]
    dop, od, ad = simulate_rows(pr_t, p_true, seed=3)
    pr = problem(b, estimate=est, data=dop, optical=od, altimetry=ad, state_sigma=(10.0, 1e-3))
    return pr, p_true, k0


def test_batch_fit_recovers_state_landmark_and_pointing_bias(fit):
    """Batch least squares on Doppler + landmarks + LIDAR (``fit``): every recovered parameter
    within 3 sigma of the truth (measured |z| <= 0.84) and the post-fit weighted RMS in [0.7, 1.3]
    (measured 0.998); the camera bias resolved far better than its a priori."""
    from mmxsim.navigation.estimation import batch_least_squares

    pr, p_true, k0 = fit
    assert np.sum(pr.optical.landmark == k0) >= 4
    res = batch_least_squares(pr)
    assert res.converged, res.message
    sig = np.sqrt(np.diag(res.covariance))
    z = (res.estimate - p_true) / sig
    assert np.all(np.abs(z) < 3.0), dict(zip(pr.names, np.round(z, 2)))
    used = ~res.edited
    w = res.postfit_residuals[used] / res.sigma_obs[used]
    rms = float(np.sqrt(np.mean(w ** 2)))
    assert 0.7 < rms < 1.3, rms
    # the pointing bias is resolved far better than its a priori (1e-2 rad); the roll about the
    # boresight least (measured 5.6e-5, 5.2e-5, 4.2e-4 rad)
    s_cam = sig[[pr.names.index(f"point:cam:{a}") for a in (1, 2, 3)]]
    assert np.all(s_cam[:2] < 1e-4) and s_cam[2] < 1e-3, s_cam


def test_sequential_filter_takes_the_surface_rows(fit, base):
    """The square-root information smoother (no process noise) on the same rows, linearised about
    the batch estimate, equals one more batch step at t0 within 1e-3 sigma and its covariance
    within 1e-6 (|dP_ij| / sqrt(P_ii P_jj)): the landmark and LIDAR rows reach the filter through
    ``linearize`` and ``stm`` like the radiometric ones (Tapley, Schutz & Born 2004 §4.7)."""
    import warnings

    from mmxsim.navigation.estimation import BatchSettings, batch_least_squares
    from mmxsim.navigation.sequential import square_root_information_filter

    pr, _, _ = fit
    b = batch_least_squares(pr, BatchSettings(n_sigma=None))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = batch_least_squares(pr, BatchSettings(max_iterations=1, n_sigma=None), initial=b.estimate)
    f = square_root_information_filter(pr, reference=b.estimate, t_final=base["t1"])
    s0 = np.sqrt(np.diag(one.covariance))
    assert np.max(np.abs(f.smoothed_p0 - one.estimate) / s0) < 1e-3
    assert np.max(np.abs(f.smoothed_covariance[0] - one.covariance) / np.outer(s0, s0)) < 1e-6


def test_bad_inputs_raise_input_error(base, surface):
    """Unknown or out-of-range surface parameters, surface parameters without their data, the
    Phobos ephemeris correction with optical data (not wired yet), wrong data types, epochs outside
    the arc, bad information arguments and bad optical rows each raise InputError naming the field."""
    from mmxsim.navigation.optical import OpticalData

    od, ad = surface
    with pytest.raises(InputError, match=r"lmk:<k>"):
        problem(base, estimate={"lmk:9999:x": 0.0}, optical=od)
    with pytest.raises(InputError, match=r"point:<i>"):
        problem(base, estimate={f"point:{len(od.t)}:1": 0.0}, optical=od)
    with pytest.raises(InputError, match=r"od\.estimate\.point:cam:4"):
        problem(base, estimate={"point:cam:4": 0.0}, optical=od)
    with pytest.raises(InputError, match=r"need optical or altimetry"):
        problem(base, estimate={"lmk:0:x": 0.0})
    with pytest.raises(InputError, match=r"od\.estimate\.lidarpoint:1"):
        problem(base, estimate={"lidarpoint:1": 0.0}, optical=od)
    with pytest.raises(InputError, match=r"phobos:dx"):
        problem(base, estimate={"phobos:dx": 0.0}, optical=od)
    with pytest.raises(InputError, match=r"od\.optical"):
        problem(base, optical=ad)
    with pytest.raises(InputError, match=r"od\.altimetry"):
        problem(base, altimetry=od)
    late = od.with_values(od.value)
    late.t = late.t + SPAN
    with pytest.raises(InputError, match=r"od\.optical.*inside the arc"):
        problem(base, optical=late)
    pr = problem(base, optical=od, altimetry=ad)
    with pytest.raises(InputError, match=r"information\.kinds"):
        pr.information(kinds=["optical"])
    with pytest.raises(InputError, match=r"information\.chunk"):
        pr.information(chunk=0)
    with pytest.raises(InputError, match=r"information\.p"):
        pr.information(np.zeros(3))
    with pytest.raises(InputError, match=r"optical\.landmark"):
        OpticalData(od.t, od.image, od.landmark + 1000, od.component, od.value, od.sigma, od.camera, od.landmarks,
                    od.shape)
    with pytest.raises(InputError, match=r"optical\.sigma"):
        OpticalData(od.t, od.image, od.landmark, od.component, od.value, -1.0, od.camera, od.landmarks, od.shape)
    with pytest.raises(InputError, match=r"simulate_optical\.t"):
        simulate_optical(base["probe"], base["probe"].p0, t=[base["t1"] + 10], landmarks=base["lm"],
                         camera=base["cam"], shape=base["shape"])


def test_simulation_is_reproducible(base):
    """Same seed, same data (optical and LIDAR); another seed, other noise."""
    b = base
    pr = b["probe"]
    kw = dict(t=b["t_img"][:4], landmarks=b["lm"], camera=b["cam"], shape=b["shape"])
    a1 = simulate_optical(pr, pr.p0, seed=5, **kw)
    a2 = simulate_optical(pr, pr.p0, seed=5, **kw)
    a3 = simulate_optical(pr, pr.p0, seed=6, **kw)
    assert np.array_equal(a1.value, a2.value) and not np.array_equal(a1.value, a3.value)
    l1 = simulate_altimetry(pr, pr.p0, t=b["t_lid"][:50], shape=b["shape"], seed=5)
    l2 = simulate_altimetry(pr, pr.p0, t=b["t_lid"][:50], shape=b["shape"], seed=5)
    assert np.array_equal(l1.value, l2.value)


def test_phobos_ephemeris_correction_of_the_dynamics(base, surface):
    """A PhobosGravity with ``ephemeris_parameters`` gives the problem its own hook
    (:class:`~mmxsim.navigation.od.PhobosEphemerisHook`: the dynamics' mapping): each of
    ``phobos:dx .. dvz`` moves both the spacecraft (through the dynamics) and the surface it sees.
    Reference, in two parts: (1) the spacecraft's part, on the Doppler rows (which see only the
    spacecraft): central differences of ``computed_rows`` with steps of 3e-2 km and 3e-6 km/s
    (re-propagations: smaller steps drown in the QSO's integration noise, as for the state columns);
    (2) the surface rows with the spacecraft's part removed (``J_sc . S``, checked by (1) and by the
    state-column tests) vs central differences with the trajectory held fixed (steps 1e-5 km,
    1e-9 km/s; LIDAR shots whose facet changes within the step left out), tolerance 1e-6 of the
    column's largest partial."""
    from mmxsim.dynamics import DynamicsModel, MarsGravity, PhobosGravity
    from mmxsim.navigation.od import PHOBOS_STATE_PARAMETERS, PhobosEphemerisHook

    b = base
    od, ad = surface
    force = PhobosGravity("harmonics", degree=2, libration_parameter=True, ephemeris_parameters=True,
                          ephemeris_epoch=b["t0"])
    model = DynamicsModel(forces=[MarsGravity(2), force], ephemeris=b["eph"], tolerance=1e-14)
    est = {n: Prior(0.0, 1.0) for n in PHOBOS_STATE_PARAMETERS}
    pr = OrbitProblem(model, b["t0"], b["t1"], b["rows"], b["stations"], [Prior(v, 1.0) for v in b["x0"]],
                      estimate=est, settings=b["settings"], ephemeris=b["eph"], optical=od, altimetry=ad)
    assert isinstance(pr.phobos_correction, PhobosEphemerisHook)
    lin = pr.linearize(pr.p0)
    m0, m1 = len(b["rows"]), len(b["rows"]) + len(od)
    traj0 = pr.trajectory(pr.p0)
    f0 = _lidar_facets(pr, pr.p0, traj0)
    # the surface rows' partials with the trajectory held fixed: H minus the spacecraft's part
    frozen = OrbitProblem(model, b["t0"], b["t1"], b["rows"], b["stations"], [Prior(v, 1.0) for v in b["x0"]],
                          estimate=est, settings=b["settings"], ephemeris=b["eph"], optical=od, altimetry=ad)
    frozen.trajectory = lambda p, c=None: traj0
    for nm in PHOBOS_STATE_PARAMETERS:
        j = pr.names.index(nm)
        a = lin.H[:, j]
        for rows in (slice(0, m0), slice(m0, m1)):  # Doppler (spacecraft only), landmarks (both)
            assert np.max(np.abs(a[rows])) > 0, (nm, rows)
        h = 0.1 if nm[-2] == "d" else 1e-5
        p1, p2 = pr.p0.copy(), pr.p0.copy()
        p1[j] += h
        p2[j] -= h
        fd = (pr.computed_rows(p1)[0][:m0] - pr.computed_rows(p2)[0][:m0]) / (2 * h)
        assert np.max(np.abs(a[:m0] - fd)) < 3e-4 * np.max(np.abs(a[:m0])), nm
        h = 1e-5 if nm[-2] == "d" else 1e-9
        p1, p2 = pr.p0.copy(), pr.p0.copy()
        p1[j] += h
        p2[j] -= h
        same = (_lidar_facets(frozen, p1, traj0) == f0) & (_lidar_facets(frozen, p2, traj0) == f0)
        fd = (frozen.computed_rows(p1)[0][m0:] - frozen.computed_rows(p2)[0][m0:]) / (2 * h)
        surf = a[m0:] - _spacecraft_part(pr, traj0, j)[m0:]
        keep = np.r_[np.ones(m1 - m0, bool), same]
        assert np.max(np.abs(surf)) > 0, nm
        assert np.max(np.abs(surf - fd)[keep]) < 1e-6 * np.max(np.abs(surf)), nm


def _spacecraft_part(pr, traj, j):
    """Column ``j`` of the surface rows' partials through the spacecraft's trajectory only: the rows
    depend on ``r - q``, so ``d/dr = -d_value_d_phobos[:, :3]`` (the models' output), times the
    trajectory's position sensitivity at the image and shot epochs."""
    out = [np.zeros(len(pr.data))]
    col = traj.names.index(pr.names[j])
    for kind, obs in (("landmark", pr.optical), ("lidar", pr.altimetry)):
        _, dph = pr.surface_rows(pr.p0)[kind]
        t = obs.t[obs.image] if kind == "landmark" else obs.t  # images: one epoch per image
        S = traj.sensitivity(t)[:, :3, col]
        out.append(-np.einsum("ki,ki->k", dph[:, :3], S))
    return np.concatenate(out)


def test_surface_information_equals_simulation_then_information(base):
    """Covariance mode (od.surface_information: rows decided and linearised in one pass) against the
    two-step path (noise-free simulate_optical / simulate_altimetry, a problem with those data, its
    information()): the same rows and the same normal matrices of the landmark and LIDAR kinds over
    state, libration, camera and LIDAR biases and the positions of three landmarks, to 1e-9 relative
    of each matrix's largest entry (reference: the two-step path, tested above against finite
    differences)."""
    from mmxsim.navigation.od import surface_information

    b = base
    est = {"phobos:libration": Prior(b["model"].forces[1].libration, 1e-3)}
    pr = problem(b, estimate=est)
    od = simulate_optical(pr, pr.p0, t=b["t_img"], landmarks=b["lm"], camera=b["cam"], shape=b["shape"],
                          noise=False)
    ad = simulate_altimetry(pr, pr.p0, t=b["t_lid"], shape=b["shape"], noise=False)
    lm_names = {f"lmk:{k}:{a}": float(b["lm"].position_km[k, i]) for k in (0, 5, 9) for i, a in enumerate("xyz")}
    extra = {**{f"point:cam:{i}": 0.0 for i in (1, 2, 3)}, **{f"lidarpoint:{i}": 0.0 for i in (1, 2, 3)},
             **lm_names}
    full = problem(b, estimate={**est, **{k: Prior(v_, 1e-3) for k, v_ in extra.items()}}, optical=od,
                   altimetry=ad)
    ref = full.information(full.p0, kinds=["landmark", "lidar"])
    got = surface_information(pr, pr.p0, extra=extra, images=b["t_img"], landmarks=b["lm"], camera=b["cam"],
                              shots=b["t_lid"], shape=b["shape"])
    assert got.names == ref.names
    assert got.rows == {"landmark": len(od), "lidar": len(ad)}
    for k in ("landmark", "lidar"):
        A, B = got.normal[k], ref.normal[k]
        assert np.max(np.abs(A)) > 0
        assert np.max(np.abs(A - B)) <= 1e-9 * np.max(np.abs(B)), (k, np.max(np.abs(A - B)) / np.max(np.abs(B)))
