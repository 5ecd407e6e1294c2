"""Fixtures: synthetic run results (see tests/exports/synthetic_run.py), a synthetic result with
sections (no propagation) and one short real run with sections, shared by the module's tests."""

from __future__ import annotations

import importlib.util
import io
import sys
from pathlib import Path

import pytest


def _load(name="mmxsim_tests_synthetic_run", path=None):
    if name not in sys.modules:
        path = path or Path(__file__).resolve().parents[1] / "exports" / "synthetic_run.py"
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


@pytest.fixture
def synthetic():
    """The synthetic-result module: make_result(), kepler_states(), T0."""
    return _load()


@pytest.fixture(scope="session")
def pagetext():
    """tests/report/pagetext.py: read(html) -> visible text, tags, links, ids; raw_keys(html)."""
    return _load("mmxsim_tests_report_pagetext", Path(__file__).resolve().parent / "pagetext.py")


@pytest.fixture
def result(synthetic):
    return synthetic.make_result()


def _png(colour=(40, 90, 160), size=(320, 200)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


def with_sections():
    """The synthetic result with two sections written as an analysis would: a headline, paragraphs
    citing a key of the bibliography ([K22]) and one it does not know ([NOT-A-SOURCE]), units in
    brackets ([km], [K]), a table, captioned figures (one caption a bare digit), assumptions; the
    second section's key collides with the report's own index page and has no headline."""
    from mmxsim.results import Section, Table

    r = _load().make_result()
    r.sections = [
        Section("qso_family", "QSO family (proximity operations design)",
                headline="Planar QSOs from 20 to 100 km: all stable, period 7.1 to 7.6 h",
                paragraphs=["Periodic planar QSOs of Phobos [K22], found by continuation in size. A second "
                            "sentence with **bold** words, e.g. this one.",
                            "Not in the bibliography: [NOT-A-SOURCE]; a unit is no citation: T [K] and d [km]."],
                tables=[Table("Planar QSO family", ("Size [km]", "Period [h]", "Stable"),
                              [(100.0, 7.5829, "yes"), (50.0, 7.1223, "yes")])],
                figures=[("Planar QSO family in the Phobos Hill frame", _png()), ("0", _png((200, 60, 60)))],
                assumptions=["Circular Hill problem of Mars and Phobos [BAR-SURREY]."]),
        Section("index", "Landing dispersion",
                paragraphs=["Descent from the 30 km QSO to the site (10°, 30°): departure burn 7.21 m/s. Then "
                            "a braking burn at 10 m altitude. Many more words that the index does not show."],
                figures=[("Touchdown points on a map of Phobos", _png((60, 160, 60)))]),
    ]
    return r


@pytest.fixture(scope="session")
def sectioned():
    """:func:`with_sections`: a new synthetic result with sections on each call."""
    return with_sections


@pytest.fixture(scope="session")
def short_run():
    """A real 0.5-day run with three analyses (~10 s); the scenario name carries markup that must stay
    text. Shared by the browser tests and the text checks of the real sections."""
    from mmxsim.mission.runner import run_scenario
    from mmxsim.scenario import parse_scenario

    s = parse_scenario({"name": "browser <script>console.error('injected')</script>",
                        "epoch": "2027-09-01T00:00:00", "duration_days": 0.5,
                        "initial_state": {"type": "qso", "radial_semi_axis_km": 50},
                        "force_model": {"phobos": {"model": "point_mass"}, "srp": {"enabled": False}},
                        "analyses": {"sampling": {"samples": 500}, "planetary_protection": {},
                                     "origin": {"trials": 100, "errors_pct": [10, 30]}}})
    return run_scenario(s)


@pytest.fixture(scope="session")
def short_report(short_run, tmp_path_factory):
    """The short run's report folder, with the interactive 3D view when plotly is installed."""
    from mmxsim.report import write_report

    return write_report(short_run, tmp_path_factory.mktemp("short") / "report"), short_run
