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


def png_bytes(fig, dpi: int = 100, compress_level: int = 3) -> bytes:
    """PNG of a Matplotlib ``Figure`` drawn with the Agg canvas (no GUI backend): the pixels of
    ``fig.savefig(format="png", dpi=dpi)``, in a smaller and cheaper file.

    - One draw: at the figure's own dpi the canvas draws once (its layout engine, tight or
      constrained, runs inside that draw), where ``savefig`` with a layout engine draws the whole
      figure twice; a figure laid out by an explicit ``tight_layout()`` keeps only a placeholder
      engine, which savefig would also honour with that extra draw. Another dpi goes through
      ``savefig`` (without the placeholder).
    - An opaque figure (every alpha 255, as with the default white face) is written as RGB, not
      RGBA, and with zlib level ``compress_level`` (3; Pillow's default is 6): the same pixels in
      ~6 % fewer bytes for ~60 % of the encoding CPU. The PNG carries the dpi, no "Software" text.
    - The canvas is the figure's own when it already is an Agg canvas: a figure that was given one
      before its ``tight_layout()`` reuses that renderer's cached text metrics.
    - Glyphs are rasterised without FreeType's auto-hinter (``text.hinting: no_hinting`` while it
      draws; Matplotlib's default is ``force_autohint``): the same text, placed at its exact
      sub-pixel outline instead of snapped to the pixel grid, a difference only in the
      anti-aliasing of the letters, for ~13 % less drawing CPU.
    """
    import matplotlib as mpl
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.layout_engine import PlaceHolderLayoutEngine
    from PIL import Image

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    with mpl.rc_context({"text.hinting": "no_hinting"}):
        if fig.dpi == dpi:
            canvas.draw()
            rgba = np.asarray(canvas.buffer_rgba())
        else:
            engine = fig.get_layout_engine()
            idle = isinstance(engine, PlaceHolderLayoutEngine) and not (
                mpl.rcParams["figure.autolayout"] or mpl.rcParams["figure.constrained_layout.use"])
            if idle:  # set_layout_engine(None) removes the engine only when neither rcParam asks for one
                fig.set_layout_engine(None)
            try:
                fig.savefig(io.BytesIO(), format="rgba", dpi=dpi)
            finally:
                if idle:
                    fig.set_layout_engine(engine)
            rgba = np.asarray(canvas.renderer.buffer_rgba())
    img = Image.fromarray(rgba[..., :3] if (rgba[..., 3] == 255).all() else rgba)
    buf = io.BytesIO()
    img.save(buf, format="png", compress_level=compress_level, dpi=(dpi, dpi))
    return buf.getvalue()


