"""Body constants and rotations against SPICE (spiceypy) on the same kernels."""

import numpy as np
import pytest

from mmxsim import bodies
from mmxsim._data import data_path
from mmxsim.bodies.pck import read_text_kernel
from mmxsim.bodies.rotation import iau_rotation

sp = pytest.importorskip("spiceypy")

ETS = [-1.5e9, 0.0, 8.6e8, 8.75e8, 1.0e9, 1.5e9]


@pytest.fixture(scope="module")
def spice_pck():
    sp.kclear()
    sp.furnsh(str(data_path("pck00011.tpc")))
    yield
    sp.kclear()


@pytest.mark.parametrize("naif,frame", [(499, "IAU_MARS"), (401, "IAU_PHOBOS"), (402, "IAU_DEIMOS"), (399, "IAU_EARTH")])
def test_rotation_matches_spice(spice_pck, naif, frame):
    """ICRF -> body rotation vs spiceypy sxform with pck00011: < 1e-9 rad; rate to 1e-9 relative."""
    rot = iau_rotation(naif)
    for et in ETS:
        X = sp.sxform("J2000", frame, et)
        R, dR = rot.matrix_and_rate(et)
        # rotation angle of R X^T from its antisymmetric part (arccos of the trace cannot resolve 1e-9)
        dM = R @ X[:3, :3].T
        w = 0.5 * np.array([dM[2, 1] - dM[1, 2], dM[0, 2] - dM[2, 0], dM[1, 0] - dM[0, 1]])
        angle = np.arcsin(min(np.linalg.norm(w), 1.0))
        assert angle < 1e-9, (frame, et, angle)
        assert np.max(np.abs(dR - X[3:, :3])) / np.max(np.abs(X[3:, :3])) < 1e-9


def test_phobos_model_includes_libration_and_quadratic_term():
    rot = iau_rotation(401)
    assert rot.pm[2] == pytest.approx(9.536137031212154e-09)
    assert rot.nut_pm[4] == pytest.approx(-1.143)  # forced libration term (IAU 2015, corrected)
    assert len(rot.angles[4]) == 3 and rot.angles[4][2] != 0.0  # quadratic phase angle


def test_gm_constants_match_kernel():
    k = read_text_kernel(str(data_path("gm_de440.tpc")))
    for name, naif in [("GM_SUN", 10), ("GM_EARTH", 399), ("GM_MARS", 499), ("GM_PHOBOS", 401), ("GM_DEIMOS", 402)]:
        assert getattr(bodies, name) == k[f"BODY{naif}_GM"][0]


def test_radii_match_kernel():
    k = read_text_kernel(str(data_path("pck00011.tpc")))
    assert tuple(k["BODY401_RADII"]) == bodies.PHOBOS_RADII
    assert (bodies.R_MARS_EQ, bodies.R_MARS_POL) == (k["BODY499_RADII"][0], k["BODY499_RADII"][2])


def test_mars_zonals_from_mro120f():
    # J_n = -sqrt(2n+1) Cbar_n0 (docs/constants.md); J2 about 1.9566e-3 at R = 3396 km
    assert bodies.MARS_ZONALS[2] == pytest.approx(1.9566086335e-3, rel=1e-10)
    assert bodies.MARS_ZONALS[3] == pytest.approx(3.1476119377e-5, rel=1e-10)
    assert bodies.MARS_ZONALS[4] == pytest.approx(-1.5387645169e-5, rel=1e-9)


def test_unknown_body():
    from mmxsim.errors import InputError

    with pytest.raises(InputError, match="PHOBOS"):
        bodies.get_body("Fobos")
