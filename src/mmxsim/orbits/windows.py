"""Launch and return windows: porkchop maps of C3, v-infinity and time of flight.

Model (simplified; stated as the project requires)
--------------------------------------------------
* Heliocentric two-body transfer (Sun point mass, GM_SUN [DE440-GM]) between the centres of
  the departure and arrival planets: a Lambert arc (:mod:`mmxsim.orbits.lambert`, zero
  revolutions, prograde) from the planet's position at departure to the other planet's
  position at arrival. The planets' spheres of influence are points (patched conics):
  v-infinity = Lambert velocity - planet velocity; C3 = |v-infinity|^2.
* Planet states: JPL DE421 (``mmxsim.ephemeris.default_ephemeris()``), EARTH (geocentre) and
  MARS (planet centre) relative to the SUN, ICRF axes; epochs in TDB.
* The declination of the departure asymptote (DLA, w.r.t. the Earth equator = ICRF xy plane)
  is returned for Earth departures; launch-site constraints are not applied.

Mission choices (sources: ``/work/shared/mmx-facts.md`` section 1.1)
---------------------------------------------------------------------
* Outbound: launch in October 2026 [CNES-MMX], [CNES-MIRS]; Mars arrival in 2027 [UCHUBIZ],
  [DLR-2024]; transfer "about 1 year" [JAXA-MMX] / "less than 1 year" [CNES-MMX]. The
  "MMX-like" point is the minimum-C3 departure inside these constraints (launch
  2026-10-01..2026-10-31 UTC, arrival before 2028-01-01, TOF <= 365 d). The exact launch day
  is UNCONFIRMED, so this is a model choice, not the published trajectory.
* Return: Mars departure in 2030 [UCHUBIZ], [FR-WP]; Earth return in JFY2031 (1 Apr 2031 ..
  31 Mar 2032) [JAXA-MMX]. The "MMX-like" point is the minimum Mars-departure v-infinity with
  departure in 2030 and arrival in JFY2031.
* "Optimum": minimum C3 (outbound) / minimum departure v-infinity (return) over the grid.

No published C3 for the 2026 Earth-Mars window is in the project's fact sheets; the tests
compare the minimum with an independent computation (pykep's Lambert solver on the same
ephemeris) when pykep is installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..bodies import GM_SUN
from ..errors import InputError
from . import lambert as _lambert

DAY = 86400.0
__all__ = ["Porkchop", "porkchop", "earth_mars_2026", "mars_earth_2030", "launch_windows"]


def _tdb(x, name):
    if isinstance(x, str):
        from ..time import to_tdb_seconds

        import warnings

        try:
            with warnings.catch_warnings():  # ERFA "dubious year": leap seconds after the table's end
                warnings.simplefilter("ignore")
                return float(to_tdb_seconds(x, "utc"))
        except Exception:
            raise InputError(name, x, "an ISO date (UTC), e.g. '2026-10-01', or TDB seconds past J2000") from None
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise InputError(name, x, "an ISO date (UTC) or TDB seconds past J2000") from None
    if not np.isfinite(v):
        raise InputError(name, x, "a finite epoch")
    return v


def _iso_date(t):
    from ..time import iso_tdb

    return str(iso_tdb(t, precision=0))[:10]


@dataclass
class Porkchop:
    """A porkchop grid. Arrays are (n_dep, n_arr); NaN where the arrival precedes departure
    or the time of flight is outside [tof_min, tof_max]."""

    departure_body: str
    arrival_body: str
    t_dep: np.ndarray  # (n_dep,) TDB s
    t_arr: np.ndarray  # (n_arr,) TDB s
    tof_days: np.ndarray
    c3: np.ndarray  # km^2/s^2 at departure
    vinf_dep: np.ndarray  # km/s
    vinf_arr: np.ndarray  # km/s
    dla_deg: np.ndarray  # declination of the departure asymptote, ICRF (Earth equator), deg
    solve_s: float = 0.0
    marks: dict = field(default_factory=dict)  # name -> point dict (see point())

    def point(self, i: int, j: int, label: str = "") -> dict:
        """Plain numbers of the grid point (i, j)."""
        return {
            "label": label,
            "departure_tdb_s": float(self.t_dep[i]), "arrival_tdb_s": float(self.t_arr[j]),
            "departure_date": _iso_date(self.t_dep[i]), "arrival_date": _iso_date(self.t_arr[j]),
            "tof_days": float(self.tof_days[i, j]), "c3_km2_s2": float(self.c3[i, j]),
            "vinf_departure_km_s": float(self.vinf_dep[i, j]), "vinf_arrival_km_s": float(self.vinf_arr[i, j]),
            "dla_deg": float(self.dla_deg[i, j]),
        }

    def argmin(self, what: str = "c3", mask=None, label: str = "") -> dict:
        """The grid point minimising ``what`` ('c3', 'vinf_dep', 'vinf_arr', 'sum': departure +
        arrival v-infinity) inside the boolean ``mask`` (n_dep, n_arr)."""
        arrays = {"c3": self.c3, "vinf_dep": self.vinf_dep, "vinf_arr": self.vinf_arr,
                  "sum": self.vinf_dep + self.vinf_arr}
        if what not in arrays:
            raise InputError("what", what, ", ".join(arrays))
        a = np.where(np.isfinite(arrays[what]), arrays[what], np.inf)
        if mask is not None:
            a = np.where(mask, a, np.inf)
        if not np.isfinite(a).any():
            raise InputError("window", label or what, "a date range that contains feasible transfers")
        i, j = np.unravel_index(np.argmin(a), a.shape)
        return self.point(int(i), int(j), label)

    def mask_dates(self, dep_from=None, dep_to=None, arr_from=None, arr_to=None, tof_max_days=None):
        """Boolean mask of the grid points inside the given date limits (ISO UTC or TDB s)."""
        D, A = np.meshgrid(self.t_dep, self.t_arr, indexing="ij")
        m = np.ones(D.shape, bool)
        if dep_from is not None:
            m &= D >= _tdb(dep_from, "dep_from")
        if dep_to is not None:
            m &= D <= _tdb(dep_to, "dep_to")
        if arr_from is not None:
            m &= A >= _tdb(arr_from, "arr_from")
        if arr_to is not None:
            m &= A <= _tdb(arr_to, "arr_to")
        if tof_max_days is not None:
            m &= self.tof_days <= tof_max_days
        return m

    def figure(self, title: str | None = None):
        """Porkchop plot: departure C3 (outbound) or departure v-infinity (return) filled contours,
        arrival v-infinity and time-of-flight contour lines, marked points."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(9, 6.5))
        ax = fig.add_subplot(111)
        x = (self.t_dep - self.t_dep[0]) / DAY
        y = (self.t_arr - self.t_arr[0]) / DAY
        earth_dep = self.departure_body.startswith("EARTH")
        Z = self.c3 if earth_dep else self.vinf_dep
        zname = "C3 (km$^2$/s$^2$)" if earth_dep else "departure $v_\\infty$ (km/s)"
        zmin = np.nanmin(Z)
        levels = np.linspace(zmin, zmin * (3.0 if earth_dep else 2.0), 16)
        cf = ax.contourf(x, y, Z.T, levels=levels, cmap="viridis", extend="max")
        fig.colorbar(cf, ax=ax, label=zname)
        cs = ax.contour(x, y, self.vinf_arr.T, levels=np.arange(1.0, 8.01, 0.5), colors="w", linewidths=0.7)
        ax.clabel(cs, fmt="%.1f", fontsize=7)
        ct = ax.contour(x, y, self.tof_days.T, levels=np.arange(100, 800, 50), colors="k", linewidths=0.5,
                        linestyles="dashed")
        ax.clabel(ct, fmt="%d d", fontsize=7)
        styles = {"optimum": ("r", "*", 10), "mmx_like": ("orange", "o", 14)}
        for name in sorted(self.marks, key=lambda k: -styles.get(k, ("", "", 8))[2]):
            p = self.marks[name]
            c, m, ms = styles.get(name, ("m", "s", 8))
            ax.plot((p["departure_tdb_s"] - self.t_dep[0]) / DAY, (p["arrival_tdb_s"] - self.t_arr[0]) / DAY,
                    marker=m, color=c, ms=ms, mec="k", ls="none",
                    label=f"{name}: {p['departure_date']} -> {p['arrival_date']}, "
                          + (f"C3 {p['c3_km2_s2']:.2f}" if earth_dep else f"v∞dep {p['vinf_departure_km_s']:.2f}")
                          + f", v∞arr {p['vinf_arrival_km_s']:.2f}")
        ax.set_xlabel(f"departure, days after {_iso_date(self.t_dep[0])} (TDB)")
        ax.set_ylabel(f"arrival, days after {_iso_date(self.t_arr[0])} (TDB)")
        ax.set_title(title or f"{self.departure_body} -> {self.arrival_body}: white arrival v∞ (km/s), "
                              "dashed time of flight")
        if self.marks:
            ax.legend(loc="upper left", fontsize=8)
        return fig


