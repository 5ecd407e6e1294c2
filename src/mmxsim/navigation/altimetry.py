"""LIDAR altimetry measurements: range to the surface along the boresight, with partials.

Model
-----
In Phobos' body-fixed frame (see :mod:`mmxsim.navigation.optical` for ``s = Rᵀ (r - q)`` and the
caller's ``pose(t) -> (R, dR)``), the boresight is the camera frame's +z turned by the shot's
pointing error: ``b = (E(θ) C(s))ᵀ ẑ`` (nadir to Phobos' centre of mass by default, the same
frame as the cameras; the roll does not move the boresight). The range ``ρ`` is the distance to
the first facet hit by the ray ``s + ρ b`` (BVH closest hit, :func:`mmxsim.bodies.bvh.first_hits`).

*Partials.* On the hit facet (unit normal ``n``, a vertex ``a``) the plane gives
``ρ = n·(a - s) / (n·b)``, so ``dρ = -(n·δs + ρ n·δb) / (n·b)`` with ``δb`` from the boresight's
dependence on ``s`` (nadir) and on the pointing angles; then ``ds/dr = Rᵀ``, ``ds/dq = -Rᵀ`` and
``ds/dp = dRᵀ/dp (r - q)`` for the pose parameters. The facet is held fixed (the range is
piecewise smooth: the partial is the one of the facet hit).

*Noise.* The accuracy of Senshu et al. 2021 (EPS 73, Table 1): ±2 m at 100 m and ±22 m at 100 km,
linear in range in between (ASSUMED, two published points; the pairing of the values was read
from a garbled table: UNCONFIRMED, ``shared/nav-facts.md`` §4), taken as 1σ (parameters of
:class:`AltimetrySettings`); shots outside 100 m - 100 km give no row (same source).

*Light time* (0.2 ms two-way at 30 km: < 1 mm of relative motion) and the spot size (footprint
range × 0.5 mrad, 15 m at 30 km; no averaging over slopes) are neglected; the shot is
instantaneous at its epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..bodies.bvh import first_hits
from ..errors import InputError
from .optical import _angles, _geometry, camera_frame, pointing_rotation

__all__ = ["AltimetrySettings", "AltimetryComputed", "lidar_accuracy_km", "lidar_observations", "lidar_ranges",
           "AltimetryData"]


@dataclass
class AltimetrySettings:
    """Range window (km) and accuracy (1σ, km) at its ends [Senshu et al. 2021, Table 1; pairing
    UNCONFIRMED], linear in between (ASSUMED); ``sigma_scale`` multiplies it."""

    range_min_km: float = 0.1  # Senshu et al. 2021 Table 1
    range_max_km: float = 100.0  # Senshu et al. 2021 Table 1
    sigma_min_km: float = 2e-3  # ±2 m at 100 m, Senshu et al. 2021 Table 1 (UNCONFIRMED pairing)
    sigma_max_km: float = 22e-3  # ±22 m at 100 km, Senshu et al. 2021 Table 1 (UNCONFIRMED pairing)
    sigma_scale: float = 1.0

    def check(self):
        if not (0 < self.range_min_km < self.range_max_km and np.isfinite(self.range_max_km)):
            raise InputError("settings.range_min_km/range_max_km", (self.range_min_km, self.range_max_km),
                             "0 < min < max, km")
        for k in ("sigma_min_km", "sigma_max_km", "sigma_scale"):
            v = getattr(self, k)
            if not (np.isfinite(v) and v >= 0):
                raise InputError(f"settings.{k}", v, "a non-negative number")


def lidar_accuracy_km(range_km, settings: AltimetrySettings | None = None):
    """1σ range noise (km), linear in range between the window's ends (NaN outside)."""
    st = settings or AltimetrySettings()
    r = np.asarray(range_km, float)
    f = (r - st.range_min_km) / (st.range_max_km - st.range_min_km)
    sig = st.sigma_scale * (st.sigma_min_km + f * (st.sigma_max_km - st.sigma_min_km))
    return np.where((r >= st.range_min_km) & (r <= st.range_max_km), sig, np.nan)


