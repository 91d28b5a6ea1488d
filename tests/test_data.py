"""Real starting regions from the GP practice register: loading, messy files, CLI, determinism."""

from __future__ import annotations

import gzip
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

import gpsim
from gpsim import cli, data
from gpsim.data import register as reg
from gpsim.errors import DataError

FIXTURES = Path(__file__).parent / "fixtures" / "registers"
GOOD = FIXTURES / "good-2021.csv"

#: The bundled January 2021 register, after dropping the 37 practices under 100 patients (1,017 patients).
ENGLAND_PRACTICES = 6_621
ENGLAND_POPULATION = 60_605_328
ENGLAND_CCGS = 135


def load(*args, **kwargs) -> gpsim.Region:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", data.DataWarning)
        return data.load_region(*args, **kwargs)


def fresh():
    """Forget every cached file and region, as a new process would."""
    data._build.cache_clear()
    reg._read_cached.cache_clear()


# --- all England -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def england():
    return load("england")


def test_england_counts(england):
    assert england.n_practices == ENGLAND_PRACTICES
    assert england.n_ccgs == ENGLAND_CCGS
    assert england.population == ENGLAND_POPULATION
    assert len(set(england.practice_code)) == england.n_practices


def test_england_without_dropping_has_every_row_of_the_file():
    r = load("england", min_list_size=1)
    assert (r.n_practices, r.n_ccgs, r.population) == (6_658, 135, 60_606_345)


def test_england_hospitals_partition_the_population(england):
    assert 190 <= england.n_hospitals <= 210
    per = np.bincount(england.hospital, england.list_size, minlength=england.n_hospitals)
    assert per.sum() == england.population
    assert (per > 0).all()
    # balanced catchments: about 300,000 each, none wildly off
    assert 250_000 < np.median(per) < 350_000
    assert per.min() > 100_000 and per.max() < 700_000
    assert len(set(england.hospital_name)) == england.n_hospitals
    assert all(name.startswith("Hospital near ") for name in england.hospital_name)


def test_england_positions_and_edges(england):
    # OSGB km: England lies within these bounds
    assert (england.x > 80).all() and (england.x < 660).all()
    assert (england.y > 0).all() and (england.y < 660).all()
    # no two practices share a point
    xy = np.round(np.column_stack([england.x, england.y]), 6)
    assert len(np.unique(xy, axis=0)) == england.n_practices
    e = england.peer_edges
    assert (e[:, 0] < e[:, 1]).all() and len(np.unique(e, axis=0)) == len(e)
    deg = np.bincount(e.ravel(), minlength=england.n_practices)
    assert deg.min() >= 1
    assert england.hospital_xy.shape == (england.n_hospitals, 2)
    assert (england.hospital_xy[:, 0] > 80).all() and (england.hospital_xy[:, 0] < 660).all()


def test_england_warnings_count_the_drops(england):
    text = " | ".join(england.warnings)
    assert "dropped 37 practices with fewer than 100 registered patients (1,017 patients)" in text
    assert "5 practices with a postcode district not in the centroid table (E20, LE19, NR7)" in text


def test_warnings_are_issued():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data.load_region("england")
    texts = [str(w.message) for w in caught if issubclass(w.category, data.DataWarning)]
    assert len(texts) == 2 and "dropped 37 practices" in texts[0] and "postcode district" in texts[1]


def test_month_zero_relationships_per_hospital_on_england():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", data.DataWarning)
        r = gpsim.run(gpsim.Params(region="england", years=0.25))
        region = gpsim.region_for(gpsim.Params(region="england"))
    first = r.steps.relationships_per_hospital_mean[0]
    assert first == pytest.approx(region.n_practices / region.n_hospitals, rel=1e-9)
    assert 30 < first < 36


# --- choosing the area -------------------------------------------------------------------------------


def test_single_ccg_and_lists_of_ccgs():
    one = load("00L")
    assert (one.n_practices, one.n_ccgs, one.population) == (40, 1, 330_135)
    assert list(one.ccg_code) == ["00L"]
    two = load(" 00l , 00N ")
    assert two.n_ccgs == 2 and two.population == 330_135 + 158_295
    assert two.name == "CCGs 00L, 00N"


def test_named_regions_exist_and_are_small_enough_for_workshops():
    table = data.regions_table()
    assert table.loc[0, "name"] == "england"
    assert table.loc[0, "practices"] == ENGLAND_PRACTICES
    assert set(data.NAMED_REGIONS) <= set(table["name"])
    small = [n for n, r in data.NAMED_REGIONS.items() if 3 <= len(r.ccgs) <= 5]
    assert small
    r = load(small[0])
    assert 3 <= r.n_ccgs <= 5 and r.n_hospitals >= 2


def test_ccgs_table_sums_to_england():
    t = data.ccgs_table()
    assert len(t) == ENGLAND_CCGS
    assert t["practices"].sum() == ENGLAND_PRACTICES and t["population"].sum() == ENGLAND_POPULATION
    assert t.set_index("ccg").loc["00L", "area"] == "Northumberland"


