"""Published Phobos geodesy results, for comparison with ours, and the references the geodesy docs cite.

Model
-----
No physics here: a typed table. :data:`PUBLISHED_GEODESY` holds one :class:`PublishedCase` per study
(or per configuration of a study): its :class:`Reference`, the :class:`Setup` as precisely as the text
we could read states it (``None`` where it was not read), and its :class:`Result` rows, each with the
place in the source it comes from and a ``confidence`` note saying what was actually read.
:func:`comparison_rows` lays "published vs ours" side by side, given our relative σ per parameter, with
the ratio ours/published and the setup differences named. :data:`BIBLIOGRAPHY` lists the references
the geodesy page cites (:meth:`Reference.bibtex` writes one as a BibTeX-like entry); their authors, year,
title, journal and DOI are those of the package bibliography (:mod:`mmxsim.bibliography`, key in
``Reference.cite``), so the two cannot disagree.

Simplifications and what was read
---------------------------------
Most entries were read from the **abstracts** (and, for a few, the introduction) of open-access
copies; the papers' method sections and tables were not reachable offline. So almost every setup
field (QSO sizes, arc lengths, Doppler noise, landmark counts, pixel noise, empirical accelerations,
reference radius, normalisation, a priori) of the MMX simulation studies is ``None`` = UNCONFIRMED,
and the results are the abstracts' summary sentences ("within the order of 0.1 %", "0.1–1 %"), not
table values. Nothing here is invented: a number is in a :class:`Result` only where the source's text
gives it; a qualitative finding has ``kind="qualitative"`` and no value.

Result kinds: ``"relative_pct"`` (relative σ or "accuracy", in %), ``"range_pct"`` (a range of relative
σ in %, ``value`` = (low, high)), ``"bound_pct"`` (an upper bound or order of magnitude of the relative
σ, in %), ``"absolute"`` (a published σ in ``unit``, at ``sigma_level`` σ, with the published central
value ``nominal`` so that the relative σ follows), ``"resolvable"`` (a set of coefficients is said to be
determinable; ``value`` is the relative σ in % below which we count a coefficient as resolved, 100 %:
our criterion, not the paper's) and ``"qualitative"`` (a finding without a number).

Sources: see each :class:`Reference` (authors, year, title, journal, DOI); the numbers are also
collected in ``shared/nav-facts.md`` §1–2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

from ..bibliography import reference as _bib_reference
from ..errors import InputError

__all__ = [
    "Reference",
    "Setup",
    "Result",
    "PublishedCase",
    "RESULT_KINDS",
    "UNITS",
    "PARAMETERS",
    "PUBLISHED_GEODESY",
    "BIBLIOGRAPHY",
    "case",
    "reference",
    "comparison_rows",
    "comparison_markdown",
    "COMPARISON_HEADER",
]

RESULT_KINDS = ("relative_pct", "range_pct", "bound_pct", "absolute", "resolvable", "qualitative")
UNITS = ("%", "1", "km^3/s^2", "deg", "")
# Parameter keys of the results (and of ``ours`` in comparison_rows): GM, the normalised C̄20 and C̄22,
# the forced libration amplitude, "field_d5"/"field_d6"/"field_d10" (the largest relative σ among the
# coefficients of degree <= 5, 6, 10, relative to the homogeneous values), "local" (local anomalies),
# "interior" (interior-structure retrieval) and "geometry" (orbit-geometry findings).
PARAMETERS = ("GM", "C20", "C22", "libration", "field_d5", "field_d6", "field_d10", "local", "interior",
              "geometry")


@dataclass(frozen=True)
class Reference:
    """A publication: ``key`` (short id), authors ("Surname, I."), year, title, journal (with volume and
    article/pages where read), DOI (``None`` if there is none), ``read``: what of it was read, and
    ``cite``: its citation key in the package bibliography (:func:`mmxsim.bibliography.reference`), from
    which authors, year, title, journal and DOI are taken."""

    key: str
    authors: tuple[str, ...]
    year: int
    title: str
    journal: str
    doi: str | None
    read: str
    cite: str = ""

    @property
    def short(self) -> str:
        """"Surname et al. YEAR" (or "A & B YEAR", "A YEAR")."""
        names = [a.split(",")[0] for a in self.authors]
        if len(names) > 1 and names[-1] == "et al.":
            return f"{names[0]} et al. {self.year}"
        if len(names) == 1:
            return f"{names[0]} {self.year}"
        if len(names) == 2:
            return f"{names[0]} & {names[1]} {self.year}"
        return f"{names[0]} et al. {self.year}"

    def bibtex(self) -> str:
        """A BibTeX-like ``@article`` entry (fields: author, year, title, journal, doi, note)."""
        lines = [f"@article{{{self.key},",
                 f"  author = {{{' and '.join(self.authors)}}},",
                 f"  year = {{{self.year}}},",
                 f"  title = {{{self.title}}},",
                 f"  journal = {{{self.journal}}},"]
        if self.doi:
            lines.append(f"  doi = {{{self.doi}}},")
        lines.append(f"  note = {{{self.read}}}")
        return "\n".join(lines) + "\n}"


@dataclass(frozen=True)
class Setup:
    """What a study assumed. ``None``: not stated in what we read (UNCONFIRMED). Units: km, days,
    mm/s, s, pixels, nm/s²."""

    method: str  # "covariance analysis", "simulated estimation", "real data", ...
    orbits: str | None = None  # free text, e.g. "2D QSOs of the MMX plan; low-altitude 3D-QSO"
    qso_altitudes_km: tuple[float, ...] | None = None
    three_d: bool | None = None  # a 3D (out-of-plane) QSO used
    duration_days: float | None = None
    data_types: tuple[str, ...] | None = None  # "Doppler", "range", "landmarks", "LIDAR", ...
    doppler_sigma_mm_s: float | None = None
    doppler_integration_s: float | None = None
    landmarks: int | None = None
    pixel_sigma: float | None = None
    lidar: bool | None = None
    empirical_accel_nm_s2: float | None = None  # level of the empirical accelerations
    estimated: tuple[str, ...] | None = None
    considered: tuple[str, ...] | None = None
    field_degree: int | None = None
    reference_radius_km: float | None = None
    normalisation: str | None = None
    a_priori: str | None = None
    notes: str = ""

    def known(self) -> dict[str, object]:
        """The fields that are stated (not ``None``), method and notes excluded."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.name not in ("method", "notes") and getattr(self, f.name) is not None}


