"""Deployment of the CNES/DLR rover IDEFIX on Phobos: 6-DOF rigid body, terrain contact, Monte Carlo.

IDEFIX is the rover of CNES and DLR on MMX (mmx-facts.md §5.6, §9: [PEPS-IDEFIX], [DLR-IDEFIX]).
It is released from the spacecraft at about 40 m ([PEPS-IDEFIX], [IEEE-LSS]), falls for about two
minutes in ~1/2000 g ([MMXN-331]), bounces, comes to rest in an unpredictable attitude and rights
itself. This module models the fall, the bounces and the coming to rest.

Simplified model (stated assumptions; see docs/rover.md)
---------------------------------------------------------
* **Body**: one rigid box (length x width x height) with four wheel spheres under it; mass 25 kg
  [DLR-IDEFIX], overall height 41.5 cm [CLUBIC-2023]; the other dimensions are UNCONFIRMED
  (mmx-facts.md §5.6) and are ASSUMPTION parameters of :class:`RoverModel`. Inertia of a solid
  box of the overall dimensions, centre of mass at the box centre. Wheels are locked during the
  deployment (contact points, no rolling; ASSUMPTION). Collision geometry: 8 box corners, 6 face
  centres, 4 wheel spheres.
* **Dynamics** in Phobos' rotating body-fixed frame (IAU_PHOBOS, synchronous rotation), written in
  a local frame at the site (east, north, up = outward surface normal of the shape model):
  Phobos' gravity from the interpolated polyhedron grid (:class:`mmxsim.gravity.fast.GridGravity`,
  error bound stated there; ``gravity="grid"``), or a point mass (``"point"``) or a uniform vector
  (``"uniform"``, for tests and drop facilities); the linearised circular Hill terms (centrifugal +
  Mars tide, n²(3x, 0, -z) about the frame origin, as :mod:`mmxsim.surface.landing` and the "hill"
  model of :mod:`mmxsim.surface.maps`) and Coriolis -2 Ω x v, Ω = n ẑ, n the Phobos mean motion
  [JPL-SAT]. No eccentricity, libration, solar pressure or gravity-gradient torque. The angular
  velocity integrated is the inertial one (torque-free Euler equations between contacts); the
  attitude is kept relative to the rotating frame.
* **Contact** (own model, not a physics engine; justification in docs/rover.md): penalty
  spring-damper per contact point against a height field. Normal force k d + c d' (clamped >= 0,
  no adhesion); k and c follow from a nominal contact duration and the coefficient of restitution
  *e* for the four-wheel flat impact (each wheel carrying m/4), using the exact solution of the
  clamped linear spring-damper (:func:`spring_damper_restitution`). Tangential force: Coulomb
  friction with a stick spring (elastic anchor, stiffness = k), so that the rover can rest on a
  slope. For other impact configurations the effective mass differs and the restitution deviates
  from *e* (inherent to spring-damper contact; measured in the docs).
* **Terrain** (:class:`Terrain`): a quadratic surface least-squares fitted to the shape model
  around the site (the grid's surface r = R(lat, lon), an interpolant of the mesh) plus a seeded
  periodic relief tile: Gaussian random roughness (rms height, correlation length) and a boulder
  field (hemispherical boulders, cumulative size-frequency N(>D) = A D^-b). All terrain parameters
  are ASSUMPTIONS (no published values at the IDEFIX site; [TOPO21] gives only statistics of
  irregularities larger than 40 cm).
* **Integration**: between contacts, classical RK4 on the 13-dimensional state with steps limited
  by the clearance to the terrain (up to ``dt_flight_s``); near and in contact, semi-implicit Euler
  with a fixed step ``dt`` (default the contact duration / 20).
* **Outcomes**: first-impact time and speed, impacts (ballistic arcs of at least ``t_air_min_s``
  ending in contact faster than ``v_impact_min_m_s``; the first included), settling time (start of
  the first interval of ``t_hold_s`` in contact with all point speeds below ``v_rest_m_s``), rest
  position and attitude, local slope relative to the effective gravity and roughness under the
  rover, safe-zone flag (limits are ASSUMPTIONS).

The kernels are plain Python on scalars, numba-compiled (parallel over deployments) when numba
is installed; without numba the same code runs in Python (correct, ~100x slower).

The package: :mod:`.model` (parameters), :mod:`.terrain`, :mod:`.kernels` (compiled code),
:mod:`.result` (:class:`DeploymentResult`), :mod:`.simulate` (environment and entry points).
Every name is importable from ``mmxsim.surface.rover`` as before.
"""

from __future__ import annotations

from .kernels import _NOUT, _accel, _contact_step, _deploy_kernel  # noqa: F401 (the kernels, for tests)
from .kernels import _deriv, _field, _flight_step, _terrain  # noqa: F401
from .model import DEFAULT_SITE, G0, G_PHOBOS_NOMINAL, GRAVITY_KINDS, N_PHOBOS  # noqa: F401
from .model import IDEFIX_HEIGHT_M, IDEFIX_MASS_KG, RELEASE_ALTITUDE_M, quat_matrix  # noqa: F401
from .model import (ESCAPED, LEFT_PATCH, SETTLED, STATUS_NAMES, TIMEOUT, ContactModel, DeploymentDistribution,
                    Release, RoverModel, Settings, euler_quaternion, spring_damper_restitution)
from .result import DeploymentResult
from .simulate import _Env  # noqa: F401
from .simulate import deploy, deploy_monte_carlo, jacobi_integral, make_env, run_states, site_facet_slope
from .terrain import Terrain, TerrainModel, local_frame, relief_tile, site_terrain

__all__ = ["ContactModel", "DeploymentDistribution", "DeploymentResult", "Release", "RoverModel", "Settings", "Terrain",
           "TerrainModel", "deploy", "deploy_monte_carlo", "euler_quaternion", "jacobi_integral", "local_frame",
           "make_env", "relief_tile", "run_states", "site_facet_slope", "site_terrain", "spring_damper_restitution",
           "SETTLED", "TIMEOUT", "LEFT_PATCH", "ESCAPED", "STATUS_NAMES"]
