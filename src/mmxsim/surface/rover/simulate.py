"""IDEFIX rover deployment: the packed environment of a run and the entry points (deploy, Monte Carlo)."""

from __future__ import annotations

import math

import numpy as np

from ...bodies import GM_PHOBOS
from ..._accel import run_chunks
from ...errors import InputError
from .model import (DEFAULT_SITE, G_PHOBOS_NOMINAL, GRAVITY_KINDS, N_PHOBOS, SETTLED, ContactModel,
                    DeploymentDistribution, Release, RoverModel, Settings, _num, euler_quaternion, quat_matrix)
from .terrain import Terrain, TerrainModel, site_terrain
from .kernels import _NOUT, _accel, _deploy_kernel
from .result import DeploymentResult


class _Env:
    """Packed kernel arguments of one (rover, terrain, gravity) setting."""

    def __init__(self, rover, contact, terrain, gravity, grid, g_uniform, rotating, n, settings):
        if not isinstance(rover, RoverModel):
            raise InputError("rover", type(rover).__name__, "a RoverModel")
        if not isinstance(contact, ContactModel):
            raise InputError("contact", type(contact).__name__, "a ContactModel")
        if not isinstance(terrain, Terrain):
            raise InputError("terrain", type(terrain).__name__, "a Terrain (site_terrain(...) or Terrain.plane(...))")
        if not isinstance(settings, Settings):
            raise InputError("settings", type(settings).__name__, "a Settings")
        if gravity not in GRAVITY_KINDS:
            raise InputError("gravity", gravity, ", ".join(GRAVITY_KINDS))
        self.rover, self.contact, self.terrain, self.gravity, self.settings = rover, contact, terrain, gravity, settings
        self.n = _num("n", n, 0.0, 1.0, "a spin rate in [0, 1] rad/s")
        self.rotating = bool(rotating)
        prm = np.zeros(36)
        prm[0] = rover.mass_kg
        prm[1:4] = rover.inertia
        prm[4] = GRAVITY_KINDS[gravity]
        gu = np.zeros(3)
        if gravity == "uniform":
            gu = np.asarray(g_uniform, float)
            if gu.shape != (3,) or not np.all(np.isfinite(gu)) or not np.linalg.norm(gu) > 0:
                raise InputError("g_uniform", g_uniform,
                                 "a finite non-zero acceleration vector (3,) m/s², local frame")
        prm[5:8] = gu
        self.grid = None
        G, Rg, shC, shS = np.zeros((1, 1, 1, 4)), np.zeros((1, 1)), np.zeros((1, 1)), np.zeros((1, 1))
        if gravity == "grid":
            from ...gravity.fast import GridGravity
            from ..landing import default_grid

            grid = grid if grid is not None else default_grid()
            if not isinstance(grid, GridGravity):
                raise InputError("grid", type(grid).__name__, "a mmxsim.gravity.fast.GridGravity")
            if not np.any(terrain.site_km != 0):
                raise InputError("terrain", "a plane without a site", "a site_terrain(...) for gravity='grid'")
            self.grid = grid
            G, Rg, gm, dq, dlat, dlon, shR, shC, shS = grid.kernel_args
            prm[8], prm[27], prm[28], prm[29], prm[30] = gm, dq, dlat, dlon, shR
        elif gravity == "point":
            prm[8] = GM_PHOBOS if grid is None else float(grid)
        self.G, self.Rg, self.shC, self.shS = G, Rg, shC, shS
        prm[9] = self.n
        prm[10] = 1.0 if self.rotating else 0.0
        k, _ = contact.coefficients(rover.mass_kg)
        prm[11], prm[12] = k, k
        prm[13] = contact.dt
        prm[14] = settings.dt_flight_s
        prm[15] = settings.t_max_s
        prm[16] = settings.v_rest_m_s
        prm[17] = settings.t_hold_s
        prm[18] = settings.t_air_min_s
        prm[19] = settings.v_impact_min_m_s
        prm[20] = terrain.patch_radius_m
        prm[21] = rover.bounding_radius
        prm[22] = terrain.relief_max
        prm[23] = terrain.spacing_m
        prm[24] = settings.record_dt_s
        prm[25] = settings.escape_m
        prm[26] = 0.5 * max(rover.length_m, rover.width_m, rover.height_m)
        self.pts, self.rad = rover.contact_points()
        self.site = np.asarray(terrain.site_km, float)
        self.Rlb = np.ascontiguousarray(terrain.frame, float)
        self.Om = self.Rlb.T @ np.array([0.0, 0.0, self.n]) if self.rotating else np.zeros(3)
        self.prm = prm
        a = self.accel(np.zeros(3))
        prm[31] = 1.5 * np.linalg.norm(a) + 1e-9
        prm[32] = 0.5 * rover.height_m
        # block maxima of the relief, dilated so that a flight step (horizontal motion <= dmove)
        # never meets relief higher than the block value at its start
        H = terrain.relief
        nbk = next(k for k in (8, 6, 5, 4, 3, 2, 1) if H.shape[0] % k == 0 and H.shape[1] % k == 0)
        Mb = H.reshape(H.shape[0] // nbk, nbk, H.shape[1] // nbk, nbk).max(axis=(1, 3))
        bsz = nbk * terrain.spacing_m
        dmove = 0.5
        rdil = int(math.ceil((prm[21] + dmove) / bsz)) + 1
        D = Mb.copy()
        for di in range(-rdil, rdil + 1):
            for dj in range(-rdil, rdil + 1):
                D = np.maximum(D, np.roll(np.roll(Mb, di, axis=0), dj, axis=1))
        self.Mb = np.ascontiguousarray(np.maximum(D, 0.0))
        prm[33], prm[34] = bsz, dmove
        prm[35] = settings.gravity_refresh_m

    def accel(self, p, v=(0.0, 0.0, 0.0)):
        """External acceleration (m/s², local frame) at a local position (no contact)."""
        a = np.empty(3)
        _accel(np.asarray(p, float), np.asarray(v, float), self.prm, self.site, self.Rlb, self.Om, self.G, self.Rg,
               self.shC, self.shS, np.empty(4), a)
        return a

    def potential(self, p):
        """Time-independent potential Φ (m²/s², a = ∇Φ without Coriolis) at local positions (N, 3):
        Phobos' potential (exact for 'uniform' and 'point'; the grid's interpolated potential for
        'grid', which is not exactly consistent with its interpolated acceleration) plus the Hill
        term n²(3x² - z²)/2."""
        p = np.atleast_2d(np.asarray(p, float))
        rb = self.site[None, :] * 1e3 + p @ self.Rlb.T  # body-fixed, m
        if self.gravity == "uniform":
            u = p @ self.prm[5:8]
        elif self.gravity == "point":
            u = self.prm[8] / np.linalg.norm(rb * 1e-3, axis=1) * 1e6
        else:
            u = self.grid.evaluate(rb * 1e-3)[0] * 1e6
        if self.rotating:
            u = u + 0.5 * self.n ** 2 * (3 * rb[:, 0] ** 2 - rb[:, 2] ** 2)
        return u

    def initial_states(self, altitude, vel, quat, rate_rel, offset):
        """(N, 13) states from release arrays (local frame)."""
        n = len(altitude)
        X = np.zeros((n, 13))
        for i in range(n):
            R = quat_matrix(quat[i])
            rp = self.pts @ R.T
            x0, y0 = offset[i]
            # the lowest clearance (vertical) of any contact point above the terrain = altitude
            xs, ys = x0 + rp[:, 0], y0 + rp[:, 1]
            zt = self.terrain.height(xs, ys)
            c = self.terrain.base
            nz = 1.0 / np.sqrt(1.0 + (c[1] + 2 * c[3] * xs + c[4] * ys) ** 2 + (c[2] + c[4] * xs + 2 * c[5] * ys) ** 2)
            X[i, 0:3] = (x0, y0, altitude[i] + float(np.max(zt + self.rad / nz - rp[:, 2])))
            X[i, 3:6] = vel[i]
            X[i, 6:10] = quat[i]
            X[i, 10:13] = np.asarray(rate_rel[i]) + R.T @ self.Om
        return X

    def run(self, X0, restitution, friction, record=0, nsteps=0):
        n = len(X0)
        cns = np.array([self.contact.coefficients(self.rover.mass_kg, e)[1] for e in restitution]) \
            if np.ptp(restitution) > 0 else np.full(n, self.contact.coefficients(self.rover.mass_kg,
                                                                                  float(restitution[0]))[1])
        out = np.zeros((n, _NOUT))
        hist = np.zeros((record, nsteps, 8))
        # a fresh writable copy of the frictions: the read-only view run_states passes would make numba
        # compile the kernel a second time, for that type
        args = (np.ascontiguousarray(X0), cns, np.array(friction, dtype=float), self.prm, self.pts, self.rad,
                np.ascontiguousarray(self.terrain.base, float), self.terrain.relief, self.Mb, self.site,
                self.Rlb, self.Om, self.G, self.Rg, self.shC, self.shS, out, hist)
        # one deployment per range (their lengths differ by orders of magnitude: hops), taken by the
        # threads in turn (dynamic scheduling)
        run_chunks(_deploy_kernel, args, n, n)
        return out, hist


def _result(env: _Env, out, hist, e, mu, record, alt=None, seed=None, facet_slope=float("nan")):
    st = env.settings
    n = len(out)
    slope = np.full(n, np.nan)
    rough = np.full(n, np.nan)
    upright = np.full(n, np.nan)
    safe = np.zeros(n, bool)
    size = max(env.rover.length_m, env.rover.width_m)
    for i in range(n):
        p = out[i, 6:9]
        R = quat_matrix(out[i, 9:13])
        upright[i] = math.degrees(math.acos(np.clip(R[2, 2], -1, 1)))
        if out[i, 0] != SETTLED:
            continue
        _, rough[i], nrm = env.terrain.local_patch(p[0], p[1], size)
        g = env.accel(p)
        slope[i] = math.degrees(math.acos(np.clip(-(g @ nrm) / np.linalg.norm(g), -1, 1)))
        safe[i] = slope[i] <= st.slope_max_deg and rough[i] <= st.roughness_max_m
    tset = np.where(out[:, 5] >= 0, out[:, 5], np.nan)
    return DeploymentResult(out[:, 0].astype(int), out[:, 1], out[:, 2], out[:, 3], out[:, 4].astype(int), tset,
                            out[:, 6:9].copy(), out[:, 9:13].copy(), out[:, 13], out[:, 14], out[:, 15], out[:, 16],
                            out[:, 17].astype(int), out[:, 18], out[:, 19], np.asarray(e, float),
                            np.asarray(mu, float), slope, rough, upright, safe, env.terrain, st,
                            hist if record else None, alt, facet_slope, seed)


def _nsteps(settings):
    return int(settings.t_max_s / settings.record_dt_s) + 10


def deploy(release: Release = Release(), rover: RoverModel = RoverModel(), contact: ContactModel = ContactModel(),
           terrain: Terrain | None = None, site=None, grid=None, gravity: str = "grid",
           g_uniform=(0.0, 0.0, -G_PHOBOS_NOMINAL), rotating: bool = True, n: float = N_PHOBOS,
           settings: Settings = Settings(), record: bool = True, terrain_model: TerrainModel = TerrainModel(),
           seed: int = 0) -> DeploymentResult:
    """One deployment of IDEFIX from ``release`` to rest (arrays of length 1 in the result).

    ``terrain`` defaults to :func:`site_terrain` at ``site`` (lat, lon deg) with ``terrain_model``
    and ``seed``; ``gravity`` 'grid' (default; GridGravity ``grid`` or the default grid), 'point'
    (GM_PHOBOS point mass) or 'uniform' (``g_uniform``, m/s² in the local frame); ``rotating``
    adds the Hill (centrifugal + tide) and Coriolis terms with spin ``n``."""
    site = DEFAULT_SITE if site is None else site
    if not isinstance(release, Release):
        raise InputError("release", type(release).__name__, "a Release")
    if terrain is None:
        terrain = site_terrain(site[0], site[1], grid=grid, model=terrain_model, seed=seed) \
            if gravity == "grid" else Terrain.plane()
    env = _Env(rover, contact, terrain, gravity, grid, g_uniform, rotating, n, settings)
    q = euler_quaternion(*release.attitude_deg)
    X0 = env.initial_states([release.altitude_m], [release.velocity_m_s], [q],
                            [np.radians(release.rate_deg_s)], [release.offset_m])
    out, hist = env.run(X0, [contact.restitution], [contact.friction], record=1 if record else 0,
                        nsteps=_nsteps(settings) if record else 0)
    return _result(env, out, hist, [contact.restitution], [contact.friction], record, np.array([release.altitude_m]))


_FACET = {}


def site_facet_slope(grid, lat_deg, lon_deg) -> float:
    """Slope (deg, 'hill' model of :mod:`mmxsim.surface.maps`) of the shape-model facet nearest the site."""
    from ..maps import surface_map

    key = grid.key
    if key not in _FACET:
        _FACET[key] = surface_map(grid.shape, polyhedron=grid.poly, model="hill", about_centroid=False)
    m = _FACET[key]
    la, lo = math.radians(lat_deg), math.radians(lon_deg)
    d = np.array([math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)])
    c = m.centroids / np.linalg.norm(m.centroids, axis=1)[:, None]
    return float(m.slope_deg[int(np.argmax(c @ d))])


