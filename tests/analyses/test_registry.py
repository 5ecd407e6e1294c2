"""The analyses' registry: discovery, order, and what is built from each declaration."""

from __future__ import annotations

from pathlib import Path

import pytest

import mmxsim.analyses as an
from mmxsim.analyses import Analysis, analyses_model, registry, report_warnings
from mmxsim.errors import InputError
from mmxsim.results import Section

HISTORICAL_ORDER = ["qso_family", "qso_campaign", "surface_map", "transfer", "landing", "comms", "megane", "mirs",
                    "observation", "rover", "touchdown", "sampling", "windows", "budget", "deimos", "entry",
                    "planetary_protection", "origin", "od"]


def test_builtins_in_the_historical_order_one_module_each():
    names = list(registry())
    assert names[:len(HISTORICAL_ORDER)] == HISTORICAL_ORDER
    assert list(analyses_model().model_fields) == names
    pkg = Path(an.__file__).parent
    builtins = sorted(p.stem for p in pkg.glob("[a-z]*.py"))
    assert set(HISTORICAL_ORDER) <= set(builtins) <= set(names)
    for name in builtins:
        assert registry()[name].run.__module__ == f"mmxsim.analyses.{name}"


def test_phases_and_partners_name_real_ones():
    from mmxsim.mission.timeline import reference_timeline
    from mmxsim.partners import _BASE

    phases = {p.name for p in reference_timeline()}
    table = {(p.agency, c.what) for p in _BASE for c in p.contributions}
    for name in HISTORICAL_ORDER:
        a = registry()[name]
        assert a.phases and set(a.phases) <= phases, (a.name, a.phases)
        # each names a contribution of the partners table (a typo would add a row)
        assert a.partners and set(a.partners) <= table, (a.name, a.partners)


def test_quick_settings_of_the_builtins():
    m = analyses_model()
    block = m(**{n: {} for n in HISTORICAL_ORDER})
    q = {n: registry()[n].quick_settings(getattr(block, n)) for n in HISTORICAL_ORDER}
    assert q["qso_family"] == {"sizes_km": [200.0, 100.0, 50.0]}
    assert q["qso_campaign"] == {"station_keeping_samples": 0}
    assert q["transfer"] == {"search_points": 1, "tof_max_days": 0.5}
    assert q["comms"] == {"node_limit": 1} and q["deimos"] == {} and q["planetary_protection"] == {}
    assert q["origin"] == {"trials": 200, "shape": "thomas3k"} and q["landing"] == {"samples": 100}


@pytest.mark.parametrize("key, data, text", [
    ("comms", {"zero_loss": False, "lost_bits": 2.5e9}, "science data lost (2.500 Gbit)"),
    ("touchdown", {"nominal": {"status": "tipped over"}}, "the nominal touchdown tipped over"),
    ("sampling", {"monte_carlo": {"p_total_ge_threshold": 0.5, "threshold_g": 10}}, "P(sample >= 10 g) = 0.500"),
    ("planetary_protection", {"probability": 2e-6, "cospar_threshold": 1e-6}, "probability 2e-06 at or above"),
    ("entry", {"landed": 0.0}, "the nominal capsule does not land"),
])
def test_each_analysis_warns_on_its_own_section(key, data, text):
    sec = Section(key, "T", data=data)
    (w,) = report_warnings([sec])
    assert w.startswith("T: ") and text in w
    fine = Section(key, "T", data={"zero_loss": True, "nominal": {"status": "settled"},
                                   "monte_carlo": {"p_total_ge_threshold": 0.99}, "probability": 1e-9,
                                   "cospar_threshold": 1e-6, "landed": 1.0})
    assert report_warnings([fine]) == []
    assert report_warnings([Section("unknown", "U", data=data)]) == []


def test_a_second_analysis_with_a_taken_name_is_an_error(monkeypatch):
    class EP:
        name, value = "dup", "somewhere:ANALYSIS"

        def load(self):
            return registry()["qso_family"]

    monkeypatch.setattr(an, "entry_points", lambda group: [EP()] if group == an.ENTRY_POINT_GROUP else [])
    try:
        with pytest.raises(InputError, match="one analysis per name"):
            registry(refresh=True)
        monkeypatch.setattr(an, "entry_points", lambda group: [type("E", (EP,), {"load": lambda self: 42})()])
        with pytest.raises(InputError, match="ANALYSIS"):
            registry(refresh=True)
    finally:
        monkeypatch.undo()
        assert list(registry(refresh=True))[:len(HISTORICAL_ORDER)] == HISTORICAL_ORDER


def test_the_contract_rejects_bad_declarations():
    sec = registry()["windows"]
    with pytest.raises(InputError, match="identifier"):
        Analysis("bad-name", sec.settings, sec.run, "x")
    with pytest.raises(InputError, match="pydantic"):
        Analysis("ok", dict, sec.run, "x")
    with pytest.raises(InputError, match="pairs"):
        Analysis("ok", sec.settings, sec.run, "x", partners=("JAXA",))
    assert Analysis("some_thing", sec.settings, sec.run, "x").command_name == "some-thing"
