"""The report folder (mmxsim.report): pages, navigation, figures as files, captions, key numbers,
citations resolved on the bibliography page, human text, escaping. Synthetic results (no
propagation) but for the checks of real sections, which share one short run (conftest.short_run)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from mmxsim.report import render_report, write_report
from mmxsim.report.html import RESERVED_PAGES, first_sentence

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
OWN_PAGES = tuple(p + ".html" for p in RESERVED_PAGES)


@pytest.fixture(scope="module")
def folder(tmp_path_factory, sectioned):
    res = sectioned()
    index = write_report(res, tmp_path_factory.mktemp("rep") / "report", interactive=False)
    return index, res


def _pages(index: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(index.parent.glob("*.html"))}


def test_the_folder_has_every_page_and_figure_file(folder, pagetext):
    index, res = folder
    assert index.name == "index.html" and index.is_file()
    pages = _pages(index)
    # the report's own pages, one per section; the section keyed "index" does not overwrite the index
    assert set(pages) == {*OWN_PAGES, "qso_family.html", "section-index.html"}
    assert 'id="qso_family"' in pages["qso_family.html"] and 'id="index"' in pages["section-index.html"]
    figs = sorted(p.name for p in (index.parent / "figures").iterdir())
    assert figs == ["qso_family-1.png", "qso_family-2.png", "section-index-1.png", "trajectory-distance.png",
                    "trajectory-hill.png"]
    for f in figs:
        assert (index.parent / "figures" / f).read_bytes().startswith(PNG_MAGIC)
    assert not (index.parent / "assets").exists()  # no 3D view asked: no plotly.js
    for name, html in pages.items():
        assert html.startswith("<!DOCTYPE html>"), name
        assert not re.search(r"""(?:src|href)=["']data:""", html) and "<link" not in html.lower(), name
        for link in pagetext.read(html).links:  # every link is a file of the folder (or a source's DOI/URL)
            if link.startswith("https://"):
                assert name == "bibliography.html", (name, link)
                continue
            target = link.split("#")[0]
            assert (index.parent / target).is_file(), (name, link)
            if "#" in link and target.endswith(".html"):
                assert f'id="{link.split("#", 1)[1]}"' in pages[target], (name, link)


def test_every_page_has_the_same_navigation(folder, pagetext):
    index, res = folder
    pages = _pages(index)
    navs = set()
    for name, html in pages.items():
        bar = html[html.index('<header class="bar"'):html.index("<main>")]
        links = pagetext.read(bar).links
        assert set(links) == set(pages), name  # every page reachable from every page
        navs.add(re.sub(r' class="here"', "", bar))
        assert f'href="{name}" class="here"' in bar, name  # the current page is marked
    assert len(navs) == 1


def test_index_shows_one_key_number_per_section_with_partners(folder, pagetext):
    index, res = folder
    html = index.read_text(encoding="utf-8")
    table = html[html.index('id="key-numbers"'):html.index('id="timeline"')]
    text = pagetext.read(table).text.replace(" :", ":")
    assert "Planar QSOs from 20 to 100 km: all stable, period 7.1 to 7.6 h" in text  # the headline
    # no headline: the first sentence of the first paragraph, never the paragraph
    assert "departure burn 7.21 m/s." in text and "braking burn" not in text
    assert text.count("Periodic planar QSOs") == 0  # a section with a headline shows only it
    assert table.count('href="qso_family.html"') == 1 and table.count('href="section-index.html"') == 1
    assert "JAXA: spacecraft, mission design" in text  # qso_family's partners (mmxsim.partners)
    assert "CNES: proximity-operations" in text
    for label in ("Run summary", "Mission timeline", "Key numbers"):
        assert f">{label}</h2>" in html
    assert "Closest approach to Phobos' centre" in pagetext.read(html).text


def test_first_sentence():
    assert first_sentence("A b c, e.g. dd. Second one.") == "A b c, e.g. dd."
    assert first_sentence("After J. Smith the rest. More.") == "After J. Smith the rest."
    assert first_sentence("Descent at (10°, 30°): 7.21 m/s. Then more.") == "Descent at (10°, 30°): 7.21 m/s."
    assert first_sentence("no end") == "no end"
    assert len(first_sentence("word " * 200)) <= 300


