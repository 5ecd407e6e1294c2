"""CZML export: validated by loading back through czml3's models; positions checked
against SPICE's own IAU_MARS rotation (pck00011) and the ephemeris."""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest

czml3 = pytest.importorskip("czml3")

from mmxsim.errors import InputError  # noqa: E402
from mmxsim.exports.czml import czml_document, write_czml  # noqa: E402
from mmxsim.results import Trajectory  # noqa: E402


def _traj(synthetic, days=1.0, step=600.0):
    t = synthetic.T0 + np.arange(0.0, days * 86400.0 + 1.0, step)
    return Trajectory(t, synthetic.kepler_states(t))


def _samples(packet) -> np.ndarray:
    return np.asarray(packet.position.cartesian.values, dtype=float).reshape(-1, 4)


def test_czml_validates_and_holds_the_positions(synthetic, tmp_path):
    sp = pytest.importorskip("spiceypy")
    traj = _traj(synthetic)
    path = write_czml(traj, tmp_path / "mmx.czml", name="test")
    raw = json.loads(path.read_text())
    doc = czml3.Document.model_validate(raw)  # czml3's schema models: raises on any invalid property
    assert [p.id for p in doc.packets] == ["document", "MMX", "PHOBOS"]
    pre = doc.packets[0]
    assert pre.version == "1.0" and pre.name == "test"
    # TDB 2027-08-26T00:00:00 is UTC 23:58:50.817 the day before (TDB - UTC = 32.184 + 37 s)
    assert pre.clock.currentTime == "2027-08-25T23:58:50.817Z"
    mmx = doc.packets[1]
    assert mmx.position.referenceFrame == "FIXED" and mmx.position.epoch == pre.clock.currentTime
    s = _samples(mmx)
    assert np.array_equal(s[:, 0], traj.t - traj.t[0])
    # independent rotation: SPICE pxform J2000 -> IAU_MARS from the same PCK text kernel
    pck = str(resources.files("mmxsim").joinpath("data", "pck00011.tpc"))
    sp.furnsh(pck)
    try:
        ref = np.array([sp.pxform("J2000", "IAU_MARS", float(t)) @ x[:3] for t, x in zip(traj.t, traj.states)])
    finally:
        sp.unload(pck)
    err_m = np.abs(s[:, 1:] - ref * 1000.0).max()
    print(f"CZML MMX positions vs SPICE IAU_MARS rotation: max error {err_m:.3g} m")
    assert err_m < 0.01
    # Phobos sampled at the same epochs, ~9,376 km from Mars' centre
    ph = _samples(doc.packets[2])
    assert np.array_equal(ph[:, 0], s[:, 0])
    r = np.linalg.norm(ph[:, 1:], axis=1) / 1000.0
    assert 9200 < r.min() and r.max() < 9550


def test_phobos_matches_the_ephemeris(synthetic):
    from mmxsim.ephemeris import default_ephemeris
    from mmxsim.frames import from_mars_icrf

    traj = _traj(synthetic, days=0.2)
    eph = default_ephemeris()
    doc = czml_document(traj, eph=eph)
    ph = _samples(doc.packets[2])
    fixed = from_mars_icrf("MARS_FIXED", traj.t, eph.state("PHOBOS", "MARS", traj.t), eph)
    assert np.abs(ph[:, 1:] - fixed[:, :3] * 1000).max() < 1e-6
    # Mars rotation preserves distances: |r| is the ICRF |r|
    assert np.allclose(np.linalg.norm(ph[:, 1:], axis=1), np.linalg.norm(eph.position("PHOBOS", "MARS", traj.t), axis=1)
                       * 1000, rtol=1e-13)


def test_thinning_and_options(synthetic):
    traj = _traj(synthetic, days=2.0, step=60.0)
    doc = czml_document(traj, max_points=100, phobos=False, trail_s=3600.0)
    assert [p.id for p in doc.packets] == ["document", "MMX"]
    s = _samples(doc.packets[1])
    assert len(s) == 100 and s[-1, 0] == traj.t[-1] - traj.t[0]
    assert doc.packets[1].path.trailTime == 3600.0


def test_invalid_czml_is_rejected_by_the_models(synthetic, tmp_path):
    raw = json.loads(write_czml(_traj(synthetic, days=0.1), tmp_path / "a.czml").read_text())
    raw[1]["point"]["pixelSize"] = "big"
    with pytest.raises(Exception, match="pixelSize"):
        czml3.Document.model_validate(raw)


