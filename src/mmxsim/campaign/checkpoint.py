"""Crash-safe campaign results: one small JSON part per finished sample, merged to Parquet.

Layout of a campaign folder::

    <out>/campaign.json          the spec (and its SHA-256), written first
    <out>/parts/sample-000042.json   one record per finished sample (ok or failed)
    <out>/results.parquet        all records, one row per sample, sorted by index

Every file is written to a temporary name in the same folder, flushed, fsync'ed and
then renamed over its final name (``os.replace`` is atomic on POSIX), so a process
killed at any instant (SIGKILL, power loss of the client) leaves either the whole
part or none of it, never a truncated one. A restart reads the parts that exist,
skips those samples and runs the rest; stray temporary files are removed.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any, Iterable

from ..errors import InputError
from ..files import atomic_write, remove_stale_temporaries

__all__ = [
    "MANIFEST",
    "PARTS",
    "RESULTS",
    "atomic_write",
    "open_campaign_dir",
    "write_part",
    "read_parts",
    "records_to_table",
    "write_results",
]

MANIFEST = "campaign.json"
PARTS = "parts"
RESULTS = "results.parquet"
SCHEMA = "mmxsim.campaign/1"
_PART = re.compile(r"^sample-(\d+)\.json$")


def _clean(obj: Any) -> Any:
    """JSON-safe copy: NaN/inf -> None, tuples -> lists, numpy scalars -> Python."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy scalar
        return _clean(obj.item())
    return obj


def open_campaign_dir(out_dir, manifest: dict, *, fresh: bool = False) -> Path:
    """Create (or reopen) a campaign folder for the spec in ``manifest``.

    ``manifest`` must carry ``digest``. Reopening a folder whose ``campaign.json`` has
    another digest raises :class:`InputError` (results of two campaigns never mix)
    unless ``fresh`` is true, which deletes the old parts and results first.
    Temporary files left by a killed run are removed.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    parts = out / PARTS
    man = out / MANIFEST
    if man.exists() and not fresh:
        try:
            old = json.loads(man.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = {}
        if old.get("digest") != manifest["digest"]:
            raise InputError("campaign output folder", str(out),
                             "an empty folder or one holding this same campaign (its campaign.json describes "
                             f"another campaign, {old.get('name', '?')!r}); pick another --out or pass --fresh "
                             "to delete its results")
    if fresh:
        for p in list(parts.glob("*")) if parts.exists() else []:
            p.unlink()
        for p in (out / RESULTS, man):
            if p.exists():
                p.unlink()
    parts.mkdir(exist_ok=True)
    remove_stale_temporaries(parts)  # left by a killed writer
    remove_stale_temporaries(out)
    if not man.exists():
        atomic_write(man, (json.dumps({"schema": SCHEMA, **manifest}, indent=2, allow_nan=False) + "\n").encode())
    return out


def part_path(out_dir, index: int) -> Path:
    return Path(out_dir) / PARTS / f"sample-{int(index):06d}.json"


def write_part(out_dir, record: dict) -> Path:
    """Write one sample's record atomically; returns its path."""
    text = json.dumps(_clean(record), allow_nan=False, sort_keys=False)
    return atomic_write(part_path(out_dir, record["index"]), text.encode())


def read_parts(out_dir) -> dict[int, dict]:
    """``{index: record}`` of every finished sample in ``out_dir/parts``.

    A part that cannot be read (which atomic writes make impossible short of disk
    corruption or a hand edit) is deleted so that its sample runs again.
    """
    parts = Path(out_dir) / PARTS
    out: dict[int, dict] = {}
    if not parts.is_dir():
        return out
    for p in parts.iterdir():
        m = _PART.match(p.name)
        if not m:
            continue
        try:
            rec = json.loads(p.read_text(encoding="utf-8"))
            if int(rec["index"]) != int(m.group(1)):
                raise ValueError("index mismatch")
        except (OSError, ValueError, KeyError, TypeError):
            p.unlink(missing_ok=True)
            continue
        out[int(rec["index"])] = rec
    return out


def _column(values: list):
    """A pyarrow array; values of mixed kinds (numbers and text...) become JSON text."""
    import pyarrow as pa

    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        return pa.array([None if v is None else v if isinstance(v, str) else json.dumps(v) for v in values],
                        type=pa.string())


def records_to_table(records: Iterable[dict], columns: list[str] | None = None):
    """A pyarrow Table of records sorted by ``index`` (columns in ``columns`` order)."""
    import pyarrow as pa

    recs = sorted(records, key=lambda r: r["index"])
    if columns is None:
        columns = []
        for r in recs:
            columns += [k for k in r if k not in columns]
    data = {c: _column([r.get(c) for r in recs]) for c in columns}
    return pa.table(data)


def write_results(out_dir, table) -> Path:
    """Write ``results.parquet`` atomically."""
    import io

    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pq.write_table(table, buf)
    return atomic_write(Path(out_dir) / RESULTS, buf.getvalue())
