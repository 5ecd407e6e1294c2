"""Quasi-satellite orbits (QSOs) of Phobos in the circular Hill problem.

Model
-----
Circular Hill problem of Mars-Phobos, Phobos-centred rotating frame (mmx-facts.md §4.3):
x radially outward (away from Mars), y along track, z along the orbit normal. With
dimensionless time ``tau = n t`` (n = :data:`~mmxsim.bodies.PHOBOS_MEAN_MOTION`) and
lengths in km the equations are::

    x'' - 2 y' - 3 x = a_x
    y'' + 2 x'       = a_y
    z''       +  z   = a_z

(Mars tidal terms 3x and -z, Coriolis 2y', -2x'); ``a`` is Phobos' gravity divided by n².
It is either a point mass (``degree=0``) or the spherical-harmonic field
:func:`mmxsim.gravity.phobos_field` (``degree >= 1``) evaluated in Phobos' body-fixed axes.

Body axes vs Hill axes. For synchronous rotation the IAU Phobos frame (pck00011) has +x at
0° longitude, which points to Mars (the sub-Mars point), and +z along the spin axis, which
is the orbit normal. Hence ``r_body = diag(-1, -1, 1) r_hill`` (a 180° rotation about z).
This was checked against ``Body.rotation()`` and the mean-element ephemeris: at three
epochs the Mars direction in body axes is (0.9995..0.99997, ±0.03, ~0) (the residual
±1.8° is the forced libration and the eccentricity, absent in the circular Hill problem)
and the orbit normal is body +z to 2e-4.

Jacobi constant (km²/s²): ``C = n²(3x² - z²) + 2U - |v|²``, U the (positive) potential.

Periodic orbits are computed by single shooting on the Poincaré section y = 0 (crossed
with y' > 0, i.e. on the Mars side for a retrograde QSO). The size parameter ``size_km``
is the distance |x0| of that crossing (x0 = -size_km). The unknowns are (x', y', z, z')
at the section, the constraints are the return of (x, x', z, z') after one revolution;
y' then closes by the Jacobi integral. The return time is found by heyoka's event
detection and the Jacobian is the state-transition matrix from heyoka's variational
equations, corrected for the variable return time. For fields symmetric in z
(point mass) the planar problem (x', y' unknown) is solved.

3D QSOs (:func:`qso_3d`) are quasi-periodic: see its docstring.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field as dc_field, replace

import numpy as np

from ..bodies import GM_PHOBOS, PHOBOS_MEAN_MOTION, PHOBOS_RADII
from ..errors import InputError
from ..gravity import SHField, phobos_field, sh_acceleration, sh_potential
from ..gravity.validity import BRILLOUIN_RADIUS_KM, SWITCH_RADIUS_KM, switch_radius
from ..mathns import NP, heyoka_ns

N = PHOBOS_MEAN_MOTION  # rad/s
MU_TAU = GM_PHOBOS / N**2  # km^3 per (1/n)^2: Phobos GM in dimensionless time
HILL_TO_BODY = np.diag([-1.0, -1.0, 1.0])  # r_body = HILL_TO_BODY @ r_hill (and back)
MAX_DEGREE = 10
_DIRECT_SIZE_KM = 100.0  # above this the linear Hill ellipse is a good enough first guess
MAX_SIZE_KM = 1000.0  # Hill approximation (Mars tide linearised) degrades further out
_TWO_PI = 2.0 * math.pi


# ---------------------------------------------------------------------------
# Model
def _field(degree: int) -> SHField | None:
    if not isinstance(degree, (int, np.integer)) or not 0 <= degree <= MAX_DEGREE:
        raise InputError("degree", degree, f"an integer 0 (point mass) .. {MAX_DEGREE} (spherical harmonics)")
    if degree == 0:
        return None
    f = phobos_field(int(degree))
    return SHField(f.gm / N**2, f.ref_radius, f.C, f.S, f.nmax, f.name + " (scaled by 1/n^2)")


def _z_symmetric(degree: int) -> bool:
    """True if the field is symmetric under z -> -z (then z = 0 is invariant)."""
    f = _field(degree)
    if f is None:
        return True
    return all(f.C[n, m] == 0.0 and f.S[n, m] == 0.0
               for n in range(f.nmax + 1) for m in range(n + 1) if (n - m) % 2 == 1)


def phobos_accel_hill(r, degree: int, m):
    """Phobos' gravity (km/tau²) at Hill-frame position ``r`` (km); NumPy or heyoka."""
    f = _field(degree)
    if f is None:
        r2 = r[0] * r[0] + r[1] * r[1] + r[2] * r[2]
        k = -MU_TAU / (r2 * m.sqrt(r2))
        return [k * r[0], k * r[1], k * r[2]]
    ab = sh_acceleration([-r[0], -r[1], r[2]], f, m)
    return [-ab[0], -ab[1], ab[2]]


