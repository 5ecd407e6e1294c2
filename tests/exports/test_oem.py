"""CCSDS OEM export: independent read-back with ccsds-ndm and our own round trip."""

from __future__ import annotations

import numpy as np
import pytest

from mmxsim.errors import DataFileError, InputError
from mmxsim.exports.oem import format_epochs, parse_epoch, read_oem, write_oem
from mmxsim.results import Trajectory

J2000_NS = np.datetime64("2000-01-01T12:00:00", "ns")


T0 = 872_510_400.0  # 2027-08-26T00:00:00 TDB


def _kepler_traj(synthetic, n=500, frame="ICRF", center="MARS"):
    """A Kepler arc around Mars sampled every ~60 s at epochs with fractional seconds."""
    rng = np.random.default_rng(7)
    t = T0 + 0.123456 + 60.0 * np.arange(n) + rng.uniform(0.0, 0.999, n)
    return Trajectory(t=t, states=synthetic.kepler_states(t), frame=frame, center=center)


def _iso_to_seconds_independent(iso: str) -> float:
    """TDB seconds past J2000 of an ISO string, via numpy datetime64 (not our parser)."""
    ns = (np.datetime64(iso, "ns") - J2000_NS).astype(np.int64)
    return ns // 1_000_000_000 + (ns % 1_000_000_000) * 1e-9


def test_oem_read_by_ccsds_ndm(synthetic, tmp_path):
    ndm = pytest.importorskip("ccsds_ndm.ndm_io")
    traj = _kepler_traj(synthetic)
    path = write_oem(traj, tmp_path / "t.oem", comments=["synthetic Kepler arc", "second comment"])
    oem = ndm.NdmIo().from_path(path)

    assert type(oem).__name__ == "Oem"
    assert str(oem.version) == "2.0"
    assert oem.header.originator == "MMXSIM"
    assert oem.header.comment == ["synthetic Kepler arc", "second comment"]
    (seg,) = oem.body.segment
    md = seg.metadata
    assert (md.object_name, md.object_id, md.center_name, md.ref_frame, md.time_system) == (
        "MMX", "MMX", "MARS", "ICRF", "TDB")
    assert md.interpolation == "HERMITE" and int(md.interpolation_degree) == 7
    assert md.start_time == md.useable_start_time and md.stop_time == md.useable_stop_time

    svs = seg.data.state_vector
    assert len(svs) == traj.t.size
    states = np.array([[sv.x.value, sv.y.value, sv.z.value, sv.x_dot.value, sv.y_dot.value, sv.z_dot.value]
                       for sv in svs])
    epochs = np.array([_iso_to_seconds_independent(sv.epoch) for sv in svs])
    dpos = np.max(np.abs(states[:, :3] - traj.states[:, :3]))
    dvel = np.max(np.abs(states[:, 3:] - traj.states[:, 3:]))
    dt = np.max(np.abs(epochs - traj.t))
    print(f"ccsds-ndm readback: max |dr| = {dpos:.3e} km, max |dv| = {dvel:.3e} km/s, max |dt| = {dt:.3e} s")
    assert dpos < 1e-9
    assert dvel < 1e-12
    assert dt < 1e-6
    # start/stop metadata match the first/last data epochs
    assert abs(_iso_to_seconds_independent(md.start_time) - traj.t[0]) < 1e-6
    assert abs(_iso_to_seconds_independent(md.stop_time) - traj.t[-1]) < 1e-6


def test_read_oem_round_trip_is_exact(synthetic, tmp_path):
    traj = _kepler_traj(synthetic)
    back = read_oem(write_oem(traj, tmp_path / "t.oem"))
    np.testing.assert_array_equal(back.t, traj.t)
    np.testing.assert_array_equal(back.states, traj.states)
    assert (back.center, back.frame, back.object_name, back.object_id) == ("MARS", "ICRF", "MMX", "MMX")


def test_header_and_line_format(synthetic, tmp_path):
    path = write_oem(_kepler_traj(synthetic, 5), tmp_path / "t.oem", creation_date="2027-01-01T00:00:00")
    lines = path.read_text().splitlines()
    assert lines[0] == "CCSDS_OEM_VERS = 2.0"
    assert "CREATION_DATE = 2027-01-01T00:00:00" in lines
    assert lines.index("META_START") < lines.index("META_STOP")
    order = [next(i for i, s in enumerate(lines) if s.startswith(k + " ")) for k in
             ("OBJECT_NAME", "OBJECT_ID", "CENTER_NAME", "REF_FRAME", "TIME_SYSTEM", "START_TIME",
              "USEABLE_START_TIME", "USEABLE_STOP_TIME", "STOP_TIME", "INTERPOLATION", "INTERPOLATION_DEGREE")]
    assert order == sorted(order)
    data = lines[lines.index("META_STOP") + 2:]
    assert len(data) == 5 and all(len(s.split()) == 7 for s in data)
    assert all(len(s) < 254 for s in lines)
    path.read_text(encoding="ascii")


