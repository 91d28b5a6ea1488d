"""Errors a user can cause, each carrying a one-line message that names what and where.

Faces (CLI, UI, sweeps) catch :class:`GpsimError` and show ``str(error)`` without a traceback;
anything else escaping the model is a bug.
"""

import reprlib

#: Longest message kept; a longer one (e.g. quoting a huge malformed field) is cut with an ellipsis.
MAX_MESSAGE = 600


#: Characters that would break a message over lines or hide part of it: C0 controls, DEL, C1 controls and the
#: Unicode line and paragraph separators (``str.splitlines`` breaks at several of them).
_UNPRINTABLE = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}
_UNPRINTABLE.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): " ", 0x2028: "\\u2028", 0x2029: "\\u2029"})


def one_line(text: object, limit: int = MAX_MESSAGE) -> str:
    """``text`` as a single line: line breaks and control characters shown escaped, cut to ``limit`` characters."""
    s = str(text).translate(_UNPRINTABLE)
    return s if len(s) <= limit else s[: limit - 3] + "..."


class _Shown(reprlib.Repr):
    """``repr`` for messages: nesting, long text and huge numbers shortened (never raises for odd values)."""

    def __init__(self) -> None:
        super().__init__(maxlevel=3, maxstring=80, maxother=80, maxlist=6, maxtuple=6, maxdict=6, maxset=6)

    def repr_int(self, x: int, level: int) -> str:
        if abs(x).bit_length() > 100:  # str() of a number of over 4,300 digits raises; nobody reads 30 digits
            return f"a {'negative ' if x < 0 else ''}number of about {int(abs(x).bit_length() * 0.30103) + 1:,} digits"
        return repr(x)


_SHOWN = _Shown()


def shown(value: object) -> str:
    """A short ``repr`` of a user's value for a message: safe for huge numbers and deep nesting."""
    try:
        return _SHOWN.repr(value)
    except Exception:  # a value whose own __repr__ fails
        return f"a {type(value).__name__}"


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
