"""The ensemble path of a campaign: samples that share one model flown together in heyoka's batch mode.

When every sample of a campaign is a trajectory of the same model and records only numbers the
trajectory alone produces, running the whole scenario per sample (:func:`.runner.run_sample`) repeats
the same set-up and flies one member at a time. Here samples are grouped by everything that shapes
the model, and each group is flown by :func:`mmxsim.dynamics.ensemble.propagate_ensemble` (one Dask
task per chunk of a group, :data:`CHUNK` members at most), then each member is post-processed
exactly as :func:`mmxsim.mission.runner.run_scenario` does it and its record built exactly as
``run_sample`` builds it (same columns; the outputs agree with the per-sample path to the
integrator's tolerance: both paths integrate the same equations, each member with its own adaptive
steps).

When it applies (:func:`ensemble_reason` says why not otherwise):

- no analysis is enabled (in the base scenario, ``set:`` or ``vary``): analyses need the whole run;
- every output is one of :data:`TRAJECTORY_OUTPUTS` (the summary keys that come from the trajectory,
  the events and the force model alone; not ``timings_s``, ``metadata``, ``assumptions`` or
  ``analyses``).

Grouping: two samples share a group when their scenarios are equal once the per-member fields
(:data:`MEMBER_PATHS`: the initial state, which only sets the member's start, and the spacecraft's
mass, Cr and SRP area, which only set the runtime parameter ``srp:cr_area_over_mass``) and the run
name are left out; so the force model, events, ephemeris, epoch, span and output grid are the same.
In the task each sample is still validated and its model built (milliseconds); the model's signature
is checked against the group's and each member's runtime parameters
(:func:`~mmxsim.dynamics.ensemble.parameter_names`) are read from its own model. A sample that fails
there, or a group whose propagation fails, runs the per-sample path instead, so failures are
recorded with the same error text. The record's ``path`` says which path produced it:
``"ensemble"`` (a batch lane), ``"ensemble-scalar"`` (a member the ensemble flew with the scalar
propagator: one that crossed or started inside a refined impact trigger or the near-surface gravity
switch) or ``"scenario"`` (``run_sample``).

Simplifications: ``wall_s`` of an ensemble record is its chunk's wall time divided by the members
(the members share one integration). A member's steps are its own, except that a terminal event of
one lane (an impact) restarts the other lanes of its batch at that epoch: their numbers can then
depend on their batch companions at the integrator's tolerance (not beyond), so a resumed campaign,
which regroups the remaining samples, can differ from an uninterrupted one at that level.
"""

from __future__ import annotations

import json
import time
from typing import Any

import numpy as np

from .spec import CampaignSpec, split_path

__all__ = ["TRAJECTORY_OUTPUTS", "MEMBER_PATHS", "CHUNK", "ensemble_reason", "group_key", "plan_chunks",
           "run_ensemble_samples"]

#: first keys of the summary paths the ensemble path can produce (see :func:`mmxsim.results.build_summary`)
TRAJECTORY_OUTPUTS = ("scenario", "termination", "span", "samples", "frame", "distance_phobos_km",
                      "altitude_phobos_km", "events", "force_model")

#: scenario fields that differ between members of one ensemble (the start, the SRP parameter)
MEMBER_PATHS = ("initial_state", "spacecraft.mass_kg", "spacecraft.cr", "spacecraft.srp_area_m2")

#: most members per task (balanced chunks of a group: a group of 200 gives 25 tasks of 8): one SIMD
#: batch on AVX-512, so every batch is full while tasks stay short and spread over the workers (a member
#: that goes to the scalar fallback costs seconds: small tasks balance them). Measured: 48 one-day
#: samples cost the same CPU time in chunks of 8 or 16 (0.44 and 0.42 s)
CHUNK = 8


