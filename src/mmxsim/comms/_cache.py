"""On-disk memo of the ground segment's deterministic, costly look-ups of packaged data (layer 4,
private).

Two things are kept between runs, each in a file named by a hash of everything it depends on
(inputs, library versions, a recipe version), in mmxsim's cache folder
(:func:`mmxsim.files.cache_dir`, files ``comms-*``):

* ``comms-itur-*.npz``: a station's ITU-R attenuation grid (:mod:`.link`; ``itur`` evaluates its
  data maps for seconds per station);
* ``comms-eop-*.npz``: Earth-orientation data at a set of epochs (:mod:`.geometry`; the first use
  of astropy's IERS table in a process parses it for seconds).

Both are functions of packaged data and the libraries only, like the geometry grids of other
modules. An analysis' answer (the booking MILP's solution) is never kept: every run solves it.

A memo holds what the computation returned for exactly those inputs, so a run gives the same
numbers with or without it. An absent, unreadable or mismatched file is recomputed (and
rewritten); a read-only or full folder only means nothing is kept. Plain ``.npy``/``.npz`` arrays
only, loaded without pickle.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np

__all__ = ["digest", "load", "save"]


def _versions(*packages: str) -> tuple:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for p in packages:
        try:
            out.append((p, version(p)))
        except PackageNotFoundError:  # pragma: no cover - all are dependencies
            out.append((p, None))
    return tuple(out)


def digest(kind: str, recipe: int, packages: tuple[str, ...], *parts) -> str:
    """A file-name key: sha256 over ``kind``, the ``recipe`` version, the ``packages``' installed
    versions and ``parts`` (arrays by dtype, shape and bytes; anything else by ``repr``)."""
    h = hashlib.sha256(repr((kind, recipe, _versions(*packages))).encode())
    for p in parts:
        if isinstance(p, np.ndarray):
            a = np.ascontiguousarray(p)
            h.update(repr((a.dtype.str, a.shape)).encode())
            h.update(a.tobytes())
        else:
            h.update(repr(p).encode())
    return h.hexdigest()[:24]


def _path(kind: str, key: str, ext: str) -> Path:
    from ..files import cache_dir

    return cache_dir() / f"comms-{kind}-{key}.{ext}"


def load(kind: str, key: str) -> dict | None:
    """The arrays saved under (kind, key), or None if there is no readable file."""
    path = _path(kind, key, "npz")
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as d:
            return {k: d[k] for k in d.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def save(kind: str, key: str, **arrays) -> None:
    """Keep ``arrays`` under (kind, key): complete or absent, never a truncated file."""
    from ..files import atomic_file

    path = _path(kind, key, "npz")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as fh:
            np.savez(fh, **{k: np.asarray(v) for k, v in arrays.items()})
    except OSError:
        pass
