"""Parameter files: a scenario and parameter values in TOML (``gpsim run --params FILE``).

::

    # any comment
    scenario = "england-2013"      # optional; the scenario to start from (default: baseline)

    [params]
    founding_rate = 0.012
    months_to_close = 9
    region = "00L@registers/2013.csv"   # a relative register path is read beside this file

``gpsim calibrate`` writes its point estimate in this form (``calibrated.toml``). Every value is checked against
the parameter declaration; a mistake is refused with one line naming the file and the key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from gpsim.errors import GpsimError, ParameterError
from gpsim.params import Params
from gpsim.scenarios import scenario as named_scenario

KEYS = ("scenario", "params")
#: Largest TOML file read (parameter and experiment files are a few KB; a listed design of many values, MBs).
MAX_TOML_BYTES = 64 << 20


def read_toml(path: str | os.PathLike, what: str, error: type[GpsimError] = ParameterError) -> dict[str, Any]:
    """Parse a TOML file; a missing file, a folder, binary data or bad syntax is one line naming the file."""
    from gpsim.data.files import read_limited

    p = Path(path)
    if not p.exists():
        raise error(f"{p}: {what} not found")
    if p.is_dir():
        raise error(f"{p}: is a folder, not {'an' if what[0] in 'aeiou' else 'a'} {what}")
    try:  # a regular file of bounded size: a device or a pipe is refused without reading from it
        return tomllib.loads(read_limited(p, MAX_TOML_BYTES, what, error).decode("utf-8"))
    except UnicodeDecodeError:
        raise error(f"{p}: not a text file") from None
    except tomllib.TOMLDecodeError as err:
        raise error(f"{p}: TOML syntax error: {err}") from None
    except GpsimError:  # already one line naming the file (a device, a pipe, too large)
        raise
    except ValueError as err:  # tomllib refuses integers of more than 4,300 digits with a plain ValueError
        raise error(f"{p}: a number too long to read ({str(err).split(':')[0]})") from None
    except RecursionError:
        raise error(f"{p}: lists or tables nested too deeply to read") from None


def load(path: str | os.PathLike, base: Params | None = None) -> Params:
    """Read a parameter file; its values apply on top of its scenario (or ``base`` if it names none)."""
    p = Path(path)
    data = read_toml(p, "parameter file")
    for key in data:
        if key not in KEYS:
            raise ParameterError(f"{p}: {key}: unknown key; a parameter file has scenario and [params]")
    values = data.get("params", {})
    if not isinstance(values, Mapping):
        raise ParameterError(f"{p}: params: must be a table of name = value")
    if isinstance(values.get("region"), str):  # a register path in the file is read beside the file
        from gpsim.data import region_beside

        values = {**values, "region": region_beside(values["region"], p.parent)}
    try:
        start = named_scenario(data["scenario"]) if "scenario" in data else (base or Params())
        return Params.from_mapping(dict(values), start)
    except GpsimError as err:
        raise ParameterError(f"{p}: {err}") from None


def scenario_of(path: str | os.PathLike) -> str | None:
    """The scenario a parameter file names, if any (read without checking the values)."""
    try:
        return read_toml(path, "parameter file").get("scenario")
    except GpsimError:
        return None


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    text = str(v).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def write(path: str | os.PathLike, scenario: str, values: Mapping[str, Any], comment: Sequence[str] = ()) -> None:
    """Write a parameter file (checked first: what is written can be read back)."""
    Params.from_mapping(dict(values), named_scenario(scenario))
    lines = [f"# {c}" for c in comment]
    lines += [f"scenario = {_toml_value(scenario)}", "", "[params]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in values.items()]
    Path(path).write_text("\n".join(lines) + "\n")
