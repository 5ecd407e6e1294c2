"""Force models, events and the heyoka propagator (see the submodules)."""

from .events import IMPACT_SURFACES, Eclipse, MarsImpact, MaxDistance, PhobosImpact, make_surface, register_surface
from .forces import (FORCE_REGISTRY, EmpiricalAcceleration, ForceModel, MarsGravity, PhobosGravity,
                     SolarRadiationPressure, ThirdBody,
                     register_force)
from .propagator import DynamicsModel, Propagation, build, numpy_rhs, propagate
from .ensemble import EnsemblePropagation, parameter_names, propagate_ensemble

__all__ = [
    "DynamicsModel", "Propagation", "build", "propagate", "numpy_rhs",
    "propagate_ensemble", "EnsemblePropagation", "parameter_names",
    "ForceModel", "FORCE_REGISTRY", "register_force", "MarsGravity", "PhobosGravity", "ThirdBody",
    "SolarRadiationPressure", "EmpiricalAcceleration", "PhobosImpact", "MarsImpact", "MaxDistance", "Eclipse",
    "IMPACT_SURFACES", "register_surface", "make_surface",
]
