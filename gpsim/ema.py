"""gpsim as an EMA Workbench model, for exploratory modelling and scenario discovery (``pip install 'gpsim[ema]'``).

::

    from ema_workbench import perform_experiments
    from ema_workbench.analysis import prim
    import gpsim.ema

    model = gpsim.ema.model(
        scenario="funding-cliff",
        uncertainties=["pump_priming_per_patient", "pump_priming_months", "subscription_per_patient"],
    )
    experiments, outcomes = perform_experiments(model, 200)

The model is a thin face over :func:`gpsim.run`: uncertainties come from the one parameter declaration
(``gpsim.SPECS``: whole-number parameters become ``IntegerParameter``, decimals ``RealParameter``, true/false
``BooleanParameter`` and parameters with a list of choices ``CategoricalParameter``, each over its declared range
unless you give one), outcomes are the ``final`` figures (docs/OUTPUTS.md) and any ``steps`` columns you name
with ``_monthly`` after them (as monthly series, e.g. ``n_orgs_monthly``). Every run's seed is
:func:`gpsim.sweep.seeds.run_seed` of the experiment's root seed, the point's uncertainty values and the
replication -- the scheme of ``gpsim sweep`` -- so an experiment gives the same numbers in any order, on any
evaluator, and a run can be reproduced with ``gpsim.run``.

Outcomes that can be missing (NaN) are listed in docs/OUTPUTS.md ("missing when"): chiefly the
``survival_*_after_one_off`` shares when no organisation's one-off money ended long enough before the end of the
run. EMA's PRIM, CART and feature scoring do not accept NaN: pass such outcomes through :func:`complete` first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from gpsim import outputs
from gpsim.errors import GpsimError, ParameterError
from gpsim.params import SPECS, SPECS_BY_NAME, Params, unknown_message
from gpsim.scenarios import DEFAULT_SCENARIO
from gpsim.scenarios import scenario as named_scenario
from gpsim.sweep.seeds import run_seed

#: The parameter groups left out when every parameter is uncertain: they say which area is simulated and for
#: how long (the region's size, its seed, the start date), not how practices behave.
NOT_UNCERTAIN_GROUPS = ("Region & time",)


def _ema():
    try:
        import ema_workbench
    except ImportError:
        raise GpsimError("gpsim.ema needs the EMA Workbench: pip install 'gpsim[ema]'") from None
    return ema_workbench


def numeric_final_outcomes() -> list[str]:
    """Every number in ``final`` (docs/OUTPUTS.md), in declaration order."""
    return [c.name for c in outputs.FINAL if c.kind in ("int", "float")]


def may_be_missing(name: str) -> str:
    """When the outcome ``name`` is missing (NaN), or "" if it never is."""
    column = outputs.by_name("final").get(name) or outputs.by_name("steps").get(name)
    return column.missing if column else ""


class Runner:
    """The function EMA calls: uncertainty values (and ``replicate``) in, outcomes out. Picklable, so EMA's
    multiprocessing and MPI evaluators can send it to their workers."""

    def __init__(self, base: Params, root_seed: int, scalars: Sequence[str], series: Sequence[str]):
        self.base = base.to_dict()
        self.root_seed = int(root_seed)
        self.scalars = list(scalars)
        self.series = list(series)

    def seed(self, values: Mapping[str, Any], replicate: int = 0) -> np.random.SeedSequence:
        return run_seed(self.root_seed, values, replicate)

    def __call__(self, replicate: int = 0, **values: Any) -> dict[str, Any]:
        import gpsim

        values = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in values.items()}
        params = Params.from_mapping(values, Params.from_mapping(self.base))
        results = gpsim.run(params, seed=self.seed(values, replicate))
        out: dict[str, Any] = {}
        for name in self.scalars:
            value = results.final.get(name, np.nan)
            out[name] = float(value) if value is not None else np.nan
        for name in self.series:
            out[name] = results.steps[name.removesuffix(SERIES_SUFFIX)].to_numpy(dtype=float)
        return out


def model(
    scenario: str = DEFAULT_SCENARIO,
    years: float | None = None,
    uncertainties: Sequence[str] | Mapping[str, Any] | None = None,
    outcomes: Sequence[str] | None = None,
    replications: int = 1,
    *,
    fixed: Mapping[str, Any] | None = None,
    seed: int = 0,
    name: str | None = None,
):
    """An EMA Workbench model of gpsim.

    Args:
        scenario: the named scenario every experiment starts from (``gpsim scenarios``).
        years: run length (overrides the scenario); None keeps the scenario's.
        uncertainties: None for every declared parameter outside the "Region & time" group; a list of parameter
            names (each over its declared range); or a mapping of name -> ``[low, high]`` (numbers), a list of
            choices (text, true/false) or None (the declared range).
        outcomes: names of ``final`` figures (scalar outcomes) and of ``steps`` columns followed by
            ``_monthly`` (monthly series from month 0, as ``ArrayOutcome``); None for every number in ``final``.
        replications: runs per experiment, each with its own seed (``replicate`` 0, 1, ...). With more than one,
            a ``final`` outcome is the mean over the replications where it is known, and a ``steps`` series has a
            replications axis (experiments x replications x months).
        fixed: parameter overrides shared by every experiment (e.g. a smaller region).
        seed: the root seed of every run's ``SeedSequence``.
        name: the model's name (letters, digits and underscores); default ``gpsim_<scenario>``.

    Returns:
        An ``ema_workbench.Model`` (or ``ReplicatorModel`` when ``replications`` > 1).

    Raises:
        ParameterError: an unknown parameter or outcome, or a range outside the declaration (one line).
    """
    ema = _ema()
    base_values = dict(fixed or {})
    if years is not None:
        base_values["years"] = years
    base = Params.from_mapping(base_values, named_scenario(scenario))
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        raise ParameterError(f"replications {replications!r} must be a whole number of at least 1")
    params = _uncertainties(ema, uncertainties, fixed or {})
    scalars, series = _outcomes(outcomes)
    runner = Runner(base, seed, scalars, series)
    label = name or "gpsim_" + "".join(c if c.isalnum() else "_" for c in scenario)
    if replications == 1:
        m = ema.Model(label, function=runner)
    else:
        m = ema.ReplicatorModel(label, function=runner)
        m.replications = [{"replicate": r} for r in range(replications)]
    m.uncertainties = params
    # EMA allows one outcome class per name in a process, so a scalar stays a ScalarOutcome with replications too:
    # the mean of the replications where it is known
    average = None if replications == 1 else mean_of_known
    m.outcomes = [ema.ScalarOutcome(n, function=average) for n in scalars] + [ema.ArrayOutcome(n) for n in series]
    return m


def mean_of_known(values: Sequence[float]) -> float:
    """The mean of the replications' values that are not missing (NaN when none is known)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    return float(x.mean()) if len(x) else float("nan")


