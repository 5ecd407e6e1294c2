"""Fixtures of the navigation tests.

``orekit``: the test helper module ``orekit_support.py`` (Orekit via orekit-jpype as an independent
orbit-determination reference) with the Java VM started once per session and its leap-second table
registered from a temporary folder. Skips cleanly where orekit-jpype or a Java VM is missing, so the
default suite passes on machines without Java (orekit-jpype is an optional test dependency).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


def load_orekit_support():
    """The module ``tests/navigation/orekit_support.py`` (imported once, by path)."""
    name = "mmxsim_tests_orekit_support"
    if name not in sys.modules:
        path = Path(__file__).resolve().parent / "orekit_support.py"
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


@pytest.fixture(scope="session")
def orekit(tmp_path_factory):
    """orekit_support with Orekit started (JVM + tai-utc.dat from the packaged naif0012.tls)."""
    mod = load_orekit_support()
    reason = mod.unavailable_reason()
    if reason:
        pytest.skip(reason)
    mod.start(tmp_path_factory.mktemp("orekit-data"))
    return mod