@pytest.mark.parametrize(
    "text, match",
    [
        ("XYZ", r"region 'XYZ': XYZ is not a CCG code in register gp-reg-pat-prac-all-2021-01.csv"),
        ("00L,QQQ", r"QQQ is not a CCG code"),
        (",", r"no CCG codes given"),
        ("00L@", r"nothing after '@'"),
    ],
)
def test_bad_region_text(text, match):
    with pytest.raises(DataError, match=match):
        load(text)


# --- user registers: good files ------------------------------------------------------------------------


def test_good_fixture_round_trip():
    r = load("england", register=GOOD)
    assert r.n_practices == 11  # 12 rows, Y09999 (42 patients) dropped
    assert r.population == 117_975  # "18,638" read with its thousands separator
    assert list(r.ccg_code) == ["00L", "00N"]
    assert r.n_hospitals == 1 and r.hospital_name[0].startswith("Hospital near ")
    assert r.source == f"{GOOD} (extract date 01JAN2021)"
    assert "Y09999" not in set(r.practice_code)
    notes = " | ".join(r.warnings)
    assert "dropped 1 practice with fewer than 100" in notes
    assert "(NE85)" in notes and "A88006" in notes
    # the imputed practice sits near the centre of its CCG (South Tyneside), not at (0, 0)
    i = list(r.practice_code).index("A88006")
    others = (r.ccg == r.ccg[i]) & (np.arange(r.n_practices) != i)
    assert np.hypot(r.x[i] - r.x[others].mean(), r.y[i] - r.y[others].mean()) < 5


