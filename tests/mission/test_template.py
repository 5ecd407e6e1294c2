"""scenarios/reference_qso.yaml is the annotated template: its packaged copy is byte-identical, and its
``outputs`` block names every field of the schema's ``Outputs`` with a comment (a new output key that
is not documented there fails this test)."""

from __future__ import annotations

from pathlib import Path

import yaml

from mmxsim.scenario.schema import Outputs, Scenario

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "scenarios" / "reference_qso.yaml"


def test_packaged_copy_is_identical():
    assert (ROOT / "src" / "mmxsim" / "scenarios" / "reference_qso.yaml").read_bytes() == TEMPLATE.read_bytes()


def _outputs_lines(text: str) -> dict[str, str]:
    """key -> its line, for the lines of the top-level ``outputs:`` block."""
    out, inside = {}, False
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            inside = line.split(":")[0] == "outputs"
            continue
        if inside:
            out[line.split(":")[0].strip()] = line
    return out


def test_template_lists_every_output_key_with_a_comment():
    text = TEMPLATE.read_text(encoding="utf-8")
    lines = _outputs_lines(text)
    fields = set(Outputs.model_fields)
    assert fields and set(lines) == fields, f"missing: {sorted(fields - set(lines))}; unknown: {sorted(set(lines) - fields)}"
    for key, line in lines.items():
        assert "#" in line and line.split("#", 1)[1].strip(), f"outputs.{key} has no comment"
    # each value is the schema default, as the file's header says
    given = yaml.safe_load(text)["outputs"]
    assert given == Outputs().model_dump(), given
    assert Scenario.model_validate(yaml.safe_load(text)).outputs == Outputs()


def test_outputs_parser_sees_a_missing_key():
    text = "name: x\noutputs:   # files\n  oem: true  # the OEM\n  report: true # r\nspacecraft:\n  mass_kg: 1\n"
    assert set(_outputs_lines(text)) == {"oem", "report"}
