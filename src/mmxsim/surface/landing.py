"""Descent from a QSO to touchdown at a chosen site, and landing-dispersion Monte Carlo.

Simplified model (stated assumptions; see docs/descent.md)
----------------------------------------------------------
* Dynamics: circular Hill problem of Mars-Phobos (as :mod:`mmxsim.orbits.qso`) written in
  Phobos' body-fixed frame. Phobos rotates synchronously, so the body frame is the Hill frame
  turned 180° about z (``HILL_TO_BODY``) and the equations keep their form (km, s)::

      x'' =  2 n y' + 3 n² x + g_x
      y'' = -2 n x'          + g_y
      z'' =          - n² z  + g_z

  with n the Phobos mean motion [JPL-SAT] and g Phobos' gravity from the interpolated
  polyhedron (:class:`mmxsim.gravity.fast.GridGravity`, error bound stated there). Mars enters
  only as the Hill tide and the frame rotation (circular orbit); not modelled: eccentricity,
  libration, Mars' J2, the Sun, Deimos, solar pressure.
* One model from the QSO to touchdown: the departure QSO is a periodic orbit of *these*
  equations with *this* grid and integrator (:func:`periodic_qso_grid`; a harmonic
  :class:`mmxsim.orbits.qso.QSO` handed to :func:`plan_descent` is re-corrected there and
  serves only as Newton's guess). Why this and not the reverse (a full-model QSO state
  expressed in the body frame and then flown in the grid model): the full model has Mars'
  eccentricity, J2, the Sun and Deimos, which the descent model omits, so a full-model state
  is not on any orbit of the descent model and the hand-over would carry a force jump of the
  size of those omitted terms; the harmonic QSO (degree 2) at 30 km is inside the harmonics'
  validity radius (80 km, :mod:`mmxsim.gravity.validity`) and is off by 1.1e-2 (relative
  acceleration) from the thomas3k polyhedron at the 30 km point (truncation and a different
  shape model together); flown in the grid model it drifts
  0.7 km in one revolution (measured, docs/descent.md). With the QSO corrected in the descent
  model, the acceleration at the hand-over is the same function on both sides, and without the
  departure burn the descent integrator stays on the QSO (tests/surface/test_landing.py).
* Surface: the grid's surface ``r = R(lat, lon)`` (planetocentric latitude, east longitude,
  body-fixed IAU_PHOBOS convention). A site is a lat/lon mapped onto that surface. Velocities
  relative to the surface are body-frame velocities; "vertical" is along the outward surface
  normal at the touchdown point.
* Guidance (open loop + one linear correction, impulsive burns):

  1. departure burn at the QSO state (chosen by its phase): found by Newton shooting so that
     the ballistic arc reaches the *braking point* (``brake_altitude_m`` above the site along
     its normal) after ``transfer_time_s``;
  2. correction burn ``correction_lead_s`` before the nominal arrival: from the navigated
     state deviation, linear targeting of the braking point with the nominal trajectory's
     state-transition matrix (finite differences);
  3. braking burn when the (true) altitude falls to ``brake_altitude_m``: sets the navigated
     velocity to ``brake_speed_m_s`` downward along the site normal; then free fall to touchdown.

* Touchdown limits: MMX's are not published (mmx-facts.md §11 item 2, UNCONFIRMED);
  :class:`TouchdownLimits` defaults (0.5 m/s vertical, 0.1 m/s horizontal) are ASSUMPTIONS.
* Dispersions (:class:`DispersionModel`): Gaussian navigation errors (position, velocity, per
  axis) at departure, at the correction and (velocity) at braking; manoeuvre execution errors
  (magnitude, per cent; pointing, degrees per axis perpendicular to the burn) on all burns. All
  default sigmas are ASSUMPTIONS (no MMX values published). Samples come from
  ``numpy.random.default_rng(seed)``: same seed, same ensemble.

Integration: fixed-step classical Runge-Kutta 4 (default 10 s; the local dynamical time near
the surface is ~1400 s) in a numba kernel looping over the trajectories (serial); altitude crossings are
located by bisection on the step. Validated against SciPy DOP853 with the exact polyhedron in
tests/surface/test_landing.py (tolerance stated there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..bodies import PHOBOS_MEAN_MOTION
from ..errors import InputError
from ..gravity.fast import GridGravity
from ._descent_kernels import ESCAPED, IMPACT_BEFORE_BRAKING, LANDED, TIMEOUT  # status codes
from ._descent_kernels import _step  # noqa: F401 (the RK4 step of the descent model, used by tests)
from ._descent_kernels import _descent_serial, _exec_burn

N = PHOBOS_MEAN_MOTION  # rad/s, [JPL-SAT] 1128.8447569 deg/day
HILL_TO_BODY = np.diag([-1.0, -1.0, 1.0])  # as mmxsim.orbits.qso (180 deg about z)

STATUS_NAMES = {LANDED: "landed", IMPACT_BEFORE_BRAKING: "impact before braking", TIMEOUT: "timeout",
                ESCAPED: "escaped"}
_R_ESCAPE_KM = 200.0



# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TouchdownLimits:
    """Touchdown speed limits relative to the surface (m/s). MMX values are UNCONFIRMED
    (mmx-facts.md §11 item 2): the defaults are ASSUMPTIONS."""

    vertical_m_s: float = 0.5
    horizontal_m_s: float = 0.1

    def __post_init__(self):
        for k in ("vertical_m_s", "horizontal_m_s"):
            v = getattr(self, k)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise InputError(f"TouchdownLimits.{k}", v, "a finite speed > 0 m/s")


@dataclass(frozen=True)
class DispersionModel:
    """1-sigma Gaussian errors, per axis (all defaults are ASSUMPTIONS: no MMX values published).

    nav_pos_m, nav_vel_mm_s: navigation (knowledge) error at departure and at the correction.
    brake_nav_vel_mm_s: velocity knowledge at braking (e.g. LIDAR/camera relative navigation).
    exec_mag_pct: burn magnitude error, per cent; exec_point_deg: pointing error per axis, deg.
    """

    nav_pos_m: float = 10.0
    nav_vel_mm_s: float = 1.0
    brake_nav_vel_mm_s: float = 1.0
    exec_mag_pct: float = 1.0
    exec_point_deg: float = 0.5

    def __post_init__(self):
        for k in ("nav_pos_m", "nav_vel_mm_s", "brake_nav_vel_mm_s", "exec_mag_pct", "exec_point_deg"):
            v = getattr(self, k)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise InputError(f"DispersionModel.{k}", v, "a finite sigma >= 0")


@dataclass
class DescentPlan:
    """A nominal descent (body-fixed frame, km, km/s, s)."""

    grid: GridGravity
    site_lat_deg: float
    site_lon_deg: float
    site_point: np.ndarray  # on the grid surface
    site_normal: np.ndarray
    state0: np.ndarray  # QSO state at departure (before the burn), body frame
    dv1: np.ndarray  # departure burn
    transfer_time_s: float
    brake_point: np.ndarray
    brake_altitude_km: float
    v_brake_target: np.ndarray  # velocity commanded by the braking burn
    correction_time_s: float  # <= 0: no correction
    xnom_c: np.ndarray  # nominal state at the correction time
    K: np.ndarray  # Phi_rv^-1 Phi_rr (nominal, correction -> braking point)
    dt: float
    t_max: float
    touchdown: "Touchdown" = None
    newton_iterations: int = 0
    qso: "GridQSO" = None  # the departure QSO, corrected in this plan's model (None: a state was given)
    phase: float | None = None  # departure phase on it (fraction of its period)

    @property
    def args(self):
        return (self.correction_time_s, self.xnom_c, self.K)


@dataclass
class Touchdown:
    """Touchdown states of one or more trajectories (arrays over trajectories)."""

    time_s: np.ndarray
    position_km: np.ndarray  # (n, 3) body-fixed
    velocity_km_s: np.ndarray  # (n, 3) relative to the surface (body frame)
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    vertical_m_s: np.ndarray  # downward speed along the surface normal
    horizontal_m_s: np.ndarray
    status: np.ndarray
    dv_correction_m_s: np.ndarray
    dv_brake_m_s: np.ndarray

    def within(self, limits: TouchdownLimits) -> np.ndarray:
        return ((self.status == LANDED) & (self.vertical_m_s <= limits.vertical_m_s)
                & (self.horizontal_m_s <= limits.horizontal_m_s))


def _check_num(name, v, lo=-math.inf, hi=math.inf, what="a finite number"):
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise InputError(name, v, what) from None
    if not (math.isfinite(x) and lo <= x <= hi):
        raise InputError(name, v, what)
    return x


def site_on_surface(grid: GridGravity, lat_deg, lon_deg):
    """(point km, outward normal) of the site at planetocentric latitude/east longitude (deg)
    on the grid's surface. Raises InputError for |lat| > 90, non-finite values, |lon| > 360."""
    lat = _check_num("site latitude_deg", lat_deg, -90.0, 90.0, "a latitude in [-90, 90] deg (planetocentric)")
    lon = _check_num("site longitude_deg", lon_deg, -360.0, 360.0, "an east longitude in [-360, 360] deg")
    la, lo = math.radians(lat), math.radians(((lon + 180.0) % 360.0) - 180.0)
    return grid.surface_point(la, lo), grid.surface_normal(la, lo)


