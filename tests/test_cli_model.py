"""The model commands end to end, as a user runs them: train, gate, promote, train, gate, rollback.

Each test runs in a scratch project folder (copies of ``configs/`` and ``ci/``, no baseline yet)
through typer's runner, so the real command functions, paths and exit codes are exercised.
"""

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from churn_model.cli import app
from churn_model.config import SliceMinimum, load_gate_config
from churn_model.data.synthetic import synthetic_frame
from churn_model.domain.schema import SCHEMA
from churn_model.model.artifact import CARD_FILE
from churn_model.model.card import read_card
from churn_model.release.calibration import gates_toml

from model_support import (
    FAST_TIMING,
    above,
    lenient_gates,
    make_project,
    write_sample,
)

runner = CliRunner()


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    make_project(tmp_path)
    write_sample(tmp_path / "sample.csv", 2_500)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    return tmp_path  # the project's fast config: the CLI times the short plan


def invoke(*args: str) -> Result:
    return runner.invoke(app, list(args))


def candidates(project: Path) -> list[str]:
    root = project / "artifacts" / "candidates"
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def test_train_gate_promote_train_gate_promote_rollback_export(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = project / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    trained = invoke("train", "sample.csv")
    assert trained.exit_code == 0, trained.output
    assert "candidate " in trained.output
    assert "roc_auc" in trained.output
    first = candidates(project)[0]

    gated = invoke("gate")
    assert gated.exit_code == 0, gated.output
    assert "Model gate PASSED" in gated.output
    assert "PASS" in gated.output
    assert "FAIL" not in gated.output
    assert f"Model gate PASSED: `{first}`" in summary.read_text()
    assert (project / "artifacts/candidates" / first / "gate.md").is_file()

    assert invoke("promote").exit_code == 0
    baseline = json.loads((project / "ci/baseline.json").read_text())
    assert baseline["model_id"] == first
    assert (project / "docs/model/report.md").is_file()

    assert invoke("train", "sample.csv").exit_code == 0
    second = next(name for name in candidates(project) if name != first)
    regated = invoke("gate")
    assert regated.exit_code == 0, regated.output
    assert "regression" in regated.output
    promoted = invoke("promote", "--candidate", second)
    assert promoted.exit_code == 0, promoted.output
    assert second in promoted.output

    rolled = invoke("rollback")
    assert rolled.exit_code == 0, rolled.output
    assert json.loads((project / "ci/baseline.json").read_text())["model_id"] == first

    exported = invoke("export", "image")
    assert exported.exit_code == 0, exported.output
    assert json.loads((project / "image/card.json").read_text())["id"] == first
    assert (project / "image/model.skops").is_file()


def test_gate_without_a_candidate_fails_cleanly(project: Path) -> None:
    result = invoke("gate")
    assert result.exit_code == 1
    assert "error: no candidate in artifacts/candidates: run `just train` first" in result.stderr
    assert "Traceback" not in result.output


def test_a_failing_gate_exits_non_zero_and_shows_fail(project: Path) -> None:
    assert invoke("train", "sample.csv").exit_code == 0
    card = read_card(project / "artifacts/candidates" / candidates(project)[0] / CARD_FILE)
    floor = above(card.metrics.overall.roc_auc)  # above what this model measured
    strict = lenient_gates().model_copy(update={"floors": {"roc_auc": floor}})
    (project / "ci/gates.toml").write_text(gates_toml(strict))
    result = invoke("gate")
    assert result.exit_code == 1
    assert "Model gate FAILED" in result.stdout
    assert "FAIL" in result.stdout
    assert "error: gate failed on: overall.roc_auc" in result.stderr
    verdict = json.loads(
        (project / "artifacts/candidates" / candidates(project)[0] / "verdict.json").read_text()
    )
    assert verdict["passed"] is False
    refused = invoke("promote")
    assert refused.exit_code == 1
    assert "cannot be promoted" in refused.stderr


def test_promote_refuses_a_dirty_candidate_unless_allowed(project: Path) -> None:
    assert invoke("train", "sample.csv").exit_code == 0
    card_path = project / "artifacts/candidates" / candidates(project)[0] / "card.json"
    card = json.loads(card_path.read_text())
    card["git"] = {"commit": "f" * 40, "dirty": True}  # as `just train` records an edited tree
    card_path.write_text(json.dumps(card))
    assert invoke("gate").exit_code == 0
    refused = invoke("promote")
    assert refused.exit_code == 1
    assert "uncommitted changes" in refused.stderr
    assert "commit your changes" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not (project / "ci/baseline.json").exists()
    allowed = invoke("promote", "--allow-dirty")
    assert allowed.exit_code == 0, allowed.output
    assert json.loads((project / "ci/baseline.json").read_text())["model_id"] == card["id"]


def test_invalid_data_is_refused_and_writes_nothing(project: Path) -> None:
    missing = SCHEMA.feature_names()[0]
    synthetic_frame(800, seed=5).drop(columns=[missing]).to_csv("bad.csv", index=False)
    for path in ("bad.csv", "missing.csv"):
        result = invoke("train", path)
        assert result.exit_code == 1
        assert result.stderr.startswith("error: ")
        assert path in result.stderr
        assert "Traceback" not in result.output
    assert candidates(project) == []


def test_rollback_and_export_without_a_champion_fail_cleanly(project: Path) -> None:
    for args in (("rollback",), ("export", "out")):
        result = invoke(*args)
        assert result.exit_code == 1
        assert result.stderr.startswith("error: ")
    assert not (project / "out").exists()


def test_calibrate_prints_every_spread_notes_unmeasured_gates_and_drafts(project: Path) -> None:
    gates = lenient_gates()
    huge = SliceMinimum(min_rows=10**6, min_positives=1)  # no slice has that many held-out rows
    typo = gates.model_copy(
        update={"slice_floors": {"no such slice": {"recall": 0.5}}, "slices": huge}
    )
    (project / "ci/gates.toml").write_text(gates_toml(typo))
    result = invoke("calibrate", "sample.csv", "--seeds", "2", "--draft", "drafted.toml")
    assert result.exit_code == 0, result.output
    assert "Calibration over 2 seeds (42..43)" in result.output
    expected = ["overall.roc_auc", "model_loaded_bytes"]
    expected += [f"latency.{name}.cpu_p50_ms" for name in FAST_TIMING.runs]
    # Every slice is shown (its held-out counts at least: a slice of a few rows may hold no
    # positive on either seed, and then has no recall to spread).
    expected += [f"slices.{name}.rows" for name in SCHEMA.slice_names()]
    for metric in expected:
        assert metric in result.output
    assert "did not measure (the gate fails on them): slices.no such slice.recall" in result.stdout
    drafted = load_gate_config(project / "drafted.toml")
    assert set(drafted.floors) <= {"roc_auc", "recall", "f1"}
    assert drafted.slice_floors == {}
    assert drafted.slices == huge  # the draft keeps the minimum it applied
    for name in SCHEMA.slice_names():
        assert f"note: slice {name!r} gets no floor: the fewest over the seeds were" in (
            result.stdout
        )
    assert "drafted gates written to drafted.toml" in result.output
    again = invoke("calibrate", "sample.csv", "--seeds", "2", "--draft", "drafted.toml")
    assert again.exit_code == 1
    assert "drafted.toml: already exists; pass --force" in again.stderr


def _limits_shown(output: str, metric: str) -> tuple[str, str]:
    """The floor and max-drop cells of ``metric``'s row in the calibration table."""
    row = next(line for line in output.splitlines() if f" {metric} " in line)
    cells = [cell.strip() for cell in re.split(r"[│|┃]", row) if cell.strip()]
    return cells[-2], cells[-1]


def test_calibrate_shows_the_limits_of_the_draft_it_writes_and_proposes_a_threshold(
    project: Path,
) -> None:
    plain = invoke("calibrate", "sample.csv", "--seeds", "2")
    assert plain.exit_code == 0, plain.output
    assert "floor, max drop: the limits of ci/gates.toml" in plain.output
    current = lenient_gates()
    assert _limits_shown(plain.output, "overall.roc_auc") == (
        f"{current.floors['roc_auc']:.2f}",
        f"{current.max_drop['roc_auc']:.3f}",
    )

    drafting = invoke("calibrate", "sample.csv", "--seeds", "2", "--draft", "drafted.toml")
    assert drafting.exit_code == 0, drafting.output
    assert "floor, max drop: the limits of drafted.toml, the draft written now" in drafting.output
    drafted = load_gate_config(project / "drafted.toml")
    for metric in ("roc_auc", "recall", "f1"):
        floor, drop = _limits_shown(drafting.output, f"overall.{metric}")
        assert floor == (f"{drafted.floors[metric]:.2f}" if metric in drafted.floors else "-")
        assert drop == f"{drafted.max_drop[metric]:.3f}"
    for name, floors in drafted.slice_floors.items():
        for metric, value in floors.items():
            assert _limits_shown(drafting.output, f"slices.{name}.{metric}")[0] == f"{value:.2f}"

    assert "Decision threshold for " in drafting.output
    proposed = re.search(r"proposed (0\.\d\d), the best on average over", drafting.output)
    assert proposed is not None, drafting.output
    text = (project / "drafted.toml").read_text()
    assert f"#   threshold = {proposed.group(1)}" in text
    assert '#   calibrated_on = "sha256:' in text  # the version of sample.csv, as a card says it