@pytest.mark.parametrize("frame,ccsds", [("MARS_FIXED", "IAU_MARS"), ("PHOBOS_FIXED", "IAU_PHOBOS"),
                                         ("PHOBOS_HILL", "PHOBOS_HILL")])
def test_frame_names(synthetic, tmp_path, frame, ccsds):
    ndm = pytest.importorskip("ccsds_ndm.ndm_io")
    traj = _kepler_traj(synthetic, 20, frame=frame, center="PHOBOS")
    path = write_oem(traj, tmp_path / "t.oem")
    text = path.read_text()
    assert f"REF_FRAME = {ccsds}\n" in text
    assert f"COMMENT REF_FRAME {ccsds}:" in text  # the non-standard name is defined in the file
    md = ndm.NdmIo().from_path(path).body.segment[0].metadata
    assert (md.ref_frame, md.center_name) == (ccsds, "PHOBOS")
    back = read_oem(path)
    assert (back.frame, back.center) == (frame, "PHOBOS")


def test_ordering_duplicates_and_degree(synthetic, tmp_path):
    traj = _kepler_traj(synthetic, 3)
    # backward propagation is written forwards
    rev = Trajectory(t=traj.t[::-1], states=traj.states[::-1])
    back = read_oem(write_oem(rev, tmp_path / "r.oem"))
    np.testing.assert_array_equal(back.t, traj.t)
    # a repeated epoch (event sample) is written once
    dup = Trajectory(t=np.r_[traj.t, traj.t[-1]], states=np.vstack([traj.states, traj.states[-1]]))
    back = read_oem(write_oem(dup, tmp_path / "d.oem"))
    assert back.t.size == 3
    # the degree is capped by the number of samples
    text = write_oem(traj, tmp_path / "l.oem", interpolation="LAGRANGE").read_text()
    assert "INTERPOLATION_DEGREE = 2\n" in text
    text = write_oem(traj, tmp_path / "n.oem", interpolation=None).read_text()
    assert "INTERPOLATION" not in text
    with pytest.raises(InputError):
        write_oem(traj, tmp_path / "x.oem", interpolation="SPLINE")
    bad = Trajectory(t=traj.t[[0, 2, 1]], states=traj.states)
    with pytest.raises(InputError):
        write_oem(bad, tmp_path / "b.oem")
    nan = Trajectory(t=traj.t, states=np.where(np.eye(3, 6) > 0, np.nan, traj.states))
    with pytest.raises(InputError):
        write_oem(nan, tmp_path / "nan.oem")


def test_comments_are_single_line_ascii(synthetic, tmp_path):
    path = write_oem(_kepler_traj(synthetic, 4), tmp_path / "t.oem", comments="tolerance 1 µm\nsecond line é")
    text = path.read_text(encoding="ascii")
    assert "COMMENT tolerance 1 um second line e" in text


def test_epoch_formatting_and_parsing():
    assert format_epochs(0.0)[0] == "2000-01-01T12:00:00.000000000"
    assert format_epochs(-0.5, decimals=3)[0] == "2000-01-01T11:59:59.500"
    # rounding carries into the next second
    assert format_epochs(59.9999999999, decimals=6)[0] == "2000-01-01T12:01:00.000000"
    t = T0 + 0.123456789
    assert parse_epoch(format_epochs(t)[0]) == t
    assert parse_epoch("2000-001T12:00:00") == 0.0
    assert parse_epoch("2000-01-01T12:00:01.5Z") == 1.5
    # UTC goes through astropy: J2000 TDB = 11:58:55.816 UTC
    assert abs(parse_epoch("2000-01-01T11:58:55.816", "UTC")) < 1e-3
    with pytest.raises(InputError):
        parse_epoch("01/01/2000")


def test_read_oem_rejects_non_oem(tmp_path):
    p = tmp_path / "x.oem"
    p.write_text("hello\n")
    with pytest.raises(DataFileError):
        read_oem(p)
    with pytest.raises(DataFileError):
        read_oem(tmp_path / "missing.oem")
