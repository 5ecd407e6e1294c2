"""Constant-density polyhedron gravity (Werner & Scheeres 1997), our own implementation.

Werner, R. A. & Scheeres, D. J. (1997), "Exterior gravitation of a polyhedron derived and
compared with harmonic and mascon gravitation representations of asteroid 4769 Castalia",
CMDA 65, 313-344. With r_e, r_f vectors from the field point to any point of edge e / face f,
E_e = n_A n_A,12ᵀ + n_B n_B,21ᵀ, F_f = n_f n_fᵀ, L_e = ln((a+b+e)/(a+b-e)) and the face solid
angle ω_f, their closed forms are:

    U   =  ½Gρ Σ_e r_e·E_e·r_e L_e − ½Gρ Σ_f r_f·F_f·r_f ω_f
    ∇U  = −Gρ Σ_e E_e·r_e L_e + Gρ Σ_f F_f·r_f ω_f
    ∇∇U =  Gρ Σ_e E_e L_e − Gρ Σ_f F_f ω_f,      ∇²U = −Gρ Σ_f ω_f

Here the edge sums are regrouped per face (each E_e is the sum of its two faces' n_f m_feᵀ),
which gives the same result with fewer operations: with h_f = n_f·r_f,
s_f = Σ_{e∈f} (m_fe·r_e) L_e and c_f = s_f − h_f ω_f,

    U = ½Gρ Σ_f h_f c_f,   ∇U = −Gρ Σ_f c_f n_f,
    ∇∇U = Gρ Σ_f n_f (Σ_{e∈f} m_fe L_e − ω_f n_f)ᵀ.

L_e is evaluated as ln((a+b+e)²/(a b |â+b̂|²)) near the edge (no cancellation in a+b−e) and
ω_f with the van Oosterom & Strackee (1983, IEEE Trans. Biomed. Eng. 30, 125) atan2 formula.
U is positive (U = GM/r far away), the acceleration is ∇U. Units: km, km²/s², km/s², 1/s².

Speed: with numba (BSD-2, a core dependency), potential/acceleration/Laplacian run in a kernel
that is threaded over chunks of points (:func:`mmxsim._accel.run_chunks`) and SIMD-vectorised
over blocks of up to 64 points (``_simd_impl``:
the mesh is cut into Morton-ordered patches of 256 faces whose vertex/edge work arrays stay in
cache; atan and log are written out as argument reduction + Taylor series with exact
coefficients so that LLVM can vectorise without fastmath). The gradient tensor uses a simpler
scalar numba kernel (``_kernel_impl``). Without numba a NumPy version (vectorised over faces,
chunked over points) gives the same numbers to rounding (~1e-13), some 50-100x slower.
``MMXSIM_NO_NUMBA=1`` forces the NumPy path.

G = 6.67430e-11 m³ kg⁻¹ s⁻² (CODATA 2018: Tiesinga et al. 2021, Rev. Mod. Phys. 93, 025010) is
only used to convert between density and GM (the field itself needs only Gρ = GM / volume).
"""

from __future__ import annotations


import numpy as np

from ..errors import InputError

G_SI = 6.67430e-11  # m^3 kg^-1 s^-2, CODATA 2018 (Tiesinga et al. 2021, RMP 93, 025010)

from .._accel import HAVE_NUMBA  # noqa: E402  (MMXSIM_NO_NUMBA=1 forces the NumPy fallback)
from .._accel import jit as _jit  # noqa: E402
from .._accel import num_threads as _num_threads  # noqa: E402
from .._accel import run_chunks as _run_chunks  # noqa: E402


