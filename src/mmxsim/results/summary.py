"""The summary of a run (what ``summary.json`` holds): its key numbers, for people and scripts.

Here, beside the results model, so that :mod:`mmxsim.exports` (which writes it) and
:mod:`mmxsim.report` (which shows parts of it) both read it without importing each other.

Epochs are ISO 8601 TDB strings (millisecond precision) with the TDB seconds past
J2000 beside them. Non-finite numbers are written as ``null`` so the file is
strict JSON.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..time import iso_tdb

__all__ = ["build_summary", "event_dict", "to_jsonable", "SCHEMA"]

SCHEMA = "mmxsim.summary/1"


def to_jsonable(obj):
    """``obj`` with NumPy types turned into Python ones and NaN/inf into ``None``."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)) and not isinstance(obj, np.bool_):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "model_dump"):  # pydantic models (scenario echo)
        return to_jsonable(obj.model_dump())
    if hasattr(obj, "__dataclass_fields__"):
        from dataclasses import asdict

        return to_jsonable(asdict(obj))
    return str(obj)


def _iso(t) -> str | None:
    return None if t is None or not math.isfinite(float(t)) else str(iso_tdb(float(t), precision=3))


def _extremum(values: np.ndarray, t: np.ndarray, kind: str) -> dict:
    """{value, epoch_tdb, t_tdb_s} of the min or max of ``values`` (NaN ignored)."""
    a = np.asarray(values, dtype=float).reshape(-1)
    ok = np.isfinite(a)
    if a.size == 0 or a.size != t.size or not ok.any():
        return {"value": None, "epoch_tdb": None, "t_tdb_s": None}
    idx = np.flatnonzero(ok)
    i = idx[np.argmin(a[ok])] if kind == "min" else idx[np.argmax(a[ok])]
    return {"value": float(a[i]), "epoch_tdb": _iso(t[i]), "t_tdb_s": float(t[i])}


def event_dict(ev, t0: float | None = None) -> dict:
    """One :class:`~mmxsim.results.Event` as a JSON-ready dict."""
    d = {
        "kind": ev.kind,
        "body": ev.body,
        "time_tdb": _iso(ev.t),
        "t_tdb_s": float(ev.t),
        "terminal": bool(ev.terminal),
        "details": ev.details,
    }
    if t0 is not None:
        d["days_since_start"] = (float(ev.t) - t0) / 86400.0
    return d


def build_summary(result) -> dict:
    """The summary of ``result`` (a :class:`~mmxsim.results.RunResult`) as a JSON-ready dict."""
    traj = result.trajectory
    t = traj.t
    n = int(t.size)
    if n:
        t0, t1 = float(t[0]), float(t[-1])
        span = {
            "start_tdb": _iso(t0),
            "stop_tdb": _iso(t1),
            "start_t_tdb_s": t0,
            "stop_t_tdb_s": t1,
            "duration_s": t1 - t0,
            "duration_days": (t1 - t0) / 86400.0,
        }
    else:
        t0 = None
        span = {"start_tdb": None, "stop_tdb": None, "duration_s": 0.0, "duration_days": 0.0}
    summary = {
        "schema": SCHEMA,
        "scenario": result.scenario_name,
        "termination": result.termination,
        "span": span,
        "samples": n,
        "frame": {"center": traj.center, "frame": traj.frame, "object_name": traj.object_name},
        "distance_phobos_km": {
            "min": _extremum(result.distance_phobos_km, t, "min"),
            "max": _extremum(result.distance_phobos_km, t, "max"),
        },
        "altitude_phobos_km": {
            "surface": result.altitude_surface or None,
            "min": _extremum(result.altitude_phobos_km, t, "min"),
            "max": _extremum(result.altitude_phobos_km, t, "max"),
        },
        "events": [event_dict(e, t0) for e in result.events],
        "timings_s": result.timings,
        "force_model": list(result.force_model),
        "assumptions": list(result.assumptions),
        "metadata": result.metadata,
    }
    if result.sections:
        summary["analyses"] = {sec.key: {"title": sec.title, **sec.data, "assumptions": list(sec.assumptions),
                                         "seconds": sec.seconds, **({"timings_s": dict(sec.timings)} if sec.timings else {})}
                             for sec in result.sections}
    return to_jsonable(summary)