def phobos_potential_hill(r, degree: int):
    """Phobos' potential (positive, km²/tau²) at Hill-frame position(s) ``r`` (3,) or (k, 3)."""
    f = _field(degree)
    r = np.asarray(r, float)
    x, y, z = (r[..., 0], r[..., 1], r[..., 2])
    if f is None:
        return MU_TAU / np.sqrt(x * x + y * y + z * z)
    return sh_potential([-x, -y, z], f, NP)


def hill_rhs(X, degree: int, m=NP):
    """Right-hand side d/dtau of the state (x, y, z, x', y', z') (NumPy or heyoka)."""
    x, y, z, vx, vy, vz = X
    a = phobos_accel_hill([x, y, z], degree, m)
    return [vx, vy, vz, 2.0 * vy + 3.0 * x + a[0], -2.0 * vx + a[1], -z + a[2]]


def jacobi_constant(state, degree: int = 0) -> float:
    """Jacobi constant (km²/s²) of a dimensional Hill state (km, km/s)."""
    s = np.asarray(state, float)
    r, v = s[:3], s[3:] / N
    c_tau = 3.0 * r[0] ** 2 - r[2] ** 2 + 2.0 * float(phobos_potential_hill(r, degree)) - float(np.dot(v, v))
    return c_tau * N**2


_INTEGRATORS: dict = {}


def hill_integrator(degree: int = 0, variational: bool = False):
    """Cached heyoka integrator (dimensionless time) of the Hill problem.

    With ``variational=True`` it carries the first-order variational equations (the
    6x6 state-transition matrix after the 6 state components, row-major) and a terminal
    event at y = 0 crossed upward.
    """
    key = (int(degree), bool(variational))
    if key in _INTEGRATORS:
        return _INTEGRATORS[key]
    from ..dynamics import propagator

    if propagator.PREBUILDS:
        propagator.await_prebuild(("hill", *key))
    ta = _INTEGRATORS[key] = compile_hill(degree, variational)
    return ta


def compile_hill(degree: int = 0, variational: bool = False):
    """The integrator of :func:`hill_integrator`, compiled now (heyoka's own caches apart) and not cached
    here: what :func:`hill_integrator` caches, and what :mod:`mmxsim.mission.warmup` builds ahead of the
    run."""
    from ..dynamics.jit import HEYOKA_OPTIONS

    _field(degree)  # validates
    ns = heyoka_ns()
    hy = ns.hy
    X = list(hy.make_vars("x", "y", "z", "vx", "vy", "vz"))
    sys = list(zip(X, hill_rhs(X, degree, ns)))
    if variational:
        vsys = hy.var_ode_sys(sys, hy.var_args.vars, order=1)
        ev = [hy.t_event(X[1], direction=hy.event_direction.positive)]
        ta = hy.taylor_adaptive(vsys, [1.0, 0, 0, 0, 1.0, 0], compact_mode=True, t_events=ev,
                                **HEYOKA_OPTIONS)
    else:
        ta = hy.taylor_adaptive(sys, [1.0, 0, 0, 0, 1.0, 0], compact_mode=True, **HEYOKA_OPTIONS)
    return ta


def _first_return(X0, degree: int, max_tau: float = 4.0 * _TWO_PI):
    """Propagate to the next upward y = 0 crossing: (tau, X(tau), STM(tau))."""
    ta = hill_integrator(degree, variational=True)
    ta.time = 0.0
    st = ta.state
    st[:6] = X0
    st[6:] = np.eye(6).ravel()
    ta.reset_cooldowns()
    for _ in range(3):
        oc = ta.propagate_until(max_tau)[0]
        if int(oc) != -1:
            raise _NoReturn(f"no return to the section y = 0 within {max_tau / _TWO_PI:.1f} Phobos revolutions")
        if ta.time > 1e-6:
            return ta.time, ta.state[:6].copy(), ta.state[6:].reshape(6, 6).copy()
    raise _NoReturn("event detection stuck at the section")


class _NoReturn(RuntimeError):
    pass


def _return_map_jacobian(tau, Xf, phi, degree):
    """Derivative of the state on the section w.r.t. the initial state (variable time)."""
    f = np.array(hill_rhs(list(Xf), degree, NP), float)
    return phi - np.outer(f, phi[1, :]) / f[1]


