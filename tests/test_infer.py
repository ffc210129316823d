"""`infer-schema` drafts a schema that describes the extract it read, as reviewable, clean code."""

import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest
from typer.testing import CliRunner

from churn_model.cli import app
from churn_model.config import SliceMinimum
from churn_model.data import write_csv
from churn_model.domain.schema import SCHEMA
from churn_model.errors import UserError
from churn_model.infer import infer, render
from churn_model.spec import Schema
from churn_model.synthetic import synthetic_frame
from churn_model.validation import validate

from schemas import OTHER

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]


def _extract(tmp_path: Path, schema: Schema, suffix: str = ".csv") -> Path:
    frame = synthetic_frame(1_000, seed=5, schema=schema)
    path = tmp_path / f"extract{suffix}"
    if suffix == ".csv":
        write_csv(frame, path)
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
    inferred = infer(_extract(tmp_path, SCHEMA))
    _same_shape(inferred.schema, SCHEMA)
    said = "\n".join(inferred.notes)
    assert f"label: guessed {SCHEMA.label.name!r}" in said
    assert "positive value guessed" in said
    if SCHEMA.id is not None:
        assert f"id: guessed {SCHEMA.id.name!r}" in said


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


def test_the_draft_is_formatted_and_lint_clean(tmp_path: Path) -> None:
    draft = tmp_path / "schema.py"
    draft.write_text(render(infer(_extract(tmp_path, OTHER), label="outcome"), "extract.csv"))
    ruff = shutil.which("ruff")
    assert ruff is not None
    config = ["--config", str(ROOT / "pyproject.toml")]
    for command in (["format", "--check", *config], ["check", "--no-fix", *config]):
        result = subprocess.run(
            [ruff, *command, str(draft)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("content", "options", "message"),
    [
        ("a,b\n1,2\n", {"label": "c"}, "--label 'c': "),
        (
            "a,b\n1,x\n2,y\n3,z\n",
            {"label": "b"},
            "label 'b': a label has two values, this one has 3",
        ),
        ("a,b\n1,x\n2,y\n", {"label": "b", "positive": "z"}, "--positive 'z': label 'b' holds"),
        ("a,b\n1,x\n2,\n", {"label": "b"}, "label 'b': 1 rows have no label value"),
        ("a,b\n1,2\n3,4\n5,6\n", {}, "no column has exactly two values"),
        ("a,b\n,x\n,y\n", {}, "no column besides the label and the id can be a feature"),
    ],
)
def test_what_cannot_be_drafted_is_said(
    tmp_path: Path, content: str, options: dict[str, str], message: str
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
