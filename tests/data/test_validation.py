"""Validation derives its rules from the schema, types the data, reports every problem at once.

The detailed messages are checked against a schema unlike the project's (``schemas.OTHER``: a text
label, no id, nullable booleans), so they hold for whatever schema a project declares.
"""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn_model.data import validation
from churn_model.data.problems import names_text
from churn_model.data.synthetic import synthetic_frame
from churn_model.data.validation import DataValidationError, validate, validate_file
from churn_model.domain.schema import SCHEMA
from churn_model.errors import UserError
from churn_model.table import Column, Label, LabelValue, Schema

from schemas import OTHER


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    """A small valid table of the other schema (just above its minimum row count)."""
    return synthetic_frame(OTHER.min_rows + 50, seed=3, schema=OTHER)


def _problems(frame: pd.DataFrame, schema: Schema = OTHER, **options: bool) -> str:
    with pytest.raises(DataValidationError) as caught:
        validate(frame, "bad.csv", schema=schema, **options)
    assert isinstance(caught.value, UserError)
    return str(caught.value)


@pytest.mark.parametrize("schema", [SCHEMA, OTHER], ids=["project", "other"])
def test_the_rules_are_derived_from_the_schema(schema: Schema) -> None:
    frame = synthetic_frame(schema.min_rows, seed=1, schema=schema)
    without_label = frame.drop(columns=[schema.label.name])
    assert list(validate(without_label, "x", require_label=False, schema=schema).columns) == [
        name for name in schema.column_names() if name != schema.label.name
    ]
    problems = _problems(without_label, schema)
    assert f"{schema.label.name}: required: the column is missing" in problems
    for required in [c for c in schema.features if not c.nullable][:1]:  # a schema may have none
        blanked = frame.assign(**{required.name: None})
        assert f"{required.name}: not_nullable: {len(frame):,} rows" in _problems(blanked, schema)


def test_a_valid_table_comes_back_typed_and_in_schema_order(sample: pd.DataFrame) -> None:
    shuffled = sample[list(reversed(sample.columns))].assign(note="extra column")
    shuffled.index = shuffled.index + 1_000
    valid = validate(shuffled, "sample", schema=OTHER)
    assert list(valid.columns) == OTHER.column_names()
    assert list(valid.index[:3]) == [0, 1, 2]
    assert valid["visits"].dtype == "int64"
    assert valid["member"].dtype == "float64"  # a nullable boolean: 1.0, 0.0 or NaN
    assert set(valid["member"].dropna()) == {0.0, 1.0}
    assert set(valid["outcome"]) == {"yes", "no"}
    assert valid["amount"].isna().any()
    pd.testing.assert_frame_equal(valid, validate(sample, "sample", schema=OTHER))


def test_the_project_schema_types_its_columns_as_declared() -> None:
    valid = validate(synthetic_frame(SCHEMA.min_rows, 1), "sample")
    for column in SCHEMA.features:
        expected = {"int": "int64", "float": "float64", "bool": "bool", "category": "str"}
        if column.nullable and column.kind in {"int", "bool"}:
            expected[column.kind] = "float64"
        assert str(valid[column.name].dtype) == expected[column.kind], column.name


def test_spelled_booleans_and_whole_floats_are_accepted(sample: pd.DataFrame) -> None:
    member = sample["member"]
    spelled = sample.astype({"visits": "float64", "member": "object"})
    spellings = np.array(["TRUE", "1", "1.0", "true"], dtype=object)
    falses = np.array(["false", "0", "0.0", "False"], dtype=object)
    index = np.arange(len(sample)) % 4
    written = np.where(member == True, spellings[index], falses[index])  # noqa: E712 -- elementwise
    written[member.isna().to_numpy()] = None
    spelled["member"] = written
    valid = validate(spelled, "spelled", schema=OTHER)
    assert valid["visits"].tolist() == sample["visits"].tolist()
    expected = sample["member"].map({True: 1.0, False: 0.0})
    assert valid["member"].fillna(-1).tolist() == expected.fillna(-1).tolist()


def test_a_blank_number_is_a_missing_value(sample: pd.DataFrame) -> None:
    text = sample.astype({"amount": "object", "visits": "object"})
    text.loc[[0, 1], "amount"] = [" ", ""]
    assert validate(text, "blank", schema=OTHER)["amount"][:2].isna().all()
    text.loc[0, "visits"] = " "
    assert "visits: not_nullable: 1 row, e.g. row 1" in _problems(text)


def test_scoring_input_needs_no_label_nor_id_nor_minimum_row_count() -> None:
    frame = synthetic_frame(SCHEMA.min_rows, 2)
    optional = [SCHEMA.label.name] + ([SCHEMA.id.name] if SCHEMA.id is not None else [])
    one = frame.drop(columns=optional).head(1)
    valid = validate(one, "request", require_label=False)
    assert list(valid.columns) == SCHEMA.feature_names()
    assert "min_rows" in _problems(frame.head(1), SCHEMA)


