"""Ray casting on a shape model: a bounding-volume hierarchy (BVH) over the triangles and the
Möller–Trumbore ray/triangle test, for self-occlusion (visibility) and self-shadowing.

Rays start at a facet centroid raised by a tiny offset along the facet normal (``1e-9`` of the
body's size, so that the facet itself and its convex neighbours cannot be hit) and go either
toward a point (the spacecraft; only hits with ``0 < t < 1`` along ``target - origin`` count)
or along a direction (the Sun; any ``t > 0``).  A ray is *occluded* if it hits any triangle.

Acceleration (exact; none of it changes a result):

* BVH: axis-aligned boxes, full-sweep surface-area-heuristic splits (MacDonald & Booth 1990),
  leaves of at most 4 triangles; any-hit traversal with a stack.  Built once per shape
  (:mod:`mmxsim.bodies.bvh`: a numba loop, ~0.2 s for 50k facets) and cached in ``shape._cache["bvh"]``.
* Horizon bounds: for each facet and each of 16 azimuth sectors of its tangent plane, an upper
  bound on the sine of the elevation of every point of the mesh seen from the centroid (BVH
  traversal; boxes bounded by max height / min distance, triangles by the exact maximum over
  the spherical triangle they subtend).  A ray leaving the facet more steeply than the bound of
  its sector cannot hit anything and is not traced (on the Ernst mesh from a QSO this skips
  ~80 % of the facing rays).  Cached in ``shape._cache`` and on disk (seconds to compute on a
  50k mesh).  Computed with numba only; the NumPy path traces every facing ray.
* Occluder cache: walking the epochs in order, each facet first retries the triangle that
  occluded it last time (a hit is a hit).

With numba (a core dependency) the kernels are serial loops over a range of blocks of facets, spread
over threads by :func:`mmxsim._accel.run_chunks` (compiled in a third of the time of ``prange``
kernels, with the same per-facet arithmetic); without numba (or
with ``MMXSIM_NO_NUMBA=1``) a NumPy version expands (ray, node) pairs level by level -- same
rays, same triangle test, same booleans, much slower.

:func:`brute_force_occluded` tests every ray against every triangle (no BVH), for validation.
"""

from __future__ import annotations

import os

import numpy as np

from ..bodies.shape_distance import closest_on_tri
from .._accel import HAVE_NUMBA  # MMXSIM_NO_NUMBA=1 forces the NumPy fallback
from .._accel import jit as _jit
from .._accel import run_chunks as _run_chunks
from ..bodies.bvh import BVH, LEAF_SIZE, build_bvh, get_bvh  # noqa: F401 (re-exported; moved to bodies)
from ..bodies.bvh import DET_EPS, ray_any_hit, ray_closest, ray_traverse, ray_triangle_t  # noqa: F401
from ..bodies.bvh import first_hits  # noqa: F401 (moved to bodies.bvh; instruments.lidar uses it)

#: origin offset along the facet normal, as a fraction of the body's bounding radius
OFFSET_REL = 1e-9
#: margin on the horizon bound before a ray is declared clear without tracing
CLEAR_MARGIN = 1e-9
_BLOCK = 512  # facets per work item of the ray casts (each keeps its own occluder cache)
_HORIZON_CHUNK = 256  # facets per work item of the horizon bound


def _frame(shape):
    if "facet_frame" not in shape._cache:
        v, f = shape.vertices, shape.faces
        a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
        n = np.cross(b - a, c - a)
        n /= np.linalg.norm(n, axis=1)[:, None]
        cen = (a + b + c) / 3.0
        eps = OFFSET_REL * float(np.max(np.linalg.norm(v, axis=1)))
        ref = np.zeros_like(n)
        ref[np.arange(len(n)), np.argmin(np.abs(n), axis=1)] = 1.0
        t1 = np.cross(n, ref)
        t1 /= np.linalg.norm(t1, axis=1)[:, None]
        t2 = np.cross(n, t1)
        shape._cache["facet_frame"] = (np.ascontiguousarray(cen), np.ascontiguousarray(n),
                                       np.ascontiguousarray(cen + eps * n), np.ascontiguousarray(t1),
                                       np.ascontiguousarray(t2))
    return shape._cache["facet_frame"]


