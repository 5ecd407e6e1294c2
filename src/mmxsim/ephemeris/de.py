"""JPL DE planetary ephemeris read with ``jplephem`` (SPK type 2/3 Chebyshev segments).

The default kernel is ``de421.bsp`` as shipped by the PyPI package ``skyfield-data``
(folder ``skyfield_data/data``): JPL DE421 (Folkner et al. 2008, IOM 343R-08-003),
1899-07-29 to 2053-10-09 TDB, ICRF axes.  Bodies are chained through the segments of
the kernel, e.g. ``MARS = (SSB -> MARS_BARYCENTER) + (MARS_BARYCENTER -> MARS)``.
Velocities are the analytic derivatives of the Chebyshev series
(``compute_and_differentiate``, km/day converted to km/s).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import DataFileError
from ._base import ID_TO_NAME, NAME_TO_ID, TreeEphemeris

J2000_JD = 2451545.0


def de421_path() -> Path:
    """Path of the ``de421.bsp`` shipped by ``skyfield-data``."""
    from importlib import resources

    try:
        p = Path(str(resources.files("skyfield_data") / "data" / "de421.bsp"))
    except ModuleNotFoundError:
        raise DataFileError(
            "the DE421 kernel comes with the Python package 'skyfield-data', which is not installed "
            "(pip install skyfield-data)"
        ) from None
    if not p.exists():
        raise DataFileError(f"DE421 kernel not found at {p}; reinstall the 'skyfield-data' package")
    return p


@lru_cache(maxsize=None)
def _open_spk(path: str):
    from jplephem.spk import SPK

    try:
        return SPK.open(path)
    except FileNotFoundError:
        raise DataFileError(f"SPK kernel not found: {path}") from None
    except Exception as exc:  # corrupt or not an SPK
        raise DataFileError(f"cannot read SPK kernel {path}: {exc}") from None


class DEEphemeris(TreeEphemeris):
    """Planets (and barycentres) from a JPL DE SPK file, evaluated with jplephem."""

    def __init__(self, path: str | Path | None = None, name: str | None = None):
        path = Path(path) if path is not None else de421_path()
        if not path.exists():
            raise DataFileError(f"SPK kernel not found: {path}")
        self.path = path
        self.kernel = _open_spk(str(path.resolve()))
        self.name = name or path.stem.upper()
        self.source = f"JPL {path.name} (jplephem)"
        self._seg = {}
        self._parent = {}
        for s in self.kernel.segments:
            tgt, ctr = ID_TO_NAME.get(s.target), ID_TO_NAME.get(s.center)
            if tgt is None or ctr is None or tgt in self._seg:
                continue  # bodies mmxsim has no name for; first segment wins
            self._seg[tgt] = s
            self._parent[tgt] = ctr
        self._nodes = set(self._seg) | set(self._parent.values())

    def _known(self) -> set[str]:
        return self._nodes

    def _link(self, body: str):
        p = self._parent.get(body)
        return None if p is None else (p, self)

    def _segment_coverage(self, body: str) -> tuple[float, float]:
        s = self._seg[body]
        return float(s.start_second), float(s.end_second)

    def _segment(self, body: str, t: np.ndarray) -> np.ndarray:
        s = self._seg[body]
        # Whole days kept apart from the fraction of a day for full precision: t / 86400 as one float
        # (~1e4 days) is rounded to 1.6e-7 s, i.e. ~2e-6 km of jitter at 30 km/s, which spoils
        # Doppler differenced over 60 s at the 1e-2 mm/s level. t - 86400 * days is exact (both
        # are multiples of ulp(t)), the fraction then rounded to 1e-11 s.
        days = np.floor(t / 86400.0)
        pos, vel = s.compute_and_differentiate(J2000_JD + days, (t - 86400.0 * days) / 86400.0)
        out = np.empty((t.size, 6))
        out[:, :3] = np.asarray(pos).reshape(3, -1).T
        out[:, 3:] = np.asarray(vel).reshape(3, -1).T / 86400.0
        return out


__all__ = ["DEEphemeris", "de421_path", "NAME_TO_ID"]
