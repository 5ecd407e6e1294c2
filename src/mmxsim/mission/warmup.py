"""A first run without the wait: numba's kernels and heyoka's integrators compiled in a background
process (issue 19 item 4).

mmxsim's numba kernels are compiled on first use and kept in numba's disk cache (``cache=True``), and
its heyoka Taylor integrators are JIT-compiled on first use and kept in heyoka's disk cache
(``$XDG_CACHE_HOME/heyoka``, keyed on the generated LLVM module), so the first run after ``pip install``
pays every compilation, one after another, in the run's own process, while the machine's other cores
wait. :func:`start` (called by ``mmxsim run`` before the scenario is read) starts, when a cache looks
cold, a second Python process at low priority (``nice`` 10, in the run's session: see below) that
compiles the kernels and builds the integrators a run of the reference mission uses, each list in the
order that run first needs them (the integrators in a thread of their own: heyoka compiles without
holding the GIL), into the same disk caches. The integrators the run's set-up needs within seconds of
its start (the Hill problem's and the full model's of the initial-state correction, the propagation's),
which the background process, still starting, would deliver too late, are built instead in threads of
the run's own process (the Hill ones in one, each of the others in its own), through the uncached
compile functions behind the run's builders (``orbits.qso.compile_hill``,
``orbits.handoff.compile_flow``, ``dynamics.propagator._compile``): only heyoka's caches are filled, and
the run's own builder call then finds the module in heyoka's in-memory cache (a builder that comes while
that build is still under way waits for it, ``dynamics.propagator.PREBUILDS``, instead of compiling the
same module alongside). The run itself is unchanged: each kernel it calls and each integrator it builds
is loaded from a cache if it has been written by then, else compiled in the run's process as before
(numba checks its disk cache at a kernel's first call, heyoka its caches at each integrator's
construction), so the results are identical (the same compiled code). :func:`finish` (the run's end)
stops the background process (what it compiled so far stays cached) and waits for the in-process threads
(done long before, except on a run that failed at once).

A numba kernel is never compiled twice at once for the same argument types: each compiles under a file
lock beside numba's cache index (``_accel``: one lock per kernel and signature, taken by the outermost
compilation of a thread), so a run's process that needs a kernel the background process (or the other
analysis process) is compiling waits for it and then loads it from the disk cache, and the background
process puts off a kernel a run's process is compiling (:func:`compile_all` ``skip_busy``) and comes
back to it after the rest, when it is a load. (A run's process does not wait for a background process
that is not getting a core, e.g. on a machine busy with other work: it compiles the kernel itself, as
before.) heyoka's integrators have no such lock across processes: an integrator the run needs while the
background process is building it is built twice.

The background process is ``nice`` 10 so that it takes only the CPU the run leaves idle: the analysis
worker's wait for the propagation, the end of an uneven schedule, a process waiting for a lock. It stays
in the run's session (its own process group only): on Linux with scheduler autogroups (the default of
desktop kernels) each session is one scheduling group, and a background process in a session of its own,
as it was first started, got half of a two-core machine whatever its niceness, slowing a run whose two
analysis processes need both cores with work it did not need yet (or at all: the list is the full run's
and the quick run's).

The list of kernels and their argument types is packaged (``data/numba_kernels.json``), recorded from
the reference mission's full and quick runs by ``python -m mmxsim.mission.warmup --record`` (numba's
own type names, read back with :func:`decode`): the types are those the run passes, so the compiled
code is the one the run asks numba for. A kernel the list names that no longer exists (renamed, moved)
or whose argument types cannot be written down (e.g. a jitted function passed as an argument) is
skipped: the run then compiles it itself, as without the background process.

The list of integrators is packaged too (``data/heyoka_integrators.json``, recorded by ``python -m
mmxsim.mission.warmup --record-heyoka`` from the full run, then the quick one): for each, the mmxsim
builder the run calls (the propagator's, the variational equations' of navigation, the handoff flows',
the ensembles', the Hill problem's) and its arguments, with the dynamics model written as its forces'
and events' constructor arguments, tolerance, compact mode and built-in ephemeris settings. The
background process calls the same builder with the rebuilt model, so heyoka generates the same module
with the same options and its disk cache holds the entry the run's own call then loads; a model is used
only if it rebuilds to the recorded digest of its ``signature()`` (the key of mmxsim's in-process
integrator caches). A scenario other than the reference mission gets the integrators it shares with it;
the others it builds itself, as before. Nothing switches heyoka's compact or full mode: the run builds
what it built before, with the same options.

"Cold" is judged by marker files: for numba, one in numba's cache folder for mmxsim
(:func:`numba_cache_folder`), written by the background process once it has compiled (or loaded)
every kernel, and named after the numba, Python and mmxsim versions and the kernel list; for heyoka,
one in mmxsim's cache folder (:func:`heyoka_marker_path`), named after the heyoka, Python and mmxsim
versions, heyoka's disk-cache folder and the integrator list. A warm run looks for the two files and
starts nothing (it finds them through a stamp that a warm answer leaves, :func:`warm_stamp_path`, without
importing numba or heyoka: 0.25 s, and a parent that has imported neither forks its analysis workers
instead of starting fresh interpreters, :func:`mmxsim.analyses.start_method`); ``mmxsim cache clear --only numba`` (``--only heyoka``) removes the numba (heyoka)
marker with the kernels (the integrators). (Integrators heyoka itself evicts from a full disk cache
are compiled by the run, as before.)
Nothing starts when the run's own processes take every CPU (:func:`start`'s ``run_processes``: two
analysis processes on two CPUs), where the background work only competed with the run.
``MMXSIM_NO_WARMUP=1`` turns the background process off; ``MMXSIM_WARMUP_NICE`` sets its niceness
(default 10, so that it never slows a run whose workers use every core).
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

MANIFEST = "numba_kernels.json"
ENV_OFF = "MMXSIM_NO_WARMUP"
ENV_NICE = "MMXSIM_WARMUP_NICE"  # the background process' niceness (default 10; 0 for benchmarks on a busy machine)


# --------------------------------------------------------------------------------------------
# numba argument types <-> plain JSON
def encode(t):
    """A numba type as plain JSON (lists, strings, numbers), or None when it has no such form."""
    from numba.core import types

    if isinstance(t, types.Literal):  # a value-specialised version: left to the run
        return None
    if isinstance(t, types.Array):
        dt = encode(t.dtype)
        return None if dt is None else ["array", dt, int(t.ndim), str(t.layout), bool(t.mutable), bool(t.aligned)]
    if isinstance(t, (types.Integer, types.Float, types.Complex)) or t == types.boolean:
        return ["scalar", str(t)]
    if isinstance(t, types.UniTuple):
        inner = encode(t.dtype)
        return None if inner is None else ["unituple", inner, int(t.count)]
    if isinstance(t, types.Tuple):
        inner = [encode(x) for x in t.types]
        return None if any(x is None for x in inner) else ["tuple", inner]
    if isinstance(t, types.NoneType):
        return ["none"]
    return None


def decode(e):
    """The numba type that :func:`encode` wrote as ``e``."""
    from numba.core import types

    kind = e[0]
    if kind == "array":
        return types.Array(decode(e[1]), e[2], e[3], readonly=not e[4], aligned=e[5])
    if kind == "scalar":
        t = getattr(types, e[1])
        if not isinstance(t, types.Type):
            raise ValueError(f"not a numba scalar type: {e[1]}")
        return t
    if kind == "unituple":
        return types.UniTuple(decode(e[1]), e[2])
    if kind == "tuple":
        return types.Tuple([decode(x) for x in e[1]])
    if kind == "none":
        return types.none
    raise ValueError(f"unknown encoded numba type {e!r}")


# --------------------------------------------------------------------------------------------
# Finding a kernel's dispatcher by module and name

#: Modules whose kernels' dispatchers are made on first use by a factory (possibly in another module):
#: these calls create them (no compilation) so that :func:`resolve` finds them.
_FACTORIES = {
    "mmxsim.gravity.polyhedron": lambda m: [m._get_kernel(w, p) for w in ("scalar", "simd") for p in (True, False)],
    "mmxsim.surface._touchdown_kernel": lambda m: [importlib.import_module("mmxsim.surface.touchdown")._kernel()],
}


def _dispatchers_of(mod) -> list:
    from numba.core.dispatcher import Dispatcher

    out = list(_FACTORIES[mod.__name__](mod)) if mod.__name__ in _FACTORIES else []
    for v in list(vars(mod).values()):
        if isinstance(v, Dispatcher):
            out.append(v)
        elif isinstance(v, dict):
            out.extend(x for x in v.values() if isinstance(x, Dispatcher))
    return out


def resolve(module: str, qualname: str, parallel: bool):
    """The dispatcher of ``module`` (by import) whose Python function is ``qualname`` and whose
    ``parallel`` option is ``parallel``, or None."""
    try:
        mod = importlib.import_module(module)
    except Exception:  # noqa: BLE001 - a module that moved or fails to import: nothing to warm
        return None
    for d in _dispatchers_of(mod):
        f = d.py_func
        if f.__module__ == module and f.__qualname__ == qualname and bool(d.targetoptions.get("parallel")) == parallel:
            return d
    return None


# --------------------------------------------------------------------------------------------
# The packaged kernel list
def manifest_path() -> Path:
    from importlib import resources

    return Path(str(resources.files("mmxsim") / "data" / MANIFEST))


def load_manifest() -> list[dict]:
    try:
        return json.loads(manifest_path().read_text())["kernels"]
    except (OSError, ValueError, KeyError):
        return []


def numba_cache_folder() -> Path | None:
    """The folder numba keeps mmxsim's compiled kernels in, in this environment (numba's own
    locators, for a source file of the package: ``$NUMBA_CACHE_DIR``, else the ``__pycache__``
    beside the sources where it can write, else numba's user-wide cache), or None."""
    try:
        from numba.core import caching

        locators = list(caching.CacheImpl._locator_classes)
    except (ImportError, AttributeError):  # no numba, or a numba without these locators: never cold
        return None

    def _probe():  # the locators want a function; the folder depends on the source file only
        pass

    py = str(Path(__file__).resolve().parents[1] / "_accel.py")
    for cls in locators:
        try:
            loc = cls.from_function(_probe, py)
        except Exception:  # noqa: BLE001 - a locator that does not apply here
            loc = None
        if loc is not None:
            return Path(loc.get_cache_path())
    return None


