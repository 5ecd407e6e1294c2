"""mmxsim: an open simulator and operations planner for JAXA's MMX mission.

The package is layered (a lower layer never imports a higher one):

1. ``bodies``, ``time``, ``frames``, ``ephemeris``: constants, epochs, rotations, positions.
2. ``gravity``, ``dynamics``: force models and the heyoka propagator, events.
3. ``orbits``: elements and relative-motion helpers.
4. domain packages (added by later work: comms, instruments, surface, earth_return, science).
5. ``scenario`` (scenario files), ``results``; then ``analyses`` (one module per analysis and
   their registry); ``mission`` (runner, timeline); ``exports``, ``report``; ``cli``, ``campaign``.

Heavy libraries (heyoka, astropy, matplotlib) are imported lazily so that
``mmxsim --help`` answers instantly.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]

# The analyses register the scenario's ``analyses`` block with the scenario layer (which sits
# below them and cannot import them), so every loader validates every analysis' settings.
from . import analyses as _analyses  # noqa: E402,F401