# ---------------------------------------------------------------------------------------------
# Scalar kernels (plain Python on scalars; numba-compiled when available)
def _tri_hit(ox, oy, oz, dx, dy, dz, tmax, tri, k):
    dn = np.sqrt(dx * dx + dy * dy + dz * dz)
    return _mt_hit(ox, oy, oz, dx, dy, dz, dn, tmax, tri[k, 0], tri[k, 1], tri[k, 2], tri[k, 3], tri[k, 4],
                   tri[k, 5], tri[k, 6], tri[k, 7], tri[k, 8], tri[k, 9])


def _mt_hit(ox, oy, oz, dx, dy, dz, dn, tmax, ax, ay, az, e1x, e1y, e1z, e2x, e2y, e2z, e12):
    """Möller–Trumbore hit with 0 < t < tmax (:func:`mmxsim.bodies.bvh.ray_triangle_t`)."""
    t = ray_triangle_t(ox, oy, oz, dx, dy, dz, dn, ax, ay, az, e1x, e1y, e1z, e2x, e2y, e2z, e12)
    return t > 0.0 and t < tmax


def _clear_of(clear, t1, t2, f, dx, dy, dz):
    """The horizon bound of facet f in the azimuth sector of direction d."""
    K = clear.shape[1]
    a = np.arctan2(t2[f, 0] * dx + t2[f, 1] * dy + t2[f, 2] * dz, t1[f, 0] * dx + t1[f, 1] * dy + t1[f, 2] * dz)
    k = int(np.floor((a + np.pi) / (2.0 * np.pi / K)))
    if k >= K:
        k = K - 1
    if k < 0:
        k = 0
    return clear[f, k]


def _occ_impl(orig, nrm, t1, t2, clear, targets, to_point, cand, box, nd, tri, out, nblk, b0, b1):
    """Blocks ``b0:b1`` of the ``nblk`` blocks of facets (:func:`mmxsim._accel.run_chunks` spreads
    the blocks over threads); each walks the epochs in order and first retries the triangle that
    occluded the facet at an earlier epoch (an exact shortcut: a hit is a hit)."""
    N = cand.shape[0]
    F = cand.shape[1]
    bs = (F + nblk - 1) // nblk
    for b in range(b0, b1):
        stack = np.empty(256, np.int64)
        last = np.full(bs, -1, np.int64)  # occluder found at the previous epoch, tried first
        for i in range(N):
            tx = targets[i, 0]
            ty = targets[i, 1]
            tz = targets[i, 2]
            for f in range(b * bs, min(F, (b + 1) * bs)):
                out[i, f] = False
                if not cand[i, f]:
                    continue
                ox = orig[f, 0]
                oy = orig[f, 1]
                oz = orig[f, 2]
                if to_point:
                    dx = tx - ox
                    dy = ty - oy
                    dz = tz - oz
                    tmax = 1.0
                else:
                    dx = tx
                    dy = ty
                    dz = tz
                    tmax = np.inf
                dn = np.sqrt(dx * dx + dy * dy + dz * dz)
                ce = (nrm[f, 0] * dx + nrm[f, 1] * dy + nrm[f, 2] * dz) / dn
                if ce > _clear_of(clear, t1, t2, f, dx, dy, dz) + CLEAR_MARGIN:
                    continue
                j = f - b * bs
                if last[j] >= 0 and _tri_hit(ox, oy, oz, dx, dy, dz, tmax, tri, last[j]):
                    out[i, f] = True
                    continue
                k = ray_any_hit(ox, oy, oz, dx, dy, dz, tmax, box, nd, tri, stack)
                if k >= 0:
                    last[j] = k
                    out[i, f] = True