def marker_path() -> Path | None:
    """The file that says the listed kernels are in numba's disk cache: in numba's cache folder
    (:func:`numba_cache_folder`), named after the numba, Python and mmxsim versions and the list."""
    import platform

    from ..version import __version__

    folder = numba_cache_folder()
    if folder is None:
        return None
    try:
        from importlib.metadata import version

        nb = version("numba")
    except Exception:  # noqa: BLE001
        nb = "none"
    h = hashlib.sha256()
    for part in (nb, platform.python_version(), __version__, os.environ.get("NUMBA_CPU_NAME", "")):
        h.update(part.encode() + b"\0")
    try:
        h.update(manifest_path().read_bytes())
    except OSError:
        pass
    return folder / f"mmxsim-warm-{h.hexdigest()[:20]}"


def marker_files() -> list[Path]:
    """The markers present (any version), for ``mmxsim cache clear``."""
    folder = numba_cache_folder()
    return sorted(f for f in folder.glob("mmxsim-warm-*") if f.is_file()) if folder and folder.is_dir() else []


def compile_all(entries: list[dict], log=None, skip_busy: bool = False) -> tuple[int, int]:
    """Compile (or load from numba's disk cache) each listed kernel for its argument types, in list
    order; returns (done, skipped). ``skip_busy`` (the background process): a kernel another process
    is compiling at that moment (its lock held, :func:`mmxsim._accel.try_lock`) is put off rather than
    waited for, and taken up after the rest, when it is usually in the disk cache already (a load).
    (mmxsim's gravity grids are not built here: tried, the ernst grid took far longer in this process
    than in the run's and held the kernels back; docs/benchmarks.md.)"""
    import time

    from .._accel import try_lock

    done = skipped = 0
    later: list = []
    for attempt in (0, 1):
        for e in (entries if attempt == 0 else later):
            name = f"{e['module']}.{e['qualname']}"
            d = resolve(e["module"], e["qualname"], bool(e.get("parallel")))
            try:
                if d is None:
                    raise LookupError("no such kernel")
                sig = tuple(decode(x) for x in e["args"])
                if sig in d.overloads:
                    done += 1
                    continue
                fd = try_lock(d, sig) if skip_busy and attempt == 0 else None
                if fd is False:  # another process compiles it now: not the same work twice
                    later.append(e)
                    if log:
                        log(f"{time.process_time():8.2f} s CPU: {name} put off (compiled elsewhere now)")
                    continue
                if log:
                    log(f"{time.process_time():8.2f} s CPU: {name}{' (parallel)' if e.get('parallel') else ''}")
                try:
                    if fd is None:
                        d.compile(sig)  # under the kernel's lock where there is one (waits for its holder)
                    else:  # the lock is held here already: numba's own compile
                        type(d).compile(d, sig)
                finally:
                    if type(fd) is int:
                        os.close(fd)
                done += 1
            except Exception as exc:  # noqa: BLE001 - a kernel that cannot be warmed is compiled by the run
                skipped += 1
                if log:
                    log(f"skipped {e['module']}.{e['qualname']}: {type(exc).__name__}: {exc}")
    return done, skipped


