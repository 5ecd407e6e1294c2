"""The partners table: every contribution's models and analyses are real names."""

from __future__ import annotations

import re

from mmxsim.analyses import analyses_model
from mmxsim.partners import PARTNERS, partner_status, partners_table

def test_partners_cover_the_mission_brief():
    names = [p.agency for p in PARTNERS]
    assert {"JAXA", "NASA", "ESA", "CNES", "DLR", "Australia"} <= set(names)
    text = " ".join(c.what for p in PARTNERS for c in p.contributions)
    for item in ("MEGANE", "P-Sampler", "Deep Space Network", "Ka-band", "ESTRACK", "MIRS", "IDEFIX", "Woomera",
                 "drop tower"):
        assert item in text, item


def test_models_and_analyses_exist_and_every_analysis_has_a_partner():
    fields = set(analyses_model().model_fields)
    covered = set()
    for p in PARTNERS:
        for c, st in partner_status(p):
            assert set(c.analyses) <= fields, (p.agency, c.analyses)
            covered |= set(c.analyses)
            for m, ok in st.items():
                assert ok, m
    # every analysis of a scenario shows up under a partner's system in the report's key numbers
    assert covered == fields, fields - covered
    for p in PARTNERS:
        for m in p.milestones:
            assert re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", m.date) and m.source.startswith("[")


def test_table_rows_and_cli():
    from typer.testing import CliRunner

    from mmxsim.cli import app

    rows = partners_table()
    assert len(rows) == sum(len(p.contributions) for p in PARTNERS)
    assert any("+instruments.megane" in r[2] for r in rows)
    res = CliRunner().invoke(app, ["partners"])
    assert res.exit_code == 0 and "MEGANE" in res.output
