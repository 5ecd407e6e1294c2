"""The report's own figures: the trajectory in the Phobos Hill frame, distance and altitude with
the run's events grouped by kind, and the data of the interactive 3D view.

Matplotlib draws with its Agg canvas (no pyplot, no GUI backend) and is imported only here, when a
report is drawn. Each function returns PNG bytes (or a plotly figure as a JSON-ready dict), or None
where the run has no data for it.
"""

from __future__ import annotations

import math

import numpy as np

from ..bodies import PHOBOS_RADII
from ..results import RunResult

__all__ = ["PHOBOS_RADII_KM", "MAX_PLOT_POINTS", "hill_png", "distance_png", "view3d", "event_rows"]

#: Phobos triaxial radii (a along the Mars direction, b along track, c polar) [km], the ellipsoid
#: drawn in the Hill-frame figure: :data:`mmxsim.bodies.PHOBOS_RADII` ([PCK11] BODY401_RADII).
PHOBOS_RADII_KM = tuple(PHOBOS_RADII)
#: At most this many samples of a curve are drawn (the extremes are always kept).
MAX_PLOT_POINTS = 20000


def _png(fig) -> bytes:
    """PNG at 100 dpi: :func:`mmxsim.analyses.png_bytes` (one draw, RGB when opaque)."""
    from ..analyses import png_bytes

    return png_bytes(fig, dpi=100)


def thin(n: int, keep: list[int]) -> np.ndarray:
    """Indices of at most ~MAX_PLOT_POINTS samples, always keeping ``keep``."""
    if n <= MAX_PLOT_POINTS:
        return np.arange(n)
    idx = np.arange(0, n, int(math.ceil(n / MAX_PLOT_POINTS)))
    return np.unique(np.concatenate([idx, [n - 1], [k for k in keep if 0 <= k < n]]).astype(int))


def nanarg(a, fn) -> int | None:
    """Index of ``fn`` (np.argmin/argmax) over the finite values of ``a``; None if there are none."""
    a = np.asarray(a, dtype=float).reshape(-1)
    ok = np.isfinite(a)
    if not ok.any():
        return None
    idx = np.flatnonzero(ok)
    return int(idx[fn(a[ok])])


def hill_png(result: RunResult) -> bytes | None:
    """The trajectory in the x-y and x-z planes of the Phobos Hill frame, around Phobos' ellipsoid."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Ellipse

    hill = result.hill
    if hill is None or hill.t.size == 0:
        return None
    s = hill.states
    i_min = nanarg(result.distance_phobos_km, np.argmin)
    sel = thin(s.shape[0], [i_min] if i_min is not None else [])
    x, y, z = s[sel, 0], s[sel, 1], s[sel, 2]
    a, b, c = PHOBOS_RADII_KM
    fig = Figure(figsize=(11, 5.2))
    FigureCanvasAgg(fig)  # its tight_layout() and png_bytes share one renderer
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
    fig.tight_layout()
    return _png(fig)


def event_rows(result: RunResult) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The events inside the run's span grouped by kind, for the strip under the distance plot:
    ``[(label, start days, stop days)]`` with days since the first sample; the mission's merged list
    (:func:`mmxsim.mission.timeline.run_events`) plus the integrator's own events, one row per kind."""
    from ..mission.timeline import run_events

    t = result.trajectory.t
    if t.size == 0:
        return []
    t0, t1 = float(t[0]), float(t[-1])
    groups: dict[str, list[tuple[float, float]]] = {}
    for e in run_events(result):
        a, b = float(e.start), float(e.stop)
        if b < t0 or a > t1:
            continue
        groups.setdefault(e.kind, []).append((max(a, t0), min(max(a, b), t1)))
    out = []
    for kind, ab in groups.items():
        arr = (np.asarray(ab, dtype=float) - t0) / 86400.0
        out.append((kind.replace("_", " "), arr[:, 0], arr[:, 1]))
    return out


