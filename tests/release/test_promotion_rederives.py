"""Promotion re-derives: nothing reaches the champion, the export or the journal on its files' word.

Two candidates of one project, trained on different tables: ``good`` passes the project's gate
and ``bad`` fails it (a floor set between what the two measured). Each test copies that project,
plants what an attacker can write (JSON files, hashes, rows, ids, a pointer, a journal) and runs
the command a user runs; the command must refuse in one sentence naming the file, and change
nothing.
"""

import json
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from churn_model.cli import app
from churn_model.config import load_gate_config
from churn_model.files import sha256_of
from churn_model.model.artifact import CARD_FILE, METRICS_FILE, MODEL_FILE
from churn_model.model.candidate import create_candidate
from churn_model.model.card import read_card
from churn_model.release import registry
from churn_model.release.calibration import gates_toml
from churn_model.release.gate import run_gate
from churn_model.release.gate_rows import gate_rows
from churn_model.release.verdict import VERDICT_FILE, Verdict, hash_files, read_verdict

from model_support import fast_config, fast_model_config, lenient_gates, write_sample

runner = CliRunner()
FAST_MODEL = fast_model_config()
CANDIDATES = Path("artifacts/candidates")
MODELS = registry.REGISTRY_DIR / "models"


@dataclass(frozen=True)
class Built:
    """A project folder with a candidate that passes its gate and one that fails it."""

    folder: Path
    good: str
    bad: str


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    folder = tmp_path_factory.mktemp("rederives") / "project"
    config = fast_config(folder / "configs/model.toml")
    (folder / "ci").mkdir()
    trained = [
        create_candidate(
            write_sample(folder / f"sample-{seed}.csv", rows, seed),
            config_path=config,
            root=folder / CANDIDATES,
        )
        for seed, rows in ((21, 2_000), (22, 600))
    ]
    auc = {path: read_card(path / CARD_FILE).metrics.overall.roc_auc for path in trained}
    assert None not in auc.values(), auc
    assert len(set(auc.values())) == 2, auc
    good, bad = sorted(trained, key=lambda path: -(auc[path] or 0.0))
    floor = ((auc[good] or 0.0) + (auc[bad] or 0.0)) / 2
    gates = lenient_gates().model_copy(update={"floors": {"roc_auc": round(floor, 9)}})
    (folder / "ci/gates.toml").write_text(gates_toml(gates), encoding="utf-8")
    assert run_gate(good, gates, None, FAST_MODEL).passed
    assert not run_gate(bad, gates, None, FAST_MODEL).passed
    return Built(folder, good.name, bad.name)


@pytest.fixture(scope="module")
def built_promoted(tmp_path_factory: pytest.TempPathFactory, built: Built) -> Built:
    """A copy of the built project whose champion is the good candidate, promoted as a user does."""
    folder = Path(shutil.copytree(built.folder, tmp_path_factory.mktemp("promoted") / "project"))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        patch.delenv("GITHUB_STEP_SUMMARY", raising=False)
        promoted = promote(built.good)
    assert promoted.exit_code == 0, promoted.output
    return Built(folder, built.good, built.bad)