def _newton(X0, free, cons, degree, fixed_cons=None, tol=1e-11, maxit=25):
    """Newton on the section: adjust X0[free] so X(T)[cons] = target (X0[cons] by default)."""
    X = np.array(X0, float)
    target = None if fixed_cons is None else np.asarray(fixed_cons, float)
    for it in range(1, maxit + 1):
        tau, Xf, phi = _first_return(X, degree)
        tgt = X[cons] if target is None else target
        G = Xf[cons] - tgt
        scale = max(1.0, abs(X[0]))
        if np.max(np.abs(G)) < tol * scale:
            return X, tau, Xf, phi, it
        P = _return_map_jacobian(tau, Xf, phi, degree)
        J = P[np.ix_(cons, free)].copy()
        if target is None:
            for i, c in enumerate(cons):
                for j, u in enumerate(free):
                    if c == u:
                        J[i, j] -= 1.0
        du = np.linalg.lstsq(J, -G, rcond=None)[0]
        # damp very large steps (keep the velocity change below 30 % of |v|)
        vmag = max(1e-12, np.linalg.norm(X[3:]))
        s = min(1.0, 0.3 * vmag / max(1e-300, np.linalg.norm(du)))
        X[free] += s * du
    raise _NoReturn(f"Newton did not converge in {maxit} iterations (residual {np.max(np.abs(G)):.3g})")


# ---------------------------------------------------------------------------
# Geometry
#: Phobos shape model used for every surface distance of the QSO side (orbits/)
SURFACE_SHAPE = "ernst"


def surface_distance_body(p_body, shape: str = SURFACE_SHAPE) -> np.ndarray:
    """Signed distance (km) from Phobos body-fixed points ``p_body`` (..., 3) to the shape model.

    Exact distance to the triangle mesh (:func:`mmxsim.bodies.shape_distance.signed_distance`,
    Ernst et al. 2023 mesh by default, 49,988 facets), negative inside the body. This replaces
    the IAU tri-axial ellipsoid (13.0, 11.4, 9.1) km, which the real Phobos pokes through by
    up to 1.74 km.
    """
    from ..bodies.shape_distance import signed_distance
    from ..bodies.shapes import phobos_shape  # one shared object per mesh: its distance BVH is built once

    p = np.atleast_2d(np.asarray(p_body, float)).reshape(-1, 3)
    return np.asarray(signed_distance(phobos_shape(shape), np.ascontiguousarray(p)), float)


def surface_distance_hill(r_hill, shape: str = SURFACE_SHAPE) -> np.ndarray:
    """Signed distance (km) from circular-Hill-frame points ``r_hill`` (..., 3) to Phobos' shape.

    In the circular Hill problem Phobos rotates synchronously with no libration, so its body
    frame coincides with the Hill frame up to the 180° turn about z of :data:`HILL_TO_BODY`
    (the real body's Mars direction is off by up to ±1.8° from forced libration and eccentricity,
    see the module docstring, which the Hill design ignores):
    the point is rotated to body axes and measured to the mesh (:func:`surface_distance_body`).
    """
    r = np.atleast_2d(np.asarray(r_hill, float)).reshape(-1, 3)
    return surface_distance_body(r @ HILL_TO_BODY.T, shape)


def ellipsoid_distance(p, radii=PHOBOS_RADII, iters: int = 200):
    """Distance (km) from points ``p`` (..., 3) to the tri-axial ellipsoid ``radii``.

    Exact closest point (Eberly's root of sum (a_i p_i/(t + a_i²))² = 1, bisection).
    Points inside get a negative value (approximate depth, radial scaling).
    Kept for comparison only: clearances of the QSO side use the shape model
    (:func:`surface_distance_hill`, :func:`surface_distance_body`).
    """
    p = np.abs(np.atleast_2d(np.asarray(p, float)))
    a = np.asarray(radii, float)
    s = np.sum((p / a) ** 2, axis=1)
    lo = np.zeros(len(p))
    hi = a.max() * np.linalg.norm(p, axis=1) + 1e-12
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        F = np.sum((a * p / (mid[:, None] + a**2)) ** 2, axis=1) - 1.0
        lo = np.where(F > 0, mid, lo)
        hi = np.where(F > 0, hi, mid)
    t = 0.5 * (lo + hi)
    q = a**2 * p / (t[:, None] + a**2)
    d = np.linalg.norm(p - q, axis=1)
    inside = s < 1.0
    d = np.where(inside, np.linalg.norm(p, axis=1) * (1.0 - 1.0 / np.sqrt(np.maximum(s, 1e-300))), d)
    return d