@dataclass(frozen=True)
class Result:
    """One published figure. ``value``: float, (low, high) for ``range_pct``, ``None`` for
    ``qualitative``. ``citation``: where in the source (abstract, section, table, figure);
    ``quote``: at most one line of it (or a paraphrase, marked so); ``confidence``: what was read."""

    parameter: str
    kind: str
    value: float | tuple[float, float] | None
    unit: str
    citation: str
    quote: str
    confidence: str
    sigma_level: float | None = None  # 1 or 3 where stated; None: not stated
    nominal: float | None = None  # published central value (kind "absolute")
    condition: str = ""  # e.g. "if empirical accelerations < 1 nm/s²"

    def relative_pct(self) -> float | tuple[float, float] | None:
        """The relative 1σ in % where it follows from the figure (absolute σ / sigma_level / |nominal|;
        a 3σ figure is divided by 3, a figure of unstated level is taken as is), else ``value`` for the
        relative kinds, ``None`` for the qualitative ones."""
        if self.kind == "absolute":
            if self.nominal is None or self.nominal == 0 or self.value is None:
                return None
            return 100.0 * float(self.value) / (self.sigma_level or 1.0) / abs(self.nominal)
        if self.kind in ("relative_pct", "bound_pct", "resolvable"):
            return float(self.value)
        if self.kind == "range_pct":
            lo, hi = self.value
            return (float(lo), float(hi))
        return None