def site_from_point(grid: GridGravity, point_km, tolerance_m: float = 100.0):
    """(lat_deg, lon_deg) of a body-fixed point (km) that lies on the surface to within
    ``tolerance_m`` (radially). A point off the surface (e.g. a site from another shape model
    further than the tolerance, or a point in space) raises InputError."""
    p = np.asarray(point_km, float)
    if p.shape != (3,) or not np.all(np.isfinite(p)) or not np.linalg.norm(p) > 0:
        raise InputError("site point_km", point_km, "a finite body-fixed point (3,) in km, not the origin")
    tol = _check_num("tolerance_m", tolerance_m, 0.0, 1e4, "0..10000 m")
    h, la, lo = grid.altitude(p[None])
    if abs(h[0]) * 1e3 > tol:
        raise InputError("site point_km", p.tolist(),
                         f"a point on the surface (within {tol:g} m; this one is {h[0] * 1e3:+.0f} m from it "
                         f"along the radius)")
    return math.degrees(la[0]), math.degrees(lo[0])


def _propagate(grid, X0, plan_args, h_b, v_tgt, nav_c, exec_c, nav_b, exec_b, dt, t_max, record=0, nsteps=0):
    X0 = np.ascontiguousarray(np.atleast_2d(X0), float)
    n = len(X0)
    out = np.empty((n, 8))
    burns = np.empty((n, 6))
    hist = np.zeros((record, nsteps, 7))
    t_c, xnom_c, K = plan_args
    _descent_serial(X0, float(t_c), np.ascontiguousarray(xnom_c, float), np.ascontiguousarray(K, float),
      np.ascontiguousarray(nav_c, float), np.ascontiguousarray(exec_c, float), float(h_b),
      np.ascontiguousarray(v_tgt, float), np.ascontiguousarray(nav_b, float), np.ascontiguousarray(exec_b, float),
      float(dt), float(t_max), _R_ESCAPE_KM, *grid.kernel_args, N, out, burns, hist)
    return out, burns, hist


