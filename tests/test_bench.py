"""The benchmark runner works end to end on a tiny case and writes a valid record (no timing assertions)."""

from __future__ import annotations

import json

import pytest

from gpsim import bench
from gpsim.cli import main


def test_quick_run_writes_a_json_record(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--only", "baseline", "--repeats", "1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "[baseline]" in text and "median" in text
    record = json.loads(out.read_text())
    assert record["format"] == "gpsim-bench/1"
    assert record["options"] == {"quick": True, "repeats": 1, "cases": ["baseline"]}
    assert record["machine"]["versions"]["mesa"]
    case = record["cases"]["baseline"]
    assert case["practices"] == 180 and case["months"] == 120
    assert len(case["timing"]["wall_s"]) == 1 and case["timing"]["median_s"] > 0
    assert record["targets"] == []  # the baseline case has no target


def test_verdicts_say_pass_or_miss():
    rows = bench.verdicts({"england-2021": {"value": 1.2, "cpu_value": 0.8}, "mesa": {"value": 6.0}}, quick=False)
    by_case = {r["case"]: r for r in rows}
    assert not by_case["england-2021"]["met"] and by_case["england-2021"]["cpu_met"]
    assert abs(by_case["england-2021"]["margin"] - 0.2) < 1e-9
    assert by_case["mesa"]["met"] and by_case["mesa"]["cpu_met"] is None


def test_unknown_case_is_a_usage_error(capsys):
    assert main(["bench", "--only", "nope"]) == 2
    assert "unknown case" in capsys.readouterr().err


def test_every_target_of_the_issue_is_judged_from_its_own_figure():
    results = {
        "cli": {"value": 0.4, "cpu_value": 0.2, "run_value": 1.9, "cpu_run_value": 1.2},
        "calibration": {"value": 2500.0, "cpu_value": 4000.0},
        "ensemble": {"value": 1.2, "cpu_value": 1.0},
        "sweep": {"value": 1.75, "cpu_value": None},
    }
    by_case = {r["case"]: r for r in bench.verdicts(results, quick=False)}
    assert by_case["cli"]["met"] and not by_case["cli-run"]["met"] and by_case["cli-run"]["cpu_met"]
    assert not by_case["calibration"]["met"] and by_case["calibration"]["cpu_met"]
    assert by_case["ensemble"]["met"]
    assert not by_case["sweep"]["met"]  # the issue asks 1.8x
    assert {"england-2021", "mesa", "ui"}.isdisjoint(by_case)  # cases that did not run are not judged


def test_ensemble_case_runs(capsys):
    ctx = bench.Context(quick=True, repeats=1, out=bench.Reporter(quiet=True))
    res = bench.case_ensemble(ctx)
    assert res["seeds"] == 3 and res["practices"] > 200 and res["value"] > 0


def test_the_sweep_verdict_says_what_the_machine_allowed(capsys):
    rows = bench.verdicts({"sweep": {"value": 1.2, "cpu_value": None, "ceiling": 1.3}}, quick=False)
    assert rows[0]["ceiling"] == 1.3 and not rows[0]["met"]
    bench.print_verdicts(rows, bench.Reporter())
    line = capsys.readouterr().out.splitlines()[-1]
    assert "MISS" in line and "33% outside" in line and "allowed at most 1.30 x" in line


def test_parallel_ceiling_is_one_for_one_process():
    # one process "side by side" with itself is the same work alone: the ratio is about 1 whatever the load
    assert 0.5 < bench.parallel_ceiling(1, rounds=1) < 2.0


def test_calibration_case_reports_one_waves_emulator_fitting(capsys):
    pytest.importorskip("sklearn")
    ctx = bench.Context(quick=True, repeats=1, out=bench.Reporter(quiet=True))
    record = bench._emulator_fitting(ctx, cpus=1)
    assert (record["runs"], record["parameters"], record["targets"]) == (120, 12, 4)
    assert record["serial_s"] > 0 and record["parallel_s"] > 0 and record["serial_cpu_s"] > 0
    assert 0 <= record["restarted_targets"] <= record["targets"]
    assert "one wave's emulators (120 runs x 12 parameters, 4 targets)" in capsys.readouterr().out


def test_command_line_processes_keep_bytecode_as_an_installed_gpsim_does(monkeypatch):
    """Where the machine turns bytecode off, the timed processes keep it in a temporary folder (and the record
    says so), so no timed process compiles gpsim from source as no user's does."""
    seen = []

    def fake_process(args, env):
        seen.append(dict(env))
        return 0.1, 0.1

    monkeypatch.setattr(bench, "_process", fake_process)
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.delenv("PYTHONPYCACHEPREFIX", raising=False)
    record = bench.case_cli(bench.Context(quick=True, repeats=2, out=bench.Reporter(quiet=True)))
    assert "PYTHONDONTWRITEBYTECODE" in record["bytecode"]
    assert len(seen) == 4 * 3 + 3 + 1 + 2  # each listing and the import: warm-up + 2; the run: first use + 2
    assert all("PYTHONDONTWRITEBYTECODE" not in env and env["PYTHONPYCACHEPREFIX"] for env in seen)
    assert len({env["PYTHONPYCACHEPREFIX"] for env in seen}) == 1  # one cache, shared, so later processes find it
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE")
    seen.clear()
    assert "default" in bench.case_cli(bench.Context(quick=True, repeats=2, out=bench.Reporter(quiet=True)))["bytecode"]
    assert all("PYTHONPYCACHEPREFIX" not in env for env in seen)
