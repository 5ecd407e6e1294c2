"""`mmxsim qso`: family table, CSV and plot; bad input exits 2."""

import csv

from typer.testing import CliRunner

from mmxsim.cli import app


def test_qso_family_command(tmp_path):
    r = CliRunner().invoke(app, ["qso", "--degree", "2", "--sizes", "100,50,30", "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "k_planar" in r.output
    rows = [row for row in csv.reader(open(tmp_path / "qso_family.csv")) if row and not row[0].startswith("#")]
    assert rows[0][0] == "size_km" and len(rows) == 4
    # each member is on the family: radial semi-axis within 1 % of the requested size, period < 2 pi / n
    for row in rows[1:]:
        size, radial, period = float(row[0]), float(row[1]), float(row[3])
        assert abs(radial - size) < 0.01 * size
        assert period < 7.66 * 3600
    assert (tmp_path / "qso_family.png").stat().st_size > 10_000


def test_qso_bad_sizes_exit_2(tmp_path):
    for bad in (["--sizes", "abc"], ["--sizes", "5"], ["--degree", "11"]):
        r = CliRunner().invoke(app, ["qso", *bad, "--out", str(tmp_path)])
        assert r.exit_code == 2, (bad, r.output)
        assert "Traceback" not in r.output
