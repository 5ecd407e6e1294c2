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


def _blas_setters() -> list:
    """The ``*openblas_set_num_threads*``/``*openblas_get_num_threads*`` pairs of the OpenBLAS
    libraries loaded in this process (NumPy's and SciPy's wheels each bundle one), found through
    /proc/self/maps (Linux); empty elsewhere or when none is loaded."""
    import ctypes

    try:
        with open("/proc/self/maps") as f:
            names = (ln.split()[-1] for ln in f if len(ln.split()) >= 6)
            paths = sorted({p for p in names if "openblas" in os.path.basename(p).lower() and ".so" in p})
    except OSError:
        return []
    out = []
    for p in paths:
        try:
            lib = ctypes.CDLL(p, mode=getattr(ctypes, "RTLD_NOLOAD", 0) | ctypes.RTLD_GLOBAL)
        except OSError:
            continue
        for prefix, suffix in (("scipy_", "64_"), ("scipy_", ""), ("", "64_"), ("", "")):
            try:
                setter = getattr(lib, f"{prefix}openblas_set_num_threads{suffix}")
                getter = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}")
            except AttributeError:
                continue
            setter.argtypes, setter.restype, getter.restype = [ctypes.c_int], None, ctypes.c_int
            out.append((setter, getter))
            break
    return out


def limit_threads(n: int | None) -> dict:
    """Set the threads numba's parallel kernels (for this thread and those it starts) and the loaded
    OpenBLAS libraries use to ``n`` (``None``: leave them), and return what they were, as a dict for
    :func:`restore_threads`. Used where several processes share the cores (the analyses' workers):
    each then keeps to one thread instead of all of them starting one per core."""
    before: dict = {"numba": num_threads() if HAVE_NUMBA else None, "blas": []}
    if n is None:
        return before
    n = max(1, int(n))
    if HAVE_NUMBA:
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    for setter, getter in _blas_setters():
        before["blas"].append((setter, getter()))
        setter(n)
    return before


def restore_threads(before: dict) -> None:
    """Undo :func:`limit_threads` (its returned dict)."""
    if HAVE_NUMBA and before.get("numba"):
        numba.set_num_threads(before["numba"])
    for setter, value in before.get("blas", []):
        setter(value)
