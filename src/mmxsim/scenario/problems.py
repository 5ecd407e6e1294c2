"""How a bad scenario is worded: :class:`ScenarioError` (every problem with its YAML path, the
value found, what is allowed and the line), :class:`Problems` (raised inside validators, of the
core schema and of each analysis' settings alike) and the translation of pydantic's errors into
those sentences (:func:`problems_from`)::

    scenario my.yaml is invalid:
      - initial_state.frame: got 'FOO'; allowed: ICRF, MARS_FIXED, PHOBOS_FIXED, PHOBOS_HILL [line 9]
"""

from __future__ import annotations

import re
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from ..errors import MmxsimError

class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING = _Missing()


#: at most this many problems are listed in a message (a hostile file can have thousands)
MAX_SHOWN = 50


def _cut(text: str, limit: int = 120) -> str:
    """``text`` cut to ``limit`` characters, saying how long it was (a 100 kB key stays readable)."""
    return text if len(text) <= limit else f"{text[: limit - 30]}... ({len(text)} characters)"


def show(value: Any, limit: int = 80) -> str:
    """``repr`` of a value, cut to ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ScenarioError(MmxsimError, ValueError):
    """A scenario could not be read or is invalid.

    Attributes
    ----------
    problems : list of (path, value, message)
        ``path`` is the YAML path (``initial_state.position_km[1]``), ``value`` the
        offending value (``MISSING`` when a required key is absent) and ``message``
        a sentence such as ``"got 'FOO'; allowed: ICRF, MARS_FIXED"``.
    source : str
        The file name (or ``<text>``, ``<dict>``).
    lines : dict
        YAML path -> line number, where known.
    """

    def __init__(self, source: str, problems: list[tuple[str, Any, str]], lines: dict | None = None):
        self.source = source
        self.problems = list(problems)
        self.lines = dict(lines or {})
        super().__init__(self._render())

    def _line_of(self, path: str) -> int | None:
        p = path
        while p:
            if p in self.lines:
                return self.lines[p]
            q = re.sub(r"(\.[^.\[\]]*|\[[^\[\]]*\])$", "", p) if re.search(r"(\.|\[)", p) else ""
            p = q if q != p else ""  # a last segment the pattern cannot strip: give up, never loop
        return None

    def _render(self) -> str:
        out = [f"scenario {self.source} is invalid:"]
        for path, _value, message in self.problems[:MAX_SHOWN]:
            line = self._line_of(path) if not path.startswith(("line ", "<")) and " line " not in message else None
            out.append(f"  - {_cut(path)}: {_cut(message, 400)}" + (f" [line {line}]" if line else ""))
        if len(self.problems) > MAX_SHOWN:
            out.append(f"  ... and {len(self.problems) - MAX_SHOWN} more problems")
        return "\n".join(out)

    @property
    def paths(self) -> list[str]:
        return [p for p, _, _ in self.problems]


class Problems(ValueError):
    """Raise inside a validator (of the scenario or of an analysis' settings): problems as
    ``(location relative to the model, value, message)``; the loaders turn them into YAML paths."""

    def __init__(self, problems: list[tuple[tuple, Any, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{'.'.join(map(str, loc)) or '<scenario>'}: {msg}" for loc, _, msg in problems))


def got(value: Any, allowed: str) -> str:
    """The wording of every problem: ``got <value>; allowed: <what is allowed>``."""
    return f"got {show(value)}; allowed: {allowed}"


# ---------------------------------------------------------------------------
# Pydantic errors -> problems


def _unwrap(t: Any) -> Any:
    while get_origin(t) is Annotated:
        t = get_args(t)[0]
    return t


def _is_model(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, BaseModel)


def _union_members(t: Any) -> list:
    if get_origin(t) in (Union, UnionType):
        return [_unwrap(a) for a in get_args(t) if a is not type(None)]
    return []


def _tag_of(model: type[BaseModel]) -> str | None:
    f = model.model_fields.get("type")
    if f is None:
        return None
    args = get_args(f.annotation)
    return args[0] if args else None


def _walk(loc: tuple, root: type[BaseModel]) -> tuple[str, Any, Any, Any]:
    """YAML path of a pydantic ``loc``; also the field info, its type and the parent model."""
    parts: list[str] = []
    typ: Any = root
    field = None
    parent = None
    for item in loc:
        typ = _unwrap(typ)
        members = _union_members(typ)
        if members:
            models = [m for m in members if _is_model(m)]
            hit = [m for m in models if _tag_of(m) == item]
            if hit:
                typ = hit[0]
                continue
            if len(models) == 1:
                typ = models[0]
            elif len(members) == 1:
                typ = members[0]
        if _is_model(typ):
            parent = typ
            if isinstance(item, str) and item in typ.model_fields:
                field = typ.model_fields[item]
                typ = field.annotation
            else:
                field, typ = None, None
            parts.append(str(item))
            continue
        origin = get_origin(typ)
        if isinstance(item, int) and origin in (list, tuple, set):
            parts.append(f"[{item}]")
            args = [a for a in get_args(typ) if a is not Ellipsis]
            typ = args[0] if args else None
            continue
        parts.append(str(item))
        typ = None
    path = ""
    for p in parts:
        path = path + p if p.startswith("[") or not path else f"{path}.{p}"
    return path, field, typ, parent


def _model_at(typ: Any) -> type[BaseModel] | None:
    typ = _unwrap(typ)
    if _is_model(typ):
        return typ
    members = [m for m in _union_members(typ) if _is_model(m)]
    return members[0] if len(members) == 1 else None


def keys_of(model: type[BaseModel] | None) -> str:
    return ", ".join(model.model_fields) if model else "?"


_TYPE_WORDS = {
    "float_type": "a number", "float_parsing": "a number", "int_type": "an integer", "int_parsing": "an integer",
    "int_from_float": "an integer", "bool_type": "true or false", "bool_parsing": "true or false",
    "string_type": "a string", "list_type": "a list", "tuple_type": "a list", "finite_number":
    "a finite number (no NaN, no infinity)",
}


def _describe(err: dict, root: type[BaseModel]) -> tuple[str, Any, str]:
    loc = tuple(err["loc"])
    etype = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input", MISSING)
    path, field, typ, parent = _walk(loc, root)
    extra = (field.json_schema_extra or {}) if field is not None and isinstance(field.json_schema_extra, dict) else {}
    override = extra.get("allowed")

    if etype == "missing":
        desc = field.description if field is not None and field.description else "a value"
        return path, MISSING, f"missing; required: {desc}"
    if etype == "extra_forbidden":
        return path, value, f"unknown key (value {show(value)}); allowed keys: {keys_of(parent)}"
    if etype in ("model_type", "model_attributes_type", "dict_type"):
        model = _model_at(typ) if loc else root
        return path, value, got(value, f"a mapping with keys {keys_of(model)}")
    if etype == "union_tag_invalid":
        tags = ctx.get("expected_tags", "").replace("'", "")
        tag = ctx.get("tag", value)
        return (f"{path}.type" if path else "type"), tag, got(tag, tags)
    if etype == "union_tag_not_found":
        model = _unwrap(typ)
        tags = ", ".join(str(_tag_of(m)) for m in _union_members(model) if _is_model(m))
        return (f"{path}.type" if path else "type"), MISSING, f"missing; required: one of {tags}"
    if etype == "literal_error":
        return path, value, got(value, str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", "))
    if etype in ("too_short", "too_long"):
        allowed = override or (f"{ctx.get('min_length')}..{ctx.get('max_length', '')} items")
        return path, value, got(value, allowed)
    if etype in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        sym = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<", "less_than_equal": "<="}[etype]
        bound = next(iter(ctx.values()), "?")
        allowed = f"{sym} {bound:g}" if isinstance(bound, (int, float)) else f"{sym} {bound}"
        if override:
            allowed = override
        elif field is not None and field.description:
            allowed = f"{allowed} ({field.description})"
        return path, value, got(value, allowed)
    if etype in ("string_too_short", "string_too_long"):
        return path, value, got(value, field.description if field is not None and field.description else
                                 f"{ctx.get('min_length', 0)}..{ctx.get('max_length', '')} characters")
    if etype in _TYPE_WORDS:
        allowed = _TYPE_WORDS[etype]
        if field is not None and field.description and etype != "finite_number":
            allowed = f"{allowed}: {field.description}"
        return path, value, got(value, allowed)
    if etype == "value_error" and isinstance(ctx.get("error"), Problems):
        raise AssertionError("handled by caller")  # pragma: no cover
    msg = err.get("msg", "invalid")
    return path, value, got(value, override or msg)


def problems_from(exc: ValidationError, root: type[BaseModel]) -> list[tuple[str, Any, str]]:
    """The problems (YAML path, value, message) of a pydantic error of ``root`` (the scenario model)."""
    out: list[tuple[str, Any, str]] = []
    errors = exc.errors(include_url=False)
    # pydantic reports a bad element of a fixed-length tuple twice (the element, then
    # "too short" for the list): keep the element.
    item_parents = {tuple(e["loc"][:-1]) for e in errors if e["loc"] and isinstance(e["loc"][-1], int)}
    errors = [e for e in errors if not (e["type"] in ("too_short", "too_long") and tuple(e["loc"]) in item_parents)]
    for err in errors:
        ctx = err.get("ctx") or {}
        inner = ctx.get("error")
        if err["type"] == "value_error" and isinstance(inner, Problems):
            for rel, value, msg in inner.problems:
                path, _, _, _ = _walk(tuple(err["loc"]) + tuple(rel), root)
                out.append((path, value, msg))
        else:
            out.append(_describe(err, root))
    # drop duplicates, keep order
    seen, uniq = set(), []
    for p in out:
        key = (p[0], p[2])
        if key not in seen:
            seen.add(key)
            uniq.append(p)
    return uniq
