"""Square-root information filter and smoother (mmxsim.navigation.sequential) against the batch
and against a textbook covariance-form Kalman filter / RTS smoother written here."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad_vec

from mmxsim.errors import InputError
from mmxsim.navigation import covariance as cov
from mmxsim.navigation.estimation import BatchSettings, batch_least_squares
from mmxsim.navigation.sequential import gauss_markov, square_root_information_filter, white_noise_acceleration


def _rel(A, B):
    """Largest covariance difference relative to sqrt(Bii Bjj)."""
    d = np.sqrt(np.abs(np.diagonal(B, axis1=-2, axis2=-1)))
    return float(np.max(np.abs(A - B) / (d[..., :, None] * d[..., None, :])))


def test_filter_equals_batch_without_process_noise(linear_problem):
    """Linear case, no process noise, same a priori (seed 21). Reference: the batch estimate and
    covariance mapped with Phi. Tolerance (issue 16): final estimate within 1e-3 sigma, covariance
    within 1e-6 relative; the smoothed estimate at t0 equals the batch (1e-3 sigma, 1e-6), and the
    smoothed covariance at every epoch equals the batch mapped there (1e-6). Measured: 1e-8 sigma
    and 1e-12 relative."""
    pr = linear_problem(np.random.default_rng(21))
    bat = batch_least_squares(pr, BatchSettings(n_sigma=None))
    f = square_root_information_filter(pr, t_final=7200.0)
    assert f.epochs[0] == pr.t0 and f.epochs[-1] == 7200.0 and f.epochs.size == 60 + 2
    phi = pr.stm(f.epochs)
    dev = phi @ (bat.estimate - pr.p0)
    Pm = cov.map_covariance(bat.covariance, phi)
    sig_final = np.sqrt(np.diag(Pm[-1]))
    np.testing.assert_array_less(np.abs(f.final_deviation - dev[-1]) / sig_final, 1e-3)
    assert _rel(f.final_covariance, Pm[-1]) < 1e-6
    np.testing.assert_array_less(np.abs(f.smoothed_p0 - bat.estimate) / bat.sigma, 1e-3)
    assert _rel(f.smoothed_covariance[0], bat.covariance) < 1e-6
    assert _rel(f.smoothed_covariance, Pm) < 1e-6
    np.testing.assert_array_less(np.abs(f.smoothed - dev) / np.sqrt(np.diagonal(Pm, 0, 1, 2)), 1e-3)
    # estimates on the reference trajectory: the batch state mapped to the last epoch
    np.testing.assert_allclose(f.filtered_estimate[-1], phi[-1] @ bat.estimate, rtol=0, atol=1e-6)
    # post-fit residuals of the filter at the last epoch are those of the batch there
    last = pr.t == pr.t.max()
    np.testing.assert_array_less(np.abs(f.postfit_residuals[last] - bat.postfit_residuals[last]) / pr.sigma[last], 1e-3)


def test_process_noise_changes_the_answer(linear_problem):
    """Negative control for the test above: with process noise q = 1e-12 km^2/s^3 the final
    estimate departs from the batch by more than 1e-3 sigma and the final covariance is larger."""
    pr = linear_problem(np.random.default_rng(21), q=1e-12)
    bat = batch_least_squares(pr, BatchSettings(n_sigma=None))
    f = square_root_information_filter(pr)
    phi = pr.stm(f.epochs[-1])[0]
    Pm = phi @ bat.covariance @ phi.T
    d = np.abs(f.final_deviation - phi @ (bat.estimate - pr.p0)) / np.sqrt(np.diag(Pm))
    assert d.max() > 1e-3
    assert np.all(np.diag(f.final_covariance)[:6] > np.diag(Pm)[:6])


def _kalman_rts(pr):
    """Textbook linearised Kalman filter (Joseph-form update) and Rauch-Tung-Striebel smoother in
    covariance form (Tapley, Schutz & Born 2004, §4.7 and §4.15), epoch groups in time order."""
    n = 7
    t_nodes = np.concatenate([[pr.t0], np.unique(pr.t)])
    phis = pr.stm(t_nodes)
    x = pr.p0 - pr.p0
    P = pr.P0.copy()
    xs, Ps, xp, Pp, F = [x], [P], [None], [None], [None]
    for k in range(1, t_nodes.size):
        Fk = phis[k] @ np.linalg.inv(phis[k - 1])
        Q = pr.process_noise(t_nodes[k - 1], t_nodes[k])
        x = Fk @ x
        P = Fk @ P @ Fk.T + Q
        xp.append(x), Pp.append(P), F.append(Fk)
        rows = pr.t == t_nodes[k]
        H = pr.H[rows] @ np.linalg.inv(phis[k])
        Rm = np.diag(pr.sigma[rows] ** 2)
        r = pr.y[rows] - pr.H[rows] @ pr.p0
        K = P @ H.T @ np.linalg.inv(H @ P @ H.T + Rm)
        x = x + K @ (r - H @ x)
        IKH = np.eye(n) - K @ H
        P = IKH @ P @ IKH.T + K @ Rm @ K.T
        xs.append(x), Ps.append(P)
    sx, sP = [xs[-1]], [Ps[-1]]
    for k in range(t_nodes.size - 1, 0, -1):
        A = Ps[k - 1] @ F[k].T @ np.linalg.inv(Pp[k])
        sx.insert(0, xs[k - 1] + A @ (sx[0] - xp[k]))
        sP.insert(0, Ps[k - 1] + A @ (sP[0] - Pp[k]) @ A.T)
    return np.array(xs), np.array(Ps), np.array(sx), np.array(sP)


def test_filter_and_smoother_with_process_noise_match_kalman_rts(linear_problem):
    """With white-noise accelerations q = 1e-14 km^2/s^3 (noise 30x larger than the default, weak
    a priori, so that the covariance-form reference keeps its digits; seed 4). Reference: the
    textbook Kalman filter and RTS smoother above. Tolerance: filtered and smoothed deviations
    within 1e-5 sigma, covariances within 1e-6 relative, at every epoch."""
    pr = linear_problem(np.random.default_rng(4), q=1e-14)
    pr.sigma = pr.sigma * 30
    pr.y = pr.H @ pr.p_true + pr.noise * 30
    pr.P0 = pr.P0 / 100
    f = square_root_information_filter(pr)
    xs, Ps, sx, sP = _kalman_rts(pr)
    assert _rel(f.filtered_covariance, Ps) < 1e-6
    assert _rel(f.smoothed_covariance, sP) < 1e-6
    sig = np.sqrt(np.diagonal(Ps, 0, 1, 2))
    np.testing.assert_array_less(np.abs(f.filtered - xs) / sig, 1e-5)
    ssig = np.sqrt(np.diagonal(sP, 0, 1, 2))
    np.testing.assert_array_less(np.abs(f.smoothed - sx) / ssig, 1e-5)
    # the smoother is never less certain than the filter (diagonal)
    assert np.all(np.diagonal(f.smoothed_covariance, 0, 1, 2) <= np.diagonal(f.filtered_covariance, 0, 1, 2) * (1 + 1e-9))


def test_gauss_markov_bias_matches_kalman_rts(linear_problem):
    """The range bias as a first-order Gauss-Markov parameter (tau = 2000 s, steady-state sigma
    0.01 km) on top of white-noise accelerations: Phi carries exp(-(t - t0)/tau) for the bias, the
    process noise gauss_markov's q. Reference: the textbook Kalman filter / RTS smoother above.
    Tolerance as above (1e-5 sigma, 1e-6 relative)."""
    tau, s_b = 2000.0, 0.01
    pr = linear_problem(np.random.default_rng(6), q=1e-14)
    pr.sigma = pr.sigma * 30
    pr.P0 = pr.P0 / 100
    pr.H = pr.H.copy()
    pr.H[:, 6] *= np.exp(-(pr.t - pr.t0) / tau)
    pr.y = pr.H @ pr.p_true + pr.noise * 30
    base_stm, base_q = pr.stm, pr.process_noise

    def stm(t):
        phi = base_stm(t)
        phi[:, 6, 6] = np.exp(-(np.asarray(t) - pr.t0) / tau)
        return phi

    def process_noise(a, b):
        Q = base_q(a, b)
        Q[6, 6] = gauss_markov(s_b, tau, b - a)[1]
        return Q

    pr.stm, pr.process_noise = stm, process_noise
    f = square_root_information_filter(pr)
    xs, Ps, sx, sP = _kalman_rts(pr)
    assert _rel(f.filtered_covariance, Ps) < 1e-6
    assert _rel(f.smoothed_covariance, sP) < 1e-6
    np.testing.assert_array_less(np.abs(f.filtered - xs) / np.sqrt(np.diagonal(Ps, 0, 1, 2)), 1e-5)
    np.testing.assert_array_less(np.abs(f.smoothed - sx) / np.sqrt(np.diagonal(sP, 0, 1, 2)), 1e-5)
    # the bias variance relaxes towards the steady state between passes: never far above s_b^2
    assert np.all(np.diagonal(f.filtered_covariance, 0, 1, 2)[:, 6] < 1.01 * max(s_b ** 2, pr.P0[6, 6]))


def test_white_noise_acceleration_matches_the_integral():
    """Reference: Q = int_0^dt Phi(s) B q B^T Phi(s)^T ds (continuous white acceleration on the
    velocity, Phi of constant-velocity motion) by scipy quad_vec. Tolerance 1e-10 relative."""
    q, dt = 2e-12, 300.0

    def integrand(s):
        phi = np.eye(6)
        phi[:3, 3:] = s * np.eye(3)
        B = np.zeros((6, 3))
        B[3:] = np.eye(3)
        return phi @ B @ (q * np.eye(3)) @ B.T @ phi.T

    ref, _ = quad_vec(integrand, 0.0, dt, epsrel=1e-13)
    Q = white_noise_acceleration(q, dt, 6, slice(0, 3), slice(3, 6))
    np.testing.assert_allclose(Q, ref, rtol=1e-10, atol=0)
    with pytest.raises(InputError, match="q"):
        white_noise_acceleration(-1.0, dt, 6, slice(0, 3), slice(3, 6))


def test_gauss_markov_is_stationary():
    """A first-order Gauss-Markov step keeps the steady-state variance: phi^2 s^2 + q = s^2, with
    phi = exp(-dt/tau) (Tapley et al. 2004 §4.9); checked on 20,000 simulated steps (seed 8):
    sample std within 3 % of s and lag-1 correlation within 0.02 of phi."""
    s, tau, dt = 1e-9, 3600.0, 600.0
    phi, qd = gauss_markov(s, tau, dt)
    assert phi == pytest.approx(np.exp(-dt / tau), rel=1e-15)
    rng = np.random.default_rng(8)
    x = np.empty(20_000)
    x[0] = rng.normal(0, s)
    w = rng.normal(0, np.sqrt(qd), x.size)
    for k in range(1, x.size):
        x[k] = phi * x[k - 1] + w[k]
    assert abs(x.std() / s - 1) < 0.03
    assert abs(np.corrcoef(x[:-1], x[1:])[0, 1] - phi) < 0.02


def test_filter_needs_stm_and_a_finite_a_priori(linear_problem):
    """Bad problems for the filter give InputError naming the field: no a priori, an infinite
    variance, no stm, a non-symmetric process noise, a t_final before the data."""
    pr = linear_problem(np.random.default_rng(1))
    P0 = pr.P0
    pr.P0 = None
    with pytest.raises(InputError, match="P0"):
        square_root_information_filter(pr)
    pr.P0 = P0.copy()
    pr.P0[6, 6] = np.inf
    with pytest.raises(InputError, match="P0"):
        square_root_information_filter(pr)
    pr.P0 = P0
    with pytest.raises(InputError, match="t_final"):
        square_root_information_filter(pr, t_final=10.0)
    pr.process_noise = lambda a, b: np.triu(np.ones((7, 7)))
    with pytest.raises(InputError, match="process_noise"):
        square_root_information_filter(pr)

    prior = P0

    class NoStm:
        names, p0, P0, consider_names, Pcc, t0 = pr.names, pr.p0, prior, (), None, 0.0
        linearize = pr.linearize

    with pytest.raises(InputError, match="stm"):
        square_root_information_filter(NoStm())


def test_filter_monte_carlo_consistency(linear_problem):
    """Monte Carlo, 200 data sets (seed 31), no process noise: the mean NEES of the filter's final
    deviation against its final covariance lies in the 95 % chi-square band (chi2(1400)/200)."""
    rng = np.random.default_rng(31)
    e2 = []
    for _ in range(200):
        pr = linear_problem(rng, n_epochs=20)
        f = square_root_information_filter(pr, smooth=False)
        truth = pr.stm(f.epochs[-1])[0] @ (pr.p_true - pr.p0)
        e2.append(cov.nees(f.final_deviation - truth, f.final_covariance))
    lo, hi = cov.nees_band(7, 200)
    assert lo < np.mean(e2) < hi, (lo, np.mean(e2), hi)
