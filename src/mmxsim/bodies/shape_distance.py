"""Exact signed distance from points to a closed triangle mesh (altitude above a shape model).

``signed_distance(shape, points)`` is the minimum Euclidean distance (km) from each point to the
mesh's triangles, negative inside the body.  It is the altitude used for Phobos (Ernst mesh by
default) in place of the radial altitude above the IAU ellipsoid, which the real body pokes
through by up to 1.7 km.

Method (exact up to floating-point rounding; nothing is approximated):

* Distance: nearest-triangle search in the shape's BVH (:mod:`mmxsim.bodies.bvh`), best-first by
  the exact point-to-box distance, which is a lower bound of the distance to every triangle in the
  box, so a box farther than the best triangle so far is skipped without changing the answer.
  Point-to-triangle distance: closest point by Voronoi regions (Ericson 2005, *Real-Time Collision
  Detection* §5.1.5), which also says whether the closest point is inside the face, on an edge or
  at a vertex.
* Sign: angle-weighted pseudo-normals (Bærentzen & Aanæs 2005, IEEE TVCG 11:243): the sign of
  (p - q) . n, with n the face normal, the sum of the two face normals of the edge, or the sum of
  the face normals around the vertex weighted by the face angles there, according to the feature
  that holds the closest point q.  Correct for any closed, consistently oriented (outward) mesh
  without self-intersections; for points within rounding (~1e-15 km) of the surface the sign may
  go either way.  Where the mesh folds over itself (a few sharp features of the decimated Ernst
  mesh: edges whose faces are back to back) the pseudo-normal is unreliable, and points whose
  closest feature is folded are classified by the winding number (solid angle) of the whole mesh,
  the same test as :meth:`mmxsim.gravity.polyhedron.Polyhedron.inside` (~1 ms for 50k facets).

Simplifications: the shape is the mesh itself (facets are planar; the real surface between
vertices is not modelled: the Ernst mesh has ~0.1 km facets); an open or non-manifold mesh is
signed with the face normal near its boundary edges.

Speed (numba): ~8 us per point in a batch of 4321 (parallel), ~15 us one point at a time, from the
surface to 100 km on the 50k-facet Ernst
mesh (``tests/bodies/test_shape_distance.py`` prints the figure); the BVH and pseudo-normals are
built once per mesh (~0.2 s CPU for Ernst) and cached in ``shape._cache`` and on disk.
"""

from __future__ import annotations

import numpy as np

from .._accel import HAVE_NUMBA
from .._accel import jit as _jit
from .._accel import run_chunks as _run_chunks
from .bvh import get_bvh

_STACK = 512  # traversal stack (the BVH depth of the packaged meshes is < 60)

# offsets of the pseudo-normal of each closest-point feature in a row of ``pn``
_FACE, _EAB, _EAC, _EBC, _VA, _VB, _VC = 0, 3, 6, 9, 12, 15, 18
_FLAG = 21  # then 7 flags (face, AB, AC, BC, A, B, C): 1 where the feature is folded (see pseudo_normals)
#: a feature is *folded* when its pseudo-normal is short: edge normals more than 120 deg apart,
#: or a vertex pseudo-normal shorter than half the sum of its face angles
FOLD_RATIO = 0.5


