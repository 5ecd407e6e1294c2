"""The malformed-scenario corpus: every file must fail with a message that teaches.

Each file in ``malformed/`` starts with comment lines::

    # expect: <substring of the message>
    # path: <YAML path named in the message>      (optional)
    # value: <the offending value as shown>       (optional)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mmxsim.scenario import ScenarioError, load_scenario

CORPUS = Path(__file__).parent / "malformed"
FILES = sorted(CORPUS.glob("*.yaml"))


def _headers(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("# "):
            break
        key, _, val = line[2:].partition(":")
        out[key.strip()] = val.strip()
    return out


def test_corpus_is_large_enough():
    assert len(FILES) >= 20


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_malformed(path: Path):
    h = _headers(path)
    assert "expect" in h, f"{path.name} lacks a '# expect:' header"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    err = info.value
    msg = str(err)
    assert msg.startswith(f"scenario {path} is invalid:\n  - "), msg
    assert h["expect"] in msg, msg
    if "path" in h:
        assert h["path"] in msg, msg
        assert any(p.startswith(h["path"]) for p in err.paths), err.paths
    if "value" in h:
        assert h["value"] in msg, msg
    # one line per problem, no pydantic dump
    assert len(msg.splitlines()) == len(err.problems) + 1, msg
    for bad in ("pydantic", "errors.pydantic.dev", "Traceback", "Input should", "For further information"):
        assert bad not in msg, msg
    for p, _value, message in err.problems:
        assert isinstance(p, str) and p and isinstance(message, str) and message


# --- bounded work and meaningful values (issue 15 item 2) -----------------------------------------

@pytest.mark.parametrize("patch, path, needle", [
    ({"propagation": {"output_step_s": 1e-3}}, "propagation.output_step_s", "at most 1,000,000 output samples"),
    ({"propagation": {"output_step_s": 1e-6}}, "propagation.output_step_s", "at most 1,000,000 output samples"),
    ({"propagation": {"tolerance": 1e-30}}, "propagation.tolerance", "1e-16"),
    ({"initial_state": {"type": "qso", "radial_semi_axis_km": 1e12}}, "initial_state.radial_semi_axis_km", "2000"),
    ({"spacecraft": {"srp_area_m2": 1e30}}, "spacecraft.srp_area_m2", "1000"),
    ({"spacecraft": {"mass_kg": 1e-30}}, "spacecraft.mass_kg", "1"),
])
def test_absurd_values_and_unbounded_work_are_refused_at_validation(patch, path, needle):
    """The measured failures: these validated, then ran out of memory, tracebacked or gave garbage."""
    from mmxsim.scenario import ScenarioError, parse_scenario

    data = {"name": "bounds", "epoch": "2027-09-01T00:00:00", "duration_days": 1.0,
            "initial_state": {"type": "qso", "radial_semi_axis_km": 50.0}}
    for k, v in patch.items():
        data[k] = {**data.get(k, {}), **v}
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data, coverage=False)
    msg = str(info.value)
    assert path in msg and needle in msg, msg


def test_validate_explain_says_what_a_run_will_produce(tmp_path):
    """`mmxsim validate --explain`: output samples, bytes (~0.7 kB per sample, measured on the
    reference run's files) and the analyses' sizes, before anything runs."""
    from typer.testing import CliRunner

    from mmxsim.cli import app
    from mmxsim.scenario import BUILTIN_SCENARIOS, builtin_scenario, estimate_work

    assert "reference_mission" in BUILTIN_SCENARIOS
    w = estimate_work(builtin_scenario("reference_mission"))
    assert w.output_samples == 30 * 144 + 1 and w.output_bytes == w.output_samples * 700
    assert w.analyses["landing"]["samples"] == 1000 and w.analyses["sampling"]["samples"] == 20000
    f = tmp_path / "s.yaml"
    f.write_text("name: e\nepoch: '2027-09-01T00:00:00'\nduration_days: 2\n"
                 "initial_state: {type: qso, radial_semi_axis_km: 50}\npropagation: {output_step_s: 60}\n")
    r = CliRunner().invoke(app, ["validate", "--explain", str(f)])
    assert r.exit_code == 0 and "2,881 output samples" in r.output, r.output