@dataclass
class AltimetryComputed:
    """LIDAR rows: ``shot`` (m,) index of the epoch, ``t``, ``value`` range (km), ``sigma`` (km),
    ``facet`` hit, ``point_km`` body-fixed hit point, partials ``d_value_d_state`` (m, 1, 6),
    ``d_value_d_phobos`` (m, 6), ``d_value_d_pose`` (m, k), ``d_value_d_pointing`` (m, 3)."""

    shot: np.ndarray
    t: np.ndarray
    value: np.ndarray
    sigma: np.ndarray
    facet: np.ndarray
    point_km: np.ndarray
    d_value_d_state: np.ndarray
    d_value_d_phobos: np.ndarray
    d_value_d_pose: np.ndarray
    d_value_d_pointing: np.ndarray

    def __len__(self) -> int:
        return len(self.value)


@dataclass
class AltimetryData:
    """LIDAR observations for an orbit-determination problem (:class:`~mmxsim.navigation.od.OrbitProblem`):
    ``t`` (m,) shot epochs (TDB s), ``value`` (m,) observed ranges (km), ``sigma`` (m,) km, ``facet``
    (m,) the facet each shot hit at simulation (fallback plane when a re-cast misses, see
    :func:`lidar_ranges`), the ``shape`` and ``settings``; ``pointing_rad`` (m,3) or (3,) the known
    pointing of the shots (default zeros; the constant correction ``lidarpoint:1|2|3`` is added to
    it). Rows are fixed at simulation."""

    t: np.ndarray
    value: np.ndarray
    sigma: np.ndarray
    facet: np.ndarray
    shape: object
    settings: AltimetrySettings | None = None
    pointing_rad: np.ndarray | None = None
    meta: dict | None = None

    def __post_init__(self):
        self.t = np.atleast_1d(np.asarray(self.t, float))
        m = len(self.t)
        if self.t.ndim != 1 or not np.all(np.isfinite(self.t)):
            raise InputError("altimetry.t", f"shape {self.t.shape}", "(m,) finite shot epochs, TDB s")
        self.settings = self.settings or AltimetrySettings()
        self.settings.check()
        self.value = np.atleast_1d(np.asarray(self.value, float))
        self.sigma = np.broadcast_to(np.asarray(self.sigma, float), (m,)).copy()
        f = np.atleast_1d(np.asarray(self.facet))
        if self.value.shape != (m,) or f.shape != (m,) or (m and not np.issubdtype(f.dtype, np.integer)):
            raise InputError("altimetry rows", f"value {self.value.shape}, facet {f.shape}",
                             f"({m},) each, facet integers")
        F = len(self.shape.faces)
        if m and (f.min() < 0 or f.max() >= F):
            raise InputError("altimetry.facet", "an index out of range", f"0 <= facet < {F}")
        self.facet = f.astype(np.int64)
        if not np.all(np.isfinite(self.value)):
            raise InputError("altimetry.value", "non-finite ranges", "finite observed ranges, km")
        if not np.all(np.isfinite(self.sigma) & (self.sigma > 0)):
            raise InputError("altimetry.sigma", "a sigma <= 0 or not finite", "finite sigmas > 0 km")
        self.pointing_rad = _angles(self.pointing_rad, m).copy()
        self.meta = dict(self.meta or {})

    def __len__(self) -> int:
        return len(self.value)

    def with_values(self, value) -> "AltimetryData":
        """The same shots with other observed ranges (e.g. simulated)."""
        v = np.asarray(value, float).reshape(len(self))
        return AltimetryData(self.t, v, self.sigma, self.facet, self.shape, self.settings, self.pointing_rad,
                             dict(self.meta))


def lidar_observations(shape, t, sc_pos_km, phobos_pos_km, pose: Callable, *, pointing_rad=None,
                       settings: AltimetrySettings | None = None, rng=None) -> AltimetryComputed:
    """LIDAR shots at epochs ``t`` (N,): spacecraft and Phobos Mars-centred (N,3) km, ``pose(t) ->
    (R, dR)``; ``pointing_rad`` (N,3) pointing errors of each shot; ``rng``: add Gaussian noise.
    Rows only where the boresight meets the shape within the range window."""
    settings = settings or AltimetrySettings()
    settings.check()
    t, d, R, dR, s = _geometry(t, sc_pos_km, phobos_pos_km, pose)
    th = _angles(pointing_rad, len(t))
    C, dC = camera_frame(s)
    E, dE = pointing_rotation(th)
    b = (E @ C)[:, 2, :]  # (E C)ᵀ ẑ = third row of E C
    rho, fac = first_hits(shape, s, b)
    keep = (fac >= 0) & (rho >= settings.range_min_km) & (rho <= settings.range_max_km)
    i = np.nonzero(keep)[0]
    out = _on_facets(shape, i, t, d, R, dR, s, C, dC, E, dE, b, fac[i], settings)
    if rng is not None:
        out.value = out.value + rng.normal(size=len(out)) * out.sigma
    return out


