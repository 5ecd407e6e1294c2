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