def porkchop(departure: str, arrival: str, dep_start, dep_end, arr_start, arr_end, n_dep: int = 200,
             n_arr: int = 200, tof_min_days: float = 60.0, tof_max_days: float = 700.0, eph=None,
             parallel: bool = True) -> Porkchop:
    """Porkchop grid of single-revolution prograde Lambert transfers.

    ``departure``/``arrival``: ephemeris body names (e.g. "EARTH", "MARS"). Dates: ISO strings
    (UTC) or TDB seconds. ``n_dep`` x ``n_arr`` grid, equally spaced in time.
    """
    if eph is None:
        from ..ephemeris import default_ephemeris

        eph = default_ephemeris()
    for name, n in (("n_dep", n_dep), ("n_arr", n_arr)):
        if not isinstance(n, (int, np.integer)) or n < 2:
            raise InputError(name, n, "an integer >= 2")
    d0, d1 = _tdb(dep_start, "dep_start"), _tdb(dep_end, "dep_end")
    a0, a1 = _tdb(arr_start, "arr_start"), _tdb(arr_end, "arr_end")
    if not d1 > d0:
        raise InputError("dep_end", dep_end, f"after dep_start ({dep_start})")
    if not a1 > a0:
        raise InputError("arr_end", arr_end, f"after arr_start ({arr_start})")
    if not (tof_max_days > tof_min_days > 0):
        raise InputError("tof_min_days/tof_max_days", (tof_min_days, tof_max_days), "0 < tof_min < tof_max")
    if a1 - d0 < tof_min_days * DAY or a0 - d1 > tof_max_days * DAY:
        raise InputError("window", (dep_start, dep_end, arr_start, arr_end),
                         f"arrival dates {tof_min_days:g}..{tof_max_days:g} days after some departure date")
    td = np.linspace(d0, d1, n_dep)
    ta = np.linspace(a0, a1, n_arr)
    xd = np.asarray(eph.state(departure, "SUN", td))
    xa = np.asarray(eph.state(arrival, "SUN", ta))
    TOF = ta[None, :] - td[:, None]
    ok = (TOF >= tof_min_days * DAY) & (TOF <= tof_max_days * DAY)
    R1 = np.broadcast_to(xd[:, None, :3], (n_dep, n_arr, 3))[ok]
    R2 = np.broadcast_to(xa[None, :, :3], (n_dep, n_arr, 3))[ok]
    import time as _t

    t0 = _t.perf_counter()
    v1, v2, st = _lambert.solve(GM_SUN, R1, R2, TOF[ok], 0, "left", True, parallel=parallel)
    dt = _t.perf_counter() - t0
    vd = np.full((n_dep, n_arr, 3), np.nan)
    va = np.full((n_dep, n_arr, 3), np.nan)
    vd[ok] = v1 - np.broadcast_to(xd[:, None, 3:], (n_dep, n_arr, 3))[ok]
    va[ok] = v2 - np.broadcast_to(xa[None, :, 3:], (n_dep, n_arr, 3))[ok]
    vinf_d = np.linalg.norm(vd, axis=-1)
    vinf_a = np.linalg.norm(va, axis=-1)
    dla = np.degrees(np.arcsin(np.clip(vd[..., 2] / np.where(vinf_d > 0, vinf_d, np.nan), -1, 1)))
    tof_days = np.where(ok, TOF / DAY, np.nan)
    return Porkchop(departure.upper(), arrival.upper(), td, ta, tof_days, vinf_d ** 2, vinf_d, vinf_a, dla, dt)


