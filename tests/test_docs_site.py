"""The documentation site: every page is in the mkdocs navigation, and `mkdocs build --strict`
succeeds (broken links or missing pages fail it)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _nav_pages(nav) -> set[str]:
    out = set()
    for item in nav:
        for v in (item.values() if isinstance(item, dict) else [item]):
            if isinstance(v, list):
                out |= _nav_pages(v)
            else:
                out.add(v)
    return out


def test_every_page_is_in_the_navigation():
    cfg = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    pages = {p.name for p in (ROOT / "docs").glob("*.md")}
    nav = _nav_pages(cfg["nav"])
    assert pages == nav, f"not in nav: {sorted(pages - nav)}; missing files: {sorted(nav - pages)}"


def test_site_builds_strict(tmp_path):
    pytest.importorskip("mkdocs")
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(ROOT / "mkdocs.yml"),
                        "-d", str(tmp_path / "site")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "site" / "tutorial" / "index.html").is_file()
    assert (tmp_path / "site" / "howto" / "index.html").is_file()
    shutil.rmtree(tmp_path / "site")
