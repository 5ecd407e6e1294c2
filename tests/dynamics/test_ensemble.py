"""Ensemble propagation (dynamics/ensemble.py) against the scalar propagator, member by member."""

import numpy as np
import pytest

from mmxsim.dynamics import propagate
from mmxsim.dynamics.ensemble import parameter_names, propagate_ensemble
from mmxsim.errors import InputError

DAY = 86400.0
N = 9  # more than one SIMD batch of 8 and fewer than two: the last batch is mostly padding


@pytest.fixture(scope="module")
def setup():
    """The reference scenario's force model and events, 9 perturbed QSO states, a 1-day grid."""
    from mmxsim.mission.runner import build_model, initial_state
    from mmxsim.scenario import reference_scenario

    s = reference_scenario()
    t0 = float(s.t0_tdb)
    model, eph = build_model(s)
    x0 = initial_state(s, t0, eph)
    rng = np.random.default_rng(19)
    X = x0 + np.hstack([rng.normal(0, 0.2, (N, 3)), rng.normal(0, 2e-5, (N, 3))])
    grid = t0 + np.linspace(0.0, DAY, 13)
    return model, t0, X, grid


@pytest.fixture(scope="module")
def scalar(setup):
    model, t0, X, grid = setup
    return [propagate(model, t0, X[i], grid) for i in range(N)]


@pytest.fixture(scope="module")
def ens(setup):
    model, t0, X, grid = setup
    return propagate_ensemble(model, t0, X, grid)


def _close(a, b, m=1.0, mm_s=1.0):
    d = np.abs(np.asarray(a) - np.asarray(b))
    return d[..., :3].max() * 1e3 < m and d[..., 3:].max() * 1e6 < mm_s


def test_members_equal_the_scalar_path(setup, scalar, ens):
    _, _, X, grid = setup
    assert ens.states.shape == (N, grid.size, 6)
    assert ens.path == ["batch"] * N
    for i, p in enumerate(scalar):
        assert p.termination == ens.termination[i] == "span completed"
        assert ens.reached[i] == grid.size
        assert _close(ens.states[i], p.states)  # 1 m, 1 mm/s at every grid epoch
        assert _close(ens.final_state[i], p.final_state)
        assert ens.final_time[i] == p.final_time
        # the same eclipses (labels, bodies, epochs to 1 ms)
        assert [e[:2] for e in ens.events[i]] == [e[:2] for e in p.events]
        assert np.allclose([e[2] for e in ens.events[i]], [e[2] for e in p.events], atol=1e-3, rtol=0)
    # members differ from each other (a lane mix-up would not pass the per-member check, but be explicit)
    assert np.linalg.norm(ens.final_state[0, :3] - ens.final_state[1, :3]) > 0.01


def test_one_member_and_other_batch_sizes_and_workers(setup, scalar, ens):
    model, t0, X, grid = setup
    one = propagate_ensemble(model, t0, X[3], grid)  # a (6,) state is one member
    assert one.states.shape == (1, grid.size, 6)
    assert _close(one.states[0], scalar[3].states)
    p = one.member(0)
    assert p.termination == scalar[3].termination and np.allclose(p.t, scalar[3].t)
    dup = np.sort(np.concatenate([grid, grid[[0, 4, 4, -1]], [grid[4] + 1.0]]))  # repeated epochs
    d = propagate_ensemble(model, t0, X[3], dup)
    ref = propagate(model, t0, X[3], dup)
    assert d.states.shape == (1, dup.size, 6) and ref.states.shape == (dup.size, 6)
    assert _close(d.states[0], ref.states)
    # 3 batches of 4 (the last with 3 padding lanes), over 2 threads: the same members, same order
    e4 = propagate_ensemble(model, t0, X, grid, batch_size=4, workers=2)
    assert e4.batch_size == 4 and e4.workers == 2
    assert np.all(np.isfinite(e4.states))
    assert _close(e4.states, ens.states, m=0.01, mm_s=0.01)


