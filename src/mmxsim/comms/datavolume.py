"""Onboard data volume: production, recorder, downlink, overflow (layer 4).

Instruments produce data at rates that depend on the mission phase (scenario
parameters: MMX's instrument data rates are not published in a usable form, so every
rate is an ASSUMPTION of the scenario).  The data recorder (capacity ``C`` bits) fills
at the production rate ``p(t)`` and drains at the link rate ``d(t)`` during booked
passes.  Both are piecewise constant, so the fill level is piecewise linear and is
integrated *exactly*, event by event (no time step):

* ``0 < S < C``: ``dS/dt = p - d``;
* ``S = 0`` and ``d >= p``: the downlink carries only what is produced (``d_eff = p``);
* ``S = C`` and ``p > d``: the excess ``p - d`` overflows.  It goes first to the
  sample-return capsule's Retrieval Data Recorder (RDR, capacity ``C_rdr``; last resort,
  never downlinked here -- it comes home with the capsule) and, once that is full, is
  lost.  The RDR's use for overflow and its capacity are ASSUMPTIONS (default 0: no RDR).

Conservation holds by construction and is reported:
``produced = downlinked + (stored_end - stored_start) + to_rdr + lost``.
The planner's target is ``lost == 0`` (and ideally ``to_rdr == 0``):
:attr:`RecorderResult.zero_loss` says whether it was met.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np

from ..errors import InputError

__all__ = [
    "Phase", "RateInterval", "DownlinkInterval", "OverflowEvent", "RecorderResult",
    "production_intervals", "downlink_intervals", "simulate_recorder", "agency_table",
    "agency_table_markdown", "plot_backlog",
]


@dataclass(frozen=True)
class Phase:
    """A mission phase [start, stop) in TDB seconds past J2000."""

    name: str
    start: float
    stop: float

    def __post_init__(self):
        if not (math.isfinite(self.start) and math.isfinite(self.stop) and self.stop > self.start):
            raise InputError(f"phase {self.name!r}.stop", self.stop, f"finite and > start ({self.start})")


@dataclass(frozen=True)
class RateInterval:
    """A constant data rate (b/s) over [start, stop)."""

    start: float
    stop: float
    rate_bps: float
    label: str = ""

    def __post_init__(self):
        if not (math.isfinite(self.start) and math.isfinite(self.stop) and self.stop > self.start):
            raise InputError(f"{self.label or 'interval'}.stop", self.stop, f"finite and > start ({self.start})")
        if not (math.isfinite(self.rate_bps) and self.rate_bps >= 0):
            raise InputError(f"{self.label or 'interval'}.rate_bps", self.rate_bps, "a finite rate >= 0 b/s")


@dataclass(frozen=True)
class DownlinkInterval(RateInterval):
    """Link rate available to the recorder over [start, stop) at ``station``."""

    station: str = ""
    agency: str = ""


def production_intervals(phases: Sequence[Phase], rates: Mapping[str, Mapping[str, float]]) -> list[RateInterval]:
    """Production as rate intervals: ``rates[instrument][phase_name] = b/s``.

    An instrument absent from a phase produces nothing in it.  Unknown phase names and
    negative or non-finite rates raise :class:`~mmxsim.errors.InputError`.
    """
    names = {p.name for p in phases}
    if len(names) != len(phases):
        raise InputError("phases", [p.name for p in phases], "unique phase names")
    out: list[RateInterval] = []
    for instr, by_phase in rates.items():
        for ph, r in by_phase.items():
            if ph not in names:
                raise InputError(f"rates[{instr!r}]", ph, f"a phase name: {sorted(names)}")
            try:
                rv = float(r)
            except (TypeError, ValueError):
                raise InputError(f"rates[{instr!r}][{ph!r}]", r, "a rate >= 0 b/s") from None
            if not (math.isfinite(rv) and rv >= 0):
                raise InputError(f"rates[{instr!r}][{ph!r}]", r, "a finite rate >= 0 b/s")
    for p in phases:
        for instr, by_phase in rates.items():
            if by_phase.get(p.name, 0.0) > 0:
                out.append(RateInterval(p.start, p.stop, float(by_phase[p.name]), f"{instr}/{p.name}"))
    return out


def downlink_intervals(schedule, candidates: Sequence) -> list[DownlinkInterval]:
    """Link-rate intervals of a :class:`~mmxsim.comms.schedule.Schedule`'s bookings.

    ``candidates`` is the list the schedule was built from: for a
    :class:`~mmxsim.comms.link.PassRates` the step rate series is clipped to the
    booking; for a ``(Pass, rate_bps)`` tuple the constant rate is used.
    """
    from .link import PassRates

    out: list[DownlinkInterval] = []
    for b in schedule.bookings:
        item = candidates[b.pass_index]
        if isinstance(item, PassRates):
            edges = np.append(item.t, item.pass_.stop)
            for a, c, r in zip(edges[:-1], edges[1:], item.rate_bps):
                lo, hi = max(a, b.start), min(c, b.stop)
                if hi > lo:
                    out.append(DownlinkInterval(float(lo), float(hi), float(r), b.station, b.station, b.agency))
        else:
            out.append(DownlinkInterval(b.start, b.stop, float(item[1]), b.station, b.station, b.agency))
    return out


@dataclass(frozen=True)
class OverflowEvent:
    """Recorder full while production exceeds downlink, over [start, stop)."""

    start: float
    stop: float
    volume_bits: float  # total overflow in the event
    to_rdr_bits: float
    lost_bits: float
    lost_from: float | None  # time the first bit was lost (RDR full), if any


@dataclass
class RecorderResult:
    """Exact piecewise-linear recorder history (vertices ``t``)."""

    t: np.ndarray
    stored_bits: np.ndarray
    rdr_bits: np.ndarray
    produced_bits: np.ndarray  # cumulative
    downlinked_bits: np.ndarray  # cumulative
    lost_bits: np.ndarray  # cumulative
    capacity_bits: float
    rdr_capacity_bits: float
    overflows: list[OverflowEvent]
    downlinked_by_interval: np.ndarray = field(repr=False)  # per DownlinkInterval given
    downlinks: list = field(repr=False, default_factory=list)

    @property
    def total_produced_bits(self) -> float:
        return float(self.produced_bits[-1])

    @property
    def total_downlinked_bits(self) -> float:
        return float(self.downlinked_bits[-1])

    @property
    def total_lost_bits(self) -> float:
        return float(self.lost_bits[-1])

    @property
    def total_to_rdr_bits(self) -> float:
        return float(self.rdr_bits[-1] - self.rdr_bits[0])

    @property
    def zero_loss(self) -> bool:
        return self.total_lost_bits == 0.0

    @property
    def conservation_residual_bits(self) -> float:
        """produced - (downlinked + change in storage + to RDR + lost); ~0 by construction."""
        return (self.total_produced_bits - self.total_downlinked_bits
                - (float(self.stored_bits[-1]) - float(self.stored_bits[0]))
                - self.total_to_rdr_bits - self.total_lost_bits)


def _piece_rates(intervals, edges):
    """Sum of interval rates on each [edges[k], edges[k+1])."""
    r = np.zeros(len(edges) - 1)
    for iv in intervals:
        a = np.searchsorted(edges, iv.start, side="left")
        b = np.searchsorted(edges, iv.stop, side="left")
        r[a:b] += iv.rate_bps
    return r


def simulate_recorder(production: Sequence[RateInterval], downlinks: Sequence[DownlinkInterval],
                      capacity_bits: float, t_start: float, t_stop: float, *,
                      initial_bits: float = 0.0, rdr_capacity_bits: float = 0.0) -> RecorderResult:
    """Integrate the recorder exactly over [t_start, t_stop].

    Overlapping downlink intervals add up (callers normally pass one station at a time);
    intervals are clipped to the span.
    """
    for f, v in (("capacity_bits", capacity_bits), ("rdr_capacity_bits", rdr_capacity_bits),
                 ("initial_bits", initial_bits)):
        if not (math.isfinite(v) and v >= 0):
            raise InputError(f, v, "a finite volume >= 0 bits")
    if capacity_bits <= 0:
        raise InputError("capacity_bits", capacity_bits, "> 0 bits")
    if initial_bits > capacity_bits:
        raise InputError("initial_bits", initial_bits, f"<= capacity_bits ({capacity_bits})")
    if not (math.isfinite(t_start) and math.isfinite(t_stop) and t_stop > t_start):
        raise InputError("t_stop", t_stop, f"finite and > t_start ({t_start})")
    for iv in list(production) + list(downlinks):
        if not isinstance(iv, RateInterval):
            raise InputError("interval", iv, "RateInterval / DownlinkInterval items")
    clip = lambda x: min(max(x, t_start), t_stop)  # noqa: E731
    pts = {t_start, t_stop}
    for iv in list(production) + list(downlinks):
        pts.add(clip(iv.start)); pts.add(clip(iv.stop))
    edges = np.array(sorted(pts))
    p = _piece_rates(production, edges)
    d = _piece_rates(downlinks, edges)
    # share of each downlink interval in each piece's downlink (for per-interval volumes)
    C, R = float(capacity_bits), float(rdr_capacity_bits)
    S, Q = float(initial_bits), 0.0
    T = [t_start]; ST = [S]; QT = [0.0]; PR = [0.0]; DL = [0.0]; LO = [0.0]
    dl_piece = np.zeros(len(edges) - 1)
    events: list[list] = []  # [start, stop, vol, rdr, lost, lost_from]
    open_ev = None

    def push(t, s, q, pr, dl, lo):
        T.append(t); ST.append(s); QT.append(q); PR.append(pr); DL.append(dl); LO.append(lo)

    for k in range(len(edges) - 1):
        t0, t1 = float(edges[k]), float(edges[k + 1])
        dt = t1 - t0
        pk, dk = float(p[k]), float(d[k])
        net = pk - dk
        pr0, dl0, lo0 = PR[-1], DL[-1], LO[-1]
        ovf_from = None  # time overflow starts in this piece
        if net > 0:
            t_full = t0 + (C - S) / net if S < C else t0
            if t_full < t1:
                if t_full > t0:
                    push(t_full, C, Q, pr0 + pk * (t_full - t0), dl0 + dk * (t_full - t0), lo0)
                ovf_from = t_full
                S = C
            else:
                S = S + net * dt
                S = min(S, C)
            dl_k = dk * dt
        elif net < 0:
            t_empty = t0 + S / (-net)
            if t_empty < t1:
                if t_empty > t0:
                    push(t_empty, 0.0, Q, pr0 + pk * (t_empty - t0), dl0 + dk * (t_empty - t0), lo0)
                dl_k = dk * (t_empty - t0) + pk * (t1 - t_empty)
                S = 0.0
            else:
                S = max(S + net * dt, 0.0)
                dl_k = dk * dt
        else:
            dl_k = dk * dt
        dl_piece[k] = dl_k
        if ovf_from is not None:
            ovf = net * (t1 - ovf_from)
            to_rdr = min(ovf, R - Q)
            lost = ovf - to_rdr
            lost_from = None
            if lost > 0:
                t_rdr_full = ovf_from + (R - Q) / net
                lost_from = t_rdr_full
                if ovf_from < t_rdr_full < t1:
                    push(t_rdr_full, C, R, pr0 + pk * (t_rdr_full - t0),
                         dl0 + dk * (t_rdr_full - t0), lo0)
            Q += to_rdr
            if open_ev is None:
                open_ev = [ovf_from, t1, 0.0, 0.0, 0.0, None]
            open_ev[1] = t1
            open_ev[2] += ovf; open_ev[3] += to_rdr; open_ev[4] += lost
            if open_ev[5] is None and lost_from is not None:
                open_ev[5] = lost_from
            push(t1, S, Q, pr0 + pk * dt, dl0 + dl_k, lo0 + lost)
        else:
            if open_ev is not None:
                events.append(open_ev); open_ev = None
            push(t1, S, Q, pr0 + pk * dt, dl0 + dl_k, lo0)
    if open_ev is not None:
        events.append(open_ev)
    # per downlink interval: split each piece's downlink in proportion to the rates
    per_iv = np.zeros(len(downlinks))
    for j, iv in enumerate(downlinks):
        a = np.searchsorted(edges, clip(iv.start), side="left")
        b = np.searchsorted(edges, clip(iv.stop), side="left")
        for k in range(a, b):
            if d[k] > 0:
                per_iv[j] += dl_piece[k] * iv.rate_bps / d[k]
    return RecorderResult(np.array(T), np.array(ST), np.array(QT), np.array(PR), np.array(DL),
                          np.array(LO), C, R,
                          [OverflowEvent(e[0], e[1], e[2], e[3], e[4], e[5]) for e in events],
                          per_iv, list(downlinks))


def agency_table(schedule, result: RecorderResult | None = None) -> list[dict]:
    """Per agency: tracks, charged hours, capacity booked and (with ``result``) volume returned."""
    rows: dict[str, dict] = {}
    for b in schedule.bookings:
        r = rows.setdefault(b.agency, {"agency": b.agency, "tracks": 0, "hours": 0.0,
                                       "capacity_bits": 0.0, "returned_bits": 0.0})
        r["tracks"] += 1
        r["hours"] += b.charged_s / 3600.0
        r["capacity_bits"] += b.volume_bits
    if result is not None:
        for iv, v in zip(result.downlinks, result.downlinked_by_interval):
            ag = getattr(iv, "agency", "")
            rows.setdefault(ag, {"agency": ag, "tracks": 0, "hours": 0.0, "capacity_bits": 0.0,
                                 "returned_bits": 0.0})["returned_bits"] += float(v)
    return sorted(rows.values(), key=lambda r: r["agency"])


def agency_table_markdown(rows: list[dict]) -> str:
    lines = ["| agency | tracks | hours | capacity (Gbit) | returned (Gbit) |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['agency']} | {r['tracks']} | {r['hours']:.2f} | {r['capacity_bits'] / 1e9:.3f} "
                     f"| {r['returned_bits'] / 1e9:.3f} |")
    return "\n".join(lines)


def plot_backlog(result: RecorderResult, *, time_unit_s: float = 86400.0, title: str = "Onboard recorder"):
    """Backlog (and RDR, cumulative loss) versus time; returns a matplotlib Figure (Agg)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3.5))
    FigureCanvasAgg(fig)  # its tight_layout() and png_bytes share one renderer
    ax = fig.add_subplot(1, 1, 1)
    x = (result.t - result.t[0]) / time_unit_s
    ax.plot(x, result.stored_bits / 1e9, label="recorder")
    ax.axhline(result.capacity_bits / 1e9, ls="--", c="k", lw=0.8, label="capacity")
    if result.rdr_capacity_bits > 0:
        ax.plot(x, result.rdr_bits / 1e9, label="capsule RDR")
    if result.total_lost_bits > 0:
        ax.plot(x, result.lost_bits / 1e9, c="r", label="lost (cumulative)")
    for e in result.overflows:
        ax.axvspan((e.start - result.t[0]) / time_unit_s, (e.stop - result.t[0]) / time_unit_s,
                   color="r", alpha=0.15)
    ax.set_xlabel(f"time since start [{'d' if time_unit_s == 86400.0 else f'{time_unit_s:g} s'}]")
    ax.set_ylabel("Gbit")
    ax.set_title(title + (" - zero loss" if result.zero_loss else f" - {result.total_lost_bits / 1e9:.3g} Gbit lost"))
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig
