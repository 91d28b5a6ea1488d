"""Faults injected into sweeps: nothing lost, nothing stored twice, failures recorded with their error.

(tests/test_sweep.py already kills a Dask worker mid-sweep, SIGKILLs a serial sweep and resumes it, and makes a
run raise in a serial sweep; these add the cases it does not cover.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from conftest import raw_runs

from gpsim.cli import main
from gpsim.errors import ExperimentError
from gpsim.experiment import Experiment
from gpsim.sweep.engine import LOCAL_CLUSTER, run_sweep
from gpsim.sweep.store import SweepStore

FAULTS: dict[str, int] = {}


def _count(kind: str) -> None:
    from conftest import EXAMPLE_COUNTS

    FAULTS[kind] = FAULTS.get(kind, 0) + 1
    EXAMPLE_COUNTS.setdefault("faults injected", {}).update(FAULTS)


#: Two workers, set up as gpsim's own embedded cluster.
CLUSTER = dict(n_workers=2, **LOCAL_CLUSTER)


def tiny(**kw) -> Experiment:
    base = dict(
        name="faults",
        question="Does the sweep survive faults?",
        fixed=dict(n_practices=40, n_ccgs=2),
        years=1.0,
        vary={"target_org_size": [30_000.0, 60_000.0, 90_000.0, 200_000.0], "ccg_supportiveness": [0.2, 0.8]},
        replicates=2,
        seed=5,
    )
    base.update(kw)
    return Experiment(**base)


def assert_complete_exactly_once(exp: Experiment, out: Path) -> None:
    rows = raw_runs(out)
    assert rows["run_key"].is_unique, rows["run_key"][rows["run_key"].duplicated()].tolist()
    assert set(rows["run_key"]) == {r.run_key for r in exp.runs()}
    store = SweepStore(out)
    final = store.final()
    assert final["run_key"].is_unique and len(final) == (store.runs()["status"] == "ok").sum()
    assert not list(out.rglob(".tmp-*"))
    assert store.read_manifest()["complete"]


def test_folder_unwritable_mid_sweep_gives_one_line_and_resume_completes(tmp_path):
    """The ``runs`` folder is replaced by a file while the sweep runs (as root, chmod would not stop writes)."""
    exp = tiny()
    out = tmp_path / "out"
    runs_dir = out / "runs"
    moved = tmp_path / "runs-away"

    def break_folder(done, failed, total):
        if done == 3 and not moved.exists():
            runs_dir.rename(moved)
            runs_dir.write_text("in the way")

    with pytest.raises(ExperimentError) as info:
        run_sweep(exp, out, batch=2, progress=break_folder)
    msg = str(info.value)
    assert "\n" not in msg and f"cannot write to sweep folder {out}" in msg and "--resume" in msg
    runs_dir.unlink()
    moved.rename(runs_dir)
    stored = raw_runs(out)
    assert 0 < len(stored) < 16 and stored["run_key"].is_unique
    again = run_sweep(exp, out, resume=True, batch=2)
    assert again.skipped == len(stored) and again.ran == 16 - len(stored)
    assert_complete_exactly_once(exp, out)
    _count("sweep folder unwritable mid-sweep")


def test_folder_unwritable_from_the_start_leaves_nothing(tmp_path, capsys):
    f = tmp_path / "exp.toml"
    f.write_text('name = "x"\nyears = 0.25\n[fixed]\nn_practices = 20\n[vary]\ntarget_org_size = [30000, 60000]\n')
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    assert main(["sweep", "run", str(f), "--out", str(blocker / "deep" / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write to output folder" in err and "Traceback" not in err
    assert blocker.read_text() == "x"
    _count("sweep folder unwritable at start")


def _install_flaky_run(bad_size: float) -> None:  # runs inside each Dask worker process
    import gpsim

    real = getattr(gpsim, "_real_run", gpsim.run)
    gpsim._real_run = real

    def flaky(params, seed=0, **kw):
        if params.target_org_size == bad_size:
            raise FloatingPointError(f"injected fault at target_org_size={bad_size}")
        return real(params, seed=seed, **kw)

    gpsim.run = flaky


def test_run_that_raises_on_dask_workers_is_recorded_once_with_its_error(tmp_path):
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    exp = tiny()
    with LocalCluster(**CLUSTER) as cluster:
        with Client(cluster) as client:
            client.run(_install_flaky_run, 90_000.0)
        outcome = run_sweep(exp, tmp_path / "dask", scheduler=cluster.scheduler_address, batch=3)
    store = SweepStore(tmp_path / "dask")
    runs = store.runs()
    bad = runs[runs["status"] == "failed"]
    assert outcome.failed == 4 and len(bad) == 4 and (bad["target_org_size"] == 90_000.0).all()
    assert bad["error"].str.startswith("FloatingPointError: injected fault at target_org_size=90000.0").all()
    assert bad["error"].str.contains("Traceback").all() and bad["worker"].str.startswith("tcp://").all()
    assert len(store.final()) == 12 and not store.final()["run_key"].isin(bad["run_key"]).any()
    assert_complete_exactly_once(exp, tmp_path / "dask")
    # the failures are rerun (and now succeed) with --retry-failed; nothing else runs again
    again = run_sweep(exp, tmp_path / "dask", resume=True, retry_failed=True)
    assert again.ran == 4 and again.failed == 0 and (store.runs()["status"] == "ok").all()
    assert len(store.final()) == 16 and store.final()["run_key"].is_unique
    _count("model run raises (Dask workers)")


EXPERIMENT = (
    'name = "killme"\nquestion = "Does resume work?"\nreplicates = 2\nseed = 3\nyears = 1\n'
    "[fixed]\nn_practices = 40\nn_ccgs = 2\n"
    "[vary]\ntarget_org_size = [20000, 40000, 60000, 80000, 100000, 150000, 200000, 300000, 400000, 500000]\n"
    "ccg_supportiveness = [0.2, 0.8]\n"
)


def _start(f: Path, out: Path, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "gpsim.cli", "sweep", "run", str(f), "--out", str(out), "--batch", "2", "--quiet"]
    return subprocess.Popen([*cmd, *extra], cwd=f.parent, stderr=subprocess.PIPE, text=True, start_new_session=True)


def _wait_for_parts(proc: subprocess.Popen, out: Path, n: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list((out / "runs").glob("part-*.parquet"))) >= n:
            return
        time.sleep(0.02)
    raise AssertionError(f"the sweep did not store {n} parts in time (exit {proc.poll()})")


def test_sigkill_of_a_dask_sweep_and_its_workers_then_resume(tmp_path):
    """SIGKILL the whole process group (client, scheduler, nannies, workers) mid-write, then resume."""
    pytest.importorskip("distributed")
    f = tmp_path / "exp.toml"
    f.write_text(EXPERIMENT)
    out = tmp_path / "out"
    exp = Experiment.from_dict(tomllib.loads(EXPERIMENT))
    proc = _start(f, out, "--workers", "2")
    _wait_for_parts(proc, out, 2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = raw_runs(out)
    assert 0 < len(before) < 40 and before["run_key"].is_unique
    assert main(["sweep", "run", str(f), "--out", str(out), "--resume", "--quiet"]) == 0  # serially: cheaper
    assert_complete_exactly_once(exp, out)
    assert set(before["run_key"]) <= set(raw_runs(out)["run_key"])
    _count("SIGKILL of a Dask sweep")


def test_sigterm_stores_what_finished_and_records_the_session(tmp_path):
    f = tmp_path / "exp.toml"
    f.write_text(EXPERIMENT)
    out = tmp_path / "out"
    exp = Experiment.from_dict(tomllib.loads(EXPERIMENT))
    proc = _start(f, out)
    _wait_for_parts(proc, out, 1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.strip() == "gpsim: interrupted", err
    manifest = SweepStore(out).read_manifest()
    session = manifest["sessions"][-1]
    stored = raw_runs(out)
    assert session["ended"] is not None and session["ran"] == len(stored)  # nothing buffered was dropped
    assert not manifest["complete"] and stored["run_key"].is_unique
    assert main(["sweep", "run", str(f), "--out", str(out), "--resume", "--quiet"]) == 0
    assert_complete_exactly_once(exp, out)
    _count("SIGTERM of a sweep")


def test_damaged_part_file_is_named_in_one_line_and_resume_reruns_its_runs(tmp_path, capsys):
    exp = tiny(vary={"target_org_size": [30_000.0, 60_000.0]}, replicates=2)
    out = tmp_path / "out"
    run_sweep(exp, out, batch=2)
    part = sorted((out / "runs").glob("part-*.parquet"))[0]
    part.write_bytes(part.read_bytes()[:100])  # a disk error, not a crash: renames are atomic
    assert main(["sweep", "status", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{part}: damaged part file" in err and "Traceback" not in err
    part.rename(tmp_path / part.name)
    again = run_sweep(exp, out, resume=True)
    assert again.ran == 2
    assert_complete_exactly_once(exp, out)
    _count("damaged part file")
