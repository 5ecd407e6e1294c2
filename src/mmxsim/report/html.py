"""The report of a run: one self-contained folder of HTML pages, drawn from Jinja2 templates.

``write_report(result, folder)`` writes::

    folder/index.html          the mission at a glance: scenario, run summary, warnings, mission
                               timeline and one line per analysis section (its key number, its
                               partners, a link to its page)
    folder/trajectory.html     Hill-frame figure, interactive 3D view, distance and altitude
    folder/events.html         the merged event list (the same as events.csv / events.ics)
    folder/<section>.html      one page per analysis section (its key, see Section.key)
    folder/model.html          force model and assumptions (the run's and each analysis')
    folder/timings.html        timings and the run's metadata
    folder/bibliography.html   every citation key of the pages, resolved by mmxsim.bibliography
    folder/figures/*.png       every figure, as a PNG file
    folder/assets/plotly.min.js  plotly.js, once (only with the interactive 3D view)

and returns the path of ``index.html``. Every page carries the same navigation bar; nothing is
fetched from the network, the folder opens from ``file://``. The templates (package data,
``mmxsim/report/templates``) are rendered with autoescaping on: every string of the scenario and
the result is text, never markup. Text of the sections may carry ``**bold**`` and citation keys
(``[K22]``): both are turned into markup only after escaping, and each key links to its entry on
the bibliography page (a key the bibliography does not know is listed there as unresolved).

Until issue 18 the report was a single page (``report.html``, built with f-strings, figures and
plotly.js inlined, ~10 MB for the reference mission); :func:`render_report` now returns the pages
of the folder in memory (``{relative path: bytes}``) rather than one HTML text.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
from markupsafe import Markup, escape

from ..results import RunResult
from ..time import iso_tdb
from .figures import MAX_PLOT_POINTS, PHOBOS_RADII_KM

__all__ = ["write_report", "render_report", "PHOBOS_RADII_KM", "MAX_PLOT_POINTS", "INDEX", "TIMING_LABELS",
           "RESERVED_PAGES"]

#: The name of the folder's entry page.
INDEX = "index.html"
#: The report's own pages (a section whose key would collide is written as ``section-<key>.html``).
RESERVED_PAGES = ("index", "trajectory", "events", "model", "timings", "bibliography")

#: Human labels of the run's timing entries (``RunResult.timings``): (label, unit).
TIMING_LABELS = {
    "setup_s": ("Set-up (scenario, ephemerides, gravity models)", "s"),
    "compile_s": ("Compilation of the integrator", "s"),
    "propagate_s": ("Propagation", "s"),
    "postprocess_s": ("Post-processing (frames, distances, events)", "s"),
    "analyses_s": ("Analyses", "s"),
    "outputs_s": ("Writing the outputs", "s"),
    "total_s": ("Total", "s"),
    "integrator_steps": ("Integrator steps", "steps"),
    "analysis_workers": ("Processes running the analyses", "processes"),
    "peak_rss_mb": ("Peak memory of the run's process", "MB"),
    "workers_peak_rss_mb": ("Peak memory of the analysis worker processes", "MB"),
}

#: Bracketed tokens that are units or time scales (a data volume in Gbit, an epoch in TDB), not citation keys,
#: unless the bibliography has an entry of that name; in addition to
#: :data:`mmxsim.bibliography.NOT_KEYS`, which :data:`~mmxsim.bibliography.CITATION_KEY` already skips.
NOT_CITATIONS = frozenset({
    "K", "N", "W", "J", "V", "A", "T", "C", "S", "L", "Pa", "Hz", "Gy", "Sv", "dB", "dBW", "dBi", "dBm", "dBHz",
    "MB", "GB", "TB", "Gb", "Mb", "Tb", "kB", "MJ", "MW", "GHz", "MHz", "kHz", "UTC", "TDB", "TT", "TAI", "AU",
    "Gbit", "Mbit", "kbit", "Tbit", "Gbps", "Mbps", "Tbps", "RTN", "ICRF", "J2000", "X", "Y", "Z", "I", "II", "III", "IV",
})

_BOLD = re.compile(r"[*][*]([^*<>]+)[*][*]")
_SENTENCE_END = re.compile(r"[.!?](?=\s+[A-Z(\[])")
_ABBREVIATIONS = frozenset({"e.g", "i.e", "cf", "vs", "al", "approx", "fig", "eq", "ref", "no", "resp", "etc"})


# --- text helpers (return escaped Markup) -------------------------------------------------------

def _bib():
    from ..bibliography import bibliography

    return bibliography()


def _is_citation(key: str) -> bool:
    return key in _bib() or key not in NOT_CITATIONS


class _Citer:
    """Turns escaped text into markup (bold, citation links) and remembers the keys it linked."""

    def __init__(self):
        self.keys: dict[str, None] = {}

    def __call__(self, text) -> Markup:
        from ..bibliography import CITATION_KEY

        if text is None:
            return Markup("")
        s = str(escape(_cell_text(text)))
        s = _BOLD.sub(r"<strong>\1</strong>", s)
        bib = _bib()

        def link(m):
            key = m.group(1)
            if not _is_citation(key):
                return m.group(0)
            self.keys.setdefault(key, None)
            cls = "cite" if key in bib else "cite unresolved"
            tip = "" if key in bib else ' title="not in the bibliography"'
            return f'<a class="{cls}" href="bibliography.html#ref-{key}"{tip}>[{key}]</a>'

        return Markup(CITATION_KEY.sub(link, s))


def _cell_text(v) -> str:
    """A table cell or value as text: floats to 6 significant digits, NaN as n/a."""
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f"{f:.6g}" if math.isfinite(f) else "n/a"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return str(v)


def _num(x, fmt: str = "{:.3f}") -> str:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return str(x)
    return fmt.format(f) if math.isfinite(f) else "n/a"


def _iso(t) -> str:
    try:
        return str(iso_tdb(float(t), precision=3))
    except (TypeError, ValueError, OverflowError):
        return "n/a"


def human(key) -> str:
    """A machine key as words: ``eclipse_entry`` -> ``eclipse entry``."""
    return str(key).replace("_", " ").strip()


_KEY_WORD = re.compile(r"(?<![\w.])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w.])")


def _human_words(text) -> str:
    """Machine keys inside a short label as words (``max_distance PHOBOS`` -> ``max distance PHOBOS``)."""
    return _KEY_WORD.sub(lambda m: m.group(0).replace("_", " "), str(text))


def first_sentence(text: str, limit: int = 300) -> str:
    """The first sentence of ``text`` (at most ``limit`` characters, cut at a word)."""
    text = " ".join(str(text).split())
    s = text
    for m in _SENTENCE_END.finditer(text):
        word = text[: m.start()].rsplit(" ", 1)[-1].lower().lstrip("(")
        if word in _ABBREVIATIONS or len(word) <= 1:
            continue
        s = text[: m.end()]
        break
    if len(s) > limit:
        s = s[: limit - 1].rsplit(" ", 1)[0] + "\u2026"
    return s


# --- the pages ------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _env():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(loader=PackageLoader("mmxsim.report", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["cell"] = _cell_text
    env.filters["human"] = human
    env.filters["authors"] = authors
    return env


def authors(ref) -> str:
    """The authors of a :class:`~mmxsim.bibliography.Reference` in one line (``A; B et al.``)."""
    names = [a for a in ref.authors if a.strip().rstrip(".").lower() != "et al"]
    etal = len(names) < len(ref.authors) or len(names) > 4
    text = "; ".join(names if len(names) <= 4 else names[:1])
    return (text + " et al.") if etal and text else text


def _page_names(result) -> dict[str, str]:
    """Section key -> its page's file name (safe characters; never one of the report's own pages)."""
    out, used = {}, set(RESERVED_PAGES)
    for sec in result.sections:
        base = re.sub(r"[^A-Za-z0-9_-]+", "-", str(sec.key)).strip("-") or "section"
        name = base if base not in used else f"section-{base}"
        i = 2
        while name in used:
            name, i = f"section-{base}-{i}", i + 1
        used.add(name)
        out[sec.key] = name + ".html"
    return out


def _partners_of(keys) -> dict[str, list[tuple[str, str]]]:
    """Section key -> [(agency, contribution)] from :data:`mmxsim.partners.PARTNERS`."""
    from ..partners import PARTNERS

    out: dict[str, list[tuple[str, str]]] = {}
    for partner in PARTNERS:
        for c in partner.contributions:
            for k in c.analyses:
                if k in keys and (partner.agency, c.what) not in out.setdefault(k, []):
                    out[k].append((partner.agency, c.what))
    return out


def _warnings(result) -> list[str]:
    """An early stop, and what each section's analysis warns about (:func:`mmxsim.analyses.report_warnings`)."""
    from ..analyses import report_warnings

    w = []
    if result.termination != "span completed":
        w.append(f"The propagation stopped early: {result.termination}.")
    return w + report_warnings(result.sections)


