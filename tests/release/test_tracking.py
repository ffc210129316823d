"""Tracking is opt-in and keeps credentials out of every message (no server needed here).

What a run records, the registry and the failures are tested against a real MLflow server in
``test_tracking_server.py`` (slow set).
"""

import ast
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from churn_model.cli import app
from churn_model.release.tracking import (
    URI_ENV,
    connect,
    flat_numbers,
    mask_uri,
    scrub,
)

runner = CliRunner()
SOURCE = Path(__file__).resolve().parents[2] / "src" / "churn_model"


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


def _module_level_imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Yield the imports that run when the module is imported (not in a function, not type-only)."""
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
        return
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        return
    type_only = isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
    children = node.orelse if isinstance(node, ast.If) and type_only else ast.iter_child_nodes(node)
    for child in children:
        yield from _module_level_imports(child)


def test_no_module_imports_mlflow_when_it_is_imported() -> None:
    # MLflow is imported inside the functions that talk to a server, so `--help`, `just train` and
    # `just gate` without MLFLOW_TRACKING_URI never pay for it. This reads the source:
    # the slow set profiles real `just train` and `just gate` runs with -X importtime for the same.
    found = []
    for path in sorted(SOURCE.rglob("*.py")):
        for node in _module_level_imports(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
            found += [
                f"{path.name}:{node.lineno}" for n in names if n.partition(".")[0] == "mlflow"
            ]
    assert found == []


def test_the_import_check_sees_a_module_level_import() -> None:
    planted = textwrap.dedent(
        """\
        import os
        if TYPE_CHECKING:
            import mlflow
        else:
            from mlflow import MlflowClient
        def connect():
            import mlflow
        try:
            import mlflow.entities
        except ImportError:
            pass
        """
    )
    lines = [node.lineno for node in _module_level_imports(ast.parse(planted))]
    assert lines == [1, 5, 9]
