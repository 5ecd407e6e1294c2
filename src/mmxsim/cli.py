"""The ``mmxsim`` command line.

Heavy libraries are imported inside the commands so ``mmxsim --help`` is quick. Besides the
commands below (``od``: orbit determination from TDM files in operations mode), each analysis that declares a command (:attr:`mmxsim.analyses.Analysis.command`)
adds ``mmxsim <name>``.
Any :class:`mmxsim.errors.MmxsimError` becomes a clear message and exit code 2.

Every command that prints data takes ``--format table|csv|json``: ``json`` is one document for
``json.loads``, ``csv`` a header row (units in the column names) and one row per record with the
numbers unrounded (or at the precision the help states), ``table`` a rich table that fits a
terminal and is printed unwrapped (one line per row) when the output is not a terminal (a pipe,
a file, CI). Data goes to standard output, messages and progress to standard error. Epochs
planners read are given in UTC and TDB. ``mmxsim --version`` prints the version; ``mmxsim cache
info|clear`` shows or removes the on-disk caches; ``mmxsim --install-completion`` installs shell
completion.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from typer.core import TyperCommand, TyperGroup


def _flags_without_metavar(params):
    """Boolean flags show no value in --help. typer (0.29 at least) writes ``<bool>`` in the type
    column of its rich help for every flag, ``--help`` included, as if it took a value; an empty
    metavar is what that column shows instead. Parsing does not read the metavar."""
    for p in params:
        if getattr(p, "is_flag", False) and getattr(p, "metavar", None) is None:
            p.metavar = ""
    return params


def _reflow(text):
    """A docstring's paragraphs as single lines, so that --help wraps them at the terminal's width
    rather than keeping the source's line breaks (rich help keeps them after the first paragraph)."""
    import inspect

    if not text:
        return text
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


class _Command(TyperCommand):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.help = _reflow(self.help)

    def get_params(self, ctx):
        return _flags_without_metavar(super().get_params(ctx))


class _Group(TyperGroup):
    def get_params(self, ctx):
        return _flags_without_metavar(super().get_params(ctx))


app = typer.Typer(cls=_Group, add_completion=True, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="mmxsim: simulator and operations planner for JAXA's MMX mission to Phobos.\n\n"
                       "Data commands take --format table|csv|json (data on standard output, messages on "
                       "standard error). Shell completion: mmxsim --install-completion (bash, zsh, fish, "
                       "PowerShell).")


def _command(name: str | None = None):
    """``app.command`` with the flag display fixed (:class:`_Command`)."""
    return app.command(name, cls=_Command)


def _version(value: bool) -> None:
    if value:
        from .version import __version__

        sys.stdout.write(f"mmxsim {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _main(version: bool = typer.Option(False, "--version", "-V", is_eager=True, callback=_version,
                                       help="Print the version (mmxsim X.Y.Z) and exit.")) -> None:
    pass


# ---------------------------------------------------------------------------------------------
# output: --format table|csv|json

FORMATS = ("table", "csv", "json")
_WIDE = 100_000  # the console width when not on a terminal: tables are printed, never wrapped


def _format_option(default: str = "table", choices: tuple[str, ...] = FORMATS, what: str = ""):
    return typer.Option(default, "--format", help=f"{', '.join(choices)}{what} (default {default}).")


def _check_format(fmt: str, choices: tuple[str, ...] = FORMATS) -> str:
    from .errors import InputError

    f = str(fmt).strip().lower()
    if f not in choices:
        raise InputError("--format", fmt, ", ".join(choices))
    return f


def _console(file=None, stderr: bool = False):
    """A rich console for data: the terminal's width on a terminal, else wide enough that no
    table row wraps or is truncated (one line per row in a pipe, a log, CI)."""
    from rich.console import Console

    c = Console(file=file, stderr=stderr, highlight=False)
    if c.is_terminal:
        return c
    return Console(file=file, stderr=stderr, highlight=False, width=_WIDE)


def _plain(v):
    """A JSON-ready value: NumPy scalars as Python numbers, NaN/inf as None (visibly absent)."""
    import math

    if hasattr(v, "item") and not isinstance(v, (str, bytes)) and getattr(v, "ndim", 0) == 0:
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if hasattr(v, "tolist"):
        return _plain(v.tolist())
    return v


def _csv_cell(v):
    import math

    from .files import csv_text

    v = _plain(v)
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ""
    if isinstance(v, int):
        return str(v)
    return csv_text(v)


def _table_cell(v, spec: str = "") -> str:
    v = _plain(v)
    if v is None:
        return "-"
    if spec and isinstance(v, (int, float)) and not isinstance(v, bool):
        return format(v, spec)
    return str(v)


def _render(fmt: str, columns, rows, *, doc=None) -> str | None:
    """Text for ``csv`` / ``json`` (None for ``table``, which :func:`_emit` prints).

    ``columns``: ``[(key, table format spec)]``; ``rows``: dicts by key; ``doc``: the JSON
    document (default ``{"columns": keys, "records": rows}``)."""
    import csv
    import io
    import json

    keys = [c[0] for c in columns]
    if fmt == "json":
        body = doc if doc is not None else {"columns": keys, "records": rows}
        return json.dumps(_plain(body), indent=1, allow_nan=False) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(keys)
        for r in rows:
            w.writerow([_csv_cell(r.get(k)) for k in keys])
        return buf.getvalue()
    return None


def _table(columns, rows, title: str | None = None, caption: str | None = None, headers=None):
    from rich.table import Table

    t = Table(title=title, caption=caption)
    for k, _spec in columns:
        t.add_column((headers or {}).get(k, k), overflow="fold")
    for r in rows:
        t.add_row(*(_table_cell(r.get(k), spec) for k, spec in columns))
    return t


