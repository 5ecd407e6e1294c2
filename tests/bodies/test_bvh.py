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
