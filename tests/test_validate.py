"""gpsim validate: the report's plumbing in quick mode, driven by the targets file (the verdict is `gpsim validate`)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gpsim
from gpsim.calibrate.targets import load
from gpsim.cli import main
from gpsim.validate import Check, Replicate, checks_from, constructed_organisations, evaluate

ENGLAND = Path(__file__).resolve().parent.parent / "experiments" / "calibrate-england.toml"


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("validation")
    code = main(["validate", "--quick", "--replicates", "2", "--jobs", "1", "--quiet", "--out", str(out)])
    return code, out


def _rows(out: Path) -> list[dict[str, str]]:
    return list(csv.DictReader((out / "validation.csv").open()))


def test_quick_validate_reads_the_targets_file_in_three_sections(quick_report):
    code, out = quick_report
    assert code in (0, 1)  # quick mode is a smoke test: a target may fail, the report must still be whole
    cal = load(ENGLAND)
    rows = _rows(out)
    section = {r["target"]: r["section"] for r in rows}
    assert set(section) == {c.name for c in cal.checks} | {t.name for t in cal.targets}
    for c in cal.checks:
        expected = {"arithmetic": "arithmetic", "train": "in-sample", "test": "out-of-sample"}[c.section]
        assert section[c.name] == expected
    for t in cal.targets:
        assert section[t.name] == {"train": "in-sample", "test": "out-of-sample"}[t.period]
    assert {r["result"] for r in rows} <= {"PASS", "FAIL", "info", "n/a"}
    assert sorted(p.name for p in out.glob("*.png")) == [
        "arithmetic.png",
        "in-sample.png",
        "out-of-sample.png",
        "series.png",
    ]
    md = (out / "validation.md").read_text()
    for title in ("## Arithmetic checks", "## In-sample targets", "## Out-of-sample targets"):
        assert title in md
    assert (code == 1) == any(r["result"] == "FAIL" for r in rows)  # exit 1 exactly when a checked figure failed


def test_targets_pass_within_three_standard_deviations_of_the_observation(quick_report):
    _, out = quick_report
    cal = load(ENGLAND)
    factor = cal.size_factor(True)
    rows = {r["target"]: r for r in _rows(out)}
    for t in cal.targets:
        r = rows[t.name]
        if r["result"] == "n/a":
            assert r["informative"] == "not available in this model version"
            continue
        obs = t.observed * (factor if t.scales_with_size else 1.0)
        sd = math.sqrt(t.observation_sd**2 + t.discrepancy_sd**2) * (factor if t.scales_with_size else 1.0)
        mean = float(np.mean([float(v) for v in r["replicates"].split()]))
        assert float(r["observed"]) == pytest.approx(mean, rel=1e-5)
        assert r["result"] == ("PASS" if abs(mean - obs) <= 3 * sd else "FAIL"), t.name
    assert rows["pcn-coverage-2021"]["result"] != "n/a"  # primary care networks are modelled (ODD 7.13)


def test_numbers_game_arithmetic_holds_even_in_quick_mode(quick_report):
    """The arithmetic checks hold in any setting, and say so."""
    _, out = quick_report
    rows = {r["target"]: r for r in _rows(out)}
    for key in ("1a", "1b", "1c", "1d"):
        assert rows[key]["result"] == "PASS"
        assert rows[key]["informative"].startswith("no: arithmetic")


def test_informative_column_comes_from_a_calibration(tmp_path):
    cal = load(ENGLAND)
    folder = tmp_path / "cal"
    folder.mkdir()
    names = [t.name for t in cal.targets]
    pd.DataFrame(
        {
            "target": names,
            "informative": ["uninformative"] + ["informative"] * (len(names) - 1),
            "prior_pass_share": 0.5,
        }
    ).to_csv(folder / "targets.csv", index=False)
    from gpsim.validate import read_informative

    checks = {c.key: c for c in checks_from(cal, informative=read_informative(folder))}
    assert checks[names[0]].informative == "uninformative (prior pass 50%)"
    assert checks[names[1]].informative == "informative (prior pass 50%)"
    assert main(["validate", "--calibration", str(tmp_path / "nothing"), "--out", str(tmp_path / "v")]) == 2
    assert not (tmp_path / "v").exists()


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


def test_evaluate_fails_a_figure_outside_its_tolerance_and_ignores_info_and_missing_rows():
    reps = [Replicate(s, {"v": float(s)}) for s in range(5)]  # values 0..4, mean 2
    stat = lambda rs: float(np.mean([r.values["v"] for r in rs]))  # noqa: E731
    per = lambda r: r.values["v"]  # noqa: E731
    checks = [
        Check("in-sample", "in", "inside", "test", "1-3", stat, lambda v: 1 <= v <= 3, per),
        Check("in-sample", "out", "outside", "test", "5-6", stat, lambda v: 5 <= v <= 6, per),
        Check("arithmetic", "ctx", "context", "test", "reported", stat, lambda v: False, per, info=True),
        Check("out-of-sample", "gone", "missing", "test", "0-9", stat, lambda v: True, per, available=lambda r: False),
    ]
    rows = {r.key: r for r in evaluate(reps, checks)}
    assert rows["in"].verdict == "PASS" and rows["out"].verdict == "FAIL" and rows["ctx"].verdict == "info"
    assert rows["gone"].verdict == "n/a" and rows["gone"].informative == "not available in this model version"
    assert rows["in"].observed == 2.0 and rows["in"].low <= 2.0 <= rows["in"].high
    assert 0.0 <= rows["in"].low < rows["in"].high <= 4.0


def test_bad_arguments_give_one_line_and_exit_2(tmp_path, capsys):
    assert main(["validate", "--replicates", "0", "--out", str(tmp_path / "v")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--replicates" in err
    assert main(["validate", "--targets", str(tmp_path / "none.toml"), "--out", str(tmp_path / "v")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "targets file not found" in err
    assert not (tmp_path / "v").exists()
