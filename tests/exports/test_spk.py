"""SPICE SPK export: read back with spiceypy (furnsh + spkezr) to < 1 mm.

Checks: (1) at the written epochs the kernel returns the states (< 1 um); (2) between
them the Hermite interpolant matches an independent truth: the analytic two-body orbit
of the synthetic trajectory, and a real run sampled twice as densely (same integration,
so the dense samples are the truth at the integrator's accuracy), both < 1 mm; (3) the
kernel's own metadata (body, centre, frame, coverage, comments) through SPICE calls.
"""

from __future__ import annotations

import numpy as np
import pytest

sp = pytest.importorskip("spiceypy")

from mmxsim.errors import InputError  # noqa: E402
from mmxsim.exports.spk import MMX_NAIF_ID, read_spk_states, write_spk  # noqa: E402
from mmxsim.results import Trajectory  # noqa: E402


def _kepler(synthetic, step=600.0, days=2.0):
    t = synthetic.T0 + np.arange(0.0, days * 86400.0 + 1.0, step)
    return Trajectory(t, synthetic.kepler_states(t))


def test_mmx_naif_id_is_spice_builtin():
    # the ID we document is the one in the SPICE Toolkit's own name table
    assert sp.bodn2c("MMX") == MMX_NAIF_ID == -239
    assert sp.bodn2c("MARTIAN MOONS EXPLORATION") == -239


def test_states_read_back_at_sample_epochs(synthetic, tmp_path):
    traj = _kepler(synthetic)
    path = write_spk(traj, tmp_path / "mmx.bsp")
    got = read_spk_states(path, traj.t, target="MMX", center="MARS")
    dr = np.linalg.norm(got[:, :3] - traj.states[:, :3], axis=1).max()
    dv = np.linalg.norm(got[:, 3:] - traj.states[:, 3:], axis=1).max()
    print(f"SPK at samples: max |dr| = {dr * 1e6:.3g} mm, max |dv| = {dv * 1e6:.3g} mm/s")
    assert dr < 1e-9  # km: 1 um
    assert dv < 1e-12


@pytest.mark.parametrize("segment_type, degree, tol_mm", [(13, 15, 0.01), (13, 7, 1.0)])
def test_interpolation_between_samples_matches_the_analytic_orbit(synthetic, tmp_path, segment_type, degree,
                                                                  tol_mm):
    traj = _kepler(synthetic, step=600.0)
    path = write_spk(traj, tmp_path / "mmx.bsp", segment_type=segment_type, degree=degree)
    tm = 0.5 * (traj.t[:-1] + traj.t[1:])  # furthest from the samples
    got = read_spk_states(path, tm)
    truth = synthetic.kepler_states(tm)
    dr_mm = np.linalg.norm(got[:, :3] - truth[:, :3], axis=1).max() * 1e6
    print(f"SPK type {segment_type} degree {degree}, 600 s samples: mid-step max |dr| = {dr_mm:.3g} mm")
    assert dr_mm < tol_mm


def test_type9_lagrange_is_also_written(synthetic, tmp_path):
    traj = _kepler(synthetic, step=300.0, days=0.5)
    path = write_spk(traj, tmp_path / "l.bsp", segment_type=9, degree=11)
    tm = 0.5 * (traj.t[:-1] + traj.t[1:])
    dr_mm = np.linalg.norm(read_spk_states(path, tm)[:, :3] - synthetic.kepler_states(tm)[:, :3], axis=1).max() * 1e6
    assert dr_mm < 1.0


