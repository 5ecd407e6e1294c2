"""Gravity fields: point mass, zonal harmonics, spherical harmonics (written once).

Each function takes a math namespace ``m`` (see :mod:`mmxsim.mathns`) so the same
source builds heyoka expressions for the Taylor integrator and evaluates on NumPy
for the SciPy baseline and tests. Positions in km, GM in km^3/s^2, accelerations
in km/s^2.

For orbit determination the Stokes coefficients of chosen degrees can be runtime parameters:
:func:`normalised_coefficients` names them, :func:`without_degrees` keeps the rest of the field as
constants and :func:`sh_acceleration_linear` writes their terms linearly in each coefficient (the
basis acceleration times the coefficient), so that variational equations give exact partials.

Later work adds models (polyhedron, mascons) through :mod:`mmxsim.dynamics.forces`,
not by editing this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import factorial

import numpy as np

from .._data import data_path
from ..errors import InputError
from ..mathns import dot


def point_mass(r, gm, m):
    """-GM r/|r|^3."""
    r2 = dot(r, r)
    k = -gm / (r2 * m.sqrt(r2))
    return [k * r[0], k * r[1], k * r[2]]


def zonal(r, pole, gm, ref_radius, J: dict, m):
    """Zonal harmonics J_n (n = 2..4), excluding the central term.

    ``pole`` is the unit spin axis in the same axes as ``r``. Potential
    U = -(GM/r) sum_n J_n (R/r)^n P_n(s), s = (r . pole)/r; acceleration = grad U
    written in closed form for n = 2, 3, 4 (Vallado 2013, eqs. 8-27..8-29, generalised
    to an arbitrary pole).
    """
    r2 = dot(r, r)
    rn = m.sqrt(r2)
    z = dot(r, pole)
    s = z / rn
    s2 = s * s
    out = [0.0, 0.0, 0.0]
    # For U_n = -(GM/r) J_n (R/r)^n P_n(s):
    # grad U_n = (GM J_n R^n / r^(n+2)) [ (n+1) P_n(s) r_hat ... ] -- we use the
    # generic form a = A_n(s) r/r + B_n(s) pole with
    #   A_n = GM J_n R^n / r^(n+2) * ((n+1) P_n(s) + s P_n'(s))
    #   B_n = -GM J_n R^n / r^(n+2) * P_n'(s)
    for n, Jn in sorted(J.items()):
        if n == 2:
            P, dP = 0.5 * (3 * s2 - 1), 3 * s
        elif n == 3:
            P, dP = 0.5 * (5 * s2 * s - 3 * s), 0.5 * (15 * s2 - 3)
        elif n == 4:
            P, dP = (35 * s2 * s2 - 30 * s2 + 3) / 8.0, (140 * s2 * s - 60 * s) / 8.0
        else:
            raise InputError("zonal degree", n, "2, 3 or 4")
        k = gm * Jn * ref_radius**n / rn ** (n + 2)
        A = k * ((n + 1) * P + s * dP)
        B = -k * dP
        for i in range(3):
            out[i] = out[i] + A * r[i] / rn + B * pole[i]
    return out


# ---------------------------------------------------------------------------
# Spherical harmonics (Cunningham V/W recursion; Montenbruck & Gill 2000, §3.2.4-5)
@dataclass(frozen=True)
class SHField:
    """A spherical-harmonic gravity field in body-fixed axes (unnormalised C, S)."""

    gm: float
    ref_radius: float
    C: np.ndarray  # (nmax+1, nmax+1) unnormalised
    S: np.ndarray
    nmax: int
    name: str = ""

    def truncated(self, degree: int) -> "SHField":
        if not 0 <= degree <= self.nmax:
            raise InputError("gravity degree", degree, f"0..{self.nmax}")
        return SHField(self.gm, self.ref_radius, self.C[: degree + 1, : degree + 1].copy(),
                       self.S[: degree + 1, : degree + 1].copy(), degree, self.name)


def normalisation(n: int, m_: int) -> float:
    """Factor N_nm with C_nm = N_nm * Cbar_nm (4-pi normalisation, no Condon-Shortley)."""
    d = 1 if m_ == 0 else 2
    return float(np.sqrt(d * (2 * n + 1) * factorial(n - m_) / factorial(n + m_)))


@lru_cache(maxsize=4)
def phobos_field(degree: int = 10, gm: float | None = None) -> SHField:
    """Phobos homogeneous-density field to ``degree`` (packaged CSV; R = 11 km).

    Source: ``phobos_gravity_sh_constdensity_ernst_deg10.csv`` (coefficients of a
    constant-density body with the Ernst et al. 2023 SPC shape, computed by exact volume
    integration; see data/SOURCES.md). GM defaults to BODY401_GM of gm_de440.tpc.
    """
    from ..bodies import GM_PHOBOS

    rows = []
    for line in data_path("phobos_gravity_sh_constdensity_ernst_deg10.csv").read_text().splitlines():
        if line.startswith("#") or line.startswith("n,") or not line.strip():
            continue
        rows.append(line.split(","))
    nmax_file = 10
    C = np.zeros((nmax_file + 1, nmax_file + 1))
    S = np.zeros_like(C)
    for n_, m_, c, s in rows:
        n_, m_ = int(n_), int(m_)
        N = normalisation(n_, m_)
        C[n_, m_] = float(c) * N
        S[n_, m_] = float(s) * N
    f = SHField(gm if gm is not None else GM_PHOBOS, 11.0, C, S, nmax_file, "Phobos homogeneous (Ernst shape)")
    return f.truncated(degree)


def _cunningham_vw(rb, R: float, nmax: int, m):
    """Cunningham's V_nm, W_nm (Montenbruck & Gill eqs. 3.29-3.30) for n, m <= nmax."""
    x, y, z = rb
    r2 = x * x + y * y + z * z
    rho = R * R / r2
    x0, y0, z0 = R * x / r2, R * y / r2, R * z / r2
    V = [[0.0] * (nmax + 1) for _ in range(nmax + 1)]
    W = [[0.0] * (nmax + 1) for _ in range(nmax + 1)]
    V[0][0] = R / m.sqrt(r2)
    if nmax >= 1:
        V[1][0] = z0 * V[0][0]
    for n in range(2, nmax + 1):
        V[n][0] = ((2 * n - 1) * z0 * V[n - 1][0] - (n - 1) * rho * V[n - 2][0]) / n
    for mm in range(1, nmax + 1):
        V[mm][mm] = (2 * mm - 1) * (x0 * V[mm - 1][mm - 1] - y0 * W[mm - 1][mm - 1])
        W[mm][mm] = (2 * mm - 1) * (x0 * W[mm - 1][mm - 1] + y0 * V[mm - 1][mm - 1])
        if mm < nmax:
            V[mm + 1][mm] = (2 * mm + 1) * z0 * V[mm][mm]
            W[mm + 1][mm] = (2 * mm + 1) * z0 * W[mm][mm]
        for n in range(mm + 2, nmax + 1):
            V[n][mm] = ((2 * n - 1) * z0 * V[n - 1][mm] - (n + mm - 1) * rho * V[n - 2][mm]) / (n - mm)
            W[n][mm] = ((2 * n - 1) * z0 * W[n - 1][mm] - (n + mm - 1) * rho * W[n - 2][mm]) / (n - mm)
    return V, W


