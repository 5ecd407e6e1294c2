"""One docs page per partner (docs/partners/<agency>.md) with a section per contribution of
``mmxsim.partners.PARTNERS``: its models linked into the API reference, its analyses, its validation
(test files that exist) and its assumptions. A partner or contribution added to the table without
its section fails here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from mmxsim.partners import PARTNERS

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "docs" / "partners"


class _ApiPages(dict):
    """module -> the API reference page (stem) that renders it: its own ``::: module`` or its
    nearest package rendered with ``show_submodules``."""

    def __missing__(self, module: str) -> str:
        parent = module.rpartition(".")[0]
        if not parent:
            raise KeyError(module)
        return self[parent]


def _api_pages() -> dict[str, str]:
    out = _ApiPages()
    for page in (ROOT / "docs" / "api").glob("*.md"):
        for line in page.read_text(encoding="utf-8").splitlines():
            if line.startswith("::: "):
                out[line[4:].strip()] = page.stem
    return out


def sections(text: str) -> dict[str, str]:
    """'## heading' -> the text up to the next heading of level 1 or 2."""
    parts = re.split(r"^## (.+)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts), 2)}


def _field(body: str, name: str) -> str:
    m = re.search(rf"\*\*{name}:\*\*(.*?)(?=\n\*\*|\Z)", body, flags=re.S)
    return m.group(1).strip() if m else ""


@pytest.mark.parametrize("partner", PARTNERS, ids=lambda p: p.agency)
def test_every_contribution_has_its_section(partner):
    page = PAGES / f"{partner.agency.lower()}.md"
    assert page.is_file(), f"no page for {partner.agency}: {page}"
    secs = sections(page.read_text(encoding="utf-8"))
    api = _api_pages()
    for c in partner.contributions:
        assert c.what in secs, f"{page.name}: no '## {c.what}'"
        body = secs[c.what]
        for m in c.models:  # each model linked to its place in the API reference
            assert f"](../api/{api[m]}.md#{m})" in _field(body, "Models"), (partner.agency, c.what, m)
        for a in c.analyses:
            assert f"`{a}`" in _field(body, "Analyses"), (partner.agency, c.what, a)
        val, ass = _field(body, "Validation"), _field(body, "Assumptions")
        tests = re.findall(r"`(tests/[\w/]+\.py)`", val)
        assert tests, f"{partner.agency}, {c.what}: validation names no test file"
        for t in tests:
            assert (ROOT / t).is_file(), t
        assert len(ass) > 20, f"{partner.agency}, {c.what}: no assumptions"
    assert set(secs) == {c.what for c in partner.contributions}, "a section for a contribution not in PARTNERS"


def test_index_and_navigation_list_every_partner():
    index = (PAGES / "index.md").read_text(encoding="utf-8")
    nav = yaml.safe_dump(yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"])
    for p in PARTNERS:
        assert f"]({p.agency.lower()}.md)" in index, p.agency
        assert f"partners/{p.agency.lower()}.md" in nav, p.agency
    assert {f.stem for f in PAGES.glob("*.md")} == {"index"} | {p.agency.lower() for p in PARTNERS}


def test_sections_parser():
    assert sections("# A\n\nx\n## b c\n\ny\n## d\nz") == {"b c": "\n\ny\n", "d": "\nz"}
    assert _field("**Models:** a, b.\n\n**Analyses:** `x`\n", "Models") == "a, b."
