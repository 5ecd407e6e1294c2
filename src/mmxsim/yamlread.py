"""Bounded YAML reading: a scenario or campaign file cannot make mmxsim hang or run out of memory.

PyYAML's safe loader executes no code, but on its own it bounds nothing: a 1 KB file of nested
aliases (the "billion laughs") expands to billions of nodes when turned into Python objects, and
collections nested a few thousand deep overflow the recursive composer. :func:`compose` reads a
document as PyYAML nodes and checks, before anything is expanded into objects:

=====================  =========================  ===============================================
limit                  default                    why
=====================  =========================  ===============================================
file size              ``MAX_BYTES`` = 2 MB        the largest built-in scenario is ~10 KB
nesting depth          ``MAX_DEPTH`` = 64          the schema nests at most ~6 levels
nodes after aliases    ``MAX_NODES`` = 200 000     counts every alias as the subtree it stands for
characters after       ``MAX_CHARS`` = 20 000 000  text of all scalars, aliases expanded
aliases
=====================  =========================  ===============================================

The depth is measured on the token stream (iteratively, before the recursive composer runs);
the expanded sizes from the node graph with one memoised pass over its distinct nodes, so the
check itself costs time linear in the file, whatever the expansion would be. A file over a limit
raises :class:`YamlLimitError`, which names the limit, the value found and where.
Layer 0: imports only PyYAML and :mod:`mmxsim.errors`.
"""

from __future__ import annotations

from .errors import InputError

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "MAX_CHARS", "YamlLimitError", "check_size", "compose"]

MAX_BYTES = 2_000_000
MAX_DEPTH = 64
MAX_NODES = 200_000
MAX_CHARS = 20_000_000


class YamlLimitError(InputError):
    """A YAML document over one of this module's limits (``field`` names the limit)."""


def check_size(text: str, source: str, max_bytes: int = MAX_BYTES) -> None:
    """Refuse a document longer than ``max_bytes`` (UTF-8) before any parsing."""
    n = len(text.encode("utf-8", "surrogatepass")) if len(text) * 4 > max_bytes else len(text)
    if n > max_bytes:
        raise YamlLimitError(f"{source}: file size", f"{n} bytes", f"at most {max_bytes} bytes")


def _depth(loader_cls, text: str, source: str, max_depth: int) -> None:
    import yaml
    from yaml import tokens as T

    opening = (T.BlockMappingStartToken, T.BlockSequenceStartToken, T.FlowMappingStartToken,
               T.FlowSequenceStartToken)
    closing = (T.BlockEndToken, T.FlowMappingEndToken, T.FlowSequenceEndToken)
    depth = 0
    loader = loader_cls(text)
    try:
        while loader.check_token():
            tok = loader.get_token()
            if isinstance(tok, opening):
                depth += 1
                if depth > max_depth:
                    m = tok.start_mark
                    raise YamlLimitError(f"{source}: nesting depth", f"more than {max_depth} levels "
                                         f"(line {m.line + 1}, column {m.column + 1})",
                                         f"at most {max_depth} nested mappings or lists")
            elif isinstance(tok, closing):
                depth -= 1
    except yaml.YAMLError:
        return  # a syntax error: the composer reports it, with its position
    finally:
        loader.dispose()


def _expanded_size(root) -> tuple[int, int]:
    """(nodes, scalar characters) of ``root`` with every alias expanded, without expanding.

    Iterative post-order over the distinct nodes; a node met again while on the path (a recursive
    alias) counts once here and is reported by the caller's builder."""
    from yaml.nodes import MappingNode, ScalarNode, SequenceNode

    size: dict[int, tuple[int, int]] = {}
    on_path: set[int] = set()
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            if isinstance(node, MappingNode):
                kids = [x for kv in node.value for x in kv]
            else:
                kids = list(node.value)
            n, c = 1, 0
            for k in kids:
                kn, kc = size.get(id(k), (1, 0))
                n, c = n + kn, c + kc
            size[key] = (n, c)
            continue
        if key in size or key in on_path:
            continue
        if isinstance(node, ScalarNode):
            size[key] = (1, len(node.value))
            continue
        if isinstance(node, (MappingNode, SequenceNode)):
            on_path.add(key)
            stack.append((node, True))
            kids = [x for kv in node.value for x in kv] if isinstance(node, MappingNode) else node.value
            stack.extend((k, False) for k in kids)
    return size.get(id(root), (0, 0))


def compose(text: str, loader_cls, source: str, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH,
            max_nodes: int = MAX_NODES, max_chars: int = MAX_CHARS):
    """``(loader, node)``: the document's root node, checked against the limits; the caller
    constructs objects with ``loader`` and disposes of it. YAML syntax errors propagate as PyYAML's
    own exceptions (with their marks) for the caller to word."""
    check_size(text, source, max_bytes)
    _depth(loader_cls, text, source, max_depth)
    loader = loader_cls(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            n, c = _expanded_size(node)
            if n > max_nodes:
                raise YamlLimitError(f"{source}: size with aliases expanded", f"{n} nodes",
                                     f"at most {max_nodes} (aliases count as the values they repeat)")
            if c > max_chars:
                raise YamlLimitError(f"{source}: text with aliases expanded", f"{c} characters",
                                     f"at most {max_chars} (aliases count as the values they repeat)")
    except BaseException:
        loader.dispose()
        raise
    return loader, node
