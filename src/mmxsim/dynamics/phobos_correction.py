"""A correction of Phobos' ephemeris as six estimable parameters (issue 17 item 2).

Model
-----
Orbit determination near Phobos estimates the spacecraft's state *relative* to a Phobos that is
itself known only to a few hundred metres (Lainey et al. 2021). The correction is parametrised by
``delta``, a change of Phobos' Mars-centred ICRF state at a correction epoch ``t_e``:
``(dx, dy, dz)`` in km and ``(dvx, dvy, dvz)`` in km/s, the runtime parameters ``phobos:dx`` ..
``phobos:dvz`` of :class:`~mmxsim.dynamics.forces.PhobosGravity` (``ephemeris_parameters=True``).
Phobos' corrected state is ``q(t) + dq(t)`` with ``q`` the ephemeris and ``dq(t) = A(t - t_e) delta``
the linear image of ``delta``.

``A`` is the Clohessy-Wiltshire (Hill 1878) solution about a circular orbit of mean motion ``n``,
plus the secular drift of the true change of the semi-major axis:

* ``n`` = the MAR080 mean-longitude rate of Phobos, 1128.8447569 deg/day
  (JPL SSD mean elements, MAR080, ``mmxsim/data/mars_moons_mean_elements.csv``; the rate at which
  Phobos' radial direction turns on average);
* the Hill axes at ``t_e`` (rows of ``R``: radial, along-track, orbit normal) from Phobos' state at
  ``t_e`` in an ephemeris (the packaged integrated moons by default), with the radial axis turned in
  the orbital plane from the true to the *mean* longitude (by M - nu of the osculating ellipse,
  GM_MARS + GM_PHOBOS, DE440), so that the uniformly turning frame follows the mean orbit;
* ``delta`` is turned into Hill components at ``t_e`` (the velocity relative to the rotating axes,
  ``R dv - n z x R dr``), flown with the CW solution for ``tau = t - t_e`` (of either sign), and turned
  back with the frame rotated by ``n tau`` about the normal and ``R^T``;
* drift term: on an eccentric orbit a state change alters the semi-major axis by
  ``da = 2 a^2 (r.dr / r^3 + v.dv / mu)`` (vis-viva), which CW replaces by its circular value
  ``4 x0 + 2 y0'/n``. The difference ``c . delta`` (``c``: six numbers computed at ``t_e``, zero on a
  circular orbit) adds the along-track term ``-1.5 (n tau - sin n tau) c.delta``: the secular drift
  ``-1.5 n da tau`` of the true ``da``, with zero value and rate at ``t_e`` (so ``A(0) = I`` stays exact).

Every entry of ``A`` is a polynomial in ``tau``, ``cos(n tau)``, ``sin(n tau)`` and constants: the heyoka
expression of the dynamics (:func:`correction_position` with the heyoka namespace) and the NumPy
function of the measurement side (:func:`phobos_state_correction`) are the same source.
``t_e``, ``n``, the nine entries of ``R`` and the six of ``c`` are runtime parameters of the force too
(``phobos:eph_epoch``, ``phobos:eph_n``, ``phobos:eph_frame0`` .. ``8`` row-major, ``phobos:eph_drift0`` ..
``5``) but are *not* estimable (:func:`mmxsim.navigation.variational.estimable_parameters` leaves every
``:eph_`` name out): a new correction epoch needs no recompilation.

Accuracy (measured; tests/dynamics/test_phobos_ephemeris_parameters.py). Reference: the state
transition matrix Phi of Phobos' orbit in the moons' force model (Mars GM + J2..J4, Sun, tidal term;
:mod:`mmxsim.orbits.moon_ephemeris`; heyoka's variational equations through
:class:`mmxsim.orbits.handoff.Flow`) from ``t_e`` = 2027-01-01 TDB, positions only, with ``delta``
scaled to 100 m / 0.01 m/s per component:

* the spectral norm of (A - Phi) over that of Phi: 2.2 % at 3 h, 1.3-1.5 % from 6 h to 7 days, 1.6 %
  at 30 days; per component (largest error over the largest true response in the span): 1.5-2.6 %
  at 1 day, 1.5-1.8 % at 7 and 30 days. That is Phobos' eccentricity (0.0151): the periodic
  eccentric (Tschauner-Hempel) terms CW lacks; without the drift term the errors were 2-22 %;
* in the direction where the response is smallest, the stationary CW shift (1 km along-track with
  ``delta_v = n z x delta_r``), the error is 0.05-0.2 km per km over the first day (true response
  0.1-1.2 km) and 0.9 km at 30 days (true 54 km): the error stays bounded, some ten times
  e |delta|, while the true motion grows.

Why not an exact Keplerian transition matrix: measured in the same way, the two-body Phi of the
osculating orbit departs from the moons' model by 1.5 % after a day, 11 % after 7 days and 46 % after
30 days (Mars' J2 turns the apsides by 0.87 deg/day and the osculating mean motion is not the mean
one), while CW on the mean motion with the drift term stays at 1.3-2.2 % to 30 days. An exact
alternative (Phobos' own 6x6 transition matrix from the moons' model, fed to the integrator as
Chebyshev tracks like the ephemeris) would remove the error at the cost of 36 more tracks; not done.

Simplifications (the correction only; Phobos' nominal orbit stays the ephemeris): eccentricity,
Mars' J2..J4 and the Sun are left out of the *mapping* of ``delta`` (except the drift term's true
``da``). For an estimator the six parameters are a parametrisation of Phobos' orbit used
consistently by the dynamics and the measurement models, accurate to the percents above as a model
of how a real ephemeris error evolves.

Only Phobos' gravity uses the corrected position (direct and indirect terms; also the near-surface
field of :mod:`mmxsim.dynamics.near_surface`, its exit test and its impact surface). Eclipses by
Phobos, the near-surface entry event and the heyoka impact events keep the nominal ephemeris: sub-km
effects on their timing for corrections of some hundred metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..mathns import NP

DELTA_NAMES = ("phobos:dx", "phobos:dy", "phobos:dz", "phobos:dvx", "phobos:dvy", "phobos:dvz")
EPOCH_NAME = "phobos:eph_epoch"
RATE_NAME = "phobos:eph_n"
FRAME_NAMES = tuple(f"phobos:eph_frame{k}" for k in range(9))
DRIFT_NAMES = tuple(f"phobos:eph_drift{k}" for k in range(6))
FIXED_MARK = ":eph_"  # runtime parameters whose names contain it are not estimable


def mean_motion() -> float:
    """Phobos' mean-longitude rate (rad/s): MAR080, JPL SSD mean elements (packaged CSV)."""
    from ..ephemeris.moons import mean_elements

    return float(mean_elements("PHOBOS").n)