# ---------------------------------------------------------------------------
# Results
@dataclass(frozen=True)
class QSO:
    """One QSO of the Hill problem (dimensional: km, km/s, s)."""

    degree: int  # 0 = point mass, else SH degree of phobos_field
    size_km: float  # |x0| at the y = 0 section (Mars side)
    state0: np.ndarray  # Hill state at the section, km and km/s
    period_s: float  # time of first return to the section
    radial_semi_axis_km: float  # (max x - min x)/2
    along_track_semi_axis_km: float  # (max y - min y)/2
    out_of_plane_km: float  # max |z|
    min_surface_distance_km: float  # to the Ernst shape model (signed, exact mesh distance; Hill = body axes)
    max_abs_eigenvalue: float  # of the monodromy (one-revolution STM)
    k_planar: float  # lambda + 1/lambda of the in-plane pair (|k| < 2: stable)
    k_vertical: float  # same, out-of-plane pair
    closure_position_m: float  # |r(T) - r(0)| re-propagated without variational eqs
    closure_velocity_mm_s: float
    jacobi_km2_s2: float
    jacobi_rel_variation: float  # max |C(t) - C(0)|/|C(0)| over one period
    periodic: bool = True  # False for the quasi-periodic 3D QSOs
    iterations: int = 0
    notes: str = ""
    eigenvalues: np.ndarray = dc_field(default=None, repr=False)
    min_center_distance_km: float = float("nan")  # min |r| over the orbit (Phobos' centre)

    @property
    def switch_radius_km(self) -> float:
        """Radius inside which this degree's harmonics lose 1e-3 accuracy (nan: point mass)."""
        return _switch_radius(self.degree)

    @property
    def inside_switch_radius(self) -> bool:
        """True if the orbit comes inside :attr:`switch_radius_km`: its numbers come from a
        truncated series that is off by more than 1e-3 there (diverging inside 13.94 km)."""
        return bool(self.min_center_distance_km < self.switch_radius_km)

    @property
    def stable(self) -> bool:
        return abs(self.k_planar) < 2.0 and abs(self.k_vertical) < 2.0

    @property
    def vertical_rotation_number(self) -> float:
        """Phase advance of the vertical oscillation per revolution / 2 pi (nan if |k_vertical| >= 2)."""
        if abs(self.k_vertical) >= 2.0:
            return float("nan")
        return math.acos(self.k_vertical / 2.0) / _TWO_PI

    @property
    def axis_ratio(self) -> float:
        return self.along_track_semi_axis_km / self.radial_semi_axis_km

    def row(self) -> str:
        """One table row; an orbit inside the switch radius is marked, and one entering the
        Brillouin sphere (divergent series) gets no numbers."""
        if self.degree >= 1 and self.min_center_distance_km < BRILLOUIN_RADIUS_KM:
            return (f"| {self.size_km:7.2f} | " + " | ".join(["-"] * 10)
                    + f" | no: enters the Brillouin sphere ({self.min_center_distance_km:.2f} < "
                      f"{BRILLOUIN_RADIUS_KM} km), series diverges |")
        valid = "yes" if not self.inside_switch_radius else \
            f"no: min {self.min_center_distance_km:.2f} km < {self.switch_radius_km:g} km"
        return (f"| {self.size_km:7.2f} | {self.radial_semi_axis_km:7.2f} | {self.along_track_semi_axis_km:7.2f} "
                f"| {self.axis_ratio:5.3f} | {self.period_s / 3600:6.3f} | {self.k_planar:+8.4f} | {self.k_vertical:+8.4f} "
                f"| {self.max_abs_eigenvalue:7.4f} | {self.min_surface_distance_km:6.2f} | {self.closure_position_m:.1e} "
                f"| {self.jacobi_rel_variation:.1e} | {valid} |")


TABLE_HEADER = ("| size km | radial km | along-track km | ratio | period h | k_planar | k_vertical "
                "| max abs(lambda) | min surf. dist km | closure m | Jacobi rel | SH valid (1e-3) |\n"
                "|---|---|---|---|---|---|---|---|---|---|---|---|")
TABLE_FOOTNOTE = ("SH valid: 'no' marks orbits that come inside the radius where the harmonics of this degree "
                  "differ from the exact polyhedron by more than 1e-3 (mmxsim.gravity.validity: 22 km at degree 8, "
                  "20 km at degree 10); their numbers are from the truncated series, not the real field.")


def _switch_radius(degree: int) -> float:
    return switch_radius(int(degree)) if int(degree) in SWITCH_RADIUS_KM else float("nan")


