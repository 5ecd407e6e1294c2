"""DLR test facilities for the IDEFIX rover (CNES/DLR): ZARM drop tower and a LAMA-like 1 g drop.

DLR provides MMX with drop-tower / microgravity test facilities (mmx-facts.md §9, [JAXA-INTL]).
Two facilities are modelled with the *same* rover and contact model as the Phobos deployment
(:mod:`mmxsim.surface.rover`), only the gravity and the geometry change:

* **ZARM drop tower, Bremen** [ZARM]: 4.74 s of microgravity in drop mode (120 m drop tube),
  residual acceleration about 1e-6 g. Whether it was used for IDEFIX is UNCONFIRMED (§9). Closed
  forms: free-fall time t = sqrt(2 h / g0); the free-fall height implied by 4.74 s is
  g0 t² / 2 = 110.2 m (the rest of the 120 m is release and deceleration); a free-floating
  experiment in the capsule drifts by a_res t² / 2 (0.11 mm in 4.74 s at 1e-6 g). In the
  capsule the rover can be pushed against a plate at the Phobos impact speed: the test
  reproduces the impact speed and the contact mechanics (duration, restitution, spin-up) but
  not the return under gravity (at 1e-6 g a rover rebounding at 0.3 m/s never comes back).
* **LAMA** (DLR Landing & Mobility Test Facility, Bremen) [DLR-2019]: drops of the preliminary
  model from 5 cm onto surfaces at various angles. At 1 g the impact speed sqrt(2 g0 h) = 0.99 m/s
  is close to Phobos' (~0.6-0.7 m/s) but the Froude number v²/(g L) is ~1000x smaller, so the
  rover stays on the plate instead of hopping for minutes.

Froude-like number: Fr = v² / (g L), impact kinetic energy over the potential energy of lifting
the rover by its own size L (height, 0.415 m [CLUBIC-2023]); it measures how far a rebound
carries compared with the rover size. Matching Fr and v together needs the test gravity to be
the target gravity, which neither facility provides.

Standard gravity g0 = 9.80665 m/s² (definition).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from .rover import G0, ContactModel, Release, RoverModel, Settings, Terrain, deploy, make_env, run_states

ZARM_MICROGRAVITY_S = 4.74  # s, drop mode [ZARM]
ZARM_DROP_TUBE_M = 120.0  # m, drop mode [ZARM]
ZARM_RESIDUAL_G = 1e-6  # in units of g0 [ZARM]
LAMA_DROP_HEIGHT_M = 0.05  # [DLR-2019]


def _pos(name, v, hi=1e6):
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise InputError(name, v, f"a finite number in (0, {hi:g}]") from None
    if not (math.isfinite(x) and 0 < x <= hi):
        raise InputError(name, v, f"a finite number in (0, {hi:g}]")
    return x


def free_fall_time(height_m: float, g: float = G0) -> float:
    """Closed form t = sqrt(2 h / g) (s) from rest."""
    return math.sqrt(2.0 * _pos("height_m", height_m) / _pos("g", g, 1e3))


def free_fall_height(duration_s: float = ZARM_MICROGRAVITY_S, g: float = G0) -> float:
    """Closed form h = g t² / 2 (m): free-fall height for a microgravity duration."""
    t = _pos("duration_s", duration_s, 1e4)
    return 0.5 * _pos("g", g, 1e3) * t * t


def residual_drift(duration_s: float = ZARM_MICROGRAVITY_S, residual_g: float = ZARM_RESIDUAL_G) -> float:
    """Closed form a t² / 2 (m): drift of a free-floating body released at relative rest in the
    capsule under a constant residual acceleration residual_g * g0."""
    t = _pos("duration_s", duration_s, 1e4)
    r = float(residual_g)
    if not (math.isfinite(r) and 0 <= r <= 1):
        raise InputError("residual_g", residual_g, "a residual acceleration in [0, 1] g0")
    return 0.5 * r * G0 * t * t


def froude(speed_m_s: float, g: float, length_m: float = RoverModel().height_m) -> float:
    """Fr = v² / (g L)."""
    return float(speed_m_s) ** 2 / (_pos("g", g, 1e3) * _pos("length_m", length_m))


def simulate_drop_tower_fall(height_m: float | None = None, duration_s: float = ZARM_MICROGRAVITY_S,
                             residual_g: float = ZARM_RESIDUAL_G, rover: RoverModel = RoverModel()):
    """Simulated ZARM checks with the rover integrator (no contact): (1) the capsule's free fall
    through ``height_m`` (default: the height implied by ``duration_s``) at g0: time to the end;
    (2) the rover floating in the capsule for ``duration_s`` at ``residual_g``: drift.
    Returns dict(t_fall_s, t_fall_closed_s, drift_m, drift_closed_m)."""
    h = free_fall_height(duration_s) if height_m is None else _pos("height_m", height_m, 1e4)
    far = Terrain.plane(patch_radius_m=1e6)
    far.base[0] = -1e9  # no contact
    # fall of the capsule: step to the crossing of -h by bisection-free sampling (record track)
    X = np.zeros(13)
    X[6] = 1.0
    env_r = make_env(rover, ContactModel(), far, "uniform", g_uniform=(0.0, 0.0, -G0),
                     settings=Settings(t_max_s=2.0 * free_fall_time(h), dt_flight_s=1e-3, escape_m=1e13,
                                       record_dt_s=1e-3))
    res = run_states(env_r, X[None], record=1)
    tr = res.tracks[0]
    k = np.nonzero(tr[:, 3] <= -h)[0][0]
    t0, t1, z0, z1 = tr[k - 1, 0], tr[k, 0], tr[k - 1, 3], tr[k, 3]
    t_fall = t0 + (-h - z0) / (z1 - z0) * (t1 - t0)  # linear between 1 ms samples
    # drift at the residual acceleration
    env_d = make_env(rover, ContactModel(), far, "uniform", g_uniform=(0.0, 0.0, -residual_g * G0),
                     settings=Settings(t_max_s=duration_s, dt_flight_s=0.01, escape_m=1e13))
    rd = run_states(env_d, X[None])
    return {"t_fall_s": float(t_fall), "t_fall_closed_s": free_fall_time(h), "height_m": h,
            "drift_m": float(-rd.rest_position_m[0, 2]), "drift_closed_m": residual_drift(duration_s, residual_g)}


@dataclass
class FacilityRun:
    """One simulated impact test (same rover and contact model as on Phobos)."""

    facility: str
    gravity_m_s2: float
    impact_speed_m_s: float
    impact_normal_m_s: float
    contact_duration_s: float  # NaN: no lift-off after the first contact within the window
    rebound_speed_m_s: float
    impacts: int
    settle_time_s: float  # from release; NaN if not at rest within the window
    window_s: float
    froude: float
    reproduces: str
    misses: str


def _row(name, res, g, window, rover, repro, miss):
    v = float(res.v_first_impact_m_s[0])
    tc = float(res.first_contact_s[0])
    return FacilityRun(name, g, v, float(res.vn_first_impact_m_s[0]), tc if tc >= 0 else float("nan"),
                       float(res.rebound_speed_m_s[0]), int(res.impacts[0]), float(res.settle_time_s[0]), window,
                       froude(v, g, rover.height_m), repro, miss)


def lama_drop(height_m: float = LAMA_DROP_HEIGHT_M, plate_deg: float = 15.0, rover: RoverModel = RoverModel(),
              contact: ContactModel = ContactModel(), window_s: float = 10.0) -> FacilityRun:
    """LAMA-like test: the rover dropped (wheels down, level) from ``height_m`` at 1 g onto a
    plate inclined by ``plate_deg`` (angles of the 2019 tests not recorded: ASSUMPTION)."""
    h = _pos("height_m", height_m, 10.0)
    plate = Terrain.plane(slope_deg=plate_deg)
    res = deploy(Release(altitude_m=h, velocity_m_s=(0.0, 0.0, 0.0)), rover, contact, terrain=plate,
                 gravity="uniform", g_uniform=(0.0, 0.0, -G0), rotating=False,
                 settings=Settings(t_max_s=window_s, t_hold_s=0.5, v_rest_m_s=1e-3, t_air_min_s=0.01,
                                   record_dt_s=1e-3), record=True)
    return _row(f"LAMA-like 1 g drop, {h * 100:g} cm, plate {plate_deg:g} deg", res, G0, window_s, rover,
                "impact speed within 50 %, contact mechanics (duration, restitution, friction, spin-up at impact)",
                "the ballistic hops and multi-minute settling (Fr ~1000x smaller: gravity recaptures the rover "
                "within centimetres)")


def zarm_impact(speed_m_s: float, gap_m: float = 0.05, plate_deg: float = 15.0, residual_g: float = ZARM_RESIDUAL_G,
                rover: RoverModel = RoverModel(), contact: ContactModel = ContactModel(),
                window_s: float = ZARM_MICROGRAVITY_S) -> FacilityRun:
    """ZARM drop-tower test: in the freely falling capsule (residual ``residual_g`` g0 toward the
    plate) the rover is pushed at ``speed_m_s`` from ``gap_m`` toward a plate inclined by
    ``plate_deg``; the window is the 4.74 s of microgravity [ZARM]."""
    v = _pos("speed_m_s", speed_m_s, 100.0)
    plate = Terrain.plane(slope_deg=plate_deg)
    res = deploy(Release(altitude_m=_pos("gap_m", gap_m, 10.0), velocity_m_s=(0.0, 0.0, -v)), rover, contact,
                 terrain=plate, gravity="uniform", g_uniform=(0.0, 0.0, -residual_g * G0), rotating=False,
                 settings=Settings(t_max_s=window_s, t_air_min_s=0.01, dt_flight_s=0.01, record_dt_s=1e-3),
                 record=True)
    return _row(f"ZARM drop tower, {v:.2f} m/s push, plate {plate_deg:g} deg", res, residual_g * G0, window_s,
                rover, "impact speed (set), contact duration, restitution, spin-up at impact",
                f"the return under gravity (Fr ~1e5; at 1e-6 g a rebound at {0.3:g} m/s does not come back "
                "within 4.74 s) and settling")


def phobos_reference(plate_deg: float = 15.0, g: float = 0.0057, altitude_m: float = 40.0,
                     rover: RoverModel = RoverModel(), contact: ContactModel = ContactModel()) -> FacilityRun:
    """The same rover released level from ``altitude_m`` at rest in uniform Phobos gravity g
    (0.0057 m/s² [WP-Phobos]) onto the same inclined plate (no rotation terms, no relief), to
    compare like with like."""
    res = deploy(Release(altitude_m=altitude_m, velocity_m_s=(0.0, 0.0, 0.0)), rover, contact,
                 terrain=Terrain.plane(slope_deg=plate_deg), gravity="uniform", g_uniform=(0.0, 0.0, -g),
                 rotating=False, settings=Settings(t_max_s=7200.0), record=True)
    return _row(f"Phobos, {altitude_m:g} m release, plate {plate_deg:g} deg", res, g, 7200.0, rover,
                "(target conditions)", "")


def comparison(plate_deg: float = 15.0, rover: RoverModel = RoverModel(), contact: ContactModel = ContactModel()):
    """(rows, markdown table): Phobos reference, LAMA-like drop, ZARM push at the Phobos impact speed."""
    ph = phobos_reference(plate_deg, rover=rover, contact=contact)
    la = lama_drop(plate_deg=plate_deg, rover=rover, contact=contact)
    za = zarm_impact(ph.impact_speed_m_s, plate_deg=plate_deg, rover=rover, contact=contact)
    rows = [ph, la, za]
    head = ("| case | g (m/s²) | impact speed (m/s) | normal (m/s) | first contact (s) | rebound (m/s) | impacts | "
            "at rest after (s) | Fr = v²/(gL) | reproduces | does not reproduce |\n"
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n")
    def rest(r):
        return f"not within {r.window_s:g} s" if not np.isfinite(r.settle_time_s) else f"{r.settle_time_s:.1f}"

    body = "\n".join(
        f"| {r.facility} | {r.gravity_m_s2:.3g} | {r.impact_speed_m_s:.3f} | {r.impact_normal_m_s:.3f} | "
        f"{'no lift-off' if not np.isfinite(r.contact_duration_s) else format(r.contact_duration_s, '.3f')} | "
        f"{'-' if not np.isfinite(r.contact_duration_s) else format(r.rebound_speed_m_s, '.3f')} | {r.impacts} | "
        f"{rest(r)} | "
        f"{r.froude:.3g} | {r.reproduces} | {r.misses} |" for r in rows)
    return rows, head + body


def comparison_figure(rows):
    """Figure: bar chart of impact speed, contact duration and log10 Fr per case."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.6))
    FigureCanvasAgg(fig)  # its tight_layout() and png_bytes share one renderer
    axs = fig.subplots(1, 3)
    names = [r.facility.split(",")[0] for r in rows]
    vals3 = ([r.impact_speed_m_s for r in rows], [np.nan_to_num(r.contact_duration_s) for r in rows],
             [math.log10(max(r.froude, 1e-12)) for r in rows])
    for ax, vals, lab in zip(axs, vals3,
                             ("impact speed (m/s)", "first contact (s)", "log10 Froude v²/(gL)")):
        ax.bar(range(len(rows)), vals, color=["tab:gray", "tab:blue", "tab:orange"][: len(rows)])
        ax.set_xticks(range(len(rows)))
        ax.set_xticklabels(names, fontsize=7, rotation=15)
        ax.set_title(lab, fontsize=9)
    fig.tight_layout()
    return fig


__all__ = ["FacilityRun", "LAMA_DROP_HEIGHT_M", "ZARM_MICROGRAVITY_S", "ZARM_RESIDUAL_G", "comparison",
           "comparison_figure", "free_fall_height", "free_fall_time", "froude", "lama_drop", "phobos_reference",
           "residual_drift", "simulate_drop_tower_fall", "zarm_impact"]
