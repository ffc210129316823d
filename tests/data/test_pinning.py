"""Loading and pinning: deterministic bytes, safe reading, DVC verification, clear refusals.

The tables are synthetic rows of the project's schema and the domain's offline generator is
replaced by a synthetic one, so these tests hold whatever data a project pins. The bundled
sample's own bytes are checked in ``tests/example/``.
"""

import csv
import hashlib
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from churn_model.cli import app
from churn_model.data import pinning
from churn_model.data.pinning import (
    DATA_FILE,
    DVC_FILE,
    DataInfo,
    data_version,
    load_dataset,
    materialise,
    read_table,
)
from churn_model.data.synthetic import synthetic_frame
from churn_model.data.tables import write_csv
from churn_model.data.validation import validate
from churn_model.domain import example
from churn_model.domain.schema import SCHEMA
from churn_model.errors import UserError

from model_support import spare_name

ROOT = Path(__file__).resolve().parents[2]
ROWS = SCHEMA.min_rows + 100  # small and fast, yet a valid training table
LABEL = SCHEMA.label


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    """A small valid table, as generated."""
    return synthetic_frame(ROWS, seed=1)


@pytest.fixture
def small_csv(small: pd.DataFrame, tmp_path: Path) -> Path:
    """The small table written as the pinned data is written."""
    path = tmp_path / "small.csv"
    write_csv(small, path)
    return path


