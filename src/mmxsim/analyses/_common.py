"""Helpers shared by the analyses: figures as PNG, tables and JSON-ready copies of a
capability's numbers, the run's geometry in the Phobos body-fixed frame and science windows as
events. Public to plugins through :mod:`mmxsim.analyses`.
"""

from __future__ import annotations

import io
import math

import numpy as np

from ..errors import InputError
from ..results import Table
from ..scenario import Problems, got
from ._events import MissionEvent

def site_pair(m):
    """A site is both latitude and longitude, or neither."""
    if (m.site_lat_deg is None) != (m.site_lon_deg is None):
        raise Problems([(("site_lon_deg",), m.site_lon_deg,
                          got(m.site_lon_deg, "both site_lat_deg and site_lon_deg, or neither"))])
    return m


def png_bytes(fig, dpi: int = 100) -> bytes:
    """PNG of a Matplotlib ``Figure`` drawn with the Agg canvas (no GUI backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def fmt_num(v) -> str:
    """A report cell: yes/no for booleans, 4 significant digits for floats."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    return str(v)


def kv_table(caption: str, d: dict, skip=("figures", "grids")) -> Table:
    """A two-column table of the scalar leaves of a nested dict (``a.b`` names)."""
    rows = []

    def walk(prefix, x):
        for k, v in x.items():
            if k in skip:
                continue
            name = f"{prefix}{k}"
            if isinstance(v, dict):
                walk(name + ".", v)
            elif isinstance(v, (int, float, str, bool)) or v is None:
                rows.append((name, fmt_num(v)))

    walk("", d)
    return Table(caption, ("quantity", "value"), rows)


def figures_png(figs, prefix: str = "") -> list[tuple[str, bytes]]:
    """(caption, PNG) of each Matplotlib figure of a dict (caption from the key) or a list."""
    items = figs.items() if isinstance(figs, dict) else enumerate(figs)
    return [(f"{prefix}{str(k).replace('_', ' ')}", png_bytes(f)) for k, f in items]


def plain(d: dict) -> dict:
    """JSON-ready copy without figures and heavy objects."""
    out = {}
    for k, v in d.items():
        if k in ("figures", "grids"):
            continue
        if isinstance(v, dict):
            out[k] = plain(v)
        elif isinstance(v, (list, tuple)):
            out[k] = [(plain(x) if isinstance(x, dict) else x) for x in v
                      if isinstance(x, (dict, int, float, str, bool)) or x is None]
        elif isinstance(v, (int, float, str, bool)) or v is None:
            out[k] = v
    return out


def phobos_fixed_geometry(ctx: dict | None, step_s: float, what: str):
    """Spacecraft, Sun and Mars positions (N, 3) km in PHOBOS_FIXED, relative to Phobos' centre,
    sampled from the run every ``step_s`` (the run's own samples nearest that spacing)."""
    from ..frames import from_mars_icrf

    if not ctx or ctx.get("t") is None or len(ctx["t"]) < 2:
        raise InputError(f"analyses.{what}", "no trajectory", "a run (the analysis follows the run's trajectory)")
    t_all = np.asarray(ctx["t"], float)
    dt = float(np.median(np.diff(t_all)))
    stride = max(1, int(round(step_s / dt)))
    idx = np.arange(0, len(t_all), stride)
    t = t_all[idx]
    eph, orient = ctx.get("eph"), ctx.get("orientation")
    pfix = ctx.get("phobos_fixed")
    sc = (np.asarray(pfix)[idx, :3] if pfix is not None
          else from_mars_icrf("PHOBOS_FIXED", t, ctx["states"][idx], eph, orient)[:, :3])
    if eph is None:
        from ..ephemeris import default_ephemeris

        eph = default_ephemeris()
    z = np.zeros((len(t), 3))
    sun = from_mars_icrf("PHOBOS_FIXED", t, np.hstack([eph.position("SUN", "MARS", t), z]), eph, orient)[:, :3]
    mars = from_mars_icrf("PHOBOS_FIXED", t, np.zeros((len(t), 6)), eph, orient)[:, :3]
    return t, sc, sun, mars


def science_windows(t, on, step_s: float, name: str, source: str) -> list:
    """Events for the runs of consecutive sampled epochs where ``on`` holds (each sample stands for
    ``step_s`` around it)."""
    on = np.asarray(on, bool)
    out, k = [], 0
    while k < len(on):
        if not on[k]:
            k += 1
            continue
        j = k
        while j + 1 < len(on) and on[j + 1]:
            j += 1
        out.append(MissionEvent(float(t[k]), float(t[j]), "science", name, f"{j - k + 1} samples of {step_s:g} s",
                                source))
        k = j + 1
    return out
