"""The layering rule of docs/design.md §2: a lower layer never imports a higher one (including
the lazy imports inside functions). Parsed from the source with ``ast``."""

from __future__ import annotations

import ast
from pathlib import Path

import mmxsim

ROOT = Path(mmxsim.__file__).parent
LAYER = {
    "errors": 0, "_data": 0, "mathns": 0, "_accel": 0,
    "bodies": 1, "time": 1, "frames": 1, "ephemeris": 1, "ephemeris_table": 1,
    "gravity": 2, "dynamics": 2,
    "orbits": 3,
    "comms": 4, "surface": 4, "instruments": 4, "science": 4, "earth_return": 4,
    "scenario": 5, "results": 5,
    "analyses": 6,
    # exports and report go above mission once the runner no longer writes files (issue 14)
    "mission": 7, "partners": 7, "exports": 7, "report": 7,
    "cli": 8, "campaign": 8, "__init__": 8,
}


def _top(mod_path: Path) -> str:
    rel = mod_path.relative_to(ROOT).with_suffix("")
    return rel.parts[0]


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    pkg = path.relative_to(ROOT).with_suffix("").parts[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(pkg[: len(pkg) - node.level + 1])
                target = base + (node.module.split(".") if node.module else [])
                if not target:  # "from . import x" at the package top
                    target = [a.name for a in node.names]
            elif node.module and node.module.startswith("mmxsim"):
                target = node.module.split(".")[1:] or [a.name for a in node.names]
            else:
                continue
            yield node.lineno, target[0]
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("mmxsim."):
                    yield node.lineno, a.name.split(".")[1]


def _violations(layer):
    bad = []
    for path in ROOT.rglob("*.py"):
        top = _top(path)
        if top not in layer:
            bad.append(f"{path}: package {top!r} has no layer in this test (add it to docs/design.md and here)")
            continue
        for line, target in _imports(path):
            if target in layer and layer[target] > layer[top]:
                bad.append(f"{path.relative_to(ROOT)}:{line} (layer {layer[top]}) imports {target} "
                           f"(layer {layer[target]})")
    return bad


def test_no_lower_layer_imports_a_higher_one():
    bad = _violations(LAYER)
    assert not bad, "\n".join(bad)


def test_the_checker_can_fail():
    """Raise `errors` above everything: every module that imports it (lazily or not) is flagged,
    among them a lazy import inside a function (comms.visibility imports stations lazily)."""
    bad = _violations({**LAYER, "errors": 9, "comms": 0})
    assert any("comms/visibility.py" in b and "imports comms" not in b for b in bad)
    assert sum("imports errors" in b for b in bad) > 20