# --------------------------------------------------------------------------------------------
# heyoka's integrators: the packaged list of what the reference mission builds
#
# Each entry names one of mmxsim's integrator builders (the functions the run itself calls, so the
# child builds the same LLVM module with the same options and heyoka's disk cache, keyed on that
# module, gets the entry the run then loads) and its arguments; a dynamics model is written as its
# forces and events (constructor arguments), tolerance, compact mode and ephemeris settings, and is
# checked after rebuilding against the digest of the recorded model's ``signature()`` (the key of
# every in-process integrator cache): an entry whose model rebuilds differently (changed code, another
# ephemeris) is skipped, and the run compiles that integrator itself, as without the background process.
HEYOKA_MANIFEST = "heyoka_integrators.json"


def _enc_force(f):
    from ..dynamics import forces as F

    if type(f) is F.MarsGravity:
        return ["MarsGravity", {"degree": int(f.degree), "gm": float(f.gm)}]
    if type(f) is F.PhobosGravity:
        if f.ephemeris_parameters:  # an epoch and a correction: left to the run
            return None
        return ["PhobosGravity", {"model": f.model, "degree": int(f.degree) or 8, "near_surface": f.near_surface,
                                  "gm_parameter": f.gm_parameter, "estimate_degree": f.estimate_degree,
                                  "libration_parameter": f.libration_parameter}]
    if type(f) is F.ThirdBody:
        return ["ThirdBody", {"body": f.body}]
    if type(f) is F.SolarRadiationPressure:  # Cr A/m is a runtime parameter: its value is not compiled in
        return ["SolarRadiationPressure", {"shadows": list(f.shadows), "cr": float(f.cram), "area_m2": 1.0,
                                           "mass_kg": 1.0}]
    if type(f) is F.EmpiricalAcceleration:
        return ["EmpiricalAcceleration", {"frame": f.frame}]
    return None


def _enc_event(e):
    from ..dynamics import events as E
    from ..dynamics.near_surface import NearSurfaceEntry

    if type(e) in (E.MarsImpact,):
        return ["MarsImpact", {}]
    if type(e) is E.PhobosImpact:
        s = e.surface
        if type(s) is E.ShapeSurface:
            return ["PhobosImpact", {"surface": ["ShapeSurface", s.model]}]
        if type(s) is E.EllipsoidSurface:
            return ["PhobosImpact", {"surface": ["EllipsoidSurface", list(s.radii)]}]
        return None
    if type(e) is E.MaxDistance:
        return ["MaxDistance", {"km": e.km}]
    if type(e) is E.Eclipse:
        return ["Eclipse", {"occulter": e.body}]
    if type(e) is NearSurfaceEntry:
        return ["NearSurfaceEntry", {"km": e.km}]
    return None


