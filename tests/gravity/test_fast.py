"""Interpolated polyhedron gravity (mmxsim.gravity.fast) against the exact polyhedron.

The reference is our Werner-Scheeres polyhedron of the same mesh (itself validated against
polyhedral-gravity to 1e-9 in test_polyhedron.py). The grid here is coarser than the default
(3 deg, 16 radial nodes; built in ~7-12 s on 2 cores, cached on disk) to keep the test fast;
the default grid (2 deg, 24 nodes) is measured in benchmarks/bench_descent.py and docs/descent.md.
"""

import math

import numpy as np
import pytest

from mmxsim.errors import InputError
from mmxsim.gravity import fast
from mmxsim.gravity.fast import GridGravity, ray_radii


@pytest.fixture(scope="module")
def grid():
    return GridGravity("thomas3k", dlat_deg=3.0, dlon_deg=3.0, n_radial=16, s_max=3.0)


def _points_above_surface(g, n, hmin=1e-3, hmax=100.0, seed=1):
    """n points at log-uniform heights 1 m..100 km above the grid's surface in random directions."""
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1)[:, None]
    h0, lat, lon = g.altitude(d)
    R = 1.0 - h0
    h = 10 ** rng.uniform(np.log10(hmin), np.log10(hmax), n)
    return d * (R + h)[:, None], h


def test_error_bound_vs_exact_polyhedron(grid):
    """Relative acceleration error vs the exact polyhedron, 1500 random points from 1 m to 100 km
    above the surface: < 8e-3 everywhere and < 3e-3 above 1 km (3-deg test grid; measured
    max 5.5e-3 / 2.0e-3, median 4e-4). Potential < 1e-3 (measured 4e-4). These bounds fail if the
    interpolation, the pole/longitude wrap, the radial mapping or the SH switch is wrong (a
    point mass alone is off by up to 3e-1)."""
    P, h = _points_above_surface(grid, 1500)
    u, a, region = grid.evaluate(P)
    assert set(np.unique(region)) == {0, 1}  # both the grid and the SH beyond it are exercised
    ue, ae = grid.poly.potential_acceleration(P)
    e = np.linalg.norm(a - ae, axis=1) / np.linalg.norm(ae, axis=1)
    assert e.max() < 8e-3
    assert e[h > 1.0].max() < 3e-3
    assert np.median(e) < 1e-3
    assert np.max(np.abs(u - ue) / ue) < 1e-3
    # beyond the grid the fitted SH of the same mesh: measured 6e-6
    assert e[region == 1].max() < 1e-4


def test_polar_and_dateline_points(grid):
    """Points over the poles and across lon = +-180 deg (wrap and reflection of the stencil):
    same bound as above (measured < 2e-3)."""
    pts = np.array([[0, 0, 12.0], [0, 0, -11.0], [1e-3, 0, 10.5], [-14.0, 1e-4, 0.0], [-14.0, -1e-4, 0.0],
                    [-12.0, 0.3, 4.0], [0.2, 0.1, -9.4]])
    h, _, _ = grid.altitude(pts)
    assert np.all(h > 0)
    a = grid.acceleration(pts)
    ae = grid.poly.acceleration(pts)
    assert np.max(np.linalg.norm(a - ae, axis=1) / np.linalg.norm(ae, axis=1)) < 8e-3


def test_surface_close_to_mesh(grid):
    """The interpolated surface r = R(lat, lon) vs the mesh (ray casting) at 2000 random
    directions: within 80 m (3-deg grid on the 6-deg mesh; measured 62 m)."""
    rng = np.random.default_rng(3)
    d = rng.normal(size=(2000, 3))
    d /= np.linalg.norm(d, axis=1)[:, None]
    R_mesh = ray_radii(grid.shape, d)
    h, _, _ = grid.altitude(d * R_mesh[:, None])
    assert np.max(np.abs(h)) < 0.08


def test_inside_refused(grid):
    with pytest.raises(InputError) as e:
        grid.acceleration([[1.0, 2.0, 0.5]])
    assert "inside" in str(e.value)
    a = grid.acceleration([[1.0, 2.0, 0.5], [30.0, 0, 0]], inside="nan")
    assert np.isnan(a[0]).all() and np.isfinite(a[1]).all()


