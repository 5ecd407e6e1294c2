"""What a run produces: the data handed from the runner to exports and the report.

Kept free of heavy imports (NumPy only) so exporters and the report can be used on saved
results. :mod:`mmxsim.exports` and :mod:`mmxsim.report` are siblings that both read this
model and its summary (:func:`build_summary`, :func:`to_jsonable`), never each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .summary import SCHEMA, build_summary, event_dict, to_jsonable

__all__ = ["Trajectory", "Event", "Table", "Section", "CovarianceEphemeris", "PlannedManeuver", "RunResult",
           "PHOBOS_STEP_S", "phobos_epochs", "build_summary", "event_dict", "to_jsonable", "SCHEMA"]


@dataclass
class Trajectory:
    """Sampled states of one object.

    Attributes
    ----------
    t : (N,) TDB seconds past J2000.
    states : (N, 6) position [km] and velocity [km/s].
    center : name of the origin body (``MARS``, ``PHOBOS``...).
    frame : name of the axes (``ICRF``, ``MARS_FIXED``, ``PHOBOS_FIXED``, ``PHOBOS_HILL``).
    object_name : name of the object (``MMX``).
    """

    t: np.ndarray
    states: np.ndarray
    center: str = "MARS"
    frame: str = "ICRF"
    object_name: str = "MMX"
    object_id: str = "MMX"

    def __post_init__(self):
        self.t = np.asarray(self.t, dtype=float)
        self.states = np.asarray(self.states, dtype=float)
        if self.states.shape != (self.t.size, 6):
            raise ValueError(f"states must have shape ({self.t.size}, 6), got {self.states.shape}")


@dataclass
class Event:
    """A detected event (root-found by the integrator)."""

    kind: str  # e.g. 'impact', 'max_distance', 'eclipse_entry', 'eclipse_exit'
    t: float  # TDB seconds past J2000
    body: str = ""  # body concerned (PHOBOS for impact, MARS/PHOBOS for eclipses)
    terminal: bool = False
    details: dict = field(default_factory=dict)


@dataclass
class Table:
    """A table of an analysis section: a caption, column names and rows of printable values."""

    caption: str
    header: tuple
    rows: list


@dataclass
class CovarianceEphemeris:
    """An estimated trajectory with its covariance at epochs ``t`` (TDB s): ``matrices`` (K, 6, 6) in
    km², km²/s, km²/s², axes ``frame`` about the trajectory's centre (exported as OEM 2.0 with
    covariance blocks)."""

    trajectory: Trajectory
    t: np.ndarray
    matrices: np.ndarray
    frame: str = "ICRF"
    comments: list = field(default_factory=list)


@dataclass
class PlannedManeuver:
    """A planned impulsive manoeuvre: ignition ``epoch`` (TDB s past J2000), the pre-burn ``state``
    (km, km/s) about ``center`` in the axes ``frame`` and the Δv vector ``dv_km_s`` (km/s) in the same
    axes. An analysis lists them in :attr:`Section.maneuvers` and derives its "manoeuvre" events from
    the same list; the exports write each as a CCSDS OPM (:mod:`mmxsim.exports.opm`)."""

    name: str
    epoch: float
    state: np.ndarray
    dv_km_s: np.ndarray
    center: str = "MARS"
    frame: str = "ICRF"
    duration_s: float = 0.0  # 0: impulsive
    comment: str = ""  # one line: what the state is (e.g. "navigation estimate"), where the burn comes from

    def __post_init__(self):
        self.epoch = float(self.epoch)
        self.state = np.asarray(self.state, dtype=float).reshape(6)
        self.dv_km_s = np.asarray(self.dv_km_s, dtype=float).reshape(3)

    @property
    def dv_m_s(self) -> float:
        """|Δv| in m/s."""
        return float(np.linalg.norm(self.dv_km_s) * 1e3)


@dataclass
class Section:
    """One analysis of a run beyond the trajectory (QSO family, transfers, landing...).

    The report renders it (paragraphs, tables, figures), ``summary.json`` carries ``data``
    under ``analyses[key]`` and the files in ``files`` (name -> bytes) are written beside
    the other outputs. Each analysis (:mod:`mmxsim.analyses`) returns one.
    """

    key: str  # short id, e.g. 'qso_family'
    title: str
    # the section's key number in one line of words with units, for the report's index page
    # (e.g. "Landing dispersion: 3σ ellipse 62 m × 41 m"); empty: the report shows none
    headline: str = ""
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[tuple[str, bytes]] = field(default_factory=list)  # (caption, PNG bytes)
    data: dict = field(default_factory=dict)  # JSON-ready numbers for summary.json
    files: dict = field(default_factory=dict)  # file name -> bytes, written into the output folder
    # file name -> CovarianceEphemeris: written as CCSDS OEM with covariance blocks by the exports
    ephemerides: dict = field(default_factory=dict)
    assumptions: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # wall-clock breakdown of the analysis (label in words -> seconds): on the report's timings page and
    # in summary.json as ``timings_s``, never in the section's text or data (a result must not depend on
    # the machine's load: same inputs and seed, same text)
    timings: dict = field(default_factory=dict)
    events: list = field(default_factory=list)  # mission.timeline.MissionEvent items for the event list
    # planned manoeuvres (PlannedManeuver), written as CCSDS OPMs by the exports (maneuvers/<key>_NNN.opm);
    # the section's "manoeuvre" events come from the same list
    maneuvers: list = field(default_factory=list)


@dataclass
class RunResult:
    """Everything a single-trajectory run produced."""

    scenario_name: str
    trajectory: Trajectory  # in the propagation frame (Mars-centred ICRF)
    hill: Trajectory  # same epochs, Phobos-centred Hill frame
    phobos_fixed: Trajectory  # same epochs, Phobos-centred body-fixed frame
    distance_phobos_km: np.ndarray  # |r - r_phobos|
    altitude_phobos_km: np.ndarray  # above the Phobos surface model used for impacts (see altitude_surface)
    events: list[Event] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    force_model: list[str] = field(default_factory=list)  # one line per force
    timings: dict = field(default_factory=dict)  # seconds: compile, propagate, outputs...
    metadata: dict = field(default_factory=dict)  # scenario echo, versions, tolerance...
    termination: str = "span completed"
    sections: list[Section] = field(default_factory=list)  # analyses beyond the trajectory
    altitude_surface: str = ""  # what altitude_phobos_km is measured from (e.g. 'Ernst shape model, exact distance')
    # Phobos about Mars (ICRF) from the run's ephemeris, at the run's epochs and every PHOBOS_STEP_S
    # between them: the Phobos segment of the SPK, so that SPICE rebuilds PHOBOS_HILL (None: not kept)
    phobos: Trajectory | None = None


#: largest spacing of RunResult.phobos samples, s (Phobos' period is 7.65 h: ~90 samples per orbit)
PHOBOS_STEP_S = 300.0


def phobos_epochs(t) -> np.ndarray:
    """The epochs of RunResult.phobos for a run sampled at ``t``: an even PHOBOS_STEP_S grid through
    ``t[0]`` from one step before the run to one step after it (SPICE differentiates the PHOBOS_HILL
    frame's defining vectors a few seconds either side of the epoch asked). Even, not merged with the
    run's epochs: nodes a fraction of a second apart make the SPK's Hermite interpolant wiggle, and the
    frame's rate (SPICE's derivative of the interpolated velocity) was off by up to 5 m/s at 50 km."""
    t = np.asarray(t, dtype=float)
    return t[0] - PHOBOS_STEP_S + PHOBOS_STEP_S * np.arange(int(np.ceil((t[-1] - t[0]) / PHOBOS_STEP_S)) + 3)
