"""Preset MMX QSO campaign: five planar QSOs stepping down from high to low, plus one 3D QSO.

Sources (mmx-facts.md §4.1/§4.2):

* equatorial QSOs at **five different altitudes**, plus a **3D-QSO** for the polar regions [N21];
* operations start at a high QSO and **step down** to lower ones [YA25];
* only the name **QSO-H** (high) is published [M21]; QSO-M, QSO-LA, QSO-LB, QSO-LC are the
  placeholder names of mmx-facts §4.2 and are **UNCONFIRMED**;
* the 3D-QSO of Nakamura et al. Fig. 12 uses out-of-plane amplitudes z = ±20 or ±30 km and
  phase parameters β = −5° and 21° [N21].

ASSUMPTIONS (the published QSO sizes, Nakamura et al. 2021 Table 1, could not be read):
the sizes below (|x| at the Mars-side crossing of the circular-Hill QSO, i.e. the radial
semi-axis) are chosen by us to span the family from far outside Phobos' Hill sphere
(r_H ≈ 16.6 km) down to about 7 km above the ellipsoid (6.5 km above the Ernst shape), avoiding the
29–30.5 km band where the hand-off with the old MAR080 mean-element Phobos was not bounded over 30 days (with
the integrated ephemeris it is; see docs/qso.md, "Hand-off"). QSO-LC (20 km) is inside the 22 km switch radius
of degree 8 and is refused by the hand-off. The 3D QSO
is built around QSO-M with Z = 20 km and β = −5° (one of the Fig. 12 pairs).

Model: circular Hill problem with the Phobos SH field (:mod:`mmxsim.orbits.qso`); the
designs are handed to the full model with :mod:`mmxsim.orbits.handoff`.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError
from .qso import QSO, qso_3d, qso_family


@dataclass(frozen=True)
class PresetSpec:
    name: str
    size_km: float  # radial size of the planar (base) QSO, ASSUMPTION
    z_km: float | None = None  # out-of-plane amplitude (3D only)
    beta_deg: float | None = None
    source: str = ""

    @property
    def is_3d(self) -> bool:
        return self.z_km is not None


# the sizes are in [N21] Table 1, which could not be read (mmx-facts §4.2)
_SIZE_NOTE = "size ASSUMED (the published sizes, [N21] Table 1, not read)"
MMX_CAMPAIGN: tuple = (
    PresetSpec("QSO-H", 100.0, source=f"name [M21]; five altitudes [N21]; {_SIZE_NOTE}"),
    PresetSpec("QSO-M", 50.0, source=f"name UNCONFIRMED; {_SIZE_NOTE}"),
    PresetSpec("QSO-LA", 35.0, source=f"name UNCONFIRMED; {_SIZE_NOTE}"),
    PresetSpec("QSO-LB", 25.0, source=f"name UNCONFIRMED; {_SIZE_NOTE}"),
    PresetSpec("QSO-LC", 20.0, source=f"name UNCONFIRMED; {_SIZE_NOTE}"),
    PresetSpec("3D-QSO", 50.0, z_km=20.0, beta_deg=-5.0,
               source="3D-QSO [N21]; Z = 20 km, beta = -5 deg from [N21] Fig. 12; base size ASSUMED (QSO-M)"),
)


@dataclass
class CampaignOrbit:
    spec: PresetSpec
    qso: QSO

    def row(self) -> str:
        q, s = self.qso, self.spec
        z = f"{s.z_km:g}" if s.is_3d else "0"
        b = f"{s.beta_deg:g}" if s.is_3d else "-"
        stab = "yes" if q.stable else "no"
        if s.is_3d:
            stab += " (1-rev STM, indicator)"
        return (f"| {s.name} | {'3D' if s.is_3d else 'planar'} | {s.size_km:g} | {q.radial_semi_axis_km:.2f} "
                f"| {q.along_track_semi_axis_km:.2f} | {z} | {b} | {q.period_s / 3600:.3f} | {q.k_planar:+.3f} "
                f"| {q.k_vertical:+.3f} | {stab} | {q.min_surface_distance_km:.2f} | {s.source} |")


CAMPAIGN_HEADER = ("| name | kind | size km | radial km | along-track km | Z km | beta deg | period h | k_planar "
                   "| k_vertical | stable | min surf. dist km | source / status |\n"
                   "|---|---|---|---|---|---|---|---|---|---|---|---|---|")


@dataclass
class Campaign:
    degree: int
    orbits: list

    def by_name(self, name: str) -> CampaignOrbit:
        for o in self.orbits:
            if o.spec.name == name:
                return o
        raise InputError("name", name, ", ".join(o.spec.name for o in self.orbits))

    def table(self) -> str:
        return CAMPAIGN_HEADER + "\n" + "\n".join(o.row() for o in self.orbits)


def mmx_campaign(degree: int = 8, specs=MMX_CAMPAIGN, n_revs_3d: int = 10) -> Campaign:
    """The preset campaign designed in the circular Hill problem (Phobos SH ``degree``).

    Planar members come from one continuation (:func:`~mmxsim.orbits.qso.qso_family`) over
    the requested sizes, in the order given (high to low); 3D members from
    :func:`~mmxsim.orbits.qso.qso_3d` around the planar member of the same size.
    Raises InputError for an empty or malformed spec list.
    """
    specs = tuple(specs)
    if not specs or not all(isinstance(s, PresetSpec) for s in specs):
        raise InputError("specs", specs, "a non-empty sequence of PresetSpec")
    sizes = sorted({s.size_km for s in specs}, reverse=True)
    fam = qso_family(degree, sizes, on_failure="raise")
    by_size = {round(m.size_km, 9): m for m in fam.members}
    out = []
    for s in specs:
        base = by_size[round(float(s.size_km), 9)]
        q = qso_3d(base, s.z_km, s.beta_deg, n_revs_3d) if s.is_3d else base
        out.append(CampaignOrbit(s, q))
    return Campaign(int(degree), out)


__all__ = ["PresetSpec", "MMX_CAMPAIGN", "CampaignOrbit", "Campaign", "CAMPAIGN_HEADER", "mmx_campaign"]