def _working_copy(built: Built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Built:
    """A copy of ``built``'s project, as the working folder of the commands a test runs."""
    folder = Path(shutil.copytree(built.folder, tmp_path / "project"))
    monkeypatch.chdir(folder)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return Built(folder, built.good, built.bad)


@pytest.fixture
def project(tmp_path: Path, built: Built, monkeypatch: pytest.MonkeyPatch) -> Built:
    """A copy of the built project: nothing promoted yet."""
    return _working_copy(built, tmp_path, monkeypatch)


@pytest.fixture
def promoted(tmp_path: Path, built_promoted: Built, monkeypatch: pytest.MonkeyPatch) -> Built:
    """A copy of :func:`built_promoted`: the good candidate is the champion."""
    return _working_copy(built_promoted, tmp_path, monkeypatch)


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def refused_in_one_sentence(result: Result, *names: str) -> str:
    """Assert ``result`` exited 1 with one line on stderr naming each of ``names``; return it."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), result.stderr
    for name in names:
        assert name in lines[0], (name, lines[0])
    return lines[0]


def edit_json(path: Path, **fields: object) -> None:
    """Set top-level ``fields`` of a JSON file, as a hand or a script would."""
    document = json.loads(path.read_text(encoding="utf-8"))
    document.update(fields)
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")


def rebind(folder: Path) -> None:
    """Rewrite the verdict in ``folder`` to name the folder and bind its files as they are now."""
    files = hash_files(folder)
    edit_json(
        folder / VERDICT_FILE,
        candidate_id=folder.name,
        files=files,
        model_sha256=files[MODEL_FILE],
    )


def later_id(candidate_id: str) -> str:
    """Another candidate id, newer than ``candidate_id`` (same form: time, then a suffix)."""
    return candidate_id[:-6] + "ffffff"


def views(folder: Path) -> dict[str, bytes]:
    """Every file the registry and its views hold, by path: what no refusal may change."""
    roots = [folder / registry.REGISTRY_DIR, folder / "ci", folder / registry.DOCS_MODEL_DIR]
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for root in roots
        if root.is_dir()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != registry.LOCK_FILE
    }


def promote(candidate_id: str) -> Result:
    return invoke("promote", "--candidate", candidate_id, "--allow-dirty")


def test_a_replayed_verdict_is_refused_naming_the_file(project: Built) -> None:
    """The good candidate's folder, copied to a new id with the bad model in it, ids rewritten."""
    root = project.folder / CANDIDATES
    replay = Path(shutil.copytree(root / project.good, root / later_id(project.good)))
    shutil.copyfile(root / project.bad / MODEL_FILE, replay / MODEL_FILE)
    edit_json(replay / CARD_FILE, id=replay.name)
    rebind(replay)
    before = views(project.folder)
    refused = promote(replay.name)
    refused_in_one_sentence(refused, f"{replay.name}/{CARD_FILE}", MODEL_FILE)
    assert views(project.folder) == before


def test_a_copy_whose_card_names_another_candidate_is_refused(project: Built) -> None:
    """The good candidate copied to a new id; only its verdict rewritten to name the copy."""
    root = project.folder / CANDIDATES
    copy = Path(shutil.copytree(root / project.good, root / later_id(project.good)))
    rebind(copy)
    before = views(project.folder)
    refused = promote(copy.name)
    refused_in_one_sentence(refused, f"{copy.name}/{CARD_FILE}", project.good)
    assert views(project.folder) == before


def test_a_forged_verdict_is_refused_naming_the_file(project: Built) -> None:
    """The bad candidate with the good one's figures in its card, metrics and verdict.

    Everything is consistent: the rows are what the gate computes from the forged figures under
    the project's gate config, and every hash is recomputed; only the model is not the one
    those figures describe.
    """
    root = project.folder / CANDIDATES
    bad, good = root / project.bad, root / project.good
    figures = read_card(good / CARD_FILE).metrics
    edit_json(bad / CARD_FILE, metrics=json.loads(figures.model_dump_json()))
    (bad / METRICS_FILE).write_text(figures.model_dump_json(indent=2), encoding="utf-8")
    verdict = read_verdict(bad)
    assert verdict.serving is not None
    noise = read_verdict(good).resolution
    rows = gate_rows(figures, verdict.serving, load_gate_config(), None, noise)
    update = {"metrics": figures, "rows": rows, "passed": True, "resolution": noise}
    forged = verdict.model_copy(update=update)
    (bad / VERDICT_FILE).write_text(forged.model_dump_json(indent=2), encoding="utf-8")
    rebind(bad)
    Verdict.model_validate_json((bad / VERDICT_FILE).read_text(encoding="utf-8"))
    before = views(project.folder)
    refused = promote(project.bad)
    refused_in_one_sentence(refused, f"{project.bad}/{CARD_FILE}", MODEL_FILE)
    assert views(project.folder) == before


def plant_failed_model(project: Built) -> None:
    """Copy the bad candidate, verdict and all, into the registry (the good one is the champion)."""
    shutil.copytree(
        project.folder / CANDIDATES / project.bad, project.folder / MODELS / project.bad
    )


def test_export_refuses_a_pointer_at_a_failed_model(promoted: Built) -> None:
    project = promoted
    plant_failed_model(project)
    pointer = project.folder / registry.REGISTRY_DIR / registry.POINTER_FILE
    history = [project.good, project.bad]
    edit_json(pointer, champion=project.bad, history=history)
    refused = invoke("export", "image")
    refused_in_one_sentence(refused, project.bad)
    assert not (project.folder / "image").exists()


@pytest.mark.parametrize(
    ("named", "recall"),
    [("bad", None), ("good", 0.0)],
    ids=["a-failed-model", "a-passing-model-with-a-forged-baseline"],
)
def test_a_planted_journal_is_not_applied(
    promoted: Built, named: str, recall: float | None
) -> None:
    """A journal naming the failed model (with its own figures), or the champion with recall 0."""
    project = promoted
    plant_failed_model(project)
    champion = getattr(project, named)
    metrics = json.loads(read_verdict(project.folder / MODELS / champion).metrics.model_dump_json())
    if recall is not None:
        metrics["overall"]["recall"] = recall
    now = datetime.now(UTC).isoformat()
    journal = {
        "pointer": {"champion": champion, "history": list(dict.fromkeys([project.good, champion]))},
        "baseline": {"model_id": champion, "promoted_at": now, "metrics": metrics},
    }
    path = project.folder / registry.REGISTRY_DIR / registry.JOURNAL_FILE
    path.write_text(json.dumps(journal), encoding="utf-8")
    before = views(project.folder)
    refused = invoke("gate")  # any command that settles the journal first (in every project)
    refused_in_one_sentence(refused, registry.JOURNAL_FILE, champion)
    assert views(project.folder) == before
    assert registry.read_pointer().champion == project.good


def test_the_registered_model_and_its_checks_agree(project: Built) -> None:
    """What a genuine promotion writes passes every check: export and a re-promotion succeed."""
    assert promote(project.good).exit_code == 0
    exported = invoke("export", "image")
    assert exported.exit_code == 0, exported.output
    image = project.folder / "image"
    registered = project.folder / MODELS / project.good
    assert sha256_of(image / MODEL_FILE) == sha256_of(registered / MODEL_FILE)
    again = promote(project.good)
    assert again.exit_code == 0, again.output
