"""Locate the data files shipped inside the package (no network, ever)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .errors import DataFileError


def data_path(name: str) -> Path:
    """Absolute path of a file in ``mmxsim/data`` (see ``data/SOURCES.md``)."""
    p = Path(str(resources.files("mmxsim") / "data" / name))
    if not p.exists():
        raise DataFileError(f"packaged data file {name!r} is missing from {p.parent}; reinstall mmxsim")
    return p
