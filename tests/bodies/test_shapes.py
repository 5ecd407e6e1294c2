"""Shape models: packaged meshes, PDS grid reader, mesh checks and repair."""

import numpy as np
import pytest

from mmxsim._data import data_path
from mmxsim.bodies import shapes
from mmxsim.bodies.shapes import ShapeModel, deimos_shape, load_obj, load_pds_grid, phobos_shape
from mmxsim.errors import InputError

# (faces, vertices, volume km^3, area km^2) from data/shapes/SOURCES.md (independent numpy check script)
EXPECTED = {
    "ernst": (49988, 24996, 5759.30, 1654.72),
    "thomas32k": (32040, 16022, 5748.75, 1633.5),
    "thomas3k": (3480, 1742, 5716.39, 1620.3),
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_packaged_phobos_meshes(name):
    """Counts exact; volume to 0.01 km^3 and area to 0.1 km^2 of SOURCES.md; closed genus-0."""
    s = phobos_shape(name)
    nf, nv, vol, area = EXPECTED[name]
    assert s.faces.shape == (nf, 3) and s.vertices.shape == (nv, 3)
    assert s.volume == pytest.approx(vol, abs=0.01)
    assert s.area == pytest.approx(area, abs=0.1)
    t = s.topology()
    assert t["boundary_edges"] == t["non_manifold_edges"] == t["repeated_directed_edges"] == 0
    assert t["euler"] == 2 and t["edges"] == 3 * nf // 2
    assert s.frame == "IAU_PHOBOS"
    assert 11.0 < s.mean_radius < 11.2  # E23: 11.08 +- 0.04 km (mesh spread < 1 %)


def test_ernst_centroid_is_origin():
    """SOURCES.md: volume centroid 7 m from the origin (< 10 m asserted)."""
    assert np.linalg.norm(phobos_shape("ernst").centroid) < 0.010


def test_deimos_mesh():
    s = deimos_shape()
    assert s.faces.shape == (5040, 3) and s.vertices.shape == (2522, 3)
    assert s.volume == pytest.approx(1013.52, abs=0.01)
    assert s.frame == "IAU_DEIMOS"
    s.check()


def test_unknown_shape_name_teaches():
    with pytest.raises(InputError, match="ernst, thomas32k, thomas3k"):
        phobos_shape("gaskell")


def test_pds_grid_reproduces_thomas_obj():
    """The 2-deg grid triangulated here equals the packaged 32,040-face OBJ: vertices to 1e-4 km
    (the OBJ stores 4 decimals), volume to 1e-3 km^3."""
    from scipy.spatial import cKDTree

    g = load_pds_grid(data_path("shapes/phobos_thomas_m1phobos.tab")).check()
    t = phobos_shape("thomas32k")
    assert g.faces.shape == t.faces.shape
    d, _ = cKDTree(t.vertices).query(g.vertices)
    assert d.max() < 1e-4
    assert g.volume == pytest.approx(t.volume, abs=1e-3)


def test_pds_grid_longitudes_are_west():
    """Read as WEST longitudes the Thomas grid matches the independent Ernst mesh far better
    (RMS nearest-vertex distance 0.20 km) than read as east (0.52 km) — SOURCES.md 1b."""
    from scipy.spatial import cKDTree

    tree = cKDTree(phobos_shape("ernst").vertices)
    path = data_path("shapes/phobos_thomas_m1phobos.tab")
    rms = {}
    for west in (True, False):
        d, _ = tree.query(load_pds_grid(path, west_longitude=west).vertices)
        rms[west] = np.sqrt(np.mean(d**2))
    assert rms[True] < 0.25 < 0.45 < rms[False]


def _cube(side=2.0):
    v = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float) * side / 2
    f = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                  [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    return ShapeModel(v, f, "cube")


def test_cube_geometry():
    c = _cube(2.0).check()
    assert c.volume == pytest.approx(8.0, rel=1e-15)
    assert c.area == pytest.approx(24.0, rel=1e-15)
    assert np.allclose(c.centroid, 0, atol=1e-15)


def test_open_mesh_refused():
    c = _cube()
    s = ShapeModel(c.vertices, c.faces[1:], "open")
    with pytest.raises(InputError, match="open mesh: 3 boundary edges"):
        s.check()


def test_non_manifold_mesh_refused():
    c = _cube()
    # a second cube sharing one edge with the first: that edge is used by four faces
    v2 = c.vertices + np.array([2.0, 2.0, 0.0])
    idx = np.arange(8)
    # weld cube-2 vertices (-1,-1,z)+(2,2,0) = (1,1,z) onto cube-1 vertices 6, 7
    remap = idx + 8
    remap[0], remap[1] = 6, 7
    s = ShapeModel(np.vstack([c.vertices, v2]), np.vstack([c.faces, remap[c.faces]]), "two cubes")
    with pytest.raises(InputError, match="non-manifold mesh: 1 edges used by more than two faces"):
        s.check()


def test_inverted_mesh_refused_and_repaired_on_request():
    c = _cube()
    s = ShapeModel(c.vertices, c.faces[:, ::-1], "inverted")
    with pytest.raises(InputError, match=r"inward-oriented mesh: negative volume -8 km\^3"):
        s.check()
    r = s.repair(orient=True).check()
    assert r.volume == pytest.approx(8.0)
    assert np.array_equal(s.faces, c.faces[:, ::-1])  # the original is untouched


def test_inconsistent_orientation_refused_and_repaired():
    s = phobos_shape("thomas3k")
    f = s.faces.copy()
    f[[5, 100, 2000]] = f[[5, 100, 2000], ::-1]
    bad = ShapeModel(s.vertices, f, "mixed")
    with pytest.raises(InputError, match="inconsistent orientation"):
        bad.check()
    fixed = bad.repair(orient=True).check()
    assert fixed.volume == pytest.approx(s.volume, rel=1e-14)


def test_load_obj_quads_slashes_and_errors(tmp_path):
    p = tmp_path / "q.obj"
    p.write_text("# cube with quads\n" + "".join(f"v {x} {y} {z}\n" for x in (-1, 1) for y in (-1, 1) for z in (-1, 1))
                 + "f 1/1/1 2/1/1 4/1/1 3/1/1\nf 5 7 8 6\nf 1 5 6 2\nf 3 4 8 7\nf 1 3 7 5\nf 2 6 8 4\n")
    s = load_obj(p).check()
    assert s.faces.shape == (12, 3) and s.volume == pytest.approx(8.0)
    with pytest.raises(Exception, match="not found"):
        load_obj(tmp_path / "missing.obj")


def test_centroid_of_shifted_solids_is_analytic():
    """The volume centroid does not depend on where the origin is: a cube shifted by s has its
    centroid at s, a tetrahedron (any placement) at the mean of its 4 vertices; volume unchanged.
    (A centred symmetric body cannot tell a wrong weighting of the origin apart.)"""
    shift = np.array([3.0, -1.0, 2.0])
    c = _cube(2.0)
    moved = ShapeModel(c.vertices + shift, c.faces, "cube+s")
    np.testing.assert_allclose(moved.centroid, shift, rtol=0, atol=1e-12)
    assert moved.volume == pytest.approx(8.0, rel=1e-12)
    v = np.array([[0.0, 0, 0], [2.0, 0, 0], [0, 1.0, 0], [0, 0, 3.0]]) + np.array([10.0, 20.0, -5.0])
    tet = ShapeModel(v, np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]]), "tet")
    assert tet.volume == pytest.approx(1.0, rel=1e-12)  # 2 * 1 * 3 / 6, outward orientation
    np.testing.assert_allclose(tet.centroid, v.mean(axis=0), rtol=0, atol=1e-12)


