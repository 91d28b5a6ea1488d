"""Running a sweep: serially, on an embedded Dask ``LocalCluster``, or on an existing Dask cluster.

Each run is one task (:func:`run_one`): it builds the point's parameters, runs the model with the run's own
``SeedSequence`` and returns the run's rows; an exception inside the model becomes a ``failed`` row with its
traceback instead of stopping the sweep. Results are written in batches (:class:`~gpsim.sweep.store.SweepStore`)
and each Dask future is released as soon as its result is buffered, so a lost worker costs at most the runs it had
in flight -- Dask reschedules those on the remaining workers (and the nanny restarts the lost one).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import socket
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import gpsim.sweep.store as sweep_store  # its result_versions, sent by reference to the workers
from gpsim.errors import ExperimentError, one_line, shown
from gpsim.sweep.lock import LOCK_NAME, SweepLock
from gpsim.sweep.manifest import changed_inputs
from gpsim.sweep.store import SweepStore, now, provenance, result_versions

if TYPE_CHECKING:  # the engine runs experiments; it never needs to import how they are read
    from gpsim.sweep.spec import Experiment, RunSpec

#: Most futures in flight per worker thread (bounds client memory for very large sweeps).
WINDOW_PER_THREAD = 8
#: How gpsim starts an embedded Dask cluster: single-threaded worker processes on loopback, no dashboard. The
#: scheduler's small HTTP server (health checks) still starts, on a free loopback port, so a second cluster on
#: the same machine does not warn that port 8787 is taken.
LOCAL_CLUSTER = dict(
    threads_per_worker=1,
    processes=True,
    host="127.0.0.1",
    dashboard_address=None,
    scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
)


#: Dask settings of the workers of a local cluster:
#:
#: * no statistical profiler (it samples each worker's stack every 10 ms for Dask's dashboard, which gpsim does
#:   not open; on 2 CPUs a 40-run sweep went from 1.62-1.64x to 1.68-1.70x the serial speed without it, three
#:   interleaved pairs);
#: * Dask's system monitor (CPU, memory, disk and network use of every worker, nanny and the scheduler, sampled
#:   every 0.5 s for the dashboard) every hour instead, and its event-loop health check every second instead of
#:   every 20 ms: together 1.4-2.6% of each worker's CPU beside its runs, 0.7-1.3% without them (the workers'
#:   own memory limits are checked as before, by their own monitor);
#: * glibc's own memory trimming in the workers: Dask sets ``MALLOC_TRIM_THRESHOLD_=65536`` before starting a
#:   worker so that memory freed by a task goes back to the system at once, which also switches off glibc's
#:   adaptive thresholds, so every large array a run allocates and frees is mapped and unmapped again (a
#:   8,000-practice run: 120,000 page faults and 0.12 s of system time, 11% more CPU than the same run in this
#:   process, against 5,000 and 0.01 s without it). gpsim's tasks keep nothing between runs, so a worker keeps
#:   about its largest run's memory instead of returning it between runs;
#: * worker processes forked from multiprocessing's fork server (:func:`start_fork_server`) instead of started
#:   as fresh interpreters ("spawn", Dask's default): the fork server imports Dask and the model's libraries
#:   once (:data:`gpsim.sweep.warm.FORK_SERVER_MODULES`; not gpsim, which each worker imports from disk as it
#:   warms), so a new worker starts with them already loaded (about a second of CPU less per worker). The fork
#:   server has no threads of its own, which is why it is safe to fork (a plain "fork" of this process, whose
#:   Dask event loop runs in a thread, is not).
#:   Where there is no fork server (Windows), workers start the default way.
LOCAL_WORKER_CONFIG: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.interval": "1h",
    "distributed.admin.tick.interval": "1s",
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,  # None: not set (Dask's convention)
}
if "forkserver" in multiprocessing.get_all_start_methods():
    LOCAL_WORKER_CONFIG["distributed.worker.multiprocessing-method"] = "forkserver"


def local_cluster(workers: int, **options: Any):
    """An embedded Dask ``LocalCluster`` of ``workers`` processes with :data:`LOCAL_CLUSTER` settings and the
    workers' :data:`LOCAL_WORKER_CONFIG`.

    The workers get this process's environment variables as they are now (a fork server started by an earlier
    cluster would otherwise hand on the ones it started with). A worker that Dask's nanny restarts after a crash
    is started the default way (a fresh interpreter): the settings apply while the cluster starts.
    """
    import dask
    from distributed import LocalCluster

    with dask.config.set(LOCAL_WORKER_CONFIG):  # the nannies hand the configuration to their workers
        start_fork_server()
        spawn_env = dask.config.get("distributed.nanny.pre-spawn-environ")
        env = {k: v for k, v in os.environ.items() if k not in spawn_env and k != "PYTHONHASHSEED"}
        return LocalCluster(n_workers=workers, **{**LOCAL_CLUSTER, "env": env, **options})


def start_fork_server() -> None:
    """Start the fork server local workers are forked from, with the libraries gpsim's workers use preloaded.

    Does nothing if this process's fork server is already running (started by an earlier cluster: its workers
    then start in a fraction of a second) or if Dask's ``distributed.worker.multiprocessing-method`` is not
    ``forkserver``. The variables Dask sets before starting a worker (``distributed.nanny.pre-spawn-environ``,
    e.g. one BLAS thread, and ``PYTHONHASHSEED``) are set first, as the first worker's nanny would, so the fork
    server imports numpy with them. Starting it here rather than from the first nanny lets its imports run
    while the scheduler starts.
    """
    import multiprocessing.forkserver

    import dask
    from distributed.utils import get_mp_context

    from gpsim.sweep.warm import FORK_SERVER_MODULES

    if dask.config.get("distributed.worker.multiprocessing-method") != "forkserver":
        return
    get_mp_context()  # Dask sets its own preload list once per process; ours replaces it (a superset of its use)
    multiprocessing.get_context("forkserver").set_forkserver_preload(list(FORK_SERVER_MODULES))
    # as Dask's nanny does: a variable already set keeps its value, and the workers' string hashing is fixed
    spawn_env = dask.config.get("distributed.nanny.pre-spawn-environ")
    for name, value in spawn_env.items():
        if value is not None:
            os.environ.setdefault(name, str(value))
    if os.environ.get("PYTHONHASHSEED") in (None, "0"):
        os.environ["PYTHONHASHSEED"] = "6640"
    multiprocessing.forkserver.ensure_running()


#: Times a run is resubmitted when the engine (not the model) failed to bring its result back.
ENGINE_RETRIES = 2


@dataclass
class Task:
    """Everything a worker needs for one run (small and picklable)."""

    run_key: str
    point_id: str
    replicate: int
    values: dict[str, Any]
    params: dict[str, Any]
    root_seed: int
    point_hash: int
    steps_every: int
    keep_orgs: bool = True
    attempt: int = 1
    #: Optional ``measure(results) -> dict`` run in the worker; its figures join the run's ``final`` row (used by
    #: calibration for figures that ``final`` does not hold, e.g. a statistic of ``orgs`` or the ledger).
    measure: Callable[[Any], dict[str, Any]] | None = None
    #: SHA-256 of the register content the sweep was planned with ("" for a synthetic region): a worker whose
    #: file differs (edited mid-sweep, or another machine's copy) fails the run instead of mixing two registers.
    register_sha256: str = ""


@dataclass
class SweepOutcome:
    """What :func:`run_sweep` did."""

    out: Path
    total: int
    done: int
    failed: int
    ran: int
    skipped: int
    seconds: float


def run_one(task: Task) -> dict[str, Any]:
    """Run one task; never raises for a model error (the row says ``failed`` and carries the traceback)."""
    import gpsim
    from gpsim.params import Params

    seed = np.random.SeedSequence(task.root_seed, spawn_key=(task.point_hash, task.replicate))
    worker = _worker_name()
    t0 = time.perf_counter()
    row = _run_row(task)
    final = steps = orgs = closures = None
    try:
        params = Params.from_mapping(task.params)
        region = gpsim.region_for(params)
        if region.register_sha256 != task.register_sha256:
            raise ExperimentError(
                f"register file of region {params.region!r} changed since the sweep started (content sha256 "
                f"{task.register_sha256[:12]} -> {region.register_sha256[:12]}); this run was not made"
            )
        results = gpsim.run(params, seed=seed, region=region)
        final = {"run_key": task.run_key, **{k: _scalar(v) for k, v in results.final.items()}}
        if task.measure is not None:
            final.update({k: _scalar(v) for k, v in task.measure(results).items()})
        if task.steps_every:
            s = results.steps
            s = s[(s["step"] % task.steps_every == 0) | (s["step"] == s["step"].iloc[-1])]
            steps = s.reset_index(drop=True)
            steps.insert(0, "run_key", task.run_key)
        if task.keep_orgs:
            orgs = _with_ids(task, results.orgs)
            closures = _with_ids(task, results.closures)
        row.update(status="ok", error=None)
    except Exception as err:  # a failed run is data, not the end of the sweep
        row.update(status="failed", error=f"{type(err).__name__}: {err}\n{traceback.format_exc()}")
    row.update(attempt=task.attempt, wall_seconds=time.perf_counter() - t0, worker=worker, finished=now())
    return {"run": row, "final": final, "steps": steps, "orgs": orgs, "closures": closures}


def _run_row(task: Task) -> dict[str, Any]:
    return {
        "run_key": task.run_key,
        "point_id": task.point_id,
        "replicate": task.replicate,
        "seed_entropy": task.root_seed,
        "seed_spawn_key": [task.point_hash, task.replicate],
        **task.values,
    }


def _with_ids(task: Task, frame):
    """A per-run table with the run's key, point, replicate and varied values in front."""
    ids = {"run_key": task.run_key, "point_id": task.point_id, "replicate": task.replicate, **task.values}
    out = frame.copy()
    for i, (name, value) in enumerate(ids.items()):
        out.insert(i, name, [value] * len(out))
    return out


