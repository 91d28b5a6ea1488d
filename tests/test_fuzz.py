"""Fuzzing the two file readers: any input either loads or raises gpsim's own error with a one-line message.

The register loader (``gpsim.data.read_register`` / ``load_region``) gets mutations of a good register (bytes
deleted, inserted, truncated, fields replaced by odd values, lines duplicated, re-encoded) and raw bytes; the
experiment reader (``gpsim.experiment.load`` / ``Experiment.from_dict``) gets mutations of a good file and random
tables of keys and TOML values. Any exception other than :class:`gpsim.errors.GpsimError` fails the test.
Examples per reader: ``GPSIM_FUZZ_EXAMPLES`` (default 300).
"""

from __future__ import annotations

import datetime
import itertools
import os
import warnings
from pathlib import Path

import pytest
from conftest import EXAMPLE_COUNTS, VALID_TARGETS
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gpsim.data import DataWarning, load_region, read_register
from gpsim.errors import GpsimError
from gpsim.experiment import Experiment, load
from gpsim.params import SPECS

EXAMPLES = int(os.environ.get("GPSIM_FUZZ_EXAMPLES", "300"))
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None, derandomize=False
)
GOOD_REGISTER = (Path(__file__).parent / "fixtures" / "registers" / "good-2021.csv").read_bytes()
GOOD_EXPERIMENT = (
    b'name = "fz"\nquestion = "q?"\nyears = 0.5\nreplicates = 2\nseed = 4\n[fixed]\nn_practices = 20\n'
    b'[design]\nkind = "lhs"\nsamples = 3\n[vary]\ntarget_org_size = [30000, 60000]\n'
    b'size_aversion = {low = 0, high = 1}\n[outputs]\nsteps = 6\nkey = ["n_orgs"]\n'
)
ODD_VALUES = [b"", b"-1", b"1e309", b"nan", b"inf", b"1e20", b"99999999999999999999", b'"1,000"', b"0x10", b"  5 ",
              b"1_000", b"A84002", b"\xff\xfe", b'"', b"'x'", b"\x00", b"ALL", b"00L", b"\r", b'"a\nb"']  # fmt: skip
ENCODINGS = ["utf-16", "utf-16-le", "cp1252", "latin-1", "utf-8-sig", "utf-32", "ascii"]


def _outcome(name: str, key: str) -> None:
    counts = EXAMPLE_COUNTS.setdefault(name, {"examples": 0, "loaded": 0, "refused": 0})
    counts["examples"] += 1
    counts[key] += 1


