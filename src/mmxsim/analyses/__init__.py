"""The analyses a scenario can ask for beyond its trajectory, one module each, and their registry.

Contract
--------
An analysis is one module that defines ``ANALYSIS = Analysis(...)`` (:class:`Analysis`): its
name, its settings model, its run function ``(settings, scenario, ctx) -> Section``, its
quick-look settings, the mission phases it simulates, the partner contributions it models and,
optionally, its report warnings and a command. docs/adding_an_analysis.md has a worked example.

The section is read by a mission team: its ``headline`` is one line of words with numbers and units
(the key result, shown on the report's index), and every visible text (paragraphs, table headers
and cells, figure captions, assumptions) is in words with units, never a data key: :func:`label`
names a data key (``peak_heat_flux_MWm2`` -> "Peak heat flux (MW/m²)"), :func:`param_label` an
estimated parameter (``phobos:gm`` -> "Phobos GM"), :func:`words` a data name in a cell, and
:func:`figures_png` takes ``captions`` (a sentence that says what is plotted). ``data`` keeps the
keys (summary.json is the machine interface).

Discovery
---------
:func:`registry` collects, once (``refresh=True`` looks again):

1. every public module of this package (``mmxsim.analyses.<name>``; modules starting with
   ``_`` are helpers), each of which must define ``ANALYSIS``;
2. every entry point of the group ``mmxsim.analyses`` (:data:`ENTRY_POINT_GROUP`), so a partner
   ships an analysis as a separate package: the entry point names a module with ``ANALYSIS``, or
   an :class:`Analysis` object (``module:ANALYSIS``).

They are ordered by :attr:`Analysis.order` (the built-ins keep the historical order of the
report and summary.json; plugins come after them by default). Two analyses with one name are an
error.

Built from the registry
-----------------------
- the scenario's ``analyses`` block (:func:`analyses_model`): this package registers it with
  :func:`mmxsim.scenario.set_analyses_provider` when imported (``import mmxsim`` imports it), so
  :func:`mmxsim.scenario.parse_scenario` and every loader validate every analysis' settings while
  the scenario layer stays below this one;
- :func:`run_analyses` (the sections of a run), ``--quick`` and ``--phase``
  (:mod:`mmxsim.mission.variants`), the timeline's "simulated here" (:func:`phase_analyses`),
  the partners table (:mod:`mmxsim.partners`), the report's warnings (:func:`report_warnings`)
  and the commands of ``mmxsim`` (:mod:`mmxsim.cli`).
"""

from __future__ import annotations

import importlib
import pkgutil
import time as _time
from importlib.metadata import entry_points
from pathlib import Path
from typing import Callable

from pydantic import Field, create_model

from ..errors import InputError
from ..results import Section
from ..scenario import AnalysesBlock, set_analyses_provider
from ._common import (figures_png, fmt_num, kv_table, label, param_label, phobos_fixed_geometry, plain,
                      png_bytes, science_windows, site_pair, words)
from ._events import MissionEvent, Operation, first_touchdown_tdb, reference_operations
from ._plugin import Analysis

__all__ = ["Analysis", "ENTRY_POINT_GROUP", "registry", "get", "analyses_model", "run_analyses", "phase_analyses",
           "report_warnings", "SHARES_CTX", "SHARED_WORK", "COST_HINT_S", "COST_HINT_FIRST_RUN_S", "NO_TRAJECTORY", "task_groups",
           "schedule_order",
           "AnalysisWorkers", "release_memory", "start_method", "MissionEvent", "Operation", "first_touchdown_tdb",
           "reference_operations", "png_bytes", "figures_png", "fmt_num", "kv_table", "label", "param_label", "words",
           "plain", "phobos_fixed_geometry", "science_windows", "site_pair"]

#: The entry-point group through which installed packages add analyses.
ENTRY_POINT_GROUP = "mmxsim.analyses"

_registry: dict[str, Analysis] | None = None
_models: dict[tuple, type[AnalysesBlock]] = {}


def _declared(obj, where: str) -> Analysis:
    a = getattr(obj, "ANALYSIS", obj)
    if not isinstance(a, Analysis):
        raise InputError(where, type(a).__name__, "a module defining ANALYSIS = mmxsim.analyses.Analysis(...), "
                                                  "or an Analysis")
    return a


