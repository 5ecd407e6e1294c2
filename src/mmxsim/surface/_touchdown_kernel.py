"""The compiled kernel of :mod:`mmxsim.surface.touchdown`: one touchdown simulation (semi-implicit
Euler, quaternion attitude; plain Python on scalars, numba-compiled through :mod:`mmxsim._accel`
by ``touchdown._kernel``). The model and its parameters are described there."""

from __future__ import annotations

import math

import numpy as np

from ..bodies.quaternion import matrix_into as quat_matrix_into
from ..bodies.quaternion import normalize_at as quat_normalize_at
from ..bodies.quaternion import product as quat_product

# status codes
SETTLED, TIPPED, TIMEOUT = 0, 1, 2


def _sim_impl(prm, pads, inertia, y0, gvec, spin, dt_c, dt_f, t_max, rec_dt, hist, summ):
    m = prm[0]
    k = prm[1]
    c = prm[2]
    fc = prm[3]
    smax = prm[4]
    kstop = prm[5]
    mu = prm[6]
    kt = prm[7]
    ct = prm[8]
    v_set = prm[9]
    w_set = prm[10]
    hold = prm[11]
    tip_deg = prm[12]
    adhesive = prm[13] > 0.5
    stop_settled = prm[14] > 0.5
    thrust = prm[15]
    thrust_s = prm[16]
    d_thrust = 0.0
    Ix = inertia[0]
    Iy = inertia[1]
    Iz = inertia[2]
    x = y0[0:3].copy()
    v = y0[3:6].copy()
    q = y0[6:10].copy()
    w = y0[10:13].copy()
    crush = np.zeros(4)
    dlt = np.zeros((4, 2))
    slip = np.zeros(4)
    smax_seen = np.zeros(4)
    R = np.zeros((3, 3))
    rw = np.zeros((4, 3))
    vp = np.zeros((4, 3))
    fpad = np.zeros((4, 3))
    crate = np.zeros(4)
    drate = np.zeros((4, 2))
    incont = np.zeros(4)
    pen = np.zeros(4)
    d_damp = 0.0
    d_crush = 0.0
    d_slip = 0.0
    d_release = 0.0
    t = 0.0
    nrec = hist.shape[0]
    irec = 0
    t_next_rec = 0.0
    first_contact = -1.0
    had_contact = False
    airborne = False
    n_lift = 0
    max_clear = 0.0
    settle_start = -1.0
    settle_time = -1.0
    status = TIMEOUT
    bottomed = 0.0
    cos_tip = math.cos(math.radians(tip_deg))
    while True:
        # rotation matrix from the unit quaternion (w, x, y, z): body -> site frame
        q0 = q[0]
        q1 = q[1]
        q2 = q[2]
        q3 = q[3]
        quat_matrix_into(q, R)
        ww0 = R[0, 0] * w[0] + R[0, 1] * w[1] + R[0, 2] * w[2]
        ww1 = R[1, 0] * w[0] + R[1, 1] * w[1] + R[1, 2] * w[2]
        ww2 = R[2, 0] * w[0] + R[2, 1] * w[1] + R[2, 2] * w[2]
        near = False
        ncont = 0
        minh = 1e300
        for i in range(4):
            for j in range(3):
                rw[i, j] = R[j, 0] * pads[i, 0] + R[j, 1] * pads[i, 1] + R[j, 2] * pads[i, 2]
            vp[i, 0] = v[0] + ww1 * rw[i, 2] - ww2 * rw[i, 1]
            vp[i, 1] = v[1] + ww2 * rw[i, 0] - ww0 * rw[i, 2]
            vp[i, 2] = v[2] + ww0 * rw[i, 1] - ww1 * rw[i, 0]
            pen[i] = -(x[2] + rw[i, 2])
            gap = -(pen[i] - crush[i])
            if gap < minh:
                minh = gap
            if gap < 1e-3 + 3.0 * dt_f * max(0.0, -vp[i, 2]):
                near = True
            if gap < 0.0:
                ncont += 1
        # ---- energy (before the step) for the record
        ke = 0.5 * m * (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]) + 0.5 * (Ix * w[0] * w[0] + Iy * w[1] * w[1]
                                                                           + Iz * w[2] * w[2])
        pe = -m * (gvec[0] * x[0] + gvec[1] * x[1] + gvec[2] * x[2])
        el = 0.0
        for i in range(4):
            e = pen[i] - crush[i]
            if e > 0:
                el += 0.5 * k * e * e + 0.5 * kt * (dlt[i, 0] * dlt[i, 0] + dlt[i, 1] * dlt[i, 1])
            if pen[i] > smax:
                el += 0.5 * kstop * (pen[i] - smax) ** 2
        # ---- bookkeeping of contact phases
        if ncont > 0:
            if not had_contact:
                had_contact = True
                first_contact = t
            if airborne:
                airborne = False
        elif had_contact:
            if not airborne:
                airborne = True
                n_lift += 1
            if minh > max_clear:
                max_clear = minh
        vmag = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
        wmag = math.sqrt(w[0] * w[0] + w[1] * w[1] + w[2] * w[2])
        if had_contact and ncont >= 3 and vmag < v_set and wmag < w_set:
            if settle_start < 0:
                settle_start = t
            elif t - settle_start >= hold:
                settle_time = settle_start
        else:
            settle_start = -1.0
        # body z axis vs plane normal: tipped past tip_deg
        tipped = R[2, 2] < cos_tip
        # ---- record
        done = t >= t_max or tipped or (stop_settled and settle_time >= 0)
        if (t >= t_next_rec or done) and irec < nrec:
            hist[irec, 0] = t
            for j in range(3):
                hist[irec, 1 + j] = x[j]
                hist[irec, 4 + j] = v[j]
                hist[irec, 11 + j] = w[j]
            for j in range(4):
                hist[irec, 7 + j] = q[j]
                hist[irec, 14 + j] = max(0.0, pen[j]) if pen[j] - crush[j] > 0 else crush[j]
                hist[irec, 18 + j] = 1.0 if pen[j] - crush[j] > 0 else 0.0
            hist[irec, 22] = ke + pe + el
            hist[irec, 23] = d_damp + d_crush + d_slip + d_release + d_thrust
            irec += 1
            t_next_rec += rec_dt
        if done:
            if tipped:
                status = TIPPED
            elif settle_time >= 0:
                status = SETTLED
            break
        dt = dt_c if near else dt_f
        # ---- forces
        F0 = m * gvec[0] - 2.0 * m * (spin[1] * v[2] - spin[2] * v[1])
        F1 = m * gvec[1] - 2.0 * m * (spin[2] * v[0] - spin[0] * v[2])
        F2 = m * gvec[2] - 2.0 * m * (spin[0] * v[1] - spin[1] * v[0])
        if thrust > 0.0 and had_contact and t - first_contact < thrust_s:
            # hold-down thrust along -body z through the CoM; its work is booked (sign: removed)
            F0 -= thrust * R[0, 2]
            F1 -= thrust * R[1, 2]
            F2 -= thrust * R[2, 2]
            d_thrust += thrust * (R[0, 2] * v[0] + R[1, 2] * v[1] + R[2, 2] * v[2]) * dt
        T0 = 0.0
        T1 = 0.0
        T2 = 0.0
        for i in range(4):
            e = pen[i] - crush[i]
            fpad[i, 0] = 0.0
            fpad[i, 1] = 0.0
            fpad[i, 2] = 0.0
            crate[i] = 0.0
            drate[i, 0] = 0.0
            drate[i, 1] = 0.0
            incont[i] = 0.0
            if e <= 0.0:
                if dlt[i, 0] != 0.0 or dlt[i, 1] != 0.0:  # contact released: tangential spring energy lost
                    d_release += 0.5 * kt * (dlt[i, 0] * dlt[i, 0] + dlt[i, 1] * dlt[i, 1])
                    dlt[i, 0] = 0.0
                    dlt[i, 1] = 0.0
                continue
            incont[i] = 1.0
            pdot = -vp[i, 2]
            ftr = k * e + c * pdot
            if ftr < 0.0 and not adhesive:
                N = 0.0
                d_damp += -k * e * pdot * dt  # the massless pad follows the spring: its energy is dissipated
            elif ftr > fc and crush[i] < smax:
                N = fc
                if c > 0.0:
                    crate[i] = (ftr - fc) / c
                    edot = pdot - crate[i]
                    d_damp += c * edot * edot * dt
                else:
                    crate[i] = max(pdot, 0.0)
                d_crush += fc * crate[i] * dt
            else:
                N = ftr
                d_damp += c * pdot * pdot * dt
            if pen[i] > smax:
                N += kstop * (pen[i] - smax)
                bottomed = 1.0
            if pen[i] > smax_seen[i]:
                smax_seen[i] = pen[i]
            # friction: elastic-plastic Coulomb
            vtx = vp[i, 0]
            vty = vp[i, 1]
            ftx = -kt * dlt[i, 0] - ct * vtx
            fty = -kt * dlt[i, 1] - ct * vty
            fmag = math.sqrt(ftx * ftx + fty * fty)
            lim = mu * max(N, 0.0)
            if fmag <= lim:
                drate[i, 0] = vtx
                drate[i, 1] = vty
                d_damp += ct * (vtx * vtx + vty * vty) * dt
            else:
                if fmag > 0.0:
                    ftx = ftx * lim / fmag
                    fty = fty * lim / fmag
                else:
                    ftx = 0.0
                    fty = 0.0
                drate[i, 0] = -(ftx + kt * dlt[i, 0]) / ct
                drate[i, 1] = -(fty + kt * dlt[i, 1]) / ct
                vsx = vtx - drate[i, 0]
                vsy = vty - drate[i, 1]
                d_damp += ct * (drate[i, 0] ** 2 + drate[i, 1] ** 2) * dt
                d_slip += -(ftx * vsx + fty * vsy) * dt
                slip[i] += math.sqrt(vsx * vsx + vsy * vsy) * dt
            fpad[i, 0] = ftx
            fpad[i, 1] = fty
            fpad[i, 2] = N
            F0 += ftx
            F1 += fty
            F2 += N
            T0 += rw[i, 1] * N - rw[i, 2] * fty
            T1 += rw[i, 2] * ftx - rw[i, 0] * N
            T2 += rw[i, 0] * fty - rw[i, 1] * ftx
        # ---- semi-implicit Euler
        v[0] += dt * F0 / m
        v[1] += dt * F1 / m
        v[2] += dt * F2 / m
        tb0 = R[0, 0] * T0 + R[1, 0] * T1 + R[2, 0] * T2
        tb1 = R[0, 1] * T0 + R[1, 1] * T1 + R[2, 1] * T2
        tb2 = R[0, 2] * T0 + R[1, 2] * T1 + R[2, 2] * T2
        a0 = (tb0 - (Iz - Iy) * w[1] * w[2]) / Ix
        a1 = (tb1 - (Ix - Iz) * w[2] * w[0]) / Iy
        a2 = (tb2 - (Iy - Ix) * w[0] * w[1]) / Iz
        w[0] += dt * a0
        w[1] += dt * a1
        w[2] += dt * a2
        if ncont == 0 and not (thrust > 0.0 and had_contact and t - first_contact < thrust_s):
            # free flight: trapezoidal position step, exact for the uniform gravity (no energy drift)
            x[0] += 0.5 * dt * (2.0 * v[0] - dt * F0 / m)
            x[1] += 0.5 * dt * (2.0 * v[1] - dt * F1 / m)
            x[2] += 0.5 * dt * (2.0 * v[2] - dt * F2 / m)
        else:
            x[0] += dt * v[0]
            x[1] += dt * v[1]
            x[2] += dt * v[2]
        wn = math.sqrt(w[0] * w[0] + w[1] * w[1] + w[2] * w[2])
        if wn > 0.0:
            h = 0.5 * wn * dt
            s = math.sin(h) / wn
            r0 = math.cos(h)
            r1 = s * w[0]
            r2 = s * w[1]
            r3 = s * w[2]
            q[0], q[1], q[2], q[3] = quat_product(q0, q1, q2, q3, r0, r1, r2, r3)
            quat_normalize_at(q, 0)
        for i in range(4):
            crush[i] += crate[i] * dt
            if crush[i] > smax:
                crush[i] = smax
            dlt[i, 0] += drate[i, 0] * dt
            dlt[i, 1] += drate[i, 1] * dt
        t += dt
    summ[0] = status
    summ[1] = t
    summ[2] = settle_time
    summ[3] = first_contact
    summ[4] = n_lift
    summ[5] = max_clear
    summ[6] = bottomed
    summ[7] = d_damp
    summ[8] = d_crush
    summ[9] = d_slip
    summ[10] = d_release
    summ[11] = irec
    summ[24] = d_thrust
    for i in range(4):
        summ[12 + i] = smax_seen[i]
        summ[16 + i] = crush[i]
        summ[20 + i] = slip[i]