def closest_on_tri(px, py, pz, ax, ay, az, abx, aby, abz, acx, acy, acz):
    """(squared distance, feature offset, closest point) from p to the triangle (a, a + ab, a + ac):
    Voronoi-region classification of Ericson (2005) §5.1.5."""
    bx, by, bz = ax + abx, ay + aby, az + abz
    cx, cy, cz = ax + acx, ay + acy, az + acz
    apx, apy, apz = px - ax, py - ay, pz - az
    d1 = abx * apx + aby * apy + abz * apz
    d2 = acx * apx + acy * apy + acz * apz
    if d1 <= 0.0 and d2 <= 0.0:
        qx, qy, qz, feat = ax, ay, az, _VA
    else:
        bpx, bpy, bpz = px - bx, py - by, pz - bz
        d3 = abx * bpx + aby * bpy + abz * bpz
        d4 = acx * bpx + acy * bpy + acz * bpz
        cpx, cpy, cpz = px - cx, py - cy, pz - cz
        d5 = abx * cpx + aby * cpy + abz * cpz
        d6 = acx * cpx + acy * cpy + acz * cpz
        vc = d1 * d4 - d3 * d2
        vb = d5 * d2 - d1 * d6
        va = d3 * d6 - d5 * d4
        if d3 >= 0.0 and d4 <= d3:
            qx, qy, qz, feat = bx, by, bz, _VB
        elif vc <= 0.0 and d1 >= 0.0 and d3 <= 0.0:
            s = d1 / (d1 - d3)
            qx, qy, qz, feat = ax + s * abx, ay + s * aby, az + s * abz, _EAB
        elif d6 >= 0.0 and d5 <= d6:
            qx, qy, qz, feat = cx, cy, cz, _VC
        elif vb <= 0.0 and d2 >= 0.0 and d6 <= 0.0:
            s = d2 / (d2 - d6)
            qx, qy, qz, feat = ax + s * acx, ay + s * acy, az + s * acz, _EAC
        elif va <= 0.0 and (d4 - d3) >= 0.0 and (d5 - d6) >= 0.0:
            s = (d4 - d3) / ((d4 - d3) + (d5 - d6))
            qx, qy, qz, feat = bx + s * (cx - bx), by + s * (cy - by), bz + s * (cz - bz), _EBC
        else:
            den = 1.0 / (va + vb + vc)
            s = vb * den
            t = vc * den
            qx = ax + s * abx + t * acx
            qy = ay + s * aby + t * acy
            qz = az + s * abz + t * acz
            feat = _FACE
    dx, dy, dz = px - qx, py - qy, pz - qz
    return dx * dx + dy * dy + dz * dz, feat, qx, qy, qz


def _box_dist2(px, py, pz, box, node):
    dx = max(box[node, 0] - px, 0.0, px - box[node, 3])
    dy = max(box[node, 1] - py, 0.0, py - box[node, 4])
    dz = max(box[node, 2] - pz, 0.0, pz - box[node, 5])
    return dx * dx + dy * dy + dz * dz