# ---------------------------------------------------------------------------------------------
# Kernel (written once as plain Python on scalars; numba-compiled when available)
def _kernel_impl(P, V, E, elen, Fv, Fe, N, M, want_tensor, out_u, out_a, out_t, out_w, nchunk, c0, c1):
    # chunks c0:c1 of the nchunk chunks of points (run_chunks spreads them over threads)
    nv = V.shape[0]
    ne = E.shape[0]
    nf = Fv.shape[0]
    npts = P.shape[0]
    for c in range(c0, c1):
        i0 = (c * npts) // nchunk
        i1 = ((c + 1) * npts) // nchunk
        rx = np.empty(nv)
        ry = np.empty(nv)
        rz = np.empty(nv)
        ra = np.empty(nv)
        L = np.empty(ne)
        for ip in range(i0, i1):
            px = P[ip, 0]
            py = P[ip, 1]
            pz = P[ip, 2]
            for i in range(nv):
                x = V[i, 0] - px
                y = V[i, 1] - py
                z = V[i, 2] - pz
                rx[i] = x
                ry[i] = y
                rz[i] = z
                ra[i] = np.sqrt(x * x + y * y + z * z)
            for e in range(ne):
                i = E[e, 0]
                j = E[e, 1]
                a = ra[i]
                b = ra[j]
                el = elen[e]
                s = a + b
                den = s - el
                if den > 0.25 * s:
                    L[e] = np.log((s + el) / den)
                elif a > 0.0 and b > 0.0:
                    ux = rx[i] / a + rx[j] / b
                    uy = ry[i] / a + ry[j] / b
                    uz = rz[i] / a + rz[j] / b
                    q = a * b * (ux * ux + uy * uy + uz * uz)
                    if q > 0.0:
                        L[e] = np.log((s + el) * (s + el) / q)
                    else:
                        L[e] = 0.0  # point on the edge: the term (m·r) L vanishes in the limit
                else:
                    L[e] = 0.0
            su = 0.0
            gx = 0.0
            gy = 0.0
            gz = 0.0
            sw = 0.0
            t00 = 0.0
            t01 = 0.0
            t02 = 0.0
            t11 = 0.0
            t12 = 0.0
            t22 = 0.0
            for f in range(nf):
                i = Fv[f, 0]
                j = Fv[f, 1]
                k = Fv[f, 2]
                x1 = rx[i]
                y1 = ry[i]
                z1 = rz[i]
                x2 = rx[j]
                y2 = ry[j]
                z2 = rz[j]
                x3 = rx[k]
                y3 = ry[k]
                z3 = rz[k]
                a = ra[i]
                b = ra[j]
                cc = ra[k]
                cx = y2 * z3 - z2 * y3
                cy = z2 * x3 - x2 * z3
                cz = x2 * y3 - y2 * x3
                num = x1 * cx + y1 * cy + z1 * cz
                d12 = x1 * x2 + y1 * y2 + z1 * z2
                d23 = x2 * x3 + y2 * y3 + z2 * z3
                d31 = x3 * x1 + y3 * y1 + z3 * z1
                den = a * b * cc + a * d23 + b * d31 + cc * d12
                w = 2.0 * np.arctan2(num, den)
                nx = N[f, 0]
                ny = N[f, 1]
                nz = N[f, 2]
                h = nx * x1 + ny * y1 + nz * z1
                L0 = L[Fe[f, 0]]
                L1 = L[Fe[f, 1]]
                L2 = L[Fe[f, 2]]
                sf = ((M[f, 0] * x1 + M[f, 1] * y1 + M[f, 2] * z1) * L0
                      + (M[f, 3] * x2 + M[f, 4] * y2 + M[f, 5] * z2) * L1
                      + (M[f, 6] * x3 + M[f, 7] * y3 + M[f, 8] * z3) * L2)
                cf = sf - h * w
                su += h * cf
                gx += nx * cf
                gy += ny * cf
                gz += nz * cf
                sw += w
                if want_tensor:
                    vx = M[f, 0] * L0 + M[f, 3] * L1 + M[f, 6] * L2 - w * nx
                    vy = M[f, 1] * L0 + M[f, 4] * L1 + M[f, 7] * L2 - w * ny
                    vz = M[f, 2] * L0 + M[f, 5] * L1 + M[f, 8] * L2 - w * nz
                    # the sum of n vᵀ is symmetric; accumulate its symmetric part
                    t00 += nx * vx
                    t11 += ny * vy
                    t22 += nz * vz
                    t01 += 0.5 * (nx * vy + ny * vx)
                    t02 += 0.5 * (nx * vz + nz * vx)
                    t12 += 0.5 * (ny * vz + nz * vy)
            out_u[ip] = su
            out_a[ip, 0] = gx
            out_a[ip, 1] = gy
            out_a[ip, 2] = gz
            out_w[ip] = sw
            if want_tensor:
                out_t[ip, 0] = t00
                out_t[ip, 1] = t01
                out_t[ip, 2] = t02
                out_t[ip, 3] = t11
                out_t[ip, 4] = t12
                out_t[ip, 5] = t22


