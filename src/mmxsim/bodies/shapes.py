"""Triangle-mesh shape models of Phobos and Deimos (packaged, offline).

Meshes are in km in the body-fixed frame of the body (IAU_PHOBOS / IAU_DEIMOS convention:
+x toward the prime meridian / sub-Mars point, +z north pole, east longitude positive), with
faces counter-clockwise seen from outside. Provenance is in ``data/shapes/SOURCES.md``.

>>> s = phobos_shape("thomas3k")
>>> s.faces.shape, round(s.volume)
((3480, 3), 5716)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._data import data_path
from ..errors import DataFileError, InputError

PHOBOS_SHAPES = {
    "ernst": "shapes/phobos_ernst_decimated_49988f.obj",
    "thomas32k": "shapes/phobos_thomas_2deg_32040f.obj",
    "thomas3k": "shapes/phobos_thomas_6deg_3480f.obj",
}
DEIMOS_SHAPES = {"thomas5k": "shapes/deimos_thomas_5deg_5040f.obj"}


@dataclass
class ShapeModel:
    """A closed triangle mesh: ``vertices`` (V, 3) km, ``faces`` (F, 3) 0-based vertex indices."""

    vertices: np.ndarray
    faces: np.ndarray
    name: str = ""
    frame: str = ""
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self):
        v = np.ascontiguousarray(np.asarray(self.vertices, dtype=float))
        f = np.ascontiguousarray(np.asarray(self.faces, dtype=np.int64))
        if v.ndim != 2 or v.shape[1] != 3 or len(v) < 4:
            raise InputError(f"shape {self.name!r} vertices", v.shape, "an (V, 3) array with V >= 4")
        if f.ndim != 2 or f.shape[1] != 3 or len(f) < 4:
            raise InputError(f"shape {self.name!r} faces", f.shape, "an (F, 3) integer array with F >= 4")
        if f.min() < 0 or f.max() >= len(v):
            raise InputError(f"shape {self.name!r} faces", f"indices {f.min()}..{f.max()}",
                             f"0..{len(v) - 1} (0-based vertex indices)")
        if not np.all(np.isfinite(v)):
            raise InputError(f"shape {self.name!r} vertices", "non-finite values", "finite coordinates in km")
        self.vertices, self.faces = v, f

    # -- geometry -----------------------------------------------------------------------------
    def _tri(self):
        v = self.vertices
        return v[self.faces[:, 0]], v[self.faces[:, 1]], v[self.faces[:, 2]]

    @property
    def volume(self) -> float:
        """Signed volume Σ a·(b×c)/6 (km³); positive for an outward-oriented closed mesh."""
        a, b, c = self._tri()
        return float(np.einsum("ij,ij->", a, np.cross(b, c)) / 6.0)

    @property
    def centroid(self) -> np.ndarray:
        """Volume centroid (km): centre of mass of a homogeneous body."""
        a, b, c = self._tri()
        w = np.einsum("ij,ij->i", a, np.cross(b, c)) / 6.0
        return (w[:, None] * (a + b + c) / 4.0).sum(axis=0) / w.sum()

    @property
    def area(self) -> float:
        """Surface area (km²)."""
        a, b, c = self._tri()
        return float(0.5 * np.linalg.norm(np.cross(b - a, c - a), axis=1).sum())

    @property
    def mean_radius(self) -> float:
        """Radius of the sphere of equal volume (km)."""
        return float((3.0 * abs(self.volume) / (4.0 * np.pi)) ** (1.0 / 3.0))

    def edges(self):
        """Unique undirected edges (E, 2) and, for each face, the index of its edges (F, 3).

        Face edge k joins face vertices k and k+1 (mod 3).
        """
        if "edges" not in self._cache:
            f = self.faces
            d = np.stack([f, np.roll(f, -1, axis=1)], axis=2).reshape(-1, 2)  # directed, face-major
            u = np.sort(d, axis=1)
            keys, inv = np.unique(_pair_keys(u), return_inverse=True)  # = np.unique(u, axis=0), faster
            uniq = np.stack(np.divmod(keys, _key_base(u)), axis=1).astype(u.dtype, copy=False)
            self._cache["edges"] = (uniq, inv.reshape(-1, 3))
        return self._cache["edges"]

    def topology(self) -> dict:
        """Counts used by :meth:`check`: boundary, non-manifold and mis-oriented edges, Euler number."""
        f = self.faces
        d = np.stack([f, np.roll(f, -1, axis=1)], axis=2).reshape(-1, 2)
        uniq, counts = np.unique(_pair_keys(np.sort(d, axis=1)), return_counts=True)
        # orientation: each directed edge must appear exactly once (its reverse in the neighbour)
        _, dcounts = np.unique(_pair_keys(d), return_counts=True)
        degenerate = int(np.sum((f[:, 0] == f[:, 1]) | (f[:, 1] == f[:, 2]) | (f[:, 2] == f[:, 0])))
        used = np.unique(f).size
        return {
            "vertices": len(self.vertices), "faces": len(f), "edges": len(uniq),
            "boundary_edges": int(np.sum(counts == 1)),
            "non_manifold_edges": int(np.sum(counts > 2)),
            "repeated_directed_edges": int(np.sum(dcounts > 1)),
            "degenerate_faces": degenerate,
            "unused_vertices": len(self.vertices) - used,
            "euler": used - len(uniq) + len(f),
        }

    def check(self) -> "ShapeModel":
        """Refuse meshes the polyhedron gravity cannot use; returns ``self`` when fine.

        Raises :class:`InputError` naming the defect: open (boundary edges), non-manifold
        edges, degenerate faces, inconsistent orientation or inward orientation (negative volume).
        """
        t = self.topology()
        where = f"shape {self.name or '(unnamed)'}"
        if t["degenerate_faces"]:
            raise InputError(where, f"{t['degenerate_faces']} degenerate faces (repeated vertex index)",
                             "triangles with three distinct vertices")
        if t["boundary_edges"]:
            raise InputError(where, f"open mesh: {t['boundary_edges']} boundary edges (used by one face only)",
                             "a closed mesh (every edge shared by exactly two faces)")
        if t["non_manifold_edges"]:
            raise InputError(where, f"non-manifold mesh: {t['non_manifold_edges']} edges used by more than two faces",
                             "a manifold mesh (every edge shared by exactly two faces)")
        if t["repeated_directed_edges"]:
            raise InputError(where, f"inconsistent orientation: {t['repeated_directed_edges']} directed edges repeated",
                             "consistently oriented faces (call repair(orient=True) to fix)")
        vol = self.volume
        if not vol > 0:
            raise InputError(where, f"inward-oriented mesh: negative volume {vol:.6g} km^3",
                             "faces counter-clockwise seen from outside (call repair(orient=True) to flip)")
        return self

    def repair(self, orient: bool = True) -> "ShapeModel":
        """A copy with orientation fixed (only on request): consistent, then outward.

        Consistent orientation is propagated face to face across shared edges (breadth-first);
        if the result has negative volume all faces are flipped. Open or non-manifold meshes
        are not repaired (they raise in :meth:`check`).
        """
        f = self.faces.copy()
        if orient:
            t = self.topology()
            if t["boundary_edges"] or t["non_manifold_edges"]:
                return ShapeModel(self.vertices.copy(), f, self.name, self.frame).check()
            if t["repeated_directed_edges"]:
                f = _propagate_orientation(f)
            if _signed_volume(self.vertices, f) < 0:
                f = f[:, ::-1].copy()
        return ShapeModel(self.vertices.copy(), f, self.name, self.frame)

    def __repr__(self):
        return (f"ShapeModel({self.name!r}, {len(self.vertices)} vertices, {len(self.faces)} faces, "
                f"frame={self.frame!r})")


def _signed_volume(v, f):
    return float(np.einsum("ij,ij->", v[f[:, 0]], np.cross(v[f[:, 1]], v[f[:, 2]])) / 6.0)


def _propagate_orientation(f):
    from collections import deque

    f = f.copy()
    n = len(f)
    edge_faces: dict = {}
    for i, tri in enumerate(f):
        for k in range(3):
            a, b = int(tri[k]), int(tri[(k + 1) % 3])
            edge_faces.setdefault((min(a, b), max(a, b)), []).append(i)
    seen = np.zeros(n, bool)
    for start in range(n):
        if seen[start]:
            continue
        seen[start] = True
        q = deque([start])
        while q:
            i = q.popleft()
            tri = f[i]
            for k in range(3):
                a, b = int(tri[k]), int(tri[(k + 1) % 3])
                for j in edge_faces[(min(a, b), max(a, b))]:
                    if seen[j]:
                        continue
                    t2 = list(f[j])
                    # neighbour must traverse the edge as b -> a
                    for m in range(3):
                        if t2[m] == a and t2[(m + 1) % 3] == b:
                            f[j] = f[j][::-1]
                            break
                    seen[j] = True
                    q.append(j)
    return f


def _key_base(pairs) -> int:
    """One more than the largest vertex index in ``pairs`` (at least 1)."""
    return int(pairs.max()) + 1 if pairs.size else 1


def _pair_keys(pairs):
    """Each row (a, b) of non-negative vertex indices as the one integer a·n + b (n: one more than the
    largest index), so that sorting the keys sorts the rows lexicographically: ``np.unique`` on the
    keys gives the rows of ``np.unique(pairs, axis=0)`` in the same order, several times faster."""
    n = _key_base(pairs)
    if pairs.size and (pairs.min() < 0 or n > 3_000_000_000):
        raise InputError("shape faces", f"vertex indices {pairs.min()}..{n - 1}", "0 .. 3e9")
    return pairs[:, 0].astype(np.int64) * n + pairs[:, 1]


def _obj_fast(text: str):
    """(vertices, triangles) of an OBJ text whose records are only comments, ``v x y z`` and
    ``f i j k`` (positive 1-based indices, no ``/``), parsed with numpy in a few passes; None for
    anything else (then :func:`load_obj` reads it line by line). numpy's text-to-float conversion is
    correctly rounded like Python's ``float``, so the arrays are the same bits either way."""
    lines = text.splitlines()
    vl = [ln[2:] for ln in lines if ln.startswith("v ")]
    fl = [ln[2:] for ln in lines if ln.startswith("f ")]
    if len(vl) + len(fl) + sum(1 for ln in lines if not ln.strip() or ln.startswith("#")) != len(lines):
        return None
    if not vl or not fl or any("/" in ln or "-" in ln for ln in fl):
        return None
    v = np.array(" ".join(vl).split(), dtype=float)
    f = np.array(" ".join(fl).split(), dtype=np.int64)
    if v.size != 3 * len(vl) or f.size != 3 * len(fl) or f.min() < 1 or f.max() > len(vl):
        return None
    return v.reshape(-1, 3), f.reshape(-1, 3) - 1