def test_per_member_srp_parameter_matches_scalar(setup, ens):
    import copy

    model, t0, X, grid = setup
    assert parameter_names(model) == ["srp:cr_area_over_mass"]
    cram = np.full(N, 0.013)
    cram[2] = 0.13  # ten times the area-to-mass ratio
    e = propagate_ensemble(model, t0, X, grid, parameters={"srp:cr_area_over_mass": cram})
    m2 = copy.copy(model)
    m2.forces = [copy.copy(f) for f in model.forces]
    next(f for f in m2.forces if f.kind == "srp").cram = 0.13
    p = propagate(m2, t0, X[2], grid)
    assert _close(e.states[2], p.states)
    assert np.linalg.norm(e.final_state[2, :3] - ens.final_state[2, :3]) * 1e3 > 10.0  # the change shows
    assert _close(e.states[1], ens.states[1], m=0.01, mm_s=0.01)  # the others are untouched
    # the scalar path (here: a member starting inside the near-surface switch radius) gets it too
    tr = model.make_tracks()["PHOBOS"]
    rp = np.asarray(tr.position(t0), float)
    vp = (np.asarray(tr.position(t0 + 1.0), float) - np.asarray(tr.position(t0 - 1.0), float)) / 2.0
    y = np.concatenate([rp + [0.0, 0.0, 20.0], vp])  # 20 km over Phobos' pole, no relative velocity
    short = t0 + np.array([0.0, 600.0])
    e = propagate_ensemble(model, t0, [y, y], short, parameters={"srp:cr_area_over_mass": [0.013, 0.13]})
    assert e.path == ["scalar", "scalar"]
    for cram, row in ((0.013, 0), (0.13, 1)):
        m3 = copy.copy(model)
        m3.forces = [copy.copy(f) for f in model.forces]
        next(f for f in m3.forces if f.kind == "srp").cram = cram
        p = propagate(m3, t0, y, short)
        assert p.termination == e.termination[row] and abs(p.final_time - e.final_time[row]) < 1e-6
        assert np.array_equal(p.final_state, e.final_state[row])
    assert not np.array_equal(e.final_state[0], e.final_state[1])


def test_impacting_members_stop_with_their_event_and_others_finish(setup, ens):
    model, t0, X, grid = setup
    tr = model.make_tracks()["PHOBOS"]
    rp = np.asarray(tr.position(t0), float)
    vp = (np.asarray(tr.position(t0 + 1.0), float) - np.asarray(tr.position(t0 - 1.0), float)) / 2.0
    Y = X.copy()
    u = (X[4, :3] - rp) / np.linalg.norm(X[4, :3] - rp)
    Y[4] = np.concatenate([rp + 30.0 * u, vp - 0.015 * u])  # falls onto Phobos (exact shape: scalar path)
    Y[6, 3:] = 0.1 * Y[6, 3:]  # loses most of its orbital speed about Mars: hits Mars (batch event)
    # a fine grid (every minute): when the batch restarts after member 4 crosses the trigger, its
    # lanes stand at different epochs with different numbers of grid epochs left (fillers line them up)
    grid = t0 + np.linspace(0.0, DAY, 1441)
    e = propagate_ensemble(model, t0, Y, grid)
    for i in (4, 6):
        p = propagate(model, t0, Y[i], grid)
        assert e.termination[i] == p.termination
        assert abs(e.final_time[i] - p.final_time) < 1e-3
        assert _close(e.final_state[i], p.final_state)
        assert 0 < e.reached[i] < grid.size and np.all(np.isnan(e.states[i, e.reached[i]:]))
        assert _close(e.states[i, :e.reached[i]], p.states[:e.reached[i]])
    assert e.termination[4] == "terminal event: impact (PHOBOS)" and e.path[4] == "scalar"
    assert e.termination[6] == "terminal event: impact (MARS)" and e.path[6] == "batch"
    assert e.events[6][-1][:2] == ("impact", "MARS") and e.events[6][-1][3]
    for i in set(range(N)) - {4, 6}:
        assert e.path[i] == "batch" and e.termination[i] == "span completed"
        assert _close(e.states[i, ::120], ens.states[i], m=0.01, mm_s=0.01)


def test_impacts_on_a_sparse_grid(setup, ens):
    """Grid epochs only at the start, at a Chebyshev segment's end (3 h) and at the end: the pieces
    without a grid epoch inside fly with propagate_until; an impact in one lane stops the batch
    there and the other lanes go on (the same members as above, the same results as the scalar path)."""
    model, t0, X, _ = setup
    Y = X.copy()
    Y[6, 3:] = 0.1 * Y[6, 3:]  # hits Mars (batch event)
    grid = np.array([t0, t0 + 3 * 3600.0, t0 + DAY])
    e = propagate_ensemble(model, t0, Y, grid)
    p = propagate(model, t0, Y[6], grid)
    assert e.termination[6] == p.termination == "terminal event: impact (MARS)" and e.path[6] == "batch"
    assert abs(e.final_time[6] - p.final_time) < 1e-3 and _close(e.final_state[6], p.final_state)
    assert 0 < e.reached[6] == int(np.count_nonzero(grid < p.final_time)) < 3
    for i in set(range(N)) - {6}:
        assert e.path[i] == "batch" and e.termination[i] == "span completed" and e.reached[i] == 3
        assert _close(e.final_state[i], ens.final_state[i], m=0.01, mm_s=0.01)
        assert _close(e.states[i, 0], X[i], m=1e-9, mm_s=1e-9)


