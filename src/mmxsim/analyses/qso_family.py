"""The ``qso_family`` analysis: the planar QSO family (:func:`mmxsim.orbits.qso.qso_family`) as a section.

One file (docs/adding_an_analysis.md): its settings, its run function and ``ANALYSIS``.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from ..results import Section, Table
from ..scenario import Problems, SchemaModel, got
from ._plugin import Analysis


class QsoFamilyAnalysis(SchemaModel):
    """The planar QSO family in the circular Hill problem (CNES proximity-operations design)."""

    degree: int = Field(10, ge=0, le=10, description="Phobos gravity: 0 (point mass) or SH degree 1..10")
    sizes_km: tuple[float, ...] = Field(
        (200.0, 100.0, 50.0, 30.0, 20.0), min_length=1, max_length=40,
        description="QSO sizes (radial semi-axis at the Mars-side section crossing), km, each in (13, 1000]")

    @field_validator("sizes_km")
    @classmethod
    def _sizes(cls, v: tuple) -> tuple:
        bad = [((i,), x, got(x, "a size in km with 13 < size <= 1000 (outside Phobos)"))
               for i, x in enumerate(v) if not (13.0 < x <= 1000.0)]
        if bad:
            raise Problems(bad)
        return v


def qso_family_section(cfg, scenario, ctx=None) -> Section:
    """The planar QSO family (:func:`mmxsim.orbits.qso.qso_family`) as a section."""
    import tempfile
    from pathlib import Path

    from ..orbits.qso import qso_family, write_family

    fam = qso_family(cfg.degree, list(cfg.sizes_km), on_failure="stop")
    header = ("Size (km)", "Period (h)", "Radial semi-axis (km)", "Along-track semi-axis (km)",
              "Stability index k, in plane", "Stability index k, out of plane", "Stable",
              "Closest to the surface (km)", "Closure after one period (m)")
    rows = [(f"{m.size_km:.2f}", f"{m.period_s / 3600:.4f}", f"{m.radial_semi_axis_km:.2f}",
             f"{m.along_track_semi_axis_km:.2f}", f"{m.k_planar:+.4f}", f"{m.k_vertical:+.4f}",
             "yes" if m.stable else "no", f"{m.min_surface_distance_km:.2f}", f"{m.closure_position_m:.1e}")
            for m in fam.members]
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_family(fam, tmp)
        files = {"qso_family.csv": Path(paths["csv"]).read_bytes(), "qso_family.png": Path(paths["plot"]).read_bytes()}
    model = "a point mass" if cfg.degree == 0 else f"its spherical harmonics to degree {cfg.degree}"
    paras = [f"Periodic planar QSOs of Phobos in the circular Hill problem of Mars-Phobos, with Phobos' gravity as "
             f"{model}; found by differential correction and continuation in size; stability from the monodromy "
             "matrix (stable when |k| < 2 for both pairs)."]
    marked = [m for m in fam.members if m.inside_switch_radius]
    if marked:
        paras.append("Not valid to 1e-3: the " + ", ".join(f"{m.size_km:g}" for m in marked)
                     + f" km orbits come inside {marked[0].switch_radius_km:g} km of Phobos' centre (closest "
                     + ", ".join(f"{m.min_center_distance_km:.1f}" for m in marked)
                     + f" km), where the degree-{cfg.degree} harmonics differ from the exact polyhedron by more "
                       "than 1e-3 (divergent inside the 13.94 km Brillouin sphere); their rows are computed with the "
                       "truncated series. Propagations switch to the polyhedron there (docs/qso.md).")
    if len(fam.members) < len(cfg.sizes_km):
        paras.append(f"Continuation stopped: {fam.stopped_reason}.")
    return Section(
        key="qso_family", title="QSO family (proximity operations design)", headline=_headline(fam), paragraphs=paras,
        tables=[Table("Planar QSO family", header, rows)],
        figures=[("Planar QSO family: the orbits around Phobos in its Hill frame (radial and along-track, km).",
                  files["qso_family.png"])],
        data={"degree": cfg.degree,
              "members": [{"size_km": m.size_km, "period_s": m.period_s, "k_planar": m.k_planar,
                           "k_vertical": m.k_vertical, "stable": bool(m.stable),
                           "min_surface_distance_km": m.min_surface_distance_km} for m in fam.members],
              "stopped_reason": fam.stopped_reason},
        files=files,
        assumptions=["circular Hill problem: Mars point mass, Phobos on a circular orbit, no Sun, no Mars J2 "
                     "(the full model of the run above has them)"],
    )


def _headline(fam) -> str:
    """How many members, their size span and how many are stable."""
    m = fam.members
    if not m:
        return f"QSO family: no member found ({fam.stopped_reason})"
    sizes = [x.size_km for x in m]
    periods = [x.period_s / 3600 for x in m]
    return (f"QSO family: {len(m)} planar QSOs of {min(sizes):g}-{max(sizes):g} km, periods "
            f"{min(periods):.2f}-{max(periods):.2f} h, {sum(bool(x.stable) for x in m)} of {len(m)} stable")


def quick(cfg: QsoFamilyAnalysis) -> dict:
    """Quick look: the first three QSOs of the family."""
    return {"sizes_km": list(cfg.sizes_km)[:3]}


ANALYSIS = Analysis(
    name="qso_family",
    settings=QsoFamilyAnalysis,
    run=qso_family_section,
    description="planar QSO family table and plot",
    order=10,
    phases=("QSO campaign",),
    partners=(
        ("JAXA", "spacecraft, mission design, proximity operations"),
        ("CNES", "proximity-operations flight dynamics (QSO design, transfers)"),
    ),
    quick=quick,
)
