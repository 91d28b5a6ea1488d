"""Bad input everywhere it enters: one clear line naming what and where, exit code 2, nothing half-written.

Every case here is listed in docs/RELIABILITY.md. Command-line cases run ``gpsim.cli.main`` in this process
(a few also in a fresh process, to see the real stderr); each checks the exit code, that stderr is exactly one
``gpsim: error:`` line with no traceback and names the problem, and that the output folder was not created (or,
when it existed, was left as it was).
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import gpsim
from gpsim.cli import main
from gpsim.data import DataWarning, read_register
from gpsim.data import register as reg
from gpsim.errors import DataError, ExperimentError, GpsimError, ParameterError
from gpsim.experiment import load

FIXTURES = Path(__file__).parent / "fixtures" / "registers"
GOOD_REGISTER = (FIXTURES / "good-2021.csv").read_text()
GOOD_EXPERIMENT = (
    'name = "x"\nquestion = "q?"\nyears = 0.25\n[fixed]\nn_practices = 20\n[vary]\ntarget_org_size = [30000, 60000]\n'
)
#: How many bad inputs were tried, by kind (printed at the end of the session and in the report).
TRIED: dict[str, int] = {}


def _count(kind: str) -> None:
    from conftest import EXAMPLE_COUNTS

    TRIED[kind] = TRIED.get(kind, 0) + 1
    EXAMPLE_COUNTS.setdefault("bad inputs", {}).update(TRIED)


def snapshot(folder: Path) -> dict[str, bytes] | None:
    """Every file under ``folder`` with its content (None when the folder does not exist)."""
    if not folder.exists():
        return None
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def expect_refusal(argv: list[str], needles: list[str], capsys, untouched: Path) -> str:
    """Run the CLI; it must exit 2 with one ``gpsim: error:`` line holding every needle, touching nothing."""
    before = snapshot(untouched)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        try:
            code = main(argv)
        except SystemExit as stop:  # argparse's own refusals (bad flag syntax) exit from inside parsing
            code = stop.code
    captured = capsys.readouterr()
    errors = [line for line in captured.err.splitlines() if not line.startswith("gpsim: warning:")]
    assert code == 2, (argv, captured.err)
    assert "Traceback" not in captured.err
    assert len(errors) == 1, captured.err
    line = errors[0]
    assert line.startswith(("gpsim: error: ", "gpsim run: error: ", "gpsim sweep run: error: ")), line
    for needle in needles:
        assert needle in line, (needle, line)
    assert snapshot(untouched) == before, "the output folder changed"
    return line


# --- parameters on the command line -------------------------------------------------------------------
RUN = ["run", "--years", "0.25", "--set", "n_practices=20", "--quiet"]
CLI_PARAMETER_CASES = {
    "unknown name": (["--set", "n_practises=30"], ["unknown parameter 'n_practises'", "did you mean n_practices"]),
    "empty name": (["--set", "=3"], ["unknown parameter ''"]),
    "no value": (["--set", "years"], ["--set 'years': expected name=value"]),
    "out of range": (["--set", "founding_rate=7"], ["parameter 'founding_rate' = 7 is out of range", "allowed"]),
    "below range": (["--set", "years=0.1"], ["parameter 'years' = 0.1 is out of range", "[0.25, 40]"]),
    "wrong type int": (["--set", "n_ccgs=two"], ["parameter 'n_ccgs'", "'two' is not a valid int"]),
    "fractional int": (["--set", "n_ccgs=2.5"], ["'2.5' is not a valid int"]),
    "not a number": (["--set", "ccg_supportiveness=high"], ["'high' is not a valid float"]),
    "nan": (["--set", "ccg_supportiveness=nan"], ["must be finite"]),
    "infinity": (["--set", "mean_list_size=1e400"], ["must be finite"]),
    "not a choice": (["--set", "policy_timeline=2019"], ["policy_timeline", "one of none, england-2013"]),
    "empty text": (["--set", "region="], ["parameter 'region'", "non-empty text"]),
    "inconsistent": (["--set", "n_ccgs=30"], ["'n_ccgs' = 30 exceeds 'n_practices' = 20"]),
    "unknown scenario": (["--scenario", "utopia"], ["unknown scenario 'utopia'"]),
    "years flag": (["--years", "soon"], ["--years", "invalid float value: 'soon'"]),
    "negative seed": (["--seed", "-1"], ["seed -1 is out of range"]),
    "seed not a number": (["--seed", "x"], ["--seed", "invalid int value"]),
    "format": (["--format", "xlsx"], ["--format", "invalid choice"]),
    "unknown CCG": (["--region", "ZZZ"], ["region 'ZZZ': ZZZ is not a CCG code"]),
    "empty CCG list": (["--region", ",,"], ["region ',,': no CCG codes given"]),
    "nothing after @": (["--region", "00L@"], ["nothing after '@'"]),
    "register with synthetic": (["--region", "synthetic", "--register", "x.csv"], ["does not read a register"]),
    "unknown flag": (["--sett", "years=1"], ["unrecognized arguments: --sett"]),
}


@pytest.mark.parametrize("case", CLI_PARAMETER_CASES)
def test_bad_parameters_on_the_command_line(case, tmp_path, capsys):
    extra, needles = CLI_PARAMETER_CASES[case]
    out = tmp_path / "out"
    expect_refusal([*RUN, *extra, "--out", str(out)], needles, capsys, out)
    assert not out.exists()
    _count("command-line parameters")


def test_errors_in_a_real_process_are_one_line_without_traceback(tmp_path):
    """The same refusals through the installed entry point: stderr as a user sees it."""
    for args, needle in (
        (["--seed", "-5"], "seed -5 is out of range"),
        (["--out", str(tmp_path / ("x" * 300) / "y")], "cannot write to output folder"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "gpsim.cli", *RUN, *args], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert needle in done.stderr
        _count("command-line parameters")


# --- parameters from Python -----------------------------------------------------------------------------
PYTHON_CASES = {
    "unknown name (mapping)": (lambda: gpsim.Params.from_mapping({"n_practises": 30}), "unknown parameter"),
    "unknown name (run)": (lambda: gpsim.run(n_practises=30), "unknown parameter 'n_practises'"),
    "unknown scenario": (lambda: gpsim.run("utopia"), "unknown scenario 'utopia'"),
    "out of range": (lambda: gpsim.Params(years=100.0), "parameter 'years' = 100 is out of range"),
    "wrong type": (lambda: gpsim.Params(years="3"), "must be a number (float)"),
    "bool for a number": (lambda: gpsim.Params(n_practices=True), "must be a number (int)"),
    "None": (lambda: gpsim.Params(n_practices=None), "must be a number (int)"),
    "fractional int": (lambda: gpsim.Params(n_practices=10.5), "must be a whole number"),
    "nan": (lambda: gpsim.Params(mean_list_size=float("nan")), "must be finite"),
    "text not parsable": (lambda: gpsim.run({"years": "soon"}), "'soon' is not a valid float"),
    "region not text": (lambda: gpsim.Params(region=5), "must be non-empty text"),
    "spec not understood": (lambda: gpsim.run(42), "expected Params, a scenario name or a mapping"),
    "negative seed": (lambda: gpsim.run(years=0.25, seed=-1), "seed -1 is out of range"),
    "fractional seed": (lambda: gpsim.run(years=0.25, seed=1.5), "seed 1.5 must be a whole number"),
    "text seed": (lambda: gpsim.run(years=0.25, seed="7"), "seed '7' must be a whole number"),
    "region text as run(region=)": (lambda: gpsim.run(years=0.25, region="ZZZ"), "ZZZ is not a CCG code"),
    "inconsistent": (lambda: gpsim.run(years=0.25, n_practices=10, n_ccgs=11), "exceeds 'n_practices'"),
}


@pytest.mark.parametrize("case", PYTHON_CASES)
def test_bad_parameters_from_python_raise_one_line_gpsim_errors(case):
    call, needle = PYTHON_CASES[case]
    with pytest.raises(GpsimError) as info:
        call()
    assert needle in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)  # ParameterError and DataError are also ValueErrors
    _count("Python API parameters")


def test_region_text_given_to_run_is_the_region_parameter():
    """``gpsim.run(region="00L")`` used to treat the text as a prebuilt Region and fail deep inside the model."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        r = gpsim.run(years=0.25, region="00L")
    assert r.params.region == "00L" and r.region_name == "CCG 00L"


