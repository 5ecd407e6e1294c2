"""MMX samplers: JAXA's coring C-Sampler (C-SMP) and NASA's pneumatic P-Sampler (P-SMP, built by
Honeybee Robotics), the touchdown timeline and a Monte Carlo of the collected mass.

Who provides what (mmx-facts.md §5.5, §9): the **C-Sampler** is JAXA's coring sampler at the tip of
the robotic arm, with several corers, sampling from more than 2 cm depth [MMXN-KATO], [ZAPZAP]
(secondary). The **P-Sampler** is provided by NASA (Planetary Missions Program Office) and built
by Honeybee Robotics (PlanetVac heritage): gas jets loft regolith into a canister on a
landing-leg footpad; the robotic arm transfers the canister to the sample return capsule
[VD21], [Z21]. Requirement: at least 10 g in total [MMXN-331], [U20], within about 90 min after
landing for the coring [MMXN-KATO] (interview as recorded; approximate).

Simplified models (ASSUMPTIONS are marked on each parameter; see docs/sampling.md)
---------------------------------------------------------------------------------
* **Regolith**: bulk density ρ_b = ρ_grain (1 − φ) (grain density ρ_grain, porosity φ), a
  median grain size. The default grain density 2660 kg/m³ is DERIVED from Phobos' bulk density
  1861 kg/m³ [WP-Phobos] and its 30 % porosity [A10] (2660 = 1861 / 0.70); the default regolith
  porosity 0.5 is an ASSUMPTION (the 87 % of [F24] is the photometric porosity of the optical
  surface layer, not the bulk of a core).
* **C-Sampler**: each corer is a tube of inner diameter d pushed to a target depth z_t with a push
  force F. Penetration resistance (cone-index-like stress, ASSUMPTION) σ(z) = σ₀ + σ′ z on the
  cutting annulus of the tube wall (area π (d + t) t, wall thickness t) stops it at
  z_max = (F / A_wall − σ₀) / σ′; depth z = min(z_t, z_max). Core mass
  m = η · (π d²/4) · z · ρ_b with a fill (retention) efficiency η (ASSUMPTION). The sample counts
  towards the > 2 cm requirement only where z > 2 cm.
* **P-Sampler**: gas mass m_g lofts m_l = min(R · f(D) · m_g, m_avail) of regolith, with R the
  heritage lofted-regolith-to-gas ratio (PlanetVac heritage tests 1:1000 to 1:6000 gas : lofted
  regolith [TECHPORT], UNCONFIRMED for the MMX flight unit; default 3000), f(D) = 1 / (1 + (D/D_c)^p)
  a grain-size penalty (ASSUMPTION: coarse grains are not lofted by the jets) and m_avail the
  regolith that the jets can reach (area under the footpad × excavation depth × ρ_b, ASSUMPTION).
  A fraction κ (ASSUMPTION) of the lofted regolith enters the canister; the canister keeps at most
  its capacity. Mass balance: lofted = captured + lost (not captured) + overflow (beyond capacity);
  the gas is vented.
* **Monte Carlo**: regolith properties (grain density, porosity or directly bulk density, grain
  size, fill efficiency, penetration-resistance gradient, heritage ratio) drawn from stated
  distributions with ``numpy.random.default_rng(seed)``; the probability that the total sample
  is ≥ 10 g, with its binomial standard error and a Wilson 95 % interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError

SAMPLE_REQUIREMENT_G = 10.0  # >= 10 g [MMXN-331], [U20] (mmx-facts.md §0, §5.5)
CORING_MIN_DEPTH_M = 0.02  # coring from > 2 cm depth [MMXN-KATO] (mmx-facts.md §5.5)
CORING_WINDOW_S = 90 * 60.0  # coring within about 90 min after landing [MMXN-KATO] (approximate)
HERITAGE_RATIO_RANGE = (1000.0, 6000.0)  # PlanetVac gas : lofted regolith 1:1000 and 1:6000 [TECHPORT]
PHOBOS_BULK_DENSITY = 1861.0  # kg/m^3 [WP-Phobos] (mmx-facts.md §3.2)
PHOBOS_POROSITY = 0.30  # [A10] (mmx-facts.md §3.2), body-scale
GRAIN_DENSITY_DERIVED = PHOBOS_BULK_DENSITY / (1.0 - PHOBOS_POROSITY)  # DERIVED, 2659 kg/m^3


def _num(name, v, lo=-math.inf, hi=math.inf, what="a finite number", lo_open=False, hi_open=False):
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise InputError(name, v, what) from None
    if not math.isfinite(x) or x < lo or x > hi or (lo_open and x == lo) or (hi_open and x == hi):
        raise InputError(name, v, what)
    return x


# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Regolith:
    """Regolith at the sampling site (SI: kg/m³, µm).

    grain_density_kg_m3: default DERIVED 1861 / (1 − 0.30) = 2659 kg/m³ ([WP-Phobos], [A10]).
    porosity: in [0, 1); default 0.5 ASSUMPTION. grain_size_um: median grain size, default 100 µm
    ASSUMPTION.
    """

    grain_density_kg_m3: float = GRAIN_DENSITY_DERIVED
    porosity: float = 0.5
    grain_size_um: float = 100.0

    def __post_init__(self):
        _num("Regolith.grain_density_kg_m3", self.grain_density_kg_m3, 0.0, 2.0e4,
             "a grain density in (0, 20000] kg/m³", lo_open=True)
        _num("Regolith.porosity", self.porosity, 0.0, 1.0, "a porosity in [0, 1) (fraction of void volume)",
             hi_open=True)
        _num("Regolith.grain_size_um", self.grain_size_um, 0.0, 1e6, "a grain size in (0, 1e6] µm", lo_open=True)

    @property
    def bulk_density_kg_m3(self) -> float:
        return bulk_density(self.grain_density_kg_m3, self.porosity)


def bulk_density(grain_density_kg_m3, porosity):
    """ρ_b = ρ_grain (1 − φ) (arrays allowed). Raises InputError for a negative or zero grain
    density or a porosity outside [0, 1)."""
    rg = np.asarray(grain_density_kg_m3, float)
    ph = np.asarray(porosity, float)
    if not np.all(np.isfinite(rg)) or np.any(rg <= 0):
        raise InputError("grain_density_kg_m3", grain_density_kg_m3, "a finite grain density > 0 kg/m³")
    if not np.all(np.isfinite(ph)) or np.any(ph < 0) or np.any(ph >= 1):
        raise InputError("porosity", porosity, "a porosity in [0, 1) (fraction of void volume)")
    out = rg * (1.0 - ph)
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class CSampler:
    """JAXA's coring sampler (C-SMP). Geometry and mechanics are not published: every default
    is an ASSUMPTION except the > 2 cm depth requirement [MMXN-KATO].

    n_corers: cores taken (several corers, ≥ 2 locations [ZAPZAP], secondary); inner_diameter_m
    2 cm; target_depth_m 5 cm (> 2 cm); wall_thickness_m 1 mm; push_force_N 50 N;
    fill_efficiency η 0.8; resistance_surface_Pa σ₀ 5 kPa; resistance_gradient_Pa_m σ′ 1 MPa/m.
    duration_s per core (arm motion, coring, retraction), ASSUMPTION 15 min.
    """

    n_corers: int = 2
    inner_diameter_m: float = 0.02
    target_depth_m: float = 0.05
    wall_thickness_m: float = 0.001
    push_force_N: float = 50.0
    fill_efficiency: float = 0.8
    resistance_surface_Pa: float = 5.0e3
    resistance_gradient_Pa_m: float = 1.0e6
    duration_s: float = 900.0

    def __post_init__(self):
        if not (isinstance(self.n_corers, (int, np.integer)) and 1 <= self.n_corers <= 20):
            raise InputError("CSampler.n_corers", self.n_corers, "an integer 1..20")
        _num("CSampler.inner_diameter_m", self.inner_diameter_m, 0.0, 1.0, "a diameter in (0, 1] m", lo_open=True)
        _num("CSampler.target_depth_m", self.target_depth_m, 0.0, 2.0, "a depth in (0, 2] m", lo_open=True)
        _num("CSampler.wall_thickness_m", self.wall_thickness_m, 0.0, 0.1, "a thickness in (0, 0.1] m", lo_open=True)
        _num("CSampler.push_force_N", self.push_force_N, 0.0, 1e5, "a force in [0, 1e5] N")
        _num("CSampler.fill_efficiency", self.fill_efficiency, 0.0, 1.0, "a fraction in [0, 1]")
        _num("CSampler.resistance_surface_Pa", self.resistance_surface_Pa, 0.0, 1e9, "a stress in [0, 1e9] Pa")
        _num("CSampler.resistance_gradient_Pa_m", self.resistance_gradient_Pa_m, 0.0, 1e12,
             "a gradient in [0, 1e12] Pa/m")
        _num("CSampler.duration_s", self.duration_s, 0.0, 1e5, "a duration in [0, 1e5] s")

    @property
    def core_area_m2(self) -> float:
        return math.pi * self.inner_diameter_m ** 2 / 4.0

    @property
    def wall_area_m2(self) -> float:
        return math.pi * (self.inner_diameter_m + self.wall_thickness_m) * self.wall_thickness_m


def coring_depth(sampler: CSampler, resistance_gradient_Pa_m=None, resistance_surface_Pa=None):
    """Depth reached (m): min(target, (F/A_wall − σ₀)/σ′), 0 if F/A_wall ≤ σ₀ (arrays allowed)."""
    g = sampler.resistance_gradient_Pa_m if resistance_gradient_Pa_m is None else resistance_gradient_Pa_m
    s0 = sampler.resistance_surface_Pa if resistance_surface_Pa is None else resistance_surface_Pa
    g = np.asarray(g, float)
    s0 = np.asarray(s0, float)
    if np.any(g < 0) or np.any(s0 < 0) or not np.all(np.isfinite(g)) or not np.all(np.isfinite(s0)):
        raise InputError("penetration resistance", (float(np.min(s0)), float(np.min(g))),
                         "finite stresses/gradients >= 0 Pa, Pa/m")
    excess = sampler.push_force_N / sampler.wall_area_m2 - s0
    with np.errstate(divide="ignore", invalid="ignore"):
        zmax = np.where(g > 0, excess / np.where(g > 0, g, 1.0), np.where(excess > 0, np.inf, 0.0))
    z = np.clip(np.minimum(sampler.target_depth_m, zmax), 0.0, None)
    return float(z) if z.ndim == 0 else z


def core_mass_kg(depth_m, bulk_density_kg_m3, sampler: CSampler = CSampler(), fill_efficiency=None):
    """Mass of one core (kg): η · (π d²/4) · depth · ρ_b (arrays allowed)."""
    z = np.asarray(depth_m, float)
    rb = np.asarray(bulk_density_kg_m3, float)
    if not np.all(np.isfinite(z)) or np.any(z < 0):
        raise InputError("depth_m", depth_m, "a finite depth >= 0 m")
    if not np.all(np.isfinite(rb)) or np.any(rb <= 0):
        raise InputError("bulk_density_kg_m3", bulk_density_kg_m3, "a finite bulk density > 0 kg/m³")
    eta = sampler.fill_efficiency if fill_efficiency is None else np.asarray(fill_efficiency, float)
    if np.any(np.asarray(eta) < 0) or np.any(np.asarray(eta) > 1):
        raise InputError("fill_efficiency", fill_efficiency, "a fraction in [0, 1]")
    m = eta * sampler.core_area_m2 * z * rb
    return float(m) if np.ndim(m) == 0 else m


def c_sampler_mass(regolith: Regolith = Regolith(), sampler: CSampler = CSampler()) -> dict:
    """C-Sampler yield for one regolith: depth reached, mass per core and total (kg), and
    whether the > 2 cm depth requirement [MMXN-KATO] is met."""
    if not isinstance(regolith, Regolith):
        raise InputError("regolith", type(regolith).__name__, "a Regolith")
    z = coring_depth(sampler)
    m1 = core_mass_kg(z, regolith.bulk_density_kg_m3, sampler)
    return {"depth_m": z, "mass_per_core_kg": m1, "total_kg": m1 * sampler.n_corers,
            "meets_depth": z > CORING_MIN_DEPTH_M, "bulk_density_kg_m3": regolith.bulk_density_kg_m3}


@dataclass(frozen=True)
class PSampler:
    """NASA's pneumatic sampler (P-SMP, Honeybee Robotics, PlanetVac heritage) on a landing-leg
    footpad. All defaults are ASSUMPTIONS except the heritage ratio range [TECHPORT]:

    gas_mass_kg 0.1 g per firing; lofting_ratio R = lofted regolith / gas, 3000 (inside the heritage
    1000..6000 [TECHPORT], UNCONFIRMED for MMX); capture_fraction κ 0.05 of the lofted regolith
    enters the canister; canister_capacity_kg 15 g; critical_grain_um D_c 1000 µm and
    grain_exponent p 2 for f(D) = 1/(1 + (D/D_c)^p); reach_area_m2 0.03 m² and reach_depth_m 1 cm
    (regolith the jets can excavate); duration_s 60 s.
    """

    gas_mass_kg: float = 1.0e-4
    lofting_ratio: float = 3000.0
    capture_fraction: float = 0.05
    canister_capacity_kg: float = 0.015
    critical_grain_um: float = 1000.0
    grain_exponent: float = 2.0
    reach_area_m2: float = 0.03
    reach_depth_m: float = 0.01
    duration_s: float = 60.0

    def __post_init__(self):
        _num("PSampler.gas_mass_kg", self.gas_mass_kg, 0.0, 10.0, "a gas mass in [0, 10] kg")
        _num("PSampler.lofting_ratio", self.lofting_ratio, 0.0, 1e6, "a ratio in [0, 1e6]")
        _num("PSampler.capture_fraction", self.capture_fraction, 0.0, 1.0, "a fraction in [0, 1]")
        _num("PSampler.canister_capacity_kg", self.canister_capacity_kg, 0.0, 100.0, "a mass in [0, 100] kg")
        _num("PSampler.critical_grain_um", self.critical_grain_um, 0.0, 1e6, "a size in (0, 1e6] µm", lo_open=True)
        _num("PSampler.grain_exponent", self.grain_exponent, 0.0, 20.0, "an exponent in [0, 20]")
        _num("PSampler.reach_area_m2", self.reach_area_m2, 0.0, 10.0, "an area in [0, 10] m²")
        _num("PSampler.reach_depth_m", self.reach_depth_m, 0.0, 1.0, "a depth in [0, 1] m")
        _num("PSampler.duration_s", self.duration_s, 0.0, 1e5, "a duration in [0, 1e5] s")


def grain_factor(grain_size_um, sampler: PSampler = PSampler()):
    """f(D) = 1 / (1 + (D / D_c)^p) (ASSUMPTION), arrays allowed."""
    D = np.asarray(grain_size_um, float)
    if not np.all(np.isfinite(D)) or np.any(D <= 0):
        raise InputError("grain_size_um", grain_size_um, "a finite grain size > 0 µm")
    f = 1.0 / (1.0 + (D / sampler.critical_grain_um) ** sampler.grain_exponent)
    return float(f) if f.ndim == 0 else f


def p_sampler_mass(regolith: Regolith = Regolith(), sampler: PSampler = PSampler(), lofting_ratio=None,
                   bulk_density_kg_m3=None, grain_size_um=None) -> dict:
    """P-Sampler mass budget (kg; arrays allowed through the keyword overrides):
    ``gas``, ``lofted``, ``captured``, ``lost`` (lofted but not captured), ``overflow`` (beyond
    the canister capacity), ``available`` and the ``balance_error`` lofted − (captured + lost +
    overflow) (zero up to rounding)."""
    R = sampler.lofting_ratio if lofting_ratio is None else np.asarray(lofting_ratio, float)
    if np.any(np.asarray(R) < 0) or not np.all(np.isfinite(R)):
        raise InputError("lofting_ratio", lofting_ratio, "a finite ratio >= 0 (heritage 1000..6000 [TECHPORT])")
    rb = regolith.bulk_density_kg_m3 if bulk_density_kg_m3 is None else np.asarray(bulk_density_kg_m3, float)
    if np.any(np.asarray(rb) <= 0) or not np.all(np.isfinite(rb)):
        raise InputError("bulk_density_kg_m3", bulk_density_kg_m3, "a finite bulk density > 0 kg/m³")
    D = regolith.grain_size_um if grain_size_um is None else grain_size_um
    f = grain_factor(D, sampler)
    avail = sampler.reach_area_m2 * sampler.reach_depth_m * rb
    lofted = np.minimum(R * f * sampler.gas_mass_kg, avail)
    raw = sampler.capture_fraction * lofted
    captured = np.minimum(raw, sampler.canister_capacity_kg)
    overflow = raw - captured
    lost = lofted - raw
    out = {"gas": sampler.gas_mass_kg, "lofted": lofted, "captured": captured, "lost": lost, "overflow": overflow,
           "available": avail, "grain_factor": f}
    out["balance_error"] = lofted - (captured + lost + overflow)
    return {k: (float(v) if np.ndim(v) == 0 else v) for k, v in out.items()}


# ---------------------------------------------------------------------------------------------
def touchdown_timeline(c_sampler: CSampler = CSampler(), p_sampler: PSampler = PSampler(),
                       settle_s: float = 120.0, checkout_s: float = 600.0, arm_deploy_s: float = 600.0,
                       reposition_s: float = 300.0, transfer_s: float = 900.0,
                       window_s: float = CORING_WINDOW_S) -> dict:
    """Surface timeline from touchdown (t = 0; seconds). Durations are ASSUMPTIONS except the
    ~90 min coring window [MMXN-KATO]: settle (e.g. from :mod:`mmxsim.surface.touchdown`), P-Sampler
    firing right after settling (its nozzle sits on a footpad), health checkout, arm deployment, the
    C-Sampler cores (``c_sampler.duration_s`` each, ``reposition_s`` between), then canister and
    core transfer to the sample return capsule. Returns the events and whether the coring ends
    inside the window."""
    vals = {}
    for k, v in (("settle_s", settle_s), ("checkout_s", checkout_s), ("arm_deploy_s", arm_deploy_s),
                 ("reposition_s", reposition_s), ("transfer_s", transfer_s), ("window_s", window_s)):
        vals[k] = _num(k, v, 0.0, 1e6, "a duration in [0, 1e6] s")
    ev = [("touchdown", 0.0, 0.0)]
    t = vals["settle_s"]
    ev.append(("settled", t, 0.0))
    ev.append(("P-Sampler firing (NASA/Honeybee)", t, p_sampler.duration_s))
    t += max(p_sampler.duration_s, vals["checkout_s"])
    ev.append(("arm deployment", t, vals["arm_deploy_s"]))
    t += vals["arm_deploy_s"]
    for i in range(c_sampler.n_corers):
        if i > 0:
            ev.append(("arm repositioning", t, vals["reposition_s"]))
            t += vals["reposition_s"]
        ev.append((f"C-Sampler core {i + 1} (JAXA)", t, c_sampler.duration_s))
        t += c_sampler.duration_s
    coring_end = t
    ev.append(("transfer to sample return capsule", t, vals["transfer_s"]))
    t += vals["transfer_s"]
    return {"events": [{"name": n, "start_s": s, "duration_s": d} for n, s, d in ev], "coring_end_s": coring_end,
            "end_s": t, "window_s": vals["window_s"], "coring_within_window": coring_end <= vals["window_s"],
            "margin_s": vals["window_s"] - coring_end}


# ---------------------------------------------------------------------------------------------
_KINDS = ("fixed", "normal", "uniform", "loguniform", "lognormal")


@dataclass(frozen=True)
class Dist:
    """A 1-D distribution: ("fixed", v), ("normal", mean, sd), ("uniform", lo, hi),
    ("loguniform", lo, hi), ("lognormal", median, sigma_ln)."""

    kind: str
    a: float
    b: float = 0.0

    def __post_init__(self):
        if self.kind not in _KINDS:
            raise InputError("Dist.kind", self.kind, ", ".join(_KINDS))
        _num("Dist.a", self.a)
        _num("Dist.b", self.b)
        if self.kind in ("normal", "lognormal") and self.b < 0:
            raise InputError("Dist.b", self.b, "a standard deviation >= 0")
        if self.kind in ("uniform", "loguniform") and not self.b >= self.a:
            raise InputError("Dist.b", self.b, f"an upper bound >= the lower bound {self.a}")
        if self.kind in ("loguniform", "lognormal") and not self.a > 0:
            raise InputError("Dist.a", self.a, "a positive value (log scale)")

    def sample(self, rng, n):
        if self.kind == "fixed":
            return np.full(n, float(self.a))
        if self.kind == "normal":
            return rng.normal(self.a, self.b, n)
        if self.kind == "uniform":
            return rng.uniform(self.a, self.b, n)
        if self.kind == "loguniform":
            return np.exp(rng.uniform(math.log(self.a), math.log(self.b), n))
        return self.a * np.exp(rng.normal(0.0, self.b, n))


def _as_dist(name, d):
    if isinstance(d, Dist):
        return d
    if isinstance(d, (int, float)) and not isinstance(d, bool):
        return Dist("fixed", float(d))
    if isinstance(d, (tuple, list)) and len(d) in (2, 3) and isinstance(d[0], str):
        return Dist(*d)
    raise InputError(name, d, "a Dist, a number or a tuple (kind, a[, b]) with kind in " + ", ".join(_KINDS))


@dataclass
class SamplingMC:
    """Monte Carlo of the collected mass (kg arrays over draws) and its summary."""

    n: int
    seed: int
    threshold_kg: float
    bulk_density_kg_m3: np.ndarray
    grain_size_um: np.ndarray
    depth_m: np.ndarray
    c_mass_kg: np.ndarray
    p_mass_kg: np.ndarray
    p_budget: dict = field(repr=False)
    n_clipped: int = 0
    distributions: dict = field(default_factory=dict)

    @property
    def total_kg(self) -> np.ndarray:
        return self.c_mass_kg + self.p_mass_kg

    def probability(self, threshold_kg: float | None = None) -> tuple:
        """(p, binomial standard error, Wilson 95 % interval) of total ≥ threshold."""
        thr = self.threshold_kg if threshold_kg is None else threshold_kg
        k = int(np.count_nonzero(self.total_kg >= thr))
        n = self.n
        p = k / n
        z = 1.959963984540054
        den = 1 + z * z / n
        c = (p + z * z / (2 * n)) / den
        h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
        return p, math.sqrt(p * (1 - p) / n), (c - h, c + h)

    def summary(self) -> dict:
        p, se, ci = self.probability()
        t = self.total_kg * 1e3
        cdeep = (self.c_mass_kg >= self.threshold_kg) & (self.depth_m > CORING_MIN_DEPTH_M)
        return {"n": self.n, "seed": self.seed, "threshold_g": self.threshold_kg * 1e3,
                "p_total_ge_threshold": p, "stderr": se, "wilson95": list(ci),
                "p_c_sampler_alone_ge_threshold_from_gt_2cm": float(cdeep.mean()),
                "total_g_median": float(np.median(t)), "total_g_p05": float(np.percentile(t, 5)),
                "total_g_p95": float(np.percentile(t, 95)), "c_g_median": float(np.median(self.c_mass_kg) * 1e3),
                "p_g_median": float(np.median(self.p_mass_kg) * 1e3),
                "fraction_depth_gt_2cm": float((self.depth_m > CORING_MIN_DEPTH_M).mean()),
                "n_clipped": self.n_clipped}

    def plot(self):
        """matplotlib Figure: histogram of the total, C- and P-Sampler masses with the 10 g line."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7, 4), constrained_layout=True)
        ax = fig.subplots()
        t = self.total_kg * 1e3
        hi = max(float(np.percentile(t, 99.5)) * 1.1, self.threshold_kg * 1e3 * 1.5)
        bins = np.linspace(0, hi, 60)
        ax.hist(t, bins=bins, alpha=0.6, label="total")
        ax.hist(self.c_mass_kg * 1e3, bins=bins, histtype="step", label="C-Sampler (JAXA)")
        ax.hist(self.p_mass_kg * 1e3, bins=bins, histtype="step", label="P-Sampler (NASA/Honeybee)")
        ax.axvline(self.threshold_kg * 1e3, color="k", ls="--", label="10 g requirement")
        p, se, _ = self.probability()
        ax.set_title(f"sample mass, {self.n} draws: P(total ≥ {self.threshold_kg * 1e3:g} g) = {p:.3f} ± {se:.3f}")
        ax.set_xlabel("mass (g)")
        ax.set_ylabel("draws")
        ax.legend(fontsize=8)
        return fig


