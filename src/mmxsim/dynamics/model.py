"""The declarative side of a propagation: the model, and what a propagation returns.

:class:`DynamicsModel` (forces, events, tolerance, ephemeris) is what :func:`~mmxsim.dynamics.build`
compiles; :class:`Propagation` is what both propagation paths (heyoka, and the near-surface switch of
:mod:`mmxsim.dynamics.near_surface`) return. Kept apart from the propagator so that the near-surface
driver and the propagator both depend on it and not on each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .tracks import AnalyticTrack, ChebyshevTrack


@dataclass
class DynamicsModel:
    forces: list
    ephemeris: object
    events: list = field(default_factory=list)
    tolerance: float = 1e-12
    # moons whose positions may enter the equations as the exact expressions of the MAR080 theory, when
    # the ephemeris takes them from that theory (moons="mean_elements"); otherwise (the default integrated
    # moons, SPICE) they come through Chebyshev tracks fitted to the ephemeris
    analytic_bodies: frozenset = frozenset({"PHOBOS", "DEIMOS"})
    rotation_pck: str | None = None  # text PCK for body orientation (default: packaged pck00011)
    # heyoka compact mode: cold compile of the reference model 1.75 s instead of 16 s, for 1.5x
    # slower steps (measured, docs/design.md); compiled code is also cached on disk by heyoka
    compact_mode: bool = True
    # user-supplied tracks by body name (objects with signature(), expr(ctx), position(t));
    # they take precedence over the built-in ones (e.g. a circular Phobos for CR3BP studies)
    track_overrides: dict = field(default_factory=dict)

    def bodies(self) -> set[str]:
        out = set()
        for f in [*self.forces, *self.events]:
            out |= set(f.bodies())
        out.discard("MARS")
        return out

    def rotations(self) -> set[str]:
        out = set()
        for f in [*self.forces, *self.events]:
            out |= set(f.rotations())
        return out

    def make_tracks(self) -> dict:
        tracks = {}
        for b in sorted(self.bodies()):
            if b in self.track_overrides:
                tracks[b] = self.track_overrides[b]
            elif b in self.analytic_bodies and (theory := _mean_element_theory(self.ephemeris, b)) is not None:
                tracks[b] = AnalyticTrack(b, self.ephemeris, theory.phobos_tidal)
            else:
                tracks[b] = ChebyshevTrack(b, self.ephemeris)
        return tracks

    def signature(self) -> tuple:
        tr = tuple(t.signature() for t in self.make_tracks().values())
        return (tuple(f.signature() for f in self.forces), tuple(e.signature() for e in self.events),
                tr, float(self.tolerance), self.compact_mode, self.rotation_pck)

    def describe(self) -> list[str]:
        return [f.describe() for f in self.forces]


def _backend(eph, body: str):
    """The ephemeris backend that places ``body`` in ``eph`` (None if it has no segment for it)."""
    link = eph._link(body) if hasattr(eph, "_link") else None
    return None if link is None else link[1]


def _mean_element_theory(eph, body: str):
    """The MAR080 mean-element backend that places ``body`` in ``eph`` (None if another one does)."""
    from ..ephemeris.moons import MarsMoonsEphemeris

    b = _backend(eph, body) if body in ("PHOBOS", "DEIMOS") else None
    return b if isinstance(b, MarsMoonsEphemeris) else None


def moon_source(model: "DynamicsModel", body: str = "PHOBOS") -> str:
    """'integrated', 'mean_elements' or the name of the ephemeris that places ``body``."""
    from ..ephemeris.integrated import IntegratedMoonsEphemeris
    from ..ephemeris.moons import MarsMoonsEphemeris

    b = _backend(model.ephemeris, body)
    if isinstance(b, MarsMoonsEphemeris):
        return "mean_elements"
    if isinstance(b, IntegratedMoonsEphemeris):
        return "integrated"
    return getattr(b, "name", "ephemeris") if b is not None else "none"


def body_rotations(model: DynamicsModel) -> dict:
    """The rotation model of every body whose orientation a force or event of ``model`` uses."""
    from ..bodies import get_body
    from ..bodies.rotation import iau_rotation

    if model.rotation_pck:
        return {b: iau_rotation(get_body(b).naif_id, model.rotation_pck) for b in model.rotations()}
    return {b: get_body(b).rotation() for b in model.rotations()}


@dataclass
class Propagation:
    t: np.ndarray  # output epochs actually reached (TDB s)
    states: np.ndarray  # (N, 6) Mars-centred ICRF
    events: list  # list of (label, body, t, terminal)
    termination: str
    compile_s: float
    propagate_s: float
    n_steps: int
    final_time: float
    final_state: np.ndarray
    # (t_start, t_end, model) per arc when Phobos' gravity switched models (dynamics/near_surface.py)
    arcs: list = field(default_factory=list)
