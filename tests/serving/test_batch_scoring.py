"""Scoring in chunks keeps the promises of scoring in one piece, and ``predict`` keeps its own.

Chunks here are a few rows long, so a small table crosses many chunk boundaries: problems are
reported with their rows numbered in the input, exactly as a one-piece validation reports them,
an id repeated across chunks is caught, nothing is written when any chunk is invalid, and the
output is byte for byte the same whatever the chunk size. Issue 11, item 8: the output keeps every
input column with its text, in input order, and the output path may not be the input.
"""

import csv
import itertools
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pandas.api.extensions import ExtensionDtype
from sklearn.pipeline import Pipeline
from typer.testing import CliRunner, Result

from churn_model.cli import app
from churn_model.data.synthetic import synthetic_frame
from churn_model.data.validation import validate
from churn_model.domain.schema import SCHEMA
from churn_model.errors import UserError
from churn_model.serving import batch_scoring
from churn_model.serving.answer_names import predicted_field, probability_field
from churn_model.serving.batch_scoring import predict_file, spelt
from churn_model.table import Column, Label, LabelValue

from model_support import spare_name
from served_model import THRESHOLD, laid_out_pipeline, sample

runner = CliRunner()
FEATURES = SCHEMA.features
CHUNK = 16
PROBABILITY, PREDICTED = probability_field(), predicted_field()
EMAIL, NOTE, COUNT, CODE = (spare_name(name) for name in ("email", "note", "count", "code"))
"""Columns a scoring file may carry beyond the schema's, which the output keeps as they are."""


@pytest.fixture(scope="module")
def trained() -> tuple[Path, Pipeline]:
    return laid_out_pipeline()


@pytest.fixture
def table() -> pd.DataFrame:
    """Scoring input: the schema's id and features, no label."""
    return sample(60, seed=11).drop(columns=[SCHEMA.label.name])


