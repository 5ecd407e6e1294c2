"""The ``observation`` analysis: coverage of Phobos by TENGOO and OROCHI (JAXA) at given resolutions, by
latitude band, and the LIDAR's ranging availability along the run (observation planning).

One file (docs/adding_an_analysis.md): its settings, its run function and ``ANALYSIS``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from ..results import Section, Table
from ..scenario import PhobosShape, Problems, SchemaModel, got
from ._common import phobos_fixed_geometry, png_bytes, words
from ._plugin import Analysis


class ObservationAnalysis(SchemaModel):
    """Observation planning along the run: TENGOO, OROCHI (JAXA) coverage at given resolutions and
    illumination, by latitude band, and the LIDAR's ranging availability and ground track."""

    shape: PhobosShape = Field("thomas3k", description="Phobos shape model: thomas3k | thomas32k | ernst")
    instruments: tuple[Literal["TENGOO", "OROCHI", "LIDAR"], ...] = Field(
        ("TENGOO", "OROCHI", "LIDAR"), min_length=1, description="instruments: TENGOO, OROCHI, LIDAR")
    step_s: float = Field(300.0, ge=10, le=86400, description="sampling of the run, s")
    gsd_m: tuple[float, ...] = Field((0.3, 1.0, 3.0, 10.0, 30.0, 100.0), min_length=1,
                                     description="ground sampling distances of the coverage fractions, m/pixel")
    max_incidence_deg: float | None = Field(None, ge=0, le=90, description="keep images with incidence below, deg")
    max_emission_deg: float | None = Field(None, ge=0, le=90, description="keep images with emission below, deg")
    band_deg: float = Field(30.0, ge=5, le=90, description="latitude band width, deg")
    occlusion: bool = Field(True, description="self-occlusion and self-shadowing by ray casting")

    @field_validator("gsd_m")
    @classmethod
    def _gsd(cls, v):
        bad = [((i,), x, got(x, "a GSD > 0 m/pixel")) for i, x in enumerate(v) if not x > 0]
        if bad:
            raise Problems(bad)
        return v


def _caption(key: str) -> str:
    """A sentence for each figure of the coverage plan (``coverage_<camera>``, ``lidar_track``)."""
    if key.startswith("coverage_"):
        return (f"{key[len('coverage_'):]} coverage map: best ground sampling distance reached on each part of "
                "Phobos (latitude, east longitude).")
    if key == "lidar_track":
        return "LIDAR ground track on Phobos and its range against time along the run."
    return f"Observation planning: {words(key)}."


def _lidar_text(lid: dict) -> str:
    """The LIDAR's availability along the run in words."""
    def span(key, unit, fmt="{:.3g}"):
        v = lid.get(key)
        return f"{fmt.format(v[0])}-{fmt.format(v[1])} {unit}" if isinstance(v, (tuple, list)) and len(v) == 2 else "-"

    parts = [f"{lid.get('instrument', 'LIDAR')} over {lid.get('epochs', '?')} epochs"]
    if isinstance(lid.get("fraction_available"), (int, float)):
        parts.append(f"ranging available at {100 * lid['fraction_available']:.0f} % of the epochs")
    if isinstance(lid.get("shots_at_max_rate"), (int, float)):
        parts.append(f"{lid['shots_at_max_rate']:.3g} shots at the highest rate")
    parts += [f"range {span('range_km_min_max', 'km')}", f"footprint {span('footprint_m_min_max', 'm')}",
              f"accuracy {span('accuracy_m_min_max', 'm')}"]
    return "LIDAR (JAXA): " + ", ".join(parts) + "."


def observation_section(cfg, scenario, ctx=None) -> Section:
    """Coverage of Phobos by TENGOO and OROCHI (JAXA) at given resolutions, by latitude band, and
    the LIDAR's ranging availability along the run (observation planning)."""
    from ..bodies.shapes import phobos_shape
    from ..instruments.planning import plan_coverage

    shape = phobos_shape(cfg.shape)
    t, sc, sun, mars = phobos_fixed_geometry(ctx, cfg.step_s, "observation")
    plan = plan_coverage(shape, t, sc, sun, mars, instruments=cfg.instruments, gsd_levels_m=cfg.gsd_m,
                         max_incidence_deg=cfg.max_incidence_deg, max_emission_deg=cfg.max_emission_deg,
                         band_deg=cfg.band_deg, occlusion=cfg.occlusion)
    summ = plan.summary()
    tables = []
    for name, cov in plan.cameras.items():
        bands = cov.by_latitude(cfg.gsd_m[0], cfg.band_deg)
        head = ("GSD at most (m/pixel)", "Whole surface (%)",
                *(f"Latitude {lo:+.0f}° to {hi:+.0f}° (%)" for lo, hi, _ in bands))
        rows = []
        for g in cfg.gsd_m:
            rows.append((f"{g:g}", f"{100 * cov.fraction(g):.2f}",
                         *(f"{100 * f:.2f}" for _, _, f in cov.by_latitude(g, cfg.band_deg))))
        rows.append(("any", f"{100 * cov.fraction(float('inf')):.2f}",
                     *(f"{100 * f:.2f}" for _, _, f in cov.by_latitude(float("inf"), cfg.band_deg))))
        tables.append(Table(f"{name}: share of the area covered (lit, in view, in the field) by latitude band",
                            head, rows))
    lim = []
    if cfg.max_incidence_deg is not None:
        lim.append(f"incidence < {cfg.max_incidence_deg:g} deg")
    if cfg.max_emission_deg is not None:
        lim.append(f"emission < {cfg.max_emission_deg:g} deg")
    paras = [f"Observation planning along the run: {len(t)} nadir-pointed epochs over {(t[-1] - t[0]) / 3600:.1f} h "
             f"on the {cfg.shape} shape ({len(shape.faces)} facets), self-occlusion and shadows "
             f"{'by ray casting' if cfg.occlusion else 'not tested (facing only)'}, Mars eclipses included"
             + (f", images kept with {' and '.join(lim)}" if lim else "") + ". A facet counts as covered at "
             "a GSD when some image saw it lit, in view and inside the field with GSD = range x IFOV / cos(e) "
             "at or below it (TENGOO IFOV 5.9 urad [K22]; OROCHI IFOV assumed 1 mrad)."]
    lid = summ.get("LIDAR")
    if lid:
        paras.append(_lidar_text(lid))
    head = "Observation planning: " + "; ".join(
        f"{name} sees {100 * cov.fraction(float('inf')):.1f} % of Phobos" for name, cov in plan.cameras.items())
    if lid and isinstance(lid.get("fraction_available"), (int, float)):
        head += f"; LIDAR ranges at {100 * lid['fraction_available']:.0f} % of the epochs"
    return Section(
        key="observation", title="Observation planning: cameras and LIDAR (JAXA)", headline=head, paragraphs=paras,
        tables=tables,
        figures=[(_caption(k), png_bytes(f)) for k, f in plan.figures().items()],
        data={"epochs": len(t), "instruments": summ},
        assumptions=["OROCHI IFOV 1 mrad is an assumption (pixel count unpublished in our sources)",
                     "nadir pointing toward Phobos' centre; LIDAR accuracy linear in range between the published "
                     "end points"],
    )


ANALYSIS = Analysis(
    name="observation",
    settings=ObservationAnalysis,
    run=observation_section,
    description="camera coverage by resolution, illumination and latitude; LIDAR availability",
    order=90,
    phases=("QSO campaign",),
    partners=(("JAXA", "TENGOO and OROCHI cameras, LIDAR"),),
    quick={"shape": "thomas3k", "step_s": 1800.0},
)
