"""Impulsive transfers between QSOs (mmxsim.orbits.transfers).

Default tests use the point-mass (degree 0) and degree-2 Phobos fields (cheap integrators);
the campaign and the planar <-> 3D optimisation are marked slow.
"""

import math
from dataclasses import replace

import numpy as np
import pytest

from mmxsim.bodies import PHOBOS_MEAN_MOTION
from mmxsim.errors import InputError
from mmxsim.mathns import NP
from mmxsim.orbits import qso as Q
from mmxsim.orbits import transfers as T

DAY = 86400.0
n = PHOBOS_MEAN_MOTION


@pytest.fixture(scope="module")
def fam2():
    return {m.size_km: m for m in Q.qso_family(2, sizes_km=[100, 50, 30, 20]).members}


@pytest.fixture(scope="module")
def tr_50_30(fam2):
    # 3.3 revolutions, along-track point -> opposite along-track point (converges in ~6 Newton steps)
    return T.two_impulse_transfer(fam2[50.0], fam2[30.0], 1.0 * DAY, 0.25, 0.75)


def test_transfer_lands_on_target_independent_integrator(tr_50_30, fam2):
    """SciPy DOP853 (rtol 1e-13) from (r1, v1 transfer) lands on the arrival point to < 1 m; the
    impulses close the velocity bookkeeping to 1e-9 km/s against the QSO states."""
    from scipy.integrate import solve_ivp

    tr = tr_50_30
    assert tr.residual_m < 1e-3
    X0 = np.concatenate([tr.trajectory[0, 1:4], tr.trajectory[0, 4:] / n])
    sol = solve_ivp(lambda t, X: Q.hill_rhs(list(X), 2, NP), (0.0, tr.tof_s * n), X0,
                    method="DOP853", rtol=1e-13, atol=1e-12)
    r2 = T.qso_state(fam2[30.0], 0.75)
    assert np.linalg.norm(sol.y[:3, -1] - r2[:3]) * 1e3 < 1.0
    s1 = T.qso_state(fam2[50.0], 0.25)
    np.testing.assert_allclose(s1[:3], tr.r1, atol=1e-12)
    np.testing.assert_allclose(s1[3:] + tr.dv1, tr.trajectory[0, 4:], atol=1e-12)
    np.testing.assert_allclose(sol.y[3:, -1] * n + tr.dv2, r2[3:], atol=1e-9)
    assert tr.dv_total_m_s == pytest.approx((np.linalg.norm(tr.dv1) + np.linalg.norm(tr.dv2)) * 1e3)
    assert tr.min_surface_distance_km > 0.0


def test_stm_jacobian_matches_finite_differences():
    """d r(tof)/d v1 from the variational equations vs central differences (h = 1e-7 km/s): 1e-6 relative."""
    r1 = np.array([-30.0, 5.0, 1.0])
    v1 = np.array([0.001, 0.012, 0.0005])
    tof = 0.6 * DAY
    rf, J = T.transfer_jacobian(r1, v1, tof, degree=2)
    fd = np.empty((3, 3))
    for j in range(3):
        e = np.zeros(3)
        e[j] = 1e-7
        fd[:, j] = (T.transfer_jacobian(r1, v1 + e, tof, 2)[0] - T.transfer_jacobian(r1, v1 - e, tof, 2)[0]) / 2e-7
    assert np.abs(J - fd).max() / np.abs(J).max() < 1e-6


@pytest.mark.parametrize("k,p1,p2", [(1.0, 0.3, 0.3), (2.0, 0.3, 0.3), (0.25, 0.3, 0.55)])
def test_trivial_transfer_has_zero_dv(fam2, k, p1, p2):
    """Same orbit, tof = k periods, arrival phase = departure phase + k: Δv < 1 mm/s."""
    q = fam2[50.0]
    tr = T.two_impulse_transfer(q, q, k * q.period_s, p1, p2)
    assert tr.dv_total_m_s < 1e-3


def test_phase_mismatch_costs_dv(fam2):
    """Counter-check of the above: arriving 0.1 period late on the same orbit costs > 0.1 m/s."""
    q = fam2[50.0]
    tr = T.two_impulse_transfer(q, q, 0.25 * q.period_s, 0.3, 0.45)
    assert tr.dv_total_m_s > 0.1


def test_planar_transfer_stays_planar_for_point_mass():
    """Point-mass Phobos (z-symmetric): the 100 -> 50 km transfer has no z motion (< 1e-12 km, km/s)."""
    fam = Q.qso_family(0, sizes_km=[100, 50]).members
    tr = T.two_impulse_transfer(fam[0], fam[1], 0.5 * DAY, 0.0, 0.5)
    assert np.abs(tr.trajectory[:, [3, 6]]).max() < 1e-12
    assert abs(tr.dv1[2]) < 1e-12 and abs(tr.dv2[2]) < 1e-12
    assert tr.dv_total_m_s > 1.0  # a real transfer, not a trivial one


