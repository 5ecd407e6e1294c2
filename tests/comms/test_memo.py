"""Issue 19: what the comms analysis computes once instead of again (mmxsim.comms._cache and the
shared look-ups) gives exactly what it gave before: the remembered Earth-orientation data and ITU-R
attenuation grids (the MILP's answer is not remembered: solved by every call), the Earth-orientation tables of many passes made together, the
greedy baseline handed to the MILP and the memoised UTC days."""

import numpy as np
import pytest

from mmxsim.comms import geometry as G
from mmxsim.comms import link as L
from mmxsim.comms import schedule as S
from mmxsim.comms.types import Pass
from mmxsim.errors import InputError

H = 3600.0


def _case(seed=3, npass=6, span_h=24.0):
    rng = np.random.default_rng(seed)
    names = [("DSS-55", "NASA"), ("MLG", "ESA"), ("MSS", "JAXA")]
    cands = []
    for _ in range(npass):
        st, ag = names[rng.integers(3)]
        a = S.DAY_ORIGIN_S + rng.uniform(0, span_h * H)
        d = rng.uniform(0.6, 2.5) * H
        cands.append((Pass(st, ag, a, a + d, 45.0, a + d / 2), float(rng.uniform(1e3, 1e5))))
    rules = {"NASA": S.BookingRules(max_hours_per_day=3.0, min_pass_s=H, setup_s=1800.0, teardown_s=900.0),
             "ESA": S.BookingRules(max_hours_per_day=2.0, setup_s=600.0, teardown_s=600.0),
             "JAXA": S.BookingRules(max_hours_per_week=4.0, min_pass_s=1800.0)}
    return S.segment_passes(cands, 1800.0), rules


def _same(a, b):
    assert np.array_equal(a.selected, b.selected)
    assert (a.status, a.notes, a.volume_bits, a.charged_hours) == (b.status, b.notes, b.volume_bits, b.charged_hours)


def test_milp_answer_is_solved_by_every_call_and_never_kept(tmp_path, monkeypatch):
    """The booking MILP's answer is not memoised: each call solves it (HiGHS is called again) and
    nothing is written to the cache folder; two calls with empty caches book the same segments."""
    import scipy.optimize

    segs, rules = _case(seed=11, npass=14, span_h=72.0)
    monkeypatch.setenv("MMXSIM_CACHE_DIR", str(tmp_path / "a"))
    first = S.optimal_schedule(segs, rules, node_limit=1)
    assert not (tmp_path / "a").exists() or not list((tmp_path / "a").glob("comms-*"))
    calls = []
    real = scipy.optimize.milp
    monkeypatch.setattr(scipy.optimize, "milp", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setenv("MMXSIM_CACHE_DIR", str(tmp_path / "b"))
    again = S.optimal_schedule(segs, rules, node_limit=1)
    assert calls  # solved again, not read back
    _same(again, first)
    assert not S.check_schedule(segs, again.selected, rules)


def test_greedy_handed_to_the_milp_is_reused_unchanged():
    segs, rules = _case(seed=5, npass=8, span_h=48.0)
    g = S.greedy_schedule(segs, rules)
    before = (g.selected.copy(), g.status, list(g.notes))
    _same(S.optimal_schedule(segs, rules, greedy=g), S.optimal_schedule(segs, rules))
    assert np.array_equal(g.selected, before[0]) and (g.status, g.notes) == before[1:]
    other, _ = _case(seed=6, npass=8, span_h=48.0)
    with pytest.raises(InputError, match="greedy"):
        S.optimal_schedule(segs, rules, greedy=S.greedy_schedule(other, rules))


def test_memoised_days_equal_utc_day():
    from mmxsim.time import utc_day, tdb_seconds

    leap = tdb_seconds("2016-12-31T23:59:60.5", "utc")
    t = np.r_[leap + np.array([-2.0, -0.5, 0.0, 0.4, 1.0, 86400.0]), S.DAY_ORIGIN_S + 3600.0 * np.arange(50)]
    assert [S._day(x) for x in t] == [int(d) for d in utc_day(t)]


def test_earth_orientation_tables_made_together_are_the_same():
    spans = [(9.6e8 + 40000.0 * i, 9.6e8 + 40000.0 * i + 3000.0 + 977.0 * i) for i in range(12)]
    for eo, (a, b) in zip(G.EarthOrientation.many(spans), spans):
        one = G.EarthOrientation(a, b)
        assert (eo.t0, eo.t1, eo.step) == (one.t0, one.t1, one.step)
        for x, y in ((eo._d, one._d), (eo._c2i, one._c2i), (eo._pom, one._pom)):
            assert np.array_equal(x, y)
    assert G.EarthOrientation.many([]) == []


def test_remembered_earth_orientation_is_the_computed_one(tmp_path, monkeypatch):
    monkeypatch.setenv("MMXSIM_CACHE_DIR", str(tmp_path))
    t = 9.6e8 + 43200.0 * np.arange(7)
    direct = G._eop_compute(t)
    first = G._eop_at(t)
    monkeypatch.setattr(G, "_eop_compute", lambda t: (_ for _ in ()).throw(AssertionError("recomputed")))
    again = G._eop_at(t)
    for out in (first, again):
        (a1, a2), d, xp, yp = out
        (b1, b2), e, xq, yq = direct
        for x, y in ((a1, b1), (a2, b2), (d, e), (xp, xq), (yp, yq)):
            assert np.array_equal(np.asarray(x), np.asarray(y))
    with pytest.raises(AssertionError, match="recomputed"):
        G._eop_at(t + 1.0)


def test_remembered_attenuation_grid_is_the_computed_one(tmp_path, monkeypatch):
    monkeypatch.setenv("MMXSIM_CACHE_DIR", str(tmp_path))
    term = L.GroundTerminal(name="T", lat_deg=-35.4, lon_deg=149.0, height_km=0.69, antenna_diameter_m=34.0,
                            g_over_t_db={"X": 54.0}, elevation_mask_deg=6.0)
    key = (term.lat_deg, term.lon_deg, term.height_km, term.antenna_diameter_m, 8.42e9, 99.0)
    L._atm_cache.pop(key, None)
    computed = L._atm_table(term, 8.42e9, 99.0)
    assert list(tmp_path.glob("comms-itur-*.npz"))
    L._atm_cache.pop(key, None)
    monkeypatch.setattr(L, "atmospheric_attenuation_direct_db",
                        lambda *a, **k: (_ for _ in ()).throw(AssertionError("recomputed")))
    loaded = L._atm_table(term, 8.42e9, 99.0)
    assert np.array_equal(loaded[0], computed[0]) and np.array_equal(loaded[1], computed[1])
