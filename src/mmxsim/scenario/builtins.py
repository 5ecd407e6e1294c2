"""The scenarios shipped inside the package (package data ``mmxsim/scenarios/<name>.yaml``, the
source of truth; the repository's ``scenarios/<name>.yaml`` of the same names are byte-identical
copies for readers and examples, which tests/mission/test_scenario.py checks).
"""

from __future__ import annotations

from importlib import resources

from ..errors import InputError
from .loading import load_scenario
from .schema import Scenario

#: Scenarios shipped inside the package (``mmxsim/scenarios/<name>.yaml``), by name; the repository's
#: ``scenarios/<name>.yaml`` are byte-identical copies (tests/mission/test_scenario.py checks).
BUILTIN_SCENARIOS = {
    "reference_mission": "the whole MMX reference mission: the 30-day QSO run and every capability as a "
                         "section (what `mmxsim run` runs with no file)",
    "reference_qso": "the spine reference: 30 days in the 50 km QSO with the full force model, no analyses",
}


def builtin_scenario(name: str = "reference_mission") -> Scenario:
    """A scenario shipped inside the package, by name (see :data:`BUILTIN_SCENARIOS`)."""
    key = str(name).strip().removesuffix(".yaml")
    if key not in BUILTIN_SCENARIOS:
        raise InputError("scenario", name, "a scenario file, or a built-in scenario: " + ", ".join(BUILTIN_SCENARIOS))
    ref = resources.files("mmxsim").joinpath("scenarios", f"{key}.yaml")
    return load_scenario(ref.read_text(encoding="utf-8"), source=f"{key}.yaml (built-in)", coverage=False)


def reference_scenario() -> Scenario:
    """The spine's reference run (``mmxsim/scenarios/reference_qso.yaml``): 30 days in the 50 km QSO."""
    return builtin_scenario("reference_qso")
