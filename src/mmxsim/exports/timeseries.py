"""Time series of a run: one row per sample, as CSV or Parquet.

Columns (units in the names):

``time_tdb_iso``
    epoch, ISO 8601 TDB, microseconds
``t_tdb_s``
    TDB seconds past J2000
``x_km, y_km, z_km, vx_km_s, vy_km_s, vz_km_s``
    state in the propagation frame (Mars-centred ICRF)
``hill_x_km ... hill_vz_km_s``
    state in the Phobos Hill frame (x radial out from Mars, y along track)
``distance_phobos_km, altitude_phobos_km``
    distance to Phobos' centre and altitude above its surface model

Parquet needs ``pyarrow`` (``pip install mmxsim[parquet]``), imported only here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError
from ..results import RunResult
from .oem import format_epochs

__all__ = ["write_timeseries", "timeseries_columns", "FORMATS"]

FORMATS = ("csv", "parquet")
_STATE = ("x_km", "y_km", "z_km", "vx_km_s", "vy_km_s", "vz_km_s")


def _column(values, n: int, name: str) -> np.ndarray:
    a = np.asarray(values, dtype=float).reshape(-1)
    if a.size != n:
        raise ValueError(f"{name} has {a.size} samples, the trajectory {n}")
    return a


def timeseries_columns(result: RunResult) -> dict[str, np.ndarray]:
    """The time-series columns of ``result`` (name -> 1-D array), in file order."""
    traj = result.trajectory
    n = traj.t.size
    cols: dict[str, np.ndarray] = {
        "time_tdb_iso": format_epochs(traj.t, decimals=6) if n else np.array([], dtype=str),
        "t_tdb_s": traj.t,
    }
    for i, name in enumerate(_STATE):
        cols[name] = traj.states[:, i]
    if result.hill is not None:
        if result.hill.states.shape[0] != n:
            raise ValueError(f"hill trajectory has {result.hill.states.shape[0]} samples, the trajectory {n}")
        for i, name in enumerate(_STATE):
            cols["hill_" + name] = result.hill.states[:, i]
    cols["distance_phobos_km"] = _column(result.distance_phobos_km, n, "distance_phobos_km")
    cols["altitude_phobos_km"] = _column(result.altitude_phobos_km, n, "altitude_phobos_km")
    return cols


def check_format(fmt: str) -> str:
    """Normalised format name; raises :class:`InputError` when unusable here."""
    f = str(fmt).lower().lstrip(".")
    if f not in FORMATS:
        raise InputError("outputs.timeseries", fmt, ", ".join(FORMATS))
    if f == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise InputError("outputs.timeseries", "parquet", "csv, or install pyarrow") from None
    return f


def write_timeseries(result: RunResult, path, fmt: str = "csv") -> Path:
    """Write the per-sample time series of ``result`` to ``path`` (``csv`` or ``parquet``)."""
    fmt = check_format(fmt)
    path = Path(path)
    cols = timeseries_columns(result)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({k: pa.array(v.tolist() if k == "time_tdb_iso" else v) for k, v in cols.items()})
        meta = {
            b"mmxsim.scenario": str(result.scenario_name).encode(),
            b"mmxsim.frame": f"{result.trajectory.center} {result.trajectory.frame}".encode(),
            b"mmxsim.time_scale": b"TDB",
        }
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
        pq.write_table(table, path)
        return path

    names = list(cols)
    numeric = np.column_stack([cols[k] for k in names[1:]]) if names[1:] else np.empty((0, 0))
    row = ",".join(["%s"] + ["%.16g"] * (len(names) - 1))
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(names) + "\n")
        for iso, values in zip(cols["time_tdb_iso"].tolist(), numeric.tolist()):
            fh.write(row % (iso, *values) + "\n")
    return path