def test_figures_are_captioned_in_words(folder, pagetext):
    index, res = folder
    html = (index.parent / "qso_family.html").read_text(encoding="utf-8")
    figs = re.findall(r'<figure><img src="([^"]+)" alt="([^"]*)"><figcaption>(.*?)</figcaption></figure>', html)
    assert figs == [("figures/qso_family-1.png", "Planar QSO family in the Phobos Hill frame",
                     "Planar QSO family in the Phobos Hill frame"),
                    # a caption that is no words ("0") becomes one
                    ("figures/qso_family-2.png", "Figure 2 of QSO family (proximity operations design)",
                     "Figure 2 of QSO family (proximity operations design)")]
    traj = (index.parent / "trajectory.html").read_text(encoding="utf-8")
    alts = re.findall(r'<img src="[^"]+" alt="([^"]+)">', traj)
    assert len(alts) == 2 and all(len(a.split()) > 15 for a in alts)


def test_citations_link_to_the_bibliography(folder, pagetext):
    from mmxsim.bibliography import reference

    index, res = folder
    pages = _pages(index)
    bib = pages["bibliography.html"]
    sec = pages["qso_family.html"]
    assert '<a class="cite" href="bibliography.html#ref-K22">[K22]</a>' in sec
    assert ('<a class="cite unresolved" href="bibliography.html#ref-NOT-A-SOURCE" title="not in the bibliography">'
            "[NOT-A-SOURCE]</a>") in sec
    assert "T [K] and d [km]" in pagetext.read(sec).text and "ref-K\"" not in sec  # units stay text
    # resolved: authors, year, title, link; the unknown key listed visibly, not dropped
    k22 = reference("K22")
    entry = bib[bib.index('id="ref-K22"'):]
    entry = entry[:entry.index("</dd>")]
    assert k22.title in entry and str(k22.year) in entry and f'href="{k22.link}"' in entry
    unresolved = bib[bib.index('id="unresolved"'):]
    assert 'id="ref-NOT-A-SOURCE"' in unresolved and "[NOT-A-SOURCE]" in pagetext.read(unresolved).text
    # every key cited on any page is on the bibliography page; no key there that no page cites
    from mmxsim.bibliography import cited_keys

    cited = {k for name, html in pages.items() if name != "bibliography.html"
             for k in re.findall(r'href="bibliography.html#ref-([^"]+)"', html)}
    assert {"K22", "NOT-A-SOURCE", "BAR-SURREY"} <= cited
    assert cited == set(re.findall(r'id="ref-([^"]+)"', bib))
    assert set(cited_keys(pagetext.read(bib).text)) == cited


def test_raw_key_names_are_found_in_visible_text_only(pagetext):
    """The detector of the test below: a planted key in a paragraph is found; the same in <code>,
    <pre>, a file name or words with hyphens is not."""
    from mmxsim.report.html import _env  # noqa: F401 - the templates load

    page = ("<html><body><p>peak mc_peak_heat_flux here</p><code>in_code</code><pre>in_pre x_y</pre>"
            "<p>mars_moons_integrated.bsp, close-approach, Phobos' orbit, e.g. J2..J4, https://x.org/a/article_733</p>"
            "<img src='a.png' alt='alt_key'></body></html>")
    assert pagetext.raw_keys(page) == ["alt_key", "mc_peak_heat_flux"]


def _all_raw_keys(pages, pagetext):
    return {name: pagetext.raw_keys(html) for name, html in pages.items() if pagetext.raw_keys(html)}


def test_no_raw_key_names_in_the_visible_text(folder, pagetext):
    index, res = folder
    assert _all_raw_keys(_pages(index), pagetext) == {}
    # planted: a snake_case name in a section's paragraph is caught
    res.sections[1].paragraphs.append("The value of mc_peak_heat_flux_MWm2_max.")
    try:
        files = render_report(res, interactive=False)
    finally:
        res.sections[1].paragraphs.pop()
    pages = {k: v.decode() for k, v in files.items() if k.endswith(".html")}
    assert _all_raw_keys(pages, pagetext) == {"section-index.html": ["mc_peak_heat_flux_MWm2_max"]}


def test_the_real_sections_read_as_words(short_report, pagetext):
    """A real run's pages (three analyses): no raw key names in the visible text."""
    index, res = short_report
    pages = _pages(index)
    assert set(pages) >= {*OWN_PAGES, *(f"{s.key}.html" for s in res.sections)}
    assert _all_raw_keys(pages, pagetext) == {}


