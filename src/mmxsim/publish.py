"""A run's output folder is complete or untouched: staging, a lock, one swap, a checked manifest.

``mmxsim run --out OUT`` (through :func:`publish`) never writes into ``OUT`` directly:

1. ``OUT`` is checked first: it must be a real folder (not a symbolic link, not a file) that is
   new, empty or a previous mmxsim run (``summary.json`` of schema ``mmxsim.summary/*``); a folder
   holding anything else is refused rather than replaced.
2. A lock (``.OUT.lock`` beside it, ``fcntl.flock``: released by the OS when the process dies)
   refuses a second writer at once, naming the process that holds it.
3. Every file is written into a staging folder beside ``OUT`` (same file system). When all are
   written, ``summary.json`` gets an ``outputs`` block: ``complete: true`` and each file it vouches
   for with its size and SHA-256 (:func:`verify` re-checks them).
4. The previous ``OUT`` (if any) is renamed aside, the staging folder renamed to ``OUT`` and the
   old one deleted. Only this swap touches ``OUT``.

An exception (an interrupt, a full disk, a failed model) before the swap removes the staging
folder and leaves ``OUT`` as it was: the previous complete run, or nothing. A writer killed
outright (SIGKILL) can leave a staging folder, or the previous run renamed aside if it died
between the two renames of the swap; the next writer, under the lock, deletes the first and puts
the second back. Errors of the file
system become :class:`~mmxsim.errors.OutputError` naming the path and the reason.
Application layer (above exports and report); standard library only.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from .errors import OutputError
from .files import atomic_write

__all__ = ["publish", "verify", "check_output_folder", "output_lock", "MANIFEST_KEY"]

MANIFEST_KEY = "outputs"
_SUMMARY = "summary.json"
_REASONS = {errno.ENOSPC: "the disk is full", errno.EROFS: "the file system is read-only",
            errno.EACCES: "permission denied", errno.EPERM: "permission denied",
            errno.ENOTDIR: "a parent of it is a file, not a folder", errno.EDQUOT: "the disk quota is exceeded"}


def _os_error(path, exc: OSError) -> OutputError:
    why = _REASONS.get(exc.errno, exc.strerror or str(exc))
    return OutputError(f"cannot write the outputs to {path}: {why}")


def _is_mmxsim_run(folder: Path) -> bool:
    try:
        data = json.loads((folder / _SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and str(data.get("schema", "")).startswith("mmxsim.summary/")


def check_output_folder(out: Path) -> None:
    """Refuse (:class:`OutputError`) an ``--out`` that cannot receive a run: a symbolic link, a
    file, a folder under a file, or a folder holding something other than a previous run."""
    if out.is_symlink():
        raise OutputError(f"--out {out} is a symbolic link; allowed: a real folder (outputs never follow links)")
    for parent in out.parents:
        if parent.exists() and not parent.is_dir():
            raise OutputError(f"cannot write the outputs to {out}: its parent {parent} is a file, not a folder")
        if parent.exists():
            break
    if out.exists():
        if not out.is_dir():
            raise OutputError(f"--out {out} is a file; allowed: a new folder, an empty one or a previous run's")
        if any(out.iterdir()) and not _is_mmxsim_run(out):
            raise OutputError(f"--out {out} holds files that are not an mmxsim run's; allowed: a new folder, an "
                              "empty one or a previous run's (its files are replaced as a whole)")


@contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """Hold ``.OUT.lock`` beside ``out`` for the block; a second writer is refused at once."""
    lock = out.parent / f".{out.name}.lock"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise _os_error(out, exc) from None
    try:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no lock, said in the docstring of publish
            fcntl = None
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
                raise OutputError(f"another mmxsim run (process {holder}) is writing to {out}; wait for it to "
                                  "finish or choose another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the flock


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _seal(stage: Path) -> dict:
    """Add the manifest (every file but summary.json: size and SHA-256) to ``stage/summary.json``."""
    files = {p.relative_to(stage).as_posix(): {"bytes": p.stat().st_size, "sha256": _digest(p)}
             for p in sorted(stage.rglob("*")) if p.is_file() and p.name != _SUMMARY}
    manifest = {"complete": True, "files": files}
    summary = stage / _SUMMARY
    if summary.exists():
        data = json.loads(summary.read_text(encoding="utf-8"))
        data[MANIFEST_KEY] = manifest
        atomic_write(summary, (json.dumps(data, indent=2, allow_nan=False) + "\n").encode())
    return manifest


def verify(out) -> list[str]:
    """Problems with a published run folder (``[]``: complete and intact): no summary, no
    ``complete: true``, or a file missing, of another size or another SHA-256 than the manifest says."""
    out = Path(out)
    try:
        data = json.loads((out / _SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return [f"{_SUMMARY}: unreadable ({exc})"]
    man = data.get(MANIFEST_KEY) or {}
    if man.get("complete") is not True:
        return [f"{_SUMMARY}: no 'outputs.complete: true' (an unfinished or older run)"]
    bad = []
    for name, meta in man.get("files", {}).items():
        p = out / name
        if not p.is_file():
            bad.append(f"{name}: missing")
        elif p.stat().st_size != meta["bytes"] or _digest(p) != meta["sha256"]:
            bad.append(f"{name}: changed (size or SHA-256 differs from the manifest)")
    return bad


def _recover(out: Path) -> None:
    """Under the lock: clear what a writer killed outright (SIGKILL, power loss) left beside ``out``.
    Its staging folders are incomplete by construction and are deleted; a previous run it had
    renamed aside but not yet replaced (killed between the two renames) is put back as ``out``."""
    # names compared as text, not as glob patterns: a folder may be called "run[1]"
    mine = [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]
    for stage in (p for p in mine if p.name.endswith(".staging")):
        shutil.rmtree(stage, ignore_errors=True)
    for old in sorted(p for p in mine if p.name.startswith(f".{out.name}.previous-")):
        if not out.exists():
            os.replace(old, out)
        else:
            shutil.rmtree(old, ignore_errors=True)


def publish(out_dir, write: Callable[[Path], dict[str, Path]]) -> dict[str, Path]:
    """Run ``write(stage)`` into a staging folder, seal it and swap it in as ``out_dir`` (see the
    module docstring). Returns ``write``'s ``{kind: path}`` with the paths under ``out_dir``."""
    out = Path(out_dir).absolute()
    check_output_folder(out)
    with output_lock(out):
        _recover(out)
        check_output_folder(out)  # again, under the lock
        try:
            stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".staging", dir=out.parent))
        except OSError as exc:
            raise _os_error(out, exc) from None
        old = None
        try:
            try:
                written = write(stage)
                _seal(stage)
            except OSError as exc:
                if isinstance(exc, OutputError):
                    raise
                raise _os_error(out, exc) from None
            if out.exists():
                old = out.parent / f".{out.name}.previous-{os.getpid()}"
                os.replace(out, old)
            os.replace(stage, out)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            if old is not None and not out.exists():
                os.replace(old, out)  # put the previous run back
                old = None
            raise
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
    return {k: out / Path(p).relative_to(stage) for k, p in written.items()}
