"""The evaluation context a force model sees: state, time, bodies, parameters.

One context class serves both back ends. In *symbolic* mode (heyoka) positions of
bodies are expressions (analytic theories written once, or Chebyshev segments
whose coefficients are runtime parameters), and named parameters are ``heyoka.par``
entries. In *numeric* mode (NumPy / SciPy baseline) the same calls return floats
straight from the ephemeris.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..mathns import NP, heyoka_ns


@dataclass
class ParameterTable:
    """Named runtime parameters (``heyoka.par[i]``) with their current values."""

    names: list[str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def index(self, name: str, value: float = 0.0) -> int:
        if name in self.names:
            return self.names.index(name)
        self.names.append(name)
        self.values.append(float(value))
        return len(self.names) - 1

    def block(self, name: str, size: int) -> int:
        """Reserve ``size`` consecutive parameters; return the first index."""
        first = len(self.names)
        for k in range(size):
            self.index(f"{name}[{k}]")
        return first


class Context:
    """What a force model may ask for. Build with :meth:`symbolic` or :meth:`numeric`."""

    def __init__(self, m, r, v, t, tracks, rotations, params, numeric_params=None):
        self.m = m
        self.r = r
        self.v = v
        self.t = t
        self._tracks = tracks
        self._rotations = rotations
        self.params = params
        self._numeric_params = numeric_params or {}
        self._pos_cache: dict[str, list] = {}
        self._rot_cache: dict[str, list] = {}
        self.symbolic = m.is_symbolic

    # -- construction ---------------------------------------------------------
    @classmethod
    def symbolic(cls, tracks, rotations, params: ParameterTable):
        m = heyoka_ns()
        hy = m.hy
        x, y, z, vx, vy, vz = hy.make_vars("x", "y", "z", "vx", "vy", "vz")
        return cls(m, [x, y, z], [vx, vy, vz], hy.time, tracks, rotations, params)

    @classmethod
    def numeric(cls, t: float, state, tracks, rotations, params: ParameterTable):
        s = np.asarray(state, dtype=float)
        vals = dict(zip(params.names, params.values))
        return cls(NP, [s[0], s[1], s[2]], [s[3], s[4], s[5]], float(t), tracks, rotations, params, vals)

    # -- services ---------------------------------------------------------------
    def body_position(self, name: str):
        """Position of body ``name`` relative to Mars, ICRF axes, km."""
        if name == "MARS":
            return [0.0, 0.0, 0.0]
        if name not in self._pos_cache:
            track = self._tracks[name]
            self._pos_cache[name] = track.expr(self) if self.symbolic else list(track.position(self.t))
        return self._pos_cache[name]

    def rotation(self, name: str):
        """ICRF -> body-fixed rotation of ``name`` as a 3x3 nested list."""
        if name not in self._rot_cache:
            rot = self._rotations[name]
            if self.symbolic:
                from ..bodies.rotation import rotation_matrix_expr

                self._rot_cache[name] = rotation_matrix_expr(rot, self.t, self.m.hy)
            else:
                self._rot_cache[name] = rot.matrix(self.t).tolist()
        return self._rot_cache[name]

    def rotation_model(self, name: str):
        """The rotation model of ``name`` (an :class:`~mmxsim.bodies.rotation.IAURotation`)."""
        return self._rotations[name]

    def pole(self, name: str):
        """Unit spin axis of ``name`` in ICRF (third row of its rotation)."""
        if self.symbolic:
            a, d, _ = self._rotations[name].euler(self.t, sin=self.m.sin, cos=self.m.cos)
            cd = self.m.cos(d)
            return [cd * self.m.cos(a), cd * self.m.sin(a), self.m.sin(d)]
        return self.rotation(name)[2]

    def param(self, name: str, value: float | None = None):
        """A named runtime parameter (changing it needs no recompilation)."""
        if self.symbolic:
            i = self.params.index(name, 0.0 if value is None else value)
            return self.m.hy.par[i]
        return self._numeric_params[name]

    def par_index(self, i: int):
        return self.m.hy.par[i] if self.symbolic else self._numeric_params[self.params.names[i]]
