"""Bounding-volume hierarchy (BVH) over the triangles of a shape model.

Shared by the ray casting of :mod:`mmxsim.instruments._raycast` (visibility, shadows) and the
exact surface distance of :mod:`mmxsim.bodies.shape_distance` (altitude, impacts).  Axis-aligned
boxes, full-sweep surface-area-heuristic splits (MacDonald & Booth 1990), leaves of at most
``LEAF_SIZE`` triangles.  Built with NumPy (~1.6 s for 50k facets) and cached in ``shape._cache``.
"""

from __future__ import annotations

import numpy as np

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


def build_bvh(vertices, faces, leaf_size: int = LEAF_SIZE, sah: bool = True) -> BVH:
    """Build a BVH: full-sweep surface-area-heuristic split (MacDonald & Booth 1990) over the
    three axes, or with ``sah=False`` the median split on the longest centroid-bound axis."""
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