def _visillum_impl(cen, orig, nrm, t1, t2, clear, sc, sdir, dark, box, nd, tri, vis, lit, nblk, b0, b1):
    """Facing tests and ray casts together, without (N, F) float temporaries.  Work items are
    blocks of facets (here blocks ``b0:b1`` of ``nblk``); each walks the epochs in order and first
    retries the triangle that occluded the facet at an earlier epoch (an exact shortcut: a hit is a hit)."""
    N = sc.shape[0]
    F = cen.shape[0]
    bs = (F + nblk - 1) // nblk
    for b in range(b0, b1):
        stack = np.empty(256, np.int64)
        lastv = np.full(bs, -1, np.int64)
        lastl = np.full(bs, -1, np.int64)
        for i in range(N):
            px = sc[i, 0]
            py = sc[i, 1]
            pz = sc[i, 2]
            sx = sdir[i, 0]
            sy = sdir[i, 1]
            sz = sdir[i, 2]
            for f in range(b * bs, min(F, (b + 1) * bs)):
                j = f - b * bs
                nx = nrm[f, 0]
                ny = nrm[f, 1]
                nz = nrm[f, 2]
                ox = orig[f, 0]
                oy = orig[f, 1]
                oz = orig[f, 2]
                # visibility: facing from the centroid (as facet_geometry), ray from the raised origin
                v_ok = nx * (px - cen[f, 0]) + ny * (py - cen[f, 1]) + nz * (pz - cen[f, 2]) > 0.0
                if v_ok:
                    dx = px - ox
                    dy = py - oy
                    dz = pz - oz
                    dn = np.sqrt(dx * dx + dy * dy + dz * dz)
                    if (nx * dx + ny * dy + nz * dz) / dn <= _clear_of(clear, t1, t2, f, dx, dy, dz) + CLEAR_MARGIN:
                        if lastv[j] >= 0 and _tri_hit(ox, oy, oz, dx, dy, dz, 1.0, tri, lastv[j]):
                            v_ok = False
                        else:
                            k = ray_any_hit(ox, oy, oz, dx, dy, dz, 1.0, box, nd, tri, stack)
                            if k >= 0:
                                lastv[j] = k
                                v_ok = False
                vis[i, f] = v_ok
                ci = nx * sx + ny * sy + nz * sz
                l_ok = ci > 0.0 and not dark[i]
                if l_ok and ci <= _clear_of(clear, t1, t2, f, sx, sy, sz) + CLEAR_MARGIN:
                    if lastl[j] >= 0 and _tri_hit(ox, oy, oz, sx, sy, sz, np.inf, tri, lastl[j]):
                        l_ok = False
                    else:
                        k = ray_any_hit(ox, oy, oz, sx, sy, sz, np.inf, box, nd, tri, stack)
                        if k >= 0:
                            lastl[j] = k
                            l_ok = False
                lit[i, f] = l_ok


def _point_tri_dist2(px, py, pz, ax, ay, az, bx, by, bz, cx, cy, cz):
    """Squared distance from a point to a triangle: the one implementation of Ericson's (2005) Voronoi-region
    test, :func:`mmxsim.bodies.shape_distance.closest_on_tri`."""
    d2, _f, _qx, _qy, _qz = closest_on_tri(px, py, pz, ax, ay, az, bx - ax, by - ay, bz - az,
                                            cx - ax, cy - ay, cz - az)
    return d2


