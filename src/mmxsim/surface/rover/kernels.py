"""IDEFIX rover deployment: the compiled kernels (scalar code, numba through :mod:`mmxsim._accel`,
parallel over deployments): field, free flight (RK4 of :mod:`mmxsim.dynamics.fixed_step`),
contact step (semi-implicit Euler) and the deployment driver."""

from __future__ import annotations

import math

import numpy as np

from ...gravity.fast import grid_accel_point
from ..._accel import jit
from ...bodies.quaternion import matrix_into as quat_matrix_into
from ...bodies.quaternion import normalize_at as quat_normalize_at
from ...bodies.quaternion import rate as quat_rate
from ...dynamics.fixed_step import rk4_stepper, rk4_work


# output columns of the kernel
_O_STATUS, _O_T1, _O_V1, _O_VN1, _O_IMP, _O_TSET, _O_P, _O_Q, _O_TC1, _O_VR1, _O_VRN1, _O_HOP, _O_STEPS, \
    _O_PEN, _O_T = 0, 1, 2, 3, 4, 5, 6, 9, 13, 14, 15, 16, 17, 18, 19
_NOUT = 20


# ---------------------------------------------------------------------------------------------
# Kernels (scalar code)
def _terrain(x, y, cb, H, hs, out):
    """out = (z, dz/dx, dz/dy) of base quadratic + periodic bilinear relief."""
    z = cb[0] + cb[1] * x + cb[2] * y + cb[3] * x * x + cb[4] * x * y + cb[5] * y * y
    gx = cb[1] + 2.0 * cb[3] * x + cb[4] * y
    gy = cb[2] + cb[4] * x + 2.0 * cb[5] * y
    n0 = H.shape[0]
    n1 = H.shape[1]
    u = x / hs
    v = y / hs
    fi = math.floor(u)
    fj = math.floor(v)
    fx = u - fi
    fy = v - fj
    i = int(fi) % n0
    j = int(fj) % n1
    i1 = (i + 1) % n0
    j1 = (j + 1) % n1
    h00 = H[i, j]
    h10 = H[i1, j]
    h01 = H[i, j1]
    h11 = H[i1, j1]
    z += h00 * (1 - fx) * (1 - fy) + h10 * fx * (1 - fy) + h01 * (1 - fx) * fy + h11 * fx * fy
    gx += ((h10 - h00) * (1 - fy) + (h11 - h01) * fy) / hs
    gy += ((h01 - h00) * (1 - fx) + (h11 - h10) * fx) / hs
    out[0] = z
    out[1] = gx
    out[2] = gy


_terrain = jit(_terrain)


def _field(p, prm, site, Rlb, G, Rg, shC, shS, buf, a):
    """Gravity + Hill (centrifugal and tidal) acceleration (m/s², local frame) at local p (m)."""
    gk = int(prm[4])
    n = prm[9]
    rot = prm[10]
    if gk == 0:
        a[0] = prm[5]
        a[1] = prm[6]
        a[2] = prm[7]
        if rot > 0.0:  # uniform gravity with rotation: Hill terms at the body-fixed position
            xb = site[0] * 1e3 + Rlb[0, 0] * p[0] + Rlb[0, 1] * p[1] + Rlb[0, 2] * p[2]
            zb = site[2] * 1e3 + Rlb[2, 0] * p[0] + Rlb[2, 1] * p[1] + Rlb[2, 2] * p[2]
            for k in range(3):
                a[k] += Rlb[0, k] * 3.0 * n * n * xb - Rlb[2, k] * n * n * zb
        return
    xb = site[0] + 1e-3 * (Rlb[0, 0] * p[0] + Rlb[0, 1] * p[1] + Rlb[0, 2] * p[2])
    yb = site[1] + 1e-3 * (Rlb[1, 0] * p[0] + Rlb[1, 1] * p[1] + Rlb[1, 2] * p[2])
    zb = site[2] + 1e-3 * (Rlb[2, 0] * p[0] + Rlb[2, 1] * p[1] + Rlb[2, 2] * p[2])
    if gk == 1:
        r = math.sqrt(xb * xb + yb * yb + zb * zb)
        k3 = prm[8] / (r * r * r)
        buf[1] = -k3 * xb
        buf[2] = -k3 * yb
        buf[3] = -k3 * zb
    else:
        grid_accel_point(xb, yb, zb, G, Rg, prm[8], prm[27], prm[28], prm[29], prm[30], shC, shS, buf)
    if rot > 0.0:
        buf[1] += 3.0 * n * n * xb
        buf[3] -= n * n * zb
    for k in range(3):
        a[k] = 1e3 * (Rlb[0, k] * buf[1] + Rlb[1, k] * buf[2] + Rlb[2, k] * buf[3])


