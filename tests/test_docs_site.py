"""The documentation site: every page is in the mkdocs navigation, every public module is in the API
reference, and `mkdocs build --strict` succeeds: the test reads the build's exit code and output
(no ``-q``), and a planted broken link makes the same configuration fail."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def _nav_pages(nav) -> set[str]:
    out = set()
    for item in nav:
        for v in (item.values() if isinstance(item, dict) else [item]):
            if isinstance(v, list):
                out |= _nav_pages(v)
            else:
                out.add(v)
    return out


def _config() -> dict:
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))


def _hooks():
    pytest.importorskip("mkdocs")
    sys.path.insert(0, str(ROOT))
    try:
        import docs_hooks
    finally:
        sys.path.remove(str(ROOT))
    return docs_hooks


def _build(config: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_every_page_is_in_the_navigation():
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    pages |= set(_hooks().INCLUDED.values())  # README.md and data/SOURCES.md, added by the hook
    nav = _nav_pages(_config()["nav"])
    assert pages == nav, f"not in nav: {sorted(pages - nav)}; missing files: {sorted(nav - pages)}"


def _public_modules() -> set[str]:
    out = set()
    for f in (ROOT / "src" / "mmxsim").rglob("*.py"):
        parts = list(f.relative_to(ROOT / "src").with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if not any(p.startswith("_") for p in parts):
            out.add(".".join(parts))
    return out


def _api_directives() -> dict[str, bool]:
    """Each ``::: name`` of docs/api/*.md -> whether it renders its submodules (show_submodules)."""
    out = {}
    for page in (DOCS / "api").glob("*.md"):
        for m in re.finditer(r"^::: (\S+)\n((?:    .*\n)*)", page.read_text(encoding="utf-8"), flags=re.M):
            out[m.group(1)] = "show_submodules: true" in m.group(2)
    return out


def test_api_reference_lists_every_public_module():
    """Every public module is rendered: named on a page, or inside a package rendered with its
    submodules (so a module added to such a package is documented without editing the page)."""
    directives = _api_directives()
    modules = _public_modules()
    assert {"mmxsim.api", "mmxsim.results", "mmxsim.scenario", "mmxsim.exports", "mmxsim.bibliography"} <= modules

    def covered(mod: str) -> bool:
        return mod in directives or any(mod.startswith(d + ".") and sub for d, sub in directives.items())

    assert {m for m in modules if not covered(m)} == set(), "modules missing from docs/api/*.md"
    assert set(directives) - modules == set(), "docs/api/*.md names modules that do not exist"


def test_hook_maps_repository_links_to_site_pages():
    h = _hooks()
    assert h.site_link("../README.md", "docs/index.md") == "readme.md"
    assert h.site_link("../src/mmxsim/data/SOURCES.md", "docs/comms.md") == "sources.md"
    assert h.site_link("../../../docs/ephemeris.md", "src/mmxsim/data/SOURCES.md") == "ephemeris.md"
    assert h.site_link("tutorial.md", "docs/index.md") == "tutorial.md"
    assert h.site_link("../tests/test_x.py", "docs/index.md") is None  # outside the site: left broken
    assert h.site_link("https://example.org/a.md", "docs/index.md") is None


def test_docstrings_rendered_as_markdown():
    sys.path.insert(0, str(ROOT))
    pytest.importorskip("griffe")
    try:
        from docs_griffe import close_sections, rst_to_markdown
    finally:
        sys.path.remove(str(ROOT))
    text = "See :func:`mmxsim.run` and ``x``::\n\n    a = 1\n\nThen\n\n>>> 1 + 1\n2\n"
    md = rst_to_markdown(text)
    assert md.splitlines() == ["See `mmxsim.run` and `x`:", "", "```", "a = 1", "```", "", "Then", "",
                               "```pycon", ">>> 1 + 1", "2", "```"]
    doc = "F.\n\nParameters\n----------\nx : float\n    A value.\n\nMemory: large.\n\n>>> f(1)\n"
    assert close_sections(doc).splitlines() == ["F.", "", "Parameters", "----------", "x : float", "    A value.",
                                                "", "Notes", "-----", "Memory: large.", "", ">>> f(1)"]
    doc = "Parameters\n----------\nx : float\n    A value.\n\n>>> f(1)\n"
    assert close_sections(doc).splitlines()[-3:] == ["Examples", "--------", ">>> f(1)"]


def test_site_builds_strict(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    site = tmp_path / "site"
    r = _build(ROOT / "mkdocs.yml", site)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "WARNING" not in out, out
    for page in ("tutorial", "howto", "readme", "sources", "api/orbits", "api/mmxsim"):
        assert (site / page / "index.html").is_file(), page
    index = (site / "index.html").read_text(encoding="utf-8")
    assert 'href="readme/"' in index and 'href="sources/"' in index  # the repository links, mapped
    assert "mmxsim.orbits.qso" in (site / "api" / "orbits" / "index.html").read_text(encoding="utf-8")
    shutil.rmtree(site)


def test_a_broken_link_fails_the_build(tmp_path):
    """The site's own settings (strict, link validation, hooks) on a small copy: a link to a missing
    page, or to a missing section of a page, fails the build with its name in the output; the same
    site without it builds."""
    pytest.importorskip("mkdocs")
    (tmp_path / "docs").mkdir()
    for src in _hooks().INCLUDED:
        (tmp_path / src).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / src, tmp_path / src)
    cfg = {k: v for k, v in _config().items() if k not in ("nav", "plugins")}
    cfg["hooks"] = [str(ROOT / h) for h in cfg["hooks"]]
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(cfg), encoding="utf-8")
    for name in ("ephemeris.md", "constants.md"):  # pages that SOURCES.md links to
        (tmp_path / "docs" / name).write_text(f"# {name}\n", encoding="utf-8")
    page = tmp_path / "docs" / "index.md"
    good = "# t\n\n[README](../README.md), [sources](../src/mmxsim/data/SOURCES.md)\n"
    page.write_text(good + "[gone](no_such_page.md)\n", encoding="utf-8")
    r = _build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert r.returncode != 0 and "no_such_page.md" in r.stdout + r.stderr
    page.write_text(good + "[gone](ephemeris.md#no-such-section)\n", encoding="utf-8")  # a missing anchor
    r = _build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert r.returncode != 0 and "no-such-section" in r.stdout + r.stderr
    page.write_text(good, encoding="utf-8")
    r = _build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert r.returncode == 0, r.stdout + r.stderr


def test_api_page_lists_every_top_level_name():
    """docs/api/mmxsim.md has a row for every name of ``mmxsim.api.__all__`` (the lazily loaded ones
    link to where they are documented; the strict build checks those anchors)."""
    import mmxsim.api

    text = (DOCS / "api" / "mmxsim.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(\w+)` \| \[", text, flags=re.M))
    lazy = set(mmxsim.api._LAZY)
    assert lazy <= set(mmxsim.api.__all__)
    assert rows == lazy, f"missing: {sorted(lazy - rows)}; extra: {sorted(rows - lazy)}"
    for name in set(mmxsim.api.__all__) - lazy:  # defined in mmxsim.api, rendered there
        assert callable(getattr(mmxsim.api, name)) and getattr(mmxsim.api, name).__doc__, name
