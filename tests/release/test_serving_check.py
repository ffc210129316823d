"""The gate proves the model is servable, or fails it with one sentence.

A candidate the service cannot load, or that it answers otherwise than batch scoring, fails the
gate's serving row with the reason in one sentence, and cannot be promoted. The candidate here is
trained with one more preprocessing step that selects no column, as a table without a boolean
column gives the template's pipeline: the shape that once passed the gate and then crashed the
service at start-up. Each defect is planted on a copy of it.
"""

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from churn_model.cli import app
from churn_model.errors import UserError
from churn_model.model.artifact import CARD_FILE
from churn_model.release import registry, serving_check
from churn_model.release.gate import run_gate
from churn_model.release.gate_report import SUMMARY_FILE, render_markdown
from churn_model.release.gate_rows import GateRow
from churn_model.release.serving_check import ServingCheck
from churn_model.release.verdict import (
    VERDICT_FILE,
    Verdict,
    read_verdict,
    require_rows_still_pass,
)
from churn_model.serving import served_model

from model_support import (
    fast_model_config,
    lenient_gates,
    make_project,
)

LENIENT = lenient_gates()
FAST_MODEL = fast_model_config()


def _serving(verdict: Verdict) -> GateRow:
    (row,) = [row for row in verdict.rows if row.check == "serving"]
    return row


def _edit_card_features(folder: Path) -> str:
    """Make the card contradict the schema on its first feature; return the column's name.

    Whether a column may be missing is declared for every kind of column, so any schema has it.
    """
    card = json.loads((folder / CARD_FILE).read_text())
    feature = card["features"][0]
    feature["nullable"] = not feature["nullable"]
    (folder / CARD_FILE).write_text(json.dumps(card, indent=2))
    return str(feature["name"])


def test_a_step_selecting_nothing_is_scored_every_way_alike_and_passes(folder: Path) -> None:
    verdict = run_gate(folder, LENIENT, None, FAST_MODEL)
    assert verdict.passed, render_markdown(verdict)
    assert verdict.serving is not None
    assert (verdict.serving.probe_rows, verdict.serving.gap) == (served_model.PROBE_ROWS, 0.0)
    assert verdict.serving.paths[-2:] == (serving_check.EVALUATION, serving_check.REFERENCE)
    row = _serving(verdict)
    assert (row.status, row.value, row.limit) == ("pass", 0.0, 0.0)
    assert f"{serving_check.EVALUATION}, {serving_check.REFERENCE}" in row.note
    assert "| serving | probability_gap |" in (folder / SUMMARY_FILE).read_text()


def test_a_card_the_schema_contradicts_fails_the_gate_and_is_not_promoted(
    tmp_path: Path, folder: Path
) -> None:
    column = _edit_card_features(folder)
    verdict = run_gate(folder, LENIENT, None, FAST_MODEL)
    assert not verdict.passed
    row = _serving(verdict)
    assert (row.status, row.value) == ("fail", None)
    assert row.note.startswith(f"{folder / CARD_FILE}: the schema changed since the model was")
    assert column in row.note
    assert "\n" not in row.note
    assert all(r.status != "fail" for r in verdict.rows if r.check != "serving")
    with pytest.raises(UserError, match=r"failed this candidate on probability_gap"):
        registry.promote(
            folder.name,
            candidates=folder.parent,
            gate_config=LENIENT,
            registry=registry.Registry(
                tmp_path / "registry", tmp_path / "ci" / "baseline.json", tmp_path / "docs"
            ),
        )


def test_just_gate_fails_with_one_sentence_and_promote_refuses(
    tmp_path: Path, built: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = make_project(tmp_path / "project")
    candidate = project / "artifacts" / "candidates" / built.name
    shutil.copytree(built, candidate)
    _edit_card_features(candidate)
    monkeypatch.chdir(project)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    runner = CliRunner()
    result = runner.invoke(app, ["gate"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    (error,) = result.stderr.splitlines()
    assert error.startswith("error: gate failed on: probability_gap (artifacts/candidates/")
    assert "the schema changed since the model was trained" in error
    assert "Model gate FAILED" in result.stdout
    promoted = runner.invoke(app, ["promote"])
    assert promoted.exit_code == 1
    assert "cannot be promoted" in promoted.stderr


def test_promotion_recomputes_the_serving_row_from_the_verdict(folder: Path) -> None:
    _edit_card_features(folder)
    assert not run_gate(folder, LENIENT, None, FAST_MODEL).passed
    document = json.loads((folder / VERDICT_FILE).read_text())
    (serving,) = [row for row in document["rows"] if row["status"] == "fail"]
    serving["status"] = "pass"
    document["passed"] = True
    (folder / VERDICT_FILE).write_text(json.dumps(document))
    with pytest.raises(UserError, match=r"row 'serving probability_gap pass .*' is not what"):
        require_rows_still_pass(read_verdict(folder), LENIENT, None)


def test_a_verdict_without_a_serving_check_is_sent_back_to_the_gate(folder: Path) -> None:
    assert run_gate(folder, LENIENT, None, FAST_MODEL).passed
    document = json.loads((folder / VERDICT_FILE).read_text())
    del document["serving"]
    document["rows"] = [row for row in document["rows"] if row["check"] != "serving"]
    (folder / VERDICT_FILE).write_text(json.dumps(document))
    older = read_verdict(folder)  # still readable: the registry reads verdicts of old champions
    with pytest.raises(UserError, match=r"does not say whether the service can load it"):
        require_rows_still_pass(older, LENIENT, None)


@pytest.mark.parametrize(
    ("gap", "problem"), [(0.0, "a reason"), (None, ""), (0.5, "")], ids=["0+why", "none", "gap"]
)
def test_a_serving_check_says_why_exactly_when_it_failed(gap: float | None, problem: str) -> None:
    with pytest.raises(ValueError, match="problem must be given exactly when gap is not 0"):
        ServingCheck(probe_rows=1, gap=gap, problem=problem)


def test_a_check_written_before_the_paths_were_named_is_still_read() -> None:
    older = {"probe_rows": 256, "fast_path": True, "gap": 0.0, "problem": ""}
    assert ServingCheck.model_validate(older) == ServingCheck(probe_rows=256, gap=0.0)
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        ServingCheck.model_validate({**older, "unknown": 1})
