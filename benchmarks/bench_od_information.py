"""Benchmark: ``OrbitProblem.information`` on large landmark and LIDAR data sets (issue 17).

The problem. The reference QSO state (``reference_qso.yaml``, 50 to 95 km from Phobos) flown
``--days`` days (default 1) with Mars J2 and Phobos' degree-2 harmonics with the forced libration
amplitude a runtime parameter (heyoka tolerance 1e-12); one Doppler point (the problem needs a
radiometric table); 200 OROCHI images a day of ``--landmarks`` landmarks (default 3000, farthest-point
sampling on the Ernst shape), the rows decided by the ray caster with the true geometry; LIDAR at
1 Hz. Simulated once (timed separately), then :meth:`~mmxsim.navigation.od.OrbitProblem.information`
is timed for two parameter sets: the common case (state, libration, constant camera and LIDAR
pointing biases: 13 columns) and per-image pointing (``point:<i>:1|2|3`` for every image: 600
more columns). Printed per kind: rows and seconds; the first case's total includes the one
propagation with partials (and its compilation on an empty heyoka cache).

Measured on the shared 2-core machine (1 day, 3000 landmarks: 64,990 landmark rows, 86,399 shots):
common case landmark 0.2 s, LIDAR 0.4-1.1 s; per-image pointing landmark 3.9 s, LIDAR 1.6 s.

Run:  python benchmarks/bench_od_information.py [--days 1] [--landmarks 3000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=1.0)
    ap.add_argument("--landmarks", type=int, default=3000)
    a = ap.parse_args(argv)
    from mmxsim.analyses._navigation import ground_stations
    from mmxsim.bodies.shapes import phobos_shape
    from mmxsim.dynamics import DynamicsModel, MarsGravity, PhobosGravity
    from mmxsim.mission.runner import build_model, initial_state
    from mmxsim.navigation import optical as op
    from mmxsim.navigation.measurements import MeasurementSettings
    from mmxsim.navigation.od import OrbitProblem, Prior, simulate_altimetry, simulate_optical
    from mmxsim.navigation.schedule import ScheduleSettings, Track, schedule
    from mmxsim.scenario import reference_scenario

    s = reference_scenario()
    _, eph = build_model(s)
    t0 = float(s.t0_tdb)
    span = a.days * 86400.0
    t1 = t0 + span
    x0 = initial_state(s, t0, eph)
    model = DynamicsModel(forces=[MarsGravity(2), PhobosGravity("harmonics", degree=2, libration_parameter=True)],
                          ephemeris=eph, tolerance=1e-12)
    stations, _ = ground_stations(("DSS-14",), eph, t0, t1)
    rows = schedule([Track("DSS-14", t0 + 3000.0, t0 + 3600.0, 0)],
                    ScheduleSettings(doppler_interval_s=600.0, range_interval_s=1e9, ddor_interval_s=1e9, baselines=()))
    rows = rows.select(rows.kind == "doppler")
    settings = MeasurementSettings(troposphere=False, shapiro=False)
    probe = OrbitProblem(model, t0, t1, rows, stations, list(x0), settings=settings, ephemeris=eph,
                         elevation_mask_deg=None)
    shape = phobos_shape("ernst")
    lm = op.select_landmarks(shape, a.landmarks)
    n_img = int(round(200 * a.days))
    T = time.perf_counter()
    od = simulate_optical(probe, probe.p0, t=t0 + np.linspace(60.0, span - 60.0, n_img), landmarks=lm,
                          camera=op.OROCHI_PINHOLE, shape=shape)
    print(f"landmark rows simulated: {len(od)} in {time.perf_counter() - T:.1f} s")
    T = time.perf_counter()
    ad = simulate_altimetry(probe, probe.p0, t=t0 + np.arange(1.0, span, 1.0), shape=shape)
    print(f"LIDAR shots simulated: {len(ad)} in {time.perf_counter() - T:.1f} s")
    common = {"phobos:libration": Prior(-0.0199, 5e-4)}
    common.update({f"point:cam:{k}": Prior(0.0, 1e-3) for k in (1, 2, 3)})
    common.update({f"lidarpoint:{k}": Prior(0.0, 1e-3) for k in (1, 2, 3)})
    per_image = {**common, **{f"point:{i}:{k}": Prior(0.0, 1e-3) for i in range(n_img) for k in (1, 2, 3)}}
    state = [Prior(x, 1.0) for x in x0[:3]] + [Prior(x, 1e-3) for x in x0[3:]]
    for label, est in (("common case", common), ("per-image pointing", per_image)):
        pr = OrbitProblem(model, t0, t1, rows, stations, state, estimate=est, settings=settings, ephemeris=eph,
                          optical=od, altimetry=ad, elevation_mask_deg=None)
        T = time.perf_counter()
        info = pr.information()
        total = time.perf_counter() - T
        kinds = ", ".join(f"{k} {info.rows[k]} rows {info.seconds[k]:.2f} s" for k in info.rows)
        sig = np.sqrt(np.diag(info.covariance()))
        print(f"{label}: {len(info.names)} columns; {kinds}; total {total:.2f} s; "
              f"sigma position {np.round(sig[:3] * 1e3, 3)} m, libration {sig[6]:.3g} rad")


if __name__ == "__main__":
    main()
