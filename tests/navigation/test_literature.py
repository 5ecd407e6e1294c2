"""The table of published Phobos geodesy results (mmxsim.navigation.literature) and its comparison rows.

References: the published numbers as read in the abstracts named in each entry (also in
shared/nav-facts.md §1-2); the relative σ derived from an absolute one is checked against the
arithmetic by hand (tolerance 1e-12 relative). The rest are consistency checks (exact)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mmxsim.errors import InputError
from mmxsim.navigation import literature as L

DOI = re.compile(r"^10\.\d{4,9}/\S+$")
DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_cases_are_consistent():
    """Every case: unique key, a known kind, a reference in the bibliography with a DOI (or a stated
    reason for none: a conference abstract or 'DOI not read'), a setup method, at least one result;
    every result: known kind and parameter, a valid unit, a value of the kind's shape, a citation, a
    quote of at most one line and a confidence note."""
    keys = [c.key for c in L.PUBLISHED_GEODESY]
    assert len(keys) == len(set(keys))
    bib = {r.key: r for r in L.BIBLIOGRAPHY}
    for c in L.PUBLISHED_GEODESY:
        assert c.kind in ("simulation", "measurement"), c.key
        assert bib.get(c.reference.key) is c.reference, c.key
        r = c.reference
        assert DOI.match(r.doi) if r.doi else ("abstract" in r.journal or "DOI not read" in r.read), c.key
        assert r.read and r.title and r.journal and r.authors and 1900 < r.year < 2100
        assert c.setup.method and c.label
        assert c.results, c.key
        for res in c.results:
            assert res.kind in L.RESULT_KINDS and res.parameter in L.PARAMETERS, (c.key, res)
            assert res.unit in L.UNITS, (c.key, res.unit)
            assert res.citation and res.confidence and res.quote, (c.key, res)
            assert "\n" not in res.quote and len(res.quote) <= 140, (c.key, res.quote)
            if res.kind == "qualitative":
                assert res.value is None and res.unit == ""
            elif res.kind == "range_pct":
                lo, hi = res.value
                assert 0 < lo < hi and res.unit == "%"
            elif res.kind == "absolute":
                assert res.value > 0 and res.nominal is not None and res.unit not in ("%", "")
                assert res.sigma_level in (None, 1.0, 3.0)
            else:
                assert res.value > 0 and res.unit == "%"


def test_bibliography_entries():
    """Unique keys, DOIs well formed where given, and a BibTeX-like entry naming every field."""
    keys = [r.key for r in L.BIBLIOGRAPHY]
    assert len(keys) == len(set(keys))
    for r in L.BIBLIOGRAPHY:
        assert r.doi is None or DOI.match(r.doi), r.key
        b = r.bibtex()
        assert b.startswith(f"@article{{{r.key},") and b.endswith("}")
        for k in ("author", "year", "title", "journal", "note"):
            assert f"  {k} = {{" in b, (r.key, k)
        assert ("  doi = {" in b) == (r.doi is not None)
    assert L.reference("plumaris2022").short == "Plumaris et al. 2022"
    assert L.reference("ciccarelli2023").short == "Ciccarelli & Baresi 2023"
    with pytest.raises(InputError):
        L.reference("nobody1999")
    with pytest.raises(InputError):
        L.case("nobody1999")


def test_published_numbers_as_read():
    """The abstracts' figures (Yamamoto 2024: 0.1 %; Plumaris 2022: 0.1-1 % over 6x6 in a week;
    Yang 2019: C20 -0.1378 ± 0.0348 3σ) and the relative 1σ derived from an absolute σ."""
    y = L.case("yamamoto2024_2dqso")
    assert {r.parameter: r.value for r in y.results} == {"C20": 0.1, "C22": 0.1}
    p = L.case("plumaris2022_rs")
    assert p.results[0].value == (0.1, 1.0) and p.setup.duration_days == 7.0 and p.setup.field_degree == 6
    yang = {r.parameter: r for r in L.case("yang2019_mex").results}
    assert yang["C20"].relative_pct() == pytest.approx(100 * 0.0348 / 3 / 0.1378, rel=1e-12)
    assert yang["GM"].relative_pct() == pytest.approx(100 * 0.0075 / 3 / 7.0765, rel=1e-12)
    # an unstated σ level is taken as 1σ
    assert L.case("burmeister2018").results[0].relative_pct() == pytest.approx(100 * 0.03 / 1.14, rel=1e-12)
    assert L.case("caldiero2024").results[0].relative_pct() is None


def test_comparison_rows_verdicts_and_missing_values():
    """Ratios ours/published, the factor-2 verdicts, and "—"/None/"not computed" for missing or NaN
    values; one row per result of the selected kinds."""
    ours = {"C20": 0.15, "C22": 0.3, "field_d5": 40.0, "field_d6": float("nan")}
    rows = L.comparison_rows(ours)
    n_sim = sum(len(c.results) for c in L.PUBLISHED_GEODESY if c.kind == "simulation")
    assert len(rows) == n_sim and all(len(r) == len(L.COMPARISON_HEADER) for r in rows)
    by = {(r[0], r[2]): r for r in rows}
    c20 = by[("yamamoto2024_2dqso", "C20")]
    assert c20[5] == pytest.approx(1.5) and c20[6] == "within a factor 2" and c20[4] == "0.15 %"
    assert by[("yamamoto2024_2dqso", "C22")][6] == "worse by > 2"
    assert by[("yamamoto2024_3dqso", "field_d5")][6] == "resolved"
    d6 = by[("plumaris2022_rs", "field_d6")]
    assert d6[4] == "—" and d6[5] is None and d6[6] == "not computed"
    assert by[("plumaris2022_cg", "field_d10")][6] == "not computed"
    assert by[("caldiero2024", "interior")][5] is None and by[("caldiero2024", "interior")][6] == "qualitative"
    # the range: inside [lo/2, 2 hi] is within; far below is better
    assert L.comparison_rows({"field_d6": 1.5}, cases=("plumaris2022_rs",))[0][6] == "within a factor 2 of the range"
    assert L.comparison_rows({"field_d6": 0.01}, cases=("plumaris2022_rs",))[0][6] == "better than the range"
    assert L.comparison_rows({"field_d5": 150.0}, cases=("yamamoto2024_3dqso",))[0][6] == "not resolved"
    # nothing given: every numeric row "not computed"
    empty = L.comparison_rows({})
    assert {r[6] for r in empty} == {"not computed", "qualitative"}
    # measurements: today's knowledge
    meas = L.comparison_rows({"C20": 0.1}, kinds=("measurement",), cases=("yang2019_mex",))
    assert [r[2] for r in meas] == ["GM", "C20", "C22"]
    assert meas[1][5] == pytest.approx(0.1 / (100 * 0.0348 / 3 / 0.1378)) and meas[1][6] == "better by > 2"


def test_comparison_rows_setup_differences():
    """With our setup the differences name the fields that differ; fields a study does not state are
    listed as such."""
    ours = L.Setup("covariance analysis", duration_days=30.0, data_types=("Doppler", "landmarks", "LIDAR"),
                   three_d=False)
    row = L.comparison_rows({"field_d6": 0.5}, our_setup=ours, cases=("plumaris2022_rs",))[0]
    assert "duration (d): theirs 7, ours 30" in row[7]
    assert "data: theirs Doppler, ours Doppler, landmarks, LIDAR" in row[7]
    assert "not stated:" in row[7] and "Doppler σ (mm/s)" in row[7]
    row3d = L.comparison_rows({}, our_setup=ours, cases=("yamamoto2024_3dqso",))[0]
    assert "3D-QSO: theirs yes, ours no" in row3d[7]
    md = L.comparison_markdown(L.comparison_rows({"C20": 0.1}))
    lines = md.splitlines()
    assert lines[0].count("|") == len(L.COMPARISON_HEADER) + 1
    assert all(line.count("|") == len(L.COMPARISON_HEADER) + 1 for line in lines)


@pytest.mark.parametrize("bad", [{"C21": 1.0}, {"C20": -1.0}, {"C20": "0.1"}, [("C20", 0.1)]])
def test_comparison_rows_bad_input(bad):
    """Unknown parameters, negative or non-numeric σ and a non-dict raise InputError."""
    with pytest.raises(InputError):
        L.comparison_rows(bad)


def test_bad_kind_or_case():
    with pytest.raises(InputError):
        L.comparison_rows({}, kinds=("guess",))
    with pytest.raises(InputError):
        L.comparison_rows({}, cases=("nobody1999",))


def test_docs_cite_only_the_bibliography():
    """Every DOI written in docs/geodesy.md is an entry of BIBLIOGRAPHY (so issue 18's bibliography
    can be generated from it)."""
    page = DOCS / "geodesy.md"
    if not page.is_file():
        pytest.skip("docs/geodesy.md not present")
    dois = {d.rstrip(".") for d in re.findall(r"10\.\d{4,9}/[^\s,;)\]]+", page.read_text(encoding="utf-8"))}
    known = {r.doi for r in L.BIBLIOGRAPHY if r.doi}
    assert dois and dois <= known, sorted(dois - known)


def test_docs_page_examples_run(capsys):
    """The python blocks of docs/geodesy.md run, in order, in one namespace, and print."""
    page = DOCS / "geodesy.md"
    if not page.is_file():
        pytest.skip("docs/geodesy.md not present")
    blocks = re.findall(r"^```python\n(.*?)^```", page.read_text(encoding="utf-8"), flags=re.S | re.M)
    assert blocks
    ns: dict = {"__name__": "docs_geodesy"}
    for i, src in enumerate(blocks):
        exec(compile(src, f"geodesy.md[block {i + 1}]", "exec"), ns)
    assert capsys.readouterr().out.strip()
