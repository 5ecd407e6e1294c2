"""Ephemerides: one interface, several backends.

>>> from mmxsim.ephemeris import default_ephemeris
>>> eph = default_ephemeris()
>>> eph.position("PHOBOS", "MARS", 8.0e8).shape
(3,)

Every backend answers the same protocol (:class:`Ephemeris`): states in km and km/s,
ICRF axes, TDB seconds past J2000 in, vectorised over epochs.  Body names are upper case
(input is case-insensitive): SSB, SUN, MERCURY(_BARYCENTER), VENUS(_BARYCENTER), EARTH,
MOON, EARTH_BARYCENTER, MARS, MARS_BARYCENTER, PHOBOS, DEIMOS, JUPITER_BARYCENTER ...
PLUTO_BARYCENTER.

Backends
--------
* :class:`~mmxsim.ephemeris.de.DEEphemeris` -- JPL DE421 (from the ``skyfield-data``
  package) read with jplephem: planets and barycentres, 1899-07-29 .. 2053-10-09.
* :class:`~mmxsim.ephemeris.integrated.IntegratedMoonsEphemeris` -- Phobos and Deimos integrated
  in the spacecraft's force model, fitted to MAR080 (packaged SPK, 2024-2034); the default moons.
* :class:`~mmxsim.ephemeris.moons.MarsMoonsEphemeris` -- built-in analytic theory of
  Phobos and Deimos (JPL MAR080 mean elements, precessing ellipses), 1950 .. 2050; its
  geometry is also available as heyoka expressions (:func:`moon_position_expr`).
* :class:`~mmxsim.ephemeris.spice.SpiceEphemeris` -- the user's SPICE kernels (spiceypy).
* :func:`composite` -- several of them; the first backend that has a body wins and the
  body trees are joined through common nodes (SSB, MARS, ...).

Only NumPy is imported here; jplephem, spiceypy and heyoka are imported on use.
See ``docs/ephemeris.md`` for the data, the accuracy and the measured choices.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from ._base import NAME_TO_ID, CompositeEphemeris, TreeEphemeris, body_name

__all__ = [
    "Ephemeris",
    "default_ephemeris",
    "spice_ephemeris",
    "composite",
    "moon_position_expr",
    "NAME_TO_ID",
    "body_name",
    "PHOBOS_TIDAL_DEFAULT",
]

# Measured (docs/ephemeris.md): the fit-consistent tidal term keeps Phobos' sub-Mars
# longitude in the pck00011 body frame at +0.03 deg with no drift over 1950-2050, and
# Phobos within 5-11 km of JPL Horizons 2000-2045; without it Phobos drifts by up to
# 2 deg (~300 km) at the ends of the span.  Kept equal to moons.PHOBOS_TIDAL_DEFAULT.
PHOBOS_TIDAL_DEFAULT = True


@runtime_checkable
class Ephemeris(Protocol):
    """What every ephemeris backend provides."""

    name: str

    def state(self, target: str, center: str, t) -> np.ndarray:
        """(6,) or (N, 6): km, km/s, ICRF axes; ``t`` TDB seconds past J2000 (float or (N,))."""
        ...

    def position(self, target: str, center: str, t) -> np.ndarray:
        """(3,) or (N, 3) km, ICRF axes."""
        ...

    def coverage(self, target: str) -> tuple[float, float]:
        """TDB-seconds span in which ``target`` is available."""
        ...

    def bodies(self) -> set[str]:
        """Upper-case names of the bodies this ephemeris can place."""
        ...


MOON_MODELS = ("integrated", "mean_elements")


@lru_cache(maxsize=None)
def _default(phobos_tidal, moons) -> TreeEphemeris:
    from .de import DEEphemeris

    if moons == "integrated":
        from .integrated import IntegratedMoonsEphemeris

        return CompositeEphemeris(IntegratedMoonsEphemeris(), DEEphemeris())
    from .moons import MarsMoonsEphemeris

    return CompositeEphemeris(MarsMoonsEphemeris(phobos_tidal=phobos_tidal), DEEphemeris())


def default_ephemeris(phobos_tidal: bool = PHOBOS_TIDAL_DEFAULT, moons: str = "integrated") -> Ephemeris:
    """DE421 planets + the built-in Phobos/Deimos, cached (one instance per setting).

    ``moons``: ``"integrated"`` (default) -- Phobos and Deimos integrated in the spacecraft's force
    model and fitted to MAR080 (packaged SPK, 2024-2034, :mod:`mmxsim.ephemeris.integrated`), so
    their motion satisfies the forces a spacecraft feels; ``"mean_elements"`` -- the analytic
    MAR080 precessing ellipses (1950-2050, :mod:`mmxsim.ephemeris.moons`; its acceleration differs
    from the force model by 1.7e-7 km/s^2 at Phobos, see ``docs/ephemeris.md``).
    ``phobos_tidal`` switches Phobos' secular tidal acceleration in the mean-element theory (default
    on, measured to be better); the integrated moons always carry it, so False needs
    ``moons="mean_elements"``.
    """
    from ..errors import InputError

    if moons not in MOON_MODELS:
        raise InputError("ephemeris.moons", moons, ", ".join(MOON_MODELS))
    tidal = phobos_tidal if not isinstance(phobos_tidal, (bool, np.bool_)) else bool(phobos_tidal)
    if moons == "integrated":
        if tidal is not True:
            raise InputError("ephemeris.phobos_tidal_acceleration", phobos_tidal,
                             "true with moons 'integrated' (the integrated Phobos includes it); "
                             "use moons 'mean_elements' to switch it off")
    return _default(tidal, moons)


def spice_ephemeris(kernels: list[str | Path]) -> Ephemeris:
    """Ephemeris from SPICE kernels (SPK, PCK, LSK); each path must exist (DataFileError)."""
    from .spice import SpiceEphemeris

    return SpiceEphemeris(kernels)


def composite(*backends) -> Ephemeris:
    """Several backends as one: the first backend that has a body wins; centres are
    chained through common nodes (SSB, MARS_BARYCENTER, MARS, ...)."""
    return CompositeEphemeris(*backends)


def moon_position_expr(body: str, t, hy, phobos_tidal: bool = PHOBOS_TIDAL_DEFAULT) -> list:
    """Mars-centred ICRF position (km) of PHOBOS/DEIMOS as 3 heyoka expressions of ``t``
    (TDB seconds past J2000, e.g. ``hy.time``); same formulas as the NumPy ephemeris."""
    from .moons import moon_position_expr as _expr

    return _expr(body, t, hy, phobos_tidal=phobos_tidal)
