"""Tracking and the shared registry against a real MLflow server (slow set).

The module starts ``just tracking-server`` on a free loopback port, with a SQLite store and an
artifact folder in a temporary directory, and stops its whole process group at the end. Each test
runs the real recipes (``just train``, ``gate``, ``promote``, ``rollback``, ``register``) as
subprocesses in a throwaway copy of the repository, then reads back through MLflow's own client
what the server holds. Nothing about MLflow is mocked.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import tomllib
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from churn_model import PROJECT_NAME
from churn_model.files import sha256_of
from churn_model.model.artifact import CARD_FILE, MODEL_FILE
from churn_model.model.card import read_card
from churn_model.release.tracking import CHAMPION_ALIAS, flat_numbers

from model_support import fast_config
from repo_copy import ROOT, copy_repository, reused_environment

if TYPE_CHECKING:  # MLflow is imported where a test runs, not when pytest collects this module
    from mlflow import MlflowClient
    from mlflow.entities import Run

pytestmark = pytest.mark.slow

PASSWORD = "s3cret-in-the-uri"  # noqa: S105 -- a fake, asserted absent from every output
TOKEN = "tok-in-the-environment"  # noqa: S105 -- likewise
HEALTHY_WITHIN_S = 240.0  # a cold start on a busy 2-core machine has taken a minute
IMPORT_OF_MLFLOW = re.compile(r"^import time:.*\|\s+mlflow(\.|\s*$)", re.MULTILINE)


# ---------------------------------------------------------------- the server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _healthy(uri: str) -> bool:
    try:
        with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:  # noqa: S310 -- loopback http
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``mlflow server`` (via ``just tracking-server``); yields its URI."""
    folder = tmp_path_factory.mktemp("mlflow-server")
    uri = f"http://127.0.0.1:{_free_port()}"
    log_path = folder / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            ["just", "tracking-server", uri.rpartition(":")[2], str(folder / "store")],
            cwd=ROOT,
            env=_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as one below
        )
    try:
        deadline = time.monotonic() + HEALTHY_WITHIN_S
        while not _healthy(uri):
            log_tail = log_path.read_text()[-2_000:]
            assert process.poll() is None, f"the MLflow server exited:\n{log_tail}"
            assert time.monotonic() < deadline, f"no healthy server in time:\n{log_tail}"
            time.sleep(0.5)
        yield uri
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def client(server: str) -> MlflowClient:
    from mlflow import MlflowClient  # noqa: PLC0415 -- collecting the fast suite must not import MLflow

    return MlflowClient(tracking_uri=server)


# ---------------------------------------------------------------- a throwaway project


def _env(**extra: str) -> dict[str, str]:
    """This checkout's environment (no MLflow variable: conftest removed them) plus ``extra``."""
    return reused_environment(**extra)


def _toml(tables: Mapping[str, object], prefix: str = "") -> str:
    """Write a mapping of tables of scalars (and nested tables) as TOML."""
    lines = [f"[{prefix[:-1]}]"] if prefix else []
    nested = []
    for key, value in tables.items():
        if isinstance(value, Mapping):
            nested.append(_toml(value, f"{prefix}{json.dumps(key)}."))
        else:
            lines.append(f"{json.dumps(key)} = {json.dumps(value)}")
    return "\n".join([*lines, "", *nested])


