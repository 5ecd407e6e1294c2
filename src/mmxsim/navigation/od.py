"""The orbit-determination problem: tracking data, a dynamics model and the parameters to solve for.

:class:`OrbitProblem` ties the pieces together for the estimators of
:mod:`mmxsim.navigation.estimation` and :mod:`mmxsim.navigation.sequential`:

* the spacecraft trajectory with its partials (:class:`~mmxsim.navigation.variational.Trajectory`:
  heyoka's variational equations, no finite differences);
* the measurement models (:func:`~mmxsim.navigation.measurements.compute`: light time, media,
  relativity, partials with respect to the spacecraft state at the bounce epochs);
* the parameter vector ``p``, defined at the arc's epoch ``t0``, in this order: the spacecraft
  state (``x y z vx vy vz``, Mars-centred ICRF, km, km/s), the dynamical parameters (runtime
  parameters of the force model: ``srp:cr_area_over_mass`` (m²/kg), ``phobos:gm`` (km³/s²),
  ``emp:r emp:t emp:n`` (km/s²), and any other runtime parameter the model lists in
  :func:`~mmxsim.navigation.variational.estimable_parameters`, e.g. Phobos' normalised Stokes
  coefficients ``phobos:C20``, ``phobos:S22``... and its libration amplitude ``phobos:libration`` (rad)
  of :class:`~mmxsim.dynamics.PhobosGravity` with ``estimate_degree`` / ``libration_parameter``), impulsive manoeuvres (``dv<k>_x/_y/_z``, km/s) and range biases
  (``bias:<station>`` per station or ``bias:pass<k>`` per pass, km);
* consider parameters, in the same name space, with their own covariance (not estimated; their
  uncertainty is mapped into the consider covariance).

The chain rule gives each row of the design matrix as
``H = sum_j dh/dx_sc(t_bounce_j) . dx_sc(t_bounce_j)/dp`` plus 1 in a bias column; the same
linearisation serves the batch and the sequential filter (whose state transition in the full
parameter space is ``[[S(t)], [0, I]]`` with ``S`` the trajectory's sensitivity).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from ..errors import InputError
from .data import TrackingData

STATE_NAMES = ("x", "y", "z", "vx", "vy", "vz")
DYNAMIC_PARAMETERS = ("srp:cr_area_over_mass", "phobos:gm", "emp:r", "emp:t", "emp:n")


@dataclass
class Prior:
    """A parameter's a priori value and 1-sigma (``inf``: no a priori)."""

    value: float
    sigma: float = np.inf


def _is_bias(name: str) -> bool:
    return name.startswith("bias:")


def _is_dv(name: str) -> bool:
    return name.startswith("dv") and "_" in name and name[2:name.index("_")].isdigit()


