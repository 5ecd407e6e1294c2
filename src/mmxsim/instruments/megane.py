"""MEGANE: gamma-ray and neutron counts along a trajectory, and abundance precision vs time.

MEGANE (Mars-moon Exploration with GAmma rays and NEutrons) is NASA's contribution to MMX,
built by the Johns Hopkins University Applied Physics Laboratory (JHU/APL; PI D. J. Lawrence):
a high-purity germanium (HPGe) gamma-ray spectrometer and a neutron spectrometer with two ³He
gas proportional counters [NASA-MEGANE], [MMXN-1992], [APL-MEGANE], [MMXN-436].

This is a SIMPLIFIED, first-order model. Published MEGANE performance values (energy
resolution, efficiency, requirements, count rates) are in Lawrence et al. 2019 [L19], which
was not readable (facts-2 §C1, §G item 6); every instrument number below is therefore an
ASSUMPTION taken from heritage HPGe/³He instruments (Mars-96 PGS [PGS96], MESSENGER GRS,
Lunar Prospector) or from first principles, and is a parameter with a documented default.

Model
-----
1. **Line flux at the spacecraft.** Each line ℓ of element e has a half-space yield
   Y_ℓ = the omnidirectional line flux (photons cm⁻² s⁻¹) at the surface of a flat,
   semi-infinite body per unit weight fraction of e (solar-cycle-average cosmic rays for
   neutron-induced lines). The surface radiance (photons cm⁻² s⁻¹ sr⁻¹ per unit projected area)
   is taken ∝ cos^a(θ_e) of the emission angle θ_e, so a flat half-space gives
   ∫ cos^a dΩ = 2π/(a+1). At the spacecraft::

       Φ_ℓ = Y_ℓ · gcr · Σ_f w_e,f · cos^a(e_f) · Ω_f / (2π/(a+1))

   with Ω_f = A_f cos e_f / r_f² the facet solid angle of
   :func:`mmxsim.instruments.geometry.facet_geometry` (gcr = 1 for radioactive lines).
   - radioactive lines (K, Th, U): Y = q / (2 μ) (uncollided photons of a uniform source in an
     absorbing half-space: isotropic radiance q/(4πμ), a = 0; DERIVED, standard transport
     result), with q the line photons per gram per second per unit weight fraction from
     nuclear data and μ the mass attenuation coefficient of silicate rock at the line
     energy (both ASSUMPTION: standard nuclear data, not in the project fact sheets);
   - neutron-induced lines (Fe, Si, O, H, Ca, Mg): Y is an ASSUMPTION (order of magnitude
     of lunar GRS line fluxes; the Reedy 1978 table [REEDY78] was not retrieved, facts-2
     §G item 7), and the radiance law is a = 1/2, the emission law used for MEGANE footprints
     [CHA21] (citing Lawrence 2006). Both are parameters.
   For a sphere of radius R seen from distance r (ρ = r/R) the visible-cap integral is
   (:func:`sphere_geometric_factor`, DERIVED)::

       G_a(ρ) = ∫_cap cos^a(θ_e) dΩ = 2π/((a+2) ρ²) · ₂F₁(½, 1; a/2 + 2; 1/ρ²)

   which is 2π(1 − √(1 − 1/ρ²)) (the disk solid angle) for a = 0 and 2π/(a+1) at ρ = 1.
2. **Mars** is a second source with its own composition (Si 20.5 wt% and 3 wt% water-
   equivalent hydrogen within the Mars Odyssey GRS ranges [BOY07]; other elements bulk
   silicate Mars [YM20]; an ASSUMPTION for the surface) as a sphere of radius 3389.5 km
   [NSSDC-Mars] at the distance of Phobos' orbit (9376 km [JPL-SAT]) unless Mars positions
   are given. Occultation of Mars by Phobos and the attenuation by Mars' atmosphere are NOT
   modelled (Mars' contribution is an upper bound); Mars lines are a known, modelled
   contribution in each window.
3. **Detector** (HPGe, ASSUMPTION from heritage): photopeak effective area
   A(E) = A₁₃₃₂ (E/1332 keV)^−β averaged over directions (A₁₃₃₂ = 7 cm², β = 0.8: a
   5 cm × 5 cm coaxial crystal as on MESSENGER's GRS); resolution
   FWHM(E) = √(n² + 2.355² F ε E) with Fano factor F = 0.1, ε = 2.96 eV per pair in Ge and n
   chosen so that FWHM(1332 keV) = 3.0 keV (in-flight heritage HPGe [PGS96]); continuum
   c(E) = c₀ (E/1 MeV)^−γ counts s⁻¹ keV⁻¹ for a 2π half-space (scaled by the same geometric
   factor, a = 0) plus a spacecraft continuum (both ∝ gcr); a window of ±k·FWHM around each
   line holds the fraction erf(2.355 k/√2) of the peak.
4. **Counts and precision.** Counts = rate × live fraction × time. The net line counts are
   estimated as N_window − N_sidebands − M (side bands of the same total width measure the
   continuum C; M is the modelled Mars line count), so that the relative 1-σ error of an
   element's abundance is σ/S = √(S + M + 2C)/S for S signal counts summed over its lines.
   The time to reach a relative precision p is t = (s + m + 2c)/(s² p²) for rates s, m, c.
5. **Neutrons**: leakage flux (thermal, epithermal, fast) vs water-equivalent hydrogen W
   (wt%) from an ASSUMPTION parameterisation (the quantitative curve is UNCONFIRMED, facts-2
   §D3): epithermal ∝ 1/(1 + W/W_epi), fast ∝ 1/(1 + W/W_fast), thermal
   ∝ (1 + W/W_t)/(1 + W/(3 W_t))² (rises then falls with H). W_epi = 2.32 wt% is DERIVED so that
   125 ppm H (the Lunar Prospector polar value, 100–150 ppm [LAW06]) gives a 4.6 % epithermal
   depression, the north-polar value of [FELD98]; the thermal/epithermal ratio then rises
   monotonically with H, the basis of H mapping [FRM91]. Radiance isotropic (a = 0);
   count rate = flux · gcr · Σ Ω_f/(2π) · effective area (ASSUMPTION). Mars neutrons ignored.

The key outputs are :func:`megane_along` (counts along a trajectory), :func:`precision_table`
(hours to reach precision targets per QSO) and :func:`relative_errors` (what the origin-
inference module draws simulated measurements from).
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.special import erf, hyp2f1

from ..errors import InputError
from ._figures import light_log_ticks
from .geometry import emission_geometry

__all__ = [
    "GammaLine", "LINES", "KEY_ELEMENTS", "KNOWN_ELEMENTS", "COMPOSITIONS", "Detector",
    "NeutronModel", "MeganeResult", "PrecisionTable", "composition_matrix",
    "sphere_geometric_factor", "geometric_factors", "line_fluxes", "line_rates",
    "neutron_leakage", "megane_along", "precision_from_rates", "time_to_precision",
    "qso_positions", "qso_rates", "precision_table", "relative_errors", "retrieve",
    "simulate_counts",
]

# ------------------------------------------------------------------------------------------
# Constants
YEAR_S = 365.25 * 86400.0
AVOGADRO = 6.02214076e23  # mol^-1, exact (SI 2019)
#: Mars volumetric-mean radius, km [NSSDC-Mars] (mmx-facts §0).
MARS_RADIUS_KM = 3389.5
#: Phobos semi-major axis, km [JPL-SAT] (mmx-facts §0): the default Mars distance.
PHOBOS_A_KM = 9376.0
#: Phobos mean motion, rad/s [JPL-SAT] (mmx-facts §0): QSO period 2π/n.
PHOBOS_N_RAD_S = 2.2803e-4
H2O_PER_H = 18.015 / 2.016  # mass of water per mass of H (standard atomic masses)


def _radioactive_yield(half_life_yr, molar_mass, isotopic_fraction, gammas_per_decay, mu_cm2_g):
    """Half-space omnidirectional line flux per unit weight fraction, q/(2μ) (DERIVED).

    q = photons g⁻¹ s⁻¹ for a weight fraction of 1 = (N_A/M)·x_iso·λ·y_γ.
    """
    lam = math.log(2.0) / (half_life_yr * YEAR_S)
    q = AVOGADRO / molar_mass * isotopic_fraction * lam * gammas_per_decay
    return q / (2.0 * mu_cm2_g)


@dataclass(frozen=True)
class GammaLine:
    """One gamma-ray line: element, energy (keV), process, half-space yield
    (photons cm⁻² s⁻¹ per unit weight fraction), emission exponent a, source note."""

    name: str
    element: str
    energy_kev: float
    process: str  # "radioactive" | "inelastic" | "capture"
    yield_2pi: float
    exponent: float
    source: str


# Radioactive lines. Nuclear data (half-lives, isotopic fractions, branchings) and silicate
# attenuation coefficients are ASSUMPTION: standard values (ENSDF/NNDC; XCOM for SiO2-like
# rock), not in the project fact sheets, except the 40K 10.7 % branching [NUC-LIB].
_K_YIELD = _radioactive_yield(1.248e9, 39.098, 1.17e-4, 0.107, 0.0525)   # 40K, 1460.8 keV
_TH_YIELD = _radioactive_yield(1.405e10, 232.04, 1.0, 0.356, 0.0396)     # 208Tl in 232Th chain
_U_YIELD = _radioactive_yield(4.468e9, 238.03, 0.9927, 0.153, 0.0478)    # 214Bi in 238U chain

#: Lines modelled. Energies of K, Th, Fe, Si, O, H lines: facts-2 §D1; Ca, Mg and U lines are
#: standard nuclear data (ASSUMPTION). Neutron-induced yields: ASSUMPTION (see module doc).
LINES: tuple[GammaLine, ...] = (
    GammaLine("K 1461", "K", 1460.8, "radioactive", _K_YIELD, 0.0,
              "40K decay [NUC-LIB]; yield DERIVED q/(2mu)"),
    GammaLine("Th 2614", "Th", 2614.5, "radioactive", _TH_YIELD, 0.0,
              "208Tl (232Th chain) facts-2 D1; yield DERIVED q/(2mu)"),
    GammaLine("U 1764", "U", 1764.5, "radioactive", _U_YIELD, 0.0,
              "214Bi (238U chain) ASSUMPTION nuclear data; yield DERIVED q/(2mu)"),
    GammaLine("Fe 7631", "Fe", 7631.1, "capture", 0.056, 0.5,
              "56Fe(n,g) facts-2 D1; yield ASSUMPTION"),
    GammaLine("Fe 7646", "Fe", 7645.5, "capture", 0.047, 0.5,
              "56Fe(n,g) facts-2 D1; yield ASSUMPTION"),
    GammaLine("Si 1779", "Si", 1778.9, "inelastic", 0.086, 0.5,
              "28Si(n,n'g) facts-2 D1; yield ASSUMPTION"),
    GammaLine("O 6129", "O", 6129.1, "inelastic", 0.047, 0.5,
              "16O(n,n'g) facts-2 D1; yield ASSUMPTION"),
    GammaLine("H 2223", "H", 2223.2, "capture", 5.0, 0.5,
              "1H(n,g) facts-2 D1; yield ASSUMPTION (saturating at % H)"),
    GammaLine("Ca 1942", "Ca", 1942.7, "capture", 0.030, 0.5,
              "40Ca(n,g) ASSUMPTION line and yield"),
    GammaLine("Mg 1369", "Mg", 1368.6, "inelastic", 0.12, 0.5,
              "24Mg(n,n'g) ASSUMPTION line and yield"),
)

#: The six key elements of the origin question [H24] (facts-2 §C2), plus K.
KEY_ELEMENTS = ("Fe", "Si", "O", "Ca", "Mg", "Th")
_LINE_ELEMENTS = ("K", "Th", "U", "Fe", "Si", "O", "H", "Ca", "Mg")
#: Elements accepted in a composition: those with lines, plus major/minor rock-forming
#: elements that only dilute (they count in the sum ≤ 1 but emit no modelled line).
KNOWN_ELEMENTS = _LINE_ELEMENTS + ("Al", "Na", "S", "C", "N", "Ni", "Cl", "Ti", "Cr", "Mn",
                                   "P", "Co", "Zn")

#: End-member compositions (weight fractions). CI: Palme & O'Neill 2014 [PO14] (facts-2 §C3);
#: bulk silicate Mars [YM20] (oxides SECONDARY, elements DERIVED in facts-2 §C3); Mars
#: surface: BSM with Si 20.5 wt% (Odyssey GRS 19–22 wt% [BOY07]) and H for 3 wt% water-
#: equivalent hydrogen (Odyssey 1.5–7.5 wt% [BOY07]); the rest of the surface as BSM is an
#: ASSUMPTION (the real surface is K- and Th-enriched).
COMPOSITIONS: dict[str, dict[str, float]] = {
    "CI": {"O": 0.459, "Si": 0.107, "Mg": 0.0954, "Fe": 0.1866, "Ca": 0.00911, "Al": 0.0084,
           "S": 0.0535, "C": 0.0348, "H": 0.0197, "Na": 0.004962, "K": 546e-6,
           "Th": 30e-9, "U": 8.1e-9, "Ni": 0.01091},
    "BSM": {"O": 0.430, "Si": 0.2127, "Mg": 0.1869, "Fe": 0.1143, "Ca": 0.0206, "Al": 0.019,
            "Ti": 0.0010, "Cr": 0.0060, "Mn": 0.0029, "Na": 0.0044, "K": 360e-6, "P": 0.00074,
            "Ni": 0.00036, "Th": 68e-9, "U": 18e-9},
}
COMPOSITIONS["MARS_SURFACE"] = dict(COMPOSITIONS["BSM"], Si=0.205, H=0.03 / H2O_PER_H)


# ------------------------------------------------------------------------------------------
# Composition handling
def composition_matrix(composition, n_facets: int, elements=None) -> np.ndarray:
    """(F, len(KNOWN_ELEMENTS)) weight fractions from a dict (uniform), a name in
    COMPOSITIONS, or an (F, n) / (n,) array whose columns are ``elements``.

    Raises InputError for unknown elements, negative or non-finite fractions, sums > 1
    (+1e-9), or a wrong number of rows.
    """
    idx = {e: i for i, e in enumerate(KNOWN_ELEMENTS)}
    if isinstance(composition, str):
        if composition not in COMPOSITIONS:
            raise InputError("composition", composition, f"one of {sorted(COMPOSITIONS)} or a dict")
        composition = COMPOSITIONS[composition]
    if isinstance(composition, dict):
        elements = list(composition)
        values = np.array([composition[e] for e in elements], dtype=float)[None, :]
    else:
        if elements is None:
            raise InputError("elements", None, "the element of each column of an array composition")
        elements = list(elements)
        try:
            values = np.asarray(composition, dtype=float)
        except (TypeError, ValueError):
            raise InputError("composition", type(composition).__name__,
                             "a dict, a COMPOSITIONS name or an array of weight fractions") from None
        if values.ndim == 1:
            values = values[None, :]
        if values.ndim != 2 or values.shape[1] != len(elements) or values.shape[0] not in (1, n_facets):
            raise InputError("composition", f"array of shape {values.shape}",
                             f"(n,) or ({n_facets}, n) with n = {len(elements)} elements")
    for e in elements:
        if e not in idx:
            raise InputError("composition element", e, f"one of {', '.join(KNOWN_ELEMENTS)}")
    if len(set(elements)) != len(elements):
        raise InputError("composition elements", elements, "each element once")
    if not np.all(np.isfinite(values)) or np.any(values < 0.0):
        bad = values[~(np.isfinite(values) & (values >= 0.0))].ravel()[0]
        raise InputError("composition", float(bad), "weight fractions >= 0 (finite)")
    s = values.sum(axis=1)
    if np.any(s > 1.0 + 1e-9):
        raise InputError("composition", f"weight fractions summing to {s.max():.6g}",
                         "a total <= 1 (weight fractions, not wt%)")
    out = np.zeros((values.shape[0], len(KNOWN_ELEMENTS)))
    for j, e in enumerate(elements):
        out[:, idx[e]] = values[:, j]
    return out


def _element_col(e: str) -> int:
    if e not in KNOWN_ELEMENTS:
        raise InputError("GammaLine.element", e, f"one of {', '.join(KNOWN_ELEMENTS)}")
    return KNOWN_ELEMENTS.index(e)


# ------------------------------------------------------------------------------------------
# Geometry
def sphere_geometric_factor(radius_km, distance_km, exponent: float = 0.0):
    """G_a(ρ) = ∫ over the visible cap of cos^a(θ_e) dΩ (sr) for a sphere seen from
    ``distance_km`` from its centre (closed form, see module docstring; DERIVED)."""
    a = float(exponent)
    rho = np.asarray(distance_km, dtype=float) / float(radius_km)
    if np.any(rho < 1.0) or not np.isfinite(a) or a < 0.0:
        raise InputError("distance_km", distance_km, ">= radius_km, and exponent >= 0")
    return 2.0 * np.pi / ((a + 2.0) * rho**2) * hyp2f1(0.5, 1.0, a / 2.0 + 2.0, 1.0 / rho**2)


def geometric_factors(solid_angle_sr, cos_e, weights, exponent: float):
    """Σ_f weights_f · cos^a(e_f) · Ω_f for each epoch: (N, F) geometry, (F, k) weights → (N, k)."""
    ce = np.clip(cos_e, 0.0, 1.0)
    kern = solid_angle_sr * (ce**exponent if exponent != 0.0 else 1.0)
    return kern @ weights


def _occlusion_default() -> bool:
    return importlib.util.find_spec("mmxsim.instruments._raycast") is not None


def _geometry_chunks(shape, sc, occlusion, chunk=64):
    """Yield (slice, EmissionGeometry) over epochs in chunks (memory ~ chunk × F × 3 doubles).
    Gamma rays and neutrons need no Sun: only the spacecraft side of the geometry is computed
    (:func:`~mmxsim.instruments.geometry.emission_geometry`, the same values as ``facet_geometry``)."""
    for i in range(0, len(sc), chunk):
        s = slice(i, min(i + chunk, len(sc)))
        yield s, emission_geometry(shape, sc[s], occlusion=occlusion)


# ------------------------------------------------------------------------------------------
# Detector
@dataclass(frozen=True)
class Detector:
    """HPGe gamma-ray detector and ³He neutron counters. All defaults are ASSUMPTION
    (heritage, see module docstring); MEGANE's own values are in [L19] (not read). MEGANE's
    GRS follows APL's GeMini design, a cryocooled HPGe crystal (< 2 kg) [GEMINI]."""

    area_1332_cm2: float = 7.0          # photopeak effective area at 1332 keV, direction-averaged
    area_slope: float = 0.8             # A ∝ E^-slope
    fwhm_1332_kev: float = 3.0          # [PGS96] heritage in-flight HPGe resolution
    fano: float = 0.1                   # Ge Fano factor (ASSUMPTION, standard)
    pair_energy_kev: float = 2.96e-3    # Ge energy per e-h pair (ASSUMPTION, standard)
    window_k: float = 1.0               # window ±k·FWHM
    continuum_c0: float = 0.01          # counts s^-1 keV^-1 at 1 MeV, 2π half-space
    continuum_gamma: float = 1.3
    sc_continuum_c0: float = 0.004      # spacecraft continuum, counts s^-1 keV^-1 at 1 MeV
    live_fraction: float = 0.9
    neutron_area_cm2: tuple = (10.0, 5.0, 2.0)  # thermal, epithermal, fast effective areas

    def __post_init__(self):
        for name in ("area_1332_cm2", "fwhm_1332_kev", "fano", "pair_energy_kev", "window_k"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise InputError(f"Detector.{name}", v, "> 0")
        for name in ("area_slope", "continuum_c0", "continuum_gamma", "sc_continuum_c0"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v >= 0):
                raise InputError(f"Detector.{name}", v, ">= 0")
        if not 0.0 < self.live_fraction <= 1.0:
            raise InputError("Detector.live_fraction", self.live_fraction, "in (0, 1]")
        if self._stat2(1332.0) >= self.fwhm_1332_kev**2:
            raise InputError("Detector.fwhm_1332_kev", self.fwhm_1332_kev,
                             f"> the Fano limit {math.sqrt(self._stat2(1332.0)):.3f} keV")

    def _stat2(self, e_kev):
        return 2.355**2 * self.fano * self.pair_energy_kev * e_kev

    def fwhm_kev(self, e_kev):
        n2 = self.fwhm_1332_kev**2 - self._stat2(1332.0)
        return np.sqrt(n2 + self._stat2(np.asarray(e_kev, float)))

    def effective_area_cm2(self, e_kev):
        return self.area_1332_cm2 * (np.asarray(e_kev, float) / 1332.0) ** (-self.area_slope)

    @property
    def window_fraction(self) -> float:
        """Fraction of a Gaussian peak inside ±k·FWHM."""
        return float(erf(2.0 * math.sqrt(2.0 * math.log(2.0)) * self.window_k / math.sqrt(2.0)))

    def window_kev(self, e_kev):
        return 2.0 * self.window_k * self.fwhm_kev(e_kev)

    def continuum_rate(self, e_kev, body_fraction, gcr=1.0):
        """Continuum counts/s in the window at e_kev: body (fraction of a 2π half-space) + s/c."""
        shape = (np.asarray(e_kev, float) / 1000.0) ** (-self.continuum_gamma) * self.window_kev(e_kev)
        return gcr * shape * (self.continuum_c0 * np.asarray(body_fraction) + self.sc_continuum_c0)


# ------------------------------------------------------------------------------------------
# Neutrons
#: Lunar polar H (100–150 ppm, [LAW06]) as water-equivalent wt%, and the epithermal
#: depression observed there (4.6 % north, [FELD98]): W_epi = W (1 − d)/d (DERIVED).
LP_POLAR_WEH_WT = 100.0 * 125e-6 * H2O_PER_H
LP_EPI_DEPRESSION = 0.046
_W_EPI_DEFAULT = LP_POLAR_WEH_WT * (1.0 - LP_EPI_DEPRESSION) / LP_EPI_DEPRESSION


@dataclass(frozen=True)
class NeutronModel:
    """Leakage flux (n cm⁻² s⁻¹, omnidirectional, flat dry half-space) vs water-equivalent
    hydrogen W (wt%). Dry fluxes and the fast/thermal scales are ASSUMPTION (lunar-heritage
    order of magnitude); w_epi is DERIVED from [FELD98] and [LAW06] (module docstring)."""

    dry_flux: tuple = (1.0, 1.5, 1.0)   # thermal, epithermal, fast
    w_epi_wt: float = _W_EPI_DEFAULT  # DERIVED: 125 ppm H [LAW06] → 4.6 % dip [FELD98]
    w_fast_wt: float = 6.0
    w_thermal_wt: float = 1.0

    def leakage(self, w_wt):
        w = np.asarray(w_wt, float)
        th = self.dry_flux[0] * (1 + w / self.w_thermal_wt) / (1 + w / (3 * self.w_thermal_wt)) ** 2
        ep = self.dry_flux[1] / (1 + w / self.w_epi_wt)
        fa = self.dry_flux[2] / (1 + w / self.w_fast_wt)
        return np.stack([th, ep, fa], axis=-1)


NEUTRON_CLASSES = ("thermal", "epithermal", "fast")


def neutron_leakage(h_wt_fraction, model: NeutronModel | None = None):
    """Leakage fluxes (thermal, epithermal, fast), n cm⁻² s⁻¹, for an H weight fraction."""
    h = np.asarray(h_wt_fraction, float)
    if np.any(~np.isfinite(h)) or np.any(h < 0) or np.any(h > 1.0 / H2O_PER_H):
        raise InputError("h_wt_fraction", h_wt_fraction, f"in [0, {1 / H2O_PER_H:.4f}] (pure water)")
    return (model or NeutronModel()).leakage(100.0 * H2O_PER_H * h)


# ------------------------------------------------------------------------------------------
# Fluxes and rates
def _check_gcr(gcr):
    if not (np.isfinite(gcr) and gcr > 0):
        raise InputError("gcr_factor", gcr, "> 0 (1 = solar-cycle average GCR)")


def line_fluxes(shape, sc_pos_km, composition, *, elements=None, gcr_factor: float = 1.0,
                lines=LINES, occlusion=None, geometry=None):
    """Line fluxes (photons cm⁻² s⁻¹) at the spacecraft from the body: (N, n_lines).

    ``geometry``: an optional precomputed :class:`FacetGeometry` or
    :class:`~mmxsim.instruments.geometry.EmissionGeometry` (only ``cos_e`` and ``solid_angle_sr``
    are read; then ``sc_pos_km`` is unused except for its length)."""
    _check_gcr(gcr_factor)
    sc = np.atleast_2d(np.asarray(sc_pos_km, float))
    F = len(shape.faces)
    W = composition_matrix(composition, F, elements)
    if W.shape[0] == 1:
        W = np.repeat(W, F, axis=0)
    cols = [_element_col(ln.element) for ln in lines]
    occ = _occlusion_default() if occlusion is None else occlusion
    out = np.zeros((len(sc), len(lines)))
    chunks = [(slice(0, len(sc)), geometry)] if geometry is not None else _geometry_chunks(shape, sc, occ)
    for s, g in chunks:
        for a in sorted({ln.exponent for ln in lines}):
            sel = [i for i, ln in enumerate(lines) if ln.exponent == a]
            G = geometric_factors(g.solid_angle_sr, g.cos_e, W[:, [cols[i] for i in sel]], a)
            norm = 2.0 * np.pi / (a + 1.0)
            y = np.array([lines[i].yield_2pi * (1.0 if lines[i].process == "radioactive" else gcr_factor)
                          for i in sel])
            out[s, sel] = G * y / norm
    return out


def _mars_line_fluxes(distance_km, composition, gcr_factor, lines):
    W = composition_matrix(composition, 1)[0]
    out = []
    for ln in lines:
        G = sphere_geometric_factor(MARS_RADIUS_KM, distance_km, ln.exponent)
        g = 1.0 if ln.process == "radioactive" else gcr_factor
        out.append(ln.yield_2pi * g * W[_element_col(ln.element)] * G / (2 * np.pi / (ln.exponent + 1)))
    return np.stack(out, axis=-1)


def line_rates(flux, detector: Detector, lines=LINES):
    """Photopeak counts/s inside each line's window for fluxes (N, n_lines)."""
    e = np.array([ln.energy_kev for ln in lines])
    return flux * detector.effective_area_cm2(e) * detector.window_fraction


@dataclass
class _Rates:
    signal: np.ndarray      # (N, L) counts/s from the body's lines
    mars: np.ndarray        # (N, L) counts/s from Mars' lines
    continuum: np.ndarray   # (N, L) continuum counts/s in each window
    neutrons: np.ndarray    # (N, 3) counts/s
    flux: np.ndarray        # (N, L) photons cm^-2 s^-1 from the body
    omega_sr: np.ndarray    # (N,) body solid angle


def _rates(shape, sc, composition, elements, detector, neutron_model, gcr, mars_composition,
           mars_pos_km, lines, occlusion, chunks=None):
    _check_gcr(gcr)
    F = len(shape.faces)
    W = composition_matrix(composition, F, elements)
    if W.shape[0] == 1:
        W = np.repeat(W, F, axis=0)
    occ = _occlusion_default() if occlusion is None else occlusion
    N = len(sc)
    flux = np.zeros((N, len(lines)))
    omega = np.zeros(N)
    G0 = np.zeros(N)
    neut = np.zeros((N, 3))
    nm = neutron_model or NeutronModel()
    leak = nm.leakage(100.0 * H2O_PER_H * W[:, _element_col("H")])  # (F, 3)
    for s, g in (chunks if chunks is not None else _geometry_chunks(shape, sc, occ)):
        flux[s] = line_fluxes(shape, sc[s], W, elements=KNOWN_ELEMENTS, gcr_factor=gcr,
                              lines=lines, geometry=g)
        omega[s] = g.solid_angle_sr.sum(axis=1)
        G0[s] = omega[s]
        neut[s] = gcr * (g.solid_angle_sr @ leak) / (2 * np.pi) * np.array(detector.neutron_area_cm2)
    if mars_pos_km is None:
        dmars = np.full(N, PHOBOS_A_KM)
    else:
        m = np.atleast_2d(np.asarray(mars_pos_km, float))
        if m.shape != sc.shape or not np.all(np.isfinite(m)):
            raise InputError("mars_pos_km", f"array of shape {m.shape}", f"{sc.shape}, finite, km")
        dmars = np.linalg.norm(m - sc, axis=1)
    if mars_composition is None:
        mflux = np.zeros_like(flux)
        mars_frac = np.zeros(N)
    else:
        mflux = _mars_line_fluxes(dmars, mars_composition, gcr, lines)
        mars_frac = sphere_geometric_factor(MARS_RADIUS_KM, dmars, 0.0) / (2 * np.pi)
    e = np.array([ln.energy_kev for ln in lines])
    body_frac = G0 / (2 * np.pi) + mars_frac
    cont = detector.continuum_rate(e[None, :], body_frac[:, None], gcr)
    return _Rates(line_rates(flux, detector, lines), line_rates(mflux, detector, lines), cont,
                  neut, flux, omega)


# ------------------------------------------------------------------------------------------
# Precision and retrieval
def _element_groups(lines):
    groups: dict[str, list[int]] = {}
    for i, ln in enumerate(lines):
        groups.setdefault(ln.element, []).append(i)
    return groups


def precision_from_rates(s, m, c, t_s):
    """Relative 1-σ error √(S + M + 2C)/S of the net signal after t_s seconds (live)."""
    s, m, c, t = (np.asarray(x, float) for x in (s, m, c, t_s))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(s > 0, np.sqrt((s + m + 2 * c) * t) / (s * t), np.inf)


def time_to_precision(s, m, c, target):
    """Live seconds to reach relative precision ``target``: (s + m + 2c)/(s² p²)."""
    p = np.asarray(target, float)
    if np.any(~(p > 0)):
        raise InputError("target", target, "relative precision > 0 (e.g. 0.1 for 10 %)")
    s = np.asarray(s, float)
    with np.errstate(divide="ignore"):
        return np.where(s > 0, (s + np.asarray(m) + 2 * np.asarray(c)) / (s**2 * p**2), np.inf)


def simulate_counts(signal, mars, continuum, rng=None, size=None):
    """Poisson draws: (window counts, side-band counts) for expected counts per line."""
    rng = np.random.default_rng(rng)
    S, M, C = (np.asarray(x, float) for x in (signal, mars, continuum))
    shp = np.broadcast_shapes(S.shape, M.shape, C.shape) if size is None else size
    return rng.poisson(S + M + C, size=shp), rng.poisson(C, size=shp)


def retrieve(window, side, signal, mars, lines=LINES, model_abundance=None):
    """Abundance scale factors (measured / model) and 1-σ errors per element.

    window, side : observed counts per line (..., L); signal, mars : model expected counts per
    line (L,) at the model abundance. Estimator k̂ = Σ(N − B_side − M)/ΣS over the element's
    lines; σ_k = √Σ(N + B_side)/ΣS. Returns {element: (k̂, σ_k)} (arrays over leading axes),
    multiplied by ``model_abundance[element]`` if given (then abundances ± σ)."""
    window, side = np.asarray(window, float), np.asarray(side, float)
    out = {}
    for el, idx in _element_groups(lines).items():
        S = np.sum(np.asarray(signal, float)[..., idx], axis=-1)
        net = np.sum(window[..., idx] - side[..., idx] - np.asarray(mars, float)[..., idx], axis=-1)
        var = np.sum(window[..., idx] + side[..., idx], axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            k, sk = net / S, np.sqrt(var) / S
        f = 1.0 if model_abundance is None else model_abundance.get(el, np.nan)
        out[el] = (k * f, sk * f)
    return out


# ------------------------------------------------------------------------------------------
# Along a trajectory
@dataclass
class MeganeResult:
    """Counts along a trajectory. Rates (N, L) counts/s per line (signal from the body, Mars
    lines, continuum in window); neutrons (N, 3) counts/s; accumulated expected and simulated
    counts; retrieved abundances {element: (value, σ)} in weight fraction."""

    t_s: np.ndarray
    lines: tuple
    signal_rate: np.ndarray
    mars_rate: np.ndarray
    continuum_rate: np.ndarray
    neutron_rate: np.ndarray
    flux: np.ndarray
    body_solid_angle_sr: np.ndarray
    live_s: float
    expected: dict            # "signal", "mars", "continuum" → (L,) accumulated expected counts
    window_counts: np.ndarray  # (L,) simulated Poisson counts in each window
    side_counts: np.ndarray    # (L,) simulated side-band counts
    neutron_counts: np.ndarray  # (3,) simulated
    abundances: dict          # element → (value, σ) weight fraction
    model_abundance: dict     # element → mean model weight fraction on the body
    relative_sigma: dict      # element → predicted σ/value (analytic)

    def element_rates(self):
        """Mean rates per element over the trajectory: {el: (s, m, c)} counts/s."""
        out = {}
        for el, idx in _element_groups(self.lines).items():
            out[el] = tuple(float(np.mean(x[:, idx].sum(axis=1)))
                            for x in (self.signal_rate, self.mars_rate, self.continuum_rate))
        return out

    def table(self) -> str:
        rows = ["| element | signal c/s | Mars c/s | continuum c/s | counts | retrieved / model | rel. σ |",
                "|---|---|---|---|---|---|---|"]
        for el, (s, m, c) in self.element_rates().items():
            v, sg = self.abundances[el]
            mod = self.model_abundance[el]
            idx = _element_groups(self.lines)[el]
            rows.append(f"| {el} | {s:.4g} | {m:.3g} | {c:.3g} | {self.expected['signal'][idx].sum():.4g} | "
                        f"{v / mod if mod > 0 else float('nan'):.3f} | {self.relative_sigma[el]:.3g} |")
        return "\n".join(rows)

    def figures(self):
        """[count-rate time series per line (+ neutrons), precision vs time per element]."""
        from matplotlib.figure import Figure

        h = (self.t_s - self.t_s[0]) / 3600.0
        f1 = Figure(figsize=(9.5, 5), layout="constrained")
        ax = f1.add_subplot(111)
        for i, ln in enumerate(self.lines):
            ax.semilogy(h, self.signal_rate[:, i], label=ln.name)
        for j, nm in enumerate(NEUTRON_CLASSES):
            ax.semilogy(h, self.neutron_rate[:, j], "--", label=f"n {nm}")
        ax.set_xlabel("time since start (h)")
        ax.set_ylabel("count rate (counts/s)")
        ax.set_title("MEGANE count rates from the body (peak in window; neutrons dashed)")
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
        light_log_ticks(ax)
        f2 = Figure(figsize=(7, 5))
        ax2 = f2.add_subplot(111)
        dt = _dt(self.t_s) * (self.live_s / max(_dt(self.t_s).sum(), 1e-300))
        cum = np.cumsum(dt)
        for el, idx in _element_groups(self.lines).items():
            S = np.cumsum(self.signal_rate[:, idx].sum(1) * dt)
            M = np.cumsum(self.mars_rate[:, idx].sum(1) * dt)
            C = np.cumsum(self.continuum_rate[:, idx].sum(1) * dt)
            with np.errstate(divide="ignore", invalid="ignore"):
                ax2.loglog(cum / 3600.0, np.sqrt(S + M + 2 * C) / S, label=el)
        ax2.set_xlabel("live time (h)")
        ax2.set_ylabel("relative 1-σ abundance error")
        ax2.set_title("MEGANE precision along the trajectory")
        ax2.legend(fontsize=8, ncol=2)
        light_log_ticks(ax2)
        return [f1, f2]


def _dt(t):
    t = np.asarray(t, float)
    if len(t) == 1:
        return np.ones(1)
    d = np.gradient(t)
    return d


def megane_along(shape, t, sc_pos_km, composition="CI", *, elements=None, detector=None,
                 neutron_model=None, gcr_factor: float = 1.0, mars_composition="MARS_SURFACE",
                 mars_pos_km=None, lines=LINES, occlusion=None, rng=None) -> MeganeResult:
    """MEGANE count rates, accumulated counts and retrieved abundances along a trajectory.

    t : (N,) epochs, s (increasing); sc_pos_km : (N, 3) body-fixed spacecraft positions, km;
    composition : dict / COMPOSITIONS name / (F, n) array with ``elements``; gcr_factor :
    cosmic-ray flux relative to the solar-cycle average; mars_composition : None to leave Mars
    out; mars_pos_km : (N, 3) Mars centre, body-fixed (default: at 9376 km, only its distance
    matters); occlusion : None = ray casting if available, else facing only.
    """
    t = np.asarray(t, float)
    sc = np.atleast_2d(np.asarray(sc_pos_km, float))
    if t.ndim != 1 or len(t) != len(sc) or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise InputError("t", f"array of shape {t.shape}", f"increasing finite epochs, {len(sc)} of them")
    if sc.shape[1] != 3 or not np.all(np.isfinite(sc)):
        raise InputError("sc_pos_km", f"array of shape {sc.shape}", "(N, 3) finite, km")
    r = np.linalg.norm(sc, axis=1)
    rmax = np.linalg.norm(shape.vertices, axis=1).max()
    if np.any(r <= rmax * 0.5):
        raise InputError("sc_pos_km", float(r.min()), "positions outside the body")
    det = detector or Detector()
    R = _rates(shape, sc, composition, elements, det, neutron_model, gcr_factor, mars_composition,
               mars_pos_km, lines, occlusion)
    dt = _dt(t) * det.live_fraction
    exp = {k: (getattr(R, a) * dt[:, None]).sum(axis=0)
           for k, a in (("signal", "signal"), ("mars", "mars"), ("continuum", "continuum"))}
    win, side = simulate_counts(exp["signal"], exp["mars"], exp["continuum"], rng)
    rng2 = np.random.default_rng(None if rng is None else np.random.default_rng(rng).integers(2**63))
    ncounts = rng2.poisson((R.neutrons * dt[:, None]).sum(axis=0))
    F = len(shape.faces)
    W = composition_matrix(composition, F, elements)
    _, _, area = _facet_areas(shape)
    wmean = (W * area[:, None]).sum(0) / area.sum() if W.shape[0] > 1 else W[0]
    model = {el: float(wmean[_element_col(el)]) for el in _element_groups(lines)}
    ab = retrieve(win, side, exp["signal"], exp["mars"], lines, model)
    rel = {}
    for el, idx in _element_groups(lines).items():
        rel[el] = float(precision_from_rates(exp["signal"][idx].sum(), exp["mars"][idx].sum(),
                                             exp["continuum"][idx].sum(), 1.0))
    return MeganeResult(t, tuple(lines), R.signal, R.mars, R.continuum, R.neutrons, R.flux, R.omega_sr,
                        float(dt.sum()), exp, win, side, ncounts,
                        {k: (float(v[0]), float(v[1])) for k, v in ab.items()}, model, rel)


def _facet_areas(shape):
    from .geometry import facet_frame

    return facet_frame(shape)


# ------------------------------------------------------------------------------------------
# QSO campaign
def qso_positions(size_km: float, n: int = 96):
    """Body-fixed positions (n, 3) and epochs over one period of the linear Hill QSO ellipse
    of radial semi-axis ``size_km`` and along-track 2·size (mmx-facts §4.3, DERIVED): body axes
    are Hill axes rotated 180° about z. SIMPLIFIED: real small QSOs are shorter along track
    (see docs/qso.md); pass a real trajectory to :func:`megane_along` for those."""
    s = float(size_km)
    if not (np.isfinite(s) and 0 < s <= 1000):
        raise InputError("qso_size_km", size_km, "a size in (0, 1000] km")
    if not (isinstance(n, (int, np.integer)) and n >= 4):
        raise InputError("n", n, "an integer >= 4")
    tau = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    pos = np.stack([s * np.cos(tau), -2 * s * np.sin(tau), np.zeros(n)], axis=1)
    return tau / PHOBOS_N_RAD_S, pos


def qso_rates(shape, qso_size_km, composition="CI", *, elements=None, detector=None,
              gcr_factor=1.0, mars_composition="MARS_SURFACE", lines=LINES, occlusion=None,
              n: int = 96):
    """Mean rates per element over one QSO revolution: {el: (signal, mars, continuum)} c/s,
    plus the mean neutron rates (3,) c/s."""
    t, pos = qso_positions(qso_size_km, n)
    rmax = np.linalg.norm(shape.vertices, axis=1).max()
    if np.min(np.linalg.norm(pos, axis=1)) <= rmax:
        raise InputError("qso_size_km", qso_size_km,
                         f"a QSO that stays outside the body (radius up to {rmax:.2f} km)")
    det = detector or Detector()
    occ = _occlusion_default() if occlusion is None else occlusion
    R = _rates(shape, pos, composition, elements, det, None, gcr_factor, mars_composition, None,
               lines, occ, chunks=_qso_geometry(shape, qso_size_km, n, occ, pos))
    out = {el: tuple(float(np.mean(x[:, idx].sum(axis=1))) for x in (R.signal, R.mars, R.continuum))
           for el, idx in _element_groups(lines).items()}
    return out, R.neutrons.mean(axis=0)


_QSO_GEOMETRY: dict = {}
_QSO_GEOMETRY_MAX = 8          # entries kept (one per shape, QSO size, n, occlusion)
_QSO_GEOMETRY_MAX_FACETS = 10_000  # larger meshes are not kept (two 96 x F double arrays per entry)


def _qso_geometry(shape, size_km: float, n: int, occlusion: bool, pos):
    """The emission geometry of one QSO revolution (:func:`qso_positions`), chunked as
    :func:`_geometry_chunks` gives it, kept per (shape, size, n, occlusion): it does not depend on
    the composition, so ``origin`` (the true Phobos) and ``megane`` (the precision table) in one
    process, or several calls for one QSO, cast the same rays once. Only ``cos_e`` and
    ``solid_angle_sr`` are kept (what the rates use). The shapes of
    :func:`mmxsim.bodies.shapes.phobos_shape` are shared read-only objects; the entry holds a
    weak reference to check that the key's shape is still the same object."""
    import weakref

    key = (id(shape), float(size_km), int(n), bool(occlusion))
    hit = _QSO_GEOMETRY.get(key)
    if hit is not None and hit[0]() is shape:
        return hit[1]
    chunks = [(sl, _EmissionPart(g.cos_e, g.solid_angle_sr)) for sl, g in _geometry_chunks(shape, pos, occlusion)]
    if len(shape.faces) <= _QSO_GEOMETRY_MAX_FACETS:
        try:
            ref = weakref.ref(shape)
        except TypeError:
            return chunks
        while len(_QSO_GEOMETRY) >= _QSO_GEOMETRY_MAX:
            _QSO_GEOMETRY.pop(next(iter(_QSO_GEOMETRY)))
        for _, part in chunks:
            part.cos_e.flags.writeable = False
            part.solid_angle_sr.flags.writeable = False
        _QSO_GEOMETRY[key] = (ref, chunks)
    return chunks


@dataclass(frozen=True)
class _EmissionPart:
    cos_e: np.ndarray
    solid_angle_sr: np.ndarray


@dataclass
class PrecisionTable:
    """Hours of QSO time (wall clock, live fraction applied) to reach each relative precision
    target, per element and QSO size."""

    qso_sizes_km: tuple
    targets: tuple
    elements: tuple
    hours: np.ndarray        # (n_qso, n_el, n_targets)
    rates: list              # per QSO: {el: (s, m, c)} c/s
    neutron_rates: np.ndarray  # (n_qso, 3) c/s
    live_fraction: float

    def markdown(self) -> str:
        head = "| QSO size km | element | signal c/s | " + " | ".join(
            f"h to {100 * p:g} %" for p in self.targets) + " |"
        rows = [head, "|" + "---|" * (3 + len(self.targets))]
        for i, q in enumerate(self.qso_sizes_km):
            for j, el in enumerate(self.elements):
                rows.append(f"| {q:g} | {el} | {self.rates[i][el][0]:.4g} | "
                            + " | ".join(f"{h:.3g}" for h in self.hours[i, j]) + " |")
        return "\n".join(rows)

    def figure(self, target_index: int = 0):
        """Relative error vs hours per element, one panel per QSO."""
        from matplotlib.figure import Figure

        n = len(self.qso_sizes_km)
        fig = Figure(figsize=(4 * n, 4))
        hours = np.logspace(-1, 4, 100)
        first = None
        for i, q in enumerate(self.qso_sizes_km):
            ax = fig.add_subplot(1, n, i + 1, sharey=first)
            first = first or ax
            for el in self.elements:
                s, m, c = self.rates[i][el]
                ax.loglog(hours, precision_from_rates(s, m, c, hours * 3600 * self.live_fraction), label=el)
            for p in self.targets:
                ax.axhline(p, color="0.6", lw=0.8, ls=":")
            light_log_ticks(ax)
            ax.set_title(f"QSO {q:g} km")
            ax.set_xlabel("hours in QSO")
            if i == 0:
                ax.set_ylabel("relative 1-σ error")
                ax.legend(fontsize=7)
        return fig


def precision_table(shape, qso_sizes_km=(100, 50, 30, 20), composition="CI",
                    targets=(0.1, 0.2, 0.3), *, elements=KEY_ELEMENTS + ("K",), detector=None,
                    gcr_factor=1.0, mars_composition="MARS_SURFACE", lines=LINES, occlusion=None,
                    n: int = 96) -> PrecisionTable:
    """Hours in each QSO (linear Hill ellipse, :func:`qso_positions`) to reach each precision."""
    det = detector or Detector()
    for e in elements:
        if e not in {ln.element for ln in lines}:
            raise InputError("elements", e, f"elements with lines: {', '.join(_LINE_ELEMENTS)}")
    hours, rates, nr = [], [], []
    for q in qso_sizes_km:
        r, nrate = qso_rates(shape, q, composition, detector=det, gcr_factor=gcr_factor,
                             mars_composition=mars_composition, lines=lines, occlusion=occlusion, n=n)
        rates.append(r)
        nr.append(nrate)
        hours.append([[float(time_to_precision(*r[e], p)) / 3600.0 / det.live_fraction for p in targets]
                      for e in elements])
    return PrecisionTable(tuple(qso_sizes_km), tuple(targets), tuple(elements), np.array(hours),
                          rates, np.array(nr), det.live_fraction)


def relative_errors(shape, qso_size_km, hours, composition="CI", *, elements=KEY_ELEMENTS,
                    detector=None, gcr_factor=1.0, mars_composition="MARS_SURFACE",
                    lines=LINES, occlusion=None, n: int = 96) -> dict:
    """Predicted relative 1-σ abundance errors after ``hours`` (wall clock) in a QSO:
    {element: σ/abundance} (the input to origin inference)."""
    h = np.asarray(hours, float)
    if np.any(~(h > 0)) or np.any(~np.isfinite(h)):
        raise InputError("hours", hours, "> 0, finite")
    det = detector or Detector()
    r, _ = qso_rates(shape, qso_size_km, composition, detector=det, gcr_factor=gcr_factor,
                     mars_composition=mars_composition, lines=lines, occlusion=occlusion, n=n)
    out = {}
    for e in elements:
        if e not in r:
            raise InputError("elements", e, f"elements with lines: {', '.join(_LINE_ELEMENTS)}")
        v = precision_from_rates(*r[e], h * 3600.0 * det.live_fraction)
        out[e] = float(v) if v.ndim == 0 else v
    return out
