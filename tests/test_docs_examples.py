"""The documentation's examples run.

* Every ```python block of every page is either executed here (the blocks of a page in order, in one
  namespace, in a temporary working directory) or marked, on the line before it, with an HTML
  comment ``<!-- not executed: why -->`` (an API synopsis whose variables are the reader's, a
  signature). A new unmarked block on a page that is not run fails ``test_every_block_is_run_or_marked``.
* Pages whose examples take more than a few seconds run under ``-m slow``; geodesy.md's run in
  tests/navigation/test_literature.py.
* Every ``mmxsim ...`` command line in a shell or text block of the docs and the README names a real
  command, options that command has, and scenario files that exist (checked with the CLI's own
  parser; nothing is run).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

#: executed by default (each well under 10 s)
PAGES = ["howto.md", "tutorial.md", "adding_an_analysis.md", "navigation.md", "design.md"]
#: executed by another test file, which names the page
ELSEWHERE = {"geodesy.md": "tests/navigation/test_literature.py"}
#: executed with -m slow (measured on a 2-core machine: comms 6 s, descent 19 s, earth_return 22 s,
#: megane 26 s, qso 4 s, rover 69 s with the numba compile)
SLOW_PAGES = ["comms.md", "descent.md", "earth_return.md", "megane.md", "qso.md", "rover.md"]
#: pages whose blocks are not classified (none)
UNCLASSIFIED: set[str] = set()

_BLOCK = re.compile(r"^```python\n(.*?)^```", flags=re.S | re.M)
_MARK = re.compile(r"<!--\s*not executed:[^>]*-->\s*$")


def blocks(page: str) -> list[tuple[str, bool]]:
    """(code, marked not-executed) for each python block of ``page``."""
    text = (DOCS / page).read_text(encoding="utf-8")
    out = []
    for m in _BLOCK.finditer(text):
        before = text[:m.start()].rstrip().rsplit("\n", 1)[-1]
        out.append((m.group(1), bool(_MARK.search(before))))
    return out


def _run_page(page, tmp_path, monkeypatch, capsys, must_print=True):
    code = [(i, c) for i, (c, marked) in enumerate(blocks(page)) if not marked]
    assert code, f"{page} has no executed python examples"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    ns: dict = {"__name__": f"docs_{page}"}
    for i, src in code:  # i: the block's place on the page, marked blocks included
        try:
            exec(compile(src, f"{page}[block {i + 1}]", "exec"), ns)
        except Exception as exc:  # report which block broke
            raise AssertionError(f"{page} block {i + 1} failed: {exc!r}\n{src}") from exc
    if must_print:  # the tutorial-style pages print what they show
        assert capsys.readouterr().out.strip()


@pytest.mark.parametrize("page", PAGES)
def test_page_examples_run(page, tmp_path, monkeypatch, capsys):
    _run_page(page, tmp_path, monkeypatch, capsys)


@pytest.mark.slow
@pytest.mark.parametrize("page", SLOW_PAGES)
def test_slow_page_examples_run(page, tmp_path, monkeypatch, capsys):
    _run_page(page, tmp_path, monkeypatch, capsys, must_print=False)  # API pages show calls, not prints


def test_every_block_is_run_or_marked():
    for page, test in ELSEWHERE.items():
        assert f"docs/{page}" in (ROOT / test).read_text(encoding="utf-8"), (page, test)
    run = set(PAGES) | set(SLOW_PAGES) | set(ELSEWHERE)
    for page in sorted(p.name for p in DOCS.glob("*.md")):
        if page in run or page in UNCLASSIFIED:
            continue
        unmarked = [i + 1 for i, (_, marked) in enumerate(blocks(page)) if not marked]
        assert not unmarked, f"{page}: python blocks {unmarked} are neither executed (PAGES) nor marked"
    for page in run:  # a page that is run has at least one block that runs
        assert any(not marked for _, marked in blocks(page)), page


def test_block_marker_parser():
    text = "a\n\n<!-- not executed: synopsis -->\n\n```python\nx = 1\n```\n\n```python\ny = 2\n```\n"
    found = [(m.group(1), bool(_MARK.search(text[:m.start()].rstrip().rsplit("\n", 1)[-1])))
             for m in _BLOCK.finditer(text)]
    assert found == [("x = 1\n", True), ("y = 2\n", False)]


# --- shell examples ------------------------------------------------------------------------------

def command_lines() -> list[tuple[str, str]]:
    """(file, command line) for each ``mmxsim ...`` line of a non-Python code block in the docs and
    the README; ``$ `` prompts, ``pip install . &&`` prefixes and trailing comments removed."""
    out = []
    for f in [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]:
        for lang, body in re.findall(r"^```(\w*)\n(.*?)^```", f.read_text(encoding="utf-8"), flags=re.S | re.M):
            if lang in ("python", "yaml", "toml", "json"):
                continue
            for line in body.splitlines():
                s = line.strip().removeprefix("$ ")
                s = re.sub(r"^pip install \S+ &&\s*", "", s)
                if re.match(r"mmxsim(\s|$)", s):
                    out.append((f.name, re.split(r"\s+#", s, maxsplit=1)[0].strip()))
    return out


def line_problem(group, line: str) -> str | None:
    """Why the command line ``line`` does not fit the CLI ``group`` (a click group), or None."""
    words = shlex.split(line.replace("[", " ").replace("]", " "))[1:]
    if not words or words[0].startswith("-"):  # options of mmxsim itself (--help)
        opts = {o for p in group.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
        bad = [w for w in words if w.startswith("-") and w not in opts]
        return f"mmxsim has no option {bad[0]}" if bad else None
    name = words[0]
    if name not in group.commands:
        return f"no command {name!r}"
    cmd = group.commands[name]
    opts = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
    for w in words[1:]:
        if w.startswith("-") and w.split("=")[0] not in opts:
            return f"{name} has no option {w}"
        if w.startswith("scenarios/") and w.endswith(".yaml") and not (ROOT / w).is_file():
            return f"no file {w}"
    return None


def test_docs_command_lines_name_real_commands_and_options():
    pytest.importorskip("typer")
    from typer.main import get_command

    from mmxsim.cli import app

    group = get_command(app)
    lines = command_lines()
    assert len(lines) > 20 and any(f == "README.md" for f, _ in lines)
    problems = [f"{where}: `{line}`: {why}" for where, line in lines if (why := line_problem(group, line))]
    assert not problems, "\n".join(problems)
    # the check itself finds what is wrong
    assert "no command" in line_problem(group, "mmxsim no-such-command")
    assert "has no option --no-such-flag" in line_problem(group, "mmxsim run --quick --no-such-flag")
    assert "no file" in line_problem(group, "mmxsim run scenarios/no_such.yaml")
    assert line_problem(group, 'mmxsim run --phase "landing and sampling"') is None


# --- scenario fragments --------------------------------------------------------------------------

def test_docs_analyses_blocks_validate():
    """Every ```yaml block that is an ``analyses:`` fragment validates against the scenario schema
    (adding_an_analysis.md's block names the plugin that page defines, so it is checked there)."""
    import yaml

    from mmxsim.analyses import analyses_model, registry

    model, names, checked = analyses_model(), set(registry()), 0
    for f in sorted(DOCS.glob("*.md")):
        for body in re.findall(r"^```yaml\n(.*?)^```", f.read_text(encoding="utf-8"), flags=re.S | re.M):
            data = yaml.safe_load(body)
            if not (isinstance(data, dict) and set(data) == {"analyses"}):
                continue
            if f.name == "adding_an_analysis.md" and not set(data["analyses"]) <= names:
                continue
            model.model_validate(data["analyses"])  # raises with the field, value and what is allowed
            checked += 1
    assert checked >= 2
