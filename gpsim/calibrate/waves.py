"""History matching in waves, through the sweep engine, and the outputs of a calibration.

Wave 1 runs a Latin hypercube over the prior box (the calibrated parameters' ranges). Each wave then fits one
emulator per available training target on that wave's runs, tries scrambled-Sobol candidate points in the box
around the region the earlier waves left, keeps those whose implausibility is below the cut-off under *every*
wave's emulators (the non-implausible region), and picks the next wave's design from them by farthest-point
sampling. It stops after ``max_waves``, when a wave keeps more than ``min_shrink`` of the region the wave before
kept (the region stopped shrinking), when every emulator's variance is below its target's observation variance
(more runs would not sharpen the cut; checked from wave 2 on, once a wave has run inside the region the first
emulators left), or when nothing is left.

Every simulation goes through :func:`gpsim.sweep.engine.run_sweep` (one sweep folder per wave, plus one for the
posterior runs), so runs are seeded, stored as Parquet with provenance, and a stopped calibration continues with
``resume``: stored runs are not run again and every later step is recomputed deterministically from them.

Outputs in the calibration folder: ``targets.csv``, ``posterior.parquet``, ``waves/``, ``report.html``,
``calibrated.toml`` and ``calibration.json`` (what was run, how long each wave took).
"""

from __future__ import annotations

import functools
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gpsim.calibrate import design as designs
from gpsim.calibrate.emulator import Emulator, fit_many
from gpsim.calibrate.targets import CalibrationFile, Target, load, measure
from gpsim.errors import ExperimentError, one_line
from gpsim.params import SPECS_BY_NAME
from gpsim.sweep.spec import Experiment

#: A target met by more than this share of prior runs could not have been missed: "uninformative".
UNINFORMATIVE = 0.9
#: Most points kept in posterior.parquet.
POSTERIOR_POINTS = 2_000
FORMAT = "gpsim-calibration/1"


@dataclass
class Calibration:
    """What :func:`calibrate` produced (the files are in ``out``)."""

    out: Path
    waves: list[dict[str, Any]]
    targets: pd.DataFrame
    posterior: pd.DataFrame
    point: dict[str, Any]
    seconds: float


class Space:
    """The calibrated parameters: unit cube <-> parameter values (integers rounded)."""

    def __init__(self, parameters: dict[str, tuple[float, float]]):
        self.names = list(parameters)
        self.low = np.array([lo for lo, _ in parameters.values()])
        self.high = np.array([hi for _, hi in parameters.values()])
        self.integer = np.array([SPECS_BY_NAME[n].kind is int for n in self.names])

    def values(self, unit: np.ndarray) -> np.ndarray:
        v = self.low + np.asarray(unit) * (self.high - self.low)
        return np.where(self.integer, np.rint(v), v)

    def unit(self, values: np.ndarray) -> np.ndarray:
        return (np.asarray(values, dtype=float) - self.low) / (self.high - self.low)

    def frame(self, unit: np.ndarray) -> pd.DataFrame:
        v = self.values(unit)
        cols = {}
        for j, name in enumerate(self.names):
            cols[name] = v[:, j].astype(int) if self.integer[j] else [float(f"{x:.10g}") for x in v[:, j]]
        return pd.DataFrame(cols)


# --- running a design through the sweep engine -----------------------------------------------------------
#: Each sweep's design, beside its ``runs/`` folder; records name it by this name, so the folder can be moved.
DESIGN = "design.csv"


class WaveExperiment(Experiment):
    """The sweep of one wave's design (or of the posterior runs'). Its record names the design by
    ``recorded_file``: ``design.csv``, beside the runs, so that a moved or copied calibration folder matches its
    records; or the absolute path a folder made by an earlier version recorded, so that its hash still matches.
    Either way the points are read from the folder's own ``design.csv``."""

    recorded_file = DESIGN

    def normalised(self) -> dict[str, Any]:
        out = super().normalised()
        out["design"]["file"] = self.recorded_file
        return out

    def resolve_region(self, text: str) -> str:
        """The region as the targets file gave it: a register path in it was already made relative to that
        file's folder when it was read, so it is not read again beside ``design.csv``."""
        return text