def test_cache_roundtrip(grid, tmp_path):
    """A grid read back from the cache gives identical numbers; the cache key changes with the
    grid parameters."""
    g1 = GridGravity("thomas3k", dlat_deg=10.0, dlon_deg=10.0, n_radial=4, cache_dir=tmp_path)
    g2 = GridGravity("thomas3k", dlat_deg=10.0, dlon_deg=10.0, n_radial=4, cache_dir=tmp_path)
    g3 = GridGravity("thomas3k", dlat_deg=10.0, dlon_deg=10.0, n_radial=5, cache_dir=tmp_path)
    assert g1.cache_path == g2.cache_path != g3.cache_path and g1.cache_path.exists()
    P = np.array([[15.0, 3.0, -2.0], [0.0, -13.0, 5.0]])
    np.testing.assert_array_equal(g1.acceleration(P), g2.acceleration(P))


@pytest.mark.parametrize("kw,field", [
    (dict(dlat_deg=7.0), "dlat_deg"), (dict(dlon_deg=float("nan")), "dlon_deg"), (dict(n_radial=2), "n_radial"),
    (dict(s_max=1.1), "s_max"), (dict(shape=42), "shape")])
def test_bad_parameters(kw, field, tmp_path):
    with pytest.raises(InputError) as e:
        GridGravity(**{"shape": "thomas3k", "dlat_deg": 6.0, "dlon_deg": 6.0, "n_radial": 6, "cache_dir": tmp_path,
                       **kw})
    assert field in e.value.field


def test_docstring_example():
    import doctest

    import mmxsim.gravity.fast as mod

    failures, tried = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0 and failures == 0


def test_bad_points(grid):
    for bad in ([[0.0, 0.0, 0.0]], [[np.nan, 1.0, 2.0]], [[1.0, 2.0]]):
        with pytest.raises(InputError) as e:
            grid.altitude(bad)
        assert e.value.field == "GridGravity points"
        with pytest.raises(InputError):
            grid.evaluate(bad)


def test_overhang_tolerance():
    """A mesh with a ray crossing its surface three times: accepted with the outermost crossing
    when the crossings are closer than max_overhang_km, refused otherwise. Built from the
    thomas3k mesh with one vertex pushed sideways so that its facets fold over (tested on the
    rays through the folded facets)."""
    from mmxsim.bodies.shapes import ShapeModel, phobos_shape

    s = phobos_shape("thomas3k")
    V = s.vertices.copy()
    k = int(np.argmax(np.abs(V[:, 2]) < 0.5))  # an equatorial vertex
    r = np.linalg.norm(V[k])
    t = np.cross([0, 0, 1.0], V[k] / r)
    V[k] = V[k] + 0.25 * r * t  # pushed 25% of the radius along the equator: facets fold over
    bent = ShapeModel(V, s.faces, name="bent")
    lon = np.linspace(-0.3, 0.3, 301)
    base = math.atan2(s.vertices[k, 1], s.vertices[k, 0])
    d = np.stack([np.cos(base + lon), np.sin(base + lon), np.zeros_like(lon)], axis=1)
    rep = {}
    with pytest.raises(InputError):
        ray_radii(bent, d, max_overhang_km=0.001)
    R = ray_radii(bent, d, max_overhang_km=100.0, report=rep)
    assert rep["max_overhang_km"] > 0.001 and np.all(np.isfinite(R))
    assert ray_radii(s, d, report=rep) is not None and rep["max_overhang_km"] < 1e-6