def test_bad_inputs(setup):
    model, t0, X, grid = setup
    with pytest.raises(InputError, match="srp:cr_area_over_mass"):
        propagate_ensemble(model, t0, X, grid, parameters={"phobos:gm": np.ones(N)})
    with pytest.raises(InputError, match="one per member"):
        propagate_ensemble(model, t0, X, grid, parameters={"srp:cr_area_over_mass": np.ones(N - 1)})
    with pytest.raises(InputError, match="states0"):
        propagate_ensemble(model, t0, X[:, :5], grid)
    Z = X.copy()
    Z[3, 1] = np.nan
    with pytest.raises(InputError, match=r"states0\[3\]"):
        propagate_ensemble(model, t0, Z, grid)
    with pytest.raises(InputError, match="t_grid"):
        propagate_ensemble(model, t0, X, grid - 10.0)
    with pytest.raises(InputError, match="t_grid"):
        propagate_ensemble(model, t0, X, grid[::-1])
    with pytest.raises(InputError, match="workers"):
        propagate_ensemble(model, t0, X, grid, workers=0)
    with pytest.raises(InputError, match="batch_size"):
        propagate_ensemble(model, t0, X, grid, batch_size=0)
    with pytest.raises(InputError, match="model"):
        propagate_ensemble("reference", t0, X, grid)


def test_manoeuvres_per_member_equal_scalar_arcs(setup, ens):
    """Impulsive dv per member mid-segment (and at t0): members equal scalar propagate() arcs with the
    dv added between them; a zero dv changes nothing."""
    model, t0, X, grid = setup
    rng = np.random.default_rng(7)
    tm = t0 + 0.3 * DAY + 123.0  # inside a Chebyshev segment, off the grid
    dv = rng.normal(0, 1e-5, (N, 3))
    dv[5] = 0.0
    dv0 = np.array([0.0, 2e-6, 0.0])  # every member at t0
    e = propagate_ensemble(model, t0, X, grid, manoeuvres=[(tm, dv), (t0, dv0)])
    assert e.path == ["batch"] * N
    for i in (0, 5, 8):
        x = X[i].copy()
        x[3:] += dv0
        a = propagate(model, t0, x, grid[grid <= tm], t_stop=tm)
        x = a.final_state.copy()
        x[3:] += dv[i]
        b = propagate(model, tm, x, grid[grid > tm])
        ref = np.vstack([a.states, b.states])
        ref[0] = X[i]  # the row at t0 holds the state before the manoeuvre there
        assert _close(e.states[i], ref)
    assert np.array_equal(e.states[5, 0], ens.states[5, 0])
    assert np.linalg.norm(e.final_state[0, :3] - ens.final_state[0, :3]) > 0.01  # the dv shows
    # the scalar path flies its arcs too (a member starting inside the near-surface switch radius)
    tr = model.make_tracks()["PHOBOS"]
    rp = np.asarray(tr.position(t0), float)
    vp = (np.asarray(tr.position(t0 + 1.0), float) - np.asarray(tr.position(t0 - 1.0), float)) / 2.0
    y = np.concatenate([rp + [0.0, 0.0, 20.0], vp])
    short = t0 + np.array([0.0, 200.0, 400.0, 600.0])
    kick = np.array([0.0, 0.0, 1e-3])
    es = propagate_ensemble(model, t0, y, short, manoeuvres=[(t0 + 400.0, kick)])
    assert es.path == ["scalar"]
    a = propagate(model, t0, y, short[:3])
    x = a.final_state.copy()
    x[3:] += kick
    b = propagate(model, t0 + 400.0, x, short[3:])
    assert np.array_equal(es.states[0], np.vstack([a.states, b.states]))
    assert np.array_equal(es.final_state[0], b.final_state)
    with pytest.raises(InputError, match="manoeuvres"):
        propagate_ensemble(model, t0, X, grid, manoeuvres=[(grid[-1] + 1.0, dv)])
    with pytest.raises(InputError, match="dv"):
        propagate_ensemble(model, t0, X, grid, manoeuvres=[(tm, dv[:3])])