@dataclass
class OrbitProblem:
    """An orbit-determination problem (see module doc).

    Parameters
    ----------
    model : DynamicsModel
        The force model the spacecraft feels (the same for simulation and estimation unless a
        model error is studied on purpose).
    t0, t1 : float
        The arc, TDB s; every observation (and its light time) must lie inside.
    data : TrackingData
        Observations (``value`` = observed).
    stations : mapping
        Station name -> light-time participant (:mod:`mmxsim.navigation.participants`).
    state : Prior per state component, or (6,) values with ``state_sigma``
    estimate : mapping name -> Prior
        Estimated parameters besides the state (dynamical, manoeuvres, biases).
    consider : mapping name -> Prior
        Consider parameters (value and sigma; sigma finite).
    maneuvers : sequence of (t, dv(3,))
        Impulsive manoeuvres (the nominal Δv; estimate ``dv<k>_*`` to solve for them).
    settings : measurement settings (media, relativity) for :func:`measurements.compute`.
    ephemeris : the ephemeris (Sun for Shapiro, Earth for stations).
    barycentric : bool
        Light time in the SSB frame (real stations); False for problems in a fixed-centre frame.
    acceleration_psd : float
        Spectral density of white stochastic accelerations, km²/s³ (sequential filter only).
    elevation_mask_deg : float or None
        Every observation must lie inside a pass: the spacecraft at or above this elevation at
        every participating station (receiver, transmitter, ΔDOR's second station), checked once,
        at the first computation (:meth:`computed`), with the geometry of that computation; an
        observation below it raises :class:`~mmxsim.errors.InputError` naming the row, station and
        epoch. Default 0 deg (above the horizon); None: no check.
    """

    model: object
    t0: float
    t1: float
    data: TrackingData
    stations: Mapping
    state: Sequence
    estimate: Mapping = field(default_factory=dict)
    consider: Mapping = field(default_factory=dict)
    maneuvers: Sequence = ()
    settings: object = None
    ephemeris: object = None
    barycentric: bool = True
    acceleration_psd: float = 0.0
    elevation_mask_deg: float | None = 0.0

    def __post_init__(self):
        st = list(self.state)
        if len(st) != 6:
            raise InputError("od.state", st, "six priors (x, y, z, vx, vy, vz)")
        self.state = [s if isinstance(s, Prior) else Prior(float(s)) for s in st]
        self.estimate = {k: (v if isinstance(v, Prior) else Prior(float(v))) for k, v in dict(self.estimate).items()}
        self.consider = {k: (v if isinstance(v, Prior) else Prior(*v)) for k, v in dict(self.consider).items()}
        both = sorted(set(self.estimate) & set(self.consider))
        if both:
            raise InputError("od.consider", both, "parameters that are not also estimated")
        for k, pr in self.consider.items():
            if not (np.isfinite(pr.sigma) and pr.sigma > 0):
                raise InputError(f"od.consider.{k}", pr.sigma, "a finite sigma > 0")
        self.maneuvers = [(float(t), np.asarray(dv, float).reshape(3)) for t, dv in self.maneuvers]
        for name in [*self.estimate, *self.consider]:
            self._check_name(name)
        for k, pr in {**self.estimate, **{n: p for n, p in zip(STATE_NAMES, self.state)}}.items():
            if not (pr.sigma > 0):
                raise InputError(f"od.a_priori.{k}", pr.sigma, "> 0 (or inf: no a priori)")
        known = set(self.data.stations())
        missing = sorted(known - set(self.stations))
        if missing:
            raise InputError("od.stations", missing, "stations with a position (the tracking data names them)")
        t = self.data.epochs()
        if len(t) and (t.min() < self.t0 or t.max() > self.t1):
            raise InputError("od.data", f"{t.min():.3f} .. {t.max():.3f} TDB s",
                             f"observations inside the arc {self.t0:.3f} .. {self.t1:.3f}")
        em = self.elevation_mask_deg
        if em is not None and not (isinstance(em, (int, float, np.floating, np.integer)) and -90.0 <= em < 90.0):
            raise InputError("od.elevation_mask_deg", em, "degrees in [-90, 90), or None (no check)")
        self._elevation_checked = em is None
        self.names = [*STATE_NAMES, *self.estimate]
        self.consider_names = list(self.consider)
        self._dyn = [n for n in [*self.estimate, *self.consider] if self._is_dynamic(n)]
        self._cache = None

    def _model_parameters(self) -> list[str]:
        """The model's estimable runtime parameters (:func:`variational.estimable_parameters`)."""
        if getattr(self, "_estimable", None) is None:
            from ..dynamics.model import DynamicsModel
            from .variational import estimable_parameters

            self._estimable = estimable_parameters(self.model) if isinstance(self.model, DynamicsModel) else []
        return self._estimable

    def _is_dynamic(self, name: str) -> bool:
        if name in DYNAMIC_PARAMETERS:
            return True
        if _is_dv(name) or _is_bias(name):
            return False
        return name in self._model_parameters()

    # -- parameter space ------------------------------------------------------------------------
    def _check_name(self, name: str) -> None:
        if self._is_dynamic(name):
            return
        if _is_dv(name):
            k = int(name[2:name.index("_")])
            if k >= len(self.maneuvers) or name[-2:] not in ("_x", "_y", "_z"):
                raise InputError(f"od.estimate.{name}", name,
                                 f"dv<k>_x/_y/_z with k < {len(self.maneuvers)} (the manoeuvres given)")
            return
        if _is_bias(name):
            key = name[5:]
            if key.startswith("pass") and key[4:].isdigit():
                return
            if key in self.stations:
                return
            raise InputError(f"od.estimate.{name}", name, "bias:<station> for a known station or bias:pass<k>")
        extra = [n for n in self._model_parameters() if n not in DYNAMIC_PARAMETERS]
        raise InputError(f"od.estimate.{name}", name,
                         ", ".join([*DYNAMIC_PARAMETERS, *extra]) + ", dv<k>_x/_y/_z, bias:<station>, bias:pass<k>")

    @property
    def n(self) -> int:
        return len(self.names)

    @property
    def p0(self) -> np.ndarray:
        return np.array([pr.value for pr in [*self.state, *self.estimate.values()]])

    @property
    def P0(self) -> np.ndarray:
        s = np.array([pr.sigma for pr in [*self.state, *self.estimate.values()]])
        return np.diag(s ** 2)

    @property
    def c0(self) -> np.ndarray:
        return np.array([pr.value for pr in self.consider.values()])

    @property
    def Pcc(self) -> np.ndarray:
        return np.diag(np.array([pr.sigma for pr in self.consider.values()]) ** 2)

    def values(self, p, c=None) -> dict:
        """Name -> value for estimated (``p``) and consider (``c``, default their nominal) parameters."""
        out = dict(zip(self.names, np.asarray(p, float)))
        out.update(zip(self.consider_names, self.c0 if c is None else np.asarray(c, float)))
        return out

    # -- the trajectory -----------------------------------------------------------------------
    def trajectory(self, p, c=None):
        """The spacecraft trajectory for parameters ``p`` (and consider values ``c``)."""
        from .variational import Trajectory

        v = self.values(p, c)
        x0 = np.array([v[k] for k in STATE_NAMES])
        dyn = {k: v[k] for k in self._dyn}
        mans = []
        for k, (t, dv) in enumerate(self.maneuvers):
            dv = np.array([v.get(f"dv{k}_{a}", dv[i]) for i, a in enumerate("xyz")])
            mans.append((t, dv))
        return Trajectory(self.model, self.t0, x0, self.t1, parameters=dyn, maneuvers=mans,
                          barycentric=self.barycentric)

    def _columns(self, traj_names: Sequence[str], names: Sequence[str]) -> tuple[list, list]:
        """(columns of ``names`` in the trajectory's sensitivity, their positions in ``names``)."""
        src, dst = [], []
        for j, nm in enumerate(names):
            if nm in traj_names:
                src.append(traj_names.index(nm))
                dst.append(j)
        return src, dst

    def _bias_matrix(self, names: Sequence[str]) -> np.ndarray:
        """(m, len(names)) partials of the computed values w.r.t. range biases (1 or 0)."""
        d = self.data
        B = np.zeros((len(d), len(names)))
        rng = d.kind == "range"
        for j, nm in enumerate(names):
            if not _is_bias(nm):
                continue
            key = nm[5:]
            if key.startswith("pass") and key[4:].isdigit():
                rows = rng & (d.pass_id == int(key[4:]))
            else:
                rows = rng & (d.receiver == key)
            B[rows, j] = 1.0
        return B

    # -- linearisation ------------------------------------------------------------------------
    def computed(self, p, c=None):
        """(computed values (m,), the measurement model's full output, the trajectory)."""
        from .measurements import compute

        traj = self.trajectory(p, c)
        if c is None:  # the last linearisation point is the reference of stm()
            self._cache = (np.asarray(p, float).tobytes(), traj)
        comp = compute(self.data, traj, self.stations, self.settings, self.ephemeris)
        if not self._elevation_checked:
            self.check_elevation(comp)
        v = self.values(p, c)
        bias = self._bias_matrix(list(v)) @ np.array(list(v.values()))
        return comp.value + bias, comp, traj

    def check_elevation(self, comp) -> None:
        """InputError naming the first observation outside any pass (see ``elevation_mask_deg``),
        from a computation's elevations (:func:`measurements.check_elevation`); marks it done."""
        from .measurements import elevation_mask

        mask = float(self.elevation_mask_deg)
        bad = np.flatnonzero(~elevation_mask(comp, mask))
        if len(bad):
            d, i = self.data, int(bad[0])
            el = comp.elevation_deg[i]
            j = int(np.nanargmin(el))
            who = d.receiver[i] if j == 0 else (d.station2[i] if d.kind[i] == "ddor" else d.transmitter[i])
            raise InputError(f"od.data row {i} ({d.kind[i]} of {d.receiver[i]} at t = {d.t[i]:.3f} TDB s; "
                             f"{len(bad) - 1} more rows below the mask)",
                             f"elevation {el[j]:.2f} deg at {who}",
                             f"observations inside a pass: elevation >= od.elevation_mask_deg = {mask:g} deg "
                             "at every participating station")
        self._elevation_checked = True

    def linearize(self, p):
        """The estimators' :class:`~mmxsim.navigation.estimation.Linearization` at ``p``."""
        from .estimation import Linearization

        value, comp, traj = self.computed(p)
        d = self.data
        m = len(d)
        all_names = [*self.names, *self.consider_names]
        J = np.zeros((m, len(all_names)))
        hi, lo = comp.bounce_hi, comp.bounce_lo
        for j in range(hi.shape[1]):
            ok = np.isfinite(hi[:, j])
            if not ok.any():
                continue
            S = traj.sensitivity(hi[ok, j], lo[ok, j])  # (k, 6, n_traj)
            dh = np.einsum("ki,kin->kn", comp.d_value_d_state[ok, j, :], S)
            src, dst = self._columns(traj.names, all_names)
            J[np.ix_(np.flatnonzero(ok), dst)] += dh[:, src]
        J += self._bias_matrix(all_names)
        n = self.n
        labels = np.array([f"{r} {k}" for r, k in zip(d.receiver, d.kind)], dtype=object)
        return Linearization(residual=d.value - value, sigma=d.sigma, H=J[:, :n],
                             C=J[:, n:] if self.consider_names else None, t=d.epochs(), labels=labels)

    # -- the sequential filter's needs ----------------------------------------------------------
    def stm(self, t, p=None):
        """(K, n, n) Φ(t, t0) in the estimated-parameter space about ``p`` (default: the last point
        linearised, else the a priori mean)."""
        traj = self._reference(p)
        t = np.atleast_1d(np.asarray(t, float))
        S = traj.sensitivity(t)
        K, n = len(t), self.n
        out = np.zeros((K, n, n))
        src, dst = self._columns(traj.names, self.names)
        out[:, :6, dst] = S[:, :, src]
        for j in range(6, n):
            out[:, j, j] = 1.0
        return out

    def _reference(self, p):
        key = None if p is None else np.asarray(p, float).tobytes()
        if self._cache is None or (key is not None and self._cache[0] != key):
            p = self.p0 if p is None else p
            self._cache = (np.asarray(p, float).tobytes(), self.trajectory(p))
        return self._cache[1]

    def process_noise(self, t_prev: float, t_next: float) -> np.ndarray:
        """Discrete white-acceleration process noise on the state's velocity (zeros when off)."""
        q = float(self.acceleration_psd)
        Q = np.zeros((self.n, self.n))
        if q <= 0:
            return Q
        dt = abs(float(t_next) - float(t_prev))
        for i in range(3):
            Q[i, i] = q * dt ** 3 / 3.0
            Q[i, i + 3] = Q[i + 3, i] = q * dt ** 2 / 2.0
            Q[i + 3, i + 3] = q * dt
        return Q


def simulate(problem: OrbitProblem, p_true, c_true=None, *, seed: int | None = 0, noise: bool = True,
             extra_sigma=None) -> TrackingData:
    """The problem's observations computed for true parameters, plus Gaussian noise of ``sigma``.

    ``extra_sigma`` (m,) adds independent noise that the data's sigmas do not describe (e.g. the
    troposphere calibration residual), in quadrature into the returned sigmas.
    Same inputs and seed, same data (NumPy's PCG64 generator).
    """
    value, _, _ = problem.computed(p_true, c_true)
    d = problem.data
    sig = d.sigma.copy()
    if extra_sigma is not None:
        sig = np.sqrt(sig ** 2 + np.asarray(extra_sigma, float) ** 2)
    if noise:
        rng = np.random.default_rng(seed)
        value = value + rng.standard_normal(len(d)) * sig
    out = d.with_values(value)
    out.sigma = sig
    out.meta = {**d.meta, "simulated": True, "seed": seed, "noise": bool(noise)}
    return out
