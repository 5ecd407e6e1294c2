"""Bounding-volume hierarchy (BVH) over the triangles of a shape model.

Shared by the ray casting of :mod:`mmxsim.instruments._raycast` (visibility, shadows) and the
exact surface distance of :mod:`mmxsim.bodies.shape_distance` (altitude, impacts).  Axis-aligned
boxes, full-sweep surface-area-heuristic splits (MacDonald & Booth 1990), leaves of at most
``LEAF_SIZE`` triangles.  Built by a numba loop (``_sah_impl``: 0.16 s CPU for 50k facets) or, without
numba, by the same algorithm in NumPy (~1.8 s; the same tree, compared in tests/bodies/test_bvh.py),
and cached in ``shape._cache``.  The ray casts of :mod:`mmxsim.gravity.fast` use it too.

Ray traversal, written once for any-hit (occlusion: is anything on the segment?) and closest-hit
(first intersection): :func:`ray_traverse` (stack traversal with the slab test
:func:`ray_hits_box` and the Möller–Trumbore test :func:`ray_triangle_t`), wrapped as
:func:`ray_any_hit` and :func:`ray_closest`; scalar kernels, numba through :mod:`mmxsim._accel`.  Batched over rays:
:func:`first_hits` (closest hit of many rays, threads over chunks of rays; used by the instruments' LIDAR and the
navigation's landmark and altimetry models) and :func:`any_hits` (occlusion of many segments).
"""

from __future__ import annotations

import numpy as np

from .._accel import HAVE_NUMBA, jit, run_chunks

LEAF_SIZE = 4


class BVH:
    """Flattened BVH: node boxes, children (-1 for a leaf), leaf triangle ranges; triangles in
    BVH order as (v0, e1 = v1 - v0, e2 = v2 - v0) with ``tri_id`` their original index."""

    def __init__(self, bmin, bmax, left, right, start, count, v0, e1, e2, tri_id):
        self.bmin, self.bmax, self.left, self.right = bmin, bmax, left, right
        self.start, self.count = start, count
        self.v0, self.e1, self.e2, self.tri_id = v0, e1, e2, tri_id
        # packed for the compiled kernels: box (M, 6) = min, max; nd (M, 2) = (left child, -) for
        # an inner node (right child = left + 1) or (-(start + 1), count) for a leaf;
        # tri (T, 10) = v0, e1, e2, |e1||e2|
        self.box = np.ascontiguousarray(np.hstack([bmin, bmax]))
        assert np.all((left < 0) | (right == left + 1))
        self.nd = np.ascontiguousarray(np.stack([np.where(left >= 0, left, -(start + 1)), count], axis=1))
        e12 = np.linalg.norm(e1, axis=1) * np.linalg.norm(e2, axis=1)
        self.tri = np.ascontiguousarray(np.hstack([v0, e1, e2, e12[:, None]]))

    @property
    def arrays(self):
        return (self.bmin, self.bmax, self.left, self.right, self.start, self.count, self.v0, self.e1,
                self.e2)

    @property
    def packed(self):
        return self.box, self.nd, self.tri

    @property
    def n_nodes(self):
        return len(self.left)


