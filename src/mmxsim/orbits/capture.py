"""Mars orbit insertion (finite burn), approach to Phobos and a delta-v / propellant budget.

Model (simplified; stated as the project requires)
--------------------------------------------------
* **MOI** -- planar two-body motion about Mars (point mass, GM_MARS [DE440-GM]) with a
  constant-thrust burn against the velocity vector (retrograde tangential steering) and mass
  flow mdot = F / (Isp g0), integrated with SciPy's DOP853 (rtol 1e-12). The burn is centred on
  the periapsis of the arrival hyperbola (v-infinity from :mod:`mmxsim.orbits.windows`); the
  hyperbola's periapsis radius and the burn duration are solved (SciPy ``root``) so that the
  orbit after the burn has the requested periapsis and apoapsis. Gravity loss = finite-burn
  delta-v (Isp g0 ln(m0/mf)) minus the impulsive delta-v at the same periapsis.
* **Plane change and periapsis raise** at the capture apoapsis, one combined impulse:
  |v_after - v_before| with the two velocities separated by the plane-change angle. The
  default angle is the declination of the arrival v-infinity w.r.t. Phobos' orbit plane (the
  smallest inclination a hyperbola with that asymptote can have); if the capture periapsis is
  already on Phobos' orbit only the plane change remains.
* **Phasing and rendezvous with Phobos** (impulsive, coplanar, Phobos on a circular orbit of
  radius a = 9376 km [JPL-SAT]): at periapsis (r = a_Phobos) the apoapsis is lowered onto a
  phasing ellipse whose period is P_Phobos * (1 + phase / (2 pi k)) (the spacecraft trails
  Phobos by ``phase`` rad, caught up in ``k`` revolutions), then the orbit is circularised at
  Phobos. Worst case phase = pi (default).
* **QSO insertion**: Clohessy-Wiltshire estimate. A QSO of radial semi-axis d has, at its
  radial extremes, a relative speed 2 n d (n = Phobos' mean motion [JPL-SAT]); inserting from a
  point at rest relative to Phobos costs 2 n d (a Hohmann-like single impulse; Phobos' gravity
  neglected).
* **Budget**: impulsive legs (plus the MOI gravity loss) through the rocket equation in order,
  each leg burning from the mass left by the previous one; optional jettisoned mass before
  Mars departure.

Parameters without published values (mmx-facts §2.2: Isp, module masses and the delta-v
budget are UNCONFIRMED) are function parameters with documented defaults marked ASSUMPTION.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..bodies import GM_MARS, PHOBOS_MEAN_MOTION, R_MARS_EQ
from ..errors import InputError
from .budget import A_PHOBOS_KM, Leg  # noqa: F401 (public here too)

G0_KM_S2 = 9.80665e-3  # standard gravity, km/s^2 (3rd CGPM 1901; ISO 80000-3)
# Defaults
WET_MASS_KG = 4000.0  # launch mass "about 4,000 kg" [MELCO], [SN-2024] (mmx-facts §2.1)
ENGINE_THRUST_N = 500.0  # "500 N-class" main engine [IHI-2020] (mmx-facts §2.2)
N_ENGINES = 6  # six 500 N thrusters [UCHUBIZ] -- UNCONFIRMED, so a parameter (ASSUMPTION)
ISP_S = 320.0  # ASSUMPTION: Isp UNCONFIRMED (mmx-facts §2.2); typical of 500 N-class N2H4/NTO engines
CAPTURE_RP_KM = A_PHOBOS_KM  # ASSUMPTION: capture periapsis on Phobos' orbit (plan unpublished)
CAPTURE_RA_KM = 50_000.0  # ASSUMPTION: capture apoapsis radius (plan unpublished)
QSO_SIZE_KM = 100.0  # ASSUMPTION: first (largest) QSO radial semi-axis; sizes UNCONFIRMED (mmx-facts §4.2)

__all__ = ["FiniteBurn", "finite_burn_capture", "impulsive_capture_dv", "Leg", "Budget", "approach_budget",
           "mars_orbit_insertion"]


def _pos(name, v, lo=0.0):
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise InputError(name, v, f"a number > {lo}") from None
    if not (math.isfinite(v) and v > lo):
        raise InputError(name, v, f"a finite number > {lo}")
    return v


def impulsive_capture_dv(vinf_km_s: float, rp_km: float, ra_km: float, mu: float = GM_MARS) -> float:
    """Impulsive periapsis burn from a hyperbola (v-infinity) to an ellipse (rp, ra), km/s."""
    vinf_km_s = _pos("vinf_km_s", vinf_km_s, -1e-300)
    return math.sqrt(vinf_km_s ** 2 + 2 * mu / rp_km) - math.sqrt(mu * (2 / rp_km - 2 / (rp_km + ra_km)))


@dataclass
class FiniteBurn:
    vinf_km_s: float
    rp_km: float  # achieved periapsis radius after the burn
    ra_km: float  # achieved apoapsis radius after the burn
    hyperbola_rp_km: float  # periapsis of the arrival hyperbola (solved)
    thrust_n: float
    isp_s: float
    m0_kg: float
    mf_kg: float
    burn_s: float
    dv_finite_km_s: float
    dv_impulsive_km_s: float
    gravity_loss_km_s: float
    track: np.ndarray = field(repr=False, default=None)  # (N, 5): x, y, vx, vy, m during the burn

    def figure(self):
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6, 6))
        ax = fig.add_subplot(111)
        th = np.linspace(0, 2 * np.pi, 200)
        ax.fill(R_MARS_EQ * np.cos(th), R_MARS_EQ * np.sin(th), color="#c1440e")
        ax.plot(self.track[:, 0], self.track[:, 1], "r", lw=2, label=f"burn {self.burn_s:.0f} s")
        ax.set_aspect("equal")
        ax.set_title(f"MOI: v∞ {self.vinf_km_s:.2f} km/s, Δv {1e3 * self.dv_finite_km_s:.0f} m/s, "
                     f"gravity loss {1e3 * self.gravity_loss_km_s:.1f} m/s")
        ax.legend()
        return fig


def _rhs(thrust_kn, mdot, mu):
    def f(t, s):
        x, y, vx, vy, m = s
        r3 = (x * x + y * y) ** 1.5
        v = math.hypot(vx, vy)
        a = thrust_kn / m / v if thrust_kn else 0.0  # km/s^2 per (km/s): thrust along -v
        return [vx, vy, -mu * x / r3 - a * vx, -mu * y / r3 - a * vy, -mdot if thrust_kn else 0.0]
    return f


def _elements(s, mu):
    x, y, vx, vy = s[:4]
    r = math.hypot(x, y)
    v2 = vx * vx + vy * vy
    energy = v2 / 2 - mu / r
    h = x * vy - y * vx
    a = -mu / (2 * energy)
    e = math.sqrt(max(0.0, 1 + 2 * energy * h * h / mu ** 2))
    return a * (1 - e), a * (1 + e)


def _simulate(vinf, rp_h, burn_s, thrust_kn, mdot, m0, mu, keep=False):
    from scipy.integrate import solve_ivp

    vp = math.sqrt(vinf ** 2 + 2 * mu / rp_h)
    s_peri = [rp_h, 0.0, 0.0, vp, m0]
    # back along the arrival hyperbola (coast) to the start of the burn
    back = solve_ivp(_rhs(0.0, 0.0, mu), (0.0, -burn_s / 2), s_peri, method="DOP853", rtol=1e-12, atol=1e-10)
    s0 = back.y[:, -1]
    s0[4] = m0
    fwd = solve_ivp(_rhs(thrust_kn, mdot, mu), (0.0, burn_s), s0, method="DOP853", rtol=1e-12, atol=1e-10,
                    dense_output=keep)
    track = fwd.sol(np.linspace(0, burn_s, 200)).T if keep else None
    return fwd.y[:, -1], track


def finite_burn_capture(vinf_km_s: float, rp_km: float = CAPTURE_RP_KM, ra_km: float = CAPTURE_RA_KM,
                        thrust_n: float = N_ENGINES * ENGINE_THRUST_N, isp_s: float = ISP_S,
                        m0_kg: float = WET_MASS_KG, mu: float = GM_MARS) -> FiniteBurn:
    """Capture from the arrival hyperbola into the (rp, ra) ellipse with a finite burn.

    Returns a :class:`FiniteBurn` (burn time, finite and impulsive delta-v, gravity loss,
    final mass). Raises InputError for non-physical inputs or a capture the engine cannot do
    (the burn would consume more than 95 % of the mass).
    """
    vinf = _pos("vinf_km_s", vinf_km_s)
    rp = _pos("rp_km", rp_km, R_MARS_EQ)
    ra = _pos("ra_km", ra_km)
    if ra < rp:
        raise InputError("ra_km", ra_km, f">= rp_km ({rp_km})")
    thrust_kn = _pos("thrust_n", thrust_n) / 1000.0  # kN = kg km / s^2
    isp = _pos("isp_s", isp_s)
    m0 = _pos("m0_kg", m0_kg)
    ve = isp * G0_KM_S2
    mdot = thrust_kn / ve
    dv_imp = impulsive_capture_dv(vinf, rp, ra, mu)
    mf_imp = m0 * math.exp(-dv_imp / ve)
    if mf_imp < 0.05 * m0:
        raise InputError("m0_kg/isp_s", (m0_kg, isp_s), "a stage able to deliver the capture delta-v")
    tb0 = (m0 - mf_imp) / mdot
    from scipy.optimize import root

    def resid(z):
        rp_h, tb = rp * math.exp(z[0]), tb0 * math.exp(z[1])
        s, _ = _simulate(vinf, rp_h, tb, thrust_kn, mdot, m0, mu)
        prp, pra = _elements(s, mu)
        if not (math.isfinite(pra) and pra > 0):
            return [math.log(max(prp, 1.0) / rp), 1.0]
        return [math.log(prp / rp), math.log(pra / ra)]

    sol = root(resid, [0.0, 0.0], method="hybr", options={"xtol": 1e-12})
    if np.max(np.abs(sol.fun)) > 1e-9:  # polish (hybr may stall near the root)
        sol = root(resid, sol.x, method="lm", options={"xtol": 1e-14, "ftol": 1e-14})
    if np.max(np.abs(sol.fun)) > 1e-9:
        raise InputError("thrust_n", thrust_n, "a thrust high enough for a single-burn capture into the "
                         f"requested orbit (solver: {sol.message})")
    rp_h, tb = rp * math.exp(sol.x[0]), tb0 * math.exp(sol.x[1])
    s, track = _simulate(vinf, rp_h, tb, thrust_kn, mdot, m0, mu, keep=True)
    prp, pra = _elements(s, mu)
    mf = float(s[4])
    dv_fin = ve * math.log(m0 / mf)
    return FiniteBurn(vinf, prp, pra, rp_h, thrust_kn * 1000, isp, m0, mf, tb, dv_fin, dv_imp, dv_fin - dv_imp,
                      track)


# ---------------------------------------------------------------------------------------------
# Impulsive legs and the budget
def _vcirc(r, mu=GM_MARS):
    return math.sqrt(mu / r)


def _vis_viva(r, a, mu=GM_MARS):
    return math.sqrt(mu * (2 / r - 1 / a))


@dataclass
class Budget:
    legs: list
    isp_s: float
    m0_kg: float

    @property
    def total_dv_km_s(self) -> float:
        return sum(leg.dv_km_s for leg in self.legs)

    @property
    def total_propellant_kg(self) -> float:
        return sum(leg.propellant_kg for leg in self.legs)

    def rows(self) -> list[dict]:
        return [{"leg": g.name, "dv_m_s": 1e3 * g.dv_km_s, "m_before_kg": g.m_before_kg,
                 "propellant_kg": g.propellant_kg, "m_after_kg": g.m_after_kg, "note": g.note} for g in self.legs]

    def table(self) -> str:
        lines = [f"{'leg':52s} {'dv m/s':>9s} {'mass kg':>9s} {'prop kg':>9s}  note"]
        for g in self.legs:
            lines.append(f"{g.name:52s} {1e3 * g.dv_km_s:9.1f} {g.m_before_kg:9.1f} {g.propellant_kg:9.1f}  {g.note}")
        lines.append(f"{'total':52s} {1e3 * self.total_dv_km_s:9.1f} {self.m0_kg:9.1f} "
                     f"{self.total_propellant_kg:9.1f}  Isp {self.isp_s:g} s")
        return "\n".join(lines)

    def figure(self):
        """The budget as a table figure."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(10, 0.45 * (len(self.legs) + 3)))
        ax = fig.add_subplot(111)
        ax.axis("off")
        cells = [[g.name, f"{1e3 * g.dv_km_s:.1f}", f"{g.m_before_kg:.1f}", f"{g.propellant_kg:.1f}"]
                 for g in self.legs]
        cells.append(["total", f"{1e3 * self.total_dv_km_s:.1f}", f"{self.m0_kg:.1f}",
                      f"{self.total_propellant_kg:.1f}"])
        t = ax.table(cellText=cells, colLabels=["leg", "Δv (m/s)", "mass before (kg)", "propellant (kg)"],
                     loc="center", cellLoc="left", colWidths=[0.55, 0.13, 0.16, 0.16])
        t.auto_set_font_size(False)
        t.set_fontsize(8)
        ax.set_title(f"Δv and propellant budget (Isp {self.isp_s:g} s, initial mass {self.m0_kg:g} kg)")
        return fig


