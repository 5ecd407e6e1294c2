"""OEM 2.0 covariance blocks (CCSDS 502.0-B-2 §5.2.5): round trip, independent readers, bad input."""

from __future__ import annotations


import numpy as np
import pytest

from mmxsim.errors import DataFileError, InputError
from mmxsim.exports.oem import OemCovariance, read_oem, write_oem
from mmxsim.results import Trajectory

T0 = 872_510_400.0  # 2027-08-26T00:00:00 TDB


def _case(n_cov=4, seed=3):
    rng = np.random.default_rng(seed)
    t = T0 + 60.0 * np.arange(10)
    states = rng.normal(size=(10, 6)) * [1e4, 1e4, 1e4, 1, 1, 1]
    traj = Trajectory(t=t, states=states, frame="ICRF", center="MARS")
    a = rng.normal(size=(n_cov, 6, 6)) * np.array([1e-3, 1e-3, 1e-3, 1e-6, 1e-6, 1e-6])[:, None]
    cov = a @ np.swapaxes(a, 1, 2)  # km^2, km^2/s, km^2/s^2 magnitudes
    return traj, OemCovariance(t[: 2 * n_cov : 2], cov, "RTN")


def test_covariance_round_trip_bit_exact(tmp_path):
    """Reference: the matrices and epochs written. Tolerance: none (17 significant digits)."""
    traj, cov = _case()
    path = write_oem(traj, tmp_path / "c.oem", covariance=cov)
    text = path.read_text()
    assert text.count("COVARIANCE_START") == 1 and text.count("EPOCH = ") == 4
    assert text.count("COV_REF_FRAME = RTN") == 4
    back, bcov = read_oem(path, covariance=True)
    assert np.array_equal(back.states, traj.states) and np.array_equal(back.t, traj.t)
    assert np.array_equal(bcov.matrices, cov.matrices) and np.array_equal(bcov.t, cov.t)
    assert bcov.frame == "RTN"
    # existing callers: read_oem(path) is still just the trajectory
    plain = read_oem(path)
    assert isinstance(plain, Trajectory) and np.array_equal(plain.states, traj.states)
    # without COV_REF_FRAME the covariance is in REF_FRAME
    traj2, cov2 = _case(n_cov=1)
    cov2.frame = None
    p2 = write_oem(traj2, tmp_path / "d.oem", covariance=cov2)
    assert "COV_REF_FRAME" not in p2.read_text()
    assert read_oem(p2, covariance=True)[1].frame == "ICRF"
    # no covariance in the file
    p3 = write_oem(traj2, tmp_path / "e.oem")
    assert read_oem(p3, covariance=True)[1] is None


def test_covariance_lower_triangle_layout(tmp_path):
    """Reference: 502.0-B-2 §5.2.5 row layout (row i holds C[i, 0..i]). Tolerance: exact."""
    traj, _ = _case()
    m = np.arange(36, dtype=float).reshape(6, 6)
    m = m + m.T
    path = write_oem(traj, tmp_path / "l.oem", covariance=OemCovariance([T0], m))
    lines = path.read_text().split("COVARIANCE_START\n", 1)[1].splitlines()
    assert lines[0] == "EPOCH = 2027-08-26T00:00:00.000000000"
    rows = [[float(v) for v in line.split()] for line in lines[1:7]]
    assert [len(r) for r in rows] == [1, 2, 3, 4, 5, 6]
    for i, r in enumerate(rows):
        assert r == list(m[i, : i + 1])
    assert lines[7] == "COVARIANCE_STOP"


