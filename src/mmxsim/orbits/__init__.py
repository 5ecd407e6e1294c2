"""Orbits: element conversions and relative-motion helpers (layer 3)."""

from .elements import keplerian_to_cartesian, cartesian_to_keplerian, qso_hill_state

__all__ = ["keplerian_to_cartesian", "cartesian_to_keplerian", "qso_hill_state"]
