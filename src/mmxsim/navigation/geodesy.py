"""Covariance analysis of a QSO campaign for Phobos geodesy (multi-arc, formal covariance).

Model
-----
The campaign is a sequence of QSOs flown one after the other (name, Mars-centred ICRF state at the
QSO's start epoch, days flown). Each QSO is cut into arcs of ``arc_days`` (the last one shorter if
needed); the truth trajectory continues from arc to arc inside a QSO (the end state of one arc is
the start of the next) and each QSO starts from its own hand-off state.

Parameters are of two kinds (the classical multi-arc split of radio-science analyses):

* **local**, one set per arc: the spacecraft state at the arc's start (``x .. vz``), the solar
  radiation pressure ``srp:cr_area_over_mass`` and constant RTN empirical accelerations
  ``emp:r emp:t emp:n`` (when the model has them) and a range bias ``bias:<station>`` per station
  that ranged in the arc; each with an a priori (:class:`LocalApriori`; the ``od`` analysis'
  defaults);
* **global**, common to the campaign: by default every runtime parameter of Phobos in the model
  (``phobos:gm``, the normalised Stokes coefficients ``phobos:C20 .. phobos:S55`` of the model's
  ``estimate_degree`` at R = 11 km, ``phobos:libration`` and any other ``phobos:*`` parameter the
  model adds, e.g. an ephemeris correction), with an a priori (:class:`GlobalApriori`).

For each arc and data kind the information matrix ``N = H^T W H`` is formed at the truth (formal
covariance: no noise, no iterations; accumulated in chunks of rows by
:meth:`~mmxsim.navigation.od.OrbitProblem.information`, ``W = diag(1/sigma^2)``; the arc's trajectory
with its variational equations is flown once and serves the row selection and the partials). The local parameters are eliminated with their a priori by the Schur
complement (in coordinates scaled by the a priori sigmas, ``p~ = p / sigma_0``)::

    N_g,arc = N_gg - N_gl (N_ll + Lambda_l)^-1 N_lg,

which is exactly the information that the arc brings to the globals once its locals are estimated
beside them (the marginal of the joint normal equations; checked in the tests). The reduced
informations of the arcs are summed with the global a priori ``Lambda_g``:
``P_g = (Lambda_g + sum N_g,arc)^-1``. A data combination (``doppler``, ``doppler+landmarks``,
``doppler+landmarks+lidar``) is a set of data kinds whose per-arc informations are added before the
reduction (the locals are common to all kinds of an arc).

Outputs (:class:`GeodesyCovariance`): the cumulative formal sigma after each arc in flight order
(the stepwise strategy of Yamamoto et al. 2025, JpGU PPS09-P05: each QSO starts from the
information of the previous ones); per QSO alone (its arcs and the a priori only) the sigma curve
and the days needed to reach ``threshold`` (0.1 %) of ``|value|`` for C20, C22 and GM:
interpolated linearly in log(sigma)-log(days) between arc ends, or, outside the flown days,
extrapolated with information accumulating at a steady rate from the last sample,
``1/sigma^2 = 1/sigma_0^2 + k t`` (``sigma ~ 1/sqrt(t)`` once the data dominate the a priori; flagged).

Simplifications
---------------
* Formal covariance only: the estimation model equals the truth's (no model error, no consider
  parameters); noise is white with the data's sigmas (the troposphere calibration residual is not
  added).
* Landmark images and LIDAR shots (:class:`SurfacePlan`) are nadir-pointed and evenly spaced; their
  rows are decided per arc with the true geometry (in the image, visible, lit; in the LIDAR's range
  window) by the simulators of :mod:`mmxsim.navigation.od`; per arc a constant camera and LIDAR
  pointing bias are locals; the landmark positions are nuisance globals (estimated over the whole
  campaign with their a priori, not reported) or held fixed; no per-image attitude error beyond the
  pixel noise.
* Arcs are independent apart from the globals: no arc-to-arc continuity constraint on the state, no
  stochastic accelerations; the empirical accelerations are constant over an arc.
* The tracking rows are given by the caller (the ``geodesy`` analysis schedules them in station passes);
  the arc keeps the rows whose count interval and light time lie inside it (2000 s margin).

Sources: a priori of the globals from ``../shared/nav-facts.md`` §1 (Jacobson 2010 GM
±0.006e-4 km³/s²; Burmeister et al. 2018 libration ±0.03°; 0.01 per Stokes coefficient ASSUMED, as
in the ``od`` analysis); stepwise strategy Yamamoto et al. 2025 (nav-facts §2).
"""

from __future__ import annotations

import math
import time as _time
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from ..dynamics.model import DynamicsModel
from ..errors import InputError
from .data import TrackingData
from .od import STATE_NAMES, OrbitProblem, Prior

# ---------------------------------------------------------------------------------------------
# Data kinds and combinations
# ---------------------------------------------------------------------------------------------
RADIO_ROWS = ("doppler", "range", "ddor")  # TrackingData.kind values that make the "radio" kind
KINDS = ("radio", "landmarks", "lidar")
AVAILABLE_KINDS = KINDS
#: the OrbitProblem data kinds (Information.normal keys) of each geodesy kind
PROBLEM_KINDS = {"radio": RADIO_ROWS, "landmarks": ("landmark",), "lidar": ("lidar",)}
COMBINATIONS = {
    "doppler": ("radio",),
    "doppler+landmarks": ("radio", "landmarks"),
    "doppler+landmarks+lidar": ("radio", "landmarks", "lidar"),
}
DEFAULT_COMBINATIONS = ("doppler",)
# relative threshold of the "days to threshold" figures (0.1 %: Yamamoto et al. 2024, nav-facts §2)
THRESHOLD = 1e-3
THRESHOLD_PARAMETERS = ("phobos:gm", "phobos:C20", "phobos:C22")
# margin before an arc's start for a row's count interval and light time (one-way Mars-Earth light
# time is at most 1340 s at 2.68 au; od analysis uses the same 2000 s)
LIGHT_TIME_MARGIN_S = 2000.0


