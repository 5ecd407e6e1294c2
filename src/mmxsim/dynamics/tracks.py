"""How the dynamics knows where perturbing bodies are.

* :class:`AnalyticTrack`: the built-in Mars-moon theory, compiled into the equations
  as exact expressions of time (no interpolation error at all).
* :class:`ChebyshevTrack`: any ephemeris (DE kernel, SPICE): positions interpolated
  by Chebyshev polynomials over fixed segments, coefficients passed as runtime
  parameters and refreshed at every segment boundary. The fit error is checked
  at fit time against the ephemeris and must stay below ``max_fit_error_km``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import lru_cache

import numpy as np

from ..errors import MmxsimError


class AnalyticTrack:
    kind = "analytic"

    def __init__(self, name: str, ephemeris, phobos_tidal: bool):
        self.name = name
        self.eph = ephemeris
        self.phobos_tidal = phobos_tidal

    def signature(self):
        return ("analytic", self.name, self.phobos_tidal)

    def expr(self, ctx):
        from ..ephemeris.moons import moon_position_expr

        return moon_position_expr(self.name, ctx.t, ctx.m.hy, phobos_tidal=self.phobos_tidal)

    def position(self, t):
        return self.eph.position(self.name, "MARS", t)


class ChebyshevTrack:
    kind = "chebyshev"

    def __init__(self, name: str, ephemeris, degree: int = 12, max_fit_error_km: float = 1e-4):
        self.name = name
        self.eph = ephemeris
        self.degree = degree
        self.max_fit_error_km = max_fit_error_km
        self.first_par: int | None = None  # set when the model is built

    def signature(self):
        return ("chebyshev", self.name, self.degree)

    def reserve(self, params):
        self.first_par = params.block(f"cheb:{self.name}", 3 * (self.degree + 1))

    def expr(self, ctx):
        """sum_k c_k T_k(s), s = (t - t_mid) / half, with c_k and t_mid, 1/half as parameters."""
        tmid = ctx.param("cheb:t_mid")
        inv_half = ctx.param("cheb:inv_half")
        s = (ctx.t - tmid) * inv_half
        T = [1.0, s]
        for k in range(2, self.degree + 1):
            T.append(2.0 * s * T[-1] - T[-2])
        out = []
        for i in range(3):
            terms = [ctx.par_index(self.first_par + i)]  # c_0 (T_0 = 1)
            terms += [ctx.par_index(self.first_par + 3 * k + i) * T[k] for k in range(1, self.degree + 1)]
            # one n-ary sum (heyoka's sum node) instead of a chain of binary additions: measured
            # faster in compact mode
            out.append(ctx.m.hy.sum(terms) if ctx.symbolic else sum(terms[1:], terms[0]))
        return out

    def position(self, t):
        return self.eph.position(self.name, "MARS", t)

    def fit(self, t0: float, t1: float) -> np.ndarray:
        """Coefficients (degree+1, 3) on [t0, t1]; the interpolation error is checked."""
        return self.fit_many([t0], [t1])[0]

    def fit_many(self, t0s, t1s) -> np.ndarray:
        """Coefficients (S, degree+1, 3) on the segments [t0s[k], t1s[k]], from one vectorised
        ephemeris look-up (what :meth:`fit` does segment by segment); every fit is checked."""
        t0s, t1s = np.asarray(t0s, float), np.asarray(t1s, float)
        n = self.degree + 1
        nodes, chk, fit_m, chk_m = _cheb_matrices(self.degree)
        u = np.concatenate([nodes, chk])
        tm, h = 0.5 * (t0s + t1s), 0.5 * (t1s - t0s)
        pos = self.eph.position(self.name, "MARS", (tm[:, None] + h[:, None] * u[None, :]).ravel())
        pos = pos.reshape(t0s.size, u.size, 3)
        coef = np.einsum("kj,sjc->skc", fit_m, pos[:, :n])
        err = np.abs(np.einsum("ij,sjc->sic", chk_m, coef) - pos[:, n:]).max(axis=(1, 2))
        k = int(np.argmax(err)) if err.size else 0
        if err.size and err[k] > self.max_fit_error_km:
            raise MmxsimError(
                f"Chebyshev fit of {self.name} over {t1s[k] - t0s[k]:.0f} s has error {err[k]:.2e} km "
                f"(> {self.max_fit_error_km:.1e} km): shorten the segment or raise the degree"
            )
        return coef


class _FitCache:
    """Chebyshev fits remembered across propagations (an LRU of ``maxsize`` track-segments, thread-safe).

    A fit is a deterministic function of the ephemeris, the track (body, degree, error bound) and the
    segment's two epochs, so a segment flown again (the station-keeping Monte Carlo flies the same arcs
    many times) reuses the coefficients bit for bit: :meth:`ChebyshevTrack.fit_many` gives each
    segment the same numbers whatever batch it was fitted in (checked in tests/dynamics/test_ensemble.py).
    The key holds the ephemeris object's identity and the entry a reference to it (so the identity is
    never reused while the entry lives); an ephemeris is assumed not to change its positions in place
    (none in the package does: a different ephemeris is a different object)."""

    def __init__(self, maxsize: int = 8192):
        self.maxsize = int(maxsize)
        self._d: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(track, s0: float, s1: float) -> tuple:
        return (id(track.eph), track.signature(), float(track.max_fit_error_km), float(s0), float(s1))

    def get(self, track, s0: float, s1: float):
        k = self.key(track, s0, s1)
        with self._lock:
            e = self._d.get(k)
            if e is None or e[0] is not track.eph:
                self.misses += 1
                return None
            self._d.move_to_end(k)
            self.hits += 1
            return e[1]

    def put(self, track, s0: float, s1: float, coef: np.ndarray) -> None:
        coef = np.array(coef, float)
        coef.setflags(write=False)
        k = self.key(track, s0, s1)
        with self._lock:
            self._d[k] = (track.eph, coef)
            self._d.move_to_end(k)
            while len(self._d) > self.maxsize:
                self._d.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._d.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._d)


#: the process-wide cache of segment fits (used by :class:`SegmentFits`)
FIT_CACHE = _FitCache()


class SegmentFits:
    """Chebyshev coefficients of several tracks for the consecutive segments a propagation flies,
    fitted ahead in vectorised batches of ``batch`` segments (one ephemeris look-up per track and
    batch instead of one per segment: the look-ups dominated a 30-day QSO run, measured), and
    remembered across propagations in :data:`FIT_CACHE` (a segment flown again is not fitted again).

    Segment ends follow ``s1 = min(s0 + seg, t_stop)`` exactly as the propagation loop adds them."""

    def __init__(self, tracks, seg: float, t_stop: float, batch: int = 96, cache: _FitCache | None = None):
        self.tracks, self.seg, self.t_stop, self.batch = list(tracks), float(seg), float(t_stop), int(batch)
        self.cache = FIT_CACHE if cache is None else cache
        self._bounds = np.empty(0)
        self._coef: list = []

    def coefficients(self, s0: float):
        """[(track, coef (degree+1, 3))] for the segment starting at ``s0``."""
        idx = np.flatnonzero(self._bounds[:-1] == s0) if self._bounds.size > 1 else np.empty(0, int)
        if idx.size:
            i = int(idx[0])
            return [(tr, c[i]) for tr, c in zip(self.tracks, self._coef)]
        s1 = min(float(s0) + self.seg, self.t_stop)
        got = [self.cache.get(tr, s0, s1) for tr in self.tracks]
        if all(c is not None for c in got):
            return list(zip(self.tracks, got))
        b = [float(s0)]
        while len(b) <= self.batch and b[-1] < self.t_stop:
            b.append(min(b[-1] + self.seg, self.t_stop))
        self._bounds = np.asarray(b)
        self._coef = [tr.fit_many(self._bounds[:-1], self._bounds[1:]) for tr in self.tracks]
        for tr, c in zip(self.tracks, self._coef):
            for k in range(len(b) - 1):
                self.cache.put(tr, b[k], b[k + 1], c[k])
        return [(tr, c[0]) for tr, c in zip(self.tracks, self._coef)]


@lru_cache(maxsize=None)
def _cheb_matrices(degree: int):
    """Chebyshev nodes, check points, the interpolation matrix and the check evaluation matrix."""
    n = degree + 1
    k = np.arange(n)
    nodes = np.cos(np.pi * (k + 0.5) / n)  # Chebyshev nodes in (-1, 1)
    chk = np.linspace(-1, 1, 2 * n + 1)
    fit_m = np.linalg.inv(np.polynomial.chebyshev.chebvander(nodes, degree))
    chk_m = np.polynomial.chebyshev.chebvander(chk, degree)
    for a in (nodes, chk, fit_m, chk_m):
        a.setflags(write=False)
    return nodes, chk, fit_m, chk_m


def segment_length(tracks) -> float:
    """Segment length (s) that keeps every Chebyshev track accurate.

    Phobos (period 7.65 h) needs short segments; Sun and Earth seen from Mars move
    slowly: measured over 2026-2031 (DE421), a degree-12 fit over 4 days (and over 8)
    stays within 1.6e-5 km, the same as over 1 day (the float64 floor of the evaluation).
    Integrated moons (measured at 60 segments, 2027): Phobos 2.8e-6 km over 1 h, 2.9e-6 over 3 h,
    3.8e-5 over 4 h (the 2e-6 floor is the SPK's own interpolation); Deimos 2.7e-6 over 12 h,
    2.0e-4 over 24 h. Chosen: Phobos 3 h, Deimos 12 h.
    Other bodies: 1 day. The error is checked at every fit.
    """
    lengths = {"PHOBOS": 3 * 3600.0, "DEIMOS": 12 * 3600.0, "SUN": 4 * 86400.0, "EARTH": 4 * 86400.0}
    out = 4 * 86400.0
    for tr in tracks:
        if getattr(tr, "kind", "") == "chebyshev":
            out = min(out, lengths.get(tr.name, 86400.0))
    return out


class CachedChebyshev:
    """NumPy evaluation of a :class:`ChebyshevTrack` with fits cached per segment.

    Gives a NumPy right-hand side the same third-body interpolation the integrator
    uses, so SciPy baselines are not slowed down by ephemeris look-ups.
    """

    kind = "chebyshev"

    def __init__(self, track: ChebyshevTrack, origin: float, seg: float):
        self.track = track
        self.name = track.name
        self.origin = float(origin)
        self.seg = float(seg)
        self._fits: dict[int, tuple] = {}

    def position(self, t):
        k = int(np.floor((float(t) - self.origin) / self.seg))
        fit = self._fits.get(k)
        if fit is None:
            a = self.origin + k * self.seg
            fit = (a + 0.5 * self.seg, 2.0 / self.seg, self.track.fit(a, a + self.seg))
            self._fits[k] = fit
        tm, ih, c = fit
        return np.polynomial.chebyshev.chebval((float(t) - tm) * ih, c).T
