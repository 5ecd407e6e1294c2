"""The ``mmxsim`` command line.

Heavy libraries are imported inside the commands so ``mmxsim --help`` is quick. Besides the
commands below (``od``: orbit determination from TDM files in operations mode), each analysis that declares a command (:attr:`mmxsim.analyses.Analysis.command`)
adds ``mmxsim <name>``.
Any :class:`mmxsim.errors.MmxsimError` becomes a clear message and exit code 2.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="mmxsim: simulator and operations planner for JAXA's MMX mission to Phobos.")


def _fail(exc: Exception) -> None:
    from rich.console import Console
    from rich.markup import escape

    # escape: messages contain "[line 9]", "[x, y, z]"... which rich would eat as markup tags
    Console(stderr=True).print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, highlight=False,
                               soft_wrap=True)
    raise typer.Exit(2)


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


@app.command()
@_guard
def run(
    scenario: Optional[Path] = typer.Argument(
        None, help="Scenario YAML file, or a built-in scenario: reference_mission (the default: the whole "
                   "reference mission, every capability) or reference_qso (the spine's 30-day QSO run alone)."),
    out: Path = typer.Option(Path("mmxsim-out"), "--out", "-o", help="Output directory."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    quick: bool = typer.Option(False, "--quick", help="A fast look: at most 3 days, every analysis at small "
                                                      "sample sizes and coarse sampling."),
    phase: Optional[str] = typer.Option(None, "--phase", help="Only the analyses of one mission phase "
                                                              "(see `mmxsim timeline`), e.g. 'QSO campaign'."),
):
    """Run a scenario and write OEM, time series, events, summary.json and the report (report/index.html).

    The files appear in --out all at once, when the run is complete (summary.json lists them with
    their sizes and SHA-256); an interrupt (Ctrl-C, SIGTERM) or a failure leaves --out as it was.
    Exit codes: 0 done; 1 the integration failed (outputs up to the failure are written); 2 bad
    input or an output folder that cannot be written; 130 / 143 interrupted."""
    import signal

    from . import app as _app

    def _stop(signum, frame):  # SIGINT / SIGTERM: unwind (staging removed, --out untouched), and
        _app.STOP_REQUESTED.append(signum)  # remember it, in case Python swallows the exception
        raise KeyboardInterrupt(signum)

    run_scenario_file = _app.run_scenario_file
    _app.STOP_REQUESTED.clear()
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        result, _paths = run_scenario_file(scenario, out, progress=not quiet, quick=quick, phase=phase)
    except KeyboardInterrupt as exc:
        code = 143 if exc.args and exc.args[0] == signal.SIGTERM else 130
        sys.stderr.write(f"mmxsim: interrupted; nothing was written to {out} (it holds what it held before: "
                         "a previous complete run, or nothing)\n")
        raise typer.Exit(code) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if result.termination.startswith("non-finite"):
        sys.stderr.write(f"mmxsim: the integration failed ({result.termination}); the outputs in {out} stop "
                         "at the failure\n")
        raise typer.Exit(1)


@app.command()
@_guard
def validate(scenario: Path = typer.Argument(..., help="Scenario YAML file."),
             explain: bool = typer.Option(False, "--explain", help="Also say what a run will produce: output "
                                                                   "samples, memory and files, analysis sizes.")):
    """Check a scenario file; exit 2 with the problems if it is invalid."""
    from rich.console import Console
    from rich.markup import escape

    from .scenario import check_coverage, estimate_work, load_scenario

    s = load_scenario(scenario)
    check_coverage(s)
    con = Console()
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


@app.command()
@_guard
def ephemeris(
    body: str = typer.Argument(..., help="Target body: SUN, EARTH, MOON, MARS, PHOBOS, DEIMOS..."),
    center: str = typer.Option("MARS", "--center", help="Origin body."),
    frame: str = typer.Option("ICRF", "--frame", help="ICRF, MARS_EQUATOR, MARS_FIXED, PHOBOS_FIXED, PHOBOS_HILL."),
    start: str = typer.Option(..., "--start", help="Start epoch, ISO 8601."),
    stop: str = typer.Option(..., "--stop", help="Stop epoch, ISO 8601."),
    step: str = typer.Option("1h", "--step", help="Step: seconds, or e.g. 10m, 1h, 1d."),
    scale: str = typer.Option("UTC", "--scale", help="Time scale of --start/--stop: UTC, TT, TDB."),
    fmt: str = typer.Option("csv", "--format", help="csv or json."),
    kernel: list[str] = typer.Option([], "--kernel", help="SPICE kernel(s) to use instead of the built-in ephemerides."),
):
    """A small offline Horizons: states of BODY about CENTER in FRAME (TDB epochs, km, km/s)."""
    import json

    import numpy as np

    from .ephemeris_table import ephemeris_table
    from .errors import InputError

    if fmt not in ("csv", "json"):
        raise InputError("--format", fmt, "csv, json")
    dt = _parse_step(step)
    iso, states = ephemeris_table(body, center, frame, start, stop, dt, scale=scale, kernels=kernel)
    cols = ["time_tdb", "x_km", "y_km", "z_km", "vx_km_s", "vy_km_s", "vz_km_s"]
    out = sys.stdout
    if fmt == "csv":
        out.write(",".join(cols) + "\n")
        for ti, s in zip(iso, states):
            out.write(ti + "," + ",".join(f"{v:.9f}" if k < 3 else f"{v:.12f}" for k, v in enumerate(s)) + "\n")
    else:
        json.dump({"body": body.upper(), "center": center.upper(), "frame": frame.upper(), "time_scale": "TDB",
                   "units": {"position": "km", "velocity": "km/s"}, "columns": cols,
                   "data": [[ti, *map(float, s)] for ti, s in zip(iso, np.asarray(states))]}, out, indent=1)
        out.write("\n")


@app.command()
@_guard
def qso(
    degree: int = typer.Option(10, "--degree", help="Phobos gravity: 0 (point mass) or SH degree 1..10."),
    sizes: str = typer.Option("200,100,70,50,40,30,25,20,15", "--sizes",
                              help="Comma-separated QSO sizes (radial semi-axis at the section), km."),
    out: Path = typer.Option(Path("mmxsim-out"), "--out", "-o", help="Output directory for the CSV and plot."),
):
    """Planar QSO family around Phobos: size, period, stability, distance to the surface."""
    from rich.console import Console

    from .errors import InputError
    from .orbits.qso import qso_family, write_family

    try:
        values = [float(v) for v in sizes.split(",") if v.strip()]
    except ValueError:
        raise InputError("--sizes", sizes, "comma-separated numbers in km, e.g. 200,100,50") from None
    fam = qso_family(degree, values, on_failure="stop")
    c = Console()
    c.print(f"Planar QSO family, circular Hill problem, Phobos gravity degree {degree} "
            f"(stable when |k| < 2)", highlight=False)
    c.print(fam.table(), highlight=False, markup=False)  # orbits inside the SH switch radius are marked
    if len(fam.members) < len(values):
        c.print(f"[yellow]stopped[/]: {fam.stopped_reason}", highlight=False)
    for k, p in write_family(fam, out).items():
        c.print(f"  {k}: {p}", highlight=False)


@app.command()
@_guard
def od(
    scenario: Path = typer.Argument(..., help="Scenario YAML file: the a priori state (initial_state at its epoch), "
                                              "the force model and the od block (estimated/consider parameters, "
                                              "a priori sigmas, noise)."),
    tdm: list[Path] = typer.Option(..., "--tdm", help="Observed tracking data, CCSDS TDM 2.0 KVN (repeatable)."),
    out: Path = typer.Option(Path("mmxsim-od"), "--out", "-o", help="Output folder."),
):
    """Orbit determination in operations mode: estimate the state from observed TDM files (no truth).

    Writes od_estimate.json (estimate, sigmas, covariance, convergence), od_residuals.csv and .png,
    and od_trajectory.oem (the estimated trajectory with covariance blocks). Exit 0 when the batch
    converged, 1 when it stopped at its iteration limit (outputs written, marked), 2 on bad input or
    divergence.
    """
    import json

    from rich.console import Console
    from rich.markup import escape

    from .errors import OutputError
    from .exports.oem import OemCovariance, write_oem
    from .files import atomic_write
    from .mission.operations import determine_orbit, residual_figure
    from .results import Trajectory, to_jsonable
    from .scenario import load_scenario

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
    con = Console(stderr=True)
    state = "[green]converged[/]" if b.converged else "[bold red]NOT converged[/]"
    con.print(f"{state} in {len(b.iterations)} iterations; post-fit weighted RMS {b.postfit_weighted_rms:.4g}; "
              f"{len(res.problem.data)} observations, {int(sum(b.edited))} edited\n"
              f"  position sigma {1e3 * float(b.sigma[:3].max()):.4g} m, velocity sigma "
              f"{1e6 * float(b.sigma[3:6].max()):.4g} mm/s (largest axis)\n  outputs: {escape(str(out))}",
              highlight=False, soft_wrap=True)
    if not b.converged:
        raise typer.Exit(1)


@app.command()
@_guard
def contacts(
    start: str = typer.Option(..., "--start", help="Start epoch, ISO 8601."),
    stop: str = typer.Option(..., "--stop", help="Stop epoch, ISO 8601."),
    stations: str = typer.Option("", "--stations", help="Comma-separated station names (default: all catalogued)."),
    scale: str = typer.Option("UTC", "--scale", help="Time scale of --start/--stop: UTC, TT, TDB."),
    mask: Optional[float] = typer.Option(None, "--mask", help="Elevation mask for every station, deg (default: each station's)."),
    band: Optional[str] = typer.Option(None, "--band", help="Band whose elevation mask applies (S, X, K, Ka)."),
    fmt: str = typer.Option("csv", "--format", help="csv or json."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output file (default: standard output)."),
):
    """Passes of the spacecraft at Mars (Mars' centre, DE421) over ground stations, with solar-conjunction blackouts (TDB)."""
    import csv
    import io
    import json
    import warnings

    from .files import csv_text

    # erfa's "dubious year" notes for UTC epochs past the leap-second table's horizon: the
    # spans are checked against the ephemeris below, and the note is not the user's problem
    warnings.filterwarnings("ignore", message=".*dubious year.*")
    from .comms.stations import get_stations, merge_stations
    from .comms.visibility import conjunctions, find_passes, passes_table
    from .errors import InputError
    from .time import to_tdb_seconds

    if fmt not in ("csv", "json"):
        raise InputError("--format", fmt, "csv, json")
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
    buf = io.StringIO()
    if fmt == "csv":
        cols = ["station", "agency", "start_tdb", "stop_tdb", "duration_s", "max_elevation_deg", "t_max_elevation_tdb",
                "truncated", "azimuth_start_deg", "azimuth_stop_deg", "blackout_bands"]
        w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
        w.writeheader()
        w.writerows({**r, "station": csv_text(r["station"]), "agency": csv_text(r["agency"])} for r in rows)
    else:
        from .time import iso_tdb

        json.dump({"target": "MARS (centre, DE421)", "time_scale": "TDB", "passes": rows,
                   "blackouts": [{"band": b.band, "start_tdb": iso_tdb(b.start), "stop_tdb": iso_tdb(b.stop),
                                  "sep_limit_deg": b.limit_deg, "min_sep_deg": round(b.min_sep_deg, 4),
                                  "t_min_sep_tdb": iso_tdb(b.t_min_sep), "truncated": b.truncated} for b in blackouts]},
                  buf, indent=1)
        buf.write("\n")
    if out is None:
        sys.stdout.write(buf.getvalue())
    else:
        try:
            out.write_text(buf.getvalue(), encoding="utf-8")
        except OSError as exc:
            raise InputError("--out", str(out), f"a writable file path ({exc.strerror})") from None


@app.command()
@_guard
def timeline(
    fmt: str = typer.Option("table", "--format", help="table, csv or ics (iCalendar)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output file (default: standard output)."),
):
    """The reference MMX mission: phases with dates and sources, and the mmxsim models behind each."""
    from .errors import InputError
    from .mission.timeline import Timeline, events_csv, events_ical, model_status

    if fmt not in ("table", "csv", "ics"):
        raise InputError("--format", fmt, "table, csv, ics")
    tl = Timeline()
    if fmt == "table":
        from rich.console import Console
        from rich.table import Table

        t = Table(title="MMX reference timeline (days inside the published periods are assumptions)")
        for c in ("phase", "start", "stop", "published", "source", "mmxsim models (+ present, - not yet)"):
            t.add_column(c)
        for p in tl.phases:
            st = model_status(p)
            t.add_row(p.name, p.start, p.stop, p.published, p.source,
                      " ".join(("+" if ok else "-") + m.removeprefix("mmxsim.") for m, ok in st.items()))
            for o in tl.operations:
                if o.phase == p.name:
                    t.add_row(f"  {o.name}", o.at[:10], o.at[:10], o.published, o.source, o.description)
        Console(file=sys.stdout if out is None else open(out, "w", encoding="utf-8"), width=200).print(t)
        return
    text = events_csv(tl.merged()) if fmt == "csv" else events_ical(tl.merged())
    if out is None:
        sys.stdout.write(text)
    else:
        try:
            out.write_text(text, encoding="utf-8", newline="")
        except OSError as exc:
            raise InputError("--out", str(out), f"a writable file path ({exc.strerror})") from None


@app.command()
@_guard
def partners():
    """MMX's partners: what each provides, agreements and dates, and the mmxsim models behind each."""
    from rich.console import Console
    from rich.table import Table

    from .partners import partners_table

    t = Table(title="MMX international cooperation ([JAXA-INTL]; + modelled here, - not yet)")
    for c in ("agency", "contribution", "mmxsim models", "milestones"):
        t.add_column(c, overflow="fold")
    for row in partners_table():
        t.add_row(*row)
    Console(width=200).print(t)


@app.command()
@_guard
def campaign(
    spec: Path = typer.Argument(..., help="Campaign YAML file (base scenario, vary, outputs, seed)."),
    out: Path = typer.Option(Path("mmxsim-campaign"), "--out", "-o", help="Campaign folder (resumed if it exists)."),
    workers: Optional[int] = typer.Option(None, "--workers", "-w", help="Local Dask worker processes (default: CPUs)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Address of an existing Dask scheduler "
                                            "(tcp://host:8786), or 'synchronous' to run in this process."),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Run again the samples recorded as failed."),
    fresh: bool = typer.Option(False, "--fresh", help="Delete earlier results in the folder first."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
):
    """Run (or resume) a Monte Carlo / sweep campaign on Dask; results in OUT/results.parquet."""
    from rich.console import Console
    from rich.markup import escape

    from .campaign import load_campaign, run_campaign

    res = run_campaign(load_campaign(spec), out, n_workers=workers, scheduler=scheduler, progress=not quiet,
                       retry_failed=retry_failed, fresh=fresh)
    Console(stderr=True).print(
        f"[green]done[/] {escape(res.spec.name)}: {res.spec.n_samples} samples, {res.n_ok} ok, {res.n_failed} failed "
        f"({res.n_resumed} found finished, {res.n_run} run) in {res.wall_s:.1f} s\n  results: {escape(str(res.path))}",
        highlight=False, soft_wrap=True)


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
        app.command(a.command_name)(_guard(a.command))
        taken.add(a.command_name)


_analysis_commands()


def main() -> None:  # console-script entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
