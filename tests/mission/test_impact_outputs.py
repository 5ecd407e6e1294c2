"""A run that hits Phobos between output epochs ends every output at the impact (issue 13 item 4)."""

import csv
import json

import numpy as np
import pytest

from mmxsim.app import write_outputs
from mmxsim.exports.oem import read_oem
from mmxsim.mission.runner import run_scenario
from mmxsim.scenario import parse_scenario

FALL = {"name": "fall", "epoch": "2027-09-01T00:00:00", "duration_days": 0.5,
        "initial_state": {"type": "hill", "position_km": [-20.0, 0.0, 3.0], "velocity_km_s": [0.010, 0.0, 0.0]},
        "force_model": {"third_bodies": [], "srp": {"enabled": False}},
        "propagation": {"output_step_s": 600}, "events": {"eclipses": False},
        "outputs": {"report": False}}


@pytest.mark.parametrize("surface", ["shape", "ellipsoid"])
def test_impact_is_the_last_row_of_every_output(tmp_path, surface):
    """Impact between the 600 s grid points: trajectory, time series, OEM and summary end at the impact
    epoch and the minimum altitude there is 0 (+-1 m) above the surface the summary names."""
    s = parse_scenario({**FALL, "events": {**FALL["events"], "impact": surface}})
    r = run_scenario(s)
    t0 = float(s.t0_tdb)
    assert r.termination == "terminal event: impact (PHOBOS)"
    t_imp = [e.t for e in r.events if e.kind == "impact"][0]
    assert 600.0 < t_imp - t0 < 1200.0 and (t_imp - t0) % 600.0 > 1.0  # between two grid points
    assert r.trajectory.t[-1] == t_imp and r.trajectory.t.size == 3  # t0, t0 + 600, impact
    assert abs(r.altitude_phobos_km[-1]) < 1e-3 and r.altitude_phobos_km.min() > -1e-3
    assert (surface == "shape") == ("shape model" in r.altitude_surface)
    paths = write_outputs(r, tmp_path, oem=True, timeseries="csv", summary=True, report=False, events=False)
    oem = read_oem(paths["oem"])
    assert abs(oem.t[-1] - t_imp) < 1e-6 and np.allclose(oem.states[-1], r.trajectory.states[-1], atol=1e-9)
    with open(paths["timeseries"]) as f:
        rows = [row for row in csv.reader(line for line in f if not line.startswith("#"))]
    last = dict(zip(rows[0], rows[-1]))
    assert abs(float(last["t_tdb_s"]) - t_imp) < 1e-6 and abs(float(last["altitude_phobos_km"])) < 1e-3
    summ = json.loads(paths["summary"].read_text())
    assert abs(summ["span"]["stop_t_tdb_s"] - t_imp) < 1e-6
    amin = summ["altitude_phobos_km"]["min"]
    assert abs(amin["value"]) < 1e-3 and abs(amin["t_tdb_s"] - t_imp) < 1e-6
    assert summ["altitude_phobos_km"]["surface"] == r.altitude_surface
    assert any(surface in a or "ellipsoid" in a for a in summ["assumptions"] if a.startswith("Phobos altitude"))