# --- output folders -------------------------------------------------------------------------------------
def test_output_folder_cases(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    expect_refusal([*RUN, "--out", str(afile)], ["--out", "is a file, not a folder"], capsys, tmp_path)
    expect_refusal([*RUN, "--out", str(afile / "sub")], ["afile is a file, not a folder"], capsys, tmp_path)
    long = tmp_path / ("n" * 300)
    expect_refusal([*RUN, "--out", str(long)], ["cannot write to output folder", "too long"], capsys, tmp_path)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.docx").write_text("precious")
    expect_refusal([*RUN, "--out", str(mine)], ["already holds other files (thesis.docx)"], capsys, mine)
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "manifest.json").write_text("{}")
    expect_refusal([*RUN, "--out", str(sweep)], ["already holds a sweep, not a gpsim run"], capsys, sweep)
    for _ in range(5):
        _count("output folders")


def test_an_earlier_run_folder_is_replaced_whole(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*RUN, "--out", str(out), "--format", "csv"]) == 0
    assert main([*RUN, "--out", str(out), "--seed", "3"]) == 0  # parquet now: the csv tables must not linger
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "closures.parquet",
        "final.json",
        "org_money.parquet",
        "orgs.parquet",
        "steps.parquet",
        "summary.png",
    ]
    assert gpsim.Results.load(out).seed == 3


# --- experiment files -------------------------------------------------------------------------------------
def exp_text(**replace) -> str:
    text = GOOD_EXPERIMENT
    for old, new in replace.items():
        text = text.replace(old, new)
    return text


EXPERIMENT_CASES = {
    "empty file": (b"", ["vary: needs at least one varied parameter"]),
    "binary": (b"\x00\x01\x02\xff", ["not a text file"]),
    "control characters": (b"name = 'a\x01b'\n", ["TOML syntax error"]),
    "not UTF-8": ("name = 'caf\u00e9'\n".encode("latin-1"), ["not a text file"]),
    "syntax": (exp_text(**{"[vary]": "[vary"}).encode(), ["TOML syntax error"]),
    "duplicate key": (exp_text(**{"years = 0.25": "years = 0.25\nyears = 1"}).encode(), ["TOML syntax error"]),
    "unknown top key": (("replicate = 2\n" + GOOD_EXPERIMENT).encode(), ["replicate: unknown key", "replicates"]),
    "unknown parameter": (exp_text(n_practices="n_practises").encode(), ["fixed.n_practises", "unknown parameter"]),
    "out of range": (exp_text(**{"30000": "5"}).encode(), ["vary.target_org_size", "out of range"]),
    "wrong type": (exp_text(**{"years = 0.25": 'years = "soon"'}).encode(), ["years", "'soon' is not a valid float"]),
    "scenario as a table": (("scenario = {a = 1}\n" + GOOD_EXPERIMENT).encode(), ["scenario: unknown scenario"]),
    "name with a path": (exp_text(**{'name = "x"': 'name = "../../etc"'}).encode(), ["name", "plain name"]),
    "absolute name": (exp_text(**{'name = "x"': 'name = "/tmp/x"'}).encode(), ["must be a plain name"]),
    "replicates zero": (("replicates = 0\n" + GOOD_EXPERIMENT).encode(), ["replicates: 0 must be a whole number"]),
    "replicates huge": (("replicates = 1000000000\n" + GOOD_EXPERIMENT).encode(), ["= 2,000,000,000 runs"]),
    "replicates float": (("replicates = 2.0\n" + GOOD_EXPERIMENT).encode(), ["replicates: 2.0 must be a whole"]),
    "seed negative": (("seed = -3\n" + GOOD_EXPERIMENT).encode(), ["seed: -3 must be a whole number"]),
    "vary not a table": (
        b'name = "x"\nvary = 3\n',
        ["vary: must be a table"],
    ),
    "vary empty list": (exp_text(**{"[30000, 60000]": "[]"}).encode(), ["non-empty list of values"]),
    "value twice": (exp_text(**{"60000": "30000"}).encode(), ["lists a value twice"]),
    "fixed and varied": (
        exp_text(**{"n_practices = 20": "target_org_size = 50000"}).encode(),
        ["either fixed or varied"],
    ),
    "design not a table": (("design = 5\n" + GOOD_EXPERIMENT).encode(), ["design: must be a table"]),
    "unknown design": (exp_text(**{"[vary]": '[design]\nkind = "taguchi"\n[vary]'}).encode(), ["design.kind"]),
    "huge sampled design": (
        b'name = "x"\n[design]\nkind = "sobol"\nsamples = 100000000\n[vary]\nsize_aversion = [0, 1]\n'
        b"founding_rate = [0.001, 0.01]\n",
        ["design: plans 400,000,000 design rows"],
    ),
    "sampled text parameter": (
        b'name = "x"\n[design]\nkind = "lhs"\n[vary]\nregion = ["a", "b"]\n',
        ["vary.region", "numeric parameter"],
    ),
    "low above high": (b'[design]\nkind = "lhs"\n[vary]\nsize_aversion = [1, 0]\n', ["low 1.0 must be below"]),
    "outputs key as text": (
        (GOOD_EXPERIMENT.replace("[fixed]", '[outputs]\nkey = "n_orgs"\n[fixed]')).encode(),
        ["outputs.key: must be a list of output names"],
    ),
    "outputs steps negative": (
        (GOOD_EXPERIMENT.replace("[fixed]", "[outputs]\nsteps = -1\n[fixed]")).encode(),
        ["outputs.steps: -1 must be a whole number >= 0"],
    ),
    "unknown region (checked before running)": (
        exp_text(**{"n_practices = 20": 'region = "ZZZ"'}).encode(),
        ["design point", "region 'ZZZ': ZZZ is not a CCG code"],
    ),
    "register file missing (checked before running)": (
        exp_text(**{"n_practices = 20": 'region = "00L@no-such-register.csv"'}).encode(),
        ["design point", "register file ", "/no-such-register.csv: not found"],
    ),
    "more CCGs than practices at one point": (
        exp_text(**{"target_org_size = [30000, 60000]": "n_ccgs = [5, 30]"}).encode(),
        ["design point", "'n_ccgs' = 30 exceeds 'n_practices' = 20"],
    ),
    "csv without file": (b'[design]\nkind = "csv"\n', ["design.file", "needs file"]),
    "csv file missing": (b'[design]\nkind = "csv"\nfile = "nope.csv"\n', ["points file", "nope.csv", "not found"]),
    "csv unknown column": (
        b'[design]\nkind = "csv"\nfile = "points-unknown.csv"\n',
        ["design.file column 'n_practises'", "unknown parameter"],
    ),
    "csv bad value": (
        b'[design]\nkind = "csv"\nfile = "points-bad.csv"\n',
        ["design.file row 3 column 'target_org_size'", "'big' is not a valid float"],
    ),
    "csv ragged": (b'[design]\nkind = "csv"\nfile = "points-ragged.csv"\n', ["cannot read points file"]),
    "csv empty": (b'[design]\nkind = "csv"\nfile = "points-empty.csv"\n', ["cannot read points file"]),
}


