"""``gpsim validate``: does the model reproduce what is known? (docs/CALIBRATION.md)

Runs the calibration targets over N replicates (seeds 0..N-1; synthetic regions also vary ``region_seed``),
prints a table -- target, source, observed value with a 95% interval over replicates, tolerance,
PASS/FAIL -- writes it as Markdown and CSV plus one PNG per target, and exits 1 if any target fails.

Every figure is computed from the public API (:func:`gpsim.run`, :class:`gpsim.Results`,
:func:`gpsim.region_for` and the pure metric :func:`gpsim.metrics.relationships_per_hospital`); nothing
in the model knows about these targets. The observed value of a row is a statistic pooled over the
replicates; its interval is a percentile bootstrap over replicates (2,000 resamples, fixed seed).
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: The no-organisation check uses a synthetic region with the seed article's average practice (facts #2).
NUMBERS_GAME_LIST = 8_000.0
#: Organisation sizes of the seed article's numbers game (patients).
NEIGHBOURHOOD_SIZES = (30_000.0, 50_000.0)
FEDERATION_SIZES = (200_000.0, 300_000.0)
#: Sizes compared for "size costs trust" (patients).
SMALL_ORG, LARGE_ORG = (30_000.0, 50_000.0), 100_000.0
#: Quick mode (for tests and smoke checks): a smaller synthetic England, same timeline and targets.
QUICK_ENGLAND = dict(n_practices=1_200, n_ccgs=31)
BOOTSTRAP = 2_000


# --- one replicate: every run the targets need, reduced to small plain records --------------------------
@dataclass
class Replicate:
    """What one seed contributes to the targets (plain numbers and small lists, cheap to pickle)."""

    seed: int
    values: dict[str, Any] = field(default_factory=dict)


def _england(seed: int, quick: bool) -> dict[str, Any]:
    import gpsim

    over = dict(QUICK_ENGLAND) if quick else {}
    r = gpsim.run("england-2013", seed, **over)
    s = r.steps.set_index("date")
    at = lambda d, col: float(s.loc[d, col])  # noqa: E731
    start = s.iloc[0]
    years_2021 = (s.index.get_loc(_ts("2021-01-01"))) / 12.0
    o = r.orgs
    live = o[o["dissolved_step"].isna() & (o["members"] > 0)]
    fb = o["first_benefit_step"]
    thr = r.params.commit_threshold
    small = live[(live["population"] >= SMALL_ORG[0]) & (live["population"] <= SMALL_ORG[1])]
    large = live[live["population"] > LARGE_ORG]
    return dict(
        share_2015=at("2015-12-01", "share_practices_in_org"),
        practices_start=float(start["n_practices_open"]),
        practices_2021=at("2021-01-01", "n_practices_open"),
        years_2021=years_2021,
        list_start=float(start["mean_list_size"]),
        list_2021=at("2021-01-01", "mean_list_size"),
        rel_start=float(start["relationships_per_hospital_mean"]),
        rel_expected=r.params.hospital_catchment / float(start["mean_list_size"]),
        delays=[float(x) for x in (fb - o["founded_step"])[fb >= 0]],
        org_size=[float(x) for x in live["population"]],
        org_trust=[float(x) for x in live["cohesion"]],
        small_committable=[int(n) for n in ((small["cohesion"] >= thr).sum(), len(small))],
        large_committable=[int(n) for n in ((large["cohesion"] >= thr).sum(), len(large))],
        series_share=[float(x) for x in r.steps["share_practices_in_org"]],
        series_open=[float(x) for x in r.steps["n_practices_open"]],
        series_list=[float(x) for x in r.steps["mean_list_size"]],
        series_year=[d.year + (d.month - 1) / 12 for d in r.steps["date"]],
    )


def _ts(text: str):
    import pandas as pd

    return pd.Timestamp(text)


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


def replicate(seed: int, quick: bool = False) -> Replicate:
    """Every run one seed contributes (used in a worker process)."""
    values = {"england": _england(seed, quick), "synthetic": _synthetic(seed, quick)}
    values["numbers"] = _numbers_game(seed, quick)
    return Replicate(seed, values)


# --- targets --------------------------------------------------------------------------------------------
@dataclass
class Row:
    """One checked figure: a statistic over replicates, its interval and whether it is within tolerance."""

    target: int
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

    @property
    def verdict(self) -> str:
        """PASS or FAIL; ``info`` for a figure reported for context, not checked against a target."""
        return "info" if self.info else ("PASS" if self.passed else "FAIL")


@dataclass(frozen=True)
class Check:
    target: int
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


def _rate(kind: str):
    def fn(r: Replicate) -> float:
        d, y = _s(r)[kind]
        return d / y * 12.0 / 12.0 if y else math.nan  # dissolutions per organisation-year

    return fn


def _hazard_ratio(reps: list[Replicate]) -> float:
    h = sum(_s(r)["heroic"][0] for r in reps) / max(sum(_s(r)["heroic"][1] for r in reps), 1e-9)
    d = sum(_s(r)["distributed"][0] for r in reps) / max(sum(_s(r)["distributed"][1] for r in reps), 1e-9)
    return h / d if d > 0 else (math.inf if h > 0 else math.nan)


def _pair_ratio(r: Replicate) -> float:
    return _hazard_ratio([r])


def _median_delay(reps: list[Replicate]) -> float:
    delays = [d for r in reps for d in _e(r)["delays"]]
    return float(np.median(delays)) if delays else math.nan


def _change_per_year(r: Replicate) -> float:
    e = _e(r)
    return -((e["practices_2021"] / e["practices_start"]) ** (1.0 / e["years_2021"]) - 1.0) * 100.0


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


def _within(lo: float, hi: float) -> Callable[[float], bool]:
    return lambda v: v == v and lo <= v <= hi


CHECKS: list[Check] = [
    Check(
        1,
        "1a",
        "Relationships per hospital, no organisations (mean list 8,000)",
        "seed article (numbers game); facts #7",
        "37.5 +/- 10%",
        _mean(lambda r: _n(r)["no_orgs"]),
        _within(33.75, 41.25),
        lambda r: _n(r)["no_orgs"],
        (33.75, 41.25),
    ),
    Check(
        1,
        "1b",
        "Relationships per hospital, cohesive organisations of 30-50k nested in catchments",
        "seed article (numbers game)",
        "6-10",
        _mean(lambda r: _n(r)["neighbourhood"]),
        _within(6.0, 10.0),
        lambda r: _n(r)["neighbourhood"],
        (6.0, 10.0),
    ),
    Check(
        1,
        "1c",
        "Relationships per hospital, cohesive organisations of 200-300k nested in catchments",
        "seed article (numbers game)",
        "1-2",
        _mean(lambda r: _n(r)["federation"]),
        _within(1.0, 2.0),
        lambda r: _n(r)["federation"],
        (1.0, 2.0),
    ),
    Check(
        1,
        "1d",
        "england-2013 at the start: relationships per hospital / (catchment / mean list)",
        "seed article (numbers game)",
        "1 +/- 10%",
        _mean(lambda r: _e(r)["rel_start"] / _e(r)["rel_expected"]),
        _within(0.9, 1.1),
        lambda r: _e(r)["rel_start"] / _e(r)["rel_expected"],
        (0.9, 1.1),
    ),
    Check(
        1,
        "1e",
        "Relationships per hospital, cohesive 30-50k organisations drawn within CCGs (straddle catchments)",
        "context: the seed's arithmetic assumes nesting",
        "reported",
        _mean(lambda r: _n(r)["neighbourhood_ccg"]),
        lambda v: True,
        lambda r: _n(r)["neighbourhood_ccg"],
        (6.0, 10.0),
        info=True,
    ),
    Check(
        1,
        "1f",
        "Relationships per hospital, cohesive 200-300k organisations drawn within CCGs (straddle catchments)",
        "context: the seed's arithmetic assumes nesting",
        "reported",
        _mean(lambda r: _n(r)["federation_ccg"]),
        lambda v: True,
        lambda r: _n(r)["federation_ccg"],
        (1.0, 2.0),
        info=True,
    ),
    Check(
        2,
        "2",
        "england-2013: share of practices in an organisation, Dec 2015",
        "seed article (Nuffield/RCGP survey 2015: 73%)",
        "65-80%",
        _mean(lambda r: _e(r)["share_2015"] * 100),
        _within(65.0, 80.0),
        lambda r: _e(r)["share_2015"] * 100,
        (65.0, 80.0),
        "%",
    ),
    Check(
        3,
        "3",
        "england-2013: median months from founding to first delivered benefit",
        "seed article (at least about two years)",
        "20-36 months",
        _median_delay,
        _within(20.0, 36.0),
        lambda r: _median_delay([r]),
        (20.0, 36.0),
        "months",
    ),
    Check(
        4,
        "4a",
        "funding-cliff: organisations alive 36 months after one-off money ends",
        "seed article (non-recurrent money); facts #8-#10",
        "< 50%",
        _pooled_ratio(lambda r: _s(r)["cliff"][0] * 100, lambda r: _s(r)["cliff"][1]),
        lambda v: v == v and v < 50.0,
        lambda r: _s(r)["cliff"][0] / _s(r)["cliff"][1] * 100 if _s(r)["cliff"][1] else math.nan,
        (0.0, 50.0),
        "%",
    ),
    Check(
        4,
        "4b",
        "recurrent-funding: organisations alive 36 months after one-off money ends",
        "facts #11 (recurrent network payment)",
        ">= 80%",
        _pooled_ratio(lambda r: _s(r)["recurrent"][0] * 100, lambda r: _s(r)["recurrent"][1]),
        lambda v: v == v and v >= 80.0,
        lambda r: _s(r)["recurrent"][0] / _s(r)["recurrent"][1] * 100 if _s(r)["recurrent"][1] else math.nan,
        (80.0, 100.0),
        "%",
    ),
    Check(
        5,
        "5",
        "baseline: dissolution rate, heroic / distributed leadership (matched runs)",
        "seed article (heroic leadership may not be sustainable)",
        ">= 1.5x",
        _hazard_ratio,
        lambda v: v == v and v >= 1.5,
        _pair_ratio,
        (1.5, math.inf),
        "x",
    ),
    Check(
        6,
        "6a",
        "england-2013: open practices, fall per year Jan 2013 - Jan 2021",
        "facts #1 (8,106 -> 6,658), #4",
        "1.5-3% a year",
        _mean(_change_per_year),
        _within(1.5, 3.0),
        _change_per_year,
        (1.5, 3.0),
        "%/yr",
    ),
    Check(
        6,
        "6b",
        "england-2013: mean list size, Jan 2021",
        "facts #2 (9,103 in Jan 2021)",
        "9,100 +/- 5%",
        _mean(lambda r: _e(r)["list_2021"]),
        _within(8_645.0, 9_555.0),
        lambda r: _e(r)["list_2021"],
        (8_645.0, 9_555.0),
    ),
    Check(
        6,
        "6c",
        "england-2013: mean list size at the start",
        "facts #2 (6,610 in 2010, 7,294 in 2015)",
        "7,000 +/- 5%",
        _mean(lambda r: _e(r)["list_start"]),
        _within(6_650.0, 7_350.0),
        lambda r: _e(r)["list_start"],
        (6_650.0, 7_350.0),
    ),
    Check(
        7,
        "7a",
        "Members' trust in leaders, large-scale / neighbourhood-scale policy (matched runs)",
        "seed article (the bigger, the harder to represent members)",
        "< 1",
        _trust_ratio,
        lambda v: v == v and v < 1.0,
        lambda r: _trust_ratio([r]),
        (0.0, 1.0),
        "x",
    ),
    Check(
        7,
        "7b",
        "Organisation-months able to commit members, >100k / 30-50k (matched runs)",
        "seed article (value lies in leaders who can commit their practices)",
        "< 1",
        _committable_ratio,
        lambda v: v == v and v < 1.0,
        lambda r: _committable_ratio([r]),
        (0.0, 1.0),
        "x",
    ),
    Check(
        7,
        "7c",
        "england-2013, end: rank correlation of surviving organisations' size with members' trust",
        "context: survivors are selected for trust and have had longer to deliver",
        "reported",
        _spearman,
        lambda v: True,
        lambda r: _spearman([r]),
        None,
        info=True,
    ),
    Check(
        7,
        "7d",
        "england-2013, end: share of surviving organisations able to commit members, >100k / 30-50k",
        "context: survivors are selected for trust and have had longer to deliver",
        "reported",
        _england_committable_ratio,
        lambda v: True,
        lambda r: _england_committable_ratio([r]),
        None,
        "x",
        info=True,
    ),
]

TARGET_TITLES = {
    1: "Numbers game",
    2: "Collaboration spreads fast",
    3: "Two years to deliver",
    4: "The funding cliff",
    5: "Heroic leadership does not last",
    6: "Practices keep closing",
    7: "Size costs trust",
}


def evaluate(reps: list[Replicate], checks: Sequence[Check] = CHECKS) -> list[Row]:
    """Each check's pooled statistic, 95% bootstrap interval over replicates, and verdict."""
    rng = np.random.default_rng(20130101)
    rows = []
    for c in checks:
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
                target=c.target,
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
            )
        )
    return rows


