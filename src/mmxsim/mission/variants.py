"""Variants of a scenario for the command line: ``--quick`` (a fast look) and ``--phase NAME``
(the analyses of one mission phase).

Both return a new, re-validated :class:`~mmxsim.scenario.Scenario`; the original is
untouched. ``--quick`` shortens the run to at most :data:`QUICK_DAYS` days and shrinks every
analysis to the settings in :data:`QUICK` (fewer Monte Carlo samples, coarser sampling, smaller
grids): the same models, less statistics, so numbers are indicative only. ``--phase`` keeps the
trajectory and only the analyses the reference timeline ties to that phase
(:func:`mmxsim.mission.timeline.reference_timeline`).
"""

from __future__ import annotations

from ..errors import InputError

__all__ = ["QUICK", "QUICK_DAYS", "quick_variant", "phase_variant"]

#: Longest run of a quick look, days.
QUICK_DAYS = 3.0

#: Per-analysis settings of a quick look (only keys the scenario's block has are applied).
QUICK: dict[str, dict] = {
    "qso_family": {"sizes_km": None},  # None: keep the first three sizes
    "qso_campaign": {"station_keeping_samples": 0},
    "transfer": {"search_points": 1, "tof_max_days": 0.5},
    "landing": {"samples": 100},
    "comms": {"time_limit_s": 5.0},
    "megane": {"shape": "thomas3k", "step_s": 3600.0},
    "mirs": {"shape": "thomas3k", "step_s": 1800.0},
    "observation": {"shape": "thomas3k", "step_s": 1800.0},
    "origin": {"trials": 200, "shape": "thomas3k"},
    "touchdown": {"monte_carlo": 0},
    "sampling": {"samples": 2000},
    "windows": {"grid": 50},
    "budget": {"grid": 40},
    "entry": {"samples": 10},
    "rover": {"samples": 50},
}


def _reparse(d: dict, source: str, base_dir=None):
    from ..scenario import parse_scenario

    return parse_scenario(d, source=source, base_dir=base_dir, coverage=False)


def quick_variant(scenario, base_dir=None):
    """The scenario shortened to <= QUICK_DAYS days with every analysis at its QUICK settings."""
    from ..scenario import DAY_S, scenario_to_dict

    d = scenario_to_dict(scenario)
    if scenario.span_s / DAY_S > QUICK_DAYS:
        d.pop("stop", None)
        d["duration_days"] = QUICK_DAYS
    for name, block in (d.get("analyses") or {}).items():
        fields = type(getattr(scenario.analyses, name)).model_fields
        for k, v in QUICK.get(name, {}).items():
            if k not in fields:
                continue
            if k == "sizes_km":  # the first three QSOs of the family
                v = list(getattr(getattr(scenario.analyses, name), k))[:3]
            elif k == "station_keeping_samples":
                v = min(int(getattr(getattr(scenario.analyses, name), k)), v)
            block[k] = v
    d["name"] = f"{scenario.name} (quick)"[:80]
    return _reparse(d, f"{scenario.name} --quick", base_dir)


def phase_variant(scenario, phase: str, base_dir=None):
    """The scenario with only the analyses the reference timeline ties to ``phase``."""
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
