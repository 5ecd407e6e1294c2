"""Constant-density polyhedron gravity (Werner & Scheeres 1997) against independent references.

Tolerances are stated in each test, with the values measured when they were written.
"""

import numpy as np
import pytest

from mmxsim.bodies.shapes import icosphere
from mmxsim.bodies import GM_PHOBOS
from mmxsim.bodies.shapes import ShapeModel, phobos_shape
from mmxsim.errors import InputError
from mmxsim.gravity import phobos_field, sh_acceleration, sh_potential
from mmxsim.gravity.polyhedron import G_SI, HAVE_NUMBA, Polyhedron
from mmxsim.mathns import NP

BACKENDS = ["numpy"] + (["numba"] if HAVE_NUMBA else [])


def _surface_points(shape, n, hmin=1e-3, hmax=100.0, seed=0):
    """n points above random facets, altitude log-uniform in [hmin, hmax] km along the facet normal
    (from ~1 m above the surface to 100 km)."""
    rng = np.random.default_rng(seed)
    f = rng.integers(0, len(shape.faces), n)
    v = shape.vertices[shape.faces[f]]  # (n, 3, 3)
    w = rng.dirichlet(np.ones(3), n)
    base = np.einsum("nk,nki->ni", w, v)
    nrm = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])
    nrm /= np.linalg.norm(nrm, axis=1)[:, None]
    h = 10 ** rng.uniform(np.log10(hmin), np.log10(hmax), n)
    return base + h[:, None] * nrm


def _reference(shape, g_rho, points):
    pg = pytest.importorskip("polyhedral_gravity")  # GPL-3: test-only reference, never imported by mmxsim
    ref = pg.Polyhedron((shape.vertices, shape.faces), g_rho, pg.NormalOrientation.OUTWARDS,
                        pg.PolyhedronIntegrity.DISABLE, pg.MetricUnit.UNITLESS)
    res = pg.evaluate(ref, points, True)
    u = np.array([r[0] for r in res])
    a = np.array([r[1] for r in res])
    t = np.array([r[2] for r in res])  # xx, yy, zz, xy, xz, yz
    return u, a, t[:, [0, 3, 4, 3, 1, 5, 4, 5, 2]].reshape(-1, 3, 3)


