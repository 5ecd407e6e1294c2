"""X- and Ka-band downlink budgets (layer 4).

The chain, in dB (all functions are vectorised over time samples)::

    EIRP       = P_tx[dBW] + G_sc[dBi] - L_circuit - L_pointing
    Pr/N0      = EIRP - L_fs(range, f) - A_atm(el, p) - L_other + G/T_eff - k[dBW/K/Hz]
    Eb/N0(R)   = Pr/N0 - L_mod - L_impl - 10 log10(R)
    margin(R)  = Eb/N0(R) - Eb/N0_req(code)
    rate       = max{R in rate table : margin(R) >= required margin}

* Free-space loss ``L_fs = 20 log10(4 pi d f / c)`` over the real range ``d``.
* Atmospheric attenuation (gases + clouds + rain + scintillation) from the ITU-R
  P-series recommendations at the station's location, elevation and the chosen weather
  availability, through the ``itur`` package (ITU-Rpy, MIT licence, ships its data, needs
  no network).  ``itur.atmospheric_attenuation_slant_path`` implements ITU-R P.618-13
  (rain, scintillation), P.676-11 (gases), P.840 (clouds).  ``p`` = 100 % - availability.
  ITU-R is slow per call, so the attenuation is computed once per
  (station location, frequency, availability, antenna diameter) on an elevation grid and
  interpolated (``A sin(el)`` is interpolated, it is nearly constant in elevation); the
  interpolation error is tested against direct calls.
* The attenuating atmosphere also radiates: the station's system temperature rises by
  ``T_m (1 - 10^(-A/10))`` with mean radiating temperature ``T_m = 275 K``
  (ITU-R P.618-13 §3.2 / P.372), which lowers G/T; this is applied on top of the
  station's clear-sky G/T (slightly conservative: the clear-sky G/T already contains the
  clear-sky part).

Parameters that are **not published** for MMX (spacecraft transmitter power, antenna
size and efficiency, losses) are scenario parameters with documented *assumed* defaults
(:func:`mmx_telecom_assumed`).  Ground-station G/T defaults come from the DSN
Telecommunications Link Design Handbook 810-005 (module 101 (70 m), 104 (34 m BWG)),
rounded; other agencies' stations are scaled assumptions.  The authoritative station
catalogue (coordinates, masks) is ``comms.stations`` (branch comms-geo); here a
:class:`GroundTerminal` is a plain input.

Sources
-------
- [SI]      BIPM SI Brochure 9th ed. (2019): k = 1.380649e-23 J/K exactly; c exact.
- [P618]    ITU-R P.618-13 (2017) via ``itur`` 0.4 (I. del Portillo, ITU-Rpy).
- [810-005] JPL DSN Telecommunications Link Design Handbook 810-005, module 101 rev. and
            104 rev. (34-m BWG): X-band (8.42 GHz) gain ~68.2 dBi, T_op ~ 20-30 K at
            zenith -> G/T ~ 53.5 dB/K; Ka (32 GHz) gain ~78.5-79 dBi, T_op ~ 30-40 K
            (clear sky) -> G/T ~ 60 dB/K (rounded, assumed); 70 m X-band G/T ~ 60.5 dB/K.
- [130.1-G] CCSDS 130.1-G-2, TM Synchronization and Channel Coding - Summary of Concept
            and Rationale (Green Book, 2012): turbo (Fig. 7-9, k = 8920 bits), LDPC
            (Sec. 8), conv. + RS (Sec. 6) performance curves; values read from figures,
            about +-0.2 dB.  The codes themselves: CCSDS 131.0-B-4 (Blue Book).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from ..bodies import C_KM_S
from ..errors import InputError
from . import _cache
from .types import Pass

__all__ = [
    "BOLTZMANN_DBW_PER_K_HZ", "T_MEAN_RADIATING_K", "BANDS", "BandTelecom", "SpacecraftTelecom",
    "GroundTerminal", "Code", "CODES", "RATE_TABLE_BPS", "mmx_telecom_assumed", "ground_terminal",
    "TERMINAL_PRESETS", "free_space_loss_db", "antenna_gain_db", "uncoded_bpsk_ebn0_db",
    "atmospheric_attenuation_db", "atmospheric_attenuation_direct_db", "LinkBudget",
    "link_budget", "max_rate_bps", "PassRates", "pass_rates",
]

# --- constants ------------------------------------------------------------------------
BOLTZMANN_J_PER_K = 1.380649e-23  # [SI] exact
BOLTZMANN_DBW_PER_K_HZ = 10.0 * math.log10(BOLTZMANN_J_PER_K)  # -228.599... dBW/(K Hz)
T_MEAN_RADIATING_K = 275.0  # [P618] mean radiating temperature of the attenuating medium

#: Nominal downlink frequencies (Hz): deep-space X band 8400-8450 MHz and Ka band
#: 31.8-32.3 GHz allocations (ITU RR Art. 5, category B deep space); centre values used.
BANDS = {"X": 8.42e9, "Ka": 32.0e9}

#: Data-rate table (information bits/s): powers of two from 128 b/s to 32 Mib/s.
#: ASSUMPTION (MMX's telemetry rate set is not published; a DSN-style 2^n table).
RATE_TABLE_BPS = tuple(float(2**n) for n in range(7, 26))


@dataclass(frozen=True)
class Code:
    """A CCSDS channel code and the Eb/N0 (per information bit) it needs."""

    name: str
    rate: float
    required_ebn0_db: float
    error_rate: str
    source: str


#: Required Eb/N0 [130.1-G] (read from the performance figures, +-0.2 dB) except
#: ``uncoded`` which is the BPSK closed form (see :func:`uncoded_bpsk_ebn0_db`).
CODES: dict[str, Code] = {c.name: c for c in (
    Code("turbo-1/2", 1 / 2, 1.0, "FER 1e-4, k=8920", "CCSDS 130.1-G-2 Fig. 7-9"),
    Code("turbo-1/3", 1 / 3, 0.5, "FER 1e-4, k=8920", "CCSDS 130.1-G-2 Fig. 7-9"),
    Code("turbo-1/4", 1 / 4, 0.3, "FER 1e-4, k=8920", "CCSDS 130.1-G-2 Fig. 7-9"),
    Code("turbo-1/6", 1 / 6, 0.1, "FER 1e-4, k=8920", "CCSDS 130.1-G-2 Fig. 7-9"),
    Code("ldpc-7/8", 7136 / 8160, 4.2, "FER 1e-5, (8160,7136)", "CCSDS 130.1-G-2 Sec. 8"),
    Code("conv-7-1/2+rs-255-223", 0.5 * 223 / 255, 2.5, "BER 1e-6, I=5",
         "CCSDS 130.1-G-2 Sec. 6 (Fig. 6-x)"),
    Code("uncoded", 1.0, 9.59, "BER 1e-5", "BPSK closed form 0.5 erfc(sqrt(Eb/N0))"),
)}


def uncoded_bpsk_ebn0_db(ber: float) -> float:
    """Eb/N0 (dB) at which uncoded coherent BPSK reaches bit error rate ``ber``.

    Closed form: BER = 0.5 erfc(sqrt(Eb/N0)).

    >>> round(uncoded_bpsk_ebn0_db(1e-5), 2)
    9.59
    """
    from scipy.special import erfcinv

    if not (0.0 < ber < 0.5):
        raise InputError("ber", ber, "0 < ber < 0.5")
    return 10.0 * math.log10(float(erfcinv(2.0 * ber)) ** 2)


def _pos(field: str, v: float, allow_zero: bool = False) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise InputError(field, v, "a number") from None
    if not math.isfinite(x) or x < 0 or (x == 0 and not allow_zero):
        raise InputError(field, v, "a finite number >= 0" if allow_zero else "a finite number > 0")
    return x


@dataclass(frozen=True)
class BandTelecom:
    """Spacecraft transmit chain in one band (all values are scenario parameters)."""

    frequency_hz: float
    tx_power_w: float
    antenna_diameter_m: float
    antenna_efficiency: float
    pointing_loss_db: float = 0.0
    circuit_loss_db: float = 0.0

    def __post_init__(self):
        _pos("frequency_hz", self.frequency_hz)
        _pos("tx_power_w", self.tx_power_w)
        _pos("antenna_diameter_m", self.antenna_diameter_m)
        if not (0.0 < self.antenna_efficiency <= 1.0):
            raise InputError("antenna_efficiency", self.antenna_efficiency, "0 < efficiency <= 1")
        _pos("pointing_loss_db", self.pointing_loss_db, allow_zero=True)
        _pos("circuit_loss_db", self.circuit_loss_db, allow_zero=True)

    @property
    def antenna_gain_db(self) -> float:
        return antenna_gain_db(self.antenna_diameter_m, self.frequency_hz, self.antenna_efficiency)

    @property
    def eirp_dbw(self) -> float:
        """EIRP (dBW) including circuit and pointing losses."""
        return (10.0 * math.log10(self.tx_power_w) + self.antenna_gain_db
                - self.circuit_loss_db - self.pointing_loss_db)


@dataclass(frozen=True)
class SpacecraftTelecom:
    """The spacecraft's downlink chains by band name ('X', 'Ka')."""

    bands: Mapping[str, BandTelecom]
    modulation_loss_db: float = 0.0
    implementation_loss_db: float = 1.0

    def band(self, name: str) -> BandTelecom:
        if name not in self.bands:
            raise InputError("band", name, f"one of {sorted(self.bands)}")
        return self.bands[name]