@dataclass(frozen=True)
class PublishedCase:
    """One study, or one configuration of a study (``key`` unique): ``kind`` "simulation" (a
    pre-mission covariance/estimation study) or "measurement" (today's knowledge from real data)."""

    key: str
    reference: Reference
    kind: str
    label: str
    setup: Setup
    results: tuple[Result, ...] = field(default_factory=tuple)


# ----------------------------------------------------------------------------------------------------
# References: authors, year, title, journal and DOI come from the package bibliography
# (mmxsim/data/bibliography.yaml, one source of truth, :mod:`mmxsim.bibliography`); ``read`` says what
# of each paper was read for the numbers of this module.


def _cite(key: str, cite: str, read: str) -> Reference:
    """The bibliography entry ``cite`` as a :class:`Reference` of this table, under ``key``."""
    b = _bib_reference(cite)
    if b.year is None:
        raise InputError("cite", cite, "a bibliography entry with a year")
    return Reference(key, b.authors, b.year, b.title, b.where, b.doi, read, cite)


_YAMAMOTO_2024 = _cite(
    "yamamoto2024", "YA24",
    "abstract and the start of the introduction (article page, open access); methods, tables and figures "
    "not read")
_YAMAMOTO_2025 = _cite(
    "yamamoto2025", "YA25",
    "conference abstract (confit.atlas.jp, English and Japanese pages); its end (the results) not read")
_MATSUMOTO_2021 = _cite(
    "matsumoto2021", "M21",
    "abstract and introduction start; Fig. 7 caption via shared/nav-facts.md §2; requirement values not read")
_PLUMARIS_2022 = _cite(
    "plumaris2022", "PL22", "abstract (MDPI article page and index copies); body and tables not read")
_CICCARELLI_2023 = _cite(
    "ciccarelli2023", "CB23",
    "abstract (index copy) and the abstract of the conference version (Surrey repository); no numbers read")
_CALDIERO_2024 = _cite("caldiero2024", "CL24", "abstract (index copy); no numbers read")
_CHEN_2022 = _cite("chen2022", "CH22", "abstract and introduction (MDPI article page and copies)")
_LE_MAISTRE_2019 = _cite(
    "lemaistre2019", "LM19",
    "title and DOI from a citation list (A&A cited-by page); the four families (rubble pile, heavily "
    "fractured, porous, icy) as summarised by Chen et al. 2022, introduction; the paper itself not read")
_NAKAMURA_2021 = _cite(
    "nakamura2021", "N21",
    "abstract and Fig. 12 caption (3D-QSO z = ±20/±30 km, beta = -5 and 21 deg); Table 1 not read")
_YANG_2019 = _cite("yang2019", "Y19", "abstract; normalisation and reference radius UNCONFIRMED")
_JACOBSON_LAINEY_2014 = _cite(
    "jacobson2014", "JL14", "not read: the accuracies are quoted by Chen et al. 2022, introduction")
_JACOBSON_2010 = _cite("jacobson2010", "J10", "abstract (shared/nav-facts.md §1); DOI not read")
_ANDERT_2010 = _cite("andert2010", "A10", "abstract (Mendeley copy)")
_BURMEISTER_2018 = _cite("burmeister2018", "BU18", "abstract (TU Berlin bibliography)")
_LAINEY_2021 = _cite(
    "lainey2021", "La21",
    "abstract (CDS ReadMe J/A+A/650/A64, arXiv:2009.06482; bibcode 2021A&A...650A..64L); DOI not read")
_SENSHU_2021 = _cite("senshu2021", "S21", "Table 1 (garbled copy; shared/nav-facts.md §4)")
_KURAMOTO_2022 = _cite(
    "kuramoto2022", "K22", "Table 4 (TENGOO field of view, IFOV, pixels) as cited by instruments.cameras")
