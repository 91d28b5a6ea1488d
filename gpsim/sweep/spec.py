"""Experiment files: the schema, TOML loading, and validation against the one parameter declaration.

An experiment is a base scenario, fixed overrides, varied parameters with a design, a number of replicates, a
root seed, a run length and which outputs to keep. Everything is checked before anything runs; a mistake is
refused with one line naming the file, the key and the allowed values (see ``docs/SWEEPS.md``)::

    from gpsim.experiment import Experiment, load

    exp = load("experiments/numbers-game.toml")
    exp = Experiment(name="tiny", vary={"target_org_size": [50_000, 200_000]}, replicates=2, years=1)
    exp.run("sweeps/tiny", workers=2)
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gpsim.data.files import read_limited, size_text
from gpsim.errors import ExperimentError, GpsimError, shown
from gpsim.params import SPECS_BY_NAME, Params, unknown_message
from gpsim.scenarios import DEFAULT_SCENARIO, SCENARIOS, scenario
from gpsim.sweep.manifest import identity

if TYPE_CHECKING:
    import pandas as pd

DESIGNS = ("grid", "zip", "lhs", "sobol", "morris", "csv")
SAMPLED = ("lhs", "sobol", "morris")  # designs that draw values from a [low, high] range

TOP_KEYS = ("name", "question", "scenario", "replicates", "seed", "years", "fixed", "vary", "design", "outputs")
DESIGN_KEYS = ("kind", "samples", "levels", "second_order", "file")
OUTPUT_KEYS = ("steps", "orgs", "key")

#: Outputs plotted by ``gpsim sweep analyze`` unless an experiment lists its own (tables cover every output).
#: Most runs one experiment may plan (design rows x replicates); a typo such as ``replicates = 1e9`` is refused
#: before anything is generated, instead of exhausting memory.
MAX_RUNS = 10_000_000
#: Largest points file read (a csv design): far more than MAX_RUNS points of a few parameters.
MAX_POINTS_BYTES = 1 << 30

DEFAULT_KEY_OUTPUTS = (
    "relationships_per_hospital_mean",
    "share_population_committable",
    "share_practices_in_org",
    "n_orgs",
    "n_practices_open",
    "survival_36m_after_one_off",
)


def stable_hash(text: str) -> int:
    """A 63-bit integer from SHA-256 of ``text``: the same on every machine, Python version and run."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no spaces: the text that hashes are taken of."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_plain)