def lidar_ranges(shape, t, sc_pos_km, phobos_pos_km, pose: Callable, *, pointing_rad=None, facet=None,
                 settings: AltimetrySettings | None = None) -> AltimetryComputed:
    """Ranges of *given* shots (the estimators' model: rows decided once at simulation): every
    shot at ``t`` (N,) is re-cast on the shape at this geometry, one row per shot, no range window;
    a shot whose ray now misses the shape is intersected with the plane of ``facet`` (N,) (the
    facet it hit at simulation), or raises InputError without one. ``sigma`` is the accuracy at the
    computed range (NaN outside the window; the data keep their own sigmas)."""
    settings = settings or AltimetrySettings()
    settings.check()
    t, d, R, dR, s = _geometry(t, sc_pos_km, phobos_pos_km, pose)
    n = len(t)
    th = _angles(pointing_rad, n)
    C, dC = camera_frame(s)
    E, dE = pointing_rotation(th)
    b = (E @ C)[:, 2, :]
    _, fac = first_hits(shape, s, b)
    miss = fac < 0
    if miss.any():
        F = len(shape.faces)
        fb = None if facet is None else np.asarray(facet)
        if fb is None or fb.shape != (n,) or not np.issubdtype(fb.dtype, np.integer) or np.any(fb[miss] < 0) \
                or np.any(fb[miss] >= F):
            k = int(np.flatnonzero(miss)[0])
            raise InputError(f"lidar shot {k} (t = {t[k]:.3f} TDB s)", "the boresight misses the shape",
                             f"shots that hit the shape, or facet (N,) indices 0 <= i < {F} to fall back on")
        fac = np.where(miss, fb, fac)
    return _on_facets(shape, np.arange(n), t, d, R, dR, s, C, dC, E, dE, b, fac, settings)


def _on_facets(shape, i, t, d, R, dR, s, C, dC, E, dE, b, fac, settings) -> AltimetryComputed:
    """Range along the boresight to the plane of facet ``fac`` for shots ``i``, with partials (module doc)."""
    v, f = shape.vertices, shape.faces
    a = v[f[fac, 0]]
    nrm = np.cross(v[f[fac, 1]] - a, v[f[fac, 2]] - a)
    nrm /= np.linalg.norm(nrm, axis=1)[:, None]
    si, bi = s[i], b[i]
    rho = np.einsum("mk,mk->m", nrm, a - si) / np.einsum("mk,mk->m", nrm, bi)  # plane: same t, exact
    nb = np.einsum("mk,mk->m", nrm, bi)
    # db/ds_k = E[2,:] @ dC[:, :, :, k]  (row 2 of E times dC);  db/dθ_j = row 2 of dE_j C
    db_ds = np.einsum("mb,mbck->mck", E[i, 2, :], dC[i])
    db_dth = np.einsum("mjb,mbc->mcj", dE[i, :, 2, :], C[i])
    g_s = -(nrm + rho[:, None] * np.einsum("mc,mck->mk", nrm, db_ds)) / nb[:, None]
    g_th = -rho[:, None] * np.einsum("mc,mcj->mj", nrm, db_dth) / nb[:, None]
    g_r = np.einsum("mk,mjk->mj", g_s, R[i])
    g_pose = np.einsum("mk,mpjk,mj->mp", g_s, dR[i], d[i])
    m = len(i)
    dstate = np.zeros((m, 1, 6))
    dstate[:, 0, :3] = g_r
    dph = np.zeros((m, 6))
    dph[:, :3] = -g_r
    sig = lidar_accuracy_km(rho, settings)
    return AltimetryComputed(i, t[i], rho, sig, fac, si + rho[:, None] * bi, dstate, dph, g_pose, g_th)
