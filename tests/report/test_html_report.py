"""The one-file HTML report."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest

from mmxsim.report import write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_report_is_self_contained(result, tmp_path):
    path = write_report(result, tmp_path / "report.html", interactive=False)
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    for heading in ("Run summary", "Trajectory in the Phobos Hill frame", "Distance and altitude", "Events",
                    "Model and assumptions", "Timings"):
        assert f">{heading}</h2>" in html
    # nothing fetched from the network
    assert "http://" not in html and "https://" not in html
    for attr in re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)""", html):
        assert attr.startswith("data:image/png;base64,") or attr.startswith("#")
    assert "<script" not in html.lower() and "<link" not in html.lower()

    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(images) == 2
    import matplotlib.image as mpimg

    for b64 in images:
        raw = base64.b64decode(b64, validate=True)
        assert raw.startswith(PNG_MAGIC)
        img = mpimg.imread(io.BytesIO(raw), format="png")
        assert img.shape[0] > 300 and img.shape[1] > 600

    for line in result.force_model + result.assumptions:
        assert f"<li>{line}</li>" in html
    assert "eclipse_entry" in html and "max_distance" in html
    assert "propagate" in html and "compile" in html


def test_interactive_report_loads_nothing_from_the_network(result, tmp_path):
    """With the plotly 3D view: scripts are inline (no src), no stylesheet links, every src/href
    attribute is a data URI or an anchor (plotly.js carries URLs in its code but fetches none for
    a 3D scatter/mesh; the headless-browser test in test_browser.py loads the page)."""
    pytest.importorskip("plotly")
    html = write_report(result, tmp_path / "report.html", interactive=True).read_text(encoding="utf-8")
    assert 'id="plot3d"' in html
    assert not re.search(r"<script[^>]*\bsrc\s*=", html, re.I) and "<link" not in html.lower()
    markup = re.sub(r"<script[^>]*>.*?</script>", "", html, flags=re.S | re.I)  # the page, not plotly's code
    assert "Mission at a glance" in markup
    for attr in re.findall(r"""<[a-z]+[^>]*\s(?:src|href)\s*=\s*["']([^"']*)""", markup):
        assert attr.startswith("data:") or attr.startswith("#"), attr


def test_strings_are_escaped(synthetic, tmp_path):
    bad = "<script>alert(1)</script>"
    r = synthetic.make_result(n=30, name=bad)
    r.force_model.append(bad)
    r.assumptions.append('a "quoted" & <b>bold</b> assumption')
    r.events[0].kind = bad
    r.events[0].details = {"note": bad}
    r.timings[bad] = 1.0
    r.metadata["evil"] = bad
    r.termination = bad
    html = write_report(r, tmp_path / "r.html", interactive=False).read_text(encoding="utf-8")
    assert "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<title>mmxsim report: &lt;script&gt;" in html
    assert "a &quot;quoted&quot; &amp; &lt;b&gt;bold&lt;/b&gt; assumption" in html


def test_report_without_events_or_timings(synthetic, tmp_path):
    r = synthetic.make_result(n=2, events=False)
    r.timings, r.force_model, r.assumptions, r.metadata = {}, [], [], {}
    r.distance_phobos_km = np.full(2, np.nan)
    html = write_report(r, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "No integrator events." in html and ">Timings</h2>" in html


def test_events_section_shows_the_merged_list(synthetic, tmp_path):
    """The report's event list is the run's merged list (events.csv): counts by kind, mission events
    (here a section's touchdown, escaped), the integrator's events folded away."""
    from mmxsim.results import Section
    from mmxsim.mission.timeline import MissionEvent, events_csv, run_events

    r = synthetic.make_result()
    t0 = float(r.trajectory.t[0])
    r.sections = [Section("landing", "Landing", events=[MissionEvent(t0 + 60.0, t0 + 120.0, "touchdown",
                                                                     "descent <b>x</b>", "1 & 2")])]
    html = write_report(r, tmp_path / "r.html").read_text(encoding="utf-8")
    ev = html[html.index('id="events"'):]
    n = len(run_events(r))
    assert n == events_csv(run_events(r)).count("\n") - 1
    assert f"({n} events;" in ev and "<td>touchdown</td>" in ev
    assert "descent &lt;b&gt;x&lt;/b&gt;" in ev and "1 &amp; 2" in ev
    assert f"<summary>Integrator events ({len(r.events)})</summary>" in ev
