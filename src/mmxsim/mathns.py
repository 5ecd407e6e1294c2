"""Math namespaces so each model is written once.

A model function takes ``m`` and calls ``m.sin``, ``m.sqrt``... With
:data:`NP` it evaluates on floats/NumPy arrays (used by the SciPy baseline and
tests); with :func:`heyoka_ns` it builds heyoka expressions that
the Taylor integrator compiles. The same source therefore defines both.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np


def _kepE_np(e, M):
    """Eccentric anomaly from Kepler's equation (Newton, vectorised, |err| < 1e-15)."""
    M = np.asarray(M, dtype=float)
    e = np.asarray(e, dtype=float)
    Mr = np.remainder(M + np.pi, 2 * np.pi) - np.pi
    E = Mr + e * np.sin(Mr)
    for _ in range(8):
        f = E - e * np.sin(E) - Mr
        E = E - f / (1.0 - e * np.cos(E))
    return E + (M - Mr)


def _select_np(cond, a, b):
    return np.where(cond, a, b)


def _erf_np(x):
    from scipy.special import erf

    return erf(x)


NP = SimpleNamespace(
    name="numpy",
    sin=np.sin, cos=np.cos, sqrt=np.sqrt, exp=np.exp, tanh=np.tanh, erf=_erf_np,
    asin=np.arcsin, acos=np.arccos, atan2=np.arctan2, kepE=_kepE_np,
    pi=math.pi, is_symbolic=False,
)


def heyoka_ns():
    """The heyoka namespace (imports heyoka lazily)."""
    import heyoka as hy

    return SimpleNamespace(
        name="heyoka",
        sin=hy.sin, cos=hy.cos, sqrt=hy.sqrt, exp=hy.exp, tanh=hy.tanh, erf=hy.erf,
        asin=hy.asin, acos=hy.acos, atan2=hy.atan2, kepE=hy.kepE,
        pi=math.pi, is_symbolic=True, hy=hy,
    )


def dot(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def sub(a, b):
    return [a[0] - b[0], a[1] - b[1], a[2] - b[2]]


def add(a, b):
    return [a[0] + b[0], a[1] + b[1], a[2] + b[2]]


def scale(k, a):
    return [k * a[0], k * a[1], k * a[2]]


def cross(a, b):
    return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]


def matvec(M, v):
    """``M v`` for a 3x3 nested list."""
    return [M[i][0] * v[0] + M[i][1] * v[1] + M[i][2] * v[2] for i in range(3)]


def matTvec(M, v):
    """``M^T v`` for a 3x3 nested list."""
    return [M[0][i] * v[0] + M[1][i] * v[1] + M[2][i] * v[2] for i in range(3)]