@pytest.fixture
def points(tmp_path):
    (tmp_path / "points-unknown.csv").write_text("n_practises\n30\n")
    (tmp_path / "points-bad.csv").write_text("target_org_size\n30000\nbig\n")
    (tmp_path / "points-ragged.csv").write_text("target_org_size\n30000\n40000,5,6\n")
    (tmp_path / "points-empty.csv").write_text("")
    return tmp_path


@pytest.mark.parametrize("case", EXPERIMENT_CASES)
def test_bad_experiment_files(case, points, capsys):
    content, needles = EXPERIMENT_CASES[case]
    f = points / "exp.toml"
    f.write_bytes(content)
    out = points / "out"
    expect_refusal(["sweep", "run", str(f), "--out", str(out)], [str(f), *needles], capsys, out)
    assert not out.exists()
    with pytest.raises(ExperimentError):  # the Python face refuses the same file the same way
        load(f)
    _count("experiment files")


def test_experiment_file_that_is_a_folder_or_missing(tmp_path, capsys):
    expect_refusal(["sweep", "run", str(tmp_path)], ["is a folder, not an experiment file"], capsys, tmp_path)
    expect_refusal(["sweep", "run", str(tmp_path / "no.toml")], ["experiment file not found"], capsys, tmp_path)
    _count("experiment files")
    _count("experiment files")


SWEEP_OPTION_CASES = {
    "no workers": (["--workers", "0"], ["--workers 0: must be a whole number of at least 1"]),
    "too many workers": (["--workers", "100000"], ["--workers 100000: more than", "worker processes"]),
    "batch zero": (["--batch", "0"], ["--batch 0: must be at least 1"]),
    "retry without resume": (["--retry-failed"], ["--retry-failed needs --resume"]),
    "workers and scheduler": (["--workers", "2", "--scheduler", "tcp://x:1"], ["not allowed with argument"]),
}


@pytest.mark.parametrize("case", SWEEP_OPTION_CASES)
def test_bad_sweep_options(case, tmp_path, capsys):
    extra, needles = SWEEP_OPTION_CASES[case]
    f = tmp_path / "exp.toml"
    f.write_text(GOOD_EXPERIMENT)
    out = tmp_path / "out"
    expect_refusal(["sweep", "run", str(f), "--out", str(out), "--quiet", *extra], needles, capsys, out)
    assert not out.exists()
    _count("sweep options")


def test_sweep_output_folder_cases(tmp_path, capsys):
    f = tmp_path / "exp.toml"
    f.write_text(GOOD_EXPERIMENT)
    afile = tmp_path / "afile"
    afile.write_text("x")
    sweep = ["sweep", "run", str(f), "--quiet", "--out"]
    expect_refusal([*sweep, str(afile / "sub")], ["cannot write to output folder", "afile/sub"], capsys, tmp_path)
    expect_refusal(
        [*sweep, str(tmp_path / ("n" * 300))], ["cannot write to output folder", "too long"], capsys, tmp_path
    )
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("precious")
    expect_refusal([*sweep, str(mine)], ["exists and is not empty"], capsys, mine)
    # a folder holding another experiment: refused with and without --resume, left exactly as it was
    other = tmp_path / "other"
    assert main([*sweep, str(other)]) == 0
    f.write_text(GOOD_EXPERIMENT.replace("60000", "90000"))
    expect_refusal([*sweep, str(other)], ["already holds a sweep", "--resume"], capsys, other)
    expect_refusal([*sweep, str(other), "--resume"], ["holds a sweep of a different experiment"], capsys, other)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json")
    expect_refusal([*sweep, str(broken), "--resume"], ["manifest.json: cannot read"], capsys, broken)
    for _ in range(6):
        _count("sweep output folders")


