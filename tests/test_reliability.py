"""Reliability, round 2: the classes of docs/RELIABILITY.md in the faces added since (calibrate, posterior
ensembles, parameter and targets files), tried as a hostile user would.

Each test names the class it belongs to; each failed before its fix.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_bad_input import GOOD_REGISTER, _count, _with_count, expect_refusal, snapshot

from gpsim.cli import main
from gpsim.data import DataWarning

pytest.importorskip("sklearn")


def strict_json(text: str):
    """JSON as any parser reads it: NaN and Infinity are not JSON."""

    def refuse(token):
        raise AssertionError(f"{token} is not valid JSON")

    return json.loads(text, parse_constant=refuse)


# --- a fake finished calibration (what gpsim run --posterior reads), in a second -------------------------------
def finished_calibration(folder: Path, draws: pd.DataFrame | None = None, **meta) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "complete": True,
        "calibration": {"scenario": "baseline", "fixed": {"n_practices": 20, "n_ccgs": 2, "years": 0.25}},
        **meta,
    }
    (folder / "calibration.json").write_text(json.dumps(record))
    if draws is None:
        draws = pd.DataFrame({"founding_rate": [0.01, 0.02, 0.03], "max_implausibility": 1.0, "weight": 1 / 3})
    draws.to_parquet(folder / "posterior.parquet", index=False)
    return folder


POSTERIOR = ["run", "--samples", "2", "--quiet", "--posterior"]


def test_posterior_out_is_written_whole_and_replaces_only_an_earlier_ensemble(tmp_path, capsys):
    """Class 6 in ``gpsim run --posterior``: --out was written file by file into place, '' was ignored."""
    cal = finished_calibration(tmp_path / "cal")
    out = tmp_path / "ens"
    assert main([*POSTERIOR, str(cal), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["bands.parquet", "draws.csv", "ensemble.json"]
    record = strict_json((out / "ensemble.json").read_text())
    assert record["samples"] == 2 and len(record["final"]) == 2 and "gpsim_version" in record
    assert main([*POSTERIOR, str(cal), "--out", str(out), "--format", "csv"]) == 0  # replaced whole
    assert sorted(p.name for p in out.iterdir()) == ["bands.csv", "draws.csv", "ensemble.json"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".gpsim-")]
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.docx").write_text("three years")
    expect_refusal(
        [*POSTERIOR, str(cal), "--out", str(mine)], ["already holds other files (thesis.docx)"], capsys, mine
    )
    link = tmp_path / "link"
    link.symlink_to(out)
    expect_refusal([*POSTERIOR, str(cal), "--out", str(link)], ["symbolic link"], capsys, out)
    expect_refusal([*POSTERIOR, str(cal), "--out", ""], ["--out ''", "empty path"], capsys, tmp_path)
    # --posterior '' used to run a plain simulation instead
    expect_refusal([*POSTERIOR, "", "--out", str(tmp_path / "new")], ["--posterior ''", "empty path"], capsys, tmp_path)
    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "draws.csv").write_text("not from gpsim")
    expect_refusal([*POSTERIOR, str(cal), "--out", str(fake)], ["no ensemble.json written by gpsim"], capsys, fake)
    _count("posterior --out")


def test_an_interrupted_posterior_ensemble_leaves_nothing(tmp_path, capsys, monkeypatch):
    from gpsim.calibrate import ensemble

    cal = finished_calibration(tmp_path / "cal")
    monkeypatch.setattr(ensemble, "bands", lambda members: (_ for _ in ()).throw(KeyboardInterrupt))
    assert main([*POSTERIOR, str(cal), "--out", str(tmp_path / "ens")]) == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cal"]


def test_posterior_scenario_flag_and_parameter_file_disagree(tmp_path, capsys):
    """Class 2 in ``gpsim run --posterior``: a --params file's scenario silently won over --scenario."""
    cal = finished_calibration(tmp_path / "cal")
    f = tmp_path / "p.toml"
    f.write_text('scenario = "funding-cliff"\n[params]\nn_practices = 20\nn_ccgs = 2\n')
    expect_refusal(
        [*POSTERIOR, str(cal), "--params", str(f), "--scenario", "baseline"],
        ["--scenario baseline", "funding-cliff", "disagree"],
        capsys,
        tmp_path,
    )
    _count("posterior flags")


