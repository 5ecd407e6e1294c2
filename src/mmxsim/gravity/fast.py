"""Fast polyhedron gravity near a small body: a surface-fitted interpolation grid (simplified model).

Why. The exact constant-density polyhedron (:class:`~mmxsim.gravity.polyhedron.Polyhedron`)
costs ~50 µs per point with the 3.5k-facet Phobos mesh and ~0.7 ms with the 50k-facet Ernst
mesh (2 cores, numba), far too slow for ensembles of descent trajectories. Spherical harmonics
diverge inside the Brillouin sphere (radius 13.9 km for Phobos, while the surface lies at
9-13.9 km), so they cannot serve near the surface.

What. :class:`GridGravity` tabulates the polyhedron once on a grid that follows the surface:

* directions on a latitude/longitude grid (steps ``dlat_deg``, ``dlon_deg``; body-fixed,
  planetocentric, east longitude), and for each direction the radius ``R(lat, lon)`` where the
  ray from the origin last leaves the mesh (ray casting; the mesh must be star-shaped from
  the origin up to overhangs of 50 m, which is checked: the surface is the radial envelope);
* along each ray ``n_radial`` nodes at ``r = s R`` with ``ln s`` uniform on ``[0, ln s_max]``
  (dense near the surface, where the field varies fastest);
* at each node the exact polyhedron potential and acceleration minus the point-mass part
  ``GM/r`` (the residual is smooth and small far away).

Evaluation interpolates the residual with tricubic Lagrange polynomials in (ln s, lat, lon)
(64 nodes; periodic in longitude, reflected across the poles, one-sided at the radial ends,
so that only nodes *outside* the body are used: the field's derivative jumps across the
surface, and a stencil straddling it would smear that kink) and adds ``GM/r`` back. The
surface used is the bicubic (Catmull-Rom, C1) interpolant of the ray radii ``R(lat, lon)``; a point with
``s < 1`` is inside and is refused (or flagged). Beyond ``s_max`` the exterior spherical
harmonics of the same polyhedron (degree 10, least-squares fitted to its exact potential
between s_max * min R and 3 s_max * min R) are used instead (switching by distance: there
``r >= s_max * min R`` lies outside the Brillouin sphere, so the series converges).

Error bound (measured against the exact polyhedron of the same mesh at 3000 random points,
1 m to 100 km above the facets; see docs/descent.md): with the default grid (2° x 2°,
24 radial nodes, s_max = 3) on the ``thomas3k`` mesh the relative acceleration error is
< 5e-3 everywhere (measured max 3.7e-3, within 1 km of the surface), < 1e-3 from 1 to 10 km
(measured 9.6e-4), < 1e-4 beyond (measured 7.7e-5), median 1.5e-4; potential < 2e-4.
The largest errors lie within a few hundred metres of the surface, where the polyhedron
field itself has the kinks of the facet edges and vertices. Beyond the grid the fitted SH
agree with the polyhedron to 6e-6, so the switch is smooth to that level. The coarser test
grid (3°, 16 nodes) is held to < 8e-3 in ``tests/gravity/test_fast.py``.

Simplifications: constant density (as the polyhedron); the surface is the bicubic radius
interpolant, not the mesh itself (difference measured and stated in the docs).

The grid is cached on disk (``$MMXSIM_CACHE_DIR`` or ``$XDG_CACHE_HOME/mmxsim`` or
``~/.cache/mmxsim``), keyed by a hash of the mesh, GM and the grid parameters; it is computed
on first use: the exact polyhedron at every node (about 13 CPU-s for the default grid of the 3.5k
mesh, minutes with the Ernst mesh; once per pole and radial node, the pole rows' nodes being one
point); the ray casting (:func:`ray_radii`, BVH- or cone-culled) and the SH fit take well under a
second. One process at a time builds a given grid (an exclusive lock on a hidden ``.lock`` file
next to it): another that asks for it meanwhile waits and reads the file (so a grid built ahead, in
the background of a run, is not built twice). No network.

The point kernels (:func:`grid_accel_point`) are plain Python on scalars, numba-compiled when
numba is installed (``MMXSIM_NO_NUMBA=1`` or no numba: same code in pure Python, correct but
~100x slower).
"""

from __future__ import annotations

import hashlib
import math
import warnings
import zipfile
from pathlib import Path

import numpy as np

from .._accel import HAVE_NUMBA, jit, limit_threads, restore_threads, run_chunks
from ..errors import InputError
from ..files import atomic_file, build_lock
from .polyhedron import Polyhedron

_VERSION = "grid-v2"
_SH_DEGREE = 10
_SH_REF_RADIUS = 11.0  # km, reference radius of the fitted exterior field


# ---------------------------------------------------------------------------------------------
# Kernels (scalar code; numba-compiled when available)
def _cubic_weights(x):
    """The 4 cubic Lagrange weights of nodes 0, 1, 2, 3 at position x."""
    return ((-(x - 1.0) * (x - 2.0) * (x - 3.0) / 6.0), x * (x - 2.0) * (x - 3.0) / 2.0,
            -x * (x - 1.0) * (x - 3.0) / 2.0, x * (x - 1.0) * (x - 2.0) / 6.0)


def _reflect_lat(j, nlat, half):
    """(node, longitude shift) of latitude node j, reflected across a pole when outside 0..nlat-1
    (lat -> -pi - lat or pi - lat, lon + pi: a shift of half the longitude nodes)."""
    if j < 0:
        return -j, half
    if j > nlat - 1:
        return 2 * (nlat - 1) - j, half
    return j, 0


