"""Per-facet surface maps of Phobos: effective gravity, slope, geopotential, sites under a slope limit.

Simplified model (say so wherever the numbers are used):

- **Phobos' gravity**: constant-density polyhedron (Werner & Scheeres 1997,
  :class:`mmxsim.gravity.polyhedron.Polyhedron`) evaluated *exactly at the facet centroids*.
  The polyhedron potential is C¹ across the surface (only the gradient tensor jumps), so the
  acceleration on a face is finite and equals the limit from outside; this is tested in
  ``tests/gravity/test_polyhedron.py`` and again here. GM defaults to GM_PHOBOS [DE440-GM]
  (``mmxsim.bodies``); the density follows from GM and the mesh volume.
- **Rotation and Mars tide** (synchronous rotation, circular orbit, no libration, no
  eccentricity, Mars a point mass, no Sun/Deimos). Body-fixed frame = IAU_PHOBOS: +x toward
  the sub-Mars point, +z the spin axis / orbit normal (docs/qso.md §1). With n the mean motion,
  the terms are taken about Phobos' centre of mass (the mesh volume centroid by default):

  * ``model="hill"`` (default): the linearised circular Hill problem. In the rotating frame the
    centrifugal and tidal potentials together are Φ = n²(3x² − z²)/2, i.e. the acceleration
    n²(3x, 0, −z). It is the same in Hill axes and body axes (``r_body = diag(−1, −1, 1) r_hill``
    flips x and y only). This already contains BOTH the centrifugal term n²(x, y, 0) and the
    linear tide n²(2x, −y, −z).
  * ``model="exact"``: Mars point mass at distance ``mars_distance_km`` on body +x, Phobos in
    free fall (its orbital acceleration GM_M/a² removed), centrifugal n²(x, y, 0) about Phobos'
    centre: a = GM_M[(d − r)/|d − r|³ − d/a³] + n²(x, y, 0). The difference from "hill" is
    (1) the second-order tide ≈ 3 GM_M x²/a⁴ (about 0.0044 mm/s² at the sub-Mars tip, x ≈ 13 km)
    and (2) GM_M/a³ ≠ n² for the published a = 9376 km and n (ratio 0.99924; Mars J2 and
    the rounding of a), about 0.0015 mm/s² at the tip. Both are < 0.2 % of g_eff.
  * ``model="rotation"``: centrifugal only, n²(x, y, 0) (no tide; for tests / comparison).
  * ``model="static"``: Phobos' gravity alone (non-rotating).

- **Slope** = angle between the facet's outward normal and −g_eff (deg). **Downhill** = unit
  vector of the tangential part of g_eff (where a particle would start to slide), with its
  azimuth clockwise from local north (local frame from the facet-centroid radius).
- **Effective potential** Φ (km²/s², positive convention, g_eff = ∇Φ): polyhedron U plus the
  rotational/tidal potential, zero at the rotation centre. **Geopotential height**
  h = (Φ̄ − Φ)/ḡ in metres, with Φ̄ and ḡ the area-weighted means over the surface.
- **Latitude / longitude** of facet centroids: planetocentric, body-fixed, east longitude in
  [0, 360) deg, about the frame origin of the mesh.

Constants: n = PHOBOS_MEAN_MOTION (JPL SSD mean elements MAR080, mmx-facts.md §3.1 [JPL-SAT]);
GM_MARS, GM_PHOBOS [DE440-GM] (``mmxsim.bodies``); Mars–Phobos distance 9376 km
(semi-major axis, [JPL-SAT], mmx-facts.md §3.1; ``PHOBOS_SEMI_MAJOR_AXIS_KM``).

>>> m = surface_map("thomas3k")
>>> round(m.area_fraction_below(30.0), 2) > 0.5
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..bodies import GM_MARS, PHOBOS_MEAN_MOTION
from ..errors import InputError

PHOBOS_SEMI_MAJOR_AXIS_KM = 9376.0  # [JPL-SAT] MAR080 mean elements, mmx-facts.md §3.1
MODELS = ("hill", "exact", "rotation", "static")
QUANTITIES = {
    "slope": ("slope_deg", "slope (deg)"),
    "g_eff": ("g_eff_mm_s2", "effective gravity |g_eff| (mm/s²)"),
    "g_body": ("g_body_mm_s2", "Phobos gravity |g| (mm/s²)"),
    "height": ("geopotential_height_m", "geopotential height (m)"),
    "potential": ("potential", "effective potential (km²/s²)"),
    "radius": ("radius_km", "centroid radius (km)"),
}


def _check_slope_limit(value, field="slope_max_deg"):
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(field, value, "a number of degrees in [0, 180]") from None
    if not (0.0 <= v <= 180.0):  # also refuses NaN
        raise InputError(field, value, "a number of degrees in [0, 180]")
    return v


def lat_lon_deg(points):
    """Planetocentric latitude and east longitude (deg, lon in [0, 360)) of (N, 3) body-fixed points."""
    p = np.atleast_2d(np.asarray(points, float))
    r = np.linalg.norm(p, axis=1)
    lat = np.degrees(np.arcsin(np.clip(p[:, 2] / np.where(r > 0, r, 1.0), -1.0, 1.0)))
    lon = np.degrees(np.arctan2(p[:, 1], p[:, 0])) % 360.0
    return lat, lon


def rotation_tide_acceleration(r, model="hill", n=PHOBOS_MEAN_MOTION, gm_mars=GM_MARS,
                               mars_distance_km=PHOBOS_SEMI_MAJOR_AXIS_KM):
    """Centrifugal + Mars tidal acceleration (km/s²) and potential (km²/s², zero at r = 0) at
    (N, 3) positions relative to Phobos' centre, body axes (+x to Mars). See the module docstring."""
    r = np.atleast_2d(np.asarray(r, float))
    x, y, z = r[:, 0], r[:, 1], r[:, 2]
    n2 = n * n
    if model == "static":
        return np.zeros_like(r), np.zeros(len(r))
    if model == "rotation":
        return n2 * np.column_stack([x, y, 0.0 * z]), 0.5 * n2 * (x * x + y * y)
    if model == "hill":
        return n2 * np.column_stack([3.0 * x, 0.0 * y, -z]), 0.5 * n2 * (3.0 * x * x - z * z)
    if model == "exact":
        a = float(mars_distance_km)
        d = np.array([a, 0.0, 0.0])
        rel = d[None, :] - r
        dist = np.linalg.norm(rel, axis=1)
        acc = gm_mars * (rel / dist[:, None] ** 3 - d[None, :] / a**3)
        acc += n2 * np.column_stack([x, y, 0.0 * z])
        # tidal potential GM(1/|d-r| - 1/a - x/a^2) written without cancellation:
        # 1/|d-r| - 1/a = (a - |d-r|)/(a |d-r|), a - |d-r| = (a^2 - |d-r|^2)/(a + |d-r|)
        num = (2.0 * a * x - (x * x + y * y + z * z)) / (a + dist)
        pot = gm_mars * (num / (a * dist) - x / a**2) + 0.5 * n2 * (x * x + y * y)
        return acc, pot
    raise InputError("surface_map model", model, ", ".join(MODELS))


