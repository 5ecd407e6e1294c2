"""What a run will produce, known before it starts: output samples, the memory and files they take,
and the Monte Carlo and grid sizes of the enabled analyses (``mmxsim validate --explain``).

The scenario's own bounds refuse what would not fit (at most
:data:`~mmxsim.scenario.schema.MAX_OUTPUT_SAMPLES` output samples; each analysis' sizes have
upper bounds in its settings); this module says what an accepted scenario asks for.
The per-sample cost is measured: the run's arrays (ICRF, Hill and Phobos-fixed states, distance,
altitude: 23 float64, 184 B), timeseries.csv (~330 B) and trajectory.oem (~170 B) for the
reference run, so ~0.7 kB per output sample in all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .schema import Scenario

__all__ = ["WorkEstimate", "estimate_work", "BYTES_PER_SAMPLE"]

#: memory and files per output sample, bytes (measured on the reference run, see the docstring)
BYTES_PER_SAMPLE = 700
# settings that size an analysis' work (Monte Carlo samples, grids, trials)
_SIZE_WORDS = ("samples", "grid", "trials", "monte_carlo", "points", "per_orbit", "node_limit")


@dataclass(frozen=True)
class WorkEstimate:
    output_samples: int
    output_bytes: int
    span_days: float
    analyses: dict[str, dict[str, int]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        out = [f"span {self.span_days:g} days; {self.output_samples:,} output samples; "
               f"~{self.output_bytes / 1e6:.1f} MB of arrays and files for them"]
        for name, sizes in self.analyses.items():
            what = ", ".join(f"{k} {v:,}" for k, v in sizes.items()) or "no size settings"
            out.append(f"analysis {name}: {what}")
        return out


def estimate_work(s: Scenario) -> WorkEstimate:
    """The :class:`WorkEstimate` of a validated scenario (no computation is run)."""
    n = int(math.floor(s.span_s / s.propagation.output_step_s)) + 1
    sizes: dict[str, dict[str, int]] = {}
    for name in type(s.analyses).model_fields:
        cfg = getattr(s.analyses, name)
        if cfg is None:
            continue
        sizes[name] = {k: int(getattr(cfg, k)) for k, f in type(cfg).model_fields.items()
                       if f.annotation is int and any(w in k for w in _SIZE_WORDS)}
    return WorkEstimate(n, n * BYTES_PER_SAMPLE, s.span_s / 86400.0, sizes)
