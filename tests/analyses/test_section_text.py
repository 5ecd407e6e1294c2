"""The visible text of every analysis section reads as words a mission team can use (issue 18):
a headline per section (unique), no raw data keys (snake_case) in titles, headlines, paragraphs,
tables, captions or assumptions, every table row as wide as its header, figure captions in words,
and no reference to the fact sheets, which are not shipped.

The default tests run the cheap analyses on one short run (a few seconds) and check the checker
on planted defects; the slow one checks every section of ``mmxsim run --quick``.
"""

from __future__ import annotations

import re

import pytest

from mmxsim.results import Section, Table

# a data key: lower-case words joined by underscores (``mc_peak_heat_flux_MWm2_max`` has one too)
SNAKE = re.compile(r"(?<![\w./])[A-Za-z0-9]*[a-z0-9]_[A-Za-z0-9_]*[a-z0-9](?:\.[A-Za-z0-9]+)?(?![\w/-])")
# an estimated parameter's internal name (``phobos:gm``, ``srp:cr_area_over_mass``, ``bias:<station>``)
PARAM = re.compile(r"\b[a-z]+:[A-Za-z<]")
# allowed: names of files the run writes beside the report (``surface_map.csv``); the look-behind/
# look-ahead above already skip paths (``docs/sampling.md``) and dotted names (``mmxsim.analyses``)
ALLOWED = re.compile(r"^[\w-]+\.(csv|oem|opm|bsp|tf|tm|json|yaml|czml|ics|md|html|png)$")
UNSHIPPED = ("mmx-facts", "nav-facts", "facts-2", "shared/")


def visible_text(sec: Section) -> list[tuple[str, str]]:
    """(where, text) of every piece of a section a reader sees."""
    out = [("title", sec.title), ("headline", sec.headline)]
    out += [(f"paragraph {i}", p) for i, p in enumerate(sec.paragraphs)]
    for i, t in enumerate(sec.tables):
        out.append((f"table {i} caption", t.caption))
        out += [(f"table {i} header", str(h)) for h in t.header]
        out += [(f"table {i} row {j}", str(c)) for j, r in enumerate(t.rows) for c in r]
    out += [(f"figure {i} caption", c) for i, (c, _png) in enumerate(sec.figures)]
    out += [(f"assumption {i}", a) for i, a in enumerate(sec.assumptions)]
    return out


def problems(sec: Section) -> list[str]:
    """What a reader of the section would trip on (empty: none)."""
    out = []
    if not sec.headline.strip():
        out.append(f"{sec.key}: no headline")
    elif not re.search(r"\d", sec.headline):
        out.append(f"{sec.key}: headline without a number: {sec.headline!r}")
    if "\n" in sec.headline:
        out.append(f"{sec.key}: headline on several lines")
    for where, text in visible_text(sec):
        for m in SNAKE.finditer(text):
            if not ALLOWED.match(m.group(0)):
                out.append(f"{sec.key} {where}: data key {m.group(0)!r} in {text[:120]!r}")
        for m in PARAM.finditer(text):
            out.append(f"{sec.key} {where}: parameter name {text[m.start():m.start() + 30]!r}")
        for bad in UNSHIPPED:
            if bad in text:
                out.append(f"{sec.key} {where}: refers to {bad!r}, which is not shipped: {text[:120]!r}")
    for i, t in enumerate(sec.tables):
        for j, r in enumerate(t.rows):
            if len(r) != len(t.header):
                out.append(f"{sec.key} table {i} row {j}: {len(r)} cells under {len(t.header)} headers")
    for i, (cap, _png) in enumerate(sec.figures):
        if len(re.findall(r"[A-Za-z]{2,}", cap)) < 3:
            out.append(f"{sec.key} figure {i}: caption {cap!r} does not say what is plotted")
    return out


def unique_headlines(sections) -> list[str]:
    seen: dict[str, str] = {}
    out = []
    for s in sections:
        if s.headline in seen:
            out.append(f"{s.key}: same headline as {seen[s.headline]}: {s.headline!r}")
        seen.setdefault(s.headline, s.key)
    return out