@dataclass(frozen=True)
class LocalApriori:
    """A priori 1-sigma of the per-arc parameters (the ``od`` analysis' defaults)."""

    position_km: float = 1.0  # per axis (1000 m)
    velocity_km_s: float = 1e-4  # per axis (100 mm/s)
    srp_fraction: float = 0.10  # of Cr A/m
    empirical_km_s2: float = 1e-12  # per RTN axis (1 nm/s^2)
    range_bias_km: float = 5e-3  # per station and arc (5 m)
    pointing_rad: float = 1e-4  # camera and LIDAR boresight bias per axis and arc, ASSUMED (20 arcsec)

    def __post_init__(self):
        for k in ("position_km", "velocity_km_s", "srp_fraction", "empirical_km_s2", "range_bias_km",
                  "pointing_rad"):
            v = getattr(self, k)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise InputError(f"geodesy.local_apriori.{k}", v, "a finite sigma > 0")

    def sigma(self, name: str, value: float) -> float:
        if name in ("x", "y", "z"):
            return self.position_km
        if name in ("vx", "vy", "vz"):
            return self.velocity_km_s
        if name == "srp:cr_area_over_mass":
            return abs(value) * self.srp_fraction
        if name.startswith("emp:"):
            return self.empirical_km_s2
        if name.startswith("bias:"):
            return self.range_bias_km
        if name.startswith(("point:", "lidarpoint:")):
            return self.pointing_rad
        raise InputError("geodesy.local parameter", name,
                         "state, srp:cr_area_over_mass, emp:*, bias:*, point:cam:*, lidarpoint:*")


@dataclass(frozen=True)
class GlobalApriori:
    """A priori 1-sigma of the global (Phobos) parameters.

    ``gm_km3_s2``: Jacobson 2010 (nav-facts §1, ±0.006e-4 km³/s²); ``field_sigma``: each normalised Stokes
    coefficient (R = 11 km), 0.01 ASSUMED (~20 % of C̄20; Yang 2019's C20 is known to 25 %, nav-facts
    §1); ``libration_rad``: Burmeister et al. 2018 (±0.03°); ``other``: name -> sigma for any other
    global (e.g. Phobos' ephemeris corrections ``phobos:dx`` km, ``phobos:dvx`` km/s).
    """

    gm_km3_s2: float = 0.006e-4
    field_sigma: float = 0.01
    libration_rad: float = math.radians(0.03)
    landmark_km: float = 0.02  # each landmark coordinate (body-fixed), ASSUMED (control-point accuracy)
    other: Mapping = field(default_factory=dict)

    def __post_init__(self):
        for k in ("gm_km3_s2", "field_sigma", "libration_rad", "landmark_km"):
            v = getattr(self, k)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise InputError(f"geodesy.global_apriori.{k}", v, "a finite sigma > 0")
        for k, v in dict(self.other).items():
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise InputError(f"geodesy.global_apriori.other.{k}", v, "a finite sigma > 0")

    def sigma(self, name: str) -> float:
        if name in self.other:
            return float(self.other[name])
        if name == "phobos:gm":
            return self.gm_km3_s2
        if name == "phobos:libration":
            return self.libration_rad
        if name.startswith("phobos:C") or name.startswith("phobos:S"):
            return self.field_sigma
        if name.startswith("lmk:"):
            return self.landmark_km
        raise InputError("geodesy.global_apriori", name,
                         "phobos:gm, phobos:C.., phobos:S.., phobos:libration, or a sigma in GlobalApriori.other")


@dataclass(frozen=True)
class QsoLeg:
    """One QSO of the campaign: its name, Mars-centred ICRF state (km, km/s) at ``t0`` (TDB s) and
    the days flown."""

    name: str
    t0: float
    x0: np.ndarray
    days: float


@dataclass
class SurfacePlan:
    """Landmark images and LIDAR shots of the campaign (the models of :mod:`mmxsim.navigation.optical`
    and :mod:`mmxsim.navigation.altimetry`).

    ``shape``: Phobos' shape model (e.g. ``bodies.shapes.phobos_shape("ernst")``); ``landmarks``: the
    catalogue (:func:`~mmxsim.navigation.optical.select_landmarks`); ``camera``: intrinsics
    (:data:`~mmxsim.navigation.optical.OROCHI_PINHOLE` by default: the wide-angle camera sees the whole
    body from a QSO); ``images_per_day`` images evenly spaced in each arc (nadir-pointed, rows only for
    landmarks in the image, visible and lit); ``lidar_hz`` shots per second (0: none; nadir, in the
    LIDAR's range window). ``estimate_landmarks``: the landmark positions are global parameters with
    the a priori ``GlobalApriori.landmark_km`` (nuisance: estimated, not reported), else held fixed.
    Per arc a constant camera bias ``point:cam:1..3`` and LIDAR boresight bias ``lidarpoint:1..3`` are
    estimated (``LocalApriori.pointing_rad``)."""

    shape: object
    landmarks: object
    camera: object = None
    images_per_day: float = 200.0
    lidar_hz: float = 1.0
    optical_settings: object = None
    altimetry_settings: object = None
    estimate_landmarks: bool = True

    def __post_init__(self):
        from .optical import OROCHI_PINHOLE, Landmarks

        if not isinstance(self.landmarks, Landmarks):
            raise InputError("geodesy.surface.landmarks", type(self.landmarks).__name__,
                             "a Landmarks (navigation.optical.select_landmarks)")
        if self.camera is None:
            self.camera = OROCHI_PINHOLE
        for k, hi in (("images_per_day", 86400.0), ("lidar_hz", 10.0)):
            v = getattr(self, k)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and 0 <= v <= hi):
                raise InputError(f"geodesy.surface.{k}", v, f"a number in [0, {hi:g}]")

    def image_epochs(self, a0: float, a1: float) -> np.ndarray:
        n = int(round((a1 - a0) / 86400.0 * self.images_per_day))
        return a0 + (np.arange(n) + 0.5) * (a1 - a0) / max(n, 1)

    def shot_epochs(self, a0: float, a1: float) -> np.ndarray:
        if self.lidar_hz <= 0:
            return np.zeros(0)
        return np.arange(a0 + 0.5 / self.lidar_hz, a1, 1.0 / self.lidar_hz)

    def landmark_names(self) -> list[str]:
        return [f"lmk:{k}:{a}" for k in range(len(self.landmarks)) for a in "xyz"] if self.estimate_landmarks else []


