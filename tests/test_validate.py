"""gpsim validate: the calibration report's plumbing, in quick mode (the full verdict is `gpsim validate`)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

import gpsim
from gpsim.cli import main
from gpsim.validate import CHECKS, Check, Replicate, constructed_organisations, evaluate


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("validation")
    code = main(["validate", "--quick", "--replicates", "2", "--jobs", "1", "--quiet", "--out", str(out)])
    return code, out


def test_quick_validate_writes_table_csv_and_one_plot_per_target(quick_report, capsys):
    code, out = quick_report
    assert code in (0, 1)  # quick mode is a smoke test: a target may fail, the report must still be whole
    rows = list(csv.DictReader((out / "validation.csv").open()))
    assert [r["target"] for r in rows] == [c.key for c in CHECKS]
    assert {r["result"] for r in rows} <= {"PASS", "FAIL", "info"}
    assert {r["target"] for r in rows if r["result"] == "info"} == {c.key for c in CHECKS if c.info}
    assert sorted(p.name for p in out.glob("target-*.png")) == [f"target-{t}.png" for t in range(1, 8)]
    md = (out / "validation.md").read_text()
    assert md.count("\n| ") >= len(CHECKS) and "checked figures pass" in md
    # exit code 1 exactly when a checked figure failed
    assert (code == 1) == any(r["result"] == "FAIL" for r in rows)


def test_numbers_game_arithmetic_holds_even_in_quick_mode(quick_report):
    """Target 1 is arithmetic on the model's metric: 37.5 with no organisations, 6-10 and 1-2 nested."""
    _, out = quick_report
    result = {r["target"]: r["result"] for r in csv.DictReader((out / "validation.csv").open())}
    assert result["1a"] == result["1b"] == result["1c"] == result["1d"] == "PASS"


def test_constructed_organisations_nest_in_catchments_and_have_the_asked_size():
    p = gpsim.resolve_params("baseline", n_practices=1_200, n_ccgs=30, mean_list_size=8_000.0, years=0.25)
    region = gpsim.region_for(p)
    org = constructed_organisations(region, (30_000.0, 50_000.0), np.random.default_rng(0))
    assert (org >= 0).all()
    pops = np.bincount(org, region.list_size)
    assert np.median(pops) == pytest.approx(40_000, rel=0.25)
    for k in range(org.max() + 1):  # nested: every organisation inside one hospital catchment
        assert len(np.unique(region.hospital[org == k])) == 1
    by_ccg = constructed_organisations(region, (30_000.0, 50_000.0), np.random.default_rng(0), within="ccg")
    for k in range(by_ccg.max() + 1):
        assert len(np.unique(region.ccg[by_ccg == k])) == 1


def test_evaluate_fails_a_figure_outside_its_tolerance_and_ignores_info_rows():
    reps = [Replicate(s, {"v": float(s)}) for s in range(5)]  # values 0..4, mean 2
    stat = lambda rs: float(np.mean([r.values["v"] for r in rs]))  # noqa: E731
    checks = [
        Check(1, "in", "inside", "test", "1-3", stat, lambda v: 1 <= v <= 3, lambda r: r.values["v"]),
        Check(1, "out", "outside", "test", "5-6", stat, lambda v: 5 <= v <= 6, lambda r: r.values["v"]),
        Check(1, "ctx", "context", "test", "reported", stat, lambda v: False, lambda r: r.values["v"], info=True),
    ]
    rows = {r.key: r for r in evaluate(reps, checks)}
    assert rows["in"].verdict == "PASS" and rows["out"].verdict == "FAIL" and rows["ctx"].verdict == "info"
    assert rows["in"].observed == 2.0 and rows["in"].low <= 2.0 <= rows["in"].high
    assert 0.0 <= rows["in"].low < rows["in"].high <= 4.0


def test_bad_arguments_give_one_line_and_exit_2(tmp_path, capsys):
    assert main(["validate", "--replicates", "0", "--out", str(tmp_path / "v")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--replicates" in err
    assert not (tmp_path / "v").exists()