def mmx_telecom_assumed() -> SpacecraftTelecom:
    """Default MMX downlink parameters. ALL VALUES ARE ASSUMPTIONS (not published).

    X band: 20 W RF (a typical deep-space SSPA), 1.0 m high-gain antenna, 55 % aperture
    efficiency, 0.2 dB pointing loss, 1.0 dB circuit loss.  Ka band: 10 W RF through the
    same 1.0 m dish at 45 % efficiency (Ka surface/feed losses), 0.5 dB pointing loss
    (beam is ~4x narrower), 1.5 dB circuit loss.  Implementation loss 1.0 dB, modulation
    loss 0 dB (suppressed carrier / all power in data at high rates).
    """
    return SpacecraftTelecom(bands={
        "X": BandTelecom(BANDS["X"], 20.0, 1.0, 0.55, 0.2, 1.0),
        "Ka": BandTelecom(BANDS["Ka"], 10.0, 1.0, 0.45, 0.5, 1.5),
    })


@dataclass(frozen=True)
class GroundTerminal:
    """A receiving station as the link budget sees it.

    ``g_over_t_db`` maps band name to clear-sky G/T (dB/K) at zenith; ``t_sys_k`` maps
    band name to the clear-sky system noise temperature used to degrade G/T for the
    noise the attenuating atmosphere adds.  ``lat_deg``/``lon_deg`` (geodetic, east
    positive) and ``height_km`` (above mean sea level) feed ITU-R.
    """

    name: str
    lat_deg: float
    lon_deg: float
    height_km: float
    antenna_diameter_m: float
    g_over_t_db: Mapping[str, float]
    t_sys_k: Mapping[str, float] = field(default_factory=lambda: {"X": 30.0, "Ka": 40.0})
    elevation_mask_deg: float = 10.0
    other_losses_db: float = 0.0

    def __post_init__(self):
        if not (-90.0 <= self.lat_deg <= 90.0):
            raise InputError("lat_deg", self.lat_deg, "-90..90 deg")
        if not (-180.0 <= self.lon_deg <= 360.0):
            raise InputError("lon_deg", self.lon_deg, "-180..360 deg")
        if not (-0.5 <= self.height_km <= 6.0):
            raise InputError("height_km", self.height_km, "-0.5..6 km above mean sea level")
        _pos("antenna_diameter_m", self.antenna_diameter_m)
        if not (0.0 <= self.elevation_mask_deg < 90.0):
            raise InputError("elevation_mask_deg", self.elevation_mask_deg, "0 <= mask < 90 deg")
        for b, t in self.t_sys_k.items():
            _pos(f"t_sys_k[{b}]", t)

    def gt(self, band: str) -> float:
        if band not in self.g_over_t_db:
            raise InputError(f"{self.name}.band", band,
                             f"a band this station receives: {sorted(self.g_over_t_db)}")
        return float(self.g_over_t_db[band])


