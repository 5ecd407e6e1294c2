"""Bounded YAML reading (mmxsim.yamlread): hostile documents are refused fast, with the limit named."""

from __future__ import annotations

import time

import pytest
import yaml

from mmxsim import yamlread
from mmxsim.yamlread import YamlLimitError, compose


def _compose(text, **kw):
    loader, node = compose(text, yaml.SafeLoader, "test.yaml", **kw)
    try:
        return loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()


def test_plain_documents_pass_unchanged():
    text = "name: x\nlist: [1, 2, {a: 3}]\nnested: {b: {c: [4, 5]}}\nshared: &s {k: 1}\nagain: *s\n"
    assert _compose(text) == yaml.safe_load(text)


def test_billion_laughs_is_refused_in_well_under_a_second():
    """9 levels x 9 aliases: 9**9 ~ 3.9e8 nodes once expanded (measured before: > 3.6 GB and a hang)."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    t = time.perf_counter()
    with pytest.raises(YamlLimitError, match="aliases expanded") as info:
        _compose("\n".join(lines) + "\n")
    assert time.perf_counter() - t < 1.0
    assert "at most 200000" in str(info.value)


def test_a_long_string_aliased_many_times_is_refused():
    text = "s: &s " + "x" * 100_000 + "\nl: [" + ", ".join(["*s"] * 1000) + "]\n"
    with pytest.raises(YamlLimitError, match="characters"):
        _compose(text)


@pytest.mark.parametrize("depth", [65, 5_000, 100_000])
def test_deep_nesting_is_refused_without_recursion_error(depth):
    with pytest.raises(YamlLimitError, match="nesting depth"):
        _compose("a: " + "[" * depth + "]" * depth + "\n")
    block = "".join("  " * i + f"k{i}:\n" for i in range(min(depth, 500))) + "  " * min(depth, 500) + "v: 1\n"
    with pytest.raises(YamlLimitError, match="nesting depth"):
        _compose(block)


def test_file_size_limit():
    with pytest.raises(YamlLimitError, match="file size"):
        _compose("a: " + "x" * (yamlread.MAX_BYTES + 1))
    assert _compose("a: " + "x" * 1000, max_bytes=2000) == {"a": "x" * 1000}


def test_recursive_alias_does_not_hang_the_size_check():
    loader, node = compose("a: &a [*a]\n", yaml.SafeLoader, "t.yaml")
    loader.dispose()
    assert node is not None


def test_syntax_errors_stay_pyyaml_errors_with_marks():
    with pytest.raises(yaml.MarkedYAMLError):
        _compose("a: [1, 2\nb: 3\n")


BOMB = "\n".join(['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
                 + [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]) + "\n"


def test_scenario_and_campaign_loaders_refuse_a_bomb_with_a_clear_error(tmp_path):
    """Through the real loaders: a ScenarioError naming the limit (exit 2 in the CLI), in < 1 s."""
    from mmxsim.campaign.spec import load_campaign
    from mmxsim.errors import InputError
    from mmxsim.scenario import ScenarioError, load_scenario

    f = tmp_path / "bomb.yaml"
    f.write_text("name: bomb\n" + BOMB)
    t = time.perf_counter()
    with pytest.raises(ScenarioError, match="aliases expanded"):
        load_scenario(f)
    with pytest.raises(ScenarioError, match="nesting depth"):
        load_scenario("name: deep\nx: " + "[" * 10_000 + "]" * 10_000 + "\n")
    with pytest.raises(InputError, match="aliases expanded"):
        load_campaign(f)
    assert time.perf_counter() - t < 3.0
    big = tmp_path / "big.yaml"
    big.write_bytes(b"name: big\n" + b"#" * (yamlread.MAX_BYTES + 10) + b"\n")
    with pytest.raises(ScenarioError, match="file size"):
        load_scenario(big)
