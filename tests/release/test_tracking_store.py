"""Tracking against MLflow's own client and local file store (fast; no server, nothing mocked).

The same calls ``test_tracking_server.py`` makes through a real server (slow set), here through
MLflow's file store in a temporary folder, so the fast suite covers every branch of the tracking
code: runs, verdicts, the alias following the baseline, and the failures. MLflow 3 keeps the file
store in maintenance mode behind ``MLFLOW_ALLOW_FILE_STORE``; these tests opt in, the project never
does (a team's server is whatever it is).
"""

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from churn_model import PROJECT_NAME
from churn_model.cli import app
from churn_model.errors import UserError
from churn_model.files import sha256_of
from churn_model.model import candidate
from churn_model.model.artifact import CARD_FILE, MODEL_FILE
from churn_model.model.card import read_card
from churn_model.release.gate import run_gate
from churn_model.release.gate_rows import Baseline
from churn_model.release.tracking import (
    CHAMPION_ALIAS,
    URI_ENV,
    Tracker,
    connect,
    find_run,
    flat_numbers,
    follow_baseline,
    log_candidate,
    log_verdict,
    staged_log,
)

from model_support import fast_model_config, lenient_gates, make_project, small_candidate

LENIENT = lenient_gates()
FAST_MODEL = fast_model_config()
runner = CliRunner()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A file store as the tracking URI for the module's tests."""
    root = tmp_path_factory.mktemp("mlruns")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
        patch.setenv(URI_ENV, root.as_uri())
        yield root


@pytest.fixture(scope="module")
def tracker(store: Path) -> Tracker:
    found = connect()
    assert found is not None
    return found


@pytest.fixture(scope="module")
def gated(tracker: Tracker, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small candidate trained with tracking on, then gated (verdict logged)."""
    tmp = tmp_path_factory.mktemp("tracked")
    folder = small_candidate(tmp, log_staged=staged_log(tracker))
    assert log_verdict(tracker, folder, run_gate(folder, LENIENT, None, FAST_MODEL)) is not None
    return folder


def test_a_candidate_and_its_verdict_are_one_run(tracker: Tracker, gated: Path) -> None:
    card = read_card(gated / CARD_FILE)
    run = find_run(tracker, card.id)
    assert run is not None
    assert run.info.run_name == card.id
    assert run.info.status == "FINISHED"
    logged = {k: v for k, v in run.data.metrics.items() if not k.startswith("gate.")}
    assert logged == pytest.approx(flat_numbers(card.metrics.model_dump()))
    assert run.data.metrics["gate.passed"] == 1.0
    assert run.data.params["seed"] == str(card.seed)
    assert run.data.tags["model_sha256"] == sha256_of(gated / MODEL_FILE)
    assert run.data.tags["gate.result"] == "passed"
    listed = tracker.client.list_artifacts(run.info.run_id, "candidate")
    assert {info.path for info in listed} == {f"candidate/{p.name}" for p in gated.iterdir()}


def test_the_champion_alias_follows_the_baseline(tracker: Tracker, gated: Path) -> None:
    card = read_card(gated / CARD_FILE)
    client = tracker.client
    assert follow_baseline(tracker, card.id).startswith(
        f"MLflow: {PROJECT_NAME} version 1 ({card.id}) is @{CHAMPION_ALIAS} at file://"
    )
    assert "version 1" in follow_baseline(tracker, card.id)  # idempotent: no second version
    assert len(client.search_model_versions(f"name = '{PROJECT_NAME}'")) == 1
    version = client.get_model_version_by_alias(PROJECT_NAME, CHAMPION_ALIAS)
    assert version.tags["candidate_id"] == card.id

    # A champion without a gated run: the alias is removed, not left on another model.
    ungated = card.model_copy(update={"id": "ungated-1"})
    log_candidate(tracker, gated, ungated)
    message = follow_baseline(tracker, "ungated-1")
    assert message.startswith(f"MLflow: {PROJECT_NAME} has no @{CHAMPION_ALIAS}: ")
    assert "candidate ungated-1 has no gated run" in message
    assert CHAMPION_ALIAS not in client.get_registered_model(PROJECT_NAME).aliases
    assert len(client.search_model_versions(f"name = '{PROJECT_NAME}'")) == 1
    assert follow_baseline(tracker, None).endswith("there is no champion")
    with pytest.raises(UserError, match="is not a candidate id"):
        follow_baseline(tracker, "x' or name = 'y")


def test_a_failure_while_logging_marks_the_run_failed(
    tracker: Tracker, gated: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("artifacts cannot go under a file")
    broken_id = tracker.client.create_experiment(
        "broken", artifact_location=(blocker / "x").as_uri()
    )
    broken = dataclasses.replace(tracker, experiment="broken", experiment_id=broken_id)
    card = read_card(gated / CARD_FILE)
    with pytest.raises(UserError, match=r"^logging candidate .* to MLflow at file://.* failed: "):
        log_candidate(broken, gated, card)
    assert [run.info.status for run in tracker.client.search_runs([broken_id])] == ["FAILED"]


def test_a_candidate_not_created_after_its_run_was_logged_leaves_the_run_failed(
    tracker: Tracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The run is logged from the staged folder; then the rename into place fails (the id is
    # taken by another candidate): no candidate, no staging folder, and the run says FAILED.
    taken = tmp_path / "candidates" / "taken-1"
    taken.mkdir(parents=True)
    (taken / CARD_FILE).write_text("another candidate's card", encoding="utf-8")
    monkeypatch.setattr(candidate, "new_candidate_id", lambda _now: "taken-1")
    with pytest.raises(OSError, match="taken-1"):
        small_candidate(tmp_path, log_staged=staged_log(tracker))
    assert [folder.name for folder in (tmp_path / "candidates").iterdir()] == ["taken-1"]
    runs = tracker.client.search_runs(
        [tracker.experiment_id], filter_string="tags.candidate_id = 'taken-1'"
    )
    assert [run.info.status for run in runs] == ["FAILED"]


@pytest.mark.parametrize(
    ("uri", "shown"),
    [("htp://alice:pa55@x/", "htp://***@x/"), ("file:///dev/null/mlruns", "file:///dev/null")],
)
def test_an_unusable_uri_is_refused_naming_it_masked(
    uri: str, shown: str, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(URI_ENV, uri)
    with pytest.raises(UserError) as refused:
        connect()
    assert str(refused.value).startswith(f"cannot use the MLflow tracking server at {shown}")
    assert "pa55" not in str(refused.value)


def test_gate_and_register_report_what_reached_mlflow(
    gated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    card = read_card(gated / CARD_FILE)
    make_project(tmp_path)  # the training config the candidate had, gates it clears
    shutil.copytree(gated, tmp_path / "artifacts/candidates" / card.id)
    monkeypatch.chdir(tmp_path)
    gate = runner.invoke(app, ["gate"])
    assert "MLflow: verdict added to run " in gate.stdout
    baseline = Baseline(model_id=card.id, promoted_at=card.created_at, metrics=card.metrics)
    (tmp_path / "ci/baseline.json").write_text(baseline.model_dump_json())
    register = runner.invoke(app, ["register"])
    assert register.exit_code == 0, register.output
    assert f"({card.id}) is @{CHAMPION_ALIAS}" in register.stdout