# --- register files ---------------------------------------------------------------------------------------
def _rows(text: str = GOOD_REGISTER) -> list[str]:
    return text.splitlines()


def _with_count(value: str, line: int = 2) -> str:
    rows = _rows()
    rows[line - 1] = rows[line - 1].rsplit(",", 1)[0] + "," + value
    return "\n".join(rows) + "\n"


REGISTER_CASES = {
    "truncated inside a quoted field": (
        GOOD_REGISTER.replace("10224", '"10,2').split('"10,2')[0].encode() + b'"10,2',
        ["line 7: a quoted field is never closed"],
    ),
    "truncated mid-row (fields missing)": (GOOD_REGISTER[:300].encode(), ["NUMBER_OF_PATIENTS is empty"]),
    "truncated gzip": (gzip.compress(GOOD_REGISTER.encode())[:-12], ["damaged gzip file"]),
    "UTF-16 without a byte order mark": (GOOD_REGISTER.encode("utf-16-le"), ["unreadable encoding (binary data"]),
    "neither UTF-8 nor Windows-1252": (
        GOOD_REGISTER.replace("NE65 7UW", "NE65 \x81UW").encode("latin-1"),
        ["line 2: unreadable encoding (byte 0x81"],
    ),
    "Excel workbook": (b"PK\x03\x04" + b"\x00" * 50, ["zip or Excel workbook"]),
    "wrong layout (headerless)": (
        b"A81001,THE DENSHAM SURGERY,Y63,QHM,THE HEALTH CENTRE\n",
        ["wrong layout (header is A81001, THE DENSHAM SURGERY"],
    ),
    "wrong layout (another table)": (b"name,age\nann,3\n", ["wrong layout"]),
    "missing column": (GOOD_REGISTER.replace("POSTCODE", "POST_CODE").encode(), ["missing column POSTCODE"]),
    "negative count": (_with_count("-5").encode(), ["line 2: NUMBER_OF_PATIENTS is negative: '-5'"]),
    "non-numeric count": (_with_count("lots").encode(), ["line 2: NUMBER_OF_PATIENTS is not a number: 'lots'"]),
    "fractional count": (_with_count("12.5").encode(), ["is not a whole number"]),
    "infinite count": (_with_count("1e999").encode(), ["is not a number: '1e999'"]),
    "count overflowing int64": (_with_count("99999999999999999999").encode(), ["implausibly large"]),
    "hex count": (_with_count("0x10").encode(), ["is not a number: '0x10'"]),
    "empty count": (_with_count("").encode(), ["NUMBER_OF_PATIENTS is empty"]),
    "duplicated code, different values": (
        (GOOD_REGISTER + _rows()[1].rsplit(",", 1)[0] + ",6000\n").encode(),
        ["practice A84002 appears 2 times with different values"],
    ),
    "empty practice code": (GOOD_REGISTER.replace("A84005", "").encode(), ["line 4: CODE is empty"]),
    "more fields than the header": (_with_count("5,6").encode(), ["line 2: 11 fields where the header has 10"]),
    "quoted newline in a code": (
        GOOD_REGISTER.replace("A84002", '"A84\n002"').encode(),
        ["line 2: CODE holds a line break or control character: 'A84\\n002'"],
    ),
    "empty file": (b"", ["empty file"]),
    "header only": (_rows()[0].encode() + b"\n", ["no data rows"]),
}


@pytest.mark.parametrize("case", REGISTER_CASES)
def test_bad_register_files(case, tmp_path, capsys):
    content, needles = REGISTER_CASES[case]
    f = tmp_path / "register.csv"
    f.write_bytes(content)
    out = tmp_path / "out"
    argv = ["run", "--register", str(f), "--region", "00L", "--years", "0.25", "--quiet", "--out", str(out)]
    line = expect_refusal(argv, [f"register file {f}", *needles], capsys, out)
    assert not out.exists()
    assert len(line) < 700
    with pytest.raises(DataError):
        read_register(f)
    _count("register files")


def test_quoted_newline_in_a_value_gives_one_line(tmp_path):
    """A quoted field holding a line break is quoted back on one line, never as several."""
    f = tmp_path / "r.csv"
    f.write_text(GOOD_REGISTER.replace("5903", '"59\n03"'))
    with pytest.raises(DataError, match=r"line 2: NUMBER_OF_PATIENTS is not a number: '59\\n03'") as info:
        read_register(f)
    assert "\n" not in str(info.value)
    _count("register files")


def test_file_without_final_line_break_loads_with_a_note(tmp_path):
    """A file cut short inside the last number still parses; the missing final line break is reported."""
    f = tmp_path / "cut.csv"
    f.write_text(GOOD_REGISTER.rstrip("\n")[:-2])  # '7870' -> '78'
    t = read_register(f)
    assert any("does not end with a line break" in n and "A88006" in n for n in t.notes)
    assert not read_register(FIXTURES / "good-2021.csv").notes
    _count("register files")


def test_huge_register_files_are_refused_before_reading(tmp_path, capsys, monkeypatch):
    sparse = tmp_path / "huge.csv"
    with open(sparse, "wb") as fh:  # a sparse file: 1 GB + 1 byte on paper, nothing on disk
        fh.truncate(reg.MAX_REGISTER_BYTES + 1)
    expect_refusal(["regions", "--register", str(sparse)], ["huge.csv: 1.0 GB is too large"], capsys, tmp_path)
    # a gzip bomb: 17 kB that would expand to 16 MB, against a limit lowered to 4 MB for the test
    monkeypatch.setattr(reg, "MAX_REGISTER_BYTES", 4 << 20)
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(GOOD_REGISTER.encode() + b"0" * (16 << 20), compresslevel=1))
    assert bomb.stat().st_size < 100_000
    expect_refusal(["regions", "--register", str(bomb)], ["bomb.csv.gz: expands to more than 4.0 MB"], capsys, bomb)
    _count("register files")
    _count("register files")


def test_big_valid_register_loads(tmp_path):
    """A register 30 times England's size (200,000 practices, 19 MB): read in seconds, every row kept."""
    england = pd.read_csv(reg._data_path(reg.BUNDLED_REGISTER), dtype=str, keep_default_na=False)
    copies = []
    for i in range(30):
        c = england.copy()
        c["CODE"] = c["CODE"] + f"-{i}"
        c["CCG_CODE"] = c["CCG_CODE"] + ("" if i == 0 else f"-{i}")
        copies.append(c)
    big = pd.concat(copies, ignore_index=True)
    f = tmp_path / "big.csv"
    big.to_csv(f, index=False)
    assert f.stat().st_size > 15e6
    t0 = time.perf_counter()
    t = read_register(f)
    seconds = time.perf_counter() - t0
    assert len(t) == len(big) and t.list_size.sum() == 30 * pd.to_numeric(england["NUMBER_OF_PATIENTS"]).sum()
    assert seconds < 60, seconds
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        region = gpsim.data.load_region("00L-7", register=f)
    assert len(region.list_size) == 40 and np.isfinite(region.x).all()