def _stability(phi, planar_block: bool):
    lam = np.linalg.eigvals(phi)
    if planar_block:
        ip = [0, 1, 3, 4]
        kp = float(np.trace(phi[np.ix_(ip, ip)]) - 2.0)
        kv = float(np.trace(phi[np.ix_([2, 5], [2, 5])]))
        return lam, kp, kv
    # generic: drop the trivial pair (closest to 1), pair the rest by lambda + 1/lambda
    w, V = np.linalg.eig(phi)
    k = w + 1.0 / w
    order = np.argsort(np.abs(k - 2.0))
    rest = order[2:]
    zfrac = [np.linalg.norm(V[[2, 5], i]) / np.linalg.norm(V[:, i]) for i in rest]
    # the two eigenvectors with most z content form the vertical pair
    vi = [rest[i] for i in np.argsort(zfrac)[-2:]]
    pi_ = [i for i in rest if i not in vi]
    kv = float(np.real(np.mean(k[vi])))
    kp = float(np.real(np.mean(k[pi_])))
    return w, kp, kv


def _characterise(X0_tau, tau, phi, degree, iterations, periodic=True, n_revs=1, notes="", planar_block=None):
    """Sample the orbit, measure closure, Jacobi drift, geometry and stability."""
    ta = hill_integrator(degree, variational=False)
    ta.time = 0.0
    ta.state[:] = X0_tau
    grid = np.linspace(0.0, n_revs * tau, 1200 * n_revs + 1)
    out = ta.propagate_grid(grid)
    traj = out[-1] if isinstance(out, tuple) else out
    traj = np.asarray(traj)
    Xend = traj[-1] if n_revs == 1 else None
    r = traj[:, :3]
    C = 3.0 * r[:, 0] ** 2 - r[:, 2] ** 2 - np.sum(traj[:, 3:] ** 2, axis=1)
    C = C + 2.0 * phobos_potential_hill(r, degree)
    jrel = float(np.max(np.abs(C - C[0])) / abs(C[0]))
    dmin = float(surface_distance_hill(r).min())
    rmin = float(np.linalg.norm(r, axis=1).min())
    if Xend is not None:
        cp = float(np.linalg.norm(Xend[:3] - X0_tau[:3]) * 1e3)
        cv = float(np.linalg.norm(Xend[3:] - X0_tau[3:]) * N * 1e6)
    else:
        cp = cv = float("nan")
    if planar_block is None:
        planar_block = _z_symmetric(degree) and X0_tau[2] == 0.0 and X0_tau[5] == 0.0
    lam, kp, kv = _stability(phi, planar_block)
    state0 = np.concatenate([X0_tau[:3], X0_tau[3:] * N])
    return QSO(
        degree=int(degree), size_km=float(-X0_tau[0]), state0=state0, period_s=float(tau / N),
        radial_semi_axis_km=float((r[:, 0].max() - r[:, 0].min()) / 2),
        along_track_semi_axis_km=float((r[:, 1].max() - r[:, 1].min()) / 2),
        out_of_plane_km=float(np.abs(r[:, 2]).max()), min_surface_distance_km=dmin,
        max_abs_eigenvalue=float(np.abs(lam).max()), k_planar=kp, k_vertical=kv,
        closure_position_m=cp, closure_velocity_mm_s=cv, jacobi_km2_s2=float(C[0] * N**2),
        jacobi_rel_variation=jrel, periodic=periodic, iterations=iterations, notes=notes,
        eigenvalues=lam, min_center_distance_km=rmin,
    )


# ---------------------------------------------------------------------------
# Public API
def _check_size(size, field="sizes_km"):
    try:
        s = float(size)
    except (TypeError, ValueError):
        raise InputError(field, size, "a number of km") from None
    if not math.isfinite(s) or s > MAX_SIZE_KM:
        raise InputError(field, size, f"finite, <= {MAX_SIZE_KM:g} km (Hill approximation)")
    if s <= 0.0 or float(surface_distance_hill([-s, 0.0, 0.0])[0]) <= 0.0:
        raise InputError(field, size,
                         "a size whose Mars-side section point (x = -size) lies outside Phobos' shape "
                         f"(Ernst mesh; at {s:g} km it starts inside Phobos)")
    return s


def _branch_jump(X_tau, tau: float, size_km: float, degree: int) -> bool:
    """True if the corrected orbit's radial semi-axis is off the size by more than 10 %, i.e.
    Newton converged onto another branch (on the QSO family it tracks the size to < 1 %)."""
    ta = hill_integrator(degree, variational=False)
    ta.time = 0.0
    ta.state[:] = X_tau
    out = ta.propagate_grid(np.linspace(0.0, tau, 241))
    x = np.asarray(out[-1] if isinstance(out, tuple) else out)[:, 0]
    return bool(abs((x.max() - x.min()) / 2.0 - size_km) > 0.1 * size_km)


