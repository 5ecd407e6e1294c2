"""Link budget (mmxsim.comms.link): closed forms, ITU-R via itur, rate selection, errors.

The first itur call loads its data maps (~3-5 s); the ITU-R tests share one process.
"""

import math

import numpy as np
import pytest

from mmxsim.bodies import AU_KM
from mmxsim.comms import link as L
from mmxsim.comms.types import Pass
from mmxsim.errors import InputError

C_M_S = 299_792_458.0  # SI exact
AU_M = 149_597_870_700.0  # IAU 2012 B2


def test_free_space_loss_1au_x_band_closed_form():
    """8.4 GHz over 1 au: 20 log10(4 pi d / lambda) in metres; hand value 274.43 dB."""
    lam = C_M_S / 8.4e9
    expect = 20 * math.log10(4 * math.pi * AU_M / lam)
    got = float(L.free_space_loss_db(AU_KM, 8.4e9))
    assert got == pytest.approx(expect, abs=1e-9)
    assert got == pytest.approx(274.43, abs=0.005)  # 4 pi * 1.4960e11 m * 8.4e9 / 2.9979e8 = 5.270e13
    # inverse square: doubling the range costs 20 log10 2 = 6.0206 dB
    d = L.free_space_loss_db(np.array([1.0, 2.0]) * AU_KM, 32e9)
    assert d[1] - d[0] == pytest.approx(6.020600, abs=1e-6)


def test_constants_and_antenna_gain():
    assert L.BOLTZMANN_DBW_PER_K_HZ == pytest.approx(-228.5991, abs=1e-4)  # 10 log10(1.380649e-23)
    # 34 m dish, 8.42 GHz, 70 % efficiency: 10 log10(0.7 (pi D / lambda)^2) = 67.99 dBi;
    # DSN 810-005 module 104 quotes ~68.2 dBi for the 34 m BWG at X band.
    g = L.antenna_gain_db(34.0, 8.42e9, 0.7)
    assert g == pytest.approx(10 * math.log10(0.7 * (math.pi * 34.0 * 8.42e9 / C_M_S) ** 2), abs=1e-9)
    assert abs(g - 68.2) < 0.5
    bt = L.BandTelecom(8.42e9, 20.0, 1.0, 0.55, pointing_loss_db=0.2, circuit_loss_db=1.0)
    assert bt.eirp_dbw == pytest.approx(10 * math.log10(20.0) + bt.antenna_gain_db - 1.2, abs=1e-12)


def test_uncoded_entry_matches_bpsk_closed_form():
    from scipy.special import erfc

    req = L.CODES["uncoded"].required_ebn0_db
    ber = 0.5 * erfc(math.sqrt(10 ** (req / 10)))
    assert ber == pytest.approx(1e-5, rel=0.03)
    assert L.uncoded_bpsk_ebn0_db(1e-5) == pytest.approx(req, abs=0.01)
    # every coded entry needs less than uncoded and more than the BPSK Shannon limit (-1.59 dB)
    for c in L.CODES.values():
        assert -1.59 < c.required_ebn0_db <= req


def test_max_rate_selection_at_the_threshold():
    req, margin, losses = 1.0, 3.0, 1.0
    exact = 10 * math.log10(65536.0) + req + margin + losses
    r = L.max_rate_bps(np.array([exact + 1e-9, exact - 1e-6, 0.0]), req, margin, losses)
    assert list(r) == [65536.0, 32768.0, 0.0]


@pytest.fixture(scope="module")
def dss55():
    return L.ground_terminal("DSS-55")


def test_itur_interpolation_vs_direct(dss55):
    """Cached grid + interpolation of A sin(el) vs itur at random elevations: < 0.03 dB and < 1 %.

    Measured (DSS-55, 400 elevations): X 99 % 0.0002 dB / 0.12 %; Ka 99 % 0.013 dB / 0.51 %.
    """
    rng = np.random.default_rng(7)
    el = rng.uniform(5.0, 90.0, 40)
    for f in (8.42e9, 32e9):
        for av in (95.0, 99.0):
            direct = L.atmospheric_attenuation_direct_db(dss55.lat_deg, dss55.lon_deg, dss55.height_km,
                                                         f, el, av, dss55.antenna_diameter_m)
            interp = L.atmospheric_attenuation_db(dss55, f, el, av)
            assert np.max(np.abs(interp - direct)) < 0.03
            assert np.max(np.abs(interp - direct) / direct) < 0.01


