"""write_outputs (mmxsim.app): the files of `mmxsim run`; mmxsim.exports.write_outputs: the exports alone."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from mmxsim.errors import InputError
from mmxsim.app import write_outputs
from mmxsim.exports import read_oem


def test_write_outputs_all(result, tmp_path):
    out = tmp_path / "new" / "dir"
    paths = write_outputs(result, out)
    assert {k: p.name for k, p in paths.items()} == {
        "oem": "trajectory.oem", "timeseries": "timeseries.csv", "summary": "summary.json", "report": "index.html",
        "events_csv": "events.csv", "events_ics": "events.ics"}
    assert all(p.is_file() and p.parent == out for k, p in paths.items() if k != "report")
    assert paths["report"] == out / "report" / "index.html" and paths["report"].is_file()
    back = read_oem(paths["oem"])
    np.testing.assert_array_equal(back.states, result.trajectory.states)
    assert "COMMENT Scenario: synthetic QSO" in paths["oem"].read_text()


def test_write_outputs_subset_and_parquet(result, tmp_path):
    pytest.importorskip("pyarrow")
    paths = write_outputs(result, tmp_path, oem=False, timeseries="parquet", summary=False, report=False,
                          events=False)
    assert list(paths) == ["timeseries"] and paths["timeseries"].name == "timeseries.parquet"
    assert write_outputs(result, tmp_path / "none", oem=False, timeseries=None, summary=False, report=False,
                         events=False) == {}


def test_bad_timeseries_format_writes_nothing(result, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(InputError):
        write_outputs(result, tmp_path / "out", timeseries="parquet")
    assert not (tmp_path / "out").exists()


def test_exports_alone_write_neither_report_nor_events(result, tmp_path):
    """The exports package writes its formats only: the report and the event list are the
    application layer's (mmxsim.app.write_outputs)."""
    from mmxsim.exports import write_outputs as write_exports

    paths = write_exports(result, tmp_path)
    assert {k: p.name for k, p in paths.items()} == {
        "oem": "trajectory.oem", "timeseries": "timeseries.csv", "summary": "summary.json"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.json", "timeseries.csv", "trajectory.oem"]