def _lenient_gates(path: Path) -> None:
    """The real gate, with floors at zero and latency budgets no busy machine reaches.

    These tests are about what reaches MLflow; the gate's own rules are tested elsewhere.
    """
    gates = tomllib.loads(path.read_text(encoding="utf-8"))
    gates["floors"] = dict.fromkeys(gates["floors"], 0.0)
    gates["slice_floors"] = {
        name: dict.fromkeys(floors, 0.0) for name, floors in gates["slice_floors"].items()
    }
    gates["latency"]["floor_ms"] = dict.fromkeys(gates["latency"]["floor_ms"], 60_000.0)
    path.write_text(_toml(gates), encoding="utf-8")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository holding this checkout's files, a fast model config and no baseline yet."""
    dest = copy_repository(tmp_path_factory.mktemp("pristine"))
    fast_config(dest / "configs/model.toml")
    _lenient_gates(dest / "ci/gates.toml")
    (dest / "ci/baseline.json").unlink()
    if (ROOT / "data").is_dir():  # saves rebuilding the sample; DVC still verifies it
        shutil.copytree(ROOT / "data", dest / "data")
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    subprocess.run([*git, "init", "--quiet"], cwd=dest, check=True)
    subprocess.run([*git, "add", "--all"], cwd=dest, check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", "copy"], cwd=dest, check=True)
    return dest


@pytest.fixture
def project(pristine: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(pristine, tmp_path / "project", symlinks=True))


def _just(project: Path, recipe: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["just", recipe], cwd=project, env=env, capture_output=True, text=True, check=False
    )


def _candidates(project: Path) -> list[str]:
    """Every entry of the candidates folder (staging folders included), sorted."""
    folder = project / "artifacts/candidates"
    return sorted(path.name for path in folder.iterdir()) if folder.is_dir() else []


def _tracked(server: str, experiment: str) -> dict[str, str]:
    """Tracking on, with a password in the URI and a token in MLflow's variable (both ignored)."""
    uri = server.replace("http://", f"http://alice:{PASSWORD}@")
    return _env(
        MLFLOW_TRACKING_URI=uri, MLFLOW_TRACKING_TOKEN=TOKEN, MLFLOW_EXPERIMENT_NAME=experiment
    )


def _assert_run_records_the_candidate(client: MlflowClient, run: Run, folder: Path) -> None:
    """The run holds the card's metrics, parameters and provenance, the verdict, every file."""
    card = read_card(folder / CARD_FILE)
    assert run.info.status == "FINISHED"
    logged = {k: v for k, v in run.data.metrics.items() if not k.startswith("gate.")}
    assert logged == pytest.approx(flat_numbers(card.metrics.model_dump()))
    assert any(name.startswith("slices.") for name in logged)
    assert run.data.metrics["gate.passed"] == 1.0
    for name, value in card.params.items():
        assert run.data.params[f"model.{name}"] == str(value)
    assert run.data.params["split.test_size"] == str(card.split.test_size)
    tags = run.data.tags
    assert tags["candidate_id"] == card.id
    assert tags["mlflow.source.git.commit"] == card.git.commit
    assert tags["data.version"] == card.data.version
    assert tags["model_sha256"] == tags["gate.model_sha256"] == sha256_of(folder / MODEL_FILE)
    assert tags["gate.result"] == "passed"
    artifacts = {info.path for info in client.list_artifacts(run.info.run_id, "candidate")}
    assert artifacts == {f"candidate/{path.name}" for path in folder.iterdir()}


# ---------------------------------------------------------------- the tests


def test_train_gate_promote_and_rollback_are_mirrored_in_mlflow(
    server: str, client: MlflowClient, project: Path, tmp_path: Path
) -> None:
    env = _tracked(server, "mirrored")
    outputs: list[str] = []

    def just(recipe: str) -> str:
        result = _just(project, recipe, env)
        outputs.append(result.stdout + result.stderr)
        assert result.returncode == 0, f"just {recipe}:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    trained = just("train")
    assert "logged to experiment 'mirrored' at " + server.replace("//", "//***@") in trained
    first = _candidates(project)[-1]
    assert "MLflow: verdict added to run" in just("gate")
    assert f"version 1 ({first}) is @{CHAMPION_ALIAS}" in just("promote")
    # As docs/tracking.md says: commit what promote rewrote, or the next candidate is dirty.
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    subprocess.run([*git, "add", "ci/baseline.json", "docs/model"], cwd=project, check=True)
    subprocess.run([*git, "commit", "--quiet", "-m", "champion 1"], cwd=project, check=True)
    just("train")
    second = _candidates(project)[-1]
    just("gate")
    assert f"version 2 ({second}) is @{CHAMPION_ALIAS}" in just("promote")

    # One finished run per candidate, with the card's numbers, its configuration and its files.
    experiment = client.get_experiment_by_name("mirrored")
    assert experiment is not None
    runs = {run.info.run_name: run for run in client.search_runs([experiment.experiment_id])}
    assert sorted(runs) == [first, second]
    folder = project / "artifacts/candidates" / first
    _assert_run_records_the_candidate(client, runs[first], folder)

    # The registry: one version per promoted candidate; the alias follows promote and rollback.
    def champion() -> str:
        version = client.get_model_version_by_alias(PROJECT_NAME, CHAMPION_ALIAS)
        return str(version.tags["candidate_id"])

    assert champion() == second
    assert f"version 1 ({first}) is @{CHAMPION_ALIAS}" in just("rollback")
    assert champion() == first
    assert json.loads((project / "ci/baseline.json").read_text())["model_id"] == first
    just("register")  # idempotent: no new version, the alias stays
    versions = client.search_model_versions(f"name = '{PROJECT_NAME}'")
    assert sorted(version.tags["candidate_id"] for version in versions) == [first, second]
    assert champion() == first
    version = client.get_model_version_by_alias(PROJECT_NAME, CHAMPION_ALIAS)
    assert version.run_id is not None
    downloaded = client.download_artifacts(version.run_id, f"candidate/{MODEL_FILE}", str(tmp_path))
    assert sha256_of(Path(downloaded)) == sha256_of(folder / MODEL_FILE)

    # Credentials never reach the output, the cards, the baseline or the docs.
    written = [p for p in project.rglob("*") if p.is_file() and p.suffix in {".json", ".md"}]
    for text in [*outputs, *(p.read_text(encoding="utf-8") for p in written)]:
        assert PASSWORD not in text
        assert TOKEN not in text


def test_an_unusable_server_is_reported_before_any_work(project: Path) -> None:
    closed = f"http://alice:{PASSWORD}@127.0.0.1:{_free_port()}"
    for uri, shown in [
        (closed, closed.replace(f"alice:{PASSWORD}", "***")),
        ("htp://x", "htp://x"),
    ]:
        result = _just(project, "train", _env(MLFLOW_TRACKING_URI=uri))
        assert result.returncode == 1
        assert f"error: cannot use the MLflow tracking server at {shown}" in result.stderr
        assert PASSWORD not in result.stdout + result.stderr
    # Reported before the data was even materialised: nothing was trained or written.
    assert not (project / "artifacts").exists()


def test_a_failure_while_logging_leaves_no_candidate(
    project: Path, client: MlflowClient, server: str, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("artifacts cannot go under a file")
    experiment_id = client.create_experiment("broken", artifact_location=(blocker / "x").as_uri())
    result = _just(project, "train", _tracked(server, "broken"))
    assert result.returncode == 1
    assert "error: logging candidate" in result.stderr
    assert "to MLflow at http://***@127.0.0.1" in result.stderr
    assert _candidates(project) == []  # no candidate, no staging folder left behind
    runs = client.search_runs([experiment_id])
    assert [run.info.status for run in runs] == ["FAILED"]


def test_without_the_variable_mlflow_is_never_imported(project: Path, server: str) -> None:
    profiled = {"PYTHONPROFILEIMPORTTIME": "1"}
    for recipe in ("train", "gate"):
        result = _just(project, recipe, _env(**profiled))
        assert result.returncode == 0, result.stderr
        assert "import time:" in result.stderr
        assert not IMPORT_OF_MLFLOW.search(result.stderr), f"just {recipe} imported mlflow"
    # The probe sees the import when tracking is on (the candidate has no run: nothing logged).
    tracked = _just(project, "gate", _tracked(server, "profiled") | profiled)
    assert tracked.returncode == 0, tracked.stderr
    assert IMPORT_OF_MLFLOW.search(tracked.stderr)
    assert "has no run in experiment 'profiled'" in tracked.stdout
