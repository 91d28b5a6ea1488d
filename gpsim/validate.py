"""``gpsim validate``: does the model reproduce what is known? (docs/CALIBRATION.md)

Reads the targets file of a calibration (default ``experiments/calibrate-england.toml``), runs what its targets
and checks need over N replicates (seeds 0..N-1; synthetic regions also vary ``region_seed``), and prints a table
in three sections: **arithmetic checks** (the numbers game: the relationship metric reproduces the seed article's
arithmetic), **in-sample targets** (2013-2016, the ones a calibration fits) and **out-of-sample targets**
(2017-2021, held out). Each row has the observed value with a 95% interval over replicates, its tolerance,
PASS/FAIL, and whether it was informative: a target met by more than 90% of the prior space in a calibration
(``--calibration DIR``) could hardly have been missed, so passing it shows little. The table is written as
Markdown and CSV with one PNG per section; the command exits 1 if any checked figure fails.

A target passes when the replicates' mean is within 3 standard deviations (observation and model discrepancy,
as stated in the targets file) of the observed value: the same rule the calibration rules settings out by.
Checks that need other scenarios or matched runs (``[[check]]`` in the file) are computed here from the public
API (:func:`gpsim.run`, :class:`gpsim.Results`, :func:`gpsim.region_for`, the metric
:func:`gpsim.metrics.relationships_per_hospital`); nothing in the model knows about them.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gpsim.errors import GpsimError

if TYPE_CHECKING:
    pass

#: The targets file ``gpsim validate`` reads unless told otherwise (in a source checkout).
DEFAULT_TARGETS = Path(__file__).resolve().parent.parent / "experiments" / "calibrate-england.toml"
SECTIONS = {
    "arithmetic": "Arithmetic checks",
    "in-sample": "In-sample targets",
    "out-of-sample": "Out-of-sample targets",
}

#: The no-organisation check uses a synthetic region with the seed article's average practice (facts #2).
NUMBERS_GAME_LIST = 8_000.0
#: Organisation sizes of the seed article's numbers game (patients).
NEIGHBOURHOOD_SIZES = (30_000.0, 50_000.0)
FEDERATION_SIZES = (200_000.0, 300_000.0)
#: Sizes compared for "size costs trust" (patients).
SMALL_ORG, LARGE_ORG = (30_000.0, 50_000.0), 100_000.0
BOOTSTRAP = 2_000


# --- one replicate: every run the targets need, reduced to small plain records --------------------------
@dataclass
class Replicate:
    """What one seed contributes to the targets (plain numbers and small lists, cheap to pickle)."""

    seed: int
    values: dict[str, Any] = field(default_factory=dict)


def _england(seed: int, scenario: str, fixed: dict[str, Any], targets: tuple) -> dict[str, Any]:
    """The calibrated scenario's run: every target of the targets file, plus the figures the checks need."""
    import pandas as pd

    import gpsim
    from gpsim.calibrate.targets import measure

    r = gpsim.run(scenario, seed, **fixed)
    start = r.steps.iloc[0]
    o = r.orgs
    live = o[o["dissolved_step"].isna() & (o["members"] > 0)]
    fb = pd.to_numeric(o["first_benefit_step"], errors="coerce").astype(float)  # missing: never delivered
    delivered = fb.notna() & (fb >= 0)
    thr = r.params.commit_threshold
    small = live[(live["population"] >= SMALL_ORG[0]) & (live["population"] <= SMALL_ORG[1])]
    large = live[live["population"] > LARGE_ORG]
    return dict(
        targets=measure(targets, r),
        rel_start=float(start["relationships_per_hospital_mean"]),
        rel_expected=r.params.hospital_catchment / float(start["mean_list_size"]),
        delays=[float(x) for x in (fb - o["founded_step"])[delivered]],
        org_size=[float(x) for x in live["population"]],
        org_trust=[float(x) for x in live["cohesion"]],
        small_committable=[int(n) for n in ((small["cohesion"] >= thr).sum(), len(small))],
        large_committable=[int(n) for n in ((large["cohesion"] >= thr).sum(), len(large))],
        series_share=[float(x) for x in r.steps["share_practices_in_org"]],
        series_open=[float(x) for x in r.steps["n_practices_open"]],
        series_year=[d.year + (d.month - 1) / 12 for d in r.steps["date"]],
    )


def _survival(final: dict[str, Any]) -> tuple[int, int]:
    n = int(final["survival_36m_after_one_off_n"])
    share = final["survival_36m_after_one_off"]
    return (round(share * n) if n else 0), n