_cubic_weights = jit(_cubic_weights, inline=True)
_reflect_lat = jit(_reflect_lat, inline=True)


def _lagrange4(t, n):
    """Start index i0 in [0, n-4] and the 4 cubic Lagrange weights at fractional index t."""
    i = int(math.floor(t))
    i0 = i - 1
    if i0 < 0:
        i0 = 0
    if i0 > n - 4:
        i0 = n - 4
    x = t - i0  # position within the nodes i0..i0+3 (normally in [1, 2])
    w0, w1, w2, w3 = _cubic_weights(x)
    return i0, w0, w1, w2, w3


_lagrange4 = jit(_lagrange4)


def _catmull_rom(t):
    """Catmull-Rom (C1 cubic) weights of nodes -1, 0, 1, 2 at t in [0, 1)."""
    t2 = t * t
    t3 = t2 * t
    return (0.5 * (-t3 + 2.0 * t2 - t), 0.5 * (3.0 * t3 - 5.0 * t2 + 2.0),
            0.5 * (-3.0 * t3 + 4.0 * t2 + t), 0.5 * (t3 - t2))


_catmull_rom = jit(_catmull_rom)


def radius_interp(lat, lon, Rg, dlat, dlon):
    """Surface radius at (lat, lon): bicubic Catmull-Rom interpolant (C1) of the ray radii
    Rg[nlat, nlon] (lat nodes from -pi/2, lon nodes from -pi; periodic in longitude, reflected
    across the poles). A C1 surface makes the grid coordinates smooth, so that the tricubic
    interpolation of the field does not see kinks at the grid lines away from the surface."""
    nlat = Rg.shape[0]
    nlon = Rg.shape[1]
    half = nlon // 2
    tj = (lat + 0.5 * math.pi) / dlat
    j1 = int(math.floor(tj))
    if j1 > nlat - 2:
        j1 = nlat - 2
    b0, b1, b2, b3 = _catmull_rom(tj - j1)
    tk = (lon + math.pi) / dlon
    k1 = int(math.floor(tk))
    c0, c1, c2, c3 = _catmull_rom(tk - k1)
    acc = 0.0
    for jj in range(4):
        j, shift = _reflect_lat(j1 - 1 + jj, nlat, half)
        wj = b0 if jj == 0 else (b1 if jj == 1 else (b2 if jj == 2 else b3))
        row = 0.0
        for kk in range(4):
            k = (k1 - 1 + kk + shift) % nlon
            wk = c0 if kk == 0 else (c1 if kk == 1 else (c2 if kk == 2 else c3))
            row += wk * Rg[j, k]
        acc += wj * row
    return acc


radius_interp = jit(radius_interp)


def _sh_accel(x, y, z, gm, R, C, S, nmax, out):
    """Exterior SH acceleration and potential (Montenbruck & Gill eqs. 3.29-3.33, unnormalised
    C, S; the same recursion as :func:`mmxsim.gravity.sh_acceleration`). out = (U, ax, ay, az)."""
    nn = nmax + 2
    V = np.zeros((nn, nn))
    W = np.zeros((nn, nn))
    r2 = x * x + y * y + z * z
    rho = R * R / r2
    x0 = R * x / r2
    y0 = R * y / r2
    z0 = R * z / r2
    V[0, 0] = R / math.sqrt(r2)
    V[1, 0] = z0 * V[0, 0]
    for n in range(2, nn):
        V[n, 0] = ((2 * n - 1) * z0 * V[n - 1, 0] - (n - 1) * rho * V[n - 2, 0]) / n
    for m in range(1, nn):
        V[m, m] = (2 * m - 1) * (x0 * V[m - 1, m - 1] - y0 * W[m - 1, m - 1])
        W[m, m] = (2 * m - 1) * (x0 * W[m - 1, m - 1] + y0 * V[m - 1, m - 1])
        if m < nn - 1:
            V[m + 1, m] = (2 * m + 1) * z0 * V[m, m]
            W[m + 1, m] = (2 * m + 1) * z0 * W[m, m]
        for n in range(m + 2, nn):
            V[n, m] = ((2 * n - 1) * z0 * V[n - 1, m] - (n + m - 1) * rho * V[n - 2, m]) / (n - m)
            W[n, m] = ((2 * n - 1) * z0 * W[n - 1, m] - (n + m - 1) * rho * W[n - 2, m]) / (n - m)
    ax = 0.0
    ay = 0.0
    az = 0.0
    U = 0.0
    for n in range(nmax + 1):
        for m in range(n + 1):
            c = C[n, m]
            s = S[n, m]
            U += c * V[n, m] + s * W[n, m]
            if m == 0:
                ax -= c * V[n + 1, 1]
                ay -= c * W[n + 1, 1]
            else:
                f = 0.5 * (n - m + 2) * (n - m + 1)
                ax += 0.5 * (-c * V[n + 1, m + 1] - s * W[n + 1, m + 1]) + f * (c * V[n + 1, m - 1] + s * W[n + 1, m - 1])
                ay += 0.5 * (-c * W[n + 1, m + 1] + s * V[n + 1, m + 1]) + f * (-c * W[n + 1, m - 1] + s * V[n + 1, m - 1])
            az += (n - m + 1) * (-c * V[n + 1, m] - s * W[n + 1, m])
    k = gm / (R * R)
    out[0] = gm / R * U
    out[1] = k * ax
    out[2] = k * ay
    out[3] = k * az


_sh_accel = jit(_sh_accel)


