"""``gpsim bench``: how fast gpsim is, against its targets (also ``python -m benchmarks`` from a checkout).

Cases (``--only`` picks some; ``--quick`` makes each smaller and shorter -- a smoke test, not a verdict):

* ``baseline`` -- the default synthetic region (180 practices, 120 months): a small reference figure.
* ``england-2021`` -- all England from the January 2021 register, 120 months, initialisation included.
* ``england-2013`` -- synthetic England 2013 (8,100 practices), 108 months.
* ``mesa`` -- practice-steps per second of all England against agent-steps per second of Mesa's own
  Boltzmann wealth example (no data collection) with as many agents, for as many steps, in this process.
* ``calibration`` -- england-2013 runs as a calibration makes them (sweep-engine tasks, serially, one warm
  process): runs per hour on all CPUs of this machine; beside it, the time to fit one wave's emulators on a
  wave the size of England's, serially and in one process per CPU (reported, not judged).
* ``ensemble`` -- ``gpsim.replicates`` of one setting over 10 seeds on a ~300-practice area (the UI's bands).
* ``cli`` -- whole command-line processes: the listings (``--help``, ``params``, ``scenarios``, ``regions``),
  and ``gpsim run --region england --years 10 --out`` less ``python -c "import gpsim"``.
* ``scaling`` -- synthetic regions of 1k to 100k practices (100 per CCG), 120 months: time against N, the
  fitted log-log exponent, and memory per practice (tracemalloc peak of one extra run).
* ``sweep`` -- a 40-run sweep (``gpsim.sweep``) serially and on a local Dask cluster of 2 workers; the Dask
  time includes starting the cluster. Beside it, the most the machine allows (:func:`parallel_ceiling`).
* ``ui`` -- one server-side Step of the workshop UI for a ~300-practice region: a month of the model plus
  the map, the charts and the organisations table the page draws after it.

Each case runs once to warm up (regions are built and cached then, as in any session), then ``--repeats``
times. Times are wall-clock medians (min and max shown); CPU time of this process is recorded too, because
the machine may be shared: when the wall median misses a target while the CPU median meets it, the report
says so. A JSON record (machine, load, git commit, versions, every timing) goes to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: Case names, in the order they run.
CASES = (
    "baseline",
    "england-2021",
    "england-2013",
    "mesa",
    "calibration",
    "ensemble",
    "cli",
    "scaling",
    "sweep",
    "ui",
)
#: Practices of the synthetic regions of the scaling case (quick: the first three).
SCALING_SIZES = (1_000, 3_000, 10_000, 30_000, 100_000)
#: Practices per CCG in the scaling regions (England: about 40 in 2013 and 50 in 2021).
PRACTICES_PER_CCG = 100
#: The sweep: runs, workers, and the practices of its synthetic region (sized so one run takes about a second).
SWEEP_RUNS, SWEEP_WORKERS, SWEEP_PRACTICES = 40, 2, 8_000
#: The UI case: region (285 practices), Step clicks timed after the warm-up.
UI_REGION, UI_CLICKS = "west-yorkshire", 36
#: The ensemble case: seeds of one setting on a ~300-practice area (the UI's "10 seeds").
ENSEMBLE_REGION, ENSEMBLE_SEEDS = "west-yorkshire", 10
#: The command-line case: listings that must start quickly, and the run that is timed beyond ``import gpsim``.
CLI_LISTINGS = (("--help",), ("params",), ("scenarios",), ("regions",))
CLI_RUN = ("run", "--region", "england", "--years", "10", "--quiet")


@dataclass(frozen=True)
class Target:
    """One performance target: ``value <= limit`` (or ``>=`` when ``higher`` is better)."""

    case: str
    name: str
    limit: float
    unit: str
    higher: bool = False
    #: Which figure of the case's record is judged (``value``; its CPU twin is ``cpu_`` + key).
    key: str = "value"
    #: A figure of the case's record that says what the machine allowed, printed beside the verdict.
    ceiling: str | None = None

    @property
    def label(self) -> str:
        return self.case if self.key == "value" else f"{self.case}-{self.key.removesuffix('_value')}"

    def met(self, value: float) -> bool:
        return value >= self.limit if self.higher else value <= self.limit

    def text(self) -> str:
        return f"{'>=' if self.higher else '<='} {self.limit:g} {self.unit}".rstrip()


TARGETS = (
    Target("england-2021", "all England 2021 (120 months), median wall time", 1.0, "s"),
    Target("england-2013", "England 2013 (108 months), median wall time", 1.5, "s"),
    Target("mesa", "practice-steps/s over Mesa Boltzmann agent-steps/s", 5.0, "x", higher=True),
    Target("scaling", "log-log exponent of time against practices", 1.1, ""),
    Target("calibration", "england-2013 runs per hour on this machine (all CPUs)", 3000.0, "runs/h", higher=True),
    Target("ensemble", f"{ENSEMBLE_SEEDS} seeds of a ~300-practice area, one process", 1.5, "s"),
    Target("cli", "slowest of gpsim --help / params / scenarios / regions, whole process", 0.5, "s"),
    Target("cli", "gpsim run --region england --years 10 --out, beyond import gpsim", 1.5, "s", key="run_value"),
    Target("sweep", f"sweep, serial time over Dask x{SWEEP_WORKERS} time", 1.8, "x", higher=True, ceiling="ceiling"),
    Target("ui", "server-side Step (model + map + charts), median", 300.0, "ms"),
)


# --- timing ------------------------------------------------------------------------------------------
@dataclass
class Timing:
    """Repeated measurements of one thing, in seconds (wall clock and this process's CPU time)."""

    label: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)

    def record(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "wall_s": [round(x, 6) for x in self.wall],
            "cpu_s": [round(x, 6) for x in self.cpu],
            "min_s": round(min(self.wall), 6),
            "median_s": round(self.median, 6),
            "max_s": round(max(self.wall), 6),
            "cpu_median_s": round(self.cpu_median, 6),
        }

    def line(self, scale: float = 1.0, unit: str = "s") -> str:
        f = lambda v: f"{v * scale:.3f}" if unit == "s" else f"{v * scale:.1f}"  # noqa: E731
        return (
            f"  {self.label:<38} min {f(min(self.wall))}  median {f(self.median)}  max {f(max(self.wall))} {unit}"
            f"   (cpu median {f(self.cpu_median)} {unit}; n={len(self.wall)})"
        )


