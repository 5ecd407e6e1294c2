"""IDEFIX (CNES/DLR) deployment model (mmxsim.surface.rover): analytic and conservation checks.

Each test states its tolerance and the value measured when it was written.
"""

import math

import numpy as np
import pytest

from mmxsim.errors import InputError
from mmxsim.surface import rover as rv

G = 0.0057  # m/s², uniform Phobos gravity of the analytic case [WP-Phobos]


def _state(p, v=(0, 0, 0), att=(0, 0, 0), w=(0, 0, 0)):
    X = np.zeros(13)
    X[0:3], X[3:6], X[6:10], X[10:13] = p, v, rv.euler_quaternion(*att), w
    return X


def test_free_fall_40m_uniform_analytic():
    """Release at rest, lowest point 40 m above a flat plane, uniform 0.0057 m/s², no rotation:
    first contact at t = sqrt(2h/g) = 118.47 s with v = sqrt(2gh) = 0.6753 m/s (issue: ~118 s,
    ~0.68 m/s). Tolerance: 0.01 s (contact onset is resolved to the 2.5 ms contact step; measured
    +2.0 ms) and 1e-4 relative in speed (measured 1.7e-5)."""
    res = rv.deploy(rv.Release(altitude_m=40.0, velocity_m_s=(0, 0, 0)), gravity="uniform", rotating=False,
                    terrain=rv.Terrain.plane(), settings=rv.Settings(t_max_s=200.0), record=False)
    t_an, v_an = math.sqrt(2 * 40 / G), math.sqrt(2 * G * 40)
    assert abs(t_an - 118.47) < 0.01 and abs(v_an - 0.675) < 0.001
    assert abs(res.t_first_impact_s[0] - t_an) < 0.01
    assert abs(res.v_first_impact_m_s[0] / v_an - 1) < 1e-4
    assert abs(res.vn_first_impact_m_s[0] / v_an - 1) < 1e-4


def test_jacobi_integral_conserved_without_contact():
    """No contact, point-mass Phobos (exact potential GM/r, GM_PHOBOS) + Hill terms + Coriolis in
    the rotating frame: the Jacobi-like integral |v|²/2 - GM/r - n²(3x² - z²)/2 plus the
    rotational energy of the torque-free tumble is conserved to 1e-9 relative over a 240 s hop
    (40 m above an 11 km radius, 0.5 m/s up, tumbling) with the kernel's RK4 at 1 s steps
    (measured 3.9e-16; with a path through the deep interior the error grows as dt^5: it is
    integration error, not a model term)."""
    site = np.array([11.0, 0.0, 0.0])
    ter = rv.Terrain(np.array([-1e9, 0, 0, 0, 0, 0.0]), np.zeros((4, 4)), 0.1, 1e9, site, rv.local_frame(site, site))
    env = rv.make_env(terrain=ter, gravity="point", rotating=True, settings=rv.Settings(escape_m=1e13))
    X = _state((3.0, -2.0, 40.0), (0.05, 0.02, 0.5), (10, 20, 30), (0.02, -0.01, 0.03))
    J0 = rv.jacobi_integral(env, X[:3], X[3:6], X[10:13])[0]
    s = X.copy()
    buf, a, R = np.empty(4), np.empty(3), np.empty((3, 3))
    w = tuple(np.empty(13) for _ in range(5))  # RK4 work arrays (k1..k4, stage state)
    J = []
    for _ in range(240):
        rv._flight_step(0.0, s, 1.0, w, env.prm, env.site, env.Rlb, env.Om, env.G, env.Rg, env.shC, env.shS, buf, a, R)
        J.append(rv.jacobi_integral(env, s[:3], s[3:6], s[10:13])[0])
    err = np.max(np.abs(np.array(J) - J0)) / abs(J0)
    assert err < 1e-9, err
    assert s[2] > 0  # stayed above the start plane's level


