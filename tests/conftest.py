"""Test-session plumbing shared by every test folder: Java VMs (Orekit through orekit-jpype, an
optional test dependency) inside the test process.

* Stack: HotSpot started on the process's primordial thread (as JPype does) caps that thread's stack
  at ``-Xss`` (1 MB by default) and puts its guard pages there; heyoka (LLVM) compiling a large model
  on the main thread later recursed deeper and the whole session died with SIGSEGV (seen: Orekit's
  TDM check, then any variational-equation test). ``JAVA_TOOL_OPTIONS`` is read by every JVM at
  creation, whoever starts it, so each one gets ``-Xss`` at the real stack limit (``ulimit -s``;
  64 MB when unlimited) and its guard pages at the stack's true end.
* Exit: a JVM still running at the end of a session is shut down there (``pytest_sessionfinish``).
  pytest's faulthandler plugin, unconfigured after it, would otherwise put the default SIGSEGV
  action back in place of the JVM's own handler (which its compiled code relies on), and the JVM's
  shutdown at interpreter exit killed the process (exit code 139 after all tests passed; seen after
  Orekit's batch least squares).
* Isolation: tests marked ``jvm`` run each in a child pytest process: the parent collects the test
  as usual and replaces its body by the child's run of that one node; the child's outcome (passed,
  skipped with its reason, failed with its output) becomes the parent's. With the two fixes above a
  JVM can also share the session (``tests/navigation/test_orekit_reference.py`` does: one JVM and
  module-scoped Orekit fixtures for all its tests).
* First-run warm-up: ``mmxsim run`` on a cold numba cache starts a background process compiling the
  packaged kernels (:mod:`mmxsim.mission.warmup`); the suite turns it off (``MMXSIM_NO_WARMUP``) so
  that CLI tests on a fresh CI cache do not each start one. tests/mission/test_warmup.py tests it
  with the variable set explicitly.
* Analyses in one process: ``mmxsim run`` runs the analyses in up to two processes by default
  (``--workers auto``); the suite already spreads test files over the cores (pytest-xdist), so it
  sets ``MMXSIM_WORKERS=1``. tests/mission/test_workers.py passes its counts explicitly.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys

import pytest

_CHILD = "MMXSIM_TEST_CHILD"


def pytest_configure(config):
    config.addinivalue_line("markers", "jvm: starts a Java VM (Orekit); run in a child process")


def _run_in_child(item):
    env = {**os.environ, _CHILD: "1"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-n", "0", "-m", "", item.nodeid]
    proc = subprocess.run(cmd, cwd=str(item.config.rootpath), env=env, capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    if proc.returncode == 0:
        m = re.search(r"SKIPPED \[\d+\] [^:]+:\d+: (.*)", out)
        if m and re.search(r"\b1 skipped\b", out) and not re.search(r"\b\d+ passed\b", out):
            pytest.skip(m.group(1).strip())
        return
    pytest.fail(f"child pytest for {item.nodeid} exited with {proc.returncode}:\n{out[-6000:]}", pytrace=False)


def pytest_collection_modifyitems(config, items):
    if os.environ.get(_CHILD):
        return
    for item in items:
        if item.get_closest_marker("jvm") is not None:
            # no fixtures in the parent (one of them may start the JVM): the child sets them up
            item.setup = lambda: None
            item.runtest = (lambda it=item: _run_in_child(it))


def _xss() -> str:
    soft, _ = resource.getrlimit(resource.RLIMIT_STACK)
    mb = 64 if soft == resource.RLIM_INFINITY else max(8, soft // 2**20)
    return f"-Xss{mb}m"


os.environ.setdefault("MMXSIM_NO_WARMUP", "1")
os.environ.setdefault("MMXSIM_WORKERS", "1")  # the suite's own processes use the cores (module doc)

_opts = os.environ.get("JAVA_TOOL_OPTIONS", "")
if "-Xss" not in _opts:
    os.environ["JAVA_TOOL_OPTIONS"] = f"{_opts} {_xss()}".strip()


def pytest_sessionfinish(session, exitstatus):
    """Shut down a JVM that a test started, while its signal handlers are still in place (module doc)."""
    jpype = sys.modules.get("jpype")
    if jpype is not None and jpype.isJVMStarted():
        jpype.shutdownJVM()


@pytest.fixture
def erfa_tai_utc(tmp_path):
    """A folder holding ``tai-utc.dat`` (USNO layout) written from ERFA's leap-second table, 1972-2030:
    Orekit's UTC scale needs one to build any parser, and the tests never download its data."""
    import datetime as dt
    import warnings

    import erfa

    lines, prev = [], None
    day = dt.date(1972, 1, 1)
    while day.year < 2030:
        with warnings.catch_warnings():  # ERFA's "dubious year" beyond its table
            warnings.simplefilter("ignore")
            v = erfa.dat(day.year, day.month, 1, 0.0)
        if v != prev:
            jd = 2440587.5 + (day - dt.date(1970, 1, 1)).days
            lines.append(f" {day.year} {day.strftime('%b').upper()}  1 =JD {jd:.1f}  TAI-UTC= {v:11.7f} S "
                         "+ (MJD - 41317.) X 0.0      S")
            prev = v
        day = dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    folder = tmp_path / "orekit-data"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tai-utc.dat").write_text("\n".join(lines) + "\n")
    return folder