# ---------------------------------------------------------------------------------------------
# Linear algebra (pure functions: tested on their own)
# ---------------------------------------------------------------------------------------------
def schur_reduce(N: np.ndarray, n_local: int, local_prior_information=None) -> np.ndarray:
    """The information on the globals (the last ``n - n_local`` parameters) left by an arc once its
    locals (the first ``n_local``) are eliminated with their a priori information (diagonal
    vector or matrix; default none): ``N_gg - N_gl (N_ll + Lambda_l)^-1 N_lg``."""
    N = np.asarray(N, float)
    n = N.shape[0]
    if N.ndim != 2 or N.shape != (n, n) or not 0 <= n_local <= n:
        raise InputError("geodesy.schur_reduce", getattr(N, "shape", N),
                         f"a square matrix with n >= n_local = {n_local}")
    L = slice(0, n_local)
    G = slice(n_local, n)
    A = N[L, L].copy()
    if local_prior_information is not None:
        lam = np.asarray(local_prior_information, float)
        A += np.diag(lam) if lam.ndim == 1 else lam
    if n_local == 0:
        return N[G, G].copy()
    c = np.linalg.cholesky(A)
    X = np.linalg.solve(c, N[L, G])  # c^-1 N_lg
    out = N[G, G] - X.T @ X
    return 0.5 * (out + out.T)


def _leading_inverse_factor(N_scaled: np.ndarray, k: int | None = None) -> np.ndarray:
    """``F`` (k, k) with ``F^T F`` the leading k x k block of ``(I + N)^-1`` (a priori-scaled
    coordinates; k = n by default): the first k parameters are moved last, ``I + N`` is factorised
    (Cholesky, ``L L^T``) and ``F = L_kk^-1`` from its trailing k x k block, since the trailing block of
    the inverse is ``(L_kk L_kk^T)^-1`` (the Schur complement of the other parameters). One Cholesky
    and a k x k inverse instead of the whole inverse: the campaign's marginals of its 38 reported
    globals beside 180 landmark coordinates."""
    n = N_scaled.shape[0]
    k = n if k is None else int(k)
    idx = np.r_[k:n, 0:k]
    M = N_scaled[np.ix_(idx, idx)]
    M[np.diag_indices(n)] += 1.0
    L = np.linalg.cholesky(M)
    return np.linalg.solve(L[n - k:, n - k:], np.eye(k))


def _sigma_from_information(N_scaled: np.ndarray, k: int | None = None) -> np.ndarray:
    """sqrt(diag((I + N)^-1)) in a priori-scaled coordinates, of the first ``k`` parameters (all by
    default)."""
    F = _leading_inverse_factor(N_scaled, k)
    return np.sqrt(np.sum(F * F, axis=0))


def _covariance_from_information(N_scaled: np.ndarray, k: int | None = None) -> np.ndarray:
    """The leading k x k block (all by default) of ``(I + N)^-1`` in a priori-scaled coordinates."""
    F = _leading_inverse_factor(N_scaled, k)
    return F.T @ F


def days_to_threshold(days, sigma, threshold: float, sigma0: float | None = None) -> tuple[float, bool]:
    """(days at which ``sigma`` reaches ``threshold``, extrapolated?) from a decreasing curve sampled at
    ``days``: linear in log(sigma)-log(days) between samples (exact for a power law such as
    sigma ~ 1/sqrt(t)); before the first sample or after the last one, extrapolated (flagged) with the
    law of information accumulating at a steady rate from that sample: ``1/sigma^2 = 1/sigma0^2 + k t``
    with ``sigma0`` the a priori sigma, i.e. ``sigma ~ 1/sqrt(t)`` once the data dominate (exactly that
    law when ``sigma0`` is None). 0 days when the a priori meets the threshold already."""
    d = np.asarray(days, float)
    s = np.asarray(sigma, float)
    if d.ndim != 1 or d.shape != s.shape or len(d) == 0 or np.any(d <= 0) or np.any(np.diff(d) <= 0):
        raise InputError("geodesy.days_to_threshold.days", days, "increasing positive days, one per sigma")
    if not (np.all(np.isfinite(s)) and np.all(s > 0)):
        raise InputError("geodesy.days_to_threshold.sigma", sigma, "finite sigmas > 0")
    if not (isinstance(threshold, (int, float, np.floating)) and math.isfinite(threshold) and threshold > 0):
        raise InputError("geodesy.days_to_threshold.threshold", threshold, "a finite value > 0")
    if sigma0 is not None and not (math.isfinite(sigma0) and sigma0 > 0):
        raise InputError("geodesy.days_to_threshold.sigma0", sigma0, "the a priori sigma (finite, > 0)")
    if sigma0 is not None and sigma0 <= threshold:
        return 0.0, False  # the a priori meets it already
    p0 = 0.0 if sigma0 is None else 1.0 / sigma0 ** 2

    def law(t_k: float, s_k: float) -> float:
        rate = (1.0 / s_k ** 2 - p0) / t_k
        if rate <= 0:
            return math.inf
        return max(0.0, (1.0 / threshold ** 2 - p0) / rate)

    below = np.flatnonzero(s <= threshold)
    if len(below) == 0:
        return float(law(d[-1], s[-1])), True
    i = int(below[0])
    if i == 0:
        if s[0] == threshold:
            return float(d[0]), False
        return float(law(d[0], s[0])), True
    x0, x1 = math.log(d[i - 1]), math.log(d[i])
    y0, y1 = math.log(s[i - 1]), math.log(s[i])
    y = math.log(threshold)
    x = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
    return float(math.exp(x)), False


