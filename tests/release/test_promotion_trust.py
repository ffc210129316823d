"""Promotion trusts only what the gate judged (issue 11, item 2): the review's attacks, replayed.

(a) ``card.json`` edited after the gate, or its metrics edited before it; (b) ``"passed"``
flipped in ``verdict.json``. Each is replayed on a real candidate; none may reach the champion,
the baseline, the export or a served model.
"""

import json
import re
import shutil
from pathlib import Path

import pytest

from churn_model.config import GateConfig, ModelConfig
from churn_model.errors import UserError
from churn_model.model.artifact import CARD_FILE, METRICS_FILE
from churn_model.model.card import read_card
from churn_model.model.report import REPORT_FILE
from churn_model.release import gate, registry
from churn_model.release.gate import run_gate
from churn_model.release.gate_rows import read_baseline
from churn_model.release.remeasure import Remeasured, remeasure
from churn_model.release.verdict import VERDICT_FILE

from model_support import above, fast_config, fast_model_config, lenient_gates
from served_model import trained_candidate

LENIENT = lenient_gates()
FAST_MODEL = fast_model_config()


@pytest.fixture(scope="module")
def built() -> Path:
    """The small candidate this process trained once; tests copy it (:func:`folder`)."""
    return trained_candidate()


@pytest.fixture(scope="module")
def failing(built: Path) -> GateConfig:
    """A gate the candidate fails: a floor above the ROC AUC it measured (and below 1)."""
    measured = read_card(built / CARD_FILE).metrics.overall.roc_auc
    return LENIENT.model_copy(update={"floors": {"roc_auc": above(measured)}})


def _copy(candidate: Path, tmp: Path) -> Path:
    """A copy of ``candidate`` in ``tmp/candidates``, for a test to plant its defect on."""
    return Path(shutil.copytree(candidate, tmp / "candidates" / candidate.name))


@pytest.fixture
def folder(tmp_path: Path, built: Path) -> Path:
    return _copy(built, tmp_path)


@pytest.fixture(scope="module")
def passed_once(tmp_path_factory: pytest.TempPathFactory, built: Path) -> Path:
    """The candidate with the verdict of a lenient gate, which it passed (gated once a module)."""
    candidate = _copy(built, tmp_path_factory.mktemp("passed"))
    assert run_gate(candidate, LENIENT, None, FAST_MODEL).passed
    return candidate


@pytest.fixture(scope="module")
def failed_once(tmp_path_factory: pytest.TempPathFactory, built: Path, failing: GateConfig) -> Path:
    """The candidate with the verdict of the :func:`failing` gate (gated once a module)."""
    candidate = _copy(built, tmp_path_factory.mktemp("failed"))
    assert not run_gate(candidate, failing, None, FAST_MODEL).passed
    return candidate


@pytest.fixture
def passed(tmp_path: Path, passed_once: Path) -> Path:
    """A copy of :func:`passed_once` for one test: gated, and passed."""
    return _copy(passed_once, tmp_path)


@pytest.fixture
def failed(tmp_path: Path, failed_once: Path) -> Path:
    """A copy of :func:`failed_once` for one test: gated, and failed."""
    return _copy(failed_once, tmp_path)


def scratch(tmp: Path) -> registry.Registry:
    """A registry of the test's own, under ``tmp``, judging again under the fast model config."""
    return registry.Registry(
        tmp / "registry",
        tmp / "ci" / "baseline.json",
        tmp / "docs" / "model",
        model_config=fast_config(tmp / "model.toml"),
    )


def edit_json(path: Path, edit: dict[str, object]) -> None:
    """Apply dotted-key edits to a JSON file, as a hand (or a script) would."""
    document = json.loads(path.read_text())
    for dotted, value in edit.items():
        *parents, last = dotted.split(".")
        node = document
        for key in parents:
            node = node[key]
        node[last] = value
    path.write_text(json.dumps(document, indent=2))


