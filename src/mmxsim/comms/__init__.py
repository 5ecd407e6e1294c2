"""Ground segment and communications (layer 4).

Who provides what: NASA's Deep Space Network (control and mission-data reception), ESA's
ESTRACK stations and the Ka-band deep-space transponder (ESA), JAXA's Misasa (GREAT, 54 m),
Usuda and Uchinoura stations. Modules: ``stations`` (catalogue), ``geometry`` (topocentric
az/el/range, Sun-Earth-probe angle, Mars occultation), ``visibility`` (passes, conjunction
blackouts), ``link`` (X/Ka downlink budgets), ``schedule`` (pass booking), ``datavolume``
(onboard recorder), ``plan`` (the whole pipeline in one call: :func:`plan_downlink`). Shared data
types are in ``types``.
"""

from .plan import DownlinkPlan, plan_downlink

__all__ = ["DownlinkPlan", "plan_downlink"]
