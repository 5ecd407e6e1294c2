"""Return targeting: from the Earth-arrival hyperbola to an entry interface that lands at Woomera.

Simplified model (say so): the approach is a two-body hyperbola about the Earth (point mass,
GM of [WGS84]; the Sun, Moon and J2 are neglected over the last hours before entry); the
Earth's orientation is the IAU rotation model of the packaged ``pck00011.tpc`` (precession and
nutation simplified, about 1 km at the surface). The arrival asymptote (v-infinity vector, ICRF)
comes from the interplanetary design (Lambert, ``orbits.lambert``) and is held fixed.

B-plane (standard definition): S = v_inf / |v_inf|; T = S x Z / |S x Z| (Z the ICRF pole);
R = S x T. The aim point is B = B.T T + B.R R, the miss vector of the incoming asymptote.

Three targets need three controls: the entry flight-path angle and the landing latitude and
longitude are reached with the two B-plane coordinates and the time of arrival (the classical
third B-plane target, linearised time of flight). |B| follows in closed form from the entry
angle (conservation of energy and angular momentum)::

    v_EI^2 = v_inf^2 + 2 mu / r_EI,   |B| v_inf = r_EI v_EI cos(gamma_EI)

The B-plane angle theta (B.T = |B| cos theta, B.R = |B| sin theta) and the arrival-time shift dt
then solve "landing point = target" (two equations), flying each candidate with the 3-DOF entry
model (:func:`mmxsim.earth_return.entry.simulate_entry`) to get the downrange.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .entry import (A_WGS84, DEG, GM_WGS84, OMEGA_EARTH, WGS84, Capsule, EntryState, EntryTrajectory,
                    local_en_km, simulate_entry, state_summary)


def bplane_frame(vinf) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit vectors S, T, R of the B-plane for an incoming v-infinity vector (ICRF)."""
    v = np.asarray(vinf, dtype=float)
    vn = float(np.linalg.norm(v))
    if not (v.shape == (3,) and np.all(np.isfinite(v)) and vn > 1e-3):
        raise InputError("vinf_kms", vinf, "a finite 3-vector with |v_inf| > 1 m/s (km/s, ICRF)")
    s = v / vn
    t = np.cross(s, [0.0, 0.0, 1.0])
    if np.linalg.norm(t) < 1e-8:
        raise InputError("vinf_kms", vinf, "an asymptote not parallel to the Earth's pole")
    t /= np.linalg.norm(t)
    return s, t, np.cross(s, t)


def b_magnitude_for_fpa(vinf_kms: float, fpa_deg: float, r_ei_km: float, gm: float = GM_WGS84) -> float:
    """|B| (km) giving the inertial flight-path angle ``fpa_deg`` (< 0) at radius ``r_ei_km``."""
    if not (-90.0 < fpa_deg < 0.0):
        raise InputError("fpa_deg", fpa_deg, "a descending entry angle, -90 < fpa < 0 deg")
    v_ei = math.sqrt(vinf_kms ** 2 + 2.0 * gm / r_ei_km)
    return r_ei_km * v_ei * math.cos(fpa_deg * DEG) / vinf_kms


def hyperbola_state_at_radius(vinf, b_t_km: float, b_r_km: float, r_km: float, gm: float = GM_WGS84):
    """Inbound state (ICRF, km, km/s) where the hyperbola (v_inf, B) crosses radius ``r_km``.

    Returns ``(r, v, fpa_deg, t_to_periapsis_s)``. Raises InputError if periapsis lies above
    ``r_km`` (the trajectory misses the entry interface)."""
    s, t, rr = bplane_frame(vinf)
    vn = float(np.linalg.norm(vinf))
    b = math.hypot(b_t_km, b_r_km)
    if not b > 0:
        raise InputError("b_plane", (b_t_km, b_r_km), "|B| > 0 km (a head-on approach has no entry angle)")
    bvec = b_t_km * t + b_r_km * rr
    a = -gm / vn ** 2  # km, negative for a hyperbola
    e = math.sqrt(1.0 + (b * vn ** 2 / gm) ** 2)
    rp = -a * (e - 1.0)
    if rp >= r_km:
        raise InputError("b_plane", (b_t_km, b_r_km),
                         f"|B| small enough to reach the entry interface: periapsis {rp:.0f} km > r_EI {r_km:.0f} km")
    hhat = np.cross(bvec, s)
    hhat /= np.linalg.norm(hhat)
    nu_inf = math.acos(-1.0 / e)
    # incoming asymptote: r_hat(-nu_inf) = -S;  P = Rot(h, nu_inf)(-S)
    m = -s
    c, sn = math.cos(nu_inf), math.sin(nu_inf)
    P = m * c + np.cross(hhat, m) * sn + hhat * float(hhat @ m) * (1 - c)
    Q = np.cross(hhat, P)
    p = a * (1.0 - e * e)
    cos_nu = (p / r_km - 1.0) / e
    nu = -math.acos(max(-1.0, min(1.0, cos_nu)))  # inbound branch
    r = r_km * (math.cos(nu) * P + math.sin(nu) * Q)
    v = math.sqrt(gm / p) * (-math.sin(nu) * P + (e + math.cos(nu)) * Q)
    fpa = math.degrees(math.atan2(e * math.sin(nu), 1.0 + e * math.cos(nu)))
    # time to periapsis from the hyperbolic anomaly
    F = 2.0 * math.atanh(math.sqrt((e - 1.0) / (e + 1.0)) * math.tan(nu / 2.0))
    t_to_peri = -(e * math.sinh(F) - F) * math.sqrt((-a) ** 3 / gm)
    return r, v, fpa, t_to_peri


