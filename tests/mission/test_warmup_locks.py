"""One compilation per kernel and signature across a first run's processes (mmxsim._accel's
per-kernel file locks, and the background compiler putting off what another process is compiling)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from mmxsim._accel import HAVE_NUMBA

pytestmark = pytest.mark.skipif(not HAVE_NUMBA or os.name != "posix", reason="numba and POSIX file locks")

KERNEL = textwrap.dedent("""
    from mmxsim._accel import jit

    def twice(x):
        return 2.0 * x

    twice = jit(twice)

    def other(x):
        return 3.0 * x

    other = jit(other)
""")


@pytest.fixture
def kernel_module(tmp_path, monkeypatch):
    """A fresh module of two cached kernels, with numba's cache in ``tmp_path/cache``."""
    import importlib

    from numba.core import config

    name = f"cs_lock_kernels_{os.getpid()}_{time.monotonic_ns()}"
    (tmp_path / f"{name}.py").write_text(KERNEL)
    cache = tmp_path / "cache"
    monkeypatch.setattr(config, "CACHE_DIR", str(cache))  # read when a dispatcher is made
    monkeypatch.syspath_prepend(str(tmp_path))
    mod = importlib.import_module(name)
    yield mod, name, tmp_path, cache
    sys.modules.pop(name, None)


def test_a_process_waits_for_the_kernel_another_compiles_and_loads_it(kernel_module):
    """While this process holds the lock of ``twice(float64)`` and compiles it, a second process that
    calls the kernel waits, then loads this compilation from numba's disk cache: one compilation, not
    two (numba counts a cache miss for every kernel it compiles)."""
    from numba.core import types

    from mmxsim._accel import try_lock

    mod, name, folder, cache = kernel_module
    sig = (types.float64,)
    fd = try_lock(mod.twice, sig)
    assert type(fd) is int  # nobody else holds it
    assert try_lock(mod.twice, sig) is False  # a second holder (another descriptor) is refused
    code = textwrap.dedent(f"""
        import sys
        import {name} as m
        from mmxsim._accel import LOCK_STATS
        print("ready", flush=True)
        assert m.twice(1.5) == 3.0
        d = m.twice
        print(sum(d._cache_hits.values()), sum(d._cache_misses.values()), LOCK_STATS["locked"], flush=True)
    """)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), PYTHONPATH=os.pathsep.join([str(folder), *sys.path]))
    p = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "ready"
        time.sleep(0.3)  # the child is (about to be) waiting for the lock
        type(mod.twice).compile(mod.twice, sig)  # numba's own compile: writes the disk cache
    finally:
        os.close(fd)
    out, _ = p.communicate(timeout=120)
    assert p.returncode == 0
    hits, misses, locked = map(int, out.split())
    assert (hits, misses) == (1, 0)  # loaded what this process compiled
    assert locked == 1


def test_the_background_compiler_puts_off_a_kernel_being_compiled_elsewhere(kernel_module):
    """``compile_all(skip_busy=True)`` goes past a kernel whose lock another holder has, compiles the
    rest, and comes back to it once it is free (then a load of what the holder compiled)."""
    from numba.core import types

    from mmxsim._accel import try_lock
    from mmxsim.mission import warmup

    mod, name, _folder, _cache = kernel_module
    sig = (types.float64,)
    entries = [{"module": name, "qualname": q, "parallel": False, "args": [warmup.encode(types.float64)]}
               for q in ("twice", "other")]
    fd = try_lock(mod.twice, sig)
    assert type(fd) is int
    logs: list[str] = []
    result: list = []
    th = threading.Thread(target=lambda: result.append(warmup.compile_all(entries, log=logs.append,
                                                                          skip_busy=True)))
    th.start()
    try:
        t0 = time.monotonic()
        while not (sig in mod.other.overloads) and time.monotonic() - t0 < 60:
            time.sleep(0.02)
        assert sig in mod.other.overloads  # compiled while ``twice`` was put off
        assert sig not in mod.twice.overloads
        assert th.is_alive()  # now waiting for ``twice``
        type(mod.twice).compile(mod.twice, sig)
    finally:
        os.close(fd)
    th.join(timeout=60)
    assert result == [(2, 0)]
    assert [ln.split(": ", 1)[1] for ln in logs if "CPU:" in ln] == [f"{name}.twice put off (compiled elsewhere now)",
                                                                   f"{name}.other", f"{name}.twice"]