# ---------------------------------------------------------------------------------------------
# Information of an arc per data kind
# ---------------------------------------------------------------------------------------------
def _information(problem: OrbitProblem, p: np.ndarray, kinds: Sequence[str]) -> dict:
    """Geodesy kind -> H^T W H (n, n) at ``p`` in the problem's parameter order, from
    :meth:`OrbitProblem.information` (chunked; each geodesy kind sums its problem kinds)."""
    want = [k for g in kinds for k in PROBLEM_KINDS[g]]
    info = problem.information(p, kinds=[k for k in want if k in _present_kinds(problem)])
    n = len(info.names)
    return {g: sum((info.normal[k] for k in PROBLEM_KINDS[g] if k in info.normal), np.zeros((n, n))) for g in kinds}


def _present_kinds(problem: OrbitProblem) -> set:
    out = set(problem.data.kind) if len(problem.data) else set()
    if problem.optical is not None and len(problem.optical):
        out.add("landmark")
    if problem.altimetry is not None and len(problem.altimetry):
        out.add("lidar")
    return out


# ---------------------------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------------------------
@dataclass
class GeodesyCovariance:
    """Result of :func:`campaign_covariance` (see module doc). Sigmas in the parameters' units
    (km³/s², unitless normalised coefficients, rad, ...)."""

    parameters: list  # global names
    truth: dict  # name -> true value
    combinations: list
    qsos: list  # names in flight order
    days: np.ndarray  # (K,) cumulative days at each arc end
    qso_of_sample: np.ndarray  # (K,) QSO name of each arc
    sigma: dict  # comb -> (K, n) cumulative formal sigma
    sigma_per_qso: dict  # comb -> qso -> {"days": (k,), "sigma": (k, n), "final": (n,)}
    days_to_threshold: dict  # comb -> qso -> param -> {"days", "extrapolated", "threshold"}
    covariance: dict  # comb -> (n, n) final cumulative
    apriori_sigma: np.ndarray  # (n,)
    setup: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    monte_carlo: object = None  # a MonteCarloResult of one arc's full estimation, when run (the analysis)

    def index(self, name: str) -> int:
        if name not in self.parameters:
            raise InputError("geodesy.parameter", name, ", ".join(self.parameters))
        return self.parameters.index(name)

    def final_sigma(self, combination: str) -> dict:
        """Name -> cumulative sigma at the campaign's end."""
        return dict(zip(self.parameters, self.sigma[combination][-1].tolist()))

    def to_dict(self) -> dict:
        """JSON-ready copy (lists and floats)."""
        def arr(a):
            return np.asarray(a, float).tolist()

        return {
            "parameters": list(self.parameters), "truth": {k: float(v) for k, v in self.truth.items()},
            "combinations": list(self.combinations), "qsos": list(self.qsos), "days": arr(self.days),
            "qso_of_sample": [str(q) for q in self.qso_of_sample],
            "apriori_sigma": arr(self.apriori_sigma),
            "sigma": {c: arr(v) for c, v in self.sigma.items()},
            "sigma_per_qso": {c: {q: {"days": arr(v["days"]), "sigma": arr(v["sigma"]), "final": arr(v["final"])}
                                  for q, v in per.items()} for c, per in self.sigma_per_qso.items()},
            "days_to_threshold": {c: {q: {k: {**v, "days": v["days"] if math.isfinite(v["days"]) else None}
                                          for k, v in per.items()} for q, per in d.items()}
                                  for c, d in self.days_to_threshold.items()},
            "covariance": {c: arr(v) for c, v in self.covariance.items()},
            "setup": self.setup, "timings": self.timings,
        }


# ---------------------------------------------------------------------------------------------
# The campaign
# ---------------------------------------------------------------------------------------------
def _check_legs(legs) -> list[QsoLeg]:
    legs = list(legs)
    if not legs:
        raise InputError("geodesy.qsos", legs, "at least one QSO leg")
    out, seen = [], set()
    for k, g in enumerate(legs):
        if not isinstance(g, QsoLeg):
            raise InputError(f"geodesy.qsos[{k}]", g, "a QsoLeg(name, t0, x0, days)")
        x0 = np.asarray(g.x0, float).reshape(-1)
        if x0.shape != (6,) or not np.all(np.isfinite(x0)):
            raise InputError(f"geodesy.qsos[{k}].x0", g.x0, "six finite numbers (km, km/s, Mars-centred ICRF)")
        if not (math.isfinite(g.days) and 0 < g.days <= 365):
            raise InputError(f"geodesy.qsos[{k}].days", g.days, "days flown in (0, 365]")
        if not math.isfinite(g.t0):
            raise InputError(f"geodesy.qsos[{k}].t0", g.t0, "finite TDB seconds past J2000")
        if g.name in seen:
            raise InputError(f"geodesy.qsos[{k}].name", g.name, "a name not used by another leg")
        seen.add(g.name)
        out.append(QsoLeg(str(g.name), float(g.t0), x0, float(g.days)))
    return out