def wave_experiment(cal: CalibrationFile, quick: bool, folder: Path, label: str, names: list[str], where: str | None):
    """The sweep experiment of the design stored in ``folder/design.csv`` (a wave's folder, or ``posterior/``).

    Args:
        cal: the targets file.
        quick: its ``[quick]`` settings.
        folder: the folder holding ``design.csv`` and (once run) ``runs/``.
        label: ``wave1``, ``wave2``, ... or ``posterior`` (in the experiment's name).
        names: the calibrated parameters (the design's columns).
        where: the design's path inside the calibration folder, for messages (e.g. ``waves/wave-1/design.csv``).
    """
    from gpsim.sweep.store import SweepStore

    exp = WaveExperiment(
        name=f"{cal.name}-{label}",
        question=f"calibration {label} of {cal.name} (targets {cal.hash(quick)[:16]})",
        scenario=cal.scenario,
        fixed={**cal.fixed, **(cal.quick_fixed if quick else {})},
        vary=list(names),
        design="csv",
        points_file=str((folder / DESIGN).resolve()),
        replicates=1,
        seed=cal.seed,
        steps_every=0,
        keep_orgs=False,
        source=where,
    )
    store = SweepStore(folder / "runs")
    if store.exists():
        recorded = store.read_manifest()["experiment"]["design"].get("file")
        if isinstance(recorded, str) and os.path.isabs(recorded) and Path(recorded).name == DESIGN:
            exp.recorded_file = recorded  # an earlier version's record: the same file, now inside this folder
    return exp


def run_design(
    cal: CalibrationFile,
    quick: bool,
    points: pd.DataFrame,
    folder: Path,
    label: str,
    *,
    workers: int,
    scheduler: str | None,
    show_bar: bool,
    where: str | None = None,
) -> pd.DataFrame:
    """Run one simulation per row of ``points`` into ``folder`` (a sweep); return the points with each target's
    output (``target:NAME``), whether it is missing, and the run's wall time. ``table.attrs["ran"]`` is how many
    of the runs this call ran (the others were stored by an earlier session). ``where``: the design's path
    inside the calibration folder, as the sweep's record names it (default: ``folder/design.csv``)."""
    from gpsim.sweep.engine import run_sweep
    from gpsim.sweep.store import SweepStore

    folder.mkdir(parents=True, exist_ok=True)
    points_file = folder / DESIGN
    if not points_file.exists():  # kept on resume: the wave reruns the design it stored, whole (written atomically)
        _write(points_file, lambda p: points.to_csv(p, index=False))
    targets = tuple(cal.targets_for(quick))
    exp = wave_experiment(cal, quick, folder, label, list(points.columns), where or str(points_file))
    store_dir = folder / "runs"
    resume = SweepStore(store_dir).exists()
    outcome = run_sweep(
        exp,
        store_dir,
        workers=workers,
        scheduler=scheduler,
        resume=resume,
        retry_failed=resume,
        show_bar=show_bar,
        measure=functools.partial(measure, targets),
    )
    store = SweepStore(store_dir)
    runs = store.runs()
    final = store.final()
    keep = ["run_key", *[c for c in final.columns if c.startswith(("target:", "missing:"))]]
    table = runs[["run_key", "point_id", *points.columns, "status", "wall_seconds"]].merge(
        final[keep], on="run_key", how="left"
    )
    order = {pid: i for i, pid in enumerate(exp.design_rows()["point_id"])}
    table = table.sort_values("point_id", key=lambda s: s.map(order)).reset_index(drop=True)
    table.attrs["ran"] = outcome.ran
    return table


# --- the waves ---------------------------------------------------------------------------------------------
def _available(t: Target, table: pd.DataFrame) -> bool:
    col = f"missing:{t.name}"
    ok = table[col].dropna() if col in table else pd.Series(dtype=float)
    return bool(len(ok)) and float(ok.max()) == 0.0