BAD_POSTERIORS = {
    "record is a list": ({"calibration.json": "[]"}, "not the record of a finished gpsim calibration"),
    "record is empty": ({"calibration.json": "{}"}, "not the record of a finished gpsim calibration"),
    "record not finished": (
        {"calibration.json": '{"complete": false, "calibration": {"scenario": "baseline"}}'},
        "not the record of a finished",
    ),
    "scenario not text": (
        {"calibration.json": '{"complete": true, "calibration": {"scenario": 5}}'},
        "not the record of a finished",
    ),
    "record not JSON": ({"calibration.json": "{not json"}, "cannot read the calibration"),
    "record nested too deep": ({"calibration.json": "[" * 100_000}, "cannot read the calibration"),
    "draws damaged": ({"posterior.parquet": b"PAR1 this is not parquet PAR1"}, "cannot read the calibration"),
    "weights not finite": (pd.DataFrame({"founding_rate": [0.01, 0.02], "weight": [np.nan, 1.0]}), "weights"),
    "weights negative": (pd.DataFrame({"founding_rate": [0.01, 0.02], "weight": [-1.0, 2.0]}), "weights"),
    "draws of text": (pd.DataFrame({"founding_rate": ["a", "b"], "weight": [0.5, 0.5]}), "founding_rate column"),
    "no parameter column": (pd.DataFrame({"weight": [0.5, 0.5]}), "no parameter column"),
}