_field = jit(_field)


def _accel(p, v, prm, site, Rlb, Om, G, Rg, shC, shS, buf, a):
    """External acceleration (m/s², local frame) at local position p (m), velocity v (m/s):
    gravity + Hill terms + Coriolis -2 Om x v."""
    _field(p, prm, site, Rlb, G, Rg, shC, shS, buf, a)
    if prm[10] > 0.0:
        a[0] -= 2.0 * (Om[1] * v[2] - Om[2] * v[1])
        a[1] -= 2.0 * (Om[2] * v[0] - Om[0] * v[2])
        a[2] -= 2.0 * (Om[0] * v[1] - Om[1] * v[0])


_accel = jit(_accel)


def _deriv(t, s, ds, prm, site, Rlb, Om, G, Rg, shC, shS, buf, a, R):
    """Free-flight derivative of s = (p 3, v 3, q 4, w 3): torque-free rotation."""
    _accel(s[0:3], s[3:6], prm, site, Rlb, Om, G, Rg, shC, shS, buf, a)
    for k in range(3):
        ds[k] = s[3 + k]
        ds[3 + k] = a[k]
    quat_matrix_into(s[6:10], R)
    # relative angular velocity in body axes: w - R^T Om
    wx = s[10] - (R[0, 0] * Om[0] + R[1, 0] * Om[1] + R[2, 0] * Om[2])
    wy = s[11] - (R[0, 1] * Om[0] + R[1, 1] * Om[1] + R[2, 1] * Om[2])
    wz = s[12] - (R[0, 2] * Om[0] + R[1, 2] * Om[1] + R[2, 2] * Om[2])
    ds[6], ds[7], ds[8], ds[9] = quat_rate(s[6], s[7], s[8], s[9], wx, wy, wz)
    I1, I2, I3 = prm[1], prm[2], prm[3]
    w1, w2, w3 = s[10], s[11], s[12]
    ds[10] = (I2 - I3) * w2 * w3 / I1
    ds[11] = (I3 - I1) * w3 * w1 / I2
    ds[12] = (I1 - I2) * w1 * w2 / I3


_deriv = jit(_deriv)


_rk4_step = rk4_stepper(_deriv, 13)


def _flight_step(t, s, dt, w, prm, site, Rlb, Om, G, Rg, shC, shS, buf, a, R):
    """One free-flight RK4 step of s in place (w: work array (5, 13)), quaternion renormalised."""
    _rk4_step(t, s, dt, (prm, site, Rlb, Om, G, Rg, shC, shS, buf, a, R), s, w)
    quat_normalize_at(s, 6)


_flight_step = jit(_flight_step)