#: Station presets: G/T from [810-005] (DSN) rounded; ESA 35 m and JAXA 54 m values are
#: ASSUMPTIONS scaled from the DSN 34 m by aperture (+20 log10(D/34)).  Coordinates are
#: rounded to 0.01 deg (enough for ITU-R climate maps); comms.stations is authoritative.
TERMINAL_PRESETS: dict[str, dict] = {
    "DSS-14": dict(lat_deg=35.43, lon_deg=-116.89, height_km=1.00, antenna_diameter_m=70.0,
                   g_over_t_db={"X": 60.5}, t_sys_k={"X": 20.0}, agency="NASA"),
    "DSS-25": dict(lat_deg=35.34, lon_deg=-116.87, height_km=0.96, antenna_diameter_m=34.0,
                   g_over_t_db={"X": 53.5, "Ka": 60.0}, agency="NASA"),
    "DSS-35": dict(lat_deg=-35.40, lon_deg=148.98, height_km=0.69, antenna_diameter_m=34.0,
                   g_over_t_db={"X": 53.5, "Ka": 60.0}, agency="NASA"),
    "DSS-55": dict(lat_deg=40.42, lon_deg=-4.25, height_km=0.82, antenna_diameter_m=34.0,
                   g_over_t_db={"X": 53.5, "Ka": 60.0}, agency="NASA"),
    "MLG": dict(lat_deg=-35.78, lon_deg=-69.40, height_km=1.55, antenna_diameter_m=35.0,
                g_over_t_db={"X": 53.7, "Ka": 60.2}, agency="ESA"),
    "MSS": dict(lat_deg=35.94, lon_deg=138.36, height_km=1.46, antenna_diameter_m=54.0,
                g_over_t_db={"X": 57.5, "Ka": 64.0}, agency="JAXA"),
}


