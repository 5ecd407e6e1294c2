"""MIRS, the MMX InfraRed Spectrometer (CNES with LESIA, Observatoire de Paris; [LESIA], [K22],
[CNES-MIRS], [B21]): radiance spectra 0.9-3.6 µm, SNR, band detectability and coverage.

Simplified models (each stated; details and validation in ``docs/mirs.md``):

* **Reflectance**: Hapke IMSA (:mod:`mmxsim.instruments.hapke`: Hapke 2002 H-function,
  one-term Henyey-Greenstein, shadow-hiding opposition, 1984 roughness). The Phobos defaults
  are the [F24] HRSC fit (w = 0.072 at 538 nm, B_SH0 = 2.28, h_SH = 0.0573, backscattering);
  [F24]'s phase function and roughness were not retrieved (facts-2 §E: UNCONFIRMED), so the
  one-term HG asymmetry b = -0.259 is DERIVED here so that the model's geometric albedo at
  538 nm equals [F24]'s 0.068, and theta_bar = 20° is an ASSUMPTION.
* **Surface spectra**: no laboratory/analogue spectra ship with mmxsim, so the single-scattering
  albedo spectrum w(λ) is parametric: a linear red-sloped continuum through [F24]'s w at 538 nm
  (slope: ASSUMPTION; Phobos is red, T/D-type-like [Ri02], no slope number in the facts) times
  Gaussian absorption bands in w (positions ~1 and ~2 µm mafic, 2.7-3 µm hydration, ~3.4 µm
  organics [B21], [WA23]; depths are parameters).
* **Thermal emission**: instantaneous radiative equilibrium
  T = ((1 - A) S cos i / (η ε σ))^(1/4) with S = S0 / r_au² ([KOPP-2011] S0 = 1360.8 W/m²),
  A the model's own Bond albedo at 538 nm, ε = 0.95 (ASSUMPTION) and a beaming/thermal-inertia
  factor η (default 1: no thermal inertia, an upper bound on the day side). Emission
  ε(λ, e) B_λ(T) with the directional emissivity from Kirchhoff's law, ε(λ, e) = γ H(cos e)
  (isotropic scatterers, Hapke 1993).
* **Sun**: a 5772 K blackbody (IAU 2015 Resolution B3 nominal T_eff) scaled to the total solar
  irradiance 1360.8 W/m² at 1 au [KOPP-2011]; no packaged solar spectrum (no Fraunhofer
  lines, ~±10 % from the real spectrum in the 1-3.6 µm range).
* **Instrument**: pixel solid angle IFOV² (0.35 mrad [LESIA]), 10 nm channels [K22],
  aperture from the focal length (30 µm pitch / IFOV, DERIVED from [LESIA]) and an F-number,
  throughput, QE, dark current, read noise and a warm-optics thermal background: the last six
  are **not published** and are ASSUMPTIONS chosen so that the published "SNR > 100 up to
  3.2 µm in < 2 s" [LESIA] holds for the reference Phobos scene (:data:`REFERENCE_SCENE`).
* **Coverage**: a 3.3° square FOV ([LESIA], [K22]) pointed at the body centre; a facet is
  covered at an epoch when its centroid is inside the FOV, visible and lit; its ground
  resolution is range × IFOV (projected footprint: divided by cos e when ``oblique=True``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..bodies import AU_KM, SOLAR_IRRADIANCE_1AU
from ..errors import InputError
from . import hapke as hk
from ._figures import light_log_ticks
from .geometry import emission_geometry, facet_frame, facet_geometry, mars_shadow

__all__ = ["MIRS_RANGE_UM", "MIRS_SAMPLING_UM", "MIRS_IFOV_RAD", "MIRS_FOV_DEG", "MIRS_SNR_SPEC",
           "PHOBOS_HAPKE", "Band", "Surface", "SURFACES", "MIRSInstrument", "REFERENCE_SCENE",
           "wavelengths_um", "solar_irradiance", "planck_radiance", "surface_temperature",
           "radiance_spectrum", "snr_spectrum", "band_detectability", "reference_snr",
           "coverage", "Coverage", "in_fov", "Spectrum", "SNR", "mirs_along", "MIRSResult"]

# --------------------------------------------------------------------------------------------
# Published MIRS numbers (mmx-facts.md §5.3)
MIRS_RANGE_UM = (0.9, 3.6)  # [LESIA], [K22]
MIRS_SAMPLING_UM = 0.010  # [K22]
MIRS_IFOV_RAD = 0.35e-3  # [LESIA]
MIRS_FOV_DEG = 3.3  # ±1.65°, [LESIA], [K22]
MIRS_PIXEL_PITCH_M = 30e-6  # 256 x 256 px, 30 µm pitch [LESIA]
#: "SNR > 100 up to 3.2 µm, in < 2 s" [LESIA]: (SNR, max wavelength µm, integration s)
MIRS_SNR_SPEC = (100.0, 3.2, 2.0)

# Physical constants (CODATA 2018 exact SI values)
_H = 6.62607015e-34  # J s
_C = 299_792_458.0  # m/s
_KB = 1.380649e-23  # J/K
_SIGMA = 5.670374419e-8  # W m^-2 K^-4
T_SUN_K = 5772.0  # IAU 2015 Resolution B3 nominal solar effective temperature

#: Phobos Hapke parameters: B0, h [F24]; b DERIVED (geometric albedo 0.068 at 538 nm [F24] with
#: w = 0.072 [F24], see tests/instruments/test_hapke.py); theta_bar 20° ASSUMPTION (UNCONFIRMED
#: in facts-2 §E).
PHOBOS_HAPKE = hk.HapkeParams(b=-0.259, B0=2.28, h=0.0573, theta_bar_rad=np.radians(20.0))
PHOBOS_W_538 = 0.072  # [F24] single-scattering albedo, HRSC green (538 nm)
PHOBOS_P_538 = 0.068  # [F24] geometric albedo, green (538 nm)


def wavelengths_um(lo: float = MIRS_RANGE_UM[0], hi: float = MIRS_RANGE_UM[1],
                   step: float = MIRS_SAMPLING_UM) -> np.ndarray:
    """MIRS channel centres (µm): 0.90, 0.91, ..., 3.60 (271 channels at 10 nm [K22])."""
    n = int(round((hi - lo) / step)) + 1
    return lo + step * np.arange(n)


def _check_lambda(lam_um, field_="wavelength_um"):
    lam = np.asarray(lam_um, dtype=float)
    lo, hi = MIRS_RANGE_UM
    if lam.size == 0 or np.any(~np.isfinite(lam)) or np.any(lam < lo - 1e-9) or np.any(lam > hi + 1e-9):
        raise InputError(field_, f"{np.min(lam) if lam.size else '[]'}..{np.max(lam) if lam.size else ''}",
                         f"wavelengths within MIRS' range {lo}-{hi} µm")
    return lam


# --------------------------------------------------------------------------------------------
# Surface spectra
@dataclass(frozen=True)
class Band:
    """A Gaussian absorption in w: factor 1 - depth exp(-4 ln2 (λ - centre)² / fwhm²)."""

    center_um: float
    fwhm_um: float
    depth: float
    name: str = ""

    def __post_init__(self):
        if not 0.0 <= self.depth < 1.0:
            raise InputError(f"Band({self.name}).depth", self.depth, "0 <= depth < 1")
        if self.fwhm_um <= 0.0:
            raise InputError(f"Band({self.name}).fwhm_um", self.fwhm_um, "> 0")


@dataclass(frozen=True)
class Surface:
    """A parametric surface: w(λ) = w_ref (1 + slope (λ - ref)) Π_k band_k(λ), plus photometry
    and thermal parameters.

    w_ref, ref_um : single-scattering albedo at the reference wavelength ([F24] 0.072 at 0.538 µm).
    slope_per_um : relative slope of w per µm (0.25: ASSUMPTION, a red T/D-type-like continuum
        [Ri02]; w rises from 0.072 to 0.13 at 3.6 µm).
    bands : absorption bands.
    hapke : :class:`~mmxsim.instruments.hapke.HapkeParams`.
    emissivity : bolometric emissivity for the energy balance (0.95 ASSUMPTION).
    eta : beaming / thermal-inertia factor in T⁴ (1 = instantaneous equilibrium).
    bond_albedo : None: the model's own spherical albedo at ``ref_um``.
    """

    w_ref: float = PHOBOS_W_538
    ref_um: float = 0.538
    slope_per_um: float = 0.25
    bands: tuple = ()
    hapke: hk.HapkeParams = PHOBOS_HAPKE
    emissivity: float = 0.95
    eta: float = 1.0
    bond_albedo: float | None = None
    name: str = "surface"

    def __post_init__(self):
        if not 0.0 <= self.w_ref <= 1.0:
            raise InputError("Surface.w_ref", self.w_ref, "0 <= w <= 1")
        if not 0.0 < self.emissivity <= 1.0:
            raise InputError("Surface.emissivity", self.emissivity, "0 < emissivity <= 1")
        if self.eta <= 0.0:
            raise InputError("Surface.eta", self.eta, "> 0")
        if self.bond_albedo is not None and not 0.0 <= self.bond_albedo < 1.0:
            raise InputError("Surface.bond_albedo", self.bond_albedo, "0 <= A < 1")
        w_hi = self.w_ref * (1.0 + self.slope_per_um * (MIRS_RANGE_UM[1] - self.ref_um))
        w_lo = self.w_ref * (1.0 + self.slope_per_um * (MIRS_RANGE_UM[0] - self.ref_um))
        if not (0.0 <= w_lo <= 1.0 and 0.0 <= w_hi <= 1.0):
            raise InputError("Surface.slope_per_um", self.slope_per_um,
                             f"a slope keeping w in [0, 1] over 0.9-3.6 µm (gives {w_lo:.3g}..{w_hi:.3g})")

    def w(self, lam_um) -> np.ndarray:
        """Single-scattering albedo spectrum at ``lam_um`` (µm)."""
        lam = np.asarray(lam_um, dtype=float)
        w = self.w_ref * (1.0 + self.slope_per_um * (lam - self.ref_um))
        for b in self.bands:
            w = w * (1.0 - b.depth * np.exp(-4.0 * np.log(2.0) * (lam - b.center_um) ** 2 / b.fwhm_um ** 2))
        return np.clip(w, 0.0, 1.0)

    def bond(self) -> float:
        """Bond (spherical) albedo A = 2 ∫ A_h(mu0) mu0 dmu0 at ``ref_um`` (or the given value)."""
        if self.bond_albedo is not None:
            return self.bond_albedo
        return _bond_albedo(self.w_ref, self.hapke)


_BOND_CACHE: dict = {}


def _bond_albedo(w, params) -> float:
    key = (w, params)
    if key not in _BOND_CACHE:
        t, wt = np.polynomial.legendre.leggauss(16)
        mu0 = 0.5 * (t + 1.0)
        ah = np.array([hk.hemispherical_albedo(w, m, params, n_mu=32, n_phi=48) for m in mu0])
        _BOND_CACHE[key] = float(np.sum(0.5 * wt * 2.0 * mu0 * ah))
    return _BOND_CACHE[key]


HYDRATION_BAND = Band(2.80, 0.30, 0.10, "hydration 2.8 µm")  # depth at the [Ri02] Phobos limit (5-10 %)
#: Preset surfaces. Band depths/widths are ASSUMPTIONS; positions [B21], [WA23].
SURFACES = {
    "phobos": Surface(name="phobos (featureless red, no 3-µm band [Ri02])"),
    "phobos_hydrated": Surface(bands=(HYDRATION_BAND,), name="phobos + 10 % hydration band"),
    "mixed": Surface(bands=(Band(1.00, 0.25, 0.10, "mafic 1 µm"), Band(2.00, 0.50, 0.05, "mafic 2 µm"),
                            Band(2.80, 0.30, 0.15, "hydration 2.8 µm"), Band(3.40, 0.10, 0.05, "organics 3.4 µm")),
                     name="mafic + hydrated + organics"),
}


def _surface(s) -> Surface:
    if isinstance(s, Surface):
        return s
    if isinstance(s, str) and s in SURFACES:
        return SURFACES[s]
    raise InputError("surface", s, f"a Surface or one of {sorted(SURFACES)}")


# --------------------------------------------------------------------------------------------
# Radiometry
def planck_radiance(lam_um, T_K):
    """Planck spectral radiance B_λ(T), W m⁻² sr⁻¹ µm⁻¹ (0 where T <= 0)."""
    lam = np.asarray(lam_um, dtype=float) * 1e-6
    T = np.asarray(T_K, dtype=float)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        x = _H * _C / (lam * _KB * np.maximum(T, 1e-30))
        b = 2.0 * _H * _C ** 2 / lam ** 5 / np.expm1(np.minimum(x, 700.0))
    return np.where(T > 0.0, b * 1e-6, 0.0)


def solar_irradiance(lam_um, r_au=1.0):
    """Solar spectral irradiance (W m⁻² µm⁻¹) at ``r_au``: a 5772 K blackbody (IAU 2015 B3)
    scaled to 1360.8 W/m² at 1 au [KOPP-2011]: F = S0/r² π B_λ(T☉)/(σ T☉⁴)."""
    return (SOLAR_IRRADIANCE_1AU / np.asarray(r_au, float) ** 2) * np.pi * planck_radiance(lam_um, T_SUN_K) / (
        _SIGMA * T_SUN_K ** 4)


def surface_temperature(cos_i, r_au, bond_albedo=0.02, emissivity=0.95, eta=1.0):
    """Instantaneous radiative-equilibrium temperature (K):
    T = ((1 - A) S0/r² cos i / (η ε σ))^(1/4), 0 where cos i <= 0 (no thermal inertia)."""
    ci = np.asarray(cos_i, dtype=float)
    S = SOLAR_IRRADIANCE_1AU / np.asarray(r_au, float) ** 2
    return (np.maximum(ci, 0.0) * (1.0 - bond_albedo) * S / (eta * emissivity * _SIGMA)) ** 0.25


@dataclass(frozen=True)
class Spectrum:
    """Radiance spectra (W m⁻² sr⁻¹ µm⁻¹) on ``wavelength_um``; ``iof`` = I/F (reflected)."""

    wavelength_um: np.ndarray
    reflected: np.ndarray
    thermal: np.ndarray
    iof: np.ndarray
    temperature_K: float | np.ndarray
    w: np.ndarray

    @property
    def total(self):
        return self.reflected + self.thermal

    @property
    def thermal_fraction(self):
        return self.thermal / np.where(self.total > 0, self.total, 1.0)


def radiance_spectrum(surface, cos_i, cos_e, phase_rad, r_au, lam_um=None, temperature_K=None) -> Spectrum:
    """Radiance at the instrument from a surface element: reflected r(i, e, g; w(λ)) F☉(λ, r)
    plus thermal ε(λ, e) B_λ(T). Scalar geometry (or arrays broadcasting against λ as the last
    axis). ``temperature_K`` overrides the equilibrium temperature."""
    s = _surface(surface)
    lam = wavelengths_um() if lam_um is None else _check_lambda(lam_um)
    r_au = float(r_au)
    if not r_au > 0:
        raise InputError("r_au", r_au, "> 0 (heliocentric distance, au)")
    ci = np.asarray(cos_i, float)[..., None]
    ce = np.asarray(cos_e, float)[..., None]
    g = np.asarray(phase_rad, float)[..., None]
    w = s.w(lam)
    r = hk.bidirectional_reflectance(w, ci, ce, g, s.hapke)
    refl = r * solar_irradiance(lam, r_au)
    if temperature_K is None:
        T = surface_temperature(ci[..., 0], r_au, s.bond(), s.emissivity, s.eta)
    else:
        T = np.asarray(temperature_K, float)
        if np.any(T < 0):
            raise InputError("temperature_K", temperature_K, ">= 0 K")
    eps = hk.directional_emissivity(w, ce, s.hapke)
    therm = np.where(ce > 0, eps * planck_radiance(lam, np.asarray(T)[..., None]), 0.0)
    return Spectrum(lam, refl, therm, np.pi * r, T, w)


# --------------------------------------------------------------------------------------------
# Instrument and SNR
@dataclass(frozen=True)
class MIRSInstrument:
    """MIRS radiometric model. Published: ifov_rad, fov_deg, sampling_um, pixel_pitch_m
    ([LESIA], [K22]). Everything else is an ASSUMPTION (not published), set so that the
    published "SNR > 100 up to 3.2 µm in < 2 s" [LESIA] holds for :data:`REFERENCE_SCENE`
    (measured: see docs/mirs.md).
    """

    ifov_rad: float = MIRS_IFOV_RAD
    fov_deg: float = MIRS_FOV_DEG
    sampling_um: float = MIRS_SAMPLING_UM
    pixel_pitch_m: float = MIRS_PIXEL_PITCH_M
    f_number: float = 6.0  # ASSUMPTION (aperture 14.3 mm)
    transmission: float = 0.15  # ASSUMPTION: telescope + spectrometer + grating efficiency
    qe: float = 0.60  # ASSUMPTION: HgCdTe
    dark_current_e_s: float = 2.0e4  # ASSUMPTION: per pixel (detector at ~100 K)
    read_noise_e: float = 150.0  # ASSUMPTION: per read
    optics_temperature_K: float = 200.0  # ASSUMPTION: passively cooled spectrometer
    optics_emissivity: float = 0.30  # ASSUMPTION: effective emissivity of the optics seen by the detector
    full_well_e: float = 2.0e6  # ASSUMPTION: saturation flag only

    def __post_init__(self):
        for name in ("ifov_rad", "fov_deg", "sampling_um", "pixel_pitch_m", "f_number", "transmission", "qe"):
            v = getattr(self, name)
            if not v > 0:
                raise InputError(f"MIRSInstrument.{name}", v, "> 0")
        for name in ("transmission", "qe", "optics_emissivity"):
            if getattr(self, name) > 1:
                raise InputError(f"MIRSInstrument.{name}", getattr(self, name), "<= 1")
        for name in ("dark_current_e_s", "read_noise_e", "optics_temperature_K", "optics_emissivity"):
            if getattr(self, name) < 0:
                raise InputError(f"MIRSInstrument.{name}", getattr(self, name), ">= 0")

    @property
    def focal_length_m(self) -> float:
        """Pitch / IFOV = 85.7 mm (DERIVED from [LESIA])."""
        return self.pixel_pitch_m / self.ifov_rad

    @property
    def aperture_area_m2(self) -> float:
        d = self.focal_length_m / self.f_number
        return np.pi * d * d / 4.0

    @property
    def etendue_m2_sr(self) -> float:
        """Aperture area × pixel solid angle (IFOV²)."""
        return self.aperture_area_m2 * self.ifov_rad ** 2

    def electron_rate(self, lam_um, radiance):
        """Photo-electrons/s in one 10 nm channel for a radiance (W m⁻² sr⁻¹ µm⁻¹)."""
        lam = np.asarray(lam_um, float)
        photon_j = _H * _C / (lam * 1e-6)
        return np.asarray(radiance) * self.sampling_um * self.etendue_m2_sr * self.transmission * self.qe / photon_j

    def background_rate(self, lam_um):
        """Dark current + warm-optics thermal background (e/s)."""
        lam = np.asarray(lam_um, float)
        opt = self.optics_emissivity * planck_radiance(lam, self.optics_temperature_K)
        # the optics' emission reaches the detector without the telescope's transmission loss
        photon_j = _H * _C / (lam * 1e-6)
        return self.dark_current_e_s + opt * self.sampling_um * self.etendue_m2_sr * self.qe / photon_j


@dataclass(frozen=True)
class SNR:
    """Per-channel signal (e), noise (e) and SNRs. ``snr`` = total signal / noise; ``snr_reflected``
    = reflected signal / noise (the thermal part counted as noise-only: what matters for a
    reflectance spectrum once the thermal model is subtracted)."""

    wavelength_um: np.ndarray
    signal_reflected_e: np.ndarray
    signal_thermal_e: np.ndarray
    noise_e: np.ndarray
    integration_s: float
    saturated: np.ndarray

    @property
    def snr(self):
        return (self.signal_reflected_e + self.signal_thermal_e) / self.noise_e

    @property
    def snr_reflected(self):
        return self.signal_reflected_e / self.noise_e


def snr_spectrum(spectrum: Spectrum, integration_s: float = 2.0, instrument: MIRSInstrument = MIRSInstrument(),
                 shot_noise_only: bool = False) -> SNR:
    """SNR per channel: noise² = S_refl + S_th + (dark + optics background) t + read² (Poisson
    photo-electrons). ``shot_noise_only`` drops the dark, background and read terms."""
    t = float(integration_s)
    if not (np.isfinite(t) and t > 0):
        raise InputError("integration_s", integration_s, "> 0 s")
    lam = spectrum.wavelength_um
    sr = instrument.electron_rate(lam, spectrum.reflected) * t
    st = instrument.electron_rate(lam, spectrum.thermal) * t
    if shot_noise_only:
        var = sr + st
        bg = 0.0
    else:
        bg = instrument.background_rate(lam) * t
        var = sr + st + bg + instrument.read_noise_e ** 2
    return SNR(lam, sr, st, np.sqrt(var), t, (sr + st + bg) > instrument.full_well_e)


#: The reference scene for the published SNR figure: the default Phobos surface, incidence 30°,
#: emission 0°, phase 30°, 1.52 au from the Sun (close to Mars' mean distance). A definition
#: (ASSUMPTION), not a published scene.
REFERENCE_SCENE = dict(surface="phobos", incidence_deg=30.0, emission_deg=0.0, phase_deg=30.0, r_au=1.52)


def reference_snr(integration_s: float = 2.0, instrument: MIRSInstrument = MIRSInstrument(), **scene):
    """(Spectrum, SNR) of :data:`REFERENCE_SCENE` (keys overridable)."""
    sc = {**REFERENCE_SCENE, **scene}
    sp = radiance_spectrum(sc["surface"], np.cos(np.radians(sc["incidence_deg"])),
                           np.cos(np.radians(sc["emission_deg"])), np.radians(sc["phase_deg"]), sc["r_au"])
    return sp, snr_spectrum(sp, integration_s, instrument)


# --------------------------------------------------------------------------------------------
# Band detectability
def band_detectability(lam_um, snr, center_um: float, fwhm_um: float, k_sigma: float = 3.0,
                       depth: float | None = None) -> dict:
    """Detectability of an absorption band from per-channel SNRs (of the reflected signal).

    Band window: the N_b channels within ±fwhm/2 of the centre; continuum: the channels in
    [c - fwhm, c - fwhm/2) and (c + fwhm/2, c + fwhm] (clipped to the MIRS range). The band
    depth is estimated as D = 1 - R̄_band / R̄_cont; its noise is
    σ_D = sqrt(Σ_b SNR_j⁻² / N_b² + Σ_c SNR_j⁻² / N_c²) (independent channels, small D).
    Returns ``n_band``, ``n_cont``, ``sigma``, ``min_depth`` = k σ (the window-averaged depth),
    ``min_depth_center`` (the central depth of a Gaussian band whose window average is
    ``min_depth``: window average = 0.810 × centre for a ±FWHM/2 window), and, when ``depth``
    (window-averaged) is given, ``sigma_at_depth`` = (1 - depth) σ (the ratio's noise scales with
    the ratio) and ``z`` = depth / sigma_at_depth.
    """
    lam = np.asarray(lam_um, float)
    s = np.asarray(snr, float)
    if fwhm_um <= 0:
        raise InputError("fwhm_um", fwhm_um, "> 0")
    if k_sigma <= 0:
        raise InputError("k_sigma", k_sigma, "> 0")
    _check_lambda(center_um, "center_um")
    d = np.abs(lam - center_um)
    inb = d <= fwhm_um / 2.0 + 1e-9
    inc = (d > fwhm_um / 2.0 + 1e-9) & (d <= fwhm_um + 1e-9)
    nb, nc = int(inb.sum()), int(inc.sum())
    if nb == 0 or nc == 0:
        raise InputError("fwhm_um", fwhm_um, f"a band wider than the {MIRS_SAMPLING_UM * 1e3:.0f} nm channels, "
                         "with continuum channels on at least one side inside 0.9-3.6 µm")
    with np.errstate(divide="ignore"):
        inv2 = 1.0 / s ** 2
    sigma = float(np.sqrt(inv2[inb].sum() / nb ** 2 + inv2[inc].sum() / nc ** 2))
    # window average of a Gaussian over ±FWHM/2 relative to its peak: erf(sqrt(ln 2)) * sqrt(pi / (4 ln 2))
    from math import erf, log, pi, sqrt
    avg = erf(sqrt(log(2.0))) * sqrt(pi / (4.0 * log(2.0)))
    out = dict(n_band=nb, n_cont=nc, sigma=sigma, min_depth=k_sigma * sigma,
               min_depth_center=k_sigma * sigma / avg, window_average_factor=avg, k_sigma=k_sigma)
    if depth is not None:
        # exact first-order noise of D = 1 - ratio at a finite depth: (1 - D) × the small-D value
        out["sigma_at_depth"] = (1.0 - depth) * sigma
        out["z"] = depth / out["sigma_at_depth"]
    return out


# --------------------------------------------------------------------------------------------
# Coverage
@dataclass
class Coverage:
    """Best ground resolution per facet (m; inf = never covered), number of epochs each facet
    was covered, facet areas (km²), lat/lon, and per epoch the number of covered facets."""

    best_resolution_m: np.ndarray
    n_observations: np.ndarray
    area_km2: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    occlusion_used: bool
    facets_per_epoch: np.ndarray

    def fraction_better_than(self, resolution_m: float) -> float:
        """Area fraction of the surface covered at a resolution <= ``resolution_m``."""
        return float(self.area_km2[self.best_resolution_m <= resolution_m].sum() / self.area_km2.sum())

    def figure(self, title: str = "MIRS coverage: best ground resolution"):
        """Equirectangular lon/lat map of the best resolution (Agg Figure)."""
        from matplotlib.colors import LogNorm
        from matplotlib.figure import Figure

        fig = Figure(figsize=(8, 4.2))
        ax = fig.add_subplot(111)
        ax.scatter(self.lon_deg, self.lat_deg, s=2, c="0.85", label="not covered")
        ok = np.isfinite(self.best_resolution_m)
        if ok.any():
            r = self.best_resolution_m[ok]
            norm = LogNorm(vmin=max(r.min(), 1e-3), vmax=max(r.max(), r.min() * 1.01, 1e-3))
            sc = ax.scatter(self.lon_deg[ok], self.lat_deg[ok], s=3, c=r, cmap="viridis_r", norm=norm)
            fig.colorbar(sc, ax=ax, label="best resolution (m)")
        ax.set_xlim(0, 360)
        ax.set_ylim(-90, 90)
        ax.set_xlabel("east longitude (deg)")
        ax.set_ylabel("latitude (deg)")
        ax.set_title(title)
        return fig


def _occlusion_flag(occlusion):
    if occlusion == "auto":
        try:
            from . import _raycast  # noqa: F401
            return True
        except ImportError:
            return False
    return bool(occlusion)


def in_fov(centroids, sc, fov_deg=MIRS_FOV_DEG):
    """(N, F) True where a centroid lies in the square FOV (±fov/2 on both axes) of a nadir-
    (body-centre-) pointed instrument at each spacecraft position; also the off-boresight angle."""
    from .cameras import camera_frames  # rows: detector x, detector y, boresight (to the centre)

    fr = camera_frames(sc)
    d = centroids[None, :, :] - sc[:, None, :]
    du, dv, db = (np.einsum("nfk,nk->nf", d, fr[:, i]) for i in range(3))
    t = np.tan(np.radians(fov_deg / 2.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = (db > 0) & (np.abs(du) <= t * db) & (np.abs(dv) <= t * db)
        off = np.arctan2(np.hypot(du, dv), db)
    return ok, off


def coverage(shape, sc_pos_km, sun_pos_km, *, mars_pos_km=None, instrument: MIRSInstrument = MIRSInstrument(),
             occlusion="auto", oblique: bool = False, chunk: int = 128) -> Coverage:
    """Best resolution per facet along a trajectory (FOV, visible, lit; resolution = range × IFOV,
    ÷ cos e if ``oblique``). Epochs are processed in chunks of ``chunk``."""
    sc = np.atleast_2d(np.asarray(sc_pos_km, float))
    sun = np.atleast_2d(np.asarray(sun_pos_km, float))
    mars = None if mars_pos_km is None else np.atleast_2d(np.asarray(mars_pos_km, float))
    occ = _occlusion_flag(occlusion)
    c, _, area = facet_frame(shape)
    best = np.full(len(c), np.inf)
    nobs = np.zeros(len(c), int)
    per_epoch = np.zeros(len(sc), int)
    _, nrm, _ = facet_frame(shape)
    for k in range(0, len(sc), chunk):
        sl = slice(k, k + chunk)
        # facet_geometry's visible & illuminated, with the rays cast only for the facets inside the
        # (3.3 deg) field: each ray's answer does not depend on the others, so ``seen`` is the same.
        g = emission_geometry(shape, sc[sl], occlusion=False)
        fov, _ = in_fov(c, sc[sl], instrument.fov_deg)
        sdir = sun[sl] / np.linalg.norm(sun[sl], axis=1, keepdims=True)
        seen = fov & g.visible & (sdir @ nrm.T > 0.0)
        if mars is not None:
            seen &= ~mars_shadow(-mars[sl], sun[sl] - mars[sl])[:, None]
        if occ:
            from ._raycast import occluded

            seen &= ~occluded(shape, c, sc[sl], seen, to_point=True)
            seen &= ~occluded(shape, c, sdir, seen, to_point=False)
        res = g.range_km * 1e3 * instrument.ifov_rad
        if oblique:
            res = res / np.maximum(g.cos_e, 1e-6)
        res = np.where(seen, res, np.inf)
        best = np.minimum(best, res.min(axis=0))
        nobs += seen.sum(axis=0)
        per_epoch[sl] = seen.sum(axis=1)
    r = np.linalg.norm(c, axis=1)
    lat = np.degrees(np.arcsin(np.clip(c[:, 2] / r, -1, 1)))
    lon = np.degrees(np.arctan2(c[:, 1], c[:, 0])) % 360.0
    return Coverage(best, nobs, area, lat, lon, occ, per_epoch)


# --------------------------------------------------------------------------------------------
# High-level entry point
@dataclass
class MIRSResult:
    """What :func:`mirs_along` returns. Per chosen epoch (``epochs``; None where no lit, visible
    facet was in the FOV): the boresight facet, its geometry, spectrum, SNR and band
    detectability. ``coverage``: :class:`Coverage`. ``summary()``: plain numbers."""

    t: np.ndarray
    epochs: list
    facet: list
    geometry: list
    spectra: list
    snr: list
    detectability: list
    coverage: Coverage
    resolution_thresholds_m: tuple
    integration_s: float
    surface: Surface
    reference: tuple = field(default=None)

    def summary(self) -> dict:
        """Plain numbers: coverage fractions, reference-scene SNR at 3.2 µm, and per epoch the
        range, temperature, thermal fraction at 3.5 µm and min detectable band depths."""
        ref_sp, ref_snr = self.reference
        lam = ref_snr.wavelength_um
        j32 = int(np.argmin(np.abs(lam - 3.2)))
        out = {
            "coverage_fraction": {f"<= {x:g} m": self.coverage.fraction_better_than(x)
                                  for x in self.resolution_thresholds_m},
            "coverage_fraction_any": float(self.coverage.area_km2[np.isfinite(self.coverage.best_resolution_m)].sum()
                                           / self.coverage.area_km2.sum()),
            "occlusion_used": self.coverage.occlusion_used,
            "reference_snr_reflected_3p2um": float(ref_snr.snr_reflected[j32]),
            "integration_s": self.integration_s,
            "epochs": [],
        }
        for k, n in enumerate(self.epochs):
            sp = self.spectra[k]
            if sp is None:
                out["epochs"].append({"epoch_index": int(n), "facet": None})
                continue
            j35 = int(np.argmin(np.abs(sp.wavelength_um - 3.5)))
            out["epochs"].append({
                "epoch_index": int(n), "t": float(self.t[n]), "facet": int(self.facet[k]),
                **{kk: float(v) for kk, v in self.geometry[k].items()},
                "temperature_K": float(sp.temperature_K),
                "thermal_fraction_3p5um": float(sp.thermal_fraction[j35]),
                "snr_reflected_3p2um": float(self.snr[k].snr_reflected[j32]),
                "min_depth": {name: d["min_depth"] for name, d in self.detectability[k].items()},
            })
        return out

    def figures(self) -> dict:
        """{"spectrum": ..., "snr": ..., "coverage": ...} matplotlib Figures (Agg)."""
        from matplotlib.figure import Figure

        k = next((j for j, s in enumerate(self.spectra) if s is not None), None)
        sp, sn = (self.spectra[k], self.snr[k]) if k is not None else self.reference
        label = (f"epoch {self.epochs[k]}, facet {self.facet[k]}" if k is not None else "reference scene")
        f1 = Figure(figsize=(7, 6.5))
        ax = f1.add_subplot(211)
        ax.plot(sp.wavelength_um, sp.reflected, label="reflected")
        ax.plot(sp.wavelength_um, sp.total, label="reflected + thermal")
        ax.plot(sp.wavelength_um, sp.thermal, ":", label="thermal")
        ax.set_yscale("log")
        ax.set_ylim(max(1e-4, float(sp.reflected[sp.reflected > 0].min()) / 100) if np.any(sp.reflected > 0) else None)
        ax.set_ylabel("radiance (W m$^{-2}$ sr$^{-1}$ µm$^{-1}$)")
        ax.set_title(f"MIRS spectrum, {label}, T = {float(sp.temperature_K):.0f} K")
        ax.legend()
        light_log_ticks(ax)
        ax2 = f1.add_subplot(212, sharex=ax)
        F = solar_irradiance(sp.wavelength_um, 1.0)  # apparent I/F: total radiance / (F/pi) at the same r
        r_au = float(self.geometry[k]["r_au"]) if k is not None else REFERENCE_SCENE["r_au"]
        F = F / r_au ** 2
        ax2.plot(sp.wavelength_um, sp.iof, label="I/F (reflected)")
        ax2.plot(sp.wavelength_um, np.pi * sp.total / F, "--", label="apparent I/F incl. thermal")
        ax2.set_ylim(0, 2.5 * float(np.max(sp.iof)) if np.max(sp.iof) > 0 else None)
        ax2.set_xlabel("wavelength (µm)")
        ax2.set_ylabel("I/F")
        ax2.legend()
        f2 = Figure(figsize=(7, 4))
        ax = f2.add_subplot(111)
        rs, rn = self.reference
        ax.plot(rn.wavelength_um, rn.snr_reflected, label=f"reference scene, reflected, {rn.integration_s:g} s")
        ax.plot(rn.wavelength_um, rn.snr, "--", label="reference scene, total")
        if k is not None:
            ax.plot(sn.wavelength_um, sn.snr_reflected, label=f"{label}, reflected")
        ax.axhline(MIRS_SNR_SPEC[0], color="k", lw=0.8)
        ax.axvline(MIRS_SNR_SPEC[1], color="k", lw=0.8)
        ax.set_yscale("log")
        ax.set_xlabel("wavelength (µm)")
        ax.set_ylabel("SNR per 10 nm channel")
        ax.set_title('MIRS SNR (published: "> 100 up to 3.2 µm in < 2 s")')
        ax.legend()
        light_log_ticks(ax)
        return {"spectrum": f1, "snr": f2, "coverage": self.coverage.figure()}


def mirs_along(shape, t, sc_pos_km, sun_pos_km, *, surface="phobos", mars_pos_km=None, spectra_at=None,
               integration_s: float = 2.0, instrument: MIRSInstrument = MIRSInstrument(),
               resolution_thresholds_m=(5.0, 20.0, 50.0), bands=None, k_sigma: float = 3.0,
               occlusion="auto", oblique: bool = False) -> MIRSResult:
    """MIRS along a trajectory.

    shape : body-fixed mesh (km); t : (N,) epochs (s, any origin); sc_pos_km, sun_pos_km : (N, 3)
    body-fixed positions relative to the body centre (km), the Sun's distance giving the
    heliocentric distance; spectra_at : epoch indices for spectra (default: the first, middle
    and last epochs at which a lit, visible facet is in the FOV);
    bands : bands whose detectability is computed (default: the surface's bands, else a 2.8 µm
    hydration band, FWHM 0.3 µm); occlusion : True / False / "auto" (ray casting when
    ``mmxsim.instruments._raycast`` is available, else the facing test only, exact for convex
    bodies; which one was used is in ``coverage.occlusion_used``).
    """
    s = _surface(surface)
    tt = np.atleast_1d(np.asarray(t, float))
    sc = np.atleast_2d(np.asarray(sc_pos_km, float))
    sun = np.atleast_2d(np.asarray(sun_pos_km, float))
    if len(tt) != len(sc) or len(sun) != len(sc):
        raise InputError("t/sc_pos_km/sun_pos_km", (len(tt), len(sc), len(sun)), "the same number of epochs")
    if not (np.isfinite(integration_s) and integration_s > 0):
        raise InputError("integration_s", integration_s, "> 0 s")
    if not np.all(np.isfinite(tt)):
        raise InputError("t", "non-finite epochs", "finite times, s")
    cov = coverage(shape, sc, sun, mars_pos_km=mars_pos_km, instrument=instrument, occlusion=occlusion,
                   oblique=oblique)
    n = len(sc)
    if spectra_at is None:  # first, middle and last epoch with a lit, visible facet in the FOV
        ok = np.flatnonzero(cov.facets_per_epoch > 0)
        spectra_at = sorted({int(ok[0]), int(ok[len(ok) // 2]), int(ok[-1])}) if len(ok) else [0]
    spectra_at = [int(x) for x in np.atleast_1d(spectra_at)]
    for x in spectra_at:
        if not 0 <= x < n:
            raise InputError("spectra_at", x, f"epoch indices in 0..{n - 1}")
    if bands is None:
        bands = s.bands or (HYDRATION_BAND,)
    c, _, _ = facet_frame(shape)
    mars = None if mars_pos_km is None else np.atleast_2d(np.asarray(mars_pos_km, float))
    idx = np.array(spectra_at)
    g = facet_geometry(shape, sc[idx], sun[idx], mars_pos_km=None if mars is None else mars[idx],
                       occlusion=cov.occlusion_used)
    fov, off = in_fov(c, sc[idx], instrument.fov_deg)
    facets, geoms, spectra, snrs, dets = [], [], [], [], []
    for k, ep in enumerate(spectra_at):
        ok = fov[k] & g.visible[k] & g.illuminated[k]
        if not ok.any():
            facets.append(None), geoms.append(None), spectra.append(None), snrs.append(None), dets.append(None)
            continue
        f = int(np.argmin(np.where(ok, off[k], np.inf)))
        r_au = float(np.linalg.norm(sun[ep])) / AU_KM
        geo = dict(cos_i=g.cos_i[k, f], cos_e=g.cos_e[k, f], phase_deg=np.degrees(g.phase_rad[k, f]),
                   range_km=g.range_km[k, f], resolution_m=g.range_km[k, f] * 1e3 * instrument.ifov_rad, r_au=r_au)
        sp = radiance_spectrum(s, geo["cos_i"], geo["cos_e"], g.phase_rad[k, f], r_au)
        sn = snr_spectrum(sp, integration_s, instrument)
        det = {b.name or f"{b.center_um:g} µm": band_detectability(sp.wavelength_um, sn.snr_reflected, b.center_um,
                                                                   b.fwhm_um, k_sigma)
               for b in bands}
        facets.append(f), geoms.append(geo), spectra.append(sp), snrs.append(sn), dets.append(det)
    return MIRSResult(tt, spectra_at, facets, geoms, spectra, snrs, dets, cov, tuple(resolution_thresholds_m),
                      float(integration_s), s, reference_snr(integration_s, instrument))