LABEL_KINDS: dict[str, tuple[LabelValue, LabelValue]] = {
    "int": (1, 0),
    "bool": (True, False),
    "text": ("Yes", "No"),
}
"""A label of each kind a schema may declare (positive, negative)."""


def _labelled(kind: str) -> Schema:
    """The project's schema with a label of ``kind`` under the same name."""
    positive, negative = LABEL_KINDS[kind]
    label = Label(SCHEMA.label.name, positive, negative, "The label, of another kind.")
    return replace(SCHEMA, label=label)


def _label_blank_in(frame: pd.DataFrame, rows: list[int], schema: Schema) -> pd.DataFrame:
    """``frame`` with the label blank in ``rows``: rows whose outcome is not known yet."""
    labels = frame[schema.label.name].astype(object)
    labels[rows] = None
    return frame.assign(**{schema.label.name: labels})


@pytest.mark.parametrize("kind", LABEL_KINDS)
def test_a_scoring_table_may_leave_its_label_blank(kind: str, tmp_path: Path) -> None:
    """A blank label stays blank; a label value present is still one of the label's two."""
    schema, blank = _labelled(kind), [0, 3, 10, 11]
    name = schema.label.name
    drawn = synthetic_frame(40, seed=5, schema=schema)
    frame = _label_blank_in(drawn, blank, schema)
    path = tmp_path / "to-score.csv"
    frame.to_csv(path, index=False)
    for valid in (
        validate(frame, "to-score", require_label=False, schema=schema),
        validate_file(path, require_label=False, schema=schema).frame,
    ):
        assert valid[name].isna().tolist() == frame[name].isna().tolist()
        known = valid[name].drop(index=blank)
        assert (known == drawn[name].drop(index=blank)).all()
    wrongs: dict[str, int | str] = {"int": 7, "bool": "maybe", "text": "Maybe"}
    wrong = wrongs[kind]
    frame.loc[5, name] = wrong
    problems = _problems(frame, schema, require_label=False)
    assert problems.startswith("bad.csv: 1 problem found")
    assert f"\n  - {name}: " in problems
    assert f"row 6 ({wrong!r})" in problems


def test_a_training_table_with_a_blank_label_says_what_to_do() -> None:
    schema = SCHEMA
    frame = _label_blank_in(synthetic_frame(schema.min_rows + 50, seed=6), [3, 9], schema)
    assert (
        f"\n  - {schema.label.name}: not_nullable: 2 rows, e.g. row 4, row 10; rows without a "
        "label cannot be trained on: remove them from the training file (`just predict` scores "
        "them)\n"
    ) in _problems(frame, schema) + "\n"


def test_every_problem_is_reported_in_one_run(sample: pd.DataFrame) -> None:
    bad = sample.drop(columns=["region"]).astype(
        {"amount": "object", "member": "object", "outcome": "object"}
    )
    bad.loc[3, "visits"] = -1
    bad.loc[4, "amount"] = "abc"
    bad.loc[5, "member"] = "yes"
    bad.loc[9, "score"] = np.inf
    bad.loc[10, "outcome"] = "maybe"
    message = _problems(bad)
    assert message.startswith("bad.csv: 7 problems found")
    expected = [
        "region: required: the column is missing",
        "amount: type float: 1 value cannot be read as a number, e.g. row 5 ('abc')",
        "visits: greater_than_or_equal_to(0): 1 row, e.g. row 4 (-1)",
        "member: boolean: 1 row, e.g. row 6 ('yes')",
        "score: finite: 1 row, e.g. row 10 (inf)",
        "score: less_than_or_equal_to(1): 1 row, e.g. row 10 (inf)",
        "outcome: isin(['no', 'yes']): 1 row, e.g. row 11 ('maybe')",
    ]
    for line in expected:
        assert f"\n  - {line}" in message


def test_long_lists_of_offending_rows_are_cut_short(sample: pd.DataFrame) -> None:
    message = _problems(sample.assign(visits=51))
    assert f"visits: less_than_or_equal_to(50): {len(sample)} rows, e.g. row 1 (51)" in message
    assert "row 5 (51), ..." in message


def test_dataset_rules_say_what_they_found(sample: pd.DataFrame) -> None:
    message = _problems(sample.assign(outcome="yes"))
    assert "outcome: both_classes: label values present: ['yes']" in message
    assert "outcome: positive_rate(0.1-0.9): 1.000 of rows are labelled 'yes'" in message
    assert "outcome: min_rows(100): 20 rows" in _problems(sample.head(20))


UNDECLARED = ["undeclared first", "undeclared_middle", "undeclared last"]
"""Columns a file carries beyond its schema's: where an extract puts them, one with spaces."""