class Reporter:
    """Progress and results on stdout (progress lines start with ``..``)."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet

    def progress(self, text: str) -> None:
        if not self.quiet:
            print(f"  .. {text}", flush=True)

    def say(self, text: str = "") -> None:
        print(text, flush=True)


def measure(label: str, fn: Callable[[], Any], repeats: int, warmup: int, out: Reporter) -> Timing:
    """Call ``fn`` ``warmup`` times untimed, then ``repeats`` times timed."""
    for w in range(warmup):
        t = time.perf_counter()
        fn()
        out.progress(f"{label}: warm-up {w + 1}/{warmup} {time.perf_counter() - t:.3f} s")
    timing = Timing(label)
    for r in range(repeats):
        c, t = time.process_time(), time.perf_counter()
        fn()
        timing.wall.append(time.perf_counter() - t)
        timing.cpu.append(time.process_time() - c)
        out.progress(f"{label}: run {r + 1}/{repeats} {timing.wall[-1]:.3f} s (cpu {timing.cpu[-1]:.3f} s)")
    return timing


# --- the cases ---------------------------------------------------------------------------------------
@dataclass
class Context:
    """Options every case sees, and results a later case may reuse."""

    quick: bool
    repeats: int
    out: Reporter
    shared: dict[str, Any] = field(default_factory=dict)


def _run_scenario(ctx: Context, name: str, **overrides: Any) -> dict[str, Any]:
    import gpsim

    params = gpsim.scenario(name).replace(**overrides) if overrides else gpsim.scenario(name)
    t = time.perf_counter()
    region = gpsim.region_for(params)  # the first use builds (or loads and cleans) the region; cached after
    first_region = time.perf_counter() - t
    timing = measure(name, lambda: gpsim.run(params, seed=0), ctx.repeats, 1, ctx.out)
    ctx.out.say(timing.line())
    ctx.out.say(f"  {'(first use of the region, not timed above)':<38} {first_region:.3f} s")
    n, months = region.n_practices, params.n_months
    ctx.shared[name] = (timing, n, months)
    return {
        "timing": timing.record(),
        "practices": n,
        "months": months,
        "region_first_use_s": round(first_region, 6),
        "practice_steps_per_s": round(n * months / timing.median, 1),
        "value": timing.median,
        "cpu_value": timing.cpu_median,
    }


def case_baseline(ctx: Context) -> dict[str, Any]:
    return _run_scenario(ctx, "baseline")


def case_england_2021(ctx: Context) -> dict[str, Any]:
    return _run_scenario(ctx, "england-2021", **({"years": 2.0} if ctx.quick else {}))


def case_england_2013(ctx: Context) -> dict[str, Any]:
    return _run_scenario(ctx, "england-2013", **({"n_practices": 2_000, "n_ccgs": 52} if ctx.quick else {}))


def boltzmann_model(n: int, seed: int = 0):
    """Mesa's Boltzmann wealth example with ``n`` agents on a square grid of about one cell per agent (its
    default density), without its data collection (no DataCollector, no DataRecorder)."""
    import mesa
    from mesa.discrete_space import OrthogonalMooreGrid
    from mesa.examples import BoltzmannWealth
    from mesa.examples.basic.boltzmann_wealth_model.agents import MoneyAgent
    from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannScenario

    class Boltzmann(BoltzmannWealth):
        def __init__(self, scenario: BoltzmannScenario) -> None:
            mesa.Model.__init__(self, scenario=scenario)
            self.num_agents = scenario.n
            self.grid = OrthogonalMooreGrid((scenario.width, scenario.height), random=self.random)
            cells = self.random.choices(self.grid.all_cells.cells, k=self.num_agents)
            MoneyAgent.create_agents(self, self.num_agents, cells)
            self.running = True

        def step(self) -> None:
            self.agents.shuffle_do("step")

    side = max(1, round(math.sqrt(n)))
    return Boltzmann(BoltzmannScenario(n=n, width=side, height=side, rng=seed))


def case_mesa(ctx: Context) -> dict[str, Any]:
    if "england-2021" not in ctx.shared:
        ctx.out.progress("mesa: timing all England first")
        case_england_2021(ctx)
    gp, n, months = ctx.shared["england-2021"]

    def boltzmann() -> None:
        model = boltzmann_model(n)
        for _ in range(months):
            model.step()

    timing = measure(f"Mesa Boltzmann wealth, {n:,} agents", boltzmann, ctx.repeats, 1, ctx.out)
    ctx.out.say(timing.line())
    ours = n * months / gp.median
    theirs = n * months / timing.median
    ratio = ours / theirs
    cpu_ratio = timing.cpu_median / gp.cpu_median
    ctx.out.say(
        f"  gpsim {ours:,.0f} practice-steps/s; Mesa Boltzmann {theirs:,.0f} agent-steps/s "
        f"(both with initialisation, N={n:,}, {months} steps): {ratio:.2f}x (cpu {cpu_ratio:.2f}x)"
    )
    return {
        "boltzmann": timing.record(),
        "agents": n,
        "steps": months,
        "gpsim_practice_steps_per_s": round(ours, 1),
        "boltzmann_agent_steps_per_s": round(theirs, 1),
        "value": ratio,
        "cpu_value": cpu_ratio,
    }


def case_scaling(ctx: Context) -> dict[str, Any]:
    import gpsim

    sizes = SCALING_SIZES[:3] if ctx.quick else SCALING_SIZES
    rows = []
    for n in sizes:
        params = gpsim.scenario("baseline").replace(
            n_practices=n, n_ccgs=max(1, n // PRACTICES_PER_CCG), years=2.0 if ctx.quick else 10.0
        )
        t = time.perf_counter()
        region = gpsim.region_for(params)
        built = time.perf_counter() - t
        ctx.out.progress(f"scaling: region of {n:,} practices built in {built:.2f} s")
        timing = measure(f"{n:,} practices", lambda p=params: gpsim.run(p, seed=0), ctx.repeats, 0, ctx.out)
        tracemalloc.start()
        gpsim.run(params, seed=0)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        ctx.out.say(timing.line() + f"  peak {peak / 2**20:.1f} MiB = {peak / n / 1024:.1f} KiB/practice")
        rows.append(
            dict(
                practices=n,
                edges=len(region.peer_edges),
                hospitals=region.n_hospitals,
                region_build_s=round(built, 6),
                timing=timing.record(),
                peak_bytes=peak,
                bytes_per_practice=round(peak / n, 1),
            )
        )
    ns = np.log([r["practices"] for r in rows])
    slope = float(np.polyfit(ns, np.log([r["timing"]["median_s"] for r in rows]), 1)[0])
    cpu_slope = float(np.polyfit(ns, np.log([r["timing"]["cpu_median_s"] for r in rows]), 1)[0])
    top = np.log([r["timing"]["median_s"] for r in rows[-2:]])
    upper = float((top[1] - top[0]) / (ns[-1] - ns[-2])) if len(rows) > 1 else float("nan")
    ctx.out.say(
        f"  fitted exponent {slope:.3f} (cpu {cpu_slope:.3f}); between the two largest {upper:.3f}; "
        f"memory {rows[-1]['bytes_per_practice'] / 1024:.1f} KiB per practice at {rows[-1]['practices']:,}"
    )
    return {"sizes": rows, "exponent_top_pair": upper, "value": slope, "cpu_value": cpu_slope}


def _sweep_experiment(quick: bool):
    from gpsim.sweep.spec import Experiment

    runs = 8 if quick else SWEEP_RUNS
    return Experiment(
        name="bench-sweep",
        question="How fast does a sweep run?",
        scenario="baseline",
        fixed={"n_practices": 600 if quick else SWEEP_PRACTICES, "n_ccgs": 6 if quick else 80},
        vary={"pump_priming_per_patient": [2.5, 5.0, 10.0, 20.0]},
        replicates=runs // 4,
        seed=7,
        years=10.0,
    )


def case_sweep(ctx: Context) -> dict[str, Any]:
    from gpsim.sweep.engine import run_sweep

    exp = _sweep_experiment(ctx.quick)
    n_runs = len(exp.runs())
    repeats = 1 if ctx.quick else max(1, ctx.repeats // 3)
    serial, dask = Timing("serial"), Timing(f"Dask LocalCluster x{SWEEP_WORKERS}")
    import gpsim

    gpsim.region_for(exp.params_for(exp.runs()[0].values))  # warm-up: this process's region cache
    ceilings = [parallel_ceiling(SWEEP_WORKERS)]  # what the machine allows, before and after the sweeps
    starts: list[float] = []
    warms: list[float] = []
    with tempfile.TemporaryDirectory(prefix="gpsim-bench-") as tmp:
        for r in range(repeats):
            for timing, workers in ((serial, 1), (dask, SWEEP_WORKERS)):
                c, t = time.process_time(), time.perf_counter()
                done = run_sweep(
                    exp,
                    Path(tmp) / f"{workers}-{r}",
                    workers=workers,
                    progress=lambda d, f, total, w=workers: (
                        ctx.out.progress(f"sweep x{w}: {d}/{total} runs") if d % 10 == 0 else None
                    ),
                )
                timing.wall.append(time.perf_counter() - t)
                timing.cpu.append(time.process_time() - c)
                if done.failed:
                    raise RuntimeError(f"sweep benchmark: {done.failed} runs failed")
                ctx.out.progress(f"sweep x{workers}: {timing.wall[-1]:.2f} s")
                if workers > 1:  # what the sweep itself recorded of its cluster's start
                    session = json.loads((done.out / "manifest.json").read_text())["sessions"][-1]
                    starts.append(session["cluster_start_seconds"])
                    warms.append(session["warm_seconds"])
    ceilings.append(parallel_ceiling(SWEEP_WORKERS))
    ceiling = statistics.mean(ceilings)
    ctx.out.say(dask.line())
    ratio = serial.median / dask.median
    per_run = serial.median / n_runs
    ctx.out.say(
        f"  {n_runs} runs of {per_run:.2f} s each (serial); in the Dask time: starting the {SWEEP_WORKERS}-worker "
        f"cluster {starts[0]:.2f} s (the first in this process), then warming its workers {warms[0]:.2f} s; "
        f"speed-up {ratio:.2f}x on {os.cpu_count()} CPUs"
    )
    ctx.out.say(
        f"  {SWEEP_WORKERS} busy processes side by side do {ceilings[0]:.2f}x / {ceilings[1]:.2f}x the work of one on "
        f"this machine (before / after the sweeps): the most any {SWEEP_WORKERS}-worker sweep could gain here"
    )
    return {
        "runs": n_runs,
        "serial": serial.record(),
        "dask": dask.record(),
        "seconds_per_run": per_run,
        "dask_start_s": starts[0],
        "dask_starts_s": starts,
        "dask_warm_s": warms,
        "ceilings": ceilings,
        "ceiling": ceiling,
        "value": ratio,
        "cpu_value": None,
    }


#: A fixed piece of CPU-bound work (pure Python, no imports) for :func:`parallel_ceiling`; prints its seconds.
_SPIN = (
    "import time\nt = time.perf_counter()\nx = 0\n"
    "for i in range(5_000_000):\n    x += i\nprint(time.perf_counter() - t)"
)


def parallel_ceiling(workers: int, rounds: int = 3) -> float:
    """How much more work this machine does right now with ``workers`` CPU-bound processes side by side than
    with one: ``workers`` x (one process's time alone) / (the slowest's time side by side), medians of
    ``rounds``. Two idle, unshared cores give 2.0; cores shared with other jobs or throttled by a virtual
    machine give less. It is the most a sweep on ``workers`` workers could gain over a serial one."""

    def side_by_side(k: int) -> float:
        procs = [subprocess.Popen([sys.executable, "-c", _SPIN], stdout=subprocess.PIPE, text=True) for _ in range(k)]
        return max(float(p.communicate()[0]) for p in procs)

    alone = statistics.median(side_by_side(1) for _ in range(rounds))
    together = statistics.median(side_by_side(workers) for _ in range(rounds))
    return workers * alone / together


def ui_step(session) -> None:
    """What one Step click costs the server: a month, then the frame the page gets (what changed)."""
    session.step(1)  # steps the model and builds the frame


def case_ui(ctx: Context) -> dict[str, Any]:
    from gpsim.ui.session import Session

    session = Session("baseline", region=UI_REGION)
    n = session.model.region.n_practices
    clicks = 6 if ctx.quick else UI_CLICKS
    ui_step(session)  # warm-up
    timing = Timing(f"Step, {UI_REGION} ({n} practices)")
    for _ in range(clicks):
        c, t = time.process_time(), time.perf_counter()
        ui_step(session)
        timing.wall.append(time.perf_counter() - t)
        timing.cpu.append(time.process_time() - c)
    ctx.out.progress(f"ui: {clicks} Step clicks, months 2-{session.month}")
    ctx.out.say(timing.line(1000, "ms"))
    return {
        "region": UI_REGION,
        "practices": n,
        "timing": timing.record(),
        "value": timing.median * 1000,
        "cpu_value": timing.cpu_median * 1000,
    }


def case_calibration(ctx: Context) -> dict[str, Any]:
    """England-2013 runs as a calibration makes them: tasks of the sweep engine, run serially in this process
    (parameters, seeds, the run, its tables and the stored rows), scaled to every CPU of the machine."""
    import gpsim
    from gpsim.sweep.engine import run_sweep
    from gpsim.sweep.spec import Experiment

    fixed = {"n_practices": 2_000, "n_ccgs": 52} if ctx.quick else {}
    exp = Experiment(
        name="bench-calibration",
        question="How many England runs an hour?",
        scenario="england-2013",
        fixed=fixed,
        vary={"founding_rate": [0.01, 0.02]},
        replicates=1 if ctx.quick else 2,
        seed=11,
        years=gpsim.scenario("england-2013").years,
    )
    n_runs = len(exp.runs())
    gpsim.region_for(exp.params_for(exp.runs()[0].values))  # warm: a calibration's process has its region
    timing = Timing(f"{n_runs} england-2013 runs, serial")
    with tempfile.TemporaryDirectory(prefix="gpsim-bench-") as tmp:
        for r in range(1 if ctx.quick else max(1, ctx.repeats // 2)):
            c, t = time.process_time(), time.perf_counter()
            done = run_sweep(exp, Path(tmp) / f"calibration-{r}", workers=1)
            timing.wall.append((time.perf_counter() - t) / n_runs)
            timing.cpu.append((time.process_time() - c) / n_runs)
            if done.failed:
                raise RuntimeError(f"calibration benchmark: {done.failed} runs failed")
            ctx.out.progress(f"calibration: {n_runs} runs, {timing.wall[-1]:.3f} s a run")
    cpus = os.cpu_count() or 1
    per_hour, cpu_per_hour = 3600 * cpus / timing.median, 3600 * cpus / timing.cpu_median
    ctx.out.say(timing.line() + " a run")
    ctx.out.say(
        f"  {per_hour:,.0f} runs per hour on {cpus} CPUs (cpu time: {cpu_per_hour:,.0f}); one run per CPU at a time"
    )
    fitting = _emulator_fitting(ctx, cpus)
    return {
        "runs": n_runs,
        "seconds_per_run": timing.record(),
        "cpus": cpus,
        "value": per_hour,
        "cpu_value": cpu_per_hour,
        "emulator_fitting": fitting,
    }


def _emulator_fitting(ctx: Context, cpus: int) -> dict[str, Any]:
    """One wave's emulator fitting (:func:`gpsim.calibrate.emulator.fit_many`) on a wave the size of England's
    (400 runs of 12 parameters, 9 targets: 7 smooth with run-to-run noise, 2 mostly noise, as in the recorded
    calibration), serially and in one process per CPU. Reported, not judged: no target is set for it."""
    try:
        from gpsim.calibrate.emulator import fit_many
    except ImportError:  # pragma: no cover - the calibrate extra is not installed
        return {"skipped": "scikit-learn is not installed"}
    from gpsim.calibrate.design import latin_hypercube

    n, d, n_targets = (120, 12, 4) if ctx.quick else (400, 12, 9)
    rng = np.random.default_rng(2013)
    x = latin_hypercube(n, d, 2013)
    outputs = {}
    for j in range(n_targets):
        if j >= n_targets - 2:  # like the closure share: little signal under the noise
            signal = 0.05 * x[:, j % d]
        else:
            weights = rng.exponential(1.0, d) * (rng.random(d) < 0.4)
            signal = np.sin(2.5 * x) @ weights + x[:, j % d] ** 2
        outputs[f"target-{j + 1}"] = signal + rng.normal(0, 0.05 + 0.05 * j / n_targets, n)
    record = {"runs": n, "parameters": d, "targets": n_targets}
    for key, workers in (("serial", 1), ("parallel", cpus)):
        c, t = time.process_time(), time.perf_counter()
        fitted = fit_many(outputs, x, seed=1, workers=workers)
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        record[f"{key}_s"], record[f"{key}_cpu_s"] = round(wall, 3), round(cpu, 3)
        restarts = sum(em.diagnostics.get("restarts", 0) > 0 for em in fitted.values())
        ctx.out.progress(
            f"calibration: emulators fitted in {workers} process(es) in {wall:.1f} s (cpu {cpu:.1f} s here)"
        )
    record["restarted_targets"] = restarts
    ctx.out.say(
        f"  one wave's emulators ({n} runs x {d} parameters, {n_targets} targets): {record['serial_s']:.1f} s "
        f"serial (cpu {record['serial_cpu_s']:.1f} s), {record['parallel_s']:.1f} s in {cpus} processes"
    )
    return record


def case_ensemble(ctx: Context) -> dict[str, Any]:
    """The UI's "10 seeds": one setting, several seeds, one process and one region (:func:`gpsim.replicates`)."""
    import gpsim

    params = gpsim.scenario("baseline").replace(region=ENSEMBLE_REGION)
    n = gpsim.region_for(params).n_practices
    seeds = 3 if ctx.quick else ENSEMBLE_SEEDS
    timing = measure(
        f"{seeds} seeds, {ENSEMBLE_REGION} ({n} practices)",
        lambda: gpsim.replicates(params, seeds),
        ctx.repeats,
        1,
        ctx.out,
    )
    ctx.out.say(timing.line())
    return {
        "region": ENSEMBLE_REGION,
        "practices": n,
        "seeds": seeds,
        "timing": timing.record(),
        "value": timing.median,
        "cpu_value": timing.cpu_median,
    }