def _dec_object(e):
    from ..dynamics import events as E
    from ..dynamics import forces as F
    from ..dynamics.near_surface import NearSurfaceEntry

    cls = {"NearSurfaceEntry": NearSurfaceEntry}.get(e[0]) or getattr(F, e[0], None) or getattr(E, e[0])
    kw = dict(e[1])
    if "surface" in kw:
        kind, arg = kw["surface"]
        kw["surface"] = E.ShapeSurface(arg) if kind == "ShapeSurface" else E.EllipsoidSurface(tuple(arg))
    if "shadows" in kw:
        kw["shadows"] = tuple(kw["shadows"])
    return cls(**kw)


def _ephemeris_settings(eph):
    """(phobos_tidal, moons) of ``eph`` if it is one of the built-in default ephemerides, else None."""
    from ..ephemeris import default_ephemeris

    for tidal, moons in ((True, "integrated"), (True, "mean_elements"), (False, "mean_elements")):
        if default_ephemeris(tidal, moons) is eph:
            return [tidal, moons]
    return None


def model_digest(model) -> str:
    """A short digest of ``model.signature()`` (what every integrator cache of mmxsim is keyed on)."""
    from ..dynamics.propagator import signature_digest

    return signature_digest(model)


def prebuild_key(entry: dict):
    """The key of an in-process entry in ``dynamics.propagator.PREBUILDS`` (what the run's builder
    computes from its own arguments)."""
    if entry["builder"] == "hill":
        return ("hill", int(entry["args"]["degree"]), bool(entry["args"]["variational"]))
    return (entry["builder"], entry["model"]["digest"])


def encode_model(model) -> dict | None:
    """``model`` as plain JSON (see above), or None when a part has no such form (a SPICE or user
    ephemeris, track overrides, a text PCK, an unknown force or event)."""
    if model.track_overrides or model.rotation_pck is not None:
        return None
    eph = _ephemeris_settings(model.ephemeris)
    forces = [_enc_force(f) for f in model.forces]
    events = [_enc_event(e) for e in model.events]
    if eph is None or any(x is None for x in forces + events):
        return None
    return {"forces": forces, "events": events, "tolerance": float(model.tolerance),
            "compact_mode": bool(model.compact_mode), "analytic_bodies": sorted(model.analytic_bodies),
            "ephemeris": eph, "digest": model_digest(model)}


def decode_model(d: dict):
    """The model :func:`encode_model` wrote; ValueError if it does not rebuild to the recorded one."""
    from ..dynamics import DynamicsModel
    from ..ephemeris import default_ephemeris

    model = DynamicsModel(forces=[_dec_object(f) for f in d["forces"]], ephemeris=default_ephemeris(*d["ephemeris"]),
                          events=[_dec_object(e) for e in d["events"]], tolerance=d["tolerance"],
                          analytic_bodies=frozenset(d["analytic_bodies"]), compact_mode=d["compact_mode"])
    if model_digest(model) != d["digest"]:
        raise ValueError("the model does not rebuild to the recorded one")
    return model


def _lanes(n) -> int:
    """A recorded batch size: ``"simd"`` is heyoka's recommended SIMD width on this machine (what the
    run's batch integrators use by default)."""
    import heyoka as hy

    return int(hy.recommended_simd_size()) if n == "simd" else int(n)


def _builders() -> dict:
    """Builder name -> (function(model or None, args) that builds the integrator through the run's own
    code path, whether it takes a model)."""
    from ..dynamics import ensemble, propagator
    from ..navigation import variational
    from ..orbits import handoff, qso, transfers

    return {
        "propagator": (lambda m, a: propagator.build(m), True),
        "variational": (lambda m, a: variational._build(m, tuple(a["parameters"])), True),
        "variational_batch": (lambda m, a: variational._build_batch(m, tuple(a["parameters"]), _lanes(a["lanes"])),
                              True),
        "flow": (lambda m, a: handoff.Flow(m), True),
        "batch_flow": (lambda m, a: handoff.BatchFlow(m, _lanes(a["lanes"])), True),
        "ensemble": (lambda m, a: ensemble._cached(m, _lanes(a["lanes"])), True),
        "hill": (lambda m, a: qso.hill_integrator(a["degree"], a["variational"]), False),
        "hill_batch": (lambda m, a: transfers._batch_integrator(a["degree"], a["variational"],
                                                                a.get("velocity_only", False)), False),
        "hill_newton": (lambda m, a: transfers._newton_integrator(a["degree"]), False),
    }


def _in_process_builders() -> dict:
    """Builder name -> function(model or None, args) for the integrators the run's own process builds
    ahead of need in a thread (:func:`start`): the uncached compile functions behind the run's builders,
    so the thread leaves only heyoka's caches filled (the run's own builder call then finds the module
    in heyoka's in-memory cache) and never an integrator with the rebuilt model's values in mmxsim's."""
    from ..dynamics import propagator
    from ..orbits import handoff, qso

    return {"hill": lambda m, a: qso.compile_hill(a["degree"], a["variational"]),
            "flow": lambda m, a: handoff.compile_flow(m),
            "propagator": lambda m, a: propagator._compile(m)}


IN_PROCESS = ("hill", "flow", "propagator")  # the builders of _in_process_builders


def in_process(entry: dict) -> bool:
    """Whether the run's own process builds ``entry`` ahead of need (the set-up's integrators, needed
    within seconds of the start: the background process, still starting, would come too late), rather
    than the background process."""
    return entry.get("phase") == "setup" and entry.get("builder") in IN_PROCESS


def heyoka_manifest_path() -> Path:
    return manifest_path().with_name(HEYOKA_MANIFEST)


def load_heyoka_manifest() -> list[dict]:
    try:
        return json.loads(heyoka_manifest_path().read_text())["integrators"]
    except (OSError, ValueError, KeyError):
        return []