def test_every_citation_key_of_a_real_report_resolves(short_report):
    from mmxsim.bibliography import bibliography

    index, res = short_report
    pages = _pages(index)
    assert len(re.findall(r'class="cite"', "".join(pages.values()))) >= 10  # the timeline's sources at least
    unresolved = re.findall(r'id="ref-([^"]+)" class="unresolved"', pages["bibliography.html"])
    assert unresolved == [] and set(re.findall(r'id="ref-([^"]+)"', pages["bibliography.html"])) <= set(bibliography())


def test_events_page_and_the_distance_plot_rows(synthetic, tmp_path, pagetext):
    """The events page is the run's merged list (events.csv): counts by kind, mission events (here a
    section's touchdown, escaped), the integrator's events folded away with human kinds; the
    distance plot draws one row per kind, not one line per event."""
    from mmxsim.mission.timeline import MissionEvent, events_csv, run_events
    from mmxsim.report.figures import event_rows
    from mmxsim.results import Section

    r = synthetic.make_result()
    t0 = float(r.trajectory.t[0])
    evs = [MissionEvent(t0 + 60.0 * i, t0 + 60.0 * i + 30.0, "pass", f"pass {i}", "") for i in range(40)]
    r.sections = [Section("landing", "Landing", events=[MissionEvent(t0 + 60.0, t0 + 120.0, "touchdown",
                                                                     "descent <b>x</b>", "1 & 2"), *evs])]
    index = write_report(r, tmp_path / "report", interactive=False)
    ev = (index.parent / "events.html").read_text(encoding="utf-8")
    n = len(run_events(r))
    assert n == events_csv(run_events(r)).count("\n") - 1
    assert f"({n} events;" in ev and "<td>touchdown</td>" in ev
    assert "descent &lt;b&gt;x&lt;/b&gt;" in ev and "1 &amp; 2" in ev
    assert f"<summary>Integrator events ({len(r.events)})</summary>" in ev
    assert "<td>eclipse entry</td>" in ev and "<td>max distance PHOBOS</td>" in ev
    assert "eclipse_entry" not in pagetext.read(ev).text
    rows = event_rows(r)
    kinds = [k for k, a, b in rows]
    assert len(kinds) == len(set(kinds)) and {"pass", "touchdown", "eclipse", "max distance"} <= set(kinds)
    passes = next(a for k, a, b in rows if k == "pass")
    assert passes.size == 40


def test_3d_view_is_framed_on_the_trajectory(synthetic):
    pytest.importorskip("plotly")
    from mmxsim.bodies.shapes import phobos_shape
    from mmxsim.report.figures import view3d

    r = synthetic.make_result()
    r.phobos_fixed.states[:, 0] += 300.0  # far off to one side: the view must follow it
    fig = json.loads(view3d(r))
    scene = fig["layout"]["scene"]
    pts = np.vstack([r.phobos_fixed.states[:, :3], phobos_shape("thomas3k").vertices])
    for i, ax in enumerate("xyz"):
        lo, hi = scene[f"{ax}axis"]["range"]
        assert lo < pts[:, i].min() and hi > pts[:, i].max(), ax
        assert hi - lo < 1.3 * np.ptp(pts[:, i]) + 2.0, ax  # framed, not a loose default box
    assert scene["aspectmode"] == "manual" and scene["aspectratio"]["x"] == pytest.approx(1.0)


def test_interactive_view_loads_plotly_once_from_the_folder(result, tmp_path):
    pytest.importorskip("plotly")
    index = write_report(result, tmp_path / "report", interactive=True)
    assets = sorted(p.name for p in (index.parent / "assets").iterdir())
    assert assets == ["plotly.min.js"] and (index.parent / "assets" / "plotly.min.js").stat().st_size > 1e6
    traj = (index.parent / "trajectory.html").read_text(encoding="utf-8")
    assert traj.count('<script src="assets/plotly.min.js"></script>') == 1 and 'id="plot3d"' in traj
    for p in index.parent.glob("*.html"):
        html = p.read_text(encoding="utf-8")
        assert re.findall(r"<script[^>]*\bsrc=\"([^\"]*)", html) in ([], ["assets/plotly.min.js"])
        assert "https://cdn" not in html and "http://" not in html
    data = traj[traj.index('id="plot3d-data">') + 17:]
    data = data[:data.index("</script>")]
    assert "<" not in data and json.loads(data)["data"][1]["name"] == "MMX"


