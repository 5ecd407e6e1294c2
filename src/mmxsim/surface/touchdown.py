"""Touchdown of the MMX spacecraft (JAXA; spacecraft system by Mitsubishi Electric [MELCO]): rigid
body on four spring-damper legs with crushable strokes and Coulomb footpad friction, on a plane in Phobos gravity.

Simplified model (say so wherever the numbers are used; see docs/sampling.md)
-----------------------------------------------------------------------------
* **Body**: one rigid body (6 DOF): mass, principal inertia about the centre of mass (CoM) and
  four footpads at fixed body points (unstroked legs). MMX's current landing mass, inertia and
  gear geometry are not published (mmx-facts.md §2.1: current wet/dry masses UNCONFIRMED), so
  every number of :class:`Spacecraft` and :class:`LandingGear` is a parameter; the defaults are
  ASSUMPTIONS stated on each field. The legs and pads are massless.
* **Ground**: a plane (z = 0 of the *site frame*: z = outward plane normal, x = downhill, y = z × x)
  of given slope, i.e. angle between the plane normal and the local vertical −g. Gravity is
  uniform over the footprint: g = |g|(sin s, 0, −cos s). A site on the Phobos shape model takes
  its slope, downhill direction and effective gravity (gravity + rotation + Mars tide, Hill
  model) from the facet of :func:`mmxsim.surface.maps.surface_map` under it
  (:func:`site_conditions`); the facet is the plane (a thomas3k facet is ~0.7 km across, far
  larger than the 2 m footprint; boulders and roughness below the mesh scale are not modelled).
* **Rotating frame**: the Coriolis acceleration −2Ω×v of Phobos' spin (Ω in the site frame, zero
  for a plain plane) is applied to the CoM; the centrifugal and tidal terms are inside g_eff. No
  gyroscopic coupling of Ω with the attitude (|Ω| = 2.3e-4 rad/s).
* **Leg (shock absorber)**: for each footpad in contact, a spring k and damper c in series with a
  crushable element (rigid-plastic, crush load F_c, irreversible stroke) act along the plane
  normal at the pad (the leg axis for a body aligned with the plane; for a tilt α the axial stroke
  is larger by 1/cos α, i.e. < 1.5 % below 10°). Beyond the stroke limit a hard stop (stiffness
  ``k_stop``) takes the load ("bottoming"). The ground pushes only: when the damper would pull, the
  force is zero and the massless pad follows the spring (the stored energy is dissipated).
  Normal force N = k e + c ė with e the elastic deflection (penetration of the pad minus crush).
* **Footpad friction**: elastic-plastic Coulomb (tangential spring k_t + damper c_t in series with
  a slider of limit μN): true sticking on a slope, slip when the tangential load exceeds μN; the
  slip distance is the slider's travel.
* **Integration**: semi-implicit (symplectic) Euler, quaternion attitude, step ``dt_contact`` when
  any pad is in or near contact and ``dt_flight`` in flight (where the position step is the
  trapezoid, exact for uniform gravity). Every dissipation channel (damper,
  crush, friction slip, tangential damper, contact release) is integrated from its own rate, so
  the energy bookkeeping (E0 − E = dissipated) is an independent check (tests/surface/test_touchdown.py).

Touchdown conditions: vertical and horizontal speeds relative to the local vertical (−g), from
the descent model :mod:`mmxsim.surface.landing` (its limits 0.5 m/s vertical and 0.1 m/s
horizontal are ASSUMPTIONS there; its "vertical" is along the large-scale surface normal of the
gravity grid, here along −g: the difference is the grid's slope at the site), plus attitude and
rate errors.

Speed: with numba (a core dependency) the kernel is compiled; without it the same Python
code runs (about 100× slower; set ``MMXSIM_NO_NUMBA=1`` to force it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError

from .._accel import HAVE_NUMBA  # noqa: F401 (the same code runs as plain Python without numba)
from .._accel import jit
from ..bodies.quaternion import from_rotvec, multiply, to_matrix
from ._touchdown_kernel import SETTLED, TIMEOUT, TIPPED, _sim_impl

G0_M_S2 = 9.80665  # standard gravity (CGPM 1901), only to express "1/2000 g" [MMXN-331]
G_PHOBOS_M_S2 = 0.0057  # m/s^2, Phobos surface gravity [WP-Phobos] (mmx-facts.md §0)

# status codes: SETTLED, TIPPED, TIMEOUT (defined with the kernel)
STATUS_NAMES = {SETTLED: "settled", TIPPED: "tipped over", TIMEOUT: "not settled by t_max"}

# history columns
_H_T, _H_X, _H_V, _H_Q, _H_W, _H_S, _H_C, _H_E, _H_D = 0, 1, 4, 7, 11, 14, 18, 22, 23
_NH = 24


def _num(name, v, lo=-math.inf, hi=math.inf, what="a finite number", lo_open=False):
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise InputError(name, v, what) from None
    if not (math.isfinite(x) and (x > lo if lo_open else x >= lo) and x <= hi):
        raise InputError(name, v, what)
    return x


@dataclass(frozen=True)
class Spacecraft:
    """Rigid-body properties at landing (SI units: kg, m, kg m²).

    mass_kg: ASSUMPTION 2000 kg. The current MMX masses are UNCONFIRMED (mmx-facts.md §2.1); the
    2020-era figure is 3400 kg including 2000 kg of propellant [ZAPZAP] (secondary), i.e. 1400 kg
    dry, and the spacecraft lands with part of its propellant, hence a value between the two.
    inertia_kg_m2: principal moments (Ixx, Iyy, Izz) about the CoM; None = a uniform box
    ``box_m`` (ASSUMPTION 2.1 × 2.1 × 3.0 m: width of the landing footprint 2.1 m [TOPO21], height
    assumed).
    """

    mass_kg: float = 2000.0
    inertia_kg_m2: tuple | None = None
    box_m: tuple = (2.1, 2.1, 3.0)

    def __post_init__(self):
        _num("Spacecraft.mass_kg", self.mass_kg, 0.0, 1e6, "a mass in (0, 1e6] kg", lo_open=True)
        if self.inertia_kg_m2 is not None:
            I = np.asarray(self.inertia_kg_m2, float)
            if I.shape != (3,) or not np.all(np.isfinite(I)) or np.any(I <= 0):
                raise InputError("Spacecraft.inertia_kg_m2", self.inertia_kg_m2, "three principal moments > 0 kg m²")
            a, b, c = sorted(I)
            if c > a + b + 1e-12 * c:
                raise InputError("Spacecraft.inertia_kg_m2", self.inertia_kg_m2,
                                 "moments obeying the triangle inequality (largest <= sum of the others)")
        b = np.asarray(self.box_m, float)
        if b.shape != (3,) or not np.all(np.isfinite(b)) or np.any(b <= 0):
            raise InputError("Spacecraft.box_m", self.box_m, "three box dimensions > 0 m")

    @property
    def inertia(self) -> np.ndarray:
        if self.inertia_kg_m2 is not None:
            return np.asarray(self.inertia_kg_m2, float)
        a, b, c = self.box_m
        m = self.mass_kg
        return np.array([m * (b * b + c * c), m * (a * a + c * c), m * (a * a + b * b)]) / 12.0


@dataclass(frozen=True)
class LandingGear:
    """Four legs (SI units). All defaults are ASSUMPTIONS (no MMX landing-gear data are published):

    pad_radius_m: distance of each footpad from the body z axis; default 2.1/√2 m so that the four
    pads (at azimuths 45°, 135°, 225°, 315°) span a 2.1 m square, the mothership width / landing
    footprint of [TOPO21] (interpreted as the pad square). com_height_m: height of the CoM above
    the pad plane (unstroked). stiffness_N_m (k) and damping_N_s_m (c) per leg; crush_load_N (F_c,
    ``inf`` = no crushable element); stroke_max_m (usable stroke; hard stop beyond, stiffness
    ``stop_stiffness_N_m``); friction_mu (footpad-regolith Coulomb coefficient); tangential
    stiffness/damping of the pad contact.
    """

    pad_radius_m: float = 2.1 / math.sqrt(2.0)
    com_height_m: float = 1.2
    pad_azimuths_deg: tuple = (45.0, 135.0, 225.0, 315.0)
    stiffness_N_m: float = 5.0e4
    damping_N_s_m: float = 5.0e3
    crush_load_N: float = 2.0e3
    stroke_max_m: float = 0.20
    stop_stiffness_N_m: float = 1.0e6
    friction_mu: float = 0.6
    tangential_stiffness_N_m: float = 5.0e4
    tangential_damping_N_s_m: float = 5.0e3

    def __post_init__(self):
        _num("LandingGear.pad_radius_m", self.pad_radius_m, 0.0, 100.0, "a radius in (0, 100] m", lo_open=True)
        _num("LandingGear.com_height_m", self.com_height_m, 0.0, 100.0, "a height in (0, 100] m", lo_open=True)
        az = np.asarray(self.pad_azimuths_deg, float)
        if az.shape != (4,) or not np.all(np.isfinite(az)) or np.any(np.diff(az) <= 0) or az[-1] - az[0] >= 360:
            raise InputError("LandingGear.pad_azimuths_deg", self.pad_azimuths_deg,
                             "four increasing azimuths (deg) spanning less than 360°")
        _num("LandingGear.stiffness_N_m", self.stiffness_N_m, 0.0, 1e9, "a stiffness in (0, 1e9] N/m", lo_open=True)
        _num("LandingGear.damping_N_s_m", self.damping_N_s_m, 0.0, 1e8, "a damping in [0, 1e8] N s/m")
        try:
            fc = float(self.crush_load_N)
        except (TypeError, ValueError):
            raise InputError("LandingGear.crush_load_N", self.crush_load_N, "a load > 0 N or inf") from None
        if not fc > 0:
            raise InputError("LandingGear.crush_load_N", self.crush_load_N, "a load > 0 N or inf")
        _num("LandingGear.stroke_max_m", self.stroke_max_m, 0.0, 10.0, "a stroke in (0, 10] m", lo_open=True)
        _num("LandingGear.stop_stiffness_N_m", self.stop_stiffness_N_m, 0.0, 1e10, "a stiffness in (0, 1e10] N/m",
             lo_open=True)
        _num("LandingGear.friction_mu", self.friction_mu, 0.0, 10.0, "a friction coefficient in [0, 10]")
        _num("LandingGear.tangential_stiffness_N_m", self.tangential_stiffness_N_m, 0.0, 1e9,
             "a stiffness in (0, 1e9] N/m", lo_open=True)
        _num("LandingGear.tangential_damping_N_s_m", self.tangential_damping_N_s_m, 0.0, 1e8,
             "a damping in (0, 1e8] N s/m", lo_open=True)

    @property
    def pads_body(self) -> np.ndarray:
        """(4, 3) footpad positions in the body frame relative to the CoM (m), unstroked."""
        az = np.radians(np.asarray(self.pad_azimuths_deg, float))
        r = self.pad_radius_m
        return np.column_stack([r * np.cos(az), r * np.sin(az), np.full(4, -self.com_height_m)])

    def static_tipover_slope_deg(self) -> float:
        """Static tip-over slope (deg) of the pad footprint with the body aligned to the plane:
        atan(d / h), d the smallest distance from the body axis to a support edge (for the default
        square, half the pad span), h the CoM height over the pad plane."""
        P = self.pads_body[:, :2]
        d = math.inf
        for i in range(4):
            a, b = P[i], P[(i + 1) % 4]
            e = (b - a) / np.linalg.norm(b - a)
            d = min(d, abs(a[0] * e[1] - a[1] * e[0]))
        return math.degrees(math.atan2(d, self.com_height_m))


_KERNEL = {}


def _kernel():
    if "k" not in _KERNEL:
        _KERNEL["k"] = jit(_sim_impl)
    return _KERNEL["k"]


# ---------------------------------------------------------------------------------------------
quat_to_matrix = to_matrix  # public name kept (the code lives in mmxsim.bodies.quaternion)


def tip_margins(position_m, quaternion, gear: LandingGear, g_site, velocity_m_s=None, omega_body=None,
                spacecraft: Spacecraft | None = None):
    """Tip-over margins of poses (site frame: z = plane normal); arrays over poses, shapes (n, 3)
    and (n, 4) (or single poses).

    The support polygon is the four footpads projected onto the plane (pads in the order of their
    azimuths). For each support edge the *angle margin* is the rotation about that edge that
    brings the CoM vertically (along g) over it (positive = stable); the *energy barrier* is the
    potential-energy rise of that rotation, m |g⊥| (|r⊥| − r⊥·up) (r⊥, g⊥ perpendicular to the
    edge; m = 1 kg without ``spacecraft``). Returns (angle_margin_deg, energy_barrier_J, kinetic_J)
    for the worst edge; kinetic energy only with velocities and a spacecraft (else 0). A
    negative angle means the CoM is already past the edge (barrier 0).
    """
    x = np.atleast_2d(np.asarray(position_m, float))
    R = quat_to_matrix(np.atleast_2d(np.asarray(quaternion, float)))
    P = x[:, None, :] + np.einsum("nij,kj->nki", R, gear.pads_body)  # (n, 4, 3)
    P[..., 2] = 0.0
    gv = np.asarray(g_site, float)
    gn = np.linalg.norm(gv)
    if not gn > 0:  # no gravity: no tipping direction
        n = len(x)
        inf = np.full(n, np.inf)
        return (math.inf, math.inf, 0.0) if np.ndim(position_m) == 1 else (inf, inf.copy(), np.zeros(n))
    ghat = gv / gn
    centre = P.mean(axis=1)
    m = spacecraft.mass_kg if spacecraft is not None else 1.0
    best_a = np.full(len(x), np.inf)
    best_b = np.zeros(len(x))
    zhat = np.array([0.0, 0.0, 1.0])

    def dot(a, b):
        return np.einsum("ni,ni->n", a, b)

    for i in range(4):
        a, b = P[:, i], P[:, (i + 1) % 4]
        e = (b - a) / np.linalg.norm(b - a, axis=1)[:, None]
        out = np.cross(e, zhat)
        out *= np.where(dot(out, a - centre) < 0, -1.0, 1.0)[:, None]
        gp = ghat[None, :] - (e @ ghat)[:, None] * e
        gpn = np.linalg.norm(gp, axis=1)
        up = -gp / gpn[:, None]
        u2 = out - dot(out, up)[:, None] * up
        u2 /= np.linalg.norm(u2, axis=1)[:, None]
        r = x - a
        rp = r - dot(r, e)[:, None] * e
        A, B = dot(rp, up), dot(rp, u2)
        ang = np.degrees(np.arctan2(-B, A))
        barrier = np.where(ang > 0, m * gn * gpn * (np.linalg.norm(rp, axis=1) - A), 0.0)
        sel = ang < best_a
        best_a = np.where(sel, ang, best_a)
        best_b = np.where(sel, barrier, best_b)
    ke = np.zeros(len(x))
    if velocity_m_s is not None and spacecraft is not None:
        v = np.atleast_2d(np.asarray(velocity_m_s, float))
        ke = 0.5 * spacecraft.mass_kg * np.einsum("ni,ni->n", v, v)
        if omega_body is not None:
            w = np.atleast_2d(np.asarray(omega_body, float))
            ke = ke + 0.5 * np.einsum("ni,ni->n", w * spacecraft.inertia, w)
    if np.ndim(position_m) == 1:
        return float(best_a[0]), float(best_b[0]), float(ke[0])
    return best_a, best_b, ke


@dataclass
class TouchdownResult:
    """One touchdown simulation (SI units; site frame z = plane normal, x = downhill)."""

    status: int
    t_end_s: float
    settle_time_s: float  # NaN when not settled
    first_contact_s: float
    n_liftoffs: int  # times all four pads left the ground after a contact
    max_rebound_m: float  # highest clearance of the lowest pad after the first contact
    bottomed_out: bool
    max_stroke_m: np.ndarray  # (4,) total leg stroke (crush + elastic), max over time
    crush_m: np.ndarray  # (4,) permanent crush at the end
    slip_m: np.ndarray  # (4,) footpad slip distance
    dissipated_J: dict
    energy_initial_J: float
    energy_final_J: float
    min_tip_margin_deg: float
    min_energy_margin_ratio: float  # min over time of barrier / kinetic energy (inf if never moving)
    static_tip_slope_deg: float
    inputs: dict
    history: dict = field(repr=False)

    @property
    def status_name(self) -> str:
        return STATUS_NAMES[self.status]

    @property
    def tipped(self) -> bool:
        return self.status == TIPPED

    @property
    def left_surface(self) -> bool:
        return self.n_liftoffs > 0

    @property
    def energy_balance_error_J(self) -> float:
        """(E0 − E_end) − dissipated (J): zero for exact bookkeeping."""
        return (self.energy_initial_J - self.energy_final_J) - sum(self.dissipated_J.values())

    def safe(self, stroke_limit_m: float | None = None) -> bool:
        """Not tipped, settled, no bottoming out (and max stroke under ``stroke_limit_m`` if given)."""
        ok = self.status == SETTLED and not self.bottomed_out
        if stroke_limit_m is not None:
            ok = ok and float(self.max_stroke_m.max()) <= stroke_limit_m
        return bool(ok)

    def summary(self) -> dict:
        """Plain numbers for a report."""
        return {"status": self.status_name, "settle_time_s": self.settle_time_s, "t_end_s": self.t_end_s,
                "left_surface": self.left_surface, "n_liftoffs": self.n_liftoffs,
                "max_rebound_m": self.max_rebound_m, "max_stroke_m": float(self.max_stroke_m.max()),
                "max_crush_m": float(self.crush_m.max()), "max_slip_m": float(self.slip_m.max()),
                "bottomed_out": self.bottomed_out, "min_tip_margin_deg": self.min_tip_margin_deg,
                "min_energy_margin_ratio": self.min_energy_margin_ratio,
                "static_tip_slope_deg": self.static_tip_slope_deg,
                "dissipated_J": sum(self.dissipated_J.values()), "energy_initial_J": self.energy_initial_J,
                "energy_balance_error_J": self.energy_balance_error_J}

    def plot(self):
        """matplotlib Figure: CoM height/speeds, leg strokes, tilt and tip margin, energy."""
        from matplotlib.figure import Figure

        h = self.history
        t = h["t_s"]
        fig = Figure(figsize=(10, 7), constrained_layout=True)
        ax = fig.subplots(2, 2)
        ax[0, 0].plot(t, h["com_m"][:, 2], label="CoM height over plane")
        ax[0, 0].plot(t, h["com_m"][:, 0] - h["com_m"][0, 0], label="downhill travel")
        ax[0, 0].set_ylabel("m")
        ax[0, 0].legend(fontsize=8)
        ax[0, 0].set_title(f"touchdown: {self.status_name}")
        for i in range(4):
            ax[0, 1].plot(t, h["stroke_m"][:, i] * 100, label=f"leg {i + 1}")
        ax[0, 1].set_ylabel("leg stroke (cm)")
        ax[0, 1].legend(fontsize=8)
        ax[1, 0].plot(t, h["tilt_deg"], label="tilt from plane normal")
        ax[1, 0].plot(t, h["tip_margin_deg"], label="tip-over margin")
        ax[1, 0].set_ylabel("deg")
        ax[1, 0].set_xlabel("time (s)")
        ax[1, 0].legend(fontsize=8)
        ax[1, 1].plot(t, h["energy_J"], label="mechanical energy")
        ax[1, 1].plot(t, h["energy_J"][0] - h["dissipated_J"], "--", label="E0 − dissipated")
        ax[1, 1].set_ylabel("J")
        ax[1, 1].set_xlabel("time (s)")
        ax[1, 1].legend(fontsize=8)
        return fig


def _check_vec(name, v, n=3):
    a = np.asarray(v, float)
    if a.shape != (n,) or not np.all(np.isfinite(a)):
        raise InputError(name, v, f"{n} finite numbers")
    return a


def simulate_touchdown(vertical_m_s: float = 0.3, horizontal_m_s: float = 0.05, slope_deg: float = 0.0,
                       g_m_s2: float = G_PHOBOS_M_S2, horizontal_azimuth_deg: float = 0.0,
                       attitude_error_deg=(0.0, 0.0), rate_error_deg_s=(0.0, 0.0, 0.0),
                       spacecraft: Spacecraft = Spacecraft(), gear: LandingGear = LandingGear(),
                       spin_site_rad_s=(0.0, 0.0, 0.0), t_max_s: float = 600.0, dt_contact_s: float = 5e-4,
                       dt_flight_s: float = 0.02, record_dt_s: float = 0.05, settle_speed_m_s: float = 1e-3,
                       settle_rate_deg_s: float = 0.05, settle_hold_s: float = 5.0, stop_when_settled: bool = True,
                       tipped_tilt_deg: float = 80.0, adhesive: bool = False,
                       initial_tilt_deg: float | None = None, hold_down_thrust_N: float = 0.0,
                       hold_down_s: float = 0.0) -> TouchdownResult:
    """Simulate one touchdown on a plane of ``slope_deg`` in uniform gravity ``g_m_s2``.

    Initial state: body z axis along the local vertical −g (the descent attitude), turned by
    ``attitude_error_deg`` = (about the site x axis, about the site y axis) in deg (positive y
    turns the pads' plane towards downhill); or, with ``initial_tilt_deg`` set, the body is
    aligned with the plane normal and then turned by that angle about +y (used in tests). The
    lowest pad touches the plane at t = 0. Velocity: ``vertical_m_s`` down along g plus
    ``horizontal_m_s`` perpendicular to g, its azimuth from downhill (0 = downhill, worst case)
    towards +y. ``rate_error_deg_s``: body rates. The run stops as "tipped over" when the body
    axis is more than ``tipped_tilt_deg`` from the plane normal, on the ground or tumbling during
    a rebound (in Phobos gravity a rebound flight lasts tens of seconds: the tilt grows in the air). ``adhesive=True`` lets the damper pull on the
    ground (the classical linear oscillator; for validation only). ``hold_down_thrust_N`` for
    ``hold_down_s`` after the first contact: thrust along −body z through the CoM (e.g. attitude
    thrusters, 22 N class [IHI-2020]; whether MMX fires any at touchdown is UNCONFIRMED, default 0);
    its work appears in ``dissipated_J["thrust_work_removed"]``.
    """
    vv = _num("vertical_m_s", vertical_m_s, 0.0, 20.0, "a downward speed in [0, 20] m/s")
    vh = _num("horizontal_m_s", horizontal_m_s, 0.0, 20.0, "a horizontal speed in [0, 20] m/s")
    s = math.radians(_num("slope_deg", slope_deg, 0.0, 60.0, "a slope in [0, 60] deg"))
    g = _num("g_m_s2", g_m_s2, 0.0, 30.0, "a gravity in [0, 30] m/s²")
    az = math.radians(_num("horizontal_azimuth_deg", horizontal_azimuth_deg, -360, 360, "an azimuth in deg"))
    att = np.radians(_check_vec("attitude_error_deg", attitude_error_deg, 2))
    rate = np.radians(_check_vec("rate_error_deg_s", rate_error_deg_s, 3))
    spin = _check_vec("spin_site_rad_s", spin_site_rad_s)
    if np.linalg.norm(spin) > 1e-2:
        raise InputError("spin_site_rad_s", spin_site_rad_s, "a rotation rate below 1e-2 rad/s (Phobos: 2.3e-4)")
    if not isinstance(spacecraft, Spacecraft):
        raise InputError("spacecraft", type(spacecraft).__name__, "a Spacecraft")
    if not isinstance(gear, LandingGear):
        raise InputError("gear", type(gear).__name__, "a LandingGear")
    t_max = _num("t_max_s", t_max_s, 0.0, 1e5, "a duration in (0, 1e5] s", lo_open=True)
    dtc = _num("dt_contact_s", dt_contact_s, 0.0, 0.01, "a step in (0, 0.01] s", lo_open=True)
    dtf = _num("dt_flight_s", dt_flight_s, dtc, 1.0, f"a step in [{dtc:g}, 1] s")
    thrust = _num("hold_down_thrust_N", hold_down_thrust_N, 0.0, 1e4, "a thrust in [0, 1e4] N")
    hold_s = _num("hold_down_s", hold_down_s, 0.0, 1e5, "a duration in [0, 1e5] s")
    rdt = _num("record_dt_s", record_dt_s, 0.0, 100.0, "an interval in (0, 100] s", lo_open=True)
    m = spacecraft.mass_kg
    # stability of the explicit contact step (fastest contact mode vs dt)
    om = math.sqrt(4 * max(gear.stiffness_N_m, gear.tangential_stiffness_N_m) / m)
    om_stop = math.sqrt(gear.stop_stiffness_N_m / m * (1 + m * gear.pad_radius_m ** 2 / spacecraft.inertia.min()))
    if max(om, om_stop) * dtc > 0.2:
        raise InputError("dt_contact_s", dt_contact_s,
                         f"a step below {0.2 / max(om, om_stop):.2e} s for this stiffness and mass")

    gvec = g * np.array([math.sin(s), 0.0, -math.cos(s)])
    # attitude: body z along -g (descent) turned by the errors; or aligned with the plane normal
    if initial_tilt_deg is None:
        q = from_rotvec([0.0, -s, 0.0])  # body z -> -g direction (rotate about y by -s)
        q = multiply(from_rotvec([att[0], 0.0, 0.0]), q)
        q = multiply(from_rotvec([0.0, att[1], 0.0]), q)
    else:
        q = from_rotvec([0.0, math.radians(initial_tilt_deg), 0.0])
    R = quat_to_matrix(q)
    pads = gear.pads_body
    pw = pads @ R.T
    x0 = np.array([0.0, 0.0, -pw[:, 2].min()])
    down = gvec / g if g > 0 else np.array([0.0, 0.0, -1.0])
    hdir = np.array([math.cos(az), math.sin(az), 0.0])
    hdir = hdir - np.dot(hdir, down) * down
    hdir /= np.linalg.norm(hdir)
    v0 = vv * down + vh * hdir
    y0 = np.concatenate([x0, v0, q, rate])
    prm = np.array([m, gear.stiffness_N_m, gear.damping_N_s_m, float(gear.crush_load_N), gear.stroke_max_m,
                    gear.stop_stiffness_N_m, gear.friction_mu, gear.tangential_stiffness_N_m,
                    gear.tangential_damping_N_s_m, settle_speed_m_s, math.radians(settle_rate_deg_s), settle_hold_s,
                    tipped_tilt_deg, 1.0 if adhesive else 0.0, 1.0 if stop_when_settled else 0.0, thrust,
                    hold_s])
    nrec = int(t_max / rdt) + 3
    hist = np.zeros((nrec, _NH))
    summ = np.zeros(25)
    _kernel()(prm, np.ascontiguousarray(pads), spacecraft.inertia, y0, gvec, spin, dtc, dtf, t_max, rdt, hist, summ)
    n = int(summ[11])
    H = hist[:n]
    Rh = quat_to_matrix(H[:, 7:11])
    tilt = np.degrees(np.arccos(np.clip(Rh[:, 2, 2], -1, 1)))
    margins, bar, ke = tip_margins(H[:, 1:4], H[:, 7:11], gear, gvec, H[:, 4:7], H[:, 11:14], spacecraft)
    with np.errstate(divide="ignore", invalid="ignore"):
        eratio = np.where(ke > 0, bar / np.where(ke > 0, ke, 1.0), np.inf)
    after = H[:, 0] >= summ[3] if summ[3] >= 0 else np.ones(n, bool)
    history = {"t_s": H[:, 0], "com_m": H[:, 1:4], "velocity_m_s": H[:, 4:7], "quaternion": H[:, 7:11],
               "omega_body_rad_s": H[:, 11:14], "stroke_m": H[:, 14:18], "contact": H[:, 18:22].astype(bool),
               "energy_J": H[:, 22], "dissipated_J": H[:, 23], "tilt_deg": tilt, "tip_margin_deg": margins,
               "energy_margin_ratio": eratio}
    return TouchdownResult(
        status=int(summ[0]), t_end_s=float(summ[1]),
        settle_time_s=float(summ[2]) if summ[2] >= 0 else math.nan, first_contact_s=float(summ[3]),
        n_liftoffs=int(summ[4]), max_rebound_m=float(summ[5]), bottomed_out=bool(summ[6]),
        max_stroke_m=summ[12:16].copy(), crush_m=summ[16:20].copy(), slip_m=summ[20:24].copy(),
        dissipated_J={"damping": float(summ[7]), "crushing": float(summ[8]), "friction_slip": float(summ[9]),
                      "contact_release": float(summ[10]),
                      "thrust_work_removed": float(summ[24])},
        energy_initial_J=float(H[0, 22]), energy_final_J=float(H[-1, 22]),
        min_tip_margin_deg=float(margins[after].min()), min_energy_margin_ratio=float(eratio[after].min()),
        static_tip_slope_deg=gear.static_tipover_slope_deg(),
        inputs={"vertical_m_s": vv, "horizontal_m_s": vh, "slope_deg": math.degrees(s), "g_m_s2": g,
                "attitude_error_deg": tuple(np.degrees(att)), "mass_kg": m},
        history=history)


# ---------------------------------------------------------------------------------------------
# Sites on the Phobos shape model
_MAPS = {}


def site_conditions(lat_deg: float, lon_deg: float, shape: str = "thomas3k", surface_map=None) -> dict:
    """Slope, effective gravity and Phobos' spin in the site frame at the facet under a site.

    Uses :func:`mmxsim.surface.maps.surface_map` (constant-density polyhedron + Hill rotation and
    tide; GM [DE440-GM], n [JPL-SAT]). The site frame is z = facet outward normal, x = downhill
    (maps' ``downhill``; any tangent direction on a flat facet), y = z × x. Returns a dict with
    ``slope_deg``, ``g_m_s2`` (|g_eff|), ``spin_site_rad_s`` (Phobos' spin vector n ẑ_body in the
    site frame), ``facet`` and the facet's ``lat_deg``/``lon_deg``.
    """
    from . import maps

    lat = _num("site latitude_deg", lat_deg, -90.0, 90.0, "a latitude in [-90, 90] deg (planetocentric)")
    lon = _num("site longitude_deg", lon_deg, -360.0, 360.0, "an east longitude in [-360, 360] deg")
    m = surface_map
    if m is None:
        if shape not in _MAPS:
            _MAPS[shape] = maps.surface_map(shape)
        m = _MAPS[shape]
    la, lo = math.radians(lat), math.radians(lon)
    d = np.array([math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)])
    c = m.centroids / np.linalg.norm(m.centroids, axis=1)[:, None]
    # the facet hit by the ray from the centre: among facets whose centroid direction is close,
    # the one the ray crosses (largest cosine is enough for a star-shaped mesh at facet scale)
    i = int(np.argmax(c @ d))
    nrm = m.normals[i]
    dh = m.downhill[i]
    if not np.linalg.norm(dh) > 0:
        t = np.cross(nrm, [0.0, 0.0, 1.0])
        dh = t / np.linalg.norm(t) if np.linalg.norm(t) > 0 else np.array([1.0, 0.0, 0.0])
    y = np.cross(nrm, dh)
    M = np.vstack([dh, y, nrm])  # body-fixed -> site
    spin = M @ np.array([0.0, 0.0, m.n])
    return {"slope_deg": float(m.slope_deg[i]), "g_m_s2": float(np.linalg.norm(m.g_eff[i]) * 1e3),
            "spin_site_rad_s": spin, "facet": i, "lat_deg": float(m.lat_deg[i]), "lon_deg": float(m.lon_deg[i]),
            "shape": m.shape_name}


# ---------------------------------------------------------------------------------------------
# Safe envelope
@dataclass
class Envelope:
    """Safe/unsafe grid over (slope, vertical speed, horizontal speed)."""

    slopes_deg: np.ndarray
    vertical_m_s: np.ndarray
    horizontal_m_s: np.ndarray
    safe: np.ndarray  # (n_slope, n_vert, n_hor) bool
    tipped: np.ndarray
    bottomed: np.ndarray
    max_rebound_m: np.ndarray
    min_tip_margin_deg: np.ndarray
    settle_time_s: np.ndarray
    conditions: dict

    def safe_fraction(self) -> float:
        return float(self.safe.mean())

    def max_safe_vertical(self) -> np.ndarray:
        """(n_slope, n_hor): largest grid vertical speed below which every grid point is safe (0 if none)."""
        out = np.zeros(self.safe.shape[::2])
        for a in range(self.safe.shape[0]):
            for c in range(self.safe.shape[2]):
                col = self.safe[a, :, c]
                n_ok = int(np.argmin(col)) if not col.all() else len(col)
                out[a, c] = self.vertical_m_s[n_ok - 1] if n_ok > 0 else 0.0
        return out

    def plot(self, limits=(0.5, 0.1)):
        """matplotlib Figure: one panel per slope, safe (green) / tipped (red) / bottomed out
        (orange) / not settled (grey) over (horizontal, vertical) speed, with the descent limits
        (ASSUMPTION in mmxsim.surface.landing) dashed."""
        from matplotlib.colors import ListedColormap
        from matplotlib.figure import Figure

        ns = len(self.slopes_deg)
        fig = Figure(figsize=(3.2 * ns + 1, 3.4), constrained_layout=True)
        axs = np.atleast_1d(fig.subplots(1, ns, sharey=True))
        cmap = ListedColormap(["#2ca02c", "#d62728", "#ff7f0e", "#999999"])
        for a, ax in enumerate(axs):
            code = np.where(self.safe[a], 0, np.where(self.tipped[a], 1, np.where(self.bottomed[a], 2, 3)))
            ax.pcolormesh(self.horizontal_m_s, self.vertical_m_s, code, cmap=cmap, vmin=-0.5, vmax=3.5,
                          shading="nearest")
            if limits is not None:
                ax.axhline(limits[0], color="k", ls="--", lw=1)
                ax.axvline(limits[1], color="k", ls="--", lw=1)
            ax.set_title(f"slope {self.slopes_deg[a]:g}°")
            ax.set_xlabel("horizontal speed (m/s)")
        axs[0].set_ylabel("vertical speed (m/s)")
        fig.suptitle("touchdown envelope: green safe, red tipped, orange bottomed out, grey not settled")
        return fig


def safe_envelope(slopes_deg=(0.0, 10.0, 20.0, 30.0), vertical_m_s=(0.1, 0.3, 0.5, 0.7, 0.9),
                  horizontal_m_s=(0.0, 0.1, 0.2, 0.3), **kw) -> Envelope:
    """Run :func:`simulate_touchdown` on the grid (horizontal velocity downhill by default, the
    worst case; other keywords pass through) and classify each run (:meth:`TouchdownResult.safe`)."""
    S = np.asarray(slopes_deg, float)
    V = np.asarray(vertical_m_s, float)
    H = np.asarray(horizontal_m_s, float)
    for name, arr in (("slopes_deg", S), ("vertical_m_s", V), ("horizontal_m_s", H)):
        if arr.ndim != 1 or len(arr) == 0 or not np.all(np.isfinite(arr)):
            raise InputError(name, arr.tolist(), "a non-empty 1-D sequence of finite numbers")
    shp = (len(S), len(V), len(H))
    safe, tip, bot = np.zeros(shp, bool), np.zeros(shp, bool), np.zeros(shp, bool)
    reb, mar, st = np.zeros(shp), np.zeros(shp), np.zeros(shp)
    for a, s in enumerate(S):
        for b, v in enumerate(V):
            for c, h in enumerate(H):
                r = simulate_touchdown(vertical_m_s=v, horizontal_m_s=h, slope_deg=s, **kw)
                safe[a, b, c], tip[a, b, c], bot[a, b, c] = r.safe(), r.tipped, r.bottomed_out
                reb[a, b, c], mar[a, b, c], st[a, b, c] = r.max_rebound_m, r.min_tip_margin_deg, r.settle_time_s
    return Envelope(S, V, H, safe, tip, bot, reb, mar, st, {k: v for k, v in kw.items()
                                                            if isinstance(v, (int, float, tuple))})


def from_descent(touchdown, max_runs: int = 50, slope_deg: float = 0.0, g_m_s2: float = G_PHOBOS_M_S2, **kw):
    """Landing-gear runs at the touchdown speeds of :class:`mmxsim.surface.landing.Touchdown`
    (landed trajectories only, the first ``max_runs``). Returns the list of results."""
    vv = np.asarray(touchdown.vertical_m_s, float)
    vh = np.asarray(touchdown.horizontal_m_s, float)
    ok = np.asarray(touchdown.status) == 0
    out = []
    for v, h in list(zip(vv[ok], vh[ok]))[:int(max_runs)]:
        out.append(simulate_touchdown(vertical_m_s=max(v, 0.0), horizontal_m_s=h, slope_deg=slope_deg,
                                      g_m_s2=g_m_s2, **kw))
    return out


@dataclass
class TouchdownMC:
    """Monte Carlo of touchdowns (arrays over runs)."""

    n: int
    seed: int
    vertical_m_s: np.ndarray
    horizontal_m_s: np.ndarray
    azimuth_deg: np.ndarray
    attitude_error_deg: np.ndarray  # (n, 2)
    safe: np.ndarray
    tipped: np.ndarray
    max_rebound_m: np.ndarray
    max_stroke_m: np.ndarray
    settle_time_s: np.ndarray

    def probability_safe(self) -> tuple:
        """(fraction safe, binomial standard error)."""
        p = float(self.safe.mean())
        return p, math.sqrt(p * (1 - p) / self.n)

    def summary(self) -> dict:
        p, se = self.probability_safe()
        st = self.settle_time_s[np.isfinite(self.settle_time_s)]
        return {"n": self.n, "seed": self.seed, "p_safe": p, "stderr": se, "p_tipped": float(self.tipped.mean()),
                "rebound_m_median": float(np.median(self.max_rebound_m)),
                "rebound_m_p95": float(np.percentile(self.max_rebound_m, 95)),
                "stroke_m_max": float(self.max_stroke_m.max()),
                "settle_s_median": float(np.median(st)) if len(st) else math.nan}


def touchdown_monte_carlo(n: int = 200, seed: int = 0, vertical_m_s=(0.1, 0.5), horizontal_m_s=(0.0, 0.1),
                          attitude_sigma_deg: float = 1.0, slope_deg: float = 0.0, **kw) -> TouchdownMC:
    """Touchdowns with vertical and horizontal speeds uniform in the given ranges (defaults: up
    to the ASSUMED descent limits), horizontal azimuth uniform in [0, 360) deg from downhill and
    Gaussian attitude errors (sigma per axis, ASSUMPTION 1°). Draws from
    ``numpy.random.default_rng(seed)``. Other keywords go to :func:`simulate_touchdown`."""
    if not (isinstance(n, (int, np.integer)) and 1 <= n <= 100_000):
        raise InputError("n", n, "an integer number of runs 1..100000")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError("seed", seed, "an integer >= 0")
    rng_ = []
    for name, r in (("vertical_m_s", vertical_m_s), ("horizontal_m_s", horizontal_m_s)):
        try:
            lo, hi = (float(r[0]), float(r[1]))
        except (TypeError, ValueError, IndexError):
            raise InputError(name, r, "a range (lo, hi) in m/s") from None
        if not (0 <= lo <= hi <= 20):
            raise InputError(name, r, "a range 0 <= lo <= hi <= 20 m/s")
        rng_.append((lo, hi))
    sig = _num("attitude_sigma_deg", attitude_sigma_deg, 0.0, 30.0, "a sigma in [0, 30] deg")
    rng = np.random.default_rng(int(seed))
    vv = rng.uniform(*rng_[0], n)
    vh = rng.uniform(*rng_[1], n)
    az = rng.uniform(0.0, 360.0, n)
    att = rng.normal(0.0, sig, (n, 2)) if sig > 0 else np.zeros((n, 2))
    safe, tip = np.zeros(n, bool), np.zeros(n, bool)
    reb, stroke, st = np.zeros(n), np.zeros(n), np.zeros(n)
    for i in range(n):
        r = simulate_touchdown(vv[i], vh[i], slope_deg, horizontal_azimuth_deg=az[i],
                               attitude_error_deg=tuple(att[i]), **kw)
        safe[i], tip[i] = r.safe(), r.tipped
        reb[i], stroke[i], st[i] = r.max_rebound_m, float(r.max_stroke_m.max()), r.settle_time_s
    return TouchdownMC(int(n), int(seed), vv, vh, az, att, safe, tip, reb, stroke, st)


def touchdown_analysis(vertical_m_s: float = 0.5, horizontal_m_s: float = 0.1, slope_deg: float | None = None,
                       site=None, attitude_error_deg=(0.0, 2.0), envelope: bool = True,
                       envelope_slopes_deg=(0.0, 10.0, 20.0, 30.0), envelope_vertical_m_s=(0.1, 0.3, 0.5, 0.7, 0.9),
                       envelope_horizontal_m_s=(0.0, 0.1, 0.2, 0.3), spacecraft: Spacecraft = Spacecraft(),
                       gear: LandingGear = LandingGear(), monte_carlo_n: int = 0, seed: int = 0, **kw) -> dict:
    """Entry point for a report section: one touchdown at the given speeds (defaults: the descent
    model's ASSUMED limits 0.5 m/s vertical and 0.1 m/s horizontal, downhill) plus the safe envelope.

    ``site``: None (plane of ``slope_deg``, default 0°, in g = 0.0057 m/s² [WP-Phobos]) or
    (lat_deg, lon_deg) on Phobos (slope, g_eff and spin from :func:`site_conditions`; an explicit
    ``slope_deg`` overrides the facet slope). Returns plain numbers and matplotlib Figures::

        {"nominal": dict, "site": dict | None, "static_tip_slope_deg": float,
         "envelope": {"safe_fraction", "max_safe_vertical_m_s", ...} | None,
         "monte_carlo": {"p_safe", ...} | None, "figures": {"touchdown": Figure, "envelope": Figure}}

    ``monte_carlo_n`` > 0 adds :func:`touchdown_monte_carlo` (speeds up to the given ones, seeded).
    """
    g = kw.pop("g_m_s2", G_PHOBOS_M_S2)
    spin = kw.pop("spin_site_rad_s", (0.0, 0.0, 0.0))
    sc = None
    if site is not None:
        try:
            lat, lon = site
        except (TypeError, ValueError):
            raise InputError("site", site, "None or (lat_deg, lon_deg)") from None
        sc = site_conditions(lat, lon)
        g = sc["g_m_s2"]
        spin = sc["spin_site_rad_s"]
        if slope_deg is None:
            slope_deg = sc["slope_deg"]
    slope = 0.0 if slope_deg is None else slope_deg
    r = simulate_touchdown(vertical_m_s, horizontal_m_s, slope, g_m_s2=g, attitude_error_deg=attitude_error_deg,
                           spacecraft=spacecraft, gear=gear, spin_site_rad_s=spin, **kw)
    out = {"nominal": r.summary(), "site": None if sc is None else {k: (v.tolist() if isinstance(v, np.ndarray)
                                                                          else v) for k, v in sc.items()},
           "static_tip_slope_deg": gear.static_tipover_slope_deg(), "envelope": None,
           "figures": {"touchdown": r.plot()}}
    if envelope:
        env = safe_envelope(envelope_slopes_deg, envelope_vertical_m_s, envelope_horizontal_m_s, g_m_s2=g,
                            attitude_error_deg=attitude_error_deg, spacecraft=spacecraft, gear=gear, **kw)
        out["envelope"] = {"slopes_deg": env.slopes_deg.tolist(), "vertical_m_s": env.vertical_m_s.tolist(),
                           "horizontal_m_s": env.horizontal_m_s.tolist(), "safe": env.safe.tolist(),
                           "safe_fraction": env.safe_fraction(),
                           "max_safe_vertical_m_s": env.max_safe_vertical().tolist()}
        out["figures"]["envelope"] = env.plot()
    out["monte_carlo"] = None
    if monte_carlo_n:
        mc = touchdown_monte_carlo(monte_carlo_n, seed, vertical_m_s=(0.0, vertical_m_s),
                                   horizontal_m_s=(0.0, horizontal_m_s), slope_deg=slope, g_m_s2=g,
                                   spacecraft=spacecraft, gear=gear, spin_site_rad_s=spin, **kw)
        out["monte_carlo"] = mc.summary()
    return out
