"""The output schema (gpsim/outputs.py, docs/OUTPUTS.md): every column described, typed as declared, one
missing-value convention."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import gpsim
from gpsim import outputs
from gpsim.experiment import Experiment
from gpsim.sweep.engine import run_sweep

DOC = Path(__file__).resolve().parents[1] / "docs" / "OUTPUTS.md"


@pytest.fixture(scope="module")
def results():
    # a small funding-cliff run long enough for organisations to form, dissolve and practices to close and merge
    r = gpsim.run("funding-cliff", seed=5, n_practices=120, n_ccgs=3, years=6.0)
    assert len(r.orgs) and r.orgs["dissolved_step"].notna().any() and r.orgs["dissolved_step"].isna().any()
    assert set(r.closures["kind"]) == {"closure", "merger"}, "the fixture should hold both kinds of exit"
    return r


def test_outputs_md_is_generated_from_the_declaration():
    assert DOC.read_text() == outputs.markdown() + "\n", "regenerate: python -m gpsim.outputs > docs/OUTPUTS.md"


def test_every_column_and_key_a_run_writes_is_described(results):
    written = {
        "steps": set(results.steps.columns),
        "orgs": set(results.orgs.columns),
        "closures": set(results.closures.columns),
        "final": set(results.final),
        "ledger": set(results.ledger),
        "org money": set(results.org_money.columns),
    }
    for table, cols in written.items():
        missing = cols - outputs.names(table)
        assert not missing, f"{table}: describe {sorted(missing)} in gpsim/outputs.py, then regenerate docs/OUTPUTS.md"
    for table in written:
        for c in outputs.TABLES[table][1]:
            assert c.meaning and c.kind in outputs.ARROW_TYPES, (table, c.name)


KIND_CHECKS = {
    "int": pd.api.types.is_integer_dtype,
    "float": pd.api.types.is_float_dtype,
    "bool": pd.api.types.is_bool_dtype,
    "text": lambda d: pd.api.types.is_object_dtype(d) or pd.api.types.is_string_dtype(d),
    "date": pd.api.types.is_datetime64_any_dtype,
}


def test_columns_have_their_declared_types(results):
    model = gpsim.GPModel(results.params.replace(years=1.0), rng=1)
    tables = [("steps", results.steps), ("orgs", results.orgs), ("closures", results.closures)]
    tables += [("org money", results.org_money), ("practice table", model.practice_table())]
    for table, frame in tables:
        declared = outputs.by_name(table)
        for col in frame.columns:
            kind = declared[col].kind
            assert KIND_CHECKS[kind](frame[col].dtype), (table, col, kind, frame[col].dtype)
    final = outputs.by_name("final")
    for key, value in results.final.items():
        kind = final[key].kind
        ok = {
            "int": lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, bool),
            "float": lambda v: isinstance(v, (float, int, np.floating, np.integer)),
        }[kind](value)
        assert ok, (key, kind, value)


def test_one_missing_value_convention(results, tmp_path):
    o, c = results.orgs, results.closures
    for col in ("dissolved_step", "first_benefit_step", "last_external_step"):
        assert (o[col].dropna() >= 0).all(), f"{col}: no -1 sentinels"
        assert str(o[col].dtype) == "Int64"
    assert (o["cause"].isna() == o["dissolved_step"].isna()).all()
    assert (o["cause"].dropna() != "").all()
    assert (c["into"].isna() == (c["kind"] == "closure")).all()
    # only the declared columns may be missing, and only those
    for table, frame in (("orgs", o), ("closures", c)):
        declared = outputs.by_name(table)
        for col in frame.columns:
            if frame[col].isna().any():
                assert declared[col].missing, (table, col)
    # JSON has no NaN: missing values are null in final.json and NaN again when loaded
    results.save(tmp_path)
    text = (tmp_path / "final.json").read_text()
    meta = json.loads(text, parse_constant=lambda name: pytest.fail(f"final.json contains {name}"))
    nan_keys = [k for k, v in results.final.items() if isinstance(v, float) and math.isnan(v)]
    assert all(meta["final"][k] is None for k in nan_keys)
    back = gpsim.Results.load(tmp_path)
    assert all(math.isnan(back.final[k]) for k in nan_keys)
    assert back.orgs["first_benefit_step"].isna().sum() == o["first_benefit_step"].isna().sum()


def test_final_keys_shared_with_steps_are_the_last_month(results):
    last = results.steps.iloc[-1]
    shared = (set(results.final) & set(results.steps.columns)) - {"date"}
    assert {"n_orgs", "n_practices_open", "relationships_per_hospital_mean"} <= shared
    for key in shared:
        assert results.final[key] == last[key], key
    for step_name, final_name in outputs.FINAL_RENAMED.items():
        assert results.final[final_name] == last[step_name]


def test_every_column_of_every_sweep_table_is_described_and_one_schema_per_table(tmp_path):
    exp = Experiment(
        name="schema",
        scenario="funding-cliff",
        fixed=dict(n_practices=60, n_ccgs=2),
        years=3.0,
        vary={"pump_priming_months": [12, 24], "subscription_per_patient": [0.0, 3.0]},
        replicates=2,
        steps_every=6,
    )
    run_sweep(exp, tmp_path / "s", batch=3)
    varied = set(exp.varied)
    for table in ("runs", "final", "steps", "orgs", "closures"):
        parts = sorted((tmp_path / "s" / table).glob("part-*.parquet"))
        assert parts, table
        schemas = {pq.read_schema(p).remove_metadata() for p in parts}
        assert len(schemas) == 1, f"{table}: parts differ in schema"
        cols = set(next(iter(schemas)).names)
        undescribed = cols - outputs.names(f"sweep {table}") - varied
        assert not undescribed, f"sweep {table}: describe {sorted(undescribed)} in gpsim/outputs.py"
        if table in ("runs", "orgs", "closures"):
            assert varied <= cols, table
    design = pq.read_schema(tmp_path / "s" / "design.parquet")
    assert str(design.field("pump_priming_months").type) == "int64"
    assert str(design.field("subscription_per_patient").type) == "double"
