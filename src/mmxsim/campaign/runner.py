"""Run a campaign's samples on Dask, checkpointing each finished sample.

Execution
---------
``scheduler=None`` starts a :class:`dask.distributed.LocalCluster` (``n_workers``
processes, one thread each: heyoka and NumPy release the GIL only in parts, and one
process per core is what scales); ``scheduler="tcp://host:8786"`` connects to an
existing cluster (its workers need mmxsim installed and the base scenario's kernel
files at the same paths); ``scheduler="synchronous"`` runs the samples one after the
other in this process, without Dask (debugging, tests, tiny campaigns).

Each sample runs :func:`run_sample` on a worker: it builds the sample's scenario
(base + drawn values), validates it with :func:`mmxsim.scenario.parse_scenario`,
runs it with :func:`mmxsim.mission.runner.run_scenario` and picks the requested
numbers out of its summary (:func:`mmxsim.results.build_summary`). The
record comes back to this (client) process, which writes it as a part file
(:mod:`.checkpoint`) before counting it done; so the parts folder lives where the
client runs, whatever the cluster.

Where a campaign records only trajectory numbers and enables no analysis, samples that share
a model run instead as heyoka batch-mode ensembles, one Dask task per chunk of a group
(:mod:`.ensemble`, ``engine="auto"``, the default); each record's ``path`` says which ran.

A sample that fails (a drawn value the scenario rejects, a propagation error, a
worker that died) is recorded with ``status = "failed"`` and its error text; it is
not retried on resume unless ``retry_failed`` is set.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from . import checkpoint as ck
from .sample import fail_record, new_record, pick_outputs, run_sample  # noqa: F401 - public here too
from .spec import CampaignSpec

__all__ = ["run_sample", "run_samples", "run_campaign", "CampaignResult", "campaign_figure", "result_columns",
           "choose_engine", "ENGINES"]

FIXED_COLUMNS = ("index", "seed", "grid_index", "draw_index")
TAIL_COLUMNS = ("status", "error", "path", "wall_s")

#: how a campaign runs its samples: ``"auto"`` (the ensemble path where it applies, else per sample),
#: ``"ensemble"`` (required: an error if it does not apply), ``"scenario"`` (each sample through
#: ``run_scenario``). See :mod:`.ensemble`.
ENGINES = ("auto", "ensemble", "scenario")

#: Dask settings of the LocalCluster. It has no dashboard, so the monitors that feed one only take
#: CPU from the samples (on 2 cores the scheduler, the nannies and this client share the cores with
#: the workers): the workers' 10 ms stack-sampling profiler off, the event-loop tick (20 ms), the
#: system monitor (0.5 s) and the nannies' memory monitor (0.1 s) slowed, work stealing off (the
#: scheduler queues tasks and hands them to free workers anyway). Measured with
#: benchmarks/bench_campaign.py, these settings alone: the samples' summed time with 2 workers fell
#: from +17 % to +7 % of the 1-worker sum; with batched tasks (below), +2 to +3 % (docs/campaign.md).
QUIET_CLUSTER = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.admin.system-monitor.disk": False,
    "distributed.admin.system-monitor.host-cpu": False,
    "distributed.admin.system-monitor.gil.enabled": False,
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.scheduler.work-stealing": False,
}


def result_columns(spec: CampaignSpec) -> list[str]:
    """Columns of the results table, in order: ids, ``in.<path>``, ``out.<path>``, status."""
    return [*FIXED_COLUMNS, *(f"in.{v.path}" for v in spec.vary), *(f"out.{o}" for o in spec.outputs),
            *TAIL_COLUMNS]


@dataclass
class CampaignResult:
    """What :func:`run_campaign` returns. ``table`` is a ``pyarrow.Table``, one row per sample."""

    spec: CampaignSpec
    out_dir: Path
    path: Path  # results.parquet
    table: Any
    n_ok: int
    n_failed: int
    n_resumed: int  # samples found finished in the parts folder and not re-run
    n_run: int  # samples run by this call
    wall_s: float
    workers: int = 0
    timings: dict = field(default_factory=dict)
    engine: str = "scenario"  # the path the samples run by this call took: "ensemble" or "scenario"

    def summary(self) -> dict:
        """Plain numbers for reports and scripts."""
        return {"name": self.spec.name, "samples": self.spec.n_samples, "ok": self.n_ok, "failed": self.n_failed,
                "resumed": self.n_resumed, "run": self.n_run, "wall_s": self.wall_s, "workers": self.workers,
                "engine": self.engine,
                "results": str(self.path)}


class _PlainBar:
    """Progress as plain lines on a console that is not a terminal (CI, a log file), where rich's bar
    prints nothing until the end: one flushed line at start, at every ``every`` (10 %) of the samples
    and at the end, each with the failures and the elapsed time. Same calls as rich's ``Progress``."""

    def __init__(self, console, every: float = 0.1):
        self.console, self.every = console, float(every)

    def _line(self, text: str) -> None:
        f = self.console.file
        f.write(f"mmxsim campaign: {text}\n")
        f.flush()

    def start(self) -> None:
        self.t0 = time.perf_counter()

    def add_task(self, name, total, completed=0, failed=0):
        self.name, self.total, self.done, self.failed = name, int(total), int(completed), int(failed)
        self.next = (int(self.done / max(self.total, 1) / self.every) + 1) * self.every
        self._line(f"{name}: {self.done} of {self.total} samples done (resumed), starting")
        return 0

    def update(self, task, advance=1, failed=0):
        self.done += int(advance)
        self.failed = int(failed)
        frac = self.done / max(self.total, 1)
        if frac >= self.next - 1e-12 or self.done == self.total:
            self._line(f"{self.name}: {self.done} of {self.total} samples ({100 * frac:.0f} %), failed "
                       f"{self.failed}, {time.perf_counter() - self.t0:.1f} s elapsed")
            self.next = (int(frac / self.every + 1e-12) + 1) * self.every

    def stop(self) -> None:
        pass