# ---------------------------------------------------------------------------------------------
# SIMD kernel (numba only): potential, acceleration and solid angle for blocks of _LANES points.
# The inner loops run over the points of a block (contiguous lanes) so LLVM vectorises them;
# atan and log are written out (argument reduction + odd Taylor series with exact coefficients
# 1/(2k+1), truncation < 1e-17) because calls to libm would stop the vectorisation.
_LANES = 64  # points per block: a multiple of the vector width x LLVM's interleave (8 x 4 with AVX-512)
_TAN15 = 0.2679491924311227  # tan(15 deg)
_TAN45 = 1.0
_TAN75 = 3.7320508075688772
_SQRT3 = 1.7320508075688772
_SQRT2 = 1.4142135623730951
_LN2 = 0.6931471805599453


def _simd_impl(P, V, E, elen, Fv, Fe, N, M, vptr, eptr, fptr, out_u, out_a, out_w, nchunk, B, nv, ne, c0, c1):
    # V, E, elen, Fv, Fe, N, M hold the mesh split into spatially compact patches (see
    # Polyhedron._patches): patch c has vertices vptr[c]:vptr[c+1] etc., indices local to it.
    # Chunks c0:c1 of the nchunk chunks of blocks of B points (run_chunks spreads them over threads).
    npatch = vptr.shape[0] - 1
    npts = P.shape[0]
    nblk = (npts + B - 1) // B
    for c in range(c0, c1):
        b0 = (c * nblk) // nchunk
        b1 = ((c + 1) * nblk) // nchunk
        R = np.empty((nv, 4, B))
        X = np.empty((ne, B))
        Xi = X.reshape(ne * B).view(np.int64)
        L = np.empty((ne, B))
        L1 = L.reshape(ne * B)
        px = np.empty(B)
        py = np.empty(B)
        pz = np.empty(B)
        au = np.empty(B)
        ax_ = np.empty(B)
        ay_ = np.empty(B)
        az_ = np.empty(B)
        aw = np.empty(B)
        for blk in range(b0, b1):
            for b in range(B):
                ip = min(blk * B + b, npts - 1)
                px[b] = P[ip, 0]
                py[b] = P[ip, 1]
                pz[b] = P[ip, 2]
                au[b] = 0.0
                ax_[b] = 0.0
                ay_[b] = 0.0
                az_[b] = 0.0
                aw[b] = 0.0
            for pc in range(npatch):
                v0 = vptr[pc]
                nvl = vptr[pc + 1] - v0
                g0 = eptr[pc]
                nel = eptr[pc + 1] - g0
                for i in range(nvl):
                    vx = V[v0 + i, 0]
                    vy = V[v0 + i, 1]
                    vz = V[v0 + i, 2]
                    for b in range(B):
                        x = vx - px[b]
                        y = vy - py[b]
                        z = vz - pz[b]
                        R[i, 0, b] = x
                        R[i, 1, b] = y
                        R[i, 2, b] = z
                        R[i, 3, b] = np.sqrt(x * x + y * y + z * z)
                for e in range(nel):
                    i = E[g0 + e, 0]
                    j = E[g0 + e, 1]
                    el = elen[g0 + e]
                    nbad = 0
                    for b in range(B):
                        s = R[i, 3, b] + R[j, 3, b]
                        den = s - el
                        X[e, b] = (s + el) / den
                        nbad += den <= 0.25 * s
                    if nbad > 0:  # near the edge: a+b-e without cancellation (rare, scalar)
                        for b in range(B):
                            a = R[i, 3, b]
                            bb = R[j, 3, b]
                            s = a + bb
                            if s - el <= 0.25 * s:
                                q = 0.0
                                if a > 0.0 and bb > 0.0:
                                    ux = R[i, 0, b] / a + R[j, 0, b] / bb
                                    uy = R[i, 1, b] / a + R[j, 1, b] / bb
                                    uz = R[i, 2, b] / a + R[j, 2, b] / bb
                                    q = a * bb * (ux * ux + uy * uy + uz * uz)
                                if q > 0.0:
                                    X[e, b] = (s + el) * (s + el) / q
                                else:
                                    X[e, b] = 1.0  # on the edge: (m.r) L -> 0
                # L = ln X, X >= 1: X = 2^k * m, m in [1, 2) from the bits; ln m = 2 atanh((m-1)/(m+1))
                for t in range(nel * B):
                    bits = Xi[t]
                    k = ((bits >> 52) & 0x7FF) - 1023
                    mant = (bits & 0xFFFFFFFFFFFFF) | 0x10000000000000
                    m = np.float64(mant) * 2.220446049250313e-16  # 2^-52
                    kf = np.float64(k)
                    if m > _SQRT2:
                        m = 0.5 * m
                        kf = kf + 1.0
                    s = (m - 1.0) / (m + 1.0)
                    z = s * s
                    p = 1.0 / 25.0
                    p = p * z + 1.0 / 23.0
                    p = p * z + 1.0 / 21.0
                    p = p * z + 1.0 / 19.0
                    p = p * z + 1.0 / 17.0
                    p = p * z + 1.0 / 15.0
                    p = p * z + 1.0 / 13.0
                    p = p * z + 1.0 / 11.0
                    p = p * z + 1.0 / 9.0
                    p = p * z + 1.0 / 7.0
                    p = p * z + 1.0 / 5.0
                    p = p * z + 1.0 / 3.0
                    L1[t] = kf * _LN2 + 2.0 * s + 2.0 * s * z * p
                for f in range(fptr[pc], fptr[pc + 1]):
                    i = Fv[f, 0]
                    j = Fv[f, 1]
                    k = Fv[f, 2]
                    e0 = Fe[f, 0]
                    e1 = Fe[f, 1]
                    e2 = Fe[f, 2]
                    nx = N[f, 0]
                    ny = N[f, 1]
                    nz = N[f, 2]
                    m0 = M[f, 0]
                    m1 = M[f, 1]
                    m2 = M[f, 2]
                    m3 = M[f, 3]
                    m4 = M[f, 4]
                    m5 = M[f, 5]
                    m6 = M[f, 6]
                    m7 = M[f, 7]
                    m8 = M[f, 8]
                    for b in range(B):
                        x1 = R[i, 0, b]
                        y1 = R[i, 1, b]
                        z1 = R[i, 2, b]
                        a1 = R[i, 3, b]
                        x2 = R[j, 0, b]
                        y2 = R[j, 1, b]
                        z2 = R[j, 2, b]
                        a2 = R[j, 3, b]
                        x3 = R[k, 0, b]
                        y3 = R[k, 1, b]
                        z3 = R[k, 2, b]
                        a3 = R[k, 3, b]
                        num = x1 * (y2 * z3 - z2 * y3) + y1 * (z2 * x3 - x2 * z3) + z1 * (x2 * y3 - y2 * x3)
                        den = (a1 * a2 * a3 + a1 * (x2 * x3 + y2 * y3 + z2 * z3)
                               + a2 * (x3 * x1 + y3 * y1 + z3 * z1) + a3 * (x1 * x2 + y1 * y2 + z1 * z2))
                        # w = 2 atan2(num, den)
                        dd = den if den != 0.0 else 1e-300
                        zq = num / dd
                        az = abs(zq)
                        if az > _TAN75:
                            nn = -1.0
                            d2 = az
                            c0 = 0.5 * np.pi
                        elif az > _TAN45:
                            nn = az - _SQRT3
                            d2 = 1.0 + az * _SQRT3
                            c0 = np.pi / 3.0
                        elif az > _TAN15:
                            nn = _SQRT3 * az - 1.0
                            d2 = _SQRT3 + az
                            c0 = np.pi / 6.0
                        else:
                            nn = az
                            d2 = 1.0
                            c0 = 0.0
                        xr = nn / d2
                        z = xr * xr
                        p = 1.0 / 29.0
                        p = 1.0 / 27.0 - z * p
                        p = 1.0 / 25.0 - z * p
                        p = 1.0 / 23.0 - z * p
                        p = 1.0 / 21.0 - z * p
                        p = 1.0 / 19.0 - z * p
                        p = 1.0 / 17.0 - z * p
                        p = 1.0 / 15.0 - z * p
                        p = 1.0 / 13.0 - z * p
                        p = 1.0 / 11.0 - z * p
                        p = 1.0 / 9.0 - z * p
                        p = 1.0 / 7.0 - z * p
                        p = 1.0 / 5.0 - z * p
                        p = 1.0 / 3.0 - z * p
                        at = c0 + (xr - xr * z * p)
                        if zq < 0.0:
                            at = -at
                        if den < 0.0:
                            at = at + np.pi if num >= 0.0 else at - np.pi
                        w = 2.0 * at
                        h = nx * x1 + ny * y1 + nz * z1
                        sf = ((m0 * x1 + m1 * y1 + m2 * z1) * L[e0, b] + (m3 * x2 + m4 * y2 + m5 * z2) * L[e1, b]
                              + (m6 * x3 + m7 * y3 + m8 * z3) * L[e2, b])
                        cf = sf - h * w
                        au[b] += h * cf
                        ax_[b] += nx * cf
                        ay_[b] += ny * cf
                        az_[b] += nz * cf
                        aw[b] += w
            for b in range(B):
                ip = blk * B + b
                if ip < npts:
                    out_u[ip] = au[b]
                    out_a[ip, 0] = ax_[b]
                    out_a[ip, 1] = ay_[b]
                    out_a[ip, 2] = az_[b]
                    out_w[ip] = aw[b]