def test_register_that_is_a_folder_or_missing(tmp_path, capsys):
    expect_refusal(["regions", "--register", str(tmp_path)], ["is a directory"], capsys, tmp_path)
    expect_refusal(["regions", "--register", str(tmp_path / "no.csv")], ["no.csv: not found"], capsys, tmp_path)
    _count("register files")
    _count("register files")


def test_every_error_class_is_a_one_line_value_error():
    for cls in (ParameterError, DataError, ExperimentError):
        err = cls("first line\nsecond line\r\n" + "x" * 5000)
        assert "\n" not in str(err) and "\r" not in str(err) and len(str(err)) <= 600
        assert str(err).startswith("first line\\nsecond line") and isinstance(err, ValueError)


def test_a_register_rewritten_to_the_same_size_and_time_is_read_again(tmp_path):
    """The cache must not serve old content for a file edited in place within one timestamp tick."""
    f = tmp_path / "r.csv"
    f.write_text(_with_count("5903"))
    assert read_register(f).list_size[0] == 5903
    mtime = f.stat().st_mtime_ns
    f.write_text(_with_count("5904"))  # same size
    os.utime(f, ns=(mtime, mtime))  # and the same modification time, as on a coarse-timestamp file system
    assert f.stat().st_mtime_ns == mtime
    assert read_register(f).list_size[0] == 5904
    _count("register files")


# --- reliability round 2: each class of the hostile-user review, with its listed instances and the others ----
BIG = 10**400  # beyond a float
HUGE = 10**5000  # beyond Python's int-to-text limit (4,300 digits)


def _nested(depth: int) -> list:
    top = cur = []
    for _ in range(depth):
        cur.append([])
        cur = cur[0]
    return top


#: Class 7 (numbers too large, nesting too deep) and class 12 (API misuse), from Python: gpsim's own one-line error.
PYTHON_ROUND2_CASES = {
    "float parameter beyond a float": (lambda: gpsim.Params(years=BIG), "parameter 'years' = a number of about 401"),
    "int parameter beyond int-to-text": (lambda: gpsim.Params(n_practices=HUGE), "is out of range"),
    "negative huge int": (lambda: gpsim.Params(n_practices=-HUGE), "is out of range"),
    "huge seed": (lambda: gpsim.run(years=0.25, seed=HUGE), "seed a number of about 5,001 digits is out of range"),
    "deeply nested value": (lambda: gpsim.Params(region=_nested(5000)), "must be non-empty text"),
    "run({5: 1})": (lambda: gpsim.run({5: 1}), "parameter names must be text, not 5"),
    "run(region=5)": (lambda: gpsim.run(years=0.25, region=5), "region = 5 must be region text"),
    "run(region=[...])": (lambda: gpsim.run(years=0.25, region=["00L"]), "must be region text"),
    "run(progress=3)": (lambda: gpsim.run(years=0.25, progress=3), "progress = 3 must be a function"),
    "from_mapping(list)": (lambda: gpsim.Params.from_mapping([("years", 1)]), "expected a mapping"),
    "from_mapping({None: 1})": (lambda: gpsim.Params.from_mapping({None: 1}), "names must be text, not None"),
    "mapping and keyword disagree": (lambda: gpsim.run({"years": 3}, years=5), "'years' is given twice"),
    "mapping scenario not text": (lambda: gpsim.run({"scenario": 5}), "unknown scenario"),
}


@pytest.mark.parametrize("case", PYTHON_ROUND2_CASES)
def test_python_api_misuse_and_huge_values_raise_gpsim_errors(case):
    call, needle = PYTHON_ROUND2_CASES[case]
    with pytest.raises(GpsimError) as info:
        call()
    assert needle in str(info.value) and "\n" not in str(info.value) and len(str(info.value)) <= 600
    _count("Python API parameters")


def test_nul_and_other_control_characters_are_escaped_in_messages():
    for raw, shown in (("a\x00b", "a\\x00b"), ("a\x1bb", "a\\x1bb"), ("a\u2028b", "a\\u2028b"), ("a\x85b", "a\\x85b")):
        err = ParameterError(f"region {raw}")
        assert shown in str(err) and len(str(err).splitlines()) == 1 and raw[1] not in str(err)
    with pytest.raises(GpsimError) as info:
        gpsim.run(years=0.25, region="0\x00L")
    assert "\x00" not in str(info.value) and "\\x00" in str(info.value)
    _count("Python API parameters")


HUGE_TOML_CASES = {
    "400-digit int in a list": ("[vary]\ntarget_org_size = [30000, 1" + "0" * 400 + "]", "target_org_size"),
    "400-digit years": ("years = 1" + "0" * 400, "years"),
    "5000-digit int": ("seed = 1" + "0" * 5000, "number too long"),
    "500 nested lists": ("scenario = " + "[" * 500 + "]" * 500, "nested too deeply"),
    "huge replicates": ("replicates = 1" + "0" * 400, "replicates"),
    "huge seed": ("seed = 1" + "0" * 400, "seed"),
    "huge samples": ('[design]\nkind = "lhs"\nsamples = 1' + "0" * 400, "samples"),
}


@pytest.mark.parametrize("case", HUGE_TOML_CASES)
def test_huge_numbers_and_deep_nesting_in_experiment_files(case, tmp_path, capsys):
    text, needle = HUGE_TOML_CASES[case]
    base = GOOD_EXPERIMENT.replace("[vary]\ntarget_org_size = [30000, 60000]\n", "")
    if text.startswith("years"):
        base = base.replace("years = 0.25\n", "")
    vary = "" if "[vary]" in text else "[vary]\ntarget_org_size = [30000, 60000]\n"
    top, tables = (text, "") if not text.startswith("[") else ("", text)
    f = tmp_path / "exp.toml"
    f.write_text(top + "\n" + base + vary + tables + "\n")
    out = tmp_path / "out"
    line = expect_refusal(["sweep", "run", str(f), "--out", str(out), "--quiet"], ["exp.toml", needle], capsys, out)
    assert len(line) <= 620
    assert not out.exists()
    _count("experiment files")


