"""gpsim: English GP practices working at scale, as an agent-based model.

The public API::

    import gpsim
    results = gpsim.run("funding-cliff", seed=1)      # or a Params, or a dict of overrides
    results.steps, results.orgs, results.closures, results.final

:class:`GPModel` is the Mesa model behind ``run`` (step it yourself for animation); :class:`Params` is the
one parameter declaration; :func:`scenario` gives a named preset.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from gpsim.errors import DataError, ExperimentError, GpsimError, ParameterError, shown
from gpsim.params import SPECS, Params, check_seed
from gpsim.scenarios import DEFAULT_SCENARIO, SCENARIOS, scenario

if TYPE_CHECKING:
    from gpsim.calibrate.ensemble import Ensemble
    from gpsim.model import GPModel
    from gpsim.region import Region
    from gpsim.region import from_params as region_for
    from gpsim.results import Results

__version__ = "0.2.0"

__all__ = [
    "SCENARIOS",
    "SPECS",
    "DEFAULT_SCENARIO",
    "DataError",
    "ExperimentError",
    "GPModel",
    "GpsimError",
    "ParameterError",
    "Params",
    "Region",
    "Results",
    "region_for",
    "resolve_params",
    "replicates",
    "run",
    "scenario",
]


#: Public names imported on first use, so ``import gpsim`` (and ``gpsim --help``) does not load Mesa, pandas
#: and scipy until a model is built: name -> (module, attribute).
_LAZY = {
    "GPModel": ("gpsim.model", "GPModel"),
    "Region": ("gpsim.geography", "Region"),
    "Results": ("gpsim.results", "Results"),
    "region_for": ("gpsim.region", "from_params"),
}


def _lazy(name: str) -> Any:
    module, attr = _LAZY[name]
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __getattr__(name: str) -> Any:
    """Import :data:`_LAZY` names and submodules (``gpsim.model``, ``gpsim.data``...) when first used."""
    if name in _LAZY:
        return _lazy(name)
    if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def resolve_params(spec: Params | str | Mapping[str, Any] | None = None, **overrides: Any) -> Params:
    """Turn what a user passes into :class:`Params`.

    Args:
        spec: a ``Params``; a scenario name; a mapping of overrides (may name a ``scenario`` to start from);
            or None for the default scenario (:data:`DEFAULT_SCENARIO`, as on the command line).
        **overrides: further parameter overrides. A parameter given both here and in a ``spec`` mapping with a
            different value is refused (two ways of saying one thing that disagree).
    """
    if spec is None:
        base = scenario(DEFAULT_SCENARIO)
    elif isinstance(spec, Params):
        base = spec
    elif isinstance(spec, str):
        base = scenario(spec)
    elif isinstance(spec, Mapping):
        values = dict(spec)
        start = values.pop("scenario", None)
        for name in values.keys() & overrides.keys():
            if isinstance(name, str) and values[name] != overrides[name]:
                raise ParameterError(
                    f"parameter '{name}' is given twice with different values ({shown(values[name])} in the "
                    f"mapping, {shown(overrides[name])} as a keyword); give it once"
                )
        base = Params.from_mapping(values, scenario(start if start is not None else DEFAULT_SCENARIO))
    else:
        raise ParameterError(f"expected Params, a scenario name or a mapping, not {type(spec).__name__}")
    return base.replace(**overrides) if overrides else base


def describe_seed(seed: Any) -> Any:
    """A JSON-friendly record of a seed."""
    if isinstance(seed, np.random.SeedSequence):
        return {"entropy": int(seed.entropy), "spawn_key": [int(k) for k in seed.spawn_key]}
    if isinstance(seed, (int, np.integer)):
        return int(seed)
    return repr(seed)


def run(
    params: Params | str | Mapping[str, Any] | None = None,
    seed: int | np.random.SeedSequence = 0,
    *,
    region: Region | None = None,
    progress: Callable[[int, int], None] | None = None,
    posterior: str | os.PathLike | None = None,
    samples: int | None = None,
    **overrides: Any,
) -> Results | Ensemble:
    """Run the model to the end and return its :class:`Results`.

    With ``posterior`` (a folder written by ``gpsim calibrate``), run ``samples`` posterior draws instead, each
    with its own seed, and return an :class:`~gpsim.calibrate.ensemble.Ensemble` whose ``bands`` hold the median
    and 90% band of every ``steps`` column.

    Args:
        params: ``Params``, a scenario name, a mapping of overrides, or None for the default scenario
            (``baseline``, the same as ``gpsim run`` without ``--scenario``).
        seed: an int in [0, 2^128) or a ``numpy.random.SeedSequence``; default 0, so a call without a seed is the
            run with seed 0 (every run is seeded; none draws from the operating system). The same params and
            seed give bit-identical results; use other seeds for replicates.
        region: a prebuilt region (skips building it from ``params.region``); text is taken as the
            ``region`` parameter.
        progress: called as ``progress(month, n_months)`` after each month (with ``posterior``: after each run,
            as ``progress(done, samples)``).
        posterior: a calibration folder; ``params`` (default: the calibration's own scenario) gives what the
            draws do not.
        samples: how many posterior draws (default 20); only with ``posterior``.
        **overrides: parameter overrides applied on top of ``params``.
    """
    if progress is not None and not callable(progress):
        raise ParameterError(f"progress = {shown(progress)} must be a function progress(done, total)")
    if posterior is not None:
        if not isinstance(posterior, (str, os.PathLike)):
            raise ParameterError(f"posterior = {shown(posterior)} must be the path of a calibration folder")
        if region is not None and not isinstance(region, str):
            raise ParameterError("region: a posterior ensemble builds its own region; pass region text instead")
        if isinstance(region, str):
            overrides["region"] = region
        from gpsim.calibrate.ensemble import run_ensemble

        return run_ensemble(posterior, 20 if samples is None else samples, params, seed, progress=progress, **overrides)
    if samples is not None:
        raise ParameterError("samples: only with posterior= (the folder of a calibration)")
    if isinstance(region, str):  # region text is a parameter (a prebuilt Region is an object)
        if "region" in overrides:  # only reachable through run(**{"region": ...}, region=...)
            raise ParameterError("region is given twice; give it once")
        overrides["region"] = region
        region = None
    elif region is not None and not isinstance(region, _lazy("Region")):
        raise ParameterError(f"region = {shown(region)} must be region text (e.g. '00L') or a gpsim Region")
    from gpsim.model import GPModel
    from gpsim.network import collection_paused
    from gpsim.results import Results

    seed = check_seed(seed)
    p = resolve_params(params, **overrides)
    # a month makes no reference cycles, so the cyclic garbage collector would only walk the live model (its
    # agents, arrays and tables) again and again: about a tenth of an England run; paused until the run ends
    with collection_paused():
        model = GPModel(p, rng=seed, region=region)
        n = p.n_months
        for month in range(1, n + 1):
            model.step()
            if progress is not None:
                progress(month, n)
    return Results.from_model(model, describe_seed(seed))


def replicates(
    params: Params | str | Mapping[str, Any] | None = None,
    seeds: int | Sequence[int | np.random.SeedSequence] = 10,
    *,
    region: Region | None = None,
    progress: Callable[[int, int], None] | None = None,
    stop: Callable[[], bool] | None = None,
    **overrides: Any,
) -> list[Results]:
    """Run one setting over several seeds in this process, building its region once: a list of :class:`Results`.

    The UI's "10 seeds" bands and any script that wants replicates use this; each member is the same as
    ``run(params, seed=s)`` (bit for bit), only the region is built once and shared.

    Args:
        params: as for :func:`run`.
        seeds: the seeds (ints or ``SeedSequence``), or a count ``K`` for seeds ``0 .. K-1``.
        region: a prebuilt region to share (default: the one ``params`` asks for, built once).
        progress: called as ``progress(done, total)`` after each run.
        stop: asked after every simulated month; once it returns True the run under way is abandoned and the
            runs finished so far are returned (a page's Cancel, a time limit).
        **overrides: parameter overrides applied on top of ``params``.
    """
    if isinstance(seeds, bool) or not isinstance(seeds, (int, np.integer, Sequence)) or isinstance(seeds, str):
        raise ParameterError(f"seeds = {shown(seeds)} must be a count or a list of seeds")
    if isinstance(seeds, (int, np.integer)):
        if seeds < 1:
            raise ParameterError(f"seeds = {seeds} must be at least 1")
        seeds = list(range(int(seeds)))
    if not seeds:
        raise ParameterError("seeds: give at least one seed")
    if progress is not None and not callable(progress):
        raise ParameterError(f"progress = {shown(progress)} must be a function progress(done, total)")
    if stop is not None and not callable(stop):
        raise ParameterError(f"stop = {shown(stop)} must be a function stop() -> bool")
    checked = [check_seed(s) for s in seeds]  # every seed refused before any run starts
    p = resolve_params(params, **overrides)
    if region is None:
        region = _lazy("region_for")(p)

    def each_month(month: int, n_months: int) -> None:
        if stop():
            raise _StopError

    out = []
    for i, seed in enumerate(checked):
        if stop is not None and stop():
            break
        try:
            out.append(run(p, seed=seed, region=region, progress=None if stop is None else each_month))
        except _StopError:
            break
        if progress is not None:
            progress(i + 1, len(checked))
    return out


class _StopError(Exception):
    """``replicates``'s ``stop`` said stop during a run."""
