"""One sample of a campaign: its record, and its run through the whole scenario (the per-sample path).

Shared by :mod:`.runner` (which schedules samples) and :mod:`.ensemble` (which falls back to
:func:`run_sample` for a sample it cannot fly, and builds its records with the same helpers).
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

from .spec import CampaignSpec, get_path

__all__ = ["run_sample", "pick_outputs", "new_record", "fail_record"]


def _scalar(v: Any) -> Any:
    if isinstance(v, dict) and "value" in v:  # an extremum record {value, epoch_tdb, t_tdb_s}
        v = v["value"]
    if v is None or isinstance(v, (bool, int, str)):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    return json.dumps(v, sort_keys=True)


def pick_outputs(summary: dict, outputs) -> dict[str, Any]:
    """``{'out.<path>': value}`` from a summary; ``KeyError`` (naming what exists) if absent."""
    out = {}
    for o in outputs:
        try:
            out[f"out.{o}"] = _scalar(get_path(summary, o))
        except KeyError as exc:
            raise KeyError(f"output {exc.args[0]}") from None
    return out


def new_record(spec: CampaignSpec, index: int, seed: int, values: dict) -> dict:
    """A sample's record before its run: ids, inputs, outputs ``None``."""
    rec: dict[str, Any] = {"index": int(index), "seed": seed, "grid_index": int(index) // spec.samples,
                           "draw_index": int(index) % spec.samples}
    rec.update({f"in.{k}": v for k, v in values.items()})
    rec.update({f"out.{o}": None for o in spec.outputs})
    return rec


def fail_record(rec: dict, exc: BaseException) -> None:
    """Mark ``rec`` failed with the error's type and text (a KeyError's message, not its repr)."""
    msg = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    rec["status"], rec["error"] = "failed", f"{type(exc).__name__}: {msg}"


def run_sample(spec: CampaignSpec, index: int) -> dict:
    """Run sample ``index`` of ``spec`` and return its record (never raises for a bad sample).

    The record has the columns of :func:`result_columns`. Reproducible alone: the
    same spec and index give the same inputs and outputs on any machine.
    """
    from ..results import build_summary
    from ..mission.runner import run_scenario
    from ..scenario import parse_scenario

    t = time.perf_counter()
    seed, values = spec.inputs(index)
    rec = new_record(spec, index, seed, values)
    try:
        data = spec.scenario_data(values)
        data["name"] = f"{spec.name}-{index}"[:80]
        scen = parse_scenario(data, f"{spec.name} sample {index}", base_dir=spec.base_dir)
        result = run_scenario(scen, spec.base_dir)
        rec.update(pick_outputs(build_summary(result), spec.outputs))
        rec["status"], rec["error"] = "ok", None
    except Exception as exc:  # noqa: BLE001 - every failure is recorded, never dropped
        fail_record(rec, exc)
    rec["path"] = "scenario"
    rec["wall_s"] = time.perf_counter() - t
    return rec
