"""Validation derives its rules from the schema, types the data, reports every problem at once."""

import numpy as np
import pandas as pd
import pytest

from churn_model.domain.example import generate_sample
from churn_model.domain.schema import COLUMNS, MIN_ROWS, TARGET
from churn_model.errors import UserError
from churn_model.validation import DataValidationError, build_schema, validate


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    """A small valid table (just above the minimum row count)."""
    return generate_sample(MIN_ROWS + 100)


def test_the_pandera_schema_is_derived_from_the_schema_module() -> None:
    schema = build_schema()
    assert list(schema.columns) == [c.name for c in COLUMNS]
    for column in COLUMNS:
        assert schema.columns[column.name].nullable is column.nullable
    assert build_schema(require_label=False).columns[TARGET.name].required is False


def test_a_valid_table_comes_back_typed_and_in_schema_order(sample: pd.DataFrame) -> None:
    shuffled = sample[list(reversed(sample.columns))].assign(note="extra column")
    shuffled.index = shuffled.index + 1_000
    valid = validate(shuffled, "sample")
    assert list(valid.columns) == [c.name for c in COLUMNS]
    assert list(valid.index[:3]) == [0, 1, 2]
    assert valid["tenure_months"].dtype == "int64"
    assert valid[TARGET.name].dtype == "int64"
    assert valid["has_support_calls"].dtype == "bool"
    assert valid["days_since_last_purchase"].isna().any()
    pd.testing.assert_frame_equal(valid, validate(sample, "sample"))


def test_integers_stored_as_floats_and_spelled_booleans_are_accepted(sample: pd.DataFrame) -> None:
    spelled = sample.astype({"tenure_months": "float64", "has_support_calls": "object"})
    spelled["has_support_calls"] = np.where(sample["has_support_calls"], "TRUE", "0")
    valid = validate(spelled, "spelled")
    assert valid["tenure_months"].tolist() == sample["tenure_months"].tolist()
    assert valid["has_support_calls"].tolist() == sample["has_support_calls"].tolist()


def test_scoring_input_needs_no_label_and_no_minimum_row_count(sample: pd.DataFrame) -> None:
    one = sample.drop(columns=[TARGET.name]).head(1)
    valid = validate(one, "request", require_label=False)
    assert len(valid) == 1
    assert TARGET.name not in valid.columns
    with pytest.raises(DataValidationError, match="min_rows"):
        validate(sample.head(1), "training")


def test_every_problem_is_reported_in_one_run(sample: pd.DataFrame) -> None:
    bad = sample.drop(columns=["payment_method"]).astype(
        {"monthly_charges": "object", "has_support_calls": "object"}
    )
    bad.loc[3, "tenure_months"] = -1
    bad.loc[4, "monthly_charges"] = "abc"
    bad.loc[5, "has_support_calls"] = "yes"
    bad.loc[6, "contract"] = "weekly"
    bad.loc[7, "customer_id"] = "C125-0000008"
    bad.loc[9, "days_since_last_purchase"] = np.inf
    bad.loc[10, TARGET.name] = 2
    with pytest.raises(DataValidationError) as caught:
        validate(bad, "bad.csv")
    message = str(caught.value)
    assert isinstance(caught.value, UserError)
    assert message.startswith("bad.csv: 9 problems found")
    expected = [
        "payment_method: required: the column is missing",
        "customer_id: unique: 2 rows, e.g. row 8 ('C125-0000008'), row 9 ('C125-0000008')",
        "tenure_months: greater_than_or_equal_to(0): 1 row, e.g. row 4 (-1)",
        "monthly_charges: type float: 1 value cannot be read as a number, e.g. row 5 ('abc')",
        "has_support_calls: boolean: 1 row, e.g. row 6 ('yes')",
        "contract: isin(['month-to-month', 'one-year', 'two-year']): 1 row, e.g. row 7 ('weekly')",
        "days_since_last_purchase: finite: 1 row, e.g. row 10 (inf)",
        "days_since_last_purchase: less_than_or_equal_to(10000): 1 row, e.g. row 10 (inf)",
        "churn: isin([0, 1]): 1 row, e.g. row 11 (2)",
    ]
    for line in expected:
        assert f"\n  - {line}" in message


def test_long_lists_of_offending_rows_are_cut_short(sample: pd.DataFrame) -> None:
    bad = sample.assign(num_products=0)
    with pytest.raises(DataValidationError) as caught:
        validate(bad, "bad.csv")
    assert f"num_products: greater_than_or_equal_to(1): {len(sample)} rows, e.g. row 1 (0)" in str(
        caught.value
    )
    assert "row 5 (0), ..." in str(caught.value)


def test_dataset_rules_say_what_they_found(sample: pd.DataFrame) -> None:
    with pytest.raises(DataValidationError) as caught:
        validate(sample.assign(churn=1), "ones.csv")
    message = str(caught.value)
    assert "churn: both_classes: label values present: [1]" in message
    assert "churn: positive_rate(0.05-0.6): 1.000 of rows are labelled 1" in message
