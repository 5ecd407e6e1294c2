"""Synthetic run results for the export and report tests (no propagation needed).

Loaded by path from the conftest files (works with any pytest import mode).
"""

from __future__ import annotations

import numpy as np

from mmxsim.results import Event, RunResult, Trajectory

GM_MARS = 42828.375214  # km^3/s^2
T0 = 872_510_400.0  # 2027-08-26T00:00:00 TDB, seconds past J2000


def kepler_states(t, a=9500.0, e=0.05, inc=0.45, raan=0.8, argp=1.3, m0=0.2, t0=T0, gm=GM_MARS):
    """Two-body states (km, km/s) of a Mars orbit at TDB seconds ``t``."""
    t = np.asarray(t, dtype=float)
    n = np.sqrt(gm / a**3)
    m = m0 + n * (t - t0)
    ea = m.copy()
    for _ in range(30):
        ea -= (ea - e * np.sin(ea) - m) / (1 - e * np.cos(ea))
    ce, se = np.cos(ea), np.sin(ea)
    b = a * np.sqrt(1 - e * e)
    r = a * (1 - e * ce)
    p_orb = np.stack([a * (ce - e), b * se, 0 * ce], axis=1)
    v_orb = np.stack([-a * n * se / (1 - e * ce), b * n * ce / (1 - e * ce), 0 * ce], axis=1)
    assert np.all(r > 0)

    def rot(axis, ang):
        c, s = np.cos(ang), np.sin(ang)
        if axis == 3:
            return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
        return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])

    q = rot(3, raan) @ rot(1, inc) @ rot(3, argp)
    return np.hstack([p_orb @ q.T, v_orb @ q.T])


def make_result(n=500, step=60.0, name="synthetic QSO", seed=1, events=True) -> RunResult:
    rng = np.random.default_rng(seed)
    # fractional-second epochs: a 60 s grid jittered by up to 0.9 s
    t = T0 + 0.123456 + step * np.arange(n) + rng.uniform(0.0, 0.9, n)
    traj = Trajectory(t=t, states=kepler_states(t))
    nn = 2 * np.pi / (7.65 * 3600.0)
    tau = t - t[0]
    c, s = np.cos(nn * tau), np.sin(nn * tau)
    hill_states = np.stack(
        [-50 * c, 100 * s, 5 * s, 50 * nn * s, 100 * nn * c, 5 * nn * c], axis=1
    )
    hill = Trajectory(t=t, states=hill_states, center="PHOBOS", frame="PHOBOS_HILL")
    fixed = Trajectory(t=t, states=hill_states.copy(), center="PHOBOS", frame="PHOBOS_FIXED")
    dist = np.linalg.norm(hill_states[:, :3], axis=1)
    alt = dist - 11.0
    evs = []
    if events:
        evs = [
            Event("eclipse_entry", float(t[min(40, n - 1)]) + 12.5, body="MARS", details={"duration_s": 1800.0}),
            Event("max_distance", float(t[min(100, n - 1)]), body="PHOBOS", details={"distance_km": 100.0, "bad": float("nan")}),
        ]
    return RunResult(
        scenario_name=name,
        trajectory=traj,
        hill=hill,
        phobos_fixed=fixed,
        distance_phobos_km=dist,
        altitude_phobos_km=alt,
        events=evs,
        assumptions=["Phobos gravity: constant density SH degree 10", "No solar radiation pressure"],
        force_model=["Mars point mass + J2", "Phobos SH 10x10 (Ernst 2023)"],
        timings={"compile": 1.25, "propagate": 0.5, "nan_timing": float("nan")},
        metadata={"tolerance": 1e-12, "versions": {"mmxsim": "0.1.0"}, "array": np.arange(3)},
        termination="span completed",
    )