def load_obj(path, name: str | None = None, frame: str = "") -> ShapeModel:
    """Read a Wavefront OBJ with ``v`` and triangular ``f`` records (1-based, ``i/t/n`` allowed).

    Polygons with more than three vertices are split into triangle fans. Units are taken
    as km. The mesh is not checked here; call :meth:`ShapeModel.check`.
    """
    p = Path(path)
    if not p.exists():
        raise DataFileError(f"shape file {str(p)!r} not found")
    fast = _obj_fast(p.read_text())
    if fast is not None:
        return ShapeModel(fast[0], fast[1], name or p.stem, frame)
    verts, faces = [], []
    with p.open() as fh:
        for ln, line in enumerate(fh, 1):
            if line.startswith("v "):
                parts = line.split()
                verts.append((float(parts[1]), float(parts[2]), float(parts[3])))
            elif line.startswith("f "):
                idx = []
                for tok in line.split()[1:]:
                    i = int(tok.split("/")[0])
                    idx.append(i - 1 if i > 0 else len(verts) + i)
                if len(idx) < 3:
                    raise InputError(f"{p.name} line {ln}", line.strip(), "a face with at least 3 vertices")
                for k in range(1, len(idx) - 1):
                    faces.append((idx[0], idx[k], idx[k + 1]))
    if not verts or not faces:
        raise InputError(f"shape file {p.name}", f"{len(verts)} vertices, {len(faces)} faces",
                         "an OBJ file with 'v' and 'f' records")
    return ShapeModel(np.array(verts), np.array(faces, dtype=np.int64), name or p.stem, frame)


