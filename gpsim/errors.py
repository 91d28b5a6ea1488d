"""Errors a user can cause, each carrying a one-line message that names what and where.

Faces (CLI, UI, sweeps) catch :class:`GpsimError` and show ``str(error)`` without a traceback;
anything else escaping the model is a bug.
"""


class GpsimError(Exception):
    """Base class for errors caused by user input rather than by a bug."""


class ParameterError(GpsimError, ValueError):
    """A parameter name, type or value that the declaration does not allow."""


class DataError(GpsimError, ValueError):
    """An input data file (register, postcode table, points CSV) that cannot be used."""


class ExperimentError(GpsimError, ValueError):
    """An experiment file or sweep request that cannot be run."""