def test_post_2022_layout_gives_the_same_region():
    a = load("england", register=GOOD)
    b = load("england", register=FIXTURES / "good-2023-sub-icb.csv")
    assert data.read_register(FIXTURES / "good-2023-sub-icb.csv").layout == "SUB_ICB_LOCATION_CODE"
    for name in ("practice_code", "list_size", "x", "y", "ccg", "hospital", "ccg_code", "peer_edges"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_gzipped_register_and_region_text_with_path(tmp_path):
    gz = tmp_path / "register.csv.gz"
    with GOOD.open("rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    a = load(f"00N@{gz}")
    assert a.n_ccgs == 1 and a.n_practices == 6
    with pytest.raises(DataError, match="give one"):
        load(f"00N@{gz}", register=gz)


def test_kept_with_a_note():
    dup = load("england", register=FIXTURES / "duplicate-rows.csv")
    assert dup.n_practices == 11
    assert any("dropped 2 exact duplicate rows (lines 14, 15)" in w for w in dup.warnings)
    cp = load("england", register=FIXTURES / "windows-1252.csv")
    assert cp.n_practices == 11
    assert any("read as Windows-1252" in w for w in cp.warnings)


def test_tolerated_variations(tmp_path):
    text = GOOD.read_text()
    varied = text.replace("NE65 7UW", "NE657UW").replace(",5903\n", ",5903.0\n")
    varied = varied.replace("CODE,POSTCODE", "practice_code , postcode")
    f = tmp_path / "varied.csv"
    f.write_text(varied)
    u16 = tmp_path / "utf16.csv"
    u16.write_bytes(text.encode("utf-16"))
    base = load("england", register=GOOD)
    for path in (f, u16):
        r = load("england", register=path)
        np.testing.assert_array_equal(r.list_size, base.list_size)
        np.testing.assert_array_equal(r.x, base.x)


def test_breakdown_rows_are_skipped_with_a_note():
    r = load("england", register=FIXTURES / "mixed-breakdown.csv")
    assert r.n_practices == 11
    assert any("2 breakdown rows skipped" in w for w in r.warnings)


def test_short_row_is_refused_not_skipped(tmp_path):
    lines = GOOD.read_text().splitlines()
    lines[3] = ",".join(lines[3].split(",")[:8])
    f = tmp_path / "short.csv"
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match="line 4: NUMBER_OF_PATIENTS is empty"):
        load("england", register=f)


def test_changed_file_is_read_again(tmp_path):
    f = tmp_path / "r.csv"
    shutil.copy(GOOD, f)
    assert load("england", register=f).n_practices == 11
    lines = f.read_text().splitlines()
    f.write_text("\n".join(lines[:-2]) + "\n")
    assert load("england", register=f).n_practices == 9


# --- user registers: bad files -------------------------------------------------------------------------


BAD = [
    ("empty.csv", r"empty.csv: empty file$"),
    ("header-only.csv", r"header-only.csv: no data rows"),
    ("missing-column.csv", r"missing-column.csv: missing column POSTCODE$"),
    ("wrong-layout.csv", r"wrong-layout.csv: wrong layout \(header is A81001, .*expected NHS Digital"),
    ("non-numeric.csv", r"non-numeric.csv, line 4: NUMBER_OF_PATIENTS is not a number: 'n/a' \(practice A84005\)"),
    ("conflicting-duplicate.csv", r"lines 3, 14: practice A84003 appears 2 times with different values"),
    ("ragged-row.csv", r"ragged-row.csv, line 5: 11 fields where the header has 10"),
    ("blank-ccg.csv", r"blank-ccg.csv, line 3: CCG_CODE is empty"),
    ("unplaceable.csv", r"unplaceable.csv, line 14: cannot place practice Z99999"),
    ("sex-breakdown.csv", r"no rows with SEX=ALL"),
    ("binary.csv", r"binary.csv: unreadable encoding"),
    ("no-such-file.csv", r"no-such-file.csv: not found"),
]


@pytest.mark.parametrize("name, match", BAD)
def test_bad_files_are_refused_with_one_line(name, match):
    with pytest.raises(DataError, match=match) as info:
        load("england", register=FIXTURES / name)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("register file ")


@pytest.mark.parametrize(
    "content, match",
    [
        (b"\x1f\x8b\x08\x00garbage", "damaged gzip file"),
        (b"PK\x03\x04rest", "zip or Excel workbook"),
        (b"CODE,X\n\x81\x8d\x8f\x90\n", r"line 2: unreadable encoding \(byte 0x81"),
    ],
)
def test_unreadable_contents(tmp_path, content, match):
    f = tmp_path / "x.csv"
    f.write_bytes(content)
    with pytest.raises(DataError, match=match):
        load("england", register=f)


def test_counts_that_are_negative_fractional_or_blank(tmp_path):
    text = GOOD.read_text().splitlines()
    for value, match in (("-5", "is negative"), ("12.5", "is not a whole number"), ("", "is empty")):
        rows = text.copy()
        rows[2] = rows[2].rsplit(",", 1)[0] + "," + value
        f = tmp_path / "c.csv"
        f.write_text("\n".join(rows) + "\n")
        with pytest.raises(DataError, match=f"line 3: NUMBER_OF_PATIENTS {match}"):
            load("england", register=f)


def test_directory_is_refused(tmp_path):
    with pytest.raises(DataError, match="is a directory"):
        load("england", register=tmp_path)


# --- determinism --------------------------------------------------------------------------------------


FIELDS = ("practice_code", "list_size", "x", "y", "ccg", "hospital", "ccg_code", "hospital_name", "hospital_xy")


def test_same_file_same_seed_same_region():
    a = load("north-east-and-north-cumbria", seed=3)
    fresh()
    b = load("north-east-and-north-cumbria", seed=3)
    assert a is not b
    for name in (*FIELDS, "peer_edges"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.warnings == b.warnings


def test_positions_do_not_depend_on_the_seed_but_catchments_may():
    a = load("london", seed=0)
    b = load("london", seed=1)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.peer_edges, b.peer_edges)
    assert np.bincount(b.hospital, b.list_size).sum() == a.population


def test_region_arrays_are_read_only():
    r = load("00L")
    with pytest.raises(ValueError):
        r.list_size[0] = 1


# --- command line --------------------------------------------------------------------------------------


def test_cli_run_single_ccg_end_to_end(capsys):
    assert cli.main(["run", "--region", "00L", "--years", "1"]) == 0
    out = capsys.readouterr().out
    assert "CCG 00L" in out and "relationships / hospital" in out


def test_cli_run_with_register_prints_warnings(capsys):
    assert cli.main(["run", "--register", str(GOOD), "--region", "00N", "--years", "0.25"]) == 0
    captured = capsys.readouterr()
    assert "CCG 00N" in captured.out
    assert "gpsim: warning: " in captured.err and "NE85" in captured.err


def test_cli_regions(capsys):
    assert cli.main(["regions"]) == 0
    out = capsys.readouterr().out
    assert "north-east-workshop" in out and "6,621" in out and "60,605,328" in out
    assert cli.main(["regions", "--ccgs", "--register", str(FIXTURES / "good-2023-sub-icb.csv")]) == 0
    out = capsys.readouterr().out
    assert "SUB_ICB_LOCATION_CODE layout" in out and "00N" in out


@pytest.mark.parametrize(
    "argv, match",
    [
        (["run", "--region", "ZZZ", "--years", "0.25"], "ZZZ is not a CCG code"),
        (["run", "--register", str(FIXTURES / "non-numeric.csv")], "line 4: NUMBER_OF_PATIENTS is not a number"),
        (["run", "--register", str(FIXTURES / "empty.csv"), "--region", "00L"], "empty file"),
        (["run", "--register", str(GOOD), "--region", f"00L@{GOOD}"], "already names a register file"),
        (["regions", "--register", str(FIXTURES / "wrong-layout.csv")], "wrong layout"),
    ],
)
def test_cli_errors_exit_2_with_one_line(capsys, argv, match):
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert "Traceback" not in captured.err
    assert len(err.splitlines()) == 1 and err.startswith("gpsim: error: ") and match in err