@pytest.mark.parametrize("rel", sorted(set(shapes.PHOBOS_SHAPES.values()) | set(shapes.DEIMOS_SHAPES.values())))
def test_fast_obj_reader_is_the_line_reader(rel, monkeypatch):
    """The numpy reader of plain OBJ files gives the line-by-line reader's arrays bit for bit, and the
    integer-key edge counts are numpy's row-wise unique (every packaged mesh)."""
    from mmxsim._data import data_path

    path = data_path(rel)
    assert shapes._obj_fast(path.read_text()) is not None  # the packaged meshes take the fast path
    fast = shapes.load_obj(path)
    monkeypatch.setattr(shapes, "_obj_fast", lambda text: None)
    slow = shapes.load_obj(path)
    assert fast.vertices.tobytes() == slow.vertices.tobytes() and fast.faces.tobytes() == slow.faces.tobytes()
    f = fast.faces
    d = np.stack([f, np.roll(f, -1, axis=1)], axis=2).reshape(-1, 2)
    uniq, inv = np.unique(np.sort(d, axis=1), axis=0, return_inverse=True)
    e, einv = fast.edges()
    assert np.array_equal(e, uniq) and e.dtype == uniq.dtype and np.array_equal(einv, inv.reshape(-1, 3))
    t = fast.topology()
    assert t["edges"] == len(uniq) and t["boundary_edges"] == t["non_manifold_edges"] == 0
    assert t["repeated_directed_edges"] == 0 and t["euler"] == 2


def test_fast_obj_reader_leaves_other_records_to_the_line_reader():
    assert shapes._obj_fast("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1/1 2/2 3/3\n") is None
    assert shapes._obj_fast("v 0 0 0\nv 1 0 0\nv 0 1 0\nvn 0 0 1\nf 1 2 3\n") is None
    assert shapes._obj_fast("v 0 0 0\nv 1 0 0\nv 0 1 0\nf -3 -2 -1\n") is None
    assert shapes._obj_fast("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3 4\n") is None  # a quad: fanned by the line reader
    assert shapes._obj_fast("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n") is None  # an index past the vertices
    v, f = shapes._obj_fast("# c\nv 0 0 0\nv 1 0 -2.5\n\nv 0 1 0\nf 1 2 3\n")
    assert v.tolist() == [[0, 0, 0], [1, 0, -2.5], [0, 1, 0]] and f.tolist() == [[0, 1, 2]]
