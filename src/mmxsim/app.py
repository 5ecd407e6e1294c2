"""The application layer: where a run's scenario is chosen and its files are written.

Layering: :mod:`mmxsim.mission` (the runner) returns a :class:`~mmxsim.results.RunResult` and
never writes a file; :mod:`mmxsim.exports` (OEM, time series, summary.json, SPK, CZML, the
sections' files) and :mod:`mmxsim.report` (the report/ folder) are siblings that read that result and
never import each other. This module sits above the three and is what the command line
(``mmxsim run``), the Python API (:mod:`mmxsim.api`) and scripts use:

* :func:`resolve_scenario`: a scenario file, a built-in scenario's name, a mapping or a
  :class:`~mmxsim.scenario.Scenario`, with ``overrides`` and the ``--quick`` / ``--phase``
  variants applied;
* :func:`write_outputs`: every file of ``mmxsim run`` (the exports, then the report and the
  merged event list ``events.csv`` / ``events.ics``, then the sections' files);
* :func:`run_scenario_file`: the ``mmxsim run`` command without its argument parsing
  (progress bars, the console summary); its files are published whole (:mod:`mmxsim.publish`).

Nothing heavy is imported at module import.
"""

from __future__ import annotations

import copy
import time as _time
from pathlib import Path

from .results import RunResult

__all__ = ["resolve_scenario", "apply_overrides", "write_outputs", "write_scenario_outputs", "write_events",
           "run_scenario_file"]


def _merge(base: dict, new: dict) -> dict:
    """``base`` with ``new`` merged in, mapping by mapping. A mapping with another ``type`` than
    the one it replaces (another kind of initial state) replaces it whole."""
    out = dict(base)
    for k, v in new.items():
        old = out.get(k)
        if isinstance(v, dict) and isinstance(old, dict) and v.get("type", old.get("type")) == old.get("type"):
            out[k] = _merge(old, v)
        else:
            out[k] = v
    return out


def apply_overrides(data: dict, overrides: dict) -> dict:
    """A copy of the scenario mapping ``data`` with ``overrides`` applied.

    Keys are field names (``duration_days``), dotted paths (``"propagation.output_step_s"``) or
    nested mappings (``propagation={"output_step_s": 300}``), merged into the scenario rather
    than replacing its sub-blocks. Nothing is checked here: the result is validated like a
    scenario file, so an unknown field gives the usual :class:`~mmxsim.scenario.ScenarioError`.
    """
    out = copy.deepcopy(data)
    for key, value in overrides.items():
        for part in reversed(str(key).split(".")[1:]):
            value = {part: value}
        out = _merge(out, {str(key).split(".")[0]: value})
    return out


def resolve_scenario(source=None, *, overrides: dict | None = None, quick: bool = False, phase: str | None = None,
                     announce=None, base_dir=None):
    """``(scenario, base_dir)`` of what ``mmxsim run`` (or :func:`mmxsim.run`) is asked to run.

    ``source``: ``None`` (the built-in ``reference_mission``), the name of a built-in scenario
    (:data:`~mmxsim.scenario.BUILTIN_SCENARIOS`; a file of that name in the working folder wins),
    a path to a scenario file, YAML text, a mapping (validated as a scenario file) or a
    :class:`~mmxsim.scenario.Scenario`; ``base_dir`` for the last three (default: cwd). ``overrides``: see :func:`apply_overrides`. ``phase``:
    only the analyses of that mission phase (:func:`mmxsim.mission.variants.phase_variant`);
    ``quick``: a fast look (:func:`mmxsim.mission.variants.quick_variant`), in that order, as
    the command line does. ``announce(text)`` is told when a built-in scenario is used.
    Returns ``base_dir``: the folder relative kernel paths are resolved against (``None``: cwd).
    """
    from .scenario import (BUILTIN_SCENARIOS, Scenario, builtin_scenario, load_scenario, parse_scenario,
                           scenario_to_dict)

    base = base_dir
    if isinstance(source, Scenario):
        s = source
    elif isinstance(source, dict):
        s = parse_scenario(source, base_dir=base)
    elif isinstance(source, str) and ("\n" in source or source.lstrip().startswith("{")):  # YAML text
        s = load_scenario(source, base_dir=base)
    else:
        name = None if source is None else str(source).removesuffix(".yaml")
        if source is None or (name in BUILTIN_SCENARIOS and not Path(source).exists()):
            s = builtin_scenario(name or "reference_mission")
            if announce is not None:
                how, hint = ("no scenario given, running", " (every capability; --quick for a fast look)") \
                    if source is None else ("running", "")
                announce(f"{how} the built-in '{s.name}'{hint}")
        else:
            s, base = load_scenario(source), Path(source).resolve().parent
    if overrides:
        what = f"{source or 'reference_mission'}" if isinstance(source, (str, Path)) and "\n" not in str(source) \
            else f"'{s.name}'"
        s = parse_scenario(apply_overrides(scenario_to_dict(s), overrides), f"{what} with overrides", base_dir=base)
    if phase is not None:
        from .mission.variants import phase_variant

        s = phase_variant(s, phase, base)
    if quick:
        from .mission.variants import quick_variant

        s = quick_variant(s, base)
    return s, base


