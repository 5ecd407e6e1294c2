"""3-DOF ballistic capsule entry over a rotating, oblate Earth; parachute descent; Monte Carlo footprint.

Model (simplified; what is and is not in it)
-------------------------------------------
* Point mass (3 degrees of freedom), no lift: a ballistic capsule such as the Hayabusa / Hayabusa2
  / MMX sample return capsules (the MMX capsule is JAXA's, built by Kawasaki Heavy Industries
  [KHI-MMX]; Australia provides its landing and recovery at the Woomera Range Complex [AUS-2022],
  [ASA-2023]).
* State in the Earth-fixed (rotating) Cartesian frame, km and km/s. Equations of motion::

      dv/dt = g_J2(r) - 2 w x v - w x (w x r) + a_drag,   a_drag = -rho |v_rel| v_rel / (2 beta)

  with ``v_rel = v - wind``, ``beta = m / (C_D(M) A)``. Gravity: point mass + J2 (zonal, WGS84
  ellipsoid constants [WGS84]); Earth rotation rate w of [WGS84]. Altitude, latitude and
  longitude are geodetic on the WGS84 ellipsoid.
* Atmosphere: :mod:`mmxsim.earth_return.atmosphere` (USSA76 default, NRLMSIS 2 optional), tabulated
  once per run on a 0.25 km grid (log-linear interpolation), times a density scale factor.
  Winds: east/north components vs altitude (parameters; calm by default).
* Aerodynamics: C_D as a table vs Mach number (ASSUMPTION: the Hayabusa2 capsule's C_D is
  unpublished, facts-2 §B1; the default table is typical of a 45 deg blunted cone: modified
  Newtonian ~1.05 hypersonic, transonic peak, ~0.75 subsonic).
* Heating: Sutton-Graves convective stagnation-point heat flux [SG71]
  ``q = k sqrt(rho / R_n) V^3`` with k = 1.7415e-4 kg^0.5 m^-1 for Earth air (SI units, W/m^2).
  Radiative heating is not modelled.
* Parachute: deployed when the geodetic altitude falls below ``deploy_altitude_km`` (about
  10 km for Hayabusa2 [H2-CH24], [Y21]) or the Mach number below ``deploy_mach`` (if set); after
  that the drag area is the parachute's ``C_D S`` (ASSUMPTION, unpublished) and the mass
  ``descent_mass_kg`` (heatshields jettisoned; ASSUMPTION, defaults to the entry mass).
* The entry stops at ``ground_altitude_km`` above the ellipsoid.

Flight-path angle convention: angle of the velocity above the plane normal to the *geocentric*
radius (negative = descending); azimuth clockwise from north in that plane. ``frame="inertial"``
means the speed/FPA/azimuth of the velocity in a non-rotating frame (the convention of published
entry conditions, e.g. Hayabusa2's 12 km/s and 12 deg); ``"relative"`` means Earth-relative.

Citation keys (not yet in the shared facts sheets, standard references): [WGS84] NIMA TR8350.2
(3rd ed., 2000): a = 6378.137 km, f = 1/298.257223563, GM = 398600.4418 km^3/s^2,
w = 7.292115e-5 rad/s, J2 = 1.08262998905e-3 (C20 = -4.84166774985e-4, normalised, EGM96);
[SG71] Sutton K. & Graves R. A. (1971), NASA TR R-376. Facts keys as in facts-2 §B.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.integrate import solve_ivp

from ..errors import InputError
from .atmosphere import USSA76, WindProfile

# --- constants -------------------------------------------------------------------------------
A_WGS84 = 6378.137  # km [WGS84]
F_WGS84 = 1.0 / 298.257223563  # [WGS84]
E2_WGS84 = F_WGS84 * (2.0 - F_WGS84)
GM_WGS84 = 398600.4418  # km^3/s^2 [WGS84]
OMEGA_EARTH = 7.292115e-5  # rad/s [WGS84]
J2_EARTH = 1.08262998905e-3  # = -sqrt(5) C20, C20 = -4.84166774985e-4 [WGS84] (EGM96)
K_SUTTON_GRAVES = 1.7415e-4  # kg^0.5 / m, Earth air [SG71]
G0 = 9.80665  # m/s^2 (standard gravity, for "g" units) [USSA76]

DEG = math.pi / 180.0
_ZERO3 = np.zeros(3)


@dataclass(frozen=True)
class EarthModel:
    """Rotating oblate Earth: ellipsoid, gravity (point mass + J2) and spin. Defaults [WGS84].

    Set ``j2=0``, ``omega=0``, ``flattening=0`` or ``gm=0`` for the simplified checks."""

    a_km: float = A_WGS84
    flattening: float = F_WGS84
    gm: float = GM_WGS84
    j2: float = J2_EARTH
    omega: float = OMEGA_EARTH

    @property
    def e2(self) -> float:
        return self.flattening * (2.0 - self.flattening)


WGS84 = EarthModel()


def geodetic_from_ecef(r, earth: EarthModel = WGS84):
    """ECEF position (km) -> geodetic latitude (rad), longitude (rad), height (km) (fixed point, 3 iterations;
    converged to < 1 mm below 1000 km, checked by a round-trip test). One implementation with the
    compiled ensemble (:func:`mmxsim.earth_return._ensemble.geodetic`)."""
    from ._ensemble import geodetic

    return geodetic(float(r[0]), float(r[1]), float(r[2]), earth.a_km, earth.e2)


def ecef_from_geodetic(lat, lon, h, earth: EarthModel = WGS84) -> np.ndarray:
    """Geodetic latitude/longitude (rad) and height (km) -> ECEF position (km)."""
    a, e2 = earth.a_km, earth.e2
    n = a / math.sqrt(1.0 - e2 * math.sin(lat) ** 2)
    return np.array([(n + h) * math.cos(lat) * math.cos(lon),
                     (n + h) * math.cos(lat) * math.sin(lon),
                     (n * (1.0 - e2) + h) * math.sin(lat)])


def _enu(lat, lon):
    sl, cl, so, co = math.sin(lat), math.cos(lat), math.sin(lon), math.cos(lon)
    e = np.array([-so, co, 0.0])
    n = np.array([-sl * co, -sl * so, cl])
    u = np.array([cl * co, cl * so, sl])
    return e, n, u


def gravity_j2(r, earth: EarthModel = WGS84) -> np.ndarray:
    """Gravitational acceleration (km/s^2) of a point mass plus J2, gradient of :func:`potential_j2`."""
    x, y, z = r
    r2 = x * x + y * y + z * z
    rn = math.sqrt(r2)
    mu_r3 = earth.gm / (r2 * rn)
    k = 1.5 * earth.j2 * (earth.a_km / rn) ** 2
    zz = 5.0 * z * z / r2
    fxy = -mu_r3 * (1.0 + k * (1.0 - zz))
    return np.array([fxy * x, fxy * y, -mu_r3 * z * (1.0 + k * (3.0 - zz))])


def potential_j2(r, earth: EarthModel = WGS84) -> float:
    """Gravitational potential U (km^2/s^2, positive), U = mu/r [1 - J2 (a/r)^2 P2(z/r)]."""
    rn = float(np.linalg.norm(r))
    s = r[2] / rn
    return earth.gm / rn * (1.0 - earth.j2 * (earth.a_km / rn) ** 2 * 0.5 * (3 * s * s - 1))


def jacobi_integral(r, v, earth: EarthModel = WGS84) -> float:
    """0.5|v|^2 - 0.5|w x r|^2 - U(r) in the rotating frame: constant without drag."""
    w = np.array([0.0, 0.0, earth.omega])
    wr = np.cross(w, r)
    return 0.5 * float(np.dot(v, v)) - 0.5 * float(np.dot(wr, wr)) - potential_j2(r, earth)


def sutton_graves(rho, speed_ms, nose_radius_m, k: float = K_SUTTON_GRAVES):
    """Sutton-Graves stagnation-point convective heat flux, W/m^2 [SG71]: k sqrt(rho/R_n) V^3."""
    if np.any(np.asarray(nose_radius_m) <= 0):
        raise InputError("nose_radius_m", nose_radius_m, "> 0 m")
    return k * np.sqrt(np.asarray(rho) / nose_radius_m) * np.asarray(speed_ms) ** 3


# --- capsule and entry state -------------------------------------------------------------------

# ASSUMPTION: C_D vs Mach of a 45 deg blunted cone (Hayabusa-class). Hypersonic ~1.05 from modified
# Newtonian theory for a 45 deg cone with a spherical nose; transonic peak; subsonic ~0.75.
DEFAULT_CD_MACH = ((0.0, 0.5, 0.8, 1.0, 1.2, 1.5, 2.0, 3.0, 5.0, 10.0, 50.0),
                   (0.75, 0.78, 0.90, 1.08, 1.15, 1.13, 1.10, 1.07, 1.05, 1.05, 1.05))


@dataclass(frozen=True)
class Capsule:
    """A ballistic capsule. Defaults: the Hayabusa2 SRC (facts-2 §B1).

    mass_kg 16 [BBC-2020], [Y18]; diameter_m 0.40 [JAXA-BLOG-SRC] (secondary); nose_radius_m 0.20
    (ASSUMPTION: unpublished); cd_mach (ASSUMPTION, see DEFAULT_CD_MACH); deploy_altitude_km 10
    [H2-CH24], [Y21]; chute_cds_m2 4.0 m^2 (ASSUMPTION: about 8 m/s at sea level with 16 kg); descent_mass_kg
    (ASSUMPTION: None = entry mass); chute_inflation_s 3 s (ASSUMPTION: the drag area grows
    linearly from the capsule's to the parachute's over this time, which sets the opening load).
    """

    mass_kg: float = 16.0
    diameter_m: float = 0.40
    nose_radius_m: float = 0.20
    cd_mach: tuple = DEFAULT_CD_MACH
    cd_scale: float = 1.0
    deploy_altitude_km: float = 10.0
    deploy_mach: float | None = None
    chute_cds_m2: float = 4.0
    descent_mass_kg: float | None = None
    chute_inflation_s: float = 3.0

    def __post_init__(self):
        if not (np.isfinite(self.chute_inflation_s) and self.chute_inflation_s >= 0):
            raise InputError("capsule.chute_inflation_s", self.chute_inflation_s, ">= 0 s")
        for name in ("mass_kg", "diameter_m", "nose_radius_m", "cd_scale", "chute_cds_m2"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise InputError(f"capsule.{name}", v, "a finite number > 0")
        m, c = self.cd_mach
        if len(m) != len(c) or len(m) < 1 or np.any(np.diff(m) <= 0) or np.any(np.asarray(c) <= 0):
            raise InputError("capsule.cd_mach", self.cd_mach,
                             "(mach, cd) tables of equal length, increasing Mach, C_D > 0")
        if self.descent_mass_kg is not None and not self.descent_mass_kg > 0:
            raise InputError("capsule.descent_mass_kg", self.descent_mass_kg, "> 0 kg or None")

    @property
    def area_m2(self) -> float:
        return math.pi * self.diameter_m ** 2 / 4.0

    def cd(self, mach):
        return self.cd_scale * np.interp(mach, self.cd_mach[0], self.cd_mach[1])

    def cd_scalar(self, mach: float) -> float:
        m, c = self.cd_mach
        if mach <= m[0]:
            return self.cd_scale * c[0]
        if mach >= m[-1]:
            return self.cd_scale * c[-1]
        for i in range(1, len(m)):
            if mach < m[i]:
                f = (mach - m[i - 1]) / (m[i] - m[i - 1])
                return self.cd_scale * (c[i - 1] + f * (c[i] - c[i - 1]))
        return self.cd_scale * c[-1]

    @property
    def ballistic_coefficient(self) -> float:
        """m / (C_D A) at hypersonic speed (Mach 50 of the table), kg/m^2."""
        return self.mass_kg / (float(self.cd(50.0)) * self.area_m2)


@dataclass(frozen=True)
class EntryState:
    """Entry-interface state: geodetic position, speed, flight-path angle, azimuth.

    ``epoch_utc`` only labels the run (and feeds the MSIS column); the entry dynamics do not
    depend on absolute time.
    """

    altitude_km: float = 200.0
    lat_deg: float = -27.0
    lon_deg: float = 133.0
    speed_kms: float = 12.0
    fpa_deg: float = -12.0
    azimuth_deg: float = 150.0
    frame: str = "inertial"
    epoch_utc: str | None = None

    def __post_init__(self):
        if self.frame not in ("inertial", "relative"):
            raise InputError("entry.frame", self.frame, "'inertial' or 'relative'")
        if not (60.0 <= self.altitude_km <= 1000.0):
            raise InputError("entry.altitude_km", self.altitude_km, "60 to 1000 km (entry interface)")
        if not (-90.0 <= self.lat_deg <= 90.0):
            raise InputError("entry.lat_deg", self.lat_deg, "-90 to 90 deg")
        if not (0.5 <= self.speed_kms <= 20.0):
            raise InputError("entry.speed_kms", self.speed_kms, "0.5 to 20 km/s")
        if not (-90.0 < self.fpa_deg < 0.0):
            raise InputError("entry.fpa_deg", self.fpa_deg, "a descending angle, -90 < fpa < 0 deg")

    def ecef_state(self, earth: EarthModel = WGS84) -> np.ndarray:
        """Earth-fixed position (km) and Earth-relative velocity (km/s)."""
        lat, lon = self.lat_deg * DEG, self.lon_deg * DEG
        r = ecef_from_geodetic(lat, lon, self.altitude_km, earth)
        u = r / np.linalg.norm(r)  # geocentric up
        e = np.cross([0.0, 0.0, 1.0], u)
        e /= np.linalg.norm(e)
        n = np.cross(u, e)
        g, az = self.fpa_deg * DEG, self.azimuth_deg * DEG
        v = self.speed_kms * (math.cos(g) * (math.sin(az) * e + math.cos(az) * n) + math.sin(g) * u)
        if self.frame == "inertial":
            v = v - np.cross([0.0, 0.0, earth.omega], r)
        return np.concatenate([r, v])


def state_summary(r, v, earth: EarthModel = WGS84, frame: str = "inertial") -> dict:
    """Geodetic position, speed, FPA and azimuth of an ECEF state (velocity Earth-relative)."""
    lat, lon, h = geodetic_from_ecef(r, earth)
    vv = np.asarray(v, dtype=float) + (np.cross([0.0, 0.0, earth.omega], r) if frame == "inertial" else 0.0)
    u = r / np.linalg.norm(r)
    e = np.cross([0.0, 0.0, 1.0], u)
    e /= np.linalg.norm(e)
    n = np.cross(u, e)
    sp = float(np.linalg.norm(vv))
    return {"lat_deg": lat / DEG, "lon_deg": lon / DEG, "altitude_km": h, "speed_kms": sp,
            "fpa_deg": math.degrees(math.asin(float(np.dot(vv, u)) / sp)),
            "azimuth_deg": math.degrees(math.atan2(float(np.dot(vv, e)), float(np.dot(vv, n)))) % 360.0}


# --- the integrator ----------------------------------------------------------------------------

class _Column:
    """Atmosphere tabulated on a 0.25 km grid: fast scalar log-density and sound-speed lookups."""

    def __init__(self, atmosphere, top_km):
        self.h0, self.dh = -2.0, 0.25
        self.h = np.arange(self.h0, top_km + 5.0, self.dh)
        rho = np.asarray(atmosphere.density(self.h), dtype=float)
        self.zero = not np.any(rho > 0)
        self.lrho = np.log(np.maximum(rho, 1e-300))
        self.a = np.asarray(atmosphere.sound_speed(self.h), dtype=float)
        self.n = len(self.h)

    def __call__(self, h):
        x = (h - self.h0) / self.dh
        i = min(max(int(x), 0), self.n - 2)
        f = min(max(x - i, 0.0), 1.0) if h <= self.h[-1] else 1.0
        lr = self.lrho[i] + f * (self.lrho[i + 1] - self.lrho[i])
        rho = 0.0 if (self.zero or h > self.h[-1]) else math.exp(lr)
        return rho, self.a[i] + f * (self.a[i + 1] - self.a[i])


@dataclass
class EntryTrajectory:
    """Result of :func:`simulate_entry`. Arrays are sampled in time (s after the entry interface)."""

    t: np.ndarray
    altitude_km: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    speed_kms: np.ndarray  # Earth-relative (air-relative without wind)
    mach: np.ndarray
    decel_g: np.ndarray  # drag deceleration / g0
    heat_flux_wm2: np.ndarray  # Sutton-Graves, zero after parachute deployment
    states: np.ndarray  # (N, 6) ECEF state
    summary: dict = field(default_factory=dict)

    def figure(self):
        """Entry profiles: altitude, speed, heat flux, deceleration vs time (Agg Figure)."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(10, 7), tight_layout=True)
        axs = fig.subplots(2, 2)
        tend = self.summary.get("deploy_time_s", self.t[-1]) * 1.15
        m = self.t <= tend
        for ax, y, lab in ((axs[0, 0], self.altitude_km, "geodetic altitude (km)"),
                           (axs[0, 1], self.speed_kms, "Earth-relative speed (km/s)"),
                           (axs[1, 0], self.heat_flux_wm2 / 1e6, "stagnation heat flux, Sutton-Graves (MW/m$^2$)"),
                           (axs[1, 1], self.decel_g, "deceleration (g)")):
            ax.plot(self.t[m], y[m])
            ax.set_xlabel("time after entry interface (s)")
            ax.set_ylabel(lab)
            ax.grid(alpha=0.3)
        s = self.summary
        fig.suptitle(f"capsule entry: peak {s['peak_heat_flux_MWm2']:.1f} MW/m$^2$ at {s['peak_heating_altitude_km']:.1f} km, "
                     f"peak {s['peak_decel_g']:.1f} g at {s['peak_decel_altitude_km']:.1f} km; landing after {s['landing_time_s'] / 60:.1f} min")
        return fig


