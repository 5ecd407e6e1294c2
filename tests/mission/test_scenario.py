"""Scenario files: shipped scenarios, defaults, round trip, derived quantities, errors."""

from __future__ import annotations

import datetime as dt
import math
from importlib import resources
from pathlib import Path

import pytest

from mmxsim.bodies import GM_MARS
from mmxsim.errors import InputError
from mmxsim import scenario as sc
from mmxsim.scenario import (
    IMPACT_MODELS,
    Scenario,
    ScenarioError,
    check_coverage,
    load_scenario,
    parse_scenario,
    phobos_mean_motion,
    reference_scenario,
    scenario_to_dict,
    scenario_to_yaml,
)

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))

MINIMAL = {
    "name": "t",
    "epoch": "2027-09-01T00:00:00",
    "duration_days": 1,
    "initial_state": {"type": "qso", "radial_semi_axis_km": 50},
}


def minimal(**over):
    d = {**MINIMAL, **over}
    return {k: v for k, v in d.items() if v is not None}


# ---------------------------------------------------------------------------
# Shipped scenarios


def test_shipped_scenarios_present():
    names = {p.name for p in SHIPPED}
    assert {"reference_qso.yaml", "qso_3d.yaml", "mars_keplerian.yaml", "spice_de.yaml"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenario_loads_and_round_trips(path):
    s = load_scenario(path)
    assert isinstance(s, Scenario)
    assert s.span_s > 0
    d = scenario_to_dict(s)
    assert parse_scenario(d) == s
    assert load_scenario(scenario_to_yaml(s)) == s


@pytest.mark.parametrize("name", ["reference_qso", "reference_mission"])
def test_packaged_builtins_are_the_shipped_files(name):
    from mmxsim.scenario import BUILTIN_SCENARIOS, builtin_scenario

    assert name in BUILTIN_SCENARIOS
    packaged = resources.files("mmxsim").joinpath("scenarios", f"{name}.yaml").read_bytes()
    assert packaged == (ROOT / "scenarios" / f"{name}.yaml").read_bytes()
    assert builtin_scenario(name) == load_scenario(ROOT / "scenarios" / f"{name}.yaml")


def test_unknown_builtin_names_the_choices():
    from mmxsim.scenario import builtin_scenario

    with pytest.raises(InputError, match="reference_mission, reference_qso"):
        builtin_scenario("reference")


def test_reference_scenario():
    s = reference_scenario()
    assert s == load_scenario(ROOT / "scenarios" / "reference_qso.yaml")
    assert s.name == "reference-qso"
    assert "ASSUMPTION" in s.description
    assert s.epoch == "2027-09-01T00:00:00" and s.time_scale == "UTC"
    assert s.duration_days == 30 and s.stop is None
    st = s.initial_state
    assert st.type == "qso" and st.radial_semi_axis_km == 50 and st.out_of_plane_km == 0
    fm = s.force_model
    assert fm.mars.degree == 4
    assert (fm.phobos.model, fm.phobos.degree) == ("harmonics", 8)
    assert fm.third_bodies == ("SUN", "EARTH", "DEIMOS")
    assert fm.srp.enabled and fm.srp.shadows == ("MARS", "PHOBOS")
    assert s.propagation.tolerance == 1e-12 and s.propagation.output_step_s == 600
    assert s.events.impact == "shape" and s.events.shape_model == "ernst"
    assert s.events.eclipses and s.events.max_distance_km is None
    assert s.ephemeris.backend == "builtin" and s.ephemeris.kernels == ()
    assert s.ephemeris.phobos_tidal_acceleration
    assert s.outputs.oem and s.outputs.timeseries == "csv" and s.outputs.report
    assert s.spacecraft.mass_kg == 2000 and s.spacecraft.srp_area_m2 == 20 and s.spacecraft.cr == 1.3


def test_defaults_are_the_reference_run():
    ref = reference_scenario()
    d = {"name": ref.name, "description": ref.description, "epoch": ref.epoch, "duration_days": 30,
         "initial_state": {"type": "qso", "radial_semi_axis_km": 50, "design": "corrected"}}
    assert parse_scenario(d) == ref


def test_mass_description_flags_assumption():
    assert "ASSUMPTION" in sc.Spacecraft.model_fields["mass_kg"].description


def test_reference_qso_is_the_hill_state():
    n = phobos_mean_motion()
    assert n == pytest.approx(2 * math.pi / (0.31891023 * 86400), rel=1e-4)
    x, y, z, vx, vy, vz = reference_scenario().initial_state.hill_state()
    assert (x, y, z, vx, vz) == (-50.0, 0.0, 0.0, 0.0, 0.0)
    assert vy == pytest.approx(2 * n * 50)
    assert vy == pytest.approx(0.0228, abs=5e-5)


def test_qso_out_of_plane():
    s = parse_scenario(minimal(initial_state={"type": "qso", "radial_semi_axis_km": 50,
                                              "out_of_plane_km": 20, "phase_deg": 90}))
    x, y, z, vx, vy, vz = s.initial_state.hill_state(n_rad_s=1e-4)
    assert z == pytest.approx(20) and vz == pytest.approx(0, abs=1e-15)
    s0 = parse_scenario(minimal(initial_state={"type": "qso", "radial_semi_axis_km": 50, "out_of_plane_km": 20}))
    assert s0.initial_state.hill_state(1e-4)[5] == pytest.approx(20e-4)


def test_keplerian_to_cartesian():
    s = load_scenario(ROOT / "scenarios" / "mars_keplerian.yaml")
    st = s.initial_state
    r, v = st.to_cartesian()
    assert math.dist(r, (0, 0, 0)) == pytest.approx(20000 * (1 - 0.3))
    assert math.dist(v, (0, 0, 0)) == pytest.approx(math.sqrt(GM_MARS * (2 / 14000 - 1 / 20000)))
    # angular momentum inclined by 30 deg
    h = (r[1] * v[2] - r[2] * v[1], r[2] * v[0] - r[0] * v[2], r[0] * v[1] - r[1] * v[0])
    assert math.degrees(math.acos(h[2] / math.dist(h, (0, 0, 0)))) == pytest.approx(30)
    assert s.force_model.phobos.model == "point_mass" and s.force_model.phobos.degree is None


# ---------------------------------------------------------------------------
# Round trip and variants


VARIANTS = [
    minimal(initial_state={"type": "hill", "position_km": [-30, 5, 1], "velocity_km_s": [0, 0.0137, 0]}),
    minimal(initial_state={"type": "cartesian", "frame": "PHOBOS_FIXED", "center": "PHOBOS",
                           "position_km": [30, 0, 0], "velocity_km_s": [0, 0.001, 0]}),
    minimal(initial_state={"type": "keplerian", "frame": "MARS_EQUATOR", "a_km": 9400, "e": 0.0,
                           "i_deg": 1.1, "raan_deg": 10, "argp_deg": 20, "true_anomaly_deg": 30},
            force_model={"mars": {"degree": 0}, "phobos": {"model": "none"}, "third_bodies": [],
                         "srp": {"enabled": False, "shadows": []}},
            events={"impact": "none", "eclipses": False}),
    minimal(duration_days=None, stop="2027-09-03T12:00:00", time_scale="TDB",
            events={"max_distance_km": 200}, outputs={"timeseries": "none", "oem": False}),
    minimal(ephemeris={"backend": "spice", "kernels": ["builtin:de421", "builtin:naif0012.tls"],
                       "moons": "mean_elements", "phobos_tidal_acceleration": False}),
]


@pytest.mark.parametrize("data", VARIANTS)
def test_round_trip(data):
    s = parse_scenario(data)
    d = scenario_to_dict(s)
    assert parse_scenario(d) == s
    assert scenario_to_dict(parse_scenario(d)) == d
    assert load_scenario(scenario_to_yaml(s)) == s


def test_scenario_is_frozen():
    s = reference_scenario()
    with pytest.raises(Exception):
        s.name = "other"  # type: ignore[misc]


# ---------------------------------------------------------------------------
# Epochs


def test_t0_t1_tdb():
    s = parse_scenario(minimal(epoch="2000-01-01T12:00:00", time_scale="TDB", duration_days=2,
                               ephemeris={"moons": "mean_elements"}))  # 2000: before the integrated moons
    assert s.t0_tdb == pytest.approx(0.0, abs=1e-6)
    assert s.t1_tdb == pytest.approx(2 * 86400.0, abs=1e-6)
    u = parse_scenario(minimal(epoch="2027-09-01T00:00:00"))
    t = parse_scenario(minimal(epoch="2027-09-01T00:00:00", time_scale="TT"))
    assert u.t0_tdb - t.t0_tdb == pytest.approx(69.184, abs=2e-3)  # TT - UTC (37 leap s + 32.184 s)


def test_stop_instead_of_duration():
    s = parse_scenario(minimal(duration_days=None, stop="2027-09-11T00:00:00"))
    assert s.span_days == pytest.approx(10.0)
    assert s.t1_tdb - s.t0_tdb == pytest.approx(10 * 86400.0)


def test_unquoted_epoch_stays_text_and_datetime_accepted():
    text = ("name: t\nepoch: 2027-09-01T00:00:00\nduration_days: 1\n"
            "initial_state: {type: qso, radial_semi_axis_km: 50}\n")
    assert load_scenario(text).epoch == "2027-09-01T00:00:00"
    s = parse_scenario(minimal(epoch=dt.datetime(2027, 9, 1), stop=dt.date(2027, 9, 2), duration_days=None))
    assert (s.epoch, s.stop) == ("2027-09-01T00:00:00", "2027-09-02")


# ---------------------------------------------------------------------------
# Kernels


def test_builtin_kernel_aliases_resolve():
    s = load_scenario(ROOT / "scenarios" / "spice_de.yaml")
    assert s.ephemeris.kernels == ("builtin:de421", "builtin:naif0012.tls", "builtin:pck00011.tpc")
    paths = s.ephemeris.kernel_paths()
    assert [p.name for p in paths] == ["de421.bsp", "naif0012.tls", "pck00011.tpc"]
    assert all(p.is_file() for p in paths)


def test_relative_kernels_resolve_against_scenario_folder(tmp_path, monkeypatch):
    (tmp_path / "k").mkdir()
    (tmp_path / "k" / "mine.bsp").write_bytes(b"x")
    f = tmp_path / "s.yaml"
    f.write_text("name: t\nepoch: '2027-09-01T00:00:00'\nduration_days: 1\n"
                 "initial_state: {type: qso, radial_semi_axis_km: 50}\n"
                 "ephemeris: {backend: spice, kernels: [k/mine.bsp]}\n")
    monkeypatch.chdir("/")
    s = load_scenario(f)
    assert s.ephemeris.kernels == (str(tmp_path / "k" / "mine.bsp"),)
    assert s.ephemeris.kernel_paths() == [tmp_path / "k" / "mine.bsp"]
    assert parse_scenario(scenario_to_dict(s)) == s  # absolute after loading: echo is portable


# ---------------------------------------------------------------------------
# Registry


def test_impact_registry_is_extensible():
    with pytest.raises(ScenarioError, match="events.impact: got 'mesh'"):
        parse_scenario(minimal(events={"impact": "mesh"}))
    IMPACT_MODELS.add("mesh")
    try:
        assert parse_scenario(minimal(events={"impact": "mesh"})).events.impact == "mesh"
    finally:
        IMPACT_MODELS.discard("mesh")


# ---------------------------------------------------------------------------
# Errors


def test_error_message_format():
    data = minimal(initial_state={"type": "cartesian", "frame": "FOO", "position_km": [9400, 0, 0],
                                  "velocity_km_s": [0, 2, 0]})
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data, source="my.yaml")
    err = info.value
    assert str(err) == ("scenario my.yaml is invalid:\n"
                        "  - initial_state.frame: got 'FOO'; allowed: ICRF, MARS_FIXED, PHOBOS_FIXED, PHOBOS_HILL")
    assert err.problems == [("initial_state.frame", "FOO",
                             "got 'FOO'; allowed: ICRF, MARS_FIXED, PHOBOS_FIXED, PHOBOS_HILL")]
    assert isinstance(err, sc.MmxsimError)