def _synthetic(seed: int, quick: bool) -> dict[str, Any]:
    import gpsim

    years = dict(years=6.0) if quick else {}
    vary = dict(region_seed=seed, **years)
    cliff = gpsim.run("funding-cliff", seed, **vary).final
    recurrent = gpsim.run("recurrent-funding", seed, **vary).final
    # heroic vs distributed, other things equal: the same region and seed, only the leadership choice differs
    heroic = gpsim.run("baseline", seed, distributed_leadership_share=0.0, **vary).final
    distributed = gpsim.run("baseline", seed, distributed_leadership_share=1.0, **vary).final

    def exposure(f: dict[str, Any], kind: str) -> tuple[float, float]:
        n = f[f"orgs_{kind}"]
        rate = f[f"dissolution_rate_{kind}_per_year"]
        dissolved = f["orgs_dissolved"]
        # rate = dissolved / org-years, so org-years = dissolved / rate (all organisations share the kind here)
        years = dissolved / rate if rate and rate > 0 else (0.0 if n == 0 else float("nan"))
        return float(dissolved), float(years)

    h_d, h_y = exposure(heroic, "heroic")
    d_d, d_y = exposure(distributed, "distributed")
    if math.isnan(h_y) or math.isnan(d_y):  # no dissolutions at all: org-years from the org table instead
        h_y, d_y = _org_years(seed, vary, 0.0), _org_years(seed, vary, 1.0)
    return dict(
        cliff=_survival(cliff),
        recurrent=_survival(recurrent),
        heroic=(h_d, h_y),
        distributed=(d_d, d_y),
        delays_baseline=[heroic["median_delivery_delay_months"], distributed["median_delivery_delay_months"]],
        size=_size_pair(seed, vary),
    )


def _size_pair(seed: int, vary: dict) -> dict[str, Any]:
    """Size costs trust, other things equal: the same region and seed under a CCG policy aiming for
    neighbourhood organisations (about 40k) and for large federations (about 250k)."""
    import gpsim

    out: dict[str, Any] = {"small_months": [0, 0], "large_months": [0, 0]}
    for key, name in (("small", "neighbourhood-scale"), ("large", "large-scale")):
        p = gpsim.resolve_params(name, **vary)
        model = gpsim.GPModel(p, rng=seed)
        for _ in range(p.n_months):  # organisation-months able to commit, by size (committable, all)
            model.step()
            o = model.orgs
            alive = o.alive & (o.view("population") > 0)
            pop, can = o.view("population")[alive], o.view("committable")[alive]
            for bucket, sel in (
                ("small_months", (pop >= SMALL_ORG[0]) & (pop <= SMALL_ORG[1])),
                ("large_months", pop > LARGE_ORG),
            ):
                out[bucket][0] += int(can[sel].sum())
                out[bucket][1] += int(sel.sum())
        r = gpsim.Results.from_model(model, seed)
        o = r.orgs
        live = o[o["dissolved_step"].isna() & (o["members"] > 0)]
        members = float(live["members"].sum())
        # members' mean trust in their leaders, over every member practice of a live organisation
        out[f"{key}_trust"] = float((live["cohesion"] * live["members"]).sum() / members) if members else math.nan
        out[f"{key}_orgs"] = [
            (float(pop), bool(coh >= r.params.commit_threshold))
            for pop, coh in zip(live["population"], live["cohesion"], strict=True)
        ]
    return out


def _org_years(seed: int, vary: dict, share: float) -> float:
    import gpsim

    r = gpsim.run("baseline", seed, distributed_leadership_share=share, **vary)
    o = r.orgs
    end = o["dissolved_step"].fillna(r.final["months"]).astype(float)
    return float((end - o["founded_step"]).sum() / 12.0)


