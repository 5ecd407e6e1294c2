"""Unit quaternions (w, x, y, z) for attitudes, written once (layer 1).

Convention: scalar first; ``q`` rotates body vectors into the reference frame (``R(q) v_body``),
products compose as ``p * q`` (first ``q``, then ``p``). Two kinds of functions:

* array functions for set-up and results (NumPy, broadcasting over leading axes):
  :func:`from_rotvec`, :func:`from_euler_zyx`, :func:`multiply`, :func:`to_matrix`;
* scalar kernels for the compiled integrators (numba through :mod:`mmxsim._accel`; plain Python
  without numba): :func:`matrix_into`, :func:`product`, :func:`rate`, :func:`normalize_at`.

Used by the rover (:mod:`mmxsim.surface.rover`) and the touchdown model
(:mod:`mmxsim.surface.touchdown`).
"""

from __future__ import annotations

import math

import numpy as np

from .._accel import jit

__all__ = ["from_euler_zyx", "from_rotvec", "matrix_into", "multiply", "normalize_at", "product", "rate",
           "to_matrix"]


# ---------------------------------------------------------------------------------------------
# Scalar kernels
def matrix_into(q, R):
    """R (3, 3) = rotation matrix of the unit quaternion q (4,)."""
    w, x, y, z = q[0], q[1], q[2], q[3]
    R[0, 0] = 1.0 - 2.0 * (y * y + z * z)
    R[0, 1] = 2.0 * (x * y - w * z)
    R[0, 2] = 2.0 * (x * z + w * y)
    R[1, 0] = 2.0 * (x * y + w * z)
    R[1, 1] = 1.0 - 2.0 * (x * x + z * z)
    R[1, 2] = 2.0 * (y * z - w * x)
    R[2, 0] = 2.0 * (x * z - w * y)
    R[2, 1] = 2.0 * (y * z + w * x)
    R[2, 2] = 1.0 - 2.0 * (x * x + y * y)


def product(p0, p1, p2, p3, q0, q1, q2, q3):
    """Components of the Hamilton product p * q."""
    return (p0 * q0 - p1 * q1 - p2 * q2 - p3 * q3, p0 * q1 + p1 * q0 + p2 * q3 - p3 * q2,
            p0 * q2 - p1 * q3 + p2 * q0 + p3 * q1, p0 * q3 + p1 * q2 - p2 * q1 + p3 * q0)


def rate(qw, qx, qy, qz, wx, wy, wz):
    """dq/dt = q * (0, w) / 2 for the angular velocity w in body axes (rad/s)."""
    return (-0.5 * (qx * wx + qy * wy + qz * wz), 0.5 * (qw * wx + qy * wz - qz * wy),
            0.5 * (qw * wy + qz * wx - qx * wz), 0.5 * (qw * wz + qx * wy - qy * wx))


def normalize_at(s, k):
    """Normalise the quaternion stored in s[k:k + 4] in place."""
    qn = math.sqrt(s[k] * s[k] + s[k + 1] * s[k + 1] + s[k + 2] * s[k + 2] + s[k + 3] * s[k + 3])
    for i in range(k, k + 4):
        s[i] /= qn


matrix_into = jit(matrix_into)
product = jit(product)
rate = jit(rate)
normalize_at = jit(normalize_at)


# ---------------------------------------------------------------------------------------------
# Array functions
def from_rotvec(r) -> np.ndarray:
    """Quaternion of the rotation vector r (3,) (axis times angle, rad)."""
    r = np.asarray(r, float)
    a = np.linalg.norm(r)
    if a == 0:
        return np.array([1.0, 0.0, 0.0, 0.0])
    return np.concatenate([[math.cos(a / 2)], math.sin(a / 2) * r / a])


def from_euler_zyx(roll_deg, pitch_deg, yaw_deg) -> np.ndarray:
    """Quaternion (w, x, y, z), body -> reference, of z-y-x Euler angles (deg); arrays broadcast to (..., 4)."""
    r, p, y = (np.radians(np.asarray(v, float)) / 2 for v in (roll_deg, pitch_deg, yaw_deg))
    cr, sr, cp, sp, cy, sy = np.cos(r), np.sin(r), np.cos(p), np.sin(p), np.cos(y), np.sin(y)
    return np.stack([cr * cp * cy + sr * sp * sy, sr * cp * cy - cr * sp * sy, cr * sp * cy + sr * cp * sy,
                     cr * cp * sy - sr * sp * cy], axis=-1)


def multiply(p, q) -> np.ndarray:
    """Hamilton product p * q of two quaternions (4,)."""
    return np.array(product(*(float(v) for v in p), *(float(v) for v in q)))


def to_matrix(q) -> np.ndarray:
    """Rotation matrix of a unit quaternion (4,), or (n, 3, 3) for (n, 4)."""
    q = np.asarray(q, float)
    q0, q1, q2, q3 = np.moveaxis(q, -1, 0)
    R = np.stack([1 - 2 * (q2 * q2 + q3 * q3), 2 * (q1 * q2 - q0 * q3), 2 * (q1 * q3 + q0 * q2),
                  2 * (q1 * q2 + q0 * q3), 1 - 2 * (q1 * q1 + q3 * q3), 2 * (q2 * q3 - q0 * q1),
                  2 * (q1 * q3 - q0 * q2), 2 * (q2 * q3 + q0 * q1), 1 - 2 * (q1 * q1 + q2 * q2)], axis=-1)
    return R.reshape(q.shape[:-1] + (3, 3))
