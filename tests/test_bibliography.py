"""The shipped bibliography (mmxsim.bibliography, mmxsim/data/bibliography.yaml) and its docs page.

Every citation key written in brackets in src/, docs/, README.md and the scenarios must resolve; the
keys are collected with the package's own :data:`~mmxsim.bibliography.CITATION_KEY`, whose rules are
checked on examples of citations and of look-alikes (indices, type subscripts, list literals, Markdown
link text). The entries' provenance is the project's fact sheets (data/SOURCES.md); these tests check
their form (authors, title, year or "undated", DOI shape, unique DOIs and keys), that the docs page is
exactly what :func:`~mmxsim.bibliography.markdown` writes, and that navigation.literature takes its
references from the bibliography. All exact checks; no tolerance."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from mmxsim import bibliography as B
from mmxsim.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
DOI = re.compile(r"^10\.\d{4,9}/\S+$")
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".html", ".j2", ".jinja", ".jinja2", ".txt", ".css", ".js"}
GENERATED = {ROOT / "docs" / "bibliography.md", ROOT / "src" / "mmxsim" / "data" / "bibliography.yaml"}


def _sources(root: Path) -> list[Path]:
    """The text files whose citations must resolve: src/, docs/, README.md and scenarios/ under root
    (the generated bibliography page and the YAML itself excluded)."""
    out: list[Path] = []
    for sub in ("src", "docs", "scenarios"):
        d = root / sub
        if d.is_dir():
            out += [p for p in sorted(d.rglob("*")) if p.is_file() and p.suffix in TEXT_SUFFIXES]
    if (root / "README.md").is_file():
        out.append(root / "README.md")
    return [p for p in out if p not in GENERATED]


def _cited(files: list[Path]) -> dict[str, list[str]]:
    """key -> the files citing it."""
    keys: dict[str, list[str]] = {}
    for p in files:
        for k in B.cited_keys(p.read_text(encoding="utf-8", errors="replace")):
            keys.setdefault(k, []).append(str(p))
    return keys


def _unresolved(files: list[Path]) -> dict[str, list[str]]:
    bib = B.bibliography()
    return {k: v for k, v in _cited(files).items() if k not in bib}


@pytest.fixture(scope="module")
def cited() -> dict[str, list[str]]:
    return _cited(_sources(ROOT))


def test_every_cited_key_resolves(cited):
    """Every key cited in src/, docs/, README.md and the scenarios is an entry (about 120 keys)."""
    assert len(cited) > 100  # the collection found the citations at all
    missing = {k: v for k, v in cited.items() if k not in B.bibliography()}
    assert not missing, missing


def test_a_planted_unknown_key_is_caught(tmp_path):
    """The same collection, on a tree with one planted unknown key beside known ones, reports it (and
    only it)."""
    (tmp_path / "src").mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "src" / "m.py").write_text('X = 1.0  # [K22], [NOPE-1999]\n"""As in [WP-Phobos]."""\n')
    (tmp_path / "docs" / "p.md").write_text("| a | b [N21] |\n")
    (tmp_path / "README.md").write_text("See [README](docs/p.md), x[N] and [810-005].\n")
    assert _unresolved(_sources(tmp_path)) == {"NOPE-1999": [str(tmp_path / "src" / "m.py")]}


@pytest.mark.parametrize("text, keys", [
    ("[K22]", ["K22"]),
    ("Kuramoto et al. [K22], [N21]; [K22] again", ["K22", "N21"]),
    ("# 4.74 s, drop mode [ZARM]", ["ZARM"]),
    ("[Ka21] [Ri02] [La21] [SI] [WP-Phobos] [NSSDC-Mars]", ["Ka21", "Ri02", "La21", "SI", "WP-Phobos", "NSSDC-Mars"]),
    ("[NIKKAN-2020b] [H2-CH24] [JAXA-2010-03] [DE440-GM]", ["NIKKAN-2020b", "H2-CH24", "JAXA-2010-03", "DE440-GM"]),
    ("G/T from [810-005]; Eb/N0 [130.1-G]", ["810-005", "130.1-G"]),
    ("Source [MRO120F]: Konopliv", ["MRO120F"]),  # a colon after a key, not a link definition
    ('"[CNES-MMX], [JAXA-MMX]"', ["CNES-MMX", "JAXA-MMX"]),
    ("(facts [N21])", ["N21"]),
    ("| [PITH] |", ["PITH"]),
    ("``[K22]``", ["K22"]),
])
def test_citation_key_matches(text, keys):
    assert B.cited_keys(text) == keys


@pytest.mark.parametrize("text", [
    "x[N]", "list[Path]", "dict[str, Any]", "tuple[Reference, ...]", "a[0][J]", "f(x)[K22]",
    "tb = [T0]", "ST = [S]", "blocks = [value], [J]", "[None] * K", "[True]", "[False] * n",
    "[README](../README.md)", "[Text][ref]", "[ref]: https://example.org", "[ref]: ../x.md",
    "[A-Z]", "[A-Za-z0-9]*", "[0-9]", "[1-2]", "[x]", "[N]", "[10]", "[[K22]]",
    "epoch [TDB]", "time [UTC]", "power [MW]", "f [GHz]", "T [K]", "r [km]", "[J2000]", "p [Pa]", "Part [II]",
])
def test_citation_key_ignores_look_alikes(text):
    assert B.cited_keys(text) == []


def test_no_entry_is_a_unit():
    """NOT_KEYS never hides an entry (a key that is also a unit would be unreachable)."""
    assert not B.NOT_KEYS & set(B.bibliography())
    assert B.cited_keys("[TDBX] [UTC-2020]") == ["TDBX", "UTC-2020"]  # only the exact tokens


def test_entries_are_complete():
    """Every entry: authors, a title, a year (1800-2100) or a note saying it is undated; a DOI looks
    like a DOI (and is not a URL), a URL is http(s); a described title says it was not recorded."""
    bib = B.bibliography()
    assert len(bib) >= 120
    for k, r in bib.items():
        assert r.key == k and B.CITATION_KEY.fullmatch(f"[{k}]"), k
        assert r.authors and all(a.strip() for a in r.authors), k
        assert r.title.strip(), k
        if r.year is None:
            assert "undated" in r.note.lower(), k
        else:
            assert isinstance(r.year, int) and 1800 <= r.year <= 2100, (k, r.year)
        assert r.doi is None or DOI.match(r.doi), (k, r.doi)
        assert r.url is None or re.match(r"^https?://\S+$", r.url), (k, r.url)
        if "not recorded" in r.title:  # a description, marked as such at its end
            assert r.title.endswith("title not recorded)"), k
        assert r.text().startswith(r.names) and r.title.rstrip(".") in r.text(), k


def test_no_two_keys_for_one_doi_and_no_duplicate_keys():
    """DOIs are unique; the YAML has no key twice (a duplicate would silently replace the first)."""
    dois = [r.doi.lower() for r in B.bibliography().values() if r.doi]
    assert len(dois) == len(set(dois)), sorted(d for d in dois if dois.count(d) > 1)

    class Strict(yaml.SafeLoader):
        pass

    def mapping(loader, node, deep=False):
        keys = [loader.construct_object(k, deep=deep) for k, _ in node.value]
        dup = sorted({str(k) for k in keys if keys.count(k) > 1})
        assert not dup, dup
        return yaml.SafeLoader.construct_mapping(loader, node, deep)

    Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    raw = yaml.load((ROOT / "src" / "mmxsim" / "data" / "bibliography.yaml").read_text(encoding="utf-8"), Strict)
    assert list(raw) == list(B.bibliography())


def test_reference_lookup():
    r = B.reference("K22")
    assert B.reference("[K22]") is r
    assert r.link == "https://doi.org/10.1186/s40623-021-01545-7"
    assert r.names == "Kuramoto, K. et al."
    assert r.text() == ("Kuramoto, K. et al. (2022). Martian moons exploration MMX: sample return mission to "
                        "Phobos elucidating formation processes of habitable planets. Earth, Planets and Space "
                        "74:12. doi:10.1186/s40623-021-01545-7")
    web = B.reference("NSSDC-Mars")
    assert web.doi is None and web.link == web.url == "https://nssdc.gsfc.nasa.gov/planetary/factsheet/marsfact.html"
    assert "(n.d.)" in web.text() and web.text().endswith(web.url)
    assert B.reference("DEF-WOOMERA").link.startswith("https://www.defence.gov.au/")
    assert B.reference("PITH").link is None
    with pytest.raises(InputError) as e:
        B.reference("NOPE-1999")
    assert e.value.field == "citation key" and e.value.value == "NOPE-1999" and "K22" in e.value.allowed
    assert B.missing_keys("[K22] and [NOPE-1999], x[N]") == ["NOPE-1999"]


def test_malformed_entry_is_refused(monkeypatch, tmp_path):
    """An unknown field (a typo such as ``journal:``) or a missing title names the entry."""
    import mmxsim._data as D

    bad = tmp_path / "bibliography.yaml"
    monkeypatch.setattr(D, "data_path", lambda name: bad)
    try:
        for text, field in (("X1:\n  authors: [A]\n  title: T\n  journal: J\n", "journal"),
                            ("X1:\n  authors: [A]\n  year: 2000\n", None)):
            bad.write_text(text)
            B.bibliography.cache_clear()
            with pytest.raises(InputError) as e:
                B.bibliography()
            assert e.value.field == "bibliography.yaml: X1"
            if field:
                assert e.value.value == field
    finally:
        B.bibliography.cache_clear()


def test_every_entry_is_used(cited):
    """No orphan: every entry is cited in the sources or is a reference of navigation.literature."""
    from mmxsim.navigation import literature as L

    used = set(cited) | {r.cite for r in L.BIBLIOGRAPHY}
    assert not set(B.bibliography()) - used, sorted(set(B.bibliography()) - used)


def test_literature_references_agree_with_the_bibliography():
    """navigation.literature's references are the bibliography's entries (one source of truth)."""
    from mmxsim.navigation import literature as L

    assert L.BIBLIOGRAPHY
    for r in L.BIBLIOGRAPHY:
        b = B.reference(r.cite)
        assert (r.authors, r.year, r.title, r.journal, r.doi) == (b.authors, b.year, b.title, b.where, b.doi), r.key
    for c in L.PUBLISHED_GEODESY:
        assert c.reference.cite, c.key


def test_docs_page_is_generated():
    """docs/bibliography.md is exactly markdown() (regenerate: python -m mmxsim.bibliography >
    docs/bibliography.md); one anchored line per entry."""
    page = ROOT / "docs" / "bibliography.md"
    if not page.is_file():
        pytest.skip("docs/ not present")
    md = B.markdown()
    assert page.read_text(encoding="utf-8") == md
    for k in B.bibliography():
        assert md.count(f'<a id="{k}"></a>') == 1, k
    items = [ln for ln in md.splitlines() if ln.startswith("- ")]
    assert len(items) == len(B.bibliography())


def test_bibliography_reads_as_pyyaml_safe_loader_does():
    """The shipped file parsed by PyYAML's pure-Python safe loader gives the same entries as
    bibliography() (which uses libyaml's when PyYAML has it)."""
    import yaml

    from mmxsim._data import data_path
    from mmxsim.bibliography import bibliography

    raw = yaml.load(data_path("bibliography.yaml").read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    assert list(raw) == list(bibliography())
    for key, ref in bibliography().items():
        assert ref.title == str(raw[key]["title"])
        assert ref.doi == raw[key].get("doi") and ref.year == raw[key].get("year")