def _numbers_game(seed: int, quick: bool) -> dict[str, Any]:
    import gpsim
    from gpsim.metrics import relationships_per_hospital

    n = 600 if quick else 2_400
    p = gpsim.resolve_params(
        "baseline",
        n_practices=n,
        n_ccgs=max(2, n // 38),
        mean_list_size=NUMBERS_GAME_LIST,
        region_seed=seed,
        years=0.25,
    )
    region = gpsim.region_for(p)
    start = gpsim.run(p, seed, region=region).final["relationships_per_hospital_start"]
    rng = np.random.default_rng(seed)
    out = dict(no_orgs=float(start), expected=p.hospital_catchment / float(region.list_size.mean()))
    for key, sizes in (("neighbourhood", NEIGHBOURHOOD_SIZES), ("federation", FEDERATION_SIZES)):
        for within, suffix in (("hospital", ""), ("ccg", "_ccg")):
            org = constructed_organisations(region, sizes, rng, within=within)
            rel = relationships_per_hospital(
                region.hospital,
                org,
                np.ones(region.n_practices, bool),
                np.ones(org.max() + 1, bool),
                region.n_hospitals,
            )
            out[key + suffix] = float(rel.mean())
    return out


def constructed_organisations(
    region, sizes: tuple[float, float], rng: np.random.Generator, within: str = "hospital"
) -> np.ndarray:
    """Every practice in a cohesive, compact organisation of about ``sizes`` patients.

    ``within="hospital"`` draws organisations inside each hospital catchment, the seed article's assumption
    (units nest in catchments); ``within="ccg"`` draws them inside each CCG, as commissioners would, so they
    can straddle catchments. Each area is split into ``k = round(population / target)`` groups (target drawn
    uniformly from ``sizes``) by recursive bisection along its longer axis at population quantiles, which
    gives compact groups of nearly equal population.
    """
    area = region.hospital if within == "hospital" else region.ccg
    org = np.full(region.n_practices, -1, dtype=np.int64)
    next_id = 0
    for a in np.unique(area):
        idx = np.flatnonzero(area == a)
        k = max(1, round(float(region.list_size[idx].sum()) / rng.uniform(*sizes)))
        for group in _bisect(idx, k, region):
            org[group] = next_id
            next_id += 1
    return org


def _bisect(idx: np.ndarray, k: int, region) -> list[np.ndarray]:
    """Split practices ``idx`` into ``k`` compact groups of nearly equal population."""
    if k <= 1 or len(idx) <= 1:
        return [idx]
    x, y = region.x[idx], region.y[idx]
    axis = x if np.ptp(x) >= np.ptp(y) else y
    order = idx[np.argsort(axis, kind="stable")]
    k1 = k // 2
    cum = np.cumsum(region.list_size[order])
    cut = int(np.searchsorted(cum, cum[-1] * k1 / k)) + 1
    cut = min(max(cut, 1), len(order) - 1)
    return _bisect(order[:cut], k1, region) + _bisect(order[cut:], k - k1, region)


def replicate(seed: int, quick: bool = False, scenario: str = "england-2013", fixed=None, targets=()) -> Replicate:
    """Every run one seed contributes (used in a worker process)."""
    values = {
        "england": _england(seed, scenario, dict(fixed or {}), tuple(targets)),
        "synthetic": _synthetic(seed, quick),
        "numbers": _numbers_game(seed, quick),
    }
    return Replicate(seed, values)


# --- rows -----------------------------------------------------------------------------------------------
@dataclass
class Row:
    """One figure: a statistic over replicates, its interval and whether it is within tolerance."""

    section: str
    key: str
    name: str
    source: str
    tolerance: str
    observed: float
    low: float
    high: float
    passed: bool
    per_replicate: list[float]
    unit: str = ""
    band: tuple[float, float] | None = None
    info: bool = False
    available: bool = True
    informative: str = ""
    target: float | None = None

    @property
    def verdict(self) -> str:
        """PASS or FAIL; ``info`` for context; ``n/a`` for an output this model version lacks."""
        if not self.available:
            return "n/a"
        return "info" if self.info else ("PASS" if self.passed else "FAIL")


@dataclass(frozen=True)
class Check:
    """How one figure is computed from the replicates, and what it must be."""

    section: str
    key: str
    name: str
    source: str
    tolerance: str
    statistic: Callable[[list[Replicate]], float]
    ok: Callable[[float], bool]
    per_replicate: Callable[[Replicate], float]
    band: tuple[float, float] | None = None
    unit: str = ""
    info: bool = False
    available: Callable[[list[Replicate]], bool] = lambda reps: True
    informative: str = ""
    target: float | None = None


def _pooled_ratio(num: Callable[[Replicate], float], den: Callable[[Replicate], float]):
    def stat(reps: list[Replicate]) -> float:
        d = sum(den(r) for r in reps)
        return sum(num(r) for r in reps) / d if d else math.nan

    return stat


def _mean(fn: Callable[[Replicate], float]):
    def stat(reps: list[Replicate]) -> float:
        vals = [fn(r) for r in reps]
        vals = [v for v in vals if v == v]
        return float(np.mean(vals)) if vals else math.nan

    return stat


def _e(r: Replicate) -> dict[str, Any]:
    return r.values["england"]


def _s(r: Replicate) -> dict[str, Any]:
    return r.values["synthetic"]


def _n(r: Replicate) -> dict[str, Any]:
    return r.values["numbers"]


def _hazard_ratio(reps: list[Replicate]) -> float:
    h = sum(_s(r)["heroic"][0] for r in reps) / max(sum(_s(r)["heroic"][1] for r in reps), 1e-9)
    d = sum(_s(r)["distributed"][0] for r in reps) / max(sum(_s(r)["distributed"][1] for r in reps), 1e-9)
    return h / d if d > 0 else (math.inf if h > 0 else math.nan)


def _pair_ratio(r: Replicate) -> float:
    return _hazard_ratio([r])


def _spearman(reps: list[Replicate]) -> float:
    from scipy.stats import spearmanr

    size = [x for r in reps for x in _e(r)["org_size"]]
    trust = [x for r in reps for x in _e(r)["org_trust"]]
    if len(size) < 3:
        return math.nan
    return float(spearmanr(size, trust).statistic)


def _committable_ratio(reps: list[Replicate]) -> float:
    """Share of organisation-months able to commit members for organisations above 100k, over that for
    organisations of 30-50k, pooled over both policies of the matched size runs (every live organisation,
    every month, dissolved ones included, so survivors are not the only ones counted)."""
    small = [sum(_s(r)["size"]["small_months"][i] for r in reps) for i in (0, 1)]
    large = [sum(_s(r)["size"]["large_months"][i] for r in reps) for i in (0, 1)]
    if not small[1] or not large[1] or not small[0]:
        return math.nan
    return (large[0] / large[1]) / (small[0] / small[1])


def _england_committable_ratio(reps: list[Replicate]) -> float:
    """The same ratio over the organisations alive at the end of england-2013 (a cross-section of survivors)."""
    k = [sum(_e(r)[key][0] for r in reps) for key in ("small_committable", "large_committable")]
    n = [sum(_e(r)[key][1] for r in reps) for key in ("small_committable", "large_committable")]
    if not n[0] or not n[1] or not k[0]:
        return math.nan
    return (k[1] / n[1]) / (k[0] / n[0])


def _trust_ratio(reps: list[Replicate]) -> float:
    """Members' mean trust in leaders under a large-scale policy over that under a neighbourhood policy."""
    pairs = [(_s(r)["size"]["large_trust"], _s(r)["size"]["small_trust"]) for r in reps]
    pairs = [(a, b) for a, b in pairs if a == a and b == b]
    if not pairs:
        return math.nan
    return float(np.mean([a for a, _ in pairs]) / np.mean([b for _, b in pairs]))


#: The statistics a ``[[check]]`` of the targets file can name: (pooled statistic, per-replicate value, unit).
STATISTICS: dict[str, tuple[Callable[[list[Replicate]], float], Callable[[Replicate], float], str]] = {
    "numbers_no_orgs": (_mean(lambda r: _n(r)["no_orgs"]), lambda r: _n(r)["no_orgs"], ""),
    "numbers_neighbourhood": (_mean(lambda r: _n(r)["neighbourhood"]), lambda r: _n(r)["neighbourhood"], ""),
    "numbers_federation": (_mean(lambda r: _n(r)["federation"]), lambda r: _n(r)["federation"], ""),
    "numbers_neighbourhood_ccg": (
        _mean(lambda r: _n(r)["neighbourhood_ccg"]),
        lambda r: _n(r)["neighbourhood_ccg"],
        "",
    ),
    "numbers_federation_ccg": (_mean(lambda r: _n(r)["federation_ccg"]), lambda r: _n(r)["federation_ccg"], ""),
    "numbers_england_start": (
        _mean(lambda r: _e(r)["rel_start"] / _e(r)["rel_expected"]),
        lambda r: _e(r)["rel_start"] / _e(r)["rel_expected"],
        "",
    ),
    "survival_funding_cliff": (
        _pooled_ratio(lambda r: _s(r)["cliff"][0] * 100, lambda r: _s(r)["cliff"][1]),
        lambda r: _s(r)["cliff"][0] / _s(r)["cliff"][1] * 100 if _s(r)["cliff"][1] else math.nan,
        "%",
    ),
    "survival_recurrent": (
        _pooled_ratio(lambda r: _s(r)["recurrent"][0] * 100, lambda r: _s(r)["recurrent"][1]),
        lambda r: _s(r)["recurrent"][0] / _s(r)["recurrent"][1] * 100 if _s(r)["recurrent"][1] else math.nan,
        "%",
    ),
    "heroic_distributed_ratio": (_hazard_ratio, _pair_ratio, "x"),
    "trust_large_small": (_trust_ratio, lambda r: _trust_ratio([r]), "x"),
    "committable_large_small": (_committable_ratio, lambda r: _committable_ratio([r]), "x"),
    "survivors_size_trust": (_spearman, lambda r: _spearman([r]), ""),
    "survivors_committable": (_england_committable_ratio, lambda r: _england_committable_ratio([r]), "x"),
}


def _target_value(name: str) -> Callable[[Replicate], float]:
    return lambda r: float(_e(r)["targets"][f"target:{name}"])


def checks_from(cal, quick: bool = False, informative: dict[str, str] | None = None) -> list[Check]:
    """The rows of ``gpsim validate`` from a targets file: its ``[[check]]`` tables, then its targets.

    Args:
        cal: a :class:`gpsim.calibrate.targets.CalibrationFile`.
        quick: use the file's quick region (counts in targets are scaled to it).
        informative: target name -> the ``informative`` column of a calibration's targets.csv.
    """
    informative = informative or {}
    out = []
    for c in cal.checks:
        if c.statistic not in STATISTICS:
            raise GpsimError(
                f"{cal.source}: check {c.name}: unknown statistic {c.statistic!r}; "
                f"allowed one of {', '.join(STATISTICS)}"
            )
        stat, per, unit = STATISTICS[c.statistic]
        section = (
            "arithmetic" if c.section == "arithmetic" else {"train": "in-sample", "test": "out-of-sample"}[c.section]
        )
        if c.reported:
            note = "context, not a check"
        elif section == "arithmetic":
            note = "no: arithmetic, holds in any setting"
        else:
            note = "not calibrated: matched runs of other scenarios"
        band = None if c.reported else (c.low if c.low is not None else 0.0, c.high if c.high is not None else math.inf)
        out.append(
            Check(
                section,
                c.name,
                c.label,
                c.source,
                c.tolerance or "reported",
                stat,
                c.ok,
                per,
                band,
                unit,
                info=c.reported,
                informative=note,
            )
        )
    for t in cal.targets_for(quick):
        lo, hi = t.bounds
        value = _target_value(t.name)

        def available(reps: list[Replicate], name: str = t.name) -> bool:
            return all(_e(r)["targets"][f"missing:{name}"] == 0.0 for r in reps)

        out.append(
            Check(
                t.sample,
                t.name,
                t.label,
                t.source,
                f"{_fmt(t.observed)} +/- 3 sd [{_fmt(lo)}, {_fmt(hi)}]",
                _mean(value),
                lambda v, lo=lo, hi=hi: v == v and lo <= v <= hi,
                value,
                (lo, hi),
                available=available,
                informative=informative.get(t.name, "not measured (run gpsim calibrate)"),
                target=t.observed,
            )
        )
    return out


def evaluate(reps: list[Replicate], checks: Sequence[Check]) -> list[Row]:
    """Each check's pooled statistic, 95% bootstrap interval over replicates, and verdict."""
    rng = np.random.default_rng(20130101)
    rows = []
    for c in checks:
        if not c.available(reps):
            rows.append(
                Row(
                    c.section,
                    c.key,
                    c.name,
                    c.source,
                    c.tolerance,
                    math.nan,
                    math.nan,
                    math.nan,
                    False,
                    [],
                    c.unit,
                    c.band,
                    c.info,
                    available=False,
                    informative="not available in this model version",
                    target=c.target,
                )
            )
            continue
        observed = c.statistic(reps)
        boots = []
        if len(reps) > 1:
            for _ in range(BOOTSTRAP):
                pick = rng.integers(0, len(reps), len(reps))
                boots.append(c.statistic([reps[i] for i in pick]))
        boots = np.array([b for b in boots if b == b and np.isfinite(b)])
        low, high = (
            (float(np.percentile(boots, 2.5)), float(np.percentile(boots, 97.5)))
            if len(boots)
            else (observed, observed)
        )
        rows.append(
            Row(
                section=c.section,
                key=c.key,
                name=c.name,
                source=c.source,
                tolerance=c.tolerance,
                observed=observed,
                low=low,
                high=high,
                passed=bool(c.ok(observed)),
                per_replicate=[float(c.per_replicate(r)) for r in reps],
                unit=c.unit,
                band=c.band,
                info=c.info,
                informative=c.informative,
                target=c.target,
            )
        )
    return rows


def run_replicates(
    n: int, cal, quick: bool = False, jobs: int | None = None, show_progress: bool = False
) -> list[Replicate]:
    """Run every check's and target's simulations for seeds 0..n-1 (in ``jobs`` worker processes)."""
    from tqdm import tqdm

    fixed = {**cal.fixed, **(cal.quick_fixed if quick else {})}
    targets = tuple(cal.targets_for(quick))
    jobs = jobs if jobs is not None else min(n, os.cpu_count() or 1)
    bar = dict(total=n, unit="replicate", desc="validate", disable=not show_progress, dynamic_ncols=True)
    args = ([quick] * n, [cal.scenario] * n, [fixed] * n, [targets] * n)
    if jobs <= 1:
        return [replicate(s, quick, cal.scenario, fixed, targets) for s in tqdm(range(n), **bar)]
    with ProcessPoolExecutor(jobs) as ex:
        return list(tqdm(ex.map(replicate, range(n), *args), **bar))


def read_informative(folder: str | os.PathLike | None, cal=None) -> dict[str, str]:
    """Target name -> informative / uninformative / not available, from a calibration's targets.csv.

    With ``cal`` (the targets file being validated), a calibration whose record says it calibrated other targets
    is refused: its informative flags belong to those targets, not these.
    """
    import pandas as pd

    if folder is None:
        return {}
    if cal is not None:
        _check_same_targets(Path(folder), cal)
    import io

    from gpsim.data.files import read_limited

    path = Path(folder) / "targets.csv"
    if not path.exists():
        raise GpsimError(f"--calibration {folder}: no targets.csv (not a finished gpsim calibrate folder)")
    try:  # a regular file of bounded size: a pipe or a device is refused without reading from it
        table = pd.read_csv(io.BytesIO(read_limited(path, 64 << 20, "targets table", GpsimError)))
    except GpsimError as err:
        raise GpsimError(f"--calibration {folder}: {err}") from None
    except (OSError, ValueError) as err:
        raise GpsimError(f"--calibration {folder}: cannot read targets.csv: {err}") from None
    if not {"target", "informative"} <= set(table.columns):
        raise GpsimError(f"--calibration {folder}: targets.csv has no target/informative columns")
    out = {}
    for _, r in table.iterrows():
        share = r.get("prior_pass_share")
        text = str(r["informative"])
        if isinstance(share, float) and share == share:
            text += f" (prior pass {share:.0%})"
        out[str(r["target"])] = text
    return out


# --- output ---------------------------------------------------------------------------------------------
def _fmt(v: float) -> str:
    if v != v:
        return "n/a"
    if math.isinf(v):
        return "inf"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    if abs(v) >= 0.1 or v == 0:
        return f"{v:.2f}"
    return f"{v:.3g}"


def table_rows(rows: list[Row]) -> list[dict[str, str]]:
    return [
        {
            "section": SECTIONS[r.section],
            "target": r.key,
            "figure": r.name,
            "source": r.source,
            "observed": f"{_fmt(r.observed)}{(' ' + r.unit) if r.unit else ''}" if r.available else "n/a",
            "95% interval": f"[{_fmt(r.low)}, {_fmt(r.high)}]" if r.available else "",
            "tolerance": r.tolerance,
            "result": r.verdict,
            "informative": r.informative,
        }
        for r in rows
    ]


def _by_section(rows: list[Row]):
    for section, title in SECTIONS.items():
        mine = [r for r in rows if r.section == section]
        if mine:
            yield section, title, mine


def _verdict_line(rows: list[Row]) -> str:
    checked = [r for r in rows if not r.info and r.available]
    passed = sum(r.passed for r in checked)
    missing = sum(not r.available for r in rows)
    return f"{passed} of {len(checked)} checked figures pass" + (
        f"; {missing} not available in this model version" if missing else ""
    )


def markdown(rows: list[Row], n: int, quick: bool, source: str = "") -> str:
    lines = [
        "# gpsim validate",
        "",
        f"{n} replicates{' (quick mode: smaller England, shorter synthetic runs)' if quick else ''}; targets from "
        f"`{source}`; observed = statistic pooled over replicates; interval = 95% percentile bootstrap over "
        "replicates; a target passes within 3 standard deviations (observation and model discrepancy).",
    ]
    cols = ["target", "figure", "source", "observed", "95% interval", "tolerance", "result", "informative"]
    for _, title, mine in _by_section(rows):
        lines += ["", f"## {title}", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        for t in table_rows(mine):
            lines.append("| " + " | ".join(t[c] for c in cols) + " |")
        lines += ["", _verdict_line(mine) + "."]
    lines += ["", f"In all: {_verdict_line(rows)} ('info' rows give context, not a verdict)."]
    return "\n".join(lines) + "\n"


def text_table(rows: list[Row]) -> str:
    cols = ["target", "figure", "observed", "95% interval", "tolerance", "result", "informative"]
    data = [{k: t[k] for k in cols} for t in table_rows(rows)]
    for d in data:
        d["figure"] = d["figure"] if len(d["figure"]) <= 60 else d["figure"][:57] + "..."
    width = {k: max(len(k), *(len(d[k]) for d in data)) for k in cols}
    out = []
    for _, title, mine in _by_section(rows):
        keys = {r.key for r in mine}
        out += ["", title.upper(), "  ".join(k.ljust(width[k]) for k in cols), "  ".join("-" * width[k] for k in cols)]
        out += ["  ".join(d[k].ljust(width[k]) for k in cols) for d in data if d["target"] in keys]
        out.append(_verdict_line(mine))
    return "\n".join(out).lstrip("\n")


def write_csv(rows: list[Row], path: Path) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "section",
                "target",
                "figure",
                "source",
                "observed",
                "low_95",
                "high_95",
                "tolerance",
                "result",
                "informative",
                "replicates",
            ]
        )
        for r in rows:
            w.writerow(
                [
                    r.section,
                    r.key,
                    r.name,
                    r.source,
                    repr(r.observed),
                    repr(r.low),
                    repr(r.high),
                    r.tolerance,
                    r.verdict,
                    r.informative,
                    " ".join(f"{v:.6g}" for v in r.per_replicate),
                ]
            )