def _summary_rows(result) -> list[tuple[str, str]]:
    traj = result.trajectory
    t, n = traj.t, int(traj.t.size)
    d = np.asarray(result.distance_phobos_km, dtype=float).reshape(-1)
    h = np.asarray(result.altitude_phobos_km, dtype=float).reshape(-1)
    from .figures import nanarg

    def at(a, i, what):
        if i is None or i >= n:
            return "n/a"
        return f"{_num(a[i])} km on {_iso(t[i])} TDB"

    alt = at(h, nanarg(h, np.argmin), "alt")
    if result.altitude_surface and alt != "n/a":
        alt += f" (above the {result.altitude_surface})"
    return [
        ("Scenario", result.scenario_name),
        ("How the propagation ended", result.termination),
        ("Start (TDB)", _iso(t[0]) if n else "n/a"),
        ("Stop (TDB)", _iso(t[-1]) if n else "n/a"),
        ("Duration", f"{_num((t[-1] - t[0]) / 86400.0, '{:.4f}')} days" if n else "n/a"),
        ("Trajectory samples", str(n)),
        ("Propagation frame", f"{traj.center.title()}-centred {traj.frame}"),
        ("Closest approach to Phobos' centre", at(d, nanarg(d, np.argmin), "d")),
        ("Farthest from Phobos' centre", at(d, nanarg(d, np.argmax), "d")),
        ("Lowest altitude above Phobos", alt),
        ("Integrator events", str(len(result.events))),
        ("Analysis sections", str(len(result.sections))),
    ]


