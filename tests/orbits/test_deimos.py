"""Deimos flybys from resonant orbits: design (two-body) against the ephemeris-model propagation."""

from __future__ import annotations

import math

import pytest

from mmxsim.bodies import GM_MARS
from mmxsim.errors import InputError
from mmxsim.orbits import deimos as D
from mmxsim.time import to_tdb_seconds


def test_design_is_resonant_and_reaches_deimos():
    o = D.resonant_orbit(5, 3)
    assert 5 * o.period_s == pytest.approx(3 * D.P_DEIMOS_S, rel=1e-12)
    assert 2 * math.pi * math.sqrt(o.a_km ** 3 / GM_MARS) == pytest.approx(o.period_s, rel=1e-12)
    assert o.ra_km > D.A_DEIMOS_KM and o.rp_km == pytest.approx(9376.0)
    # the crossing point is on Deimos' orbit
    r = o.a_km * (1 - o.e ** 2) / (1 + o.e * math.cos(o.crossing_true_anomaly_rad))
    assert r == pytest.approx(D.A_DEIMOS_KM, rel=1e-12)
    with pytest.raises(InputError, match="p_sc:q_deimos"):
        D.resonant_orbit(2, 1)  # period too short: apoapsis below Deimos
    with pytest.raises(InputError, match="p_sc"):
        D.resonant_orbit(0, 1)


def test_flybys_in_the_ephemeris_model():
    """Propagated with Mars J2-J4, Sun and Deimos (heyoka) from a 100 km first flyby: the
    flybys recur every q Deimos periods (within 0.5 %), the relative speed matches the
    two-body design within 2 % (measured 0.05 %), and the distances drift (no maintenance) but
    stay within a few hundred km over three revisits (measured 100, 103, 106 km for 3:2)."""
    o = D.resonant_orbit(3, 2)
    seq = D.flyby_sequence(o, float(to_tdb_seconds("2030-03-01")), miss_km=100.0, days=2.01 * o.revisit_days)
    assert len(seq.flybys) == 3
    assert seq.flybys[0].distance_km == pytest.approx(100.0, rel=1e-9)
    for a, b in zip(seq.flybys, seq.flybys[1:]):
        assert (b.t_tdb - a.t_tdb) / 86400 == pytest.approx(o.revisit_days, rel=5e-3)
    for f in seq.flybys:
        assert f.v_rel_km_s == pytest.approx(o.v_rel_km_s, rel=0.05)
        assert 50.0 < f.distance_km < 500.0
    with pytest.raises(InputError, match="miss_km"):
        D.flyby_sequence(o, 9.5e8, miss_km=-1.0)
