"""Navigation (layer 4): radiometric tracking turned into orbits and their uncertainty.

Who provides what: the tracking comes from NASA's DSN, ESA's ESTRACK and JAXA's stations (two- and
three-way range and Doppler, ΔDOR); ESA's Ka-band deep-space transponder gives the Ka downlink; CNES
flies proximity-operations flight dynamics. Modules:

* ``data``: :class:`TrackingData`, one columnar table of observations of any type;
* ``participants``: stations and the spacecraft as light-time participants (barycentric states);
* ``measurements``: range, integrated Doppler, ΔDOR with light time, media and relativity, partials;
* ``variational``: the spacecraft trajectory with heyoka's variational equations (partials);
* ``estimation``: weighted batch least squares and a square-root information filter with smoother;
* ``tdm``: CCSDS TDM 2.0 (KVN) read and write.

Like every domain package it imports nothing from its siblings: station positions and Earth
orientation arrive as objects (duck-typed: ``position_itrf(t)`` and an Earth-orientation object),
built by the analysis layer from :mod:`mmxsim.comms`.
"""

from .data import TrackingData

__all__ = ["TrackingData"]
