"""Landmark and centroid measurement model (mmxsim.navigation.optical) vs references written here."""

from __future__ import annotations

import numpy as np
import pytest

from mmxsim.bodies.shapes import phobos_shape
from mmxsim.errors import InputError
from mmxsim.navigation import optical as op

W0, A0, OMEGA = 0.3, np.radians(1.1), 2.28e-4  # test pose: spin + a libration-like term


def pose_with(A):
    """R = R_z(W) body -> inertial, W = W0 + Ω t + A sin(Ω t); dR/dA = dR/dW sin(Ω t)."""
    def pose(t):
        t = np.asarray(t, float)
        M = OMEGA * t
        W = W0 + M + A * np.sin(M)
        c, s, z, o = np.cos(W), np.sin(W), np.zeros_like(t), np.ones_like(t)
        R = np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)
        dW = np.stack([np.stack([-s, -c, z], -1), np.stack([c, -s, z], -1), np.stack([z, z, z], -1)], -2)
        return R, (dW * np.sin(M)[:, None, None])[:, None]
    return pose


@pytest.fixture(scope="module")
def shape():
    return phobos_shape("ernst")


@pytest.fixture(scope="module")
def scene(shape):
    rng = np.random.default_rng(1)
    N = 6
    t = np.linspace(0.0, 3000.0, N)
    q = np.array([9376.0, 0.0, 0.0]) + rng.normal(size=(N, 3)) * 10.0
    sb = rng.normal(size=(N, 3))
    sb *= 30.0 / np.linalg.norm(sb, axis=1)[:, None]
    R, _ = pose_with(A0)(t)
    r = q + np.einsum("nij,nj->ni", R, sb)
    sun = q + np.array([1.5e8, 0.5e8, 0.2e8])
    lm = op.select_landmarks(shape, 400)
    return dict(t=t, q=q, r=r, sun=sun, lm=lm, sb=sb, R=R)


def _mt_all(o, d, v0, e1, e2):
    """Möller–Trumbore of one ray against every triangle: t per triangle (nan for a miss)."""
    p = np.cross(d, e2)
    det = np.einsum("ij,ij->i", e1, p)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / det
        s = o - v0
        u = np.einsum("ij,ij->i", s, p) * inv
        q = np.cross(s, e1)
        v = q @ d * inv
        t = np.einsum("ij,ij->i", e2, q) * inv
    ok = (np.abs(det) > 1e-300) & (u >= 0) & (u <= 1) & (v >= 0) & (u + v <= 1) & (t > 0)
    return np.where(ok, t, np.nan)


def _brute(shape, sc, R, q, sun, lm, cam, tol_km=0.01):
    """Reference written here: pinhole with the nadir frame (z to the centre, y = pole projected,
    x = y × z), brute-force visibility (first hit over all facets is the landmark's facet or
    within tol) and lighting (no facet on the ray to the Sun, incidence < 90 deg)."""
    v, f = shape.vertices, shape.faces
    v0, e1, e2 = v[f[:, 0]], v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]
    n = np.cross(e1, e2)
    n /= np.linalg.norm(n, axis=1)[:, None]
    cen = v0 + (e1 + e2) / 3.0
    eps = 1e-9 * np.max(np.linalg.norm(v, axis=1))
    rows = {}
    dropped = {"occluded": [], "shadowed": []}
    for i in range(len(sc)):
        s = R[i].T @ (sc[i] - q[i])
        sd = R[i].T @ (sun[i] - q[i])
        sd /= np.linalg.norm(sd)
        z = -s / np.linalg.norm(s)
        y = np.array([0.0, 0.0, 1.0]) - z[2] * z
        y /= np.linalg.norm(y)
        x = np.cross(y, z)
        for k, (fac, L) in enumerate(zip(lm.facet, lm.position_km)):
            c = np.array([x @ (L - s), y @ (L - s), z @ (L - s)])
            if c[2] <= 0:
                continue
            u = cam.width / 2 + c[0] / c[2] * cam.focal_px
            w = cam.height / 2 + c[1] / c[2] * cam.focal_px
            if not (0 <= u < cam.width and 0 <= w < cam.height):
                continue
            if n[fac] @ (s - cen[fac]) <= 0 or n[fac] @ sd <= 0:
                continue
            tt = _mt_all(s, cen[fac] - s, v0, e1, e2)
            j = np.nanargmin(tt)
            if not (j == fac or abs(tt[j] - 1) * np.linalg.norm(cen[fac] - s) <= tol_km):
                dropped["occluded"].append((i, k))
                continue
            if np.any(np.isfinite(_mt_all(cen[fac] + eps * n[fac], sd, v0, e1, e2))):
                dropped["shadowed"].append((i, k))
                continue
            rows[(i, k)] = (u, w)
    return rows, dropped


