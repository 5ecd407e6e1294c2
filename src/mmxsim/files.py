"""Files that are either complete or absent: atomic writes for caches, checkpoints and outputs.

A writer gets a temporary file beside the target (a unique name from :func:`tempfile.mkstemp`,
so two processes never share one), writes and ``fsync``\\ s it, and only then renames it over
the target (``os.replace`` is atomic on POSIX and Windows). A process killed, interrupted or out
of disk space midway leaves the old file (or none) and at most a hidden ``.NAME.*.tmp`` file,
which :func:`remove_stale_temporaries` clears. Layer 0: no mmxsim imports.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

__all__ = ["atomic_write", "atomic_file", "build_lock", "remove_stale_temporaries", "csv_text", "cache_dir"]


@contextmanager
def atomic_file(path: str | os.PathLike) -> Iterator[BinaryIO]:
    """``with atomic_file(p) as fh: fh.write(...)``: ``p`` appears, complete, when the block ends
    without an exception; on any exception (KeyboardInterrupt included) it is left untouched."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


@contextmanager
def build_lock(path: str | os.PathLike | None) -> Iterator[bool]:
    """``with build_lock(p) as waited:`` holds an exclusive lock (``fcntl.flock``) on the hidden
    ``.<stem of p>.lock`` beside the cache file ``p`` while it is built, so that one process at a
    time builds it; ``waited`` says that another process held the lock first (then ``p`` has
    probably been written meanwhile: read it before building). No lock (``waited`` False) for
    ``p`` None, without fcntl (Windows), where the folder cannot be written or the file system
    has no locks. The lock file stays (empty): removing it would let two builders lock two files."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        fcntl = None
    fd = None
    if path is not None and fcntl is not None:
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path.parent / f".{path.stem}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:
            fd = None
    if fd is None:
        yield False
        return
    try:
        waited = False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            waited = True
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # a file system without locks: build without one
            pass
        yield waited
    finally:
        os.close(fd)  # releases the lock


def atomic_write(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename); returns the path."""
    with atomic_file(path) as fh:
        fh.write(data)
    return Path(path)


def remove_stale_temporaries(folder: str | os.PathLike, name: str = "*") -> int:
    """Delete the ``.NAME.*.tmp`` files a killed writer left in ``folder``; returns how many."""
    n = 0
    for p in Path(folder).glob(f".{name}.*.tmp"):
        try:
            p.unlink()
            n += 1
        except OSError:
            pass
    return n


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value) -> str:
    """A text cell for a CSV file that a spreadsheet will not run as a formula.

    Text that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (OWASP's list for
    CSV injection) gets a leading apostrophe, which spreadsheets show as text. Use it for names and
    free text (station names, event details), not for numbers: ``-1.5`` must stay a number."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _user_cache_home() -> Path:
    """``$XDG_CACHE_HOME``, else ``~/.cache``: where mmxsim's and numba's user-wide caches live."""
    return Path(os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"))


def cache_dir() -> Path:
    """mmxsim's on-disk cache folder (gravity grids, horizon bounds, surface-distance BVHs):
    ``$MMXSIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/mmxsim``, else ``~/.cache/mmxsim``. Read at each call,
    so a changed environment takes effect; the one rule that the writers and ``mmxsim cache`` share."""
    if os.environ.get("MMXSIM_CACHE_DIR"):
        return Path(os.environ["MMXSIM_CACHE_DIR"])
    return _user_cache_home() / "mmxsim"


def numba_cache_has(py_file: str | os.PathLike, qualname: str) -> bool:
    """Whether numba's disk cache holds an index for the function ``qualname`` of the module ``py_file``,
    looked for where numba's cache locators (``numba.core.caching``, numba 0.6x) put it, in their order:
    ``$NUMBA_CACHE_DIR/<folder>_<sha1 of the folder>``, else the ``__pycache__`` beside the source
    where it is writable, else the user-wide ``$XDG_CACHE_HOME/numba/<folder>_<sha1>`` (or
    ``~/.cache/numba/...``); file ``<module>.<qualname>-<line>.py<ver>.nbi``. Without importing numba
    (a process that has imported it can no longer fork safely: :func:`mmxsim.analyses.start_method`).
    A hint, not a promise (numba may lay its cache out differently in another version): only the
    order in which a concurrent run hands out its analyses depends on it."""
    import hashlib

    src = Path(os.path.abspath(py_file))
    folder = str(src.parent)
    sub = f"{os.path.basename(folder)}_{hashlib.sha1(folder.encode()).hexdigest()}"
    if os.environ.get("NUMBA_CACHE_DIR"):
        places = [Path(os.environ["NUMBA_CACHE_DIR"]) / sub]
    else:
        places = [src.parent / "__pycache__", _user_cache_home() / "numba" / sub]
    pattern = f"{src.stem}.{qualname}-*.nbi"
    return any(next(p.glob(pattern), None) is not None for p in places if p.is_dir())