def emulate(
    train: list[Target],
    table: pd.DataFrame,
    space: Space,
    seed: int,
    workers: int = 1,
    previous: list[dict[str, Any]] | None = None,
) -> tuple[list[tuple[Target, Emulator]], list[dict[str, Any]]]:
    """One emulator per training target available in a wave's runs (``workers`` processes fit them), and one
    diagnostics row per target fitted; targets not emulated (too few values) are left out of the first list.
    ``previous``: the wave before's diagnostics rows, whose fitting times order the fits (slowest first)."""
    ok = table["status"] == "ok"
    x = space.unit(table.loc[ok, space.names].to_numpy(float))
    available = [t for t in train if _available(t, table)]
    outputs = {t.name: table.loc[ok, f"target:{t.name}"].to_numpy(float) for t in available}
    expected = {r["target"]: r["fit_seconds"] for r in previous or [] if isinstance(r.get("fit_seconds"), float)}
    fitted = fit_many(outputs, x, seed=seed, workers=workers, expected_seconds=expected)
    wave_emulators, diag_rows = [], []
    for t in available:
        em = fitted[t.name]
        diag_rows.append({"target": t.name, "runs": em.n_train, **em.diagnostics})
        if em.gp is not None or em.diagnostics.get("status") == "constant output":
            wave_emulators.append((t, em))
    return wave_emulators, diag_rows