def test_potential_is_the_acceleration_field():
    """env.potential's gradient (central differences, 1 mm) equals env.accel without Coriolis, to
    1e-6 relative, for 'point' and 'uniform' (the potential used in the Jacobi test is the one
    integrated)."""
    site = np.array([11.0, 2.0, -1.0])
    ter = rv.Terrain(np.array([-1e9, 0, 0, 0, 0, 0.0]), np.zeros((4, 4)), 0.1, 1e9, site, rv.local_frame(site, site))
    for grav in ("point", "uniform"):
        env = rv.make_env(terrain=ter, gravity=grav, rotating=True, g_uniform=(0.001, 0.0, -G))
        p = np.array([3.0, -2.0, 40.0])
        g = np.array([(env.potential(p + 1e-3 * e) - env.potential(p - 1e-3 * e))[0] / 2e-3 for e in np.eye(3)])
        assert np.linalg.norm(g - env.accel(p)) < 1e-6 * np.linalg.norm(g)


def test_jacobi_kernel_run_matches_rk4_loop():
    """The ensemble kernel (adaptive RK4 in free flight) ends where a fixed 0.1 s RK4 loop ends
    (point mass + Hill + Coriolis, 600 s, no contact): within 1e-6 m (measured ~1e-9 m)."""
    site = np.array([11.0, 0.0, 0.0])
    ter = rv.Terrain(np.array([-1e9, 0, 0, 0, 0, 0.0]), np.zeros((4, 4)), 0.1, 1e9, site, rv.local_frame(site, site))
    env = rv.make_env(terrain=ter, gravity="point", rotating=True,
                      settings=rv.Settings(t_max_s=600.0, escape_m=1e13, dt_flight_s=0.1))
    X = _state((0.0, 0.0, 40.0), (0.01, 0.0, -0.03))
    out, _ = env.run(X[None], [0.4], [0.6])
    s = X.copy()
    buf, a, R = np.empty(4), np.empty(3), np.empty((3, 3))
    w = tuple(np.empty(13) for _ in range(5))  # RK4 work arrays (k1..k4, stage state)
    for _ in range(6000):
        rv._flight_step(0.0, s, 0.1, w, env.prm, env.site, env.Rlb, env.Om, env.G, env.Rg, env.shC, env.shS, buf, a, R)
    assert np.max(np.abs(out[0, 6:9] - s[:3])) < 1e-6


def test_single_bounce_restitution():
    """Level four-wheel impact on a flat plane (uniform 0.0057 m/s²): the rebound normal speed
    equals e x impact speed. The damping is calibrated on the discrete step (averaged over entry
    phases), so what remains is the phase of the first contact within a step and the gravity
    impulse during contact (g t_c = 0.0003 m/s). Nine entry phases per case. Measured at the
    default step t_c/20: single impacts within -8.5..+6.2 % (e = 0.2), -4.5..+3.6 % (0.4),
    -1.7..+1.3 % (0.7), means -1.7 / -0.9 / -0.3 %; at t_c/400 all within 0.7 %. Tolerances:
    10 % single, 2.5 % mean at t_c/20; 1 % at t_c/400."""
    for e in (0.2, 0.4, 0.7):
        for dt, tol1, tolm in ((None, 0.10, 0.025), (0.05 / 400, 0.01, 0.01)):
            errs = []
            for alt in np.linspace(0.01, 0.0112, 9):  # entry phases over 1.2 mm (the step at 0.5 m/s)
                c = rv.ContactModel(restitution=e, friction=0.5, dt_s=dt)
                res = rv.deploy(rv.Release(altitude_m=alt, velocity_m_s=(0, 0, -0.5)), contact=c, gravity="uniform",
                                rotating=False, terrain=rv.Terrain.plane(), settings=rv.Settings(t_max_s=1.0),
                                record=False)
                errs.append(res.rebound_normal_m_s[0] / (e * res.vn_first_impact_m_s[0]) - 1)
            errs = np.array(errs)
            assert np.max(np.abs(errs)) < tol1 and abs(errs.mean()) < tolm, (e, dt, errs)


