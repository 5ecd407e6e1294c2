"""The public API of mmxsim, in the style of ``skyfield.api``: one import for a notebook.

>>> import mmxsim
>>> s = mmxsim.load_scenario("reference_qso", duration_days=2, **{"propagation.output_step_s": 300})
>>> s.duration_days, s.propagation.output_step_s
(2.0, 300.0)

Running and reading a run::

    result = mmxsim.run("reference_qso", duration_days=2)    # name | path | YAML text | dict | Scenario
    result.summary()                  # exactly what summary.json holds
    frames = result.to_pandas()       # .timeseries, .events, .timeline, .tables (pandas DataFrames)
    result.write("out")               # the files of ``mmxsim run`` (OEM, CSV, summary.json, report...)
    result                            # in a notebook: a compact HTML summary

Names (each loaded on first use, so ``import mmxsim`` stays instant):

* runs and scenarios: :func:`run`, :class:`Result`, :func:`load_scenario`, :func:`parse_scenario`,
  ``builtin_scenario``, ``BUILTIN_SCENARIOS``, ``Scenario``, ``ScenarioError``, ``scenario_to_dict``,
  ``scenario_to_yaml``, ``build_model``, ``run_scenario``, ``write_outputs``, ``read_oem``;
* ephemerides, bodies, time, frames: ``default_ephemeris``, ``spice_ephemeris``, ``composite``,
  ``get_body``, ``PHOBOS``, ``MARS``, ``DEIMOS``, ``SUN``, ``EARTH``, ``phobos_shape``, ``Epoch``,
  ``to_tdb_seconds``, ``iso_tdb``, ``iso_utc``, ``rotation_to``, ``from_mars_icrf``,
  ``to_mars_icrf``, ``transform``, ``recenter``;
* domain entry points: ``periodic_qso``, ``qso_family``, ``qso_3d``, ``qso_hill_state``,
  ``keplerian_to_cartesian``, ``cartesian_to_keplerian``, ``propagate``, ``find_passes``,
  ``conjunctions``, ``occultations``.

Units inside are km, s, kg, rad (and the unit a name ends with: ``_deg``, ``_m``, ``_days``...), epochs
TDB seconds past J2000. At this edge astropy ``Time`` and ``Quantity`` are accepted as well:

* in a scenario mapping given to :func:`run`, :func:`load_scenario` or :func:`parse_scenario`, and in
  overrides: a ``Time`` becomes an ISO string (in the scenario's ``time_scale`` for ``epoch`` and
  ``stop``, UTC elsewhere, as the schema reads them) and a ``Quantity`` the number in the unit its
  field name ends with (``radial_semi_axis_km`` -> km, ``duration_days`` -> day);
* in the domain functions listed above, by parameter name in the same way; a ``Time`` anywhere
  becomes TDB seconds past J2000;
* every ephemeris method takes a ``Time`` for ``t`` (:func:`mmxsim.time.as_tdb_seconds`).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import sys
from dataclasses import dataclass, fields
from html import escape
from typing import Any

from .errors import InputError
from .results import RunResult, build_summary
from .time import as_tdb_seconds
from .time import iso_tdb as _iso

# name -> (module, attribute, takes Time/Quantity arguments through accept_units)
_LAZY = {
    **{n: ("mmxsim.scenario", n, False) for n in ("builtin_scenario", "BUILTIN_SCENARIOS", "Scenario",
                                                   "ScenarioError", "scenario_to_dict", "scenario_to_yaml")},
    "build_model": ("mmxsim.mission.runner", "build_model", False),
    "run_scenario": ("mmxsim.mission.runner", "run_scenario", False),
    "write_outputs": ("mmxsim.app", "write_outputs", False),
    "read_oem": ("mmxsim.exports", "read_oem", False),
    **{n: ("mmxsim.ephemeris", n, False) for n in ("default_ephemeris", "spice_ephemeris", "composite")},
    **{n: ("mmxsim.bodies", n, False) for n in ("get_body", "PHOBOS", "MARS", "DEIMOS", "SUN", "EARTH")},
    "phobos_shape": ("mmxsim.bodies.shapes", "phobos_shape", False),
    **{n: ("mmxsim.time", n, False) for n in ("Epoch", "to_tdb_seconds", "iso_tdb", "iso_utc")},
    **{n: ("mmxsim.frames", n, True) for n in ("rotation_to", "from_mars_icrf", "to_mars_icrf", "transform",
                                                "recenter")},
    **{n: ("mmxsim.orbits.qso", n, True) for n in ("periodic_qso", "qso_family", "qso_3d")},
    **{n: ("mmxsim.orbits", n, True) for n in ("qso_hill_state", "keplerian_to_cartesian",
                                               "cartesian_to_keplerian")},
    "propagate": ("mmxsim.dynamics", "propagate", True),
    **{n: ("mmxsim.comms.visibility", n, True) for n in ("find_passes", "conjunctions", "occultations")},
}

__all__ = ["run", "Result", "Frames", "load_scenario", "parse_scenario", *_LAZY]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'mmxsim.api' has no attribute {name!r}")
    module, attr, edge = _LAZY[name]
    obj = getattr(importlib.import_module(module), attr)
    if edge:
        obj = accept_units(obj)
    globals()[name] = obj
    return obj


# ---------------------------------------------------------------------------
# Time and Quantity at the edge

#: The unit a field or parameter name ends with, longest suffix first (astropy unit strings).
UNIT_SUFFIXES = (("_km_s", "km / s"), ("_mm_s", "mm / s"), ("_m_s", "m / s"), ("_days", "day"),
                 ("_deg", "deg"), ("_rad", "rad"), ("_bps", "bit / s"), ("_pct", "percent"), ("_km", "km"),
                 ("_m2", "m2"), ("_kg", "kg"), ("_hz", "Hz"), ("_m", "m"), ("_s", "s"), ("_w", "W"), ("_g", "g"))


def _unit_of(name: str) -> str | None:
    return next((u for suffix, u in UNIT_SUFFIXES if str(name).lower().endswith(suffix)), None)


def _is_quantity(v) -> bool:
    units = sys.modules.get("astropy.units")
    return units is not None and isinstance(v, units.Quantity)


def _is_time(v) -> bool:
    at = sys.modules.get("astropy.time")
    return at is not None and isinstance(v, at.Time)


def _quantity_value(q, name: str, field: str | None = None):
    """``(number(s), None)``: Quantity ``q`` in the unit the name ``name`` ends with (a float or a
    list); ``(None, message)`` when that cannot be done. ``field``: the name to show (default ``name``)."""
    unit = _unit_of(name)
    if unit is None:
        return None, (f"got the Quantity {q!r}; allowed: a plain number here ({field or name} does not end "
                      "with a unit such as _km, _s, _deg)")
    try:
        v = q.to_value(unit)
    except Exception:  # noqa: BLE001 - astropy's UnitConversionError and friends
        return None, f"got the Quantity {q!r}; allowed: a number in {unit} or a Quantity convertible to {unit}"
    return (float(v) if getattr(v, "ndim", 0) == 0 else v.tolist()), None


def _time_iso(t, scale: str):
    """ISO 8601 string(s) of astropy Time ``t`` in ``scale``, to the nanosecond (no trailing zeros:
    a whole second is written as a plain ISO string is)."""
    x = getattr(t, scale.lower()).replicate(format="isot")
    x.precision = 9
    out = [str(v).rstrip("0").rstrip(".") for v in (x.value if not x.isscalar else [x.value])]
    return out[0] if x.isscalar else out


def _plain(obj, key: str, path: str, scale: str, problems: list):
    if _is_time(obj):
        return _time_iso(obj, scale)
    if _is_quantity(obj):
        value, why = _quantity_value(obj, key, path.rsplit(".", 1)[-1])
        if why:
            problems.append((path or "<top level>", obj, why))
        return value
    if isinstance(obj, dict):
        return {k: _plain(v, k if _unit_of(k) else key, f"{path}.{k}" if path else str(k),
                          scale if not path and k in ("epoch", "stop") else "UTC", problems)
                for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v, key, f"{path}[{i}]", scale, problems) for i, v in enumerate(obj)]
    return obj


def plain_scenario_data(data: Any, source: str = "<dict>", time_scale: str | None = None) -> Any:
    """A scenario mapping with astropy ``Time`` and ``Quantity`` values turned into what the schema
    reads (see the module docstring); other values are left as they are, for the schema to check.
    ``time_scale``: the scale of ``epoch``/``stop`` when ``data`` does not say (default UTC).
    Raises :class:`~mmxsim.scenario.ScenarioError` for a Quantity that fits no unit."""
    if not isinstance(data, dict):
        return data
    problems: list = []
    out = _plain(data, "", "", str(data.get("time_scale", time_scale or "UTC")), problems)
    if problems:
        from .scenario import ScenarioError

        raise ScenarioError(source, problems)
    return out


def accept_units(fn):
    """``fn`` taking astropy ``Time`` (-> TDB seconds past J2000) for any argument and ``Quantity``
    (-> the unit its parameter name ends with) at the edge; the same function otherwise."""
    sig = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        bound = sig.bind(*args, **kwargs)
        for name, value in bound.arguments.items():
            if _is_time(value):
                bound.arguments[name] = as_tdb_seconds(value)
            elif _is_quantity(value):
                number, why = _quantity_value(value, name)
                if why:
                    raise InputError(name, value, why.split("allowed: ", 1)[1])
                bound.arguments[name] = number
        return fn(*bound.args, **bound.kwargs)

    return wrapper


# ---------------------------------------------------------------------------
# scenarios and runs


def _resolve(scenario, quick: bool, phase: str | None, overrides: dict):
    from .app import resolve_scenario

    s, base = resolve_scenario(plain_scenario_data(scenario))
    scale = overrides.get("time_scale", s.time_scale)  # the scale of an epoch given as a Time
    return resolve_scenario(s, overrides=plain_scenario_data(overrides, "<overrides>", scale), quick=quick,
                            phase=phase, base_dir=base)


def load_scenario(scenario=None, *, quick: bool = False, phase: str | None = None, **overrides):
    """A validated :class:`~mmxsim.scenario.Scenario`: from a built-in scenario's name (default
    ``reference_mission``), a file path, YAML text, a mapping or a Scenario, with ``overrides``
    (field names, dotted paths or nested mappings: :func:`mmxsim.app.apply_overrides`) and the
    ``quick``/``phase`` variants of ``mmxsim run --quick/--phase``. Raises
    :class:`~mmxsim.scenario.ScenarioError` with the problems, as for a file."""
    return _resolve(scenario, quick, phase, overrides)[0]


def parse_scenario(data, source: str = "<dict>", **kwargs):
    """:func:`mmxsim.scenario.parse_scenario` taking astropy ``Time``/``Quantity`` values too."""
    from .scenario import parse_scenario as parse

    return parse(plain_scenario_data(data, source), source, **kwargs)


def run(scenario=None, *, quick: bool = False, phase: str | None = None, out_dir=None, **overrides) -> "Result":
    """Run a scenario and return its :class:`Result`.

    ``scenario``: a built-in scenario's name (default ``reference_mission``, the whole reference
    mission), a file path, YAML text, a mapping or a :class:`~mmxsim.scenario.Scenario`.
    ``overrides``: scenario fields to change, e.g. ``duration_days=2`` or
    ``**{"propagation.output_step_s": 300}`` (see :func:`load_scenario`). ``quick``/``phase``:
    as ``mmxsim run --quick/--phase``. ``out_dir``: also write the files of ``mmxsim run`` there
    (:meth:`Result.write`). The result is the same as the command line's for the same inputs.
    """
    from .mission.runner import run_scenario
    from .scenario import check_coverage

    s, base = _resolve(scenario, quick, phase, overrides)
    check_coverage(s)
    result = Result.of(run_scenario(s, base), s, base)
    if out_dir is not None:
        result.write(out_dir)
    return result


@dataclass
class Frames:
    """The tables of a run as pandas DataFrames (:meth:`Result.to_pandas`).

    ``timeseries``: one row per sample: ``epoch_tdb`` (TDB, naive datetime64), ``epoch_utc``
    (UTC, tz-aware), ``t_tdb_s``, the state ``x_km ... vz_km_s`` (Mars-centred ICRF), the Hill-frame
    state ``hill_x_km ... hill_vz_km_s``, ``distance_phobos_km`` and ``altitude_phobos_km`` (the
    columns of timeseries.csv). ``events``: the integrator's events (as in summary.json).
    ``timeline``: the merged event list of the run (as events.csv). ``tables``: the analysis
    sections' tables, ``{section key: [DataFrame, ...]}``, each with ``attrs["caption"]`` and
    ``attrs["section"]``.
    """

    timeseries: Any
    events: Any
    timeline: Any
    tables: dict


def _epochs(t_tdb) -> dict:
    import numpy as np
    import pandas as pd

    from .time import iso_tdb, iso_utc

    t = np.asarray(t_tdb, float)
    return {"epoch_tdb": pd.to_datetime(np.asarray(iso_tdb(t, 6), dtype=str) if t.size else [], format="ISO8601"),
            "epoch_utc": pd.to_datetime(iso_utc(t, 6), format="ISO8601", utc=True)}


@dataclass(repr=False)
class Result(RunResult):
    """A :class:`~mmxsim.results.RunResult` (every field of it) with the scenario it ran, and
    notebook helpers: :meth:`summary`, :meth:`to_pandas`, :meth:`write` and an HTML view."""

    scenario: Any = None  # the validated Scenario that was run
    base_dir: Any = None  # the folder relative kernel paths were resolved against

    @classmethod
    def of(cls, run_result: RunResult, scenario=None, base_dir=None) -> "Result":
        """A Result holding the fields of ``run_result`` (the arrays are shared, not copied)."""
        return cls(**{f.name: getattr(run_result, f.name) for f in fields(RunResult)}, scenario=scenario,
                   base_dir=base_dir)

    def summary(self) -> dict:
        """The run's summary: exactly what ``summary.json`` holds (:func:`mmxsim.results.build_summary`)."""
        return build_summary(self)

    def write(self, out_dir) -> dict:
        """Write the files of ``mmxsim run`` into ``out_dir`` as the command does: staged, sealed in
        summary.json (sizes, SHA-256) and swapped in whole (:mod:`mmxsim.publish`), with the
        scenario's ``outputs`` switches when the scenario is known; returns ``{kind: path}``."""
        from .app import write_outputs, write_scenario_outputs
        from .publish import publish

        return publish(out_dir, (lambda stage: write_outputs(self, stage)) if self.scenario is None else
                       (lambda stage: write_scenario_outputs(self, self.scenario, stage)))

    def to_pandas(self) -> Frames:
        """The time series, events, merged event list and sections' tables as DataFrames (:class:`Frames`)."""
        import pandas as pd

        from .exports.timeseries import timeseries_columns
        from .mission.timeline import run_events
        from .results import event_dict

        t = self.trajectory.t
        cols = timeseries_columns(self)
        cols.pop("time_tdb_iso")
        ts = pd.DataFrame({**_epochs(t), **cols})
        t0 = float(t[0]) if t.size else None
        ev = [event_dict(e, t0) for e in self.events]
        events = pd.DataFrame({**_epochs([e["t_tdb_s"] for e in ev]),
                               **{k: [e.get(k) for e in ev] for k in ("t_tdb_s", "days_since_start", "kind", "body",
                                                                       "terminal", "details")}})
        merged = run_events(self) if t.size else []
        start, stop = _epochs([e.start for e in merged]), _epochs([e.stop for e in merged])
        timeline = pd.DataFrame({"start_utc": start["epoch_utc"], "stop_utc": stop["epoch_utc"],
                                 "start_t_tdb_s": [e.start for e in merged], "duration_s": [e.duration_s for e in merged],
                                 **{k: [getattr(e, k) for e in merged] for k in ("kind", "name", "detail", "source")}})
        tables: dict = {}
        for sec in self.sections:
            for tab in sec.tables:
                df = pd.DataFrame([list(r) for r in tab.rows], columns=list(tab.header) if tab.header else None)
                df.attrs.update(caption=tab.caption, section=sec.key)
                tables.setdefault(sec.key, []).append(df)
        return Frames(ts, events, timeline, tables)

    def __repr__(self) -> str:
        t = self.trajectory.t
        span = f"{_iso(t[0])} .. {_iso(t[-1])} TDB, " if t.size else ""
        return (f"<mmxsim.Result {self.scenario_name!r}: {t.size} samples, {span}{self.termination}; "
                f"{len(self.sections)} section(s)>")

    def _repr_html_(self) -> str:
        """A compact HTML summary for notebooks: scenario, epochs, termination, key numbers, sections."""
        s = self.summary()
        span, dist, alt = s["span"], s["distance_phobos_km"], s["altitude_phobos_km"]

        def num(x, unit="km"):
            return "n/a" if x is None else f"{x:.3f} {unit}"

        rows = [("Scenario", s["scenario"]), ("Start (TDB)", span["start_tdb"] or "n/a"),
                ("Stop (TDB)", span["stop_tdb"] or "n/a"), ("Duration", num(span["duration_days"], "days")),
                ("Samples", str(s["samples"])), ("Termination", s["termination"]),
                ("Distance to Phobos", f"{num(dist['min']['value'])} .. {num(dist['max']['value'])}"),
                ("Min altitude above Phobos", num(alt["min"]["value"])),
                ("Integrator events", str(len(s["events"]))),
                ("Sections", ", ".join(f"{sec.key} ({sec.title})" for sec in self.sections) or "none")]
        body = "".join(f'<tr><th style="text-align:left">{escape(k)}</th><td style="text-align:left">{escape(v)}'
                       "</td></tr>" for k, v in rows)
        return f'<div class="mmxsim-result"><b>mmxsim run: {escape(s["scenario"])}</b><table>{body}</table></div>'