def test_landmarks_vs_brute_force_and_pinhole(shape, scene):
    """Rows and (u, v) vs the pinhole camera and the brute-force ray casting written in the test
    (every facet, Möller–Trumbore): the same (image, landmark) set, pixels within 0.01 px (OROCHI
    intrinsics, 6 images from 30 km, 400 landmarks; measured 2.3e-13 px); the scene must contain
    landmarks dropped for each reason (occluded by terrain, in a cast shadow) and they give no row."""
    s = scene
    cam = op.OROCHI_PINHOLE
    out = op.landmark_observations(shape, s["lm"], cam, s["t"], s["r"], s["q"], pose_with(A0), s["sun"])
    ref, dropped = _brute(shape, s["r"], s["R"], s["q"], s["sun"], s["lm"], cam)
    got = {}
    for i, k, c, val in zip(out.image, out.landmark, out.component, out.value):
        got.setdefault((int(i), int(k)), [0.0, 0.0])[c] = val
    assert len(ref) > 100
    assert set(got) == set(ref)
    err = max(max(abs(got[key][0] - ref[key][0]), abs(got[key][1] - ref[key][1])) for key in ref)
    assert err < 0.01
    # landmarks in the image, facing and on the day side but hidden by terrain or in a cast
    # shadow exist in the scene (measured 262 rows kept, 39 occluded, 14 shadowed) and give no row
    assert len(dropped["occluded"]) >= 5 and len(dropped["shadowed"]) >= 5
    assert not set(got) & set(dropped["occluded"] + dropped["shadowed"])
    no_rays = _brute_screen_only(shape, s, cam)
    assert no_rays == len(ref) + len(dropped["occluded"]) + len(dropped["shadowed"])


def _brute_screen_only(shape, s, cam):
    """Pairs passing only the FOV, facing and incidence screens (no ray casting)."""
    v, f = shape.vertices, shape.faces
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    n /= np.linalg.norm(n, axis=1)[:, None]
    cnt = 0
    for i in range(len(s["t"])):
        sb = s["R"][i].T @ (s["r"][i] - s["q"][i])
        sd = s["R"][i].T @ (s["sun"][i] - s["q"][i])
        C, _ = op.camera_frame(sb[None])
        for fac, L in zip(s["lm"].facet, s["lm"].position_km):
            c = C[0] @ (L - sb)
            u, w = cam.cx + cam.focal_px * c[0] / c[2], cam.cy + cam.focal_px * c[1] / c[2]
            if c[2] > 0 and 0 <= u < cam.width and 0 <= w < cam.height and n[fac] @ (sb - L) > 0 and n[fac] @ sd > 0:
                cnt += 1
    return cnt


def test_tengoo_pixels_vs_pinhole(shape, scene):
    """TENGOO intrinsics (f = 1/5.9 µrad px, 3296 x 2472): a landmark near the nadir point seen
    from 30 km, (u, v) vs the pinhole written here < 0.01 px; a 0.1 mrad pointing error about the
    detector x axis moves v by f * 1e-4 (within 0.1 px)."""
    cam = op.TENGOO_PINHOLE
    assert abs(cam.focal_px - 1 / 5.9e-6) < 1e-6 and (cam.width, cam.height) == (3296, 2472)
    s = scene
    i = 0
    sb = s["sb"][i]
    t_hit = np.nanmin(_mt_all(sb, -sb, shape.vertices[shape.faces[:, 0]],
                              shape.vertices[shape.faces[:, 1]] - shape.vertices[shape.faces[:, 0]],
                              shape.vertices[shape.faces[:, 2]] - shape.vertices[shape.faces[:, 0]]))
    p = sb - t_hit * sb
    # nearest facet to the nadir hit point: a landmark at its centroid
    cen = shape.vertices[shape.faces].mean(axis=1)
    fac = int(np.argmin(np.linalg.norm(cen - p, axis=1)))
    lm = op.landmarks_from_facets(shape, [fac])
    sun = s["q"] + 1.5e8 * sb / np.linalg.norm(sb) @ s["R"][0].T  # Sun behind the spacecraft
    out = op.landmark_observations(shape, lm, cam, s["t"][:1], s["r"][:1], s["q"][:1], pose_with(A0), sun[:1])
    assert len(out) == 2
    z = -sb / np.linalg.norm(sb)
    y = np.array([0, 0, 1.0]) - z[2] * z
    y /= np.linalg.norm(y)
    x = np.cross(y, z)
    w = lm.position_km[0] - sb
    u = cam.width / 2 + cam.focal_px * (x @ w) / (z @ w)
    v = cam.height / 2 + cam.focal_px * (y @ w) / (z @ w)
    assert abs(out.value[0] - u) < 0.01 and abs(out.value[1] - v) < 0.01
    th = np.array([[1e-4, 0, 0]])
    out2 = op.landmark_observations(shape, lm, cam, s["t"][:1], s["r"][:1], s["q"][:1], pose_with(A0), sun[:1],
                                    pointing_rad=th)
    assert abs(abs(out2.value[1] - out.value[1]) - cam.focal_px * 1e-4) < 0.1