def test_restitution_closed_form():
    """spring_damper_restitution: ζ = 0 gives e = 1 and ω_d t_c = π; e decreases with ζ."""
    e0, ph0 = rv.spring_damper_restitution(0.0)
    assert abs(e0 - 1) < 1e-15 and abs(ph0 - math.pi) < 1e-15
    es = [rv.spring_damper_restitution(z)[0] for z in (0.1, 0.3, 0.5)]
    assert es[0] > es[1] > es[2] > 0
    with pytest.raises(InputError):
        rv.spring_damper_restitution(1.5)


def test_friction_stops_at_analytic_distance():
    """Rover standing on its wheels on a flat plane, uniform 0.0057 m/s², pushed horizontally at
    v0: Coulomb friction decelerates the centre of mass at μg, stopping after v0²/(2μg). Tolerance
    1 % (measured -0.016 % for μ = 0.5 and 0.8: spring settling and the stick-spring offset)."""
    r = rv.RoverModel()
    for mu, v0 in ((0.5, 0.05), (0.8, 0.08)):
        c = rv.ContactModel(restitution=0.4, friction=mu)
        env = rv.make_env(contact=c, settings=rv.Settings(t_max_s=200.0, t_hold_s=2.0))
        z0 = 0.5 * r.height_m - 1e-5  # wheels 10 µm into the plane
        X = _state((0.0, 0.0, z0), (v0, 0.0, 0.0))
        res = rv.run_states(env, X[None], friction=mu)
        assert res.status[0] == rv.SETTLED
        d_an = v0 ** 2 / (2 * mu * G)
        assert abs(res.rest_position_m[0, 0] / d_an - 1) < 0.01, res.rest_position_m[0, 0] / d_an - 1
        assert abs(res.rest_position_m[0, 1]) < 1e-6


def test_read_only_frictions_do_not_compile_the_kernel_again():
    """run_states passes the frictions as a read-only broadcast view; the kernel gets a writable copy,
    so that it is compiled for one argument type only (a second type is a second compilation of the
    largest rover kernel on a first run)."""
    from mmxsim._accel import HAVE_NUMBA
    from mmxsim.surface.rover.kernels import _deploy_kernel

    if not HAVE_NUMBA:
        pytest.skip("numba's compiled versions only")
    env = rv.make_env(settings=rv.Settings(t_max_s=1.0))
    X = _state((0.0, 0.0, 1.0))
    rv.run_states(env, X[None], friction=0.5)
    mu = np.full(2, 0.5)
    mu.flags.writeable = False
    rv.run_states(env, np.stack([X, X]), friction=mu)
    rv.run_states(env, np.stack([X, X]), friction=np.broadcast_to(0.7, (2,)))
    assert len(_deploy_kernel.signatures) == 1, _deploy_kernel.signatures


def test_rests_on_slope_below_friction_angle_and_slides_above():
    """Stick friction: on a 20° plane with μ = 0.6 (friction angle 31°) a rover set down at rest
    stays (drift < 1 mm over 60 s); with μ = 0.2 (11°) it slides away (> 1 m)."""
    ter = rv.Terrain.plane(slope_deg=20.0)
    r = rv.RoverModel()
    # standing on the slope: wheels down along the plane normal (pitch = -20 deg about y)
    q = rv.euler_quaternion(0, -20.0, 0)
    Rm = rv.quat_matrix(q)
    pts, rad = r.contact_points()
    n = np.array([-math.sin(math.radians(20)), 0, math.cos(math.radians(20))])
    lowest = np.min((pts @ Rm.T) @ n - rad)
    X = np.zeros(13)
    X[0:3] = -lowest * n + n * 1e-5
    X[6:10] = q
    for mu, stays in ((0.6, True), (0.2, False)):
        env = rv.make_env(contact=rv.ContactModel(friction=mu), terrain=ter,
                          settings=rv.Settings(t_max_s=60.0, t_hold_s=1e4))
        out, _ = env.run(X[None], [0.4], [mu])
        d = np.linalg.norm(out[0, 6:9] - X[0:3])
        assert (d < 1e-3) if stays else (d > 1.0), (mu, d)