def build_integrators(entries: list[dict], log=None, builders=None) -> tuple[int, int]:
    """Build each listed integrator through its builder (default :func:`_builders`), in list order
    (compiled into heyoka's disk cache, or loaded from it); returns (done, skipped). Never raises for an
    entry."""
    import time

    try:
        builders = _builders() if builders is None else builders
    except Exception as exc:  # noqa: BLE001 - heyoka or a module missing: nothing to build
        if log:
            log(f"no integrators built: {type(exc).__name__}: {exc}")
        return 0, len(entries)
    done = skipped = 0
    for e in entries:
        if log:
            log(f"{time.process_time():8.2f} s CPU: heyoka {e.get('builder')} {e.get('args', {})}")
        try:
            fn = builders[e["builder"]]
            fn, takes_model = fn if isinstance(fn, tuple) else (fn, "model" in e)
            fn(decode_model(e["model"]) if takes_model else None, e.get("args", {}))
            done += 1
        except Exception as exc:  # noqa: BLE001 - an integrator that cannot be built here is built by the run
            skipped += 1
            if log:
                log(f"skipped heyoka {e.get('builder')}: {type(exc).__name__}: {exc}")
    return done, skipped


def heyoka_marker_path() -> Path | None:
    """The file that says the listed integrators are in heyoka's disk cache: in mmxsim's cache folder
    (:func:`mmxsim.files.cache_dir`), named after the heyoka, Python and mmxsim versions, heyoka's disk
    cache folder, the integrators' build options (:data:`mmxsim.dynamics.jit.HEYOKA_OPTIONS`, part of
    heyoka's cache keys) and the list (``mmxsim cache clear --only heyoka`` removes it with heyoka's
    cache).
    None: heyoka missing or its disk cache off."""
    import platform

    from ..dynamics.jit import HEYOKA_OPTIONS
    from ..files import cache_dir
    from ..version import __version__

    try:
        import heyoka as hy

        if not hy.llvm_state.get_diskcache_enabled():
            return None
        where = str(hy.llvm_state.get_diskcache_path())
    except Exception:  # noqa: BLE001
        return None
    h = hashlib.sha256()
    options = repr(sorted(HEYOKA_OPTIONS.items()))
    for part in (hy.__version__, platform.python_version(), __version__, where, options):
        h.update(part.encode() + b"\0")
    try:
        h.update(heyoka_manifest_path().read_bytes())
    except OSError:
        return None
    return cache_dir() / f"heyoka-warm-{h.hexdigest()[:20]}"


def _cache_files(pattern: str) -> list[Path]:
    """The files in mmxsim's cache folder that match ``pattern``."""
    from ..files import cache_dir

    d = cache_dir()
    return sorted(f for f in d.glob(pattern) if f.is_file()) if d.is_dir() else []


def heyoka_marker_files() -> list[Path]:
    """The heyoka markers present (any version), for ``mmxsim cache clear``."""
    return _cache_files("heyoka-warm-*")


def _heyoka_needed() -> bool:
    try:
        marker = heyoka_marker_path()
        return marker is not None and bool(load_heyoka_manifest()) and not marker.exists()
    except OSError:
        return True


def _numba_needed() -> bool:
    from .._accel import HAVE_NUMBA

    if not HAVE_NUMBA or not manifest_path().exists():
        return False
    try:
        marker = marker_path()
        return marker is not None and not marker.exists()
    except OSError:
        return False


# --------------------------------------------------------------------------------------------
# The background process, from the run
_PROC: list = []


def needed() -> bool:
    """Whether a run should start the background compilation (not turned off, and numba's kernels or
    heyoka's integrators not marked as cached: :func:`marker_path`, :func:`heyoka_marker_path`).

    A warm answer is remembered (:func:`warm_stamp_path`), so that the next run finds it without importing
    numba or heyoka (0.25 s): the analysis workers are then forked from a process that has imported
    neither (:func:`mmxsim.analyses.start_method`), and start ~1 s earlier than a fresh interpreter."""
    if os.environ.get(ENV_OFF, "").strip() not in ("", "0"):
        return False
    if _stamp_says_warm():
        return False
    cold = _numba_needed() or _heyoka_needed()
    if not cold:
        _write_stamp()
    return cold


