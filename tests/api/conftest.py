"""Fixtures of the API tests: the synthetic run results of tests/exports (no propagation)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


@pytest.fixture
def synthetic():
    name = "mmxsim_tests_synthetic_run"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "exports" / "synthetic_run.py"
        spec = importlib.util.spec_from_file_location(name, path)
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]