def ensemble_reason(spec: CampaignSpec) -> str | None:
    """Why ``spec``'s samples cannot run as ensembles (None: they can)."""
    bad = [o for o in spec.outputs if str(split_path(o)[0]) not in TRAJECTORY_OUTPUTS]
    if bad:
        return (f"outputs {', '.join(bad)} need the whole run (the ensemble path records "
                f"{', '.join(TRAJECTORY_OUTPUTS)})")
    an = [k for k, v in (spec.base.get("analyses") or {}).items() if v is not None]
    an += [p for p in [*spec.fixed, *(v.path for v in spec.vary)] if str(split_path(p)[0]) == "analyses"]
    if an:
        return f"analyses are enabled ({', '.join(map(str, an))})"
    return None


def group_key(spec: CampaignSpec, values: dict[str, Any]) -> str:
    """What the samples of one ensemble share: the scenario without name and :data:`MEMBER_PATHS`."""
    data = spec.scenario_data(values)
    data.pop("name", None)
    for p in MEMBER_PATHS:
        segs = split_path(p)
        cur = data
        for s in segs[:-1]:
            cur = cur.get(s) if isinstance(cur, dict) else None
        if isinstance(cur, dict):
            cur.pop(segs[-1], None)
    return json.dumps(data, sort_keys=True, default=str)


