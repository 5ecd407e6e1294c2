"""The command line's shape (issue 18 item 3): ``--version``, flags shown as flags, ``--format
table|csv|json`` on every command that prints data, UTC beside TDB, tables that do not wrap when
piped, plain progress lines when standard error is not a terminal, ``mmxsim cache info|clear``.

Cheap by design: typer's CliRunner in process (its stdout and stderr are not terminals, as in CI),
short spans, no mission run (the non-TTY progress of a real run is checked in test_cli.py's
``short_runs``, the od formats in test_od_cli.py).
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from mmxsim import cli
from mmxsim.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _invoke(*args, **kw):
    return runner.invoke(app, [str(a) for a in args], **kw)


def _csv_rows(text: str) -> tuple[list[str], list[dict]]:
    reader = csv.DictReader(io.StringIO(text))
    rows = list(reader)
    assert reader.fieldnames, text[:200]
    for r in rows:  # every row has exactly the header's fields
        assert None not in r and all(v is not None for v in r.values()), r
    return list(reader.fieldnames), rows


# ---------------------------------------------------------------------------------------------
# --version, flags, completion


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(flag):
    from mmxsim.version import __version__

    r = _invoke(flag)
    assert r.exit_code == 0, r.output
    assert r.stdout == f"mmxsim {__version__}\n"


def _all_commands():
    """(path, click command) of every command and sub-command."""
    root = typer.main.get_command(app)
    out = [((), root)]
    todo = [((), root)]
    while todo:
        path, grp = todo.pop()
        for name, c in getattr(grp, "commands", {}).items():
            out.append(((*path, name), c))
            if hasattr(c, "commands"):
                todo.append(((*path, name), c))
    return out


COMMANDS = _all_commands()


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=[" ".join(p) or "mmxsim" for p, _ in COMMANDS])
def test_help_shows_flags_as_flags(path):
    """No option is shown taking a <bool> value; every boolean option is a flag (--x or --x/--no-x)."""
    r = _invoke(*path, "--help")
    assert r.exit_code == 0, r.output
    assert "<bool>" not in r.stdout and "BOOLEAN" not in r.stdout, r.stdout
    cmd = dict(COMMANDS)[path]
    for p in cmd.params:
        if getattr(p, "type", None) is not None and p.type.name == "boolean" and p.param_type_name == "option":
            assert p.is_flag, (path, p.name)
            if p.default is True:  # a flag whose default is on must have its --no- form
                assert p.secondary_opts, (path, p.name)


def test_completion_offered():
    r = _invoke("--help")
    assert "--install-completion" in r.stdout and "--show-completion" in r.stdout
    assert "Shell completion" in r.stdout


def test_every_data_command_has_format():
    """Every command except run, campaign-less helpers and cache clear prints data and takes --format
    with table, csv and json among its choices."""
    no_data = {("run",), ("cache", "clear"), ("cache",), ()}
    for path, cmd in COMMANDS:
        if path in no_data:
            continue
        opts = {o for p in cmd.params for o in getattr(p, "opts", [])}
        assert "--format" in opts, path
        help_text = next(p.help for p in cmd.params if "--format" in getattr(p, "opts", []))
        assert all(f in help_text for f in ("table", "csv", "json")), (path, help_text)


def test_bad_format_is_refused():
    for args in (["partners"], ["timeline"], ["validate", ROOT / "scenarios" / "reference_qso.yaml"]):
        r = _invoke(*args, "--format", "xml")
        assert r.exit_code == 2 and "--format" in r.stderr and "table, csv, json" in r.stderr, r.output


# ---------------------------------------------------------------------------------------------
# --format json / csv on every data command

SPAN = ("--start", "2027-09-01", "--stop", "2027-09-01T12:00", "--step", "3h")
DATA_COMMANDS = {
    "ephemeris": ["ephemeris", "PHOBOS", *SPAN],
    "contacts": ["contacts", "--start", "2028-03-10", "--stop", "2028-03-11", "--stations", "DSS-14,DSS-43"],
    "timeline": ["timeline"],
    "partners": ["partners"],
    "validate": ["validate", str(ROOT / "scenarios" / "reference_qso.yaml"), "--explain"],
}


@pytest.mark.parametrize("name", list(DATA_COMMANDS))
def test_json_and_csv(name):
    args = DATA_COMMANDS[name]
    rj = _invoke(*args, "--format", "json")
    assert rj.exit_code == 0, rj.output
    doc = json.loads(rj.stdout)
    rc = _invoke(*args, "--format", "csv")
    assert rc.exit_code == 0, rc.output
    header, rows = _csv_rows(rc.stdout)
    assert rows, rc.stdout
    assert len(set(header)) == len(header)
    # the same records in both
    records = doc.get("records") or doc.get("passes") or doc.get("data") or [doc]
    assert len(records) == len(rows), (len(records), len(rows))


def test_table_default_and_not_wrapped():
    """Tables printed to a pipe keep each row on one line, however wide."""
    r = _invoke("partners")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    body = [ln for ln in lines if ln.startswith("│")]
    from mmxsim.partners import partners_table

    assert len(body) == len(partners_table())  # one line per row: nothing folded onto a second line
    assert max(len(ln) for ln in lines) > 120


def test_ephemeris_utc_column():
    r = _invoke("ephemeris", "PHOBOS", *SPAN)
    header, rows = _csv_rows(r.stdout)
    assert header[0] == "time_tdb" and header[-1] == "time_utc"
    assert [row["time_utc"] for row in rows] == [f"2027-09-01T{h:02d}:00:00.000" for h in (0, 3, 6, 9, 12)]
    # TDB - UTC = 69.18 s in 2027 (37 leap seconds + 32.184 s + the periodic term)
    assert all(row["time_tdb"].startswith(row["time_utc"][:14]) for row in rows)
    assert rows[0]["time_tdb"] == "2027-09-01T00:01:09.183"
    # TDB (-S) table: the same two times
    t = _invoke("ephemeris", "PHOBOS", *SPAN, "--format", "table")
    assert t.exit_code == 0 and "2027-09-01T03:00:00.000" in t.stdout and "2027-09-01T03:01:09.183" in t.stdout


def test_contacts_utc_columns():
    from mmxsim.time import tdb_seconds

    r = _invoke(*DATA_COMMANDS["contacts"], "--format", "csv")
    header, rows = _csv_rows(r.stdout)
    for scale in ("utc", "tdb"):
        assert {f"start_{scale}", f"stop_{scale}", f"t_max_elevation_{scale}"} <= set(header)
    for row in rows:  # the UTC and TDB columns are the same instants
        for k in ("start", "stop", "t_max_elevation"):
            d = tdb_seconds(row[f"{k}_utc"], "utc") - tdb_seconds(row[f"{k}_tdb"], "tdb")
            assert abs(d) < 1.1e-3, (k, row)
    doc = json.loads(_invoke(*DATA_COMMANDS["contacts"], "--format", "json").stdout)
    assert all("start_utc" in b and "t_min_sep_utc" in b for b in doc["blackouts"]) and doc["blackouts"]
    t = _invoke(*DATA_COMMANDS["contacts"], "--format", "table")
    assert t.exit_code == 0 and "start_utc" in t.stdout and rows[0]["start_utc"] in t.stdout


def test_timeline_utc_and_tdb():
    _, rows = _csv_rows(_invoke("timeline", "--format", "csv").stdout)
    launch = next(r for r in rows if r["name"] == "launch")
    assert launch["start_utc"] == "2026-10-15T00:00:00.000" and launch["start_tdb"] == "2026-10-15T00:01:09.182"
    assert float(launch["duration_s"]) == 0.0
    ics = _invoke("timeline", "--format", "ics").stdout
    assert ics.startswith("BEGIN:VCALENDAR")


def test_validate_json():
    doc = json.loads(_invoke(*DATA_COMMANDS["validate"], "--format", "json").stdout)
    assert doc["valid"] is True and doc["scenario"] == "reference-qso"
    assert doc["output_samples"] == 30 * 86400 // 600 + 1 and doc["span_days"] == 30.0


def test_qso_formats_and_unwrapped_table(tmp_path):
    r = _invoke("qso", "--degree", "0", "--sizes", "100,50", "--out", tmp_path, "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["degree"] == 0 and [round(m["size_km"]) for m in doc["records"]] == [100, 50]
    assert all(abs(m["radial_semi_axis_km"] - m["size_km"]) < 0.01 * m["size_km"] for m in doc["records"])
    assert "qso_family.csv" in r.stderr  # the file list goes to standard error
    c = _invoke("qso", "--degree", "0", "--sizes", "100,50", "--out", tmp_path, "--format", "csv")
    header, rows = _csv_rows(c.stdout)
    assert header[0] == "size_km" and "period_h" in header and len(rows) == 2
    assert float(rows[0]["period_h"]) == pytest.approx(doc["records"][0]["period_h"], rel=1e-15)
    t = _invoke("qso", "--degree", "0", "--sizes", "100,50", "--out", tmp_path)
    table = [ln for ln in t.stdout.splitlines() if ln.startswith("|")]
    assert len(table) == 2 + 2 and all(ln.endswith("|") for ln in table)  # header, rule, 2 rows: none wrapped
    assert max(map(len, table)) > 80


def test_campaign_summary_formats(monkeypatch, tmp_path):
    """The printed summary of ``mmxsim campaign`` in the three formats (the campaign itself is
    tested in tests/campaign; here its result is given)."""
    import mmxsim.campaign as campaign
    from mmxsim.campaign.runner import CampaignResult

    spec = SimpleNamespace(name="fmt", n_samples=3)
    res = CampaignResult(spec=spec, out_dir=tmp_path, path=tmp_path / "results.parquet", table=None, n_ok=2,
                         n_failed=1, n_resumed=0, n_run=3, wall_s=1.25, workers=1)
    monkeypatch.setattr(campaign, "load_campaign", lambda path: spec)
    seen = []
    monkeypatch.setattr(campaign, "run_campaign", lambda *a, **k: seen.append(k["engine"]) or res)
    doc = json.loads(_invoke("campaign", tmp_path / "c.yaml", "-q", "--format", "json").stdout)
    assert doc == res.summary()
    _invoke("campaign", tmp_path / "c.yaml", "-q", "--engine", "scenario", "--format", "json")
    assert seen == ["auto", "scenario"]  # the default, then --engine passed through
    header, rows = _csv_rows(_invoke("campaign", tmp_path / "c.yaml", "-q", "--format", "csv").stdout)
    assert rows == [{k: str(v) for k, v in res.summary().items()}]
    t = _invoke("campaign", tmp_path / "c.yaml", "-q")
    assert "3 samples, 2 ok, 1 failed" in t.stderr and t.stdout == ""


# ---------------------------------------------------------------------------------------------
# progress lines when not on a terminal


def test_plain_progress_lines():
    from mmxsim.app import PlainProgress

    buf = io.StringIO()
    clock = iter(np.arange(0.0, 100.0, 0.5)).__next__
    p = PlainProgress(buf, "demo", clock=clock)
    for f in np.linspace(0.0, 1.0, 201):  # many callbacks: one line per 10 %
        p.propagation(f)
    p.analysis("landing")
    p.analysis("comms")
    p.analysis(None)
    lines = buf.getvalue().splitlines()
    pct = [ln for ln in lines if re.match(r"mmxsim: propagation \d+ %", ln)]
    assert [int(ln.split()[2]) for ln in pct] == list(range(10, 101, 10))
    p2 = PlainProgress(buf2 := io.StringIO(), "demo", clock=lambda: 0.0)
    p2.propagation(0.05)
    p2.propagation(0.37)  # several steps at once: one line
    p2.propagation(1.0)
    assert [ln.split(" (")[0] for ln in buf2.getvalue().splitlines()] == [
        "mmxsim: propagation 30 %", "mmxsim: propagation 100 %", "mmxsim: propagation done in 0.0 s"]
    assert sum("propagation done" in ln for ln in lines) == 1
    assert [ln for ln in lines if ln.startswith("mmxsim: analysis")] == [
        "mmxsim: analysis landing ...", "mmxsim: analysis landing done in 0.5 s",
        "mmxsim: analysis comms ...", "mmxsim: analysis comms done in 0.5 s"]


def test_plain_progress_with_worker_processes_claims_no_per_analysis_time():
    """With workers the analyses are announced as they are collected, in registry order: one "done" line
    each with the time since the analyses began, no "..." start line, no per-analysis time."""
    from mmxsim.app import PlainProgress

    buf = io.StringIO()
    p = PlainProgress(buf, "demo", clock=iter([0.0, 10.0, 10.0, 12.0, 30.0, 30.5]).__next__,
                      concurrent=True)
    p.analysis("landing")
    p.analysis("comms")
    p.analysis("od")
    p.analysis(None)
    assert [ln for ln in buf.getvalue().splitlines() if ln.startswith("mmxsim: analysis")] == [
        "mmxsim: analysis landing done (0.0 s since the analyses began, in several processes)",
        "mmxsim: analysis comms done (2.0 s since the analyses began, in several processes)",
        "mmxsim: analysis od done (20.0 s since the analyses began, in several processes)"]


def test_run_progress_argument_checked(tmp_path):
    from mmxsim.app import run_scenario_file
    from mmxsim.errors import InputError

    with pytest.raises(InputError, match="progress"):
        run_scenario_file(None, tmp_path / "o", progress="loud")


# ---------------------------------------------------------------------------------------------
# mmxsim cache info|clear, on temporary folders


@pytest.fixture
def caches(tmp_path, monkeypatch):
    data = tmp_path / "mmxsim-cache"
    data.mkdir()
    for name, size in (("gridgravity-aa.npz", 1000), ("horizon-bb.npy", 200), ("sdist-cc.npz", 30)):
        (data / name).write_bytes(b"x" * size)
    (data / "keep.txt").write_text("not a cache file")
    for name in (".gridgravity-aa.lock", ".sdist-cc.lock"):  # build locks (files.build_lock): cleared with their caches
        (data / name).write_bytes(b"")
    monkeypatch.setenv("MMXSIM_CACHE_DIR", str(data))
    nb = tmp_path / "numba"
    nb.mkdir()
    nb_files = [nb / "fast._eval-12.py311.nbi", nb / "fast._eval-12.py311.nbc"]
    for f in nb_files:
        f.write_bytes(b"n" * 7)
    (nb / "other.txt").write_text("keep")
    monkeypatch.setattr(cli, "_numba_cache_files", lambda: ([str(nb)], [f for f in nb_files if f.exists()]))
    # the background compiler's markers live in the real numba cache: none here (a machine that ran
    # `mmxsim run` has one, which would be counted and cleared with the numba kernels)
    monkeypatch.setattr("mmxsim.mission.warmup.marker_files", lambda: [])
    cleared = []
    monkeypatch.setattr(cli, "_heyoka_cache", lambda: (tmp_path / "heyoka", 0 if cleared else 4096, True,
                                                       lambda: cleared.append(1)))
    return SimpleNamespace(data=data, numba=nb, nb_files=nb_files, cleared=cleared)


def test_cache_info(caches):
    r = _invoke("cache", "info", "--format", "json")
    assert r.exit_code == 0, r.output
    by = {c["cache"]: c for c in json.loads(r.stdout)["caches"]}
    assert by["gravity grids"]["size_bytes"] == 1000 and by["gravity grids"]["files"] == 1
    assert by["gravity grids"]["location"].startswith(str(caches.data))
    assert by["horizon bounds"]["size_bytes"] == 200 and by["surface-distance BVH"]["size_bytes"] == 30
    assert by["numba kernels"]["files"] == 2 and by["numba kernels"]["size_bytes"] == 14
    assert by["heyoka compiled code"]["size_bytes"] == 4096
    assert all(c["speeds_up"] and c["configure"] for c in by.values())
    header, rows = _csv_rows(_invoke("cache", "info", "--format", "csv").stdout)
    assert "size_bytes" in header and len(rows) == 5
    t = _invoke("cache", "info")
    assert "gravity grids" in t.stdout and "1.0 kB" in t.stdout


def test_cache_clear_asks_then_removes_only_cache_files(caches):
    r = _invoke("cache", "clear", input="n\n")
    assert r.exit_code == 1
    assert (caches.data / "gridgravity-aa.npz").exists() and not caches.cleared
    r = _invoke("cache", "clear", "--only", "data", "--yes")
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in caches.data.iterdir()) == ["keep.txt"]  # locks gone too
    assert all(f.exists() for f in caches.nb_files) and not caches.cleared
    r = _invoke("cache", "clear", input="y\n")
    assert r.exit_code == 0, r.output
    assert not any(f.exists() for f in caches.nb_files) and (caches.numba / "other.txt").exists()
    assert caches.cleared == [1]
    assert _invoke("cache", "clear", "--yes").stderr.strip() == "nothing to clear"
    bad = _invoke("cache", "info", "--only", "everything")
    assert bad.exit_code == 2 and "--only" in bad.stderr


def test_numba_cache_files_are_only_numba_files_of_mmxsim():
    """On the real tree (nothing removed): every file found is a numba index/data file named after an
    mmxsim module, in a folder numba uses."""
    dirs, files = cli._numba_cache_files()
    assert dirs
    stems = {p.stem for p in (ROOT / "src" / "mmxsim").rglob("*.py")} | {
        p.stem for p in Path(cli.__file__).parent.rglob("*.py")}
    for f in files:
        assert f.suffix in (".nbi", ".nbc", ".lock") and f.name.split(".")[0] in stems, f


@pytest.mark.parametrize("env", [{"MMXSIM_CACHE_DIR": "/tmp/a-cache"}, {"XDG_CACHE_HOME": "/tmp/xdg"}, {}])
def test_cache_folder_is_the_one_the_package_writes(env, monkeypatch):
    """`mmxsim cache` looks where the gravity grids, horizon bounds and BVH files are written."""
    from mmxsim.bodies.shape_distance import _cache_path
    from mmxsim.gravity.fast import _cache_dir
    from mmxsim.instruments._raycast import _cache_dir as raycast_dir

    for k in ("MMXSIM_CACHE_DIR", "XDG_CACHE_HOME"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    shape = SimpleNamespace(vertices=np.zeros((3, 3)), faces=np.zeros((1, 3), int))
    d = cli._data_cache_dir()
    assert d == Path(_cache_dir()) == Path(raycast_dir()) == Path(_cache_path(shape)).parent
    assert d.name == ("a-cache" if env.get("MMXSIM_CACHE_DIR") else "mmxsim")