def _model_values(model) -> dict:
    out = {}
    for f in model.forces:
        out.update(f.parameters())
    return out


def check_combinations(combinations, field: str = "geodesy.combinations") -> list[str]:
    """The combinations as a list; InputError for an unknown one, a repeated one or one whose data
    kinds are not available yet (landmarks, LIDAR)."""
    combinations = list(combinations)
    if not combinations or len(set(combinations)) != len(combinations):
        raise InputError(field, combinations, "a non-empty list of distinct combinations")
    for c in combinations:
        if c not in COMBINATIONS:
            raise InputError(field, c, ", ".join(COMBINATIONS))
    return combinations


def _noise_summary(tracking) -> dict:
    """Per radio kind: median sigma (km or km/s), median cadence (s, between consecutive rows of one
    receiver) and count time (s)."""
    out = {}
    for k in RADIO_ROWS:
        m = tracking.kind == k if len(tracking) else np.zeros(0, bool)
        if not np.any(m):
            continue
        t = tracking.t[m]
        gaps = []
        for r in set(tracking.receiver[m]):
            tr = np.sort(t[tracking.receiver[m] == r])
            gaps.extend(np.diff(tr).tolist())
        out[k] = {"sigma_median": float(np.median(tracking.sigma[m])),
                  "cadence_median_s": float(np.median(gaps)) if gaps else None,
                  "count_time_s": float(np.median(tracking.count_time[m])) if tracking.count_time is not None
                  else None}
    return out


def global_parameter_names(model) -> list[str]:
    """The model's Phobos runtime parameters (``phobos:*``) in the model's order."""
    from .variational import estimable_parameters

    return [n for n in estimable_parameters(model) if n.startswith("phobos:")]


def _surface_arc(prob, p, ap, kinds, surface, use_img, use_lid, local_apriori, global_apriori, rows):
    """One arc with landmarks and/or LIDAR in covariance mode (:func:`~mmxsim.navigation.od.surface_information`):
    (geodesy kind -> normal matrix in the order locals, globals; local names; local sigmas; global sigmas
    (with the landmark positions when imaged and estimated); rows per surface kind)."""
    from .od import surface_information

    extra = {}
    if use_img:
        extra.update({f"point:cam:{i}": 0.0 for i in (1, 2, 3)})
    if use_lid:
        extra.update({f"lidarpoint:{i}": 0.0 for i in (1, 2, 3)})
    nuis = surface.landmark_names() if use_img else []
    for nm in nuis:
        extra[nm] = float(surface.landmarks.position_km[int(nm.split(":")[1]), "xyz".index(nm[-1])])
    si = surface_information(prob, p, extra=extra, images=surface.image_epochs(prob.t0, prob.t1) if use_img else None,
                             landmarks=surface.landmarks, camera=surface.camera,
                             shots=surface.shot_epochs(prob.t0, prob.t1) if use_lid else None, shape=surface.shape,
                             optical_settings=surface.optical_settings,
                             altimetry_settings=surface.altimetry_settings)
    names = si.names
    n = len(names)
    nrow = {"landmark": int(si.rows.get("landmark", 0)), "lidar": int(si.rows.get("lidar", 0))}
    if nrow["landmark"] == 0:  # no image saw a landmark: the camera bias and landmark columns carry nothing
        drop = {k for k in extra if k.startswith(("point:", "lmk:"))}
    else:
        drop = set()
    if use_lid and nrow["lidar"] == 0:
        drop |= {k for k in extra if k.startswith("lidarpoint:")}
    nl0 = len(ap.local_names)
    loc_x = [k for k in extra if k.startswith(("point:", "lidarpoint:")) and k not in drop]
    glo_x = [k for k in extra if k.startswith("lmk:") and k not in drop]
    order = [*range(nl0), *(names.index(k) for k in loc_x), *range(nl0, nl0 + len(ap.global_names)),
             *(names.index(k) for k in glo_x)]
    radio = {}
    if "radio" in kinds and len(rows):
        r = _information(prob, p, ["radio"])["radio"]
        radio = np.zeros((n, n))
        m = len(prob.names)
        radio[:m, :m] = r
    info = {}
    for g in kinds:
        N = radio if g == "radio" and len(rows) else np.zeros((n, n))
        if g == "landmarks":
            N = si.normal.get("landmark", np.zeros((n, n)))
        elif g == "lidar":
            N = si.normal.get("lidar", np.zeros((n, n)))
        info[g] = N[np.ix_(order, order)]
    lnames = [*ap.local_names, *loc_x]
    sig_l = np.concatenate([ap.local_sigma, [local_apriori.sigma(k, 0.0) for k in loc_x]])
    sig_g = np.concatenate([ap.global_sigma, np.full(len(glo_x), global_apriori.landmark_km)])
    return info, lnames, sig_l, sig_g, nrow


@dataclass
class ArcProblem:
    """One arc's orbit-determination problem (:func:`arc_problem`): the problem (parameters in the
    order state, other locals, globals, landmark positions), its local and global names and a priori
    sigmas, and the landmark and LIDAR data (None when none)."""

    problem: OrbitProblem
    local_names: list
    local_sigma: np.ndarray
    global_names: list
    global_sigma: np.ndarray
    optical: object = None
    altimetry: object = None