def fmt_num(v) -> str:
    """A report cell: yes/no for booleans; floats to 4 significant digits, written out (20730, 0.0123)
    between 1e-3 and 1e6 and in powers of ten (1.2e-07) outside; "not a number" for NaN."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if math.isnan(v):
            return "not a number"
        if v == 0.0 or not math.isfinite(v) or not 1e-3 <= abs(v) < 1e6:
            return f"{v:.4g}"
        digits = max(0, 3 - math.floor(math.log10(abs(v))))
        return f"{round(v, digits):.{digits}f}".rstrip("0").rstrip(".") if digits else f"{round(v):.0f}"
    return str(v)


# Units written at the end of a data key (``peak_heat_flux_MWm2``), longest first: the label shows
# them in parentheses ("Peak heat flux (MW/m²)").
_UNITS = {
    ("km2", "s2"): "km²/s²", ("kg", "m3"): "kg/m³", ("gy", "yr"): "Gy/yr", ("mm", "s2"): "mm/s²",
    ("m", "s2"): "m/s²", ("m", "s"): "m/s", ("km", "s"): "km/s", ("mm", "s"): "mm/s", ("tdb", "s"): "TDB s",
    ("kms",): "km/s", ("ms",): "m/s", ("mwm2",): "MW/m²", ("mjm2",): "MJ/m²", ("kgm2",): "kg/m²", ("km2",): "km²",
    ("deg",): "deg", ("km",): "km", ("m",): "m", ("cm",): "cm", ("mm",): "mm", ("s",): "s", ("kg",): "kg",
    ("g",): "g", ("j",): "J", ("n",): "N", ("h",): "h", ("days",): "days", ("pct",): "%",
}
# statistics written after the quantity (``..._median``, ``..._p99``)
_STATS = {"max": "max", "min": "min", "mean": "mean", "median": "median", "p50": "median", "p05": "5th percentile",
          "p90": "90th percentile", "p95": "95th percentile", "p99": "99th percentile"}
# abbreviations of data keys in words
_WORDS = {"mc": "Monte Carlo", "dv": "Δv", "tof": "time of flight", "c3": "C3", "vinf": "v∞", "moi": "MOI",
          "dla": "declination of the departure asymptote", "fpa": "flight-path angle", "decel": "deceleration",
          "lat": "latitude", "lon": "longitude", "n": "number", "ge": "≥", "gt": ">", "le": "≤", "lt": "<",
          "t": "time", "p": "probability", "frac": "fraction", "cospar": "COSPAR", "qso": "QSO", "gm": "GM",
          "srp": "SRP", "rms": "RMS", "eff": "effective", "liftoffs": "lift-offs", "tdb": "TDB", "utc": "UTC",
          "rp": "periapsis radius", "stderr": "standard error", "sigma": "σ", "std": "standard deviation",
          "vs": "vs", "nav": "navigation", "od": "orbit determination", "id": "id", "hyperbola": "hyperbola",
          "e": "east", "pos": "position", "vel": "velocity", "mmx": "MMX", "min": "minimum", "max": "maximum",
          "semi": "semi-", "dsn": "DSN"}


def label(key, labels: dict | None = None) -> str:
    """A table label in words for a data key: ``labels[key]`` when given, otherwise the key read as
    words with its unit in parentheses and its statistic after a comma
    (``mc_peak_heat_flux_MWm2_max`` -> "Monte Carlo peak heat flux (MW/m²), max"); dotted paths
    (``optimum.tof_days``) give "Optimum: time of flight (days)"."""
    key = str(key)
    if labels and key in labels:
        return labels[key]
    if "." in key:
        parts = [label(p, None) for p in key.split(".")]
        parts[1:] = [p[:1].lower() + p[1:] if p[1:2].islower() else p for p in parts[1:]]
        return parts[0] + ": " + ", ".join(parts[1:])
    toks = [t for t in key.replace("-", "_").split("_") if t]
    if not toks:
        return key
    stats: list[str] = []
    while len(toks) > 1 and toks[-1].lower() in _STATS:
        stats.insert(0, _STATS[toks.pop().lower()])
    unit = ""
    for n in (2, 1):
        if len(toks) > n and tuple(t.lower() for t in toks[-n:]) in _UNITS:
            unit = _UNITS[tuple(t.lower() for t in toks[-n:])]
            del toks[-n:]
            break
    while len(toks) > 1 and toks[-1].lower() in _STATS:
        stats.insert(0, _STATS[toks.pop().lower()])
    words = " ".join(_WORDS.get(t.lower(), t) if (t.islower() or t.lower() in ("mwm2", "mjm2")) else t
                     for t in toks)
    words = words.replace("semi- ", "semi-")
    text = words[:1].upper() + words[1:]
    if unit:
        text += f" ({unit})"
    if stats:
        text += ", " + ", ".join(stats)
    return text


def words(name) -> str:
    """A value that is a data name (``giant_impact``, ``node_limit``) in words: underscores as spaces."""
    return str(name).replace("_", " ")


_STATE = {"x": "position x", "y": "position y", "z": "position z", "vx": "velocity x", "vy": "velocity y",
          "vz": "velocity z"}
_EMPIRICAL = {"r": "radial", "t": "along-track", "n": "normal"}


def param_label(name) -> str:
    """An estimated parameter's name in words (``phobos:gm`` -> "Phobos GM", ``phobos:C20`` ->
    "Phobos C̄20", ``srp:cr_area_over_mass`` -> "SRP Cr·A/m", ``bias:DSS-14`` -> "range bias DSS-14",
    ``emp:r`` -> "empirical acceleration, radial")."""
    name = str(name)
    if name in _STATE:
        return _STATE[name]
    group, _, rest = name.partition(":")
    if not rest:
        return words(name)
    if group == "phobos":
        if rest == "gm":
            return "Phobos GM"
        if rest[:1] in "CS" and rest[1:].isdigit():
            return f"Phobos {rest[0]}\u0304{rest[1:]}"
        return f"Phobos {words(rest)}"
    if group == "srp":
        return "SRP Cr·A/m" if rest == "cr_area_over_mass" else f"SRP {words(rest)}"
    if group == "bias":
        return f"range bias {rest}"
    if group == "emp":
        return f"empirical acceleration, {_EMPIRICAL.get(rest, words(rest))}"
    return f"{words(group)} {words(rest)}"


def kv_table(caption: str, d: dict, skip=("figures", "grids"), labels: dict | None = None) -> Table:
    """A two-column table (quantity, value) of the scalar leaves of a nested dict, each named by
    :func:`label` (``labels`` overrides: data key or dotted path -> label in words). String values
    are shown in words (:func:`words`)."""
    rows = []

    def walk(prefix, x):
        for k, v in x.items():
            if k in skip:
                continue
            name = f"{prefix}{k}"
            if isinstance(v, dict):
                walk(name + ".", v)
            elif isinstance(v, (int, float, str, bool)) or v is None:
                rows.append((label(name, labels), words(v) if isinstance(v, str) else fmt_num(v)))

    walk("", d)
    return Table(caption, ("Quantity", "Value"), rows)


def figures_png(figs, prefix: str = "", captions: dict | None = None) -> list[tuple[str, bytes]]:
    """(caption, PNG) of each Matplotlib figure of a dict or a list: ``captions[key]`` (a sentence that
    says what is plotted), else the key in words."""
    items = figs.items() if isinstance(figs, dict) else enumerate(figs)
    return [(f"{prefix}{(captions or {}).get(k) or str(k).replace('_', ' ')}", png_bytes(f)) for k, f in items]


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
