"""The build options of mmxsim's heyoka integrators (mmxsim.dynamics.jit): every integrator the package
compiles gets them, and they leave the trajectory's bits as heyoka's defaults do (cheap: the
point-mass Hill problem, compiled in ~0.1 s)."""

import ast
import copy
from pathlib import Path

import numpy as np
import pytest

import mmxsim
from mmxsim.dynamics.jit import HEYOKA_OPTIONS

hy = pytest.importorskip("heyoka")

ROOT = Path(mmxsim.__file__).parent
BUILDERS = ("taylor_adaptive", "taylor_adaptive_batch")


def _calls():
    """(file, line, passes **HEYOKA_OPTIONS) of every heyoka integrator construction in the package."""
    out = []
    for p in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(p.read_text(), str(p))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in BUILDERS:
                opts = any(k.arg is None and isinstance(k.value, ast.Name) and k.value.id == "HEYOKA_OPTIONS"
                           for k in node.keywords)
                out.append((p.relative_to(ROOT).as_posix(), node.lineno, opts))
    return out


def test_every_integrator_is_built_with_the_options():
    calls = _calls()
    # the propagator, ensemble, variational (scalar, batch), flow (scalar, batch), Hill (2), transfers (2)
    assert len(calls) >= 10
    assert [c for c in calls if not c[2]] == []


def test_options_reach_heyoka(monkeypatch):
    """A builder passes the options through to heyoka (recorded by a wrapper of taylor_adaptive)."""
    from mmxsim.orbits import qso

    seen = []
    real = hy.taylor_adaptive

    def record(*a, **k):
        seen.append(k)
        return real(*a, **k)

    monkeypatch.setattr(hy, "taylor_adaptive", record)
    qso.compile_hill(0, False)
    assert len(seen) == 1 and seen[0]["opt_level"] == HEYOKA_OPTIONS["opt_level"]


def test_options_keep_the_bits_of_heyokas_defaults():
    """The degree-2 Hill problem with its variational equations, a 50 km QSO flown for 10 time units
    (~1.6 revolutions): the same bits built with mmxsim's options as with heyoka's default opt_level=3
    (level 0 would differ: no fused multiply-adds)."""
    from mmxsim.mathns import heyoka_ns
    from mmxsim.orbits import qso

    X = list(hy.make_vars("x", "y", "z", "vx", "vy", "vz"))
    sys = hy.var_ode_sys(list(zip(X, qso.hill_rhs(X, 2, heyoka_ns()))), hy.var_args.vars, order=1)
    x0 = [50.0, 0.0, 0.0, 0.0, -100.0, 0.0]  # km, km per time unit: a 50 km QSO
    out = []
    for opts in ({}, HEYOKA_OPTIONS):
        ta = hy.taylor_adaptive(copy.deepcopy(sys), x0, compact_mode=True, **opts)
        ta.propagate_until(10.0)
        out.append(np.array(ta.state))
    assert out[0].size == 42 and np.all(np.isfinite(out[0]))
    assert np.array_equal(out[0].view(np.uint64), out[1].view(np.uint64))
