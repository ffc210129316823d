"""Loading and pinning: deterministic bytes, safe reading, DVC verification, clear refusals."""

import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from churn_model import data
from churn_model.card import DataInfo
from churn_model.cli import app
from churn_model.data import (
    DVC_FILE,
    SAMPLE_PATH,
    data_version,
    load_dataset,
    materialise,
    read_table,
    write_csv,
)
from churn_model.domain.example import generate_sample
from churn_model.errors import UserError
from churn_model.validation import validate

ROOT = Path(__file__).resolve().parents[1]
ROWS = 600  # just above schema.MIN_ROWS: small and fast, yet a valid training table


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    """A small valid table, as generated."""
    return generate_sample(ROWS)


@pytest.fixture
def small_csv(small: pd.DataFrame, tmp_path: Path) -> Path:
    """The small table written as the sample is written."""
    path = tmp_path / "small.csv"
    write_csv(small, path)
    return path


@pytest.fixture(scope="module")
def sample_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The bytes of the full sample as materialise writes it (without needing data/ to exist)."""
    path = tmp_path_factory.mktemp("sample") / "churn.csv"
    write_csv(generate_sample(), path)
    return path.read_bytes()


@pytest.fixture
def dvc_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The cheapest repository DVC accepts: git init, this project's .dvc/ and data.dvc."""
    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)
    (tmp_path / ".dvc").mkdir()
    for name in (".dvc/config", ".dvc/.gitignore", str(DVC_FILE)):
        shutil.copy(ROOT / name, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_write_csv_bytes_are_deterministic_and_plain(small: pd.DataFrame, tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    write_csv(small, first)
    write_csv(small[list(reversed(small.columns))], second)
    raw = first.read_bytes()
    assert raw == second.read_bytes()
    assert b"\r" not in raw
    header, row = raw.decode().splitlines()[:2]
    assert header.startswith("customer_id,tenure_months,")
    assert row.split(",")[5] in {"true", "false"}
    assert ",," in raw.decode()  # never-purchased customers: an empty field, not "nan"
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


def test_the_pinned_sample_is_what_generate_sample_writes(sample_bytes: bytes) -> None:
    pinned = (ROOT / DVC_FILE).read_text(encoding="utf-8")
    assert f"size: {len(sample_bytes)}" in pinned


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


def test_data_version_of_a_file_is_the_sha256_of_its_bytes(small_csv: Path) -> None:
    expected = hashlib.sha256(small_csv.read_bytes()).hexdigest()
    assert data_version(small_csv) == f"sha256:{expected}"
    frame, info = load_dataset(small_csv)
    assert info == DataInfo(version=f"sha256:{expected}", source=str(small_csv), rows=len(frame))


def test_data_version_of_the_sample_is_the_md5_data_dvc_records(dvc_repo: Path) -> None:
    md5 = next(
        line.split(":", 1)[1].strip()
        for line in (dvc_repo / DVC_FILE).read_text(encoding="utf-8").splitlines()
        if "md5:" in line
    )
    assert data_version(SAMPLE_PATH) == f"md5:{md5}"


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
        data_version(SAMPLE_PATH)


def test_dvc_refuses_an_edited_sample_and_leaves_it_alone(
    dvc_repo: Path, sample_bytes: bytes
) -> None:
    # A fresh clone (no DVC cache) whose sample was edited by hand. That an unedited sample passes
    # is shown end to end by the slow fresh-clone test below (and by `just data` in CI).
    edited = sample_bytes.replace(b",42,", b",43,", 1)
    SAMPLE_PATH.parent.mkdir()
    SAMPLE_PATH.write_bytes(edited)
    with pytest.raises(UserError) as caught:
        load_dataset()
    message = str(caught.value)
    assert message.startswith("data/ does not match data.dvc (dvc data status: modified)")
    assert "data.dvc pins: 1 file(s), 682501 bytes, md5 " in message
    assert "data/ holds: 1 file(s), 682501 bytes (churn.csv)" in message
    assert SAMPLE_PATH.read_bytes() == edited  # never silently overwritten


def _completed(stdout: str = "", returncode: int = 0) -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess([], returncode, stdout=stdout, stderr="")


def _fake_dvc(
    answers: dict[str, subprocess.CompletedProcess[str]], calls: list[str]
) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        calls.append(" ".join(args))
        if args[0] == "pull" and answers["pull"].returncode == 0:
            write_csv(generate_sample(), SAMPLE_PATH)
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
def test_a_missing_sample_is_pulled_when_a_remote_answers_else_rebuilt(
    dvc_repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    sample_bytes: bytes,
    scenario: tuple[str, int, list[str], bool],
) -> None:
    remote, pull_rc, expected_calls, warned = scenario
    calls: list[str] = []
    answers = {
        "remote": _completed(remote, 0 if remote else 1),
        "pull": _completed(returncode=pull_rc),
        "data": _completed("{}"),
    }
    monkeypatch.setattr(data, "_dvc", _fake_dvc(answers, calls))
    frame, info = load_dataset()
    assert calls == expected_calls
    assert info == DataInfo(version=data_version(SAMPLE_PATH), source=str(SAMPLE_PATH), rows=10_000)
    assert info.version.startswith("md5:")
    assert len(frame) == info.rows
    assert SAMPLE_PATH.read_bytes() == sample_bytes
    assert ("dvc pull from remote 'storage' failed" in capsys.readouterr().err) is warned


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
    write_csv(generate_sample(ROWS), SAMPLE_PATH)
    monkeypatch.setattr(data, "_dvc", lambda *_: answer)
    with pytest.raises(UserError, match=message):
        materialise()


def test_missing_dvc_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda *_, **__: None)
    with pytest.raises(UserError, match="dvc is not installed"):
        materialise()


def test_the_workspace_summary_names_what_is_there(dvc_repo: Path) -> None:
    assert data._workspace_summary() == "data/ is missing"
    for index in range(7):
        (dvc_repo / "data").mkdir(exist_ok=True)
        (dvc_repo / "data" / f"f{index}.csv").write_text("x", encoding="utf-8")
    assert data._workspace_summary().endswith(
        "7 file(s), 7 bytes (f0.csv, f1.csv, f2.csv, f3.csv, f4.csv, ...)"
    )


# ---------------------------------------------------------------- corrupted inputs


def _frame_case(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path, Path], Path]:
    """A corrupted copy made by changing the table, then writing it as the sample is written."""

    def build(good: Path, tmp_path: Path) -> Path:
        path = tmp_path / "corrupted.csv"
        write_csv(change(read_table(good)), path)
        return path

    return build