def _sh_terms(field: SHField):
    """The acceleration sums as {(kind, n, m): [cx, cy, cz]}: a_i = sum c_i * V_nm (kind 'V') or W_nm ('W').

    Montenbruck & Gill eqs. 3.31-3.33, with each V_nm / W_nm collected once and GM/R^2 folded in,
    so that the symbolic acceleration has one constant product per (V or W, component).
    """
    R = field.ref_radius
    k = field.gm / (R * R)
    terms: dict[tuple, list] = {}

    def acc(kind, n, mm, comp, val):
        if kind == "W" and mm == 0:  # W_n0 = 0
            return
        terms.setdefault((kind, n, mm), [0.0, 0.0, 0.0])[comp] += k * val

    C, S = field.C, field.S
    for n in range(0, field.nmax + 1):
        for mm in range(0, n + 1):
            c, s = float(C[n, mm]), float(S[n, mm])
            if c == 0.0 and s == 0.0:
                continue
            if mm == 0:
                acc("V", n + 1, 1, 0, -c)
                acc("W", n + 1, 1, 1, -c)
                acc("V", n + 1, 0, 2, -(n + 1) * c)
            else:
                f = 0.5 * (n - mm + 2) * (n - mm + 1)
                acc("V", n + 1, mm + 1, 0, -0.5 * c)
                acc("W", n + 1, mm + 1, 0, -0.5 * s)
                acc("V", n + 1, mm - 1, 0, f * c)
                acc("W", n + 1, mm - 1, 0, f * s)
                acc("W", n + 1, mm + 1, 1, -0.5 * c)
                acc("V", n + 1, mm + 1, 1, 0.5 * s)
                acc("W", n + 1, mm - 1, 1, -f * c)
                acc("V", n + 1, mm - 1, 1, f * s)
                acc("V", n + 1, mm, 2, -(n - mm + 1) * c)
                acc("W", n + 1, mm, 2, -(n - mm + 1) * s)
    return terms


