"""A griffe extension for the API reference (mkdocs.yml, mkdocstrings ``extensions``; not part of the
package): mmxsim's docstrings use reStructuredText habits (````code````, ``:func:`name```, literal
blocks after ``::``, doctest lines). mkdocstrings renders Markdown, so before rendering each
docstring is rewritten: roles and double back-quotes become inline code, a ``::`` literal block and
a run of ``>>>`` lines become fenced code blocks. The source files are not changed.
"""

from __future__ import annotations

import re

import griffe

_SECTIONS = {"parameters", "other parameters", "returns", "yields", "receives", "raises", "warns",
             "attributes", "methods"}
# an entry: "name : type", "a, b : float", or a bare type or name without spaces ("int", "dict[str,float]")
_ENTRY = re.compile(r"^([\w*.\[\]|, ]+ :(\s.*)?|[\w*.\[\]|,]+)$")
_ROLE = re.compile(r":(?:func|mod|class|data|attr|meth|obj|exc|const|ref|py:\w+):`~?([^`]+)`")
_DOUBLE = re.compile(r"``([^`]+?)``")


def close_sections(text: str) -> str:
    """NumPy-style sections (``Parameters`` underlined with dashes) end where the docstring goes on
    with prose or an example after a blank line; the parser would read those lines as more entries,
    so a ``Notes`` or ``Examples`` heading is put before them."""
    lines = text.splitlines()
    out: list[str] = []
    inside, blank = False, False
    for i, line in enumerate(lines):
        stripped = line.strip()
        nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if nxt and set(nxt) == {"-"} and len(nxt) >= 3 and stripped:  # a section heading
            inside = stripped.lower() in _SECTIONS
        elif inside and blank and stripped and line == line.lstrip() and not _ENTRY.match(stripped) \
                and not set(stripped) == {"-"}:
            title = "Examples" if stripped.startswith(">>>") else "Notes"
            out += [title, "-" * len(title)]
            inside = False
        blank = not stripped
        out.append(line)
    return "\n".join(out)


def rst_to_markdown(text: str) -> str:
    """The docstring ``text`` with its reStructuredText constructs written in Markdown."""
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        indent = len(line) - len(stripped)
        if stripped.startswith(">>>"):  # a doctest block: up to the next blank line
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i].strip())
                i += 1
            out += [" " * indent + "```pycon", *(" " * indent + b for b in block), " " * indent + "```"]
            continue
        if stripped.endswith("::") and not stripped.startswith(".."):
            # the literal block: the following lines indented more than this one
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            body_indent = len(lines[j]) - len(lines[j].lstrip()) if j < len(lines) else 0
            if j < len(lines) and body_indent > indent:
                head = stripped[:-2].rstrip()
                if head:
                    out.append(" " * indent + _inline(head) + ":")
                block = []
                while j < len(lines) and (not lines[j].strip() or
                                          len(lines[j]) - len(lines[j].lstrip()) >= body_indent):
                    block.append(lines[j][body_indent:])
                    j += 1
                while block and not block[-1].strip():
                    block.pop()
                out += ["", " " * indent + "```", *(" " * indent + b for b in block), " " * indent + "```", ""]
                i = j
                continue
        out.append(_inline(line))
        i += 1
    return "\n".join(out)


def _inline(line: str) -> str:
    return _DOUBLE.sub(r"`\1`", _ROLE.sub(r"`\1`", line))


class RstDocstrings(griffe.Extension):
    """Rewrites every docstring of a loaded package with :func:`rst_to_markdown`."""

    def on_package(self, *, pkg, **kwargs) -> None:
        stack, seen = [pkg], set()
        while stack:
            obj = stack.pop()
            if obj.is_alias or id(obj) in seen:
                continue
            seen.add(id(obj))
            if obj.docstring is not None:
                obj.docstring.value = rst_to_markdown(close_sections(obj.docstring.value))
            stack.extend(obj.members.values())
