"""Every user error is one sentence: a full disk and a Parquet file pandas cannot rebuild.

A full disk is produced for real, never simulated: ``/dev/full`` answers every write with ENOSPC
(the gate's job summary is a file the user names, so it can be that device), and the slow tests
mount a tiny tmpfs in a user namespace (``unshare --user --map-root-user --mount``, no privileges
needed where unprivileged user namespaces are allowed, as on this project's CI machine), fill it,
and run ``train``, ``predict`` and ``export`` into it (``export`` must name the file it writes,
not the champion's file it copies).
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from churn_model.cli import app
from churn_model.domain.schema import SCHEMA

from model_support import ROOT, fast_config, make_project, spare_name, write_sample
from served_model import make_model_dir, sample, trained_candidate

runner = CliRunner()
DEV_FULL = Path("/dev/full")
FULL = "cannot write it: no space left on the device (or over quota)"
EXTRA = spare_name("extra")
"""A column beyond the schema's."""


def _one_line_error(output: str) -> str:
    assert output.count("\n") == 1, output
    assert output.startswith("error: "), output
    assert "Traceback" not in output
    return output


# ------------------------------------------------------------------------------ a full disk


def test_the_gate_summary_on_a_full_device_is_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(tmp_path)
    built = trained_candidate()
    shutil.copytree(built, tmp_path / "artifacts/candidates" / built.name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(DEV_FULL))
    result = runner.invoke(app, ["gate"])
    assert result.exit_code == 1
    line = _one_line_error(result.output.splitlines()[-1] + "\n")
    assert (
        line == f"error: {DEV_FULL}: cannot write it: no space left on the device (or over quota)\n"
    )


def _in_a_full_tmpfs(
    workdir: Path, commands: list[list[str]]
) -> list[subprocess.CompletedProcess[str]]:
    """Run each command with ``workdir`` a 1 MiB tmpfs, filled up after its files were copied in.

    The tmpfs is mounted in a private user and mount namespace, so nothing outside the test sees it
    and no privilege is needed. Returns one result per command, in order.
    """
    staging = workdir.with_name(workdir.name + "-staging")
    shutil.copytree(workdir, staging)
    script = workdir.parent / "run.py"
    script.write_text(
        "import json, subprocess, sys\n"
        "commands = json.loads(sys.argv[1])\n"
        "results = [subprocess.run(c, capture_output=True, text=True) for c in commands]\n"
        "print(json.dumps([[r.returncode, r.stdout, r.stderr] for r in results]))\n"
    )
    shell = (
        f'mount -t tmpfs -o size=1m tmpfs "{workdir}" && cp -r "{staging}/." "{workdir}" '
        f'&& (dd if=/dev/zero of="{workdir}/filler" bs=4k 2>/dev/null || true) '
        f'&& cd "{workdir}" && exec "{sys.executable}" "{script}" "$0"'
    )
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [
            "unshare",
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            shell,
            json.dumps(commands),
        ],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
    )
    assert done.returncode == 0, f"could not run in a full tmpfs: {done.stderr}"
    return [
        subprocess.CompletedProcess(command, code, out, err)
        for command, (code, out, err) in zip(commands, json.loads(done.stdout), strict=True)
    ]


@pytest.mark.slow
def test_train_and_predict_on_a_full_disk_say_one_sentence(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    fast_config(project / "configs/model.toml")
    write_sample(project / "sample.csv", 600)
    source = project / "in.csv"
    sample(50, seed=2).drop(columns=[SCHEMA.label.name]).to_csv(source, index=False)
    model_dir = tmp_path / "model"
    make_model_dir(model_dir)
    cli = [sys.executable, "-m", "churn_model"]
    train, predict = _in_a_full_tmpfs(
        project,
        [
            [*cli, "train", "sample.csv"],
            [*cli, "predict", "in.csv", "out.csv", "--model-dir", str(model_dir)],
        ],
    )
    assert train.returncode == 1, train.stderr
    assert _one_line_error(train.stderr) == f"error: artifacts/candidates: {FULL}\n"
    assert predict.returncode == 1, predict.stderr
    assert _one_line_error(predict.stderr) == f"error: out.csv: {FULL}\n"


@pytest.mark.slow
def test_export_to_a_full_disk_names_the_destination(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path / "project")
    built = trained_candidate()
    shutil.copytree(built, project / "artifacts/candidates" / built.name)
    monkeypatch.chdir(project)
    for command in ("gate", "promote"):
        done = runner.invoke(app, [command])
        assert done.exit_code == 0, done.output
    full = tmp_path / "full"
    full.mkdir()
    # The registry stays on this disk: only the destination, in the full tmpfs, has no room.
    cli = [sys.executable, "-m", "churn_model"]
    (export,) = _in_a_full_tmpfs(full, [["env", "-C", str(project), *cli, "export", str(full)]])
    assert export.returncode == 1, export.stderr
    assert _one_line_error(export.stderr) == f"error: {full}/model.skops: {FULL}\n"


# ------------------------------------------------------------------------------ Parquet


def _nested_by_pandas(path: Path) -> None:
    """A nested (struct) column written by pandas itself: its metadata names an Arrow dtype."""
    frame = sample(20, seed=3)
    struct = pd.ArrowDtype(pa.struct([("a", pa.int64())]))
    nested = pd.Series([{"a": 1}] * len(frame), dtype=struct, index=frame.index)
    frame.assign(**{EXTRA: nested}).to_parquet(path)


def _nested_misdeclared(path: Path) -> None:
    """A struct column whose pandas metadata says it holds strings (pyarrow cannot cast it)."""
    table = pa.Table.from_pandas(sample(20, seed=3).assign(**{EXTRA: "x"}), preserve_index=False)
    table = table.set_column(
        table.schema.get_field_index(EXTRA), EXTRA, pa.array([{"a": 1}] * table.num_rows)
    )
    pq.write_table(table, path)


@pytest.mark.parametrize("write", [_nested_by_pandas, _nested_misdeclared])
def test_a_nested_column_the_schema_does_not_know_is_left_alone(
    write: object, tmp_path: Path
) -> None:
    """Columns are read by Arrow, one by one: a nested extra never stops the schema's own."""
    path = tmp_path / "nested.parquet"
    assert callable(write)
    write(path)
    result = runner.invoke(app, ["validate", "--scoring", str(path)])
    assert result.exit_code == 0, result.output
    columns = len(SCHEMA.column_names())
    assert result.output == (
        f"{path}: valid, 20 rows, {columns} of {columns + 1} columns"
        f" (not in the schema, ignored: {EXTRA})\n"
    )