@dataclass(frozen=True)
class CorrectionFrame:
    """Epoch ``epoch`` (TDB s past J2000), mean motion ``n`` (rad/s) and the ICRF -> Hill rotation
    ``R`` (3x3, rows radial, along-track, normal) of the correction mapping (module docstring)."""

    epoch: float
    n: float
    R: tuple  # 3x3 nested tuples
    drift: tuple = (0.0,) * 6  # c: the true da minus CW's, c . delta (km per km, km per km/s); 0: plain CW

    def __post_init__(self):
        e = float(self.epoch)
        if not np.isfinite(e):
            raise InputError("phobos.ephemeris_epoch", self.epoch, "finite TDB seconds past J2000")
        if not (np.isfinite(self.n) and self.n > 0):
            raise InputError("phobos.ephemeris_frame.n", self.n, "a finite mean motion > 0 rad/s")
        R = np.asarray(self.R, dtype=float)
        if R.shape != (3, 3) or not np.all(np.isfinite(R)) or np.abs(R @ R.T - np.eye(3)).max() > 1e-9:
            raise InputError("phobos.ephemeris_frame.R", self.R, "a 3x3 rotation matrix")
        object.__setattr__(self, "epoch", e)
        object.__setattr__(self, "n", float(self.n))
        object.__setattr__(self, "R", tuple(tuple(float(v) for v in row) for row in R))
        c = np.asarray(self.drift, dtype=float)
        if c.shape != (6,) or not np.all(np.isfinite(c)):
            raise InputError("phobos.ephemeris_frame.drift", self.drift, "6 finite numbers")
        object.__setattr__(self, "drift", tuple(float(v) for v in c))

    def values(self) -> dict[str, float]:
        """The non-estimable runtime parameters: epoch, mean motion and the frame, row-major."""
        out = {EPOCH_NAME: self.epoch, RATE_NAME: self.n}
        out.update(zip(FRAME_NAMES, (v for row in self.R for v in row)))
        out.update(zip(DRIFT_NAMES, self.drift))
        return out