def _discover() -> dict[str, Analysis]:
    found: list[tuple[Analysis, str]] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        found.append((_declared(mod, mod.__name__), mod.__name__))
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        where = f"entry point {ep.name} = {ep.value} ({ENTRY_POINT_GROUP})"
        found.append((_declared(ep.load(), where), where))
    out: dict[str, Analysis] = {}
    origin: dict[str, str] = {}
    for a, where in sorted(found, key=lambda x: x[0].order):  # stable: ties keep discovery order
        if a.name in out:
            raise InputError(f"analysis {a.name!r}", where, f"one analysis per name (also in {origin[a.name]})")
        out[a.name], origin[a.name] = a, where
    return out


def registry(refresh: bool = False) -> dict[str, Analysis]:
    """Every analysis, by name, in order (discovered on first use; ``refresh`` looks again)."""
    global _registry
    if _registry is None or refresh:
        _registry = _discover()
    return _registry


def get(name: str) -> Analysis:
    """One analysis by name, or an InputError listing them."""
    reg = registry()
    if name not in reg:
        raise InputError("analysis", name, ", ".join(reg))
    return reg[name]


def analyses_model() -> type[AnalysesBlock]:
    """The model of the scenario's ``analyses`` block: one optional field per analysis, in order
    (``None``: not run). One model per set of analyses (cached)."""
    reg = registry()
    key = tuple((a.name, a.settings, a.description) for a in reg.values())
    if key not in _models:
        fields = {a.name: (a.settings | None, Field(None, description=a.description)) for a in reg.values()}
        _models[key] = create_model("Analyses", __base__=AnalysesBlock, __module__=__name__,
                                    __doc__=AnalysesBlock.__doc__.split("\n\n")[0], **fields)
    return _models[key]


set_analyses_provider(analyses_model)


def _computes_navigation(cfg) -> bool:
    return getattr(cfg, "navigation", None) == "computed"


#: the spacing (deg) of thomas3k's default fast-gravity grid (``gravity.fast.GridGravity``'s default
#: ``dlat_deg`` = ``dlon_deg``; a test checks that they agree)
DEFAULT_GRID_DEG = 2.0


def _uses_default_grid(cfg) -> bool:
    return getattr(cfg, "grid_deg", None) == DEFAULT_GRID_DEG


#: Work that several analyses need and that one process computes once, kept for the others (in the
#: run's ``ctx`` or in a per-process cache): ``{what: {analysis: uses(settings) or None (always)}}``.
#: In a concurrent run (:func:`run_analyses` with ``workers`` > 1) the enabled analyses that use one
#: such product run in one process, in registry order, so it is computed once as in a serial run
#: (in two processes it would be computed twice: the same numbers, twice the CPU).
SHARED_WORK: dict[str, dict[str, Callable[[object], bool] | None]] = {
    # origin's interior table takes geodesy's covariance (analyses.geodesy.geodesy_result, ctx["geodesy"])
    "geodesy covariance": {"geodesy": None, "origin": lambda cfg: bool(getattr(cfg, "interior", True))},
    # the covariance analysis of the run's tracking (analyses.od.navigation_error, cached per process),
    # ~2-3 CPU-s, asked for by each analysis whose navigation is "computed"
    "navigation error": {"qso_campaign": _computes_navigation, "transfer": _computes_navigation,
                         "landing": _computes_navigation},
    # the od analysis estimates the parameters of the navigation error's covariance run (the scenario's od
    # block) with the same model: one variational integrator (navigation.variational's per-process cache),
    # built once beside them instead of in two processes (0.2-0.5 CPU-s of a quick run, measured)
    "od variational equations": {"od": None, "qso_campaign": _computes_navigation, "transfer": _computes_navigation,
                                 "landing": _computes_navigation},
    # thomas3k's default fast-gravity grid (gravity.fast.GridGravity("thomas3k"), surface.landing.default_grid:
    # 2° x 2° x 24 nodes), ~12 CPU-s to build on a first run and then on disk: in one process the second user
    # reads the file; in two, the second waited for the first's build lock with its core idle (7 s of the
    # main process on a first full run, measured)
    "thomas3k gravity grid": {"rover": None, "landing": _uses_default_grid},
}

#: Analyses that read another's product through ``ctx`` (reader -> the analysis it reads); part of
#: :data:`SHARED_WORK`.
SHARES_CTX: dict[str, str] = {"origin": "geodesy"}

