"""DE421 backend (jplephem) and the public API: accuracy vs SPICE, errors, chaining, import cost."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import mmxsim.ephemeris as ephem
from mmxsim.errors import CoverageError, InputError
from mmxsim.ephemeris.de import DEEphemeris, de421_path

YEAR = 365.25 * 86400.0


def tdb(iso: str) -> float:
    """TDB seconds past J2000 of an ISO TDB date."""
    return float((np.datetime64(iso, "ms") - np.datetime64("2000-01-01T12:00:00", "ms")) / np.timedelta64(1, "s"))
# 1950 .. 2050 in 13 epochs (not round numbers: hit arbitrary Chebyshev granules)
EPOCHS = np.linspace(-50 * YEAR, 50 * YEAR, 13) + 12345.678
PAIRS = [
    ("SUN", "SSB"), ("EARTH", "SSB"), ("MARS", "SSB"),
    ("SUN", "MARS"), ("EARTH", "MARS"), ("MARS", "EARTH"), ("SUN", "EARTH"),
    ("MOON", "EARTH"), ("MARS_BARYCENTER", "SUN"), ("MARS", "MARS_BARYCENTER"),
]


@pytest.fixture(scope="module")
def de():
    return DEEphemeris()


def test_de421_matches_spiceypy_on_same_kernel(de):
    """Our jplephem reader vs CSPICE spkezr on the same de421.bsp.

    Tolerances: position < 1e-3 km (1 m), velocity < 1e-9 km/s.  Measured: 1.2e-5 km and
    1.7e-12 km/s (both are Chebyshev evaluations of the same coefficients).
    """
    sp = pytest.importorskip("spiceypy")
    sp.furnsh(str(de421_path()))
    worst_p = worst_v = 0.0
    for tgt, ctr in PAIRS:
        ref, _lt = sp.spkezr(str(ephem.NAME_TO_ID[tgt]), EPOCHS, "J2000", "NONE", str(ephem.NAME_TO_ID[ctr]))
        got = de.state(tgt, ctr, EPOCHS)
        dp = np.abs(got[:, :3] - np.asarray(ref)[:, :3]).max()
        dv = np.abs(got[:, 3:] - np.asarray(ref)[:, 3:]).max()
        worst_p, worst_v = max(worst_p, dp), max(worst_v, dv)
        assert dp < 1e-3, (tgt, ctr, dp)
        assert dv < 1e-9, (tgt, ctr, dv)
    print(f"DE421 jplephem vs spkezr: max |dr| = {worst_p:.2e} km, max |dv| = {worst_v:.2e} km/s")


def test_scalar_and_vector_shapes(de):
    s = de.state("mars", "sun", 0.0)  # case-insensitive
    assert s.shape == (6,)
    assert de.state("MARS", "SUN", [0.0]).shape == (1, 6)
    assert de.position("MARS", "SUN", EPOCHS).shape == (len(EPOCHS), 3)
    # vectorised result equals per-epoch results (exactly)
    v = de.state("EARTH", "MARS", EPOCHS)
    assert np.array_equal(v[3], de.state("EARTH", "MARS", EPOCHS[3]))


def test_antisymmetry_and_chaining():
    """Composite chaining through SSB/MARS: r(A,C) = r(A,B) + r(B,C), r(A,B) = -r(B,A).

    Tolerance 1e-6 km (rounding of sums of ~1e8 km vectors). Epochs 1975-2050: the mean-element moons.
    """
    eph = ephem.default_ephemeris(moons="mean_elements")
    t = EPOCHS[3:10]
    a = eph.state("PHOBOS", "EARTH", t)
    b = eph.state("PHOBOS", "MARS", t) + eph.state("MARS", "EARTH", t)
    assert np.abs(a - b).max() < 1e-6
    assert np.abs(eph.state("SUN", "PHOBOS", t) + eph.state("PHOBOS", "SUN", t)).max() < 1e-6
    assert np.all(eph.state("MARS", "MARS", t) == 0.0)


def test_coverage_error_for_mars_in_1850_names_body_epoch_span(de):
    t = tdb("1850-06-01")
    with pytest.raises(CoverageError) as info:
        ephem.default_ephemeris().state("MARS", "SSB", [0.0, t])
    msg = str(info.value)
    assert "MARS" in msg and "1850" in msg
    assert "1899-07-29" in msg and "2053-10-09" in msg  # the covered span
    assert info.value.body == "MARS"
    lo, hi = de.coverage("MARS")
    assert lo < -50 * YEAR and hi > 50 * YEAR


def test_unknown_body_lists_allowed_bodies():
    eph = ephem.default_ephemeris()
    with pytest.raises(InputError) as info:
        eph.state("VULCAN", "SUN", 0.0)
    msg = str(info.value)
    assert "VULCAN" in msg
    for name in ("SSB", "SUN", "EARTH", "MOON", "MARS", "PHOBOS", "DEIMOS", "MARS_BARYCENTER"):
        assert name in msg
    with pytest.raises(InputError):
        eph.position("MARS", "NOWHERE", 0.0)


def test_bad_epochs_are_input_errors():
    eph = ephem.default_ephemeris()
    with pytest.raises(InputError):
        eph.state("MARS", "SUN", np.zeros((2, 2)))
    with pytest.raises(InputError):
        eph.state("MARS", "SUN", np.nan)


def test_default_ephemeris_is_cached_and_complete():
    a = ephem.default_ephemeris()
    assert a is ephem.default_ephemeris()
    assert isinstance(a, ephem.Ephemeris)
    assert {"SSB", "SUN", "EARTH", "MOON", "EARTH_BARYCENTER", "MARS", "MARS_BARYCENTER",
            "PHOBOS", "DEIMOS", "JUPITER_BARYCENTER"} <= a.bodies()
    assert ephem.default_ephemeris(phobos_tidal=False, moons="mean_elements") is not a
    assert ephem.default_ephemeris(moons="mean_elements") is not a


def test_import_is_light():
    """``import mmxsim.ephemeris`` must not pull in jplephem, spiceypy, heyoka or astropy."""
    code = ("import sys, mmxsim.ephemeris; "
            "print(','.join(m for m in ('jplephem','spiceypy','heyoka','astropy','scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
