"""An analysis is one file: the worked example of docs/adding_an_analysis.md, written as ONE new
module in a temporary folder and registered through the ``mmxsim.analyses`` entry-point group
(a ``*.dist-info/entry_points.txt`` beside it), shows up in the scenario schema, ``mmxsim
validate``, ``--quick``, ``--phase``, summary.json, the report (report/), the partners table and as a
command, with no other file edited. Each check runs mmxsim in a fresh interpreter with the folder
on its path, as an installed plugin would be seen."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SRC = Path(__import__("mmxsim").__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def plugin(tmp_path_factory):
    """The folder holding the plugin module and its dist-info, and an environment that sees it."""
    site = tmp_path_factory.mktemp("site")
    page = (ROOT / "docs" / "adding_an_analysis.md").read_text(encoding="utf-8")
    module = re.findall(r"^```python\n(.*?)^```", page, flags=re.S | re.M)[0]
    assert "ANALYSIS = Analysis(" in module
    (site / "mmx_close_approach.py").write_text(module, encoding="utf-8")
    dist = site / "mmx_close_approach-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mmx-close-approach\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[mmxsim.analyses]\nclose_approach = mmx_close_approach\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), str(site)])}
    return site, env


def _mmxsim(env, cwd, *args, code: int = 0) -> str:
    r = subprocess.run([sys.executable, "-m", "mmxsim.cli", *args], env=env, cwd=cwd, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == code, r.stdout + r.stderr
    return r.stdout + r.stderr


SCENARIO = {
    "name": "plugin", "epoch": "2027-09-01T00:00:00", "duration_days": 0.05,
    "initial_state": {"type": "qso", "radial_semi_axis_km": 50},
    "force_model": {"phobos": {"model": "point_mass"}, "srp": {"enabled": False}},
    "analyses": {"close_approach": {"threshold_km": 60}, "planetary_protection": {}},
}


def test_the_schema_and_validate_know_the_plugin(plugin, tmp_path):
    site, env = plugin
    code = ("from mmxsim.scenario import ScenarioError, parse_scenario\n"
            "from mmxsim.analyses import registry\n"
            f"d = {SCENARIO!r}\n"
            "s = parse_scenario(d)\n"
            "print('order', list(registry())[-1], s.analyses.close_approach.threshold_km)\n"
            "d['analyses']['close_approach'] = {'threshold_km': -1, 'colour': 'red'}\n"
            "try:\n    parse_scenario(d, source='p.yaml')\nexcept ScenarioError as e:\n    print(e)\n")
    r = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert "order close_approach 60.0" in r.stdout
    assert "analyses.close_approach.threshold_km: got -1; allowed: > 0 (warn below this distance, km)" in r.stdout
    assert "analyses.close_approach.colour: unknown key (value 'red'); allowed keys: threshold_km, every" in r.stdout
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(SCENARIO))
    assert "ok" in _mmxsim(env, tmp_path, "validate", str(f))
    f.write_text(yaml.safe_dump({**SCENARIO, "analyses": {"close_approach": {"every": 0}}}))
    out = _mmxsim(env, tmp_path, "validate", str(f), code=2)
    assert "analyses.close_approach.every: got 0" in out and "[line" in out
    # without the plugin on the path the block is unknown (nothing else was edited)
    f.write_text(yaml.safe_dump(SCENARIO))
    bare = {**env, "PYTHONPATH": str(SRC)}
    assert "analyses.close_approach: unknown key" in _mmxsim(bare, tmp_path, "validate", str(f), code=2)


def test_quick_phase_summary_report_partners_and_command(plugin, tmp_path):
    site, env = plugin
    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump(SCENARIO))
    _mmxsim(env, tmp_path, "run", str(f), "--quick", "--phase", "QSO campaign", "-q", "--out", str(tmp_path / "o"))
    d = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert list(d["analyses"]) == ["close_approach"]  # --phase dropped planetary_protection
    ca = d["analyses"]["close_approach"]
    assert ca["every"] == 10 and ca["threshold_km"] == 60  # --quick applied the plugin's quick settings
    assert 0 < ca["min_km"] < 60
    html = (tmp_path / "o" / "report" / "close_approach.html").read_text(encoding="utf-8")
    assert 'id="close_approach"' in html and "Close approaches to Phobos (example plugin)" in html
    index = (tmp_path / "o" / "report" / "index.html").read_text(encoding="utf-8")
    assert "km from Phobos&#39; centre, below 60 km." in index  # the plugin's warning, on the index
    # the index's timeline ("simulated here") and key numbers link the plugin's page, with its partner
    assert '<a href="close_approach.html">Close approaches to Phobos (example plugin)</a>' in index
    assert "close-approach monitoring (example plugin)" in index
    out = _mmxsim(env, tmp_path, "partners")
    assert "close-approach monitoring" in out and "mmx_close_approach" in out
    assert "close_approach: {threshold_km: 45}" in _mmxsim(env, tmp_path, "close-approach", "--threshold-km", "45")
    out = _mmxsim(env, tmp_path, "run", str(f), "--phase", "landing and sampling", "-q", "--out",
                  str(tmp_path / "x"), code=2)
    assert "close_approach" in out and "planetary_protection" in out