def test_linear_hill_limit():
    """Far from Phobos (point mass, 400 -> 300 km) the Newton solution agrees with the linear
    (Clohessy-Wiltshire) solution used as first guess to 0.5 % in Δv (Phobos gravity ~2e-4 of the tide there; measured 0.06 %)."""
    fam = Q.qso_family(0, sizes_km=[400, 300]).members
    tr = T.two_impulse_transfer(fam[0], fam[1], 0.3 * DAY, 0.25, 0.75)
    s1, s2 = T.qso_state(fam[0], 0.25), T.qso_state(fam[1], 0.75)
    tau = 0.3 * DAY * n
    v = T._linear_guess(s1[:3], s2[:3], tau)
    P = T._linear_stm(tau)
    vf = P[3:, :3] @ s1[:3] + P[3:, 3:] @ v
    dv_lin = (np.linalg.norm(v * n - s1[3:]) + np.linalg.norm(s2[3:] - vf * n)) * 1e3
    assert tr.dv_total_m_s == pytest.approx(dv_lin, rel=0.005)


def test_arc_through_phobos_is_refused(fam2):
    """50 -> 30 km, both at the Mars-side point, half a day: the converged arc dives 2.9 km into the Ernst shape."""
    with pytest.raises(InputError, match="outside Phobos"):
        T.two_impulse_transfer(fam2[50.0], fam2[30.0], 0.5 * DAY, 0.0, 0.0)


@pytest.mark.parametrize("tof", [-3600.0, 0.0, float("nan"), float("inf"), 40 * DAY, "abc"])
def test_bad_tof_is_refused(fam2, tof):
    with pytest.raises(InputError, match="tof_s"):
        T.two_impulse_transfer(fam2[50.0], fam2[30.0], tof)


def test_bad_arguments_are_refused(fam2):
    q = fam2[50.0]
    with pytest.raises(InputError, match="departure"):
        T.two_impulse_transfer(np.zeros(6), q, DAY)
    with pytest.raises(InputError, match="arrival"):
        T.two_impulse_transfer(q, "QSO-H", DAY)
    with pytest.raises(InputError, match="depart_phase"):
        T.two_impulse_transfer(q, q, DAY, float("nan"))
    with pytest.raises(InputError, match="degree"):
        T.two_impulse_transfer(q, q, DAY, degree=11)
    q3 = Q.qso_3d(fam2[100.0], 20.0, 90.0, n_revs=2)
    with pytest.raises(InputError, match="arrive_phase"):
        T.two_impulse_transfer(fam2[100.0], q3, DAY, 0.0, 150.0)
    with pytest.raises(InputError, match="sizes_km"):
        T.transfer_campaign((30, 50))


def test_arrival_inside_phobos_is_refused(fam2):
    """An arrival 'QSO' whose point lies inside Phobos (5 km from the centre) is refused."""
    bad = replace(fam2[20.0], state0=np.array([-5.0, 0.0, 0.0, 0.0, 0.005, 0.0]))
    with pytest.raises(InputError, match="inside"):
        T.two_impulse_transfer(fam2[30.0], bad, 0.5 * DAY)


def test_optimiser_improves_on_grid():
    """Point mass, 30 -> 20 km under a 0.4-day limit, 2 x 2 phases x 2 tofs: the refined optimum
    respects the tof window [0.1, 0.4] d and is not worse than the best grid point."""
    a, b = Q.qso_family(0, sizes_km=[30, 20]).members
    g = T.optimal_transfer(a, b, 0.4 * DAY, n_phase=2, n_tof=2, refine=False)
    r = T.optimal_transfer(a, b, 0.4 * DAY, n_phase=2, n_tof=2, refine=True, maxiter=20, n_starts=1)
    assert 0.1 * DAY <= r.tof_s <= 0.4 * DAY
    assert r.dv_total_m_s <= g.dv_total_m_s + 1e-9
    assert r.min_surface_distance_km > 0.0


