"""Small helpers shared by the instruments' Matplotlib figures."""

from __future__ import annotations


def light_log_ticks(ax) -> None:
    """Minor ticks at 2 and 5 x 10^k on the log axes of ``ax``. Matplotlib's default, eight per
    decade, costs most of the drawing of plots spanning many decades (each tick is a set of
    artists); the major ticks and labels are unchanged."""
    from matplotlib.ticker import LogLocator

    for axis in (ax.xaxis, ax.yaxis):
        if axis.get_scale() == "log":
            axis.set_minor_locator(LogLocator(base=10.0, subs=(2.0, 5.0)))
