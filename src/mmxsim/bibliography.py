"""The bibliography: every citation key the package, its report and its docs use, resolved.

Citation keys are short ids in brackets in the text of docstrings, report paragraphs and docs
(``[K22]``, ``[BAR-SURREY]``, ``[MMXN-331]``). Each one resolves here to authors (or the
organisation), year, title, where it appeared and a DOI or URL. The entries ship with the package
in ``mmxsim/data/bibliography.yaml`` (see ``data/SOURCES.md``); nothing is fetched.

Layer 0: standard library and PyYAML only, so that any layer (the analyses' text, the report,
the docs build) can resolve a key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .errors import InputError

__all__ = ["Reference", "bibliography", "reference", "cited_keys", "CITATION_KEY"]

#: A citation key in brackets: ``[K22]``, ``[Ka21]``, ``[NIKKAN-2020b]``, ``[BAR-SURREY]``, ``[H2-CH24]``.
CITATION_KEY = re.compile(r"\[([A-Z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)\]")


@dataclass(frozen=True)
class Reference:
    """One source. ``authors``: "Surname, I." per author, or the organisation; ``where``: journal
    (volume, pages), conference, report number or web site; ``doi`` and/or ``url`` (None where
    there is none); ``note``: what it is cited for or what of it was read (may be empty)."""

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

    def text(self) -> str:
        """One line: "Authors (year). Title. Where. doi:…/URL"."""
        names = "; ".join(self.authors) if len(self.authors) <= 4 else f"{self.authors[0]} et al."
        year = f" ({self.year})" if self.year else " (n.d.)"
        out = f"{names}{year}. {self.title.rstrip('.')}."
        if self.where:
            out += f" {self.where.rstrip('.')}."
        if self.doi:
            out += f" doi:{self.doi}"
        elif self.url:
            out += f" {self.url}"
        return out


@lru_cache(maxsize=1)
def bibliography() -> dict[str, Reference]:
    """Every entry of the shipped bibliography, by key (in the file's order)."""
    from ._data import data_path
    import yaml

    raw = yaml.safe_load(data_path("bibliography.yaml").read_text(encoding="utf-8"))
    out: dict[str, Reference] = {}
    for key, e in raw.items():
        authors = e.get("authors", ())
        out[str(key)] = Reference(key=str(key), authors=tuple([authors] if isinstance(authors, str) else authors),
                                  year=e.get("year"), title=str(e["title"]), where=str(e.get("where", "")),
                                  doi=e.get("doi"), url=e.get("url"), note=str(e.get("note", "")))
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
