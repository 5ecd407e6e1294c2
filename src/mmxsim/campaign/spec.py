"""Campaign files: a base scenario, the fields to vary, the numbers to record, a seed.

A campaign is declarative (in the spirit of Tudat's settings objects): nothing in it
is code. Example (``campaign.yaml``)::

    name: qso-size-mc
    base: my_scenario.yaml          # a path (relative to this file) or an inline mapping
    set:                            # optional fixed changes to the base (same dotted paths)
      duration_days: 5
    seed: 2027
    samples: 4                      # Monte Carlo draws per grid point (default 1)
    vary:
      initial_state.radial_semi_axis_km: {grid: [30, 50, 100]}
      spacecraft.mass_kg: {dist: normal, mean: 2000, std: 100}
      analyses.landing.seed: {dist: seed}
    outputs:
      - termination
      - distance_phobos_km.min
      - analyses.comms.lost_bits

``vary`` keys are dotted paths of scenario fields (``initial_state.position_km[1]``
or ``initial_state.position_km.1`` for list items); missing parent blocks are created
(``analyses.landing.seed`` adds an ``analyses.landing`` block with its defaults).
Each value is one of

=========================================  ==============================================
``{grid: [v1, v2, ...]}``                  the listed values (a grid axis)
``{linspace: [start, stop, num]}``         ``num`` evenly spaced values (a grid axis)
``{dist: normal, mean: m, std: s}``        Gaussian draw
``{dist: uniform, low: a, high: b}``       uniform draw in [a, b)
``{dist: lognormal, mean: m, sigma: s}``   exp(N(m, s)) (numpy's parameters: of the log)
``{dist: choice, values: [...], p: [...]}``  one of the values (``p`` optional weights)
``{dist: randint, low: a, high: b}``       integer in [a, b] (both included)
``{dist: seed}``                           integer in [0, 2**31 - 1] (to seed analyses)
=========================================  ==============================================

Grid axes combine as a Cartesian product (the last one varies fastest); each grid point
gets ``samples`` Monte Carlo draws of the distributions, so the campaign has
``prod(grid sizes) * samples`` samples. Sample ``i`` is grid point ``i // samples``,
draw ``i % samples``.

Seeds: sample ``i`` has its own seed, ``sample_seed(seed, i)``, derived with NumPy's
``SeedSequence(seed, spawn_key=(i,))`` (the same stream ``SeedSequence(seed).spawn(n)[i]``
gives). Its draws come from ``numpy.random.default_rng(sample_seed)`` in the order of
the ``vary`` entries, so every sample can be rebuilt alone from the campaign seed and
its index, or from its recorded seed.

``outputs`` are dotted paths into the run's ``summary.json`` data
(:func:`mmxsim.results.build_summary`); an extremum such as
``distance_phobos_km.min`` (a ``{value, epoch_tdb, t_tdb_s}`` record) gives its
``value``. Non-scalar values are recorded as JSON text.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .. import yamlread
from ..errors import InputError

__all__ = [
    "CampaignSpec",
    "Vary",
    "DISTRIBUTIONS",
    "DEFAULT_OUTPUTS",
    "load_campaign",
    "parse_campaign",
    "sample_seed",
    "set_path",
    "get_path",
    "split_path",
]

#: distribution name -> required parameters (``choice``'s ``p`` and nothing else is optional)
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "normal": ("mean", "std"),
    "uniform": ("low", "high"),
    "lognormal": ("mean", "sigma"),
    "choice": ("values",),
    "randint": ("low", "high"),
    "seed": (),
}
_OPTIONAL = {"choice": ("p",)}

DEFAULT_OUTPUTS = (
    "termination",
    "distance_phobos_km.min",
    "distance_phobos_km.max",
    "altitude_phobos_km.min",
)

_TOP_KEYS = ("name", "description", "base", "set", "seed", "samples", "vary", "outputs")
MAX_SAMPLES = 10_000_000


# ---------------------------------------------------------------------------
# dotted paths


_PATH = re.compile(r"[A-Za-z_]\w*(?:\.\w+|\[\d+\])*")
_SEG = re.compile(r"\.?(\w+)|\[(\d+)\]")


def split_path(path: str, field: str = "path") -> list[str | int]:
    """``'a.b[2].c'`` or ``'a.b.2.c'`` -> ``['a', 'b', 2, 'c']`` (digits are list indices)."""
    if not isinstance(path, str) or not _PATH.fullmatch(path.strip()):
        raise InputError(field, path, "a dotted path such as 'initial_state.radial_semi_axis_km' "
                                      "or 'initial_state.position_km[1]'")
    out: list[str | int] = []
    for m in _SEG.finditer(path.strip()):
        name, idx = m.group(1), m.group(2)
        out.append(int(idx) if idx is not None else int(name) if name.isdigit() else name)
    return out


def get_path(data: Any, path: str) -> Any:
    """Value at a dotted path of nested dicts/lists; ``KeyError`` naming what exists if absent."""
    cur = data
    done: list[str] = []
    for seg in split_path(path):
        if isinstance(seg, int) and isinstance(cur, list) and -len(cur) <= seg < len(cur):
            cur = cur[seg]
        elif isinstance(seg, str) and isinstance(cur, dict) and seg in cur:
            cur = cur[seg]
        else:
            where = ".".join(map(str, done)) or "<top>"
            if isinstance(cur, dict):
                have = ", ".join(sorted(map(str, cur))) or "nothing"
            elif isinstance(cur, list):
                have = f"list indices 0..{len(cur) - 1}"
            else:
                have = f"a {type(cur).__name__} (no sub-fields)"
            raise KeyError(f"{path!r}: no {seg!r} at {where}; there: {have}")
        done.append(str(seg))
    return cur


def set_path(data: dict, path: str, value: Any) -> None:
    """Set ``value`` at a dotted path, creating missing parent mappings."""
    segs = split_path(path)
    cur: Any = data
    for i, seg in enumerate(segs[:-1]):
        nxt = segs[i + 1]
        if isinstance(seg, int):
            if not isinstance(cur, list) or not -len(cur) <= seg < len(cur):
                raise InputError("vary", path, f"an index inside the list at {'.'.join(map(str, segs[:i])) or '<top>'}")
            cur = cur[seg]
            continue
        if not isinstance(cur, dict):
            raise InputError("vary", path, "a path through mappings of the scenario")
        if cur.get(seg) is None:
            if isinstance(nxt, int):
                raise InputError("vary", path, f"a list that the base scenario defines at {seg!r}")
            cur[seg] = {}
        cur = cur[seg]
    last = segs[-1]
    if isinstance(last, int):
        if not isinstance(cur, list) or not -len(cur) <= last < len(cur):
            raise InputError("vary", path, "an index inside a list the base scenario defines")
        cur[last] = value
    else:
        if not isinstance(cur, dict):
            raise InputError("vary", path, "a path through mappings of the scenario")
        cur[last] = value


def _scenario_schema() -> dict:
    from ..scenario import scenario_model

    return _model_schema(scenario_model())


@lru_cache(maxsize=4)
def _model_schema(model) -> dict:
    """JSON schema of a scenario model (with its analyses block), cached per model."""
    return model.model_json_schema()


def _branches(node: dict, defs: dict) -> list[dict]:
    """All sub-schemas a node may be (``$ref``, ``anyOf``, ``oneOf``, ``allOf`` resolved)."""
    out, todo = [], [node]
    while todo:
        n = todo.pop()
        if "$ref" in n:
            todo.append(defs[n["$ref"].rsplit("/", 1)[-1]])
            continue
        subs = n.get("anyOf", []) + n.get("oneOf", []) + n.get("allOf", [])
        if subs:
            todo.extend(subs)
        else:
            out.append(n)
    return out


def check_scenario_path(path: str) -> None:
    """Raise :class:`InputError` unless ``path`` names a field of the scenario schema."""
    schema = _scenario_schema()
    defs = schema.get("$defs", {})
    nodes = [schema]
    done: list[str] = []
    for seg in split_path(path, "vary"):
        nxt: list[dict] = []
        keys: set[str] = set()
        for n in nodes:
            for b in _branches(n, defs):
                if isinstance(seg, int):
                    if b.get("type") == "array":
                        pre = b.get("prefixItems")
                        if pre and seg < len(pre):
                            nxt.append(pre[seg])
                        elif "items" in b and (b.get("maxItems") is None or seg < b["maxItems"]):
                            nxt.append(b["items"])
                else:
                    props = b.get("properties", {})
                    keys |= set(props)
                    if seg in props:
                        nxt.append(props[seg])
                    elif isinstance(b.get("additionalProperties"), dict):  # free-form mappings
                        nxt.append(b["additionalProperties"])
        if not nxt:
            where = ".".join(map(str, done)) or "the top level"
            allowed = f"a scenario field; fields at {where}: {', '.join(sorted(keys))}" if keys else \
                f"a scenario field ({where} has no sub-field {seg!r})"
            raise InputError("vary", path, allowed)
        nodes = nxt
        done.append(str(seg))


# ---------------------------------------------------------------------------
# the spec


def _number(field: str, v: Any, *, integer: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
        raise InputError(field, v, "a finite number")
    if integer and float(v) != int(v):
        raise InputError(field, v, "an integer")
    return int(v) if integer else float(v)


@dataclass(frozen=True)
class Vary:
    """One varied field: a grid axis (``values``) or a distribution (``dist`` + ``params``)."""

    path: str
    values: tuple | None = None  # grid axis
    dist: str | None = None
    params: dict = field(default_factory=dict)

    @property
    def is_grid(self) -> bool:
        return self.values is not None

    def draw(self, rng: np.random.Generator) -> Any:
        """One value of the distribution, as a plain Python number/object."""
        p = self.params
        if self.dist == "normal":
            return float(rng.normal(p["mean"], p["std"]))
        if self.dist == "uniform":
            return float(rng.uniform(p["low"], p["high"]))
        if self.dist == "lognormal":
            return float(rng.lognormal(p["mean"], p["sigma"]))
        if self.dist == "choice":
            k = int(rng.choice(len(p["values"]), p=p.get("p")))
            return copy.deepcopy(p["values"][k])
        if self.dist == "randint":
            return int(rng.integers(p["low"], p["high"], endpoint=True))
        if self.dist == "seed":
            return int(rng.integers(0, 2**31 - 1, endpoint=True))
        raise AssertionError(self.dist)  # pragma: no cover

    def to_dict(self) -> dict:
        if self.is_grid:
            return {"grid": list(self.values)}
        return {"dist": self.dist, **self.params}


def _parse_vary(path: str, spec: Any) -> Vary:
    field = f"vary.{path}"
    check_scenario_path(path)
    if not isinstance(spec, dict):
        raise InputError(field, spec, "a mapping: {grid: [...]}, {linspace: [start, stop, num]} or {dist: NAME, ...}")
    kinds = [k for k in ("grid", "linspace", "dist") if k in spec]
    if len(kinds) != 1:
        raise InputError(field, spec, "exactly one of grid, linspace or dist")
    kind = kinds[0]
    if kind == "grid":
        extra = set(spec) - {"grid"}
        vals = spec["grid"]
        if extra or not isinstance(vals, list) or not vals:
            raise InputError(field, spec, "{grid: [v1, v2, ...]} with at least one value and no other key")
        return Vary(path, values=tuple(vals))
    if kind == "linspace":
        ls = spec["linspace"]
        if isinstance(ls, dict):
            ls = [ls.get("start"), ls.get("stop"), ls.get("num")]
        if set(spec) != {"linspace"} or not isinstance(ls, list) or len(ls) != 3:
            raise InputError(field, spec, "{linspace: [start, stop, num]}")
        a, b = _number(f"{field}.linspace[0]", ls[0]), _number(f"{field}.linspace[1]", ls[1])
        num = _number(f"{field}.linspace[2]", ls[2], integer=True)
        if num < 1:
            raise InputError(f"{field}.linspace[2]", num, "a number of points >= 1")
        return Vary(path, values=tuple(float(x) for x in np.linspace(a, b, num)))
    dist = spec["dist"]
    if dist not in DISTRIBUTIONS:
        raise InputError(f"{field}.dist", dist, ", ".join(DISTRIBUTIONS))
    need = DISTRIBUTIONS[dist]
    allowed = set(need) | set(_OPTIONAL.get(dist, ())) | {"dist"}
    missing = [k for k in need if k not in spec]
    unknown = sorted(set(spec) - allowed)
    if missing or unknown:
        raise InputError(field, spec, f"{{dist: {dist}" + "".join(f", {k}: ..." for k in need)
                         + ("".join(f"[, {k}: ...]" for k in _OPTIONAL.get(dist, ()))) + "}")
    params: dict[str, Any] = {}
    if dist == "choice":
        vals = spec["values"]
        if not isinstance(vals, list) or not vals:
            raise InputError(f"{field}.values", vals, "a non-empty list of values")
        params["values"] = list(vals)
        if spec.get("p") is not None:
            p = spec["p"]
            if not isinstance(p, list) or len(p) != len(vals):
                raise InputError(f"{field}.p", p, f"a list of {len(vals)} probabilities (one per value)")
            p = [_number(f"{field}.p[{i}]", x) for i, x in enumerate(p)]
            if any(x < 0 for x in p) or abs(sum(p) - 1.0) > 1e-9:
                raise InputError(f"{field}.p", p, "non-negative probabilities summing to 1")
            params["p"] = p
    elif dist == "randint":
        lo = _number(f"{field}.low", spec["low"], integer=True)
        hi = _number(f"{field}.high", spec["high"], integer=True)
        if hi < lo:
            raise InputError(f"{field}.high", hi, f">= low ({lo})")
        params = {"low": lo, "high": hi}
    else:
        for k in need:
            params[k] = _number(f"{field}.{k}", spec[k])
        if dist == "normal" and params["std"] < 0:
            raise InputError(f"{field}.std", params["std"], "a standard deviation >= 0")
        if dist == "lognormal" and params["sigma"] < 0:
            raise InputError(f"{field}.sigma", params["sigma"], "sigma >= 0")
        if dist == "uniform" and not params["low"] < params["high"]:
            raise InputError(f"{field}.high", params["high"], f"> low ({params['low']})")
    return Vary(path, dist=dist, params=params)


def sample_seed(seed: int, index: int) -> int:
    """Seed of sample ``index``: 63 bits of ``SeedSequence(seed, spawn_key=(index,))``."""
    ss = np.random.SeedSequence(int(seed), spawn_key=(int(index),))
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


@dataclass(frozen=True)
class CampaignSpec:
    """A validated campaign (see the module docstring). Plain data: picklable for Dask."""

    name: str
    base: dict  # the validated base scenario, as plain data (scenario_to_dict)
    vary: tuple[Vary, ...]
    outputs: tuple[str, ...]
    seed: int
    samples: int = 1
    description: str = ""
    base_dir: str | None = None  # folder of the campaign file (relative kernel paths)
    fixed: dict = field(default_factory=dict)  # ``set:`` entries, applied before the varied values

    # -- sizes and indices --------------------------------------------------
    @property
    def grid(self) -> tuple[Vary, ...]:
        return tuple(v for v in self.vary if v.is_grid)

    @property
    def distributions(self) -> tuple[Vary, ...]:
        return tuple(v for v in self.vary if not v.is_grid)

    @property
    def n_grid(self) -> int:
        return int(np.prod([len(v.values) for v in self.grid], dtype=np.int64)) if self.grid else 1

    @property
    def n_samples(self) -> int:
        return self.n_grid * self.samples

    def grid_point(self, g: int) -> dict[str, Any]:
        """Values of the grid axes at grid point ``g`` (last axis fastest)."""
        out: dict[str, Any] = {}
        for v in reversed(self.grid):
            g, k = divmod(g, len(v.values))
            out[v.path] = copy.deepcopy(v.values[k])
        return {v.path: out[v.path] for v in self.grid}

    def inputs(self, index: int) -> tuple[int, dict[str, Any]]:
        """``(seed, {path: value})`` of sample ``index`` (vary order), reproducible alone."""
        if not 0 <= int(index) < self.n_samples:
            raise InputError("sample index", index, f"0..{self.n_samples - 1}")
        s = sample_seed(self.seed, index)
        rng = np.random.default_rng(s)
        grid = self.grid_point(int(index) // self.samples)
        vals = {}
        for v in self.vary:
            vals[v.path] = grid[v.path] if v.is_grid else v.draw(rng)
        return s, vals

    def scenario_data(self, values: dict[str, Any]) -> dict:
        """The base scenario (plain data) with ``values`` set at their paths."""
        data = copy.deepcopy(self.base)
        for path, val in {**self.fixed, **values}.items():
            set_path(data, path, val)
        return data

    def to_dict(self) -> dict:
        """Plain-data form (JSON-safe); written to ``campaign.json`` and hashed."""
        return {
            "name": self.name,
            "description": self.description,
            "seed": self.seed,
            "samples": self.samples,
            "set": self.fixed,
            "vary": {v.path: v.to_dict() for v in self.vary},
            "outputs": list(self.outputs),
            "base": self.base,
        }

    @property
    def digest(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`to_dict` and the mmxsim version (what a resumed run
        must match: samples computed by another version of the models never mix with this one's)."""
        from ..version import __version__

        text = json.dumps({"spec": self.to_dict(), "mmxsim": __version__}, sort_keys=True, separators=(",", ":"),
                          ensure_ascii=True)
        return hashlib.sha256(text.encode()).hexdigest()