def run_replicates(
    n: int, quick: bool = False, jobs: int | None = None, show_progress: bool = False
) -> list[Replicate]:
    """Run every target's simulations for seeds 0..n-1 (in ``jobs`` worker processes)."""
    from tqdm import tqdm

    jobs = jobs if jobs is not None else min(n, os.cpu_count() or 1)
    bar = dict(total=n, unit="replicate", desc="validate", disable=not show_progress, dynamic_ncols=True)
    if jobs <= 1:
        return [replicate(s, quick) for s in tqdm(range(n), **bar)]
    with ProcessPoolExecutor(jobs) as ex:
        return list(tqdm(ex.map(replicate, range(n), [quick] * n), **bar))


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
    return f"{v:.2f}"


def table_rows(rows: list[Row]) -> list[dict[str, str]]:
    return [
        {
            "target": r.key,
            "figure": r.name,
            "source": r.source,
            "observed": f"{_fmt(r.observed)}{(' ' + r.unit) if r.unit else ''}",
            "95% interval": f"[{_fmt(r.low)}, {_fmt(r.high)}]",
            "tolerance": r.tolerance,
            "result": r.verdict,
        }
        for r in rows
    ]


def markdown(rows: list[Row], n: int, quick: bool) -> str:
    lines = [
        "# gpsim validate",
        "",
        f"{n} replicates{' (quick mode: smaller England, shorter synthetic runs)' if quick else ''}; "
        "observed = statistic pooled over replicates; interval = 95% percentile bootstrap over replicates.",
        "",
        "| target | figure | source | observed | 95% interval | tolerance | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in table_rows(rows):
        lines.append("| " + " | ".join(t.values()) + " |")
    checked = [r for r in rows if not r.info]
    passed = sum(r.passed for r in checked)
    lines += ["", f"{passed} of {len(checked)} checked figures pass ('info' rows give context, not a verdict)."]
    return "\n".join(lines) + "\n"


def text_table(rows: list[Row]) -> str:
    cols = ["target", "figure", "observed", "95% interval", "tolerance", "result"]
    data = [{k: t[k] for k in cols} for t in table_rows(rows)]
    width = {k: max(len(k), *(len(d[k]) for d in data)) for k in cols}
    out = ["  ".join(k.ljust(width[k]) for k in cols), "  ".join("-" * width[k] for k in cols)]
    out += ["  ".join(d[k].ljust(width[k]) for k in cols) for d in data]
    return "\n".join(out)


def write_csv(rows: list[Row], path: Path) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["target", "figure", "source", "observed", "low_95", "high_95", "tolerance", "result", "replicates"])
        for r in rows:
            w.writerow(
                [
                    r.key,
                    r.name,
                    r.source,
                    repr(r.observed),
                    repr(r.low),
                    repr(r.high),
                    r.tolerance,
                    r.verdict,
                    " ".join(f"{v:.6g}" for v in r.per_replicate),
                ]
            )