def _msum(terms, m):
    """Sum of a list of numbers/expressions (an n-ary sum in symbolic mode)."""
    if not m.is_symbolic:
        return sum(terms)
    consts = sum(t for t in terms if isinstance(t, float))
    exprs = [t for t in terms if not isinstance(t, float)]
    if consts != 0.0 or not exprs:
        exprs.append(consts)
    if len(exprs) == 1:
        return exprs[0]
    if m.is_symbolic:
        return m.hy.sum([m.hy.expression(t) if isinstance(t, float) else t for t in exprs])
    return sum(exprs)


_PLANS: dict[int, tuple] = {}


def _sh_plan(field: SHField):
    """Per order m: the recursion factors beta_n of q_nm and, per (V or W, component), the sum
    coefficients (n, c) with the recursion scales and (2m-1)!! folded in. Cached per field."""
    hit = _PLANS.get(id(field))
    if hit is not None and hit[0] is field:
        return hit[1]
    M = field.nmax + 1
    terms = _sh_terms(field)
    plan = []
    for mm, (dfac, k, betas) in enumerate(_recursion_constants(M)):
        sums = []
        for kind in ("V", "W"):
            for i in range(3):
                col = [(n, terms[(kind, n, mm)][i] * dfac * k[n]) for n in range(mm, M + 1)
                       if (kind, n, mm) in terms and terms[(kind, n, mm)][i] != 0.0]
                if col and not (kind == "W" and mm == 0):
                    sums.append((kind, i, col))
        plan.append((betas, sums))
    _PLANS[id(field)] = (field, plan)
    return plan


def sh_acceleration(rb, field: SHField, m):
    """Acceleration of a spherical-harmonic field at body-fixed position ``rb``.

    Includes the central term (C00 = 1). Cunningham's V_nm, W_nm (Montenbruck & Gill
    eqs. 3.29-3.30) up to degree nmax+1 and the acceleration sums (eqs. 3.31-3.33),
    factored for the Taylor integrator: for each order m, V_nm = V_mm q_nm and
    W_nm = W_mm q_nm with one recursion q_nm (shared by V and W) in z0 and rho, and the
    sums over n taken on q before multiplying by the sectorial terms. The recursions are
    rescaled so that their constant factors move into the sum coefficients (``_sh_plan``).
    """
    R = field.ref_radius
    M = field.nmax + 1
    plan = _sh_plan(field)
    rho, z0, Vs, Ws = _sectorials(rb, R, M, m)
    parts = ([], [], [])
    for mm, (betas, sums) in enumerate(plan):
        qs = _q_recursion(rho, z0, betas, mm + 1 <= M)
        for kind, i, col in sums:
            sect = Vs[mm] if kind == "V" else Ws[mm]
            parts[i].append(sect * _msum([c * qs[n - mm] for n, c in col], m))
    return [_msum(p, m) for p in parts]


def sh_potential(rb, field: SHField, m):
    """Gravitational potential U (positive, km^2/s^2) of the field at ``rb`` (for tests)."""
    V, W = _cunningham_vw(rb, field.ref_radius, field.nmax, m)
    U = 0.0
    for n in range(field.nmax + 1):
        for mm in range(n + 1):
            U = U + field.C[n, mm] * V[n][mm] + field.S[n, mm] * W[n][mm]
    return field.gm / field.ref_radius * U


