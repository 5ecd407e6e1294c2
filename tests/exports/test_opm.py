"""CCSDS OPM 3.0 export of manoeuvres, read back with the ccsds-ndm package."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mmxsim.errors import InputError
from mmxsim.exports.opm import G0_M_S2, Maneuver, local_frame, opm_text, write_opm

ndm = pytest.importorskip("ccsds_ndm.ndm_io")

T0 = 872_510_400.0  # 2027-08-26T00:00:00 TDB
STATE = [9376.0, 120.0, -40.0, -0.01, 2.138, 0.02]


def _read(path):
    opm = ndm.NdmIo().from_path(path)
    assert type(opm).__name__ == "Opm"
    return opm


def test_opm_read_by_ccsds_ndm(tmp_path):
    dv = [1.0e-4, -2.0e-4, 3.0e-5]
    p = write_opm(tmp_path / "m.opm", T0 + 0.25, STATE, dv, "ICRF", dv_frame="RTN", mass_kg=2000.0, isp_s=220.0,
                  srp_area_m2=20.0, cr=1.3, comments=["QSO insertion burn"])
    opm = _read(p)
    assert str(opm.version) == "3.0"
    assert opm.header.originator == "MMXSIM" and opm.header.comment == ["QSO insertion burn"]
    md = opm.body.segment.metadata
    assert (md.object_name, md.center_name, md.ref_frame, md.time_system) == ("MMX", "MARS", "ICRF", "TDB")
    data = opm.body.segment.data
    sv = data.state_vector
    assert sv.epoch == "2027-08-26T00:00:00.250000000"
    got = [sv.x.value, sv.y.value, sv.z.value, sv.x_dot.value, sv.y_dot.value, sv.z_dot.value]
    assert got == STATE  # 17 significant digits: bit for bit
    assert data.spacecraft_parameters.mass.value == 2000.0
    (man,) = data.maneuver_parameters
    assert man.man_ref_frame == "RTN" and man.man_epoch_ignition == sv.epoch
    assert [man.man_dv_1.value, man.man_dv_2.value, man.man_dv_3.value] == dv
    # rocket equation, independent form: m1 = m0 exp(-dv / (Isp g0))
    m1 = 2000.0 * math.exp(-np.linalg.norm(dv) * 1e3 / (220.0 * 9.80665))
    assert man.man_delta_mass.value == pytest.approx(m1 - 2000.0, rel=1e-12)
    assert man.man_delta_mass.value < 0 and man.man_duration.value == 0.0


def test_several_burns_sorted_and_mass_carried(tmp_path):
    burns = [Maneuver(T0 + 7200, [0, 2e-3, 0], "TNW", duration_s=30.0),
             Maneuver(T0 + 3600, [0, 0, 1e-3], "ICRF", delta_mass_kg=-0.5)]
    p = write_opm(tmp_path / "s.opm", T0, STATE, maneuvers=burns, mass_kg=1000.0, isp_s=300.0)
    mans = _read(p).body.segment.data.maneuver_parameters
    assert [m.man_ref_frame for m in mans] == ["ICRF", "TNW"]
    assert mans[0].man_delta_mass.value == -0.5
    # second burn uses the mass left after the first
    expect = -(1000.0 - 0.5) * (1 - math.exp(-2.0 / (300.0 * G0_M_S2)))
    assert mans[1].man_delta_mass.value == pytest.approx(expect, rel=1e-12)
    assert mans[1].man_duration.value == 30.0


def test_no_mass_model_says_so():
    text = opm_text(T0, STATE, [1e-3, 0, 0], creation_date="2026-01-01T00:00:00")
    assert "MAN_DELTA_MASS = 0.0" in text and "not modelled" in text
    assert "MASS =" not in text.replace("DELTA_MASS", "")


def test_local_frames_and_a_dv_round_trip(tmp_path):
    x = np.array(STATE)
    for name in ("RTN", "TNW"):
        m = local_frame(x, name)
        assert np.abs(m.T @ m - np.eye(3)).max() < 1e-14 and np.linalg.det(m) == pytest.approx(1.0, abs=1e-14)
    rtn, tnw = local_frame(x, "RTN"), local_frame(x, "TNW")
    r, v = x[:3], x[3:]
    assert np.allclose(rtn[:, 0], r / np.linalg.norm(r)) and np.allclose(tnw[:, 0], v / np.linalg.norm(v))
    assert np.allclose(rtn[:, 2], tnw[:, 2])  # both normals along r x v
    dv_icrf = np.array([3e-4, -1e-4, 2e-4])
    p = write_opm(tmp_path / "r.opm", T0, x, rtn.T @ dv_icrf, dv_frame="RTN")
    man = _read(p).body.segment.data.maneuver_parameters[0]
    back = rtn @ np.array([man.man_dv_1.value, man.man_dv_2.value, man.man_dv_3.value])
    assert np.abs(back - dv_icrf).max() < 1e-18


def test_body_fixed_frames_use_the_oem_names(tmp_path):
    p = write_opm(tmp_path / "f.opm", T0, STATE, [1e-3, 0, 0], "MARS_FIXED")
    md = _read(p).body.segment.metadata
    assert md.ref_frame == "IAU_MARS"


@pytest.mark.parametrize("args, kw, field", [
    ((T0, STATE[:5], [0, 0, 0]), {}, "state"),
    ((T0, STATE, [0, 0]), {}, "maneuver.dv_km_s"),
    ((T0, STATE, [0, 0, 1]), {"delta_mass_kg": 1.0}, "maneuver.delta_mass_kg"),
    ((T0, STATE, [0, 0, 1]), {"mass_kg": -5.0}, "mass_kg"),
    ((float("nan"), STATE, [0, 0, 1]), {}, "maneuver.epoch"),
])
def test_bad_inputs(args, kw, field):
    with pytest.raises(InputError) as ei:
        opm_text(*args, **kw)
    assert ei.value.field == field
    with pytest.raises(InputError):
        local_frame([1, 0, 0, 2, 0, 0], "RTN")  # r parallel to v: no orbit plane