def deploy_monte_carlo(n: int = 1000, seed: int = 0, site=None, distribution=DeploymentDistribution(),
                       rover: RoverModel = RoverModel(), contact: ContactModel = ContactModel(),
                       terrain: Terrain | None = None, terrain_model: TerrainModel = TerrainModel(),
                       terrain_seed: int = 0, grid=None, gravity: str = "grid",
                       g_uniform=(0.0, 0.0, -G_PHOBOS_NOMINAL), rotating: bool = True, n_spin: float = N_PHOBOS,
                       settings: Settings = Settings(), record: int = 3) -> DeploymentResult:
    """Monte Carlo of IDEFIX deployments at a site (lat, lon deg): release altitude, separation
    velocity, attitude, rates, restitution and friction drawn from ``distribution`` with
    ``numpy.random.default_rng(seed)`` (same seed, same ensemble); one terrain realisation
    (``terrain_seed``). Ensemble run in parallel (numba threads). Returns a
    :class:`DeploymentResult` with ``summary()`` (plain numbers) and ``figures()`` (trajectory
    of the first recorded deployment, dispersion map, settling-time histogram)."""
    site = DEFAULT_SITE if site is None else site
    if not isinstance(n, (int, np.integer)) or not 1 <= n <= 10_000_000:
        raise InputError("n", n, "an integer number of deployments 1..1e7")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError("seed", seed, "an integer >= 0")
    if not isinstance(distribution, DeploymentDistribution):
        raise InputError("distribution", type(distribution).__name__, "a DeploymentDistribution")
    if not isinstance(record, (int, np.integer)) or not 0 <= record <= n:
        raise InputError("record", record, f"an integer 0..n ({n})")
    if terrain is None:
        terrain = site_terrain(site[0], site[1], grid=grid, model=terrain_model, seed=terrain_seed) \
            if gravity == "grid" else Terrain.plane()
    env = _Env(rover, contact, terrain, gravity, grid, g_uniform, rotating, n_spin, settings)
    alt, vel, q, rate, e, mu = distribution.sample(int(n), int(seed))
    X0 = env.initial_states(alt, vel, q, rate, np.zeros((n, 2)))
    out, hist = env.run(X0, e, mu, record=int(record), nsteps=_nsteps(settings) if record else 0)
    fs = site_facet_slope(env.grid, *site) if env.grid is not None else float("nan")
    res = _result(env, out, hist, e, mu, record, alt, int(seed), fs)
    if env.grid is not None and np.isfinite(terrain.lat_deg):
        res._map = _FACET.get(env.grid.key)
    return res


