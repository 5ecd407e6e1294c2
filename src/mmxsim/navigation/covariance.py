"""Covariance tools: mapping with the state transition matrix, RTN and Phobos Hill frames, per-axis
sigmas, and the normalised estimation error squared (NEES) with its chi-square band.

Model
-----
* Mapping: ``P(t) = Phi(t, t0) P(t0) Phi(t, t0)^T`` (linear error propagation; Tapley, Schutz &
  Born 2004, *Statistical Orbit Determination*, §4.4), no process noise.
* RTN (radial, transverse/along-track, normal) of a state (r, v): R = r/|r|, N = r x v/|r x v|,
  T = N x R (Vallado 2013, *Fundamentals of Astrodynamics and Applications*, §3.3, "RSW").
  By default the velocity block is only rotated (inertial velocity expressed on RTN axes); with
  ``rotating=True`` the velocity is the one seen in the rotating frame, v' = C v - w x (C r), whose
  Jacobian adds the block -[w]x C; w = |r x v| / |r|^2 along N (the frame's rate for a Keplerian
  orbit; the small in-plane rotation from out-of-plane perturbing accelerations is neglected).
* Phobos Hill frame: the RTN frame of Phobos' orbit about Mars, centred on Phobos, applied to the
  spacecraft's state relative to Phobos (rotating by default, as used for quasi-satellite orbits).
* NEES: e^T P^-1 e for each of N runs of dimension n; if the covariance is consistent the sum over
  runs is chi-square with N n degrees of freedom, so the mean lies in
  [chi2.ppf(a/2, N n), chi2.ppf(1 - a/2, N n)] / N with probability 1 - a (Bar-Shalom, Li &
  Kirubarajan 2001, *Estimation with Applications to Tracking and Navigation*, §5.4).

All functions are vectorised over leading axes. Units: km, km/s, s.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

__all__ = [
    "map_covariance",
    "rtn_rotation",
    "state_jacobian_to_frame",
    "covariance_rtn",
    "covariance_hill",
    "state_to_hill",
    "sigma_per_axis",
    "nees",
    "nees_band",
    "chi2_ppf",
]


def _state(x, field: str) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.shape[-1] != 6:
        raise InputError(field, x.shape, "states of shape (..., 6): position km, velocity km/s")
    return x


def map_covariance(P, phi) -> np.ndarray:
    """``Phi P Phi^T``; ``phi`` (n, n) or (K, n, n), ``P`` (n, n) or (K, n, n)."""
    P = np.asarray(P, dtype=float)
    phi = np.asarray(phi, dtype=float)
    if P.shape[-1] != P.shape[-2] or phi.shape[-1] != P.shape[-1]:
        raise InputError("phi", phi.shape, f"matrices (..., n, n) with n = {P.shape[-1]} matching P")
    return phi @ P @ np.swapaxes(phi, -1, -2)


def rtn_rotation(state) -> np.ndarray:
    """Rotation matrix (..., 3, 3) whose rows are the R, T, N unit vectors of ``state`` (..., 6)."""
    x = _state(state, "state")
    r, v = x[..., :3], x[..., 3:]
    h = np.cross(r, v)
    rn = np.linalg.norm(r, axis=-1, keepdims=True)
    hn = np.linalg.norm(h, axis=-1, keepdims=True)
    if np.any(rn == 0) or np.any(hn == 0):
        raise InputError("state", "zero position or angular momentum", "a state with r x v != 0")
    R = r / rn
    N = h / hn
    T = np.cross(N, R)
    return np.stack([R, T, N], axis=-2)


def _skew(w) -> np.ndarray:
    z = np.zeros(w.shape[:-1])
    return np.stack([
        np.stack([z, -w[..., 2], w[..., 1]], -1),
        np.stack([w[..., 2], z, -w[..., 0]], -1),
        np.stack([-w[..., 1], w[..., 0], z], -1),
    ], -2)


def state_jacobian_to_frame(frame_state, rotating: bool = False) -> np.ndarray:
    """Jacobian (..., 6, 6) from inertial (r, v) to the RTN frame of ``frame_state``.

    Without ``rotating`` it is block-diagonal (C, C); with it the velocity block row is
    (-[w]x C, C), w the frame's angular velocity in frame axes (|r x v| / |r|^2 along N).
    """
    x = _state(frame_state, "frame_state")
    C = rtn_rotation(x)
    J = np.zeros(x.shape[:-1] + (6, 6))
    J[..., :3, :3] = C
    J[..., 3:, 3:] = C
    if rotating:
        r, v = x[..., :3], x[..., 3:]
        rate = np.linalg.norm(np.cross(r, v), axis=-1) / np.einsum("...i,...i->...", r, r)
        w = np.zeros(x.shape[:-1] + (3,))
        w[..., 2] = rate
        J[..., 3:, :3] = -_skew(w) @ C
    return J


def covariance_rtn(P, state, rotating: bool = False) -> np.ndarray:
    """A (..., 6, 6) position-velocity covariance (or (..., 3, 3) position only) in the RTN frame
    of ``state`` (the spacecraft's own state about the central body)."""
    P = np.asarray(P, dtype=float)
    J = state_jacobian_to_frame(state, rotating)
    if P.shape[-2:] == (3, 3):
        J = J[..., :3, :3]
    elif P.shape[-2:] != (6, 6):
        raise InputError("P", P.shape, "covariances of shape (..., 6, 6) or (..., 3, 3)")
    return J @ P @ np.swapaxes(J, -1, -2)


def covariance_hill(P, phobos_state, rotating: bool = True) -> np.ndarray:
    """The spacecraft's (..., 6, 6) covariance in the Phobos Hill frame (RTN of Phobos' orbit about
    Mars, ``phobos_state`` relative to Mars). Phobos' state is taken as exact, so the covariance of
    the spacecraft's state relative to Phobos is that of its inertial state."""
    return covariance_rtn(P, phobos_state, rotating)


def state_to_hill(sc_state, phobos_state, rotating: bool = True) -> np.ndarray:
    """The spacecraft's state relative to Phobos in Phobos' Hill frame (both states about Mars)."""
    sc = _state(sc_state, "sc_state")
    ph = _state(phobos_state, "phobos_state")
    J = state_jacobian_to_frame(ph, rotating)
    return np.einsum("...ij,...j->...i", J, sc - ph)


def sigma_per_axis(P) -> np.ndarray:
    """Square roots of the diagonal, (..., n)."""
    P = np.asarray(P, dtype=float)
    d = np.diagonal(P, axis1=-2, axis2=-1)
    if np.any(d < 0):
        raise InputError("P", "negative variance", "covariances with a non-negative diagonal")
    return np.sqrt(d)


def nees(error, P) -> np.ndarray:
    """Normalised estimation error squared e^T P^-1 e for errors (..., n) and covariances (..., n, n)."""
    e = np.asarray(error, dtype=float)
    P = np.asarray(P, dtype=float)
    if P.shape[-2:] != (e.shape[-1], e.shape[-1]):
        raise InputError("P", P.shape, f"covariances (..., {e.shape[-1]}, {e.shape[-1]}) matching the errors")
    try:
        L = np.linalg.cholesky(P)
    except np.linalg.LinAlgError:
        raise InputError("P", "not positive definite", "positive-definite covariances") from None
    y = np.linalg.solve(L, e[..., None])[..., 0]
    return np.einsum("...i,...i->...", y, y)


def nees_band(dimension: int, runs: int, probability: float = 0.95) -> tuple[float, float]:
    """Two-sided ``probability`` band of the mean NEES over ``runs`` runs of dimension ``dimension``."""
    if dimension < 1 or runs < 1:
        raise InputError("dimension, runs", (dimension, runs), "positive integers")
    if not 0 < probability < 1:
        raise InputError("probability", probability, "a number in (0, 1)")
    dof = dimension * runs
    a = 1.0 - probability
    return float(chi2_ppf(a / 2, dof) / runs), float(chi2_ppf(1 - a / 2, dof) / runs)


def chi2_ppf(p: float, dof: float) -> float:
    """The ``p`` quantile of chi-square with ``dof`` degrees of freedom, ``p`` in (0, 1): ``2 P^-1(dof/2, p)``
    (the inverse regularised lower incomplete gamma function), the expression ``scipy.stats.chi2.ppf``
    evaluates (the same numbers), without importing scipy.stats (0.3-1 CPU-s in a fresh process)."""
    if not 0.0 < p < 1.0:
        raise InputError("p", p, "a probability in (0, 1)")
    if not dof > 0:
        raise InputError("dof", dof, "degrees of freedom > 0")
    from scipy.special import gammaincinv

    return float(2.0 * gammaincinv(dof / 2.0, p))