def test_covariance_read_by_ccsds_ndm(tmp_path):
    """Independent readers of the KVN file: ccsds-ndm (GPL, tests only: its NdmIo reads KVN) and
    ccsds-ndm-py (MPL-2.0; ``covariance_matrix_numpy``). Reference: the matrices written.
    Tolerance: bit-exact."""
    ndm = pytest.importorskip("ccsds_ndm")
    traj, cov = _case()
    path = write_oem(traj, tmp_path / "c.oem", covariance=cov)
    checked = 0
    try:
        from ccsds_ndm.ndm_io import NdmIo
    except ImportError:
        NdmIo = None
    if NdmIo is not None:
        oem = NdmIo().from_path(path)
        (seg,) = oem.body.segment
        blocks = seg.data.covariance_matrix
        assert len(blocks) == 4
        names = ["x", "y", "z", "x_dot", "y_dot", "z_dot"]
        for b, m in zip(blocks, cov.matrices):
            assert b.cov_ref_frame == "RTN"
            for i in range(6):
                for j in range(i + 1):
                    assert getattr(b, f"c{names[i]}_{names[j]}").value == m[i, j]
        checked += 1
    if hasattr(ndm, "from_str"):
        msg = ndm.from_str(path.read_text())
        data = msg.segments[0].data
        assert np.array_equal(np.asarray(data.covariance_matrix_numpy), cov.matrices)
        assert list(data.covariance_matrix_epochs) == [f"2027-08-26T00:{2 * k:02d}:00.000000000" for k in range(4)]
        checked += 1
    if not checked:
        pytest.skip("neither ccsds-ndm reader usable")


@pytest.mark.jvm
def test_covariance_read_by_orekit(tmp_path, erfa_tai_utc):
    """Orekit's OemParser (orekit-jpype, optional). Reference: the matrices written (Orekit returns
    SI: m^2, m^2/s, m^2/s^2 -> x 1e6). Tolerance: 1e-15 relative (unit conversion)."""
    pytest.importorskip("orekit_jpype")
    import shutil

    if shutil.which("java") is None:
        pytest.skip("no Java runtime")
    import jpype
    import orekit_jpype

    if not jpype.isJVMStarted():
        orekit_jpype.initVM()
    from java.io import File
    from org.orekit.data import DataContext, DataSource, DirectoryCrawler
    from org.orekit.files.ccsds.ndm import ParserBuilder

    folder = erfa_tai_utc
    DataContext.getDefault().getDataProvidersManager().addProvider(DirectoryCrawler(File(str(folder))))

    traj, cov = _case()
    traj = Trajectory(t=traj.t, states=traj.states, frame="ICRF", center="PHOBOS")
    # Orekit resolves known centres (EARTH, MARS) and ICRF through JPL ephemerides, which we do not
    # ship; a centre it does not know (PHOBOS) and EME2000 axes need none
    path = write_oem(traj, tmp_path / "c.oem", covariance=cov, ref_frame="EME2000")
    oem = ParserBuilder().withMu(3.986004418e14).buildOemParser().parseMessage(DataSource(File(str(path))))
    seg = oem.getSegments().get(0)
    covs = list(seg.getData().getCovarianceMatrices())
    assert len(covs) == 4
    worst = 0.0
    for c, m in zip(covs, cov.matrices):
        got = np.array(c.getCovarianceMatrix().getData()) / 1e6
        worst = max(worst, np.max(np.abs(got - m) / np.abs(m).max()))
        assert str(c.getReferenceFrame().getName()) == "RTN"
    assert worst < 1e-15, worst


def test_covariance_bad_input(tmp_path):
    """Bad covariances -> InputError naming the field; a truncated block -> DataFileError with line."""
    traj, cov = _case()
    with pytest.raises(InputError, match="shape"):
        OemCovariance([T0, T0 + 60], np.eye(6))
    with pytest.raises(InputError, match="symmetric"):
        OemCovariance([T0], np.triu(np.ones((6, 6))))
    with pytest.raises(InputError, match="finite"):
        OemCovariance([T0], np.full((6, 6), np.nan))
    with pytest.raises(InputError, match="OemCovariance"):
        write_oem(traj, tmp_path / "x.oem", covariance=np.eye(6))
    path = write_oem(traj, tmp_path / "t.oem", covariance=cov)
    text = path.read_text().splitlines()
    i = text.index("COVARIANCE_STOP")
    bad = tmp_path / "bad.oem"
    bad.write_text("\n".join(text[: i - 1] + text[i:]) + "\n")  # drop the last row (6 values)
    with pytest.raises(DataFileError, match=r"15 of 21"):
        read_oem(bad, covariance=True)
