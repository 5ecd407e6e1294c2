"""Validation of mmxsim.surface.maps (per-facet effective gravity, slope, lat/lon, plotting).

References are independent of the code under test: closed forms for a homogeneous sphere,
the series expansion of the Mars point-mass tide, the Thomas PDS grid file, published Phobos
numbers (mmx-facts.md §0) and ShapeModel.area. Tolerances are stated per test.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from mmxsim.bodies.shapes import icosphere
from mmxsim.bodies import GM_MARS, GM_PHOBOS, PHOBOS_MEAN_MOTION
from mmxsim.bodies.shapes import ShapeModel, load_pds_grid, phobos_shape
from mmxsim._data import data_path
from mmxsim.errors import InputError
from mmxsim.surface import maps
from mmxsim.surface.maps import lat_lon_deg, plot_map, rotation_tide_acceleration, surface_map

G0 = 9.80665e-3  # km/s^2, standard gravity (CGPM 1901; BIPM SI Brochure, 9th ed.)




R_SPH = 11.0  # km
# facet tilt vs the sphere radial (<= 0.31 deg at 5120 facets) over a tangential tilt >= 3 deg:
# atan(0.31/3) ~ 6 deg; measured max 5.1 deg (all facets) and 6.9 deg (Mars meridian set)
AZ_TOL = 8.0


@pytest.fixture(scope="module")
def sphere_static():
    return surface_map(icosphere(4, R_SPH), gm=GM_PHOBOS, model="static")  # 5120 facets


@pytest.fixture(scope="module")
def phobos():
    return surface_map("thomas3k", model="hill")


def test_sphere_static_is_flat_and_point_mass(sphere_static):
    """Icosphere (5120 facets, R = 11 km, GM_PHOBOS), no rotation/tide: slope ~ 0 and
    |g| = GM/r_c² at the facet centroid radius r_c (a homogeneous sphere's surface field).
    Tolerances set by the facets (edge ~ 0.6 km): slope < 0.5° (measured max 0.30°: facet
    normals vs the radius), |g| within 2e-3 relative (measured 6.5e-4), within 1 % of GM/R²
    (measured 1.6e-3: centroids lie inside the sphere), potential within 1e-4 (measured 2.9e-5)."""
    m = sphere_static
    assert len(m.faces) == 5120
    assert m.slope_deg.max() < 0.5
    rc = m.radius_km
    np.testing.assert_allclose(m.g_eff_mm_s2, GM_PHOBOS / rc**2 * 1e6, rtol=2e-3)
    np.testing.assert_allclose(m.g_eff_mm_s2, GM_PHOBOS / R_SPH**2 * 1e6, rtol=1e-2)
    # the potential on the surface: GM/r (continuous across the surface of a sphere)
    np.testing.assert_allclose(m.potential, GM_PHOBOS / rc, rtol=1e-4)


def test_sphere_rotating_hill_matches_closed_form(sphere_static):
    """Same sphere with a fast spin n (n²R = 0.1 GM/R²) in the Hill model: per facet
    g = −GM r/|r|³ + n²(3x, 0, −z) (closed form at the centroid), tolerance 2e-3 of GM/R²
    (measured 6.5e-4); at the pole |g| = GM/R² + n²R and at the sub-Mars equator GM/R² − 3n²R
    (within 1 % of GM/R²; measured 0.1 % and 0.3 %, the centroids are 2.5° off the axes); the
    slope equals the angle between the radius and −g (0.5°, measured 0.31°: facet tilt); the
    geopotential height matches the closed form (below); the downhill azimuth matches the
    closed-form tangential g where that tilts > 3° (AZ_TOL), and
    on the Mars meridian at 20–70°N it points south (toward the tidal bulge at the equator)."""
    g0 = GM_PHOBOS / R_SPH**2
    n = math.sqrt(0.1 * g0 / R_SPH)
    m = sphere_static.with_model("hill", n=n)
    r = m.centroids
    ref = -GM_PHOBOS * r / np.linalg.norm(r, axis=1)[:, None] ** 3 + n**2 * np.column_stack(
        [3 * r[:, 0], 0 * r[:, 1], -r[:, 2]])
    assert np.max(np.linalg.norm(m.g_eff - ref, axis=1)) < 2e-3 * g0
    rhat = r / np.linalg.norm(r, axis=1)[:, None]
    slope_ref = np.degrees(np.arccos(-np.einsum("ij,ij->i", ref, rhat) / np.linalg.norm(ref, axis=1)))
    assert np.max(np.abs(m.slope_deg - slope_ref)) < 0.5
    assert slope_ref.max() > 10.0  # the tide does tilt the local vertical (not a trivial pass)
    ip = np.argmax(m.lat_deg)
    isub = np.argmin(np.linalg.norm(rhat - [1.0, 0.0, 0.0], axis=1))
    assert np.linalg.norm(m.g_eff[ip]) == pytest.approx(g0 + n**2 * R_SPH, abs=1e-2 * g0)
    assert np.linalg.norm(m.g_eff[isub]) == pytest.approx(g0 - 3 * n**2 * R_SPH, abs=1e-2 * g0)
    # geopotential height vs the closed form Φ = GM/r + n²(3x² − z²)/2 at the centroids, with the
    # same definition h = (Φ̄ − Φ)/ḡ: 2 m over a 2320 m range (measured 0.57 m); the poles lie
    # higher than the sub-Mars bulge by ≈ 2n²R²/g (2200 m; measured 2319 m, ḡ < GM/R²)
    phi = GM_PHOBOS / np.linalg.norm(r, axis=1) + 0.5 * n**2 * (3 * r[:, 0] ** 2 - r[:, 2] ** 2)
    w = m.area_km2 / m.total_area_km2
    h_ref = (w @ phi - phi) / (w @ np.linalg.norm(ref, axis=1)) * 1e3
    assert np.abs(m.geopotential_height_m - h_ref).max() < 2.0
    assert m.geopotential_height_m[ip] - m.geopotential_height_m[isub] == pytest.approx(
        2 * n**2 * R_SPH**2 / g0 * 1e3, rel=0.1)
    # downhill azimuth vs the closed-form tangential g (local east/north from the radius)
    east = np.cross([0.0, 0.0, 1.0], rhat)
    east /= np.linalg.norm(east, axis=1)[:, None]
    north = np.cross(rhat, east)
    t = ref - np.einsum("ij,ij->i", ref, rhat)[:, None] * rhat
    az_ref = np.degrees(np.arctan2(np.einsum("ij,ij->i", t, east), np.einsum("ij,ij->i", t, north))) % 360
    sel = slope_ref > 3.0
    assert sel.sum() > 1000
    daz = (m.downhill_azimuth_deg[sel] - az_ref[sel] + 180) % 360 - 180
    assert np.abs(daz).max() < AZ_TOL
    # on the Mars meridian north of the equator, downhill is due south (toward the tidal bulge)
    mer = sel & (m.lat_deg > 20) & (m.lat_deg < 70) & (np.abs((m.lon_deg + 180) % 360 - 180) < 3)
    assert mer.sum() >= 3 and np.all(np.abs(m.downhill_azimuth_deg[mer] - 180) < AZ_TOL)


def test_exact_tide_minus_hill_is_the_second_order_term():
    """Exact Mars point-mass tide + centrifugal minus the Hill linearisation, with a chosen so
    that GM_M/a³ = n²: along x it equals the series term 3 GM_M x²/a⁴ (next term 4x/3a = 0.2 %;
    tolerance 1 %); on the z axis it is −(3/2) GM_M z²/a⁴ along x (same tolerance; the
    P3 term of the tidal potential GM_M r³P3(x/r)/a⁴) with a z part O(z³/a⁵).
    Both potentials are checked against their accelerations by central differences (1e-6)."""
    n = PHOBOS_MEAN_MOTION
    a = (GM_MARS / n**2) ** (1 / 3)
    for x in (13.0, -13.0):
        p = np.array([[x, 0.0, 0.0]])
        ae, _ = rotation_tide_acceleration(p, "exact", n, GM_MARS, a)
        ah, _ = rotation_tide_acceleration(p, "hill", n, GM_MARS, a)
        assert ae[0, 0] - ah[0, 0] == pytest.approx(3 * GM_MARS * x**2 / a**4, rel=1e-2)
    pz = np.array([[0.0, 0.0, 13.0]])
    dz = rotation_tide_acceleration(pz, "exact", n, GM_MARS, a)[0] - rotation_tide_acceleration(pz, "hill", n)[0]
    # second-order (P3) tide on the z axis: x component -(3/2) GM_M z²/a⁴, z component O(z³/a⁵)
    assert dz[0, 0] == pytest.approx(-1.5 * GM_MARS * 13.0**2 / a**4, rel=1e-2)
    assert abs(dz[0, 2]) < 1e-2 * abs(dz[0, 0]) and dz[0, 1] == 0.0
    rng = np.random.default_rng(3)
    P = rng.uniform(-13, 13, size=(20, 3))
    h = 1e-3
    for model in ("hill", "exact", "rotation"):
        acc, _ = rotation_tide_acceleration(P, model)
        num = np.empty_like(P)
        for k in range(3):
            e = np.zeros(3)
            e[k] = h
            up, dn = rotation_tide_acceleration(P + e, model)[1], rotation_tide_acceleration(P - e, model)[1]
            num[:, k] = (up - dn) / (2 * h)
        np.testing.assert_allclose(num, acc, rtol=1e-6, atol=1e-6 * np.abs(acc).max())


def test_surface_evaluation_equals_limit_from_outside(phobos):
    """The map evaluates the polyhedron exactly at facet centroids; 50 facets: Phobos' gravity
    there equals the value 1e-7 km outside (relative 1e-6; the field is continuous)."""
    from mmxsim.gravity.polyhedron import Polyhedron

    p = Polyhedron(phobos_shape("thomas3k"))
    i = np.arange(0, 3480, 70)
    out = p.acceleration(phobos.centroids[i] + 1e-7 * phobos.normals[i])
    rel = np.linalg.norm(out - phobos.g_body[i], axis=1) / np.linalg.norm(out, axis=1)
    assert rel.max() < 1e-6


def test_phobos_published_values(phobos):
    """Thomas 3.5k mesh, GM_PHOBOS [DE440-GM], Hill model. Published (mmx-facts.md §0):
    surface gravity 0.0057 m/s² [WP-Phobos] vs the area-weighted mean Phobos-only |g| (5 %;
    measured 5.64 mm/s², −1.1 %); ≈ 1/2000 g [MMXN-331] lies inside the g_eff range and the
    mean g_eff is within 10 % of it (measured 5.27 vs 4.90 mm/s²); escape velocity 11.39 m/s
    [WP-Phobos] vs the area-weighted mean sqrt(2U) (3 %; measured 11.27 m/s)."""
    w = phobos.area_km2 / phobos.total_area_km2
    assert w @ phobos.g_body_mm_s2 == pytest.approx(5.7, rel=0.05)
    g2000 = G0 / 2000 * 1e6
    assert phobos.g_eff_mm_s2.min() < g2000 < phobos.g_eff_mm_s2.max()
    assert w @ phobos.g_eff_mm_s2 == pytest.approx(g2000, rel=0.10)
    assert w @ np.sqrt(2 * phobos.u_body) * 1e3 == pytest.approx(11.39, rel=0.03)


def test_phobos_tide_lowers_gravity_at_the_long_axis_tips(phobos):
    """Rotation + tide (3n²x outward along the Mars line) make g_eff lowest at one of the tips of
    the long axis: the minimum lies within 15° of (0°, 0°E) or (0°, 180°E) (measured: 2°N, 188°E,
    the anti-Mars tip, for Thomas 3.5k; the sub-Mars tip minimum is 3.55 mm/s² vs 3.37), and the
    tips' g_eff is below the static value by > 1 mm/s² (3n²·13 km = 2.0 mm/s²; measured 2.01).
    Slopes: every facet has g_eff pointing into the surface (slope < 90°; measured max 45.6°)."""
    i = int(np.argmin(phobos.g_eff_mm_s2))
    lon = phobos.lon_deg[i]
    d = min(abs((lon + 180) % 360 - 180), abs(lon - 180))
    assert math.hypot(phobos.lat_deg[i], d) < 15.0
    static = phobos.with_model("static")
    assert static.g_eff_mm_s2[i] - phobos.g_eff_mm_s2[i] > 1.0
    assert phobos.slope_deg.max() < 90.0


def test_area_fractions_and_sites(phobos):
    """Facet areas sum to ShapeModel.area (1e-12); fractions are monotone with 1 at 180°;
    sites_meeting areas add up to area_fraction_below; a wrapped longitude window selects
    only longitudes within it; sites + complement = all facets."""
    assert phobos.total_area_km2 == pytest.approx(phobos_shape("thomas3k").area, rel=1e-12)
    fr = [phobos.area_fraction_below(s) for s in (0, 5, 10, 20, 30, 90, 180)]
    assert all(b >= a for a, b in zip(fr, fr[1:])) and fr[-1] == 1.0 and 0.2 < fr[3] < 1.0
    s = phobos.sites_meeting(20.0)
    assert s.area_fraction == pytest.approx(phobos.area_fraction_below(20.0), rel=1e-12)
    assert np.all(s.slope_deg <= 20.0)
    assert len(s) + int(np.sum(phobos.slope_deg > 20.0)) == len(phobos.faces)
    w = phobos.sites_meeting(20.0, lat_range=(-30, 30), lon_range=(340, 20))
    assert len(w) > 0 and np.all((w.lon_deg >= 340) | (w.lon_deg <= 20)) and np.all(np.abs(w.lat_deg) <= 30)
    t = phobos.table()
    assert "g_eff min / mean / max" in t and "slope ≤ 30°" in t


def test_lat_lon_of_known_points_and_thomas_grid():
    """Closed-form directions; and the Thomas 3.5k mesh vertices reproduce the PDS grid
    m1phobos.tab (WEST longitudes): the vertex at (lat, 360° − lon_W) east has the tabulated
    radius (1e-3 km; OBJ values have 5 significant digits)."""
    la, lo = lat_lon_deg([[0, -1, 0], [0, 0, 5], [1, 1, math.sqrt(2)], [-2, 0, 0]])
    np.testing.assert_allclose(la, [0, 90, 45, 0], atol=1e-12)
    np.testing.assert_allclose(lo[[0, 2, 3]], [270, 45, 180], atol=1e-12)
    s = phobos_shape("thomas3k")
    vla, vlo = lat_lon_deg(s.vertices)
    vr = np.linalg.norm(s.vertices, axis=1)
    tab = np.loadtxt(data_path("shapes/phobos_thomas_m1phobos.tab"))
    checked = 0
    for lat, lonw, r in tab[::37]:
        if abs(lat) > 89 or lat % 6 or lonw % 6 or lonw >= 360:
            continue
        k = np.argmin(np.hypot(vla - lat, (vlo - (360 - lonw) % 360 + 180) % 360 - 180))
        assert abs(vla[k] - lat) < 0.02 and abs((vlo[k] - (360 - lonw) + 180) % 360 - 180) < 0.02
        assert vr[k] == pytest.approx(r, abs=1e-3)
        checked += 1
    assert checked > 20
    assert load_pds_grid is not None


@pytest.mark.parametrize("bad", [-1.0, float("nan"), 181.0, "steep", None])
def test_bad_slope_limits_refused(phobos, bad):
    with pytest.raises(InputError, match="slope_max_deg|highlight_slope_max"):
        phobos.area_fraction_below(bad)
    with pytest.raises(InputError):
        phobos.sites_meeting(bad)
    if bad is not None:  # None means "no highlight" for the plot
        with pytest.raises(InputError, match="highlight_slope_max"):
            plot_map(phobos, "slope", highlight_slope_max=bad)


def test_bad_quantity_and_model_refused(phobos):
    with pytest.raises(InputError, match="quantity"):
        plot_map(phobos, "albedo")
    with pytest.raises(InputError, match="model"):
        surface_map("thomas3k", model="roche")
    with pytest.raises(InputError, match="model"):
        phobos.with_model("tidal")
    with pytest.raises(InputError, match="polyhedron"):
        from mmxsim.gravity.polyhedron import Polyhedron

        surface_map("thomas3k", polyhedron=Polyhedron(icosphere(1), gm=1.0))
    with pytest.raises(InputError, match="lat_range"):
        phobos.sites_meeting(10.0, lat_range=(10, -10))
    with pytest.raises(InputError, match="points"):
        plot_map(phobos, "g_eff", points=([0.0, 1.0], [0.0]))
    with pytest.raises(InputError, match="ellipses"):
        plot_map(phobos, "g_eff", ellipses=[([0.0, 1.0, 2.0], [0.0, 1.0])])


def test_plot_writes_png_with_overlays(phobos, tmp_path):
    """A PNG with the slope highlight, a point and an ellipse that crosses the 0°/360° seam
    (split into two pieces by the seam logic) is written and non-empty (> 10 kB)."""
    th = np.linspace(0, 2 * np.pi, 61)
    elat, elon = 5 * np.sin(th), (10 * np.cos(th)) % 360.0
    assert len(maps._split_wrapped(elat, elon, 180.0)) >= 2
    out = tmp_path / "slope.png"
    ax = plot_map(phobos, "slope", highlight_slope_max=15.0, points=([0.0], [0.0]), ellipses=[(elat, elon)],
                  path=out, lon0=180.0)
    assert ax is not None
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    out2 = tmp_path / "g.png"
    plot_map(phobos, "g_eff", path=out2)
    assert out2.stat().st_size > 10_000


def test_docstring_example():
    import doctest

    failures, tried = doctest.testmod(maps, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0 and failures == 0


@pytest.mark.slow
def test_ernst_mesh_statistics():
    """Ernst 50k (about 60-70 s on 2 shared cores, hence slow): mean Phobos-only |g| within 5 % of
    0.0057 m/s² [WP-Phobos] (measured 5.59 mm/s²); the facets whose g_eff points out of the
    surface (decimation folds, docs/surface_maps.md §4) cover < 0.5 % of the area (measured
    339 facets, 0.14 %); the g_eff minimum lies within 15° of a long-axis tip (measured 3°N, 186°E);
    exact − Hill < 0.01 mm/s² everywhere (measured 0.0040)."""
    m = surface_map("ernst")
    s = m.summary()
    assert s["g_body_mean"] == pytest.approx(5.7, rel=0.05)
    assert s["frac_slope_gt_90"] < 5e-3
    d = min(abs((s["g_eff_min_lon"] + 180) % 360 - 180), abs(s["g_eff_min_lon"] - 180))
    assert math.hypot(s["g_eff_min_lat"], d) < 15.0
    dg = np.linalg.norm(m.with_model("exact").g_eff - m.g_eff, axis=1).max() * 1e6
    assert dg < 0.01
