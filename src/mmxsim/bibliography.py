"""The bibliography: every citation key the package, its report and its docs use, resolved.

Citation keys are short ids in brackets in the text of docstrings, comments, report paragraphs
and docs (``[K22]``, ``[BAR-SURREY]``, ``[MMXN-331]``, ``[810-005]``). Each one resolves here to
authors (or the organisation), year, title, where it appeared and a DOI or URL. The entries ship
with the package in ``mmxsim/data/bibliography.yaml`` (see ``data/SOURCES.md``); nothing is
fetched. :func:`markdown` renders them for the docs site (``docs/bibliography.md``, one entry per
line, anchor ``#KEY``); ``python -m mmxsim.bibliography`` prints that page.

What a citation key is (:data:`CITATION_KEY`): a bracketed token that

* starts with a capital letter and has at least two characters (``[K22]``, ``[Ka21]``, ``[SI]``,
  ``[WP-Phobos]``), or starts with at least three digits and has a hyphenated part
  (``[810-005]``, ``[130.1-G]``, document numbers); further parts are joined by hyphens
  (``[NIKKAN-2020b]``, ``[H2-CH24]``);
* is not an index or a type subscript (no letter, digit, ``]`` or ``)`` right before the
  bracket: ``x[N]``, ``list[Path]``, ``a[0][J]``), not a list literal after an assignment
  (``tb = [T0]``), not a Python constant (``[None]``, ``[True]``) and not a unit, time scale or frame
  in brackets (``epoch [TDB]``, ``power [MW]``: :data:`NOT_KEYS`);
* is not Markdown link text (``[README](../README.md)``, ``[X][ref]``) nor a Markdown link
  definition (``[ref]: https://...``).

Layer 0: standard library and PyYAML only, so that any layer (the analyses' text, the report,
the docs build) can resolve a key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from functools import lru_cache

from .errors import InputError

__all__ = ["Reference", "bibliography", "reference", "cited_keys", "missing_keys", "markdown",
           "CITATION_KEY", "NOT_KEYS"]

#: Bracketed tokens that are never citation keys: Python constants, and units, time scales and frames
#: written in brackets after a quantity (``epoch [TDB]``, ``power [MW]``, ``f [GHz]``). Units of one
#: letter or starting with a small letter (``[K]``, ``[km]``, ``[dB]``) cannot match a key anyway.
NOT_KEYS = frozenset({
    "True", "False", "None",
    "UTC", "TDB", "TT", "TAI", "TCB", "TCG", "GPS", "ICRF", "J2000", "RTN", "LVLH", "AU",
    "Pa", "Hz", "MHz", "GHz", "THz", "MW", "GW", "MJ", "GJ", "Gy", "Sv", "MB", "GB", "TB", "Mb", "Gb", "Tb",
    "II", "III", "IV", "VI",
})

#: A citation key in brackets; group 1 is the key (see the module docstring for the rules).
CITATION_KEY = re.compile(
    r"(?<![\w\])\[=])(?<!= )"  # not x[..], f(x)[..], [[..]], nor "= [..]"
    r"\[(?!(?:" + "|".join(sorted(NOT_KEYS, key=lambda s: (-len(s), s))) + r")\])"  # not a constant or unit
    r"((?:[A-Z][A-Za-z0-9]+|[0-9]{3,}(?:\.[0-9]+)?(?=-))(?:-[A-Za-z0-9]+)*)"
    r"\](?!\(|\[|:\s*(?:https?://|\.{0,2}/|#))"  # not Markdown link text or a link definition
)

_FIELDS = ("authors", "year", "title", "where", "doi", "url", "note")


@dataclass(frozen=True)
class Reference:
    """One source. ``authors``: "Surname, I." per author (surname only where the initials were not
    recorded; "et al." as the last item), or the organisation; ``year``: None where undated;
    ``title``: as recorded, or a description ending "(title not recorded)"; ``where``: journal
    (volume:article or pages), conference, report number or web site; ``doi`` and/or ``url``
    (None where none was recorded); ``note``: what it is cited for and what of it was read."""

    key: str
    authors: tuple[str, ...]
    year: int | None
    title: str
    where: str = ""
    doi: str | None = None
    url: str | None = None
    note: str = ""

    @property
    def link(self) -> str | None:
        """``https://doi.org/<doi>`` where there is a DOI, else the URL, else None."""
        if self.doi:
            return f"https://doi.org/{self.doi}"
        return self.url

    @property
    def names(self) -> str:
        """The authors as one string: "A; B; C", "A et al." (more than four, or "et al." given)."""
        a = list(self.authors)
        if a and a[-1] == "et al.":
            return f"{'; '.join(a[:-1][:4]) if len(a) <= 5 else a[0]} et al."
        return "; ".join(a) if len(a) <= 4 else f"{a[0]} et al."

    def text(self) -> str:
        """One line: "Authors (year). Title. Where. doi:…/URL"."""
        year = f" ({self.year})" if self.year else " (n.d.)"
        out = f"{self.names}{year}. {self.title.rstrip('.')}."
        if self.where:
            out += f" {self.where.rstrip('.')}."
        if self.doi:
            out += f" doi:{self.doi}"
        elif self.url:
            out += f" {self.url}"
        return out