CONFLICT_CASES = {
    "--set region and --region": (["--set", "region=00N", "--region", "00L"], ["--set region='00N'", "--region 00L"]),
    "--set region=synthetic and --register": (
        ["--set", "region=synthetic", "--register", str(FIXTURES / "good-2021.csv")],
        ["--set region='synthetic'", "--register"],
    ),
    "--set years and --years": (["--set", "years=2", "--years", "3"], ["--set years=2", "--years 3"]),
    "--set twice": (["--set", "peer_degree=4", "--set", "peer_degree=5"], ["peer_degree=4", "peer_degree=5"]),
}


@pytest.mark.parametrize("case", CONFLICT_CASES)
def test_conflicting_flags_are_refused_naming_both(case, tmp_path, capsys):
    extra, needles = CONFLICT_CASES[case]
    out = tmp_path / "out"
    argv = ["run", "--set", "n_practices=20", "--quiet", *extra, "--out", str(out)]
    if "--years" not in extra:
        argv[1:1] = ["--years", "0.25"] if "years=2" not in extra else []
    expect_refusal(argv, needles, capsys, out)
    assert not out.exists()
    _count("command-line parameters")


def test_agreeing_flags_are_fine(tmp_path, capsys):
    assert main(["run", "--years", "0.25", "--set", "years=0.25", "--set", "n_practices=20", "--quiet"]) == 0


def test_experiment_years_and_fixed_years_disagree(tmp_path, capsys):
    f = tmp_path / "exp.toml"
    f.write_text(GOOD_EXPERIMENT.replace("n_practices = 20\n", "n_practices = 20\nyears = 2\n"))
    out = tmp_path / "out"
    expect_refusal(["sweep", "run", str(f), "--out", str(out)], ["years", "fixed.years"], capsys, out)


def test_python_and_command_line_share_one_default_scenario(tmp_path, capsys):
    """``gpsim.run(seed=9, years=...)`` used ``Params()``; ``gpsim run --seed 9`` the baseline scenario."""
    out = tmp_path / "out"
    assert main(["run", "--seed", "9", "--years", "0.5", "--set", "n_practices=40", "--quiet", "--out", str(out)]) == 0
    cli = gpsim.Results.load(out)
    api = gpsim.run(seed=9, years=0.5, n_practices=40)
    assert api.params == cli.params == gpsim.scenario("baseline").replace(years=0.5, n_practices=40)
    assert api.final["orgs_founded"] == cli.final["orgs_founded"]
    mapped = gpsim.run({"years": 0.5, "n_practices": 40}, seed=9)
    assert mapped.params == api.params
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert "`gpsim.run(seed=9, years=5)`" in readme and "`gpsim run --seed 9 --years 5`" in readme


def _no_server(*args):
    raise AssertionError("the server was started with options that should have been refused")


UI_OPTION_CASES = {
    "negative seed": (["--seed", "-1"], ["--seed", "seed -1 is out of range"], {}),
    "huge seed": (["--seed", str(2**130)], ["--seed", "out of range"], {}),
    "unknown host": (["--host", "no-such-host.invalid"], ["--host no-such-host.invalid"], {}),
    "no tabs": (["--max-tabs", "0"], ["--max-tabs 0", "at least 1"], {}),
    "reconnect window not a duration": ([], ["CULL_TIMEOUT='soon'"], {"SOLARA_KERNEL_CULL_TIMEOUT": "soon"}),
    "negative reconnect window": ([], ["SOLARA_KERNEL_CULL_TIMEOUT='-5m'"], {"SOLARA_KERNEL_CULL_TIMEOUT": "-5m"}),
    "abandon delay not a duration": ([], ["GPSIM_UI_ABANDONED_AFTER='1e400'"], {"GPSIM_UI_ABANDONED_AFTER": "1e400"}),
    "peer graph missing": (["--peer-graph", "no-such.graphml"], ["--peer-graph no-such.graphml: no such file"], {}),
    "peer graph not GraphML": (["--peer-graph", __file__], [f"--peer-graph {__file__}: not a readable GraphML"], {}),
    "peer graph 'nearest'": (["--peer-graph", "nearest"], ["--peer-graph nearest", "offered anyway"], {}),
}


@pytest.mark.parametrize("case", UI_OPTION_CASES)
def test_ui_options_are_checked_at_start(case, tmp_path, capsys, monkeypatch):
    pytest.importorskip("solara")
    monkeypatch.setattr(os, "execve", _no_server)
    extra, needles, env = UI_OPTION_CASES[case]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    expect_refusal(["ui", *extra], needles, capsys, tmp_path)
    _count("ui options")


def test_ui_port_already_taken_is_refused_at_start(tmp_path, capsys, monkeypatch):
    import socket

    pytest.importorskip("solara")
    monkeypatch.setattr(os, "execve", _no_server)
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        expect_refusal(["ui", "--port", str(port)], [f"--port {port}", "cannot listen"], capsys, tmp_path)
    _count("ui options")


def test_scenario_flag_and_parameter_file_scenario_disagree(tmp_path, capsys):
    f = tmp_path / "p.toml"
    f.write_text('scenario = "funding-cliff"\n[params]\nn_practices = 20\n')
    out = tmp_path / "out"
    argv = ["run", "--years", "0.25", "--quiet", "--params", str(f), "--out", str(out)]
    expect_refusal([*argv, "--scenario", "baseline"], ["--scenario baseline", "funding-cliff"], capsys, out)
    assert main([*argv, "--scenario", "funding-cliff"]) == 0  # agreeing is fine
    assert gpsim.Results.load(out).params.pump_priming_months == gpsim.scenario("funding-cliff").pump_priming_months


# --- class 1: a register is identified by its content ----------------------------------------------------
def _register_with_first_count(count: str) -> str:
    return _with_count(count)


