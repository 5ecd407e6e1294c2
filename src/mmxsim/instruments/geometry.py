"""Observation geometry of a shape model's facets from a spacecraft, under the Sun.

For each epoch and each facet: whether the facet is seen from the spacecraft and lit by
the Sun (facing, and not hidden by the body itself or, for light, by Mars), incidence,
emission and phase angles, range, and the facet's solid angle seen from the spacecraft.

All vectors are in the body-fixed frame of the shape model (km), e.g. IAU_PHOBOS.
The Sun is far: one Sun direction per epoch is used for every facet (parallax across
Phobos < 1e-7 rad).

The public call pattern (shared by MEGANE, MIRS, cameras and LIDAR)::

    g = facet_geometry(shape, sc_pos_km, sun_pos_km, mars_pos_km=..., occlusion=True)
    g.visible, g.illuminated, g.cos_i, g.cos_e, g.phase_rad, g.range_km, g.solid_angle_sr

Arrays are (N epochs, F facets).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError

__all__ = ["FacetGeometry", "EmissionGeometry", "facet_geometry", "emission_geometry", "facet_frame",
           "visibility_illumination", "mars_shadow"]

#: Mars mean (volumetric) radius, km, for eclipses of the Sun by Mars.  Source: IAU WGCCRE
#: 2015 (Archinal et al. 2018), via pck00011.tpc: radii 3396.19, 3396.19, 3376.20 km.
MARS_RADIUS_KM = (3396.19 * 3396.19 * 3376.20) ** (1.0 / 3.0)


@dataclass(frozen=True)
class FacetGeometry:
    """Geometry of every facet at every epoch; arrays (N, F) unless noted.

    visible : facet centroid in view (facing the spacecraft, not hidden by the body).
    illuminated : facet centroid lit (facing the Sun, not shadowed by the body, not in
        Mars' shadow).
    cos_i, cos_e : cosines of incidence (Sun) and emission (spacecraft) from the facet normal
        (may be negative: facing away).
    phase_rad : Sun–facet–spacecraft angle.
    range_km : facet centroid to spacecraft.
    solid_angle_sr : area * cos_e / range^2 where visible, else 0 (the facet's solid angle
        seen from the spacecraft, far-field).
    in_mars_shadow : (N,) the body centre in Mars' umbra (cylindrical shadow; the body is
        small compared with Mars).
    """

    visible: np.ndarray
    illuminated: np.ndarray
    cos_i: np.ndarray
    cos_e: np.ndarray
    phase_rad: np.ndarray
    range_km: np.ndarray
    solid_angle_sr: np.ndarray
    in_mars_shadow: np.ndarray


def facet_frame(shape):
    """(centroids (F, 3) km, unit outward normals (F, 3), areas (F,) km^2) of a shape."""
    v, f = shape.vertices, shape.faces
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    n = np.cross(b - a, c - a)
    area2 = np.linalg.norm(n, axis=1)
    return (a + b + c) / 3.0, n / area2[:, None], 0.5 * area2


def _as_epochs(x, field: str) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.shape[1] != 3 or not np.all(np.isfinite(a)):
        raise InputError(field, f"array of shape {np.shape(x)}", "finite positions, (3,) or (N, 3), km")
    return a


def mars_shadow(body_pos_from_mars_km: np.ndarray, sun_pos_from_mars_km: np.ndarray,
                radius_km: float = MARS_RADIUS_KM) -> np.ndarray:
    """True where a point is in Mars' cylindrical shadow (behind Mars, within its radius)."""
    s = sun_pos_from_mars_km / np.linalg.norm(sun_pos_from_mars_km, axis=-1, keepdims=True)
    along = np.sum(body_pos_from_mars_km * s, axis=-1)
    perp = np.linalg.norm(body_pos_from_mars_km - along[..., None] * s, axis=-1)
    return (along < 0.0) & (perp < radius_km)


