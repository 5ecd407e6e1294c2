"""The planned manoeuvres of a run as CCSDS OPMs (Section.maneuvers -> maneuvers/*.opm), read back with
the independent ccsds-ndm reader and checked against the run's merged event list (events.csv)."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from mmxsim.exports import write_section_files
from mmxsim.exports.opm import MANEUVER_FOLDER, local_frame
from mmxsim.results import PlannedManeuver, Section

ndm = pytest.importorskip("ccsds_ndm.ndm_io")


@pytest.fixture(scope="module")
def campaign_section():
    """The qso_campaign analysis with station keeping over one day (one Monte Carlo sample: ~5 s)."""
    from mmxsim.analyses.qso_campaign import qso_campaign_section
    from mmxsim.scenario import parse_scenario

    s = parse_scenario({"name": "maneuvers", "epoch": "2027-09-01T00:00:00", "duration_days": 1,
                        "initial_state": {"type": "qso", "radial_semi_axis_km": 50},
                        "force_model": {"phobos": {"model": "point_mass"}, "srp": {"enabled": False}},
                        "analyses": {"qso_campaign": {"station_keeping_samples": 1, "seed": 5}}})
    return qso_campaign_section(s.analyses.qso_campaign, s)


def _read(path):
    opm = ndm.NdmIo().from_path(path)
    assert type(opm).__name__ == "Opm"
    return opm


def test_opm_per_manoeuvre_matches_events(campaign_section, result, tmp_path):
    """One OPM per planned manoeuvre; ccsds-ndm reads each; ignition epochs equal the events.csv times
    (to the ms, UTC), |Δv| equals the event's value and the planned one (1e-9 km/s... bit for bit here)."""
    from mmxsim.mission.timeline import events_csv, run_events
    from mmxsim.time import iso_utc

    sec = campaign_section
    result.sections = [sec]
    assert len(sec.maneuvers) >= 2
    man_events = [e for e in sec.events if e.kind == "manoeuvre"]
    assert len(man_events) == len(sec.maneuvers)
    written = write_section_files(result, tmp_path)
    opms = sorted(p for k, p in written.items() if k.startswith("qso_campaign:maneuvers/"))
    assert [p.name for p in opms] == [f"qso_campaign_{k:03d}.opm" for k in range(1, len(sec.maneuvers) + 1)]
    assert all(p.parent == tmp_path / MANEUVER_FOLDER for p in opms)
    rows = [r for r in csv.DictReader(io.StringIO(events_csv(run_events(result)))) if r["kind"] == "manoeuvre"]
    assert len(rows) == len(opms)
    for path, m, row in zip(opms, sec.maneuvers, rows):
        opm = _read(path)
        md = opm.body.segment.metadata
        assert (md.center_name, md.ref_frame, md.time_system) == ("MARS", "ICRF", "TDB")
        data = opm.body.segment.data
        sv = data.state_vector
        got = np.array([sv.x.value, sv.y.value, sv.z.value, sv.x_dot.value, sv.y_dot.value, sv.z_dot.value])
        assert np.array_equal(got, m.state)  # 17 significant digits: bit for bit
        (burn,) = data.maneuver_parameters
        assert burn.man_epoch_ignition == sv.epoch and burn.man_ref_frame == "ICRF"
        dv = np.array([burn.man_dv_1.value, burn.man_dv_2.value, burn.man_dv_3.value])
        assert np.abs(dv - m.dv_km_s).max() < 1e-15
        # the epoch read back as TDB -> UTC to the ms, as events.csv writes it
        from mmxsim.time import tdb_seconds

        t_read = tdb_seconds(burn.man_epoch_ignition, "tdb")
        assert abs(t_read - m.epoch) < 1e-6
        assert iso_utc([t_read])[0] == row["start_utc"] == row["stop_utc"]
        # |Δv| against the event's detail (written to 0.01 mm/s) and the planned value (1e-9 km/s)
        assert abs(np.linalg.norm(dv) * 1e6 - float(row["detail"].split()[0])) <= 0.005 + 1e-9
        assert abs(np.linalg.norm(dv) - m.dv_m_s / 1e3) < 1e-9
        # the RTN comment's components rotate back to the ICRF vector
        text = path.read_text()
        line = next(x for x in text.splitlines() if "RTN components" in x)
        rtn = np.array([float(v) for v in line.split("components")[1].split()[:3]])
        assert np.allclose(local_frame(m.state, "RTN") @ rtn, m.dv_km_s, rtol=0, atol=1e-14)


def test_section_without_maneuvers_writes_no_folder(result, tmp_path):
    result.sections = [Section("empty", "Nothing planned")]
    written = write_section_files(result, tmp_path)
    assert written == {} and not (tmp_path / MANEUVER_FOLDER).exists()


def test_planned_maneuver_checks_shapes():
    m = PlannedManeuver("burn", 1.0, [7000, 0, 0, 0, 2.5, 0], [0, 3e-6, 4e-6])
    assert m.dv_m_s == pytest.approx(5e-3, rel=1e-12) and m.state.shape == (6,)
    with pytest.raises(ValueError):
        PlannedManeuver("burn", 1.0, [7000, 0, 0], [0, 0, 1e-6])