def _quiet_region(params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return gpsim.region_for(params)


def test_edited_register_is_not_served_from_the_region_cache(tmp_path):
    """The region cache was keyed by the region text: an edited register kept its old sizes in one process."""
    import hashlib

    f = tmp_path / "reg.csv"
    f.write_text(_register_with_first_count("5903"))
    p = gpsim.Params(region=f"00L@{f}")
    first = _quiet_region(p)
    f.write_text(_register_with_first_count("75903"))  # a different size, as a real edit would be
    second = _quiet_region(p)
    assert second.population - first.population == 70_000
    assert second.register_sha256 == hashlib.sha256(f.read_bytes()).hexdigest() != first.register_sha256


def test_final_json_records_the_register_content_hash(tmp_path, capsys):
    import hashlib
    import json

    f = tmp_path / "reg.csv"
    f.write_text(GOOD_REGISTER)
    out = tmp_path / "out"
    assert main(["run", "--years", "0.25", "--quiet", "--region", "00L", "--register", str(f), "--out", str(out)]) == 0
    meta = json.loads((out / "final.json").read_text())
    assert meta["register_sha256"] == hashlib.sha256(f.read_bytes()).hexdigest()
    assert gpsim.Results.load(out).register_sha256 == meta["register_sha256"]
    synthetic = tmp_path / "syn"
    assert main([*RUN, "--out", str(synthetic)]) == 0
    assert json.loads((synthetic / "final.json").read_text())["register_sha256"] is None


REGISTER_EXPERIMENT = (
    'name = "reg"\nquestion = "q?"\nyears = 0.25\nreplicates = 2\n[fixed]\nregion = "00L@reg.csv"\n'
    "[vary]\ntarget_org_size = [30000, 60000]\n"
)


def _register_sweep(tmp_path: Path) -> tuple[Path, Path, Path]:
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "reg.csv").write_text(GOOD_REGISTER)
    exp = folder / "exp.toml"
    exp.write_text(REGISTER_EXPERIMENT)
    return exp, folder / "reg.csv", tmp_path / "sweep"