def _contact_step(s, dt, prm, cn, mu, pts, rad, anc, cb, H, Om, ga, rl, R, tb):
    """One semi-implicit Euler step with contact forces; ga: gravity + Hill field (m/s², local),
    rl: an upper bound of the relief under the rover (points higher above the base surface than
    rl + their radius are not tested). Returns (number of penetrating points, max penetration)."""
    m = prm[0]
    k = prm[11]
    kt = prm[12]
    hs = prm[23]
    quat_matrix_into(s[6:10], R)
    cor = 1.0 if prm[10] > 0.0 else 0.0
    Fx = m * (ga[0] - cor * 2.0 * (Om[1] * s[5] - Om[2] * s[4]))
    Fy = m * (ga[1] - cor * 2.0 * (Om[2] * s[3] - Om[0] * s[5]))
    Fz = m * (ga[2] - cor * 2.0 * (Om[0] * s[4] - Om[1] * s[3]))
    Tx = 0.0
    Ty = 0.0
    Tz = 0.0
    # relative angular velocity in the local frame: R w - Om
    wlx = R[0, 0] * s[10] + R[0, 1] * s[11] + R[0, 2] * s[12] - Om[0]
    wly = R[1, 0] * s[10] + R[1, 1] * s[11] + R[1, 2] * s[12] - Om[1]
    wlz = R[2, 0] * s[10] + R[2, 1] * s[11] + R[2, 2] * s[12] - Om[2]
    ncon = 0
    pmax = 0.0
    for c in range(pts.shape[0]):
        rx = R[0, 0] * pts[c, 0] + R[0, 1] * pts[c, 1] + R[0, 2] * pts[c, 2]
        ry = R[1, 0] * pts[c, 0] + R[1, 1] * pts[c, 1] + R[1, 2] * pts[c, 2]
        rz = R[2, 0] * pts[c, 0] + R[2, 1] * pts[c, 1] + R[2, 2] * pts[c, 2]
        Px = s[0] + rx
        Py = s[1] + ry
        Pz = s[2] + rz
        zq = cb[0] + cb[1] * Px + cb[2] * Py + cb[3] * Px * Px + cb[4] * Px * Py + cb[5] * Py * Py
        if Pz - zq > rl + 1.5 * rad[c] + 1e-3:  # clearly above any relief here
            anc[c, 0] = 0.0
            anc[c, 1] = 0.0
            anc[c, 2] = 0.0
            continue
        _terrain(Px, Py, cb, H, hs, tb)
        nn = 1.0 / math.sqrt(1.0 + tb[1] * tb[1] + tb[2] * tb[2])
        nx = -tb[1] * nn
        ny = -tb[2] * nn
        nz = nn
        pen = rad[c] - (Pz - tb[0]) * nz
        if pen <= 0.0:
            anc[c, 0] = 0.0
            anc[c, 1] = 0.0
            anc[c, 2] = 0.0
            continue
        ncon += 1
        if pen > pmax:
            pmax = pen
        # contact point (on the sphere for wheels) relative to the centre of mass
        cx = rx - rad[c] * nx
        cy = ry - rad[c] * ny
        cz = rz - rad[c] * nz
        vx = s[3] + wly * cz - wlz * cy
        vy = s[4] + wlz * cx - wlx * cz
        vz = s[5] + wlx * cy - wly * cx
        vn = vx * nx + vy * ny + vz * nz
        fn = k * pen - cn * vn
        if fn < 0.0:
            fn = 0.0
        tx = vx - vn * nx
        ty = vy - vn * ny
        tz = vz - vn * nz
        # stick spring: anchor displacement kept in the tangent plane
        dn = anc[c, 0] * nx + anc[c, 1] * ny + anc[c, 2] * nz
        dx = anc[c, 0] - dn * nx + tx * dt
        dy = anc[c, 1] - dn * ny + ty * dt
        dz = anc[c, 2] - dn * nz + tz * dt
        ftx = -kt * dx - cn * tx
        fty = -kt * dy - cn * ty
        ftz = -kt * dz - cn * tz
        ft = math.sqrt(ftx * ftx + fty * fty + ftz * ftz)
        lim = mu * fn
        if ft > lim:
            f = lim / ft
            ftx *= f
            fty *= f
            ftz *= f
            dx = -(ftx + cn * tx) / kt
            dy = -(fty + cn * ty) / kt
            dz = -(ftz + cn * tz) / kt
        anc[c, 0] = dx
        anc[c, 1] = dy
        anc[c, 2] = dz
        fx = fn * nx + ftx
        fy = fn * ny + fty
        fz = fn * nz + ftz
        Fx += fx
        Fy += fy
        Fz += fz
        Tx += cy * fz - cz * fy
        Ty += cz * fx - cx * fz
        Tz += cx * fy - cy * fx
    # semi-implicit Euler
    s[3] += Fx / m * dt
    s[4] += Fy / m * dt
    s[5] += Fz / m * dt
    s[0] += s[3] * dt
    s[1] += s[4] * dt
    s[2] += s[5] * dt
    # torque in body axes
    tbx = R[0, 0] * Tx + R[1, 0] * Ty + R[2, 0] * Tz
    tby = R[0, 1] * Tx + R[1, 1] * Ty + R[2, 1] * Tz
    tbz = R[0, 2] * Tx + R[1, 2] * Ty + R[2, 2] * Tz
    I1, I2, I3 = prm[1], prm[2], prm[3]
    w1, w2, w3 = s[10], s[11], s[12]
    s[10] += (tbx + (I2 - I3) * w2 * w3) / I1 * dt
    s[11] += (tby + (I3 - I1) * w3 * w1) / I2 * dt
    s[12] += (tbz + (I1 - I2) * w1 * w2) / I3 * dt
    wx = s[10] - (R[0, 0] * Om[0] + R[1, 0] * Om[1] + R[2, 0] * Om[2])
    wy = s[11] - (R[0, 1] * Om[0] + R[1, 1] * Om[1] + R[2, 1] * Om[2])
    wz = s[12] - (R[0, 2] * Om[0] + R[1, 2] * Om[1] + R[2, 2] * Om[2])
    d0, d1, d2, d3 = quat_rate(s[6], s[7], s[8], s[9], wx, wy, wz)
    s[6] += dt * d0
    s[7] += dt * d1
    s[8] += dt * d2
    s[9] += dt * d3
    quat_normalize_at(s, 6)
    return ncon, pmax


