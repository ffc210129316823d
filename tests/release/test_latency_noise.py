"""The latency gate does not fail on noise, and still fails a model that is really slower.

Both halves run for real (slow set): the baseline is timed first, then CPU-bound neighbours are
started, three per two cores, each a Python process spinning on a core, and while they run the same
model is timed again (it must pass the committed ``ci/gates.toml``) and so is a model doing three
times the work: a soft-voting ensemble of three copies of the pipeline, every one scoring every
call (its latency rows must fail).
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sklearn.base import BaseEstimator
from sklearn.ensemble import VotingClassifier

from churn_model.config import load_gate_config, load_model_config
from churn_model.data.pinning import load_dataset
from churn_model.domain.features import build_pipeline
from churn_model.model.artifact import save_model
from churn_model.model.evaluation import Metrics, evaluate
from churn_model.model.training import TrainedModel, split_table, train
from churn_model.release.gate_rows import Baseline, GateRow, threshold_rows

from model_support import ROOT, fast_config, write_sample

pytestmark = pytest.mark.slow

GATES = load_gate_config(ROOT / "ci/gates.toml")
PROJECT = load_model_config(ROOT / "configs/model.toml")
"""The project's config: its threshold, and the timing plan `just train` and the gate use."""


@contextmanager
def busy_neighbours(per_two_cores: int = 3) -> Iterator[int]:
    """Run ``per_two_cores`` CPU-bound processes for every two cores; yield how many."""
    count = max(per_two_cores, per_two_cores * (os.cpu_count() or 2) // 2)
    spin = [sys.executable, "-c", "while True: pass"]
    neighbours = [subprocess.Popen(spin) for _ in range(count)]
    try:
        yield count
    finally:
        for neighbour in neighbours:
            neighbour.kill()
            neighbour.wait()


@dataclass(frozen=True)
class Models:
    """The model as trained, and the same pipeline three times over (seeds apart), averaged."""

    trained: TrainedModel
    slower: VotingClassifier


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Models:
    tmp = tmp_path_factory.mktemp("noise")
    config = load_model_config(fast_config(tmp / "model.toml"))
    frame, _ = load_dataset(write_sample(tmp / "sample.csv", 4_000))
    x_train, _, y_train, _ = split_table(frame, config.split.test_size, config.seed)
    copies = [(f"copy{seed}", build_pipeline(config.model, seed)) for seed in range(3)]
    slower = VotingClassifier(copies, voting="soft").fit(x_train, y_train)
    return Models(trained=train(frame, config), slower=slower)


def measured(model: BaseEstimator, trained: TrainedModel, tmp: Path) -> Metrics:
    """Evaluate ``model`` on the held-out rows as ``just train`` does, latency included."""
    path = tmp / f"{id(model)}.skops"
    save_model(model, path)
    threshold = PROJECT.decision.threshold
    return evaluate(
        model, trained.x_test, trained.y_test, threshold, path, timing=PROJECT.timing
    ).metrics


def latency_rows(metrics: Metrics, baseline: Metrics) -> list[GateRow]:
    champion = Baseline(model_id="baseline", promoted_at=datetime.now(UTC), metrics=baseline)
    return [row for row in threshold_rows(metrics, GATES, champion) if row.check == "latency"]


def test_an_identical_model_passes_on_a_busy_machine_and_a_3x_slower_one_fails(
    models: Models, tmp_path: Path
) -> None:
    trained = models.trained
    baseline = measured(trained.pipeline, trained, tmp_path)
    with busy_neighbours() as count:
        assert count >= 3
        identical = measured(trained.pipeline, trained, tmp_path)
        slow = measured(models.slower, trained, tmp_path)
    rows = latency_rows(identical, baseline)
    assert rows
    assert all(row.status == "pass" for row in rows), rows
    rows = latency_rows(slow, baseline)
    assert all(row.status == "fail" for row in rows), rows
    # The neighbours were real: the wall clock of the same calls saw them.
    for name, stats in identical.latency.items():
        assert stats.wall_p50_ms > stats.cpu_p50_ms, (name, stats)