def test_all_problems_reported_at_once_with_lines():
    text = ("name: t\nepoch: '2027-09-01T00:00:00'\nduration_days: -1\n"
            "initial_state:\n  type: hill\n  position_km: [1, 2]\n  velocity_km_s: [0, 0, .inf]\n"
            "spacecraft: {mass_kg: 0, color: red}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(text, source="inline")
    err = info.value
    assert set(err.paths) == {"duration_days", "initial_state.position_km", "initial_state.velocity_km_s[2]",
                              "spacecraft.mass_kg", "spacecraft.color"}
    msg = str(err)
    assert "duration_days: got -1; allowed: a span in days, 0 < duration_days <= 3650 [line 3]" in msg
    assert "spacecraft.color: unknown key (value 'red'); allowed keys: mass_kg, srp_area_m2, cr [line 8]" in msg
    assert "initial_state.velocity_km_s[2]: got inf" in msg


def test_missing_file():
    with pytest.raises(ScenarioError, match="no such file: '/no/such/scenario.yaml'"):
        load_scenario("/no/such/scenario.yaml")


def test_directory_is_not_a_scenario(tmp_path):
    with pytest.raises(ScenarioError, match="is not a file"):
        load_scenario(tmp_path)


def test_yaml_syntax_error_has_line_and_column():
    with pytest.raises(ScenarioError) as info:
        load_scenario("name: t\nepoch: [1\n", source="x.yaml")
    (path, _value, message), = info.value.problems
    assert path.startswith("line ") and ", column " in path
    assert "YAML syntax error" in message


def test_parse_non_mapping():
    for bad in ([1, 2], "text", None, 3):
        with pytest.raises(ScenarioError, match="<top level>"):
            parse_scenario(bad)


def test_direct_model_errors_stay_pydantic_but_readable():
    # Building a Scenario directly (not via parse_scenario) still validates cross-field rules.
    with pytest.raises(Exception) as info:
        Scenario(**minimal(duration_days=None))
    assert "duration_days" in str(info.value)


# ---------------------------------------------------------------------------
# Coverage


class _FakeEphemeris:
    def __init__(self, spans):
        self.spans = spans
        self.asked = []

    def coverage(self, body):
        self.asked.append(body)
        return self.spans[body]


def test_bodies_used():
    s = parse_scenario(VARIANTS[2])  # Keplerian, no Phobos, no third bodies, no SRP, no events
    assert s.bodies_used() == ["MARS"]
    assert reference_scenario().bodies_used() == ["MARS", "SUN", "EARTH", "PHOBOS", "DEIMOS"]


def test_check_coverage_with_given_ephemeris():
    s = parse_scenario(minimal(force_model={"third_bodies": ["SUN"]}), coverage=False)
    wide = (-3e9, 3e9)
    eph = _FakeEphemeris({"MARS": wide, "SUN": wide, "PHOBOS": (-1e9, s.t0_tdb + 3600.0), "EARTH": wide})
    with pytest.raises(ScenarioError) as info:
        check_coverage(s, eph)
    assert "DEIMOS" not in eph.asked and "EARTH" not in eph.asked
    (path, value, message), = info.value.problems
    assert path == "duration_days" and value == 1
    assert "PHOBOS" in message and "TDB" in message
    eph2 = _FakeEphemeris({"MARS": (s.t0_tdb + 1, 3e9), "SUN": wide, "PHOBOS": wide})
    with pytest.raises(ScenarioError, match=r"epoch: got '2027-09-01T00:00:00'; allowed: an epoch the ephemeris "
                                            r"covers for MARS"):
        check_coverage(s, eph2)


def _real_default_ephemeris():
    try:
        from mmxsim.ephemeris import default_ephemeris  # noqa: F401
    except ImportError:
        pytest.skip("mmxsim.ephemeris.default_ephemeris not available yet")


def test_check_coverage_with_default_ephemeris():
    _real_default_ephemeris()
    check_coverage(reference_scenario())
    late = parse_scenario(minimal(epoch="2070-01-01T00:00:00"), coverage=False)
    with pytest.raises(ScenarioError, match="epoch: got '2070-01-01T00:00:00'"):
        check_coverage(late)


def test_coverage_checked_on_load_for_builtin_backend():
    with pytest.raises(ScenarioError, match="covers"):
        parse_scenario(minimal(epoch="2070-01-01T00:00:00"))
    assert parse_scenario(minimal(epoch="2070-01-01T00:00:00"), coverage=False).epoch.startswith("2070")


def test_outputs_block_switches_spk_czml_and_events(tmp_path):
    """`outputs: {spk, czml, events}` of a scenario decide what `mmxsim run` writes."""
    import yaml
    from typer.testing import CliRunner

    from mmxsim.cli import app

    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump({"name": "out", "epoch": "2027-09-01T00:00:00", "duration_days": 0.1,
                                 "initial_state": {"type": "qso", "radial_semi_axis_km": 50},
                                 "force_model": {"phobos": {"model": "point_mass"}, "srp": {"enabled": False}},
                                 "outputs": {"spk": True, "czml": True, "events": False, "report": False}}))
    r = CliRunner().invoke(app, ["run", str(f), "-q", "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    names = {p.name for p in (tmp_path / "o").iterdir()}
    assert {"trajectory.bsp", "trajectory.czml", "trajectory.oem", "summary.json"} <= names
    assert "events.csv" not in names and "report" not in names


def test_the_repository_copies_of_the_builtin_scenarios_equal_the_package_data():
    from mmxsim.scenario import BUILTIN_SCENARIOS

    pkg = Path(sc.__file__).parents[1] / "scenarios"
    for name in BUILTIN_SCENARIOS:
        assert (ROOT / "scenarios" / f"{name}.yaml").read_bytes() == (pkg / f"{name}.yaml").read_bytes(), name