def _ballistic(grid, X0, T, dt):
    """States after a ballistic flight of T seconds (no events; may pass below the surface,
    where the field is extrapolated: callers check the altitude)."""
    X0 = np.atleast_2d(X0)
    z3 = np.zeros((len(X0), 3))
    z4 = np.zeros((len(X0), 4))
    z6 = np.zeros((len(X0), 6))
    out, _, _ = _propagate(grid, X0, (T, np.zeros(6), np.zeros((3, 3))), -1e9, np.zeros(3), z6, z4, z3, z4,
                           dt, T)
    return out[:, 1:7]


def _surface_normals(grid, lat, lon, eps: float = 1e-4) -> np.ndarray:
    """``[grid.surface_normal(a, b) for a, b in zip(lat, lon)]`` as one array (N, 3): the same central
    differences of the surface radius, evaluated for all points at once."""
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    R = grid.surface_radius(lat, lon)
    dRdlat = (grid.surface_radius(lat + eps, lon) - grid.surface_radius(lat - eps, lon)) / (2 * eps)
    dRdlon = (grid.surface_radius(lat, lon + eps) - grid.surface_radius(lat, lon - eps)) / (2 * eps)
    cl, sl, co, so = np.cos(lat), np.sin(lat), np.cos(lon), np.sin(lon)
    up = np.stack([cl * co, cl * so, sl], axis=-1)
    north = np.stack([-sl * co, -sl * so, cl], axis=-1)
    east = np.stack([-so, co, np.zeros_like(lon)], axis=-1)
    n = up - (dRdlat / R)[:, None] * north - (dRdlon / (R * np.maximum(cl, 1e-12)))[:, None] * east
    return n / np.linalg.norm(n, axis=1)[:, None]


def _touchdown_from(grid, out, burns) -> Touchdown:
    pos = out[:, 1:4]
    vel = out[:, 4:7]
    h, lat, lon = grid.altitude(pos)
    nrm = _surface_normals(grid, lat, lon)
    vn = np.einsum("ij,ij->i", vel, nrm)
    hor = vel - vn[:, None] * nrm
    return Touchdown(out[:, 0], pos, vel, np.degrees(lat), np.degrees(lon), -vn * 1e3,
                     np.linalg.norm(hor, axis=1) * 1e3, out[:, 7].astype(int),
                     np.linalg.norm(burns[:, :3], axis=1) * 1e3, np.linalg.norm(burns[:, 3:], axis=1) * 1e3)


@dataclass
class GridQSO:
    """A periodic QSO of the descent model itself: the body-frame Hill equations of this module
    with the same :class:`GridGravity` and the same fixed-step RK4 (``dt``). Body frame, km,
    km/s, s. ``state0`` is at the Mars-side crossing of the body x axis (Hill y = 0, x = -size;
    body x = +size), ``closure_*`` the return error after one period in the descent integrator,
    ``guess`` the harmonic design (:class:`mmxsim.orbits.qso.QSO`) Newton started from."""

    grid: GridGravity
    size_km: float
    state0: np.ndarray
    period_s: float
    dt: float
    closure_position_m: float
    closure_velocity_mm_s: float
    min_altitude_km: float  # above the grid surface, sampled at the integrator steps
    out_of_plane_km: float  # max |z| over one period
    iterations: int
    guess: object = None


def _grid_rhs(grid, X):
    """Right-hand side of the descent equations (body frame) at one state."""
    g = grid.acceleration(np.asarray(X[:3], float)[None])[0]
    return np.array([X[3], X[4], X[5], 2 * N * X[4] + 3 * N * N * X[0] + g[0], -2 * N * X[3] + g[1],
                     -N * N * X[2] + g[2]])


