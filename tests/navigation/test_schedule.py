"""Tracking schedules (mmxsim.navigation.schedule): rows inside tracks only, none in blackouts, ΔDOR
only in overlaps of the two stations of a baseline, and errors for bad settings.

Reference: the schedule's definition in its module doc (Doppler tags at the end of each count, the
first one count time after the track starts; range from the track start; one ΔDOR per interval at
the middle of each overlap of at least ddor_min_overlap_s). Synthetic tracks; exact comparisons
(epochs are sums of the given numbers; tolerance 1e-6 s where a float product is involved).
"""

from __future__ import annotations

import numpy as np
import pytest

from mmxsim.errors import InputError
from mmxsim.navigation.schedule import ScheduleSettings, Track, as_tracks, schedule

T0 = 9.0e8
H = 3600.0
TRACKS = [("DSS-14", T0, T0 + 8 * H), ("DSS-63", T0 + 5 * H, T0 + 13 * H), ("DSS-43", T0 + 14 * H, T0 + 20 * H),
          ("DSS-14", T0 + 24 * H, T0 + 30 * H)]
BASE = ScheduleSettings(doppler_interval_s=60.0, count_time_s=60.0, range_interval_s=600.0, ddor_interval_s=H,
                        baselines=(("DSS-14", "DSS-63"), ("DSS-43", "DSS-63")))


def _inside_own_track(d, tracks):
    tr = as_tracks(tracks)
    ok = np.zeros(len(d), bool)
    for k in tr:
        mine = (d.receiver == k.station) & (d.pass_id == k.pass_id)
        start = d.t - d.count_time
        ok |= mine & (start >= k.start) & (d.t <= k.stop)
    return ok


