"""The BVH build (mmxsim.bodies.bvh): the compiled SAH build gives the NumPy build's tree."""

import numpy as np
import pytest

from mmxsim.bodies import bvh as B
from mmxsim.bodies.shapes import icosphere, phobos_shape

_FIELDS = ("bmin", "bmax", "left", "right", "start", "count", "v0", "e1", "e2", "tri_id", "box", "nd", "tri")


@pytest.mark.skipif(not B.HAVE_NUMBA, reason="the compiled build needs numba")
@pytest.mark.parametrize("leaf", [1, B.LEAF_SIZE, 9])
def test_compiled_sah_build_equals_the_numpy_build(leaf):
    """Node for node, the same boxes, children, leaf ranges and triangle order (thomas3k, 3480
    facets, and a sphere, whose many equal centroid coordinates exercise the stable sort and the
    first-minimum choice of equal costs). A different split rule, sort or traversal order fails."""
    s = phobos_shape("thomas3k")
    ball = icosphere(3, 5.0)
    meshes = [(s.vertices, s.faces), (ball.vertices, ball.faces), (s.vertices, s.faces[:7])]
    built = [B.build_bvh(v, f, leaf_size=leaf, backend="numba") for v, f in meshes]
    for (v, f), a in zip(meshes, built):
        b = B.build_bvh(v, f, leaf_size=leaf, backend="numpy")
        assert a.n_nodes == b.n_nodes and (a.n_nodes > 1 or len(f) <= leaf)
        for nm in _FIELDS:
            np.testing.assert_array_equal(getattr(a, nm), getattr(b, nm), err_msg=nm)


@pytest.mark.skipif(not B.HAVE_NUMBA, reason="numba kernels only")
def test_compiled_ready_and_bad_backend():
    """compiled_ready: True once the kernel has run in this process (the automatic backend then
    takes it); a plain function is never ready. An unknown backend: InputError."""
    from mmxsim.errors import InputError

    s = phobos_shape("thomas3k")
    B.build_bvh(s.vertices, s.faces[:50], backend="numba")
    T = 3
    args = (np.zeros((T, 3)), np.ones((T, 3)), np.zeros((T, 3)), 4, np.empty((7, 3)), np.empty((7, 3)),
            np.full(7, -1), np.zeros(7, np.int64), np.zeros(7, np.int64), np.zeros(7, np.int64), np.arange(T))
    assert B.compiled_ready(B._sah_kernel, args)
    assert not B.compiled_ready(B._sah_impl, args)
    with pytest.raises(InputError):
        B.build_bvh(s.vertices, s.faces, backend="fortran")


def test_argsort_stable_is_numpys_stable_order():
    """The SAH build's own merge sort gives np.argsort(kind="stable"): many ties (the order among
    equal keys), lengths around its run size of 16, -0.0 against 0.0; a sort taking the right run's
    element on ties, or an unstable one, fails."""
    rng = np.random.default_rng(3)
    for n in (0, 1, 2, 15, 16, 17, 33, 100, 1000):
        key = np.round(rng.normal(size=n) * 3.0)  # ~15 distinct values: ties everywhere
        if n > 4:
            key[:4] = [0.0, -0.0, 0.0, -0.0]
        o, tmp, kv, kt = (np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n), np.empty(n))
        B._argsort_stable(key, n, o, tmp, kv, kt)
        np.testing.assert_array_equal(o, np.argsort(key, kind="stable"))
        np.testing.assert_array_equal(kv, key[o])


def test_run_chunks_covers_every_range_once_and_raises():
    """_accel.run_chunks: the ranges [c n // k, (c + 1) n // k) of range(n), each exactly once, over
    two threads; one thread gets one call over the whole range; an exception in any range is raised
    in the caller."""
    import threading

    from mmxsim._accel import limit_threads, restore_threads, run_chunks

    seen, lock = [], threading.Lock()

    def kernel(tag, i0, i1):
        with lock:
            seen.append((tag, i0, i1, threading.get_ident()))

    before = limit_threads(2)
    try:
        for n, k in ((10, 3), (1000, 64), (5, 9), (1, 1)):
            seen.clear()
            run_chunks(kernel, ("x",), n, k)
            kk = min(k, n)
            assert sorted((a, b) for _, a, b, _ in seen) == [((c * n) // kk, ((c + 1) * n) // kk) for c in range(kk)]

        def bad(i0, i1):
            if i0 <= 50 < i1:
                raise ValueError("chunk with 50")

        with pytest.raises(ValueError, match="chunk with 50"):
            run_chunks(bad, (), 100, 10)
        limit_threads(1)
        seen.clear()
        run_chunks(kernel, ("y",), 100, 10)
        assert [(a, b) for _, a, b, _ in seen] == [(0, 100)]
    finally:
        restore_threads(before)


@pytest.mark.skipif(not B.HAVE_NUMBA, reason="numba kernels only")
def test_ray_batches_same_under_one_and_two_threads_with_one_signature():
    """first_hits / any_hits: the same hits with one thread and with two (chunks of rays over
    threads), and read-only inputs copied so that each kernel is compiled for one set of types."""
    from mmxsim._accel import limit_threads, restore_threads

    s = phobos_shape("thomas3k")
    rng = np.random.default_rng(4)
    O = rng.normal(size=(3000, 3)) * 30.0
    D = -O + rng.normal(size=(3000, 3))
    Ob = O.copy()
    Ob.setflags(write=False)
    out = []
    for n in (1, 2):
        before = limit_threads(n)
        try:
            out.append((*B.first_hits(s, O if n == 1 else Ob, D), B.any_hits(s, Ob, D[0], 0.9)))
        finally:
            restore_threads(before)
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)
    assert np.isfinite(out[0][0]).sum() > 500 and out[0][2].sum() > 100
    assert len(B._first_hits_kernel.signatures) == 1 and len(B._any_hits_kernel.signatures) == 1