def periodic_qso_grid(size_km: float, grid: GridGravity | None = None, guess=None, dt: float = 10.0,
                      tol_m: float = 0.01, maxit: int = 20) -> GridQSO:
    """Periodic QSO of ``size_km`` (|x| at the Mars-side crossing) corrected in the descent model.

    The descent (:func:`plan_descent`) flies the body-frame Hill equations with Phobos' gravity
    from ``grid``; a QSO designed with spherical harmonics (:func:`mmxsim.orbits.qso.periodic_qso`)
    is not periodic there, and at 30 km it lies inside the harmonics' validity radius
    (:mod:`mmxsim.gravity.validity`: degree 2 needs r > 80 km). This corrector gives the
    departure orbit *in the same model and the same integrator* as the descent: x = size,
    y = 0 fixed; vx, vy, z, vz and the period T free (the grid field has no north-south symmetry,
    so the orbit is not exactly planar); Gauss-Newton on X(T) - X(0) with finite-difference
    Jacobians through the RK4 kernel, until the position closes to ``tol_m`` (default 1 cm; the
    iteration stops at the floor of the fixed-step flow, measured 1-4 mm after one 5.8 h
    revolution of the 30 km QSO: RK4 does not conserve the Jacobi constant exactly, so the 6
    residuals cannot all vanish). ``guess``: a
    :class:`mmxsim.orbits.qso.QSO` of about that size (default: the point-mass Hill design of
    ``size_km``). Raises InputError if Newton does not converge or the orbit meets the surface.
    """
    from ..orbits.qso import periodic_qso

    grid = grid if grid is not None else default_grid()
    if not isinstance(grid, GridGravity):
        raise InputError("grid", type(grid).__name__, "a mmxsim.gravity.fast.GridGravity")
    s = _check_num("size_km", size_km, 13.5, 200.0, "a QSO size in [13.5, 200] km")
    dt = _check_num("dt", dt, 0.1, 120.0, "0.1..120 s")
    if guess is None:
        guess = periodic_qso(s, 0)
    if not (hasattr(guess, "state0") and hasattr(guess, "period_s")):
        raise InputError("guess", type(guess).__name__, "a mmxsim.orbits.qso.QSO (or None)")
    X0 = np.concatenate([HILL_TO_BODY @ np.asarray(guess.state0[:3], float),
                         HILL_TO_BODY @ np.asarray(guess.state0[3:], float)])
    X0[0], X0[1] = s, 0.0
    T = float(guess.period_s)
    free = [2, 3, 4, 5]
    err, prev, it = np.inf, np.inf, 0
    flown = None  # (out, hist) of the orbit from the current X0 over T, recorded at each step

    def fly(X, TT):  # one revolution, recorded (the altitude check of the corrected orbit reads it)
        out, _, hist = _propagate(grid, X[None], (TT, np.zeros(6), np.zeros((3, 3))), -1e9, np.zeros(3),
                                  np.zeros((1, 6)), np.zeros((1, 4)), np.zeros((1, 3)), np.zeros((1, 4)), dt, TT,
                                  record=1, nsteps=int(TT / dt) + 3)
        return out, hist

    for it in range(1, maxit + 1):
        eps = np.array([1e-6, 1e-9, 1e-9, 1e-9])  # km, km/s
        # the orbit first, alone (kept for the checks below when it closes); the four perturbed
        # orbits of the Jacobian only where another step follows (the kernel flies each row on its
        # own: the same numbers as one batch of five)
        flown = fly(X0, T)
        Y0 = flown[0][0, 1:7]
        res = Y0 - X0
        err = float(np.linalg.norm(res[:3])) * 1e3
        if not np.isfinite(err) or err < 1e-2 * tol_m or (err < tol_m and err > 0.5 * prev):
            break  # converged, or stalled at the discrete flow's floor (mm: RK4 does not conserve C exactly)
        prev = err
        batch = np.repeat(X0[None], 4, axis=0)
        for k, j in enumerate(free):
            batch[k, j] += eps[k]
        Y = _ballistic(grid, batch, T, dt)
        J = np.empty((6, 5))
        for k, j in enumerate(free):
            J[:, k] = (Y[k] - Y0) / eps[k]
            J[j, k] -= 1.0
        J[:, 4] = _grid_rhs(grid, Y0)
        # position in km, velocity scaled by 1/n (km): comparable residuals
        W = np.array([1, 1, 1, 1 / N, 1 / N, 1 / N])
        step = np.linalg.lstsq(J * W[:, None], -res * W, rcond=None)[0]
        lim = np.array([1.0, 1e-3, 1e-3, 1e-3, 0.05 * T])
        f = float(np.max(np.abs(step) / lim))
        if f > 1.0:
            step /= f
        X0[free] += step[:4]
        T += step[4]
        flown = None
    if not err < tol_m:
        raise InputError("size_km", size_km, f"a size whose QSO the grid-model corrector closes (miss {err:.3g} m "
                                             f"after {it} iterations)")
    out, hist = flown if flown is not None else fly(X0, T)
    k = 1 + int(np.count_nonzero(hist[0, 1:, 0] > 0.0))
    P = hist[0, :k, 1:4]
    h = grid.altitude(P)[0]
    if not np.all(h > 0):
        raise InputError("size_km", size_km, "a QSO that stays above the surface in the grid model")
    Xf = out[0, 1:7]
    return GridQSO(grid, s, X0.copy(), T, dt, float(np.linalg.norm(Xf[:3] - X0[:3]) * 1e3),
                   float(np.linalg.norm(Xf[3:] - X0[3:]) * 1e6), float(h.min()), float(np.abs(P[:, 2]).max()),
                   it, guess)


def _as_grid_qso(q, grid, dt):
    """``q`` as a periodic QSO of the descent model on ``grid`` with step ``dt`` (re-corrected
    there when it is a harmonic design or was corrected on another grid/step)."""
    if isinstance(q, GridQSO):
        if q.grid is grid and q.dt == dt:
            return q
        return periodic_qso_grid(q.size_km, grid, guess=q.guess, dt=dt)
    if not getattr(q, "periodic", True):
        raise InputError("start", f"quasi-periodic QSO of {getattr(q, 'size_km', '?')} km",
                         "a periodic QSO (a quasi-periodic 3D QSO has no periodic counterpart in the descent "
                         "model), or a body-frame state (6,) km, km/s")
    return periodic_qso_grid(float(q.size_km), grid, guess=q, dt=dt)