def warm_stamp_path() -> Path:
    """The file that remembers a warm answer of :func:`needed`: in mmxsim's cache folder, named after
    what the markers' own names depend on and can be known without importing numba or heyoka (mmxsim's,
    Python's, numba's and heyoka's versions from the installed packages' metadata, the environment
    variables that move numba's and heyoka's caches, this package's folder and both packaged lists);
    it holds the two markers' paths, and it says "warm" only while both files exist (``mmxsim cache
    clear`` removes a marker with its cache)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from ..dynamics.jit import HEYOKA_OPTIONS
    from ..files import cache_dir
    from ..version import __version__

    h = hashlib.sha256()
    parts = [__version__, platform.python_version(), str(Path(__file__).resolve().parents[1]),
             repr(sorted(HEYOKA_OPTIONS.items()))]
    for dist in ("numba", "heyoka", "llvmlite"):
        try:
            parts.append(version(dist))
        except PackageNotFoundError:
            parts.append("none")
    for var in ("NUMBA_CACHE_DIR", "NUMBA_CPU_NAME", "XDG_CACHE_HOME", "HOME", "MMXSIM_CACHE_DIR"):
        parts.append(os.environ.get(var, ""))
    for part in parts:
        h.update(part.encode() + b"\0")
    for f in (manifest_path(), heyoka_manifest_path()):
        try:
            h.update(f.read_bytes())
        except OSError:
            pass
    return cache_dir() / f"warm-{h.hexdigest()[:20]}.json"


def _stamp_says_warm() -> bool:
    try:
        markers = json.loads(warm_stamp_path().read_text())["markers"]
        return all(Path(m).is_file() for m in markers)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _write_stamp() -> None:
    try:
        markers = [str(m) for m in (marker_path(), heyoka_marker_path()) if m is not None]
        if not all(Path(m).is_file() for m in markers):
            return
        stamp = warm_stamp_path()
        stamp.parent.mkdir(parents=True, exist_ok=True)
        tmp = stamp.with_name(f".{stamp.name}.{os.getpid()}")
        tmp.write_text(json.dumps({"markers": markers}) + "\n")
        os.replace(tmp, stamp)
    except OSError:  # a read-only cache folder: the next run checks the markers again
        pass


def warm_stamp_files() -> list[Path]:
    """The stamps present (any version), for ``mmxsim cache clear``."""
    return _cache_files("warm-*.json")


_THREAD: list = []  # (done, skipped) of each finished in-process group
_THREADS: list = []  # the in-process threads (joined by finish)


def _prebuild_in_process(entries) -> None:
    from ..dynamics.propagator import PREBUILDS

    builders = _in_process_builders()
    done = skipped = 0
    try:
        for e in entries:
            try:
                d, s = build_integrators([e], builders=builders)
                done, skipped = done + d, skipped + s
            finally:  # the run's builder, if it waits for this one, goes on (and finds it, or compiles)
                ev = PREBUILDS.pop(prebuild_key(e), None)
                if ev is not None:
                    ev.set()
    finally:
        for e in entries:  # none left waited for, whatever happened
            ev = PREBUILDS.pop(prebuild_key(e), None)
            if ev is not None:
                ev.set()
        _THREAD.append((done, skipped))


def start(run_processes: int | None = None) -> bool:
    """Start the background compilation if :func:`needed`; True if started. With heyoka's integrators
    cold, the set-up's integrators (:func:`in_process`) are also built in a thread of this process
    (heyoka compiles without holding the GIL), the others in the background process. Never raises: a
    background process or thread that cannot start leaves the run as it was.

    ``run_processes``: the processes the run itself will keep busy (its analysis workers included).
    Nothing starts when they take every CPU this process may use: the background work then only
    competes with the run for the same cores (nice 10 still takes a share) and builds integrators and
    kernels the run, needing them sooner, builds too. Measured on the 2-CPU machine, the first full
    run with 2 processes: 68.0 and 71.4 s without the background compilation against 75.4 and 76.5 s
    with it (docs/benchmarks.md, "Issue 19: the fourth round"). With a spare CPU (more CPUs, or
    ``--workers 1`` on two) it starts as before."""
    try:
        if _PROC and _PROC[0].poll() is None:
            return False
        if run_processes is not None and run_processes >= _cpus():
            return False
        if not needed():
            return False
        if _heyoka_needed():
            import threading

            early = [e for e in load_heyoka_manifest() if in_process(e)]
            # one thread for the Hill problem's integrators (the first needed, one after the other) and
            # one for each of the full model's (the costlier ones, needed next), so that none waits
            # behind another
            from ..dynamics.propagator import PREBUILDS

            for e in early:  # registered before any thread starts: the run's builders wait for these
                PREBUILDS[prebuild_key(e)] = threading.Event()
            hill = [e for e in early if e["builder"] == "hill"]
            for group in (hill, *([e] for e in early if e["builder"] != "hill")):
                if group:
                    th = threading.Thread(target=_prebuild_in_process, args=(group,), name="mmxsim-warmup",
                                          daemon=True)
                    try:
                        th.start()
                    except RuntimeError:  # no thread: nothing to wait for
                        for e in group:
                            PREBUILDS.pop(prebuild_key(e)).set()
                        continue
                    _THREADS.append(th)
        env = dict(os.environ)
        src = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env[ENV_OFF] = "1"  # the background process never starts another
        # its own process group (a Ctrl-C at the terminal is the run's to handle, and finish() stops the
        # process) but the run's session: where Linux groups a session's processes for the scheduler
        # (autogroup, the default of desktop kernels) a new session would compete as a whole second run,
        # half the CPU whatever its niceness, and the niceness would only rank it among its own threads
        kw = {"process_group": 0} if os.name == "posix" else {}
        nice = int(os.environ.get(ENV_NICE, "10") or 10)
        if hasattr(os, "nice") and nice:
            kw["preexec_fn"] = lambda: os.nice(nice)
        p = subprocess.Popen([sys.executable, "-m", "mmxsim.mission.warmup", "--compile"], env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
        _PROC[:] = [p]
        return True
    except Exception:  # noqa: BLE001 - see the docstring
        return False


def _cpus() -> int:
    """The CPUs this process may use (:func:`mmxsim.mission.runner.usable_cpus`)."""
    from .runner import usable_cpus

    return usable_cpus()


def finish(wait: bool = False) -> None:
    """Stop the background compilation (``wait``: let it end by itself first). The in-process threads
    are waited for (a few seconds at most, on a run that ended before they did, e.g. on bad input):
    an interpreter must not exit while a thread is inside heyoka's compiler."""
    while _THREADS:
        _THREADS.pop().join(timeout=120)
    if not _PROC:
        return
    p = _PROC.pop()
    try:
        if wait:
            p.wait()
        elif p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    except OSError:
        pass


