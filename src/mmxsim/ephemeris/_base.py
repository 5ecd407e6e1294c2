"""Body names, epoch handling and the tree evaluation shared by every backend.

Every backend describes its bodies as a tree: each body it provides has a *parent*
(its SPK centre, e.g. ``MARS -> MARS_BARYCENTER -> SSB``) and a *segment*, the state of
the body relative to that parent.  ``state(target, center, t)`` walks both bodies up to
their lowest common ancestor and adds/subtracts segments, so every backend and the
composite of several backends share one evaluation and one set of error messages.
Only NumPy is imported here.
"""

from __future__ import annotations

import numpy as np

from ..errors import CoverageError, InputError
from ..time import as_tdb_seconds

# NAIF ids of the body names mmxsim understands (upper case).
NAME_TO_ID: dict[str, int] = {
    "SSB": 0,
    "MERCURY_BARYCENTER": 1,
    "VENUS_BARYCENTER": 2,
    "EARTH_BARYCENTER": 3,
    "MARS_BARYCENTER": 4,
    "JUPITER_BARYCENTER": 5,
    "SATURN_BARYCENTER": 6,
    "URANUS_BARYCENTER": 7,
    "NEPTUNE_BARYCENTER": 8,
    "PLUTO_BARYCENTER": 9,
    "SUN": 10,
    "MERCURY": 199,
    "VENUS": 299,
    "MOON": 301,
    "EARTH": 399,
    "PHOBOS": 401,
    "DEIMOS": 402,
    "MARS": 499,
}
ID_TO_NAME: dict[int, str] = {v: k for k, v in NAME_TO_ID.items()}
ALIASES = {
    "SOLAR_SYSTEM_BARYCENTER": "SSB",
    "EMB": "EARTH_BARYCENTER",
    "EARTH_MOON_BARYCENTER": "EARTH_BARYCENTER",
}


def body_name(body, allowed=None, field: str = "body") -> str:
    """Canonical upper-case name of ``body`` (a name, case-insensitive, or a NAIF id).

    Raises :class:`InputError` naming the allowed bodies when the body is unknown or,
    if ``allowed`` is given, not among them.
    """
    if isinstance(body, (int, np.integer)) and not isinstance(body, bool):
        name = ID_TO_NAME.get(int(body))
    elif isinstance(body, str):
        key = body.strip().upper().replace(" ", "_").replace("-", "_")
        key = ALIASES.get(key, key)
        name = key if key in NAME_TO_ID or (allowed is not None and key in allowed) else None
    else:
        name = None
    if name is None or (allowed is not None and name not in allowed):
        pool = sorted(allowed) if allowed is not None else sorted(NAME_TO_ID)
        raise InputError(field, body, ", ".join(pool))
    return name


def as_epochs(t) -> tuple[np.ndarray, bool]:
    """(1-D float array of TDB seconds past J2000, was_scalar); ``t`` may also be an astropy ``Time``."""
    t = as_tdb_seconds(t)
    try:
        arr = np.asarray(t, dtype=float)
    except (TypeError, ValueError):
        raise InputError("t", t, "TDB seconds past J2000: a float or a 1-D array of floats") from None
    if arr.ndim > 1:
        raise InputError("t", f"array of shape {arr.shape}", "a float or a 1-D array (N,) of TDB seconds")
    if not np.all(np.isfinite(arr)):
        raise InputError("t", t, "finite TDB seconds past J2000")
    return np.atleast_1d(arr), arr.ndim == 0


def iso_tdb(x: float) -> str:
    """ISO 8601 TDB string (ms) of TDB seconds past J2000, valid for any realistic epoch."""
    x = float(x)
    if not np.isfinite(x):
        return "-inf" if x < 0 else "+inf"
    base = np.datetime64("2000-01-01T12:00:00.000", "ms")
    return str(base + np.timedelta64(int(round(x * 1000.0)), "ms"))


def coverage_error(body: str, t: np.ndarray, span: tuple[float, float], source: str) -> CoverageError:
    """A :class:`CoverageError` for the first epoch of ``t`` outside ``span``."""
    bad = t[(t < span[0]) | (t > span[1])]
    epoch = bad[0] if bad.size else t[0]
    return CoverageError(body, iso_tdb(epoch), (iso_tdb(span[0]), iso_tdb(span[1])), source)


