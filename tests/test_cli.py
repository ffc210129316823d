"""The CLI's entry point behaves like a well-mannered command-line tool."""

import runpy
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

import churn_model.domain.schema as domain
from churn_model import __version__
from churn_model.cli import app
from churn_model.data.problems import names_text
from churn_model.data.synthetic import synthetic_frame
from churn_model.data.tables import write_csv
from churn_model.domain.schema import SCHEMA

from model_support import spare_name

runner = CliRunner()


def test_version_prints_the_package_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"churn-model {__version__}"


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "Train, gate, promote and serve" in result.output


def test_python_dash_m_runs_the_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["churn-model", "--version"])
    with pytest.raises(SystemExit) as stopped:
        runpy.run_module("churn_model", run_name="__main__")
    assert stopped.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_help_speaks_of_no_domain() -> None:
    """The machinery's help is the template's: the example's words live in the domain only."""
    commands = [["--help"], ["predict", "--help"]]
    # >>> serving
    commands.append(["serve", "--help"])
    # <<< serving
    for command in commands:
        result = runner.invoke(app, command)
        assert result.exit_code == 0, result.output
        assert "churn" not in result.output.lower().replace("churn-model", "")


def test_a_schema_whose_column_clashes_with_the_answer_stops_every_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Refused before any work, in one sentence, not at serving time with a traceback."""
    renamed = replace(SCHEMA.features[0], name=f"{SCHEMA.label.name}_predicted")
    clashing = replace(SCHEMA, features=(renamed, *SCHEMA.features[1:]), slices=())
    monkeypatch.setattr(domain, "SCHEMA", clashing)
    # Imported again, from `clashing` (the session's module is put back afterwards).
    # >>> serving
    monkeypatch.delitem(sys.modules, "churn_model.serving.contract", raising=False)
    # <<< serving
    result = runner.invoke(app, ["validate", "no-such-file.csv"])
    assert result.exit_code == 1
    assert result.output == (
        f"error: invalid schema: column '{renamed.name}': batch scoring adds a column of that "
        f"name (named after the label '{SCHEMA.label.name}'); rename the feature\n"
    )


def test_validate_names_the_columns_the_schema_leaves_out(tmp_path: Path) -> None:
    """Left out on purpose or by mistake, the user sees which columns were not checked."""
    frame = synthetic_frame(SCHEMA.min_rows, seed=5)
    columns = len(SCHEMA.column_names())
    valid = f"valid, {len(frame)} rows, {columns} of {{}} columns"
    extras = [spare_name(f"extra_{number}") for number in range(40)]
    few, many = tmp_path / "few.csv", tmp_path / "many.csv"
    write_csv(frame.assign(**dict.fromkeys(extras[:3], "x")), few)
    write_csv(frame.assign(**dict.fromkeys(extras, "x")), many)
    result = runner.invoke(app, ["validate", str(few)])
    assert result.exit_code == 0, result.output
    ignored = ", ".join(extras[:3])
    shown = valid.format(columns + 3)
    assert result.stdout == f"{few}: {shown} (not in the schema, ignored: {ignored})\n"
    result = runner.invoke(app, ["validate", str(many)])
    assert result.exit_code == 0, result.output
    ignored = f"{', '.join(extras[:5])} and 35 more"
    shown = valid.format(columns + 40)
    assert result.stdout == f"{many}: {shown} (not in the schema, ignored: {ignored})\n"


def test_validate_names_them_beside_a_column_spelt_otherwise(tmp_path: Path) -> None:
    """The schema's spelling is missing; the file's is named, so the two can be compared."""
    frame = synthetic_frame(SCHEMA.min_rows, seed=5)
    name = SCHEMA.features[0].name
    misspelt = spare_name(f"{name}_")
    path = tmp_path / "misspelt.csv"
    write_csv(frame.rename(columns={name: misspelt}), path)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert f"\n  - {name}: required: the column is missing\n" in result.stderr
    assert result.stderr.endswith(f"\ncolumns not in the schema: {names_text([misspelt])}\n")


def test_validate_scoring_takes_blank_labels_that_training_refuses(tmp_path: Path) -> None:
    """The rows one scores are those whose outcome is not known yet: their label is blank."""
    frame = synthetic_frame(SCHEMA.min_rows + 50, seed=8)
    labels = frame[SCHEMA.label.name].astype(object)
    labels[[3, 9]] = None
    path = tmp_path / "to-score.csv"
    frame.assign(**{SCHEMA.label.name: labels}).to_csv(path, index=False)
    scoring = runner.invoke(app, ["validate", "--scoring", str(path)])
    assert scoring.exit_code == 0, scoring.output
    columns = len(SCHEMA.column_names())
    assert scoring.output == f"{path}: valid, {len(frame)} rows, {columns} columns\n"
    training = runner.invoke(app, ["validate", str(path)])
    assert training.exit_code == 1
    assert f"{SCHEMA.label.name}: not_nullable: 2 rows, e.g. row 4, row 10; " in training.output
    assert "(`just predict` scores them)" in training.output
