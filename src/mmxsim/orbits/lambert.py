"""Lambert's problem: multi-revolution solver after Izzo (2015), vectorised.

Model
-----
Two-body (Keplerian) motion about one attractor of gravitational parameter ``mu``. Given two
position vectors ``r1``, ``r2`` and a time of flight ``tof`` > 0, find the velocities ``v1``,
``v2`` of the conic arc joining them, for ``revs`` full revolutions (0 = direct arc) and, for
``revs`` >= 1, one of the two branches ("left" / "right": the two roots of the time-of-flight
curve for that number of revolutions, ordered as in Izzo's paper and in pykep).

Method (Izzo D., 2015, "Revisiting Lambert's problem", Celest. Mech. Dyn. Astron. 121:1-15,
doi:10.1007/s10569-014-9587-y)
--------------------------------------------------------------------------------------------
* Non-dimensional geometry: chord c, semi-perimeter s, lambda = +-sqrt(1 - c/s) (sign from the
  transfer direction: prograde = counter-clockwise about +z of the input axes), and the
  non-dimensional time T = sqrt(2 mu / s^3) tof.
* Unknown x (x < 1 ellipse, x = 1 parabola, x > 1 hyperbola); T(x) from Lagrange's equation
  in Izzo's form, with Battin's hypergeometric series near x = 1 and Lancaster's form in
  between (the same switch points as the reference implementation).
* Householder's third-order iteration on T(x) - T = 0, started from Izzo's initial guesses
  (eq. 30 and the multi-revolution guesses); the maximum number of revolutions for a given T
  comes from T_min(M), found by Halley iterations on dT/dx = 0.
* Velocities from x by Izzo's reconstruction (radial/tangential components).

Implementation: one scalar kernel written as plain Python on floats, compiled with numba
(a loop over a range of problems, which large batches spread over threads in ranges of 1024) when numba
is installed; without numba (or with
``MMXSIM_NO_NUMBA=1``) the same kernel runs in a Python loop (about 1e4 problems per second,
``benchmarks/bench_lambert.py``). Units: whatever ``mu``, ``r`` and ``tof`` share (km, s).

Limits: an exact 180 deg transfer (r1 parallel to r2) has no defined transfer plane; those
problems give NaN velocities (``solve``) or an :class:`~mmxsim.errors.InputError` (``lambert``).
A requested number of revolutions that the time of flight does not allow gives NaN / InputError.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError

from .._accel import HAVE_NUMBA  # MMXSIM_NO_NUMBA=1 forces the pure-Python fallback
from .._accel import jit
from .._accel import run_chunks

__all__ = ["lambert", "lambert_all", "solve", "max_revolutions", "HAVE_NUMBA"]

_PI = math.pi
_MAXIT = 20
_XTOL = 1e-13


# ---------------------------------------------------------------------------------------------
# Scalar kernel (plain Python on floats; numba-compiled on first use when available)
def _hyp2f1b(z):
    """Gauss hypergeometric 2F1(3, 1; 5/2; z) by its series (|z| small near x = 1)."""
    s = 1.0
    cj = 1.0
    j = 0
    while True:
        cj = cj * (3.0 + j) * (1.0 + j) / (2.5 + j) * z / (j + 1.0)
        s_new = s + cj
        j += 1
        if s_new == s or j > 200:
            return s_new
        s = s_new


def _x2tof(x, lam, n):
    """Non-dimensional time of flight T(x) for n complete revolutions (Izzo 2015 eq. 18-20)."""
    dist = abs(x - 1.0)
    if 0.01 < dist < 0.2:  # Lagrange's form with the semi-major axis
        a = 1.0 / (1.0 - x * x)
        if a > 0.0:
            alfa = 2.0 * math.acos(x)
            beta = 2.0 * math.asin(math.sqrt(lam * lam / a))
            if lam < 0.0:
                beta = -beta
            return a * math.sqrt(a) * ((alfa - math.sin(alfa)) - (beta - math.sin(beta)) + 2.0 * _PI * n) / 2.0
        alfa = 2.0 * math.acosh(x)
        beta = 2.0 * math.asinh(math.sqrt(-lam * lam / a))
        if lam < 0.0:
            beta = -beta
        return -a * math.sqrt(-a) * ((beta - math.sinh(beta)) - (alfa - math.sinh(alfa))) / 2.0
    k = lam * lam
    e = x * x - 1.0
    rho = abs(e)
    z = math.sqrt(1.0 + k * e)
    if dist <= 0.01:  # Battin's series near the parabola
        eta = z - lam * x
        s1 = 0.5 * (1.0 - lam - x * eta)
        q = 4.0 / 3.0 * _hyp2f1b(s1)
        t = (eta ** 3 * q + 4.0 * lam * eta) / 2.0
        if n > 0:
            t += n * _PI / rho ** 1.5
        return t
    y = math.sqrt(rho)
    g = x * z - lam * e
    if e < 0.0:
        d = n * _PI + math.acos(max(-1.0, min(1.0, g)))
    else:
        f = y * (z - lam * x)
        d = math.log(f + g)
    return (x - lam * z - d / y) / e


def _dtdx(x, t, lam):
    """First three derivatives of T(x) (Izzo 2015 eq. 22)."""
    l2 = lam * lam
    l3 = l2 * lam
    umx2 = 1.0 - x * x
    y = math.sqrt(1.0 - l2 * umx2)
    y2 = y * y
    y3 = y2 * y
    d1 = (3.0 * t * x - 2.0 + 2.0 * l3 * x / y) / umx2
    d2 = (3.0 * t + 5.0 * x * d1 + 2.0 * (1.0 - l2) * l3 / y3) / umx2
    d3 = (7.0 * x * d2 + 8.0 * d1 - 6.0 * (1.0 - l2) * l2 * l3 * x / y3 / y2) / umx2
    return d1, d2, d3


def _householder_l(t_target, x0, lam, n):
    """Householder iterations on T(x) = t_target: (x, iterations); iterations -1 on failure.

    Stops when the step is below 1e-13 max(1, |x|) (x reaches several hundred on fast
    hyperbolic arcs) or, after the iteration limit, accepts x if |T(x) - T| <= 1e-12 T."""
    x = x0
    for it in range(_MAXIT):
        t = _x2tof(x, lam, n)
        d1, d2, d3 = _dtdx(x, t, lam)
        delta = t - t_target
        d12 = d1 * d1
        den = d1 * (d12 - delta * d2) + d3 * delta * delta / 6.0
        if den == 0.0:
            break
        xn = x - delta * (d12 - delta * d2 / 2.0) / den
        if not (xn == xn):  # NaN
            return xn, -1
        if abs(xn - x) < _XTOL * max(1.0, abs(xn)):
            return xn, it + 1
        x = xn
    if abs(_x2tof(x, lam, n) - t_target) <= 1e-12 * t_target:
        return x, _MAXIT
    return x, -1


def _tmin(lam, n):
    """Minimum non-dimensional time of flight for n >= 1 revolutions (Halley on dT/dx = 0)."""
    x = 0.0
    t = _x2tof(x, lam, n)
    for _ in range(15):
        d1, d2, d3 = _dtdx(x, t, lam)
        if d1 == 0.0:
            break
        xn = x - d1 * d2 / (d2 * d2 - d1 * d3 / 2.0)
        if abs(xn - x) < 1e-13:
            x = xn
            break
        x = xn
        t = _x2tof(x, lam, n)
    return _x2tof(x, lam, n)


def _nmax(lam, t):
    """Largest number of complete revolutions a non-dimensional time T allows."""
    nmax = int(math.floor(t / _PI))
    t00 = math.acos(lam) + lam * math.sqrt(1.0 - lam * lam)
    if nmax > 0 and t < t00 + nmax * _PI:
        if _tmin(lam, nmax) > t:
            nmax -= 1
    return nmax


def _solve_one(mu, r1x, r1y, r1z, r2x, r2y, r2z, tof, n, right, prograde, out):
    """Solve one problem; writes v1 (out[0:3]), v2 (out[3:6]), iterations (out[6]).

    Status in out[7]: 0 ok, 1 collinear (no plane), 2 too many revolutions, 3 no convergence.
    """
    for k in range(7):
        out[k] = math.nan
    cx = r2x - r1x
    cy = r2y - r1y
    cz = r2z - r1z
    c = math.sqrt(cx * cx + cy * cy + cz * cz)
    R1 = math.sqrt(r1x * r1x + r1y * r1y + r1z * r1z)
    R2 = math.sqrt(r2x * r2x + r2y * r2y + r2z * r2z)
    s = 0.5 * (c + R1 + R2)
    i1x, i1y, i1z = r1x / R1, r1y / R1, r1z / R1
    i2x, i2y, i2z = r2x / R2, r2y / R2, r2z / R2
    hx = i1y * i2z - i1z * i2y
    hy = i1z * i2x - i1x * i2z
    hz = i1x * i2y - i1y * i2x
    hn = math.sqrt(hx * hx + hy * hy + hz * hz)
    if hn < 1e-14:
        out[7] = 1.0
        return
    hx /= hn
    hy /= hn
    hz /= hn
    lam = math.sqrt(max(0.0, 1.0 - c / s))
    if hz < 0.0:
        lam = -lam
        t1x, t1y, t1z = i1y * hz - i1z * hy, i1z * hx - i1x * hz, i1x * hy - i1y * hx
        t2x, t2y, t2z = i2y * hz - i2z * hy, i2z * hx - i2x * hz, i2x * hy - i2y * hx
    else:
        t1x, t1y, t1z = hy * i1z - hz * i1y, hz * i1x - hx * i1z, hx * i1y - hy * i1x
        t2x, t2y, t2z = hy * i2z - hz * i2y, hz * i2x - hx * i2z, hx * i2y - hy * i2x
    if not prograde:
        lam = -lam
        t1x, t1y, t1z = -t1x, -t1y, -t1z
        t2x, t2y, t2z = -t2x, -t2y, -t2z
    T = math.sqrt(2.0 * mu / (s * s * s)) * tof
    if n > 0 and n > _nmax(lam, T):
        out[7] = 2.0
        return
    l2 = lam * lam
    t00 = math.acos(lam) + lam * math.sqrt(1.0 - l2)
    if n == 0:
        t1 = 2.0 / 3.0 * (1.0 - l2 * lam)
        if T >= t00:
            x0 = -(T - t00) / (T - t00 + 4.0)
        elif T <= t1:
            x0 = t1 * (t1 - T) / (0.4 * (1.0 - l2 * l2 * lam) * T) + 1.0
        else:
            x0 = (T / t00) ** (0.69314718055994529 / math.log(t1 / t00)) - 1.0
    else:
        if right:
            tmp = ((8.0 * T) / (n * _PI)) ** (2.0 / 3.0)
        else:
            tmp = ((n * _PI + _PI) / (8.0 * T)) ** (2.0 / 3.0)
        x0 = (tmp - 1.0) / (tmp + 1.0)
    x, it = _householder_l(T, x0, lam, n)
    if it < 0 or not (x == x):
        out[7] = 3.0
        return
    gamma = math.sqrt(mu * s / 2.0)
    rho = (R1 - R2) / c
    sigma = math.sqrt(max(0.0, 1.0 - rho * rho))
    y = math.sqrt(1.0 - l2 + l2 * x * x)
    vr1 = gamma * ((lam * y - x) - rho * (lam * y + x)) / R1
    vr2 = -gamma * ((lam * y - x) + rho * (lam * y + x)) / R2
    vt = gamma * sigma * (y + lam * x)
    vt1 = vt / R1
    vt2 = vt / R2
    out[0] = vr1 * i1x + vt1 * t1x
    out[1] = vr1 * i1y + vt1 * t1y
    out[2] = vr1 * i1z + vt1 * t1z
    out[3] = vr2 * i2x + vt2 * t2x
    out[4] = vr2 * i2y + vt2 * t2y
    out[5] = vr2 * i2z + vt2 * t2z
    out[6] = it
    out[7] = 0.0


def _batch_range(mu, r1, r2, tof, n, right, prograde, out, i0, i1):
    for i in range(i0, i1):
        _solve_one(mu, r1[i, 0], r1[i, 1], r1[i, 2], r2[i, 0], r2[i, 1], r2[i, 2], tof[i], n, right,
                   prograde, out[i])


def _batch_serial(mu, r1, r2, tof, n, right, prograde, out):
    """Every problem, in order, in the calling thread."""
    _batch_range(mu, r1, r2, tof, n, right, prograde, out, 0, tof.shape[0])


def _batch_threads(mu, r1, r2, tof, n, right, prograde, out):
    """Every problem, in ranges of ``_CHUNK`` spread over threads (:func:`mmxsim._accel.run_chunks`;
    the compiled range kernel releases the GIL)."""
    m = tof.shape[0]
    run_chunks(_batch_range, (mu, r1, r2, tof, n, right, prograde, out), m, -(-m // _CHUNK))


_CHUNK = 1024  # problems per work item of the threaded batch (~1 ms)


_SCALAR_FUNCS = ("_hyp2f1b", "_x2tof", "_dtdx", "_householder_l", "_tmin", "_nmax", "_solve_one")


def _pure_python_namespace() -> dict:
    """Plain-Python copies of the kernel (the fallback without numba, and the benchmark's scalar
    baseline), bound to each other rather than to the compiled versions."""
    import types

    g = dict(globals())
    for name in (*_SCALAR_FUNCS, "_batch_range", "_batch_serial"):
        f = globals()[name]
        f = getattr(f, "py_func", f)
        g[name] = types.FunctionType(f.__code__, g, name)
    return g


PURE = _pure_python_namespace()  # PURE["_solve_one"], PURE["_batch_serial"]: no numba involved

if HAVE_NUMBA:  # compile lazily on first call, cached on disk by numba
    for _name in _SCALAR_FUNCS:
        globals()[_name] = jit(globals()[_name])
    # one compiled kernel over a range of problems, for the serial and the threaded batch (a
    # parallel=True build compiled three times slower, and the serial one besides)
    _batch_range = jit(_batch_range)
    del _name


def _kernel(parallel: bool = True):
    """The batch call: the compiled range kernel over threads (``parallel``) or in the calling thread,
    or the pure-Python loop without numba."""
    if not HAVE_NUMBA:
        return PURE["_batch_serial"]
    return _batch_threads if parallel else _batch_serial


# ---------------------------------------------------------------------------------------------
# Public API
def _check(mu, r1, r2, tof, revs, branch):
    if not (np.isfinite(mu) and mu > 0):
        raise InputError("mu", mu, "a finite gravitational parameter > 0 (km^3/s^2)")
    if not isinstance(revs, (int, np.integer)) or isinstance(revs, bool) or revs < 0:
        raise InputError("revs", revs, "an integer number of complete revolutions >= 0")
    if branch not in ("left", "right"):
        raise InputError("branch", branch, "'left' or 'right' (used when revs >= 1)")
    r1 = np.asarray(r1, dtype=float)
    r2 = np.asarray(r2, dtype=float)
    tof = np.asarray(tof, dtype=float)
    if r1.shape[-1:] != (3,) or r2.shape[-1:] != (3,):
        raise InputError("r1/r2", (r1.shape, r2.shape), "position vectors of shape (3,) or (N, 3)")
    if not (np.all(np.isfinite(r1)) and np.all(np.isfinite(r2))):
        raise InputError("r1/r2", "non-finite", "finite position vectors")
    if np.any(np.linalg.norm(r1, axis=-1) <= 0) or np.any(np.linalg.norm(r2, axis=-1) <= 0):
        raise InputError("r1/r2", "zero vector", "position vectors away from the attractor (|r| > 0)")
    if not np.all(np.isfinite(tof)) or np.any(tof <= 0):
        bad = tof[~(np.isfinite(tof) & (tof > 0))] if tof.ndim else tof
        raise InputError("tof", np.ravel(bad)[0], "times of flight > 0 (s)")
    return r1, r2, tof


def _writable(a):
    """``a`` C-contiguous and writable (copied only where needed): the kernel then sees one set of
    argument types (numba compiles a version for read-only arrays of its own)."""
    a = np.ascontiguousarray(a)
    return a if a.flags.writeable else a.copy()


def solve(mu: float, r1, r2, tof, revs: int = 0, branch: str = "left", prograde: bool = True,
          parallel: bool = True):
    """Vectorised Lambert solver: N problems at once.

    Parameters
    ----------
    mu : gravitational parameter (km^3/s^2).
    r1, r2 : (N, 3) or (3,) positions (km); broadcast against each other and ``tof``.
    tof : (N,) or scalar time of flight (s), > 0.
    revs : complete revolutions (0 = direct arc); ``branch`` "left"/"right" for revs >= 1.
    prograde : transfer counter-clockwise about +z (True) or clockwise (False).

    Returns
    -------
    v1, v2 : (N, 3) km/s (NaN where the problem has no solution: collinear r1, r2, or more
    revolutions than the time of flight allows), and ``status`` (N,) int: 0 ok, 1 collinear,
    2 too many revolutions, 3 no convergence.
    """
    r1, r2, tof = _check(mu, r1, r2, tof, revs, branch)
    shape = np.broadcast_shapes(r1.shape[:-1], r2.shape[:-1], tof.shape)
    n = int(np.prod(shape)) if shape else 1
    R1 = _writable(np.broadcast_to(r1, shape + (3,)).reshape(n, 3))
    R2 = _writable(np.broadcast_to(r2, shape + (3,)).reshape(n, 3))
    TT = _writable(np.broadcast_to(tof, shape).reshape(n))
    out = np.empty((n, 8))
    _kernel(parallel)(float(mu), R1, R2, TT, int(revs), branch == "right", bool(prograde), out)
    v1 = out[:, 0:3].reshape(shape + (3,))
    v2 = out[:, 3:6].reshape(shape + (3,))
    status = out[:, 7].astype(int).reshape(shape)
    return v1, v2, status


_STATUS_TEXT = {1: ("r1/r2", "r1 and r2 are collinear (180 or 0 deg transfer): the transfer plane is "
                    "undefined", "non-collinear positions"),
                2: ("revs", None, "at most the number of revolutions the time of flight allows "
                    "(see max_revolutions)"),
                3: ("tof", None, "a problem on which the Householder iteration converges")}


def lambert(mu: float, r1, r2, tof: float, revs: int = 0, branch: str = "left", prograde: bool = True):
    """One Lambert problem: returns (v1, v2) as (3,) arrays in km/s.

    Raises :class:`~mmxsim.errors.InputError` for tof <= 0, mu <= 0, zero or collinear
    position vectors, or more revolutions than ``tof`` allows.

    >>> import numpy as np
    >>> v1, v2 = lambert(1.0, [1.0, 0, 0], [0, 1.0, 0], np.pi / 2)   # quarter of a circle
    >>> np.round(v1, 12).tolist(), np.round(v2, 12).tolist()
    ([0.0, 1.0, 0.0], [-1.0, 0.0, 0.0])
    """
    r1 = np.asarray(r1, dtype=float)
    r2 = np.asarray(r2, dtype=float)
    if r1.shape != (3,) or r2.shape != (3,) or np.ndim(tof) != 0:
        raise InputError("r1/r2/tof", (r1.shape, r2.shape, np.shape(tof)),
                         "one problem: r1, r2 of shape (3,) and a scalar tof (use solve() for many)")
    v1, v2, st = solve(mu, r1, r2, tof, revs, branch, prograde, parallel=False)
    st = int(st)
    if st:
        field, value, allowed = _STATUS_TEXT[st]
        raise InputError(field, value if value is not None else (revs if st == 2 else tof), allowed)
    return v1, v2


def max_revolutions(mu: float, r1, r2, tof: float, prograde: bool = True) -> int:
    """Largest number of complete revolutions for which the problem has solutions."""
    r1, r2, tof = _check(mu, r1, r2, tof, 0, "left")
    c = np.linalg.norm(r2 - r1)
    R1, R2 = np.linalg.norm(r1), np.linalg.norm(r2)
    s = 0.5 * (c + R1 + R2)
    h = np.cross(r1, r2)
    lam = math.sqrt(max(0.0, 1.0 - c / s)) * (-1.0 if h[2] < 0 else 1.0) * (1.0 if prograde else -1.0)
    T = math.sqrt(2.0 * mu / s ** 3) * float(tof)
    return int(_nmax(lam, T))


def lambert_all(mu: float, r1, r2, tof: float, max_revs: int | None = None, prograde: bool = True):
    """All solutions of one problem, ordered as pykep's ``lambert_problem``:
    [(0, 'direct'), (1, 'left'), (1, 'right'), (2, 'left'), ...].

    Returns a list of (revs, branch, v1, v2).
    """
    nmax = max_revolutions(mu, r1, r2, tof, prograde)
    if max_revs is not None:
        nmax = min(nmax, int(max_revs))
    out = [(0, "direct", *lambert(mu, r1, r2, tof, 0, "left", prograde))]
    for n in range(1, nmax + 1):
        for br in ("left", "right"):
            v1, v2, st = solve(mu, r1, r2, tof, n, br, prograde, parallel=False)
            if int(st) == 0:
                out.append((n, br, v1, v2))
    return out