def test_a_truncated_cache_is_rebuilt_with_a_warning(tmp_path):
    """A cache file cut short (a disk filled or a process killed by an older writer) used to raise
    BadZipFile in every later run; now it is rebuilt, with a warning naming the file, and rewritten
    whole (issue 15)."""
    g1 = GridGravity("thomas3k", dlat_deg=10.0, dlon_deg=10.0, n_radial=4, cache_dir=tmp_path)
    data = g1.cache_path.read_bytes()
    g1.cache_path.write_bytes(data[: len(data) // 2])
    with pytest.warns(RuntimeWarning, match="unreadable"):
        g2 = GridGravity("thomas3k", dlat_deg=10.0, dlon_deg=10.0, n_radial=4, cache_dir=tmp_path)
    assert np.array_equal(g1.G, g2.G) and g2.cache_path.read_bytes() == data
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary left behind


def test_atomic_file_leaves_the_old_file_on_failure(tmp_path):
    from mmxsim.files import atomic_file, atomic_write

    p = atomic_write(tmp_path / "x.bin", b"old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_file(p) as fh:
            fh.write(b"new, half")
            raise KeyboardInterrupt
    assert p.read_bytes() == b"old" and not list(tmp_path.glob(".*.tmp"))


def _grid_and_random_dirs(deg, n_random, seed=5):
    lat = np.radians(np.arange(-90.0, 90.0 + 1e-9, deg))
    lon = np.radians(np.arange(-180.0, 180.0 - 1e-9, deg))
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    d = np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=-1).reshape(-1, 3)
    rng = np.random.default_rng(seed)
    r = rng.normal(size=(n_random, 3))
    return np.vstack([d, r / np.linalg.norm(r, axis=1)[:, None]])


@pytest.mark.skipif(not fast.HAVE_NUMBA, reason="the BVH ray kernel needs numba")

def _thomas_and_folded_rays():
    """[(thomas3k, grid and random rays), (thomas3k with one vertex pushed sideways so that rays near it
    cross the surface three times, the same rays plus 200 around that vertex)]."""
    from mmxsim.bodies.shapes import ShapeModel, phobos_shape

    s = phobos_shape("thomas3k")
    V = s.vertices.copy()
    k = int(np.argmax(np.abs(V[:, 2]) < 0.5))
    t = np.cross([0, 0, 1.0], V[k] / np.linalg.norm(V[k]))
    V[k] = V[k] + 0.25 * np.linalg.norm(V[k]) * t
    bent = ShapeModel(V, s.faces, name="bent")
    d = _grid_and_random_dirs(6.0, 400)
    d_bent = np.vstack([d, (V[k] / np.linalg.norm(V[k]) + 0.02 * np.random.default_rng(1).normal(size=(200, 3)))])
    d_bent /= np.linalg.norm(d_bent, axis=1)[:, None]
    return [(s, d), (bent, d_bent)]

def test_ray_spans_bvh_equal_the_brute_force():
    """The BVH-culled ray casting of ray_radii gives the crossings of the brute-force test of every
    ray against every facet: the outermost and innermost crossing of grid rays (through vertices
    and edges: the lat/lon nodes of a mesh sampled on a lat/lon grid) and random rays, on thomas3k
    and on the folded mesh of test_overhang_tolerance (three crossings). Bit-identical here
    (the same operations in the same order); held to 1e-13 relative in case NumPy's einsum sums
    its 3-term products in another order elsewhere. A BVH that dropped facets, a wrong box test
    or a facet tolerance lost on edges fails this."""
    for shape, dirs in _thomas_and_folded_rays():
        last_b, first_b = fast._ray_spans_bvh(shape, dirs)
        last_n, first_n = fast._ray_spans_numpy(shape, dirs)
        np.testing.assert_allclose(last_b, last_n, rtol=1e-13, atol=0)
        np.testing.assert_allclose(first_b, first_n, rtol=1e-13, atol=0)
        assert np.all(np.isfinite(last_b)) and np.all(last_b >= first_b)
    assert np.max(last_b - first_b) > 0.1  # the folded mesh's rays do cross three times


def test_cone_culled_ray_spans_equal_the_brute_force_and_the_kernel():
    """The NumPy ray casting that ray_radii uses before the BVH kernel is compiled tests each ray only
    against the facets whose cone from the origin holds it: the crossings of the brute force (grid
    rays through vertices and edges, random rays, the folded mesh's triple crossings), and the BVH
    kernel's numbers bit for bit (the same operations in the same order). A cone too narrow (a
    dropped facet) or another summation order fails this."""
    for shape, dirs in _thomas_and_folded_rays():
        last_c, first_c = fast._ray_spans_culled(shape, dirs, chunk=100)  # several chunks
        last_n, first_n = fast._ray_spans_numpy(shape, dirs)
        np.testing.assert_allclose(last_c, last_n, rtol=1e-13, atol=0)
        np.testing.assert_allclose(first_c, first_n, rtol=1e-13, atol=0)
        if fast.HAVE_NUMBA:
            last_b, first_b = fast._ray_spans_bvh(shape, dirs)
            np.testing.assert_array_equal(last_c, last_b)
            np.testing.assert_array_equal(first_c, first_b)
    assert np.max(last_c - first_c) > 0.1  # the folded mesh's rays do cross three times
    from mmxsim.bodies.shapes import phobos_shape

    axis, cmin = fast._facet_cones(phobos_shape("thomas3k"))
    assert np.all(cmin > 0.99)  # thomas3k's facets subtend < 8 deg: the culling keeps few of them


def test_ray_radii_refuses_a_mesh_not_around_the_origin():
    """A ray that misses the mesh (the origin outside it): InputError, with and without the BVH."""
    from mmxsim.bodies.shapes import ShapeModel, icosphere

    ball = icosphere(2, 1.0)
    off = ShapeModel(ball.vertices + np.array([3.0, 0.0, 0.0]), ball.faces, name="off")
    d = _grid_and_random_dirs(30.0, 10)
    for backend in ("numba", "numpy", None):
        with pytest.raises(InputError, match="ray misses"):
            ray_radii(off, d, backend=backend)
    with pytest.raises(InputError):
        ray_radii(ball, d, backend="cuda")
    last, first = fast._ray_spans_numpy(off, d)
    assert np.any(~np.isfinite(last))
    R = ray_radii(ball, d)
    np.testing.assert_allclose(R, 1.0, rtol=0, atol=0.05)  # inscribed facets: 0.95-1 of the radius


@pytest.mark.skipif(not fast.HAVE_NUMBA, reason="the BVH ray kernel needs numba")
def test_grid_with_bvh_rays_equals_the_brute_force_build(monkeypatch):
    """The whole build (rays, nodes, polyhedron, SH fit) with the BVH ray casting gives the grid
    the every-ray-against-every-facet casting gives, array for array (a coarse 10-deg grid)."""
    kw = dict(dlat_deg=10.0, dlon_deg=10.0, n_radial=4, cache=False)
    monkeypatch.setattr(fast, "_RAY_COMPILE_PAYS", 0)  # the BVH kernel for any size
    g1 = GridGravity("thomas3k", **kw)
    monkeypatch.setattr(fast, "HAVE_NUMBA", False)  # ray_radii's NumPy path (the kernels stay compiled)
    g2 = GridGravity("thomas3k", **kw)
    for nm in ("R", "G", "C", "S"):
        np.testing.assert_array_equal(getattr(g1, nm), getattr(g2, nm), err_msg=nm)


def test_grid_waits_for_the_process_building_it(tmp_path, monkeypatch):
    """While another builder holds a grid's lock, GridGravity waits and then reads the file that
    builder wrote, without building the grid again (a background build is not repeated)."""
    import fcntl
    import os
    import threading

    kw = dict(dlat_deg=30.0, dlon_deg=30.0, n_radial=4)
    ref = GridGravity("thomas3k", cache=False, **kw)
    path = tmp_path / f"gridgravity-{ref.key}.npz"
    fd = os.open(tmp_path / f".{path.stem}.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # "another process" is building
    builds = []
    build = GridGravity._build
    monkeypatch.setattr(GridGravity, "_build", lambda self: (builds.append(1), build(self)))
    out = {}
    th = threading.Thread(target=lambda: out.setdefault("g", GridGravity("thomas3k", cache_dir=tmp_path, **kw)))
    th.start()
    th.join(0.5)
    assert th.is_alive() and not path.exists()  # waiting for the lock
    np.savez(path, R=ref.R, G=ref.G, C=ref.C, S=ref.S)
    os.close(fd)  # the builder is done
    th.join(60)
    assert not th.is_alive() and builds == []
    np.testing.assert_array_equal(out["g"].G, ref.G)
    # the lock held by nobody: a missing grid is built (and written) by the caller
    g = GridGravity("thomas3k", cache_dir=tmp_path / "other", **kw)
    assert builds == [1] and g.cache_path.parent.name == "other"