def test_three_impulse_never_worse_and_lands():
    """Mid-course variant of a point-mass 100 -> 50 km transfer (few Nelder-Mead steps): total Δv
    <= the two-impulse one (+1e-9), impulses consistent, arc lands on the arrival point < 1 m."""
    from scipy.integrate import solve_ivp

    a, b = Q.qso_family(0, sizes_km=[100, 50]).members
    base = T.two_impulse_transfer(a, b, 0.5 * DAY, 0.0, 0.5)
    t3 = T.three_impulse_transfer(base, a, b, maxiter=12)
    assert t3.dv_mid is not None and 0.0 < t3.t_mid_s < base.tof_s
    assert t3.dv_total_m_s <= base.dv_total_m_s + 1e-9
    # re-propagate both arcs with SciPy, applying the mid-course impulse
    X0 = np.concatenate([t3.trajectory[0, 1:4], t3.trajectory[0, 4:] / n])
    f = lambda t, X: Q.hill_rhs(list(X), 0, NP)  # noqa: E731
    s1 = solve_ivp(f, (0.0, t3.t_mid_s * n), X0, method="DOP853", rtol=1e-13, atol=1e-12)
    Xm = s1.y[:, -1].copy()
    Xm[3:] += t3.dv_mid / n
    s2 = solve_ivp(f, (t3.t_mid_s * n, base.tof_s * n), Xm, method="DOP853", rtol=1e-13, atol=1e-12)
    assert np.linalg.norm(s2.y[:3, -1] - base.r2) * 1e3 < 1.0
    with pytest.raises(InputError, match="base"):
        T.three_impulse_transfer(base, b, a)


def test_planar_to_3d_dv_between_physical_bound_and_published(fam2):
    """Planar 50 km -> 3D QSO (Z = 20 km, beta = 90 deg) at the optimum found by the degree-2 search
    (docs/transfers.md): Δv >= 0.85 n Z and <= the published manifold value 8.277 m/s [SURREY-3D].
    Lower side: the impulses must create the vertical amplitude; a linear oscillator of frequency n
    needs n Z = 4.56 m/s; Phobos' gravity modulates the vertical stiffness along the orbit, and the
    optimiser finds ~10 % less (measured 4.13 m/s), so 0.85 n Z is an empirical bracket, not a
    theorem. Upper side: a direct injection is expected to be cheaper than the manifold route
    (docs/transfers.md explains the model and method differences)."""
    q3 = Q.qso_3d(fam2[50.0], 20.0, 90.0, n_revs=20)
    tr = T.two_impulse_transfer(fam2[50.0], q3, 0.251 * DAY, 0.156, 17.006)
    lower = 0.85 * n * 20.0 * 1e3
    assert lower <= tr.dv_total_m_s <= T.PUBLISHED["planar_to_3d"]["dv_m_s"]
    assert abs(tr.dv2[2]) * 1e3 > 0.8 * lower  # the out-of-plane injection dominates


@pytest.mark.slow
def test_campaign_within_published_bound():
    """Degree-2 field, 100 -> 50 -> 30 -> 20 km (assumed sizes), legs <= 1 day, coarse search:
    total Δv < 40 m/s and total time (transfers + coasts) < 5 days [BAR-SURREY] (~2 min)."""
    c = T.transfer_campaign((100.0, 50.0, 30.0, 20.0), degree=2, n_phase=4, n_tof=2, maxiter=20)
    assert len(c.legs) == 3 and all(t.min_surface_distance_km > 0 for t in c.legs)
    assert c.dv_total_m_s < T.PUBLISHED["high_to_low"]["dv_m_s"]
    assert c.total_time_s < T.PUBLISHED["high_to_low"]["tof_days"] * DAY
    assert "**total**" in c.table()


@pytest.mark.slow
def test_planar_3d_optimiser_brackets():
    """Degree-2 field: optimised planar <-> 3D (Z = 20 km) around 50 km, tof 0.25..1.5 d, coarse search:
    both directions within [0.85 n Z, published Δv] (documented bound, not the 10 % band) (~2.5 min)."""
    p = Q.periodic_qso(50.0, 2)
    up, down, q3 = T.planar_3d_transfers(p, 20.0, n_phase=3, n_tof=2, maxiter=20)
    lower = 0.85 * n * 20.0 * 1e3
    for tr, key in ((up, "planar_to_3d"), (down, "3d_to_planar")):
        assert lower <= tr.dv_total_m_s <= T.PUBLISHED[key]["dv_m_s"]
        assert 0.25 * DAY <= tr.tof_s <= 1.5 * DAY


def test_transfer_table_lists_ours_beside_published(tr_50_30):
    """The markdown table shows our value, the published one and the relative difference; unknown keys refused."""
    md = T.transfer_table([("planar_to_3d", "case A", tr_50_30)])
    row = md.splitlines()[-1]
    assert f"{tr_50_30.dv_total_m_s:.2f}" in row and "8.277" in row and "4.19" in row
    pct = 100 * (tr_50_30.dv_total_m_s / 8.277 - 1)
    assert f"{pct:+.0f} %" in row
    with pytest.raises(InputError, match="rows.key"):
        T.transfer_table([("nope", "x", tr_50_30)])
