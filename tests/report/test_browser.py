"""The report in a real browser: headless Chromium (Debian package ``chromium``) loads the index, a
section page and the trajectory page (with the plotly 3D view) without console errors, and a
screenshot of the index page matches the stored picture ``tests/report/data/index.png``.

The screenshot comparison: the index of a synthetic result with sections (``conftest.with_sections``;
no timings or creation dates on the index, so the page is the same on every run) drawn by
Chromium in a fixed 1200 x 1200 window (down to the landing phase of the timeline), compared in grey levels (0..255) with
:data:`MEAN_TOLERANCE` (mean absolute difference) and :data:`PIXEL_TOLERANCE` (fraction of pixels
that differ by more than 64 levels, 2e-4: 288 pixels): two drawings of the page on one machine are
identical; anti-aliasing or a colour shade moves grey levels a little; a changed line of text
(~870 pixels), a table or the layout moves more. Where the page is changed on purpose (or Chromium's fonts
differ on a new machine), regenerate the picture and look at it before committing it::

    MMXSIM_REGEN_SCREENSHOTS=1 PYTHONPATH=src python -m pytest tests/report/test_browser.py -k screenshot

Skipped where no Chromium is installed (``apt install chromium``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (apt install chromium)")

#: Messages of the headless browser itself (software WebGL, canvas hints), not of the page.
BROWSER_NOISE = re.compile(r"GL Driver Message|software WebGL|willReadFrequently|swiftshader", re.I)
STORED = Path(__file__).parent / "data" / "index.png"
WINDOW = (1200, 1200)
#: Screenshot tolerances: mean absolute grey-level difference, and fraction of pixels off by > 64 levels.
MEAN_TOLERANCE = 0.5
PIXEL_TOLERANCE = 2e-4


def _chromium(url: str, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
    # a fresh profile, and none of Chromium's own network traffic (the machine may have no network)
    with tempfile.TemporaryDirectory() as profile:
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--hide-scrollbars", "--force-device-scale-factor=1", "--font-render-hinting=none",
               f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=8000",
               *args, url]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def _console(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ":CONSOLE" in ln and not BROWSER_NOISE.search(ln)]


@pytest.fixture(scope="module")
def report(short_report):
    pytest.importorskip("plotly")
    return short_report


def test_pages_load_without_console_errors(report):
    index, res = report
    sec = res.sections[0]
    for page, must in (("index.html", ('id="glance"', 'id="key-numbers"', f'href="{sec.key}.html"')),
                       (f"{sec.key}.html", (f'id="{sec.key}"', "<figcaption>")),
                       ("trajectory.html", ('id="plot3d"', 'class="main-svg"'))):  # main-svg: plotly drew
        r = _chromium((index.parent / page).as_uri(), "--dump-dom")
        assert r.returncode == 0, r.stderr[-2000:]
        assert _console(r.stderr) == [], (page, _console(r.stderr))
        for m in must:
            assert m in r.stdout, (page, m)
        assert "&lt;script&gt;console.error('injected')" in r.stdout  # the scenario's text was not executed


def test_detects_a_page_error(tmp_path):
    """So that the console check above can fail."""
    bad = tmp_path / "bad.html"
    bad.write_text("<html><body><script>undefinedFunction()</script></body></html>")
    assert any("Uncaught ReferenceError" in ln for ln in _console(_chromium(bad.as_uri(), "--dump-dom").stderr))


def _shot(url: str, path: Path) -> np.ndarray:
    """Chromium's screenshot of ``url`` saved to ``path`` (colour), returned in grey levels."""
    from PIL import Image

    r = _chromium(url, f"--screenshot={path}", f"--window-size={WINDOW[0]},{WINDOW[1]}")
    assert r.returncode == 0 and path.is_file(), r.stderr[-2000:]
    return np.asarray(Image.open(path).convert("L"), dtype=float)


def difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(mean absolute grey-level difference, fraction of pixels off by more than 64 levels)."""
    if a.shape != b.shape:
        return 255.0, 1.0
    d = np.abs(a - b)
    return float(d.mean()), float((d > 64).mean())


@pytest.fixture(scope="module")
def index_shot(sectioned, tmp_path_factory):
    from mmxsim.report import write_report

    folder = tmp_path_factory.mktemp("shot")
    index = write_report(sectioned(), folder / "report", interactive=False)
    return _shot(index.as_uri(), folder / "index.png"), index


def test_index_screenshot_matches_the_stored_picture(index_shot):
    from PIL import Image

    img, index = index_shot
    assert img.shape == (WINDOW[1], WINDOW[0])
    if os.environ.get("MMXSIM_REGEN_SCREENSHOTS"):
        STORED.parent.mkdir(parents=True, exist_ok=True)
        Image.open(index.parent.parent / "index.png").convert("RGB").save(STORED, optimize=True)
        pytest.skip(f"picture regenerated: {STORED}")
    ref = np.asarray(Image.open(STORED).convert("L"), dtype=float)
    mean, frac = difference(img, ref)
    assert mean <= MEAN_TOLERANCE and frac <= PIXEL_TOLERANCE, (mean, frac)
    # the page is drawn, not blank: the navigation bar is dark, text all down the page
    assert img[:30].mean() < 120 and (img[200:] < 128).any(axis=1).mean() > 0.3


def test_the_screenshot_comparison_can_fail(index_shot, tmp_path):
    """Another page of the same report (same navigation bar, same style) is outside the tolerance,
    and so is the index with one line of its run summary changed."""
    img, index = index_shot
    other = _shot((index.parent / "model.html").as_uri(), tmp_path / "model.png")
    mean, frac = difference(other, img)
    assert mean > MEAN_TOLERANCE or frac > PIXEL_TOLERANCE
    html = index.read_text(encoding="utf-8")
    changed = tmp_path / "changed.html"
    changed.write_text(html.replace("<td>span completed</td>", "<td>stopped: impact on Phobos at 12.3 km</td>")
                       .replace('href="', f'href="{index.parent.as_uri()}/'), encoding="utf-8")
    mean, frac = difference(_shot(changed.as_uri(), tmp_path / "changed.png"), img)
    assert 0 < frac and (mean > MEAN_TOLERANCE or frac > PIXEL_TOLERANCE), (mean, frac)
