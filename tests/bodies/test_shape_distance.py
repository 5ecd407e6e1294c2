"""Exact signed distance to a shape mesh (bodies.shape_distance) against brute force."""

import time

import numpy as np
import pytest

from mmxsim.bodies.shape_distance import _closest_numpy, signed_distance
from mmxsim.bodies.shapes import ShapeModel, deimos_shape, phobos_shape
from mmxsim.gravity.polyhedron import Polyhedron


def _points(shape, n, rng, lo=-0.3, hi=100.0):
    """Points from ``lo`` (inside) to ``hi`` km from the surface along random directions; a third
    within 50 m of the surface."""
    u = rng.normal(size=(n, 3))
    u /= np.linalg.norm(u, axis=1)[:, None]
    r = shape.mean_radius * u
    d = signed_distance(shape, r)
    alt = np.concatenate([rng.uniform(-0.05, 0.05, n // 3), rng.uniform(lo, hi, n - n // 3)])
    return r + (alt - d)[:, None] * u


def _brute(shape, P):
    """Unsigned distance testing every facet (vectorised closest points, no BVH)."""
    v, f = shape.vertices, shape.faces
    a = v[f[:, 0]]
    ab, ac = v[f[:, 1]] - a, v[f[:, 2]] - a
    return np.array([np.sqrt(np.min(np.sum((p - _closest_numpy(p, a, ab, ac)) ** 2, axis=1))) for p in P])


@pytest.mark.parametrize("which,n", [("ernst", 1000), ("thomas3k", 1000), ("deimos", 300)])
def test_signed_distance_vs_brute_force(which, n):
    """|distance - brute force| < 1e-9 km at points from 0.3 km inside to 100 km out; the sign agrees
    with the polyhedron's solid-angle inside test at every point."""
    shape = deimos_shape() if which == "deimos" else phobos_shape(which)
    P = _points(shape, n, np.random.default_rng(7), hi=100.0 if which != "deimos" else 50.0)
    d = signed_distance(shape, P)
    err = np.abs(np.abs(d) - _brute(shape, P))
    inside = Polyhedron(shape, gm=1e-4).inside(P)
    print(f"{which}: {n} points, altitude {d.min():.3f}..{d.max():.1f} km, max |error| {err.max():.2e} km, "
          f"{inside.sum()} inside")
    assert err.max() < 1e-9
    assert np.array_equal(d < 0, inside)


def test_signed_distance_speed_and_shapes():
    """< 1 ms per point for one point at a time (the event refinement) and in a 4321-sample series."""
    s = phobos_shape("ernst")
    P = _points(s, 4321, np.random.default_rng(3))
    signed_distance(s, P[:2])
    t = time.perf_counter()
    d = signed_distance(s, P)
    batch = (time.perf_counter() - t) / len(P)
    t = time.perf_counter()
    for p in P[:500]:
        signed_distance(s, p)
    one = (time.perf_counter() - t) / 500
    print(f"Ernst: {batch * 1e6:.1f} us/point in a batch of 4321, {one * 1e6:.1f} us one point at a time")
    assert batch < 1e-3 and one < 1e-3
    assert d.shape == (4321,) and np.shape(signed_distance(s, P[0])) == ()
    dd, facet = signed_distance(s, P[:30].reshape(3, 10, 3), return_facet=True)
    assert dd.shape == (3, 10) and facet.min() >= 0 and facet.max() < len(s.faces)


def test_cube_exact():
    """Unit cube (12 triangles): distances to faces, edges and corners, inside and out."""
    v = np.array([[x, y, z] for x in (0, 1) for y in (0, 1) for z in (0, 1)], float)
    f = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                  [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    cube = ShapeModel(v, f, "cube").repair()
    P = np.array([[0.5, 0.5, 2.0], [2.0, 2.0, 0.5], [2.0, 2.0, 2.0], [0.5, 0.5, 0.5], [0.9, 0.5, 0.5],
                  [-1.0, 0.5, 0.5]])
    want = [1.0, np.sqrt(2.0), np.sqrt(3.0), -0.5, -0.1, 1.0]
    np.testing.assert_allclose(signed_distance(cube, P), want, atol=1e-14)


def test_prepared_from_disk_gives_the_built_bvh(tmp_path, monkeypatch):
    """_prepared read back from its disk cache also gives the shape's BVH (so that the ray casting of
    the same process does not build it again): array for array the tree build_bvh makes, and the
    same distances."""
    from mmxsim.bodies import shape_distance as sd
    from mmxsim.bodies.bvh import build_bvh

    monkeypatch.setenv("MMXSIM_CACHE_DIR", str(tmp_path))
    s = phobos_shape("thomas3k")
    a = ShapeModel(s.vertices.copy(), s.faces.copy(), name="a")
    b = ShapeModel(s.vertices.copy(), s.faces.copy(), name="b")
    sd._prepared(a)  # builds and writes the cache
    assert "bvh" not in b._cache
    sd._prepared(b)  # reads it
    built = build_bvh(s.vertices, s.faces)
    got = b._cache["bvh"]
    for nm in ("bmin", "bmax", "left", "right", "start", "count", "v0", "e1", "e2", "tri_id", "box", "nd", "tri"):
        x, y = getattr(got, nm), getattr(built, nm)
        assert x.dtype == y.dtype, nm
        np.testing.assert_array_equal(x, y, err_msg=nm)
    P = np.random.default_rng(5).normal(size=(300, 3)) * 15.0
    np.testing.assert_array_equal(signed_distance(a, P), signed_distance(b, P))


def test_prepared_waits_for_the_process_building_it(tmp_path, monkeypatch):
    """While another builder holds the lock of a mesh's distance file, _prepared waits and then
    reads the file that builder wrote (no second BVH build)."""
    import fcntl
    import os
    import threading

    from mmxsim.bodies import shape_distance as sd

    monkeypatch.setenv("MMXSIM_CACHE_DIR", str(tmp_path))
    s = phobos_shape("thomas3k")
    a = ShapeModel(s.vertices.copy(), s.faces.copy(), name="a")
    b = ShapeModel(s.vertices.copy(), s.faces.copy(), name="b")
    path = sd._cache_path(a)
    fd = os.open(os.path.join(str(tmp_path), "." + os.path.basename(path)[:-4] + ".lock"), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # "another process" is building
    builds = []
    get_bvh = sd.get_bvh
    monkeypatch.setattr(sd, "get_bvh", lambda shape: (builds.append(1), get_bvh(shape))[1])
    th = threading.Thread(target=sd._prepared, args=(b,))
    th.start()
    th.join(0.5)
    assert th.is_alive() and "sdist" not in b._cache  # waiting for the lock
    ref = sd._prepared(a, disk_cache=False)
    assert builds == [1]
    np.savez(path, **dict(zip(("box", "nd", "tri", "pn", "tri_id"), ref)))
    os.close(fd)  # the builder is done
    th.join(60)
    assert not th.is_alive() and builds == [1]  # b was read, not built
    for x, y in zip(b._cache["sdist"], ref):
        np.testing.assert_array_equal(x, y)