def arc_problem(model, x0, a0: float, a1: float, rows: TrackingData, stations: Mapping, *, global_names,
                global_apriori: GlobalApriori = GlobalApriori(), local_apriori: LocalApriori = LocalApriori(),
                surface: SurfacePlan | None = None, landmarks: bool = True, lidar: bool = True, settings=None,
                ephemeris=None, elevation_mask_deg: float | None = None) -> ArcProblem:
    """The problem of one arc [a0, a1] (TDB s) from the Mars-centred state ``x0`` at ``a0``, at the truth
    (the model's parameter values): radio ``rows`` (TrackingData, already cut to the arc); with a
    ``surface`` plan, its landmark images (``landmarks``) and LIDAR shots (``lidar``), their rows decided
    with the true geometry (noise-free values); locals (state, Cr A/m and RTN empirical accelerations
    when the model has them, range bias per station that ranged, camera and LIDAR pointing biases) and
    globals (``global_names``, then the landmark positions when estimated and imaged) with their a
    priori. The trajectory is flown once for the row selection and the partials. Used by
    :func:`campaign_covariance` and by Monte Carlo runs of the full estimation of an arc."""
    from .variational import estimable_parameters

    mvals = _model_values(model)
    allowed = estimable_parameters(model)
    gnames = list(global_names)
    local_dyn = [n for n in ("srp:cr_area_over_mass", "emp:r", "emp:t", "emp:n")
                 if n in allowed and n in mvals and n not in gnames]
    eph = ephemeris if ephemeris is not None else model.ephemeris
    x = np.asarray(x0, float).reshape(6)
    bias_st = sorted(set(rows.receiver[rows.kind == "range"])) if len(rows) else []
    lnames = [*STATE_NAMES, *local_dyn, *(f"bias:{s}" for s in bias_st)]
    lval = {**dict(zip(STATE_NAMES, x)), **{k: float(mvals[k]) for k in local_dyn},
            **{f"bias:{s}": 0.0 for s in bias_st}}
    sig_l = np.array([local_apriori.sigma(k, lval[k]) for k in lnames])
    sig_g = np.array([global_apriori.sigma(k) for k in gnames])
    truth = {k: float(mvals[k]) for k in gnames}
    state = [Prior(float(x[i]), float(sig_l[i])) for i in range(6)]
    est = {k: Prior(lval[k], float(s)) for k, s in zip(lnames[6:], sig_l[6:])}
    est.update({k: Prior(truth[k], float(s)) for k, s in zip(gnames, sig_g)})
    prob = OrbitProblem(model, a0, a1, rows, stations, state, estimate=est, settings=settings, ephemeris=eph,
                        elevation_mask_deg=elevation_mask_deg)
    od = ad = None
    use_img = surface is not None and landmarks and surface.images_per_day > 0
    use_lid = surface is not None and lidar and surface.lidar_hz > 0
    if use_img or use_lid:  # rows decided with the true geometry, then the problem with them
        from .od import simulate_altimetry, simulate_optical

        p_true = prob.p0
        if use_img:
            od = simulate_optical(prob, p_true, t=surface.image_epochs(a0, a1), landmarks=surface.landmarks,
                                  camera=surface.camera, shape=surface.shape, settings=surface.optical_settings,
                                  noise=False)
            od = od if len(od) else None
        if use_lid:
            ad = simulate_altimetry(prob, p_true, t=surface.shot_epochs(a0, a1), shape=surface.shape,
                                    settings=surface.altimetry_settings, noise=False)
            ad = ad if len(ad) else None
        extra = [*(f"point:cam:{k}" for k in (1, 2, 3) if od is not None),
                 *(f"lidarpoint:{k}" for k in (1, 2, 3) if ad is not None)]
        lnames = [*lnames, *extra]
        sig_l = np.concatenate([sig_l, [local_apriori.sigma(k, 0.0) for k in extra]])
        if od is not None and surface.estimate_landmarks:
            nuis = surface.landmark_names()
            gnames = [*gnames, *nuis]
            sig_g = np.concatenate([sig_g, np.full(len(nuis), global_apriori.sigma("lmk:0:x"))])
            truth.update({nm: float(surface.landmarks.position_km[int(nm.split(":")[1]), "xyz".index(nm[-1])])
                          for nm in nuis})
        est = {k: Prior(lval.get(k, 0.0), float(sg)) for k, sg in zip(lnames[6:], sig_l[6:])}
        est.update({k: Prior(truth[k], float(sg)) for k, sg in zip(gnames, sig_g)})
        memo = getattr(prob, "_traj_memo", None)
        prob = OrbitProblem(model, a0, a1, rows, stations, state, estimate=est, settings=settings, ephemeris=eph,
                            elevation_mask_deg=elevation_mask_deg, optical=od, altimetry=ad)
        prob._traj_memo = memo  # the same trajectory (the same dynamical parameters): fly it once
    return ArcProblem(prob, lnames, np.asarray(sig_l, float), gnames, np.asarray(sig_g, float), od, ad)


