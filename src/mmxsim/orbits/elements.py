"""Classical orbital elements and the linear quasi-satellite (QSO) initial state."""

from __future__ import annotations

import numpy as np

from ..errors import InputError


def keplerian_to_cartesian(mu, a, e, i, raan, argp, nu):
    """Position/velocity (km, km/s) from elements (km, -, rad...) for an ellipse (0 <= e < 1).

    Vallado (2013), Algorithm 10 (COE2RV).
    """
    if not a > 0:
        raise InputError("a_km", a, "> 0")
    if not 0 <= e < 1:
        raise InputError("e", e, "0 <= e < 1")
    p = a * (1 - e * e)
    r_pf = p / (1 + e * np.cos(nu)) * np.array([np.cos(nu), np.sin(nu), 0.0])
    v_pf = np.sqrt(mu / p) * np.array([-np.sin(nu), e + np.cos(nu), 0.0])
    cO, sO, ci, si, cw, sw = np.cos(raan), np.sin(raan), np.cos(i), np.sin(i), np.cos(argp), np.sin(argp)
    Q = np.array([
        [cO * cw - sO * sw * ci, -cO * sw - sO * cw * ci, sO * si],
        [sO * cw + cO * sw * ci, -sO * sw + cO * cw * ci, -cO * si],
        [sw * si, cw * si, ci],
    ])
    return np.concatenate([Q @ r_pf, Q @ v_pf])


def cartesian_to_keplerian(mu, state):
    """(a, e, i, raan, argp, nu) from a state (elliptic, non-equatorial orbits)."""
    r, v = np.asarray(state[:3], float), np.asarray(state[3:], float)
    h = np.cross(r, v)
    n = np.cross([0, 0, 1.0], h)
    rn, vn = np.linalg.norm(r), np.linalg.norm(v)
    ev = ((vn**2 - mu / rn) * r - np.dot(r, v) * v) / mu
    e = np.linalg.norm(ev)
    a = 1.0 / (2.0 / rn - vn**2 / mu)
    i = np.arccos(h[2] / np.linalg.norm(h))
    raan = np.arctan2(n[1], n[0]) % (2 * np.pi)
    argp = np.arctan2(np.dot(np.cross(n, ev), h) / np.linalg.norm(h), np.dot(n, ev)) % (2 * np.pi)
    nu = np.arctan2(np.dot(np.cross(ev, r), h) / np.linalg.norm(h), np.dot(ev, r)) % (2 * np.pi)
    return a, e, i, raan, argp, nu


def qso_hill_state(radial_semi_axis_km: float, n: float, out_of_plane_km: float = 0.0, phase_rad: float = 0.0):
    """Hill-frame state on the linear retrograde 1:2 QSO ellipse.

    Clohessy-Wiltshire / Hill solution without Phobos' gravity:
    x = -A cos(nt), y = 2A sin(nt), z = Z sin(nt + beta) (mmx-facts.md §4.3), at t = 0.
    """
    A, Z = float(radial_semi_axis_km), float(out_of_plane_km)
    return np.array([-A, 0.0, Z * np.sin(phase_rad), 0.0, 2.0 * n * A, Z * n * np.cos(phase_rad)])
