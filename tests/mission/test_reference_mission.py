"""`mmxsim run` with no file runs the built-in reference mission end to end: every capability's
section in the report, the whole timeline (launch 2026 to capsule landing 2031) with touchdowns
in the merged event list. The default suite runs the --quick look; the full run is `slow`."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from mmxsim.cli import app
from mmxsim.analyses import analyses_model
from mmxsim.scenario import builtin_scenario


def _check(out, quick: bool):
    d = json.loads((out / "summary.json").read_text())
    ref = builtin_scenario("reference_mission")
    assert d["scenario"] == ref.name + (" (quick)" if quick else "")
    # every capability of the scenario model is in the reference mission, and ran
    assert set(d["analyses"]) == set(analyses_model().model_fields)
    index = (out / "report" / "index.html").read_text(encoding="utf-8")
    for key in analyses_model().model_fields:
        assert f'href="{key}.html"' in index, key
        assert f'id="{key}"' in (out / "report" / f"{key}.html").read_text(encoding="utf-8"), key
    rows = list(csv.DictReader((out / "events.csv").open(encoding="utf-8")))
    kinds = {r["kind"] for r in rows}
    assert {"phase", "touchdown", "pass", "track", "science", "sampling"} <= kinds, kinds
    phases = [r["name"] for r in rows if r["kind"] == "phase"]
    assert phases[0] == "launch" and phases[-1] == "capsule entry and landing" and len(phases) == 12
    assert (out / "events.ics").read_text().count("BEGIN:VEVENT") == len(rows)
    assert (out / "trajectory.oem").is_file()
    return d


def test_mmxsim_run_quick_runs_the_reference_mission(tmp_path):
    r = CliRunner().invoke(app, ["run", "--quick", "-q", "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    d = _check(tmp_path / "o", quick=True)
    assert d["span"]["duration_days"] == pytest.approx(3.0)


def test_builtin_names_run_without_a_file(tmp_path, monkeypatch):
    """`mmxsim run reference_qso` runs the packaged spine scenario even where no such file exists."""
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, ["run", "reference_qso", "--quick", "-q", "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    d = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert d["scenario"] == "reference-qso (quick)" and not d.get("analyses")
    r = CliRunner().invoke(app, ["run", "reference_missions", "-q", "--out", str(tmp_path / "p")])
    assert r.exit_code == 2


@pytest.mark.slow
def test_mmxsim_run_full_reference_mission(tmp_path):
    r = CliRunner().invoke(app, ["run", "-q", "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    d = _check(tmp_path / "o", quick=False)
    assert d["span"]["duration_days"] == pytest.approx(30.0)
    assert d["analyses"]["entry"]["footprint_probability"] == 0.99