@pytest.mark.parametrize("mesh,npts", [("thomas3k", 1500), ("ernst", 300)])
@pytest.mark.parametrize("backend", BACKENDS)
def test_against_polyhedral_gravity(mesh, npts, backend):
    """vs polyhedral-gravity (Tsoulis line-integral formulation) from 1 m to 100 km altitude:
    potential and acceleration relative error < 1e-9. Measured max (numba): U 8e-12 / 1.4e-11,
    acceleration 1.9e-11 / 3.6e-11 (thomas3k / ernst); NumPy backend U 8e-11, a 1.5e-10.
    Gradient tensor (first 200 points) < 1e-7 of its largest element (measured 1e-10 ... 1.4e-8,
    largest at ~1 m altitude)."""
    s = phobos_shape(mesh)
    p = Polyhedron(s, backend=backend)
    P = _surface_points(s, npts if backend == "numba" else npts // 5)
    u, a = p.potential_acceleration(P)
    ur, ar, tr = _reference(s, p.g_rho, P)
    assert np.max(np.abs(u - ur) / np.abs(ur)) < 1e-9
    assert np.max(np.linalg.norm(a - ar, axis=1) / np.linalg.norm(ar, axis=1)) < 1e-9
    T = p.gradient_tensor(P[:200])
    err = np.abs(T - tr[:200]).max(axis=(1, 2)) / np.abs(tr[:200]).max(axis=(1, 2))
    assert err.max() < 1e-7


def test_backends_agree_inside_and_outside():
    """numba and NumPy kernels: same formulas, agree to 1e-12 (relative) everywhere."""
    if not HAVE_NUMBA:
        pytest.skip("numba not installed")
    s = phobos_shape("thomas3k")
    a, b = Polyhedron(s, backend="numba"), Polyhedron(s, backend="numpy")
    P = np.vstack([_surface_points(s, 100, seed=4), 0.5 * s.vertices[::40]])
    ua, ga = a.potential_acceleration(P)
    ub, gb = b.potential_acceleration(P)
    assert np.max(np.abs(ua - ub) / np.abs(ub)) < 1e-12
    assert np.max(np.linalg.norm(ga - gb, axis=1) / np.linalg.norm(gb, axis=1)) < 1e-12
    np.testing.assert_allclose(a.gradient_tensor(P), b.gradient_tensor(P), rtol=0, atol=1e-12 * p_scale(a))


def p_scale(p):
    return 4 * np.pi * p.g_rho


def test_far_field_matches_degree10_harmonics():
    """Ernst mesh at constant density vs the packaged degree-10 field of the same mesh
    (exact volume integration, same GM). At r >= 30 km the difference is the degree >= 11
    truncation. Measured max relative acceleration difference 2.4e-6 at 30 km (the degree-10
    terms alone are 5.6e-6 there), 7.2e-9 at 50 km (∝ r^-11.4, i.e. the degree-11 term),
    2.9e-12 at 100 km; potential 1.8e-7 / 4.6e-13 at 30 / 100 km. Asserted: acceleration
    < 1e-5 at 30 km and < 1e-10 at 100 km, potential < 1e-6 and < 1e-11."""
    s = phobos_shape("ernst")
    p = Polyhedron(s, gm=GM_PHOBOS)
    f = phobos_field(10)
    rng = np.random.default_rng(7)
    d = rng.normal(size=(60, 3))
    d /= np.linalg.norm(d, axis=1)[:, None]
    for r, tol_a, tol_u in ((30.0, 1e-5, 1e-6), (100.0, 1e-10, 1e-11)):
        P = d * r
        u, a = p.potential_acceleration(P)
        ash = np.array([sh_acceleration(list(x), f, NP) for x in P])
        ush = np.array([sh_potential(list(x), f, NP) for x in P])
        ea = np.max(np.linalg.norm(a - ash, axis=1) / np.linalg.norm(ash, axis=1))
        eu = np.max(np.abs(u - ush) / ush)
        assert ea < tol_a, (r, ea)
        assert eu < tol_u, (r, eu)
    # the harmonics must be much better than the point mass at 30 km (J2 ~ 0.1): sanity
    P = d * 30.0
    a = p.acceleration(P)
    pm = -GM_PHOBOS * P / 30.0**3
    assert np.max(np.linalg.norm(a - pm, axis=1) / np.linalg.norm(pm, axis=1)) > 1e-2


@pytest.mark.parametrize("backend", BACKENDS)
def test_laplacian_inside_outside(backend):
    """∇²U = −4πGρ inside and 0 outside to 1e-12 of 4πGρ (measured 5e-15 / 5e-16)."""
    s = phobos_shape("thomas3k")  # a lat/lon/radius grid: star-shaped about the origin
    p = Polyhedron(s, backend=backend)
    rng = np.random.default_rng(2)
    inside = s.vertices[rng.integers(0, len(s.vertices), 200)] * rng.uniform(0.01, 0.97, (200, 1))
    outside = _surface_points(s, 200, hmin=1e-2, hmax=50, seed=3)
    outside = outside[np.linalg.norm(outside, axis=1) > 14.0]  # certainly outside (r_max = 13.96 km)
    lap_in, lap_out = p.laplacian(inside), p.laplacian(outside)
    k = 4 * np.pi * p.g_rho
    assert np.max(np.abs(lap_in + k)) < 1e-12 * k
    assert np.max(np.abs(lap_out)) < 1e-12 * k
    assert p.inside(inside).all() and not p.inside(outside).any()
    # and the trace of the gradient tensor is the same Laplacian
    T = p.gradient_tensor(np.vstack([inside[:20], outside[:20]]))
    tr = np.trace(T, axis1=1, axis2=2)
    assert np.max(np.abs(tr[:20] + k)) < 1e-10 * k and np.max(np.abs(tr[20:])) < 1e-10 * k


def test_acceleration_is_gradient_of_potential():
    """Central differences (h = 1e-4 km) of U vs ∇U at 5-50 km: 1e-8 relative."""
    s = phobos_shape("thomas3k")
    p = Polyhedron(s)
    P = _surface_points(s, 20, hmin=5, hmax=50, seed=9)
    a = p.acceleration(P)
    h = 1e-4
    g = np.stack([(p.potential(P + h * e) - p.potential(P - h * e)) / (2 * h) for e in np.eye(3)], axis=1)
    assert np.max(np.linalg.norm(a - g, axis=1) / np.linalg.norm(a, axis=1)) < 1e-8




def test_icosphere_converges_to_point_mass():
    """Icospheres (F = 320 ... 20480) with fixed GM = 1: the exterior field at r = 1.5 R tends to
    GM/r². Error ∝ F^-k with measured k = 1.001 (errors 1.7e-4, 4.3e-5, 1.1e-5, 2.7e-6 of GM/r²
    for F = 320, 1280, 5120, 20480; facet sagitta ∝ h² ∝ 1/F); asserted 0.9 < k < 1.1 and
    error < 1e-5 at F = 20480."""
    rng = np.random.default_rng(5)
    d = rng.normal(size=(50, 3))
    d /= np.linalg.norm(d, axis=1)[:, None]
    P = 1.5 * d
    errs, nfs = [], []
    for n in range(2, 6):
        s = icosphere(n)
        p = Polyhedron(s, gm=1.0)
        a = p.acceleration(P)
        errs.append(np.max(np.linalg.norm(a + P / 1.5**3, axis=1)) * 1.5**2)
        nfs.append(len(s.faces))
    k = -np.polyfit(np.log(nfs), np.log(errs), 1)[0]
    assert 0.9 < k < 1.1, (k, errs)
    assert errs[-1] < 1e-5


def _cube(side=2.0):
    v = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float) * side / 2
    f = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                  [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    return ShapeModel(v, f, "cube")


def _prism_potential(p, lo, hi, g_rho):
    """Closed-form potential of a homogeneous rectangular prism (Nagy 1966; Nagy, Papp &
    Benedek 2000, J. Geodesy 74, 552, eq. 7), U positive."""
    total = 0.0
    for i, x in enumerate((lo[0] - p[0], hi[0] - p[0])):
        for j, y in enumerate((lo[1] - p[1], hi[1] - p[1])):
            for k, z in enumerate((lo[2] - p[2], hi[2] - p[2])):
                r = np.sqrt(x * x + y * y + z * z)
                val = (x * y * np.log(z + r) + y * z * np.log(x + r) + z * x * np.log(y + r)
                       - 0.5 * x * x * np.arctan(y * z / (x * r)) - 0.5 * y * y * np.arctan(z * x / (y * r))
                       - 0.5 * z * z * np.arctan(x * y / (z * r)))
                total += (-1) ** (i + j + k + 1) * val
    return g_rho * total


def _gauss_cube_potential(p, g_rho, n=48):
    x, w = np.polynomial.legendre.leggauss(n)
    X, Y, Z = np.meshgrid(x, x, x, indexing="ij")
    W = w[:, None, None] * w[None, :, None] * w[None, None, :]
    return g_rho * np.sum(W / np.sqrt((X - p[0]) ** 2 + (Y - p[1]) ** 2 + (Z - p[2]) ** 2))


@pytest.mark.parametrize("backend", BACKENDS)
def test_cube_against_closed_form(backend):
    """Cube of side 2 (Gρ = 1): potential vs the closed form of Nagy (1966) at exterior and
    interior points (incl. the centre), 1e-13 relative (measured <= 2.2e-16); the closed form
    agrees with a 48³-point Gauss-Legendre integration at (3, 0.9, 0.5) (asserted 1e-12, measured
    0); at (10, -7, 4), where the closed form cancels, vs the quadrature: 2e-13 (measured 4.5e-14)."""
    p = Polyhedron(_cube(), gm=8.0, backend=backend)  # V = 8 -> G rho = 1
    assert p.g_rho == 1.0
    pts = np.array([[3.0, 0.9, 0.5], [1.3, -0.2, 0.7], [0.2, 0.3, -0.4], [-0.9, 0.95, 0.1], [0.0, 0.0, 0.0]])
    u = p.potential(pts)
    ref = np.array([_prism_potential(x, (-1, -1, -1), (1, 1, 1), 1.0) for x in pts])
    np.testing.assert_allclose(u, ref, rtol=1e-13)
    assert _gauss_cube_potential(pts[0], 1.0) == pytest.approx(ref[0], rel=1e-12)
    # far away the closed form loses digits to cancellation (8 large terms); use the quadrature
    far = np.array([10.0, -7.0, 4.0])
    assert p.potential(far[None])[0] == pytest.approx(_gauss_cube_potential(far, 1.0), rel=2e-13)


def test_density_and_gm():
    s = phobos_shape("ernst")
    p = Polyhedron(s)
    assert p.gm == GM_PHOBOS
    assert p.density == pytest.approx(1844, abs=1)  # SOURCES.md §5: 1844 kg/m^3 for this volume
    q = Polyhedron(s, density=1844.0)
    assert q.gm == pytest.approx(G_SI * 1844.0 * s.volume)
    with pytest.raises(InputError, match="not both"):
        Polyhedron(s, gm=1e-3, density=1800)
    with pytest.raises(InputError, match="no default"):
        Polyhedron(_cube())


def test_malformed_meshes_refused():
    c = _cube()
    with pytest.raises(InputError, match="open mesh: 1 boundary edges|open mesh: 3 boundary edges"):
        Polyhedron(ShapeModel(c.vertices, c.faces[:-1], "open"), gm=1.0)
    with pytest.raises(InputError, match="non-manifold mesh"):
        Polyhedron(ShapeModel(c.vertices, np.vstack([c.faces, c.faces[:1]]), "dup"), gm=1.0)
    with pytest.raises(InputError, match="inward-oriented mesh: negative volume"):
        Polyhedron(ShapeModel(c.vertices, c.faces[:, ::-1], "inv"), gm=1.0)
    with pytest.raises(InputError, match=r"\(N, 3\)"):
        Polyhedron(c, gm=1.0).potential(np.zeros((4, 2)))


def test_points_on_the_surface_are_finite_and_continuous():
    """On a vertex, an edge midpoint and a face centroid the potential and acceleration are
    finite and equal the limit from 1e-7 km outside (relative 1e-6: U is C¹ across the
    surface, so the difference is O(1e-7 km))."""
    s = phobos_shape("thomas3k")
    p = Polyhedron(s)
    f = s.faces[100]
    v = s.vertices[f]
    nrm = np.cross(v[1] - v[0], v[2] - v[0])
    nrm /= np.linalg.norm(nrm)
    on = np.array([v[0], 0.5 * (v[0] + v[1]), v.mean(axis=0)])
    u0, a0 = p.potential_acceleration(on)
    u1, a1 = p.potential_acceleration(on + 1e-7 * nrm)
    assert np.all(np.isfinite(u0)) and np.all(np.isfinite(a0))
    assert np.max(np.abs(u0 - u1) / u1) < 1e-6
    assert np.max(np.linalg.norm(a0 - a1, axis=1) / np.linalg.norm(a1, axis=1)) < 1e-6
    # (the Laplacian is discontinuous there: exactly on a face it comes out as 0 or -4πGρ)


def test_small_and_large_batches_agree():
    """Batches of 1 point (scalar kernel) and 200 points (SIMD kernel) give the same numbers
    (relative 1e-13)."""
    s = phobos_shape("thomas3k")
    p = Polyhedron(s)
    P = _surface_points(s, 200, hmin=1e-3, hmax=50, seed=11)
    u, a = p.potential_acceleration(P)
    for i in (0, 17, 199):
        ui, ai = p.potential_acceleration(P[i:i + 1])
        assert ui[0] == pytest.approx(u[i], rel=1e-13)
        assert np.linalg.norm(ai[0] - a[i]) < 1e-13 * np.linalg.norm(a[i])


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba kernels only")
def test_threads_and_read_only_meshes_change_nothing():
    """The kernels run chunks of points over threads (run_chunks) and take the mesh as a writable
    copy: one thread or two, a read-only mesh or not, the same numbers bit for bit (SIMD kernel for
    many points, scalar one for the tensor), from one compiled version of each kernel."""
    from mmxsim._accel import limit_threads, restore_threads
    from mmxsim.gravity import polyhedron as PH

    s = phobos_shape("thomas3k")
    v = s.vertices.copy()
    v.setflags(write=False)
    ro = ShapeModel(v, s.faces, name=s.name)
    P = np.random.default_rng(6).normal(size=(300, 3)) * 20.0
    res = []
    for n, shape in ((1, s), (2, ro)):
        before = limit_threads(n)
        try:
            p = Polyhedron(shape)
            res.append((*p.potential_acceleration(P), p.gradient_tensor(P[:40])))
        finally:
            restore_threads(before)
    for a, b in zip(*res):
        np.testing.assert_array_equal(a, b)
    assert all(len(k.signatures) == 1 for k in PH._KERNELS.values())