@pytest.mark.parametrize("schema", [SCHEMA, OTHER], ids=["project", "other"])
def test_a_file_names_the_columns_its_schema_does_not_declare(
    schema: Schema, tmp_path: Path
) -> None:
    assert not set(UNDECLARED) & set(schema.column_names())
    frame = synthetic_frame(schema.min_rows, seed=2, schema=schema)
    first, middle, last = UNDECLARED
    columns = [first, *frame.columns[:2], middle, *frame.columns[2:], last]
    path = tmp_path / "extract.parquet"  # keeps the columns in this order
    frame.assign(**dict.fromkeys(UNDECLARED, "x"))[columns].to_parquet(path)
    valid = validate_file(path, schema=schema)
    assert valid.ignored == tuple(UNDECLARED)
    assert list(valid.frame.columns) == schema.column_names()
    unlabelled = tmp_path / "to_score.parquet"
    pd.read_parquet(path).drop(columns=[schema.label.name]).to_parquet(unlabelled)
    scoring = validate_file(unlabelled, require_label=False, schema=schema)
    assert scoring.ignored == tuple(UNDECLARED)  # the label is declared, present or not


@pytest.mark.parametrize("schema", [SCHEMA, OTHER], ids=["project", "other"])
def test_a_missing_column_is_reported_with_the_columns_the_schema_does_not_declare(
    schema: Schema,
) -> None:
    """A column the schema spells otherwise than the file: both names are in the report."""
    frame = synthetic_frame(schema.min_rows, seed=2, schema=schema)
    name = schema.features[0].name
    misspelt = frame.rename(columns={name: f"{name}_"})
    message = _problems(misspelt, schema)
    assert f"\n  - {name}: required: the column is missing" in message
    assert message.endswith(f"\ncolumns not in the schema: {names_text([f'{name}_'])}")
    # Only beside a missing column: with every column there, an extra one is no clue.
    label = schema.label.name
    one_class = frame.assign(**{label: frame[label].iloc[0], UNDECLARED[0]: "x"})
    assert "not in the schema" not in _problems(one_class, schema)


def test_a_long_list_of_names_shows_a_few_and_a_count() -> None:
    names = [f"c{number}" for number in range(40)]
    assert names_text(names) == "c0, c1, c2, c3, c4 and 35 more"
    assert names_text(names[:6]) == "c0, c1, c2, c3, c4, c5"
    assert names_text(["", " padded", "a, b", "a name"]) == "'', ' padded', 'a, b', a name"


def test_an_unrelated_table_is_named_as_such() -> None:
    message = _problems(pd.DataFrame({"a": [1], "b": [2]}))
    assert "not a table of this schema: none of the expected columns" in message
    assert "its header row holds 'a', 'b'" in message


def test_an_id_is_checked_unique_and_kept_as_text() -> None:
    with_id = replace(OTHER, id=Column("order", "id", "The order."))
    frame = synthetic_frame(OTHER.min_rows, seed=4, schema=with_id)
    frame.loc[[7, 8], "order"] = "00123"
    assert "order: unique: 2 rows, e.g. row 8 ('00123'), row 9 ('00123')" in _problems(
        frame, with_id
    )
    frame.loc[8, "order"] = "00124"
    assert validate(frame, "ids", schema=with_id)["order"][7] == "00123"


def test_a_table_whose_first_rows_are_all_empty_is_not_read_to_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One sentence, at once, after the first chunks: the rest of the table is not validated."""
    monkeypatch.setattr(validation, "CHUNK_ROWS", 40)
    monkeypatch.setattr(validation, "HOPELESS_ROWS", 100)
    path = tmp_path / "commas.csv"
    columns = OTHER.column_names()
    empty = "," * (len(columns) - 1) + "\n"
    path.write_text(",".join(columns) + "\n" + empty * 2_000, encoding="utf-8")
    with pytest.raises(DataValidationError) as caught:
        validate_file(path, schema=OTHER)
    assert str(caught.value) == (
        f"{path}: the first 120 rows are empty (no value in any of the schema's columns), so the "
        "rest of the file was not read."
    )


def test_problems_are_kept_as_counts_and_a_few_rows_whatever_their_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sample: pd.DataFrame
) -> None:
    monkeypatch.setattr(validation, "CHUNK_ROWS", 25)
    column = next(c for c in OTHER.features if c.kind == "int")
    bad = sample.astype(object).assign(**{column.name: "x"})
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(DataValidationError) as caught:
        validate_file(path, schema=OTHER)
    rows = ", ".join(f"row {row} ('x')" for row in range(1, 6))
    found = f"{len(sample):,} values cannot be read as a number, e.g. {rows}, ..."
    assert f"{column.name}: type int: {found}" in str(caught.value)