_ARCHINAL_2018 = _cite("archinal2018", "AR18", "Table 2 via pck00011.tpc (bodies.rotation)")
_MONTENBRUCK_GILL = _cite("montenbruck2000", "MG00", "§3.2, eqs. 3.29-3.33 (gravity.fast, dynamics.forces)")
_TAPLEY_2004 = _cite("tapley2004", "TSB04", "ch. 4 (navigation.estimation, navigation.covariance)")
_BISCANI_IZZO_2021 = _cite(
    "biscani2021", "BI21",
    "the heyoka paper, cited as 'MNRAS 2021' by navigation.variational; title UNCONFIRMED, DOI not read")

BIBLIOGRAPHY: tuple[Reference, ...] = (
    _YAMAMOTO_2024, _YAMAMOTO_2025, _MATSUMOTO_2021, _PLUMARIS_2022, _CICCARELLI_2023, _CALDIERO_2024,
    _CHEN_2022, _LE_MAISTRE_2019, _NAKAMURA_2021, _YANG_2019, _JACOBSON_LAINEY_2014, _JACOBSON_2010,
    _ANDERT_2010, _BURMEISTER_2018, _LAINEY_2021, _SENSHU_2021, _KURAMOTO_2022, _ARCHINAL_2018,
    _MONTENBRUCK_GILL, _TAPLEY_2004, _BISCANI_IZZO_2021,
)

_ABSTRACT = "abstract only"
_CHEN_QUOTE = ("2nd-degree gravity coefficients at an accuracy of 1‰, even in the presence of an ephemeris "
               "error of 2 km")
_CHEN_NOTE = _ABSTRACT + "; 1‰ = 0.1 %; σ level not stated"

