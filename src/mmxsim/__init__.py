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

0. ``errors``, ``_data``, ``mathns``, ``_accel``, ``files``, ``yamlread``, ``hooks``, ``version``.
1. ``bodies``, ``time``, ``frames``, ``ephemeris``: constants, epochs, rotations, positions.
2. ``gravity``, ``dynamics``: force models and the heyoka propagator, events.
3. ``orbits``: elements, Lambert, QSO design, transfers.
4. domain packages: comms, instruments, surface, earth_return, science.
5. ``scenario`` (scenario files) and ``results`` (the results model, NumPy only).
6. ``analyses``: one module per analysis and their registry.
7. ``mission``: the runner (returns results, writes no files) and the timeline.
8. ``exports`` and ``report``: siblings that read the results.
9. ``app`` (writes a run's files); then ``cli``, ``campaign`` and ``api``.
"""

from . import hooks
from .version import __version__  # noqa: F401 - the package's version

# The scenario layer validates the ``analyses`` block with the registry's model; it finds the module
# that provides it here and imports it on first need (see mmxsim.hooks), so this import stays cheap.
hooks.ANALYSES_PROVIDER_MODULE = f"{__name__}.analyses"


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