#: Wall seconds of the heaviest analyses of the reference mission (full run, warm caches, one
#: process, 2026-12-06 on the 2-CPU machine after the second round of issue 19's speed work (K3, O2, T2,
#: N2 merged; one helper still running beside it): ``--hints-from`` a warm run's summary.json), used only to hand the longest tasks out first in a concurrent run
#: (longest-processing-time first); the results do not depend on it. Analyses not listed count 1 s.
#: To re-measure: ``python benchmarks/bench_mission.py --only full --hints`` (or ``--hints-from
#: SUMMARY.json`` of a one-process run) prints this table from the measured seconds.
COST_HINT_S: dict[str, float] = {"origin": 8.4, "geodesy": 8.3, "comms": 6.6, "rover": 6.1, "transfer": 4.6,
                                 "qso_campaign": 3.9, "observation": 3.7, "od": 3.5, "landing": 2.7, "mirs": 2.4,
                                 "megane": 2.3, "qso_family": 1.9, "entry": 1.5}

#: The same for a first run (numba's, heyoka's and mmxsim's caches empty: each analysis also compiles
#: its kernels and builds its grids), used instead of :data:`COST_HINT_S` when
#: :func:`looks_cold` says so: there the landing analysis (with the thomas3k gravity
#: grid it builds for itself and the rover) and the rover outweigh the rest, and handed out third by the
#: warm hints they ended a first run 7 s after the other process had finished (measured). Wall seconds
#: of each analysis in its process, full run, 2 processes, every cache cold (``bench_mission.py --only
#: full --cache cold --workers 2``, 2026-12-07 on the 2-CPU machine, with issue 19's fifth round: serial
#: rover kernel, one grid).
COST_HINT_FIRST_RUN_S: dict[str, float] = {
    "landing": 23.7, "origin": 20.1, "rover": 17.1, "qso_campaign": 10.4, "geodesy": 10.0, "comms": 8.7,
    "entry": 6.2, "transfer": 5.6, "touchdown": 5.0, "od": 3.0, "observation": 2.9, "qso_family": 2.7,
    "windows": 2.6, "deimos": 1.4, "megane": 1.3, "mirs": 1.1}

#: The built-in analyses that never read the run's trajectory (``ctx["t"]``, ``ctx["states"]``,
#: ``ctx["phobos_fixed"]``, :data:`TRAJECTORY_KEYS`): only their settings, the scenario, the ephemeris
#: and the model. In a concurrent run whose workers start ahead (:class:`AnalysisWorkers`,
#: :meth:`AnalysisWorkers.begin`), a worker takes these (whole groups of them) while this process
#: still propagates, instead of waiting idle for the arrays. Plugins are not listed: they wait for
#: the trajectory. An analysis listed here that reads the trajectory fails
#: (:class:`~mmxsim.errors.MmxsimError` naming the key) instead of running without it, so a wrong
#: entry can never change a result silently; tests/mission/test_workers.py runs each listed analysis
#: of the reference mission's quick look that way.
NO_TRAJECTORY: frozenset[str] = frozenset({
    "origin", "geodesy", "rover", "entry", "touchdown", "surface_map", "sampling", "planetary_protection",
    "qso_family", "budget", "deimos", "windows"})

#: The keys of the run's ``ctx`` that hold the propagated trajectory (see :data:`NO_TRAJECTORY`).
TRAJECTORY_KEYS: tuple[str, ...] = ("t", "states", "phobos_fixed")