def _tri_max_sin_el(cx, cy, cz, nx, ny, nz, px0, py0, pz0, px1, py1, pz1, px2, py2, pz2):
    """Exact maximum over a triangle of sin(elevation) = n . (p - c) / |p - c|, seen from c.

    Seen from c the triangle is a spherical triangle bounded by great-circle arcs; the maximum of
    n . x over it is 1 if the zenith n points into it, else on an edge: at an endpoint or where
    the projection of n on the arc's great circle falls inside the arc."""
    # zenith inside: the ray c + t n (t > 0) crosses the triangle
    e1x = px1 - px0
    e1y = py1 - py0
    e1z = pz1 - pz0
    e2x = px2 - px0
    e2y = py2 - py0
    e2z = pz2 - pz0
    e12 = np.sqrt(e1x * e1x + e1y * e1y + e1z * e1z) * np.sqrt(e2x * e2x + e2y * e2y + e2z * e2z)
    if _mt_hit(cx, cy, cz, nx, ny, nz, 1.0, np.inf, px0, py0, pz0, e1x, e1y, e1z, e2x, e2y, e2z, e12):
        return 1.0
    best = -1.0
    for q in range(3):
        if q == 0:
            ax, ay, az, bx, by, bz = px0 - cx, py0 - cy, pz0 - cz, px1 - cx, py1 - cy, pz1 - cz
        elif q == 1:
            ax, ay, az, bx, by, bz = px1 - cx, py1 - cy, pz1 - cz, px2 - cx, py2 - cy, pz2 - cz
        else:
            ax, ay, az, bx, by, bz = px2 - cx, py2 - cy, pz2 - cz, px0 - cx, py0 - cy, pz0 - cz
        la = np.sqrt(ax * ax + ay * ay + az * az)
        lb = np.sqrt(bx * bx + by * by + bz * bz)
        ax /= la
        ay /= la
        az /= la
        bx /= lb
        by /= lb
        bz /= lb
        best = max(best, nx * ax + ny * ay + nz * az, nx * bx + ny * by + nz * bz)
        mx = ay * bz - az * by
        my = az * bx - ax * bz
        mz = ax * by - ay * bx
        mm = np.sqrt(mx * mx + my * my + mz * mz)
        if mm <= 0.0:
            continue
        mx /= mm
        my /= mm
        mz /= mm
        nm = nx * mx + ny * my + nz * mz
        qx = nx - nm * mx
        qy = ny - nm * my
        qz = nz - nm * mz
        lq = np.sqrt(qx * qx + qy * qy + qz * qz)
        if lq <= 0.0:
            continue
        qx /= lq
        qy /= lq
        qz /= lq
        # x* inside the arc a -> b: (a x x*) . m >= 0 and (x* x b) . m >= 0
        s1 = (ay * qz - az * qy) * mx + (az * qx - ax * qz) * my + (ax * qy - ay * qx) * mz
        s2 = (qy * bz - qz * by) * mx + (qz * bx - qx * bz) * my + (qx * by - qy * bx) * mz
        if s1 >= 0.0 and s2 >= 0.0:
            best = max(best, lq)
    return min(1.0, best + 1e-12)


def _arc_update(xs, ys, npts, bound, K, m, pad):
    """Azimuth sectors (of K, in the facet's tangent plane) met by the convex hull of the
    points (xs[:npts], ys[:npts]): returns (first sector, number of sectors), wrapping modulo K;
    all K if the hull surrounds the origin or a point projects onto it.  The arc is padded by
    ``pad`` rad on both sides.  (``bound`` and ``m`` are unused; the caller updates m.)"""
    if K == 1:
        return 0, 1
    two_pi = 2.0 * np.pi
    w = two_pi / K
    allk = False
    ang = np.empty(8)
    for q in range(npts):
        r2 = xs[q] * xs[q] + ys[q] * ys[q]
        if r2 <= 0.0:
            allk = True
            break
        ang[q] = np.arctan2(ys[q], xs[q])
    s0 = 0
    ns = K
    if not allk:
        # insertion sort
        for q in range(1, npts):
            x = ang[q]
            r = q - 1
            while r >= 0 and ang[r] > x:
                ang[r + 1] = ang[r]
                r -= 1
            ang[r + 1] = x
        gmax = ang[0] + two_pi - ang[npts - 1]
        j = npts - 1
        for q in range(npts - 1):
            g = ang[q + 1] - ang[q]
            if g > gmax:
                gmax = g
                j = q
        if gmax <= np.pi + 2.0 * pad:
            allk = True
        else:
            a0 = ang[(j + 1) % npts] - pad
            L = two_pi - gmax + 2.0 * pad
            k0 = int(np.floor((a0 + np.pi) / w))
            k1 = int(np.floor((a0 + L + np.pi) / w))
            ns = min(K, k1 - k0 + 1)
            s0 = k0 % K
    return s0, ns