def grid_accel_point(x, y, z, G, Rg, gm, dq, dlat, dlon, shR, shC, shS, out):
    """Potential and acceleration at body-fixed (x, y, z) km: out = (U, ax, ay, az) in km²/s²,
    km/s². Returns the region: 0 grid, 1 spherical harmonics (beyond s_max), -1 inside the
    body (s < 1; out is then the value extrapolated from the surface nodes, not physical)."""
    nq = G.shape[0]
    nlat = G.shape[1]
    nlon = G.shape[2]
    r = math.sqrt(x * x + y * y + z * z)
    lat = math.asin(max(-1.0, min(1.0, z / r)))
    lon = math.atan2(y, x)
    Rs = radius_interp(lat, lon, Rg, dlat, dlon)
    q = math.log(r / Rs)
    if q > dq * (nq - 1):
        _sh_accel(x, y, z, gm, shR, shC, shS, shC.shape[0] - 1, out)
        return 1
    region = 0
    if q < 0.0:
        region = -1
    i0, a0, a1, a2, a3 = _lagrange4(q / dq, nq)
    tj = (lat + 0.5 * math.pi) / dlat
    jb = int(math.floor(tj)) - 1
    xj = tj - jb
    b0, b1, b2, b3 = _cubic_weights(xj)
    tk = (lon + math.pi) / dlon
    kb = int(math.floor(tk)) - 1
    xk = tk - kb
    c0, c1, c2, c3 = _cubic_weights(xk)
    u0 = 0.0
    u1 = 0.0
    u2 = 0.0
    u3 = 0.0
    half = nlon // 2
    for jj in range(4):
        j, shift = _reflect_lat(jb + jj, nlat, half)  # across a pole: lon + pi
        wj = b0 if jj == 0 else (b1 if jj == 1 else (b2 if jj == 2 else b3))
        for kk in range(4):
            k = (kb + kk + shift) % nlon
            wk = c0 if kk == 0 else (c1 if kk == 1 else (c2 if kk == 2 else c3))
            wjk = wj * wk
            for ii in range(4):
                wi = a0 if ii == 0 else (a1 if ii == 1 else (a2 if ii == 2 else a3))
                w = wi * wjk
                ig = i0 + ii
                u0 += w * G[ig, j, k, 0]
                u1 += w * G[ig, j, k, 1]
                u2 += w * G[ig, j, k, 2]
                u3 += w * G[ig, j, k, 3]
    k3 = gm / (r * r * r)
    out[0] = gm / r + u0
    out[1] = -k3 * x + u1
    out[2] = -k3 * y + u2
    out[3] = -k3 * z + u3
    return region


grid_accel_point = jit(grid_accel_point)


def _eval_many(P, G, Rg, gm, dq, dlat, dlon, shR, shC, shS, out, region):
    buf = np.empty(4)
    for i in range(P.shape[0]):
        region[i] = grid_accel_point(P[i, 0], P[i, 1], P[i, 2], G, Rg, gm, dq, dlat, dlon, shR, shC, shS, buf)
        for c in range(4):
            out[i, c] = buf[c]


_eval_many = jit(_eval_many)


def _altitude_many(P, Rg, dlat, dlon, out_h, out_lat, out_lon):
    for i in range(P.shape[0]):
        x = P[i, 0]
        y = P[i, 1]
        z = P[i, 2]
        r = math.sqrt(x * x + y * y + z * z)
        lat = math.asin(max(-1.0, min(1.0, z / r)))
        lon = math.atan2(y, x)
        out_h[i] = r - radius_interp(lat, lon, Rg, dlat, dlon)
        out_lat[i] = lat
        out_lon[i] = lon


_altitude_many = jit(_altitude_many)


# ---------------------------------------------------------------------------------------------
MAX_OVERHANG_KM = 0.05


def _ray_spans_numpy(shape, dirs, chunk: int = 64):
    """(t_last, t_first) of the rays from the origin along ``dirs`` (n, 3): the largest and the
    smallest ray parameter of a crossing of the mesh (-inf / inf where a ray crosses nothing).
    Every ray against every facet (Möller & Trumbore 1997), in NumPy chunks of ``chunk`` rays:
    the reference of :func:`_ray_spans_bvh` and the path without numba."""
    V, F = shape.vertices, shape.faces
    v0, v1, v2 = V[F[:, 0]], V[F[:, 1]], V[F[:, 2]]
    e1, e2 = v1 - v0, v2 - v0
    t_last = np.empty(len(dirs))
    t_first = np.empty(len(dirs))
    for c in range(0, len(dirs), chunk):
        d = dirs[c:c + chunk]  # (b, 3)
        pv = np.cross(d[:, None, :], e2[None])  # (b, f, 3)
        det = np.einsum("fi,bfi->bf", e1, pv)
        tv = -v0
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / det
            u = np.einsum("fi,bfi->bf", tv, pv) * inv
            qv = np.cross(tv, e1)  # (f, 3)
            v = np.einsum("bi,fi->bf", d, qv) * inv
            t = np.einsum("fi,fi->f", e2, qv)[None, :] * inv
            hit = (u >= -_RAY_TOL) & (v >= -_RAY_TOL) & (u + v <= 1 + _RAY_TOL) & (t > 0) & np.isfinite(t)
        t_last[c:c + chunk] = np.where(hit, t, -np.inf).max(axis=1)
        t_first[c:c + chunk] = np.where(hit, t, np.inf).min(axis=1)
    return t_last, t_first


#: angular padding (rad) of the facet cones of :func:`_ray_spans_culled`, on top of the facet's own
#: barycentric tolerance: far above the rounding of the cone test (~1e-15)
_CONE_PAD_RAD = 1e-6