def _argsort_stable(key, n, o, tmp, kv, kt):
    """``o[:n]`` = the indices that sort ``key[:n]`` ascending, equal keys in index order (the
    permutation of NumPy's stable argsort): insertion sort of runs of 16, then bottom-up merges that
    take the left run's element on ties; the keys travel with the indices (``kv``, ``kt``: float
    work arrays, ``tmp``: int). numba's own ``np.argsort(kind="mergesort")`` compiled in ~1.5 s."""
    for q in range(n):
        o[q] = q
        kv[q] = key[q]
    for lo in range(0, n, 16):
        hi = min(lo + 16, n)
        for q in range(lo + 1, hi):
            x = kv[q]
            ix = o[q]
            r = q - 1
            while r >= lo and kv[r] > x:
                kv[r + 1] = kv[r]
                o[r + 1] = o[r]
                r -= 1
            kv[r + 1] = x
            o[r + 1] = ix
    w = 16
    while w < n:
        lo = 0
        while lo < n - w:
            mid = lo + w
            hi = min(lo + 2 * w, n)
            i = lo
            j = mid
            t = lo
            while i < mid and j < hi:
                if kv[j] < kv[i]:
                    kt[t] = kv[j]
                    tmp[t] = o[j]
                    j += 1
                else:
                    kt[t] = kv[i]
                    tmp[t] = o[i]
                    i += 1
                t += 1
            while i < mid:
                kt[t] = kv[i]
                tmp[t] = o[i]
                i += 1
                t += 1
            while j < hi:
                kt[t] = kv[j]
                tmp[t] = o[j]
                j += 1
                t += 1
            for q in range(lo, hi):
                kv[q] = kt[q]
                o[q] = tmp[q]
            lo += 2 * w
        w *= 2


def _sah_impl(tmin, tmax, cen, leaf_size, bmin, bmax, left, right, start, count, order):
    """The SAH build of :func:`build_bvh` as a compiled loop (the same nodes in the same order,
    the same stable sorts, costs and first-minimum choice; numba): fills the node arrays and
    ``order`` (the triangles in BVH order) and returns the number of nodes."""
    T = tmin.shape[0]
    stk = np.empty((2 * T + 2, 3), np.int64)
    stk[0, 0] = 0
    stk[0, 1] = 0
    stk[0, 2] = T
    sp = 1
    n_nodes = 1
    key = np.empty(T)
    lo = np.empty((T, 3))
    hi = np.empty((T, 3))
    pl = np.empty(3)
    ph = np.empty(3)
    best_o = np.empty(T, np.int64)
    perm = np.empty(T, np.int64)
    o = np.empty(T, np.int64)
    tmp = np.empty(T, np.int64)
    kv = np.empty(T)
    kt = np.empty(T)
    while sp > 0:
        sp -= 1
        node = stk[sp, 0]
        s = stk[sp, 1]
        e = stk[sp, 2]
        for ax in range(3):
            mn = tmin[order[s], ax]
            mx = tmax[order[s], ax]
            for q in range(s + 1, e):
                mn = min(mn, tmin[order[q], ax])
                mx = max(mx, tmax[order[q], ax])
            bmin[node, ax] = mn
            bmax[node, ax] = mx
        n = e - s
        if n <= leaf_size:
            start[node] = s
            count[node] = n
            continue
        best_cost = np.inf
        best_mid = 0
        cost_r = np.empty(n - 1)
        for axis in range(3):
            for q in range(n):
                key[q] = cen[order[s + q], axis]
            _argsort_stable(key, n, o, tmp, kv, kt)
            for q in range(n):
                t = order[s + o[q]]
                for c in range(3):
                    lo[q, c] = tmin[t, c]
                    hi[q, c] = tmax[t, c]
            # right-hand part: suffix boxes of q+1..n-1 (NumPy: accumulate over the reversed arrays)
            for c in range(3):
                pl[c] = lo[n - 1, c]
                ph[c] = hi[n - 1, c]
            for q in range(n - 2, -1, -1):  # boxes of the triangles q+1..n-1, for the split after q
                d0 = ph[0] - pl[0]
                d1 = ph[1] - pl[1]
                d2 = ph[2] - pl[2]
                cost_r[q] = d0 * d1 + d1 * d2 + d2 * d0
                for c in range(3):
                    pl[c] = min(pl[c], lo[q, c])
                    ph[c] = max(ph[c], hi[q, c])
            for c in range(3):
                pl[c] = lo[0, c]
                ph[c] = hi[0, c]
            j = -1
            cj = np.inf
            for q in range(n - 1):  # split after q: left 0..q (q + 1 triangles), right q+1..n-1
                if q > 0:
                    for c in range(3):
                        pl[c] = min(pl[c], lo[q, c])
                        ph[c] = max(ph[c], hi[q, c])
                d0 = ph[0] - pl[0]
                d1 = ph[1] - pl[1]
                d2 = ph[2] - pl[2]
                al = d0 * d1 + d1 * d2 + d2 * d0
                k = q + 1
                cost = al * k + cost_r[q] * (n - k)
                if j < 0 or cost < cj:  # the first minimum, as np.argmin
                    j = q
                    cj = cost
            if cj < best_cost:
                best_cost = cj
                best_mid = j + 1
                for q in range(n):
                    best_o[q] = o[q]
        for q in range(n):
            perm[q] = order[s + best_o[q]]
        for q in range(n):
            order[s + q] = perm[q]
        mid = best_mid
        l = n_nodes
        r = n_nodes + 1
        n_nodes += 2
        left[node] = l
        right[node] = r
        stk[sp, 0] = r
        stk[sp, 1] = s + mid
        stk[sp, 2] = e
        stk[sp + 1, 0] = l
        stk[sp + 1, 1] = s
        stk[sp + 1, 2] = s + mid
        sp += 2
    return n_nodes


