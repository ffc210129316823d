"""`infer-schema` drafts a schema that describes the extract it read, as reviewable, clean code.

Every extract here is drawn from a schema the test controls (``schemas.OTHER``, ``schemas.RANKED``)
or written out by hand, never from the project's own schema.
"""

import re
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from churn_model.cli import app
from churn_model.config import SliceMinimum
from churn_model.data.infer_schema import MAX_CATEGORIES, Inferred, infer, render
from churn_model.data.synthetic import synthetic_frame
from churn_model.data.tables import write_csv
from churn_model.data.validation import validate
from churn_model.errors import UserError
from churn_model.table import Column, Schema

from project_tools import assert_ruff_clean
from schemas import OTHER, RANKED, REGIONS

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def _extract(tmp_path: Path, schema: Schema, suffix: str = ".csv") -> Path:
    frame = synthetic_frame(1_000, seed=5, schema=schema)
    path = tmp_path / f"extract{suffix}"
    if suffix == ".csv":
        write_csv(frame, path, schema=schema)
    else:
        frame.to_parquet(path)
    return path


def _load(source: str) -> Schema:
    module = ModuleType("drafted")
    exec(compile(source, "drafted.py", "exec"), module.__dict__)  # noqa: S102 -- our own draft
    schema: Schema = module.SCHEMA
    return schema


def _same_shape(drafted: Schema, original: Schema) -> None:
    """The draft has the original's columns, kinds, categories, nullability, label and id."""
    assert drafted.feature_names() == original.feature_names()
    for got, want in zip(drafted.features, original.features, strict=True):
        assert (got.kind, got.nullable) == (want.kind, want.nullable), want.name
        assert set(got.categories) == set(want.categories), want.name
    assert (drafted.label.name, drafted.label.positive, drafted.label.negative) == (
        original.label.name,
        original.label.positive,
        original.label.negative,
    )
    assert (drafted.id is None) is (original.id is None)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_the_draft_describes_the_other_schema_it_was_drawn_from(
    tmp_path: Path, suffix: str
) -> None:
    path = _extract(tmp_path, OTHER, suffix)
    # Any slice with a row and a positive: this test is about the columns (see test_infer_slices).
    inferred = infer(
        path, label="outcome", positive="yes", minimum=SliceMinimum(min_rows=1, min_positives=1)
    )
    _same_shape(inferred.schema, OTHER)
    drafted = _load(render(inferred, source=path.name))
    assert drafted == inferred.schema
    frame = pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    assert len(validate(frame, "extract", schema=drafted)) == len(frame)  # it accepts its extract
    assert "no_amount" not in drafted.slice_names()
    assert {"amount_missing", "member_missing", "region=north"} <= set(drafted.slice_names())


def test_the_label_its_positive_value_and_the_id_are_guessed_and_said(tmp_path: Path) -> None:
    with_id = replace(OTHER, id=Column("order", "id", "The order."))
    inferred = infer(_extract(tmp_path, with_id))
    _same_shape(inferred.schema, with_id)
    said = "\n".join(inferred.notes)
    assert "label: guessed 'outcome'" in said
    assert "positive value guessed as 'yes'" in said
    assert "id: guessed 'order'" in said
    draft = render(inferred, "extract.csv")
    assert "    # id: guessed 'order'" in draft.split("    id=Column(")[0]
    above_label = draft.split("    label=Label(")[0]
    assert "    # label: guessed 'outcome'" in above_label
    assert "    # label: positive value guessed as 'yes'" in above_label


def _numbered(tmp_path: Path, numbers: list[int]) -> Path:
    """A table whose first column ``n`` holds ``numbers``, beside a text id, a feature, a label."""
    path = tmp_path / "numbered.csv"
    rows = len(numbers)
    pd.DataFrame(
        {
            "n": numbers,
            "code": [f"c{i:04d}" for i in range(rows)],
            "x": [float(i % 7) for i in range(rows)],
            "y": (["a", "b", "b"] * rows)[:rows],
        }
    ).to_csv(path, index=False)
    return path


