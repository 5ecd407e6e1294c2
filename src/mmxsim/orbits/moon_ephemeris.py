"""Phobos and Deimos integrated in mmxsim's own force model, fitted to JPL MAR080 (the packaged SPK).

Why
---
The MAR080 mean elements (:mod:`mmxsim.ephemeris.moons`) give ``a`` to 1 km and ``n`` to ten digits
and use both as printed, so the precessing ellipse is not a solution of the force model a
spacecraft feels near Phobos: its acceleration differed from point mass + J2..J4 + Sun by
1.6-1.7e-7 km/s^2 (radial; 3 n^2 da with da ~ 1.1 km), 59 % of Phobos' own pull at 50 km.
A precessing Keplerian ellipse cannot follow a J2 field to better than a few 1e-9 km/s^2 at
Phobos' eccentricity, so each moon is *integrated* here in the same force model and shipped as
Chebyshev segments (SPK type 2, ``mmxsim/data/mars_moons_integrated.bsp``), read back by
:class:`mmxsim.ephemeris.integrated.IntegratedMoonsEphemeris` -- the default Phobos and Deimos.

Force model on each moon (Mars-centred ICRF, TDB)
-------------------------------------------------
* Mars point mass with GM_MARS + GM_moon (two-body relative motion; DE440 GMs) and zonals
  J2..J4 (MRO120F) about the IAU 2015 pole: :class:`mmxsim.dynamics.MarsGravity` -- the code
  the spacecraft's ``mars`` force runs;
* the Sun as a point-mass third body (DE421 through the integrator's Chebyshev track):
  :class:`mmxsim.dynamics.ThirdBody`;
* Phobos only: the secular tidal deceleration (Mars' tidal bulge) that gives MAR099's half
  acceleration of the mean longitude s = 1.258e-3 deg/yr^2: an along-track force
  ``-(2/3) s |r| v/|v|`` (circular-orbit Gauss equation dn/dt = -3 T / a = 2 s); |T| ~ 3e-16 km/s^2.
* Omitted (each < 1e-12 km/s^2 at Phobos, three orders below the 1e-9 consistency goal):
  Deimos on Phobos (5e-13) and Phobos on Deimos, Earth (5e-14) and Jupiter (1.4e-14) tides.
  Mars' tesseral harmonics (C22 ~ 1e-8 km/s^2 at Phobos, at twice the difference of Phobos' and
  Mars' rotation rates, a ~5.5 h period: ~0.1 km of short-period motion) are left out of both the
  spacecraft's model and the moons', so the two stay consistent.

The spacecraft's reference force model has the same Mars and Sun terms, so the ephemeris'
acceleration equals the spacecraft force at Phobos' position to GM_PHOBOS/r^2 = 8e-12 km/s^2
plus the Chebyshev and integration errors (test: < 1e-9 km/s^2, 2026-2032).

Fit to MAR080 (keeps its orientation, phase and accuracy against JPL)
---------------------------------------------------------------------
The state at the middle of the span is fitted by Gauss-Newton (exact state-transition
matrices from heyoka's variational equations, :class:`mmxsim.orbits.handoff.Flow`) to the
positions of the MAR080 theory with the fit-consistent tidal term every 0.5 day over the
whole span, with continuation over growing windows (+-5 d, 50 d, 500 d, all) to stay in the
linear regime.  What the fit cannot absorb is what the theory lacks or states with too few
digits: the 1.1 km radial offset (the theory's ``a``), the Mars-J2 short-period terms and the
rates' printed digits; measured residuals in docs/ephemeris.md.

Regenerate with ``python -m mmxsim.orbits.moon_ephemeris OUT.bsp`` (about 5 minutes on 2 cores).
"""

from __future__ import annotations

import time as _time

import numpy as np

from ..bodies import GM_DEIMOS, GM_MARS, GM_PHOBOS
from ..dynamics.forces import ForceModel, MarsGravity, ThirdBody
from ..mathns import dot

DAY = 86400.0
# Span of the shipped file (TDB): 2024-01-01T00:00 .. 2034-01-01T00:00, MMX's launch (2026) to
# the return (2031) with margin, and the 2024-11-28 Horizons check inside it.
SPAN = ((2460310.5 - 2451545.0) * DAY, (2463963.5 - 2451545.0) * DAY)
# Chebyshev records: (interval s, polynomial degree); the fit error is checked when written.
RECORDS = {"PHOBOS": (DAY / 3, 22), "DEIMOS": (2 * DAY, 24)}  # SPK type 2 allows degree <= 27
NAIF = {"PHOBOS": 401, "DEIMOS": 402}
GM_MOON = {"PHOBOS": GM_PHOBOS, "DEIMOS": GM_DEIMOS}
TOLERANCE = 1e-15