def _set(
    column: str, rows: list[int], value: str | float | None
) -> Callable[[pd.DataFrame], pd.DataFrame]:
    def change(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.astype({column: "object"})
        frame.loc[rows, column] = value
        return frame

    return change


def _file_case(write: Callable[[Path, Path], object], name: str) -> Callable[[Path, Path], Path]:
    """A corrupted file written directly (bytes that are not a valid table)."""

    def build(good: Path, tmp_path: Path) -> Path:
        path = tmp_path / name
        write(good, path)
        return path

    return build


def _ones(share: float) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return lambda f: f.assign(churn=(np.arange(len(f)) < share * len(f)).astype(int))


CORRUPTIONS: dict[str, tuple[Callable[[Path, Path], Path], list[str]]] = {
    "missing column": (
        _frame_case(lambda f: f.drop(columns=["contract"])),
        ["contract: required: the column is missing"],
    ),
    "nulls": (
        _frame_case(_set("tenure_months", [3, 7], None)),
        ["tenure_months: not_nullable: 2 rows, e.g. row 4, row 8"],
    ),
    "text in a numeric column": (
        _frame_case(_set("monthly_charges", [2], "twelve")),
        ["monthly_charges: type float", "row 3 ('twelve')"],
    ),
    "out of range": (
        _frame_case(_set("num_products", [0, 1], 11)),
        ["num_products: less_than_or_equal_to(10): 2 rows, e.g. row 1 (11), row 2 (11)"],
    ),
    "negative": (
        _frame_case(_set("monthly_charges", [5], -3.5)),
        ["monthly_charges: greater_than(0): 1 row, e.g. row 6 (-3.5)"],
    ),
    "not a whole number": (
        _frame_case(_set("tenure_months", [9], 2.5)),
        ["tenure_months: whole_number: 1 row, e.g. row 10 (2.5)"],
    ),
    "unknown category": (
        _frame_case(_set("payment_method", [4], "bitcoin")),
        ["payment_method: isin(", "row 5 ('bitcoin')"],
    ),
    "not a boolean": (
        _frame_case(_set("has_support_calls", [6], "maybe")),
        ["has_support_calls: boolean: 1 row, e.g. row 7 ('maybe')"],
    ),
    "duplicate ids": (
        _frame_case(_set("customer_id", [10, 20], "C-dup")),
        ["customer_id: unique: 2 rows, e.g. row 11 ('C-dup'), row 21 ('C-dup')"],
    ),
    "infinite values": (
        _frame_case(_set("total_charges", [8], float("inf"))),
        ["total_charges: finite: 1 row, e.g. row 9 (inf)"],
    ),
    "label not 0/1": (
        _frame_case(_set("churn", [1], 3)),
        ["churn: isin([0, 1]): 1 row, e.g. row 2 (3)"],
    ),
    "header only": (
        _frame_case(lambda f: f.head(0)),
        ["churn: min_rows(500): 0 rows", "churn: both_classes: label values present: none"],
    ),
    "too few rows": (_frame_case(lambda f: f.head(120)), ["churn: min_rows(500): 120 rows"]),
    "a single class": (
        _frame_case(lambda f: f.assign(churn=0)),
        ["churn: both_classes: label values present: [0]"],
    ),
    "absurd positive rate": (
        _frame_case(_ones(0.9)),
        ["churn: positive_rate(0.05-0.6): 0.900 of rows are labelled 1"],
    ),
    "garbage bytes": (
        _file_case(lambda _, p: p.write_bytes(bytes(range(256)) * 8), "garbage.csv"),
        ["binary content, not a CSV text file"],
    ),
    "not UTF-8": (
        _file_case(lambda _, p: p.write_bytes(b"customer_id,contract\nC1,caf\xe9\n"), "l1.csv"),
        ["not a UTF-8 text file"],
    ),
    "ragged rows": (
        _file_case(lambda _, p: p.write_text("a,b\n1,2\n3,4,5,6\n", encoding="utf-8"), "r.csv"),
        ["not a readable CSV file (Error tokenizing data"],
    ),
    "not a table": (
        _file_case(lambda _, p: p.write_text("hello world\nfoo\n", encoding="utf-8"), "t.csv"),
        ["not a customer table: none of the expected columns", "holds 'hello world'"],
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
    info = DataInfo(version="md5:abc.dir", source="data/churn.csv", rows=3)
    monkeypatch.setattr("churn_model.data.load_dataset", lambda: (generate_sample(3), info))
    result = runner.invoke(app, ["data"])
    assert result.exit_code == 0
    assert result.stdout == (
        "data/churn.csv: 3 rows, 10 columns, valid; "
        "version md5:abc.dir (verified against data.dvc)\n"
    )


def test_cli_validate_exits_0_on_a_valid_file_and_1_with_the_report(
    small: pd.DataFrame, small_csv: Path, tmp_path: Path
) -> None:
    good = runner.invoke(app, ["validate", str(small_csv)])
    assert good.exit_code == 0
    assert good.stdout == f"{small_csv}: valid, {ROWS} rows, 10 columns\n"

    scoring = tmp_path / "to_score.csv"
    write_csv(small.drop(columns=["churn"]).head(2), scoring)
    assert runner.invoke(app, ["validate", "--scoring", str(scoring)]).exit_code == 0

    bad = runner.invoke(app, ["validate", str(scoring)])
    assert bad.exit_code == 1
    assert bad.stderr.startswith(f"error: {scoring}: 3 problems found")
    assert "churn: required: the column is missing" in bad.stderr
    assert "Traceback" not in bad.output


# ---------------------------------------------------------------- a fresh clone, end to end


@pytest.mark.slow
def test_just_data_rebuilds_and_verifies_the_sample_in_a_fresh_clone(
    tmp_path: Path, sample_bytes: bytes
) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(ROOT / ".venv"), "UV_NO_SYNC": "1"}
    result = subprocess.run(
        ["just", "data"], cwd=clone, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "data/churn.csv: 10000 rows" in result.stdout
    assert (clone / "data/churn.csv").read_bytes() == sample_bytes