def test_checker_finds_planted_defects():
    """Each kind of defect the issue measured is caught: raw key, broken row, caption '0', bare-key
    caption, fact-sheet reference, missing and repeated headlines."""
    good = Section(key="x", title="Capsule entry", headline="Peak heat flux 9.7 MW/m² at 53.7 km",
                   paragraphs=["Entry at 11.6 km/s (files: surface_map.csv, docs/earth_return.md)."],
                   tables=[Table("Nominal entry", ("Quantity", "Value"), [("Peak heat flux (MW/m²), max", "10.0")])],
                   figures=[("Altitude, speed and heat flux against time from entry", b"")],
                   assumptions=["capsule Hayabusa2-like [H2-CAPSULE]"])
    assert problems(good) == []
    planted = [
        Section(key="x", title="t", headline="h 1", tables=[Table("c", ("quantity", "value"),
                                                                  [("mc_peak_heat_flux_MWm2_max", "10")])]),
        Section(key="x", title="t", headline="h 1",
                tables=[Table("c", ("a", "b"), [("Phobos-only", "g", "mean", "5")])]),
        Section(key="x", title="t", headline="h 1", figures=[("0", b"")]),
        Section(key="x", title="t", headline="h 1", figures=[("touchdown", b"")]),
        Section(key="x", title="t", headline="h 1", paragraphs=["sizes unreadable, mmx-facts §4.2"]),
        Section(key="x", title="t", headline="h 1", assumptions=["a priori (nav-facts §1)"]),
        Section(key="x", title="t", headline="", paragraphs=["fine"]),
        Section(key="x", title="t", headline="Verdict: capture", paragraphs=["fine"]),
        Section(key="x", title="t", headline="h 1", paragraphs=["solver status node_limit"]),
        Section(key="x", title="t", headline="h 1", paragraphs=["the angle between its normal and -g_eff"]),
        Section(key="x", title="t", headline="h 1", tables=[Table("c", ("a",), [("phobos:gm",)])]),
    ]
    for sec in planted:
        assert problems(sec), sec
    assert unique_headlines([good, Section(key="y", title="u", headline=good.headline)])
    assert not unique_headlines([good, Section(key="y", title="u", headline="Other 1")])


def test_label_reads_data_keys_as_words():
    """The fallback label of a data key: words, unit in parentheses, statistic after a comma."""
    from mmxsim.analyses import label

    assert label("mc_peak_heat_flux_MWm2_max") == "Monte Carlo peak heat flux (MW/m²), max"
    assert label("optimum.tof_days") == "Optimum: time of flight (days)"
    assert label("t_first_impact_median_s") == "Time first impact (s), median"
    assert label("dose_rate_gy_yr", {"dose_rate_gy_yr": "Dose rate at depth (Gy/yr)"}) == "Dose rate at depth (Gy/yr)"
    for k in ("landing_speed_ms", "footprint_semi_major_km", "p_total_ge_threshold", "mmx_like.c3_km2_s2"):
        assert "_" not in label(k), k


# the cheap analyses (each well under 2 s at these settings) on one short run
CHEAP = {"surface_map": {}, "windows": {"grid": 20}, "budget": {"grid": 20}, "deimos": {"flybys_per_orbit": 2},
         "planetary_protection": {}, "sampling": {"samples": 200}, "touchdown": {},
         "entry": {"samples": 10}, "mirs": {"step_s": 7200}, "megane": {"step_s": 7200},
         "observation": {"step_s": 7200}}


@pytest.fixture(scope="module")
def cheap_sections():
    from mmxsim.mission.runner import run_scenario
    from mmxsim.scenario import parse_scenario

    s = parse_scenario({"name": "section text", "epoch": "2027-09-01T00:00:00", "duration_days": 0.25,
                        "initial_state": {"type": "qso", "radial_semi_axis_km": 50},
                        "force_model": {"phobos": {"model": "point_mass"}, "srp": {"enabled": False}},
                        "analyses": CHEAP})
    return run_scenario(s).sections


def test_cheap_sections_read_as_words(cheap_sections):
    assert {s.key for s in cheap_sections} == set(CHEAP)
    bad = [p for s in cheap_sections for p in problems(s)] + unique_headlines(cheap_sections)
    assert bad == []


@pytest.mark.slow
def test_quick_run_sections_read_as_words():
    """Every section of ``mmxsim run --quick`` (about a minute)."""
    from mmxsim.app import resolve_scenario
    from mmxsim.mission.runner import run_scenario

    s, base = resolve_scenario(None, quick=True)
    sections = run_scenario(s, base_dir=base).sections
    assert len(sections) >= 20
    bad = [p for s in sections for p in problems(s)] + unique_headlines(sections)
    assert bad == []