class SecularTidalForce(ForceModel):
    """Along-track force giving a secular acceleration ``2 s`` of the mean longitude (circular orbit).

    T = -(2/3) s |r| along the velocity, from the Gauss equation dn/dt = -3 T / a; ``s`` in rad/s^2.
    """

    kind = "moon_tidal"

    def __init__(self, half_accel_rad_s2: float):
        self.s = float(half_accel_rad_s2)

    def signature(self):
        return (self.kind, self.s)

    def describe(self):
        return f"secular tidal deceleration, half acceleration of the mean longitude {self.s:.4e} rad/s^2 (MAR099)"

    def acceleration(self, ctx):
        m = ctx.m
        k = (-2.0 / 3.0) * self.s * m.sqrt(dot(ctx.r, ctx.r)) / m.sqrt(dot(ctx.v, ctx.v))
        return [k * ctx.v[i] for i in range(3)]


def moon_forces(body: str) -> list:
    """The force models acting on PHOBOS or DEIMOS (see the module docstring)."""
    from ..ephemeris.moons import PHOBOS_TIDAL

    forces = [MarsGravity(4, gm=GM_MARS + GM_MOON[body]), ThirdBody("SUN")]
    if body == "PHOBOS":
        forces.append(SecularTidalForce(PHOBOS_TIDAL.coefficients()[0]))
    return forces


def moon_model(body: str, eph=None):
    from ..dynamics import DynamicsModel
    from ..ephemeris import default_ephemeris

    return DynamicsModel(forces=moon_forces(body), ephemeris=eph or default_ephemeris(moons="mean_elements"),
                         tolerance=TOLERANCE)


def fit_to_theory(body: str, span=SPAN, step: float = 0.5 * DAY, windows=(5 * DAY, 50 * DAY, 500 * DAY, np.inf),
                  log=print):
    """(t_mid, state at t_mid, rms km, max km): the force-model orbit closest to the MAR080 theory."""
    from ..ephemeris.moons import moon_state
    from .handoff import Flow

    flow = Flow(moon_model(body))
    t0, t1 = span
    t_mid = 0.5 * (t0 + t1)
    fwd = np.arange(t_mid, t1 + 1.0, step)[1:]
    bwd = np.arange(t_mid, t0 - 1.0, -step)[1:]

    def sweep(x, eps):
        X, P, Phi, xc, tc = [], [], np.eye(6), np.array(x, float), t_mid
        for t in eps:
            xc, ph = flow(tc, xc, t)
            Phi = ph @ Phi
            tc = t
            X.append(xc)
            P.append(Phi.copy())
        return np.array(X).reshape(-1, 6), np.array(P).reshape(-1, 6, 6)

    x = moon_state(body, t_mid).copy()
    rms = mx = np.nan
    for w in windows:
        ef, eb = fwd[fwd <= t_mid + w], bwd[bwd >= t_mid - w]
        for it in range(5):
            Xf, Pf = sweep(x, ef)
            Xb, Pb = sweep(x, eb)
            X = np.r_[Xb[::-1], [x], Xf]
            P = np.r_[Pb[::-1], [np.eye(6)], Pf]
            ep = np.r_[eb[::-1], t_mid, ef]
            res = X[:, :3] - moon_state(body, ep)[:, :3]
            dx = np.linalg.lstsq(P[:, :3, :].reshape(-1, 6), -res.ravel(), rcond=None)[0]
            d = np.linalg.norm(res, axis=1)
            rms, mx = float(np.sqrt(np.mean(d * d))), float(d.max())
            log(f"{body} window +-{min(w, t1 - t_mid) / DAY:.0f} d, iteration {it}: rms {rms:.4f} km, "
                f"max {mx:.4f} km, |dx| {np.linalg.norm(dx[:3]):.2e} km")
            x = x + dx
            if np.abs(dx[:3]).max() < 1e-6:
                break
    return t_mid, x, rms, mx