_argsort_stable = jit(_argsort_stable)
_sah_kernel = jit(_sah_impl)


def compiled_ready(kernel, args) -> bool:
    """Whether numba ``kernel`` runs on ``args`` without compiling now: compiled in this process
    or found in numba's disk cache (where :mod:`mmxsim.mission.warmup` puts the listed kernels in
    a run's background). Where a kernel's NumPy twin costs less than its compilation, the callers
    take the twin until then (the same numbers), so that a cold run never pays more than before."""
    if not HAVE_NUMBA or not hasattr(kernel, "signatures"):
        return False
    if kernel.signatures:
        return True
    try:  # numba's own lookup of a cached overload (what Dispatcher.compile tries first)
        from numba import typeof

        return kernel._cache.load_overload(tuple(typeof(a) for a in args), kernel.targetctx) is not None
    except Exception:  # noqa: BLE001 - another numba version: the NumPy twin, as before
        return False


def build_bvh(vertices, faces, leaf_size: int = LEAF_SIZE, sah: bool = True, backend: str | None = None) -> BVH:
    """Build a BVH: full-sweep surface-area-heuristic split (MacDonald & Booth 1990) over the
    three axes, or with ``sah=False`` the median split on the longest centroid-bound axis.
    ``backend`` of the SAH build: "numba" (compiled), "numpy" or None (numba once compiled or
    in numba's disk cache, else NumPy); the same tree either way."""
    v = np.asarray(vertices, float)
    f = np.asarray(faces, np.int64)
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    tmin = np.minimum(np.minimum(a, b), c)
    tmax = np.maximum(np.maximum(a, b), c)
    cen = (a + b + c) / 3.0
    T = len(f)
    order = np.arange(T)
    cap = 2 * T + 1
    bmin = np.empty((cap, 3))
    bmax = np.empty((cap, 3))
    left = np.full(cap, -1, np.int64)
    right = np.full(cap, -1, np.int64)
    start = np.zeros(cap, np.int64)
    count = np.zeros(cap, np.int64)
    n_nodes = 1
    stack = [(0, 0, T)]
    args = (tmin, tmax, cen, int(leaf_size), bmin, bmax, left, right, start, count, order)
    # the same build as the loop below, compiled (0.16 s CPU for 50k facets instead of 1.8 s); its
    # compilation (~3 s) costs more than the NumPy build, so it is left to mission.warmup
    if backend not in (None, "numba", "numpy"):
        from ..errors import InputError

        raise InputError("build_bvh backend", backend, "numba, numpy or None")
    use = HAVE_NUMBA and (backend == "numba" or (backend is None and compiled_ready(_sah_kernel, args)))
    if sah and T > 0 and use:
        n_nodes = _sah_kernel(*args)
        stack = []
    while stack:
        node, s, e = stack.pop()
        idx = order[s:e]
        bmin[node] = tmin[idx].min(axis=0)
        bmax[node] = tmax[idx].max(axis=0)
        if e - s <= leaf_size:
            start[node], count[node] = s, e - s
            continue
        if sah:
            best = (np.inf, 0, 0, None)
            for axis in range(3):
                o = np.argsort(cen[idx, axis], kind="stable")
                lo, hi = tmin[idx[o]], tmax[idx[o]]
                pl = np.minimum.accumulate(lo)[:-1]
                ph = np.maximum.accumulate(hi)[:-1]
                sl = np.minimum.accumulate(lo[::-1])[::-1][1:]
                sh = np.maximum.accumulate(hi[::-1])[::-1][1:]
                dl, dr = ph - pl, sh - sl
                al = dl[:, 0] * dl[:, 1] + dl[:, 1] * dl[:, 2] + dl[:, 2] * dl[:, 0]
                ar = dr[:, 0] * dr[:, 1] + dr[:, 1] * dr[:, 2] + dr[:, 2] * dr[:, 0]
                k = np.arange(1, e - s)
                cost = al * k + ar * (e - s - k)
                j = int(np.argmin(cost))
                if cost[j] < best[0]:
                    best = (cost[j], axis, j + 1, o)
            mid = best[2]
            order[s:e] = idx[best[3]]
        else:
            cc = cen[idx]
            axis = int(np.argmax(cc.max(axis=0) - cc.min(axis=0)))
            mid = (e - s) // 2
            part = np.argpartition(cc[:, axis], mid)
            order[s:e] = idx[part]
        l, r = n_nodes, n_nodes + 1
        n_nodes += 2
        left[node], right[node] = l, r
        stack.append((r, s + mid, e))
        stack.append((l, s, s + mid))
    tri = order
    return BVH(bmin[:n_nodes].copy(), bmax[:n_nodes].copy(), left[:n_nodes].copy(), right[:n_nodes].copy(),
               start[:n_nodes].copy(), count[:n_nodes].copy(), np.ascontiguousarray(a[tri]),
               np.ascontiguousarray(b[tri] - a[tri]), np.ascontiguousarray(c[tri] - a[tri]), tri)