PUBLISHED_GEODESY: tuple[PublishedCase, ...] = (
    # ---------------------------------------------------------------- MMX pre-mission simulations
    PublishedCase(
        "yamamoto2024_2dqso", _YAMAMOTO_2024, "simulation", "2D QSOs, Doppler + landmarks + LIDAR",
        Setup("simulated estimation (orbit simulated in a dynamic model of the MMX mission plan)",
              orbits="two-dimensional (equatorial) QSOs of the MMX mission plan", three_d=False,
              data_types=("Doppler", "landmarks", "LIDAR"), lidar=True,
              estimated=("Stokes coefficients (normalised, C̄ notation)",),
              normalisation="fully normalised (C̄ in the abstract; 4π convention UNCONFIRMED)",
              notes="QSO sizes, arc lengths, noise, landmark count, a priori: not read (UNCONFIRMED)"),
        (Result("C20", "bound_pct", 0.1, "%", "abstract",
                "C̄20 and C̄22 ... determined with an accuracy within the order of 0.1%",
                _ABSTRACT + "; 'order of' 0.1 %: an order of magnitude, not a table value; σ level not stated"),
         Result("C22", "bound_pct", 0.1, "%", "abstract",
                "C̄20 and C̄22 ... determined with an accuracy within the order of 0.1%",
                _ABSTRACT + "; 'order of' 0.1 %: an order of magnitude, not a table value; σ level not stated"))),
    PublishedCase(
        "yamamoto2024_3dqso", _YAMAMOTO_2024, "simulation", "low-altitude 3D-QSO",
        Setup("simulated estimation", orbits="a 3D-QSO at low altitude (added to the 2D QSOs)", three_d=True,
              data_types=("Doppler", "landmarks", "LIDAR"), lidar=True,
              notes="altitude and out-of-plane amplitude not read (UNCONFIRMED)"),
        (Result("field_d5", "resolvable", 100.0, "%", "abstract",
                "coefficients up to degree and order 5 could be estimated",
                _ABSTRACT + "; 'estimated' read as resolved; 100 % relative σ is our threshold",
                condition="only if a low-altitude 3D-QSO is flown"),)),
    PublishedCase(
        "yamamoto2024_ascent", _YAMAMOTO_2024, "simulation", "ascending trajectory after landing",
        Setup("simulated estimation", orbits="the ascent from Phobos' surface after the landing",
              data_types=("Doppler", "landmarks", "LIDAR")),
        (Result("local", "qualitative", None, "", "abstract",
                "(paraphrase) the ascent's data can reveal local density anomalies around the landing site",
                _ABSTRACT),)),
    PublishedCase(
        "yamamoto2025_stepwise", _YAMAMOTO_2025, "simulation", "stepwise descent through four QSO altitudes",
        Setup("simulated estimation with CNES GINS, from an initial field and orbit that differ from the truth",
              orbits="four QSOs of different altitudes flown from high to low; each step's estimated field is "
                     "the initial field of the next",
              data_types=("Doppler", "laser ranging", "landmarks"), lidar=True,
              estimated=("spacecraft orbit", "gravity field"),
              notes="truth: the field of an assumed shape and internal density structure; altitudes, durations "
                    "and noise not read (UNCONFIRMED)"),
        (Result("geometry", "qualitative", None, "", "abstract",
                "(paraphrase) lowering first the low-degree errors makes the higher degrees easier at low altitude",
                "conference abstract (English and Japanese pages; the text is cut before any result)"),)),
    PublishedCase(
        "plumaris2022_rs", _PLUMARIS_2022, "simulation", "radio science, one week",
        Setup("covariance analysis, coupled Phobos-spacecraft state estimation", duration_days=7.0,
              data_types=("Doppler",), empirical_accel_nm_s2=1.0,
              estimated=("spacecraft state", "Phobos state", "spherical harmonics"),
              field_degree=6,
              notes="orbit, Doppler noise and cadence not read (UNCONFIRMED); 'below the nm/s2 level' is "
                    "the condition on the empirical accelerations; relative to the homogeneous-interior values"),
        (Result("field_d6", "range_pct", (0.1, 1.0), "%", "abstract",
                "RS is able to infer the 6 × 6 spherical harmonic spectrum to an accuracy of 0.1–1%",
                _ABSTRACT + "; relative to the homogeneous interior values; σ level not stated",
                condition="empirical accelerations modelled below the nm/s² level"),)),
    PublishedCase(
        "plumaris2022_cg", _PLUMARIS_2022, "simulation", "radio science + cold-atom gradiometer",
        Setup("covariance analysis", duration_days=7.0, data_types=("Doppler", "gravity gradients"),
              field_degree=10, notes="a gradiometer MMX does not carry: listed for completeness"),
        (Result("field_d10", "bound_pct", 0.1, "%", "abstract",
                "enabling an accuracy below 0.1% for most of the 10 × 10 spectrum",
                _ABSTRACT + "; 'most of' the coefficients, not all"),)),
    PublishedCase(
        "chen2022_cubesat", _CHEN_2022, "simulation", "mothership-CubeSat inter-satellite Doppler",
        Setup("Monte Carlo simulation of the estimation",
              orbits="mothership and a CubeSat near Phobos (orbits not read)",
              data_types=("inter-satellite Doppler",),
              notes="Mars-Phobos ephemeris error 0 to 2 km considered"),
        (Result("C20", "relative_pct", 0.1, "%", "abstract", _CHEN_QUOTE, _CHEN_NOTE),
         Result("C22", "relative_pct", 0.1, "%", "abstract", _CHEN_QUOTE, _CHEN_NOTE))),
    PublishedCase(
        "ciccarelli2023", _CICCARELLI_2023, "simulation", "periodic and quasi-periodic QSOs",
        Setup("covariance analysis (a consider covariance analysis in the authors' conference version)",
              orbits="planar and non-planar (3D) retrograde periodic and quasi-periodic orbits",
              three_d=True, notes="sets of observables compared; which, and their noise, not read"),
        (Result("geometry", "qualitative", None, "", "abstract",
                "(paraphrase) low-altitude non-planar QSOs improve the libration and the gravity field",
                _ABSTRACT + "; no numbers"),)),
    PublishedCase(
        "caldiero2024", _CALDIERO_2024, "simulation", "interior inversion (level set)",
        Setup("non-linear least-squares inversion of simulated geodetic observables (level-set interior)",
              data_types=("gravity field", "rotation (libration)"),
              notes="'realistic measurement resolution and noise scenarios' for MMX; values not read"),
        (Result("interior", "qualitative", None, "", "abstract",
                "(paraphrase) gravity alone detects a mass anomaly under Stickney; libration is needed for "
                "concentric layers or density varying with depth", _ABSTRACT + "; no numbers"),)),
    # ---------------------------------------------------------------- today's knowledge (real data)
    PublishedCase(
        "yang2019_mex", _YANG_2019, "measurement", "two Mars Express flybys (2010, 2013)",
        Setup("real data, regularised least squares with the constant-density field as a priori",
              data_types=("Doppler",), field_degree=2,
              normalisation="UNCONFIRMED (read as unnormalised at 11 km in docs/interior.md)"),
        (Result("GM", "absolute", 7.5e-7, "km^3/s^2", "abstract",
                "(7.0765 ± 0.0075) × 10^5 m^3 s^-2", _ABSTRACT, sigma_level=3.0, nominal=7.0765e-4),
         Result("C20", "absolute", 0.0348, "1", "abstract", "C20 = −0.1378 ± 0.0348", _ABSTRACT + "; 3σ",
                sigma_level=3.0, nominal=-0.1378),
         Result("C22", "absolute", 0.0153, "1", "abstract", "C22 = 0.0166 ± 0.0153(3σ)", _ABSTRACT + "; 3σ",
                sigma_level=3.0, nominal=0.0166))),
    PublishedCase(
        "jacobson2014", _JACOBSON_LAINEY_2014, "measurement", "orbit fit with a quadrupole Phobos",
        Setup("real data (astrometry and spacecraft tracking; not read)", field_degree=2),
        (Result("C20", "relative_pct", 6.0, "%", "Chen et al. 2022, introduction",
                "the accuracies of the estimated C20 and C22 were stated to be 6% and 3%",
                "secondary: quoted by Chen et al. 2022; primary not read"),
         Result("C22", "relative_pct", 3.0, "%", "Chen et al. 2022, introduction",
                "the accuracies of the estimated C20 and C22 were stated to be 6% and 3%",
                "secondary: quoted by Chen et al. 2022; primary not read"))),
    PublishedCase(
        "jacobson2010", _JACOBSON_2010, "measurement", "satellite orbits and Phobos libration",
        Setup("real data"),
        (Result("GM", "absolute", 0.006e-4, "km^3/s^2", "abstract", "(7.104 ± 0.006) × 10^-4 km^3 s^-2",
                _ABSTRACT + " (shared/nav-facts.md §1); σ level not stated", nominal=7.104e-4),
         Result("libration", "absolute", 0.2, "deg", "abstract", "libration 1.1 ± 0.2°",
                _ABSTRACT + " (shared/nav-facts.md §1); σ level not stated", nominal=1.1))),
    PublishedCase(
        "andert2010", _ANDERT_2010, "measurement", "Mars Express flyby radio tracking",
        Setup("real data", data_types=("Doppler",)),
        (Result("GM", "absolute", 0.0021e-3, "km^3/s^2", "abstract", "GM = 0.7127 ± 0.0021 × 10^-3 km3/s2",
                _ABSTRACT + "; σ level not stated", nominal=0.7127e-3),)),
    PublishedCase(
        "burmeister2018", _BURMEISTER_2018, "measurement", "Mars Express and Viking images",
        Setup("real data, inertial-frame bundle block adjustment", data_types=("images",), landmarks=685),
        (Result("libration", "absolute", 0.03, "deg", "abstract", "forced libration amplitude of 1.14° ± 0.03°",
                _ABSTRACT + "; 685 control points; σ level not stated", nominal=1.14),)),
    PublishedCase(
        "lainey2021", _LAINEY_2021, "measurement", "ephemerides from 1877-2018 astrometry",
        Setup("real data, libration fitted with Mars' k2/Q and the moons' initial states (homogeneous interior)",
              data_types=("astrometry",)),
        (Result("libration", "absolute", 0.01, "deg", "abstract", "physical libration 1.09 +/- 0.01 degrees",
                _ABSTRACT + "; σ level not stated", nominal=1.09),)),
)


