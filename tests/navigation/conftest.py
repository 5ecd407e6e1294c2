"""Test problems for the generic estimators (written here, independent of any orbit model).

* ``LinearProblem``: 3D constant-velocity motion r(t) = r0 + v0 (t - t0) plus a constant range bias
  (n = 7); rows are range-like projections u . r(t) + b and range-rate-like projections u . v, with
  an optional consider parameter (an unmodelled range-rate bias). Phi(t, t0) is analytic.
* ``RangeProblem``: the same motion observed by ranges |r(t) - s_j| from four fixed sites
  (nonlinear; Gauss-Newton must iterate).

``orekit``: the test helper module ``orekit_support.py`` (Orekit via orekit-jpype as an independent
orbit-determination reference) with the Java VM started once per session and its leap-second table
registered from a temporary folder. Skips cleanly where orekit-jpype or a Java VM is missing, so the
default suite passes on machines without Java (orekit-jpype is an optional test dependency).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from mmxsim.navigation.estimation import Linearization
from mmxsim.navigation.sequential import white_noise_acceleration

SIG_RANGE = 1e-3  # km (1 m)
SIG_RATE = 1e-7  # km/s (0.1 mm/s)


def _phi_cv(t, t0, n):
    t = np.atleast_1d(np.asarray(t, dtype=float))
    phi = np.broadcast_to(np.eye(n), (t.size, n, n)).copy()
    for i in range(3):
        phi[:, i, 3 + i] = t - t0
    return phi


class LinearProblem:
    """Linear test problem; truth drawn by the caller; noise from ``rng``."""

    names = ("x", "y", "z", "vx", "vy", "vz", "bias")

    def __init__(self, rng, n_epochs=60, span=6000.0, p_true=None, c_true=0.0, consider=False,
                 q=0.0, t0=0.0, outliers=(), outlier_size=20.0, noise=True):
        self.t0 = t0
        self.q = q
        self.p0 = np.array([7000.0, -1200.0, 300.0, 1.0, 7.4, -0.3, 0.0])
        self.P0 = np.diag([10.0, 10.0, 10.0, 1e-3, 1e-3, 1e-3, 1e-2]) ** 2
        self.consider_names = ("rate_bias",) if consider else ()
        self.Pcc = np.array([[(10 * SIG_RATE) ** 2]]) if consider else None
        if p_true is None:
            p_true = rng.multivariate_normal(self.p0, self.P0)
        self.p_true = p_true
        self.c_true = c_true
        # four directions, not coplanar as points: position and range bias separable without a priori
        u = np.array([[1.0, 0.2, 0.1], [0.1, 1.0, -0.3], [0.3, -0.2, 1.0], [-0.6, -0.7, -0.5]])
        u /= np.linalg.norm(u, axis=1)[:, None]
        te = t0 + np.linspace(0.0, span, n_epochs)
        k = np.arange(n_epochs) % 4
        H = np.zeros((2 * n_epochs, 7))
        H[0::2, 0:3] = u[k]
        H[0::2, 3:6] = u[k] * (te - t0)[:, None]
        H[0::2, 6] = 1.0
        H[1::2, 3:6] = u[k]
        self.H = H
        self.C = np.zeros((2 * n_epochs, 1))
        self.C[1::2, 0] = 1.0
        self.t = np.repeat(te, 2)
        self.sigma = np.tile([SIG_RANGE, SIG_RATE], n_epochs)
        self.labels = np.tile(["range", "rate"], n_epochs)
        self.noise = rng.standard_normal(H.shape[0]) * self.sigma if noise else np.zeros(H.shape[0])
        self.y = H @ p_true + self.C[:, 0] * c_true + self.noise
        self.outliers = np.asarray(outliers, dtype=int)
        self.y[self.outliers] += outlier_size * self.sigma[self.outliers]

    def linearize(self, p):
        return Linearization(residual=self.y - self.H @ p, sigma=self.sigma, H=self.H, t=self.t,
                             C=self.C if self.consider_names else None, labels=self.labels)

    def stm(self, t):
        return _phi_cv(t, self.t0, 7)

    def reference(self, t):
        return np.einsum("kij,j->ki", self.stm(t), self.p0)

    def process_noise(self, t_prev, t_next):
        return white_noise_acceleration(self.q, t_next - t_prev, 7, slice(0, 3), slice(3, 6))


class RangeProblem:
    """Ranges from four fixed sites to a target in constant-velocity motion (nonlinear)."""

    names = ("x", "y", "z", "vx", "vy", "vz")
    consider_names = ()
    Pcc = None

    def __init__(self, rng, prior=True):
        self.t0 = 0.0
        self.p_true = np.array([7000.0, -1200.0, 300.0, 1.0, 7.4, -0.3])
        self.p0 = self.p_true + np.array([80.0, -60.0, 40.0, 0.02, -0.01, 0.015])
        self.P0 = np.diag([100.0] * 3 + [0.05] * 3) ** 2 if prior else None
        self.sites = np.array([[0.0, 0.0, 0.0], [12000.0, 0.0, 0.0], [0.0, 15000.0, 2000.0],
                               [3000.0, 3000.0, 14000.0]])
        te = np.linspace(0.0, 3600.0, 61)
        self.t = np.repeat(te, 4)
        self.site_idx = np.tile(np.arange(4), te.size)
        self.sigma = np.full(self.t.size, SIG_RANGE)
        self.y = self.model(self.p_true) + rng.standard_normal(self.t.size) * self.sigma

    def model(self, p):
        pos = p[:3] + np.outer(self.t - self.t0, p[3:])
        return np.linalg.norm(pos - self.sites[self.site_idx], axis=1)

    def linearize(self, p):
        pos = p[:3] + np.outer(self.t - self.t0, p[3:])
        d = pos - self.sites[self.site_idx]
        rho = np.linalg.norm(d, axis=1)
        u = d / rho[:, None]
        H = np.hstack([u, u * (self.t - self.t0)[:, None]])
        return Linearization(residual=self.y - rho, sigma=self.sigma, H=H, t=self.t)


@pytest.fixture
def linear_problem():
    return LinearProblem


@pytest.fixture
def range_problem():
    return RangeProblem


def load_orekit_support():
    """The module ``tests/navigation/orekit_support.py`` (imported once, by path)."""
    name = "mmxsim_tests_orekit_support"
    if name not in sys.modules:
        path = Path(__file__).resolve().parent / "orekit_support.py"
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


@pytest.fixture(scope="session")
def orekit(tmp_path_factory):
    """orekit_support with Orekit started (JVM + tai-utc.dat from the packaged naif0012.tls)."""
    mod = load_orekit_support()
    reason = mod.unavailable_reason()
    if reason:
        pytest.skip(reason)
    mod.start(tmp_path_factory.mktemp("orekit-data"))
    return mod
