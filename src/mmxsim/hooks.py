"""Where a lower layer finds a service that a higher layer provides, named as data (layer 0).

The scenario schema (layer 5) validates the ``analyses`` block with a model built from the analysis
registry (layer 6), which it must not import. The package's top (``mmxsim/__init__.py``) names the
module that provides it here, as a string; :func:`mmxsim.scenario.scenario_model` imports that
module on first need (importing it registers the provider). So ``import mmxsim`` stays cheap (no
pydantic, no analyses) and every loader still sees every analysis. Nothing here imports anything.
"""

from __future__ import annotations

#: module that registers the ``analyses`` block model when imported (set by ``mmxsim/__init__.py``)
ANALYSES_PROVIDER_MODULE: str | None = None
