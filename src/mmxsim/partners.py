"""MMX's international partners as data: who provides what, the agreements and dates, and the
mmxsim models that simulate each contribution.

Source: the cooperation list of JAXA's MMX international page [JAXA-INTL] and the documents
cited per row in ``../shared/mmx-facts.md`` §9 (keys in ``sources``). :func:`partner_status`
says, for each contribution, which of its models this installation has, so the report and
``mmxsim partners`` show what was simulated and what is still an extension point.

>>> [p.agency for p in PARTNERS][:3]
['JAXA', 'NASA', 'ESA']
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.util import find_spec

__all__ = ["Contribution", "Partner", "Milestone", "PARTNERS", "partner_status", "partners_table"]


@dataclass(frozen=True)
class Contribution:
    """One contribution and the mmxsim modules that model it."""

    what: str
    models: tuple[str, ...] = ()
    analyses: tuple[str, ...] = ()  # scenario analyses blocks that report on it


@dataclass(frozen=True)
class Milestone:
    date: str  # ISO date (or year-month) as published
    what: str
    source: str


@dataclass(frozen=True)
class Partner:
    agency: str
    country: str
    contributions: tuple[Contribution, ...]
    milestones: tuple[Milestone, ...] = ()
    sources: str = ""


C, M = Contribution, Milestone

#: The partners, from [JAXA-INTL] and mmx-facts §9 (dates as published; sources per row).
PARTNERS: tuple[Partner, ...] = (
    Partner("JAXA", "Japan", (
        C("spacecraft, mission design, proximity operations", ("mmxsim.dynamics", "mmxsim.orbits.qso",
                                                               "mmxsim.orbits.handoff"), ("qso_family",)),
        C("interplanetary legs: launch and return windows, Mars orbit insertion, Deimos flybys",
          ("mmxsim.orbits.lambert", "mmxsim.orbits.windows", "mmxsim.orbits.capture", "mmxsim.orbits.deimos"),
          ("windows", "budget", "deimos")),
        C("TENGOO and OROCHI cameras, LIDAR", ("mmxsim.instruments.cameras", "mmxsim.instruments.lidar"),
          ("observation",)),
        C("landing and C-Sampler coring sampler", ("mmxsim.surface.landing", "mmxsim.surface.maps",
                                                   "mmxsim.surface.touchdown", "mmxsim.surface.samplers"),
          ("landing", "surface_map", "touchdown", "sampling")),
        C("Usuda, Misasa (GREAT) and Uchinoura stations", ("mmxsim.comms.stations", "mmxsim.comms.visibility"),
          ("comms",)),
        C("sample return capsule and Earth return; planetary protection (Category V)",
          ("mmxsim.earth_return.entry", "mmxsim.earth_return.targeting", "mmxsim.science.planetary_protection"),
          ("entry", "planetary_protection")),
    ), (M("2026-10", "launch on H3 from Tanegashima (JFY2026)", "[CNES-MMX], [JAXA-MMX]"),), "[JAXA-MMX]"),
    Partner("NASA", "USA", (
        C("MEGANE gamma-ray and neutron spectrometer (JHU/APL, LLNL)", ("mmxsim.instruments.megane",),
          ("megane", "origin")),
        C("P-Sampler pneumatic sampler (Honeybee Robotics, through PMPO)", ("mmxsim.surface.samplers",),
          ("sampling",)),
        C("Deep Space Network: control and mission-data reception", ("mmxsim.comms.link", "mmxsim.comms.schedule",
                                                                    "mmxsim.comms.datavolume"), ("comms",)),
    ), (M("2017-11-17", "MEGANE team selected", "[MMXN-436]"),
        M("2024-03-14", "MEGANE flight model handed over to JAXA", "[MMXN-2288]")),
        "[JAXA-INTL], [NASA-MEGANE], [MMXN-436], [MMXN-2288], [VD21]"),
    Partner("ESA", "Europe", (
        C("Ka-band deep-space transponder", ("mmxsim.comms.link",), ("comms",)),
        C("ESTRACK ground stations", ("mmxsim.comms.stations", "mmxsim.comms.schedule"), ("comms",)),
    ), (), "[JAXA-INTL]"),
    Partner("CNES", "France", (
        C("MIRS near-infrared imaging spectrometer (LESIA)", ("mmxsim.instruments.mirs",
                                                              "mmxsim.instruments.hapke"), ("mirs",)),
        C("IDEFIX rover (with DLR)", ("mmxsim.surface.rover",), ("rover",)),
        C("proximity-operations flight dynamics (QSO design, transfers)",
          ("mmxsim.orbits.qso", "mmxsim.orbits.transfers", "mmxsim.orbits.stationkeeping",
           "mmxsim.gravity.polyhedron"), ("qso_family", "qso_campaign", "transfer")),
    ), (M("2017-04-10", "implementing arrangement (MacrOmega, flight dynamics, lander study)", "[CNES-2017]"),
        M("2019-06-26", "further implementing arrangement", "[CA20]"),
        M("2024-04-04", "MIRS flight model delivered to JAXA", "[CNES-MIRS]")),
        "[JAXA-INTL], [CNES-2017], [CNES-MIRS], [CA20]"),
    Partner("DLR", "Germany", (
        C("IDEFIX rover (with CNES): locomotion, MECSS, RAX, miniRAD", ("mmxsim.surface.rover",), ("rover",)),
        C("test facilities: drop tower, microgravity (ZARM, LAMA)", ("mmxsim.surface.testbeds",), ("rover",)),
    ), (M("2018-10-03", "JAXA-CNES-DLR joint statement", "[DLR-IDEFIX]"),
        M("2019-06-18", "DLR implementing arrangement", "[DLR-IDEFIX]"),
        M("2023-06-20", "trilateral rover agreement; the rover named IDEFIX", "[CLUBIC-2023]")),
        "[JAXA-INTL], [DLR-IDEFIX], [CLUBIC-2023]"),
    Partner("Australia", "Australia", (
        C("sample return capsule landing and recovery at Woomera", ("mmxsim.earth_return.entry",), ("entry",)),
    ), (M("2022-10-22", "Japan-Australia agreement in principle", "[AUS-2022]"),
        M("2023", "Australian Space Agency partnership formalised", "[ASA-2023]")), "[AUS-2022], [ASA-2023]"),
    Partner("INTA", "Spain", (C("contributions to the rover", ("mmxsim.surface.rover",), ("rover",)),), (),
            "[PEPS-IDEFIX]"),
)


def _present(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def partner_status(partner: Partner) -> list[tuple[Contribution, dict[str, bool]]]:
    """Per contribution: ``{module: present in this installation}``."""
    return [(c, {m: _present(m) for m in c.models}) for c in partner.contributions]


def partners_table() -> list[tuple[str, str, str, str]]:
    """Rows (agency, contribution, models with + present / - not yet, milestones) for the CLI and report."""
    rows = []
    for p in PARTNERS:
        ms = "; ".join(f"{m.date} {m.what}" for m in p.milestones)
        for k, (c, st) in enumerate(partner_status(p)):
            rows.append((p.agency if k == 0 else "", c.what,
                         " ".join(("+" if ok else "-") + m.removeprefix("mmxsim.") for m, ok in st.items()),
                         ms if k == 0 else ""))
    return rows
