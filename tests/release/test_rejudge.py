"""Judging again: what a candidate's or a registered model's verdict must agree with, row by row.

One small candidate, gated under lenient gates; each test hands the functions of
:mod:`churn_model.release.rejudge` a verdict or a gate config that no longer fits it.
"""

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from churn_model.config import GateConfig, ModelConfig, load_model_config
from churn_model.errors import UserError
from churn_model.model.artifact import CARD_FILE
from churn_model.model.card import read_card
from churn_model.release.gate import run_gate
from churn_model.release.gate_rows import GateRow
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
)
from served_model import trained_candidate

LENIENT = lenient_gates()
FAST_MODEL = fast_model_config()


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Verdict]:
    """A copy of the small candidate this process trained once, gated."""
    built = trained_candidate()
    folder = Path(shutil.copytree(built, tmp_path_factory.mktemp("rejudge") / built.name))
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


def test_a_verdict_silent_on_features_never_missing_in_training_differs(
    gated: tuple[Path, Verdict],
) -> None:
    # What the gate writes under its table is judged again too: a verdict edited to drop (or add)
    # a feature the training rows never miss is not the one these files get.
    _, verdict = gated
    edited = verdict.model_copy(update={"missing_unseen": ["a feature"]})
    assert verdict_differences(edited, verdict) == [
        f"missing_unseen: recorded ['a feature'], found {verdict.missing_unseen!r}"
    ]


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


def as_candidate(
    folder: Path, verdict: Verdict, gates: GateConfig, model_config: ModelConfig
) -> object:
    """Judge ``folder`` again as a candidate about to be promoted is judged."""
    return require_judged_alike(folder, verdict, gates, None, model_config)


def as_registered(
    folder: Path, verdict: Verdict, gates: GateConfig, model_config: ModelConfig
) -> object:
    """Judge ``folder`` again as a registered model is judged before it is trusted."""
    return require_passes_now(folder, verdict, gates, model_config)


def floor_above_its_measure(folder: Path, verdict: Verdict) -> tuple[Verdict, GateConfig]:
    """The verdict as it is, under gates whose ROC AUC floor the model no longer reaches."""
    return verdict, failing(folder)


def probe_rows_edited(_: Path, verdict: Verdict) -> tuple[Verdict, GateConfig]:
    """A verdict whose serving check says it scored one probe row."""
    assert verdict.serving is not None
    serving = verdict.serving.model_copy(update={"probe_rows": 1})
    return verdict.model_copy(update={"serving": serving}), LENIENT


def _missed_first_row(verdict: Verdict) -> GateRow:
    """The verdict's first row with its limit moved past its value, its status left at "pass"."""
    first = verdict.rows[0]
    assert first.value is not None
    return first.model_copy(update={"limit": first.value + 0.01})


def missed_row_left_passing(_: Path, verdict: Verdict) -> tuple[Verdict, GateConfig]:
    """A verdict whose first row misses its limit yet says it passed."""
    edited = verdict.model_copy(update={"rows": [_missed_first_row(verdict), *verdict.rows[1:]]})
    return edited, LENIENT


def missed_row_made_a_warning(_: Path, verdict: Verdict) -> tuple[Verdict, GateConfig]:
    """A verdict of that one row, which misses its limit and says it only warned."""
    warned = _missed_first_row(verdict).model_copy(update={"status": "warn"})
    return verdict.model_copy(update={"rows": [warned]}), LENIENT


def figures_edited(_: Path, verdict: Verdict) -> tuple[Verdict, GateConfig]:
    """A verdict whose overall figures say they were measured on one row."""
    overall = verdict.metrics.overall.model_copy(update={"rows": 1})
    metrics = verdict.metrics.model_copy(update={"overall": overall})
    return verdict.model_copy(update={"metrics": metrics}), LENIENT


@pytest.mark.parametrize(
    ("judge", "tamper", "refusal"),
    [
        pytest.param(
            as_candidate,
            floor_above_its_measure,
            r"model\.skops: judged again now, it fails floor overall",
            id="candidate-under-a-floor-above-its-measure",
        ),
        pytest.param(
            as_candidate,
            probe_rows_edited,
            r"verdict\.json: is not the verdict .*serving: recorded",
            id="candidate-verdict-with-edited-probe-rows",
        ),
        pytest.param(
            as_registered,
            missed_row_left_passing,
            r"verdict\.json: says floor .* passed \(edited\)",
            id="registered-verdict-missing-a-floor-says-pass",
        ),
        pytest.param(
            as_registered,
            missed_row_made_a_warning,
            r"verdict\.json: says floor .* passed \(edited\)",
            id="registered-verdict-missing-a-floor-says-warn",
        ),
        pytest.param(
            as_registered,
            figures_edited,
            r"its figures are not what .*model\.skops scores now",
            id="registered-verdict-with-edited-figures",
        ),
        pytest.param(
            as_registered,
            floor_above_its_measure,
            r"model\.skops: judged again now, it fails floor",
            id="registered-under-a-floor-above-its-measure",
        ),
    ],
)
def test_what_no_longer_fits_the_model_is_refused_naming_file_and_row(
    gated: tuple[Path, Verdict],
    model_config: ModelConfig,
    judge: Callable[[Path, Verdict, GateConfig, ModelConfig], object],
    tamper: Callable[[Path, Verdict], tuple[Verdict, GateConfig]],
    refusal: str,
) -> None:
    folder, verdict = gated
    planted, gates = tamper(folder, verdict)
    with pytest.raises(UserError, match=refusal):
        judge(folder, planted, gates, model_config)


def test_a_registered_verdict_of_another_folder_is_refused(
    tmp_path: Path, gated: tuple[Path, Verdict], model_config: ModelConfig
) -> None:
    folder, verdict = gated
    copy = Path(shutil.copytree(folder, tmp_path / "elsewhere"))
    with pytest.raises(UserError, match=f"verdict\\.json: belongs to '{folder.name}'"):
        require_passes_now(copy, verdict, LENIENT, model_config)
