"""mmxsim: an open simulator and operations planner for JAXA's MMX mission.

The public API is :mod:`mmxsim.api`, also offered here (in the style of ``skyfield.api``)::

    import mmxsim

    result = mmxsim.run("reference_qso", duration_days=2)   # a built-in scenario, a file or a dict
    result.summary()["distance_phobos_km"]["min"]           # what summary.json holds
    frames = result.to_pandas()                             # time series, events, tables

Its names are loaded on first use (module ``__getattr__``), so ``import mmxsim`` imports nothing
but this file and ``mmxsim --help`` answers instantly; heyoka, astropy, pydantic and matplotlib
are imported only by what needs them.

The package is layered (a lower layer never imports a higher one; docs/design.md §2):

1. ``bodies``, ``time``, ``frames``, ``ephemeris``: constants, epochs, rotations, positions.
2. ``gravity``, ``dynamics``: force models and the heyoka propagator, events.
3. ``orbits``: elements and relative-motion helpers.
4. domain packages: comms, instruments, surface, earth_return, science.
5. ``scenario`` and ``results``; ``mission`` (the runner: results, no files); ``exports`` and
   ``report`` (siblings that read the results); ``app`` (writes a run's files), ``api``, ``cli``
   and ``campaign`` on top.
"""

from .version import __version__  # noqa: F401 - the package's version


def __getattr__(name: str):
    if name == "api":  # ``mmxsim.api`` before any ``import mmxsim.api``
        import importlib

        return importlib.import_module(f"{__name__}.api")
    from .api import __all__ as names  # imports mmxsim.api once (cheap: NumPy and the results model)

    if name == "__all__":
        return ["__version__", "api", *names]
    if name in names:
        from . import api  # already imported: no call back here

        return getattr(api, name)
    raise AttributeError(f"module 'mmxsim' has no attribute {name!r}")


def __dir__() -> list[str]:
    from .api import __all__ as names

    return sorted({*globals(), "api", *names})