# --------------------------------------------------------------------------------------------
# Recording the list (maintainers, after changing a kernel's arguments)
def _record(quick_and_full=(True, False)) -> list[dict]:
    """Run the reference mission (quick, then full) in this process and list every numba kernel
    that received a compiled version, in the order of first need, with its argument types."""
    from numba.core.dispatcher import Dispatcher

    seen: dict = {}
    orig = Dispatcher.add_overload

    def add_overload(self, cres):
        key = (self.py_func.__module__, self.py_func.__qualname__, bool(self.targetoptions.get("parallel")),
               tuple(cres.signature.args))
        seen.setdefault(key, None)
        return orig(self, cres)

    Dispatcher.add_overload = add_overload
    from ..scenario import builtin_scenario
    from .runner import run_scenario
    from .variants import quick_variant

    try:
        for quick in quick_and_full:
            s = builtin_scenario("reference_mission")
            run_scenario(quick_variant(s) if quick else s, workers=1)
    finally:
        Dispatcher.add_overload = orig
    out = []
    for (module, qualname, parallel, args) in seen:
        if not module.startswith("mmxsim."):
            continue
        enc = [encode(a) for a in args]
        if any(x is None for x in enc) or resolve(module, qualname, parallel) is None:
            continue
        out.append({"module": module, "qualname": qualname, "parallel": parallel, "args": enc})
    return out


def _record_heyoka(quick_and_full=(False, True)) -> list[dict]:
    """Run the reference mission (full, then quick: the full run is the first run a new user makes, and
    its order of need comes first) in this process and list every heyoka integrator a builder of
    :func:`_builders` compiled (or loaded), in the order of first need, with its model, arguments and
    phase; integrators whose model has no plain form are left out (printed)."""
    import heyoka as hy

    from ..dynamics import ensemble, propagator
    from ..navigation import variational
    from ..orbits import handoff, qso, transfers

    simd = int(hy.recommended_simd_size())
    out, seen, left = [], set(), []
    phase = ["setup"]

    def lanes(b):
        return "simd" if int(b) == simd else int(b)

    def note(builder, model, args):
        enc = None if model is None else encode_model(model)
        if model is not None and enc is None:
            left.append(builder)
            return
        e = {"builder": builder, **({"model": enc} if enc else {}), "args": args}
        k = json.dumps(e, sort_keys=True)
        if k not in seen:
            seen.add(k)
            out.append({**e, "phase": phase[0]})

    def hook(owner, name, describe):
        orig = getattr(owner, name)

        def wrapper(*a, **k):
            before = hy.llvm_state.get_memcache_size()
            r = orig(*a, **k)
            if hy.llvm_state.get_memcache_size() != before:  # a new LLVM module: compiled or loaded from disk
                note(*describe(*a, **k))
            return r
        setattr(owner, name, wrapper)
        return orig

    hooks = [
        (propagator, "build", lambda m: ("propagator", m, {})),
        (variational, "_build", lambda m, p: ("variational", m, {"parameters": list(p)})),
        (variational, "_build_batch", lambda m, p, b: ("variational_batch", m, {"parameters": list(p),
                                                                                "lanes": lanes(b)})),
        (handoff.Flow, "__init__", lambda self, m: ("flow", m, {})),
        (handoff.BatchFlow, "__init__", lambda self, m, batch_size=None: ("batch_flow", m,
                                                                          {"lanes": lanes(batch_size or simd)})),
        (ensemble, "_cached", lambda m, b: ("ensemble", m, {"lanes": lanes(b)})),
        (qso, "hill_integrator", lambda degree=0, variational=False: ("hill", None, {
            "degree": int(degree), "variational": bool(variational)})),
        (transfers, "_batch_integrator", lambda degree, variational=True, velocity_only=False: ("hill_batch", None, {
            "degree": int(degree), "variational": bool(variational),
            **({"velocity_only": True} if variational and velocity_only else {})})),
        (transfers, "_newton_integrator", lambda degree: ("hill_newton", None, {"degree": int(degree)})),
    ]
    saved = [(owner, name, hook(owner, name, d)) for owner, name, d in hooks]
    from .. import analyses

    run_analyses = analyses.run_analyses

    def analyses_phase(*a, **k):  # what the run builds before its analyses is its set-up's
        phase[0] = "analyses"
        return run_analyses(*a, **k)

    saved.append((analyses, "run_analyses", run_analyses))
    analyses.run_analyses = analyses_phase
    from ..scenario import builtin_scenario
    from .runner import run_scenario
    from .variants import quick_variant

    try:
        for quick in quick_and_full:
            phase[0] = "setup"
            s = builtin_scenario("reference_mission")
            run_scenario(quick_variant(s) if quick else s, workers=1)
    finally:
        for owner, name, orig in saved:
            setattr(owner, name, orig)
    if left:
        print(f"left out (no plain form of their model): {left}")
    return out


def _module_of(nbi: Path) -> str | None:
    """The mmxsim module whose kernel a numba index file belongs to: ``<package>/__pycache__/<stem>.*``
    beside the sources, or ``<folder>_<hash>/<stem>.*`` under $NUMBA_CACHE_DIR."""
    pkg = Path(__file__).resolve().parents[1]
    stem = nbi.name.split(".", 1)[0]
    if nbi.parent.name == "__pycache__":
        parts = nbi.parent.parent.parts
        if "mmxsim" not in parts:
            return None
        return ".".join(parts[len(parts) - parts[::-1].index("mmxsim") - 1:] + (stem,))
    folder = nbi.parent.name.rsplit("_", 1)[0]
    found = [f for f in pkg.rglob(f"{stem}.py") if f.parent.name == folder]
    if len(found) != 1:
        return None
    return ".".join(("mmxsim",) + found[0].relative_to(pkg).with_suffix("").parts)


