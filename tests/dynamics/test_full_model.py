"""The full reference force model: heyoka vs SciPy DOP853 on the same equations.

The SciPy side evaluates the NumPy version of the same force models, with Sun and
Earth taken directly from the DE kernel (heyoka uses Chebyshev segments), so the
test also checks the interpolation of third bodies inside the integrator.
"""

import numpy as np
from scipy.integrate import solve_ivp

from mmxsim.dynamics import numpy_rhs, propagate
from mmxsim.mission.runner import build_model, initial_state
from mmxsim.scenario import reference_scenario


def _reference(tolerance=1e-15):
    """The reference scenario's full force model (events off), its ephemeris, t0 and x0."""
    s = reference_scenario()
    model, eph = build_model(s)
    model.events = []
    model.tolerance = tolerance
    t0 = float(s.t0_tdb)
    return model, eph, t0, initial_state(s, t0, eph)


def test_heyoka_vs_scipy_dop853_three_days():
    """Reference QSO, full model, 3 days: heyoka (tol 1e-15) vs DOP853 (rtol 1e-12): < 10 m."""
    model, eph, t0, x0 = _reference()
    span = 3 * 86400.0
    grid = t0 + np.linspace(0, span, 13)
    hy = propagate(model, t0, x0, grid)
    sol = solve_ivp(numpy_rhs(model), (t0, t0 + span), x0, method="DOP853", rtol=1e-12, atol=1e-12,
                    t_eval=grid, dense_output=False)
    err = np.linalg.norm(sol.y[:3].T - hy.states[:, :3], axis=1)
    assert sol.success
    assert np.max(err) < 0.010, f"max difference {np.max(err) * 1e3:.3f} m"
    # the spacecraft really is in a QSO and Phobos' field matters: not a vacuous comparison
    rel = hy.states[:, :3] - eph.position("PHOBOS", "MARS", grid)
    d = np.linalg.norm(rel, axis=1)
    assert 30 < d.min() and d.max() < 120


def test_shadow_transitions_are_resolved():
    """With Mars and Phobos shadows, a 1 um change of the initial state moves the 3-day
    result by < 1 cm (QSO dynamics alone amplify it to ~2 mm). Before the step breaks at
    the penumbra edges the integrator stepped over saturated shadow transitions and the
    same nudge moved the result by ~2 m."""
    model, eph, t0, x0 = _reference()
    grid = [t0, t0 + 3 * 86400.0]
    a = propagate(model, t0, x0, grid).states[-1, :3]
    b = propagate(model, t0, x0 + np.r_[1e-9, 0, 0, 0, 0, 0], grid).states[-1, :3]
    assert np.linalg.norm(a - b) < 1e-5


def test_shadow_switches_forward_and_backward():
    """The shadow factor's runtime switches (sunlight / penumbra / umbra) follow the geometry
    through a day of Mars and Phobos eclipses, forward and then backward in time, and the
    backward run returns to the initial state."""
    from mmxsim.dynamics import propagator as P

    model, eph, t0, x0 = _reference(1e-12)
    # one Chebyshev segment over the whole day below: keep the moons analytic (mean-element theory),
    # as a 1-day degree-12 fit cannot follow Phobos' 7.65 h orbit
    from mmxsim.ephemeris import default_ephemeris

    model.ephemeris = default_ephemeris(moons="mean_elements")
    comp = P.build(model)
    ta = comp.ta
    cheb = [tr for tr in comp.tracks.values() if tr.kind == "chebyshev"]
    names = comp.params.names
    t1 = t0 + 86400.0
    ta.pars[:] = comp.params.values
    ta.pars[names.index("cheb:t_mid")] = 0.5 * (t0 + t1)
    ta.pars[names.index("cheb:inv_half")] = 2.0 / (t1 - t0)
    for tr in cheb:
        c = tr.fit(t0, t1)
        ta.pars[tr.first_par: tr.first_par + c.size] = c.reshape(-1)
    ta.time, ta.state[:] = t0, x0

    def expected():
        return {i: v for i, v in P._switch_parameters(model, ta.time, ta.state, comp.tracks, comp.rotations,
                                                       comp.params)}

    start = expected()
    assert start  # SRP with shadows has switches
    for i, v in start.items():
        ta.pars[i] = v
    visited = set()
    for t in np.linspace(t0, t1, 97)[1:]:
        ta.propagate_until(t)
        now = expected()
        assert all(ta.pars[i] == v for i, v in now.items()), (t - t0, now)
        visited.add(tuple(now.values()))
    assert len(visited) >= 2  # went through shadow
    for t in np.linspace(t1, t0, 97)[1:]:
        ta.propagate_until(t)
        assert all(ta.pars[i] == v for i, v in expected().items())
    assert np.linalg.norm(ta.state[:3] - x0[:3]) < 1e-6  # km


def test_shadow_edge_events_match_geometry(monkeypatch):
    """Every penumbra edge crossing (x = -1 or +1 for Mars and Phobos, seen on a 2 s grid over
    two days) triggers exactly one step break: none missed, none repeated."""
    from mmxsim.dynamics import propagator as P
    from mmxsim.dynamics.forces import OCCULTER_RADII, R_SUN

    model, eph, t0, x0 = _reference(1e-12)
    hits = []
    call = P._StepBreak.__call__

    def counting(self, ta, d_sgn):
        hits.append(ta.time)
        return call(self, ta, d_sgn)

    monkeypatch.setattr(P._StepBreak, "__call__", counting)
    grid = t0 + np.arange(0, 2 * 86400.0 + 1, 2.0)
    res = propagate(model, t0, x0, grid)
    st = res.states[:, :3]
    sun = eph.position("SUN", "MARS", grid)
    expected = 0
    for occ in ("MARS", "PHOBOS"):
        o = np.zeros_like(sun) if occ == "MARS" else eph.position(occ, "MARS", grid)
        ds, rel = sun - st, st - o
        ns, no = np.linalg.norm(ds, axis=1), np.linalg.norm(rel, axis=1)
        g = np.sqrt(1 - (OCCULTER_RADII[occ] / no) ** 2) + np.sum(ds * rel, axis=1) / (ns * no)
        x = g * ns * no / (R_SUN * OCCULTER_RADII[occ])
        expected += sum(int(np.count_nonzero(np.sign(x[:-1] - e) != np.sign(x[1:] - e))) for e in (-1, 1))
    assert expected >= 20
    assert len(hits) == expected