def simulate_entry(entry: EntryState, capsule: Capsule | None = None, atmosphere=None,
                   winds: WindProfile | None = None, earth: EarthModel = WGS84,
                   ground_altitude_km: float = 0.0, max_time_s: float = 7200.0,
                   rtol: float = 1e-9, sample_dt_s: float = 0.1, no_atmosphere: bool = False,
                   check_skip: bool = True, stop_at_deploy: bool = False) -> EntryTrajectory:
    """Fly the capsule from the entry interface to the ground.

    Parameters
    ----------
    entry : EntryState
    capsule : Capsule, default the Hayabusa2-class capsule
    atmosphere : object with ``density``/``sound_speed`` (default :class:`USSA76`)
    winds : WindProfile (default calm)
    earth : EarthModel (default WGS84 with J2 and rotation)
    ground_altitude_km : geodetic height where the flight ends
    no_atmosphere : fly in vacuum for ``max_time_s`` (dynamics checks; no landing)
    check_skip : raise :class:`InputError` if the capsule climbs back above the entry interface
    stop_at_deploy : end the flight at parachute deployment (hypersonic phase only)

    Raises
    ------
    InputError
        Skip-out (the entry angle is too shallow for the capsule to be captured), or bad inputs.
    """
    capsule = capsule or Capsule()
    atmosphere = atmosphere if atmosphere is not None else USSA76()
    winds = winds or WindProfile()
    if not (-1.0 <= ground_altitude_km <= 5.0):
        raise InputError("ground_altitude_km", ground_altitude_km, "-1 to 5 km")
    y0 = entry.ecef_state(earth)
    col = _Column(atmosphere, entry.altitude_km + 10.0)
    area = capsule.area_m2
    deploy_h = capsule.deploy_altitude_km
    deploy_m = capsule.deploy_mach

    def aero(y, chute):
        r, v = y[:3], y[3:]
        lat, lon, h = geodetic_from_ecef(r, earth)
        if no_atmosphere:
            return _ZERO3, h, 0.0, 0.0, 0.0, lat, lon
        rho, a_snd = col(h)
        ue, un = winds.at(h)
        if ue or un:
            e, n, _ = _enu(lat, lon)
            vrel = v - (ue * e + un * n) / 1000.0
        else:
            vrel = v
        vr = math.sqrt(vrel[0] * vrel[0] + vrel[1] * vrel[1] + vrel[2] * vrel[2])
        mach = vr * 1000.0 / a_snd
        if chute:
            mass = capsule.descent_mass_kg or capsule.mass_kg
            f = 1.0 if chute is True else min(max(chute, 0.0), 1.0)
            cda = capsule.cd_scalar(mach) * area + f * (capsule.chute_cds_m2 - capsule.cd_scalar(mach) * area)
        else:
            cda, mass = capsule.cd_scalar(mach) * area, capsule.mass_kg
        # rho kg/m^3 * (km/s)^2 * m^2 / kg -> 1e3 m/s^2 -> km/s^2 (factor 1e3 * 1e-3 = 1)
        adrag = -0.5 * rho * cda / mass * vr * vrel * 1000.0
        return adrag, h, rho, vr, mach, lat, lon

    def inflation(t, chute):
        if not chute:
            return False
        return True if capsule.chute_inflation_s <= 0 else min((t - chute) / capsule.chute_inflation_s, 1.0) + 1e-300

    def rhs(t, y, chute):
        r, v = y[:3], y[3:]
        ad = aero(y, inflation(t, chute))[0]
        # Coriolis -2 w x v and centrifugal -w x (w x r) for w along +z, written out (speed)
        om = earth.omega
        g = gravity_j2(r, earth)
        return np.array([v[0], v[1], v[2],
                         g[0] + 2.0 * om * v[1] + om * om * r[0] + ad[0],
                         g[1] - 2.0 * om * v[0] + om * om * r[1] + ad[1],
                         g[2] + ad[2]])

    def ev_ground(t, y, chute):
        return geodetic_from_ecef(y[:3], earth)[2] - ground_altitude_km
    ev_ground.terminal, ev_ground.direction = True, -1

    def ev_deploy_h(t, y, chute):
        return geodetic_from_ecef(y[:3], earth)[2] - deploy_h
    ev_deploy_h.terminal, ev_deploy_h.direction = True, -1

    def ev_deploy_m(t, y, chute):
        return aero(y, False)[4] - deploy_m
    ev_deploy_m.terminal, ev_deploy_m.direction = True, -1

    def ev_skip(t, y, chute):
        return geodetic_from_ecef(y[:3], earth)[2] - (entry.altitude_km + 1.0)
    ev_skip.terminal, ev_skip.direction = True, 1

    events = [ev_ground]
    if not no_atmosphere:
        events.append(ev_deploy_h)
        if deploy_m is not None:
            events.append(ev_deploy_m)
        if check_skip:
            events.append(ev_skip)
    sol1 = solve_ivp(rhs, (0.0, max_time_s), y0, method="DOP853", rtol=rtol, atol=1e-10 * np.r_[1, 1, 1, 1e-3, 1e-3, 1e-3] * 1e3,
                     events=events, dense_output=True, args=(False,))
    t1 = float(sol1.t[-1])
    if check_skip and not no_atmosphere and len(sol1.t_events) > 0 and sol1.t_events[-1].size:
        raise InputError("entry.fpa_deg", entry.fpa_deg,
                         f"an angle steep enough for capture: this capsule at {entry.speed_kms} km/s skips out "
                         f"of the atmosphere (climbed back above {entry.altitude_km + 1:.0f} km)")
    if not no_atmosphere and sol1.status != 1:
        raise InputError("max_time_s", max_time_s, "a longer flight time (the capsule did not land)")
    ts = [np.arange(0.0, t1, sample_dt_s)]
    ys = [sol1.sol(ts[0]).T]
    chute_flags = [np.zeros(ts[0].size, bool)]
    landed = bool(sol1.t_events[0].size)
    deploy_t = None
    if not no_atmosphere and not landed and stop_at_deploy:
        deploy_t = t1
        ts.append(np.array([t1]))
        ys.append(sol1.y[:, -1][None, :])
        chute_flags.append(np.zeros(1, bool))
    elif not no_atmosphere and not landed:
        deploy_t = t1
        sol2 = solve_ivp(rhs, (t1, t1 + max_time_s), sol1.y[:, -1], method="DOP853", rtol=rtol,
                         atol=1e-10 * np.r_[1, 1, 1, 1e-3, 1e-3, 1e-3] * 1e3, events=[ev_ground],
                         dense_output=True, args=(t1,))
        if sol2.status != 1:
            raise InputError("max_time_s", max_time_s, "a longer flight time (the capsule did not land)")
        t2 = float(sol2.t[-1])
        tt = np.concatenate([np.arange(t1, t1 + 10.0, 0.05), np.arange(t1 + 10.0, t2, 1.0), [t2]])
        tt = tt[tt <= t2]
        ts.append(tt)
        ys.append(sol2.sol(tt).T)
        chute_flags.append(np.ones(tt.size, bool))
    else:
        ts.append(np.array([t1]))
        ys.append(sol1.y[:, -1][None, :])
        chute_flags.append(np.zeros(1, bool))
    t = np.concatenate(ts)
    Y = np.concatenate(ys)
    chute = np.concatenate(chute_flags)
    n = t.size
    h, lat, lon, sp, mach, dec, q = (np.empty(n) for _ in range(7))
    for i in range(n):
        ad, h[i], rho, vr, mach[i], la, lo = aero(Y[i], inflation(t[i], deploy_t) if chute[i] else False)
        lat[i], lon[i] = la / DEG, lo / DEG
        sp[i] = float(np.linalg.norm(Y[i, 3:]))
        dec[i] = float(np.linalg.norm(ad)) * 1000.0 / G0
        q[i] = 0.0 if chute[i] else float(sutton_graves(rho, vr * 1000.0, capsule.nose_radius_m))
    ipk_q, ipk_a = int(np.argmax(q)), int(np.argmax(dec))
    # heat load: trapezoid over the hypersonic samples (J/m^2)
    hyp = ~chute
    heat_load = float(np.sum(0.5 * (q[hyp][1:] + q[hyp][:-1]) * np.diff(t[hyp]))) if hyp.sum() > 1 else 0.0
    e0 = state_summary(y0[:3], y0[3:], earth, "inertial")
    summary = {
        "entry_speed_inertial_kms": e0["speed_kms"], "entry_fpa_inertial_deg": e0["fpa_deg"],
        "peak_heat_flux_MWm2": q[ipk_q] / 1e6, "peak_heating_altitude_km": h[ipk_q], "peak_heating_time_s": t[ipk_q],
        "peak_decel_g": dec[ipk_a], "peak_decel_altitude_km": h[ipk_a], "peak_decel_time_s": t[ipk_a],
        "heat_load_MJm2": heat_load / 1e6,
        "landing_time_s": float(t[-1]), "landing_lat_deg": lat[-1], "landing_lon_deg": lon[-1],
        "landing_speed_ms": sp[-1] * 1000.0, "landed": bool(not no_atmosphere and not stop_at_deploy),
    }
    if deploy_t is not None:
        k = int(np.searchsorted(t, deploy_t))
        summary.update({"deploy_time_s": deploy_t, "deploy_altitude_km": h[k], "deploy_mach": mach[k],
                        "deploy_lat_deg": lat[k], "deploy_lon_deg": lon[k]})
    # ground range from entry interface to landing (great circle on a 6371 km sphere)
    summary["ground_range_km"] = 6371.0 * _central_angle(lat[0], lon[0], lat[-1], lon[-1])
    return EntryTrajectory(t, h, lat, lon, sp, mach, dec, q, Y, summary)


