"""Orekit (orekit-jpype) as an independent orbit-determination reference for the navigation tests.

This is a test helper, not part of mmxsim: the tests load it through ``tests/navigation/conftest.py``
(fixture ``orekit``), which skips cleanly where orekit-jpype or a Java VM is missing.

Offline set-up (``/work/shared/od-reference-notes.md``): the JVM is started once per process; the only
data Orekit needs is a leap-second table, written here as ``tai-utc.dat`` (USNO layout) from the
``DELTET/DELTA_AT`` block of the NAIF kernel ``naif0012.tls`` that mmxsim ships, and registered with
a ``DirectoryCrawler`` on Orekit's default data context. No EOP file: Orekit's ITRF is then the ideal
ITRF with UT1 = UTC, no polar motion, no nutation corrections (enough for a self-consistent case).

The reference case (both tools model it identically):

* central body: a point mass with mu = ``mmxsim.bodies.GM_MARS`` at the origin of Orekit's GCRF
  (taken as mmxsim's Mars-centred ICRF axes), optionally plus J2 (``MARS_ZONALS[2]``,
  ``MARS_REF_RADIUS``) about the IAU 2015 Mars pole frozen at mid-arc (mmxsim's ``MarsGravity``
  moves the pole with time: 8.3e-8 rad over the day; the two propagations then agree to 1.4e-6 km,
  measured in ``test_orekit_reference.py``);
* 2-3 ground stations defined by Orekit: ``GroundStation`` on a ``OneAxisEllipsoid`` with Mars'
  equatorial radius and flattening, fixed in Orekit's ITRF (so they turn with the *Earth's* rotation:
  a synthetic but exactly shared geometry) and centred at the origin (the central body);
* two-way range (km, one-way equivalent) and range-rate, elevation mask 10 deg, light time in the
  inertial frame, no media, no relativity;
* Orekit's ``RangeRate`` is instantaneous while mmxsim's Doppler is the mean range-rate over a count
  time ``Tc`` ending at the tag. Rows here carry the mmxsim convention (tag = end of the count);
  Orekit's ``RangeRate`` is dated at the middle of the interval (tag - Tc/2) and carries an
  ``EstimationModifier`` implemented in Python (:func:`integrated_doppler_modifier`) that replaces
  its value by ``(R(tag) - R(tag - Tc)) / Tc`` with R Orekit's own two-way ``Range``, and its partials
  accordingly. Without it the gap is up to 0.8 mm/s, eight times the 0.1 mm/s noise: Orekit's
  instantaneous two-way range-rate is not the derivative of its two-way range at the v/c level,
  and the averaging over Tc (third derivative x Tc^2/24) adds up to 0.1 mm/s at Tc = 10 s
  (1e-3 mm/s at 1 s). Measured in the tests.

Time: mmxsim epochs are TDB seconds past J2000 (two parts ``t + t_lo``). They map to Orekit
``AbsoluteDate``s through TT with astropy/ERFA's TDB - TT (what ``mmxsim.time`` uses), not through
Orekit's own two-term TDB model (1.1e-6 s from ERFA at the default epoch, more elsewhere). Orekit
integrates in TT seconds and mmxsim in TDB seconds: the rate difference is ~3e-10 except where
TDB - TT is at an extremum; the default epoch (2030-04-04, TDB - TT = +1.657 ms at its yearly
maximum) keeps the elapsed-time difference over one day below 1e-6 s.

Units: mmxsim's km, km/s at this module's interface; Orekit's SI inside.
"""

from __future__ import annotations

import os
import re
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from mmxsim.bodies import GM_MARS, MARS_REF_RADIUS, MARS_ZONALS, R_MARS_EQ, R_MARS_POL

_STATE = {"started": False, "data_dir": None, "jvm_seconds": None}

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def unavailable_reason() -> str | None:
    """Why Orekit cannot run here (None when it can): orekit-jpype missing or no Java VM."""
    try:
        import jpype
        import orekit_jpype  # noqa: F401
    except Exception as exc:  # ImportError, or a broken install
        return f"orekit-jpype is not importable ({exc})"
    try:
        jpype.getDefaultJVMPath()
    except Exception as exc:
        return f"no Java VM found for orekit-jpype ({exc})"
    return None


def tai_utc_text(lsk_path) -> str:
    """The ``DELTET/DELTA_AT`` list of a NAIF leap-second kernel as a USNO ``tai-utc.dat`` table."""
    import datetime

    text = open(lsk_path, encoding="ascii").read()
    start = text.index("DELTET/DELTA_AT")
    block = text[start:text.index(")", start)]
    lines = []
    for value, year, mon, day in re.findall(r"([\d.]+)\s*,\s*@(\d{4})-([A-Z]{3})-(\d+)", block):
        date = datetime.date(int(year), _MONTHS.index(mon) + 1, int(day))
        mjd = (date - datetime.date(1858, 11, 17)).days
        lines.append(f" {year} {mon} {int(day):2d} =JD {mjd + 2400000.5:.1f}  TAI-UTC= {float(value):11.7f}"
                     " S + (MJD - 41317.) X 0.0      S")
    if not lines:
        raise ValueError(f"no DELTET/DELTA_AT pairs found in {lsk_path}")
    return "\n".join(lines) + "\n"