def chebyshev_records(body: str, t_mid: float, x_mid, span=SPAN):
    """(btime, interval, degree, coefficients (n, 3, degree+1), max check error km) on ``span``."""
    from ..dynamics import propagate
    from .handoff import Flow

    intlen, deg = RECORDS[body]
    t0, t1 = span
    n = int(round((t1 - t0) / intlen))
    model = moon_model(body)
    x0, _ = Flow(model)(t_mid, x_mid, t0)
    k = np.arange(deg + 1)
    nodes = np.cos(np.pi * (k + 0.5) / (deg + 1))  # Chebyshev nodes on (-1, 1)
    chk = np.array([-0.77, -0.31, 0.13, 0.58, 0.91])
    u = np.r_[nodes, chk]
    starts = t0 + intlen * np.arange(n)
    tt = (starts[:, None] + 0.5 * intlen * (u[None, :] + 1.0)).ravel()
    order = np.argsort(tt)
    prop = propagate(model, t0, x0, tt[order], t1)
    pos = np.empty((tt.size, 3))
    pos[order] = prop.states[:, :3]
    pos = pos.reshape(n, u.size, 3)
    V = np.polynomial.chebyshev.chebvander(nodes, deg)
    C = np.linalg.solve(V, pos[:, : deg + 1, :].transpose(1, 0, 2).reshape(deg + 1, -1))
    coef = C.reshape(deg + 1, n, 3).transpose(1, 2, 0)  # (n, 3, deg+1)
    Vc = np.polynomial.chebyshev.chebvander(chk, deg)
    err = float(np.abs(np.einsum("ck,nik->nci", Vc, coef) - pos[:, deg + 1:, :]).max())
    return t0, intlen, deg, coef, err


def write_spk(path, records: dict, comments: list[str]):
    """Write SPK type 2 segments (one per body, centre MARS, frame J2000 = ICRF axes)."""
    import spiceypy as sp

    from pathlib import Path

    p = Path(path)
    if p.exists():
        p.unlink()
    handle = sp.spkopn(str(p), "mmxsim integrated Mars moons", 4000)
    try:
        for body, (btime, intlen, deg, coef, _err) in records.items():
            n = coef.shape[0]
            sp.spkw02(handle, NAIF[body], 499, "J2000", btime, btime + n * intlen,
                      f"{body} mmxsim integrated, fit to MAR080", intlen, n, deg,
                      np.ascontiguousarray(coef.reshape(n, -1)).ravel(), btime)
        sp.dafac(handle, [c[:1000] for c in comments])
    finally:
        sp.spkcls(handle)


def build(path, log=print, fitted: dict | None = None) -> dict:
    """Fit both moons, write the SPK to ``path``; returns the fit statistics.

    ``fitted``: {body: (t_mid, state_mid, rms, max)} from an earlier fit, to rewrite the records only."""
    import heyoka

    from ..version import __version__

    stats, records = {}, {}
    tic = _time.perf_counter()
    for body in ("PHOBOS", "DEIMOS"):
        t_mid, x, rms, mx = fitted[body] if fitted else fit_to_theory(body, log=log)
        rec = chebyshev_records(body, t_mid, x)
        records[body] = rec
        stats[body] = {"t_mid": t_mid, "state_mid": [float(v) for v in x], "rms_km": rms, "max_km": mx,
                       "chebyshev_check_km": rec[4]}
        log(f"{body}: fit rms {rms:.3f} km, max {mx:.3f} km; Chebyshev check {rec[4]:.2e} km")
    comments = [
        "mmxsim integrated ephemeris of PHOBOS (401) and DEIMOS (402) relative to MARS (499), ICRF (J2000) axes, TDB.",
        "Generated by mmxsim.orbits.moon_ephemeris (mmxsim %s, heyoka %s, taylor tol %g)." % (
            __version__, heyoka.__version__, TOLERANCE),
        "Force model: Mars GM(DE440, + moon GM) + J2..J4 (MRO120F, IAU 2015 pole), Sun point mass (DE421);",
        "Phobos also the MAR099 secular tidal deceleration. Initial states fitted to the JPL MAR080 mean elements",
        "(with the fit-consistent tidal term) every 0.5 d over the span; see mmxsim docs/ephemeris.md.",
    ] + [f"{b}: state at TDB {s['t_mid']:.1f} s past J2000 = {s['state_mid']} (km, km/s); fit rms {s['rms_km']:.3f} km, "
         f"max {s['max_km']:.3f} km" for b, s in stats.items()]
    write_spk(path, records, comments)
    log(f"wrote {path} in {_time.perf_counter() - tic:.0f} s")
    return stats


if __name__ == "__main__":  # pragma: no cover - data generation
    import json
    import sys

    out = sys.argv[1] if len(sys.argv) > 1 else "mars_moons_integrated.bsp"
    print(json.dumps(build(out), indent=1))
