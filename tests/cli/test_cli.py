"""The ``mmxsim`` command line: run, validate, ephemeris, help, lazy imports.

Most checks go through ``typer.testing.CliRunner`` (in process, stdout and stderr
kept apart); a few end-to-end ones start ``python -m mmxsim.cli`` in a subprocess.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from mmxsim.cli import app

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
CORPUS = ROOT / "tests" / "mission" / "malformed"
MALFORMED = sorted(CORPUS.glob("*.yaml"))

runner = CliRunner()

_OEM_LINE = re.compile(r"^\d{4}-\d{2}-\d{2}T\S+(\s+\S+){6}\s*$")


def _headers(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("# "):
            break
        key, _, val = line[2:].partition(":")
        out[key.strip()] = val.strip()
    return out


def _invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "default", "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "mmxsim.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=env, timeout=300)


def _assert_clean_failure(res, *needles: str) -> str:
    """Exit code 2, an 'error:' message on stderr containing every needle, no traceback."""
    err = res.stderr
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    assert isinstance(res.exception, SystemExit), res.exception
    assert err.startswith("error: "), err
    for n in needles:
        assert n in err, (n, err)
    assert "Traceback" not in res.output
    assert res.stdout == "", res.stdout
    return err


def _oem_states(path: Path) -> tuple[list[str], np.ndarray]:
    times, rows = [], []
    for line in path.read_text().splitlines():
        if _OEM_LINE.match(line):
            tok = line.split()
            times.append(tok[0])
            rows.append([float(x) for x in tok[1:]])
    return times, np.array(rows)


def _shortened(name: str, folder: Path, days: float = 1.0) -> Path:
    """A copy of ``scenarios/NAME.yaml`` with ``duration_days`` shortened (builtin: kernel aliases kept)."""
    data = yaml.safe_load((ROOT / "scenarios" / f"{name}.yaml").read_text())
    data["duration_days"] = days
    data.setdefault("propagation", {})["output_step_s"] = 600
    out = folder / f"{name}_short.yaml"
    out.write_text(yaml.safe_dump(data, sort_keys=False))
    return out


# ---------------------------------------------------------------------------
# 1. the malformed corpus through `validate` and `run`


def test_corpus_present():
    assert len(MALFORMED) >= 20


def _expected_message(path: Path) -> str:
    from mmxsim.scenario import ScenarioError, check_coverage, load_scenario

    with pytest.raises(ScenarioError) as info:
        check_coverage(load_scenario(path))
    return str(info.value)


@pytest.mark.parametrize("path", MALFORMED, ids=[p.stem for p in MALFORMED])
def test_validate_malformed(path: Path):
    h = _headers(path)
    needles = [h[k] for k in ("expect", "path", "value") if k in h]
    res = _invoke("validate", path)
    err = _assert_clean_failure(res, *needles)
    # the whole message comes through verbatim (rich must not eat "[line 9]" etc. as markup)
    assert _expected_message(path) in err, err


@pytest.mark.parametrize("path", MALFORMED, ids=[p.stem for p in MALFORMED])
def test_run_malformed(path: Path, tmp_path: Path):
    h = _headers(path)
    needles = [h[k] for k in ("expect", "path", "value") if k in h]
    out = tmp_path / "out"
    res = _invoke("run", path, "--out", out, "-q")
    _assert_clean_failure(res, *needles)
    assert not out.exists() or not any(out.iterdir()), list(out.iterdir())


def test_validate_missing_file(tmp_path: Path):
    _assert_clean_failure(_invoke("validate", tmp_path / "nope.yaml"), "no such file")


def test_malformed_end_to_end_no_traceback():
    """One corpus file through a real process: exit status 2 and a message, nothing else."""
    path = CORPUS / "unknown_frame.yaml"
    p = _cli("validate", path)
    assert p.returncode == 2, p.stderr
    assert p.stdout == ""
    assert p.stderr.startswith("error: scenario ")
    assert "initial_state.frame: got 'FOO'; allowed: ICRF, MARS_FIXED, PHOBOS_FIXED, PHOBOS_HILL [line " in p.stderr
    assert "Traceback" not in p.stderr


# ---------------------------------------------------------------------------
# 2. shipped scenarios validate


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_shipped_scenarios_validate(path: Path):
    res = _invoke("validate", path)
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("ok: "), res.stdout
    assert res.stderr == ""


def test_shipped_scenarios_found():
    assert {p.stem for p in SCENARIOS} >= {"reference_qso", "spice_de", "mars_keplerian", "qso_3d"}


# ---------------------------------------------------------------------------
# 3. runs


OUTPUT_FILES = ("trajectory.oem", "timeseries.csv", "summary.json", "report/index.html")


def _check_outputs(out: Path, days: float) -> dict:
    for name in OUTPUT_FILES:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    summary = json.loads((out / "summary.json").read_text())
    span = summary["span"]
    assert span["duration_days"] == pytest.approx(days)
    assert span["duration_s"] == pytest.approx(days * 86400.0)
    assert span["start_tdb"].startswith("2027-09-01T00:01:09.18")  # 2027-09-01 UTC in TDB
    assert summary["termination"] == "span completed"
    times, states = _oem_states(out / "trajectory.oem")
    assert len(times) == summary["samples"] == round(days * 86400 / 600) + 1
    assert np.all(np.isfinite(states))
    header = (out / "timeseries.csv").read_text().splitlines()[0]
    assert "," in header
    assert "<html" in (out / "report" / "index.html").read_text()[:2000].lower()
    return summary


def test_run_mars_keplerian_end_to_end(tmp_path: Path):
    out = tmp_path / "kep"
    p = _cli("run", ROOT / "scenarios" / "mars_keplerian.yaml", "--out", out, "-q")
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    summary = _check_outputs(out, 10.0)
    assert summary["scenario"] == "mars-keplerian"


@pytest.fixture(scope="module")
def short_runs(tmp_path_factory):
    """1-day copies of reference_qso (builtin) and spice_de (SPICE, DE421) run through the CLI."""
    folder = tmp_path_factory.mktemp("short")
    outs = {}
    for name in ("reference_qso", "spice_de"):
        path = _shortened(name, folder)
        out = folder / f"out_{name}"
        # reference_qso with progress: CliRunner's stderr is not a terminal, as in CI or a log file
        res = _invoke("run", path, "--out", out, *(["-q"] if name == "spice_de" else []))
        assert res.exit_code == 0, (res.output, res.exception)
        outs[name] = out
        outs[f"{name}_stderr"] = res.stderr
    return outs


def test_run_plain_progress_when_not_a_terminal(short_runs):
    """Not on a terminal: one plain line per step on stderr (propagation every 10 %, each analysis'
    start and end), no progress-bar drawing; with -q none."""
    err = short_runs["reference_qso_stderr"]
    lines = err.splitlines()
    pct = [int(m.group(1)) for m in map(re.compile(r"^mmxsim: propagation (\d+) % \(").match, lines) if m]
    assert pct == sorted(pct) and pct[-1] == 100 and len(pct) <= 10, err
    assert any(ln.startswith("mmxsim: propagation done in ") for ln in lines), err
    assert "mmxsim: writing outputs" in lines and any(ln.startswith("done reference-qso") for ln in lines), err
    assert "\r" not in err and "\x1b[" not in err and "━" not in err  # no bar drawing, no escape codes
    assert "mmxsim: propagation" not in short_runs["spice_de_stderr"]


def test_run_reference_short(short_runs):
    summary = _check_outputs(short_runs["reference_qso"], 1.0)
    assert summary["scenario"] == "reference-qso"
    d = summary["distance_phobos_km"]
    assert 45.0 < d["min"]["value"] < 50.5 < d["max"]["value"] < 120.0  # the periodic 50 x 95 km QSO


def test_run_spice_short(short_runs):
    summary = _check_outputs(short_runs["spice_de"], 1.0)
    assert summary["scenario"] == "spice-de"
    assert summary["metadata"]["scenario"]["ephemeris"]["backend"] == "spice"


def test_spice_matches_builtin(short_runs):
    """Both runs use DE421 for Sun/Earth and the built-in integrated Phobos/Deimos; both start on
    the periodic QSO corrected in their own ephemeris (same to < 1e-6 km: the DE421 evaluations differ
    by ~4e-6 km).

    Measured: 0.094 m apart at the end of the day (0.46 m at most along the way). The
    two ephemerides differ by only ~4e-6 km (SPICE vs jplephem evaluation of the same
    DE421), but the shadow factor in SRP makes the 1-day QSO sensitive at the
    ~0.1-1 m level to any micrometre-sized perturbation (without SRP shadows a 1 um
    change of the initial state moves it by ~1.5 mm; with them by ~0.4 m).
    """
    ta, a = _oem_states(short_runs["reference_qso"] / "trajectory.oem")
    tb, b = _oem_states(short_runs["spice_de"] / "trajectory.oem")
    assert ta == tb
    assert np.abs(a[0, :3] - b[0, :3]).max() < 1e-6 and np.abs(a[0, 3:] - b[0, 3:]).max() < 1e-9
    diff_m = np.linalg.norm(a[-1, :3] - b[-1, :3]) * 1e3
    assert diff_m < 1.0, diff_m
    assert np.linalg.norm(a[-1, 3:] - b[-1, 3:]) * 1e3 < 1e-3  # m/s


# ---------------------------------------------------------------------------
# 4. ephemeris


COLS = ["time_tdb", "x_km", "y_km", "z_km", "vx_km_s", "vy_km_s", "vz_km_s", "time_utc"]
SPAN = ("--start", "2027-09-01", "--stop", "2027-09-02", "--step", "1h")


def _csv(text: str) -> tuple[list[str], list[str], np.ndarray]:
    lines = text.strip().splitlines()
    header = lines[0].split(",")
    rows = [ln.split(",") for ln in lines[1:]]
    return header, [r[0] for r in rows], np.array([[float(x) for x in r[1:7]] for r in rows])


def _epochs_tdb() -> np.ndarray:
    from mmxsim.time import Epoch

    return float(Epoch("2027-09-01", "utc").tdb) + 3600.0 * np.arange(25)


@pytest.fixture(scope="module")
def phobos_icrf():
    res = _invoke("ephemeris", "PHOBOS", "--center", "MARS", "--frame", "ICRF", *SPAN)
    assert res.exit_code == 0, res.output
    return _csv(res.stdout)


def test_ephemeris_csv_matches_library(phobos_icrf):
    from mmxsim.ephemeris import default_ephemeris
    from mmxsim.time import iso_tdb

    header, times, states = phobos_icrf
    assert header == COLS
    assert len(times) == 25 and states.shape == (25, 6)
    t = _epochs_tdb()
    assert times == list(iso_tdb(t))
    ref = np.atleast_2d(default_ephemeris().state("PHOBOS", "MARS", t))
    np.testing.assert_allclose(states[:, :3], ref[:, :3], rtol=0, atol=1e-6)
    np.testing.assert_allclose(states[:, 3:], ref[:, 3:], rtol=0, atol=1e-9)


def test_ephemeris_phobos_hill(phobos_icrf):
    res = _invoke("ephemeris", "MARS", "--center", "PHOBOS", "--frame", "PHOBOS_HILL", *SPAN)
    assert res.exit_code == 0, res.output
    header, times, hill = _csv(res.stdout)
    assert header == COLS and times == phobos_icrf[1]
    icrf = phobos_icrf[2]
    r = np.linalg.norm(icrf[:, :3], axis=1)
    # Mars on the -x axis of Phobos' Hill frame
    np.testing.assert_allclose(hill[:, 0], -r, rtol=0, atol=1e-6)
    np.testing.assert_allclose(hill[:, 1:3], 0.0, rtol=0, atol=1e-6)
    # velocity relative to the rotating axes: only the range rate, along x
    rdot = np.einsum("ij,ij->i", icrf[:, :3], icrf[:, 3:]) / r
    np.testing.assert_allclose(hill[:, 3], -rdot, rtol=0, atol=1e-9)
    np.testing.assert_allclose(hill[:, 4:], 0.0, rtol=0, atol=1e-9)


@pytest.mark.parametrize("frame", ["MARS_FIXED", "PHOBOS_FIXED", "MARS_EQUATOR"])
def test_ephemeris_rotating_frames(frame, phobos_icrf):
    res = _invoke("ephemeris", "PHOBOS", "--center", "MARS", "--frame", frame, *SPAN)
    assert res.exit_code == 0, res.output
    header, times, states = _csv(res.stdout)
    assert header == COLS and times == phobos_icrf[1]
    # a rotation keeps distances
    np.testing.assert_allclose(np.linalg.norm(states[:, :3], axis=1),
                               np.linalg.norm(phobos_icrf[2][:, :3], axis=1), rtol=0, atol=1e-6)
    assert not np.allclose(states[:, :3], phobos_icrf[2][:, :3], atol=1.0)


def test_ephemeris_json(phobos_icrf):
    res = _invoke("ephemeris", "PHOBOS", "--center", "MARS", "--format", "json", *SPAN)
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["columns"] == COLS
    assert (doc["body"], doc["center"], doc["frame"], doc["time_scale"]) == ("PHOBOS", "MARS", "ICRF", "TDB")
    assert len(doc["data"]) == 25
    assert [row[0] for row in doc["data"]] == phobos_icrf[1]
    np.testing.assert_allclose(np.array([row[1:7] for row in doc["data"]]), phobos_icrf[2], rtol=0, atol=1e-6)
    assert [row[7] for row in doc["data"]][:2] == ["2027-09-01T00:00:00.000", "2027-09-01T01:00:00.000"]


@pytest.mark.parametrize("day,scale", [("2027-03-01", "UTC"), ("2027-06-01", "UTC"), ("2027-12-01", "TT"),
                                       ("2027-06-01", "TDB")])
def test_ephemeris_includes_stop(day, scale):
    """--stop is a row even though the UTC/TT span is a few tens of us off a whole day in TDB."""
    stop = f"{day[:8]}{int(day[8:]) + 1:02d}"
    res = _invoke("ephemeris", "PHOBOS", "--start", day, "--stop", stop, "--step", "1h", "--scale", scale)
    assert res.exit_code == 0, res.output
    _, times, states = _csv(res.stdout)
    assert len(times) == 25 and states.shape == (25, 6)


def test_ephemeris_step_units():
    a = _invoke("ephemeris", "PHOBOS", "--start", "2027-09-01", "--stop", "2027-09-01T01:00", "--step", "10m")
    b = _invoke("ephemeris", "PHOBOS", "--start", "2027-09-01", "--stop", "2027-09-01T01:00", "--step", "600")
    assert a.exit_code == b.exit_code == 0
    assert a.stdout == b.stdout
    assert len(a.stdout.strip().splitlines()) == 1 + 7


BAD_EPHEMERIS = {
    "unknown_body": (["FOO", *SPAN], ["'FOO'", "allowed", "PHOBOS"]),
    "unknown_center": (["PHOBOS", "--center", "FOO", *SPAN], ["'FOO'", "allowed"]),
    "unknown_frame": (["PHOBOS", "--frame", "BAR", *SPAN], ["--frame", "'BAR'", "PHOBOS_HILL"]),
    "step_zero": (["PHOBOS", "--start", "2027-09-01", "--stop", "2027-09-02", "--step", "0"], ["--step", "'0'"]),
    "step_abc": (["PHOBOS", "--start", "2027-09-01", "--stop", "2027-09-02", "--step", "abc"], ["--step", "'abc'"]),
    "step_negative": (["PHOBOS", "--start", "2027-09-01", "--stop", "2027-09-02", "--step", "-1h"], ["--step"]),
    "step_inf": (["PHOBOS", "--start", "2027-09-01", "--stop", "2027-09-02", "--step", "inf"], ["--step", "'inf'"]),
    "step_nan": (["PHOBOS", "--start", "2027-09-01", "--stop", "2027-09-02", "--step", "nan"], ["--step"]),
    "stop_before_start": (["PHOBOS", "--start", "2027-09-02", "--stop", "2027-09-01"], ["--stop", "after --start"]),
    "outside_coverage": (["PHOBOS", "--start", "2070-01-01", "--stop", "2070-01-02"],
                         ["PHOBOS", "not covered", "2034-01-01"]),
    "format_xml": (["PHOBOS", *SPAN, "--format", "xml"], ["--format", "'xml'", "csv, json"]),
    "start_garbage": (["PHOBOS", "--start", "garbage", "--stop", "2027-09-02"], ["--start", "'garbage'", "ISO 8601"]),
    "start_bad_date": (["PHOBOS", "--start", "2027-13-45", "--stop", "2027-09-02"], ["--start", "'2027-13-45'"]),
    "scale_unknown": (["PHOBOS", *SPAN, "--scale", "XYZ"], ["--scale", "UTC, TT, TDB"]),
    "scale_tdb_seconds": (["PHOBOS", "--start", "0", "--stop", "3600", "--scale", "tdb_seconds"], ["--scale"]),
    "missing_kernel": (["PHOBOS", *SPAN, "--kernel", "/no/such/kernel.bsp"], ["/no/such/kernel.bsp"]),
}


@pytest.mark.parametrize("case", BAD_EPHEMERIS, ids=list(BAD_EPHEMERIS))
def test_ephemeris_bad_input(case):
    args, needles = BAD_EPHEMERIS[case]
    _assert_clean_failure(_invoke("ephemeris", *args), *needles)


def test_ephemeris_outside_coverage_end_to_end():
    """Real process: a clean message, and no ERFA 'dubious year' warnings on the way."""
    p = _cli("ephemeris", "PHOBOS", "--start", "2070-01-01", "--stop", "2070-01-02")
    assert p.returncode == 2, p.stderr
    assert p.stdout == ""
    assert p.stderr.startswith("error: PHOBOS is not covered"), p.stderr
    assert "Warning" not in p.stderr and "Traceback" not in p.stderr, p.stderr


# ---------------------------------------------------------------------------
# 5. help and lazy imports


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["validate", "--help"], ["ephemeris", "--help"]])
def test_help(args):
    res = _invoke(*args)
    assert res.exit_code == 0, res.output
    assert "Usage" in res.stdout


def test_no_args_shows_help():
    res = _invoke()
    assert "Usage" in res.output
    assert "run" in res.output and "validate" in res.output and "ephemeris" in res.output


def test_help_end_to_end():
    p = _cli("--help")
    assert p.returncode == 0, p.stderr
    assert "Usage" in p.stdout


def test_cli_import_is_light():
    heavy = ("heyoka", "astropy", "matplotlib", "spiceypy", "scipy")
    code = f"import mmxsim.cli, sys; print([m for m in {heavy!r} if m in sys.modules])"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[]", p.stdout


def test_help_does_not_import_heavy_libraries():
    heavy = ("heyoka", "astropy", "matplotlib", "spiceypy", "scipy")
    code = ("import sys\nfrom mmxsim.cli import app\n"
            "try:\n    app(['run', '--help'])\nexcept SystemExit:\n    pass\n"
            f"print('HEAVY', [m for m in {heavy!r} if m in sys.modules])")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "HEAVY []" in p.stdout, p.stdout
