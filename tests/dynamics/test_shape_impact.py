"""Impacts on the Ernst shape model found inside the propagation, against brute force (issue 13).

Random trajectories start 1-20 km above Phobos (Mars J2 + Phobos point mass), either aimed at a
random point of the mesh or skimming it tangentially at -0.15..+0.3 km (grazing: some hit, some
miss). Each is propagated twice: with the shape impact event (dynamics.surface_watch), and
without any event, sampled every 0.1 s and classified with the polyhedron's solid-angle inside
test (gravity.polyhedron), independently of the code under test. A sample is only tested where
it can be near the mesh (within the longest facet edge + 0.01 km of a vertex, SciPy KD-tree); a
sample farther than that cannot be on the surface, nor can the 0.1 s of path around it, so it
keeps the classification of the sample before. The event time must match the first inside
sample within 1 s; no impact may be missed and none reported where the body is never entered.
"""

import time

import numpy as np
import pytest

from mmxsim.bodies.shapes import phobos_shape
from mmxsim.dynamics import DynamicsModel, MarsGravity, PhobosGravity, PhobosImpact, make_surface, propagate
from mmxsim.ephemeris import default_ephemeris
from mmxsim.frames import from_mars_icrf, to_mars_icrf
from mmxsim.gravity.polyhedron import Polyhedron

EPH = default_ephemeris()
T0 = 873028869.0
T_MAX = 2500.0  # s per trajectory
DT_REF = 0.1  # brute-force sampling, s


def _setup():
    shape = phobos_shape("ernst")
    poly = Polyhedron(shape, gm=7.0875e-4)
    from scipy.spatial import cKDTree

    v, f = shape.vertices, shape.faces
    edges = np.concatenate([np.linalg.norm(v[f[:, i]] - v[f[:, j]], axis=1) for i, j in ((0, 1), (1, 2), (2, 0))])
    return shape, poly, cKDTree(v), float(edges.max())


def _initial_states(shape, poly, tree, n, rng):
    """Body-fixed initial states (n, 6) and kinds ('aimed' / 'grazing')."""
    v, f = shape.vertices, shape.faces
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    nrm = np.cross(b - a, c - a)
    nrm /= np.linalg.norm(nrm, axis=1)[:, None]
    out, kinds = [], []
    while len(out) < n:
        k = rng.integers(len(f))
        w = rng.dirichlet([1.0, 1.0, 1.0])
        q = w[0] * a[k] + w[1] * b[k] + w[2] * c[k]
        nk = nrm[k]
        if len(out) % 5 < 3:  # aimed at q from a random direction above its local horizon
            h = rng.uniform(1.0, 20.0)
            e = rng.normal(size=3)
            e /= np.linalg.norm(e)
            if e @ nk < 0.3:
                continue
            p0 = q + h * e
            vel = -e * h / rng.uniform(150.0, 1500.0)
            kind = "aimed"
        else:  # skimming: a straight line tangent to the surface at q, at height delta
            tau = np.cross(nk, rng.normal(size=3))
            tau /= np.linalg.norm(tau)
            L = rng.uniform(3.0, 15.0)
            p0 = q + rng.uniform(-0.15, 0.3) * nk - L * tau
            vel = tau * L / rng.uniform(150.0, 1000.0)
            kind = "grazing"
        if tree.query(p0)[0] < 1.0 or poly.inside(p0[None])[0]:  # start >= ~1 km above the surface
            continue
        out.append(np.r_[p0, vel])
        kinds.append(kind)
    return np.array(out), kinds


def _first_inside(t, pfix, poly, tree, lmax):
    """First sample time inside the mesh (brute force, see the module docstring), or None."""
    near = tree.query(pfix)[0] <= lmax + 0.01
    idx = np.flatnonzero(near)
    if idx.size == 0:
        return None
    ins = poly.inside(pfix[idx])
    return float(t[idx[np.argmax(ins)]]) if ins.any() else None


