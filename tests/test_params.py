import math

import numpy as np
import pytest

from gpsim.errors import ParameterError
from gpsim.params import GROUPS, SPECS, Params, parse_assignment, spec


def test_every_parameter_is_fully_declared():
    for s in SPECS:
        assert s.meaning and s.source and s.group in GROUPS, s.name
        assert s.unit or s.kind is str or s.name == "region_seed", s.name
        if s.kind in (int, float):
            assert s.low is not None and s.high is not None and s.low <= s.default <= s.high, s.name
        assert ("facts" in s.source) or ("assumption" in s.source), s.name


def test_defaults_build_and_round_trip():
    p = Params()
    assert Params.from_mapping(p.to_dict()) == p
    assert p.changed() == {}
    assert p.n_months == 120


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("years", 100, "out of range; allowed [0.25, 40] years"),
        ("ccg_supportiveness", -0.1, "allowed [0, 1]"),
        ("n_practices", 1.5, "whole number"),
        ("n_practices", "many", "must be a number"),
        ("policy_timeline", "brexit", "one of none, england-2013"),
        ("years", math.nan, "finite"),
        ("region", "", "non-empty"),
    ],
)
def test_bad_values_are_refused_with_name_value_and_range(name, value, fragment):
    with pytest.raises(ParameterError) as err:
        Params(**{name: value})
    message = str(err.value)
    assert name in message and fragment in message and "\n" not in message


def test_unknown_name_suggests_the_closest():
    with pytest.raises(ParameterError, match="did you mean pump_priming_months"):
        Params.from_mapping({"pump_priming_month": 3})


def test_parse_assignment_parses_by_declared_type():
    assert parse_assignment("years=5") == ("years", 5.0)
    assert parse_assignment("n-practices=60") == ("n_practices", 60)
    with pytest.raises(ParameterError, match="not a valid int"):
        parse_assignment("n_practices=six")
    with pytest.raises(ParameterError, match="expected name=value"):
        parse_assignment("years")


def test_numpy_scalars_are_accepted_and_converted():
    p = Params(years=np.float64(2.0), n_practices=np.int64(50))
    assert type(p.years) is float and type(p.n_practices) is int


def test_params_are_immutable_and_replace_validates():
    p = Params()
    with pytest.raises(AttributeError):
        p.years = 3  # type: ignore[misc]
    with pytest.raises(ParameterError):
        p.replace(years=0)
    assert spec("years").range_text == "[0.25, 40]"


def test_parameter_reference_doc_is_generated_from_the_declaration():
    from pathlib import Path

    from gpsim.params import markdown_table

    doc = Path(__file__).parents[1] / "docs" / "PARAMETERS.md"
    assert doc.read_text() == markdown_table() + "\n", "regenerate: gpsim params --markdown > docs/PARAMETERS.md"
