"""The default Phobos/Deimos: integrated in the force model the spacecraft feels (packaged SPK).

The acceptance checks of issue 13, item 1:
* |a_ephemeris - a_force| at Phobos < 1e-9 km/s^2 at any epoch 2026-2032, against the project's
  force code and against an independent evaluation (SPICE's IAU Mars pole, a zonal formula
  written here, the Sun from SPICE);
* a massless particle started on Phobos' state (Phobos' gravity off) stays within 1 km of the
  ephemeris Phobos over one day;
* the JPL-based checks still hold (Horizons 2024-11-28; sub-Mars longitude in IAU_PHOBOS).
"""

from __future__ import annotations

import numpy as np
import pytest

import mmxsim.ephemeris as ephem
from mmxsim.bodies import GM_MARS, GM_PHOBOS, GM_SUN, MARS_REF_RADIUS, MARS_ZONALS
from mmxsim.dynamics import DynamicsModel, MarsGravity, ThirdBody, propagate
from mmxsim.dynamics.context import Context, ParameterTable
from mmxsim.errors import CoverageError, InputError
from mmxsim.ephemeris import moons
from mmxsim.ephemeris.integrated import IntegratedMoonsEphemeris

DAY = 86400.0
DEG = np.pi / 180.0


def tdb(iso: str) -> float:
    return float((np.datetime64(iso, "ms") - np.datetime64("2000-01-01T12:00:00", "ms")) / np.timedelta64(1, "s"))


EPOCHS = np.sort(np.random.default_rng(13).uniform(tdb("2026-01-01"), tdb("2032-12-31"), 300))


def _force_code_acceleration(eph, t):
    """Mars (GM_MARS + J2..J4) + Sun at Phobos from mmxsim's own force classes (spacecraft's code)."""
    forces = [MarsGravity(4), ThirdBody("SUN")]
    model = DynamicsModel(forces=forces, ephemeris=eph)
    tracks = {"SUN": _Direct(eph, "SUN")}
    from mmxsim.dynamics.model import body_rotations

    rots = body_rotations(model)
    out = []
    for ti in np.atleast_1d(t):
        x = eph.state("PHOBOS", "MARS", ti)
        ctx = Context.numeric(ti, x, tracks, rots, ParameterTable())
        a = np.zeros(3)
        for f in forces:
            a += np.asarray(f.acceleration(ctx), float)
        out.append(a)
    return np.array(out)


class _Direct:
    kind = "direct"

    def __init__(self, eph, name):
        self.eph, self.name = eph, name

    def position(self, t):
        return self.eph.position(self.name, "MARS", t)


def _central_difference_acceleration(eph, t, h=2.0):
    """What a user measures from the printed velocities: (v(t+h) - v(t-h)) / 2h."""
    return (eph.state("PHOBOS", "MARS", t + h)[:, 3:] - eph.state("PHOBOS", "MARS", t - h)[:, 3:]) / (2 * h)


def test_acceleration_equals_the_force_model_2026_2032():
    """Tolerance 1e-9 km/s^2 (issue 13). Measured: ~1e-11 (GM_PHOBOS/r^2 = 8e-12 is the two-body
    term the spacecraft does not feel at Phobos' centre). The MAR080 theory: 1.6-1.7e-7."""
    eph = ephem.default_ephemeris()
    a_force = _force_code_acceleration(eph, EPOCHS)
    a_cheb = IntegratedMoonsEphemeris().acceleration("PHOBOS", EPOCHS)
    a_fd = _central_difference_acceleration(eph, EPOCHS)
    err_cheb = np.linalg.norm(a_cheb - a_force, axis=1).max()
    err_fd = np.linalg.norm(a_fd - a_force, axis=1).max()
    assert err_cheb < 1e-9, err_cheb
    assert err_fd < 1e-9, err_fd
    # the test can fail: the mean-element theory is off by > 1e-7 km/s^2
    theory = ephem.default_ephemeris(moons="mean_elements")
    bad = np.linalg.norm(_central_difference_acceleration(theory, EPOCHS[:20])
                         - _force_code_acceleration(theory, EPOCHS[:20]), axis=1)
    assert bad.min() > 1.0e-7, bad.min()


