"""The ``transfer`` analysis: minimum-delta-v two-impulse QSO transfer
(:func:`mmxsim.orbits.transfers.optimal_transfer`).

One file (docs/adding_an_analysis.md): its settings, its run function and ``ANALYSIS``.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from ..results import Section, Table
from ..scenario import SchemaModel
from ._common import png_bytes
from ._plugin import Analysis


class TransferAnalysis(SchemaModel):
    """A minimum-delta-v two-impulse transfer between two planar QSOs (Hill problem, Phobos SH)."""

    from_size_km: float = Field(100.0, gt=13, le=1000, description="departure QSO size, km, (13, 1000]")
    to_size_km: float = Field(50.0, gt=13, le=1000, description="arrival QSO size, km, (13, 1000]")
    degree: int = Field(2, ge=0, le=10, description="Phobos gravity: 0 (point mass) or SH degree 1..10")
    tof_max_days: float = Field(1.0, gt=0, le=5, description="longest time of flight searched, days, (0, 5]")
    search_points: int = Field(4, ge=1, le=16, description="phases per orbit in the grid search, 1..16")


def transfer_section(cfg, scenario, ctx=None) -> Section:
    """Minimum-delta-v two-impulse QSO transfer (:func:`mmxsim.orbits.transfers.optimal_transfer`)."""
    from ..orbits.qso import periodic_qso, sample_orbit
    from ..orbits.transfers import PUBLISHED, optimal_transfer

    dep = periodic_qso(cfg.from_size_km, cfg.degree)
    arr = periodic_qso(cfg.to_size_km, cfg.degree)
    tr = optimal_transfer(dep, arr, cfg.tof_max_days * 86400.0, n_phase=cfg.search_points, n_tof=3,
                          refine=True, maxiter=30, n_starts=1)
    pub = PUBLISHED["high_to_low"]
    rows = [("ours", f"{cfg.from_size_km:g} -> {cfg.to_size_km:g} km", f"{tr.dv_total_m_s:.3f}",
             f"{tr.tof_days:.3f}", f"{1e3 * float(np.linalg.norm(tr.dv1)):.3f}",
             f"{1e3 * float(np.linalg.norm(tr.dv2)):.3f}", f"{tr.min_surface_distance_km:.2f}"),
            ("published", pub["text"], f"< {pub['dv_m_s']:g} (whole step-down)", f"< {pub['tof_days']:g}", "", "",
             pub["source"])]
    from matplotlib.figure import Figure
    from matplotlib.patches import Ellipse

    from ..orbits.qso import PHOBOS_RADII

    fig = Figure(figsize=(6.5, 6.5))
    ax = fig.add_subplot(111)
    for q, lab in ((dep, "departure QSO"), (arr, "arrival QSO")):
        xs = sample_orbit(q)
        ax.plot(xs[:, 0], xs[:, 1], lw=0.8, label=lab)
    tx = tr.trajectory
    ax.plot(tx[:, 1], tx[:, 2], "k-", lw=1.2, label=f"transfer, {tr.dv_total_m_s:.2f} m/s")
    ax.add_patch(Ellipse((0, 0), 2 * PHOBOS_RADII[0], 2 * PHOBOS_RADII[1], color="0.5"))
    ax.set_aspect("equal")
    ax.set_xlabel("x, radial out from Mars [km]")
    ax.set_ylabel("y, along track [km]")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return Section(
        key="transfer", title="QSO transfer (two impulses)",
        paragraphs=["Two-impulse transfer between planar QSOs, solved by Newton iterations on the heyoka "
                    "state-transition matrix and optimised over departure/arrival phases and time of flight "
                    "(grid search, then Nelder-Mead: a local optimum). The published bound covers a whole "
                    "high-to-low step-down; docs/transfers.md compares complete campaigns."],
        tables=[Table("Transfer beside the published value", ("", "case", "total dv m/s", "tof days", "dv1 m/s",
                                                            "dv2 m/s", "min surface distance km / source"), rows)],
        figures=[("Transfer in the Phobos Hill frame", png_bytes(fig))],
        data={"dv_total_m_s": tr.dv_total_m_s, "tof_days": tr.tof_days, "residual_m": tr.residual_m,
              "from_size_km": cfg.from_size_km, "to_size_km": cfg.to_size_km, "degree": cfg.degree},
        assumptions=["impulsive burns; circular Hill problem with Phobos' harmonics (no eccentricity, Sun, "
                     "Mars J2); QSO sizes are scenario choices (the MMX sizes are unpublished)"],
    )


ANALYSIS = Analysis(
    name="transfer",
    settings=TransferAnalysis,
    run=transfer_section,
    description="QSO-to-QSO transfer beside the published values",
    order=40,
    phases=("QSO campaign",),
    partners=(("CNES", "proximity-operations flight dynamics (QSO design, transfers)"),),
    quick={"search_points": 1, "tof_max_days": 0.5},
)