def load_pds_grid(path, west_longitude: bool = True, name: str | None = None, frame: str = "") -> ShapeModel:
    """Triangulate a PDS latitude/longitude/radius grid (Thomas ``m1phobos.tab`` format).

    Rows ``lat lon radius`` (deg, deg, km) on a regular grid including both poles.
    ``west_longitude=True`` (Thomas models: longitudes are WEST-positive) converts to east
    longitude. Poles become single vertices (mean radius of the pole row), a repeated
    360° column is dropped, cells are split into two triangles, polar caps into fans.
    """
    p = Path(path)
    if not p.exists():
        raise DataFileError(f"shape grid {str(p)!r} not found")
    d = np.loadtxt(p)
    if d.ndim != 2 or d.shape[1] != 3:
        raise InputError(f"shape grid {p.name}", d.shape, "rows of 'latitude longitude radius'")
    lats = np.unique(d[:, 0])
    lons = np.unique(d[:, 1])
    if lons[-1] - lons[0] >= 360.0 - 1e-9:
        lons = lons[:-1]
    if not (np.isclose(lats[0], -90) and np.isclose(lats[-1], 90)):
        raise InputError(f"shape grid {p.name} latitudes", (lats[0], lats[-1]), "a grid from -90 to 90 deg")
    nlat, nlon = len(lats), len(lons)
    R = {}
    for la, lo, r in d:
        R[(la, lo)] = r
    mid = lats[1:-1]
    verts = []
    south_r = np.mean([r for (la, lo), r in R.items() if la == lats[0]])
    north_r = np.mean([r for (la, lo), r in R.items() if la == lats[-1]])
    verts.append((0.0, 0.0, -south_r))
    sign = -1.0 if west_longitude else 1.0
    for la in mid:
        for lo in lons:
            if (la, lo) not in R:
                raise InputError(f"shape grid {p.name}", f"missing node lat={la}, lon={lo}", "a complete grid")
            r = R[(la, lo)]
            phi, lam = np.radians(la), np.radians(sign * lo)
            verts.append((r * np.cos(phi) * np.cos(lam), r * np.cos(phi) * np.sin(lam), r * np.sin(phi)))
    verts.append((0.0, 0.0, north_r))
    V = np.array(verts)
    nmid = nlat - 2

    def vid(i, j):
        return 1 + i * nlon + (j % nlon)

    faces = []
    for j in range(nlon):
        faces.append((0, vid(0, j + 1), vid(0, j)))
    for i in range(nmid - 1):
        for j in range(nlon):
            a, b, c, e = vid(i, j), vid(i, j + 1), vid(i + 1, j + 1), vid(i + 1, j)
            faces.append((a, b, c))
            faces.append((a, c, e))
    top = len(V) - 1
    for j in range(nlon):
        faces.append((top, vid(nmid - 1, j), vid(nmid - 1, j + 1)))
    F = np.array(faces, dtype=np.int64)
    if _signed_volume(V, F) < 0:  # our own triangulation: orient outward (west grids mirror the order)
        F = F[:, ::-1].copy()
    return ShapeModel(V, F, name or p.stem, frame)