_contact_step = jit(_contact_step)


def _record(hist, i, k, t, s):
    """hist[i, k] = (t, position, quaternion) of the state s."""
    hist[i, k, 0] = t
    for j in range(3):
        hist[i, k, 1 + j] = s[j]
    for j in range(4):
        hist[i, k, 4 + j] = s[6 + j]


_record = jit(_record, inline=True)


def _deploy_impl(X0, cns, mus, prm, pts, rad, cb, H, Mb, site, Rlb, Om, G, Rg, shC, shS, out, hist, i0, i1):
    """Propagate deployments i0 <= i < i1 from X0[i] (13-state) to rest. out[i] as the _O_* columns; hist
    (m, steps, 8) records (t, p, q) every prm[24] s for the first m deployments. Serial: the caller
    spreads ranges of deployments over threads (:func:`mmxsim._accel.run_chunks`); each deployment
    depends on its own row only, so the results do not depend on the ranges. (A ``parallel=True``
    build with ``prange`` did the same work but cost 7.8 CPU-s to compile against ~2 s.)"""
    nrec = hist.shape[0]
    nmax = hist.shape[1]
    K = pts.shape[0]
    dtc = prm[13]
    dtf = prm[14]
    tmax = prm[15]
    vrest = prm[16]
    thold = prm[17]
    tair = prm[18]
    vimp = prm[19]
    rpatch = prm[20]
    rbound = prm[21]
    relmax = prm[22]
    recdt = prm[24]
    zesc = prm[25]
    lch = prm[26]
    gest = prm[31]
    hstand = prm[32]
    bsz = prm[33]
    dmove = prm[34]
    grefresh = prm[35]
    nb0 = Mb.shape[0]
    nb1 = Mb.shape[1]
    for i in range(i0, i1):
        s = np.empty(13)
        for j in range(13):
            s[j] = X0[i, j]
        anc = np.zeros((K, 3))
        buf = np.empty(4)
        a = np.empty(3)
        R = np.empty((3, 3))
        tb = np.empty(3)
        w = rk4_work(13)
        ga = np.empty(3)
        pg = np.empty(3)  # where the field was last evaluated (none yet: forces the first evaluation)
        pg[0] = 1e150
        pg[1] = 0.0
        pg[2] = 0.0
        cn = cns[i]
        mu = mus[i]
        t = 0.0
        status = 1
        t1 = -1.0
        v1 = 0.0
        vn1 = 0.0
        imp = 0
        tset = -1.0
        tc1 = -1.0
        vr1 = 0.0
        vrn1 = 0.0
        hop = 0.0
        steps = 0
        penmax = 0.0
        prev = False
        tend = -1e300
        rest0 = -1.0
        nextrec = 0.0
        krec = 0
        while t < tmax:
            if i < nrec and krec < nmax and t >= nextrec:
                _record(hist, i, krec, t, s)
                krec += 1
                nextrec += recdt
            zb = cb[0] + cb[1] * s[0] + cb[2] * s[1] + cb[3] * s[0] * s[0] + cb[4] * s[0] * s[1] \
                + cb[5] * s[1] * s[1]
            gx = cb[1] + 2.0 * cb[3] * s[0] + cb[4] * s[1]
            gy = cb[2] + cb[4] * s[0] + 2.0 * cb[5] * s[1]
            nz = 1.0 / math.sqrt(1.0 + gx * gx + gy * gy)
            hcom = (s[2] - zb) * nz
            # local relief maximum (block maxima dilated by the rover radius + dmove)
            rl = Mb[int(math.floor(s[0] / bsz)) % nb0, int(math.floor(s[1] / bsz)) % nb1]
            clr = hcom - rbound - (rl if rl < relmax else relmax)
            sp = math.sqrt(s[3] * s[3] + s[4] * s[4] + s[5] * s[5])
            if t1 >= 0.0 and hcom - hstand > hop:
                hop = hcom - hstand
            steps += 1
            if clr > max(0.01, 4.0 * sp * dtc):
                dt = 0.5 * clr / (sp + math.sqrt(gest * clr) + 1e-12)
                if dt > dtf:
                    dt = dtf
                if dt * sp > dmove:
                    dt = dmove / sp
                if dt < dtc:
                    dt = dtc
                if t + dt > tmax:
                    dt = tmax - t
                _flight_step(t, s, dt, w, prm, site, Rlb, Om, G, Rg, shC, shS, buf, a, R)
                ncon = 0
            else:
                dt = dtc
                vpre0 = s[3]
                vpre1 = s[4]
                vpre2 = s[5]
                dg = (s[0] - pg[0]) ** 2 + (s[1] - pg[1]) ** 2 + (s[2] - pg[2]) ** 2
                if dg > grefresh * grefresh:
                    _field(s[0:3], prm, site, Rlb, G, Rg, shC, shS, buf, ga)
                    for j in range(3):
                        pg[j] = s[j]
                ncon, pm = _contact_step(s, dt, prm, cn, mu, pts, rad, anc, cb, H, Om, ga,
                                         (rl if rl < relmax else relmax), R, tb)
                if pm > penmax:
                    penmax = pm
                if ncon > 0 and not prev:
                    vapp = -(-gx * nz * vpre0 - gy * nz * vpre1 + nz * vpre2)
                    if t1 < 0.0:
                        t1 = t
                        v1 = math.sqrt(vpre0 * vpre0 + vpre1 * vpre1 + vpre2 * vpre2)
                        vn1 = vapp
                        imp = 1
                    elif t - tend >= tair and vapp >= vimp:
                        imp += 1
            t += dt
            if ncon > 0:
                # rest check: centre speed and rotation (relative to the surface)
                quat_matrix_into(s[6:10], R)
                wx = s[10] - (R[0, 0] * Om[0] + R[1, 0] * Om[1] + R[2, 0] * Om[2])
                wy = s[11] - (R[0, 1] * Om[0] + R[1, 1] * Om[1] + R[2, 1] * Om[2])
                wz = s[12] - (R[0, 2] * Om[0] + R[1, 2] * Om[1] + R[2, 2] * Om[2])
                spn = math.sqrt(s[3] * s[3] + s[4] * s[4] + s[5] * s[5])
                wn = math.sqrt(wx * wx + wy * wy + wz * wz)
                if spn < vrest and wn * lch < vrest:
                    if rest0 < 0.0:
                        rest0 = t - dt
                    if t - rest0 >= thold:
                        status = 0
                        tset = rest0
                        break
                else:
                    rest0 = -1.0
            else:
                rest0 = -1.0
                if prev:
                    tend = t - dt
                    if tc1 < 0.0 and t1 >= 0.0:
                        tc1 = tend - t1
                        vr1 = math.sqrt(s[3] * s[3] + s[4] * s[4] + s[5] * s[5])
                        vrn1 = -gx * nz * s[3] - gy * nz * s[4] + nz * s[5]
            prev = ncon > 0
            if s[0] * s[0] + s[1] * s[1] > rpatch * rpatch:
                status = 2
                break
            if clr > zesc:
                status = 3
                break
        if i < nrec and krec < nmax:
            _record(hist, i, krec, t, s)
        out[i, 0] = status
        out[i, 1] = t1
        out[i, 2] = v1
        out[i, 3] = vn1
        out[i, 4] = imp
        out[i, 5] = tset
        for j in range(3):
            out[i, 6 + j] = s[j]
        for j in range(4):
            out[i, 9 + j] = s[6 + j]
        out[i, 13] = tc1
        out[i, 14] = vr1
        out[i, 15] = vrn1
        out[i, 16] = hop
        out[i, 17] = steps
        out[i, 18] = penmax
        out[i, 19] = t


_deploy_kernel = jit(_deploy_impl)