def qso_departure_state(qso, phase: float = 0.0) -> np.ndarray:
    """Body-frame state (km, km/s) on a QSO at ``phase`` (fraction of its period from its
    Mars-side section), propagated in the QSO's own model: a :class:`GridQSO` in the descent
    model (grid gravity, RK4), a :class:`mmxsim.orbits.qso.QSO` in its harmonic Hill model."""
    from ..orbits.qso import sample_orbit

    ph = _check_num("phase", phase, 0.0, 1.0, "a fraction of the QSO period in [0, 1]")
    if isinstance(qso, GridQSO):
        if ph == 0.0:
            return qso.state0.copy()
        return _ballistic(qso.grid, qso.state0[None], ph * qso.period_s, qso.dt)[0]
    if ph == 0.0:
        X = np.asarray(qso.state0, float)
    else:
        X = sample_orbit(qso, n_points=2, n_revs=ph)[-1]  # propagated to exactly ph * period
    return np.concatenate([HILL_TO_BODY @ X[:3], HILL_TO_BODY @ X[3:]])


def _newton(grid, X0, target, T, dt, v, maxit=15, tol=1e-7):
    """Newton on the departure velocity v so that the ballistic arc is at ``target`` after T."""
    err = np.inf
    for it in range(1, maxit + 1):
        eps = 1e-7
        x = np.concatenate([X0[:3], v])
        # the arc first, alone: the three perturbed arcs of the Jacobian only where another step follows
        # (the kernel flies each row on its own: the same numbers as one batch of four)
        Y0 = _ballistic(grid, x[None], T, dt)[0]
        res = Y0[:3] - target
        err = float(np.linalg.norm(res))
        if not np.isfinite(err):
            return v, it, np.inf
        if err < tol:
            return v, it, err
        batch = np.repeat(x[None], 3, axis=0)
        for k in range(3):
            batch[k, 3 + k] += eps
        Y = _ballistic(grid, batch, T, dt)
        J = (Y[:, :3] - Y0[:3]).T / eps
        try:
            step = np.linalg.solve(J, -res)
        except np.linalg.LinAlgError:
            return v, it, np.inf
        lim = 0.5 * np.linalg.norm(v) + 1e-4
        if np.linalg.norm(step) > lim:
            step *= lim / np.linalg.norm(step)
        v = v + step
    return v, maxit, err


def _shoot(grid, X0, target, T, dt, hb):
    """Departure velocity reaching ``target`` after T: Newton from a Clohessy-Wiltshire guess
    (Hill equations without Phobos' gravity); if that fails, continuation from an easy problem
    (the surface point below the start, T <= 15 min: a nearly straight arc) to the requested one, moving the target along
    the great circle and the time linearly, with step halving."""
    from scipy.linalg import expm

    A = np.zeros((6, 6))
    A[:3, 3:] = np.eye(3)
    A[3, 0], A[3, 4], A[4, 3], A[5, 2] = 3 * N * N, 2 * N, -2 * N, -N * N

    def cw(tgt, TT):
        Phi = expm(A * TT)
        return np.linalg.solve(Phi[:3, 3:], tgt - Phi[:3, :3] @ X0[:3])

    v, it, err = _newton(grid, X0, target, T, dt, cw(target, T))
    if err < 1e-7:
        return v, it, err
    d1 = target / np.linalg.norm(target)
    d0 = X0[:3] / np.linalg.norm(X0[:3])
    ang = math.acos(max(-1.0, min(1.0, float(d0 @ d1))))
    axis = np.cross(d0, d1)
    axis = axis / np.linalg.norm(axis) if np.linalg.norm(axis) > 1e-12 else np.array([0.0, 0.0, 1.0])
    T0 = min(T, 900.0)

    def problem(lam):
        th = lam * ang
        d = d0 * math.cos(th) + np.cross(axis, d0) * math.sin(th) + axis * (axis @ d0) * (1 - math.cos(th))
        h, la, lo = grid.altitude(d[None])
        la, lo = float(la[0]), float(lo[0])
        tgt = grid.surface_point(la, lo) + hb * grid.surface_normal(la, lo) if lam < 1 else target
        return tgt, T0 + lam * (T - T0)

    tgt, TT = problem(0.0)
    v, n_it, err = _newton(grid, X0, tgt, TT, dt, cw(tgt, TT))
    it += n_it
    if err >= 1e-7:
        return v, it, err
    lam, dlam = 0.0, 0.125
    while lam < 1.0:
        nxt = min(1.0, lam + dlam)
        tgt, TT = problem(nxt)
        v1, n_it, err = _newton(grid, X0, tgt, TT, dt, v)
        it += n_it
        if err < 1e-7:
            lam, v = nxt, v1
            dlam = min(0.25, 1.5 * dlam)
        else:
            dlam *= 0.5
            if dlam < 1.0 / 512:
                return v, it, err
    return v, it, err