def _timeline_rows(result, pages, titles):
    from ..mission.timeline import reference_timeline

    t = result.trajectory.t
    t0, t1 = (float(t[0]), float(t[-1])) if t.size else (math.nan, math.nan)
    rows = []
    for p in reference_timeline():
        rows.append({"name": p.name, "start": p.start, "stop": p.stop, "now": bool(p.t0_tdb <= t1 and t0 <= p.t1_tdb),
                     "published": p.published + (" (days assumed)" if p.assumed else ""), "source": p.source,
                     "sections": [(pages[k], titles[k]) for k in p.analyses if k in pages]})
    return rows


def _event_tables(result):
    from ..mission.timeline import run_events
    from ..time import iso_utc

    merged = run_events(result)
    kinds: dict[str, list] = {}
    for e in merged:
        kinds.setdefault(e.kind, []).append(e)
    firsts = iso_utc([v[0].start for v in kinds.values()]) if kinds else []
    lasts = iso_utc([v[-1].start for v in kinds.values()]) if kinds else []
    counts = [(human(k), len(v), a, b) for (k, v), a, b in zip(kinds.items(), firsts, lasts)]
    key = [e for e in merged if e.kind not in _FREQUENT_KINDS]
    mission = []
    if key:
        a, b = iso_utc([e.start for e in key]), iso_utc([e.stop for e in key])
        mission = [(x, y if e.stop > e.start else "", human(e.kind), _human_words(e.name), e.detail) for e, x, y in zip(key, a, b)]
    t = result.trajectory.t
    raw = []
    for ev in result.events:
        raw.append((human(ev.kind), str(ev.body).title(), _iso(ev.t),
                    _num((float(ev.t) - t[0]) / 86400.0, "{:.5f}") if t.size else "n/a",
                    "yes" if ev.terminal else "no", _details(ev.details)))
    return len(merged), counts, mission, raw


