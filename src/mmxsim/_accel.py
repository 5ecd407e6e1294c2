"""The optional numba accelerator, in one place (layer 0).

numba (BSD-2) compiles the scalar kernels of the polyhedron, fast gravity, ray casting, Lambert,
descent, rover and touchdown models. Without it, or with ``MMXSIM_NO_NUMBA=1``, the same code
runs as plain Python (correct, slower). ``jit`` applies the project's compile options.
"""

from __future__ import annotations

import os

try:  # optional accelerator (BSD-2)
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