def _fd_check(name, ana, plus, minus, h, keys):
    fd = np.array([(plus[k] - minus[k]) / (2 * h) for k in keys])
    scale = np.max(np.abs(ana))
    assert scale > 0, name
    err = np.max(np.abs(fd - ana)) / scale
    assert err < 1e-6, (name, err)
    return err


def test_landmark_partials_vs_central_differences(shape, scene):
    """Every partial (spacecraft position, Phobos position, libration amplitude, landmark
    position, pointing angles) vs central differences: < 1e-6 relative to the column's largest
    value (steps 1e-3 km, 1e-7 rad; the rows kept by the unperturbed model are compared)."""
    s = scene
    cam = op.OROCHI_PINHOLE
    kw = dict(pointing_rad=np.full((6, 3), 2e-3))

    def run(r=s["r"], q=s["q"], A=A0, lm=s["lm"], th=None):
        o = op.landmark_observations(shape, lm, cam, s["t"], r, q, pose_with(A), s["sun"],
                                     pointing_rad=kw["pointing_rad"] if th is None else th)
        return o, {(a, b, c): v for a, b, c, v in zip(o.image, o.landmark, o.component, o.value)}

    out, _ = run()
    keys = list(zip(out.image, out.landmark, out.component))
    h = 1e-3
    for j in range(3):
        e = np.zeros(3)
        e[j] = h
        _fd_check(f"r{j}", out.d_value_d_state[:, 0, j], run(r=s["r"] + e)[1], run(r=s["r"] - e)[1], h, keys)
        _fd_check(f"q{j}", out.d_value_d_phobos[:, j], run(q=s["q"] + e)[1], run(q=s["q"] - e)[1], h, keys)
        _fd_check(f"L{j}", out.d_value_d_landmark[:, j], run(lm=s["lm"].with_positions(s["lm"].position_km + e))[1],
                  run(lm=s["lm"].with_positions(s["lm"].position_km - e))[1], h, keys)
        th = kw["pointing_rad"].copy()
        th[:, j] += 1e-7
        tm = kw["pointing_rad"].copy()
        tm[:, j] -= 1e-7
        _fd_check(f"theta{j}", out.d_value_d_pointing[:, j], run(th=th)[1], run(th=tm)[1], 1e-7, keys)
    _fd_check("libration", out.d_value_d_pose[:, 0], run(A=A0 + 1e-7)[1], run(A=A0 - 1e-7)[1], 1e-7, keys)
    assert np.all(out.d_value_d_state[:, 0, 3:] == 0)


def test_behind_limb_and_shadow_give_no_row(shape, scene):
    """A landmark on the far side (in the image pyramid, behind the limb) and a landmark whose
    Sun is below its horizon give no row; the same landmark seen from its own side in daylight
    gives a row pair (so the test can fail)."""
    s = scene
    sb = s["sb"][0]
    cen = shape.vertices[shape.faces].mean(axis=1)
    near = int(np.argmax(cen @ sb))  # sub-spacecraft side
    far = int(np.argmin(cen @ sb))  # antipode
    lm = op.landmarks_from_facets(shape, [near, far])
    R0 = s["R"][0]
    sun_day = s["q"][:1] + (1.5e8 * R0 @ (sb / np.linalg.norm(sb)))[None]
    sun_night = s["q"][:1] - (1.5e8 * R0 @ (sb / np.linalg.norm(sb)))[None]
    args = (shape, lm, op.OROCHI_PINHOLE, s["t"][:1], s["r"][:1], s["q"][:1], pose_with(A0))
    day = op.landmark_observations(*args, sun_day)
    assert set(day.landmark.tolist()) == {0}
    assert len(op.landmark_observations(*args, sun_night)) == 0


