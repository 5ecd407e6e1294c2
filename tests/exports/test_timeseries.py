"""Time-series export (CSV and Parquet)."""

from __future__ import annotations

import csv
import sys

import numpy as np
import pytest

from mmxsim.errors import InputError
from mmxsim.exports.timeseries import write_timeseries

STATE = ["x_km", "y_km", "z_km", "vx_km_s", "vy_km_s", "vz_km_s"]
COLUMNS = (["time_tdb_iso", "t_tdb_s"] + STATE + ["hill_" + c for c in STATE]
           + ["distance_phobos_km", "altitude_phobos_km"])


def test_csv(result, tmp_path):
    path = write_timeseries(result, tmp_path / "ts.csv")
    with path.open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == COLUMNS
    body = rows[1:]
    assert len(body) == result.trajectory.t.size
    num = np.array([[float(v) for v in r[1:]] for r in body])
    np.testing.assert_allclose(num[:, 0], result.trajectory.t, rtol=1e-15, atol=0)
    np.testing.assert_allclose(num[:, 1:7], result.trajectory.states, rtol=1e-15, atol=1e-18)
    np.testing.assert_allclose(num[:, 7:13], result.hill.states, rtol=1e-15, atol=1e-18)
    np.testing.assert_allclose(num[:, 13], result.distance_phobos_km, rtol=1e-15)
    np.testing.assert_allclose(num[:, 14], result.altitude_phobos_km, rtol=1e-15)
    # ISO epochs agree with the seconds to the microsecond
    j2000 = np.datetime64("2000-01-01T12:00:00", "us")
    us = np.array([(np.datetime64(r[0], "us") - j2000).astype(np.int64) for r in body])
    iso_s = us // 1_000_000 + (us % 1_000_000) * 1e-6
    assert np.max(np.abs(iso_s - result.trajectory.t)) <= 0.5e-6 + 1e-9
    assert body[0][0].startswith("2027-08-26T00:00:00.")


def test_parquet(result, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    path = write_timeseries(result, tmp_path / "ts.parquet", fmt="parquet")
    table = pq.read_table(path)
    assert table.column_names == COLUMNS
    np.testing.assert_array_equal(table.column("t_tdb_s").to_numpy(), result.trajectory.t)
    np.testing.assert_array_equal(table.column("hill_vy_km_s").to_numpy(), result.hill.states[:, 4])
    assert table.schema.metadata[b"mmxsim.scenario"] == result.scenario_name.encode()


def test_parquet_without_pyarrow(result, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow -> ImportError
    with pytest.raises(InputError) as err:
        write_timeseries(result, tmp_path / "ts.parquet", fmt="parquet")
    assert err.value.field == "outputs.timeseries"
    assert err.value.value == "parquet"
    assert "install pyarrow" in err.value.allowed
    assert not (tmp_path / "ts.parquet").exists()


def test_unknown_format(result, tmp_path):
    with pytest.raises(InputError, match="outputs.timeseries"):
        write_timeseries(result, tmp_path / "ts.xlsx", fmt="xlsx")
