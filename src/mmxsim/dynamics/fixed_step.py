"""Fixed-step classical Runge-Kutta 4 with event location by bisection, as compiled scalar kernels.

One integrator written once for the compiled ensembles (the descent of :mod:`mmxsim.surface.landing`,
the rover of :mod:`mmxsim.surface.rover`, the capsule entries of
:mod:`mmxsim.earth_return._ensemble`). Each has its own right-hand side, a jitted scalar function
``rhs(t, y, dy, *args)`` that writes dy/dt into ``dy``; the factories below close over it and
return jitted kernels (numba through :mod:`mmxsim._accel`; plain Python without numba). numba
compiles the right-hand side into the kernel as a constant, so the kernel costs what a hand-written
copy for that right-hand side costs.

* :func:`rk4_stepper` ``(rhs, n)`` -> ``step(t, y, h, args, out, w)``: one RK4 step of length ``h``
  from ``(t, y)`` into ``out`` (``out`` may be ``y``: in place), ``rhs(t, y, dy, *args)`` with the
  tuple ``args``; ``w`` is the work arrays (k1, k2, k3, k4, stage state) (:func:`rk4_work`).
* :func:`event_bisector` ``(step, event)`` -> ``locate(t, y, lo, hi, scale, out, w, iters, tol,
  ev_args, args)``: bisection of a step for the first crossing of an event. The trial step is
  ``u * scale`` for ``u`` in ``[lo, hi]``; ``event(t + u * scale, y_u, *ev_args)`` is True once
  the event has happened. Stops after ``iters`` halvings or when ``hi - lo < tol``; returns the
  final ``hi`` (the event has happened at ``hi``, not at ``lo``). ``out`` holds scratch states.
  With ``scale = 1`` the unknown is the step length; with ``scale = h`` the step fraction.

The arithmetic is that of the textbook scheme written out (k1..k4, ``y + dt/6 (k1 + 2 k2 + 2 k3
+ k4)``), the same operations in the same order as the copies it replaced, so results are
bit-identical to them.
"""

from __future__ import annotations

import numpy as np

from .._accel import jit

__all__ = ["event_bisector", "rk4_stepper", "rk4_work"]

_STEPPERS: dict = {}
_BISECTORS: dict = {}


def rk4_work(n: int):
    """Work arrays for a stepper of dimension ``n``: a tuple (k1, k2, k3, k4, stage state)."""
    return np.empty(n), np.empty(n), np.empty(n), np.empty(n), np.empty(n)


rk4_work = jit(rk4_work)


def rk4_stepper(rhs, n: int):
    """Jitted classical RK4 step for the jitted ``rhs(t, y, dy, *args)`` of dimension ``n``
    (one kernel per (rhs, n), built once)."""
    key = (rhs, int(n))
    if key in _STEPPERS:
        return _STEPPERS[key]
    n = int(n)

    def step(t, y, h, args, out, w):
        k1, k2, k3, k4, tmp = w
        rhs(t, y, k1, *args)
        for i in range(n):
            tmp[i] = y[i] + 0.5 * h * k1[i]
        rhs(t + 0.5 * h, tmp, k2, *args)
        for i in range(n):
            tmp[i] = y[i] + 0.5 * h * k2[i]
        rhs(t + 0.5 * h, tmp, k3, *args)
        for i in range(n):
            tmp[i] = y[i] + h * k3[i]
        rhs(t + h, tmp, k4, *args)
        for i in range(n):
            out[i] = y[i] + h / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i])

    _STEPPERS[key] = jit(step, inline=True)
    return _STEPPERS[key]


def event_bisector(step, event):
    """Jitted bisection of a step of the jitted ``step`` (from :func:`rk4_stepper`) for the first
    crossing of the jitted predicate ``event(t, y, *ev_args)`` (see the module docstring)."""
    key = (step, event)
    if key in _BISECTORS:
        return _BISECTORS[key]

    def locate(t, y, lo, hi, scale, out, w, iters, tol, ev_args, args):
        for _ in range(iters):
            mid = 0.5 * (lo + hi)
            step(t, y, mid * scale, args, out, w)
            if event(t + mid * scale, out, *ev_args):
                hi = mid
            else:
                lo = mid
            if hi - lo < tol:
                break
        return hi

    _BISECTORS[key] = jit(locate)
    return _BISECTORS[key]