def write_plots(rows: list[Row], reps: list[Replicate], out: Path) -> list[Path]:
    """One PNG per target: each figure's replicate values, pooled value and tolerance band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for t, title in TARGET_TITLES.items():
        mine = [r for r in rows if r.target == t]
        extra = 1 if t in (2, 3, 6) else 0
        fig, axes = plt.subplots(1, len(mine) + extra, figsize=(4.2 * (len(mine) + extra), 3.6), squeeze=False)
        for ax, r in zip(axes[0], mine, strict=False):
            vals = [v for v in r.per_replicate if v == v and np.isfinite(v)]
            ax.scatter(
                np.zeros(len(vals)) + np.linspace(-0.15, 0.15, len(vals)), vals, s=14, alpha=0.6, label="replicates"
            )
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
                ax.axhspan(
                    lo,
                    top,
                    color="grey" if r.info else ("green" if r.passed else "red"),
                    alpha=0.12,
                    label="seed article's figure, for comparison" if r.info else f"tolerance {r.tolerance}",
                )
            ax.set_xticks([])
            ax.set_xlim(-0.6, 0.6)
            ax.set_title(f"{r.key}: {r.verdict}", fontsize=10)
            ax.set_ylabel(r.unit or "value")
            ax.legend(fontsize=7, loc="best")
        if extra and t == 3:
            ax = axes[0][-1]
            delays = [d for rep in reps for d in _e(rep)["delays"]]
            ax.hist(delays, bins=np.arange(0, max(delays, default=48) + 4, 3), color="C0", alpha=0.7)
            ax.axvline(24, color="k", ls="--", lw=1, label="seed article:\nabout two years")
            ax.set_xlabel("months from founding to first delivered benefit")
            ax.set_ylabel("organisations (all replicates)")
            ax.legend(fontsize=7, loc="center right")
            ax.set_title("england-2013: every organisation that delivered", fontsize=10)
        elif extra:
            ax = axes[0][-1]
            key = "series_share" if t == 2 else "series_open"
            for rep in reps:
                e = _e(rep)
                ys = np.array(e[key]) * (100 if t == 2 else 1)
                ax.plot(e["series_year"], ys, color="C0", alpha=0.4, lw=1)
            if t == 2:
                ax.scatter([2015.92], [73], color="k", zorder=3, label="survey 2015: 73%")
                ax.set_ylabel("% of practices in an organisation")
            else:
                ax.scatter(
                    [2013.25, 2015.5, 2018.0, 2019.67, 2021.0],
                    [8106, 7816, 7254, 6876, 6658],
                    color="k",
                    zorder=3,
                    label="NHS Digital (facts #1)",
                )
                ax.set_ylabel("open practices")
            ax.legend(fontsize=7)
            ax.set_title("england-2013 runs", fontsize=10)
        fig.suptitle(f"Target {t}: {title}")
        fig.tight_layout()
        path = out / f"target-{t}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths


def validate(
    replicates: int = 10,
    out: str | os.PathLike | None = None,
    quick: bool = False,
    jobs: int | None = None,
    show_progress: bool = False,
):
    """Run the targets and write the outputs. Returns (rows, paths written)."""
    reps = run_replicates(replicates, quick=quick, jobs=jobs, show_progress=show_progress)
    rows = evaluate(reps)
    written: list[Path] = []
    if out is not None:
        from gpsim.errors import GpsimError

        folder = Path(out)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise GpsimError(f"cannot write to output folder {folder}: {err.strerror}") from None
        (folder / "validation.md").write_text(markdown(rows, replicates, quick))
        write_csv(rows, folder / "validation.csv")
        written = [folder / "validation.md", folder / "validation.csv", *write_plots(rows, reps, folder)]
    return rows, written


# --- command line ---------------------------------------------------------------------------------------
HELP = """Run the calibration targets (docs/CALIBRATION.md) over N replicates, print the table (target, observed
value with a 95% interval over replicates, tolerance, PASS/FAIL), write validation.md, validation.csv and one
PNG per target into --out, and exit 1 if any target fails."""


def cmd_validate(args: argparse.Namespace) -> int:
    from gpsim.errors import GpsimError

    if args.replicates < 1:
        raise GpsimError("--replicates must be at least 1")
    if args.jobs is not None and args.jobs < 1:
        raise GpsimError("--jobs must be at least 1")
    rows, written = validate(
        args.replicates,
        args.out,
        quick=args.quick,
        jobs=args.jobs,
        show_progress=not args.quiet and sys.stderr.isatty(),
    )
    print(text_table(rows))
    failed = [r.key for r in rows if not r.passed and not r.info]
    print()
    print(
        f"{sum(not r.info for r in rows) - len(failed)} of {sum(not r.info for r in rows)} checked figures pass"
        + (f"; FAILED: {', '.join(failed)}" if failed else "")
    )
    if written:
        print(f"wrote {args.out}/: " + ", ".join(p.name for p in written))
    return 1 if failed else 0


def register(subparsers) -> None:
    p = subparsers.add_parser("validate", help="check the model against the calibration targets", description=HELP)
    p.add_argument("--replicates", type=int, default=10, metavar="N", help="replicates (seeds 0..N-1; default 10)")
    p.add_argument("--out", metavar="DIR", default="validation", help="output folder (default: validation)")
    p.add_argument("--quick", action="store_true", help="smaller England and shorter runs: a smoke test, not a verdict")
    p.add_argument("--jobs", type=int, metavar="N", help="worker processes (default: one per CPU, at most N)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_validate)