def plan_descent(start, site_lat_deg: float, site_lon_deg: float, grid: GridGravity | None = None,
                 transfer_time_s: float = 3600.0, brake_altitude_m: float = 10.0, brake_speed_m_s: float = 0.1,
                 correction_lead_s: float = 1200.0, phase: float = 0.0, dt: float = 10.0) -> DescentPlan:
    """Nominal descent from a QSO (or a body-frame state) to the site at lat/lon (deg).

    ``start``: a QSO (departure at ``phase`` of its period) or a body-frame state (6,) km, km/s.
    A harmonic design (:class:`~mmxsim.orbits.qso.QSO`) is first re-corrected into a periodic
    orbit of this descent model (:func:`periodic_qso_grid`, same grid and step; it keeps its
    size, the harmonic state is only Newton's guess), so that QSO, descent and dispersion share
    one gravity model; a :class:`GridQSO` on this grid and step is used as is. ``plan.qso`` and
    ``plan.phase`` record the departure orbit. ``phase="auto"`` (QSO only) tries departures at eighths
    of the period and keeps the feasible one with the least total delta-v (departure +
    braking; touchdown accuracy is not ranked: a larger braking burn means larger horizontal
    speeds from its pointing error, docs/descent.md). Raises InputError for a site off the surface, bad
    parameters, or when no ballistic arc reaches the braking point above the surface in
    ``transfer_time_s``. The nominal touchdown is in ``plan.touchdown`` (arrays of length 1).
    """
    grid = grid if grid is not None else default_grid()
    if not isinstance(grid, GridGravity):
        raise InputError("grid", type(grid).__name__, "a mmxsim.gravity.fast.GridGravity")
    if hasattr(start, "state0") and hasattr(start, "period_s"):
        start = _as_grid_qso(start, grid, dt)
    if isinstance(phase, str) and phase == "auto" and hasattr(start, "period_s"):
        best, why = None, ""
        for k in range(8):
            try:
                p = plan_descent(start, site_lat_deg, site_lon_deg, grid, transfer_time_s, brake_altitude_m,
                                 brake_speed_m_s, correction_lead_s, k / 8.0, dt)
            except InputError as e:
                if e.field not in ("site", "transfer_time_s"):
                    raise
                why = str(e)
                continue
            cost = np.linalg.norm(p.dv1) * 1e3 + p.touchdown.dv_brake_m_s[0]
            if p.touchdown.status[0] == LANDED and (best is None or cost < best[0]):
                best = (cost, p)
        if best is None:
            raise InputError("site", (site_lat_deg, site_lon_deg),
                             f"a site reachable in {transfer_time_s} s from some departure phase (none of 8 tried; "
                             f"last: {why})")
        return best[1]
    site, nrm = site_on_surface(grid, site_lat_deg, site_lon_deg)
    T = _check_num("transfer_time_s", transfer_time_s, 600.0, 86400.0, "600..86400 s")
    hb = _check_num("brake_altitude_m", brake_altitude_m, 1.0, 5000.0, "1..5000 m") * 1e-3
    vb = _check_num("brake_speed_m_s", brake_speed_m_s, 0.0, 10.0, "0..10 m/s") * 1e-3
    lead = _check_num("correction_lead_s", correction_lead_s, 0.0, T - 60.0, f"0 (none) .. {T - 60:.0f} s")
    dt = _check_num("dt", dt, 0.1, 120.0, "0.1..120 s")
    if hasattr(start, "state0") and hasattr(start, "period_s"):
        X0 = qso_departure_state(start, phase)
    else:
        X0 = np.asarray(start, float)
        if X0.shape != (6,) or not np.all(np.isfinite(X0)):
            raise InputError("start", np.shape(start), "a QSO or a finite body-frame state (6,) km, km/s")
    if not np.linalg.norm(X0[:3]) > 0 or not grid.altitude(X0[None, :3])[0][0] > 0:
        raise InputError("start", X0[:3].tolist(), "a state above the surface")
    target = site + hb * nrm

    v, it, err = _shoot(grid, X0, target, T, dt, hb)
    if err >= 1e-7:
        raise InputError("transfer_time_s", transfer_time_s,
                         f"a transfer time for which a ballistic arc reaches the site from this start (shooting "
                         f"with continuation did not converge: miss {err * 1e3:.1f} m)")
    dv1 = v - X0[3:]
    Xd = np.concatenate([X0[:3], v])
    # the arc must stay above the surface until the braking point
    nchk = int(T / dt)
    _, _, hist = _propagate(grid, Xd[None], (T, np.zeros(6), np.zeros((3, 3))), -1e9, np.zeros(3),
                            np.zeros((1, 6)), np.zeros((1, 4)), np.zeros((1, 3)), np.zeros((1, 4)), dt, T,
                            record=1, nsteps=nchk + 2)
    hs = grid.altitude(hist[0, :nchk, 1:4])[0]
    if np.any(hs[1:] < hb * 0.999):
        raise InputError("site", (site_lat_deg, site_lon_deg),
                         f"a site reachable in {T:.0f} s without crossing the surface (the arc dips to "
                         f"{hs.min() * 1e3:.0f} m altitude before the braking point)")
    t_c = T - lead if lead > 0 else 0.0
    if t_c > 0:
        xnom_c = _ballistic(grid, Xd[None], t_c, dt)[0]
        eps = 1e-6
        batch = np.repeat(xnom_c[None], 7, axis=0)
        for k in range(6):
            batch[k + 1, k] += eps
        Y = _ballistic(grid, batch, T - t_c, dt)
        Phi = (Y[1:, :3] - Y[0, :3]).T / eps  # (3, 6)
        K = np.linalg.solve(Phi[:, 3:], Phi[:, :3])
    else:
        xnom_c, K = np.zeros(6), np.zeros((3, 3))
    plan = DescentPlan(grid, float(site_lat_deg), float(site_lon_deg), site, nrm, X0, dv1, T, target, hb, -vb * nrm,
                       t_c, xnom_c, K, dt, 3.0 * T + 3600.0, newton_iterations=it,
                       qso=start if isinstance(start, GridQSO) else None,
                       phase=float(phase) if isinstance(start, GridQSO) else None)
    out, burns, _ = _run(plan, Xd[None], np.zeros((1, 6)), np.zeros((1, 4)), np.zeros((1, 3)), np.zeros((1, 4)))
    plan.touchdown = _touchdown_from(grid, out, burns)
    return plan


