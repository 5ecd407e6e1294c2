"""The background compilation of a first run (mmxsim.mission.warmup) and the thread limits of
concurrent analyses (mmxsim._accel.limit_threads)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmxsim._accel import HAVE_NUMBA
from mmxsim.mission import warmup

needs_numba = pytest.mark.skipif(not HAVE_NUMBA, reason="numba not installed")


@needs_numba
def test_types_round_trip():
    from numba.core import types

    for t in (types.Array(types.float64, 2, "C"), types.Array(types.int64, 1, "A", readonly=True),
              types.Array(types.float64, 3, "F"), types.int64, types.int32, types.boolean, types.float64,
              types.UniTuple(types.float64, 3), types.Tuple([types.int64, types.float64]), types.none):
        assert warmup.decode(warmup.encode(t)) == t
    # what has no plain form is left to the run, not guessed
    assert warmup.encode(types.unicode_type) is None
    with pytest.raises(ValueError):
        warmup.decode(["pointer", "x"])


@needs_numba
def test_packaged_list_names_existing_kernels():
    """Every kernel of the packaged list is found (a renamed or moved kernel: re-record the list with
    ``python -m mmxsim.mission.warmup --record``), with argument types numba can read back."""
    entries = warmup.load_manifest()
    assert len(entries) >= 10
    for e in entries:
        d = warmup.resolve(e["module"], e["qualname"], e["parallel"])
        assert d is not None, f"{e['module']}.{e['qualname']} is not a kernel any more: re-record the list"
        assert len([warmup.decode(a) for a in e["args"]]) == d.py_func.__code__.co_argcount


@needs_numba
def test_compile_all_compiles_listed_kernel_and_skips_unknown():
    """A listed kernel gets a compiled version for exactly the listed argument types (numba compiles
    or loads it: the same code the run's call would get); unknown kernels are skipped, not fatal."""
    from numba.core import types

    d = warmup.resolve("mmxsim.bodies.quaternion", "product", False)
    assert d is not None
    sig = (types.float64,) * 8
    entries = [{"module": "mmxsim.bodies.quaternion", "qualname": "product", "parallel": False,
                "args": [warmup.encode(a) for a in sig]},
               {"module": "mmxsim.bodies.quaternion", "qualname": "no_such_kernel", "parallel": False, "args": []},
               {"module": "mmxsim.no_such_module", "qualname": "f", "parallel": False, "args": []}]
    logs = []
    assert warmup.compile_all(entries, log=logs.append) == (1, 2)
    assert sig in d.overloads
    assert sum(x.startswith("skipped") for x in logs) == 2
    assert warmup.resolve("mmxsim.bodies.quaternion", "product", True) is None  # parallel must match


def test_needed_follows_marker_and_switch(tmp_path, monkeypatch):
    """Cold = no marker in numba's cache folder for mmxsim; MMXSIM_NO_WARMUP turns it all off."""
    monkeypatch.delenv(warmup.ENV_OFF, raising=False)
    monkeypatch.setenv("MMXSIM_CACHE_DIR", str(tmp_path / "mmxsim"))  # where a warm answer is remembered
    monkeypatch.setattr(warmup, "_heyoka_needed", lambda: False)  # heyoka's part: test_warmup_heyoka.py
    if not HAVE_NUMBA:
        assert warmup.needed() is False
        return
    monkeypatch.setattr(warmup, "numba_cache_folder", lambda: tmp_path)
    assert warmup.needed() is True  # an empty numba cache folder: cold
    marker = warmup.marker_path()
    assert marker.parent == tmp_path and marker.name.startswith("mmxsim-warm-")
    marker.write_text("{}\n")
    assert warmup.needed() is False
    assert warmup.marker_files() == [marker]
    marker.unlink()
    assert warmup.needed() is True  # the remembered answer holds only while the marker exists
    monkeypatch.setenv(warmup.ENV_OFF, "1")
    assert warmup.needed() is False
    assert warmup.start() is False


@needs_numba
def test_numba_cache_folder_follows_numba_cache_dir(tmp_path, monkeypatch):
    from numba.core import config

    monkeypatch.setattr(config, "CACHE_DIR", str(tmp_path))
    folder = warmup.numba_cache_folder()
    assert folder is not None and tmp_path in folder.parents


@needs_numba
def test_limit_threads_and_restore():
    import numpy as np  # noqa: F401 - loads NumPy's OpenBLAS

    from mmxsim import _accel

    before_numba = _accel.num_threads()
    before_blas = [g() for _, g in _accel._blas_setters()]
    saved = _accel.limit_threads(1)
    try:
        assert _accel.num_threads() == 1
        assert all(g() == 1 for _, g in _accel._blas_setters())
    finally:
        _accel.restore_threads(saved)
    assert _accel.num_threads() == before_numba
    assert [g() for _, g in _accel._blas_setters()] == before_blas


@needs_numba
def test_a_warm_answer_is_remembered_without_numba_or_heyoka(tmp_path):
    """Once both markers exist, the next process knows the caches are warm without importing numba or
    heyoka (so that its analysis workers can be forked), and no longer once a marker is gone."""
    env = {**os.environ, "MMXSIM_CACHE_DIR": str(tmp_path / "mmxsim"), "NUMBA_CACHE_DIR": str(tmp_path / "nb"),
           "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    env.pop(warmup.ENV_OFF, None)
    code = ("import sys, json; from mmxsim.mission import warmup as w; n = w.needed(); "
            "print(json.dumps([n, 'numba' in sys.modules, 'heyoka' in sys.modules]))")

    def ask():
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        return json.loads(out.stdout.strip().splitlines()[-1])

    assert ask()[:2] == [True, True]  # cold: no markers (found by importing numba)
    markers = subprocess.run([sys.executable, "-c", "from mmxsim.mission import warmup as w; "
                              "print(w.marker_path()); print(w.heyoka_marker_path())"],
                             env=env, capture_output=True, text=True, check=True).stdout.split()
    if "None" in markers:
        pytest.skip("heyoka's disk cache is off here: no heyoka marker")
    for m in markers:
        Path(m).parent.mkdir(parents=True, exist_ok=True)
        Path(m).write_text("{}\n")
    assert ask() == [False, True, True]  # warm, found the long way: remembered
    assert ask() == [False, False, False]  # warm, from the stamp alone
    Path(markers[0]).unlink()
    assert ask()[:2] == [True, True]


def test_cache_clear_of_numba_removes_the_marker(tmp_path, monkeypatch):
    """``mmxsim cache clear --only numba`` removes the marker too, so the next run warms again."""
    from mmxsim import cli

    monkeypatch.setenv("MMXSIM_CACHE_DIR", str(tmp_path / "mmxsim"))  # no stamp of the user's caches listed
    monkeypatch.setattr(warmup, "numba_cache_folder", lambda: tmp_path)
    monkeypatch.setattr(cli, "_numba_cache_files", lambda: ([str(tmp_path)], []))
    marker = tmp_path / "mmxsim-warm-0123456789abcdef0123"
    marker.write_text("{}\n")
    (tmp_path / "keep.txt").write_text("not a cache file")
    entry = next(c for c in cli._caches() if c["cache"] == "numba kernels")
    assert entry["files"] == 1
    entry["clear"]()
    assert not marker.exists() and (tmp_path / "keep.txt").exists()


@needs_numba
def test_analysis_workers_keep_to_one_thread_and_the_parent_is_restored():
    """A worker process starts with one numba/OpenBLAS thread; the parent, one thread while its
    workers run, gets its own count back after a concurrent run."""
    from mmxsim import _accel
    from mmxsim.analyses import _worker_init, _worker_state
    from mmxsim.mission.runner import run_scenario
    from mmxsim.scenario import parse_scenario

    saved = _accel.limit_threads(None)
    try:
        _worker_init(None)  # as the pool's initializer does in each worker
        assert _accel.num_threads() == 1
    finally:
        _accel.restore_threads(saved)
        _worker_state.clear()
    before = _accel.num_threads()
    s = parse_scenario({"name": "threads", "epoch": "2027-09-01T00:00:00", "duration_days": 0.02,
                        "initial_state": {"type": "qso", "radial_semi_axis_km": 50},
                        "force_model": {"phobos": {"model": "point_mass"}, "srp": {"enabled": False}},
                        "analyses": {"budget": {}, "planetary_protection": {}}})
    r = run_scenario(s, workers=2)
    assert r.timings["analysis_workers"] == 2
    assert _accel.num_threads() == before


def test_nothing_starts_when_the_run_takes_every_cpu(monkeypatch):
    """start(run_processes): no background compilation when the run's own processes take every CPU
    (it would only compete with them); with a spare CPU the usual checks decide."""
    monkeypatch.delenv(warmup.ENV_OFF, raising=False)
    monkeypatch.setattr(warmup, "_cpus", lambda: 2)
    asked = []
    monkeypatch.setattr(warmup, "needed", lambda: asked.append(1) or False)
    monkeypatch.setattr(warmup, "_PROC", [])
    assert warmup.start(2) is False and asked == []
    assert warmup.start(1) is False and asked == [1]  # a spare CPU: the caches are checked
    assert warmup.start() is False and asked == [1, 1]