def sample_mass_mc(n: int = 20000, seed: int = 0, grain_density=Dist("normal", GRAIN_DENSITY_DERIVED, 150.0),
                   porosity=Dist("uniform", 0.35, 0.75), bulk_density=None, grain_size_um=Dist("lognormal", 100.0, 1.0),
                   fill_efficiency=Dist("uniform", 0.3, 1.0), resistance_gradient_Pa_m=Dist("loguniform", 1e5, 5e7),
                   lofting_ratio=Dist("loguniform", *HERITAGE_RATIO_RANGE), c_sampler: CSampler = CSampler(),
                   p_sampler: PSampler | None = PSampler(), use_c: bool = True,
                   threshold_kg: float = SAMPLE_REQUIREMENT_G * 1e-3) -> SamplingMC:
    """Monte Carlo of the total sample (C-Sampler cores + P-Sampler canister).

    Every distribution default is an ASSUMPTION except the heritage ratio range [TECHPORT] and
    the DERIVED mean grain density. ``bulk_density`` (a Dist) replaces grain density × (1 −
    porosity). Draws outside the physical range (porosity outside [0, 0.95], densities ≤ 0, fill
    outside [0, 1], negative resistance) are clipped into it and counted in ``n_clipped``. The
    cores of one touchdown share the regolith draw. ``p_sampler=None`` leaves the P-Sampler out.
    """
    if not (isinstance(n, (int, np.integer)) and 1 <= n <= 10_000_000):
        raise InputError("n", n, "an integer number of draws 1..1e7")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError("seed", seed, "an integer >= 0")
    thr = _num("threshold_kg", threshold_kg, 0.0, 100.0, "a mass in (0, 100] kg", lo_open=True)
    rng = np.random.default_rng(int(seed))
    dists = {}
    clipped = 0

    def draw(name, d, lo, hi):
        nonlocal clipped
        d = _as_dist(name, d)
        dists[name] = (d.kind, d.a, d.b)
        x = d.sample(rng, n)
        bad = (x < lo) | (x > hi)
        clipped += int(bad.sum())
        return np.clip(x, lo, hi)

    if bulk_density is None:
        rg = draw("grain_density", grain_density, 1.0, 2.0e4)
        ph = draw("porosity", porosity, 0.0, 0.95)
        rb = bulk_density_fn(rg, ph)
    else:
        rb = draw("bulk_density", bulk_density, 1.0, 2.0e4)
    D = draw("grain_size_um", grain_size_um, 1e-3, 1e6)
    eta = draw("fill_efficiency", fill_efficiency, 0.0, 1.0)
    grad = draw("resistance_gradient_Pa_m", resistance_gradient_Pa_m, 0.0, 1e12)
    R = draw("lofting_ratio", lofting_ratio, 0.0, 1e6)
    if use_c:
        z = coring_depth(c_sampler, grad)
        z = np.broadcast_to(z, (n,)).astype(float)
        c = core_mass_kg(z, rb, c_sampler, eta) * c_sampler.n_corers
    else:
        z = np.zeros(n)
        c = np.zeros(n)
    if p_sampler is not None:
        pb = p_sampler_mass(Regolith(), p_sampler, lofting_ratio=R, bulk_density_kg_m3=rb, grain_size_um=D)
        pm = np.broadcast_to(pb["captured"], (n,)).astype(float)
    else:
        pb = {}
        pm = np.zeros(n)
    return SamplingMC(n=int(n), seed=int(seed), threshold_kg=thr, bulk_density_kg_m3=rb, grain_size_um=D,
                      depth_m=z, c_mass_kg=np.asarray(c, float), p_mass_kg=pm, p_budget=pb, n_clipped=clipped,
                      distributions=dists)