def _same(a, b):
    """Two ensemble results equal bit for bit (states, ends, events, steps)."""
    return (np.array_equal(a.states, b.states, equal_nan=True) and np.array_equal(a.final_state, b.final_state)
            and np.array_equal(a.final_time, b.final_time) and a.termination == b.termination
            and a.events == b.events and a.path == b.path and np.array_equal(a.n_steps, b.n_steps))


def test_remembered_fits_and_reused_integrator_give_the_cold_answer(setup):
    """Issue 19: a call reuses the Chebyshev fits of earlier calls (tracks.FIT_CACHE), a pooled
    integrator (reset, not deep-copied) and the start epoch's ephemeris look-ups. A warm call equals the
    cold one bit for bit, and a call after one with other parameters, a terminal event, a manoeuvre and
    other batch sizes is not contaminated."""
    from mmxsim.dynamics import ensemble as E
    from mmxsim.dynamics.tracks import FIT_CACHE

    model, t0, X, _ = setup
    grid = t0 + np.linspace(0.0, 0.5 * DAY, 7)
    FIT_CACHE.clear()
    E._POOL._free.clear()
    E._T0_MEMO.clear()
    cold = propagate_ensemble(model, t0, X, grid)
    assert len(E._T0_MEMO) == 1  # the start epoch's look-ups, remembered
    assert FIT_CACHE.misses > 0 and len(FIT_CACHE) > 0
    misses = FIT_CACHE.misses
    warm = propagate_ensemble(model, t0, X, grid)
    assert FIT_CACHE.misses == misses and FIT_CACHE.hits > 0  # every segment came from the cache
    assert [len(v) for v in E._POOL._free.values()] == [1]  # one integrator, lent twice
    assert _same(cold, warm)
    # a call that leaves the integrator with other parameters, a fired terminal event (cooldown),
    # a manoeuvre, then other lanes and threads
    Y = X.copy()
    Y[6, 3:] = 0.1 * Y[6, 3:]  # hits Mars
    other = propagate_ensemble(model, t0, Y, grid, parameters={"srp:cr_area_over_mass": 0.13},
                               manoeuvres=[(t0 + 5000.0, np.array([1e-5, 0.0, 0.0]))])
    assert other.termination[6] == "terminal event: impact (MARS)"
    again = propagate_ensemble(model, t0, X, grid)
    assert _same(cold, again)
    four = propagate_ensemble(model, t0, X, grid, batch_size=4, workers=2)
    four_again = propagate_ensemble(model, t0, X, grid, batch_size=4, workers=2)
    assert _same(four, four_again)
    assert _close(four.states, cold.states, m=0.01, mm_s=0.01)


def test_fit_cache_is_exact_and_bounded(setup):
    """A segment's fit does not depend on the batch it was fitted in (so a remembered fit is the one a
    fresh propagation would make), and the LRU keeps at most ``maxsize`` entries, the newest."""
    from mmxsim.dynamics.tracks import SegmentFits, _FitCache

    model, t0, _, _ = setup
    tracks = [tr for tr in model.make_tracks().values() if tr.kind == "chebyshev"]
    b = t0 + 3 * 3600.0 * np.arange(21)
    for tr in tracks:
        many = tr.fit_many(b[:-1], b[1:])
        for k in (0, 7, 19):
            assert np.array_equal(many[k], tr.fit(b[k], b[k + 1]))
    small = _FitCache(maxsize=5)
    f = SegmentFits(tracks[:1], 3 * 3600.0, b[-1], batch=3, cache=small)
    first = f.coefficients(b[0])[0][1]
    assert len(small) == 3 and small.misses == 1
    g = SegmentFits(tracks[:1], 3 * 3600.0, b[-1], batch=3, cache=small)
    assert np.array_equal(g.coefficients(b[0])[0][1], first) and small.hits == 1
    g.coefficients(b[3])  # three more: the least recently used (segment 1; segment 0 was just read) falls out
    assert len(small) == 5
    assert small.get(tracks[0], b[1], b[2]) is None
    assert small.get(tracks[0], b[0], b[1]) is not None and small.get(tracks[0], b[5], b[6]) is not None
    # another track (another body) never gets this one's coefficients
    assert small.get(tracks[1], b[5], b[6]) is None