def apply_rocket_equation(legs, m0_kg: float, isp_s: float, jettison: dict | None = None) -> Budget:
    """Fill masses/propellant of ``legs`` in order (Tsiolkovsky); ``jettison``: {leg name: kg
    dropped before that leg}."""
    ve = _pos("isp_s", isp_s) * G0_KM_S2
    m = _pos("m0_kg", m0_kg)
    for g in legs:
        if jettison and g.name in jettison:
            m -= float(jettison[g.name])
            if m <= 0:
                raise InputError("jettison", jettison, "less mass than the spacecraft has")
        g.m_before_kg = m
        g.m_after_kg = m * math.exp(-g.dv_km_s / ve)
        g.propellant_kg = m - g.m_after_kg
        m = g.m_after_kg
    return Budget(legs, isp_s, m0_kg)


def phasing_dv(phase_rad: float = math.pi, k_revs: int = 3, r_km: float = A_PHOBOS_KM, mu: float = GM_MARS):
    """Two impulses: circular orbit r -> phasing ellipse -> back to the circular orbit.

    The spacecraft is ``phase`` rad ahead of Phobos and waits ``k_revs`` revolutions on a
    longer-period ellipse (periapsis r, period P (1 + phase / (2 pi k))) for Phobos to catch up;
    being behind needs a shorter period and, to first order, the same delta-v.
    """
    if not isinstance(k_revs, (int, np.integer)) or k_revs < 1:
        raise InputError("k_revs", k_revs, "an integer >= 1")
    a0 = r_km
    P = 2 * math.pi * math.sqrt(a0 ** 3 / mu)
    Pp = P * (1 + abs(phase_rad) / (2 * math.pi * k_revs))
    ap = (mu * (Pp / (2 * math.pi)) ** 2) ** (1 / 3)
    return 2 * abs(_vis_viva(r_km, ap, mu) - _vcirc(r_km, mu))