_KERNELS: dict = {}


def _get_kernel(which="scalar", parallel=False):
    """The numba kernel ``which`` ("scalar" or "simd"), made on first use (no fastmath; compiled on
    first call, cached on disk by numba). Each is one serial build over a range of chunks of points:
    a call with one chunk (e.g. one point per integrator step) runs in the calling thread, one with
    several spreads them over threads (:func:`mmxsim._accel.run_chunks`), so ``parallel`` selects
    nothing any more (a ``parallel=True`` build compiled three times slower, and the serial one
    besides); it is accepted for the callers that still name it."""
    if which not in _KERNELS:
        _KERNELS[which] = _jit(_kernel_impl if which == "scalar" else _simd_impl)
    return _KERNELS[which]


# ---------------------------------------------------------------------------------------------
# NumPy fallback (vectorised over faces and edges, chunked over points)
def _numpy_eval(P, V, E, elen, Fv, Fe, N, M, want_tensor):
    npts = len(P)
    nf = len(Fv)
    out_u = np.empty(npts)
    out_a = np.empty((npts, 3))
    out_w = np.empty(npts)
    out_t = np.empty((npts, 6))
    M3 = M.reshape(-1, 3, 3)
    blk = max(1, int(500_000 // max(nf, 1)))
    for s0 in range(0, npts, blk):
        p = P[s0:s0 + blk]
        r = V[None, :, :] - p[:, None, :]  # (b, nv, 3)
        ra = np.sqrt(np.einsum("bvi,bvi->bv", r, r))
        a = ra[:, E[:, 0]]
        b = ra[:, E[:, 1]]
        s = a + b
        den = s - elen
        with np.errstate(divide="ignore", invalid="ignore"):
            L = np.log((s + elen) / den)
            bad = ~(den > 0.25 * s)
            if bad.any():
                bi, ei = np.nonzero(bad)
                aa, bb = a[bi, ei], b[bi, ei]
                u = r[bi, E[ei, 0]] / aa[:, None] + r[bi, E[ei, 1]] / bb[:, None]
                q = aa * bb * np.einsum("ni,ni->n", u, u)
                ss = s[bi, ei] + elen[ei]
                Lb = np.log(ss * ss / q)
                Lb[~(q > 0) | ~np.isfinite(Lb)] = 0.0
                L[bi, ei] = Lb
        r1, r2, r3 = r[:, Fv[:, 0]], r[:, Fv[:, 1]], r[:, Fv[:, 2]]
        a1, a2, a3 = ra[:, Fv[:, 0]], ra[:, Fv[:, 1]], ra[:, Fv[:, 2]]
        num = np.einsum("bfi,bfi->bf", r1, np.cross(r2, r3))
        d12 = np.einsum("bfi,bfi->bf", r1, r2)
        d23 = np.einsum("bfi,bfi->bf", r2, r3)
        d31 = np.einsum("bfi,bfi->bf", r3, r1)
        w = 2.0 * np.arctan2(num, a1 * a2 * a3 + a1 * d23 + a2 * d31 + a3 * d12)
        h = np.einsum("fi,bfi->bf", N, r1)
        Lf = L[:, Fe]  # (b, nf, 3)
        mr = np.stack([np.einsum("fi,bfi->bf", M3[:, 0], r1), np.einsum("fi,bfi->bf", M3[:, 1], r2),
                       np.einsum("fi,bfi->bf", M3[:, 2], r3)], axis=-1)
        c = np.einsum("bfk,bfk->bf", mr, Lf) - h * w
        out_u[s0:s0 + blk] = np.einsum("bf,bf->b", h, c)
        out_a[s0:s0 + blk] = c @ N
        out_w[s0:s0 + blk] = w.sum(axis=1)
        if want_tensor:
            v = np.einsum("fki,bfk->bfi", M3, Lf) - w[:, :, None] * N[None]
            T = np.einsum("fi,bfj->bij", N, v)
            T = 0.5 * (T + np.transpose(T, (0, 2, 1)))
            out_t[s0:s0 + blk] = T[:, [0, 0, 0, 1, 1, 2], [0, 1, 2, 1, 2, 2]]
    return out_u, out_a, out_t, out_w


# ---------------------------------------------------------------------------------------------
class Polyhedron:
    """Gravity of a homogeneous polyhedron in its body-fixed frame (km, km/s²).

    Parameters
    ----------
    shape : ShapeModel
        Closed, manifold, outward-oriented mesh (checked; see :meth:`ShapeModel.check`).
    gm : float, optional
        GM in km³/s². Default: GM_PHOBOS or GM_DEIMOS (DE440) chosen from the shape name.
    density : float, optional
        Bulk density in kg/m³ (instead of ``gm``); GM = G ρ V with G (CODATA 2018).
    backend : "auto" | "numba" | "numpy"

    >>> from mmxsim.bodies.shapes import phobos_shape
    >>> p = Polyhedron(phobos_shape("thomas3k"))
    >>> round(p.density)  # kg/m^3, from GM_PHOBOS (DE440) and the mesh volume
    1858
    >>> u, a = p.potential_acceleration([[30.0, 0.0, 0.0]])  # km^2/s^2, km/s^2
    >>> bool(a[0, 0] < 0), bool(p.inside([[0.0, 0.0, 0.0]])[0])
    (True, True)
    """

    def __init__(self, shape, gm: float | None = None, density: float | None = None, backend: str = "auto"):
        from ..bodies import GM_DEIMOS, GM_PHOBOS

        shape.check()
        self.shape = shape
        self.volume = shape.volume  # km^3
        if gm is not None and density is not None:
            raise InputError("Polyhedron gm/density", (gm, density), "give gm or density, not both")
        if density is not None:
            if not density > 0:
                raise InputError("Polyhedron density", density, "> 0 kg/m^3")
            gm = G_SI * density * self.volume  # G[m^3/kg/s^2]*rho[kg/m^3]*V[km^3] = km^3/s^2 (1e9*1e-9)
        if gm is None:
            nm = (shape.name or "").lower()
            if "phobos" in nm:
                gm = GM_PHOBOS
            elif "deimos" in nm:
                gm = GM_DEIMOS
            else:
                raise InputError("Polyhedron gm", None, "a GM in km^3/s^2 or a density in kg/m^3 "
                                 "(no default for a shape not named phobos/deimos)")
        if not gm > 0:
            raise InputError("Polyhedron gm", gm, "> 0 km^3/s^2")
        self.gm = float(gm)
        self.g_rho = self.gm / self.volume  # G*rho in 1/s^2
        self.density = self.g_rho / G_SI  # kg/m^3
        if backend not in ("auto", "numba", "numpy"):
            raise InputError("Polyhedron backend", backend, "auto, numba, numpy")
        if backend == "numba" and not HAVE_NUMBA:
            raise InputError("Polyhedron backend", backend, "auto or numpy (numba is not installed)")
        self.backend = "numba" if (backend in ("auto", "numba") and HAVE_NUMBA) else "numpy"
        self._precompute()

    def _precompute(self):
        V = self.shape.vertices
        Fv = self.shape.faces
        E, Fe = self.shape.edges()
        a, b, c = V[Fv[:, 0]], V[Fv[:, 1]], V[Fv[:, 2]]
        n = np.cross(b - a, c - a)
        n /= np.linalg.norm(n, axis=1)[:, None]
        M = np.empty((len(Fv), 3, 3))
        for k, (p, q) in enumerate(((a, b), (b, c), (c, a))):
            m = np.cross(q - p, n)
            M[:, k] = m / np.linalg.norm(m, axis=1)[:, None]
        self._V = np.array(V, dtype=float, order="C")  # writable, whatever the shape's: one kernel signature
        self._E = np.ascontiguousarray(E.astype(np.int64))
        self._elen = np.linalg.norm(V[E[:, 1]] - V[E[:, 0]], axis=1)
        self._Fv = np.ascontiguousarray(Fv.astype(np.int64))
        self._Fe = np.ascontiguousarray(Fe.astype(np.int64))
        self._N = np.ascontiguousarray(n)
        self._M = np.ascontiguousarray(M.reshape(-1, 9))
        self._patch_data = None

    def _patches(self, size: int = 256):
        """The mesh cut into spatially compact patches of ``size`` faces (Morton order of the
        face centroids), each with its own vertex and edge lists (shared ones repeated), so that
        the per-point work arrays of one patch stay in the CPU cache."""
        if self._patch_data is None:
            V, Fv, Fe = self._V, self._Fv, self._Fe
            cen = V[Fv].mean(axis=1)
            lo, hi = cen.min(axis=0), cen.max(axis=0)
            q = ((cen - lo) / np.maximum(hi - lo, 1e-300) * 1023).astype(np.int64)
            code = np.zeros(len(Fv), np.int64)
            for bit in range(10):
                for ax in range(3):
                    code |= ((q[:, ax] >> bit) & 1) << (3 * bit + ax)
            order = np.argsort(code, kind="stable")
            Vs, Es, Ls, Fvs, Fes, Ns, Ms = [], [], [], [], [], [], []
            vptr, eptr, fptr = [0], [0], [0]
            for c0 in range(0, len(order), size):
                idx = order[c0:c0 + size]
                fv, fe = Fv[idx], Fe[idx]
                vg, vloc = np.unique(fv, return_inverse=True)
                eg, eloc = np.unique(fe, return_inverse=True)
                Vs.append(V[vg])
                Es.append(np.searchsorted(vg, self._E[eg]))
                Ls.append(self._elen[eg])
                Fvs.append(vloc.reshape(-1, 3))
                Fes.append(eloc.reshape(-1, 3))
                Ns.append(self._N[idx])
                Ms.append(self._M[idx])
                vptr.append(vptr[-1] + len(vg))
                eptr.append(eptr[-1] + len(eg))
                fptr.append(fptr[-1] + len(idx))

            def cat(a, t=float):
                return np.ascontiguousarray(np.concatenate(a).astype(t))

            vptr, eptr = np.array(vptr, np.int64), np.array(eptr, np.int64)
            self._patch_data = (cat(Vs), cat(Es, np.int64), cat(Ls), cat(Fvs, np.int64), cat(Fes, np.int64),
                                cat(Ns), cat(Ms), vptr, eptr, np.array(fptr, np.int64),
                                int(np.diff(vptr).max()), int(np.diff(eptr).max()))
        return self._patch_data

    # -----------------------------------------------------------------------------------------
    def _eval(self, points, tensor=False):
        P = np.ascontiguousarray(np.atleast_2d(np.asarray(points, dtype=float)))
        if not P.flags.writeable:  # one set of argument types for the kernels (numba compiles read-only apart)
            P = P.copy()
        if P.ndim != 2 or P.shape[1] != 3:
            raise InputError("Polyhedron points", np.shape(points), "(N, 3) body-fixed positions in km")
        args = (P, self._V, self._E, self._elen, self._Fv, self._Fe, self._N, self._M)
        if self.backend == "numba":
            n = len(P)
            u, a, w = np.empty(n), np.empty((n, 3)), np.empty(n)
            nth = _num_threads()
            lanes = min(_LANES, max(1, -(-n // nth)))
            if tensor or lanes < 16:  # the SIMD kernel needs >= 16 points per thread to pay off
                t = np.empty((n, 6)) if tensor else np.empty((1, 6))
                nchunk = max(1, min(n, 8 * nth))
                _run_chunks(_get_kernel("scalar"), (*args, bool(tensor), u, a, t, w, nchunk), nchunk, nchunk)
                t = t if tensor else None
            else:
                t = None
                nchunk = max(1, min(-(-n // lanes), nth))
                pd = self._patches()
                _run_chunks(_get_kernel("simd"), (P, *pd[:10], u, a, w, nchunk, lanes, pd[10], pd[11]), nchunk, nchunk)
        else:
            u, a, t, w = _numpy_eval(*args, tensor)
        return u, a, t, w

    def potential(self, points) -> np.ndarray:
        """U (km²/s², positive; GM/r far away) at (N, 3) points."""
        u, _, _, _ = self._eval(points)
        return 0.5 * self.g_rho * u

    def acceleration(self, points) -> np.ndarray:
        """∇U (km/s²) at (N, 3) points, shape (N, 3)."""
        _, a, _, _ = self._eval(points)
        return -self.g_rho * a

    def potential_acceleration(self, points):
        """(U, ∇U) from one pass over the mesh."""
        u, a, _, _ = self._eval(points)
        return 0.5 * self.g_rho * u, -self.g_rho * a

    def gradient_tensor(self, points) -> np.ndarray:
        """∇∇U (1/s²), shape (N, 3, 3) (symmetric)."""
        _, _, t, _ = self._eval(points, tensor=True)
        T = self.g_rho * t
        return T[:, [0, 1, 2, 1, 3, 4, 2, 4, 5]].reshape(-1, 3, 3)

    def laplacian(self, points) -> np.ndarray:
        """∇²U = −Gρ Σ ω_f (1/s²): −4πGρ inside, 0 outside (exactly on the surface either,
        depending on rounding)."""
        _, _, _, w = self._eval(points)
        return -self.g_rho * w

    def solid_angle(self, points) -> np.ndarray:
        """Σ_f ω_f: 4π inside, 0 outside."""
        return self._eval(points)[3]

    def inside(self, points) -> np.ndarray:
        """True where the point is inside the body (solid-angle sum > 2π)."""
        return self.solid_angle(points) > 2.0 * np.pi

    def describe(self) -> str:
        s = self.shape
        return (f"constant-density polyhedron ({s.name}, {len(s.faces)} faces, V = {self.volume:.2f} km^3, "
                f"GM = {self.gm:.6g} km^3/s^2, rho = {self.density:.1f} kg/m^3; Werner & Scheeres 1997)")
