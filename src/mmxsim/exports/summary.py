"""``summary.json``: the key numbers of a run, for people and scripts.

The content is built by :func:`mmxsim.results.summary.build_summary` (beside the results model,
so that the report reads it too); this module writes it. Epochs are ISO 8601 TDB strings
(millisecond precision) with the TDB seconds past J2000 beside them. Non-finite numbers are
written as ``null`` so the file is strict JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..results import RunResult
from ..results.summary import SCHEMA, build_summary, event_dict, to_jsonable

__all__ = ["build_summary", "write_summary", "to_jsonable", "event_dict", "SCHEMA"]


def write_summary(result: RunResult, path) -> Path:
    """Write ``summary.json`` for ``result`` and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(build_summary(result), indent=2, allow_nan=False, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")
    return path