def _horizon_impl(cen, nrm, t1, t2, K, bmin, bmax, left, right, start, count, v0, e1, e2, tri_id, out, f0, f1):
    """Per facet and azimuth sector (K sectors of the tangent plane, from atan2 of the
    components along t1, t2): an upper bound on sin(elevation above the tangent plane) of the
    mesh seen from the centroid.  Element bounds: max height / min distance (boxes: corners and
    box distance; triangles: vertices and exact point-triangle distance).  Facets ``f0:f1``."""
    pad = 1e-9
    n8 = np.int64(8)  # point counts typed int64, not as literals: one compiled _arc_update, not two
    n3 = np.int64(3)
    for f in range(f0, f1):
        stack = np.empty(256, np.int64)
        xs = np.empty(8)
        ys = np.empty(8)
        m = np.zeros(K)
        cx = cen[f, 0]
        cy = cen[f, 1]
        cz = cen[f, 2]
        nx = nrm[f, 0]
        ny = nrm[f, 1]
        nz = nrm[f, 2]
        ax = t1[f, 0]
        ay = t1[f, 1]
        az = t1[f, 2]
        bx_ = t2[f, 0]
        by_ = t2[f, 1]
        bz_ = t2[f, 2]
        hc = nx * cx + ny * cy + nz * cz
        mmin = 0.0
        stack[0] = 0
        sp = 1
        while sp > 0 and mmin < 1.0:
            sp -= 1
            node = stack[sp]
            hmax = (max(nx * bmin[node, 0], nx * bmax[node, 0]) + max(ny * bmin[node, 1], ny * bmax[node, 1])
                    + max(nz * bmin[node, 2], nz * bmax[node, 2])) - hc
            if hmax <= 0.0:
                continue
            gx = max(bmin[node, 0] - cx, 0.0, cx - bmax[node, 0])
            gy = max(bmin[node, 1] - cy, 0.0, cy - bmax[node, 1])
            gz = max(bmin[node, 2] - cz, 0.0, cz - bmax[node, 2])
            dmin = np.sqrt(gx * gx + gy * gy + gz * gz)
            if dmin > 0.0:
                bound = min(1.0, hmax / dmin)
                if bound <= mmin:
                    continue
                for q in range(8):
                    px = (bmax[node, 0] if q & 1 else bmin[node, 0]) - cx
                    py = (bmax[node, 1] if q & 2 else bmin[node, 1]) - cy
                    pz = (bmax[node, 2] if q & 4 else bmin[node, 2]) - cz
                    xs[q] = px * ax + py * ay + pz * az
                    ys[q] = px * bx_ + py * by_ + pz * bz_
                s0, ns = _arc_update(xs, ys, n8, bound, K, m, pad)
                need = False
                for r in range(ns):
                    if m[(s0 + r) % K] < bound:
                        need = True
                        break
                if not need:
                    continue
            if left[node] >= 0:
                l = left[node]
                r = right[node]
                dl = 0.0
                dr = 0.0
                for k in range(3):
                    c = cen[f, k]
                    dl += max(bmin[l, k] - c, 0.0, c - bmax[l, k]) ** 2
                    dr += max(bmin[r, k] - c, 0.0, c - bmax[r, k]) ** 2
                if dl <= dr:
                    stack[sp] = r
                    stack[sp + 1] = l
                else:
                    stack[sp] = l
                    stack[sp + 1] = r
                sp += 2
                continue
            for k in range(start[node], start[node] + count[node]):
                if tri_id[k] == f:
                    continue
                px0 = v0[k, 0]
                py0 = v0[k, 1]
                pz0 = v0[k, 2]
                px1 = px0 + e1[k, 0]
                py1 = py0 + e1[k, 1]
                pz1 = pz0 + e1[k, 2]
                px2 = px0 + e2[k, 0]
                py2 = py0 + e2[k, 1]
                pz2 = pz0 + e2[k, 2]
                h = max(nx * px0 + ny * py0 + nz * pz0, nx * px1 + ny * py1 + nz * pz1,
                        nx * px2 + ny * py2 + nz * pz2) - hc
                if h <= 0.0:
                    continue
                d2 = _point_tri_dist2(cx, cy, cz, px0, py0, pz0, px1, py1, pz1, px2, py2, pz2)
                b = 1.0 if d2 <= 0.0 else min(1.0, h / np.sqrt(d2))
                if b <= mmin:
                    continue
                b = min(b, _tri_max_sin_el(cx, cy, cz, nx, ny, nz, px0, py0, pz0, px1, py1, pz1, px2, py2, pz2))
                if b <= mmin:
                    continue
                xs[0] = (px0 - cx) * ax + (py0 - cy) * ay + (pz0 - cz) * az
                ys[0] = (px0 - cx) * bx_ + (py0 - cy) * by_ + (pz0 - cz) * bz_
                xs[1] = (px1 - cx) * ax + (py1 - cy) * ay + (pz1 - cz) * az
                ys[1] = (px1 - cx) * bx_ + (py1 - cy) * by_ + (pz1 - cz) * bz_
                xs[2] = (px2 - cx) * ax + (py2 - cy) * ay + (pz2 - cz) * az
                ys[2] = (px2 - cx) * bx_ + (py2 - cy) * by_ + (pz2 - cz) * bz_
                s0, ns = _arc_update(xs, ys, n3, b, K, m, pad)
                for r in range(ns):
                    q = (s0 + r) % K
                    if m[q] < b:
                        m[q] = b
                mmin = m[0]
                for q in range(1, K):
                    mmin = min(mmin, m[q])
        for q in range(K):
            out[f, q] = m[q]