def test_centroid_rows(shape):
    """Far range (200 km, OROCHI): the centre-of-mass pixel at nadir pointing is the principal
    point (1e-9 px); the photocentre bias is small at zero phase (Sun behind the spacecraft; < 5 px,
    i.e. < 10 % of the 55 px image radius: shape asymmetry; measured 2.7 px) and toward the Sun at 90 deg phase (> 5 px: the lit half); partials vs
    central differences < 1e-6 (known attitude: the nadir frame of a reference geometry, then
    the spacecraft moved by 5 km across the line of sight); images nearer than the threshold give no row."""
    cam = op.OROCHI_PINHOLE
    t = np.array([0.0, 10.0])
    q = np.array([[9376.0, 0, 0]] * 2)
    d = np.array([[0, -200.0, 0], [0, -200.0, 0]])
    r = q + d
    sun = q + np.array([[0, -1.5e8, 0], [1.5e8, 0, 0]])
    th = np.array([[0, 0, 0], [1e-3, -2e-3, 5e-4]])
    out = op.centroid_observations(shape, cam, t, r, q, pose_with(A0), sun, pointing_rad=th)
    assert len(out) == 4
    R, _ = pose_with(A0)(t)
    C, _ = op.camera_frame(np.einsum("nji,nj->ni", R, d))
    att = C @ np.swapaxes(R, 1, 2)
    r2 = r + np.array([5.0, 0, 3.0])
    out2 = op.centroid_observations(shape, cam, t, r2, q, pose_with(A0), sun, attitude=att, pointing_rad=th)
    assert np.all(np.abs(out2.value - out.value) > 1)
    assert np.allclose(out.value[:2], [cam.cx, cam.cy], atol=1e-9)
    assert np.all(np.abs(out.bias_px[:2]) < 5)
    assert np.hypot(*out.bias_px[2:]) > 5
    h = 1e-3
    for j in range(3):
        e = np.zeros(3)
        e[j] = h
        fd = (op.centroid_observations(shape, cam, t, r2 + e, q, pose_with(A0), sun, attitude=att, pointing_rad=th).value
              - op.centroid_observations(shape, cam, t, r2 - e, q, pose_with(A0), sun, attitude=att,
                                         pointing_rad=th).value) / (2 * h)
        a = out2.d_value_d_state[:, 0, j]
        assert np.max(np.abs(a)) > 1e-3
        assert np.max(np.abs(fd - a)) <= 1e-6 * np.max(np.abs(a))
        fd = (op.centroid_observations(shape, cam, t, r2, q, pose_with(A0), sun, attitude=att, pointing_rad=th + e * 1e-4).value
              - op.centroid_observations(shape, cam, t, r2, q, pose_with(A0), sun, attitude=att,
                                         pointing_rad=th - e * 1e-4).value) / (2 * h * 1e-4)
        a = out2.d_value_d_pointing[:, j]
        assert np.max(np.abs(fd - a)) <= 1e-6 * np.max(np.abs(a))
    near = op.centroid_observations(shape, cam, t, q + d / 10, q, pose_with(A0), sun)
    assert len(near) == 0


def test_bad_inputs(shape, scene):
    """InputError for: a landmark facet out of range, a camera without intrinsics (OROCHI of
    instruments.cameras has no pixel count), negative pixel noise, wrongly shaped positions."""
    from mmxsim.instruments.cameras import OROCHI, TENGOO

    s = scene
    with pytest.raises(InputError):
        op.landmarks_from_facets(shape, [len(shape.faces)])
    with pytest.raises(InputError):
        op.landmarks_from_facets(shape, [-1])
    bad = op.Landmarks(np.array([len(shape.faces) + 5]), np.zeros((1, 3)))
    args = (s["t"], s["r"], s["q"], pose_with(A0), s["sun"])
    with pytest.raises(InputError):
        op.landmark_observations(shape, bad, op.OROCHI_PINHOLE, *args)
    with pytest.raises(InputError):
        op.landmark_observations(shape, s["lm"], OROCHI, *args)
    assert op.camera_intrinsics(TENGOO).width == 3296
    with pytest.raises(InputError):
        op.landmark_observations(shape, s["lm"], op.OROCHI_PINHOLE, *args,
                                 settings=op.OpticalSettings(pixel_sigma=-0.3))
    with pytest.raises(InputError):
        op.landmark_observations(shape, s["lm"], op.OROCHI_PINHOLE, s["t"], s["r"][:2], s["q"], pose_with(A0),
                                 s["sun"])
    with pytest.raises(InputError):
        op.draw_pointing_bias(3, -1e-4, np.random.default_rng(0))


