"""Sweeps: experiment files, every design, seeds, serial vs Dask, crash + resume, lost workers, analysis."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import raw_runs

import gpsim
from gpsim.cli import main
from gpsim.errors import ExperimentError
from gpsim.experiment import Experiment, load
from gpsim.sweep.engine import LOCAL_CLUSTER, run_sweep
from gpsim.sweep.seeds import run_seed
from gpsim.sweep.store import SweepStore

TINY = dict(n_practices=60, n_ccgs=2)


def tiny(**kw) -> Experiment:
    base = dict(
        name="tiny",
        question="Does the sweep layer work?",
        scenario="baseline",
        fixed=dict(TINY),
        years=1.0,
        design="grid",
        vary={"target_org_size": [30_000.0, 200_000.0], "ccg_supportiveness": [0.2, 0.8]},
        replicates=2,
        seed=11,
    )
    base.update(kw)
    return Experiment(**base)


def write(tmp_path: Path, text: str, name: str = "exp.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


# --- designs -----------------------------------------------------------------------------------------
DESIGN_CASES = {
    "grid": dict(design="grid"),
    "zip": dict(
        design="zip", vary={"target_org_size": [30_000.0, 90_000.0, 200_000.0], "ccg_supportiveness": [0.2, 0.5, 0.8]}
    ),
    "lhs": dict(design="lhs", samples=3, vary={"target_org_size": [20_000, 300_000], "founding_rate": [0.001, 0.01]}),
    "sobol": dict(design="sobol", samples=2, vary={"target_org_size": [20_000, 300_000], "peer_degree": [3, 10]}),
    "morris": dict(design="morris", samples=2, levels=4, vary={"size_aversion": [0, 1.5], "peer_degree": [3, 10]}),
}


@pytest.mark.parametrize("kind", [*DESIGN_CASES, "csv"])
def test_every_design_runs_each_point_with_replicates(kind, tmp_path):
    if kind == "csv":
        pts = tmp_path / "points.csv"
        pts.write_text("target_org_size,distributed_leadership_share\n40000,0.0\n40000,1.0\n150000,0.5\n")
        exp = tiny(design="csv", vary={}, points_file=str(pts))
    else:
        exp = tiny(**DESIGN_CASES[kind])
    rows = exp.design_rows()
    expected_rows = {"grid": 4, "zip": 3, "lhs": 3, "sobol": 2 * (2 + 2), "morris": 2 * 3, "csv": 3}[kind]
    assert len(rows) == expected_rows
    for name in exp.varied:  # every sampled value lies in its range and has its parameter's type
        for v in rows[name]:
            assert gpsim.params.SPECS_BY_NAME[name].check(v) == v
    if "peer_degree" in exp.varied:
        assert all(isinstance(v, int) for v in rows["peer_degree"])
    outcome = run_sweep(exp, tmp_path / "out")
    store = SweepStore(tmp_path / "out")
    runs = store.runs()
    n_points = rows["point_id"].nunique()
    assert outcome.total == len(runs) == n_points * 2
    assert set(runs["replicate"]) == {0, 1}
    assert (runs["status"] == "ok").all()
    assert len(store.final()) == len(runs)
    assert set(exp.varied) <= set(runs.columns)
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert m["experiment_hash"] == exp.hash and m["root_seed"] == 11 and m["complete"]


def test_designs_are_reproducible_and_seeds_depend_only_on_point_and_replicate():
    a = tiny(design="sobol", samples=4, vary={"target_org_size": [2e4, 3e5], "size_aversion": [0, 1]})
    b = tiny(design="sobol", samples=4, vary={"target_org_size": [2e4, 3e5], "size_aversion": [0, 1]})
    pd.testing.assert_frame_equal(a.design_rows(), b.design_rows())
    small = tiny(vary={"target_org_size": [30_000.0], "ccg_supportiveness": [0.2]})
    big = tiny()  # the same point plus three others
    keys_small = {r.run_key: small.seed_for(r).generate_state(2).tolist() for r in small.runs()}
    keys_big = {r.run_key: big.seed_for(r).generate_state(2).tolist() for r in big.runs()}
    assert keys_small.items() <= keys_big.items()
    r = small.runs()[1]
    assert r.replicate == 1
    expected = run_seed(11, {"target_org_size": 30_000.0, "ccg_supportiveness": 0.2}, 1)
    assert small.seed_for(r).generate_state(4).tolist() == expected.generate_state(4).tolist()
    assert len({tuple(v) for v in keys_big.values()}) == len(keys_big)  # all different


# --- engines ----------------------------------------------------------------------------------------
def test_serial_and_dask_give_identical_final_tables(tmp_path):
    exp = tiny(fixed=dict(TINY), steps_every=6)
    run_sweep(exp, tmp_path / "serial")
    seen = []
    run_sweep(exp, tmp_path / "dask", workers=2, progress=lambda d, f, t: seen.append((d, f, t)))
    a = SweepStore(tmp_path / "serial")
    b = SweepStore(tmp_path / "dask")
    key = ["run_key"]
    pd.testing.assert_frame_equal(
        a.final().sort_values(key).reset_index(drop=True), b.final().sort_values(key).reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(
        a.steps().sort_values(["run_key", "step"]).reset_index(drop=True),
        b.steps().sort_values(["run_key", "step"]).reset_index(drop=True),
    )
    assert seen[-1] == (8, 0, 8) and [d for d, _, _ in seen] == list(range(1, 9))
    assert b.runs()["worker"].str.startswith("tcp://127.0.0.1").all()
    session = b.read_manifest()["sessions"][-1]
    assert session["cluster_start_seconds"] > 0 and session["warm_seconds"] > 0  # what the start cost, recorded
    # a run's figures are those of gpsim.run with the recorded seed
    row = a.runs().iloc[0]
    spawn = tuple(int(x) for x in row["seed_spawn_key"])
    direct = gpsim.run(
        exp.params_for({k: row[k] for k in exp.varied}), seed=np.random.SeedSequence(11, spawn_key=spawn)
    )
    stored = a.final().set_index("run_key").loc[row["run_key"]]
    assert stored["relationships_per_hospital_mean"] == direct.final["relationships_per_hospital_mean"]


def test_a_failed_run_is_recorded_and_does_not_stop_the_sweep(tmp_path, monkeypatch):
    real = gpsim.run

    def flaky(params, seed=0, **kw):
        if params.target_org_size == 200_000.0 and params.ccg_supportiveness == 0.8:
            raise RuntimeError("boom")
        return real(params, seed=seed, **kw)

    monkeypatch.setattr(gpsim, "run", flaky)
    out = run_sweep(tiny(), tmp_path / "out")
    store = SweepStore(tmp_path / "out")
    runs = store.runs()
    assert out.failed == 2 and len(runs) == 8
    bad = runs[runs["status"] == "failed"]
    assert len(bad) == 2 and bad["error"].str.contains("RuntimeError: boom").all()
    assert bad["error"].str.contains("Traceback").all()
    assert len(store.final()) == 6
    monkeypatch.setattr(gpsim, "run", real)
    again = run_sweep(tiny(), tmp_path / "out", resume=True, retry_failed=True)
    assert again.ran == 2 and (store.runs()["status"] == "ok").all() and len(store.final()) == 8


def test_failed_and_retried_sweep_reads_one_row_per_run_with_pandas_and_duckdb(tmp_path, monkeypatch):
    duckdb = pytest.importorskip("duckdb")
    real = gpsim.run

    def flaky(params, seed=0, **kw):
        if params.peer_degree == 6 and params.ccg_supportiveness == 0.8:
            raise RuntimeError("boom")
        return real(params, seed=seed, **kw)

    exp = tiny(vary={"peer_degree": [4, 6], "ccg_supportiveness": [0.2, 0.8]}, steps_every=12, years=3.0)
    monkeypatch.setattr(gpsim, "run", flaky)
    run_sweep(exp, tmp_path / "out", batch=2)  # parts of two runs: some all ok, one all failed
    monkeypatch.setattr(gpsim, "run", real)
    again = run_sweep(exp, tmp_path / "out", resume=True, retry_failed=True, batch=2)
    assert again.ran == 2
    out = tmp_path / "out"
    keys = {r.run_key for r in exp.runs()}
    runs = pd.read_parquet(out / "runs")  # plain pandas on the folder, no gpsim reader
    assert len(runs) == 8 and set(runs["run_key"]) == keys and (runs["status"] == "ok").all()
    assert runs["error"].isna().all()
    con = duckdb.connect()
    for table, rows in (("runs", 8), ("final", 8), ("orgs", None), ("closures", None), ("steps", 8 * 4)):
        n, distinct = con.execute(
            f"select count(*), count(distinct run_key) from read_parquet('{out / table}/*.parquet')"
        ).fetchone()
        if rows is not None:  # orgs and closures: only runs that had any
            assert n == rows and distinct == 8, table
        else:
            assert 0 < distinct <= 8, table
        assert len(pd.read_parquet(out / table)) == n
    # the failed attempts are kept apart, and the reruns say which attempt they are
    retried = pd.read_parquet(out / "retried")
    assert len(retried) == 2 and (retried["status"] == "failed").all() and (retried["attempt"] == 1).all()
    assert retried["error"].str.contains("RuntimeError: boom").all()
    rerun = runs.set_index("run_key").loc[retried["run_key"]]
    assert (rerun["attempt"] == 2).all()
    # types as a researcher expects them
    assert str(runs["peer_degree"].dtype) == "int64" and runs["ccg_supportiveness"].dtype == float
    assert all(
        list(k) == [int(pid, 16), rep]
        for k, pid, rep in zip(runs["seed_spawn_key"], runs["point_id"], runs["replicate"], strict=True)
    )
    assert str(runs["finished"].dtype).startswith("datetime64") and runs["finished"].dt.tz is not None
    steps = pd.read_parquet(out / "steps")
    assert pd.api.types.is_datetime64_any_dtype(steps["date"])
    assert (steps["date"].dt.day == 1).all()
    orgs = pd.read_parquet(out / "orgs")
    assert {"run_key", "point_id", "replicate", "peer_degree", "ccg_supportiveness"} <= set(orgs.columns)
    first = runs.iloc[0]
    direct = real(
        exp.params_for({k: first[k] for k in exp.varied}),
        seed=np.random.SeedSequence(11, spawn_key=tuple(int(x) for x in first["seed_spawn_key"])),
    )
    mine = orgs[orgs["run_key"] == first["run_key"]].reset_index(drop=True)
    pd.testing.assert_series_equal(mine["founded_step"], direct.orgs["founded_step"], check_names=False)
    ok = con.execute(f"select count(*) from read_parquet('{out}/runs/*.parquet') where status = 'ok'").fetchone()
    assert ok == (8,)


def test_orgs_can_be_left_out_and_default_hash_is_unchanged(tmp_path):
    off = tiny(keep_orgs=False)
    assert off.hash != tiny().hash and "orgs" not in tiny().normalised()["outputs"]
    run_sweep(off, tmp_path / "off")
    assert not list((tmp_path / "off" / "orgs").glob("*.parquet"))
    f = write(tmp_path, GOOD + "[outputs]\norgs = false\n")
    assert load(f).keep_orgs is False
    with pytest.raises(ExperimentError, match="outputs.orgs"):
        load(write(tmp_path, GOOD + '[outputs]\norgs = "no"\n'))


def test_killed_sweep_resumes_with_every_run_exactly_once(tmp_path):
    text = (
        'name = "killme"\nquestion = "Does resume work?"\nreplicates = 2\nseed = 3\nyears = 2\n'
        "[fixed]\nn_practices = 60\nn_ccgs = 2\n"
        "[vary]\ntarget_org_size = [20000, 40000, 60000, 80000, 100000, 150000, 200000, 300000, 400000, 500000]\n"
        "ccg_supportiveness = [0.2, 0.5, 0.8]\n"
    )
    f = write(tmp_path, text)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "gpsim.cli", "sweep", "run", str(f), "--out", str(out), "--batch", "2", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=tmp_path)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list((out / "runs").glob("part-*.parquet"))) >= 2:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = raw_runs(out)
    assert 0 < len(before) < 60, "the sweep should have been killed part way"
    assert main(["sweep", "run", str(f), "--out", str(out)]) == 2  # refuses to overwrite without --resume
    assert main(["sweep", "run", str(f), "--out", str(out), "--resume", "--quiet"]) == 0
    after = raw_runs(out)
    assert len(after) == 60 and after["run_key"].is_unique
    assert set(before["run_key"]) <= set(after["run_key"])
    store = SweepStore(out)
    assert len(store.final()) == 60 and store.final()["run_key"].is_unique
    assert not list(out.rglob(".tmp-*"))
    m = store.read_manifest()
    assert m["complete"] and len(m["sessions"]) == 2 and m["sessions"][0]["ended"] is None
    # a changed file does not resume into the old folder
    write(tmp_path, text.replace("seed = 3", "seed = 4"))
    assert main(["sweep", "run", str(f), "--out", str(out), "--resume"]) == 2


def test_killed_dask_worker_loses_and_duplicates_nothing(tmp_path):
    from distributed import Client, LocalCluster

    exp = tiny(fixed=dict(n_practices=100, n_ccgs=2), years=3.0, replicates=3)  # 12 runs of ~0.1 s
    with LocalCluster(n_workers=2, **LOCAL_CLUSTER) as cluster:
        with Client(cluster) as client:  # closed before the sweep: two clients in one process share futures badly
            pids = list(client.run(os.getpid).values())
        killed = []

        def kill_one(done, failed, total):
            if done == 2 and not killed:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

        outcome = run_sweep(exp, tmp_path / "dask", scheduler=cluster.scheduler_address, progress=kill_one, batch=3)
    assert killed and outcome.failed == 0
    rows = raw_runs(tmp_path / "dask")
    assert len(rows) == 12 and rows["run_key"].is_unique
    assert set(rows["run_key"]) == {r.run_key for r in exp.runs()}
    run_sweep(exp, tmp_path / "serial")
    a = SweepStore(tmp_path / "serial").final().sort_values("run_key").reset_index(drop=True)
    b = SweepStore(tmp_path / "dask").final().sort_values("run_key").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


# --- bad input ----------------------------------------------------------------------------------------
GOOD = 'name = "x"\nquestion = "q"\nyears = 1\n[vary]\ntarget_org_size = [30000, 60000]\n'
BAD_FILES = {
    "unknown key": (GOOD + "[fixed]\nn_practises = 60\n", ["fixed.n_practises", "unknown parameter", "n_practices"]),
    "unknown top key": ("replicate = 2\n" + GOOD, ["replicate", "unknown key", "replicates"]),
    "out of range": (GOOD.replace("30000", "5"), ["vary.target_org_size", "out of range", "[10000, 1000000]"]),
    "sampled range": (
        'question = "q"\n[design]\nkind = "lhs"\n[vary]\nsize_aversion = [0, 9]\n',
        ["vary.size_aversion", "out of range", "[0, 2]"],
    ),
    "bad design": (GOOD + '[design]\nkind = "factorial"\n', ["design.kind", "factorial", "grid, zip, lhs"]),
    "syntax": (GOOD + "[vary\n", ["TOML syntax error"]),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_experiment_files_give_one_line_and_exit_2(case, tmp_path, capsys):
    text, needles = BAD_FILES[case]
    f = write(tmp_path, text)
    assert main(["sweep", "run", str(f), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert str(f) in err
    for needle in needles:
        assert needle in err, (needle, err)
    assert not (tmp_path / "out").exists()


def test_missing_file_and_missing_sweep_give_one_line_and_exit_2(tmp_path, capsys):
    assert main(["sweep", "run", str(tmp_path / "nope.toml")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nope.toml" in err and "not found" in err
    for sub in ("status", "analyze"):
        assert main(["sweep", sub, str(tmp_path / "nothing")]) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_python_api_refuses_the_same_mistakes():
    with pytest.raises(ExperimentError, match=r"vary\.peer_degree.*out of range; allowed \[2, 20\]"):
        tiny(vary={"peer_degree": [1, 3]})
    with pytest.raises(ExperimentError, match="design.kind"):
        tiny(design="taguchi")
    with pytest.raises(ExperimentError, match="both fixed and varied|fixed or varied"):
        tiny(fixed={"target_org_size": 5e4})
    with pytest.raises(ExperimentError, match="equal length"):
        tiny(design="zip", vary={"target_org_size": [3e4, 6e4], "ccg_supportiveness": [0.2]})
    with pytest.raises(ExperimentError, match="numeric parameter"):
        tiny(design="lhs", vary={"region": ["a", "b"], "size_aversion": [0, 1]})


def test_shipped_experiments_load_and_ask_a_question():
    root = Path(__file__).resolve().parent.parent / "experiments"
    files = {p.stem: load(p) for p in root.glob("*.toml") if not p.stem.startswith("calibrate-")}  # targets files
    assert {"numbers-game", "funding-cliff", "leadership", "sensitivity-sobol"} <= set(files)
    for exp in files.values():
        assert exp.question.endswith("?") and len(exp.runs()) <= 700
    assert len(files["sensitivity-sobol"].varied) == 8


# --- analysis -----------------------------------------------------------------------------------------
def test_analyze_small_sobol_gives_sane_indices_report_and_export(tmp_path, capsys):
    vary = {"target_org_size": [20_000, 300_000], "size_aversion": [0.0, 1.5], "ccg_supportiveness": [0.1, 0.9]}
    exp = tiny(design="sobol", samples=8, vary=vary, years=2.0, steps_every=6)
    run_sweep(exp, tmp_path / "s", workers=1)
    assert main(["sweep", "analyze", str(tmp_path / "s")]) == 0
    idx = pd.read_csv(tmp_path / "s" / "analysis" / "sobol.csv")
    assert list(idx.columns) == ["output", "parameter", "S1", "S1_conf", "ST", "ST_conf"]
    assert set(idx["parameter"]) == set(vary)
    assert (idx.groupby("output").size() == 3).all()
    assert "relationships_per_hospital_mean" in set(idx["output"])
    assert np.isfinite(idx[["S1", "S1_conf", "ST", "ST_conf"]].to_numpy()).all()
    assert (idx["S1_conf"] >= 0).all() and (idx["ST_conf"] >= 0).all()
    assert (idx["ST"] > -0.5).all() and (idx["S1"].abs() < 5).all()
    report = (tmp_path / "s" / "report.html").read_text()
    assert "data:image/png;base64" in report and exp.question in report and exp.hash in report
    assert (tmp_path / "s" / "analysis" / "sobol.md").read_text().startswith("| output | parameter |")
    assert main(["sweep", "status", str(tmp_path / "s")]) == 0
    assert "80 ok, 0 failed, 0 missing" in capsys.readouterr().out
    assert main(["sweep", "export", str(tmp_path / "s"), "--csv"]) == 0
    final = pd.read_csv(tmp_path / "s" / "export" / "final.csv")
    assert len(final) == 80 and {"point_id", "replicate", *vary} <= set(final.columns)
    assert len(pd.read_csv(tmp_path / "s" / "export" / "steps.csv")) == 80 * 5


def test_analyze_morris_and_grid(tmp_path):
    from gpsim.sweep.analyze import analyze

    exp = tiny(design="morris", samples=3, vary={"size_aversion": [0.0, 1.5], "founding_rate": [0.001, 0.02]})
    run_sweep(exp, tmp_path / "m")
    analyze(tmp_path / "m", resamples=50)
    idx = pd.read_csv(tmp_path / "m" / "analysis" / "morris.csv")
    assert list(idx.columns) == ["output", "parameter", "mu", "mu_star", "mu_star_conf", "sigma"]
    assert (idx["mu_star"] >= 0).all() and (idx["sigma"].dropna() >= 0).all()
    run_sweep(tiny(), tmp_path / "g")
    analyze(tmp_path / "g")
    points = pd.read_csv(tmp_path / "g" / "analysis" / "points.csv")
    assert len(points) == 4 and (points["replicates_ok"] == 2).all()
    assert (tmp_path / "g" / "report.html").exists()


def test_analyze_survival_curves_cox_and_a_readable_points_table(tmp_path, capsys):
    exp = tiny(
        scenario="funding-cliff",
        fixed=dict(n_practices=80, n_ccgs=2),
        years=5.0,
        vary={"subscription_per_patient": [0.0, 3.0], "target_org_size": [30_000.0, 60_000.0]},
        replicates=3,
        steps_every=6,
    )
    run_sweep(exp, tmp_path / "s")
    assert main(["sweep", "analyze", str(tmp_path / "s")]) == 0
    a = tmp_path / "s" / "analysis"
    table = pd.read_csv(a / "survival.csv")
    assert set(table["clock"]) == {"founding", "one_off_end"}
    # by point (4 points) and by each varied parameter; every organisation in each grouping
    orgs = pd.read_parquet(tmp_path / "s" / "orgs")
    founding = table[table["clock"] == "founding"]
    for by in ("point", "subscription_per_patient", "target_org_size"):
        assert founding.loc[founding["by"] == by, "organisations"].sum() == len(orgs), by
    assert (a / "survival-founding.png").exists() and (a / "survival-one_off_end.png").exists()
    report = (tmp_path / "s" / "report.html").read_text()
    assert "Survival of organisations" in report and "Cox model of dissolution" in report
    assert "30,000" in report and "3e+04" not in report
    assert "subscription_per_patient 3, target_org_size 60,000" in report  # a point labelled by its values
    assert main(["sweep", "analyze", str(tmp_path / "s"), "--by", "peer_degree"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--by peer_degree" in err and "subscription_per_patient" in err
    assert main(["sweep", "analyze", str(tmp_path / "s"), "--by", "subscription_per_patient"]) == 0
    table = pd.read_csv(a / "survival.csv")
    assert set(table["by"]) == {"subscription_per_patient"}


def test_dask_workers_with_other_package_versions_are_reported_and_recorded(tmp_path, monkeypatch):
    import gpsim.sweep.engine as engine
    from gpsim.sweep.store import result_versions

    mine = result_versions()
    assert engine.version_mismatches(mine, {"tcp://a": dict(mine)}) == {}
    # this process pretends to run another scipy; the workers (fresh processes) report the installed one
    monkeypatch.setattr(engine, "result_versions", lambda: {**mine, "scipy": "0.0.1"})
    said = []
    run_sweep(tiny(replicates=1), tmp_path / "s", workers=2, warn=said.append)
    assert len(said) == 1 and "2 of 2 Dask workers" in said[0] and "scipy 0.0.1 here" in said[0]
    session = SweepStore(tmp_path / "s").read_manifest()["sessions"][-1]
    assert session["worker_versions_checked"] == 2
    assert all(d == {"scipy": ["0.0.1", mine["scipy"]]} for d in session["worker_version_mismatches"].values())


def test_unguarded_script_with_workers_fails_with_a_message_naming_the_guard(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(
        "from gpsim.experiment import Experiment\n"
        "exp = Experiment(name='g', fixed={'n_practices': 40, 'n_ccgs': 2}, years=1.0,\n"
        "                 vary={'target_org_size': [30000.0, 60000.0]})\n"
        f"exp.run({str(tmp_path / 'out')!r}, workers=2)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(gpsim.__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=180, env=env)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("gpsim.errors.ExperimentError") and 'if __name__ == "__main__":' in last
    assert "docs/SWEEPS.md" in last


def test_local_cluster_workers_run_without_dasks_profiler_and_with_its_monitors_slowed():
    import dask
    from distributed import Client

    from gpsim.sweep.engine import local_cluster

    keys = ("distributed.worker.profile.enabled", "distributed.admin.system-monitor.interval")
    before = [dask.config.get(k) for k in keys]

    def worker_view(dask_worker):
        every = {name: pc.callback_time for name, pc in dask_worker.periodic_callbacks.items()}
        return dask.config.get(keys[0]), every.get("monitor"), "profile" in every

    with local_cluster(1, silence_logs=40) as cluster, Client(cluster) as client:
        seen = client.run(worker_view)
        scheduler_monitor = cluster.scheduler.periodic_callbacks["monitor"].callback_time
    assert list(seen.values()) == [(False, 3_600_000, False)]  # no profiler; system monitor hourly (ms)
    assert scheduler_monitor == 3_600_000
    assert [dask.config.get(k) for k in keys] == before  # this process's settings unchanged


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="reads the worker's parent process from /proc (Linux)")
def test_local_cluster_workers_are_forked_with_the_libraries_loaded_and_this_processs_environment(monkeypatch):
    import multiprocessing

    from distributed import Client

    from gpsim.sweep.engine import local_cluster

    if "forkserver" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork server on this platform: workers start as fresh interpreters")

    def worker_state():
        parent = Path(f"/proc/{os.getppid()}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        return parent, "pandas" in sys.modules, "mesa" in sys.modules, os.environ.get("GPSIM_TEST_MARK")

    with local_cluster(1, silence_logs=40):
        pass  # the fork server runs from now on, with the environment it started with
    monkeypatch.setenv("GPSIM_TEST_MARK", "set after the fork server started")
    with local_cluster(2, silence_logs=40) as cluster, Client(cluster) as client:
        seen = list(client.run(worker_state).values())  # no task has run on these workers yet
    assert len(seen) == 2
    for parent, pandas, mesa, mark in seen:
        assert "multiprocessing.forkserver" in parent  # forked, not a fresh interpreter
        assert pandas and mesa  # imported by the fork server before the worker existed
        assert mark == "set after the fork server started"


def test_the_fork_server_preloads_libraries_not_gpsim():
    """The fork server outlives a sweep: gpsim imported there would be the code as it was when it started, so a
    model edited in a notebook and swept again would run its old code on the workers."""
    from gpsim.sweep.warm import FORK_SERVER_MODULES, WORKER_MODULES

    assert not [m for m in FORK_SERVER_MODULES if m.split(".")[0] == "gpsim"]
    assert {m for m in WORKER_MODULES if not m.startswith("gpsim")} <= set(FORK_SERVER_MODULES)


def test_local_cluster_workers_keep_glibcs_own_memory_trimming(tmp_path):
    """Dask's MALLOC_TRIM_THRESHOLD_ makes every large array a run frees go back to the system (11% more CPU)."""
    script = tmp_path / "trim.py"
    script.write_text(
        "import os\n"
        "from distributed import Client\n"
        "from gpsim.sweep.engine import local_cluster\n"
        "if __name__ == '__main__':\n"
        "    with local_cluster(1, silence_logs=40) as cluster, Client(cluster) as client:\n"
        "        seen = client.run(lambda: os.environ.get('MALLOC_TRIM_THRESHOLD_', 'unset'))\n"
        "    print(list(seen.values()))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}  # a fresh process, as a user's
    env["PYTHONPATH"] = str(Path(gpsim.__file__).resolve().parents[1])
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "['unset']"
