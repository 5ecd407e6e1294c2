"""heyoka's integrators in the background compilation of a first run (mmxsim.mission.warmup): the
packaged list, models written as plain JSON and rebuilt to the same signature, the marker, and the
disk-cache hit the run gets for an integrator the background process built."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmxsim.mission import warmup

SRC = str(Path(warmup.__file__).resolve().parents[2])


@pytest.fixture(autouse=True)
def _no_remembered_answer(monkeypatch):
    """These tests drive the markers' checks: no stamp of this machine's caches answers for them (the
    stamp: tests/mission/test_warmup.py)."""
    monkeypatch.setattr(warmup, "_stamp_says_warm", lambda: False)
    monkeypatch.setattr(warmup, "_write_stamp", lambda: None)


@pytest.fixture(scope="module")
def reference_model():
    from mmxsim.mission.runner import build_model
    from mmxsim.scenario import builtin_scenario

    return build_model(builtin_scenario("reference_mission"))[0]


def test_model_round_trip_keeps_the_signature(reference_model):
    """The reference scenario's model (forces, impact/eclipse events, default ephemeris) and an od-style
    variant (Phobos GM, field and libration as parameters, empirical acceleration) rebuild from plain JSON
    to models with the same signature, the key of every integrator cache."""
    import dataclasses

    from mmxsim.dynamics.forces import EmpiricalAcceleration, PhobosGravity
    from mmxsim.dynamics.near_surface import NearSurfaceEntry

    od = dataclasses.replace(reference_model, events=[NearSurfaceEntry(22.0)], forces=[
        PhobosGravity("harmonics", 8, gm_parameter=True, estimate_degree=2, libration_parameter=True)
        if isinstance(f, PhobosGravity) else f for f in reference_model.forces] + [EmpiricalAcceleration()])
    for model in (reference_model, od):
        enc = warmup.encode_model(model)
        assert enc is not None
        back = warmup.decode_model(json.loads(json.dumps(enc)))
        assert back.signature() == model.signature()
    # a model that rebuilds differently is refused, not built wrong
    enc = warmup.encode_model(reference_model)
    enc["tolerance"] = 1e-10
    with pytest.raises(ValueError):
        warmup.decode_model(enc)
    # what has no plain form is left to the run
    assert warmup.encode_model(dataclasses.replace(reference_model, track_overrides={"PHOBOS": object()})) is None
    assert warmup.encode_model(dataclasses.replace(reference_model, ephemeris=object())) is None


def test_packaged_integrator_list_rebuilds():
    """Every entry of the packaged list names a builder and, where it has one, a model that rebuilds to
    the recorded signature digest (a changed force or event: re-record with
    ``python -m mmxsim.mission.warmup --record-heyoka``)."""
    entries = warmup.load_heyoka_manifest()
    assert len(entries) >= 5
    builders = warmup._builders()
    for e in entries:
        assert e["builder"] in builders
        if builders[e["builder"]][1]:
            warmup.decode_model(e["model"])
    kinds = {e["builder"] for e in entries}
    assert {"hill", "flow", "propagator", "variational"} <= kinds


def test_build_integrators_skips_what_it_cannot_build():
    entries = [{"builder": "hill", "args": {"degree": 0, "variational": False}},
               {"builder": "no_such_builder", "args": {}},
               {"builder": "propagator", "model": {"digest": "x"}, "args": {}}]
    logs = []
    assert warmup.build_integrators(entries, log=logs.append) == (1, 2)
    assert sum(x.startswith("skipped") for x in logs) == 2


def test_heyoka_marker_and_cache_clear(tmp_path, monkeypatch):
    """Cold = no heyoka marker in mmxsim's cache folder; ``mmxsim cache clear --only heyoka`` removes
    the marker with heyoka's cache, so the next run builds again."""
    import heyoka as hy

    from mmxsim import cli

    if not hy.llvm_state.get_diskcache_enabled():
        pytest.skip("heyoka's disk cache is off here")
    monkeypatch.setenv("MMXSIM_CACHE_DIR", str(tmp_path))
    marker = warmup.heyoka_marker_path()
    assert marker is not None and marker.parent == tmp_path and marker.name.startswith("heyoka-warm-")
    assert warmup._heyoka_needed() is True
    marker.write_text("{}\n")
    assert warmup._heyoka_needed() is False
    assert warmup.heyoka_marker_files() == [marker]
    cleared = []
    monkeypatch.setattr(cli, "_heyoka_cache", lambda: (tmp_path, 0, True, lambda: cleared.append(1)))
    entry = next(c for c in cli._caches() if c["cache"] == "heyoka compiled code")
    entry["clear"]()
    assert cleared == [1] and not marker.exists()
    assert warmup._heyoka_needed() is True


def _child(code: str, env: dict) -> str:
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout.strip().splitlines()[-1]


