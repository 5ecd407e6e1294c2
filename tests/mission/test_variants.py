"""--quick and --phase variants of a scenario."""

from __future__ import annotations

import pytest

from mmxsim.errors import InputError
from mmxsim.scenario import parse_scenario
from mmxsim.mission.variants import QUICK_DAYS, phase_variant, quick_variant

BASE = {
    "name": "v",
    "epoch": "2027-09-01T00:00:00",
    "duration_days": 30,
    "initial_state": {"type": "qso", "radial_semi_axis_km": 50},
    "analyses": {"landing": {"samples": 1000, "seed": 3}, "qso_family": {"sizes_km": [200, 100, 50, 30]},
                 "qso_campaign": {"station_keeping_samples": 5}, "entry": {"samples": 500}, "megane": {}},
}


def test_quick_shortens_and_shrinks_but_keeps_the_rest():
    s = parse_scenario(BASE)
    q = quick_variant(s)
    assert q.duration_days == QUICK_DAYS and q.initial_state == s.initial_state and q.force_model == s.force_model
    a = q.analyses
    assert a.landing.samples == 100 and a.landing.seed == 3
    assert list(a.qso_family.sizes_km) == [200, 100, 50]
    assert a.qso_campaign.station_keeping_samples == 0
    assert a.entry.samples == 10 and a.megane.step_s == 3600 and a.megane.shape == "thomas3k"
    assert s.analyses.landing.samples == 1000  # original untouched
    short = parse_scenario({**BASE, "duration_days": 1})
    assert quick_variant(short).duration_days == 1


def test_phase_keeps_that_phases_analyses():
    s = parse_scenario(BASE)
    p = phase_variant(s, "landing and sampling")
    assert p.analyses.landing is not None and p.analyses.entry is None and p.analyses.megane is None
    p = phase_variant(s, "capsule entry and landing")
    assert p.analyses.entry is not None and p.analyses.landing is None
    with pytest.raises(InputError, match="Deimos flybys.*deimos"):
        phase_variant(s, "Deimos flybys")
    with pytest.raises(InputError, match="launch"):
        phase_variant(s, "no such phase")


def test_cli_quick_and_phase(tmp_path):
    import yaml
    from typer.testing import CliRunner

    from mmxsim.cli import app

    f = tmp_path / "s.yaml"
    f.write_text(yaml.safe_dump({**BASE, "force_model": {"phobos": {"model": "point_mass"}, "srp": {"enabled": False}},
                                 "analyses": {"sampling": {"samples": 5000}, "planetary_protection": {}}}))
    r = CliRunner().invoke(app, ["run", str(f), "--quick", "--phase", "landing and sampling", "-q",
                                 "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    import json

    d = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert list(d["analyses"]) == ["sampling"] and d["analyses"]["sampling"]["monte_carlo"]["n"] == 2000
    r = CliRunner().invoke(app, ["run", str(f), "--phase", "Deimos flybys", "-q", "--out", str(tmp_path / "p")])
    assert r.exit_code == 2 and "--phase" in r.output
