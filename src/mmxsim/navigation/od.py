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
* with landmark (:class:`~mmxsim.navigation.optical.OpticalData`) or LIDAR
  (:class:`~mmxsim.navigation.altimetry.AltimetryData`) observations: Phobos' forced libration
  amplitude ``phobos:libration`` (rad; the pose of the surface, and the dynamics' parameter too when
  the model's :class:`~mmxsim.dynamics.PhobosGravity` has ``libration_parameter=True``: one column gets
  both partials), landmark positions ``lmk:<k>:x|y|z`` (km, Phobos body-fixed; the value is the
  position, the a priori the catalogue's), per-image pointing corrections ``point:<i>:1|2|3`` (rad,
  the angles of :func:`~mmxsim.navigation.optical.pointing_rotation`), a constant camera pointing
  bias ``point:cam:1|2|3`` and a constant LIDAR pointing bias ``lidarpoint:1|2|3`` (rad);
* consider parameters, in the same name space, with their own covariance (not estimated; their
  uncertainty is mapped into the consider covariance).

Optical and LIDAR rows follow the radiometric ones (labels ``"landmark u"``, ``"landmark v"``,
``"lidar"``). Their rows are fixed at simulation (visibility and lighting decided once with the
true geometry, :func:`simulate_optical`, :func:`simulate_altimetry`); at any other parameter point
the same (image, landmark) pairs are projected (:func:`~mmxsim.navigation.optical.project_landmarks`)
and the same shots re-cast (:func:`~mmxsim.navigation.altimetry.lidar_ranges`). They are formed at
the image or shot epoch (no light time, see those modules) from the spacecraft's Mars-centred
position, Phobos' position from the model's ephemeris (the source of the dynamics' Phobos track,
:class:`~mmxsim.dynamics.tracks.ChebyshevTrack` / ``AnalyticTrack``, or a track override) and the
pose :func:`~mmxsim.navigation.optical.phobos_pose` with the dynamics' rotation model. Each row's
partials: ``dh/dr_sc . S(t)`` (the trajectory's sensitivity) plus the pose, landmark and pointing
columns. Phobos' ephemeris corrections (e.g. ``phobos:dx .. phobos:dvz``) enter the surface rows
through the hook ``phobos_correction``: an object with ``names`` (the parameters it reads) and
``__call__(t, values) -> (dq (N,3) km, dq_dp (N,3,k))``, the offset of Phobos' position from the
ephemeris and its partials; Phobos' position becomes ``q + dq`` and each such column gets
``d_value_d_phobos[:, :3] . dq_dp`` (plus the spacecraft's part through the trajectory when the
dynamics lists the parameter too). The models' ``d_value_d_phobos`` (m, 6) is also available from
:meth:`OrbitProblem.surface_rows`. When the model's :class:`~mmxsim.dynamics.forces.PhobosGravity`
has ``ephemeris_parameters=True`` and no hook is given, the problem makes its own,
:class:`PhobosEphemerisHook` (the dynamics' mapping, :mod:`mmxsim.dynamics.phobos_correction`), so that
one column carries both the spacecraft's response and the moved surface. Without any hook,
``phobos:dx .. phobos:dvz`` are refused alongside optical or LIDAR data (they would move the
spacecraft but not the surface it sees).

For covariance analysis of large data sets :meth:`OrbitProblem.information` accumulates ``Hᵀ W H``
per data kind in chunks of rows (the full design matrix is never held).

The chain rule gives each row of the design matrix as
``H = sum_j dh/dx_sc(t_bounce_j) . dx_sc(t_bounce_j)/dp`` plus 1 in a bias column; the same
linearisation serves the batch and the sequential filter (whose state transition in the full
parameter space is ``[[S(t)], [0, I]]`` with ``S`` the trajectory's sensitivity).
"""

from __future__ import annotations

import re
import time as _time
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from ..errors import InputError, MmxsimError
from .data import KINDS, TrackingData

STATE_NAMES = ("x", "y", "z", "vx", "vy", "vz")
DYNAMIC_PARAMETERS = ("srp:cr_area_over_mass", "phobos:gm", "emp:r", "emp:t", "emp:n")
LIBRATION = "phobos:libration"
#: Phobos' ephemeris corrections (another part of the package adds them to the dynamics); the hook
#: for the optical and LIDAR rows is their ``d_value_d_phobos`` (see the module doc)
PHOBOS_STATE_PARAMETERS = ("phobos:dx", "phobos:dy", "phobos:dz", "phobos:dvx", "phobos:dvy", "phobos:dvz")
SURFACE_KINDS = ("landmark", "lidar")
_LMK = re.compile(r"lmk:(\d+):([xyz])$")
_POINT = re.compile(r"point:(\d+|cam):([123])$")
_LIDARPOINT = re.compile(r"lidarpoint:([123])$")


class PhobosEphemerisHook:
    """The ``phobos_correction`` hook of a :class:`~mmxsim.dynamics.forces.PhobosGravity` with
    ``ephemeris_parameters=True``: Phobos' position offset ``dq(t)`` and ``dq/d(phobos:dx .. dvz)`` from
    :func:`mmxsim.dynamics.phobos_correction.phobos_state_correction`, the same mapping (and frame,
    epoch) as the dynamics', at the values of the problem (the force's own correction where a name is
    neither estimated nor considered). :class:`OrbitProblem` makes one itself when its model has such a
    force and no hook is given."""

    names = PHOBOS_STATE_PARAMETERS

    def __init__(self, force):
        if getattr(force, "ephemeris_frame", None) is None:
            raise InputError("od.phobos_correction", type(force).__name__,
                             "a PhobosGravity with ephemeris_parameters=True (and its epoch)")
        self.force = force

    def __call__(self, t, values):
        from ..dynamics.phobos_correction import phobos_state_correction

        own = np.asarray(self.force.ephemeris_correction, float).reshape(6)
        delta = [float(values.get(n, own[i])) for i, n in enumerate(self.names)]
        dx, J = phobos_state_correction(t, self.force.ephemeris_frame, delta)
        return dx[:, :3], J[:, :3, :]


def _ephemeris_force(model):
    """The model's PhobosGravity with ephemeris parameters, or None."""
    for f in getattr(model, "forces", ()) or ():
        if getattr(f, "ephemeris_parameters", False):
            return f
    return None


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
    optical : OpticalData or None
        Landmark observations (:class:`~mmxsim.navigation.optical.OpticalData`), rows after the
        radiometric ones; enables ``lmk:*``, ``point:*`` and ``phobos:libration``.
    altimetry : AltimetryData or None
        LIDAR ranges (:class:`~mmxsim.navigation.altimetry.AltimetryData`), rows after the optical
        ones; enables ``lidarpoint:*`` and ``phobos:libration``.
    phobos_correction : object or None
        The hook for Phobos' ephemeris corrections in the surface rows (module doc): ``names`` and
        ``__call__(t, values) -> (dq (N,3), dq_dp (N,3,len(names)))``.
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
    optical: object = None
    altimetry: object = None
    phobos_correction: object = None

    def __post_init__(self):
        from .altimetry import AltimetryData
        from .optical import OpticalData

        if self.phobos_correction is None and (self.optical is not None or self.altimetry is not None):
            force = _ephemeris_force(self.model)
            if force is not None:
                self.phobos_correction = PhobosEphemerisHook(force)
        hook = self.phobos_correction
        if hook is not None and not (callable(hook) and isinstance(getattr(hook, "names", None), (tuple, list))):
            raise InputError("od.phobos_correction", type(hook).__name__,
                             "None or a callable (t, values) -> (dq, dq_dp) with a tuple 'names'")
        if self.optical is not None and not isinstance(self.optical, OpticalData):
            raise InputError("od.optical", type(self.optical).__name__, "an OpticalData (simulate_optical) or None")
        if self.altimetry is not None and not isinstance(self.altimetry, AltimetryData):
            raise InputError("od.altimetry", type(self.altimetry).__name__,
                             "an AltimetryData (simulate_altimetry) or None")
        for key, obs in (("od.optical", self.optical), ("od.altimetry", self.altimetry)):
            if obs is not None and len(obs.t) and (obs.t.min() < self.t0 or obs.t.max() > self.t1):
                raise InputError(key, f"{obs.t.min():.3f} .. {obs.t.max():.3f} TDB s",
                                 f"epochs inside the arc {self.t0:.3f} .. {self.t1:.3f}")
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
        self._surface = None  # Phobos' rotation model and the libration's default (lazy)

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
        hook_names = tuple(getattr(self.phobos_correction, "names", ()) or ())
        if name in PHOBOS_STATE_PARAMETERS and name not in hook_names and (
                self.optical is not None or self.altimetry is not None):
            raise InputError(f"od.estimate.{name}", name,
                             "no Phobos ephemeris correction with optical or LIDAR data yet (their partials "
                             "d_value_d_phobos are not chained to it; module doc)")
        if self._is_dynamic(name):
            return
        if self._is_surface(name):
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
        opt, alt = self.optical, self.altimetry
        surf = []
        if (opt is not None or alt is not None) and LIBRATION not in extra:
            surf.append(LIBRATION)
        if opt is not None:
            surf += [f"lmk:<k>:x|y|z (k < {len(opt.landmarks)})", f"point:<i>:1|2|3 (i < {len(opt.t)})",
                     "point:cam:1|2|3"]
        if alt is not None:
            surf.append("lidarpoint:1|2|3")
        raise InputError(f"od.estimate.{name}", name,
                         ", ".join([*DYNAMIC_PARAMETERS, *extra]) + ", dv<k>_x/_y/_z, bias:<station>, bias:pass<k>"
                         + "".join(", " + x for x in surf)
                         + ("" if surf else " (landmark, pointing and libration parameters need optical or "
                            "altimetry data)"))

    def _is_surface(self, name: str) -> bool:
        """A parameter of the optical / LIDAR models only (pose, landmark, pointing) that the data allow."""
        opt, alt = self.optical, self.altimetry
        if name == LIBRATION:
            return opt is not None or alt is not None
        if self.phobos_correction is not None and name in self.phobos_correction.names:
            return opt is not None or alt is not None
        if opt is not None:
            mt = _LMK.match(name)
            if mt:
                return int(mt.group(1)) < len(opt.landmarks)
            mt = _POINT.match(name)
            if mt:
                return mt.group(1) == "cam" or int(mt.group(1)) < len(opt.t)
        if alt is not None and _LIDARPOINT.match(name):
            return True
        return False

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
    def _trajectory_args(self, p, c=None):
        """(memo key, x0, dynamical parameters dict, manoeuvres) of the trajectory at ``p`` (and ``c``)."""
        v = self.values(p, c)
        x0 = np.array([v[k] for k in STATE_NAMES])
        dyn = {k: v[k] for k in self._dyn}
        mans = []
        for k, (t, dv) in enumerate(self.maneuvers):
            dv = np.array([v.get(f"dv{k}_{a}", dv[i]) for i, a in enumerate("xyz")])
            mans.append((t, dv))
        key = (x0.tobytes(), tuple(sorted(dyn.items())), tuple((t, dv.tobytes()) for t, dv in mans))
        return key, x0, dyn, mans

    def keep_trajectory(self, p, c, traj) -> None:
        """Make ``traj`` the trajectory kept for ``(p, c)`` (as :meth:`trajectory` keeps its last one);
        ``p`` None forgets the kept one. For drivers that fly several problems' trajectories at once
        (:func:`fly_trajectories`); ``traj`` must be the trajectory of ``(p, c)``."""
        self._traj_memo = None if p is None else (self._trajectory_args(p, c)[0], traj)

    def trajectory(self, p, c=None):
        """The spacecraft trajectory for parameters ``p`` (and consider values ``c``)."""
        from .variational import Trajectory

        key, x0, dyn, mans = self._trajectory_args(p, c)
        # the last trajectory is kept: simulation, linearisation and information at one point fly it once
        memo = getattr(self, "_traj_memo", None)
        if memo is not None and memo[0] == key:
            return memo[1]
        traj = Trajectory(self.model, self.t0, x0, self.t1, parameters=dyn, maneuvers=mans,
                          barycentric=self.barycentric)
        self._traj_memo = (key, traj)
        return traj

    def _columns(self, traj_names: Sequence[str], names: Sequence[str]) -> tuple[list, list]:
        """(columns of ``names`` in the trajectory's sensitivity, their positions in ``names``)."""
        src, dst = [], []
        for j, nm in enumerate(names):
            if nm in traj_names:
                src.append(traj_names.index(nm))
                dst.append(j)
        return src, dst

    def _bias_matrix(self, names: Sequence[str], data: TrackingData | None = None) -> np.ndarray:
        """(m, len(names)) partials of the computed values w.r.t. range biases (1 or 0)."""
        d = self.data if data is None else data
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
        """(computed values (m,) of the *radiometric* rows, the measurement model's full output, the
        trajectory); :meth:`computed_rows` gives every row (optical and LIDAR too)."""
        from .measurements import compute

        key = self._computed_key(p, c)
        memo = getattr(self, "_comp_memo", None)
        if memo is not None and memo[0] is self.data and memo[1] == key:  # the same point again: kept
            comp, traj = memo[2], memo[3]
        else:
            traj = self.trajectory(p, c)
            comp = compute(self.data, traj, self.stations, self.settings, self.ephemeris)
        if c is None:  # the last linearisation point is the reference of stm()
            self._cache = (np.asarray(p, float).tobytes(), traj)
        self._comp_memo = (self.data, key, comp, traj)
        if not self._elevation_checked:
            self.check_elevation(comp)
        v = self.values(p, c)
        bias = self._bias_matrix(list(v)) @ np.array(list(v.values()))
        return comp.value + bias, comp, traj

    def _computed_key(self, p, c):
        """What :func:`measurements.compute` depends on besides the problem's fixed parts and its data
        (the memo holds the data object itself, compared by identity: a problem's data are not edited
        in place): the number of rows and the trajectory's point."""
        return (len(self.data), self._trajectory_args(p, c)[0])

    def keep_computed(self, p, c, comp, traj) -> None:
        """Make ``comp`` (a :class:`~mmxsim.navigation.measurements.Computed` of this problem's data
        with ``traj``, the trajectory of ``(p, c)``) the computation :meth:`computed` returns at
        ``(p, c)`` without computing it again, e.g. the rows of a larger problem's computation at the
        same point (each row's computation depends on that row alone)."""
        if len(comp.value) != len(self.data):
            raise InputError("keep_computed comp", len(comp.value), f"{len(self.data)} rows (this problem's data)")
        self._comp_memo = (self.data, self._computed_key(p, c), comp, traj)
        self._traj_memo = (self._trajectory_args(p, c)[0], traj)

    def computed_rows(self, p, c=None):
        """(computed values of every row (radiometric, landmark, LIDAR; see :meth:`observations`), the
        trajectory)."""
        value, _, traj = self.computed(p, c)
        v = self.values(p, c)
        parts = [value]
        if self.optical is not None and len(self.optical):
            parts.append(self._optical_block(v, traj, np.arange(len(self.optical)), None)[0])
        if self.altimetry is not None and len(self.altimetry):
            parts.append(self._lidar_block(v, traj, np.arange(len(self.altimetry)), None)[0])
        return np.concatenate(parts), traj

    def observations(self):
        """(observed (M,), sigma (M,), epochs (M,), labels (M,)) of every row, in the order of
        :meth:`linearize`: the tracking data, then the landmark rows, then the LIDAR rows."""
        d = self.data
        obs, sig, t = [d.value], [d.sigma], [d.epochs()]
        lab = [np.array([f"{r} {k}" for r, k in zip(d.receiver, d.kind)], dtype=object)]
        if self.optical is not None:
            o = self.optical
            obs += [o.value]
            sig += [o.sigma]
            t += [o.t[o.image]]
            lab += [np.where(o.component == 0, "landmark u", "landmark v").astype(object)]
        if self.altimetry is not None:
            a = self.altimetry
            obs += [a.value]
            sig += [a.sigma]
            t += [a.t]
            lab += [np.full(len(a), "lidar", dtype=object)]
        return np.concatenate(obs), np.concatenate(sig), np.concatenate(t), np.concatenate(lab)

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

    def _radiometric_partials(self, comp, traj, names, data=None) -> np.ndarray:
        """(m, len(names)) design-matrix rows of radiometric data from a computation."""
        d = self.data if data is None else data
        J = np.zeros((len(d), len(names)))
        hi, lo = comp.bounce_hi, comp.bounce_lo
        src, dst = self._columns(traj.names, names)
        # the sensitivity once per distinct bounce epoch (a Doppler count's first bounce is the
        # previous row's second, a range bounce a Doppler one: _shared_paths in measurements)
        ok_all = np.isfinite(hi)
        if ok_all.any():
            ep = np.unique(np.stack([hi[ok_all], lo[ok_all]], axis=1), axis=0)
            S_all = traj.sensitivity(ep[:, 0].copy(), ep[:, 1].copy())[:, :, src]  # (K, 6, n)
        for j in range(hi.shape[1]):
            ok = ok_all[:, j]
            if not ok.any():
                continue
            k = _epoch_rows(ep, hi[ok, j], lo[ok, j])
            dh = np.einsum("ki,kin->kn", comp.d_value_d_state[ok, j, :], S_all[k])
            J[np.ix_(np.flatnonzero(ok), dst)] += dh
        J += self._bias_matrix(names, d)
        return J

    def linearize(self, p):
        """The estimators' :class:`~mmxsim.navigation.estimation.Linearization` at ``p``: every row
        (radiometric, then landmark, then LIDAR)."""
        from .estimation import Linearization

        value, comp, traj = self.computed(p)
        all_names = [*self.names, *self.consider_names]
        J = self._radiometric_partials(comp, traj, all_names)
        values, blocks = [value], [J]
        v = self.values(p)
        if self.optical is not None and len(self.optical):
            val, Jo, _ = self._optical_block(v, traj, np.arange(len(self.optical)), all_names)
            values.append(val)
            blocks.append(Jo)
        if self.altimetry is not None and len(self.altimetry):
            val, Ja, _ = self._lidar_block(v, traj, np.arange(len(self.altimetry)), all_names)
            values.append(val)
            blocks.append(Ja)
        J = np.vstack(blocks) if len(blocks) > 1 else J
        obs, sig, t, labels = self.observations()
        n = self.n
        return Linearization(residual=obs - np.concatenate(values), sigma=sig, H=J[:, :n],
                             C=J[:, n:] if self.consider_names else None, t=t, labels=labels)

    # -- optical and LIDAR rows -----------------------------------------------------------------
    def _surface_setup(self):
        """(Phobos' rotation model, the libration's value when not a parameter of the problem)."""
        if self._surface is None:
            from ..bodies import get_body
            from ..bodies.rotation import iau_rotation
            from ..dynamics.model import DynamicsModel, body_rotations

            rot, lib = None, None
            if isinstance(self.model, DynamicsModel):
                rot = body_rotations(self.model).get("PHOBOS")
                if rot is None:
                    pck = self.model.rotation_pck
                    rot = iau_rotation(get_body("PHOBOS").naif_id, pck) if pck else get_body("PHOBOS").rotation()
                for f in self.model.forces:
                    if getattr(f, "libration_parameter", False):
                        lib = float(f.libration)
            self._surface = (rot, lib)
        return self._surface

    def pose(self, v: Mapping):
        """The pose callable (:func:`~mmxsim.navigation.optical.phobos_pose`) at the parameter values
        ``v`` (:meth:`values`): ``phobos:libration`` if the problem has it, else the dynamics' value."""
        from .optical import phobos_pose

        rot, lib = self._surface_setup()
        return phobos_pose(v.get(LIBRATION, lib), rot)

    def phobos_position(self, t, v: Mapping | None = None) -> np.ndarray:
        """(N, 3) Phobos Mars-centred, ICRF, km, from the source of the dynamics' Phobos track (a
        track override, else ``model.ephemeris``; the Chebyshev track the integrator uses is a fit
        to it within 1e-4 km), plus the ``phobos_correction`` at the parameter values ``v``."""
        q = self._phobos_ephemeris(t)
        if v is not None and self.phobos_correction is not None:
            q = q + self._phobos_offset(t, v)[0]
        return q

    def _phobos_offset(self, t, v: Mapping):
        """(dq (N,3), dq_dp (N,3,k)) of the hook at the values ``v`` (module doc), checked."""
        hook = self.phobos_correction
        t = np.atleast_1d(np.asarray(t, float))
        dq, dqp = hook(t, v)
        dq, dqp = np.asarray(dq, float), np.asarray(dqp, float)
        k = len(hook.names)
        if dq.shape != (len(t), 3) or dqp.shape != (len(t), 3, k):
            raise MmxsimError(f"phobos_correction returned shapes {dq.shape}, {dqp.shape}; expected "
                              f"({len(t)}, 3) and ({len(t)}, 3, {k})")
        return dq, dqp

    def _phobos_ephemeris(self, t) -> np.ndarray:
        t = np.atleast_1d(np.asarray(t, float))
        over = getattr(self.model, "track_overrides", {}) or {}
        if "PHOBOS" in over:
            q = over["PHOBOS"].position(t)
        else:
            eph = getattr(self.model, "ephemeris", None) or self.ephemeris
            if eph is None:
                raise InputError("od.model.ephemeris", None, "an ephemeris with Phobos (optical / LIDAR rows)")
            q = eph.position("PHOBOS", "MARS", t)
        return np.asarray(q, float).reshape(len(t), 3)

    @staticmethod
    def _sc_position(traj, t) -> np.ndarray:
        """(N, 3) the spacecraft Mars-centred (the trajectory's own frame: no round trip through the
        barycentre, exact to the integrator's dense output)."""
        t, _ = traj._epochs(t, None)
        return traj._raw(t)[:, :3]

    def _surface_columns(self, names):
        """Positions in ``names`` of the surface parameters (-1 when absent): dict of arrays."""
        key = tuple(names)
        if getattr(self, "_surf_cols", (None,))[0] == key:
            return self._surf_cols[1]
        idx = {n: j for j, n in enumerate(names)}
        cols = {"lib": idx.get(LIBRATION, -1), "cam": np.full(3, -1), "lidar": np.full(3, -1)}
        opt = self.optical
        cols["lmk"] = np.full((len(opt.landmarks) if opt is not None else 0, 3), -1)
        cols["point"] = np.full((len(opt.t) if opt is not None else 0, 3), -1)
        for nm, j in idx.items():
            mt = _LMK.match(nm)
            if mt and opt is not None:
                cols["lmk"][int(mt.group(1)), "xyz".index(mt.group(2))] = j
                continue
            mt = _POINT.match(nm)
            if mt and opt is not None:
                a = int(mt.group(2)) - 1
                if mt.group(1) == "cam":
                    cols["cam"][a] = j
                else:
                    cols["point"][int(mt.group(1)), a] = j
                continue
            mt = _LIDARPOINT.match(nm)
            if mt:
                cols["lidar"][int(mt.group(1)) - 1] = j
        self._surf_cols = (key, cols)
        return cols

    def _landmarks_at(self, v: Mapping):
        """The landmark catalogue with the positions of ``v`` (``lmk:<k>:x|y|z``) where given."""
        from .optical import Landmarks

        o = self.optical
        L = np.array(o.landmarks.position_km, float)
        for nm, val in v.items():
            mt = _LMK.match(nm)
            if mt:
                L[int(mt.group(1)), "xyz".index(mt.group(2))] = val
        return Landmarks(o.landmarks.facet, L)

    def _image_pointing(self, v: Mapping) -> np.ndarray:
        """(N, 3) the images' pointing angles: known + ``point:<i>:*`` + ``point:cam:*``."""
        th = np.array(self.optical.pointing_rad, float)
        for nm, val in v.items():
            mt = _POINT.match(nm)
            if mt:
                a = int(mt.group(2)) - 1
                if mt.group(1) == "cam":
                    th[:, a] += val
                else:
                    th[int(mt.group(1)), a] += val
        return th

    def _optical_block(self, v: Mapping, traj, rows, names):
        """Landmark rows ``rows``: (computed px (m,), design rows (m, len(names)) or None when
        ``names`` is None, d_value_d_phobos (m, 6))."""
        from .optical import project_landmarks

        o = self.optical
        rows = np.asarray(rows)
        img_r, lmk_r = o.image[rows], o.landmark[rows]
        uimg, inv_img = np.unique(img_r, return_inverse=True)
        t = o.t[uimg]
        lm = self._landmarks_at(v)
        nl = len(lm)
        ukey, inv = np.unique(inv_img * nl + lmk_r, return_inverse=True)
        if names is None:
            pos, S = self._sc_position(traj, t), None
        else:  # one dense-output evaluation for the position and its sensitivity (the rows see no velocity)
            pos, S = traj.position_and_sensitivity(t)
        oc = project_landmarks(lm, o.camera, t, ukey // nl, ukey % nl, pos,
                               self.phobos_position(t, v), self.pose(v), pointing_rad=self._image_pointing(v)[uimg],
                               settings=o.settings)
        sel = 2 * inv + o.component[rows]
        value = oc.value[sel]
        dph = oc.d_value_d_phobos[sel]
        if names is None:
            return value, None, dph
        m = len(rows)
        J = np.zeros((m, len(names)))
        src, dst = self._columns(traj.names, names)
        J[:, dst] = np.einsum("mi,min->mn", oc.d_value_d_state[sel, 0, :3], S[:, :, src][inv_img])
        cols = self._surface_columns(names)
        if cols["lib"] >= 0:
            J[:, cols["lib"]] += oc.d_value_d_pose[sel, 0]
        rr = np.broadcast_to(np.arange(m)[:, None], (m, 3))
        for c, dv in ((cols["lmk"][lmk_r], oc.d_value_d_landmark[sel]),
                      (cols["point"][img_r], oc.d_value_d_pointing[sel])):
            ok = c >= 0
            if ok.any():
                J[rr[ok], c[ok]] += dv[ok]
        for a in range(3):
            if cols["cam"][a] >= 0:
                J[:, cols["cam"][a]] += oc.d_value_d_pointing[sel, a]
        self._chain_phobos(J, names, t, v, dph, inv_img)
        return value, J, dph

    def _chain_phobos(self, J, names, t, v, dph, index) -> None:
        """Add ``d_value_d_phobos . dq/dp`` of the ``phobos_correction`` hook to its columns
        (``t`` the distinct epochs, ``index`` each row's epoch among them)."""
        hook = self.phobos_correction
        if hook is None:
            return
        cols = [(k, names.index(nm)) for k, nm in enumerate(hook.names) if nm in names]
        if not cols:
            return
        _, dqp = self._phobos_offset(t, v)
        for k, j in cols:
            J[:, j] += np.einsum("mi,mi->m", dph[:, :3], dqp[index, :, k])

    def _lidar_block(self, v: Mapping, traj, rows, names):
        """LIDAR rows ``rows``: (computed km (m,), design rows or None, d_value_d_phobos (m, 6))."""
        from .altimetry import lidar_ranges

        a = self.altimetry
        rows = np.asarray(rows)
        t = a.t[rows]
        th = a.pointing_rad[rows] + np.array([v.get(f"lidarpoint:{k}", 0.0) for k in (1, 2, 3)])
        if names is None:
            pos, S = self._sc_position(traj, t), None
        else:  # one dense-output evaluation for the position and its sensitivity (the rows see no velocity)
            pos, S = traj.position_and_sensitivity(t)
        ac = lidar_ranges(a.shape, t, pos, self.phobos_position(t, v), self.pose(v),
                          pointing_rad=th, facet=a.facet[rows], settings=a.settings)
        if names is None:
            return ac.value, None, ac.d_value_d_phobos
        m = len(rows)
        J = np.zeros((m, len(names)))
        src, dst = self._columns(traj.names, names)
        J[:, dst] = np.einsum("mi,min->mn", ac.d_value_d_state[:, 0, :3], S[:, :, src])
        cols = self._surface_columns(names)
        if cols["lib"] >= 0:
            J[:, cols["lib"]] += ac.d_value_d_pose[:, 0]
        for k in range(3):
            if cols["lidar"][k] >= 0:
                J[:, cols["lidar"][k]] += ac.d_value_d_pointing[:, k]
        self._chain_phobos(J, names, t, v, ac.d_value_d_phobos, np.arange(m))
        return ac.value, J, ac.d_value_d_phobos

    def surface_rows(self, p, c=None):
        """Optical and LIDAR rows at ``p`` with the models' partials with respect to Phobos' Mars-centred
        state: dict kind -> (computed (m,), d_value_d_phobos (m, 6)) (the hook for Phobos' ephemeris
        corrections, module doc)."""
        traj = self.trajectory(p, c)
        v = self.values(p, c)
        out = {}
        if self.optical is not None and len(self.optical):
            val, _, dph = self._optical_block(v, traj, np.arange(len(self.optical)), None)
            out["landmark"] = (val, dph)
        if self.altimetry is not None and len(self.altimetry):
            val, _, dph = self._lidar_block(v, traj, np.arange(len(self.altimetry)), None)
            out["lidar"] = (val, dph)
        return out

    # -- information for covariance analysis ----------------------------------------------------
    def information(self, p=None, *, kinds=None, chunk: int = 20_000) -> "Information":
        """Normal matrices ``Hᵀ W H`` (W = diag(1/σ²)) per data kind at ``p`` (default the a priori
        mean; consider parameters at their nominal values), over every estimated and consider column
        (in the order of ``names`` then ``consider_names``), and ``Hᵀ W r`` (r = observed - computed).
        ``kinds``: some of "range", "doppler", "ddor" (radiometric, as ``TrackingData.kind``),
        "landmark", "lidar" (default all present). Rows are taken ``chunk`` at a time (fewer when
        there are many columns: at most 4e6 matrix elements per block) and each block's product is
        formed over the columns it touches only (per-image pointing and landmark columns are sparse),
        so the full design matrix is never held. The elevation check of :meth:`computed` is not made
        here. The batch estimator keeps using :meth:`linearize`."""
        from .measurements import compute

        present = [k for k in KINDS if np.any(self.data.kind == k)]
        if self.optical is not None and len(self.optical):
            present.append("landmark")
        if self.altimetry is not None and len(self.altimetry):
            present.append("lidar")
        allowed = (*KINDS, *SURFACE_KINDS)
        kinds = present if kinds is None else [kinds] if isinstance(kinds, str) else list(kinds)
        for k in kinds:
            if k not in allowed:
                raise InputError("information.kinds", k, ", ".join(allowed))
        if not (isinstance(chunk, (int, np.integer)) and chunk >= 1):
            raise InputError("information.chunk", chunk, "an integer >= 1 (rows per block)")
        p = self.p0 if p is None else np.asarray(p, float)
        if p.shape != (self.n,):
            raise InputError("information.p", f"shape {p.shape}", f"({self.n},) values in the order of names")
        names = [*self.names, *self.consider_names]
        n = len(names)
        traj = self.trajectory(p)
        v = self.values(p)
        step = int(max(1, min(chunk, 4_000_000 // max(n, 1))))
        normal, grad, rows, secs = {}, {}, {}, {}
        for kind in kinds:
            t_start = _time.perf_counter()
            N = np.zeros((n, n))
            g = np.zeros(n)
            if kind in KINDS:
                idx = np.flatnonzero(self.data.kind == kind)
                total = len(idx)
            else:
                total = len(self.optical if kind == "landmark" else self.altimetry) if kind in present else 0
                idx = np.arange(total)
            for a in range(0, total, step):
                r = idx[a:a + step]
                if kind in KINDS:
                    sub = self.data.select(r)
                    comp = compute(sub, traj, self.stations, self.settings, self.ephemeris)
                    J = self._radiometric_partials(comp, traj, names, sub)
                    val = comp.value + self._bias_matrix(list(v), sub) @ np.array(list(v.values()))
                    obs, sig = sub.value, sub.sigma
                elif kind == "landmark":
                    val, J, _ = self._optical_block(v, traj, r, names)
                    obs, sig = self.optical.value[r], self.optical.sigma[r]
                else:
                    val, J, _ = self._lidar_block(v, traj, r, names)
                    obs, sig = self.altimetry.value[r], self.altimetry.sigma[r]
                act = np.flatnonzero(np.any(J != 0.0, axis=0))
                Jw = J[:, act] / sig[:, None]
                N[np.ix_(act, act)] += Jw.T @ Jw
                g[act] += Jw.T @ ((obs - val) / sig)
            normal[kind], grad[kind], rows[kind] = N, g, int(total)
            secs[kind] = _time.perf_counter() - t_start
        return Information(names=names, n_estimated=self.n, normal=normal, gradient=grad, rows=rows,
                           seconds=secs, prior=self.P0)

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


def _epoch_rows(ep: np.ndarray, hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Rows of ``ep`` ((K, 2) distinct two-part epochs sorted by (hi, lo), as np.unique(axis=0)
    gives) equal to each (hi, lo)."""
    i = np.searchsorted(ep[:, 0], hi, side="left")
    j = np.searchsorted(ep[:, 0], hi, side="right")
    out = i.copy()
    for r in np.flatnonzero(j - i > 1):  # one hi with several lo: rare (the same float, other low parts)
        out[r] = i[r] + int(np.searchsorted(ep[i[r]:j[r], 1], lo[r]))
    if not (np.array_equal(ep[out, 0], hi) and np.array_equal(ep[out, 1], lo)):  # pragma: no cover
        raise MmxsimError("internal: a bounce epoch was not found among the evaluated ones")
    return out


def fly_trajectories(items) -> list:
    """Trajectories of several (problem, p, c) at once, each then kept by its problem as
    :meth:`OrbitProblem.trajectory` keeps its last one (the next ``trajectory(p, c)`` of that problem
    returns it without flying again). Items whose problems share the model, arc, estimated dynamical
    parameters and manoeuvre epochs fly together in heyoka's batch mode
    (:func:`~mmxsim.navigation.variational.propagate_batch`); the same trajectories as one
    ``trajectory`` call each, to the integrator's tolerance. Several items may share a problem (its
    memo then holds the last item's trajectory)."""
    from .variational import propagate_batch

    items = list(items)
    args = [prob._trajectory_args(p, c) for prob, p, c in items]
    groups: dict = {}
    for i, ((prob, _, _), (_, _, dyn, mans)) in enumerate(zip(items, args)):
        g = (id(prob.model), prob.t0, prob.t1, bool(prob.barycentric), tuple(dyn), tuple(t for t, _ in mans))
        groups.setdefault(g, []).append(i)
    out = [None] * len(items)
    for idx in groups.values():
        prob = items[idx[0]][0]
        trajs = propagate_batch(prob.model, prob.t0, np.array([args[i][1] for i in idx]), prob.t1,
                                parameters=[args[i][2] for i in idx], member_maneuvers=[args[i][3] for i in idx],
                                barycentric=prob.barycentric)
        for i, tr in zip(idx, trajs):
            out[i] = tr
    for (prob, _, _), (key, *_), tr in zip(items, args, out):
        prob._traj_memo = (key, tr)
    return out


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


@dataclass
class Information:
    """Normal equations per data kind (:meth:`OrbitProblem.information`).

    ``names``: the columns (estimated parameters, then consider parameters); ``n_estimated``: how many
    are estimated; ``normal[kind]`` (n, n) ``Hᵀ W H``; ``gradient[kind]`` (n,) ``Hᵀ W r``;
    ``rows[kind]`` the number of rows; ``seconds[kind]`` the time taken; ``prior`` the a priori
    covariance of the estimated parameters."""

    names: list
    n_estimated: int
    normal: dict
    gradient: dict
    rows: dict
    seconds: dict
    prior: np.ndarray

    def total(self, kinds=None) -> np.ndarray:
        """(n, n) the sum of the normal matrices of ``kinds`` (default all)."""
        ks = list(self.normal) if kinds is None else [kinds] if isinstance(kinds, str) else list(kinds)
        for k in ks:
            if k not in self.normal:
                raise InputError("information kind", k, ", ".join(self.normal) or "none computed")
        n = len(self.names)
        return sum((self.normal[k] for k in ks), np.zeros((n, n)))

    def covariance(self, kinds=None, prior: bool = True) -> np.ndarray:
        """Formal covariance of the estimated parameters from ``kinds`` (default all), with the a
        priori information ``P0⁻¹`` added (parameters without a priori contribute nothing);
        consider parameters held at their values (their effect: :meth:`consider_covariance`)."""
        q = self.n_estimated
        A = self.total(kinds)[:q, :q].copy()
        if prior:
            s = np.sqrt(np.diag(self.prior))
            A[np.diag_indices(q)] += np.where(np.isfinite(s), 1.0 / s ** 2, 0.0)
        try:
            return np.linalg.inv(A)
        except np.linalg.LinAlgError:
            raise MmxsimError("the normal matrix is singular: some estimated parameters are not observable "
                              "from these data (add data, a priori or fix them)") from None

    def consider_covariance(self, Pcc, kinds=None) -> np.ndarray:
        """Covariance of the estimated parameters including the consider parameters' uncertainty
        ``Pcc`` (q_c, q_c): ``P + (P Nec) Pcc (P Nec)ᵀ``."""
        q = self.n_estimated
        P = self.covariance(kinds)
        Nec = self.total(kinds)[:q, q:]
        Pcc = np.asarray(Pcc, float)
        if Pcc.shape != (Nec.shape[1],) * 2:
            raise InputError("Pcc", f"shape {Pcc.shape}", f"({Nec.shape[1]}, {Nec.shape[1]}) consider covariance")
        S = P @ Nec
        return P + S @ Pcc @ S.T


def surface_information(problem: OrbitProblem, p=None, *, extra=None, images=None, landmarks=None, camera=None,
                        shots=None, shape=None, optical_settings=None, altimetry_settings=None,
                        chunk: int = 20_000) -> Information:
    """Covariance mode for landmark and LIDAR data at ``p`` (the truth): each chunk of images or shots
    decides its rows (in the image, visible, lit; in the LIDAR's window: the simulators' rules) and
    forms their partials in the same call (:func:`~mmxsim.navigation.optical.landmark_observations`,
    :func:`~mmxsim.navigation.altimetry.lidar_observations`: one ray cast per shot, one dense-output
    evaluation per epoch), so no data set is built. The same numbers as :func:`simulate_optical` /
    :func:`simulate_altimetry` (noise-free) followed by :meth:`OrbitProblem.information` (checked in
    the tests); for covariance analysis of long arcs (the geodesy campaign, ``bench_geodesy``).

    ``problem``: the arc's problem (its radio data unused here); ``extra``: name -> value of the
    surface-only parameters to add as columns after the problem's (``point:cam:1..3`` camera bias,
    ``lidarpoint:1..3`` LIDAR bias, ``lmk:<k>:x|y|z`` landmark positions; the nominal pointing is
    zero); ``images`` (N,) image epochs with ``landmarks``, ``camera``, ``shape``; ``shots`` (M,) LIDAR
    epochs. Returns an :class:`Information` over ``problem.names + consider + extra`` with the kinds
    "landmark" and "lidar" (``gradient`` zero: no data), ``rows`` the rows decided."""
    from .altimetry import lidar_observations
    from .optical import Landmarks, landmark_observations

    extra = dict(extra or {})
    for k in extra:
        if not (_LMK.match(k) or k in (*(f"point:cam:{i}" for i in (1, 2, 3)),
                                        *(f"lidarpoint:{i}" for i in (1, 2, 3)))):
            raise InputError("surface_information.extra", k, "point:cam:1..3, lidarpoint:1..3, lmk:<k>:x|y|z")
    if images is not None and not isinstance(landmarks, Landmarks):
        raise InputError("surface_information.landmarks", type(landmarks).__name__, "a Landmarks with the images")
    p = problem.p0 if p is None else np.asarray(p, float)
    names = [*problem.names, *problem.consider_names, *extra]
    n = len(names)
    col = {k: j for j, k in enumerate(names)}
    traj = problem.trajectory(p)
    v = {**problem.values(p), **extra}
    hook = problem.phobos_correction
    if hook is None:
        force = _ephemeris_force(problem.model)
        hook = PhobosEphemerisHook(force) if force is not None else None
    ph_cols = [col[k] for k in (hook.names if hook is not None else ()) if k in col]
    ph_idx = [i for i, k in enumerate(hook.names) if k in col] if hook is not None else []
    src, dst = problem._columns(traj.names, names)
    pose = problem.pose(v)
    lib = col.get(LIBRATION, -1)
    eph = problem.ephemeris or problem.model.ephemeris
    lm = None
    if images is not None and len(landmarks):
        pos = landmarks.position_km.copy()
        for k in range(len(landmarks)):
            for a, ax in enumerate("xyz"):
                pos[k, a] = v.get(f"lmk:{k}:{ax}", pos[k, a])
        lm = landmarks.with_positions(pos)
        lmk_cols = np.array([[col.get(f"lmk:{k}:{ax}", -1) for ax in "xyz"] for k in range(len(landmarks))])
    normal, rows, secs = {}, {}, {}
    for kind, t_all in (("landmark", images), ("lidar", shots)):
        if t_all is None:
            continue
        t_start = _time.perf_counter()
        t_all = np.atleast_1d(np.asarray(t_all, float))
        N = np.zeros((n, n))
        count = 0
        bias = [col.get(f"{'point:cam' if kind == 'landmark' else 'lidarpoint'}:{i}", -1) for i in (1, 2, 3)]
        th = np.array([v.get(f"{'point:cam' if kind == 'landmark' else 'lidarpoint'}:{i}", 0.0) for i in (1, 2, 3)])
        step = max(1, min(chunk, 4_000_000 // max(n, 1)))
        if kind == "landmark":
            step = max(1, step // max(1, len(landmarks) // 10))
        for a in range(0, len(t_all), step):
            t = t_all[a:a + step]
            r, S = traj.position_and_sensitivity(t)
            q = problem.phobos_position(t, None)
            if hook is not None:
                dq, dqp = hook(t, v)
                q = q + dq
            if kind == "landmark":
                if lm is None:
                    break
                sun = np.asarray(eph.position("SUN", "MARS", t), float).reshape(len(t), 3)
                o = landmark_observations(shape, lm, camera, t, r, q, pose, sun,
                                          pointing_rad=np.broadcast_to(th, (len(t), 3)), settings=optical_settings)
                idx = o.image
            else:
                o = lidar_observations(shape, t, r, q, pose, pointing_rad=np.broadcast_to(th, (len(t), 3)),
                                       settings=altimetry_settings)
                idx = o.shot
            m = len(o.value)
            if not m:
                continue
            H = np.zeros((m, n))
            H[:, dst] = np.einsum("ki,kin->kn", o.d_value_d_state[:, 0, :3], S[idx][:, :, src])
            if lib >= 0:
                H[:, lib] += o.d_value_d_pose[:, 0]
            for i, c in enumerate(bias):
                if c >= 0:
                    H[:, c] += o.d_value_d_pointing[:, i]
            if ph_cols:
                H[:, ph_cols] += np.einsum("ki,kin->kn", o.d_value_d_phobos[:, :3], dqp[idx][:, :, ph_idx])
            if kind == "landmark":
                lc = lmk_cols[o.landmark]
                rr = np.broadcast_to(np.arange(m)[:, None], (m, 3))
                ok = lc >= 0
                H[rr[ok], lc[ok]] += o.d_value_d_landmark[ok]
            act = np.flatnonzero(np.any(H != 0.0, axis=0))
            Hw = H[:, act] / o.sigma[:, None]
            N[np.ix_(act, act)] += Hw.T @ Hw
            count += m
        normal[kind], rows[kind], secs[kind] = N, count, _time.perf_counter() - t_start
    prior = np.zeros((0, 0))
    return Information(names=names, n_estimated=len(problem.names), normal=normal,
                       gradient={k: np.zeros(n) for k in normal}, rows=rows, seconds=secs, prior=prior)


def _truth(problem: OrbitProblem, p_true, c_true):
    traj = problem.trajectory(p_true, c_true)
    return traj, problem.values(p_true, c_true)


def simulate_optical(problem: OrbitProblem, p_true, c_true=None, *, t, landmarks, camera, shape,
                     settings=None, pointing_rad=None, true_positions_km=None, known_pointing_rad=None,
                     seed: int | None = 0, noise: bool = True):
    """Landmark observations of images at epochs ``t`` (N,) for the problem's true parameters
    (``p_true``, ``c_true``: its trajectory, Phobos' pose with the true libration): the rows are
    decided here (in the image, visible, lit, :func:`~mmxsim.navigation.optical.landmark_observations`)
    with the true geometry, the Sun from the problem's ephemeris, the true pointing ``pointing_rad``
    (N,3) and the true landmark positions ``true_positions_km`` (default the catalogue ``landmarks``);
    Gaussian pixel noise ``settings.pixel_sigma`` (NumPy PCG64 with ``seed``: same inputs, same data).
    Returns an :class:`~mmxsim.navigation.optical.OpticalData` whose catalogue is ``landmarks`` (the
    a priori) and known pointing ``known_pointing_rad`` (default zeros)."""
    from .optical import Landmarks, OpticalData, OpticalSettings, landmark_observations

    t = np.atleast_1d(np.asarray(t, float))
    if t.ndim != 1 or not len(t) or not np.all(np.isfinite(t)) or t.min() < problem.t0 or t.max() > problem.t1:
        raise InputError("simulate_optical.t", f"{len(t)} epochs",
                         f"(N,) finite image epochs inside the arc {problem.t0:.3f} .. {problem.t1:.3f}")
    if not isinstance(landmarks, Landmarks):
        raise InputError("simulate_optical.landmarks", type(landmarks).__name__, "a Landmarks")
    settings = settings or OpticalSettings()
    traj, v = _truth(problem, p_true, c_true)
    truth = landmarks if true_positions_km is None else landmarks.with_positions(true_positions_km)
    eph = problem.ephemeris or problem.model.ephemeris
    sun = np.asarray(eph.position("SUN", "MARS", t), float).reshape(len(t), 3)
    oc = landmark_observations(shape, truth, camera, t, problem._sc_position(traj, t),
                               problem.phobos_position(t, v), problem.pose(v), sun, pointing_rad=pointing_rad,
                               settings=settings)
    rng = np.random.default_rng(seed)
    val = oc.value + (rng.standard_normal(len(oc)) * settings.pixel_sigma if noise else 0.0)
    return OpticalData(t, oc.image, oc.landmark, oc.component, val, np.full(len(oc), float(settings.pixel_sigma)),
                       camera, landmarks, shape, settings, known_pointing_rad,
                       {"simulated": True, "seed": seed, "noise": bool(noise)})


def simulate_altimetry(problem: OrbitProblem, p_true, c_true=None, *, t, shape, settings=None, pointing_rad=None,
                       known_pointing_rad=None, seed: int | None = 0, noise: bool = True):
    """LIDAR shots at epochs ``t`` (N,) for the problem's true parameters: rows where the boresight
    (true pointing ``pointing_rad``, (N,3) or (3,)) meets the shape within the range window
    (:func:`~mmxsim.navigation.altimetry.lidar_observations`), noise of the published accuracy
    (NumPy PCG64 with ``seed``). Returns an :class:`~mmxsim.navigation.altimetry.AltimetryData` with
    known pointing ``known_pointing_rad`` (default zeros)."""
    from .altimetry import AltimetryData, AltimetrySettings, lidar_observations

    t = np.atleast_1d(np.asarray(t, float))
    if t.ndim != 1 or not len(t) or not np.all(np.isfinite(t)) or t.min() < problem.t0 or t.max() > problem.t1:
        raise InputError("simulate_altimetry.t", f"{len(t)} epochs",
                         f"(N,) finite shot epochs inside the arc {problem.t0:.3f} .. {problem.t1:.3f}")
    settings = settings or AltimetrySettings()
    traj, v = _truth(problem, p_true, c_true)
    ac = lidar_observations(shape, t, problem._sc_position(traj, t), problem.phobos_position(t, v), problem.pose(v),
                            pointing_rad=pointing_rad, settings=settings)
    rng = np.random.default_rng(seed)
    val = ac.value + (rng.standard_normal(len(ac)) * ac.sigma if noise else 0.0)
    kp = None
    if known_pointing_rad is not None:
        kp = np.asarray(known_pointing_rad, float)
        kp = kp[ac.shot] if kp.ndim == 2 else kp
    return AltimetryData(ac.t, val, ac.sigma, ac.facet, shape, settings, kp,
                         {"simulated": True, "seed": seed, "noise": bool(noise)})


def simulate_rows(problem: OrbitProblem, p_true, c_true=None, *, seed: int | None = 0, noise: bool = True):
    """Every data set of the problem re-computed at the true parameters, its rows kept (for Monte
    Carlo runs): (TrackingData, OpticalData or None, AltimetryData or None), Gaussian noise of each
    row's sigma drawn in that order from one NumPy PCG64 stream with ``seed``."""
    value, traj = problem.computed_rows(p_true, c_true)
    _, sig, _, _ = problem.observations()
    if noise:
        value = value + np.random.default_rng(seed).standard_normal(len(value)) * sig
    m0 = len(problem.data)
    d = problem.data.with_values(value[:m0])
    d.sigma = problem.data.sigma.copy()
    d.meta = {**problem.data.meta, "simulated": True, "seed": seed, "noise": bool(noise)}
    out = [d]
    k = m0
    for obs in (problem.optical, problem.altimetry):
        if obs is None:
            out.append(None)
            continue
        o = obs.with_values(value[k:k + len(obs)])
        o.meta = {**obs.meta, "simulated": True, "seed": seed, "noise": bool(noise)}
        out.append(o)
        k += len(obs)
    return tuple(out)
