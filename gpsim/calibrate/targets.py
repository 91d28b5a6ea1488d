"""Targets files: what is observed, how uncertain it is, and which model output it is compared with.

A targets file (TOML, e.g. ``experiments/calibrate-england.toml``) names the scenario to calibrate, the parameters
to vary (their prior ranges come from the parameter declaration, :data:`gpsim.SPECS`, and the file may narrow
them), the waves, a ``[quick]`` table for a reduced run, and a list of ``[[target]]`` tables::

    [[target]]
    name = "practices-2015"
    label = "Open practices, mid 2015"
    output = "steps:n_practices_open@2015-07"
    observed = 7816
    observation_sd = 40      # how far the published figure may be from the truth
    discrepancy_sd = 160     # how far the model may be from the truth at its best settings
    period = "train"         # train (2013-2016: used to calibrate) or test (2017-2021: held out)
    source = "facts #1"

``output`` reads one figure from a run (:class:`gpsim.Results`):

* ``steps:COLUMN@YYYY-MM`` -- a monthly column at a date;
* ``steps:COLUMN@YYYY-MM..YYYY-MM:HOW`` -- over a period, ``HOW`` one of ``mean`` (default), ``sum``, ``min``,
  ``max``, ``change_per_year`` (compound, as a fraction);
* ``final:KEY`` -- an end-of-run figure;
* ``orgs:STATISTIC[@period]`` and ``closures:STATISTIC[@period]`` -- a statistic of the organisation or closure
  tables (:data:`ORG_STATISTICS`, :data:`CLOSURE_STATISTICS`), the period filtering founding or closure dates;
* ``ledger:KEY`` -- a cumulative money flow; ``KEY`` matches a ledger entry by name, ignoring case and
  punctuation, or the end of one (``challenge_fund_wave1`` matches ``pump_priming: Challenge Fund wave 1``); a key
  that matches no entry, or more than one, is missing.

A target whose output this model version does not produce (a column, figure or ledger entry it lacks) is
reported as "not available in this model version" instead of failing. The total variance of a target is
``observation_sd**2 + discrepancy_sd**2`` (history matching's observation and model-discrepancy variance); a run
*meets* a target when it is within three of those standard deviations of the observed value.

``[[check]]`` tables list the figures ``gpsim validate`` checks that are not outputs of one run of the calibrated
scenario (the numbers-game arithmetic, matched-run comparisons); they are not calibrated against.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gpsim.errors import ExperimentError, GpsimError, shown
from gpsim.params import SPECS_BY_NAME, Params, unknown_message
from gpsim.scenarios import SCENARIOS, scenario

if TYPE_CHECKING:
    import pandas as pd

#: The implausibility cut-off: a run (or an emulator's prediction) more than 3 standard deviations away fails.
CUTOFF = 3.0
PERIODS = {"train": "in-sample", "test": "out-of-sample"}
SOURCES = ("steps", "final", "orgs", "closures", "ledger")
HOWS = ("mean", "sum", "min", "max", "change_per_year")
TOP_KEYS = ("name", "question", "scenario", "seed", "fixed", "parameters", "waves", "quick", "target", "check")
TARGET_KEYS = (
    "name",
    "label",
    "output",
    "observed",
    "observation_sd",
    "discrepancy_sd",
    "period",
    "source",
    "scales_with_size",
)
CHECK_KEYS = ("name", "label", "statistic", "section", "source", "low", "high", "tolerance")
CHECK_SECTIONS = ("arithmetic", "train", "test")
WAVE_KEYS = ("runs", "max_waves", "candidates", "cutoff", "posterior_runs", "min_shrink")
QUICK_KEYS = ("fixed", *WAVE_KEYS)


class OutputMissingError(LookupError):
    """The output a target reads does not exist in this model version."""


# --- statistics of the organisation and closure tables ---------------------------------------------------
def _delay(o: pd.DataFrame) -> float:
    import pandas as pd

    fb = pd.to_numeric(o["first_benefit_step"], errors="coerce").astype(float)  # missing = never delivered
    ok = fb.notna() & (fb >= 0)
    d = fb[ok] - o.loc[ok, "founded_step"].astype(float)
    return float(d.median()) if len(d) else math.nan


#: ``orgs:NAME``: a figure of the organisations founded in the period (all of them without a period).
ORG_STATISTICS = {
    "count_founded": lambda o, years: float(len(o)),
    "median_months_to_first_benefit": lambda o, years: _delay(o),
    "share_dissolved": lambda o, years: float(o["dissolved_step"].notna().mean()) if len(o) else math.nan,
    "largest_peak_population": lambda o, years: float(o["peak_population"].max()) if len(o) else math.nan,
}


def _share_closures(c: pd.DataFrame, years: float) -> float:
    n = len(c)
    return float((c["kind"] == "closure").sum() / n) if n else math.nan


#: ``closures:NAME``: a figure of the practices that closed or merged in the period.
CLOSURE_STATISTICS = {
    "count": lambda c, years: float(len(c)),
    "count_per_year": lambda c, years: float(len(c) / years) if years > 0 else math.nan,
    "share_closures": _share_closures,
}


# --- one output of a run ---------------------------------------------------------------------------------
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def _month(text: str, where: str) -> tuple[int, int]:
    m = _MONTH.match(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ExperimentError(f"{where}: {text!r} is not a month; write YYYY-MM, e.g. 2015-12")
    return int(m.group(1)), int(m.group(2))


@dataclass(frozen=True)
class Output:
    """A parsed ``output`` text: where to read and, for series, when and how."""

    text: str
    source: str
    key: str
    start: tuple[int, int] | None = None
    end: tuple[int, int] | None = None
    how: str = "mean"

    @classmethod
    def parse(cls, text: str, where: str) -> Output:
        if not isinstance(text, str) or ":" not in text:
            raise ExperimentError(
                f"{where}: {text!r} must read SOURCE:WHAT, SOURCE one of {', '.join(SOURCES)} "
                "(e.g. steps:n_practices_open@2015-07)"
            )
        source, rest = text.split(":", 1)
        source = source.strip()
        if source not in SOURCES:
            raise ExperimentError(f"{where}: unknown source {source!r}; allowed one of {', '.join(SOURCES)}")
        how = "mean"
        key, _, when = rest.partition("@")
        key = key.strip()
        start = end = None
        if when:
            if source in ("final", "ledger"):
                raise ExperimentError(f"{where}: {source} figures are end-of-run totals and take no @date")
            period, _, h = when.partition(":")
            if h:
                how = h.strip()
                if how not in HOWS:
                    raise ExperimentError(f"{where}: unknown summary {how!r}; allowed one of {', '.join(HOWS)}")
            a, sep, b = period.partition("..")
            start = _month(a, where)
            end = _month(b, where) if sep else start
            if end < start:
                raise ExperimentError(f"{where}: period {period!r} ends before it starts")
        elif source == "steps":
            raise ExperimentError(f"{where}: a steps output needs a date, e.g. steps:{key}@2015-12")
        if not key:
            raise ExperimentError(f"{where}: {text!r} names no column, figure or statistic")
        stats = {"orgs": ORG_STATISTICS, "closures": CLOSURE_STATISTICS}.get(source)
        if stats is not None and key not in stats:
            raise ExperimentError(f"{where}: unknown {source} statistic {key!r}; allowed one of {', '.join(stats)}")
        return cls(text, source, key, start, end, how)

    def months(self, p: Params) -> tuple[int, int] | None:
        """The period as run months (step numbers), or None for the whole run."""
        if self.start is None:
            return None

        def step(ym: tuple[int, int]) -> int:
            return (ym[0] - p.start_year) * 12 + (ym[1] - p.start_month)

        return step(self.start), step(self.end)

    def check_within(self, p: Params, where: str) -> None:
        """Refuse a date outside the run of ``p``."""
        span = self.months(p)
        if span is None:
            return
        last = p.n_months
        if span[0] < 0 or span[1] > last:
            first = f"{p.start_year}-{p.start_month:02d}"
            raise ExperimentError(f"{where}: {self.text!r} lies outside the run ({first} plus {last} months)")

    def read(self, results) -> float:
        """This output of one run; :class:`OutputMissingError` if the model version does not produce it."""
        if self.source == "final":
            if self.key not in results.final:
                raise OutputMissingError(self.key)
            return _float(results.final[self.key])
        if self.source == "ledger":
            return _ledger(results.ledger, self.key)
        span = self.months(results.params)
        if self.source == "steps":
            s = results.steps
            if self.key not in s.columns:
                raise OutputMissingError(self.key)
            sel = s[(s["step"] >= span[0]) & (s["step"] <= span[1])]
            v = sel[self.key].astype(float)
            if v.empty:
                return math.nan
            if self.how == "change_per_year":
                years = (span[1] - span[0]) / 12.0
                return float((v.iloc[-1] / v.iloc[0]) ** (1 / years) - 1) if years > 0 and v.iloc[0] else math.nan
            return float(getattr(v, self.how)())
        table, column = (results.orgs, "founded_step") if self.source == "orgs" else (results.closures, "step")
        stats = ORG_STATISTICS if self.source == "orgs" else CLOSURE_STATISTICS
        if self.source == "orgs" and "kind" in table.columns:  # organisations, not primary care networks
            table = table[table["kind"] != "pcn"]
        if span is not None:
            table = table[(table[column] >= span[0]) & (table[column] <= span[1])]
            years = (span[1] - span[0] + 1) / 12.0
        else:
            years = results.params.n_months / 12.0
        return float(stats[self.key](table, years))


def _float(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _letters(text: str) -> str:
    """Lower-case letters and digits only: ``Challenge Fund wave 1`` and ``challenge_fund_wave1`` read alike."""
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def _ledger(ledger: Mapping[str, float], key: str) -> float:
    if key in ledger:
        return float(ledger[key])
    want = _letters(key)
    hits = [k for k in ledger if _letters(k).endswith(want)]
    if len(hits) != 1:
        raise OutputMissingError(key)
    return float(ledger[hits[0]])


# --- targets ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """One observed figure and how the model is compared with it."""

    name: str
    output: str
    observed: float
    observation_sd: float
    discrepancy_sd: float
    period: str
    source: str
    label: str = ""
    scales_with_size: bool = False

    @property
    def parsed(self) -> Output:
        return Output.parse(self.output, f"target {self.name}: output")

    @property
    def variance(self) -> float:
        """Observation plus model-discrepancy variance."""
        return self.observation_sd**2 + self.discrepancy_sd**2

    @property
    def sd(self) -> float:
        return math.sqrt(self.variance)

    @property
    def sample(self) -> str:
        """``in-sample`` (train) or ``out-of-sample`` (test)."""
        return PERIODS[self.period]

    @property
    def bounds(self) -> tuple[float, float]:
        """The values a run may take and still meet the target (observed +/- 3 sd)."""
        return self.observed - CUTOFF * self.sd, self.observed + CUTOFF * self.sd

    def meets(self, values) -> np.ndarray:
        """Which of ``values`` meet the target (NaN never does)."""
        v = np.asarray(values, dtype=float)
        with np.errstate(invalid="ignore"):
            return np.abs(v - self.observed) <= CUTOFF * self.sd

    def scaled(self, factor: float) -> Target:
        """The target for a region ``factor`` times the size (counts scale; shares and means do not)."""
        if not self.scales_with_size or factor == 1.0:
            return self
        return Target(
            **{
                **asdict(self),
                "observed": self.observed * factor,
                "observation_sd": self.observation_sd * factor,
                "discrepancy_sd": self.discrepancy_sd * factor,
            }
        )


@dataclass(frozen=True)
class CheckSpec:
    """A figure ``gpsim validate`` checks that is not an output of one run of the calibrated scenario."""

    name: str
    statistic: str
    section: str
    label: str
    source: str
    low: float | None = None
    high: float | None = None
    tolerance: str = ""

    @property
    def reported(self) -> bool:
        """True for a figure shown for context, with no tolerance."""
        return self.low is None and self.high is None

    def ok(self, value: float) -> bool:
        if value != value:
            return False
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)


def measure(targets: tuple[Target, ...], results) -> dict[str, float]:
    """Every target's output of one run: ``target:NAME`` (NaN if undefined) and ``missing:NAME`` (1 if this model
    version does not produce it). Module-level and given plain data, so Dask can ship it to workers."""
    out: dict[str, float] = {}
    for t in targets:
        try:
            out[f"target:{t.name}"] = t.parsed.read(results)
            out[f"missing:{t.name}"] = 0.0
        except OutputMissingError:
            out[f"target:{t.name}"] = math.nan
            out[f"missing:{t.name}"] = 1.0
    return out


# --- the file ---------------------------------------------------------------------------------------------
@dataclass
class Waves:
    """How the waves run: design size, how many, candidate points, cut-off, posterior runs, stopping rule."""

    runs: int = 300
    max_waves: int = 4
    candidates: int = 20_000
    cutoff: float = CUTOFF
    posterior_runs: int = 100
    #: stop when a wave keeps more than this share of the region the wave before kept (it stopped shrinking)
    min_shrink: float = 0.9


@dataclass
class CalibrationFile:
    """A parsed targets file (see the module docstring)."""

    name: str
    scenario: str
    seed: int
    fixed: dict[str, Any]
    parameters: dict[str, tuple[float, float]]
    targets: list[Target]
    checks: list[CheckSpec] = field(default_factory=list)
    waves: Waves = field(default_factory=Waves)
    quick_fixed: dict[str, Any] = field(default_factory=dict)
    quick_waves: Waves = field(default_factory=lambda: Waves(runs=24, max_waves=1, candidates=2_000, posterior_runs=8))
    question: str = ""
    source: str | None = None

    def base_params(self, quick: bool = False) -> Params:
        """The scenario with ``[fixed]`` (and, quick, ``[quick.fixed]``) applied."""
        values = {**self.fixed, **(self.quick_fixed if quick else {})}
        return Params.from_mapping(values, scenario(self.scenario))

    def size_factor(self, quick: bool) -> float:
        """Practices in the quick region over practices in the full one (counts in targets scale by this)."""
        if not quick:
            return 1.0
        return self.base_params(True).n_practices / self.base_params(False).n_practices

    def targets_for(self, quick: bool = False) -> list[Target]:
        f = self.size_factor(quick)
        return [t.scaled(f) for t in self.targets]

    def settings(self, quick: bool = False) -> Waves:
        return self.quick_waves if quick else self.waves

    @property
    def names(self) -> list[str]:
        return list(self.parameters)

    def normalised(self, quick: bool = False) -> dict[str, Any]:
        return {
            "name": self.name,
            "scenario": self.scenario,
            "seed": self.seed,
            "fixed": {**self.fixed, **(self.quick_fixed if quick else {})},
            "parameters": {k: list(v) for k, v in self.parameters.items()},
            "targets": [asdict(t) for t in self.targets_for(quick)],
            "waves": asdict(self.settings(quick)),
            "quick": quick,
            **({"registers": registers} if (registers := self.registers(quick)) else {}),
        }

    def registers(self, quick: bool = False) -> dict[str, str]:
        """The SHA-256 of the content of the register file the runs read, by region text (none if synthetic)."""
        from gpsim.data import region_register_sha256

        region = self.base_params(quick).region
        return {} if region == "synthetic" else {region: region_register_sha256(region)}

    def hash(self, quick: bool = False) -> str:
        """SHA-256 of everything that decides the runs and the cuts (a resumed calibration must match it)."""
        text = json.dumps(self.normalised(quick), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def _one_of(value: Any, allowed) -> bool:
    """Whether ``value`` is text naming one of ``allowed`` (a table or a list from the file is not)."""
    return isinstance(value, str) and value in allowed


def _fail(source: str | None, key: str, message: str) -> ExperimentError:
    return ExperimentError(f"{source + ': ' if source else ''}{key}: {message}")


def _refuse_unknown(table: Mapping[str, Any], allowed: tuple[str, ...], prefix: str, source: str | None) -> None:
    import difflib

    for key in table:
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            hint = f"did you mean {close[0]}?" if close else f"allowed keys: {', '.join(allowed)}"
            raise _fail(source, f"{prefix}{key}", f"unknown key; {hint}")


def _number(
    value: Any, source: str | None, key: str, *, low: float | None = None, high: float | None = None, whole=False
) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(source, key, f"{shown(value)} must be a number")
    if isinstance(value, int) and abs(value) > 2**63:  # beyond a float's exact range: no figure in a target is
        raise _fail(source, key, f"{shown(value)} is too large")
    if not math.isfinite(value):
        raise _fail(source, key, f"{value!r} must be a finite number")
    if whole and (not float(value).is_integer()):
        raise _fail(source, key, f"{value!r} must be a whole number")
    if low is not None and value < low:
        raise _fail(source, key, f"{value!r} must be at least {low:g}")
    if high is not None and value > high:
        raise _fail(source, key, f"{value!r} is more than this machine can hold or run; at most {high:,.0f}")
    return int(value) if whole else float(value)


#: Largest wave settings accepted: checked when the file is read, not when a wave has run for hours and its
#: candidate sample (candidates x parameters floats, and an emulator prediction for each) exhausts memory.
WAVE_LIMITS = {"runs": 1_000_000, "max_waves": 1_000, "candidates": 2_000_000, "posterior_runs": 1_000_000}


def _waves(table: Mapping[str, Any], base: Waves, source: str | None, prefix: str) -> Waves:
    out = Waves(**asdict(base))
    for key in WAVE_KEYS:
        if key in table:
            whole = key in ("runs", "max_waves", "candidates", "posterior_runs")
            low = {"runs": 4, "max_waves": 1, "candidates": 100, "posterior_runs": 1}.get(key, 0.0)
            high = WAVE_LIMITS.get(key)
            setattr(out, key, _number(table[key], source, f"{prefix}{key}", low=low, high=high, whole=whole))
    if not 0 < out.min_shrink <= 1:
        raise _fail(source, f"{prefix}min_shrink", f"{out.min_shrink!r} must be in (0, 1]")
    if out.cutoff <= 0:
        raise _fail(source, f"{prefix}cutoff", "must be above 0")
    return out


def _fixed(table: Any, source: str | None, prefix: str) -> dict[str, Any]:
    if not isinstance(table, Mapping):
        raise _fail(source, prefix.rstrip("."), "must be a table of parameter = value")
    out = {}
    for name, value in table.items():
        spec = SPECS_BY_NAME.get(name)
        if spec is None:
            raise _fail(source, f"{prefix}{name}", unknown_message(name))
        try:
            out[name] = spec.check(spec.parse(value) if isinstance(value, str) and spec.kind is not str else value)
        except GpsimError as err:
            raise _fail(source, f"{prefix}{name}", str(err)) from None
    if source and isinstance(out.get("region"), str):  # a register path is read beside the targets file
        from gpsim.data import region_beside

        out["region"] = region_beside(out["region"], Path(source).parent)
    return out


def _parameters(table: Any, fixed: Mapping[str, Any], source: str | None) -> dict[str, tuple[float, float]]:
    if not isinstance(table, Mapping) or not table:
        raise _fail(source, "parameters", "needs at least one parameter to calibrate, e.g. founding_rate = {}")
    out = {}
    for name, value in table.items():
        key = f"parameters.{name}"
        spec = SPECS_BY_NAME.get(name)
        if spec is None:
            raise _fail(source, key, unknown_message(name))
        if spec.kind not in (int, float):
            raise _fail(source, key, f"only numeric parameters can be calibrated; {name} is {spec.kind.__name__}")
        if name in fixed:
            raise _fail(source, key, "is also in [fixed]; a parameter is either fixed or calibrated")
        if isinstance(value, Mapping):
            _refuse_unknown(value, ("low", "high"), f"{key}.", source)
            low, high = value.get("low", spec.low), value.get("high", spec.high)
        elif isinstance(value, list) and len(value) == 2:
            low, high = value
        else:
            raise _fail(source, key, "must be {} (the declared range) or [low, high] (narrowed)")
        if low is None or high is None:
            raise _fail(source, key, f"has no declared bound; give [low, high] within {spec.range_text}")
        try:
            low, high = spec.check(low), spec.check(high)
        except GpsimError as err:
            raise _fail(source, key, f"{err} (the range may only narrow the declared one)") from None
        if not low < high:
            raise _fail(source, key, f"low {low} must be below high {high}")
        out[name] = (float(low), float(high))
    return out


def _target(t: Any, i: int, source: str | None) -> Target:
    where = f"target[{i}]"
    if not isinstance(t, Mapping):
        raise _fail(source, where, "must be a table")
    _refuse_unknown(t, TARGET_KEYS, f"{where}.", source)
    for key in ("name", "output", "observed", "observation_sd", "discrepancy_sd", "period", "source"):
        if key not in t:
            raise _fail(source, where, f"needs {key}")
    name = t["name"]
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name):
        raise _fail(source, f"{where}.name", f"{name!r} must be a plain name (letters, digits, - _ .)")
    where = f"target {name}"
    if not _one_of(t["period"], PERIODS):
        raise _fail(source, f"{where}: period", f"{shown(t['period'])} must be train or test")
    for key in ("source", "label"):
        if key in t and not isinstance(t[key], str):
            raise _fail(source, f"{where}: {key}", "must be text")
    if not isinstance(t.get("scales_with_size", False), bool):
        raise _fail(source, f"{where}: scales_with_size", "must be true or false")
    Output.parse(t["output"], f"{source + ': ' if source else ''}{where}: output")
    obs_sd = _number(t["observation_sd"], source, f"{where}: observation_sd", low=0.0)
    disc_sd = _number(t["discrepancy_sd"], source, f"{where}: discrepancy_sd", low=0.0)
    if obs_sd == 0 and disc_sd == 0:
        raise _fail(source, f"{where}: observation_sd", "observation_sd and discrepancy_sd cannot both be 0")
    return Target(
        name=name,
        output=t["output"],
        observed=_number(t["observed"], source, f"{where}: observed"),
        observation_sd=obs_sd,
        discrepancy_sd=disc_sd,
        period=t["period"],
        source=t["source"],
        label=t.get("label", name),
        scales_with_size=t.get("scales_with_size", False),
    )


def _check(c: Any, i: int, source: str | None) -> CheckSpec:
    where = f"check[{i}]"
    if not isinstance(c, Mapping):
        raise _fail(source, where, "must be a table")
    _refuse_unknown(c, CHECK_KEYS, f"{where}.", source)
    for key in ("name", "statistic", "section", "source"):
        if not isinstance(c.get(key), str):
            raise _fail(source, f"{where}.{key}", "needs text")
    if c["section"] not in CHECK_SECTIONS:
        raise _fail(source, f"{where}.section", f"{c['section']!r} must be one of {', '.join(CHECK_SECTIONS)}")
    bounds = {k: _number(c[k], source, f"{where}.{k}") if k in c else None for k in ("low", "high")}
    return CheckSpec(
        name=c["name"],
        statistic=c["statistic"],
        section=c["section"],
        label=c.get("label", c["name"]),
        source=c["source"],
        tolerance=c.get("tolerance", "reported" if bounds["low"] is None and bounds["high"] is None else ""),
        **bounds,
    )


def from_dict(data: Mapping[str, Any], source: str | None = None) -> CalibrationFile:
    """Build a :class:`CalibrationFile` from parsed TOML, checking everything (one-line errors)."""
    _refuse_unknown(data, TOP_KEYS, "", source)
    scen = data.get("scenario", "england-2013")
    if not _one_of(scen, SCENARIOS):
        raise _fail(source, "scenario", f"unknown scenario {shown(scen)}; allowed one of {', '.join(SCENARIOS)}")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise _fail(source, "seed", f"{seed!r} must be a whole number in [0, 2^63)")
    fixed = _fixed(data.get("fixed", {}), source, "fixed.")
    parameters = _parameters(data.get("parameters"), fixed, source)
    waves = _waves(_table(data, "waves", source), Waves(), source, "waves.")
    quick = _table(data, "quick", source)
    _refuse_unknown(quick, QUICK_KEYS, "quick.", source)
    quick_fixed = _fixed(quick.get("fixed", {}), source, "quick.fixed.")
    quick_waves = _waves(quick, Waves(runs=24, max_waves=1, candidates=2_000, posterior_runs=8), source, "quick.")
    raw_targets = data.get("target", [])
    if not isinstance(raw_targets, list) or not raw_targets:
        raise _fail(source, "target", "needs at least one [[target]]")
    targets = [_target(t, i, source) for i, t in enumerate(raw_targets)]
    seen: set[str] = set()
    for t in targets:
        if t.name in seen:
            raise _fail(source, f"target {t.name}", "the name is used twice")
        seen.add(t.name)
    if not isinstance(data.get("check", []), list):
        raise _fail(source, "check", "must be a list of [[check]] tables")
    checks = [_check(c, i, source) for i, c in enumerate(data.get("check", []))]
    if not any(t.period == "train" for t in targets):
        raise _fail(source, "target", "needs at least one train target to calibrate against")
    cal = CalibrationFile(
        name=str(data.get("name", Path(source).stem if source else "calibration")),
        scenario=scen,
        seed=seed,
        fixed=fixed,
        parameters=parameters,
        targets=targets,
        checks=checks,
        waves=waves,
        quick_fixed=quick_fixed,
        quick_waves=quick_waves,
        question=str(data.get("question", "")),
        source=source,
    )
    for quick_mode in (False, True):
        try:
            p = cal.base_params(quick_mode)
        except GpsimError as err:
            raise _fail(source, "quick.fixed" if quick_mode else "fixed", str(err)) from None
        for t in targets:
            t.parsed.check_within(p, f"{source + ': ' if source else ''}target {t.name}")
    return cal


def _table(data: Mapping[str, Any], key: str, source: str | None) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise _fail(source, key, "must be a table")
    return value


def load(path: str | os.PathLike) -> CalibrationFile:
    """Read and check a targets file. Raises a one-line :class:`~gpsim.errors.ExperimentError`."""
    from gpsim.paramfile import read_toml

    return from_dict(read_toml(path, "targets file", ExperimentError), source=str(path))