def test_relative_register_path_is_read_beside_the_experiment_file(tmp_path, capsys, monkeypatch):
    """``00L@reg.csv`` in an experiment was resolved against the current folder, not the experiment's."""
    exp, reg_file, out = _register_sweep(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        assert main(["sweep", "run", str(exp), "--out", str(out), "--quiet"]) == 0
    import json

    from gpsim.sweep.store import SweepStore

    manifest = json.loads((out / "manifest.json").read_text())
    import hashlib

    assert manifest["experiment"]["registers"] == {"00L@reg.csv": hashlib.sha256(reg_file.read_bytes()).hexdigest()}
    final = SweepStore(out).final()
    expected = _quiet_region(gpsim.Params(region=f"00L@{reg_file}")).population
    assert len(final) == 4 and (final["population_start"] == expected).all()


def test_resume_after_the_register_changed_is_refused(tmp_path, capsys):
    """A resume after the register changed mixed two registers in one result set."""
    exp, reg_file, out = _register_sweep(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        assert main(["sweep", "run", str(exp), "--out", str(out), "--quiet"]) == 0
    reg_file.write_text(_with_count("75903"))
    expect_refusal(
        ["sweep", "run", str(exp), "--out", str(out), "--resume", "--quiet"],
        ["holds a sweep of a different experiment", "register file 00L@reg.csv changed"],
        capsys,
        out,
    )


def test_editing_only_the_question_does_not_block_a_resume(tmp_path, capsys):
    exp, _, out = _register_sweep(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        assert main(["sweep", "run", str(exp), "--out", str(out), "--quiet"]) == 0
        exp.write_text(REGISTER_EXPERIMENT.replace('question = "q?"', 'question = "Reworded?"'))
        assert main(["sweep", "run", str(exp), "--out", str(out), "--resume", "--quiet"]) == 0


def test_a_worker_reading_a_different_register_fails_the_run_instead_of_mixing(tmp_path):
    from gpsim.sweep.engine import _task, run_one

    exp_file, reg_file, _ = _register_sweep(tmp_path)
    exp = load(exp_file)
    run = exp.runs()[0]
    task = _task(exp, run, registers=exp.registers())
    reg_file.write_text(_with_count("75903"))  # edited after the sweep was planned
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        row = run_one(task)["run"]
    assert row["status"] == "failed" and "changed since the sweep started" in row["error"]


def test_nan_in_a_points_file_is_named_as_empty(tmp_path, capsys):
    (tmp_path / "points.csv").write_text("target_org_size\n30000\nnan\n")
    f = tmp_path / "exp.toml"
    f.write_text('name = "x"\nyears = 0.25\n[fixed]\nn_practices = 20\n[design]\nkind = "csv"\nfile = "points.csv"\n')
    out = tmp_path / "out"
    line = expect_refusal(["sweep", "run", str(f), "--out", str(out)], ["row 3", "is empty or NaN"], capsys, out)
    assert "None" not in line


# --- class 9: streams and other files that are not regular files -------------------------------------------
@pytest.fixture
def deadline():
    """Turn a hang into a failure: a read that blocks (a pipe with no writer) would otherwise wait forever."""

    def expired(signum, frame):
        raise TimeoutError("gave up after 20 s: the read hung")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def _fifo(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    os.mkfifo(path)
    return path


STREAM_CASES = {
    "--register /dev/zero": (lambda t: ["run", "--register", "/dev/zero"], ["/dev/zero: is a device"]),
    "--register /dev/urandom": (lambda t: ["run", "--register", "/dev/urandom"], ["is a device, not a regular"]),
    "--register FIFO": (lambda t: ["run", "--register", str(_fifo(t, "p.csv"))], ["is a named pipe"]),
    "regions --register FIFO": (lambda t: ["regions", "--register", str(_fifo(t, "q.csv"))], ["is a named pipe"]),
    "experiment /dev/zero": (lambda t: ["sweep", "run", "/dev/zero"], ["/dev/zero", "is a device"]),
    "experiment FIFO": (lambda t: ["sweep", "run", str(_fifo(t, "e.toml"))], ["is a named pipe"]),
    "--params FIFO": (lambda t: ["run", "--params", str(_fifo(t, "p.toml"))], ["is a named pipe"]),
}


@pytest.mark.parametrize("case", STREAM_CASES)
def test_streams_and_devices_are_refused_without_reading(case, tmp_path, capsys, deadline):
    make, needles = STREAM_CASES[case]
    argv = make(tmp_path)
    if argv[0] == "run":
        argv += ["--years", "0.25", "--quiet", "--out", str(tmp_path / "out")]
    expect_refusal(argv, needles, capsys, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    _count("register files")


def test_points_file_that_is_a_pipe_is_refused(tmp_path, capsys, deadline):
    _fifo(tmp_path, "points.csv")
    f = tmp_path / "exp.toml"
    f.write_text('name = "x"\nyears = 0.25\n[design]\nkind = "csv"\nfile = "points.csv"\n')
    expect_refusal(["sweep", "run", str(f), "--out", str(tmp_path / "o")], ["points file", "named pipe"], capsys, f)


def test_a_register_growing_while_read_is_cut_at_the_limit(tmp_path, monkeypatch):
    from gpsim.data import files

    f = tmp_path / "reg.csv"
    f.write_text(GOOD_REGISTER)
    real_stat = os.stat
    monkeypatch.setattr(files.os, "stat", lambda p, *a, **k: os.stat_result((*real_stat(p)[:6], 10, *real_stat(p)[7:])))
    with pytest.raises(DataError, match="grew while being read"):
        files.read_limited(f, 100, "register file")


# --- class 6: gpsim run --out is written whole, beside the folder, and swapped in ----------------------------
def _no_leftovers(parent: Path) -> None:
    assert not [p.name for p in parent.iterdir() if p.name.startswith(".gpsim-")], "temporary folder left behind"


def _interrupt(exc: BaseException):
    def fail(*args, **kwargs):
        raise exc

    return fail


def _fail_the_figure(monkeypatch, exc: BaseException) -> list:
    """Make summary.png, the last file of a run, fail with ``exc`` where this process writes it (drawn here or
    received from the drawing process); returns the drawing processes started, to check none is left."""
    from gpsim import plots

    started = []
    start = plots.SummaryProcess.start.__func__

    def recorded(cls):
        drawing = start(cls)
        started.append(drawing.pid if drawing is not None else None)
        return drawing

    monkeypatch.setattr(plots, "save_summary", _interrupt(exc))
    monkeypatch.setattr(plots.SummaryProcess, "png", _interrupt(exc))
    monkeypatch.setattr(plots.SummaryProcess, "start", classmethod(recorded))
    return started


def _ended(started: list) -> bool:
    """Whether every drawing process started has ended and been waited for (its process id is gone)."""
    for pid in filter(None, started):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        return False
    return True


@pytest.mark.parametrize("fault", ["Ctrl-C", "disk full"])
def test_an_interrupted_replacement_leaves_the_earlier_run_whole(fault, tmp_path, capsys, monkeypatch):
    """An interrupted replacement left the new tables with the old summary.png (or four tables and no PNG)."""
    import errno

    out = tmp_path / "run"
    assert main([*RUN, "--out", str(out)]) == 0
    before = snapshot(out)
    exc = KeyboardInterrupt() if fault == "Ctrl-C" else OSError(errno.ENOSPC, "No space left on device")
    started = _fail_the_figure(monkeypatch, exc)  # the last file of the new run fails
    code = main([*RUN, "--seed", "4", "--out", str(out)])
    assert code == (130 if fault == "Ctrl-C" else 2)
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and ".gpsim-" not in err  # no temporary path in the message
    assert snapshot(out) == before
    _no_leftovers(tmp_path)
    assert started and _ended(started)


def test_a_fresh_out_interrupted_leaves_nothing(tmp_path, capsys, monkeypatch):
    out = tmp_path / "new" / "run"
    started = _fail_the_figure(monkeypatch, KeyboardInterrupt())
    assert main([*RUN, "--out", str(out)]) == 130
    assert not (tmp_path / "new").exists()  # not even the parent folder made for it
    assert started and _ended(started)


def test_sigterm_during_a_run_leaves_nothing_behind(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gpsim.cli", "run", "--years", "40", "--set", "n_practices=400", "--progress"]
        + ["--out", str(out)],
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stderr.readline()  # the progress bar has started: the run is under way
    while "month" not in line and proc.poll() is None:
        line = proc.stderr.readline()
    proc.send_signal(signal.SIGTERM)
    err = proc.communicate(timeout=120)[1]
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "gpsim: interrupted" in err
    assert not out.exists()
    _no_leftovers(tmp_path)


def test_outputs_that_are_folders_or_links_are_refused_before_the_run(tmp_path, capsys, monkeypatch):
    """A folder final.json/ holding a user's file got three tables replaced; a summary.png link was followed."""
    monkeypatch.setattr(gpsim, "run", _interrupt(AssertionError("ran although the folder should be refused")))
    for name in ("folder", "link", "dangling"):
        out = tmp_path / name
        out.mkdir()
        (out / "steps.parquet").write_bytes(b"an earlier table")
        (out / "final.json").write_text('{"gpsim_version": "0.1.0"}')
        target = tmp_path / f"{name}-precious.txt"
        target.write_text("my own file")
        if name == "folder":
            (out / "final.json").unlink()
            (out / "final.json").mkdir()
            (out / "final.json" / "notes.txt").write_text("mine")
            needles = ["final.json is a folder"]
        else:
            (out / "summary.png").symlink_to(target if name == "link" else tmp_path / "missing.png")
            needles = ["summary.png is a symbolic link"]
        expect_refusal([*RUN, "--out", str(out)], needles, capsys, out)
        assert target.read_text() == "my own file"


def test_out_that_is_a_link_or_empty_is_refused_before_the_run(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(gpsim, "run", _interrupt(AssertionError("ran although --out should be refused")))
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    expect_refusal([*RUN, "--out", str(dangling)], ["is a symbolic link (to a missing place)"], capsys, tmp_path)
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    expect_refusal([*RUN, "--out", str(tmp_path / "link")], ["is a symbolic link"], capsys, real)
    expect_refusal([*RUN, "--out", ""], ["--out '': an empty path"], capsys, tmp_path)


def test_tables_without_a_gpsim_final_json_are_not_replaced(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "steps.csv").write_text("my,own,table\n")
    expect_refusal([*RUN, "--out", str(out)], ["no final.json written by gpsim"], capsys, out)


def test_results_save_from_python_is_atomic_and_refuses_other_files(tmp_path):
    r = gpsim.run(years=0.25, n_practices=20)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.docx").write_text("precious")
    with pytest.raises(GpsimError, match="already holds other files"):
        r.save(mine)
    assert [p.name for p in mine.iterdir()] == ["thesis.docx"]
    out = tmp_path / "out"
    r.save(out, fmt="csv", plot=True)
    r.save(out)  # replaced whole: the csv tables and the PNG of the earlier save are gone
    assert sorted(p.name for p in out.iterdir()) == [
        "closures.parquet",
        "final.json",
        "org_money.parquet",
        "orgs.parquet",
        "steps.parquet",
    ]
    _no_leftovers(tmp_path)