def distance_png(result: RunResult) -> bytes | None:
    """Distance to Phobos and altitude above its surface against time, and under them one row per
    kind of event (bars for events with a duration, ticks for instants)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    t = result.trajectory.t
    if t.size == 0:
        return None
    d = np.asarray(result.distance_phobos_km, dtype=float).reshape(-1)
    h = np.asarray(result.altitude_phobos_km, dtype=float).reshape(-1)
    if d.size != t.size or h.size != t.size:
        return None
    keep = [k for k in (nanarg(d, np.argmin), nanarg(h, np.argmin)) if k is not None]
    sel = thin(t.size, keep)
    days = (t[sel] - t[0]) / 86400.0
    rows = event_rows(result)
    n = len(rows)
    fig = Figure(figsize=(11, 5.6 + 0.28 * n))
    FigureCanvasAgg(fig)  # its tight_layout() and png_bytes share one renderer
    axes = fig.subplots(3 if n else 2, 1, sharex=True,
                        gridspec_kw={"height_ratios": [3, 3] + ([max(0.45 * n, 0.8)] if n else [])})
    ax1, ax2 = axes[0], axes[1]
    ax1.plot(days, d[sel], lw=0.8, color="tab:blue")
    ax1.set_ylabel("distance to Phobos [km]")
    ax2.plot(days, h[sel], lw=0.8, color="tab:orange")
    ax2.axhline(0.0, color="0.3", lw=0.6)
    ax2.set_ylabel("altitude above Phobos [km]")
    for ax in (ax1, ax2):
        ax.grid(True, lw=0.3, alpha=0.6)
    if n:
        ax3 = axes[2]
        span = max(float(days[-1] - days[0]), 1e-9) if days.size else 1.0
        colours = [f"C{i % 10}" for i in range(n)]
        for i, ((label, a, b), col) in enumerate(zip(rows, colours)):
            y = n - 1 - i
            long = (b - a) > span * 2e-3
            if long.any():
                ax3.broken_barh(list(zip(a[long], (b - a)[long])), (y - 0.3, 0.6), color=col, alpha=0.8)
            if (~long).any():
                ax3.vlines(a[~long], y - 0.35, y + 0.35, color=col, lw=1.0)
        ax3.set_yticks(range(n))
        ax3.set_yticklabels([f"{r[0]} ({r[1].size})" for r in rows][::-1], fontsize=8)
        ax3.set_ylim(-0.6, n - 0.4)
        ax3.grid(True, axis="x", lw=0.3, alpha=0.6)
        ax3.set_xlabel("days since start (TDB)")
    else:
        ax2.set_xlabel("days since start (TDB)")
    fig.tight_layout()
    return _png(fig)


def view3d(result: RunResult) -> str | None:
    """The interactive 3D view as a plotly figure in JSON (``{"data", "layout"}``): the
    trajectory in the Phobos body-fixed frame around the Thomas shape model, the scene's ranges and
    camera set from the extent of the trajectory and the shape (nothing clipped). None without
    plotly or without body-fixed data."""
    try:
        import plotly.graph_objects as go
    except ImportError:
        return None
    from ..bodies.shapes import phobos_shape

    traj = getattr(result, "phobos_fixed", None)
    if traj is None or traj.t.size == 0:
        return None
    keep = thin(traj.t.size, [])
    p = np.asarray(traj.states[keep, :3], dtype=float)
    p = p[np.isfinite(p).all(axis=1)]
    if p.size == 0:
        return None
    sh = phobos_shape("thomas3k")
    v, f = np.asarray(sh.vertices, dtype=float), np.asarray(sh.faces)
    both = np.vstack([p, v])
    lo, hi = both.min(axis=0), both.max(axis=0)
    centre, half = (lo + hi) / 2.0, (hi - lo) / 2.0 * 1.08 + 0.5
    ranges = [[float(c - w), float(c + w)] for c, w in zip(centre, half)]
    ratio = half / half.max()
    fig = go.Figure([
        go.Mesh3d(x=v[:, 0], y=v[:, 1], z=v[:, 2], i=f[:, 0], j=f[:, 1], k=f[:, 2], color="#a08c78",
                  flatshading=True, name="Phobos (Thomas shape, 3,480 facets)", showlegend=True),
        go.Scatter3d(x=p[:, 0], y=p[:, 1], z=p[:, 2], mode="lines", line={"width": 3, "color": "#1f77b4"},
                     name="MMX"),
    ])
    fig.update_layout(
        scene={"aspectmode": "manual",
               "aspectratio": {"x": float(ratio[0]), "y": float(ratio[1]), "z": float(max(ratio[2], 0.35))},
               "xaxis": {"title": {"text": "x [km] (towards Mars)"}, "range": ranges[0]},
               "yaxis": {"title": {"text": "y [km]"}, "range": ranges[1]},
               "zaxis": {"title": {"text": "z [km] (north)"}, "range": ranges[2]},
               "camera": {"eye": {"x": 1.1, "y": 1.1, "z": 0.75}, "center": {"x": 0, "y": 0, "z": 0}}},
        margin={"l": 0, "r": 0, "t": 10, "b": 0}, height=600, legend={"x": 0.01, "y": 0.99})
    return fig.to_json()