def _process(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one child process; raises if it fails."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=600)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.strip()[-300:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _process_timing(label: str, args: list[str], env: dict[str, str], repeats: int, out: Reporter) -> Timing:
    timing = Timing(label)
    _process(args, env)  # warm-up: its modules' bytecode written, as a second use of a command finds it
    for _ in range(repeats):
        wall, cpu = _process(args, env)
        timing.wall.append(wall)
        timing.cpu.append(cpu)
    out.progress(f"cli: {label}: median {timing.median:.3f} s (cpu {timing.cpu_median:.3f} s)")
    return timing


def case_cli(ctx: Context) -> dict[str, Any]:
    """Whole command-line processes, as a user starts them: the listings, and ``gpsim run`` on all England
    (with ``--out``: tables and summary.png) less a bare ``import gpsim``. A warm-up run first fills the
    region cache, as the first run on a machine does. CPU time is the process's and its children's: the
    process that draws summary.png is counted.

    The processes keep compiled bytecode as an installed gpsim does: where this machine turns it off
    (``PYTHONDONTWRITEBYTECODE``), they keep it in a temporary folder (``PYTHONPYCACHEPREFIX``), and the record
    says so; otherwise every process would compile gpsim's modules from source, which no user's does."""
    python = [sys.executable]
    env = dict(os.environ)
    env.setdefault("PYTHONPATH", str(Path(__file__).resolve().parent.parent))
    repeats = max(2, ctx.repeats)
    years = ("--years", "2") if ctx.quick else ()
    with tempfile.TemporaryDirectory(prefix="gpsim-bench-") as tmp:
        bytecode = "written beside the modules, as Python does by default"
        if env.pop("PYTHONDONTWRITEBYTECODE", None):
            env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "bytecode")
            bytecode = "this machine sets PYTHONDONTWRITEBYTECODE; kept in a temporary folder, as installed"
        ctx.out.say(f"  bytecode: {bytecode}")
        listings = [
            _process_timing(f"gpsim {' '.join(a)}", [*python, "-m", "gpsim.cli", *a], env, repeats, ctx.out)
            for a in CLI_LISTINGS
        ]
        base = _process_timing("python -c 'import gpsim'", [*python, "-c", "import gpsim"], env, repeats, ctx.out)
        run = [*python, "-m", "gpsim.cli", *CLI_RUN, *years]
        cold = _process([*run, "--out", str(Path(tmp) / "warm-up")], env)
        timing = Timing("gpsim run --region england --years " + (years[1] if years else "10") + " --out DIR")
        for r in range(repeats):
            wall, cpu = _process([*run, "--out", str(Path(tmp) / f"run-{r}")], env)
            timing.wall.append(wall)
            timing.cpu.append(cpu)
    for t in [*listings, base, timing]:
        ctx.out.say(t.line())
    ctx.out.say(f"  {'(first run on this machine: region built)':<38} {cold[0]:.3f} s (cpu {cold[1]:.3f} s)")
    slowest = max(listings, key=lambda t: t.median)
    beyond, cpu_beyond = timing.median - base.median, timing.cpu_median - base.cpu_median
    ctx.out.say(
        f"  slowest listing: {slowest.label}; gpsim run beyond import gpsim {beyond:.3f} s (cpu {cpu_beyond:.3f} s)"
    )
    return {
        "listings": [t.record() for t in listings],
        "import": base.record(),
        "run": timing.record(),
        "run_first_use": {"wall_s": round(cold[0], 6), "cpu_s": round(cold[1], 6)},
        "bytecode": bytecode,
        "value": slowest.median,
        "cpu_value": max(t.cpu_median for t in listings),
        "run_value": beyond,
        "cpu_run_value": cpu_beyond,
    }