def test_bad_inputs(synthetic):
    tr = _traj(synthetic, days=0.1)
    with pytest.raises(InputError):
        czml_document(Trajectory(tr.t, tr.states, frame="PHOBOS_HILL"))
    with pytest.raises(InputError):
        czml_document(tr, max_points=1)
    with pytest.raises(InputError):
        czml_document("not a run")


def test_write_outputs_czml_flag(result, tmp_path):
    from mmxsim.app import write_outputs

    paths = write_outputs(result, tmp_path, oem=False, timeseries=None, summary=False, report=False, czml=True)
    doc = czml3.Document.model_validate(json.loads(paths["czml"].read_text()))
    assert doc.packets[0].name == result.scenario_name
    assert len(_samples(doc.packets[1])) == len(np.unique(result.trajectory.t))


def test_phobos_centred_document(synthetic, tmp_path):
    """center="phobos": MMX in PHOBOS_FIXED (or PHOBOS_HILL) about Phobos' centre, a Mars entity ~9,376 km
    away instead of Phobos; the document loads in czml3's models; positions against SPICE's IAU_PHOBOS."""
    sp = pytest.importorskip("spiceypy")
    from mmxsim.ephemeris import default_ephemeris
    from mmxsim.frames import from_mars_icrf

    eph = default_ephemeris()
    t = synthetic.T0 + np.arange(0.0, 0.5 * 86400.0 + 1.0, 600.0)
    ph = np.atleast_2d(eph.state("PHOBOS", "MARS", t))
    near = ph + np.array([30.0, -20.0, 5.0, 1e-3, 2e-3, 0.0])  # 36 km from Phobos' centre
    traj = Trajectory(t, near)
    path = write_czml(traj, tmp_path / "p.czml", center="phobos", eph=eph)
    doc = czml3.Document.model_validate(json.loads(path.read_text()))
    assert [p.id for p in doc.packets] == ["document", "MMX", "MARS"]
    assert doc.packets[1].position.referenceFrame == "FIXED"
    s = _samples(doc.packets[1])
    # independent: SPICE's IAU_PHOBOS rotation of the Phobos-relative ICRF position (pck00011)
    pck = str(resources.files("mmxsim").joinpath("data", "pck00011.tpc"))
    sp.furnsh(pck)
    try:
        ref = np.array([sp.pxform("J2000", "IAU_PHOBOS", float(tt)) @ (x[:3] - p[:3]) for tt, x, p in zip(t, near, ph)])
    finally:
        sp.unload(pck)
    assert np.abs(s[:, 1:] - ref * 1000.0).max() < 0.01  # 1 cm
    mars = np.linalg.norm(_samples(doc.packets[2])[:, 1:], axis=1) / 1000.0
    assert np.allclose(mars, np.linalg.norm(ph[:, :3], axis=1), rtol=1e-12)
    hill = czml_document(traj, center="phobos", frame="PHOBOS_HILL", eph=eph, phobos=False)
    assert [p.id for p in hill.packets] == ["document", "MMX"]
    h = _samples(hill.packets[1])
    assert np.abs(h[:, 1:] / 1000.0 - from_mars_icrf("PHOBOS_HILL", t, near, eph)[:, :3]).max() < 1e-9
    with pytest.raises(InputError):
        czml_document(traj, center="deimos")
    with pytest.raises(InputError):
        czml_document(traj, center="phobos", frame="MARS_FIXED")


def test_write_outputs_czml_center(result, tmp_path):
    from mmxsim.exports import write_outputs

    p = write_outputs(result, tmp_path, oem=False, timeseries=None, summary=False, files=False, czml=True,
                      czml_center="phobos")
    doc = czml3.Document.model_validate(json.loads(p["czml"].read_text()))
    assert doc.packets[2].id == "MARS"
    with pytest.raises(InputError):
        write_outputs(result, tmp_path / "x", czml=True, czml_center="earth")
    assert not (tmp_path / "x").exists()  # refused before anything is written


def test_scenario_outputs_czml_center():
    from mmxsim.scenario import parse_scenario

    base = {"name": "c", "epoch": "2027-09-01T00:00:00", "duration_days": 0.1,
            "initial_state": {"type": "qso", "radial_semi_axis_km": 50}}
    assert parse_scenario(base).outputs.czml_center == "mars"
    assert parse_scenario({**base, "outputs": {"czml": True, "czml_center": "phobos"}}).outputs.czml_center == "phobos"
    with pytest.raises(Exception, match="czml_center"):
        parse_scenario({**base, "outputs": {"czml_center": "deimos"}})
