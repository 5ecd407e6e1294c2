"""The report in a real browser: headless Chromium (Debian package ``chromium``) loads it without
console errors, the interactive plotly view renders, and a screenshot shows the page drawn.
Skipped where no Chromium is installed (``apt install chromium``)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile

import numpy as np
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (apt install chromium)")

#: Messages of the headless browser itself (software WebGL, canvas hints), not of the page.
BROWSER_NOISE = re.compile(r"GL Driver Message|software WebGL|willReadFrequently|swiftshader", re.I)


def _chromium(url: str, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    # a fresh profile, and none of Chromium's own network traffic (the machine may have no network)
    with tempfile.TemporaryDirectory() as profile:
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=8000",
               *args, url]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def _console(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ":CONSOLE" in ln and not BROWSER_NOISE.search(ln)]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """A short run with sections, its report written with the interactive 3D view; the scenario
    name carries markup that must stay text."""
    pytest.importorskip("plotly")
    from mmxsim.mission.runner import run_scenario
    from mmxsim.scenario import parse_scenario
    from mmxsim.report import write_report

    s = parse_scenario({"name": "browser <script>console.error('injected')</script>",
                        "epoch": "2027-09-01T00:00:00", "duration_days": 0.5,
                        "initial_state": {"type": "qso", "radial_semi_axis_km": 50},
                        "force_model": {"phobos": {"model": "point_mass"}, "srp": {"enabled": False}},
                        "analyses": {"sampling": {"samples": 500}, "planetary_protection": {},
                                     "origin": {"trials": 100, "errors_pct": [10, 30]}}})
    res = run_scenario(s)
    path = write_report(res, tmp_path_factory.mktemp("report") / "report.html")
    return path, res


def test_loads_without_console_errors_and_renders_sections(report):
    path, res = report
    r = _chromium(path.as_uri(), "--dump-dom")
    assert r.returncode == 0, r.stderr[-2000:]
    assert _console(r.stderr) == [], _console(r.stderr)
    dom = r.stdout
    for key in ("contents", "glance", "summary", "hill", "distance", "events", "model", "timings",
                *(sec.key for sec in res.sections)):
        assert f'id="{key}"' in dom, key
    assert 'class="main-svg"' in dom  # plotly ran and drew the 3D view
    assert "&lt;script&gt;console.error('injected')" in dom  # the scenario's text was not executed


def test_detects_a_page_error(tmp_path):
    """So that the console check above can fail."""
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><script>undefinedFunction()</script></body></html>")
    assert any("Uncaught ReferenceError" in ln for ln in _console(_chromium(bad.as_uri(), "--dump-dom").stderr))


def test_screenshot_shows_the_page(report, tmp_path):
    from matplotlib.image import imread

    path, _ = report
    shot = tmp_path / "shot.png"
    r = _chromium(path.as_uri(), f"--screenshot={shot}", "--window-size=1200,2400")
    assert r.returncode == 0 and shot.is_file(), r.stderr[-2000:]
    img = imread(str(shot))[..., :3]
    dark = img.mean(axis=2) < 0.5
    assert img.shape[0] == 2400 and img.shape[1] == 1200
    # text is drawn all down the page (title, contents, tables), not a blank or error page
    rows = dark.any(axis=1)
    assert rows[:120].any() and rows[1200:2400].any()
    assert 0.01 < dark.mean() < 0.5
    # the warning box of the glance page or a table's header shading: non-grey colours exist
    assert (np.ptp(img, axis=2) > 0.05).mean() > 1e-4