# ---------------------------------------------------------------------------
# Stokes coefficients as parameters (orbit determination of the field)
def normalised_coefficients(field: SHField, degree: int) -> dict[str, float]:
    """Fully normalised C̄nm, S̄nm of ``field`` for 2 <= n <= ``degree`` as {"C20": .., "C21": ..,
    "S21": .., ...} (4-pi normalisation, as the shipped CSV; S̄n0 omitted, it is zero)."""
    if not 2 <= degree <= field.nmax:
        raise InputError("gravity estimate_degree", degree, f"2..{field.nmax}")
    out = {}
    for n in range(2, degree + 1):
        for mm in range(0, n + 1):
            N = normalisation(n, mm)
            out[f"C{n}{mm}"] = float(field.C[n, mm]) / N
            if mm:
                out[f"S{n}{mm}"] = float(field.S[n, mm]) / N
    return out


def without_degrees(field: SHField, degree: int) -> SHField:
    """``field`` with every coefficient of degree 2..``degree`` set to zero (degrees 0, 1 and above
    ``degree`` kept; the shipped field has degree-1 terms, its centroid offset of ~7 m)."""
    C, S = field.C.copy(), field.S.copy()
    C[2: degree + 1, :] = 0.0
    S[2: degree + 1, :] = 0.0
    return SHField(field.gm, field.ref_radius, C, S, field.nmax, f"{field.name} (degrees > {degree})")


def sh_acceleration_linear(rb, ref_radius: float, gm, coefficients: dict, m):
    """Acceleration of the Stokes terms named in ``coefficients`` ({"C20": value, "S21": value, ...},
    fully normalised, 4-pi; values numbers or expressions) at body-fixed ``rb``, written as
    ``sum_p value_p * A_p(rb)``: linear in each coefficient, so that partials with respect to them
    are the basis accelerations A_p exactly. ``gm`` (number or expression) multiplies the sum.

    Same equations as :func:`sh_acceleration` (Cunningham V_nm, W_nm, Montenbruck & Gill 2000
    eqs. 3.29-3.33), with V_nm, W_nm to degree nmax + 1 factored as there (:func:`_cunningham_factors`,
    sharing its sub-expressions): per order m and component, the sectorial term times a sum over n of
    q_nm times a sum of constants times the coefficients.
    """
    if not coefficients:
        return [0.0, 0.0, 0.0]
    R = ref_radius
    nmax = max(_parse_nm(k)[0] for k in coefficients)
    Vs, Ws, Q, C = _cunningham_factors(rb, R, nmax + 1, m)
    # per (V or W, n, m, component): the coefficients' multipliers; each slot is then
    # V_nm (or W_nm) x sum_p (constant x coefficient_p), so every V_nm, W_nm appears once per component
    slots: dict[tuple, list] = {}
    for key, value in coefficients.items():
        n, mm = _parse_nm(key)
        k = normalisation(n, mm) / (R * R)

        def add(i, vw, nn, mq, f):
            if vw == "W" and mq == 0:  # W_n0 = 0
                return
            slots.setdefault((vw, nn, mq, i), []).append((k * f) * value)

        f = 0.5 * (n - mm + 2) * (n - mm + 1)
        if key[0] == "C" and mm == 0:
            add(0, "V", n + 1, 1, -1.0)
            add(1, "W", n + 1, 1, -1.0)
            add(2, "V", n + 1, 0, -(n + 1.0))
        elif key[0] == "C":
            add(0, "V", n + 1, mm + 1, -0.5)
            add(0, "V", n + 1, mm - 1, f)
            add(1, "W", n + 1, mm + 1, -0.5)
            add(1, "W", n + 1, mm - 1, -f)
            add(2, "V", n + 1, mm, -(n - mm + 1.0))
        else:  # S
            add(0, "W", n + 1, mm + 1, -0.5)
            add(0, "W", n + 1, mm - 1, f)
            add(1, "V", n + 1, mm + 1, 0.5)
            add(1, "V", n + 1, mm - 1, f)
            add(2, "W", n + 1, mm, -(n - mm + 1.0))
    # as in sh_acceleration: V_nm = Vs_m (c_nm q_nm), so per (V or W, m, component) one product of the
    # sectorial term with sum_n q_nm (c_nm sum_p constant x coefficient_p)
    orders: dict[tuple, list] = {}
    for (vw, nn, mq, i), terms in sorted(slots.items()):
        q, c = Q[mq][nn - mq], C[mq][nn - mq]
        orders.setdefault((vw, mq, i), []).append(q * _msum([c * t for t in terms], m))
    parts = ([], [], [])
    for (vw, mq, i), terms in sorted(orders.items()):
        parts[i].append((Vs[mq] if vw == "V" else Ws[mq]) * _msum(terms, m))
    return [gm * _msum(p, m) if p else 0.0 for p in parts]


