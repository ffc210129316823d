"""Synthetic tables: valid for any schema, deterministic, complete, and with a learnable label."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from churn_model.data.synthetic import synthetic_frame
from churn_model.data.validation import validate
from churn_model.domain.schema import SCHEMA
from churn_model.table import Column, Label, Schema

from schemas import OTHER

SCHEMAS = pytest.mark.parametrize("schema", [SCHEMA, OTHER], ids=["project", "other"])


@SCHEMAS
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_drawn_table_is_valid(schema: Schema, seed: int) -> None:
    frame = synthetic_frame(schema.min_rows + 50, seed, schema=schema)
    assert list(frame.columns) == schema.column_names()
    valid = validate(frame, "synthetic", schema=schema)
    assert len(valid) == len(frame)


@SCHEMAS
def test_scoring_rows_have_no_label_and_validate(schema: Schema) -> None:
    frame = synthetic_frame(7, 3, schema=schema, label=False)
    assert schema.label.name not in frame.columns
    assert len(validate(frame, "probe", require_label=False, schema=schema)) == 7


@SCHEMAS
def test_the_same_seed_gives_the_same_table(schema: Schema) -> None:
    pd.testing.assert_frame_equal(
        synthetic_frame(300, 5, schema=schema), synthetic_frame(300, 5, schema=schema)
    )
    assert not synthetic_frame(300, 5, schema=schema).equals(synthetic_frame(300, 6, schema=schema))


@SCHEMAS
def test_every_rule_of_the_schema_is_exercised(schema: Schema) -> None:
    frame = synthetic_frame(400, 9, schema=schema)
    for column in schema.features:
        values = frame[column.name]
        assert bool(values.isna().any()) is column.nullable, column.name
        assert values.notna().any(), column.name
        present = values.dropna()
        if column.kind == "category":
            assert set(present) == set(column.categories), column.name
        if column.kind == "bool":
            assert set(present) == {True, False}, column.name
        if column.kind in {"int", "float"}:
            numbers = present.astype(float)
            assert column.gt is None or (numbers > column.gt).all(), column.name
            assert column.ge is None or (numbers >= column.ge).all(), column.name
            assert column.le is None or (numbers <= column.le).all(), column.name
        if column.kind == "int":
            assert (present.astype(float) % 1 == 0).all(), column.name
    if schema.id is not None:
        assert frame[schema.id.name].is_unique
    labels = frame[schema.label.name]
    assert set(labels) == {schema.label.positive, schema.label.negative}
    low, high = schema.positive_rate
    assert low <= (labels == schema.label.positive).mean() <= high


@SCHEMAS
def test_every_slice_holds_rows(schema: Schema) -> None:
    masks = schema.slice_masks(synthetic_frame(2_000, 4, schema=schema))
    assert list(masks) == schema.slice_names()
    assert all(mask.sum() > 0 for mask in masks.values()), {k: m.sum() for k, m in masks.items()}


def test_the_label_is_learnable() -> None:
    frame = synthetic_frame(3_000, 8, schema=OTHER)
    features = pd.get_dummies(
        frame[OTHER.feature_names()].astype({"member": float}), columns=["region"], dummy_na=True
    )
    features = features.assign(
        **{f"{name}_missing": features[name].isna() for name in ("amount", "member")}
    ).fillna(0.0)
    target = OTHER.label.encode(frame[OTHER.label.name])
    features = (features - features.mean()) / features.std().replace(0.0, 1.0)
    model = LogisticRegression().fit(features[:2_000], target[:2_000])
    auc = roc_auc_score(target[2_000:], model.predict_proba(features[2_000:])[:, 1])
    assert 0.75 < auc < 0.99
    assert np.unique(target).tolist() == [0, 1]


def test_features_that_never_vary_still_give_labels_at_the_schema_rate() -> None:
    # Fifteen one-value categories: the label's log-odds are a constant up to rounding, which
    # must not be blown up into overflowing ones (a single class, or a warning).
    constant = Schema(
        features=tuple(
            Column(f"c{index}", "category", "Only one value.", categories=("only",))
            for index in range(15)
        ),
        label=Label("y", 1, 0, "A label nothing predicts."),
        positive_rate=(0.02, 0.18),
    )
    labels = synthetic_frame(300, 0, schema=constant)["y"]
    assert 0.02 <= labels.mean() <= 0.18


@given(
    rows=st.integers(1, 400),
    seed=st.integers(0, 2**16),
    low=st.floats(0.0, 0.95),
    width=st.floats(0.0, 0.3),
)
@settings(max_examples=60, deadline=None, database=None)
def test_the_share_of_positives_is_inside_the_schemas_range(
    rows: int, seed: int, low: float, width: float
) -> None:
    # A narrow range (a real table's observed rate with a small margin), on few rows: a draw's
    # share strays from the middle, and once left the range that validation then refused.
    high = min(1.0, low + width + 0.01)
    schema = replace(OTHER, positive_rate=(low, high))
    labels = synthetic_frame(rows, seed, schema=schema)[schema.label.name]
    share = float((labels == schema.label.positive).mean())
    if any(low <= count / rows <= high for count in range(rows + 1)):
        assert low <= share <= high
    else:  # no count of these rows is inside: the nearest to the middle
        assert abs(share - (low + high) / 2) <= 1 / rows