def test_rows_lie_inside_their_tracks():
    """Every range and Doppler row (its whole count interval) lies inside the track of its station and
    pass; counts per track are exact: Doppler floor((len - Tc) / 60) + 1, range floor(len / 600) + 1;
    Doppler tags are the count ends; sigmas are the settings' noise in km, km/s, s."""
    d = schedule(TRACKS, BASE)
    rr = d.kind != "ddor"
    assert np.all(_inside_own_track(d.select(rr), TRACKS))
    for k, (st, a, b) in enumerate(TRACKS):
        dop = (d.kind == "doppler") & (d.pass_id == k)
        rng = (d.kind == "range") & (d.pass_id == k)
        assert dop.sum() == int((b - a - 60.0) // 60.0) + 1
        assert rng.sum() == int((b - a) // 600.0) + 1
        assert d.t[dop].min() == a + 60.0 and d.t[rng].min() == a
        assert set(d.receiver[dop | rng]) == {st}
    for kind, sig in (("doppler", 0.1e-6), ("range", 1e-3), ("ddor", 0.1e-9)):
        assert np.allclose(d.sigma[d.kind == kind], sig, rtol=1e-12, atol=0)
    assert np.all(d.count_time[d.kind == "doppler"] == 60.0) and np.all(d.count_time[d.kind != "doppler"] == 0)
    assert np.all(np.diff(d.t) >= 0)


def test_no_rows_in_blackouts():
    """A blackout (solar conjunction) over part of two tracks removes every row inside it, a Doppler
    row whose count interval only starts inside it too, and nothing else (counts compared with the
    schedule without the blackout)."""
    bo = [(T0 + 6 * H + 30.0, T0 + 10 * H)]
    full = schedule(TRACKS, BASE)
    d = schedule(TRACKS, BASE, blackouts=bo)
    a, b = bo[0]
    start = d.t - d.count_time
    assert not np.any((d.t >= a) & (d.t <= b))
    assert not np.any((start >= a) & (start <= b))
    lost = len(full) - len(d)
    fs = full.t - full.count_time
    hit = ((full.t >= a) & (full.t <= b)) | ((fs >= a) & (fs <= b))
    assert lost == hit.sum() > 0
    # a blackout object with start/stop attributes works the same
    class Conj:
        start, stop = bo[0]
    assert len(schedule(TRACKS, BASE, blackouts=[Conj()])) == len(d)


def test_ddor_only_in_overlaps_of_baseline_stations():
    """ΔDOR rows: receiver and station2 are a listed baseline, each epoch inside an overlap of one
    track of each (DSS-14 0-8 h with DSS-63 5-13 h: 3 h, three rows at 5.5, 6.5, 7.5 h); no ΔDOR for
    DSS-43 (no overlap with DSS-63) nor for an overlap shorter than ddor_min_overlap_s; none when
    ddor_interval_s = 0 or without baselines."""
    d = schedule(TRACKS, BASE)
    dd = d.kind == "ddor"
    assert dd.sum() == 3
    assert set(d.receiver[dd]) == {"DSS-14"} and set(d.station2[dd]) == {"DSS-63"}
    assert np.allclose(d.t[dd] - T0, [5.5 * H, 6.5 * H, 7.5 * H], atol=1e-6)
    short = [("DSS-14", T0, T0 + 8 * H), ("DSS-63", T0 + 7.5 * H, T0 + 13 * H)]  # 30 min overlap
    assert not np.any(schedule(short, BASE).kind == "ddor")
    assert not np.any(schedule(TRACKS, ScheduleSettings(ddor_interval_s=0.0, baselines=BASE.baselines)).kind == "ddor")
    assert not np.any(schedule(TRACKS, ScheduleSettings(ddor_interval_s=H)).kind == "ddor")
    # the stations of a baseline not both tracked: no rows, no error
    assert not np.any(schedule(TRACKS[:1], BASE).kind == "ddor")


def test_switched_off_types_and_pass_numbers():
    """Interval 0 switches a data type off; tracks are numbered in order (pass ids 0..3) unless a
    Track carries its own; track objects with station/start/stop attributes are accepted."""
    only_range = schedule(TRACKS, ScheduleSettings(doppler_interval_s=0.0))
    assert set(only_range.kind) == {"range"}
    assert sorted(set(schedule(TRACKS, BASE).pass_id)) == [-1, 0, 1, 2, 3]  # -1: ΔDOR rows
    own = schedule([Track("DSS-14", T0, T0 + H, 42)], BASE)
    assert set(own.pass_id) == {42}

    class Booking:
        def __init__(self, station, start, stop):
            self.station, self.start, self.stop = station, start, stop
    assert len(schedule([Booking("DSS-14", T0, T0 + H)], BASE)) == len(schedule([("DSS-14", T0, T0 + H)], BASE))
    assert len(schedule([], BASE)) == 0


@pytest.mark.parametrize("kw, field", [
    ({"doppler_interval_s": -60.0}, "tracking.doppler_interval_s"),
    ({"range_interval_s": float("nan")}, "tracking.range_interval_s"),
    ({"doppler_sigma_mm_s": 0.0}, "tracking.doppler_sigma_mm_s"),
    ({"range_sigma_m": -1.0}, "tracking.range_sigma_m"),
    ({"ddor_sigma_ns": float("inf")}, "tracking.ddor_sigma_ns"),
    ({"count_time_s": 120.0}, "tracking.count_time_s"),  # longer than the Doppler interval
    ({"count_time_s": 0.0}, "tracking.count_time_s"),
])
def test_bad_settings_name_the_field(kw, field):
    """Bad settings -> InputError naming the setting (reference: the settings' documented ranges)."""
    with pytest.raises(InputError, match=field.replace(".", r"\.")):
        ScheduleSettings(**kw)


def test_bad_tracks_and_baselines():
    """A track that ends before it starts, or with a non-finite time, and a baseline of one station
    -> InputError naming the track / tracking.baselines."""
    with pytest.raises(InputError, match=r"tracks\[1\]"):
        schedule([("DSS-14", T0, T0 + H), ("DSS-63", T0 + H, T0)], BASE)
    with pytest.raises(InputError, match=r"tracks\[0\]"):
        schedule([("DSS-14", float("nan"), T0)], BASE)
    with pytest.raises(InputError, match=r"tracking\.baselines"):
        schedule(TRACKS, ScheduleSettings(ddor_interval_s=H, baselines=(("DSS-14", "DSS-14"),)))