def _legendre_zonal_acceleration(r, pole, gm, R, J):
    """Independent zonal formula: gradient of -gm/r sum J_n (R/r)^n P_n(sin phi), by central differences
    of the potential (h = 1e-3 km); J_n unnormalised."""
    def U(x):
        rr = np.linalg.norm(x)
        s = float(x @ pole) / rr
        P = {2: 0.5 * (3 * s**2 - 1), 3: 0.5 * (5 * s**3 - 3 * s), 4: (35 * s**4 - 30 * s**2 + 3) / 8}
        return gm / rr * (1.0 - sum(J[n] * (R / rr) ** n * P[n] for n in J))

    h = 1e-3
    return np.array([(U(r + h * e) - U(r - h * e)) / (2 * h) for e in np.eye(3)])


def test_acceleration_against_an_independent_evaluation():
    """SPICE (pck00011 IAU_MARS pole, DE421 Sun) and a zonal potential written here, vs the
    ephemeris acceleration: < 1e-9 km/s^2 (the zonal finite difference is good to ~1e-12)."""
    sp = pytest.importorskip("spiceypy")
    from mmxsim._data import data_path
    from mmxsim.ephemeris.de import de421_path

    for k in (str(data_path("pck00011.tpc")), str(de421_path())):
        sp.furnsh(k)
    eph = IntegratedMoonsEphemeris()
    worst = 0.0
    for t in EPOCHS[::10]:
        r = eph.state("PHOBOS", "MARS", t)[:3]
        pole = np.asarray(sp.pxform("IAU_MARS", "J2000", t))[:, 2]
        sun = np.asarray(sp.spkpos("SUN", t, "J2000", "NONE", "MARS")[0])
        d = sun - r
        a = _legendre_zonal_acceleration(r, pole, GM_MARS, MARS_REF_RADIUS, MARS_ZONALS)
        a += GM_SUN * (d / np.linalg.norm(d) ** 3 - sun / np.linalg.norm(sun) ** 3)
        a += -GM_PHOBOS * r / np.linalg.norm(r) ** 3  # Phobos' two-body term (Mars-centred)
        worst = max(worst, float(np.linalg.norm(eph.acceleration("PHOBOS", t) - a)))
    assert worst < 1e-9, worst


@pytest.mark.parametrize("moon_model,limit", [("integrated", 1.0)])
def test_particle_on_phobos_state_stays_with_phobos(moon_model, limit):
    """A massless particle started on Phobos' state, Phobos' gravity and impact off, in the spacecraft's
    reference Mars + Sun forces: within 1 km of the ephemeris Phobos after one day (issue 13; measured
    ~0.03 km). With the MAR080 theory it drifts by > 100 km (measured ~180 km)."""
    t0 = tdb("2027-09-01")
    for model_name, bound, cmp in ((moon_model, limit, "lt"), ("mean_elements", 100.0, "gt")):
        eph = ephem.default_ephemeris(moons=model_name)
        model = DynamicsModel(forces=[MarsGravity(4), ThirdBody("SUN")], ephemeris=eph, tolerance=1e-14)
        grid = t0 + np.linspace(0.0, DAY, 97)
        p = propagate(model, t0, eph.state("PHOBOS", "MARS", t0), grid)
        d = np.linalg.norm(p.states[:, :3] - eph.position("PHOBOS", "MARS", grid), axis=1).max()
        assert (d < bound) if cmp == "lt" else (d > bound), (model_name, d)