def periodic_qso(size_km: float, degree: int = 0, guess_vy_km_s: float | None = None,
                 guess_state: np.ndarray | None = None, inside_switch: str = "mark", max_iter: int = 25) -> QSO:
    """Correct one periodic QSO crossing y = 0 at x = -size_km (see module docstring).

    ``guess_state`` (dimensional Hill state) or ``guess_vy_km_s`` seed Newton; default is
    the linear Hill ellipse (vy = 2 n size). Raises InputError if it cannot be found within
    ``max_iter`` Newton iterations.

    The harmonics of degree d are within 1e-3 of the exact field only beyond a switch radius
    (:mod:`mmxsim.gravity.validity`; 22 km at degree 8, 20 km at degree 10). An orbit that comes
    inside it is returned marked (``inside_switch="mark"``: ``q.inside_switch_radius`` and a
    note; the design itself is *not* redone with the polyhedron) or refused
    (``inside_switch="refuse"``: InputError naming the radius and the size).
    """
    if inside_switch not in ("mark", "refuse"):
        raise InputError("inside_switch", inside_switch, "'mark' or 'refuse'")
    if isinstance(max_iter, bool) or not isinstance(max_iter, (int, np.integer)) or not 1 <= max_iter <= 100:
        raise InputError("max_iter", max_iter, "an integer 1..100")
    s = _check_size(size_km, "size_km")
    X = np.zeros(6)
    if guess_state is not None:
        g = np.asarray(guess_state, float)
        X[:] = np.concatenate([g[:3], g[3:] / N])
    elif guess_vy_km_s is not None:
        X[4] = guess_vy_km_s / N
    else:
        X[4] = 2.0 * s
    X[0], X[1] = -s, 0.0
    planar = _z_symmetric(degree)
    if planar:
        X[2] = X[5] = 0.0
        free, cons = [3, 4], [0, 3]
    else:
        free, cons = [3, 4, 2, 5], [0, 3, 2, 5]
    direct = guess_state is None and guess_vy_km_s is None
    try:
        X, tau, Xf, phi, it = _newton(X, free, cons, degree, maxit=max_iter)
        if direct and s < _DIRECT_SIZE_KM and _branch_jump(X, tau, s, degree):
            # the linear-ellipse guess converged onto another family (measured at degree 8:
            # 40, 30 and 28 km landed on an unstable orbit with k_planar ~ +3.5 and a radial
            # semi-axis of 41-61 km): use the continuation below instead
            raise _NoReturn("the linear guess converged onto another branch")
    except (_NoReturn, np.linalg.LinAlgError) as e:
        if direct and s < _DIRECT_SIZE_KM:
            # no good linear guess this close to Phobos: continue down from a large QSO
            q = qso_family(degree, sizes_km=[_DIRECT_SIZE_KM, s]).members[-1]
            if inside_switch == "refuse" and q.inside_switch_radius:
                raise InputError("size_km", size_km, f"a QSO that stays outside the switch radius: {q.notes}")
            return q
        raise InputError("size_km", size_km,
                         f"a size where the differential corrector converges (degree {degree}): {e}") from None
    q = _characterise(X, tau, phi, degree, it, planar_block=planar)
    if q.min_surface_distance_km <= 0.0:
        raise InputError("size_km", size_km,
                         f"a size whose QSO stays outside Phobos (Ernst shape model; this one reaches "
                         f"{-q.min_surface_distance_km:.2f} km below the surface)")
    if q.inside_switch_radius:
        msg = (f"the {s:g} km QSO comes {q.min_center_distance_km:.2f} km from Phobos' centre, inside the "
               f"{q.switch_radius_km:g} km switch radius of the degree-{int(degree)} harmonics (error > 1e-3 there, "
               f"divergent inside {BRILLOUIN_RADIUS_KM} km)")
        if inside_switch == "refuse":
            raise InputError("size_km", size_km, f"a QSO that stays outside the switch radius: {msg}")
        q = replace(q, notes=(q.notes + "; " if q.notes else "") + msg)
    return q


@dataclass
class QSOFamily:
    """Result of :func:`qso_family`: members ordered by decreasing size."""

    degree: int
    members: list
    smallest_converged_km: float
    stopped_reason: str = ""

    def table(self) -> str:
        out = TABLE_HEADER + "\n" + "\n".join(m.row() for m in self.members)
        if any(m.inside_switch_radius for m in self.members):
            out += "\n\n" + TABLE_FOOTNOTE
        return out


_STEP_MAX_ITER = 12  # Newton iterations allowed to one continuation step of qso_family