def case(key: str) -> PublishedCase:
    """The case with this key (InputError listing the keys otherwise)."""
    for c in PUBLISHED_GEODESY:
        if c.key == key:
            return c
    raise InputError("case", key, ", ".join(c.key for c in PUBLISHED_GEODESY))


def reference(key: str) -> Reference:
    """The bibliography entry with this key (InputError listing the keys otherwise)."""
    for r in BIBLIOGRAPHY:
        if r.key == key:
            return r
    raise InputError("reference", key, ", ".join(r.key for r in BIBLIOGRAPHY))


COMPARISON_HEADER = ("case", "source", "parameter", "published", "ours", "ratio ours/published", "verdict",
                     "setup differences")

_SETUP_LABELS = {
    "orbits": "orbits", "qso_altitudes_km": "QSO altitudes (km)", "three_d": "3D-QSO",
    "duration_days": "duration (d)", "data_types": "data", "doppler_sigma_mm_s": "Doppler σ (mm/s)",
    "doppler_integration_s": "Doppler count (s)", "landmarks": "landmarks", "pixel_sigma": "pixel σ",
    "lidar": "LIDAR", "empirical_accel_nm_s2": "empirical acc. (nm/s²)", "estimated": "estimated",
    "considered": "considered", "field_degree": "field degree", "reference_radius_km": "R (km)",
    "normalisation": "normalisation", "a_priori": "a priori",
}


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, tuple):
        return ", ".join(_fmt(x) for x in v)
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _published_text(r: Result) -> str:
    if r.kind == "qualitative":
        return r.quote
    if r.kind == "range_pct":
        return f"{r.value[0]:g}–{r.value[1]:g} %"
    if r.kind == "bound_pct":
        return f"≲ {r.value:g} %"
    if r.kind == "resolvable":
        return "resolvable"
    if r.kind == "relative_pct":
        return f"{r.value:g} %"
    rel = r.relative_pct()
    lvl = f" ({r.sigma_level:g}σ)" if r.sigma_level else ""
    unit = "" if r.unit == "1" else f" {r.unit}"
    base = f"± {r.value:g}{unit}{lvl}"
    return base + (f" = {rel:.3g} % (1σ)" if rel is not None else "")