def test_a_row_number_is_guessed_as_the_id_and_said(tmp_path: Path) -> None:
    inferred = infer(_numbered(tmp_path, list(range(1, 301))), label="y", positive="a")
    assert inferred.schema.id is not None
    assert inferred.schema.id.name == "n"
    assert "n" not in inferred.schema.feature_names()
    assert "id: guessed 'n', numbered 1 to 300, a row number (pass --id to choose)" in (
        inferred.notes
    )


def test_a_row_number_left_as_a_feature_is_questioned_beside_its_column(tmp_path: Path) -> None:
    path = _numbered(tmp_path, list(range(300)))
    inferred = infer(path, label="y", positive="a", id_column="code")
    assert "n" in inferred.schema.feature_names()
    assert inferred.remarks["n"].startswith("numbered 0 to 299, one per row: a row number?")
    draft = render(inferred, path.name)
    assert "# n: numbered 0 to 299, one per row: a row number?" in draft.split('"n",')[0]


@pytest.mark.parametrize(
    "numbers",
    [
        [2 * i for i in range(300)],
        [i + (i > 150) for i in range(300)],
        [i % 299 for i in range(300)],
    ],
    ids=["every-other", "a-gap", "one-repeated"],
)
def test_whole_numbers_with_a_gap_or_a_repeat_are_no_row_number(
    tmp_path: Path, numbers: list[int]
) -> None:
    inferred = infer(_numbered(tmp_path, numbers), label="y", positive="a")
    assert inferred.schema.id is not None
    assert inferred.schema.id.name == "code"
    assert "n" in inferred.schema.feature_names()
    assert "n" not in inferred.remarks


def test_dates_and_times_are_left_out_and_said_never_guessed_as_the_id(tmp_path: Path) -> None:
    rows = 300
    path = tmp_path / "when.csv"
    pd.DataFrame(
        {
            "clock": [f"{i // 60 % 24:02d}:{i % 60:02d}:07" for i in range(rows)],
            "day": [f"2017/12/{22 + i % 7}" for i in range(rows)],
            "stamp": [f"2019-03-{1 + i % 28:02d}T10:{i % 60:02d}:00Z" for i in range(rows)],
            "x": [float(i % 7) for i in range(rows)],
            "y": (["a", "b", "b"] * rows)[:rows],
        }
    ).to_csv(path, index=False)
    inferred = infer(path, label="y", positive="a")
    assert inferred.schema.feature_names() == ["x"]
    assert inferred.schema.id is None
    said = "\n".join(inferred.notes)
    assert "clock: times of day (00:00:07, 00:01:07, 00:02:07, ...): not a kind of column" in said
    assert "day: dates (2017/12/22, 2017/12/23, 2017/12/24, ...): not a kind of column" in said
    assert "stamp: dates and times (2019-03-01T10:00:00Z" in said


def test_a_missing_value_marker_is_said_and_among_numbers_drafted_as_missing(
    tmp_path: Path,
) -> None:
    rows = 300
    path = tmp_path / "marked.csv"
    pd.DataFrame(
        {
            "score": [("?" if i % 30 == 0 else str(1 + i % 10)) for i in range(rows)],
            "job": [("?" if i % 25 == 0 else ["clerk", "nurse"][i % 2]) for i in range(rows)],
            "y": (["a", "b", "b"] * rows)[:rows],
        }
    ).to_csv(path, index=False)
    inferred = infer(path, label="y", positive="a")
    score, job = inferred.schema.features
    assert (score.kind, score.nullable, score.ge, score.le) == ("int", True, 0, 11)
    assert inferred.remarks["score"].startswith("'?' in 10 rows: a missing-value marker?")
    assert inferred.remarks["score"].endswith("(drafted as missing here)")
    assert (job.kind, set(job.categories)) == ("category", {"?", "clerk", "nurse"})
    assert inferred.remarks["job"].endswith("or it stays a category value")


