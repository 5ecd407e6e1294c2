"""The SPK with its frames kernel and metakernel: SPICE alone (spiceypy, furnsh of mmx.tm) rebuilds
mmxsim's PHOBOS_HILL states of the run (< 1 mm, < 1e-9 km/s) and its PHOBOS_FIXED ones."""

from __future__ import annotations

import numpy as np
import pytest

from mmxsim.exports import write_outputs
from mmxsim.exports.spk import KERNEL_NAMES, PHOBOS_HILL_FRAME_ID, metakernel_text
from mmxsim.errors import InputError
from mmxsim.results import PHOBOS_STEP_S, Trajectory, phobos_epochs

sp = pytest.importorskip("spiceypy")


@pytest.fixture(scope="module")
def near_phobos(tmp_path_factory):
    """A synthetic run 40-60 km from Phobos (50 h, 10 min samples) with hill / phobos_fixed / phobos made
    as the runner makes them. (A real `mmxsim run --quick` result, checked the same way: Hill 5e-12 km and
    3.5e-13 km/s, PHOBOS_FIXED 1.2e-8 km and 2.6e-12 km/s.)"""
    import importlib.util
    from pathlib import Path

    from mmxsim.ephemeris import default_ephemeris
    from mmxsim.frames import from_mars_icrf

    path = Path(__file__).with_name("synthetic_run.py")
    spec = importlib.util.spec_from_file_location("mmxsim_tests_synthetic_run_spice", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    res = mod.make_result(n=300)
    eph = default_ephemeris()
    t = mod.T0 + 0.182635 + 600.0 * np.arange(300)  # a run's grid: 10 min from a UTC epoch (fractional TDB)
    ph = np.atleast_2d(eph.state("PHOBOS", "MARS", t))
    w = 2 * np.pi / 27554.0  # a loose loop around Phobos, ICRF offsets
    tau = t - t[0]
    off = np.stack([50 * np.cos(w * tau), -40 * np.sin(w * tau), 5 * np.sin(w * tau),
                    -50 * w * np.sin(w * tau), -40 * w * np.cos(w * tau), 5 * w * np.cos(w * tau)], axis=1)
    states = ph + off
    res.trajectory = Trajectory(t, states)
    res.distance_phobos_km = res.altitude_phobos_km = np.linalg.norm(off[:, :3], axis=1)
    res.hill = Trajectory(t, from_mars_icrf("PHOBOS_HILL", t, states, eph), "PHOBOS", "PHOBOS_HILL")
    res.phobos_fixed = Trajectory(t, from_mars_icrf("PHOBOS_FIXED", t, states, eph), "PHOBOS", "PHOBOS_FIXED")
    tp = phobos_epochs(t)
    assert tp[0] < t[0] - 0.9 * PHOBOS_STEP_S and tp[-1] > t[-1] + 0.9 * PHOBOS_STEP_S
    res.phobos = Trajectory(tp, np.atleast_2d(eph.state("PHOBOS", "MARS", tp)), "MARS", "ICRF", "PHOBOS", "401")
    return res


def _spice_states(folder, monkeypatch, t, frame):
    monkeypatch.chdir(folder)  # PATH_VALUES '.': relative to the working directory
    sp.furnsh(KERNEL_NAMES["mk"])
    try:
        st, _ = sp.spkezr("MMX", list(map(float, t)), frame, "NONE", "PHOBOS")
        return np.asarray(st, dtype=float)
    finally:
        sp.unload(KERNEL_NAMES["mk"])


def test_metakernel_gives_hill_states(near_phobos, tmp_path, monkeypatch):
    res = near_phobos
    n_loaded = sp.ktotal("ALL")  # other tests of the session may hold kernels; ours must all be unloaded
    w = write_outputs(res, tmp_path, oem=False, timeseries=None, summary=False, files=False, spk=True)
    assert {"spk", "spice_fk", "spice_lsk", "spice_pck", "spice_mk"} <= set(w)
    assert all(p.parent == tmp_path for p in w.values())
    assert "'$RUN/trajectory.bsp'" in w["spice_mk"].read_text()
    t = res.hill.t
    got = _spice_states(tmp_path, monkeypatch, t, "PHOBOS_HILL")
    dr = np.linalg.norm(got[:, :3] - res.hill.states[:, :3], axis=1).max()
    dv = np.linalg.norm(got[:, 3:] - res.hill.states[:, 3:], axis=1).max()
    print(f"SPICE PHOBOS_HILL vs result.hill: {dr * 1e6:.3g} mm, {dv:.3g} km/s")
    assert dr < 1e-6, f"{dr * 1e6:.3g} mm"  # < 1 mm
    assert dv < 1e-9, f"{dv:.3g} km/s"
    # between the samples too: SPICE's Hill state of the interpolated MMX matches mmxsim's frame (1 mm)
    from mmxsim.ephemeris import default_ephemeris
    from mmxsim.frames import from_mars_icrf

    tm = 0.5 * (t[:-1] + t[1:])[::17]
    monkeypatch.chdir(tmp_path)
    sp.furnsh(KERNEL_NAMES["mk"])
    try:
        icrf = np.asarray(sp.spkezr("MMX", list(map(float, tm)), "J2000", "NONE", "MARS")[0])
        hill = np.asarray(sp.spkezr("MMX", list(map(float, tm)), "PHOBOS_HILL", "NONE", "PHOBOS")[0])
        assert sp.namfrm("PHOBOS_HILL") == PHOBOS_HILL_FRAME_ID
    finally:
        sp.unload(KERNEL_NAMES["mk"])
    ref = from_mars_icrf("PHOBOS_HILL", tm, icrf, default_ephemeris())
    mid = np.linalg.norm(hill[:, :3] - ref[:, :3], axis=1).max()
    print(f"between samples: {mid * 1e6:.3g} mm")
    assert mid < 1e-6
    assert sp.ktotal("ALL") == n_loaded  # the metakernel and the four kernels it loaded are unloaded


def test_phobos_fixed_alias_of_iau_phobos(near_phobos, tmp_path, monkeypatch):
    """PHOBOS_FIXED (TK alias of IAU_PHOBOS with pck00011) against mmxsim's PHOBOS_FIXED states."""
    res = near_phobos
    write_outputs(res, tmp_path, oem=False, timeseries=None, summary=False, files=False, spk=True)
    got = _spice_states(tmp_path, monkeypatch, res.phobos_fixed.t, "PHOBOS_FIXED")
    dr = np.linalg.norm(got[:, :3] - res.phobos_fixed.states[:, :3], axis=1).max()
    dv = np.linalg.norm(got[:, 3:] - res.phobos_fixed.states[:, 3:], axis=1).max()
    print(f"SPICE PHOBOS_FIXED vs result.phobos_fixed: {dr * 1e6:.3g} mm, {dv:.3g} km/s")
    assert dr < 1e-6 and dv < 1e-9, (dr, dv)


def test_result_without_phobos_uses_the_builtin_ephemeris(near_phobos, tmp_path, monkeypatch):
    from dataclasses import replace

    res = replace(near_phobos, phobos=None)
    write_outputs(res, tmp_path, oem=False, timeseries=None, summary=False, files=False, spk=True)
    got = _spice_states(tmp_path, monkeypatch, res.hill.t, "PHOBOS_HILL")
    assert np.linalg.norm(got[:, :3] - res.hill.states[:, :3], axis=1).max() < 1e-6
    res.metadata = {"scenario": {"ephemeris": {"backend": "spice", "kernels": ["de440.bsp"]}}}
    with pytest.raises(InputError, match="RunResult.phobos"):
        write_outputs(res, tmp_path / "x", oem=False, timeseries=None, summary=False, files=False, spk=True)


def test_metakernel_refuses_paths():
    assert "'$RUN/a.bsp'" in metakernel_text(["a.bsp"])
    with pytest.raises(InputError):
        metakernel_text(["../a.bsp"])