# The setup fields that matter most for a σ; those a study does not state are named in the table.
_CORE = ("qso_altitudes_km", "duration_days", "data_types", "doppler_sigma_mm_s", "landmarks",
         "empirical_accel_nm_s2", "field_degree")


def _differences(c: PublishedCase, our_setup: Setup | None) -> str:
    known = c.setup.known()
    unknown = [_SETUP_LABELS[k] for k in _CORE if k not in known]
    parts = []
    if our_setup is not None:
        ours = our_setup.known()
        for k, v in known.items():
            if k in ours and ours[k] != v:
                parts.append(f"{_SETUP_LABELS[k]}: theirs {_fmt(v)}, ours {_fmt(ours[k])}")
    else:
        parts.extend(f"{_SETUP_LABELS[k]}: {_fmt(v)}" for k, v in known.items())
    text = "; ".join(parts)
    if c.setup.notes:
        text = f"{text}; {c.setup.notes}" if text else c.setup.notes
    if unknown:
        text += ("; " if text else "") + "not stated: " + ", ".join(unknown)
    return text


def _verdict(r: Result, ours: float) -> tuple[float | None, str]:
    """ratio ours/published and a verdict (the issue's criterion: within a factor of 2)."""
    rel = r.relative_pct()
    if r.kind == "range_pct":
        lo, hi = rel
        ratio = ours / hi
        if lo / 2.0 <= ours <= hi * 2.0:
            return ratio, "within a factor 2 of the range"
        return ratio, "better than the range" if ours < lo / 2.0 else "worse than the range by > 2"
    if r.kind == "resolvable":
        return ours / rel, "resolved" if ours < rel else "not resolved"
    if rel is None or rel <= 0:
        return None, "no number to compare"
    ratio = ours / rel
    if r.kind == "bound_pct":
        return ratio, "within a factor 2" if ratio <= 2.0 else "worse by > 2"
    if 0.5 <= ratio <= 2.0:
        return ratio, "within a factor 2"
    return ratio, "better by > 2" if ratio < 0.5 else "worse by > 2"