def test_a_card_edited_after_the_gate_is_not_promoted(tmp_path: Path, passed: Path) -> None:
    edit_json(
        passed / CARD_FILE,
        {
            "threshold": 0.99,
            "metrics.threshold": 0.99,
            "metrics.overall.roc_auc": 0.999,
            "metrics.model_loaded_bytes": 999_999_999,
        },
    )
    with pytest.raises(UserError, match=r"card\.json changed \(or went missing\) after the gate"):
        registry.promote(
            passed.name,
            allow_dirty=True,
            candidates=passed.parent,
            gate_config=LENIENT,
            registry=scratch(tmp_path),
        )
    assert registry.read_pointer(scratch(tmp_path)).champion is None
    assert read_baseline(scratch(tmp_path).baseline) is None


def test_metrics_edited_before_the_gate_do_not_pass_a_failing_model(
    failed: Path, failing: GateConfig
) -> None:
    edit_json(failed / CARD_FILE, {"metrics.overall.roc_auc": 1.0})  # above any floor
    edit_json(failed / METRICS_FILE, {"overall.roc_auc": 1.0})
    with pytest.raises(UserError, match=r"overall\.roc_auc"):
        run_gate(failed, failing, None, FAST_MODEL)


def test_a_flipped_verdict_is_not_promoted(
    tmp_path: Path, failed: Path, failing: GateConfig
) -> None:
    edit_json(failed / VERDICT_FILE, {"passed": True})
    with pytest.raises(UserError, match=r"failed.*overall\.roc_auc"):
        registry.promote(
            failed.name,
            allow_dirty=True,
            candidates=failed.parent,
            gate_config=failing,
            registry=scratch(tmp_path),
        )
    assert registry.read_pointer(scratch(tmp_path)).champion is None
    assert read_baseline(scratch(tmp_path).baseline) is None


@pytest.mark.parametrize("threshold", [0.0, 1.0, 1.5, -0.2])
def test_a_card_threshold_outside_0_1_is_refused(
    tmp_path: Path, folder: Path, threshold: float
) -> None:
    edit_json(folder / CARD_FILE, {"threshold": threshold, "metrics.threshold": threshold})
    with pytest.raises(UserError, match="threshold"):
        read_card(folder / CARD_FILE)


@pytest.mark.parametrize(
    ("edit", "refusal"),
    [
        ({"split.seed": 12345}, r"split\.seed is 12345, the configuration's is"),
        ({"data.version": "sha256:" + "0" * 64}, r"was evaluated on .* version sha256:0+"),
        ({"data.source": "nowhere.csv"}, r"cannot read it: nowhere\.csv"),
        ({"id": "someone-else"}, r"describes candidate 'someone-else'"),
        ({"metrics.overall.rows": 3}, r"differs from the metrics in .*card\.json"),
    ],
)
def test_a_card_that_does_not_describe_its_model_gets_no_verdict(
    folder: Path, edit: dict[str, object], refusal: str
) -> None:
    edit_json(folder / CARD_FILE, edit)
    with pytest.raises(UserError, match=refusal):
        run_gate(folder, LENIENT, None, FAST_MODEL)
    assert not (folder / VERDICT_FILE).exists()


def test_card_and_metrics_edited_alike_are_caught_by_re_scoring(folder: Path) -> None:
    edit_json(folder / CARD_FILE, {"metrics.overall.f1": 0.123456})
    edit_json(folder / METRICS_FILE, {"overall.f1": 0.123456})
    with pytest.raises(UserError, match=r"does not describe .*model\.skops.*claimed 0\.123456"):
        run_gate(folder, LENIENT, None, FAST_MODEL)


def _promote(tmp_path: Path, folder: Path, config: GateConfig = LENIENT) -> registry.Pointer:
    return registry.promote(
        folder.name,
        allow_dirty=True,
        candidates=folder.parent,
        gate_config=config,
        registry=scratch(tmp_path),
    )