def correction_frame(epoch: float, ephemeris=None, n: float | None = None) -> CorrectionFrame:
    """The mapping's frame at ``epoch`` (TDB s) from Phobos' state in ``ephemeris`` (default: the
    packaged integrated moons, :func:`mmxsim.ephemeris.default_ephemeris`); ``n``: the mean motion
    (default MAR080, :func:`mean_motion`)."""
    try:
        t_e = float(epoch)
    except (TypeError, ValueError):
        raise InputError("phobos.ephemeris_epoch", epoch, "finite TDB seconds past J2000") from None
    if not np.isfinite(t_e):
        raise InputError("phobos.ephemeris_epoch", epoch, "finite TDB seconds past J2000")
    if ephemeris is None:
        from ..ephemeris import default_ephemeris

        ephemeris = default_ephemeris()
    from ..bodies import GM_MARS, GM_PHOBOS

    x = np.asarray(ephemeris.state("PHOBOS", "MARS", t_e), dtype=float).reshape(6)
    r, v = x[:3], x[3:]
    h = np.cross(r, v)
    z = h / np.linalg.norm(h)
    # mean longitude = true longitude - (nu - M) of the osculating ellipse (Mars + Phobos GM, DE440)
    mu = GM_MARS + GM_PHOBOS
    rn = np.linalg.norm(r)
    ev = np.cross(v, h) / mu - r / rn
    e = np.linalg.norm(ev)
    nu = np.arctan2(np.dot(np.cross(ev, r), z), np.dot(ev, r))
    E = 2.0 * np.arctan2(np.sqrt(1.0 - e) * np.sin(nu / 2), np.sqrt(1.0 + e) * np.cos(nu / 2))
    M = E - e * np.sin(E)
    a = -(nu - M)  # turn from the true to the mean longitude
    xr = r / rn
    yr = np.cross(z, xr)
    xm = np.cos(a) * xr + np.sin(a) * yr
    ym = np.cross(z, xm)
    nn = mean_motion() if n is None else float(n)
    R = np.array([xm, ym, z])
    # gradient of the osculating semi-major axis (vis-viva): da = 2 a^2 (r.dr / r^3 + v.dv / mu)
    sma = 1.0 / (2.0 / rn - np.dot(v, v) / mu)
    grad = np.r_[2.0 * sma * sma * r / rn ** 3, 2.0 * sma * sma * v / mu]
    cw = np.r_[2.0 * R[0], 2.0 * R[1] / nn]  # CW's mean radial offset 4 x0 + 2 v0 / n = 2 x0 + 2 (R dv)_1 / n
    return CorrectionFrame(t_e, nn, tuple(map(tuple, R)), tuple(grad - cw))


def _matvec(R, v):
    return [R[i][0] * v[0] + R[i][1] * v[1] + R[i][2] * v[2] for i in range(3)]


def _matTvec(R, v):
    return [R[0][i] * v[0] + R[1][i] * v[1] + R[2][i] * v[2] for i in range(3)]


