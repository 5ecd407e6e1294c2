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

__all__ = ["HAVE_NUMBA", "numba", "prange", "jit", "num_threads", "share_compilation", "run_chunks"]


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
    d = numba.njit(**opts)(f)
    if cache and not inline:
        share_compilation(d)
    return d


# --------------------------------------------------------------------------------------------
# One compilation per kernel and signature across the processes of a run (issue 19, the first run)
#
# On a first run several processes compile mmxsim's kernels at once: the run's own, its analysis
# workers and the background compiler (mmxsim.mission.warmup). Without coordination two of them
# compile the same kernel for the same argument types side by side, seconds of the same work done twice
# (numba's disk cache only helps a process that looks after the other has written it). So a
# dispatcher made here compiles under an advisory file lock, one per kernel and signature, beside
# numba's cache index: a process that needs a kernel another is compiling waits for it (its core
# is free meanwhile, the other's compilation goes faster), then numba's own compile finds the
# new entry in the disk cache and loads it. Only the outermost compilation of a thread takes a lock
# (a kernel's callees compile inside it, under numba's compiler lock): a thread holds one lock at a time
# and waits only while it holds none, so the locks cannot deadlock. The lock never changes what is
# compiled: numba's compile is called as before, and where there is no lock (no fcntl, a read-only
# folder) it runs at once. A wait is bounded (:data:`LOCK_WAIT_S`), and a holder with a lower priority
# that is not getting a core (the nice background compiler on a machine busy with other work: measured,
# a worker waited 30 s for a 3 CPU-s compilation it then did in 6) is not waited for: the waiter
# compiles, as without the lock.

#: Longest wait, in seconds, for a kernel another process is compiling before compiling it anyway: a
#: compilation takes seconds (the costliest ~7 CPU-s); a holder that takes much longer is starved
#: (e.g. the nice background compiler on a machine busy with other work), not worth waiting for.
LOCK_WAIT_S = 30.0

_local = None  # threading.local: the depth of numba compilations in this thread
#: counters of this process: {"waited": locks found held, "wait_s": seconds waited for them,
#: "locked": compilations done under a lock, "gave_up": waits given up (compiled here after all)}
LOCK_STATS = {"waited": 0, "wait_s": 0.0, "locked": 0, "gave_up": 0}


def _lock_path(d, args):
    """The lock file of dispatcher ``d``'s compilation for argument types ``args``: beside its index
    in numba's cache folder (``<index name>.<signature digest>.lock``); None without a disk cache."""
    import hashlib

    cache = getattr(d, "_cache", None)
    folder, impl = getattr(cache, "_cache_path", None), getattr(cache, "_impl", None)
    base = getattr(impl, "filename_base", None)
    if not folder or not base:
        return None
    sig = hashlib.sha1(repr(tuple(args)).encode()).hexdigest()[:12]
    return os.path.join(folder, f"{base}.{sig}.lock")


def _open_lock(path):
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except FileNotFoundError:  # numba makes the folder on its first save
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


def try_lock(d, sig):
    """Take dispatcher ``d``'s lock for signature ``sig`` without waiting: the open file descriptor
    (close it to release), False when another process holds it, None when there is no lock here."""
    try:
        import fcntl  # noqa: F401 - no lock without it (Windows)

        from numba.core import sigutils

        path = _lock_path(d, sigutils.normalize_signature(sig)[0])
        if path is None:
            return None
        fd = _open_lock(path)
    except (ImportError, OSError, TypeError, ValueError):
        return None
    if _take(fd):
        return fd
    os.close(fd)
    return False


def _take(fd) -> bool:
    """Lock the open lock file ``fd`` without waiting and write this process' id into it; False
    when another process holds it."""
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    _mark_holder(fd)
    return True


def _mark_holder(fd) -> None:
    """Write this process' id into a lock file it holds (read by a waiter: :func:`_starved`)."""
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
    except OSError:
        pass