def plan_chunks(spec: CampaignSpec, indices) -> list[list[int]]:
    """``indices`` grouped by :func:`group_key` (in order of first appearance), each group cut into
    balanced chunks of at most :data:`CHUNK` samples: the tasks of the ensemble path."""
    groups: dict[str, list[int]] = {}
    for i in indices:
        try:
            key = group_key(spec, spec.inputs(i)[1])
        except Exception:  # noqa: BLE001 - a sample that cannot even be built runs (and fails) alone
            key = f"alone:{i}"
        groups.setdefault(key, []).append(int(i))
    out = []
    for members in groups.values():
        n = -(-len(members) // CHUNK)
        out += [list(map(int, c)) for c in np.array_split(np.asarray(members), n)]
    return out


def _grid(s) -> tuple[float, float, np.ndarray]:
    """(t0, t1, output grid) of a scenario, as :func:`mmxsim.mission.runner.run_scenario` builds them."""
    t0, t1 = float(s.t0_tdb), float(s.t1_tdb)
    step = float(s.propagation.output_step_s)
    n = int(np.floor((t1 - t0) / step + 1e-9))
    grid = t0 + step * np.arange(n + 1)
    if grid[-1] < t1 - 1e-6:
        grid = np.r_[grid, t1]
    return t0, t1, grid


def _check_coverage(model, eph, t0: float, t1: float) -> None:
    """The ephemeris coverage check of ``run_scenario`` (raises its CoverageError)."""
    for body in ["MARS", *sorted(model.bodies())]:
        lo, hi = eph.coverage(body)
        if t0 < lo or t1 > hi:
            from ..errors import CoverageError
            from ..time import iso_tdb

            bad = t0 if t0 < lo else t1
            raise CoverageError(body, iso_tdb(bad), (iso_tdb(lo), iso_tdb(hi)), getattr(eph, "name", "ephemeris"))


def _summary(s, model, eph, orient, surface, prop) -> dict:
    """The summary ``build_summary(run_scenario(s))`` would give for the trajectory keys, from the
    member's propagation (the post-processing lines of ``run_scenario``)."""
    from ..frames import from_mars_icrf
    from ..results import Event, RunResult, Trajectory, build_summary

    traj = Trajectory(prop.t, prop.states, "MARS", "ICRF", "MMX", "MMX")
    hill = from_mars_icrf("PHOBOS_HILL", prop.t, prop.states, eph)
    pfix = from_mars_icrf("PHOBOS_FIXED", prop.t, prop.states, eph, orient)
    dist = np.linalg.norm(hill[:, :3], axis=1)
    alt = surface.altitude(pfix[:, :3])
    events = [Event(kind, t, body, term) for kind, body, t, term in prop.events]
    res = RunResult(scenario_name=s.name, trajectory=traj, hill=Trajectory(prop.t, hill, "PHOBOS", "PHOBOS_HILL"),
                    phobos_fixed=Trajectory(prop.t, pfix, "PHOBOS", "PHOBOS_FIXED"), distance_phobos_km=dist,
                    altitude_phobos_km=alt, events=events, force_model=model.describe(),
                    termination=prop.termination, altitude_surface=surface.label)
    return build_summary(res)


def run_ensemble_samples(spec: CampaignSpec, indices) -> list[dict]:
    """The records of samples ``indices`` (one group's chunk), flown as one ensemble (one Dask task).

    Same records as ``[run_sample(spec, i) for i in indices]`` (outputs to the integrator's
    tolerance, ``path`` and ``wall_s`` aside); never raises for a bad sample."""
    from ..dynamics.ensemble import parameter_names, propagate_ensemble
    from ..mission.runner import altitude_surface, body_orientation, build_model, initial_state
    from ..scenario import parse_scenario
    from .sample import fail_record, new_record, pick_outputs, run_sample

    t_start = time.perf_counter()
    indices = [int(i) for i in indices]
    members: list = []  # (index, record, scenario, model, x0, parameters)
    alone: list[int] = []
    ref = None  # (scenario, model, eph, orient, t0, t1, grid, signature, parameter names)
    for i in indices:
        try:
            seed, values = spec.inputs(i)
            data = spec.scenario_data(values)
            data["name"] = f"{spec.name}-{i}"[:80]
            s = parse_scenario(data, f"{spec.name} sample {i}", base_dir=spec.base_dir)
            model, eph = build_model(s, spec.base_dir)
            t0, t1, grid = _grid(s)
            if ref is None:
                orient = body_orientation(model.rotation_pck)
                _check_coverage(model, eph, t0, t1)
                ref = (s, model, eph, orient, t0, t1, grid, model.signature(), parameter_names(model))
            elif (model.signature() != ref[7] or t0 != ref[4] or t1 != ref[5] or grid.shape != ref[6].shape
                  or not np.array_equal(grid, ref[6])):
                alone.append(i)
                continue
            x0 = initial_state(s, t0, eph, body_orientation(model.rotation_pck))
            pars = {k: v for f in model.forces for k, v in f.parameters().items()}
            members.append((i, new_record(spec, i, seed, values), s, model, x0, pars))
        except Exception:  # noqa: BLE001 - run_sample records it with the same error
            alone.append(i)
    records: dict[int, dict] = {}
    if members:
        s0, model0, eph, orient, t0, t1, grid, _sig, names = ref
        try:
            X = np.array([m[4] for m in members], float)
            pars = {k: np.array([m[5][k] for m in members], float) for k in names}
            ens = propagate_ensemble(model0, t0, X, grid, parameters=pars, t_stop=t1, workers=1)
        except Exception:  # noqa: BLE001 - the per-sample path flies them (and records any failure)
            ens = None
            alone += [m[0] for m in members]
        if ens is not None:
            surface = altitude_surface(s0)
            for k, (i, rec, s, model, _x0, _p) in enumerate(members):
                prop = ens.member(k)
                if prop.t.size == 0:
                    alone.append(i)
                    continue
                try:
                    rec.update(pick_outputs(_summary(s, model, eph, orient, surface, prop), spec.outputs))
                    rec["status"], rec["error"] = "ok", None
                except Exception as exc:  # noqa: BLE001 - as run_sample records it
                    fail_record(rec, exc)
                rec["path"] = "ensemble" if ens.path[k] == "batch" else "ensemble-scalar"
                records[i] = rec
            share = (time.perf_counter() - t_start) / max(len(records), 1)
            for rec in records.values():
                rec["wall_s"] = share
    for i in alone:
        records[i] = run_sample(spec, i)
    return [records[i] for i in indices]
