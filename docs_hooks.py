"""mkdocs hooks for the documentation site (named in mkdocs.yml ``hooks:``; not part of the package).

The pages in ``docs/`` link to two files that live outside it, ``README.md`` and
``src/mmxsim/data/SOURCES.md``, with paths that work when the Markdown is read on GitHub
(``../README.md``). mkdocs only knows files under ``docs/``, so these hooks

* add both files to the site as generated pages (``readme.md``, ``sources.md``), their text read
  from the repository at build time (one copy, never out of date), and
* rewrite every relative link of every page: a link that resolves, from the page's place in the
  repository, to one of those files or to a page under ``docs/`` becomes the site's link to it.
  Links that resolve elsewhere are left alone, so mkdocs' strict mode reports them as broken.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from mkdocs.structure.files import File

#: repository file -> its page on the site
INCLUDED = {"README.md": "readme.md", "src/mmxsim/data/SOURCES.md": "sources.md"}
_ORIGIN = {v: k for k, v in INCLUDED.items()}
_LINK = re.compile(r"(\]\()([^)\s#]+)(#[^)\s]*)?(\s[^)]*)?\)")


def _root(config) -> Path:
    return Path(config["config_file_path"]).resolve().parent


def on_files(files, config):
    root = _root(config)
    for src, page in INCLUDED.items():
        files.append(File.generated(config, page, content=(root / src).read_text(encoding="utf-8")))
    return files


def site_link(target: str, origin: str, docs: str = "docs") -> str | None:
    """The site path (relative to the docs folder) of a relative link ``target`` written in the
    repository file ``origin``; None when it points outside the site (or is not a relative link)."""
    if "://" in target or target.startswith(("mailto:", "/")):
        return None
    path = posixpath.normpath(posixpath.join(posixpath.dirname(origin), target))
    if path in INCLUDED:
        return INCLUDED[path]
    if path.startswith(docs + "/"):
        return path[len(docs) + 1:]
    return None


def on_page_markdown(markdown, page, config, files):
    src = page.file.src_uri
    origin = _ORIGIN.get(src, f"docs/{src}")
    depth = src.count("/")

    def fix(m: re.Match) -> str:
        new = site_link(m.group(2), origin)
        if new is None:
            return m.group(0)
        rel = "../" * depth + new if depth else new
        return f"{m.group(1)}{rel}{m.group(3) or ''}{m.group(4) or ''})"

    return _LINK.sub(fix, markdown)
