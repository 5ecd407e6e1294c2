"""Does the ephemeris cover a run? (:func:`check_coverage`, used by the loaders and ``mmxsim validate``.)"""

from __future__ import annotations

from importlib.util import find_spec
from typing import Any

from ..time import tdb_seconds
from .problems import ScenarioError, got
from .schema import Scenario

#: Span of the built-in analytic ephemeris (TDB), used by :func:`check_coverage`
#: only when ``mmxsim.ephemeris`` cannot be imported.
BUILTIN_COVERAGE = ("1950-01-01T00:00:00", "2050-01-01T00:00:00")


def _default_ephemeris_factory():
    """``mmxsim.ephemeris.default_ephemeris`` if that package provides it, else None."""
    if find_spec("mmxsim.ephemeris") is None:
        return None
    try:
        from .. import ephemeris as _eph_mod
    except ImportError:
        return None
    return getattr(_eph_mod, "default_ephemeris", None)


def check_coverage(scenario: Scenario, ephemeris: Any = None, *, source: str | None = None,
                   _lines: dict | None = None) -> None:
    """Raise :class:`ScenarioError` if the ephemeris does not cover the run.

    Asks ``ephemeris.coverage(body) -> (t0, t1)`` (TDB seconds past J2000) for every
    body the run uses (:meth:`Scenario.bodies_used`). ``ephemeris`` defaults to
    ``mmxsim.ephemeris.default_ephemeris(phobos_tidal=...)``; if that package is not
    available the documented span of the built-in theory (:data:`BUILTIN_COVERAGE`) is used.
    """
    from ..time import iso_tdb

    t0, t1 = scenario.t0_tdb, scenario.t1_tdb
    spans: dict[str, tuple[float, float]] = {}
    if ephemeris is None:
        factory = _default_ephemeris_factory()
        if factory is not None:
            ephemeris = factory(phobos_tidal=scenario.ephemeris.phobos_tidal_acceleration,
                                moons=scenario.ephemeris.moons)
    for body in scenario.bodies_used():
        if ephemeris is not None:
            spans[body] = tuple(float(x) for x in ephemeris.coverage(body))
        else:
            spans[body] = (tdb_seconds(BUILTIN_COVERAGE[0], "TDB"), tdb_seconds(BUILTIN_COVERAGE[1], "TDB"))
    problems = []
    for body, (c0, c1) in spans.items():
        span_txt = f"{iso_tdb(c0, 0)} to {iso_tdb(c1, 0)} TDB"
        if not c0 <= t0 <= c1:
            problems.append(("epoch", scenario.epoch,
                             got(scenario.epoch, f"an epoch the ephemeris covers for {body}: {span_txt}")))
        elif t1 > c1:
            path, val = ("stop", scenario.stop) if scenario.stop is not None else ("duration_days", scenario.duration_days)
            problems.append((path, val, got(val, f"a span ending before the end of the {body} ephemeris "
                                                  f"({span_txt}; this run ends {iso_tdb(t1, 0)} TDB)")))
        if problems:
            break
    if problems:
        raise ScenarioError(source or scenario.name, problems, _lines)