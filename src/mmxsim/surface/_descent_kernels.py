"""The compiled kernels of :mod:`mmxsim.surface.landing`: the descent right-hand side (circular
Hill problem in Phobos' body frame with the interpolated gravity), the executed burn, and the
ensemble driver (fixed-step RK4 of :mod:`mmxsim.dynamics.fixed_step`, altitude crossings by
bisection on the step; numba through :mod:`mmxsim._accel`, parallel over trajectories)."""

from __future__ import annotations

import math

import numpy as np

from .._accel import jit, prange
from ..dynamics.fixed_step import event_bisector, rk4_stepper, rk4_work
from ..gravity.fast import grid_accel_point, radius_interp

LANDED, IMPACT_BEFORE_BRAKING, TIMEOUT, ESCAPED = 0, 1, 2, 3


def _rhs(t, s, d, G, Rg, gm, dq, dlat, dlon, shR, shC, shS, n, buf):
    grid_accel_point(s[0], s[1], s[2], G, Rg, gm, dq, dlat, dlon, shR, shC, shS, buf)
    d[0] = s[3]
    d[1] = s[4]
    d[2] = s[5]
    d[3] = 2.0 * n * s[4] + 3.0 * n * n * s[0] + buf[1]
    d[4] = -2.0 * n * s[3] + buf[2]
    d[5] = -n * n * s[2] + buf[3]


_rhs = jit(_rhs)


def _height(s, Rg, dlat, dlon):
    r = math.sqrt(s[0] * s[0] + s[1] * s[1] + s[2] * s[2])
    lat = math.asin(max(-1.0, min(1.0, s[2] / r)))
    lon = math.atan2(s[1], s[0])
    return r - radius_interp(lat, lon, Rg, dlat, dlon)


_height = jit(_height)


def _below(t, s, Rg, dlat, dlon, target):
    """The event of the step bisection: at or below the target height (km)."""
    return _height(s, Rg, dlat, dlon) <= target


_below = jit(_below)
_step = rk4_stepper(_rhs, 6)
_locate = event_bisector(_step, _below)


def _exec_burn(dv, err, out):
    """Executed burn: magnitude (1 + err[0]) and pointing error err[1:4] (rad, the component
    perpendicular to the burn is applied; small angles)."""
    m = math.sqrt(dv[0] * dv[0] + dv[1] * dv[1] + dv[2] * dv[2])
    if m == 0.0:
        for i in range(3):
            out[i] = 0.0
        return
    ux = dv[0] / m
    uy = dv[1] / m
    uz = dv[2] / m
    p = err[1] * ux + err[2] * uy + err[3] * uz
    ex = err[1] - p * ux
    ey = err[2] - p * uy
    ez = err[3] - p * uz
    f = 1.0 + err[0]
    out[0] = f * (dv[0] + m * ex)
    out[1] = f * (dv[1] + m * ey)
    out[2] = f * (dv[2] + m * ez)


_exec_burn = jit(_exec_burn)


def _descent_impl(X0, t_c, xnom_c, K, nav_c, exec_c, h_b, v_tgt, nav_b, exec_b, dt, t_max, r_esc,
                  G, Rg, gm, dq, dlat, dlon, shR, shC, shS, n, out, burns, hist):
    """Propagate trajectories i from X0[i] (state just after the executed departure burn).
    out[i] = (t, x, y, z, vx, vy, vz, status), burns[i] = (correction dv, braking dv) (km/s).
    hist (m, nsteps, 7) records (t, state) of the first m trajectories (m may be 0)."""
    ntr = X0.shape[0]
    nrec = hist.shape[0]
    nmax = hist.shape[1]
    for i in prange(ntr):
        s = np.empty(6)
        s1 = np.empty(6)
        sb = np.empty(6)
        w = rk4_work(6)
        buf = np.empty(4)
        dv = np.empty(3)
        dva = np.empty(3)
        for j in range(6):
            s[j] = X0[i, j]
        for j in range(6):
            burns[i, j] = 0.0
        t = 0.0
        phase = 0 if t_c > 0.0 else 1
        status = TIMEOUT_C
        step = 0
        while t < t_max:
            if i < nrec and step < nmax:
                hist[i, step, 0] = t
                for j in range(6):
                    hist[i, step, j + 1] = s[j]
            step += 1
            h_step = dt
            if phase == 0 and t + h_step >= t_c:
                h_step = t_c - t
            _step(t, s, h_step, (G, Rg, gm, dq, dlat, dlon, shR, shC, shS, n, buf), s1, w)
            target = h_b if phase <= 1 else 0.0
            h1 = _height(s1, Rg, dlat, dlon)
            if h1 <= target:
                # bisection on the step length for the crossing of the target altitude
                hi = _locate(t, s, 0.0, h_step, 1.0, sb, w, 50, 1e-6, (Rg, dlat, dlon, target),
                             (G, Rg, gm, dq, dlat, dlon, shR, shC, shS, n, buf))
                _step(t, s, hi, (G, Rg, gm, dq, dlat, dlon, shR, shC, shS, n, buf), s1, w)
                t += hi
                for j in range(6):
                    s[j] = s1[j]
                if phase == 2:
                    status = LANDED_C
                    break
                if phase == 0:  # below the braking altitude before the correction: an impact course
                    status = IMPACT_C
                    # continue ballistically to the surface
                    phase = 3
                    continue
                if phase == 3:
                    status = IMPACT_C
                    break
                # braking: command = target velocity - navigated velocity
                for j in range(3):
                    dv[j] = v_tgt[j] - (s[3 + j] + nav_b[i, j])
                _exec_burn(dv, exec_b[i], dva)
                for j in range(3):
                    s[3 + j] += dva[j]
                    burns[i, 3 + j] = dva[j]
                phase = 2
                continue
            t += h_step
            for j in range(6):
                s[j] = s1[j]
            r = math.sqrt(s[0] * s[0] + s[1] * s[1] + s[2] * s[2])
            if r > r_esc:
                status = ESCAPED_C
                break
            if phase == 0 and t >= t_c and t_c < t_max:  # (t_c = t_max: a plain ballistic run to t_max)
                # correction: linear targeting from the navigated deviation
                for j in range(3):
                    dv[j] = 0.0
                for a in range(3):
                    acc = 0.0
                    for b in range(3):
                        acc += K[a, b] * (s[b] + nav_c[i, b] - xnom_c[b])
                    dv[a] = -acc - (s[3 + a] + nav_c[i, 3 + a] - xnom_c[3 + a])
                _exec_burn(dv, exec_c[i], dva)
                for j in range(3):
                    s[3 + j] += dva[j]
                    burns[i, j] = dva[j]
                phase = 1
        out[i, 0] = t
        for j in range(6):
            out[i, 1 + j] = s[j]
        out[i, 7] = status


LANDED_C, IMPACT_C, TIMEOUT_C, ESCAPED_C = LANDED, IMPACT_BEFORE_BRAKING, TIMEOUT, ESCAPED
# One serial kernel. (A parallel=True twin built from the same function shared numba's disk-cache
# entry with it, numba's key ignoring the parallel flag, so whichever was compiled first served both;
# the analyses' workers run numba on one thread anyway: mmxsim.analyses.AnalysisWorkers.)
_descent_serial = jit(_descent_impl, parallel=False)