if HAVE_NUMBA:  # compiled on first call (no fastmath; cached on disk by numba)
    _mt_hit = _jit(_mt_hit, inline=True)
    _point_tri_dist2 = _jit(_point_tri_dist2, inline=True)
    _arc_update = _jit(_arc_update)
    _tri_max_sin_el = _jit(_tri_max_sin_el)
    _clear_of = _jit(_clear_of, inline=True)
    _tri_hit = _jit(_tri_hit, inline=True)
    # serial kernels over ranges of facet blocks, spread over threads by run_chunks (a third of the
    # compile time of parallel=True builds; the same per-facet arithmetic)
    _KERNELS = {"occ": _jit(_occ_impl), "visillum": _jit(_visillum_impl), "horizon": _jit(_horizon_impl)}
else:
    _KERNELS = {}


def _kernel(which: str):
    return _KERNELS[which]


HORIZON_SECTORS = 16


_HORIZON_VERSION = "1"


def _cache_dir() -> str:
    from ..files import cache_dir

    return str(cache_dir())


def horizon_bound(shape, sectors: int = HORIZON_SECTORS, disk_cache: bool = True) -> np.ndarray:
    """(F, K) upper bound on sin(elevation) of the mesh above each facet's tangent plane, seen
    from its centroid, in K azimuth sectors; a ray leaving the facet more steeply than the bound
    of its sector cannot hit the mesh.  1 (no bound) without numba.

    Cached in ``shape._cache`` and on disk (``$MMXSIM_CACHE_DIR`` or ``$XDG_CACHE_HOME/mmxsim``,
    as the gravity grids; keyed by a hash of the mesh), since it costs seconds on a 50k mesh; one
    process at a time builds it (:func:`mmxsim.files.build_lock`), another waits and reads it."""
    key = ("horizon", sectors)
    if key in shape._cache:
        return shape._cache[key]
    cen, nrm, _, t1, t2 = _frame(shape)
    if not HAVE_NUMBA:
        out = np.ones((len(cen), sectors))
        shape._cache[key] = out
        return out
    import hashlib

    h = hashlib.sha256()
    h.update(_HORIZON_VERSION.encode())
    h.update(np.ascontiguousarray(shape.vertices).tobytes())
    h.update(np.ascontiguousarray(shape.faces).tobytes())
    h.update(repr((sectors, OFFSET_REL)).encode())
    path = os.path.join(_cache_dir(), f"horizon-{h.hexdigest()[:20]}.npy")
    from ..files import build_lock

    def load():
        if not (disk_cache and os.path.exists(path)):
            return None
        try:
            got = np.load(path)
        except (OSError, ValueError):
            return None
        return got if got.shape == (len(cen), sectors) else None

    out = load()
    if out is None:
        with build_lock(path if disk_cache else None) as waited:  # one builder at a time; the others read its file
            out = load() if waited else None
            if out is None:
                bvh = get_bvh(shape)
                out = np.empty((len(cen), sectors))
                F = len(cen)
                _run_chunks(_kernel("horizon"), (cen, nrm, t1, t2, sectors, *bvh.arrays, bvh.tri_id, out), F,
                            -(-F // _HORIZON_CHUNK))
                if disk_cache:
                    try:
                        os.makedirs(os.path.dirname(path), exist_ok=True)
                        tmp = path + f".{os.getpid()}.tmp.npy"
                        np.save(tmp, out)
                        os.replace(tmp, path)
                    except OSError:  # a read-only cache is not an error
                        pass
    shape._cache[key] = out
    return out


# ---------------------------------------------------------------------------------------------
# NumPy implementations
def _mt_numpy(o, d, tmax, v0, e1, e2):
    """Vectorised Möller–Trumbore: rows of o, d (R,3), tmax (R,), triangles (R,3) -> hit (R,)."""
    p = np.cross(d, e2)
    det = np.einsum("ij,ij->i", e1, p)
    dn = np.linalg.norm(d, axis=1)
    scale = np.linalg.norm(e1, axis=1) * np.linalg.norm(e2, axis=1) * dn
    ok = np.abs(det) > DET_EPS * scale
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / det
        s = o - v0
        u = np.einsum("ij,ij->i", s, p) * inv
        q = np.cross(s, e1)
        v = np.einsum("ij,ij->i", d, q) * inv
        t = np.einsum("ij,ij->i", e2, q) * inv
        return ok & (u >= 0.0) & (u <= 1.0) & (v >= 0.0) & (u + v <= 1.0) & (t > 0.0) & (t < tmax)


def _any_hit_numpy(o, d, tmax, bvh: BVH, chunk: int = 200_000) -> np.ndarray:
    """BVH any-hit traversal for R rays at once, expanding (ray, node) pairs level by level."""
    R = len(o)
    hit = np.zeros(R, bool)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        inv = 1.0 / d
    for r0 in range(0, R, chunk):
        ray = np.arange(r0, min(R, r0 + chunk))
        node = np.zeros(len(ray), np.int64)
        while len(ray):
            oo, dd, ii = o[ray], d[ray], inv[ray]
            with np.errstate(invalid="ignore", over="ignore"):
                lo = (bvh.bmin[node] - oo) * ii
                hi = (bvh.bmax[node] - oo) * ii
            tl = np.minimum(lo, hi)
            th = np.maximum(lo, hi)
            zero = dd == 0.0
            inside = (oo >= bvh.bmin[node]) & (oo <= bvh.bmax[node])
            tl = np.where(zero, np.where(inside, -np.inf, np.inf), tl)
            th = np.where(zero, np.where(inside, np.inf, -np.inf), th)
            t0 = np.maximum(0.0, tl.max(axis=1))
            t1 = np.minimum(tmax[ray], th.min(axis=1))
            keep = (t0 <= t1 * (1.0 + 1e-12) + 1e-300) & ~hit[ray]
            ray, node = ray[keep], node[keep]
            leaf = bvh.left[node] < 0
            # leaves: expand to (ray, triangle) pairs and test
            lr, ln = ray[leaf], node[leaf]
            if len(lr):
                cnt = bvh.count[ln]
                rr = np.repeat(lr, cnt)
                first = np.repeat(bvh.start[ln] - np.cumsum(cnt) + cnt, cnt)
                kk = first + np.arange(len(rr))
                h = _mt_numpy(o[rr], d[rr], tmax[rr], bvh.v0[kk], bvh.e1[kk], bvh.e2[kk])
                hit[rr[h]] = True
            ir, inn = ray[~leaf], node[~leaf]
            ray = np.concatenate([ir, ir])
            node = np.concatenate([bvh.left[inn], bvh.right[inn]])
            keep = ~hit[ray]
            ray, node = ray[keep], node[keep]
    return hit


def _rays(shape, targets, cand, to_point):
    cen, nrm, orig, t1, t2 = _frame(shape)
    ii, ff = np.nonzero(cand)
    o = orig[ff]
    if to_point:
        d = targets[ii] - o
        tmax = np.ones(len(ii))
    else:
        d = np.array(targets[ii], float)
        tmax = np.full(len(ii), np.inf)
    return ii, ff, o, d, tmax


# ---------------------------------------------------------------------------------------------
# Public (package-private) calls
def _c(a, dtype):
    """``a`` as a C-contiguous, writable array of ``dtype`` (copied only where needed), so that the
    kernels see one set of argument types (numba compiles read-only arrays separately)."""
    a = np.ascontiguousarray(a, dtype)
    return a if a.flags.writeable else a.copy()


def _check(shape, targets, candidates):
    t = _c(np.atleast_2d(np.asarray(targets, float)), float)
    c = _c(np.atleast_2d(np.asarray(candidates, bool)), bool)
    if c.shape != (len(t), len(shape.faces)):
        from ..errors import InputError

        raise InputError("candidates", c.shape, f"(N, F) = ({len(t)}, {len(shape.faces)}) booleans")
    return t, c


def occluded(shape, centroids, targets, candidates, to_point: bool, backend: str | None = None) -> np.ndarray:
    """(N, F) bool: True where the ray from facet f (a candidate at epoch i) toward
    ``targets[i]`` (a point if ``to_point``, else a direction) hits the mesh.

    ``centroids`` is accepted for the caller's convenience; the ray origins are the shape's own
    facet centroids raised by ``OFFSET_REL`` along the normal.  ``backend``: "numba", "numpy"
    or None (numba when available)."""
    t, cand = _check(shape, targets, candidates)
    backend = backend or ("numba" if HAVE_NUMBA else "numpy")
    N, F = cand.shape
    if backend == "numba":
        cen, nrm, orig, t1, t2 = _frame(shape)
        bvh = get_bvh(shape)
        clear = horizon_bound(shape)
        out = np.empty((N, F), bool)
        nblk = max(1, -(-F // _BLOCK))
        _run_chunks(_kernel("occ"), (orig, nrm, t1, t2, clear, t, bool(to_point), cand, *bvh.packed, out, nblk),
                    nblk, nblk)
        return out
    out = np.zeros((N, F), bool)
    ii, ff, o, d, tmax = _rays(shape, t, cand, to_point)
    out[ii, ff] = _any_hit_numpy(o, d, tmax, get_bvh(shape))
    return out


def brute_force_occluded(shape, targets, candidates, to_point: bool) -> np.ndarray:
    """Reference for the tests: every candidate ray against every triangle (no BVH), with the
    same ray origins and the same Möller–Trumbore test."""
    t, cand = _check(shape, targets, candidates)
    out = np.zeros(cand.shape, bool)
    ii, ff, o, d, tmax = _rays(shape, t, cand, to_point)
    v, f = shape.vertices, shape.faces
    a = v[f[:, 0]]
    e1 = v[f[:, 1]] - a
    e2 = v[f[:, 2]] - a
    T = len(f)
    for k in range(len(ii)):
        h = _mt_numpy(np.broadcast_to(o[k], (T, 3)), np.broadcast_to(d[k], (T, 3)), np.full(T, tmax[k]), a, e1, e2)
        out[ii[k], ff[k]] = bool(h.any())
    return out


def visibility_illumination_arrays(shape, sc, sdir, dark, backend: str | None = None):
    """(visible, illuminated) (N, F) bool for spacecraft positions ``sc`` (N,3), unit Sun
    directions ``sdir`` (N,3) and a per-epoch darkness flag ``dark`` (N,) (Mars eclipse)."""
    backend = backend or ("numba" if HAVE_NUMBA else "numpy")
    cen, nrm, orig, t1, t2 = _frame(shape)
    N, F = len(sc), len(cen)
    if backend == "numba":
        bvh = get_bvh(shape)
        clear = horizon_bound(shape)
        vis = np.empty((N, F), bool)
        lit = np.empty((N, F), bool)
        nblk = max(1, -(-F // _BLOCK))
        _run_chunks(_kernel("visillum"), (cen, orig, nrm, t1, t2, clear, _c(sc, float), _c(sdir, float),
                                          _c(dark, bool), *bvh.packed, vis, lit, nblk), nblk, nblk)
        return vis, lit
    vis = np.empty((N, F), bool)
    lit = np.empty((N, F), bool)
    step = max(1, 2_000_000 // F)
    for i0 in range(0, N, step):
        s = slice(i0, min(N, i0 + step))
        cv = np.einsum("fk,nfk->nf", nrm, sc[s, None, :] - cen[None, :, :]) > 0.0
        cl = (sdir[s] @ nrm.T > 0.0) & ~np.asarray(dark[s], bool)[:, None]
        vis[s] = cv & ~occluded(shape, cen, sc[s], cv, True, "numpy")
        lit[s] = cl & ~occluded(shape, cen, sdir[s], cl, False, "numpy")
    return vis, lit