def _implausibility(emulators: list[list[tuple[Target, Emulator]]], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Largest implausibility over every wave's emulators, and the wave-by-wave largest (rows x waves)."""
    per_wave = np.zeros((len(x), len(emulators)))
    for k, wave in enumerate(emulators):
        for t, em in wave:
            per_wave[:, k] = np.maximum(per_wave[:, k], em.implausibility(x, t.observed, t.variance))
    return per_wave.max(axis=1) if len(emulators) else np.zeros(len(x)), per_wave


def calibrate(
    path: str | os.PathLike | CalibrationFile,
    out: str | os.PathLike,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    quick: bool = False,
    resume: bool = False,
    show_bar: bool = False,
    log=None,
) -> Calibration:
    """History-match the scenario of a targets file to its training targets; write the outputs into ``out``.

    Args:
        path: the targets file (or a loaded :class:`CalibrationFile`).
        out: the calibration folder (must be new or empty, unless ``resume``).
        workers: local worker processes for the runs and for fitting the emulators (1: this process).
        scheduler: address of an existing Dask scheduler (overrides ``workers`` for the runs; the emulators
            are then fitted in as many local processes as this machine has CPUs).
        quick: the file's ``[quick]`` settings: a reduced region and one small wave.
        resume: continue a calibration stopped part-way in ``out``.
        show_bar: a progress bar per wave on stderr.
        log: called with one line of text per step (e.g. ``print``); None for silence.
    """
    from gpsim.sweep.engine import check_main_guard, check_workers
    from gpsim.sweep.lock import SweepLock

    cal = path if isinstance(path, CalibrationFile) else load(path)
    root = Path(out)
    if root.is_symlink():
        raise ExperimentError(f"--out {root}: is a symbolic link; gpsim does not write through links")
    check_workers(workers)
    if workers > 1 and not scheduler:
        check_main_guard()
    if scheduler:  # a bad or unreachable address is refused before the folder is made
        from gpsim.sweep.engine import connect

        connect(scheduler).close()
    if root.exists() and not root.is_dir():
        raise ExperimentError(f"--out {root}: is a file, not a folder")
    _check_first_wave(cal, quick)  # a setting the model refuses is refused before the folder is made
    lock = SweepLock(root, what="gpsim calibration")
    lock.acquire()  # a second calibration of this folder is refused here, naming the first
    try:
        _prepare(root, cal, quick, resume)
        lock.keep = True
        return _calibrate(cal, root, workers=workers, scheduler=scheduler, quick=quick, show_bar=show_bar, log=log)
    finally:
        lock.release() if lock.keep else lock.discard()


def _calibrate(
    cal: CalibrationFile, root: Path, *, workers: int, scheduler: str | None, quick: bool, show_bar: bool, log
) -> Calibration:
    """The body of :func:`calibrate`, run while holding the folder's lock."""
    say = log or (lambda text: None)
    settings = cal.settings(quick)
    t_start = time.perf_counter()
    session = {"started": _now(), "runs": 0}
    earlier = _read_started(root / "started.json").get("finished")  # the record of a finished calibration
    fit_workers = workers if scheduler is None else (os.cpu_count() or 1)
    diag_rows: list[dict[str, Any]] = []
    recomputed = kept_seconds = 0.0  # this session's time redoing work an earlier session did, and that work's time
    space = Space(cal.parameters)
    d = len(space.names)
    targets = cal.targets_for(quick)
    train = [t for t in targets if t.period == "train"]
    emulators: list[list[tuple[Target, Emulator]]] = []
    waves: list[dict[str, Any]] = []
    tables: list[pd.DataFrame] = []
    nroy = None  # unit-cube points not ruled out so far
    share = 1.0
    stop = "reached the last wave"
    run_opts = dict(workers=workers, scheduler=scheduler, show_bar=show_bar)
    for k in range(1, settings.max_waves + 1):
        t0 = time.perf_counter()
        seed = _wave_seed(cal, k)
        if nroy is None:
            unit = designs.latin_hypercube(settings.runs, d, seed)
        else:
            unit = nroy[designs.maximin(nroy, settings.runs, seed)]
        folder = root / "waves" / f"wave-{k}"
        say(f"wave {k}: {len(unit)} runs")
        where = f"waves/wave-{k}/{DESIGN}"
        table = run_design(cal, quick, space.frame(unit), folder, f"wave{k}", where=where, **run_opts)
        ran = table.attrs["ran"]
        session["runs"] += ran
        t_runs = time.perf_counter() - t0
        tables.append(table)
        ok = table["status"] == "ok"
        say(f"wave {k}: fitting emulators of {len(train)} targets")
        wave_emulators, diag_rows = emulate(train, table, space, seed, workers=fit_workers, previous=diag_rows)
        t_fit = time.perf_counter() - t0 - t_runs
        emulators.append(wave_emulators)
        # candidates where the earlier waves left room; share of the prior = box volume x share kept in it
        low, high = (np.zeros(d), np.ones(d)) if nroy is None else designs.bounding_box(nroy)
        cands = designs.sobol_in_box(settings.candidates, low, high, seed + 1)
        cands = space.unit(space.values(cands))  # integer parameters take whole values
        imp, _ = _implausibility(emulators, cands)
        kept = imp < settings.cutoff
        previous = share
        share = float(np.prod(high - low) * kept.mean())
        nroy_next = cands[kept]
        # emulator variance over the region kept, against each target's observation variance
        sharp = []
        where = nroy_next if len(nroy_next) else cands
        for t, em in wave_emulators:
            _, var = em.predict(where[:2_000])
            mean_var = float(var.mean())
            row = next(r for r in diag_rows if r["target"] == t.name)
            row.update(emulator_var=mean_var, observation_var=t.observation_sd**2)
            sharp.append(mean_var < t.observation_sd**2)
        pd.DataFrame(diag_rows).assign(
            length_scales=lambda f: f.get("length_scales", pd.Series(dtype=object)).map(
                lambda v: json.dumps(v) if isinstance(v, list) else ""
            )
        ).to_csv(folder / "emulators.csv", index=False)
        seconds = time.perf_counter() - t0
        timing = {"run_seconds": round(t_runs, 1), "fit_seconds": round(t_fit, 1), "seconds": round(seconds, 1)}
        if ran == 0 and (folder / "wave.json").exists():  # done by an earlier session: its time is the wave's time
            timing = _kept_timing(folder / "wave.json", timing)
            recomputed, kept_seconds = recomputed + seconds, kept_seconds + timing["seconds"]
        info = {
            "wave": k,
            "runs": int(len(table)),
            "failed": int((~ok).sum()),
            **timing,
            "emulated_targets": [t.name for t, _ in wave_emulators],
            "candidates": int(len(cands)),
            "candidates_kept": int(kept.sum()),
            "nroy_share_of_prior": share,
        }
        (folder / "wave.json").write_text(json.dumps(info, indent=2) + "\n")
        waves.append(info)
        say(
            f"wave {k}: {len(table)} runs in {t_runs:.0f} s, emulators fitted in {t_fit:.0f} s; {share:.1%} of the "
            "prior space not ruled out "
            f"({kept.sum()} of {len(cands)} candidates)"
        )
        nroy = nroy_next if len(nroy_next) else None
        if nroy is None:
            stop = "every candidate was ruled out: no setting meets the training targets within their uncertainty"
            break
        if not wave_emulators:
            stop = "no training target is available to emulate"
            break
        if k > 1 and previous > 0 and share / previous > settings.min_shrink:
            stop = f"the region stopped shrinking (kept {share / previous:.0%} of the previous wave's)"
            break
        if k > 1 and sharp and all(sharp):  # from wave 2: runs inside the region have confirmed the emulators
            stop = "every emulator's variance is below its target's observation variance"
            break
    say(f"stopped: {stop}")

    # --- the posterior: a uniform sample of the region not ruled out -------------------------------------
    rng = np.random.default_rng(cal.seed)
    if nroy is None:  # nothing is left: keep the least implausible candidates so the report can show how close
        imp_all, _ = _implausibility(emulators, cands)
        order = np.argsort(imp_all)[: max(10, settings.posterior_runs)]
        post_unit, post_imp, empty = cands[order], imp_all[order], True
    else:
        pick = rng.permutation(len(nroy))[:POSTERIOR_POINTS]
        post_unit = nroy[pick]
        post_imp, _ = _implausibility(emulators, post_unit)
        empty = False
    posterior = space.frame(post_unit)
    posterior["max_implausibility"] = post_imp
    posterior["weight"] = 1.0 / len(posterior)
    best = central_point(space.unit(posterior[space.names].to_numpy()), post_imp)
    point = {n: SPECS_BY_NAME[n].kind(_py(posterior.iloc[best][n])) for n in space.names}

    t0 = time.perf_counter()
    n_post = min(settings.posterior_runs, len(posterior))
    say(f"posterior: {n_post} runs of posterior draws")
    post_runs = run_design(
        cal,
        quick,
        posterior[space.names].iloc[:n_post].reset_index(drop=True),
        root / "posterior",
        "posterior",
        where=f"posterior/{DESIGN}",
        **run_opts,
    )
    session["runs"] += post_runs.attrs["ran"]
    post_seconds = time.perf_counter() - t0
    if post_runs.attrs["ran"] == 0 and isinstance(earlier, dict) and "posterior_seconds" in earlier:
        recomputed, post_seconds = recomputed + post_seconds, float(earlier["posterior_seconds"])
        kept_seconds += post_seconds
    table = target_table(targets, tables[0], post_runs)
    session["seconds"] = round(time.perf_counter() - t_start, 1)
    # the calibration's time, not a resume's: work an earlier session did counts with that session's time, and a
    # resume of a finished calibration that ran nothing keeps the finished calibration's time
    seconds = time.perf_counter() - t_start - recomputed + kept_seconds
    if session["runs"] == 0 and isinstance(earlier, dict) and "seconds" in earlier:
        seconds = float(earlier["seconds"])
    sessions = [*(earlier.get("sessions", []) if isinstance(earlier, dict) else []), session]

    from gpsim.calibrate.report import write_report

    _write(root / "posterior.parquet", lambda p: posterior.to_parquet(p, index=False))
    _write(root / "targets.csv", lambda p: table.to_csv(p, index=False))
    _write(root / "calibrated.toml", lambda p: write_point(p, cal, quick, point))
    meta = {
        "format": FORMAT,
        "file": cal.source,
        "hash": cal.hash(quick),
        "calibration": cal.normalised(quick),
        "quick": quick,
        "waves": waves,
        "stopped": stop,
        "posterior_empty": empty,
        "posterior_points": int(len(posterior)),
        "posterior_runs": int(len(post_runs)),
        "posterior_seconds": round(post_seconds, 1),
        "seconds": round(seconds, 1),
        "sessions": sessions,
        "point": point,
        "complete": True,
    }
    # where in the whole prior the region lies: every wave's cut applied to a fresh space-filling sample
    prior_unit = designs.sobol_in_box(settings.candidates, np.zeros(d), np.ones(d), cal.seed + 7)
    prior_unit = space.unit(space.values(prior_unit))
    prior_kept = _implausibility(emulators, prior_unit)[0] < settings.cutoff
    depth = (space.frame(prior_unit), prior_kept)
    report = (cal, quick, meta, table, posterior, tables, post_runs, space, depth)
    _write(root / "report.html", lambda p: write_report(p, *report))
    # last: calibration.json marks the folder complete, so it is never there without every other output
    _write(root / "calibration.json", lambda p: p.write_text(json.dumps(meta, indent=2, default=str) + "\n"))
    files = "targets.csv, posterior.parquet, waves/, report.html, calibrated.toml"
    say(f"done in {session['seconds']:.0f} s: {root}/ {files}")
    return Calibration(root, waves, table, posterior, point, seconds)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _kept_timing(path: Path, timing: dict[str, float]) -> dict[str, float]:
    """The timings in an earlier session's ``wave.json`` (``timing``'s keys; this session's where one is absent)."""
    try:
        before = json.loads(path.read_text())
    except (OSError, ValueError):
        return timing
    if not isinstance(before, dict):
        return timing
    return {key: before[key] if isinstance(before.get(key), int | float) else v for key, v in timing.items()}


def _keep_finished_times(root: Path, started: dict[str, Any]) -> None:
    """Copy a finished calibration's times from ``calibration.json`` into ``started.json`` before a resume
    removes it, so the resumed record reports the calibration's time, not the resume's (even after a resume
    that failed part-way)."""
    try:
        meta = json.loads((root / "calibration.json").read_text())
    except (OSError, ValueError):
        return
    if not isinstance(meta, dict) or not isinstance(meta.get("seconds"), int | float):
        return
    finished = {key: meta[key] for key in ("seconds", "posterior_seconds", "sessions") if key in meta}
    record = json.dumps({**started, "finished": finished}, default=str) + "\n"
    _write(root / "started.json", lambda p: p.write_text(record))


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _write(path: Path, writer) -> None:
    """Write ``path`` whole or not at all: under a temporary name, renamed when complete (removed if not)."""
    tmp = path.with_name(f".tmp-{path.name}")
    try:
        writer(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _wave_seed(cal: CalibrationFile, k: int) -> int:
    """The seed of wave ``k``'s design and emulators."""
    return cal.seed + 1_000 * k


def _check_first_wave(cal: CalibrationFile, quick: bool) -> None:
    """Refuse, with one line naming the targets file, a first wave holding a setting the model refuses (say
    more CCGs than practices): the full parameters of every point are built before anything is written."""
    import tempfile

    space = Space(cal.parameters)
    settings = cal.settings(quick)
    points = space.frame(designs.latin_hypercube(settings.runs, len(space.names), _wave_seed(cal, 1)))
    with tempfile.TemporaryDirectory(prefix="gpsim-calibration-") as tmp:
        points.to_csv(Path(tmp) / DESIGN, index=False)
        try:
            wave_experiment(cal, quick, Path(tmp), "wave1", space.names, None).check_points()
        except ExperimentError as err:
            raise ExperimentError(
                f"{cal.source or 'the targets file'}: the first wave would run a setting the model refuses "
                f"({err}); narrow [parameters] or change [fixed]"
            ) from None


_AFRESH = "start a new calibration with another --out"
_AGAIN = f"copy the whole calibration folder again, or {_AFRESH}"


def _check_stored(root: Path, cal: CalibrationFile, quick: bool) -> None:
    """On resume, before anything in ``root`` is written: every stored sweep (a wave's or the posterior's) has
    its record and its design, and was run from that design with these inputs. One line names what is wrong."""
    from gpsim.sweep.lock import LOCK_NAME
    from gpsim.sweep.manifest import changed_inputs
    from gpsim.sweep.store import SweepStore

    waves_dir = root / "waves"
    folders = sorted(
        (int(f.name[5:]), f)
        for f in (waves_dir.iterdir() if waves_dir.is_dir() else [])
        if f.name.startswith("wave-") and f.name[5:].isdigit()
    )
    sweeps = [(f"wave{k}", f) for k, f in folders] + [("posterior", root / "posterior")]
    for label, folder in sweeps:
        runs = folder / "runs"
        inside = folder.relative_to(root).as_posix()
        if not runs.is_dir():
            continue
        if not SweepStore(runs).exists():
            if any(p.name != LOCK_NAME for p in runs.iterdir()):
                raise ExperimentError(
                    f"--resume: {root}: {inside}/runs/manifest.json is missing, so the runs stored beside it "
                    f"cannot be checked; {_AGAIN}"
                )
            continue
        manifest = SweepStore(runs).read_manifest()  # an unreadable record is refused with one line
        if not (folder / DESIGN).is_file():
            raise ExperimentError(
                f"--resume: {root}: {inside}/{DESIGN} is missing, but {inside}/runs holds runs of it; {_AGAIN}"
            )
        try:
            exp = wave_experiment(cal, quick, folder, label, list(cal.names), f"{inside}/{DESIGN}")
            exp.check_points()
        except ExperimentError as err:  # a design.csv edited into something the model refuses
            raise ExperimentError(f"--resume: {root}: {err}; put back the original file, or {_AFRESH}") from None
        if manifest.get("experiment_hash") != exp.hash:
            what = changed_inputs(manifest.get("experiment", {}), exp.normalised())
            if what == "the points file's content changed":
                what = f"{inside}/{DESIGN} is not the design they were run from"
            raise ExperimentError(
                f"--resume: {root}: the runs in {inside}/runs do not match this calibration ({what}); put back the "
                f"original files, or {_AFRESH}"
            )


def _prepare(root: Path, cal: CalibrationFile, quick: bool, resume: bool) -> None:
    """Refuse a folder that holds something else; on resume, one made by this file and mode, whose stored runs
    match it. Nothing in the folder is written or removed until every check has passed."""
    from gpsim.sweep.lock import LOCK_NAME
    from gpsim.sweep.manifest import changed_inputs

    meta_path = root / "calibration.json"
    if resume:
        if not (root / "started.json").exists():
            used = root.is_dir() and any(p.name != LOCK_NAME for p in root.iterdir())
            start = "choose another --out to start one" if used else "leave out --resume to start one there"
            raise ExperimentError(
                f"--resume: {root} holds no calibration to continue (no started.json); check the folder, or {start}"
            )
        started = _read_started(root / "started.json")
        if started.get("hash") != cal.hash(quick):
            before = started.get("calibration")
            what = changed_inputs(before, cal.normalised(quick)) if isinstance(before, dict) else "it changed"
            raise ExperimentError(
                f"--resume: {root} holds a calibration of a different targets file or mode ({what}); resuming "
                "would mix two sets of inputs, so use another --out"
            )
        _check_stored(root, cal, quick)
        _keep_finished_times(root, started)
        meta_path.unlink(missing_ok=True)  # the run is incomplete again until it finishes
        return
    if any(p.name != LOCK_NAME for p in root.iterdir()):
        what = "a calibration (use --resume to continue it)" if (root / "started.json").exists() else "other files"
        raise ExperimentError(f"--out {root}: already holds {what}; choose another --out")
    started = {"format": FORMAT, "hash": cal.hash(quick), "file": cal.source, "quick": quick}
    record = json.dumps({**started, "calibration": cal.normalised(quick)}, default=str) + "\n"
    try:
        _write(root / "started.json", lambda p: p.write_text(record))
    except OSError as err:
        raise ExperimentError(f"cannot write to output folder {root}: {err.strerror or err}") from None


def _read_started(path: Path) -> dict[str, Any]:
    """``started.json`` as written by :func:`calibrate`, or a one-line error naming it."""
    from gpsim.data.files import read_limited

    try:
        data = json.loads(read_limited(path, 64 << 20, "calibration record", ExperimentError))
    except (ValueError, RecursionError) as err:
        raise ExperimentError(f"{path}: not a calibration's record ({one_line(err)[:200]}); {_AGAIN}") from None
    if not isinstance(data, dict) or not isinstance(data.get("hash"), str):
        raise ExperimentError(f"{path}: not a calibration's record (expected an object with its hash); {_AGAIN}")
    return data


# --- the targets table -------------------------------------------------------------------------------------
def target_table(targets: list[Target], prior: pd.DataFrame, posterior: pd.DataFrame) -> pd.DataFrame:
    """One row per target: observation, uncertainty, prior and posterior pass shares, posterior mean and 95%."""
    rows = []
    for t in targets:
        available = _available(t, prior)
        row: dict[str, Any] = {
            "target": t.name,
            "label": t.label,
            "output": t.output,
            "period": t.period,
            "sample": t.sample,
            "source": t.source,
            "observed": t.observed,
            "observation_var": t.observation_sd**2,
            "discrepancy_var": t.discrepancy_sd**2,
            "uncertainty_sd": t.sd,
            "accept_low": t.bounds[0],
            "accept_high": t.bounds[1],
        }
        if not available:
            row.update(status="not available in this model version", informative="not available in this model version")
            rows.append(row)
            continue
        pv = prior.loc[prior["status"] == "ok", f"target:{t.name}"].to_numpy(float)
        qv = posterior.loc[posterior["status"] == "ok", f"target:{t.name}"].to_numpy(float)
        prior_pass = float(t.meets(pv).mean()) if len(pv) else math.nan
        post_pass = float(t.meets(qv).mean()) if len(qv) else math.nan
        finite = qv[np.isfinite(qv)]
        row.update(
            status="ok",
            prior_runs=len(pv),
            prior_pass_share=prior_pass,
            informative="uninformative" if prior_pass > UNINFORMATIVE else "informative",
            posterior_runs=len(qv),
            posterior_pass_share=post_pass,
            posterior_mean=float(finite.mean()) if len(finite) else math.nan,
            posterior_low95=float(np.percentile(finite, 2.5)) if len(finite) else math.nan,
            posterior_high95=float(np.percentile(finite, 97.5)) if len(finite) else math.nan,
        )
        rows.append(row)
    return pd.DataFrame(rows)


# --- the point estimate as a parameter file ----------------------------------------------------------------
def central_point(unit: np.ndarray, implausibility: np.ndarray) -> int:
    """Index of the point estimate among posterior draws: of the draws that fit at least as well as the median
    draw (implausibility at or below the median), the one nearest the region's centre (the per-parameter median
    of all draws, in units of each prior range).

    The single least implausible draw is not used: where the targets leave a parameter unconstrained, the
    emulators' minimum lies wherever their noise puts it, often at the edge of the range. A central, well-fitting
    draw is a typical setting of what the targets allow.
    """
    unit = np.asarray(unit, dtype=float)
    implausibility = np.asarray(implausibility, dtype=float)
    good = np.flatnonzero(implausibility <= np.median(implausibility))
    centre = np.median(unit, axis=0)
    distance = np.linalg.norm(unit[good] - centre, axis=1)
    return int(good[np.argmin(distance)])


def write_point(path: Path, cal: CalibrationFile, quick: bool, point: dict[str, Any]) -> None:
    """``calibrated.toml``: the scenario, ``[fixed]`` and the point estimate (``gpsim run --params FILE``)."""
    from gpsim.paramfile import write

    values = {**cal.fixed, **(cal.quick_fixed if quick else {}), **point}
    write(
        path,
        cal.scenario,
        values,
        comment=[
            f"Calibrated point estimate from {cal.source or cal.name}{' (quick mode)' if quick else ''}: of the",
            "settings not ruled out that fit at least as well as the median one, the one nearest the region's centre.",
            "Run it with: gpsim run --params calibrated.toml",
        ],
    )


def summary_lines(result: Calibration) -> list[str]:
    """The lines ``gpsim calibrate`` prints at the end."""
    t = result.targets
    lines = []
    for w in result.waves:
        lines.append(
            f"wave {w['wave']}: {w['runs']} runs, {w['seconds']:.0f} s, {w['nroy_share_of_prior']:.1%} of the prior "
            "space not ruled out"
        )
    for sample in ("in-sample", "out-of-sample"):
        sel = t[(t["sample"] == sample) & (t["status"] == "ok")]
        met = int((sel["posterior_pass_share"] >= 0.5).sum())
        lines.append(f"{sample}: {met} of {len(sel)} targets met by most posterior runs")
    unavailable = t.loc[t["status"] != "ok", "target"].tolist()
    unin = t.loc[t["informative"] == "uninformative", "target"].tolist()
    if unin:
        lines.append("uninformative (met by >90% of the prior): " + ", ".join(unin))
    if unavailable:
        lines.append("not available in this model version: " + ", ".join(unavailable))
    lines.append("point estimate: " + ", ".join(f"{k}={v:.4g}" for k, v in result.point.items()))
    return lines


__all__ = [
    "Calibration",
    "Space",
    "WaveExperiment",
    "calibrate",
    "central_point",
    "run_design",
    "target_table",
    "wave_experiment",
    "write_point",
]
