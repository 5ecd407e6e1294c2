"""Radiometric measurement models: light time, range, integrated Doppler, ΔDOR, media, partials.

Model
-----
*Light time.* Every leg is solved in the common inertial frame (SSB-centred ICRF for real
missions) by Newton's iteration on ``f(τ) = τ - (|r(τ)| + S(τ)) / c``, with ``r`` the vector
between the participant at the known epoch and the other at the known epoch ∓ τ and ``S`` the
Shapiro delay (km). Newton converges quadratically from the instantaneous distance: two or three
steps reach the float64 floor; the loop stops when the last step is below
``settings.light_time_tol_s`` (1e-13 s; raised to 4 ulp of τ where τ > 440 s, since a float64 τ
cannot resolve less) and raises :class:`LightTimeError` after ``max_iterations``.
Epochs are two-part (``hi + lo``, see ``data.py``): every epoch difference ``t - τ`` is split
with Knuth's error-free TwoSum and participants are evaluated at ``hi`` and moved by ``v * lo``.
Positions are carried as double-double where a participant offers it
(``participants.state_dd``), so ``r`` and differences of ``r`` keep their resolution.

*Range* (km): one-way equivalent, ``c (t_r - t_t) / 2`` = (downlink + uplink light distance) / 2,
plus the equipment delays ``c (delay_rx + delay_tx + transponder) / 2`` and the troposphere
``(T_up + T_down) / 2``. Three-way when the transmitter differs from the receiver. A per-station or
per-pass range bias is left to the estimator: :func:`range_bias_columns` gives its partial (1).

*Integrated Doppler* (km/s): mean range rate over the count interval Tc ending at the tag,
``(ρ(t) - ρ(t - Tc)) / Tc``. The difference is formed leg by leg from the light-time equations,
``|r1| - |r0| = (r1 - r0)·(r1 + r0) / (|r1| + |r0|)``, with ``r1 - r0`` from the double-double
positions, never as the difference of two ~3e8 km numbers (Zannoni & Tortora, arXiv:1908.07858,
``../shared/nav-facts.md``: naive differencing costs up to 6e-2 mm/s at 60 s). Equipment delays
cancel. ``settings.two_part_epochs = False`` gives the naive float64 model (for comparison only).

*ΔDOR* (s): one emission. The tag ``t`` is the reception at the receiver; the spacecraft emitted
at ``t_e = t - τ1``; the same wavefront reaches ``station2`` at ``t_e + τ2`` (forward light time).
The value is ``τ1 - τ2`` (arrival at the receiver minus arrival at station2 of one wavefront),
plus the troposphere difference and ``delay_rx - delay_station2``. One bounce column (the emission).

*Media and relativity* (each switchable in :class:`MeasurementSettings`):

- troposphere on each leg: zenith hydrostatic delay of Saastamoinen (1972) in the form of
  Davis et al. (1985, Radio Sci. 20:1593, eq. A11): ``ZHD = 0.0022768 P / (1 - 0.00266 cos 2φ -
  0.00028 h)`` (m, P in hPa, h in km) with the pressure of a standard atmosphere at the station
  height, ``P = 1013.25 (1 - 2.2557e-5 h_m)^5.2568`` hPa (Berg 1948, as in the IERS Conventions
  2010 ch. 9 GPT discussion), plus a zenith wet delay (parameter, default 0.1 m: a typical value
  within "a few cm to ≥ 25 cm", MESSENGER TRK-2-23 help page; UNCONFIRMED as a default), each
  times Chao's mapping function (Chao 1974, JPL TR 32-1587; dry ``1/(sin E + 0.00143/(tan E +
  0.0445))``, wet ``1/(sin E + 0.00035/(tan E + 0.017))``; coefficients as quoted in the DSN
  literature, UNCONFIRMED against the primary report), evaluated at 1 deg for rays lower than
  that (:data:`MIN_MAPPING_ELEVATION_DEG`). The elevation is geometric (light-time
  corrected direction, no aberration, no refraction). The residual after calibration is noise,
  not a correction: :func:`troposphere_residual_sigma`. No ionosphere (X and Ka only).
- Shapiro delay of the Sun on each leg, ``(1 + γ) GM_sun / c^2 ln((r1 + r2 + r12)/(r1 + r2 - r12))``
  (km; Moyer 2000, JPL DESCANSO Monograph 2, eq. 8-38 form, γ = 1), the Sun taken at the leg's
  known epoch (it moves < 20 km during a light time: < 1e-9 relative on the delay). It enters the
  light-time iteration. Planets' Shapiro terms are neglected (Earth's: < 2 cm one way).

*Partials.* ``d_value_d_state[:, j]`` is the derivative of the value with respect to the spacecraft
state at bounce epoch ``j``, the epochs moving with the perturbed light times
(``dτ = n·δr / (c + n·v)`` style terms, exact to first order, v/c kept), with ``n`` replaced by the
gradient of the leg length including the Shapiro term (~1e-5 of the geometric partial for a ray
passing 2 solar radii from the Sun; more closer in). Velocity columns are zero (the observables
depend on positions only; the epoch shifts are first order, their product with δv second order).
The troposphere's dependence on the spacecraft direction (through the elevation and the mapping
function) is differentiated too: ~1e-11 of a range or Doppler partial (metres over ~1e8 km), but the
ΔDOR partial is itself small (baseline over distance), and there it is 5e-6 of the partial at 10 deg
elevation (measured against central differences, tests/navigation/test_od.py). The estimator forms ``H = Σ_j D[:, j] @ S(bounce_j)``.

Simplifications: GCRS axes = BCRS axes (see ``participants``); no antenna offsets; no
ionosphere or solar plasma; no clock offsets between stations (three-way and ΔDOR assume
synchronised clocks).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Mapping

import numpy as np

from ..bodies import C_KM_S, GM_SUN
from ..errors import InputError, MmxsimError
from .data import KINDS
from .participants import add_epoch, ephemeris_state, fast_two_sum, state_dd, two_sum

__all__ = ["MeasurementSettings", "Computed", "LightTimeError", "compute", "light_time",
           "troposphere_zenith_m", "chao_mapping", "shapiro_km", "shapiro_gradient_km", "range_units",
           "doppler_to_hz", "hz_to_doppler", "TURNAROUND", "RU_FACTOR", "range_bias_columns", "elevation_mask",
           "check_elevation", "troposphere_residual_sigma"]

#: Transponder turnaround ratios (downlink/uplink). X/X 880/749 and X-up/Ka-down 3344/749 are the
#: standard deep-space ratios as commonly quoted (CCSDS 401.0-B / DSN 810-005 not read here):
#: UNCONFIRMED; keys (uplink band, downlink band). Override per call.
TURNAROUND = {("X", "X"): (880, 749), ("X", "Ka"): (3344, 749), ("S", "S"): (240, 221), ("S", "X"): (880, 221)}
#: DSN range-unit factor F: range in RU = F * f_uplink * (round-trip light time, s); S 1/2,
#: X 221/(749*2), Ka 221/(3599*2) as usually quoted from DSN 810-005 module 203: UNCONFIRMED.
RU_FACTOR = {"S": 0.5, "X": 221.0 / 1498.0, "Ka": 221.0 / 7198.0}


#: Below this elevation the mapping functions are evaluated at it (they are not meant for rays at or
#: below the horizon; such rows are dropped by the elevation mask, see :func:`elevation_mask`).
MIN_MAPPING_ELEVATION_DEG = 1.0


class LightTimeError(MmxsimError):
    """The light-time iteration did not converge."""


@dataclass
class MeasurementSettings:
    """Switches and parameters of the measurement model (see module doc)."""

    troposphere: bool = True
    shapiro: bool = True
    zenith_wet_m: float = 0.1  # typical; UNCONFIRMED as a default (nav-facts §3: a few cm to >= 25 cm)
    gamma: float = 1.0  # PPN gamma (general relativity)
    transponder_delay_s: float = 0.0  # spacecraft transponder group delay (parameter)
    two_part_epochs: bool = True  # False: naive float64 epochs and differencing (comparison only)
    light_time_tol_s: float = 1e-13
    max_iterations: int = 8

    def check(self):
        if not (np.isfinite(self.zenith_wet_m) and 0 <= self.zenith_wet_m < 2):
            raise InputError("settings.zenith_wet_m", self.zenith_wet_m, "0 <= zenith wet delay < 2 m")
        if not (np.isfinite(self.transponder_delay_s) and self.transponder_delay_s >= 0):
            raise InputError("settings.transponder_delay_s", self.transponder_delay_s, "a finite delay >= 0 s")
        if not (self.light_time_tol_s > 0 and int(self.max_iterations) >= 2):
            raise InputError("settings.light_time_tol_s/max_iterations", (self.light_time_tol_s, self.max_iterations),
                             "tol > 0 and at least 2 iterations")


@dataclass
class Computed:
    """Computed observables, one row per tracking-data row.

    ``value`` (m,) in the row's units (km, km/s, s); ``bounce_hi``, ``bounce_lo`` (m, 2) two-part
    bounce epochs (range: column 0 the two-way bounce, NaN in 1; Doppler: bounces of the paths
    ending at t - Tc (column 0) and t (column 1); ΔDOR: the emission, column 0, NaN in 1);
    ``d_value_d_state`` (m, 2, 6) partials w.r.t. the spacecraft state at each bounce (zero where
    the bounce is NaN); ``light_time`` (m, 2) s: (uplink, downlink) of the path ending at the tag,
    ΔDOR (τ receiver, τ station2); ``elevation_deg`` (m, 2): spacecraft elevation at (receiver at
    the tag, transmitter at transmission), ΔDOR (receiver, station2), NaN where a participant has no
    local vertical; ``corrections``: name -> (m,) the part of ``value`` due to each of
    ``troposphere``, ``shapiro`` and ``delay`` (equipment delays), in the value's units;
    ``mapping_wet`` (m, 4): wet mapping factors (transmitter, receiver at the tag; transmitter,
    receiver at t - Tc) for Doppler, (transmitter, receiver, NaN, NaN) for range,
    (receiver, station2, NaN, NaN) for ΔDOR; ``iterations``: most light-time steps taken.
    """

    value: np.ndarray
    bounce_hi: np.ndarray
    bounce_lo: np.ndarray
    d_value_d_state: np.ndarray
    light_time: np.ndarray
    elevation_deg: np.ndarray
    corrections: dict = field(default_factory=dict)
    mapping_wet: np.ndarray = None
    iterations: int = 0

    def select(self, rows) -> "Computed":
        """The rows ``rows`` (a boolean mask or indices) of every per-row array."""
        return Computed(value=self.value[rows], bounce_hi=self.bounce_hi[rows], bounce_lo=self.bounce_lo[rows],
                        d_value_d_state=self.d_value_d_state[rows], light_time=self.light_time[rows],
                        elevation_deg=self.elevation_deg[rows],
                        corrections={k: v[rows] for k, v in self.corrections.items()},
                        mapping_wet=None if self.mapping_wet is None else self.mapping_wet[rows],
                        iterations=self.iterations)


# ---------------------------------------------------------------------------------------------
# Media and relativity
# ---------------------------------------------------------------------------------------------
def troposphere_zenith_m(lat_rad, height_km, zenith_wet_m: float = 0.1):
    """(hydrostatic, wet) zenith delays, m: Saastamoinen with a standard atmosphere (module doc)."""
    h = np.asarray(height_km, float)
    p_hpa = 1013.25 * (1.0 - 2.2557e-5 * h * 1e3) ** 5.2568  # standard atmosphere [Berg 1948]
    zhd = 0.0022768 * p_hpa / (1.0 - 0.00266 * np.cos(2.0 * np.asarray(lat_rad, float)) - 0.00028 * h)  # [Davis 1985]
    return zhd, np.full(np.shape(zhd), float(zenith_wet_m))


def chao_mapping(elevation_rad):
    """(dry, wet) mapping factors of Chao (1974) at elevation(s) in rad (module doc)."""
    e = np.asarray(elevation_rad, float)
    s, c = np.sin(e), np.cos(e)
    dry = 1.0 / (s + 0.00143 * c / (s + 0.0445 * c))  # A/(tan E + B) written without tan E [Chao 1974]
    wet = 1.0 / (s + 0.00035 * c / (s + 0.017 * c))
    return dry, wet


def shapiro_km(x1, x2, sun, gamma: float = 1.0):
    """One-way Shapiro delay of the Sun between positions x1 and x2 (N, 3) km, as a distance (km)."""
    r1 = np.linalg.norm(x1 - sun, axis=-1)
    r2 = np.linalg.norm(x2 - sun, axis=-1)
    r12 = np.linalg.norm(x2 - x1, axis=-1)
    return (1.0 + gamma) * GM_SUN / C_KM_S**2 * np.log((r1 + r2 + r12) / (r1 + r2 - r12))  # [Moyer 2000 eq. 8-38]


def shapiro_gradient_km(x1, x2, sun, gamma: float = 1.0):
    """Gradients (N, 3) of :func:`shapiro_km` with respect to x1 and x2 (km/km): with
    A = r1 + r2 + r12, B = r1 + r2 - r12, S = K ln(A/B), dS = K (dA/A - dB/B)."""
    k = (1.0 + gamma) * GM_SUN / C_KM_S**2
    d1, d2, d12 = x1 - sun, x2 - sun, x2 - x1
    r1, r2, r12 = (np.linalg.norm(v, axis=-1)[:, None] for v in (d1, d2, d12))
    u1, u2, n = d1 / r1, d2 / r2, d12 / r12
    a, b = r1 + r2 + r12, r1 + r2 - r12
    return k * ((u1 - n) / a - (u1 + n) / b), k * ((u2 + n) / a - (u2 - n) / b)


# ---------------------------------------------------------------------------------------------
# Light time
# ---------------------------------------------------------------------------------------------
def _has_up(p) -> bool:
    f = getattr(p, "has_up", None)
    return bool(f()) if callable(f) else hasattr(p, "up")


@dataclass
class _Leg:
    tau: np.ndarray  # s
    t_hi: np.ndarray  # other participant's epoch
    t_lo: np.ndarray
    r_hi: np.ndarray  # other - known, km (double-double)
    r_lo: np.ndarray
    dist: np.ndarray  # |r| km
    shapiro: np.ndarray  # km
    v_known: np.ndarray
    v_other: np.ndarray
    iterations: int
    grad_known: np.ndarray = None  # d(leg length)/d(known position): -n + Shapiro gradient
    grad_other: np.ndarray = None  # d(leg length)/d(other position): n + Shapiro gradient
    other_state: tuple = None  # (pos_hi, pos_lo, vel) of the other participant at (t_hi, t_lo)


def _leg(known, t_hi, t_lo, other, sign: int, settings: MeasurementSettings, eph, known_state=None) -> _Leg:
    """Light time between ``known`` at ``t_hi + t_lo`` and ``other`` at ``t ± τ`` (sign -1: other
    emitted earlier; +1: other receives later). ``known_state``: ``known``'s ``state_dd`` at those
    epochs when the caller has it (the previous leg's ``other_state``: the same numbers)."""
    naive = not settings.two_part_epochs
    a_hi, a_lo, va = state_dd(known, t_hi, t_lo) if known_state is None else known_state
    if naive:
        a_hi, a_lo = a_hi + a_lo, np.zeros_like(a_lo)
    sun = np.atleast_2d(ephemeris_state(eph, "SUN", "SSB", t_hi))[:, :3] if settings.shapiro else None
    b_hi, b_lo, vb = state_dd(other, t_hi, t_lo)
    tau = np.linalg.norm(b_hi - a_hi, axis=1) / C_KM_S
    for k in range(1, int(settings.max_iterations) + 1):
        if naive:
            eh, el = t_hi + t_lo + sign * tau, np.zeros_like(tau)
        else:
            eh, el = add_epoch(t_hi, t_lo, sign * tau)
        b_hi, b_lo, vb = state_dd(other, eh, el)
        if naive:
            b_hi, b_lo = b_hi + b_lo, np.zeros_like(b_lo)
        s, e = two_sum(b_hi, -a_hi)
        r_hi, r_lo = fast_two_sum(s, e + (b_lo - a_lo))
        d = np.linalg.norm(r_hi, axis=1)
        n = r_hi / d[:, None]
        d = d + np.einsum("ij,ij->i", n, r_lo)
        sh = shapiro_km(a_hi, b_hi, sun, settings.gamma) if sun is not None else np.zeros_like(d)
        step = (tau - (d + sh) / C_KM_S) / (1.0 - sign * np.einsum("ij,ij->i", n, vb) / C_KM_S)
        tol = np.maximum(settings.light_time_tol_s, 4.0 * np.spacing(tau))
        if np.all(np.abs(step) <= tol):
            ga, gb = -n, n.copy()
            if sun is not None:
                sa, sb = shapiro_gradient_km(a_hi, b_hi, sun, settings.gamma)
                ga, gb = ga + sa, gb + sb
            return _Leg(tau, eh, el, r_hi, r_lo, d, sh, va, vb, k, ga, gb, (b_hi, b_lo, vb))
        tau = tau - step
    raise LightTimeError(f"light time between {getattr(known, 'name', '?')} and {getattr(other, 'name', '?')} "
                         f"did not converge in {settings.max_iterations} iterations (last step "
                         f"{np.max(np.abs(step)):.3g} s)")


def light_time(spacecraft, station, t, t_lo=None, mode: str = "receive", settings: MeasurementSettings | None = None,
               ephemeris=None):
    """One-way light time (s) and the spacecraft's two-part epoch.

    ``mode="receive"``: the station receives at ``t + t_lo`` what the spacecraft emitted at
    ``t - τ`` (SPICE 'CN'); ``"transmit"``: the station emits at ``t`` and the spacecraft receives at
    ``t + τ`` (SPICE 'XCN'). Returns ``(tau, (sc_hi, sc_lo))``.
    """
    settings = settings or MeasurementSettings(troposphere=False, shapiro=ephemeris is not None)
    t = np.atleast_1d(np.asarray(t, float))
    lo = np.zeros_like(t) if t_lo is None else np.broadcast_to(np.asarray(t_lo, float), t.shape)
    if mode not in ("receive", "transmit"):
        raise InputError("mode", mode, "receive or transmit")
    leg = _leg(station, t, lo, spacecraft, -1 if mode == "receive" else +1, settings, ephemeris)
    return (leg.dist + leg.shapiro) / C_KM_S, (leg.t_hi, leg.t_lo)


# ---------------------------------------------------------------------------------------------
# Paths
# ---------------------------------------------------------------------------------------------
def _elev(p, t, direction):
    if not _has_up(p):
        return np.full(len(direction), np.nan)
    u = p.up(t)
    return np.degrees(np.arcsin(np.clip(np.einsum("ij,ij->i", u, direction), -1, 1)))


def _tropo(p, t, elev_deg, settings):
    """Troposphere delay on one leg (km) and the wet mapping factor."""
    if not settings.troposphere:
        return np.zeros(len(elev_deg)), np.full(len(elev_deg), np.nan)
    if not _has_up(p):
        raise InputError(f"station {getattr(p, 'name', '?')}", "no local vertical",
                         "a participant with up(t) and geodetic(t) when settings.troposphere is on")
    lat, h = p.geodetic(t)
    zh, zw = troposphere_zenith_m(lat, h, settings.zenith_wet_m)
    md, mw = chao_mapping(np.radians(np.maximum(elev_deg, MIN_MAPPING_ELEVATION_DEG)))
    return (zh * md + zw * mw) * 1e-3, mw


def _tropo_gradient(p, t, direction, dist, elev_deg, settings):
    """(N, 3) derivative of one leg's troposphere delay (km) with respect to the spacecraft position
    (km/km), through the elevation: ``dT/de = zh dm_d/de + zw dm_w/de`` with Chao's ``m = 1/f``,
    ``f = sin e + A cos e / (sin e + B cos e)``, ``dm/de = -m^2 (cos e - A / (sin e + B cos e)^2)``, and
    ``de/dr = (u - (u.n) n) / (|r| cos e)`` (``u`` the local vertical, ``n`` the unit vector station ->
    spacecraft). Zero below the mapping's floor elevation, where the delay is held constant.
    Negligible for range and Doppler (1e-11 of their partials) but 5e-6 of a ΔDOR partial at 10 deg
    (measured in tests/navigation/test_od.py)."""
    if not settings.troposphere or not _has_up(p):
        return np.zeros((len(elev_deg), 3))
    lat, h = p.geodetic(t)
    zh, zw = troposphere_zenith_m(lat, h, settings.zenith_wet_m)
    e = np.radians(elev_deg)
    s, c = np.sin(e), np.cos(e)

    def dm(a, b):
        g = s + b * c
        f = s + a * c / g
        return -(c - a / g ** 2) / f ** 2

    dtde = (zh * dm(0.00143, 0.0445) + zw * dm(0.00035, 0.017)) * 1e-3
    dtde = np.where(elev_deg > MIN_MAPPING_ELEVATION_DEG, dtde, 0.0)
    u = p.up(t)
    dedr = (u - _dot(u, direction)[:, None] * direction) / (dist * c)[:, None]
    return dtde[:, None] * dedr


def _unit(v):
    return v / np.linalg.norm(v, axis=1)[:, None]


def _dot(a, b):
    return np.einsum("ij,ij->i", a, b)


def _two_way(sc, rx, tx, t_hi, t_lo, settings, eph):
    """Path ending at the receiver at t: downlink then uplink. Returns a dict of arrays."""
    c = C_KM_S
    down = _leg(rx, t_hi, t_lo, sc, -1, settings, eph)  # other = spacecraft at the bounce
    up = _leg(sc, down.t_hi, down.t_lo, tx, -1, settings, eph, down.other_state)  # other = transmitter at t_t
    n_d = _unit(down.r_hi)  # receiver -> spacecraft
    n_u = -_unit(up.r_hi)  # transmitter -> spacecraft
    v_sc, v_tx = down.v_other, up.v_other
    # leg-length gradients (geometric unit vectors plus the Shapiro gradient where it is on)
    a_d, a_usc, a_utx = down.grad_other, up.grad_known, up.grad_other
    g_d = a_d / (c + _dot(a_d, v_sc))[:, None]  # d tau_d / d r
    g_u = (a_usc - (_dot(a_usc, v_sc) + _dot(a_utx, v_tx))[:, None] * g_d) / (c + _dot(a_utx, v_tx))[:, None]
    el_rx = _elev(rx, t_hi, n_d)
    el_tx = _elev(tx, up.t_hi, n_u)
    tr_rx, mw_rx = _tropo(rx, t_hi, el_rx, settings)
    tr_tx, mw_tx = _tropo(tx, up.t_hi, el_tx, settings)
    dtr = (_tropo_gradient(rx, t_hi, n_d, down.dist, el_rx, settings)
           + _tropo_gradient(tx, up.t_hi, n_u, up.dist, el_tx, settings))
    return dict(down=down, up=up, drho=0.5 * c * (g_u + g_d) + 0.5 * dtr, el=(el_rx, el_tx),
                tropo=0.5 * (tr_rx + tr_tx), shapiro=0.5 * (down.shapiro + up.shapiro), geo=0.5 * (down.dist + up.dist), mw=(mw_tx, mw_rx),
                it=max(down.iterations, up.iterations))


def _ddist(l1: _Leg, l0: _Leg):
    """|r1| - |r0| from the double-double vectors, without differencing the two big norms."""
    dr = (l1.r_hi - l0.r_hi) + (l1.r_lo - l0.r_lo)
    sr = (l1.r_hi + l0.r_hi) + (l1.r_lo + l0.r_lo)
    return _dot(dr, sr) / (l1.dist + l0.dist)


def _delay(p):
    return float(getattr(p, "delay_s", 0.0))


def _count_start(data, idx, settings):
    """Two-part epochs of the count starts ``t - Tc`` of Doppler rows ``idx`` (as :func:`compute` forms them)."""
    t_hi, t_lo = data.t[idx].astype(float), data.t_lo[idx].astype(float)
    if not settings.two_part_epochs:
        t_hi, t_lo = t_hi + t_lo, np.zeros_like(t_lo)
    s_hi, s_lo = add_epoch(t_hi, t_lo, -data.count_time[idx])
    if not settings.two_part_epochs:
        s_hi, s_lo = s_hi + s_lo, np.zeros_like(s_lo)
    return s_hi, s_lo


def _take_leg(leg: _Leg, i) -> _Leg:
    def take(v):
        if isinstance(v, np.ndarray):
            return v[i]
        return tuple(take(a) for a in v) if isinstance(v, tuple) else v

    return _Leg(*(take(getattr(leg, f.name)) for f in fields(_Leg)))


def _take_path(path: dict, i) -> dict:
    out = {}
    for k, v in path.items():
        if isinstance(v, _Leg):
            out[k] = _take_leg(v, i)
        elif isinstance(v, tuple):
            out[k] = tuple(a[i] for a in v)
        elif isinstance(v, np.ndarray):
            out[k] = v[i]
        else:
            out[k] = v
    return out


def _shared_paths(data, keys, spacecraft, stations, settings, eph) -> dict:
    """``{(key, "tag" | "start"): path}``: the two-way paths (:func:`_two_way`) of the range and
    Doppler rows of each key of :func:`compute` ending at the tags and, for Doppler, at the count
    starts ``t - Tc``, each (receiver, transmitter) pair's solved ONCE for every distinct two-part
    epoch: a Doppler count that starts at the previous row's tag (60 s counts every 60 s) and a
    range point at a Doppler tag are the same path. Each element of the light-time solution is
    computed alone (elementwise arithmetic), so the values are those of one path per row, to the
    light-time tolerance: the number of Newton steps, taken until the slowest element of the batch
    has converged (each extra one below the tolerance), depends on the batch, as it did per key
    (tests/navigation/test_measurements.py: every row against its computation alone)."""
    need: dict = {}
    for key in dict.fromkeys(keys):
        kind, rname, tname, _ = key.split("|")
        if kind not in ("range", "doppler"):
            continue
        idx = np.flatnonzero(keys == key)
        t_hi, t_lo = data.t[idx].astype(float), data.t_lo[idx].astype(float)
        if not settings.two_part_epochs:
            t_hi, t_lo = t_hi + t_lo, np.zeros_like(t_lo)
        need.setdefault((rname, tname), []).append(((key, "tag"), t_hi, t_lo))
        if kind == "doppler":
            need[(rname, tname)].append(((key, "start"), *_count_start(data, idx, settings)))
    out = {}
    for (rname, tname), parts in need.items():
        hi = np.concatenate([a for _, a, _ in parts])
        lo = np.concatenate([b for _, _, b in parts])
        lo = np.where(lo == 0.0, 0.0, lo)  # -0.0 and 0.0 are one epoch
        order = np.lexsort((lo, hi))
        new = np.ones(len(hi), bool)
        new[1:] = (hi[order][1:] != hi[order][:-1]) | (lo[order][1:] != lo[order][:-1])
        first = order[new]
        inv = np.empty(len(hi), int)
        inv[order] = np.cumsum(new) - 1
        p = _two_way(spacecraft, stations[rname], stations[tname], hi[first], lo[first], settings, eph)
        k = 0
        for name, a, _ in parts:
            out[name] = _take_path(p, inv[k: k + len(a)])
            k += len(a)
    return out


def compute(data, spacecraft, stations: Mapping[str, object], settings: MeasurementSettings | None = None,
            ephemeris=None) -> Computed:
    """Computed values, bounce epochs, partials, light times, elevations and corrections of every
    row of ``data`` (a :class:`~mmxsim.navigation.data.TrackingData`). ``spacecraft`` and the
    ``stations`` values are light-time participants; ``ephemeris`` gives ``state("SUN", "SSB", t)``
    (needed when ``settings.shapiro``)."""
    settings = settings or MeasurementSettings()
    settings.check()
    if settings.shapiro and ephemeris is None:
        raise InputError("ephemeris", None, "an ephemeris with the Sun when settings.shapiro is on")
    m = len(data)
    for i, k in enumerate(data.kind):
        if k not in KINDS:
            raise InputError(f"tracking data kind (row {i})", k, ", ".join(KINDS))
    for col in ("receiver", "transmitter", "station2"):
        for i, s in enumerate(getattr(data, col)):
            if (col != "station2" or data.kind[i] == "ddor") and s not in stations:
                raise InputError(f"tracking data {col} (row {i})", s,
                                 "a station given in stations: " + ", ".join(sorted(stations)))
    nan2 = np.full((m, 2), np.nan)
    out = Computed(value=np.full(m, np.nan), bounce_hi=nan2.copy(), bounce_lo=nan2.copy(),
                   d_value_d_state=np.zeros((m, 2, 6)), light_time=nan2.copy(), elevation_deg=nan2.copy(),
                   corrections={k: np.zeros(m) for k in ("troposphere", "shapiro", "delay")},
                   mapping_wet=np.full((m, 4), np.nan))
    c = C_KM_S
    keys = np.array([f"{k}|{r}|{t}|{s if k == 'ddor' else ''}" for k, r, t, s in
                     zip(data.kind, data.receiver, data.transmitter, data.station2)], dtype=object)
    paths = _shared_paths(data, keys, spacecraft, stations, settings, ephemeris)
    for key in dict.fromkeys(keys):
        idx = np.flatnonzero(keys == key)
        kind, rname, tname, sname = key.split("|")
        rx, tx = stations[rname], stations[tname]
        t_hi, t_lo = data.t[idx].astype(float), data.t_lo[idx].astype(float)
        if not settings.two_part_epochs:
            t_hi, t_lo = t_hi + t_lo, np.zeros_like(t_lo)
        if kind in ("range", "doppler"):
            p1 = paths[(key, "tag")]
            delay = 0.5 * c * (_delay(rx) + _delay(tx) + settings.transponder_delay_s)
            out.light_time[idx] = np.stack([p1["up"].tau, p1["down"].tau], axis=1)
            out.elevation_deg[idx] = np.stack(p1["el"], axis=1)
            out.iterations = max(out.iterations, p1["it"])
            if kind == "range":
                out.value[idx] = p1["geo"] + p1["shapiro"] + p1["tropo"] + delay
                out.bounce_hi[idx, 0], out.bounce_lo[idx, 0] = p1["down"].t_hi, p1["down"].t_lo
                out.d_value_d_state[idx, 0, :3] = p1["drho"]
                out.corrections["troposphere"][idx] = p1["tropo"]
                out.corrections["shapiro"][idx] = p1["shapiro"]
                out.corrections["delay"][idx] = delay
                out.mapping_wet[idx, 0], out.mapping_wet[idx, 1] = p1["mw"]
            else:
                tc = data.count_time[idx]
                p0 = paths[(key, "start")]
                out.iterations = max(out.iterations, p0["it"])
                if settings.two_part_epochs:
                    dgeo = 0.5 * (_ddist(p1["down"], p0["down"]) + _ddist(p1["up"], p0["up"]))
                else:
                    dgeo = p1["geo"] - p0["geo"]  # naive: two ~3e8 km numbers differenced
                dsh = p1["shapiro"] - p0["shapiro"]
                dtr = p1["tropo"] - p0["tropo"]
                out.value[idx] = (dgeo + dsh + dtr) / tc
                out.bounce_hi[idx, 0], out.bounce_lo[idx, 0] = p0["down"].t_hi, p0["down"].t_lo
                out.bounce_hi[idx, 1], out.bounce_lo[idx, 1] = p1["down"].t_hi, p1["down"].t_lo
                out.d_value_d_state[idx, 0, :3] = -p0["drho"] / tc[:, None]
                out.d_value_d_state[idx, 1, :3] = p1["drho"] / tc[:, None]
                out.corrections["troposphere"][idx] = dtr / tc
                out.corrections["shapiro"][idx] = dsh / tc
                out.mapping_wet[idx] = np.stack([*p1["mw"], *p0["mw"]], axis=1)
        else:  # ddor
            r2 = stations[sname]
            l1 = _leg(rx, t_hi, t_lo, spacecraft, -1, settings, ephemeris)  # emission at t - tau1
            l2 = _leg(spacecraft, l1.t_hi, l1.t_lo, r2, +1, settings, ephemeris,
                      l1.other_state)  # reaches station2 at t_e + tau2
            n1 = _unit(l1.r_hi)  # receiver -> spacecraft
            n2 = _unit(l2.r_hi)  # spacecraft -> station2
            v_sc, v_r2 = l1.v_other, l2.v_other
            a1, a2s, a2r = l1.grad_other, l2.grad_known, l2.grad_other
            g1 = a1 / (c + _dot(a1, v_sc))[:, None]
            g2 = (a2s - (_dot(a2s, v_sc) + _dot(a2r, v_r2))[:, None] * g1) / (c - _dot(a2r, v_r2))[:, None]
            tau1, tau2 = (l1.dist + l1.shapiro) / c, (l2.dist + l2.shapiro) / c
            el1, el2 = _elev(rx, t_hi, n1), _elev(r2, l2.t_hi, -n2)
            tr1, mw1 = _tropo(rx, t_hi, el1, settings)
            tr2, mw2 = _tropo(r2, l2.t_hi, el2, settings)
            delay = _delay(rx) - _delay(r2)
            # |r1| - |r2| as (r1 + r2)·(r1 - r2) / (|r1| + |r2|): r1 + r2 is the baseline (small, from
            # the double-double vectors), so the two ~3e8 km distances are never differenced
            base = (l1.r_hi + l2.r_hi) + (l1.r_lo + l2.r_lo)
            geo = _dot(base, (l1.r_hi - l2.r_hi) + (l1.r_lo - l2.r_lo)) / (l1.dist + l2.dist) / c
            out.value[idx] = geo + (l1.shapiro - l2.shapiro) / c + (tr1 - tr2) / c + delay
            out.bounce_hi[idx, 0], out.bounce_lo[idx, 0] = l1.t_hi, l1.t_lo
            dtr = (_tropo_gradient(rx, t_hi, n1, l1.dist, el1, settings)
                   - _tropo_gradient(r2, l2.t_hi, -n2, l2.dist, el2, settings))
            out.d_value_d_state[idx, 0, :3] = g1 - g2 + dtr / c
            out.light_time[idx] = np.stack([tau1, tau2], axis=1)
            out.elevation_deg[idx] = np.stack([el1, el2], axis=1)
            out.corrections["troposphere"][idx] = (tr1 - tr2) / c
            out.corrections["shapiro"][idx] = (l1.shapiro - l2.shapiro) / c
            out.corrections["delay"][idx] = delay
            out.mapping_wet[idx, 0], out.mapping_wet[idx, 1] = mw1, mw2
            out.iterations = max(out.iterations, l1.iterations, l2.iterations)
    return out


# ---------------------------------------------------------------------------------------------
# Units, biases, masks, noise
# ---------------------------------------------------------------------------------------------
def range_units(range_km, uplink_freq_hz, band: str = "X", ru_factor: float | None = None):
    """Range (one-way equivalent km) in DSN range units: ``F f_up (2 ρ / c)``; F from
    :data:`RU_FACTOR` (UNCONFIRMED) unless ``ru_factor`` is given."""
    if ru_factor is None:
        if band not in RU_FACTOR:
            raise InputError("band", band, ", ".join(RU_FACTOR))
        ru_factor = RU_FACTOR[band]
    if not np.all(np.asarray(uplink_freq_hz) > 0):
        raise InputError("uplink_freq_hz", uplink_freq_hz, "> 0 Hz")
    return ru_factor * np.asarray(uplink_freq_hz) * 2.0 * np.asarray(range_km) / C_KM_S


def _ratio(bands, turnaround):
    if turnaround is not None:
        num, den = turnaround
    else:
        if tuple(bands) not in TURNAROUND:
            raise InputError("bands", bands, ", ".join(f"{u}/{d}" for u, d in TURNAROUND))
        num, den = TURNAROUND[tuple(bands)]
    if not (num > 0 and den > 0):
        raise InputError("turnaround", (num, den), "positive numerator and denominator")
    return num / den


def doppler_to_hz(range_rate_km_s, uplink_freq_hz, bands=("X", "X"), turnaround=None):
    """Two-way Doppler shift (Hz, positive receding: ``M f_up - f_received``) of a mean range rate:
    ``2 M f_up ρ̇ / c`` (first order in ρ̇/c; the range rate here is one-way equivalent)."""
    return 2.0 * _ratio(bands, turnaround) * np.asarray(uplink_freq_hz) * np.asarray(range_rate_km_s) / C_KM_S


def hz_to_doppler(doppler_hz, uplink_freq_hz, bands=("X", "X"), turnaround=None):
    """Inverse of :func:`doppler_to_hz` (km/s)."""
    return np.asarray(doppler_hz) * C_KM_S / (2.0 * _ratio(bands, turnaround) * np.asarray(uplink_freq_hz))


def range_bias_columns(data, per: str = "station"):
    """``(labels, A)``: the partial (1) of range rows w.r.t. one additive bias (km) per receiving
    station (``per="station"``) or per (station, pass) (``"pass"``); other rows get 0."""
    if per not in ("station", "pass"):
        raise InputError("per", per, "station or pass")
    rows = np.flatnonzero(data.kind == "range")
    labels = []
    for i in rows:
        lab = data.receiver[i] if per == "station" else f"{data.receiver[i]}#{int(data.pass_id[i])}"
        if lab not in labels:
            labels.append(lab)
    a = np.zeros((len(data), len(labels)))
    for i in rows:
        lab = data.receiver[i] if per == "station" else f"{data.receiver[i]}#{int(data.pass_id[i])}"
        a[i, labels.index(lab)] = 1.0
    return labels, a


def elevation_mask(computed: Computed, mask_deg=10.0) -> np.ndarray:
    """True for rows whose spacecraft elevations (receiver, and transmitter or station2) are all at
    or above ``mask_deg`` (rows without a local vertical are kept). ``mask_deg``: a number, one per
    row (m,), or one per row and station (m, 2) in the order of ``elevation_deg``."""
    e = computed.elevation_deg
    mask = np.asarray(mask_deg, dtype=float)
    if mask.ndim == 1:
        mask = mask[:, None]
    if mask.ndim > 2 or (mask.ndim and mask.shape[0] not in (1, len(e))) or not np.all(np.isfinite(mask)):
        raise InputError("mask_deg", mask_deg, "finite degrees: a number, (m,) or (m, 2)")
    return ~np.any(np.where(np.isnan(e), np.inf, e) < mask, axis=1)


def check_elevation(computed: Computed, mask_deg=10.0) -> None:
    """InputError naming the first row below the elevation mask."""
    bad = np.flatnonzero(~elevation_mask(computed, mask_deg))
    if len(bad):
        i = int(bad[0])
        raise InputError(f"tracking data row {i} (and {len(bad) - 1} more)",
                         f"elevation {np.nanmin(computed.elevation_deg[i]):.2f} deg",
                         f"a spacecraft elevation >= {mask_deg} deg at every station of the row")


def troposphere_residual_sigma(data, computed: Computed, zenith_residual_m: float) -> np.ndarray:
    """Per-row 1-sigma (value units) of the troposphere left after calibration, a zenith residual
    (m) times the wet mapping factors: range ``z (m_tx + m_rx) / 2``; Doppler the change of that over
    the count interval over Tc; ΔDOR ``z sqrt(m1^2 + m2^2) / c`` (independent sites). Needs the
    troposphere on (mapping factors); the simulator adds it in quadrature to the noise."""
    if not (np.isfinite(zenith_residual_m) and zenith_residual_m >= 0):
        raise InputError("zenith_residual_m", zenith_residual_m, "a finite residual >= 0 m")
    z = zenith_residual_m * 1e-3
    m = computed.mapping_wet
    out = np.zeros(len(data))
    rng = data.kind == "range"
    dop = data.kind == "doppler"
    ddr = data.kind == "ddor"
    out[rng] = z * (m[rng, 0] + m[rng, 1]) / 2
    out[dop] = z * np.abs(m[dop, 0] + m[dop, 1] - m[dop, 2] - m[dop, 3]) / (2 * data.count_time[dop])
    out[ddr] = z * np.hypot(m[ddr, 0], m[ddr, 1]) / C_KM_S
    if np.any(np.isnan(out)):
        raise InputError("computed.mapping_wet", "NaN", "values computed with settings.troposphere on")
    return out