@pytest.fixture
def dvc_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The cheapest repository DVC accepts: git init, this project's .dvc/ and data.dvc.

    The domain's offline generator is replaced by a synthetic one: what it builds is not what
    ``data.dvc`` pins, unless a test says otherwise through a fake DVC.
    """
    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)
    (tmp_path / ".dvc").mkdir()
    for name in (".dvc/config", ".dvc/.gitignore", str(DVC_FILE)):
        shutil.copy(ROOT / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(example, "build_sample", lambda: synthetic_frame(ROWS, seed=2))
    return tmp_path


def _pin() -> dict[str, object]:
    pinned: dict[str, object] = yaml.safe_load((ROOT / DVC_FILE).read_text())["outs"][0]
    return pinned


def test_write_csv_bytes_are_deterministic_and_plain(small: pd.DataFrame, tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    write_csv(small, first)
    write_csv(small[list(reversed(small.columns))], second)
    raw = first.read_bytes()
    assert raw == second.read_bytes()
    assert b"\r" not in raw
    lines = raw.decode().splitlines()
    assert lines[0] == ",".join(SCHEMA.column_names())
    for position, name in enumerate(SCHEMA.column_names()):
        if name in SCHEMA.feature_names() and SCHEMA.feature(name).kind == "bool":
            assert {line.split(",")[position] for line in lines[1:]} <= {"true", "false", ""}
    if any(c.nullable for c in SCHEMA.features):  # a missing value is an empty field
        fields = {field.lower() for row in csv.reader(lines[1:]) for field in row}
        assert not fields & {"nan", "none", "<na>"}, fields & {"nan", "none", "<na>"}
    assert [p.name for p in tmp_path.iterdir()] == ["a.csv", "b.csv"]  # no temporary file left


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    small: pd.DataFrame, small_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = small_csv.read_bytes()

    def broken(*_: object, **__: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        write_csv(small.head(3), small_csv)
    assert small_csv.read_bytes() == before
    assert [p.name for p in small_csv.parent.iterdir()] == [small_csv.name]


def test_write_csv_round_trips_through_read_and_validate(
    small: pd.DataFrame, small_csv: Path
) -> None:
    pd.testing.assert_frame_equal(
        validate(read_table(small_csv), "csv"), validate(small, "generated")
    )


def test_parquet_is_read_too(small: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "small.parquet"
    small.to_parquet(path)
    frame, info = load_dataset(path)
    pd.testing.assert_frame_equal(frame, validate(small, "generated"))
    assert info.rows == ROWS


def test_reading_as_text_keeps_every_value_as_written(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("code,amount\n00123,1.50\n,2\n", encoding="utf-8")
    frame = read_table(path, as_text=True)
    assert frame["code"].tolist()[0] == "00123"
    assert frame["amount"].tolist() == ["1.50", "2"]
    assert frame["code"].isna().tolist() == [False, True]


def test_data_version_of_a_file_is_the_sha256_of_its_bytes(small_csv: Path) -> None:
    expected = hashlib.sha256(small_csv.read_bytes()).hexdigest()
    assert data_version(small_csv) == f"sha256:{expected}"
    frame, info = load_dataset(small_csv)
    assert info == DataInfo(version=f"sha256:{expected}", source=str(small_csv), rows=len(frame))


def test_data_version_of_the_pinned_file_is_the_md5_data_dvc_records(dvc_repo: Path) -> None:
    assert data_version(DATA_FILE) == f"md5:{_pin()['md5']}"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "data.dvc: not found"),
        ("outs: [unclosed", "not valid YAML"),
        ("outs: []\n", "exactly one entry under 'outs'"),
        ("outs:\n- path: data\n", "has no md5"),
    ],
)
def test_a_broken_data_dvc_is_refused(dvc_repo: Path, content: str | None, message: str) -> None:
    target = dvc_repo / DVC_FILE
    if content is None:
        target.unlink()
    else:
        target.write_text(content, encoding="utf-8")
    with pytest.raises(UserError, match=message):
        data_version(DATA_FILE)


# ---------------------------------------------------------------- DVC: verify, pull, rebuild


@pytest.mark.slow  # the real dvc CLI, as a subprocess
def test_dvc_refuses_data_that_is_not_the_pin_and_leaves_it_alone(dvc_repo: Path) -> None:
    # A fresh clone (no DVC cache) whose data/ holds something else than the pin: the real DVC
    # says so. (That the pinned bytes pass is shown end to end by `just data` in tests/example/.)
    write_csv(synthetic_frame(ROWS, seed=9), DATA_FILE)
    written = DATA_FILE.read_bytes()
    with pytest.raises(UserError) as caught:
        load_dataset()
    message = str(caught.value)
    pin = _pin()
    assert message.startswith("data/ does not match data.dvc (dvc data status: modified)")
    assert f"data.dvc pins: {pin['nfiles']} file(s), {pin['size']} bytes, md5 {pin['md5']}" in (
        message
    )
    assert f"data/ holds: 1 file(s), {len(written)} bytes ({DATA_FILE.name})" in message
    assert "move data/ aside and run `just data`" in message
    assert "`uv run dvc add data`" in message
    assert DATA_FILE.read_bytes() == written  # never silently overwritten


def _completed(stdout: str = "", returncode: int = 0) -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess([], returncode, stdout=stdout, stderr="")


MATCHES = _completed("{}")
DIFFERS = _completed('{"uncommitted": {"modified": ["data/"]}}')


def _fake_dvc(
    answers: dict[str, subprocess.CompletedProcess[str]], calls: list[str]
) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        calls.append(" ".join(args))
        if args[0] == "pull" and answers["pull"].returncode == 0:
            write_csv(synthetic_frame(ROWS, seed=3), DATA_FILE)
        return answers[args[0]]

    return run


@pytest.mark.parametrize(
    "scenario",
    [
        ("", 0, ["remote default", "data status --json"], False),
        ("storage\n", 0, ["remote default", "pull", "data status --json"], False),
        ("storage\n", 1, ["remote default", "pull", "data status --json"], True),
    ],
    ids=["no remote: rebuilt", "remote: pulled", "remote unreachable: rebuilt"],
)
def test_missing_data_is_pulled_when_a_remote_answers_else_rebuilt(
    dvc_repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    scenario: tuple[str, int, list[str], bool],
) -> None:
    remote, pull_rc, expected_calls, warned = scenario
    calls: list[str] = []
    answers = {
        "remote": _completed(remote, 0 if remote else 1),
        "pull": _completed(returncode=pull_rc),
        "data": MATCHES,
    }
    monkeypatch.setattr(pinning, "_dvc", _fake_dvc(answers, calls))
    frame, info = load_dataset()
    assert calls == expected_calls
    assert info == DataInfo(version=data_version(DATA_FILE), source=str(DATA_FILE), rows=ROWS)
    assert info.version.startswith("md5:")
    assert len(frame) == info.rows
    assert ("dvc pull from the remote 'storage' failed" in capsys.readouterr().err) is warned


def test_a_rebuild_that_is_not_the_pin_is_removed_and_the_way_out_named(
    dvc_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # data.dvc pins a team's own data, and no remote is configured: rebuilding the bundled sample
    # cannot help. The advice must not be "run `just data` again", which would loop.
    answers = {"remote": _completed("", 1), "data": DIFFERS}
    monkeypatch.setattr(pinning, "_dvc", _fake_dvc(answers, []))
    with pytest.raises(UserError) as caught:
        materialise()
    message = str(caught.value)
    assert "no DVC remote is configured" in message
    assert "the bundled sample rebuilt from code is not what data.dvc pins" in message
    assert "`uv run dvc remote add -d storage <url>`" in message
    assert "uv run dvc push" in message
    assert "move data/ aside" not in message
    assert not (dvc_repo / "data").exists()  # nothing left to trip the next run


def test_without_a_remote_nor_a_generator_the_remote_is_asked_for(
    dvc_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(example, "build_sample", None)
    monkeypatch.setattr(pinning, "_dvc", _fake_dvc({"remote": _completed("", 1)}, []))
    with pytest.raises(UserError) as caught:
        materialise()
    message = str(caught.value)
    assert message.startswith(f"{DATA_FILE} is missing and cannot be fetched")
    assert "no DVC remote is configured" in message
    assert "Configure the DVC remote that holds the data data.dvc pins" in message
    assert not (dvc_repo / "data").exists()


@pytest.mark.parametrize(
    ("remote", "generator", "advice"),
    [
        ("storage\n", True, "it pulls the pinned data from the DVC remote 'storage'"),
        ("", True, "no DVC remote is configured, so it rebuilds the bundled sample from code"),
        ("", False, "it needs the DVC remote that holds the pinned data: configure it"),
    ],
    ids=["remote", "no remote, a generator", "no remote, no generator"],
)
def test_data_that_differs_gets_the_ways_out_that_lead_somewhere(
    dvc_repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    remote: str,
    generator: bool,
    advice: str,
) -> None:
    if not generator:
        monkeypatch.setattr(example, "build_sample", None)
    write_csv(synthetic_frame(ROWS, seed=4), DATA_FILE)
    answers = {"remote": _completed(remote, 0 if remote else 1), "data": DIFFERS}
    monkeypatch.setattr(pinning, "_dvc", _fake_dvc(answers, []))
    with pytest.raises(UserError) as caught:
        materialise()
    message = str(caught.value)
    assert f"move data/ aside and run `just data`: {advice}" in message
    assert "re-pin it deliberately: `uv run dvc add data`" in message


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            _completed("WARNING: odd\nERROR: boom", returncode=2),
            "dvc data status failed: ERROR: boom",
        ),
        (_completed("", returncode=2), "dvc data status failed: no output"),
        (_completed("not json"), "printed no JSON"),
    ],
)
def test_a_failing_dvc_is_a_user_error(
    dvc_repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    answer: subprocess.CompletedProcess[str],
    message: str,
) -> None:
    write_csv(synthetic_frame(ROWS), DATA_FILE)
    monkeypatch.setattr(pinning, "_dvc", lambda *_: answer)
    with pytest.raises(UserError, match=message):
        materialise()


def test_missing_dvc_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda *_, **__: None)
    with pytest.raises(UserError, match="dvc is not installed"):
        materialise()


def test_the_workspace_summary_names_what_is_there(dvc_repo: Path) -> None:
    assert pinning._workspace_summary() == "data/ is missing"
    for index in range(7):
        (dvc_repo / "data").mkdir(exist_ok=True)
        (dvc_repo / "data" / f"f{index}.csv").write_text("x", encoding="utf-8")
    assert pinning._workspace_summary().endswith(
        "7 file(s), 7 bytes (f0.csv, f1.csv, f2.csv, f3.csv, f4.csv, ...)"
    )


# ---------------------------------------------------------------- corrupted inputs


def _frame_case(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path, Path], Path]:
    """A corrupted copy made by changing the table, then writing it as the pinned data is."""

    def build(good: Path, tmp_path: Path) -> Path:
        path = tmp_path / "corrupted.csv"
        write_csv(change(read_table(good)), path)
        return path

    return build


def _file_case(write: Callable[[Path, Path], object], name: str) -> Callable[[Path, Path], Path]:
    """A corrupted file written directly (bytes that are not a valid table)."""

    def build(good: Path, tmp_path: Path) -> Path:
        path = tmp_path / name
        write(good, path)
        return path

    return build


def _labels(share: float) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """The table with the first ``share`` of rows positive, the others negative."""

    def change(frame: pd.DataFrame) -> pd.DataFrame:
        positive = np.arange(len(frame)) < share * len(frame)
        values = pd.Series(np.where(positive, LABEL.positive, LABEL.negative), index=frame.index)
        return frame.assign(**{LABEL.name: values.astype(frame[LABEL.name].dtype)})

    return change


def _not_a_label(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype({LABEL.name: object})
    frame.loc[1, LABEL.name] = "neither"
    return frame


FIRST = SCHEMA.feature_names()[0]
LOW, HIGH = SCHEMA.positive_rate
CORRUPTIONS: dict[str, tuple[Callable[[Path, Path], Path], list[str]]] = {
    # The rules of single columns are checked value by value in test_validation.py; here, whole
    # files as a user hands them over.
    "missing column": (
        _frame_case(lambda f: f.drop(columns=[FIRST])),
        [f"{FIRST}: required: the column is missing"],
    ),
    "label not one of its values": (
        _frame_case(_not_a_label),
        [f"{LABEL.name}: ", "row 2 ('neither')"],
    ),
    "header only": (
        _frame_case(lambda f: f.head(0)),
        [
            f"{LABEL.name}: min_rows({SCHEMA.min_rows}): 0 rows",
            f"{LABEL.name}: both_classes: label values present: none",
        ],
    ),
    "too few rows": (
        _frame_case(lambda f: f.head(SCHEMA.min_rows - 1)),
        [f"{LABEL.name}: min_rows({SCHEMA.min_rows}): {SCHEMA.min_rows - 1:,} rows"],
    ),
    "a single class": (
        _frame_case(_labels(0.0)),
        [f"{LABEL.name}: both_classes: label values present: [{LABEL.negative!r}]"],
    ),
    "absurd positive rate": (
        _frame_case(_labels((1 + HIGH) / 2)),
        [f"{LABEL.name}: positive_rate({LOW:g}-{HIGH:g}): "],
    ),
    "garbage bytes": (
        _file_case(lambda _, p: p.write_bytes(bytes(range(256)) * 8), "garbage.csv"),
        ["binary content (a NUL byte", "not a CSV text file"],
    ),
    "not UTF-8": (
        _file_case(lambda _, p: p.write_bytes(b"a,b\nC1,caf\xe9\n"), "l1.csv"),
        ["not a UTF-8 text file"],
    ),
    "ragged rows": (
        _file_case(lambda _, p: p.write_text("a,b\n1,2\n3,4,5,6\n", encoding="utf-8"), "r.csv"),
        ["not a readable CSV file (CSV parse error: Row #3: Expected 2 columns, got 4"],
    ),
    "not a table": (
        _file_case(lambda _, p: p.write_text("hello world\nfoo\n", encoding="utf-8"), "t.csv"),
        ["not a table of this schema: none of the expected columns", "holds 'hello world'"],
    ),
    "a missing file": (_file_case(lambda _, p: None, "absent.csv"), ["file not found"]),
    "a directory": (_file_case(lambda _, p: p.mkdir(), "folder.csv"), ["is a directory"]),
    "semicolon-delimited": (
        _file_case(
            lambda good, p: p.write_text(
                good.read_text(encoding="utf-8").replace(",", ";"), encoding="utf-8"
            ),
            "semi.csv",
        ),
        ["looks semicolon-separated; save it comma-separated"],
    ),
    "empty file": (_file_case(lambda _, p: p.touch(), "empty.csv"), ["the file is empty"]),
    "bad parquet": (
        _file_case(lambda good, p: p.write_bytes(good.read_bytes()[:500]), "bad.parquet"),
        ["not a readable Parquet file"],
    ),
    "unknown file type": (
        _file_case(shutil.copy, "table.xlsx"),
        ["unsupported file type '.xlsx'"],
    ),
}


@pytest.mark.parametrize("case", list(CORRUPTIONS), ids=list(CORRUPTIONS))
def test_corrupted_inputs_are_refused_with_a_message_naming_the_problem(
    case: str, small_csv: Path, tmp_path: Path
) -> None:
    build, fragments = CORRUPTIONS[case]
    path = build(small_csv, tmp_path)
    with pytest.raises(UserError) as caught:
        load_dataset(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    for fragment in fragments:
        assert fragment in message


# ---------------------------------------------------------------- the CLI


runner = CliRunner()


def test_cli_data_prints_a_one_line_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    info = DataInfo(version="md5:abc.dir", source=str(DATA_FILE), rows=3)
    frame = synthetic_frame(3)
    monkeypatch.setattr("churn_model.data.pinning.load_dataset", lambda: (frame, info))
    result = runner.invoke(app, ["data"])
    assert result.exit_code == 0
    assert result.stdout == (
        f"{DATA_FILE}: 3 rows, {len(frame.columns)} columns, valid; "
        "version md5:abc.dir (verified against data.dvc)\n"
    )


def test_cli_validate_exits_0_on_a_valid_file_and_1_with_the_report(
    small: pd.DataFrame, small_csv: Path, tmp_path: Path
) -> None:
    good = runner.invoke(app, ["validate", str(small_csv)])
    assert good.exit_code == 0
    assert good.stdout == f"{small_csv}: valid, {ROWS} rows, {len(small.columns)} columns\n"

    scoring = tmp_path / "to_score.csv"
    write_csv(small.drop(columns=[LABEL.name]).head(2), scoring)
    assert runner.invoke(app, ["validate", "--scoring", str(scoring)]).exit_code == 0

    bad = runner.invoke(app, ["validate", str(scoring)])
    assert bad.exit_code == 1
    assert bad.stderr.startswith(f"error: {scoring}: ")
    assert f"{LABEL.name}: required: the column is missing" in bad.stderr
    assert "Traceback" not in bad.output


def test_write_csv_spells_a_nullable_boolean_as_the_files_do(tmp_path: Path) -> None:
    # A nullable boolean column is object-typed (True, False and None): it was written "True".
    flags = np.array([True, None, False], dtype=object)
    frame = pd.DataFrame({spare_name("flag"): flags, spare_name("row"): [1, 2, 3]})
    write_csv(frame, tmp_path / "flags.csv")
    assert (tmp_path / "flags.csv").read_text().splitlines()[1:] == ["true,1", ",2", "false,3"]
