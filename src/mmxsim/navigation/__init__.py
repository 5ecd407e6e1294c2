"""Navigation (layer 4): radiometric tracking turned into orbits and their uncertainty.

Who provides what: the tracking comes from NASA's DSN, ESA's ESTRACK and JAXA's stations (two- and
three-way range and Doppler, ΔDOR); ESA's Ka-band deep-space transponder gives the Ka downlink; CNES
flies proximity-operations flight dynamics. Modules:

* ``data``: :class:`TrackingData`, one columnar table of observations of any type;
* ``participants``: stations and the spacecraft as light-time participants (barycentric states);
* ``measurements``: range, integrated Doppler, ΔDOR with light time, media and relativity, partials;
* ``optical``: landmark pixel coordinates and far-range centroids in TENGOO/OROCHI, with partials;
* ``altimetry``: LIDAR ranges to the shape along the boresight, with partials;
* ``variational``: the spacecraft trajectory with heyoka's variational equations (partials);
* ``schedule``: tracking schedules (which data, when) inside tracks, outside conjunctions;
* ``od``: the orbit-determination problem (parameters, a priori, consider) and the simulator;
* ``estimation``: weighted batch least squares (square-root information, consider, editing);
* ``sequential``: the square-root information filter with process noise and its smoother;
* ``covariance``: mapping, RTN and Phobos Hill frames, NEES;
* ``montecarlo``: Monte Carlo of the batch estimation (truths drawn from the a priori, every row set
  re-simulated, the errors against the formal covariance: spreads, 3-sigma coverage, NEES);
* ``geodesy``: covariance analysis of a multi-arc QSO campaign for Phobos geodesy (local and global
  parameters, information per arc and data kind);
* ``literature``: published Phobos geodesy results and their references, for comparison with ours;
* ``tdm``: CCSDS TDM 2.0 (KVN) read and write.

Like every domain package it imports nothing from its siblings: station positions and Earth
orientation arrive as objects (duck-typed: ``position_itrf(t)`` and an Earth-orientation object),
built by the analysis layer from :mod:`mmxsim.comms`.
"""

from .data import TrackingData
from .estimation import (BatchResult, BatchSettings, EstimationError, Linearization, SingularProblemError,
                         batch_least_squares)
from .altimetry import AltimetryData
from .measurements import MeasurementSettings, compute
from .od import (Information, OrbitProblem, PhobosEphemerisHook, Prior, simulate, simulate_altimetry, simulate_optical,
                 simulate_rows)
from .optical import OpticalData
from .participants import FunctionParticipant, GroundStation
from .sequential import FilterResult, square_root_information_filter
from .tdm import read_tdm, save_tdm, write_tdm

__all__ = ["TrackingData", "BatchResult", "BatchSettings", "EstimationError", "Linearization", "SingularProblemError",
           "batch_least_squares", "MeasurementSettings", "compute", "FunctionParticipant", "GroundStation",
           "FilterResult", "square_root_information_filter", "read_tdm", "save_tdm", "write_tdm", "OrbitProblem",
           "Prior", "Information", "PhobosEphemerisHook", "simulate", "simulate_optical", "simulate_altimetry",
           "simulate_rows", "OpticalData", "AltimetryData"]