def _central_angle(lat1, lon1, lat2, lon2):
    p1, p2, dl = lat1 * DEG, lat2 * DEG, (lon2 - lon1) * DEG
    c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return math.acos(max(-1.0, min(1.0, c)))


def local_en_km(lat_deg, lon_deg, lat0_deg, lon0_deg, earth: EarthModel = WGS84):
    """East/north offsets (km) of points from a reference point, on the local tangent plane."""
    lat_deg, lon_deg = np.atleast_1d(lat_deg), np.atleast_1d(lon_deg)
    r0 = ecef_from_geodetic(lat0_deg * DEG, lon0_deg * DEG, 0.0, earth)
    e, n, _ = _enu(lat0_deg * DEG, lon0_deg * DEG)
    out = np.empty((lat_deg.size, 2))
    for i, (la, lo) in enumerate(zip(lat_deg, lon_deg)):
        d = ecef_from_geodetic(la * DEG, lo * DEG, 0.0, earth) - r0
        out[i] = (d @ e, d @ n)
    return out


# --- Monte Carlo footprint ---------------------------------------------------------------------

# Woomera reference points (facts-2 §B4)
WOOMERA_VILLAGE = (-(31 + 12 / 60), 136 + 49 / 60)  # [TOWNS-AU] (secondary)
WPA_NOMINAL = (-(30 + 50 / 60), 136 + 23 / 60)  # [DE-WP-WPA] (secondary)
WPA_AREA_KM2 = 122000.0  # [DEF-WOOMERA]


