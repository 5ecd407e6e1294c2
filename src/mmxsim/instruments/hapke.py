"""Hapke bidirectional reflectance of a particulate surface (used by MIRS).

Model (simplified; which version of each piece is stated):

* **Radiative transfer**: Hapke's isotropic-multiple-scattering approximation (IMSA; Hapke
  1981, 1993 *Theory of Reflectance and Emittance Spectroscopy* ch. 8-12, 2012 2nd ed.)::

      r(i, e, g) = K w/(4 pi) * mu0e/(mu0e + mue) * [p(g) B_SH(g) + H(mu0e/K) H(mue/K) - 1]
                   * B_CB(g) * S(i, e, g)                                     [1/sr]

  ``r`` is the bidirectional reflectance (radiance / collimated irradiance); the radiance
  factor is I/F = pi r and the reflectance factor REFF = pi r / mu0.
* **Ambartsumian-Chandrasekhar H-function**: Hapke (2002, Icarus 157, 523) approximation
  (``"hapke2002"``, relative error < 1 % for all w, mu; default), Hapke's 1981 approximation
  (``"hapke1981"``, (1 + 2x)/(1 + 2 gamma x), error up to ~4 %) or the exact isotropic-scattering
  H-function from Chandrasekhar's closed-form integral (``"exact"``, numerical quadrature;
  slow, for validation).
* **Particle phase function**: one-term Henyey-Greenstein with asymmetry ``b`` (b < 0:
  backscattering) or Hapke's (2012) two-term form (b, c): p = (1+c)/2 HG(-b) + (1-c)/2 HG(+b)
  with c > 0 backscattering. Normalised so that (1/4 pi) ∫ p dOmega = 1.
* **Shadow-hiding opposition effect** (Hapke 1986): B_SH = 1 + B0 / (1 + tan(g/2)/h).
  **Coherent backscatter** (Hapke 2002), optional (B_C0 = 0 by default).
* **Macroscopic roughness** (Hapke 1984): shadowing function S(i, e, g; theta_bar) with the
  effective cosines mu0e, mue (Hapke 1993 eqs. 12.46-12.55).
* **Porosity factor** K (Hapke 2008), optional (K = 1 by default, i.e. the 1993 model).

Not modelled: the 2012 coupling of roughness with the opposition effect inside the
multiple-scattering term (the "anisotropic multiple scattering" AMSA corrections); polarisation.

Angles in radians. Arrays broadcast.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError

__all__ = ["HapkeParams", "h_function", "h_function_exact", "phase_function", "roughness",
           "bidirectional_reflectance", "radiance_factor", "hemispherical_albedo",
           "geometric_albedo", "directional_emissivity", "porosity_factor"]


# --------------------------------------------------------------------------------------------
# Parameters
@dataclass(frozen=True)
class HapkeParams:
    """Hapke parameters other than the single-scattering albedo w (which is spectral).

    b, c : phase function. ``c is None``: one-term Henyey-Greenstein with asymmetry ``b``
        in (-1, 1), negative = backscattering. Else Hapke's two-term HG (0 <= b < 1,
        -1 <= c <= 1, c > 0 backscattering).
    B0, h : shadow-hiding opposition amplitude and angular half-width.
    theta_bar_rad : mean slope angle of the macroscopic roughness (0: smooth).
    Bc0, hc : coherent-backscatter amplitude and width (Bc0 = 0: off).
    K : porosity factor (Hapke 2008), 1 = the 1993 model.
    h_approx : "hapke2002" (default), "hapke1981" or "exact".
    """

    b: float = 0.0
    c: float | None = None
    B0: float = 0.0
    h: float = 0.05
    theta_bar_rad: float = 0.0
    Bc0: float = 0.0
    hc: float = 0.05
    K: float = 1.0
    h_approx: str = "hapke2002"

    def __post_init__(self):
        if self.c is None:
            if not -1.0 < self.b < 1.0:
                raise InputError("HapkeParams.b", self.b, "one-term HG asymmetry in (-1, 1)")
        else:
            if not 0.0 <= self.b < 1.0:
                raise InputError("HapkeParams.b", self.b, "two-term HG lobe width in [0, 1)")
            if not -1.0 <= self.c <= 1.0:
                raise InputError("HapkeParams.c", self.c, "two-term HG weight in [-1, 1]")
        if self.B0 < 0.0:
            raise InputError("HapkeParams.B0", self.B0, ">= 0")
        if self.h <= 0.0 or self.hc <= 0.0:
            raise InputError("HapkeParams.h/hc", (self.h, self.hc), "> 0")
        if self.Bc0 < 0.0:
            raise InputError("HapkeParams.Bc0", self.Bc0, ">= 0")
        if not 0.0 <= self.theta_bar_rad < np.pi / 2:
            raise InputError("HapkeParams.theta_bar_rad", self.theta_bar_rad, "[0, pi/2) rad")
        if self.K < 1.0:
            raise InputError("HapkeParams.K", self.K, ">= 1 (porosity factor)")
        if self.h_approx not in ("hapke2002", "hapke1981", "exact"):
            raise InputError("HapkeParams.h_approx", self.h_approx, "'hapke2002', 'hapke1981' or 'exact'")


def _check_w(w):
    w = np.asarray(w, dtype=float)
    if np.any(~np.isfinite(w)) or np.any(w < 0.0) or np.any(w > 1.0):
        bad = w[~((w >= 0.0) & (w <= 1.0))]
        raise InputError("w (single-scattering albedo)", bad.ravel()[:3].tolist(), "0 <= w <= 1")
    return w


def porosity_factor(porosity: float) -> float:
    """Hapke (2008) porosity factor K = -ln(1 - 1.209 phi^(2/3)) / (1.209 phi^(2/3)), phi = 1 -
    porosity the filling factor (valid for phi < 0.752)."""
    phi = 1.0 - porosity
    if not 0.0 < phi < 0.752:
        raise InputError("porosity", porosity, "0.248 < porosity < 1")
    y = 1.209 * phi ** (2.0 / 3.0)
    return float(-np.log1p(-y) / y)


# --------------------------------------------------------------------------------------------
# H-functions
def h_function(x, w, approx: str = "hapke2002"):
    """Ambartsumian-Chandrasekhar H(x) for isotropic scatterers of albedo w (x = cosine).

    ``hapke2002``: H = 1 / (1 - w x [r0 + (1 - 2 r0 x)/2 ln((1+x)/x)]), r0 = (1-γ)/(1+γ),
    γ = sqrt(1-w) (Hapke 2002 eq. 13; < 1 % error). ``hapke1981``: (1 + 2x)/(1 + 2 γ x).
    ``exact``: :func:`h_function_exact`.
    """
    w = _check_w(w)
    x = np.asarray(x, dtype=float)
    if approx == "exact":
        return h_function_exact(x, w)
    gamma = np.sqrt(1.0 - w)
    if approx == "hapke1981":
        return (1.0 + 2.0 * x) / (1.0 + 2.0 * gamma * x)
    if approx != "hapke2002":
        raise InputError("approx", approx, "'hapke2002', 'hapke1981' or 'exact'")
    r0 = (1.0 - gamma) / (1.0 + gamma)
    xs = np.maximum(x, 1e-300)
    lg = np.where(x > 0.0, np.log1p(1.0 / xs), 0.0)
    xlog = np.where(x > 0.0, xs * lg, 0.0)  # x ln((1+x)/x) -> 0 as x -> 0
    return 1.0 / (1.0 - w * (x * r0 + (1.0 - 2.0 * r0 * x) / 2.0 * xlog))


def h_function_exact(x, w, n_nodes: int = 400):
    """Exact H-function for isotropic scattering, Chandrasekhar (1960, *Radiative Transfer*,
    eq. V.(43)) closed form::

        ln H(x) = -(x/pi) ∫_0^{pi/2} ln(1 - w t cot t) / (cos^2 t + x^2 sin^2 t) dt

    evaluated by Gauss-Legendre quadrature (``n_nodes``; converged to ~1e-10 for w < 1 and
    ~1e-6 at w = 1, where the integrand has a log singularity at t = 0).
    """
    w = _check_w(w)
    x = np.asarray(x, dtype=float)
    # split [0, pi/2] at 0.1 to resolve the log singularity at t -> 0 when w = 1
    nodes, weights = [], []
    for a, b_, n in ((0.0, 0.1, n_nodes // 2), (0.1, np.pi / 2, n_nodes // 2)):
        t, wt = np.polynomial.legendre.leggauss(n)
        nodes.append(0.5 * (b_ - a) * t + 0.5 * (b_ + a))
        weights.append(0.5 * (b_ - a) * wt)
    t = np.concatenate(nodes)
    wt = np.concatenate(weights)
    tcot = t / np.tan(t)  # -> 1 at t -> 0, 0 at pi/2
    xb, wb = np.broadcast_arrays(x, w)
    out = np.empty(xb.shape)
    flat_x, flat_w = xb.ravel(), wb.ravel()
    res = out.ravel()
    for k in range(flat_x.size):
        xx, ww = flat_x[k], flat_w[k]
        integrand = np.log(np.maximum(1.0 - ww * tcot, 1e-300)) / (np.cos(t) ** 2 + xx * xx * np.sin(t) ** 2)
        res[k] = np.exp(-(xx / np.pi) * np.dot(wt, integrand))
    return res.reshape(xb.shape) if xb.shape else float(res[0])


# --------------------------------------------------------------------------------------------
# Phase function, opposition effects, roughness
def _hg(cos_g, xi):
    """Henyey-Greenstein in the phase-angle variable: (1-ξ²)/(1+2ξ cos g+ξ²)^1.5 with ξ the
    usual asymmetry <cos θ> (scattering angle θ = pi - g): ξ > 0 forward, ξ < 0 backward."""
    return (1.0 - xi * xi) / (1.0 + 2.0 * xi * cos_g + xi * xi) ** 1.5


def phase_function(g, params: HapkeParams):
    """Single-particle phase function p(g), (1/4pi)∫p dΩ = 1. One-term: asymmetry b (b < 0
    backscattering); two-term (Hapke 2012): (1+c)/2 HG(ξ=-b) + (1-c)/2 HG(ξ=+b), the first
    lobe backward."""
    cg = np.cos(np.asarray(g, dtype=float))
    if params.c is None:
        return _hg(cg, params.b)
    return 0.5 * (1.0 + params.c) * _hg(cg, -params.b) + 0.5 * (1.0 - params.c) * _hg(cg, params.b)


def shadow_hiding(g, B0, h):
    """B_SH(g) = 1 + B0 / (1 + tan(g/2)/h) (Hapke 1986)."""
    return 1.0 + B0 / (1.0 + np.tan(np.asarray(g, dtype=float) / 2.0) / h)


def coherent_backscatter(g, Bc0, hc):
    """B_CB(g) = 1 + Bc0 [1 + (1 - exp(-y))/y] / (2 (1 + y)^2), y = tan(g/2)/hc (Hapke 2002)."""
    y = np.tan(np.asarray(g, dtype=float) / 2.0) / hc
    ys = np.maximum(y, 1e-12)
    frac = np.where(y > 1e-12, -np.expm1(-ys) / ys, 1.0 - 0.5 * y)
    return 1.0 + Bc0 * (1.0 + frac) / (2.0 * (1.0 + y) ** 2)


def roughness(i, e, g, theta_bar):
    """Hapke (1984) macroscopic roughness: (mu0e, mue, S) for incidence i, emission e,
    phase g (rad), mean slope theta_bar (rad). Hapke (1993) eqs. 12.46-12.55; theta_bar = 0
    gives (cos i, cos e, 1)."""
    i, e, g = np.broadcast_arrays(np.asarray(i, float), np.asarray(e, float), np.asarray(g, float))
    mu0, mu = np.cos(i), np.cos(e)
    if theta_bar == 0.0:
        return mu0.copy(), mu.copy(), np.ones_like(mu0)
    tb = np.tan(theta_bar)
    chi = 1.0 / np.sqrt(1.0 + np.pi * tb * tb)
    si, se = np.sin(i), np.sin(e)
    with np.errstate(divide="ignore", invalid="ignore"):
        cpsi = np.where((si * se) > 1e-12, (np.cos(g) - mu0 * mu) / (si * se), 1.0)
    cpsi = np.clip(cpsi, -1.0, 1.0)
    psi = np.arccos(cpsi)
    s2 = np.sin(psi / 2.0) ** 2
    f = np.where(psi < np.pi - 1e-9, np.exp(-2.0 * np.tan(np.minimum(psi, np.pi - 1e-9) / 2.0)), 0.0)

    def E1(x):
        with np.errstate(divide="ignore"):
            cx = np.where(np.sin(x) > 0.0, np.cos(x) / np.maximum(np.sin(x), 1e-300), np.inf)
        return np.exp(-2.0 / (np.pi * tb) * cx)

    def E2(x):
        with np.errstate(divide="ignore"):
            cx = np.where(np.sin(x) > 0.0, np.cos(x) / np.maximum(np.sin(x), 1e-300), np.inf)
        return np.exp(-1.0 / (np.pi * tb * tb) * cx * cx)

    def eta(x):
        return chi * (np.cos(x) + np.sin(x) * tb * E2(x) / (2.0 - E1(x)))

    E1i, E2i, E1e, E2e = E1(i), E2(i), E1(e), E2(e)
    eta_i, eta_e = eta(i), eta(e)
    a = i <= e
    # i <= e
    d1 = 2.0 - E1e - (psi / np.pi) * E1i
    mu0e_1 = chi * (mu0 + si * tb * (cpsi * E2e + s2 * E2i) / d1)
    mue_1 = chi * (mu + se * tb * (E2e - s2 * E2i) / d1)
    S_1 = mue_1 / eta_e * mu0 / eta_i * chi / (1.0 - f + f * chi * mu0 / eta_i)
    # e < i
    d2 = 2.0 - E1i - (psi / np.pi) * E1e
    mu0e_2 = chi * (mu0 + si * tb * (E2i - s2 * E2e) / d2)
    mue_2 = chi * (mu + se * tb * (cpsi * E2i + s2 * E2e) / d2)
    S_2 = mue_2 / eta_e * mu0 / eta_i * chi / (1.0 - f + f * chi * mu / eta_e)
    return np.where(a, mu0e_1, mu0e_2), np.where(a, mue_1, mue_2), np.where(a, S_1, S_2)


# --------------------------------------------------------------------------------------------
# Reflectance
def bidirectional_reflectance(w, cos_i, cos_e, phase_rad, params: HapkeParams = HapkeParams()):
    """Hapke bidirectional reflectance r (1/sr), the IMSA form in the module docstring.

    ``w`` and the angles broadcast together. Returns 0 where cos_i <= 0 or cos_e <= 0.
    """
    w = _check_w(w)
    ci = np.asarray(cos_i, dtype=float)
    ce = np.asarray(cos_e, dtype=float)
    g = np.asarray(phase_rad, dtype=float)
    ok = (ci > 0.0) & (ce > 0.0)
    i = np.arccos(np.clip(ci, 0.0, 1.0))
    e = np.arccos(np.clip(ce, 0.0, 1.0))
    mu0e, mue, S = roughness(i, e, g, params.theta_bar_rad)
    K = params.K
    H0 = h_function(mu0e / K, w, params.h_approx)
    H = h_function(mue / K, w, params.h_approx)
    p = phase_function(g, params)
    bsh = shadow_hiding(g, params.B0, params.h)
    bcb = coherent_backscatter(g, params.Bc0, params.hc) if params.Bc0 > 0.0 else 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        r = K * w / (4.0 * np.pi) * mu0e / (mu0e + mue) * (p * bsh + H0 * H - 1.0) * bcb * S
    return np.where(ok, r, 0.0)


def radiance_factor(w, cos_i, cos_e, phase_rad, params: HapkeParams = HapkeParams()):
    """I/F = pi r (radiance over the radiance of a normally lit perfect Lambertian disc)."""
    return np.pi * bidirectional_reflectance(w, cos_i, cos_e, phase_rad, params)


def _hemisphere_nodes(n_mu: int = 64, n_phi: int = 96):
    t, wt = np.polynomial.legendre.leggauss(n_mu)
    mu = 0.5 * (t + 1.0)
    wmu = 0.5 * wt
    phi = (np.arange(n_phi) + 0.5) * (2.0 * np.pi / n_phi)
    wphi = np.full(n_phi, 2.0 * np.pi / n_phi)
    return mu, wmu, phi, wphi


def hemispherical_albedo(w, cos_i: float, params: HapkeParams = HapkeParams(), n_mu=64, n_phi=96):
    """Directional-hemispherical albedo A_h(i) = (1/cos i) ∫ r(i, e, g) cos e dΩ_e over the
    upper hemisphere (reflected flux / incident flux; Gauss-Legendre in mu, midpoint in
    azimuth). Scalar w and cos_i > 0."""
    mu, wmu, phi, wphi = _hemisphere_nodes(n_mu, n_phi)
    M, P = np.meshgrid(mu, phi, indexing="ij")
    si = np.sqrt(max(0.0, 1.0 - cos_i * cos_i))
    se = np.sqrt(1.0 - M * M)
    cg = np.clip(cos_i * M + si * se * np.cos(P), -1.0, 1.0)
    r = bidirectional_reflectance(w, cos_i, M, np.arccos(cg), params)
    return float(np.einsum("ij,i,j->", r * M, wmu, wphi)) / cos_i


def geometric_albedo(w, params: HapkeParams = HapkeParams(), n_mu: int = 200):
    """Geometric albedo of a sphere: p = ∫_disc (I/F at g = 0) dA / (pi R²) = ∫_0^1 2 mu pi r(mu, mu, 0) dmu."""
    t, wt = np.polynomial.legendre.leggauss(n_mu)
    mu = 0.5 * (t + 1.0)
    r = bidirectional_reflectance(w, mu, mu, np.zeros_like(mu), params)
    return float(np.sum(0.5 * wt * 2.0 * mu * np.pi * r))


def directional_emissivity(w, cos_e, params: HapkeParams = HapkeParams()):
    """Directional emissivity by Kirchhoff's law for isotropic scatterers: ε(e) = γ H(cos e),
    γ = sqrt(1 - w) (Hapke 1993 eq. 13.9 / 1 - A_h(e) for the IMSA)."""
    w = _check_w(w)
    return np.sqrt(1.0 - w) * h_function(np.clip(cos_e, 0.0, 1.0) / params.K, w, params.h_approx)
