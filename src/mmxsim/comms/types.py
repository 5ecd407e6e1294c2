"""Data types shared by the comms modules (kept free of heavy imports)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Pass:
    """A visibility window of the spacecraft from one ground station.

    Times are TDB seconds past J2000 (mmxsim's internal time). ``start``/``stop`` are the
    crossings of the station's elevation mask (or the span's ends, flagged by
    ``truncated``); ``max_elevation_deg`` is reached at ``t_max_elevation``.
    """

    station: str
    agency: str
    start: float
    stop: float
    max_elevation_deg: float
    t_max_elevation: float
    truncated: bool = False
    notes: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def duration_s(self) -> float:
        return self.stop - self.start
