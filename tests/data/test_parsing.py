"""One strict rule for a field's text, the same in a file, in a frame and over HTTP.

Each rule of :mod:`churn_model.data.parsing` and of the readers has a case here: a
number is written as JSON writes one (``1_000``, Arabic-Indic digits, ``+5`` are
refused); every kind of problem in a column is reported (an unreadable value does not
hide an out-of-range one); header names are kept exactly (a blank one is refused by its
position); a column named twice is refused by every reader. The tables are drawn from
the schemas, never from the example's columns.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

# >>> serving
from pydantic import ValidationError

# <<< serving
from typer.testing import CliRunner

from churn_model.cli import app
from churn_model.data.parsing import is_number
from churn_model.data.synthetic import synthetic_frame
from churn_model.data.tables import write_csv
from churn_model.data.validation import DataValidationError, validate
from churn_model.domain.schema import SCHEMA

# >>> serving
from churn_model.serving.contract import record_model

# <<< serving
from churn_model.table import Schema

from schemas import OTHER

runner = CliRunner()

REFUSED = ["1_000", "\u0661\u0662", "+5", ".5", "5.", "1,000", "007", "0x1F", "1e", "--1", "inf"]
"""Texts a lenient parser (Python's ``float``, pandas) reads as numbers, and the rule does not."""

ACCEPTED = ["0", "-0", "1", "-1", "-0.5", "0.25", "1e-1", "2.5E-1", "5e-1", "1.0"]
"""Numbers as JSON writes them (all within ``[-1, 1]``, the bounds of OTHER's ``score``)."""


def _number_column(schema: Schema, kind: str) -> str:
    """A column of ``kind`` that takes every number in ``[-1, 1]``."""
    return next(
        column.name
        for column in schema.features
        if column.kind == kind
        and column.ge is not None
        and column.ge <= -1
        and column.le is not None
        and column.le >= 1
    )


@pytest.fixture(scope="module")
def text() -> pd.DataFrame:
    """A valid table of OTHER as a file holds it: every field its text, missing values empty."""
    frame = synthetic_frame(OTHER.min_rows + 20, seed=5, schema=OTHER)
    return frame.astype(object).where(frame.notna(), "").astype(str)


def _problems(frame: pd.DataFrame) -> str:
    with pytest.raises(DataValidationError) as caught:
        validate(frame, "bad.csv", schema=OTHER)
    return str(caught.value)


@pytest.mark.parametrize("written", REFUSED)
def test_a_number_is_written_as_json_writes_one(text: pd.DataFrame, written: str) -> None:
    name = _number_column(OTHER, "float")
    frame = text.copy()
    frame.loc[3, name] = written
    assert (
        f"{name}: type float: 1 value cannot be read as a number, e.g. row 4 ({written!r})"
        in _problems(frame)
    )


def test_numbers_as_json_writes_them_are_read(text: pd.DataFrame) -> None:
    name = _number_column(OTHER, "float")
    frame = text.copy()
    frame.loc[: len(ACCEPTED) - 1, name] = ACCEPTED
    valid = validate(frame, "good.csv", schema=OTHER)
    assert valid[name].iloc[: len(ACCEPTED)].tolist() == [float(value) for value in ACCEPTED]


def test_an_unreadable_value_does_not_hide_an_out_of_range_one(text: pd.DataFrame) -> None:
    column = next(c for c in OTHER.features if c.kind == "int" and c.le is not None)
    assert column.le is not None
    frame = text.copy()
    frame.loc[1, column.name] = "many"
    frame.loc[2, column.name] = str(int(column.le) + 1)
    problems = _problems(frame)
    assert f"{column.name}: type int: 1 value cannot be read as a number, e.g. row 2" in problems
    assert (
        f"{column.name}: less_than_or_equal_to({column.le}): 1 row, e.g. row 3 "
        f"({int(column.le) + 1})" in problems
    )


@pytest.mark.parametrize("written", [*REFUSED, *ACCEPTED])
def test_a_text_is_a_number_exactly_when_json_reads_one(written: str) -> None:
    try:
        value = json.loads(written)
    except ValueError:
        value = None
    is_json_number = isinstance(value, int | float) and not isinstance(value, bool)
    assert is_number(written) is is_json_number


# >>> serving
@pytest.mark.parametrize("written", [*REFUSED, *ACCEPTED])
def test_a_text_is_a_number_in_a_file_exactly_when_it_is_one_in_a_request(
    text: pd.DataFrame, written: str
) -> None:
    """The HTTP body is JSON: the same grammar decides, on both sides, what a number is."""
    name = _number_column(OTHER, "float")
    row = validate(text, "good.csv", schema=OTHER).iloc[0]
    record = {c.name: None if pd.isna(row[c.name]) else row[c.name] for c in OTHER.features}
    record[name] = "PLACEHOLDER"
    body = json.dumps(record, default=lambda value: value.item()).replace('"PLACEHOLDER"', written)
    try:
        record_model(OTHER).model_validate_json(body)
    except ValidationError:
        accepted = False
    else:
        accepted = True
    frame = text.copy()
    frame.loc[0, name] = written
    try:
        validate(frame, "one.csv", schema=OTHER)
    except DataValidationError:
        read = False
    else:
        read = True
    assert accepted is read is is_number(written)


# <<< serving
def test_a_blank_header_name_is_refused_by_its_position(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    frame = synthetic_frame(SCHEMA.min_rows, seed=2)
    write_csv(frame.assign(**{"": "x"}), path)
    position = len(frame.columns) + 1
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert f"the header's column {position} has no name" in result.output
    assert "Unnamed" not in result.output


def _twice(path: Path) -> str:
    """Write a Parquet table of the schema with its first feature column twice; that name."""
    frame = synthetic_frame(SCHEMA.min_rows, seed=4)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    name = SCHEMA.feature_names()[0]
    pq.write_table(table.append_column(name, table.column(name)), path)
    return name


def test_a_column_named_twice_is_refused_by_validate_and_predict(tmp_path: Path) -> None:
    source = tmp_path / "twice.parquet"
    name = _twice(source)
    model = tmp_path / "no-model"  # the input is refused before a model is looked for
    output = tmp_path / "scored.csv"
    for command in (
        ["validate", str(source)],
        ["validate", "--scoring", str(source)],
        ["predict", str(source), str(output), "--model-dir", str(model)],
    ):
        result = runner.invoke(app, command)
        assert result.exit_code == 1, (command, result.output)
        assert f"the column {name!r} twice" in result.output
    assert not output.exists()
    with pytest.raises(DataValidationError, match=f"the column {name!r} appears twice"):
        validate(pd.DataFrame(np.zeros((2, 2)), columns=[name, name]), "frame")