def _uncertainties(ema, given, fixed: Mapping[str, Any]) -> list:
    if given is None:
        chosen: dict[str, Any] = {
            s.name: None for s in SPECS if s.group not in NOT_UNCERTAIN_GROUPS and s.name not in fixed and _bounded(s)
        }
    elif isinstance(given, Mapping):
        chosen = dict(given)
    else:
        chosen = dict.fromkeys(given)
    if not chosen:
        raise ParameterError("uncertainties: name at least one parameter")
    out = []
    for pname, bounds in chosen.items():
        spec = SPECS_BY_NAME.get(pname)
        if spec is None:
            raise ParameterError(f"uncertainties: {unknown_message(pname)}")
        where = f"uncertainties: {pname}"
        if spec.kind is bool:
            out.append(ema.BooleanParameter(pname))
        elif spec.kind is str:
            choices = list(bounds) if bounds is not None else list(spec.choices or ())
            if not choices:
                raise ParameterError(f"{where}: free text; give the values to try as a list")
            out.append(ema.CategoricalParameter(pname, [spec.check(c) for c in choices]))
        else:
            low, high = (spec.low, spec.high) if bounds is None else tuple(bounds)
            try:
                low, high = spec.check(low), spec.check(high)
            except GpsimError as err:
                raise ParameterError(f"{where}: {err}") from None
            if not low < high:
                raise ParameterError(f"{where}: low {low} must be below high {high}")
            cls = ema.IntegerParameter if spec.kind is int else ema.RealParameter
            out.append(cls(pname, low, high))
    return out


def _bounded(spec) -> bool:
    """Whether a parameter has a declared range (or set of values) to vary over."""
    if spec.kind is bool:
        return True
    if spec.kind is str:
        return bool(spec.choices)
    return spec.low is not None and spec.high is not None


#: A ``steps`` column ``X`` is the outcome ``X_monthly`` (EMA allows one kind of outcome per name, and ``final``
#: has scalars of the same names).
SERIES_SUFFIX = "_monthly"


def _outcomes(names: Sequence[str] | None) -> tuple[list[str], list[str]]:
    if names is None:
        return numeric_final_outcomes(), []
    final, steps = set(numeric_final_outcomes()), outputs.names("steps") - {"step", "date"}
    scalars, series = [], []
    for n in names:
        if n in final:
            scalars.append(n)
        elif n.endswith(SERIES_SUFFIX) and n.removesuffix(SERIES_SUFFIX) in steps:
            series.append(n)
        else:
            hint = f"; for the monthly series say {n}{SERIES_SUFFIX}" if n in steps else ""
            raise ParameterError(
                f"outcomes: unknown outcome {n!r}; allowed a number of final, or a steps column + "
                f"'{SERIES_SUFFIX}' (docs/OUTPUTS.md){hint}"
            )
    return scalars, series


def complete(
    experiments: pd.DataFrame, outcomes: Mapping[str, np.ndarray], names: Sequence[str] | None = None
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The experiments and outcomes without the rows where any of ``names`` (default: every scalar outcome) is
    missing, so PRIM, CART and feature scoring can use them. Say how many were dropped when you report."""
    names = list(names) if names is not None else [k for k, v in outcomes.items() if np.ndim(v) == 1]
    keep = np.ones(len(experiments), dtype=bool)
    for n in names:
        keep &= np.isfinite(np.asarray(outcomes[n], dtype=float))
    return experiments[keep].reset_index(drop=True), {k: np.asarray(v)[keep] for k, v in outcomes.items()}
