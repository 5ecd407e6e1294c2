"""The ``mirs`` analysis: MIRS (CNES, LESIA) spectra, SNR, band detectability and coverage along the run.

One file (docs/adding_an_analysis.md): its settings, its run function and ``ANALYSIS``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ..results import Section, Table
from ..scenario import PhobosShape, SchemaModel
from ._common import phobos_fixed_geometry, png_bytes, science_windows, words
from ._plugin import Analysis


class MirsAnalysis(SchemaModel):
    """CNES' MIRS along the run: spectra with thermal emission, SNR, band detectability, coverage."""

    shape: PhobosShape = Field("thomas3k", description="Phobos shape model: thomas3k | thomas32k | ernst")
    surface: Literal["phobos", "phobos_hydrated", "mixed"] = Field(
        "phobos_hydrated", description="surface spectrum preset: phobos | phobos_hydrated | mixed")
    step_s: float = Field(600.0, ge=10, le=86400, description="sampling of the run, s")
    integration_s: float = Field(2.0, gt=0, le=600, description="integration time per observation, s")
    resolution_m: tuple[float, ...] = Field((5.0, 20.0, 50.0), min_length=1,
                                            description="resolution thresholds of the coverage fractions, m")
    k_sigma: float = Field(3.0, gt=0, le=10, description="detection threshold, sigma")


_GEO = {"range_km": "Range (km)", "incidence_deg": "Incidence (deg)", "emission_deg": "Emission (deg)"}
CAPTIONS = {
    "spectrum": "A MIRS spectrum along the run: radiance and reflectance (I/F) against wavelength, reflected "
                "sunlight and thermal emission.",
    "snr": "MIRS signal-to-noise ratio per 10 nm channel against wavelength, beside the published requirement.",
    "coverage": "MIRS coverage: best ground resolution reached on each part of Phobos (latitude, east longitude).",
}


def mirs_section(cfg, scenario, ctx=None) -> Section:
    """MIRS (CNES, LESIA) spectra, SNR, band detectability and coverage along the run."""
    from ..bodies.shapes import phobos_shape
    from ..instruments.mirs import mirs_along

    shape = phobos_shape(cfg.shape)
    t, sc, sun, mars = phobos_fixed_geometry(ctx, cfg.step_s, "mirs")
    res = mirs_along(shape, t, sc, sun, surface=cfg.surface, mars_pos_km=mars, integration_s=cfg.integration_s,
                     resolution_thresholds_m=cfg.resolution_m, k_sigma=cfg.k_sigma)
    summ = res.summary()
    figs = res.figures()
    rows = []
    for e in summ["epochs"]:
        if e.get("facet") is None:
            continue
        rows.append((f"{(e['t'] - t[0]) / 3600:.2f}", str(e["facet"]),
                     *(f"{e[k]:.3g}" for k in ("range_km", "incidence_deg", "emission_deg") if k in e),
                     f"{e['temperature_K']:.0f}", f"{100 * e['thermal_fraction_3p5um']:.0f}",
                     f"{e['snr_reflected_3p2um']:.0f}",
                     ", ".join(f"{words(k)} {100 * v:.2g} %" for k, v in e["min_depth"].items())))
    geo_cols = [k for k in ("range_km", "incidence_deg", "emission_deg")
                if summ["epochs"] and k in next((e for e in summ["epochs"] if e.get("facet") is not None), {})]
    cov = summ["coverage_fraction"]
    snr = [e["snr_reflected_3p2um"] for e in summ["epochs"] if e.get("facet") is not None]
    head = (f"MIRS: {100 * summ['coverage_fraction_any']:.1f} % of Phobos covered in {len(t)} spectra, SNR at "
            f"3.2 µm {summ['reference_snr_reflected_3p2um']:.0f} on the reference scene"
            + (f" ({min(snr):.0f}-{max(snr):.0f} along the run)" if snr else ""))
    paras = [
        f"MIRS (CNES, built at LESIA) along the run: {len(t)} nadir observations of {cfg.integration_s:g} s on "
        f"the {cfg.shape} shape, surface preset {words(cfg.surface)!r} (Hapke model, Phobos photometry [F24]; "
        "parametric bands), thermal emission from instantaneous radiative equilibrium. Occlusion by the shape: "
        f"{'yes' if summ['occlusion_used'] else 'no'}.",
        "Coverage (lit and visible facets within the 3.3 deg field, area fraction): "
        + ", ".join(f"{k}: {100 * v:.1f} %" for k, v in cov.items())
        + f"; any resolution {100 * summ['coverage_fraction_any']:.1f} %. Reference scene SNR at 3.2 µm in 2 s: "
        f"{summ['reference_snr_reflected_3p2um']:.0f} (published: > 100 up to 3.2 µm in < 2 s; the unpublished "
        "instrument parameters are ASSUMPTIONS chosen to meet it).",
    ]
    return Section(
        key="mirs", title="MIRS near-infrared spectra (CNES)", headline=head, paragraphs=paras,
        tables=[Table("Spectra along the run", ("Time (h)", "Facet", *(_GEO[k] for k in geo_cols),
                                                "Temperature (K)", "Thermal share at 3.5 µm (%)", "SNR at 3.2 µm",
                                                f"Smallest detectable band depth ({cfg.k_sigma:g}σ)"),
                      rows)],
        figures=[(CAPTIONS.get(k, f"MIRS: {words(k)}."), png_bytes(f)) for k, f in figs.items()],
        data={k: v for k, v in summ.items() if k != "epochs"} | {"spectra": summ["epochs"]},
        events=science_windows(t, res.coverage.facets_per_epoch > 0, cfg.step_s, "MIRS observing lit surface",
                               "instruments.mirs"),
        assumptions=["MIRS optics, detector and noise parameters: ASSUMPTIONS tuned to the published SNR "
                     "(docs/mirs.md)", "surface spectra are parametric (no analogue spectra shipped)"],
    )


ANALYSIS = Analysis(
    name="mirs",
    settings=MirsAnalysis,
    run=mirs_section,
    description="MIRS spectra, SNR, band detectability and coverage",
    order=80,
    phases=("QSO campaign",),
    partners=(("CNES", "MIRS near-infrared imaging spectrometer (LESIA)"),),
    quick={"shape": "thomas3k", "step_s": 1800.0},
)