class TreeEphemeris:
    """Base of all backends: a forest of bodies linked to parents by segments.

    Subclasses implement :meth:`_link` (parent, provider) and providers implement
    ``_segment(body, t)`` -> (N, 6) and ``_segment_coverage(body)`` -> (start, stop)
    in TDB seconds, and ``source`` (a short description for error messages).
    """

    name: str = "ephemeris"

    # --- to implement ------------------------------------------------------------
    def _link(self, body: str):  # -> (parent_name, provider) | None
        raise NotImplementedError

    def _known(self) -> set[str]:
        raise NotImplementedError

    # --- public API ----------------------------------------------------------------
    def bodies(self) -> set[str]:
        """Names of all bodies this ephemeris can place (including tree roots)."""
        return set(self._known())

    def _name(self, body, field: str) -> str:
        known = self._known()
        return body_name(body, known, field)

    def _chain(self, body: str) -> list[tuple[str, str, object]]:
        """[(body, parent, provider), ...] from ``body`` up to its root."""
        out = []
        seen = {body}
        b = body
        while True:
            link = self._link(b)
            if link is None:
                return out
            parent, prov = link
            if parent in seen:  # pragma: no cover - malformed kernels
                raise InputError("body", body, f"a body whose centre chain has no cycle (loops at {parent})")
            out.append((b, parent, prov))
            seen.add(parent)
            b = parent

    @staticmethod
    def _root(body: str, chain) -> str:
        return chain[-1][1] if chain else body

    def coverage(self, target: str) -> tuple[float, float]:
        """TDB-seconds span in which ``target`` can be placed relative to its tree root.

        For a tree root (e.g. SSB) the span of all segments hanging from it.
        """
        name = self._name(target, "target")
        chain = self._chain(name)
        if chain:
            lo, hi = -np.inf, np.inf
            for b, _p, prov in chain:
                a, z = prov._segment_coverage(b)
                lo, hi = max(lo, a), min(hi, z)
            return float(lo), float(hi)
        # a root: hull of the bodies attached to it
        lo, hi = np.inf, -np.inf
        for other in self._known():
            ch = self._chain(other)
            if ch and self._root(other, ch) == name:
                a, z = self.coverage(other)
                lo, hi = min(lo, a), max(hi, z)
        return (float(lo), float(hi)) if lo <= hi else (-np.inf, np.inf)

    def _sum_chain(self, links, t: np.ndarray) -> np.ndarray:
        acc = np.zeros((t.size, 6))
        for b, _p, prov in links:
            span = prov._segment_coverage(b)
            if np.any(t < span[0]) or np.any(t > span[1]):
                raise coverage_error(b, t, span, prov.source)
            acc += prov._segment(b, t)
        return acc

    def _links(self, target: str, center: str):
        """(up, down): the segments from ``target`` up to the first node it shares with ``center``'s
        chain, and from ``center`` up to it; InputError if the two trees are not connected."""
        tn = self._name(target, "target")
        cn = self._name(center, "center")
        ct, cc = self._chain(tn), self._chain(cn)
        t_nodes = [tn] + [p for _b, p, _v in ct]
        c_nodes = [cn] + [p for _b, p, _v in cc]
        common = next((n for n in t_nodes if n in set(c_nodes)), None)
        if common is None:
            raise InputError(
                "center", center,
                f"a body connected to {tn} in {self.name} (its chain: {' -> '.join(t_nodes)}; "
                f"{cn}'s chain: {' -> '.join(c_nodes)})",
            )
        return ct[: t_nodes.index(common)], cc[: c_nodes.index(common)]

    def state(self, target: str, center: str, t) -> np.ndarray:
        """State of ``target`` relative to ``center``: (6,) or (N, 6), km and km/s, ICRF axes."""
        up, down = self._links(target, center)
        tt, scalar = as_epochs(t)
        out = self._sum_chain(up, tt) - self._sum_chain(down, tt)
        return out[0] if scalar else out

    def _sum_chain_position(self, links, t: np.ndarray) -> np.ndarray:
        """As :meth:`_sum_chain`, positions only: a backend with ``_segment_position(body, t)`` -> (N, 3)
        skips the velocity (the Chebyshev derivative: about half the work), the others are sliced."""
        acc = np.zeros((t.size, 3))
        for b, _p, prov in links:
            span = prov._segment_coverage(b)
            if np.any(t < span[0]) or np.any(t > span[1]):
                raise coverage_error(b, t, span, prov.source)
            fast = getattr(prov, "_segment_position", None)
            acc += fast(b, t) if fast is not None else prov._segment(b, t)[:, :3]
        return acc

    def position(self, target: str, center: str, t) -> np.ndarray:
        """Position of ``target`` relative to ``center``: (3,) or (N, 3), km, ICRF axes (the same
        numbers as ``state(...)[..., :3]``)."""
        up, down = self._links(target, center)
        tt, scalar = as_epochs(t)
        out = self._sum_chain_position(up, tt) - self._sum_chain_position(down, tt)
        return out[0] if scalar else out

    def sources(self, target: str, center: str = "MARS") -> list[str]:
        """Where the state of ``target`` relative to ``center`` comes from: the ``source`` of every
        backend whose segments :meth:`state` chains for it, in chain order, each once.

        This is the provenance a result should state (e.g. ``['JPL DE421 (skyfield-data)']`` for the
        Sun seen from Mars): a kernel listed in a scenario but not used for a body does not appear."""
        up, down = self._links(target, center)
        out: list[str] = []
        for b, _p, prov in up + down:
            src = prov.source_of(b) if hasattr(prov, "source_of") else prov.source
            if src not in out:
                out.append(src)
        return out

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}: {', '.join(sorted(self.bodies()))}>"


class CompositeEphemeris(TreeEphemeris):
    """Several backends merged: for each body the first backend that has a segment for it
    (i.e. knows its parent) wins; trees are joined at common nodes (SSB, MARS, ...)."""

    def __init__(self, *backends):
        flat = []
        for b in backends:
            flat.extend(b.backends if isinstance(b, CompositeEphemeris) else [b])
        if not flat:
            raise InputError("composite()", "no backends", "at least one ephemeris backend")
        for b in flat:
            if not isinstance(b, TreeEphemeris):
                raise InputError("composite()", type(b).__name__, "mmxsim ephemeris backends")
        self.backends = tuple(flat)
        self.name = "composite(" + ", ".join(b.name for b in flat) + ")"

    def _known(self) -> set[str]:
        out: set[str] = set()
        for b in self.backends:
            out |= b._known()
        return out

    def _link(self, body: str):
        for b in self.backends:
            if body in b._known():
                link = b._link(body)
                if link is not None:
                    return link
        return None