def ground_terminal(station: str, **overrides) -> GroundTerminal:
    """A :class:`GroundTerminal` from :data:`TERMINAL_PRESETS`, with field overrides.

    >>> ground_terminal("DSS-25").gt("X")
    53.5
    """
    if station not in TERMINAL_PRESETS:
        raise InputError("station", station, f"one of {sorted(TERMINAL_PRESETS)}")
    kw = {k: v for k, v in TERMINAL_PRESETS[station].items() if k != "agency"}
    kw.update(overrides)
    return GroundTerminal(name=station, **kw)


# --- closed forms -----------------------------------------------------------------------
def free_space_loss_db(range_km, frequency_hz):
    """Free-space path loss 20 log10(4 pi d / lambda), d in km, f in Hz (vectorised)."""
    d = np.asarray(range_km, dtype=float)
    f = np.asarray(frequency_hz, dtype=float)
    if np.any(~np.isfinite(d)) or np.any(d <= 0):
        raise InputError("range_km", range_km, "finite ranges > 0 km")
    if np.any(f <= 0):
        raise InputError("frequency_hz", frequency_hz, "> 0 Hz")
    return 20.0 * np.log10(4.0 * np.pi * d * f / C_KM_S)


def antenna_gain_db(diameter_m: float, frequency_hz: float, efficiency: float) -> float:
    """Parabolic antenna gain 10 log10(eta (pi D f / c)^2) in dBi."""
    lam_m = C_KM_S * 1e3 / frequency_hz
    return 10.0 * math.log10(efficiency * (math.pi * diameter_m / lam_m) ** 2)