def _view_arrays(sc, c, n, sdir=None):
    """(range, cos of emission, phase angle or None), each (N, F), of N spacecraft positions ``sc``
    seen from F facet centres ``c`` with normals ``n`` (``sdir``: N unit Sun directions, for the
    phase), in chunks of epochs so that the (chunk, F, 3) temporaries stay < 50 MB."""
    N, F = len(sc), len(c)
    cos_e = np.empty((N, F))
    rng = np.empty((N, F))
    phase = None if sdir is None else np.empty((N, F))
    step = max(1, 2_000_000 // F)
    for i0 in range(0, N, step):
        s_ = slice(i0, min(N, i0 + step))
        d = sc[s_, None, :] - c[None, :, :]
        r = np.linalg.norm(d, axis=2)
        d /= r[..., None]
        rng[s_] = r
        cos_e[s_] = np.einsum("nfk,fk->nf", d, n)
        if phase is not None:
            phase[s_] = np.arccos(np.clip(np.einsum("nfk,nk->nf", d, sdir[s_]), -1.0, 1.0))
    return rng, cos_e, phase


def facet_geometry(shape, sc_pos_km, sun_pos_km, *, mars_pos_km=None, occlusion: bool = True,
                   mars_radius_km: float = MARS_RADIUS_KM) -> FacetGeometry:
    """Geometry of each facet of ``shape`` at N epochs.

    Parameters
    ----------
    shape : :class:`~mmxsim.bodies.shapes.ShapeModel` (body-fixed, km).
    sc_pos_km : (N, 3) spacecraft position, body-fixed, km.
    sun_pos_km : (N, 3) Sun position relative to the body centre, body-fixed, km.
    mars_pos_km : (N, 3) Mars centre relative to the body centre, body-fixed, km; None: no
        eclipses by Mars.
    occlusion : test self-occlusion (visibility) and self-shadowing (illumination) by the body
        itself (ray casting, :mod:`mmxsim.instruments._raycast`); False keeps only the facing
        tests (exact for convex bodies).

    Memory: five (N, F) float64 arrays, 576 MB each for a day at 60 s on the 50k Ernst mesh;
    for long runs call this on chunks of epochs, or :func:`visibility_illumination` (two bool
    arrays) when only the booleans are needed.
    """
    sc = _as_epochs(sc_pos_km, "sc_pos_km")
    sun = _as_epochs(sun_pos_km, "sun_pos_km")
    if len(sun) != len(sc):
        raise InputError("sun_pos_km", f"{len(sun)} epochs", f"{len(sc)} epochs, as sc_pos_km")
    c, n, area = facet_frame(shape)
    sdir = sun / np.linalg.norm(sun, axis=1, keepdims=True)
    N = len(sc)
    rng, cos_e, phase = _view_arrays(sc, c, n, sdir)
    cos_i = sdir @ n.T
    visible = cos_e > 0.0
    lit = cos_i > 0.0
    if occlusion:
        from ._raycast import occluded  # accelerated ray casting (BVH)

        visible &= ~occluded(shape, c, sc, visible, to_point=True)
        lit &= ~occluded(shape, c, sdir, lit, to_point=False)
    if mars_pos_km is not None:
        mars = _as_epochs(mars_pos_km, "mars_pos_km")
        if len(mars) != N:
            raise InputError("mars_pos_km", f"{len(mars)} epochs", f"{N} epochs, as sc_pos_km")
        shadow = mars_shadow(-mars, sun - mars, mars_radius_km)
        lit &= ~shadow[:, None]
    else:
        shadow = np.zeros(N, bool)
    sa = np.where(visible, area[None, :] * cos_e / rng**2, 0.0)
    return FacetGeometry(visible, lit, cos_i, cos_e, phase, rng, sa, shadow)


@dataclass(frozen=True)
class EmissionGeometry:
    """The spacecraft-side part of :class:`FacetGeometry` (same meanings, (N, F) arrays): what
    instruments that need no Sun (gamma rays, neutrons) use."""

    visible: np.ndarray
    cos_e: np.ndarray
    range_km: np.ndarray
    solid_angle_sr: np.ndarray


def emission_geometry(shape, sc_pos_km, *, occlusion: bool = True) -> EmissionGeometry:
    """:func:`facet_geometry`'s ``visible``, ``cos_e``, ``range_km`` and ``solid_angle_sr``, computed
    the same way (same operations, same values) without the Sun-side quantities (incidence, phase,
    illumination and its ray casts), which instruments sensing the body's own emission do not use."""
    sc = _as_epochs(sc_pos_km, "sc_pos_km")
    c, n, area = facet_frame(shape)
    rng, cos_e, _ = _view_arrays(sc, c, n)
    visible = cos_e > 0.0
    if occlusion:
        from ._raycast import occluded

        visible &= ~occluded(shape, c, sc, visible, to_point=True)
    sa = np.where(visible, area[None, :] * cos_e / rng**2, 0.0)
    return EmissionGeometry(visible, cos_e, rng, sa)


def visibility_illumination(shape, sc_pos_km, sun_pos_km, *, mars_pos_km=None, occlusion: bool = True,
                            mars_radius_km: float = MARS_RADIUS_KM, backend: str | None = None):
    """The lean call for long runs: ``(visible, illuminated)``, two (N, F) bool arrays, the same
    booleans as :func:`facet_geometry` but without its five (N, F) float arrays.

    For 1440 epochs x 49,988 facets (a day at 60 s on the Ernst mesh) each bool array is 72 MB,
    whereas each float array of :func:`facet_geometry` would be 576 MB; call
    :func:`facet_geometry` on chunks of epochs when the angles are needed too.  With numba the
    facing tests and the ray casts run in one parallel kernel (no float temporaries); without it
    the NumPy path works in chunks of epochs.  ``backend``: "numba", "numpy" or None (numba when
    installed)."""
    sc = _as_epochs(sc_pos_km, "sc_pos_km")
    sun = _as_epochs(sun_pos_km, "sun_pos_km")
    if len(sun) != len(sc):
        raise InputError("sun_pos_km", f"{len(sun)} epochs", f"{len(sc)} epochs, as sc_pos_km")
    if backend not in (None, "numba", "numpy"):
        raise InputError("backend", backend, "None, 'numba' or 'numpy'")
    sdir = sun / np.linalg.norm(sun, axis=1, keepdims=True)
    if mars_pos_km is not None:
        mars = _as_epochs(mars_pos_km, "mars_pos_km")
        if len(mars) != len(sc):
            raise InputError("mars_pos_km", f"{len(mars)} epochs", f"{len(sc)} epochs, as sc_pos_km")
        dark = mars_shadow(-mars, sun - mars, mars_radius_km)
    else:
        dark = np.zeros(len(sc), bool)
    if not occlusion:
        c, n, _ = facet_frame(shape)
        vis = np.empty((len(sc), len(c)), bool)
        step = max(1, 2_000_000 // len(c))
        for i0 in range(0, len(sc), step):
            s_ = slice(i0, min(len(sc), i0 + step))
            vis[s_] = np.einsum("fk,nfk->nf", n, sc[s_, None, :] - c[None, :, :]) > 0.0
        return vis, (sdir @ n.T > 0.0) & ~dark[:, None]
    from ._raycast import visibility_illumination_arrays

    return visibility_illumination_arrays(shape, sc, sdir, dark, backend=backend)
