"""CZML of a run, to watch MMX and Phobos around Mars, or MMX around Phobos, in Cesium (``czml3``).

What is written
---------------
A CZML document (a JSON list of packets): the preamble with a clock spanning the
run, an ``MMX`` entity (point, label, trailing path) and, by default, a ``PHOBOS``
entity (point, label, one-orbit path), each with time-tagged sampled positions
(``position.cartesian = [t, x, y, z, ...]``, metres, seconds after ``position.epoch``)
and Lagrange interpolation of degree 5.

Frame
-----
Cesium draws a globe in that globe's body-fixed frame; ``referenceFrame: FIXED``
positions are relative to the globe's centre in its fixed axes. We therefore write
Mars-centred **Mars body-fixed** positions (``MARS_FIXED``: the IAU rotation model of
Mars in pck00011, :mod:`mmxsim.frames`). To see them over Mars, create the Cesium
viewer with the Mars ellipsoid (``Cesium.Ellipsoid.MARS``, Cesium >= 1.133, or a
custom 3396.19 x 3376.20 km ellipsoid) and a Mars imagery layer; on Cesium's default
Earth globe the paths still show, in the right shape and size, around the Earth.
(``referenceFrame: INERTIAL`` is not used: Cesium rotates it with *Earth's*
orientation.)

Phobos-centred (``center="phobos"``)
------------------------------------
Cesium has no way to make a position relative to another moving entity (CZML reference frames
are only ``FIXED`` and ``INERTIAL`` of the globe), but the globe need not be a planet: with a
Phobos globe, ``FIXED`` positions are Phobos-centred body-fixed ones. So this option writes
MMX in ``PHOBOS_FIXED`` (the IAU 2015 Phobos rotation with forced libration, pck00011,
:mod:`mmxsim.frames`) and, instead of a Phobos entity, a ``MARS`` entity (Mars' centre seen from
Phobos, ~9,376 km away, a point and a label). Create the viewer with Phobos' triaxial ellipsoid
(``BODY401_RADII`` of pck00011: 13.0 x 11.4 x 9.1 km)::

    const viewer = new Cesium.Viewer("cesiumContainer", {
        globe: new Cesium.Globe(new Cesium.Ellipsoid(13000.0, 11400.0, 9100.0)),
        baseLayer: false, skyAtmosphere: false });
    viewer.dataSources.add(Cesium.CzmlDataSource.load("trajectory.czml"));

``frame="PHOBOS_HILL"`` writes the Hill frame instead (x from Mars through Phobos, z along
Phobos' orbital angular momentum): the quasi-satellite orbit's usual picture; Phobos is
locked to Mars, so its globe drawn in these axes is off its true attitude only by the
libration (about 1 deg).

Time
----
CZML times are UTC. The epoch is the UTC date of the first sample (astropy, leap
seconds of astropy-iers-data) and the offsets are TDB seconds from it; the TDB - UTC
difference changes by < 2 ms over a year when no leap second is inserted, far below
what a display resolves.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..results import Trajectory
from .oem import _ordered

__all__ = ["czml_document", "write_czml", "czml_positions", "CENTERS"]

#: the centres a CZML document can be drawn about (``center=``), with their default frame
CENTERS = {"mars": "MARS_FIXED", "phobos": "PHOBOS_FIXED"}
_PHOBOS_FRAMES = ("PHOBOS_FIXED", "PHOBOS_HILL")

_MMX_COLOR = [255, 200, 40, 255]
_PHOBOS_COLOR = [170, 150, 130, 255]
_MARS_COLOR = [210, 100, 60, 255]


_AXES = {"MARS_FIXED": "Mars-centred, Mars body-fixed IAU axes",
         "PHOBOS_FIXED": "Phobos-centred, Phobos body-fixed IAU axes (pck00011)",
         "PHOBOS_HILL": "Phobos-centred Hill axes: x from Mars through Phobos, z along its orbital angular momentum"}


def _utc(t_tdb: float) -> str:
    from ..time import Epoch

    return str(Epoch.from_tdb_seconds(float(t_tdb)).iso("utc", 3)) + "Z"


def _thin(t: np.ndarray, x: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    if t.size <= max_points:
        return t, x
    idx = np.unique(np.r_[np.linspace(0, t.size - 1, max_points).round().astype(int), t.size - 1])
    return t[idx], x[idx]


def czml_positions(t: np.ndarray, pos_km: np.ndarray, t0: float) -> list[float]:
    """Flattened CZML sampled positions ``[dt, x, y, z, ...]`` (s after ``t0``, metres)."""
    arr = np.column_stack([np.asarray(t, float) - t0, np.asarray(pos_km, float)[:, :3] * 1000.0])
    return arr.reshape(-1).tolist()


def czml_document(
    run,
    *,
    eph=None,
    orientation=None,
    name: str | None = None,
    phobos: bool = True,
    max_points: int = 5000,
    trail_s: float | None = None,
    center: str = "mars",
    frame: str | None = None,
):
    """A ``czml3.Document`` of a run (``RunResult``) or a Mars-centred ICRF ``Trajectory``.

    Parameters
    ----------
    run : RunResult or Trajectory
        ``run.trajectory`` (or the trajectory itself): Mars-centred ICRF, km.
    eph : ephemeris, optional
        For Phobos and the frame rotation (default: ``mmxsim.ephemeris.default_ephemeris()``).
    orientation : callable, optional
        Body orientation override (see :func:`mmxsim.frames.rotation_to`).
    name : str, optional
        Document name (default: the scenario name or ``mmxsim``).
    phobos : bool
        Add Phobos as a second entity, sampled at the same epochs.
    max_points : int
        At most this many samples per entity (evenly thinned, the last one kept).
    trail_s : float, optional
        Length of MMX's trailing path, s (default: one Phobos orbit, 27,554 s, or the run).
    center : {"mars", "phobos"}
        The globe the positions are drawn about: Mars (Mars-fixed axes, a Phobos entity) or Phobos
        (see the module docstring: a Phobos globe in Cesium, a Mars entity; ``phobos`` then adds Mars).
    frame : str, optional
        With ``center="phobos"``: ``PHOBOS_FIXED`` (default) or ``PHOBOS_HILL``.
    """
    from czml3 import Document, Packet
    from czml3.properties import Clock, Color, Label, Path as CzPath, Point, PolylineMaterial, Position, \
        SolidColorMaterial
    from czml3.types import TimeInterval

    from ..frames import from_mars_icrf

    traj = getattr(run, "trajectory", run)
    if not isinstance(traj, Trajectory):
        raise InputError("run", type(run).__name__, "a RunResult or a Trajectory")
    if str(traj.frame).upper() != "ICRF" or str(traj.center).upper() != "MARS":
        raise InputError("trajectory", f"{traj.center}/{traj.frame}", "a Mars-centred ICRF trajectory (MARS/ICRF)")
    c = str(center).lower()
    if c not in CENTERS:
        raise InputError("center", center, ", ".join(CENTERS))
    fr = CENTERS[c] if frame is None else str(frame).upper()
    if (c == "mars" and fr != "MARS_FIXED") or (c == "phobos" and fr not in _PHOBOS_FRAMES):
        raise InputError("frame", frame, "MARS_FIXED" if c == "mars" else ", ".join(_PHOBOS_FRAMES))
    if not (isinstance(max_points, int) and max_points >= 2):
        raise InputError("max_points", max_points, "an integer >= 2")
    t, states = _ordered(traj)
    if t.size < 2:
        raise InputError("trajectory", f"{t.size} sample", "at least 2 distinct epochs")
    t, states = _thin(t, states, max_points)
    if eph is None:
        from ..ephemeris import default_ephemeris

        eph = default_ephemeris()
    t0, t1 = float(t[0]), float(t[-1])
    start, stop = _utc(t0), _utc(t1)
    interval = TimeInterval(start=start, end=stop)
    mmx_fixed = from_mars_icrf(fr, t, states, eph, orientation)
    span = t1 - t0
    phobos_period = 27554.0  # s, 7.654 h; display length only (Phobos' orbit period)
    trail = float(trail_s) if trail_s is not None else min(span, phobos_period)
    doc_name = name or getattr(run, "scenario_name", None) or "mmxsim"

    def pos(xyz):
        return Position(epoch=start, referenceFrame="FIXED", interpolationAlgorithm="LAGRANGE",
                        interpolationDegree=5, cartesian=czml_positions(t, xyz, t0))

    packets = [
        Packet(id="document", name=str(doc_name), version="1.0",
               clock=Clock(interval=interval, currentTime=start, multiplier=60, range="LOOP_STOP",
                           step="SYSTEM_CLOCK_MULTIPLIER")),
        Packet(id="MMX", name="MMX", availability=interval,
               description="JAXA Martian Moons eXploration spacecraft, simulated by mmxsim "
                           f"({_AXES[fr]})",
               position=pos(mmx_fixed),
               point=Point(pixelSize=8, color=Color(rgba=_MMX_COLOR)),
               label=Label(text="MMX", pixelOffset={"cartesian2": [12, 0]}, fillColor=Color(rgba=_MMX_COLOR)),
               path=CzPath(leadTime=0, trailTime=trail, width=2, resolution=120,
                           material=PolylineMaterial(solidColor=SolidColorMaterial(color=Color(rgba=_MMX_COLOR))))),
    ]
    if phobos and c == "phobos":
        mars = from_mars_icrf(fr, t, np.zeros((t.size, 6)), eph, orientation)
        packets.append(
            Packet(id="MARS", name="Mars", availability=interval,
                   description=f"Mars' centre (mmxsim ephemeris), {_AXES[fr]}",
                   position=pos(mars),
                   point=Point(pixelSize=14, color=Color(rgba=_MARS_COLOR)),
                   label=Label(text="Mars", pixelOffset={"cartesian2": [12, 0]}, fillColor=Color(rgba=_MARS_COLOR))))
    elif phobos:
        ph = eph.state("PHOBOS", "MARS", t)
        ph_fixed = from_mars_icrf("MARS_FIXED", t, ph, eph, orientation)
        packets.append(
            Packet(id="PHOBOS", name="Phobos", availability=interval,
                   description="Phobos (mmxsim ephemeris), Mars-centred, Mars body-fixed IAU axes",
                   position=pos(ph_fixed),
                   point=Point(pixelSize=10, color=Color(rgba=_PHOBOS_COLOR)),
                   label=Label(text="Phobos", pixelOffset={"cartesian2": [12, 0]},
                               fillColor=Color(rgba=_PHOBOS_COLOR)),
                   path=CzPath(leadTime=0, trailTime=min(span, phobos_period), width=1, resolution=600,
                               material=PolylineMaterial(solidColor=SolidColorMaterial(color=Color(rgba=_PHOBOS_COLOR))))))
    return Document(packets=packets)


def write_czml(run, path, **kwargs) -> Path:
    """Write :func:`czml_document` of ``run`` to ``path`` (JSON) and return the path."""
    doc = czml_document(run, **kwargs)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = doc.to_json() if hasattr(doc, "to_json") else json.dumps(json.loads(doc.model_dump_json(exclude_none=True)))
    path.write_text(text, encoding="utf-8")
    return path
