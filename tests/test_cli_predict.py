"""The ``predict`` command scores files; the service's command starts with its settings."""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# >>> serving
import uvicorn

# <<< serving
from sklearn.pipeline import Pipeline
from typer.testing import CliRunner, Result

from churn_model.cli import app
from churn_model.domain.schema import SCHEMA
from churn_model.serving.answer_names import predicted_field, probability_field

from model_support import spare_name
from served_model import THRESHOLD, laid_out_pipeline, sample

runner = CliRunner()
PROBABILITY, PREDICTED = probability_field(), predicted_field()


@pytest.fixture(scope="module")
def trained() -> tuple[Path, Pipeline]:
    return laid_out_pipeline()


@pytest.fixture
def table(tmp_path: Path) -> pd.DataFrame:
    return sample(300, seed=5).drop(columns=[SCHEMA.label.name])


def _predict(source: Path, output: Path, model_dir: Path) -> Result:
    return runner.invoke(app, ["predict", str(source), str(output), "--model-dir", str(model_dir)])


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_predict_adds_probability_and_label(
    trained: tuple[Path, Pipeline], table: pd.DataFrame, tmp_path: Path, suffix: str
) -> None:
    source, output = tmp_path / f"in{suffix}", tmp_path / f"out{suffix}"
    if suffix == ".csv":
        table.to_csv(source, index=False)
    else:
        table.to_parquet(source, index=False)
    result = _predict(source, output, trained[0])
    assert result.exit_code == 0, result.output
    assert "scored 300 rows" in result.output
    scored = pd.read_csv(output) if suffix == ".csv" else pd.read_parquet(output)
    assert list(scored.columns) == [*table.columns, PROBABILITY, PREDICTED]
    direct = trained[1].predict_proba(table[SCHEMA.feature_names()])[:, 1]
    np.testing.assert_allclose(scored[PROBABILITY], direct, rtol=1e-12)
    label = SCHEMA.label
    wanted = np.where(scored[PROBABILITY] >= THRESHOLD, label.positive, label.negative)
    assert scored[PREDICTED].tolist() == wanted.tolist()
    assert not list(tmp_path.glob(".*.tmp"))  # the temporary file was renamed away


def test_predict_needs_no_id_and_keeps_the_input_order(
    trained: tuple[Path, Pipeline], table: pd.DataFrame, tmp_path: Path
) -> None:
    shuffled = table[SCHEMA.feature_names()].sample(frac=1.0, random_state=3)
    source, output = tmp_path / "in.csv", tmp_path / "out.csv"
    shuffled.to_csv(source, index=False)
    assert _predict(source, output, trained[0]).exit_code == 0
    scored = pd.read_csv(output)
    pd.testing.assert_frame_equal(
        scored[SCHEMA.feature_names()], pd.read_csv(source), check_dtype=False
    )
    direct = trained[1].predict_proba(shuffled)[:, 1]
    np.testing.assert_allclose(scored[PROBABILITY], direct, rtol=1e-12)


def test_invalid_input_fails_clearly_and_leaves_the_output_alone(
    trained: tuple[Path, Pipeline], table: pd.DataFrame, tmp_path: Path
) -> None:
    source, output = tmp_path / "in.csv", tmp_path / "out.csv"
    missing = SCHEMA.feature_names()[0]
    # Misspelt rather than dropped: a schema of one feature and no id would leave no column.
    table.rename(columns={missing: spare_name(f"{missing}_")}).to_csv(source, index=False)
    output.write_text("previous good output\n")
    result = _predict(source, output, trained[0])
    assert result.exit_code == 1
    # The column is named; the file too when it holds none of the schema's columns at all.
    assert f"{missing}: required: the column is missing" in result.output or (
        f"{source}: not a table of this schema: none of the expected columns ({missing})"
        in result.output
    )
    assert "Traceback" not in result.output
    assert output.read_text() == "previous good output\n"


@pytest.mark.parametrize(
    ("output_name", "message"),
    [("out.json", "unsupported output type '.json'"), ("absent/out.csv", "does not exist")],
)
def test_a_bad_output_path_fails_before_any_work(
    trained: tuple[Path, Pipeline],
    table: pd.DataFrame,
    tmp_path: Path,
    output_name: str,
    message: str,
) -> None:
    source = tmp_path / "in.csv"
    table.to_csv(source, index=False)
    result = _predict(source, tmp_path / output_name, trained[0])
    assert result.exit_code == 1
    assert message in result.output


def test_a_missing_model_fails_clearly(table: pd.DataFrame, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    table.to_csv(source, index=False)
    result = _predict(source, tmp_path / "out.csv", tmp_path / "no-model")
    assert result.exit_code == 1
    assert "model directory not found" in result.output


# >>> serving
def test_serve_runs_uvicorn_with_options_over_the_environment(
    trained: tuple[Path, Pipeline], monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: dict[str, object] = {}

    def fake_run(app: object, **options: object) -> None:
        seen.update(options, app=app)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.setenv("PORT", "9001")
    monkeypatch.setenv("MODEL_DIR", str(trained[0]))
    result = runner.invoke(app, ["serve", "--host", "127.0.0.2"])
    assert result.exit_code == 0, result.output
    assert (seen["host"], seen["port"], seen["access_log"]) == ("127.0.0.2", 9001, False)


# >>> serving
# <<< serving
def test_serve_fails_fast_without_a_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODEL_DIR", raising=False)
    result = runner.invoke(app, ["serve", "--model-dir", str(tmp_path / "absent")])
    assert result.exit_code == 1
    assert "model directory not found" in result.output


# <<< serving
def test_parquet_output_without_a_parquet_engine_fails_clearly(
    trained: tuple[Path, Pipeline],
    table: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)  # `import` raises ImportError
    source = tmp_path / "in.csv"
    table.to_csv(source, index=False)
    result = _predict(source, tmp_path / "out.parquet", trained[0])
    assert result.exit_code == 1
    assert "cannot write Parquet" in result.output
    assert not list(tmp_path.glob("*.parquet")) + list(tmp_path.glob(".*.tmp"))