def approach_budget(vinf_arr_km_s: float, vinf_arr_dec_deg: float = 0.0, *,
                    capture_rp_km: float = CAPTURE_RP_KM, capture_ra_km: float = CAPTURE_RA_KM,
                    thrust_n: float = N_ENGINES * ENGINE_THRUST_N, isp_s: float = ISP_S, m0_kg: float = WET_MASS_KG,
                    phase_rad: float = math.pi, phasing_revs: int = 3, qso_size_km: float = QSO_SIZE_KM,
                    extra_legs=(), vinf_dep_km_s: float | None = None, departure_radius_km: float = A_PHOBOS_KM,
                    departure_orbit_a_km: float | None = None, jettison_before_departure_kg: float = 0.0):
    """Delta-v and propellant from the arrival hyperbola to a QSO (and, optionally, Mars departure).

    ``vinf_arr_dec_deg``: declination of the arrival asymptote w.r.t. Phobos' orbit plane (the
    plane change needed). ``extra_legs``: further :class:`Leg` objects (e.g. Deimos resonant
    orbits) inserted before the departure. ``vinf_dep_km_s``: Mars-departure v-infinity (from the
    return window) for a departure burn from a circular orbit of ``departure_radius_km``.
    Returns (Budget, FiniteBurn).
    """
    fb = finite_burn_capture(vinf_arr_km_s, capture_rp_km, capture_ra_km, thrust_n, isp_s, m0_kg)
    legs = [Leg("MOI (finite burn)", fb.dv_finite_km_s,
                f"impulsive {1e3 * fb.dv_impulsive_km_s:.1f} + gravity loss {1e3 * fb.gravity_loss_km_s:.1f} m/s, "
                f"burn {fb.burn_s:.0f} s")]
    rp, ra = capture_rp_km, capture_ra_km
    di = math.radians(abs(vinf_arr_dec_deg))
    v1 = _vis_viva(ra, (rp + ra) / 2)
    v2 = _vis_viva(ra, (A_PHOBOS_KM + ra) / 2)
    dv_apo = math.sqrt(v1 * v1 + v2 * v2 - 2 * v1 * v2 * math.cos(di))
    legs.append(Leg("apoapsis: plane change + periapsis to Phobos orbit", dv_apo,
                    f"plane change {math.degrees(di):.2f} deg at r = {ra:.0f} km"))
    # lower the apoapsis onto Phobos' orbit (circularise), then phasing
    dv_circ = _vis_viva(A_PHOBOS_KM, (A_PHOBOS_KM + ra) / 2) - _vcirc(A_PHOBOS_KM)
    legs.append(Leg("circularise at Phobos orbit", dv_circ, f"r = {A_PHOBOS_KM:.0f} km"))
    legs.append(Leg("phasing to Phobos (2 impulses)", phasing_dv(phase_rad, phasing_revs),
                    f"phase {math.degrees(phase_rad):.0f} deg in {phasing_revs} revs"))
    legs.append(Leg("QSO insertion (CW estimate 2 n d)", 2 * PHOBOS_MEAN_MOTION * _pos("qso_size_km", qso_size_km),
                    f"d = {qso_size_km:g} km"))
    legs.extend(extra_legs)
    jett = None
    if vinf_dep_km_s is not None:
        r = departure_radius_km
        v_before = _vcirc(r) if departure_orbit_a_km is None else _vis_viva(r, departure_orbit_a_km)
        dv_dep = math.sqrt(_pos("vinf_dep_km_s", vinf_dep_km_s) ** 2 + 2 * GM_MARS / r) - v_before
        where = (f"circular orbit r = {r:.0f} km" if departure_orbit_a_km is None
                 else f"periapsis r = {r:.0f} km of an orbit a = {departure_orbit_a_km:.0f} km")
        legs.append(Leg("Mars departure (impulsive)", dv_dep, f"v∞ {vinf_dep_km_s:.3f} km/s from {where}"))
        if jettison_before_departure_kg:
            jett = {"Mars departure (impulsive)": jettison_before_departure_kg}
    return apply_rocket_equation(legs, m0_kg, isp_s, jett), fb


