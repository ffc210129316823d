"""The story this template exists for (seed 001): the bug that reached production.

A test of the bundled example, not of the machinery: it lives in ``tests/example/`` with the other
tests of the example's own data and thresholds, which a project replaces with its own.

A colleague's training code silently drops the rows where ``days_since_last_purchase`` is missing,
that is, every customer who never purchased. The model trains fine and its overall accuracy
barely moves, so a gate on accuracy alone lets it through. The slice floor on ``never_purchased``
does not. Trained on the full 10,000-row sample and judged by the calibrated ``ci/gates.toml`` (all
of it but the latency budget, which depends on the machine).
"""

import re
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from churn_model.config import (
    GateConfig,
    ModelConfig,
    load_gate_config,
    load_model_config,
)
from churn_model.domain.churn_sample import generate_sample
from churn_model.model import candidate, training
from churn_model.model.artifact import CARD_FILE
from churn_model.model.card import read_card
from churn_model.release.gate import run_gate
from churn_model.release.gate_rows import Baseline, gate_rows
from churn_model.release.verdict import Verdict

from model_support import ROOT, fast_config
from planted import drops_at_resolution, planted_baseline


def without_latency_budget(config: GateConfig) -> GateConfig:
    """``config`` with latency limits no test machine reaches (busy, shared, traced)."""
    generous = dict.fromkeys(config.latency.floor_ms, 60_000.0)
    return config.model_copy(
        update={"latency": config.latency.model_copy(update={"floor_ms": generous})}
    )


def _drops_never_purchased(
    x_train: pd.DataFrame, y_train: pd.Series, config: ModelConfig, seed: int
) -> object:
    """The classic bug: "clean" the training rows by dropping those with a missing value."""
    keep = x_train["days_since_last_purchase"].notna()
    return _REAL_FIT(x_train[keep], y_train[keep], config, seed)


_REAL_FIT = training.fit


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Verdict]]:
    tmp = tmp_path_factory.mktemp("story")
    sample = tmp / "churn.csv"
    generate_sample().to_csv(sample, index=False)
    timed = fast_config(tmp / "model.toml", iterations=None)  # the project's model, timed briefly
    timed_config = load_model_config(timed)
    reseeded = tmp / "reseeded.toml"
    reseeded.write_text(re.sub(r"(?m)^seed = \d+$", "seed = 43", timed.read_text()))
    gates = without_latency_budget(load_gate_config(ROOT / "ci/gates.toml"))
    results = {}
    with pytest.MonkeyPatch.context() as patch:
        good = candidate.create_candidate(sample, config_path=timed, root=tmp / "good")
        results["good"] = (good, run_gate(good, gates, None, timed_config))
        # Against the good model as baseline: only seeds differ, so only noise separates them.
        baseline = Baseline(
            model_id=good.name,
            promoted_at=datetime.now(UTC),
            metrics=read_card(good / CARD_FILE).metrics,
        )
        other = candidate.create_candidate(sample, config_path=reseeded, root=tmp / "reseeded")
        results["reseeded"] = (
            other,
            run_gate(other, gates, baseline, load_model_config(reseeded)),
        )
        patch.setattr(training, "fit", _drops_never_purchased)
        buggy = candidate.create_candidate(sample, config_path=timed, root=tmp / "buggy")
        results["buggy"] = (buggy, run_gate(buggy, gates, None, timed_config))
    return results


def _overall(folder: Path, metric: str) -> float:
    return float(getattr(read_card(folder / CARD_FILE).metrics.overall, metric))


def _slice_row(verdict: Verdict, metric: str) -> tuple[float | None, str]:
    row = next(r for r in verdict.rows if r.metric == f"slices.never_purchased.{metric}")
    return row.value, row.status


def test_the_good_model_passes_the_default_gate(
    verdicts: dict[str, tuple[Path, Verdict]],
) -> None:
    _, verdict = verdicts["good"]
    assert verdict.passed, [row for row in verdict.rows if row.status == "fail"]


def test_the_buggy_model_looks_fine_overall(verdicts: dict[str, tuple[Path, Verdict]]) -> None:
    good, buggy = verdicts["good"][0], verdicts["buggy"][0]
    assert abs(_overall(good, "accuracy") - _overall(buggy, "accuracy")) < 0.02
    assert _overall(buggy, "roc_auc") > 0.75


def test_the_gate_fails_the_buggy_model_on_the_never_purchased_slice(
    verdicts: dict[str, tuple[Path, Verdict]],
) -> None:
    _, verdict = verdicts["buggy"]
    assert not verdict.passed
    recall, status = _slice_row(verdict, "recall")
    good_recall, good_status = _slice_row(verdicts["good"][1], "recall")
    assert (status, good_status) == ("fail", "pass")
    assert recall is not None
    assert good_recall is not None
    assert recall < 0.6
    assert good_recall > 0.85


def test_another_seed_is_noise_and_passes_against_the_good_baseline(
    verdicts: dict[str, tuple[Path, Verdict]],
) -> None:
    _, verdict = verdicts["reseeded"]
    regressions = [row for row in verdict.rows if row.check == "regression"]
    assert regressions
    assert all(row.status == "pass" for row in regressions)
    assert verdict.passed, [row for row in verdict.rows if row.status == "fail"]


def test_the_gate_states_its_resolution_and_a_regression_inside_it_is_undetectable(
    verdicts: dict[str, tuple[Path, Verdict]],
) -> None:
    _, verdict = verdicts["good"]
    quality = [r for r in verdict.rows if r.check in {"floor", "slice floor", "regression"}]
    assert quality
    assert all(r.resolution is not None and 0 < r.resolution < 0.1 for r in quality)
    assert verdict.serving is not None
    config = drops_at_resolution(load_gate_config(ROOT / "ci/gates.toml"), verdict)
    for scale, status in ((0.0, "pass"), (0.5, "warn"), (2.5, "fail")):
        baseline = planted_baseline(verdict, scale)
        rows = gate_rows(verdict.metrics, verdict.serving, config, baseline, verdict.resolution)
        assert {r.status for r in rows if r.check == "regression"} == {status}, scale