class _BeforeTrajectory(dict):
    """A worker's ``ctx`` for an analysis started before the trajectory exists: reading one of
    :data:`TRAJECTORY_KEYS` raises (the analysis is wrongly listed in :data:`NO_TRAJECTORY`)."""

    def _refuse(self, key):
        if key in TRAJECTORY_KEYS:
            from ..errors import MmxsimError

            raise MmxsimError(f"an analysis listed in mmxsim.analyses.NO_TRAJECTORY read ctx[{key!r}], the "
                              "run's trajectory, which it is started without: remove it from the list")

    def __getitem__(self, key):
        self._refuse(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self._refuse(key)
        return super().get(key, default)

    def __contains__(self, key):
        self._refuse(key)
        return super().__contains__(key)


def _before_trajectory(group) -> bool:
    """Whether a task (a group of :func:`_tasks`) may start before the run's trajectory exists."""
    return all(n in NO_TRAJECTORY for n in group)


def _tasks(names: list[str], block=None) -> list[list[str]]:
    """The enabled analyses ``names`` in groups that run in one worker (see :data:`SHARED_WORK`;
    ``block``: the scenario's ``analyses`` block, to ask each member whether its settings use the
    product; None: they all do), each group in the order of ``names``, the groups in the order of
    their first member."""
    parent = {n: n for n in names}

    def root(n):
        while parent[n] != n:
            n = parent[n]
        return n

    for members in SHARED_WORK.values():
        users = [n for n in names if n in members and (block is None or members[n] is None
                                                        or members[n](getattr(block, n)))]
        for n in users[1:]:
            parent[root(n)] = root(users[0])
    groups: dict[str, list[str]] = {}
    for n in names:
        groups.setdefault(root(n), []).append(n)
    return sorted(groups.values(), key=lambda g: names.index(g[0]))


def task_groups(block) -> list[list[str]]:
    """The tasks of a concurrent run of the scenario's ``analyses`` block: its enabled analyses
    grouped by :func:`_tasks`."""
    return _tasks([n for n in type(block).model_fields if getattr(block, n) is not None], block)


def looks_cold() -> bool:
    """Whether this looks like a first run (caches empty), judged without importing numba: numba's disk
    cache holds no compiled rover deployment kernel (``surface.rover.kernels._deploy_impl``, which
    every run of the reference mission compiles; :func:`mmxsim.files.numba_cache_has`). Chooses the
    cost hints of :func:`schedule_order`, nothing else."""
    from ..files import numba_cache_has

    try:
        return not numba_cache_has(Path(__file__).resolve().parents[1] / "surface" / "rover" / "kernels.py",
                                   "_deploy_impl")
    except OSError:
        return False


def schedule_order(tasks: list[list[str]], first_run: bool = False) -> list[list[str]]:
    """The groups of :func:`_tasks` in the order a concurrent run hands them out: the longest first by
    :data:`COST_HINT_S` (``first_run``: :data:`COST_HINT_FIRST_RUN_S`; an unlisted analysis counts 1 s),
    ties in registry order."""
    hints = COST_HINT_FIRST_RUN_S if first_run else COST_HINT_S
    return sorted(tasks, key=lambda g: -sum(hints.get(n, 1.0) for n in g))


_worker_state: dict = {}


def release_memory(freeze: bool = False) -> None:
    """Hand back what an analysis left behind before the next one starts: its large temporaries
    in reference cycles (``gc.collect``) and the C heap's free pages (glibc's ``malloc_trim``, where
    there is one: freed memory otherwise stays in the process' resident set). ``freeze``: then move
    the survivors to the collector's permanent generation (``gc.freeze``, see :func:`_freeze_begin`),
    so the next collection scans only what the next analysis creates (~0.1 s saved per analysis)."""
    import gc

    gc.collect()
    if freeze:
        gc.freeze()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _freeze_begin() -> bool:
    """Collect, then freeze every object alive (``gc.freeze``): the modules, the run's products and
    caches survive the analyses, and a full collection after each analysis then costs milliseconds
    instead of ~0.1 s. False (nothing done) where the collector is off or something else froze
    objects; :func:`_freeze_end` gives them back to the collector."""
    import gc

    if not gc.isenabled() or gc.get_freeze_count():
        return False
    gc.collect()
    gc.freeze()
    return True


def _freeze_end(frozen: bool) -> None:
    if frozen:
        import gc

        gc.unfreeze()


_trim: list = []


def _malloc_trim():
    if not _trim:
        fn = None
        try:
            import ctypes
            import sys

            if sys.platform.startswith("linux"):
                fn = ctypes.CDLL("libc.so.6").malloc_trim
                fn.argtypes, fn.restype = [ctypes.c_size_t], ctypes.c_int
        except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
            fn = None
        _trim.append(fn)
    return _trim[0]


def _worker_init(setup) -> None:
    import multiprocessing as mp
    import signal

    from .._accel import limit_threads

    if mp.parent_process() is not None:  # in a worker process (not when a test calls this directly)
        # a forked worker inherits the parent's handlers (mmxsim run's turn SIGTERM into
        # KeyboardInterrupt): the defaults, as in a worker that starts afresh, so that terminate() ends it
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    limit_threads(1)  # the workers and the parent share the cores: one thread each (numba, OpenBLAS)
    _worker_state.clear()
    _worker_state["setup"] = setup


def _worker_ready() -> None:
    """The worker's scenario and ctx, built once by the setup the parent handed over, and the
    analysis modules imported."""
    if "ctx" not in _worker_state:
        fn, args = _worker_state["setup"]
        _worker_state["scenario"], _worker_state["ctx"] = fn(*args)
        registry()


def _worker_prime() -> bool:
    """A worker's first task when the pool is started ahead of the run's products
    (:class:`AnalysisWorkers`): its set-up, done while the parent propagates. A failure here is
    not reported: the first real task repeats the set-up and reports it."""
    try:
        _worker_ready()
    except Exception:  # noqa: BLE001 - raised again, with its traceback, by the first analysis task
        return False
    try:  # what nearly every analysis' figures load on first use: Matplotlib, its Agg canvas and font
        from matplotlib.figure import Figure

        fig = Figure(figsize=(1, 1))
        fig.subplots().set_title("mmxsim")
        png_bytes(fig, dpi=10)
    except Exception:  # noqa: BLE001 - only a head start: the analyses report their own errors
        pass
    return True


def _run_group(names: list[str], s, ctx, frozen: bool = False, cpu: list | None = None) -> list[Section]:
    """The sections of ``names``, one after the other; ``cpu`` (a list): each one's CPU seconds (of
    this process, its threads included) are appended to it."""
    reg = registry()
    out = []
    for name in names:
        t0, c0 = _time.perf_counter(), _time.process_time()
        sec = reg[name].run(getattr(s.analyses, name), s, ctx)
        sec.seconds = _time.perf_counter() - t0
        if cpu is not None:
            cpu.append(_time.process_time() - c0)
        out.append(sec)
        release_memory(frozen)
    return out


def _worker_run(names: list[str], extra: dict | None = None, early: bool = False):
    """In a worker: (sections or a portable exception, the worker's pid, its peak resident memory in
    bytes, (start, end) wall-clock epoch seconds, each analysis' CPU seconds). The scenario and ctx are built once per worker by
    the setup the parent handed over; ``extra`` (the run's arrays, when the pool was started before
    they existed) completes the ctx. ``early``: the task started before the trajectory exists (its
    analyses are in :data:`NO_TRAJECTORY`): its ctx refuses the trajectory's keys; what the
    analyses add to it (``ctx["geodesy"]``) is kept for the worker's later tasks."""
    import os
    import resource
    import traceback

    start = _time.time()
    cpu: list[float] = []
    try:
        _worker_ready()
        ctx = _worker_state["ctx"]
        for k, v in (extra or {}).items():
            ctx.setdefault(k, v)
        if "frozen" not in _worker_state:  # this process lives for the run's analyses: frozen until it ends
            _worker_state["frozen"] = _freeze_begin()
        if early:
            guarded = _BeforeTrajectory((k, v) for k, v in ctx.items() if k not in TRAJECTORY_KEYS)
            try:
                result = _run_group(names, _worker_state["scenario"], guarded, _worker_state["frozen"], cpu)
            finally:
                ctx.update((k, v) for k, v in dict.items(guarded) if k not in TRAJECTORY_KEYS)
        else:
            result = _run_group(names, _worker_state["scenario"], ctx, _worker_state["frozen"], cpu)
    except Exception as exc:  # re-raised in the parent as the same type with the same attributes
        result = ("error", type(exc), exc.args, dict(getattr(exc, "__dict__", {})), traceback.format_exc())
    return (result, os.getpid(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, (start, _time.time()),
            cpu)


class RemoteTraceback(Exception):
    """The traceback of an analysis that failed in a worker process (the cause of the re-raised error)."""

    def __str__(self):
        return "\n" + (self.args[0] if self.args else "")


def _reraise(err):
    _, cls, args, state, tb = err
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    raise exc from RemoteTraceback(tb)


def start_method() -> str:
    """The start method of the analysis workers. ``fork`` on Linux while it is safe: no Python thread
    but this one runs and neither heyoka nor numba is imported yet (so neither has started a thread
    or its LLVM), as in ``mmxsim run``, which starts its workers before anything else; the worker then
    begins with this process' imports (Python, NumPy, pydantic, mmxsim and its analyses) instead of
    importing them again (~0.7 CPU-s, measured with ``time.process_time()``). Otherwise (a process
    that has run something already: an API session, the test suite) ``forkserver`` where the platform
    has one, else ``spawn``: fork is unsafe once heyoka's and numba's threads have started."""
    import multiprocessing as mp
    import sys
    import threading

    methods = mp.get_all_start_methods()
    if (sys.platform.startswith("linux") and "fork" in methods and threading.active_count() == 1
            and "heyoka" not in sys.modules and "numba" not in sys.modules):
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


class AnalysisWorkers:
    """``processes`` worker processes for :func:`run_analyses`, started now so that their start-up
    (interpreter, imports, the scenario and its dynamics model: ``setup``, see :func:`run_analyses`)
    runs while this process builds and propagates the trajectory. ``setup(*args)`` returns
    ``(scenario, ctx)`` without the run's arrays; :func:`run_analyses` sends those with each task
    (``worker_ctx``). :meth:`begin` then hands the workers the analyses that need no trajectory
    (:data:`NO_TRAJECTORY`) before it exists. Close it (or use it as a context manager) when the
    analyses are done."""

    def __init__(self, processes: int, setup, prime: bool = True):
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        self.processes = int(processes)
        self.schedule: _Schedule | None = None
        self.pool = ProcessPoolExecutor(max_workers=self.processes, mp_context=mp.get_context(start_method()),
                                        initializer=_worker_init, initargs=(setup,))
        # a task per worker starts the processes now (the pool starts them as tasks arrive)
        self.primed = [self.pool.submit(_worker_prime) for _ in range(self.processes)] if prime else []

    def begin(self, scenario) -> None:
        """Start handing out ``scenario``'s analyses now, before the run's trajectory exists: each
        worker takes the longest task (:func:`schedule_order`) whose analyses all need no trajectory
        (:data:`NO_TRAJECTORY`), then the next, and waits when none is left; once
        :func:`run_analyses` brings the trajectory, every task is handed out from the same queue.
        Nothing starts with fewer than two tasks (:func:`run_analyses` then runs them serially)."""
        if self.schedule is not None:
            return
        block = scenario.analyses
        names = [n for n in type(block).model_fields if getattr(block, n) is not None]
        tasks = _tasks(names, block)
        if len(tasks) < 2:
            return
        self.schedule = _Schedule(names, tasks, self, min(self.processes, len(tasks) - 1))
        self.schedule.start()

    def close(self, wait: bool = True) -> None:
        """Stop the workers (``wait=False``: at once, e.g. after an interrupt)."""
        if self.schedule is not None:
            self.schedule.stop()
        if not wait:
            for p in list(getattr(self.pool, "_processes", {}).values() or []):
                p.terminate()
        self.pool.shutdown(wait=wait, cancel_futures=True)

    def release(self) -> None:
        """Let the workers exit once their tasks are done, without waiting for them here: their
        exit (the interpreter's and its libraries' teardown) overlaps what this process does next,
        e.g. writing the outputs (the pool's own thread joins them; the interpreter waits for it at
        exit)."""
        if self.schedule is not None:
            self.schedule.stop()
        self.pool.shutdown(wait=False, cancel_futures=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        self.close(wait=exc_type is None)


class _Schedule:
    """The task queue of one concurrent run: one feeding thread per worker process (each hands its
    worker the next task and waits for its sections) and this process' own loop (:meth:`own`).
    Before :meth:`ready` only the tasks that need no trajectory (:func:`_before_trajectory`) go out,
    to the workers; after it, every task, longest first."""

    def __init__(self, names, tasks, workers: AnalysisWorkers, feeders: int):
        import threading
        from collections import deque

        self.names, self.workers = names, workers
        self.pending = deque(schedule_order(tasks, looks_cold()))  # longest first
        self.cond = threading.Condition()
        self.is_ready, self.stopped, self.worker_ctx, self.t_ready = False, False, None, None
        self.done: dict[str, Section] = {}
        self.errors: dict[int, BaseException | tuple] = {}  # registry position of a failed task's first member
        self.peaks: dict[int, int] = {}
        self.ran: dict[str, tuple] = {}  # analysis -> (pid or None for this process, start, end) of its group
        self.feeders = [threading.Thread(target=self._feed, daemon=True, name=f"mmxsim-analyses-{i}")
                        for i in range(feeders)]

    def start(self) -> None:
        for th in self.feeders:
            th.start()

    def ready(self, worker_ctx: dict | None) -> None:
        """The trajectory exists: ``worker_ctx`` (its arrays) goes with every task from now on."""
        with self.cond:
            self.is_ready, self.worker_ctx, self.t_ready = True, worker_ctx, _time.time()
            self.cond.notify_all()

    def stop(self) -> None:
        """No new task starts (an interrupt, or the run failed before its analyses)."""
        with self.cond:
            self.stopped = True
            self.pending.clear()
            self.cond.notify_all()

    def take(self, before_trajectory: bool = False):
        """The next task as ``(group, early)``, or None when none is left (or after a failure);
        ``before_trajectory``: a feeder, which may take a task that needs no trajectory before it
        exists (``early``) and otherwise waits for it."""
        with self.cond:
            while True:
                if self.errors or self.stopped or not self.pending:
                    return None
                if self.is_ready:
                    return self.pending.popleft(), False
                if before_trajectory:
                    g = next((g for g in self.pending if _before_trajectory(g)), None)
                    if g is not None:
                        self.pending.remove(g)
                        return g, True
                self.cond.wait()

    def record(self, g, result, pid, start, end, peak: int = 0, cpu=()) -> None:
        with self.cond:
            if pid is not None:
                self.peaks[pid] = max(peak, self.peaks.get(pid, 0))
            if start is not None:
                self.ran.update(_member_times(g, result, pid, start, end, cpu))
            if isinstance(result, list):
                self.done.update(zip(g, result))
            else:
                self.errors[self.names.index(g[0])] = result
            self.cond.notify_all()

    def _feed(self) -> None:
        while (got := self.take(before_trajectory=True)) is not None:
            g, early = got
            try:
                result, pid, peak, when, cpu = self.workers.pool.submit(
                    _worker_run, g, None if early else self.worker_ctx, early).result()
            except BaseException as exc:  # noqa: BLE001 - e.g. a worker killed: BrokenProcessPool
                result, pid, peak, when, cpu = exc, None, 0, (None, None), ()
            self.record(g, result, pid, *when, peak=peak, cpu=cpu)

    def join(self) -> None:
        for th in self.feeders:
            th.join()


#: Peak resident memory (bytes) of the worker processes of the last concurrent :func:`run_analyses`
#: in this process, one entry per worker that ran a task (this process' own peak is not in it).
last_worker_peaks: list[int] = []

#: Where and when each analysis of the last concurrent :func:`run_analyses` in this process ran:
#: ``{"analysis", "process"`` ("main", or "worker 1", "worker 2"... in order of first use)``,
#: "start_s", "end_s", "cpu_s"}`` (wall seconds since the trajectory was handed to the analyses:
#: negative for an analysis a worker started before it existed, see :meth:`AnalysisWorkers.begin`;
#: its process' CPU seconds while it ran, threads included), in registry order.
last_schedule: list[dict] = []


def run_analyses(scenario, ctx: dict | None = None,
                 progress: Callable[[str], None] | None = None, workers: int = 1,
                 worker_setup=None, pool: AnalysisWorkers | None = None,
                 worker_ctx: dict | None = None) -> list[Section]:
    """Run every analysis the scenario's ``analyses`` block enables; each section's ``seconds`` is
    its wall time. ``ctx``: the run's products (see :class:`Analysis`).

    ``workers`` > 1 with a ``worker_setup`` (or a started ``pool``) runs them concurrently: this
    process and ``workers - 1`` worker processes (:func:`start_method`) take the tasks, longest first
    (:func:`schedule_order`), from one queue. ``worker_setup`` is ``(function, args)``, both picklable:
    ``function(*args)`` returns ``(scenario, ctx)`` in a worker, once per worker (the run's products
    rebuilt there: an ephemeris holds open files and cannot travel). ``pool``: workers started
    ahead (:class:`AnalysisWorkers`; not closed here), whose ctx ``worker_ctx`` (picklable: the
    run's arrays) completes. Analyses that share work (:data:`SHARED_WORK`) run together in one
    process. The sections come back in registry order whatever the completion order, and
    ``progress(name)`` is called in that order as the sections arrive (in a serial run: as each
    starts). An analysis' exception is raised with its type and attributes (a worker's traceback as
    its cause); after a failure no new task starts. Without ``worker_setup`` or ``pool``, or with
    fewer than two tasks, the run is serial. After each analysis the memory it released is handed
    back (:func:`release_memory`; the objects alive before are frozen meanwhile, see
    :func:`_freeze_begin`, and unfrozen at the end)."""
    block = scenario.analyses
    names = [n for n in type(block).model_fields if getattr(block, n) is not None]
    tasks = _tasks(names, block)
    if workers > 1 and (worker_setup is not None or pool is not None) and len(tasks) > 1:
        return _run_concurrent(scenario, ctx, names, tasks, min(int(workers), len(tasks)), worker_setup, progress,
                               pool, worker_ctx)
    sections = []
    reg = registry()
    frozen = _freeze_begin()
    try:
        for name in names:
            if progress is not None:
                progress(name)
            t0 = _time.perf_counter()
            sec = reg[name].run(getattr(block, name), scenario, ctx)
            sec.seconds = _time.perf_counter() - t0
            sections.append(sec)
            release_memory(frozen)
    finally:
        _freeze_end(frozen)
    return sections


def _member_times(g, result, pid, start: float, end: float, cpu=()) -> dict:
    """``{analysis: (pid, start, end, CPU seconds or None)}`` of a group that ran from ``start`` to
    ``end``: each member from its section's seconds, one after the other (the whole span for each
    after a failure); ``cpu``: the members' CPU seconds, in order."""
    if not isinstance(result, list):
        return {n: (pid, start, end, None) for n in g}
    out, t = {}, start
    cpu = list(cpu)
    for i, (n, sec) in enumerate(zip(g, result)):
        out[n] = (pid, t, min(t + sec.seconds, end), cpu[i] if i < len(cpu) else None)
        t = out[n][2]
    return out


def _run_concurrent(scenario, ctx, names, tasks, workers, worker_setup, progress, own=None,
                    worker_ctx=None) -> list[Section]:
    told = [0]
    workers = min(workers, 1 + (own.processes if own is not None else workers - 1))
    # workers for this call only, started now, unless started ahead
    pool = own if own is not None else AnalysisWorkers(workers - 1, worker_setup, prime=False)
    sched = pool.schedule
    if sched is None or sched.names != names or sched.is_ready:  # not begun (AnalysisWorkers.begin) for these
        if sched is not None:
            sched.stop()
            sched.join()
        sched = pool.schedule = _Schedule(names, tasks, pool, workers - 1)
        sched.ready(worker_ctx)  # the trajectory is there from the start: every task in the longest-first order
        sched.start()

    def tell():  # progress in registry order, in this (the calling) thread only
        while progress is not None and told[0] < len(names) and names[told[0]] in sched.done:
            progress(names[told[0]])
            told[0] += 1

    last_worker_peaks.clear()
    last_schedule.clear()
    finished = False
    from .._accel import limit_threads, restore_threads

    threads_before = limit_threads(1)  # this process too, while the workers run (see _worker_init)
    frozen = _freeze_begin()
    try:
        if not sched.is_ready:
            sched.ready(worker_ctx)
        tell()
        while (got := sched.take()) is not None:  # this process takes tasks from the same queue
            g, cpu = got[0], []
            start = _time.time()
            try:
                result = _run_group(g, scenario, ctx, frozen, cpu)
            except Exception as exc:
                result = exc
            sched.record(g, result, None, start, _time.time(), cpu=cpu)
            tell()
        sched.join()
        finished = True
    finally:
        if not finished:  # interrupted (KeyboardInterrupt): stop the workers rather than wait for them
            pool.close(wait=False)
        elif own is None:
            pool.close()
        restore_threads(threads_before)
        _freeze_end(frozen)
    last_worker_peaks.extend(sched.peaks.values())
    ran, t_begin = sched.ran, sched.t_ready
    label: dict = {None: "main"}
    for n in sorted(ran, key=lambda n: ran[n][1]):
        label.setdefault(ran[n][0], f"worker {len(label)}")
    last_schedule.extend({"analysis": n, "process": label[ran[n][0]], "start_s": round(ran[n][1] - t_begin, 3),
                          "end_s": round(ran[n][2] - t_begin, 3),
                          **({} if ran[n][3] is None else {"cpu_s": round(ran[n][3], 3)})}
                         for n in names if n in ran)
    if sched.errors:
        err = sched.errors[min(sched.errors)]
        if isinstance(err, tuple):
            _reraise(err)
        raise err
    tell()
    return [sched.done[name] for name in names]


def phase_analyses(phase: str) -> tuple[str, ...]:
    """Names of the analyses that simulate the mission phase ``phase`` (by its exact name), in order."""
    return tuple(a.name for a in registry().values() if phase in a.phases)


def report_warnings(sections) -> list[str]:
    """The warnings the analyses raise on their sections (each section by its analysis, in section order)."""
    reg = registry()
    out: list[str] = []
    for sec in sections:
        a = reg.get(sec.key)
        if a is not None and a.warnings is not None:
            out.extend(a.warnings(sec))
    return out
