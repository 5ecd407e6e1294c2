"""Exceptions that teach.

Every error mmxsim raises for bad input derives from :class:`MmxsimError` and says
*what* was wrong (the field or body), *which value* was given and *what is allowed*.
The CLI turns any :class:`MmxsimError` into a one-paragraph message and exit code 2,
never a traceback.
"""

from __future__ import annotations


class MmxsimError(Exception):
    """Base class of all user-facing mmxsim errors."""


class InputError(MmxsimError, ValueError):
    """A value given by the user is not allowed.

    Parameters
    ----------
    field : str
        Where the value came from (a scenario path such as ``initial_state.frame``,
        a function argument, a CLI option).
    value : object
        The offending value.
    allowed : str
        A short description of what would have been accepted.
    """

    def __init__(self, field: str, value: object, allowed: str):
        self.field = field
        self.value = value
        self.allowed = allowed
        super().__init__(f"{field}: got {value!r}; allowed: {allowed}")


class CoverageError(MmxsimError, ValueError):
    """An epoch lies outside the span a data source covers."""

    def __init__(self, body: str, epoch: str, span: tuple[str, str], source: str):
        self.body = body
        self.epoch = epoch
        self.span = span
        self.source = source
        super().__init__(
            f"{body} is not covered at {epoch} by {source}: covered span is {span[0]} to {span[1]} (TDB)"
        )


class DataFileError(MmxsimError, OSError):
    """A data file (kernel, table, mesh) is missing or unreadable."""


class OutputError(MmxsimError, OSError):
    """The output folder cannot be written (not a folder, read-only, full, held by another run)."""