def test_noise_statistics(shape, scene):
    """Pixel noise: residuals of noisy vs noiseless values have standard deviation 0.3 px within
    10 % (several hundred rows) and mean within 4 sigma/sqrt(m)."""
    s = scene
    a = (shape, s["lm"], op.OROCHI_PINHOLE, s["t"], s["r"], s["q"], pose_with(A0), s["sun"])
    clean = op.landmark_observations(*a)
    noisy = op.landmark_observations(*a, rng=np.random.default_rng(3))
    d = noisy.value - clean.value
    assert len(d) > 300
    assert abs(d.std() / 0.3 - 1) < 0.1
    assert abs(d.mean()) < 4 * 0.3 / np.sqrt(len(d))


def test_blocks_give_identical_rows(shape, scene):
    """Processing in small blocks (chunk = 500 pairs: one image per block, ray casting in pieces)
    gives bit-identical rows and partials to one block."""
    s = scene
    a = (shape, s["lm"], op.OROCHI_PINHOLE, s["t"], s["r"], s["q"], pose_with(A0), s["sun"])
    one = op.landmark_observations(*a)
    many = op.landmark_observations(*a, chunk=500)
    assert len(one) > 0
    for k in ("image", "landmark", "component", "value", "d_value_d_state", "d_value_d_pose", "d_value_d_landmark",
              "d_value_d_pointing"):
        assert np.array_equal(getattr(one, k), getattr(many, k)), k


def test_pointing_rotation():
    """E(θ) = R3 R2 R1: orthonormal; the zero-angle shortcut equals the general formula at
    1e-300 rad (1e-15); dE vs central differences at 2 mrad (1e-8 absolute, step 1e-6)."""
    E0, dE0 = op.pointing_rotation(np.zeros((2, 3)))
    E1, dE1 = op.pointing_rotation(np.full((2, 3), 1e-300))
    assert np.allclose(E0, E1, atol=1e-15, rtol=0) and np.allclose(dE0, dE1, atol=1e-15, rtol=0)
    th = np.array([[2e-3, -1e-3, 3e-3]])
    E, dE = op.pointing_rotation(th)
    assert np.allclose(E[0] @ E[0].T, np.eye(3), atol=1e-15)
    for j in range(3):
        e = np.zeros((1, 3))
        e[0, j] = 1e-6
        fd = (op.pointing_rotation(th + e)[0] - op.pointing_rotation(th - e)[0]) / 2e-6
        assert np.max(np.abs(fd - dE[:, j])) < 1e-8


def test_phobos_pose_is_the_dynamics_rotation_and_its_libration_partial(shape):
    """phobos_pose (the pose of Phobos' IAU 2015 rotation with the libration parameter) is the transpose
    of IAURotation.matrix at the nominal amplitude (exact to 1e-15), and the landmark partial w.r.t. the
    amplitude through it matches central differences of the pixels with the amplitude moved by ±1e-4 rad:
    < 1e-6 relative (the pixels are linear to 1e-8 over that step)."""
    from mmxsim.bodies import get_body
    from mmxsim.bodies.rotation import PHOBOS_LIBRATION_DEG

    t = 8.7e8 + np.array([0.0, 3600.0, 7200.0])
    R, dR = op.phobos_pose()(t)
    M = get_body("PHOBOS").rotation().matrix(t)
    assert np.max(np.abs(R - np.swapaxes(M, -1, -2))) < 1e-15 and dR.shape == (3, 1, 3, 3)
    A = np.radians(PHOBOS_LIBRATION_DEG)
    lm = op.select_landmarks(shape, 300, seed=1)
    q = np.tile([9376.0, 0.0, 0.0], (3, 1))
    Rb = R
    sb = np.array([[0.0, -30.0, 5.0], [25.0, 10.0, -3.0], [-5.0, 28.0, 8.0]])
    r = q + np.einsum("nij,nj->ni", Rb, sb)
    sun = q + np.einsum("nij,nj->ni", Rb, sb / np.linalg.norm(sb, axis=1)[:, None] * 2.2e8)
    cam = op.OROCHI_PINHOLE
    out = op.landmark_observations(shape, lm, cam, t, r, q, op.phobos_pose(A), sun)
    assert len(out) > 20
    h = 1e-4
    hi = op.landmark_observations(shape, lm, cam, t, r, q, op.phobos_pose(A + h), sun)
    lo = op.landmark_observations(shape, lm, cam, t, r, q, op.phobos_pose(A - h), sun)
    assert len(hi) == len(lo) == len(out)
    fd = (hi.value - lo.value) / (2 * h)
    err = np.max(np.abs(out.d_value_d_pose[:, 0] - fd)) / np.max(np.abs(fd))
    assert err < 1e-6, err
