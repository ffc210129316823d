"""Each of these user mistakes gets one sentence naming the file, never a traceback.

- a CSV file whose lines end with a bare carriage return, given to ``validate``, ``train``,
  ``infer-schema`` and ``predict``;
- a Parquet file naming a column twice, given to the same four commands;
- a ``predict`` output path that is a directory, or in a folder nobody may write to: refused before
  the model is loaded or a row scored (a missing model shows it: its error does not come first);
- a registry lock file that is a symbolic link;
- an ``export`` destination that is a file.

A full disk during ``export`` (it must name the destination, not the source) is produced for real,
in ``tests/test_cli_one_sentence_errors.py``.
"""

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner, Result

from churn_model.cli import app

from model_support import make_project, write_sample
from served_model import laid_out_model, sample

runner = CliRunner()


def one_sentence(result: Result) -> str:
    """The error line of a command that failed the way a user error should; the line."""
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"a traceback: {result.exception!r}"
    )
    lines = result.output.splitlines()
    assert lines, "no error message"
    assert lines[-1].startswith("error: "), result.output
    assert "Traceback" not in result.output
    return lines[-1]


@pytest.fixture(scope="module")
def model_dir() -> Path:
    return laid_out_model()


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The broken tables, built once: CR-only line endings, a Parquet column named twice."""
    folder = tmp_path_factory.mktemp("tables")
    good = write_sample(folder / "good.csv", 600)
    cr_only = folder / "cr.csv"
    cr_only.write_bytes(good.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r"))
    table = pa.Table.from_pandas(sample(600, seed=3), preserve_index=False)
    twice = table.column_names[1]
    duplicated = table.append_column(pa.field(twice, table.schema.field(1).type), table.column(1))
    pq.write_table(duplicated, folder / "twice.parquet")
    return {"good": good, "cr": cr_only, "twice": folder / "twice.parquet"}


def _run(command: str, path: Path, workdir: Path, model_dir: Path) -> Result:
    """Run ``command`` on ``path`` in a fresh project folder (``train`` writes candidates there)."""
    make_project(workdir)
    arguments = {
        "validate": ["validate", str(path)],
        "train": ["train", str(path)],
        "infer-schema": ["infer-schema", str(path), "--output", str(workdir / "schema.py")],
        "predict": ["predict", str(path), str(workdir / "out.csv"), "--model-dir", str(model_dir)],
    }[command]
    cwd = Path.cwd()
    os.chdir(workdir)
    try:
        return runner.invoke(app, arguments)
    finally:
        os.chdir(cwd)


COMMANDS = ["validate", "train", "infer-schema", "predict"]


@pytest.mark.parametrize("command", COMMANDS)
def test_carriage_return_line_endings_are_one_sentence(
    command: str, tables: dict[str, Path], model_dir: Path, tmp_path: Path
) -> None:
    line = one_sentence(_run(command, tables["cr"], tmp_path, model_dir))
    assert line == (
        f"error: {tables['cr']}: its lines end with a bare carriage return (old Mac line "
        "endings), which the CSV reader does not take; save it with LF or CRLF line endings."
    )
    assert not (tmp_path / "out.csv").exists()


def test_crlf_line_endings_are_still_read(tables: dict[str, Path], tmp_path: Path) -> None:
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes(tables["good"].read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    result = runner.invoke(app, ["validate", str(crlf)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_a_parquet_column_named_twice_is_one_sentence(
    command: str, tables: dict[str, Path], model_dir: Path, tmp_path: Path
) -> None:
    line = one_sentence(_run(command, tables["twice"], tmp_path, model_dir))
    twice = list(sample(1).columns)[1]
    assert line == f"error: {tables['twice']}: the file has the column {twice!r} twice."


# ------------------------------------------------------------------ predict's output path


def test_an_output_path_that_is_a_directory_is_refused_before_any_work(
    tables: dict[str, Path], model_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "scores.csv"
    folder.mkdir()
    expected = f"error: {folder}: is a directory; name the file to write the scores to"
    for model in (model_dir, tmp_path / "no-model"):
        result = runner.invoke(
            app, ["predict", str(tables["good"]), str(folder), "--model-dir", str(model)]
        )
        assert one_sentence(result).startswith(expected), result.output
    assert folder.is_dir()
    assert list(folder.iterdir()) == []


def _refuses_files(folder: Path) -> bool:
    """Whether creating a file in ``folder`` fails for this process."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            return False
    except OSError:
        return True


@pytest.fixture
def unwritable(tmp_path: Path) -> Iterator[Path]:
    """A folder this process cannot create a file in, verified by trying.

    Without privileges, a folder without write permission; root ignores permissions, so there it
    is a folder of ``/sys``, whose file system refuses new files to everyone.
    """
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        found = next((f for f in (locked, Path("/sys/kernel")) if _refuses_files(f)), None)
        assert found is not None, "no folder here refuses new files (not even /sys/kernel)"
        yield found
    finally:
        locked.chmod(0o755)


def test_an_unwritable_output_folder_is_refused_before_any_work(
    tables: dict[str, Path], model_dir: Path, unwritable: Path, tmp_path: Path
) -> None:
    output = unwritable / "scores.csv"
    for model in (model_dir, tmp_path / "no-model"):
        result = runner.invoke(
            app, ["predict", str(tables["good"]), str(output), "--model-dir", str(model)]
        )
        line = one_sentence(result)
        assert line.startswith(f"error: {unwritable}: cannot write the output in this folder ("), (
            line
        )
    assert not output.exists()


# ------------------------------------------------------------------ the registry


@pytest.mark.parametrize("command", ["rollback", "export"])
def test_a_lock_file_that_is_a_symlink_is_one_sentence(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(tmp_path)
    registry = tmp_path / "artifacts/registry"
    registry.mkdir(parents=True)
    target = tmp_path / "elsewhere"
    target.write_text("not the registry's\n", encoding="utf-8")
    (registry / ".lock").symlink_to(target)
    # A journal left by a crash: export takes the lock to finish it before it reads anything.
    (registry / "pending.json").write_text("{}", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    line = one_sentence(
        runner.invoke(app, [command, "build/model"][: 2 if command == "export" else 1])
    )
    assert line == (
        "error: artifacts/registry/.lock: the registry's lock file is a symbolic link, which the "
        "registry does not follow; remove it (the next command creates a plain one)."
    )
    assert target.read_text(encoding="utf-8") == "not the registry's\n"


def test_export_into_a_file_is_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    dest = tmp_path / "dist-model"
    dest.write_text("a file\n", encoding="utf-8")
    line = one_sentence(runner.invoke(app, ["export", str(dest)]))
    assert line == f"error: {dest}: is a file, not a folder to export the model into."
    assert dest.read_text(encoding="utf-8") == "a file\n"