def _facet_cones(shape):
    """(axis (F, 3), cos of the half-angle (F,)) of a cone from the origin around each facet: the
    axis is the direction of the facet's vertex sum, the half-angle the largest angle from it to a
    vertex, padded by ``_CONE_PAD_RAD`` and by the angle the barycentric tolerance adds. A cap of
    less than a hemisphere is convex on the sphere, so it holds the facet's whole central
    projection; cos = -2 (every ray a candidate) where the padded cap is not that small or the
    facet comes near the origin."""
    V, F = shape.vertices, shape.faces
    P = V[F]  # (F, 3 vertices, 3)
    dist = np.linalg.norm(P, axis=2)  # (F, 3)
    s = P.sum(axis=1)
    ns = np.linalg.norm(s, axis=1)
    dmin = dist.min(axis=1)
    ok = (ns > 0.0) & (dmin > 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ax = s / np.where(ok, ns, 1.0)[:, None]
        cosv = np.einsum("fi,fvi->fv", ax, P) / np.where(dist > 0.0, dist, 1.0)
        half = np.arccos(np.clip(cosv.min(axis=1), -1.0, 1.0))
        edges = (np.linalg.norm(P[:, 1] - P[:, 0], axis=1) + np.linalg.norm(P[:, 2] - P[:, 0], axis=1)
                 + np.linalg.norm(P[:, 2] - P[:, 1], axis=1))
        half = half + _CONE_PAD_RAD + 100.0 * _RAY_TOL * edges / np.where(ok, dmin, 1.0)
    ok &= half < 0.5 * np.pi - 1e-3
    return np.ascontiguousarray(ax), np.where(ok, np.cos(np.where(ok, half, 0.0)), -2.0)


def _ray_spans_culled(shape, dirs, chunk: int | None = None):
    """:func:`_ray_spans_numpy` testing each ray only against the facets whose cone
    (:func:`_facet_cones`) holds its direction (a ray outside a facet's cone cannot cross the
    facet), with the arithmetic of the BVH kernel :func:`_ray_spans_impl` (the brute force's
    operations, 3-term dot products summed as (x0 y0 + x2 y2) + x1 y1): the same numbers as the
    kernel, without compiling it (compared in tests/gravity/test_fast.py). NumPy; the rays in
    chunks of ``chunk`` (default: 4 million ray-facet cone tests, at most 1024 rays, a chunk)."""
    V, F = shape.vertices, shape.faces
    v0 = V[F[:, 0]]
    e1 = V[F[:, 1]] - v0
    e2 = V[F[:, 2]] - v0
    tv = -v0
    # qv = tv x e1 and e2 . qv depend on the facet only
    qx = tv[:, 1] * e1[:, 2] - tv[:, 2] * e1[:, 1]
    qy = tv[:, 2] * e1[:, 0] - tv[:, 0] * e1[:, 2]
    qz = tv[:, 0] * e1[:, 1] - tv[:, 1] * e1[:, 0]
    te = (e2[:, 0] * qx + e2[:, 2] * qz) + e2[:, 1] * qy
    axis, cmin = _facet_cones(shape)
    n = len(dirs)
    if chunk is None:
        chunk = max(1, min(1024, 4_000_000 // max(len(F), 1)))
    t_last = np.full(n, -np.inf)
    t_first = np.full(n, np.inf)
    for c in range(0, n, chunk):
        d = dirs[c:c + chunk]
        bi, k = np.nonzero(d @ axis.T >= cmin[None, :])
        dx, dy, dz = d[bi, 0], d[bi, 1], d[bi, 2]
        px = dy * e2[k, 2] - dz * e2[k, 1]
        py = dz * e2[k, 0] - dx * e2[k, 2]
        pz = dx * e2[k, 1] - dy * e2[k, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / ((e1[k, 0] * px + e1[k, 2] * pz) + e1[k, 1] * py)
            u = ((tv[k, 0] * px + tv[k, 2] * pz) + tv[k, 1] * py) * inv
            v = ((dx * qx[k] + dz * qz[k]) + dy * qy[k]) * inv
            t = te[k] * inv
            hit = (u >= -_RAY_TOL) & (v >= -_RAY_TOL) & (u + v <= 1 + _RAY_TOL) & (t > 0) & np.isfinite(t)
        np.maximum.at(t_last, c + bi[hit], t[hit])
        np.minimum.at(t_first, c + bi[hit], t[hit])
    return t_last, t_first


#: barycentric tolerance of a ray/facet crossing in :func:`ray_radii` (a ray through an edge or a
#: vertex counts for every facet it touches)
_RAY_TOL = 1e-10
#: padding (km) of the BVH boxes in :func:`_ray_spans_bvh`: far larger than the facet tolerance
#: (1e-10 of a facet's edges, < 1e-9 km) and rounding, so that no facet the brute-force test
#: counts as crossed is left out
_BOX_PAD_KM = 1e-6


def _ray_spans_impl(D, box, nd, tri, tol, pad, t_last, t_first, i0, i1):
    """For each unit direction D[i], i0 <= i < i1: the largest and smallest t > 0 at which the ray
    t D[i] from the origin crosses a facet (the test of :func:`_ray_spans_numpy`, operation for
    operation), visiting only the facets of the BVH leaves whose padded box the ray meets."""
    stack = np.empty(256, np.int64)
    for i in range(i0, i1):
        dx = D[i, 0]
        dy = D[i, 1]
        dz = D[i, 2]
        tl = -np.inf
        tf = np.inf
        stack[0] = 0
        sp = 1
        while sp > 0:
            sp -= 1
            node = stack[sp]
            t0 = 0.0
            t1 = np.inf
            ok = True
            for ax in range(3):
                dd = dx if ax == 0 else (dy if ax == 1 else dz)
                lo = box[node, ax] - pad
                hi = box[node, ax + 3] + pad
                if dd != 0.0:
                    a = lo / dd
                    b = hi / dd
                    if a > b:
                        a, b = b, a
                    if a > t0:
                        t0 = a
                    if b < t1:
                        t1 = b
                elif lo > 0.0 or hi < 0.0:
                    ok = False
            if not ok or t0 > t1:
                continue
            c = nd[node, 0]
            if c >= 0:
                stack[sp] = c + 1
                stack[sp + 1] = c
                sp += 2
                continue
            for k in range(-c - 1, -c - 1 + nd[node, 1]):
                # the NumPy reference's arithmetic: pv = d x e2, det = e1.pv, tv = -v0,
                # u = tv.pv / det, qv = tv x e1, v = d.qv / det, t = e2.qv / det, with the
                # 3-term dot products summed as np.einsum sums them, (x0 y0 + x2 y2) + x1 y1
                e1x = tri[k, 3]
                e1y = tri[k, 4]
                e1z = tri[k, 5]
                e2x = tri[k, 6]
                e2y = tri[k, 7]
                e2z = tri[k, 8]
                tvx = -tri[k, 0]
                tvy = -tri[k, 1]
                tvz = -tri[k, 2]
                px = dy * e2z - dz * e2y
                py = dz * e2x - dx * e2z
                pz = dx * e2y - dy * e2x
                det = (e1x * px + e1z * pz) + e1y * py
                if det == 0.0:  # the reference's t is then inf or nan: not a crossing
                    continue
                inv = 1.0 / det
                u = ((tvx * px + tvz * pz) + tvy * py) * inv
                qx = tvy * e1z - tvz * e1y
                qy = tvz * e1x - tvx * e1z
                qz = tvx * e1y - tvy * e1x
                v = ((dx * qx + dz * qz) + dy * qy) * inv
                t = ((e2x * qx + e2z * qz) + e2y * qy) * inv
                if u >= -tol and v >= -tol and u + v <= 1.0 + tol and t > 0.0 and np.isfinite(t):
                    if t > tl:
                        tl = t
                    if t < tf:
                        tf = t
        t_last[i] = tl
        t_first[i] = tf


# a serial kernel over a range of rays, spread over threads by run_chunks (compiled in a third of the
# time of a prange kernel; the same per-ray arithmetic)
_ray_spans_kernel = jit(_ray_spans_impl)


def _ray_spans_bvh(shape, dirs):
    """:func:`_ray_spans_numpy` with the shape's BVH (:func:`mmxsim.bodies.bvh.get_bvh`, shared
    with the ray casting and the surface distance) culling the facets a ray cannot cross: the same
    crossing test on the remaining facets, so the same numbers (compared in tests/gravity)."""
    from ..bodies.bvh import get_bvh

    bvh = get_bvh(shape)
    D = np.array(dirs, dtype=float, order="C")  # a fresh writable array: the signature warmup compiles
    t_last = np.empty(len(D))
    t_first = np.empty(len(D))
    pad = max(_BOX_PAD_KM, 1e-9 * float(np.abs(bvh.box).max()))  # and relative, for a mesh far larger than Phobos
    n = len(D)
    run_chunks(_ray_spans_kernel, (D, bvh.box, bvh.nd, bvh.tri, _RAY_TOL, pad, t_last, t_first), n, -(-n // 64))
    return t_last, t_first


#: rays x facets above which compiling the BVH ray kernel (~1-1.5 s CPU) costs less than the cone-culled
#: NumPy casting (:func:`_ray_spans_culled`, ~0.35 s per 1e8 ray-facet pairs on thomas3k and Ernst; the
#: brute force costs ~2.5-3 s per 1e8); below, the kernel is used once compiled (or in numba's cache)
_RAY_COMPILE_PAYS = 4e8


def _ray_kernel_ready() -> bool:
    from ..bodies.bvh import compiled_ready

    z2, z1 = np.zeros((1, 3)), np.zeros(1)
    return compiled_ready(_ray_spans_kernel, (z2, z2, np.zeros((1, 2), np.int64), z2, 0.0, 0.0, z1, z1, 0, 1))


def ray_radii(shape, dirs, chunk: int = 64, max_overhang_km: float = MAX_OVERHANG_KM, report: dict | None = None,
              backend: str | None = None):
    """Distance from the origin along unit vectors ``dirs`` (n, 3) to where the ray last leaves
    the mesh (Möller & Trumbore 1997 ray-triangle test; with numba only against the facets in the
    BVH leaves the ray meets, otherwise against the facets whose cone from the origin holds it, the
    same numbers). A ray that crosses the
    surface more than once (an overhang: the mesh is not star-shaped from the origin there) is
    accepted if the crossings span at most ``max_overhang_km`` (default 50 m; the outermost one
    is used, so the surface is the radial envelope and the pocket under the overhang counts as
    inside); otherwise InputError. The Ernst mesh has such overhangs of a few metres (1 ray
    in 2000 random ones, 3.5 m). ``report['max_overhang_km']`` receives the largest span.
    The rays are checked in groups of ``chunk`` in order (the error names the largest span of
    the first group with one too large). ``backend``: "numba" (the BVH kernel), "numpy" (every
    ray against every facet) or None: the kernel once compiled (or in numba's cache, where
    mission.warmup puts it) or where compiling it pays at once (> 4e8 ray-facet pairs), else
    NumPy against the facets whose cone from the origin holds the ray (:func:`_ray_spans_culled`);
    the same numbers in all three."""
    dirs = np.asarray(dirs, dtype=float).reshape(-1, 3)
    if backend not in (None, "numba", "numpy"):
        raise InputError("ray_radii backend", backend, "numba, numpy or None")
    if HAVE_NUMBA and (backend == "numba" or (backend is None and (
            len(dirs) * len(shape.faces) > _RAY_COMPILE_PAYS or _ray_kernel_ready()))):
        t_last, t_first = _ray_spans_bvh(shape, dirs)
    elif backend == "numpy":
        t_last, t_first = _ray_spans_numpy(shape, dirs, chunk)
    else:
        t_last, t_first = _ray_spans_culled(shape, dirs)
    worst = 0.0
    for c in range(0, len(dirs), chunk):
        tmax = t_last[c:c + chunk]
        if not np.all(np.isfinite(tmax)):
            raise InputError("GridGravity shape", shape.name, "a closed mesh around the origin (a ray misses it)")
        span = float(np.max(tmax - t_first[c:c + chunk])) if len(tmax) else 0.0
        worst = max(worst, span)
        if span > max_overhang_km:
            raise InputError("GridGravity shape", shape.name,
                             f"a mesh star-shaped from the origin up to overhangs of {max_overhang_km * 1e3:.0f} m "
                             f"(a ray crosses the surface more than once, {span * 1e3:.0f} m apart)")
    if report is not None:
        report["max_overhang_km"] = worst
    return t_last


def _cache_dir(cache_dir=None) -> Path:
    from ..files import cache_dir as _default

    return Path(cache_dir) if cache_dir is not None else _default()


def _check_param(name, value, lo, hi, what):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(name, value, what) from None
    if not (math.isfinite(v) and lo <= v <= hi):
        raise InputError(name, value, what)
    return v


class GridGravity:
    """Interpolated polyhedron gravity near Phobos (see module docstring; simplified model).

    Parameters
    ----------
    shape : ShapeModel or str
        The mesh (a packaged Phobos mesh name such as ``"thomas3k"`` or ``"ernst"``, or a
        :class:`~mmxsim.bodies.shapes.ShapeModel` star-shaped from its origin).
    gm : float, optional
        km³/s²; default GM_PHOBOS (NAIF gm_de440.tpc, BODY401_GM) via :class:`Polyhedron`.
    dlat_deg, dlon_deg : float
        Angular grid steps (degrees); 180/dlat and 360/dlon must be integers, 360/dlon even.
    n_radial : int
        Nodes along each ray, ``ln s`` uniform on [0, ln s_max] (>= 4).
    s_max : float
        Outer edge of the grid as a multiple of the local surface radius; beyond it the
        degree-10 exterior spherical harmonics are used. Must put the grid's outer edge outside
        the Brillouin sphere: s_max * min R > max R.
    cache : bool
        Read/write the grid under the cache directory.

    >>> g = GridGravity("thomas3k", dlat_deg=10, dlon_deg=10, n_radial=4, cache=False)  # coarse: a demo
    >>> a = g.acceleration([[20.0, 0.0, 0.0]])  # km/s^2, body-fixed
    >>> bool(a[0, 0] < 0)
    True
    """

    def __init__(self, shape="thomas3k", gm: float | None = None, dlat_deg: float = 2.0, dlon_deg: float = 2.0,
                 n_radial: int = 24, s_max: float = 3.0, cache: bool = True, cache_dir=None):
        from ..bodies.shapes import ShapeModel, phobos_shape
        if isinstance(shape, str):
            shape = phobos_shape(shape)
        if not isinstance(shape, ShapeModel):
            raise InputError("GridGravity shape", type(shape).__name__, "a ShapeModel or a packaged Phobos mesh name")
        dlat = _check_param("GridGravity dlat_deg", dlat_deg, 0.1, 30.0, "0.1..30 degrees dividing 180")
        dlon = _check_param("GridGravity dlon_deg", dlon_deg, 0.1, 30.0, "0.1..30 degrees dividing 360 an even number of times")
        nlat = round(180.0 / dlat) + 1
        nlon = round(360.0 / dlon)
        if abs((nlat - 1) * dlat - 180.0) > 1e-9 or abs(nlon * dlon - 360.0) > 1e-9 or nlon % 2:
            raise InputError("GridGravity dlat_deg/dlon_deg", (dlat_deg, dlon_deg),
                             "steps dividing 180 (lat) and 360 (lon, an even number of times)")
        if not isinstance(n_radial, (int, np.integer)) or not 4 <= n_radial <= 400:
            raise InputError("GridGravity n_radial", n_radial, "an integer 4..400")
        smax = _check_param("GridGravity s_max", s_max, 1.01, 100.0, "1.01..100 (multiple of the surface radius)")
        self.shape = shape
        self.poly = Polyhedron(shape, gm=gm)
        self.gm = self.poly.gm
        self.dlat = math.radians(dlat)
        self.dlon = math.radians(dlon)
        self.nlat, self.nlon, self.n_radial, self.s_max = nlat, nlon, int(n_radial), smax
        self.dq = math.log(smax) / (self.n_radial - 1)
        self.lat_nodes = -0.5 * math.pi + self.dlat * np.arange(nlat)
        self.lon_nodes = -math.pi + self.dlon * np.arange(nlon)
        h = hashlib.sha256()
        h.update(_VERSION.encode())
        h.update(np.ascontiguousarray(shape.vertices).tobytes())
        h.update(np.ascontiguousarray(shape.faces).tobytes())
        h.update(repr((self.gm, dlat, dlon, self.n_radial, smax)).encode())
        self.key = h.hexdigest()[:20]
        path = _cache_dir(cache_dir) / f"gridgravity-{self.key}.npz"
        self.cache_path = path if cache else None
        loaded = cache and self._load(path)
        if not loaded:
            # one builder per grid at a time: a process (the analyses' workers, a background build)
            # that finds another one building this grid waits for it and reads its file
            with build_lock(path if cache else None) as waited:
                loaded = cache and waited and self._load(path)
                if not loaded:
                    self._rays()
                    self._check_s_max(s_max)
                    self._build()
                    if cache:
                        try:  # complete or absent, never a truncated file that breaks later runs
                            path.parent.mkdir(parents=True, exist_ok=True)
                            with atomic_file(path) as fh:
                                np.savez(fh, R=self.R, G=self.G, C=self.C, S=self.S)
                        except OSError:  # a read-only or full cache is not an error; the grid is just not kept
                            pass
        self.R = np.ascontiguousarray(self.R)
        self.G = np.ascontiguousarray(self.G)
        self._sh = (_SH_REF_RADIUS, np.ascontiguousarray(self.C), np.ascontiguousarray(self.S))
        self._check_s_max(s_max)

    def _load(self, path) -> bool:
        """Read the grid from its cache file; False where it is absent, of another shape or
        unreadable (then with a warning, and it is rebuilt)."""
        if not path.exists():
            return False
        try:
            with np.load(path) as d:
                self.R, self.G, self.C, self.S = d["R"], d["G"], d["C"], d["S"]
            return self.G.shape == (self.n_radial, self.nlat, self.nlon, 4)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
            warnings.warn(f"gravity grid cache {path} is unreadable ({type(exc).__name__}: {exc}); "
                          "rebuilding it", RuntimeWarning, stacklevel=3)
            return False

    def _check_s_max(self, s_max):
        if self.s_max * self.R.min() <= self.R.max():
            raise InputError("GridGravity s_max", s_max,
                             f"> {self.R.max() / self.R.min():.3f} so that the grid reaches beyond the Brillouin "
                             f"sphere (max R {self.R.max():.2f} km, min R {self.R.min():.2f} km)")

    def _directions(self):
        lat, lon = np.meshgrid(self.lat_nodes, self.lon_nodes, indexing="ij")
        d = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)
        d[0, :] = d[0, 0]
        d[-1, :] = d[-1, 0]  # exactly one direction at each pole
        return d

    def _rays(self):
        self.R = ray_radii(self.shape, self._directions().reshape(-1, 3)).reshape(self.nlat, self.nlon)

    def _build(self):
        d = self._directions()
        R = self.R
        s = np.exp(self.dq * np.arange(self.n_radial))
        P = s[:, None, None, None] * (R[..., None] * d)[None]  # (nq, nlat, nlon, 3)
        # the nlon nodes of a pole row are one point (one direction, one ray radius): the exact
        # polyhedron is evaluated once per pole and radial node and copied along the row
        keep = np.ones(P.shape[:3], bool)
        for j in (0, self.nlat - 1):
            if np.all(P[:, j] == P[:, j, :1]):
                keep[:, j, 1:] = False
        P = P.reshape(-1, 3)
        keep = keep.reshape(-1)
        u = np.empty(len(P))
        a = np.empty((len(P), 3))
        u[keep], a[keep] = self.poly.potential_acceleration(P[keep])
        for j in (0, self.nlat - 1):
            rows = np.ravel_multi_index((np.arange(self.n_radial)[:, None], j, np.arange(self.nlon)[None]),
                                        (self.n_radial, self.nlat, self.nlon))
            u[rows] = u[rows[:, :1]]
            a[rows] = a[rows[:, :1]]
        r = np.linalg.norm(P, axis=1)
        G = np.empty((len(P), 4))
        G[:, 0] = u - self.gm / r
        G[:, 1:] = a + self.gm * P / r[:, None] ** 3
        self.R = R
        self.G = G.reshape(self.n_radial, self.nlat, self.nlon, 4)
        self.C, self.S = self._fit_sh(R.min() * self.s_max)

    def _fit_sh(self, r0, n: int = 3000, seed: int = 0):
        """Exterior SH coefficients (unnormalised, degree 10, reference radius 11 km) of *this*
        polyhedron, least-squares fitted to its exact potential at ``n`` points between r0 and
        3 r0 (r0 = s_max * min R is outside the Brillouin sphere, where the series converges).
        Used beyond the grid, so that the switch does not change the shape model."""
        from . import _cunningham_vw
        from ..mathns import NP

        rng = np.random.default_rng(seed)
        d = rng.normal(size=(n, 3))
        d /= np.linalg.norm(d, axis=1)[:, None]
        P = d * rng.uniform(r0, 3.0 * r0, n)[:, None]
        u = self.poly.potential(P)
        R = _SH_REF_RADIUS
        V, W = _cunningham_vw([P[:, 0], P[:, 1], P[:, 2]], R, _SH_DEGREE, NP)
        cols, idx = [], []
        for nn in range(_SH_DEGREE + 1):
            for m in range(nn + 1):
                cols.append(np.asarray(V[nn][m]) * np.ones(n))
                idx.append((0, nn, m))
                if m > 0:
                    cols.append(np.asarray(W[nn][m]) * np.ones(n))
                    idx.append((1, nn, m))
        A = np.stack(cols, axis=1) * (self.gm / R)
        w = 1.0 / u  # relative residuals
        # a 3000 x 121 problem: one OpenBLAS thread solves it in milliseconds, more threads spin
        # for ten times the CPU (the same numbers: measured bit-identical)
        before = limit_threads(1)
        try:
            coef = np.linalg.lstsq(A * w[:, None], u * w, rcond=None)[0]
        finally:
            restore_threads(before)
        C = np.zeros((_SH_DEGREE + 1, _SH_DEGREE + 1))
        S = np.zeros_like(C)
        for (k, nn, m), c in zip(idx, coef):
            (C if k == 0 else S)[nn, m] = c
        return C, S

    # -- kernel arguments ------------------------------------------------------------------------
    @property
    def kernel_args(self):
        """Arguments after (x, y, z) for :func:`grid_accel_point` (before ``out``)."""
        return (self.G, self.R, self.gm, self.dq, self.dlat, self.dlon) + self._sh

    def evaluate(self, points):
        """(U, a, region) at (N, 3) body-fixed points: region 0 grid, 1 SH, -1 inside (not physical)."""
        P = np.ascontiguousarray(np.atleast_2d(np.asarray(points, dtype=float)))
        if P.ndim != 2 or P.shape[1] != 3 or not np.all(np.isfinite(P)):
            raise InputError("GridGravity points", np.shape(points), "finite (N, 3) body-fixed positions in km")
        if np.any(np.linalg.norm(P, axis=1) == 0.0):
            raise InputError("GridGravity points", "the origin", "points outside the body")
        out = np.empty((len(P), 4))
        region = np.empty(len(P), np.int64)
        _eval_many(P, *self.kernel_args, out, region)
        return out[:, 0], out[:, 1:], region

    def acceleration(self, points, inside: str = "raise") -> np.ndarray:
        """Acceleration (km/s², body-fixed) at (N, 3) points. Points inside the body (below
        the interpolated surface) raise InputError (``inside="raise"``) or give NaN (``"nan"``)."""
        if inside not in ("raise", "nan"):
            raise InputError("inside", inside, "'raise' or 'nan'")
        _, a, region = self.evaluate(points)
        bad = region < 0
        if bad.any():
            if inside == "raise":
                raise InputError("GridGravity points", f"{int(bad.sum())} point(s) inside the body",
                                 "points on or above the surface (s = r / R(lat, lon) >= 1)")
            a[bad] = np.nan
        return a

    def potential(self, points) -> np.ndarray:
        """Potential (km²/s², positive); NaN inside the body."""
        u, _, region = self.evaluate(points)
        return np.where(region < 0, np.nan, u)

    # -- surface --------------------------------------------------------------------------------
    def surface_radius(self, lat, lon) -> np.ndarray:
        """Radius (km) of the surface used by the grid at planetocentric lat/lon (rad)."""
        lat, lon = np.broadcast_arrays(np.asarray(lat, float), np.asarray(lon, float))
        d = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)
        h, _, _ = self.altitude(d.reshape(-1, 3))
        return (1.0 - h).reshape(lat.shape)

    def altitude(self, points):
        """(h, lat, lon): radial height above the interpolated surface (km; negative inside) and
        planetocentric latitude/east longitude (rad) of (N, 3) body-fixed points."""
        P = np.ascontiguousarray(np.atleast_2d(np.asarray(points, dtype=float)))
        if P.ndim != 2 or P.shape[1] != 3 or not np.all(np.isfinite(P)):
            raise InputError("GridGravity points", np.shape(points), "finite (N, 3) body-fixed positions in km")
        if np.any(np.linalg.norm(P, axis=1) == 0.0):
            raise InputError("GridGravity points", "the origin", "points away from the origin (lat/lon undefined)")
        h, la, lo = np.empty(len(P)), np.empty(len(P)), np.empty(len(P))
        _altitude_many(P, self.R, self.dlat, self.dlon, h, la, lo)
        return h, la, lo

    def surface_point(self, lat, lon) -> np.ndarray:
        """Body-fixed point (km) of the surface at planetocentric lat/lon (rad)."""
        R = float(self.surface_radius(lat, lon))
        return R * np.array([math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)])

    def surface_normal(self, lat, lon, eps: float = 1e-4) -> np.ndarray:
        """Outward unit normal of the interpolated surface r = R(lat, lon) (central differences of R)."""
        R = float(self.surface_radius(lat, lon))
        dRdlat = float(self.surface_radius(lat + eps, lon) - self.surface_radius(lat - eps, lon)) / (2 * eps)
        dRdlon = float(self.surface_radius(lat, lon + eps) - self.surface_radius(lat, lon - eps)) / (2 * eps)
        up = np.array([math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)])
        north = np.array([-math.sin(lat) * math.cos(lon), -math.sin(lat) * math.sin(lon), math.cos(lat)])
        east = np.array([-math.sin(lon), math.cos(lon), 0.0])
        n = up - dRdlat / R * north - dRdlon / (R * max(math.cos(lat), 1e-12)) * east
        return n / np.linalg.norm(n)

    def describe(self) -> str:
        return (f"interpolation grid of the {self.poly.describe()}: {self.dlat * 180 / math.pi:g} x "
                f"{self.dlon * 180 / math.pi:g} deg, {self.n_radial} radial nodes to s = {self.s_max:g}; "
                f"degree-{_SH_DEGREE} SH beyond")
