"""Station catalogue: loading, geodetic coordinates, plate motion, masks, user stations, bad input.

Independent references: the CSV's own lat/lon/height columns (computed by the data author from
x, y, z, not by mmxsim), textbook WGS84 formulas written out here, and Python's csv module.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from mmxsim._data import data_path
from mmxsim.comms.stations import (DEFAULT_ELEVATION_MASK_DEG, HorizonMask, geodetic_to_itrf, get_station,
                                   get_stations, load_catalogue, make_station, merge_stations)
from mmxsim.errors import InputError

A, F = 6378137.0, 1 / 298.257223563  # WGS84, m


def _rows():
    with open(data_path("ground_stations.csv"), newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_catalogue_has_every_row_and_agency():
    rows = _rows()
    cat = load_catalogue()
    assert list(cat) == [r["station"] for r in rows]
    assert {s.agency for s in cat.values()} == {"NASA DSN", "ESA ESTRACK", "JAXA"}
    # DSS-65's bands field has an unquoted comma in the shipped CSV: still parsed (X up, S/X down)
    b = get_station("DSS-65").bands
    assert set(b) == {"S", "X"} and b["S"].eirp_dbw is None and b["X"].eirp_dbw is not None
    assert "NAIF" in get_station("DSS-65").source


def test_geodetic_matches_csv_columns():
    """lat/lon/height from erfa.gc2gd on x, y, z vs the CSV columns (computed independently).

    Tolerance 2e-6 deg / 0.2 m: for ESTRACK the CSV's x, y, z were derived from lat/lon and
    rounded to 0.1 m (DSN rows agree to 1e-7 deg)."""
    for r in _rows():
        if not r["x_m"] or not r["height_m"]:
            continue
        s = get_station(r["station"])
        assert s.lat_deg == pytest.approx(float(r["lat_deg"]), abs=2e-6), r["station"]
        assert s.lon_deg == pytest.approx(float(r["lon_deg_east"]), abs=2e-6), r["station"]
        assert s.height_km * 1e3 == pytest.approx(float(r["height_m"]), abs=0.2), r["station"]


def test_geodetic_to_itrf_textbook_formula():
    for lat, lon, h in [(35.4259, -116.8895, 1001.4), (-31.05, 116.19, 235.0), (89.9, 10.0, 0.0), (0.0, 0.0, -50.0)]:
        la, lo = math.radians(lat), math.radians(lon)
        e2 = F * (2 - F)
        n = A / math.sqrt(1 - e2 * math.sin(la) ** 2)
        ref = np.array([(n + h) * math.cos(la) * math.cos(lo), (n + h) * math.cos(la) * math.sin(lo),
                        (n * (1 - e2) + h) * math.sin(la)])
        assert np.allclose(geodetic_to_itrf(lat, lon, h / 1e3) * 1e3, ref, atol=1e-6)  # 1 micrometre


def test_plate_motion_from_csv_rates():
    r = next(r for r in _rows() if r["station"] == "DSS-14")
    s = get_station("DSS-14")
    t = float(np.asarray(__import__("mmxsim.time", fromlist=["x"]).to_tdb_seconds("2028-01-01T00:00:00")))
    years = (t - s.epoch_tdb) / (365.25 * 86400)
    assert 24.9 < years < 25.1
    ref = np.array([float(r[k + "_m"]) + float(r["v" + k + "_m_per_yr"]) * years for k in "xyz"]) / 1e3
    assert np.allclose(s.position_itrf(t), ref, atol=1e-9)  # km: 1 micrometre
    assert np.linalg.norm(s.position_itrf(t) - np.array(s.itrf_km)) * 1e3 > 0.4  # it moved ~0.5 m


def test_band_defaults_are_marked_assumptions():
    for s in load_catalogue().values():
        assert s.mask.elevation_deg == (DEFAULT_ELEVATION_MASK_DEG,)
        for name, bp in s.bands.items():
            assert bp.assumed and "ASSUMPTION" in bp.source, (s.name, name)
            assert bp.g_t_db_k is not None and bp.sep_limit_deg > 0
        assert any("assumed" in a for a in s.assumptions)


def test_horizon_mask_interpolation_wraps():
    m = HorizonMask.table([10, 100, 200, 300], [5, 25, 5, 15])
    assert m.at(55.0) == pytest.approx(15.0)
    assert m.at(335.0) == pytest.approx(10.0)  # halfway from 300 (15) to 370 = 10 (5)
    assert m.at(5.0 + 360) == pytest.approx(m.at(5.0))
    assert m.max_slope == pytest.approx(20 / 90)
    assert HorizonMask.constant(6.0).at(np.array([0.0, 200.0])).tolist() == [6.0, 6.0]


def test_user_station_and_overrides():
    s = make_station("My dish", lat_deg=45.0, lon_deg=370.0 - 360.0, height_m=100.0, diameter_m=12,
                     bands={"X": {"g_t_db_k": 30.0, "eirp_dbw": 70.0}, "S": None},
                     horizon_mask={"azimuth_deg": [0, 180], "elevation_deg": [5, 20]})
    assert s.band("x").g_t_db_k == 30.0 and not s.band("X").assumed
    assert s.band("S").assumed
    assert s.mask_deg(90.0) == pytest.approx(12.5)
    cat = merge_stations([{"name": "My dish", "lat_deg": 45.0, "lon_deg": 10.0},
                          {"name": "dss-43", "elevation_mask_deg": 6.0}])
    assert "My dish" in cat
    d43 = cat["DSS-43"]
    assert d43.mask.elevation_deg == (6.0,)
    assert np.allclose(d43.itrf_km, get_station("DSS-43").itrf_km, atol=1e-12)
    assert np.allclose(d43.velocity_km_s, get_station("DSS-43").velocity_km_s, rtol=1e-12)
    assert [x.name for x in get_stations("DSS-14, mdss", cat)] == ["DSS-14", "MDSS Misasa (GREAT) 54 m"]


@pytest.mark.parametrize("call, field", [
    (lambda: get_station("DSS-99"), "station"),
    (lambda: make_station("x", lat_deg=0, lon_deg=0, elevation_mask_deg=-1), "elevation_mask_deg"),
    (lambda: make_station("x", lat_deg=0, lon_deg=0, elevation_mask_deg=90.5), "elevation_mask_deg"),
    (lambda: make_station("x", lat_deg=0, lon_deg=0, elevation_mask_deg="low"), "elevation_mask_deg"),
    (lambda: make_station("x", lat_deg=95, lon_deg=0), "lat_deg"),
    (lambda: make_station("x"), "position"),
    (lambda: make_station("x", itrf_m=[1, 2, 3]), "itrf_m"),
    (lambda: make_station("x", lat_deg=0, lon_deg=0, diameter_m=-3), "diameter_m"),
    (lambda: make_station("x", lat_deg=0, lon_deg=0, bands=["L"]), "bands"),
    (lambda: make_station("x", lat_deg=0, lon_deg=0, bands={"X": {"gain": 3}}), "bands.X"),
    (lambda: make_station("x", lat_deg=0, lon_deg=0, bands={"X": {"sep_limit_deg": -1.0}}), "sep_limit_deg"),
    (lambda: make_station("x", lat_deg=0, lon_deg=0, velocity_m_per_yr=[0, 0, 5]), "velocity_m_per_yr"),
    (lambda: make_station("x", lat_deg=0, lon_deg=0, horizon_mask={"azimuth_deg": [10, 5], "elevation_deg": [1, 2]}),
     "horizon_mask.azimuth_deg"),
    (lambda: make_station("x", lat_deg=0, lon_deg=0, horizon_mask={"azimuth_deg": [0, 5], "elevation_deg": [1, 92]}),
     "horizon_mask.elevation_deg"),
    (lambda: merge_stations([{"lat_deg": 1}]), "stations[0]"),
    (lambda: merge_stations([{"name": "DSS-14", "colour": "red"}]), "stations[0]"),
    (lambda: get_station("DSS-14").band("Ka"), "DSS-14.band"),
])
def test_bad_inputs_name_the_field(call, field):
    with pytest.raises(InputError) as e:
        call()
    assert field in e.value.field, (e.value.field, field)
    assert e.value.allowed


def test_docstring_examples():
    import doctest

    import mmxsim.comms.stations as mod

    failures, tried = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0 and failures == 0