def write_events(result: RunResult, out_dir) -> dict[str, Path]:
    """Write the merged event list of a run (:func:`mmxsim.mission.timeline.run_events`) as
    ``events.csv`` and ``events.ics`` (iCalendar) into ``out_dir``."""
    from .mission.timeline import events_csv, events_ical, run_events

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ev = run_events(result)
    (out / "events.csv").write_text(events_csv(ev))
    (out / "events.ics").write_text(events_ical(ev, f"MMX run: {result.scenario_name} (mmxsim)"), newline="")
    return {"events_csv": out / "events.csv", "events_ics": out / "events.ics"}


def write_outputs(result: RunResult, out_dir, *, report: bool = True, events: bool = True,
                  **exports) -> dict[str, Path]:
    """Write every output of a run into ``out_dir`` (created if missing), as ``mmxsim run`` does.

    The exports (:func:`mmxsim.exports.write_outputs`, whose switches ``exports`` are: ``oem``,
    ``timeseries`` (``"csv"``, ``"parquet"`` or ``None``), ``summary``, ``spk``, ``czml``) give
    ``trajectory.oem``, ``timeseries.csv``, ``summary.json`` and, when asked, ``trajectory.bsp`` and
    ``trajectory.czml``; then the report folder ``report/`` (:func:`mmxsim.report.write_report`;
    ``written["report"]`` is its ``report/index.html``), the merged event
    list ``events.csv`` / ``events.ics`` (:func:`write_events`) and the analysis sections' files.
    Pass ``False`` to skip one; a bad option is refused before anything is written. Returns
    ``{kind: path}`` of what was written.
    """
    from .exports import write_outputs as write_exports
    from .exports import write_section_files

    out = Path(out_dir)
    written = write_exports(result, out, **exports, files=False)
    if report:
        from .report import write_report

        written["report"] = write_report(result, out / "report")
    if events:
        written.update(write_events(result, out))
    written.update(write_section_files(result, out))
    return written


#: set by the command line's signal handlers (SIGINT, SIGTERM): a run asked to stop is never published,
#: even where Python swallowed the KeyboardInterrupt (raised inside a finaliser, it is only printed)
STOP_REQUESTED: list[int] = []


def _not_stopped(value):
    if STOP_REQUESTED:
        raise KeyboardInterrupt(STOP_REQUESTED[0])
    return value


class PlainProgress:
    """Progress as plain lines, for a standard error that is not a terminal (CI, a log file):
    the propagation every ``every`` (10 %) and each analysis' start and end with its time, each
    line written and flushed at once (rich's bars print nothing there until the run ends).
    ``concurrent``: the analyses run in several processes and are announced as they are collected
    (in registry order), not as they start, so each gets one "done" line with the time since the
    analyses began, never a per-analysis time that would not be its own."""

    def __init__(self, stream, name: str, every: float = 0.1, clock=_time.perf_counter, concurrent: bool = False):
        self.stream, self.name, self.every, self.clock = stream, name, float(every), clock
        self.concurrent = bool(concurrent)
        self.t_analyses: float | None = None
        self.t0 = clock()
        self.next = self.every
        self.propagated = False
        self.current: str | None = None
        self.t_current = self.t0

    def line(self, text: str) -> None:
        self.stream.write(f"mmxsim: {text}\n")
        self.stream.flush()

    def propagation(self, fraction: float) -> None:
        """``progress(fraction)`` of :func:`~mmxsim.mission.runner.run_scenario`."""
        f = float(fraction)
        if self.propagated:
            return
        if f >= self.next - 1e-9:  # one line however many steps this call crossed
            k = int(f / self.every + 1e-9)
            self.line(f"propagation {min(100, round(100 * k * self.every)):d} % ({self.clock() - self.t0:.1f} s "
                      "elapsed)")
            self.next = (k + 1) * self.every
        if f >= 1.0 - 1e-9:
            self.propagation_done()

    def propagation_done(self) -> None:
        if not self.propagated:
            self.propagated = True
            self.line(f"propagation done in {self.clock() - self.t0:.1f} s")

    def analysis(self, name: str | None) -> None:
        """``analysis_progress(name)``: called as each analysis starts, then with None."""
        self.propagation_done()
        now = self.clock()
        if self.concurrent:
            if self.t_analyses is None:
                self.t_analyses = now
            if name is not None:
                self.line(f"analysis {name} done ({now - self.t_analyses:.1f} s since the analyses began, "
                          "in several processes)")
            return
        if self.current is not None:
            self.line(f"analysis {self.current} done in {now - self.t_current:.1f} s")
        if name is not None:
            self.line(f"analysis {name} ...")
        self.current, self.t_current = name, now