def get_bvh(shape) -> BVH:
    """The shape's BVH, built on first use and cached in ``shape._cache``."""
    if "bvh" not in shape._cache:
        shape._cache["bvh"] = build_bvh(shape.vertices, shape.faces)
    return shape._cache["bvh"]


# ---------------------------------------------------------------------------------------------
# Ray traversal (scalar kernels on the packed arrays ``box, nd, tri``)
#: parallel-ray threshold on the Möller–Trumbore determinant, relative to |e1||e2||d|
DET_EPS = 1e-14


def ray_triangle_t(ox, oy, oz, dx, dy, dz, dn, ax, ay, az, e1x, e1y, e1z, e2x, e2y, e2z, e12):
    """Möller & Trumbore (1997, J. Graphics Tools 2, 21) ray/triangle test: the ray parameter t of
    the hit of o + t d with the triangle (a, a + e1, a + e2), or -1 for a miss; ``e12`` = |e1| |e2|,
    ``dn`` = |d| (for the relative parallel-ray threshold)."""
    px = dy * e2z - dz * e2y
    py = dz * e2x - dx * e2z
    pz = dx * e2y - dy * e2x
    det = e1x * px + e1y * py + e1z * pz
    if abs(det) <= DET_EPS * e12 * dn:
        return -1.0
    inv = 1.0 / det
    sx = ox - ax
    sy = oy - ay
    sz = oz - az
    u = (sx * px + sy * py + sz * pz) * inv
    if u < 0.0 or u > 1.0:
        return -1.0
    qx = sy * e1z - sz * e1y
    qy = sz * e1x - sx * e1z
    qz = sx * e1y - sy * e1x
    v = (dx * qx + dy * qy + dz * qz) * inv
    if v < 0.0 or u + v > 1.0:
        return -1.0
    return (e2x * qx + e2y * qy + e2z * qz) * inv


