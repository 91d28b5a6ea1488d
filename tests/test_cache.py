"""The on-disk cache of built regions and the cheap start of the command line (no timing assertions)."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

from gpsim import cache, data
from gpsim.data import register as reg

#: A small real area, so each build is quick.
AREA = "00L"


def load(name: str = AREA):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", data.DataWarning)
        return data.load_region(name)


def fresh():
    """Forget the in-process caches, as a new process would (the disk cache stays)."""
    data._build.cache_clear()
    reg._read_cached.cache_clear()


def same(a, b) -> None:
    for f in ("name", "source", "warnings", "register_sha256"):
        assert getattr(a, f) == getattr(b, f), f
    for f in data._ARRAY_FIELDS:
        x, y = getattr(a, f), getattr(b, f)
        assert x.dtype == y.dtype and np.array_equal(x, y), f


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV_CACHE_DIR, str(tmp_path / "cache"))
    fresh()
    yield tmp_path / "cache"
    fresh()


def entries(folder):
    return sorted(folder.glob("region-*.npz")) if folder.exists() else []


def test_a_region_read_back_from_disk_equals_the_built_one(cache_dir, monkeypatch):
    built = load()
    assert len(entries(cache_dir)) == 1
    fresh()
    monkeypatch.setattr(data, "_construct", lambda *a: pytest.fail("built again instead of read from the cache"))
    again = load()
    same(built, again)
    assert not again.list_size.flags.writeable  # as read-only as a built region
    assert not list(cache_dir.glob("*.tmp"))


def test_a_damaged_entry_is_ignored_and_rebuilt(cache_dir):
    built = load()
    (entry,) = entries(cache_dir)
    for damage in (b"", b"not a zip file", entry.read_bytes()[:1000]):
        entry.write_bytes(damage)
        fresh()
        same(built, load())
        with np.load(entry, allow_pickle=False) as npz:  # rewritten whole
            assert "list_size" in npz.files


def test_an_entry_of_another_format_is_rebuilt(cache_dir):
    built = load()
    (entry,) = entries(cache_dir)
    np.savez(entry, __format__=np.array("something else"), list_size=np.arange(3))
    fresh()
    same(built, load())


def test_the_key_holds_the_area_and_the_register_content(cache_dir, tmp_path):
    load(AREA)
    load("00N")
    assert len(entries(cache_dir)) == 2
    copy = tmp_path / "register.csv.gz"
    copy.write_bytes(reg._register_bytes(None)[0])
    fresh()
    load(f"{AREA}@{copy}")  # same content, another name: the messages name the file, so a new entry
    n = len(entries(cache_dir))
    fresh()
    load(f"{AREA}@{copy}")
    assert len(entries(cache_dir)) == n  # the same again is read back, not written twice


def test_cache_off_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.ENV_CACHE_DIR, "off")
    assert cache.cache_dir() is None
    fresh()
    try:
        load()
    finally:
        fresh()
    assert cache.save("region", ("x",), {"a": np.arange(2)}) is None


def test_an_unwritable_cache_is_skipped(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(cache.ENV_CACHE_DIR, str(blocker / "cache"))
    assert cache.save("region", ("x",), {"a": np.arange(2)}) is None
    assert cache.load("region", ("x",)) is None


def test_default_folder_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv(cache.ENV_CACHE_DIR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    if sys.platform.startswith("linux"):
        assert cache.cache_dir() == tmp_path / "gpsim"


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(out.stdout.split())


HEAVY = {"mesa", "pandas", "scipy", "networkx", "matplotlib"}


def test_import_gpsim_loads_no_heavy_library():
    assert not HEAVY & _modules_after("import gpsim; gpsim.Params; gpsim.SPECS; gpsim.scenario('baseline')")


@pytest.mark.parametrize("command", [["--help"], ["params"], ["scenarios"]])
def test_listings_load_no_heavy_library(command):
    code = (
        "import contextlib, io\nfrom gpsim.cli import main\n"
        f"with contextlib.redirect_stdout(io.StringIO()):\n    main({command!r})"
    )
    assert not HEAVY & _modules_after(code)


def test_lazy_names_are_the_same_objects():
    import gpsim
    from gpsim.model import GPModel
    from gpsim.region import Region, from_params
    from gpsim.results import Results

    assert gpsim.GPModel is GPModel and gpsim.Results is Results
    assert gpsim.Region is Region and gpsim.region_for is from_params
    assert {"GPModel", "Region", "Results", "region_for"} <= set(dir(gpsim))
    assert gpsim.model.GPModel is GPModel  # submodules as attributes, as before
    with pytest.raises(AttributeError):
        gpsim.no_such_thing  # noqa: B018


def test_the_region_listing_is_kept_and_a_damaged_one_rebuilt(cache_dir):
    first = data.region_listing()
    names = [r["name"] for r in first["regions"]]
    assert names[0] == "england" and "west-yorkshire" in names
    assert sum(r["practices"] for r in first["ccgs"]) == first["regions"][0]["practices"]
    (entry,) = sorted(cache_dir.glob("listing-*.npz"))
    assert data.region_listing() == first
    entry.write_bytes(b"garbage")
    assert data.region_listing() == first


def test_listing_regions_from_the_cache_loads_no_heavy_library(cache_dir):
    data.region_listing()
    code = "import contextlib, io\nfrom gpsim.cli import main\nwith contextlib.redirect_stdout(io.StringIO()):\n"
    assert not HEAVY & _modules_after(code + "    main(['regions', '--ccgs'])")


def test_the_code_fingerprint_follows_the_numpy_and_scipy_versions(monkeypatch):
    import importlib.metadata

    import numpy
    import scipy

    modules = ("gpsim.region",)
    before = cache.code_fingerprint.__wrapped__(modules)
    # a process that has imported them and one that has not key their entries alike
    assert cache._version("numpy") == importlib.metadata.version("numpy")
    assert cache._version("scipy") == importlib.metadata.version("scipy")
    monkeypatch.setattr(scipy, "__version__", "0.0.1")
    assert cache.code_fingerprint.__wrapped__(modules) != before
    monkeypatch.undo()
    monkeypatch.setattr(numpy, "__version__", "0.0.1")
    assert cache.code_fingerprint.__wrapped__(modules) != before
