"""Tracking is opt-in and keeps credentials out of every message (no server needed here).

What a run records, the registry and the failures are tested against a real MLflow server in
``test_tracking_server.py`` (slow set).
"""

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from churn_model.cli import app
from churn_model.tracking import URI_ENV, connect, flat_numbers, mask_uri, scrub

runner = CliRunner()


@pytest.mark.parametrize(
    ("uri", "masked"),
    [
        ("http://alice:s3cret@mlflow.example:5000/x", "http://***@mlflow.example:5000/x"),
        ("https://tok3n@mlflow.example/", "https://***@mlflow.example/"),
        ("https://mlflow.example/?token=s3cret&x=1", "https://mlflow.example/?***"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("databricks", "databricks"),
        ("sqlite:///mlflow.db", "sqlite:///mlflow.db"),
    ],
)
def test_a_uri_is_shown_without_its_credentials(uri: str, masked: str) -> None:
    assert mask_uri(uri) == masked


def test_a_message_is_scrubbed_of_every_credential(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "pa55word")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "tok-123")
    uri = "http://alice:s%40cret@host:5000?key=k3y"
    message = (
        "API request to http://alice:s%40cret@host:5000/api failed (password pa55word, "
        "token tok-123, decoded s@cret, query key=k3y, other https://bob:x@elsewhere/)"
    )
    scrubbed = scrub(message, uri)
    for secret in ("s%40cret", "s@cret", "pa55word", "tok-123", "k3y", "bob:x"):
        assert secret not in scrubbed
    assert "http://***@host:5000/api" in scrubbed
    assert "https://***@elsewhere/" in scrubbed


def test_metrics_flatten_to_dotted_names_mlflow_accepts() -> None:
    nested = {
        "overall": {"auc": 0.8, "rows": 10, "undefined": None},
        "slices": {"plan=gold & more": {"recall": 0.5}},
        "flag": True,
        "label": "text",
    }
    assert flat_numbers(nested) == {
        "overall.auc": 0.8,
        "overall.rows": 10.0,
        "slices.plan_gold _ more.recall": 0.5,
    }


def test_without_the_variable_nothing_connects(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(URI_ENV, "  ")  # what an unset repository secret gives a workflow step
    assert connect() is None
    result = runner.invoke(app, ["register"])
    assert result.exit_code == 0
    assert result.stdout == f"{URI_ENV} is not set: no MLflow registry to update\n"


def test_help_and_the_model_path_modules_do_not_import_mlflow() -> None:
    # A fresh interpreter: the CLI's --help, and the tracking module the model-path commands
    # import, its hook called as they call it. (The slow set profiles real `just train` and
    # `just gate` runs for the same.)
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from churn_model import cli, tracking\n"
        "assert CliRunner().invoke(cli.app, ['--help']).exit_code == 0\n"
        "assert tracking.connect() is None\n"
        "print(sorted(name for name in sys.modules if name.partition('.')[0] == 'mlflow'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out == "[]\n"