@dataclass(frozen=True)
class Dispersions:
    """1-sigma dispersions of the Monte Carlo (all ASSUMPTION unless noted).

    fpa_deg 0.067 (the "+-0.2 deg" of [SMCB-BLOG] read as 3 sigma); speed_kms 0.005; position_km 3.3
    (the +-10 km entry-targeting accuracy [NIKKAN-2020] read as 3 sigma, per horizontal axis);
    azimuth_deg 0.05; density_scale 0.10 (relative, lognormal); cd 0.05 (relative); chute_cds 0.10
    (relative); wind_ms 10 (each horizontal component, constant with altitude).
    """

    fpa_deg: float = 0.2 / 3.0
    speed_kms: float = 0.005
    position_km: float = 10.0 / 3.0
    azimuth_deg: float = 0.05
    density_scale: float = 0.10
    cd: float = 0.05
    chute_cds: float = 0.10
    wind_ms: float = 10.0

    def __post_init__(self):
        for k, v in self.__dict__.items():
            if not (np.isfinite(v) and v >= 0):
                raise InputError(f"dispersions.{k}", v, "a finite sigma >= 0")


@dataclass
class Footprint:
    """Monte Carlo landing points and their 99 % ellipse (Gaussian fit on the local tangent plane)."""

    lat_deg: np.ndarray
    lon_deg: np.ndarray
    peak_decel_g: np.ndarray
    peak_heat_flux_MWm2: np.ndarray
    center_lat_deg: float
    center_lon_deg: float
    semi_major_km: float
    semi_minor_km: float
    orientation_deg: float  # of the major axis, clockwise from north
    probability: float
    fraction_inside: float  # of the samples inside the ellipse (check of the Gaussian fit)

    def ellipse_latlon(self, npts: int = 181):
        """The ellipse outline as (lat, lon) arrays (deg)."""
        th = np.linspace(0, 2 * np.pi, npts)
        a, b, o = self.semi_major_km, self.semi_minor_km, self.orientation_deg * DEG
        # major axis direction (east, north) = (sin o, cos o)
        de = a * np.cos(th) * math.sin(o) + b * np.sin(th) * math.cos(o)
        dn = a * np.cos(th) * math.cos(o) - b * np.sin(th) * math.sin(o)
        lat0 = self.center_lat_deg * DEG
        rm = 6371.0
        return (self.center_lat_deg + dn / rm / DEG,
                self.center_lon_deg + de / (rm * math.cos(lat0)) / DEG)

    def figure(self, nominal: EntryTrajectory | None = None):
        """Footprint on a lat/lon map of the Woomera range (facts-2 §B4 points; the WPA boundary
        polygon is unpublished, facts-2 §G, so a circle of the WPA's area around its nominal
        coordinate is drawn only as a scale indication)."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(8, 7), tight_layout=True)
        ax = fig.subplots()
        ax.plot(self.lon_deg, self.lat_deg, ".", ms=3, alpha=0.5, label=f"Monte Carlo landings (N={self.lat_deg.size})")
        la, lo = self.ellipse_latlon()
        ax.plot(lo, la, "r-", label=f"{self.probability:.0%} ellipse {2 * self.semi_major_km:.0f} x {2 * self.semi_minor_km:.0f} km")
        if nominal is not None:
            m = nominal.altitude_km < 130
            ax.plot(nominal.lon_deg[m], nominal.lat_deg[m], "k-", lw=0.8, label="nominal ground track (< 130 km)")
        ax.plot(WOOMERA_VILLAGE[1], WOOMERA_VILLAGE[0], "ks", label="Woomera village [TOWNS-AU]")
        ax.plot(WPA_NOMINAL[1], WPA_NOMINAL[0], "g^", label="WPA nominal coordinate [DE-WP-WPA]")
        rad = math.sqrt(WPA_AREA_KM2 / math.pi)
        th = np.linspace(0, 2 * np.pi, 200)
        ax.plot(WPA_NOMINAL[1] + rad * np.cos(th) / (111.2 * math.cos(WPA_NOMINAL[0] * DEG)),
                WPA_NOMINAL[0] + rad * np.sin(th) / 111.2, "g--", lw=0.8,
                label="circle of the WPA's area, 122 000 km$^2$ (boundary unpublished)")
        ax.set_xlabel("longitude (deg E)")
        ax.set_ylabel("latitude (deg)")
        ax.set_aspect(1.0 / math.cos(self.center_lat_deg * DEG))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
        ax.set_title("Capsule landing footprint, Woomera range (capsule: JAXA; landing/recovery: Australia)")
        return fig


def error_ellipse(east_km, north_km, probability: float = 0.99):
    """Semi-axes (km) and major-axis orientation (deg from north) of the Gaussian ``probability`` ellipse."""
    if not (0.0 < probability < 1.0):
        raise InputError("probability", probability, "0 < p < 1")
    cov = np.cov(np.vstack([east_km, north_km]))
    w, v = np.linalg.eigh(cov)
    k2 = -2.0 * math.log(1.0 - probability)  # chi-square, 2 degrees of freedom
    a, b = math.sqrt(max(w[1], 0) * k2), math.sqrt(max(w[0], 0) * k2)
    orient = math.degrees(math.atan2(v[0, 1], v[1, 1])) % 180.0
    return a, b, orient, cov, k2


def monte_carlo_footprint(nominal: EntryState, capsule: Capsule | None = None, n: int = 200, seed: int = 0,
                          dispersions: Dispersions | None = None, atmosphere_factory=None,
                          probability: float = 0.99, method: str = "auto", **kw) -> Footprint:
    """Landing footprint: ``n`` entries with dispersed entry state, density scale, C_D, parachute, wind.

    ``atmosphere_factory(density_scale)`` returns the atmosphere of one sample (default USSA76).
    Seeded (``numpy.random.default_rng(seed)``): the same seed gives the same footprint.
    ``method``: ``"ensemble"`` flies all samples in the compiled fixed-step ensemble
    (:mod:`mmxsim.earth_return._ensemble`, numba), ``"scipy"`` one :func:`simulate_entry` each
    (DOP853, rtol 1e-7), ``"auto"`` (default) the ensemble where numba is available. The same seed
    draws the same samples for both. ``kw`` go to :func:`simulate_entry` (the ensemble takes
    ``earth``, ``ground_altitude_km``, ``max_time_s`` and ``check_skip``).
    """
    from . import _ensemble

    if int(n) < 10:
        raise InputError("n", n, "at least 10 Monte Carlo samples")
    if method not in ("auto", "ensemble", "scipy"):
        raise InputError("method", method, "auto, ensemble or scipy")
    if method == "auto":
        ok_kw = {"earth", "ground_altitude_km", "max_time_s", "check_skip"}
        method = "ensemble" if (_ensemble.HAVE_NUMBA and set(kw) <= ok_kw) else "scipy"
    capsule = capsule or Capsule()
    d = dispersions or Dispersions()
    atmosphere_factory = atmosphere_factory or (lambda s: USSA76(density_scale=s))
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(int(n)):
        de, dn = rng.normal(0, d.position_km, 2)
        la0 = nominal.lat_deg + dn / 6371.0 / DEG
        lo0 = nominal.lon_deg + de / (6371.0 * math.cos(nominal.lat_deg * DEG)) / DEG
        e = replace(nominal, lat_deg=la0, lon_deg=lo0,
                    fpa_deg=min(nominal.fpa_deg + rng.normal(0, d.fpa_deg), -1e-3),
                    speed_kms=nominal.speed_kms + rng.normal(0, d.speed_kms),
                    azimuth_deg=nominal.azimuth_deg + rng.normal(0, d.azimuth_deg))
        c = replace(capsule, cd_scale=capsule.cd_scale * max(1 + rng.normal(0, d.cd), 0.5),
                    chute_cds_m2=capsule.chute_cds_m2 * max(1 + rng.normal(0, d.chute_cds), 0.3))
        atm = atmosphere_factory(float(np.exp(rng.normal(0, d.density_scale))))
        wind = WindProfile.constant(*rng.normal(0, d.wind_ms, 2))
        samples.append((e, c, atm, wind))
    if method == "ensemble":
        lat, lon, pa, pq = _fly_samples(samples, **kw)
    else:
        lat, lon, pa, pq = (np.empty(len(samples)) for _ in range(4))
        for i, (e, c, atm, wind) in enumerate(samples):
            tr = simulate_entry(e, c, atm, wind, sample_dt_s=0.5, rtol=1e-7, **kw)
            lat[i], lon[i] = tr.summary["landing_lat_deg"], tr.summary["landing_lon_deg"]
            pa[i], pq[i] = tr.summary["peak_decel_g"], tr.summary["peak_heat_flux_MWm2"]
    c_lat, c_lon = float(lat.mean()), float(lon.mean())
    en = local_en_km(lat, lon, c_lat, c_lon)
    a, b, o, cov, k2 = error_ellipse(en[:, 0], en[:, 1], probability)
    md2 = np.einsum("ij,jk,ik->i", en, np.linalg.inv(cov), en)
    return Footprint(lat, lon, pa, pq, c_lat, c_lon, a, b, o, probability, float(np.mean(md2 <= k2)))


def fly_entries(samples, earth: EarthModel = WGS84, ground_altitude_km: float = 0.0, max_time_s: float = 7200.0,
                check_skip: bool = True, dt_hypersonic_s: float = 0.1, dt_parachute_s: float = 1.0) -> dict:
    """Fly ``samples`` = [(EntryState, Capsule, atmosphere, WindProfile), ...] in the compiled
    ensemble (:mod:`mmxsim.earth_return._ensemble`): landing point and time, peak deceleration and
    heat flux, parachute deployment, per sample, as arrays in a dict. Skip-out and a flight longer
    than ``max_time_s`` raise :class:`InputError` as :func:`simulate_entry` does."""
    from . import _ensemble as E

    if not (-1.0 <= ground_altitude_km <= 5.0):
        raise InputError("ground_altitude_km", ground_altitude_km, "-1 to 5 km")
    if not samples:
        raise InputError("samples", 0, "at least one (entry, capsule, atmosphere, wind) sample")
    n = len(samples)
    cols = [_Column(atm, e.altitude_km + 10.0) for e, _c, atm, _w in samples]
    nh = max(col.n for col in cols)
    if any(col.n != nh or col.h0 != cols[0].h0 or col.dh != cols[0].dh for col in cols):
        raise InputError("samples", "entry altitudes", "one entry-interface altitude for all samples")
    cd_tables = {(tuple(c.cd_mach[0]), tuple(c.cd_mach[1])) for _e, c, _a, _w in samples}
    if len(cd_tables) != 1:
        raise InputError("samples", "capsule.cd_mach", "one C_D table for all samples (scale it with cd_scale)")
    nw = max(len(w.altitude_km) for _e, _c, _a, w in samples)
    Y0 = np.empty((n, 6))
    PRM = np.empty((n, E.NPAR))
    LR = np.empty((n, nh))
    AS = np.empty((n, nh))
    WH, WE, WN = (np.empty((n, nw)) for _ in range(3))
    for i, ((e, c, _atm, w), col) in enumerate(zip(samples, cols)):
        Y0[i] = e.ecef_state(earth)
        LR[i], AS[i] = col.lrho, col.a
        k = len(w.altitude_km)
        pad = np.arange(1, nw - k + 1) * 1e6
        WH[i] = np.r_[np.asarray(w.altitude_km, float), float(w.altitude_km[-1]) + pad]
        WE[i] = np.r_[np.asarray(w.east_ms, float), np.full(nw - k, float(w.east_ms[-1]))]
        WN[i] = np.r_[np.asarray(w.north_ms, float), np.full(nw - k, float(w.north_ms[-1]))]
        row = {"gm": earth.gm, "j2": earth.j2, "a_km": earth.a_km, "e2": earth.e2, "omega": earth.omega,
               "mass": c.mass_kg, "descent_mass": c.descent_mass_kg or c.mass_kg, "area": c.area_m2,
               "cd_scale": c.cd_scale, "chute_cds": c.chute_cds_m2, "inflation_s": c.chute_inflation_s,
               "deploy_h": c.deploy_altitude_km, "deploy_m": np.nan if c.deploy_mach is None else c.deploy_mach,
               "ground_h": ground_altitude_km, "h0": col.h0, "dh": col.dh, "h_top": col.h[-1],
               "zero": 1.0 if col.zero else 0.0, "nose_radius": c.nose_radius_m,
               "skip_h": e.altitude_km + 1.0 if check_skip else np.inf, "max_time": max_time_s,
               "dt_hyp": dt_hypersonic_s, "dt_chute": dt_parachute_s, "k_sg": K_SUTTON_GRAVES, "g0": G0}
        for name, v in row.items():
            PRM[i, E.P[name]] = v
    res = E.fly_ensemble(Y0, PRM, LR, AS, next(iter(cd_tables)), WH, WE, WN)
    out = {name: res[:, k] for k, name in enumerate(E.OUT)}
    st = out["status"]
    if np.any(st == E.SKIPPED):
        i = int(np.argmax(st == E.SKIPPED))
        e = samples[i][0]
        raise InputError("entry.fpa_deg", e.fpa_deg,
                         f"an angle steep enough for capture: this capsule at {e.speed_kms} km/s skips out "
                         f"of the atmosphere (climbed back above {e.altitude_km + 1:.0f} km; sample {i})")
    if np.any(st != E.LANDED):
        raise InputError("max_time_s", max_time_s, "a longer flight time (the capsule did not land)")
    return out


def _fly_samples(samples, **kw):
    out = fly_entries(samples, **kw)
    return out["landing_lat_deg"], out["landing_lon_deg"], out["peak_decel_g"], out["peak_heat_flux_MWm2"]


# --- Hayabusa2 / Hayabusa validation cases ---------------------------------------------------------

def hayabusa2_entry(lat_deg: float = -27.0, lon_deg: float = 132.5, azimuth_deg: float = 150.0) -> EntryState:
    """Hayabusa2 SRC entry, 5 Dec 2020 17:28 UTC (facts-2 §B1).

    Published inputs: 11.58 km/s and -12.0 deg at 200 km geodetic altitude, the "derived" entry
    state of [TSUDA24] (Tsuda et al. 2024, Trans. JSASS 67(6) 340, Table 1; read via a secondary
    quotation, docs/earth_return.md); heading about 150 deg [ZANDER-JSR]. ASSUMPTIONS: speed and
    angle taken as inertial values (the quotation does not say); the interface point (27.0 S,
    132.5 E) is chosen so that the track, heading 150 deg, ends inside the Woomera range (the
    published track passes near Coober Pedy; landing coordinates are unpublished).
    """
    return EntryState(200.0, lat_deg, lon_deg, 11.58, -12.0, azimuth_deg, "inertial", "2020-12-05T17:24")


def hayabusa_2010_entry(fpa_deg: float = -9.5) -> EntryState:
    """Hayabusa (MUSES-C) SRC, 13 Jun 2010, at the start of the optically measured trajectory
    (facts-2 §B2, [UEDA11]): 101.0 km, 12.1 km/s, entry angle "about 9 deg" (the decimal is lost in
    the source, so the default is the middle of 9.0-9.99 deg). Optical tracking is ground-based,
    so speed and angle are taken Earth-relative. Position and azimuth (ASSUMPTION) only set the
    track over central Australia; they hardly affect the profile."""
    return EntryState(101.0, -28.0, 131.5, 12.1, fpa_deg, 140.0, "relative", "2010-06-13T13:51:57")


def place_entry_for_landing(entry: EntryState, target_lat_deg: float, target_lon_deg: float,
                            capsule: Capsule | None = None, iterations: int = 4, tol_km: float = 0.05,
                            **kw) -> tuple[EntryState, EntryTrajectory]:
    """Move the entry-interface point (same speed, FPA, azimuth) so that the capsule lands on a target.

    Fixed-point iteration: fly, measure the landing miss on the local tangent plane, shift the
    interface point by the opposite of the miss. Converges because the flight is (nearly)
    invariant to a small translation of its start. Returns the moved state and its trajectory.
    The intermediate flights, whose landing point alone is used, are flown by the compiled
    fixed-step integrator of the Monte Carlo (same equations, landing ~1 mm from DOP853) where
    numba is present; the last one, whose trajectory is returned, and any flight that the compiled
    one finds on target, by :func:`simulate_entry` (DOP853), whose miss decides.
    """
    e = entry
    n_it = max(int(iterations), 1)
    fast = _fast_landing(capsule, kw)
    for k in range(n_it):
        if fast is not None and k < n_it - 1:
            lat, lon = fast(e)
            miss = local_en_km(lat, lon, target_lat_deg, target_lon_deg)[0]
            if math.hypot(*miss) >= tol_km:
                e = replace(e, lat_deg=e.lat_deg - miss[1] / 6371.0 / DEG,
                            lon_deg=e.lon_deg - miss[0] / (6371.0 * math.cos(e.lat_deg * DEG)) / DEG)
                continue
        tr = simulate_entry(e, capsule, **kw)
        s = tr.summary
        miss = local_en_km(s["landing_lat_deg"], s["landing_lon_deg"], target_lat_deg, target_lon_deg)[0]
        if math.hypot(*miss) < tol_km:
            break
        e = replace(e, lat_deg=e.lat_deg - miss[1] / 6371.0 / DEG,
                    lon_deg=e.lon_deg - miss[0] / (6371.0 * math.cos(e.lat_deg * DEG)) / DEG)
    return e, tr


def _fast_landing(capsule, kw):
    """The landing point (lat, lon deg) of an entry state from the compiled fixed-step flight
    (:func:`fly_entries`, the same equations; landing point ~1 mm from DOP853, see
    :mod:`mmxsim.earth_return._ensemble`), for the intermediate steps of
    :func:`place_entry_for_landing` (only their landing point is used); None without numba or when
    ``kw`` asks for a flight the compiled one does not make."""
    from ._ensemble import HAVE_NUMBA

    if not HAVE_NUMBA or not set(kw) <= {"atmosphere", "winds", "earth", "ground_altitude_km", "max_time_s"}:
        return None
    cap = capsule or Capsule()
    atm = kw.get("atmosphere")
    atm = atm if atm is not None else USSA76()
    winds = kw.get("winds") or WindProfile()
    opts = {k: kw[k] for k in ("earth", "ground_altitude_km", "max_time_s") if k in kw}

    def landing(e):
        out = fly_entries([(e, cap, atm, winds)], **opts)
        return float(out["landing_lat_deg"][0]), float(out["landing_lon_deg"][0])

    return landing
