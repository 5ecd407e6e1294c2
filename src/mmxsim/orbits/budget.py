"""Pieces shared by :mod:`mmxsim.orbits.capture` (the Δv budget) and :mod:`mmxsim.orbits.deimos`
(its resonant-orbit legs), here so that neither imports the other for them (capture imports
deimos; deimos imports only this module)."""

from __future__ import annotations

from dataclasses import dataclass

A_PHOBOS_KM = 9376.0  # Phobos semi-major axis [JPL-SAT] (mmx-facts §0)


@dataclass
class Leg:
    """One leg of a Δv budget (masses filled by ``capture.apply_rocket_equation``)."""

    name: str
    dv_km_s: float
    note: str = ""
    m_before_kg: float = float("nan")
    propellant_kg: float = float("nan")
    m_after_kg: float = float("nan")
