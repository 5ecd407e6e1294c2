"""Earth atmosphere models for capsule entry: density, temperature, speed of sound, winds.

Three models share one small interface (``density(h_km) -> kg/m^3``, ``temperature(h_km) -> K``,
``sound_speed(h_km) -> m/s``, all vectorised over geodetic altitude in km):

* :class:`USSA76` -- the U.S. Standard Atmosphere 1976 [USSA76], the **default**. Below 86 km it is
  the standard's closed form (seven geopotential layers with constant lapse rate, hydrostatic,
  ideal gas, sea-level 101 325 Pa / 288.15 K). Between 86 and 1000 km the standard is defined
  by a diffusive-species integration; here its *tabulated* density and kinetic temperature
  (Table I of [USSA76], at the altitudes in ``_USSA76_UPPER``) are interpolated (log-linear in
  density). Simplification: the upper table is sampled every 5-50 km, so densities between
  table points carry an interpolation error of a few per cent; that region (> 86 km) carries
  less than 1 % of the capsule's deceleration.
* :class:`MSIS` -- NRLMSIS 2.0/2.1 through the optional ``pymsis`` package, evaluated once on an
  altitude column at one place and time (the entry region) and then interpolated; horizontal
  variation along the ~2000 km entry track is neglected (simplification). Solar/geomagnetic
  indices (F10.7, F10.7a, Ap) must be passed explicitly: pymsis then never downloads anything.
  ``pymsis`` itself is MIT-licensed, but the MSIS 2 Fortran code it wraps is NRL's, not for
  commercial use without NRL's permission; therefore it is **optional** and never imported
  unless this class is used.
* :class:`ExponentialAtmosphere` -- rho0 exp(-h/H), for analytic checks (Allen-Eggers).

Every model takes ``density_scale`` (a multiplicative factor, used by the Monte Carlo
dispersions). Winds are a separate :class:`WindProfile` (east/north components vs altitude).

Citation keys: [USSA76] NOAA/NASA/USAF, "U.S. Standard Atmosphere, 1976", NOAA-S/T 76-1562
(constants, Table 4 layer base values, Table I upper densities); [MSIS20] Emmert et al. (2021),
"NRLMSIS 2.0", Earth and Space Science 8, e2020EA001321. These two references are standard
public documents not yet listed in the shared facts sheets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError

# --- U.S. Standard Atmosphere 1976 constants [USSA76] ---------------------------------------
G0 = 9.80665  # m/s^2, standard gravity [USSA76]
R_AIR = 287.0528  # J/(kg K), R*/M0 = 8314.32/28.9644 [USSA76]
GAMMA_AIR = 1.4  # ratio of specific heats [USSA76]
R_EARTH_GEOPOT = 6356.766  # km, radius used for geopotential altitude [USSA76]
P0 = 101325.0  # Pa [USSA76]
T0 = 288.15  # K [USSA76]
# layer bases: geopotential altitude (km') and lapse rate (K/km') [USSA76, Table 4]
_HB = np.array([0.0, 11.0, 20.0, 32.0, 47.0, 51.0, 71.0, 84.8520])
_LB = np.array([-6.5, 0.0, 1.0, 2.8, 0.0, -2.8, -2.0, 0.0])

# Upper atmosphere, geometric altitude km -> (kinetic temperature K, density kg/m^3) [USSA76, Table I]
_USSA76_UPPER = np.array([
    [86.0, 186.87, 6.958e-6],
    [90.0, 186.87, 3.416e-6],
    [95.0, 188.42, 1.393e-6],
    [100.0, 195.08, 5.604e-7],
    [105.0, 208.84, 2.325e-7],
    [110.0, 240.00, 9.708e-8],
    [115.0, 300.00, 4.289e-8],
    [120.0, 360.00, 2.222e-8],
    [130.0, 469.27, 8.152e-9],
    [140.0, 559.63, 3.831e-9],
    [150.0, 634.39, 2.076e-9],
    [160.0, 696.29, 1.233e-9],
    [180.0, 790.07, 5.194e-10],
    [200.0, 854.56, 2.541e-10],
    [250.0, 941.33, 6.073e-11],
    [300.0, 976.01, 1.916e-11],
    [400.0, 995.83, 2.803e-12],
    [500.0, 999.24, 5.215e-13],
    [600.0, 999.85, 1.137e-13],
    [800.0, 999.99, 1.136e-14],
    [1000.0, 1000.0, 3.561e-15],
])


def _layer_base_values():
    """Temperature and pressure at each layer base from the closed forms (hydrostatic, ideal gas)."""
    tb = [T0]
    pb = [P0]
    for i in range(len(_HB) - 1):
        dh = _HB[i + 1] - _HB[i]
        t_next = tb[i] + _LB[i] * dh
        if _LB[i] == 0.0:
            p_next = pb[i] * math.exp(-G0 * dh * 1000.0 / (R_AIR * tb[i]))
        else:
            p_next = pb[i] * (tb[i] / t_next) ** (G0 / (R_AIR * _LB[i] / 1000.0))
        tb.append(t_next)
        pb.append(p_next)
    return np.array(tb), np.array(pb)


_TB, _PB = _layer_base_values()


def _check_scale(value):
    if not (np.isfinite(value) and value >= 0.0):
        raise InputError("density_scale", value, "a finite number >= 0 (1 = nominal)")
    return float(value)


@dataclass
class USSA76:
    """U.S. Standard Atmosphere 1976 [USSA76] (no dependency; the default model).

    Below 86 km: exact closed forms of the standard. 86-1000 km: the standard's Table I,
    interpolated (log-linear density, linear temperature). Above 1000 km density is 0.
    Negative altitudes (down to -5 km) use the first layer's closed form.
    """

    density_scale: float = 1.0

    def __post_init__(self):
        self.density_scale = _check_scale(self.density_scale)

    @staticmethod
    def _lower(h_km):
        """Temperature (K) and pressure (Pa) below 86 km geometric altitude, closed form."""
        hg = R_EARTH_GEOPOT * h_km / (R_EARTH_GEOPOT + h_km)  # geopotential altitude km'
        i = np.clip(np.searchsorted(_HB, hg, side="right") - 1, 0, len(_HB) - 1)
        lb, tb, pb, hb = _LB[i], _TB[i], _PB[i], _HB[i]
        t = tb + lb * (hg - hb)
        with np.errstate(divide="ignore", invalid="ignore"):
            p_iso = pb * np.exp(-G0 * (hg - hb) * 1000.0 / (R_AIR * tb))
            p_grad = pb * (tb / t) ** (G0 / (R_AIR * np.where(lb == 0.0, 1.0, lb) / 1000.0))
        p = np.where(lb == 0.0, p_iso, p_grad)
        return t, p

    def temperature(self, h_km):
        h = np.asarray(h_km, dtype=float)
        t_low, _ = self._lower(np.minimum(h, 86.0))
        t_up = np.interp(h, _USSA76_UPPER[:, 0], _USSA76_UPPER[:, 1])
        return np.where(h < 86.0, t_low, t_up)

    def density(self, h_km):
        h = np.asarray(h_km, dtype=float)
        t_low, p_low = self._lower(np.minimum(h, 86.0))
        rho_low = p_low / (R_AIR * t_low)
        log_up = np.interp(h, _USSA76_UPPER[:, 0], np.log(_USSA76_UPPER[:, 2]))
        rho = np.where(h < 86.0, rho_low, np.exp(log_up))
        return self.density_scale * np.where(h > 1000.0, 0.0, rho)

    def pressure(self, h_km):
        """Pressure below 86 km (Pa), closed form (used by the tests against the standard's table)."""
        return self._lower(np.minimum(np.asarray(h_km, dtype=float), 86.0))[1]

    def sound_speed(self, h_km):
        return np.sqrt(GAMMA_AIR * R_AIR * self.temperature(h_km))


@dataclass
class ExponentialAtmosphere:
    """rho = rho0 exp(-h/H); isothermal at ``temperature_k`` (for closed-form checks)."""

    rho0: float = 1.225  # kg/m^3
    scale_height_km: float = 7.2
    temperature_k: float = 250.0
    density_scale: float = 1.0

    def __post_init__(self):
        self.density_scale = _check_scale(self.density_scale)
        if not self.scale_height_km > 0:
            raise InputError("scale_height_km", self.scale_height_km, "> 0 km")

    def density(self, h_km):
        return self.density_scale * self.rho0 * np.exp(-np.asarray(h_km, dtype=float) / self.scale_height_km)

    def temperature(self, h_km):
        return np.full_like(np.asarray(h_km, dtype=float), self.temperature_k)

    def sound_speed(self, h_km):
        return np.sqrt(GAMMA_AIR * R_AIR * self.temperature(h_km))


@dataclass
class MSIS:
    """NRLMSIS 2.x column through the optional ``pymsis`` package [MSIS20].

    Parameters
    ----------
    epoch_utc : str or numpy.datetime64
        Date and time (UTC) of the entry.
    lat_deg, lon_deg : float
        Where the column is evaluated (the entry region; horizontal variation is neglected).
    f107, f107a, ap : float
        Daily F10.7, 81-day mean F10.7 (sfu) and daily Ap. Passed explicitly so pymsis never
        fetches space-weather files. Defaults are quiet-Sun values (ASSUMPTION).
    version : float
        MSIS version for pymsis (2.0 or 2.1).
    """

    epoch_utc: object = "2020-12-05T17:28"
    lat_deg: float = -29.0
    lon_deg: float = 135.0
    f107: float = 80.0
    f107a: float = 80.0
    ap: float = 4.0
    version: float = 2.0
    density_scale: float = 1.0
    _h: np.ndarray = field(init=False, repr=False)
    _lrho: np.ndarray = field(init=False, repr=False)
    _t: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        self.density_scale = _check_scale(self.density_scale)
        try:
            import pymsis  # optional; NRL MSIS2 licence terms apply (see module docstring)
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "atmosphere 'msis' needs the optional package pymsis (pip install pymsis); "
                "the default USSA76 atmosphere needs nothing"
            ) from exc
        for name in ("f107", "f107a", "ap"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v >= 0):
                raise InputError(name, v, "a finite index >= 0")
        self._h = np.concatenate([np.arange(-1.0, 150.0, 1.0), np.arange(150.0, 1001.0, 10.0)])
        out = pymsis.calculate(
            np.datetime64(self.epoch_utc), self.lon_deg, self.lat_deg, self._h,
            f107s=[self.f107], f107as=[self.f107a], aps=[[self.ap] * 7], version=self.version,
        )
        out = np.asarray(out).reshape(-1, out.shape[-1])
        self._lrho = np.log(out[:, 0])
        self._t = out[:, 10]

    def density(self, h_km):
        h = np.asarray(h_km, dtype=float)
        return self.density_scale * np.exp(np.interp(h, self._h, self._lrho))

    def temperature(self, h_km):
        return np.interp(np.asarray(h_km, dtype=float), self._h, self._t)

    def sound_speed(self, h_km):
        return np.sqrt(GAMMA_AIR * R_AIR * self.temperature(h_km))