def _progress(console, total: int, done: int, enabled: bool):
    if not enabled:
        return None
    if not console.is_terminal:
        return _PlainBar(console)
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    bar = Progress(TextColumn("[bold blue]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("failed {task.fields[failed]}"), TimeElapsedColumn(), TextColumn("ETA"),
                   TimeRemainingColumn(), console=console, transient=False)
    return bar


def _iter_synchronous(spec, todo):
    for i in todo:
        yield i, run_sample(spec, i)


def run_samples(spec: CampaignSpec, indices) -> list[dict]:
    """:func:`run_sample` for each of ``indices`` (one Dask task running a small batch)."""
    return [run_sample(spec, i) for i in indices]


#: Target wall time of one Dask task, s: short samples are batched up to this (at most
#: :data:`MAX_BATCH` per task) so that the scheduler's few milliseconds per task stay small
#: beside the work; samples longer than this run one per task.
TARGET_TASK_S = 1.0
MAX_BATCH = 16


def _failed_record(spec, i, exc) -> dict:
    seed, values = spec.inputs(i)
    return {"index": i, "seed": seed, "grid_index": i // spec.samples, "draw_index": i % spec.samples,
            **{f"in.{k}": v for k, v in values.items()}, **{f"out.{o}": None for o in spec.outputs},
            "status": "failed", "error": f"{type(exc).__name__}: {exc}", "path": None, "wall_s": None}


def _dask_tasks(client, spec, fn, name: str, take, workers: int, stats: dict | None = None, done=None):
    """Yield ``(index, record)`` as tasks ``fn(spec, chunk)`` finish on the cluster, two per worker in
    flight (following a cluster that grows or shrinks). ``take()`` gives the next chunk of sample
    indices (None: none left); ``done(records)`` sees each task's records before the next are taken.
    A task that fails (e.g. KilledWorker) gives a failed record per sample. ``stats`` receives the
    number of tasks and the largest chunk."""
    from dask.distributed import as_completed

    spec_f = client.scatter(spec, broadcast=True)
    tag = spec.digest[:12]
    futures: dict = {}
    ac = as_completed()
    left = [True]

    def in_flight() -> int:
        return 2 * max(1, len(client.scheduler_info().get("workers", {})) or workers)

    def fill():
        while left[0] and len(futures) < in_flight():
            chunk = take()
            if not chunk:
                left[0] = False
                return
            fut = client.submit(fn, spec_f, chunk, pure=False, key=f"mmxsim-{name}-{tag}-{chunk[0]}-{len(chunk)}")
            futures[fut] = chunk
            ac.add(fut)
            if stats is not None:
                stats["tasks"] = stats.get("tasks", 0) + 1
                stats["max_batch"] = max(stats.get("max_batch", 0), len(chunk))

    fill()
    for fut in ac:
        chunk = futures.pop(fut)
        try:
            recs = fut.result()
        except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: record it
            recs = [_failed_record(spec, i, exc) for i in chunk]
        fut.release()
        if done is not None:
            done(recs)
        fill()
        for rec in recs:
            yield rec["index"], rec


def _iter_dask(client, spec, todo, workers: int, stats: dict | None = None):
    """Yield ``(index, record)`` as samples finish on the cluster.

    Tasks are fed a few at a time (two per worker in flight), so the batch size can follow the
    measured sample time: the first tasks hold one sample each; then each task holds
    ``TARGET_TASK_S / median sample time`` samples (1..MAX_BATCH). A killed campaign loses at
    most the samples of the tasks in flight, about 2 x TARGET_TASK_S of work per worker when
    samples are short, one sample per worker in flight when they are long. ``stats`` receives
    the number of tasks and the largest batch.
    """
    queue = list(todo)
    recent: list[float] = []
    batch = [1]

    def take():
        nonlocal queue
        chunk, queue = queue[:batch[0]], queue[batch[0]:]
        return chunk

    def done(recs):
        nonlocal recent
        recent = (recent + [r["wall_s"] for r in recs if r.get("wall_s")])[-32:]
        if recent:
            med = sorted(recent)[len(recent) // 2]
            batch[0] = max(1, min(MAX_BATCH, int(TARGET_TASK_S / max(med, 1e-6))))

    yield from _dask_tasks(client, spec, run_samples, "samples", take, workers, stats, done)


def _iter_ensemble_sync(spec, chunks):
    from .ensemble import run_ensemble_samples

    for chunk in chunks:
        for rec in run_ensemble_samples(spec, chunk):
            yield rec["index"], rec


def _iter_dask_ensembles(client, spec, chunks, workers: int, stats: dict | None = None):
    """Yield ``(index, record)`` as ensemble tasks (one chunk of a group each) finish on the cluster,
    two tasks per worker in flight; a chunk's records come back (and are written) together."""
    from .ensemble import run_ensemble_samples

    queue = list(chunks)
    yield from _dask_tasks(client, spec, run_ensemble_samples, "ensemble", lambda: queue.pop(0) if queue else None,
                           workers, stats)


def choose_engine(spec: CampaignSpec, engine: str = "auto") -> str:
    """``"ensemble"`` or ``"scenario"``: the path ``run_campaign(spec, engine=engine)`` takes."""
    from .ensemble import ensemble_reason

    if engine not in ENGINES:
        raise InputError("engine", engine, ", ".join(ENGINES))
    if engine == "scenario":
        return engine
    why = ensemble_reason(spec)
    if why is not None and engine == "ensemble":
        raise InputError("engine", engine, f"auto or scenario (this campaign cannot run as ensembles: {why})")
    return "scenario" if why is not None else "ensemble"


def run_campaign(
    spec: CampaignSpec,
    out_dir,
    *,
    n_workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
    retry_failed: bool = False,
    fresh: bool = False,
    console=None,
    connect_timeout_s: float = 30.0,
    engine: str = "auto",
) -> CampaignResult:
    """Run (or resume) a campaign into ``out_dir`` and return its results.

    Parameters
    ----------
    spec : CampaignSpec
        From :func:`mmxsim.campaign.load_campaign` or ``parse_campaign``.
    out_dir : path
        Campaign folder (``campaign.json``, ``parts/``, ``results.parquet``). Samples
        with a part there are not run again (resume).
    n_workers : int, optional
        Worker processes of the LocalCluster (default: the CPU count). Not used with
        ``scheduler``.
    scheduler : str, optional
        ``None`` (LocalCluster), an address such as ``tcp://10.0.0.5:8786``, or
        ``"synchronous"`` (in this process, no Dask).
    progress : bool
        Show a rich progress bar with ETA on stderr.
    retry_failed : bool
        Run again the samples recorded as failed.
    fresh : bool
        Delete earlier results in ``out_dir`` first (also allows another campaign there).
    connect_timeout_s : float
        How long to try to reach ``scheduler`` before giving up.
    engine : str
        ``"auto"`` (default): samples that share a model fly together as ensembles
        (:mod:`mmxsim.campaign.ensemble`) when the campaign records only trajectory numbers and
        enables no analysis, otherwise each sample runs the whole scenario; ``"ensemble"``: the
        ensemble path or an error saying why it does not apply; ``"scenario"``: each sample
        through ``run_scenario``. The results agree to the integrator's tolerance; each record's
        ``path`` column says which path produced it.
    """
    t_all = time.perf_counter()
    from importlib.util import find_spec

    if find_spec("pyarrow") is None:
        from ..errors import MmxsimError

        raise MmxsimError("campaign results are written as Parquet, which needs pyarrow: "
                          "pip install 'mmxsim[parquet]'")
    if n_workers is not None and (isinstance(n_workers, bool) or int(n_workers) < 1):
        raise InputError("n_workers", n_workers, "an integer >= 1")
    engine_used = choose_engine(spec, engine)
    out = ck.open_campaign_dir(out_dir, {"name": spec.name, "digest": spec.digest, "n_samples": spec.n_samples,
                                         "columns": result_columns(spec), "spec": spec.to_dict()}, fresh=fresh)
    done = ck.read_parts(out)
    if retry_failed:
        done = {i: r for i, r in done.items() if r.get("status") == "ok"}
    todo = [i for i in range(spec.n_samples) if i not in done]
    n_resumed = spec.n_samples - len(todo)

    from rich.console import Console

    console = console or Console(stderr=True)
    bar = _progress(console, spec.n_samples, n_resumed, progress and bool(todo))
    failed = sum(1 for r in done.values() if r.get("status") != "ok")
    client = cluster = None
    workers = 0
    task_stats: dict = {}
    t_start = time.perf_counter()
    try:
        if engine_used == "ensemble":
            from .ensemble import plan_chunks

            chunks = plan_chunks(spec, todo)
            task_stats["ensemble_chunks"] = len(chunks)
        if scheduler == "synchronous" or not todo:
            it = _iter_ensemble_sync(spec, chunks) if engine_used == "ensemble" else _iter_synchronous(spec, todo)
        else:
            from dask.distributed import Client, LocalCluster

            if scheduler is None:
                import logging

                nw = int(n_workers or os.cpu_count() or 1)
                import dask

                with dask.config.set(QUIET_CLUSTER):
                    cluster = LocalCluster(n_workers=nw, threads_per_worker=1, processes=True, dashboard_address=None,
                                           silence_logs=logging.ERROR)
                client = Client(cluster)
            else:
                try:
                    client = Client(scheduler, timeout=f"{float(connect_timeout_s)}s")
                except (OSError, TimeoutError, ValueError) as exc:
                    raise InputError("scheduler", scheduler, "the address of a running Dask scheduler such as "
                                     f"tcp://10.0.0.5:8786, or 'synchronous' (could not connect: {exc})") from None
            workers = len(client.scheduler_info().get("workers", {}))
            it = (_iter_dask_ensembles(client, spec, chunks, workers, task_stats) if engine_used == "ensemble"
                  else _iter_dask(client, spec, todo, workers, task_stats))
        t_start = time.perf_counter()
        if bar is not None:
            bar.start()
            task = bar.add_task(spec.name, total=spec.n_samples, completed=n_resumed, failed=failed)
        for _i, rec in it:
            ck.write_part(out, rec)  # the sample counts as done only once its part is on disk
            failed += rec["status"] != "ok"
            if bar is not None:
                bar.update(task, advance=1, failed=failed)
    finally:
        if bar is not None:
            bar.stop()
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    t_run = time.perf_counter() - t_start
    records = ck.read_parts(out)
    missing = [i for i in range(spec.n_samples) if i not in records]
    if missing:  # pragma: no cover - only if parts vanished during the run
        raise RuntimeError(f"campaign {spec.name}: samples {missing[:5]} have no result part")
    table = ck.records_to_table(records.values(), result_columns(spec))
    path = ck.write_results(out, table)
    n_ok = sum(1 for r in records.values() if r.get("status") == "ok")
    return CampaignResult(spec=spec, out_dir=out, path=path, table=table, n_ok=n_ok,
                          n_failed=spec.n_samples - n_ok, n_resumed=n_resumed, n_run=len(todo),
                          wall_s=time.perf_counter() - t_all, workers=workers, engine=engine_used,
                          timings={"samples_s": t_run, "total_s": time.perf_counter() - t_all, **task_stats})


def campaign_figure(table, output: str | None = None, input: str | None = None):
    """A matplotlib Figure of one recorded output: histogram, or scatter against an input.

    ``output`` and ``input`` are column names (``out.<path>``, ``in.<path>``); by default
    the first numeric output and, if there is one, the first numeric input. Failed
    samples are left out and counted in the title.
    """
    import numpy as np
    from matplotlib.figure import Figure

    cols = table.column_names

    def numeric(c):
        import pyarrow.types as pt

        return pt.is_integer(table.schema.field(c).type) or pt.is_floating(table.schema.field(c).type)

    outs = [c for c in cols if c.startswith("out.") and numeric(c)]
    ins = [c for c in cols if c.startswith("in.") and numeric(c)]
    output = output or (outs[0] if outs else None)
    if output is None or output not in cols:
        raise InputError("output", output, ", ".join(outs) or "a numeric output column (none recorded)")
    if input is None and ins:
        input = ins[0]
    ok = np.array([s == "ok" for s in table.column("status").to_pylist()])
    y = np.array([np.nan if v is None else v for v in table.column(output).to_pylist()], float)[ok]
    fig = Figure(figsize=(6.4, 4.0), layout="constrained")
    ax = fig.add_subplot()
    if input:
        x = np.array([np.nan if v is None else v for v in table.column(input).to_pylist()], float)[ok]
        ax.plot(x, y, "o", ms=3, alpha=0.7)
        ax.set_xlabel(input[3:])
        ax.set_ylabel(output[4:])
    else:
        ax.hist(y[np.isfinite(y)], bins=max(5, int(np.sqrt(max(y.size, 1)))))
        ax.set_xlabel(output[4:])
        ax.set_ylabel("samples")
    ax.set_title(f"{int(ok.sum())} ok, {int((~ok).sum())} failed of {ok.size} samples")
    ax.grid(alpha=0.3)
    return fig
