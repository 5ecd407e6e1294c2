"""The documentation's examples run: every ```python block of the pages listed, in order, in one
namespace per page, in a temporary working directory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = ["howto.md", "tutorial.md", "adding_an_analysis.md", "navigation.md"]


def blocks(page: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


@pytest.mark.parametrize("page", PAGES)
def test_page_examples_run(page, tmp_path, monkeypatch, capsys):
    code = blocks(page)
    assert code, f"{page} has no python examples"
    monkeypatch.chdir(tmp_path)
    ns: dict = {"__name__": f"docs_{page}"}
    for i, src in enumerate(code):
        try:
            exec(compile(src, f"{page}[block {i + 1}]", "exec"), ns)
        except Exception as exc:  # report which block broke
            raise AssertionError(f"{page} block {i + 1} failed: {exc!r}\n{src}") from exc
    assert capsys.readouterr().out.strip()  # the examples print what they show