def write_plots(rows: list[Row], reps: list[Replicate], out: Path) -> list[Path]:
    """One PNG per section (each figure's replicate values, pooled value and tolerance band) and one of the
    england series (share in organisations, open practices, months to first delivered benefit)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for section, title, mine in _by_section(rows):
        cols = 5
        nrow = math.ceil(len(mine) / cols)
        fig, axes = plt.subplots(nrow, cols, figsize=(3.4 * cols, 3.0 * nrow), squeeze=False)
        for ax in axes.flat[len(mine) :]:
            ax.axis("off")
        for ax, r in zip(axes.flat, mine, strict=False):
            ax.set_title(f"{r.key}: {r.verdict}", fontsize=9)
            ax.set_xticks([])
            if not r.available:
                ax.text(0.5, 0.5, "not available in\nthis model version", ha="center", va="center", fontsize=9)
                ax.set_yticks([])
                continue
            vals = [v for v in r.per_replicate if v == v and np.isfinite(v)]
            ax.scatter(np.linspace(-0.15, 0.15, len(vals)), vals, s=14, alpha=0.6, label="replicates")
            ax.errorbar(
                [0],
                [r.observed],
                yerr=[[r.observed - r.low], [r.high - r.observed]],
                fmt="o",
                color="k",
                capsize=6,
                label="pooled, 95%",
            )
            if r.band is not None:
                lo, hi = r.band
                top = hi if np.isfinite(hi) else max([r.observed, *vals, lo]) * 1.3
                color = "grey" if r.info else ("green" if r.passed else "red")
                ax.axhspan(lo, top, color=color, alpha=0.12, label=f"tolerance {r.tolerance}")
            if r.target is not None:
                ax.axhline(r.target, color="k", ls="--", lw=1, label="observed in England")
            ax.set_xlim(-0.6, 0.6)
            ax.set_ylabel(r.unit or "value", fontsize=8)
            ax.tick_params(labelsize=7)
        axes.flat[0].legend(fontsize=6, loc="best")
        fig.suptitle(title)
        fig.tight_layout()
        path = out / f"{section}.png"
        fig.savefig(path, dpi=80)
        plt.close(fig)
        paths.append(path)
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    for rep in reps:
        e = _e(rep)
        axes[0].plot(e["series_year"], np.array(e["series_share"]) * 100, color="C0", alpha=0.4, lw=1)
        axes[1].plot(e["series_year"], e["series_open"], color="C0", alpha=0.4, lw=1)
    axes[0].scatter([2015.92], [73], color="k", zorder=3, label="survey 2015: 73%")
    axes[0].set_ylabel("% of practices in an organisation")
    axes[1].set_ylabel("open practices (model region)")
    delays = [d for rep in reps for d in _e(rep)["delays"]]
    axes[2].hist(delays, bins=np.arange(0, max(delays, default=48) + 4, 3), color="C0", alpha=0.7)
    axes[2].axvline(24, color="k", ls="--", lw=1, label="seed article: about two years")
    axes[2].set_xlabel("months from founding to first delivered benefit")
    axes[0].legend(fontsize=7)
    axes[2].legend(fontsize=7)
    fig.suptitle("england-2013 with the parameters validated, every replicate")
    fig.tight_layout()
    path = out / "series.png"
    fig.savefig(path, dpi=80)
    plt.close(fig)
    paths.append(path)
    return paths


def validate(
    replicates: int = 10,
    out: str | os.PathLike | None = None,
    quick: bool = False,
    jobs: int | None = None,
    show_progress: bool = False,
    targets: str | os.PathLike | None = None,
    calibration: str | os.PathLike | None = None,
):
    """Run the targets file's checks and targets and write the outputs. Returns (rows, paths written)."""
    from gpsim.calibrate.targets import load

    cal = load(targets or DEFAULT_TARGETS)
    checks = checks_from(cal, quick, read_informative(calibration, cal))
    reps = run_replicates(replicates, cal, quick=quick, jobs=jobs, show_progress=show_progress)
    rows = evaluate(reps, checks)
    written: list[Path] = []
    if out is not None:
        from gpsim import __version__
        from gpsim.results import write_folder_atomically

        folder = Path(out)

        def write(tmp: Path) -> None:
            (tmp / "validation.md").write_text(markdown(rows, replicates, quick, str(cal.source)))
            write_csv(rows, tmp / "validation.csv")
            write_plots(rows, reps, tmp)
            record = {"gpsim_version": __version__, "targets": str(cal.source), "replicates": replicates}
            (tmp / "validation.json").write_text(json.dumps({**record, "quick": quick}, indent=2) + "\n")

        # written whole beside --out and swapped in: an earlier validation is replaced, nothing else is touched
        written = [folder / n for n in write_folder_atomically(folder, write, output_folder())]
    return rows, written


