"""The ``megane`` analysis: MEGANE (NASA; JHU/APL) count rates and abundances along the run, precision per
QSO.

One file (docs/adding_an_analysis.md): its settings, its run function and ``ANALYSIS``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, field_validator

from ..errors import MmxsimError
from ..results import Section, Table
from ..scenario import PhobosShape, Problems, SchemaModel, got
from ._common import phobos_fixed_geometry, png_bytes
from ._plugin import Analysis


class MeganeAnalysis(SchemaModel):
    """NASA's MEGANE along the run (count rates, retrieved abundances) and the hours each QSO
    needs to reach the precision targets."""

    shape: PhobosShape = Field("thomas3k", description="Phobos shape model: thomas3k | thomas32k | ernst")
    composition: Literal["CI", "BSM", "MARS_SURFACE"] | dict[str, float] = Field(
        "CI", description="Phobos surface composition: CI | BSM | MARS_SURFACE or {element: weight fraction}")
    step_s: float = Field(600.0, ge=10, le=86400, description="sampling of the run for the counts, s")
    gcr_factor: float = Field(1.0, gt=0, le=5, description="cosmic-ray flux relative to the solar-cycle mean")
    qso_sizes_km: tuple[float, ...] = Field((100.0, 50.0, 30.0, 20.0), min_length=1,
                                            description="QSOs of the precision table, km")
    targets_pct: tuple[float, ...] = Field((10.0, 20.0, 30.0), min_length=1,
                                           description="relative 1-sigma precision targets, %, (0, 100]")
    seed: int = Field(0, ge=0, description="random seed of the simulated counts")

    @field_validator("composition", mode="before")
    @classmethod
    def _composition(cls, v):
        from ..instruments.megane import COMPOSITIONS, composition_matrix

        allowed = " | ".join(COMPOSITIONS) + " or {element: weight fraction}"
        if isinstance(v, str):
            if v not in COMPOSITIONS:
                raise Problems([((), v, got(v, allowed))])
        elif isinstance(v, dict):
            try:
                composition_matrix({str(k): float(x) for k, x in v.items()}, 1)
            except (MmxsimError, TypeError, ValueError) as exc:
                raise Problems([((), v, got(v, f"{allowed} ({getattr(exc, 'allowed', exc)})"))]) from None
        else:
            raise Problems([((), v, got(v, allowed))])
        return v

    @field_validator("qso_sizes_km")
    @classmethod
    def _sizes(cls, v):
        bad = [((i,), x, got(x, "a QSO size in (13, 1000] km")) for i, x in enumerate(v) if not 13 < x <= 1000]
        if bad:
            raise Problems(bad)
        return v

    @field_validator("targets_pct")
    @classmethod
    def _targets(cls, v):
        bad = [((i,), x, got(x, "a precision in (0, 100] %")) for i, x in enumerate(v) if not 0 < x <= 100]
        if bad:
            raise Problems(bad)
        return v


def megane_section(cfg, scenario, ctx=None) -> Section:
    """MEGANE (NASA; JHU/APL) count rates and abundances along the run, precision per QSO."""
    from ..bodies.shapes import phobos_shape
    from ..instruments.megane import megane_along, precision_table

    shape = phobos_shape(cfg.shape)
    t, sc, _sun, mars = phobos_fixed_geometry(ctx, cfg.step_s, "megane")
    res = megane_along(shape, t, sc, cfg.composition, gcr_factor=cfg.gcr_factor, mars_pos_km=mars,
                       rng=np.random.default_rng(cfg.seed))
    targets = tuple(p / 100.0 for p in cfg.targets_pct)
    tab = precision_table(shape, cfg.qso_sizes_km, cfg.composition, targets, gcr_factor=cfg.gcr_factor)
    rows = []
    for el, (s, m, c) in res.element_rates().items():
        v, sg = res.abundances[el]
        mod = res.model_abundance[el]
        rows.append((el, f"{s:.3g}", f"{m:.3g}", f"{c:.3g}", f"{mod:.4g}", f"{v:.4g} ± {sg:.2g}",
                     f"{100 * res.relative_sigma[el]:.3g}"))
    prec_rows = []
    for qi, q in enumerate(tab.qso_sizes_km):
        for ei, el in enumerate(tab.elements):
            prec_rows.append((f"{q:g}", el, *(f"{h:.3g}" for h in tab.hours[qi, ei])))
    figs = res.figures()
    hours = (t[-1] - t[0]) / 3600.0
    comp = cfg.composition if isinstance(cfg.composition, str) else "user-given"
    paras = [
        f"MEGANE (NASA, built by JHU/APL) along the run: {len(t)} samples over {hours:.1f} h in the Phobos "
        f"body-fixed frame, surface composition {comp} on the {cfg.shape} shape, Mars as a background source "
        f"at its true position, cosmic-ray factor {cfg.gcr_factor:g}. Counts are simulated (Poisson, seed "
        f"{cfg.seed}) and the abundances retrieved from them, with 1-sigma errors.",
        "Line yields of neutron-induced lines, the detector's effective area, resolution and continuum are "
        "ASSUMPTIONS from heritage instruments (MEGANE's own values are unpublished; docs/megane.md): read the "
        "hours as order-of-magnitude, their ratios between QSOs and elements as the model's result.",
    ]
    best = min(res.relative_sigma, key=lambda e: res.relative_sigma[e])
    qi = int(min(range(len(tab.qso_sizes_km)), key=lambda i: tab.qso_sizes_km[i]))
    ei = tab.elements.index("Fe") if "Fe" in tab.elements else 0
    head = (f"MEGANE: {tab.elements[ei]} to {cfg.targets_pct[0]:g} % (1σ) in {tab.hours[qi, ei, 0]:.3g} h at "
            f"{tab.qso_sizes_km[qi]:g} km; along this run {best} retrieved to "
            f"{100 * res.relative_sigma[best]:.2g} % in {hours:.0f} h")
    return Section(
        key="megane", title="MEGANE gamma rays and neutrons (NASA)", headline=head, paragraphs=paras,
        tables=[Table("Along the run: mean rates (counts/s) and retrieved abundances (weight fraction)",
                      ("Element", "Rate from Phobos", "Rate from Mars", "Continuum rate", "Model abundance",
                       "Retrieved abundance ± 1σ", "Relative error (%)"), rows),
                Table("Hours in each QSO to reach each relative precision (1σ; linear Hill ellipse)",
                      ("QSO size (km)", "Element", *(f"{p:g} % (h)" for p in cfg.targets_pct)), prec_rows)],
        figures=[("MEGANE count rates from Phobos against time along the run (gamma-ray lines; neutrons dashed).",
                  png_bytes(figs[0])),
                 ("Relative 1σ abundance error of each element against live time along the run.",
                  png_bytes(figs[1])),
                 ("Relative 1σ abundance error against hours spent in each QSO, one panel per QSO size.",
                  png_bytes(tab.figure()))],
        data={"samples": len(t), "hours": hours, "rates": res.element_rates(),
              "abundances": res.abundances, "relative_sigma": res.relative_sigma,
              "precision_hours": {f"{q:g}": {el: dict(zip((f"{p:g}" for p in cfg.targets_pct),
                                                         map(float, tab.hours[qi, ei])))
                                             for ei, el in enumerate(tab.elements)}
                                  for qi, q in enumerate(tab.qso_sizes_km)}},
        assumptions=["MEGANE detector, line yields and continuum: heritage values, ASSUMPTIONS (docs/megane.md)",
                     "Mars gamma-ray lines from bulk silicate Mars with Odyssey GRS Si and H; not occulted by "
                     "Phobos (an upper bound)"],
    )


ANALYSIS = Analysis(
    name="megane",
    settings=MeganeAnalysis,
    run=megane_section,
    description="MEGANE count rates along the run, precision per QSO",
    order=70,
    phases=("QSO campaign",),
    partners=(("NASA", "MEGANE gamma-ray and neutron spectrometer (JHU/APL, LLNL)"),),
    quick={"shape": "thomas3k", "step_s": 3600.0},
)