def _packaged(table: dict, name: str, what: str, frame: str) -> ShapeModel:
    if name not in table:
        raise InputError(what, name, ", ".join(table))
    key = (what, name)
    if key not in _CACHE:
        rel = table[name]
        s = load_obj(data_path(rel), name=f"{frame.split('_')[-1].lower()}_{name}", frame=frame).check()
        s.vertices.flags.writeable = s.faces.flags.writeable = False  # shared: see phobos_shape
        _CACHE[key] = s
    return _CACHE[key]


_CACHE: dict = {}


def phobos_shape(name: str = "ernst") -> ShapeModel:
    """Packaged Phobos mesh: ``ernst`` (49,988 faces, Ernst et al. 2023 SPC, main),
    ``thomas32k`` (32,040 faces, Thomas 2° grid) or ``thomas3k`` (3,480 faces, 6° subsample).

    One object per mesh and process, shared by every caller, so that what is derived from it once
    (edges, the distance BVH, horizons: ``ShapeModel._cache``) serves them all; its arrays are
    read-only (build a new :class:`ShapeModel` from copies to change a mesh)."""
    return _packaged(PHOBOS_SHAPES, name, "phobos shape", "IAU_PHOBOS")


def deimos_shape(name: str = "thomas5k") -> ShapeModel:
    """Packaged Deimos mesh (Thomas 5° grid, 5,040 faces)."""
    return _packaged(DEIMOS_SHAPES, name, "deimos shape", "IAU_DEIMOS")


def icosphere(n_sub: int, radius: float = 1.0) -> ShapeModel:
    """A geodesic sphere: the icosahedron with each facet split in 4, ``n_sub`` times, vertices
    projected on the sphere of ``radius`` km (20·4^n_sub facets; a test body with closed forms)."""
    t = (1 + 5**0.5) / 2
    v = [(-1, t, 0), (1, t, 0), (-1, -t, 0), (1, -t, 0), (0, -1, t), (0, 1, t), (0, -1, -t), (0, 1, -t),
         (t, 0, -1), (t, 0, 1), (-t, 0, -1), (-t, 0, 1)]
    f = [(0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4), (11, 10, 2),
         (10, 7, 6), (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8), (3, 8, 9), (4, 9, 5), (2, 4, 11),
         (6, 2, 10), (8, 6, 7), (9, 8, 1)]
    v = [np.array(x, float) / np.linalg.norm(x) for x in v]
    for _ in range(n_sub):
        cache, nf = {}, []

        def mid(i, j):
            key = (min(i, j), max(i, j))
            if key not in cache:
                m = v[i] + v[j]
                v.append(m / np.linalg.norm(m))
                cache[key] = len(v) - 1
            return cache[key]

        for a, b, c in f:
            ab, bc, ca = mid(a, b), mid(b, c), mid(c, a)
            nf += [(a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca)]
        f = nf
    return ShapeModel(np.array(v) * radius, np.array(f), f"icosphere{n_sub}").check()