def _failed(task: Task, err: BaseException) -> dict[str, Any]:
    """The row of a task the engine could not run at all (the model never returned or raised)."""
    row = {
        **_run_row(task),
        "status": "failed",
        "error": f"{type(err).__name__}: {err}\n(raised by the engine, not the model)",
        "attempt": task.attempt,
        "wall_seconds": float("nan"),
        "worker": None,
        "finished": now(),
    }
    return {"run": row, "final": None, "steps": None, "orgs": None, "closures": None}


def _scalar(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"


# --- engines ---------------------------------------------------------------------------------------
def serial(tasks: Iterable[Task]) -> Iterator[dict[str, Any]]:
    for task in tasks:
        yield run_one(task)


def version_mismatches(client_versions: dict[str, Any], workers: dict[str, dict[str, Any]]) -> dict[str, dict]:
    """Worker address -> {package: [client version, worker version]} for every package that differs."""
    out = {}
    for address, theirs in sorted(workers.items()):
        diff = {k: [v, theirs.get(k)] for k, v in client_versions.items() if theirs.get(k) != v}
        if diff:
            out[address] = diff
    return out


def check_worker_versions(client, record: dict[str, Any], warn: Callable[[str], None]) -> None:
    """Compare the packages of every connected worker with this process's, record the result, warn on a mismatch.

    Runs whose workers have other versions of gpsim, numpy, scipy, pandas, Mesa or networkx are not bit-identical
    to runs made here; the sweep still runs (a cluster may legitimately differ in a patch release), and the
    manifest's session says which worker differed in what.
    """
    mine = result_versions()
    try:
        theirs = client.run(sweep_store.result_versions)  # by reference: each worker imports its own installed copy
    except Exception as err:  # a worker that cannot answer must not stop the sweep; say so instead
        record.update(worker_versions_checked=0, worker_versions_error=f"{type(err).__name__}: {err}")
        return
    bad = version_mismatches(mine, theirs)
    record.update(worker_versions_checked=len(theirs), worker_version_mismatches=bad)
    if bad:
        address, diff = next(iter(bad.items()))
        shown = ", ".join(f"{k} {c} here, {w} there" for k, (c, w) in diff.items())
        warn(
            f"{len(bad)} of {len(theirs)} Dask workers run other package versions than this process "
            f"(e.g. {address}: {shown}); their runs may not be bit-identical to runs made here "
            "(recorded in manifest.json)"
        )


def _warn(message: str) -> None:
    import warnings

    warnings.warn(message, RuntimeWarning, stacklevel=3)


def check_main_guard() -> None:
    """Refuse to start worker processes from a script that is being re-imported by a worker process.

    Dask starts local workers with the ``spawn`` method, which imports the calling script again in each new
    process; a script that calls ``exp.run(..., workers=N)`` at its top level, outside an
    ``if __name__ == "__main__":`` block, would start a cluster from every worker in turn.
    """
    import multiprocessing

    importing = sys.modules.get("__mp_main__")  # the script, re-imported by a spawned process
    if importing is not None and multiprocessing.current_process().name != "MainProcess":
        script = getattr(importing, "__file__", None) or "the script"
        raise ExperimentError(f"{script}: {GUARD_ADVICE}")


#: Region parameters: runs that agree on these share one starting region (:func:`gpsim.region.region_key`).
REGION_FIELDS = (
    "region",
    "n_practices",
    "n_ccgs",
    "mean_list_size",
    "list_size_sigma",
    "hospital_catchment",
    "peer_degree",
    "region_seed",
)
#: Most distinct regions a worker builds before its first run (the in-process region cache holds 16).
WARM_REGIONS = 8


def region_params(tasks: Iterable[Task]) -> list[dict[str, Any]]:
    """The parameters of each distinct starting region of ``tasks`` (first :data:`WARM_REGIONS`), in task order."""
    seen: dict[tuple, dict[str, Any]] = {}
    for task in tasks:
        key = tuple(repr(task.params.get(f)) for f in REGION_FIELDS)
        if key not in seen:
            seen[key] = task.params
            if len(seen) >= WARM_REGIONS:
                break
    return list(seen.values())


#: What to do when worker processes re-import the script that starts a sweep.
GUARD_ADVICE = (
    "a sweep with workers > 1 starts worker processes that import this script again; put the code that runs it "
    "under 'if __name__ == \"__main__\":' (docs/SWEEPS.md, From Python)"
)


def dask_results(
    tasks: list[Task],
    *,
    workers: int = 2,
    scheduler: str | None = None,
    record: dict[str, Any] | None = None,
    warn: Callable[[str], None] = _warn,
    client: Any = None,
) -> Iterator[dict[str, Any]]:
    """Run ``tasks`` on Dask and yield results as they complete; each future is released once yielded.

    The workers' package versions are compared with this process's first (:func:`check_worker_versions`); the
    outcome goes into ``record`` (the manifest's session entry), with the seconds it took to start a local
    cluster (``cluster_start_seconds``) and to warm the workers (``warm_seconds``: imports and regions).
    """
    try:
        from distributed import Client, as_completed
        from distributed.scheduler import KilledWorker
    except ImportError:
        raise ExperimentError(
            "parallel sweeps need Dask: pip install 'gpsim[sweep]' (or run with --workers 1)"
        ) from None
    record = record if record is not None else {}
    cluster = None
    started = time.perf_counter()
    if client is not None:
        pass  # connected by the caller (run_sweep checks the address before it creates anything)
    elif scheduler:
        client = connect(scheduler)
    else:
        try:
            cluster = local_cluster(workers, silence_logs=40)
        except RuntimeError as err:  # workers that died while starting: most often an unguarded script
            main = sys.modules.get("__main__")
            where = getattr(main, "__file__", None)
            hint = f"; if {where} runs the sweep at its top level: {GUARD_ADVICE}" if where else ""
            raise ExperimentError(f"could not start {workers} local Dask workers ({err}){hint}") from None
        client = Client(cluster)
        record["cluster_start_seconds"] = round(time.perf_counter() - started, 3)
    try:
        check_worker_versions(client, record, warn)
        from gpsim.sweep.warm import WarmWorker

        warming = time.perf_counter()
        client.register_plugin(WarmWorker(region_params(tasks)), name=WarmWorker.name)
        record["warm_seconds"] = round(time.perf_counter() - warming, 3)
        threads = max(1, sum(client.nthreads().values())) if scheduler else workers
        window = max(4, WINDOW_PER_THREAD * threads)
        token = uuid.uuid4().hex[:8]
        pending = iter(tasks)
        futures = as_completed()
        in_flight: dict[str, tuple[Task, int]] = {}

        def submit(task: Task, attempt: int = 0) -> None:
            key = f"gpsim-run-{task.run_key}-{token}-{attempt}"
            in_flight[key] = (task, attempt)
            futures.add(client.submit(run_one, task, key=key, pure=False))

        for task in _take(pending, window):
            submit(task)
        for future in futures:
            task, attempt = in_flight.pop(future.key)
            try:
                result = future.result()
            except KilledWorker as err:  # the task took down workers more often than Dask allows: give up on it
                result = _failed(task, err)
            except Exception as err:  # the client lost the result (e.g. its worker died while handing it over)
                future.release()
                if attempt < ENGINE_RETRIES:  # run_one never raises, so this is the engine's fault: run it again
                    submit(task, attempt + 1)
                    continue
                result = _failed(task, err)
            future.release()
            del future
            for nxt in _take(pending, 1):
                submit(nxt)
            yield result
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


#: How long to wait for a Dask scheduler to answer before giving up on its address.
CONNECT_TIMEOUT = "20s"


def check_scheduler_address(address: str) -> None:
    """Refuse a ``--scheduler`` that is not a Dask address (``tcp://host:port``, ``tls://...``, ``ws://...``)."""
    from urllib.parse import urlsplit

    if not isinstance(address, str) or not address.strip():
        raise ExperimentError(f"--scheduler {shown(address)}: empty; give an address such as tcp://host:8786")
    try:
        parts = urlsplit(address)
        port = parts.port
    except ValueError as err:
        raise ExperimentError(f"--scheduler {address!r}: not an address ({err})") from None
    if parts.scheme not in ("tcp", "tls", "ws", "wss", "ucx") or not parts.hostname:
        raise ExperimentError(
            f"--scheduler {address!r}: not a Dask scheduler address; give one such as tcp://host:8786"
        )
    if port is None and parts.scheme in ("tcp", "tls"):
        raise ExperimentError(f"--scheduler {address!r}: no port; give one such as tcp://{parts.hostname}:8786")


def connect(address: str):
    """A Dask ``Client`` of the scheduler at ``address``, or a one-line :class:`ExperimentError`."""
    check_scheduler_address(address)
    try:
        from distributed import Client
    except ImportError:
        raise ExperimentError("--scheduler needs Dask: pip install 'gpsim[sweep]'") from None
    try:
        return Client(address, timeout=CONNECT_TIMEOUT)
    except Exception as err:  # OSError, TimeoutError, a refused handshake, an unknown protocol...
        reason = one_line(err).split(": ", 1)[-1][:200] or type(err).__name__
        raise ExperimentError(f"cannot connect to the Dask scheduler at {address}: {reason}") from None


def _take(it: Iterator[Task], n: int) -> list[Task]:
    out = []
    for _ in range(n):
        try:
            out.append(next(it))
        except StopIteration:
            break
    return out


def max_workers() -> int:
    """Most local worker processes a sweep may start: 4 per CPU (more only thrash)."""
    return 4 * (os.cpu_count() or 1)


def check_workers(workers: int) -> None:
    """Refuse a number of local worker processes that is not a whole number in [1, :func:`max_workers`]."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ExperimentError(f"--workers {workers}: must be a whole number of at least 1")
    if workers > max_workers():
        raise ExperimentError(
            f"--workers {workers}: more than {max_workers()} worker processes (4 per CPU) on this machine; "
            "use --scheduler for a larger cluster"
        )


# --- the sweep -------------------------------------------------------------------------------------
def run_sweep(
    exp: Experiment,
    out: str | os.PathLike,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    retry_failed: bool = False,
    progress: Callable[[int, int, int], None] | None = None,
    show_bar: bool = False,
    batch: int = 50,
    flush_seconds: float = 10.0,
    warn: Callable[[str], None] = _warn,
    measure: Callable[[Any], dict[str, Any]] | None = None,
) -> SweepOutcome:
    """Run every run of ``exp`` not yet stored in ``out``.

    Args:
        exp: the experiment.
        out: the sweep folder (created; must not already hold a sweep unless ``resume``).
        workers: 1 runs serially in this process; more starts a local Dask cluster with that many workers.
        scheduler: the address of an existing Dask scheduler (``tcp://host:port``); overrides ``workers``.
        resume: continue a sweep in ``out``: its manifest must carry this experiment's hash; only missing run
            keys run.
        retry_failed: with ``resume``, also rerun runs whose stored attempt failed.
        progress: called as ``progress(done, failed, total)`` after every run (done includes failed).
        show_bar: show a tqdm bar with ETA and done/failed counts on stderr.
        batch: results per part file.
        flush_seconds: also write a part when this long has passed since the last one.
        warn: called with a one-line message when Dask workers run other package versions than this process
            (default: a ``RuntimeWarning``).
        measure: a picklable ``measure(results) -> dict`` run after each run in its worker; the figures it returns
            are stored as extra columns of the ``final`` table. Part of what a run produces, so a caller that
            changes it should also change the experiment (and so its hash).

    With ``retry_failed``, a rerun replaces its failed row in ``runs/`` (the failed attempt moves to
    ``retried/``), so ``runs/`` keeps one row per run; ``attempt`` counts the attempts.
    """
    check_workers(workers)
    if workers > 1 and not scheduler:
        check_main_guard()
    exp.check_points()
    if _holds_other_files(Path(out)):  # refused before anything is written into it, even a lock
        raise ExperimentError(f"{out} exists and is not empty; choose another --out")
    client = connect(scheduler) if scheduler else None  # a bad or unreachable address: nothing created yet
    lock = SweepLock(out)
    try:
        lock.acquire()  # a second process on this folder is refused here, naming the first
    except BaseException:
        if client is not None:
            client.close()
        raise
    store = SweepStore(out, varied=exp.varied)
    try:
        return _run_locked(
            exp, store, lock, client, scheduler, workers, resume, retry_failed, progress, show_bar, batch,
            flush_seconds, warn, measure,
        )  # fmt: skip
    finally:
        if lock.keep:
            lock.release()
        else:  # refused or failed before this session began: leave no lock file or folder of ours behind
            lock.discard()


def _holds_other_files(root: Path) -> bool:
    """Whether ``root`` is a folder holding files but no sweep (unreadable places are left to the lock to word)."""
    try:
        return (
            root.is_dir() and not (root / "manifest.json").exists() and any(p.name != LOCK_NAME for p in root.iterdir())
        )
    except OSError:
        return False


def _run_locked(
    exp, store, lock, client, scheduler, workers, resume, retry_failed, progress, show_bar, batch, flush_seconds,
    warn, measure,
) -> SweepOutcome:  # fmt: skip
    """The body of :func:`run_sweep`, run while holding the folder's lock."""
    runs = exp.runs()
    total = len(runs)
    started = now()
    try:
        if store.exists():
            if not resume:
                raise ExperimentError(
                    f"{store.root} already holds a sweep; use --resume to continue it, or another --out"
                )
            manifest = store.read_manifest()
            stored_hash = str(manifest.get("experiment_hash", "?"))
            if stored_hash != exp.hash:
                what = changed_inputs(manifest.get("experiment", {}), exp.normalised())
                raise ExperimentError(
                    f"{store.root} holds a sweep of a different experiment (hash {stored_hash[:12]} != "
                    f"{exp.hash[:12]}: {what}); resuming would mix two sets of inputs, so use another --out"
                )
            store.clean_orphans()
            store.supersede()  # finish what an interrupted retry left (a failed row beside its rerun)
            ok, failed = store.stored_keys()
            attempts = store.attempts()
            keep = ok if retry_failed else ok | failed
        else:
            if store.root.exists() and any(p.name != LOCK_NAME for p in store.root.iterdir()):
                raise ExperimentError(f"{store.root} exists and is not empty; choose another --out")
            manifest = {
                "format": "gpsim-sweep/1",
                "experiment": exp.normalised(),
                "experiment_hash": exp.hash,
                "experiment_file": exp.source,
                "root_seed": exp.seed,
                "seed_scheme": "SeedSequence(root_seed, spawn_key=(point_hash, replicate)); "
                "point_hash = int(point_id, 16) = first 63 bits of SHA-256 of the point's canonical JSON",
                "base_params": exp.base_params().to_dict(),
                "n_points": len(exp.points()),
                "n_runs": total,
                "created": started,
                "sessions": [],
            }
            try:
                store.create(manifest, exp.design_rows())
            except BaseException:
                if lock.made:  # leave nothing half-made behind (the folder itself goes when the lock is dropped)
                    for part in store.root.iterdir():
                        if part.name != LOCK_NAME:
                            shutil.rmtree(part, ignore_errors=True) if part.is_dir() else part.unlink()
                raise
            ok, failed, keep = set(), set(), set()
            attempts = {}
        todo = [r for r in runs if r.run_key not in keep]
        engine = f"dask {scheduler}" if scheduler else ("serial" if workers == 1 else f"dask LocalCluster x{workers}")
        session = {"started": started, "ended": None, "engine": engine, "to_run": len(todo), **provenance()}
        manifest.setdefault("sessions", []).append(session)
        store.write_manifest(manifest)
        lock.keep = True  # the sweep (and this session) exists: the lock file stays with it
    except OSError as err:
        raise ExperimentError(f"cannot use sweep folder {store.root}: {err.strerror or err}") from None

    done = len(keep)
    n_failed = len(failed) if not retry_failed else 0
    bar = None
    if show_bar:
        from tqdm import tqdm

        bar = tqdm(total=total, initial=done, unit="run", desc=exp.name, file=sys.stderr, dynamic_ncols=True)
        bar.set_postfix(done=done, failed=n_failed, refresh=False)

    t0 = time.perf_counter()
    registers = exp.registers()  # read and hashed once; each run checks its worker reads the same content
    tasks = [_task(exp, r, attempts.get(r.run_key, 0) + 1, measure, registers) for r in todo]
    results = (
        serial(tasks)
        if (workers == 1 and not scheduler)
        else dask_results(tasks, workers=workers, scheduler=scheduler, record=session, warn=warn, client=client)
    )
    buf_runs: list[dict] = []
    buf_final: list[dict] = []
    buf_steps: list = []
    buf_orgs: list = []
    buf_closures: list = []
    part = store.next_part_number()
    last_flush = time.monotonic()
    ran = 0

    def clear() -> None:
        for buf in (buf_runs, buf_final, buf_steps, buf_orgs, buf_closures):
            buf.clear()

    def flush() -> None:
        nonlocal part, last_flush
        if buf_runs:
            try:
                store.write_batch(part, buf_runs, buf_final, buf_steps, buf_orgs, buf_closures)
            except OSError as err:
                lost = len(buf_runs)
                clear()  # not stored: --resume runs them again
                raise ExperimentError(
                    f"cannot write to sweep folder {store.root}: {err.strerror or err}; {lost} finished runs were "
                    "not stored and will run again with --resume"
                ) from None
            part += 1
            clear()
        last_flush = time.monotonic()

    try:
        for res in results:
            buf_runs.append(res["run"])
            if res["final"] is not None:
                buf_final.append(res["final"])
            for buf, name in ((buf_steps, "steps"), (buf_orgs, "orgs"), (buf_closures, "closures")):
                if res.get(name) is not None:
                    buf.append(res[name])
            ran += 1
            done += 1
            if res["run"]["status"] != "ok":
                n_failed += 1
            if len(buf_runs) >= batch or time.monotonic() - last_flush > flush_seconds:
                flush()
            if bar is not None:
                bar.set_postfix(done=done, failed=n_failed, refresh=False)
                bar.update(1)
            if progress is not None:
                progress(done, n_failed, total)
        flush()
    except BaseException:
        # stopped (Ctrl-C, SIGTERM, a lost cluster, an unwritable folder): store what is buffered, record the
        # session, and let the original error through (a second failure while doing so is not allowed to hide it)
        with contextlib.suppress(Exception):
            _close_session(store, manifest, session, flush, bar, ran, t0, total)
        raise
    _close_session(store, manifest, session, flush, bar, ran, t0, total)
    return SweepOutcome(
        out=store.root,
        total=total,
        done=done,
        failed=n_failed,
        ran=ran,
        skipped=total - len(todo),
        seconds=time.perf_counter() - t0,
    )


def _close_session(store: SweepStore, manifest: dict, session: dict, flush, bar, ran: int, t0: float, total: int):
    """Write buffered results and the manifest's session record and counts."""
    if bar is not None:
        bar.close()
    flush()
    session.update(ended=now(), ran=ran, seconds=round(time.perf_counter() - t0, 3))
    try:
        store.supersede()
        ok_now, failed_now = store.stored_keys()
        manifest.update(n_done=len(ok_now), n_failed=len(failed_now), complete=len(ok_now | failed_now) >= total)
        store.write_manifest(manifest)
    except OSError as err:
        raise ExperimentError(f"cannot write to sweep folder {store.root}: {err.strerror or err}") from None


def _task(
    exp: Experiment,
    run: RunSpec,
    attempt: int = 1,
    measure: Callable[[Any], dict[str, Any]] | None = None,
    registers: dict[str, str] | None = None,
) -> Task:
    return Task(
        run_key=run.run_key,
        point_id=run.point_id,
        replicate=run.replicate,
        values=run.values,
        params=exp.params_for(run.values).to_dict(),
        root_seed=exp.seed,
        point_hash=run.point_hash,
        steps_every=exp.steps_every,
        keep_orgs=exp.keep_orgs,
        attempt=attempt,
        measure=measure,
        register_sha256=(registers or {}).get(exp.region_text(run.values), ""),
    )
