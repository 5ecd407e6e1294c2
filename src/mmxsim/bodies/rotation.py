"""IAU rotation models (pole RA/Dec and prime meridian) read from a SPICE PCK.

The model is the one SPICE evaluates (``tisbod``): with ``T`` Julian centuries and
``d`` days of TDB past J2000,

    alpha = a0 + a1 T + a2 T^2 + sum_i A_i sin(theta_i)
    delta = d0 + d1 T + d2 T^2 + sum_i D_i cos(theta_i)
    W     = w0 + w1 d + w2 d^2 + sum_i W_i sin(theta_i)
    theta_i = t0_i + t1_i T (+ t2_i T^2 when BODYnnn_MAX_PHASE_DEGREE = 2)

and the ICRF -> body-fixed rotation is ``R3(W) R1(pi/2 - delta) R3(pi/2 + alpha)``.
For Phobos the IAU 2015 model in ``pck00011.tpc`` (Archinal et al. 2018, corrected)
carries the forced libration in longitude (the -1.143 deg term in ``W``) and the
quadratic term of the prime meridian from the secular acceleration.

The angle functions are written once and evaluated either on NumPy arrays or on
heyoka expressions (pass ``sin``/``cos`` of the library), so the dynamics uses
exactly the rotation that the frames module and its tests use.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .._data import data_path
from ..errors import InputError
from .pck import read_text_kernel

DEG = np.pi / 180.0
SEC_PER_DAY = 86400.0
SEC_PER_CENTURY = 86400.0 * 36525.0


@dataclass(frozen=True)
class IAURotation:
    """IAU orientation of one body: pole and prime meridian with periodic terms.

    All angle coefficients are in degrees, as in the PCK.
    """

    naif_id: int
    ra: tuple[float, float, float]
    dec: tuple[float, float, float]
    pm: tuple[float, float, float]
    nut_ra: tuple[float, ...] = ()
    nut_dec: tuple[float, ...] = ()
    nut_pm: tuple[float, ...] = ()
    # phase-angle polynomials, one row (t0, t1, t2) per angle, deg and deg/century^k
    angles: tuple[tuple[float, float, float], ...] = ()

    # -- generic evaluation (NumPy or heyoka) ---------------------------------
    def euler(self, t, sin=np.sin, cos=np.cos):
        """(alpha, delta, W) in radians at TDB seconds past J2000 ``t``.

        ``t`` may be a float, an array, or a heyoka expression (then pass
        ``sin=heyoka.sin, cos=heyoka.cos``).
        """
        T = t * (1.0 / SEC_PER_CENTURY)
        d = t * (1.0 / SEC_PER_DAY)
        a = self.ra[0] + self.ra[1] * T + self.ra[2] * T * T
        de = self.dec[0] + self.dec[1] * T + self.dec[2] * T * T
        w = self.pm[0] + self.pm[1] * d + self.pm[2] * d * d
        for i, (t0, t1, t2) in enumerate(self.angles):
            ca = self.nut_ra[i] if i < len(self.nut_ra) else 0.0
            cd = self.nut_dec[i] if i < len(self.nut_dec) else 0.0
            cw = self.nut_pm[i] if i < len(self.nut_pm) else 0.0
            if ca == 0.0 and cd == 0.0 and cw == 0.0:
                continue
            th = (t0 + t1 * T + t2 * T * T) * DEG
            if ca != 0.0 or cw != 0.0:
                s = sin(th)
                if ca != 0.0:
                    a = a + ca * s
                if cw != 0.0:
                    w = w + cw * s
            if cd != 0.0:
                de = de + cd * cos(th)
        return a * DEG, de * DEG, w * DEG

    def euler_rates(self, t):
        """Time derivatives (rad/s) of (alpha, delta, W) at ``t`` (NumPy only)."""
        t = np.asarray(t, dtype=float)
        T = t / SEC_PER_CENTURY
        d = t / SEC_PER_DAY
        da = (self.ra[1] + 2 * self.ra[2] * T) / SEC_PER_CENTURY
        dd = (self.dec[1] + 2 * self.dec[2] * T) / SEC_PER_CENTURY
        dw = (self.pm[1] + 2 * self.pm[2] * d) / SEC_PER_DAY
        for i, (t0, t1, t2) in enumerate(self.angles):
            ca = self.nut_ra[i] if i < len(self.nut_ra) else 0.0
            cd = self.nut_dec[i] if i < len(self.nut_dec) else 0.0
            cw = self.nut_pm[i] if i < len(self.nut_pm) else 0.0
            th = (t0 + t1 * T + t2 * T * T) * DEG
            dth = (t1 + 2 * t2 * T) * DEG / SEC_PER_CENTURY  # rad/s
            da = da + ca * np.cos(th) * dth
            dd = dd - cd * np.sin(th) * dth
            dw = dw + cw * np.cos(th) * dth
        return da * DEG, dd * DEG, dw * DEG

    # -- matrices ---------------------------------------------------------------
    def matrix(self, t) -> np.ndarray:
        """ICRF -> body-fixed rotation matrix, shape (3, 3) or (N, 3, 3)."""
        a, d, w = self.euler(np.asarray(t, dtype=float))
        return _tipbod(a, d, w)

    def matrix_and_rate(self, t) -> tuple[np.ndarray, np.ndarray]:
        """Rotation ``R`` (ICRF -> body) and its time derivative ``dR/dt`` [1/s]."""
        t = np.asarray(t, dtype=float)
        a, d, w = self.euler(t)
        da, dd, dw = self.euler_rates(t)
        A3 = _r3(w)
        B1 = _r1(np.pi / 2 - d)
        C3 = _r3(np.pi / 2 + a)
        dA3 = _dr3(w) * dw[..., None, None] if np.ndim(dw) else _dr3(w) * dw
        dB1 = _dr1(np.pi / 2 - d) * (-dd)[..., None, None] if np.ndim(dd) else _dr1(np.pi / 2 - d) * (-dd)
        dC3 = _dr3(np.pi / 2 + a) * da[..., None, None] if np.ndim(da) else _dr3(np.pi / 2 + a) * da
        R = A3 @ B1 @ C3
        dR = dA3 @ B1 @ C3 + A3 @ dB1 @ C3 + A3 @ B1 @ dC3
        return R, dR

    def angular_velocity(self, t) -> np.ndarray:
        """Body angular velocity expressed in ICRF [rad/s], shape (3,) or (N, 3)."""
        R, dR = self.matrix_and_rate(t)
        # dR/dt = -[w_body]x R  ->  [w_body]x = -dR R^T ; w_icrf = R^T w_body
        W = -dR @ np.swapaxes(R, -1, -2)
        wb = np.stack([W[..., 2, 1], W[..., 0, 2], W[..., 1, 0]], axis=-1)
        return np.einsum("...ji,...j->...i", R, wb)


def _r3(x):
    c, s = np.cos(x), np.sin(x)
    z, o = np.zeros_like(c), np.ones_like(c)
    return np.moveaxis(np.array([[c, s, z], [-s, c, z], [z, z, o]]), (0, 1), (-2, -1))


def _r1(x):
    c, s = np.cos(x), np.sin(x)
    z, o = np.zeros_like(c), np.ones_like(c)
    return np.moveaxis(np.array([[o, z, z], [z, c, s], [z, -s, c]]), (0, 1), (-2, -1))


def _dr3(x):
    c, s = np.cos(x), np.sin(x)
    z = np.zeros_like(c)
    return np.moveaxis(np.array([[-s, c, z], [-c, -s, z], [z, z, z]]), (0, 1), (-2, -1))


def _dr1(x):
    c, s = np.cos(x), np.sin(x)
    z = np.zeros_like(c)
    return np.moveaxis(np.array([[z, z, z], [z, -s, c], [z, -c, -s]]), (0, 1), (-2, -1))


def _tipbod(a, d, w):
    return _r3(w) @ _r1(np.pi / 2 - d) @ _r3(np.pi / 2 + a)


def rotation_matrix_expr(rot: IAURotation, t, hy):
    """ICRF -> body rotation as nested lists of heyoka expressions of ``t``."""
    a, d, w = rot.euler(t, sin=hy.sin, cos=hy.cos)
    return rotation_matrix_from_angles(a, d, w, hy)


def rotation_matrix_from_angles(a, d, w, hy):
    """ICRF -> body rotation ``R3(w) R1(pi/2 - d) R3(pi/2 + a)`` as nested lists of heyoka expressions."""
    ca, sa = hy.cos(a), hy.sin(a)
    cd, sd = hy.cos(d), hy.sin(d)
    cw, sw = hy.cos(w), hy.sin(w)
    # R3(pi/2+a): rows [[-sa, ca, 0], [-ca, -sa, 0], [0,0,1]]
    # R1(pi/2-d): rows [[1,0,0],[0, sd, cd],[0, -cd, sd]]
    # M = R1 * R3 :
    m = [
        [-sa, ca, 0.0],
        [-sd * ca, -sd * sa, cd],
        [cd * ca, cd * sa, sd],
    ]
    r3w = [[cw, sw, 0.0], [-sw, cw, 0.0], [0.0, 0.0, 1.0]]
    out = []
    for i in range(3):
        row = []
        for j in range(3):
            acc = None
            for k in range(3):
                if isinstance(r3w[i][k], float) and r3w[i][k] == 0.0:
                    continue
                if isinstance(m[k][j], float) and m[k][j] == 0.0:
                    continue
                term = m[k][j] if (isinstance(r3w[i][k], float) and r3w[i][k] == 1.0) else r3w[i][k] * m[k][j]
                acc = term if acc is None else acc + term
            row.append(acc if acc is not None else 0.0)
        out.append(row)
    return out


@lru_cache(maxsize=None)
def iau_rotation(naif_id: int, pck: str | None = None) -> IAURotation:
    """The IAU rotation model of a body from a PCK (default: packaged ``pck00011.tpc``)."""
    path = pck or str(data_path("pck00011.tpc"))
    k = read_text_kernel(path)
    key = f"BODY{naif_id}_POLE_RA"
    if key not in k:
        raise InputError("body", naif_id, f"a body with an orientation model in {path}")

    def three(name):
        v = list(k.get(f"BODY{naif_id}_{name}", (0.0, 0.0, 0.0)))
        return tuple((v + [0.0, 0.0, 0.0])[:3])

    system = naif_id // 100 if naif_id >= 100 else naif_id
    if naif_id % 100 == 99:
        system = naif_id // 100
    ang_raw = k.get(f"BODY{system}_NUT_PREC_ANGLES", ())
    deg = int(k.get(f"BODY{system}_MAX_PHASE_DEGREE", (1,))[0])
    ncol = deg + 1
    angles = tuple(
        tuple(list(ang_raw[i : i + ncol]) + [0.0] * (3 - ncol)) for i in range(0, len(ang_raw), ncol)
    )
    return IAURotation(
        naif_id=naif_id,
        ra=three("POLE_RA"),
        dec=three("POLE_DEC"),
        pm=three("PM"),
        nut_ra=tuple(k.get(f"BODY{naif_id}_NUT_PREC_RA", ())),
        nut_dec=tuple(k.get(f"BODY{naif_id}_NUT_PREC_DEC", ())),
        nut_pm=tuple(k.get(f"BODY{naif_id}_NUT_PREC_PM", ())),
        angles=angles,
    )


# ---------------------------------------------------------------------------
# Phobos' forced libration amplitude as a parameter
# The forced libration in longitude of Phobos is the fifth periodic term of its prime meridian in the
# IAU 2015 model, BODY401_NUT_PREC_PM[4] = -1.143 deg in pck00011.tpc (Archinal et al. 2018, Celest.
# Mech. Dyn. Astr. 130:22, Table 2; phase angle M5 of the Mars system).
PHOBOS_LIBRATION_INDEX = 4
PHOBOS_LIBRATION_DEG = -1.143  # deg, pck00011.tpc BODY401_NUT_PREC_PM[4] (Archinal et al. 2018)


def _libration_phase(rot: IAURotation, t, index: int):
    """Phase angle theta (rad) of the periodic term ``index``, written as in :meth:`IAURotation.euler`
    (the same expression, so that heyoka's common-subexpression elimination shares its sine)."""
    if index >= len(rot.nut_pm) or index >= len(rot.angles) or rot.nut_pm[index] == 0.0:
        raise InputError("libration term", index, f"a non-zero prime-meridian term of body {rot.naif_id}")
    T = t * (1.0 / SEC_PER_CENTURY)
    t0, t1, t2 = rot.angles[index]
    return (t0 + t1 * T + t2 * T * T) * DEG


def librating_euler(rot: IAURotation, t, amplitude, sin=np.sin, cos=np.cos, index: int = PHOBOS_LIBRATION_INDEX):
    """(alpha, delta, W) in rad with the prime-meridian term ``index`` given the amplitude ``amplitude``
    (rad; a number, array or heyoka expression) instead of the PCK's value:
    ``W = W_pck + (amplitude - amplitude_pck) sin(theta)``. At the PCK value the added term is exactly 0,
    so the angles equal :meth:`IAURotation.euler` to the last bit."""
    a, d, w = rot.euler(t, sin=sin, cos=cos)
    th = _libration_phase(rot, t, index)
    return a, d, w + (amplitude - rot.nut_pm[index] * DEG) * sin(th)


def librating_matrix(rot: IAURotation, t, amplitude, m, index: int = PHOBOS_LIBRATION_INDEX):
    """ICRF -> body rotation (3x3 nested list) with the libration amplitude ``amplitude`` (rad),
    for a math namespace ``m`` (:mod:`mmxsim.mathns`: NumPy floats or heyoka expressions)."""
    if m.is_symbolic:
        a, d, w = librating_euler(rot, t, amplitude, m.sin, m.cos, index)
        return rotation_matrix_from_angles(a, d, w, m.hy)
    a, d, w = librating_euler(rot, float(t), float(amplitude), index=index)
    return _tipbod(a, d, w).tolist()


def phobos_orientation(t, libration: float | None = None, rot: IAURotation | None = None,
                       index: int = PHOBOS_LIBRATION_INDEX) -> tuple[np.ndarray, np.ndarray]:
    """Phobos' ICRF -> body-fixed rotation and its partial with respect to the libration amplitude.

    ``t``: TDB s past J2000 (float or array of N); ``libration``: the amplitude of the forced libration
    term of the prime meridian in rad (the runtime parameter ``"phobos:libration"`` of
    :class:`~mmxsim.dynamics.PhobosGravity`; default the IAU 2015 value -1.143 deg); ``rot``: the
    rotation model (default Phobos' of pck00011). Returns ``(R, dR/dA)``, each (3, 3) or (N, 3, 3):
    ``dR/dA = dR3(W)/dW R1(pi/2 - delta) R3(pi/2 + alpha) sin(theta)``. Measurement models that see
    Phobos' surface (landmarks, LIDAR) use this with the same amplitude as the dynamics.
    """
    rot = iau_rotation(401) if rot is None else rot
    amp = rot.nut_pm[index] * DEG if libration is None else float(libration)
    if not np.isfinite(amp):
        raise InputError("phobos:libration", libration, "a finite amplitude in rad")
    t = np.asarray(t, dtype=float)
    a, d, w = librating_euler(rot, t, amp, index=index)
    th = _libration_phase(rot, t, index)
    B = _r1(np.pi / 2 - d) @ _r3(np.pi / 2 + a)
    R = _tipbod(a, d, w)  # the same product order as IAURotation.matrix
    s = np.sin(th)
    dR = _dr3(w) @ B * (s[..., None, None] if np.ndim(s) else s)
    return R, dR
