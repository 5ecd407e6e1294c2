"""Bodies of the Mars system and the Sun and Earth: GM, radii, gravity, rotation.

Every constant carries its citation. Keys used below:

- [DE440-GM]  NAIF ``gm_de440.tpc`` (GM values consistent with JPL DE440; Park et al. 2021,
  AJ 161:105), packaged as ``mmxsim/data/gm_de440.tpc``.
- [PCK11]     NAIF ``pck00011.tpc``: IAU WGCCRE 2015 report (Archinal et al. 2018,
  CMDA 130:22) radii and rotation, packaged as ``mmxsim/data/pck00011.tpc``.
- [E23]       Ernst et al. (2023), EPS 75:103 (Phobos/Deimos shape, ``mmx-facts.md`` §3.3).
- [IAU-2012]  IAU 2012 Resolution B2: astronomical unit = 149 597 870.700 km.
- [IERS-2010] IERS Conventions (2010), TN 36: speed of light.
- [KOPP-2011] Kopp & Lean (2011), GRL 38:L01706: total solar irradiance 1360.8 W/m^2.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import InputError

# ---------------------------------------------------------------------------
# Fundamental constants
AU_KM = 149_597_870.700  # [IAU-2012]
C_KM_S = 299_792.458  # [IERS-2010] speed of light, km/s
SOLAR_IRRADIANCE_1AU = 1360.8  # W/m^2 at 1 au [KOPP-2011]
# Solar radiation pressure at 1 au, N/m^2 = W/m^2 / (m/s)
SRP_1AU_N_M2 = SOLAR_IRRADIANCE_1AU / (C_KM_S * 1e3)

# ---------------------------------------------------------------------------
# GM values, km^3/s^2  [DE440-GM]
GM_SUN = 1.3271244004127942e11  # BODY10_GM
GM_EARTH = 3.9860043550702266e05  # BODY399_GM
GM_EARTH_MOON_BARY = 4.0350323562548019e05  # BODY3_GM
GM_MARS = 4.282837362069909e04  # BODY499_GM
GM_MARS_SYSTEM = 4.2828375815756102e04  # BODY4_GM
GM_PHOBOS = 7.087546066894452e-04  # BODY401_GM
GM_DEIMOS = 9.615569648120313e-05  # BODY402_GM

# ---------------------------------------------------------------------------
# Radii, km [PCK11] (BODYnnn_RADII); Phobos/Deimos tri-axial values there are the IAU ones.
R_SUN = 695_700.0
R_EARTH_EQ, R_EARTH_POL = 6378.1366, 6356.7519
R_MARS_EQ, R_MARS_POL = 3396.19, 3376.20
R_MARS_MEAN = 3389.5  # volumetric mean, NSSDC Mars fact sheet (mmx-facts.md §0)
PHOBOS_RADII = (13.0, 11.4, 9.1)  # [PCK11] BODY401_RADII
PHOBOS_RADII_E23 = (12.95, 11.30, 9.16)  # [E23] SPC tri-axial ellipsoid
PHOBOS_MEAN_RADIUS = 11.08  # [E23]
DEIMOS_RADII = (7.8, 6.0, 5.1)  # [PCK11] BODY402_RADII
DEIMOS_MEAN_RADIUS = 6.27  # [E23]

# ---------------------------------------------------------------------------
# Mars zonal harmonics (unnormalised J_n = -sqrt(2n+1) * Cbar_n0), reference radius in km.
# Source [MRO120F]: Konopliv et al. (2020), GRL 47, e2020GL090568, doi:10.1029/2020GL090568;
# PDS file jgmro_120f_sha.tab (R_ref = 3396.0 km, fully normalised). Verification and the
# comparison with MRO120D and GMM-3 are in docs/constants.md.
MARS_REF_RADIUS = 3396.0
MARS_CBAR_N0 = {2: -8.750219819894e-4, 3: -1.189685487260e-5, 4: 5.129215056400e-6}
MARS_ZONALS = {n: -((2 * n + 1) ** 0.5) * c for n, c in MARS_CBAR_N0.items()}

# Phobos mean motion (rate of mean longitude), JPL SSD satellite mean elements, MAR080
# (mmx-facts.md §3.1 [JPL-SAT]): 1128.8447569 deg/day.
PHOBOS_MEAN_MOTION = 1128.8447569 * (3.141592653589793 / 180.0) / 86400.0  # rad/s

# NAIF ids
NAIF_IDS = {"SUN": 10, "EARTH": 399, "MOON": 301, "EARTH_BARYCENTER": 3, "MARS": 499,
            "MARS_BARYCENTER": 4, "PHOBOS": 401, "DEIMOS": 402, "SSB": 0}


@dataclass(frozen=True)
class Body:
    """A body known to mmxsim."""

    name: str
    naif_id: int
    gm: float  # km^3/s^2
    radii: tuple[float, float, float]  # km, tri-axial (a, b, c)
    rotation_id: int | None = None  # NAIF id of its IAU rotation model, if any
    notes: str = ""
    zonals: dict = field(default_factory=dict)
    ref_radius: float | None = None

    @property
    def mean_radius(self) -> float:
        a, b, c = self.radii
        return (a * b * c) ** (1.0 / 3.0)

    def rotation(self):
        """The IAU rotation model (``bodies.rotation.IAURotation``)."""
        if self.rotation_id is None:
            raise InputError("body", self.name, "a body with a rotation model (MARS, PHOBOS, DEIMOS, EARTH)")
        from .rotation import iau_rotation

        return iau_rotation(self.rotation_id)


SUN = Body("SUN", 10, GM_SUN, (R_SUN,) * 3)
EARTH = Body("EARTH", 399, GM_EARTH, (R_EARTH_EQ, R_EARTH_EQ, R_EARTH_POL), 399)
MARS = Body("MARS", 499, GM_MARS, (R_MARS_EQ, R_MARS_EQ, R_MARS_POL), 499,
            zonals=dict(MARS_ZONALS), ref_radius=MARS_REF_RADIUS)
PHOBOS = Body("PHOBOS", 401, GM_PHOBOS, PHOBOS_RADII, 401,
              notes="synchronous rotation with forced libration (pck00011)")
DEIMOS = Body("DEIMOS", 402, GM_DEIMOS, DEIMOS_RADII, 402)

BODIES: dict[str, Body] = {b.name: b for b in (SUN, EARTH, MARS, PHOBOS, DEIMOS)}


def get_body(name: str) -> Body:
    """Look a body up by name (case-insensitive)."""
    key = str(name).upper()
    if key not in BODIES:
        raise InputError("body", name, ", ".join(BODIES))
    return BODIES[key]