def comparison_rows(ours: dict[str, float], our_setup: Setup | None = None, kinds: tuple[str, ...] = ("simulation",),
                    cases: tuple[str, ...] | None = None) -> list[tuple]:
    """"Published vs ours": one row per published :class:`Result` of the selected cases.

    ``ours``: our relative 1σ in % per parameter key of :data:`PARAMETERS` (e.g. ``{"C20": 0.08,
    "C22": 0.05, "field_d5": 40.0}``); a missing key, ``None`` or NaN gives "—" and no ratio.
    ``our_setup``: our :class:`Setup`; with it the differences column names the fields where the
    published setup differs from ours, without it the published setup's stated fields; fields the
    study does not state are listed as such. ``kinds``: which case kinds ("simulation",
    "measurement"); ``cases``: restrict to these case keys.

    Each row is (case key, source "Surname et al. YEAR", parameter, published text, ours text,
    ratio ours/published or None, verdict, setup differences); :data:`COMPARISON_HEADER` names them.
    For a range the ratio is to its upper end; the verdict is "within a factor 2" of the published
    figure (of the range, or of the bound), "better/worse by > 2", "resolved"/"not resolved" for a
    "resolvable" result (our relative σ below 100 %), or "qualitative" for a finding without a number.
    """
    if not isinstance(ours, dict):
        raise InputError("ours", type(ours).__name__, "a dict {parameter: our relative 1σ in %}")
    for k, v in ours.items():
        if k not in PARAMETERS:
            raise InputError("ours", k, ", ".join(PARAMETERS))
        if v is not None and not (isinstance(v, (int, float)) and (math.isnan(v) or v >= 0)):
            raise InputError(f"ours[{k!r}]", v, "a relative σ in % >= 0, None or NaN")
    known_kinds = {c.kind for c in PUBLISHED_GEODESY}
    for k in kinds:
        if k not in known_kinds:
            raise InputError("kinds", k, ", ".join(sorted(known_kinds)))
    if cases is not None:
        for k in cases:
            case(k)
    rows = []
    for c in PUBLISHED_GEODESY:
        if c.kind not in kinds or (cases is not None and c.key not in cases):
            continue
        diff = _differences(c, our_setup)
        for r in c.results:
            v = ours.get(r.parameter)
            have = v is not None and not math.isnan(v)
            ours_txt = f"{v:.3g} %" if have else "—"
            if r.kind == "qualitative":
                ratio, verdict = None, "qualitative"
            elif not have:
                ratio, verdict = None, "not computed"
            else:
                ratio, verdict = _verdict(r, float(v))
            pub = _published_text(r)
            if r.condition:
                pub += f" ({r.condition})"
            rows.append((c.key, c.reference.short, r.parameter, pub, ours_txt, ratio, verdict, diff))
    return rows


def comparison_markdown(rows: list[tuple]) -> str:
    """The rows of :func:`comparison_rows` as a Markdown table."""
    def cell(x):
        if x is None:
            return "—"
        if isinstance(x, float):
            return f"{x:.3g}"
        return str(x).replace("|", "/")
    lines = ["| " + " | ".join(COMPARISON_HEADER) + " |", "|" + "---|" * len(COMPARISON_HEADER)]
    lines += ["| " + " | ".join(cell(x) for x in row) + " |" for row in rows]
    return "\n".join(lines)