@dataclass
class WindProfile:
    """Horizontal wind (m/s, toward east and toward north) vs geodetic altitude (km), linear.

    Outside the given altitudes the end values hold. The default is calm air. Winds are
    parameters of a run (no climatology is built in).
    """

    altitude_km: tuple = (0.0,)
    east_ms: tuple = (0.0,)
    north_ms: tuple = (0.0,)

    def __post_init__(self):
        h = np.asarray(self.altitude_km, dtype=float)
        if not (len(h) == len(self.east_ms) == len(self.north_ms) and len(h) >= 1):
            raise InputError("winds", (len(h), len(self.east_ms), len(self.north_ms)),
                             "altitude_km, east_ms, north_ms of equal length >= 1")
        if len(h) > 1 and np.any(np.diff(h) <= 0):
            raise InputError("winds.altitude_km", self.altitude_km, "strictly increasing altitudes")

    @classmethod
    def constant(cls, east_ms: float = 0.0, north_ms: float = 0.0) -> "WindProfile":
        return cls((0.0,), (float(east_ms),), (float(north_ms),))

    def at(self, h_km: float) -> tuple[float, float]:
        h = self.altitude_km
        if len(h) == 1:
            return float(self.east_ms[0]), float(self.north_ms[0])
        if h_km <= h[0]:
            return float(self.east_ms[0]), float(self.north_ms[0])
        if h_km >= h[-1]:
            return float(self.east_ms[-1]), float(self.north_ms[-1])
        return (float(np.interp(h_km, h, self.east_ms)), float(np.interp(h_km, h, self.north_ms)))


def make_atmosphere(name: str = "ussa76", **kw):
    """Atmosphere by name: ``"ussa76"`` (default), ``"msis"`` (needs pymsis), ``"exponential"``."""
    table = {"ussa76": USSA76, "msis": MSIS, "exponential": ExponentialAtmosphere}
    if name not in table:
        raise InputError("atmosphere", name, "one of " + ", ".join(table))
    return table[name](**kw)