def validate(n, seed):
    shape, poly, tree, lmax = _setup()
    rng = np.random.default_rng(seed)
    X, kinds = _initial_states(shape, poly, tree, n, rng)
    forces = [MarsGravity(2), PhobosGravity("point_mass")]
    with_ev = DynamicsModel(forces=forces, ephemeris=EPH, events=[PhobosImpact(make_surface("shape"))],
                            tolerance=1e-12)
    plain = DynamicsModel(forces=forces, ephemeris=EPH, events=[], tolerance=1e-12)
    stats = {"n": n, "aimed": kinds.count("aimed"), "grazing": kinds.count("grazing"), "impacts_event": 0,
             "impacts_brute": 0, "missed": 0, "false": 0, "max_dt": 0.0, "max_alt_at_impact_m": 0.0,
             "event_s": 0.0, "grazing_hits": 0, "grazing_misses": 0, "bad": []}
    for i, x in enumerate(X):
        t0 = T0 + 3600.0 * (i % 8)
        x0 = to_mars_icrf("PHOBOS_FIXED", t0, x, EPH)
        tic = time.perf_counter()
        r = propagate(with_ev, t0, x0, np.array([t0, t0 + T_MAX]))
        stats["event_s"] += time.perf_counter() - tic
        hit = [e[2] for e in r.events if e[0] == "impact"]
        t_ev = hit[0] if hit else None
        if t_ev is not None:
            rb = from_mars_icrf("PHOBOS_FIXED", t_ev, r.states[-1], EPH)[:3]
            alt = float(make_surface("shape").altitude(rb)[0])
            stats["max_alt_at_impact_m"] = max(stats["max_alt_at_impact_m"], abs(alt) * 1e3)
        t_end = min(T_MAX, (t_ev - t0) + 2.0) if t_ev is not None else T_MAX
        grid = t0 + np.arange(0.0, t_end + 1e-9, DT_REF)
        ref = propagate(plain, t0, x0, grid)
        pfix = from_mars_icrf("PHOBOS_FIXED", ref.t, ref.states, EPH)[:, :3]
        t_bf = _first_inside(ref.t, pfix, poly, tree, lmax)
        stats["impacts_event"] += t_ev is not None
        stats["impacts_brute"] += t_bf is not None
        if kinds[i] == "grazing":
            stats["grazing_hits" if t_bf is not None else "grazing_misses"] += 1
        if t_bf is not None and (t_ev is None or t_ev > t_bf + 1.0):
            stats["missed"] += 1
            stats["bad"].append((i, kinds[i], t_ev, t_bf))
        elif t_ev is not None and (t_bf is None or t_bf > t_ev + 1.0):
            # a penetration shorter than the 0.1 s sampling would show here: check the event state itself
            stats["false"] += 1
            stats["bad"].append((i, kinds[i], t_ev, t_bf, bool(poly.inside(rb[None])[0])))
        if t_ev is not None and t_bf is not None:
            stats["max_dt"] = max(stats["max_dt"], abs(t_ev - t_bf))
    print(f"\nshape impact vs brute force: {n} trajectories ({stats['aimed']} aimed, {stats['grazing']} grazing: "
          f"{stats['grazing_hits']} hit, {stats['grazing_misses']} miss); impacts: event {stats['impacts_event']}, "
          f"brute force {stats['impacts_brute']}; missed {stats['missed']}, false {stats['false']}; "
          f"max |dt| {stats['max_dt']:.3f} s (brute-force sampling {DT_REF} s); max |altitude| at impact "
          f"{stats['max_alt_at_impact_m']:.2e} m; propagation with the event {stats['event_s']:.1f} s in all "
          f"{stats['bad'] or ''}")
    return stats


def _check(st):
    assert st["missed"] == 0 and st["false"] == 0, st["bad"]
    assert st["impacts_event"] == st["impacts_brute"]
    assert st["max_dt"] <= 1.0 and st["max_alt_at_impact_m"] < 1.0
    assert st["grazing_hits"] > 0 and st["grazing_misses"] > 0  # both kinds of grazes are exercised


def test_shape_impacts_match_brute_force_small():
    _check(validate(20, seed=11))


@pytest.mark.slow
def test_shape_impacts_match_brute_force_200():
    _check(validate(220, seed=2026))


def test_shape_surface_interface():
    """The trigger ellipsoid encloses every vertex; altitude is the signed mesh distance; bad names refused."""
    from mmxsim.dynamics.events import ShapeSurface
    from mmxsim.errors import InputError

    s = make_surface("shape", "thomas3k")
    assert isinstance(s, ShapeSurface) and s.model == "thomas3k" and "thomas3k" in s.label
    v = s.shape.vertices
    g = s.contains_expr(None, [v[:, 0], v[:, 1], v[:, 2]])  # numeric evaluation of the trigger
    assert np.all(g < 0)
    assert abs(s.altitude(v[:5])).max() < 1e-12 and s.signed_distance([0.0, 0.0, 0.0]) < -5.0
    assert make_surface("shape").model == "ernst"
    with pytest.raises(InputError, match="shape_model"):
        make_surface("shape", "gaskell")


def test_terminal_state_is_the_last_row():
    """After a terminal event between grid epochs (here the distance limit) the output ends at the event."""
    from mmxsim.dynamics import MaxDistance

    x0 = to_mars_icrf("PHOBOS_HILL", T0, np.array([30.0, 0, 0, 0.05, 0.0, 0.0]), EPH)
    grid = T0 + np.arange(0.0, 86400.0, 600.0)
    m = DynamicsModel(forces=[MarsGravity(2), PhobosGravity("point_mass")], ephemeris=EPH, events=[MaxDistance(80.0)])
    r = propagate(m, T0, x0, grid)
    assert r.termination == "terminal event: max_distance (PHOBOS)"
    assert r.t[-1] == r.final_time == r.events[-1][2] and np.array_equal(r.states[-1], r.final_state)
    assert np.all(r.t[:-1] == grid[: r.t.size - 1]) and r.t[-1] - r.t[-2] < 600.0