def jacobi_integral(env_or_result, p, v, w=None):
    """Rotating-frame Jacobi-like integral (m²/s², per unit mass) of states: |v|²/2 - Φ(p), plus the
    rotational kinetic energy w·Iw/(2m) of the inertial angular velocity (body axes) if given.
    Conserved without contact for the 'uniform' and 'point' gravity models (exact potentials)."""
    env = env_or_result
    p, v = np.atleast_2d(p), np.atleast_2d(v)
    J = 0.5 * np.sum(v * v, axis=1) - env.potential(p)
    if w is not None:
        w = np.atleast_2d(w)
        J = J + 0.5 * np.sum(w * w * env.rover.inertia[None, :], axis=1) / env.rover.mass_kg
    return J


def make_env(rover: RoverModel = RoverModel(), contact: ContactModel = ContactModel(), terrain: Terrain | None = None,
             gravity: str = "uniform", grid=None, g_uniform=(0.0, 0.0, -G_PHOBOS_NOMINAL), rotating: bool = False,
             n: float = N_PHOBOS, settings: Settings = Settings()) -> _Env:
    """The packed model (for tests and testbeds): ``env.run(X0, e, mu)``, ``env.accel``, ``env.potential``."""
    return _Env(rover, contact, terrain if terrain is not None else Terrain.plane(), gravity, grid, g_uniform,
                rotating, n, settings)


def run_states(env: _Env, X0, restitution=None, friction=None, record: int = 0) -> DeploymentResult:
    """Propagate given 13-states (p, v, q, w_inertial_body) with env; arrays of e and μ per state."""
    X0 = np.atleast_2d(np.asarray(X0, float))
    if X0.shape[1] != 13 or not np.all(np.isfinite(X0)):
        raise InputError("X0", X0.shape, "finite (N, 13) states")
    nn = len(X0)
    e = np.full(nn, env.contact.restitution) if restitution is None else np.broadcast_to(restitution, (nn,))
    mu = np.full(nn, env.contact.friction) if friction is None else np.broadcast_to(friction, (nn,))
    out, hist = env.run(X0, np.asarray(e, float), np.asarray(mu, float), record=record,
                        nsteps=_nsteps(env.settings) if record else 0)
    return _result(env, out, hist, e, mu, record)