def _run(plan, X0, nav_c, exec_c, nav_b, exec_b, record=0, nsteps=0):
    return _propagate(plan.grid, X0, plan.args, plan.brake_altitude_km, plan.v_brake_target, nav_c, exec_c, nav_b,
                      exec_b, plan.dt, plan.t_max, record, nsteps)


def nominal_trajectory(plan: DescentPlan):
    """(t, states) of the nominal descent, sampled at the integrator steps (body frame)."""
    nsteps = int(plan.t_max / plan.dt) + 10
    Xd = np.concatenate([plan.state0[:3], plan.state0[3:] + plan.dv1])
    out, _, hist = _run(plan, Xd[None], np.zeros((1, 6)), np.zeros((1, 4)), np.zeros((1, 3)), np.zeros((1, 4)),
                        record=1, nsteps=nsteps)
    k = 1 + int(np.count_nonzero(hist[0, 1:, 0] > 0.0))  # recorded steps (t > 0 after the first)
    t = np.append(hist[0, :k, 0], out[0, 0])
    X = np.vstack([hist[0, :k, 1:], out[0, 1:7]])
    return t, X


# ---------------------------------------------------------------------------------------------
@dataclass
class Dispersion:
    """Result of :func:`landing_dispersion`."""

    plan: DescentPlan
    touchdown: Touchdown
    east_m: np.ndarray  # touchdown offsets from the site in its local east/north tangent plane
    north_m: np.ndarray
    limits: TouchdownLimits
    seed: int
    model: DispersionModel = field(default_factory=DispersionModel)
    tracks: np.ndarray | None = None  # (record, steps, 7): t, state of the first trajectories

    @property
    def landed(self) -> np.ndarray:
        return self.touchdown.status == LANDED

    @property
    def mean_en(self) -> np.ndarray:
        return np.array([self.east_m[self.landed].mean(), self.north_m[self.landed].mean()])

    @property
    def cov_en(self) -> np.ndarray:
        return np.cov(np.vstack([self.east_m[self.landed], self.north_m[self.landed]]))

    def ellipse(self, k: float = 1.0):
        """(semi-major m, semi-minor m, angle of the major axis from east toward north, rad) of
        the k-sigma ellipse of the landed touchdown points (probability content of a 2-D
        Gaussian: 1 - exp(-k²/2), i.e. 39 %, 86 %, 99 % for k = 1, 2, 3)."""
        w, V = np.linalg.eigh(self.cov_en)
        return k * math.sqrt(max(w[1], 0.0)), k * math.sqrt(max(w[0], 0.0)), math.atan2(V[1, 1], V[0, 1])

    def fraction_within_limits(self) -> float:
        return float(self.touchdown.within(self.limits).mean())

    def summary(self) -> str:
        a1, b1, th = self.ellipse(1.0)
        td = self.touchdown
        ok = self.landed
        return (f"{len(td.status)} trajectories, {ok.mean() * 100:.1f}% landed after braking; "
                f"mean offset E {self.mean_en[0]:.1f} m N {self.mean_en[1]:.1f} m; 1-sigma ellipse "
                f"{a1:.1f} x {b1:.1f} m at {math.degrees(th):.0f} deg from east; vertical speed "
                f"{np.median(td.vertical_m_s[ok]):.3f} m/s median, horizontal {np.median(td.horizontal_m_s[ok]):.3f} "
                f"m/s median; within limits {self.fraction_within_limits() * 100:.1f}%")

    def plot_map(self, path=None, ax=None, sigmas=(1, 2, 3)):
        """Touchdown points and the k-sigma ellipses on an equirectangular lat/lon map of
        Phobos coloured by surface radius (matplotlib, Agg backend). Returns the figure;
        writes it to ``path`` if given. A zoomed inset shows the ellipse around the site."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        g = self.plan.grid
        lat = np.linspace(-90, 90, 181)
        lon = np.linspace(-180, 180, 361)
        LA, LO = np.meshgrid(np.radians(lat), np.radians(lon), indexing="ij")
        R = g.surface_radius(LA, LO)
        if ax is None:
            fig, axes = plt.subplots(1, 2, figsize=(13, 4.8), gridspec_kw={"width_ratios": [2, 1]})
        else:
            fig, axes = ax.figure, [ax]
        m = axes[0].pcolormesh(lon, lat, R, shading="auto", cmap="gray")
        fig.colorbar(m, ax=axes[0], label="surface radius (km)")
        td = self.touchdown
        ok = self.landed
        good = td.within(self.limits)
        for a in axes:
            a.plot(td.lon_deg[good], td.lat_deg[good], ".", ms=2, color="tab:green", label="within speed limits")
            a.plot(td.lon_deg[ok & ~good], td.lat_deg[ok & ~good], ".", ms=2, color="tab:orange",
                   label="landed, speed limits exceeded")
            a.plot(td.lon_deg[~ok], td.lat_deg[~ok], "x", ms=3, color="tab:red", label="impact before braking")
            a.plot([self.plan.site_lon_deg], [self.plan.site_lat_deg], "+", color="cyan", ms=10, label="site")
        R0 = float(np.linalg.norm(self.plan.site_point)) * 1e3
        la0 = math.radians(self.plan.site_lat_deg)
        t = np.linspace(0, 2 * np.pi, 200)
        for k in sigmas:
            a1, b1, th = self.ellipse(k)
            e = self.mean_en[0] + a1 * np.cos(t) * math.cos(th) - b1 * np.sin(t) * math.sin(th)
            nn = self.mean_en[1] + a1 * np.cos(t) * math.sin(th) + b1 * np.sin(t) * math.cos(th)
            for a in axes:
                a.plot(self.plan.site_lon_deg + np.degrees(e / (R0 * max(math.cos(la0), 1e-6))),
                       self.plan.site_lat_deg + np.degrees(nn / R0), "-", lw=1,
                       color={1: "tab:blue", 2: "magenta", 3: "black"}.get(k, "gray"),
                       label=f"{k}-sigma ellipse" if a is axes[0] else None)
        axes[0].set_xlabel("east longitude (deg)")
        axes[0].set_ylabel("planetocentric latitude (deg)")
        axes[0].set_title("Phobos landing dispersion (body-fixed; equirectangular)")
        axes[0].legend(fontsize=7, loc="lower left")
        if len(axes) > 1:
            a1, _, _ = self.ellipse(3.5)
            span = np.degrees(max(a1, 20.0) / R0)
            axes[1].set_xlim(self.plan.site_lon_deg - span / max(math.cos(la0), 1e-6),
                             self.plan.site_lon_deg + span / max(math.cos(la0), 1e-6))
            axes[1].set_ylim(self.plan.site_lat_deg - span, self.plan.site_lat_deg + span)
            axes[1].set_title(self.summary().split(";")[2].strip(), fontsize=8)
            axes[1].set_xlabel("east longitude (deg)")
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=120)
        return fig


def sample_errors(n: int, model: DispersionModel, seed: int):
    """The random draws of :func:`landing_dispersion` (numpy default_rng(seed); fixed order)."""
    rng = np.random.default_rng(seed)
    sp, sv = model.nav_pos_m * 1e-3, model.nav_vel_mm_s * 1e-6
    nav0 = np.hstack([rng.normal(0, sp, (n, 3)), rng.normal(0, sv, (n, 3))])
    nav_c = np.hstack([rng.normal(0, sp, (n, 3)), rng.normal(0, sv, (n, 3))])
    nav_b = rng.normal(0, model.brake_nav_vel_mm_s * 1e-6, (n, 3))

    def ex():
        return np.hstack([rng.normal(0, model.exec_mag_pct / 100.0, (n, 1)),
                          rng.normal(0, math.radians(model.exec_point_deg), (n, 3))])

    return nav0, ex(), nav_c, ex(), nav_b, ex()


def landing_dispersion(plan: DescentPlan, n: int = 1000, seed: int = 0, model: DispersionModel = DispersionModel(),
                       limits: TouchdownLimits = TouchdownLimits(), record: int = 0) -> Dispersion:
    """Monte Carlo of the descent: the spacecraft's true departure state is the planned one plus
    a navigation error; each burn is computed from navigated states and executed with errors
    (see module docstring). Ensemble propagated by one numba kernel (serial). ``record`` > 0
    keeps the integrator steps (t, state) of the first ``record`` trajectories in
    ``Dispersion.tracks`` (record, steps, 7), unused rows zero."""
    if not isinstance(n, (int, np.integer)) or not 1 <= n <= 10_000_000:
        raise InputError("n", n, "an integer number of trajectories 1..1e7")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError("seed", seed, "an integer >= 0")
    if not isinstance(model, DispersionModel):
        raise InputError("model", type(model).__name__, "a DispersionModel")
    if not isinstance(limits, TouchdownLimits):
        raise InputError("limits", type(limits).__name__, "a TouchdownLimits")
    nav0, ex0, nav_c, ex_c, nav_b, ex_b = sample_errors(int(n), model, int(seed))
    X0 = np.repeat(plan.state0[None], n, axis=0) + nav0
    dv1 = np.empty((n, 3))
    for i in range(n):  # cheap; same formula as the kernel's
        _exec_burn(plan.dv1, ex0[i], dv1[i])
    X0[:, 3:] += dv1
    if not isinstance(record, (int, np.integer)) or not 0 <= record <= n:
        raise InputError("record", record, f"an integer 0..n ({n})")
    out, burns, hist = _run(plan, X0, nav_c, ex_c, nav_b, ex_b, record=int(record),
                            nsteps=int(plan.t_max / plan.dt) + 10 if record else 0)
    td = _touchdown_from(plan.grid, out, burns)
    la0, lo0 = math.radians(plan.site_lat_deg), math.radians(plan.site_lon_deg)
    east = np.array([-math.sin(lo0), math.cos(lo0), 0.0])
    north = np.array([-math.sin(la0) * math.cos(lo0), -math.sin(la0) * math.sin(lo0), math.cos(la0)])
    d = (td.position_km - plan.site_point) * 1e3
    return Dispersion(plan, td, d @ east, d @ north, limits, int(seed), model, hist if record else None)


_DEFAULT = {}


def default_grid() -> GridGravity:
    """The default fast gravity: GridGravity("thomas3k") with its default grid (cached)."""
    if "g" not in _DEFAULT:
        _DEFAULT["g"] = GridGravity("thomas3k")
    return _DEFAULT["g"]