def test_timings_and_summary_have_human_labels(result, tmp_path, pagetext):
    r = result
    r.timings = {"setup_s": 3.2, "compile_s": 0.07, "propagate_s": 0.11, "integrator_steps": 298,
                 "my_new_step_s": 1.0}
    index = write_report(r, tmp_path / "report", interactive=False)
    text = pagetext.read((index.parent / "timings.html").read_text(encoding="utf-8")).text
    for label in ("Propagation 0.110 s", "Compilation of the integrator 0.070 s", "Integrator steps 298 steps",
                  "My new step 1.000 s"):
        assert label in text, label
    assert "propagate" not in text and "compile_s" not in text
    # the index (the picture of the screenshot test) carries no wall-clock numbers
    assert "0.110" not in index.read_text(encoding="utf-8")


def test_report_without_events_timings_or_sections(synthetic, tmp_path):
    r = synthetic.make_result(n=2, events=False)
    r.timings, r.force_model, r.assumptions, r.metadata = {}, [], [], {}
    r.distance_phobos_km = np.full(2, np.nan)
    index = write_report(r, tmp_path / "report")
    pages = _pages(index)
    assert set(pages) == set(OWN_PAGES)
    assert "No integrator events." in pages["events.html"] and "Not recorded." in pages["timings.html"]
    assert "no analysis sections" in pages["index.html"] and 'id="key-numbers"' in pages["index.html"]


def test_every_text_is_escaped(synthetic, tmp_path, pagetext):
    """Markup in any text of the result (scenario name, force model, assumptions, events, timings,
    metadata, and every text of a section: title, headline, paragraphs, table caption/header/cells,
    figure caption, assumptions) comes out as text: the parser finds only the report's tags and
    reads every hostile string back verbatim."""
    from mmxsim.results import Section, Table

    bad = ['<script>alert(1)</script>', '<img src=x onerror=alert(2)>', '"quoted" & <b>bold</b>']
    r = synthetic.make_result(n=30, name=bad[0])
    r.force_model.append(bad[0])
    r.assumptions.append(bad[2])
    r.events[0].kind = bad[0]
    r.events[0].details = {"note": bad[1]}
    r.timings[bad[0]] = 1.0
    r.metadata["evil"] = bad[1]
    r.termination = bad[1]
    png = PNG_MAGIC + b"not drawn"
    r.sections = [Section(bad[0], bad[0], headline=bad[1], paragraphs=[bad[1], "a **b** " + bad[0]],
                          tables=[Table(bad[2], (bad[0], "h"), [(bad[1], 1.5), (bad[2], bad[0])])],
                          figures=[(bad[2], png)], assumptions=[bad[0]])]
    index = write_report(r, tmp_path / "report", interactive=False)
    allowed = {"html", "head", "meta", "title", "style", "body", "header", "nav", "main", "footer", "span", "a",
               "h1", "h2", "h3", "p", "div", "ul", "li", "table", "tr", "th", "td", "strong", "em", "br", "figure",
               "img", "figcaption", "details", "summary", "code", "pre", "dl", "dt", "dd"}
    seen = ""
    for p in index.parent.glob("*.html"):
        page = pagetext.read(p.read_text(encoding="utf-8"))
        assert set(page.tags) <= allowed, (p.name, set(page.tags) - allowed)
        assert "script" not in page.tags and "b" not in page.tags
        seen += "".join(page.chunks)
    for s in bad:
        assert s in seen
    sec = next(p for p in index.parent.glob("*.html") if p.name.startswith("script"))
    assert "a <strong>b</strong> &lt;script&gt;" in sec.read_text(encoding="utf-8")
    assert "<title>Mission at a glance: &lt;script&gt;" in index.read_text(encoding="utf-8")


def test_authors_line():
    from mmxsim.bibliography import Reference
    from mmxsim.report.html import authors

    def ref(*names):
        return Reference("K", names, 2020, "T")

    assert authors(ref("Fujiya, W.", "et al.")) == "Fujiya, W. et al."
    assert authors(ref("A, B.", "C, D.")) == "A, B.; C, D."
    assert authors(ref(*"abcde")) == "a et al."
    assert authors(ref("JAXA")) == "JAXA"
