"""The contract of an analysis: one :class:`Analysis` value, named ``ANALYSIS`` in its module.

An analysis is one file. The module holds its settings model (a pydantic model, usually a
:class:`~mmxsim.scenario.SchemaModel` so unknown keys are errors and problems are worded like the
rest of the scenario), its run function and the declaration below; everything else is built from
the registry (:mod:`mmxsim.analyses`): the scenario's ``analyses`` block, ``--quick``,
``--phase``, the timeline's "simulated here", the partners table, the report's warnings and the
analysis' command line, if it has one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from pydantic import BaseModel

from ..errors import InputError
from ..results import Section


@dataclass(frozen=True)
class Analysis:
    """One analysis of a scenario's ``analyses`` block.

    Parameters
    ----------
    name : str
        The key in the scenario's ``analyses`` block, the section's id in the report and its key
        in summary.json (a Python identifier).
    settings : pydantic model class
        The block's settings; ``analyses: {name: {}}`` runs with its defaults.
    run : callable
        ``run(settings, scenario, ctx) -> Section``. ``ctx`` holds the run's products when there is
        a run (``None`` otherwise): ``t`` (TDB s), ``states`` (Mars-centred ICRF, km, km/s),
        ``eph`` (the run's ephemeris), ``orientation`` and ``phobos_fixed`` (the states in the
        Phobos body-fixed frame) and ``model`` (the run's :class:`~mmxsim.dynamics.DynamicsModel`).
    description : str
        One line for the scenario schema and ``mmxsim validate``.
    phases : tuple of str
        Names of the reference timeline's phases this analysis simulates
        (:func:`mmxsim.mission.timeline.reference_timeline`): ``--phase NAME`` keeps it, and the
        report lists it under "simulated here".
    partners : tuple of (agency, contribution)
        The partner contributions it models (:mod:`mmxsim.partners`): a contribution listed there
        (same agency and text) gets this analysis; another one is added as a new row.
    quick : mapping or callable
        Settings of a quick look (``--quick``): a mapping of overrides, or
        ``quick(settings) -> mapping`` when they depend on the scenario's settings.
    warnings : callable, optional
        ``warnings(section) -> list of str``: what a reader of the report must not miss.
    command : callable, optional
        A Typer command function; ``mmxsim <name>`` (``_`` written ``-``) runs it.
    order : float
        Position in the block, the report and summary.json (ascending; ties keep discovery order).
    """

    name: str
    settings: type[BaseModel]
    run: Callable[[Any, Any, dict | None], Section]
    description: str
    phases: tuple[str, ...] = ()
    partners: tuple[tuple[str, str], ...] = ()
    quick: Mapping[str, Any] | Callable[[Any], Mapping[str, Any]] = field(default_factory=dict)
    warnings: Callable[[Section], list[str]] | None = None
    command: Callable[..., Any] | None = None
    order: float = 1000.0

    def __post_init__(self):
        if not self.name.isidentifier() or self.name.startswith("_"):
            raise InputError("Analysis.name", self.name, "a Python identifier not starting with '_'")
        if not (isinstance(self.settings, type) and issubclass(self.settings, BaseModel)):
            raise InputError(f"analysis {self.name}: settings", self.settings, "a pydantic model class")
        if not callable(self.run):
            raise InputError(f"analysis {self.name}: run", self.run, "a function (settings, scenario, ctx) -> Section")
        for p in self.partners:
            if not (isinstance(p, tuple) and len(p) == 2 and all(isinstance(x, str) for x in p)):
                raise InputError(f"analysis {self.name}: partners", p, "(agency, contribution) pairs of text")

    def quick_settings(self, settings) -> dict:
        """The overrides of a quick look for these settings."""
        return dict(self.quick(settings) if callable(self.quick) else self.quick)

    @property
    def command_name(self) -> str:
        """The command-line name of its command (``qso_family`` -> ``qso-family``)."""
        return self.name.replace("_", "-")
