"""Run the examples in docstrings so the documentation never rots."""

import doctest
import importlib

import pytest

MODULES = ["mmxsim.time", "mmxsim.bodies.shapes", "mmxsim.gravity.polyhedron", "mmxsim.api"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    failures, tried = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert tried > 0 and failures == 0