def qso_family(degree: int = 0, sizes_km=(200, 150, 100, 70, 50, 40, 30, 25, 20),
               on_failure: str = "raise", min_step_km: float = 0.05) -> QSOFamily:
    """Planar (equatorial) QSO family by natural-parameter continuation in size.

    Starts from the linear Hill ellipse at the largest size and steps down, using the
    previous member (velocities scaled by the size ratio) as the guess; a failing step is
    halved down to ``min_step_km``. ``on_failure="raise"`` raises InputError for a size
    below the smallest converged one (or for an orbit that hits Phobos);
    ``on_failure="stop"`` returns the members found so far.
    """
    if on_failure not in ("raise", "stop"):
        raise InputError("on_failure", on_failure, "'raise' or 'stop'")
    _field(degree)
    sizes = sorted({_check_size(s) for s in sizes_km}, reverse=True)
    if not sizes:
        raise InputError("sizes_km", sizes_km, "at least one size")
    members: list[QSO] = []
    prev: QSO | None = None
    prev2: QSO | None = None  # the member before prev (secant predictor)
    current = None
    reason = ""
    for target in sizes:
        s_from = current
        step = (s_from - target) if s_from is not None else 0.0
        ok_target = False
        while True:
            s_try = target if s_from is None else max(target, s_from - step)
            guess = None
            if prev is not None and prev2 is not None:
                # secant predictor: the last two members extrapolated linearly in size (a closer guess than
                # the scaled previous member, measured: Newton needs 1-2 iterations fewer; the corrected
                # orbit is the same, Newton's tolerance sets it)
                w = (s_try - prev.size_km) / (prev.size_km - prev2.size_km)
                g = prev.state0 + w * (prev.state0 - prev2.state0)
                g[0] = -s_try
                guess = g
            elif prev is not None:
                g = prev.state0.copy()
                g[3:] *= s_try / prev.size_km
                g[0] = -s_try
                guess = g
            try:
                # a continuation step whose Newton has not converged in _STEP_MAX_ITER iterations is
                # halved (as one that fails): from a predicted guess it converges in 5-7 (measured), and a
                # slowly creeping damped Newton (25 iterations, measured from 30 to 20 km at degree 10)
                # costs more than the halved steps; the members are the same orbits either way
                q = periodic_qso(s_try, degree, guess_state=guess, max_iter=_STEP_MAX_ITER)
                if abs(q.radial_semi_axis_km - s_try) > 0.1 * s_try:
                    # converged onto another branch (the family's radial semi-axis tracks the size
                    # to < 1 %): refine the continuation step instead of accepting it
                    raise InputError("sizes_km", s_try, "a member on the continued family (branch jump)")
            except InputError as e:
                if s_from is None or step / 2 < min_step_km:
                    reason = f"corrector failed at {s_try:.3f} km: {e.allowed}"
                    break
                step /= 2
                continue
            prev, prev2, current = q, prev, s_try
            if s_try == target:
                members.append(q)
                ok_target = True
                break
            s_from = s_try
        if not ok_target:
            smallest = prev.size_km if prev is not None else float("nan")
            if on_failure == "raise":
                lim = (f">= {smallest:.2f} km, the smallest size where the QSO corrector converged"
                       if prev is not None else "a size where the QSO corrector converges")
                raise InputError("sizes_km", target, f"{lim} for degree {degree} ({reason})")
            return QSOFamily(int(degree), members, smallest, reason)
    return QSOFamily(int(degree), members, members[-1].size_km, "all requested sizes converged")


def qso_3d(planar: QSO, z_amplitude_km: float = 20.0, beta_deg: float = 90.0, n_revs: int = 10) -> QSO:
    """A 3D QSO around a planar member (quasi-periodic).

    The out-of-plane motion z = Z sin(n t + beta) of the linear theory (mmx-facts.md §4.3,
    Nakamura et al. 2021 Fig. 12) is imposed at the section: z0 = Z sin(beta),
    z0' = Z n cos(beta). Phobos' gravity makes the vertical frequency differ from the
    in-plane one, so the orbit is **quasi-periodic** (a 2-torus), not periodic: we correct
    (x', y') at the section so that (x, x') return after one revolution, and report the
    orbit over ``n_revs`` revolutions. ``closure_position_m`` is then the position miss
    after one revolution (it is in z), ``period_s`` the in-plane return time, and the
    stability numbers are those of the one-revolution STM (an indicator only).
    """
    Z = float(z_amplitude_km)
    if not math.isfinite(Z) or not 0.0 < Z <= 2.0 * planar.size_km:
        raise InputError("z_amplitude_km", z_amplitude_km, f"0 < Z <= {2 * planar.size_km:.1f} km (2 x size)")
    if not (isinstance(n_revs, (int, np.integer)) and 1 <= n_revs <= 100):
        raise InputError("n_revs", n_revs, "an integer 1..100")
    b = math.radians(float(beta_deg))
    deg = planar.degree
    X = np.concatenate([planar.state0[:3], planar.state0[3:] / N])
    X[2], X[5] = Z * math.sin(b), Z * math.cos(b)
    try:
        X, tau, Xf, phi, it = _newton(X, [3, 4], [0, 3], deg)
    except (_NoReturn, np.linalg.LinAlgError) as e:
        raise InputError("z_amplitude_km", z_amplitude_km,
                         f"an amplitude for which the in-plane corrector converges around the "
                         f"{planar.size_km:.1f} km QSO: {e}") from None
    q = _characterise(X, tau, phi, deg, it, periodic=False, n_revs=n_revs, planar_block=False,
                      notes=f"quasi-periodic 3D QSO, Z = {Z:g} km, beta = {beta_deg:g} deg, {n_revs} revolutions")
    miss = float(np.linalg.norm(Xf[:3] - X[:3]) * 1e3)
    vmiss = float(np.linalg.norm(Xf[3:] - X[3:]) * N * 1e6)
    q = replace(q, closure_position_m=miss, closure_velocity_mm_s=vmiss, size_km=planar.size_km)
    if q.min_surface_distance_km <= 0.0:
        raise InputError("z_amplitude_km", z_amplitude_km,
                         "an amplitude for which the 3D QSO stays outside Phobos (Ernst shape model)")
    return q