# --- ITU-R atmosphere --------------------------------------------------------------------
# fine at low elevation (A ~ 1/sin el) and near zenith, where ITU-R P.618 rain has a kink
_ELEV_GRID_DEG = np.concatenate([np.arange(5.0, 20.0, 0.25), np.arange(20.0, 80.0, 1.0), np.arange(80.0, 90.0001, 0.25)])
_ITU_MIN_EL_DEG = 5.0  # ITU-R P.676 approximate method: valid 5..90 deg
_atm_cache: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
_atm_lock = threading.Lock()
_ATM_CACHE_VERSION = 1  # bump when atmospheric_attenuation_direct_db's recipe changes


def _availability_to_p(availability_pct: float) -> float:
    a = float(availability_pct)
    if not (50.0 <= a <= 99.999):
        raise InputError("availability_pct", availability_pct,
                         "50..99.999 % (ITU-R P.618 covers 0.001 % <= p <= 50 % exceedance)")
    return 100.0 - a


def atmospheric_attenuation_direct_db(lat_deg, lon_deg, height_km, frequency_hz, elevation_deg,
                                      availability_pct, antenna_diameter_m):
    """Total slant-path attenuation (dB) straight from ``itur`` (no cache, slow).

    Gases + clouds + rain + scintillation, exceeded for ``100 - availability_pct`` % of
    an average year, at the given elevation(s) in degrees (5..90).
    """
    import warnings

    import itur

    p = _availability_to_p(availability_pct)
    el = np.atleast_1d(np.asarray(elevation_deg, dtype=float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        a = itur.atmospheric_attenuation_slant_path(
            float(lat_deg), float(lon_deg), float(frequency_hz) / 1e9, el, p,
            float(antenna_diameter_m), hs=float(height_km))
    return np.asarray(a.value, dtype=float).reshape(el.shape)


def _atm_disk_key(key) -> str:
    return _cache.digest("itur", _ATM_CACHE_VERSION, ("itur", "numpy"), tuple(float(k) for k in key), _ELEV_GRID_DEG)


def _atm_disk_load(key):
    """The grid of :func:`_atm_table` from a previous run (:mod:`._cache`), or None."""
    d = _cache.load("itur", _atm_disk_key(key))
    a = None if d is None else d.get("attenuation_db")
    return a if a is not None and a.shape == _ELEV_GRID_DEG.shape and a.dtype == np.float64 else None


def _atm_disk_save(key, a) -> None:
    _cache.save("itur", _atm_disk_key(key), attenuation_db=np.asarray(a, dtype=np.float64))


def _atm_table(term: GroundTerminal, frequency_hz: float, availability_pct: float):
    key = (term.lat_deg, term.lon_deg, term.height_km, term.antenna_diameter_m,
           float(frequency_hz), float(availability_pct))
    with _atm_lock:
        hit = _atm_cache.get(key)
    if hit is None:
        a = _atm_disk_load(key)
        if a is None:
            a = atmospheric_attenuation_direct_db(term.lat_deg, term.lon_deg, term.height_km,
                                                  frequency_hz, _ELEV_GRID_DEG, availability_pct,
                                                  term.antenna_diameter_m)
            if np.all(np.isfinite(a)):
                _atm_disk_save(key, a)
        if not np.all(np.isfinite(a)):
            raise InputError("station location", (term.lat_deg, term.lon_deg),
                             "a location where ITU-R P.618 gives finite attenuation")
        hit = (_ELEV_GRID_DEG.copy(), a * np.sin(np.radians(_ELEV_GRID_DEG)))
        with _atm_lock:
            _atm_cache[key] = hit
    return hit


def atmospheric_attenuation_db(term: GroundTerminal, frequency_hz: float, elevation_deg,
                               availability_pct: float = 99.0):
    """Slant-path attenuation (dB), ITU-R via ``itur``, interpolated from a cached grid.

    ``A(el) sin(el)`` is interpolated linearly on a 0.25 deg (5-20 deg, 80-90 deg) / 1 deg (20-80 deg) grid.
    Below 5 deg (outside the ITU-R approximate gas model) the 5 deg value is scaled by
    the cosecant law ``sin(5 deg)/sin(el)`` (flat-layer approximation; 0 < el < 5).
    """
    el = np.asarray(elevation_deg, dtype=float)
    if np.any(~np.isfinite(el)) or np.any(el <= 0.0) or np.any(el > 90.0):
        raise InputError("elevation_deg", "values outside (0, 90]" , "0 < elevation <= 90 deg")
    grid, a_sin = _atm_table(term, frequency_hz, availability_pct)
    elc = np.clip(el, _ITU_MIN_EL_DEG, 90.0)
    return np.interp(elc, grid, a_sin) / np.sin(np.radians(el))


# --- the budget --------------------------------------------------------------------------
@dataclass(frozen=True)
class LinkBudget:
    """Per-sample link budget terms (arrays shaped like the inputs)."""

    band: str
    station: str
    code: str
    eirp_dbw: float
    free_space_loss_db: np.ndarray
    atmosphere_db: np.ndarray
    g_over_t_db: np.ndarray
    pr_n0_dbhz: np.ndarray
    rate_bps: np.ndarray  # highest table rate meeting the margin; 0 below mask / none
    margin_db: np.ndarray  # margin at the chosen rate (nan where rate is 0)


def _resolve_code(code) -> Code:
    if isinstance(code, Code):
        return code
    if code not in CODES:
        raise InputError("code", code, f"one of {sorted(CODES)} or a Code")
    return CODES[code]


def max_rate_bps(pr_n0_dbhz, required_ebn0_db: float, margin_db: float = 3.0,
                 losses_db: float = 0.0, rate_table: Sequence[float] = RATE_TABLE_BPS):
    """Highest rate in ``rate_table`` with Pr/N0 - losses - 10log10(R) - req >= margin (0 if none)."""
    rates = np.sort(np.asarray(rate_table, dtype=float))
    if rates.size == 0 or np.any(rates <= 0):
        raise InputError("rate_table", rate_table, "a non-empty list of rates > 0 b/s")
    cap_db = np.asarray(pr_n0_dbhz, dtype=float) - losses_db - required_ebn0_db - margin_db
    # number of table rates with 10log10(R) <= cap
    n = np.searchsorted(10.0 * np.log10(rates), cap_db, side="right")
    return np.where(n > 0, rates[np.maximum(n - 1, 0)], 0.0)


def link_budget(sc: SpacecraftTelecom, band: str, term: GroundTerminal, range_km, elevation_deg,
                code="turbo-1/2", availability_pct: float = 99.0, margin_db: float = 3.0,
                rate_table: Sequence[float] = RATE_TABLE_BPS) -> LinkBudget:
    """Downlink budget and supportable rate per sample (range in km, elevation in deg).

    Samples below the station's elevation mask get rate 0 (and no ITU-R evaluation).
    """
    bt = sc.band(band)
    gt0 = term.gt(band)
    c = _resolve_code(code)
    _pos("margin_db", margin_db, allow_zero=True)
    rng = np.asarray(range_km, dtype=float)
    el = np.asarray(elevation_deg, dtype=float)
    if rng.shape != el.shape:
        raise InputError("elevation_deg", f"shape {el.shape}", f"same shape as range_km {rng.shape}")
    if np.any(~np.isfinite(el)) or np.any(np.abs(el) > 90.0):
        raise InputError("elevation_deg", "values outside [-90, 90]", "-90 <= elevation <= 90 deg")
    fsl = free_space_loss_db(rng, bt.frequency_hz)
    up = el >= max(term.elevation_mask_deg, 1e-6)
    atm = np.full(el.shape, np.nan)
    if np.any(up):
        atm[up] = atmospheric_attenuation_db(term, bt.frequency_hz, el[up], availability_pct)
    tsys = float(term.t_sys_k.get(band, 30.0))
    dT = T_MEAN_RADIATING_K * (1.0 - 10.0 ** (-atm / 10.0))
    gt = gt0 - 10.0 * np.log10((tsys + dT) / tsys)
    prn0 = bt.eirp_dbw - fsl - atm - term.other_losses_db + gt - BOLTZMANN_DBW_PER_K_HZ
    losses = sc.modulation_loss_db + sc.implementation_loss_db
    rate = np.where(up, max_rate_bps(np.where(up, prn0, -np.inf), c.required_ebn0_db, margin_db,
                                     losses, rate_table), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        marg = np.where(rate > 0, prn0 - losses - 10.0 * np.log10(np.where(rate > 0, rate, 1.0))
                        - c.required_ebn0_db, np.nan)
    return LinkBudget(band, term.name, c.name, bt.eirp_dbw, fsl, atm, gt, prn0, rate, marg)


# --- per pass ----------------------------------------------------------------------------
@dataclass(frozen=True)
class PassRates:
    """Supportable rate over one pass: samples ``t`` (TDB s), ``rate_bps`` held constant
    from each sample to the next (the last sample holds to ``pass_.stop``)."""

    pass_: Pass
    band: str
    t: np.ndarray
    rate_bps: np.ndarray
    volume_bits: float

    def volume_between(self, t0: float, t1: float) -> float:
        """Bits returnable in [t0, t1] (clipped to the pass) with the step-held rate."""
        return _step_integral(self.t, self.rate_bps, self.pass_.stop, t0, t1)


def _step_integral(t, r, t_end, t0, t1) -> float:
    a = max(t0, float(t[0]))
    b = min(t1, t_end)
    if b <= a:
        return 0.0
    edges = np.append(t, t_end)
    lo = np.clip(edges[:-1], a, b)
    hi = np.clip(edges[1:], a, b)
    return float(np.sum(r * (hi - lo)))


def pass_rates(p: Pass, t, range_km, elevation_deg, sc: SpacecraftTelecom, band: str,
               term: GroundTerminal, **kw) -> PassRates:
    """Rate time series over pass ``p`` from geometry samples (t in TDB s, ascending).

    Samples outside [start, stop] are dropped; a sample at ``p.start`` must exist (or
    the first kept sample starts the series).  The rate is held from a sample to the
    next: conservative when samples are dense (rates are a step function anyway).
    ``kw`` go to :func:`link_budget`.
    """
    t = np.asarray(t, dtype=float)
    if t.ndim != 1 or t.size == 0 or np.any(np.diff(t) <= 0):
        raise InputError("t", "array", "a non-empty strictly increasing 1-D array")
    if p.stop <= p.start:
        raise InputError("pass", (p.start, p.stop), "stop > start")
    keep = (t >= p.start) & (t < p.stop)
    if not np.any(keep):
        raise InputError("t", (float(t[0]), float(t[-1])), f"samples inside the pass [{p.start}, {p.stop}]")
    lb = link_budget(sc, band, term, np.asarray(range_km, float)[keep],
                     np.asarray(elevation_deg, float)[keep], **kw)
    tk = t[keep]
    rate = lb.rate_bps
    # conservative step: on [t_k, t_k+1) use min of the two neighbouring samples
    if rate.size > 1:
        rate = np.minimum(rate, np.append(rate[1:], rate[-1]))
    vol = _step_integral(tk, rate, p.stop, p.start, p.stop)
    return PassRates(p, band, tk, rate, vol)
