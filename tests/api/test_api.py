"""The public API (mmxsim / mmxsim.api): run, Result, overrides, Time and Quantity at the edge."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

import mmxsim
from mmxsim import api
from mmxsim.errors import InputError

#: Seconds measured by the clock (summary.json "timings_s", each analysis' "seconds"): they differ
#: from one run to the next. The integrator's step count in timings_s is compared.
WALL_CLOCK = ("setup_s", "compile_s", "propagate_s", "postprocess_s", "analyses_s")

SHORT = {"name": "api-short", "epoch": "2027-09-01T00:00:00", "duration_days": 0.25,
         "initial_state": {"type": "qso", "radial_semi_axis_km": 50.0},
         "force_model": {"phobos": {"model": "point_mass"}, "srp": {"enabled": False}},
         "propagation": {"output_step_s": 900.0}}


def _comparable(summary: dict) -> dict:
    """A summary without its wall-clock seconds and without the published folder's manifest (its
    SHA-256 of report/timings.html covers those seconds) (through JSON, as the file holds it)."""
    s = json.loads(json.dumps(summary))
    s.pop("outputs", None)
    steps = s["timings_s"].get("integrator_steps")
    assert set(s.pop("timings_s")) >= set(WALL_CLOCK)
    for sec in s.get("analyses", {}).values():
        sec.pop("seconds")
    return {**s, "integrator_steps": steps}


def test_run_gives_the_summary_of_the_cli(tmp_path):
    """`mmxsim run reference_qso` and five lines of Python: the same summary.json (but for the
    wall-clock seconds) and the same files."""
    from mmxsim.cli import app

    res = CliRunner().invoke(app, ["run", "reference_qso", "--out", str(tmp_path / "cli"), "-q"])
    assert res.exit_code == 0, res.output
    cli = json.loads((tmp_path / "cli" / "summary.json").read_text())

    import mmxsim as m

    result = m.run("reference_qso")
    summary = result.summary()
    assert _comparable(summary) == _comparable(cli)
    assert summary["samples"] == 4321 and summary["termination"] == "span completed"
    paths = result.write(tmp_path / "api")
    assert sorted(p.relative_to(tmp_path / "api").parts[0] for p in paths.values()) == \
        sorted(p.name for p in (tmp_path / "cli").iterdir())  # the report: its folder
    for name in ("timeseries.csv", "events.csv", "events.ics"):
        assert (tmp_path / "api" / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    strip = [ln for ln in (tmp_path / "api" / "trajectory.oem").read_text().splitlines() if "CREATION_DATE" not in ln]
    assert strip == [ln for ln in (tmp_path / "cli" / "trajectory.oem").read_text().splitlines()
                     if "CREATION_DATE" not in ln]
    written = json.loads((tmp_path / "api" / "summary.json").read_text())
    assert written.pop("outputs")["complete"] is True  # the manifest of the published folder
    assert written == json.loads(json.dumps(summary))


def test_time_and_quantity_inputs_give_identical_results():
    u = pytest.importorskip("astropy.units")
    from astropy.time import Time

    plain = mmxsim.run(SHORT)
    dims = mmxsim.run({**SHORT, "epoch": Time("2027-09-01T00:00:00", scale="utc"), "duration_days": 6 * u.h,
                       "initial_state": {"type": "qso", "radial_semi_axis_km": 50.0 * u.km},
                       "propagation": {"output_step_s": 15 * u.min}})
    assert dims.scenario == plain.scenario
    np.testing.assert_array_equal(dims.trajectory.t, plain.trajectory.t)  # bitwise
    np.testing.assert_array_equal(dims.trajectory.states, plain.trajectory.states)
    assert _comparable(dims.summary()) == _comparable(plain.summary())
    # overrides too, a Time in TDB for a UTC scenario included
    t_tdb = Time("2027-09-01T00:00:00", scale="utc").tdb
    over = mmxsim.load_scenario(SHORT, epoch=t_tdb, **{"initial_state.radial_semi_axis_km": 50000 * u.m})
    assert over.t0_tdb == pytest.approx(plain.scenario.t0_tdb, abs=1e-6)
    assert over.initial_state.radial_semi_axis_km == pytest.approx(50.0, rel=1e-15)


def test_time_and_quantity_in_the_domain_functions():
    u = pytest.importorskip("astropy.units")
    from astropy.time import Time

    t = Time(["2027-09-01T00:00:00", "2027-09-02T06:00:00"], scale="utc")
    secs = mmxsim.to_tdb_seconds(["2027-09-01T00:00:00", "2027-09-02T06:00:00"])
    eph = mmxsim.default_ephemeris()
    np.testing.assert_array_equal(eph.position("PHOBOS", "MARS", t), eph.position("PHOBOS", "MARS", secs))
    np.testing.assert_array_equal(eph.state("PHOBOS", "MARS", t[0]), eph.state("PHOBOS", "MARS", float(secs[0])))
    x = eph.state("PHOBOS", "MARS", secs)
    np.testing.assert_array_equal(mmxsim.from_mars_icrf("PHOBOS_HILL", t, x, eph),
                                  mmxsim.from_mars_icrf("PHOBOS_HILL", secs, x, eph))
    n = 2.28e-4
    np.testing.assert_array_equal(mmxsim.qso_hill_state(50 * u.km, n, out_of_plane_km=2000 * u.m),
                                  mmxsim.qso_hill_state(50.0, n, out_of_plane_km=2.0))
    with pytest.raises(InputError, match="radial_semi_axis_km"):
        mmxsim.qso_hill_state(50 * u.s, n)


def test_overrides_flat_dotted_nested_and_the_cli_variants():
    from mmxsim.mission.variants import phase_variant, quick_variant
    from mmxsim.scenario import builtin_scenario, scenario_to_dict

    a = mmxsim.load_scenario("reference_qso", duration_days=2, **{"propagation.output_step_s": 300})
    b = mmxsim.load_scenario("reference_qso", duration_days=2, propagation={"output_step_s": 300})
    assert a == b and a.duration_days == 2 and a.propagation.output_step_s == 300
    assert a.propagation.tolerance == builtin_scenario("reference_qso").propagation.tolerance  # merged, not replaced
    hill = mmxsim.load_scenario("reference_qso", initial_state={"type": "hill", "position_km": [-30, 0, 0],
                                                                "velocity_km_s": [0, 0.02, 0]})
    assert hill.initial_state.type == "hill"  # another kind of state replaces the block
    ref = builtin_scenario("reference_mission")
    assert scenario_to_dict(mmxsim.load_scenario(quick=True)) == scenario_to_dict(quick_variant(ref))
    assert scenario_to_dict(mmxsim.load_scenario("reference_mission", phase="QSO campaign")) == \
        scenario_to_dict(phase_variant(ref, "QSO campaign"))


def test_bad_overrides_give_the_scenario_error():
    from mmxsim.scenario import builtin_scenario, parse_scenario, scenario_to_dict

    with pytest.raises(mmxsim.ScenarioError) as exc:
        mmxsim.run("reference_qso", duration_dayz=2, **{"propagation.step_s": 1})
    # the same problems, in the same words, as a scenario file with those keys
    data = scenario_to_dict(builtin_scenario("reference_qso"))
    data["duration_dayz"] = 2
    data["propagation"]["step_s"] = 1
    with pytest.raises(mmxsim.ScenarioError) as same:
        parse_scenario(data)
    assert exc.value.problems == same.value.problems
    text = str(exc.value)
    assert "duration_dayz: unknown key (value 2); allowed keys: name, description, epoch" in text
    assert "propagation.step_s: unknown key" in text and "allowed keys: tolerance, output_step_s" in text
    with pytest.raises(mmxsim.ScenarioError, match=r"duration_days: must be > 0|duration_days"):
        mmxsim.load_scenario("reference_qso", duration_days=-1)
    u = pytest.importorskip("astropy.units")
    with pytest.raises(mmxsim.ScenarioError, match="duration_days: got the Quantity .* a number in day"):
        mmxsim.load_scenario("reference_qso", duration_days=3 * u.km)
    with pytest.raises(mmxsim.ScenarioError, match="epoch: got the Quantity"):
        mmxsim.load_scenario("reference_qso", epoch=3 * u.s)


def test_to_pandas(synthetic):
    pd = pytest.importorskip("pandas")
    from mmxsim.mission.timeline import run_events
    from mmxsim.results import Section, Table
    from mmxsim.time import iso_tdb, iso_utc

    r = api.Result.of(synthetic.make_result(n=50))
    r.sections = [Section("demo", "Demo", tables=[Table("Sizes", ("size_km", "period_h"), [(100, 7.1), (50, 7.6)]),
                                                  Table("Other", ("a",), [("x",)])])]
    f = r.to_pandas()
    ts = f.timeseries
    assert len(ts) == 50 and list(ts.columns[:3]) == ["epoch_tdb", "epoch_utc", "t_tdb_s"]
    np.testing.assert_array_equal(ts["t_tdb_s"], r.trajectory.t)
    np.testing.assert_array_equal(ts[["x_km", "y_km", "z_km", "vx_km_s", "vy_km_s", "vz_km_s"]], r.trajectory.states)
    np.testing.assert_array_equal(ts["hill_x_km"], r.hill.states[:, 0])
    np.testing.assert_array_equal(ts["distance_phobos_km"], r.distance_phobos_km)
    assert ts["epoch_tdb"].iloc[7] == pd.Timestamp(iso_tdb(r.trajectory.t[7], 6))
    assert ts["epoch_utc"].iloc[7] == pd.Timestamp(iso_utc([r.trajectory.t[7]], 6)[0], tz="UTC")
    assert str(ts["epoch_utc"].dt.tz) == "UTC" and ts["epoch_tdb"].dt.tz is None
    ev = f.events
    assert len(ev) == len(r.events) > 0 and list(ev["kind"]) == [e.kind for e in r.events]
    np.testing.assert_array_equal(ev["t_tdb_s"], [e.t for e in r.events])
    assert len(f.timeline) == len(run_events(r)) and {"start_utc", "stop_utc", "kind", "name"} <= set(f.timeline)
    (sizes, other), = [f.tables["demo"]]
    assert list(sizes.columns) == ["size_km", "period_h"] and sizes["period_h"].tolist() == [7.1, 7.6]
    assert sizes.attrs == {"caption": "Sizes", "section": "demo"} and other.attrs["caption"] == "Other"


def test_repr_html(synthetic):
    from mmxsim.results import Section

    r = api.Result.of(synthetic.make_result(n=50, name="a <b> & c"))
    r.sections = [Section("qso_family", "QSO family")]
    html = r._repr_html_()
    s = r.summary()
    assert "a &lt;b&gt; &amp; c" in html and "<b> &" not in html.replace("<b>mmxsim", "")
    for text in (s["span"]["start_tdb"], s["span"]["stop_tdb"], s["termination"], "qso_family (QSO family)",
                 f"{s['distance_phobos_km']['min']['value']:.3f} km", str(s["samples"])):
        assert text in html
    assert repr(r).startswith("<mmxsim.Result 'a <b> & c': 50 samples")


def test_every_api_name_resolves_and_import_is_cheap():
    for name in api.__all__:
        assert getattr(mmxsim, name) is getattr(api, name), name
    assert set(api.__all__) <= set(dir(mmxsim))
    code = ("import sys, mmxsim; a = sorted(m for m in ('numpy', 'heyoka', 'astropy', 'pydantic', 'pandas') "
            "if m in sys.modules); mmxsim.run; mmxsim.qso_family; b = sorted(m for m in ('heyoka', 'astropy', "
            "'pydantic', 'pandas', 'matplotlib') if m in sys.modules); print(a, b)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] []"


def test_summary_records_provenance_digest_seeds_and_versions():
    """Issue 15: summary.json names the scenario's SHA-256 (same scenario, same digest), the seeds of
    the analyses that draw random numbers, the library versions and each body's ephemeris source."""
    a, b = mmxsim.run(SHORT).summary()["metadata"], mmxsim.run(SHORT).summary()["metadata"]
    assert a["scenario_sha256"] == b["scenario_sha256"] and len(a["scenario_sha256"]) == 64
    other = mmxsim.run(SHORT, duration_days=0.2).summary()["metadata"]
    assert other["scenario_sha256"] != a["scenario_sha256"]
    assert a["seeds"] == {} and {"heyoka", "numba", "numpy", "astropy"} <= set(a["versions"])
    assert a["ephemeris_sources"]["SUN"] == ["JPL de421.bsp (jplephem)"]
    from mmxsim.mission.runner import analysis_seeds
    from mmxsim.scenario import builtin_scenario

    assert analysis_seeds(builtin_scenario("reference_mission"))["landing"] == 0
