"""A schema checks itself when built, and its slices select the rows they say, without code."""

import re
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from churn_model.data.synthetic import synthetic_frame
from churn_model.domain.schema import SCHEMA
from churn_model.table import Column, Label, Schema, SchemaError, Slice

from schemas import OTHER


def _with(**changes: object) -> Schema:
    return replace(OTHER, **changes)  # type: ignore[arg-type] # each test passes a field of Schema


@pytest.mark.parametrize(
    ("slices", "message"),
    [
        ((Slice("vip", "spend", "gt", 5),), "slice 'vip': unknown column 'spend'"),
        ((Slice("vip", "visits", "over", 5),), "slice 'vip': unknown operator 'over'"),  # type: ignore[arg-type] # an operator a user could mistype
        ((Slice("vip", "visits", "lt", "five"),), "slice 'vip': lt needs a number"),
        ((Slice("vip", "region", "lt", 5),), "slice 'vip': lt compares numbers"),
        ((Slice("vip", "region", "eq", "mars"),), "slice 'vip': 'mars' is not a possible value"),
        ((Slice("vip", "visits", "is_missing"),), "slice 'vip': column 'visits' is not nullable"),
        ((Slice("vip", "visits", "each"),), "slice 'vip': each applies to a category or bool"),
        ((Slice("vip", "score", "between", (1, -1)),), "slice 'vip': between needs (low, high)"),
        ((Slice("vip", "visits", "each", 3),), "slice 'vip': each takes no value"),
        ((Slice("vip", "region", "in", "north"),), "slice 'vip': in needs a tuple of values"),
        ((Slice("vip", "region", "in", ()),), "slice 'vip': in needs a tuple of values"),
        (
            (Slice("vip", "region", "in", ("north", "mars")),),
            "slice 'vip': 'mars' is not a possible value",
        ),
        (
            (Slice("vip", "region", "in", ("north", "north")),),
            "slice 'vip': a value is listed twice",
        ),
        ((Slice("vip", "visits", "in", (1, "two")),), "slice 'vip': 'two' is not a possible value"),
        (
            (Slice("vip", "member", "in", (True, 1)),),
            "slice 'vip': 1 is not a possible value of 'member'",
        ),
        ((Slice("", "visits", "lt", 3),), "slice '': a slice needs a name"),
        (
            (Slice("region=north", "visits", "lt", 3), Slice("region", "region", "each")),
            "slice 'region': the name 'region=north' is used twice",
        ),
    ],
)
def test_a_bad_slice_is_an_error_naming_it(slices: tuple[Slice, ...], message: str) -> None:
    with pytest.raises(SchemaError, match="^invalid schema: " + re.escape(message)):
        _with(slices=slices)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"features": ()}, "at least one feature"),
        ({"features": (Column("x", "text", "?"),)}, "column 'x': unknown kind 'text'"),  # type: ignore[arg-type] # a kind a user could mistype
        ({"features": (Column("x", "int", "?", ge=5, le=1),)}, "lower bound 5 is above"),
        ({"features": (Column("x", "int", "?", gt=1, le=1.5),)}, "no whole number"),
        ({"features": (Column("x", "float", "?", ge=0, gt=0),)}, "one lower bound"),
        ({"features": (Column("x", "bool", "?", le=1),)}, "bounds apply to numbers"),
        ({"features": (Column("x", "category", "?"),)}, "needs its categories"),
        ({"features": (Column("x", "category", "?", categories=("a", "a")),)}, "listed twice"),
        ({"features": (Column("x", "int", "?", categories=("a",)),)}, "categories apply"),
        (
            {"features": (Column("x", "int", "?", ordered=True),)},
            "column 'x': ordered applies to category columns, not to a int column",
        ),
        (
            {"features": (Column("x", "category", "?", categories=("a",), ordered=True),)},
            "column 'x': an ordered category needs at least two levels",
        ),
        ({"features": (Column("x", "id", "?"),)}, "goes in Schema(id=...)"),
        ({"id": Column("x", "int", "?")}, "the id column has kind 'id'"),
        ({"id": Column("outcome", "id", "?")}, "distinct, non-empty name"),
        ({"label": Label("outcome", 1, "no", "?")}, "two different values, one type"),
        ({"label": Label("outcome", "yes", "yes", "?")}, "two different values, one type"),
        ({"positive_rate": (0.5, 0.2)}, "positive_rate: needs 0 <= low < high <= 1"),
        ({"min_rows": 1}, "min_rows"),
    ],
)
def test_an_inconsistent_schema_is_refused(changes: dict[str, Any], message: str) -> None:
    if "features" in changes:
        changes["slices"] = ()
    with pytest.raises(SchemaError, match=re.escape(message)):
        _with(**changes)


def test_the_project_schema_is_consistent() -> None:
    assert SCHEMA.feature_names()
    assert SCHEMA.column_names()[-1] == SCHEMA.label.name
    assert len(set(SCHEMA.slice_names())) == len(SCHEMA.slice_names())


def test_slices_select_the_rows_they_declare() -> None:
    frame = pd.DataFrame(
        {
            "amount": [np.nan, 10.0, 20.0, np.nan],
            "visits": [0, 4, 5, 45],
            "region": ["north", "south", "north", None],
            "member": [True, False, None, True],
            "score": [-0.5, 0.5, 0.7, -0.9],
        }
    )
    masks = {name: mask.tolist() for name, mask in OTHER.slice_masks(frame).items()}
    assert list(masks) == OTHER.slice_names()
    assert masks["no_amount"] == [True, False, False, True]
    assert masks["region=north"] == [True, False, True, False]
    assert masks["region=centre"] == [False] * 4
    assert masks["south_or_east"] == [False, True, False, False]
    assert masks["members"] == [True, False, False, True]
    assert masks["few_visits"] == [True, True, False, False]
    assert masks["many_visits"] == [False, False, False, True]
    assert masks["middling"] == [True, True, False, False]


def test_in_selects_any_of_its_values_on_any_kind_of_column() -> None:
    schema = _with(
        slices=(
            Slice("few", "visits", "in", (0, 5)),
            Slice("members", "member", "in", (True,)),
            Slice("edges", "region", "in", ("north", "west")),
        )
    )
    frame = pd.DataFrame(
        {
            "amount": [1.0, 2.0, 3.0, 4.0],
            "visits": [0, 4, 5, 45],
            "region": ["north", "west", None, "east"],
            "member": [True, None, False, True],
            "score": [0.0] * 4,
        }
    )
    masks = {name: mask.tolist() for name, mask in schema.slice_masks(frame).items()}
    assert masks == {
        "few": [True, False, True, False],
        "members": [True, False, False, True],
        "edges": [True, True, False, False],
    }


def test_each_over_a_boolean_names_its_slices_as_the_files_spell_them() -> None:
    schema = _with(slices=(Slice("member", "member", "each"),))
    frame = synthetic_frame(50, seed=1, schema=schema)
    masks = schema.slice_masks(frame)
    assert list(masks) == ["member=true", "member=false"] == schema.slice_names()
    assert masks["member=true"].sum() == (frame["member"] == True).sum()  # noqa: E712 -- elementwise


def test_the_label_encodes_its_positive_value_as_1() -> None:
    assert OTHER.label.kind == "str"
    assert OTHER.label.encode(pd.Series(["yes", "no", "yes"])).tolist() == [1, 0, 1]
    assert Label("y", True, False, "?").kind == "bool"
    assert Label("y", 1, 0, "?").kind == "int"