@pytest.mark.parametrize("case", BAD_POSTERIORS)
def test_a_bad_or_partial_posterior_folder_is_one_line(case, tmp_path, capsys):
    """Classes 9 and 10 for calibration folders: wrong shapes gave KeyError/TypeError/ValueError tracebacks."""
    change, needle = BAD_POSTERIORS[case]
    if isinstance(change, pd.DataFrame):
        cal = finished_calibration(tmp_path / "cal", draws=change)
    else:
        cal = finished_calibration(tmp_path / "cal")
        for name, content in change.items():
            (cal / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    out = tmp_path / "ens"
    expect_refusal([*POSTERIOR, str(cal), "--out", str(out)], [f"--posterior {cal}", needle], capsys, tmp_path)
    assert not out.exists()
    _count("posterior folders")


def test_a_posterior_record_that_is_a_pipe_is_refused_without_reading(tmp_path, capsys):
    cal = finished_calibration(tmp_path / "cal")
    (cal / "calibration.json").unlink()
    os.mkfifo(cal / "calibration.json")  # no writer: reading it would wait for ever
    expect_refusal([*POSTERIOR, str(cal)], ["not a regular file"], capsys, tmp_path)
    _count("posterior folders")


# --- class 1: relative register paths in parameter and targets files ------------------------------------------
def test_a_parameter_file_reads_its_register_beside_itself(tmp_path, capsys, monkeypatch):
    """``region = "00L@reg.csv"`` in a --params file was read from the current folder, not the file's."""
    study = tmp_path / "study"
    study.mkdir()
    (study / "reg.csv").write_text(GOOD_REGISTER)
    (study / "p.toml").write_text('[params]\nregion = "00L@reg.csv"\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "reg.csv").write_text(_with_count("75903"))  # a different register of the same name here
    monkeypatch.chdir(elsewhere)
    out = tmp_path / "out"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        assert main(["run", "--params", str(study / "p.toml"), "--years", "0.25", "--quiet", "--out", str(out)]) == 0
    meta = json.loads((out / "final.json").read_text())
    assert meta["register_sha256"] == hashlib.sha256((study / "reg.csv").read_bytes()).hexdigest()


TARGETS = """name = "t"
scenario = "england-2013"
[fixed]
region = "00L@reg.csv"
years = 3.0
[parameters]
founding_rate = [0.002, 0.03]
[[target]]
name = "a"
output = "steps:n_practices_open@2015-07"
observed = 30
observation_sd = 2
discrepancy_sd = 2
period = "train"
source = "facts #1"
"""


def _study(tmp_path: Path) -> tuple[Path, Path]:
    study = tmp_path / "study"
    study.mkdir()
    (study / "reg.csv").write_text(GOOD_REGISTER)
    (study / "targets.toml").write_text(TARGETS)
    return study / "targets.toml", study / "reg.csv"


def test_a_targets_file_reads_its_register_beside_itself_and_hashes_its_content(tmp_path, monkeypatch):
    from gpsim.calibrate.targets import load

    targets, reg = _study(tmp_path)
    monkeypatch.chdir(tmp_path)
    cal = load(targets)
    assert cal.base_params().region == f"00L@{reg}"
    assert cal.normalised()["registers"] == {f"00L@{reg}": hashlib.sha256(reg.read_bytes()).hexdigest()}


def test_a_calibration_of_a_targets_file_named_from_here_reads_its_register(tmp_path, monkeypatch):
    """Class 1 in the calibration's waves: with the targets file named by a relative path, its register path
    was read again beside each wave's design.csv (cal/wave-1/study/reg.csv: not found)."""
    from gpsim.calibrate.targets import load
    from gpsim.calibrate.waves import run_design

    _study(tmp_path)
    monkeypatch.chdir(tmp_path)
    cal = load("study/targets.toml")
    points = pd.DataFrame({"founding_rate": [0.01, 0.02]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        table = run_design(cal, False, points, Path("cal/wave-1"), "wave1", workers=1, scheduler=None, show_bar=False)
    assert list(table["status"]) == ["ok", "ok"]


def _interrupted_at_start(monkeypatch, capsys, targets: Path, out: Path) -> None:
    """Run ``gpsim calibrate`` stopped (as by Ctrl-C) right after it has set up its folder."""
    from gpsim.calibrate import waves

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(waves, "_calibrate", stop)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        assert main(["calibrate", str(targets), "--out", str(out), "--quiet"]) == 130
    assert "gpsim: interrupted" in capsys.readouterr().err


def test_calibrate_resume_after_the_register_changed_is_refused(tmp_path, capsys, monkeypatch):
    """Class 1 in ``gpsim calibrate``: the resume check hashed the targets file's text, not the register's bytes."""
    targets, reg = _study(tmp_path)
    out = tmp_path / "cal"
    _interrupted_at_start(monkeypatch, capsys, targets, out)
    assert (out / "started.json").exists() and not (out / "calibration.json").exists()  # resumable, not finished
    reg.write_text(_with_count("75903"))
    expect_refusal(
        ["calibrate", str(targets), "--out", str(out), "--quiet", "--resume"],
        ["different targets file", f"register file 00L@{reg} changed (content sha256", "use another --out"],
        capsys,
        out,
    )
    _count("calibrate folders")


def test_a_second_calibration_of_one_folder_is_refused_naming_the_first(tmp_path, capsys):
    """Class 4 in ``gpsim calibrate``: two processes could run the same waves into one folder."""
    from gpsim.sweep.lock import SweepLock

    targets, _ = _study(tmp_path)
    out = tmp_path / "cal"
    with SweepLock(out, what="gpsim calibration"):  # the first calibration, still running
        line = expect_refusal(
            ["calibrate", str(targets), "--out", str(out), "--quiet", "--resume"],
            [f"{out} is in use by another gpsim calibration (process {os.getpid()}"],
            capsys,
            out,
        )
    assert "--resume" in line
    _count("calibrate folders")


CALIBRATE_OUT_CASES = {
    "empty --out": (["--out", ""], ["--out ''", "empty path"]),
    "not an address": (["--scheduler", "not a url"], ["--scheduler", "not a url"]),
    "inproc address": (["--scheduler", "inproc://x"], ["--scheduler"]),
    "no workers": (["--workers", "0"], ["--workers 0"]),
    "too many workers": (["--workers", "100000"], ["--workers 100000", "use --scheduler"]),
}


@pytest.mark.parametrize("case", CALIBRATE_OUT_CASES)
def test_calibrate_options_are_refused_before_anything_is_made(case, tmp_path, capsys, monkeypatch):
    """Classes 6 and 8 in ``gpsim calibrate``: --out '' meant the default folder; a bad --scheduler left one."""
    targets, _ = _study(tmp_path)
    extra, needles = CALIBRATE_OUT_CASES[case]
    if "--out" not in extra:
        extra = [*extra, "--out", str(tmp_path / "cal")]
    monkeypatch.chdir(tmp_path)  # the default folder (calibration/t) would be made here
    expect_refusal(["calibrate", str(targets), "--quiet", *extra], needles, capsys, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study"]
    _count("calibrate options")


def test_an_unreachable_scheduler_leaves_no_calibration_folder(tmp_path, capsys):
    pytest.importorskip("distributed")
    targets, _ = _study(tmp_path)
    out = tmp_path / "cal"
    argv = ["calibrate", str(targets), "--quiet", "--out", str(out), "--scheduler", "tcp://127.0.0.1:1"]
    expect_refusal(argv, ["cannot connect to the Dask scheduler"], capsys, tmp_path)
    assert not out.exists()
    _count("calibrate options")


def test_calibrate_out_that_is_a_link_is_refused(tmp_path, capsys):
    targets, _ = _study(tmp_path)
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    expect_refusal(
        ["calibrate", str(targets), "--quiet", "--out", str(tmp_path / "link")], ["symbolic link"], capsys, real
    )
    assert not any(real.iterdir())
    _count("calibrate folders")


@pytest.mark.parametrize("text", ["[]", "null", '"x"', "{", '{"hash": 5}', "[" * 100_000])
def test_a_started_record_of_the_wrong_shape_is_one_line(text, tmp_path, capsys):
    """Class 10 in ``gpsim calibrate --resume``: started.json of the wrong shape was a JSON or attribute error."""
    targets, _ = _study(tmp_path)
    out = tmp_path / "cal"
    out.mkdir()
    (out / "started.json").write_text(text)
    expect_refusal(
        ["calibrate", str(targets), "--quiet", "--out", str(out), "--resume"],
        [f"{out / 'started.json'}: not a calibration's record"],
        capsys,
        out,
    )
    _count("calibrate folders")


def test_a_calibration_interrupted_at_the_start_leaves_only_what_resume_needs(tmp_path, capsys, monkeypatch):
    targets, _ = _study(tmp_path)
    out = tmp_path / "cal"
    _interrupted_at_start(monkeypatch, capsys, targets, out)
    assert sorted(p.name for p in out.iterdir()) == [".lock", "started.json"]
    strict_json((out / "started.json").read_text())
    before = snapshot(out)
    assert main(["calibrate", str(targets), "--out", str(out), "--quiet"]) == 2  # without --resume: refused
    assert "use --resume to continue it" in capsys.readouterr().err
    assert snapshot(out) == before


# --- gpsim validate: --out checked before the replicates run, written whole; --calibration read safely ---------
def _no_replicates(*args, **kwargs):
    raise AssertionError("the replicates ran although --out could not be used")


VALIDATE_OUT_CASES = {
    "a file": (lambda d: (d / "v").write_text("x") and d / "v", ["is a file, not a folder"]),
    "other files": (lambda d: (d / "v").mkdir() or (d / "v" / "notes.txt").write_text("x") and d / "v", ["notes.txt"]),
    "a link": (lambda d: (d / "v").symlink_to(d) or d / "v", ["symbolic link"]),
    "empty": (lambda d: "", ["--out ''", "empty path"]),
    "under a file": (lambda d: (d / "f").write_text("x") and d / "f" / "v", ["is a file, not a folder"]),
}


@pytest.mark.parametrize("case", VALIDATE_OUT_CASES)
def test_validate_out_is_refused_before_the_replicates_run(case, tmp_path, capsys, monkeypatch):
    """Class 6 in ``gpsim validate``: --out was made and written file by file only after every replicate ran."""
    from gpsim import validate

    monkeypatch.setattr(validate, "run_replicates", _no_replicates)
    make, needles = VALIDATE_OUT_CASES[case]
    out = make(tmp_path)
    expect_refusal(["validate", "--quick", "--quiet", "--out", str(out)], needles, capsys, tmp_path)
    _count("validate options")


def test_validate_calibration_table_that_is_a_pipe_is_refused_without_reading(tmp_path, capsys):
    """Class 9 in ``gpsim validate --calibration``: a FIFO as targets.csv made it wait for ever."""
    cal = tmp_path / "cal"
    cal.mkdir()
    os.mkfifo(cal / "targets.csv")
    argv = ["validate", "--quick", "--quiet", "--calibration", str(cal), "--out", str(tmp_path / "v")]
    expect_refusal(argv, [f"--calibration {cal}", "not a regular file"], capsys, tmp_path)
    _count("validate options")


def test_python_posterior_misuse_raises_gpsim_errors(tmp_path):
    """Class 12 with ``gpsim.run(posterior=...)``: a number as the folder or as ``progress`` reached deep code."""
    import gpsim
    from gpsim.errors import GpsimError

    cal = finished_calibration(tmp_path / "cal")
    for call, needle in (
        (lambda: gpsim.run(posterior=5, samples=1), "posterior = 5 must be the path of a calibration folder"),
        (lambda: gpsim.run(posterior=cal, samples=1, progress=3), "progress = 3 must be a function"),
        (lambda: gpsim.run(posterior=cal, samples="2"), "--samples '2'"),
        (lambda: gpsim.run(posterior=cal, samples=1, founding_rate=0.02), "founding_rate: is calibrated"),
    ):
        with pytest.raises(GpsimError) as info:
            call()
        assert needle in str(info.value) and "\n" not in str(info.value)
        _count("Python API parameters")


def test_a_wave_design_interrupted_while_written_is_not_kept_cut_short(tmp_path, monkeypatch):
    """Class 6 in calibration waves: a Ctrl-C while design.csv was written left it cut short, and a resume then
    ran the shorter design (it is kept on resume) as if it were the wave."""
    from gpsim.calibrate.targets import load
    from gpsim.calibrate.waves import run_design

    targets, _ = _study(tmp_path)
    cal = load(targets)
    points = pd.DataFrame({"founding_rate": np.linspace(0.002, 0.03, 40)})
    real = pd.DataFrame.to_csv

    def cut_short(frame, path, **kwargs):
        Path(path).write_text(real(frame, **kwargs)[:50])  # the first rows reach the disk, then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", cut_short)
    with pytest.raises(KeyboardInterrupt):
        run_design(cal, False, points, tmp_path / "wave-1", "wave1", workers=1, scheduler=None, show_bar=False)
    assert [p.name for p in (tmp_path / "wave-1").iterdir()] == []  # neither the design nor a temporary file


@pytest.mark.parametrize(
    "change, needle",
    [
        (lambda d: d["target"][0].update(observed=10**400), "observed: a number of about 401 digits is too large"),
        (lambda d: d["target"][0].update(observation_sd=-(10**30)), "observation_sd"),
        (lambda d: d.update(waves={"candidates": 10**12}), "waves.candidates: 1000000000000 is more than"),
        (lambda d: d.update(quick={"runs": 10**9}), "quick.runs: 1000000000 is more than"),
        (lambda d: d.update(waves={"max_waves": 10**5}), "waves.max_waves"),
    ],
)
def test_targets_files_with_numbers_too_large_are_one_line(change, needle):
    """Classes 7 and 11 in targets files: a 400-digit number was an OverflowError, and a candidate sample of
    10^12 points was accepted, to exhaust memory after the first wave had run."""
    import copy

    from conftest import VALID_TARGETS

    from gpsim.calibrate.targets import from_dict
    from gpsim.errors import ExperimentError

    data = copy.deepcopy(VALID_TARGETS)
    change(data)
    with pytest.raises(ExperimentError) as err:
        from_dict(data, source="t.toml")
    assert needle in str(err.value) and "\n" not in str(err.value) and len(str(err.value)) <= 600
    _count("targets files")


@pytest.mark.parametrize("seed", ["9" * 5000, "²", "٣", str(2**130), "-1", "1.5"])
def test_a_seed_in_the_page_address_that_cannot_be_used_is_named_not_a_broken_page(seed):
    """Classes 7 and 13 in the workshop page's address: ``?seed=<5000 digits>`` or ``?seed=²`` raised
    ValueError while the page was built (int() of too many digits, or of a digit that is not 0-9), so the page
    never rendered; a seed beyond 2^128 was taken and failed later."""
    pytest.importorskip("solara")
    from gpsim.ui.session import Session

    session = Session.from_environment(f"seed={seed}")
    assert session.seed == 0
    assert any("random seed must be a whole number" in note for note in session.notes)
    _count("ui addresses")


def test_validate_refuses_a_calibration_of_other_targets(tmp_path, capsys, monkeypatch):
    """Class 2 in ``gpsim validate --targets F --calibration DIR``: DIR's informative flags, from a calibration
    of other targets, were matched to F's targets by name and shown as if they were F's."""
    from gpsim import validate

    monkeypatch.setattr(validate, "run_replicates", _no_replicates)
    targets, _ = _study(tmp_path)
    other = {"name": "b", "output": "final:n_orgs"}
    cal = finished_calibration(tmp_path / "cal", quick=False)
    record = json.loads((cal / "calibration.json").read_text())
    record["calibration"]["targets"] = [other]
    (cal / "calibration.json").write_text(json.dumps(record))
    pd.DataFrame({"target": ["b"], "informative": ["informative"]}).to_csv(cal / "targets.csv", index=False)
    argv = ["validate", "--targets", str(targets), "--calibration", str(cal), "--out", str(tmp_path / "v")]
    expect_refusal(argv, [f"--calibration {cal}: calibrated other targets (b)"], capsys, tmp_path)
    _count("validate options")