@lru_cache(maxsize=None)
def _recursion_constants(M: int) -> tuple:
    """Per order m = 0..M the constants of the rescaled Cunningham recursion: ((2m-1)!!, {n: k_n},
    [beta_n for n = m+2..M]) with q_nm = k_n qs[n - m] (:func:`_q_recursion`); written once for
    :func:`_sh_plan` and :func:`_cunningham_factors`."""
    out = []
    dfac = 1.0
    for mm in range(0, M + 1):
        if mm:
            dfac *= 2 * mm - 1
        k = {mm: 1.0}
        if mm + 1 <= M:
            k[mm + 1] = 2 * mm + 1.0
        betas = []
        for n in range(mm + 2, M + 1):
            k[n] = (2 * n - 1) / (n - mm) * k[n - 1]
            betas.append((n + mm - 1) / (n - mm) * k[n - 2] / k[n])
        out.append((dfac, k, tuple(betas)))
    return tuple(out)


def _q_recursion(rho, z0, betas, has_first: bool) -> list:
    """qs = 1, z0, then qs_n = z0 qs_{n-1} - beta_n rho qs_{n-2} (the same expression tree wherever used)."""
    qs = [1.0, z0] if has_first else [1.0]
    for j, beta in enumerate(betas):
        qs.append(z0 * qs[-1] - (rho * beta if j == 0 else beta * (rho * qs[-2])))
    return qs


def _sectorials(rb, R: float, M: int, m):
    """The shared start of the Cunningham recursions (Montenbruck & Gill eqs. 3.29-3.30), written once so
    that :func:`sh_acceleration` and :func:`_cunningham_factors` build the same sub-expressions (the
    integrator's common-subexpression elimination then computes them once): ``rho = R^2/r^2``,
    ``z0 = R z/r^2`` and the scaled sectorials, ``V_mm = (2m-1)!! Vs[m]``, ``W_mm = (2m-1)!! Ws[m]``."""
    x, y, z = rb
    r2 = x * x + y * y + z * z
    inv_r2 = 1.0 / r2
    rho = (R * R) * inv_r2
    x0, y0, z0 = (R * x) * inv_r2, (R * y) * inv_r2, (R * z) * inv_r2
    Vs, Ws = [R / m.sqrt(r2)], [0.0]
    for mm in range(1, M + 1):
        if mm == 1:
            v, w = x0 * Vs[0], y0 * Vs[0]
        else:
            v, w = x0 * Vs[-1] - y0 * Ws[-1], x0 * Ws[-1] + y0 * Vs[-1]
        Vs.append(v)
        Ws.append(w)
    return rho, z0, Vs, Ws


def _cunningham_factors(rb, R: float, M: int, m):
    """Cunningham's V_nm, W_nm for n, m <= M factored as in :func:`sh_acceleration`, with its
    sub-expressions (the same inverse square, sectorials and q recursions, so that the integrator's
    common-subexpression elimination computes them once when both are used):
    V_nm = Vs[m] C[m][n-m] Q[m][n-m] and W_nm = Ws[m] C[m][n-m] Q[m][n-m], C = (2m-1)!! k_n constants."""
    rho, z0, Vs, Ws = _sectorials(rb, R, M, m)
    Q, C = [], []
    for mm, (dfac, k, betas) in enumerate(_recursion_constants(M)):
        Q.append(_q_recursion(rho, z0, betas, mm + 1 <= M))
        C.append([dfac * k[n] for n in range(mm, M + 1)])
    return Vs, Ws, Q, C


def _parse_nm(key: str) -> tuple[int, int]:
    """"C21" -> (2, 1), "C105" -> (10, 5): one digit for n <= 9, "10" for n = 10 (fields to degree 10)."""
    body = key[1:]
    if len(body) == 2:
        return int(body[0]), int(body[1])
    if body.startswith("10"):
        return 10, int(body[2:])
    raise InputError("gravity coefficient name", key, "C<n><m> or S<n><m>, e.g. C20, S22")