bulk_density_fn = bulk_density


def mass_vs_depth_figure(regolith: Regolith = Regolith(), sampler: CSampler = CSampler(), depths_m=None):
    """matplotlib Figure: one core's mass vs depth for a few porosities, with 10 g and 2 cm lines."""
    from matplotlib.figure import Figure

    z = np.linspace(0, 0.1, 101) if depths_m is None else np.asarray(depths_m, float)
    fig = Figure(figsize=(6, 4), constrained_layout=True)
    ax = fig.subplots()
    for ph in (0.35, 0.5, 0.65, 0.8):
        rb = bulk_density(regolith.grain_density_kg_m3, ph)
        ax.plot(z * 100, core_mass_kg(z, rb, sampler) * 1e3, label=f"porosity {ph:g} (ρ_b {rb:.0f} kg/m³)")
    ax.axhline(SAMPLE_REQUIREMENT_G, color="k", ls="--", lw=1, label="10 g")
    ax.axvline(CORING_MIN_DEPTH_M * 100, color="grey", ls=":", lw=1, label="2 cm")
    ax.set_xlabel("coring depth (cm)")
    ax.set_ylabel("mass per core (g)")
    ax.set_title(f"C-Sampler core, d = {sampler.inner_diameter_m * 100:g} cm, η = {sampler.fill_efficiency:g}")
    ax.legend(fontsize=8)
    return fig


def sampling_analysis(n: int = 20000, seed: int = 0, regolith: Regolith = Regolith(),
                      c_sampler: CSampler = CSampler(), p_sampler: PSampler = PSampler(), settle_s: float = 120.0,
                      **mc_kw) -> dict:
    """Entry point for a report section: nominal C- and P-Sampler yields, the timeline and the
    Monte Carlo probability of ≥ 10 g, as plain numbers and matplotlib Figures::

        {"c_sampler": {...}, "p_sampler": {...}, "timeline": {...}, "monte_carlo": {...},
         "figures": {"mass_histogram": Figure, "mass_vs_depth": Figure}}
    """
    c = c_sampler_mass(regolith, c_sampler)
    p = p_sampler_mass(regolith, p_sampler)
    tl = touchdown_timeline(c_sampler, p_sampler, settle_s=settle_s)
    mc = sample_mass_mc(n=n, seed=seed, c_sampler=c_sampler, p_sampler=p_sampler, **mc_kw)
    return {"c_sampler": c, "p_sampler": p, "timeline": tl, "monte_carlo": mc.summary(),
            "figures": {"mass_histogram": mc.plot(), "mass_vs_depth": mass_vs_depth_figure(regolith, c_sampler)}}
