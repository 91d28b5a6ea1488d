"""Errors a user can cause, each carrying a one-line message that names what and where.

Faces (CLI, UI, sweeps) catch :class:`GpsimError` and show ``str(error)`` without a traceback;
anything else escaping the model is a bug.
"""

#: Longest message kept; a longer one (e.g. quoting a huge malformed field) is cut with an ellipsis.
MAX_MESSAGE = 600


def one_line(text: object, limit: int = MAX_MESSAGE) -> str:
    """``text`` as a single line: line breaks and tabs shown escaped, cut to ``limit`` characters."""
    s = str(text).replace("\r", "\\r").replace("\n", "\\n").replace("\t", " ")
    return s if len(s) <= limit else s[: limit - 3] + "..."


class GpsimError(Exception):
    """Base class for errors caused by user input rather than by a bug.

    The message is always one line (see :func:`one_line`), whatever it quotes from the input.
    """

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(one_line(message), *args)


class ParameterError(GpsimError, ValueError):
    """A parameter name, type or value that the declaration does not allow."""


class DataError(GpsimError, ValueError):
    """An input data file (register, postcode table, points CSV) that cannot be used."""


class ExperimentError(GpsimError, ValueError):
    """An experiment file or sweep request that cannot be run."""
