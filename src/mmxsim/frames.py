"""Reference frames and state transformations (positions and velocities).

Frames (axes + origin):

=================  ==========  =================================================================
name               origin      axes
=================  ==========  =================================================================
``ICRF``           any body    ICRF (= SPICE 'J2000' to < 0.1 arcsec; treated as identical)
``MARS_ICRF``      Mars        ICRF axes, Mars-centred: the propagation frame
``MARS_EQUATOR``   Mars        inertial: Mars IAU 2015 equator and node of date J2000 (frozen)
``MARS_FIXED``     Mars        IAU 2015 Mars body-fixed (``pck00011.tpc``)
``PHOBOS_FIXED``   Phobos      IAU 2015 Phobos body-fixed with forced libration
``PHOBOS_HILL``    Phobos      x from Mars through Phobos (radially out), z along Phobos' orbital
                               angular momentum, y = z × x (along track)
=================  ==========  =================================================================

A rotating frame F with rotation R(t) (ICRF -> F) and origin O(t) maps
r_F = R (r - r_O) and v_F = R (v - v_O) + dR/dt (r - r_O), so velocities in
rotating frames are *relative to the rotating axes* (rotating-frame terms included).

The Hill frame's rate uses Phobos' acceleration, taken as a central difference of
the ephemeris velocity (±1 s); its out-of-plane part (nodal precession of the orbit)
matters at the mm/s level for a spacecraft 50 km from Phobos.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError

FRAMES = ("ICRF", "MARS_ICRF", "MARS_EQUATOR", "MARS_FIXED", "PHOBOS_FIXED", "PHOBOS_HILL")
FRAME_ORIGIN = {"MARS_ICRF": "MARS", "MARS_EQUATOR": "MARS", "MARS_FIXED": "MARS",
                "PHOBOS_FIXED": "PHOBOS", "PHOBOS_HILL": "PHOBOS"}


def check_frame(name: str, field: str = "frame") -> str:
    key = str(name).upper()
    if key not in FRAMES:
        raise InputError(field, name, ", ".join(FRAMES))
    return key


def _default_eph(eph):
    if eph is None:
        from .ephemeris import default_ephemeris

        return default_ephemeris()
    return eph


def hill_rotation(phobos_state, phobos_acc=None):
    """Rotation ICRF -> Hill and its time derivative from Phobos' state rel. to Mars.

    ``phobos_state`` (N, 6) and ``phobos_acc`` (N, 3) (if None, Keplerian r×a = 0).
    Returns R (N, 3, 3) with rows x̂, ŷ, ẑ, and dR/dt.
    """
    s = np.atleast_2d(phobos_state)
    r, v = s[:, :3], s[:, 3:]
    a = np.zeros_like(r) if phobos_acc is None else np.atleast_2d(phobos_acc)
    rn = np.linalg.norm(r, axis=1)[:, None]
    x = r / rn
    h = np.cross(r, v)
    hn = np.linalg.norm(h, axis=1)[:, None]
    z = h / hn
    y = np.cross(z, x)
    xd = (v - x * np.sum(x * v, axis=1)[:, None]) / rn
    hd = np.cross(r, a)
    zd = (hd - z * np.sum(z * hd, axis=1)[:, None]) / hn
    yd = np.cross(zd, x) + np.cross(z, xd)
    R = np.stack([x, y, z], axis=1)
    dR = np.stack([xd, yd, zd], axis=1)
    return R, dR


def _phobos_state_acc(t, eph):
    t = np.atleast_1d(np.asarray(t, dtype=float))
    s = eph.state("PHOBOS", "MARS", t)
    h = 1.0
    acc = (eph.state("PHOBOS", "MARS", t + h)[:, 3:] - eph.state("PHOBOS", "MARS", t - h)[:, 3:]) / (2 * h)
    return np.atleast_2d(s), np.atleast_2d(acc)


def rotation_to(frame: str, t, eph=None, orientation=None):
    """(R, dR/dt, origin_state) for ``frame`` at epochs ``t`` (arrays over N).

    ``R`` rotates ICRF vectors into ``frame``; ``origin_state`` (N, 6) is the frame
    origin relative to Mars in ICRF. ``orientation(body, t) -> (R, dR)`` may
    override the IAU models (e.g. a SPICE PCK the user brings).
    """
    frame = check_frame(frame)
    t = np.atleast_1d(np.asarray(t, dtype=float))
    n = t.size
    eye = np.broadcast_to(np.eye(3), (n, 3, 3)).copy()
    zero = np.zeros((n, 3, 3))
    origin = np.zeros((n, 6))
    if frame in ("ICRF", "MARS_ICRF"):
        return eye, zero, origin
    if frame == "MARS_EQUATOR":
        from .bodies import get_body

        R0 = get_body("MARS").rotation().matrix(0.0)
        a, d, _ = get_body("MARS").rotation().euler(0.0)
        # equator of date J2000, x toward the node of the Mars equator on the ICRF equator
        node = np.array([np.cos(a + np.pi / 2), np.sin(a + np.pi / 2), 0.0])
        zax = R0[2]
        yax = np.cross(zax, node)
        R = np.stack([node, yax, zax])
        return np.broadcast_to(R, (n, 3, 3)).copy(), zero, origin
    if frame in ("MARS_FIXED", "PHOBOS_FIXED"):
        body = "MARS" if frame == "MARS_FIXED" else "PHOBOS"
        if orientation is not None:
            R, dR = orientation(body, t)
        else:
            from .bodies import get_body

            R, dR = get_body(body).rotation().matrix_and_rate(t)
        R = np.reshape(R, (n, 3, 3))
        dR = np.reshape(dR, (n, 3, 3))
        if body == "PHOBOS":
            origin = np.atleast_2d(_default_eph(eph).state("PHOBOS", "MARS", t))
        return R, dR, origin
    # PHOBOS_HILL
    eph = _default_eph(eph)
    s, acc = _phobos_state_acc(t, eph)
    R, dR = hill_rotation(s, acc)
    return R, dR, s


def from_mars_icrf(frame: str, t, states, eph=None, orientation=None) -> np.ndarray:
    """Mars-centred ICRF states (N, 6) -> states in ``frame`` (about its own origin)."""
    st = np.atleast_2d(np.asarray(states, dtype=float))
    R, dR, o = rotation_to(frame, t, eph, orientation)
    rr = st[:, :3] - o[:, :3]
    vv = st[:, 3:] - o[:, 3:]
    r = np.einsum("nij,nj->ni", R, rr)
    v = np.einsum("nij,nj->ni", R, vv) + np.einsum("nij,nj->ni", dR, rr)
    out = np.hstack([r, v])
    return out if np.ndim(states) == 2 else out[0]


def to_mars_icrf(frame: str, t, states, eph=None, orientation=None) -> np.ndarray:
    """States in ``frame`` (about its origin) -> Mars-centred ICRF states."""
    st = np.atleast_2d(np.asarray(states, dtype=float))
    R, dR, o = rotation_to(frame, t, eph, orientation)
    RT = np.swapaxes(R, 1, 2)
    rr = np.einsum("nij,nj->ni", RT, st[:, :3])
    vv = np.einsum("nij,nj->ni", RT, st[:, 3:] - np.einsum("nij,nj->ni", dR, rr))
    out = np.hstack([rr + o[:, :3], vv + o[:, 3:]])
    return out if np.ndim(states) == 2 else out[0]


def transform(t, states, from_frame: str, to_frame: str, eph=None, orientation=None) -> np.ndarray:
    """Transform states between any two frames of :data:`FRAMES`.

    ``ICRF`` states are taken as Mars-centred here; use :func:`recenter` to move
    ICRF states between bodies.
    """
    mi = to_mars_icrf(from_frame, t, states, eph, orientation)
    return from_mars_icrf(to_frame, t, mi, eph, orientation)


def recenter(t, states, from_center: str, to_center: str, eph=None) -> np.ndarray:
    """Move ICRF-axes states from one origin body to another."""
    if from_center.upper() == to_center.upper():
        return np.asarray(states, dtype=float)
    eph = _default_eph(eph)
    d = eph.state(from_center.upper(), to_center.upper(), np.asarray(t, dtype=float))
    return np.asarray(states, dtype=float) + d
