"""Deimos flybys from resonant Mars orbits (the MMX plan: two resonant orbits giving many
Deimos flybys before Mars departure [N21], mmx-facts §1.3).

Model (simplified; stated as the project requires)
--------------------------------------------------
* **Design (patched two-body)**: a Mars orbit with periapsis on Phobos' orbit (r_p = 9376 km
  [JPL-SAT], i.e. entered from Phobos' vicinity by one tangential burn) and period
  P = (q / p) P_Deimos, so that the spacecraft makes ``p`` revolutions while Deimos makes ``q``
  and the geometry repeats: one flyby every q Deimos periods. Deimos: a = 23458 km, mean motion
  285.1618790 deg/day [JPL-SAT], taken circular for the design. The apoapsis must reach Deimos'
  orbit (otherwise InputError). At the crossing r = a_Deimos the flyby speed is
  |v_sc - v_Deimos| from vis-viva and the flight-path angle.
* **Check (ephemeris model)**: the spacecraft is placed at the first crossing, ``miss_km`` out
  of Deimos' orbital plane from Deimos (Deimos from the built-in MAR080 theory,
  ``mmxsim.ephemeris``), with the design velocity, and propagated with ``mmxsim.dynamics``
  (heyoka): Mars point mass + J2..J4 (MRO120F), Deimos and the Sun as point masses. Closest
  approaches are found on a 20 s grid and refined by a quadratic fit of the squared distance;
  they drift away from ``miss_km`` because of Mars' J2 (apsidal and nodal precession) and
  Deimos' eccentricity and inclination -- no flyby-maintenance manoeuvres are modelled.

The resonances actually used by MMX are not in the project's sources (N21 tables not read):
the defaults (5:3 and 3:2, spacecraft revolutions : Deimos revolutions) are ASSUMPTIONS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..bodies import GM_MARS
from ..errors import InputError
from .budget import A_PHOBOS_KM, Leg

A_DEIMOS_KM = 23458.0  # [JPL-SAT] (mmx-facts §3.1)
N_DEIMOS_RAD_S = 285.1618790 * math.pi / 180.0 / 86400.0  # [JPL-SAT] mean motion
P_DEIMOS_S = 2 * math.pi / N_DEIMOS_RAD_S
DEFAULT_RESONANCES = ((5, 3), (3, 2))  # ASSUMPTION (see the module docstring)

__all__ = ["ResonantOrbit", "resonant_orbit", "Flyby", "flyby_sequence", "deimos_flybys", "budget_legs"]


@dataclass
class ResonantOrbit:
    p_sc: int
    q_deimos: int
    period_s: float
    a_km: float
    rp_km: float
    ra_km: float
    e: float
    crossing_true_anomaly_rad: float  # outbound crossing of r = a_Deimos
    v_sc_km_s: float  # at the crossing
    flight_path_deg: float
    v_rel_km_s: float  # flyby speed (design, circular coplanar Deimos)
    dv_from_phobos_orbit_km_s: float  # tangential burn at r_p from a circular orbit at r_p
    revisit_days: float  # time between flybys = q P_Deimos


def resonant_orbit(p_sc: int, q_deimos: int, rp_km: float = A_PHOBOS_KM, mu: float = GM_MARS) -> ResonantOrbit:
    """Design of the p:q resonant orbit (spacecraft : Deimos revolutions) with periapsis rp."""
    for name, v in (("p_sc", p_sc), ("q_deimos", q_deimos)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise InputError(name, v, "an integer >= 1")
    if not (isinstance(rp_km, (int, float)) and 3396.19 < rp_km < A_DEIMOS_KM):
        raise InputError("rp_km", rp_km, "a periapsis radius between Mars' surface and Deimos' orbit (km)")
    P = q_deimos / p_sc * P_DEIMOS_S
    a = (mu * (P / (2 * math.pi)) ** 2) ** (1 / 3)
    ra = 2 * a - rp_km
    if ra < A_DEIMOS_KM or a <= rp_km:
        raise InputError("p_sc:q_deimos", f"{p_sc}:{q_deimos}",
                         f"a resonance whose orbit (periapsis {rp_km:.0f} km) reaches Deimos' orbit "
                         f"({A_DEIMOS_KM:.0f} km): P/P_Deimos >= "
                         f"{((rp_km + A_DEIMOS_KM) / 2 / A_DEIMOS_KM) ** 1.5:.3f}")
    e = (ra - rp_km) / (ra + rp_km)
    p = a * (1 - e * e)
    nu = math.acos(max(-1.0, min(1.0, (p / A_DEIMOS_KM - 1) / e)))
    v = math.sqrt(mu * (2 / A_DEIMOS_KM - 1 / a))
    gam = math.atan2(e * math.sin(nu), 1 + e * math.cos(nu))
    vd = math.sqrt(mu / A_DEIMOS_KM)
    vrel = math.hypot(v * math.sin(gam), v * math.cos(gam) - vd)
    dv = math.sqrt(mu * (2 / rp_km - 1 / a)) - math.sqrt(mu / rp_km)
    return ResonantOrbit(p_sc, q_deimos, P, a, rp_km, ra, e, nu, v, math.degrees(gam), vrel, dv,
                         q_deimos * P_DEIMOS_S / 86400.0)


@dataclass
class Flyby:
    t_tdb: float
    distance_km: float
    v_rel_km_s: float


@dataclass
class FlybySequence:
    orbit: ResonantOrbit
    t0_tdb: float
    miss_km: float
    flybys: list
    t: np.ndarray = field(repr=False, default=None)
    distance_km: np.ndarray = field(repr=False, default=None)


def _unit(v):
    return v / np.linalg.norm(v)


def flyby_sequence(orbit: ResonantOrbit, t0_tdb: float, miss_km: float = 100.0, days: float | None = None,
                   eph=None, mars_degree: int = 4, threshold_km: float = 3000.0) -> FlybySequence:
    """Propagate the resonant orbit from a first flyby at ``t0_tdb`` and list the flybys."""
    from ..dynamics import DynamicsModel, MarsGravity, ThirdBody, propagate

    if eph is None:
        from ..ephemeris import default_ephemeris

        eph = default_ephemeris()
    if not (math.isfinite(miss_km) and 0 < miss_km < 5000):
        raise InputError("miss_km", miss_km, "a first-flyby distance 0 < miss < 5000 km")
    if days is None:
        days = 4.01 * orbit.revisit_days
    if not (days > 0):
        raise InputError("days", days, "> 0")
    xd = np.asarray(eph.state("DEIMOS", "MARS", t0_tdb))
    ur = _unit(xd[:3])
    h = _unit(np.cross(xd[:3], xd[3:]))
    ut = np.cross(h, ur)
    g = math.radians(orbit.flight_path_deg)
    r0 = xd[:3] + miss_km * h
    v0 = orbit.v_sc_km_s * (math.sin(g) * ur + math.cos(g) * ut)
    model = DynamicsModel(forces=[MarsGravity(degree=mars_degree), ThirdBody("DEIMOS"), ThirdBody("SUN")],
                          ephemeris=eph, tolerance=1e-13)
    # the first flyby is the initial point (distance miss_km by construction); later ones are
    # the local minima of the distance
    step = 20.0
    tg = t0_tdb + np.arange(0.0, days * 86400.0, step)
    res = propagate(model, t0_tdb, np.concatenate([r0, v0]), tg)
    t = np.asarray(res.t)
    X = np.asarray(res.states)
    D = np.asarray(eph.state("DEIMOS", "MARS", t))
    rel = X[:, :3] - D[:, :3]
    d = np.linalg.norm(rel, axis=1)
    flybys = [Flyby(float(t[0]), float(d[0]), float(np.linalg.norm(X[0, 3:] - D[0, 3:])))]
    for k in range(1, len(d) - 1):
        if d[k] < d[k - 1] and d[k] <= d[k + 1] and d[k] < threshold_km:
            y = d[k - 1:k + 2] ** 2  # quadratic in time for straight-line relative motion
            den = y[0] - 2 * y[1] + y[2]
            s = 0.5 * (y[0] - y[2]) / den if den > 0 else 0.0
            dmin2 = y[1] - 0.25 * (y[0] - y[2]) * s
            flybys.append(Flyby(float(t[k] + s * step), float(math.sqrt(max(dmin2, 0.0))),
                                float(np.linalg.norm(X[k, 3:] - D[k, 3:]))))
    return FlybySequence(orbit, t0_tdb, miss_km, flybys, t, d)


def deimos_flybys(t0="2030-03-01", resonances=DEFAULT_RESONANCES, miss_km: float = 100.0,
                  flybys_per_orbit: int = 4, eph=None) -> dict:
    """Entry point: design and ephemeris-model flybys for each resonance, plain numbers and a
    Figure (distance to Deimos versus time). ``t0``: first flyby (ISO UTC or TDB s)."""
    from .windows import _tdb

    t0s = _tdb(t0, "t0")
    out = {"orbits": [], "figures": {}}
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4.5))
    ax = fig.add_subplot(111)
    t_start = t0s
    for p, q in resonances:
        orb = resonant_orbit(p, q)
        seq = flyby_sequence(orb, t_start, miss_km, days=(flybys_per_orbit - 1 + 0.01) * orb.revisit_days, eph=eph)
        out["orbits"].append({
            "resonance": f"{p}:{q}", "period_h": orb.period_s / 3600, "rp_km": orb.rp_km, "ra_km": orb.ra_km,
            "dv_from_phobos_orbit_m_s": 1e3 * orb.dv_from_phobos_orbit_km_s, "revisit_days": orb.revisit_days,
            "design_v_rel_km_s": orb.v_rel_km_s,
            "flybys": [{"t_tdb": f.t_tdb, "distance_km": f.distance_km, "v_rel_km_s": f.v_rel_km_s}
                       for f in seq.flybys],
        })
        ax.semilogy((seq.t - t0s) / 86400, seq.distance_km, label=f"{p}:{q} resonance")
        t_start = seq.t[-1] + 0.5 * P_DEIMOS_S  # next orbit starts later (new first flyby)
    ax.set_xlabel("days after the first flyby")
    ax.set_ylabel("distance to Deimos (km)")
    ax.set_title("Deimos flybys from resonant orbits (Mars J2-J4, Sun, Deimos; no maintenance)")
    ax.legend()
    out["figures"]["deimos_distance"] = fig
    return out


def budget_legs(resonances=DEFAULT_RESONANCES, qso_size_km: float = 100.0):
    """Budget legs (:class:`mmxsim.orbits.budget.Leg`) from the QSO to the last resonant orbit:
    QSO exit onto Phobos' orbit (CW estimate 2 n d), tangential burn at r_p into the first
    resonant orbit, then periapsis burns between resonant orbits (impulsive, coplanar).
    Returns (legs, semi-major axis of the last orbit, km)."""
    from ..bodies import PHOBOS_MEAN_MOTION

    legs = [Leg("QSO exit (CW estimate 2 n d)", 2 * PHOBOS_MEAN_MOTION * qso_size_km, f"d = {qso_size_km:g} km")]
    prev = None
    for p, q in resonances:
        o = resonant_orbit(p, q)
        if prev is None:
            legs.append(Leg(f"Phobos orbit -> {p}:{q} Deimos resonance", o.dv_from_phobos_orbit_km_s,
                            f"r_p {o.rp_km:.0f} km, r_a {o.ra_km:.0f} km, flybys every {o.revisit_days:.2f} d"))
        else:
            vp1 = math.sqrt(GM_MARS * (2 / prev.rp_km - 1 / prev.a_km))
            vp2 = math.sqrt(GM_MARS * (2 / o.rp_km - 1 / o.a_km))
            legs.append(Leg(f"{prev.p_sc}:{prev.q_deimos} -> {p}:{q} Deimos resonance", abs(vp2 - vp1),
                            f"r_a {o.ra_km:.0f} km, flybys every {o.revisit_days:.2f} d"))
        prev = o
    return legs, prev.a_km
