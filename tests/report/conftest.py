"""Fixtures: synthetic run results (see tests/exports/synthetic_run.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


def _load():
    name = "mmxsim_tests_synthetic_run"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "exports" / "synthetic_run.py"
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


@pytest.fixture
def synthetic():
    """The synthetic-result module: make_result(), kepler_states(), T0."""
    return _load()


@pytest.fixture
def result(synthetic):
    return synthetic.make_result()