RUNNERS: dict[str, Callable[[Context], dict[str, Any]]] = {
    "baseline": case_baseline,
    "england-2021": case_england_2021,
    "england-2013": case_england_2013,
    "mesa": case_mesa,
    "calibration": case_calibration,
    "ensemble": case_ensemble,
    "cli": case_cli,
    "scaling": case_scaling,
    "sweep": case_sweep,
    "ui": case_ui,
}


# --- the record --------------------------------------------------------------------------------------
def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=10, cwd=Path(__file__).resolve().parent
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine() -> dict[str, Any]:
    """Where the figures were measured."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for pkg in ("gpsim", "mesa", "numpy", "scipy", "networkx", "pandas", "pyarrow", "dask", "distributed"):
        try:
            versions[pkg] = version(pkg)
        except PackageNotFoundError:
            versions[pkg] = None
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "versions": versions,
        "git_commit": _git("rev-parse", "HEAD"),
        "git_branch": _git("rev-parse", "--abbrev-ref", "HEAD"),
        "git_dirty": bool(status) if status is not None else None,
    }


def verdicts(results: dict[str, dict[str, Any]], quick: bool) -> list[dict[str, Any]]:
    """PASS/MISS of every target whose case ran, with the margin."""
    out = []
    for t in TARGETS:
        res = results.get(t.case)
        if res is None or t.key not in res:
            continue
        value, cpu = res[t.key], res.get(f"cpu_{t.key}")
        met = t.met(value)
        margin = (value / t.limit - 1.0) if t.limit else float("nan")
        out.append(
            dict(
                case=t.label,
                target=t.name,
                limit=t.text(),
                value=value,
                cpu_value=cpu,
                met=met,
                cpu_met=None if cpu is None else t.met(cpu),
                margin=margin,
                quick=quick,
                ceiling=res.get(t.ceiling) if t.ceiling else None,
            )
        )
    return out


def _fmt(value: float, unit: str) -> str:
    if unit == "runs/h":
        return f"{value:,.0f} {unit}"
    return f"{value:.3f} {unit}".rstrip() if unit in ("s", "") else f"{value:.2f} {unit}".rstrip()


def print_verdicts(rows: list[dict[str, Any]], out: Reporter) -> None:
    units = {t.label: t.unit for t in TARGETS}
    if not rows:
        out.say("targets: none among the cases run")
        return
    out.say("targets" + (" (quick mode: smaller cases, not a verdict)" if rows[0]["quick"] else ""))
    for r in rows:
        u = units[r["case"]]
        word = "PASS" if r["met"] else "MISS"
        by = f"{abs(r['margin']) * 100:.0f}% {'inside' if r['met'] else 'outside'} the target"
        cpu = ""
        if r["cpu_value"] is not None:
            cpu = f"; cpu {_fmt(r['cpu_value'], u)} {'PASS' if r['cpu_met'] else 'MISS'}"
        if r.get("ceiling") is not None:
            cpu += f"; this machine allowed at most {_fmt(r['ceiling'], u)} when measured"
        out.say(f"  {word}  {r['case']:<13} {r['target']}: {_fmt(r['value'], u)} ({r['limit']}; {by}{cpu})")


# --- command line ------------------------------------------------------------------------------------
HELP = (
    "Time gpsim against its performance targets: all England, Mesa's Boltzmann example, scaling to 100k "
    "practices, a Dask sweep and a UI Step. Prints min/median/max, ratios and PASS/MISS; --out writes JSON."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quick", action="store_true", help="smaller cases and fewer repeats (a smoke test)")
    p.add_argument(
        "--only", action="append", metavar="CASE", help=f"run only this case (repeatable): {', '.join(CASES)}"
    )
    p.add_argument(
        "--repeats", type=int, metavar="N", help="timed runs per case after the warm-up (default 5; quick 2)"
    )
    p.add_argument("--out", metavar="FILE.json", help="write the JSON record here (default: print only)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the chosen cases; print progress, figures and verdicts; return (and write) the JSON record."""
    from gpsim.errors import ParameterError

    only = []
    for item in args.only or []:
        only += [c.strip() for c in item.split(",") if c.strip()]
    unknown = [c for c in only if c not in RUNNERS]
    if unknown:
        raise ParameterError(f"--only {','.join(unknown)}: unknown case (choose from {', '.join(CASES)})")
    repeats = args.repeats if args.repeats is not None else (2 if args.quick else 5)
    if repeats < 1:
        raise ParameterError(f"--repeats {repeats}: must be at least 1")
    out = Reporter(quiet=args.quiet)
    ctx = Context(quick=args.quick, repeats=repeats, out=out)
    chosen = [c for c in CASES if not only or c in only]
    record: dict[str, Any] = {
        "format": "gpsim-bench/1",
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "options": {"quick": args.quick, "repeats": repeats, "cases": chosen},
        "machine": machine(),
        "load_before": _load(),
        "cases": {},
    }
    m = record["machine"]
    out.say(
        f"gpsim bench: {', '.join(chosen)}; {repeats} repeats after a warm-up{' (quick)' if args.quick else ''}\n"
        f"  {m['cpu']}, {m['cpus']} CPUs, Python {m['python']}, gpsim {m['versions']['gpsim']}, "
        f"mesa {m['versions']['mesa']}, numpy {m['versions']['numpy']}; commit {str(m['git_commit'])[:10]}"
        f"{' (dirty)' if m['git_dirty'] else ''}; load average {record['load_before']}"
    )
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # data-quality notes about the register are not news here
        for name in chosen:
            out.say(f"\n[{name}]")
            record["cases"][name] = RUNNERS[name](ctx)
    record["seconds"] = round(time.perf_counter() - t0, 3)
    record["load_after"] = _load()
    record["targets"] = verdicts(record["cases"], args.quick)
    out.say("")
    print_verdicts(record["targets"], out)
    out.say(f"load average before {record['load_before']}, after {record['load_after']}; {record['seconds']:.0f} s")
    if args.out:
        path = Path(args.out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=1, default=_json_default) + "\n")
        out.say(f"wrote {path}")
    return record


def _json_default(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(f"not JSON: {type(x).__name__}")


def cmd_bench(args: argparse.Namespace) -> int:
    run(args)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("bench", help="time gpsim against its performance targets", description=HELP)
    add_arguments(p)
    p.set_defaults(func=cmd_bench)


def main(argv: list[str] | None = None) -> int:
    """``python -m benchmarks`` / ``python -m gpsim.bench``: the same as ``gpsim bench``."""
    from gpsim.cli import main as cli_main

    return cli_main(["bench", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
