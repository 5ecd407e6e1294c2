"""Scenario files: one YAML file describes one run, validated with pydantic.

A scenario names the epoch and span, the initial state of MMX, the spacecraft, the
force model, the integrator settings, the events to watch, the ephemeris, the
outputs and the analyses. Unknown keys are errors everywhere, and every error names
the YAML path, the value found and what is allowed::

    scenario my.yaml is invalid:
      - initial_state.frame: got 'FOO'; allowed: ICRF, MARS_FIXED, PHOBOS_FIXED, PHOBOS_HILL [line 9]

Only ``name``, ``epoch``, ``duration_days`` (or ``stop``) and ``initial_state`` are
required; everything else defaults to the reference run (the "full force model":
Mars J2-J4, Phobos harmonics to degree 8, Sun + Earth + Deimos, solar radiation
pressure with Mars and Phobos shadows, tolerance 1e-12, output every 600 s, impact on
the Phobos ellipsoid, eclipses on). See ``scenarios/reference_qso.yaml``.

The package is split by role and this module only re-exports:

- :mod:`~mmxsim.scenario.schema`: the core models and the ``analyses`` extension point
  (:func:`~mmxsim.scenario.schema.set_analyses_provider`, filled by :mod:`mmxsim.analyses`);
- :mod:`~mmxsim.scenario.problems`: the wording of problems (:class:`ScenarioError`);
- :mod:`~mmxsim.scenario.loading`: YAML and mappings to a validated scenario;
- :mod:`~mmxsim.scenario.builtins`: the shipped scenarios;
- :mod:`~mmxsim.scenario.coverage`: does the ephemeris cover a run.

>>> s = reference_scenario()
>>> s.name, s.initial_state.type, s.duration_days
('reference-qso', 'qso', 30.0)
"""

from ..errors import MmxsimError
from .builtins import BUILTIN_SCENARIOS, builtin_scenario, reference_scenario
from .coverage import BUILTIN_COVERAGE, check_coverage
from .loading import load_scenario, parse_scenario, scenario_to_dict, scenario_to_yaml
from .work import WorkEstimate, estimate_work
from .problems import MISSING, Problems, ScenarioError, got, show
from .schema import (
    DAY_S,
    IMPACT_MODELS,
    ISO_ALLOWED,
    KERNEL_ALIASES,
    MAX_OUTPUT_SAMPLES,
    MAX_QSO_KM,
    MAX_SPAN_DAYS,
    AnalysesBlock,
    CartesianState,
    EphemerisConfig,
    Events,
    ForceModel,
    HillState,
    IsoEpoch,
    KeplerianState,
    MarsGravity,
    Outputs,
    PhobosGravity,
    PhobosShape,
    Propagation,
    QsoState,
    Scenario,
    SchemaModel,
    Spacecraft,
    SrpModel,
    phobos_mean_motion,
    resolve_kernel,
    scenario_model,
    set_analyses_provider,
)

__all__ = [
    "IMPACT_MODELS", "KERNEL_ALIASES", "BUILTIN_COVERAGE", "DAY_S", "MAX_SPAN_DAYS", "MAX_OUTPUT_SAMPLES", "MAX_QSO_KM", "ISO_ALLOWED", "MISSING",
    "Scenario", "ScenarioError", "Problems", "got", "show", "SchemaModel", "IsoEpoch", "PhobosShape", "AnalysesBlock",
    "HillState", "QsoState", "CartesianState", "KeplerianState", "Spacecraft", "ForceModel", "MarsGravity",
    "PhobosGravity", "SrpModel", "Propagation", "Events", "EphemerisConfig", "Outputs",
    "load_scenario", "parse_scenario", "reference_scenario", "builtin_scenario", "BUILTIN_SCENARIOS",
    "scenario_to_dict", "scenario_to_yaml", "check_coverage", "estimate_work", "WorkEstimate", "resolve_kernel", "phobos_mean_motion",
    "scenario_model", "set_analyses_provider", "MmxsimError",
]