def _from_index_files(folders) -> list[dict]:
    """The kernel list from numba cache folders (the first folder's kernels first, each folder's in
    the order they were compiled: the dates of numba's ``.nbc`` files): e.g. the cache of a cold
    quick run, then that of full runs."""
    import pickle

    from numba.core.dispatcher import Dispatcher

    rows = []
    for rank, folder in enumerate(folders):
        for nbi in Path(folder).rglob("*.nbi"):
            module = _module_of(nbi)
            if module is None:
                continue
            qualname = nbi.name.split(".", 1)[1].rsplit("-", 1)[0]
            try:
                with open(nbi, "rb") as f:
                    pickle.load(f)  # numba's version
                    _stamp, overloads = pickle.loads(f.read())
            except Exception:  # noqa: BLE001 - an unreadable index: skipped
                continue
            for key, fname in overloads.items():
                try:
                    when = (nbi.parent / fname).stat().st_mtime
                except OSError:
                    continue
                rows.append((rank, when, module, qualname, tuple(key[0])))
    out, seen = [], set()
    for _rank, _when, module, qualname, args in sorted(rows, key=lambda r: r[:2]):
        enc = [encode(a) for a in args]
        if any(x is None for x in enc):
            continue
        try:
            mod = importlib.import_module(module)
        except Exception:  # noqa: BLE001
            continue
        for d in _dispatchers_of(mod):
            if not isinstance(d, Dispatcher) or d.py_func.__qualname__ != qualname:
                continue
            if d.targetoptions.get("inline", "never") != "never":  # compiled into its callers only
                continue
            e = {"module": module, "qualname": qualname, "parallel": bool(d.targetoptions.get("parallel")),
                 "args": enc}
            k = json.dumps(e, sort_keys=True)
            if k not in seen:
                seen.add(k)
                out.append(e)
    return out


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m mmxsim.mission.warmup")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--compile", action="store_true", help="compile the packaged kernel list into numba's cache")
    g.add_argument("--record", action="store_true", help="re-record the packaged list from the reference mission")
    g.add_argument("--from-cache", nargs="+", metavar="FOLDER",
                   help="re-write the packaged list from numba cache folders (e.g. a cold quick run's "
                        "$NUMBA_CACHE_DIR)")
    g.add_argument("--record-heyoka", action="store_true",
                   help="re-record the packaged list of heyoka integrators from the reference mission")
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args(argv)
    if a.record_heyoka:
        items = _record_heyoka()
        about = ("heyoka integrators of the reference mission (the full run, then any others of the quick run) in "
                 "the order of first need, with the phase that needs them (setup: before the analyses); each: the "
                 "builder the run calls, its model (forces, events, settings; digest of its signature) and "
                 "arguments; written by python -m mmxsim.mission.warmup --record-heyoka; read by "
                 "mmxsim.mission.warmup")
        lines = ",\n".join(json.dumps(k, separators=(",", ":")) for k in items)
        heyoka_manifest_path().write_text(f'{{"about": {json.dumps(about)},\n"integrators": [\n{lines}\n]}}\n')
        print(f"{len(items)} integrators -> {heyoka_manifest_path()}")
        return 0
    if a.record or a.from_cache:
        kernels = _record() if a.record else _from_index_files(a.from_cache)
        about = ("numba kernels of the reference mission (full and quick runs) and their argument types, in the "
                 "order of first need; written by python -m mmxsim.mission.warmup --record or --from-cache; read "
                 "by mmxsim.mission.warmup")
        lines = ",\n".join(json.dumps(k, separators=(",", ":")) for k in kernels)  # one kernel a line
        manifest_path().write_text(f'{{"about": {json.dumps(about)},\n"kernels": [\n{lines}\n]}}\n')
        print(f"{len(kernels)} kernels -> {manifest_path()}")
        return 0
    from .._accel import limit_threads

    limit_threads(1)  # numba's parallel kernels on one thread: the other core is the run's
    log = print if a.v else None
    heyoka_thread = None
    if _heyoka_needed():  # heyoka's integrators beside numba's kernels (heyoka compiles without the GIL)
        import threading

        heyoka_thread = threading.Thread(target=_build_and_mark, args=(log,), daemon=True)
        heyoka_thread.start()
    if _numba_needed():
        marker = marker_path()
        done, skipped = compile_all(load_manifest(), log=log, skip_busy=True)
        try:
            if marker is None:
                raise OSError("no numba cache folder")
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(json.dumps({"compiled": done, "skipped": skipped}) + "\n")
        except OSError:  # a read-only cache folder: the next run tries again
            pass
        if a.v:
            print(f"{done} kernels compiled or loaded, {skipped} skipped")
    if heyoka_thread is not None:
        heyoka_thread.join()
    return 0


def _build_and_mark(log=None) -> None:
    """Build the packaged integrators (but those the run's process builds itself), then write
    :func:`heyoka_marker_path`."""
    done, skipped = build_integrators([e for e in load_heyoka_manifest() if not in_process(e)], log=log)
    try:
        marker = heyoka_marker_path()
        if marker is None:
            return
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps({"built": done, "skipped": skipped}) + "\n")
    except OSError:  # a read-only cache folder: the next run tries again
        pass
    if log:
        log(f"{done} heyoka integrators built or loaded, {skipped} skipped")


if __name__ == "__main__":
    sys.exit(main())
