"""Test-session plumbing shared by every test folder.

Tests marked ``jvm`` (Orekit through orekit-jpype) run each in a child pytest process: a Java
virtual machine started inside the test process made later heyoka integrations crash the whole
session with SIGSEGV (seen on this machine: Orekit's TDM check, then any variational-equation
test), and a JVM can neither be stopped nor restarted in a process. The parent collects the test
as usual and replaces its body by the child's run of that one node; the child's outcome (passed,
skipped with its reason, failed with its output) becomes the parent's.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

_CHILD = "MMXSIM_TEST_CHILD"


def pytest_configure(config):
    config.addinivalue_line("markers", "jvm: starts a Java VM (Orekit); run in a child process")


def _run_in_child(item):
    env = {**os.environ, _CHILD: "1"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-m", "", item.nodeid]
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
