"""summary.json."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mmxsim.exports.summary import write_summary
from mmxsim.time import iso_tdb


def _strict_load(path):
    def no_constant(name):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=no_constant)


def test_summary_content(result, tmp_path):
    result.distance_phobos_km[7] = np.nan  # NaN samples are ignored, never written
    s = _strict_load(write_summary(result, tmp_path / "summary.json"))
    t = result.trajectory.t
    assert s["scenario"] == result.scenario_name
    assert s["samples"] == t.size
    assert s["termination"] == "span completed"
    assert s["span"]["start_tdb"] == iso_tdb(t[0]) and s["span"]["stop_tdb"] == iso_tdb(t[-1])
    assert s["span"]["duration_days"] == pytest.approx((t[-1] - t[0]) / 86400.0)

    d = result.distance_phobos_km
    i_min, i_max = np.nanargmin(d), np.nanargmax(d)
    assert s["distance_phobos_km"]["min"]["value"] == d[i_min]
    assert s["distance_phobos_km"]["min"]["t_tdb_s"] == t[i_min]
    assert s["distance_phobos_km"]["min"]["epoch_tdb"] == iso_tdb(t[i_min])
    assert s["distance_phobos_km"]["max"]["value"] == d[i_max]
    assert s["altitude_phobos_km"]["min"]["value"] == pytest.approx(np.min(result.altitude_phobos_km))

    assert [e["kind"] for e in s["events"]] == ["eclipse_entry", "max_distance"]
    ev = s["events"][1]
    assert ev["body"] == "PHOBOS" and ev["terminal"] is False
    assert ev["time_tdb"] == iso_tdb(result.events[1].t) and ev["t_tdb_s"] == result.events[1].t
    assert ev["details"] == {"distance_km": 100.0, "bad": None}  # NaN -> null

    assert s["force_model"] == result.force_model
    assert s["assumptions"] == result.assumptions
    assert s["timings_s"] == {"compile": 1.25, "propagate": 0.5, "nan_timing": None}
    assert s["metadata"]["array"] == [0, 1, 2]
    assert s["metadata"]["versions"] == {"mmxsim": "0.1.0"}


def test_summary_all_nan_and_empty_events(synthetic, tmp_path):
    r = synthetic.make_result(n=3, events=False)
    r.altitude_phobos_km[:] = np.nan
    s = _strict_load(write_summary(r, tmp_path / "s.json"))
    assert s["altitude_phobos_km"]["min"] == {"value": None, "epoch_tdb": None, "t_tdb_s": None}
    assert s["events"] == []
