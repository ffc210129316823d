"""`just data-refresh` updates the pin from its source and says whether the data changed.

The slow tests build a git repository whose ``data.dvc`` is a real DVC import of a local folder
(the offline stand-in for a bucket or a data registry), with a local DVC remote, and run the real
command in it. The fast ones check the decision itself on hand-written pins. Both check the step
output Retrain reads (``changed=...`` in ``$GITHUB_OUTPUT``).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from churn_model.cli import app

GIT = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]


def _dvc(repo: Path, *args: str) -> None:
    dvc = shutil.which("dvc", path=str(Path(sys.executable).parent))
    assert dvc is not None
    subprocess.run([dvc, *args], cwd=repo, check=True, capture_output=True, text=True)


def _commit(repo: Path) -> None:
    subprocess.run([*GIT, "add", "--all"], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "--quiet", "-m", "pin"], cwd=repo, check=True)


def _refresh(repo: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run the command as Retrain does; return its result and what it wrote to GITHUB_OUTPUT."""
    outputs = tmp_path / "github_output"
    outputs.unlink(missing_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "churn_model", "refresh-data"],
        cwd=repo,
        env={**os.environ, "GITHUB_OUTPUT": str(outputs)},
        capture_output=True,
        text=True,
        check=False,
    )
    return result, outputs.read_text() if outputs.exists() else ""


def _repo(tmp_path: Path, *, imported: bool) -> tuple[Path, Path]:
    """A repository pinning ``data/`` (imported from ``source/`` or added), with a local remote."""
    source, repo = tmp_path / "source" / "data", tmp_path / "repo"
    source.mkdir(parents=True)
    (source / "table.csv").write_text("id,value\n1,10\n", encoding="utf-8")
    repo.mkdir()
    subprocess.run([*GIT, "init", "--quiet"], cwd=repo, check=True)
    _dvc(repo, "init", "--quiet")
    _dvc(repo, "remote", "add", "--default", "storage", str(tmp_path / "remote"))
    if imported:
        _dvc(repo, "import-url", str(source), "data")
    else:
        shutil.copytree(source, repo / "data")
        _dvc(repo, "add", "data")
    _commit(repo)
    return repo, source


@pytest.mark.slow
def test_an_import_is_updated_and_only_a_real_change_counts(tmp_path: Path) -> None:
    repo, source = _repo(tmp_path, imported=True)
    pinned = (repo / "data.dvc").read_text()

    same, output = _refresh(repo, tmp_path)
    assert same.returncode == 0, same.stderr
    assert same.stdout.startswith("dvc update: the data is unchanged (md5 ")
    assert output == "changed=false\n"
    assert (repo / "data.dvc").read_text() == pinned

    (source / "table.csv").write_text("id,value\n1,10\n2,20\n", encoding="utf-8")
    new, output = _refresh(repo, tmp_path)
    assert new.returncode == 0, new.stderr
    assert new.stdout.startswith("dvc update: the data changed (md5 ")
    assert output == "changed=true\n"
    assert (repo / "data/table.csv").read_text().endswith("2,20\n")
    assert (repo / "data.dvc").read_text() != pinned
    assert any((tmp_path / "remote").rglob("*")), "the new data was not pushed to the remote"

    _commit(repo)  # the pull request merged: the same source is no longer news
    again, output = _refresh(repo, tmp_path)
    assert "unchanged" in again.stdout
    assert output == "changed=false\n"


@pytest.mark.slow
def test_a_pin_without_a_source_counts_a_re_pin_made_before_it(tmp_path: Path) -> None:
    repo, _ = _repo(tmp_path, imported=False)
    result, output = _refresh(repo, tmp_path)
    assert result.stdout.startswith("data.dvc is not a DVC import, so nothing to update: ")
    assert output == "changed=false\n"
    # A team's own export step, as the data-refresh recipe would run it before the command.
    (repo / "data/table.csv").write_text("id,value\n3,30\n", encoding="utf-8")
    _dvc(repo, "add", "data")
    result, output = _refresh(repo, tmp_path)
    assert "the data changed" in result.stdout
    assert output == "changed=true\n"


@pytest.mark.slow
def test_an_unreachable_source_fails_with_one_sentence(tmp_path: Path) -> None:
    repo, source = _repo(tmp_path, imported=True)
    shutil.rmtree(source)
    result, output = _refresh(repo, tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: dvc update failed: ")
    assert "Traceback" not in result.stderr
    assert output == ""


# ---------------------------------------------------------------- fast: the decision, on plain pins

PIN = "outs:\n- md5: {md5}.dir\n  size: 8\n  nfiles: 1\n  hash: md5\n  path: data\n"


def _git_repo(tmp_path: Path, pin: str) -> Path:
    """A git repository whose HEAD holds ``data.dvc`` = ``pin``."""
    subprocess.run([*GIT, "init", "--quiet", str(tmp_path)], check=True)
    (tmp_path / "data.dvc").write_text(pin)
    _commit(tmp_path)
    return tmp_path


def _invoke(repo: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, str]:
    monkeypatch.chdir(repo)
    monkeypatch.setenv("GITHUB_OUTPUT", str(repo / "github_output"))
    result = CliRunner().invoke(app, ["refresh-data"])
    outputs = repo / "github_output"
    return result.exit_code, result.output, outputs.read_text() if outputs.exists() else ""


def test_the_committed_pin_is_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _git_repo(tmp_path, PIN.format(md5="a" * 32))
    code, output, changed = _invoke(repo, monkeypatch)
    assert (code, changed) == (0, "changed=false\n")
    assert output == (
        f"data.dvc is not a DVC import, so nothing to update: the data is unchanged "
        f"(md5 {'a' * 32}.dir)\n"
    )


def test_a_pin_that_differs_from_head_is_a_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = _git_repo(tmp_path, PIN.format(md5="a" * 32))
    (repo / "data.dvc").write_text(PIN.format(md5="b" * 32))  # re-pinned by the team's step
    code, output, changed = _invoke(repo, monkeypatch)
    assert (code, changed) == (0, "changed=true\n")
    assert "the data changed (md5 " in output
    assert f"-> {'b' * 32}.dir)" in output


@pytest.mark.slow  # the real `dvc update`, as a subprocess
def test_an_import_whose_update_fails_is_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    imported = "deps:\n- path: /nowhere/data\n" + PIN.format(md5="a" * 32)
    repo = _git_repo(tmp_path, imported)
    code, output, changed = _invoke(repo, monkeypatch)
    assert (code, changed) == (1, "")
    assert output.startswith("error: dvc update failed: ")