def test_callees_compile_inside_their_caller_without_a_second_lock(tmp_path, monkeypatch):
    """A kernel that calls another compiles it inside its own compilation: only the outermost takes a
    lock (a thread holds one lock at a time), and the lock files sit beside numba's index files."""
    import importlib

    from numba.core import config

    from mmxsim import _accel

    name = f"cs_lock_nested_{os.getpid()}_{time.monotonic_ns()}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent("""
        from mmxsim._accel import jit

        def inner(x):
            return x + 1.0

        inner = jit(inner)

        def outer(x):
            return inner(x) * 2.0

        outer = jit(outer)
    """))
    cache = tmp_path / "cache"
    monkeypatch.setattr(config, "CACHE_DIR", str(cache))
    monkeypatch.syspath_prepend(str(tmp_path))
    before = dict(_accel.LOCK_STATS)
    try:
        mod = importlib.import_module(name)
        assert mod.outer(1.0) == 4.0
    finally:
        sys.modules.pop(name, None)
    assert _accel.LOCK_STATS["locked"] - before["locked"] == 1
    locks = sorted(p.name for p in cache.rglob("*.lock"))
    assert len(locks) == 1 and locks[0].startswith(f"{name}.outer-")
    assert any(p.name.startswith(f"{name}.inner-") and p.suffix == ".nbi" for p in cache.rglob("*.nbi"))


def test_the_background_process_is_niced_in_the_runs_session(monkeypatch):
    """The background compiler runs in this process' session (in a process group of its own) at nice
    +10: in a session of its own, Linux's scheduler autogroups would give it a separate group's share
    of the CPU (half of a two-core machine) whatever its niceness. Its command is swapped here for one
    that reports where it runs."""
    from mmxsim.mission import warmup

    monkeypatch.delenv(warmup.ENV_OFF, raising=False)
    monkeypatch.delenv(warmup.ENV_NICE, raising=False)
    monkeypatch.setattr(warmup, "_stamp_says_warm", lambda: False)  # not this machine's remembered answer
    monkeypatch.setattr(warmup, "_heyoka_needed", lambda: False)
    monkeypatch.setattr(warmup, "_numba_needed", lambda: True)
    real_popen = subprocess.Popen
    seen = []

    def popen(cmd, **kw):
        assert cmd[-2:] == ["mmxsim.mission.warmup", "--compile"]
        kw["stdout"] = subprocess.PIPE
        p = real_popen([sys.executable, "-c", "import os; print(os.getsid(0), os.getpgid(0), os.getpid(), "
                        "os.nice(0))"], **kw)
        seen.append(p)
        return p

    monkeypatch.setattr(warmup.subprocess, "Popen", popen)
    monkeypatch.setattr(warmup, "_PROC", [])
    assert warmup.start() is True
    out, _ = seen[0].communicate(timeout=60)
    warmup.finish()
    sid, pgid, pid, nice = map(int, out.split())
    assert sid == os.getsid(0)  # the run's session: the run's scheduling group
    assert pgid == pid != os.getpgid(0)  # a process group of its own (a terminal's Ctrl-C is the run's)
    assert nice == min(19, os.nice(0) + 10)


def _holder(path, nice):
    """A process that takes the lock file ``path`` (as _accel does: its id written in it) at niceness
    +``nice`` and then sleeps: a holder that gets no CPU."""
    code = textwrap.dedent(f"""
        import fcntl, os, sys, time
        os.nice({nice})
        fd = os.open({str(path)!r}, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        print("locked", flush=True)
        time.sleep(60)
    """)
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "locked"
    return p


@pytest.mark.skipif(not os.path.exists("/proc/self/stat") or os.nice(0) >= 9,
                    reason="reads /proc; the holder must be niced more than this process")
def test_a_starved_lower_priority_holder_is_not_waited_for(tmp_path, monkeypatch):
    """A lock held by a niced process that gets no CPU is given up after ~2 s (the waiter compiles
    itself) instead of waited for to the end (:data:`LOCK_WAIT_S`); one held at the waiter's own
    priority is waited for until it is released."""
    from mmxsim import _accel

    monkeypatch.setattr(_accel, "LOCK_WAIT_S", 20.0)
    path = tmp_path / "k.lock"
    p = _holder(path, 10)
    try:
        t0 = time.monotonic()
        before = _accel.LOCK_STATS["gave_up"]
        assert _accel._acquire(str(path)) is None
        assert time.monotonic() - t0 < 10.0
        assert _accel.LOCK_STATS["gave_up"] == before + 1
    finally:
        p.kill()
        p.wait()
    p = _holder(path, 0)
    try:
        threading.Timer(3.0, p.kill).start()  # released after 3 s, more than the starvation window
        t0 = time.monotonic()
        fd = _accel._acquire(str(path))
        assert type(fd) is int and time.monotonic() - t0 >= 2.5
        assert int(os.pread(fd, 32, 0)) == os.getpid()  # now this process holds it
        os.close(fd)
    finally:
        p.kill()
        p.wait()