def test_close_to_the_mar080_theory_over_the_span():
    """The fit keeps MAR080's orientation and phase. Phobos: rms < 5 km, max < 10 km over 2024-2034
    (measured rms 4.4 km, max 8.1 km: the theory's 1.1 km radial offset, short-period J2 terms).
    Deimos: rms < 12 km, max < 25 km (measured 9.2, 17.7; the theory is 13-121 km from Horizons)."""
    t = np.linspace(tdb("2024-01-02"), tdb("2033-12-30"), 4001)
    d = np.linalg.norm(ephem.default_ephemeris().position("PHOBOS", "MARS", t)
                       - moons.moon_state("PHOBOS", t)[:, :3], axis=1)
    assert np.sqrt(np.mean(d**2)) < 5.0 and d.max() < 10.0, (np.sqrt(np.mean(d**2)), d.max())
    dd = np.linalg.norm(ephem.default_ephemeris().position("DEIMOS", "MARS", t)
                        - moons.moon_state("DEIMOS", t)[:, :3], axis=1)
    assert np.sqrt(np.mean(dd**2)) < 12.0 and dd.max() < 25.0, (np.sqrt(np.mean(dd**2)), dd.max())


def test_spice_reads_the_same_file():
    """The packaged file is a standard SPK: SPICE and jplephem agree to < 1e-6 km, 1e-9 km/s."""
    sp = pytest.importorskip("spiceypy")
    from mmxsim._data import data_path

    path = str(data_path("mars_moons_integrated.bsp"))
    sp.furnsh(path)
    try:
        eph = IntegratedMoonsEphemeris()
        for t in EPOCHS[::30]:
            for body in ("PHOBOS", "DEIMOS"):
                s, _ = sp.spkezr(body, t, "J2000", "NONE", "MARS")
                mine = eph.state(body, "MARS", t)
                assert np.abs(np.asarray(s[:3]) - mine[:3]).max() < 1e-6
                assert np.abs(np.asarray(s[3:]) - mine[3:]).max() < 1e-9
    finally:
        sp.unload(path)


def test_coverage_and_bad_settings():
    eph = ephem.default_ephemeris()
    lo, hi = eph.coverage("PHOBOS")
    assert abs(lo - tdb("2024-01-01")) < 1 and abs(hi - tdb("2034-01-01")) < 1
    with pytest.raises(CoverageError) as info:
        eph.position("PHOBOS", "MARS", tdb("2040-01-01"))
    assert "2034-01-01" in str(info.value) and "PHOBOS" in str(info.value)
    with pytest.raises(InputError) as info:
        ephem.default_ephemeris(phobos_tidal=False)
    assert "mean_elements" in str(info.value)
    with pytest.raises(InputError):
        ephem.default_ephemeris(moons="jpl")
    assert ephem.default_ephemeris(phobos_tidal=False, moons="mean_elements").coverage("PHOBOS") == moons.COVERAGE


def test_phobos_phase_against_the_iau_rotation_model():
    """Independent phasing (as for the theory in test_ephemeris_moons): pck00011's prime meridian keeps
    Phobos' long axis on the mean direction to Mars, so the longitude of Mars in IAU_PHOBOS, averaged over
    one nodal period (2.26 yr, centred on 2029), must be near 0 and not drift: |mean| < 0.1 deg (measured
    +0.0234 deg; the theory +0.0243 deg over the same window), |first half - second half| < 0.05 deg
    (measured 1e-4); max |longitude| < 3.2 deg (measured 2.91: optical libration 2e = 1.73 deg + forced
    libration 1.14 deg)."""
    from mmxsim.bodies.rotation import iau_rotation

    eph = IntegratedMoonsEphemeris()
    c = tdb("2029-01-01")
    half = 2.2617 / 2 * moons.JULIAN_YEAR
    t = np.arange(c - half, c + half, 0.0517 * DAY)
    r = eph.position("PHOBOS", "MARS", t)
    d = np.einsum("nij,nj->ni", iau_rotation(401).matrix(t), -r)
    lon = np.degrees(np.arctan2(d[:, 1], d[:, 0]))
    k = t.size // 2
    assert abs(lon.mean()) < 0.1, lon.mean()
    assert abs(lon[:k].mean() - lon[k:].mean()) < 0.05, (lon[:k].mean(), lon[k:].mean())
    assert np.abs(lon).max() < 3.2, np.abs(lon).max()
