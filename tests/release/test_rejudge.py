"""Judging again: what a candidate's or a registered model's verdict must agree with, row by row.

One small candidate, gated under lenient gates; each test hands the functions of
:mod:`churn_model.release.rejudge` a verdict or a gate config that no longer fits it.
"""

import shutil
from pathlib import Path

import pytest

from churn_model.config import GateConfig, ModelConfig, load_model_config
from churn_model.errors import UserError
from churn_model.model.artifact import CARD_FILE
from churn_model.model.card import read_card
from churn_model.release.gate import run_gate
from churn_model.release.rejudge import (
    require_judged_alike,
    require_passes_now,
    row_text,
    verdict_differences,
)
from churn_model.release.verdict import Verdict

from model_support import (
    above,
    fast_config,
    fast_model_config,
    lenient_gates,
    small_candidate,
)

LENIENT = lenient_gates()
FAST_MODEL = fast_model_config()


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Verdict]:
    folder = small_candidate(tmp_path_factory.mktemp("rejudge"))
    return folder, run_gate(folder, LENIENT, None, FAST_MODEL)


@pytest.fixture
def model_config(tmp_path: Path) -> ModelConfig:
    return load_model_config(fast_config(tmp_path / "model.toml"))


def failing(folder: Path) -> GateConfig:
    """The lenient gates with a ROC AUC floor above what the candidate in ``folder`` measured."""
    measured = read_card(folder / CARD_FILE).metrics.overall.roc_auc
    return LENIENT.model_copy(update={"floors": {"roc_auc": above(measured)}})


def test_the_same_files_judged_again_agree(
    gated: tuple[Path, Verdict], model_config: ModelConfig
) -> None:
    folder, verdict = gated
    found = require_judged_alike(folder, verdict, LENIENT, None, model_config)
    assert verdict_differences(verdict, found) == []
    assert found.checked_at > verdict.checked_at
    assert require_passes_now(folder, verdict, LENIENT, model_config).passed


def test_a_candidate_that_fails_now_is_refused_naming_its_model_and_row(
    gated: tuple[Path, Verdict], model_config: ModelConfig
) -> None:
    folder, verdict = gated
    with pytest.raises(UserError, match=r"model\.skops: judged again now, it fails floor overall"):
        require_judged_alike(folder, verdict, failing(folder), None, model_config)


def test_a_verdict_that_is_not_the_one_computed_now_is_refused(
    gated: tuple[Path, Verdict], model_config: ModelConfig
) -> None:
    folder, verdict = gated
    assert verdict.serving is not None
    edited = verdict.model_copy(
        update={"serving": verdict.serving.model_copy(update={"probe_rows": 1})}
    )
    with pytest.raises(UserError, match=r"verdict\.json: is not the verdict .*serving: recorded"):
        require_judged_alike(folder, edited, LENIENT, None, model_config)


def test_differences_name_rows_and_ignore_only_timings(gated: tuple[Path, Verdict]) -> None:
    _, verdict = gated
    rows = verdict.rows
    timed = next(i for i, row in enumerate(rows) if row.check == "latency")
    retimed = [*rows]
    retimed[timed] = rows[timed].model_copy(update={"value": 123.0, "status": "fail"})
    assert verdict_differences(verdict, verdict.model_copy(update={"rows": retimed})) == []
    floor = next(i for i, row in enumerate(rows) if row.check == "floor")
    moved = [*rows]
    moved[floor] = rows[floor].model_copy(update={"limit": 0.5})
    assert verdict_differences(verdict, verdict.model_copy(update={"rows": moved})) == [
        f"row 'floor {rows[floor].metric} {rows[floor].value:g} (>= 0)' is "
        f"'floor {rows[floor].metric} {rows[floor].value:g} (>= 0.5)' now"
    ]
    fewer = verdict.model_copy(update={"rows": rows[1:]})
    assert verdict_differences(verdict, fewer) == [
        f"{len(rows)} rows recorded, {len(rows) - 1} computed now"
    ]


def test_a_row_whose_resolution_was_edited_differs(gated: tuple[Path, Verdict]) -> None:
    _, verdict = gated
    floor = next(i for i, row in enumerate(verdict.rows) if row.check == "floor")
    assert verdict.rows[floor].resolution is not None
    sharper = [*verdict.rows]
    sharper[floor] = verdict.rows[floor].model_copy(update={"resolution": 0.0001})
    differ = verdict_differences(verdict, verdict.model_copy(update={"rows": sharper}))
    assert differ == [f"row '{row_text(verdict.rows[floor])}' is '{row_text(sharper[floor])}' now"]


def test_a_registered_verdict_with_an_edited_status_is_refused(
    gated: tuple[Path, Verdict], model_config: ModelConfig
) -> None:
    folder, verdict = gated
    first = verdict.rows[0]
    assert first.value is not None
    missed = first.model_copy(update={"limit": first.value + 0.01})  # status left at "pass"
    edited = verdict.model_copy(update={"rows": [missed, *verdict.rows[1:]]})
    with pytest.raises(UserError, match=r"verdict\.json: says floor .* passed \(edited\)"):
        require_passes_now(folder, edited, LENIENT, model_config)
    warned = edited.model_copy(update={"rows": [missed.model_copy(update={"status": "warn"})]})
    with pytest.raises(UserError, match=r"verdict\.json: says floor .* passed \(edited\)"):
        require_passes_now(folder, warned, LENIENT, model_config)


def test_registered_figures_that_are_not_the_models_are_refused(
    gated: tuple[Path, Verdict], model_config: ModelConfig
) -> None:
    folder, verdict = gated
    overall = verdict.metrics.overall.model_copy(update={"rows": 1})
    edited = verdict.model_copy(
        update={"metrics": verdict.metrics.model_copy(update={"overall": overall})}
    )
    with pytest.raises(UserError, match=r"its figures are not what .*model\.skops scores now"):
        require_passes_now(folder, edited, LENIENT, model_config)


def test_a_registered_model_that_fails_todays_gates_is_refused(
    gated: tuple[Path, Verdict], model_config: ModelConfig
) -> None:
    folder, verdict = gated
    with pytest.raises(UserError, match=r"model\.skops: judged again now, it fails floor"):
        require_passes_now(folder, verdict, failing(folder), model_config)


def test_a_registered_verdict_of_another_folder_is_refused(
    tmp_path: Path, gated: tuple[Path, Verdict], model_config: ModelConfig
) -> None:
    folder, verdict = gated
    copy = Path(shutil.copytree(folder, tmp_path / "elsewhere"))
    with pytest.raises(UserError, match=f"verdict\\.json: belongs to '{folder.name}'"):
        require_passes_now(copy, verdict, LENIENT, model_config)
