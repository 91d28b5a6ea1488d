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


# --- class 4: one process per sweep folder --------------------------------------------------------------------
EXPERIMENT_TEXT = (
    'name = "lock"\nyears = 2\nreplicates = 10\nseed = 3\n[fixed]\nn_practices = 200\n'
    "[vary]\ntarget_org_size = [30000, 60000]\n"
)


def _lock_command(tmp_path: Path) -> tuple[list[str], Path]:
    f = tmp_path / "exp.toml"
    f.write_text(EXPERIMENT_TEXT)
    out = tmp_path / "sweep"
    return [
        sys.executable,
        "-m",
        "gpsim.cli",
        "sweep",
        "run",
        str(f),
        "--out",
        str(out),
        "--quiet",
        "--batch",
        "1",
    ], out


def _started(cmd: list[str], out: Path, **popen) -> subprocess.Popen:
    """Start a sweep process and return once it has stored its first runs."""
    proc = subprocess.Popen(cmd, **popen)
    deadline = time.monotonic() + 120
    while not list((out / "runs").glob("part-*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.05)
    return proc


def test_a_second_sweep_on_the_same_folder_is_refused_naming_the_first(tmp_path):
    """Two ``sweep run`` processes on one folder both ran, and stored 13 of 20 runs twice."""
    cmd, out = _lock_command(tmp_path)
    first = _started(cmd, out, stderr=subprocess.PIPE, text=True)
    first.send_signal(signal.SIGSTOP)  # hold it mid-sweep (it keeps its lock) while the second one tries
    assert first.poll() is None, "the first sweep finished before the second could start: make it longer"
    for extra in ([], ["--resume"]):
        second = subprocess.run(cmd + extra, capture_output=True, text=True, timeout=120)
        assert second.returncode == 2, second.stderr
        assert second.stderr.strip() == (
            f"gpsim: error: {out} is in use by another gpsim sweep (process {first.pid} on {os.uname().nodename}); "
            "wait for it to finish or stop it, then use --resume"
        )
    first.send_signal(signal.SIGCONT)
    assert first.wait(timeout=300) == 0, first.stderr.read()
    rows = raw_runs(out)
    assert rows["run_key"].is_unique and len(rows) == 20
    # the lock died with its process: a resume now runs (nothing is left to do)
    assert main([*cmd[3:], "--resume"]) == 0
    _count("second sweep process on one folder")


def test_the_lock_dies_with_a_killed_process(tmp_path):
    cmd, out = _lock_command(tmp_path)
    first = _started(cmd, out, stderr=subprocess.DEVNULL)
    first.kill()
    first.wait()
    assert main([*cmd[3:], "--resume"]) == 0
    rows = raw_runs(out)
    assert rows["run_key"].is_unique and len(rows) == 20
    _count("second sweep process on one folder")


# --- class 8: the scheduler address is checked before anything is created ---------------------------------------
@pytest.mark.parametrize(
    "address, needle",
    [
        ("not a url", "not a Dask scheduler address"),
        ("inproc://x", "not a Dask scheduler address"),
        ("127.0.0.1:8786", "not a Dask scheduler address"),
        ("tcp://127.0.0.1", "no port"),
        ("tcp://127.0.0.1:99999", "not an address"),
        ("", "empty"),
    ],
)
def test_a_bad_scheduler_address_is_refused_before_anything_is_made(address, needle, tmp_path, capsys):
    f = tmp_path / "exp.toml"
    f.write_text(EXPERIMENT_TEXT)
    out = tmp_path / "sweep"
    assert main(["sweep", "run", str(f), "--out", str(out), "--quiet", "--scheduler", address]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err
    assert not out.exists()
    _count("bad scheduler")


def test_an_unreachable_scheduler_leaves_no_folder_and_a_rerun_works(tmp_path, capsys, monkeypatch):
    import socket

    from gpsim.sweep import engine

    monkeypatch.setattr(engine, "CONNECT_TIMEOUT", "2s")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    f = tmp_path / "exp.toml"
    f.write_text(EXPERIMENT_TEXT.replace("replicates = 10", "replicates = 1"))
    out = tmp_path / "sweep"
    assert main(["sweep", "run", str(f), "--out", str(out), "--quiet", "--scheduler", f"tcp://127.0.0.1:{port}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot connect to the Dask scheduler" in err
    assert not out.exists()
    assert main(["sweep", "run", str(f), "--out", str(out), "--quiet"]) == 0  # not "already holds a sweep"
    _count("bad scheduler")


# --- class 10: manifest.json of the wrong shape ---------------------------------------------------------------
@pytest.mark.parametrize(
    "text, needle",
    [
        ("{}", "experiment_hash is missing"),
        ("[]", "holds [], not an object"),
        ("null", "holds None, not an object"),
        ('"x"', "holds 'x', not an object"),
        ("5", "holds 5, not an object"),
        ("MUTATE:experiment_hash=5", "experiment_hash = 5 must be text"),
        ("MUTATE:n_runs='many'", "n_runs = 'many' must be a whole number"),
        ("MUTATE:n_runs=True", "n_runs = True must be a whole number"),
        ("MUTATE:n_runs=-1", "n_runs = -1 must be >= 0"),
        ("MUTATE:experiment=[]", "experiment = [] must be an object"),
        ("MUTATE:sessions={}", "sessions = {} must be a list"),
        ("MUTATE:sessions=[5]", "sessions[0] = 5 must be an object"),
        ("MUTATE:sessions=[{'git': 'x'}]", "sessions[0].git = 'x' must be an object"),
        ("MUTATE:experiment.design=None", "experiment.design = None must be an object"),
        ("MUTATE:experiment.design={}", "experiment.design.kind = None must be text"),
        ("MUTATE:experiment.name=7", "experiment.name = 7 must be text"),
        ("DEEP", "cannot read"),
    ],
)
def test_a_manifest_of_the_wrong_shape_is_one_line(text, needle, tmp_path, capsys):
    import json

    f = tmp_path / "exp.toml"
    f.write_text(EXPERIMENT_TEXT.replace("replicates = 10", "replicates = 1"))
    out = tmp_path / "sweep"
    assert main(["sweep", "run", str(f), "--out", str(out), "--quiet"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    if text.startswith("MUTATE:"):
        key, _, value = text[7:].partition("=")
        *parents, last = key.split(".")
        target = manifest
        for p in parents:
            target = target[p]
        target[last] = eval(value)  # a literal from the case list above
        text = json.dumps(manifest)
    elif text == "DEEP":
        text = "[" * 100_000 + "]" * 100_000
    (out / "manifest.json").write_text(text)
    for argv in (["sweep", "status", str(out)], ["sweep", "run", str(f), "--out", str(out), "--resume", "--quiet"]):
        before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and needle in err and "Traceback" not in err, err
        assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    _count("manifest of the wrong shape")


# --- class 5: sweep export never overwrites without --force ---------------------------------------------------
def _small_sweep(tmp_path: Path) -> Path:
    f = tmp_path / "exp.toml"
    f.write_text(EXPERIMENT_TEXT.replace("replicates = 10", "replicates = 1"))
    out = tmp_path / "sweep"
    assert main(["sweep", "run", str(f), "--out", str(out), "--quiet"]) == 0
    return out


def test_export_does_not_overwrite_without_force(tmp_path, capsys):
    out = _small_sweep(tmp_path)
    dest = tmp_path / "mine"
    dest.mkdir()
    (dest / "runs.csv").write_text("my own runs table")
    assert main(["sweep", "export", str(out), "--csv", "--to", str(dest)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already holds runs.csv" in err and "--force" in err
    assert (
        sorted(p.name for p in dest.iterdir()) == ["runs.csv"]
        and (dest / "runs.csv").read_text() == "my own runs table"
    )
    assert main(["sweep", "export", str(out), "--csv", "--to", str(dest), "--force"]) == 0
    assert (dest / "runs.csv").read_text().startswith("run_key")
    assert main(["sweep", "export", str(out), "--csv", "--to", ""]) == 2
    assert "empty path" in capsys.readouterr().err
    _count("export over existing files")


def test_export_on_a_full_disk_leaves_no_truncated_csv(tmp_path, capsys, monkeypatch):
    import errno

    import pandas as pd

    out = _small_sweep(tmp_path)
    real = pd.DataFrame.to_csv
    calls = []

    def full(self, path, *a, **k):
        calls.append(path)
        if len(calls) == 3:  # the third file: part written, then the disk is full
            Path(path).write_text("run_key,poi")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, path, *a, **k)

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    dest = tmp_path / "export"
    assert main(["sweep", "export", str(out), "--csv", "--to", str(dest)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "No space left on device" in err
    assert not dest.exists()  # nothing half-exported (the folder it made is gone too)
    _count("export over existing files")


# --- class 11: a plan's size is estimated before it is built ----------------------------------------------------
def test_a_huge_grid_is_refused_from_its_estimated_size_before_it_is_built(tmp_path, capsys, monkeypatch):
    """A 3000 x 3000 grid (9M points, under the 10M cap) exhausted memory in --dry-run after 33 s."""
    from gpsim.sweep import spec

    monkeypatch.setattr(spec, "machine_memory", lambda: 16 * 2**30)  # the same answer on every machine
    values = ", ".join(str(30_000 + 100 * i) for i in range(3000))
    support = ", ".join(f"{i / 3000:.6f}" for i in range(3000))
    f = tmp_path / "exp.toml"
    f.write_text(
        f'name = "big"\nyears = 0.25\n[vary]\ntarget_org_size = [{values}]\nccg_supportiveness = [{support}]\n'
    )
    t0 = time.perf_counter()
    assert main(["sweep", "run", str(f), "--dry-run", "--out", str(tmp_path / "s")]) == 2
    assert time.perf_counter() - t0 < 20  # refused from arithmetic, not after building 9M rows
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "9,000,000 runs" in err and "16.0 GB" in err and "split the experiment" in err
    assert not (tmp_path / "s").exists()
    _count("plan too large for memory")


def test_sweep_quiet_prints_no_warnings_and_warnings_are_one_line(tmp_path, capsys):
    """``sweep run --quiet`` printed raw DataWarning lines with their source lines."""
    reg = Path(__file__).parent / "fixtures" / "registers" / "good-2021.csv"
    f = tmp_path / "exp.toml"
    f.write_text(f'name = "w"\nyears = 0.25\n[fixed]\nregion = "00L@{reg}"\n[vary]\ntarget_org_size = [30000, 60000]\n')
    import gpsim.data
    import gpsim.region

    def fresh() -> None:  # data notes are issued when a region is built, not when it is served from the cache
        gpsim.region._cached.cache_clear()
        gpsim.data._build.cache_clear()

    fresh()
    assert main(["sweep", "run", str(f), "--out", str(tmp_path / "q"), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""
    fresh()
    assert main(["sweep", "run", str(f), "--out", str(tmp_path / "loud")]) == 0
    err = capsys.readouterr().err.splitlines()
    notes = [line for line in err if "warning" in line.lower()]
    assert notes and all(line.startswith("gpsim: warning: ") for line in notes), err
    assert not [line for line in err if line.startswith("  ")]  # no source line quoted
    _count("warnings")