def run_scenario_file(path, out_dir, progress: bool | str = True, quick: bool = False, phase: str | None = None,
                      workers=None):
    """``mmxsim run``: load (or use a built-in scenario: ``path`` None is the reference mission, or a
    name of :data:`~mmxsim.scenario.BUILTIN_SCENARIOS`), run, write outputs, print a summary.
    ``quick``: a fast look (:func:`mmxsim.mission.variants.quick_variant`); ``phase``: only the
    analyses of that mission phase (:func:`mmxsim.mission.variants.phase_variant`).
    ``progress`` (on standard error): ``True`` or ``"auto"`` (rich bars on a terminal, else
    :class:`PlainProgress` lines), ``"bars"``, ``"plain"``, or ``False`` (none). ``workers``: processes
    for the analyses (:func:`mmxsim.mission.runner.analysis_workers`; None: $MMXSIM_WORKERS, else 1).
    Returns ``(result, {kind: path})``."""
    import sys

    from rich.console import Console

    from .errors import InputError
    from .mission.runner import analysis_workers, run_scenario
    from .publish import check_output_folder, publish
    from .scenario import check_coverage

    if progress not in (True, False, "auto", "bars", "plain", "none"):
        raise InputError("progress", progress, "True, False, 'auto', 'bars', 'plain', 'none'")
    console = Console(stderr=True)
    mode = {True: "auto", False: "none"}.get(progress, progress)
    if mode == "auto":
        mode = "bars" if console.is_terminal else "plain"
    check_output_folder(Path(out_dir).absolute())  # a bad --out fails before the run, not after it
    workers = analysis_workers(workers)  # a bad count fails before the run too
    s, base = resolve_scenario(path, quick=quick, phase=phase,
                               announce=lambda text: console.print(f"[bold]mmxsim[/]: {text}", highlight=False,
                                                                   soft_wrap=True))
    check_coverage(s)
    t_all = _time.perf_counter()
    names = [k for k in type(s.analyses).model_fields if getattr(s.analyses, k) is not None]
    if mode == "bars":
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        with Progress(TextColumn("[bold blue]{task.description}"), BarColumn(), TextColumn("{task.percentage:>5.1f}%"),
                      TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False) as bar:
            task = bar.add_task(f"propagating {s.name}", total=1.0)
            an = bar.add_task("analyses", total=max(len(names), 1), visible=bool(names))

            def on_analysis(name):  # called as each analysis starts, then with None
                bar.update(task, completed=1.0)
                bar.update(an, completed=len(names) if name is None else names.index(name),
                           description="analyses done" if name is None else f"analysis: {name}")

            result = run_scenario(s, base, progress=lambda f: bar.update(task, completed=f),
                                  analysis_progress=on_analysis if names else None, workers=workers)
            bar.update(task, completed=1.0)
    elif mode == "plain":
        plain = PlainProgress(sys.stderr, s.name, concurrent=workers > 1)
        plain.line(f"building the force model and propagating {s.name}")
        result = run_scenario(s, base, progress=plain.propagation, analysis_progress=plain.analysis if names else None,
                              workers=workers)
        plain.propagation_done()
        plain.line("writing outputs")
    else:
        result = run_scenario(s, base, workers=workers)
    t_out = _time.perf_counter()
    # staged, sealed (sizes and SHA-256 in summary.json) and swapped in whole: out_dir holds this
    # complete run or, after any failure or interrupt, what it held before (mmxsim.publish)
    paths = publish(out_dir, lambda stage: _not_stopped(write_scenario_outputs(result, s, stage)))
    result.timings["outputs_s"] = _time.perf_counter() - t_out
    result.timings["total_s"] = _time.perf_counter() - t_all
    d = result.distance_phobos_km
    console.print(f"[green]done[/] {s.name}: {result.trajectory.t.size} samples, {result.termination}; "
                  f"distance to Phobos {d.min():.2f}..{d.max():.2f} km; "
                  f"compile {result.timings['compile_s']:.2f} s, propagate {result.timings['propagate_s']:.2f} s, "
                  f"outputs {result.timings['outputs_s']:.1f} s",
                  highlight=False, soft_wrap=True)
    for k, p in paths.items():
        console.print(f"  {k}: {p}", highlight=False, soft_wrap=True, markup=False)
    return result, paths


def write_scenario_outputs(result: RunResult, scenario, out_dir) -> dict[str, Path]:
    """:func:`write_outputs` with the switches of the scenario's ``outputs`` block."""
    o = scenario.outputs
    return write_outputs(result, Path(out_dir), oem=o.oem, timeseries=o.timeseries if o.timeseries != "none" else None,
                         summary=True, report=o.report, events=o.events, spk=o.spk, czml=o.czml,
                         czml_center=o.czml_center)