def earth_mars_2026(n_dep: int = 200, n_arr: int = 200, eph=None) -> Porkchop:
    """Earth -> Mars, departures 2026-08-01..2027-01-31, arrivals 2027-03-01..2028-05-01 (UTC),
    with the optimum (minimum C3) and the MMX-like point (see the module docstring) marked."""
    pc = porkchop("EARTH", "MARS", "2026-08-01", "2027-01-31", "2027-03-01", "2028-05-01", n_dep, n_arr, eph=eph)
    pc.marks["optimum"] = pc.argmin("c3", label="minimum C3")
    m = pc.mask_dates("2026-10-01", "2026-10-31T23:59:59", None, "2027-12-31T23:59:59", tof_max_days=365.0)
    pc.marks["mmx_like"] = pc.argmin("c3", m, label="MMX-like: launch Oct 2026, arrival 2027, TOF <= 365 d")
    return pc


def mars_earth_2030(n_dep: int = 200, n_arr: int = 200, eph=None) -> Porkchop:
    """Mars -> Earth, departures 2030-01-01..2031-06-30, arrivals 2030-09-01..2032-03-31 (UTC),
    with the optimum (minimum departure v-infinity) and the MMX-like point (departure in 2030,
    arrival in JFY2031) marked."""
    pc = porkchop("MARS", "EARTH", "2030-01-01", "2031-06-30", "2030-09-01", "2032-03-31", n_dep, n_arr, eph=eph)
    pc.marks["optimum"] = pc.argmin("vinf_dep", label="minimum departure v-infinity")
    m = pc.mask_dates("2030-01-01", "2030-12-31T23:59:59", "2031-04-01", "2032-03-31T23:59:59")
    pc.marks["mmx_like"] = pc.argmin("vinf_dep", m, label="MMX-like: departure 2030, arrival JFY2031")
    return pc


def launch_windows(n: int = 200, eph=None) -> dict:
    """Entry point: both windows as plain numbers and matplotlib Figures.

    Returns {"outbound": {"optimum": {...}, "mmx_like": {...}}, "return": {...},
    "figures": {"porkchop_earth_mars_2026": Figure, "porkchop_mars_earth_2030": Figure},
    "grids": {"outbound": Porkchop, "return": Porkchop}}.
    """
    out = earth_mars_2026(n, n, eph)
    ret = mars_earth_2030(n, n, eph)
    return {
        "outbound": dict(out.marks),
        "return": dict(ret.marks),
        "figures": {"porkchop_earth_mars_2026": out.figure("Earth -> Mars 2026-2027 (DE421): fill C3, "
                                                           "white arrival v∞ km/s, dashed TOF"),
                    "porkchop_mars_earth_2030": ret.figure("Mars -> Earth 2030-2031 (DE421): fill departure v∞, "
                                                           "white arrival v∞ km/s, dashed TOF")},
        "grids": {"outbound": out, "return": ret},
    }
