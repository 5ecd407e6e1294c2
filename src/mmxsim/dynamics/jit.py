"""The build options of every heyoka integrator mmxsim compiles (the propagator, the ensemble, the
variational equations of navigation and hand-off, the Hill-problem integrators of ``orbits``).

``HEYOKA_OPTIONS`` is passed to each ``taylor_adaptive`` / ``taylor_adaptive_batch`` call. heyoka
optimises an integrator's LLVM code at ``opt_level=3`` by default; mmxsim asks for level 1. Measured on
the 21 integrators of the reference mission (heyoka 7.13, compact mode, 2-core machine, CPU seconds of
cold builds; docs/benchmarks.md, "HY"): level 1 compiles them in 23.8 s against 32.6 s at level 3 (-27 %)
and gives bit-identical trajectories, partials and events, with warm propagation no slower (compact
mode's code is loops of calls to the Taylor recurrences, which the extra passes of levels 2-3 do not
speed up). Level 0 would compile faster still but runs 2.5x slower and changes the last bits (no fused
multiply-adds), so it is not used.

heyoka's in-memory and disk caches key compiled code by these options too: changing them recompiles
once.
"""

from __future__ import annotations

HEYOKA_OPTIONS: dict = {"opt_level": 1}