def test_real_run_spk_between_samples_against_a_denser_run(tmp_path):
    from mmxsim.mission.runner import run_scenario
    from mmxsim.scenario import parse_scenario

    base = {"name": "spk", "epoch": "2027-09-01T00:00:00", "duration_days": 1.0,
            "initial_state": {"type": "qso", "radial_semi_axis_km": 50},
            "force_model": {"phobos": {"model": "point_mass"}, "srp": {"enabled": False}}}
    coarse = run_scenario(parse_scenario({**base, "propagation": {"output_step_s": 600}}))
    dense = run_scenario(parse_scenario({**base, "propagation": {"output_step_s": 300}}))
    assert coarse.termination == dense.termination == "span completed"  # a smooth arc, no impact
    path = write_spk(coarse.trajectory, tmp_path / "run.bsp")
    odd = dense.trajectory.t[1::2][:-1]  # the epochs the coarse file does not hold
    got = read_spk_states(path, odd)
    truth = dense.trajectory.states[1::2][:-1]
    dr_mm = np.linalg.norm(got[:, :3] - truth[:, :3], axis=1).max() * 1e6
    print(f"SPK of a 600 s run vs the 300 s run at the odd epochs: max |dr| = {dr_mm:.3g} mm")
    assert dr_mm < 1.0


def test_kernel_metadata_through_spice(synthetic, tmp_path):
    traj = _kepler(synthetic, days=0.5)
    path = str(write_spk(traj, tmp_path / "m.bsp", comments=["mmxsim test kernel", "x" * 200]))
    ids = sp.spkobj(path)
    assert [ids[i] for i in range(sp.card(ids))] == [-239]
    cov = sp.spkcov(path, -239)
    assert sp.wncard(cov) == 1
    assert sp.wnfetd(cov, 0) == (traj.t[0], traj.t[-1])
    handle = sp.dafopr(path)
    try:
        comments = sp.dafec(handle, 100, 1000)[1]
        sp.dafbfs(handle)
        assert sp.daffna()
        dc, ic = sp.dafus(sp.dafgs(), 2, 6)
        # integer summary: body, centre, frame, type, begin, end addresses
        assert list(ic[:4]) == [-239, 499, sp.namfrm("J2000"), 13]
        assert tuple(dc) == (traj.t[0], traj.t[-1])
    finally:
        sp.dafcls(handle)
    assert comments[0] == "mmxsim test kernel" and all(len(c) <= 78 for c in comments)


def test_repeated_and_reversed_epochs(synthetic, tmp_path):
    traj = _kepler(synthetic, days=0.25)
    t = np.r_[traj.t, traj.t[-1]]
    x = np.vstack([traj.states, traj.states[-1]])
    rev = Trajectory(t[::-1], x[::-1])
    got = read_spk_states(write_spk(rev, tmp_path / "r.bsp"), traj.t)
    assert np.abs(got - traj.states).max() < 1e-9


@pytest.mark.parametrize("kw, field", [({"segment_type": 5}, "segment_type"), ({"degree": 8}, "degree"),
                                       ({"naif_id": 499}, "naif_id"), ({"segment_id": "x" * 41}, "segment_id")])
def test_bad_options(synthetic, tmp_path, kw, field):
    with pytest.raises(InputError) as ei:
        write_spk(_kepler(synthetic, days=0.1), tmp_path / "b.bsp", **kw)
    assert ei.value.field == field


def test_body_fixed_or_unknown_centre_refused(synthetic, tmp_path):
    tr = _kepler(synthetic, days=0.1)
    with pytest.raises(InputError, match="ICRF"):
        write_spk(Trajectory(tr.t, tr.states, frame="MARS_FIXED"), tmp_path / "f.bsp")
    with pytest.raises(InputError, match="center_id"):
        write_spk(Trajectory(tr.t, tr.states, center="VESTA"), tmp_path / "c.bsp")
    p = write_spk(Trajectory(tr.t, tr.states, center="VESTA"), tmp_path / "c.bsp", center_id=2000004)
    assert np.abs(read_spk_states(p, tr.t[:3], center=2000004) - tr.states[:3]).max() < 1e-9


def test_write_outputs_spk_flag(result, tmp_path):
    from mmxsim.app import write_outputs

    paths = write_outputs(result, tmp_path, oem=False, timeseries=None, summary=False, report=False)
    assert "spk" not in paths and not (tmp_path / "trajectory.bsp").exists()  # off by default
    paths = write_outputs(result, tmp_path, oem=False, timeseries=None, summary=False, report=False, spk=True)
    got = read_spk_states(paths["spk"], result.trajectory.t)
    assert np.abs(got - result.trajectory.states).max() < 1e-9