def test_one_value_vs_itur_called_directly(dss55):
    import warnings

    import itur

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # itur's own scintillation sqrt warning
        a = itur.atmospheric_attenuation_slant_path(40.42, -4.25, 32.0, 30.0, 1.0, 34.0, hs=0.82).value
    ours = float(L.atmospheric_attenuation_db(dss55, 32e9, 30.0, availability_pct=99.0))
    assert ours == pytest.approx(float(a), rel=0.02)
    # plausibility (ITU-R at Madrid, 99 %): Ka 30 deg a few dB, X well under 1 dB, Ka > X
    x = float(L.atmospheric_attenuation_db(dss55, 8.42e9, 30.0, availability_pct=99.0))
    assert 0.05 < x < 1.0 < ours < 10.0
    # below 5 deg: cosecant scaling of the 5 deg value
    a5 = float(L.atmospheric_attenuation_db(dss55, 8.42e9, 5.0))
    a25 = float(L.atmospheric_attenuation_db(dss55, 8.42e9, 2.5))
    assert a25 == pytest.approx(a5 * math.sin(math.radians(5)) / math.sin(math.radians(2.5)), rel=1e-12)


def test_budget_arithmetic_and_example_rate(dss55):
    sc = L.mmx_telecom_assumed()
    rng_km = np.array([1.5, 1.5, 1.5, 2.5]) * AU_KM
    el = np.array([12.0, 30.0, 80.0, 30.0])
    lb = L.link_budget(sc, "X", dss55, rng_km, el, code="turbo-1/2", availability_pct=99.0, margin_db=3.0)
    # G/T degraded by the sky noise of the attenuation: T_sys + 275 K (1 - 10^(-A/10))
    dT = 275.0 * (1 - 10 ** (-lb.atmosphere_db / 10))
    assert np.allclose(lb.g_over_t_db, 53.5 - 10 * np.log10((30.0 + dT) / 30.0), atol=1e-12)
    expect = (sc.band("X").eirp_dbw - L.free_space_loss_db(rng_km, 8.42e9) - lb.atmosphere_db
              + lb.g_over_t_db + 228.5991)
    assert np.allclose(lb.pr_n0_dbhz, expect, atol=1e-3)
    # chosen rate meets the margin; the next table rate would not
    eb = lb.pr_n0_dbhz - 1.0 - 1.0  # implementation loss 1 dB, turbo-1/2 needs 1.0 dB
    assert np.all(eb - 10 * np.log10(lb.rate_bps) >= 3.0)
    assert np.all(eb - 10 * np.log10(2 * lb.rate_bps) < 3.0)
    # rate grows with elevation and falls with range
    assert lb.rate_bps[0] <= lb.rate_bps[1] <= lb.rate_bps[2] and lb.rate_bps[3] < lb.rate_bps[1]
    # documented example (regression pin, docs/comms_link.md): 1.5 au, 30 deg, 99 %: 16 kb/s
    assert lb.rate_bps[1] == 16384.0


def test_below_mask_rate_zero_and_pass_volume(dss55):
    sc = L.mmx_telecom_assumed()
    t = np.arange(0.0, 3600.0, 60.0)
    el = np.where(t < 600.0, 5.0, 40.0)  # mask is 10 deg
    p = Pass("DSS-55", "NASA", 0.0, 3600.0, 40.0, 1800.0)
    pr = L.pass_rates(p, t, np.full(t.size, 1.0 * AU_KM), el, sc, "X", dss55)
    assert np.all(pr.rate_bps[t < 540.0] == 0.0)  # held conservatively one sample before rising
    r = pr.rate_bps[-1]
    assert r > 0 and pr.volume_bits == pytest.approx(r * (3600.0 - 600.0), rel=1e-12)
    assert pr.volume_between(1000.0, 2000.0) == pytest.approx(r * 1000.0, rel=1e-12)


def test_bad_inputs_raise_input_error(dss55):
    sc = L.mmx_telecom_assumed()
    with pytest.raises(InputError, match="station"):
        L.ground_terminal("DSS-99")
    with pytest.raises(InputError, match="elevation_mask_deg"):
        L.ground_terminal("DSS-25", elevation_mask_deg=95.0)
    with pytest.raises(InputError, match="tx_power_w"):
        L.BandTelecom(8.4e9, -1.0, 1.0, 0.5)
    with pytest.raises(InputError, match="antenna_efficiency"):
        L.BandTelecom(8.4e9, 10.0, 1.0, 1.5)
    with pytest.raises(InputError, match="availability_pct"):
        L.link_budget(sc, "X", dss55, [AU_KM], [30.0], availability_pct=30.0)
    with pytest.raises(InputError, match="code"):
        L.link_budget(sc, "X", dss55, [AU_KM], [30.0], code="turbo-9/10")
    with pytest.raises(InputError, match="band"):
        L.link_budget(sc, "S", dss55, [AU_KM], [30.0])
    with pytest.raises(InputError, match="range_km"):
        L.free_space_loss_db([-1.0], 8.4e9)
    with pytest.raises(InputError, match="Ka"):
        L.link_budget(sc, "Ka", L.ground_terminal("DSS-14"), [AU_KM], [30.0])  # 70 m: X only here
    with pytest.raises(InputError, match="elevation_deg"):
        L.link_budget(sc, "X", dss55, [AU_KM], [120.0])


def test_docstring_examples():
    import doctest

    failures, tried = doctest.testmod(L, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0 and failures == 0