def _slab(o, d, inv, bmin, bmax, t0, t1):
    """One axis of the slab test: (inside, t0, t1) with the ray interval [t0, t1] clipped to the
    slab bmin <= o + t d <= bmax (inv = 1/d; d = 0: inside the slab or not)."""
    if d != 0.0:
        lo = (bmin - o) * inv
        hi = (bmax - o) * inv
        return True, max(t0, min(lo, hi)), min(t1, max(lo, hi))
    return not (o < bmin or o > bmax), t0, t1


def ray_hits_box(ox, oy, oz, dx, dy, dz, ix, iy, iz, tmax, box, node):
    """Slab test: does the ray o + t d, 0 <= t <= tmax, meet the box of ``node``? (i = 1/d, 0 for
    a zero direction component.)"""
    ok, t0, t1 = _slab(ox, dx, ix, box[node, 0], box[node, 3], 0.0, tmax)
    if not ok:
        return False
    ok, t0, t1 = _slab(oy, dy, iy, box[node, 1], box[node, 4], t0, t1)
    if not ok:
        return False
    ok, t0, t1 = _slab(oz, dz, iz, box[node, 2], box[node, 5], t0, t1)
    if not ok:
        return False
    return not t0 > t1 * (1.0 + 1e-12) + 1e-300


def ray_traverse(ox, oy, oz, dx, dy, dz, tmax, first, box, nd, tri, stack):
    """(t, k) of a triangle hit by the ray o + t d, 0 < t < tmax (k in BVH order), or (tmax, -1).
    ``first``: the first hit found (any-hit); otherwise the nearest (closest-hit: the ray is
    shortened to the best hit so far). ``stack``: int64 work array deeper than the tree."""
    ix = 1.0 / dx if dx != 0.0 else 0.0
    iy = 1.0 / dy if dy != 0.0 else 0.0
    iz = 1.0 / dz if dz != 0.0 else 0.0
    dn = np.sqrt(dx * dx + dy * dy + dz * dz)
    best = tmax
    kbest = -1
    stack[0] = 0
    sp = 1
    while sp > 0:
        sp -= 1
        node = stack[sp]
        if not ray_hits_box(ox, oy, oz, dx, dy, dz, ix, iy, iz, best, box, node):
            continue
        c = nd[node, 0]
        if c >= 0:
            stack[sp] = c + 1
            stack[sp + 1] = c
            sp += 2
            continue
        for k in range(-c - 1, -c - 1 + nd[node, 1]):
            t = ray_triangle_t(ox, oy, oz, dx, dy, dz, dn, tri[k, 0], tri[k, 1], tri[k, 2], tri[k, 3], tri[k, 4],
                               tri[k, 5], tri[k, 6], tri[k, 7], tri[k, 8], tri[k, 9])
            if t > 0.0 and t < best:
                if first:
                    return t, k
                best = t
                kbest = k
    return best, kbest


def ray_any_hit(ox, oy, oz, dx, dy, dz, tmax, box, nd, tri, stack):
    """Index (BVH order) of a triangle hit by the ray o + t d, 0 < t < tmax, or -1 (any-hit)."""
    return ray_traverse(ox, oy, oz, dx, dy, dz, tmax, np.bool_(True), box, nd, tri, stack)[1]


def ray_closest(ox, oy, oz, dx, dy, dz, box, nd, tri, stack):
    """(t, k) of the nearest triangle hit by the ray o + t d, t > 0 (k in BVH order), or
    (inf, -1) (closest-hit)."""
    return ray_traverse(ox, oy, oz, dx, dy, dz, np.float64(np.inf), np.bool_(False), box, nd, tri, stack)


ray_triangle_t = jit(ray_triangle_t, inline=True)
_slab = jit(_slab, inline=True)
ray_hits_box = jit(ray_hits_box, inline=True)
# one compiled traversal for both wrappers (``first`` and ``tmax`` typed as plain bool and float64,
# not as literals): inlining it into each, as before, compiled it twice
ray_traverse = jit(ray_traverse)
ray_any_hit = jit(ray_any_hit)
ray_closest = jit(ray_closest)


