"""MMX's international partners as data: who provides what, the agreements and dates, and the
mmxsim models that simulate each contribution.

Source: the cooperation list of JAXA's MMX international page [JAXA-INTL] and the documents
cited per row in ``../shared/mmx-facts.md`` §9 (keys in ``sources``). :func:`partner_status`
says, for each contribution, which of its models this installation has, so the report and
``mmxsim partners`` show what was simulated and what is still an extension point.

The analyses that report on a contribution come from the analyses' registry
(:attr:`mmxsim.analyses.Analysis.partners`): :data:`PARTNERS` (computed on each access) is the
table below with each contribution's ``analyses`` filled in, plus a row for each (agency,
contribution) an analysis declares that the table does not list (an analysis shipped by a
partner as a plugin shows up here without editing this module).

>>> [p.agency for p in partners()][:3]
['JAXA', 'NASA', 'ESA']
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.util import find_spec

__all__ = ["Contribution", "Partner", "Milestone", "PARTNERS", "partners", "partner_status", "partners_table"]


@dataclass(frozen=True)
class Contribution:
    """One contribution and the mmxsim modules that model it."""

    what: str
    models: tuple[str, ...] = ()
    analyses: tuple[str, ...] = ()  # the analyses that report on it (from the registry)


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

#: The partners, from [JAXA-INTL] and mmx-facts §9 (dates as published; sources per row), without analyses.
_BASE: tuple[Partner, ...] = (
    Partner("JAXA", "Japan", (
        C("spacecraft, mission design, proximity operations", ("mmxsim.dynamics", "mmxsim.orbits.qso",
                                                               "mmxsim.orbits.handoff")),
        C("interplanetary legs: launch and return windows, Mars orbit insertion, Deimos flybys",
          ("mmxsim.orbits.lambert", "mmxsim.orbits.windows", "mmxsim.orbits.capture", "mmxsim.orbits.deimos")),
        C("TENGOO and OROCHI cameras, LIDAR", ("mmxsim.instruments.cameras", "mmxsim.instruments.lidar")),
        C("landing and C-Sampler coring sampler", ("mmxsim.surface.landing", "mmxsim.surface.maps",
                                                   "mmxsim.surface.touchdown", "mmxsim.surface.samplers")),
        C("Usuda, Misasa (GREAT) and Uchinoura stations", ("mmxsim.comms.stations", "mmxsim.comms.visibility")),
        C("sample return capsule and Earth return; planetary protection (Category V)",
          ("mmxsim.earth_return.entry", "mmxsim.earth_return.targeting", "mmxsim.science.planetary_protection")),
    ), (M("2026-10", "launch on H3 from Tanegashima (JFY2026)", "[CNES-MMX], [JAXA-MMX]"),), "[JAXA-MMX]"),
    Partner("NASA", "USA", (
        C("MEGANE gamma-ray and neutron spectrometer (JHU/APL, LLNL)", ("mmxsim.instruments.megane",)),
        C("P-Sampler pneumatic sampler (Honeybee Robotics, through PMPO)", ("mmxsim.surface.samplers",)),
        C("Deep Space Network: control and mission-data reception", ("mmxsim.comms.link", "mmxsim.comms.schedule",
                                                                    "mmxsim.comms.datavolume",
                                                                    "mmxsim.navigation.measurements",
                                                                    "mmxsim.navigation.estimation")),
    ), (M("2017-11-17", "MEGANE team selected", "[MMXN-436]"),
        M("2024-03-14", "MEGANE flight model handed over to JAXA", "[MMXN-2288]")),
        "[JAXA-INTL], [NASA-MEGANE], [MMXN-436], [MMXN-2288], [VD21]"),
    Partner("ESA", "Europe", (
        C("Ka-band deep-space transponder", ("mmxsim.comms.link", "mmxsim.navigation.measurements")),
        C("ESTRACK ground stations", ("mmxsim.comms.stations", "mmxsim.comms.schedule", "mmxsim.navigation.schedule")),
    ), (), "[JAXA-INTL]"),
    Partner("CNES", "France", (
        C("MIRS near-infrared imaging spectrometer (LESIA)", ("mmxsim.instruments.mirs",
                                                              "mmxsim.instruments.hapke")),
        C("IDEFIX rover (with DLR)", ("mmxsim.surface.rover",)),
        C("proximity-operations flight dynamics (QSO design, transfers)",
          ("mmxsim.orbits.qso", "mmxsim.orbits.transfers", "mmxsim.orbits.stationkeeping",
           "mmxsim.gravity.polyhedron", "mmxsim.navigation.od", "mmxsim.navigation.sequential")),
    ), (M("2017-04-10", "implementing arrangement (MacrOmega, flight dynamics, lander study)", "[CNES-2017]"),
        M("2019-06-26", "further implementing arrangement", "[CA20]"),
        M("2024-04-04", "MIRS flight model delivered to JAXA", "[CNES-MIRS]")),
        "[JAXA-INTL], [CNES-2017], [CNES-MIRS], [CA20]"),
    Partner("DLR", "Germany", (
        C("IDEFIX rover (with CNES): locomotion, MECSS, RAX, miniRAD", ("mmxsim.surface.rover",)),
        C("test facilities: drop tower, microgravity (ZARM, LAMA)", ("mmxsim.surface.testbeds",)),
    ), (M("2018-10-03", "JAXA-CNES-DLR joint statement", "[DLR-IDEFIX]"),
        M("2019-06-18", "DLR implementing arrangement", "[DLR-IDEFIX]"),
        M("2023-06-20", "trilateral rover agreement; the rover named IDEFIX", "[CLUBIC-2023]")),
        "[JAXA-INTL], [DLR-IDEFIX], [CLUBIC-2023]"),
    Partner("Australia", "Australia", (
        C("sample return capsule landing and recovery at Woomera", ("mmxsim.earth_return.entry",)),
    ), (M("2022-10-22", "Japan-Australia agreement in principle", "[AUS-2022]"),
        M("2023", "Australian Space Agency partnership formalised", "[ASA-2023]")), "[AUS-2022], [ASA-2023]"),
    Partner("INTA", "Spain", (C("contributions to the rover", ("mmxsim.surface.rover",)),), (),
            "[PEPS-IDEFIX]"),
)


def partners() -> tuple[Partner, ...]:
    """The partners with each contribution's analyses from the registry, in the registry's order; a
    contribution an analysis declares that the table lacks is appended to its agency (a new agency
    at the end), with the analysis' module as its model."""
    from dataclasses import replace

    from .analyses import registry

    by_key: dict[tuple[str, str], list[str]] = {}
    extra: dict[str, list[Contribution]] = {}
    known = {(p.agency, c.what) for p in _BASE for c in p.contributions}
    for a in registry().values():
        for agency, what in a.partners:
            by_key.setdefault((agency, what), []).append(a.name)
            if (agency, what) not in known:
                known.add((agency, what))
                extra.setdefault(agency, []).append(Contribution(what, (a.run.__module__,)))
    out = [replace(p, contributions=p.contributions + tuple(extra.pop(p.agency, ()))) for p in _BASE]
    out += [Partner(agency, "", tuple(cs)) for agency, cs in extra.items()]
    return tuple(replace(p, contributions=tuple(replace(c, analyses=tuple(by_key.get((p.agency, c.what), ())))
                                                 for c in p.contributions)) for p in out)


def __getattr__(name: str):
    if name == "PARTNERS":
        return partners()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    for p in partners():
        ms = "; ".join(f"{m.date} {m.what}" for m in p.milestones)
        for k, (c, st) in enumerate(partner_status(p)):
            rows.append((p.agency if k == 0 else "", c.what,
                         " ".join(("+" if ok else "-") + m.removeprefix("mmxsim.") for m, ok in st.items()),
                         ms if k == 0 else ""))
    return rows