def _text(path: Path) -> pd.DataFrame:
    """A CSV file as the text of its fields."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _predict(source: Path, output: Path, model_dir: Path, chunk: int = CHUNK) -> Result:
    arguments = [str(source), str(output), "--model-dir", str(model_dir)]
    return runner.invoke(app, ["predict", *arguments, "--chunk-rows", str(chunk)])


def test_every_input_column_keeps_its_text_and_order(
    trained: tuple[Path, Pipeline], table: pd.DataFrame, tmp_path: Path
) -> None:
    """Unknown columns stay, ``true`` stays ``true``, ``27`` never becomes ``27.0``."""
    text = table.astype(object).where(table.notna(), "").astype(str)
    for column in FEATURES:
        if column.kind == "bool":
            text[column.name] = np.where(table[column.name] == True, "true", "FALSE")  # noqa: E712 -- a missing value is neither
            text.loc[table[column.name].isna(), column.name] = ""
        if column.kind == "int":  # whole numbers as written, with missing ones in between
            values = table[column.name]
            text[column.name] = values.map(lambda v: "" if pd.isna(v) else str(int(v)))
    text.insert(1, EMAIL, [f'person{i}@example.com, "home"' for i in range(len(text))])
    text[NOTE] = ["line one\nline two"] + ["00123"] * (len(text) - 1)
    text = text[list(reversed(text.columns))]
    source, output = tmp_path / "in.csv", tmp_path / "out.csv"
    text.to_csv(source, index=False)
    result = _predict(source, output, trained[0])
    assert result.exit_code == 0, result.output
    scored = _text(output)
    assert list(scored.columns) == [*text.columns, PROBABILITY, PREDICTED]
    pd.testing.assert_frame_equal(scored[text.columns], _text(source))


def test_the_output_is_the_same_whatever_the_chunk_size(
    trained: tuple[Path, Pipeline], table: pd.DataFrame, tmp_path: Path
) -> None:
    source = tmp_path / "in.csv"
    table.assign(**{NOTE: 'a "quoted", text'}).to_csv(source, index=False)
    outputs = [tmp_path / f"out{rows}.csv" for rows in (CHUNK, 10_000)]
    for rows, output in zip((CHUNK, 10_000), outputs, strict=True):
        assert predict_file(source, output, trained[0], chunk_rows=rows) == len(table)
    assert outputs[0].read_bytes() == outputs[1].read_bytes()
    scored = pd.read_csv(outputs[0])
    direct = trained[1].predict_proba(table[SCHEMA.feature_names()])[:, 1]
    np.testing.assert_array_equal(scored[PROBABILITY].to_numpy(), direct)
    assert scored[NOTE].eq('a "quoted", text').all()


def test_the_csv_writer_writes_every_field_back_as_read(
    trained: tuple[Path, Pipeline], table: pd.DataFrame, tmp_path: Path
) -> None:
    source, output = tmp_path / "in.csv", tmp_path / "out.csv"
    notes = ["a,b", 'say "hi"', "two\nlines", "", " padded "] * 12
    table.assign(**{NOTE: notes}).to_csv(source, index=False)
    assert _predict(source, output, trained[0]).exit_code == 0
    pd.testing.assert_frame_equal(
        _text(output).drop(columns=[PROBABILITY, PREDICTED]), _text(source)
    )


def _refused(column: Column) -> str | float:
    """A value ``column`` refuses: under its lower bound, or not one of its values or kind."""
    low = column.ge if column.ge is not None else column.gt
    return "no-such-value" if low is None else low - 5


def test_problems_in_many_chunks_are_reported_as_one_piece_reports_them(
    trained: tuple[Path, Pipeline], table: pd.DataFrame, tmp_path: Path
) -> None:
    """Same lines, counts and input row numbers as validating the whole table at once."""
    bad = table.astype(object)
    first, *rest = FEATURES
    for row in (3, 20, 40, 58):  # a row in each of the four chunks
        bad.loc[row, first.name] = _refused(first)
    other = rest[0] if rest else first
    bad.loc[44, other.name] = "lots"  # in another column: a type error hides a column's rules
    bad.loc[[12, 13], rest[-1].name if rest else first.name] = "no-such-value"
    if SCHEMA.id is not None:  # repeated across chunk boundaries, far apart
        ids = bad[SCHEMA.id.name].tolist()
        ids[50], ids[16], ids[17] = ids[2], ids[15], ids[15]
        bad[SCHEMA.id.name] = ids
    source, output = tmp_path / "in.csv", tmp_path / "out.csv"
    bad.to_csv(source, index=False)
    output.write_text("previous good output\n", encoding="utf-8")
    with pytest.raises(UserError) as streamed:
        predict_file(source, output, trained[0], chunk_rows=CHUNK)
    with pytest.raises(UserError) as whole:
        validate(
            pd.read_csv(source, dtype={SCHEMA.id.name: str} if SCHEMA.id else None),
            str(source),
            require_label=False,
        )
    assert str(streamed.value) == str(whole.value)
    assert "row 4 " in str(streamed.value)
    assert "row 59 " in str(streamed.value)
    if SCHEMA.id is not None:
        assert f"{SCHEMA.id.name}: unique: 5 rows, e.g. row 3 (" in str(streamed.value)
    assert output.read_text(encoding="utf-8") == "previous good output\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]


def test_an_id_repeated_in_the_last_chunk_writes_nothing(
    trained: tuple[Path, Pipeline], table: pd.DataFrame, tmp_path: Path
) -> None:
    if SCHEMA.id is None:
        pytest.skip("the schema has no id")
    ids = table[SCHEMA.id.name].tolist()
    table[SCHEMA.id.name] = [*ids[:-1], ids[0]]
    source, output = tmp_path / "in.csv", tmp_path / "out.parquet"
    table.to_csv(source, index=False)
    result = _predict(source, output, trained[0])
    assert result.exit_code == 1
    assert f"{SCHEMA.id.name}: unique: 2 rows, e.g. row 1 (" in result.output
    assert f"row {len(table)} (" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


@pytest.mark.parametrize("how", ["same path", "another spelling", "a symlink", "a hard link"])
def test_the_input_cannot_be_the_output(
    trained: tuple[Path, Pipeline], table: pd.DataFrame, tmp_path: Path, how: str
) -> None:
    source = tmp_path / "in.csv"
    table.to_csv(source, index=False)
    before = source.read_bytes()
    output = {
        "same path": source,
        "another spelling": tmp_path / "sub" / ".." / "in.csv",
        "a symlink": tmp_path / "link.csv",
        "a hard link": tmp_path / "hard.csv",
    }[how]
    (tmp_path / "sub").mkdir()
    if how == "a symlink":
        output.symlink_to(source)
    if how == "a hard link":
        os.link(source, output)
    result = _predict(source, output, trained[0])
    assert result.exit_code == 1
    assert "is the input file itself" in result.output
    assert source.read_bytes() == before


@pytest.mark.parametrize("output_suffix", [".parquet", ".csv"])
def test_parquet_input_keeps_its_columns_and_types(
    trained: tuple[Path, Pipeline], table: pd.DataFrame, tmp_path: Path, output_suffix: str
) -> None:
    frame = table.assign(**{EMAIL: "a@b.c"})
    frame[COUNT] = pd.array([27, None] * 30, dtype="Int64")
    source, output = tmp_path / "in.parquet", tmp_path / f"out{output_suffix}"
    frame.to_parquet(source, index=False)
    result = _predict(source, output, trained[0])
    assert result.exit_code == 0, result.output
    if output_suffix == ".parquet":
        scored = pd.read_parquet(output)
        assert list(scored.columns) == [*frame.columns, PROBABILITY, PREDICTED]
        pd.testing.assert_frame_equal(scored[frame.columns], frame)
    else:
        text = _text(output)
        assert list(text.columns) == [*frame.columns, PROBABILITY, PREDICTED]
        assert text[COUNT].tolist()[:2] == ["27", ""]  # not 27.0
        whole = [c.name for c in FEATURES if c.kind == "int" and not c.nullable]
        assert not text[whole].apply(lambda s: s.str.contains(r"\.0$")).any().any()


def test_a_scored_file_is_not_scored_again_silently(
    trained: tuple[Path, Pipeline], table: pd.DataFrame, tmp_path: Path
) -> None:
    source = tmp_path / "in.csv"
    table.assign(**{PROBABILITY: 0.5}).to_csv(source, index=False)
    result = _predict(source, tmp_path / "out.csv", trained[0])
    assert result.exit_code == 1
    assert f"already has the column {PROBABILITY!r}" in result.output


def test_a_header_without_rows_gives_a_header_with_the_scores(
    trained: tuple[Path, Pipeline], table: pd.DataFrame, tmp_path: Path
) -> None:
    source, output = tmp_path / "in.csv", tmp_path / "out.csv"
    table.head(0).to_csv(source, index=False)
    result = _predict(source, output, trained[0])
    assert result.exit_code == 0, result.output
    assert "scored 0 rows" in result.output
    assert output.read_text(encoding="utf-8").splitlines() == [
        ",".join([*table.columns, PROBABILITY, PREDICTED])
    ]


def test_a_csv_input_scored_to_parquet_keeps_its_text(
    trained: tuple[Path, Pipeline], table: pd.DataFrame, tmp_path: Path
) -> None:
    source, output = tmp_path / "in.csv", tmp_path / "out.parquet"
    table.assign(**{CODE: "00123"}).to_csv(source, index=False)
    assert predict_file(source, output, trained[0], chunk_rows=CHUNK) == len(table)
    scored = pd.read_parquet(output)
    assert list(scored.columns) == [*table.columns, CODE, PROBABILITY, PREDICTED]
    text = _text(source)
    pd.testing.assert_frame_equal(scored[text.columns].fillna(""), text, check_dtype=False)
    assert scored[PROBABILITY].dtype == np.float64


LABEL_VALUES = [(1, 0), (4, 2), (True, False), ("Yes", "No"), ("good", 'bad, "really"')]


@pytest.mark.parametrize("case", list(itertools.product(LABEL_VALUES, ["csv", "parquet"])), ids=str)
def test_the_predicted_value_is_the_labels_own(
    trained: tuple[Path, Pipeline],
    table: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    case: tuple[tuple[LabelValue, LabelValue], str],
) -> None:
    """Written as a training file spells it in CSV, typed in Parquet."""
    (positive, negative), writer = case
    label = Label(SCHEMA.label.name, positive, negative, "The label, spelt another way.")
    monkeypatch.setattr(batch_scoring, "SCHEMA", replace(SCHEMA, label=label))
    source = tmp_path / "in.csv"
    output = tmp_path / ("out.parquet" if writer == "parquet" else "out.csv")
    table.to_csv(source, index=False)
    assert predict_file(source, output, trained[0], chunk_rows=CHUNK) == len(table)
    direct = trained[1].predict_proba(table[SCHEMA.feature_names()])[:, 1]
    wanted = [positive if p >= THRESHOLD else negative for p in direct]
    assert {positive, negative} == set(wanted), (
        f"the premise: both values are written, but at the threshold {THRESHOLD} only "
        f"{set(wanted)} is (set the project's threshold with `just calibrate` first)"
    )
    if writer == "parquet":
        written = pq.read_table(output).column(PREDICTED)
        kinds = {bool: pa.bool_(), int: pa.int64(), str: pa.string()}
        assert written.type == kinds[type(positive)]
        assert written.to_pylist() == wanted
    else:
        with output.open(encoding="utf-8", newline="") as text:
            rows = list(csv.reader(text))
        assert [row[-1] for row in rows[1:]] == [spelt(value) for value in wanted]
        if isinstance(positive, bool):
            assert {row[-1] for row in rows[1:]} == {"true", "false"}


def test_the_label_and_other_columns_of_the_input_are_kept_as_read(
    trained: tuple[Path, Pipeline], tmp_path: Path
) -> None:
    """The model reads the features only; the label and unknown columns pass through as text."""
    frame = sample(60, seed=11).assign(comment="as written, kept")
    source, output = tmp_path / "in.csv", tmp_path / "out.csv"
    frame.to_csv(source, index=False)
    assert predict_file(source, output, trained[0], chunk_rows=CHUNK) == len(frame)
    scored = _text(output)
    assert list(scored.columns) == [*frame.columns, PROBABILITY, PREDICTED]
    pd.testing.assert_frame_equal(scored[frame.columns], _text(source))
    without = tmp_path / "without.csv"
    frame[SCHEMA.feature_names()].to_csv(without, index=False)
    predict_file(without, tmp_path / "out2.csv", trained[0])
    assert _text(tmp_path / "out2.csv")[PROBABILITY].tolist() == scored[PROBABILITY].tolist()


BLANK_LABELS = [2, 17, 18, 40]
"""Rows of the table below whose label is blank: their outcome is not known yet."""


def _labels_of_some_rows(schema_label: Label, rows: int, parquet: bool) -> pd.Series:
    """Label values of ``schema_label``'s kind, blank in :data:`BLANK_LABELS`.

    Typed as a Parquet file keeps them (a nullable integer, boolean or string column), or as
    objects for a CSV file.
    """
    schema = replace(SCHEMA, label=schema_label)
    values = synthetic_frame(rows, seed=11, schema=schema)[schema_label.name].astype(object)
    values[BLANK_LABELS] = None
    if not parquet:
        return values
    dtypes: dict[str, ExtensionDtype] = {
        "int": pd.Int64Dtype(),
        "bool": pd.BooleanDtype(),
        "str": pd.StringDtype(),
    }
    return values.astype(dtypes[schema_label.kind])


@pytest.mark.parametrize(
    "case",
    list(itertools.product(LABEL_VALUES[:4], ["csv", "parquet"], ["csv", "parquet"])),
    ids=str,
)
def test_a_label_blank_in_some_rows_is_carried_through_as_read(
    trained: tuple[Path, Pipeline],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    case: tuple[tuple[LabelValue, LabelValue], str, str],
) -> None:
    """Rows to score may have no label yet: blank stays blank, the scores are the features'."""
    (positive, negative), reader, writer = case
    label = Label(SCHEMA.label.name, positive, negative, "The label, of another kind.")
    monkeypatch.setattr(batch_scoring, "SCHEMA", replace(SCHEMA, label=label))
    frame = sample(60, seed=11)
    frame[label.name] = _labels_of_some_rows(label, len(frame), reader == "parquet")
    source, output = tmp_path / f"in.{reader}", tmp_path / f"out.{writer}"
    if reader == "csv":
        frame.to_csv(source, index=False)
    else:
        frame.to_parquet(source, index=False)
    assert predict_file(source, output, trained[0], chunk_rows=CHUNK) == len(frame)
    if writer == "parquet":
        scored = pd.read_parquet(output)
        if reader == "parquet":
            pd.testing.assert_series_equal(scored[label.name], frame[label.name])
        else:
            kept = scored[label.name].fillna("").tolist()
            assert kept == _text(source)[label.name].tolist()
    else:
        scored = pd.read_csv(output)
        text = _text(output)[label.name].tolist()
        if reader == "csv":
            assert text == _text(source)[label.name].tolist()
        else:
            assert text == ["" if pd.isna(v) else str(v) for v in frame[label.name]]
    assert [i for i, v in enumerate(_blank(scored[label.name])) if v] == BLANK_LABELS
    direct = trained[1].predict_proba(frame[SCHEMA.feature_names()])[:, 1]
    np.testing.assert_array_equal(scored[PROBABILITY].to_numpy(), direct)


def _blank(values: pd.Series) -> list[bool]:
    """Which of ``values`` are blank (missing, or an empty text)."""
    return [bool(pd.isna(value)) or value == "" for value in values]