@lru_cache(maxsize=1)
def bibliography() -> dict[str, Reference]:
    """Every entry of the shipped bibliography, by key (in the file's order). An entry with an
    unknown field or without a title raises :class:`~mmxsim.errors.InputError`."""
    from ._data import data_path
    import yaml

    # libyaml's parser where PyYAML has it (the same safe constructor, the same entries: 0.01 s instead of
    # ~0.1 CPU-s in the analysis process that cites first), else PyYAML's own
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    raw = yaml.load(data_path("bibliography.yaml").read_text(encoding="utf-8"), Loader=loader)
    out: dict[str, Reference] = {}
    for key, e in raw.items():
        where = f"bibliography.yaml: {key}"
        if not isinstance(e, dict):
            raise InputError(where, e, "a mapping with fields " + ", ".join(_FIELDS))
        for f in e:
            if f not in _FIELDS:
                raise InputError(where, f, ", ".join(_FIELDS))
        if not e.get("title"):
            raise InputError(where, e.get("title"), "a non-empty title")
        authors = e.get("authors") or ()
        year = e.get("year")
        out[str(key)] = Reference(key=str(key), authors=tuple([authors] if isinstance(authors, str) else authors),
                                  year=int(year) if year is not None else None, title=str(e["title"]),
                                  where=str(e.get("where") or ""), doi=e.get("doi"), url=e.get("url"),
                                  note=str(e.get("note") or ""))
    return out


def reference(key: str) -> Reference:
    """The entry of ``key`` (with or without brackets); :class:`~mmxsim.errors.InputError` naming the
    known keys if there is none."""
    k = str(key).strip().strip("[]")
    bib = bibliography()
    if k not in bib:
        raise InputError("citation key", key, ", ".join(sorted(bib)))
    return bib[k]


def cited_keys(text: str) -> list[str]:
    """The citation keys in ``text``, in order of first appearance, each once."""
    seen: dict[str, None] = {}
    for m in CITATION_KEY.finditer(str(text)):
        seen.setdefault(m.group(1), None)
    return list(seen)


def missing_keys(text: str) -> list[str]:
    """The citation keys of ``text`` that the bibliography does not resolve (empty: all resolve)."""
    bib = bibliography()
    return [k for k in cited_keys(text) if k not in bib]


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def _md(s: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", s)


def _md_note(s: str, bib: dict[str, Reference]) -> str:
    """The note, escaped, with the keys it cites linked to their entries on the same page."""
    out, last = [], 0
    for m in CITATION_KEY.finditer(s):
        if m.group(1) in bib:
            out.append(_md(s[last:m.start()]))
            out.append(f"[\\[{m.group(1)}\\]](#{m.group(1)})")
            last = m.end()
    out.append(_md(s[last:]))
    return "".join(out)


def _md_entry(r: Reference, bib: dict[str, Reference]) -> str:
    year = f" ({r.year})" if r.year else " (n.d.)"
    line = f'- <a id="{r.key}"></a>**\\[{r.key}\\]** {_md(r.names)}{year}. *{_md(r.title.rstrip("."))}*.'
    if r.where:
        line += f" {_md(r.where.rstrip('.'))}."
    if r.doi:
        line += f" [doi:{_md(r.doi)}]({r.link})"
    if r.url:
        line += f" <{r.url}>"
    if r.note:
        line += f" — {_md_note(r.note, bib)}"
    return line


def markdown() -> str:
    """The bibliography as a Markdown page (the content of ``docs/bibliography.md``): a title, a
    paragraph, then one list item per entry, sorted by key (case-insensitive), each starting with
    an anchor ``<a id="KEY">`` so that ``bibliography.md#KEY`` links to it."""
    bib = bibliography()
    n_doi = sum(1 for r in bib.values() if r.doi)
    n_url = sum(1 for r in bib.values() if r.url and not r.doi)
    head = [
        "# Bibliography",
        "",
        "<!-- Generated by mmxsim.bibliography.markdown() from mmxsim/data/bibliography.yaml: do not edit;",
        "     regenerate with `python -m mmxsim.bibliography > docs/bibliography.md`. -->",
        "",
        "Every citation key in brackets used in mmxsim's docstrings, report and these pages, resolved. The",
        "entries ship with the package (`mmxsim/data/bibliography.yaml`; `mmxsim.bibliography.reference(key)`",
        "returns one). A title ending \"(title not recorded)\" is a description: the title itself was not",
        "recorded, and no DOI, title or author was guessed. SECONDARY and WEAK mark sources that quote",
        "others or that could not be checked.",
        "",
        f"{len(bib)} entries: {n_doi} with a DOI, {n_url} more with a URL, "
        f"{len(bib) - n_doi - n_url} with neither.",
        "",
    ]
    body = [_md_entry(r, bib) for r in sorted(bib.values(), key=lambda r: (r.key.casefold(), r.key))]
    return "\n".join(head + body) + "\n"


if __name__ == "__main__":  # pragma: no cover - writes the docs page
    import sys

    sys.stdout.write(markdown())
