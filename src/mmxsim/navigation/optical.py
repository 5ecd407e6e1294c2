"""Optical navigation measurements: landmark pixel coordinates and far-range centroids, with partials.

Model
-----
*Geometry.* Everything is formed in Phobos' body-fixed frame. With ``r`` the spacecraft and ``q``
Phobos' position (Mars-centred, inertial axes, km) and ``R`` the rotation body-fixed -> inertial
(columns = Phobos' axes), the spacecraft is at ``s = Rᵀ (r - q)``. ``R`` and its partials with
respect to the pose parameters (e.g. the forced libration amplitude) come from a callable
``pose(t) -> (R (N,3,3), dR (N,k,3,3))`` supplied by the caller (the rotation model is not ours);
note the direction: body-fixed -> inertial, the transpose of SPICE's ``tipbod`` / IAU matrix
(ICRF -> body-fixed). A callable returning ``R`` alone means no pose parameters (k = 0).

*Camera frame.* Nadir pointing: boresight ``z = -s/|s|`` (to Phobos' centre of mass = the origin
of the shape's frame); detector ``y`` = Phobos' +z (its pole) projected on the image plane (+x
within 1e-6 of the pole), ``x = y × z``; then a roll ``ψ`` about the boresight; rows of ``C``
are (x, y, z). A pointing error is a rotation ``E(θ) = R3(θ3) R2(θ2) R1(θ1)`` (frame rotations,
three small angles per image, a per-image attitude bias to estimate or consider), so that a
point ``L`` (body-fixed) has camera coordinates ``c = E C (L - s)``.

*Pinhole.* ``u = cx + f c_x / c_z``, ``v = cy + f c_y / c_z`` (pixels; ``f`` focal length in
pixels = 1 / IFOV; pixel (i, j) covers [i, i+1) x [j, j+1), principal point at the detector
centre). A landmark gives a row pair (u, v) only when it is in the image (0 <= u < width,
0 <= v < height, c_z > 0), *visible* (its facet faces the spacecraft and the ray cast from the
spacecraft to it first meets its own facet, or meets the surface within ``occlusion_tol_km`` of
it) and *lit* (incidence below ``max_incidence_rad`` and the ray from the landmark to the Sun,
started ``1e-9`` of the body size above the facet, meets nothing). Rays are cast on the shape's
BVH (:func:`mmxsim.bodies.bvh.first_hits` / :func:`~mmxsim.bodies.bvh.any_hits`).

*Light time and aberration* are neglected: the light time over 30 km is 0.1 ms, during which
Phobos moves relative to a QSO spacecraft by < 1 mm and turns by 2.3e-8 rad (< 1 mm at 13 km);
aberration from the relative velocity (a few m/s) is ~1e-8 rad, 0.002 TENGOO pixels (IFOV 5.9 µrad).
The Sun direction is geometric (8 s of Sun motion over Phobos' heliocentric light time: 1e-6 rad).

*Landmarks* are facet centroids of the shape (so that "its own facet" is defined); their
body-fixed positions may then be perturbed (estimated or considered): the projection uses the
given position, the visibility and lighting tests the facet's own centroid (they are properties of
the terrain, and a landmark moved by centimetres must not sink below its own facet). :func:`select_landmarks`
picks well-spread ones by farthest-point sampling.

*Centroid (far range)*, :func:`centroid_observations`: above ``min_range_km`` the observable is
the pixel position of the centre of mass in a camera of known inertial attitude (star trackers;
with the per-image pointing error on top; a nadir-pointed frame would always put the centre at
the principal point and carry no information),
and the offset of the apparent centre of light from it is reported per image as ``bias_px``
(a Lambertian photocentre: the brightness-weighted mean of the projected centroids of the facets
that face both the spacecraft and the Sun, weight = facet area × cos(incidence) × cos(emission);
self-shadowing and occlusion neglected, a fair approximation at ranges of tens of km or more).
The caller adds ``bias_px`` to simulated data and treats it as a considered (or estimated)
bias; its uncertainty and the centroiding error are a parameter ``centroid_sigma_px``.

*Partials* (per scalar row, u or v): ``d_value_d_state (m, 1, 6)`` with respect to the spacecraft
Mars-centred state at the image epoch (one bounce; velocity columns zero), ``d_value_d_phobos
(m, 6)`` (Phobos' Mars-centred state; = -spacecraft position columns), ``d_value_d_pose (m, k)``
(the pose parameters of ``pose``), ``d_value_d_landmark (m, 3)`` (its own landmark, body-fixed)
and ``d_value_d_pointing (m, 3)`` (its own image's three angles). All analytic (chain rule
through the camera frame's dependence on ``s``); checked against central differences.

Sources: TENGOO FOV/IFOV/pixels from Kuramoto et al. 2022 (EPS 74:12, Table 4), as in
``instruments/cameras.py``; OROCHI's pixel count is not published in the sources we hold:
IFOV 1 mrad is an ASSUMPTION there, adopted here (1152 x 925 pixels from the 66 x 53 deg FOV).
Pixel noise 0.3 px and pointing bias are parameters (UNCONFIRMED: no MMX navigation-camera
figures found, ``shared/nav-facts.md`` §4).

Simplifications: pinhole camera (no distortion, no rolling shutter, no smear); a landmark is a
point, its appearance (matching error) is folded into the pixel noise; the camera frame is
Phobos-nadir with a roll, not a full attitude history.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..bodies.bvh import any_hits, first_hits
from ..errors import InputError

__all__ = ["PinholeCamera", "TENGOO_PINHOLE", "OROCHI_PINHOLE", "camera_intrinsics", "Landmarks",
           "select_landmarks", "landmarks_from_facets", "OpticalSettings", "OpticalComputed",
           "landmark_observations", "project_landmarks", "centroid_observations", "camera_frame",
           "pointing_rotation", "draw_pointing_bias", "phobos_pose", "OpticalData"]

#: ray-origin offset above a facet for the Sun ray, as a fraction of the body's bounding radius
OFFSET_REL = 1e-9


@dataclass(frozen=True)
class PinholeCamera:
    """Pinhole intrinsics: focal length (pixels), principal point (pixels), image size (pixels)."""

    name: str
    focal_px: float
    cx: float
    cy: float
    width: int
    height: int
    source: str = ""

    def __post_init__(self):
        if not (np.isfinite(self.focal_px) and self.focal_px > 0):
            raise InputError("PinholeCamera.focal_px", self.focal_px, "a positive focal length in pixels")
        if not (int(self.width) > 0 and int(self.height) > 0):
            raise InputError("PinholeCamera.width/height", (self.width, self.height), "positive pixel counts")
        if not (np.isfinite(self.cx) and np.isfinite(self.cy)):
            raise InputError("PinholeCamera.cx/cy", (self.cx, self.cy), "finite principal point (pixels)")

    @classmethod
    def from_ifov(cls, name: str, ifov_rad: float, width: int, height: int, source: str = "") -> "PinholeCamera":
        """Square pixels of angular size ``ifov_rad``: f = 1 / IFOV, principal point at the centre."""
        if not (np.isfinite(ifov_rad) and ifov_rad > 0):
            raise InputError("ifov_rad", ifov_rad, "a positive pixel angle (rad)")
        return cls(name, 1.0 / ifov_rad, width / 2.0, height / 2.0, int(width), int(height), source)


#: TENGOO: IFOV 5.9 µrad, 3296 x 2472 pixels (Kuramoto et al. 2022, EPS 74:12, Table 4).
TENGOO_PINHOLE = PinholeCamera.from_ifov("TENGOO", 5.9e-6, 3296, 2472, "Kuramoto et al. 2022 Table 4")
#: OROCHI: FOV 66 x 53 deg (Kuramoto et al. 2022); IFOV 1 mrad ASSUMPTION (no pixel count published
#: in our sources): 2 tan(33 deg) / 1e-3 = 1299 -> the image is 1299 x 997 pixels.
OROCHI_PINHOLE = PinholeCamera.from_ifov("OROCHI", 1.0e-3, int(2e3 * math.tan(math.radians(33.0))),
                                         int(2e3 * math.tan(math.radians(26.5))),
                                         "Kuramoto et al. 2022 (FOV); IFOV 1 mrad ASSUMPTION")


def camera_intrinsics(camera) -> PinholeCamera:
    """A :class:`PinholeCamera` from ``camera``: itself, or any object with ``ifov_rad`` and
    ``pixels = (width, height)`` (e.g. ``mmxsim.instruments.cameras.TENGOO``); InputError if it
    has no intrinsics (no pixel count)."""
    if isinstance(camera, PinholeCamera):
        return camera
    ifov = getattr(camera, "ifov_rad", None)
    pix = getattr(camera, "pixels", None)
    if ifov is None or pix is None or len(pix) != 2:
        raise InputError("camera", getattr(camera, "name", repr(camera)),
                         "a PinholeCamera or a camera with ifov_rad and pixels = (width, height)")
    return PinholeCamera.from_ifov(getattr(camera, "name", "camera"), float(ifov), int(pix[0]), int(pix[1]),
                                   getattr(camera, "source", ""))


# ---------------------------------------------------------------------------------------------
# Landmarks
@dataclass
class Landmarks:
    """Landmarks: the facet each stands on (index into the shape's faces) and its body-fixed
    position (km; the facet centroid unless perturbed)."""

    facet: np.ndarray
    position_km: np.ndarray

    def __len__(self) -> int:
        return len(self.facet)

    def with_positions(self, position_km) -> "Landmarks":
        p = np.asarray(position_km, float)
        if p.shape != self.position_km.shape or not np.all(np.isfinite(p)):
            raise InputError("position_km", f"shape {p.shape}", f"{self.position_km.shape} finite km")
        return Landmarks(self.facet, p)


def phobos_pose(libration: float | None = None, rot=None) -> Callable:
    """The ``pose`` callable of these models for Phobos' IAU rotation with its forced libration:
    ``pose(t) -> (R, dR)``, R (N,3,3) body-fixed -> ICRF and dR (N,1,3,3) its partial with respect to
    the libration amplitude (rad; default the IAU 2015 value). It is the transpose of
    :func:`mmxsim.bodies.rotation.phobos_orientation` (ICRF -> body-fixed), the rotation the dynamics
    uses for the harmonics with the runtime parameter ``"phobos:libration"``: one amplitude for the
    force and for the surface the camera and the LIDAR see."""
    from ..bodies.rotation import phobos_orientation

    def pose(t):
        R, dR = phobos_orientation(np.atleast_1d(np.asarray(t, dtype=float)), libration, rot)
        return np.swapaxes(R, -1, -2), np.swapaxes(dR, -1, -2)[:, None]

    return pose


def _facets(shape):
    v, f = shape.vertices, shape.faces
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    n = np.cross(b - a, c - a)
    n /= np.linalg.norm(n, axis=1)[:, None]
    return (a + b + c) / 3.0, n


def landmarks_from_facets(shape, facets) -> Landmarks:
    """Landmarks at the centroids of the given facets (InputError for an index out of range)."""
    f = np.atleast_1d(np.asarray(facets))
    F = len(shape.faces)
    if f.ndim != 1 or not np.issubdtype(f.dtype, np.integer) or np.any((f < 0) | (f >= F)):
        raise InputError("facets", f, f"facet indices 0 <= i < {F}")
    cen, _ = _facets(shape)
    return Landmarks(f.astype(np.int64), cen[f].copy())


def select_landmarks(shape, n: int, seed: int = 0) -> Landmarks:
    """``n`` well-spread landmarks: farthest-point sampling over the facet centroids (start at a
    facet drawn with ``seed``; each next one is the centroid farthest from all chosen)."""
    cen, _ = _facets(shape)
    if not (isinstance(n, (int, np.integer)) and 1 <= n <= len(cen)):
        raise InputError("n", n, f"an integer 1 <= n <= {len(cen)} (facets)")
    rng = np.random.default_rng(seed)
    chosen = [int(rng.integers(len(cen)))]
    d = np.linalg.norm(cen - cen[chosen[0]], axis=1)
    for _ in range(n - 1):
        k = int(np.argmax(d))
        chosen.append(k)
        d = np.minimum(d, np.linalg.norm(cen - cen[k], axis=1))
    return landmarks_from_facets(shape, np.array(chosen))


# ---------------------------------------------------------------------------------------------
# Camera frame and pointing (shared with the altimetry model)
def camera_frame(s, roll_rad: float = 0.0):
    """Nadir camera frame for body-fixed spacecraft positions ``s`` (N,3): (C (N,3,3) rows x, y, z;
    dC (N,3,3,3) with dC[i, a, b, k] = ∂C[i, a, b] / ∂s[i, k])."""
    s = np.asarray(s, float)
    r = np.linalg.norm(s, axis=1)
    z = -s / r[:, None]
    eye = np.eye(3)
    dz = -(eye - z[:, :, None] * z[:, None, :]) / r[:, None, None]  # dz_a / ds_k
    up = np.broadcast_to(np.array([0.0, 0.0, 1.0]), s.shape).copy()
    bad = np.abs(z[:, 2]) > 1.0 - 1e-6
    up[bad] = [1.0, 0.0, 0.0]
    uz = np.sum(up * z, axis=1)
    yp = up - uz[:, None] * z
    dyp_dz = -(z[:, :, None] * up[:, None, :] + uz[:, None, None] * eye)
    ny = np.linalg.norm(yp, axis=1)
    y = yp / ny[:, None]
    dy_dyp = (eye - y[:, :, None] * y[:, None, :]) / ny[:, None, None]
    dy = np.matmul(dy_dyp, np.matmul(dyp_dz, dz))
    n = len(s)
    C = np.empty((n, 3, 3))
    dC = np.empty((n, 3, 3, 3))
    x = np.cross(y, z)
    # dx = dy × z + y × dz, column by column (k = component of s)
    dx = np.cross(dy, z[:, :, None], axisa=1, axisb=1, axisc=1) + np.cross(y[:, :, None], dz, axisa=1, axisb=1,
                                                                            axisc=1)
    if roll_rad:
        c, sn = math.cos(roll_rad), math.sin(roll_rad)
        x, y, dx, dy = c * x + sn * y, -sn * x + c * y, c * dx + sn * dy, -sn * dx + c * dy
    C[:, 0], C[:, 1], C[:, 2] = x, y, z
    dC[:, 0], dC[:, 1], dC[:, 2] = dx, dy, dz
    return C, dC


def _skew(a):
    o = np.zeros(a.shape[:-1] + (3, 3))
    o[..., 0, 1], o[..., 0, 2] = -a[..., 2], a[..., 1]
    o[..., 1, 0], o[..., 1, 2] = a[..., 2], -a[..., 0]
    o[..., 2, 0], o[..., 2, 1] = -a[..., 1], a[..., 0]
    return o


def _rot(axis: int, a):
    c, s = np.cos(a), np.sin(a)
    o = np.zeros(np.shape(a) + (3, 3))
    d = np.zeros_like(o)
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    o[..., axis, axis] = 1.0
    o[..., i, i] = o[..., j, j] = c
    o[..., i, j], o[..., j, i] = s, -s
    d[..., i, i] = d[..., j, j] = -s
    d[..., i, j], d[..., j, i] = c, -c
    return o, d


def pointing_rotation(theta):
    """E = R3(θ3) R2(θ2) R1(θ1) (frame rotations) for (N,3) angles: (E (N,3,3), dE (N,3,3,3) with
    dE[:, j] = ∂E/∂θ_j)."""
    th = np.asarray(theta, float)
    if not np.any(th):  # no pointing error: E = I and the constant derivatives at zero, as views
        n = len(th)
        dE0 = np.zeros((3, 3, 3))
        for j, (a, b) in enumerate([(1, 2), (2, 0), (0, 1)]):
            dE0[j, a, b], dE0[j, b, a] = 1.0, -1.0
        return np.broadcast_to(np.eye(3), (n, 3, 3)), np.broadcast_to(dE0, (n, 3, 3, 3))
    r1, d1 = _rot(0, th[:, 0])
    r2, d2 = _rot(1, th[:, 1])
    r3, d3 = _rot(2, th[:, 2])
    E = r3 @ r2 @ r1
    dE = np.stack([r3 @ r2 @ d1, r3 @ d2 @ r1, d3 @ r2 @ r1], axis=1)
    return E, dE


def draw_pointing_bias(n_images: int, sigma_rad, rng) -> np.ndarray:
    """(n, 3) per-image pointing biases, normal with standard deviation ``sigma_rad`` (scalar or (3,))."""
    sig = np.broadcast_to(np.asarray(sigma_rad, float), (3,))
    if not np.all(np.isfinite(sig)) or np.any(sig < 0):
        raise InputError("sigma_rad", sigma_rad, "non-negative pointing standard deviation(s), rad")
    return rng.normal(size=(int(n_images), 3)) * sig


# ---------------------------------------------------------------------------------------------
# Inputs
def _epochs_vec(x, n, name):
    a = np.asarray(x, float)
    a = np.broadcast_to(a, (n, 3)) if a.shape == (3,) else a
    if a.shape != (n, 3) or not np.all(np.isfinite(a)):
        raise InputError(name, f"shape {np.shape(x)}", f"({n}, 3) finite km")
    return np.ascontiguousarray(a)


def _geometry(t, sc_pos_km, phobos_pos_km, pose: Callable):
    """Per image: (t, d = r - q (N,3), R (N,3,3), dR (N,k,3,3), s (N,3))."""
    t = np.atleast_1d(np.asarray(t, float))
    if t.ndim != 1 or not np.all(np.isfinite(t)) or len(t) == 0:
        raise InputError("t", f"shape {t.shape}", "(N,) finite epochs, TDB s past J2000")
    n = len(t)
    r = _epochs_vec(sc_pos_km, n, "sc_pos_km")
    q = _epochs_vec(phobos_pos_km, n, "phobos_pos_km")
    if not callable(pose):
        raise InputError("pose", type(pose).__name__, "a callable pose(t) -> (R (N,3,3), dR (N,k,3,3))")
    res = pose(t)
    if isinstance(res, tuple):
        R, dR = res
    else:  # a rotation only: no pose parameters
        R, dR = res, np.zeros((n, 0, 3, 3))
    R = np.asarray(R, float)
    dR = np.asarray(dR, float)
    if dR.ndim == 3:
        dR = dR[:, None]
    if R.shape != (n, 3, 3) or dR.ndim != 4 or dR.shape[0] != n or dR.shape[2:] != (3, 3):
        raise InputError("pose", f"R {R.shape}, dR {dR.shape}", f"R ({n},3,3) and dR ({n},k,3,3)")
    d = r - q
    s = np.einsum("nji,nj->ni", R, d)
    if np.any(np.linalg.norm(s, axis=1) == 0):
        raise InputError("sc_pos_km", "at Phobos' centre", "a spacecraft away from Phobos' centre")
    return t, d, R, dR, s


def _angles(pointing, n):
    if pointing is None:
        return np.zeros((n, 3))
    a = np.asarray(pointing, float)
    a = np.broadcast_to(a, (n, 3)) if a.shape == (3,) else a
    if a.shape != (n, 3) or not np.all(np.isfinite(a)):
        raise InputError("pointing_rad", f"shape {np.shape(pointing)}", f"({n}, 3) finite angles (rad)")
    return a


@dataclass
class OpticalSettings:
    """Parameters of the optical model: pixel noise (px, UNCONFIRMED 0.3), camera roll (rad),
    visibility tolerance (km), maximum incidence (rad), far-range threshold and centroiding error."""

    pixel_sigma: float = 0.3  # UNCONFIRMED (no MMX figure): typical landmark-matching error
    roll_rad: float = 0.0
    occlusion_tol_km: float = 0.01
    max_incidence_rad: float = math.pi / 2
    centroid_min_range_km: float = 100.0  # far range: centroid rows above this (parameter)
    centroid_sigma_px: float = 1.0  # centroiding error (parameter, UNCONFIRMED)

    def check(self):
        for k in ("pixel_sigma", "occlusion_tol_km", "centroid_min_range_km", "centroid_sigma_px"):
            v = getattr(self, k)
            if not (np.isfinite(v) and v >= 0):
                raise InputError(f"settings.{k}", v, "a non-negative number")
        if not (0 < self.max_incidence_rad <= math.pi / 2):
            raise InputError("settings.max_incidence_rad", self.max_incidence_rad, "0 < incidence <= pi/2 rad")
        if not np.isfinite(self.roll_rad):
            raise InputError("settings.roll_rad", self.roll_rad, "a finite angle (rad)")


@dataclass
class OpticalComputed:
    """Scalar rows (u or v) of optical observations and their partials (see module doc).

    ``image`` (m,) index of the image (epoch), ``landmark`` (m,) landmark index (-1 for a
    centroid row), ``component`` (m,) 0 = u, 1 = v; ``t`` (m,) epoch; ``value`` (m,) pixels;
    ``sigma`` (m,) pixels; ``bias_px`` (m,) photocentre offset (centroid rows; 0 otherwise)."""

    image: np.ndarray
    landmark: np.ndarray
    component: np.ndarray
    t: np.ndarray
    value: np.ndarray
    sigma: np.ndarray
    d_value_d_state: np.ndarray
    d_value_d_phobos: np.ndarray
    d_value_d_pose: np.ndarray
    d_value_d_landmark: np.ndarray
    d_value_d_pointing: np.ndarray
    bias_px: np.ndarray

    def __len__(self) -> int:
        return len(self.value)


def _project(cam: PinholeCamera, L, s, C, dC, E, dE, R, dR, d):
    """Pixel (u, v) of body-fixed points L (M,3) seen from s (M,3), and partials:
    (uv (M,2), cz (M,), J_s (M,2,3) d/ds, J_L (M,2,3), J_th (M,2,3), J_sc (M,2,3) d/dr, J_pose (M,2,k))."""
    M_ = E @ C
    w = L - s
    c = np.einsum("mab,mb->ma", M_, w)
    f = cam.focal_px
    cz = c[:, 2]
    uv = np.stack([cam.cx + f * c[:, 0] / cz, cam.cy + f * c[:, 1] / cz], axis=1)
    J = np.zeros((len(L), 2, 3))
    J[:, 0, 0] = J[:, 1, 1] = f / cz
    J[:, 0, 2] = -f * c[:, 0] / cz ** 2
    J[:, 1, 2] = -f * c[:, 1] / cz ** 2
    dc_ds = np.einsum("mab,mbck,mc->mak", E, dC, w) - M_
    J_s = J @ dc_ds
    J_L = J @ M_
    J_th = np.einsum("mab,mjbc,mc->maj", J, dE, np.einsum("mab,mb->ma", C, w))
    J_sc = np.einsum("mak,mjk->maj", J_s, R)  # ds/dr = Rᵀ: (J_s Rᵀ)
    J_pose = np.einsum("mak,mpjk,mj->map", J_s, dR, d)  # ds/dp = dRᵀ d
    return uv, cz, J_s, J_L, J_th, J_sc, J_pose


def _rows(img, lmk, t, uv, sigma, J_sc, J_pose, J_L, J_th, bias=None):
    m = len(img)
    k = J_pose.shape[2]
    out_img = np.repeat(img, 2)
    comp = np.tile([0, 1], m)
    dstate = np.zeros((2 * m, 1, 6))
    dstate[:, 0, :3] = J_sc.reshape(2 * m, 3)
    dph = np.zeros((2 * m, 6))
    dph[:, :3] = -J_sc.reshape(2 * m, 3)
    return OpticalComputed(out_img, np.repeat(lmk, 2), comp, t[out_img], uv.reshape(-1),
                           np.full(2 * m, float(sigma)), dstate, dph, J_pose.reshape(2 * m, k),
                           J_L.reshape(2 * m, 3), J_th.reshape(2 * m, 3),
                           np.zeros(2 * m) if bias is None else bias.reshape(-1))


def landmark_observations(shape, landmarks: Landmarks, camera, t, sc_pos_km, phobos_pos_km, pose: Callable,
                          sun_pos_km, *, pointing_rad=None, settings: OpticalSettings | None = None,
                          rng=None, chunk: int = 200_000) -> OpticalComputed:
    """Landmark rows for images at epochs ``t`` (N,): spacecraft ``sc_pos_km``, Phobos
    ``phobos_pos_km`` and Sun ``sun_pos_km`` Mars-centred (N,3) km in the inertial axes of
    ``pose(t) -> (R, dR)``; ``pointing_rad`` (N,3) the images' pointing errors (true values
    when simulating, the estimate when computing); ``rng``: add pixel noise (N(0, pixel_sigma)).
    Rows only for landmarks in the image, visible and lit (module doc). ``chunk``: pairs per block
    (memory bound of the screens and the ray casting)."""
    settings = settings or OpticalSettings()
    settings.check()
    cam = camera_intrinsics(camera)
    if not isinstance(landmarks, Landmarks):
        raise InputError("landmarks", type(landmarks).__name__, "a Landmarks (select_landmarks / landmarks_from_facets)")
    F = len(shape.faces)
    if len(landmarks) and (np.any(landmarks.facet < 0) or np.any(landmarks.facet >= F)):
        raise InputError("landmarks.facet", landmarks.facet, f"facet indices 0 <= i < {F}")
    if np.shape(landmarks.position_km) != (len(landmarks), 3) or not np.all(np.isfinite(landmarks.position_km)):
        raise InputError("landmarks.position_km", f"shape {np.shape(landmarks.position_km)}",
                         f"({len(landmarks)}, 3) finite km")
    t, d, R, dR, s = _geometry(t, sc_pos_km, phobos_pos_km, pose)
    n = len(t)
    th = _angles(pointing_rad, n)
    sun = _epochs_vec(sun_pos_km, n, "sun_pos_km")
    sdir = np.einsum("nji,nj->ni", R, sun - np.asarray(phobos_pos_km, float))
    sdir /= np.linalg.norm(sdir, axis=1)[:, None]
    C, dC = camera_frame(s, settings.roll_rad)
    E, dE = pointing_rotation(th)
    M_ = E @ C
    L = landmarks.position_km
    cen, nrm = _facets(shape)
    nl = nrm[landmarks.facet]
    # cheap screens on all (image, landmark) pairs, in blocks of images: in front, in the image,
    # facing the spacecraft, on the day side
    P = cen[landmarks.facet]  # the terrain point: visibility is a property of the shape
    pairs = []
    step = max(1, chunk // max(1, len(L)))
    for i0 in range(0, n, step):
        sl = slice(i0, min(n, i0 + step))
        c = np.einsum("nab,lb->nla", M_[sl], L) - np.einsum("nab,nb->na", M_[sl], s[sl])[:, None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            u = cam.cx + cam.focal_px * c[..., 0] / c[..., 2]
            v = cam.cy + cam.focal_px * c[..., 1] / c[..., 2]
        ok = (c[..., 2] > 0) & (u >= 0) & (u < cam.width) & (v >= 0) & (v < cam.height)
        ok &= (s[sl] @ nl.T - np.sum(nl * P, axis=1)[None, :]) > 0
        ok &= sdir[sl] @ nl.T > math.cos(settings.max_incidence_rad)
        ii, ll = np.nonzero(ok)
        pairs.append((ii + i0, ll))
    img = np.concatenate([p_[0] for p_ in pairs])
    lmk = np.concatenate([p_[1] for p_ in pairs])
    if len(img):
        vis = np.empty(len(img), bool)
        lit = np.empty(len(img), bool)
        eps = OFFSET_REL * float(np.max(np.linalg.norm(shape.vertices, axis=1)))
        for a in range(0, len(img), chunk):
            i, l_ = img[a:a + chunk], lmk[a:a + chunk]
            dirn = P[l_] - s[i]
            tt, ff = first_hits(shape, s[i], dirn)
            dist = np.linalg.norm(dirn, axis=1)
            vis[a:a + chunk] = (ff == landmarks.facet[l_]) | (np.abs(tt - 1.0) * dist <= settings.occlusion_tol_km)
            lit[a:a + chunk] = ~any_hits(shape, P[l_] + eps * nl[l_], sdir[i])
        keep = vis & lit
        img, lmk = img[keep], lmk[keep]
    uv, _, _, J_L, J_th, J_sc, J_pose = _project(cam, L[lmk], s[img], C[img], dC[img], E[img], dE[img], R[img],
                                                 dR[img], d[img])
    out = _rows(img, lmk, t, uv, settings.pixel_sigma, J_sc, J_pose, J_L, J_th)
    if rng is not None:
        out.value = out.value + rng.normal(size=len(out.value)) * settings.pixel_sigma
    return out


@dataclass
class OpticalData:
    """Landmark observations for an orbit-determination problem (:class:`~mmxsim.navigation.od.OrbitProblem`).

    ``t`` (N,) image epochs (TDB s); per scalar row (m,): ``image`` (index into ``t``), ``landmark``
    (index into ``landmarks``), ``component`` (0 = u, 1 = v), ``value`` (observed px), ``sigma`` (px).
    ``landmarks``: the catalogue the problem starts from (its positions are the a priori values of the
    parameters ``lmk:<k>:x|y|z``); ``camera``, ``shape``, ``settings`` as in
    :func:`landmark_observations`; ``pointing_rad`` (N,3): the pointing the images are known to have
    (attitude knowledge; default zeros; estimated corrections ``point:<i>:1|2|3`` and ``point:cam:1|2|3``
    are added to it). The rows are fixed: decided once at simulation (in the image, visible, lit) with
    the true geometry and projected again at any parameter point (:func:`project_landmarks`)."""

    t: np.ndarray
    image: np.ndarray
    landmark: np.ndarray
    component: np.ndarray
    value: np.ndarray
    sigma: np.ndarray
    camera: object
    landmarks: Landmarks
    shape: object
    settings: OpticalSettings | None = None
    pointing_rad: np.ndarray | None = None
    meta: dict | None = None

    def __post_init__(self):
        self.t = np.atleast_1d(np.asarray(self.t, float))
        n = len(self.t)
        if self.t.ndim != 1 or not np.all(np.isfinite(self.t)):
            raise InputError("optical.t", f"shape {self.t.shape}", "(N,) finite image epochs, TDB s")
        self.camera = camera_intrinsics(self.camera)
        self.settings = self.settings or OpticalSettings()
        self.settings.check()
        if not isinstance(self.landmarks, Landmarks):
            raise InputError("optical.landmarks", type(self.landmarks).__name__, "a Landmarks")
        ints = {}
        for k in ("image", "landmark", "component"):
            a = np.atleast_1d(np.asarray(getattr(self, k)))
            if a.ndim != 1 or (len(a) and not np.issubdtype(a.dtype, np.integer)):
                raise InputError(f"optical.{k}", f"shape {a.shape} dtype {a.dtype}", "(m,) integers")
            ints[k] = a.astype(np.int64)
        m = len(ints["image"])
        self.image, self.landmark, self.component = ints["image"], ints["landmark"], ints["component"]
        self.value = np.atleast_1d(np.asarray(self.value, float))
        self.sigma = np.broadcast_to(np.asarray(self.sigma, float), (m,)).copy()
        if any(len(a) != m for a in (self.landmark, self.component, self.value)):
            raise InputError("optical rows", "columns of different lengths",
                             f"image, landmark, component, value of {m} rows")
        if m and (self.image.min() < 0 or self.image.max() >= n):
            raise InputError("optical.image", "an index out of range", f"0 <= image < {n} (the epochs t)")
        if m and (self.landmark.min() < 0 or self.landmark.max() >= len(self.landmarks)):
            raise InputError("optical.landmark", "an index out of range", f"0 <= landmark < {len(self.landmarks)}")
        if m and not np.all((self.component == 0) | (self.component == 1)):
            raise InputError("optical.component", "not 0 or 1", "0 (u) or 1 (v)")
        if not np.all(np.isfinite(self.value)):
            raise InputError("optical.value", "non-finite pixels", "finite observed pixels")
        if not np.all(np.isfinite(self.sigma) & (self.sigma > 0)):
            raise InputError("optical.sigma", "a sigma <= 0 or not finite", "finite sigmas > 0 px")
        self.pointing_rad = _angles(self.pointing_rad, n).copy()
        self.meta = dict(self.meta or {})

    def __len__(self) -> int:
        return len(self.value)

    def with_values(self, value) -> "OpticalData":
        """The same rows with other observed values (e.g. simulated)."""
        v = np.asarray(value, float).reshape(len(self))
        return OpticalData(self.t, self.image, self.landmark, self.component, v, self.sigma, self.camera,
                           self.landmarks, self.shape, self.settings, self.pointing_rad, dict(self.meta))


def project_landmarks(landmarks: Landmarks, camera, t, image, landmark, sc_pos_km, phobos_pos_km, pose: Callable, *,
                      pointing_rad=None, settings: OpticalSettings | None = None) -> OpticalComputed:
    """Rows (u, v) for the given (image, landmark) pairs, *without* the screens of
    :func:`landmark_observations` (in the image, visible, lit): the estimators' model, which keeps
    the rows decided once at simulation with the true geometry and projects the same pairs at any
    other parameter point. ``t`` (N,) image epochs with ``sc_pos_km``, ``phobos_pos_km`` (N,3) and
    ``pointing_rad`` (N,3) per image; ``image``, ``landmark`` (P,) the pairs. Returns 2P rows (u then
    v of each pair, in the pairs' order) with the partials of :class:`OpticalComputed`; a pair
    behind the camera (c_z <= 0) raises InputError (the projection is undefined there)."""
    settings = settings or OpticalSettings()
    settings.check()
    cam = camera_intrinsics(camera)
    if not isinstance(landmarks, Landmarks):
        raise InputError("landmarks", type(landmarks).__name__,
                         "a Landmarks (select_landmarks / landmarks_from_facets)")
    t, d, R, dR, s = _geometry(t, sc_pos_km, phobos_pos_km, pose)
    n = len(t)
    th = _angles(pointing_rad, n)
    img = np.asarray(image)
    lmk = np.asarray(landmark)
    if img.ndim != 1 or lmk.shape != img.shape or (len(img) and not (
            np.issubdtype(img.dtype, np.integer) and np.issubdtype(lmk.dtype, np.integer))):
        raise InputError("image/landmark", f"shapes {img.shape}, {lmk.shape}", "(P,) integer indices of equal length")
    if len(img) and (img.min() < 0 or img.max() >= n or lmk.min() < 0 or lmk.max() >= len(landmarks)):
        raise InputError("image/landmark", "an index out of range",
                         f"0 <= image < {n} (epochs) and 0 <= landmark < {len(landmarks)}")
    L = np.asarray(landmarks.position_km, float)
    C, dC = camera_frame(s, settings.roll_rad)
    E, dE = pointing_rotation(th)
    uv, cz, _, J_L, J_th, J_sc, J_pose = _project(cam, L[lmk], s[img], C[img], dC[img], E[img], dE[img], R[img],
                                                  dR[img], d[img])
    if np.any(cz <= 0):
        k = int(np.flatnonzero(cz <= 0)[0])
        raise InputError(f"pair (image {int(img[k])}, landmark {int(lmk[k])})", "behind the camera",
                         "landmarks in front of the camera (c_z > 0) at this parameter point")
    return _rows(img.astype(np.int64), lmk.astype(np.int64), t, uv, settings.pixel_sigma, J_sc, J_pose, J_L, J_th)


def centroid_observations(shape, camera, t, sc_pos_km, phobos_pos_km, pose: Callable, sun_pos_km, *,
                          attitude=None, pointing_rad=None, settings: OpticalSettings | None = None, rng=None,
                          add_bias: bool = False) -> OpticalComputed:
    """Far-range rows: pixel position of Phobos' centre of mass for images taken farther than
    ``settings.centroid_min_range_km`` with the whole body (its bounding sphere) in the image;
    ``bias_px`` = Lambertian photocentre minus that (module doc), added to the value when
    ``add_bias`` (simulation). sigma = ``centroid_sigma_px``; ``landmark`` = -1.

    The camera attitude is *known* (star trackers): ``attitude`` (N,3,3), rows = camera x, y, z
    in the inertial axes, or None for the nadir frame of the given geometry, then held fixed
    (not a function of the positions), with the pointing error ``E(θ)`` on top; so ``c = -E A (r - q)``
    and the pose and landmark columns are zero (the centre of mass does not depend on them)."""
    settings = settings or OpticalSettings()
    settings.check()
    cam = camera_intrinsics(camera)
    t, d, R, dR, s = _geometry(t, sc_pos_km, phobos_pos_km, pose)
    n = len(t)
    th = _angles(pointing_rad, n)
    sun = _epochs_vec(sun_pos_km, n, "sun_pos_km")
    sdir = np.einsum("nji,nj->ni", R, sun - np.asarray(phobos_pos_km, float))
    sdir /= np.linalg.norm(sdir, axis=1)[:, None]
    if attitude is None:
        C, _ = camera_frame(s, settings.roll_rad)  # body-fixed rows; inertial A = C Rᵀ, so A R = C
    else:
        A = np.asarray(attitude, float)
        if A.shape != (n, 3, 3) or not np.allclose(A @ np.swapaxes(A, 1, 2), np.eye(3), atol=1e-9):
            raise InputError("attitude", f"shape {A.shape}", f"({n},3,3) rotation matrices (rows = camera axes)")
        C = A @ R
    E, dE = pointing_rotation(th)
    zero = np.zeros((n, 3))
    uv, cz, J_s, J_L, J_th, J_sc, J_pose = _project(cam, zero, s, C, np.zeros((n, 3, 3, 3)), E, dE, R, dR, d)
    J_pose = np.zeros_like(J_pose)
    rs = np.linalg.norm(s, axis=1)
    rb = float(np.max(np.linalg.norm(shape.vertices, axis=1)))
    rad_px = cam.focal_px * np.tan(np.arcsin(np.clip(rb / rs, 0.0, 1.0)))  # bounding sphere's image radius
    keep = (rs >= settings.centroid_min_range_km) & (rs > rb) & (cz > 0) & (uv[:, 0] - rad_px >= 0) & \
        (uv[:, 0] + rad_px < cam.width) & (uv[:, 1] - rad_px >= 0) & (uv[:, 1] + rad_px < cam.height)
    img = np.nonzero(keep)[0]
    cen, nrm = _facets(shape)
    v, f = shape.vertices, shape.faces
    area = 0.5 * np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1)
    bias = np.zeros((len(img), 2))
    for j, i in enumerate(img):
        w = cen - s[i]
        rng_f = np.linalg.norm(w, axis=1)
        cos_e = -np.einsum("fk,fk->f", nrm, w) / rng_f
        cos_i = nrm @ sdir[i]
        wt = np.where((cos_e > 0) & (cos_i > 0), area * np.clip(cos_i, 0, None) * np.clip(cos_e, 0, None), 0.0)
        if wt.sum() > 0:
            cc = w @ (E[i] @ C[i]).T
            pu = cam.cx + cam.focal_px * cc[:, 0] / cc[:, 2]
            pv = cam.cy + cam.focal_px * cc[:, 1] / cc[:, 2]
            bias[j] = [np.sum(wt * pu) / wt.sum() - uv[i, 0], np.sum(wt * pv) / wt.sum() - uv[i, 1]]
    J_L = np.zeros_like(J_L)
    out = _rows(img, np.full(len(img), -1), t, uv[img], settings.centroid_sigma_px, J_sc[img],
                J_pose[img], J_L[img], J_th[img], bias)
    if add_bias:
        out.value = out.value + out.bias_px
    if rng is not None:
        out.value = out.value + rng.normal(size=len(out.value)) * settings.centroid_sigma_px
    return out