def _sdist_point(px, py, pz, box, nd, tri, pn, stack):
    """(signed distance, triangle index in BVH order) of one point: best-first BVH traversal."""
    best = np.inf
    kbest = -1
    fbest = 0
    qbx = qby = qbz = 0.0
    stack[0] = 0
    sp = 1
    while sp > 0:
        sp -= 1
        node = stack[sp]
        if _box_dist2(px, py, pz, box, node) >= best:
            continue
        c = nd[node, 0]
        if c >= 0:  # inner node: push the farther child first, the nearer one is popped next
            dl = _box_dist2(px, py, pz, box, c)
            dr = _box_dist2(px, py, pz, box, c + 1)
            if dl <= dr:
                if dr < best:
                    stack[sp] = c + 1
                    sp += 1
                if dl < best:
                    stack[sp] = c
                    sp += 1
            else:
                if dl < best:
                    stack[sp] = c
                    sp += 1
                if dr < best:
                    stack[sp] = c + 1
                    sp += 1
            continue
        for k in range(-c - 1, -c - 1 + nd[node, 1]):
            d2, feat, qx, qy, qz = closest_on_tri(px, py, pz, tri[k, 0], tri[k, 1], tri[k, 2], tri[k, 3],
                                                   tri[k, 4], tri[k, 5], tri[k, 6], tri[k, 7], tri[k, 8])
            if d2 < best:
                best, kbest, fbest, qbx, qby, qbz = d2, k, feat, qx, qy, qz
    d = np.sqrt(best)
    if pn[kbest, _FLAG + fbest // 3] != 0.0:  # a folded edge or vertex: winding number instead
        return (-d if _winding_inside(px, py, pz, tri) else d), kbest
    s = ((px - qbx) * pn[kbest, fbest] + (py - qby) * pn[kbest, fbest + 1]
         + (pz - qbz) * pn[kbest, fbest + 2])
    return (-d if s < 0.0 else d), kbest


def _winding_inside(px, py, pz, tri):
    """True if the solid angle of the mesh seen from p exceeds 2 pi (van Oosterom & Strackee 1983
    triangle solid angles summed over every facet)."""
    w = 0.0
    for k in range(tri.shape[0]):
        ax, ay, az = tri[k, 0] - px, tri[k, 1] - py, tri[k, 2] - pz
        bx, by, bz = ax + tri[k, 3], ay + tri[k, 4], az + tri[k, 5]
        cx, cy, cz = ax + tri[k, 6], ay + tri[k, 7], az + tri[k, 8]
        la = np.sqrt(ax * ax + ay * ay + az * az)
        lb = np.sqrt(bx * bx + by * by + bz * bz)
        lc = np.sqrt(cx * cx + cy * cy + cz * cz)
        det = ax * (by * cz - bz * cy) - ay * (bx * cz - bz * cx) + az * (bx * cy - by * cx)
        den = (la * lb * lc + (ax * bx + ay * by + az * bz) * lc + (ax * cx + ay * cy + az * cz) * lb
               + (bx * cx + by * cy + bz * cz) * la)
        w += 2.0 * np.arctan2(det, den)
    return w > 2.0 * np.pi


def _sdist_range(P, box, nd, tri, pn, out, kout, i0, i1):
    """Points ``i0:i1`` of ``P`` (one point or many: :func:`signed_distance` spreads ranges of a large
    batch over threads with :func:`mmxsim._accel.run_chunks`)."""
    stack = np.empty(_STACK, np.int64)
    for i in range(i0, i1):
        out[i], kout[i] = _sdist_point(P[i, 0], P[i, 1], P[i, 2], box, nd, tri, pn, stack)


if HAVE_NUMBA:  # compiled on first call (no fastmath; cached on disk by numba)
    closest_on_tri = _jit(closest_on_tri, inline=True)
    _box_dist2 = _jit(_box_dist2, inline=True)
    _winding_inside = _jit(_winding_inside)
    _sdist_point = _jit(_sdist_point)
    _sdist_range = _jit(_sdist_range)


def pseudo_normals(vertices, faces) -> np.ndarray:
    """(F, 28) per face: unit face normal, edge pseudo-normals (AB, AC, BC: sum of the unit normals
    of the faces sharing the edge), angle-weighted vertex pseudo-normals (A, B, C), in ``faces``
    order (vertices A, B, C = ``faces[:, 0..2]``), then 7 flags (1.0: folded feature).

    Folded features (edge: |n1 + n2| < 2 FOLD_RATIO, i.e. face normals > 120 deg apart; vertex:
    |sum a_i n_i| < FOLD_RATIO sum a_i) occur where a decimated mesh folds over itself (the
    packaged Ernst mesh has a few); there the pseudo-normal sign is unreliable and the point is
    classified by the winding number (solid angle) of the whole mesh instead."""
    v = np.asarray(vertices, float)
    f = np.asarray(faces, np.int64)
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    n = np.cross(b - a, c - a)
    nn = np.linalg.norm(n, axis=1)
    n = np.where(nn[:, None] > 0, n / np.where(nn > 0, nn, 1.0)[:, None], 0.0)

    def angle(p, q, r):  # angle at p of the triangle (p, q, r)
        u, w = q - p, r - p
        return np.arctan2(np.linalg.norm(np.cross(u, w), axis=1), np.einsum("ij,ij->i", u, w))

    vn = np.zeros_like(v)
    vang = np.zeros(len(v))
    for col, ang in ((0, angle(a, b, c)), (1, angle(b, c, a)), (2, angle(c, a, b))):
        np.add.at(vn, f[:, col], ang[:, None] * n)
        np.add.at(vang, f[:, col], ang)
    vfold = (np.linalg.norm(vn, axis=1) < FOLD_RATIO * vang).astype(float)
    nv = len(v)
    pairs = ((0, 1), (0, 2), (1, 2))  # AB, AC, BC
    keys = np.concatenate([np.minimum(f[:, i], f[:, j]) * nv + np.maximum(f[:, i], f[:, j]) for i, j in pairs])
    uk, inv = np.unique(keys, return_inverse=True)
    es = np.zeros((len(uk), 3))
    np.add.at(es, inv, np.tile(n, (3, 1)))
    cnt = np.bincount(inv, minlength=len(uk))
    en = np.where((cnt[inv] == 2)[:, None], es[inv], np.tile(n, (3, 1)))  # boundary edge: face normal
    efold = (np.linalg.norm(en, axis=1) < 2.0 * FOLD_RATIO).astype(float)
    F = len(f)
    return np.ascontiguousarray(np.hstack([n, en[:F], en[F:2 * F], en[2 * F:],
                                           vn[f[:, 0]], vn[f[:, 1]], vn[f[:, 2]], np.zeros((F, 1)),
                                           efold.reshape(3, F).T, vfold[f]]))


_VERSION = "1"


def _cache_path(shape) -> str:
    """Disk cache of the packed BVH and pseudo-normals (``$MMXSIM_CACHE_DIR`` or
    ``$XDG_CACHE_HOME/mmxsim``, as the gravity grids and horizon bounds), keyed by a hash of the mesh."""
    import hashlib
    import os

    h = hashlib.sha256()
    h.update(f"sdist{_VERSION}".encode())
    h.update(np.ascontiguousarray(shape.vertices).tobytes())
    h.update(np.ascontiguousarray(shape.faces).tobytes())
    from ..files import cache_dir

    return os.path.join(str(cache_dir()), f"sdist-{h.hexdigest()[:20]}.npz")


def _prepared(shape, disk_cache: bool = True):
    """(box, nd, tri, pn, tri_id): the BVH packed for the kernels and the pseudo-normals in BVH
    order; cached in ``shape._cache`` and on disk (building them costs ~0.2 s CPU on a 50k mesh, ~2 s
    where the BVH build's kernel is not compiled yet). Read from disk, they also give the shape's
    BVH (``shape._cache["bvh"]``), which the ray casting of the same process would otherwise build."""
    if "sdist" in shape._cache:
        return shape._cache["sdist"]
    import os

    from ..files import build_lock

    keys = ("box", "nd", "tri", "pn", "tri_id")
    path = _cache_path(shape) if disk_cache else ""

    def load():
        if not (path and os.path.exists(path)):
            return None
        try:
            with np.load(path) as z:
                got = tuple(np.ascontiguousarray(z[k]) for k in keys)
        except (OSError, ValueError, KeyError):
            return None
        return got if len(got[4]) == len(shape.faces) and got[3].shape == (len(shape.faces), 28) else None

    out = load()
    if out is None:
        with build_lock(path or None) as waited:  # one builder at a time; the others read its file
            out = load() if waited else None
            if out is None:
                bvh = get_bvh(shape)
                pn = np.ascontiguousarray(pseudo_normals(shape.vertices, shape.faces)[bvh.tri_id])
                out = (bvh.box, np.ascontiguousarray(bvh.nd), bvh.tri, pn, bvh.tri_id)
                if path:
                    try:
                        os.makedirs(os.path.dirname(path), exist_ok=True)
                        tmp = path + f".{os.getpid()}.tmp.npz"
                        np.savez(tmp, **dict(zip(keys, out)))
                        os.replace(tmp, path)
                    except OSError:  # a read-only cache is not an error
                        pass
    if "bvh" not in shape._cache:  # read from disk: the shape's BVH too, so get_bvh does not build it again
        shape._cache["bvh"] = _bvh_from_packed(*out[:3], out[4])
    shape._cache["sdist"] = out
    return out


def _bvh_from_packed(box, nd, tri, tri_id):
    """The :class:`~mmxsim.bodies.bvh.BVH` whose packed arrays are ``box, nd, tri`` (as
    :func:`_prepared` keeps them on disk): the node arrays of :func:`~mmxsim.bodies.bvh.build_bvh`
    (inner nodes: children l, l + 1, start and count 0; leaves: children -1) and the triangles
    (v0, e1, e2), the same numbers as the build."""
    from .bvh import BVH

    inner = nd[:, 0] >= 0
    left = np.where(inner, nd[:, 0], -1)
    right = np.where(inner, nd[:, 0] + 1, -1)
    start = np.where(inner, 0, -nd[:, 0] - 1)
    return BVH(np.ascontiguousarray(box[:, :3]), np.ascontiguousarray(box[:, 3:]), left, right, start,
               np.ascontiguousarray(nd[:, 1]), np.ascontiguousarray(tri[:, 0:3]), np.ascontiguousarray(tri[:, 3:6]),
               np.ascontiguousarray(tri[:, 6:9]), tri_id)


def signed_distance(shape, points, return_facet: bool = False):
    """Signed minimum distance (km) from body-fixed ``points`` (..., 3) km to ``shape``'s mesh:
    positive outside, negative inside.  With ``return_facet`` also the index of the nearest facet
    (in ``shape.faces``)."""
    P = np.asarray(points, dtype=float)
    shp = P.shape[:-1]
    if P.shape[-1:] != (3,):
        from ..errors import InputError

        raise InputError("points", P.shape, "an array of shape (..., 3), km")
    P = np.ascontiguousarray(P.reshape(-1, 3))
    if not P.flags.writeable:  # one set of argument types for the kernel (numba compiles read-only apart)
        P = P.copy()
    box, nd, tri, pn, tri_id = _prepared(shape)
    out = np.empty(len(P))
    k = np.empty(len(P), np.int64)
    n = len(P)
    if HAVE_NUMBA and n >= 256:  # blocks of 64 points over threads
        _run_chunks(_sdist_range, (P, box, nd, tri, pn, out, k), n, -(-n // 64))
    else:
        _sdist_range(P, box, nd, tri, pn, out, k, 0, n)
    out = out.reshape(shp)
    if return_facet:
        return out, tri_id[k].reshape(shp)
    return out


def _closest_numpy(p, a, ab, ac):
    """Closest points to p of all triangles (a, a + ab, a + ac) (vectorised Ericson §5.1.5; NumPy,
    for brute-force validation)."""
    ap = p - a
    d1 = np.einsum("ij,ij->i", ab, ap)
    d2 = np.einsum("ij,ij->i", ac, ap)
    bp = ap - ab
    d3 = np.einsum("ij,ij->i", ab, bp)
    d4 = np.einsum("ij,ij->i", ac, bp)
    cp = ap - ac
    d5 = np.einsum("ij,ij->i", ab, cp)
    d6 = np.einsum("ij,ij->i", ac, cp)
    vc = d1 * d4 - d3 * d2
    vb = d5 * d2 - d1 * d6
    va = d3 * d6 - d5 * d4
    with np.errstate(divide="ignore", invalid="ignore"):
        den = 1.0 / (va + vb + vc)
        q = a + (vb * den)[:, None] * ab + (vc * den)[:, None] * ac
        m = (va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0)
        s = (d4 - d3) / ((d4 - d3) + (d5 - d6))
        q = np.where(m[:, None], a + ab + s[:, None] * (ac - ab), q)
        m = (vb <= 0) & (d2 >= 0) & (d6 <= 0)
        s = d2 / (d2 - d6)
        q = np.where(m[:, None], a + s[:, None] * ac, q)
        m = (d6 >= 0) & (d5 <= d6)
        q = np.where(m[:, None], a + ac, q)
        m = (vc <= 0) & (d1 >= 0) & (d3 <= 0)
        s = d1 / (d1 - d3)
        q = np.where(m[:, None], a + s[:, None] * ab, q)
        m = (d3 >= 0) & (d4 <= d3)
        q = np.where(m[:, None], a + ab, q)
        m = (d1 <= 0) & (d2 <= 0)
        q = np.where(m[:, None], a, q)
    return q
