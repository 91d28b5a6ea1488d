"""The shape of a sweep's ``manifest.json``, checked whenever one is read.

A manifest that is valid JSON but not what gpsim wrote (``{}``, ``[]``, ``null``, a number where text belongs,
a hand edit gone wrong) is refused with one line naming the file and the first key that is wrong, instead of
failing later with a ``KeyError`` deep inside ``sweep status``, ``--resume`` or ``analyze``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gpsim.errors import ExperimentError, shown

#: Largest manifest read (it holds the experiment and one entry per session: kilobytes, a listed design MBs).
MAX_MANIFEST_BYTES = 256 << 20

_TYPES = {dict: "an object", list: "a list", str: "text", int: "a whole number", bool: "true or false"}

#: Required keys and their JSON types: the top level, then the normalised experiment inside it.
TOP = {"experiment_hash": str, "experiment": dict, "n_runs": int, "sessions": list}
EXPERIMENT = {
    "name": str,
    "scenario": str,
    "design": dict,
    "vary": (dict, list),
    "replicates": int,
    "seed": int,
    "outputs": dict,
}


def _kind(types) -> str:
    types = types if isinstance(types, tuple) else (types,)
    return " or ".join(_TYPES[t] for t in types)


def _is(value: Any, types) -> bool:
    types = types if isinstance(types, tuple) else (types,)
    if isinstance(value, bool) and bool not in types:
        return False  # JSON true is not a count
    return isinstance(value, types)


def check_manifest(manifest: Any, path: Path) -> dict[str, Any]:
    """Return ``manifest`` if it has the shape gpsim writes, else raise a one-line :class:`ExperimentError`."""

    def bad(key: str, what: str) -> ExperimentError:
        return ExperimentError(f"{path}: not a gpsim sweep manifest: {key} {what}; was it edited by hand?")

    if not isinstance(manifest, dict):
        raise bad("the file", f"holds {shown(manifest)}, not an object")
    for key, types in TOP.items():
        if key not in manifest:
            raise bad(key, "is missing")
        if not _is(manifest[key], types):
            raise bad(key, f"= {shown(manifest[key])} must be {_kind(types)}")
    if manifest["n_runs"] < 0:
        raise bad("n_runs", f"= {shown(manifest['n_runs'])} must be >= 0")
    exp = manifest["experiment"]
    for key, types in EXPERIMENT.items():
        if key in exp and not _is(exp[key], types):
            raise bad(f"experiment.{key}", f"= {shown(exp[key])} must be {_kind(types)}")
        if key not in exp:
            raise bad(f"experiment.{key}", "is missing")
    if not _is(exp["design"].get("kind"), str):
        raise bad("experiment.design.kind", f"= {shown(exp['design'].get('kind'))} must be text")
    for i, session in enumerate(manifest["sessions"]):
        if not isinstance(session, dict):
            raise bad(f"sessions[{i}]", f"= {shown(session)} must be an object")
        if session.get("git") is not None and not isinstance(session["git"], dict):
            raise bad(f"sessions[{i}].git", f"= {shown(session['git'])} must be an object")
    return manifest


def identity(normalised: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a normalised experiment that decides its runs (what :attr:`Experiment.hash` is taken of)."""
    return {k: v for k, v in normalised.items() if k != "question"}


def changed_inputs(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    """Which part of an experiment's identity differs between two normalised forms, in a few words."""
    a, b = identity(old), identity(new)
    for key in sorted(a.keys() | b.keys()):
        if a.get(key) == b.get(key):
            continue
        x, y = a.get(key), b.get(key)
        if isinstance(x, Mapping) and isinstance(y, Mapping):
            for sub in sorted(x.keys() | y.keys(), key=str):
                if x.get(sub) != y.get(sub):
                    if key == "registers":
                        before, after = str(x.get(sub))[:12], str(y.get(sub))[:12]
                        return f"register file {sub} changed (content sha256 {before} -> {after})"
                    if sub == "points_sha256":
                        return "the points file's content changed"
                    return f"{key}.{sub} changed ({shown(x.get(sub))} -> {shown(y.get(sub))})"
        return f"{key} changed ({shown(x)} -> {shown(y)})"
    return "the experiment changed"