@dataclass
class SiteSelection:
    """Facets meeting a selection (indices into the map's facet arrays)."""

    index: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    slope_deg: np.ndarray
    g_eff_mm_s2: np.ndarray
    area_km2: np.ndarray
    total_area_km2: float  # of the whole surface
    criteria: str = ""

    @property
    def area_fraction(self) -> float:
        return float(self.area_km2.sum() / self.total_area_km2)

    def __len__(self):
        return len(self.index)


@dataclass
class SurfaceMap:
    """Per-facet surface quantities (arrays of length F, body-fixed frame, km/s/rad unless named)."""

    shape_name: str
    model: str
    n: float  # rad/s
    gm: float  # km^3/s^2, Phobos
    density: float  # kg/m^3
    center: np.ndarray  # km, origin of the rotation/tide terms
    vertices: np.ndarray
    faces: np.ndarray
    centroids: np.ndarray  # km
    normals: np.ndarray  # outward unit
    area_km2: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    g_body: np.ndarray  # km/s^2, Phobos gravity alone
    a_rot: np.ndarray  # km/s^2, centrifugal + tide
    g_eff: np.ndarray  # km/s^2
    slope_deg: np.ndarray
    downhill: np.ndarray  # unit vectors (0 where flat)
    downhill_azimuth_deg: np.ndarray  # clockwise from north, NaN where flat
    potential: np.ndarray  # km^2/s^2, effective (g_eff = grad)
    geopotential_height_m: np.ndarray
    u_body: np.ndarray = None  # km^2/s^2, Phobos potential alone (positive)
    notes: str = ""
    _edges: tuple = field(default=None, repr=False, compare=False)

    # -- derived arrays ------------------------------------------------------------------------
    @property
    def g_eff_mm_s2(self) -> np.ndarray:
        return np.linalg.norm(self.g_eff, axis=1) * 1e6

    @property
    def g_body_mm_s2(self) -> np.ndarray:
        return np.linalg.norm(self.g_body, axis=1) * 1e6

    @property
    def radius_km(self) -> np.ndarray:
        return np.linalg.norm(self.centroids, axis=1)

    @property
    def total_area_km2(self) -> float:
        return float(self.area_km2.sum())

    def with_model(self, model: str, n: float | None = None, mars_distance_km: float = PHOBOS_SEMI_MAJOR_AXIS_KM,
                   gm_mars: float = GM_MARS) -> "SurfaceMap":
        """The same mesh and Phobos field with another rotation/tide model (no new polyhedron
        evaluation: the stored Phobos gravity and potential are reused)."""
        return _assemble(self.shape_name, self.vertices, self.faces, self.centroids, self.normals, self.area_km2,
                         self.u_body, self.g_body, self.center, model, self.n if n is None else n, gm_mars,
                         mars_distance_km, self.gm, self.density, self.notes.split(";")[0])

    def quantity(self, name: str) -> np.ndarray:
        if name not in QUANTITIES:
            raise InputError("surface map quantity", name, ", ".join(QUANTITIES))
        return np.asarray(getattr(self, QUANTITIES[name][0]))

    # -- statistics ----------------------------------------------------------------------------
    def area_fraction_below(self, slope_max_deg: float) -> float:
        """Area fraction of the surface with slope <= ``slope_max_deg``."""
        s = _check_slope_limit(slope_max_deg)
        return float(self.area_km2[self.slope_deg <= s].sum() / self.total_area_km2)

    def _weighted_quantile(self, values, q):
        o = np.argsort(values)
        c = np.cumsum(self.area_km2[o])
        return float(values[o][np.searchsorted(c, q * c[-1])])

    def sites_meeting(self, slope_max_deg: float, lat_range=None, lon_range=None,
                      g_min_mm_s2: float | None = None) -> SiteSelection:
        """Facets with slope <= ``slope_max_deg`` (and optionally latitude in ``lat_range``,
        east longitude in ``lon_range`` (deg; may wrap, e.g. (340, 20)), |g_eff| >= ``g_min_mm_s2``)."""
        s = _check_slope_limit(slope_max_deg)
        ok = self.slope_deg <= s
        crit = [f"slope <= {s:g} deg"]
        if lat_range is not None:
            lo, hi = (float(v) for v in lat_range)
            if not (-90 <= lo <= hi <= 90):
                raise InputError("sites_meeting lat_range", lat_range, "(lo, hi) deg with -90 <= lo <= hi <= 90")
            ok &= (self.lat_deg >= lo) & (self.lat_deg <= hi)
            crit.append(f"lat in [{lo:g}, {hi:g}]")
        if lon_range is not None:
            lo, hi = (float(v) % 360.0 for v in lon_range)
            if not (np.isfinite(lo) and np.isfinite(hi)):
                raise InputError("sites_meeting lon_range", lon_range, "(lo, hi) finite east longitudes in deg")
            inside = ((self.lon_deg >= lo) & (self.lon_deg <= hi)) if lo <= hi else \
                ((self.lon_deg >= lo) | (self.lon_deg <= hi))
            ok &= inside
            crit.append(f"lon in [{lo:g}, {hi:g}] E")
        if g_min_mm_s2 is not None:
            if not np.isfinite(g_min_mm_s2):
                raise InputError("sites_meeting g_min_mm_s2", g_min_mm_s2, "a finite number in mm/s^2")
            ok &= self.g_eff_mm_s2 >= g_min_mm_s2
            crit.append(f"g_eff >= {g_min_mm_s2:g} mm/s2")
        i = np.nonzero(ok)[0]
        return SiteSelection(i, self.lat_deg[i], self.lon_deg[i], self.slope_deg[i], self.g_eff_mm_s2[i],
                             self.area_km2[i], self.total_area_km2, ", ".join(crit))

    def summary(self, slope_limits=(10.0, 20.0, 30.0, 40.0)) -> dict:
        """Area-weighted statistics (g in mm/s², slopes in deg, fractions of area)."""
        w = self.area_km2 / self.total_area_km2
        g = self.g_eff_mm_s2
        out = {
            "shape": self.shape_name, "model": self.model, "facets": len(self.faces),
            "area_km2": self.total_area_km2,
            "g_eff_min": float(g.min()), "g_eff_mean": float(w @ g), "g_eff_max": float(g.max()),
            "g_body_mean": float(w @ self.g_body_mm_s2),
            "slope_mean": float(w @ self.slope_deg),
            "slope_median": self._weighted_quantile(self.slope_deg, 0.5),
            "slope_p90": self._weighted_quantile(self.slope_deg, 0.9),
            "slope_max": float(self.slope_deg.max()),
            "height_range_m": float(np.ptp(self.geopotential_height_m)),
            # g_eff pointing out of the facet: overhangs, or folds of a decimated mesh
            "facets_slope_gt_90": int(np.sum(self.slope_deg > 90.0)),
            "frac_slope_gt_90": float(self.area_km2[self.slope_deg > 90.0].sum() / self.total_area_km2),
        }
        for s in slope_limits:
            out[f"frac_slope_le_{s:g}"] = self.area_fraction_below(s)
        imin = int(np.argmin(g))
        out["g_eff_min_lat"], out["g_eff_min_lon"] = float(self.lat_deg[imin]), float(self.lon_deg[imin])
        return out

    def table(self, slope_limits=(10.0, 20.0, 30.0, 40.0)) -> str:
        """Markdown summary table (area-weighted)."""
        s = self.summary(slope_limits)
        rows = [
            ("facets", f"{s['facets']}"), ("area (km²)", f"{s['area_km2']:.1f}"),
            ("g_eff min / mean / max (mm/s²)", f"{s['g_eff_min']:.3f} / {s['g_eff_mean']:.3f} / {s['g_eff_max']:.3f}"),
            ("g_eff minimum at (lat, lon E)", f"({s['g_eff_min_lat']:.1f}°, {s['g_eff_min_lon']:.1f}°)"),
            ("Phobos-only |g| mean (mm/s²)", f"{s['g_body_mean']:.3f}"),
            ("slope mean / median / p90 / max (deg)",
             f"{s['slope_mean']:.1f} / {s['slope_median']:.1f} / {s['slope_p90']:.1f} / {s['slope_max']:.1f}"),
            ("geopotential height range (m)", f"{s['height_range_m']:.0f}"),
            ("facets with slope > 90° (area fraction)", f"{s['facets_slope_gt_90']} ({s['frac_slope_gt_90']:.4f})"),
        ]
        rows += [(f"area fraction slope ≤ {x:g}°", f"{s[f'frac_slope_le_{x:g}']:.3f}") for x in slope_limits]
        head = f"| {self.shape_name}, model {self.model} | value |\n|---|---|\n"
        return head + "\n".join(f"| {a} | {b} |" for a, b in rows)

    def boundary_edges(self, mask) -> np.ndarray:
        """(K, 2, 3) vertex pairs of the mesh edges separating facets in ``mask`` from the others."""
        if self._edges is None:
            f = self.faces
            d = np.sort(np.stack([f, np.roll(f, -1, axis=1)], axis=2).reshape(-1, 2), axis=1)
            uniq, inv = np.unique(d, axis=0, return_inverse=True)
            inv = inv.reshape(-1)
            order = np.argsort(inv, kind="stable")
            pair = (order // 3).reshape(-1, 2)  # closed manifold: each edge has two faces
            self._edges = (uniq, pair)
        uniq, pair = self._edges
        mask = np.asarray(mask, bool)
        sel = mask[pair[:, 0]] != mask[pair[:, 1]]
        return self.vertices[uniq[sel]]


def surface_map(shape="thomas3k", gm: float | None = None, density: float | None = None, model: str = "hill",
                n: float = PHOBOS_MEAN_MOTION, mars_distance_km: float = PHOBOS_SEMI_MAJOR_AXIS_KM,
                gm_mars: float = GM_MARS, about_centroid: bool = True, polyhedron=None) -> SurfaceMap:
    """Per-facet effective gravity, slope, downhill direction and geopotential of a mesh.

    Parameters
    ----------
    shape : ShapeModel or str
        A closed body-fixed mesh (km) or a packaged Phobos mesh name (``phobos_shape``).
    gm, density : float, optional
        Phobos GM (km³/s²) or density (kg/m³); default GM_PHOBOS for meshes named phobos.
    model : "hill" | "exact" | "rotation" | "static"
        Rotation/tide model (module docstring).
    n : float
        Spin rate = mean motion (rad/s); default PHOBOS_MEAN_MOTION [JPL-SAT].
    mars_distance_km, gm_mars : float
        Only for ``model="exact"``: Mars distance (default 9376 km [JPL-SAT]) and GM [DE440-GM].
    about_centroid : bool
        Rotation/tide terms about the mesh volume centroid (centre of mass of the homogeneous
        body; default) rather than the frame origin.
    polyhedron : Polyhedron, optional
        Reuse a prepared :class:`Polyhedron` of the same mesh.
    """
    from ..bodies.shapes import ShapeModel, phobos_shape
    from ..gravity.polyhedron import Polyhedron

    if isinstance(shape, str):
        shape = phobos_shape(shape)
    if not isinstance(shape, ShapeModel):
        raise InputError("surface_map shape", type(shape).__name__, "a ShapeModel or a packaged Phobos mesh name")
    if model not in MODELS:
        raise InputError("surface_map model", model, ", ".join(MODELS))
    if polyhedron is not None and not (polyhedron.shape.faces.shape == shape.faces.shape
                                       and np.array_equal(polyhedron.shape.vertices, shape.vertices)):
        raise InputError("surface_map polyhedron", polyhedron.shape.name, f"a Polyhedron built on {shape.name!r}")
    poly = polyhedron if polyhedron is not None else Polyhedron(shape, gm=gm, density=density)

    V, F = shape.vertices, shape.faces
    a, b, c = V[F[:, 0]], V[F[:, 1]], V[F[:, 2]]
    cen = (a + b + c) / 3.0
    cr = np.cross(b - a, c - a)
    dbl = np.linalg.norm(cr, axis=1)
    normals = cr / dbl[:, None]
    area = 0.5 * dbl

    u, g_body = poly.potential_acceleration(cen)
    center = shape.centroid if about_centroid else np.zeros(3)
    return _assemble(shape.name, V.copy(), F.copy(), cen, normals, area, u, g_body, center, model, n, gm_mars,
                     mars_distance_km, poly.gm, poly.density, poly.describe())


def _assemble(name, V, F, cen, normals, area, u, g_body, center, model, n, gm_mars, mars_distance_km, gm, density,
              describe):
    if model not in MODELS:
        raise InputError("surface_map model", model, ", ".join(MODELS))
    if not (np.isfinite(n) and n >= 0):
        raise InputError("surface_map n", n, "a finite spin rate >= 0 rad/s")
    if model == "exact" and not (np.isfinite(mars_distance_km) and mars_distance_km > 100.0):
        raise InputError("surface_map mars_distance_km", mars_distance_km, "a finite distance > 100 km")
    a_rot, p_rot = rotation_tide_acceleration(cen - center, model, n, gm_mars, mars_distance_km)
    g = g_body + a_rot
    pot = u + p_rot
    gmag = np.linalg.norm(g, axis=1)
    cosang = np.clip(-np.einsum("ij,ij->i", g, normals) / gmag, -1.0, 1.0)
    slope = np.degrees(np.arccos(cosang))

    gt = g - np.einsum("ij,ij->i", g, normals)[:, None] * normals
    gtn = np.linalg.norm(gt, axis=1)
    flat = gtn <= 1e-12 * gmag
    down = np.where(flat[:, None], 0.0, gt / np.where(flat, 1.0, gtn)[:, None])
    rhat = cen / np.linalg.norm(cen, axis=1)[:, None]
    east = np.cross(np.array([0.0, 0.0, 1.0]), rhat)
    en = np.linalg.norm(east, axis=1)
    east = np.where(en[:, None] > 1e-12, east / np.where(en > 1e-12, en, 1.0)[:, None], [0.0, 1.0, 0.0])
    north = np.cross(rhat, east)
    az = np.degrees(np.arctan2(np.einsum("ij,ij->i", down, east), np.einsum("ij,ij->i", down, north))) % 360.0
    az[flat] = np.nan

    w = area / area.sum()
    height = (w @ pot - pot) / (w @ gmag) * 1e3  # km -> m
    lat, lon = lat_lon_deg(cen)
    about = "the volume centroid" if np.any(center != 0) else "the origin"
    notes = f"{describe}; rotation/tide model '{model}' about {about}, n = {n:.6e} rad/s"
    return SurfaceMap(name, model, float(n), gm, density, np.asarray(center, float), V, F, cen, normals,
                      area, lat, lon, g_body, a_rot, g, slope, down, az, pot, height, u, notes)


# ---------------------------------------------------------------------------------------------
# Plotting (matplotlib imported lazily, Agg backend)
def _facet_polygons(vertices, faces, lon0):
    """Lon/lat polygons (deg) of facets on an equirectangular map centred on ``lon0``, with
    facets across the seam duplicated on both sides and polar facets opened to the pole."""
    lat, lon = lat_lon_deg(vertices)
    pl, plo = lat[faces], lon[faces]  # (F, 3)
    plo = (plo - lon0 + 180.0) % 360.0 - 180.0
    polys, idx = [], []
    for i in range(len(faces)):
        la, lo = pl[i], plo[i].copy()
        pole = np.abs(la) > 89.999
        others = lo[~pole]
        if len(others) and np.ptp(others) > 180.0:
            others = np.where(others < 0, others + 360.0, others)
            lo[~pole] = others
        if pole.any() and len(others):
            # replace the pole vertex by the pole segment spanning the facet's longitudes
            pts = []
            for k in range(3):
                if pole[k]:
                    nxt, prv = lo[(k + 1) % 3], lo[(k - 1) % 3]
                    pts += [(prv, la[k]), (nxt, la[k])]
                else:
                    pts.append((lo[k], la[k]))
            poly = np.array(pts)
        else:
            poly = np.column_stack([lo, la])
        polys.append(poly)
        idx.append(i)
        if poly[:, 0].max() > 180.0:
            polys.append(poly - [360.0, 0.0])
            idx.append(i)
    return polys, np.array(idx)


def _split_wrapped(lat, lon, lon0):
    """Split a lat/lon polyline (deg) where it crosses the map seam; returns lists of (x, y)."""
    x = (np.asarray(lon, float) - lon0 + 180.0) % 360.0 - 180.0
    y = np.asarray(lat, float)
    cut = np.nonzero(np.abs(np.diff(x)) > 180.0)[0] + 1
    return [(xs, ys) for xs, ys in zip(np.split(x, cut), np.split(y, cut)) if len(xs)]


def plot_map(result: SurfaceMap, quantity: str = "slope", ax=None, highlight_slope_max: float | None = None,
             points=None, ellipses=None, path=None, lon0: float = 0.0, cmap: str | None = None,
             title: str | None = None, point_labels=None, dpi: int = 150, points_label: str = "points",
             ellipses_label: str = "ellipse", vmin: float | None = None, vmax: float | None = None):
    """Equirectangular lat/lon map of the facets coloured by ``quantity``.

    Parameters
    ----------
    result : SurfaceMap
    quantity : "slope" | "g_eff" | "g_body" | "height" | "potential" | "radius"
    ax : matplotlib Axes, optional (a new figure otherwise)
    highlight_slope_max : float, optional
        Outline (black) the facets with slope <= this limit and draw the others in grey.
    points : (lat_deg, lon_deg) arrays, optional
        Points to overlay (e.g. landing targets); ``point_labels`` optional per-point strings,
        ``points_label`` the legend entry.
    ellipses : list of (lat_deg, lon_deg) polylines, optional
        Closed curves to overlay (e.g. a landing ellipse sampled in lat/lon), split at the seam;
        ``ellipses_label`` the legend entry.
    path : str or Path, optional
        Write a PNG there (``dpi``, default 150).
    lon0 : float
        East longitude at the map centre (deg); the map spans lon0 ± 180.
    vmin, vmax : float, optional
        Colour range; default the data range, except for slopes: 0 to the largest slope
        <= 90° (a few folded facets of decimated meshes have slopes near 180°).

    Returns the Axes.
    """
    key = quantity
    values = result.quantity(key)  # raises InputError for an unknown quantity
    if highlight_slope_max is not None:
        hs = _check_slope_limit(highlight_slope_max, "highlight_slope_max")
    if not np.isfinite(lon0):
        raise InputError("plot_map lon0", lon0, "a finite east longitude in deg")
    if points is not None:
        plat, plon = (np.atleast_1d(np.asarray(v, float)) for v in points)
        if plat.shape != plon.shape:
            raise InputError("plot_map points", (plat.shape, plon.shape), "(lat_deg, lon_deg) arrays of equal length")
    for elat, elon in (ellipses or []):
        if np.shape(elat) != np.shape(elon):
            raise InputError("plot_map ellipses", (np.shape(elat), np.shape(elon)),
                             "a list of (lat_deg, lon_deg) polylines of equal length")
    import matplotlib

    if ax is None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection, PolyCollection

    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(10, 5.2))
    polys, idx = _facet_polygons(result.vertices, result.faces, lon0)
    cm = plt.get_cmap(cmap or ("viridis" if key != "slope" else "magma_r"))
    vals = values[idx]
    if key == "slope":
        ok90 = values[values <= 90.0]
        lo_def, hi_def = 0.0, float(ok90.max()) if ok90.size else 90.0
    else:
        lo_def, hi_def = float(np.nanmin(values)), float(np.nanmax(values))
    norm = matplotlib.colors.Normalize(vmin=lo_def if vmin is None else float(vmin),
                                       vmax=hi_def if vmax is None else float(vmax))
    colors = cm(norm(vals))
    if highlight_slope_max is not None:
        ok = result.slope_deg <= hs
        fade = ~ok[idx]
        colors[fade] = (0.78, 0.78, 0.78, 1.0)  # facets not meeting the limit: plain light grey
    pc = PolyCollection(polys, facecolors=colors, edgecolors="face", linewidths=0.2)
    ax.add_collection(pc)
    sm = matplotlib.cm.ScalarMappable(norm=norm, cmap=cm)
    sm.set_array([])
    label = QUANTITIES[key][1]
    ext = "max" if np.nanmax(values) > norm.vmax else "neither"
    (ax.figure).colorbar(sm, ax=ax, label=label, fraction=0.035, pad=0.02, extend=ext)
    if highlight_slope_max is not None:
        seg = result.boundary_edges(ok)
        la, lo = lat_lon_deg(seg.reshape(-1, 3))
        la, x = la.reshape(-1, 2), ((lo - lon0 + 180.0) % 360.0 - 180.0).reshape(-1, 2)
        keep = (np.abs(x[:, 1] - x[:, 0]) <= 180.0) & (np.abs(la).max(axis=1) < 89.999)  # skip seam/pole edges
        ax.add_collection(LineCollection(np.stack([x[keep], la[keep]], axis=2), colors="k", linewidths=0.6))
        frac = result.area_fraction_below(hs)
        ax.plot([], [], color="k", lw=0.8, label=f"slope ≤ {hs:g}° ({100 * frac:.1f} % of area)")
    if points is not None:
        x = (plon - lon0 + 180.0) % 360.0 - 180.0
        ax.plot(x, plat, "o", ms=6, mfc="cyan", mec="k", label=points_label, zorder=5)
        if point_labels is not None:
            for xi, yi, t in zip(x, plat, point_labels):
                ax.annotate(str(t), (xi, yi), xytext=(4, 4), textcoords="offset points", fontsize=8)
    if ellipses is not None:
        first = True
        for elat, elon in ellipses:
            for xs, ys in _split_wrapped(elat, elon, lon0):
                ax.plot(xs, ys, "-", color="red", lw=1.4, zorder=6, label=ellipses_label if first else None)
                first = False
    ax.set_xlim(-180.0, 180.0)
    ax.set_ylim(-90.0, 90.0)
    ticks = np.arange(-180, 181, 60)
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{(t + lon0) % 360:g}" for t in ticks])
    ax.set_yticks(np.arange(-90, 91, 30))
    ax.set_xlabel("east longitude (deg, planetocentric)")
    ax.set_ylabel("latitude (deg)")
    ax.set_aspect("equal")
    ax.set_title(title or f"{result.shape_name}: {label}, model {result.model} ({len(result.faces)} facets)",
                 fontsize=10)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower left", fontsize=8, framealpha=0.8)
    if path is not None:
        ax.figure.savefig(path, dpi=dpi, bbox_inches="tight")
    if fig is not None and path is not None:
        plt.close(fig)
    return ax


__all__ = ["MODELS", "QUANTITIES", "PHOBOS_SEMI_MAJOR_AXIS_KM", "SiteSelection", "SurfaceMap", "lat_lon_deg",
           "plot_map", "rotation_tide_acceleration", "surface_map"]
