"""The numba accelerator, in one place (layer 0).

numba (BSD-2, a core dependency) compiles the scalar kernels of the polyhedron, fast gravity, ray
casting, Lambert, descent, rover and touchdown models. Where it cannot be installed, or with
``MMXSIM_NO_NUMBA=1``, the same code runs as plain Python: correct, but the reference mission's
quick look takes about 12 minutes instead of half a minute. ``jit`` applies the project's compile
options.
"""

from __future__ import annotations

import os

try:  # the accelerator (BSD-2); plain Python where it cannot be imported
    import numba

    HAVE_NUMBA = os.environ.get("MMXSIM_NO_NUMBA", "") == ""
    prange = numba.prange  # a plain range when not compiled
except ImportError:  # pragma: no cover - depends on the environment
    numba = None
    HAVE_NUMBA = False
    prange = range

__all__ = ["HAVE_NUMBA", "numba", "prange", "jit"]


def jit(f, parallel: bool = False):
    """``numba.njit`` with the project's options (disk cache, no fastmath, NumPy error model,
    GIL released), or ``f`` itself without numba."""
    if not HAVE_NUMBA:
        return f
    return numba.njit(cache=True, fastmath=False, error_model="numpy", nogil=True, parallel=parallel)(f)
