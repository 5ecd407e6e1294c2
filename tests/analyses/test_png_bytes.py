"""png_bytes: the pixels Matplotlib's savefig draws (one draw instead of two), RGB when opaque."""

import io

import matplotlib as mpl
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from mmxsim.analyses import png_bytes


def _figure(layout):
    fig = Figure(figsize=(5, 3.2), layout=None if layout == "explicit" else layout)
    axs = fig.subplots(1, 2)
    x = np.linspace(0.0, 10.0, 300)
    axs[0].semilogy(x, 1e-3 + x**3, marker=".", label="cubic")
    axs[0].set_title("log axis, σ/|value|")
    axs[0].legend()
    axs[1].scatter(x, np.sin(x), c=x, s=4)
    axs[1].set_xlabel("days since the start")
    axs[1].set_ylabel("C3 (km²/s²)")
    if layout == "explicit":
        fig.tight_layout()
    return fig


def _savefig_pixels(fig, dpi):
    buf = io.BytesIO()
    with mpl.rc_context({"text.hinting": "no_hinting"}):
        fig.savefig(buf, format="png", dpi=dpi)
    return np.asarray(Image.open(buf).convert("RGBA"))


@pytest.mark.parametrize("layout", [None, "explicit", "tight", "constrained"])
def test_the_pixels_are_savefigs(layout):
    png = png_bytes(_figure(layout))
    img = Image.open(io.BytesIO(png))
    assert img.mode == "RGB"  # opaque: no alpha channel written
    assert img.info["dpi"] == pytest.approx((100, 100), abs=0.01)
    ref = _savefig_pixels(_figure(layout), 100)
    assert np.array_equal(np.asarray(img.convert("RGBA")), ref)


def test_another_dpi_and_a_figure_that_has_its_canvas():
    fig = _figure("explicit")
    png = png_bytes(fig, dpi=60)
    img = Image.open(io.BytesIO(png))
    assert img.size == (300, 192)
    assert np.array_equal(np.asarray(img.convert("RGBA")), _savefig_pixels(_figure("explicit"), 60))
    fig2 = Figure(figsize=(2, 1))
    canvas = FigureCanvasAgg(fig2)
    fig2.subplots().plot([0, 1], [1, 0])
    png_bytes(fig2)
    assert fig2.canvas is canvas


def test_a_transparent_figure_keeps_its_alpha():
    fig = Figure(figsize=(2, 1), facecolor=(1, 1, 1, 0))
    fig.subplots().plot([0, 1], [1, 0])
    img = Image.open(io.BytesIO(png_bytes(fig)))
    assert img.mode == "RGBA"
    assert np.asarray(img)[..., 3].min() == 0
