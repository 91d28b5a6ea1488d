import json
import os

import numpy as np
import pandas as pd
import pytest

import gpsim
from gpsim.errors import GpsimError
from gpsim.results import Results


def test_save_and_load_round_trip(tmp_path, small_params):
    r = gpsim.run(small_params, seed=3)
    for fmt in ("parquet", "csv"):
        out = tmp_path / fmt
        r.save(out, fmt=fmt)
        back = Results.load(out)
        assert back.params == r.params and back.seed == 3
        pd.testing.assert_series_equal(back.steps["n_orgs"], r.steps["n_orgs"])
        assert back.final["orgs_founded"] == r.final["orgs_founded"]
        meta = json.loads((out / "final.json").read_text())
        assert meta["params"]["years"] == small_params.years
        assert meta["versions"]["numpy"] == np.__version__ and meta["versions"]["python"].count(".") == 2
        assert not [p for p in os.listdir(out) if p.startswith(".gpsim-")]  # no temporary leftovers


def test_save_to_unwritable_place_is_a_clear_error(tmp_path, small_params):
    r = gpsim.run(small_params.replace(years=0.5), seed=0)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(GpsimError, match="cannot write to output folder"):
        r.save(blocker / "out")


def test_summary_table_has_the_milestone_rows(small_params):
    r = gpsim.run(small_params, seed=0)
    assert list(r.summary_table().index) == ["year 0", "year 2", "year 4"]
    assert "relationships / hospital" in r.format_summary()