# ---------------------------------------------------------------------------------------------
# Batched rays (moved here from instruments._raycast so that navigation can use them too)
def _first_hits_impl(O, D, box, nd, tri, tri_id, t_out, f_out, i0, i1):
    stack = np.empty(256, np.int64)
    for i in range(i0, i1):
        t, k = ray_closest(O[i, 0], O[i, 1], O[i, 2], D[i, 0], D[i, 1], D[i, 2], box, nd, tri, stack)
        t_out[i] = t
        f_out[i] = tri_id[k] if k >= 0 else -1


def _any_hits_impl(O, D, T, box, nd, tri, out, i0, i1):
    stack = np.empty(256, np.int64)
    for i in range(i0, i1):
        out[i] = ray_any_hit(O[i, 0], O[i, 1], O[i, 2], D[i, 0], D[i, 1], D[i, 2], T[i], box, nd, tri, stack) >= 0


# serial kernels over a range of rays, spread over threads by run_chunks (compiled in a third of the
# time of prange kernels; the same per-ray arithmetic)
_first_hits_kernel = jit(_first_hits_impl)
_any_hits_kernel = jit(_any_hits_impl)
_RAYS_PER_CHUNK = 256


def _spread(kernel, args, n):
    run_chunks(kernel, args, n, -(-n // _RAYS_PER_CHUNK))


def _writable(a):
    """``a`` (C-contiguous) itself if writable, else a copy: the kernels then see one set of argument
    types (numba compiles a version for read-only arrays of its own)."""
    return a if a.flags.writeable else a.copy()


def _rays_in(origins, directions):
    O = _writable(np.ascontiguousarray(np.atleast_2d(np.asarray(origins, float))))
    D = _writable(np.ascontiguousarray(np.broadcast_to(np.atleast_2d(np.asarray(directions, float)), O.shape)))
    return O, D


def first_hits(shape, origins, directions, backend: str | None = None):
    """Closest intersection of rays with the mesh: (t (R,), facet (R,)) with the hit point
    ``origins + t * directions``; t = inf and facet = -1 where the ray misses.  BVH
    closest-hit traversal with the Möller–Trumbore test (numba, chunks of rays over threads, or the same scalar
    code in plain Python with ``backend="numpy"`` or without numba: fine for thousands of rays)."""
    O, D = _rays_in(origins, directions)
    bvh = get_bvh(shape)
    t = np.empty(len(O))
    f = np.empty(len(O), np.int64)
    backend = backend or ("numba" if HAVE_NUMBA else "numpy")
    if backend == "numba" and HAVE_NUMBA:
        _spread(_first_hits_kernel, (O, D, *bvh.packed, bvh.tri_id, t, f), len(O))
    else:
        traverse = getattr(ray_traverse, "py_func", ray_traverse)
        stack = np.empty(256, np.int64)
        for i in range(len(O)):
            ti, k = traverse(*O[i], *D[i], np.inf, False, *bvh.packed, stack)
            t[i] = ti
            f[i] = bvh.tri_id[k] if k >= 0 else -1
    return t, f


def any_hits(shape, origins, directions, tmax=np.inf, backend: str | None = None) -> np.ndarray:
    """(R,) bool: does the ray ``origins + t * directions`` meet the mesh for 0 < t < tmax?
    (any-hit BVH traversal; tmax a scalar or (R,)).  Same kernels as :func:`first_hits`."""
    O, D = _rays_in(origins, directions)
    T = _writable(np.ascontiguousarray(np.broadcast_to(np.asarray(tmax, float), (len(O),))))
    bvh = get_bvh(shape)
    out = np.empty(len(O), bool)
    backend = backend or ("numba" if HAVE_NUMBA else "numpy")
    if backend == "numba" and HAVE_NUMBA:
        _spread(_any_hits_kernel, (O, D, T, *bvh.packed, out), len(O))
    else:
        traverse = getattr(ray_traverse, "py_func", ray_traverse)
        stack = np.empty(256, np.int64)
        for i in range(len(O)):
            out[i] = traverse(*O[i], *D[i], T[i], True, *bvh.packed, stack)[1] >= 0
    return out
