"""A reader for SPICE text kernels (PCK, LSK): the ``\\begindata`` assignments.

Only what we need: ``NAME = ( values )`` and ``NAME += (...)``, numbers in
Fortran or C notation, quoted strings, and ``@`` dates are kept as strings.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

_ASSIGN = re.compile(r"([A-Za-z0-9_]+)\s*(\+?=)\s*(\([^)]*\)|'[^']*'|[^\s]+)", re.S)


def _value(tok: str):
    tok = tok.strip()
    if tok.startswith("'"):
        return tok.strip("'")
    if tok.startswith("@"):
        return tok
    return float(tok.replace("D", "E").replace("d", "e"))


@lru_cache(maxsize=16)
def read_text_kernel(path: str | Path) -> dict[str, tuple]:
    """Return ``{VARIABLE: (values...)}`` for every assignment in data blocks."""
    text = Path(path).read_text(encoding="latin-1")
    out: dict[str, list] = {}
    in_data = False
    chunks: list[str] = []
    for line in text.splitlines():
        s = line.strip()
        if s == "\\begindata":
            in_data = True
            continue
        if s == "\\begintext":
            in_data = False
            continue
        if in_data:
            chunks.append(line)
    body = "\n".join(chunks)
    for name, op, raw in _ASSIGN.findall(body):
        if raw.startswith("("):
            toks = re.findall(r"'[^']*'|@[^\s,)]+|[^\s,()]+", raw[1:-1])
        else:
            toks = [raw]
        vals = [_value(t) for t in toks]
        if op == "+=" and name in out:
            out[name].extend(vals)
        else:
            out[name] = vals
    return {k: tuple(v) for k, v in out.items()}