def _check_same_targets(folder: Path, cal) -> None:
    """Refuse a calibration folder whose record names targets other than ``cal``'s (when it has a record)."""
    from gpsim.calibrate.ensemble import read_posterior

    if not (folder / "calibration.json").exists():
        return
    _, meta = read_posterior(folder, "--calibration")  # the record, checked (a finished calibration of the right shape)
    theirs = meta["calibration"].get("targets")
    mine = cal.normalised(bool(meta.get("quick")))["targets"]
    names = sorted(str(t.get("name")) for t in theirs if isinstance(t, dict)) if isinstance(theirs, list) else None
    if names != sorted(t["name"] for t in mine):
        raise GpsimError(
            f"--calibration {folder}: calibrated other targets ({', '.join((names or ['?'])[:4])}) than "
            f"{cal.source}; its informative flags do not apply to these"
        )


def output_folder():
    """What ``--out`` holds: an earlier validation there (with its validation.json) is replaced whole."""
    from gpsim.results import OutputFolder

    names = {"validation.md", "validation.csv", "validation.json", "series.png", *(f"{k}.png" for k in SECTIONS)}
    return OutputFolder(frozenset(names), "validation.json", "a gpsim validation")


# --- command line ---------------------------------------------------------------------------------------
HELP = """Check the model against a targets file (default experiments/calibrate-england.toml) over N replicates:
arithmetic checks, in-sample targets (2013-2016) and out-of-sample targets (2017-2021), each with the observed
value, a 95% interval over replicates, its tolerance, PASS/FAIL and whether it was informative (give
--calibration DIR to read that from a calibration). Writes validation.md, validation.csv and one PNG per section
into --out; exits 1 if any checked figure fails."""