def test_phobos_deployment_grid_gravity_rotating():
    """Full model at the default site (grid gravity, Hill + Coriolis, shape-model patch +
    roughness + boulders): a nominal deployment settles; the first impact comes after
    110-125 s at 0.6-0.72 m/s (the free-fall estimate with the local g_eff ~5.5 mm/s² and the
    3 cm/s separation speed), several impacts, rest attitude and safety computed."""
    from mmxsim.gravity.fast import GridGravity

    grid = GridGravity("thomas3k", dlat_deg=3.0, dlon_deg=3.0, n_radial=16, s_max=3.0)
    res = rv.deploy(grid=grid)
    assert res.status[0] == rv.SETTLED
    assert 105.0 < res.t_first_impact_s[0] < 125.0 and 0.6 < res.v_first_impact_m_s[0] < 0.72
    assert res.impacts[0] >= 2 and res.settle_time_s[0] > res.t_first_impact_s[0]
    assert np.isfinite(res.rest_slope_deg[0]) and np.isfinite(res.rest_roughness_m[0])
    # g_eff at the site: |g| between 4 and 7 mm/s² (maps: 3.5-6 mm/s² over Phobos)
    env = rv._Env(rv.RoverModel(), rv.ContactModel(), res.terrain, "grid", grid, None, True, rv.N_PHOBOS,
                  rv.Settings())
    assert 4e-3 < np.linalg.norm(env.accel(np.zeros(3))) < 7e-3
    # the terrain's quadratic fits the grid surface within 5 m rms over ±300 m
    assert res.terrain.fit_rms_m < 5.0
    figs = res.figures()
    assert {"trajectory", "dispersion", "settling"} <= set(figs)


def test_monte_carlo_seeded_and_summary():
    """Monte Carlo on a uniform-gravity rough plane: same seed → identical results; summary
    numbers finite; ellipse semi-axes ordered."""
    ter = rv.Terrain.plane(relief=rv.relief_tile(rv.TerrainModel(tile_m=12.8), seed=3)[0], spacing_m=0.1)
    kw = dict(n=16, seed=5, terrain=ter, gravity="uniform", rotating=False, record=1)
    a = rv.deploy_monte_carlo(**kw)
    b = rv.deploy_monte_carlo(**kw)
    assert np.array_equal(a.rest_position_m, b.rest_position_m)
    s = a.summary()
    assert s["n"] == 16 and 0 <= s["settled_fraction"] <= 1
    a1, b1, _ = a.ellipse(1.0)
    assert a1 >= b1 >= 0
    assert 0.55 < s["v_first_impact_median_m_s"] < 0.8


def test_relief_tile_statistics():
    """Roughness rms equals the requested value (exact normalisation, without boulders); boulder
    count matches the power law's expectation A (Dmin^-b - Dmax^-b) area within 5 sigma."""
    m = rv.TerrainModel(roughness_rms_m=0.05, boulder_density_per_m2=0.0)
    h, b = rv.relief_tile(m, seed=1)
    assert abs(h.std() - 0.05) < 1e-12 and len(b) == 0
    m = rv.TerrainModel(roughness_rms_m=0.0, tile_m=102.4)
    h, b = rv.relief_tile(m, seed=2)
    b_ = m.boulder_exponent
    lam = m.boulder_density_per_m2 * (m.boulder_dmin_m ** -b_ - m.boulder_dmax_m ** -b_) * m.tile_m ** 2
    assert abs(len(b) - lam) < 5 * math.sqrt(lam)
    assert abs(h.max() - b[:, 2].max() / 2) < 0.05  # hemispheres