def _cpu_and_nice(pid: int):
    """(CPU seconds used, niceness) of process ``pid`` from /proc (Linux), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), int(fields[16])
    except (OSError, ValueError, IndexError):
        return None


def _starved(fd, seen: list, now: float) -> bool:
    """Whether the holder of the lock file ``fd`` (its process id written in it) is a lower-priority
    process that is not getting a core: niced more than this one and using less than half a CPU over
    the last 2 s (``seen``: this wait's samples). Such a holder (the background compiler on a machine
    busy with other work) may take minutes; compiling here costs seconds."""
    try:
        pid = int(os.pread(fd, 32, 0).decode() or 0)
    except (OSError, ValueError):
        return False
    got = _cpu_and_nice(pid) if pid > 0 and pid != os.getpid() else None
    if got is None:
        return False
    seen.append((now, got[0]))
    while len(seen) > 1 and now - seen[1][0] >= 2.0:
        seen.pop(0)
    if got[1] <= os.nice(0) or now - seen[0][0] < 2.0:
        return False
    return (got[0] - seen[0][1]) / (now - seen[0][0]) < 0.5


def _acquire(path):
    """The descriptor of ``path`` locked (waiting while another process compiles: up to
    :data:`LOCK_WAIT_S`, and not for a starved lower-priority holder, :func:`_starved`), or None
    (no lock: compile anyway)."""
    import time

    try:
        fd = _open_lock(path)
    except OSError:
        return None
    if _take(fd):
        return fd
    t0 = last = time.monotonic()
    LOCK_STATS["waited"] += 1
    delay, seen = 0.005, []
    while True:  # polled rather than a blocking flock: the wait stays bounded and interruptible
        time.sleep(delay)
        delay = min(0.05, delay * 2)
        if _take(fd):
            break
        now = time.monotonic()
        starved = False
        if now - last >= 0.25:
            last = now
            starved = _starved(fd, seen, now)
        if starved or now - t0 > LOCK_WAIT_S:
            LOCK_STATS["gave_up"] += 1
            os.close(fd)
            fd = None
            break
    LOCK_STATS["wait_s"] += time.monotonic() - t0
    return fd


def _shared_compile(self, sig, _compile=None):
    """``Dispatcher.compile`` under the kernel's lock (see above)."""
    import threading

    global _local
    if _local is None:
        _local = threading.local()
    if getattr(_local, "depth", 0):  # a callee, compiled inside its caller's compilation
        return _compile(self, sig)
    try:
        from numba.core import sigutils

        args = tuple(sigutils.normalize_signature(sig)[0])
        path = None if self.overloads.get(args) is not None else _lock_path(self, args)
    except Exception:  # noqa: BLE001 - a signature numba will reject itself
        path = None
    if path is None:
        return _compile(self, sig)
    fd = _acquire(path)
    _local.depth = 1
    try:
        if fd is not None:
            LOCK_STATS["locked"] += 1
        return _compile(self, sig)  # numba's: the loaded overload, the disk cache's entry, or a compilation
    finally:
        _local.depth = 0
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the lock


def share_compilation(d):
    """Make dispatcher ``d`` compile under its per-signature file lock (see above); returns ``d``.
    Without fcntl (Windows) ``d`` is left as it is."""
    try:
        import fcntl  # noqa: F401
        import types as _pytypes
    except ImportError:  # pragma: no cover - not on POSIX
        return d
    orig = type(d).compile
    d.compile = _pytypes.MethodType(lambda self, sig: _shared_compile(self, sig, orig), d)
    return d


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


# ---------------------------------------------------------------------------------------------
# Serial kernels over threads: numba compiles a ``parallel=True`` kernel (its parfor passes) about three
# times slower than the same loop written serially (e.g. the horizon bound of instruments._raycast: 6.5
# against 2.0 CPU-s), and a kernel that serves calls of one item and of many was compiled twice (a serial
# and a parallel build). The kernels that :func:`run_chunks` drives are compiled once, serially, with the
# GIL released (``nogil``), and take the range of items to work on as their last two arguments; the
# threads run the same per-item arithmetic as a ``prange`` would, so the results are identical.
_POOL: list = [None, None]  # (pid, ThreadPoolExecutor) of this process' helper threads
_POOL_LOCK = None


def _helpers():
    """The helper threads of :func:`run_chunks` (one fewer than numba's maximum thread count), made
    on first use and again in a forked child (whose copy of the parent's pool has no threads)."""
    global _POOL_LOCK
    import threading

    if _POOL_LOCK is None:
        _POOL_LOCK = threading.Lock()
    with _POOL_LOCK:
        if _POOL[0] != os.getpid():
            from concurrent.futures import ThreadPoolExecutor

            most = numba.config.NUMBA_NUM_THREADS if HAVE_NUMBA else 1
            _POOL[0], _POOL[1] = os.getpid(), ThreadPoolExecutor(max(1, most - 1), "mmxsim-chunks")
        return _POOL[1]


def run_chunks(kernel, args: tuple, n: int, nchunk: int) -> None:
    """Call ``kernel(*args, i0, i1)`` for the ``nchunk`` ranges ``[c n // nchunk, (c + 1) n // nchunk)``
    that cover ``range(n)`` (``kernel`` must give the same results for one call over ``[0, n)``, which is
    what one thread gets), spread over :func:`num_threads` threads (the calling thread and helpers;
    :func:`limit_threads` applies): each thread takes the next range not yet taken until none is left
    (dynamic scheduling), and the call returns when every range is done (an exception in any is raised
    here). ``kernel`` must release the GIL (``jit`` does: ``nogil``) for the threads to run at once. A
    calling thread never waits for a helper that has not started, so nested or concurrent calls cannot
    block each other."""
    import itertools
    import threading

    n = int(n)
    nchunk = max(1, min(int(nchunk), n))
    nth = min(num_threads(), nchunk)
    if nth <= 1:  # the ranges in order, in one call
        kernel(*args, 0, n)
        return
    nxt = itertools.count()  # next() is atomic under the GIL
    state = {"done": 0, "error": None}
    cond = threading.Condition()

    def work():
        while True:
            c = next(nxt)
            if c >= nchunk:
                return
            try:
                if state["error"] is None:
                    kernel(*args, (c * n) // nchunk, ((c + 1) * n) // nchunk)
            except BaseException as exc:  # noqa: BLE001 - raised again in the calling thread
                state["error"] = exc
            finally:
                with cond:
                    state["done"] += 1
                    if state["done"] == nchunk:
                        cond.notify_all()

    pool = _helpers()
    for _ in range(nth - 1):
        pool.submit(work)
    work()
    with cond:
        while state["done"] < nchunk:
            cond.wait()
    if state["error"] is not None:
        raise state["error"]
