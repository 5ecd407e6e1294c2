"""Benchmark: the geodesy covariance analysis of a 30-day low QSO (issue 17, benchmark paragraph).

The case. QSO-LB of the preset campaign (25 km, :mod:`mmxsim.orbits.campaign`) handed to the full
model (Mars J2..J4, Phobos harmonics to degree 8 with its forced libration, Sun, Earth, Deimos,
cannonball SRP; :func:`mmxsim.orbits.handoff.full_model`) at 2027-09-01 and flown 30 days in arcs of
one day. Tracking: two-way Doppler every 60 s and range every 600 s in the ground plan's booked
tracks (:func:`mmxsim.analyses.geodesy.booked_phobos_tracks`: the comms planner, for Phobos' position;
``--tracks daily`` uses the geodesy analysis' daily pass plan instead), each track starting one
round-trip light time after its start (uplink above the horizon). Parameters: per arc the state,
Cr A/m, three constant RTN empirical accelerations and a range bias per station that ranged (~13);
global Phobos GM, the normalised C̄nm, S̄nm of degrees 2..5 (32) and the libration amplitude: ~47 per
arc (the issue's ~60 also counts landmark/LIDAR-related and Phobos-state parameters, not in the
problem yet: the landmark images and LIDAR shots of the issue's case are NOT included).

Timed:

* mmxsim: :func:`mmxsim.navigation.geodesy.campaign_covariance` (heyoka's variational equations,
  one compiled system for all arcs; compile or heyoka's on-disk cache read in the first arc).
* Baseline (``--baseline``, off by default: minutes per arc): the same information matrix of ONE arc
  computed the straightforward NumPy way, partials by forward finite differences of SciPy DOP853
  propagations of :func:`mmxsim.dynamics.numpy_rhs` (one re-propagation per dynamical parameter, the
  steps of benchmarks/bench_od.py; coefficients stepped by 1e-4, the libration by 1e-4 rad), the
  same measurement model, ``H^T W H`` and the Schur reduction in NumPy; the per-arc ratio is the
  comparison, and the baseline's information is compared with mmxsim's (relative Frobenius norm).

Measured (2 shared cores, 2026-12-06): 30 days of QSO-LB with booked tracks (91 tracks, 655 h, 39,234
Doppler and 3,967 range points), 34 globals + 10 locals per arc: 28.6 s wall (about 1 s per arc).
Baseline on one arc: 260 s (45 DOP853 propagations at rtol 1e-12) against 0.87 s for mmxsim's arc,
a ratio of about 300; the baseline's reduced information differs from mmxsim's by 14 % (relative
Frobenius norm; worst diagonals: C̄54 x1.75, GM x0.83: forward-difference error; steps of 1e-2 on the
coefficients made it worse, 3.8, through C̄20's nonlinearity).

Run: ``PYTHONPATH=src python benchmarks/bench_geodesy.py [--days 30] [--tracks booked|daily] [--baseline]``.
Goal (issue 17): <= 60 s wall time on 2 cores for the whole 30-day covariance.
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np


def build(days: float, tracks_kind: str):
    from types import SimpleNamespace

    from mmxsim.analyses._navigation import ground_stations, od_model
    from mmxsim.analyses.geodesy import _legs, booked_phobos_tracks, daily_tracks
    from mmxsim.ephemeris import default_ephemeris
    from mmxsim.navigation.schedule import ScheduleSettings, schedule
    from mmxsim.orbits.handoff import full_model
    from mmxsim.scenario import parse_scenario

    s = parse_scenario({"name": "bench-geodesy", "epoch": "2027-09-01T00:00:00", "duration_days": 1.0,
                        "initial_state": {"type": "qso", "radial_semi_axis_km": 50}})
    t0 = float(s.t0_tdb)
    eph = default_ephemeris()
    base = full_model(eph, phobos_degree=8, srp=True)
    model = od_model(base, True, True, 5, True)
    c = time.perf_counter()
    legs = _legs(SimpleNamespace(qsos=("QSO-LB",), days_per_qso=days), t0, base, eph)
    t_handoff = time.perf_counter() - c
    t1 = t0 + days * 86400.0
    names = ("DSS-14", "DSS-43", "DSS-63", "DSA-1 New Norcia", "DSA-2 Cebreros", "DSA-3 Malargue")
    stations, cat = ground_stations(names, eph, t0, t1)
    c = time.perf_counter()
    if tracks_kind == "booked":
        tracks, blackouts = booked_phobos_tracks(cat, eph, t0, t1, "X", 60.0)
    else:
        tracks, blackouts = daily_tracks(cat, eph, t0, t1, "X", 8.0, 60.0)
    rows = schedule(tracks, ScheduleSettings(), blackouts)
    t_tracks = time.perf_counter() - c
    return model, legs, rows, stations, eph, {"handoff_s": t_handoff, "tracks_s": t_tracks, "tracks": len(tracks),
                                             "hours": sum(x.stop - x.start for x in tracks) / 3600.0}


def numpy_rhs_with(model, values: dict, cheb_origin: float):
    """numpy_rhs with runtime-parameter values overridden (the straightforward way: a copy of the
    parameter table)."""
    from mmxsim.dynamics import numpy_rhs

    # numpy_rhs reads the parameter values from the forces: override them on copies
    m = copy.copy(model)
    forces = []
    for fc in model.forces:
        ps = fc.parameters()
        if ps and any(k in values for k in ps):
            fc = copy.copy(fc)
            if "phobos:gm" in ps and "phobos:gm" in values:
                fc.gm = float(values["phobos:gm"])
            if "srp:cr_area_over_mass" in ps and "srp:cr_area_over_mass" in values:
                fc.cram = float(values["srp:cr_area_over_mass"])
            if "phobos:libration" in ps and "phobos:libration" in values:
                fc.libration = float(values["phobos:libration"])
            if hasattr(fc, "coefficients") and fc.coefficients:
                fc.coefficients = {k: float(values.get(f"phobos:{k}", v)) for k, v in fc.coefficients.items()}
            if "emp:r" in ps:
                fc.values = tuple(float(values.get(k, ps[k])) for k in ("emp:r", "emp:t", "emp:n"))
        forces.append(fc)
    m.forces = forces
    return numpy_rhs(m, cheb_origin=cheb_origin)


def baseline_arc(model, leg, rows, stations, eph, rtol: float):
    """(reduced information (n_g, n_g) in a priori-scaled units, names, seconds, propagations) of the
    first arc by finite differences (see module doc)."""
    import sys
    from pathlib import Path

    from scipy.integrate import solve_ivp

    from mmxsim.navigation import geodesy as G
    from mmxsim.navigation.measurements import MeasurementSettings, compute
    from mmxsim.navigation.od import STATE_NAMES

    sys.path.insert(0, str(Path(__file__).parent))
    from bench_od import ScipyTrajectory

    a0, a1 = leg.t0, leg.t0 + 86400.0
    keep = (rows.t - rows.count_time - G.LIGHT_TIME_MARGIN_S >= a0) & (rows.t <= a1)
    d = rows.select(keep)
    settings = MeasurementSettings(troposphere=True, shapiro=True)
    mvals = G._model_values(model)
    gnames = G.global_parameter_names(model)
    local_dyn = ["srp:cr_area_over_mass", "emp:r", "emp:t", "emp:n"]
    bias = sorted(set(d.receiver[d.kind == "range"]))
    lnames = [*STATE_NAMES, *local_dyn, *(f"bias:{b}" for b in bias)]
    names = [*lnames, *gnames]
    p = np.array([*leg.x0, *(mvals[k] for k in local_dyn), *(0.0 for _ in bias), *(mvals[k] for k in gnames)])
    steps = {"x": 1e-2, "y": 1e-2, "z": 1e-2, "vx": 1e-6, "vy": 1e-6, "vz": 1e-6, "srp:cr_area_over_mass": 0.5 * p[6],
             "emp:r": 1e-11, "emp:t": 1e-11, "emp:n": 1e-11, "phobos:gm": 1e-3 * mvals["phobos:gm"],
             "phobos:libration": 1e-4}
    n_prop = [0]

    def computed(q):
        v = dict(zip(names, q))
        f = numpy_rhs_with(model, v, a0)
        sol = solve_ivp(f, (a0, a1), q[:6], method="DOP853", rtol=rtol, atol=rtol * 1e-3, dense_output=True)
        n_prop[0] += 1
        comp = compute(d, ScipyTrajectory(sol.sol, eph), stations, settings, eph)
        return comp.value + np.array([q[names.index(f"bias:{r}")] if k == "range" else 0.0
                                      for r, k in zip(d.receiver, d.kind)])

    c = time.perf_counter()
    h0 = computed(p)
    H = np.zeros((len(d), len(names)))
    for j, nm in enumerate(names):
        if nm.startswith("bias:"):
            H[:, j] = (d.kind == "range") & (d.receiver == nm[5:])
            continue
        dp = steps.get(nm, 1e-4)  # Stokes coefficients
        q = p.copy()
        q[j] += dp
        H[:, j] = (computed(q) - h0) / dp
    w = 1.0 / d.sigma ** 2
    N = (H.T * w) @ H
    loc, glo = G.LocalApriori(), G.GlobalApriori()
    D = np.array([*(loc.sigma(k, dict(zip(names, p))[k]) for k in lnames), *(glo.sigma(k) for k in gnames)])
    Ns = N * np.outer(D, D)
    A = Ns[:len(lnames), :len(lnames)] + np.eye(len(lnames))
    nl = len(lnames)
    red = Ns[nl:, nl:] - Ns[nl:, :nl] @ np.linalg.solve(A, Ns[:nl, nl:])
    return red, gnames, time.perf_counter() - c, n_prop[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=30.0)
    ap.add_argument("--tracks", choices=("booked", "daily"), default="booked")
    ap.add_argument("--baseline", action="store_true", help="time the finite-difference NumPy baseline on one arc")
    ap.add_argument("--rtol", type=float, default=1e-12, help="baseline DOP853 rtol (atol = rtol x 1e-3 km)")
    a = ap.parse_args()
    from mmxsim.navigation import geodesy as G
    from mmxsim.navigation.measurements import MeasurementSettings

    model, legs, rows, stations, eph, info = build(a.days, a.tracks)
    print(f"setup: hand-off {info['handoff_s']:.1f} s, {a.tracks} tracks {info['tracks_s']:.1f} s "
          f"({info['tracks']} tracks, {info['hours']:.0f} h), {len(rows)} rows "
          f"({int(np.sum(rows.kind == 'doppler'))} Doppler, {int(np.sum(rows.kind == 'range'))} range)", flush=True)
    c = time.perf_counter()
    res = G.campaign_covariance(model, legs, rows, stations, arc_days=1.0,
                                settings=MeasurementSettings(troposphere=True, shapiro=True), ephemeris=eph,
                                elevation_mask_deg=0.0)
    wall = time.perf_counter() - c
    t = res.timings
    n_local = len(res.setup["local_parameters"]) - 1
    print(f"mmxsim: {t['arcs']} arcs, {len(res.parameters)} globals + {n_local} locals and range biases per arc; "
          f"wall {wall:.1f} s (first arc {t['first_arc_s']:.2f} s, mean {t['mean_arc_s']:.3f} s/arc); goal <= 60 s: "
          f"{'met' if wall <= 60 else 'NOT met'}")
    fin = res.final_sigma("doppler")
    for k in ("phobos:gm", "phobos:C20", "phobos:C22", "phobos:libration"):
        print(f"  σ {k}: {fin[k]:.3g} ({100 * fin[k] / abs(res.truth[k]):.3g} % of the value)")
    if a.baseline:
        red, gnames, sec, n_prop = baseline_arc(model, legs[0], rows, stations, eph, a.rtol)
        ours_arc = t["arc_s"][1] if len(t["arc_s"]) > 1 else t["arc_s"][0]
        # mmxsim's reduced information of the first arc, from a one-arc run
        one = G.campaign_covariance(model, [G.QsoLeg(legs[0].name, legs[0].t0, legs[0].x0, 1.0)], rows, stations,
                                    arc_days=1.0, settings=MeasurementSettings(troposphere=True, shapiro=True),
                                    ephemeris=eph, elevation_mask_deg=0.0)
        P1 = one.covariance["doppler"] / np.outer(one.apriori_sigma, one.apriori_sigma)
        ours = np.linalg.inv(P1) - np.eye(len(gnames))
        rel = np.linalg.norm(red - ours) / np.linalg.norm(ours)
        print(f"baseline (SciPy DOP853 rtol {a.rtol:g} + forward differences, NumPy normal equations): one arc "
              f"{sec:.1f} s ({n_prop} propagations) vs mmxsim {ours_arc:.3f} s per arc: ratio {sec / ours_arc:.0f}; "
              f"reduced information differs by {rel:.2g} (relative Frobenius)")
        ratio = np.sqrt(np.maximum(np.diag(red), 0.0) / np.maximum(np.diag(ours), 1e-300))
        worst = np.argsort(-np.abs(ratio - 1.0))[:6]
        print("  baseline/mmxsim sqrt(diagonal) of the reduced information, worst: "
              + ", ".join(f"{gnames[i]} {ratio[i]:.3g}" for i in worst))


if __name__ == "__main__":
    main()