@pytest.mark.parametrize("call", [
    lambda: rv.RoverModel(mass_kg=-1),
    lambda: rv.RoverModel(wheel_radius_m=1.0),
    lambda: rv.ContactModel(restitution=0.0),
    lambda: rv.ContactModel(restitution=1.5),
    lambda: rv.ContactModel(friction=-0.1),
    lambda: rv.ContactModel(dt_s=1.0),
    lambda: rv.Release(altitude_m=-5),
    lambda: rv.Release(velocity_m_s=(0, 0)),
    lambda: rv.Release(attitude_deg=(0, float("nan"), 0)),
    lambda: rv.TerrainModel(roughness_rms_m=-1),
    lambda: rv.TerrainModel(boulder_dmax_m=0.1),
    lambda: rv.Settings(t_max_s=0),
    lambda: rv.DeploymentDistribution(restitution=(0.5, 0.3)),
    lambda: rv.DeploymentDistribution(altitude_m=(1.0, 1.0)),
    lambda: rv.deploy_monte_carlo(n=0, gravity="uniform"),
    lambda: rv.deploy_monte_carlo(n=3, seed=-1, gravity="uniform"),
    lambda: rv.deploy(gravity="magic"),
    lambda: rv.deploy(release="40 m"),
    lambda: rv.make_env(gravity="uniform", g_uniform=(0, 0, 0)),
    lambda: rv.Terrain.plane(slope_deg=95),
])
def test_bad_inputs_raise_input_error(call):
    with pytest.raises(InputError):
        call()


def test_rotating_frame_flight_matches_landing_hill_equations():
    """Independent check of the frame, gravity and Hill/Coriolis terms: a 100 s flight from 40 m
    above the default site (no contact) with grid gravity, propagated by the rover kernel in the
    local frame (m), ends where mmxsim.surface.landing's RK4 of the body-frame Hill equations (km,
    separate code) ends: within 1 mm (measured ~1e-8 m)."""
    from mmxsim.gravity.fast import GridGravity
    from mmxsim.surface import landing

    grid = GridGravity("thomas3k", dlat_deg=3.0, dlon_deg=3.0, n_radial=16, s_max=3.0)
    ter = rv.site_terrain(*rv.DEFAULT_SITE, grid=grid)
    far = rv.Terrain(ter.base - np.array([1e6, 0, 0, 0, 0, 0]), np.zeros((4, 4)), 0.1, 1e9, ter.site_km, ter.frame)
    env = rv.make_env(terrain=far, gravity="grid", grid=grid, rotating=True,
                      settings=rv.Settings(t_max_s=100.0, dt_flight_s=0.5, escape_m=1e13))
    X = _state((1.0, 2.0, 40.0), (0.02, -0.01, -0.03))
    out, _ = env.run(X[None], [0.4], [0.6])
    Rf = ter.frame
    s = np.concatenate([ter.site_km + Rf @ X[:3] * 1e-3, Rf @ X[3:6] * 1e-3])
    s1 = np.empty(6)
    w = tuple(np.empty(6) for _ in range(5))  # RK4 work arrays (k1..k4, stage state)
    buf = np.empty(4)
    for _ in range(200):
        landing._step(0.0, s, 0.5, (*grid.kernel_args, rv.N_PHOBOS, buf), s1, w)
        s = s1.copy()
    p_land = Rf.T @ (s[:3] - ter.site_km) * 1e3
    assert np.max(np.abs(out[0, 6:9] - p_land)) < 1e-3, out[0, 6:9] - p_land


def test_restitution_closed_form_against_scipy():
    """The clamped spring-damper closed form (separation at ω_d t = π - 2 arcsin ζ) against an
    independent numerical solution (SciPy DOP853, rtol 1e-12, event on the force k x + c x' = 0,
    then free flight): e and contact time agree to 1e-7 for ζ = 0.1, 0.3, 0.6 (measured 6e-13)."""
    from scipy.integrate import solve_ivp

    for zeta in (0.1, 0.3, 0.6):
        wn = 1.0
        c = 2 * zeta * wn

        def rhs(t, y):
            return [y[1], -wn * wn * y[0] - c * y[1]]

        def force_zero(t, y):
            return wn * wn * y[0] + c * y[1] if t > 1e-9 else 1.0

        force_zero.terminal, force_zero.direction = True, -1
        sol = solve_ivp(rhs, (0, 20), [0.0, 1.0], method="DOP853", rtol=1e-12, atol=1e-14, events=force_zero)
        ts, (xs, vs) = sol.t_events[0][0], sol.y_events[0][0]
        e, ph = rv.spring_damper_restitution(zeta)
        assert abs(-vs - e) < 1e-7, (zeta, -vs, e)
        assert abs(ts * wn * math.sqrt(1 - zeta ** 2) - ph) < 1e-7