def jvm_args() -> str:
    """JVM options for a JVM sharing the process with heyoka: ``-Xss`` at the main thread's stack limit.

    HotSpot started on the process's primordial thread (as JPype does) limits that thread's stack to
    ``-Xss`` (1 MB by default) and puts its guard pages there; LLVM compiling a large heyoka model
    on the main thread later recurses deeper and dies with SIGSEGV (seen: the variational-equation
    tests after any Orekit test, in one pytest session). With ``-Xss`` at the real limit (``ulimit -s``,
    64 MB when unlimited) the guard pages sit at the stack's true end."""
    import resource

    soft, _ = resource.getrlimit(resource.RLIMIT_STACK)
    mb = 64 if soft == resource.RLIM_INFINITY else max(8, soft // 2**20)
    return f"-Xss{mb}m"


def start(data_dir) -> float:
    """Start the JVM (once per process), write ``tai-utc.dat`` into ``data_dir`` and register it.

    Returns the seconds it took (JVM start + data registration) the first time, 0 afterwards."""
    if _STATE["started"]:
        return 0.0
    from mmxsim._data import data_path

    t0 = time.perf_counter()
    import jpype
    import orekit_jpype

    if not jpype.isJVMStarted():  # another test module may have started it (once per process)
        orekit_jpype.initVM(vmargs=jvm_args())
    from java.io import File
    from org.orekit.data import DataContext, DirectoryCrawler

    os.makedirs(data_dir, exist_ok=True)
    with open(os.path.join(data_dir, "tai-utc.dat"), "w", encoding="ascii") as f:
        f.write(tai_utc_text(data_path("naif0012.tls")))
    DataContext.getDefault().getDataProvidersManager().addProvider(DirectoryCrawler(File(str(data_dir))))
    from org.orekit.time import TimeScalesFactory

    TimeScalesFactory.getUTC()  # fails here, not later, if the table was not found
    _STATE.update(started=True, data_dir=str(data_dir), jvm_seconds=time.perf_counter() - t0)
    return _STATE["jvm_seconds"]


# ---------------------------------------------------------------------------------------------
# time: mmxsim TDB seconds (two parts) <-> Orekit AbsoluteDate

def tdb_minus_tt(t) -> np.ndarray:
    """TDB - TT in seconds at TDB seconds past J2000 ``t`` (astropy/ERFA, as ``mmxsim.time``)."""
    from astropy.time import Time

    from mmxsim.time import DUBIOUS_YEAR, configure_astropy

    configure_astropy()
    t = np.atleast_1d(np.asarray(t, dtype=float))
    days = np.floor(t / 86400.0)
    rem = t - days * 86400.0
    with warnings.catch_warnings():  # ERFA's "dubious year": UTC beyond the leap-second table
        warnings.filterwarnings("ignore", message=DUBIOUS_YEAR)
        tdb = Time(2451545.0 + days, rem / 86400.0, format="jd", scale="tdb")
        tt = tdb.tt
    return ((tdb.jd1 - tt.jd1) + (tdb.jd2 - tt.jd2)) * 86400.0


def to_date(t, t_lo=0.0):
    """Orekit ``AbsoluteDate`` of the TDB epoch ``t + t_lo`` (a scalar)."""
    from org.orekit.time import AbsoluteDate

    dt = float(tdb_minus_tt(t)[0])
    return AbsoluteDate.J2000_EPOCH.shiftedBy(float(t)).shiftedBy(float(t_lo) - dt)


def to_dates(t, t_lo=None) -> list:
    """Orekit dates of many TDB epochs (vectorised TDB - TT)."""
    from org.orekit.time import AbsoluteDate

    t = np.atleast_1d(np.asarray(t, dtype=float))
    t_lo = np.zeros_like(t) if t_lo is None else np.broadcast_to(np.asarray(t_lo, dtype=float), t.shape)
    dts = tdb_minus_tt(t)
    j2000 = AbsoluteDate.J2000_EPOCH
    return [j2000.shiftedBy(float(a)).shiftedBy(float(b - c)) for a, b, c in zip(t, t_lo, dts)]


def from_date(date) -> tuple[float, float]:
    """(t, t_lo): TDB seconds past J2000 of an Orekit date, in two parts (|t_lo| < 1 ms)."""
    from org.orekit.time import AbsoluteDate

    off = date.accurateDurationFrom(AbsoluteDate.J2000_EPOCH)  # TT seconds, exact (TimeOffset)
    sec = float(off.getSeconds())
    frac = float(off.getAttoSeconds()) * 1e-18
    tt = sec + frac
    dt = float(tdb_minus_tt(tt)[0])  # TDB - TT changes by < 1e-12 s over the 1.7 ms step
    hi = tt + dt
    lo = ((sec - hi) + frac) + dt  # exact enough: every term is small next to sec
    return hi, lo


# ---------------------------------------------------------------------------------------------
# the reference case

@dataclass(frozen=True)
class Site:
    """A ground station of the reference case: geodetic latitude/longitude (deg), altitude (km)."""

    name: str
    lat_deg: float
    lon_deg: float
    alt_km: float = 1.0


#: Three sites at the DSN complexes' latitudes and longitudes (on a Mars-sized ellipsoid).
DEFAULT_SITES = (Site("GDS", 35.4, -116.9), Site("MDR", 40.4, -4.2), Site("CBR", -35.4, 148.98))


def default_epoch() -> float:
    """2030-04-04T00:00:00 UTC as TDB seconds past J2000 (TDB - TT at its yearly maximum)."""
    from mmxsim.time import tdb_seconds

    return float(tdb_seconds("2030-04-04T00:00:00", scale="utc"))


def kepler_state(gm, a, e, i_deg, raan_deg, argp_deg, nu_deg) -> np.ndarray:
    """Cartesian state (km, km/s) of Keplerian elements (a in km, angles in deg)."""
    i, O, w, nu = np.radians([i_deg, raan_deg, argp_deg, nu_deg])
    p = a * (1 - e * e)
    r = p / (1 + e * np.cos(nu))
    rp = np.array([r * np.cos(nu), r * np.sin(nu), 0.0])
    vp = np.sqrt(gm / p) * np.array([-np.sin(nu), e + np.cos(nu), 0.0])
    cO, sO, ci, si, cw, sw = np.cos(O), np.sin(O), np.cos(i), np.sin(i), np.cos(w), np.sin(w)
    R = np.array([[cO * cw - sO * sw * ci, -cO * sw - sO * cw * ci, sO * si],
                  [sO * cw + cO * sw * ci, -sO * sw + cO * cw * ci, -cO * si],
                  [sw * si, cw * si, ci]])
    return np.concatenate([R @ rp, R @ vp])


@dataclass
class ReferenceCase:
    """The shared OD case (see the module doc). Units km, s; epochs TDB seconds past J2000."""

    t0: float = field(default_factory=default_epoch)
    duration: float = 86400.0
    x0: np.ndarray = field(default_factory=lambda: kepler_state(GM_MARS, 12000.0, 0.1, 40.0, 30.0, 60.0, 0.0))
    gm: float = GM_MARS  # km^3/s^2, NAIF gm_de440.tpc BODY499_GM (mmxsim.bodies)
    j2: bool = False
    sites: tuple = DEFAULT_SITES
    body_radius: float = R_MARS_EQ  # km, pck00011 BODY499_RADII (mmxsim.bodies)
    body_flattening: float = (R_MARS_EQ - R_MARS_POL) / R_MARS_EQ
    elevation_mask_deg: float = 10.0
    step: float = 120.0  # s between measurements of one type at one station
    count_time: float = 1.0  # s, Doppler count time of the mmxsim rows
    sigma_range: float = 1e-3  # km (ESA ~1 m, nav-facts.md §3)
    sigma_rate: float = 1e-7  # km/s (0.1 mm/s, nav-facts.md §3)

    @property
    def t1(self) -> float:
        return self.t0 + self.duration

    def mars_pole(self, t=None) -> np.ndarray:
        """IAU 2015 Mars pole (unit, ICRF) at ``t`` (default mid-arc), as mmxsim's MarsGravity uses."""
        from mmxsim.bodies.rotation import iau_rotation

        t = 0.5 * (self.t0 + self.t1) if t is None else t
        return np.asarray(iau_rotation(499).matrix(t))[..., 2, :]


@dataclass
class Row:
    """One observation in mmxsim's conventions (km, km/s; Doppler tagged at the count end)."""

    kind: str  # "range" or "doppler"
    station: str
    t: float
    t_lo: float
    value: float
    sigma: float
    count_time: float = 0.0


class Reference:
    """Orekit's side of a :class:`ReferenceCase`. Call :func:`start` first."""

    def __init__(self, case: ReferenceCase):
        from org.orekit.bodies import GeodeticPoint, OneAxisEllipsoid
        from org.orekit.estimation.measurements import GroundStation
        from org.orekit.frames import FramesFactory, TopocentricFrame
        from org.orekit.utils import IERSConventions

        self.case = case
        self.gcrf = FramesFactory.getGCRF()
        self.itrf = FramesFactory.getITRF(IERSConventions.IERS_2010, True)
        self.body = OneAxisEllipsoid(case.body_radius * 1e3, case.body_flattening, self.itrf)
        self.stations = {}
        self.topo = {}
        for s in case.sites:
            topo = TopocentricFrame(self.body, GeodeticPoint(np.radians(s.lat_deg), np.radians(s.lon_deg),
                                                             s.alt_km * 1e3), s.name)
            self.topo[s.name] = topo
            self.stations[s.name] = GroundStation(topo)
        self.pole_frame = self._pole_frame(case.mars_pole()) if case.j2 else None
        from org.orekit.estimation.measurements import ObservableSatellite

        self.sat = ObservableSatellite(0)  # the one spacecraft (propagator index 0)
        self._modifiers = {}

    # -- frames and forces -----------------------------------------------------------------
    def _pole_frame(self, pole):
        """A GCRF-fixed frame whose z axis is ``pole`` (for J2OnlyPerturbation)."""
        from org.hipparchus.geometry.euclidean.threed import Rotation, Vector3D
        from org.orekit.frames import Frame, Transform
        from org.orekit.time import AbsoluteDate

        z = np.asarray(pole, float) / np.linalg.norm(pole)
        x = np.cross([0.0, 0.0, 1.0], z)
        x /= np.linalg.norm(x)
        # rotation taking the frame's axes (x, y, z) in GCRF onto the canonical axes
        rot = Rotation(Vector3D(*x), Vector3D(*z), Vector3D.PLUS_I, Vector3D.PLUS_K)
        frame = Frame(self.gcrf, Transform(AbsoluteDate.J2000_EPOCH, rot), "MARS_POLE_MID_ARC", True)
        got = np.array(self.gcrf.getTransformTo(frame, AbsoluteDate.J2000_EPOCH)
                       .transformVector(Vector3D(*z)).toArray())
        if not np.allclose(got, [0, 0, 1], atol=1e-14):
            raise RuntimeError(f"pole frame built wrongly: pole maps to {got}")
        return frame

    def _orbit(self, x0, t0=None):
        from org.hipparchus.geometry.euclidean.threed import Vector3D
        from org.orekit.orbits import CartesianOrbit
        from org.orekit.utils import PVCoordinates

        x0 = np.asarray(x0, float) * 1e3
        t0 = self.case.t0 if t0 is None else t0
        pv = PVCoordinates(Vector3D(*x0[:3]), Vector3D(*x0[3:]))
        return CartesianOrbit(pv, self.gcrf, to_date(t0), self.case.gm * 1e9)

    def builder(self, x0, *, position_scale=1.0, tol=1e-6):
        """A NumericalPropagatorBuilder (Dormand-Prince 8(5,3), position tolerance ``tol`` m)."""
        from org.orekit.forces.gravity import J2OnlyPerturbation
        from org.orekit.orbits import PositionAngleType
        from org.orekit.propagation.conversion import (DormandPrince853IntegratorBuilder,
                                                        NumericalPropagatorBuilder)

        integ = DormandPrince853IntegratorBuilder(1e-3, 600.0, tol)
        b = NumericalPropagatorBuilder(self._orbit(x0), integ, PositionAngleType.TRUE, position_scale)
        if self.case.j2:
            # J2 unnormalised = -sqrt(5) Cbar20 (MRO120F, mmxsim.bodies.MARS_ZONALS), R in m
            b.addForceModel(J2OnlyPerturbation(self.case.gm * 1e9, MARS_REF_RADIUS * 1e3,
                                               float(MARS_ZONALS[2]), self.pole_frame))
        return b

    def propagate(self, x0, t, t_lo=None) -> np.ndarray:
        """States (N,6) km, km/s in GCRF at TDB epochs ``t`` from ``x0`` at ``case.t0``."""
        prop = self.builder(x0).buildPropagator(self.builder(x0).getSelectedNormalizedParameters())
        out = []
        for d in to_dates(t, t_lo):
            pv = prop.propagate(d).getPVCoordinates(self.gcrf)
            out.append(np.concatenate([pv.getPosition().toArray(), pv.getVelocity().toArray()]))
        return np.array(out) * 1e-3

    # -- stations ---------------------------------------------------------------------------
    def station_state(self, name, t, t_lo=None) -> np.ndarray:
        """Station position and velocity (N,6) km, km/s in GCRF at TDB epochs (what Orekit uses)."""
        frame = self.stations[name].getBaseFrame()
        out = []
        for d in to_dates(t, t_lo):
            pv = frame.getPVCoordinates(d, self.gcrf)
            out.append(np.concatenate([pv.getPosition().toArray(), pv.getVelocity().toArray()]))
        return np.array(out) * 1e-3

    def station_zenith(self, name, t, t_lo=None) -> np.ndarray:
        """Unit geodetic zenith (N,3) of station ``name`` in GCRF at TDB epochs."""
        topo = self.topo[name]
        out = []
        for d in to_dates(t, t_lo):
            out.append(self.itrf.getStaticTransformTo(self.gcrf, d).transformVector(topo.getZenith()).toArray())
        return np.array(out)

    def station_sampler(self, name, t0=None, t1=None, step=60.0) -> "StationSamples":
        """Station ``name`` sampled from Orekit every ``step`` s over [t0, t1] (default: the case
        span plus 10 min each side) for mmxsim: a callable ``(t, t_lo=None) -> (N,6)``."""
        t0 = self.case.t0 - 600.0 if t0 is None else t0
        t1 = self.case.t1 + 600.0 if t1 is None else t1
        n = int(np.ceil((t1 - t0) / step)) + 1
        tt = t0 + step * np.arange(n)
        return StationSamples(name, t0, tt - t0, self.station_state(name, tt), self.station_zenith(name, tt))

    def elevation(self, name, x_sc, t, t_lo=None) -> np.ndarray:
        """Elevation (rad) of GCRF positions ``x_sc`` (N,3 km) seen from station ``name``."""
        from org.hipparchus.geometry.euclidean.threed import Vector3D

        topo = self.topo[name]
        return np.array([topo.getElevation(Vector3D(*(np.asarray(p, float) * 1e3)), self.gcrf, d)
                         for p, d in zip(np.atleast_2d(x_sc)[:, :3], to_dates(t, t_lo))])

    # -- measurements -----------------------------------------------------------------------
    def measurement(self, row: Row, sat=None, *, integrated=True):
        """Orekit measurement of a :class:`Row`.

        Range: Orekit's two-way ``Range`` at the tag. Doppler: a ``RangeRate`` at the middle of the
        count interval; with ``integrated`` (default) it carries an :func:`integrated_doppler_modifier`
        that replaces Orekit's instantaneous value by the difference of Orekit's two-way ranges at
        the ends of the count interval over Tc (mmxsim's definition); without it the value is
        Orekit's instantaneous range-rate (which differs from the derivative of its own two-way range
        by ~1 mm/s here: the v/c factors, see the tests)."""
        from org.orekit.estimation.measurements import Range, RangeRate

        sat = self.sat if sat is None else sat
        st = self.stations[row.station]
        if row.kind == "range":
            return Range(st, True, to_date(row.t, row.t_lo), row.value * 1e3, row.sigma * 1e3, 1.0, sat)
        if row.kind == "doppler":
            d = to_date(row.t, row.t_lo - 0.5 * row.count_time)
            m = RangeRate(st, d, row.value * 1e3, row.sigma * 1e3, 1.0, True, sat)
            if integrated:
                m.addModifier(self._modifier(row.count_time))
            return m
        raise ValueError(f"unsupported kind {row.kind!r}")

    def _modifier(self, tc):
        """The integrated-Doppler modifier for count time ``tc`` (one per count time, shared)."""
        if float(tc) not in self._modifiers:
            self._modifiers[float(tc)] = integrated_doppler_modifier(self.case.gm * 1e9, tc, self.sat)
        return self._modifiers[float(tc)]

    def row(self, meas) -> Row:
        """The mmxsim-convention :class:`Row` of an Orekit Range/RangeRate."""
        name = meas.getClass().getSimpleName()
        station = str(meas.getStation().getBaseFrame().getName())
        t, t_lo = from_date(meas.getDate())
        value = float(meas.getObservedValue()[0]) * 1e-3
        sigma = float(meas.getTheoreticalStandardDeviation()[0]) * 1e-3
        if name == "Range":
            return Row("range", station, t, t_lo, value, sigma)
        tc = self.case.count_time
        return Row("doppler", station, *_two_sum(t, t_lo + 0.5 * tc), value, sigma, tc)

    def theoretical(self, rows, x0, *, integrated=True) -> np.ndarray:
        """Orekit's computed values (km, km/s) of ``rows`` for the trajectory from ``x0``."""
        b = self.builder(x0)
        prop = b.buildPropagator(b.getSelectedNormalizedParameters())
        meas = [self.measurement(r, integrated=integrated) for r in rows]
        order = sorted(range(len(meas)), key=lambda i: meas[i].getDate().durationFrom(meas[0].getDate()))
        out = np.empty(len(rows))
        for i in order:
            m = meas[i]
            st = prop.propagate(m.getDate())
            out[i] = float(m.estimateWithoutDerivatives([st]).getEstimatedValue()[0]) * 1e-3
        return out

    def _rate_builder(self, noise, st, sat, integrated):
        from org.orekit.estimation.measurements.generation import RangeRateBuilder

        b = RangeRateBuilder(noise, st, True, self.case.sigma_rate * 1e3, 1.0, sat)
        if integrated:
            b.addModifier(self._modifier(self.case.count_time))
        return b

    def generate(self, x0, *, seed=None, integrated=True, margin=60.0) -> list[Row]:
        """Simulated range and Doppler from every station above the mask every ``case.step`` s.

        Doppler is integrated over ``case.count_time`` (the mmxsim definition, tag at the count's end)
        unless ``integrated`` is False (Orekit's instantaneous range-rate, tagged Tc/2 later).

        Noise-free when ``seed`` is None, else Gaussian with ``case.sigma_*`` (Hipparchus
        Well19937a(seed)). Measurements lie in [t0 + margin, t1 - margin] so that every light path
        and count interval stays inside the arc. Returns rows in mmxsim's conventions, date-ordered."""
        from org.hipparchus.linear import MatrixUtils
        from org.hipparchus.random import CorrelatedRandomVectorGenerator, GaussianRandomGenerator, Well19937a
        from org.orekit.estimation.measurements.generation import (EventBasedScheduler, GatheringSubscriber,
                                                                   Generator, RangeBuilder, SignSemantic)
        from org.orekit.propagation.events import ElevationDetector
        from org.orekit.propagation.events.handlers import ContinueOnEvent
        from org.orekit.time import FixedStepSelector, TimeScalesFactory

        case = self.case
        b = self.builder(x0)
        gen = Generator()
        sat = gen.addPropagator(b.buildPropagator(b.getSelectedNormalizedParameters()))
        rng = None if seed is None else Well19937a(int(seed))

        def noise(sigma):
            if rng is None:
                return None
            cov = MatrixUtils.createRealDiagonalMatrix([(sigma * 1e3) ** 2])
            return CorrelatedRandomVectorGenerator(cov, 1e-10, GaussianRandomGenerator(rng))

        utc = TimeScalesFactory.getUTC()
        for name, st in self.stations.items():
            for kind in ("range", "doppler"):
                det = (ElevationDetector(self.topo[name]).withConstantElevation(np.radians(case.elevation_mask_deg))
                       .withHandler(ContinueOnEvent()))
                sched = EventBasedScheduler(
                    RangeBuilder(noise(case.sigma_range), st, True, case.sigma_range * 1e3, 1.0, sat)
                    if kind == "range" else
                    self._rate_builder(noise(case.sigma_rate), st, sat, integrated),
                    FixedStepSelector(float(case.step), utc), gen.getPropagator(sat), det,
                    SignSemantic.FEASIBLE_MEASUREMENT_WHEN_POSITIVE)
                gen.addScheduler(sched)
        sub = GatheringSubscriber()
        gen.addSubscriber(sub)
        gen.generate(to_date(case.t0 + margin), to_date(case.t1 - margin))
        return [self.row(m.getObservedMeasurement() if hasattr(m, "getObservedMeasurement") else m)
                for m in sub.getGeneratedMeasurements()]

    def estimate(self, rows, guess, *, max_iterations=25, threshold=1e-3) -> dict:
        """Batch least squares (Gauss-Newton with QR) on ``rows`` from ``guess`` (km, km/s at t0).

        Returns x (6,) km, km/s, cov (6,6) km/s units, sigma (6,), iterations, evaluations, rms
        (weighted), seconds (estimation wall time)."""
        from org.hipparchus.linear import QRDecomposer
        from org.hipparchus.optim.nonlinear.vector.leastsquares import GaussNewtonOptimizer
        from org.orekit.estimation.leastsquares import BatchLSEstimator
        from org.orekit.orbits import OrbitType

        b = self.builder(guess)
        est = BatchLSEstimator(GaussNewtonOptimizer(QRDecomposer(1e-11), False), b)
        est.setParametersConvergenceThreshold(float(threshold))
        est.setMaxIterations(int(max_iterations))
        est.setMaxEvaluations(int(2 * max_iterations))
        sat = self.sat
        for r in rows:
            est.addMeasurement(self.measurement(r, sat))
        w0 = time.perf_counter()
        props = est.estimate()
        seconds = time.perf_counter() - w0
        orbit = props[0].getInitialState().getOrbit()
        if orbit.getType() != OrbitType.CARTESIAN:  # pragma: no cover - the builder keeps Cartesian
            raise RuntimeError("expected Cartesian orbital drivers")
        pv = orbit.getPVCoordinates(self.gcrf)
        x = np.concatenate([pv.getPosition().toArray(), pv.getVelocity().toArray()]) * 1e-3
        cov = np.array([list(r) for r in est.getPhysicalCovariances(1e-12).getData()])[:6, :6] * 1e-6
        return {"x": x, "cov": cov, "sigma": np.sqrt(np.diag(cov)), "iterations": int(est.getIterationsCount()),
                "evaluations": int(est.getEvaluationsCount()), "rms": float(est.getOptimum().getRMS()),
                "seconds": seconds}

    # -- CCSDS TDM ---------------------------------------------------------------------------
    def write_tdm(self, rows, *, spacecraft="MMX", time_system="UTC") -> str:
        """A CCSDS TDM 2.0 (KVN) written by Orekit's ``TdmWriter``: one segment per station and kind.

        Range in km (RANGE_UNITS = km), DOPPLER_INTEGRATED in km/s (Orekit's range-rate sign:
        positive when the range grows), tagged at the end of the count (INTEGRATION_REF = END)."""
        from java.lang import StringBuilder
        from java.util import ArrayList
        from org.orekit.data import DataContext
        from org.orekit.files.ccsds.definitions import TimeSystem
        from org.orekit.files.ccsds.ndm import WriterBuilder
        from org.orekit.files.ccsds.ndm.tdm import (IntegrationReference, Observation, ObservationType,
                                                     RangeUnits, TdmHeader, TdmMetadata, TimetagReference,
                                                     TrackingMode)
        from org.orekit.files.ccsds.section import Segment
        from org.orekit.files.ccsds.ndm.tdm import ObservationsBlock, Tdm
        from org.orekit.files.ccsds.utils.generation import KvnGenerator

        ts = getattr(TimeSystem, time_system)
        header = TdmHeader()
        header.setFormatVersion(2.0)
        header.setOriginator("OREKIT-TEST")
        header.setCreationDate(to_date(self.case.t0))
        header.setMessageId("OREKIT-REFERENCE")
        segments = ArrayList()
        groups = {}
        for r in rows:
            groups.setdefault((r.station, r.kind, r.count_time), []).append(r)
        for (station, kind, tc), rs in groups.items():
            rs = sorted(rs, key=lambda r: (r.t, r.t_lo))
            md = TdmMetadata()
            md.setTimeSystem(ts)
            md.setStartTime(to_date(rs[0].t, rs[0].t_lo))
            md.setStopTime(to_date(rs[-1].t, rs[-1].t_lo))
            md.addParticipant(1, station)
            md.addParticipant(2, spacecraft)
            md.setMode(TrackingMode.SEQUENTIAL)
            md.setPath([1, 2, 1])
            md.setTimetagRef(TimetagReference.RECEIVE)
            if kind == "range":
                md.setRangeUnits(RangeUnits.km)
            else:
                md.setIntegrationInterval(float(tc))
                md.setIntegrationRef(IntegrationReference.END)
            md.validate(2.0)
            block = ObservationsBlock()
            otype = ObservationType.RANGE if kind == "range" else ObservationType.DOPPLER_INTEGRATED
            for r in rs:
                block.addObservation(Observation(otype, to_date(r.t, r.t_lo), r.value * 1e3))
            segments.add(Segment(md, block))
        from org.orekit.utils import IERSConventions

        tdm = Tdm(header, segments, IERSConventions.IERS_2010, DataContext.getDefault())
        out = StringBuilder()
        gen = KvnGenerator(out, 25, "reference.tdm", 86400.0, 0)
        WriterBuilder().buildTdmWriter().writeMessage(gen, tdm)
        gen.close()
        return str(out.toString())

    def read_tdm(self, path) -> list[Row]:
        """Rows from a TDM file parsed by Orekit's ``TdmParser`` (values in km, km/s; sigma NaN)."""
        from org.orekit.data import DataSource
        from org.orekit.files.ccsds.ndm import ParserBuilder

        tdm = ParserBuilder().buildTdmParser().parseMessage(DataSource(str(path)))
        rows = []
        for seg in tdm.getSegments():
            md = seg.getMetadata()
            parts = dict(md.getParticipants())
            station = str(parts[1])
            tc = md.getIntegrationInterval()
            for obs in seg.getData().getObservations():
                typ = str(obs.getType().name())
                t, t_lo = from_date(obs.getEpoch())
                if typ == "RANGE":
                    rows.append(Row("range", station, t, t_lo, float(obs.getMeasurement()) * 1e-3, np.nan))
                elif typ == "DOPPLER_INTEGRATED":
                    rows.append(Row("doppler", station, t, t_lo, float(obs.getMeasurement()) * 1e-3, np.nan,
                                    float(tc)))
        return rows


class StationSamples:
    """A station's GCRF state sampled from Orekit, interpolated for mmxsim's ``FunctionParticipant``.

    Quintic B-spline through the sampled positions; the velocity is its derivative (consistent with
    the positions). ``__call__(t, t_lo=None) -> (N,6)`` km, km/s at TDB epochs ``t + t_lo``: the spline
    is evaluated at ``t - t0`` (exact in float64 near t0) and the position corrected by v * t_lo.
    ``up(t)`` gives the interpolated unit zenith. The interpolation error (60 s samples) is measured
    in the tests against Orekit itself (~2e-10 km, Orekit's own noise level)."""

    def __init__(self, name, t0, dt, states, zenith):
        from scipy.interpolate import make_interp_spline

        self.name = name
        self.t0 = float(t0)
        self.span = (float(t0 + dt[0]), float(t0 + dt[-1]))
        self._pos = make_interp_spline(dt, states[:, :3], k=5, axis=0)
        self._vel = self._pos.derivative(1)
        self._up = make_interp_spline(dt, zenith, k=5, axis=0)

    def _x(self, t):
        t = np.atleast_1d(np.asarray(t, dtype=float))
        if np.any(t < self.span[0]) or np.any(t > self.span[1]):
            raise ValueError(f"station {self.name}: epochs outside the sampled span {self.span}")
        return t - self.t0

    def __call__(self, t, t_lo=None) -> np.ndarray:
        x = self._x(t)
        out = np.concatenate([self._pos(x), self._vel(x)], axis=1)
        if t_lo is not None:
            out[:, :3] += out[:, 3:] * np.broadcast_to(np.asarray(t_lo, float), x.shape)[:, None]
        return out

    def up(self, t) -> np.ndarray:
        u = self._up(self._x(t))
        return u / np.linalg.norm(u, axis=1, keepdims=True)


_MODIFIER_CLASS = []


def integrated_doppler_modifier(gm: float, tc: float, sat):
    """An Orekit ``EstimationModifier`` (implemented in Python) making a ``RangeRate`` dated at the
    middle of a count interval ``tc`` an integrated two-way Doppler: value = (R(t) - R(t - Tc)) / Tc
    with R Orekit's own two-way ``Range`` (light time in the inertial frame) at the interval's end
    ``t`` (the mmxsim tag) and start. ``gm`` in m^3/s^2 (for the partials' transition matrix).

    Each range is evaluated from the spacecraft state shifted *exactly* (Orekit's orbit
    ``shiftedBy``: Keplerian plus the non-Keplerian acceleration, quadratic) from the transit state
    of the RangeRate evaluation to the range's own epoch, so that Orekit's internal Taylor shift
    only spans the light time. State partials are chained to the measurement-date state with the
    two-body transition over dt (I + G dt^2/2, I dt; G dt, I), G the point-mass gravity gradient:
    its truncation (~(mu/r^3 dt^2)^2 < 1e-13 for dt <= 30 s here) is far below what matters."""
    if not _MODIFIER_CLASS:
        from java.util import ArrayList
        from jpype import JImplements, JOverride

        @JImplements("org.orekit.estimation.measurements.EstimationModifier")
        class _IntegratedDoppler:
            def __init__(self, gm, tc, sat):
                self.gm = float(gm)
                self.tc = float(tc)
                self.sat = sat
                self.drivers = ArrayList()
                self.ranges = {}  # (station, mid date) -> the Orekit Ranges at the interval's ends

            def _ranges(self, measurement):
                from org.orekit.estimation.measurements import Range

                mid = measurement.getDate()
                st = measurement.getStation()
                key = (str(st.getBaseFrame().getName()), str(mid))
                if key not in self.ranges:
                    self.ranges[key] = (
                        mid, Range(st, True, mid.shiftedBy(0.5 * self.tc), 0.0, 1.0, 1.0, self.sat),
                        Range(st, True, mid.shiftedBy(-0.5 * self.tc), 0.0, 1.0, 1.0, self.sat))
                return self.ranges[key]

            @JOverride
            def getEffectName(self):
                return "integrated two-way Doppler (differenced Orekit two-way range)"

            @JOverride
            def getParametersDrivers(self):
                return self.drivers

            def _evaluate(self, estimated, derivatives):
                mid, end, beg = self._ranges(estimated.getObservedMeasurement())
                transit = estimated.getStates()[0]
                value, grad = 0.0, np.zeros(6)
                for rng, sign in ((end, 1.0), (beg, -1.0)):
                    s = transit.shiftedBy(rng.getDate().durationFrom(transit.getDate()))
                    if derivatives:
                        e = rng.estimate(0, 0, [s])
                        dt = rng.getDate().durationFrom(mid)
                        grad += sign * (np.array(e.getStateDerivatives(0)[0]) @ self._phi(s, dt))
                    else:
                        e = rng.estimateWithoutDerivatives(0, 0, [s])
                    value += sign * float(e.getEstimatedValue()[0])
                estimated.setEstimatedValue([value / self.tc])
                return grad / self.tc

            def _phi(self, s, dt):
                r = np.array(s.getPVCoordinates().getPosition().toArray())
                rn = np.linalg.norm(r)
                u = r / rn
                G = self.gm / rn ** 3 * (3 * np.outer(u, u) - np.eye(3))
                phi = np.eye(6)
                phi[:3, :3] += 0.5 * G * dt * dt
                phi[:3, 3:] = np.eye(3) * dt
                phi[3:, :3] = G * dt
                phi[3:, 3:] += 0.5 * G * dt * dt
                return phi

            @JOverride
            def modifyWithoutDerivatives(self, estimated):
                self._evaluate(estimated, False)

            @JOverride
            def modify(self, estimated):
                grad = self._evaluate(estimated, True)
                estimated.setStateDerivatives(0, [list(map(float, grad))])

        _MODIFIER_CLASS.append(_IntegratedDoppler)
    return _MODIFIER_CLASS[0](gm, tc, sat)


def write_reference_files(folder, *, step=1800.0, seed=5) -> tuple:
    """Write ``orekit_reference.tdm`` (Orekit's TdmWriter, UTC) and ``orekit_reference_values.csv``
    (what Orekit wrote: station, kind, t, t_lo, value km or km/s, count_time; floats as repr) for the
    reference case with noise (Hipparchus seed ``seed``). The committed copies in
    ``tests/navigation/data`` let mmxsim's TDM reader be tested on a file another tool wrote without
    Java; regenerate with ``python tests/navigation/orekit_support.py``."""
    ref = Reference(ReferenceCase(step=step, count_time=10.0))
    rows = sorted(ref.generate(ref.case.x0, seed=seed), key=lambda r: (r.station, r.kind, r.t + r.t_lo))
    os.makedirs(folder, exist_ok=True)
    tdm = os.path.join(folder, "orekit_reference.tdm")
    csv = os.path.join(folder, "orekit_reference_values.csv")
    with open(tdm, "w", encoding="ascii") as f:
        f.write(ref.write_tdm(rows))
    with open(csv, "w", encoding="ascii") as f:
        f.write("# written by tests/navigation/orekit_support.py:write_reference_files (Orekit "
                f"{_orekit_version()}); epochs TDB s past J2000 = t + t_lo\n")
        f.write("station,kind,t,t_lo,value,count_time\n")
        for r in rows:
            f.write(f"{r.station},{r.kind},{r.t!r},{r.t_lo!r},{r.value!r},{r.count_time!r}\n")
    return tdm, csv


def _orekit_version() -> str:
    try:
        import importlib.metadata as md

        return "orekit-jpype " + md.version("orekit-jpype")
    except Exception:  # pragma: no cover
        return "orekit-jpype (version unknown)"


def _two_sum(a, b):
    """(hi, lo) with hi = fl(a + b) and hi + lo = a + b exactly (Knuth's TwoSum)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


if __name__ == "__main__":  # regenerate tests/navigation/data/orekit_reference.*
    import tempfile

    start(tempfile.mkdtemp(prefix="orekit-data-"))
    print(write_reference_files(os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")))