def parse_campaign(data: Any, *, base_dir: str | os.PathLike | None = None) -> CampaignSpec:
    """Validate a campaign mapping (e.g. from YAML) into a :class:`CampaignSpec`.

    Raises :class:`~mmxsim.errors.InputError` for campaign keys and
    :class:`~mmxsim.scenario.ScenarioError` for an invalid base scenario.
    """
    from ..scenario import load_scenario, parse_scenario, scenario_to_dict

    if not isinstance(data, dict):
        raise InputError("campaign", data, f"a mapping with keys {', '.join(_TOP_KEYS)}")
    unknown = sorted(set(data) - set(_TOP_KEYS))
    if unknown:
        raise InputError("campaign", unknown[0], f"keys {', '.join(_TOP_KEYS)}")
    for k in ("name", "base", "seed"):
        if k not in data:
            raise InputError(f"campaign.{k}", "<missing>", {"name": "a campaign name", "base": "a scenario path or "
                             "an inline scenario mapping", "seed": "an integer >= 0"}[k])
    name = data["name"]
    if not isinstance(name, str) or not name.strip() or len(name) > 80:
        raise InputError("campaign.name", name, "a non-blank name of 1..80 characters")
    seed = data["seed"]
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError("campaign.seed", seed, "an integer >= 0")
    samples = data.get("samples", 1)
    if isinstance(samples, bool) or not isinstance(samples, int) or not 1 <= samples <= MAX_SAMPLES:
        raise InputError("campaign.samples", samples, f"an integer 1..{MAX_SAMPLES}")
    bdir = Path(base_dir).resolve() if base_dir is not None else Path.cwd()
    base = data["base"]
    if isinstance(base, str):
        p = Path(base).expanduser()
        p = p if p.is_absolute() else bdir / p
        scen = load_scenario(p, coverage=False)
    elif isinstance(base, dict):
        scen = parse_scenario(base, "campaign.base", base_dir=bdir, coverage=False)
    else:
        raise InputError("campaign.base", base, "a scenario file path or an inline scenario mapping")
    vary_in = data.get("vary") or {}
    if not isinstance(vary_in, dict):
        raise InputError("campaign.vary", vary_in, "a mapping {scenario.path: {grid|linspace|dist: ...}}")
    vary = tuple(_parse_vary(str(p), s) for p, s in vary_in.items())
    fixed = data.get("set") or {}
    if not isinstance(fixed, dict):
        raise InputError("campaign.set", fixed, "a mapping {scenario.path: value}")
    for p in fixed:
        check_scenario_path(str(p))
        if p in vary_in:
            raise InputError("campaign.set", p, "a path that vary does not also name")
    if samples > 1 and not any(not v.is_grid for v in vary):
        raise InputError("campaign.samples", samples, "1 when no field has a distribution (draws would be identical)")
    outputs = data.get("outputs", list(DEFAULT_OUTPUTS))
    if not isinstance(outputs, list) or not outputs:
        raise InputError("campaign.outputs", outputs, "a non-empty list of dotted paths into the run summary")
    for o in outputs:
        split_path(o, "campaign.outputs")
    if len(set(outputs)) != len(outputs):
        raise InputError("campaign.outputs", outputs, "each path at most once")
    spec = CampaignSpec(name=name.strip(), base=scenario_to_dict(scen), vary=vary, outputs=tuple(outputs),
                        seed=int(seed), samples=int(samples), description=str(data.get("description", "")),
                        base_dir=str(bdir), fixed={str(k): v for k, v in fixed.items()})
    if spec.n_samples > MAX_SAMPLES:
        raise InputError("campaign", f"{spec.n_samples} samples", f"at most {MAX_SAMPLES} (grid points x samples)")
    return spec


def load_campaign(path: str | os.PathLike) -> CampaignSpec:
    """Read and validate a campaign YAML file (``base`` paths are relative to its folder)."""
    import yaml

    p = Path(path).expanduser()
    if not p.is_file():
        raise InputError("campaign file", str(path), "the path of an existing campaign YAML file")
    try:
        if p.stat().st_size > yamlread.MAX_BYTES:  # before reading it into memory
            raise InputError("campaign file", str(path), f"a file of at most {yamlread.MAX_BYTES} bytes")
        loader, node = yamlread.compose(p.read_text(encoding="utf-8"), yaml.SafeLoader, str(path))
        try:
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError("campaign file", str(path), f"a readable YAML file ({exc})") from None
    return parse_campaign(data, base_dir=p.resolve().parent)