def _call(name: str, fn) -> None:
    """``fn()`` must succeed or raise a GpsimError with a one-line message; anything else fails the test."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataWarning)
            fn()
    except GpsimError as err:
        msg = str(err)
        assert msg and "\n" not in msg and "\r" not in msg and len(msg) <= 600, msg
        _outcome(name, "refused")
    else:
        _outcome(name, "loaded")


@st.composite
def mutated_register(draw) -> bytes:
    raw = bytearray(GOOD_REGISTER)
    for _ in range(draw(st.integers(1, 5))):
        op = draw(st.sampled_from(["delete", "insert", "truncate", "field", "duplicate", "encode"]))
        if op == "delete" and raw:
            i = draw(st.integers(0, len(raw) - 1))
            del raw[i : i + draw(st.integers(1, 40))]
        elif op == "insert":
            i = draw(st.integers(0, len(raw)))
            raw[i:i] = draw(st.binary(max_size=12) | st.sampled_from([b",", b"\n", b'"', b"\r\n", b",,", b" "]))
        elif op == "truncate" and raw:
            raw = raw[: draw(st.integers(0, len(raw)))]
        elif op == "field":
            lines = bytes(raw).split(b"\n")
            i = draw(st.integers(0, len(lines) - 1))
            fields = lines[i].split(b",")
            fields[draw(st.integers(0, len(fields) - 1))] = draw(st.sampled_from(ODD_VALUES))
            lines[i] = b",".join(fields)
            raw = bytearray(b"\n".join(lines))
        elif op == "duplicate":
            lines = bytes(raw).split(b"\n")
            lines.insert(draw(st.integers(0, len(lines))), lines[draw(st.integers(0, len(lines) - 1))])
            raw = bytearray(b"\n".join(lines))
        elif op == "encode":
            text = bytes(raw).decode("utf-8", "replace")
            raw = bytearray(text.encode(draw(st.sampled_from(ENCODINGS)), "replace"))
    return bytes(raw)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


_names = itertools.count()


#: Found by fuzzing: the first data row longer than the header, with a lone carriage return further down.
FOUND_CR = (
    b"EXTRACT_DATE,TYPE,CCG_CODE,ONS_CCG_CODE,CODE,POSTCODE,SEX,AGE,NUMBER_OF_PATIENTS\n"
    b"GP_PRAC_PAT_LIST,01JAN2021,GP,00L,E38000130,A84002,NE65 7UW,ALL,ALL,5903\n"
    b"\r,01JAN2021,GP,00L,E38000130,A84003,NE63 9UT,ALL,ALL,14738\n"
)


@FUZZ
@example(content=FOUND_CR, region="england")
@given(content=mutated_register() | st.binary(max_size=400), region=st.sampled_from(["england", "00L", "00N,00L"]))
def test_register_loader_loads_or_refuses_cleanly(fuzz_dir, content, region):
    f = fuzz_dir / f"register-{next(_names)}.csv"  # a new name each time: the loader caches by path, size, mtime
    f.write_bytes(content)
    _call("fuzz: register loader", lambda: (read_register(f), load_region(f"{region}@{f}")))


TOML_SCALARS = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.booleans(),
    st.text(max_size=8),
    st.sampled_from(["grid", "zip", "lhs", "sobol", "morris", "csv", "points.csv", "baseline", "1e5", "../x"]),
    st.just(datetime.date(2020, 1, 1)),
)
NAMES = [s.name for s in SPECS] + ["nope", "kind", "low", "high"]
TOML_VALUES = st.recursive(
    TOML_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(NAMES[:8] + ["low", "high"]), inner),
    max_leaves=8,
)
SUB_KEYS = st.sampled_from(NAMES + ["samples", "levels", "second_order", "file", "steps", "key"])
TOP_TABLES = st.dictionaries(
    st.sampled_from(
        ["name", "question", "scenario", "replicates", "seed", "years", "fixed", "vary", "design", "outputs", "x"]
    ),
    TOML_VALUES | st.dictionaries(SUB_KEYS, TOML_VALUES, max_size=4),
    max_size=8,
)


VALID_TABLE = {"name": "fz", "years": 0.5, "fixed": {"n_practices": 20}, "vary": {"target_org_size": [3e4, 6e4]}}


@FUZZ
@given(table=TOP_TABLES | TOP_TABLES.map(lambda extra: {**VALID_TABLE, **dict(list(extra.items())[:2])}))
def test_experiment_tables_load_or_refuse_cleanly(fuzz_dir, table):
    (fuzz_dir / "points.csv").write_text("target_org_size,size_aversion\n40000,0.5\n90000,1\n")
    source = str(fuzz_dir / "exp.toml")
    _call("fuzz: experiment tables", lambda: Experiment.from_dict(table, source=source).check_points())


@FUZZ
@given(
    content=st.binary(max_size=200)
    | st.builds(
        lambda i, j, junk: GOOD_EXPERIMENT[:i] + junk + GOOD_EXPERIMENT[j:],
        st.integers(0, len(GOOD_EXPERIMENT)),
        st.integers(0, len(GOOD_EXPERIMENT)),
        st.binary(max_size=8) | st.sampled_from([b"=", b"[", b"]", b'"', b"\n", b"-1", b"1e999", b"{", b"}", b"inf"]),
    )
)
def test_experiment_files_load_or_refuse_cleanly(fuzz_dir, content):
    f = fuzz_dir / f"exp-{next(_names)}.toml"
    f.write_bytes(content)
    _call("fuzz: experiment files", lambda: load(f))


TARGET_KEYS = ["name", "output", "observed", "observation_sd", "discrepancy_sd", "period", "source", "label", "x"]
TARGET_VALUES = TOML_VALUES | st.sampled_from(
    ["steps:n_practices_open@2015-07", "final:n_orgs", "orgs:median_members", "ledger:challenge_fund_wave1",
     "steps:n_practices_open", "steps:x@2015-99", "closures:count@2014-01..2016-01", "train", "test", "facts #1",
     "orgs:nonsense", "final:n_orgs@2015-01", "1e999", ""]
) | st.sampled_from([10**400, -(10**400), 2**63 + 1, 10**12, float("nan"), float("inf")])  # fmt: skip
TARGETS_TABLES = st.dictionaries(
    st.sampled_from(["name", "scenario", "seed", "fixed", "parameters", "waves", "quick", "target", "check", "x"]),
    TOML_VALUES
    | st.dictionaries(SUB_KEYS, TOML_VALUES, max_size=4)
    | st.dictionaries(st.sampled_from(["runs", "max_waves", "candidates", "posterior_runs", "cutoff"]), TARGET_VALUES)
    | st.lists(st.dictionaries(st.sampled_from(TARGET_KEYS), TARGET_VALUES, max_size=8), max_size=3),
    max_size=6,
)


@FUZZ
@given(
    table=TARGETS_TABLES
    | TARGETS_TABLES.map(lambda extra: {**VALID_TARGETS, **dict(list(extra.items())[:2])})
    | st.dictionaries(st.sampled_from(TARGET_KEYS), TARGET_VALUES, max_size=3).map(
        lambda change: {**VALID_TARGETS, "target": [{**VALID_TARGETS["target"][0], **change}]}
    )
)
def test_targets_tables_load_or_refuse_cleanly(table):
    """Calibration targets files (``gpsim calibrate FILE``, ``gpsim validate --targets``): load or one line."""
    from gpsim.calibrate.targets import from_dict

    _call("fuzz: targets tables", lambda: from_dict(table, source="t.toml"))


def test_the_fuzzers_would_notice_a_foreign_exception():
    """The harness itself: an exception that is not a GpsimError is not swallowed."""
    with pytest.raises(KeyError):
        _call("fuzz: self-test", lambda: {}["x"])

    class TwoLinesError(GpsimError):
        def __str__(self) -> str:
            return "first\nsecond"

    def refuse():
        raise TwoLinesError("x")

    with pytest.raises(AssertionError):
        _call("fuzz: self-test", refuse)


# --- the command line: any combination of flags is a complete result or one line and nothing written -----------
CLI_EXAMPLES = int(os.environ.get("GPSIM_FUZZ_CLI_EXAMPLES", "40"))
CLI_FUZZ = settings(max_examples=CLI_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
REGISTER_FILE = str(Path(__file__).parent / "fixtures" / "registers" / "good-2021.csv")
FLAG_VALUES = {
    "--years": ["0.25", "0.5", "0", "-1", "soon", "1e400", "nan", "", "1" + "0" * 400],
    "--seed": ["0", "7", "-1", "1.5", "x", str(2**130)],
    "--scenario": ["baseline", "funding-cliff", "utopia", ""],
    "--region": ["synthetic", "00L", "00L,00N", "ZZZ", "", ",,", "00L@", "00L@missing.csv", "a\x00b"],
    "--register": [REGISTER_FILE, "missing.csv", "/dev/zero", "."],
    "--format": ["parquet", "csv", "xlsx"],
}
SETS = ["n_practices=20", "n_practices=5", "n_ccgs=3", "n_ccgs=50", "years=0.25", "years=0.5", "region=synthetic",
        "region=00N", "foo=1", "=3", "years", "peer_degree=abc", "founding_rate=nan", "founding_rate=7",
        "target_org_size=1" + "0" * 400, "region=\u2028x"]  # fmt: skip
OUT_KINDS = ["new", "nested new", "empty folder", "earlier run", "a file", "under a file", "other files", "empty"]


#: ``gpsim run --posterior DIR``: DIR is a finished calibration (made by the fixture), or not one.
POSTERIOR_DIRS = ["calibration", "calibration", "calibration", "missing", "a file", "unfinished", ""]
SAMPLES = ["1", "2", "0", "-3", "x", "99", "1" + "0" * 400]


@st.composite
def command_lines(draw, posterior: bool = False):
    flags = draw(st.dictionaries(st.sampled_from(sorted(FLAG_VALUES)), st.none(), max_size=4))
    argv = ["run", "--quiet", "--years", draw(st.sampled_from(["0.25", "0.5"]))] if "--years" not in flags else []
    argv = argv or ["run", "--quiet"]
    if posterior:
        argv += ["--posterior", draw(st.sampled_from(POSTERIOR_DIRS))]
        if draw(st.booleans()):
            argv += ["--samples", draw(st.sampled_from(SAMPLES))]
    for flag in flags:
        argv += [flag, draw(st.sampled_from(FLAG_VALUES[flag]))]
    for text in draw(st.lists(st.sampled_from(SETS), max_size=3)):
        argv += ["--set", text]
    if "--region" not in flags and "--register" not in flags and draw(st.booleans()):
        argv += ["--set", "n_practices=20"]  # mostly small synthetic regions: keep each run short
    return argv, draw(st.sampled_from(OUT_KINDS))


def _prepare_out(kind: str, root: Path, earlier_run: Path) -> Path:
    import shutil

    out = root / "out"
    if kind == "nested new":
        out = root / "a" / "b" / "out"
    elif kind == "empty folder":
        out.mkdir()
    elif kind == "earlier run":
        shutil.copytree(earlier_run, out)
    elif kind == "a file":
        out.write_text("mine")
    elif kind == "under a file":
        (root / "afile").write_text("mine")
        out = root / "afile" / "out"
    elif kind == "other files":
        out.mkdir()
        (out / "thesis.docx").write_text("mine")
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def earlier_run(tmp_path_factory):
    from gpsim.cli import main

    out = tmp_path_factory.mktemp("earlier") / "run"
    assert main(["run", "--quiet", "--years", "0.25", "--set", "n_practices=20", "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def calibrations(tmp_path_factory) -> dict[str, str]:
    """Folders for ``--posterior``: a finished calibration of a small synthetic region, and some that are not."""
    import json

    import pandas as pd

    root = tmp_path_factory.mktemp("calibrations")
    done = root / "done"
    done.mkdir()
    fixed = {"n_practices": 20, "n_ccgs": 2, "years": 0.25}
    record = {"complete": True, "calibration": {"scenario": "baseline", "fixed": fixed}}
    (done / "calibration.json").write_text(json.dumps(record))
    draws = pd.DataFrame({"founding_rate": [0.01, 0.02, 0.03], "weight": 1 / 3})
    draws.to_parquet(done / "posterior.parquet", index=False)
    unfinished = root / "unfinished"
    unfinished.mkdir()
    (unfinished / "started.json").write_text("{}")
    (root / "afile").write_text("mine")
    paths = {"calibration": done, "missing": root / "missing", "a file": root / "afile", "unfinished": unfinished}
    return {k: str(v) for k, v in paths.items()} | {"": ""}


@CLI_FUZZ
@given(case=command_lines())
def test_any_run_command_line_is_a_complete_result_or_one_line_and_nothing_written(case, earlier_run, capsys):
    """Exit 0 with every output written in full, or exit 2 with one line on stderr and nothing written."""
    check_command_line(case, earlier_run, capsys)


@settings(CLI_FUZZ, max_examples=max(CLI_EXAMPLES // 2, 1))
@given(case=command_lines(posterior=True))
def test_any_posterior_command_line_is_a_complete_result_or_one_line_and_nothing_written(
    case, earlier_run, calibrations, capsys
):
    """The same for ``gpsim run --posterior DIR``: an ensemble written whole, or one line and nothing written."""
    argv, kind = case
    at = argv.index("--posterior") + 1
    argv = [*argv[:at], calibrations[argv[at]], *argv[at + 1 :]]
    check_command_line((argv, kind), earlier_run, capsys)


def check_command_line(case, earlier_run, capsys) -> None:
    import contextlib
    import json
    import tempfile

    from gpsim.cli import main

    argv, kind = case
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        out = _prepare_out(kind, root, earlier_run) if kind != "empty" else None
        argv = [*argv, "--out", str(out) if out is not None else ""]
        before = _files(root)
        capsys.readouterr()
        with warnings.catch_warnings(), contextlib.chdir(root):
            warnings.simplefilter("ignore", DataWarning)
            try:
                code = main(argv)
            except SystemExit as stop:  # argparse refusals exit from inside parsing
                code = stop.code
        err = capsys.readouterr().err
        assert "Traceback" not in err, err
        assert code in (0, 2), (argv, code, err)
        leftovers = [p.name for p in root.rglob(".gpsim-*")]
        assert not leftovers, (argv, leftovers)
        if code == 2:
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith(("gpsim: error: ", "gpsim run: error: ")), (argv, err)
            assert len(lines[0]) <= 700, lines[0]
            assert _files(root) == before, (argv, "something was written")
            if kind in ("new", "nested new"):
                assert not (root / "out").exists() and not (root / "a").exists(), argv
        else:
            assert err == "", (argv, err)
            fmt = argv[argv.index("--format") + 1] if "--format" in argv else "parquet"
            names = {p.name for p in out.iterdir()}
            strict = {"parse_constant": lambda c: pytest.fail(f"{c} in JSON")}
            if "--posterior" in argv:
                assert names == {f"bands.{fmt}", "draws.csv", "ensemble.json"}, names
                record = json.loads((out / "ensemble.json").read_text(), **strict)
                samples = int(argv[argv.index("--samples") + 1]) if "--samples" in argv else 20
                assert len(record["final"]) == samples == len(pd_read_csv(out / "draws.csv"))
            else:
                tables = {f"{t}.{fmt}" for t in ("steps", "orgs", "closures", "org_money")}
                assert names == tables | {"final.json", "summary.png"}, names
                meta = json.loads((out / "final.json").read_text(), **strict)
                assert meta["final"]["months"] == round(float(meta["params"]["years"]) * 12)
    EXAMPLE_COUNTS.setdefault("fuzz: command lines", {"examples": 0})["examples"] += 1


def pd_read_csv(path: Path):
    import pandas as pd

    return pd.read_csv(path)
