"""SPICE backend: same states as the DE backend, kernel errors, orientation from a PCK."""

from __future__ import annotations

import numpy as np
import pytest

import mmxsim.ephemeris as ephem
from mmxsim._data import data_path
from mmxsim.bodies.rotation import iau_rotation
from mmxsim.errors import CoverageError, DataFileError
from mmxsim.ephemeris.de import DEEphemeris, de421_path

pytest.importorskip("spiceypy")

YEAR = 365.25 * 86400.0


def tdb(iso: str) -> float:
    """TDB seconds past J2000 of an ISO TDB date."""
    return float((np.datetime64(iso, "ms") - np.datetime64("2000-01-01T12:00:00", "ms")) / np.timedelta64(1, "s"))
EPOCHS = np.linspace(-50 * YEAR, 50 * YEAR, 11) + 777.0


@pytest.fixture(scope="module")
def spk():
    return ephem.spice_ephemeris([de421_path(), data_path("pck00011.tpc")])


def test_spice_backend_equals_de_backend(spk):
    """Tolerances: position < 1e-3 km, velocity < 1e-9 km/s (measured 1.2e-5 km, 1.7e-12 km/s)."""
    de = DEEphemeris()
    for tgt, ctr in [("SUN", "SSB"), ("EARTH", "MARS"), ("MARS", "SUN"), ("MOON", "EARTH"),
                     ("MARS", "SSB"), ("EARTH_BARYCENTER", "MARS_BARYCENTER")]:
        d = spk.state(tgt, ctr, EPOCHS) - de.state(tgt, ctr, EPOCHS)
        assert np.abs(d[:, :3]).max() < 1e-3, (tgt, ctr)
        assert np.abs(d[:, 3:]).max() < 1e-9, (tgt, ctr)
    assert spk.coverage("MARS") == de.coverage("MARS")
    assert spk.state("MARS", "SUN", 0.0).shape == (6,)
    assert "PHOBOS" not in spk.bodies() and "MARS" in spk.bodies()


def test_spice_coverage_error(spk):
    with pytest.raises(CoverageError) as info:
        spk.state("MARS", "SSB", tdb("1850-06-01"))
    msg = str(info.value)
    assert "MARS" in msg and "1850" in msg and "1899-07-29" in msg and "2053-10-09" in msg


def test_missing_kernel_is_data_file_error_naming_the_path(tmp_path):
    missing = tmp_path / "no_such_kernel.bsp"
    with pytest.raises(DataFileError) as info:
        ephem.spice_ephemeris([de421_path(), missing])
    assert str(missing) in str(info.value)


def test_composite_spice_planets_with_builtin_moons(spk):
    """PHOBOS from the built-in theory chained onto SPICE planets equals the default
    ephemeris (DE via jplephem) to the DE cross-backend level: < 1e-3 km, < 1e-9 km/s."""
    from mmxsim.ephemeris.moons import MarsMoonsEphemeris

    comp = ephem.composite(MarsMoonsEphemeris(), spk)
    t = EPOCHS[2:9]
    d = comp.state("PHOBOS", "EARTH", t) - ephem.default_ephemeris(moons="mean_elements").state("PHOBOS", "EARTH", t)
    assert np.abs(d[:, :3]).max() < 1e-3 and np.abs(d[:, 3:]).max() < 1e-9


def test_orientation_from_pck_matches_iau_model(spk):
    """sxform (CSPICE N0067, pck00011) vs mmxsim.bodies.rotation on the same PCK.

    Tolerances: |R - R'| < 1e-9, |dR - dR'| < 1e-9 * max|dR| (measured 1e-10 and 1e-10 rel.,
    the rounding of W ~ 1e7 deg at the span ends).
    """
    for name, naif in [("MARS", 499), ("PHOBOS", 401), ("DEIMOS", 402), ("EARTH", 399)]:
        R, dR = spk.orientation(name, EPOCHS)
        R2, dR2 = iau_rotation(naif).matrix_and_rate(EPOCHS)
        assert R.shape == (len(EPOCHS), 3, 3)
        assert np.abs(R - R2).max() < 1e-9, name
        assert np.abs(dR - dR2).max() < 1e-9 * np.abs(dR2).max(), name
    R, dR = spk.orientation("phobos", 0.0)
    assert R.shape == (3, 3) and dR.shape == (3, 3)


# --- what a kernel provides (issue 15: a kernel that provides nothing is refused) ---------------


@pytest.mark.parametrize("content", ["root:x:0:0:root:/root:/bin/bash\n", "# mmxsim\n\nA README.\n", ""])
def test_a_file_that_is_not_a_kernel_is_refused_naming_it(tmp_path, content):
    junk = tmp_path / "not_a_kernel.txt"
    junk.write_text(content)
    with pytest.raises(DataFileError) as info:
        ephem.spice_ephemeris([de421_path(), junk])
    assert str(junk) in str(info.value) and "not a SPICE kernel" in str(info.value)


def test_a_kernel_set_that_provides_nothing_used_is_refused():
    """A leap-second file alone loads fine in SPICE but gives mmxsim nothing: refused, saying what it is."""
    with pytest.raises(DataFileError) as info:
        ephem.spice_ephemeris([data_path("naif0012.tls")])
    msg = str(info.value)
    assert "naif0012.tls" in msg and "leap seconds" in msg and "provide no ephemeris" in msg


def test_contents_and_per_body_sources(spk):
    kinds = {p.name: (k, useful) for p, k, _what, useful in spk.contents}
    assert kinds[de421_path().name] == ("SPK", True) and kinds["pck00011.tpc"] == ("PCK", True)
    what = dict((p.name, w) for p, _k, w, _u in spk.contents)
    assert "MARS_BARYCENTER" in what[de421_path().name] and "PHOBOS" in what["pck00011.tpc"]
    assert spk.sources("SUN", "MARS") == [f"SPICE kernel {de421_path().name}"]
    # chained: Phobos from the built-in moons, Mars from the kernel: both named, nothing else
    from mmxsim.ephemeris.moons import MarsMoonsEphemeris

    comp = ephem.composite(MarsMoonsEphemeris(), spk)
    assert comp.sources("PHOBOS", "MARS") == [MarsMoonsEphemeris().source]
    assert comp.sources("PHOBOS", "EARTH") == [MarsMoonsEphemeris().source, f"SPICE kernel {de421_path().name}"]
    assert ephem.default_ephemeris().sources("SUN") == [f"JPL {de421_path().name} (jplephem)"]


def test_run_summary_names_each_body_source(tmp_path):
    """summary.json's metadata and the assumptions name, per body, the source actually used: with a
    SPICE kernel for the planets and the built-in moons, Sun/Earth from the kernel file, Phobos from
    the packaged integrated moons (before: 'the SPICE kernels given', whatever the kernels held)."""
    from mmxsim.mission.runner import build_model, ephemeris_sources
    from mmxsim.scenario import load_scenario
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "scenarios"
    m, _ = build_model(load_scenario(root / "spice_de.yaml"), root)
    src = ephemeris_sources(m)
    assert src["SUN"] == src["EARTH"] == ["SPICE kernel de421.bsp"]
    assert src["PHOBOS"][0].startswith("mmxsim integrated Phobos/Deimos")