def correction_position(tau, n, R, delta, m, velocity: bool = False, drift=None):
    """``dq(t)`` (and ``dv(t)`` with ``velocity``), ICRF, for ``tau = t - t_e``: written once for
    NumPy arrays (``m = NP``) and heyoka expressions (the module docstring gives the model).

    ``n``: mean motion, ``R``: 3x3 nested ICRF -> Hill rows, ``delta``: six ICRF components."""
    r0 = _matvec(R, delta[:3])
    w0 = _matvec(R, delta[3:])
    inv_n = 1.0 / n
    x0, y0, z0 = r0
    # velocity relative to the rotating Hill axes (omega = n along the normal)
    u0, v0, s0 = w0[0] + n * y0, w0[1] - n * x0, w0[2]
    th = n * tau
    c, s = m.cos(th), m.sin(th)
    one_c = 1.0 - c
    x = (4.0 - 3.0 * c) * x0 + s * inv_n * u0 + 2.0 * inv_n * one_c * v0
    y = 6.0 * (s - th) * x0 + y0 - 2.0 * inv_n * one_c * u0 + inv_n * (4.0 * s - 3.0 * th) * v0
    if drift is not None:  # the secular drift of the true semi-major-axis change (eccentric orbit)
        da = (drift[0] * delta[0] + drift[1] * delta[1] + drift[2] * delta[2] + drift[3] * delta[3]
              + drift[4] * delta[4] + drift[5] * delta[5])
        y = y - 1.5 * (th - s) * da
    z = c * z0 + s * inv_n * s0
    pos = _matTvec(R, [c * x - s * y, s * x + c * y, z])  # Hill axes at t -> at t_e -> ICRF
    if not velocity:
        return pos
    xd = 3.0 * n * s * x0 + c * u0 + 2.0 * s * v0
    yd = -6.0 * n * one_c * x0 - 2.0 * s * u0 + (4.0 * c - 3.0) * v0
    if drift is not None:
        yd = yd - 1.5 * n * one_c * da
    zd = -n * s * z0 + c * s0
    q0, q1 = xd - n * y, yd + n * x  # inertial velocity in the Hill axes at t
    vel = _matTvec(R, [c * q0 - s * q1, s * q0 + c * q1, zd])
    return pos, vel


def correction_vector(value, field: str) -> np.ndarray:
    """``value`` as the (6,) correction (km, km/s), or InputError naming ``field``."""
    try:
        d = np.asarray(value, dtype=float).reshape(6)
    except (TypeError, ValueError):
        raise InputError(field, value, "6 finite numbers (km, km/s)") from None
    if not np.all(np.isfinite(d)):
        raise InputError(field, value, "6 finite numbers (km, km/s)")
    return d


def phobos_state_correction(t, frame: CorrectionFrame, delta=None):
    """Correction of Phobos' Mars-centred ICRF state at TDB epochs ``t`` and its Jacobian.

    Returns ``(dx (N, 6), J (N, 6, 6))``: ``dx = J delta`` (km, km/s) and ``J = d dx / d delta``
    (the mapping is linear), the same mapping as the dynamics' (:func:`correction_position`).
    ``frame``: a :class:`CorrectionFrame` or a ``PhobosGravity`` with ``ephemeris_parameters``
    (its frame and, if ``delta`` is None, its current correction)."""
    if not isinstance(frame, CorrectionFrame):
        force = frame
        frame = getattr(force, "ephemeris_frame", None)
        if not isinstance(frame, CorrectionFrame):
            raise InputError("phobos_state_correction.frame", force,
                             "a CorrectionFrame or a PhobosGravity with ephemeris_parameters=True")
        if delta is None:
            delta = force.ephemeris_correction
    d = correction_vector(np.zeros(6) if delta is None else delta, "phobos_state_correction.delta")
    tt = np.atleast_1d(np.asarray(t, dtype=float)).reshape(-1)
    if not np.all(np.isfinite(tt)):
        raise InputError("phobos_state_correction.t", tt[~np.isfinite(tt)][:3].tolist(),
                         "finite TDB seconds past J2000")
    tau = tt - frame.epoch
    J = np.empty((tt.size, 6, 6))
    for k in range(6):
        e = [0.0] * 6
        e[k] = 1.0
        pos, vel = correction_position(tau, frame.n, frame.R, e, NP, velocity=True, drift=frame.drift)
        J[:, :3, k] = np.stack([np.broadcast_to(p, tau.shape) for p in pos], axis=1)
        J[:, 3:, k] = np.stack([np.broadcast_to(p, tau.shape) for p in vel], axis=1)
    return J @ d, J


__all__ = ["CorrectionFrame", "correction_frame", "correction_position", "phobos_state_correction",
           "mean_motion", "DELTA_NAMES", "FRAME_NAMES", "DRIFT_NAMES", "EPOCH_NAME", "RATE_NAME", "FIXED_MARK"]
