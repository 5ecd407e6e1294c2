"""A one-file HTML report of a run.

The page is self-contained: styles are inline, figures are PNGs drawn with
Matplotlib's Agg canvas (no pyplot, no GUI backend) and embedded as base64
``data:`` URIs, and the optional interactive 3D view embeds plotly.js inline;
nothing is fetched from the network. Every string that comes from the scenario or
the result is HTML-escaped.
"""

from __future__ import annotations

import base64
import io
import json
import math
import re
from html import escape
from pathlib import Path

import numpy as np

from ..results import RunResult
from ..time import iso_tdb

__all__ = ["write_report", "render_report", "PHOBOS_RADII_KM"]

# Phobos triaxial radii (a along the Mars direction, b along track, c polar) [km]
PHOBOS_RADII_KM = (13.0, 11.4, 9.1)
MAX_PLOT_POINTS = 20000

_CSS = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;
color:#222;line-height:1.4;padding:0 1em}
h1{font-size:1.6em;border-bottom:2px solid #444;padding-bottom:.2em}
h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #bbb}
table{border-collapse:collapse;margin:.5em 0;font-size:.92em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f0f0f0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;height:auto;border:1px solid #ddd}
code,pre{font-family:Menlo,Consolas,monospace;font-size:.9em}
pre{background:#f7f7f7;padding:.6em;overflow-x:auto}
.muted{color:#777}
nav{font-size:.9em;background:#f7f7f7;padding:.5em;border:1px solid #ddd}
.warn{background:#fff4e5;border:1px solid #f0b46e;padding:.4em .8em;margin:.6em 0}
"""


def _e(x) -> str:
    return escape(str(x), quote=True)


def _num(x, fmt: str = "{:.3f}") -> str:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return _e(x)
    return fmt.format(f) if math.isfinite(f) else "n/a"


def _iso(t) -> str:
    try:
        return str(iso_tdb(float(t), precision=3))
    except (TypeError, ValueError, OverflowError):
        return "n/a"


def _png(fig) -> str:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(b64: str, alt: str) -> str:
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{b64}">'


def _thin(n: int, keep: list[int]) -> np.ndarray:
    """Indices of at most ~MAX_PLOT_POINTS samples, always keeping ``keep``."""
    if n <= MAX_PLOT_POINTS:
        return np.arange(n)
    idx = np.arange(0, n, int(math.ceil(n / MAX_PLOT_POINTS)))
    return np.unique(np.concatenate([idx, [n - 1], [k for k in keep if 0 <= k < n]]).astype(int))


def _nanarg(a: np.ndarray, fn) -> int | None:
    a = np.asarray(a, dtype=float).reshape(-1)
    ok = np.isfinite(a)
    if not ok.any():
        return None
    idx = np.flatnonzero(ok)
    return int(idx[fn(a[ok])])


def _fig_hill(result: RunResult) -> str | None:
    from matplotlib.figure import Figure
    from matplotlib.patches import Ellipse

    hill = result.hill
    if hill is None or hill.t.size == 0:
        return None
    s = hill.states
    i_min = _nanarg(result.distance_phobos_km, np.argmin)
    sel = _thin(s.shape[0], [i_min] if i_min is not None else [])
    x, y, z = s[sel, 0], s[sel, 1], s[sel, 2]
    a, b, c = PHOBOS_RADII_KM
    fig = Figure(figsize=(11, 5.2))
    for k, (ax, v, w, lab) in enumerate(
        zip(fig.subplots(1, 2), (y, z), (b, c), ("y (along track) [km]", "z (orbit normal) [km]"))
    ):
        ax.plot(x, v, lw=0.8, color="tab:blue", label="MMX")
        ax.plot(s[0, 0], s[0, 1 + k], "o", color="tab:green", ms=5, label="start")
        ax.plot(s[-1, 0], s[-1, 1 + k], "s", color="tab:red", ms=5, label="end")
        ax.add_patch(Ellipse((0, 0), 2 * a, 2 * w, facecolor="0.55", edgecolor="0.25", lw=0.8, label="Phobos"))
        ax.set_xlabel("x (radial, out from Mars) [km]")
        ax.set_ylabel(lab)
        ax.set_aspect("equal", adjustable="datalim")
        ax.grid(True, lw=0.3, alpha=0.6)
        ax.set_title("x-y plane" if k == 0 else "x-z plane")
        ax.annotate("\u2190 to Mars", xy=(0.02, 0.97), xycoords="axes fraction", fontsize=8, color="0.35",
                    ha="left", va="top")
        if k == 0:
            ax.legend(loc="upper right", fontsize=8)
    fig.suptitle("Trajectory in the Phobos Hill frame (Phobos drawn as its ellipsoid, mean orientation)")
    fig.tight_layout()
    return _png(fig)


def _fig_distance(result: RunResult) -> str | None:
    from matplotlib.figure import Figure

    t = result.trajectory.t
    if t.size == 0:
        return None
    d = np.asarray(result.distance_phobos_km, dtype=float).reshape(-1)
    h = np.asarray(result.altitude_phobos_km, dtype=float).reshape(-1)
    if d.size != t.size or h.size != t.size:
        return None
    keep = [k for k in (_nanarg(d, np.argmin), _nanarg(h, np.argmin)) if k is not None]
    sel = _thin(t.size, keep)
    days = (t[sel] - t[0]) / 86400.0
    fig = Figure(figsize=(11, 5.6))
    ax1, ax2 = fig.subplots(2, 1, sharex=True)
    ax1.plot(days, d[sel], lw=0.8, color="tab:blue")
    ax1.set_ylabel("distance to Phobos [km]")
    ax2.plot(days, h[sel], lw=0.8, color="tab:orange")
    ax2.axhline(0.0, color="0.3", lw=0.6)
    ax2.set_ylabel("altitude above Phobos [km]")
    ax2.set_xlabel("days since start (TDB)")
    for ev in result.events:
        de = (float(ev.t) - t[0]) / 86400.0
        for ax in (ax1, ax2):
            ax.axvline(de, color="tab:red" if ev.terminal else "0.6", lw=0.6, ls=":")
    for ax in (ax1, ax2):
        ax.grid(True, lw=0.3, alpha=0.6)
    fig.suptitle("Distance and altitude (dotted lines: events)")
    fig.tight_layout()
    return _png(fig)


def _table(rows, header=None) -> str:
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr>")
    for r in rows:
        cells = []
        for i, v in enumerate(r):
            if header is None and i == 0:
                cells.append(f"<th>{v}</th>")
            else:
                cells.append(f"<td>{v}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _details(d) -> str:
    if not d:
        return ""
    try:
        from ..results import to_jsonable

        text = json.dumps(to_jsonable(d), ensure_ascii=False, sort_keys=True)
    except Exception:  # pragma: no cover - anything printable will do
        text = str(d)
    return f"<code>{_e(text)}</code>"


def render_report(result: RunResult, interactive: bool | None = None) -> str:
    """The HTML text of the report of ``result``.

    ``interactive``: add a plotly 3D view of the trajectory around the Phobos shape model
    (plotly.js embedded in the page, ~4.5 MB); None: when plotly is installed."""
    if interactive is None:
        from importlib.util import find_spec

        interactive = find_spec("plotly") is not None
    traj = result.trajectory
    t = traj.t
    n = int(t.size)
    d = np.asarray(result.distance_phobos_km, dtype=float).reshape(-1)
    h = np.asarray(result.altitude_phobos_km, dtype=float).reshape(-1)
    name = _e(result.scenario_name)

    def at(i):
        return "n/a" if i is None or i >= n else _e(_iso(t[i]))

    i_dmin, i_dmax, i_hmin = _nanarg(d, np.argmin), _nanarg(d, np.argmax), _nanarg(h, np.argmin)
    rows = [
        ("Scenario", name),
        ("Termination", _e(result.termination)),
        ("Start (TDB)", _e(_iso(t[0])) if n else "n/a"),
        ("Stop (TDB)", _e(_iso(t[-1])) if n else "n/a"),
        ("Duration", f"{_num((t[-1] - t[0]) / 86400.0, '{:.4f}')} days" if n else "n/a"),
        ("Samples", str(n)),
        ("Propagation frame", f"{_e(traj.center)}-centred {_e(traj.frame)}"),
        ("Min distance to Phobos", f"{_num(d[i_dmin])} km at {at(i_dmin)}" if i_dmin is not None else "n/a"),
        ("Max distance to Phobos", f"{_num(d[i_dmax])} km at {at(i_dmax)}" if i_dmax is not None else "n/a"),
        ("Min altitude above Phobos", (f"{_num(h[i_hmin])} km at {at(i_hmin)}" if i_hmin is not None else "n/a")
         + (f" (above the {_e(result.altitude_surface)})" if result.altitude_surface else "")),
        ("Integrator events", str(len(result.events))),
    ]

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>mmxsim report: {name}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>mmxsim run report: {name}</h1>",
        _contents(result),
        '<h2 id="summary">Run summary</h2>',
        _table(rows),
    ]
    parts += _glance(result)

    parts.append('<h2 id="hill">Trajectory in the Phobos Hill frame</h2>')
    parts.append(
        '<p class="muted">Phobos-centred Hill frame: x radial (out from Mars), y along track, z along '
        "Phobos' orbital angular momentum. Phobos is drawn as its ellipsoid of radii "
        f"{PHOBOS_RADII_KM[0]} &times; {PHOBOS_RADII_KM[1]} &times; {PHOBOS_RADII_KM[2]} km "
        "in its mean orientation (long axis towards Mars).</p>"
    )
    img = _fig_hill(result)
    parts.append(_img(img, "Trajectory in the Phobos Hill frame") if img else "<p>No Hill-frame data.</p>")
    if interactive:
        parts += _interactive_3d(result)

    parts.append('<h2 id="distance">Distance and altitude</h2>')
    img = _fig_distance(result)
    parts.append(_img(img, "Distance and altitude above Phobos") if img else "<p>No distance data.</p>")

    parts += _events_html(result, t, n)

    for sec in result.sections:
        parts.append(_section(sec))

    parts.append('<h2 id="model">Model and assumptions</h2>')
    parts.append("<h3>Force model</h3>")
    if result.force_model:
        parts.append("<ul>" + "".join(f"<li>{_e(s)}</li>" for s in result.force_model) + "</ul>")
    else:
        parts.append("<p>Not recorded.</p>")
    parts.append("<h3>Assumptions</h3>")
    if result.assumptions:
        parts.append("<ul>" + "".join(f"<li>{_e(s)}</li>" for s in result.assumptions) + "</ul>")
    else:
        parts.append("<p>None recorded.</p>")
    sec_assumptions = [(sec.title, a) for sec in result.sections for a in sec.assumptions]
    if sec_assumptions:
        parts.append("<h3>Assumptions of the analyses</h3>")
        parts.append(_table([(_e(t), _e(a)) for t, a in sec_assumptions], ("Section", "Assumption")))
    parts.append('<p class="muted">Sources: the citation keys in brackets ([K22], [N21]...) are those of the '
                 "project's fact sheets; every packaged data file is described with its origin and licence in "
                 "mmxsim/data/SOURCES.md.</p>")

    parts.append('<h2 id="timings">Timings</h2>')
    if result.timings:
        trows = [(_e(k), _num(v, "{:.3f}")) for k, v in result.timings.items()]
        parts.append(_table(trows, ("Step", "Seconds")))
    else:
        parts.append("<p>Not recorded.</p>")

    if result.metadata:
        parts.append('<h2 id="metadata">Metadata</h2>')
        parts.append(f"<details><summary>Run metadata</summary><pre>{_e(_pretty(result.metadata))}</pre></details>")

    parts.append('<p class="muted">Generated by mmxsim. Epochs are TDB.</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


_BOLD = re.compile(r"[*][*]([^*<>]+)[*][*]")


def _strong(escaped: str) -> str:
    """``**text**`` in already escaped text -> ``<strong>text</strong>`` (nothing else is markup)."""
    return _BOLD.sub(r"<strong>\1</strong>", escaped)


def _section(sec) -> str:
    """HTML of one analysis section (see :class:`mmxsim.results.Section`)."""
    out = [f'<h2 id="{_e(sec.key)}">{_e(sec.title)}</h2>']
    out += [f"<p>{_strong(_e(p))}</p>" for p in sec.paragraphs]
    for tab in sec.tables:
        if tab.caption:
            out.append(f"<h3>{_e(tab.caption)}</h3>")
        out.append(_table([tuple(_e(v) for v in row) for row in tab.rows], tab.header))
    for caption, png in sec.figures:
        out.append(_img(base64.b64encode(png).decode("ascii"), caption))
        out.append(f'<p class="muted">{_e(caption)}</p>')
    if sec.assumptions:
        out.append("<h3>Assumptions of this analysis</h3>")
        out.append("<ul>" + "".join(f"<li>{_e(a)}</li>" for a in sec.assumptions) + "</ul>")
    return "\n".join(out)


def _pretty(obj) -> str:
    try:
        from ..results import to_jsonable

        return json.dumps(to_jsonable(obj), indent=2, ensure_ascii=False)
    except Exception:  # pragma: no cover
        return str(obj)


def _contents(result) -> str:
    links = [("glance", "Mission at a glance"), ("summary", "Run summary"), ("hill", "Trajectory"),
             ("distance", "Distance"), ("events", "Events")]
    links += [(sec.key, sec.title) for sec in result.sections]
    links += [("model", "Model and assumptions"), ("timings", "Timings")]
    return '<nav id="contents"><b>Contents:</b> ' + " &middot; ".join(
        f'<a href="#{_e(k)}">{_e(t)}</a>' for k, t in links) + "</nav>"


def _warnings(result) -> list[str]:
    """Things a reader must not miss: an early stop, and what each section's analysis warns about
    (:attr:`mmxsim.analyses.Analysis.warnings`)."""
    from ..analyses import report_warnings

    w = []
    if result.termination != "span completed":
        w.append(f"The propagation stopped early: {result.termination}.")
    return w + report_warnings(result.sections)


#: Event kinds that come by the dozen (counted, first and last shown) rather than listed one by one.
_FREQUENT_KINDS = ("eclipse", "pass", "track", "science", "manoeuvre")


def _events_html(result, t, n) -> list[str]:
    """The merged event list (as in events.csv/.ics): counts by kind, the mission-level events
    listed, and the integrator's raw events in a folded table."""
    from ..mission.timeline import run_events
    from ..time import iso_utc as _isos

    out = ['<h2 id="events">Events</h2>']
    merged = run_events(result)
    out.append(f'<p class="muted">The merged event list of this run ({len(merged)} events; the same list as '
               "events.csv and events.ics): mission phases and planned operations of the reference timeline, "
               "the integrator's events and those of each analysis.</p>")
    kinds: dict[str, list] = {}
    for e in merged:
        kinds.setdefault(e.kind, []).append(e)
    firsts = _isos([v[0].start for v in kinds.values()])
    lasts = _isos([v[-1].start for v in kinds.values()])
    out.append(_table([(_e(k), str(len(v)), _e(a), _e(b)) for (k, v), a, b in zip(kinds.items(), firsts, lasts)],
                      ("Kind", "Count", "First (UTC)", "Last (UTC)")))
    key = [e for e in merged if e.kind not in _FREQUENT_KINDS]
    if key:
        a, b = _isos([e.start for e in key]), _isos([e.stop for e in key])
        out.append("<h3>Mission events</h3>")
        out.append(_table([(_e(x), _e(y) if e.stop > e.start else "", _e(e.kind), _e(e.name), _e(e.detail))
                           for e, x, y in zip(key, a, b)], ("Start (UTC)", "Stop (UTC)", "Kind", "Event", "Detail")))
    if result.events:
        ev_rows = [(_e(ev.kind), _e(ev.body), _e(_iso(ev.t)),
                    _num((float(ev.t) - t[0]) / 86400.0, "{:.5f}") if n else "n/a",
                    "yes" if ev.terminal else "no", _details(ev.details)) for ev in result.events]
        out.append(f"<details><summary>Integrator events ({len(result.events)})</summary>"
                   + _table(ev_rows, ("Kind", "Body", "Epoch (TDB)", "Days since start", "Terminal", "Details"))
                   + "</details>")
    else:
        out.append("<p>No integrator events.</p>")
    return out


def _glance(result) -> list[str]:
    """Mission timeline, key numbers per partner system, warnings."""
    from ..mission.timeline import reference_timeline
    from ..partners import PARTNERS

    keys = {sec.key: sec for sec in result.sections}
    t = result.trajectory.t
    t0, t1 = (float(t[0]), float(t[-1])) if t.size else (math.nan, math.nan)
    out = ['<h2 id="glance">Mission at a glance</h2>']
    warn = _warnings(result)
    if warn:
        out.append('<div class="warn"><b>Warnings</b><ul>' + "".join(f"<li>{_e(x)}</li>" for x in warn)
                   + "</ul></div>")
    out.append("<h3>Mission timeline</h3>")
    rows = []
    for p in reference_timeline():
        here = [k for k in p.analyses if k in keys]
        now = p.t0_tdb <= t1 and t0 <= p.t1_tdb
        rows.append((("<b>" + _e(p.name) + "</b>") if now else _e(p.name), _e(p.start), _e(p.stop),
                     _e(p.published) + (" (days assumed)" if p.assumed else ""), _e(p.source),
                     ", ".join(f'<a href="#{_e(k)}">{_e(k)}</a>' for k in here) or "&ndash;"))
    out.append(_table(rows, ("Phase (bold: this run)", "Start", "Stop", "Published", "Source", "Simulated here")))
    out.append("<h3>Key numbers per partner system</h3>")
    prow = []
    for partner in PARTNERS:
        for c in partner.contributions:
            for k in c.analyses:
                if k in keys and keys[k].paragraphs:
                    text = keys[k].paragraphs[0]
                    prow.append((_e(partner.agency), _e(c.what), f'<a href="#{_e(k)}">{_e(keys[k].title)}</a>',
                                 _strong(_e(text if len(text) < 320 else text[:317] + "..."))))
    if prow:
        out.append(_table(prow, ("Agency", "Contribution", "Section", "Result")))
    else:
        out.append("<p>This run has no analysis sections (add an <code>analyses</code> block to the scenario; "
                   "see scenarios/reference_mission.yaml, which <code>mmxsim run</code> runs with no file).</p>")
    return out


def _interactive_3d(result) -> list[str]:
    """A plotly 3D view of the trajectory in the Phobos body-fixed frame around the shape model."""
    try:
        import plotly.graph_objects as go
        import plotly.io as pio
    except ImportError:
        return []
    from ..bodies.shapes import phobos_shape

    traj = getattr(result, "phobos_fixed", None)
    if traj is None or traj.t.size == 0:
        return []
    keep = _thin(traj.t.size, [])
    x, y, z = (traj.states[keep, i] for i in range(3))
    sh = phobos_shape("thomas3k")
    v, f = sh.vertices, sh.faces
    fig = go.Figure([
        go.Mesh3d(x=v[:, 0], y=v[:, 1], z=v[:, 2], i=f[:, 0], j=f[:, 1], k=f[:, 2], color="#a08c78",
                  flatshading=True, name="Phobos (Thomas, 3,480 facets)", showlegend=True),
        go.Scatter3d(x=x, y=y, z=z, mode="lines", line={"width": 3, "color": "#1f77b4"}, name="MMX"),
    ])
    fig.update_layout(scene={"aspectmode": "data", "xaxis_title": "x km (to Mars)", "yaxis_title": "y km",
                             "zaxis_title": "z km (north)"}, margin={"l": 0, "r": 0, "t": 30, "b": 0}, height=560,
                      title="Trajectory in the Phobos body-fixed frame (drag to rotate)")
    html = pio.to_html(fig, full_html=False, include_plotlyjs=True, div_id="plot3d",
                       config={"displaylogo": False})
    return ['<h3 id="hill3d">Interactive 3D view</h3>', html]


def write_report(result: RunResult, path, interactive: bool | None = None) -> Path:
    """Write the self-contained HTML report of ``result`` to ``path`` (``interactive``: see
    :func:`render_report`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(result, interactive), encoding="utf-8")
    return path