def test_safe_zone_slope_at_rest():
    """A rover set down on a 20° plane (μ = 0.8, uniform gravity) rests with a footprint slope of
    20° relative to gravity (to 0.5°; measured 20.0°): safe with the default 30° limit, unsafe
    with a 15° limit; roughness of a plane is 0."""
    ter = rv.Terrain.plane(slope_deg=20.0)
    q = rv.euler_quaternion(0, -20.0, 0)
    r = rv.RoverModel()
    pts, rad = r.contact_points()
    n = np.array([-math.sin(math.radians(20)), 0, math.cos(math.radians(20))])
    X = np.zeros(13)
    X[0:3] = -np.min((pts @ rv.quat_matrix(q).T) @ n - rad) * n + 1e-5 * n
    X[6:10] = q
    for lim, safe in ((30.0, True), (15.0, False)):
        env = rv.make_env(contact=rv.ContactModel(friction=0.8), terrain=ter,
                          settings=rv.Settings(t_max_s=60.0, slope_max_deg=lim))
        res = rv.run_states(env, X[None], friction=0.8)
        assert res.status[0] == rv.SETTLED
        assert abs(res.rest_slope_deg[0] - 20.0) < 0.5 and res.rest_roughness_m[0] < 1e-9
        assert bool(res.safe[0]) is safe


def test_deployment_dispersions_follow_their_documented_distributions():
    """DeploymentDistribution.sample against the distributions its docstring states, checked with
    scipy: Kolmogorov-Smirnov tests for altitude (Normal(mean, sigma)), roll and pitch
    (Normal(0, tilt_sigma), recovered from the quaternions by scipy's Rotation, intrinsic z-y-x),
    yaw (Uniform 0..360), the rates (Normal(0, sigma) deg/s, returned in rad/s), velocity, restitution
    and friction; roll and pitch independent (|correlation| < 4/sqrt(n))."""
    from scipy import stats
    from scipy.spatial.transform import Rotation

    d = rv.DeploymentDistribution(altitude_m=(40.0, 3.0), velocity_mean_m_s=(0.01, -0.02, -0.03),
                                  velocity_sigma_m_s=0.01, tilt_sigma_deg=5.0, rate_sigma_deg_s=0.5,
                                  restitution=(0.2, 0.6), friction=(0.4, 0.9))
    n = 4000
    alt, vel, q, rate, e, mu = d.sample(n, 12345)
    p = 1e-4  # the KS p-value below which a sample is rejected (fixed seed: deterministic)
    assert stats.kstest(alt, stats.norm(40.0, 3.0).cdf).pvalue > p
    yaw, pitch, roll = Rotation.from_quat(np.asarray(q)[:, [1, 2, 3, 0]]).as_euler("ZYX", degrees=True).T
    assert stats.kstest(roll, stats.norm(0.0, 5.0).cdf).pvalue > p
    assert stats.kstest(pitch, stats.norm(0.0, 5.0).cdf).pvalue > p
    assert stats.kstest(np.mod(yaw, 360.0), stats.uniform(0.0, 360.0).cdf).pvalue > p
    assert abs(np.corrcoef(roll, pitch)[0, 1]) < 4.0 / math.sqrt(n)
    rate = np.asarray(rate)
    assert rate.shape == (n, 3)
    for k in range(3):
        assert stats.kstest(rate[:, k], stats.norm(0.0, math.radians(0.5)).cdf).pvalue > p
        assert stats.kstest(vel[:, k], stats.norm(d.velocity_mean_m_s[k], 0.01).cdf).pvalue > p
    assert stats.kstest(e, stats.uniform(0.2, 0.4).cdf).pvalue > p
    assert stats.kstest(mu, stats.uniform(0.4, 0.5).cdf).pvalue > p
