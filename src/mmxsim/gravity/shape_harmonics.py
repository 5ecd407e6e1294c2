"""Stokes coefficients and mass properties of a constant-density (or two-layer) triangle mesh.

Model
-----
A closed, outward-oriented triangle mesh of constant density ρ. Its exterior potential is
U = (GM/r) Σ_n Σ_m (R/r)^n P̄_nm(sin φ) (C̄_nm cos mλ + S̄_nm sin mλ), with the fully normalised
(4π, geodesy convention, no Condon–Shortley phase) coefficients

    C̄_nm + i S̄_nm = 1 / ((2n+1) M) ∫_body (r/R)^n P̄_nm(sin φ) e^{imλ} dm,
    P̄_nm = N_nm P_nm,  N_nm = sqrt((2 − δ_m0)(2n+1)(n−m)!/(n+m)!)   (:func:`mmxsim.gravity.normalisation`).

This is the convention of the packaged ``phobos_gravity_sh_constdensity_ernst_deg10.csv`` (its header
and ``data/SOURCES.md`` §5): coefficients **normalised by the total mass** (C̄00 = 1), reference radius a
parameter (11 km for that file), origin and axes those of the mesh (not re-centred: degree 1 is the
centre-of-mass offset).

Method (exact volume integration)
---------------------------------
The body is the signed sum of the tetrahedra (origin, facet) (Werner 1997, Computers & Geosciences
23, 1071, uses the same decomposition, with a recursion on the coefficients; we do not use his
recursion). r^n P̄_nm(sin φ) e^{imλ} is a homogeneous polynomial of degree n in (x, y, z) (a regular
solid harmonic), so on the cone x = t·p(u, v), t ∈ [0, 1], p on the facet,

    ∫_tet f_n dV = det[a, b, c] · ∫_0^1 t^{n+2} dt · ∫_Δ f_n(p(u, v)) du dv
                 = 6 V_tet / (n + 3) · ∫_Δ f_n(a + u(b − a) + v(c − a)) du dv,

and the facet integral of a degree-n polynomial is computed exactly (to rounding) by the collapsed
(Duffy) tensor Gauss–Legendre rule with ⌊N/2⌋+1 points per direction, exact to degree N+1 in the
collapsed variable (Stroud 1971, "Approximate calculation of multiple integrals", §2.7). The solid
harmonics at the nodes are formed by the standard fully normalised recursions (sectoral
P̄_mm = sqrt((2m+1)/(2m)) cos φ P̄_m−1,m−1, P̄_11 = √3 cos φ, and the three-term recursion in n,
e.g. Holmes & Featherstone 2002, J. Geodesy 76, 279, eqs. 11–13), multiplied through by (r/R)^n so
that everything stays a polynomial in x/R, y/R, z/R: no division by r, no singularity at the origin.

Second moments use the closed form for a tetrahedron with vertices v_0..v_3 (here v_0 = 0):
∫ x xᵀ dV = V/20 · (Σ_k v_k v_kᵀ + s sᵀ), s = Σ_k v_k (e.g. Tonon 2005, J. Math. Stat. 1, 8).
Inertia about the centre of mass: I = tr(J) 1 − J with J = ∫ (x − c)(x − c)ᵀ dm; principal moments
A ≤ B ≤ C. In principal axes centred at the centre of mass, with unnormalised C_nm = N_nm C̄_nm,

    C20 = −(C − (A + B)/2) / (M R²),    C22 = (B − A) / (4 M R²),    C21 = S21 = S22 = 0.

Layered density
---------------
Density ρ_in inside a copy of the shape scaled by s ∈ (0, 1] about a centre (by default the
homogeneous centre of mass) and ρ_out between it and the surface (Le Maistre et al. 2019's interior
families: homogeneous, porous, denser core, lighter icy layer). Integrals are linear in the density,
so I = ρ_out I(shape) + (ρ_in − ρ_out) I(scaled shape), M likewise: exact superposition.

Simplifications
---------------
Constant density per layer; the mesh is taken as exact (its facets are the body surface); degree
limited to 150 (the normalised recursions are stable far beyond, the limit only bounds memory/time).
Units: km, kg, kg/m³ for densities (mass = ρ·V·1e9 kg with V in km³).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError, MmxsimError

if TYPE_CHECKING:
    from . import SHField

MAX_DEGREE = 150
_CHUNK = 8192  # quadrature nodes per vectorised block (2 x K x 8 B x chunk of work arrays; ~8 MB at degree 10)


# ---------------------------------------------------------------------------------------------
# Results
@dataclass(frozen=True)
class ShapeStokes:
    """Fully normalised Stokes coefficients of a (layered) constant-density mesh.

    ``C``, ``S``: (N+1, N+1) arrays, ``[n, m]``, zero for m > n; 4π normalisation, no
    Condon–Shortley phase, normalised by the total ``mass`` (C̄00 = 1); ``ref_radius`` in km;
    ``volume`` km³; ``mass`` kg (None when no density was given: the coefficients do not depend on it).
    Axes and origin are the mesh's.
    """

    C: np.ndarray
    S: np.ndarray
    degree: int
    ref_radius: float
    volume: float
    mass: float | None = None

    def unnormalised(self) -> tuple[np.ndarray, np.ndarray]:
        """(C, S) unnormalised, C_nm = N_nm C̄_nm (the convention of :class:`mmxsim.gravity.SHField`)."""
        N = _norm_matrix(self.degree)
        return self.C * N, self.S * N

    def to_field(self, gm: float, name: str = "") -> "SHField":
        """The field as :class:`mmxsim.gravity.SHField` with ``gm`` (km³/s²)."""
        from . import SHField

        if not gm > 0:
            raise InputError("ShapeStokes.to_field gm", gm, "> 0 km^3/s^2")
        C, S = self.unnormalised()
        return SHField(float(gm), self.ref_radius, C, S, self.degree, name)

    def rescaled(self, ref_radius: float) -> "ShapeStokes":
        """Same field at another reference radius: C̄_nm(R2) = C̄_nm(R1) (R1/R2)^n."""
        _positive("ref_radius", ref_radius, "km")
        f = (self.ref_radius / ref_radius) ** np.arange(self.degree + 1)[:, None]
        return ShapeStokes(self.C * f, self.S * f, self.degree, float(ref_radius), self.volume, self.mass)


@dataclass(frozen=True)
class MassProperties:
    """Mass properties of a (layered) constant-density mesh, in the mesh axes.

    ``volume`` km³; ``mass`` kg; ``centre_of_mass`` km; ``inertia`` kg km² (3×3, about the centre of
    mass, I = ∫ (|x|² 1 − x xᵀ) dm); ``principal_moments`` (A, B, C) ascending, kg km²;
    ``principal_axes`` columns = unit axes of A, B, C (right-handed).
    """

    volume: float
    mass: float
    centre_of_mass: np.ndarray
    inertia: np.ndarray
    principal_moments: np.ndarray
    principal_axes: np.ndarray

    def polar_moment_factor(self, radius: float) -> float:
        """C / (M R²) for the given radius R (km): 0.4 for a homogeneous sphere of radius R."""
        _positive("radius", radius, "km")
        return float(self.principal_moments[2] / (self.mass * radius**2))

    def normalised_moments(self, radius: float) -> np.ndarray:
        """(A, B, C) / (M R²)."""
        _positive("radius", radius, "km")
        return self.principal_moments / (self.mass * radius**2)


# ---------------------------------------------------------------------------------------------
# Input handling
def _positive(field, value, unit):
    try:
        ok = float(value) > 0 and np.isfinite(float(value))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InputError(field, value, f"a finite number > 0 {unit}")


def _degree(degree):
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or not 0 <= degree <= MAX_DEGREE:
        raise InputError("degree", degree, f"an integer 0..{MAX_DEGREE}")
    return int(degree)


def _mesh(shape):
    """(vertices, faces) from a ShapeModel or a (vertices, faces) pair; checks closure and volume."""
    if hasattr(shape, "vertices") and hasattr(shape, "faces"):
        v, f = shape.vertices, shape.faces
    else:
        try:
            v, f = shape
        except (TypeError, ValueError):
            raise InputError("shape", type(shape).__name__, "a ShapeModel or a (vertices, faces) pair") from None
    v = np.asarray(v, dtype=float)
    f = np.asarray(f)
    if v.ndim != 2 or v.shape[1] != 3 or f.ndim != 2 or f.shape[1] != 3 or len(f) < 4:
        raise InputError("shape", f"vertices {v.shape}, faces {f.shape}", "(V, 3) vertices and (F >= 4, 3) faces")
    if not np.issubdtype(f.dtype, np.integer) or f.min() < 0 or f.max() >= len(v):
        raise InputError("shape faces", f"indices {f.min()}..{f.max()}", f"integers 0..{len(v) - 1}")
    if not np.all(np.isfinite(v)):
        raise InputError("shape vertices", "non-finite values", "finite coordinates in km")
    # closed and consistently oriented: every directed edge appears once, its reverse once
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    key = e[:, 0].astype(np.int64) * len(v) + e[:, 1]
    rkey = e[:, 1].astype(np.int64) * len(v) + e[:, 0]
    if len(np.unique(key)) != len(key) or not np.array_equal(np.sort(key), np.sort(rkey)):
        raise InputError("shape", "open, non-manifold or inconsistently oriented mesh",
                         "a closed mesh with every edge shared by two facets in opposite directions")
    vol = float(np.einsum("ij,ij->", v[f[:, 0]], np.cross(v[f[:, 1]], v[f[:, 2]])) / 6.0)
    if not vol > 0:
        raise InputError("shape", f"signed volume {vol:.6g} km^3", "an outward-oriented mesh (positive volume)")
    return v, f.astype(np.int64)


# ---------------------------------------------------------------------------------------------
# Core: exact integrals of the normalised solid harmonics over the mesh
def _norm_matrix(N):
    from . import normalisation

    out = np.zeros((N + 1, N + 1))
    for n in range(N + 1):
        for m in range(n + 1):
            out[n, m] = normalisation(n, m)
    return out


def _facet_rule(N):
    """Nodes (u, v) and weights (sum 1/2) on the unit triangle, exact for polynomials of degree N."""
    q = N // 2 + 1
    g, w = np.polynomial.legendre.leggauss(q)
    g, w = 0.5 * (g + 1.0), 0.5 * w
    xi, eta = np.meshgrid(g, g, indexing="ij")
    wx, we = np.meshgrid(w, w, indexing="ij")
    u = xi.ravel()
    v = ((1.0 - xi) * eta).ravel()
    wt = (wx * we * (1.0 - xi)).ravel()
    return u, v, wt


def _recursion_coefficients(N):
    a = np.zeros((N + 1, N + 1))
    b = np.zeros((N + 1, N + 1))
    for n in range(2, N + 1):
        for m in range(0, n - 1):
            a[n, m] = np.sqrt((2 * n - 1) * (2 * n + 1) / ((n - m) * (n + m)))
            b[n, m] = np.sqrt((2 * n + 1) * (n + m - 1) * (n - m - 1) / ((n - m) * (n + m) * (2 * n - 3)))
    return a, b


def _index(N):
    """Row of (n, m) in the packed (K, P) arrays, K = (N+1)(N+2)/2 (n-major)."""
    idx = np.full((N + 1, N + 1), -1, dtype=np.int64)
    k = 0
    for n in range(N + 1):
        for m in range(n + 1):
            idx[n, m] = k
            k += 1
    return idx


def _unpack(packed, N):
    out = np.zeros((N + 1, N + 1) + packed.shape[1:])
    n, m = np.tril_indices(N + 1)
    out[n, m] = packed
    return out


def solid_harmonics(points, degree: int, ref_radius: float):
    """Normalised regular solid harmonics (r/R)^n P̄_nm(sin φ) (cos mλ, sin mλ) at ``points`` (P, 3) km.

    Returns (Rc, Rs), each (N+1, N+1, P) (zero for m > n); polynomials in x/R, y/R, z/R (finite at
    the origin).
    """
    N = _degree(degree)
    _positive("ref_radius", ref_radius, "km")
    p = np.asarray(points, dtype=float)
    if p.ndim != 2 or p.shape[1] != 3 or not np.all(np.isfinite(p)):
        raise InputError("points", p.shape, "an (P, 3) array of finite positions in km")
    K = (N + 1) * (N + 2) // 2
    Rc = np.empty((K, len(p)))
    Rs = np.empty_like(Rc)
    _fill_solid(p / ref_radius, N, *_recursion_coefficients(N), _index(N), Rc, Rs)
    return _unpack(Rc, N), _unpack(Rs, N)


def _fill_solid(p, N, a, b, idx, Rc, Rs):
    """Packed rows idx[n, m] of Rc, Rs (K, P) at the points p (P, 3) already divided by R."""
    x, y, z = p[:, 0].copy(), p[:, 1].copy(), p[:, 2].copy()
    r2 = x * x + y * y + z * z
    tmp = np.empty_like(x)
    Rc[0] = 1.0
    Rs[0] = 0.0
    for m in range(N + 1):
        k = idx[m, m]
        if m >= 1:  # sectoral: P̄_mm = f_m cos φ P̄_{m-1,m-1}, times r e^{iλ} -> (x + i y)
            f = np.sqrt(3.0) if m == 1 else np.sqrt((2 * m + 1) / (2 * m))
            c0, s0 = Rc[idx[m - 1, m - 1]], Rs[idx[m - 1, m - 1]]
            np.multiply(x, c0, out=Rc[k])
            np.multiply(y, s0, out=tmp)
            Rc[k] -= tmp
            Rc[k] *= f
            np.multiply(x, s0, out=Rs[k])
            np.multiply(y, c0, out=tmp)
            Rs[k] += tmp
            Rs[k] *= f
        if m + 1 <= N:  # P̄_{m+1,m} = sqrt(2m+3) sin φ P̄_mm
            np.multiply(z, Rc[k], out=Rc[idx[m + 1, m]])
            Rc[idx[m + 1, m]] *= np.sqrt(2 * m + 3)
            np.multiply(z, Rs[k], out=Rs[idx[m + 1, m]])
            Rs[idx[m + 1, m]] *= np.sqrt(2 * m + 3)
        for n in range(m + 2, N + 1):
            k0, k1, k2 = idx[n, m], idx[n - 1, m], idx[n - 2, m]
            for R_ in (Rc, Rs):
                np.multiply(z, R_[k1], out=R_[k0])
                R_[k0] *= a[n, m]
                np.multiply(r2, R_[k2], out=tmp)
                tmp *= b[n, m]
                R_[k0] -= tmp


def _integrals(v, f, N, R):
    """I_nm = ∫ (r/R)^n P̄_nm e^{imλ} dV (km³) over the unit-density mesh: (Ic, Is), and the volume."""
    A, B, Cc = v[f[:, 0]] / R, v[f[:, 1]] / R, v[f[:, 2]] / R
    six_v = np.einsum("ij,ij->i", A, np.cross(B, Cc)) * R**3  # 6 V_tet (signed), km^3
    u, w, wt = _facet_rule(N)
    nq = len(u)
    a, b = _recursion_coefficients(N)
    idx = _index(N)
    K = (N + 1) * (N + 2) // 2
    Ic = np.zeros(K)
    Is = np.zeros(K)
    fchunk = max(1, _CHUNK // nq)
    Rc = np.empty((K, fchunk * nq))
    Rs = np.empty_like(Rc)
    pts = np.empty((fchunk, nq, 3))
    for i0 in range(0, len(f), fchunk):
        sl = slice(i0, i0 + fchunk)
        nf = len(six_v[sl])
        a0, e1, e2 = A[sl], B[sl] - A[sl], Cc[sl] - A[sl]
        P = pts[:nf]
        np.multiply(u[None, :, None], e1[:, None, :], out=P)
        P += w[None, :, None] * e2[:, None, :]
        P += a0[:, None, :]
        W = (six_v[sl][:, None] * wt[None, :]).ravel()
        np_ = nf * nq
        _fill_solid(P.reshape(-1, 3), N, a, b, idx, Rc[:, :np_], Rs[:, :np_])
        Ic += Rc[:, :np_] @ W
        Is += Rs[:, :np_] @ W
    deg = np.repeat(np.arange(N + 1), np.arange(1, N + 2))
    Ic /= deg + 3.0  # ∫_0^1 t^{n+2} dt
    Is /= deg + 3.0
    return _unpack(Ic, N), _unpack(Is, N), float(six_v.sum() / 6.0)


def _second_moments(v, f):
    """Volume, first moment ∫x dV and second moments ∫ x xᵀ dV (km³, km⁴, km⁵) of the unit-density mesh."""
    A, B, C = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    vol = np.einsum("ij,ij->i", A, np.cross(B, C)) / 6.0
    s = A + B + C
    first = (vol[:, None] * s).sum(axis=0) / 4.0
    J = (np.einsum("i,ij,ik->jk", vol, A, A) + np.einsum("i,ij,ik->jk", vol, B, B)
         + np.einsum("i,ij,ik->jk", vol, C, C) + np.einsum("i,ij,ik->jk", vol, s, s)) / 20.0
    return float(vol.sum()), first, J


def _scaled(v, scale, centre):
    return centre + scale * (v - centre)


# ---------------------------------------------------------------------------------------------
# Public API
def stokes_coefficients(shape, degree: int = 10, ref_radius: float = 11.0,
                        density: float | None = None) -> ShapeStokes:
    """Fully normalised C̄_nm, S̄_nm of a homogeneous closed mesh, exact volume integration.

    ``shape``: :class:`mmxsim.bodies.shapes.ShapeModel` or (vertices km, faces) pair, closed and
    outward-oriented. ``degree`` N (0..150); ``ref_radius`` R km (11 km for the packaged Phobos file);
    ``density`` kg/m³, only used for ``mass`` (the mass-normalised coefficients do not depend on it).
    Mesh origin and axes. Degree 10 on the 49,988-facet Ernst mesh: 0.85 s on one core (measured,
    single-threaded BLAS; 1.8 M facet nodes), degree 5: 0.13 s; cost grows ~ N⁴.

    >>> from mmxsim.bodies.shapes import icosphere
    >>> st = stokes_coefficients(icosphere(2, 10.0), degree=4)
    >>> round(float(st.C[0, 0]), 12), bool(abs(st.C[2, 0]) < 1e-12)
    (1.0, True)
    """
    N = _degree(degree)
    _positive("ref_radius", ref_radius, "km")
    if density is not None:
        _positive("density", density, "kg/m^3")
    v, f = _mesh(shape)
    Ic, Is, vol = _integrals(v, f, N, float(ref_radius))
    scale = 1.0 / ((2 * np.arange(N + 1) + 1.0)[:, None] * vol)
    mass = None if density is None else float(density) * vol * 1e9
    return ShapeStokes(Ic * scale, Is * scale, N, float(ref_radius), vol, mass)


def mass_properties(shape, density: float = 1.0) -> MassProperties:
    """Volume, mass, centre of mass and inertia tensor of a homogeneous closed mesh (``density`` kg/m³)."""
    _positive("density", density, "kg/m^3")
    v, f = _mesh(shape)
    return _layered_mass_properties(v, f, float(density), float(density), 1.0, None)


def layered_stokes(shape, rho_in: float, rho_out: float, core_scale: float, degree: int = 10,
                   ref_radius: float = 11.0, centre=None) -> ShapeStokes:
    """Coefficients of a two-layer body: ρ_in inside the shape scaled by ``core_scale`` about ``centre``,
    ρ_out outside it (kg/m³). ``centre`` km defaults to the homogeneous centre of mass. Exact
    superposition of two homogeneous meshes; normalised by the total mass (returned in ``mass``).
    ρ_in = ρ_out (or ``core_scale`` = 1 with ρ_in = the body's density) gives the homogeneous body.
    """
    N = _degree(degree)
    _positive("ref_radius", ref_radius, "km")
    _positive("rho_in", rho_in, "kg/m^3")
    _positive("rho_out", rho_out, "kg/m^3")
    v, f = _mesh(shape)
    s, c = _core(v, f, core_scale, centre)
    R = float(ref_radius)
    Ic, Is, vol = _integrals(v, f, N, R)
    Ic2, Is2, vol2 = _integrals(_scaled(v, s, c), f, N, R)
    d = float(rho_in) - float(rho_out)
    mass_v = float(rho_out) * vol + d * vol2  # kg/m^3 * km^3
    k = 1.0 / ((2 * np.arange(N + 1) + 1.0)[:, None] * mass_v)
    C = (float(rho_out) * Ic + d * Ic2) * k
    S = (float(rho_out) * Is + d * Is2) * k
    return ShapeStokes(C, S, N, R, vol, mass_v * 1e9)


def layered_mass_properties(shape, rho_in: float, rho_out: float, core_scale: float, centre=None) -> MassProperties:
    """Mass properties of the two-layer body of :func:`layered_stokes` (densities kg/m³)."""
    _positive("rho_in", rho_in, "kg/m^3")
    _positive("rho_out", rho_out, "kg/m^3")
    v, f = _mesh(shape)
    return _layered_mass_properties(v, f, float(rho_in), float(rho_out), core_scale, centre)


def _core(v, f, core_scale, centre):
    try:
        s = float(core_scale)
    except (TypeError, ValueError):
        s = float("nan")
    if not 0.0 < s <= 1.0:
        raise InputError("core_scale", core_scale, "a number in (0, 1] (core = shape scaled about the centre)")
    if centre is None:
        vol, first, _ = _second_moments(v, f)
        c = first / vol
    else:
        c = np.asarray(centre, dtype=float)
        if c.shape != (3,) or not np.all(np.isfinite(c)):
            raise InputError("centre", centre, "a finite 3-vector in km (default: the centre of mass)")
    return s, c


def _layered_mass_properties(v, f, rho_in, rho_out, core_scale, centre):
    s, c = _core(v, f, core_scale, centre)
    vol, m1, J = _second_moments(v, f)
    vol2, m1b, J2 = _second_moments(_scaled(v, s, c), f)
    d = rho_in - rho_out
    mass = (rho_out * vol + d * vol2) * 1e9  # kg
    first = (rho_out * m1 + d * m1b) * 1e9  # kg km
    second = (rho_out * J + d * J2) * 1e9  # kg km^2
    com = first / mass
    Jc = second - mass * np.outer(com, com)
    inertia = np.trace(Jc) * np.eye(3) - Jc
    inertia = 0.5 * (inertia + inertia.T)
    w, vec = np.linalg.eigh(inertia)
    if not np.all(np.isfinite(w)):
        raise MmxsimError("inertia tensor is not finite (degenerate mesh)")
    if np.linalg.det(vec) < 0:
        vec[:, 2] = -vec[:, 2]
    return MassProperties(vol, float(mass), com, inertia, w, vec)


__all__ = ["ShapeStokes", "MassProperties", "stokes_coefficients", "mass_properties", "layered_stokes",
           "layered_mass_properties", "solid_harmonics", "MAX_DEGREE"]