def test_the_run_loads_what_the_background_process_built(tmp_path):
    """The background process' builder call leaves in heyoka's disk cache exactly the entry the run's own
    call then loads: the run's build adds nothing to a cache the background process filled, while it
    adds an entry to an empty one."""
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path), MMXSIM_NO_WARMUP="1",
               PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    run = ("import heyoka as hy; from mmxsim.orbits import qso; n = hy.llvm_state.get_diskcache_size(); "
           "ta = qso.hill_integrator(0, variational=True); d = hy.llvm_state.get_diskcache_size() - n; "
           "ta.state[:6] = [30.0, 0.0, 0.0, 0.0, -60.0, 1.0]; ta.propagate_until(7.0); "
           "assert ta.time > 1.0 and all(map(float.__eq__, ta.state, ta.state)); "  # flown, finite
           "print(d, ta.state.tobytes().hex())")
    grown, cold = _child(run, env).split()
    assert int(grown) > 0  # an empty cache: the run compiles and stores
    env["XDG_CACHE_HOME"] = str(tmp_path / "second")
    warm = ("from mmxsim.mission import warmup; "
            "print(warmup.build_integrators([{'builder': 'hill', 'args': {'degree': 0, 'variational': True}}]))")
    assert _child(warm, env) == "(1, 0)"
    grown, loaded = _child(run, env).split()
    assert int(grown) == 0  # a hit: nothing compiled, nothing stored
    assert loaded == cold  # the same compiled code: bit for bit the same states and partials


def test_in_process_builds_fill_heyokas_cache_not_mmxsims():
    """The set-up's integrators built ahead of need in the run's own process go through the uncached
    compile functions behind the run's builders: the same LLVM module (the builder's call then adds no
    module to heyoka's in-memory cache) and nothing left in mmxsim's caches (whose entries would carry
    the rebuilt model's values)."""
    import heyoka as hy

    from mmxsim.dynamics import DynamicsModel, MarsGravity, propagator
    from mmxsim.ephemeris import default_ephemeris
    from mmxsim.orbits import qso

    entries = warmup.load_heyoka_manifest()
    early = [e for e in entries if warmup.in_process(e)]
    assert {e["builder"] for e in early} == set(warmup.IN_PROCESS)
    assert not any(warmup.in_process(e) for e in entries if e.get("phase") != "setup")

    model = DynamicsModel(forces=[MarsGravity(3)], ephemeris=default_ephemeris(), tolerance=1e-11)
    enc = warmup.encode_model(model)
    qso._INTEGRATORS.pop((3, True), None)
    propagator._CACHE.pop(model.signature(), None)
    todo = [{"builder": "hill", "args": {"degree": 3, "variational": True}},
            {"builder": "propagator", "model": enc, "args": {}}]
    n0 = hy.llvm_state.get_memcache_size()
    assert warmup.build_integrators(todo, builders=warmup._in_process_builders()) == (2, 0)
    n = hy.llvm_state.get_memcache_size()
    assert n > n0  # compiled (or loaded from disk) into heyoka's in-memory cache
    assert (3, True) not in qso._INTEGRATORS and model.signature() not in propagator._CACHE
    propagator.build(model)
    qso.hill_integrator(3, variational=True)
    assert hy.llvm_state.get_memcache_size() == n  # both found in heyoka's in-memory cache: the same modules
    qso._INTEGRATORS.pop((3, True), None)
    propagator._CACHE.pop(model.signature(), None)


def test_start_builds_the_setup_in_threads_and_finish_waits(monkeypatch):
    """On cold heyoka caches :func:`start` builds the set-up's integrators in threads of this process
    (and starts the background process for the rest); :func:`finish` waits for the threads."""
    monkeypatch.delenv(warmup.ENV_OFF, raising=False)
    monkeypatch.setattr(warmup, "_heyoka_needed", lambda: True)
    monkeypatch.setattr(warmup, "_numba_needed", lambda: False)
    early = {"builder": "hill", "args": {"degree": 4, "variational": False}, "phase": "setup"}
    later = {"builder": "hill", "args": {"degree": 5, "variational": False}, "phase": "analyses"}
    monkeypatch.setattr(warmup, "load_heyoka_manifest", lambda: [early, later])
    started = []

    class _Proc:  # the background process is not started here: its command line is checked
        def __init__(self, cmd, **kw):
            started.append(cmd)

        def poll(self):
            return 0

    monkeypatch.setattr(warmup.subprocess, "Popen", _Proc)
    monkeypatch.setattr(warmup, "_PROC", [])
    monkeypatch.setattr(warmup, "_THREAD", [])
    assert warmup.start() is True
    assert started and started[0][-2:] == ["mmxsim.mission.warmup", "--compile"]
    warmup.finish()
    assert warmup._THREADS == [] and warmup._THREAD == [(1, 0)]  # the set-up's one entry, in a thread
    from mmxsim.dynamics.propagator import PREBUILDS

    assert PREBUILDS == {}  # nothing left for a builder to wait for
    assert warmup.in_process(early) and not warmup.in_process(later)


def test_a_builder_waits_for_the_prebuild_under_way():
    """The run's builder, asked for an integrator a thread is building ahead of need, waits for that
    build instead of compiling the same module alongside."""
    import threading
    import time

    from mmxsim.dynamics.propagator import PREBUILDS
    from mmxsim.orbits import qso

    key = ("hill", 6, False)
    qso._INTEGRATORS.pop(key[1:], None)
    ev = PREBUILDS[key] = threading.Event()
    t0 = time.perf_counter()
    threading.Timer(0.5, lambda: (PREBUILDS.pop(key), ev.set())).start()
    try:
        qso.hill_integrator(6, variational=False)
    finally:
        PREBUILDS.pop(key, None)
        qso._INTEGRATORS.pop(key[1:], None)
    assert ev.is_set() and time.perf_counter() - t0 >= 0.5
