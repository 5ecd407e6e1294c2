"""Phobos' interior from GM, C20, C22 and the forced libration amplitude.

Model (equations written out in full here; sources at the end):

**Normalisation.** Gravity coefficients enter as 4-pi fully normalised ``Cbar20, Cbar22`` (the
convention of the packaged field ``phobos_gravity_sh_constdensity_ernst_deg10.csv``, reference
radius ``R``; default R = 11 km). Unnormalised values are ``C20 = sqrt(5) Cbar20`` and
``C22 = sqrt(5/12) Cbar22`` (``N_nm = sqrt((2 - d_m0)(2n+1)(n-m)!/(n+m)!)``), ``J2 = -C20``.
In principal axes (A <= B <= C, long axis x toward Mars, C about the spin axis z):

    C20 = -(C - (A + B)/2) / (M R^2),      C22 = (B - A) / (4 M R^2).

Coefficients measured in a body frame slightly off the principal axes (C21, S22 != 0) are used as
if they were principal (simplification: for the homogeneous Ernst shape S22/C22 ~ 1e-2, a 0.3 deg
misalignment, a 1e-4 relative effect on (B - A)).

**Forced libration in longitude** (Murray & Dermott 1999, Solar System Dynamics, ch. 5 on
spin-orbit coupling: the linearised equation of the physical libration; the main term modelled for
Phobos by Rambaux et al. 2012 (A&A, not read) and Burmeister et al. 2018; the form is re-derived
here and checked in the tests against a numerical integration of the full spin equation). The long
axis angle is ``theta = M + gamma`` (M mean anomaly). The gravity-gradient torque of Mars
``C theta'' = -(3/2)(B - A) n^2 (a/r)^3 sin 2(theta - f)`` with ``f - M = 2 e sin M + O(e^2)`` and
``a/r = 1 + O(e)`` gives, to first order in ``e`` and ``gamma``,

    gamma'' + w0^2 gamma = w0^2 * 2e sin M,     w0^2 = 3 n^2 (B - A) / C,

whose forced solution is ``gamma = gamma_0 sin M`` with

    gamma_0 = 2e w0^2 / (w0^2 - n^2) = -2e x / (1 - x),   x = w0^2/n^2 = 3 (B - A)/C.

For Phobos x ~ 0.4 < 1, so gamma_0 < 0: the physical libration is in anti-phase with
``f - M``. Published amplitudes (Burmeister 2018: 1.14 deg; Lainey 2021: 1.09 deg) are quoted as
positive magnitudes; this module takes and returns the MAGNITUDE ``|gamma_0| = 2e x/(1-x)``, and
the inversion is ``x = |gamma_0| / (2e + |gamma_0|)``. Note that ``2e/(1 - w0^2/n^2) = 2e/(1 - x)``
is the amplitude of ``theta - f`` (long axis against the instantaneous Mars direction,
``gamma_0 - 2e``), not of the libration against the uniformly rotating frame that the libration
studies report; the two differ by 2e = 1.73 deg.
Simplifications: only the main (orbital-period) term; Phobos' other forcing terms, the
orbital precession and tides are neglected (they change the main term by a few 0.01 deg,
Rambaux et al. 2012, not read in full: UNCONFIRMED magnitude). ``e`` defaults to 0.0151
(Phobos mean eccentricity, JPL SSD mean elements MAR080, ``data/mars_moons_mean_elements.csv``).

**Moments of inertia** from the observables: ``(B - A)/C = x/3``, ``B - A = 4 M R^2 C22``, so

    c = C/(M R^2) = 4 C22 / ((B - A)/C) = 12 C22 (2e + |gamma_0|)/|gamma_0|,
    a = A/(M R^2) = c + C20 - 2 C22,    b = B/(M R^2) = c + C20 + 2 C22,

M = GM / G (absolute moments in kg km^2). Uncertainty: linear propagation ``Sigma_y = J Sigma_p J^T``
with the analytic Jacobian of (c, a, b, mean, (B-A)/C, C) with respect to (GM, Cbar20, Cbar22,
|gamma_0|, e), checked by a seeded Monte Carlo (:func:`monte_carlo_moments`).

**Interior families** (after Le Maistre et al. 2019, "Signature of Phobos' interior structure in
its gravity field and libration", Icarus 321:272, doi:10.1016/j.icarus.2018.11.022 (title read in a
citation list), whose abstract and tables we could NOT read: family parameters here are our
ASSUMPTIONS, stated in :data:`DEFAULT_FAMILIES`): every family has the same total mass (the
measured GM) and shape; densities are piecewise constant, a shell and an inner body that is either
a homothetic copy of the shape scaled by ``lambda`` about the centroid or a sphere centred at the
centroid. The inertia of a homogeneous polyhedron is integrated exactly (sum over the tetrahedra
``(0, a, b, c)`` of ``int x x^T dV = det/120 (a a^T + b b^T + c c^T + s s^T)``, ``s = a + b + c``;
Tonon 2004, J. Math. Stat. 1, 8). A homothetic core scales the whole inertia tensor by one factor
(``rho_shell + (rho_core - rho_shell) lambda^5``)/``rho_bulk``: C20 and C22 shrink together and
the libration is UNCHANGED; only a core whose shape differs from the outline (the sphere) moves
the libration. Porosity with a uniform distribution changes no observable (a "porous homogeneous"
body is the homogeneous one for gravity and rotation; it differs only in grain density).

**Separation**: two families are told apart when the Mahalanobis distance of their observable
vectors ``(GM, Cbar20, Cbar22, |gamma_0|)`` under the measurement covariance exceeds a threshold
(default 3). Model uncertainty (shape, volume, the families' own parameters) is not included.

Sources: Murray C. D. & Dermott S. F. 1999, Solar System Dynamics, CUP, ch. 5; Burmeister et al.
2018, J. Geod. 92:963 (1.14 +- 0.03 deg); Lainey et al. 2021, A&A 650:A64 (1.09 +- 0.01 deg);
Chao & Rubincam 1989, GRL 16:859 (homogeneous prediction 0.97 deg); Yang et al. 2019, MNRAS (C20,
C22; normalisation UNCONFIRMED); Tonon 2004 (tetrahedron inertia). Numbers as in
``shared/nav-facts.md`` §1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..bodies import GM_PHOBOS
from ..errors import InputError

G_KM = 6.67430e-20  # km^3 kg^-1 s^-2, CODATA 2018 (Tiesinga et al. 2021, RMP 93, 025010)
E_PHOBOS = 0.0151  # Phobos mean eccentricity, JPL SSD mean elements MAR080 (data/mars_moons_mean_elements.csv)
R_REF = 11.0  # km, reference radius of the packaged Phobos field (phobos_gravity_sh_constdensity_ernst_deg10.csv)
N20 = math.sqrt(5.0)  # C20 = N20 * Cbar20 (4-pi normalisation)
N22 = math.sqrt(5.0 / 12.0)  # C22 = N22 * Cbar22

# Published values (nav-facts.md §1); σ are 1σ unless stated.
LIBRATION_BURMEISTER2018 = (math.radians(1.14), math.radians(0.03))  # Burmeister et al. 2018, J. Geod. 92:963
LIBRATION_LAINEY2021 = (math.radians(1.09), math.radians(0.01))  # Lainey et al. 2021, A&A 650:A64
LIBRATION_HOMOGENEOUS_CHAO1989 = math.radians(0.97)  # Chao & Rubincam 1989, GRL 16:859 (their shape model)
GM_JACOBSON2010 = (7.104e-4, 0.006e-4)  # km^3/s^2, Jacobson 2010 AJ (abstract)
# Yang et al. 2019 (MNRAS, doi:10.1093/mnras/stz2695): C20 = -0.1378 +- 0.0348, C22 = 0.0166 +- 0.0153 (3σ),
# normalisation and reference radius UNCONFIRMED; read here as UNNORMALISED at R = 11 km (assumption).
C20_YANG2019 = (-0.1378, 0.0348 / 3.0)
C22_YANG2019 = (0.0166, 0.0153 / 3.0)

OBSERVABLES = ("gm", "c20bar", "c22bar", "libration")
MOMENT_KEYS = ("C_MR2", "A_MR2", "B_MR2", "mean_MR2", "BmA_C", "C_kgkm2")


def _finite(name, v, positive=False):
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise InputError(name, v, "a finite number") from None
    if not math.isfinite(x) or (positive and x <= 0):
        raise InputError(name, v, "a finite positive number" if positive else "a finite number")
    return x


# ---------------------------------------------------------------------------------------------
# Libration and normalisation
def unnormalised(c20bar: float, c22bar: float) -> tuple[float, float]:
    """(C20, C22) unnormalised from the 4-pi normalised ones; ``J2 = -C20``."""
    return N20 * float(c20bar), N22 * float(c22bar)


def libration_amplitude(bma_over_c: float, e: float = E_PHOBOS) -> float:
    """Magnitude (rad) of the forced libration in longitude at the orbital period.

    ``|gamma_0| = 2e x/(1 - x)`` with ``x = 3 (B - A)/C`` (module docstring; the signed amplitude
    in ``theta = M + gamma_0 sin M`` is ``-|gamma_0|`` for x < 1). Requires 0 < x < 1 (x >= 1
    is the resonance / non-librating case, refused).
    """
    q = _finite("(B-A)/C", bma_over_c)
    e = _finite("eccentricity", e, positive=True)
    x = 3.0 * q
    if not 0.0 < x < 1.0:
        raise InputError("(B-A)/C", q, "0 < (B-A)/C < 1/3 (libration forced below the resonance w0 = n)")
    return 2.0 * e * x / (1.0 - x)


def bma_over_c_from_libration(libration: float, e: float = E_PHOBOS) -> float:
    """(B - A)/C from the libration magnitude (rad): ``x/3`` with ``x = |gamma_0|/(2e + |gamma_0|)``."""
    g = _finite("libration amplitude", libration, positive=True)
    e = _finite("eccentricity", e, positive=True)
    return g / (3.0 * (2.0 * e + g))


# ---------------------------------------------------------------------------------------------
# Moments of inertia from the observables
def _moments_and_jacobian(p: np.ndarray, ref_radius: float):
    """p = (GM, Cbar20, Cbar22, |gamma|, e) -> (y, J) with y in MOMENT_KEYS order, J = dy/dp."""
    gm, c20b, c22b, g, e = p
    C20, C22 = N20 * c20b, N22 * c22b
    k = 1.0 + 2.0 * e / g
    c = 12.0 * C22 * k
    # partials of c
    dc = np.array([0.0, 0.0, 12.0 * N22 * k, -24.0 * C22 * e / g**2, 24.0 * C22 / g])
    dC20 = np.array([0.0, N20, 0.0, 0.0, 0.0])
    dC22 = np.array([0.0, 0.0, N22, 0.0, 0.0])
    a = c + C20 - 2.0 * C22
    b = c + C20 + 2.0 * C22
    mean = (a + b + c) / 3.0
    q = g / (3.0 * (2.0 * e + g))
    dq = np.array([0.0, 0.0, 0.0, 2.0 * e / (3.0 * (2.0 * e + g) ** 2), -2.0 * g / (3.0 * (2.0 * e + g) ** 2)])
    MR2 = gm / G_KM * ref_radius**2
    Ckg = c * MR2
    dCkg = dc * MR2 + np.array([c * ref_radius**2 / G_KM, 0, 0, 0, 0])
    da = dc + dC20 - 2.0 * dC22
    db = dc + dC20 + 2.0 * dC22
    y = np.array([c, a, b, mean, q, Ckg])
    J = np.vstack([dc, da, db, (da + db + dc) / 3.0, dq, dCkg])
    return y, J


@dataclass(frozen=True)
class MomentEstimate:
    """Normalised moments with their 1σ and covariance (keys :data:`MOMENT_KEYS`).

    ``C_MR2 = C/(M R^2)`` etc. with ``R = ref_radius`` (km); ``BmA_C = (B - A)/C``;
    ``C_kgkm2`` = C in kg km^2. ``jacobian`` rows follow MOMENT_KEYS, columns
    (GM, Cbar20, Cbar22, libration, e).
    """

    value: dict
    sigma: dict
    covariance: np.ndarray
    jacobian: np.ndarray
    ref_radius: float
    inputs: dict = field(default_factory=dict)
    input_covariance: np.ndarray | None = None  # 5x5 over (GM, Cbar20, Cbar22, libration, e)


def _input_cov(sigma, cov, e_sigma):
    if cov is not None:
        P = np.asarray(cov, dtype=float)
        if P.shape != (4, 4) or not np.all(np.isfinite(P)) or not np.allclose(P, P.T, rtol=1e-10, atol=0):
            raise InputError("covariance", getattr(P, "shape", P),
                             "a symmetric finite 4x4 matrix over (GM, Cbar20, Cbar22, libration)")
        if np.min(np.linalg.eigvalsh(P)) < -1e-12 * max(np.max(np.abs(np.diag(P))), 1e-300):
            raise InputError("covariance", "not positive semi-definite", "a covariance matrix")
    else:
        if sigma is None:
            sigma = (0.0, 0.0, 0.0, 0.0)
        s = np.asarray(sigma, dtype=float)
        if s.shape != (4,) or not np.all(np.isfinite(s)) or np.any(s < 0):
            raise InputError("sigma", sigma, "four non-negative 1σ values for (GM, Cbar20, Cbar22, libration)")
        P = np.diag(s**2)
    P5 = np.zeros((5, 5))
    P5[:4, :4] = P
    P5[4, 4] = _finite("e_sigma", e_sigma) ** 2
    return P5


def moments_from_observables(gm: float, c20bar: float, c22bar: float, libration: float, *,
                             sigma=None, cov=None, e: float = E_PHOBOS, e_sigma: float = 0.0,
                             ref_radius: float = R_REF) -> MomentEstimate:
    """Moments of inertia from (GM km^3/s^2, Cbar20, Cbar22, |libration| rad), with linear σ.

    ``sigma`` (four 1σ) or ``cov`` (4x4) over (GM, Cbar20, Cbar22, libration); ``e_sigma`` the
    1σ of the eccentricity (default 0: e treated as exact).
    """
    gm = _finite("GM", gm, positive=True)
    c20bar = _finite("Cbar20", c20bar)
    c22bar = _finite("Cbar22", c22bar)
    if c22bar <= 0:
        raise InputError("Cbar22", c22bar, "a positive value (x axis = long axis, B > A)")
    libration = _finite("libration amplitude", libration, positive=True)
    e = _finite("eccentricity", e, positive=True)
    ref_radius = _finite("reference radius", ref_radius, positive=True)
    P = _input_cov(sigma, cov, e_sigma)
    p = np.array([gm, c20bar, c22bar, libration, e])
    y, J = _moments_and_jacobian(p, ref_radius)
    Py = J @ P @ J.T
    return MomentEstimate(dict(zip(MOMENT_KEYS, y.tolist())),
                          dict(zip(MOMENT_KEYS, np.sqrt(np.maximum(np.diag(Py), 0.0)).tolist())),
                          Py, J, ref_radius,
                          {"gm": gm, "c20bar": c20bar, "c22bar": c22bar, "libration": libration, "e": e}, P)


def monte_carlo_moments(estimate: MomentEstimate, cov_inputs=None, *, n: int = 10_000, seed: int = 1,
                        e_sigma: float = 0.0) -> dict:
    """Seeded Monte Carlo check of :func:`moments_from_observables`' linear σ.

    Draws (GM, Cbar20, Cbar22, libration, e) from a Gaussian about ``estimate.inputs`` with the
    input covariance of the estimate (or ``cov_inputs``, 4x4, with ``e_sigma``) and returns
    ``{"mean": {...}, "sigma": {...}, "n": n}`` of the recomputed moments.
    """
    n = int(n)
    if n < 10:
        raise InputError("n", n, "at least 10 draws")
    if cov_inputs is not None:
        P = _input_cov(None, cov_inputs, e_sigma)
    elif estimate.input_covariance is not None:
        P = estimate.input_covariance
    else:
        raise InputError("cov_inputs", None, "the 4x4 input covariance used for the linear propagation")
    i = estimate.inputs
    p0 = np.array([i["gm"], i["c20bar"], i["c22bar"], i["libration"], i["e"]])
    rng = np.random.default_rng(seed)
    draws = rng.multivariate_normal(p0, P, size=n, method="eigh")
    ys = np.array([_moments_and_jacobian(d, estimate.ref_radius)[0] for d in draws])
    return {"mean": dict(zip(MOMENT_KEYS, ys.mean(axis=0).tolist())),
            "sigma": dict(zip(MOMENT_KEYS, ys.std(axis=0, ddof=1).tolist())), "n": n}


# ---------------------------------------------------------------------------------------------
# Polyhedron inertia and degree-2 coefficients of a density model
def polyhedron_second_moment(vertices, faces) -> tuple[float, np.ndarray, np.ndarray]:
    """Unit-density volume V (km^3), first moment ∫x dV (km^4) and second moment ∫x x^T dV (km^5)
    about the frame origin, exact for a closed outward-oriented triangle mesh (tetrahedra from
    the origin; Tonon 2004)."""
    v = np.asarray(vertices, dtype=float)
    f = np.asarray(faces, dtype=np.int64)
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    det = np.einsum("ij,ij->i", a, np.cross(b, c))
    s = a + b + c
    vol = det.sum() / 6.0
    first = (det[:, None] * s).sum(axis=0) / 24.0
    P = (np.einsum("k,ki,kj->ij", det, a, a) + np.einsum("k,ki,kj->ij", det, b, b)
         + np.einsum("k,ki,kj->ij", det, c, c) + np.einsum("k,ki,kj->ij", det, s, s)) / 120.0
    return float(vol), first, P


def _tensor_from_P(P):
    return np.trace(P) * np.eye(3) - P


def inertia(shape, density: float) -> tuple[float, np.ndarray, np.ndarray]:
    """(M kg, centre of mass km, inertia tensor about the centre of mass kg km^2) of a
    homogeneous polyhedron of ``density`` kg/m^3.

    The same quantities as ``mmxsim.gravity.shape_harmonics.mass_properties`` (written in
    parallel, issue 17; cross-checked in the tests once merged); kept here so that this module
    stands alone until then.
    """
    rho = _finite("density", density, positive=True) * 1e9  # kg/km^3
    vol, first, P = polyhedron_second_moment(shape.vertices, shape.faces)
    if not vol > 0:
        raise InputError("shape", f"volume {vol}", "a closed outward-oriented mesh")
    com = first / vol
    Pc = P - vol * np.outer(com, com)
    return rho * vol, com, rho * _tensor_from_P(Pc)


@dataclass(frozen=True)
class Family:
    """An interior model: shell density and an inner body (none, ``homothetic`` or ``sphere``).

    ``core_density`` (kg/m^3; the shell density then follows from the total mass, bulk density =
    GM / (G V)) or ``shell_density`` (the core follows); ``core_scale`` = lambda (homothetic:
    linear scale of the shape about its centroid) or the sphere radius in km.
    """

    name: str
    core: str = "none"  # "none" | "homothetic" | "sphere"
    core_scale: float = 0.0
    core_density: float | None = None
    shell_density: float | None = None
    note: str = ""


RHO_BULK_KGM3 = 1860.0  # kg/m^3, nominal bulk density of the brief (Andert 2010: 1876 +- 20; Pätzold 2014: 1873 +- 31)

DEFAULT_FAMILIES = (
    Family("homogeneous", note="uniform density (bulk)"),
    Family("porous_homogeneous", note="uniform porosity (~30 %, Andert et al. 2010): same density field, "
           "identical observables; differs only in grain density"),
    Family("rubble_pile_dense_core", core="homothetic", core_scale=0.6, core_density=2500.0,
           note="ASSUMPTION: homothetic core lambda = 0.6, core 2500 kg/m^3 (compacted), shell from the mass"),
    Family("rubble_pile_spherical_core", core="sphere", core_scale=5.0, core_density=2500.0,
           note="ASSUMPTION: spherical core r = 5 km at the centroid, 2500 kg/m^3, shell from the mass"),
    Family("icy_layer", core="homothetic", core_scale=0.8, shell_density=1300.0,
           note="ASSUMPTION: ice-rich outer layer 1300 kg/m^3 (ice 930 + rock), rock interior lambda = 0.8 "
           "from the mass"),
)


def _frozen_mesh(shape) -> dict | None:
    """The per-object cache of a shape whose mesh cannot change (``ShapeModel._cache`` with read-only
    vertex and face arrays, as every packaged mesh: :func:`mmxsim.bodies.shapes.phobos_shape`), else None."""
    cache = getattr(shape, "_cache", None)
    v, f = getattr(shape, "vertices", None), getattr(shape, "faces", None)
    if not isinstance(cache, dict) or not isinstance(v, np.ndarray) or not isinstance(f, np.ndarray):
        return None
    return cache if not (v.flags.writeable or f.flags.writeable) else None


def _per_shape(shape, key, compute):
    """``compute()``, kept in the shape's cache under ``key`` when its mesh is read-only
    (:func:`_frozen_mesh`), else computed at each call."""
    cache = _frozen_mesh(shape)
    if cache is None:
        return compute()
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def _shape_moments(shape):
    """:func:`polyhedron_second_moment` of the shape's mesh, once per read-only shape (:func:`_per_shape`):
    every family of a table starts from it."""
    def compute():
        vol, first, P = polyhedron_second_moment(shape.vertices, shape.faces)
        if _frozen_mesh(shape) is not None:  # kept: read-only
            first.flags.writeable = P.flags.writeable = False
        return vol, first, P

    return _per_shape(shape, "interior_second_moment", compute)


def _shape_volume(shape) -> float:
    """``shape.volume``, once per read-only shape (:func:`_per_shape`)."""
    return _per_shape(shape, "interior_volume", lambda: shape.volume)


def _family_P(shape, fam: Family, rho_bulk: float):
    """Second moment about the centroid of the body per unit bulk density (∫ rho/rho_bulk x x^T dV),
    the volume and the core and shell densities relative to the bulk."""
    vol, first, P = _shape_moments(shape)
    com = first / vol
    P0 = P - vol * np.outer(com, com)
    if fam.core == "none":
        return vol, P0, 1.0, 1.0
    if fam.core == "homothetic":
        lam = _finite(f"{fam.name} core_scale", fam.core_scale, positive=True)
        if lam >= 1:
            raise InputError(f"{fam.name} core_scale", lam, "0 < lambda < 1")
        # the core mesh itself (the scaled copy), integrated, not the lambda^5 shortcut
        vc = com + lam * (shape.vertices - com)
        volc, firstc, Pc_o = polyhedron_second_moment(vc, shape.faces)
        Pc = Pc_o - np.outer(firstc, com) - np.outer(com, firstc) + volc * np.outer(com, com)
    elif fam.core == "sphere":
        r = _finite(f"{fam.name} core_scale", fam.core_scale, positive=True)
        volc = 4.0 / 3.0 * math.pi * r**3
        Pc = (4.0 * math.pi * r**5 / 15.0) * np.eye(3)
        dmin = np.min(np.linalg.norm(shape.vertices - com, axis=1))
        if r >= dmin:
            raise InputError(f"{fam.name} core_scale", r, f"a sphere radius below {dmin:.3f} km (inside the shape)")
    else:
        raise InputError(f"{fam.name} core", fam.core, "none, homothetic or sphere")
    fc = volc / vol
    if (fam.core_density is None) == (fam.shell_density is None):
        raise InputError(f"{fam.name} densities", (fam.core_density, fam.shell_density),
                         "exactly one of core_density and shell_density (kg/m^3)")
    if fam.core_density is not None:
        rc = _finite(f"{fam.name} core_density", fam.core_density, positive=True) / rho_bulk
        rs = (1.0 - rc * fc) / (1.0 - fc)
    else:
        rs = _finite(f"{fam.name} shell_density", fam.shell_density, positive=True) / rho_bulk
        rc = (1.0 - rs * (1.0 - fc)) / fc
    if rs <= 0 or rc <= 0:
        raise InputError(f"{fam.name} densities", (rc, rs), "positive core and shell densities at the bulk mass")
    return vol, rs * P0 + (rc - rs) * Pc, rc, rs


def family_observables(shape, fam: Family, *, gm: float = GM_PHOBOS, e: float = E_PHOBOS,
                       ref_radius: float = R_REF) -> dict:
    """Observables and moments of one family: GM, principal-axis Cbar20, Cbar22 (about the centre
    of mass, R = ref_radius), |libration| (rad), C/MR^2, A/MR^2, B/MR^2, (B-A)/C, densities."""
    gm = _finite("GM", gm, positive=True)
    rho_bulk = gm / G_KM / abs(_shape_volume(shape)) * 1e-9  # kg/m^3
    vol, P, rc, rs = _family_P(shape, fam, rho_bulk)
    I = _tensor_from_P(P)  # per unit bulk density
    A, B, C = np.linalg.eigvalsh(I)
    MR2 = vol * ref_radius**2
    C20 = -(C - 0.5 * (A + B)) / MR2
    C22 = (B - A) / (4.0 * MR2)
    q = (B - A) / C
    return {"family": fam.name, "gm": float(gm), "c20bar": C20 / N20, "c22bar": C22 / N22,
            "libration": libration_amplitude(q, e), "C_MR2": C / MR2, "A_MR2": A / MR2, "B_MR2": B / MR2,
            "mean_MR2": (A + B + C) / (3.0 * MR2), "BmA_C": q, "rho_bulk": rho_bulk,
            "rho_core": rc * rho_bulk if fam.core != "none" else None,
            "rho_shell": rs * rho_bulk, "core": fam.core, "core_scale": fam.core_scale, "note": fam.note}


def family_table(shape=None, families=DEFAULT_FAMILIES, *, gm: float = GM_PHOBOS, e: float = E_PHOBOS,
                 ref_radius: float = R_REF) -> list[dict]:
    """:func:`family_observables` for each family (default the packaged Ernst shape). For a read-only mesh
    (every packaged one) the rows are computed once per shape object and arguments (the ``origin`` and
    ``geodesy`` sections of one run both ask for them) and each call gets its own copies."""
    if shape is None:
        from ..bodies.shapes import phobos_shape

        shape = phobos_shape("ernst")
    def rows():
        return [family_observables(shape, f, gm=gm, e=e, ref_radius=ref_radius) for f in families]

    try:
        key = ("interior_family_table", tuple(families), float(gm), float(e), float(ref_radius))
        hash(key)
    except (TypeError, ValueError):  # unhashable families or non-numbers: computed (and checked) here
        return rows()
    return [dict(r) for r in _per_shape(shape, key, rows)]


# ---------------------------------------------------------------------------------------------
# Separation of families
def current_sigma() -> tuple[float, float, float, float]:
    """1σ of (GM, Cbar20, Cbar22, libration) from today's knowledge (nav-facts §1): GM Jacobson
    2010; C20, C22 Yang et al. 2019 (3σ/3, read as unnormalised at 11 km: UNCONFIRMED convention)
    converted to normalised; libration Burmeister et al. 2018."""
    return (GM_JACOBSON2010[1], C20_YANG2019[1] / N20, C22_YANG2019[1] / N22, LIBRATION_BURMEISTER2018[1])


def separation_table(rows: list[dict], sigma=None, *, cov=None, threshold: float = 3.0,
                     model_sigma=None) -> list[dict]:
    """Pairwise Mahalanobis distance between families in (GM, Cbar20, Cbar22, libration).

    ``rows`` from :func:`family_table`; ``sigma`` four 1σ (or ``cov`` 4x4) of the measurement of
    those observables (e.g. the formal σ of the geodesy covariance analysis). Returns one dict per
    pair: ``a``, ``b``, ``distance``, ``separated`` (distance > threshold) and the per-observable
    differences in σ (``z_gm``, ``z_c20bar``, ``z_c22bar``, ``z_libration``). ``model_sigma``
    (four 1σ, default none) is added in quadrature to the measurement: the uncertainty of the
    predicted difference between two families (shape model, volume, the families' parameters),
    which this module does not compute.
    """
    if sigma is None and cov is None:
        raise InputError("sigma", None, "four 1σ values or a 4x4 covariance over (GM, Cbar20, Cbar22, libration)")
    P = _input_cov(sigma, cov, 0.0)[:4, :4]
    if model_sigma is not None:
        P = P + _input_cov(model_sigma, None, 0.0)[:4, :4]
    d = np.sqrt(np.diag(P))
    if np.any(d <= 0):
        raise InputError("sigma", d.tolist(), "positive 1σ for every observable")
    thr = _finite("threshold", threshold, positive=True)
    Pinv = np.linalg.inv(P)
    out = []
    for i in range(len(rows)):
        for j in range(i + 1, len(rows)):
            dy = np.array([rows[i][k] - rows[j][k] for k in OBSERVABLES])
            m = float(math.sqrt(max(dy @ Pinv @ dy, 0.0)))
            r = {"a": rows[i]["family"], "b": rows[j]["family"], "distance": m, "separated": m > thr}
            r.update({f"z_{k}": float(dy[n] / d[n]) for n, k in enumerate(OBSERVABLES)})
            out.append(r)
    return out


def interior_assessment(sigma=None, *, cov=None, shape=None, families=DEFAULT_FAMILIES, truth: str = "homogeneous",
                        threshold: float = 3.0, model_sigma=None, gm: float = GM_PHOBOS,
                        e: float = E_PHOBOS, ref_radius: float = R_REF) -> dict:
    """Everything the geodesy analysis and the origin section need, for one measurement σ.

    ``sigma``/``cov``: the formal uncertainty of (GM, Cbar20, Cbar22, libration) (e.g. from the
    covariance analysis). Returns ``families`` (:func:`family_table`), ``separation``
    (:func:`separation_table`), ``moments`` (:class:`MomentEstimate` of the ``truth`` family's
    observables with that σ), ``separated`` / ``pairs`` counts and ``indistinguishable`` (the pairs
    at or below the threshold).
    """
    rows = family_table(shape, families, gm=gm, e=e, ref_radius=ref_radius)
    names = [r["family"] for r in rows]
    if truth not in names:
        raise InputError("truth", truth, ", ".join(names))
    sep = separation_table(rows, sigma, cov=cov, threshold=threshold, model_sigma=model_sigma)
    t = rows[names.index(truth)]
    est = moments_from_observables(t["gm"], t["c20bar"], t["c22bar"], t["libration"], sigma=sigma, cov=cov,
                                   e=e, ref_radius=ref_radius)
    return {"families": rows, "separation": sep, "moments": est, "separated": sum(p["separated"] for p in sep),
            "pairs": len(sep), "indistinguishable": [(p["a"], p["b"]) for p in sep if not p["separated"]],
            "threshold": float(threshold)}
