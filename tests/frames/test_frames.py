"""Frames: round trips, rotating-frame velocities vs finite differences, geometry of the Hill frame."""

import numpy as np
import pytest

from mmxsim.ephemeris import default_ephemeris
from mmxsim.errors import InputError
from mmxsim.frames import FRAMES, from_mars_icrf, rotation_to, to_mars_icrf, transform

T = 8.73e8 + np.array([0.0, 1234.5, 86400.0 * 3.3])
EPH = default_ephemeris()


@pytest.mark.parametrize("frame", FRAMES)
def test_round_trip(frame):
    """to(from(x)) == x to 1e-9 km and 1e-12 km/s."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(T.size, 6)) * np.array([9000, 9000, 9000, 2, 2, 2])
    y = to_mars_icrf(frame, T, from_mars_icrf(frame, T, x, EPH), EPH)
    assert np.max(np.abs(y[:, :3] - x[:, :3])) < 1e-9
    assert np.max(np.abs(y[:, 3:] - x[:, 3:])) < 1e-12


@pytest.mark.parametrize("frame", ["MARS_FIXED", "PHOBOS_FIXED", "PHOBOS_HILL"])
def test_velocity_is_derivative_of_position_in_rotating_frame(frame):
    """v_F equals d(r_F)/dt (5-point stencil, h = 20 s) to 1e-8 km/s.

    The floor is float64 resolution of the rotation angles (Mars' W is ~6e4 rad in 2027,
    so ~7e-12 rad of jitter, i.e. ~7e-8 km at 9400 km); truncation error is < 1e-13 km/s.
    """
    # an inertial straight-line motion near Phobos, expressed in the rotating frame
    t = 8.73e8 + 500.0
    p = EPH.state("PHOBOS", "MARS", t)
    x0 = p + np.array([30.0, -20.0, 5.0, 0.01, 0.002, -0.003])

    def state_at(tt):
        x = x0.copy()
        x[:3] = x0[:3] + x0[3:] * (tt - t)
        return from_mars_icrf(frame, np.array([tt]), x[None, :], EPH)[0]

    h = 20.0
    f = {k: state_at(t + k * h)[:3] for k in (-2, -1, 1, 2)}
    fd = (f[-2] - 8 * f[-1] + 8 * f[1] - f[2]) / (12 * h)
    assert np.max(np.abs(fd - state_at(t)[3:])) < 1e-8


def test_hill_frame_axes():
    """x from Mars through Phobos, z along Phobos' angular momentum, Phobos at the Hill origin at rest."""
    s = np.atleast_2d(EPH.state("PHOBOS", "MARS", T))
    R, dR, o = rotation_to("PHOBOS_HILL", T, EPH)
    for k in range(T.size):
        assert np.allclose(R[k] @ R[k].T, np.eye(3), atol=1e-14)
        assert np.allclose(R[k][0], s[k, :3] / np.linalg.norm(s[k, :3]), atol=1e-14)
        h = np.cross(s[k, :3], s[k, 3:])
        assert np.allclose(R[k][2], h / np.linalg.norm(h), atol=1e-14)
    ph = from_mars_icrf("PHOBOS_HILL", T, s, EPH)
    assert np.max(np.abs(ph)) < 1e-9
    # Mars seen from Phobos lies on the -x axis, at rest radially only to within Phobos' e*n*a
    mars = from_mars_icrf("PHOBOS_HILL", T, np.zeros((T.size, 6)), EPH)
    assert np.all(mars[:, 0] < -9000) and np.max(np.abs(mars[:, 1:3])) < 1e-9


def test_transform_chain_equals_direct():
    x = np.array([[9400.0, 30.0, -10.0, -0.01, 2.1, 0.01]])
    a = transform(T[:1], x, "MARS_FIXED", "PHOBOS_HILL", EPH)
    b = from_mars_icrf("PHOBOS_HILL", T[:1], to_mars_icrf("MARS_FIXED", T[:1], x, EPH), EPH)
    assert np.allclose(a, b, atol=1e-12)


def test_unknown_frame_error_lists_frames():
    with pytest.raises(InputError, match="PHOBOS_HILL"):
        rotation_to("PHOBOS_ORBIT", T)


def test_mars_equator_frame_pole():
    R = rotation_to("MARS_EQUATOR", [0.0])[0][0]
    from mmxsim.bodies import get_body

    assert np.allclose(R[2], get_body("MARS").rotation().matrix(0.0)[2], atol=1e-15)
    assert abs(R[0][2]) < 1e-15  # x axis on the ICRF equator (node)
