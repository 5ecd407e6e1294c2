"""Reading scenarios: YAML text or files (with line numbers, duplicate-key detection and
timestamps kept as text) and mappings, validated against the scenario model of
:func:`~mmxsim.scenario.schema.scenario_model` (the core schema plus every registered analysis).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .. import yamlread

from .coverage import check_coverage
from .problems import ScenarioError, got, keys_of, problems_from, show
from .schema import Scenario, scenario_model

# ---------------------------------------------------------------------------
# YAML reading (with line numbers, duplicate-key detection, timestamps left as text)


def _make_loader():
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    _Loader.yaml_implicit_resolvers = {
        k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return _Loader


def _read_yaml(text: str, source: str) -> tuple[Any, dict[str, int]]:
    import yaml
    from yaml.nodes import MappingNode, ScalarNode, SequenceNode

    lines: dict[str, int] = {}
    problems: list[tuple[str, Any, str]] = []
    text_lines = text.splitlines()

    def where(mark) -> tuple[str, str]:
        ln, col = mark.line + 1, mark.column + 1
        snippet = text_lines[mark.line].strip() if 0 <= mark.line < len(text_lines) else ""
        return f"line {ln}, column {col}", snippet

    loader = None
    try:
        try:  # bounded: size, depth, and size with aliases expanded (mmxsim.yamlread)
            loader, node = yamlread.compose(text, _make_loader(), source)
        except yamlread.YamlLimitError as exc:
            raise ScenarioError(source, [("<file>", exc.value, f"{exc.field.removeprefix(source + ': ')}: got "
                                                               f"{exc.value}; allowed: {exc.allowed}")]) from None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            loc, snippet = where(mark) if mark else ("<yaml>", "")
            what = " ".join(x for x in (exc.context, exc.problem) if x)
            raise ScenarioError(source, [(loc, snippet, f"YAML syntax error: {what} (near {snippet!r})")]) from None
        except yaml.YAMLError as exc:
            raise ScenarioError(source, [("<yaml>", None, f"YAML error: {exc}")]) from None

        active: set[int] = set()

        def build(n, path: str):
            if n is None:
                return None
            if path:
                lines.setdefault(path, n.start_mark.line + 1)
            if id(n) in active:
                loc, snip = where(n.start_mark)
                problems.append((loc, snip, "recursive YAML alias; allowed: plain values"))
                return None
            if isinstance(n, MappingNode):
                active.add(id(n))
                loader.flatten_mapping(n)
                out: dict = {}
                for kn, vn in n.value:
                    key = loader.construct_object(kn, deep=True) if isinstance(kn, ScalarNode) else None
                    child = f"{path}.{key}" if path else str(key)
                    if not isinstance(key, str):
                        loc, snip = where(kn.start_mark)
                        problems.append((child, key, got(key, "text keys only")))
                        continue
                    if key in out:
                        again = build(vn, "")
                        problems.append((child, again, f"got {show(again)} on line {kn.start_mark.line + 1}, a "
                                                       f"duplicate key (first on line {lines.get(child, '?')}); "
                                                       f"allowed: each key once"))
                        continue
                    lines[child] = kn.start_mark.line + 1
                    out[key] = build(vn, child)
                active.discard(id(n))
                return out
            if isinstance(n, SequenceNode):
                active.add(id(n))
                out_l = [build(v, f"{path}[{i}]") for i, v in enumerate(n.value)]
                active.discard(id(n))
                return out_l
            return loader.construct_object(n, deep=True)

        try:
            data = build(node, "")
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            loc, snippet = where(mark) if mark else ("<yaml>", "")
            raise ScenarioError(source, [(loc, snippet, f"YAML error: {exc.problem}")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    if problems:
        raise ScenarioError(source, problems, lines)
    return data, lines


def parse_scenario(data: Any, source: str = "<dict>", *, base_dir: str | os.PathLike | None = None,
                   coverage: bool = True, _lines: dict | None = None) -> Scenario:
    """Validate a mapping (e.g. from YAML) into a :class:`Scenario`.

    Parameters
    ----------
    data : dict
    source : str
        Name used in error messages.
    base_dir : path, optional
        Folder against which relative kernel paths are resolved (default: cwd).
    coverage : bool
        Also check that the ephemeris covers the span (:func:`check_coverage`;
        backend builtin only, SPICE coverage is checked when the run starts).

    Raises
    ------
    ScenarioError
    """
    model = scenario_model()
    if not isinstance(data, dict):
        kind = "nothing (empty document)" if data is None else f"a {type(data).__name__}"
        raise ScenarioError(source, [("<top level>", data, f"got {kind} {show(data) if data is not None else ''}"
                                      .rstrip() + f"; allowed: a mapping with keys {keys_of(model)}")])
    try:
        scenario = model.model_validate(data, context={"base_dir": str(base_dir) if base_dir else None})
    except ValidationError as exc:
        raise ScenarioError(source, problems_from(exc, model), _lines) from None
    if coverage and scenario.ephemeris.backend == "builtin":
        check_coverage(scenario, source=source, _lines=_lines)
    return scenario


def load_scenario(path_or_text: str | os.PathLike, *, source: str | None = None,
                  base_dir: str | os.PathLike | None = None, coverage: bool = True) -> Scenario:
    """Read and validate a scenario.

    ``path_or_text`` is a path (``str`` or ``Path``) to a YAML file, or YAML text: a
    ``str`` containing a newline or starting with ``{`` is taken as text. Relative
    kernel paths are resolved against the file's folder (text: ``base_dir`` or cwd).

    Raises
    ------
    ScenarioError
        For a missing/unreadable file, bad YAML (with line and column), a top level
        that is not a mapping, and every schema or consistency problem.
    """
    is_text = isinstance(path_or_text, str) and ("\n" in path_or_text or path_or_text.lstrip().startswith("{"))
    if is_text:
        text = path_or_text
        src = source or "<text>"
    else:
        path = Path(path_or_text).expanduser()
        src = source or str(path_or_text)
        if not path.exists():
            raise ScenarioError(src, [("<file>", str(path), f"no such file: {str(path)!r}; allowed: "
                                                            "the path of an existing scenario YAML file")])
        if not path.is_file():
            raise ScenarioError(src, [("<file>", str(path), f"{str(path)!r} is not a file; allowed: "
                                                            "the path of a scenario YAML file")])
        try:
            size = path.stat().st_size
            if size > yamlread.MAX_BYTES:  # before reading it into memory
                raise ScenarioError(src, [("<file>", str(path), f"file size: got {size} bytes; allowed: at most "
                                                                f"{yamlread.MAX_BYTES} bytes")])
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ScenarioError(src, [("<file>", str(path), f"cannot read {str(path)!r}: {exc}")]) from None
        if base_dir is None:
            base_dir = path.resolve().parent
    data, lines = _read_yaml(text, src)
    return parse_scenario(data, src, base_dir=base_dir, coverage=coverage, _lines=lines)


def scenario_to_dict(s: Scenario) -> dict:
    """Plain-data form of a scenario (JSON/YAML-safe); ``parse_scenario`` of it gives ``s`` back."""
    return s.model_dump(mode="json", exclude_none=True)


def scenario_to_yaml(s: Scenario) -> str:
    """The scenario as YAML text (for echoing in results)."""
    import yaml

    return yaml.safe_dump(scenario_to_dict(s), sort_keys=False, default_flow_style=None)