def entry_state_from_bplane(vinf, b_t_km: float, b_r_km: float, t_ei_tdb: float,
                            ei_altitude_km: float = 200.0, rotation=None) -> EntryState:
    """Entry-interface state (Earth-fixed, inertial speed/FPA/azimuth) of the aim point at epoch ``t_ei_tdb``.

    The interface is the sphere of radius a_WGS84 + ``ei_altitude_km``; the returned
    ``EntryState.altitude_km`` is the geodetic height of that point."""
    if rotation is None:
        from ..bodies.rotation import iau_rotation

        rotation = iau_rotation(399)
    r, v, _, _ = hyperbola_state_at_radius(vinf, b_t_km, b_r_km, A_WGS84 + ei_altitude_km)
    M = np.asarray(rotation.matrix(float(t_ei_tdb)))
    rf, vf = M @ r, M @ v  # inertial velocity expressed on Earth-fixed axes
    d = state_summary(rf, vf, WGS84, frame="relative")
    return EntryState(d["altitude_km"], d["lat_deg"], d["lon_deg"], d["speed_kms"], d["fpa_deg"],
                      d["azimuth_deg"], "inertial")


@dataclass
class TargetingResult:
    """Solution of :func:`target_landing`."""

    b_t_km: float
    b_r_km: float
    b_km: float
    theta_deg: float
    dt_s: float  # arrival-time shift applied to the nominal entry epoch
    t_ei_tdb: float
    entry: EntryState
    trajectory: EntryTrajectory
    miss_km: float
    fpa_deg: float
    evaluations: int


def target_landing(vinf, t_ei_tdb: float, target_lat_deg: float, target_lon_deg: float,
                   fpa_deg: float = -12.0, ei_altitude_km: float = 200.0, capsule: Capsule | None = None,
                   n_scan: int = 12, tol_km: float = 0.1, **entry_kw) -> TargetingResult:
    """Solve the B-plane aim point (B.T, B.R) and arrival-time shift that land the capsule on a target.

    Parameters
    ----------
    vinf : (3,) km/s, ICRF arrival v-infinity
    t_ei_tdb : nominal epoch (TDB s past J2000) of reaching the entry interface
    target_lat_deg, target_lon_deg : landing target (geodetic), e.g. a Woomera range point
    fpa_deg : inertial entry flight-path angle at the interface (closed form -> |B|)
    """
    if not (-90.0 <= target_lat_deg <= 90.0):
        raise InputError("target_lat_deg", target_lat_deg, "-90 to 90 deg")
    s, _, _ = bplane_frame(vinf)
    vn = float(np.linalg.norm(vinf))
    b = b_magnitude_for_fpa(vn, fpa_deg, A_WGS84 + ei_altitude_km)
    from ..bodies.rotation import iau_rotation

    rot = iau_rotation(399)
    kw = {"sample_dt_s": 0.5, "rtol": 1e-8, **entry_kw}
    count = [0]

    def land(theta, dt):
        e = entry_state_from_bplane(vinf, b * math.cos(theta), b * math.sin(theta), t_ei_tdb + dt,
                                    ei_altitude_km, rot)
        tr = simulate_entry(e, capsule, **kw)
        count[0] += 1
        return e, tr

    def wrap(x):
        return (x + 180.0) % 360.0 - 180.0

    # scan the B-plane angle; for each, the time shift that removes the longitude miss
    best = None
    for th in np.linspace(0.0, 2 * np.pi, int(n_scan), endpoint=False):
        _, tr = land(th, 0.0)
        lat, lon = tr.summary["landing_lat_deg"], tr.summary["landing_lon_deg"]
        dt = wrap(lon - target_lon_deg) * DEG / OMEGA_EARTH
        err = abs(lat - target_lat_deg)
        if best is None or err < best[0]:
            best = (err, th, dt)

    def resid(x):
        _, tr = land(x[0], x[1])
        return local_en_km(tr.summary["landing_lat_deg"], tr.summary["landing_lon_deg"],
                           target_lat_deg, target_lon_deg)[0]

    # Newton iteration on (theta, dt) with a finite-difference Jacobian; stops below tol_km
    x = np.array([best[1], best[2]])
    f = resid(x)
    steps = np.array([1e-5, 1.0])  # rad, s
    for _ in range(20):
        if math.hypot(*f) < tol_km:
            break
        J = np.column_stack([(resid(x + np.eye(2)[k] * steps[k]) - f) / steps[k] for k in range(2)])
        dx = np.linalg.lstsq(J, -f, rcond=None)[0]
        lam = 1.0
        for _ in range(6):  # backtracking keeps the step inside the region where the map is smooth
            fn = resid(x + lam * dx)
            if math.hypot(*fn) < math.hypot(*f):
                break
            lam *= 0.5
        x, f = x + lam * dx, fn
    th, dt = float(x[0]), float(x[1])
    e, tr = land(th, dt)
    miss = float(np.hypot(*local_en_km(tr.summary["landing_lat_deg"], tr.summary["landing_lon_deg"],
                                       target_lat_deg, target_lon_deg)[0]))
    if miss > max(tol_km, 0.0) * 10 + 5.0:
        raise InputError("target", (target_lat_deg, target_lon_deg),
                         f"a landing point reachable from this arrival asymptote (best miss {miss:.0f} km)")
    return TargetingResult(b * math.cos(th), b * math.sin(th), b, math.degrees(th) % 360.0, dt, t_ei_tdb + dt,
                           e, tr, miss, e.fpa_deg, count[0])
