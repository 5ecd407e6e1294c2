"""Planetary protection: probability that a Phobos sample holds at least one viable Martian microbe.

MMX's inbound leg is Category V "Unrestricted Earth Return" [VO52]: the probability that one or
more viable Martian microbes are in the returned sample must be below 1e-6 [PA19], [NASEM19].
JAXA's assessment (Fujita et al. 2019 [FU19], Kurosawa et al. 2019 [KU19]) found it about two
orders of magnitude below that threshold [KU19]; ESA's SterLim study [PA19] found space radiation
over millions of years to be the dominant sterilizer on Phobos (impact heating and UV also act).
NASEM (2019) reviewed both [NASEM19]. The facts sheets hold no numerical SterLim result.

Model (simplified, in the spirit of [FU19]/[KU19]; each step is a factor)
-----------------------------------------------------------------------
Martian surface material is thrown to Phobos by large impacts on Mars. One event delivers an
areal density sigma (kg of Martian material per m^2 of Phobos). Of the microbes it carries
(``microbes_per_kg`` in Martian surface material):

1. only fragments larger than ``min_fragment_m`` = 0.03 m arrive unsterilized [FU19]; the mass
   fraction of ejecta in such fragments follows a power-law size distribution
   N(>d) ~ d^-b up to ``max_fragment_m``: f_size = 1 - (d_min/d_max)^(3-b);
2. a fraction ``launch_survival`` survives the shock of ejection (ASSUMPTION);
3. on Phobos, 70-80 % are dispersed and sterilized by radiation; a ``shielded_fraction`` of
   20-30 % is shielded [KU19] (default 0.25, the middle);
4. the shielded material is mixed uniformly into the top ``mixing_depth_m`` of regolith of
   density ``regolith_density_kg_m3``; a sample deeper than the mixing depth holds none;
5. it is sterilized by radiation: dose rate at depth z (column mass x = rho z in g/cm^2)
   ``D(z) = D_gcr exp(-x / L_gcr) + D_sep exp(-x / L_sep)`` (galactic cosmic rays and solar
   energetic particles; simplification: no build-up peak), survival after time t
   ``S = 10^(-D(z) t / D10)``.

A sample of mass m at depth z then holds a Poisson number of viable microbes with mean

    N = m * microbes_per_kg * f_size * launch_survival * shielded_fraction
          * sum_events sigma_e S(z, t_e) / (rho_reg * mixing_depth)

and P(>= 1) = 1 - exp(-N). Known events (the source crater of [KU19], Zunil) enter with their age.
Unknown older/other events are a Poisson process of rate ``background_rate_per_yr``, each
delivering ``background_sigma_kg_m2``; for a Poisson process the probability has a closed form::

    P_bg = 1 - exp(-lambda * integral_0^T (1 - exp(-N0 e^(-kappa t))) dt)
         = 1 - exp(-(lambda / kappa) * [Ein(N0) - Ein(N0 e^(-kappa T))]),
    kappa = ln(10) D(z) / D10,   Ein(x) = E1(x) + ln(x) + Euler gamma

and P = 1 - (1 - P_known)(1 - P_bg).

Parameters that [FU19]/[KU19] used are not in the project's facts sheets (mmx-facts §8 holds only
the 0.03 m fragment limit, the 20-30 % shielded fraction, Zunil as source crater and the
headline result). Every other default below is an **ASSUMPTION**, chosen within plausible
ranges and documented in ``docs/planetary_protection.md``; with them the model gives ~1e-8 for a
10 g sample at 2 cm, the published order of magnitude. That agreement is a calibration of
unpublished inputs, not an independent validation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.special import exp1

from ..errors import InputError

COSPAR_THRESHOLD = 1e-6  # [PA19], [NASEM19]
KU19_SHIELDED_FRACTION = (0.20, 0.30)  # [KU19]
FU19_MIN_FRAGMENT_M = 0.03  # [FU19]
SAMPLE_MASS_REQ_KG = 0.010  # >= 10 g [MMXN-331], [U20]
SAMPLE_DEPTH_REQ_M = 0.02  # coring from > 2 cm [MMXN-KATO]
EULER_GAMMA = 0.5772156649015329


@dataclass(frozen=True)
class EjectaEvent:
    """One impact on Mars that delivered material to Phobos."""

    name: str
    age_yr: float
    areal_density_kg_m2: float  # Martian material delivered per m^2 of Phobos surface

    def __post_init__(self):
        if not (self.age_yr >= 0 and np.isfinite(self.age_yr)):
            raise InputError(f"events.{self.name}.age_yr", self.age_yr, "a finite age >= 0 yr")
        if not (self.areal_density_kg_m2 >= 0 and np.isfinite(self.areal_density_kg_m2)):
            raise InputError(f"events.{self.name}.areal_density_kg_m2", self.areal_density_kg_m2, ">= 0 kg/m^2")


@dataclass(frozen=True)
class PPParameters:
    """Inputs of the contamination model. Keys: [FU19], [KU19]; everything else ASSUMPTION."""

    microbes_per_kg: float = 1e5  # ASSUMPTION: hypothetical Martian surface density (Earth's driest soils ~1e8-1e9)
    min_fragment_m: float = FU19_MIN_FRAGMENT_M  # [FU19]
    max_fragment_m: float = 1.0  # ASSUMPTION
    size_index_b: float = 2.5  # ASSUMPTION: cumulative number N(>d) ~ d^-b
    launch_survival: float = 1e-3  # ASSUMPTION: shock survival of spores at spallation pressures
    shielded_fraction: float = 0.25  # [KU19] (20-30 %)
    regolith_density_kg_m3: float = 1500.0  # ASSUMPTION (Phobos bulk density 1861 kg/m^3 [WP-Phobos])
    mixing_depth_m: float = 0.5  # ASSUMPTION: regolith gardening depth of the delivered material
    gcr_dose_gy_yr: float = 0.1  # ASSUMPTION: GCR at Phobos' surface (free space ~0.2, half sky hidden)
    gcr_attenuation_g_cm2: float = 150.0  # ASSUMPTION
    sep_dose_gy_yr: float = 1.0  # ASSUMPTION: long-term mean SEP dose rate at the surface
    sep_attenuation_g_cm2: float = 1.0  # ASSUMPTION
    d10_gy: float = 1000.0  # ASSUMPTION: radiation-resistant spores (D10 ~ 1 kGy)
    events: tuple = (EjectaEvent("Zunil", 1.0e5, 0.05),)  # [KU19] source crater; age and sigma ASSUMPTION
    background_rate_per_yr: float = 1.0e-6  # ASSUMPTION: one Phobos-reaching event per Myr
    background_sigma_kg_m2: float = 0.05  # ASSUMPTION: per event (~250 ppm of a 1 m layer in ~7 Myr)
    background_duration_yr: float = 1.0e7  # ASSUMPTION

    def __post_init__(self):
        pos = ("microbes_per_kg", "min_fragment_m", "max_fragment_m", "regolith_density_kg_m3", "mixing_depth_m",
               "gcr_attenuation_g_cm2", "sep_attenuation_g_cm2", "d10_gy", "background_duration_yr")
        for k in pos:
            v = getattr(self, k)
            if not (np.isfinite(v) and v > 0):
                raise InputError(k, v, "a finite number > 0")
        for k in ("gcr_dose_gy_yr", "sep_dose_gy_yr", "background_rate_per_yr", "background_sigma_kg_m2"):
            v = getattr(self, k)
            if not (np.isfinite(v) and v >= 0):
                raise InputError(k, v, "a finite number >= 0")
        for k in ("launch_survival", "shielded_fraction"):
            v = getattr(self, k)
            if not (0.0 <= v <= 1.0):
                raise InputError(k, v, "a fraction 0..1")
        if not (0.0 < self.size_index_b < 3.0):
            raise InputError("size_index_b", self.size_index_b, "0 < b < 3 (mass in the large fragments)")
        if self.min_fragment_m >= self.max_fragment_m:
            raise InputError("min_fragment_m", self.min_fragment_m, f"< max_fragment_m ({self.max_fragment_m} m)")


def fraction_large_fragments(p: PPParameters) -> float:
    """Mass fraction of ejecta in fragments >= min_fragment_m for N(>d) ~ d^-b, d <= d_max."""
    return 1.0 - (p.min_fragment_m / p.max_fragment_m) ** (3.0 - p.size_index_b)


def dose_rate(depth_m, p: PPParameters | None = None):
    """Total dose rate (Gy/yr) at depth (m) in regolith."""
    p = p or PPParameters()
    d = np.asarray(depth_m, dtype=float)
    if np.any(d < 0):
        raise InputError("depth_m", depth_m, ">= 0 m")
    x = p.regolith_density_kg_m3 * d / 10.0  # g/cm^2  (kg/m^3 * m = kg/m^2 = 0.1 g/cm^2)
    return p.gcr_dose_gy_yr * np.exp(-x / p.gcr_attenuation_g_cm2) + p.sep_dose_gy_yr * np.exp(-x / p.sep_attenuation_g_cm2)


def radiation_survival(dose_gy, d10_gy: float):
    """Surviving fraction 10^(-D/D10)."""
    return 10.0 ** (-np.asarray(dose_gy, dtype=float) / d10_gy)


def _ein(x):
    """Ein(x) = integral_0^x (1 - e^-u)/u du = E1(x) + ln x + gamma (series for small x)."""
    x = float(x)
    if x < 1e-3:
        return x - x * x / 4.0 + x ** 3 / 18.0
    return float(exp1(x)) + math.log(x) + EULER_GAMMA


@dataclass
class ContaminationResult:
    probability: float
    mean_viable_microbes: float  # expected number (known events + background)
    probability_known_events: float
    probability_background: float
    per_event_expected: dict
    microbes_per_kg_delivered_fresh: float  # viable microbes per kg of regolith right after one background event
    dose_rate_gy_yr: float
    margin_vs_cospar: float  # threshold / probability
    inputs: dict = field(default_factory=dict)


def contamination_probability(sample_mass_kg: float = SAMPLE_MASS_REQ_KG, depth_m: float = SAMPLE_DEPTH_REQ_M,
                              params: PPParameters | None = None) -> ContaminationResult:
    """Probability that a sample of ``sample_mass_kg`` taken at ``depth_m`` holds >= 1 viable Martian microbe."""
    p = params or PPParameters()
    if not (np.isfinite(sample_mass_kg) and sample_mass_kg > 0):
        raise InputError("sample_mass_kg", sample_mass_kg, "a finite mass > 0 kg")
    if not (np.isfinite(depth_m) and depth_m >= 0):
        raise InputError("depth_m", depth_m, "a finite depth >= 0 m")
    inside = depth_m <= p.mixing_depth_m
    per_kg_per_sigma = (p.microbes_per_kg * fraction_large_fragments(p) * p.launch_survival * p.shielded_fraction
                        / (p.regolith_density_kg_m3 * p.mixing_depth_m)) if inside else 0.0
    ddot = float(dose_rate(depth_m, p))
    kappa = math.log(10.0) * ddot / p.d10_gy  # 1/yr
    per_event = {}
    n_known = 0.0
    for e in p.events:
        n = sample_mass_kg * per_kg_per_sigma * e.areal_density_kg_m2 * math.exp(-kappa * e.age_yr)
        per_event[e.name] = n
        n_known += n
    p_known = -math.expm1(-n_known)
    n0 = sample_mass_kg * per_kg_per_sigma * p.background_sigma_kg_m2
    T = p.background_duration_yr
    if n0 > 0 and p.background_rate_per_yr > 0:
        if kappa > 0:
            integral = (_ein(n0) - _ein(n0 * math.exp(-kappa * T))) / kappa
            mean_bg = p.background_rate_per_yr * n0 * -math.expm1(-kappa * T) / kappa
        else:
            integral = T * -math.expm1(-n0)
            mean_bg = p.background_rate_per_yr * n0 * T
        p_bg = -math.expm1(-p.background_rate_per_yr * integral)
    else:
        p_bg, mean_bg = 0.0, 0.0
    prob = 1.0 - (1.0 - p_known) * (1.0 - p_bg)
    return ContaminationResult(prob, n_known + mean_bg, p_known, p_bg, per_event,
                               per_kg_per_sigma * p.background_sigma_kg_m2, ddot,
                               COSPAR_THRESHOLD / prob if prob > 0 else math.inf,
                               {"sample_mass_kg": sample_mass_kg, "depth_m": depth_m, "params": p})


def probability_vs_depth(depths_m, sample_mass_kg: float = SAMPLE_MASS_REQ_KG, params: PPParameters | None = None):
    return np.array([contamination_probability(sample_mass_kg, float(d), params).probability for d in depths_m])


def run_planetary_protection(sample_mass_kg: float = SAMPLE_MASS_REQ_KG, depth_m: float = SAMPLE_DEPTH_REQ_M,
                             params: PPParameters | None = None) -> tuple[dict, list]:
    """High-level entry point: numbers (plain floats) and Figures (probability vs depth, sensitivity)."""
    from matplotlib.figure import Figure

    p = params or PPParameters()
    r = contamination_probability(sample_mass_kg, depth_m, p)
    numbers = {"probability": r.probability, "cospar_threshold": COSPAR_THRESHOLD,
               "orders_below_threshold": math.log10(COSPAR_THRESHOLD / r.probability) if r.probability > 0 else math.inf,
               "mean_viable_microbes": r.mean_viable_microbes, "probability_known_events": r.probability_known_events,
               "probability_background": r.probability_background, "dose_rate_gy_yr": r.dose_rate_gy_yr,
               "sample_mass_kg": sample_mass_kg, "depth_m": depth_m}
    z = np.linspace(0.0, p.mixing_depth_m, 101)
    fig = Figure(figsize=(7, 4.5), tight_layout=True)
    ax = fig.subplots()
    for m in (0.010, 0.030, 0.100):
        ax.semilogy(z * 100, np.maximum(probability_vs_depth(z, m, p), 1e-30), label=f"{m * 1000:.0f} g sample")
    ax.axhline(COSPAR_THRESHOLD, color="r", ls="--", label="COSPAR threshold 1e-6")
    ax.axhline(1e-8, color="gray", ls=":", label="[KU19]: ~2 orders below threshold")
    ax.set_xlabel("sample depth (cm)")
    ax.set_ylabel("P(>= 1 viable Martian microbe)")
    ax.set_ylim(1e-14, 1e-3)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax.set_title("Phobos sample contamination probability (model; ASSUMPTION inputs)")
    fig2 = Figure(figsize=(7, 4.5), tight_layout=True)
    ax2 = fig2.subplots()
    names = ["microbes_per_kg", "launch_survival", "d10_gy", "gcr_dose_gy_yr", "sep_dose_gy_yr",
             "background_rate_per_yr", "mixing_depth_m"]
    def varied(k, up):
        v = getattr(p, k)
        if k == "mixing_depth_m":
            return v * 2 if up else max(v / 2, depth_m)
        if k == "launch_survival":
            return min(v * 10, 1.0) if up else v / 10
        return v * 10 if up else v / 10

    lo = [contamination_probability(sample_mass_kg, depth_m, replace(p, **{k: varied(k, False)})).probability
          for k in names]
    hi = [contamination_probability(sample_mass_kg, depth_m, replace(p, **{k: varied(k, True)})).probability
          for k in names]
    y = np.arange(len(names))
    ax2.barh(y - 0.2, np.log10(np.maximum(lo, 1e-300)) - math.log10(r.probability), 0.4, label="parameter / 10 (depth / 2)")
    ax2.barh(y + 0.2, np.log10(np.maximum(hi, 1e-300)) - math.log10(r.probability), 0.4, label="parameter x 10 (depth x 2)")
    ax2.set_yticks(y, names)
    ax2.set_xlabel("change of log10 P")
    ax2.set_xlim(-10, 10)
    ax2.legend(fontsize=8)
    ax2.grid(alpha=0.3)
    ax2.set_title("Sensitivity of the contamination probability")
    return numbers, [fig, fig2]
