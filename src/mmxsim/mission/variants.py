"""Variants of a scenario for the command line: ``--quick`` (a fast look) and ``--phase NAME``
(the analyses of one mission phase).

Both return a new, re-validated :class:`~mmxsim.scenario.Scenario`; the original is
untouched. ``--quick`` shortens the run to at most :data:`QUICK_DAYS` days and shrinks every
analysis to its quick-look settings (:attr:`mmxsim.analyses.Analysis.quick`: fewer Monte Carlo
samples, coarser sampling, smaller grids): the same models, less statistics, so numbers are
indicative only. ``--phase`` keeps the trajectory and only the analyses that simulate that phase
of the reference timeline (:attr:`mmxsim.analyses.Analysis.phases`,
:func:`mmxsim.mission.timeline.reference_timeline`).
"""

from __future__ import annotations

from ..analyses import get
from ..errors import InputError

__all__ = ["QUICK_DAYS", "quick_variant", "phase_variant"]

#: Longest run of a quick look, days.
QUICK_DAYS = 3.0


def _reparse(d: dict, source: str, base_dir=None):
    from ..scenario import parse_scenario

    return parse_scenario(d, source=source, base_dir=base_dir, coverage=False)


def quick_variant(scenario, base_dir=None):
    """The scenario shortened to <= QUICK_DAYS days with every analysis at its quick-look settings."""
    from ..scenario import DAY_S, scenario_to_dict

    d = scenario_to_dict(scenario)
    if scenario.span_s / DAY_S > QUICK_DAYS:
        d.pop("stop", None)
        d["duration_days"] = QUICK_DAYS
    for name, block in (d.get("analyses") or {}).items():
        block.update(get(name).quick_settings(getattr(scenario.analyses, name)))
    d["name"] = f"{scenario.name} (quick)"[:80]
    return _reparse(d, f"{scenario.name} --quick", base_dir)


def phase_variant(scenario, phase: str, base_dir=None):
    """The scenario with only the analyses that simulate ``phase``."""
    from ..scenario import scenario_to_dict
    from .timeline import phase_by_name

    p = phase_by_name(phase)
    d = scenario_to_dict(scenario)
    have = set(d.get("analyses") or {})
    keep = have & set(p.analyses)
    if not keep:
        raise InputError("--phase", phase, f"a phase whose analyses ({', '.join(p.analyses) or 'none'}) are in the "
                                           f"scenario (it has: {', '.join(sorted(have)) or 'none'})")
    d["analyses"] = {k: v for k, v in d["analyses"].items() if k in keep}
    d["name"] = f"{scenario.name} ({p.name})"[:80]
    return _reparse(d, f"{scenario.name} --phase {phase}", base_dir)