def test_an_id_that_repeats_is_refused_as_id_and_questioned_as_a_feature(tmp_path: Path) -> None:
    rows = 300
    path = tmp_path / "repeats.csv"
    pd.DataFrame(
        {
            "sample_id": [13_454_400 + i % 250 for i in range(rows)],
            "paid": [10 + i % 40 for i in range(rows)],  # ends in "id", says nothing of one
            "x": [float(i % 7) for i in range(rows)],
            "y": (["a", "b", "b"] * rows)[:rows],
        }
    ).to_csv(path, index=False)
    with pytest.raises(UserError, match=r"--id 'sample_id': 50 values repeat, e\.g\. '13454400'"):
        infer(path, label="y", positive="a", id_column="sample_id")
    inferred = infer(path, label="y", positive="a")
    assert inferred.schema.id is None
    assert inferred.remarks["sample_id"].startswith("named like an id, but 50 values repeat")
    assert "paid" not in inferred.remarks
    sample_id = inferred.schema.features[0]
    assert "13454400 to 13454649" in sample_id.description  # a whole number, written whole


def test_bounds_hold_the_extract_with_a_margin(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    pd.DataFrame(
        {"x": [10, 20, 110] * 10, "y": [-1.5, 0.25, 2.0] * 10, "label": ["a", "b", "b"] * 10}
    ).to_csv(path, index=False)
    inferred = infer(path, positive="a")
    x, y = inferred.schema.features
    assert (x.kind, x.ge, x.le) == ("int", 0, 120)
    assert y.kind == "float"
    assert y.ge is not None
    assert y.le is not None
    assert y.ge < -1.5
    assert y.le > 2.0
    assert inferred.schema.label.positive == "a"


@pytest.mark.parametrize("name", ["year", "model_year", "YearBuilt", "yr_built"])
def test_a_year_gets_no_upper_bound_and_a_comment_saying_why(tmp_path: Path, name: str) -> None:
    # A model scores the rows of years to come: an upper bound at the extract's last year would
    # refuse them all.
    path = tmp_path / "t.csv"
    pd.DataFrame(
        {name: [1989, 2001, 2014] * 10, "size": [1989, 2001, 2014] * 10, "label": ["a", "b"] * 15}
    ).to_csv(path, index=False)
    inferred = infer(path, positive="a")
    year, size = inferred.schema.features
    assert (year.kind, year.ge, year.le) == ("int", 1986, None)
    assert (size.ge, size.le) == (1986, 2017)  # a number like a year, not named as one
    said = "a year (1989 to 2014): no upper bound drafted, since the rows to score come later"
    assert inferred.remarks[name].startswith(said)
    assert "size" not in inferred.remarks
    assert "le=" not in render(inferred, "t.csv").split(f'"{name}"')[1].split("Column(")[0]


def test_rows_repeating_another_field_for_field_are_said(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    frame = pd.DataFrame({"x": range(30), "label": ["a", "b", "b"] * 10})
    frame.to_csv(path, index=False)
    assert not [note for note in infer(path, positive="a").notes if note.startswith("rows:")]
    pd.concat([frame, frame.iloc[[3, 3, 7]]]).to_csv(path, index=False)
    notes = [note for note in infer(path, positive="a").notes if note.startswith("rows:")]
    assert notes == [
        "rows: 3 of 33 repeat an earlier row field for field: one in the training split and its "
        "copy in the held-out one flatter the gate's figures. Drop the copies from the extract "
        "unless each is an event of its own"
    ]


def test_the_draft_is_formatted_and_lint_clean(tmp_path: Path) -> None:
    draft = tmp_path / "schema.py"
    draft.write_text(render(infer(_extract(tmp_path, OTHER), label="outcome"), "extract.csv"))
    assert_ruff_clean(draft)


def test_a_draft_without_a_slice_is_formatted_and_lint_clean(tmp_path: Path) -> None:
    # No nullable column and no category: nothing to slice on, so no Slice import either.
    schema = Schema(
        features=tuple(
            replace(column, nullable=False)
            for column in OTHER.features
            if column.kind != "category"
        ),
        label=OTHER.label,
        positive_rate=OTHER.positive_rate,
    )
    inferred = infer(_extract(tmp_path, schema), label=OTHER.label.name)
    assert inferred.schema.slices == ()
    draft = tmp_path / "schema.py"
    draft.write_text(render(inferred, "extract.csv"))
    assert_ruff_clean(draft)


@pytest.mark.parametrize(("written", "given"), [("True", "true"), ("Yes", "YES"), ("1", "1.0")])
def test_the_positive_value_may_be_given_in_any_case(
    tmp_path: Path, written: str, given: str
) -> None:
    path = tmp_path / "t.csv"
    other = {"True": "False", "Yes": "No", "1": "0"}[written]
    path.write_text(f"a,b\n1,{written}\n2,{other}\n3,{other}\n", encoding="utf-8")
    label = infer(path, label="b", positive=given).schema.label
    typed = {"True": (True, False), "Yes": ("Yes", "No"), "1": (1, 0)}[written]
    assert (label.positive, label.negative) == typed


def test_a_value_in_two_cases_must_be_given_exactly(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,yes\n2,Yes\n", encoding="utf-8")
    with pytest.raises(UserError, match="--positive 'YES': label 'b' holds 'Yes' and 'yes'"):
        infer(path, label="b", positive="YES")
    assert infer(path, label="b", positive="yes").schema.label.positive == "yes"


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        ("a,b\n1,2\n", {"label": "c"}, "--label 'c': "),
        (
            "a,b\n1,x\n2,y\n3,z\n4,y\n",
            {"label": "b"},
            "label 'b': a label has two values, this one has 3: 'x', 'y', 'z'; add a column of two "
            "values to the extract, for example 'b_is_y': yes where 'b' is 'y', no elsewhere, "
            "and pass it as --label",
        ),
        (
            "a,b\n1,p\n2,q\n3,r\n4,s\n5,t\n6,u\n7,u\n",
            {"label": "b"},
            "label 'b': a label has two values, this one has 6: 'p', 'q', 'r', 's', 't', ...; ",
        ),
        ("a,b\n1,x\n2,y\n", {"label": "b", "positive": "z"}, "--positive 'z': label 'b' holds"),
        ("a,b\n1,\n2,\n", {"label": "b"}, "label 'b': no row has a label value"),
        ("a,b\n1,x\n2,\n", {"label": "b"}, "label 'b': a label has two values, this one has 1"),
        ("a,b\n1,2\n3,4\n5,6\n", {}, "no column has exactly two values"),
        ("a,b\n,x\n,y\n", {}, "no column besides the label and the id can be a feature"),
    ],
)
def test_what_cannot_be_drafted_is_said(
    tmp_path: Path, content: str, options: dict[str, Any], message: str
) -> None:
    path = tmp_path / "t.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        infer(path, label=options.get("label"), positive=options.get("positive"))


def test_the_cli_writes_a_draft_and_never_overwrites_without_force(tmp_path: Path) -> None:
    path = _extract(tmp_path, OTHER)
    output = tmp_path / "out" / "schema.py"
    arguments = ["infer-schema", str(path), "--label", "outcome", "--output", str(output)]
    first = runner.invoke(app, arguments)
    assert first.exit_code == 0, first.output
    assert f"schema drafted to {output}" in first.stdout
    drafted = output.read_text()
    output.write_text("# reviewed by hand\n")
    again = runner.invoke(app, arguments)
    assert again.exit_code == 1
    assert "already exists; pass --force" in again.stderr
    assert output.read_text() == "# reviewed by hand\n"
    forced = runner.invoke(app, [*arguments, "--force"])
    assert forced.exit_code == 0
    assert output.read_text().startswith(drafted.split("\n", 1)[0])


# ---------------------------------------------------------------- categories: how many, in order


def _one_column(tmp_path: Path, values: list[str], rows: int = 60) -> Inferred:
    """Draft the schema of an extract holding ``values`` (cycled) and a two-valued label."""
    path = tmp_path / "column.csv"
    repeated = [values[i % len(values)] for i in range(rows)]
    labels = np.random.default_rng(0).choice(["a", "b"], rows)  # no value tells the label apart
    pd.DataFrame({"level": repeated, "y": labels}).to_csv(path, index=False)
    return infer(path, label="y", positive="a")


def _codes(count: int, rows: int) -> list[str]:
    return [f"code-{i % count:03d}" for i in range(rows)]


def test_a_category_is_kept_up_to_the_limit_and_what_is_left_out_is_said(tmp_path: Path) -> None:
    rows = 600
    path = tmp_path / "wide.csv"
    pd.DataFrame(
        {
            "visits": [i % 7 for i in range(rows)],
            "state": _codes(51, rows),
            "plan": _codes(150, rows),
            "y": ["a", "b"] * (rows // 2),
        }
    ).to_csv(path, index=False)
    assert MAX_CATEGORIES >= 100
    by_default = infer(path, label="y", positive="a")
    assert by_default.schema.feature_names() == ["visits", "state"]
    assert len(by_default.schema.feature("state").categories) == 51
    said = (
        "plan: 150 distinct values, more than the limit of 100 categories: left out as free text "
        "(if it is a category, pass --max-categories 150 to keep it)"
    )
    assert said in by_default.notes
    draft = render(by_default, "wide.csv")
    assert "# plan: 150 distinct values, more than the limit of 100 categories" in draft
    raised = infer(path, label="y", positive="a", max_categories=150)
    assert len(raised.schema.feature("plan").categories) == 150
    assert not [note for note in raised.notes if "left out" in note]
    lowered = infer(path, label="y", positive="a", max_categories=50)
    assert "state: 51 distinct values, more than the limit of 50" in "\n".join(lowered.notes)
    with pytest.raises(UserError, match="--max-categories 0: a category has at least 1 value"):
        infer(path, label="y", max_categories=0)


def test_an_ordered_and_a_200_value_category_are_drafted_and_read_back(tmp_path: Path) -> None:
    path = _extract(tmp_path, RANKED)
    inferred = infer(path, label="left", positive="Yes", max_categories=len(REGIONS))
    drafted = _load(render(inferred, source=path.name))
    assert drafted == inferred.schema
    assert drafted.feature("grade") == replace(
        RANKED.feature("grade"), description=drafted.feature("grade").description
    )
    assert drafted.feature("region").categories == REGIONS
    assert not drafted.feature("region").ordered
    frame = pd.read_csv(path)
    assert len(validate(frame, "extract", schema=drafted)) == len(frame)
    assert "region: 200 distinct values" in "\n".join(infer(path, label="left").notes)


@pytest.mark.parametrize(
    ("values", "levels"),
    [
        (["High", "Low", "Very High", "Medium"], ["Low", "Medium", "High", "Very High"]),
        (
            ["Doctor", "Bachelor", "Below_College", "Master", "College"],
            ["Below_College", "College", "Bachelor", "Master", "Doctor"],
        ),
        (["good", "Poor", "EXCELLENT", "fair"], ["Poor", "fair", "good", "EXCELLENT"]),
        (
            ["Often", "Never", "Always", "Sometimes", "Rarely"],
            ["Never", "Rarely", "Sometimes", "Often", "Always"],
        ),
        (
            ["Agree", "Strongly Disagree", "Neutral", "Disagree", "Strongly Agree"],
            ["Strongly Disagree", "Disagree", "Neutral", "Agree", "Strongly Agree"],
        ),
        (["large", "small", "medium"], ["small", "medium", "large"]),
        (
            ["2 - Medium", "1 - Low", "10 - Top", "3 - High"],
            ["1 - Low", "2 - Medium", "3 - High", "10 - Top"],
        ),
        (["very-high", "Low", "MEDIUM", "high"], ["Low", "MEDIUM", "high", "very-high"]),
        (["VeryLow", "Very_High", "low"], ["VeryLow", "low", "Very_High"]),
    ],
)
def test_a_scale_is_drafted_ordered_in_its_natural_order_and_said(
    tmp_path: Path, values: list[str], levels: list[str]
) -> None:
    inferred = _one_column(tmp_path, values)
    column = inferred.schema.feature("level")
    assert column.ordered
    assert list(column.categories) == levels
    said = [note for note in inferred.notes if note.startswith("level: drafted as ordered")]
    assert said == [f"level: {inferred.remarks['level']}"]
    assert " < ".join(levels) in said[0]


@pytest.mark.parametrize(
    ("values", "hint"),
    [
        (["Non-Travel", "Travel_Rarely", "Travel_Frequently"], "Travel_Frequently, Travel_Rarely"),
        (["primary", "secondary", "tertiary", "unknown"], "primary, secondary, tertiary"),
        (["Low", "High"], "High, Low"),  # two levels: too few to call it a scale
        (["High", "high", "Low"], "High, Low, high"),  # one level spelt two ways
        (["1 - Low", "2 - High", "none"], "1 - Low, 2 - High"),
    ],
)
def test_what_only_looks_like_a_scale_is_drafted_unordered_and_noted(
    tmp_path: Path, values: list[str], hint: str
) -> None:
    inferred = _one_column(tmp_path, values)
    column = inferred.schema.feature("level")
    assert not column.ordered
    assert list(column.categories) == sorted(values)
    note = next(note for note in inferred.notes if note.startswith("level: "))
    assert f"level: looks like a scale ({hint}) but was drafted unordered" in note
    assert inferred.remarks["level"] in note


@pytest.mark.parametrize(
    "values",
    [
        ["north", "south", "east", "west"],
        [f"{number} - {name}" for number, name in enumerate("abcdefghijklm", start=1)],
        [f"{level} {number}" for level in ("low", "high") for number in range(7)],
    ],
    ids=["names", "numbered-codes", "many-mentions"],
)
def test_a_plain_category_is_neither_ordered_nor_noted(tmp_path: Path, values: list[str]) -> None:
    inferred = _one_column(tmp_path, values)
    assert not inferred.schema.feature("level").ordered
    assert inferred.remarks == {}


def test_every_guess_is_a_comment_beside_its_column_in_a_clean_draft(tmp_path: Path) -> None:
    rows = 300
    path = tmp_path / "guesses.csv"
    pd.DataFrame(
        {
            "Job Satisfaction": (["Low", "Medium", "High", "Very_High"] * rows)[:rows],
            "travel": (["Non-Travel", "Travel_Rarely", "Travel_Frequently"] * rows)[:rows],
            "flag": ([0, 1] * rows)[:rows],
            'comment, "quoted"\nover lines': [f"said {i % 150}\nand more" for i in range(rows)],
            "y": (["a", "b", "b"] * rows)[:rows],
        }
    ).to_csv(path, index=False)
    inferred = infer(path, label="y", positive="a", max_categories=5)
    assert set(inferred.remarks) == {
        "Job Satisfaction",
        "travel",
        "flag",
        'comment, "quoted"\nover lines',
    }
    draft = render(inferred, "guesses.csv")
    for name in ("Job Satisfaction", "travel", "flag"):
        above = re.search(rf"((?:\n +#[^\n]*)+)\n +Column\(\n +\"{name}\",", draft)
        assert above is not None, name
        comment = " ".join(line.strip().removeprefix("# ") for line in above[1].split("\n"))
        assert comment.strip().endswith(f"{name}: {inferred.remarks[name]}"), comment
    assert '# comment, "quoted" over lines: 150 distinct values' in draft
    output = tmp_path / "schema.py"
    output.write_text(draft)
    assert_ruff_clean(output)
    assert _load(draft) == inferred.schema


def test_the_cli_takes_the_category_limit_and_says_its_default(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    pd.DataFrame({"state": _codes(51, 200), "y": ["a", "b"] * 100}).to_csv(path, index=False)
    output = tmp_path / "schema.py"
    options = ["--label", "y", "--output", str(output), "--force"]
    limited = runner.invoke(app, ["infer-schema", str(path), *options, "--max-categories", "50"])
    assert limited.exit_code == 1  # the only feature was left out
    assert "no column besides the label and the id can be a feature" in limited.stderr
    kept = runner.invoke(app, ["infer-schema", str(path), *options, "--max-categories", "51"])
    assert kept.exit_code == 0, kept.output
    assert '"state",' in output.read_text()
    helped = runner.invoke(app, ["infer-schema", "--help"], env={"COLUMNS": "200"})
    assert f"(default: {MAX_CATEGORIES})" in helped.stdout