def _plain(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(f"cannot write {type(x).__name__} as JSON")


@dataclass(frozen=True)
class RunSpec:
    """One run of an experiment: a design point and a replicate."""

    run_key: str
    point_id: str
    point_hash: int
    replicate: int
    values: dict[str, Any]  # the varied parameters at this point


@dataclass
class Experiment:
    """One experiment: what varies, how, how often, and what is kept.

    Args:
        name: a short name (used for the default output folder).
        question: one sentence saying what the experiment asks.
        scenario: the named scenario every run starts from.
        fixed: parameter overrides shared by every run.
        vary: the varied parameters. For ``grid``/``zip``: name -> list of values. For ``lhs``/``sobol``/
            ``morris``: name -> ``[low, high]`` (or ``{}`` for the parameter's whole declared range). For
            ``csv``: a list of names to take from the file (or empty for every column).
        design: ``grid``, ``zip``, ``lhs``, ``sobol``, ``morris`` or ``csv``.
        samples: lhs: points; sobol: base samples N (runs = N(D+2), or N(2D+2) with second order);
            morris: trajectories (runs = r(D+1)).
        levels: morris grid levels.
        second_order: sobol second-order indices.
        points_file: csv design: the file of points (relative to the experiment file).
        replicates: runs per design point, each with its own seed.
        seed: the root seed of the experiment.
        years: run length (overrides the scenario and ``fixed``); None keeps them.
        steps_every: keep the monthly ``steps`` table every N months (1 = every month, 0 = not at all).
        keep_orgs: keep every run's ``orgs`` and ``closures`` tables (``[outputs] orgs``; for survival analysis).
        key_outputs: outputs plotted by ``analyze``.
        source: the file this came from (for messages), or None.
    """

    name: str = "experiment"
    question: str = ""
    scenario: str = DEFAULT_SCENARIO
    fixed: dict[str, Any] = field(default_factory=dict)
    vary: dict[str, Any] | list[str] = field(default_factory=dict)
    design: str = "grid"
    samples: int = 16
    levels: int = 4
    second_order: bool = False
    points_file: str | None = None
    replicates: int = 1
    seed: int = 0
    years: float | None = None
    steps_every: int = 0
    keep_orgs: bool = True
    key_outputs: tuple[str, ...] = DEFAULT_KEY_OUTPUTS
    source: str | None = None

    def __post_init__(self) -> None:
        self._points: pd.DataFrame | None = None
        self._design_rows: pd.DataFrame | None = None
        self.validate()

    # --- validation ---------------------------------------------------------------------------
    def _where(self, key: str) -> str:
        return f"{self.source}: {key}" if self.source else key

    def _fail(self, key: str, message: str) -> ExperimentError:
        return ExperimentError(f"{self._where(key)}: {message}")

    def validate(self) -> None:
        """Check everything against the parameter declaration; raise one-line :class:`ExperimentError`."""
        if not isinstance(self.name, str) or not self.name.strip():
            raise self._fail("name", "must be non-empty text")
        if self.name.strip() in (".", "..") or any(c in self.name for c in "/\\\0") or self.name != self.name.strip():
            raise self._fail("name", f"{self.name!r} must be a plain name (it names the default folder sweeps/NAME)")
        if not isinstance(self.question, str):
            raise self._fail("question", "must be text")
        if not isinstance(self.scenario, str) or self.scenario not in SCENARIOS:
            raise self._fail("scenario", f"unknown scenario {self.scenario!r}; allowed one of {', '.join(SCENARIOS)}")
        if self.design not in DESIGNS:
            raise self._fail("design.kind", f"unknown design {self.design!r}; allowed one of {', '.join(DESIGNS)}")
        for key, value, low in (
            ("replicates", self.replicates, 1),
            ("design.samples", self.samples, 1),
            ("design.levels", self.levels, 2),
            ("outputs.steps", self.steps_every, 0),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise self._fail(key, f"{shown(value)} must be a whole number >= {low}")
            if value >= 2**63:  # far beyond any plan; keeps the size arithmetic and its message in range
                raise self._fail(key, f"{shown(value)} is too large")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**63:
            raise self._fail("seed", f"{shown(self.seed)} must be a whole number in [0, 2^63)")
        if not isinstance(self.second_order, bool):
            raise self._fail("design.second_order", "must be true or false")
        if not isinstance(self.keep_orgs, bool):
            raise self._fail("outputs.orgs", f"{self.keep_orgs!r} must be true or false")
        if not isinstance(self.fixed, Mapping):
            raise self._fail("fixed", "must be a table of parameter = value")
        self.fixed = dict(self.fixed)
        for name, value in self.fixed.items():
            self.fixed[name] = self._check_value(f"fixed.{name}", name, value)
        if self.years is not None:
            self.years = self._check_value("years", "years", self.years)
            if "years" in self.fixed and self.fixed["years"] != self.years:
                raise self._fail(
                    "years",
                    f"{shown(self.years)} and fixed.years = {shown(self.fixed['years'])} disagree; give years once",
                )
        base = self.base_params()  # the combination of scenario + fixed + years must itself be valid
        del base
        if not isinstance(self.key_outputs, (list, tuple)) or not all(isinstance(k, str) for k in self.key_outputs):
            raise self._fail("outputs.key", 'must be a list of output names, e.g. ["n_orgs"]')
        self.key_outputs = tuple(self.key_outputs)
        self._check_vary()
        self._check_size()

    def _check_size(self) -> None:
        """Refuse a plan of more than :data:`MAX_RUNS` runs before generating it."""
        kind, d = self.design, len(self.vary)
        if kind == "grid":
            rows = math.prod(len(v) for v in self.vary.values())
        elif kind == "zip":
            rows = len(next(iter(self.vary.values())))
        elif kind == "lhs":
            rows = self.samples
        elif kind == "sobol":
            rows = self.samples * (2 * d + 2 if self.second_order else d + 2)
        elif kind == "morris":
            rows = self.samples * (d + 1)
        else:
            rows = len(self._design_rows) if self._design_rows is not None else 0
        if rows * self.replicates > MAX_RUNS:
            raise self._fail(
                "replicates" if rows <= MAX_RUNS else "design",
                f"plans {rows:,} design rows x {self.replicates:,} replicates = {rows * self.replicates:,} runs; "
                f"at most {MAX_RUNS:,} are allowed in one experiment",
            )
        need, have = plan_bytes(rows, rows * self.replicates, len(self.vary)), machine_memory()
        if have and need > have // 2:
            raise self._fail(
                "design",
                f"plans {rows:,} design rows and {rows * self.replicates:,} runs, which need about {size_text(need)} "
                f"of memory to plan and schedule, more than half of this machine's {size_text(have)}; split the "
                "experiment into smaller ones (refused before the design is built)",
            )

    def _check_value(self, key: str, name: str, value: Any) -> Any:
        spec = SPECS_BY_NAME.get(name)
        if spec is None:
            raise self._fail(key, unknown_message(name))
        try:
            if isinstance(value, str) and spec.kind is not str:
                value = spec.parse(value)
            return spec.check(value)
        except GpsimError as err:
            raise self._fail(key, str(err)) from None

    def _check_vary(self) -> None:
        kind = self.design
        if kind == "csv":
            if not self.points_file:
                raise self._fail("design.file", "the csv design needs file = 'points.csv'")
            names = list(self.vary) if self.vary else []
            if isinstance(self.vary, Mapping) and any(v not in (None, {}, []) for v in self.vary.values()):
                raise self._fail("vary", "the csv design takes its values from design.file; list names only")
            self.vary = names
            self._points_from_csv()
            return
        if not isinstance(self.vary, Mapping) or not self.vary:
            raise self._fail("vary", "needs at least one varied parameter")
        checked: dict[str, Any] = {}
        for name, values in self.vary.items():
            key = f"vary.{name}"
            spec = SPECS_BY_NAME.get(name)
            if spec is None:
                raise self._fail(key, unknown_message(name))
            if name in self.fixed:
                raise self._fail(key, "is also in [fixed]; a parameter is either fixed or varied")
            if kind in ("grid", "zip"):
                if not isinstance(values, list) or not values:
                    raise self._fail(key, f"the {kind} design needs a non-empty list of values")
                checked[name] = [self._check_value(key, name, v) for v in values]
                if len(set(map(repr, checked[name]))) != len(checked[name]):
                    raise self._fail(key, "lists a value twice")
            else:
                if spec.kind not in (int, float):
                    raise self._fail(
                        key, f"the {kind} design needs a numeric parameter; {name} is {spec.kind.__name__}"
                    )
                if isinstance(values, Mapping):
                    low, high = values.get("low", spec.low), values.get("high", spec.high)
                    extra = set(values) - {"low", "high"}
                    if extra:
                        raise self._fail(key, f"unknown key {sorted(extra)[0]!r}; use low and high")
                elif isinstance(values, list) and len(values) == 2:
                    low, high = values
                else:
                    raise self._fail(key, f"the {kind} design needs [low, high] or {{low = ..., high = ...}}")
                if low is None or high is None:
                    raise self._fail(key, f"has no declared bound; give [low, high] within {spec.range_text}")
                low = self._check_value(key, name, low)
                high = self._check_value(key, name, high)
                if not low < high:
                    raise self._fail(key, f"low {low} must be below high {high}")
                checked[name] = [low, high]
        if kind == "zip":
            lengths = {len(v) for v in checked.values()}
            if len(lengths) > 1:
                raise self._fail("vary", f"the zip design needs lists of equal length, not {sorted(lengths)}")
        if kind == "morris" and len(checked) < 2 or kind == "sobol" and len(checked) < 2:
            raise self._fail("vary", f"the {kind} design needs at least two varied parameters")
        self.vary = checked

    def _points_from_csv(self) -> pd.DataFrame:
        import pandas as pd

        path = Path(self.points_file)
        if not path.is_absolute() and self.source:
            path = Path(self.source).parent / path
        key = "design.file"
        if not path.exists():
            raise self._fail(key, f"points file {str(path)!r} not found")
        try:
            raw = read_limited(path, MAX_POINTS_BYTES, "points file", ExperimentError)
        except ExperimentError as err:
            raise self._fail(key, str(err)) from None
        try:
            frame = pd.read_csv(io.BytesIO(raw))
        except (OSError, ValueError) as err:
            raise self._fail(key, f"cannot read points file {str(path)!r}: {str(err).strip()}") from None
        if frame.empty:
            raise self._fail(key, f"points file {str(path)!r} has no rows")
        names = list(self.vary) or list(frame.columns)
        for name in names:
            if name not in SPECS_BY_NAME:
                raise self._fail(f"{key} column {name!r}", unknown_message(name))
            if name not in frame.columns:
                raise self._fail(key, f"points file {str(path)!r} has no column {name!r}")
            if name in self.fixed:
                raise self._fail(f"{key} column {name!r}", "is also in [fixed]")
        rows = []
        for i, rec in enumerate(frame[names].to_dict("records")):
            row = {}
            for n, v in rec.items():
                where = f"{key} row {i + 2} column {n!r}"
                if isinstance(v, float) and math.isnan(v):  # pandas reads an empty cell as NaN too
                    raise self._fail(where, "is empty or NaN; every point needs a value")
                row[n] = self._check_value(where, n, _py(v))
            rows.append(row)
        self.vary = names
        self._design_rows = pd.DataFrame(rows, columns=names)
        self._points_sha256 = hashlib.sha256(raw).hexdigest()  # the very bytes the points were read from
        return self._design_rows

    # --- what runs ----------------------------------------------------------------------------
    def base_params(self) -> Params:
        """The scenario with ``fixed`` and ``years`` applied."""
        values = dict(self.fixed)
        if self.years is not None:
            values["years"] = self.years
        if "region" in values:
            values["region"] = self.resolve_region(values["region"])
        try:
            return Params.from_mapping(values, scenario(self.scenario))
        except GpsimError as err:
            raise self._fail("fixed", str(err)) from None

    @property
    def varied(self) -> list[str]:
        """The names of the varied parameters, in file order."""
        return list(self.vary)

    def problem(self) -> dict[str, Any]:
        """The SALib problem definition (names and bounds) for sampled designs."""
        if self.design not in SAMPLED:
            raise ExperimentError(f"the {self.design} design has no SALib problem")
        return {
            "num_vars": len(self.vary),
            "names": list(self.vary),
            "bounds": [[float(lo), float(hi)] for lo, hi in self.vary.values()],
        }

    def design_rows(self) -> pd.DataFrame:
        """Every row of the design in order (a sampled design may repeat a point after integer rounding).

        Columns: ``row``, ``point_id`` and one per varied parameter.
        """
        if self._design_rows is None or "point_id" not in self._design_rows:
            from gpsim.sweep.designs import make_design

            rows = self._design_rows if self.design == "csv" else make_design(self)
            rows = rows.reset_index(drop=True)
            ids = [point_id(rec) for rec in rows.to_dict("records")]
            rows.insert(0, "point_id", ids)
            rows.insert(0, "row", np.arange(len(rows)))
            self._design_rows = rows
        return self._design_rows

    def points(self) -> pd.DataFrame:
        """The distinct design points, indexed by ``point_id``, in first-appearance order."""
        rows = self.design_rows()
        return rows.drop(columns="row").drop_duplicates("point_id").set_index("point_id")

    def params_for(self, values: Mapping[str, Any]) -> Params:
        """The full parameters of one point (a relative register path resolved against the experiment file)."""
        values = dict(values)
        if "region" in values:
            values["region"] = self.resolve_region(values["region"])
        return Params.from_mapping(values, self.base_params())

    def runs(self) -> list[RunSpec]:
        """Every run (point x replicate), each with a key that does not depend on order or on other points."""
        out = []
        for pid, rec in self.points().iterrows():
            values = {k: _py(v) for k, v in rec.items()}
            for r in range(self.replicates):
                out.append(RunSpec(f"{pid}-r{r}", pid, int(pid, 16), r, values))
        return out

    def check_points(self) -> None:
        """Build the full parameters of every point, so a bad combination is refused before anything runs.

        The region of every point is checked too: a real region's file and CCGs (each distinct region text once),
        and a synthetic region's CCG count against its practice count.
        """
        regions: set[str] = set()
        for pid, rec in self.points().iterrows():
            try:
                params = self.params_for({k: _py(v) for k, v in rec.items()})
                if params.region == "synthetic":
                    if params.n_ccgs > params.n_practices:
                        raise ExperimentError(
                            f"parameter 'n_ccgs' = {params.n_ccgs} exceeds 'n_practices' = {params.n_practices}"
                        )
                elif params.region not in regions:
                    from gpsim.data import check_region_text

                    check_region_text(params.region)
                    regions.add(params.region)
            except GpsimError as err:
                raise self._fail(f"design point {pid}", str(err)) from None

    def seed_for(self, run: RunSpec) -> np.random.SeedSequence:
        """``SeedSequence(root seed, spawn_key=(hash of the point, replicate))``."""
        return np.random.SeedSequence(self.seed, spawn_key=(run.point_hash, run.replicate))

    # --- identity -----------------------------------------------------------------------------
    def normalised(self) -> dict[str, Any]:
        """Everything that determines the runs, in a canonical form (recorded in the manifest)."""
        out = {
            "name": self.name,
            "question": self.question,
            "scenario": self.scenario,
            "fixed": dict(sorted(self.fixed.items())),
            "years": self.years,
            "design": {"kind": self.design},
            "vary": self.vary,
            "replicates": self.replicates,
            "seed": self.seed,
            "outputs": {"steps": self.steps_every, "key": list(self.key_outputs)},
        }
        if not self.keep_orgs:  # only when off, so experiments made before orgs were kept keep their hash
            out["outputs"]["orgs"] = False
        if self.design in ("lhs", "sobol", "morris"):
            out["design"]["samples"] = self.samples
        if self.design == "morris":
            out["design"]["levels"] = self.levels
        if self.design == "sobol":
            out["design"]["second_order"] = self.second_order
        if self.design == "csv":
            out["design"]["file"] = self.points_file
            out["design"]["points_sha256"] = self._points_sha256
        registers = self.registers()
        if registers:
            out["registers"] = registers
        return out

    @property
    def hash(self) -> str:
        """SHA-256 of what decides the runs: resume refuses a folder made by a different experiment.

        The normalised experiment, including the content hashes of its points file and register files, but not
        its ``question`` (rewording the question does not change a single run).
        """
        return hashlib.sha256(canonical_json(identity(self.normalised())).encode()).hexdigest()

    def registers(self) -> dict[str, str]:
        """The SHA-256 of the content of every register file a run reads, by region text (as written)."""
        texts = {self.region_text({})}
        if "region" in self.varied:
            texts = {str(v) for v in self.design_rows()["region"]}
        from gpsim.data import region_register_sha256

        out = {}
        for text in sorted(t for t in texts if t != "synthetic"):
            try:
                out[text] = region_register_sha256(self.resolve_region(text))
            except GpsimError as err:
                raise self._fail("region", str(err)) from None
        return out

    def region_text(self, values: Mapping[str, Any]) -> str:
        """The region text (as written in the file) of the point with these varied ``values``."""
        if "region" in values:
            return str(values["region"])
        return str(self.fixed.get("region") or _scenario_region(self.scenario))

    def resolve_region(self, text: str) -> str:
        """Region text with a relative ``@PATH`` made relative to the experiment file (not the current folder)."""
        from gpsim.data import region_beside

        return region_beside(text, Path(self.source).parent) if self.source else text

    def summary(self) -> str:
        n_points = len(self.points())
        return (
            f"{self.name}: {self.design} design over {', '.join(self.varied)}; {n_points} points x "
            f"{self.replicates} replicates = {n_points * self.replicates} runs"
        )

    # --- running ------------------------------------------------------------------------------
    def run(
        self,
        out: str | os.PathLike,
        *,
        workers: int = 1,
        scheduler: str | None = None,
        resume: bool = False,
        retry_failed: bool = False,
        progress: Callable[[int, int, int], None] | None = None,
        show_bar: bool = False,
        batch: int = 50,
    ):
        """Run the experiment into ``out`` (see :func:`gpsim.sweep.engine.run_sweep`).

        With ``workers`` > 1 this starts worker processes, which import the calling script again: in a script,
        call it under ``if __name__ == "__main__":`` (it refuses, with that message, otherwise).
        """
        from gpsim.sweep.engine import run_sweep  # here, not above: the engine loads pandas and pyarrow

        return run_sweep(
            self,
            out,
            workers=workers,
            scheduler=scheduler,
            resume=resume,
            retry_failed=retry_failed,
            progress=progress,
            show_bar=show_bar,
            batch=batch,
        )

    # --- construction -------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str | None = None) -> Experiment:
        """Build from the parsed TOML tables (unknown keys are refused)."""
        where = f"{source}: " if source else ""

        def refuse_unknown(table: Mapping[str, Any], allowed: tuple[str, ...], prefix: str) -> None:
            for key in table:
                if key not in allowed:
                    import difflib

                    close = difflib.get_close_matches(key, allowed, n=1)
                    hint = f"; did you mean {close[0]}?" if close else f"; allowed keys: {', '.join(allowed)}"
                    raise ExperimentError(f"{where}{prefix}{key}: unknown key{hint}")

        if "target" in data and "target" not in TOP_KEYS:
            raise ExperimentError(f"{where}a calibration targets file, not a sweep; run it with gpsim calibrate")
        refuse_unknown(data, TOP_KEYS, "")
        design = data.get("design", {"kind": "grid"})
        if isinstance(design, str):
            design = {"kind": design}
        if not isinstance(design, Mapping):
            raise ExperimentError(f"{where}design: must be a table with kind = 'grid' (or a design name)")
        refuse_unknown(design, DESIGN_KEYS, "design.")
        outputs = data.get("outputs", {})
        if not isinstance(outputs, Mapping):
            raise ExperimentError(f"{where}outputs: must be a table")
        refuse_unknown(outputs, OUTPUT_KEYS, "outputs.")
        steps = outputs.get("steps", False)
        steps_every = {True: 1, False: 0}.get(steps, steps) if isinstance(steps, bool) else steps
        for key in ("fixed", "vary"):
            if key in data and not isinstance(data[key], (Mapping, list)):
                raise ExperimentError(f"{where}{key}: must be a table")
        kwargs: dict[str, Any] = dict(
            name=data.get("name", Path(source).stem if source else "experiment"),
            question=data.get("question", ""),
            scenario=data.get("scenario", DEFAULT_SCENARIO),
            fixed=data.get("fixed", {}),
            vary=data.get("vary", {}),
            design=design.get("kind", "grid"),
            samples=design.get("samples", 16),
            levels=design.get("levels", 4),
            second_order=design.get("second_order", False),
            points_file=design.get("file"),
            replicates=data.get("replicates", 1),
            seed=data.get("seed", 0),
            years=data.get("years"),
            steps_every=steps_every,
            keep_orgs=outputs.get("orgs", True),
            key_outputs=outputs.get("key", DEFAULT_KEY_OUTPUTS),  # checked (and made a tuple) by validate
            source=source,
        )
        return cls(**kwargs)


#: Memory the plan of one experiment takes, measured on 50,000-point grids: a design row with its point id
#: (about 100 bytes plus 100 per varied parameter), a run key (about 400 bytes) and the task a run is sent as
#: (its full parameters: about 3.5 KB). Rounded up, as the estimate is meant to refuse, not to predict.
BYTES_PER_ROW, BYTES_PER_VALUE, BYTES_PER_RUN = 200, 120, 4_500


@functools.cache
def _scenario_region(name: str) -> str:
    return scenario(name).region


def plan_bytes(rows: int, runs: int, varied: int) -> int:
    """Estimated memory (bytes) for a plan of ``rows`` design rows and ``runs`` runs, before building it."""
    return rows * (BYTES_PER_ROW + BYTES_PER_VALUE * varied) + runs * BYTES_PER_RUN


def machine_memory() -> int:
    """This machine's physical memory in bytes (0 where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def point_id(values: Mapping[str, Any]) -> str:
    """The id of a design point: 16 hex digits of the stable hash of its canonical JSON."""
    return f"{stable_hash(canonical_json({k: _py(v) for k, v in values.items()})):016x}"


def _py(v: Any) -> Any:
    """A plain Python value (numpy scalars unwrapped; whole floats of int parameters left to the spec)."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


def load(path: str | os.PathLike) -> Experiment:
    """Read and validate an experiment file (TOML). Raises a one-line :class:`ExperimentError`."""
    from gpsim.paramfile import read_toml

    p = Path(path)
    exp = Experiment.from_dict(read_toml(p, "experiment file", ExperimentError), source=str(p))
    exp.check_points()
    return exp
