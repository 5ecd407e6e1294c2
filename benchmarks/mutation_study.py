"""Mutation study: plant plausible bugs one at a time and check that the tests catch them.

Each entry of ``MUTATIONS`` is (id, package, file, old text, new text, what the bug is, test paths).
For each: the file is edited (the old text must occur exactly once), the relevant tests run with
``pytest -x -q``, and the file is restored with ``git checkout -- FILE`` (also on Ctrl-C or any error).
A mutation is *caught* when pytest fails (exit code 1) or the run exceeds the per-mutation timeout
(a hang is a detected bug too, flagged as such).

Usage (from the repository root, with the test dependencies installed):

    PYTHONPATH=src python benchmarks/mutation_study.py            # all mutations
    PYTHONPATH=src python benchmarks/mutation_study.py M03 M17    # some of them
    PYTHONPATH=src python benchmarks/mutation_study.py --list     # the table without running

Prints the table (id, package, file:line, mutation, caught?, by which test, seconds) and the caught %.
The working tree must be clean for the mutated files (the script refuses otherwise).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 420

S = "src/mmxsim/"
MUTATIONS = [
    # ---- bodies / time / frames / ephemeris -------------------------------------------------------
    ("M01", "bodies", S + "bodies/rotation.py", "de = de + cd * cos(th)", "de = de + cd * sin(th)",
     "IAU nutation/libration term of the pole declination with sin instead of cos",
     ["tests/bodies/test_rotation.py"]),
    ("M02", "bodies", S + "bodies/__init__.py", "GM_PHOBOS = 7.087546066894452e-04",
     "GM_PHOBOS = 7.087546066894452e-03", "GM of Phobos wrong by a factor 10",
     ["tests/gravity/test_gravity.py", "tests/dynamics/test_propagation.py", "tests/orbits/test_qso.py"]),
    ("M03", "time", S + "time.py", "day = np.floor((u1 - 2451544.5) + u2", "day = np.floor((u1 - 2451545.0) + u2",
     "UTC day counted from noon (JD) instead of midnight (MJD convention)",
     ["tests/comms/test_schedule.py", "tests/test_doctests.py"]),
    ("M04", "time", S + "time.py", "tt = tdb - (0.001657", "tt = tdb + (0.001657",
     "sign of the TDB - TT periodic term (1.7 ms) in utc_day",
     ["tests/comms/test_schedule.py", "tests/test_doctests.py"]),
    ("M05", "frames", S + "frames.py", "    y = np.cross(z, x)\n", "    y = np.cross(x, z)\n",
     "Hill frame: y axis = x cross z (left-handed frame)", ["tests/frames/test_frames.py"]),
    ("M06", "frames", S + "frames.py", "hd = np.cross(r, a)", "hd = np.cross(a, r)",
     "Hill frame rate: dh/dt = a x r (sign of the angular-momentum derivative)",
     ["tests/frames/test_frames.py"]),
    ("M07", "ephemeris", S + "ephemeris/moons.py", "    y1 = sw * xp + cw * yp", "    y1 = sw * xp - cw * yp",
     "moon kinematics: sign in the rotation by the argument of periapsis",
     ["tests/ephemeris/test_ephemeris_moons.py"]),
    ("M08", "ephemeris", S + "ephemeris/moons.py", "    Edot = Mdot / (1.0 - e * cE)", "    Edot = Mdot / (1.0 + e * cE)",
     "moon velocity: dE/dt = n / (1 + e cos E)", ["tests/ephemeris/test_ephemeris_moons.py"]),
    # ---- gravity / dynamics -------------------------------------------------------------------------
    ("M09", "dynamics", S + "dynamics/forces.py", "return [kd * d[i] - kb * rb[i] for i in range(3)]",
     "return [kd * d[i] for i in range(3)]", "third body (Sun/Earth/Deimos): indirect term missing",
     ["tests/dynamics/test_propagation.py", "tests/dynamics/test_full_model.py"]),
    ("M10", "dynamics", S + "dynamics/forces.py", "return [direct[i] - kb * rp[i] for i in range(3)]",
     "return [direct[i] for i in range(3)]", "Phobos gravity in the Mars-centred frame: indirect term missing",
     ["tests/dynamics/test_propagation.py", "tests/dynamics/test_full_model.py"]),
    ("M11", "dynamics", S + "dynamics/forces.py", "AU_KM * AU_KM / 1000.0)", "AU_KM * AU_KM)",
     "SRP acceleration in m/s^2 used as km/s^2 (missing /1000)",
     ["tests/dynamics/test_propagation.py", "tests/dynamics/test_full_model.py"]),
    ("M12", "gravity", S + "gravity/polyhedron.py", "G_SI = 6.67430e-11", "G_SI = 6.67430e-10",
     "gravitational constant wrong by 10 (density <-> GM)", ["tests/gravity/test_polyhedron.py"]),
    # ---- orbits ---------------------------------------------------------------------------------
    ("M13", "orbits", S + "orbits/lambert.py", "tmp = ((8.0 * T) / (n * _PI)) ** (2.0 / 3.0)",
     "tmp = ((n * _PI + _PI) / (8.0 * T)) ** (2.0 / 3.0)",
     "Lambert multi-rev: right branch started from the left branch's guess (same root twice)",
     ["tests/orbits/test_lambert.py"]),
    ("M14", "orbits", S + "orbits/lambert.py", "    if hz < 0.0:\n        lam = -lam", "    if hz > 0.0:\n        lam = -lam",
     "Lambert: transfer angle > 180 deg test reversed", ["tests/orbits/test_lambert.py"]),
    ("M15", "orbits", S + "orbits/lambert.py", "vr2 = -gamma * ((lam * y - x)", "vr2 = gamma * ((lam * y - x)",
     "Lambert: sign of the radial arrival velocity", ["tests/orbits/test_lambert.py"]),
    ("M16", "orbits", S + "orbits/lambert.py", "for n in range(1, nmax + 1):", "for n in range(1, nmax):",
     "lambert_all: highest revolution count left out (off by one)", ["tests/orbits/test_lambert.py"]),
    # ---- comms ----------------------------------------------------------------------------------
    ("M17", "comms", S + "comms/link.py", "4.0 * np.pi * d * f / C_KM_S", "4.0 * np.pi * d * 1000.0 * f / C_KM_S",
     "free-space loss with d in m but c in km/s (60 dB)", ["tests/comms/test_link.py"]),
    ("M18", "comms", S + "comms/geometry.py", "r3[:, 2, 2] = ce, se, -se, ce, 1.0", "r3[:, 2, 2] = ce, -se, se, ce, 1.0",
     "Earth orientation matrix: ERA rotation the wrong way", ["tests/comms/test_geometry.py"]),
    ("M19", "comms", S + "comms/geometry.py", "vx = OMEGA_EARTH * np.stack([-x[:, 1], x[:, 0]",
     "vx = OMEGA_EARTH * np.stack([x[:, 1], -x[:, 0]", "station velocity: omega x r with the wrong sign",
     ["tests/comms/test_geometry.py"]),
    ("M20", "comms", S + "comms/visibility.py",
     "if self.st.mask.is_constant and (self.band is None or self.st.band(self.band).elevation_mask_deg is None):",
     "if self.st.mask.is_constant:", "passes: a band's own elevation mask ignored where the station mask is constant",
     ["tests/comms/test_visibility.py"]),
    ("M21", "comms", S + "comms/stations.py", "return np.maximum(base, bp.elevation_mask_deg)",
     "return np.minimum(base, bp.elevation_mask_deg)", "band mask combined with min instead of max",
     ["tests/comms/test_stations.py", "tests/comms/test_visibility.py"]),
    ("M22", "comms", S + "comms/schedule.py", "            s = segs[i]\n            dd = _day(s.start)\n",
     "            s = segs[i]\n            dd = day0\n",
     "booking: a track's segments after UTC midnight charged to the day the track began",
     ["tests/comms/test_schedule.py"]),
    ("M23", "comms", S + "comms/schedule.py", "j_hi = int(np.searchsorted(starts, a.stop + gap, side=\"left\"))",
     "j_hi = int(np.searchsorted(starts, a.stop, side=\"left\"))",
     "MILP: set-up/tear-down gap between tracks at one station ignored", ["tests/comms/test_schedule.py"]),
    ("M24", "comms", S + "comms/schedule.py", "for key in ((\"d\", day0), (\"w\", day0 // 7)):",
     "for key in ((\"d\", day0), (\"w\", (day0 + 1) // 7)):",
     "booking: weeks counted from a different day for overheads than for segments",
     ["tests/comms/test_schedule.py"]),
    # ---- surface --------------------------------------------------------------------------------
    ("M25", "surface", S + "surface/rover/model.py", "rate = np.radians(rng.normal(0, self.rate_sigma_deg_s, (n, 3)))",
     "rate = rng.normal(0, self.rate_sigma_deg_s, (n, 3))", "rover dispersed spin rate left in deg/s (not rad/s)",
     ["tests/surface/test_rover.py"]),
    ("M26", "surface", S + "surface/rover/model.py", "rng.normal(self.altitude_m[0], self.altitude_m[1], n)",
     "rng.normal(self.altitude_m[0], self.altitude_m[0], n)", "rover release altitude sigma = mean (index typo)",
     ["tests/surface/test_rover.py"]),
    ("M27", "surface", S + "surface/rover/model.py", "pitch = rng.normal(0, self.tilt_sigma_deg, n)",
     "pitch = roll", "rover dispersed pitch equal to roll (copy-paste)", ["tests/surface/test_rover.py"]),
    # ---- instruments ----------------------------------------------------------------------------
    ("M28", "instruments", S + "instruments/hapke.py", "chi = 1.0 / np.sqrt(1.0 + np.pi * tb * tb)",
     "chi = 1.0 / np.sqrt(1.0 + tb * tb)", "Hapke roughness chi(theta): pi missing", ["tests/instruments/test_hapke.py"]),
    # ---- earth return ---------------------------------------------------------------------------
    ("M29", "earth_return", S + "earth_return/_ensemble.py", "cda = cda + fr * (prm[_CHUTE_CDS] - cda)",
     "cda = prm[_CHUTE_CDS]", "parachute opens instantly (inflation time ignored)",
     ["tests/earth_return/test_entry.py"]),
    ("M30", "earth_return", S + "earth_return/_ensemble.py", "mach <= prm[_DEPLOY_M]", "mach >= prm[_DEPLOY_M]",
     "parachute Mach trigger reversed", ["tests/earth_return/test_entry.py"]),
    ("M31", "earth_return", S + "earth_return/_ensemble.py", "        mass = prm[_DESCENT_MASS]\n", "",
     "descent mass after parachute deployment not applied (heat shield still counted)",
     ["tests/earth_return/test_entry.py"]),
    # ---- campaign / report / scenario / exports -------------------------------------------------
    ("M32", "campaign", S + "campaign/spec.py", "s = sample_seed(self.seed, index)",
     "s = sample_seed(self.seed, int(index) % self.samples)", "same seeds at every grid point",
     ["tests/campaign/test_campaign.py"]),
    ("M33", "campaign", S + "campaign/runner.py", "\"seed\": seed, \"grid_index\": int(index) // spec.samples,",
     "\"seed\": seed, \"grid_index\": int(index) % spec.samples,", "recorded grid index: % instead of //",
     ["tests/campaign/test_campaign.py"]),
    ("M34", "report", S + "report/html.py", "out += [f\"<p>{_strong(_e(p))}</p>\" for p in sec.paragraphs]",
     "out += [f\"<p>{_strong(p)}</p>\" for p in sec.paragraphs]", "section paragraphs not HTML-escaped",
     ["tests/report"]),
    ("M35", "report", S + "report/html.py", "out.append(_table([tuple(_e(v) for v in row) for row in tab.rows], tab.header))",
     "out.append(_table([tuple(str(v) for v in row) for row in tab.rows], tab.header))",
     "section table cells not HTML-escaped", ["tests/report"]),
    ("M36", "scenario", S + "scenario/schema.py", "e: float = Field(ge=0, lt=1,", "e: float = Field(ge=0, le=1,",
     "eccentricity 1 (parabola) accepted", ["tests/mission/test_scenario.py", "tests/mission/test_malformed.py"]),
    ("M37", "scenario", S + "scenario/schema.py", "i_deg: float = Field(ge=0, le=180,", "i_deg: float = Field(ge=0, le=360,",
     "inclination up to 360 deg accepted", ["tests/mission/test_scenario.py", "tests/mission/test_malformed.py"]),
    ("M38", "exports", S + "exports/czml.py", "np.asarray(pos_km, float)[:, :3] * 1000.0])",
     "np.asarray(pos_km, float)[:, :3]])", "CZML positions in km (Cesium wants m)", ["tests/exports/test_czml.py"]),
    ("M39", "exports", S + "exports/opm.py", "* 1000.0 / (isp_s * G0_M_S2)", "/ (isp_s * G0_M_S2)",
     "OPM manoeuvre mass: delta-v in km/s used as m/s", ["tests/exports/test_opm.py"]),
    # ---- more: shapes, link, data volume, light time, instruments, scenario ---------------------
    ("M40", "bodies", S + "bodies/shapes.py", "(a + b + c) / 4.0", "(a + b + c) / 3.0",
     "shape centroid: tetrahedron centroid (a+b+c)/3 instead of (0+a+b+c)/4", ["tests/bodies/test_shapes.py"]),
    ("M41", "comms", S + "comms/link.py", "(math.pi * diameter_m / lam_m) ** 2)", "(math.pi * diameter_m / lam_m))",
     "antenna gain: (pi D / lambda) not squared", ["tests/comms/test_link.py"]),
    ("M42", "comms", S + "comms/datavolume.py", "dl_k = dk * (t_empty - t0) + pk * (t1 - t_empty)",
     "dl_k = dk * (t_empty - t0)", "recorder: after it empties, the live downlink of new data is not counted",
     ["tests/comms/test_datavolume.py"]),
    ("M43", "comms", S + "comms/geometry.py", "LIGHT_TIME_ITERATIONS = 3", "LIGHT_TIME_ITERATIONS = 0",
     "topocentric geometry without light-time correction",
     ["tests/comms/test_geometry.py", "tests/comms/test_visibility.py"]),
    ("M44", "instruments", S + "instruments/lidar.py", "* 1e3 * self.divergence_rad", "* self.divergence_rad",
     "LIDAR footprint: range in km used as m", ["tests/instruments/test_cameras_lidar.py"]),
    ("M45", "instruments", S + "instruments/cameras.py", "math.radians(1.1), math.radians(0.82)",
     "math.radians(0.82), math.radians(1.1)", "TENGOO field of view: width and height swapped",
     ["tests/instruments/test_cameras_lidar.py"]),
    ("M46", "scenario", S + "scenario/schema.py", "cr: float = Field(1.3, ge=1, le=2,", "cr: float = Field(1.3, ge=1, le=20,",
     "SRP coefficient up to 20 accepted (bound typo)",
     ["tests/mission/test_scenario.py", "tests/mission/test_malformed.py"]),

    ("M47", "earth_return", S + "earth_return/entry.py", "mass = capsule.descent_mass_kg or capsule.mass_kg",
     "mass = capsule.mass_kg", "simulate_entry: descent mass ignored under the parachute",
     ["tests/earth_return/test_entry.py"]),
]


def _line_of(path: Path, old: str) -> int:
    text = path.read_text()
    return text[: text.index(old)].count("\n") + 1


def _first_failure(out: str) -> str:
    m = re.search(r"^FAILED (\S+)", out, re.M) or re.search(r"^ERROR (\S+)", out, re.M)
    if m:
        return m.group(1).split(" - ")[0]
    m = re.search(r"^_{3,} (\S.*?) _{3,}$", out, re.M)
    return m.group(1) if m else "?"


def run_one(mid, pkg, rel, old, new, what, tests):
    path = ROOT / rel
    text = path.read_text()
    n = text.count(old)
    if n != 1:
        return dict(id=mid, pkg=pkg, where=rel, what=what, caught="BAD", by=f"old text found {n} times", s=0.0)
    line = _line_of(path, old)
    t0 = time.time()
    try:
        path.write_text(text.replace(old, new))
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
        cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-n", "0", "--no-header", "-rfE", *tests]
        try:
            p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
            rc, out = p.returncode, p.stdout + p.stderr
        except subprocess.TimeoutExpired:
            rc, out = -1, ""
    finally:
        subprocess.run(["git", "checkout", "--", rel], cwd=ROOT, check=True)
    dt = time.time() - t0
    if rc == 1:
        caught, by = "yes", _first_failure(out)
    elif rc == -1:
        caught, by = "yes(timeout)", f"no result in {TIMEOUT_S} s"
    elif rc == 0:
        caught, by = "NO", "-"
    else:
        caught, by = f"rc={rc}", _first_failure(out)
    return dict(id=mid, pkg=pkg, where=f"{rel.removeprefix(S)}:{line}", what=what, caught=caught, by=by, s=dt)


def main(argv):
    sel = [a for a in argv if not a.startswith("-")]
    rows = [m for m in MUTATIONS if not sel or m[0] in sel]
    if "--list" in argv:
        for m in rows:
            print(f"{m[0]}  {m[1]:<12} {m[2].removeprefix(S)}  {m[5]}  -> {' '.join(m[6])}")
        return 0
    dirty = subprocess.run(["git", "status", "--porcelain", "--", *{m[2] for m in rows}], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    if dirty:
        print("refusing: uncommitted changes in\n" + dirty)
        return 2
    res = []
    for m in rows:
        r = run_one(*m)
        res.append(r)
        print(f"{r['id']} {r['caught']:<4} {r['s']:6.1f} s  {r['where']}  {r['what']}  [{r['by']}]", flush=True)
    print("\n| id | package | file:line | mutation | caught? | by | s |\n|---|---|---|---|---|---|---|")
    for r in res:
        print(f"| {r['id']} | {r['pkg']} | {r['where']} | {r['what']} | {r['caught']} | {r['by']} | {r['s']:.0f} |")
    ok = sum(r["caught"].startswith("yes") for r in res)
    print(f"\ncaught {ok}/{len(res)} = {100.0 * ok / max(len(res), 1):.0f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
