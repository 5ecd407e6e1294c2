"""Events that analyses put in the mission's merged event list, and the reference mission's
planned operations they place their simulated events against (the first touchdown).

Below :mod:`mmxsim.mission` (which merges and exports the list, :mod:`mmxsim.mission.timeline`)
so that an analysis never imports the mission layer.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..time import tdb_seconds


@dataclass(frozen=True)
class MissionEvent:
    """One entry of the merged event list (times TDB s past J2000; ``stop`` = ``start`` for instants)."""

    start: float
    stop: float
    kind: str  # phase | eclipse | impact | pass | conjunction | manoeuvre | touchdown | science | ...
    name: str
    detail: str = ""
    source: str = ""  # which model or table produced it

    @property
    def duration_s(self) -> float:
        return self.stop - self.start


@dataclass(frozen=True)
class Operation:
    """A planned instant inside a phase (a touchdown, a release...), ISO date UTC, with its sources."""

    phase: str
    at: str
    kind: str
    name: str
    description: str
    source: str
    published: str
    assumed: bool = True

    @property
    def t_tdb(self) -> float:
        return tdb_seconds(self.at, "utc")

    def event(self) -> MissionEvent:
        return MissionEvent(self.t_tdb, self.t_tdb, self.kind, self.name,
                            self.description + (f" (date assumed within: {self.published})" if self.assumed else ""),
                            self.source)


def reference_operations() -> list[Operation]:
    """Planned instants of the reference mission: the two touchdowns of the landing phase, at
    different sites [F21], in 2029 [SPACECOM-2024]. The days are ASSUMPTIONS inside the phase."""
    O = Operation
    return [
        O("landing and sampling", "2029-04-01T00:00:00", "touchdown", "touchdown 1 (planned)",
          "first touchdown: C-Sampler and P-Sampler, >= 10 g", "[F21], [SPACECOM-2024], [MMXN-331]",
          "2029; two touchdowns at different sites"),
        O("landing and sampling", "2029-06-01T00:00:00", "touchdown", "touchdown 2 (planned)",
          "second touchdown, at a different site", "[F21], [SPACECOM-2024]",
          "2029; two touchdowns at different sites"),
    ]


def first_touchdown_tdb() -> float:
    """TDB seconds of the reference mission's first planned touchdown (where the surface
    analyses place their simulated descent, contact and sampling in the event list)."""
    return next(o for o in reference_operations() if o.kind == "touchdown").t_tdb