def _emit(fmt: str, columns, rows, *, title: str | None = None, doc=None, caption: str | None = None,
          out: Optional[Path] = None, headers=None) -> None:
    """Print (or write to ``out``) ``rows`` in ``fmt``."""
    from .errors import InputError

    text = _render(fmt, columns, rows, doc=doc)
    if out is None:
        if text is not None:
            sys.stdout.write(text)
        else:
            _console().print(_table(columns, rows, title, caption, headers))
        return
    try:
        if text is not None:
            out.write_text(text, encoding="utf-8", newline="")
        else:
            with open(out, "w", encoding="utf-8") as fh:
                from rich.console import Console

                Console(file=fh, width=_WIDE, highlight=False).print(_table(columns, rows, title, caption, headers))
    except OSError as exc:
        raise InputError("--out", str(out), f"a writable file path ({exc.strerror})") from None


def _fail(exc: Exception) -> None:
    from rich.console import Console
    from rich.markup import escape

    # escape: messages contain "[line 9]", "[x, y, z]"... which rich would eat as markup tags
    Console(stderr=True).print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, highlight=False,
                               soft_wrap=True)
    raise typer.Exit(2)


_EXIT_FREEZE: list = []


def _quick_exit() -> None:
    """Make the interpreter's exit after a run cheap: an exit handler, registered before any other of
    the run's and so run last, moves every object still alive to the collector's permanent generation
    (``gc.freeze``), so the full collections of Python's finalization skip them. After a run some
    300,000 objects are alive (modules, caches, the run's products); collecting them at exit, which
    frees nothing the operating system would not, took ~0.7 s of a quick run's wall time. Exit
    handlers and the finalizers of objects freed by reference counting all still run; only reference
    cycles left at exit are not collected (their memory goes back with the process)."""
    if not _EXIT_FREEZE:
        import atexit
        import gc

        atexit.register(gc.freeze)
        _EXIT_FREEZE.append(True)


def _guard(fn):
    import functools

    @functools.wraps(fn)
    def wrapper(*a, **k):
        from .errors import MmxsimError

        try:
            return fn(*a, **k)
        except MmxsimError as exc:
            _fail(exc)

    return wrapper