def arrival_declination_deg(vinf_vec_icrf, t_tdb: float, eph=None) -> float:
    """Declination of an arrival v-infinity vector (ICRF) w.r.t. Phobos' orbit plane at t."""
    if eph is None:
        from ..ephemeris import default_ephemeris

        eph = default_ephemeris()
    x = np.asarray(eph.state("PHOBOS", "MARS", t_tdb))
    h = np.cross(x[:3], x[3:])
    h /= np.linalg.norm(h)
    v = np.asarray(vinf_vec_icrf, float)
    return float(np.degrees(np.arcsin(np.dot(v, h) / np.linalg.norm(v))))


def mars_orbit_insertion(n_grid: int = 120, eph=None, through_departure: bool = True, **kw) -> dict:
    """Entry point: MOI and the delta-v / propellant budget for the MMX-like 2026 transfer.

    Uses :func:`mmxsim.orbits.windows.earth_mars_2026` (``n_grid`` x ``n_grid``) for the arrival
    v-infinity vector and its declination w.r.t. Phobos' orbit plane, then the finite-burn MOI
    and the approach legs. With ``through_departure`` the budget continues with the QSO exit,
    the Deimos resonant orbits (:func:`mmxsim.orbits.deimos.budget_legs`) and the Mars departure
    to the MMX-like 2030 return transfer (:func:`mmxsim.orbits.windows.mars_earth_2030`) from
    the periapsis of the last resonant orbit. ``kw`` go to :func:`approach_budget`.
    Returns plain numbers and Figures.
    """
    from . import windows as W
    from . import lambert as L
    from ..bodies import GM_SUN

    if eph is None:
        from ..ephemeris import default_ephemeris

        eph = default_ephemeris()
    pc = W.earth_mars_2026(n_grid, n_grid, eph)
    p = pc.marks["mmx_like"]
    td, ta = p["departure_tdb_s"], p["arrival_tdb_s"]
    xe = eph.state("EARTH", "SUN", td)
    xm = eph.state("MARS", "SUN", ta)
    _, v2 = L.lambert(GM_SUN, xe[:3], xm[:3], ta - td)
    vinf_vec = v2 - xm[3:]
    dec = arrival_declination_deg(vinf_vec, ta, eph)
    ret = None
    if through_departure:
        from . import deimos as Dm

        ret = W.mars_earth_2030(n_grid, n_grid, eph).marks["mmx_like"]
        legs, a_last = Dm.budget_legs(qso_size_km=kw.get("qso_size_km", QSO_SIZE_KM))
        kw = {"extra_legs": legs, "vinf_dep_km_s": ret["vinf_departure_km_s"], "departure_orbit_a_km": a_last,
              **kw}
    budget, fb = approach_budget(float(np.linalg.norm(vinf_vec)), dec, **kw)
    return {
        "transfer": p,
        "return_transfer": ret,
        "vinf_arrival_km_s": float(np.linalg.norm(vinf_vec)),
        "vinf_declination_phobos_plane_deg": dec,
        "moi": {"burn_s": fb.burn_s, "dv_finite_m_s": 1e3 * fb.dv_finite_km_s,
                "dv_impulsive_m_s": 1e3 * fb.dv_impulsive_km_s, "gravity_loss_m_s": 1e3 * fb.gravity_loss_km_s,
                "hyperbola_rp_km": fb.hyperbola_rp_km, "mass_after_kg": fb.mf_kg},
        "budget": budget.rows(),
        "total_dv_m_s": 1e3 * budget.total_dv_km_s,
        "total_propellant_kg": budget.total_propellant_kg,
        "table": budget.table(),
        "figures": {"moi_burn": fb.figure(), "dv_budget": budget.figure()},
    }
