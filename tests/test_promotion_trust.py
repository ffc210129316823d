"""Promotion trusts only what the gate judged (issue 11, item 2): the review's attacks, replayed.

(a) ``card.json`` edited after the gate, or its metrics edited before it; (b) ``"passed"``
flipped in ``verdict.json``. Each is replayed on a real candidate; none may reach the champion,
the baseline, the export or a served model.
"""

import json
import shutil
from pathlib import Path

import pytest

from churn_model import candidate, registry
from churn_model.artifact import CARD_FILE, METRICS_FILE
from churn_model.card import read_card
from churn_model.errors import UserError
from churn_model.gate import VERDICT_FILE, read_baseline, run_gate
from model_support import fast_config, fast_latency, lenient_gates, write_sample

LENIENT = lenient_gates()
FAILING = LENIENT.model_copy(update={"floors": {"roc_auc": 0.999}})


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("trust")
    with fast_latency():
        return candidate.create_candidate(
            write_sample(tmp / "s.csv", 2_000),
            config_path=fast_config(tmp / "model.toml"),
            root=tmp / "candidates",
        )


@pytest.fixture
def folder(tmp_path: Path, built: Path) -> Path:
    return Path(shutil.copytree(built, tmp_path / "candidates" / built.name))


def paths(tmp: Path) -> dict[str, Path]:
    return {
        "registry": tmp / "registry",
        "baseline_path": tmp / "ci" / "baseline.json",
        "docs_dir": tmp / "docs" / "model",
    }


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


def test_a_card_edited_after_the_gate_is_not_promoted(tmp_path: Path, folder: Path) -> None:
    with fast_latency():
        assert run_gate(folder, LENIENT, None).passed
    edit_json(
        folder / CARD_FILE,
        {
            "threshold": 0.99,
            "metrics.threshold": 0.99,
            "metrics.overall.roc_auc": 0.999,
            "metrics.model_loaded_bytes": 999_999_999,
        },
    )
    with pytest.raises(UserError, match=r"card\.json changed \(or went missing\) after the gate"):
        registry.promote(
            folder.name, candidates=folder.parent, gate_config=LENIENT, **paths(tmp_path)
        )
    assert registry.read_pointer(tmp_path / "registry").champion is None
    assert read_baseline(paths(tmp_path)["baseline_path"]) is None


def test_metrics_edited_before_the_gate_do_not_pass_a_failing_model(folder: Path) -> None:
    with fast_latency():
        assert not run_gate(folder, FAILING, None).passed
    edit_json(folder / CARD_FILE, {"metrics.overall.roc_auc": 0.9995})
    edit_json(folder / METRICS_FILE, {"overall.roc_auc": 0.9995})
    with fast_latency(), pytest.raises(UserError, match=r"overall\.roc_auc"):
        run_gate(folder, FAILING, None)


def test_a_flipped_verdict_is_not_promoted(tmp_path: Path, folder: Path) -> None:
    with fast_latency():
        assert not run_gate(folder, FAILING, None).passed
    edit_json(folder / VERDICT_FILE, {"passed": True})
    with pytest.raises(UserError, match=r"failed.*overall\.roc_auc"):
        registry.promote(
            folder.name, candidates=folder.parent, gate_config=FAILING, **paths(tmp_path)
        )
    assert registry.read_pointer(tmp_path / "registry").champion is None
    assert read_baseline(paths(tmp_path)["baseline_path"]) is None


@pytest.mark.parametrize("threshold", [0.0, 1.0, 1.5, -0.2])
def test_a_card_threshold_outside_0_1_is_refused(
    tmp_path: Path, folder: Path, threshold: float
) -> None:
    edit_json(folder / CARD_FILE, {"threshold": threshold, "metrics.threshold": threshold})
    with pytest.raises(UserError, match="threshold"):
        read_card(folder / CARD_FILE)
