"""The CLI's entry point behaves like a well-mannered command-line tool."""

import runpy
import sys

import pytest
from typer.testing import CliRunner

from churn_model import __version__
from churn_model.cli import app

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