def cmd_validate(args: argparse.Namespace) -> int:
    from gpsim.results import check_run_folder

    check_run_folder(args.out, output_folder())  # before the replicates run, not after
    if args.replicates < 1:
        raise GpsimError("--replicates must be at least 1")
    if args.jobs is not None and args.jobs < 1:
        raise GpsimError("--jobs must be at least 1")
    from gpsim.calibrate.targets import load

    cal = load(args.targets or DEFAULT_TARGETS)  # a bad file is refused before anything runs
    read_informative(args.calibration, cal)
    rows, written = validate(
        args.replicates,
        args.out,
        quick=args.quick,
        jobs=args.jobs,
        show_progress=not args.quiet and sys.stderr.isatty(),
        targets=args.targets,
        calibration=args.calibration,
    )
    print(text_table(rows))
    failed = [r.key for r in rows if r.available and not r.passed and not r.info]
    print()
    print("In all: " + _verdict_line(rows) + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    if written:
        print(f"wrote {args.out}/: " + ", ".join(p.name for p in written))
    return 1 if failed else 0


def register(subparsers) -> None:
    p = subparsers.add_parser("validate", help="check the model against the calibration targets", description=HELP)
    p.add_argument("--targets", metavar="FILE", help="targets file (default: experiments/calibrate-england.toml)")
    p.add_argument("--calibration", metavar="DIR", help="a gpsim calibrate folder: says which targets were informative")
    p.add_argument("--replicates", type=int, default=10, metavar="N", help="replicates (seeds 0..N-1; default 10)")
    p.add_argument("--out", metavar="DIR", default="validation", help="output folder (default: validation)")
    p.add_argument(
        "--quick", action="store_true", help="the targets file's quick region and shorter runs: a smoke test"
    )
    p.add_argument("--jobs", type=int, metavar="N", help="worker processes (default: one per CPU, at most N)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_validate)