def campaign_covariance(model, legs: Sequence[QsoLeg], tracking, stations: Mapping, *, arc_days: float = 1.0,
                        global_parameters: Sequence[str] | None = None,
                        global_apriori: GlobalApriori = GlobalApriori(),
                        local_apriori: LocalApriori = LocalApriori(),
                        combinations: Sequence[str] = DEFAULT_COMBINATIONS, settings=None, ephemeris=None,
                        threshold: float = THRESHOLD, threshold_parameters: Sequence[str] = THRESHOLD_PARAMETERS,
                        elevation_mask_deg: float | None = None, surface: SurfacePlan | None = None,
                        progress=None) -> GeodesyCovariance:
    """Multi-arc formal covariance of the globals over a QSO campaign (see module doc).

    ``model``: the dynamics with the globals as runtime parameters (e.g. ``PhobosGravity(...,
    gm_parameter=True, estimate_degree=5, libration_parameter=True)``) and, if wanted, SRP and an
    empirical acceleration (locals); the truth is the model at its parameter values.
    ``legs``: the QSOs in flight order. ``tracking``: the campaign's tracking rows (TrackingData,
    values unused); each arc keeps the rows inside it. ``stations``: name -> light-time participant.
    ``settings``/``ephemeris``: for the measurement model (see :class:`OrbitProblem`);
    ``elevation_mask_deg``: passed to each arc's problem (None: rows are trusted to lie in passes).
    ``surface``: the landmark images and LIDAR shots (:class:`SurfacePlan`), needed by the
    combinations with landmarks or LIDAR; their rows are decided per arc with the true geometry.
    ``progress``: optional callable(str) told after each arc.
    """
    legs = _check_legs(legs)
    if not (isinstance(arc_days, (int, float)) and math.isfinite(arc_days) and 0.05 <= arc_days <= 30):
        raise InputError("geodesy.arc_days", arc_days, "days in [0.05, 30]")
    combinations = check_combinations(combinations)
    kinds = sorted({k for c in combinations for k in COMBINATIONS[c]}, key=KINDS.index)
    if surface is not None and not isinstance(surface, SurfacePlan):
        raise InputError("geodesy.surface", type(surface).__name__, "a SurfacePlan or None")
    if surface is None and ("landmarks" in kinds or "lidar" in kinds):
        raise InputError("geodesy.surface", None, "a SurfacePlan (shape, landmarks, camera, cadences) for the "
                                                   "combinations with landmarks or LIDAR")
    use_img, use_lid = "landmarks" in kinds, "lidar" in kinds and surface is not None and surface.lidar_hz > 0
    if not (isinstance(threshold, (int, float)) and 0 < threshold < 1):
        raise InputError("geodesy.threshold", threshold, "a fraction in (0, 1) of |value| (0.001: 0.1 %)")
    if not isinstance(tracking, TrackingData):
        raise InputError("geodesy.tracking", type(tracking).__name__, "a TrackingData (the campaign's schedule)")
    if not isinstance(model, DynamicsModel):
        raise InputError("geodesy.model", type(model).__name__, "a DynamicsModel with Phobos' runtime parameters")
    mvals = _model_values(model)
    gnames = list(global_parameters) if global_parameters is not None else global_parameter_names(model)
    if not gnames:
        raise InputError("geodesy.global_parameters", gnames,
                         "at least one global (a model with Phobos runtime parameters: gm_parameter, estimate_degree, "
                         "libration_parameter)")
    from .variational import estimable_parameters

    allowed = estimable_parameters(model)
    for nm in gnames:
        if nm not in allowed or nm not in mvals:
            raise InputError("geodesy.global_parameters", nm, ", ".join(n for n in allowed if n in mvals))
    if len(set(gnames)) != len(gnames):
        raise InputError("geodesy.global_parameters", gnames, "each name once")
    truth = {k: float(mvals[k]) for k in gnames}
    # nuisance globals (landmark positions): estimated with the globals, not reported
    nuis = surface.landmark_names() if use_img else []
    gall = [*gnames, *nuis]
    sig_all = np.array([global_apriori.sigma(k) for k in gall])
    sig_g = sig_all[:len(gnames)]
    for k in threshold_parameters:
        if k not in gnames:
            raise InputError("geodesy.threshold_parameters", k, ", ".join(gnames))
    local_dyn = [n for n in ("srp:cr_area_over_mass", "emp:r", "emp:t", "emp:n")
                 if n in allowed and n in mvals and n not in gnames]
    tr_t = tracking.epochs() if len(tracking) else np.zeros(0)
    eph = ephemeris if ephemeris is not None else model.ephemeris
    ng = len(gnames)

    reduced = {c: [] for c in combinations}  # per arc, scaled by sig_all
    days_end, qso_of, arc_s, rows_per_arc = [], [], [], []
    surface_rows = {"landmark": [], "lidar": []}
    t_total = _time.perf_counter()
    elapsed_days = 0.0
    for leg in legs:
        n_arcs = max(1, int(math.ceil(leg.days / arc_days - 1e-9)))
        x = leg.x0.copy()
        for a in range(n_arcs):
            t_arc = _time.perf_counter()
            a0 = leg.t0 + a * arc_days * 86400.0
            a1 = leg.t0 + min((a + 1) * arc_days, leg.days) * 86400.0
            keep = (tr_t - tracking.count_time - LIGHT_TIME_MARGIN_S >= a0) & (tr_t <= a1) if len(tr_t) else \
                np.zeros(0, bool)
            rows = tracking.select(keep)
            ap = arc_problem(model, x, a0, a1, rows, stations, global_names=gnames, global_apriori=global_apriori,
                             local_apriori=local_apriori, settings=settings, ephemeris=eph,
                             elevation_mask_deg=elevation_mask_deg)
            prob = ap.problem
            p = prob.p0
            if use_img or use_lid:  # covariance mode: rows decided and linearised in one pass
                info, lnames, sig_l, sig_gx, nrow = _surface_arc(prob, p, ap, kinds, surface, use_img, use_lid,
                                                                 local_apriori, global_apriori, rows)
                has_lmk = nrow["landmark"] > 0 and bool(nuis)
                D = np.concatenate([sig_l, sig_gx])
            else:
                info = _information(prob, p, kinds) if len(rows) else {k: np.zeros((len(p), len(p))) for k in kinds}
                lnames, sig_l, has_lmk = ap.local_names, ap.local_sigma, False
                nrow = {"landmark": 0, "lidar": 0}
                D = np.concatenate([sig_l, ap.global_sigma])
            surface_rows["landmark"].append(nrow["landmark"])
            surface_rows["lidar"].append(nrow["lidar"])
            traj = prob.trajectory(p)  # the trajectory of this linearisation (kept by the problem)
            nl = len(lnames)
            for c in combinations:
                N = sum(info[k] for k in COMBINATIONS[c])
                Ns = N * np.outer(D, D)
                Nr = schur_reduce(Ns, nl, np.ones(nl))
                if not has_lmk and nuis:  # an arc without images: zero information on the landmarks
                    Nr = np.pad(Nr, ((0, len(nuis)), (0, len(nuis))))
                reduced[c].append(Nr)
            xe = np.asarray(traj.state(np.array([a1])), float)[0]
            if traj.barycentric:
                xe = xe - np.asarray(eph.state("MARS", "SSB", np.array([a1])), float).reshape(-1, 6)[0]
            x = xe
            elapsed_days += (a1 - a0) / 86400.0
            days_end.append(elapsed_days)
            qso_of.append(leg.name)
            rows_per_arc.append(int(len(rows)))
            arc_s.append(_time.perf_counter() - t_arc)
            if progress is not None:
                progress(f"{leg.name} arc {a + 1}/{n_arcs}: {len(rows)} rows, {arc_s[-1]:.2f} s")
    days = np.array(days_end)
    qso_of = np.array(qso_of, dtype=object)
    qnames = [g.name for g in legs]
    sigma, per_qso, dtt, cov = {}, {}, {}, {}
    nga = len(gall)
    for c in combinations:
        acc = np.zeros((nga, nga))
        rows_c = []
        for Nr in reduced[c]:
            acc = acc + Nr
            rows_c.append(_sigma_from_information(acc, ng) * sig_g)
        sigma[c] = np.array(rows_c)
        Ps = _covariance_from_information(acc, ng)  # the marginal of the reported globals
        cov[c] = Ps * np.outer(sig_g, sig_g)
        per_qso[c], dtt[c] = {}, {}
        for q in qnames:
            idx = np.flatnonzero(qso_of == q)
            start = days[idx[0] - 1] if idx[0] > 0 else 0.0
            dq = days[idx] - start
            acc = np.zeros((nga, nga))
            curve = []
            for i in idx:
                acc = acc + reduced[c][i]
                curve.append(_sigma_from_information(acc, ng) * sig_g)
            curve = np.array(curve)
            per_qso[c][q] = {"days": dq, "sigma": curve, "final": curve[-1]}
            dtt[c][q] = {}
            for k in threshold_parameters:
                j = gnames.index(k)
                thr = threshold * abs(truth[k])
                dd, ext = days_to_threshold(dq, curve[:, j], thr, sig_g[j])
                dtt[c][q][k] = {"days": dd, "extrapolated": bool(ext), "threshold": thr}
    total = _time.perf_counter() - t_total
    setup = {
        "model": model.describe() if hasattr(model, "describe") else repr(model),
        "arc_days": float(arc_days),
        "legs": [{"name": g.name, "t0_tdb": g.t0, "days": g.days, "x0": g.x0.tolist()} for g in legs],
        "kinds": {c: list(COMBINATIONS[c]) for c in combinations},
        "local_parameters": ["x", "y", "z", "vx", "vy", "vz", *local_dyn, "bias:<station> (stations that ranged)"],
        "local_apriori": {"position_km": local_apriori.position_km, "velocity_km_s": local_apriori.velocity_km_s,
                          "srp_fraction": local_apriori.srp_fraction,
                          "empirical_km_s2": local_apriori.empirical_km_s2,
                          "range_bias_km": local_apriori.range_bias_km},
        "global_apriori": dict(zip(gnames, sig_g.tolist())),
        "rows_per_arc": rows_per_arc,
        "surface_rows_per_arc": surface_rows,
        "surface": None if surface is None else {
            "camera": getattr(surface.camera, "name", str(surface.camera)), "images_per_day": surface.images_per_day,
            "lidar_hz": surface.lidar_hz, "landmarks": len(surface.landmarks),
            "landmarks_estimated": bool(surface.estimate_landmarks), "landmark_sigma_km": global_apriori.landmark_km,
            "pointing_sigma_rad": local_apriori.pointing_rad,
            "rows": {k: int(sum(v)) for k, v in surface_rows.items()}},
        "rows_by_kind": {k: int(np.sum(tracking.kind == k)) for k in RADIO_ROWS} if len(tracking) else {},
        "noise": _noise_summary(tracking),
        "threshold": float(threshold),
    }
    timings = {"arc_s": arc_s, "mean_arc_s": float(np.mean(arc_s)), "first_arc_s": float(arc_s[0]),
               "total_s": float(total), "arcs": len(arc_s)}
    return GeodesyCovariance(gnames, truth, combinations, qnames, days, qso_of, sigma, per_qso, dtt, cov, sig_g,
                             setup, timings)


__all__ = ["QsoLeg", "SurfacePlan", "ArcProblem", "arc_problem", "LocalApriori", "GlobalApriori", "GeodesyCovariance", "campaign_covariance", "schur_reduce",
           "days_to_threshold", "global_parameter_names", "check_combinations", "COMBINATIONS",
           "DEFAULT_COMBINATIONS", "AVAILABLE_KINDS", "THRESHOLD", "THRESHOLD_PARAMETERS"]