def to_mars_icrf(q: QSO, t_tdb: float, eph=None) -> np.ndarray:
    """Hand-off: the QSO's section state as a Mars-centred ICRF state at TDB ``t_tdb``.

    The Hill state is placed in the ephemeris-based ``PHOBOS_HILL`` frame of
    :mod:`mmxsim.frames` (same axes convention). The result seeds the full model
    (:func:`mmxsim.dynamics.propagate`); the Hill-problem orbit is *not* periodic there
    (eccentricity, Mars J2, libration, Sun): re-correction in the full model is future work.
    """
    from ..frames import to_mars_icrf as _to

    return _to("PHOBOS_HILL", float(t_tdb), np.asarray(q.state0, float), eph)


__all__ = [
    "to_mars_icrf",
    "N", "HILL_TO_BODY", "QSO", "QSOFamily", "hill_integrator", "hill_rhs", "jacobi_constant",
    "phobos_accel_hill", "ellipsoid_distance", "surface_distance_hill", "surface_distance_body",
    "periodic_qso", "qso_family", "qso_3d",
]


def sample_orbit(q: QSO, n_points: int = 400, n_revs: int = 1) -> np.ndarray:
    """Hill-frame states (n_points, 6; km, km/s) along ``n_revs`` periods of ``q``, in its own model."""
    ta = hill_integrator(q.degree, variational=False)
    ta.time = 0.0
    ta.state[:] = np.concatenate([q.state0[:3], q.state0[3:] / N])
    grid = np.linspace(0.0, n_revs * q.period_s * N, n_points)
    out = ta.propagate_grid(grid)[-1]
    return np.hstack([out[:, :3], out[:, 3:] * N])


def write_family(family: QSOFamily, out_dir) -> dict:
    """Write ``qso_family.csv`` and ``qso_family.png`` (orbits in the Hill frame) to ``out_dir``."""
    from pathlib import Path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cols = ["size_km", "radial_semi_axis_km", "along_track_semi_axis_km", "period_s", "k_planar", "k_vertical",
            "max_abs_eigenvalue", "min_surface_distance_km", "closure_position_m", "jacobi_rel_variation"]
    csv = out / "qso_family.csv"
    with open(csv, "w") as fh:
        fh.write(f"# planar QSO family, circular Hill problem, Phobos SH degree {family.degree} (0 = point mass)\n")
        fh.write(",".join(cols) + "\n")
        for m in family.members:
            fh.write(",".join(f"{getattr(m, c):.10g}" for c in cols) + "\n")
    from matplotlib.figure import Figure
    from matplotlib.patches import Ellipse

    fig = Figure(figsize=(7, 7))
    ax = fig.add_subplot(111)
    for m in family.members:
        xs = sample_orbit(m)
        ax.plot(xs[:, 0], xs[:, 1], lw=0.8, label=f"{m.size_km:g} km, k={m.k_planar:+.2f}")
    ax.add_patch(Ellipse((0, 0), 2 * PHOBOS_RADII[0], 2 * PHOBOS_RADII[1], color="0.4"))
    ax.set_aspect("equal")
    ax.set_xlabel("x, radial out from Mars [km]")
    ax.set_ylabel("y, along track [km]")
    ax.set_title(f"Planar QSO family (Hill problem, Phobos degree {family.degree})")
    ax.legend(fontsize=7, loc="upper right")
    ax.grid(alpha=0.3)
    png = out / "qso_family.png"
    fig.savefig(png, dpi=110)
    return {"csv": csv, "plot": png}