#: Event kinds that come by the dozen (counted, first and last shown) rather than listed one by one.
_FREQUENT_KINDS = ("eclipse", "pass", "track", "science", "manoeuvre")


def _details(d) -> str:
    if not d:
        return ""
    try:
        from ..results import to_jsonable

        return json.dumps(to_jsonable(d), ensure_ascii=False, sort_keys=True)
    except Exception:  # pragma: no cover - anything printable will do
        return str(d)


def _pretty(obj) -> str:
    try:
        from ..results import to_jsonable

        return json.dumps(to_jsonable(obj), indent=2, ensure_ascii=False)
    except Exception:  # pragma: no cover
        return str(obj)


def _timing_rows(result):
    rows = []
    for k, v in result.timings.items():
        label, unit = TIMING_LABELS.get(k, (None, None))
        if label is None:
            base = str(k)[:-2] if str(k).endswith("_s") else str(k)
            label, unit = human(base).capitalize(), ("s" if str(k).endswith("_s") else "")
        rows.append((label, _num(v, "{:.0f}" if unit in ("steps", "processes", "MB") else "{:.3f}"), unit))
    return rows


def _plotly_js() -> str | None:
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:
        return None
    return get_plotlyjs()


def render_report(result: RunResult, interactive: bool | None = None) -> dict[str, bytes]:
    """The report's folder in memory: ``{relative path: bytes}`` (``index.html`` first).

    ``interactive``: add the plotly 3D view of the trajectory around Phobos' shape model
    (plotly.js written once to ``assets/plotly.min.js``, ~4.6 MB); None: when plotly is installed."""
    from . import figures as F

    if interactive is None:
        from importlib.util import find_spec

        interactive = find_spec("plotly") is not None
    env = _env()
    cite = _Citer()
    files: dict[str, bytes] = {}
    pages = _page_names(result)
    titles = {sec.key: sec.title for sec in result.sections}
    partners = _partners_of(set(pages))

    nav_sections = [(pages[s.key], s.title) for s in result.sections]
    main_nav = [("index.html", "Overview"), ("trajectory.html", "Trajectory"), ("events.html", "Events"),
                ("model.html", "Model and assumptions"), ("timings.html", "Timings and metadata"),
                ("bibliography.html", "Bibliography")]
    common = {"scenario": result.scenario_name, "main_nav": main_nav, "nav_sections": nav_sections, "cite": cite}

    def page(name, template, **kw):
        html = env.get_template(template).render(page=name, **common, **kw)
        files[name] = html.encode("utf-8")

    # figures first (their captions go into the pages)
    fig_hill, fig_dist = F.hill_png(result), F.distance_png(result)
    if fig_hill:
        files["figures/trajectory-hill.png"] = fig_hill
    if fig_dist:
        files["figures/trajectory-distance.png"] = fig_dist
    sec_figs = {}
    for sec in result.sections:
        stem = pages[sec.key][:-5]
        lst = []
        for i, (caption, png) in enumerate(sec.figures, start=1):
            name = f"figures/{stem}-{i}.png"
            files[name] = bytes(png)
            cap = str(caption).strip()
            lst.append((name, cap if cap and not cap.isdigit() else f"Figure {i} of {sec.title}"))
        sec_figs[sec.key] = lst

    # the index: key numbers, one line per section
    key_rows = []
    for sec in result.sections:
        line = str(sec.headline).strip() or (first_sentence(sec.paragraphs[0]) if sec.paragraphs else "")
        key_rows.append({"page": pages[sec.key], "title": sec.title, "line": line,
                         "partners": partners.get(sec.key, [])})
    page(INDEX, "index.html", title="Mission at a glance", summary=_summary_rows(result), warnings=_warnings(result),
         timeline=_timeline_rows(result, pages, titles), key_rows=key_rows)

    view = F.view3d(result) if interactive else None
    if view is not None:
        js = _plotly_js()
        if js is None:
            view = None
        else:
            files["assets/plotly.min.js"] = js.encode("utf-8")
    a, b, c = PHOBOS_RADII_KM
    page("trajectory.html", "trajectory.html", title="Trajectory",
         hill=("figures/trajectory-hill.png" if fig_hill else None),
         hill_caption=("Trajectory of MMX in the Phobos Hill frame, seen in the radial/along-track plane (left) and "
                       "the radial/orbit-normal plane (right); Phobos is drawn as its ellipsoid of "
                       f"{a:g} \u00d7 {b:g} \u00d7 {c:g} km in its mean orientation; the circle marks the start "
                       "and the square the end of the run."),
         distance=("figures/trajectory-distance.png" if fig_dist else None),
         distance_caption=("Distance from Phobos' centre (top) and altitude above its surface (middle) against "
                           "days since the start; below, the run's events in one row per kind with their counts "
                           "(bars: events with a duration, ticks: instants)."),
         view3d=(Markup(view.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))
                 if view else None))

    n_merged, counts, mission, raw = _event_tables(result)
    page("events.html", "events.html", title="Events", n_merged=n_merged, counts=counts, mission=mission, raw=raw)

    order = [sec.key for sec in result.sections]
    for i, sec in enumerate(result.sections):
        prev_ = (pages[order[i - 1]], titles[order[i - 1]]) if i > 0 else None
        next_ = (pages[order[i + 1]], titles[order[i + 1]]) if i + 1 < len(order) else None
        page(pages[sec.key], "section.html", title=sec.title, sec=sec, figures=sec_figs[sec.key],
             partners=partners.get(sec.key, []), prev=prev_, next=next_)

    page("model.html", "model.html", title="Model and assumptions", force_model=list(result.force_model),
         assumptions=list(result.assumptions),
         sec_assumptions=[(pages[s.key], s.title, list(s.assumptions)) for s in result.sections if s.assumptions])
    page("timings.html", "timings.html", title="Timings and metadata", timings=_timing_rows(result),
         sec_seconds=[(pages[s.key], s.title, _num(s.seconds, "{:.2f}"),
                       [(k, _num(v, "{:.3f}")) for k, v in getattr(s, "timings", {}).items()])
                      for s in result.sections],
         metadata=_pretty(result.metadata) if result.metadata else "")

    # last: the bibliography of every key the pages above cited
    bib = _bib()
    cited = list(cite.keys)
    page("bibliography.html", "bibliography.html", title="Bibliography",
         entries=sorted((bib[k] for k in cited if k in bib), key=lambda r: r.key.lower()),
         unresolved=sorted((k for k in cited if k not in bib), key=str.lower))
    return {INDEX: files.pop(INDEX), **files}


def write_report(result: RunResult, folder, interactive: bool | None = None) -> Path:
    """Write the report of ``result`` into the folder ``folder`` (created if missing; files of the
    same names are overwritten, other files are left) and return the path of its ``index.html``
    (``interactive``: see :func:`render_report`). ``mmxsim run`` writes it into a fresh staging
    folder (:mod:`mmxsim.publish`), so a run's ``report/`` holds only this report."""
    folder = Path(folder)
    files = render_report(result, interactive)
    for rel, data in files.items():
        p = folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return folder / INDEX