@_command()
@_guard
def run(
    scenario: Optional[Path] = typer.Argument(
        None, help="Scenario YAML file, or a built-in scenario: reference_mission (the default: the whole "
                   "reference mission, every capability) or reference_qso (the spine's 30-day QSO run alone)."),
    out: Path = typer.Option(Path("mmxsim-out"), "--out", "-o", help="Output directory."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output (progress goes to standard error: "
                                                            "bars on a terminal, one plain line per step otherwise)."),
    quick: bool = typer.Option(False, "--quick", help="A fast look: at most 3 days, every analysis at small "
                                                      "sample sizes and coarse sampling."),
    phase: Optional[str] = typer.Option(None, "--phase", help="Only the analyses of one mission phase "
                                                              "(see `mmxsim timeline`), e.g. 'QSO campaign'."),
    workers: Optional[str] = typer.Option(None, "--workers", help="Processes that run the analyses once the trajectory "
                                                                  "exists: a number, or auto (the CPUs, at most 2); "
                                                                  "default $MMXSIM_WORKERS, else auto. Same results."),
):
    """Run a scenario and write OEM, time series, events, summary.json and the report (report/index.html).

    The files appear in --out all at once, when the run is complete (summary.json lists them with
    their sizes and SHA-256); an interrupt (Ctrl-C, SIGTERM) or a failure leaves --out as it was.
    Progress goes to standard error: bars on a terminal, plain lines (propagation every 10 %, each
    analysis' start and end with its time) when standard error is not a terminal (CI, a log file).
    Exit codes: 0 done; 1 the integration failed (outputs up to the failure are written); 2 bad
    input or an output folder that cannot be written; 130 / 143 interrupted."""
    import os
    import signal

    from . import app as _app

    def _stop(signum, frame):  # SIGINT / SIGTERM: unwind (staging removed, --out untouched), and
        _app.STOP_REQUESTED.append(signum)  # remember it, in case Python swallows the exception
        raise KeyboardInterrupt(signum)

    from .mission import warmup
    from .errors import MmxsimError
    from .mission.runner import COMMAND_LINE_WORKERS, WORKERS_ENV, analysis_workers

    _quick_exit()
    if workers is None and not os.environ.get(WORKERS_ENV, "").strip():
        workers = COMMAND_LINE_WORKERS  # up to two processes unless told (the API's default is one)
    run_scenario_file = _app.run_scenario_file
    _app.STOP_REQUESTED.clear()
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        procs = analysis_workers(workers)
    except MmxsimError:  # a bad --workers: the run reports it
        procs = None
    warmup.start(procs)  # cold caches and a spare CPU: kernels compiled by a background process meanwhile
    try:
        result, _paths = run_scenario_file(scenario, out, progress=not quiet, quick=quick, phase=phase,
                                           workers=workers)
    except KeyboardInterrupt as exc:
        code = 143 if exc.args and exc.args[0] == signal.SIGTERM else 130
        sys.stderr.write(f"mmxsim: interrupted; nothing was written to {out} (it holds what it held before: "
                         "a previous complete run, or nothing)\n")
        raise typer.Exit(code) from None
    finally:
        warmup.finish()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if result.termination.startswith("non-finite"):
        sys.stderr.write(f"mmxsim: the integration failed ({result.termination}); the outputs in {out} stop "
                         "at the failure\n")
        raise typer.Exit(1)


@_command()
@_guard
def validate(scenario: Path = typer.Argument(..., help="Scenario YAML file."),
             explain: bool = typer.Option(False, "--explain", help="Also say what a run will produce: output "
                                                                   "samples, memory and files, analysis sizes."),
             fmt: str = _format_option("table", what=": csv and json always include what --explain says")):
    """Check a scenario file; exit 2 with the problems if it is invalid."""
    from rich.console import Console
    from rich.markup import escape

    from .scenario import check_coverage, estimate_work, load_scenario

    fmt = _check_format(fmt)
    s = load_scenario(scenario)
    check_coverage(s)
    if fmt != "table":
        w = estimate_work(s)
        rec = {"file": str(scenario), "scenario": s.name, "valid": True, "span_days": w.span_days,
               "output_samples": w.output_samples, "output_bytes": w.output_bytes}
        sizes = {f"{a}.{k}": v for a, d in w.analyses.items() for k, v in d.items()}
        cols = [(k, "") for k in rec] + [(k, "") for k in sizes]
        doc = {**rec, "analyses": w.analyses}
        _emit(fmt, cols, [{**rec, **sizes}], doc=doc)
        return
    con = Console(soft_wrap=True)
    con.print(f"[green]ok[/]: {escape(str(scenario))} (scenario {escape(repr(s.name))})", highlight=False,
              soft_wrap=True)
    if explain:
        for line in estimate_work(s).lines():
            con.print(f"  {escape(line)}", highlight=False, soft_wrap=True)


def _parse_step(text: str) -> float:
    import math

    from .errors import InputError

    units = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
    t = text.strip().lower()
    for u in sorted(units, key=len, reverse=True):
        if t.endswith(u) and t[: -len(u)].strip():
            t_num, k = t[: -len(u)], units[u]
            break
    else:
        t_num, k = t, 1.0
    try:
        v = float(t_num) * k
    except ValueError:
        raise InputError("--step", text, "a positive duration: seconds, or a number with s, m, h or d") from None
    if not (v > 0 and math.isfinite(v)):
        raise InputError("--step", text, "a positive duration: seconds, or a number with s, m, h or d")
    return v


def _utc(seconds) -> list[str]:
    """ISO UTC strings (ms) of TDB seconds past J2000 (astropy, the shipped leap-second table)."""
    from .time import iso_utc

    return iso_utc(seconds)


EPHEMERIS_COLUMNS = ["time_tdb", "x_km", "y_km", "z_km", "vx_km_s", "vy_km_s", "vz_km_s", "time_utc"]


@_command()
@_guard
def ephemeris(
    body: str = typer.Argument(..., help="Target body: SUN, EARTH, MOON, MARS, PHOBOS, DEIMOS..."),
    center: str = typer.Option("MARS", "--center", help="Origin body."),
    frame: str = typer.Option("ICRF", "--frame", help="ICRF, MARS_EQUATOR, MARS_FIXED, PHOBOS_FIXED, PHOBOS_HILL."),
    start: str = typer.Option(..., "--start", help="Start epoch, ISO 8601."),
    stop: str = typer.Option(..., "--stop", help="Stop epoch, ISO 8601."),
    step: str = typer.Option("1h", "--step", help="Step: seconds, or e.g. 10m, 1h, 1d."),
    scale: str = typer.Option("UTC", "--scale", help="Time scale of --start/--stop: UTC, TT, TDB."),
    fmt: str = _format_option("csv", what=": positions to 1e-9 km, velocities to 1e-12 km/s in csv"),
    kernel: list[str] = typer.Option([], "--kernel", help="SPICE kernel(s) to use instead of the built-in ephemerides."),
):
    """A small offline Horizons: states of BODY about CENTER in FRAME (epochs TDB and UTC, km, km/s).

    Columns: time_tdb, x_km, y_km, z_km, vx_km_s, vy_km_s, vz_km_s, time_utc (ISO 8601, ms)."""
    import numpy as np

    from .ephemeris_table import ephemeris_table
    from .time import tdb_seconds

    fmt = _check_format(fmt)
    dt = _parse_step(step)
    iso, states = ephemeris_table(body, center, frame, start, stop, dt, scale=scale, kernels=kernel)
    states = np.asarray(states)
    # the same grid as ephemeris_table's (start in TDB + k steps), for UTC at full precision
    t = tdb_seconds(start, scale.lower()) + dt * np.arange(len(iso))
    utc = _utc(t)
    cols = EPHEMERIS_COLUMNS
    out = sys.stdout
    if fmt == "csv":
        out.write(",".join(cols) + "\n")
        for ti, s, tu in zip(iso, states, utc):
            out.write(ti + "," + ",".join(f"{v:.9f}" if k < 3 else f"{v:.12f}" for k, v in enumerate(s))
                      + "," + tu + "\n")
    elif fmt == "json":
        import json

        json.dump({"body": body.upper(), "center": center.upper(), "frame": frame.upper(), "time_scale": "TDB",
                   "units": {"position": "km", "velocity": "km/s"}, "columns": cols,
                   "data": [[ti, *map(float, s), tu] for ti, s, tu in zip(iso, states, utc)]}, out, indent=1)
        out.write("\n")
    else:
        rows = [{"time_utc": tu, "time_tdb": ti, **dict(zip(cols[1:7], map(float, s)))}
                for ti, s, tu in zip(iso, states, utc)]
        spec = [("time_utc", ""), ("time_tdb", "")] + [(c, ".6f" if "_km_s" not in c else ".9f") for c in cols[1:7]]
        _emit("table", spec, rows, title=f"{body.upper()} about {center.upper()}, frame {frame.upper()}")


QSO_COLUMNS = ["size_km", "radial_semi_axis_km", "along_track_semi_axis_km", "axis_ratio", "period_h", "k_planar",
               "k_vertical", "max_abs_eigenvalue", "min_surface_distance_km", "min_center_distance_km",
               "closure_position_m", "jacobi_rel_variation", "sh_valid", "note"]


def _qso_records(fam) -> list[dict]:
    """One record per member; a member inside the Brillouin sphere (divergent series) has its
    numbers absent (None), as in the table."""
    from .orbits.qso import BRILLOUIN_RADIUS_KM

    rows = []
    for m in fam.members:
        diverges = m.degree >= 1 and m.min_center_distance_km < BRILLOUIN_RADIUS_KM
        r = {"size_km": m.size_km}
        for c in QSO_COLUMNS[1:-2]:
            v = m.period_s / 3600.0 if c == "period_h" else getattr(m, c)
            r[c] = None if diverges else float(v)
        r["sh_valid"] = not diverges and not m.inside_switch_radius
        r["note"] = (f"enters the Brillouin sphere ({m.min_center_distance_km:.2f} < {BRILLOUIN_RADIUS_KM} km), "
                     "series diverges") if diverges else (
            f"min {m.min_center_distance_km:.2f} km < switch radius {m.switch_radius_km:g} km"
            if m.inside_switch_radius else "")
        rows.append(r)
    return rows


@_command()
@_guard
def qso(
    degree: int = typer.Option(10, "--degree", help="Phobos gravity: 0 (point mass) or SH degree 1..10."),
    sizes: str = typer.Option("200,100,70,50,40,30,25,20,15", "--sizes",
                              help="Comma-separated QSO sizes (radial semi-axis at the section), km."),
    out: Path = typer.Option(Path("mmxsim-out"), "--out", "-o", help="Output directory for the CSV and plot."),
    fmt: str = _format_option("table", what=": csv and json on standard output, the file list on standard error"),
):
    """Planar QSO family around Phobos: size, period, stability, distance to the surface."""
    from .errors import InputError
    from .orbits.qso import qso_family, write_family

    fmt = _check_format(fmt)
    try:
        values = [float(v) for v in sizes.split(",") if v.strip()]
    except ValueError:
        raise InputError("--sizes", sizes, "comma-separated numbers in km, e.g. 200,100,50") from None
    fam = qso_family(degree, values, on_failure="stop")
    err = _console(stderr=True)
    if fmt == "table":
        c = _console()
        c.print(f"Planar QSO family, circular Hill problem, Phobos gravity degree {degree} "
                f"(stable when |k| < 2)", markup=False, soft_wrap=True)
        c.print(fam.table(), markup=False, soft_wrap=True)  # orbits inside the SH switch radius are marked
    else:
        _emit(fmt, [(k, "") for k in QSO_COLUMNS], _qso_records(fam),
              doc={"degree": degree, "model": "planar QSO family, circular Hill problem", "stable_when": "|k| < 2",
                   "stopped_reason": fam.stopped_reason or None, "columns": QSO_COLUMNS,
                   "records": _qso_records(fam)})
    if len(fam.members) < len(values):
        err.print(f"[yellow]stopped[/]: {fam.stopped_reason}", soft_wrap=True)
    for k, p in write_family(fam, out).items():
        (_console() if fmt == "table" else err).print(f"  {k}: {p}", markup=False, soft_wrap=True)


#: units of the od parameters (mmxsim.navigation.od's module doc), by name, then by prefix
_OD_UNITS = {"x": "km", "y": "km", "z": "km", "vx": "km/s", "vy": "km/s", "vz": "km/s",
             "srp:cr_area_over_mass": "m^2/kg", "phobos:gm": "km^3/s^2", "phobos:libration": "rad"}
_OD_UNIT_PREFIXES = (("bias:", "km"), ("emp:", "km/s^2"), ("dv", "km/s"), ("phobos:C", "1 (normalised)"),
                     ("phobos:S", "1 (normalised)"))


def _od_unit(name: str) -> str:
    if name in _OD_UNITS:
        return _OD_UNITS[name]
    return next((u for prefix, u in _OD_UNIT_PREFIXES if name.startswith(prefix)), "")


@_command()
@_guard
def od(
    scenario: Path = typer.Argument(..., help="Scenario YAML file: the a priori state (initial_state at its epoch), "
                                              "the force model and the od block (estimated/consider parameters, "
                                              "a priori sigmas, noise)."),
    tdm: list[Path] = typer.Option(..., "--tdm", help="Observed tracking data, CCSDS TDM 2.0 KVN (repeatable)."),
    out: Path = typer.Option(Path("mmxsim-od"), "--out", "-o", help="Output folder."),
    fmt: str = _format_option("table", what=": the estimate on standard output (json: od_estimate.json's "
                                            "content with the epoch in UTC and TDB; csv: one row per parameter)"),
):
    """Orbit determination in operations mode: estimate the state from observed TDM files (no truth).

    Writes od_estimate.json (estimate, sigmas, covariance, convergence), od_residuals.csv and .png,
    and od_trajectory.oem (the estimated trajectory with covariance blocks). Exit 0 when the batch
    converged, 1 when it stopped at its iteration limit (outputs written, marked), 2 on bad input or
    divergence.
    """
    import json

    from rich.markup import escape

    from .errors import OutputError
    from .exports.oem import OemCovariance, write_oem
    from .files import atomic_write
    from .mission.operations import determine_orbit, residual_figure
    from .results import Trajectory, to_jsonable
    from .scenario import load_scenario
    from .time import iso_tdb

    fmt = _check_format(fmt)
    s = load_scenario(scenario)
    res = determine_orbit(s, tdm, base_dir=scenario.parent)
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out: {out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "od_estimate.json", json.dumps(to_jsonable(res.summary()), indent=1).encode())
    atomic_write(out / "od_residuals.csv", res.residuals_csv().encode())
    atomic_write(out / "od_residuals.png", residual_figure(res))
    write_oem(Trajectory(res.t_grid, res.states, "MARS", "ICRF", "MMX", "MMX"), out / "od_trajectory.oem",
              covariance=OemCovariance(res.t_grid, res.covariances, "ICRF"))
    b = res.batch
    t0 = float(res.problem.t0)
    epoch_utc, epoch_tdb = _utc([t0])[0], str(iso_tdb(t0))
    if fmt != "table":
        summ = to_jsonable(res.summary())
        rows = [{"parameter": n, "unit": _od_unit(n), "estimate": float(e), "sigma": float(sg),
                 "epoch_utc": epoch_utc, "epoch_tdb": epoch_tdb}
                for n, e, sg in zip(b.names, b.estimate, b.sigma)]
        _emit(fmt, [(k, "") for k in ("parameter", "unit", "estimate", "sigma", "epoch_utc", "epoch_tdb")], rows,
              doc={**summ, "epoch_utc": epoch_utc, "epoch_tdb": epoch_tdb,
                   "units": {n: _od_unit(n) for n in b.names}})
    con = _console(stderr=True)
    state = "[green]converged[/]" if b.converged else "[bold red]NOT converged[/]"
    con.print(f"{state} in {len(b.iterations)} iterations; post-fit weighted RMS {b.postfit_weighted_rms:.4g}; "
              f"{len(res.problem.data)} observations, {int(sum(b.edited))} edited\n"
              f"  epoch {epoch_utc} UTC ({epoch_tdb} TDB)\n"
              f"  position sigma {1e3 * float(b.sigma[:3].max()):.4g} m, velocity sigma "
              f"{1e6 * float(b.sigma[3:6].max()):.4g} mm/s (largest axis)\n  outputs: {escape(str(out))}",
              highlight=False, soft_wrap=True)
    if not b.converged:
        raise typer.Exit(1)


#: the TDB columns first, as before UTC was added (scripts read them by position), blackout_bands last
CONTACT_COLUMNS = ["station", "agency", "start_tdb", "stop_tdb", "duration_s", "max_elevation_deg",
                   "t_max_elevation_tdb", "start_utc", "stop_utc", "t_max_elevation_utc", "truncated",
                   "azimuth_start_deg", "azimuth_stop_deg", "blackout_bands"]


@_command()
@_guard
def contacts(
    start: str = typer.Option(..., "--start", help="Start epoch, ISO 8601."),
    stop: str = typer.Option(..., "--stop", help="Stop epoch, ISO 8601."),
    stations: str = typer.Option("", "--stations", help="Comma-separated station names (default: all catalogued)."),
    scale: str = typer.Option("UTC", "--scale", help="Time scale of --start/--stop: UTC, TT, TDB."),
    mask: Optional[float] = typer.Option(None, "--mask", help="Elevation mask for every station, deg (default: each station's)."),
    band: Optional[str] = typer.Option(None, "--band", help="Band whose elevation mask applies (S, X, K, Ka)."),
    fmt: str = _format_option("csv"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output file (default: standard output)."),
):
    """Passes of the spacecraft at Mars (Mars' centre, DE421) over ground stations, with solar-conjunction blackouts.

    Times in TDB and UTC (ISO 8601, ms): start/stop and the time of the highest elevation of each
    pass; the conjunction blackouts (json) too."""
    import warnings

    # erfa's "dubious year" notes for UTC epochs past the leap-second table's horizon: the
    # spans are checked against the ephemeris below, and the note is not the user's problem
    warnings.filterwarnings("ignore", message=".*dubious year.*")
    from .comms.stations import get_stations, merge_stations
    from .comms.visibility import conjunctions, find_passes, passes_table
    from .errors import InputError
    from .time import iso_tdb, to_tdb_seconds

    fmt = _check_format(fmt)
    if scale.lower() not in ("utc", "tt", "tdb"):
        raise InputError("--scale", scale, "UTC, TT, TDB")
    if mask is not None and not 0.0 <= mask <= 90.0:
        raise InputError("--mask", mask, "an elevation between 0 and 90 deg")
    t0, t1 = (float(to_tdb_seconds(v, scale.lower())) for v in (start, stop))
    names = [n.strip() for n in stations.split(",") if n.strip()] or None
    sts = get_stations(names)
    if band is not None and names is None:  # the whole catalogue: the stations that have the band
        sts = [s for s in sts if any(b.lower() == band.lower() for b in s.bands)] or sts
    if mask is not None:
        cat = merge_stations([{"name": s.name, "elevation_mask_deg": mask} for s in sts])
        sts = get_stations([s.name for s in sts], cat)
    passes = find_passes(sts, t0, t1, band=band)
    blackouts = conjunctions(t0, t1, bands=(band,) if band else ("X", "Ka"))
    rows = passes_table(passes, blackouts)
    n = len(passes)
    utc = _utc([p.start for p in passes] + [p.stop for p in passes] + [p.t_max_elevation for p in passes])
    for k, r in enumerate(rows):
        r.update(start_utc=utc[k], stop_utc=utc[n + k], t_max_elevation_utc=utc[2 * n + k])
    bu = _utc([b.start for b in blackouts] + [b.stop for b in blackouts] + [b.t_min_sep for b in blackouts])
    nb = len(blackouts)
    doc = {"target": "MARS (centre, DE421)", "time_scale": "TDB", "time_scales": ["TDB", "UTC"], "passes": rows,
           "blackouts": [{"band": b.band, "start_tdb": iso_tdb(b.start), "stop_tdb": iso_tdb(b.stop),
                          "sep_limit_deg": b.limit_deg, "min_sep_deg": round(b.min_sep_deg, 4),
                          "t_min_sep_tdb": iso_tdb(b.t_min_sep), "truncated": b.truncated,
                          "start_utc": bu[k], "stop_utc": bu[nb + k], "t_min_sep_utc": bu[2 * nb + k]}
                         for k, b in enumerate(blackouts)]}
    if fmt == "table":
        cols = [("station", ""), ("agency", ""), ("start_utc", ""), ("stop_utc", ""), ("duration_s", ".1f"),
                ("max_elevation_deg", ".2f"), ("t_max_elevation_utc", ""), ("start_tdb", ""), ("stop_tdb", ""),
                ("truncated", ""), ("azimuth_start_deg", ".1f"), ("azimuth_stop_deg", ".1f"), ("blackout_bands", "")]
        caption = "; ".join(f"{b['band']} conjunction blackout {b['start_utc']} to {b['stop_utc']} UTC"
                            for b in doc["blackouts"]) or None
        _emit("table", cols, rows, title=f"Passes over Mars' centre, {len(rows)} (times UTC and TDB)",
              caption=caption, out=out)
        return
    _emit(fmt, [(k, "") for k in CONTACT_COLUMNS], rows, doc=doc, out=out)


TIMELINE_COLUMNS = ["start_utc", "stop_utc", "start_tdb", "stop_tdb", "duration_s", "kind", "name", "detail", "source"]


@_command()
@_guard
def timeline(
    fmt: str = _format_option("table", ("table", "csv", "json", "ics"),
                              what=" (ics: iCalendar); csv and json: the merged events with UTC and TDB times"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output file (default: standard output)."),
):
    """The reference MMX mission: phases with dates and sources, and the mmxsim models behind each."""
    from .errors import InputError
    from .mission.timeline import Timeline, events_ical, model_status

    fmt = _check_format(fmt, ("table", "csv", "json", "ics"))
    tl = Timeline()
    if fmt == "table":
        from rich.console import Console
        from rich.table import Table

        t = Table(title="MMX reference timeline (dates UTC; days inside the published periods are assumptions)")
        for c in ("phase", "start (UTC)", "stop (UTC)", "published", "source", "mmxsim models (+ present, - not yet)"):
            t.add_column(c, overflow="fold")
        for p in tl.phases:
            st = model_status(p)
            t.add_row(p.name, p.start, p.stop, p.published, p.source,
                      " ".join(("+" if ok else "-") + m.removeprefix("mmxsim.") for m, ok in st.items()))
            for o in tl.operations:
                if o.phase == p.name:
                    t.add_row(f"  {o.name}", o.at[:10], o.at[:10], o.published, o.source, o.description)
        if out is None:
            _console().print(t)
            return
        try:
            with open(out, "w", encoding="utf-8") as fh:
                Console(file=fh, width=_WIDE, highlight=False).print(t)
        except OSError as exc:
            raise InputError("--out", str(out), f"a writable file path ({exc.strerror})") from None
        return
    ev = tl.merged()
    if fmt == "ics":
        text = events_ical(ev)
        if out is None:
            sys.stdout.write(text)
            return
        try:
            out.write_text(text, encoding="utf-8", newline="")
        except OSError as exc:
            raise InputError("--out", str(out), f"a writable file path ({exc.strerror})") from None
        return
    from .time import iso_tdb

    a, b = _utc([e.start for e in ev]), _utc([e.stop for e in ev])
    rows = [{"start_utc": s0, "stop_utc": s1, "start_tdb": str(iso_tdb(e.start)), "stop_tdb": str(iso_tdb(e.stop)),
             "duration_s": round(float(e.duration_s), 3), "kind": e.kind, "name": e.name, "detail": e.detail,
             "source": e.source} for e, s0, s1 in zip(ev, a, b)]
    _emit(fmt, [(k, "") for k in TIMELINE_COLUMNS], rows, out=out,
          doc={"timeline": "MMX reference mission", "columns": TIMELINE_COLUMNS, "records": rows})


@_command()
@_guard
def partners(fmt: str = _format_option("table")):
    """MMX's partners: what each provides, agreements and dates, and the mmxsim models behind each."""
    from .partners import partners_table

    fmt = _check_format(fmt)
    cols = [("agency", ""), ("contribution", ""), ("mmxsim models", ""), ("milestones", "")]
    rows, agency, milestones = [], "", ""
    for a, c, m, ms in partners_table():
        if a:  # the table leaves agency and milestones blank on an agency's later rows
            agency, milestones = a, ms
        rows.append({"agency": a if fmt == "table" else agency, "contribution": c, "mmxsim models": m,
                     "milestones": ms if fmt == "table" else milestones})
    if fmt != "table":
        keys = ["agency", "contribution", "models", "milestones"]
        recs = [{"agency": r["agency"], "contribution": r["contribution"], "models": r["mmxsim models"],
                 "milestones": r["milestones"]} for r in rows]
        _emit(fmt, [(k, "") for k in keys], recs,
              doc={"source": "[JAXA-INTL]", "models_legend": "+ modelled here, - not yet", "columns": keys,
                   "records": recs})
        return
    _emit("table", cols, rows, title="MMX international cooperation ([JAXA-INTL]; + modelled here, - not yet)")


@_command()
@_guard
def campaign(
    spec: Path = typer.Argument(..., help="Campaign YAML file (base scenario, vary, outputs, seed)."),
    out: Path = typer.Option(Path("mmxsim-campaign"), "--out", "-o", help="Campaign folder (resumed if it exists)."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", help="Local Dask worker processes (default: CPUs)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Address of an existing Dask scheduler "
                                            "(tcp://host:8786), or 'synchronous' to run in this process."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Run again the samples recorded as failed."),
    fresh: bool = typer.Option(False, "--fresh", help="Delete earlier results in the folder first."),
    engine: str = typer.Option("auto", "--engine", help="auto (ensembles when every output comes from the trajectory "
                                                       "and no analysis runs), ensemble (an error saying why when it "
                                                       "cannot) or scenario (each sample through the whole run)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    fmt: str = _format_option("table", what=": the summary (samples, ok, failed, time, results file); csv and "
                                            "json on standard output"),
):
    """Run (or resume) a Monte Carlo / sweep campaign on Dask; results in OUT/results.parquet."""
    from rich.markup import escape

    from .campaign import load_campaign, run_campaign

    fmt = _check_format(fmt)
    res = run_campaign(load_campaign(spec), out, n_workers=workers, scheduler=scheduler, progress=not quiet,
                       retry_failed=retry_failed, fresh=fresh, engine=engine)
    if fmt != "table":
        summ = res.summary()
        _emit(fmt, [(k, "") for k in summ], [summ], doc=summ)
        return
    _console(stderr=True).print(
        f"[green]done[/] {escape(res.spec.name)}: {res.spec.n_samples} samples, {res.n_ok} ok, {res.n_failed} failed "
        f"({res.n_resumed} found finished, {res.n_run} run) in {res.wall_s:.1f} s\n  results: {escape(str(res.path))}",
        highlight=False, soft_wrap=True)


# ---------------------------------------------------------------------------------------------
# mmxsim cache info|clear

cache_app = typer.Typer(cls=_Group, no_args_is_help=True, pretty_exceptions_enable=False,
                        help="The on-disk caches mmxsim writes (computed grids, numba and heyoka compiled code): "
                             "where they are, their size and what they speed up; clear removes them.")
app.add_typer(cache_app, name="cache")

#: the files of mmxsim's own data cache folder: (name, file pattern, what it speeds up)
DATA_CACHES = (
    ("gravity grids", "gridgravity-*.npz",
     "near-surface gravity grids (mmxsim.gravity.fast.GridGravity): minutes to compute on the Ernst mesh, "
     "milliseconds to load"),
    ("horizon bounds", "horizon-*.npy",
     "the ray caster's per-facet horizon bounds (mmxsim.instruments): seconds per 50k-facet mesh"),
    ("surface-distance BVH", "sdist-*.npz",
     "the packed BVH and pseudo-normals of the surface-distance kernels (mmxsim.bodies.shape_distance): "
     "about 2 s per 50k-facet mesh"),
    ("comms memos", "comms-*", "the ground stations' ITU-R attenuation grids and Earth-orientation look-ups (mmxsim.comms): about 4 s per comms run"),
)


def _data_cache_dir() -> Path:
    """mmxsim's cache folder (:func:`mmxsim.files.cache_dir`, where gravity.fast, instruments and
    bodies.shape_distance write)."""
    from .files import cache_dir

    return cache_dir()


def _numba_cache_files() -> tuple[list[str], list[Path]]:
    """(the folders numba uses for mmxsim's compiled kernels, the cache files of mmxsim's modules
    in them). numba keeps ``<module>.<function>-<line>.pyXY.nbi/.nbc`` files in the source folder's
    ``__pycache__`` where it can write, else in its user-wide cache folder, or under
    $NUMBA_CACHE_DIR when that is set; the folders come from numba's own locators."""
    try:
        from numba.core import caching, config
    except ImportError:  # pragma: no cover - numba is a dependency; without it nothing is cached
        return [], []

    def _probe():  # the locators want a function (for its line number); the folder depends on the file only
        pass

    root = Path(__file__).resolve().parent
    kinds = [caching.InTreeCacheLocator, caching.UserWideCacheLocator]
    if getattr(config, "CACHE_DIR", ""):
        kinds.insert(0, caching.UserProvidedCacheLocator)
    dirs: dict[str, None] = {}
    files: dict[Path, None] = {}
    for py in sorted(root.rglob("*.py")):
        for kind in kinds:
            d = Path(kind(_probe, str(py)).get_cache_path())
            if not d.is_dir():
                continue
            # .lock: the empty per-kernel compile locks of mmxsim._accel.share_compilation
            found = [f for f in d.glob(f"{py.stem}.*") if f.suffix in (".nbi", ".nbc", ".lock") and f.is_file()]
            if found:
                dirs[str(d)] = None
                files.update(dict.fromkeys(found))
    if not dirs:  # nothing cached yet: say where it would go
        dirs[str(root / "**" / "__pycache__") if not getattr(config, "CACHE_DIR", "") else config.CACHE_DIR] = None
    return list(dirs), list(files)


def _heyoka_cache():
    """(folder, size in bytes, enabled, clear) of heyoka's on-disk cache of compiled integrators."""
    from heyoka import llvm_state

    return (Path(llvm_state.get_diskcache_path()), int(llvm_state.get_diskcache_size()),
            bool(llvm_state.get_diskcache_enabled()), llvm_state.clear_diskcache)


def _size(files) -> int:
    n = 0
    for f in files:
        try:
            n += f.stat().st_size
        except OSError:
            pass
    return n


def _caches() -> list[dict]:
    """Every on-disk cache mmxsim writes: name, location, files, size_bytes, speeds_up, configure and a
    ``clear`` callable (not printed)."""
    out = []
    d = _data_cache_dir()
    for name, pattern, what in DATA_CACHES:
        files = sorted(f for f in d.glob(pattern) if f.is_file()) if d.is_dir() else []
        # the empty build locks beside them (mmxsim.files.build_lock: hidden ".<stem>.lock")
        locks = sorted(f for f in d.glob("." + pattern.rsplit(".", 1)[0] + ".lock") if f.is_file()) if d.is_dir() else []
        out.append({"cache": name, "location": str(d / pattern), "files": len(files), "size_bytes": _size(files),
                    "speeds_up": what, "configure": "$MMXSIM_CACHE_DIR (else $XDG_CACHE_HOME/mmxsim, ~/.cache/mmxsim)",
                    "clear": (lambda fs=files + locks: _remove(fs))})
    dirs, files = _numba_cache_files()
    from .mission.warmup import heyoka_marker_files, marker_files, warm_stamp_files

    # the background compilation's "kernels cached" markers, and the stamps that remember both markers
    # (mmxsim.mission.warmup.warm_stamp_path): cleared with them
    files = files + marker_files() + warm_stamp_files()
    out.append({"cache": "numba kernels", "location": "; ".join(dirs), "files": len(files), "size_bytes": _size(files),
                "speeds_up": "the numba-compiled kernels (polyhedron gravity, ray casting, Lambert, descent, rover, "
                             "touchdown): seconds of compilation per kernel on first use in a process",
                "configure": "$NUMBA_CACHE_DIR (else __pycache__ beside the sources, or numba's user cache folder)",
                "clear": (lambda fs=files: _remove(fs))})
    try:
        path, size, enabled, clear = _heyoka_cache()
    except ImportError:  # pragma: no cover - heyoka is a dependency
        path, size, enabled, clear = None, 0, False, None
    if clear is not None:  # the background compilation's "integrators cached" markers: cleared with them
        clear = (lambda c=clear: (c(), _remove(heyoka_marker_files() + warm_stamp_files()))[0])
    out.append({"cache": "heyoka compiled code", "location": str(path) if path else "(heyoka not installed)",
                "files": None, "size_bytes": size,
                "speeds_up": "compiling the Taylor integrators (about 2 s for the reference model, compact mode); "
                             "shared with every program that uses heyoka" + ("" if enabled else " (disabled)"),
                "configure": "not by mmxsim: $XDG_CACHE_HOME/heyoka (else ~/.cache/heyoka), or "
                             "heyoka.llvm_state.set_diskcache_path in Python",
                "clear": clear})
    return out


def _remove(files) -> int:
    n = 0
    for f in files:
        try:
            f.unlink()
            n += 1
        except FileNotFoundError:
            pass
    return n


def _human(n) -> str:
    if n is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return ""  # pragma: no cover


CACHE_NAMES = {"data": ("gravity grids", "horizon bounds", "surface-distance BVH"), "numba": ("numba kernels",),
               "heyoka": ("heyoka compiled code",)}


def _select_caches(only: list[str]) -> list[dict]:
    from .errors import InputError

    for o in only:
        if o.lower() not in CACHE_NAMES:
            raise InputError("--only", o, ", ".join(CACHE_NAMES))
    names = {n for o in (only or CACHE_NAMES) for n in CACHE_NAMES[o.lower()]}
    return [c for c in _caches() if c["cache"] in names]


_ONLY_HELP = "Only these caches: data (mmxsim's computed grids), numba, heyoka (repeatable; default all)."


@cache_app.command("info", cls=_Command)
@_guard
def cache_info(only: list[str] = typer.Option([], "--only", help=_ONLY_HELP), fmt: str = _format_option("table")):
    """Each cache: location, number of files, size, what it speeds up and how its location is set."""
    fmt = _check_format(fmt)
    rows = [{**{k: v for k, v in c.items() if k != "clear"}, "size": _human(c["size_bytes"])}
            for c in _select_caches(only)]
    keys = ["cache", "location", "files", "size_bytes", "speeds_up", "configure"]
    if fmt == "table":
        _emit("table", [(k, "") for k in ("cache", "location", "files", "size", "speeds_up", "configure")], rows,
              title="mmxsim's on-disk caches (safe to clear: each is rebuilt on first use)")
        return
    _emit(fmt, [(k, "") for k in keys], [{k: r[k] for k in keys} for r in rows],
          doc={"caches": [{k: r[k] for k in keys} for r in rows]})


@cache_app.command("clear", cls=_Command)
@_guard
def cache_clear(only: list[str] = typer.Option([], "--only", help=_ONLY_HELP),
                yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation.")):
    """Remove the cache files (only the files of these caches: never a folder or anything else)."""
    caches = [c for c in _select_caches(only) if c["clear"] is not None and (c["size_bytes"] or c["files"])]
    err = _console(stderr=True)
    if not caches:
        err.print("nothing to clear", soft_wrap=True)
        return
    for c in caches:
        err.print(f"  {c['cache']}: {_human(c['size_bytes'])} in {c['location']}", markup=False, soft_wrap=True)
    if not yes and not typer.confirm("Remove these caches?", default=False, err=True):
        raise typer.Exit(1)
    for c in caches:
        c["clear"]()
        err.print(f"cleared {c['cache']} ({_human(c['size_bytes'])})", markup=False, soft_wrap=True)


def _analysis_commands() -> None:
    """``mmxsim <name>`` for each analysis that declares a command (:attr:`mmxsim.analyses.Analysis.command`)."""
    from .analyses import registry
    from .errors import InputError

    taken = {c.name or c.callback.__name__ for c in app.registered_commands}
    for a in registry().values():
        if a.command is None:
            continue
        if a.command_name in taken:
            raise InputError(f"analysis {a.name}: command", a.command_name,
                             "a command name that mmxsim does not have yet: not " + ", ".join(sorted(taken)))
        _command(a.command_name)(_guard(a.command))
        taken.add(a.command_name)


_analysis_commands()


def main() -> None:  # console-script entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