def test_an_edited_row_or_a_changed_gate_config_is_not_promoted(
    tmp_path: Path, failed: Path, failing: GateConfig
) -> None:
    document = json.loads((failed / VERDICT_FILE).read_text())
    for row in document["rows"]:
        row["status"] = "pass"
    document["passed"] = True
    (failed / VERDICT_FILE).write_text(json.dumps(document))
    with pytest.raises(UserError, match=r"row 'floor overall\.roc_auc pass .*' is not what"):
        _promote(tmp_path, failed, failing)
    assert run_gate(failed, LENIENT, None, FAST_MODEL).passed
    with pytest.raises(UserError, match="the gate config changed since"):
        _promote(tmp_path, failed, failing)
    edit_json(failed / VERDICT_FILE, {"passed": False})
    with pytest.raises(UserError, match="says it failed, but its rows pass"):
        _promote(tmp_path, failed)
    assert registry.read_pointer(scratch(tmp_path)).champion is None


def test_verdict_figures_that_are_not_the_cards_are_not_promoted(
    tmp_path: Path, passed: Path
) -> None:
    # Any figure the card does not state: a recall of 1.0 may be what a low threshold measured.
    measured = read_card(passed / CARD_FILE).metrics.overall.recall
    edited = 0.5 if measured is None or abs(measured - 0.5) > 0.1 else 0.9
    edit_json(passed / VERDICT_FILE, {"metrics.overall.recall": edited})
    with pytest.raises(UserError, match=r"verdict\.json: its figures are not .*overall\.recall"):
        _promote(tmp_path, passed)


@pytest.mark.parametrize(
    ("edit", "refusal"),
    [
        ({"files": {}}, "files lacks model.skops"),
        ({"model_sha256": "0" * 64}, "model_sha256 differs from files.model.skops"),
    ],
)
def test_a_verdict_that_binds_too_little_is_invalid(
    tmp_path: Path, passed: Path, edit: dict[str, object], refusal: str
) -> None:
    edit_json(passed / VERDICT_FILE, edit)
    with pytest.raises(UserError, match=f"invalid verdict .*{re.escape(refusal)}"):
        _promote(tmp_path, passed)


def test_a_file_changed_while_gating_gets_no_verdict(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def and_meanwhile(candidate_dir: Path, config: ModelConfig) -> Remeasured:
        measured = remeasure(candidate_dir, config)
        (candidate_dir / REPORT_FILE).write_text("rewritten while the gate ran")
        return measured

    monkeypatch.setattr(gate, "remeasure", and_meanwhile)
    with pytest.raises(UserError, match="its files changed while it was being gated"):
        run_gate(folder, LENIENT, None, FAST_MODEL)


def test_an_edited_registered_card_is_not_exported(tmp_path: Path, passed: Path) -> None:
    _promote(tmp_path, passed)
    registered = tmp_path / "registry" / "models" / passed.name
    edit_json(registered / CARD_FILE, {"threshold": 0.99, "metrics.threshold": 0.99})
    with pytest.raises(UserError, match=r"card\.json differs from what the gate passed"):
        registry.export(tmp_path / "image", scratch(tmp_path))
    assert not (tmp_path / "image").exists()


def test_data_changed_between_two_gates_is_seen_by_the_second(folder: Path) -> None:
    assert run_gate(
        folder, LENIENT, None, FAST_MODEL
    ).passed  # its held-out rows are now kept in memory
    data = Path(read_card(folder / CARD_FILE).data.source)
    header, *rows = data.read_text().splitlines(keepends=True)
    data.write_text(header + "".join(reversed(rows)))  # same rows, other bytes
    try:
        with pytest.raises(UserError, match=r"was evaluated on .* but .* is now version sha256:"):
            run_gate(folder, LENIENT, None, FAST_MODEL)
    finally:
        data.write_text(header + "".join(rows))
