"""A first run without the wait: numba's kernels compiled in a background process (issue 19 item 4).

mmxsim's numba kernels are compiled on first use and kept in numba's disk cache (``cache=True``), so
the first run after ``pip install`` pays every compilation, one after another, in the run's own
process, while the machine's other cores wait. :func:`start` (called by
:func:`~mmxsim.mission.runner.run_scenario` before the propagation) starts, when the cache looks cold,
a second Python process at low priority (``nice`` 10) that compiles the kernels a run of the
reference mission uses, in the order that run first needs them, into the same disk cache. The run
itself is unchanged: each kernel it calls is loaded from the disk cache if the background process has
written it by then, else compiled in the run's process as before (numba checks its disk cache at a
kernel's first call), so the results are identical and nothing waits for the background process.
:func:`finish` (the run's end) stops it; what it compiled so far stays cached.

The list of kernels and their argument types is packaged (``data/numba_kernels.json``), recorded from
the reference mission's full and quick runs by ``python -m mmxsim.mission.warmup --record`` (numba's
own type names, read back with :func:`decode`): the types are those the run passes, so the compiled
code is the one the run asks numba for. A kernel the list names that no longer exists (renamed, moved)
or whose argument types cannot be written down (e.g. a jitted function passed as an argument) is
skipped: the run then compiles it itself, as without the background process.

"Cold" is judged by a marker file in numba's cache folder for mmxsim (:func:`numba_cache_folder`),
written by the background process once it has compiled (or loaded) every kernel, and named after the
numba, Python and mmxsim versions and the kernel list: a warm run looks for one file and starts
nothing; ``mmxsim cache clear --only numba`` removes the marker with the kernels.
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


def compile_all(entries: list[dict], log=None) -> tuple[int, int]:
    """Compile (or load from numba's disk cache) each listed kernel for its argument types, in list
    order; returns (done, skipped). (mmxsim's gravity grids are not built here: tried, the ernst grid
    took far longer in this process than in the run's and held the kernels back; docs/benchmarks.md.)"""
    import time

    done = skipped = 0
    for e in entries:
        name = f"{e['module']}.{e['qualname']}"
        if log:
            log(f"{time.process_time():8.2f} s CPU: {name}{' (parallel)' if e.get('parallel') else ''}")
        d = resolve(e["module"], e["qualname"], bool(e.get("parallel")))
        try:
            if d is None:
                raise LookupError("no such kernel")
            sig = tuple(decode(x) for x in e["args"])
            if sig not in d.overloads:
                d.compile(sig)
            done += 1
        except Exception as exc:  # noqa: BLE001 - a kernel that cannot be warmed is compiled by the run
            skipped += 1
            if log:
                log(f"skipped {e['module']}.{e['qualname']}: {type(exc).__name__}: {exc}")
    return done, skipped


# --------------------------------------------------------------------------------------------
# The background process, from the run
_PROC: list = []


def needed() -> bool:
    """Whether a run should start the background compilation (numba present, not turned off, the
    marker absent, a kernel list packaged)."""
    if os.environ.get(ENV_OFF, "").strip() not in ("", "0"):
        return False
    from .._accel import HAVE_NUMBA

    if not HAVE_NUMBA or not manifest_path().exists():
        return False
    try:
        marker = marker_path()
        return marker is not None and not marker.exists()
    except OSError:
        return False


def start() -> bool:
    """Start the background compilation if :func:`needed`; True if started. Never raises: a
    background process that cannot start leaves the run as it was."""
    try:
        if _PROC and _PROC[0].poll() is None:
            return False
        if not needed():
            return False
        env = dict(os.environ)
        src = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        env[ENV_OFF] = "1"  # the background process never starts another
        kw = {"start_new_session": True}
        nice = int(os.environ.get(ENV_NICE, "10") or 10)
        if hasattr(os, "nice") and nice:
            kw["preexec_fn"] = lambda: os.nice(nice)
        p = subprocess.Popen([sys.executable, "-m", "mmxsim.mission.warmup", "--compile"], env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
        _PROC[:] = [p]
        return True
    except Exception:  # noqa: BLE001 - see the docstring
        return False


def finish(wait: bool = False) -> None:
    """Stop the background compilation (``wait``: let it end by itself first)."""
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
    ap.add_argument("-v", action="store_true")
    a = ap.parse_args(argv)
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

    limit_threads(1)  # one core: the other is the run's
    marker = marker_path()
    done, skipped = compile_all(load_manifest(), log=print if a.v else None)
    try:
        if marker is None:
            raise OSError("no numba cache folder")
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps({"compiled": done, "skipped": skipped}) + "\n")
    except OSError:  # a read-only cache folder: the next run tries again
        pass
    if a.v:
        print(f"{done} kernels compiled or loaded, {skipped} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
