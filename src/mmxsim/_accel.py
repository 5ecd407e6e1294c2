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

__all__ = ["HAVE_NUMBA", "numba", "prange", "jit", "num_threads"]


def jit(f, parallel: bool = False, inline: bool = False, cache: bool = True):
    """``numba.njit`` with the project's options (disk cache, no fastmath, NumPy error model,
    GIL released), or ``f`` itself without numba. ``inline``: numba's ``inline="always"`` (the
    body is inlined at the numba IR level into every caller); ``cache``: numba's disk cache (for
    a closure built by a factory, numba keys the cache entry on the closed-over values too)."""
    if not HAVE_NUMBA:
        return f
    opts = dict(cache=cache, fastmath=False, error_model="numpy", nogil=True, parallel=parallel)
    if inline:
        opts["inline"] = "always"
    return numba.njit(**opts)(f)


def num_threads() -> int:
    """numba's current number of threads (1 without numba)."""
    return numba.get_num_threads() if HAVE_NUMBA else 1
